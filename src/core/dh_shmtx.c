#include "dh_config.h"
#include "dh_core.h"


dh_int_t
dh_shmtx_create(dh_shmtx_t *mtx)
{
    int                  err;
    pthread_mutexattr_t  attr;

    err = pthread_mutexattr_init(&attr);
    if (err) {
        dh_set_errno(err);
        return DH_ERROR;
    }

    err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);

    if (err == 0) {
        err = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    }

    if (err == 0) {
        err = pthread_mutex_init(&mtx->mutex, &attr);
    }

    (void) pthread_mutexattr_destroy(&attr);

    if (err) {
        dh_set_errno(err);
        return DH_ERROR;
    }

    return DH_OK;
}


void
dh_shmtx_destroy(dh_shmtx_t *mtx)
{
    (void) pthread_mutex_destroy(&mtx->mutex);
}


/*
 * EOWNERDEAD: the previous owner died inside its critical section.  We do
 * own the lock now; marking it consistent keeps it usable for everybody.
 * The protected data may be half updated, which the zone's users accept
 * rather than deadlocking every worker.
 */
dh_uint_t
dh_shmtx_trylock(dh_shmtx_t *mtx)
{
    int  err;

    err = pthread_mutex_trylock(&mtx->mutex);

    if (err == EOWNERDEAD) {
        (void) pthread_mutex_consistent(&mtx->mutex);
        return 1;
    }

    return err == 0;
}


void
dh_shmtx_lock(dh_shmtx_t *mtx)
{
    int  err;

    err = pthread_mutex_lock(&mtx->mutex);

    if (err == EOWNERDEAD) {
        (void) pthread_mutex_consistent(&mtx->mutex);
    }
}


void
dh_shmtx_unlock(dh_shmtx_t *mtx)
{
    (void) pthread_mutex_unlock(&mtx->mutex);
}

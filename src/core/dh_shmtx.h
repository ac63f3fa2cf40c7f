/*
 * Cross-process mutex living in shared memory.  Built on a process-shared,
 * robust pthread mutex: if a worker dies holding it, the next locker gets
 * EOWNERDEAD and recovers it, so a crash never deadlocks the others.
 */

#ifndef DH_SHMTX_H
#define DH_SHMTX_H

#include "dh_core.h"

typedef struct {
    pthread_mutex_t   mutex;
} dh_shmtx_t;

dh_int_t dh_shmtx_create(dh_shmtx_t *mtx);
void dh_shmtx_destroy(dh_shmtx_t *mtx);
dh_uint_t dh_shmtx_trylock(dh_shmtx_t *mtx);     /* 1 when taken */
void dh_shmtx_lock(dh_shmtx_t *mtx);
void dh_shmtx_unlock(dh_shmtx_t *mtx);

#endif /* DH_SHMTX_H */

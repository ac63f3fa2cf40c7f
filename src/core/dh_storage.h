/*
 * Changes after the first version (additive): dh_storage_add_cleanup();
 * dh_storage_add_periodic() handlers run their own dh_storage_run().
 *
 * The storage environment: one transactional Berkeley DB 5.3 environment
 * (locking, logging, transactions, mpool) in `storage <dir>`, shared by
 * every process of the server.
 *
 * Life cycle.  The master creates the directory and opens the environment
 * with DB_RECOVER before it forks (recovery runs only there), then closes
 * its handle: no DB handle is ever inherited across fork.  Every child
 * (worker, helper) opens its own environment handle and its databases in
 * init_process, with DB_THREAD because the worker's thread pool shares
 * them.  A child that dies while it may hold locks (a worker killed by a
 * signal) makes the master run DB_ENV->failchk(); when that says the
 * environment needs recovery the master stops its children, recovers and
 * starts them again.  The "storage" helper process checkpoints
 * periodically, removes log files no longer needed and runs the periodic
 * handlers modules register (label expiry, ...).
 *
 * Databases.  Modules declare them during configuration with
 * dh_storage_add_db(); all are btrees in one file per database name
 * (<dir>/<name>.db) and are created on first open.  Key order is memcmp()
 * order, so big-endian integers and NUL-free strings sort naturally.
 *
 * Work.  Anything that touches a database runs on the worker's thread
 * pool, never on the event loop: fill a dh_storage_job_t and post it.  The
 * work function runs inside one transaction; DB_LOCK_DEADLOCK and
 * DB_LOCK_NOTGRANTED abort it and run it again (up to 100 attempts), so
 * work must be re-runnable: reset whatever it produced at its start.  The
 * done handler runs on the event loop after the commit returned, i.e.
 * after the data is durable when storage_sync is on (the default), so a
 * "saved" reply can be sent from done.  The job memory belongs to the
 * caller and must stay valid until done ran: a request that posts a job
 * keeps itself alive (r->main->count++) until then, even if the client
 * went away.
 */

#ifndef DH_STORAGE_H
#define DH_STORAGE_H

#include "dh_core.h"

#if (DH_HAVE_BDB)

#include <db.h>

/* dh_storage_add_db() flags */
#define DH_STORAGE_DB_DUP        0x01   /* sorted duplicates (DB_DUPSORT) */

/* dh_storage_job_t flags */
#define DH_STORAGE_JOB_READONLY  0x01   /* snapshot-free read: no txn is
                                           begun, txn is NULL; cursors use
                                           DB_READ_COMMITTED semantics */
#define DH_STORAGE_JOB_NOSYNC    0x02   /* commit with DB_TXN_NOSYNC even
                                           when storage_sync is on */

typedef struct dh_storage_db_s   dh_storage_db_t;
typedef struct dh_storage_job_s  dh_storage_job_t;

/*
 * Runs on a pool thread (or inline in a helper process).  Returns 0 to
 * commit, or a Berkeley DB error (DB_LOCK_DEADLOCK: retried; anything
 * else: the transaction is aborted and job->err is set).  A work function
 * that wants to abort without a storage error (validation failed) returns
 * DH_STORAGE_ABORT.
 */
#define DH_STORAGE_ABORT  (-30999)

typedef int  (*dh_storage_work_pt)(dh_storage_job_t *job, DB_TXN *txn);
typedef void (*dh_storage_done_pt)(dh_storage_job_t *job);

struct dh_storage_job_s {
    dh_storage_work_pt   work;
    dh_storage_done_pt   done;      /* event loop; may be NULL */
    void                *data;      /* the caller's */
    dh_uint_t            flags;
    dh_log_t            *log;

    /* results, valid in done */
    int                  err;       /* 0, DH_STORAGE_ABORT or DB error */
    dh_uint_t            attempts;  /* 1 + deadlock retries */

    /* private */
    dh_cycle_t          *cycle;
    dh_thread_task_t    *task;
};

/* Configuration time: declares database `name` (e.g. "stream_load.labels",
 * "table.db1.orders"); declaring the same name twice returns the same
 * object if the flags agree, else NULL (logged).  NULL also when no
 * `storage` is configured and none can be defaulted (logged).  The handle
 * is open from init_process on. */
dh_storage_db_t *dh_storage_add_db(dh_conf_t *cf, dh_str_t *name,
    dh_uint_t flags);

/* The open handle in this process (after init_process), for use inside
 * work functions.  NULL before it is open. */
DB *dh_storage_db_handle(dh_storage_db_t *db);
DB_ENV *dh_storage_env(dh_cycle_t *cycle);

/* Is storage configured in this cycle at all? */
dh_uint_t dh_storage_enabled(dh_cycle_t *cycle);

/* From the event loop of a worker: queues job on the storage thread pool.
 * DH_OK (done will run), DH_ERROR (queue full or storage not open; done
 * will not run; logged). */
dh_int_t dh_storage_post(dh_cycle_t *cycle, dh_pool_t *pool,
    dh_storage_job_t *job);

/* Runs job to completion on the calling thread (helpers, the master
 * before fork, tests) and calls done if set.  Returns job->err == 0 ?
 * DH_OK : DH_ERROR. */
dh_int_t dh_storage_run(dh_cycle_t *cycle, dh_storage_job_t *job);

/* Configuration time: handler runs in the storage helper process every
 * `interval` ms (and once at helper start); it does its work with its
 * own dh_storage_run() calls (small transactions, so that it never holds
 * many locks for long); used for label expiry and staged-data cleanup. */
typedef void (*dh_storage_periodic_pt)(dh_cycle_t *cycle, void *data);
dh_int_t dh_storage_add_periodic(dh_conf_t *cf, dh_str_t *name,
    dh_msec_t interval, dh_storage_periodic_pt handler, void *data);

/* In a child, from init_process on: handler runs in storage's
 * exit_process before the databases and the environment are closed, for
 * handles made from them (sequences, cursors) by modules whose
 * exit_process would run too late. */
typedef void (*dh_storage_cleanup_pt)(dh_cycle_t *cycle, void *data);
dh_int_t dh_storage_add_cleanup(dh_cycle_t *cycle,
    dh_storage_cleanup_pt handler, void *data);

/* Storage errors as text for logs and replies. */
const char *dh_storage_strerror(int err);

extern dh_module_t  dh_storage_module;

#endif /* DH_HAVE_BDB */

#endif /* DH_STORAGE_H */

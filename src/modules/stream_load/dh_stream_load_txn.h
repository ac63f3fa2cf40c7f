/*
 * Transaction Stream Load (private to the stream_load module): the
 * durable state of /api/transaction/{begin,load,prepare,commit,rollback,
 * list} and the storage work that changes it.
 *
 * State lives in storage only, never in a worker, so any worker can serve
 * any operation of a transaction:
 *
 *   "stream_load.txns"      "L" label -> record (dh_slt_rec_t, encoded)
 *                           "#txn_id"  -> the last TxnId given out
 *   "stream_load.txn_data"  label "\0" seq(be32) -> a batch of encoded
 *                           rows: { u32 key_len, key, u32 data_len, data }*
 *
 * A record exists while the transaction is live (PREPARE or PREPARED);
 * commit, rollback, a failed operation and the timeout checker delete it
 * together with its staged batches in one storage transaction, so a later
 * operation answers TXN_NOT_EXISTS as the StarRocks BE does.  Commit also
 * applies every staged row to the table and marks the label FINISHED in
 * the stream load label database, in that same transaction: all or
 * nothing even across a crash.
 *
 * "In processing": a load keeps the record's owner_pid set (in the
 * storage transaction that admitted it) until its last batch is staged.
 * Another operation meanwhile gets TXN_IN_PROCESSING.  An owner that no
 * longer exists (kill(pid, 0) fails with ESRCH: a crashed worker, or a
 * restart) leaves a stale flag that is ignored.
 */

#ifndef DH_STREAM_LOAD_TXN_H
#define DH_STREAM_LOAD_TXN_H

#include "dh_config.h"
#include "dh_core.h"
#include "dh_storage.h"
#include "dh_table.h"

#define DH_SLT_PREPARE      1
#define DH_SLT_PREPARED     2

/* TStatusCode names the replies carry (spec 2.3) */
typedef enum {
    DH_SLT_OK = 0,
    DH_SLT_INVALID_ARGUMENT,
    DH_SLT_INTERNAL_ERROR,
    DH_SLT_TXN_NOT_EXISTS,
    DH_SLT_LABEL_ALREADY_EXISTS,
    DH_SLT_TXN_IN_PROCESSING,
    DH_SLT_ABORTED
} dh_slt_status_e;

#define DH_SLT_MSG_LEN      512
/* StarRocks labels are at most 128 bytes; a longer one is refused
 * before it reaches storage, so keys fit in fixed buffers */
#define DH_SLT_LABEL_MAX    128

typedef struct {
    dh_uint_t        state;
    int64_t          txn_id;
    int64_t          begin_sec;          /* Unix seconds */
    int64_t          last_active_sec;
    int64_t          timeout_sec;        /* 0: none */
    int64_t          idle_timeout_sec;   /* 0: none */
    int64_t          owner_pid;          /* 0: not in processing */
    int64_t          owner_start;        /* its start (dh_sl_proc_start) */
    int64_t          total_rows;
    int64_t          loaded_rows;
    int64_t          filtered_rows;
    int64_t          unselected_rows;
    int64_t          load_bytes;
    int64_t          received_ms;
    int64_t          write_ms;
    int64_t          nbatches;           /* next batch sequence number */
    int64_t          nloads;             /* finished loads */
    int64_t          prepared_sec;       /* PREPARED since */
    int64_t          prepared_timeout_sec;
    double           max_filter_ratio;   /* of the first load */
    dh_str_t         db;
    dh_str_t         table;
    dh_str_t         params;             /* the first load's canonical
                                            parameters; empty: no load */
} dh_slt_rec_t;

typedef enum {
    DH_SLT_OP_BEGIN = 1,
    DH_SLT_OP_LOAD,          /* admit a load: owner, parameters */
    DH_SLT_OP_STAGE,         /* one batch of a running load */
    DH_SLT_OP_FAIL,          /* a running load failed: abort */
    DH_SLT_OP_PREPARE,
    DH_SLT_OP_COMMIT,
    DH_SLT_OP_ROLLBACK,
    DH_SLT_OP_LIST
} dh_slt_op_e;

/* One storage job of a transaction operation.  Inputs are set by the
 * event loop; outputs are reset and filled by the work function (it may
 * run more than once after deadlocks). */
typedef struct {
    dh_storage_job_t   job;
    dh_slt_op_e        op;
    dh_cycle_t        *cycle;
    dh_pool_t         *pool;          /* the request's; list results */

    /* inputs */
    dh_str_t           label;
    dh_str_t           db;
    dh_str_t           table;         /* empty: not checked */
    int64_t            timeout_sec;   /* BEGIN; PREPARE: prepared_timeout */
    int64_t            idle_timeout_sec;
    dh_str_t           params;        /* LOAD */
    double             max_filter_ratio;
    u_char            *batch;         /* STAGE; NULL: counters only */
    size_t             batch_len;
    int64_t            add_total;     /* STAGE: counters of the load */
    int64_t            add_loaded;
    int64_t            add_filtered;
    int64_t            add_unselected;
    int64_t            add_bytes;
    int64_t            add_received_ms;
    int64_t            add_write_ms;
    unsigned           last:1;        /* STAGE: the load ends here */

    /* outputs */
    dh_slt_status_e    status;
    u_char             msg[DH_SLT_MSG_LEN];
    size_t             msg_len;
    const char        *job_status;    /* LABEL_ALREADY_EXISTS */
    dh_slt_rec_t       rec;           /* strings point into buf */
    /* malloc'ed by the work thread (the request pool is not
     * thread-safe), freed by dh_slt_job_free(): the record, or for LIST
     * every live record as { u32 label_len, label, u32 len, record }* */
    u_char            *buf;
    size_t             buf_len;
    size_t             buf_size;
} dh_slt_job_t;

/* Configuration time (once): declares the two databases, the label hook
 * and the timeout checker.  DH_ERROR when storage is not available. */
dh_int_t dh_slt_store_init(dh_conf_t *cf);


/* Work function of every op (job->work); the caller sets op and inputs. */
int dh_slt_work(dh_storage_job_t *job, DB_TXN *txn);

const char *dh_slt_status_name(dh_slt_status_e status);

/* Decodes one stored record (strings point into p): DH_OK or DH_ERROR. */
dh_int_t dh_slt_rec_decode(u_char *p, size_t len, dh_slt_rec_t *rec);

void dh_slt_job_free(dh_slt_job_t *j);

/* Is a load of this transaction running (its owner process lives)? */
dh_uint_t dh_slt_in_process(dh_slt_rec_t *rec);

#endif /* DH_STREAM_LOAD_TXN_H */

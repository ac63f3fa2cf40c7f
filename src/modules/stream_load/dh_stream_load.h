/*
 * Stream Load, module-internal interface shared by the plain Stream Load
 * handler (dh_stream_load_module.c) and Transaction Stream Load
 * (dh_stream_load_txn.c).  Stable: later changes are additive only and
 * listed here.
 *
 * Additions: DH_SL_LABEL_TXN (label state of a live transaction load);
 * dh_sl_txn_handler() / dh_sl_txn_init() (the /api/transaction/ entry
 * points, at the end of this file); dh_sl_auth_conf(); dh_sl_proc_start()
 * made public.
 *
 * Pieces:
 *
 *   dh_sl_params_t   the data headers of a load (spec table 1.2), parsed
 *                    and validated with StarRocks' exact messages;
 *   dh_sl_load_t     consumes body bytes: reader (decompress, split) ->
 *                    columns/where -> dh_table_row_encode -> batches of
 *                    staged rows, with the row counters and the rejected
 *                    rows for the error log;
 *   dh_sl_reply_t    the JSON reply (spec 1.3 field order, 4-space pretty
 *                    print like rapidjson's PrettyWriter);
 *   labels           the "stream_load.labels" database: key "db\0label",
 *                    a record with the state, owner pid and times; also
 *                    the TxnId counter (key "\0txn_id");
 *   metrics          the stream load families, declared once.
 */

#ifndef DH_STREAM_LOAD_H
#define DH_STREAM_LOAD_H

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"

#if (DH_HAVE_BDB)

#include "dh_storage.h"
#include "dh_table.h"
#include "dh_stream_load_reader.h"
#include "dh_stream_load_expr.h"
#include "modules/dh_http_auth_basic_module.h"


/* the text of a dh_psprintf() result, NULL when it failed */
static inline u_char *
dh_sl_pdata(dh_str_t *s)
{
    return s ? s->data : NULL;
}


/* ---- headers */

#define DH_SL_PARTIAL_UPDATE_NONE    0
#define DH_SL_PARTIAL_UPDATE_ROW     1
#define DH_SL_PARTIAL_UPDATE_AUTO    2
#define DH_SL_PARTIAL_UPDATE_COLUMN  3

typedef struct {
    dh_str_t              label;          /* empty: none given */
    dh_sl_reader_conf_t   reader;         /* format, compression, CSV and
                                             JSON options */
    dh_str_t              columns;        /* data NULL: header absent */
    dh_str_t              where;          /* data NULL: header absent */
    double                max_filter_ratio;     /* default 0 */
    int64_t               timeout;        /* seconds, -1: not given */
    int64_t               load_mem_limit;       /* -1: not given */
    int64_t               exec_mem_limit;       /* -1: not given */
    int64_t               load_dop;             /* -1: not given */
    int64_t               log_rejected_record_num;  /* -2: not given */
    off_t                 content_length;       /* -1: chunked */
    dh_uint_t             partial_update_mode;  /* DH_SL_PARTIAL_UPDATE_ */
    dh_str_t              merge_condition;
    dh_str_t              timezone;
    unsigned              strict_mode:1;
    unsigned              partial_update:1;
    unsigned              ignore_json_size:1;
    unsigned              negative:1;
    unsigned              txn:1;          /* parsed for /api/transaction/
                                             load (spec 2.1) */
} dh_sl_params_t;

/*
 * Parses every data header of r into p (headers are looked up by name,
 * case-insensitively).  txn selects the transaction-load differences of
 * spec 2.1: skip_header, trim_space, enclose, escape and
 * log_rejected_record_num are not read, and partial_update is true only
 * for an exact "true".  Content-Length is not checked against any limit
 * here.  Returns DH_OK, DH_DECLINED with *msg the StarRocks message
 * (static or pool memory), or DH_ERROR (allocation).
 */
dh_int_t dh_sl_params_parse(dh_http_request_t *r, dh_sl_params_t *p,
    dh_uint_t txn, dh_str_t *msg);

/* The data parameters in one canonical text (for Transaction Stream
 * Load's "every load must use the same parameters"); pool memory. */
dh_int_t dh_sl_params_canonical(dh_pool_t *pool, dh_sl_params_t *p,
    dh_str_t *out);

/* The JSON body size check of spec 1.1d: DH_DECLINED with the message
 * when format json, Content-Length over max and no ignore_json_size. */
dh_int_t dh_sl_params_check_json_size(dh_pool_t *pool, dh_sl_params_t *p,
    off_t max, dh_str_t *msg);


/* ---- the load */

/*
 * A batch of staged rows: { u32 key_len, key, u32 data_len, data }*, as
 * dh_sl_batch_apply() reads it and the txn store keeps it (host byte
 * order; batches never leave the machine).  malloc'ed; whoever holds
 * it frees it with dh_sl_batch_free().
 */
typedef struct {
    u_char       *data;
    size_t        len;
    size_t        size;
    int64_t       rows;
} dh_sl_batch_t;

typedef struct dh_sl_load_s  dh_sl_load_t;

/*
 * Called on the event loop when a batch is full (or at finish for the
 * last, possibly empty, batch).  It takes the batch (the load starts a
 * new one) and must call dh_sl_load_flushed(ld, rc) exactly once when
 * the batch is written (possibly later, from a thread pool completion).
 * Returning DH_ERROR means it failed at once and will not call
 * dh_sl_load_flushed(); the load then fails.
 */
typedef dh_int_t (*dh_sl_flush_pt)(dh_sl_load_t *ld, dh_sl_batch_t *b,
    dh_uint_t last, void *data);

/* Called on the event loop when the load can take more bytes again after
 * dh_sl_load_feed() returned DH_AGAIN (a flush completed). */
typedef void (*dh_sl_resume_pt)(dh_sl_load_t *ld, void *data);

typedef struct {
    int64_t       total;          /* NumberTotalRows */
    int64_t       loaded;         /* NumberLoadedRows */
    int64_t       filtered;       /* NumberFilteredRows */
    int64_t       unselected;     /* NumberUnselectedRows */
    int64_t       bytes;          /* LoadBytes: body bytes received */
    int64_t       loaded_bytes;   /* encoded bytes staged */
    dh_msec_t     read_ms;        /* ReadDataTimeMs: receiving + parsing */
    dh_msec_t     write_ms;       /* WriteDataTimeMs: staging writes */
} dh_sl_counters_t;

/*
 * Creates a load of table t with parameters p.  Compiles columns and
 * where; NULL with *err set (a message for the reply) when one does not
 * compile, or on allocation failure.  Memory of the load comes from pool
 * and is released with it (a pool cleanup frees the batches and the
 * rejected rows).  rejected_max: rejected rows kept for the error log
 * (0: none).
 */
dh_sl_load_t *dh_sl_load_create(dh_pool_t *pool, dh_log_t *log,
    dh_table_t *t, dh_sl_params_t *p, dh_uint_t rejected_max,
    dh_sl_flush_pt flush, dh_sl_resume_pt resume, void *data,
    const char **err);

/*
 * Feeds body bytes.  DH_OK: all taken; DH_AGAIN: NOTHING was taken, a
 * full batch waits for a flush: stop reading and offer the same bytes
 * again after the resume handler ran; DH_ERROR: the load failed,
 * dh_sl_load_error() says why.
 */
dh_int_t dh_sl_load_feed(dh_sl_load_t *ld, u_char *p, size_t len);

/*
 * End of body: delivers the last row, then flushes the last batch (with
 * last = 1).  DH_AGAIN: flushes are under way, the resume handler runs
 * once the last one completed or one failed (then dh_sl_load_error() is
 * not NULL); DH_OK: already done; DH_ERROR.  Do not call it while
 * dh_sl_load_feed() is waiting for a resume.
 */
dh_int_t dh_sl_load_finish(dh_sl_load_t *ld);

/* From a flush: the batch is written (rc DH_OK) or not (DH_ERROR, the
 * load fails with msg).  Never call it from inside the flush callback
 * itself (post the work and call it from the completion). */
void dh_sl_load_flushed(dh_sl_load_t *ld, dh_int_t rc, const char *msg);

/* DH_OK when filtered / (total - unselected) <= max_filter_ratio; else
 * DH_DECLINED ("too many filtered rows"). */
dh_int_t dh_sl_load_check_ratio(dh_sl_load_t *ld);

/*
 * Stops the load (the body failed, the client left, a timeout): no more
 * flushes are started and pending batches are dropped.  DH_OK: nothing
 * is in flight, the owner may free the load now; DH_AGAIN: a flush is in
 * flight, the resume handler runs once it completed.
 */
dh_int_t dh_sl_load_cancel(dh_sl_load_t *ld, const char *msg);

dh_sl_counters_t *dh_sl_load_counters(dh_sl_load_t *ld);
const char *dh_sl_load_error(dh_sl_load_t *ld);   /* NULL: no error */
dh_uint_t dh_sl_load_busy(dh_sl_load_t *ld);   /* a flush in flight */

/*
 * The rejected rows ("Error: <reason>. Row: <raw>" lines) are written to
 * <dir>/<name> when there are any: DH_OK with *name set (pool memory),
 * DH_DECLINED when there were none, DH_ERROR (logged).  Blocking file
 * I/O of at most rejected_max short lines.
 */
dh_int_t dh_sl_load_write_error_log(dh_sl_load_t *ld, dh_str_t *dir,
    dh_str_t *name);

void dh_sl_batch_free(dh_sl_batch_t *b);

/*
 * Applies one staged batch to table t inside a storage work function:
 * dh_table_put() of every row.  Returns a Berkeley DB error or 0.
 */
int dh_sl_batch_apply(dh_table_t *t, DB_TXN *txn, u_char *p, size_t len);


/* ---- the reply */

#define DH_SL_STATUS_SUCCESS         0
#define DH_SL_STATUS_FAIL            1
#define DH_SL_STATUS_LABEL_EXISTS    2
#define DH_SL_STATUS_PUBLISH_TIMEOUT 3

typedef struct {
    int64_t            txn_id;          /* -1: not begun */
    dh_str_t           label;
    dh_uint_t          status;          /* DH_SL_STATUS_* */
    dh_str_t           existing;        /* ExistingJobStatus */
    dh_str_t           message;         /* "OK" on success */
    dh_sl_counters_t   c;
    dh_msec_t          load_ms;
    dh_msec_t          begin_ms;
    dh_msec_t          plan_ms;
    dh_msec_t          commit_ms;
    dh_str_t           error_url;       /* empty: not sent */
} dh_sl_reply_t;

/* Writes the Stream Load reply (spec 1.3) into pool memory. */
dh_int_t dh_sl_reply_json(dh_pool_t *pool, dh_sl_reply_t *rp,
    dh_str_t *out);

/* Sends body as HTTP 200 application/json and finalizes nothing: returns
 * what the output filter returned (a content handler returns it, a body
 * done handler passes it to dh_http_finalize_request()). */
dh_int_t dh_sl_send_json(dh_http_request_t *r, dh_str_t *body);
/* The same with another status (401 for stream_load_auth_status). */
dh_int_t dh_sl_send_json_status(dh_http_request_t *r, dh_uint_t status,
    dh_str_t *body);

/* A small pretty-printing JSON writer (rapidjson PrettyWriter layout:
 * 4 spaces, "key": value, one member a line) for the txn replies too. */
typedef struct {
    dh_pool_t    *pool;
    u_char       *data;
    size_t        len;
    size_t        size;
    dh_uint_t     members;      /* members written in the object */
    dh_uint_t     failed;
} dh_sl_json_t;

void dh_sl_json_begin(dh_sl_json_t *j, dh_pool_t *pool);
void dh_sl_json_str(dh_sl_json_t *j, const char *key, dh_str_t *v);
void dh_sl_json_cstr(dh_sl_json_t *j, const char *key, const char *v);
void dh_sl_json_int(dh_sl_json_t *j, const char *key, int64_t v);
void dh_sl_json_bool(dh_sl_json_t *j, const char *key, dh_uint_t v);
/* Closes the object; DH_ERROR if any allocation failed. */
dh_int_t dh_sl_json_end(dh_sl_json_t *j, dh_str_t *out);


/* ---- labels (work-thread side, inside storage jobs) */

#define DH_SL_LABEL_RUNNING    1
#define DH_SL_LABEL_FINISHED   2
#define DH_SL_LABEL_PREPARED   3      /* a prepared transaction */
/* a live Transaction Stream Load not yet prepared (added by the txn code):
 * reported as RUNNING, kept until the transaction ends (never expired
 * here: dh_stream_load_txn_store.c removes it on rollback and timeout) */
#define DH_SL_LABEL_TXN        4

typedef struct {
    dh_uint_t     state;
    int64_t       txn_id;
    int64_t       owner_pid;      /* RUNNING: the worker that runs it */
    int64_t       owner_start;    /* that worker's start (epoch s) */
    int64_t       created;        /* epoch seconds */
    int64_t       finished;       /* epoch seconds, FINISHED */
} dh_sl_label_rec_t;

/* Configuration time, idempotent: declares "stream_load.labels" and the
 * label expiry in the storage helper.  DH_ERROR when storage is not
 * available (logged). */
dh_int_t dh_sl_store_init(dh_conf_t *cf);

/* DB_NOTFOUND, 0 (rec filled) or a DB error.  A RUNNING record whose
 * owner no longer runs (dead pid, or a server restart since) and any
 * record that has expired are reported as DB_NOTFOUND. */
int dh_sl_label_get(DB_TXN *txn, dh_str_t *db, dh_str_t *label,
    dh_sl_label_rec_t *rec);
int dh_sl_label_put(DB_TXN *txn, dh_str_t *db, dh_str_t *label,
    dh_sl_label_rec_t *rec);
int dh_sl_label_del(DB_TXN *txn, dh_str_t *db, dh_str_t *label);
/* "RUNNING", "FINISHED" or "PRECOMMITTED" for ExistingJobStatus. */
const char *dh_sl_label_state_name(dh_uint_t state);
/* The next TxnId, monotonic across restarts. */
int dh_sl_txn_id_next(DB_TXN *txn, int64_t *id);
/* Fills rec for a RUNNING label owned by this process. */
void dh_sl_label_running(dh_sl_label_rec_t *rec, int64_t txn_id);
/* A process' start time (clock ticks since boot, /proc/<pid>/stat), -1
 * when it does not exist: pid plus start names a process for good. */
int64_t dh_sl_proc_start(int64_t pid);
/* stream_load_label_keep (seconds), set by the module's configuration. */
void dh_sl_label_set_keep(time_t keep);


/* ---- metrics (NULL when not declared; dh_metrics_inc ignores NULL) */

typedef struct {
    dh_metric_t   *requests;          /* streaming_load_requests_total */
    dh_metric_t   *bytes;             /* streaming_load_bytes */
    dh_metric_t   *duration;          /* streaming_load_duration_ms */
    dh_metric_t   *current;           /* streaming_load_current_processing */
    dh_metric_t   *txn_requests;      /* transaction_streaming_load_* */
    dh_metric_t   *txn_bytes;
    dh_metric_t   *txn_duration;
    dh_metric_t   *txn_current;
    dh_metric_t   *load_rows;         /* load_rows */
    dh_metric_t   *load_bytes;        /* load_bytes */
    dh_metric_t   *stream_load;       /* stream_load{type=} */
    dh_metric_t   *txn_request;       /* txn_request{type=} */
} dh_sl_metrics_t;

extern dh_sl_metrics_t  dh_sl_metrics;

/* Configuration time, idempotent: declares the families. */
dh_int_t dh_sl_metrics_init(dh_conf_t *cf);
/* type: "receive_bytes"/"load_rows" (stream_load), "begin"/"commit"/
 * "rollback"/"exec" (txn_request). */
void dh_sl_metrics_add(dh_metric_t *m, const char *type, int64_t v);


/* ---- Transaction Stream Load (dh_stream_load_txn.c) */

/* Configuration time, idempotent: its databases, the timeout checker and
 * what dh_sl_store_init() / dh_sl_metrics_init() declare. */
dh_int_t dh_sl_txn_init(dh_conf_t *cf);

/* Content handler for /api/transaction/{op} (op: the decoded last path
 * segment, NULL when missing); it authenticates with dh_sl_auth_conf()
 * itself, so that its failures have the transaction reply shape. */
dh_int_t dh_sl_txn_handler(dh_http_request_t *r, dh_str_t *op);

/* The location's stream_load_auth_basic settings and
 * stream_load_auth_status (dh_stream_load_module.c). */
dh_http_auth_basic_conf_t *dh_sl_auth_conf(dh_http_request_t *r,
    dh_uint_t *status);

/* its request context slot is the module's (one handler per request) */
extern dh_module_t  dh_http_stream_load_module;

#endif /* DH_HAVE_BDB */

#endif /* DH_STREAM_LOAD_H */

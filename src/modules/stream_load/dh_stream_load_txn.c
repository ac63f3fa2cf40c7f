/*
 * Transaction Stream Load: /api/transaction/{begin,load,prepare,commit,
 * rollback,list} (spec section 2), the HTTP side.  The durable state and
 * its rules are in dh_stream_load_txn_store.c; this file parses headers,
 * runs one storage job per step and writes the TStatusCode replies.
 *
 * Differences from the StarRocks BE, all because divehttpd has no FE:
 *   - commit accepts a PREPARE or a PREPARED transaction (the BE forgets
 *     a transaction at prepare and leaves commit to the FE);
 *   - a load after prepare gets INVALID_ARGUMENT "... is prepared ...";
 *   - `list` writes one JSON object per live transaction, each followed
 *     by a newline, and nothing when there is none: the BE's output for
 *     zero and one transaction, and for several a sequence that jq and
 *     streaming JSON parsers read (the BE concatenates objects too);
 *   - the idle timeout has no extra 30 s of grace.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"

#if (DH_HAVE_BDB)

#include "dh_stream_load.h"
#include "dh_stream_load_txn.h"


#define DH_SLT_TIMEOUT             600      /* FE stream_load_default_
                                               timeout_second */
#define DH_SLT_PREPARED_TIMEOUT    86400    /* FE prepared_transaction_
                                               default_timeout_second */

/*
 * The context of one request.  It has its own pool, not the request's: a
 * request can be closed while a storage job runs (worker shutdown
 * timeout), and the job, its thread task and the strings it reads must
 * outlive it.  The request's pool cleanup clears r; the done handler of
 * a job then finishes the transaction's business and frees the context.
 */
typedef struct {
    dh_http_request_t  *r;            /* NULL: the request is gone */
    dh_pool_t          *pool;
    dh_slt_job_t        j;
    dh_msec_t           start;
    dh_msec_t           job_start;
    dh_sl_params_t      params;
    dh_sl_load_t       *load;
    dh_sl_batch_t      *batch;         /* being staged */
    const char         *error;         /* why the load failed */
    dh_int_t            body_rc;       /* how body reading ended */
    dh_uint_t           http_status;   /* 0: 200 */
    dh_slt_status_e     fail_status;   /* the reply of a failed load */
    unsigned            job_busy:1;
    unsigned            failed:1;      /* the load failed */
    unsigned            owned:1;       /* the record is ours to abort */
    unsigned            finishing:1;   /* the last flush was asked for */
    unsigned            body_done:1;
    unsigned            counted:1;     /* in current_processing */
} dh_slt_ctx_t;


static dh_int_t dh_slt_reply(dh_http_request_t *r, dh_slt_ctx_t *ctx,
    dh_slt_status_e status, const char *msg, size_t len);
static dh_int_t dh_slt_auth(dh_http_request_t *r, dh_slt_ctx_t *ctx);
static dh_int_t dh_slt_post(dh_slt_ctx_t *ctx, dh_slt_op_e op,
    dh_storage_done_pt done);
static void dh_slt_manage_done(dh_storage_job_t *job);
static void dh_slt_load_admitted(dh_storage_job_t *job);
static void dh_slt_load_end(dh_slt_ctx_t *ctx);
static void dh_slt_load_fail(dh_slt_ctx_t *ctx);
static void dh_slt_load_failed(dh_storage_job_t *job);
static void dh_slt_load_fail_reply(dh_slt_ctx_t *ctx);


dh_int_t
dh_sl_txn_init(dh_conf_t *cf)
{
    if (dh_sl_store_init(cf) != DH_OK
        || dh_sl_metrics_init(cf) != DH_OK
        || dh_slt_store_init(cf) != DH_OK)
    {
        return DH_ERROR;
    }

    return DH_OK;
}


/* ---- small helpers */

/* A request header by name (case-insensitive); NULL when absent. */
static dh_str_t *
dh_slt_header(dh_http_request_t *r, const char *name)
{
    size_t            len;
    dh_uint_t         i;
    dh_list_part_t   *part;
    dh_table_elt_t   *h;

    len = dh_strlen(name);

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (h[i].hash != 0 && h[i].key.len == len
                && dh_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
            {
                return &h[i].value;
            }
        }
    }

    return NULL;
}


/* An unsigned 32-bit number of seconds (the BE's parse of timeout and
 * idle_transaction_timeout); def when absent.  DH_ERROR when invalid. */
static dh_int_t
dh_slt_seconds(dh_http_request_t *r, const char *name, int64_t def,
    int64_t *out)
{
    dh_str_t  *v;
    dh_uint_t  i;
    int64_t    n;

    v = dh_slt_header(r, name);

    if (v == NULL) {
        *out = def;
        return DH_OK;
    }

    if (v->len == 0 || v->len > 10) {
        return DH_ERROR;
    }

    n = 0;

    for (i = 0; i < v->len; i++) {
        if (v->data[i] < '0' || v->data[i] > '9') {
            return DH_ERROR;
        }

        n = n * 10 + (v->data[i] - '0');
    }

    if (n > (int64_t) UINT32_MAX) {
        return DH_ERROR;
    }

    *out = n;

    return DH_OK;
}


static void
dh_slt_metric(dh_metric_t *m, int64_t v)
{
    dh_metrics_add_value(m, dh_metrics_series(m, NULL), v);
}


static void
dh_slt_ctx_free(dh_slt_ctx_t *ctx)
{
    if (ctx->batch != NULL) {
        dh_sl_batch_free(ctx->batch);
        ctx->batch = NULL;
    }

    dh_slt_job_free(&ctx->j);
    dh_destroy_pool(ctx->pool);
}


static void
dh_slt_request_cleanup(void *data)
{
    dh_slt_ctx_t  *ctx = data;

    if (ctx->counted) {
        dh_slt_metric(dh_sl_metrics.txn_current, -1);
        ctx->counted = 0;
    }

    ctx->r = NULL;
    ctx->load = NULL;       /* it lived in the request pool */

    if (!ctx->job_busy) {
        dh_slt_ctx_free(ctx);
    }
}


static void
dh_slt_orphan_done(dh_storage_job_t *job);


/*
 * Every job's done handler starts here.  When the request went away
 * meanwhile, a load it had admitted is aborted (else its owner flag would
 * hold the transaction "in processing" while this worker lives) and the
 * context is freed; returns NULL then.
 */
static dh_slt_ctx_t *
dh_slt_job_done(dh_storage_job_t *job)
{
    dh_slt_ctx_t  *ctx;

    ctx = (dh_slt_ctx_t *) ((u_char *) job->data
                            - offsetof(dh_slt_ctx_t, j));
    ctx->job_busy = 0;

    if (ctx->r != NULL) {
        return ctx;
    }

    if (ctx->batch != NULL) {
        dh_sl_batch_free(ctx->batch);
        ctx->batch = NULL;
    }

    if (ctx->j.op == DH_SLT_OP_LOAD || ctx->j.op == DH_SLT_OP_STAGE) {
        if (job->err == 0 && ctx->j.status == DH_SLT_OK) {
            ctx->j.op = DH_SLT_OP_FAIL;
            ctx->j.job.done = dh_slt_orphan_done;

            if (dh_storage_post(ctx->j.cycle, ctx->pool, &ctx->j.job)
                == DH_OK)
            {
                ctx->job_busy = 1;
                return NULL;
            }
        }
    }

    dh_slt_ctx_free(ctx);

    return NULL;
}


static void
dh_slt_orphan_done(dh_storage_job_t *job)
{
    (void) dh_slt_job_done(job);
}


/* ---- replies */

/* The object of one live transaction (a `list` entry). */
static void
dh_slt_list_object(dh_sl_json_t *js, dh_str_t *label, dh_slt_rec_t *rec)
{
    dh_uint_t  busy;

    busy = dh_slt_in_process(rec);

    if (!busy) {
        dh_sl_json_cstr(js, "Status", "OK");
    }

    dh_sl_json_bool(js, "InProcessing", busy);
    dh_sl_json_str(js, "Label", label);
    dh_sl_json_int(js, "TxnId", rec->txn_id);
    dh_sl_json_int(js, "NumberTotalRows", rec->total_rows);
    dh_sl_json_int(js, "NumberLoadedRows", rec->loaded_rows);
    dh_sl_json_int(js, "NumberFilteredRows", rec->filtered_rows);
    dh_sl_json_int(js, "NumberUnselectedRows", rec->unselected_rows);
    dh_sl_json_int(js, "LoadBytes", rec->load_bytes);
    dh_sl_json_int(js, "StreamLoadPlanTimeMs", 0);
    dh_sl_json_int(js, "ReceivedDataTimeMs", rec->received_ms);
    dh_sl_json_int(js, "WriteDataTimeMs", rec->write_ms);
    dh_sl_json_int(js, "BeginTimestamp", rec->begin_sec);
    dh_sl_json_int(js, "LastActiveTimestamp", rec->last_active_sec);
    dh_sl_json_int(js, "TransactionTimeoutSec", rec->timeout_sec);
    dh_sl_json_int(js, "IdleTransactionTimeoutSec", rec->idle_timeout_sec);
}


/* `list`: the job's buffer holds { u32 len, label, u32 len, record }*. */
static dh_int_t
dh_slt_list_reply(dh_http_request_t *r, dh_slt_ctx_t *ctx)
{
    u_char        *p, *last, *out;
    size_t         size;
    uint32_t       n;
    dh_str_t       label, body, *parts;
    dh_uint_t      i, nparts;
    dh_sl_json_t   js;
    dh_slt_rec_t   rec;

    p = ctx->j.buf;
    last = p + ctx->j.buf_len;

    /* at most one object per 8 bytes of input */
    parts = dh_palloc(r->pool, sizeof(dh_str_t) * (ctx->j.buf_len / 8 + 1));
    if (parts == NULL) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    nparts = 0;
    size = 0;

    while (p < last) {
        dh_memcpy(&n, p, 4);
        label.data = p + 4;
        label.len = n;
        p += 4 + n;
        dh_memcpy(&n, p, 4);
        p += 4;

        if (dh_slt_rec_decode(p, n, &rec) == DH_OK) {
            dh_sl_json_begin(&js, r->pool);
            dh_slt_list_object(&js, &label, &rec);

            if (dh_sl_json_end(&js, &parts[nparts]) != DH_OK) {
                return DH_HTTP_INTERNAL_SERVER_ERROR;
            }

            size += parts[nparts++].len + 1;
        }

        p += n;
    }

    out = dh_pnalloc(r->pool, size + 1);
    if (out == NULL) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.data = out;

    for (i = 0; i < nparts; i++) {
        out = dh_cpymem(out, parts[i].data, parts[i].len);
        *out++ = '\n';
    }

    body.len = out - body.data;

    return dh_sl_send_json(r, &body);
}


/* The op-specific members of a successful reply (spec 2.2 table). */
static void
dh_slt_ok_fields(dh_sl_json_t *js, dh_slt_ctx_t *ctx)
{
    dh_slt_job_t      *j;
    dh_slt_rec_t      *rec;
    dh_sl_counters_t  *c;

    j = &ctx->j;
    rec = &j->rec;

    dh_sl_json_str(js, "Label", &j->label);

    switch (j->op) {

    case DH_SLT_OP_BEGIN:
        dh_sl_json_int(js, "TxnId", rec->txn_id);
        dh_sl_json_int(js, "BeginTxnTimeMs",
                       (int64_t) (dh_current_msec - ctx->job_start));
        break;

    case DH_SLT_OP_STAGE:
        c = dh_sl_load_counters(ctx->load);
        dh_sl_json_int(js, "TxnId", rec->txn_id);
        dh_sl_json_int(js, "LoadBytes", c->bytes);
        dh_sl_json_int(js, "StreamLoadPlanTimeMs", 0);
        dh_sl_json_int(js, "ReceivedDataTimeMs", (int64_t) c->read_ms);
        break;

    case DH_SLT_OP_PREPARE:
    case DH_SLT_OP_COMMIT:
        dh_sl_json_int(js, "TxnId", rec->txn_id);
        dh_sl_json_int(js, "NumberTotalRows", rec->total_rows);
        dh_sl_json_int(js, "NumberLoadedRows", rec->loaded_rows);
        dh_sl_json_int(js, "NumberFilteredRows", rec->filtered_rows);
        dh_sl_json_int(js, "NumberUnselectedRows", rec->unselected_rows);
        dh_sl_json_int(js, "LoadBytes", rec->load_bytes);
        dh_sl_json_int(js, "LoadTimeMs",
                       ((int64_t) time(NULL) - rec->begin_sec) * 1000);
        dh_sl_json_int(js, "StreamLoadPlanTimeMs", 0);
        dh_sl_json_int(js, "ReceivedDataTimeMs", rec->received_ms);
        dh_sl_json_int(js, "WriteDataTimeMs", rec->write_ms);
        dh_sl_json_int(js, "CommitAndPublishTimeMs",
                       (int64_t) (dh_current_msec - ctx->job_start));
        break;

    default:
        break;
    }
}


/*
 * Sends the reply (spec 2.3 key order): Status, then ExistingJobStatus
 * (LABEL_ALREADY_EXISTS) or Label (TXN_IN_PROCESSING), Message, and on
 * OK the Label and the op's fields.  msg NULL: the job's message.
 */
static dh_int_t
dh_slt_reply(dh_http_request_t *r, dh_slt_ctx_t *ctx,
    dh_slt_status_e status, const char *msg, size_t len)
{
    dh_str_t       body, m;
    dh_sl_json_t   js;

    dh_slt_metric(dh_sl_metrics.txn_duration,
                  (int64_t) (dh_current_msec - ctx->start));

    if (msg == NULL) {
        m.data = ctx->j.msg;
        m.len = ctx->j.msg_len;

    } else {
        m.data = (u_char *) msg;
        m.len = len;
    }

    dh_sl_json_begin(&js, r->pool);
    dh_sl_json_cstr(&js, "Status", dh_slt_status_name(status));

    if (status == DH_SLT_LABEL_ALREADY_EXISTS) {
        dh_sl_json_cstr(&js, "ExistingJobStatus",
                        ctx->j.job_status ? ctx->j.job_status : "");

    } else if (status == DH_SLT_TXN_IN_PROCESSING) {
        dh_sl_json_str(&js, "Label", &ctx->j.label);
    }

    dh_sl_json_str(&js, "Message", &m);

    if (status == DH_SLT_OK) {
        dh_slt_ok_fields(&js, ctx);
    }

    if (dh_sl_json_end(&js, &body) != DH_OK) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    return dh_sl_send_json_status(r, ctx->http_status ? ctx->http_status
                                                      : DH_HTTP_OK, &body);
}


static dh_int_t
dh_slt_reply_cstr(dh_http_request_t *r, dh_slt_ctx_t *ctx,
    dh_slt_status_e status, const char *msg)
{
    return dh_slt_reply(r, ctx, status, msg, dh_strlen(msg));
}


/* ---- storage jobs */

static dh_int_t
dh_slt_post(dh_slt_ctx_t *ctx, dh_slt_op_e op, dh_storage_done_pt done)
{
    ctx->j.op = op;
    ctx->j.job.work = dh_slt_work;
    ctx->j.job.done = done;
    ctx->j.job.data = &ctx->j;
    /* not the connection's log: the job may outlive the connection */
    ctx->j.job.log = ctx->j.cycle->log;
    ctx->j.job.flags = op == DH_SLT_OP_LIST ? DH_STORAGE_JOB_READONLY : 0;
    ctx->job_start = dh_current_msec;

    if (dh_storage_post(ctx->j.cycle, ctx->pool, &ctx->j.job) != DH_OK) {
        return DH_ERROR;
    }

    ctx->job_busy = 1;

    return DH_OK;
}


/* A storage failure (not a transaction rule) as a reply. */
static dh_int_t
dh_slt_reply_storage(dh_http_request_t *r, dh_slt_ctx_t *ctx, int err)
{
    u_char  buf[256], *p;

    p = dh_slprintf(buf, buf + sizeof(buf), "storage error: %s",
                    dh_storage_strerror(err));

    return dh_slt_reply(r, ctx, DH_SLT_INTERNAL_ERROR, (char *) buf,
                        p - buf);
}


/* ---- begin, prepare, commit, rollback, list */

static void
dh_slt_manage_done(dh_storage_job_t *job)
{
    dh_int_t            rc;
    dh_slt_ctx_t       *ctx;
    dh_http_request_t  *r;

    ctx = dh_slt_job_done(job);
    if (ctx == NULL) {
        return;
    }

    r = ctx->r;

    if (job->err != 0) {
        rc = dh_slt_reply_storage(r, ctx, job->err);

    } else if (ctx->j.op == DH_SLT_OP_LIST) {
        rc = dh_slt_list_reply(r, ctx);

    } else {
        if (ctx->j.op == DH_SLT_OP_BEGIN && ctx->j.status == DH_SLT_OK) {
            dh_slt_metric(dh_sl_metrics.txn_requests, 1);
        }

        rc = dh_slt_reply(r, ctx, ctx->j.status, NULL, 0);
    }

    dh_http_finalize_request(r, rc);
}


static dh_int_t
dh_slt_body_ignore(dh_http_request_t *r, dh_buf_t *b)
{
    b->pos = b->last;
    return DH_OK;
}


/* The (unused) body of a manager request was read: run the op. */
static void
dh_slt_manage_body(dh_http_request_t *r, dh_int_t rc)
{
    dh_slt_ctx_t  *ctx;

    if (rc != DH_OK) {
        dh_http_request_body_error(r, rc);
        return;
    }

    ctx = dh_http_get_module_ctx(r, dh_http_stream_load_module);

    if (dh_slt_post(ctx, ctx->j.op, dh_slt_manage_done) != DH_OK) {
        dh_http_finalize_request(r,
            dh_slt_reply_cstr(r, ctx, DH_SLT_INTERNAL_ERROR,
                              "storage is not available"));
    }
}


/* Checks the headers of begin/prepare/commit/rollback/list and reads the
 * (ignored) body; the storage job runs once it is in. */
static dh_int_t
dh_slt_manage(dh_http_request_t *r, dh_slt_ctx_t *ctx)
{
    int64_t       timeout, idle;
    dh_int_t      rc;
    dh_str_t     *v;
    dh_slt_job_t *j;
    u_char        buf[128], *p;

    j = &ctx->j;

    switch (j->op) {

    case DH_SLT_OP_BEGIN:
        if (dh_slt_seconds(r, "timeout", DH_SLT_TIMEOUT, &timeout) != DH_OK
            || dh_slt_seconds(r, "idle_transaction_timeout", 0, &idle)
               != DH_OK)
        {
            return dh_slt_reply_cstr(r, ctx, DH_SLT_INVALID_ARGUMENT,
                                     "Invalid timeout format");
        }

        if (dh_table_find(j->cycle, &j->db, &j->table) == NULL) {
            p = dh_slprintf(buf, buf + sizeof(buf),
                            "unknown table, db=%.*s, tbl=%.*s",
                            (int) dh_min(j->db.len, 48), j->db.data,
                            (int) dh_min(j->table.len, 48), j->table.data);
            return dh_slt_reply(r, ctx, DH_SLT_INTERNAL_ERROR, (char *) buf,
                                p - buf);
        }

        j->timeout_sec = timeout;
        j->idle_timeout_sec = idle;
        dh_sl_metrics_add(dh_sl_metrics.txn_request, "begin", 1);
        break;

    case DH_SLT_OP_PREPARE:
        j->timeout_sec = DH_SLT_PREPARED_TIMEOUT;
        v = dh_slt_header(r, "prepared_timeout");

        if (v != NULL) {
            timeout = dh_atoi(v->data, v->len);

            if (timeout <= 0) {
                p = dh_slprintf(buf, buf + sizeof(buf),
                                "Invalid prepared_timeout: %.*s",
                                (int) dh_min(v->len, 64), v->data);
                return dh_slt_reply(r, ctx, DH_SLT_INVALID_ARGUMENT,
                                    (char *) buf, p - buf);
            }

            j->timeout_sec = timeout;
        }

        /* fall through */

    case DH_SLT_OP_COMMIT:
        dh_sl_metrics_add(dh_sl_metrics.txn_request, "commit", 1);
        break;

    case DH_SLT_OP_ROLLBACK:
        dh_sl_metrics_add(dh_sl_metrics.txn_request, "rollback", 1);
        break;

    default:
        break;
    }

    rc = dh_http_read_client_request_body_stream(r, dh_slt_body_ignore,
                                                 dh_slt_manage_body);

    return rc == DH_OK ? DH_DONE : rc;
}


/* ---- load */

static void
dh_slt_stage_done(dh_storage_job_t *job)
{
    dh_uint_t      orphan;
    dh_slt_ctx_t  *ctx;

    ctx = dh_slt_job_done(job);
    if (ctx == NULL) {
        return;
    }

    dh_sl_batch_free(ctx->batch);
    ctx->batch = NULL;

    /* body reading ended badly while this batch was written: nothing
     * waits for a resume then, so the load is ended here.  Otherwise
     * dh_sl_load_flushed() may resume and finish the request (and free
     * ctx): ctx is not touched after it. */
    orphan = ctx->body_done && !ctx->finishing;

    if (job->err != 0 || ctx->j.status != DH_SLT_OK) {
        /* a storage error leaves the record ours (abort it); a rule
         * (rollback or timeout meanwhile) means it is gone already */
        ctx->owned = job->err != 0;
        ctx->failed = 1;
        ctx->fail_status = job->err ? DH_SLT_INTERNAL_ERROR : ctx->j.status;
        ctx->error = job->err ? dh_storage_strerror(job->err)
                              : "current transaction is aborted";
        dh_sl_load_flushed(ctx->load, DH_ERROR, ctx->error);

    } else {
        dh_sl_load_flushed(ctx->load, DH_OK, NULL);
    }

    if (orphan && !ctx->job_busy) {
        dh_slt_load_end(ctx);
    }
}


/* The load's flush: stages one batch (and, with the last, the counters
 * of this load) in its own storage transaction. */
static dh_int_t
dh_slt_flush(dh_sl_load_t *ld, dh_sl_batch_t *b, dh_uint_t last,
    void *data)
{
    dh_slt_ctx_t      *ctx = data;
    dh_slt_job_t      *j;
    dh_sl_counters_t  *c;

    j = &ctx->j;
    ctx->batch = b;

    j->batch = b->data;
    j->batch_len = b->len;
    j->last = last ? 1 : 0;
    j->add_total = 0;
    j->add_loaded = 0;
    j->add_filtered = 0;
    j->add_unselected = 0;
    j->add_bytes = 0;
    j->add_received_ms = 0;
    j->add_write_ms = 0;

    if (last) {
        c = dh_sl_load_counters(ld);
        j->add_total = c->total;
        j->add_loaded = c->loaded;
        j->add_filtered = c->filtered;
        j->add_unselected = c->unselected;
        j->add_bytes = c->bytes;
        j->add_received_ms = (int64_t) c->read_ms;
        j->add_write_ms = (int64_t) c->write_ms;
    }

    if (dh_slt_post(ctx, DH_SLT_OP_STAGE, dh_slt_stage_done) != DH_OK) {
        dh_sl_batch_free(b);
        ctx->batch = NULL;
        ctx->failed = 1;
        ctx->error = "storage is not available";
        return DH_ERROR;
    }

    return DH_OK;
}


/* The load can take bytes again, or its last batch is staged. */
static void
dh_slt_resume(dh_sl_load_t *ld, void *data)
{
    dh_slt_ctx_t  *ctx = data;

    if (ctx->finishing) {
        dh_slt_load_end(ctx);
        return;
    }

    dh_http_request_body_resume(ctx->r);
}


static dh_int_t
dh_slt_body_data(dh_http_request_t *r, dh_buf_t *b)
{
    dh_int_t       rc;
    dh_slt_ctx_t  *ctx;

    ctx = dh_http_get_module_ctx(r, dh_http_stream_load_module);

    if (ctx->failed) {
        return DH_ERROR;
    }

    rc = dh_sl_load_feed(ctx->load, b->pos, b->last - b->pos);

    /* DH_AGAIN took nothing: a full batch waits for its flush, and the
     * reader offers these bytes again after dh_slt_resume() */
    if (rc == DH_OK) {
        b->pos = b->last;
    }

    if (rc == DH_ERROR) {
        ctx->failed = 1;
        ctx->owned = 1;
        ctx->error = dh_sl_load_error(ctx->load);
    }

    return rc;
}


static void
dh_slt_body_done(dh_http_request_t *r, dh_int_t rc)
{
    dh_slt_ctx_t  *ctx;

    ctx = dh_http_get_module_ctx(r, dh_http_stream_load_module);

    ctx->body_done = 1;
    ctx->body_rc = rc;

    if (rc == DH_OK && !ctx->failed) {
        ctx->finishing = 1;

        rc = dh_sl_load_finish(ctx->load);

        if (rc == DH_AGAIN) {
            return;
        }

        if (rc == DH_ERROR && !ctx->failed) {
            ctx->failed = 1;
            ctx->owned = 1;
            ctx->error = dh_sl_load_error(ctx->load);
        }
    }

    if (rc != DH_OK && !ctx->failed) {
        /* the client went away or broke the framing */
        ctx->failed = 1;
        ctx->owned = 1;
        ctx->error = "receive body failed";
    }

    dh_slt_load_end(ctx);
}


/* The load is over (its last flush, if any, has completed). */
static void
dh_slt_load_end(dh_slt_ctx_t *ctx)
{
    dh_int_t            rc;
    dh_http_request_t  *r;
    dh_sl_counters_t   *c;

    r = ctx->r;

    if (ctx->job_busy) {
        /* a flush is still being written: its completion comes back */
        return;
    }

    if (ctx->failed) {
        dh_slt_load_fail(ctx);
        return;
    }

    c = dh_sl_load_counters(ctx->load);
    dh_slt_metric(dh_sl_metrics.txn_bytes, c->bytes);

    rc = dh_slt_reply(r, ctx, DH_SLT_OK, "", 0);

    dh_http_finalize_request(r, rc);
}


/* Aborts the transaction after a failed load (unless it is gone already)
 * and answers why. */
static void
dh_slt_load_fail(dh_slt_ctx_t *ctx)
{
    if (ctx->owned) {
        ctx->owned = 0;

        if (dh_slt_post(ctx, DH_SLT_OP_FAIL, dh_slt_load_failed) == DH_OK) {
            return;
        }
    }

    dh_slt_load_fail_reply(ctx);
}


static void
dh_slt_load_failed(dh_storage_job_t *job)
{
    dh_slt_ctx_t  *ctx;

    ctx = dh_slt_job_done(job);
    if (ctx == NULL) {
        return;
    }

    dh_slt_load_fail_reply(ctx);
}


static void
dh_slt_load_fail_reply(dh_slt_ctx_t *ctx)
{
    dh_int_t            rc;
    dh_http_request_t  *r;

    r = ctx->r;

    if (ctx->body_done && ctx->body_rc != DH_OK) {
        /* nobody to answer, or a framing error the core answers */
        dh_http_request_body_error(r, ctx->body_rc);
        return;
    }

    rc = dh_slt_reply_cstr(r, ctx, ctx->fail_status ? ctx->fail_status
                                                    : DH_SLT_INTERNAL_ERROR,
                           ctx->error ? ctx->error : "load failed");

    dh_http_finalize_request(r, rc);
}


/* The transaction took the load (or refused it): read the body. */
static void
dh_slt_load_admitted(dh_storage_job_t *job)
{
    dh_int_t            rc;
    const char         *err;
    dh_slt_ctx_t       *ctx;
    dh_table_t         *tbl;
    dh_http_request_t  *r;

    ctx = dh_slt_job_done(job);
    if (ctx == NULL) {
        return;
    }

    r = ctx->r;

    if (job->err != 0) {
        dh_http_finalize_request(r, dh_slt_reply_storage(r, ctx, job->err));
        return;
    }

    if (ctx->j.status != DH_SLT_OK) {
        dh_http_finalize_request(r, dh_slt_reply(r, ctx, ctx->j.status,
                                                 NULL, 0));
        return;
    }

    ctx->owned = 1;
    ctx->counted = 1;
    dh_slt_metric(dh_sl_metrics.txn_current, 1);

    tbl = dh_table_find(ctx->j.cycle, &ctx->j.db, &ctx->j.table);
    err = "the table of the transaction is gone";

    if (tbl != NULL) {
        ctx->load = dh_sl_load_create(r->pool, r->connection->log, tbl,
                                      &ctx->params, 0, dh_slt_flush,
                                      dh_slt_resume, ctx, &err);
    }

    if (ctx->load == NULL) {
        ctx->failed = 1;
        ctx->error = err;
        dh_slt_load_fail(ctx);
        return;
    }

    rc = dh_http_read_client_request_body_stream(r, dh_slt_body_data,
                                                 dh_slt_body_done);
    if (rc != DH_OK) {
        /* nothing was read: give the transaction back, then answer */
        ctx->failed = 1;
        ctx->body_done = 1;
        ctx->body_rc = rc;
        ctx->error = "cannot read the body";
        dh_slt_load_fail(ctx);
    }
}


/* PUT /api/transaction/load: the checks the BE makes before the body. */
static dh_int_t
dh_slt_load(dh_http_request_t *r, dh_slt_ctx_t *ctx)
{
    dh_int_t   rc;
    dh_str_t   msg;

    dh_sl_metrics_add(dh_sl_metrics.txn_request, "exec", 1);

    if (ctx->j.label.len == 0) {
        return dh_slt_reply_cstr(r, ctx, DH_SLT_INVALID_ARGUMENT,
                                 "Invalid label ");
    }

    dh_str_null(&msg);

    rc = dh_sl_params_parse(r, &ctx->params, 1, &msg);

    if (rc == DH_DECLINED) {
        return dh_slt_reply(r, ctx, DH_SLT_INTERNAL_ERROR,
                            (char *) msg.data, msg.len);
    }

    if (rc != DH_OK
        || dh_sl_params_canonical(ctx->pool, &ctx->params, &ctx->j.params)
           != DH_OK)
    {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* only the first load's ratio counts (spec 2.1) */
    ctx->j.max_filter_ratio = ctx->params.max_filter_ratio;

    if (dh_slt_post(ctx, DH_SLT_OP_LOAD, dh_slt_load_admitted) != DH_OK) {
        return dh_slt_reply_cstr(r, ctx, DH_SLT_INTERNAL_ERROR,
                                 "storage is not available");
    }

    return DH_DONE;
}


/* ---- the entry point */

/*
 * The stream load location's Basic auth: DH_OK, DH_DECLINED when the
 * refusal was sent and the request finalized, or an HTTP status.
 * StarRocks' BE parses the
 * credentials at begin and answers INTERNAL_ERROR "no valid Basic
 * authorization" (HTTP 200) without them; with stream_load_auth_basic
 * the password is checked too, on every operation here.
 */
static dh_int_t
dh_slt_auth(dh_http_request_t *r, dh_slt_ctx_t *ctx)
{
    u_char                     *colon;
    dh_int_t                    rc;
    dh_str_t                   *v, enc, dec, *msg;
    dh_uint_t                   status;
    dh_http_auth_basic_conf_t  *conf;

    conf = dh_sl_auth_conf(r, &status);
    colon = NULL;

    v = dh_slt_header(r, "authorization");

    if (v != NULL && v->len > 6 && dh_strncmp(v->data, "Basic ", 6) == 0) {
        enc.data = v->data + 6;
        enc.len = v->len - 6;

        dec.data = dh_pnalloc(r->pool, dh_base64_decoded_length(enc.len));
        if (dec.data == NULL) {
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (dh_decode_base64(&dec, &enc) == DH_OK) {
            colon = memchr(dec.data, ':', dec.len);
        }
    }

    if (colon == NULL) {
        if (status == DH_HTTP_UNAUTHORIZED && conf->realm.len) {
            /* adds WWW-Authenticate */
            (void) dh_http_auth_basic_check(r, conf, NULL);
        }

        msg = dh_psprintf(r->pool, "%s", "no valid Basic authorization");
        goto denied;
    }

    rc = dh_http_auth_basic_check(r, conf, NULL);

    if (rc == DH_OK || rc == DH_DECLINED) {
        return DH_OK;
    }

    if (rc != DH_HTTP_UNAUTHORIZED) {
        return rc;
    }

    msg = dh_psprintf(r->pool, "Access denied for user '%.*s'",
                      (int) (colon - dec.data), dec.data);

denied:

    if (msg == NULL) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->http_status = status;

    rc = dh_slt_reply(r, ctx, DH_SLT_INTERNAL_ERROR, (char *) msg->data,
                      msg->len);

    dh_http_finalize_request(r, rc);

    return DH_DECLINED;
}


/* A copy of header name's value in the context's pool ("" if absent). */
static dh_int_t
dh_slt_header_copy(dh_slt_ctx_t *ctx, const char *name, dh_str_t *out)
{
    dh_str_t  *v;

    v = dh_slt_header(ctx->r, name);

    if (v == NULL || v->len == 0) {
        out->len = 0;
        out->data = (u_char *) "";
        return DH_OK;
    }

    out->len = v->len;
    out->data = dh_pnalloc(ctx->pool, v->len);

    if (out->data == NULL) {
        return DH_ERROR;
    }

    dh_memcpy(out->data, v->data, v->len);

    return DH_OK;
}


static dh_slt_ctx_t *
dh_slt_ctx_create(dh_http_request_t *r)
{
    dh_pool_t          *pool;
    dh_slt_ctx_t       *ctx;
    dh_pool_cleanup_t  *cln;

    cln = dh_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    pool = dh_create_pool(4096, r->connection->log);
    if (pool == NULL) {
        return NULL;
    }

    ctx = dh_pcalloc(pool, sizeof(dh_slt_ctx_t));
    if (ctx == NULL) {
        dh_destroy_pool(pool);
        return NULL;
    }

    ctx->r = r;
    ctx->pool = pool;
    ctx->start = dh_current_msec;
    ctx->j.cycle = (dh_cycle_t *) dh_cycle;
    ctx->j.pool = pool;

    cln->handler = dh_slt_request_cleanup;
    cln->data = ctx;

    dh_http_set_ctx(r, ctx, dh_http_stream_load_module);

    if (dh_slt_header_copy(ctx, "label", &ctx->j.label) != DH_OK
        || dh_slt_header_copy(ctx, "db", &ctx->j.db) != DH_OK
        || dh_slt_header_copy(ctx, "table", &ctx->j.table) != DH_OK)
    {
        return NULL;
    }

    return ctx;
}


static dh_int_t
dh_slt_op(dh_str_t *name, dh_slt_op_e *op)
{
    static struct {
        const char   *name;
        dh_slt_op_e   op;
    } ops[] = {
        { "begin", DH_SLT_OP_BEGIN },
        { "commit", DH_SLT_OP_COMMIT },
        { "prepare", DH_SLT_OP_PREPARE },
        { "rollback", DH_SLT_OP_ROLLBACK },
        { "list", DH_SLT_OP_LIST }
    };

    dh_uint_t  i;

    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (dh_str_caseeq(name, ops[i].name)) {
            *op = ops[i].op;
            return DH_OK;
        }
    }

    return DH_DECLINED;
}


dh_int_t
dh_sl_txn_handler(dh_http_request_t *r, dh_str_t *op)
{
    u_char              *p;
    dh_int_t             rc;
    dh_str_t             name;
    dh_slt_ctx_t        *ctx;

    if (!(r->method & (DH_HTTP_POST | DH_HTTP_PUT))) {
        return dh_http_not_allowed(r, DH_HTTP_POST | DH_HTTP_PUT);
    }

    if (op != NULL) {
        name = *op;

    } else {
        dh_str_set(&name, "");
    }

    ctx = dh_slt_ctx_create(r);
    if (ctx == NULL) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = dh_slt_auth(r, ctx);
    if (rc != DH_OK) {
        /* denied: the reply went out (or rc is the error to answer) */
        return rc == DH_DECLINED ? DH_DONE : rc;
    }

    if (ctx->j.label.len > DH_SLT_LABEL_MAX) {
        return dh_slt_reply_cstr(r, ctx, DH_SLT_INVALID_ARGUMENT,
                                 "label length exceeds 128");
    }

    if (r->method == DH_HTTP_PUT && dh_str_caseeq(&name, "load")) {
        ctx->j.op = DH_SLT_OP_LOAD;
        return dh_slt_load(r, ctx);
    }

    if (dh_slt_op(&name, &ctx->j.op) != DH_OK) {
        p = dh_pnalloc(r->pool, name.len + 64);
        if (p == NULL) {
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }

        name.len = dh_slprintf(p, p + name.len + 64,
                               "unsupport transaction operation %.*s",
                               (int) name.len, name.data) - p;

        return dh_slt_reply(r, ctx, DH_SLT_INVALID_ARGUMENT, (char *) p,
                            name.len);
    }

    if (ctx->j.op != DH_SLT_OP_LIST && ctx->j.label.len == 0) {
        return dh_slt_reply_cstr(r, ctx, DH_SLT_INVALID_ARGUMENT,
                                 "empty label");
    }

    return dh_slt_manage(r, ctx);
}

#endif /* DH_HAVE_BDB */

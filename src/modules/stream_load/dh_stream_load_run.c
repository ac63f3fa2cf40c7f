/*
 * Stream Load, after the header phase: the begin, commit and abort
 * storage jobs, the streamed body, staging batches on the thread pool,
 * and the reply once the commit returned.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_event.h"
#include "dh_http.h"

#if (DH_HAVE_BDB)

#include "dh_stream_load_http.h"


static int dh_sl_work(dh_storage_job_t *job, DB_TXN *txn);
static int dh_sl_work_begin(dh_sl_ctx_t *ctx, DB_TXN *txn);
static int dh_sl_work_commit(dh_sl_ctx_t *ctx, DB_TXN *txn);
static int dh_sl_work_abort(dh_sl_ctx_t *ctx, DB_TXN *txn);
static void dh_sl_job_done(dh_storage_job_t *job);
static void dh_sl_begun(dh_sl_ctx_t *ctx);
static void dh_sl_committed(dh_sl_ctx_t *ctx);
static void dh_sl_orphan(dh_sl_ctx_t *ctx);
static dh_int_t dh_sl_body_data(dh_http_request_t *r, dh_buf_t *b);
static void dh_sl_body_done(dh_http_request_t *r, dh_int_t rc);
static void dh_sl_flush_handler(void *data, dh_log_t *log);
static void dh_sl_flush_done(dh_thread_task_t *task);
static void dh_sl_finish(dh_sl_ctx_t *ctx);
static void dh_sl_commit(dh_sl_ctx_t *ctx);
static void dh_sl_abort(dh_sl_ctx_t *ctx, const char *msg);
static void dh_sl_timeout(dh_event_t *ev);
static dh_int_t dh_sl_error_url(dh_sl_ctx_t *ctx);


/* ---- storage jobs */

dh_int_t
dh_sl_http_post(dh_sl_ctx_t *ctx, dh_uint_t type)
{
    dh_memzero(&ctx->job, sizeof(dh_storage_job_t));
    ctx->job.work = dh_sl_work;
    ctx->job.done = dh_sl_job_done;
    ctx->job.data = ctx;
    ctx->job.log = dh_cycle->log;
    ctx->job_type = type;
    ctx->job_msg.len = 0;

    if (dh_storage_post((dh_cycle_t *) dh_cycle, ctx->pool, &ctx->job)
        != DH_OK)
    {
        return DH_ERROR;
    }

    ctx->busy++;

    return DH_OK;
}


void
dh_sl_http_request_gone(void *data)
{
    dh_sl_ctx_t  *ctx = data;

    ctx->request = NULL;

    if (ctx->counted) {
        ctx->counted = 0;
        dh_metrics_inc(dh_sl_metrics.current, -1);
    }

    if (ctx->timer.timer_set) {
        dh_event_del_timer(&ctx->timer);
    }

    dh_sl_orphan(ctx);
}


/* the request is gone: once nothing is out, free the RUNNING label (one
 * more job), then the context */
static void
dh_sl_orphan(dh_sl_ctx_t *ctx)
{
    if (ctx->busy) {
        return;
    }

    if (ctx->running) {
        ctx->running = 0;

        if (dh_sl_http_post(ctx, DH_SL_JOB_ABORT) == DH_OK) {
            return;
        }
    }

    dh_destroy_pool(ctx->pool);
}


static int
dh_sl_work(dh_storage_job_t *job, DB_TXN *txn)
{
    dh_sl_ctx_t  *ctx = job->data;

    ctx->job_msg.len = 0;

    switch (ctx->job_type) {

    case DH_SL_JOB_BEGIN:
        return dh_sl_work_begin(ctx, txn);

    case DH_SL_JOB_COMMIT:
        return dh_sl_work_commit(ctx, txn);

    default:
        return dh_sl_work_abort(ctx, txn);
    }
}


static int
dh_sl_work_begin(dh_sl_ctx_t *ctx, DB_TXN *txn)
{
    int                 err;
    int64_t             id;
    dh_sl_label_rec_t   rec;

    ctx->reply.status = DH_SL_STATUS_SUCCESS;

    err = dh_sl_label_get(txn, &ctx->db, &ctx->params.label, &rec);

    if (err == 0) {
        ctx->reply.status = DH_SL_STATUS_LABEL_EXISTS;
        ctx->reply.existing.data =
                         (u_char *) dh_sl_label_state_name(rec.state);
        ctx->reply.existing.len = dh_strlen(ctx->reply.existing.data);
        return DH_STORAGE_ABORT;
    }

    if (err != DB_NOTFOUND) {
        return err;
    }

    err = dh_sl_txn_id_next(txn, &id);
    if (err != 0) {
        return err;
    }

    dh_sl_label_running(&rec, id);

    err = dh_sl_label_put(txn, &ctx->db, &ctx->params.label, &rec);
    if (err != 0) {
        return err;
    }

    ctx->reply.txn_id = id;

    return 0;
}


static int
dh_sl_work_commit(dh_sl_ctx_t *ctx, DB_TXN *txn)
{
    int                 err;
    off_t               off;
    u_char             *buf, *n;
    size_t              size;
    ssize_t             got;
    uint32_t            len;
    dh_sl_label_rec_t   rec;

    err = dh_sl_label_get(txn, &ctx->db, &ctx->params.label, &rec);

    if (err == DB_NOTFOUND
        || (err == 0 && (rec.state != DH_SL_LABEL_RUNNING
                         || rec.txn_id != ctx->reply.txn_id)))
    {
        dh_str_set(&ctx->job_msg, "the label was taken over");
        return DH_STORAGE_ABORT;
    }

    if (err != 0) {
        return err;
    }

    buf = NULL;
    size = 0;
    err = 0;
    ctx->job_rows = 0;

    for (off = 0; off < ctx->stage_off; off += 4 + len) {

        got = pread(ctx->stage_fd, &len, 4, off);
        if (got != 4) {
            err = EIO;
            break;
        }

        if (len > size) {
            n = realloc(buf, len);
            if (n == NULL) {
                err = ENOMEM;
                break;
            }

            buf = n;
            size = len;
        }

        got = pread(ctx->stage_fd, buf, len, off + 4);
        if (got != (ssize_t) len) {
            err = EIO;
            break;
        }

        err = dh_sl_batch_apply(ctx->table, txn, buf, len);
        if (err != 0) {
            break;
        }
    }

    free(buf);

    if (err != 0) {
        return err;
    }

    rec.state = DH_SL_LABEL_FINISHED;
    rec.owner_pid = 0;
    rec.finished = (int64_t) time(NULL);

    return dh_sl_label_put(txn, &ctx->db, &ctx->params.label, &rec);
}


static int
dh_sl_work_abort(dh_sl_ctx_t *ctx, DB_TXN *txn)
{
    int                 err;
    dh_sl_label_rec_t   rec;

    err = dh_sl_label_get(txn, &ctx->db, &ctx->params.label, &rec);

    if (err == DB_NOTFOUND) {
        return 0;
    }

    if (err != 0) {
        return err;
    }

    if (rec.state != DH_SL_LABEL_RUNNING || rec.txn_id != ctx->reply.txn_id) {
        return 0;
    }

    return dh_sl_label_del(txn, &ctx->db, &ctx->params.label);
}


static void
dh_sl_job_done(dh_storage_job_t *job)
{
    dh_sl_ctx_t  *ctx = job->data;

    ctx->busy--;

    if (job->err == 0) {
        if (ctx->job_type == DH_SL_JOB_BEGIN) {
            ctx->running = 1;

        } else {
            /* committed, or the label was freed */
            ctx->running = 0;
        }
    }

    if (ctx->request == NULL) {
        dh_sl_orphan(ctx);
        return;
    }

    switch (ctx->job_type) {

    case DH_SL_JOB_BEGIN:
        dh_sl_begun(ctx);
        return;

    case DH_SL_JOB_COMMIT:
        dh_sl_committed(ctx);
        return;

    default:
        if (job->err != 0) {
            /* the RUNNING label stays until this worker exits */
            dh_log_error(DH_LOG_ERR, ctx->request->connection->log, 0,
                         "stream load \"%.*s\": abort failed: %s",
                         DH_STR_FMT(ctx->params.label),
                         dh_storage_strerror(job->err));
        }

        dh_sl_http_end(ctx, DH_OK);
        return;
    }
}


static void
dh_sl_begun(dh_sl_ctx_t *ctx)
{
    dh_int_t            rc;
    dh_http_request_t  *r;

    r = ctx->request;
    ctx->reply.begin_ms = dh_sl_http_clock() - ctx->phase_start;

    if (ctx->job.err != 0) {
        if (ctx->reply.status != DH_SL_STATUS_LABEL_EXISTS) {
            ctx->reply.status = DH_SL_STATUS_FAIL;
            ctx->reply.message.data = (u_char *) dh_storage_strerror(
                                                             ctx->job.err);
            ctx->reply.message.len = dh_strlen(ctx->reply.message.data);

        } else {
            ctx->reply.message.data = dh_sl_pdata(dh_psprintf(r->pool,
                "Label [%.*s] has already been used.",
                DH_STR_FMT(ctx->params.label)));
            if (ctx->reply.message.data == NULL) {
                dh_http_finalize_request(r, DH_ERROR);
                return;
            }

            ctx->reply.message.len = dh_strlen(ctx->reply.message.data);
        }

        dh_http_finalize_request(r, dh_sl_http_reply(r, ctx, DH_HTTP_OK));
        return;
    }

    dh_log_error(DH_LOG_INFO, r->connection->log, 0,
                 "stream load \"%.*s\" txn %lld: begun",
                 DH_STR_FMT(ctx->params.label),
                 (long long) ctx->reply.txn_id);

    if (ctx->params.timeout > 0) {
        ctx->timer.handler = dh_sl_timeout;
        ctx->timer.data = ctx;
        ctx->timer.log = r->connection->log;
        dh_event_add_timer(&ctx->timer, ctx->params.timeout * 1000);
    }

    ctx->reading = 1;

    rc = dh_http_read_client_request_body_stream(r, dh_sl_body_data,
                                                 dh_sl_body_done);

    if (rc == DH_OK) {
        return;
    }

    /* nothing was read (413 for an over-long Content-Length is caught in
     * the header phase already) */
    ctx->reading = 0;
    ctx->body_done = 1;
    ctx->body_rc = rc;

    dh_sl_abort(ctx, "cannot read the request body");
}


static void
dh_sl_timeout(dh_event_t *ev)
{
    dh_sl_ctx_t  *ctx = ev->data;

    ctx->timed_out = 1;

    /* a body paused for a flush notices it in dh_sl_http_resume(); a body
     * still arriving notices it at its next piece */
}


/* ---- the body */

static dh_int_t
dh_sl_body_data(dh_http_request_t *r, dh_buf_t *b)
{
    dh_int_t      rc;
    dh_sl_ctx_t  *ctx;

    ctx = dh_http_get_module_ctx(r, dh_http_stream_load_module);

    if (ctx->timed_out) {
        return DH_ERROR;
    }

    rc = dh_sl_load_feed(ctx->load, b->pos, b->last - b->pos);

    if (rc == DH_OK) {
        b->pos = b->last;
    }

    return rc;
}


static void
dh_sl_body_done(dh_http_request_t *r, dh_int_t rc)
{
    const char   *msg;
    dh_sl_ctx_t  *ctx;

    ctx = dh_http_get_module_ctx(r, dh_http_stream_load_module);

    ctx->reading = 0;
    ctx->body_done = 1;
    ctx->body_rc = rc;
    ctx->reply.c.read_ms = dh_sl_http_clock() - ctx->phase_start;

    if (rc == DH_OK) {
        dh_sl_finish(ctx);
        return;
    }

    msg = dh_sl_load_error(ctx->load);

    if (ctx->timed_out) {
        msg = "load timeout, the load is cancelled";

    } else if (rc == DH_HTTP_CLIENT_CLOSED_REQUEST) {
        ctx->closed = 1;
        msg = "the client closed the connection";

    } else if (rc == DH_HTTP_REQUEST_ENTITY_TOO_LARGE) {
        msg = "body size exceeds client_max_body_size";

    } else if (rc == DH_HTTP_REQUEST_TIME_OUT) {
        msg = "timed out reading the request body";

    } else if (rc == DH_HTTP_BAD_REQUEST) {
        msg = "bad chunked encoding of the request body";

    } else if (msg == NULL) {
        msg = "cannot read the request body";
    }

    ctx->fail_msg.data = (u_char *) msg;
    ctx->fail_msg.len = dh_strlen(msg);

    if (dh_sl_load_cancel(ctx->load, msg) == DH_OK) {
        dh_sl_abort(ctx, msg);
    }

    /* else dh_sl_http_resume() aborts once the flush in flight completed */
}


/* a full batch goes to the staging file, on the thread pool */
dh_int_t
dh_sl_http_flush(dh_sl_load_t *ld, dh_sl_batch_t *b, dh_uint_t last, void *data)
{
    dh_sl_ctx_t  *ctx = data;

    dh_str_t             name;
    dh_thread_pool_t    *tp;
    dh_thread_task_t    *task;
    dh_sl_flush_task_t  *ft;

    if (b->len == 0) {
        /* the last batch may be empty: nothing to write, but the load
         * wants its completion from outside the callback */
        dh_sl_batch_free(b);
        b = NULL;
    }

    dh_str_set(&name, "default");

    tp = dh_thread_pool_get((dh_cycle_t *) dh_cycle, &name);
    if (tp == NULL) {
        dh_sl_batch_free(b);
        return DH_ERROR;
    }

    task = dh_thread_task_alloc(ctx->pool, sizeof(dh_sl_flush_task_t));
    if (task == NULL) {
        dh_sl_batch_free(b);
        return DH_ERROR;
    }

    ft = task->ctx;
    ft->ctx = ctx;
    ft->batch = b;
    ft->offset = ctx->stage_off;
    ft->err = 0;

    task->handler = dh_sl_flush_handler;
    task->done = dh_sl_flush_done;
    task->done_data = ft;

    if (b != NULL) {
        ctx->stage_off += 4 + b->len;
    }

    if (dh_thread_task_post(tp, task) != DH_OK) {
        if (b != NULL) {
            ctx->stage_off -= 4 + b->len;
        }

        dh_sl_batch_free(b);
        return DH_ERROR;
    }

    ctx->busy++;

    return DH_OK;
}


/* thread pool: { u32 len, batch } at the batch's offset */
static void
dh_sl_flush_handler(void *data, dh_log_t *log)
{
    dh_sl_flush_task_t  *ft = data;

    off_t     off;
    u_char   *p;
    size_t    left;
    ssize_t   n;
    uint32_t  len;

    if (ft->batch == NULL) {
        return;
    }

    len = (uint32_t) ft->batch->len;

    if (pwrite(ft->ctx->stage_fd, &len, 4, ft->offset) != 4) {
        ft->err = errno ? errno : EIO;
        return;
    }

    off = ft->offset + 4;
    p = ft->batch->data;
    left = ft->batch->len;

    while (left) {
        n = pwrite(ft->ctx->stage_fd, p, left, off);

        if (n <= 0) {
            if (n == -1 && errno == EINTR) {
                continue;
            }

            ft->err = (n == -1) ? errno : ENOSPC;
            return;
        }

        p += n;
        off += n;
        left -= n;
    }
}


static void
dh_sl_flush_done(dh_thread_task_t *task)
{
    dh_sl_flush_task_t  *ft = task->done_data;

    dh_sl_batch_free(ft->batch);
    ft->batch = NULL;

    ft->ctx->busy--;

    if (ft->ctx->request == NULL) {
        dh_sl_orphan(ft->ctx);
        return;
    }

    if (ft->err) {
        dh_log_error(DH_LOG_ERR, ft->ctx->request->connection->log, ft->err,
                     "stream load: cannot write the staging file");
        dh_sl_load_flushed(ft->ctx->load, DH_ERROR,
                           "cannot write the staging file");
        return;
    }

    dh_sl_load_flushed(ft->ctx->load, DH_OK, NULL);
}


/* the load can go on: after a flush, at the end, or after a cancel */
void
dh_sl_http_resume(dh_sl_load_t *ld, void *data)
{
    dh_sl_ctx_t  *ctx = data;

    const char  *err;

    if (ctx->reading) {
        /* the data handler sees an error or a timeout itself and ends
         * the body with it */
        dh_http_request_body_resume(ctx->request);
        return;
    }

    if (!ctx->body_done) {
        return;
    }

    if (ctx->body_rc != DH_OK) {
        dh_sl_abort(ctx, (char *) ctx->fail_msg.data);
        return;
    }

    err = dh_sl_load_error(ld);

    if (err != NULL) {
        dh_sl_abort(ctx, err);
        return;
    }

    dh_sl_commit(ctx);
}


static void
dh_sl_finish(dh_sl_ctx_t *ctx)
{
    dh_int_t  rc;

    rc = dh_sl_load_finish(ctx->load);

    if (rc == DH_AGAIN) {
        return;         /* dh_sl_http_resume() goes on */
    }

    if (rc == DH_OK) {
        dh_sl_commit(ctx);
        return;
    }

    if (dh_sl_load_cancel(ctx->load, dh_sl_load_error(ctx->load)) == DH_OK) {
        dh_sl_abort(ctx, dh_sl_load_error(ctx->load));
        return;
    }

    ctx->body_rc = DH_ERROR;
    ctx->fail_msg.data = (u_char *) dh_sl_load_error(ctx->load);
    ctx->fail_msg.len = dh_strlen(ctx->fail_msg.data);
}


static void
dh_sl_commit(dh_sl_ctx_t *ctx)
{
    dh_sl_counters_t  *c;

    if (ctx->timed_out) {
        dh_sl_abort(ctx, "load timeout, the load is cancelled");
        return;
    }

    c = dh_sl_load_counters(ctx->load);

    if (dh_sl_error_url(ctx) != DH_OK) {
        dh_sl_abort(ctx, "cannot write the error log");
        return;
    }

    if (dh_sl_load_check_ratio(ctx->load) != DH_OK) {
        /* the message must stay: clients match on it */
        dh_sl_abort(ctx, "too many filtered rows");
        return;
    }

    dh_log_error(DH_LOG_INFO, ctx->request->connection->log, 0,
                 "stream load \"%.*s\" txn %lld: committing %lld rows",
                 DH_STR_FMT(ctx->params.label),
                 (long long) ctx->reply.txn_id, (long long) c->loaded);

    ctx->phase_start = dh_sl_http_clock();

    if (dh_sl_http_post(ctx, DH_SL_JOB_COMMIT) != DH_OK) {
        dh_sl_abort(ctx, "Service is busy, please retry later!");
    }
}


static void
dh_sl_committed(dh_sl_ctx_t *ctx)
{
    const char  *msg;

    ctx->reply.commit_ms = dh_sl_http_clock() - ctx->phase_start;

    if (ctx->job.err != 0) {
        msg = ctx->job_msg.len ? (char *) ctx->job_msg.data
                               : dh_storage_strerror(ctx->job.err);
        dh_sl_abort(ctx, msg);
        return;
    }

    dh_log_error(DH_LOG_INFO, ctx->request->connection->log, 0,
                 "stream load \"%.*s\" txn %lld: committed",
                 DH_STR_FMT(ctx->params.label),
                 (long long) ctx->reply.txn_id);

    dh_sl_http_end(ctx, DH_OK);
}


/* frees the RUNNING label, then replies Fail with msg */
static void
dh_sl_abort(dh_sl_ctx_t *ctx, const char *msg)
{
    ctx->reply.status = DH_SL_STATUS_FAIL;
    ctx->fail_msg.data = (u_char *) msg;
    ctx->fail_msg.len = dh_strlen(msg);
    ctx->aborting = 1;

    if (ctx->timer.timer_set) {
        dh_event_del_timer(&ctx->timer);
    }

    if (dh_sl_http_post(ctx, DH_SL_JOB_ABORT) != DH_OK) {
        dh_sl_http_end(ctx, DH_OK);
    }
}


void
dh_sl_http_end(dh_sl_ctx_t *ctx, dh_int_t rc)
{
    dh_http_request_t  *r;

    r = ctx->request;

    if (ctx->timer.timer_set) {
        dh_event_del_timer(&ctx->timer);
    }

    if (ctx->aborting) {
        ctx->reply.status = DH_SL_STATUS_FAIL;
        ctx->reply.message = ctx->fail_msg;
    }

    if (ctx->closed) {
        dh_metrics_inc(dh_sl_metrics.requests, 1);
        dh_http_finalize_request(r, DH_HTTP_CLIENT_CLOSED_REQUEST);
        return;
    }

    dh_http_finalize_request(r, dh_sl_http_reply(r, ctx, DH_HTTP_OK));
}


/* rejected rows -> the error log file and ErrorURL */
static dh_int_t
dh_sl_error_url(dh_sl_ctx_t *ctx)
{
    dh_int_t            rc;
    dh_str_t            name, host, *url;
    dh_sl_main_conf_t  *smcf;
    dh_http_request_t  *r;

    r = ctx->request;
    smcf = dh_http_get_module_main_conf(r, dh_http_stream_load_module);

    rc = dh_sl_load_write_error_log(ctx->load, &smcf->error_dir, &name);

    if (rc == DH_DECLINED) {
        return DH_OK;
    }

    if (rc != DH_OK) {
        return DH_ERROR;
    }

    if (r->headers_in.host && r->headers_in.host->value.len) {
        host = r->headers_in.host->value;
    } else {
        dh_str_set(&host, "127.0.0.1");
    }

    url = dh_psprintf(r->pool, "http://%.*s/api/_load_error_log?file=%.*s",
                      DH_STR_FMT(host), DH_STR_FMT(name));
    if (url == NULL) {
        return DH_ERROR;
    }

    ctx->reply.error_url = *url;

    return DH_OK;
}

#endif /* DH_HAVE_BDB */

/*
 * The load: body bytes -> reader -> columns/where -> encoded rows in
 * batches handed to the owner's flush callback.
 *
 * Memory is bounded: one batch fills while at most one is being flushed;
 * when more are full (a piece of compressed body can expand into several)
 * they wait in a queue and feed() answers DH_AGAIN so that the caller
 * stops reading the body until they are written.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"

#if (DH_HAVE_BDB)

#include "dh_stream_load.h"


#define DH_SL_BATCH_SIZE     (1024 * 1024)
#define DH_SL_SCRATCH_ROWS   256
#define DH_SL_REJECT_LEN     1024


struct dh_sl_load_s {
    dh_pool_t            *pool;
    dh_log_t             *log;
    dh_table_t           *table;
    dh_sl_params_t       *params;
    dh_sl_reader_t       *reader;
    dh_sl_columns_t      *columns;
    dh_sl_expr_t         *where;

    dh_pool_t            *scratch;     /* per-row values, reset often */
    dh_uint_t             scratch_rows;
    dh_buf_t             *key;
    dh_buf_t             *data;
    dh_table_value_t     *values;

    dh_sl_batch_t        *batch;       /* filling */
    dh_sl_batch_t       **pending;     /* full, waiting for the flush */
    dh_uint_t             npending;
    dh_uint_t             npending_max;

    dh_sl_flush_pt        flush;
    dh_sl_resume_pt       resume;
    void                 *cb_data;
    dh_msec_t             flush_start;

    dh_sl_counters_t      c;
    const char           *error;

    dh_str_t             *rejected;    /* "Error: ... Row: ..." lines */
    dh_uint_t             nrejected;
    dh_uint_t             rejected_max;

    unsigned              flushing:1;
    unsigned              finishing:1;
    unsigned              done:1;      /* the last batch is written */
    unsigned              waiting:1;   /* the caller was told DH_AGAIN */
    unsigned              idle_wait:1; /* cancelled while flushing */
};


static void dh_sl_load_cleanup(void *data);
static dh_int_t dh_sl_load_row(void *data, dh_sl_row_t *row);
static dh_int_t dh_sl_load_reject(dh_sl_load_t *ld, const char *reason,
    dh_str_t *raw);
static dh_int_t dh_sl_load_append(dh_sl_load_t *ld, dh_buf_t *key,
    dh_buf_t *data);
static dh_int_t dh_sl_load_submit(dh_sl_load_t *ld);
static void dh_sl_load_kick(dh_sl_load_t *ld);
static dh_int_t dh_sl_load_scratch(dh_sl_load_t *ld);
static dh_msec_t dh_sl_now(void);


static dh_msec_t
dh_sl_now(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (dh_msec_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


dh_sl_load_t *
dh_sl_load_create(dh_pool_t *pool, dh_log_t *log, dh_table_t *t,
    dh_sl_params_t *p, dh_uint_t rejected_max, dh_sl_flush_pt flush,
    dh_sl_resume_pt resume, void *data, const char **err)
{
    dh_uint_t            n;
    dh_sl_load_t        *ld;
    dh_pool_cleanup_t   *cln;

    *err = "out of memory";

    ld = dh_pcalloc(pool, sizeof(dh_sl_load_t));
    if (ld == NULL) {
        return NULL;
    }

    cln = dh_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = dh_sl_load_cleanup;
    cln->data = ld;

    ld->pool = pool;
    ld->log = log;
    ld->table = t;
    ld->params = p;
    ld->flush = flush;
    ld->resume = resume;
    ld->cb_data = data;
    ld->rejected_max = rejected_max;

    ld->scratch = dh_create_pool(16384, log);
    if (ld->scratch == NULL) {
        return NULL;
    }

    ld->values = dh_pcalloc(pool, t->columns.nelts
                                  * sizeof(dh_table_value_t));
    ld->rejected = dh_palloc(pool, (rejected_max + 1) * sizeof(dh_str_t));
    if (ld->values == NULL || ld->rejected == NULL) {
        return NULL;
    }

    ld->columns = dh_sl_columns_compile(pool, t,
                                        p->columns.data ? &p->columns : NULL,
                                        err);
    if (ld->columns == NULL) {
        return NULL;
    }

    if (p->where.data != NULL && p->where.len) {
        ld->where = dh_sl_where_compile(pool, t, &p->where, err);
        if (ld->where == NULL) {
            return NULL;
        }
    }

    if (p->reader.format == DH_SL_FORMAT_JSON) {
        p->reader.names = dh_sl_columns_sources(ld->columns, &n);
        p->reader.nnames = n;
    }

    ld->reader = dh_sl_reader_create(pool, &p->reader, dh_sl_load_row, ld,
                                     err);
    if (ld->reader == NULL) {
        return NULL;
    }

    if (dh_sl_load_scratch(ld) != DH_OK) {
        *err = "out of memory";
        return NULL;
    }

    *err = NULL;

    return ld;
}


static void
dh_sl_load_cleanup(void *data)
{
    dh_sl_load_t  *ld = data;

    dh_uint_t  i;

    for (i = 0; i < ld->npending; i++) {
        dh_sl_batch_free(ld->pending[i]);
    }

    free(ld->pending);
    ld->pending = NULL;
    ld->npending = 0;

    if (ld->batch) {
        dh_sl_batch_free(ld->batch);
        ld->batch = NULL;
    }

    if (ld->scratch) {
        dh_destroy_pool(ld->scratch);
        ld->scratch = NULL;
    }
}


void
dh_sl_batch_free(dh_sl_batch_t *b)
{
    if (b == NULL) {
        return;
    }

    free(b->data);
    free(b);
}


static dh_int_t
dh_sl_load_scratch(dh_sl_load_t *ld)
{
    dh_reset_pool(ld->scratch);
    ld->scratch_rows = 0;

    ld->key = dh_create_temp_buf(ld->scratch, 256);
    ld->data = dh_create_temp_buf(ld->scratch, 1024);

    return (ld->key && ld->data) ? DH_OK : DH_ERROR;
}


static dh_int_t
dh_sl_load_row(void *data, dh_sl_row_t *row)
{
    dh_sl_load_t  *ld = data;

    const char  *err;

    ld->c.total++;

    if (row->error != NULL) {
        ld->c.filtered++;
        return dh_sl_load_reject(ld, row->error, &row->raw);
    }

    if (ld->scratch_rows++ >= DH_SL_SCRATCH_ROWS
        && dh_sl_load_scratch(ld) != DH_OK)
    {
        ld->error = "out of memory";
        return DH_ERROR;
    }

    err = NULL;

    if (dh_sl_columns_apply(ld->columns, ld->scratch, row->fields,
                            row->nulls, row->nfields, ld->params->strict_mode,
                            ld->values, &err)
        != DH_OK)
    {
        ld->c.filtered++;
        return dh_sl_load_reject(ld, err ? err : "invalid row", &row->raw);
    }

    if (ld->where && !dh_sl_where_match(ld->where, ld->scratch, ld->values)) {
        ld->c.unselected++;
        return DH_OK;
    }

    ld->key->pos = ld->key->last = ld->key->start;
    ld->data->pos = ld->data->last = ld->data->start;

    if (dh_table_row_encode(ld->table, ld->values, ld->scratch, &ld->key,
                            &ld->data)
        != DH_OK)
    {
        ld->c.filtered++;
        return dh_sl_load_reject(ld, "NULL value in non-nullable column",
                                 &row->raw);
    }

    ld->c.loaded++;

    return dh_sl_load_append(ld, ld->key, ld->data);
}


static dh_int_t
dh_sl_load_reject(dh_sl_load_t *ld, const char *reason, dh_str_t *raw)
{
    size_t     len;
    dh_str_t  *line;

    if (ld->nrejected >= ld->rejected_max) {
        return DH_OK;
    }

    len = dh_min(raw->len, DH_SL_REJECT_LEN);

    line = &ld->rejected[ld->nrejected];
    line->data = dh_sl_pdata(dh_psprintf(ld->pool,
                                 "Error: %s. Row: %.*s\n", reason, (int) len,
                                 raw->data ? (char *) raw->data : ""));
    if (line->data == NULL) {
        ld->error = "out of memory";
        return DH_ERROR;
    }

    line->len = dh_strlen(line->data);
    ld->nrejected++;

    return DH_OK;
}


static dh_int_t
dh_sl_load_append(dh_sl_load_t *ld, dh_buf_t *key, dh_buf_t *data)
{
    size_t          need, size;
    u_char         *p;
    uint32_t        n;
    dh_sl_batch_t  *b;

    b = ld->batch;

    if (b == NULL) {
        b = calloc(1, sizeof(dh_sl_batch_t));
        if (b == NULL) {
            ld->error = "out of memory";
            return DH_ERROR;
        }

        ld->batch = b;
    }

    need = 8 + (key->last - key->pos) + (data->last - data->pos);

    if (b->len + need > b->size) {
        size = dh_max(b->size ? b->size * 2 : DH_SL_BATCH_SIZE + 65536,
                      b->len + need);

        p = realloc(b->data, size);
        if (p == NULL) {
            ld->error = "out of memory";
            return DH_ERROR;
        }

        b->data = p;
        b->size = size;
    }

    p = b->data + b->len;

    n = (uint32_t) (key->last - key->pos);
    p = dh_cpymem(p, &n, 4);
    p = dh_cpymem(p, key->pos, n);

    n = (uint32_t) (data->last - data->pos);
    p = dh_cpymem(p, &n, 4);
    p = dh_cpymem(p, data->pos, n);

    b->len = p - b->data;
    b->rows++;
    ld->c.loaded_bytes += need - 8;

    if (b->len >= DH_SL_BATCH_SIZE) {
        return dh_sl_load_submit(ld);
    }

    return DH_OK;
}


/* the filling batch joins the queue */
static dh_int_t
dh_sl_load_submit(dh_sl_load_t *ld)
{
    dh_uint_t        n;
    dh_sl_batch_t  **q;

    if (ld->batch == NULL) {
        ld->batch = calloc(1, sizeof(dh_sl_batch_t));
        if (ld->batch == NULL) {
            ld->error = "out of memory";
            return DH_ERROR;
        }
    }

    if (ld->npending == ld->npending_max) {
        n = ld->npending_max ? ld->npending_max * 2 : 4;

        q = realloc(ld->pending, n * sizeof(dh_sl_batch_t *));
        if (q == NULL) {
            ld->error = "out of memory";
            return DH_ERROR;
        }

        ld->pending = q;
        ld->npending_max = n;
    }

    ld->pending[ld->npending++] = ld->batch;
    ld->batch = NULL;

    dh_sl_load_kick(ld);

    return ld->error ? DH_ERROR : DH_OK;
}


static void
dh_sl_load_kick(dh_sl_load_t *ld)
{
    dh_uint_t        last;
    dh_sl_batch_t   *b;

    if (ld->flushing || ld->npending == 0 || ld->error != NULL) {
        return;
    }

    b = ld->pending[0];
    ld->npending--;
    dh_memmove(ld->pending, ld->pending + 1,
               ld->npending * sizeof(dh_sl_batch_t *));

    last = (ld->finishing && ld->npending == 0 && ld->batch == NULL);

    ld->flushing = 1;
    ld->flush_start = dh_sl_now();

    if (ld->flush(ld, b, last, ld->cb_data) != DH_OK) {
        ld->flushing = 0;
        ld->error = "cannot stage rows";
    }
}


dh_int_t
dh_sl_load_feed(dh_sl_load_t *ld, u_char *p, size_t len)
{
    dh_int_t   rc;
    dh_msec_t  start;

    if (ld->error != NULL) {
        return DH_ERROR;
    }

    if (ld->npending) {
        /* a full batch waits for the flush: take nothing now */
        ld->waiting = 1;
        return DH_AGAIN;
    }

    start = dh_sl_now();
    ld->c.bytes += len;

    rc = dh_sl_reader_feed(ld->reader, p, len);

    ld->c.read_ms += dh_sl_now() - start;

    if (rc != DH_OK || ld->error != NULL) {
        if (ld->error == NULL) {
            ld->error = dh_sl_reader_error(ld->reader);
            if (ld->error == NULL) {
                ld->error = "cannot read the data";
            }
        }

        return DH_ERROR;
    }

    return DH_OK;
}


dh_int_t
dh_sl_load_finish(dh_sl_load_t *ld)
{
    dh_int_t   rc;
    dh_msec_t  start;

    if (ld->error != NULL) {
        return DH_ERROR;
    }

    start = dh_sl_now();
    rc = dh_sl_reader_finish(ld->reader);
    ld->c.read_ms += dh_sl_now() - start;

    if (rc != DH_OK || ld->error != NULL) {
        if (ld->error == NULL) {
            ld->error = dh_sl_reader_error(ld->reader);
            if (ld->error == NULL) {
                ld->error = "cannot read the data";
            }
        }

        return DH_ERROR;
    }

    ld->finishing = 1;
    ld->waiting = 1;

    if (dh_sl_load_submit(ld) != DH_OK) {
        ld->waiting = 0;
        return DH_ERROR;
    }

    if (ld->done) {
        ld->waiting = 0;
        return DH_OK;
    }

    return DH_AGAIN;
}


dh_int_t
dh_sl_load_cancel(dh_sl_load_t *ld, const char *msg)
{
    dh_uint_t  i;

    if (ld->error == NULL) {
        ld->error = msg;
    }

    for (i = 0; i < ld->npending; i++) {
        dh_sl_batch_free(ld->pending[i]);
    }

    ld->npending = 0;
    ld->waiting = 0;

    if (!ld->flushing) {
        return DH_OK;
    }

    ld->idle_wait = 1;

    return DH_AGAIN;
}


void
dh_sl_load_flushed(dh_sl_load_t *ld, dh_int_t rc, const char *msg)
{
    ld->flushing = 0;
    ld->c.write_ms += dh_sl_now() - ld->flush_start;

    if (ld->idle_wait) {
        ld->idle_wait = 0;
        ld->resume(ld, ld->cb_data);
        return;
    }

    if (rc != DH_OK && ld->error == NULL) {
        ld->error = msg ? msg : "cannot stage rows";
    }

    if (ld->error == NULL) {
        if (ld->finishing && ld->npending == 0 && ld->batch == NULL) {
            ld->done = 1;

        } else {
            dh_sl_load_kick(ld);
        }
    }

    if (!ld->waiting) {
        return;
    }

    /* resume when the queue drained into the flush, the last batch is
     * written, or the load failed */
    if (ld->error != NULL || ld->done
        || (!ld->finishing && ld->npending == 0))
    {
        ld->waiting = 0;
        ld->resume(ld, ld->cb_data);
    }
}


dh_int_t
dh_sl_load_check_ratio(dh_sl_load_t *ld)
{
    int64_t  base;

    base = ld->c.total - ld->c.unselected;

    if (ld->c.filtered == 0 || base <= 0) {
        return DH_OK;
    }

    if ((double) ld->c.filtered / (double) base
        > ld->params->max_filter_ratio)
    {
        return DH_DECLINED;
    }

    return DH_OK;
}


dh_sl_counters_t *
dh_sl_load_counters(dh_sl_load_t *ld)
{
    return &ld->c;
}


const char *
dh_sl_load_error(dh_sl_load_t *ld)
{
    return ld->error;
}


dh_uint_t
dh_sl_load_busy(dh_sl_load_t *ld)
{
    return ld->flushing;
}


dh_int_t
dh_sl_load_write_error_log(dh_sl_load_t *ld, dh_str_t *dir, dh_str_t *name)
{
    int          fd;
    u_char      *path, *p;
    ssize_t      n;
    dh_uint_t    i;
    dh_str_t    *s;

    static dh_uint_t  seq;

    if (ld->nrejected == 0) {
        return DH_DECLINED;
    }

    s = dh_psprintf(ld->pool, "error_log_%lld_%lld_%lu",
                    (long long) getpid(), (long long) time(NULL),
                    (unsigned long) ++seq);
    if (s == NULL) {
        return DH_ERROR;
    }

    path = dh_pnalloc(ld->pool, dir->len + 1 + s->len + 1);
    if (path == NULL) {
        return DH_ERROR;
    }

    p = dh_cpymem(path, dir->data, dir->len);
    *p++ = '/';
    p = dh_cpymem(p, s->data, s->len);
    *p = '\0';

    fd = open((char *) path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd == -1) {
        dh_log_error(DH_LOG_ERR, ld->log, dh_errno,
                     "open() \"%s\" failed", path);
        return DH_ERROR;
    }

    for (i = 0; i < ld->nrejected; i++) {
        n = write(fd, ld->rejected[i].data, ld->rejected[i].len);
        if (n != (ssize_t) ld->rejected[i].len) {
            dh_log_error(DH_LOG_ERR, ld->log, dh_errno,
                         "write() \"%s\" failed", path);
            (void) close(fd);
            (void) unlink((char *) path);
            return DH_ERROR;
        }
    }

    (void) close(fd);

    *name = *s;

    return DH_OK;
}


int
dh_sl_batch_apply(dh_table_t *t, DB_TXN *txn, u_char *p, size_t len)
{
    int        err;
    u_char    *last, *key, *data;
    uint32_t   klen, dlen;

    last = p + len;

    while (last - p >= 8) {
        dh_memcpy(&klen, p, 4);
        key = p + 4;

        if ((size_t) (last - key) < (size_t) klen + 4) {
            return EINVAL;
        }

        dh_memcpy(&dlen, key + klen, 4);
        data = key + klen + 4;

        if ((size_t) (last - data) < dlen) {
            return EINVAL;
        }

        err = dh_table_put(t, txn, key, klen, data, dlen);
        if (err != 0) {
            return err;
        }

        p = data + dlen;
    }

    return p == last ? 0 : EINVAL;
}

#endif /* DH_HAVE_BDB */

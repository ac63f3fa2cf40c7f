/*
 * `table_api;` (location): reads tables back over HTTP.
 *
 *     GET .../{db}/{table}/_schema    columns, types, nullability, key
 *     GET .../{db}/{table}/_count     {"count":N}
 *     GET .../{db}/{table}/_scan?limit=N&offset=N&format=json|csv
 *
 * The last three path segments name the db, the table and the operation,
 * so the location may have any prefix (/api/ in the sample conf).
 *
 * A scan streams: a storage job reads one batch (DH_TABLE_SCAN_ROWS rows
 * or DH_TABLE_SCAN_BYTES of output) with a cursor that restarts after the
 * last key it returned, the event loop sends the batch, and the next job
 * is posted only when the client took all of it.  Memory per scan is one
 * batch whatever the table's size.  The scan state is not in the request
 * pool: a request closed while a job runs (client gone, shutdown timeout)
 * leaves the state to the job's done handler, which frees it.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"

#include "dh_table.h"


#define DH_TABLE_SCAN_ROWS    1000
#define DH_TABLE_SCAN_BYTES   (256 * 1024)
#define DH_TABLE_FORMAT_JSON  0
#define DH_TABLE_FORMAT_CSV   1


typedef struct {
    dh_flag_t            enable;
} dh_http_table_loc_conf_t;


typedef struct dh_http_table_scan_s  dh_http_table_scan_t;

struct dh_http_table_scan_s {
    dh_pool_t           *pool;       /* the scan's own */
    dh_http_request_t   *r;          /* NULL once the request is gone */
    dh_table_t          *table;
    dh_storage_job_t     job;
    dh_uint_t            format;

    uint64_t             limit;      /* rows still to send */
    uint64_t             skip;       /* offset rows still to skip */
    uint64_t             sent;       /* rows sent */

    /* cursor position: the last key returned (DB_DBT_REALLOC buffers) */
    DBT                  key;
    DBT                  data;
    u_char              *last_key;
    size_t               last_key_len;
    size_t               last_key_size;

    /* the batch: filled by the job, sent by the loop */
    u_char              *out;
    size_t               out_len;
    size_t               out_size;
    dh_table_value_t    *values;

    unsigned             running:1;  /* a job is in flight */
    unsigned             eof:1;      /* the cursor reached the end */
    unsigned             failed:1;   /* out of memory in the job */
};


static void *dh_http_table_create_loc_conf(dh_conf_t *cf);
static char *dh_http_table_merge_loc_conf(dh_conf_t *cf, void *parent,
    void *child);
static char *dh_http_table_api(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static dh_int_t dh_http_table_handler(dh_http_request_t *r);
static dh_int_t dh_http_table_schema(dh_http_request_t *r, dh_table_t *t);
static dh_int_t dh_http_table_count(dh_http_request_t *r, dh_table_t *t);
static dh_int_t dh_http_table_scan(dh_http_request_t *r, dh_table_t *t);
static dh_int_t dh_http_table_error(dh_http_request_t *r, dh_uint_t status,
    const char *message, dh_str_t *name);
static dh_int_t dh_http_table_send(dh_http_request_t *r, dh_uint_t status,
    u_char *data, size_t len);
static void dh_http_table_free(dh_http_table_scan_t *s);


static dh_command_t  dh_http_table_commands[] = {

    { dh_string("table_api"),
      DH_HTTP_LOC_CONF|DH_CONF_NOARGS,
      dh_http_table_api,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_table_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    dh_http_table_create_loc_conf,         /* create location configuration */
    dh_http_table_merge_loc_conf           /* merge location configuration */
};


dh_module_t  dh_http_table_module = {
    DH_MODULE_V1,
    &dh_http_table_module_ctx,             /* module context */
    dh_http_table_commands,                /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    DH_MODULE_V1_PADDING
};


static const char  *dh_http_table_type_names[] = {
    "", "tinyint", "smallint", "int", "bigint", "float", "double", "decimal",
    "boolean", "char", "varchar", "string", "date", "datetime", "json"
};


/* ---- configuration ----------------------------------------------------- */


static void *
dh_http_table_create_loc_conf(dh_conf_t *cf)
{
    dh_http_table_loc_conf_t  *tlcf;

    tlcf = dh_pcalloc(cf->pool, sizeof(dh_http_table_loc_conf_t));
    if (tlcf == NULL) {
        return NULL;
    }

    tlcf->enable = DH_CONF_UNSET;

    return tlcf;
}


static char *
dh_http_table_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_table_loc_conf_t  *prev = parent;
    dh_http_table_loc_conf_t  *conf = child;

    dh_conf_merge_value(conf->enable, prev->enable, 0);

    return DH_CONF_OK;
}


static char *
dh_http_table_api(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_table_loc_conf_t  *tlcf = conf;

    dh_http_core_loc_conf_t  *clcf;

    if (tlcf->enable != DH_CONF_UNSET) {
        return "is duplicate";
    }

    tlcf->enable = 1;

    clcf = dh_http_conf_get_module_loc_conf(cf, dh_http_core_module);
    clcf->handler = dh_http_table_handler;

    return DH_CONF_OK;
}


/* ---- request ------------------------------------------------------------ */


/* The segment ending at `end` (exclusive), moving *end before it. */
static dh_int_t
dh_http_table_segment(u_char *start, u_char **end, dh_str_t *seg)
{
    u_char  *p;

    p = *end;

    while (p > start && p[-1] != '/') {
        p--;
    }

    if (p == *end || p == start) {
        return DH_ERROR;
    }

    seg->data = p;
    seg->len = *end - p;
    *end = p - 1;

    return DH_OK;
}


static dh_int_t
dh_http_table_handler(dh_http_request_t *r)
{
    u_char      *end;
    dh_int_t     rc;
    dh_str_t     op, db, name;
    dh_table_t  *t;

    if (!(r->method & (DH_HTTP_GET|DH_HTTP_HEAD))) {
        return dh_http_table_error(r, DH_HTTP_NOT_ALLOWED,
                                   "only GET and HEAD are allowed", NULL);
    }

    rc = dh_http_discard_request_body(r);
    if (rc != DH_OK) {
        return rc;
    }

    end = r->uri.data + r->uri.len;

    if (dh_http_table_segment(r->uri.data, &end, &op) != DH_OK
        || dh_http_table_segment(r->uri.data, &end, &name) != DH_OK
        || dh_http_table_segment(r->uri.data, &end, &db) != DH_OK)
    {
        return dh_http_table_error(r, DH_HTTP_NOT_FOUND,
                                   "expected /{db}/{table}/_scan, _count "
                                   "or _schema", NULL);
    }

    t = dh_table_find((dh_cycle_t *) dh_cycle, &db, &name);

    if (t == NULL) {
        name.data = db.data;
        name.len = (op.data - 1) - db.data;
        return dh_http_table_error(r, DH_HTTP_NOT_FOUND, "unknown table",
                                   &name);
    }

    if (dh_str_caseeq(&op, "_schema")) {
        return dh_http_table_schema(r, t);
    }

    if (dh_str_caseeq(&op, "_count")) {
        return dh_http_table_count(r, t);
    }

    if (dh_str_caseeq(&op, "_scan")) {
        return dh_http_table_scan(r, t);
    }

    return dh_http_table_error(r, DH_HTTP_NOT_FOUND, "unknown operation",
                               &op);
}


static dh_int_t
dh_http_table_send(dh_http_request_t *r, dh_uint_t status, u_char *data,
    size_t len)
{
    dh_int_t    rc;
    dh_buf_t   *b;
    dh_chain_t  cl;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    dh_str_set(&r->headers_out.content_type, "application/json");

    rc = dh_http_send_header(r);

    if (rc == DH_ERROR || rc > DH_OK || r->header_only) {
        return rc;
    }

    b = dh_calloc_buf(r->pool);
    if (b == NULL) {
        return DH_ERROR;
    }

    b->memory = 1;
    b->last_buf = 1;
    b->pos = data;
    b->last = data + len;

    cl.buf = b;
    cl.next = NULL;

    return dh_http_output_filter(r, &cl);
}


static dh_int_t
dh_http_table_error(dh_http_request_t *r, dh_uint_t status,
    const char *message, dh_str_t *name)
{
    u_char  *p, *q;
    size_t   len;

    len = sizeof("{\"status\":000,\"message\":\"\"}") - 1 + strlen(message)
          + (name ? sizeof(": ") - 1 + dh_escape_json(NULL, name->data,
                                                       name->len) : 0);

    p = dh_pnalloc(r->pool, len);
    if (p == NULL) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    q = dh_slprintf(p, p + len, "{\"status\":%03u,\"message\":\"%s",
                    (unsigned) status, message);

    if (name) {
        q = dh_cpymem(q, ": ", 2);
        q += dh_escape_json(q, name->data, name->len);
    }

    q = dh_cpymem(q, "\"}", 2);

    return dh_http_table_send(r, status, p, q - p);
}


/* ---- _schema ------------------------------------------------------------ */


static dh_int_t
dh_http_table_schema(dh_http_request_t *r, dh_table_t *t)
{
    size_t              size;
    u_char             *p, *q, *last;
    dh_uint_t           i;
    dh_table_column_t  *col;

    col = t->columns.elts;

    size = 128 + t->full.len * 2;
    for (i = 0; i < t->columns.nelts; i++) {
        size += 128 + col[i].name.len * 2;
    }

    p = dh_pnalloc(r->pool, size);
    if (p == NULL) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = p + size;

    q = dh_slprintf(p, last, "{\"db\":\"%.*s\",\"table\":\"%.*s\","
                    "\"columns\":[", DH_STR_FMT(t->db), DH_STR_FMT(t->name));

    for (i = 0; i < t->columns.nelts; i++) {
        q = dh_slprintf(q, last, "%s{\"name\":\"%.*s\",\"type\":\"%s",
                        i ? "," : "", DH_STR_FMT(col[i].name),
                        dh_http_table_type_names[col[i].type]);

        if (col[i].type == DH_TABLE_CHAR || col[i].type == DH_TABLE_VARCHAR) {
            q = dh_slprintf(q, last, "(%lu)", (unsigned long) col[i].length);

        } else if (col[i].type == DH_TABLE_DECIMAL) {
            q = dh_slprintf(q, last, "(%lu,%lu)",
                            (unsigned long) col[i].precision,
                            (unsigned long) col[i].scale);
        }

        q = dh_slprintf(q, last, "\",\"nullable\":%s,\"key\":%s}",
                        col[i].nullable ? "true" : "false",
                        col[i].key ? "true" : "false");
    }

    q = dh_slprintf(q, last, "],\"key\":[");

    for (i = 0; i < t->nkeys; i++) {
        q = dh_slprintf(q, last, "%s\"%.*s\"", i ? "," : "",
                        DH_STR_FMT(col[t->keys[i]].name));
    }

    q = dh_slprintf(q, last, "],\"append\":%s}",
                    t->nkeys ? "false" : "true");

    return dh_http_table_send(r, DH_HTTP_OK, p, q - p);
}


/* ---- jobs ------------------------------------------------------------------ */


/* The request pool goes away: a job still running keeps the state and
 * its done handler frees it. */
static void
dh_http_table_cleanup(void *data)
{
    dh_http_table_scan_t  *s = data;

    s->r = NULL;

    if (!s->running) {
        dh_http_table_free(s);
    }
}


static void
dh_http_table_free(dh_http_table_scan_t *s)
{
    free(s->out);
    free(s->key.data);
    free(s->data.data);
    free(s->last_key);
    free(s->values);

    if (s->pool) {
        dh_destroy_pool(s->pool);
    }

    free(s);
}


static dh_http_table_scan_t *
dh_http_table_state(dh_http_request_t *r, dh_table_t *t,
    dh_storage_work_pt work, dh_storage_done_pt done)
{
    dh_pool_cleanup_t     *cln;
    dh_http_table_scan_t  *s;

    cln = dh_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    s = calloc(1, sizeof(dh_http_table_scan_t));
    if (s == NULL) {
        return NULL;
    }

    s->values = calloc(t->columns.nelts, sizeof(dh_table_value_t));
    if (s->values == NULL) {
        free(s);
        return NULL;
    }

    s->r = r;
    s->table = t;
    s->key.flags = DB_DBT_REALLOC;
    s->data.flags = DB_DBT_REALLOC;
    s->job.work = work;
    s->job.done = done;
    s->job.data = s;
    s->job.flags = DH_STORAGE_JOB_READONLY;
    s->job.log = r->connection->log;

    cln->handler = dh_http_table_cleanup;
    cln->data = s;

    return s;
}


/* Each job gets a small pool for its thread task, freed in done: a scan
 * of many batches never grows. */
static dh_int_t
dh_http_table_post(dh_http_table_scan_t *s)
{
    s->pool = dh_create_pool(1024, s->job.log);
    if (s->pool == NULL) {
        return DH_ERROR;
    }

    if (dh_storage_post((dh_cycle_t *) dh_cycle, s->pool, &s->job) != DH_OK) {
        dh_destroy_pool(s->pool);
        s->pool = NULL;
        return DH_ERROR;
    }

    s->running = 1;

    return DH_OK;
}


/* done's common start: NULL when the request is gone (state freed). */
static dh_http_request_t *
dh_http_table_job_done(dh_http_table_scan_t *s)
{
    s->running = 0;
    dh_destroy_pool(s->pool);
    s->pool = NULL;

    if (s->r == NULL) {
        dh_http_table_free(s);
        return NULL;
    }

    return s->r;
}


/* ---- _count --------------------------------------------------------------- */


static int
dh_http_table_count_work(dh_storage_job_t *job, DB_TXN *txn)
{
    DB                    *db;
    int                    err;
    DB_BTREE_STAT         *sp;
    dh_http_table_scan_t  *s;

    s = job->data;
    db = dh_storage_db_handle(s->table->data);

    if (db == NULL) {
        return EINVAL;
    }

    /* a full stat walks the tree; DB_FAST_STAT may give a stale count */
    err = db->stat(db, txn, &sp, 0);
    if (err != 0) {
        return err;
    }

    s->sent = sp->bt_nkeys;
    free(sp);

    return 0;
}


static void
dh_http_table_count_done(dh_storage_job_t *job)
{
    u_char                *p, *q;
    dh_http_request_t     *r;
    dh_http_table_scan_t  *s;

    s = job->data;

    r = dh_http_table_job_done(s);
    if (r == NULL) {
        return;
    }

    if (job->err != 0) {
        dh_http_finalize_request(r,
            dh_http_table_error(r, DH_HTTP_INTERNAL_SERVER_ERROR,
                                dh_storage_strerror(job->err), NULL));
        return;
    }

    p = dh_pnalloc(r->pool, 48);
    if (p == NULL) {
        dh_http_finalize_request(r, DH_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    q = dh_slprintf(p, p + 48, "{\"count\":%llu}",
                    (unsigned long long) s->sent);

    dh_http_finalize_request(r, dh_http_table_send(r, DH_HTTP_OK, p, q - p));
}


static dh_int_t
dh_http_table_count(dh_http_request_t *r, dh_table_t *t)
{
    dh_http_table_scan_t  *s;

    s = dh_http_table_state(r, t, dh_http_table_count_work,
                            dh_http_table_count_done);
    if (s == NULL) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (dh_http_table_post(s) != DH_OK) {
        return dh_http_table_error(r, DH_HTTP_SERVICE_UNAVAILABLE,
                                   "storage is busy", NULL);
    }

    return DH_DONE;
}


/* ---- _scan ---------------------------------------------------------------- */


/* Query argument `name` (first occurrence), not decoded: the values we
 * take are numbers and keywords. */
static dh_int_t
dh_http_table_arg(dh_http_request_t *r, const char *name, dh_str_t *value)
{
    u_char  *p, *last, *amp;
    size_t   len;

    len = strlen(name);
    p = r->args.data;
    last = p + r->args.len;

    while (p < last) {
        amp = memchr(p, '&', last - p);
        if (amp == NULL) {
            amp = last;
        }

        if ((size_t) (amp - p) > len && p[len] == '='
            && dh_strncmp(p, name, len) == 0)
        {
            value->data = p + len + 1;
            value->len = amp - value->data;
            return DH_OK;
        }

        p = amp + 1;
    }

    return DH_DECLINED;
}


static dh_int_t
dh_http_table_arg_num(dh_http_request_t *r, const char *name, uint64_t *n)
{
    off_t     v;
    dh_str_t  value;

    if (dh_http_table_arg(r, name, &value) != DH_OK) {
        return DH_OK;
    }

    v = dh_atoof(value.data, value.len);
    if (v == DH_ERROR) {
        return DH_ERROR;
    }

    *n = (uint64_t) v;

    return DH_OK;
}


static dh_int_t
dh_http_table_reserve(dh_http_table_scan_t *s, size_t n)
{
    size_t   size;
    u_char  *p;

    if (s->out_size - s->out_len >= n) {
        return DH_OK;
    }

    size = s->out_size ? s->out_size : 64 * 1024;
    while (size - s->out_len < n) {
        size *= 2;
    }

    p = realloc(s->out, size);
    if (p == NULL) {
        return DH_ERROR;
    }

    s->out = p;
    s->out_size = size;

    return DH_OK;
}


static dh_int_t
dh_http_table_put(dh_http_table_scan_t *s, const void *data, size_t len)
{
    if (dh_http_table_reserve(s, len) != DH_OK) {
        return DH_ERROR;
    }

    dh_memcpy(s->out + s->out_len, data, len);
    s->out_len += len;

    return DH_OK;
}


static dh_uint_t
dh_http_table_quoted_type(dh_table_type_e type)
{
    return type == DH_TABLE_CHAR || type == DH_TABLE_VARCHAR
           || type == DH_TABLE_STRING || type == DH_TABLE_DATE
           || type == DH_TABLE_DATETIME;
}


static dh_int_t
dh_http_table_json_value(dh_http_table_scan_t *s, dh_table_column_t *col,
    dh_table_value_t *v)
{
    u_char  *p, *end;
    size_t   n;

    if (v->null) {
        return dh_http_table_put(s, "null", 4);
    }

    n = dh_table_value_text_len(col, v);

    if (!dh_http_table_quoted_type(col->type)) {
        if (dh_http_table_reserve(s, n) != DH_OK) {
            return DH_ERROR;
        }

        end = dh_table_value_text(col, v, s->out + s->out_len);
        s->out_len = end - s->out;
        return DH_OK;
    }

    if (col->type == DH_TABLE_DATE || col->type == DH_TABLE_DATETIME) {
        if (dh_http_table_reserve(s, n + 2) != DH_OK) {
            return DH_ERROR;
        }

        p = s->out + s->out_len;
        *p++ = '"';
        p = dh_table_value_text(col, v, p);
        *p++ = '"';
        s->out_len = p - s->out;
        return DH_OK;
    }

    n = dh_escape_json(NULL, v->s.data, v->s.len);

    if (dh_http_table_reserve(s, n + 2) != DH_OK) {
        return DH_ERROR;
    }

    p = s->out + s->out_len;
    *p++ = '"';
    p += dh_escape_json(p, v->s.data, v->s.len);
    *p++ = '"';
    s->out_len = p - s->out;

    return DH_OK;
}


/* RFC 4180: a field with a comma, quote, CR or LF is quoted and its
 * quotes doubled; null is \N (as Stream Load reads it), so a string that
 * is literally \N is quoted too. */
static dh_int_t
dh_http_table_csv_value(dh_http_table_scan_t *s, dh_table_column_t *col,
    dh_table_value_t *v)
{
    u_char     *p, *end;
    size_t      i, n, quotes;
    dh_uint_t   quote;

    if (v->null) {
        return dh_http_table_put(s, "\\N", 2);
    }

    n = dh_table_value_text_len(col, v);

    if (dh_http_table_reserve(s, n) != DH_OK) {
        return DH_ERROR;
    }

    p = s->out + s->out_len;
    end = dh_table_value_text(col, v, p);
    n = end - p;

    quote = (n == 2 && p[0] == '\\' && p[1] == 'N');
    quotes = 0;

    for (i = 0; i < n; i++) {
        if (p[i] == '"') {
            quotes++;
        }
        if (p[i] == ',' || p[i] == '"' || p[i] == '\r' || p[i] == '\n') {
            quote = 1;
        }
    }

    if (!quote) {
        s->out_len += n;
        return DH_OK;
    }

    /* shift the text right to make room for the quoting */
    if (dh_http_table_reserve(s, n + quotes + 2) != DH_OK) {
        return DH_ERROR;
    }

    p = s->out + s->out_len;
    end = p + n + quotes + 2;
    end[-1] = '"';

    for (i = n, end -= 2; i > 0; i--) {
        *end-- = p[i - 1];
        if (p[i - 1] == '"') {
            *end-- = '"';
        }
    }

    p[0] = '"';
    s->out_len += n + quotes + 2;

    return DH_OK;
}


static dh_int_t
dh_http_table_row(dh_http_table_scan_t *s, uint64_t nth)
{
    dh_uint_t           i;
    dh_table_t         *t;
    dh_table_column_t  *col;

    t = s->table;
    col = t->columns.elts;

    if (s->format == DH_TABLE_FORMAT_JSON) {
        if (dh_http_table_put(s, nth ? ",{" : "{", nth ? 2 : 1) != DH_OK) {
            return DH_ERROR;
        }

        for (i = 0; i < t->columns.nelts; i++) {
            if ((i && dh_http_table_put(s, ",", 1) != DH_OK)
                || dh_http_table_put(s, "\"", 1) != DH_OK
                || dh_http_table_put(s, col[i].name.data, col[i].name.len)
                   != DH_OK
                || dh_http_table_put(s, "\":", 2) != DH_OK
                || dh_http_table_json_value(s, &col[i], &s->values[i])
                   != DH_OK)
            {
                return DH_ERROR;
            }
        }

        return dh_http_table_put(s, "}", 1);
    }

    for (i = 0; i < t->columns.nelts; i++) {
        if ((i && dh_http_table_put(s, ",", 1) != DH_OK)
            || dh_http_table_csv_value(s, &col[i], &s->values[i]) != DH_OK)
        {
            return DH_ERROR;
        }
    }

    return dh_http_table_put(s, "\n", 1);
}


static dh_int_t
dh_http_table_head(dh_http_table_scan_t *s)
{
    dh_uint_t           i;
    dh_table_column_t  *col;

    if (s->format == DH_TABLE_FORMAT_JSON) {
        return dh_http_table_put(s, "[", 1);
    }

    col = s->table->columns.elts;

    for (i = 0; i < s->table->columns.nelts; i++) {
        if ((i && dh_http_table_put(s, ",", 1) != DH_OK)
            || dh_http_table_put(s, col[i].name.data, col[i].name.len)
               != DH_OK)
        {
            return DH_ERROR;
        }
    }

    return dh_http_table_put(s, "\n", 1);
}


/* Restarts after the last key sent.  Everything it changes in s is
 * committed at its end, so a deadlock retry starts the batch over. */
static int
dh_http_table_scan_work(dh_storage_job_t *job, DB_TXN *txn)
{
    DB                    *db;
    DBC                   *c;
    int                    err;
    void                  *p;
    uint64_t               skip, limit, rows, visited;
    u_int32_t              flags;
    dh_http_table_scan_t  *s;

    s = job->data;
    db = dh_storage_db_handle(s->table->data);

    if (db == NULL) {
        return EINVAL;
    }

    s->out_len = 0;
    s->failed = 0;
    skip = s->skip;
    limit = s->limit;
    rows = 0;
    visited = 0;

    if (s->sent == 0 && s->last_key == NULL && dh_http_table_head(s) != DH_OK)
    {
        goto nomem;
    }

    err = db->cursor(db, txn, &c, 0);
    if (err != 0) {
        return err;
    }

    flags = DB_FIRST;

    if (s->last_key) {
        p = realloc(s->key.data, s->last_key_len);
        if (p == NULL) {
            (void) c->close(c);
            goto nomem;
        }

        s->key.data = p;
        s->key.size = (u_int32_t) s->last_key_len;
        dh_memcpy(p, s->last_key, s->last_key_len);
        flags = DB_SET_RANGE;
    }

    s->eof = 0;

    while (limit > 0) {
        err = c->get(c, &s->key, &s->data, flags);

        if (err == DB_NOTFOUND) {
            s->eof = 1;
            break;
        }

        if (err != 0) {
            (void) c->close(c);
            return err;
        }

        if (flags == DB_SET_RANGE) {
            flags = DB_NEXT;

            if (s->key.size == s->last_key_len
                && dh_memcmp(s->key.data, s->last_key, s->last_key_len) == 0)
            {
                continue;                 /* sent by the last batch */
            }
        }

        flags = DB_NEXT;
        visited++;

        if (skip) {
            skip--;

        } else {
            if (dh_table_row_decode(s->table, s->data.data, s->data.size,
                                    s->values)
                != DH_OK)
            {
                dh_log_error(DH_LOG_ALERT, job->log, 0,
                             "table \"%.*s\": a stored row does not match "
                             "the declared columns",
                             DH_STR_FMT(s->table->full));
                (void) c->close(c);
                return DB_NOTFOUND;
            }

            if (dh_http_table_row(s, s->sent + rows) != DH_OK) {
                (void) c->close(c);
                goto nomem;
            }

            rows++;
            limit--;
        }

        if (rows >= DH_TABLE_SCAN_ROWS || s->out_len >= DH_TABLE_SCAN_BYTES
            || visited >= 100 * DH_TABLE_SCAN_ROWS)
        {
            break;
        }
    }

    err = c->close(c);
    if (err != 0) {
        return err;
    }

    if (limit == 0) {
        s->eof = 1;
    }

    if (s->eof && s->format == DH_TABLE_FORMAT_JSON
        && dh_http_table_put(s, "]", 1) != DH_OK)
    {
        goto nomem;
    }

    /* commit: the position, the counters */
    if (!s->eof && visited) {
        if (s->last_key_size < s->key.size) {
            p = realloc(s->last_key, s->key.size);
            if (p == NULL) {
                goto nomem;
            }
            s->last_key = p;
            s->last_key_size = s->key.size;
        }

        dh_memcpy(s->last_key, s->key.data, s->key.size);
        s->last_key_len = s->key.size;
    }

    s->skip = skip;
    s->limit = limit;
    s->sent += rows;

    return 0;

nomem:

    s->failed = 1;
    return DH_STORAGE_ABORT;
}


static void
dh_http_table_scan_next(dh_http_request_t *r, dh_http_table_scan_t *s)
{
    if (dh_http_table_post(s) != DH_OK) {
        dh_http_terminate_request(r, DH_ERROR);
    }
}


/* The client took the last batch (or part of it): send the rest, then
 * read the next batch. */
static void
dh_http_table_scan_write(dh_http_request_t *r)
{
    dh_event_t               *wev;
    dh_http_table_scan_t     *s;
    dh_http_core_loc_conf_t  *clcf;

    s = dh_http_get_module_ctx(r, dh_http_table_module);
    wev = r->connection->write;

    if (wev->timedout) {
        dh_log_error(DH_LOG_INFO, r->connection->log, DH_ETIMEDOUT,
                     "client timed out");
        dh_http_terminate_request(r, DH_HTTP_REQUEST_TIME_OUT);
        return;
    }

    if (r->out && dh_http_output_filter(r, NULL) == DH_ERROR) {
        dh_http_terminate_request(r, DH_ERROR);
        return;
    }

    if (r->out) {
        clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);
        wev->cancelable = 0;
        dh_event_add_timer(wev, clcf->send_timeout);
        return;
    }

    dh_event_del_timer(wev);
    r->write_event_handler = dh_http_request_empty_handler;

    dh_http_table_scan_next(r, s);
}


static void
dh_http_table_scan_done(dh_storage_job_t *job)
{
    dh_int_t               rc;
    dh_buf_t              *b;
    dh_chain_t             cl;
    dh_http_request_t     *r;
    dh_http_table_scan_t  *s;

    s = job->data;

    r = dh_http_table_job_done(s);
    if (r == NULL) {
        return;
    }

    if (job->err != 0 || s->failed) {
        if (!r->header_sent) {
            dh_http_finalize_request(r,
                dh_http_table_error(r, DH_HTTP_INTERNAL_SERVER_ERROR,
                                    s->failed ? "out of memory"
                                    : dh_storage_strerror(job->err), NULL));
            return;
        }

        /* mid-stream: only closing tells the client it is incomplete */
        dh_http_terminate_request(r, DH_ERROR);
        return;
    }

    if (!r->header_sent) {
        r->headers_out.status = DH_HTTP_OK;
        r->headers_out.content_length_n = -1;

        if (s->format == DH_TABLE_FORMAT_JSON) {
            dh_str_set(&r->headers_out.content_type, "application/json");

        } else {
            dh_str_set(&r->headers_out.content_type,
                       "text/csv; charset=utf-8");
        }

        rc = dh_http_send_header(r);

        if (rc == DH_ERROR || rc > DH_OK || r->header_only) {
            dh_http_finalize_request(r, rc);
            return;
        }
    }

    if (s->out_len == 0 && !s->eof) {
        dh_http_table_scan_next(r, s);    /* only skipped rows so far */
        return;
    }

    b = dh_calloc_buf(r->pool);
    if (b == NULL) {
        dh_http_terminate_request(r, DH_ERROR);
        return;
    }

    /* the batch stays in s->out until the client took it all */
    b->memory = 1;
    b->pos = s->out;
    b->last = s->out + s->out_len;
    b->last_buf = s->eof;
    b->flush = 1;

    cl.buf = b;
    cl.next = NULL;

    rc = dh_http_output_filter(r, &cl);

    if (rc == DH_ERROR) {
        dh_http_terminate_request(r, DH_ERROR);
        return;
    }

    if (s->eof) {
        dh_http_finalize_request(r, rc);
        return;
    }

    r->write_event_handler = dh_http_table_scan_write;
    dh_http_table_scan_write(r);
}


static dh_int_t
dh_http_table_scan(dh_http_request_t *r, dh_table_t *t)
{
    uint64_t               limit, offset;
    dh_str_t               format;
    dh_uint_t              fmt;
    dh_http_table_scan_t  *s;

    limit = UINT64_MAX;
    offset = 0;
    fmt = DH_TABLE_FORMAT_JSON;

    if (dh_http_table_arg_num(r, "limit", &limit) != DH_OK) {
        return dh_http_table_error(r, DH_HTTP_BAD_REQUEST,
                                   "invalid limit", NULL);
    }

    if (dh_http_table_arg_num(r, "offset", &offset) != DH_OK) {
        return dh_http_table_error(r, DH_HTTP_BAD_REQUEST,
                                   "invalid offset", NULL);
    }

    if (dh_http_table_arg(r, "format", &format) == DH_OK) {
        if (dh_str_caseeq(&format, "csv")) {
            fmt = DH_TABLE_FORMAT_CSV;

        } else if (!dh_str_caseeq(&format, "json")) {
            return dh_http_table_error(r, DH_HTTP_BAD_REQUEST,
                                       "invalid format (json or csv)", NULL);
        }
    }

    s = dh_http_table_state(r, t, dh_http_table_scan_work,
                            dh_http_table_scan_done);
    if (s == NULL) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    s->format = fmt;
    s->limit = limit;
    s->skip = offset;

    dh_http_set_ctx(r, s, dh_http_table_module);

    if (dh_http_table_post(s) != DH_OK) {
        return dh_http_table_error(r, DH_HTTP_SERVICE_UNAVAILABLE,
                                   "storage is busy", NULL);
    }

    return DH_DONE;
}

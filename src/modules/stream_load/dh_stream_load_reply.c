/*
 * The Stream Load JSON replies, laid out as rapidjson's PrettyWriter does
 * (StarRocks' BE): one member a line, 4-space indent, "key": value, no
 * newline after the closing brace.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"

#if (DH_HAVE_BDB)

#include "dh_stream_load.h"


static void dh_sl_json_raw(dh_sl_json_t *j, u_char *p, size_t len);
static void dh_sl_json_key(dh_sl_json_t *j, const char *key);
static void dh_sl_json_quoted(dh_sl_json_t *j, u_char *p, size_t len);


static void
dh_sl_json_raw(dh_sl_json_t *j, u_char *p, size_t len)
{
    size_t   size;
    u_char  *n;

    if (j->failed || len == 0) {
        return;
    }

    if (j->len + len > j->size) {
        size = dh_max(j->size * 2, j->len + len + 256);

        n = dh_pnalloc(j->pool, size);
        if (n == NULL) {
            j->failed = 1;
            return;
        }

        if (j->len) {
            dh_memcpy(n, j->data, j->len);
        }

        j->data = n;
        j->size = size;
    }

    dh_memcpy(j->data + j->len, p, len);
    j->len += len;
}


void
dh_sl_json_begin(dh_sl_json_t *j, dh_pool_t *pool)
{
    dh_memzero(j, sizeof(dh_sl_json_t));
    j->pool = pool;
    dh_sl_json_raw(j, (u_char *) "{", 1);
}


static void
dh_sl_json_key(dh_sl_json_t *j, const char *key)
{
    if (j->members++) {
        dh_sl_json_raw(j, (u_char *) ",", 1);
    }

    dh_sl_json_raw(j, (u_char *) "\n    ", 5);
    dh_sl_json_quoted(j, (u_char *) key, dh_strlen(key));
    dh_sl_json_raw(j, (u_char *) ": ", 2);
}


static void
dh_sl_json_quoted(dh_sl_json_t *j, u_char *p, size_t len)
{
    size_t   n;
    u_char  *e;

    dh_sl_json_raw(j, (u_char *) "\"", 1);

    n = dh_escape_json(NULL, p, len);

    if (n == len) {
        dh_sl_json_raw(j, p, len);

    } else {
        e = dh_pnalloc(j->pool, n);
        if (e == NULL) {
            j->failed = 1;
            return;
        }

        dh_escape_json(e, p, len);
        dh_sl_json_raw(j, e, n);
    }

    dh_sl_json_raw(j, (u_char *) "\"", 1);
}


void
dh_sl_json_str(dh_sl_json_t *j, const char *key, dh_str_t *v)
{
    dh_sl_json_key(j, key);
    dh_sl_json_quoted(j, v->data, v->len);
}


void
dh_sl_json_cstr(dh_sl_json_t *j, const char *key, const char *v)
{
    dh_sl_json_key(j, key);
    dh_sl_json_quoted(j, (u_char *) v, dh_strlen(v));
}


void
dh_sl_json_int(dh_sl_json_t *j, const char *key, int64_t v)
{
    u_char  buf[32], *p;

    dh_sl_json_key(j, key);
    p = dh_slprintf(buf, buf + sizeof(buf), "%lld", (long long) v);
    dh_sl_json_raw(j, buf, p - buf);
}


void
dh_sl_json_bool(dh_sl_json_t *j, const char *key, dh_uint_t v)
{
    dh_sl_json_key(j, key);

    if (v) {
        dh_sl_json_raw(j, (u_char *) "true", 4);
    } else {
        dh_sl_json_raw(j, (u_char *) "false", 5);
    }
}


dh_int_t
dh_sl_json_end(dh_sl_json_t *j, dh_str_t *out)
{
    if (j->members) {
        dh_sl_json_raw(j, (u_char *) "\n}", 2);
    } else {
        dh_sl_json_raw(j, (u_char *) "}", 1);
    }

    if (j->failed) {
        return DH_ERROR;
    }

    out->data = j->data;
    out->len = j->len;

    return DH_OK;
}


dh_int_t
dh_sl_reply_json(dh_pool_t *pool, dh_sl_reply_t *rp, dh_str_t *out)
{
    dh_sl_json_t  j;

    static const char  *status[] = {
        "Success", "Fail", "Label Already Exists", "Publish Timeout"
    };

    dh_sl_json_begin(&j, pool);

    dh_sl_json_int(&j, "TxnId", rp->txn_id);
    dh_sl_json_str(&j, "Label", &rp->label);
    dh_sl_json_cstr(&j, "Status", status[rp->status]);

    if (rp->status == DH_SL_STATUS_LABEL_EXISTS) {
        dh_sl_json_str(&j, "ExistingJobStatus", &rp->existing);
    }

    dh_sl_json_str(&j, "Message", &rp->message);
    dh_sl_json_int(&j, "NumberTotalRows", rp->c.total);
    dh_sl_json_int(&j, "NumberLoadedRows", rp->c.loaded);
    dh_sl_json_int(&j, "NumberFilteredRows", rp->c.filtered);
    dh_sl_json_int(&j, "NumberUnselectedRows", rp->c.unselected);
    dh_sl_json_int(&j, "LoadBytes", rp->c.bytes);
    dh_sl_json_int(&j, "LoadTimeMs", (int64_t) rp->load_ms);
    dh_sl_json_int(&j, "BeginTxnTimeMs", (int64_t) rp->begin_ms);
    dh_sl_json_int(&j, "StreamLoadPlanTimeMs", (int64_t) rp->plan_ms);
    dh_sl_json_int(&j, "ReadDataTimeMs", (int64_t) rp->c.read_ms);
    dh_sl_json_int(&j, "WriteDataTimeMs", (int64_t) rp->c.write_ms);
    dh_sl_json_int(&j, "CommitAndPublishTimeMs", (int64_t) rp->commit_ms);

    if (rp->error_url.len) {
        dh_sl_json_str(&j, "ErrorURL", &rp->error_url);
    }

    return dh_sl_json_end(&j, out);
}


dh_int_t
dh_sl_send_json(dh_http_request_t *r, dh_str_t *body)
{
    return dh_sl_send_json_status(r, DH_HTTP_OK, body);
}


dh_int_t
dh_sl_send_json_status(dh_http_request_t *r, dh_uint_t status,
    dh_str_t *body)
{
    dh_int_t    rc;
    dh_buf_t   *b;
    dh_chain_t  cl;

    r->headers_out.status = status;
    r->headers_out.content_length_n = body->len;
    dh_str_set(&r->headers_out.content_type, "application/json");

    rc = dh_http_send_header(r);

    if (rc == DH_ERROR || rc > DH_OK || r->header_only) {
        return rc;
    }

    b = dh_calloc_buf(r->pool);
    if (b == NULL) {
        return DH_ERROR;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    cl.buf = b;
    cl.next = NULL;

    return dh_http_output_filter(r, &cl);
}

#endif /* DH_HAVE_BDB */

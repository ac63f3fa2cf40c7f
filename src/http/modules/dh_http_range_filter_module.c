/*
 * Byte ranges (RFC 9110 section 14).
 *
 * A handler that can serve any part of its body sets r->allow_ranges
 * before sending the header; this filter then adds "Accept-Ranges: bytes"
 * and, for a GET or HEAD with one satisfiable "Range: bytes=" range, turns
 * the 200 into a 206 and trims the body buffers (memory or file) in place
 * as they pass, so it works for in-memory bodies, sendfile and read-and-
 * send alike.  A request with several ranges gets the whole 200: the
 * multipart/byteranges form is not implemented.  When no range can be
 * satisfied the answer is 416 with "Content-Range: bytes * / size".
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


typedef struct {
    off_t          start;           /* first byte wanted */
    off_t          end;             /* one past the last byte wanted */
    off_t          offset;          /* body bytes seen so far */
    unsigned       discard:1;       /* 416: the body is not sent */
    unsigned       last:1;          /* the range's last byte went on */
} dh_http_range_ctx_t;


#define DH_HTTP_RANGE_IGNORE   0    /* serve the whole body */
#define DH_HTTP_RANGE_ONE      1
#define DH_HTTP_RANGE_NONE     2    /* unsatisfiable */


static dh_int_t dh_http_range_filter_init(dh_conf_t *cf);
static dh_int_t dh_http_range_header_filter(dh_http_request_t *r);
static dh_int_t dh_http_range_body_filter(dh_http_request_t *r,
    dh_chain_t *in);


static dh_http_module_t  dh_http_range_filter_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_range_filter_init,             /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


dh_module_t  dh_http_range_filter_module = {
    DH_MODULE_V1,
    &dh_http_range_filter_module_ctx,      /* module context */
    NULL,                                  /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


static dh_http_output_header_filter_pt  dh_http_next_header_filter;
static dh_http_output_body_filter_pt    dh_http_next_body_filter;


/* A decimal number of at most 18 digits at *pp; -1 when there is none. */
static off_t
dh_http_range_number(u_char **pp, u_char *last)
{
    u_char  *p;
    off_t    n;

    p = *pp;
    n = 0;

    if (p == last || *p < '0' || *p > '9') {
        return -1;
    }

    while (p < last && *p >= '0' && *p <= '9') {
        if (p - *pp >= 18) {
            return -1;
        }

        n = n * 10 + (*p++ - '0');
    }

    *pp = p;

    return n;
}


/*
 * Parses "bytes=r1, r2, ..." against the body size.  A syntax error
 * means the header is ignored; ranges wholly past the end are skipped,
 * and when none is left the request is unsatisfiable.
 */
static dh_uint_t
dh_http_range_parse(dh_http_request_t *r, off_t size, off_t *start,
    off_t *end)
{
    u_char     *p, *last;
    off_t       s, e;
    dh_uint_t   n;

    p = r->headers_in.range->value.data;
    last = p + r->headers_in.range->value.len;

    if (last - p < 6 || dh_strncasecmp(p, (u_char *) "bytes=", 6) != 0) {
        return DH_HTTP_RANGE_IGNORE;
    }

    p += 6;
    n = 0;

    for ( ;; ) {
        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p < last && *p == '-') {
            p++;
            e = dh_http_range_number(&p, last);

            if (e == -1) {
                return DH_HTTP_RANGE_IGNORE;
            }

            s = (e >= size) ? 0 : size - e;
            e = size - 1;

            if (s > e) {
                goto next;          /* "-0" or an empty body */
            }

        } else {
            s = dh_http_range_number(&p, last);

            if (s == -1 || p == last || *p++ != '-') {
                return DH_HTTP_RANGE_IGNORE;
            }

            if (p < last && *p >= '0' && *p <= '9') {
                e = dh_http_range_number(&p, last);

                if (e == -1 || e < s) {
                    return DH_HTTP_RANGE_IGNORE;
                }

            } else {
                e = size - 1;
            }

            if (s >= size) {
                goto next;
            }

            if (e >= size) {
                e = size - 1;
            }
        }

        if (n++ == 0) {
            *start = s;
            *end = e + 1;
        }

    next:

        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == last) {
            break;
        }

        if (*p++ != ',') {
            return DH_HTTP_RANGE_IGNORE;
        }
    }

    if (n == 0) {
        return DH_HTTP_RANGE_NONE;
    }

    return (n == 1) ? DH_HTTP_RANGE_ONE : DH_HTTP_RANGE_IGNORE;
}


/* If-Range: a strong entity tag equal to ours, or our exact date */
static dh_uint_t
dh_http_range_if_range(dh_http_request_t *r)
{
    time_t           t;
    dh_str_t        *v;
    dh_table_elt_t  *etag;

    v = &r->headers_in.if_range->value;

    if (v->len >= 2 && (v->data[0] == '"' || v->data[0] == 'W')) {
        etag = r->headers_out.etag;

        if (v->data[0] == 'W' || etag == NULL || etag->hash == 0
            || etag->value.len != v->len || etag->value.data[0] == 'W')
        {
            return 0;
        }

        return dh_memcmp(etag->value.data, v->data, v->len) == 0;
    }

    t = dh_parse_http_time(v->data, v->len);

    return t != -1 && t == r->headers_out.last_modified_time;
}


static dh_int_t
dh_http_range_header_filter(dh_http_request_t *r)
{
    off_t                 size, start, end;
    u_char               *p;
    size_t                len;
    dh_uint_t             rc;
    dh_http_range_ctx_t  *ctx;

    if (!r->allow_ranges || r->headers_out.status != DH_HTTP_OK
        || r->headers_out.content_length_n < 0)
    {
        return dh_http_next_header_filter(r);
    }

    if (dh_http_add_header_out(r, "Accept-Ranges",
                               sizeof("Accept-Ranges") - 1,
                               (u_char *) "bytes", sizeof("bytes") - 1)
        == NULL)
    {
        return DH_ERROR;
    }

    if (r->headers_in.range == NULL
        || !(r->method & (DH_HTTP_GET|DH_HTTP_HEAD))
        || (r->headers_in.if_range && !dh_http_range_if_range(r)))
    {
        return dh_http_next_header_filter(r);
    }

    size = r->headers_out.content_length_n;
    start = 0;
    end = 0;

    rc = dh_http_range_parse(r, size, &start, &end);

    if (rc == DH_HTTP_RANGE_IGNORE) {
        return dh_http_next_header_filter(r);
    }

    ctx = dh_pcalloc(r->pool, sizeof(dh_http_range_ctx_t));
    len = sizeof("bytes -/") - 1 + 3 * DH_INT64_LEN;
    p = dh_pnalloc(r->pool, len);

    if (ctx == NULL || p == NULL) {
        return DH_ERROR;
    }

    if (rc == DH_HTTP_RANGE_NONE) {
        /* the header ends the response: no body at all */
        ctx->discard = 1;
        len = dh_slprintf(p, p + len, "bytes */%lld", (long long) size) - p;

        r->headers_out.status = DH_HTTP_RANGE_NOT_SATISFIABLE;
        r->headers_out.content_length_n = 0;
        r->headers_out.last_modified_time = -1;
        dh_str_null(&r->headers_out.content_type);
        r->header_only = 1;

    } else {
        ctx->start = start;
        ctx->end = end;
        len = dh_slprintf(p, p + len, "bytes %lld-%lld/%lld",
                          (long long) start, (long long) end - 1,
                          (long long) size) - p;

        r->headers_out.status = DH_HTTP_PARTIAL_CONTENT;
        r->headers_out.content_length_n = end - start;
    }

    if (dh_http_add_header_out(r, "Content-Range",
                               sizeof("Content-Range") - 1, p, len)
        == NULL)
    {
        return DH_ERROR;
    }

    dh_http_set_ctx(r, ctx, dh_http_range_filter_module);

    return dh_http_next_header_filter(r);
}


/* Marks a buffer as sent, so whoever made it may reuse it. */
static void
dh_http_range_consume(dh_buf_t *b)
{
    b->pos = b->last;
    b->file_pos = b->file_last;
}


static dh_int_t
dh_http_range_body_filter(dh_http_request_t *r, dh_chain_t *in)
{
    off_t                 size, from, to, skip;
    dh_buf_t             *b, *eb;
    dh_chain_t           *cl, *out, **ll;
    dh_http_range_ctx_t  *ctx;

    ctx = dh_http_get_module_ctx(r, dh_http_range_filter_module);

    if (ctx == NULL || in == NULL) {
        return dh_http_next_body_filter(r, in);
    }

    out = NULL;
    ll = &out;

    for ( /* void */ ; in; in = in->next) {
        b = in->buf;
        size = dh_buf_size(b);
        from = ctx->offset;
        to = from + size;
        ctx->offset = to;

        if (ctx->discard || to <= ctx->start || from >= ctx->end) {
            /* outside the range; a last_buf still has to go on */
            dh_http_range_consume(b);

            if (!b->last_buf || ctx->discard || ctx->last) {
                continue;
            }

            eb = dh_calloc_buf(r->pool);
            if (eb == NULL) {
                return DH_ERROR;
            }

            eb->last_buf = 1;
            b = eb;

        } else {
            skip = (ctx->start > from) ? ctx->start - from : 0;
            size = dh_min(to, ctx->end) - from;

            if (dh_buf_in_memory(b)) {
                b->last = b->pos + size;
                b->pos += skip;
            }

            if (b->in_file) {
                b->file_last = b->file_pos + size;
                b->file_pos += skip;
            }

            if (to >= ctx->end) {
                b->last_buf = 1;
                ctx->last = 1;
            }
        }

        cl = dh_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return DH_ERROR;
        }

        cl->buf = b;
        *ll = cl;
        ll = &cl->next;
    }

    *ll = NULL;

    if (out == NULL) {
        /* still push out what earlier calls left queued */
        return dh_http_next_body_filter(r, NULL);
    }

    return dh_http_next_body_filter(r, out);
}


static dh_int_t
dh_http_range_filter_init(dh_conf_t *cf)
{
    dh_http_next_header_filter = dh_http_top_header_filter;
    dh_http_top_header_filter = dh_http_range_header_filter;

    dh_http_next_body_filter = dh_http_top_body_filter;
    dh_http_top_body_filter = dh_http_range_body_filter;

    return DH_OK;
}

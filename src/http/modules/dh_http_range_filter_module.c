/*
 * Byte ranges (RFC 9110 section 14).
 *
 * A handler that can serve any part of its body sets r->allow_ranges
 * before sending the header; this filter then adds "Accept-Ranges: bytes"
 * and, for a GET or HEAD with one satisfiable "Range: bytes=" range, turns
 * the 200 into a 206 and trims the body buffers (memory or file) in place
 * as they pass, so it works for in-memory bodies, sendfile and read-and-
 * send alike.  Several ranges are sorted and overlapping or touching ones
 * merged (RFC 9110 section 14.6 allows it, and it bounds the reply to the
 * body's size however the ranges are written); if more than one is left
 * the answer is a multipart/byteranges 206 whose parts are shadows of the
 * body buffers, so file parts still leave by sendfile.  More ranges than
 * `max_ranges` means the whole 200, and `max_ranges 0` turns ranges off.
 * When no range can be satisfied the answer is 416 with
 * "Content-Range: bytes * / size".
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


typedef struct {
    off_t          start;           /* first byte wanted */
    off_t          end;             /* one past the last byte wanted */
    dh_str_t       header;          /* multipart: the part's headers */
} dh_http_range_t;


typedef struct {
    off_t          start;           /* single range: first byte wanted */
    off_t          end;             /* one past the last byte wanted */
    off_t          offset;          /* body bytes seen so far */
    dh_array_t    *ranges;          /* of dh_http_range_t, sorted */
    dh_uint_t      next;            /* multipart: first unfinished range */
    dh_str_t       trailer;         /* multipart: the closing delimiter */
    unsigned       discard:1;       /* 416: the body is not sent */
    unsigned       last:1;          /* the range's last byte went on */
    unsigned       multipart:1;
} dh_http_range_ctx_t;


typedef struct {
    dh_int_t       max_ranges;
} dh_http_range_loc_conf_t;


#define DH_HTTP_RANGE_IGNORE   0    /* serve the whole body */
#define DH_HTTP_RANGE_ONE      1
#define DH_HTTP_RANGE_NONE     2    /* unsatisfiable */
#define DH_HTTP_RANGE_MANY     3


static dh_int_t dh_http_range_filter_init(dh_conf_t *cf);
static void *dh_http_range_create_loc_conf(dh_conf_t *cf);
static char *dh_http_range_merge_loc_conf(dh_conf_t *cf, void *parent,
    void *child);
static dh_int_t dh_http_range_header_filter(dh_http_request_t *r);
static dh_int_t dh_http_range_body_filter(dh_http_request_t *r,
    dh_chain_t *in);


static dh_command_t  dh_http_range_commands[] = {

    { dh_string("max_ranges"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_num_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_range_loc_conf_t, max_ranges),
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_range_filter_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_range_filter_init,             /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    dh_http_range_create_loc_conf,         /* create location configuration */
    dh_http_range_merge_loc_conf           /* merge location configuration */
};


dh_module_t  dh_http_range_filter_module = {
    DH_MODULE_V1,
    &dh_http_range_filter_module_ctx,      /* module context */
    dh_http_range_commands,                /* module directives */
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
 * Parses "bytes=r1, r2, ..." against the body size into ctx->ranges.  A
 * syntax error or more than max ranges means the header is ignored;
 * ranges wholly past the end are skipped, and when none is left the
 * request is unsatisfiable.
 */
static dh_int_t
dh_http_range_parse(dh_http_request_t *r, dh_http_range_ctx_t *ctx,
    off_t size, dh_uint_t max)
{
    u_char           *p, *last;
    off_t             s, e;
    dh_http_range_t  *rg;

    p = r->headers_in.range->value.data;
    last = p + r->headers_in.range->value.len;

    if (last - p < 6 || dh_strncasecmp(p, (u_char *) "bytes=", 6) != 0) {
        return DH_HTTP_RANGE_IGNORE;
    }

    p += 6;

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

        if (ctx->ranges->nelts == max) {
            return DH_HTTP_RANGE_IGNORE;
        }

        rg = dh_array_push(ctx->ranges);
        if (rg == NULL) {
            return DH_ERROR;
        }

        rg->start = s;
        rg->end = e + 1;
        dh_str_null(&rg->header);

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

    switch (ctx->ranges->nelts) {
    case 0:
        return DH_HTTP_RANGE_NONE;
    case 1:
        return DH_HTTP_RANGE_ONE;
    default:
        return DH_HTTP_RANGE_MANY;
    }
}


static int
dh_http_range_cmp(const void *one, const void *two)
{
    const dh_http_range_t  *a = one, *b = two;

    return (a->start > b->start) - (a->start < b->start);
}


/* Sorts the ranges and merges those that overlap or touch. */
static void
dh_http_range_coalesce(dh_array_t *ranges)
{
    dh_uint_t         i, n;
    dh_http_range_t  *rg;

    rg = ranges->elts;
    qsort(rg, ranges->nelts, sizeof(dh_http_range_t), dh_http_range_cmp);

    n = 0;

    for (i = 1; i < ranges->nelts; i++) {
        if (rg[i].start <= rg[n].end) {
            rg[n].end = dh_max(rg[n].end, rg[i].end);
            continue;
        }

        rg[++n] = rg[i];
    }

    ranges->nelts = n + 1;
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


/*
 * The multipart/byteranges form: each part's headers are made now so the
 * Content-Length is exact; the boundary only has to be absent from the
 * parts' headers, and a per-process counter keeps it unique.
 */
static dh_int_t
dh_http_range_multipart(dh_http_request_t *r, dh_http_range_ctx_t *ctx,
    off_t size)
{
    u_char           *p, *ct;
    off_t             len;
    size_t            n, hlen;
    dh_str_t         *type;
    dh_uint_t         i;
    dh_http_range_t  *rg;
    u_char            boundary[32];
    static uint32_t   counter;

    n = dh_slprintf(boundary, boundary + sizeof(boundary), "%08x%08x",
                    (unsigned) dh_pid, (unsigned) ++counter) - boundary;

    type = &r->headers_out.content_type;
    rg = ctx->ranges->elts;
    len = 0;

    hlen = sizeof("\r\n--\r\nContent-Type: \r\nContent-Range: bytes -/\r\n\r\n")
           + n + type->len + 3 * DH_INT64_LEN;

    for (i = 0; i < ctx->ranges->nelts; i++) {
        p = dh_pnalloc(r->pool, hlen);
        if (p == NULL) {
            return DH_ERROR;
        }

        rg[i].header.data = p;

        if (i > 0) {
            *p++ = '\r'; *p++ = '\n';
        }

        p = dh_cpymem(p, "--", 2);
        p = dh_cpymem(p, boundary, n);

        if (type->len) {
            p = dh_cpymem(p, "\r\nContent-Type: ",
                          sizeof("\r\nContent-Type: ") - 1);
            p = dh_cpymem(p, type->data, type->len);
        }

        p = dh_slprintf(p, rg[i].header.data + hlen,
                        "\r\nContent-Range: bytes %lld-%lld/%lld\r\n\r\n",
                        (long long) rg[i].start, (long long) rg[i].end - 1,
                        (long long) size);

        rg[i].header.len = p - rg[i].header.data;
        len += rg[i].header.len + rg[i].end - rg[i].start;
    }

    p = dh_pnalloc(r->pool, sizeof("\r\n----\r\n") + n);
    ct = dh_pnalloc(r->pool, sizeof("multipart/byteranges; boundary=") + n);

    if (p == NULL || ct == NULL) {
        return DH_ERROR;
    }

    ctx->trailer.data = p;
    p = dh_cpymem(p, "\r\n--", 4);
    p = dh_cpymem(p, boundary, n);
    p = dh_cpymem(p, "--\r\n", 4);
    ctx->trailer.len = p - ctx->trailer.data;

    r->headers_out.content_type.data = ct;
    r->headers_out.content_type.len =
        dh_cpymem(dh_cpymem(ct, "multipart/byteranges; boundary=",
                            sizeof("multipart/byteranges; boundary=") - 1),
                  boundary, n) - ct;

    ctx->multipart = 1;
    r->headers_out.status = DH_HTTP_PARTIAL_CONTENT;
    r->headers_out.content_length_n = len + ctx->trailer.len;

    return DH_OK;
}


/* One range or none: the 206 with Content-Range, or the 416. */
static dh_int_t
dh_http_range_single(dh_http_request_t *r, dh_http_range_ctx_t *ctx,
    off_t size, dh_int_t rc)
{
    u_char           *p;
    size_t            len;
    dh_http_range_t  *rg;

    len = sizeof("bytes -/") - 1 + 3 * DH_INT64_LEN;
    p = dh_pnalloc(r->pool, len);
    if (p == NULL) {
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
        rg = ctx->ranges->elts;
        ctx->start = rg->start;
        ctx->end = rg->end;
        len = dh_slprintf(p, p + len, "bytes %lld-%lld/%lld",
                          (long long) ctx->start, (long long) ctx->end - 1,
                          (long long) size) - p;

        r->headers_out.status = DH_HTTP_PARTIAL_CONTENT;
        r->headers_out.content_length_n = ctx->end - ctx->start;
    }

    if (dh_http_add_header_out(r, "Content-Range",
                               sizeof("Content-Range") - 1, p, len)
        == NULL)
    {
        return DH_ERROR;
    }

    return DH_OK;
}


static dh_int_t
dh_http_range_header_filter(dh_http_request_t *r)
{
    off_t                      size;
    dh_int_t                   rc;
    dh_http_range_ctx_t       *ctx;
    dh_http_range_loc_conf_t  *rlcf;

    rlcf = dh_http_get_module_loc_conf(r, dh_http_range_filter_module);

    if (!r->allow_ranges || r->headers_out.status != DH_HTTP_OK
        || r->headers_out.content_length_n < 0 || rlcf->max_ranges == 0)
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

    ctx = dh_pcalloc(r->pool, sizeof(dh_http_range_ctx_t));
    if (ctx == NULL) {
        return DH_ERROR;
    }

    ctx->ranges = dh_array_create(r->pool, 2, sizeof(dh_http_range_t));
    if (ctx->ranges == NULL) {
        return DH_ERROR;
    }

    rc = dh_http_range_parse(r, ctx, size, (dh_uint_t) rlcf->max_ranges);

    if (rc == DH_HTTP_RANGE_IGNORE) {
        return dh_http_next_header_filter(r);
    }

    if (rc == DH_ERROR) {
        return DH_ERROR;
    }

    if (rc == DH_HTTP_RANGE_MANY) {
        dh_http_range_coalesce(ctx->ranges);

        if (ctx->ranges->nelts == 1) {
            rc = DH_HTTP_RANGE_ONE;
        }
    }

    if (rc == DH_HTTP_RANGE_MANY) {
        rc = dh_http_range_multipart(r, ctx, size);

    } else {
        rc = dh_http_range_single(r, ctx, size, rc);
    }

    if (rc != DH_OK) {
        return rc;
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


/* Appends a memory buffer over [p, p + len) to the chain at *ll. */
static dh_chain_t **
dh_http_range_add_mem(dh_http_request_t *r, dh_chain_t **ll, dh_str_t *s,
    dh_uint_t last)
{
    dh_buf_t    *b;
    dh_chain_t  *cl;

    b = dh_calloc_buf(r->pool);
    cl = dh_alloc_chain_link(r->pool);

    if (b == NULL || cl == NULL) {
        return NULL;
    }

    b->memory = 1;
    b->pos = s->data;
    b->last = s->data + s->len;
    b->last_buf = last;

    cl->buf = b;
    *ll = cl;

    return &cl->next;
}


/* Appends a buffer that shows [skip, skip + size) of b's data. */
static dh_chain_t **
dh_http_range_add_part(dh_http_request_t *r, dh_chain_t **ll, dh_buf_t *b,
    off_t skip, off_t size)
{
    dh_buf_t    *sb;
    dh_chain_t  *cl;

    sb = dh_alloc_buf(r->pool);
    cl = dh_alloc_chain_link(r->pool);

    if (sb == NULL || cl == NULL) {
        return NULL;
    }

    *sb = *b;
    sb->last_buf = 0;

    if (dh_buf_in_memory(b)) {
        sb->pos = b->pos + skip;
        sb->last = sb->pos + size;
    }

    if (b->in_file) {
        sb->file_pos = b->file_pos + skip;
        sb->file_last = sb->file_pos + size;
    }

    cl->buf = sb;
    *ll = cl;

    return &cl->next;
}


/*
 * The ranges are sorted and disjoint, so one pass over the body buffers
 * emits every part in order: a part's headers go just before its first
 * byte, and the closing delimiter ends the response.  The body buffers
 * are only consumed; what leaves are shadows of them, which the producer
 * must keep until the output drains (as every producer here does).
 */
static dh_int_t
dh_http_range_multipart_body(dh_http_request_t *r, dh_http_range_ctx_t *ctx,
    dh_chain_t *in)
{
    off_t             from, to, s, e;
    dh_buf_t         *b;
    dh_chain_t       *out, **ll;
    dh_http_range_t  *rg;

    out = NULL;
    ll = &out;
    rg = ctx->ranges->elts;

    for ( /* void */ ; in; in = in->next) {
        b = in->buf;
        from = ctx->offset;
        to = from + dh_buf_size(b);
        ctx->offset = to;

        while (ctx->next < ctx->ranges->nelts && rg[ctx->next].start < to) {
            s = dh_max(rg[ctx->next].start, from);
            e = dh_min(rg[ctx->next].end, to);

            if (s == rg[ctx->next].start) {
                ll = dh_http_range_add_mem(r, ll, &rg[ctx->next].header, 0);
                if (ll == NULL) {
                    return DH_ERROR;
                }
            }

            ll = dh_http_range_add_part(r, ll, b, s - from, e - s);
            if (ll == NULL) {
                return DH_ERROR;
            }

            if (rg[ctx->next].end > to) {
                break;
            }

            ctx->next++;
        }

        dh_http_range_consume(b);

        if (!ctx->last
            && (b->last_buf || ctx->next == ctx->ranges->nelts))
        {
            ctx->last = 1;
            ll = dh_http_range_add_mem(r, ll, &ctx->trailer, 1);
            if (ll == NULL) {
                return DH_ERROR;
            }
        }
    }

    *ll = NULL;

    return dh_http_next_body_filter(r, out);
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

    if (ctx->multipart) {
        return dh_http_range_multipart_body(r, ctx, in);
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


static void *
dh_http_range_create_loc_conf(dh_conf_t *cf)
{
    dh_http_range_loc_conf_t  *conf;

    conf = dh_palloc(cf->pool, sizeof(dh_http_range_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->max_ranges = DH_CONF_UNSET;

    return conf;
}


static char *
dh_http_range_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_range_loc_conf_t  *prev = parent;
    dh_http_range_loc_conf_t  *conf = child;

    /* unset means no limit other than the header's own size */
    dh_conf_merge_value(conf->max_ranges, prev->max_ranges,
                        DH_MAX_INT_T_VALUE);

    return DH_CONF_OK;
}

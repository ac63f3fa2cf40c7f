/*
 * Chunked transfer coding for responses whose length is unknown when the
 * headers go out.  HTTP/1.1 clients get "Transfer-Encoding: chunked";
 * HTTP/1.0 ones get the body delimited by closing the connection.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


static dh_int_t dh_http_chunked_filter_init(dh_conf_t *cf);
static dh_int_t dh_http_chunked_header_filter(dh_http_request_t *r);
static dh_int_t dh_http_chunked_body_filter(dh_http_request_t *r,
    dh_chain_t *in);


static dh_http_module_t  dh_http_chunked_filter_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_chunked_filter_init,           /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


dh_module_t  dh_http_chunked_filter_module = {
    DH_MODULE_V1,
    &dh_http_chunked_filter_module_ctx,    /* module context */
    NULL,                                  /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


static dh_http_output_header_filter_pt  dh_http_next_header_filter;
static dh_http_output_body_filter_pt    dh_http_next_body_filter;


static dh_int_t
dh_http_chunked_header_filter(dh_http_request_t *r)
{
    dh_uint_t  status;

    status = r->headers_out.status;

    if (r->headers_out.content_length_n >= 0
        || status == DH_HTTP_NO_CONTENT || status == DH_HTTP_NOT_MODIFIED
        || r->method == DH_HTTP_HEAD || r->header_only)
    {
        return dh_http_next_header_filter(r);
    }

    if (r->http_version >= DH_HTTP_VERSION_11) {
        r->chunked_out = 1;
    } else {
        r->keepalive = 0;
    }

    return dh_http_next_header_filter(r);
}


static dh_int_t
dh_http_chunked_body_filter(dh_http_request_t *r, dh_chain_t *in)
{
    off_t        size;
    u_char      *p;
    dh_buf_t    *b, *last;
    dh_chain_t  *cl, *out, **ll, *hl;

    if (in == NULL || !r->chunked_out || r->header_only) {
        return dh_http_next_body_filter(r, in);
    }

    out = NULL;
    ll = &out;
    size = 0;
    last = NULL;

    /* chunk header first, placed once the size is known */
    hl = dh_alloc_chain_link(r->pool);
    if (hl == NULL) {
        return DH_ERROR;
    }

    *ll = hl;
    ll = &hl->next;

    for (cl = in; cl; cl = cl->next) {
        size += dh_buf_size(cl->buf);

        if (cl->buf->last_buf) {
            last = cl->buf;
        }

        *ll = dh_alloc_chain_link(r->pool);
        if (*ll == NULL) {
            return DH_ERROR;
        }

        (*ll)->buf = cl->buf;
        ll = &(*ll)->next;
    }

    *ll = NULL;

    if (size) {
        b = dh_create_temp_buf(r->pool, sizeof("ffffffffffffffff" CRLF) - 1);
        if (b == NULL) {
            return DH_ERROR;
        }

        b->last = dh_slprintf(b->pos, b->end, "%llx" CRLF,
                              (unsigned long long) size);
        hl->buf = b;

    } else {
        out = hl->next;
    }

    if (size || last) {
        b = dh_calloc_buf(r->pool);
        *ll = dh_alloc_chain_link(r->pool);

        if (b == NULL || *ll == NULL) {
            return DH_ERROR;
        }

        b->memory = 1;

        if (last) {
            /* the end of this chunk and the last, empty chunk */
            p = (u_char *) (size ? CRLF "0" CRLF CRLF : "0" CRLF CRLF);
            last->last_buf = 0;
            b->last_buf = 1;
        } else {
            p = (u_char *) CRLF;
        }

        b->pos = p;
        b->last = p + dh_strlen(p);

        (*ll)->buf = b;
        (*ll)->next = NULL;
    }

    return dh_http_next_body_filter(r, out);
}


static dh_int_t
dh_http_chunked_filter_init(dh_conf_t *cf)
{
    dh_http_next_header_filter = dh_http_top_header_filter;
    dh_http_top_header_filter = dh_http_chunked_header_filter;

    dh_http_next_body_filter = dh_http_top_body_filter;
    dh_http_top_body_filter = dh_http_chunked_body_filter;

    return DH_OK;
}

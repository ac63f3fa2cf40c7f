/*
 * The last body filter: queues output on the request and sends it with
 * c->send_chain (writev for memory, sendfile for file ranges).  Small
 * pieces are held back until the response ends, a flush is asked for or
 * enough has gathered, so headers and a small body leave in one call.
 * What the socket does not take now stays in r->out, and the writer sends
 * it on the next write event.  One call sends at most sendfile_max_chunk
 * bytes: when the socket would take more, the write event is posted for
 * the next round, so the other connections of the worker get their turn.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


/* one TCP segment's worth: less than this waits for more */
#define DH_HTTP_POSTPONE_OUTPUT  1460


static dh_int_t dh_http_write_filter_init(dh_conf_t *cf);


static dh_http_module_t  dh_http_write_filter_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_write_filter_init,             /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


dh_module_t  dh_http_write_filter_module = {
    DH_MODULE_V1,
    &dh_http_write_filter_module_ctx,      /* module context */
    NULL,                                  /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


dh_int_t
dh_http_write_filter(dh_http_request_t *r, dh_chain_t *in)
{
    off_t                     size;
    dh_uint_t                 flush, last;
    dh_chain_t               *cl, *ln, **ll, *chain;
    dh_connection_t          *c;
    dh_http_core_loc_conf_t  *clcf;

    c = r->connection;

    if (c->error) {
        return DH_ERROR;
    }

    size = 0;
    flush = 0;
    last = 0;
    ll = &r->out;

    for (cl = r->out; cl; cl = cl->next) {
        ll = &cl->next;
        size += dh_buf_size(cl->buf);
        flush |= cl->buf->flush;
        last |= cl->buf->last_buf;
    }

    /* callers may pass chain links from their stack: queue our own */
    for (ln = in; ln; ln = ln->next) {
        cl = dh_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return DH_ERROR;
        }

        cl->buf = ln->buf;
        *ll = cl;
        ll = &cl->next;

        size += dh_buf_size(cl->buf);
        flush |= cl->buf->flush;
        last |= cl->buf->last_buf;
    }

    *ll = NULL;

    if (in && !last && !flush && size < DH_HTTP_POSTPONE_OUTPUT) {
        return DH_OK;
    }

    if (size == 0) {
        /* only markers (an empty last buffer): nothing to send */
        r->out = NULL;
        return DH_OK;
    }

    clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);

    chain = c->send_chain(c, r->out, (off_t) clcf->sendfile_max_chunk);

    if (chain == DH_CHAIN_ERROR) {
        c->error = 1;
        return DH_ERROR;
    }

    r->out = chain;

    /* stopped at the limit, not by a full socket: no write event will
     * come by itself */
    if (chain && c->write->ready && !c->write->posted) {
        dh_post_event(c->write, &dh_posted_next_events);
    }

    return chain ? DH_AGAIN : DH_OK;
}


static dh_int_t
dh_http_write_filter_init(dh_conf_t *cf)
{
    dh_http_top_body_filter = dh_http_write_filter;

    return DH_OK;
}

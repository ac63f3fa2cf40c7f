/*
 * The reverse proxy: proxy_pass and the proxy_* directives.
 *
 * The upstream client (src/http/dh_http_upstream.h) owns the backend side:
 * balancing, connections and their keep-alive cache, TLS, the response
 * parser, timeouts and retries.  This module builds the request head,
 * feeds the request body (all of it at once, or streamed as it arrives
 * with proxy_request_buffering off), and moves the response to the client
 * through the filter chain.
 *
 * Back-pressure: each response piece is copied into one of a few buffers
 * of the request; when none is free (the client has not taken them) the
 * upstream client is told DH_AGAIN and stops reading the backend until
 * the client's write event frees one.  A slow client therefore slows the
 * backend read and costs at most those buffers.  proxy_buffering off
 * flushes every piece at once (SSE, chunked streams); on lets the write
 * filter coalesce small pieces.
 *
 * 101 Switching Protocols turns the request into a tunnel: raw bytes both
 * ways until either side closes.
 *
 * Every end goes through one place, dh_http_proxy_finish(), run from the
 * client connection's posted write event: the upstream client's callbacks
 * may run inside its own calls, so the request is never freed under them.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"
#include "dh_http_proxy.h"


typedef struct {
    dh_http_request_t          *request;
    dh_http_upstream_t         *upstream;
    dh_http_proxy_loc_conf_t   *plcf;

    dh_buf_t                   *bufs;        /* response copies */
    dh_uint_t                   nbufs;
    dh_buf_t                   *tunnel_in;   /* client bytes of a tunnel */
    dh_buf_t                    last;        /* an empty piece: body end */
    dh_buf_t                    flush;       /* an empty piece: send now */

    dh_int_t                    done_rc;

    unsigned                    started:1;
    unsigned                    upstream_done:1;
    unsigned                    paused:1;        /* on_data said DH_AGAIN */
    unsigned                    blocked:1;       /* filters said DH_AGAIN */
    unsigned                    streaming:1;     /* flush every piece */
    unsigned                    body_stream:1;   /* reading runs */
    unsigned                    body_wait:1;     /* send_body said again */
    unsigned                    body_last:1;     /* the end is still due */
    unsigned                    upgrade:1;       /* the client asked */
    unsigned                    tunnel:1;
    unsigned                    tunnel_wait:1;
    unsigned                    finished:1;
} dh_http_proxy_ctx_t;


static dh_int_t dh_http_proxy_preconfiguration(dh_conf_t *cf);
static void *dh_http_proxy_create_loc_conf(dh_conf_t *cf);
static char *dh_http_proxy_merge_loc_conf(dh_conf_t *cf, void *parent,
    void *child);
static char *dh_http_proxy_pass(dh_conf_t *cf, dh_command_t *cmd, void *conf);

static dh_int_t dh_http_proxy_handler(dh_http_request_t *r);
static void dh_http_proxy_body_read(dh_http_request_t *r);
static dh_int_t dh_http_proxy_start(dh_http_request_t *r,
    dh_http_proxy_ctx_t *ctx, dh_chain_t *body, off_t body_len);
static void dh_http_proxy_cleanup(void *data);

static dh_int_t dh_http_proxy_on_header(dh_http_upstream_t *u);
static dh_int_t dh_http_proxy_on_data(dh_http_upstream_t *u, dh_buf_t *b);
static void dh_http_proxy_on_done(dh_http_upstream_t *u, dh_int_t rc);
static void dh_http_proxy_on_body_ready(dh_http_upstream_t *u);

static dh_int_t dh_http_proxy_body_data(dh_http_request_t *r, dh_buf_t *b);
static void dh_http_proxy_body_done(dh_http_request_t *r, dh_int_t rc);

static void dh_http_proxy_write_handler(dh_http_request_t *r);
static void dh_http_proxy_client_check(dh_http_request_t *r);
static void dh_http_proxy_tunnel_read(dh_http_request_t *r);
static void dh_http_proxy_finish(dh_http_request_t *r);


static dh_conf_enum_t  dh_http_proxy_http_versions[] = {
    { dh_string("1.0"), DH_HTTP_VERSION_10 },
    { dh_string("1.1"), DH_HTTP_VERSION_11 },
    { dh_null_string, 0 }
};


static dh_command_t  dh_http_proxy_commands[] = {

    { dh_string("proxy_pass"),
      DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_http_proxy_pass,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("proxy_set_header"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE2,
      dh_conf_set_keyval_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_proxy_loc_conf_t, set_headers),
      NULL },

    { dh_string("proxy_hide_header"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_str_array_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_proxy_loc_conf_t, hide_headers),
      NULL },

    { dh_string("proxy_pass_header"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_str_array_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_proxy_loc_conf_t, pass_headers),
      NULL },

    { dh_string("proxy_http_version"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_enum_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_proxy_loc_conf_t, http_version),
      &dh_http_proxy_http_versions },

    { dh_string("proxy_buffering"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_proxy_loc_conf_t, buffering),
      NULL },

    { dh_string("proxy_request_buffering"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_proxy_loc_conf_t, request_buffering),
      NULL },

    { dh_string("proxy_buffer_size"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_size_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_proxy_loc_conf_t, upstream.buffer_size),
      NULL },

    { dh_string("proxy_connect_timeout"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_msec_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_proxy_loc_conf_t, upstream.connect_timeout),
      NULL },

    { dh_string("proxy_send_timeout"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_msec_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_proxy_loc_conf_t, upstream.send_timeout),
      NULL },

    { dh_string("proxy_read_timeout"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_msec_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_proxy_loc_conf_t, upstream.read_timeout),
      NULL },

    { dh_string("proxy_next_upstream"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_1MORE,
      dh_conf_set_bitmask_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_proxy_loc_conf_t, upstream.next_upstream),
      &dh_http_upstream_next_masks },

    { dh_string("proxy_next_upstream_tries"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_num_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_proxy_loc_conf_t, upstream.next_upstream_tries),
      NULL },

    { dh_string("proxy_next_upstream_timeout"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_msec_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_proxy_loc_conf_t, upstream.next_upstream_timeout),
      NULL },

    { dh_string("proxy_ssl_verify"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_proxy_loc_conf_t, upstream.ssl_verify),
      NULL },

    { dh_string("proxy_ssl_trusted_certificate"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_str_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_proxy_loc_conf_t, upstream.ssl_trusted_certificate),
      NULL },

    { dh_string("proxy_ssl_server_name"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_proxy_loc_conf_t, upstream.ssl_server_name),
      NULL },

    { dh_string("proxy_ssl_name"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_str_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_proxy_loc_conf_t, upstream.ssl_name),
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_proxy_module_ctx = {
    dh_http_proxy_preconfiguration,        /* preconfiguration */
    NULL,                                  /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    dh_http_proxy_create_loc_conf,         /* create location configuration */
    dh_http_proxy_merge_loc_conf           /* merge location configuration */
};


dh_module_t  dh_http_proxy_module = {
    DH_MODULE_V1,
    &dh_http_proxy_module_ctx,             /* module context */
    dh_http_proxy_commands,                /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


/* ---- configuration ---------------------------------------------------- */

static dh_int_t
dh_http_proxy_preconfiguration(dh_conf_t *cf)
{
    return dh_http_proxy_add_variables(cf);
}


static void *
dh_http_proxy_create_loc_conf(dh_conf_t *cf)
{
    dh_http_proxy_loc_conf_t  *conf;

    conf = dh_pcalloc(cf->pool, sizeof(dh_http_proxy_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /* set by dh_pcalloc(): uscf, url, host, uri, uri_value, location,
     * set_headers, headers, hide_headers, pass_headers, hide, has_uri */

    dh_http_upstream_conf_init(&conf->upstream);

    conf->http_version = DH_CONF_UNSET_UINT;
    conf->buffering = DH_CONF_UNSET;
    conf->request_buffering = DH_CONF_UNSET;

    return conf;
}


static char *
dh_http_proxy_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_proxy_loc_conf_t  *prev = parent;
    dh_http_proxy_loc_conf_t  *conf = child;

    if (dh_http_upstream_conf_merge(cf, &conf->upstream, &prev->upstream)
        != DH_CONF_OK)
    {
        return DH_CONF_ERROR;
    }

    /* proxy_set_header, _hide_header and _pass_header inherit as a whole:
     * one of them at this level replaces every one from above */
    if (conf->set_headers == NULL) {
        conf->set_headers = prev->set_headers;
    }

    if (conf->hide_headers == NULL || conf->hide_headers == DH_CONF_UNSET_PTR)
    {
        conf->hide_headers = prev->hide_headers;
    }

    if (conf->pass_headers == NULL || conf->pass_headers == DH_CONF_UNSET_PTR)
    {
        conf->pass_headers = prev->pass_headers;
    }

    dh_conf_merge_uint_value(conf->http_version, prev->http_version,
                             DH_HTTP_VERSION_11);
    dh_conf_merge_value(conf->buffering, prev->buffering, 1);
    dh_conf_merge_value(conf->request_buffering, prev->request_buffering, 1);

    if (conf->uscf == NULL) {
        return DH_CONF_OK;
    }

    if (dh_http_proxy_compile_headers(cf, conf) != DH_CONF_OK) {
        return DH_CONF_ERROR;
    }

    if (conf->upstream.ssl) {
        /* its own context: the verification settings may differ from
         * the enclosing block's */
        conf->upstream.ssl_ctx = NULL;

        if (dh_http_upstream_ssl_init(cf, &conf->upstream) != DH_OK) {
            return DH_CONF_ERROR;
        }
    }

    return DH_CONF_OK;
}


static char *
dh_http_proxy_pass(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_proxy_loc_conf_t  *plcf = conf;

    char                             *err;
    dh_str_t                         *value;
    dh_http_upstream_url_t            pu;
    dh_http_core_loc_conf_t          *clcf;
    dh_http_compile_complex_value_t   ccv;

    if (plcf->uscf) {
        return "is duplicate";
    }

    value = cf->args->elts;
    plcf->url = value[1];

    err = NULL;

    if (dh_http_upstream_parse_url(&plcf->url, &pu, &err) != DH_OK) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0, "%s in \"%s\"",
                          err ? err : "invalid URL", value[1].data);
        return DH_CONF_ERROR;
    }

    if (memchr(pu.host.data, '$', pu.host.len)) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "variables in the host of \"proxy_pass\" are not "
                          "supported in \"%s\"", value[1].data);
        return DH_CONF_ERROR;
    }

    clcf = dh_http_conf_get_module_loc_conf(cf, dh_http_core_module);

    if (pu.uri.len && memchr(pu.uri.data, '$', pu.uri.len))
    {
        /* the whole URI is what the variables give */
        plcf->uri_value = dh_palloc(cf->pool,
                                    sizeof(dh_http_complex_value_t));
        if (plcf->uri_value == NULL) {
            return DH_CONF_ERROR;
        }

        dh_memzero(&ccv, sizeof(dh_http_compile_complex_value_t));
        ccv.cf = cf;
        ccv.value = &pu.uri;
        ccv.complex_value = plcf->uri_value;

        if (dh_http_compile_complex_value(&ccv) != DH_OK) {
            return DH_CONF_ERROR;
        }

    } else if (pu.uri.len) {
        if (clcf->regex || clcf->named) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "\"proxy_pass\" cannot have URI part in "
                              "location given by regular expression, or "
                              "inside named location");
            return DH_CONF_ERROR;
        }

        plcf->has_uri = 1;
        plcf->uri = pu.uri;
        plcf->location = clcf->name;
    }

    plcf->uscf = dh_http_upstream_add(cf, &pu.host, pu.port,
                                      pu.tls ? DH_HTTP_UPSTREAM_ADD_TLS : 0);
    if (plcf->uscf == NULL) {
        return DH_CONF_ERROR;
    }

    plcf->upstream.ssl = pu.tls;
    plcf->host = pu.host_header;

    clcf->handler = dh_http_proxy_handler;

    return DH_CONF_OK;
}


/* ---- starting --------------------------------------------------------- */

static dh_int_t
dh_http_proxy_handler(dh_http_request_t *r)
{
    off_t                       len;
    dh_int_t                    rc;
    dh_pool_cleanup_t          *cln;
    dh_http_upstream_t         *u;
    dh_http_proxy_ctx_t        *ctx;
    dh_http_proxy_loc_conf_t   *plcf;

    plcf = dh_http_get_module_loc_conf(r, dh_http_proxy_module);

    ctx = dh_pcalloc(r->pool, sizeof(dh_http_proxy_ctx_t));
    if (ctx == NULL) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    u = dh_http_upstream_create(r->pool, r);
    if (u == NULL) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = dh_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = dh_http_proxy_cleanup;
    cln->data = ctx;

    ctx->request = r;
    ctx->upstream = u;
    ctx->plcf = plcf;
    ctx->streaming = !plcf->buffering;
    ctx->last.last_buf = 1;
    ctx->flush.flush = 1;

    dh_http_set_ctx(r, ctx, dh_http_proxy_module);

    u->upstream = plcf->uscf;
    u->conf = &plcf->upstream;
    u->on_header = dh_http_proxy_on_header;
    u->on_data = dh_http_proxy_on_data;
    u->on_done = dh_http_proxy_on_done;
    u->on_body_ready = dh_http_proxy_on_body_ready;
    u->data = ctx;
    u->method_head = (r->method == DH_HTTP_HEAD);
    u->non_idempotent = (r->method & (DH_HTTP_POST|DH_HTTP_PATCH)) != 0;

    if (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked) {
        rc = dh_http_proxy_start(r, ctx, NULL,
                                 r->headers_in.content_length_n);
        return rc == DH_OK ? DH_DONE : rc;
    }

    if (plcf->request_buffering) {
        rc = dh_http_read_client_request_body(r, dh_http_proxy_body_read);
        return rc == DH_OK ? DH_DONE : rc;
    }

    /* streamed: the head goes first, then the body as it comes */
    len = r->headers_in.chunked ? -2 : r->headers_in.content_length_n;

    u->request_body_stream = 1;
    u->request_body_chunked = (len == -2);

    rc = dh_http_proxy_start(r, ctx, NULL, len);
    if (rc != DH_OK) {
        return rc;
    }

    ctx->body_stream = 1;

    rc = dh_http_read_client_request_body_stream(r, dh_http_proxy_body_data,
                                                 dh_http_proxy_body_done);
    if (rc != DH_OK) {
        /* nothing was read: the request ends here, the backend with it
         * (and a finish already posted by on_done must not run) */
        ctx->body_stream = 0;
        ctx->finished = 1;
        dh_http_proxy_cleanup(ctx);
        return rc;
    }

    return DH_DONE;
}


/* The buffered body is complete: send it with the head. */
static void
dh_http_proxy_body_read(dh_http_request_t *r)
{
    off_t                 len;
    dh_int_t              rc;
    dh_chain_t           *body;
    dh_http_proxy_ctx_t  *ctx;

    ctx = dh_http_get_module_ctx(r, dh_http_proxy_module);
    body = r->request_body->bufs;
    len = body ? dh_chain_size(body) : 0;

    rc = dh_http_proxy_start(r, ctx, len ? body : NULL, len);

    if (rc != DH_OK) {
        dh_http_finalize_request(r, rc);
    }
}


/* DH_OK: running; else the status to answer with (nothing started). */
static dh_int_t
dh_http_proxy_start(dh_http_request_t *r, dh_http_proxy_ctx_t *ctx,
    dh_chain_t *body, off_t body_len)
{
    dh_buf_t            *b;
    dh_uint_t            upgrade;
    dh_chain_t          *cl;
    dh_http_upstream_t  *u;

    u = ctx->upstream;

    b = dh_http_proxy_create_request(r, ctx->plcf, body_len, &upgrade);
    if (b == NULL) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    cl = dh_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;

    if (body && dh_chain_add_copy(r->pool, &cl->next, body) != DH_OK) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->upgrade = upgrade;
    u->request_bufs = cl;

    if (!u->request_body_stream) {
        /* nothing to read from the client any more: notice it leaving */
        r->read_event_handler = dh_http_proxy_client_check;
    }

    if (dh_http_upstream_start(u) != DH_OK) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->started = 1;

    return DH_OK;
}


/* The request pool goes away (finished, or closed for any reason). */
static void
dh_http_proxy_cleanup(void *data)
{
    dh_http_proxy_ctx_t  *ctx = data;

    if (ctx->started && !ctx->upstream_done) {
        ctx->upstream_done = 1;
        dh_http_upstream_cancel(ctx->upstream);
    }
}


/* ---- the response ------------------------------------------------------ */

static dh_int_t
dh_http_proxy_on_header(dh_http_upstream_t *u)
{
    size_t                n;
    dh_int_t              rc;
    dh_uint_t             i;
    dh_table_elt_t       *h;
    dh_http_request_t    *r;
    dh_http_proxy_ctx_t  *ctx;

    ctx = u->data;
    r = ctx->request;

    if (dh_http_proxy_copy_headers(r, ctx->plcf, u) != DH_OK) {
        return DH_ERROR;
    }

    /* a backend may ask for streaming itself, as with nginx */
    h = dh_http_upstream_header(u, "x-accel-buffering");

    if (h && h->value.len == 2
        && dh_strncasecmp(h->value.data, (u_char *) "no", 2) == 0)
    {
        ctx->streaming = 1;
    }

    if (u->headers_in.status == 101) {
        if (!ctx->upgrade) {
            return DH_ERROR;
        }

        ctx->tunnel = 1;
        ctx->streaming = 1;
        r->keepalive = 0;
        r->header_only = 1;
        r->headers_out.content_length_n = -1;
    }

    ctx->nbufs = ctx->streaming ? DH_HTTP_PROXY_NBUFS_STREAMING
                                : DH_HTTP_PROXY_NBUFS_BUFFERED;

    ctx->bufs = dh_pcalloc(r->pool, ctx->nbufs * sizeof(dh_buf_t));
    if (ctx->bufs == NULL) {
        return DH_ERROR;
    }

    for (i = 0; i < ctx->nbufs; i++) {
        /* memory comes when a buffer is first used */
        ctx->bufs[i].temporary = 1;
    }

    r->write_event_handler = dh_http_proxy_write_handler;

    rc = dh_http_send_header(r);

    if (rc == DH_ERROR || rc > DH_OK) {
        return DH_ERROR;
    }

    if (ctx->tunnel) {
        ctx->tunnel_in = dh_create_temp_buf(r->pool, u->conf->buffer_size);
        if (ctx->tunnel_in == NULL) {
            return DH_ERROR;
        }

        r->read_event_handler = dh_http_proxy_tunnel_read;

        if (r->header_in->pos < r->header_in->last) {
            /* the client spoke right after its request head */
            n = dh_min((size_t) (r->header_in->last - r->header_in->pos),
                       (size_t) (ctx->tunnel_in->end - ctx->tunnel_in->last));
            ctx->tunnel_in->last = dh_cpymem(ctx->tunnel_in->last,
                                             r->header_in->pos, n);
            r->header_in->pos += n;
        }

        dh_post_event(r->connection->read, &dh_posted_events);
    }

    return DH_OK;
}


/* A buffer the client has taken completely, or NULL. */
static dh_buf_t *
dh_http_proxy_free_buf(dh_http_request_t *r, dh_http_proxy_ctx_t *ctx)
{
    size_t      size;
    dh_buf_t   *b;
    dh_uint_t   i;

    size = ctx->plcf->upstream.buffer_size;

    if (ctx->upstream->headers_in.content_length_n >= 0
        && ctx->upstream->headers_in.content_length_n < (off_t) size
        && !ctx->tunnel)
    {
        /* a small answer of known length: a small allocation from the
         * request pool rather than a large one per request */
        size = dh_max((size_t) ctx->upstream->headers_in.content_length_n,
                      (size_t) 1);
    }

    for (i = 0; i < ctx->nbufs; i++) {
        b = &ctx->bufs[i];

        if (b->start == NULL) {
            b->start = dh_palloc(r->pool, size);
            if (b->start == NULL) {
                return NULL;
            }

            b->end = b->start + size;
            b->pos = b->start;
            b->last = b->start;
            return b;
        }

        /* a filter may still point into a buffer it marked as taken
         * (gzip hands the bytes to zlib before zlib took them all) until
         * the chain drained: reuse only when nothing is held */
        if (b->pos == b->last && !ctx->blocked) {
            b->pos = b->start;
            b->last = b->start;
            b->flush = 0;
            return b;
        }
    }

    return NULL;
}


static dh_int_t
dh_http_proxy_output(dh_http_request_t *r, dh_http_proxy_ctx_t *ctx,
    dh_buf_t *b)
{
    dh_int_t    rc;
    dh_chain_t  cl;

    cl.buf = b;
    cl.next = NULL;

    /* a tunnel's bytes are raw: no body filter may touch them */
    if (ctx->tunnel) {
        rc = dh_http_write_filter(r, b ? &cl : NULL);
    } else {
        rc = dh_http_output_filter(r, b ? &cl : NULL);
    }

    ctx->blocked = (rc == DH_AGAIN);

    return rc;
}


static void
dh_http_proxy_send_timer(dh_http_request_t *r)
{
    dh_event_t               *wev;
    dh_http_core_loc_conf_t  *clcf;

    wev = r->connection->write;

    if (r->out) {
        clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);
        wev->cancelable = 0;
        dh_event_add_timer(wev, clcf->send_timeout);

    } else if (wev->timer_set) {
        dh_event_del_timer(wev);
    }
}


static dh_int_t
dh_http_proxy_on_data(dh_http_upstream_t *u, dh_buf_t *b)
{
    size_t                n;
    dh_buf_t             *fb;
    dh_int_t              rc;
    dh_http_request_t    *r;
    dh_http_proxy_ctx_t  *ctx;

    ctx = u->data;
    r = ctx->request;

    while (b->pos < b->last) {
        fb = dh_http_proxy_free_buf(r, ctx);

        if (fb == NULL && r->out) {
            /* what the write filter holds back must go before we wait */
            if (dh_http_proxy_output(r, ctx, &ctx->flush) == DH_ERROR) {
                return DH_ERROR;
            }

            fb = dh_http_proxy_free_buf(r, ctx);
        }

        if (fb == NULL) {
            ctx->paused = 1;
            dh_http_proxy_send_timer(r);
            return DH_AGAIN;
        }

        n = dh_min((size_t) (b->last - b->pos), (size_t) (fb->end - fb->last));
        fb->last = dh_cpymem(fb->last, b->pos, n);
        b->pos += n;
        fb->flush = ctx->streaming;

        rc = dh_http_proxy_output(r, ctx, fb);

        if (rc == DH_ERROR) {
            return DH_ERROR;
        }
    }

    dh_http_proxy_send_timer(r);

    return DH_OK;
}


static void
dh_http_proxy_on_done(dh_http_upstream_t *u, dh_int_t rc)
{
    dh_http_request_t    *r;
    dh_http_proxy_ctx_t  *ctx;

    ctx = u->data;
    r = ctx->request;

    ctx->upstream_done = 1;
    ctx->done_rc = rc;

    r->write_event_handler = dh_http_proxy_finish;
    dh_post_event(r->connection->write, &dh_posted_events);
}


/* Client writable: send what waits, and let the backend go on. */
static void
dh_http_proxy_write_handler(dh_http_request_t *r)
{
    dh_connection_t      *c;
    dh_http_proxy_ctx_t  *ctx;

    c = r->connection;
    ctx = dh_http_get_module_ctx(r, dh_http_proxy_module);

    if (c->write->timedout) {
        dh_log_error(DH_LOG_INFO, c->log, DH_ETIMEDOUT, "client timed out");
        c->timedout = 1;
        dh_http_proxy_cleanup(ctx);
        dh_http_finalize_request(r, DH_ERROR);
        return;
    }

    if ((r->out || ctx->blocked)
        && dh_http_proxy_output(r, ctx, NULL) == DH_ERROR)
    {
        dh_http_proxy_cleanup(ctx);
        dh_http_finalize_request(r, DH_ERROR);
        return;
    }

    dh_http_proxy_send_timer(r);

    if (ctx->paused && !ctx->upstream_done
        && dh_http_proxy_free_buf(r, ctx) != NULL)
    {
        ctx->paused = 0;
        dh_http_upstream_resume(ctx->upstream);
    }
}


/* Nothing to read from the client while it waits: a read event means it
 * closed (or sent the next pipelined request, left for later). */
static void
dh_http_proxy_client_check(dh_http_request_t *r)
{
    int                   n;
    char                  buf[1];
    dh_err_t              err;
    dh_connection_t      *c;
    dh_http_proxy_ctx_t  *ctx;

    c = r->connection;
    ctx = dh_http_get_module_ctx(r, dh_http_proxy_module);

    if (ctx == NULL || ctx->finished) {
        return;
    }

    n = recv(c->fd, buf, 1, MSG_PEEK);
    err = dh_socket_errno;

    if (n > 0 || (n == -1 && (err == DH_EAGAIN || err == DH_EINTR))) {
        return;
    }

    dh_log_error(DH_LOG_INFO, c->log, n == 0 ? 0 : err,
                 "client prematurely closed connection");

    c->error = 1;
    dh_http_proxy_cleanup(ctx);
    ctx->finished = 1;
    dh_http_finalize_request(r, DH_HTTP_CLIENT_CLOSED_REQUEST);
}


/* Every end of a proxied request, from the posted write event. */
static void
dh_http_proxy_finish(dh_http_request_t *r)
{
    dh_int_t              rc;
    dh_http_upstream_t   *u;
    dh_http_proxy_ctx_t  *ctx;

    ctx = dh_http_get_module_ctx(r, dh_http_proxy_module);
    u = ctx->upstream;

    if (ctx->finished) {
        return;
    }

    ctx->finished = 1;

    if (ctx->done_rc != DH_OK) {
        if (!u->header_done) {
            dh_http_finalize_request(r,
                                     dh_http_upstream_error_status(
                                         ctx->done_rc));
            return;
        }

        /* the response was cut: the client gets what came (best
         * effort, no waiting) and then sees it cut too */
        (void) dh_http_proxy_output(r, ctx, &ctx->flush);
        dh_http_finalize_request(r, DH_ERROR);
        return;
    }

    if (ctx->tunnel) {
        r->keepalive = 0;
        rc = r->out ? dh_http_proxy_output(r, ctx, NULL) : DH_OK;

    } else {
        rc = dh_http_proxy_output(r, ctx, &ctx->last);
    }

    if (rc == DH_ERROR) {
        dh_http_finalize_request(r, DH_ERROR);
        return;
    }

    dh_http_finalize_request(r, r->out ? DH_AGAIN : DH_OK);
}


/* ---- streamed request body -------------------------------------------- */

static dh_int_t
dh_http_proxy_body_data(dh_http_request_t *r, dh_buf_t *b)
{
    dh_int_t              rc;
    dh_http_proxy_ctx_t  *ctx;

    ctx = dh_http_get_module_ctx(r, dh_http_proxy_module);

    if (ctx->upstream_done) {
        return DH_ERROR;
    }

    rc = dh_http_upstream_send_body(ctx->upstream, b, 0);

    if (rc == DH_AGAIN) {
        ctx->body_wait = 1;
    }

    return rc;
}


static void
dh_http_proxy_body_done(dh_http_request_t *r, dh_int_t rc)
{
    dh_http_proxy_ctx_t  *ctx;

    ctx = dh_http_get_module_ctx(r, dh_http_proxy_module);

    ctx->body_stream = 0;

    if (ctx->upstream_done) {
        /* the backend side ended first: dh_http_proxy_finish() runs */
        return;
    }

    if (rc != DH_OK) {
        dh_http_proxy_cleanup(ctx);
        ctx->finished = 1;
        dh_http_request_body_error(r, rc);
        return;
    }

    ctx->body_last = 1;
    r->read_event_handler = dh_http_proxy_client_check;

    dh_http_proxy_on_body_ready(ctx->upstream);
}


/* The backend can take more of the request body (or tunnel bytes). */
static void
dh_http_proxy_on_body_ready(dh_http_upstream_t *u)
{
    dh_buf_t              b;
    dh_http_request_t    *r;
    dh_http_proxy_ctx_t  *ctx;

    ctx = u->data;
    r = ctx->request;

    if (ctx->upstream_done) {
        return;
    }

    if (ctx->tunnel) {
        if (ctx->tunnel_wait) {
            ctx->tunnel_wait = 0;
            dh_http_proxy_tunnel_read(r);
        }

        return;
    }

    if (ctx->body_wait) {
        ctx->body_wait = 0;
        dh_http_request_body_resume(r);
        return;
    }

    if (ctx->body_last) {
        dh_memzero(&b, sizeof(dh_buf_t));

        if (dh_http_upstream_send_body(u, &b, 1) != DH_AGAIN) {
            /* taken, or failed: on_done tells */
            ctx->body_last = 0;
        }
    }
}


/* ---- tunnel (101) ------------------------------------------------------ */

static void
dh_http_proxy_tunnel_read(dh_http_request_t *r)
{
    ssize_t               n;
    dh_int_t              rc;
    dh_buf_t             *b;
    dh_connection_t      *c;
    dh_http_proxy_ctx_t  *ctx;

    c = r->connection;
    ctx = dh_http_get_module_ctx(r, dh_http_proxy_module);
    b = ctx->tunnel_in;

    if (ctx->upstream_done || ctx->finished || ctx->tunnel_wait) {
        return;
    }

    for ( ;; ) {
        if (b->pos < b->last) {
            rc = dh_http_upstream_send_body(ctx->upstream, b, 0);

            if (rc == DH_AGAIN) {
                ctx->tunnel_wait = 1;
                return;
            }

            if (rc != DH_OK) {
                /* on_done tells */
                return;
            }
        }

        b->pos = b->start;
        b->last = b->start;

        n = c->recv(c, b->last, b->end - b->last);

        if (n == DH_AGAIN) {
            return;
        }

        if (n == 0 || n == DH_ERROR) {
            /* the client ended the tunnel: so does the backend side */
            dh_http_proxy_cleanup(ctx);
            ctx->finished = 1;
            r->keepalive = 0;
            dh_http_finalize_request(r, DH_HTTP_CLOSE);
            return;
        }

        b->last += n;
    }
}

/*
 * The upstream request engine (see dh_http_upstream.h): choose a server,
 * connect (or reuse a cached connection), TLS, send the request, parse
 * the response head, deliver the body with back-pressure, retry on the
 * next server, and hand the connection back to the keep-alive cache.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"
#include "dh_http_upstream_int.h"




static void dh_http_upstream_handler(dh_event_t *ev);
static void dh_http_upstream_connected(dh_http_upstream_t *u);
static void dh_http_upstream_ssl_done(dh_connection_t *c);
static void dh_http_upstream_send(dh_http_upstream_t *u);


dh_http_upstream_t *
dh_http_upstream_create(dh_pool_t *pool, dh_http_request_t *r)
{
    dh_http_upstream_t  *u;

    u = dh_pcalloc(pool, sizeof(dh_http_upstream_t));
    if (u == NULL) {
        return NULL;
    }

    u->pool = pool;
    u->request = r;
    u->log = r ? r->connection->log : pool->log;
    u->headers_in.content_length_n = -1;

    return u;
}


static dh_int_t
dh_http_upstream_key(dh_http_upstream_t *u, dh_http_upstream_ctx_t *ctx)
{
    u_char                *p;
    dh_str_t               key;
    struct sockaddr       *sa;
    dh_connection_t       *c;

    if (u->upstream->balancer == DH_HTTP_UPSTREAM_IP_HASH) {
        if (u->request == NULL) {
            return DH_OK;
        }

        c = u->request->connection;
        sa = c->sockaddr;

        /* IPv4 clients of one /24 share a server, as nginx's ip_hash */
        if (sa->sa_family == AF_INET) {
            p = (u_char *) &((struct sockaddr_in *) sa)->sin_addr;
            ctx->hash = dh_http_upstream_hash(p, 3);
            ctx->use_hash = 1;

        } else if (sa->sa_family == AF_INET6) {
            p = (u_char *) &((struct sockaddr_in6 *) sa)->sin6_addr;
            ctx->hash = dh_http_upstream_hash(p, 16);
            ctx->use_hash = 1;
        }

        return DH_OK;
    }

    if (u->upstream->balancer != DH_HTTP_UPSTREAM_HASH) {
        return DH_OK;
    }

    if (u->hash_key.len) {
        key = u->hash_key;

    } else if (u->request && u->upstream->hash_key) {
        if (dh_http_complex_value(u->request, u->upstream->hash_key, &key)
            != DH_OK)
        {
            return DH_ERROR;
        }

    } else {
        return DH_OK;
    }

    ctx->hash = dh_http_upstream_hash(key.data, key.len);
    ctx->use_hash = 1;

    return DH_OK;
}


dh_int_t
dh_http_upstream_start(dh_http_upstream_t *u)
{
    dh_uint_t                n;
    dh_http_upstream_ctx_t  *ctx;

    if (u->upstream == NULL || u->conf == NULL || u->on_done == NULL
        || u->request_bufs == NULL || u->upstream->runtime == NULL
        || u->resolving)
    {
        dh_log_error(DH_LOG_ALERT, u->log, 0,
                     "upstream request started without an upstream, "
                     "settings, request or on_done");
        return DH_ERROR;
    }

    ctx = dh_pcalloc(u->pool, sizeof(dh_http_upstream_ctx_t));
    if (ctx == NULL) {
        return DH_ERROR;
    }

    n = dh_http_upstream_npeers(u->upstream);

    /* the peers of a name resolved at run time may be replaced by more
     * while the request runs: room for the most a name can have */
    ctx->tried = dh_pcalloc(u->pool, (dh_max(n, 64) + 7) / 8);
    ctx->parse = dh_pcalloc(u->pool, sizeof(dh_http_request_t));
    ctx->buffer = dh_create_temp_buf(u->pool, u->conf->buffer_size);
    u->states = dh_array_create(u->pool, 2,
                                sizeof(dh_http_upstream_state_t));

    if (ctx->tried == NULL || ctx->parse == NULL || ctx->buffer == NULL
        || u->states == NULL)
    {
        return DH_ERROR;
    }

    if (u->request_body_stream) {
        ctx->staged = dh_create_temp_buf(u->pool, u->conf->buffer_size);
        if (ctx->staged == NULL) {
            return DH_ERROR;
        }
    }

    if (dh_http_upstream_key(u, ctx) != DH_OK) {
        return DH_ERROR;
    }

    u->priv = ctx;
    ctx->start = dh_current_msec;

    if (u->request) {
        dh_http_set_ctx(u->request, u, dh_http_upstream_module);
    }

    dh_http_upstream_connect(u);

    return DH_OK;
}


/* A copy of the request chain whose buffers can be advanced by the
 * senders, so the caller's chain stays whole for a retry. */
static dh_chain_t *
dh_http_upstream_copy_request(dh_http_upstream_t *u)
{
    dh_buf_t    *b;
    dh_chain_t  *in, *cl, *head, **last;

    head = NULL;
    last = &head;

    for (in = u->request_bufs; in; in = in->next) {
        b = dh_alloc_buf(u->pool);
        cl = dh_alloc_chain_link(u->pool);
        if (b == NULL || cl == NULL) {
            return DH_CHAIN_ERROR;
        }

        *b = *in->buf;
        cl->buf = b;
        cl->next = NULL;
        *last = cl;
        last = &cl->next;
    }

    return head;
}


static void
dh_http_upstream_attach(dh_http_upstream_t *u, dh_connection_t *c)
{
    dh_http_upstream_rt_t  *rt;

    c->data = u;
    c->log = u->log;
    c->read->log = u->log;
    c->write->log = u->log;
    c->read->handler = dh_http_upstream_handler;
    c->write->handler = dh_http_upstream_handler;

    u->connection = c;
    u->peer->conns++;

    rt = u->upstream->runtime;
    rt->active++;
    dh_http_upstream_gauge(u->upstream, 0, 1);
}


dh_uint_t
dh_http_upstream_may_retry(dh_http_upstream_t *u)
{
    dh_http_upstream_ctx_t  *ctx = u->priv;

    if (u->conf->next_upstream & DH_HTTP_UPSTREAM_FT_OFF) {
        return 0;
    }

    if (u->conf->next_upstream_tries
        && ctx->tries >= u->conf->next_upstream_tries)
    {
        return 0;
    }

    if (u->conf->next_upstream_timeout
        && dh_current_msec - ctx->start >= u->conf->next_upstream_timeout)
    {
        return 0;
    }

    if (ctx->request_sent && u->non_idempotent
        && !(u->conf->next_upstream & DH_HTTP_UPSTREAM_FT_NON_IDEMPOTENT))
    {
        return 0;
    }

    /* a streamed body can only be sent again while all of it is staged */
    if (u->request_body_stream && ctx->body_flushed) {
        return 0;
    }

    return 1;
}


void
dh_http_upstream_connect(dh_http_upstream_t *u)
{
    dh_int_t                  rc;
    dh_uint_t                 i;
    dh_pool_t                *pool;
    dh_connection_t          *c;
    dh_peer_connection_t      pc;
    dh_http_upstream_peer_t  *peer;
    dh_http_upstream_ctx_t   *ctx = u->priv;

    peer = u->peer;

    /* a retry after a stale keep-alive connection keeps its server */
    if (!(ctx->fresh_only && ctx->reused)) {
        peer = dh_http_upstream_get_peer(u->upstream, ctx->tried, ctx->hash,
                                         ctx->use_hash);
        if (peer == NULL) {
            dh_log_error(DH_LOG_ERR, u->log, 0,
                         "no live upstreams while connecting to upstream "
                         "\"%.*s\"", DH_STR_FMT(u->upstream->name));
            dh_http_upstream_count_failure(u, DH_HTTP_UPSTREAM_ERR_NO_LIVE);
            dh_http_upstream_finalize(u, DH_HTTP_UPSTREAM_ERR_NO_LIVE);
            return;
        }

        i = peer - u->upstream->peers;
        ctx->tried[i >> 3] |= (uint8_t) (1u << (i & 7));
        ctx->tries++;
    }

    u->peer = peer;

    ctx->state = dh_array_push(u->states);
    if (ctx->state == NULL) {
        dh_http_upstream_finalize(u, DH_HTTP_UPSTREAM_ERR_INTERNAL);
        return;
    }

    ctx->state->peer = &peer->name;
    ctx->state->status = 0;
    ctx->state->connect_time = (dh_msec_t) -1;
    ctx->state->header_time = (dh_msec_t) -1;
    ctx->state->response_time = (dh_msec_t) -1;
    ctx->try_start = dh_current_msec;

    /* the try starts from a clean slate */
    ctx->out = dh_http_upstream_copy_request(u);
    if (ctx->out == DH_CHAIN_ERROR) {
        dh_http_upstream_finalize(u, DH_HTTP_UPSTREAM_ERR_INTERNAL);
        return;
    }

    if (ctx->staged) {
        ctx->staged->pos = ctx->staged->start;
    }

    ctx->buffer->pos = ctx->buffer->start;
    ctx->buffer->last = ctx->buffer->start;
    ctx->status.state = 0;
    ctx->in_headers = 0;
    ctx->got_bytes = 0;
    ctx->request_sent = 0;
    ctx->head_sent = 0;
    ctx->reused = 0;

    c = ctx->fresh_only ? NULL
                        : dh_http_upstream_keepalive_get(u->upstream, peer);

    if (c) {
        ctx->reused = 1;
        dh_http_upstream_attach(u, c);
        ctx->state->connect_time = 0;
        ctx->phase = DH_UPS_SEND;
        dh_http_upstream_send(u);
        return;
    }

    dh_memzero(&pc, sizeof(dh_peer_connection_t));
    pc.sockaddr = peer->sockaddr;
    pc.socklen = peer->socklen;
    pc.name = &peer->name;
    pc.log = u->log;

    rc = dh_event_connect_peer(&pc);

    if (rc == DH_ERROR) {
        dh_http_upstream_finalize(u, DH_HTTP_UPSTREAM_ERR_INTERNAL);
        return;
    }

    if (rc == DH_DECLINED) {
        /* dh_event_connect_peer() logged the connect() failure */
        dh_http_upstream_next(u, DH_HTTP_UPSTREAM_ERR_CONNECT, NULL);
        return;
    }

    c = pc.connection;

    pool = dh_create_pool(1024, u->log);
    if (pool == NULL) {
        dh_close_connection(c);
        dh_http_upstream_finalize(u, DH_HTTP_UPSTREAM_ERR_INTERNAL);
        return;
    }

    c->pool = pool;
    c->sockaddr = peer->sockaddr;
    c->socklen = peer->socklen;
    c->addr_text = peer->name;

    dh_http_upstream_attach(u, c);

    if (rc == DH_AGAIN) {
        ctx->phase = DH_UPS_CONNECT;
        dh_event_add_timer(c->write, u->conf->connect_timeout);
        return;
    }

    dh_http_upstream_connected(u);
}


static void
dh_http_upstream_connected(dh_http_upstream_t *u)
{
    dh_int_t                 rc;
    dh_str_t                *name;
    dh_connection_t         *c = u->connection;
    dh_http_upstream_ctx_t  *ctx = u->priv;

    if (c->write->timer_set) {
        dh_event_del_timer(c->write);
    }

    ctx->state->connect_time = dh_current_msec - ctx->try_start;

    /* small requests must not wait for the previous segment's ack */
    if (c->sockaddr->sa_family != AF_UNIX && dh_tcp_nodelay(c) != DH_OK) {
        dh_http_upstream_next(u, DH_HTTP_UPSTREAM_ERR_CONNECT, NULL);
        return;
    }

    if (!u->conf->ssl) {
        ctx->phase = DH_UPS_SEND;
        dh_http_upstream_send(u);
        return;
    }

    if (dh_http_upstream_ssl_hooks.start == NULL || u->conf->ssl_ctx == NULL)
    {
        dh_log_error(DH_LOG_ALERT, u->log, 0,
                     "TLS to upstream without a TLS context");
        dh_http_upstream_finalize(u, DH_HTTP_UPSTREAM_ERR_INTERNAL);
        return;
    }

    ctx->phase = DH_UPS_HANDSHAKE;
    name = u->conf->ssl_name.len ? &u->conf->ssl_name : &u->upstream->host;

    rc = dh_http_upstream_ssl_hooks.start(c, u->conf, name,
                                          dh_http_upstream_ssl_done);

    if (rc == DH_AGAIN) {
        /* the handshake's timeout is a timer on c->read */
        dh_event_add_timer(c->read, u->conf->connect_timeout);
        return;
    }

    dh_http_upstream_ssl_done(c);
}


static void
dh_http_upstream_ssl_done(dh_connection_t *c)
{
    dh_http_upstream_t      *u = c->data;
    dh_http_upstream_ctx_t  *ctx = u->priv;

    if (c->read->timer_set) {
        dh_event_del_timer(c->read);
    }

    c->read->handler = dh_http_upstream_handler;
    c->write->handler = dh_http_upstream_handler;

    if (c->read->timedout || c->timedout) {
        c->read->timedout = 0;
        dh_http_upstream_next(u, DH_HTTP_UPSTREAM_ERR_TIMEOUT,
                              "during the TLS handshake");
        return;
    }

    if (!dh_http_upstream_ssl_hooks.handshaked(c)) {
        dh_http_upstream_next(u, DH_HTTP_UPSTREAM_ERR_SSL,
                              "during the TLS handshake");
        return;
    }

    ctx->state->connect_time = dh_current_msec - ctx->try_start;
    ctx->phase = DH_UPS_SEND;
    dh_http_upstream_send(u);
}


/* ---- sending */

/* DH_OK: everything queued went out; DH_AGAIN; DH_ERROR */
static dh_int_t
dh_http_upstream_flush(dh_http_upstream_t *u)
{
    off_t                    sent;
    dh_chain_t              *rest;
    dh_connection_t         *c = u->connection;
    dh_http_upstream_ctx_t  *ctx = u->priv;

    sent = c->sent;

    if (ctx->out) {
        rest = c->send_chain(c, ctx->out, 0);
        if (rest == DH_CHAIN_ERROR) {
            return DH_ERROR;
        }

        ctx->out = rest;
        if (c->sent != sent) {
            ctx->request_sent = 1;
        }

        if (rest) {
            return DH_AGAIN;
        }
    }

    ctx->head_sent = 1;

    if (ctx->staged && ctx->staged->pos < ctx->staged->last) {
        ctx->staged_cl.buf = ctx->staged;
        ctx->staged_cl.next = NULL;

        sent = c->sent;
        rest = c->send_chain(c, &ctx->staged_cl, 0);

        if (rest == DH_CHAIN_ERROR) {
            return DH_ERROR;
        }

        if (c->sent != sent) {
            ctx->request_sent = 1;
            ctx->body_flushed = 1;
        }

        if (rest) {
            return DH_AGAIN;
        }

        /* all of it went out: the staging buffer starts over */
        ctx->staged->pos = ctx->staged->start;
        ctx->staged->last = ctx->staged->start;
    }

    return DH_OK;
}


dh_uint_t
dh_http_upstream_request_complete(dh_http_upstream_t *u)
{
    dh_http_upstream_ctx_t  *ctx = u->priv;

    if (u->upgraded) {
        return 0;
    }

    return ctx->head_sent && (!u->request_body_stream || ctx->body_last)
           && (ctx->staged == NULL || ctx->staged->pos == ctx->staged->last);
}


static void
dh_http_upstream_send(dh_http_upstream_t *u)
{
    dh_int_t                 rc;
    dh_connection_t         *c = u->connection;
    dh_http_upstream_ctx_t  *ctx = u->priv;

    rc = dh_http_upstream_flush(u);

    if (rc == DH_ERROR) {
        if (ctx->phase >= DH_UPS_BODY) {
            dh_http_upstream_finalize(u, DH_HTTP_UPSTREAM_ERR_CONNECT);
            return;
        }

        dh_http_upstream_next(u, DH_HTTP_UPSTREAM_ERR_CONNECT,
                              "while sending request to upstream");
        return;
    }

    if (rc == DH_AGAIN) {
        if (!c->write->timer_set) {
            dh_event_add_timer(c->write, u->conf->send_timeout);
        }
        return;
    }

    if (c->write->timer_set) {
        dh_event_del_timer(c->write);
    }

    if (ctx->staged && ctx->body_last && u->upgraded && !ctx->shut_wr
        && c->ssl == NULL)
    {
        /* the client half-closed the tunnel: pass it on */
        ctx->shut_wr = 1;
        (void) shutdown(c->fd, SHUT_WR);
    }

    if (ctx->body_wanted && !ctx->in_send_body && u->on_body_ready) {
        ctx->body_wanted = 0;
        u->on_body_ready(u);

        if (ctx->phase == DH_UPS_FINISHED || u->connection != c) {
            return;
        }
    }

    if (ctx->phase == DH_UPS_SEND) {
        if (dh_http_upstream_request_complete(u)) {
            if (!c->read->timer_set) {
                dh_event_add_timer(c->read, u->conf->read_timeout);
            }
        }

        /* edge-triggered: a response that came while we were writing
         * raised no new edge */
        if (c->read->ready) {
            dh_http_upstream_read_header(u);
        }
    }
}


/* Copies [b->pos, b->last) into the staging buffer as far as it fits,
 * framed as a chunk when asked. */
static void
dh_http_upstream_stage(dh_http_upstream_t *u, dh_buf_t *b, dh_uint_t last)
{
    size_t                   room, n;
    dh_buf_t                *s;
    dh_http_upstream_ctx_t  *ctx = u->priv;

    s = ctx->staged;
    room = s->end - s->last;
    n = b->last - b->pos;

    if (u->request_body_chunked && !u->upgraded) {
        room = (room > DH_UPS_CHUNK_OVERHEAD + sizeof(DH_UPS_LAST_CHUNK))
               ? room - DH_UPS_CHUNK_OVERHEAD - sizeof(DH_UPS_LAST_CHUNK)
               : 0;
    }

    if (n > room) {
        n = room;
    }

    if (n) {
        if (u->request_body_chunked && !u->upgraded) {
            s->last = dh_slprintf(s->last, s->end, "%lx\r\n",
                                  (unsigned long) n);
            s->last = dh_cpymem(s->last, b->pos, n);
            *s->last++ = CR;
            *s->last++ = LF;

        } else {
            s->last = dh_cpymem(s->last, b->pos, n);
        }

        b->pos += n;
    }

    if (last && b->pos == b->last) {
        if (u->request_body_chunked && !u->upgraded) {
            s->last = dh_cpymem(s->last, DH_UPS_LAST_CHUNK,
                                sizeof(DH_UPS_LAST_CHUNK) - 1);
        }

        ctx->body_last = 1;
    }
}


dh_int_t
dh_http_upstream_send_body(dh_http_upstream_t *u, dh_buf_t *b,
    dh_uint_t last)
{
    dh_http_upstream_ctx_t  *ctx = u->priv;

    if (u->resolving || ctx == NULL || u->done
        || ctx->phase == DH_UPS_FINISHED || ctx->staged == NULL
        || ctx->body_last)
    {
        return DH_ERROR;
    }

    for ( ;; ) {
        dh_http_upstream_stage(u, b, last);

        if (ctx->phase < DH_UPS_SEND || u->connection == NULL) {
            break;
        }

        ctx->in_send_body = 1;
        dh_http_upstream_send(u);
        ctx->in_send_body = 0;

        if (u->done || ctx->phase == DH_UPS_FINISHED) {
            return DH_ERROR;
        }

        /* go on only while the socket took all that was staged */
        if (b->pos == b->last || ctx->staged->last != ctx->staged->start) {
            break;
        }
    }

    if (b->pos == b->last) {
        return DH_OK;
    }

    ctx->body_wanted = 1;

    return DH_AGAIN;
}


/* ---- events */

static void
dh_http_upstream_connect_result(dh_http_upstream_t *u)
{
    int               err;
    socklen_t         len;
    dh_connection_t  *c = u->connection;

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = dh_socket_errno;
    }

    if (err) {
        dh_log_error(DH_LOG_ERR, u->log, err,
                     "connect() failed while connecting to upstream, "
                     "upstream: %.*s", DH_STR_FMT(u->peer->name));
        dh_http_upstream_next(u, DH_HTTP_UPSTREAM_ERR_CONNECT, NULL);
        return;
    }

    dh_http_upstream_connected(u);
}


static void
dh_http_upstream_handler(dh_event_t *ev)
{
    dh_connection_t         *c = ev->data;
    dh_http_upstream_t      *u = c->data;
    dh_http_upstream_ctx_t  *ctx = u->priv;

    if (ev->timedout) {
        ev->timedout = 0;

        switch (ctx->phase) {
        case DH_UPS_CONNECT:
            dh_http_upstream_next(u, DH_HTTP_UPSTREAM_ERR_TIMEOUT,
                                  "while connecting to upstream");
            return;
        case DH_UPS_SEND:
            dh_http_upstream_next(u, DH_HTTP_UPSTREAM_ERR_TIMEOUT,
                                  ev->write ? "while sending request to "
                                              "upstream"
                                            : "while reading response "
                                              "header from upstream");
            return;
        default:
            dh_log_error(DH_LOG_ERR, u->log, DH_ETIMEDOUT,
                         "upstream timed out %s, upstream: %.*s",
                         ev->write ? "while sending to upstream"
                                   : "while reading upstream",
                         DH_STR_FMT(u->peer->name));
            dh_http_upstream_count_failure(u, DH_HTTP_UPSTREAM_ERR_TIMEOUT);
            dh_http_upstream_finalize(u, DH_HTTP_UPSTREAM_ERR_TIMEOUT);
            return;
        }
    }

    if (c->close) {
        /* the worker is shutting down and wants the slot: an upstream
         * request in flight is not idle, so this comes only on the
         * shutdown deadline */
        dh_http_upstream_finalize(u, DH_HTTP_UPSTREAM_ERR_ABORTED);
        return;
    }

    switch (ctx->phase) {

    case DH_UPS_CONNECT:
        dh_http_upstream_connect_result(u);
        return;

    case DH_UPS_SEND:
        if (ev->write) {
            dh_http_upstream_send(u);
            return;
        }
        dh_http_upstream_read_header(u);
        return;

    case DH_UPS_BODY:
    case DH_UPS_UPGRADED:
        if (ev->write) {
            dh_http_upstream_send(u);
            return;
        }

        if (!ctx->paused) {
            dh_http_upstream_process_body(u);
        }
        return;

    default:
        return;
    }
}


/* ---- the end of a try and of the request */

void
dh_http_upstream_release(dh_http_upstream_t *u, dh_uint_t keep)
{
    dh_connection_t         *c = u->connection;
    dh_http_upstream_rt_t   *rt;

    if (c == NULL) {
        return;
    }

    u->connection = NULL;
    u->peer->conns--;

    rt = u->upstream->runtime;
    rt->active--;
    dh_http_upstream_gauge(u->upstream, 0, -1);

    if (c->read->timer_set) {
        dh_event_del_timer(c->read);
    }

    if (c->write->timer_set) {
        dh_event_del_timer(c->write);
    }

    if (keep) {
        c->requests++;
        dh_http_upstream_keepalive_put(u->upstream, u->peer, c);
        return;
    }

    dh_http_upstream_close_connection(c);
}


static dh_uint_t
dh_http_upstream_ft(dh_int_t rc)
{
    switch (rc) {
    case DH_HTTP_UPSTREAM_ERR_TIMEOUT:
        return DH_HTTP_UPSTREAM_FT_TIMEOUT;
    case DH_HTTP_UPSTREAM_ERR_INVALID_HEADER:
        return DH_HTTP_UPSTREAM_FT_INVALID_HEADER;
    case DH_HTTP_UPSTREAM_ERR_CONNECT:
    case DH_HTTP_UPSTREAM_ERR_CLOSED:
    case DH_HTTP_UPSTREAM_ERR_SSL:
        return DH_HTTP_UPSTREAM_FT_ERROR;
    default:
        return 0;
    }
}


/* A try failed before on_header: log, count, and go on or give up. */
void
dh_http_upstream_next(dh_http_upstream_t *u, dh_int_t rc, const char *what)
{
    dh_uint_t                stale;
    dh_http_upstream_ctx_t  *ctx = u->priv;

    /* a cached connection the server had closed: not the server's fault,
     * and worth one more go on a fresh connection */
    stale = ctx->reused && !ctx->got_bytes && !ctx->fresh_only
            && (rc == DH_HTTP_UPSTREAM_ERR_CONNECT
                || rc == DH_HTTP_UPSTREAM_ERR_CLOSED)
            && (!u->request_body_stream || !ctx->body_flushed);

    if (stale) {
        dh_log_error(DH_LOG_INFO, u->log, 0,
                     "cached upstream connection failed, retrying on a new "
                     "one, upstream: %.*s", DH_STR_FMT(u->peer->name));
        ctx->state->response_time = dh_current_msec - ctx->try_start;
        dh_http_upstream_release(u, 0);
        ctx->fresh_only = 1;
        dh_http_upstream_connect(u);
        return;
    }

    if (what) {
        if (rc == DH_HTTP_UPSTREAM_ERR_TIMEOUT) {
            dh_log_error(DH_LOG_ERR, u->log, DH_ETIMEDOUT,
                         "upstream timed out %s, upstream: %.*s", what,
                         DH_STR_FMT(u->peer->name));

        } else {
            dh_log_error(DH_LOG_ERR, u->log, 0, "%s%s, upstream: %.*s",
                         (rc == DH_HTTP_UPSTREAM_ERR_CONNECT
                          || rc == DH_HTTP_UPSTREAM_ERR_SSL)
                         ? "upstream failed " : "",
                         what, DH_STR_FMT(u->peer->name));
        }
    }

    dh_http_upstream_count_failure(u, rc);
    dh_http_upstream_peer_done(u->upstream, u->peer, 1, u->log);

    ctx->state->response_time = dh_current_msec - ctx->try_start;
    dh_http_upstream_release(u, 0);

    ctx->fresh_only = 0;

    if ((u->conf->next_upstream & dh_http_upstream_ft(rc))
        && dh_http_upstream_may_retry(u)
        && dh_http_upstream_peer_left(u->upstream, ctx->tried))
    {
        dh_http_upstream_connect(u);
        return;
    }

    dh_http_upstream_finalize(u, rc);
}


void
dh_http_upstream_finalize(dh_http_upstream_t *u, dh_int_t rc)
{
    dh_uint_t                keep;
    dh_buf_t                *b;
    dh_http_upstream_ctx_t  *ctx = u->priv;

    if (u->done) {
        return;
    }

    u->done = 1;

    if (ctx->state && ctx->state->response_time == (dh_msec_t) -1) {
        ctx->state->response_time = dh_current_msec - ctx->try_start;
    }

    keep = 0;
    b = ctx->buffer;

    if (rc == DH_OK && !u->upgraded && !ctx->close_delimited
        && !u->headers_in.connection_close
        && b->pos == b->last && dh_http_upstream_request_complete(u))
    {
        keep = 1;
    }

    if (rc != DH_OK && u->header_done && u->peer) {
        dh_http_upstream_count_failure(u, rc);
    }

    if (u->connection) {
        dh_http_upstream_release(u, keep);
    }

    ctx->phase = DH_UPS_FINISHED;

    dh_http_upstream_observe(u, dh_current_msec - ctx->start);

    u->on_done(u, rc);
}


void
dh_http_upstream_cancel(dh_http_upstream_t *u)
{
    dh_http_upstream_ctx_t  *ctx;

    if (u->resolving) {
        dh_http_upstream_resolve_cancel(u);
        return;
    }

    ctx = u->priv;

    if (ctx == NULL || u->done) {
        return;
    }

    u->done = 1;
    ctx->phase = DH_UPS_FINISHED;

    if (ctx->state && ctx->state->response_time == (dh_msec_t) -1) {
        ctx->state->response_time = dh_current_msec - ctx->try_start;
    }

    dh_http_upstream_release(u, 0);
}



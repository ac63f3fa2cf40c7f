/*
 * The upstream response: the head (status line, header fields, interim
 * responses, retries on a listed status) and the body, decoded and
 * handed to on_data with back-pressure.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"
#include "dh_http_upstream_int.h"


static dh_int_t
dh_http_upstream_parse_head(dh_http_upstream_t *u)
{
    dh_int_t                 rc;
    dh_buf_t                *b;
    dh_table_elt_t          *h;
    dh_http_request_t       *p;
    dh_http_upstream_ctx_t  *ctx = u->priv;

    b = ctx->buffer;
    p = ctx->parse;

    if (!ctx->in_headers) {
        rc = dh_http_upstream_parse_status_line(&ctx->status, b);
        if (rc != DH_OK) {
            return rc;
        }

        if (dh_list_init(&u->headers_in.headers, u->pool, 16,
                         sizeof(dh_table_elt_t))
            != DH_OK)
        {
            return DH_HTTP_UPSTREAM_ERR_INTERNAL;
        }

        u->headers_in.status = ctx->status.status;
        u->headers_in.http_version = ctx->status.http_version;
        u->headers_in.status_line.data = ctx->status.status_start;
        u->headers_in.status_line.len = ctx->status.status_end
                                        - ctx->status.status_start;
        ctx->in_headers = 1;
        p->state = 0;
    }

    for ( ;; ) {
        rc = dh_http_parse_header_line(p, b);

        if (rc == DH_AGAIN) {
            return DH_AGAIN;
        }

        if (rc == DH_HTTP_PARSE_HEADER_DONE) {
            return DH_OK;
        }

        if (rc != DH_OK) {
            return DH_ERROR;
        }

        h = dh_list_push(&u->headers_in.headers);
        if (h == NULL) {
            return DH_HTTP_UPSTREAM_ERR_INTERNAL;
        }

        h->hash = 1;
        h->next = NULL;
        h->key.data = p->header_name_start;
        h->key.len = p->header_name_end - p->header_name_start;
        h->value.data = p->header_start;
        h->value.len = p->header_end - p->header_start;

        h->lowcase_key = dh_pnalloc(u->pool, h->key.len);
        if (h->lowcase_key == NULL) {
            return DH_HTTP_UPSTREAM_ERR_INTERNAL;
        }

        dh_strlow(h->lowcase_key, h->key.data, h->key.len);
    }
}


static dh_uint_t
dh_http_upstream_status_ft(dh_uint_t status)
{
    switch (status) {
    case 500: return DH_HTTP_UPSTREAM_FT_HTTP_500;
    case 502: return DH_HTTP_UPSTREAM_FT_HTTP_502;
    case 503: return DH_HTTP_UPSTREAM_FT_HTTP_503;
    case 504: return DH_HTTP_UPSTREAM_FT_HTTP_504;
    case 403: return DH_HTTP_UPSTREAM_FT_HTTP_403;
    case 404: return DH_HTTP_UPSTREAM_FT_HTTP_404;
    case 429: return DH_HTTP_UPSTREAM_FT_HTTP_429;
    default:  return 0;
    }
}


/* Frames the body of the response now in headers_in. */
static void
dh_http_upstream_init_body(dh_http_upstream_t *u)
{
    dh_uint_t                       status;
    dh_http_upstream_ctx_t         *ctx = u->priv;
    dh_http_upstream_headers_in_t  *h = &u->headers_in;

    status = h->status;

    if (h->http_version == DH_HTTP_VERSION_10) {
        /* HTTP/1.0 keep-alive is an opt-in we do not ask for */
        h->connection_close = 1;
    }

    if (u->method_head || status == 204 || status == 304 || status < 200) {
        ctx->no_body = 1;
        return;
    }

    if (h->chunked) {
        dh_memzero(&ctx->chunked, sizeof(dh_http_chunked_t));
        return;
    }

    if (h->content_length_n >= 0) {
        ctx->rest = h->content_length_n;
        return;
    }

    ctx->close_delimited = 1;
}


static void
dh_http_upstream_got_header(dh_http_upstream_t *u)
{
    dh_uint_t                ft;
    dh_connection_t         *c = u->connection;
    dh_http_upstream_ctx_t  *ctx = u->priv;

    if (dh_http_upstream_process_headers(&u->headers_in) != DH_OK) {
        dh_http_upstream_next(u, DH_HTTP_UPSTREAM_ERR_INVALID_HEADER,
                              "upstream sent invalid header");
        return;
    }

    ctx->state->status = u->headers_in.status;
    ctx->state->header_time = dh_current_msec - ctx->try_start;

    ft = dh_http_upstream_status_ft(u->headers_in.status);

    if ((u->conf->next_upstream & ft) && dh_http_upstream_may_retry(u)
        && dh_http_upstream_peer_left(u->upstream, ctx->tried))
    {
        ctx->state->response_time = dh_current_msec - ctx->try_start;
        dh_http_upstream_count_request(u, u->headers_in.status);

        /* nginx's rule: 403 and 404 say nothing about the server's
         * health */
        if (ft != DH_HTTP_UPSTREAM_FT_HTTP_403
            && ft != DH_HTTP_UPSTREAM_FT_HTTP_404)
        {
            dh_http_upstream_peer_done(u->upstream, u->peer, 1, u->log);
        }

        dh_log_error(DH_LOG_INFO, u->log, 0,
                     "upstream returned %lu, trying the next server, "
                     "upstream: %.*s", (unsigned long) u->headers_in.status,
                     DH_STR_FMT(u->peer->name));

        dh_http_upstream_release(u, 0);
        dh_memzero(&u->headers_in, sizeof(dh_http_upstream_headers_in_t));
        u->headers_in.content_length_n = -1;
        dh_http_upstream_connect(u);
        return;
    }

    dh_http_upstream_peer_done(u->upstream, u->peer, 0, u->log);
    dh_http_upstream_count_request(u, u->headers_in.status);

    if (c->read->timer_set) {
        dh_event_del_timer(c->read);
    }

    if (u->headers_in.status == 101) {
        u->upgraded = 1;
        ctx->phase = DH_UPS_UPGRADED;
        ctx->close_delimited = 1;

        if (ctx->staged == NULL) {
            ctx->staged = dh_create_temp_buf(u->pool, u->conf->buffer_size);
            if (ctx->staged == NULL) {
                dh_http_upstream_finalize(u, DH_HTTP_UPSTREAM_ERR_INTERNAL);
                return;
            }
        }

        ctx->body_last = 0;

    } else {
        ctx->phase = DH_UPS_BODY;
        dh_http_upstream_init_body(u);
    }

    u->header_done = 1;

    if (u->on_header && u->on_header(u) != DH_OK) {
        if (!u->done) {
            dh_http_upstream_finalize(u, DH_HTTP_UPSTREAM_ERR_ABORTED);
        }
        return;
    }

    if (u->done) {
        return;
    }

    dh_http_upstream_process_body(u);
}


void
dh_http_upstream_read_header(dh_http_upstream_t *u)
{
    ssize_t                  n;
    dh_int_t                 rc;
    dh_buf_t                *b;
    dh_connection_t         *c = u->connection;
    dh_http_upstream_ctx_t  *ctx = u->priv;

    b = ctx->buffer;

    for ( ;; ) {
        if (b->pos == b->last || ctx->status.state || ctx->in_headers) {
            if (b->last == b->end) {
                dh_http_upstream_next(u, DH_HTTP_UPSTREAM_ERR_INVALID_HEADER,
                                      "upstream sent too big header");
                return;
            }

            n = c->recv(c, b->last, b->end - b->last);

            if (n == DH_AGAIN) {
                if (dh_http_upstream_request_complete(u)
                    && !c->read->timer_set)
                {
                    dh_event_add_timer(c->read, u->conf->read_timeout);
                }
                return;
            }

            if (n == 0) {
                dh_http_upstream_next(u, DH_HTTP_UPSTREAM_ERR_CLOSED,
                                      "upstream prematurely closed "
                                      "connection while reading response "
                                      "header from upstream");
                return;
            }

            if (n == DH_ERROR) {
                dh_http_upstream_next(u, DH_HTTP_UPSTREAM_ERR_CONNECT,
                                      "while reading response header "
                                      "from upstream");
                return;
            }

            ctx->got_bytes = 1;
            b->last += n;
        }

        rc = dh_http_upstream_parse_head(u);

        if (rc == DH_AGAIN) {
            continue;
        }

        if (rc == DH_HTTP_UPSTREAM_ERR_INTERNAL) {
            dh_http_upstream_finalize(u, rc);
            return;
        }

        if (rc != DH_OK) {
            dh_http_upstream_next(u, DH_HTTP_UPSTREAM_ERR_INVALID_HEADER,
                                  "upstream sent invalid header");
            return;
        }

        /* interim responses are dropped; the final one follows */
        if (u->headers_in.status < 200 && u->headers_in.status != 101) {
            ctx->in_headers = 0;
            ctx->status.state = 0;
            continue;
        }

        dh_http_upstream_got_header(u);
        return;
    }
}


/* DH_OK: a piece is ready or the body ended (ctx->piece empty);
 * DH_AGAIN: wait for the socket; or an error code. */
static dh_int_t
dh_http_upstream_next_piece(dh_http_upstream_t *u, dh_uint_t *complete)
{
    ssize_t                  n;
    dh_int_t                 rc;
    dh_buf_t                *b;
    dh_connection_t         *c = u->connection;
    dh_http_upstream_ctx_t  *ctx = u->priv;

    b = ctx->buffer;

    for ( ;; ) {
        if (ctx->no_body || (!ctx->close_delimited && !u->headers_in.chunked
                             && ctx->rest == 0))
        {
            *complete = 1;
            return DH_OK;
        }

        if (b->pos < b->last) {
            if (ctx->close_delimited) {
                ctx->piece.pos = b->pos;
                ctx->piece.last = b->last;
                b->pos = b->last;
                return DH_OK;
            }

            rc = dh_http_decode_body(u->headers_in.chunked ? &ctx->chunked
                                                           : NULL,
                                     &ctx->rest, b, &ctx->piece);
            if (rc == DH_OK) {
                return DH_OK;
            }

            if (rc == DH_DONE) {
                *complete = 1;
                return DH_OK;
            }

            if (rc != DH_AGAIN) {
                dh_log_error(DH_LOG_ERR, u->log, 0,
                             "upstream sent invalid chunked response, "
                             "upstream: %.*s", DH_STR_FMT(u->peer->name));
                return DH_HTTP_UPSTREAM_ERR_INVALID_BODY;
            }
        }

        /* everything in the buffer was taken: read the next bytes at its
         * start */
        b->pos = b->start;
        b->last = b->start;

        n = c->recv(c, b->last, b->end - b->last);

        if (n == DH_AGAIN) {
            return DH_AGAIN;
        }

        if (n == 0) {
            if (ctx->close_delimited) {
                *complete = 1;
                return DH_OK;
            }

            dh_log_error(DH_LOG_ERR, u->log, 0,
                         "upstream prematurely closed connection while "
                         "reading upstream, upstream: %.*s",
                         DH_STR_FMT(u->peer->name));
            return DH_HTTP_UPSTREAM_ERR_CLOSED;
        }

        if (n == DH_ERROR) {
            return DH_HTTP_UPSTREAM_ERR_CONNECT;
        }

        b->last += n;
    }
}


void
dh_http_upstream_process_body(dh_http_upstream_t *u)
{
    dh_int_t                 rc;
    dh_uint_t                complete;
    dh_connection_t         *c = u->connection;
    dh_http_upstream_ctx_t  *ctx = u->priv;

    complete = 0;

    for ( ;; ) {
        if (ctx->piece.pos < ctx->piece.last) {
            if (u->on_data == NULL) {
                ctx->piece.pos = ctx->piece.last;
                continue;
            }

            ctx->in_data = 1;
            rc = u->on_data(u, &ctx->piece);
            ctx->in_data = 0;

            if (u->done) {
                return;
            }

            if (rc == DH_AGAIN && ctx->piece.pos < ctx->piece.last) {
                ctx->paused = 1;
                if (c->read->timer_set) {
                    dh_event_del_timer(c->read);
                }
                return;
            }

            if (rc != DH_OK && rc != DH_AGAIN) {
                dh_http_upstream_finalize(u, DH_HTTP_UPSTREAM_ERR_ABORTED);
                return;
            }

            ctx->piece.pos = ctx->piece.last;
        }

        if (complete) {
            dh_http_upstream_finalize(u, DH_OK);
            return;
        }

        rc = dh_http_upstream_next_piece(u, &complete);

        if (rc == DH_AGAIN) {
            if (c->read->timer_set) {
                dh_event_del_timer(c->read);
            }
            dh_event_add_timer(c->read, u->conf->read_timeout);
            return;
        }

        if (rc != DH_OK) {
            dh_http_upstream_finalize(u, rc);
            return;
        }
    }
}


void
dh_http_upstream_resume(dh_http_upstream_t *u)
{
    dh_http_upstream_ctx_t  *ctx = u->priv;

    if (u->resolving || ctx == NULL || !ctx->paused || ctx->in_data
        || u->done)
    {
        return;
    }

    ctx->paused = 0;
    dh_http_upstream_process_body(u);
}


dh_table_elt_t *
dh_http_upstream_header(dh_http_upstream_t *u, const char *lowcase_name)
{
    size_t           len;
    dh_uint_t        i;
    dh_table_elt_t  *h;
    dh_list_part_t  *part;

    if (u->headers_in.headers.pool == NULL) {
        return NULL;
    }

    len = dh_strlen(lowcase_name);
    part = &u->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }
            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && dh_memcmp(h[i].lowcase_key, lowcase_name, len) == 0)
        {
            return &h[i];
        }
    }
}


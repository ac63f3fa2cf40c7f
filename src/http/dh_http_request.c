/*
 * The life of an HTTP connection and its requests.
 *
 *   accepted ----> waiting (idle: no buffer, no request, reusable)
 *      ^              | first bytes: buffer + request pool
 *      |              v
 *      |         request line -> headers -> phases -> response
 *      |              |                                  |
 *      +-- keep-alive +-- request pool and buffers freed +
 *                     |
 *                     +-- close, or lingering close after an error
 *
 * Header buffers are malloc'ed (not pool memory), so a connection going
 * idle gives them back at once; an idle keep-alive connection keeps only
 * its connection pool (about 512 bytes).
 *
 * Limits: a request line that does not fit in one large header buffer is
 * answered 414; a header line that does not fit in one, or a header
 * section that needs more than large_client_header_buffers N buffers, is
 * answered 431 (RFC 6585), not nginx's 494-style 400, so a client can
 * tell "too big" from "malformed".
 *
 * Graceful shutdown (dh_exiting): idle connections are woken with
 * c->close set.  Instead of closing at once, an idle one is kept for
 * keepalive_shutdown_grace (a non-cancelable timer, so the worker waits)
 * in case a request is already on its way; such a request is answered with
 * "Connection: close".  After worker_shutdown_timeout (dh_shutdown_expired)
 * idle connections stay open until the worker exits, and a request that
 * is waiting or arrives on one gets "503 Service Unavailable" with
 * Retry-After and "Connection: close".  Requests in the middle of being
 * read or answered at that point are closed.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


#define DH_HTTP_DISCARD_TIMEOUT    5000
#define DH_HTTP_DISCARD_BUFFER     4096


static dh_uint_t dh_http_idle_wakeup(dh_connection_t *c);
static void dh_http_empty_handler(dh_event_t *ev);
static dh_buf_t *dh_http_alloc_buffer(size_t size, dh_log_t *log);
static dh_http_request_t *dh_http_create_request(dh_connection_t *c);

static dh_uint_t dh_http_head_read_ended(dh_event_t *rev);
static void dh_http_process_request_line(dh_event_t *rev);
static void dh_http_read_request_line(dh_http_request_t *r);
static void dh_http_process_request_headers(dh_event_t *rev);
static void dh_http_read_request_headers(dh_http_request_t *r);
static ssize_t dh_http_read_request_header(dh_http_request_t *r);
static dh_int_t dh_http_alloc_large_header_buffer(dh_http_request_t *r,
    dh_uint_t request_line);
static dh_int_t dh_http_process_request_uri(dh_http_request_t *r);
static dh_int_t dh_http_process_request_header(dh_http_request_t *r);
static void dh_http_process_request(dh_http_request_t *r);
static void dh_http_set_virtual_server(dh_http_request_t *r);

static void dh_http_request_handler(dh_event_t *ev);
static void dh_http_writer(dh_http_request_t *r);
static dh_int_t dh_http_read_discarded_body(dh_http_request_t *r);
static void dh_http_discarded_body_handler(dh_http_request_t *r);
static void dh_http_finalize_connection(dh_http_request_t *r);
static void dh_http_set_keepalive(dh_http_request_t *r);
static void dh_http_set_lingering_close(dh_http_request_t *r,
    dh_http_core_loc_conf_t *clcf);
static void dh_http_lingering_close_handler(dh_event_t *rev);
static void dh_http_release_buffers(dh_http_request_t *r, dh_buf_t *keep);
static void dh_http_log_request(dh_http_request_t *r);
static void dh_http_free_request(dh_http_request_t *r);
static void dh_http_close_request(dh_http_request_t *r);





dh_http_ssl_hooks_t  dh_http_ssl_hooks;


#define dh_http_default_srv_conf(hc)                                          \
    ((dh_http_conf_ctx_t *) (hc)->conf_ctx)                                   \
        ->srv_conf[dh_http_core_module.ctx_index]

#define dh_http_default_loc_conf(hc)                                          \
    ((dh_http_conf_ctx_t *) (hc)->conf_ctx)                                   \
        ->loc_conf[dh_http_core_module.ctx_index]


/* ---- connection start and idle state ---------------------------------- */

void
dh_http_init_connection(dh_connection_t *c)
{
    dh_uint_t                  i;
    dh_event_t                *rev;
    dh_http_port_t            *port;
    dh_http_in_addr_t         *addr;
    dh_http_connection_t      *hc;
    dh_http_core_srv_conf_t   *cscf;

    dh_connection_metrics_state(c, DH_CONN_STATE_WAITING);

    hc = dh_pcalloc(c->pool, sizeof(dh_http_connection_t));
    if (hc == NULL) {
        dh_http_close_connection(c);
        return;
    }

    c->data = hc;

    port = c->listening->servers;
    addr = port->addrs;

    /* several addresses share this wildcard socket: the one the client
     * reached picks the servers (the wildcard entry is last) */
    if (port->naddrs > 1) {
        if (dh_connection_local_sockaddr(c, NULL, 0) != DH_OK) {
            dh_http_close_connection(c);
            return;
        }

        for (i = 0; i < port->naddrs - 1; i++) {
            if (dh_cmp_sockaddr(c->local_sockaddr, c->local_socklen,
                                &addr[i].sockaddr.sockaddr, addr[i].socklen,
                                0)
                == DH_OK)
            {
                break;
            }
        }

        addr = &addr[i];
    }

    hc->addr_conf = &addr->conf;
    hc->conf_ctx = hc->addr_conf->default_server->ctx;

    c->log->handler = dh_http_log_error;
    c->log->data = c;
    c->log->action = "waiting for request";

    rev = c->read;
    rev->handler = dh_http_wait_request_handler;
    c->write->handler = dh_http_empty_handler;

    cscf = dh_http_default_srv_conf(hc);

    /* a connection that has sent nothing yet is idle: it holds no buffer
     * and may be reclaimed or, on shutdown, given the grace period */
    c->idle = 1;
    dh_reusable_connection(c, 1);

    rev->cancelable = 1;

    if (hc->addr_conf->ssl) {
        /* the TLS module owns the connection until the handshake ends,
         * then comes back to dh_http_wait_request_handler() */
        dh_http_ssl_hooks.start(c);
        return;
    }

    dh_event_add_timer(rev, cscf->client_header_timeout);

    if (rev->ready) {
        dh_post_event(rev, &dh_posted_events);
    }
}


void
dh_http_wait_request_handler(dh_event_t *rev)
{
    size_t                     size;
    ssize_t                    n;
    dh_buf_t                  *b;
    dh_connection_t           *c;
    dh_http_request_t         *r;
    dh_http_connection_t      *hc;
    dh_http_core_srv_conf_t   *cscf;

    c = rev->data;
    hc = c->data;

    if (rev->timedout) {
        dh_http_close_connection(c);
        return;
    }

    if (c->close && !dh_http_idle_wakeup(c)) {
        return;
    }

    b = c->buffer;

    /* a pipelined request is already in the buffer */
    if (b == NULL || b->pos == b->last) {

        cscf = dh_http_default_srv_conf(hc);
        size = cscf->client_header_buffer_size;

        if (b == NULL) {
            b = dh_http_alloc_buffer(size, c->log);
            if (b == NULL) {
                dh_http_close_connection(c);
                return;
            }

            c->buffer = b;

        } else {
            b->pos = b->start;
            b->last = b->start;
        }

        n = c->recv(c, b->last, b->end - b->last);

        if (n == DH_AGAIN) {
            /* nothing after all: give the buffer back while idle */
            dh_free(b);
            c->buffer = NULL;

            return;
        }

        if (n == DH_ERROR || n == 0) {
            dh_http_close_connection(c);
            return;
        }

        b->last += n;
    }

    c->idle = 0;
    dh_reusable_connection(c, 0);

    r = dh_http_create_request(c);
    if (r == NULL) {
        dh_http_close_connection(c);
        return;
    }

    rev->handler = dh_http_process_request_line;

    dh_http_read_request_line(r);
}


/*
 * An idle connection was woken with c->close set.  Returns 1 when the
 * caller should go on and look for a request, 0 when the connection was
 * closed or waits for the grace period.
 */
static dh_uint_t
dh_http_idle_wakeup(dh_connection_t *c)
{
    dh_event_t                *rev;
    dh_http_connection_t      *hc;
    dh_http_core_loc_conf_t   *clcf;

    rev = c->read;
    hc = c->data;

    if (!dh_exiting) {
        /* the connection array ran out: the oldest idle ones go */
        dh_http_close_connection(c);
        return 0;
    }

    if (dh_shutdown_expired) {
        /* the worker exits shortly, when the event layer's last-words
         * delay ends; until then a request that is here or arrives gets
         * a 503 rather than a reset.  The read is tried even if epoll
         * has not reported data yet. */
        return 1;
    }

    if (!hc->grace) {
        hc->grace = 1;

        /* not reusable any more: the next wake-up is the grace timer,
         * data, or the shutdown deadline; the timer holds the worker */
        dh_reusable_connection(c, 0);

        clcf = dh_http_default_loc_conf(hc);

        dh_event_del_timer(rev);
        rev->cancelable = 0;
        dh_event_add_timer(rev, clcf->keepalive_shutdown_grace);
    }

    return rev->ready;
}


static void
dh_http_empty_handler(dh_event_t *ev)
{
    return;
}


void
dh_http_request_empty_handler(dh_http_request_t *r)
{
    return;
}


/* The edge-triggered loop keeps telling us about data only once; a
 * request that does not read its body now just leaves it in the socket. */
void
dh_http_block_reading(dh_http_request_t *r)
{
    return;
}


/* The buffer header lives in the same block as the data: one malloc, one
 * free, nothing left behind in the connection pool. */
static dh_buf_t *
dh_http_alloc_buffer(size_t size, dh_log_t *log)
{
    dh_buf_t  *b;

    b = dh_alloc(sizeof(dh_buf_t) + size, log);
    if (b == NULL) {
        return NULL;
    }

    dh_memzero(b, sizeof(dh_buf_t));

    b->start = (u_char *) (b + 1);
    b->pos = b->start;
    b->last = b->start;
    b->end = b->start + size;
    b->temporary = 1;

    return b;
}


static dh_http_request_t *
dh_http_create_request(dh_connection_t *c)
{
    dh_pool_t                 *pool;
    dh_http_request_t         *r;
    dh_http_conf_ctx_t        *ctx;
    dh_http_connection_t      *hc;
    dh_http_core_srv_conf_t   *cscf;

    hc = c->data;
    ctx = hc->conf_ctx;
    cscf = ctx->srv_conf[dh_http_core_module.ctx_index];

    dh_connection_metrics_state(c, DH_CONN_STATE_READING);

    pool = dh_create_pool(cscf->request_pool_size, c->log);
    if (pool == NULL) {
        return NULL;
    }

    r = dh_pcalloc(pool, sizeof(dh_http_request_t));
    if (r == NULL) {
        goto failed;
    }

    r->pool = pool;
    r->connection = c;
    r->http_connection = hc;

    r->main_conf = ctx->main_conf;
    r->srv_conf = ctx->srv_conf;
    r->loc_conf = ctx->loc_conf;

    r->ctx = dh_pcalloc(pool, sizeof(void *) * dh_http_max_module);
    if (r->ctx == NULL) {
        goto failed;
    }

    if (dh_list_init(&r->headers_in.headers, pool, 8, sizeof(dh_table_elt_t))
        != DH_OK
        || dh_list_init(&r->headers_out.headers, pool, 2,
                        sizeof(dh_table_elt_t))
           != DH_OK)
    {
        goto failed;
    }

    r->header_in = c->buffer;
    r->first_buf = c->buffer;

    r->headers_in.content_length_n = -1;
    r->headers_out.content_length_n = -1;
    r->headers_out.last_modified_time = -1;

    r->method = DH_HTTP_UNKNOWN;
    r->read_event_handler = dh_http_block_reading;
    r->write_event_handler = dh_http_request_empty_handler;
    r->start_msec = dh_current_msec;
    r->sent_start = c->sent;

    c->requests++;
    hc->request = r;

    c->log->action = "reading client request line";

    return r;

failed:

    dh_destroy_pool(pool);

    return NULL;
}


/* ---- request line and headers ----------------------------------------- */

/*
 * While the head is being read, a timeout or worker_shutdown_timeout ends
 * the request: it is closed here and 1 is returned.
 */
static dh_uint_t
dh_http_head_read_ended(dh_event_t *rev)
{
    dh_connection_t       *c;
    dh_http_connection_t  *hc;

    c = rev->data;
    hc = c->data;

    if (rev->timedout) {
        dh_log_error(DH_LOG_INFO, c->log, DH_ETIMEDOUT, "client timed out");
        dh_http_close_request(hc->request);
        return 1;
    }

    if (c->close && dh_shutdown_expired) {
        dh_http_close_request(hc->request);
        return 1;
    }

    return 0;
}


static void
dh_http_process_request_line(dh_event_t *rev)
{
    dh_http_connection_t  *hc;

    if (dh_http_head_read_ended(rev)) {
        return;
    }

    hc = ((dh_connection_t *) rev->data)->data;

    dh_http_read_request_line(hc->request);
}


static void
dh_http_read_request_line(dh_http_request_t *r)
{
    ssize_t   n;
    dh_int_t  rc, rv;

    rc = DH_AGAIN;

    for ( ;; ) {

        if (rc == DH_AGAIN) {
            n = dh_http_read_request_header(r);

            if (n == DH_AGAIN || n == DH_ERROR) {
                return;
            }
        }

        rc = dh_http_parse_request_line(r, r->header_in);

        if (rc == DH_OK) {
            rc = dh_http_process_request_uri(r);

            if (rc != DH_OK) {
                dh_http_finalize_request(r, rc);
                return;
            }

            r->connection->log->action = "reading client request headers";
            r->connection->read->handler = dh_http_process_request_headers;

            dh_http_read_request_headers(r);
            return;
        }

        if (rc != DH_AGAIN) {
            /* the status from the parser: 400 or 505 */
            dh_http_finalize_request(r, rc);
            return;
        }

        if (r->header_in->pos == r->header_in->end) {
            rv = dh_http_alloc_large_header_buffer(r, 1);

            if (rv == DH_ERROR) {
                dh_http_close_request(r);
                return;
            }

            if (rv == DH_DECLINED) {
                dh_log_error(DH_LOG_INFO, r->connection->log, 0,
                             "client sent too long URI");
                dh_http_finalize_request(r, DH_HTTP_REQUEST_URI_TOO_LARGE);
                return;
            }
        }
    }
}


static void
dh_http_process_request_headers(dh_event_t *rev)
{
    dh_http_connection_t  *hc;

    if (dh_http_head_read_ended(rev)) {
        return;
    }

    hc = ((dh_connection_t *) rev->data)->data;

    dh_http_read_request_headers(hc->request);
}


static void
dh_http_read_request_headers(dh_http_request_t *r)
{
    ssize_t                     n;
    dh_int_t                    rc, rv;
    dh_table_elt_t             *h;
    dh_http_header_t           *hh;
    dh_http_core_main_conf_t   *cmcf;

    cmcf = dh_http_get_module_main_conf(r, dh_http_core_module);

    rc = DH_AGAIN;

    for ( ;; ) {

        if (rc == DH_AGAIN) {

            if (r->header_in->pos == r->header_in->end) {
                rv = dh_http_alloc_large_header_buffer(r, 0);

                if (rv == DH_ERROR) {
                    dh_http_close_request(r);
                    return;
                }

                if (rv == DH_DECLINED) {
                    dh_log_error(DH_LOG_INFO, r->connection->log, 0,
                                 "client sent too large request header");
                    dh_http_finalize_request(r, DH_HTTP_HEADER_TOO_LARGE);
                    return;
                }
            }

            n = dh_http_read_request_header(r);

            if (n == DH_AGAIN || n == DH_ERROR) {
                return;
            }
        }

        rc = dh_http_parse_header_line(r, r->header_in);

        if (rc == DH_OK) {
            h = dh_list_push(&r->headers_in.headers);
            if (h == NULL) {
                dh_http_close_request(r);
                return;
            }

            h->hash = r->header_hash;
            h->key.len = r->header_name_end - r->header_name_start;
            h->key.data = r->header_name_start;
            h->value.len = r->header_end - r->header_start;
            h->value.data = r->header_start;
            h->next = NULL;

            h->lowcase_key = dh_pnalloc(r->pool, h->key.len);
            if (h->lowcase_key == NULL) {
                dh_http_close_request(r);
                return;
            }

            if (h->key.len <= DH_HTTP_LC_HEADER_LEN) {
                dh_memcpy(h->lowcase_key, r->lowcase_header, h->key.len);
            } else {
                dh_strlow(h->lowcase_key, h->key.data, h->key.len);
            }

            hh = dh_hash_find(&cmcf->headers_in_hash, h->hash,
                              h->lowcase_key, h->key.len);

            if (hh) {
                rv = hh->handler(r, h, hh->offset);

                if (rv != DH_OK) {
                    dh_http_finalize_request(r, rv);
                    return;
                }
            }

            continue;
        }

        if (rc == DH_HTTP_PARSE_HEADER_DONE) {
            if (r->request_start
                && r->request_start >= r->header_in->start
                && r->request_start <= r->header_in->pos)
            {
                r->request_length = r->header_in->pos - r->request_start;
            }

            rc = dh_http_process_request_header(r);

            if (rc != DH_OK) {
                dh_http_finalize_request(r, rc);
                return;
            }

            dh_http_process_request(r);
            return;
        }

        if (rc != DH_AGAIN) {
            dh_log_error(DH_LOG_INFO, r->connection->log, 0,
                         "client sent invalid header line");
            dh_http_finalize_request(r, rc);
            return;
        }
    }
}


static ssize_t
dh_http_read_request_header(dh_http_request_t *r)
{
    ssize_t                    n;
    dh_event_t                *rev;
    dh_connection_t           *c;
    dh_http_core_srv_conf_t   *cscf;

    c = r->connection;
    rev = c->read;

    n = r->header_in->last - r->header_in->pos;

    if (n > 0) {
        return n;
    }

    if (rev->ready) {
        n = c->recv(c, r->header_in->last,
                    r->header_in->end - r->header_in->last);
    } else {
        n = DH_AGAIN;
    }

    if (n == DH_AGAIN) {
        if (!r->header_timer) {
            /* a request is on its way: it must not be cut short by a
             * graceful exit, so its timer is not cancelable */
            cscf = dh_http_get_module_srv_conf(r, dh_http_core_module);

            r->header_timer = 1;
            rev->cancelable = 0;
            dh_event_del_timer(rev);
            dh_event_add_timer(rev, cscf->client_header_timeout);
        }

        return DH_AGAIN;
    }

    if (n == 0) {
        dh_log_error(DH_LOG_INFO, c->log, 0,
                     "client prematurely closed connection");
    }

    if (n == 0 || n == DH_ERROR) {
        dh_http_close_request(r);
        return DH_ERROR;
    }

    r->header_in->last += n;

    return n;
}


#define dh_http_rebase(p)                                                     \
    if ((p) && (p) >= old && (p) <= b->last) { (p) = (p) - old + nb->start; }

/*
 * The current buffer is full with a line not yet complete: move that line
 * to a fresh large buffer.  Lines parsed before stay where they are (their
 * buffers live until the request ends).  DH_DECLINED when the line cannot
 * fit in one large buffer or all of them are used.
 */
static dh_int_t
dh_http_alloc_large_header_buffer(dh_http_request_t *r,
    dh_uint_t request_line)
{
    u_char                    *old;
    size_t                     size;
    dh_buf_t                  *b, *nb;
    dh_http_core_srv_conf_t   *cscf;

    cscf = dh_http_get_module_srv_conf(r, dh_http_core_module);
    b = r->header_in;

    if (request_line && r->state == 0) {
        /* only empty lines so far */
        b->pos = b->start;
        b->last = b->start;
        return DH_OK;
    }

    if (request_line) {
        old = r->request_start;
    } else if (r->state == 0) {
        old = b->pos;                   /* between two header lines */
    } else {
        old = r->header_name_start;
    }

    size = b->last - old;

    if (size >= cscf->large_client_header_buffers.size
        || r->nlarge >= (dh_uint_t) cscf->large_client_header_buffers.num)
    {
        return DH_DECLINED;
    }

    if (r->large_bufs == NULL) {
        r->large_bufs = dh_palloc(r->pool, sizeof(dh_buf_t *)
                                  * cscf->large_client_header_buffers.num);
        if (r->large_bufs == NULL) {
            return DH_ERROR;
        }
    }

    nb = dh_http_alloc_buffer(cscf->large_client_header_buffers.size,
                              r->connection->log);
    if (nb == NULL) {
        return DH_ERROR;
    }

    r->large_bufs[r->nlarge++] = nb;

    dh_memcpy(nb->start, old, size);
    nb->pos = nb->start + size;
    nb->last = nb->pos;

    if (request_line) {
        dh_http_rebase(r->request_start);
        dh_http_rebase(r->method_end);
        dh_http_rebase(r->uri_start);
        dh_http_rebase(r->uri_end);
        dh_http_rebase(r->uri_ext);
        dh_http_rebase(r->args_start);
        dh_http_rebase(r->schema_start);
        dh_http_rebase(r->schema_end);
        dh_http_rebase(r->host_start);
        dh_http_rebase(r->host_end);
        dh_http_rebase(r->port_end);
        dh_http_rebase(r->protocol_start);
        dh_http_rebase(r->request_end);

    } else if (r->state != 0) {
        dh_http_rebase(r->header_name_start);
        dh_http_rebase(r->header_name_end);
        dh_http_rebase(r->header_start);
        dh_http_rebase(r->header_end);
    }

    r->header_in = nb;
    r->connection->buffer = nb;

    return DH_OK;
}


static dh_int_t
dh_http_process_request_uri(dh_http_request_t *r)
{
    u_char  *path_end, *p;
    size_t   len;

    r->request_line.data = r->request_start;
    r->request_line.len = r->request_end - r->request_start;
    r->method_name.data = r->request_start;
    r->method_name.len = r->method_end - r->request_start;
    r->unparsed_uri.data = r->uri_start;
    r->unparsed_uri.len = r->uri_end - r->uri_start;
    r->http_protocol.data = r->protocol_start;
    r->http_protocol.len = r->request_end - r->protocol_start;

    if (r->host_start) {
        r->host.data = r->host_start;
        r->host.len = r->host_end - r->host_start;
    }

    if (r->args_start) {
        r->args.data = r->args_start;
        r->args.len = r->uri_end - r->args_start;
        path_end = r->args_start - 1;
    } else {
        path_end = r->uri_end;
    }

    if (r->method == DH_HTTP_CONNECT) {
        /* authority-form: no path; no location will claim it */
        r->uri = r->unparsed_uri;
        return DH_OK;
    }

    if (r->empty_path_in_uri) {
        dh_str_set(&r->uri, "/");
        return DH_OK;
    }

    if (!r->complex_uri && !r->quoted_uri) {
        r->uri.data = r->uri_start;
        r->uri.len = path_end - r->uri_start;

        if (r->uri_ext) {
            r->exten.data = r->uri_ext;
            r->exten.len = path_end - r->uri_ext;
        }

        return DH_OK;
    }

    len = path_end - r->uri_start;

    r->uri.data = dh_pnalloc(r->pool, len);
    if (r->uri.data == NULL) {
        return DH_ERROR;
    }

    if (dh_http_normalize_uri(r->uri_start, len, r->uri.data, &r->uri.len)
        != DH_OK)
    {
        dh_log_error(DH_LOG_INFO, r->connection->log, 0,
                     "client sent invalid request URI");
        return DH_HTTP_BAD_REQUEST;
    }

    for (p = r->uri.data + r->uri.len - 1; p > r->uri.data; p--) {
        if (*p == '/') {
            break;
        }

        if (*p == '.') {
            r->exten.data = p + 1;
            r->exten.len = r->uri.data + r->uri.len - (p + 1);
            break;
        }
    }

    return DH_OK;
}


/* After the empty line: the checks that need the whole header section. */
static dh_int_t
dh_http_process_request_header(dh_http_request_t *r)
{
    dh_int_t         rc;
    dh_str_t        *value;
    dh_http_headers_in_t  *hin;

    hin = &r->headers_in;

    if (r->host.len) {
        /* an absolute request target overrides Host (RFC 9112 3.2.2) */
        rc = dh_http_validate_host(r, &r->host);
        if (rc != DH_OK) {
            return rc;
        }

        hin->server = r->host;

    } else if (hin->host == NULL && r->http_version >= DH_HTTP_VERSION_11) {
        dh_log_error(DH_LOG_INFO, r->connection->log, 0,
                     "client sent HTTP/1.1 request without \"Host\" header");
        return DH_HTTP_BAD_REQUEST;
    }

    if (hin->transfer_encoding) {
        if (hin->content_length) {
            dh_log_error(DH_LOG_INFO, r->connection->log, 0,
                         "client sent \"Content-Length\" and "
                         "\"Transfer-Encoding\" headers");
            return DH_HTTP_BAD_REQUEST;
        }

        if (r->http_version < DH_HTTP_VERSION_11) {
            dh_log_error(DH_LOG_INFO, r->connection->log, 0,
                         "client sent HTTP/1.0 request with "
                         "\"Transfer-Encoding\" header");
            return DH_HTTP_BAD_REQUEST;
        }
    }

    if (hin->expect && r->http_version >= DH_HTTP_VERSION_11) {
        value = &hin->expect->value;

        if (value->len != sizeof("100-continue") - 1
            || dh_strncasecmp(value->data, (u_char *) "100-continue",
                              value->len) != 0)
        {
            return DH_HTTP_EXPECTATION_FAILED;
        }

        hin->expect_continue = 1;
    }

    if (hin->connection_type == DH_HTTP_CONNECTION_CLOSE) {
        r->keepalive = 0;

    } else if (r->http_version >= DH_HTTP_VERSION_11) {
        r->keepalive = 1;

    } else {
        /* HTTP/1.0 keeps the connection only when it asks to */
        r->keepalive =
               (hin->connection_type == DH_HTTP_CONNECTION_KEEP_ALIVE);
    }

    return DH_OK;
}


static void
dh_http_set_virtual_server(dh_http_request_t *r)
{
    dh_str_t                  *server;
    dh_http_connection_t      *hc;
    dh_http_virtual_names_t   *vn;
    dh_http_core_srv_conf_t   *cscf;

    hc = r->http_connection;
    vn = hc->addr_conf->virtual_names;
    server = &r->headers_in.server;

    if (vn == NULL || server->len == 0) {
        return;
    }

    cscf = dh_http_find_virtual_server(r, vn, server);

    if (cscf == NULL) {
        return;                         /* the default server answers */
    }

    r->srv_conf = cscf->ctx->srv_conf;
    r->loc_conf = cscf->ctx->loc_conf;
}


static void
dh_http_process_request(dh_http_request_t *r)
{
    dh_int_t          rc;
    dh_connection_t  *c;

    c = r->connection;

    dh_event_del_timer(c->read);

    dh_connection_metrics_state(c, DH_CONN_STATE_WRITING);

    dh_http_set_virtual_server(r);

    c->log->action = NULL;
    c->read->handler = dh_http_request_handler;
    c->write->handler = dh_http_request_handler;
    r->read_event_handler = dh_http_block_reading;

    if (dh_shutdown_expired) {
        dh_http_finalize_request(r, DH_HTTP_SERVICE_UNAVAILABLE);
        return;
    }

    if (r->method == DH_HTTP_UNKNOWN) {
        dh_log_error(DH_LOG_INFO, c->log, 0, "client sent unknown method");
        dh_http_finalize_request(r, DH_HTTP_NOT_IMPLEMENTED);
        return;
    }

    if (c->ssl && dh_http_ssl_hooks.verify) {
        rc = dh_http_ssl_hooks.verify(r);

        if (rc != DH_OK) {
            dh_http_finalize_request(r, rc);
            return;
        }
    }

    r->phase_handler = 0;

    dh_http_core_run_phases(r);
}


/* ---- running and finishing a request ---------------------------------- */

static void
dh_http_request_handler(dh_event_t *ev)
{
    dh_connection_t    *c;
    dh_http_request_t  *r;

    c = ev->data;
    r = ((dh_http_connection_t *) c->data)->request;

    if (c->close && dh_shutdown_expired) {
        /* worker_shutdown_timeout: in-flight work is cut off */
        dh_log_error(DH_LOG_INFO, c->log, 0,
                     "closing request at worker shutdown timeout");
        dh_http_close_request(r);
        return;
    }

    if (ev->write) {
        r->write_event_handler(r);
    } else {
        r->read_event_handler(r);
    }
}


void
dh_http_finalize_request(dh_http_request_t *r, dh_int_t rc)
{
    dh_event_t                *wev;
    dh_connection_t           *c;
    dh_http_core_loc_conf_t   *clcf;

    if (rc == DH_DONE) {
        /* the handler finished (or already freed) the request itself:
         * r must not be touched */
        return;
    }

    c = r->connection;

    if (c->read->handler != dh_http_request_handler) {
        /* an answer before the phases (a parse error): stop reading the
         * head and its timer; the request is now driven by its events */
        dh_event_del_timer(c->read);
        c->read->handler = dh_http_request_handler;
        c->write->handler = dh_http_request_handler;
        r->read_event_handler = dh_http_block_reading;
    }

    if (rc == DH_DECLINED) {
        rc = DH_HTTP_NOT_FOUND;
    }

    if (rc == DH_ERROR || rc == DH_HTTP_REQUEST_TIME_OUT
        || rc == DH_HTTP_CLIENT_CLOSED_REQUEST || rc == DH_HTTP_CLOSE
        || c->error)
    {
        dh_http_close_request(r);
        return;
    }

    if (rc >= DH_HTTP_OK) {
        if (r->header_sent) {
            dh_log_error(DH_LOG_ERR, c->log, 0,
                         "response %d after the header was sent",
                         (int) rc);
            dh_http_close_request(r);
            return;
        }

        dh_http_finalize_request(r,
                                 dh_http_special_response_handler(r, rc));
        return;
    }

    wev = c->write;
    clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);

    if (rc == DH_AGAIN || r->out) {
        /* the rest goes out as the socket drains */
        r->write_event_handler = dh_http_writer;
        c->write->handler = dh_http_request_handler;

        wev->cancelable = 0;
        dh_event_add_timer(wev, clcf->send_timeout);
        return;
    }

    dh_event_del_timer(wev);
    r->write_event_handler = dh_http_request_empty_handler;
    r->done = 1;

    if (r->discarding && r->keepalive && !dh_exiting) {
        /* the response is out; the body still arriving decides whether
         * the connection can be reused */
        c->read->cancelable = 0;
        dh_event_add_timer(c->read, DH_HTTP_DISCARD_TIMEOUT);
        return;
    }

    dh_http_finalize_connection(r);
}


static void
dh_http_writer(dh_http_request_t *r)
{
    dh_int_t                   rc;
    dh_event_t                *wev;
    dh_connection_t           *c;
    dh_http_core_loc_conf_t   *clcf;

    c = r->connection;
    wev = c->write;

    if (wev->timedout) {
        dh_log_error(DH_LOG_INFO, c->log, DH_ETIMEDOUT, "client timed out");
        c->timedout = 1;
        dh_http_close_request(r);
        return;
    }

    rc = dh_http_output_filter(r, NULL);

    if (rc == DH_ERROR) {
        dh_http_close_request(r);
        return;
    }

    if (r->out) {
        clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);
        dh_event_add_timer(wev, clcf->send_timeout);
        return;
    }

    dh_event_del_timer(wev);
    r->write_event_handler = dh_http_request_empty_handler;

    dh_http_finalize_request(r, rc);
}


void
dh_http_terminate_request(dh_http_request_t *r, dh_int_t rc)
{
    dh_http_close_request(r);
}


/* ---- discarding the request body -------------------------------------- */

dh_int_t
dh_http_discard_request_body(dh_http_request_t *r)
{
    dh_int_t           rc;
    dh_http_chunked_t  *ctx;

    if (r->request_body) {
        /* the body reader owns the body (dh_http_request_body.c) */
        if (!r->request_body->finished) {
            r->keepalive = 0;
            r->lingering_close = 1;
        }

        return DH_OK;
    }

    if (r->discarding || r->discard_closes
        || (!r->headers_in.chunked && r->headers_in.content_length_n <= 0))
    {
        return DH_OK;
    }

    if (r->headers_in.expect_continue) {
        /* the client waits for "100 Continue" before sending the body and
         * we are not going to ask for it: whether it sends it anyway is
         * unknown, so the connection cannot be reused */
        r->discard_closes = 1;
        r->keepalive = 0;
        r->lingering_close = 1;
        return DH_OK;
    }

    if (r->headers_in.chunked) {
        ctx = dh_pcalloc(r->pool, sizeof(dh_http_chunked_t));
        if (ctx == NULL) {
            return DH_ERROR;
        }

        ctx->length = 5;                /* "0" CRLF CRLF */
        r->chunked = ctx;
    }

    r->discarding = 1;

    rc = dh_http_read_discarded_body(r);

    if (rc == DH_AGAIN) {
        r->read_event_handler = dh_http_discarded_body_handler;
        return DH_OK;
    }

    r->discarding = 0;

    if (rc != DH_OK) {
        r->discard_closes = 1;
        r->keepalive = 0;
        r->lingering_close = 1;

        /* broken framing seen before any answer: say so */
        if (rc == DH_HTTP_BAD_REQUEST && !r->header_sent) {
            r->headers_in.chunked = 0;
            r->headers_in.content_length_n = -1;
            return DH_HTTP_BAD_REQUEST;
        }
    }

    return DH_OK;
}


/* Eats body bytes from b: DH_OK at the end of the body, DH_AGAIN when b
 * ran out first, DH_HTTP_BAD_REQUEST for broken chunked framing. */
static dh_int_t
dh_http_discard_from(dh_http_request_t *r, dh_buf_t *b)
{
    dh_int_t  rc;
    dh_buf_t  piece;

    for ( ;; ) {
        rc = dh_http_decode_body(r->chunked, &r->headers_in.content_length_n,
                                 b, &piece);

        if (rc == DH_OK) {
            continue;
        }

        if (rc == DH_DONE) {
            return DH_OK;
        }

        if (rc == DH_AGAIN) {
            return DH_AGAIN;
        }

        dh_log_error(DH_LOG_INFO, r->connection->log, 0,
                     "client sent invalid chunked body");
        return DH_HTTP_BAD_REQUEST;
    }
}


/*
 * Reads never more than the body still needs (Content-Length, or the
 * chunked parser's lower bound), so a pipelined request after the body
 * stays in the socket for the next round.
 */
static dh_int_t
dh_http_read_discarded_body(dh_http_request_t *r)
{
    off_t             bound;
    ssize_t           n;
    dh_int_t          rc;
    dh_buf_t          tb;
    dh_connection_t  *c;
    u_char            buffer[DH_HTTP_DISCARD_BUFFER];

    c = r->connection;

    if (r->header_in->pos < r->header_in->last) {
        rc = dh_http_discard_from(r, r->header_in);
        if (rc != DH_AGAIN) {
            return rc;
        }
    }

    dh_memzero(&tb, sizeof(dh_buf_t));

    for ( ;; ) {
        if (!c->read->ready) {
            return DH_AGAIN;
        }

        bound = r->chunked ? r->chunked->length
                           : r->headers_in.content_length_n;

        if (bound <= 0 || bound > DH_HTTP_DISCARD_BUFFER) {
            bound = DH_HTTP_DISCARD_BUFFER;
        }

        n = c->recv(c, buffer, (size_t) bound);

        if (n == DH_AGAIN) {
            return DH_AGAIN;
        }

        if (n == 0 || n == DH_ERROR) {
            return DH_ERROR;
        }

        tb.pos = buffer;
        tb.last = buffer + n;

        rc = dh_http_discard_from(r, &tb);
        if (rc != DH_AGAIN) {
            return rc;
        }
    }
}


static void
dh_http_discarded_body_handler(dh_http_request_t *r)
{
    dh_int_t          rc;
    dh_connection_t  *c;

    c = r->connection;

    if (c->read->timedout) {
        c->read->timedout = 0;
        r->discarding = 0;
        r->keepalive = 0;

        if (r->done) {
            dh_http_close_request(r);
        }
        return;
    }

    rc = dh_http_read_discarded_body(r);

    if (rc == DH_AGAIN) {
        return;
    }

    r->discarding = 0;
    r->read_event_handler = dh_http_block_reading;

    if (rc != DH_OK) {
        r->keepalive = 0;

        if (r->done || rc == DH_ERROR) {
            dh_http_close_request(r);
        }
        return;
    }

    if (r->done) {
        dh_event_del_timer(c->read);
        dh_http_finalize_connection(r);
    }
}


/* ---- after the response ----------------------------------------------- */

static void
dh_http_finalize_connection(dh_http_request_t *r)
{
    dh_connection_t          *c;
    dh_http_core_loc_conf_t  *clcf;

    c = r->connection;

    if (r->request_body && !r->request_body->finished) {
        /* answered while the body was still arriving */
        r->request_body->finished = 1;
        r->read_event_handler = dh_http_block_reading;
        r->keepalive = 0;
        r->lingering_close = 1;
    }

    if (r->keepalive && !c->close && !dh_exiting && !r->discarding) {
        dh_http_set_keepalive(r);
        return;
    }

    clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);

    if (clcf->lingering_close == DH_HTTP_LINGERING_ALWAYS
        || (clcf->lingering_close == DH_HTTP_LINGERING_ON
            && (r->lingering_close || r->discarding
                || r->header_in->pos < r->header_in->last)))
    {
        dh_http_set_lingering_close(r, clcf);
        return;
    }

    dh_http_close_request(r);
}


/* Frees every header buffer of the request but `keep`. */
static void
dh_http_release_buffers(dh_http_request_t *r, dh_buf_t *keep)
{
    dh_uint_t  i;

    if (r->first_buf && r->first_buf != keep) {
        dh_free(r->first_buf);
    }

    for (i = 0; i < r->nlarge; i++) {
        if (r->large_bufs[i] != keep) {
            dh_free(r->large_bufs[i]);
        }
    }

    r->first_buf = NULL;
    r->nlarge = 0;
    r->connection->buffer = keep;
}


static void
dh_http_set_keepalive(dh_http_request_t *r)
{
    size_t                     size;
    dh_msec_t                  timeout;
    dh_flag_t                  nodelay;
    dh_buf_t                  *b, *keep;
    dh_event_t                *rev;
    dh_connection_t           *c;
    dh_http_core_loc_conf_t   *clcf;

    c = r->connection;
    rev = c->read;
    b = r->header_in;

    clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);
    timeout = clcf->keepalive_timeout;
    nodelay = clcf->tcp_nodelay;

    keep = NULL;

    dh_http_log_request(r);

    if (b->pos < b->last) {
        /* pipelined: keep the bytes, in the small buffer when they fit */
        size = b->last - b->pos;
        keep = b;

        if (b != r->first_buf && r->first_buf
            && size <= (size_t) (r->first_buf->end - r->first_buf->start))
        {
            keep = r->first_buf;
        }

        if (keep->start != b->pos) {
            dh_memmove(keep->start, b->pos, size);
        }

        keep->pos = keep->start;
        keep->last = keep->start + size;
    }

    dh_http_release_buffers(r, keep);
    dh_http_free_request(r);

    dh_connection_metrics_state(c, DH_CONN_STATE_WAITING);

    c->log->action = "keepalive";

    if (nodelay && c->tcp_nodelay == DH_TCP_NODELAY_UNSET) {
        if (dh_tcp_nodelay(c) != DH_OK) {
            dh_http_close_connection(c);
            return;
        }
    }

    c->write->handler = dh_http_empty_handler;
    rev->handler = dh_http_wait_request_handler;

    rev->cancelable = 1;
    dh_event_add_timer(rev, timeout);

    if (keep) {
        /* answered in order: the next request starts on the next round */
        dh_post_event(rev, &dh_posted_events);
        return;
    }

    c->idle = 1;
    dh_reusable_connection(c, 1);

    if (rev->ready) {
        dh_post_event(rev, &dh_posted_events);
    }
}


static void
dh_http_set_lingering_close(dh_http_request_t *r,
    dh_http_core_loc_conf_t *clcf)
{
    dh_event_t            *rev;
    dh_connection_t       *c;
    dh_http_connection_t  *hc;

    c = r->connection;
    hc = r->http_connection;
    rev = c->read;

    dh_http_log_request(r);
    dh_http_release_buffers(r, NULL);
    dh_http_free_request(r);

    /* TLS ends with close_notify before the TCP half-close; what the
     * client still sends is then drained as raw bytes */
    if (c->ssl) {
        dh_http_ssl_hooks.shutdown(c);
    }

    /* our side is done; reading what the client still sends, for a
     * while, keeps its kernel from answering our response with a reset */
    if (shutdown(c->fd, SHUT_WR) == -1) {
        dh_http_close_connection(c);
        return;
    }

    c->log->action = "lingering close";

    hc->lingering = 1;
    hc->lingering_end = dh_current_msec + clcf->lingering_time;
    hc->lingering_timeout = clcf->lingering_timeout;

    rev->handler = dh_http_lingering_close_handler;
    c->write->handler = dh_http_empty_handler;

    rev->cancelable = 1;
    dh_event_del_timer(rev);
    dh_event_add_timer(rev, hc->lingering_timeout);

    if (rev->ready) {
        dh_http_lingering_close_handler(rev);
    }
}


static void
dh_http_lingering_close_handler(dh_event_t *rev)
{
    ssize_t                n;
    dh_msec_int_t          left;
    dh_connection_t       *c;
    dh_http_connection_t  *hc;
    u_char                 buffer[DH_HTTP_DISCARD_BUFFER];

    c = rev->data;
    hc = c->data;

    if (rev->timedout || (c->close && dh_shutdown_expired)) {
        dh_http_close_connection(c);
        return;
    }

    left = (dh_msec_int_t) (hc->lingering_end - dh_current_msec);

    if (left <= 0) {
        dh_http_close_connection(c);
        return;
    }

    do {
        n = c->recv(c, buffer, DH_HTTP_DISCARD_BUFFER);

        if (n == DH_ERROR || n == 0) {
            dh_http_close_connection(c);
            return;
        }

    } while (n != DH_AGAIN && rev->ready);

    dh_event_add_timer(rev, dh_min((dh_msec_t) left, hc->lingering_timeout));
}


/*
 * LOG phase handlers read the request line and headers, which point into
 * the header buffers; so they run before those buffers are released or
 * reused for a pipelined request, never from dh_http_free_request().
 */
static void
dh_http_log_request(dh_http_request_t *r)
{
    dh_uint_t                   i;
    dh_http_handler_pt         *log_handler;
    dh_http_core_main_conf_t   *cmcf;

    cmcf = dh_http_get_module_main_conf(r, dh_http_core_module);

    log_handler = cmcf->phases[DH_HTTP_LOG_PHASE].handlers.elts;

    for (i = 0; i < cmcf->phases[DH_HTTP_LOG_PHASE].handlers.nelts; i++) {
        log_handler[i](r);
    }
}


static void
dh_http_free_request(dh_http_request_t *r)
{
    r->http_connection->request = NULL;
    r->connection->log->action = NULL;

    dh_destroy_pool(r->pool);
}


static void
dh_http_close_request(dh_http_request_t *r)
{
    dh_connection_t  *c;

    c = r->connection;

    dh_http_log_request(r);
    dh_http_release_buffers(r, NULL);
    dh_http_free_request(r);
    dh_http_close_connection(c);
}


void
dh_http_close_connection(dh_connection_t *c)
{
    dh_pool_t  *pool;

    /* a request, if any, was freed before; only an idle buffer is left */
    if (c->buffer) {
        dh_free(c->buffer);
        c->buffer = NULL;
    }

    if (c->ssl) {
        dh_http_ssl_hooks.shutdown(c);
    }

    c->destroyed = 1;

    /* the slot's c->data turns into a free-list link: log lines from the
     * close itself must not look for our state through it */
    c->log->handler = NULL;
    c->log->action = NULL;

    pool = c->pool;
    dh_close_connection(c);
    dh_destroy_pool(pool);
}


u_char *
dh_http_log_error(dh_log_t *log, u_char *buf, size_t len)
{
    u_char                    *p, *last;
    dh_connection_t           *c;
    dh_http_request_t         *r;
    dh_http_connection_t      *hc;
    dh_http_core_srv_conf_t   *cscf;

    c = log->data;
    p = buf;
    last = buf + len;

    if (log->action) {
        p = dh_slprintf(p, last, " while %s", log->action);
    }

    p = dh_slprintf(p, last, ", client: %.*s", DH_STR_FMT(c->addr_text));

    hc = c->data;
    r = hc ? hc->request : NULL;

    if (r == NULL) {
        return p;
    }

    cscf = dh_http_get_module_srv_conf(r, dh_http_core_module);

    if (cscf->server_name.len) {
        p = dh_slprintf(p, last, ", server: %.*s",
                        DH_STR_FMT(cscf->server_name));
    }

    if (r->request_line.len) {
        p = dh_slprintf(p, last, ", request: \"%.*s\"",
                        DH_STR_FMT(r->request_line));
    }

    if (r->headers_in.server.len) {
        p = dh_slprintf(p, last, ", host: \"%.*s\"",
                        DH_STR_FMT(r->headers_in.server));
    }

    return p;
}

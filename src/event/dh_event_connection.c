/*
 * The per-process connection array: free list, reusable (idle keep-alive)
 * LRU, and the helpers protocols share (close, error logging, TCP_NODELAY,
 * local address).
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_event.h"


/* how many of the oldest reusable connections one shortage reclaims */
#define DH_DRAIN_MAX  32


dh_uint_t        dh_connection_counter;
dh_event_ctx_t  *dh_event_ctx;


static void
dh_drain_connections(dh_log_t *log)
{
    dh_uint_t         i, n;
    dh_queue_t       *q;
    dh_connection_t  *c;
    static time_t     logged;

    if (dh_event_ctx->reusable_connections_n == 0) {
        return;
    }

    /* once a second is enough to tell the admin the array is too small */
    if (logged != dh_time()) {
        logged = dh_time();
        dh_log_error(DH_LOG_WARN, log, 0,
                     "%lu worker_connections are not enough, "
                     "reusing connections",
                     (unsigned long) dh_event_ctx->connection_n);
    }

    n = dh_max(dh_min(DH_DRAIN_MAX,
                      dh_event_ctx->reusable_connections_n / 8), 1);

    for (i = 0; i < n; i++) {
        if (dh_queue_empty(&dh_event_ctx->reusable_connections_queue)) {
            break;
        }

        q = dh_queue_last(&dh_event_ctx->reusable_connections_queue);
        c = dh_queue_data(q, dh_connection_t, queue);

        /* the protocol's idle handler closes the connection when it finds
         * c->close set; taking it off the queue first guarantees progress
         * even if the handler decides to keep it */
        dh_reusable_connection(c, 0);

        c->close = 1;
        c->read->handler(c->read);
    }
}


dh_connection_t *
dh_get_connection(dh_socket_t s, dh_log_t *log)
{
    dh_uint_t         instance;
    dh_event_t       *rev, *wev;
    dh_connection_t  *c;

    c = dh_event_ctx->free_connections;

    if (c == NULL) {
        dh_drain_connections(log);
        c = dh_event_ctx->free_connections;
    }

    if (c == NULL) {
        dh_log_error(DH_LOG_ALERT, log, 0,
                     "%lu worker_connections are not enough",
                     (unsigned long) dh_event_ctx->connection_n);
        return NULL;
    }

    dh_event_ctx->free_connections = c->data;
    dh_event_ctx->free_connection_n--;

    rev = c->read;
    wev = c->write;

    dh_memzero(c, sizeof(dh_connection_t));

    c->read = rev;
    c->write = wev;
    c->fd = s;
    c->log = log;

    instance = rev->instance;

    dh_memzero(rev, sizeof(dh_event_t));
    dh_memzero(wev, sizeof(dh_event_t));

    /* a new user of the slot: events still queued for the old one carry
     * the old instance bit and are dropped */
    rev->instance = !instance;
    wev->instance = !instance;

    rev->data = c;
    wev->data = c;
    wev->write = 1;

    rev->log = log;
    wev->log = log;

    return c;
}


void
dh_free_connection(dh_connection_t *c)
{
    if (c->internal) {
        dh_event_ctx->internal_n--;
        c->internal = 0;
    }

    c->data = dh_event_ctx->free_connections;
    dh_event_ctx->free_connections = c;
    dh_event_ctx->free_connection_n++;
}


void
dh_close_connection(dh_connection_t *c)
{
    dh_err_t     err;
    dh_socket_t  fd;

    if (c->fd == -1) {
        dh_log_error(DH_LOG_ALERT, c->log, 0, "connection already closed");
        return;
    }

    dh_event_del_timer(c->read);
    dh_event_del_timer(c->write);

    /* closing the socket removes it from epoll: it is never shared */
    dh_del_conn(c, DH_CLOSE_EVENT);

    dh_delete_posted_event(c->read);
    dh_delete_posted_event(c->write);

    c->read->closed = 1;
    c->write->closed = 1;

    dh_reusable_connection(c, 0);

    if (c->metered) {
        dh_connection_metrics_state(c, DH_CONN_STATE_NONE);
        c->metered = 0;
        dh_metrics_inc(dh_metric_conn_active, -1);
    }

    fd = c->fd;
    c->fd = -1;

    dh_free_connection(c);

    if (close(fd) == -1) {
        err = dh_socket_errno;

        if (err == DH_ECONNRESET || err == DH_ENOTCONN) {
            return;
        }

        dh_log_error(DH_LOG_ALERT, c->log, err, "close() socket %d failed",
                     fd);
    }
}


void
dh_reusable_connection(dh_connection_t *c, dh_uint_t reusable)
{
    if (c->reusable) {
        dh_queue_remove(&c->queue);
        dh_event_ctx->reusable_connections_n--;
    }

    c->reusable = reusable ? 1 : 0;

    if (reusable) {
        /* newest at the head: the drain takes the oldest from the tail */
        dh_queue_insert_head(&dh_event_ctx->reusable_connections_queue,
                             &c->queue);
        dh_event_ctx->reusable_connections_n++;
    }
}


void
dh_close_idle_connections(dh_cycle_t *cycle)
{
    dh_uint_t         i;
    dh_connection_t  *c;

    if (dh_event_ctx == NULL) {
        return;
    }

    c = dh_event_ctx->connections;

    for (i = 0; i < dh_event_ctx->connection_n; i++) {

        /* the handler may close this connection, or others; only the
         * state of slot i at this moment matters */
        if (c[i].fd != -1 && c[i].idle && !c[i].internal) {
            c[i].close = 1;
            c[i].read->handler(c[i].read);
        }
    }
}


void
dh_connection_metrics_state(dh_connection_t *c, dh_uint_t state)
{
    dh_metric_t  *gauge[4];

    if (!c->metered || c->metrics_state == state) {
        return;
    }

    gauge[DH_CONN_STATE_NONE] = NULL;
    gauge[DH_CONN_STATE_WAITING] = dh_metric_conn_waiting;
    gauge[DH_CONN_STATE_READING] = dh_metric_conn_reading;
    gauge[DH_CONN_STATE_WRITING] = dh_metric_conn_writing;

    dh_metrics_inc(gauge[c->metrics_state], -1);
    dh_metrics_inc(gauge[state], 1);

    c->metrics_state = state;
}


dh_uint_t
dh_active_connections(dh_cycle_t *cycle)
{
    if (dh_event_ctx == NULL) {
        return 0;
    }

    return dh_event_ctx->connection_n - dh_event_ctx->free_connection_n
           - dh_event_ctx->internal_n;
}


static dh_uint_t
dh_sockaddr_is_wildcard(struct sockaddr *sa)
{
    switch (sa->sa_family) {

    case AF_INET:
        return ((struct sockaddr_in *) sa)->sin_addr.s_addr == INADDR_ANY;

    case AF_INET6:
        return IN6_IS_ADDR_UNSPECIFIED(
                   &((struct sockaddr_in6 *) sa)->sin6_addr);

    default:
        return 0;
    }
}


dh_int_t
dh_connection_local_sockaddr(dh_connection_t *c, dh_str_t *s, dh_uint_t port)
{
    socklen_t       len;
    dh_sockaddr_t   sa;

    if (c->local_sockaddr == NULL
        || dh_sockaddr_is_wildcard(c->local_sockaddr))
    {
        /* a wildcard listener: the kernel knows which address the client
         * actually reached */
        len = sizeof(dh_sockaddr_t);

        if (getsockname(c->fd, &sa.sockaddr, &len) == -1) {
            dh_connection_error(c, dh_socket_errno, "getsockname() failed");
            return DH_ERROR;
        }

        c->local_sockaddr = dh_palloc(c->pool, len);
        if (c->local_sockaddr == NULL) {
            return DH_ERROR;
        }

        dh_memcpy(c->local_sockaddr, &sa, len);
        c->local_socklen = len;
    }

    if (s == NULL) {
        return DH_OK;
    }

    s->len = dh_sock_ntop(c->local_sockaddr, c->local_socklen, s->data,
                          s->len, port);

    return DH_OK;
}


dh_int_t
dh_tcp_nodelay(dh_connection_t *c)
{
    int  on;

    if (c->tcp_nodelay != DH_TCP_NODELAY_UNSET) {
        return DH_OK;
    }

    on = 1;

    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(int)) == -1)
    {
        dh_connection_error(c, dh_socket_errno,
                            "setsockopt(TCP_NODELAY) failed");
        return DH_ERROR;
    }

    c->tcp_nodelay = DH_TCP_NODELAY_SET;

    return DH_OK;
}


/* Logs a socket error at a level that matches whose fault it is: a peer
 * that went away is routine (info), anything else is ours (error or
 * alert, as the connection's log_error says). */
dh_int_t
dh_connection_error(dh_connection_t *c, dh_err_t err, char *text)
{
    dh_uint_t  level;

    if (err == DH_ECONNRESET && c->log_error == DH_ERROR_IGNORE_ECONNRESET) {
        return DH_ERROR;
    }

    switch (err) {

    case 0:
    case DH_EPIPE:
    case DH_ECONNRESET:
    case DH_ENOTCONN:
    case DH_ETIMEDOUT:
    case DH_ECONNREFUSED:
    case ENETDOWN:
    case ENETUNREACH:
    case EHOSTDOWN:
    case DH_EHOSTUNREACH:

        switch (c->log_error) {

        case DH_ERROR_IGNORE_ECONNRESET:
        case DH_ERROR_INFO:
            level = DH_LOG_INFO;
            break;

        case DH_ERROR_ERR:
            level = DH_LOG_ERR;
            break;

        default:
            level = DH_LOG_ALERT;
        }

        break;

    default:
        level = DH_LOG_ALERT;
    }

    dh_log_error(level, c->log, err, "%s", text);

    return DH_ERROR;
}

/*
 * Accepting connections.
 *
 * Each listener of this worker sits level-triggered in the epoll set (with
 * EPOLLEXCLUSIVE when several workers share it).  The listener is taken
 * out of the set, for every listener of the worker at once, while:
 *   - accept4() failed with EMFILE/ENFILE (DH_ACCEPT_PAUSE ms, a timer on
 *     the listener's read event brings it back);
 *   - the worker has fewer than 1/8 of its connections free and other
 *     workers share the socket (they take the load; re-checked on every
 *     loop round);
 *   - the worker is exiting (for good).
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_event.h"


/* with EPOLLEXCLUSIVE the kernel prefers the first registered waiter;
 * re-registering after this many accepts moves us to the back */
#define DH_ACCEPT_REORDER  16


static dh_int_t dh_event_accept_one(dh_connection_t *lc, dh_socket_t s,
    dh_sockaddr_t *sa, socklen_t socklen);
static void dh_event_accept_reorder(dh_connection_t *lc);


static dh_uint_t
dh_accept_overloaded(void)
{
    dh_uint_t  need;

    if (!(dh_event_flags & DH_USE_ACCEPT_THROTTLE)) {
        return 0;
    }

    need = dh_event_ctx->connection_n / 8;

    if (dh_event_ctx->free_connection_n >= need) {
        return 0;
    }

    return need - dh_event_ctx->free_connection_n;
}


void
dh_event_update_accept(void)
{
    dh_uint_t         i, stop, shared_off;
    dh_event_t       *rev;
    dh_connection_t  *lc;
    dh_listening_t   *ls;

    if (dh_event_ctx == NULL) {
        return;
    }

    dh_accept_disabled_n = dh_accept_overloaded();

    stop = dh_event_flags & (DH_ACCEPT_STOPPED|DH_ACCEPT_PAUSED);
    shared_off = (dh_accept_disabled_n > 0);

    for (i = 0; i < dh_event_ctx->listeners_n; i++) {
        lc = dh_event_ctx->listeners[i];
        ls = lc->listening;
        rev = lc->read;

        /* a reuseport socket is ours alone: pausing it would only delay
         * the clients the kernel already assigned to us */
        if (stop || (shared_off && !ls->reuseport)) {
            if (rev->active) {
                dh_del_event(rev, DH_READ_EVENT, 0);
            }

            continue;
        }

        if (!rev->active) {
            dh_add_event(rev, DH_READ_EVENT,
                         DH_LEVEL_EVENT
                         | ((dh_event_flags & DH_USE_EXCLUSIVE_ACCEPT)
                            && !ls->reuseport ? DH_EXCLUSIVE_EVENT : 0));
        }
    }
}


void
dh_event_accept(dh_event_t *ev)
{
    int                  multi;
    dh_err_t             err;
    socklen_t            socklen;
    dh_socket_t          s;
    dh_sockaddr_t        sa;
    dh_connection_t     *lc;
    static dh_uint_t     emfile_logged;

    if (ev->timedout) {
        /* the EMFILE pause is over */
        ev->timedout = 0;
        dh_event_flags &= ~DH_ACCEPT_PAUSED;
        dh_event_update_accept();
        return;
    }

    multi = (dh_event_flags & DH_USE_MULTI_ACCEPT) != 0;

    lc = ev->data;
    ev->ready = 0;

    do {
        socklen = sizeof(dh_sockaddr_t);

        s = accept4(lc->fd, &sa.sockaddr, &socklen,
                    SOCK_NONBLOCK|SOCK_CLOEXEC);

        if (s == -1) {
            err = dh_socket_errno;

            if (err == DH_EAGAIN) {
                return;
            }

            /* the client gave up while in the queue, or a signal: the
             * next one may be waiting */
            if (err == DH_ECONNABORTED || err == DH_EINTR) {
                continue;
            }

            if (err == DH_EMFILE || err == DH_ENFILE) {
                if (!emfile_logged) {
                    emfile_logged = 1;
                    dh_log_error(DH_LOG_CRIT, ev->log, err,
                                 "accept4() failed, not accepting for "
                                 "%d ms", DH_ACCEPT_PAUSE);
                }

                dh_event_flags |= DH_ACCEPT_PAUSED;
                dh_event_update_accept();

                /* nothing that must finish waits on this timer */
                ev->cancelable = 1;
                dh_event_add_timer(ev, DH_ACCEPT_PAUSE);
                return;
            }

            dh_log_error(DH_LOG_ALERT, ev->log, err, "accept4() failed");
            return;
        }

        emfile_logged = 0;

        dh_metrics_inc(dh_metric_conn_accepted, 1);

        if (dh_event_accept_one(lc, s, &sa, socklen) != DH_OK) {
            return;
        }

        dh_event_accept_reorder(lc);

        if (dh_accept_overloaded()) {
            dh_event_update_accept();

            if (!lc->read->active) {
                return;
            }
        }

    } while (multi);
}


static dh_int_t
dh_event_accept_one(dh_connection_t *lc, dh_socket_t s, dh_sockaddr_t *sa,
    socklen_t socklen)
{
    size_t            len;
    dh_log_t         *log;
    dh_pool_t        *pool;
    dh_listening_t   *ls;
    dh_connection_t  *c;

    ls = lc->listening;

    c = dh_get_connection(s, lc->log);

    if (c == NULL) {
        /* dh_get_connection logged the shortage */
        if (close(s) == -1) {
            dh_log_error(DH_LOG_ALERT, lc->log, dh_socket_errno,
                         "close() socket %d failed", s);
        }

        return DH_ERROR;
    }

    c->type = SOCK_STREAM;

    pool = dh_create_pool(ls->pool_size ? ls->pool_size : 512, lc->log);
    if (pool == NULL) {
        goto failed;
    }

    c->pool = pool;

    c->sockaddr = dh_palloc(pool, socklen);
    log = dh_palloc(pool, sizeof(dh_log_t));

    if (c->sockaddr == NULL || log == NULL) {
        goto failed;
    }

    dh_memcpy(c->sockaddr, sa, socklen);
    c->socklen = socklen;

    switch (sa->sockaddr.sa_family) {
    case AF_INET:
        len = DH_INET_ADDRSTRLEN + sizeof(":65535") - 1;
        break;
    case AF_INET6:
        len = DH_INET6_ADDRSTRLEN + sizeof("[]:65535") - 1;
        break;
    default:
        len = DH_SOCKADDR_STRLEN;
    }

    c->addr_text.data = dh_pnalloc(pool, len);
    if (c->addr_text.data == NULL) {
        goto failed;
    }

    c->addr_text.len = dh_sock_ntop(c->sockaddr, c->socklen,
                                    c->addr_text.data, len, 0);

    c->number = ++dh_connection_counter;

    *log = *lc->log;
    log->connection = c->number;

    c->log = log;
    c->read->log = log;
    c->write->log = log;
    c->log_error = DH_ERROR_INFO;

    c->listening = ls;
    c->local_sockaddr = &ls->sockaddr.sockaddr;
    c->local_socklen = ls->socklen;

    c->recv = dh_unix_recv;
    c->send = dh_unix_send;
    c->send_chain = dh_linux_sendfile_chain;

    c->start_time = dh_current_msec;

    /* the socket is writable until a send says otherwise; the first edge
     * may already have been consumed by the time a response is ready */
    c->write->ready = 1;

    if (dh_add_conn(c) != DH_OK) {
        goto failed;
    }

    dh_log_debug(c->log, "accept: %.*s fd:%d",
                 DH_STR_FMT(c->addr_text), s);

    /* counted before the handler, which may close it at once */
    dh_metrics_inc(dh_metric_conn_handled, 1);
    dh_metrics_inc(dh_metric_conn_active, 1);
    c->metered = 1;

    ls->handler(c);

    return DH_OK;

failed:

    dh_close_connection(c);

    if (pool) {
        dh_destroy_pool(pool);
    }

    return DH_ERROR;
}


static void
dh_event_accept_reorder(dh_connection_t *lc)
{
    if (!(dh_event_flags & DH_USE_EXCLUSIVE_ACCEPT)
        || lc->listening->reuseport)
    {
        return;
    }

    /* lc->requests counts accepts on a listener slot */
    if (++lc->requests % DH_ACCEPT_REORDER) {
        return;
    }

    if (dh_del_event(lc->read, DH_READ_EVENT, 0) != DH_OK) {
        return;
    }

    dh_add_event(lc->read, DH_READ_EVENT,
                 DH_LEVEL_EVENT|DH_EXCLUSIVE_EVENT);
}

/*
 * The epoll backend.
 *
 * Connections are added once, edge-triggered, for both directions
 * (dh_add_conn) and never modified afterwards: a handler reads or writes
 * until EAGAIN and the next edge wakes it again.  Listeners, the master
 * channel and thread-pool eventfds are level-triggered (dh_add_event).
 *
 * epoll_data.ptr carries the connection pointer with its lowest bit set to
 * the read event's instance flag.  A connection closed by an earlier
 * handler of the same batch has fd == -1, and one closed and handed out
 * again has its instance flipped; either way the queued event is stale.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_event.h"


#if (DH_HAVE_EPOLLRDHUP)
#define DH_EPOLL_RDHUP  EPOLLRDHUP
#else
#define DH_EPOLL_RDHUP  0
#endif


static int                  ep = -1;
static struct epoll_event  *event_list;
static dh_uint_t            nevents;


dh_int_t
dh_epoll_init(dh_cycle_t *cycle, dh_uint_t n)
{
    if (ep == -1) {
        ep = epoll_create1(EPOLL_CLOEXEC);

        if (ep == -1) {
            dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                         "epoll_create1() failed");
            return DH_ERROR;
        }
    }

    if (nevents < n) {
        dh_free(event_list);

        event_list = dh_alloc(sizeof(struct epoll_event) * n, cycle->log);
        if (event_list == NULL) {
            nevents = 0;
            return DH_ERROR;
        }

        nevents = n;
    }

    return DH_OK;
}


void
dh_epoll_done(dh_cycle_t *cycle)
{
    if (ep != -1 && close(ep) == -1) {
        dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                     "epoll close() failed");
    }

    ep = -1;

    dh_free(event_list);

    event_list = NULL;
    nevents = 0;
}


static void *
dh_epoll_ptr(dh_connection_t *c)
{
    return (void *) ((uintptr_t) c | c->read->instance);
}


dh_int_t
dh_add_event(dh_event_t *ev, dh_int_t event, dh_uint_t flags)
{
    int                  op;
    uint32_t             events, prev;
    dh_event_t          *e;
    dh_connection_t     *c;
    struct epoll_event   ee;

    c = ev->data;

    events = (uint32_t) event;

    if (event == DH_READ_EVENT) {
        e = c->write;
        prev = EPOLLOUT;

        /* the kernel refuses EPOLLRDHUP together with EPOLLEXCLUSIVE;
         * only listeners are exclusive and they need no half-close */
        if (!(flags & DH_EXCLUSIVE_EVENT)) {
            events |= DH_EPOLL_RDHUP;
        }

    } else {
        e = c->read;
        prev = EPOLLIN|DH_EPOLL_RDHUP;
    }

    /* EPOLLEXCLUSIVE may only be given to EPOLL_CTL_ADD, and exclusive
     * listeners never have a write event, so they always take ADD */
    if (e->active && !(flags & DH_EXCLUSIVE_EVENT)) {
        op = EPOLL_CTL_MOD;
        events |= prev;

    } else {
        op = EPOLL_CTL_ADD;
    }

    ee.events = events | (uint32_t) flags;
    ee.data.ptr = dh_epoll_ptr(c);

    if (epoll_ctl(ep, op, c->fd, &ee) == -1) {
        dh_log_error(DH_LOG_ALERT, ev->log, dh_errno,
                     "epoll_ctl(%d, %d) failed", op, c->fd);
        return DH_ERROR;
    }

    ev->active = 1;

    return DH_OK;
}


dh_int_t
dh_del_event(dh_event_t *ev, dh_int_t event, dh_uint_t flags)
{
    int                  op;
    dh_event_t          *e;
    dh_connection_t     *c;
    struct epoll_event   ee;

    /* closing the fd removes it from the epoll set, as long as no other
     * process or dup holds the same file (listeners are shared, so they
     * never pass DH_CLOSE_EVENT) */
    if (flags & DH_CLOSE_EVENT) {
        ev->active = 0;
        return DH_OK;
    }

    c = ev->data;

    if (event == DH_READ_EVENT) {
        e = c->write;
        ee.events = EPOLLOUT;

    } else {
        e = c->read;
        ee.events = EPOLLIN|DH_EPOLL_RDHUP;
    }

    if (e->active) {
        op = EPOLL_CTL_MOD;
        ee.data.ptr = dh_epoll_ptr(c);

    } else {
        op = EPOLL_CTL_DEL;
        ee.events = 0;
        ee.data.ptr = NULL;
    }

    if (epoll_ctl(ep, op, c->fd, &ee) == -1) {
        dh_log_error(DH_LOG_ALERT, ev->log, dh_errno,
                     "epoll_ctl(%d, %d) failed", op, c->fd);
        return DH_ERROR;
    }

    ev->active = 0;

    return DH_OK;
}


dh_int_t
dh_add_conn(dh_connection_t *c)
{
    struct epoll_event  ee;

    ee.events = EPOLLIN|EPOLLOUT|EPOLLET|DH_EPOLL_RDHUP;
    ee.data.ptr = dh_epoll_ptr(c);

    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ee) == -1) {
        dh_log_error(DH_LOG_ALERT, c->log, dh_errno,
                     "epoll_ctl(EPOLL_CTL_ADD, %d) failed", c->fd);
        return DH_ERROR;
    }

    c->read->active = 1;
    c->write->active = 1;

    return DH_OK;
}


dh_int_t
dh_del_conn(dh_connection_t *c, dh_uint_t flags)
{
    struct epoll_event  ee;

    if (!(flags & DH_CLOSE_EVENT)) {
        ee.events = 0;
        ee.data.ptr = NULL;

        if (epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, &ee) == -1) {
            dh_log_error(DH_LOG_ALERT, c->log, dh_errno,
                         "epoll_ctl(EPOLL_CTL_DEL, %d) failed", c->fd);
            return DH_ERROR;
        }
    }

    c->read->active = 0;
    c->write->active = 0;

    return DH_OK;
}


static void
dh_epoll_dispatch(dh_event_t *ev, dh_uint_t flags)
{
    if (flags & DH_POST_EVENTS) {
        dh_post_event(ev, ev->accept ? &dh_posted_accept_events
                                     : &dh_posted_events);
        return;
    }

    ev->handler(ev);
}


dh_int_t
dh_process_events(dh_cycle_t *cycle, dh_msec_t timer, dh_uint_t flags)
{
    int                n, i;
    uint32_t           revents;
    dh_err_t           err;
    dh_uint_t          instance;
    dh_event_t        *rev, *wev;
    dh_connection_t   *c;

    n = epoll_wait(ep, event_list, (int) nevents,
                   timer == DH_TIMER_INFINITE ? -1 : (int) timer);

    err = (n == -1) ? dh_errno : 0;

    if (flags & DH_UPDATE_TIME) {
        dh_time_update();
    }

    if (n == -1) {
        /* a signal (reload, quit, child exit): the caller's loop looks at
         * the flags the handler set */
        if (err == DH_EINTR) {
            return DH_OK;
        }

        dh_log_error(DH_LOG_ALERT, cycle->log, err, "epoll_wait() failed");
        return DH_ERROR;
    }

    if (n == 0) {
        if (timer != DH_TIMER_INFINITE) {
            return DH_OK;
        }

        dh_log_error(DH_LOG_ALERT, cycle->log, 0,
                     "epoll_wait() returned no events without timeout");
        return DH_ERROR;
    }

    for (i = 0; i < n; i++) {
        c = event_list[i].data.ptr;

        instance = (uintptr_t) c & 1;
        c = (dh_connection_t *) ((uintptr_t) c & (uintptr_t) ~1);

        rev = c->read;

        if (c->fd == -1 || rev->instance != instance) {
            continue;       /* stale: closed earlier in this batch */
        }

        revents = event_list[i].events;

        /* an error or hang-up is reported to both handlers, so whichever
         * runs finds it through recv()/send() */
        if (revents & (EPOLLERR|EPOLLHUP)) {
            revents |= EPOLLIN|EPOLLOUT;
        }

        if (revents & DH_EPOLL_RDHUP) {
            rev->pending_eof = 1;
            revents |= EPOLLIN;
        }

        if ((revents & EPOLLIN) && rev->active) {
            rev->ready = 1;
            dh_epoll_dispatch(rev, flags);
        }

        wev = c->write;

        if ((revents & EPOLLOUT) && wev->active) {

            /* the read handler may have closed the connection, and maybe
             * handed the slot to a new one */
            if (c->fd == -1 || wev->instance != instance) {
                continue;
            }

            wev->ready = 1;
            dh_epoll_dispatch(wev, flags);
        }
    }

    return DH_OK;
}

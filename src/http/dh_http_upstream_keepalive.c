/*
 * The keep-alive cache of an upstream: up to `keepalive` idle connections
 * per worker, most recently used first, each closed after
 * keepalive_timeout or as soon as the backend closes it (a readable idle
 * connection is one the backend closed or broke: it may not send
 * anything unasked).  Idle connections are "reusable", so a worker that
 * runs out of connections or shuts down closes them first.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"
#include "dh_http_upstream_int.h"


typedef struct {
    dh_queue_t                     queue;
    dh_connection_t               *connection;
    dh_http_upstream_srv_conf_t   *us;
    dh_http_upstream_peer_t       *peer;
} dh_http_upstream_ka_t;


static void dh_http_upstream_keepalive_close_handler(dh_event_t *ev);
static void dh_http_upstream_keepalive_dummy_handler(dh_event_t *ev);


dh_int_t
dh_http_upstream_keepalive_init(dh_pool_t *pool,
    dh_http_upstream_srv_conf_t *us)
{
    dh_uint_t               i;
    dh_http_upstream_rt_t  *rt;
    dh_http_upstream_ka_t  *items;

    rt = dh_pcalloc(pool, sizeof(dh_http_upstream_rt_t));
    if (rt == NULL) {
        return DH_ERROR;
    }

    dh_queue_init(&rt->cache);
    dh_queue_init(&rt->free);

    if (us->keepalive) {
        items = dh_pcalloc(pool, us->keepalive * sizeof(dh_http_upstream_ka_t));
        if (items == NULL) {
            return DH_ERROR;
        }

        for (i = 0; i < us->keepalive; i++) {
            dh_queue_insert_head(&rt->free, &items[i].queue);
        }
    }

    us->runtime = rt;

    return DH_OK;
}


void
dh_http_upstream_close_connection(dh_connection_t *c)
{
    dh_pool_t  *pool;

    if (c->ssl && dh_http_upstream_ssl_hooks.shutdown) {
        dh_http_upstream_ssl_hooks.shutdown(c);
    }

    pool = c->pool;
    dh_close_connection(c);

    if (pool) {
        dh_destroy_pool(pool);
    }
}


dh_connection_t *
dh_http_upstream_keepalive_get(dh_http_upstream_srv_conf_t *us,
    dh_http_upstream_peer_t *peer)
{
    dh_queue_t             *q;
    dh_connection_t        *c;
    dh_http_upstream_rt_t  *rt;
    dh_http_upstream_ka_t  *item;

    rt = us->runtime;

    if (rt == NULL) {
        return NULL;
    }

    for (q = dh_queue_head(&rt->cache);
         q != dh_queue_sentinel(&rt->cache);
         q = dh_queue_next(q))
    {
        item = dh_queue_data(q, dh_http_upstream_ka_t, queue);

        if (item->peer != peer) {
            continue;
        }

        dh_queue_remove(q);
        dh_queue_insert_head(&rt->free, q);

        c = item->connection;

        if (c->read->timer_set) {
            dh_event_del_timer(c->read);
        }

        c->idle = 0;
        dh_reusable_connection(c, 0);

        rt->idle--;
        dh_http_upstream_gauge(us, 1, -1);

        return c;
    }

    return NULL;
}


void
dh_http_upstream_keepalive_put(dh_http_upstream_srv_conf_t *us,
    dh_http_upstream_peer_t *peer, dh_connection_t *c)
{
    dh_queue_t             *q;
    dh_http_upstream_rt_t  *rt;
    dh_http_upstream_ka_t  *item;

    rt = us->runtime;

    if (rt == NULL || us->keepalive == 0 || dh_exiting || c->close
        || c->requests >= us->keepalive_requests
        || c->read->eof || c->read->error || c->write->error)
    {
        dh_http_upstream_close_connection(c);
        return;
    }

    if (dh_queue_empty(&rt->free)) {
        /* full: the least recently used one makes room */
        q = dh_queue_last(&rt->cache);
        dh_queue_remove(q);

        item = dh_queue_data(q, dh_http_upstream_ka_t, queue);
        dh_http_upstream_close_connection(item->connection);

        rt->idle--;
        dh_http_upstream_gauge(us, 1, -1);

    } else {
        q = dh_queue_head(&rt->free);
        dh_queue_remove(q);
        item = dh_queue_data(q, dh_http_upstream_ka_t, queue);
    }

    dh_queue_insert_head(&rt->cache, q);

    item->connection = c;
    item->us = us;
    item->peer = peer;

    if (c->read->timer_set) {
        dh_event_del_timer(c->read);
    }

    if (c->write->timer_set) {
        dh_event_del_timer(c->write);
    }

    c->data = item;
    c->log = dh_cycle->log;
    c->read->log = c->log;
    c->write->log = c->log;
    c->read->handler = dh_http_upstream_keepalive_close_handler;
    c->write->handler = dh_http_upstream_keepalive_dummy_handler;
    c->idle = 1;

    dh_reusable_connection(c, 1);
    dh_event_add_timer(c->read, us->keepalive_timeout);

    rt->idle++;
    dh_http_upstream_gauge(us, 1, 1);

    /* bytes or a close that came in before the handlers changed */
    if (c->read->ready) {
        dh_http_upstream_keepalive_close_handler(c->read);
    }
}


static void
dh_http_upstream_keepalive_dummy_handler(dh_event_t *ev)
{
}


static void
dh_http_upstream_keepalive_close_handler(dh_event_t *ev)
{
    int                     n;
    char                    buf[1];
    dh_connection_t        *c;
    dh_http_upstream_rt_t  *rt;
    dh_http_upstream_ka_t  *item;

    c = ev->data;
    item = c->data;

    if (!ev->timedout && !c->close) {
        n = recv(c->fd, buf, 1, MSG_PEEK);

        if (n == -1 && dh_socket_errno == DH_EAGAIN) {
            /* a spurious wake-up: still open and quiet */
            ev->ready = 0;
            return;
        }
    }

    rt = item->us->runtime;

    dh_queue_remove(&item->queue);
    dh_queue_insert_head(&rt->free, &item->queue);

    rt->idle--;
    dh_http_upstream_gauge(item->us, 1, -1);

    dh_http_upstream_close_connection(c);
}

/*
 * Timers: one red-black tree per process, keyed by the absolute deadline
 * in dh_current_msec units.  The tree compares keys with wrap-around
 * arithmetic (dh_rbtree_insert_timer_value), so the monotonic clock may
 * wrap without reordering timers.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_event.h"


dh_rbtree_t              dh_event_timer_rbtree;
static dh_rbtree_node_t  dh_event_timer_sentinel;


dh_int_t
dh_event_timer_init(dh_log_t *log)
{
    dh_rbtree_init(&dh_event_timer_rbtree, &dh_event_timer_sentinel,
                   dh_rbtree_insert_timer_value);

    return DH_OK;
}


dh_msec_t
dh_event_find_timer(void)
{
    dh_msec_int_t      timer;
    dh_rbtree_node_t  *node, *root, *sentinel;

    root = dh_event_timer_rbtree.root;
    sentinel = dh_event_timer_rbtree.sentinel;

    if (root == sentinel) {
        return DH_TIMER_INFINITE;
    }

    node = dh_rbtree_min(root, sentinel);

    timer = (dh_msec_int_t) (node->key - dh_current_msec);

    return (dh_msec_t) (timer > 0 ? timer : 0);
}


void
dh_event_expire_timers(void)
{
    dh_event_t        *ev;
    dh_rbtree_node_t  *node, *root, *sentinel;

    sentinel = dh_event_timer_rbtree.sentinel;

    for ( ;; ) {
        root = dh_event_timer_rbtree.root;

        if (root == sentinel) {
            return;
        }

        node = dh_rbtree_min(root, sentinel);

        if ((dh_msec_int_t) (node->key - dh_current_msec) > 0) {
            return;
        }

        ev = dh_rbtree_data(node, dh_event_t, timer);

        dh_rbtree_delete(&dh_event_timer_rbtree, &ev->timer);

        ev->timer_set = 0;
        ev->timedout = 1;

        /* the handler may add the timer again or close the connection;
         * the next round starts again from the tree's minimum */
        ev->handler(ev);
    }
}


/* 1 when every timer left is cancelable: nothing that must finish is
 * waiting for a timer, so a gracefully exiting worker may go. */
dh_uint_t
dh_event_no_timers_left(void)
{
    dh_event_t        *ev;
    dh_rbtree_node_t  *node, *root, *sentinel;

    sentinel = dh_event_timer_rbtree.sentinel;
    root = dh_event_timer_rbtree.root;

    if (root == sentinel) {
        return 1;
    }

    for (node = dh_rbtree_min(root, sentinel);
         node;
         node = dh_rbtree_next(&dh_event_timer_rbtree, node))
    {
        ev = dh_rbtree_data(node, dh_event_t, timer);

        if (!ev->cancelable) {
            return 0;
        }
    }

    return 1;
}


void
dh_event_del_timer(dh_event_t *ev)
{
    if (!ev->timer_set) {
        return;
    }

    dh_rbtree_delete(&dh_event_timer_rbtree, &ev->timer);

#if (DH_DEBUG)
    ev->timer.left = NULL;
    ev->timer.right = NULL;
    ev->timer.parent = NULL;
#endif

    ev->timer_set = 0;
}


void
dh_event_add_timer(dh_event_t *ev, dh_msec_t timer)
{
    dh_msec_t      key;
    dh_msec_int_t  diff;

    key = dh_current_msec + timer;

    if (ev->timer_set) {

        /* a connection re-arms its timer on every read; moving it by less
         * than the lazy delay is not worth two tree operations */
        diff = (dh_msec_int_t) (key - ev->timer.key);

        if (dh_abs(diff) < DH_TIMER_LAZY_DELAY) {
            return;
        }

        dh_event_del_timer(ev);
    }

    ev->timer.key = (dh_rbtree_key_t) key;

    dh_rbtree_insert(&dh_event_timer_rbtree, &ev->timer);

    ev->timer_set = 1;
}

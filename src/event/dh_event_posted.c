/*
 * Posted events: handlers deferred to later in the same loop round
 * (dh_posted_events, dh_posted_accept_events) or to the next round
 * (dh_posted_next_events, which also makes the next wait non-blocking).
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_event.h"


dh_queue_t  dh_posted_accept_events;
dh_queue_t  dh_posted_events;
dh_queue_t  dh_posted_next_events;


void
dh_post_event(dh_event_t *ev, dh_queue_t *q)
{
    if (ev->posted) {
        return;
    }

    ev->posted = 1;
    dh_queue_insert_tail(q, &ev->queue);
}


void
dh_delete_posted_event(dh_event_t *ev)
{
    if (!ev->posted) {
        return;
    }

    ev->posted = 0;
    dh_queue_remove(&ev->queue);
}


void
dh_event_process_posted(dh_cycle_t *cycle, dh_queue_t *posted)
{
    dh_queue_t  *q;
    dh_event_t  *ev;

    /* handlers may post more events (to this queue too); they run in this
     * pass, and a handler deleting another posted event is safe because
     * the head is re-read every time */
    while (!dh_queue_empty(posted)) {
        q = dh_queue_head(posted);
        ev = dh_queue_data(q, dh_event_t, queue);

        dh_delete_posted_event(ev);

        ev->handler(ev);
    }
}


/* Moves the events posted for the next round into this round's queue.
 * They were waiting for nothing in particular (a handler yielding after a
 * burst of work), so they are marked ready again. */
void
dh_event_move_posted_next(dh_cycle_t *cycle)
{
    dh_queue_t  *q;
    dh_event_t  *ev;

    for (q = dh_queue_head(&dh_posted_next_events);
         q != dh_queue_sentinel(&dh_posted_next_events);
         q = dh_queue_next(q))
    {
        ev = dh_queue_data(q, dh_event_t, queue);
        ev->ready = 1;
    }

    if (dh_queue_empty(&dh_posted_next_events)) {
        return;
    }

    /* splice the whole queue onto the tail of dh_posted_events */
    q = dh_queue_head(&dh_posted_next_events);
    q->prev = dh_posted_events.prev;
    q->prev->next = q;
    dh_posted_events.prev = dh_posted_next_events.prev;
    dh_posted_events.prev->next = &dh_posted_events;

    dh_queue_init(&dh_posted_next_events);
}

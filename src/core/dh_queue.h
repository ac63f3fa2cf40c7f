/*
 * Intrusive doubly linked circular queue.  The sentinel is an ordinary
 * dh_queue_t; elements embed a dh_queue_t and are recovered with
 * dh_queue_data().  No allocation ever happens here.
 */

#ifndef DH_QUEUE_H
#define DH_QUEUE_H

#include "dh_core.h"

typedef struct dh_queue_s  dh_queue_t;

struct dh_queue_s {
    dh_queue_t  *prev;
    dh_queue_t  *next;
};

#define dh_queue_init(q)                                                      \
    (q)->prev = q;                                                            \
    (q)->next = q

#define dh_queue_empty(h)       (h == (h)->prev)

#define dh_queue_insert_head(h, x)                                            \
    (x)->next = (h)->next;                                                    \
    (x)->next->prev = x;                                                      \
    (x)->prev = h;                                                            \
    (h)->next = x

#define dh_queue_insert_after   dh_queue_insert_head

#define dh_queue_insert_tail(h, x)                                            \
    (x)->prev = (h)->prev;                                                    \
    (x)->prev->next = x;                                                      \
    (x)->next = h;                                                            \
    (h)->prev = x

#define dh_queue_head(h)        (h)->next
#define dh_queue_last(h)        (h)->prev
#define dh_queue_sentinel(h)    (h)
#define dh_queue_next(q)        (q)->next
#define dh_queue_prev(q)        (q)->prev

#define dh_queue_remove(x)                                                    \
    (x)->next->prev = (x)->prev;                                              \
    (x)->prev->next = (x)->next;                                              \
    (x)->prev = NULL;                                                         \
    (x)->next = NULL

#define dh_queue_data(q, type, link)                                          \
    (type *) ((u_char *) q - offsetof(type, link))

#endif /* DH_QUEUE_H */

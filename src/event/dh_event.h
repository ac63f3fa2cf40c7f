/*
 * The event layer: one epoll loop per worker, timers, posted events,
 * connections, accept and outbound connect.
 *
 * Connections are registered once, edge-triggered, for read and write
 * (EPOLLIN|EPOLLOUT|EPOLLET|EPOLLRDHUP); handlers therefore read and write
 * until EAGAIN.  Listening sockets are level-triggered and, with several
 * workers, EPOLLEXCLUSIVE so one worker wakes per connection.
 */

#ifndef DH_EVENT_H
#define DH_EVENT_H

#include "dh_core.h"

typedef struct dh_event_s  dh_event_t;

typedef void (*dh_event_handler_pt)(dh_event_t *ev);

struct dh_event_s {
    void                *data;          /* the connection (or owner) */
    dh_event_handler_pt  handler;
    dh_log_t            *log;

    unsigned             write:1;
    unsigned             accept:1;
    unsigned             instance:1;    /* detects stale epoll events */
    unsigned             active:1;      /* registered with epoll */
    unsigned             ready:1;       /* data/room available */
    unsigned             eof:1;
    unsigned             pending_eof:1;
    unsigned             error:1;
    unsigned             timedout:1;
    unsigned             timer_set:1;
    unsigned             delayed:1;
    unsigned             posted:1;
    unsigned             closed:1;
    /* a cancelable timer does not keep a shutting-down worker alive */
    unsigned             cancelable:1;
    unsigned             channel:1;

    dh_rbtree_node_t     timer;
    dh_queue_t           queue;         /* posted events */
};

/* flags for dh_add_event / dh_del_event */
#define DH_READ_EVENT        EPOLLIN
#define DH_WRITE_EVENT       EPOLLOUT
#define DH_LEVEL_EVENT       0
#define DH_CLEAR_EVENT       EPOLLET
#if (DH_HAVE_EPOLLEXCLUSIVE)
#define DH_EXCLUSIVE_EVENT   EPOLLEXCLUSIVE
#else
#define DH_EXCLUSIVE_EVENT   0
#endif
/* the fd is being closed: skip epoll_ctl */
#define DH_CLOSE_EVENT       1
#define DH_DISABLE_EVENT     2

/* a listener that hit EMFILE/ENFILE sleeps this long before accepting */
#define DH_ACCEPT_PAUSE      500

/* how long an exiting worker sleeps at most, so the shutdown deadline is
 * checked even when no event and no timer is due */
#define DH_EXIT_WAIT_MAX     100

/* flags for dh_process_events */
#define DH_UPDATE_TIME       1
#define DH_POST_EVENTS       2

#define DH_TIMER_INFINITE    (dh_msec_t) -1
#define DH_TIMER_LAZY_DELAY  300

dh_int_t dh_epoll_init(dh_cycle_t *cycle, dh_uint_t nevents);
void dh_epoll_done(dh_cycle_t *cycle);
dh_int_t dh_add_event(dh_event_t *ev, dh_int_t event, dh_uint_t flags);
dh_int_t dh_del_event(dh_event_t *ev, dh_int_t event, dh_uint_t flags);
dh_int_t dh_add_conn(dh_connection_t *c);
dh_int_t dh_del_conn(dh_connection_t *c, dh_uint_t flags);
dh_int_t dh_process_events(dh_cycle_t *cycle, dh_msec_t timer,
    dh_uint_t flags);

/* Handle a read/write event in edge-triggered mode: nothing to do beyond
 * keeping "active"; kept so protocol code reads like the level case. */
dh_int_t dh_handle_read_event(dh_event_t *rev, dh_uint_t flags);
dh_int_t dh_handle_write_event(dh_event_t *wev, size_t lowat);

/* timers (dh_event_timer.c) */
dh_int_t dh_event_timer_init(dh_log_t *log);
dh_msec_t dh_event_find_timer(void);
void dh_event_expire_timers(void);
dh_uint_t dh_event_no_timers_left(void);
void dh_event_add_timer(dh_event_t *ev, dh_msec_t timer);
void dh_event_del_timer(dh_event_t *ev);

/* posted events (dh_event_posted.c) */
void dh_post_event(dh_event_t *ev, dh_queue_t *q);
void dh_delete_posted_event(dh_event_t *ev);
void dh_event_process_posted(dh_cycle_t *cycle, dh_queue_t *posted);
void dh_event_move_posted_next(dh_cycle_t *cycle);

void dh_process_events_and_timers(dh_cycle_t *cycle);
void dh_event_accept(dh_event_t *ev);
/* Recomputes whether the listeners of this worker belong in the epoll set
 * (EMFILE pause, overload throttle, shutdown) and adds or removes them. */
void dh_event_update_accept(void);

extern dh_queue_t      dh_posted_events;
extern dh_queue_t      dh_posted_accept_events;
extern dh_queue_t      dh_posted_next_events;   /* run on the next round */
extern dh_rbtree_t     dh_event_timer_rbtree;
/* > 0 while this worker stopped accepting on shared listeners because
 * fewer than 1/8 of its connections are free (the shortfall) */
extern dh_uint_t       dh_accept_disabled_n;
extern dh_uint_t       dh_event_flags;     /* DH_USE_* */

#define DH_USE_EXCLUSIVE_ACCEPT  0x01      /* listeners added EPOLLEXCLUSIVE */
#define DH_USE_ACCEPT_THROTTLE   0x02      /* several workers share sockets */
#define DH_ACCEPT_STOPPED        0x04      /* graceful exit: never accept */
#define DH_ACCEPT_PAUSED         0x08      /* EMFILE/ENFILE pause */
#define DH_USE_MULTI_ACCEPT      0x10      /* multi_accept on */

/* events {} configuration */
typedef struct {
    dh_uint_t          connections;     /* worker_connections */
    dh_flag_t          multi_accept;
    dh_flag_t          accept_exclusive; /* use EPOLLEXCLUSIVE */
    dh_uint_t          events;           /* epoll_wait batch size */
} dh_event_conf_t;

#define DH_EVENT_MODULE      0x544E5645  /* "EVNT" */
#define DH_EVENT_CONF        0x02000000

typedef struct {
    dh_str_t          *name;
    void            *(*create_conf)(dh_cycle_t *cycle);
    char            *(*init_conf)(dh_cycle_t *cycle, void *conf);
} dh_event_module_t;

void *dh_event_get_conf(void ****conf_ctx, dh_module_t *module);

extern dh_module_t     dh_events_module;
extern dh_module_t     dh_event_core_module;

#include "dh_event_connection.h"
#include "dh_event_connect.h"
#include "dh_os_io.h"

#endif /* DH_EVENT_H */

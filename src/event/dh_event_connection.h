/*
 * Connections.  Each worker preallocates worker_connections connections
 * and their read and write events; free ones form a list.  Idle keep-alive
 * connections are "reusable": kept on an LRU queue so that, when the array
 * runs out, the oldest can be closed to make room.
 */

#ifndef DH_EVENT_CONNECTION_H
#define DH_EVENT_CONNECTION_H

#include "dh_event.h"

typedef ssize_t (*dh_recv_pt)(dh_connection_t *c, u_char *buf, size_t size);
typedef ssize_t (*dh_send_pt)(dh_connection_t *c, u_char *buf, size_t size);
typedef dh_chain_t *(*dh_send_chain_pt)(dh_connection_t *c, dh_chain_t *in,
    off_t limit);

struct dh_connection_s {
    void               *data;          /* protocol state (http connection) */
    dh_event_t         *read;
    dh_event_t         *write;

    dh_socket_t         fd;

    dh_recv_pt          recv;
    dh_send_pt          send;
    dh_send_chain_pt    send_chain;

    dh_listening_t     *listening;

    off_t               sent;

    dh_log_t           *log;
    dh_pool_t          *pool;

    int                 type;

    struct sockaddr    *sockaddr;
    socklen_t           socklen;
    dh_str_t            addr_text;

    struct sockaddr    *local_sockaddr;
    socklen_t           local_socklen;

    dh_buf_t           *buffer;

    dh_queue_t          queue;          /* reusable LRU */

    dh_uint_t           number;         /* connection counter, for logs */
    dh_uint_t           requests;
    dh_msec_t           start_time;

    void               *ssl;            /* TLS state (later) */

    unsigned            log_error:3;    /* how to log I/O errors */
    unsigned            timedout:1;
    unsigned            error:1;
    unsigned            destroyed:1;
    unsigned            idle:1;         /* nothing in flight */
    unsigned            reusable:1;
    unsigned            close:1;        /* close when convenient */
    unsigned            shared:1;
    unsigned            sendfile:1;
    unsigned            sndlowat:1;
    unsigned            tcp_nodelay:2;
    unsigned            tcp_nopush:2;
    unsigned            need_last_buf:1;
    /* listener, master channel, thread-pool notify: not a client, not
     * counted by dh_active_connections() */
    unsigned            internal:1;
    /* counted in the connections_active metric, and in the gauge of its
     * protocol state (DH_CONN_STATE_*) */
    unsigned            metered:1;
    unsigned            metrics_state:2;
};

/* c->metrics_state: which of the connections_waiting / _reading /
 * _writing gauges counts the connection (stub_status' three numbers) */
#define DH_CONN_STATE_NONE       0
#define DH_CONN_STATE_WAITING    1
#define DH_CONN_STATE_READING    2
#define DH_CONN_STATE_WRITING    3


/* c->tcp_nodelay */
#define DH_TCP_NODELAY_UNSET     0
#define DH_TCP_NODELAY_SET       1
#define DH_TCP_NODELAY_DISABLED  2

/* c->tcp_nopush: UNSET lets the sendfile chain hold back response headers
 * (MSG_MORE) so they leave in the same segment as the file data;
 * DISABLED sends them at once. */
#define DH_TCP_NOPUSH_UNSET      0
#define DH_TCP_NOPUSH_SET        1
#define DH_TCP_NOPUSH_DISABLED   2

#define DH_ERROR_ALERT       0
#define DH_ERROR_ERR         1
#define DH_ERROR_INFO        2
#define DH_ERROR_IGNORE_ECONNRESET 3

/* Per-worker connection array. */
typedef struct {
    dh_connection_t    *connections;
    dh_event_t         *read_events;
    dh_event_t         *write_events;
    dh_connection_t    *free_connections;
    dh_uint_t           free_connection_n;
    dh_uint_t           connection_n;
    dh_queue_t          reusable_connections_queue;
    dh_uint_t           reusable_connections_n;
    dh_uint_t           internal_n;      /* in use, c->internal set */
    dh_connection_t   **listeners;       /* this worker's listener slots */
    dh_uint_t           listeners_n;
} dh_event_ctx_t;

/*
 * Ownership.  dh_get_connection() hands out a zeroed slot (fresh read and
 * write events whose instance bit is flipped, so epoll events queued for
 * the slot's previous user are recognised as stale).  dh_close_connection()
 * deletes the slot's timers and posted events, takes it off the reusable
 * queue, closes the fd (which also removes it from epoll) and returns the
 * slot to the free list.  It does NOT touch c->pool: the protocol owns the
 * pool and destroys it itself, after the close, like this:
 *
 *     pool = c->pool;
 *     dh_close_connection(c);
 *     dh_destroy_pool(pool);
 *
 * (c->pool, c->log and the addresses stay valid until the next
 * dh_get_connection; c->data is reused for the free list).
 */
/* The event handlers of a new slot are NULL: whoever takes it (the
 * listening socket's handler for accepted connections) sets both
 * c->read->handler and c->write->handler before returning to the loop. */
dh_connection_t *dh_get_connection(dh_socket_t s, dh_log_t *log);
void dh_free_connection(dh_connection_t *c);
void dh_close_connection(dh_connection_t *c);
void dh_reusable_connection(dh_connection_t *c, dh_uint_t reusable);
/* Wakes every connection with c->idle set: sets c->close = 1 and calls
 * c->read->handler(c->read).  The protocol decides what closing means
 * (HTTP keeps a short grace for a request already on its way).  The same
 * wake-up (c->close set, read handler called, maybe without data) is used
 * when the array runs out (oldest reusable connections), and for every
 * connection when worker_shutdown_timeout expires. */
void dh_close_idle_connections(dh_cycle_t *cycle);
dh_int_t dh_connection_local_sockaddr(dh_connection_t *c, dh_str_t *s,
    dh_uint_t port);
dh_int_t dh_tcp_nodelay(dh_connection_t *c);
dh_int_t dh_connection_error(dh_connection_t *c, dh_err_t err, char *text);
/* Number of connections in use in this worker (not counting listeners
 * and internal ones such as the channel and thread-pool notify). */
dh_uint_t dh_active_connections(dh_cycle_t *cycle);

/* Moves a metered connection to another state gauge; dh_close_connection
 * takes it out of its last one. */
void dh_connection_metrics_state(dh_connection_t *c, dh_uint_t state);

extern dh_uint_t        dh_connection_counter;
/* this process's connection array (also cycle->event_ctx); NULL before
 * the event module's init_process */
extern dh_event_ctx_t  *dh_event_ctx;

#endif /* DH_EVENT_CONNECTION_H */

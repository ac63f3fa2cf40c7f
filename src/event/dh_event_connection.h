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
};

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
} dh_event_ctx_t;

dh_connection_t *dh_get_connection(dh_socket_t s, dh_log_t *log);
void dh_free_connection(dh_connection_t *c);
void dh_close_connection(dh_connection_t *c);
void dh_reusable_connection(dh_connection_t *c, dh_uint_t reusable);
/* Closes idle connections (graceful shutdown); they are woken with
 * c->close set so the protocol closes them cleanly. */
void dh_close_idle_connections(dh_cycle_t *cycle);
dh_int_t dh_connection_local_sockaddr(dh_connection_t *c, dh_str_t *s,
    dh_uint_t port);
dh_int_t dh_tcp_nodelay(dh_connection_t *c);
dh_int_t dh_connection_error(dh_connection_t *c, dh_err_t err, char *text);
/* Number of connections in use in this worker (not counting listeners
 * and internal ones such as the channel and thread-pool notify). */
dh_uint_t dh_active_connections(dh_cycle_t *cycle);

extern dh_uint_t  dh_connection_counter;

#endif /* DH_EVENT_CONNECTION_H */

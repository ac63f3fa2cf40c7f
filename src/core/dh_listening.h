/*
 * Listening sockets.  The master opens them while it builds a cycle and
 * children inherit them through fork.  A new cycle adopts the old cycle's
 * socket for the same address (the kernel accept queue is never closed on
 * reload, so no connection is refused); only sockets no longer configured
 * are closed, after the new cycle is committed.
 *
 * The core knows sockets, not events: the event layer adds these fds to
 * its loop in each worker and calls `handler` for every new connection.
 */

#ifndef DH_LISTENING_H
#define DH_LISTENING_H

#include "dh_core.h"

typedef struct dh_connection_s  dh_connection_t;
typedef struct dh_listening_s   dh_listening_t;

typedef void (*dh_connection_handler_pt)(dh_connection_t *c);

struct dh_listening_s {
    dh_socket_t               fd;

    dh_sockaddr_t             sockaddr;
    socklen_t                 socklen;
    dh_str_t                  addr_text;    /* "127.0.0.1:8080", real port */

    int                       type;         /* SOCK_STREAM */
    int                       backlog;
    int                       rcvbuf;
    int                       sndbuf;

    dh_connection_handler_pt  handler;      /* set by the protocol (http) */
    void                     *servers;      /* the protocol's server list */

    dh_log_t                  log;
    dh_log_t                 *logp;
    size_t                    pool_size;    /* connection pool */

    dh_listening_t           *previous;     /* the old cycle's socket */
    dh_uint_t                 worker;       /* reuseport clone owner */

    unsigned                  open:1;
    unsigned                  remain:1;     /* adopted by the new cycle */
    unsigned                  ignore:1;
    unsigned                  bound:1;
    unsigned                  inherited:1;  /* from the environment */
    unsigned                  listen:1;
    unsigned                  nonblocking:1;
    unsigned                  reuseport:1;
    unsigned                  add_reuseport:1;
    unsigned                  ipv6only:1;
    unsigned                  wildcard:1;
    unsigned                  port_zero:1;  /* configured as port 0 */
    unsigned                  deferred_accept:1;
};

/* Adds a listening socket to the cycle being configured. */
dh_listening_t *dh_create_listening(dh_conf_t *cf, struct sockaddr *sockaddr,
    socklen_t socklen);
/* One socket per worker for `listen ... reuseport`.  It pushes onto
 * cycle->listening, so `ls` (and any pointer into the array) may be stale
 * afterwards. */
dh_int_t dh_clone_listening(dh_cycle_t *cycle, dh_listening_t *ls,
    dh_uint_t workers);
/* Adopts sockets from old_cycle, binds and listens the rest, with a few
 * retries on EADDRINUSE.  On failure closes only what it opened. */
dh_int_t dh_open_listening_sockets(dh_cycle_t *cycle, dh_cycle_t *old_cycle);
void dh_configure_listening_sockets(dh_cycle_t *cycle);
/* A new cycle that fails after its sockets were opened: closes the ones it
 * bound itself and hands adopted ones back to the old cycle. */
void dh_undo_listening_sockets(dh_cycle_t *cycle);
/* Closes old_cycle sockets that the new cycle did not adopt. */
void dh_close_unused_listening_sockets(dh_cycle_t *old_cycle);
/* Closes this process's copies (a worker that stops accepting). */
void dh_close_listening_sockets(dh_cycle_t *cycle);
/* Parses "DIVEHTTPD=fd;fd;" from a parent binary (USR2 upgrade) into
 * cycle->listening of the init cycle, where the first dh_init_cycle()
 * adopts them like an old cycle's sockets; sets dh_inherited. */
dh_int_t dh_add_inherited_sockets(dh_cycle_t *cycle);

#endif /* DH_LISTENING_H */

/*
 * Outbound non-blocking connect, for upstreams (proxy, LLM providers, MCP
 * over HTTP).  Names must already be resolved into sockaddrs.
 */

#ifndef DH_EVENT_CONNECT_H
#define DH_EVENT_CONNECT_H

#include "dh_event.h"

typedef struct {
    dh_connection_t    *connection;

    struct sockaddr    *sockaddr;
    socklen_t           socklen;
    dh_str_t           *name;

    int                 type;
    int                 rcvbuf;

    dh_log_t           *log;
} dh_peer_connection_t;

/* DH_OK: connected now; DH_AGAIN: in progress, wait for the write event;
 * DH_DECLINED: refused or unreachable (try another peer); DH_ERROR: local
 * failure (no connections, socket()). */
dh_int_t dh_event_connect_peer(dh_peer_connection_t *pc);

#endif /* DH_EVENT_CONNECT_H */

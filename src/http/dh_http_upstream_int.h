/*
 * Shared between the upstream client's own files only (module/config,
 * balancers, keep-alive cache, request engine).  Users include
 * dh_http_upstream.h.
 */

#ifndef DH_HTTP_UPSTREAM_INT_H
#define DH_HTTP_UPSTREAM_INT_H

#include "dh_http.h"
#include "dh_http_upstream.h"


typedef struct {
    dh_array_t                     upstreams;  /* of srv_conf_t * */
    dh_uint_t                      metrics_on; /* run-time upstreams */
} dh_http_upstream_main_conf_t;

/* per worker, hanging off uscf->runtime */
typedef struct {
    dh_queue_t                     cache;      /* idle, most recent first */
    dh_queue_t                     free;       /* unused cache items */
    dh_uint_t                      active;     /* connections in use */
    dh_uint_t                      idle;
} dh_http_upstream_rt_t;

/* TLS, provided by dh_http_upstream_ssl.c when built with OpenSSL */
typedef struct {
    dh_int_t    (*init)(dh_conf_t *cf, dh_http_upstream_conf_t *conf);
    /* DH_OK: handshake done; DH_AGAIN: c->ssl->handler... is called
     * through done(c) later; DH_ERROR */
    dh_int_t    (*start)(dh_connection_t *c, dh_http_upstream_conf_t *conf,
                         dh_str_t *name, void (*done)(dh_connection_t *c));
    dh_uint_t   (*handshaked)(dh_connection_t *c);
    void        (*shutdown)(dh_connection_t *c);
} dh_http_upstream_ssl_hooks_t;

extern dh_http_upstream_ssl_hooks_t  dh_http_upstream_ssl_hooks;


/* ---- the state of one request (u->priv), dh_http_upstream.c and
 * dh_http_upstream_response.c */

enum {
    DH_UPS_CONNECT = 0,
    DH_UPS_HANDSHAKE,
    DH_UPS_SEND,            /* connected; head (and body) going out */
    DH_UPS_BODY,            /* head received, body coming */
    DH_UPS_UPGRADED,
    DH_UPS_FINISHED
};

/* the chunk framing of a streamed piece: "ffffffffffffffff" CRLF ... CRLF,
 * and the last chunk */
#define DH_UPS_CHUNK_OVERHEAD  (16 + 2 + 2)
#define DH_UPS_LAST_CHUNK      "0\r\n\r\n"


typedef struct {
    dh_http_request_t              *parse;     /* header parser state */
    dh_http_status_t                status;
    dh_uint_t                       in_headers;

    dh_buf_t                       *buffer;    /* response bytes */
    dh_buf_t                        piece;     /* decoded, not yet taken */
    dh_http_chunked_t               chunked;
    off_t                           rest;      /* Content-Length left */

    dh_chain_t                     *out;       /* head bytes not yet sent */
    dh_buf_t                       *staged;    /* streamed body / tunnel */
    dh_chain_t                      staged_cl;

    uint8_t                        *tried;
    dh_uint_t                       tries;
    dh_uint_t                       hash;
    dh_msec_t                       start;     /* first try */
    dh_msec_t                       try_start;
    dh_http_upstream_state_t       *state;
    dh_uint_t                       phase;

    unsigned                        use_hash:1;
    unsigned                        close_delimited:1;
    unsigned                        no_body:1;
    unsigned                        reused:1;
    unsigned                        fresh_only:1;  /* reuse retry done */
    unsigned                        got_bytes:1;   /* this try */
    unsigned                        request_sent:1; /* a byte went out */
    unsigned                        head_sent:1;   /* out drained */
    unsigned                        body_last:1;   /* stream ended */
    unsigned                        body_flushed:1;
    unsigned                        body_wanted:1;
    unsigned                        paused:1;
    unsigned                        in_data:1;
    unsigned                        in_send_body:1;
    unsigned                        shut_wr:1;
} dh_http_upstream_ctx_t;


/* dh_http_upstream.c */
void dh_http_upstream_connect(dh_http_upstream_t *u);
/* A try failed before on_header: logs `what` (when not NULL), counts
 * the failure and retries or gives up. */
void dh_http_upstream_next(dh_http_upstream_t *u, dh_int_t rc,
    const char *what);
void dh_http_upstream_finalize(dh_http_upstream_t *u, dh_int_t rc);
/* Gives the connection back (to the cache when keep) or closes it. */
void dh_http_upstream_release(dh_http_upstream_t *u, dh_uint_t keep);
dh_uint_t dh_http_upstream_may_retry(dh_http_upstream_t *u);
dh_uint_t dh_http_upstream_request_complete(dh_http_upstream_t *u);

/* dh_http_upstream_response.c */
void dh_http_upstream_read_header(dh_http_upstream_t *u);
void dh_http_upstream_process_body(dh_http_upstream_t *u);


/* ---- dh_http_upstream_balancer.c */
void dh_http_upstream_balancer_init_peers(dh_http_upstream_srv_conf_t *us);
dh_int_t dh_http_upstream_build_ring(dh_conf_t *cf,
    dh_http_upstream_srv_conf_t *us);
/* The next server for a try; tried is a bitmap over all peers (primary
 * then backup) of this request.  NULL: none left (every server down or
 * tried). */
dh_http_upstream_peer_t *dh_http_upstream_get_peer(
    dh_http_upstream_srv_conf_t *us, uint8_t *tried, dh_uint_t hash,
    dh_uint_t use_hash);
/* 1 when some usable server was not tried yet (changes nothing) */
dh_uint_t dh_http_upstream_peer_left(dh_http_upstream_srv_conf_t *us,
    uint8_t *tried);
void dh_http_upstream_peer_done(dh_http_upstream_srv_conf_t *us,
    dh_http_upstream_peer_t *peer, dh_uint_t failed, dh_log_t *log);
dh_uint_t dh_http_upstream_hash(u_char *data, size_t len);
dh_uint_t dh_http_upstream_npeers(dh_http_upstream_srv_conf_t *us);

/* ---- dh_http_upstream_keepalive.c */
dh_int_t dh_http_upstream_keepalive_init(dh_pool_t *pool,
    dh_http_upstream_srv_conf_t *us);
/* A cached connection to peer, or NULL. */
dh_connection_t *dh_http_upstream_keepalive_get(
    dh_http_upstream_srv_conf_t *us, dh_http_upstream_peer_t *peer);
/* Caches c (idle, read handler watching for close) or closes it. */
void dh_http_upstream_keepalive_put(dh_http_upstream_srv_conf_t *us,
    dh_http_upstream_peer_t *peer, dh_connection_t *c);
void dh_http_upstream_close_connection(dh_connection_t *c);

/* ---- dh_http_upstream_resolve.c (the thread and loop halves of a
 * lookup are exposed for unit tests) */
#define DH_HTTP_UPSTREAM_DYN_ADDRS   16      /* addresses per name */

/* the thread's input and output; one per name, reused */
typedef struct {
    char                           *host;
    in_port_t                       port;
    dh_sockaddr_t                   addrs[DH_HTTP_UPSTREAM_DYN_ADDRS];
    socklen_t                       lens[DH_HTTP_UPSTREAM_DYN_ADDRS];
    dh_uint_t                       naddrs;
    int                             err;     /* getaddrinfo() code */
} dh_http_upstream_lookup_t;

void dh_http_upstream_lookup_handler(void *data, dh_log_t *log);
void dh_http_upstream_lookup_done(dh_thread_task_t *task);
void dh_http_upstream_resolve_cancel(dh_http_upstream_t *u);

/* ---- dh_http_upstream_module.c: metrics */
void dh_http_upstream_count_request(dh_http_upstream_t *u,
    dh_uint_t status);
void dh_http_upstream_count_failure(dh_http_upstream_t *u, dh_int_t rc);
void dh_http_upstream_observe(dh_http_upstream_t *u, dh_msec_t ms);
void dh_http_upstream_gauge(dh_http_upstream_srv_conf_t *us,
    dh_uint_t idle, int64_t delta);

/* ---- dh_http_upstream_parse.c */
/* Processes the parsed head in u (Content-Length, chunked, Connection).
 * DH_OK or DH_ERROR (invalid). */
dh_int_t dh_http_upstream_process_headers(dh_http_upstream_headers_in_t *h);

extern dh_module_t  dh_http_upstream_module;

#endif /* DH_HTTP_UPSTREAM_INT_H */

/*
 * The upstream client: HTTP/1.1 requests to backends, for the proxy
 * module, Dive (LLM providers, MCP over HTTP) and the mock server.
 *
 * STABILITY: this header is a contract.  Changes after the first version
 * are additive only and listed here:
 *   - requests by URL with run-time name resolution:
 *     dh_http_upstream_resolver_init(), dh_http_upstream_create_url(),
 *     dh_http_upstream_resolved_pt, DH_HTTP_UPSTREAM_ERR_RESOLVE and the
 *     u->resolving bit.
 *   - us->name: the upstream's name for logs and metrics.
 *
 * ---- Configuration ---------------------------------------------------
 *
 *   upstream NAME { server HOST[:PORT] [weight=N] [max_fails=N]
 *                   [fail_timeout=T] [backup] [down];
 *                   keepalive N; keepalive_timeout T;
 *                   keepalive_requests N;
 *                   least_conn; | ip_hash; | hash KEY [consistent]; }
 *
 * in http {}.  Names are resolved when the configuration is read
 * (getaddrinfo in the master); a name with several addresses gives one
 * peer per address.  A module that talks to "host:port" or to an upstream
 * NAME calls dh_http_upstream_add() from a directive handler: an explicit
 * upstream {} of that name (defined before or after) wins, otherwise an
 * implicit upstream is made for host:port (shared by every user of the
 * same host and port), resolved at the end of http {}.
 *
 * Balancing state (weights, failures, connection counts) and the
 * keep-alive cache are per worker: each worker balances on its own.
 *
 * ---- One request -----------------------------------------------------
 *
 *   u = dh_http_upstream_create(pool, r)     (r may be NULL)
 *   u->upstream = uscf; u->conf = &my_conf;  (timeouts, tries, TLS)
 *   u->request_bufs = head [+ body];         (the exact bytes to send)
 *   u->on_header / on_data / on_done / data = ...;
 *   dh_http_upstream_start(u);
 *
 * The head is built by the caller (the proxy builds its own; Dive and mock
 * can use dh_http_upstream_build_request()).  It must be HTTP/1.1 without
 * "Connection: close" for the connection to be kept alive; the client
 * reads the response to decide whether it can be reused.
 *
 * Callbacks (all on the event loop; any of them may run before
 * dh_http_upstream_start() returns):
 *
 *   on_header(u)   the final response head is in u->headers_in (1xx other
 *                  than 101 are skipped).  Returns DH_OK to receive the
 *                  body, DH_ERROR to abort (on_done(u, DH_HTTP_UPSTREAM_
 *                  ERR_ABORTED) follows).  Once on_header ran the response
 *                  is committed: no retry on another server after it.
 *
 *   on_data(u, b)  decoded body bytes [b->pos, b->last) (chunked framing
 *                  and trailers removed), in the order they arrive.  The
 *                  bytes live in the client's read buffer and are valid
 *                  during the call.  Returns:
 *                    DH_OK     all taken;
 *                    DH_AGAIN  back-pressure: it took [old b->pos, new
 *                              b->pos).  Reading from the backend stops
 *                              (no read timer runs) until the caller
 *                              calls dh_http_upstream_resume(u), which
 *                              offers the rest again: the untaken bytes
 *                              stay in place, unchanged, until then;
 *                    other     abort (on_done(u, ERR_ABORTED) follows).
 *                  Never called for HEAD, 1xx, 204 and 304 responses.
 *
 *   on_done(u, rc) called exactly once, last: DH_OK when the response
 *                  was complete, else a DH_HTTP_UPSTREAM_ERR_* code.
 *                  Before on_header, dh_http_upstream_error_status(rc)
 *                  is the status to answer with (502, 504, 500).  After
 *                  it, the response was cut (the caller closes its client
 *                  connection rather than pretend it was complete).  u
 *                  stays readable (headers_in, state) until the pool goes.
 *
 *   on_body_ready(u)  streamed request bodies only: the client can take
 *                  more (after dh_http_upstream_send_body() said
 *                  DH_AGAIN).
 *
 * Request bodies: either all of it in u->request_bufs (memory or file
 * buffers; the chain is not consumed, so a retry sends it again), or
 * streamed: set u->request_body_stream, put only the head in
 * request_bufs, and push pieces with dh_http_upstream_send_body() as they
 * come (proxy_request_buffering off).  With request_body_chunked the
 * client frames the pieces as chunked (the head must then say
 * "Transfer-Encoding: chunked").  A streamed body is never retried on
 * another server once a byte of it was taken.
 *
 * 101 Switching Protocols: on_header sees status 101; from then on the
 * connection is a raw pipe: on_data gets every byte the backend sends,
 * dh_http_upstream_send_body(u, b, 0) sends raw bytes to it (no framing),
 * and on_done(u, DH_OK) comes when the backend closes.  read_timeout is
 * then the idle limit of the tunnel (no byte either way).  A 101 only
 * counts when the request head asked for an upgrade; nothing is retried
 * after it.
 *
 * Retries (next upstream): before on_header, a failure that
 * conf->next_upstream lists (error, timeout, invalid_header, http_5xx ...)
 * moves to the next server while tries remain (conf->next_upstream_tries,
 * 0 = every server once; conf->next_upstream_timeout, 0 = no limit), and
 * not after the request was sent when u->non_idempotent is set unless
 * DH_HTTP_UPSTREAM_FT_NON_IDEMPOTENT is in the mask.  A request that
 * fails on a reused keep-alive connection before any response byte came
 * back is retried once on a fresh connection, outside these rules.
 *
 * Passive health: an error, a timeout or an invalid header (and a listed
 * http_5xx) counts as a failure of that server; max_fails of them within
 * fail_timeout take it out of rotation for fail_timeout.  backup servers
 * are used only when every primary one is down.  A group of one server
 * never takes it out, and when every server is out a new request forgets
 * the failures and tries them again (nginx's behaviour).
 *
 * Errors are logged once with the server's address, e.g.
 *   "upstream timed out while reading response header from upstream,
 *    upstream: 127.0.0.1:8081"
 *
 * Variables (for access logs): $upstream_addr, $upstream_status,
 * $upstream_response_time, $upstream_connect_time,
 * $upstream_header_time; with retries each lists every try, ", "
 * separated.  They read the LAST upstream started for r.
 *
 * Metrics: upstream_requests_total{upstream,server,code="2xx".."5xx"},
 * upstream_failures_total{upstream,server,reason},
 * upstream_response_seconds{upstream} (histogram) and
 * upstream_connections{upstream,state=active|idle} (gauges).
 */

#ifndef DH_HTTP_UPSTREAM_H
#define DH_HTTP_UPSTREAM_H

#include "dh_http.h"


typedef struct dh_http_upstream_s           dh_http_upstream_t;
typedef struct dh_http_upstream_srv_conf_s  dh_http_upstream_srv_conf_t;
typedef struct dh_http_upstream_peer_s      dh_http_upstream_peer_t;


/* ---- on_done codes (positive, distinct from DH_* and HTTP statuses) */
#define DH_HTTP_UPSTREAM_ERR_CONNECT          1    /* refused, reset: 502 */
#define DH_HTTP_UPSTREAM_ERR_TIMEOUT          2    /* connect/send/read: 504 */
#define DH_HTTP_UPSTREAM_ERR_INVALID_HEADER   3    /* bad or huge head: 502 */
#define DH_HTTP_UPSTREAM_ERR_NO_LIVE          4    /* every server down: 502 */
#define DH_HTTP_UPSTREAM_ERR_SSL              5    /* handshake, verify: 502 */
#define DH_HTTP_UPSTREAM_ERR_CLOSED           6    /* closed early: 502 */
#define DH_HTTP_UPSTREAM_ERR_INVALID_BODY     7    /* bad chunked framing */
#define DH_HTTP_UPSTREAM_ERR_HTTP_STATUS      8    /* see below */
#define DH_HTTP_UPSTREAM_ERR_ABORTED          9    /* a callback said stop */
#define DH_HTTP_UPSTREAM_ERR_INTERNAL        10    /* memory, socket(): 500 */
#define DH_HTTP_UPSTREAM_ERR_RESOLVE         11    /* run-time name: 502 */

/*
 * ERR_HTTP_STATUS never reaches on_done: when the last allowed try ends
 * with a status listed in next_upstream, that response is handed to
 * on_header like any other (as nginx does).  The code is used for the
 * failure metric and log reason only.
 */


/* ---- next_upstream mask (conf->next_upstream) */
#define DH_HTTP_UPSTREAM_FT_ERROR            0x0002
#define DH_HTTP_UPSTREAM_FT_TIMEOUT          0x0004
#define DH_HTTP_UPSTREAM_FT_INVALID_HEADER   0x0008
#define DH_HTTP_UPSTREAM_FT_HTTP_500         0x0010
#define DH_HTTP_UPSTREAM_FT_HTTP_502         0x0020
#define DH_HTTP_UPSTREAM_FT_HTTP_503         0x0040
#define DH_HTTP_UPSTREAM_FT_HTTP_504         0x0080
#define DH_HTTP_UPSTREAM_FT_HTTP_403         0x0100
#define DH_HTTP_UPSTREAM_FT_HTTP_404         0x0200
#define DH_HTTP_UPSTREAM_FT_HTTP_429         0x0400
#define DH_HTTP_UPSTREAM_FT_NON_IDEMPOTENT   0x1000
#define DH_HTTP_UPSTREAM_FT_OFF              0x8000

/* for a bitmask directive such as proxy_next_upstream: error timeout
 * invalid_header http_500 http_502 http_503 http_504 http_403 http_404
 * http_429 non_idempotent off (a dh_conf_bitmask_t array, NULL-named
 * last) */
extern dh_conf_bitmask_t  dh_http_upstream_next_masks[];


/* ---- per-use settings: filled by the user module from its own
 * directives (proxy_connect_timeout ...) or by code (Dive) */
typedef struct {
    dh_msec_t       connect_timeout;      /* connect and TLS handshake */
    dh_msec_t       send_timeout;         /* between two successful writes */
    dh_msec_t       read_timeout;         /* between two successful reads */
    size_t          buffer_size;          /* response head limit and read
                                             buffer (>= 1k) */
    dh_uint_t       next_upstream;        /* DH_HTTP_UPSTREAM_FT_* */
    dh_uint_t       next_upstream_tries;  /* 0: every server once */
    dh_msec_t       next_upstream_timeout;/* 0: no limit */

    /* TLS to the backend (proxy_ssl_* / Dive https providers).
     * Set ssl = 1 and call dh_http_upstream_ssl_init() at configuration
     * time; it fills ssl_ctx. */
    dh_flag_t       ssl;
    dh_flag_t       ssl_verify;           /* default on */
    dh_flag_t       ssl_server_name;      /* send SNI; default on */
    dh_str_t        ssl_trusted_certificate;  /* empty: system CA bundle */
    dh_str_t        ssl_name;             /* empty: the upstream's host */
    void           *ssl_ctx;              /* SSL_CTX *, set by ssl_init */
} dh_http_upstream_conf_t;

/* Fills the unset fields (DH_CONF_UNSET*) of conf from prev, then from
 * the defaults: timeouts 60s, buffer_size 8k (1k minimum), next_upstream
 * "error timeout", tries 0, ssl off, ssl_verify on, ssl_server_name on.
 * Helper for merge_loc_conf hooks; conf must have been set with
 * dh_http_upstream_conf_init() in create_loc_conf. */
void dh_http_upstream_conf_init(dh_http_upstream_conf_t *conf);
char *dh_http_upstream_conf_merge(dh_conf_t *cf,
    dh_http_upstream_conf_t *conf, dh_http_upstream_conf_t *prev);

/* Creates the client SSL_CTX of conf (verification and CA as set).
 * DH_OK, or DH_ERROR logged at the current file:line (also when the
 * server was built without TLS). */
dh_int_t dh_http_upstream_ssl_init(dh_conf_t *cf,
    dh_http_upstream_conf_t *conf);


/* ---- servers and upstreams (configuration, read-only at run time
 * except the per-worker balancing fields) */
struct dh_http_upstream_peer_s {
    struct sockaddr                *sockaddr;
    socklen_t                       socklen;
    dh_str_t                        name;       /* "127.0.0.1:8081" */
    dh_str_t                        server;     /* as written */

    dh_int_t                        weight;
    dh_int_t                        current_weight;   /* smooth WRR */
    dh_int_t                        effective_weight;
    dh_uint_t                       conns;      /* active, this worker */
    dh_uint_t                       max_fails;
    dh_uint_t                       fails;
    dh_msec_t                       fail_timeout;
    dh_msec_t                       checked;    /* first fail of a run */
    dh_msec_t                       down_until; /* 0: up */

    unsigned                        down:1;     /* "down" in the conf */
    unsigned                        backup:1;
};

#define DH_HTTP_UPSTREAM_RR          0
#define DH_HTTP_UPSTREAM_LEAST_CONN  1
#define DH_HTTP_UPSTREAM_IP_HASH     2
#define DH_HTTP_UPSTREAM_HASH        3

struct dh_http_upstream_srv_conf_s {
    dh_str_t                        host;       /* NAME, or host of an
                                                   implicit upstream */
    in_port_t                       port;       /* implicit: the port */

    dh_http_upstream_peer_t        *peers;      /* primary, then backup */
    dh_uint_t                       npeers;     /* primary */
    dh_uint_t                       nbackup;

    dh_uint_t                       balancer;   /* DH_HTTP_UPSTREAM_RR... */
    dh_http_complex_value_t        *hash_key;   /* hash KEY */
    void                           *hash_points;  /* consistent ring */
    dh_uint_t                       hash_npoints;

    dh_uint_t                       keepalive;  /* cached per worker */
    dh_msec_t                       keepalive_timeout;
    dh_uint_t                       keepalive_requests;

    u_char                         *file;       /* where first named */
    dh_uint_t                       line;

    void                           *runtime;    /* per worker (private) */

    dh_str_t                        name;       /* for logs, metrics:
                                                   NAME or host:port */

    unsigned                        implicit:1;
    unsigned                        defined:1;  /* upstream {} seen */
    unsigned                        default_tls:1; /* implicit, https */
    unsigned                        consistent:1;
};

/* dh_http_upstream_add() flags */
#define DH_HTTP_UPSTREAM_ADD_TLS     0x01   /* default port 443, not 80 */

/*
 * The upstream NAME (port 0: "http://NAME") or an implicit one for
 * host:port.  Call from a directive handler.  NULL on error (logged at
 * the current file:line).  An implicit upstream's name is resolved at
 * the end of http {}; "host not found" is then an error at the line where
 * it was first named.
 */
dh_http_upstream_srv_conf_t *dh_http_upstream_add(dh_conf_t *cf,
    dh_str_t *host, in_port_t port, dh_uint_t flags);


/* ---- URLs ("http://host:port/uri", "https://[::1]/x?y") */
typedef struct {
    dh_str_t        host;       /* without brackets */
    dh_str_t        host_header;/* "host" or "host:port" as written */
    in_port_t       port;       /* 0: not given */
    dh_str_t        uri;        /* from the first '/', '?' (or empty) */
    unsigned        tls:1;      /* https */
} dh_http_upstream_url_t;

/* DH_OK, or DH_ERROR with *err set to a message ("invalid URL prefix",
 * "no host", "invalid port").  Pointers are into url. */
dh_int_t dh_http_upstream_parse_url(dh_str_t *url, dh_http_upstream_url_t *u,
    char **err);


/* ---- the response head */
typedef struct {
    dh_uint_t       status;
    dh_str_t        status_line;          /* "200 OK" */
    dh_uint_t       http_version;         /* DH_HTTP_VERSION_10/11 */

    dh_list_t       headers;              /* dh_table_elt_t, in order;
                                             lowcase_key set */
    dh_table_elt_t *content_length;
    dh_table_elt_t *transfer_encoding;
    dh_table_elt_t *connection;
    dh_table_elt_t *content_type;
    dh_table_elt_t *location;
    dh_table_elt_t *upgrade;

    off_t           content_length_n;     /* -1: none */

    unsigned        chunked:1;
    unsigned        connection_close:1;
    unsigned        connection_upgrade:1;
} dh_http_upstream_headers_in_t;

/* One try, for logs and variables. */
typedef struct {
    dh_str_t       *peer;                 /* name of the server */
    dh_uint_t       status;               /* 0: no response */
    dh_msec_t       connect_time;         /* -1 (all ones): none */
    dh_msec_t       header_time;
    dh_msec_t       response_time;
} dh_http_upstream_state_t;


typedef dh_int_t (*dh_http_upstream_header_pt)(dh_http_upstream_t *u);
typedef dh_int_t (*dh_http_upstream_data_pt)(dh_http_upstream_t *u,
    dh_buf_t *b);
typedef void (*dh_http_upstream_done_pt)(dh_http_upstream_t *u,
    dh_int_t rc);
typedef void (*dh_http_upstream_ready_pt)(dh_http_upstream_t *u);


struct dh_http_upstream_s {
    /* ---- set by the caller before dh_http_upstream_start() */
    dh_http_upstream_srv_conf_t    *upstream;
    dh_http_upstream_conf_t        *conf;
    dh_chain_t                     *request_bufs;

    dh_http_upstream_header_pt      on_header;
    dh_http_upstream_data_pt        on_data;
    dh_http_upstream_done_pt        on_done;
    dh_http_upstream_ready_pt       on_body_ready;
    void                           *data;

    /* the hash balancer's key, when set; else the upstream's hash KEY
     * evaluated for r */
    dh_str_t                        hash_key;

    unsigned                        method_head:1;   /* no body comes */
    unsigned                        non_idempotent:1;
    unsigned                        request_body_stream:1;
    unsigned                        request_body_chunked:1;

    /* ---- set by create */
    dh_http_request_t              *request;   /* NULL: no client request */
    dh_pool_t                      *pool;
    dh_log_t                       *log;

    /* ---- results */
    dh_http_upstream_headers_in_t   headers_in;
    dh_http_upstream_peer_t        *peer;      /* current try's server */
    dh_array_t                     *states;    /* dh_http_upstream_state_t */
    dh_connection_t                *connection;/* current, or NULL */

    unsigned                        upgraded:1;
    unsigned                        header_done:1; /* on_header ran */
    unsigned                        done:1;        /* on_done ran */
    unsigned                        resolving:1;   /* create_url waits */

    void                           *priv;      /* private to the client */
};


/*
 * A request object allocated from pool (give r's pool when there is a
 * client request r).  With r, the $upstream_* variables of r report this
 * object (the upstream module's request context points to it) and the
 * balancers use r's client address (ip_hash) and variables (hash).
 * NULL on allocation failure.
 */
dh_http_upstream_t *dh_http_upstream_create(dh_pool_t *pool,
    dh_http_request_t *r);

/* DH_OK: running (callbacks to come, perhaps already run); DH_ERROR:
 * nothing started and no callback will run (bad setup, memory). */
dh_int_t dh_http_upstream_start(dh_http_upstream_t *u);

/* Continues reading after on_data returned DH_AGAIN.  May call on_data
 * and on_done before returning; ignored while inside on_data. */
void dh_http_upstream_resume(dh_http_upstream_t *u);

/*
 * Streamed request body (u->request_body_stream) or, after 101, raw
 * bytes.  Takes [b->pos, b->last) (b->pos advances over what it took:
 * copied or sent, so b may be reused after the call); last = 1 marks the
 * end of the body (the final chunk is sent with request_body_chunked).
 * DH_OK: all taken; DH_AGAIN: part taken, on_body_ready(u) will be called
 * when more fits; DH_ERROR: the upstream request failed or ended (on_done
 * tells why, or already did).
 */
dh_int_t dh_http_upstream_send_body(dh_http_upstream_t *u, dh_buf_t *b,
    dh_uint_t last);

/* Stops everything now: closes the backend connection (never cached).
 * No callback runs afterwards.  Safe after on_done (does nothing). */
void dh_http_upstream_cancel(dh_http_upstream_t *u);

/* The HTTP status for an on_done code before on_header: 504 for
 * ERR_TIMEOUT, 500 for ERR_INTERNAL, 502 for the rest. */
dh_uint_t dh_http_upstream_error_status(dh_int_t rc);

/*
 * A plain request head for code that is not a proxy (Dive, mock): method
 * and uri as given, "Host: host", each header of `headers` (dh_keyval_t,
 * may be NULL), "Content-Length: body->len" and the body when body is not
 * NULL.  With u->request_body_chunked set it writes "Transfer-Encoding:
 * chunked" instead and no body: the body is then streamed with
 * dh_http_upstream_send_body() (set u->request_body_stream too).
 * Sets u->request_bufs.  DH_OK or DH_ERROR.
 */
dh_int_t dh_http_upstream_build_request(dh_http_upstream_t *u,
    dh_str_t *method, dh_str_t *host, dh_str_t *uri, dh_array_t *headers,
    dh_str_t *body);

/*
 * Requests by URL, for names known only at run time (Dive's providers).
 * A module that uses them calls dh_http_upstream_resolver_init() at
 * configuration time (it reserves the "default" thread pool, where names
 * are resolved).
 *
 * dh_http_upstream_create_url(u, url, &parsed, handler) parses url
 * ("http(s)://host[:port]/uri", into *parsed: the caller builds the head
 * with parsed.uri and parsed.host_header, and sets u->conf with ssl on for
 * https), sets u->upstream to this worker's implicit upstream for
 * host:port (keepalive 8, keepalive_timeout 60s, every address of the
 * name a server), and calls handler(u, rc) once the name has addresses:
 * at once when it is an IP literal or was resolved in the last 60 seconds
 * (getaddrinfo gives no TTL, so it is fixed; older answers keep serving
 * while a new lookup runs), otherwise after a getaddrinfo() on the thread
 * pool.  rc is DH_OK (fill in the request and call
 * dh_http_upstream_start()) or DH_HTTP_UPSTREAM_ERR_RESOLVE (logged).
 * handler may run before create_url returns.  DH_OK: handler was or will
 * be called; DH_ERROR: invalid URL, too many names (64 per worker) or no
 * thread pool; handler is not called.  dh_http_upstream_cancel() while
 * waiting (u->resolving) drops the wait.
 */
typedef void (*dh_http_upstream_resolved_pt)(dh_http_upstream_t *u,
    dh_int_t rc);

dh_int_t dh_http_upstream_resolver_init(dh_conf_t *cf);
dh_int_t dh_http_upstream_create_url(dh_http_upstream_t *u, dh_str_t *url,
    dh_http_upstream_url_t *parsed, dh_http_upstream_resolved_pt handler);

/* The response header value of a lower-case name, or NULL. */
dh_table_elt_t *dh_http_upstream_header(dh_http_upstream_t *u,
    const char *lowcase_name);


/* ---- the response head parser (dh_http_upstream_parse.c), exposed for
 * unit tests and fuzzing */
typedef struct {
    dh_uint_t       state;
    dh_uint_t       status;
    dh_uint_t       http_version;
    u_char         *status_start;         /* "200 OK" */
    u_char         *status_end;
} dh_http_status_t;

/* "HTTP/1.x NNN reason" CRLF.  DH_OK (b->pos after the line), DH_AGAIN,
 * or DH_ERROR for anything else. */
dh_int_t dh_http_upstream_parse_status_line(dh_http_status_t *st,
    dh_buf_t *b);

extern dh_module_t  dh_http_upstream_module;

#endif /* DH_HTTP_UPSTREAM_H */

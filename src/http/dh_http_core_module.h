/*
 * The HTTP core module: server {}, location {}, listen, the phase engine
 * and the settings every request reads (timeouts, buffers, root, types).
 */

#ifndef DH_HTTP_CORE_MODULE_H
#define DH_HTTP_CORE_MODULE_H

#include "dh_http.h"

/*
 * Phases, in the order a request runs them.  Handlers that modules push
 * into cmcf->phases[] during postconfiguration are flattened into one
 * array of {checker, handler, next}; a checker returns DH_AGAIN to go on
 * with r->phase_handler, DH_OK to stop (the request waits for an event or
 * was finalized).  LOG handlers run when the request is freed.
 */
typedef enum {
    DH_HTTP_POST_READ_PHASE = 0,
    DH_HTTP_SERVER_REWRITE_PHASE,
    DH_HTTP_FIND_CONFIG_PHASE,
    DH_HTTP_REWRITE_PHASE,
    DH_HTTP_PREACCESS_PHASE,
    DH_HTTP_ACCESS_PHASE,
    DH_HTTP_PRECONTENT_PHASE,
    DH_HTTP_CONTENT_PHASE,
    DH_HTTP_LOG_PHASE
} dh_http_phases;

typedef struct dh_http_phase_handler_s  dh_http_phase_handler_t;

typedef dh_int_t (*dh_http_phase_handler_pt)(dh_http_request_t *r,
    dh_http_phase_handler_t *ph);

struct dh_http_phase_handler_s {
    dh_http_phase_handler_pt   checker;   /* NULL ends the array */
    dh_http_handler_pt         handler;
    dh_uint_t                  next;      /* first handler of next phase */
};

typedef struct {
    dh_http_phase_handler_t   *handlers;
    dh_uint_t                  server_rewrite_index;
    dh_uint_t                  location_rewrite_index;
} dh_http_phase_engine_t;

typedef struct {
    dh_array_t                 handlers;  /* of dh_http_handler_pt */
} dh_http_phase_t;

/* Request header handlers, found through a hash of lower-case names. */
typedef dh_int_t (*dh_http_header_handler_pt)(dh_http_request_t *r,
    dh_table_elt_t *h, dh_uint_t offset);

typedef struct {
    dh_str_t                   name;
    dh_uint_t                  offset;    /* in dh_http_headers_in_t */
    dh_http_header_handler_pt  handler;
} dh_http_header_t;

typedef struct {
    dh_array_t                 servers;   /* of dh_http_core_srv_conf_t * */

    dh_http_phase_engine_t     phase_engine;
    dh_hash_t                  headers_in_hash;

    dh_array_t                *ports;     /* of dh_http_conf_port_t */

    dh_http_phase_t            phases[DH_HTTP_LOG_PHASE + 1];

    void                      *variables;  /* dh_http_variables.c */
} dh_http_core_main_conf_t;

typedef struct {
    dh_array_t                 server_names;   /* of dh_str_t, lower-case */

    dh_http_conf_ctx_t        *ctx;            /* this server's contexts */

    u_char                    *file_name;
    dh_uint_t                  line;

    dh_str_t                   server_name;    /* the first name */
    dh_array_t                *name_regexes;   /* of dh_http_regex_t *, for
                                                  the "~" names in order */

    size_t                     connection_pool_size;
    size_t                     request_pool_size;
    size_t                     client_header_buffer_size;
    dh_bufs_t                  large_client_header_buffers;
    dh_msec_t                  client_header_timeout;

    /* the first "listen ... ssl" of this server (NULL: none), for the
     * "no ssl_certificate" error */
    u_char                    *ssl_listen_file;
    dh_uint_t                  ssl_listen_line;

    unsigned                   listen:1;
} dh_http_core_srv_conf_t;

/* ---- listen: configuration-time view (ports -> addresses -> servers) */

typedef struct {
    dh_sockaddr_t              sockaddr;
    socklen_t                  socklen;
    dh_str_t                   addr_text;

    int                        backlog;

    unsigned                   set:1;
    unsigned                   default_server:1;
    unsigned                   wildcard:1;
    unsigned                   reuseport:1;
    unsigned                   ssl:1;
} dh_http_listen_opt_t;

typedef struct {
    dh_http_listen_opt_t       opt;
    dh_http_core_srv_conf_t   *default_server;
    dh_array_t                 servers;        /* of srv conf pointers */
} dh_http_conf_addr_t;

typedef struct {
    int                        family;
    in_port_t                  port;
    dh_array_t                 addrs;          /* of dh_http_conf_addr_t */
} dh_http_conf_port_t;

/* ---- listen: run-time view (listening->servers) */

/* A wildcard or regex server name.  name: the suffix of a leading
 * wildcard (".example.com" of "*.example.com"; `dot` when written
 * ".example.com", which also matches "example.com") or the prefix of a
 * trailing one ("www.example." of "www.example.*"). */
typedef struct {
    dh_str_t                   name;
    dh_http_core_srv_conf_t   *server;
#if (DH_HAVE_PCRE2)
    dh_http_regex_t           *regex;
#endif
    unsigned                   dot:1;
} dh_http_server_name_t;

/* Server names of one address, tried in nginx's order: exact, longest
 * leading wildcard, longest trailing wildcard, first matching regex. */
typedef struct {
    dh_hash_t                  names;          /* name -> srv conf */
    dh_uint_t                  nnames;

    dh_http_server_name_t     *lwc;            /* longest first */
    dh_uint_t                  nlwc;
    dh_http_server_name_t     *twc;            /* longest first */
    dh_uint_t                  ntwc;
    dh_http_server_name_t     *regex;          /* in written order */
    dh_uint_t                  nregex;
} dh_http_virtual_names_t;

struct dh_http_addr_conf_s {
    dh_http_core_srv_conf_t   *default_server;
    dh_http_virtual_names_t   *virtual_names;  /* NULL: only one server */

    unsigned                   ssl:1;          /* TLS handshake first */
};

typedef struct {
    dh_sockaddr_t              sockaddr;       /* port ignored */
    socklen_t                  socklen;
    dh_http_addr_conf_t        conf;
} dh_http_in_addr_t;

/* A listening socket serves one port: several addresses when it is a
 * wildcard socket and other addresses of the same port were configured
 * (then the connection's local address picks the entry; the wildcard
 * one is last). */
typedef struct {
    dh_http_in_addr_t         *addrs;
    dh_uint_t                  naddrs;
} dh_http_port_t;

/* ---- locations */

typedef struct dh_http_core_loc_conf_s  dh_http_core_loc_conf_t;

struct dh_http_core_loc_conf_s {
    dh_str_t                   name;

    unsigned                   exact_match:1;
    unsigned                   noregex:1;      /* ^~ */
    unsigned                   regex:1;        /* ~ ~* (issue 3) */
    unsigned                   named:1;        /* @name */

    void                     **loc_conf;       /* this location's confs */

    /* children, as written (configuration time) */
    dh_array_t                *locations;      /* of loc conf pointers */
    /* children, ready for lookup: exact ones sorted by name, prefix ones
     * longest first, regex ones in written order */
    dh_http_core_loc_conf_t  **exact_locations;
    dh_uint_t                  nexact;
    dh_http_core_loc_conf_t  **prefix_locations;
    dh_uint_t                  nprefix;
    dh_http_core_loc_conf_t  **regex_locations;  /* in written order */
    dh_uint_t                  nregex;
    /* @name locations (server level only), never matched by a URI */
    dh_http_core_loc_conf_t  **named_locations;
    dh_uint_t                  nnamed;
#if (DH_HAVE_PCRE2)
    dh_http_regex_t           *regex_match;    /* ~ and ~* */
#endif

    dh_http_handler_pt         handler;        /* content handler */

    /* return CODE [TEXT|URL]; not inherited (runs at its own level) */
    dh_uint_t                  return_code;    /* 0: none */
    dh_str_t                   return_text;
    dh_http_complex_value_t   *return_value;   /* return_text compiled */

    dh_str_t                   root;           /* absolute, no trailing / */
    /* alias PATH: replaces the location's prefix (a regex location's
     * whole URI); not inherited */
    dh_str_t                   alias;
    dh_http_complex_value_t   *alias_value;    /* alias with variables */

    dh_array_t                *types;          /* of dh_hash_key_t */
    dh_hash_t                  types_hash;
    dh_str_t                   default_type;

    dh_msec_t                  keepalive_timeout;
    dh_uint_t                  keepalive_requests;
    dh_msec_t                  send_timeout;
    dh_msec_t                  keepalive_shutdown_grace;
    time_t                     retry_after;

    dh_flag_t                  server_tokens;
    dh_flag_t                  sendfile;
    size_t                     sendfile_max_chunk;  /* 0: no limit */
    dh_uint_t                  lingering_close;     /* DH_HTTP_LINGERING_* */
    dh_msec_t                  lingering_time;
    dh_msec_t                  lingering_timeout;
    dh_uint_t                  satisfy;        /* DH_HTTP_SATISFY_* */
    dh_flag_t                  tcp_nodelay;

    u_char                    *file_name;
    dh_uint_t                  line;
};

#define DH_HTTP_SMALL_FILE    (32 * 1024)   /* read and sent with headers */

/* satisfy all: every access handler must let the request through;
 * satisfy any: one DH_OK is enough (access handlers return DH_OK when
 * they allowed, DH_DECLINED when they have no opinion, 401/403). */
#define DH_HTTP_SATISFY_ALL   0
#define DH_HTTP_SATISFY_ANY   1

/* lingering_close off: close at once; on: read what the client still
 * sends after an error response or an unread body; always: after every
 * response that closes the connection */
#define DH_HTTP_LINGERING_OFF     0
#define DH_HTTP_LINGERING_ON      1
#define DH_HTTP_LINGERING_ALWAYS  2

dh_int_t dh_http_core_run_phases(dh_http_request_t *r);
dh_int_t dh_http_core_generic_phase(dh_http_request_t *r,
    dh_http_phase_handler_t *ph);
dh_int_t dh_http_core_find_config_phase(dh_http_request_t *r,
    dh_http_phase_handler_t *ph);
dh_int_t dh_http_core_content_phase(dh_http_request_t *r,
    dh_http_phase_handler_t *ph);
dh_int_t dh_http_core_access_phase(dh_http_request_t *r,
    dh_http_phase_handler_t *ph);

/* Picks the location for r->uri below the server's locations. */
void dh_http_core_find_location(dh_http_request_t *r);
/* The file of r->uri under root, or alias, NUL-terminated, in a buffer
 * with `reserved` bytes to spare after it (for an index name).  Returns
 * the NUL's address, or NULL when out of memory.  The path is empty when
 * an alias with variables gave a ".." segment: answer 404. */
u_char *dh_http_map_uri_to_path(dh_http_request_t *r, dh_str_t *path,
    size_t reserved);
/* Restarts the request at the server's locations with a new URI (and
 * arguments, when args is not NULL): what the first location prepared for
 * its answer is dropped and the phases run again.  Returns DH_DONE, or 500
 * after DH_HTTP_MAX_URI_CHANGES redirects (a redirection cycle). */
#define DH_HTTP_MAX_URI_CHANGES  10
/* Sets r->exten from the last path segment of r->uri (for the MIME type). */
void dh_http_set_exten(dh_http_request_t *r);
dh_int_t dh_http_internal_redirect(dh_http_request_t *r, dh_str_t *uri,
    dh_str_t *args);
/* Continues the request, URI unchanged, in the server's named location
 * `name` ("@..."), from the phases after the location lookup.  Returns
 * DH_DONE, or 500 when there is no such location or after too many
 * redirects (dh_http_internal_redirect.c). */
dh_int_t dh_http_named_location(dh_http_request_t *r, dh_str_t *name);
/* Opens a file to serve (dh_http_open_file_cache.c), through the
 * location's open_file_cache when it has one.  DH_OK: *fd and *st stay
 * valid until the request ends and the caller never closes *fd; or the
 * status to answer with (404, 403, 500). */
dh_int_t dh_http_open_file(dh_http_request_t *r, u_char *path, size_t len,
    dh_fd_t *fd, struct stat *st);
/* r->headers_out.content_type from r->exten and the location's types. */
void dh_http_set_content_type(dh_http_request_t *r);
dh_table_elt_t *dh_http_add_header_out(dh_http_request_t *r, char *key,
    size_t key_len, u_char *value, size_t value_len);

dh_int_t dh_http_add_listen(dh_conf_t *cf, dh_http_core_srv_conf_t *cscf,
    dh_http_listen_opt_t *lsopt);
/* The server of an address for a (lower-case, validated) host, or NULL
 * (the default server answers).  A regex match sets r's captures; with
 * r NULL (TLS SNI) regex names are not tried. */
dh_http_core_srv_conf_t *dh_http_find_virtual_server(dh_http_request_t *r,
    dh_http_virtual_names_t *vn, dh_str_t *host);

extern dh_module_t  dh_http_core_module;
extern dh_module_t  dh_http_static_module;
extern dh_module_t  dh_http_open_file_cache_module;
extern dh_module_t  dh_http_write_filter_module;
extern dh_module_t  dh_http_header_filter_module;
extern dh_module_t  dh_http_chunked_filter_module;

#endif /* DH_HTTP_CORE_MODULE_H */

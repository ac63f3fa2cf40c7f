/*
 * HTTP requests and connections.
 *
 * A dh_http_connection_t lives in the connection pool for the whole TCP
 * connection and is all an idle keep-alive connection keeps.  A request has
 * its own pool, created when the first byte of a request arrives and
 * destroyed when the response is done; header buffers are malloc'ed
 * separately so an idle connection gives them back at once.
 */

#ifndef DH_HTTP_REQUEST_H
#define DH_HTTP_REQUEST_H

#include "dh_http.h"

#define DH_HTTP_VERSION_10             1000
#define DH_HTTP_VERSION_11             1001

/* methods: one bit each, so "allowed methods" are a mask */
#define DH_HTTP_UNKNOWN                0x0001
#define DH_HTTP_GET                    0x0002
#define DH_HTTP_HEAD                   0x0004
#define DH_HTTP_POST                   0x0008
#define DH_HTTP_PUT                    0x0010
#define DH_HTTP_DELETE                 0x0020
#define DH_HTTP_OPTIONS                0x0040
#define DH_HTTP_PATCH                  0x0080
#define DH_HTTP_TRACE                  0x0100
#define DH_HTTP_CONNECT                0x0200

#define DH_HTTP_CONNECTION_CLOSE       1
#define DH_HTTP_CONNECTION_KEEP_ALIVE  2

/* returned by dh_http_parse_header_line() after the empty line */
#define DH_HTTP_PARSE_HEADER_DONE      1

#define DH_HTTP_LC_HEADER_LEN          32

#define DH_HTTP_CONTINUE               100
#define DH_HTTP_OK                     200
#define DH_HTTP_CREATED                201
#define DH_HTTP_ACCEPTED               202
#define DH_HTTP_NO_CONTENT             204
#define DH_HTTP_PARTIAL_CONTENT        206

#define DH_HTTP_SPECIAL_RESPONSE       300
#define DH_HTTP_MOVED_PERMANENTLY      301
#define DH_HTTP_MOVED_TEMPORARILY      302
#define DH_HTTP_SEE_OTHER              303
#define DH_HTTP_NOT_MODIFIED           304
#define DH_HTTP_TEMPORARY_REDIRECT     307
#define DH_HTTP_PERMANENT_REDIRECT     308

#define DH_HTTP_BAD_REQUEST            400
#define DH_HTTP_UNAUTHORIZED           401
#define DH_HTTP_FORBIDDEN              403
#define DH_HTTP_NOT_FOUND              404
#define DH_HTTP_NOT_ALLOWED            405
#define DH_HTTP_REQUEST_TIME_OUT       408
#define DH_HTTP_CONFLICT               409
#define DH_HTTP_LENGTH_REQUIRED        411
#define DH_HTTP_PRECONDITION_FAILED    412
#define DH_HTTP_REQUEST_ENTITY_TOO_LARGE  413
#define DH_HTTP_REQUEST_URI_TOO_LARGE  414
#define DH_HTTP_UNSUPPORTED_MEDIA_TYPE 415
#define DH_HTTP_RANGE_NOT_SATISFIABLE  416
#define DH_HTTP_EXPECTATION_FAILED     417
#define DH_HTTP_MISDIRECTED_REQUEST    421
#define DH_HTTP_TOO_MANY_REQUESTS      429
#define DH_HTTP_HEADER_TOO_LARGE       431

/* internal: close the connection without a response (like nginx's 444) */
#define DH_HTTP_CLOSE                  444
/* internal: the client went away; logged, never sent */
#define DH_HTTP_CLIENT_CLOSED_REQUEST  499
/* internal: a bad or missing client certificate (nginx's 495 and 496),
 * answered as 400 with the reason in the page */
#define DH_HTTP_CLIENT_CERT_ERROR      495
#define DH_HTTP_CLIENT_NO_CERT         496

#define DH_HTTP_INTERNAL_SERVER_ERROR  500
#define DH_HTTP_NOT_IMPLEMENTED        501
#define DH_HTTP_BAD_GATEWAY            502
#define DH_HTTP_SERVICE_UNAVAILABLE    503
#define DH_HTTP_GATEWAY_TIME_OUT       504
#define DH_HTTP_VERSION_NOT_SUPPORTED  505

typedef struct dh_http_connection_s  dh_http_connection_t;
typedef struct dh_http_addr_conf_s   dh_http_addr_conf_t;

typedef struct dh_table_elt_s  dh_table_elt_t;

/* One header line.  key and value point into the header buffer; lowcase_key
 * is the lower-cased name (request headers) used for lookups. */
struct dh_table_elt_s {
    dh_uint_t         hash;         /* 0: deleted / not sent */
    dh_str_t          key;
    dh_str_t          value;
    u_char           *lowcase_key;
    dh_table_elt_t   *next;         /* same name repeated */
};

typedef struct {
    dh_list_t         headers;      /* of dh_table_elt_t, in arrival order */
    /* the trailer fields of a chunked body, once a handler read it all
     * (dh_http_request_body.h); part.elts NULL: none */
    dh_list_t         trailers;

    dh_table_elt_t   *host;
    dh_table_elt_t   *connection;
    dh_table_elt_t   *content_length;
    dh_table_elt_t   *transfer_encoding;
    dh_table_elt_t   *expect;
    dh_table_elt_t   *if_modified_since;
    dh_table_elt_t   *if_none_match;
    dh_table_elt_t   *user_agent;
    dh_table_elt_t   *if_match;
    dh_table_elt_t   *if_unmodified_since;
    dh_table_elt_t   *if_range;
    dh_table_elt_t   *range;
    dh_table_elt_t   *accept_encoding;
    dh_table_elt_t   *origin;
    dh_table_elt_t   *access_control_request_method;

    dh_str_t          server;       /* validated host, lower-case, no port */

    off_t             content_length_n;   /* -1: none */

    unsigned          connection_type:2;
    unsigned          chunked:1;
    unsigned          expect_continue:1;
} dh_http_headers_in_t;

typedef struct {
    dh_list_t         headers;      /* extra headers (Allow, Retry-After) */

    dh_uint_t         status;
    dh_str_t          status_line;  /* "200 OK"; empty: from status */

    dh_table_elt_t   *location;
    dh_table_elt_t   *etag;

    dh_str_t          content_type;
    off_t             content_length_n;   /* -1: unknown (chunked/close) */
    time_t            last_modified_time; /* -1: none */
} dh_http_headers_out_t;

/* State of the resumable chunked-body parser.  `size` is what remains of
 * the current chunk's data; `length` is a lower bound of the bytes the
 * message still needs, so a reader never reads past the body into a
 * pipelined request. */
typedef struct {
    dh_uint_t         state;
    off_t             size;
    off_t             length;
    dh_uint_t         line;         /* bytes of the current size/trailer line */
    dh_uint_t         trailers;     /* bytes of the trailer section */
    /* when set (DH_HTTP_CHUNK_TRAILER_MAX bytes): the trailer section is
     * copied here, each field line ending in CR, the section in CR */
    u_char           *trailer;
} dh_http_chunked_t;

#define DH_HTTP_CHUNK_LINE_MAX     4096    /* size + extensions */
#define DH_HTTP_CHUNK_TRAILER_MAX  8192

typedef void (*dh_http_event_handler_pt)(dh_http_request_t *r);
typedef dh_int_t (*dh_http_handler_pt)(dh_http_request_t *r);

struct dh_http_connection_s {
    dh_http_addr_conf_t   *addr_conf;
    void                  *conf_ctx;      /* default server's ctx */
    dh_http_request_t     *request;       /* current one, for logs */
    dh_msec_t              lingering_end;
    dh_msec_t              lingering_timeout;

    unsigned               grace:1;       /* shutdown grace running */
    unsigned               lingering:1;
};

struct dh_http_request_s {
    dh_connection_t            *connection;
    dh_http_connection_t       *http_connection;
    dh_pool_t                  *pool;

    void                      **ctx;
    void                      **main_conf;
    void                      **srv_conf;
    void                      **loc_conf;

    dh_http_event_handler_pt    read_event_handler;
    dh_http_event_handler_pt    write_event_handler;

    /* header buffers: header_in is the one being parsed; first_buf the one
     * the request began in; large ones are added for long lines */
    dh_buf_t                   *header_in;
    dh_buf_t                   *first_buf;
    dh_buf_t                  **large_bufs;
    dh_uint_t                   nlarge;

    dh_http_headers_in_t        headers_in;
    dh_http_headers_out_t       headers_out;

    dh_http_chunked_t          *chunked;       /* body being discarded */
    dh_http_request_body_t     *request_body;  /* body being read */
    dh_chain_t                 *out;           /* unsent output */

    dh_msec_t                   start_msec;
    dh_uint_t                   method;
    dh_uint_t                   http_version;

    dh_str_t                    request_line;
    dh_str_t                    method_name;
    dh_str_t                    unparsed_uri;
    dh_str_t                    uri;           /* decoded and normalised */
    dh_str_t                    args;
    dh_str_t                    exten;
    dh_str_t                    http_protocol;
    dh_str_t                    host;          /* from an absolute URI */

    /* variables: values cached per index (allocated on first use), the
     * captures of the last regex match, the request id once made */
    dh_http_variable_value_t   *variables;
    int                        *captures;
    dh_uint_t                   ncaptures;
    u_char                     *captures_data;
    u_char                     *request_id;    /* 32 hex chars */
    off_t                       sent_start;    /* c->sent at the start */
    size_t                      header_size;   /* response header bytes */
    off_t                       request_length; /* request header bytes */

    dh_http_handler_pt          content_handler;
    dh_int_t                    phase_handler;
    dh_uint_t                   err_status;
    dh_uint_t                   access_code;   /* satisfy any: denial */

    /* parser state: what the byte machines need to resume */
    dh_uint_t                   state;
    dh_uint_t                   header_hash;
    dh_uint_t                   lowcase_index;
    u_char                      lowcase_header[DH_HTTP_LC_HEADER_LEN];

    u_char                     *header_name_start;
    u_char                     *header_name_end;
    u_char                     *header_start;
    u_char                     *header_end;

    u_char                     *request_start;
    u_char                     *request_end;
    u_char                     *method_end;
    u_char                     *uri_start;
    u_char                     *uri_end;
    u_char                     *uri_ext;
    u_char                     *args_start;
    u_char                     *schema_start;
    u_char                     *schema_end;
    u_char                     *host_start;
    u_char                     *host_end;
    u_char                     *port_end;
    u_char                     *protocol_start;

    dh_uint_t                   http_major;
    dh_uint_t                   http_minor;

    unsigned                    complex_uri:1;
    unsigned                    quoted_uri:1;
    unsigned                    empty_path_in_uri:1;

    unsigned                    header_sent:1;
    unsigned                    header_only:1;
    unsigned                    keepalive:1;
    unsigned                    lingering_close:1;
    unsigned                    discarding:1;    /* body still arriving */
    unsigned                    discard_closes:1; /* body not read: close */
    unsigned                    done:1;          /* response fully sent */
    unsigned                    chunked_out:1;   /* Transfer-Encoding */
    unsigned                    header_timer:1;  /* client_header_timeout */
    unsigned                    error_page:1;    /* redirected once */
    unsigned                    request_body_in_file_only:1; /* set by the
                                                    handler before reading */
    unsigned                    allow_ranges:1;  /* range filter may cut */
    unsigned                    uri_changes:4;   /* internal redirects */
};

#endif /* DH_HTTP_REQUEST_H */

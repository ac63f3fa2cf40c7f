/*
 * The reverse proxy module's private declarations, shared by its two
 * files: dh_http_proxy_module.c (directives, the handler, moving bytes)
 * and dh_http_proxy_headers.c (the request head sent to the backend and
 * the response headers copied back).
 */

#ifndef DH_HTTP_PROXY_H
#define DH_HTTP_PROXY_H

#include "dh_http.h"
#include "dh_http_upstream.h"


/* response buffers of one request: each holds one copy of what the
 * backend sent until the client took it */
#define DH_HTTP_PROXY_NBUFS_BUFFERED   8
#define DH_HTTP_PROXY_NBUFS_STREAMING  2


/* a header to send: one of the defaults or a proxy_set_header */
typedef struct {
    dh_str_t                        key;
    dh_str_t                        lowcase_key;
    dh_http_complex_value_t         value;
} dh_http_proxy_header_t;


typedef struct {
    dh_http_upstream_conf_t         upstream;

    /* proxy_pass: not inherited (it is this location's handler) */
    dh_http_upstream_srv_conf_t    *uscf;
    dh_str_t                        url;
    dh_str_t                        host;        /* $proxy_host */
    dh_str_t                        uri;         /* the URI part, constant */
    dh_http_complex_value_t        *uri_value;   /* ... with variables */
    dh_str_t                        location;    /* the prefix it replaces */

    dh_array_t                     *set_headers; /* dh_keyval_t, as written */
    dh_array_t                     *headers;     /* dh_http_proxy_header_t */
    dh_array_t                     *hide_headers;   /* dh_str_t */
    dh_array_t                     *pass_headers;   /* dh_str_t */
    dh_array_t                     *hide;        /* dh_str_t, lower-case:
                                                    what is not copied back */

    dh_uint_t                       http_version;
    dh_flag_t                       buffering;
    dh_flag_t                       request_buffering;

    unsigned                        has_uri:1;
} dh_http_proxy_loc_conf_t;


/* dh_http_proxy_headers.c */

/* Compiles the headers of conf (the defaults overridden by
 * proxy_set_header) and the hidden response headers.  Configuration
 * time, at the merge of a location that proxies. */
char *dh_http_proxy_compile_headers(dh_conf_t *cf,
    dh_http_proxy_loc_conf_t *conf);

/* The request head for the backend: request line, headers, body framing
 * for a body of body_len bytes (-1: none; -2: streamed chunked).
 * Sets *upgrade when the client asked for a protocol switch that goes
 * through.  NULL on error. */
dh_buf_t *dh_http_proxy_create_request(dh_http_request_t *r,
    dh_http_proxy_loc_conf_t *plcf, off_t body_len, dh_uint_t *upgrade);

/* Copies the backend's response head into r->headers_out.  DH_OK or
 * DH_ERROR. */
dh_int_t dh_http_proxy_copy_headers(dh_http_request_t *r,
    dh_http_proxy_loc_conf_t *plcf, dh_http_upstream_t *u);

/* The $proxy_host and $proxy_add_x_forwarded_for variables. */
dh_int_t dh_http_proxy_add_variables(dh_conf_t *cf);


extern dh_module_t  dh_http_proxy_module;

#endif /* DH_HTTP_PROXY_H */

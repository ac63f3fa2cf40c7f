/*
 * divehttpd: the HTTP layer.
 *
 * Every file in src/http and every HTTP module includes dh_config.h,
 * dh_core.h, then this header, which brings in the event layer and every
 * HTTP header in dependency order.
 */

#ifndef DH_HTTP_H
#define DH_HTTP_H

#include "dh_core.h"
#include "dh_event.h"

typedef struct dh_http_request_s  dh_http_request_t;
typedef struct dh_http_request_body_s  dh_http_request_body_t;

#include "dh_http_config.h"
#include "dh_http_variables.h"
#include "dh_http_request.h"
#include "dh_http_core_module.h"
#include "dh_http_request_body.h"

typedef dh_int_t (*dh_http_output_header_filter_pt)(dh_http_request_t *r);
typedef dh_int_t (*dh_http_output_body_filter_pt)(dh_http_request_t *r,
    dh_chain_t *chain);

/* ---- dh_http_parse.c: resumable byte state machines.
 * Each returns DH_OK when a unit is complete, DH_AGAIN when it needs more
 * bytes (b->pos is at the end and the state is saved in the request), or
 * the HTTP status to answer with (400, 505).  Pointers are into b. */
dh_int_t dh_http_parse_request_line(dh_http_request_t *r, dh_buf_t *b);
/* DH_OK: one header line (r->header_*); DH_HTTP_PARSE_HEADER_DONE: the
 * empty line ending the section. */
dh_int_t dh_http_parse_header_line(dh_http_request_t *r, dh_buf_t *b);
/* DH_OK: ctx->size bytes of chunk data start at b->pos (the caller eats up
 * to that much and calls again); DH_DONE: the body and its trailers
 * ended; DH_AGAIN: need more; DH_ERROR: invalid framing (answer 400 and
 * close: the rest of the stream cannot be trusted). */
dh_int_t dh_http_parse_chunked(dh_http_chunked_t *ctx, dh_buf_t *b);
/* Decodes %XX, removes "." and ".." segments and merges "//" from the
 * path [src, src + len) into dst (at least len bytes).  DH_OK, or
 * DH_HTTP_BAD_REQUEST for a malformed escape, %00, or ".." above "/". */
dh_int_t dh_http_normalize_uri(u_char *src, size_t len, u_char *dst,
    size_t *dst_len);
dh_uint_t dh_http_method_id(u_char *m, size_t len);

/* ---- dh_http_request.c: connection and request lifecycle */
void dh_http_init_connection(dh_connection_t *c);
void dh_http_close_connection(dh_connection_t *c);
/* rc: DH_OK, DH_AGAIN, DH_DONE (a handler owns the request), DH_ERROR,
 * or an HTTP status to answer with.  The request may be freed: callers
 * return right after. */
void dh_http_finalize_request(dh_http_request_t *r, dh_int_t rc);
void dh_http_terminate_request(dh_http_request_t *r, dh_int_t rc);
/* Reads and drops the request body so the connection can be reused.
 * DH_OK (done, or going on in the background), DH_HTTP_BAD_REQUEST for
 * broken chunked framing found now, or DH_ERROR. */
dh_int_t dh_http_discard_request_body(dh_http_request_t *r);
/* Checks a Host value, lower-cases it and drops the port and a trailing
 * dot (dh_http_request_headers.c): DH_OK, DH_HTTP_BAD_REQUEST or
 * DH_ERROR. */
dh_int_t dh_http_validate_host(dh_http_request_t *r, dh_str_t *host);
void dh_http_request_empty_handler(dh_http_request_t *r);
void dh_http_block_reading(dh_http_request_t *r);
u_char *dh_http_log_error(dh_log_t *log, u_char *buf, size_t len);
/* Waits for (or reads) the first request of a connection; the TLS module
 * calls it once the handshake is done. */
void dh_http_wait_request_handler(dh_event_t *rev);

/* Set by the TLS module (dh_http_ssl_module.c) in preconfiguration, so
 * this layer needs no OpenSSL: start() begins the handshake of a
 * connection accepted on a "listen ... ssl" address (it owns the
 * connection from then on), shutdown() sends close_notify and frees the
 * TLS state before the socket is closed or half-closed, verify() checks
 * the client certificate of a request on a TLS connection once its
 * server is known (DH_OK or the status to answer with). */
typedef struct {
    void        (*start)(dh_connection_t *c);
    void        (*shutdown)(dh_connection_t *c);
    dh_int_t    (*verify)(dh_http_request_t *r);
} dh_http_ssl_hooks_t;

extern dh_http_ssl_hooks_t  dh_http_ssl_hooks;

/* ---- output */
dh_int_t dh_http_send_header(dh_http_request_t *r);
dh_int_t dh_http_output_filter(dh_http_request_t *r, dh_chain_t *in);
dh_int_t dh_http_write_filter(dh_http_request_t *r, dh_chain_t *in);
dh_int_t dh_http_special_response_handler(dh_http_request_t *r,
    dh_int_t error);
/* error_page for *status (dh_http_error_page.c): DH_DONE when an
 * internal redirect now owns the request, DH_DECLINED to send the built-in
 * page for *status (changed to 302 etc. with Location for an external
 * error page), DH_ERROR. */
dh_int_t dh_http_send_error_page(dh_http_request_t *r, dh_uint_t *status);
/* "404 Not Found" for a status; empty string when unknown. */
dh_str_t *dh_http_status_line(dh_uint_t status);
/* Answers with `status` and a body (or Location for 3xx). */
dh_int_t dh_http_send_response(dh_http_request_t *r, dh_uint_t status,
    dh_str_t *text);

extern dh_http_header_t                 dh_http_headers_in[];
extern dh_http_output_header_filter_pt  dh_http_top_header_filter;
extern dh_http_output_body_filter_pt    dh_http_top_body_filter;

extern dh_str_t  dh_http_server_string;      /* "divehttpd" */
extern dh_str_t  dh_http_server_full_string; /* "divehttpd/0.1.0" */

#endif /* DH_HTTP_H */

/*
 * Reading request bodies.
 *
 * Two ways for a content handler to get the body, both decoding
 * Content-Length and chunked framing with the same decoder the discard
 * path uses.  The trailer fields of a chunked body (at most
 * DH_HTTP_CHUNK_TRAILER_MAX bytes) are in r->headers_in.trailers (a list
 * of dh_table_elt_t like headers_in.headers, part.elts NULL when there
 * were none) once the body was read to its end, before the post or done
 * handler runs; they never replace header fields.  The log and any later
 * phase see them as $trailer_NAME.  A discarded body's trailers are
 * dropped.
 *
 * 1. Buffered: dh_http_read_client_request_body(r, post_handler).
 *    The whole body is collected, in memory when it fits in
 *    client_body_buffer_size, otherwise (or with client_body_in_file_only
 *    on, or r->request_body_in_file_only set by the handler before the
 *    call) in a temporary file under client_body_temp_path.  When it is
 *    complete, r->request_body->bufs is a chain of ONE buffer: a memory
 *    buffer, or an in_file buffer (file_pos 0, file_last = size) whose
 *    ->file is rb->temp_file (fd open, name NUL-terminated).  The file is
 *    closed and unlinked with the request pool unless the handler sets
 *    rb->temp_file_persist (it renamed the file away, as DAV PUT does).
 *    post_handler(r) is called once, on success only, possibly before
 *    dh_http_read_client_request_body() returns; it owns the request and
 *    must finalize it.  Errors once reading has started (timeout: 408,
 *    bad framing: 400, chunked too large: 413, client gone, temp file
 *    write: 500) are answered and finalized by the reader itself.
 *
 * 2. Streaming: dh_http_read_client_request_body_stream(r, data, done).
 *    Memory is bounded by one buffer of client_body_buffer_size whatever
 *    the body size.  data(r, b) is called for each decoded piece of body,
 *    [b->pos, b->last), as it arrives; the bytes are only valid during
 *    the call (the buffer is reused).  It returns:
 *      DH_OK      it took the whole piece;
 *      DH_AGAIN   back-pressure: it took [old b->pos, new b->pos) and
 *                 wants the rest later.  Reading stops (no timer runs)
 *                 until the module calls dh_http_request_body_resume(r),
 *                 which offers the rest again and goes on reading.  Calls
 *                 of resume from inside the data handler are ignored.
 *                 While paused no client_body_timeout runs: a module that
 *                 can stay paused long keeps its own timer.
 *      other      DH_ERROR or an HTTP status: reading stops and done is
 *                 called with that value.
 *    done(r, rc) is called exactly once when reading ends, unless the
 *    start call itself returned an error: rc is DH_OK at the end of the
 *    body, else DH_ERROR, DH_HTTP_REQUEST_TIME_OUT (client_body_timeout),
 *    DH_HTTP_BAD_REQUEST (framing), DH_HTTP_REQUEST_ENTITY_TOO_LARGE
 *    (chunked body past client_max_body_size), DH_HTTP_CLIENT_CLOSED_REQUEST
 *    (the client closed early) or what data returned.  done owns the
 *    request and must finalize it (dh_http_request_body_error(r, rc) does
 *    the right thing for the error values).  data and done may run before
 *    the start call returns.
 *
 * Both start calls return DH_OK (reading runs, or even ended and the
 * request was finalized: the content handler returns DH_DONE at once
 * without touching r), DH_ERROR, or an HTTP status to answer with before
 * anything was read: 413 when Content-Length is over client_max_body_size
 * (the connection then closes after the answer).  A request without a
 * body completes at once (post_handler with a chain of one empty buffer;
 * done(r, DH_OK) with no data call).
 *
 * A request whose body reading did not end (a streaming module answered
 * early) is never kept alive: the rest of the body is not drained.
 *
 * Expect: 100-continue: "HTTP/1.1 100 Continue" is sent by the start calls,
 * i.e. only when a handler reads the body.  A response produced without
 * reading it goes out without 100 and the body is not read; then the
 * connection is closed after the response, since the client may or may
 * not send the body (RFC 9110 15.2.1 and 10.1.1 allow either way; closing
 * is the only choice that cannot be desynchronised).
 */

#ifndef DH_HTTP_REQUEST_BODY_H
#define DH_HTTP_REQUEST_BODY_H

#include "dh_http.h"


typedef void (*dh_http_client_body_handler_pt)(dh_http_request_t *r);
typedef dh_int_t (*dh_http_body_data_pt)(dh_http_request_t *r, dh_buf_t *b);
typedef void (*dh_http_body_done_pt)(dh_http_request_t *r, dh_int_t rc);

struct dh_http_request_body_s {
    dh_chain_t                      *bufs;       /* buffered mode result */
    dh_file_t                       *temp_file;  /* NULL: all in memory */

    off_t                            received;   /* decoded bytes so far */
    off_t                            rest;       /* Content-Length left */
    dh_http_chunked_t               *chunked;    /* NULL: Content-Length */

    dh_buf_t                        *buf;        /* raw bytes from socket */
    dh_buf_t                         piece;      /* decoded, not yet taken */
    dh_buf_t                        *mem;        /* buffered mode: memory */

    dh_http_client_body_handler_pt   post_handler;
    dh_http_body_data_pt             data_handler;
    dh_http_body_done_pt             done_handler;

    unsigned                         paused:1;
    unsigned                         finished:1;
    unsigned                         in_data:1;
    unsigned                         temp_file_persist:1;
};


typedef struct {
    off_t        client_max_body_size;
    size_t       client_body_buffer_size;
    dh_msec_t    client_body_timeout;
    dh_flag_t    client_body_in_file_only;
    dh_str_t     client_body_temp_path;   /* absolute, no trailing '/' */
} dh_http_request_body_loc_conf_t;


dh_int_t dh_http_read_client_request_body(dh_http_request_t *r,
    dh_http_client_body_handler_pt post_handler);
dh_int_t dh_http_read_client_request_body_stream(dh_http_request_t *r,
    dh_http_body_data_pt data, dh_http_body_done_pt done);
/* After the data handler returned DH_AGAIN: offers the rest and reads on.
 * May call data and done before returning. */
void dh_http_request_body_resume(dh_http_request_t *r);

/*
 * The body decoder shared by the reading and discard paths.  With ctx
 * (chunked) the framing is parsed; without, *rest is the number of
 * Content-Length bytes still due and is decreased.  DH_OK: `piece` is the
 * next run of body bytes inside b (b->pos moved past it); DH_DONE: the
 * body ended; DH_AGAIN: b is used up; DH_HTTP_BAD_REQUEST: broken framing.
 */
dh_int_t dh_http_decode_body(dh_http_chunked_t *ctx, off_t *rest,
    dh_buf_t *b, dh_buf_t *piece);

/* 405 for a handler: sets "Allow" from a mask of DH_HTTP_* methods and
 * returns DH_HTTP_NOT_ALLOWED (or DH_ERROR). */
dh_int_t dh_http_not_allowed(dh_http_request_t *r, dh_uint_t allowed);

/* Ends a request whose body reading failed with rc: answers 400, 408,
 * 413 or 500 unless a header went out already, closes for DH_ERROR and
 * DH_HTTP_CLIENT_CLOSED_REQUEST.  Handy in a streaming done handler. */
void dh_http_request_body_error(dh_http_request_t *r, dh_int_t rc);

/* Sends "HTTP/1.1 100 Continue" once if the client asked for it. */
dh_int_t dh_http_send_continue(dh_http_request_t *r);

extern dh_module_t  dh_http_request_body_module;

#endif /* DH_HTTP_REQUEST_BODY_H */

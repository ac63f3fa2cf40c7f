/*
 * Reading request bodies: the decoder shared with the discard path, the
 * streaming reader with back-pressure, the buffered reader (memory, then
 * a temporary file) built on it, 100-continue, and the directives
 * client_max_body_size, client_body_buffer_size, client_body_timeout,
 * client_body_in_file_only and client_body_temp_path.  The API contract
 * is in dh_http_request_body.h.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


typedef struct {
    dh_array_t    temp_paths;      /* of dh_str_t: created at startup */
} dh_http_request_body_main_conf_t;


static void dh_http_body_run(dh_http_request_t *r);
static void dh_http_body_read_handler(dh_http_request_t *r);
static void dh_http_body_finish(dh_http_request_t *r, dh_int_t rc);
static dh_int_t dh_http_body_save(dh_http_request_t *r, dh_buf_t *b);
static void dh_http_body_saved(dh_http_request_t *r, dh_int_t rc);
static void dh_http_body_temp_cleanup(void *data);

static void *dh_http_request_body_create_main_conf(dh_conf_t *cf);
static void *dh_http_request_body_create_loc_conf(dh_conf_t *cf);
static char *dh_http_request_body_merge_loc_conf(dh_conf_t *cf,
    void *parent, void *child);
static dh_int_t dh_http_request_body_init_module(dh_cycle_t *cycle);


static dh_command_t  dh_http_request_body_commands[] = {

    { dh_string("client_max_body_size"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_off_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_request_body_loc_conf_t, client_max_body_size),
      NULL },

    { dh_string("client_body_buffer_size"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_size_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_request_body_loc_conf_t, client_body_buffer_size),
      NULL },

    { dh_string("client_body_timeout"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_msec_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_request_body_loc_conf_t, client_body_timeout),
      NULL },

    { dh_string("client_body_in_file_only"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_request_body_loc_conf_t, client_body_in_file_only),
      NULL },

    { dh_string("client_body_temp_path"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_path_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_request_body_loc_conf_t, client_body_temp_path),
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_request_body_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */
    dh_http_request_body_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    dh_http_request_body_create_loc_conf,  /* create location configuration */
    dh_http_request_body_merge_loc_conf    /* merge location configuration */
};


dh_module_t  dh_http_request_body_module = {
    DH_MODULE_V1,
    &dh_http_request_body_module_ctx,      /* module context */
    dh_http_request_body_commands,         /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    dh_http_request_body_init_module,      /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


static const char  dh_http_continue_line[] = "HTTP/1.1 100 Continue" CRLF CRLF;


/* ---- the decoder ------------------------------------------------------ */

/*
 * The trailer fields the parser copied ("name: value" CR ... CR) become
 * r->headers_in.trailers, values without their surrounding white space.
 * The parser checked the bytes; DH_OK or DH_ERROR.
 */
static dh_int_t
dh_http_body_trailers(dh_http_request_t *r, dh_http_chunked_t *ctx)
{
    u_char          *p, *end, *colon, *eol;
    dh_table_elt_t  *h;

    /* Content-Length, or only the final CR: none */
    if (ctx == NULL || ctx->trailer == NULL || ctx->trailers < 2) {
        return DH_OK;
    }

    p = ctx->trailer;
    end = ctx->trailer + ctx->trailers;

    if (dh_list_init(&r->headers_in.trailers, r->pool, 2,
                     sizeof(dh_table_elt_t))
        != DH_OK)
    {
        return DH_ERROR;
    }

    for ( /* void */ ; p < end && *p != CR; p = eol + 1) {
        eol = memchr(p, CR, end - p);
        colon = memchr(p, ':', eol - p);

        h = dh_list_push(&r->headers_in.trailers);
        if (h == NULL) {
            return DH_ERROR;
        }

        h->hash = 1;
        h->next = NULL;
        h->lowcase_key = NULL;
        h->key.data = p;
        h->key.len = colon - p;

        for (p = colon + 1; p < eol && (*p == ' ' || *p == '\t'); p++) {
            /* void */
        }

        h->value.data = p;
        h->value.len = eol - p;

        while (h->value.len
               && (p[h->value.len - 1] == ' ' || p[h->value.len - 1] == '\t'))
        {
            h->value.len--;
        }
    }

    return DH_OK;
}


dh_int_t
dh_http_decode_body(dh_http_chunked_t *ctx, off_t *rest, dh_buf_t *b,
    dh_buf_t *piece)
{
    off_t     n;
    dh_int_t  rc;

    if (ctx == NULL) {
        if (*rest <= 0) {
            return DH_DONE;
        }

        n = dh_min(*rest, b->last - b->pos);
        if (n == 0) {
            return DH_AGAIN;
        }

        piece->pos = b->pos;
        piece->last = b->pos + n;
        b->pos += n;
        *rest -= n;

        return DH_OK;
    }

    rc = dh_http_parse_chunked(ctx, b);

    switch (rc) {

    case DH_OK:
        n = dh_min(ctx->size, b->last - b->pos);
        if (n == 0) {
            return DH_AGAIN;
        }

        piece->pos = b->pos;
        piece->last = b->pos + n;
        b->pos += n;
        ctx->size -= n;
        return DH_OK;

    case DH_DONE:
    case DH_AGAIN:
        return rc;

    default:
        return DH_HTTP_BAD_REQUEST;
    }
}


/* ---- small helpers for handlers --------------------------------------- */

dh_int_t
dh_http_send_continue(dh_http_request_t *r)
{
    ssize_t           n;
    dh_connection_t  *c;

    if (!r->headers_in.expect_continue) {
        return DH_OK;
    }

    r->headers_in.expect_continue = 0;
    c = r->connection;

    /* a fresh connection's socket buffer always takes 25 bytes; a short
     * write means the peer is gone or broken */
    n = c->send(c, (u_char *) dh_http_continue_line,
                sizeof(dh_http_continue_line) - 1);

    if (n != (ssize_t) sizeof(dh_http_continue_line) - 1) {
        dh_log_error(DH_LOG_INFO, c->log, 0,
                     "could not send \"100 Continue\"");
        return DH_ERROR;
    }

    return DH_OK;
}


dh_int_t
dh_http_not_allowed(dh_http_request_t *r, dh_uint_t allowed)
{
    static const struct {
        dh_uint_t    method;
        dh_str_t     name;
    } methods[] = {
        { DH_HTTP_GET, dh_string("GET") },
        { DH_HTTP_HEAD, dh_string("HEAD") },
        { DH_HTTP_POST, dh_string("POST") },
        { DH_HTTP_PUT, dh_string("PUT") },
        { DH_HTTP_DELETE, dh_string("DELETE") },
        { DH_HTTP_OPTIONS, dh_string("OPTIONS") },
        { DH_HTTP_PATCH, dh_string("PATCH") },
        { DH_HTTP_TRACE, dh_string("TRACE") },
    };

    u_char      *p, *start;
    dh_uint_t    i;

    start = dh_pnalloc(r->pool, sizeof("GET, HEAD, POST, PUT, DELETE, "
                                       "OPTIONS, PATCH, TRACE"));
    if (start == NULL) {
        return DH_ERROR;
    }

    p = start;

    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (!(allowed & methods[i].method)) {
            continue;
        }

        if (p != start) {
            *p++ = ',';
            *p++ = ' ';
        }

        p = dh_cpymem(p, methods[i].name.data, methods[i].name.len);
    }

    if (dh_http_add_header_out(r, "Allow", sizeof("Allow") - 1, start,
                               p - start)
        == NULL)
    {
        return DH_ERROR;
    }

    return DH_HTTP_NOT_ALLOWED;
}


void
dh_http_request_body_error(dh_http_request_t *r, dh_int_t rc)
{
    if (rc == DH_ERROR || rc == DH_HTTP_CLIENT_CLOSED_REQUEST
        || r->header_sent)
    {
        dh_http_finalize_request(r, DH_ERROR);
        return;
    }

    if (rc < DH_HTTP_SPECIAL_RESPONSE) {
        rc = DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->keepalive = 0;
    r->lingering_close = 1;

    dh_http_finalize_request(r, dh_http_special_response_handler(r, rc));
}


/* ---- the streaming reader --------------------------------------------- */

static dh_int_t
dh_http_body_start(dh_http_request_t *r, dh_http_body_data_pt data,
    dh_http_body_done_pt done, dh_http_client_body_handler_pt post_handler)
{
    size_t                            size;
    dh_http_request_body_t           *rb;
    dh_http_request_body_loc_conf_t  *blcf;

    if (r->request_body || r->discarding || r->discard_closes) {
        dh_log_error(DH_LOG_ALERT, r->connection->log, 0,
                     "request body read twice or after discarding");
        return DH_ERROR;
    }

    blcf = dh_http_get_module_loc_conf(r, dh_http_request_body_module);

    if (!r->headers_in.chunked && blcf->client_max_body_size
        && r->headers_in.content_length_n > blcf->client_max_body_size)
    {
        dh_log_error(DH_LOG_ERR, r->connection->log, 0,
                     "client intended to send too large body: %lld bytes",
                     (long long) r->headers_in.content_length_n);

        /* the body stays unread: the connection cannot be reused */
        r->keepalive = 0;
        r->lingering_close = 1;
        return DH_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    rb = dh_pcalloc(r->pool, sizeof(dh_http_request_body_t));
    if (rb == NULL) {
        return DH_ERROR;
    }

    rb->data_handler = data;
    rb->done_handler = done;
    rb->post_handler = post_handler;
    r->request_body = rb;

    if (!r->headers_in.chunked && r->headers_in.content_length_n <= 0) {
        dh_http_body_finish(r, DH_OK);
        return DH_OK;
    }

    size = blcf->client_body_buffer_size;

    if (r->headers_in.chunked) {
        rb->chunked = dh_pcalloc(r->pool, sizeof(dh_http_chunked_t));
        if (rb->chunked == NULL) {
            return DH_ERROR;
        }

        rb->chunked->trailer = dh_pnalloc(r->pool, DH_HTTP_CHUNK_TRAILER_MAX);
        if (rb->chunked->trailer == NULL) {
            return DH_ERROR;
        }

        rb->chunked->length = 5;          /* "0" CRLF CRLF */

    } else {
        rb->rest = r->headers_in.content_length_n;

        if (rb->rest < (off_t) size) {
            size = (size_t) rb->rest;
        }
    }

    rb->buf = dh_create_temp_buf(r->pool, size);
    if (rb->buf == NULL) {
        return DH_ERROR;
    }

    if (dh_http_send_continue(r) != DH_OK) {
        r->keepalive = 0;
        return DH_ERROR;
    }

    r->read_event_handler = dh_http_body_read_handler;

    dh_http_body_run(r);

    return DH_OK;
}


dh_int_t
dh_http_read_client_request_body_stream(dh_http_request_t *r,
    dh_http_body_data_pt data, dh_http_body_done_pt done)
{
    return dh_http_body_start(r, data, done, NULL);
}


void
dh_http_request_body_resume(dh_http_request_t *r)
{
    dh_http_request_body_t  *rb;

    rb = r->request_body;

    /* from inside the data handler: it returns DH_OK instead */
    if (rb == NULL || !rb->paused || rb->finished || rb->in_data) {
        return;
    }

    rb->paused = 0;
    dh_http_body_run(r);
}


static void
dh_http_body_read_handler(dh_http_request_t *r)
{
    dh_connection_t         *c;
    dh_http_request_body_t  *rb;

    c = r->connection;
    rb = r->request_body;

    if (c->read->timedout) {
        c->read->timedout = 0;
        dh_log_error(DH_LOG_INFO, c->log, DH_ETIMEDOUT,
                     "client timed out reading the request body");
        dh_http_body_finish(r, DH_HTTP_REQUEST_TIME_OUT);
        return;
    }

    if (rb->paused || rb->finished) {
        return;
    }

    dh_http_body_run(r);
}


/* Offers the pending piece; DH_OK when it was all taken, DH_AGAIN when
 * the handler paused, anything else ends reading. */
static dh_int_t
dh_http_body_offer(dh_http_request_t *r, dh_http_request_body_t *rb)
{
    dh_int_t  rc;

    if (rb->piece.pos == rb->piece.last) {
        return DH_OK;
    }

    rb->in_data = 1;
    rc = rb->data_handler(r, &rb->piece);
    rb->in_data = 0;

    if (rc == DH_OK) {
        rb->piece.pos = rb->piece.last;
        return DH_OK;
    }

    if (rc == DH_AGAIN && rb->piece.pos == rb->piece.last) {
        return DH_OK;
    }

    return rc;
}


/*
 * Decodes what is buffered, hands it over and reads more, until the body
 * ends, the socket is drained (the read timer runs) or the handler
 * pauses.  Never reads past the body, so a pipelined request stays for
 * the next round.
 */
static void
dh_http_body_run(dh_http_request_t *r)
{
    off_t                             bound;
    ssize_t                           n;
    dh_int_t                          rc;
    dh_buf_t                         *src, *b;
    dh_connection_t                  *c;
    dh_http_request_body_t           *rb;
    dh_http_request_body_loc_conf_t  *blcf;

    c = r->connection;
    rb = r->request_body;
    b = rb->buf;
    blcf = dh_http_get_module_loc_conf(r, dh_http_request_body_module);

    for ( ;; ) {
        rc = dh_http_body_offer(r, rb);

        if (rc == DH_AGAIN) {
            rb->paused = 1;
            dh_event_del_timer(c->read);
            return;
        }

        if (rc != DH_OK) {
            dh_http_body_finish(r, rc);
            return;
        }

        src = (r->header_in->pos < r->header_in->last) ? r->header_in : b;

        if (src->pos < src->last) {
            rc = dh_http_decode_body(rb->chunked, &rb->rest, src, &rb->piece);

            if (rc == DH_OK) {
                rb->received += rb->piece.last - rb->piece.pos;

                if (blcf->client_max_body_size
                    && rb->received > blcf->client_max_body_size)
                {
                    dh_log_error(DH_LOG_ERR, c->log, 0,
                                 "client intended to send too large "
                                 "chunked body: more than %lld bytes",
                                 (long long) blcf->client_max_body_size);
                    dh_http_body_finish(r,
                                        DH_HTTP_REQUEST_ENTITY_TOO_LARGE);
                    return;
                }

                continue;
            }

            if (rc == DH_DONE) {
                dh_http_body_finish(r, dh_http_body_trailers(r, rb->chunked));
                return;
            }

            if (rc != DH_AGAIN) {
                dh_log_error(DH_LOG_INFO, c->log, 0,
                             "client sent invalid chunked body");
                dh_http_body_finish(r, DH_HTTP_BAD_REQUEST);
                return;
            }

            continue;
        }

        if (rb->chunked == NULL && rb->rest == 0) {
            dh_http_body_finish(r, DH_OK);
            return;
        }

        /* everything buffered was handed over: the buffer starts again */
        b->pos = b->start;
        b->last = b->start;

        bound = rb->chunked ? rb->chunked->length : rb->rest;

        if (bound <= 0 || bound > b->end - b->start) {
            bound = b->end - b->start;
        }

        n = c->read->ready ? c->recv(c, b->last, (size_t) bound) : DH_AGAIN;

        if (n == DH_AGAIN) {
            dh_event_add_timer(c->read, blcf->client_body_timeout);
            return;
        }

        if (n == 0) {
            dh_log_error(DH_LOG_INFO, c->log, 0,
                         "client prematurely closed connection "
                         "while sending the request body");
            dh_http_body_finish(r, DH_HTTP_CLIENT_CLOSED_REQUEST);
            return;
        }

        if (n == DH_ERROR) {
            c->error = 1;
            dh_http_body_finish(r, DH_HTTP_CLIENT_CLOSED_REQUEST);
            return;
        }

        b->last += n;
    }
}


static void
dh_http_body_finish(dh_http_request_t *r, dh_int_t rc)
{
    dh_connection_t         *c;
    dh_http_request_body_t  *rb;

    c = r->connection;
    rb = r->request_body;

    rb->finished = 1;
    rb->paused = 0;

    dh_event_del_timer(c->read);
    r->read_event_handler = dh_http_block_reading;

    if (rc != DH_OK) {
        /* the rest of the body is still on its way: no reuse */
        r->keepalive = 0;
        r->lingering_close = 1;
    }

    rb->done_handler(r, rc);
}


/* ---- the buffered reader ---------------------------------------------- */

dh_int_t
dh_http_read_client_request_body(dh_http_request_t *r,
    dh_http_client_body_handler_pt post_handler)
{
    return dh_http_body_start(r, dh_http_body_save, dh_http_body_saved,
                              post_handler);
}


static dh_int_t
dh_http_body_open_temp(dh_http_request_t *r, dh_http_request_body_t *rb)
{
    int                               fd;
    u_char                           *name;
    size_t                            len;
    dh_uint_t                         tries;
    dh_file_t                        *file;
    dh_pool_cleanup_t                *cln;
    dh_http_request_body_loc_conf_t  *blcf;
    static dh_uint_t                  seq;

    blcf = dh_http_get_module_loc_conf(r, dh_http_request_body_module);

    len = blcf->client_body_temp_path.len + sizeof("/4294967295.4294967295");

    file = dh_pcalloc(r->pool, sizeof(dh_file_t));
    name = dh_pnalloc(r->pool, len);
    cln = dh_pool_cleanup_add(r->pool, 0);

    if (file == NULL || name == NULL || cln == NULL) {
        return DH_ERROR;
    }

    for (tries = 0; ; tries++) {
        snprintf((char *) name, len, "%.*s/%u.%u",
                 (int) blcf->client_body_temp_path.len,
                 (char *) blcf->client_body_temp_path.data,
                 (unsigned) dh_pid, (unsigned) ++seq);

        fd = open((char *) name, O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0600);

        if (fd != -1) {
            break;
        }

        if (dh_errno != EEXIST || tries > 100) {
            dh_log_error(DH_LOG_CRIT, r->connection->log, dh_errno,
                         "open() \"%s\" failed", name);
            return DH_ERROR;
        }
    }

    file->fd = fd;
    file->name.data = name;
    file->name.len = dh_strlen(name);
    file->log = r->connection->log;

    rb->temp_file = file;

    cln->handler = dh_http_body_temp_cleanup;
    cln->data = rb;

    return DH_OK;
}


static void
dh_http_body_temp_cleanup(void *data)
{
    dh_http_request_body_t  *rb = data;

    if (rb->temp_file == NULL) {
        return;
    }

    if (!rb->temp_file_persist) {
        unlink((char *) rb->temp_file->name.data);
    }

    if (rb->temp_file->fd != DH_INVALID_FILE) {
        close(rb->temp_file->fd);
        rb->temp_file->fd = DH_INVALID_FILE;
    }
}


static dh_int_t
dh_http_body_write(dh_http_request_t *r, dh_http_request_body_t *rb,
    u_char *data, size_t len)
{
    if (dh_write_fd_all(rb->temp_file->fd, data, len) == DH_ERROR) {
        dh_log_error(DH_LOG_CRIT, r->connection->log, dh_errno,
                     "write() \"%s\" failed", rb->temp_file->name.data);
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    rb->temp_file->offset += len;

    return DH_OK;
}


/* The data handler of the buffered mode: memory while the body fits in
 * client_body_buffer_size, then everything goes to the temporary file. */
static dh_int_t
dh_http_body_save(dh_http_request_t *r, dh_buf_t *b)
{
    size_t                            len, size;
    dh_int_t                          rc;
    dh_http_request_body_t           *rb;
    dh_http_request_body_loc_conf_t  *blcf;

    rb = r->request_body;
    len = b->last - b->pos;
    blcf = dh_http_get_module_loc_conf(r, dh_http_request_body_module);

    if (rb->temp_file == NULL && !blcf->client_body_in_file_only
        && !r->request_body_in_file_only)
    {
        if (rb->mem == NULL) {
            size = blcf->client_body_buffer_size;

            if (rb->chunked == NULL
                && r->headers_in.content_length_n < (off_t) size)
            {
                size = (size_t) r->headers_in.content_length_n;
            }

            rb->mem = dh_create_temp_buf(r->pool, size);
            if (rb->mem == NULL) {
                return DH_ERROR;
            }
        }

        if ((size_t) (rb->mem->end - rb->mem->last) >= len) {
            rb->mem->last = dh_cpymem(rb->mem->last, b->pos, len);
            b->pos = b->last;
            return DH_OK;
        }
    }

    if (rb->temp_file == NULL) {
        if (dh_http_body_open_temp(r, rb) != DH_OK) {
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rb->mem && rb->mem->last > rb->mem->pos) {
            rc = dh_http_body_write(r, rb, rb->mem->pos,
                                    rb->mem->last - rb->mem->pos);
            if (rc != DH_OK) {
                return rc;
            }

            rb->mem->last = rb->mem->pos;
        }
    }

    rc = dh_http_body_write(r, rb, b->pos, len);
    if (rc != DH_OK) {
        return rc;
    }

    b->pos = b->last;

    return DH_OK;
}


static void
dh_http_body_saved(dh_http_request_t *r, dh_int_t rc)
{
    dh_buf_t                *b;
    dh_chain_t              *cl;
    dh_http_request_body_t  *rb;

    rb = r->request_body;

    if (rc != DH_OK) {
        dh_http_request_body_error(r, rc);
        return;
    }

    b = dh_calloc_buf(r->pool);
    cl = dh_alloc_chain_link(r->pool);

    if (b == NULL || cl == NULL) {
        dh_http_request_body_error(r, DH_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rb->temp_file) {
        b->in_file = 1;
        b->temp_file = 1;
        b->file = rb->temp_file;
        b->file_pos = 0;
        b->file_last = rb->temp_file->offset;

    } else if (rb->mem) {
        b->temporary = 1;
        b->start = rb->mem->start;
        b->end = rb->mem->end;
        b->pos = rb->mem->pos;
        b->last = rb->mem->last;
    }

    b->last_buf = 1;
    cl->buf = b;
    cl->next = NULL;
    rb->bufs = cl;

    rb->post_handler(r);
}


/* ---- configuration ---------------------------------------------------- */

static void *
dh_http_request_body_create_main_conf(dh_conf_t *cf)
{
    dh_http_request_body_main_conf_t  *bmcf;

    bmcf = dh_pcalloc(cf->pool, sizeof(dh_http_request_body_main_conf_t));
    if (bmcf == NULL) {
        return NULL;
    }

    if (dh_array_init(&bmcf->temp_paths, cf->pool, 2, sizeof(dh_str_t))
        != DH_OK)
    {
        return NULL;
    }

    return bmcf;
}


static void *
dh_http_request_body_create_loc_conf(dh_conf_t *cf)
{
    dh_http_request_body_loc_conf_t  *conf;

    conf = dh_pcalloc(cf->pool, sizeof(dh_http_request_body_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->client_max_body_size = DH_CONF_UNSET;
    conf->client_body_buffer_size = DH_CONF_UNSET_SIZE;
    conf->client_body_timeout = DH_CONF_UNSET_MSEC;
    conf->client_body_in_file_only = DH_CONF_UNSET;

    return conf;
}


static char *
dh_http_request_body_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_request_body_loc_conf_t  *prev = parent;
    dh_http_request_body_loc_conf_t  *conf = child;

    dh_str_t                          *path;
    dh_uint_t                          i;
    dh_http_request_body_main_conf_t  *bmcf;

    dh_conf_merge_off_value(conf->client_max_body_size,
                            prev->client_max_body_size, 1024 * 1024);
    dh_conf_merge_size_value(conf->client_body_buffer_size,
                             prev->client_body_buffer_size, 16 * 1024);
    dh_conf_merge_msec_value(conf->client_body_timeout,
                             prev->client_body_timeout, 60000);
    dh_conf_merge_value(conf->client_body_in_file_only,
                        prev->client_body_in_file_only, 0);

    if (conf->client_body_buffer_size == 0) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "\"client_body_buffer_size\" must not be 0");
        return DH_CONF_ERROR;
    }

    if (conf->client_body_temp_path.data == NULL) {
        conf->client_body_temp_path = prev->client_body_temp_path;
    }

    if (conf->client_body_temp_path.data == NULL) {
        dh_str_set(&conf->client_body_temp_path, "client_body_temp");

        if (dh_conf_full_name(cf->cycle, &conf->client_body_temp_path, 0)
            != DH_OK)
        {
            return DH_CONF_ERROR;
        }
    }

    while (conf->client_body_temp_path.len > 1
           && conf->client_body_temp_path.data
                  [conf->client_body_temp_path.len - 1] == '/')
    {
        conf->client_body_temp_path.len--;
    }

    /* remember each distinct path once: created at startup */
    bmcf = dh_http_conf_get_module_main_conf(cf, dh_http_request_body_module);
    path = bmcf->temp_paths.elts;

    for (i = 0; i < bmcf->temp_paths.nelts; i++) {
        if (path[i].len == conf->client_body_temp_path.len
            && dh_strncmp(path[i].data, conf->client_body_temp_path.data,
                          path[i].len) == 0)
        {
            return DH_CONF_OK;
        }
    }

    path = dh_array_push(&bmcf->temp_paths);
    if (path == NULL) {
        return DH_CONF_ERROR;
    }

    path->len = conf->client_body_temp_path.len;
    path->data = dh_pnalloc(cf->pool, path->len + 1);
    if (path->data == NULL) {
        return DH_CONF_ERROR;
    }

    dh_memcpy(path->data, conf->client_body_temp_path.data, path->len);
    path->data[path->len] = '\0';

    return DH_CONF_OK;
}


/* Creates the temporary directories, owned by the worker user so the
 * workers can write there after dropping privileges. */
static dh_int_t
dh_http_request_body_init_module(dh_cycle_t *cycle)
{
    dh_str_t                          *path;
    dh_uint_t                          i;
    dh_core_conf_t                    *ccf;
    dh_http_request_body_main_conf_t  *bmcf;

    bmcf = dh_http_cycle_get_module_main_conf(cycle,
                                              dh_http_request_body_module);
    if (bmcf == NULL) {
        return DH_OK;
    }

    ccf = (dh_core_conf_t *) dh_get_conf(cycle->conf_ctx, dh_core_module);
    path = bmcf->temp_paths.elts;

    for (i = 0; i < bmcf->temp_paths.nelts; i++) {
        if (dh_create_full_path(path[i].data, 0700) != DH_OK) {
            dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                         "mkdir() \"%s\" failed", path[i].data);
            return DH_ERROR;
        }

        if (geteuid() == 0 && ccf
            && ccf->user != (uid_t) DH_CONF_UNSET_UINT)
        {
            if (chown((char *) path[i].data, ccf->user, (gid_t) -1) == -1) {
                dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                             "chown(\"%s\", %d) failed", path[i].data,
                             (int) ccf->user);
                return DH_ERROR;
            }
        }
    }

    return DH_OK;
}

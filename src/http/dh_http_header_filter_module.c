/*
 * The last header filter: turns the response headers into bytes, in one
 * buffer sized exactly in a first pass, and hands it to the write filter
 * (which holds it back so a small body leaves in the same writev).
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


static dh_int_t dh_http_header_filter_init(dh_conf_t *cf);
static dh_int_t dh_http_header_filter(dh_http_request_t *r);


static dh_http_module_t  dh_http_header_filter_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_header_filter_init,            /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


dh_module_t  dh_http_header_filter_module = {
    DH_MODULE_V1,
    &dh_http_header_filter_module_ctx,     /* module context */
    NULL,                                  /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


#define dh_status(code, text)  { code, dh_string(#code " " text) }

static struct {
    dh_uint_t   code;
    dh_str_t    line;
} dh_http_status_lines[] = {
    dh_status(200, "OK"),
    dh_status(201, "Created"),
    dh_status(202, "Accepted"),
    dh_status(203, "Non-Authoritative Information"),
    dh_status(204, "No Content"),
    dh_status(206, "Partial Content"),
    dh_status(301, "Moved Permanently"),
    dh_status(302, "Found"),
    dh_status(303, "See Other"),
    dh_status(304, "Not Modified"),
    dh_status(307, "Temporary Redirect"),
    dh_status(308, "Permanent Redirect"),
    dh_status(400, "Bad Request"),
    dh_status(401, "Unauthorized"),
    dh_status(402, "Payment Required"),
    dh_status(403, "Forbidden"),
    dh_status(404, "Not Found"),
    dh_status(405, "Not Allowed"),
    dh_status(406, "Not Acceptable"),
    dh_status(408, "Request Time-out"),
    dh_status(409, "Conflict"),
    dh_status(410, "Gone"),
    dh_status(411, "Length Required"),
    dh_status(412, "Precondition Failed"),
    dh_status(413, "Request Entity Too Large"),
    dh_status(414, "Request-URI Too Large"),
    dh_status(415, "Unsupported Media Type"),
    dh_status(416, "Requested Range Not Satisfiable"),
    dh_status(417, "Expectation Failed"),
    dh_status(421, "Misdirected Request"),
    dh_status(429, "Too Many Requests"),
    dh_status(431, "Request Header Fields Too Large"),
    dh_status(500, "Internal Server Error"),
    dh_status(501, "Not Implemented"),
    dh_status(502, "Bad Gateway"),
    dh_status(503, "Service Unavailable"),
    dh_status(504, "Gateway Time-out"),
    dh_status(505, "HTTP Version Not Supported"),
    { 0, dh_null_string }
};


dh_str_t *
dh_http_status_line(dh_uint_t status)
{
    dh_uint_t        i;
    static dh_str_t  empty = dh_string("");

    for (i = 0; dh_http_status_lines[i].code; i++) {
        if (dh_http_status_lines[i].code == status) {
            return &dh_http_status_lines[i].line;
        }
    }

    return &empty;
}


static dh_int_t
dh_http_header_filter_init(dh_conf_t *cf)
{
    dh_http_top_header_filter = dh_http_header_filter;

    return DH_OK;
}


/* Writes n (>= 0) in decimal: every response has a length, and the
 * printf family costs more than the rest of the status line together. */
static u_char *
dh_http_header_number(u_char *p, off_t n)
{
    u_char   buf[DH_INT64_LEN];
    u_char  *q;

    q = buf + sizeof(buf);

    do {
        *--q = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    return dh_cpymem(p, q, buf + sizeof(buf) - q);
}


static dh_int_t
dh_http_header_filter(dh_http_request_t *r)
{
    size_t                     len;
    u_char                    *p;
    dh_str_t                   status_line, server, date;
    dh_buf_t                  *b;
    dh_uint_t                  i, status;
    dh_chain_t                 out;
    dh_connection_t           *c;
    dh_list_part_t            *part;
    dh_table_elt_t            *header;
    dh_http_core_loc_conf_t   *clcf;
    u_char                     number[DH_INT_T_LEN + 3];

    c = r->connection;
    clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);

    r->header_sent = 1;

    status = r->headers_out.status;

    if (r->method == DH_HTTP_HEAD) {
        r->header_only = 1;
    }

    if (status == DH_HTTP_NO_CONTENT || status == DH_HTTP_NOT_MODIFIED) {
        r->header_only = 1;
        r->headers_out.content_length_n = -1;
        r->headers_out.last_modified_time =
            (status == DH_HTTP_NOT_MODIFIED)
            ? r->headers_out.last_modified_time : -1;
        dh_str_null(&r->headers_out.content_type);
    }

    /* a graceful exit, a conf limit or a close already decided by the
     * request: this response is the last on the connection */
    if (r->keepalive
        && (dh_exiting || c->close || clcf->keepalive_timeout == 0
            || c->requests >= clcf->keepalive_requests))
    {
        r->keepalive = 0;
    }

    if (r->headers_out.status_line.len) {
        status_line = r->headers_out.status_line;
    } else {
        status_line = *dh_http_status_line(status);

        if (status_line.len == 0) {
            p = dh_slprintf(number, number + sizeof(number), "%03lu ",
                            (unsigned long) status);
            status_line.data = number;
            status_line.len = p - number;
        }
    }

    server = clcf->server_tokens ? dh_http_server_full_string
                                 : dh_http_server_string;

    date.len = dh_cached_http_time.len;
    date.data = dh_cached_http_time.data;

    len = sizeof("HTTP/1.1 ") - 1 + status_line.len + 2
          + sizeof("Server: ") - 1 + server.len + 2
          + sizeof("Date: ") - 1 + date.len + 2
          + sizeof("Connection: keep-alive") - 1 + 2
          + 2;

    if (r->headers_out.content_type.len) {
        len += sizeof("Content-Type: ") - 1
               + r->headers_out.content_type.len + 2;
    }

    if (r->headers_out.content_length_n >= 0) {
        len += sizeof("Content-Length: ") - 1 + DH_INT64_LEN + 2;
    }

    if (r->headers_out.last_modified_time != -1) {
        len += sizeof("Last-Modified: Mon, 28 Sep 1970 06:00:00 GMT") - 1 + 2;
    }

    if (r->chunked_out) {
        len += sizeof("Transfer-Encoding: chunked") - 1 + 2;
    }

    part = &r->headers_out.headers.part;
    header = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            header = part->elts;
            i = 0;
        }

        if (header[i].hash == 0) {
            continue;
        }

        len += header[i].key.len + sizeof(": ") - 1
               + header[i].value.len + 2;
    }

    b = dh_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return DH_ERROR;
    }

    p = b->last;

    p = dh_cpymem(p, "HTTP/1.1 ", sizeof("HTTP/1.1 ") - 1);
    p = dh_cpymem(p, status_line.data, status_line.len);
    *p++ = CR; *p++ = LF;

    p = dh_cpymem(p, "Server: ", sizeof("Server: ") - 1);
    p = dh_cpymem(p, server.data, server.len);
    *p++ = CR; *p++ = LF;

    p = dh_cpymem(p, "Date: ", sizeof("Date: ") - 1);
    p = dh_cpymem(p, date.data, date.len);
    *p++ = CR; *p++ = LF;

    if (r->headers_out.content_type.len) {
        p = dh_cpymem(p, "Content-Type: ", sizeof("Content-Type: ") - 1);
        p = dh_cpymem(p, r->headers_out.content_type.data,
                      r->headers_out.content_type.len);
        *p++ = CR; *p++ = LF;
    }

    if (r->headers_out.content_length_n >= 0) {
        p = dh_cpymem(p, "Content-Length: ", sizeof("Content-Length: ") - 1);
        p = dh_http_header_number(p, r->headers_out.content_length_n);
        *p++ = CR; *p++ = LF;
    }

    if (r->headers_out.last_modified_time != -1) {
        p = dh_cpymem(p, "Last-Modified: ", sizeof("Last-Modified: ") - 1);
        p = dh_http_time(p, r->headers_out.last_modified_time);
        *p++ = CR; *p++ = LF;
    }

    if (r->chunked_out) {
        p = dh_cpymem(p, "Transfer-Encoding: chunked" CRLF,
                      sizeof("Transfer-Encoding: chunked" CRLF) - 1);
    }

    if (status == 101) {
        /* a protocol switch (proxied WebSocket): the Upgrade header is
         * among the headers below */
        p = dh_cpymem(p, "Connection: upgrade" CRLF,
                      sizeof("Connection: upgrade" CRLF) - 1);

    } else if (r->keepalive) {
        p = dh_cpymem(p, "Connection: keep-alive" CRLF,
                      sizeof("Connection: keep-alive" CRLF) - 1);
    } else {
        p = dh_cpymem(p, "Connection: close" CRLF,
                      sizeof("Connection: close" CRLF) - 1);
    }

    part = &r->headers_out.headers.part;
    header = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            header = part->elts;
            i = 0;
        }

        if (header[i].hash == 0) {
            continue;
        }

        p = dh_cpymem(p, header[i].key.data, header[i].key.len);
        *p++ = ':'; *p++ = ' ';
        p = dh_cpymem(p, header[i].value.data, header[i].value.len);
        *p++ = CR; *p++ = LF;
    }

    *p++ = CR; *p++ = LF;

    b->last = p;
    r->header_size = b->last - b->pos;

    if (r->header_only) {
        b->last_buf = 1;
    }

    out.buf = b;
    out.next = NULL;

    return dh_http_write_filter(r, &out);
}

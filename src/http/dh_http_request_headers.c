/*
 * Request header handlers: the table of headers that need a check or a
 * quick pointer in r->headers_in (looked up by the name hash the parser
 * computed), and the checks themselves, which reject ambiguous framing
 * (Content-Length with Transfer-Encoding, differing duplicates, a coding
 * list not ending in chunked) and invalid hosts before any handler runs.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


static dh_int_t dh_http_process_header_line(dh_http_request_t *r,
    dh_table_elt_t *h, dh_uint_t offset);
static dh_int_t dh_http_process_unique_header_line(dh_http_request_t *r,
    dh_table_elt_t *h, dh_uint_t offset);
static dh_int_t dh_http_process_host(dh_http_request_t *r,
    dh_table_elt_t *h, dh_uint_t offset);
static dh_int_t dh_http_process_connection(dh_http_request_t *r,
    dh_table_elt_t *h, dh_uint_t offset);
static dh_int_t dh_http_process_content_length(dh_http_request_t *r,
    dh_table_elt_t *h, dh_uint_t offset);
static dh_int_t dh_http_process_transfer_encoding(dh_http_request_t *r,
    dh_table_elt_t *h, dh_uint_t offset);


dh_http_header_t  dh_http_headers_in[] = {

    { dh_string("host"),
      offsetof(dh_http_headers_in_t, host),
      dh_http_process_host },

    { dh_string("connection"),
      offsetof(dh_http_headers_in_t, connection),
      dh_http_process_connection },

    { dh_string("content-length"),
      offsetof(dh_http_headers_in_t, content_length),
      dh_http_process_content_length },

    { dh_string("transfer-encoding"),
      offsetof(dh_http_headers_in_t, transfer_encoding),
      dh_http_process_transfer_encoding },

    { dh_string("expect"),
      offsetof(dh_http_headers_in_t, expect),
      dh_http_process_unique_header_line },

    { dh_string("if-modified-since"),
      offsetof(dh_http_headers_in_t, if_modified_since),
      dh_http_process_unique_header_line },

    { dh_string("if-none-match"),
      offsetof(dh_http_headers_in_t, if_none_match),
      dh_http_process_header_line },

    { dh_string("user-agent"),
      offsetof(dh_http_headers_in_t, user_agent),
      dh_http_process_header_line },

    { dh_string("if-match"),
      offsetof(dh_http_headers_in_t, if_match),
      dh_http_process_header_line },

    { dh_string("if-unmodified-since"),
      offsetof(dh_http_headers_in_t, if_unmodified_since),
      dh_http_process_unique_header_line },

    { dh_string("if-range"),
      offsetof(dh_http_headers_in_t, if_range),
      dh_http_process_unique_header_line },

    { dh_string("range"),
      offsetof(dh_http_headers_in_t, range),
      dh_http_process_unique_header_line },

    { dh_string("accept-encoding"),
      offsetof(dh_http_headers_in_t, accept_encoding),
      dh_http_process_header_line },

    { dh_string("origin"),
      offsetof(dh_http_headers_in_t, origin),
      dh_http_process_unique_header_line },

    { dh_string("access-control-request-method"),
      offsetof(dh_http_headers_in_t, access_control_request_method),
      dh_http_process_unique_header_line },

    { dh_null_string, 0, NULL }
};


/* ---- request header handlers ------------------------------------------ */

static dh_int_t
dh_http_process_header_line(dh_http_request_t *r, dh_table_elt_t *h,
    dh_uint_t offset)
{
    dh_table_elt_t  **ph;

    ph = (dh_table_elt_t **) ((char *) &r->headers_in + offset);

    while (*ph) {
        ph = &(*ph)->next;
    }

    *ph = h;

    return DH_OK;
}


static dh_int_t
dh_http_process_unique_header_line(dh_http_request_t *r, dh_table_elt_t *h,
    dh_uint_t offset)
{
    dh_table_elt_t  **ph;

    ph = (dh_table_elt_t **) ((char *) &r->headers_in + offset);

    if (*ph) {
        dh_log_error(DH_LOG_INFO, r->connection->log, 0,
                     "client sent duplicate header line: \"%.*s: %.*s\"",
                     DH_STR_FMT(h->key), DH_STR_FMT(h->value));
        return DH_HTTP_BAD_REQUEST;
    }

    *ph = h;

    return DH_OK;
}


static dh_int_t
dh_http_process_host(dh_http_request_t *r, dh_table_elt_t *h,
    dh_uint_t offset)
{
    dh_int_t  rc;
    dh_str_t  host;

    rc = dh_http_process_unique_header_line(r, h, offset);
    if (rc != DH_OK) {
        return rc;
    }

    host = h->value;

    rc = dh_http_validate_host(r, &host);

    if (rc != DH_OK) {
        dh_log_error(DH_LOG_INFO, r->connection->log, 0,
                     "client sent invalid host header");
        return rc;
    }

    if (r->headers_in.server.len == 0) {
        r->headers_in.server = host;
    }

    return DH_OK;
}


/* a comma-separated token list; "close" wins over "keep-alive" */
static dh_int_t
dh_http_process_connection(dh_http_request_t *r, dh_table_elt_t *h,
    dh_uint_t offset)
{
    u_char  *p, *last, *start;
    size_t   len;

    dh_http_process_header_line(r, h, offset);

    p = h->value.data;
    last = p + h->value.len;

    while (p < last) {
        while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        start = p;

        while (p < last && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }

        len = p - start;

        if (len == 5 && dh_strncasecmp(start, (u_char *) "close", 5) == 0) {
            r->headers_in.connection_type = DH_HTTP_CONNECTION_CLOSE;

        } else if (len == 10
                   && dh_strncasecmp(start, (u_char *) "keep-alive", 10) == 0
                   && r->headers_in.connection_type
                      != DH_HTTP_CONNECTION_CLOSE)
        {
            r->headers_in.connection_type = DH_HTTP_CONNECTION_KEEP_ALIVE;
        }
    }

    return DH_OK;
}


static dh_int_t
dh_http_process_content_length(dh_http_request_t *r, dh_table_elt_t *h,
    dh_uint_t offset)
{
    off_t  n;

    /* digits only: no sign, no list, no white space inside */
    n = h->value.len ? dh_atoof(h->value.data, h->value.len) : -1;

    if (n < 0) {
        dh_log_error(DH_LOG_INFO, r->connection->log, 0,
                     "client sent invalid \"Content-Length\" header");
        return DH_HTTP_BAD_REQUEST;
    }

    if (r->headers_in.content_length) {
        if (n != r->headers_in.content_length_n) {
            dh_log_error(DH_LOG_INFO, r->connection->log, 0,
                         "client sent differing duplicate "
                         "\"Content-Length\" headers");
            return DH_HTTP_BAD_REQUEST;
        }

        return DH_OK;
    }

    r->headers_in.content_length = h;
    r->headers_in.content_length_n = n;

    return DH_OK;
}


/*
 * Only "chunked" is a coding we decode.  A list ending in chunked names a
 * coding we do not implement (501); anything else leaves the body length
 * unknowable (400).  Either way the connection closes: what follows on it
 * cannot be framed, which is what request smuggling relies on.
 */
static dh_int_t
dh_http_process_transfer_encoding(dh_http_request_t *r, dh_table_elt_t *h,
    dh_uint_t offset)
{
    u_char  *p, *last, *s, *e;

    if (r->headers_in.transfer_encoding) {
        dh_log_error(DH_LOG_INFO, r->connection->log, 0,
                     "client sent duplicate \"Transfer-Encoding\" header");
        return DH_HTTP_BAD_REQUEST;
    }

    r->headers_in.transfer_encoding = h;

    if (h->value.len == 7
        && dh_strncasecmp(h->value.data, (u_char *) "chunked", 7) == 0)
    {
        r->headers_in.chunked = 1;
        return DH_OK;
    }

    dh_log_error(DH_LOG_INFO, r->connection->log, 0,
                 "client sent unsupported \"Transfer-Encoding: %.*s\"",
                 DH_STR_FMT(h->value));

    last = h->value.data + h->value.len;

    for (p = last; p > h->value.data && p[-1] != ','; p--) { /* void */ }

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (last - p == 7 && dh_strncasecmp(p, (u_char *) "chunked", 7) == 0
        && p != h->value.data)
    {
        /* chunked applied twice is not a coding we lack but a framing
         * error (RFC 9112 6.1): look for it among the earlier ones */
        for (s = h->value.data; s < p; s = e + 1) {
            while (s < p && (*s == ' ' || *s == '\t')) {
                s++;
            }

            for (e = s; e < p && *e != ','; e++) { /* void */ }

            if (e - s >= 7 && dh_strncasecmp(s, (u_char *) "chunked", 7) == 0
                && (e - s == 7 || s[7] == ' ' || s[7] == '\t'))
            {
                return DH_HTTP_BAD_REQUEST;
            }
        }

        return DH_HTTP_NOT_IMPLEMENTED;
    }

    return DH_HTTP_BAD_REQUEST;
}


/*
 * Validates a host name, lower-cases it (copying only when needed), and
 * drops the port and a trailing dot.  Names are letters, digits, '-', '_',
 * '.', '~' (no empty labels), or a bracketed IPv6 literal.
 */
dh_int_t
dh_http_validate_host(dh_http_request_t *r, dh_str_t *host)
{
    u_char     ch, *h;
    size_t     i, len;
    dh_uint_t  upper, in_brackets, after_brackets, dot;

    h = host->data;
    len = host->len;
    upper = 0;
    in_brackets = 0;
    after_brackets = 0;
    dot = 0;

    /* RFC 9110 allows an empty Host only for a target without authority;
     * every target we serve has one, so it names no server (as nginx) */
    if (len == 0) {
        return DH_HTTP_BAD_REQUEST;
    }

    for (i = 0; i < host->len; i++) {
        ch = h[i];

        /* most bytes of most names: decided by two range checks */
        if (!(in_brackets | after_brackets)
            && ((u_char) (ch - 'a') < 26 || (u_char) (ch - '0') < 10))
        {
            continue;
        }

        if (in_brackets) {
            if (ch == ']') {
                in_brackets = 0;
                after_brackets = 1;
                continue;
            }

            if (!((ch >= '0' && ch <= '9') || ch == ':' || ch == '.'
                  || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')))
            {
                return DH_HTTP_BAD_REQUEST;
            }

            upper |= (ch >= 'A' && ch <= 'Z');
            continue;
        }

        if (ch == ':') {
            len = i;
            break;
        }

        if (after_brackets) {
            return DH_HTTP_BAD_REQUEST;
        }

        if (ch == '[' && i == 0) {
            in_brackets = 1;
            continue;
        }

        if (ch == '.') {
            if (dot == i || i == 0) {
                return DH_HTTP_BAD_REQUEST;     /* "..", leading '.' */
            }
            dot = i + 1;
            continue;
        }

        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
            || ch == '-' || ch == '_' || ch == '~')
        {
            continue;
        }

        if (ch >= 'A' && ch <= 'Z') {
            upper = 1;
            continue;
        }

        return DH_HTTP_BAD_REQUEST;
    }

    if (in_brackets) {
        return DH_HTTP_BAD_REQUEST;
    }

    if (len < host->len) {
        /* a port: digits only, and a name before it */
        if (len == 0 || len + 1 == host->len) {
            return DH_HTTP_BAD_REQUEST;
        }

        for (i = len + 1; i < host->len; i++) {
            if (h[i] < '0' || h[i] > '9') {
                return DH_HTTP_BAD_REQUEST;
            }
        }
    }

    if (len && h[len - 1] == '.') {
        len--;
    }

    if (upper) {
        host->data = dh_pnalloc(r->pool, len);
        if (host->data == NULL) {
            return DH_ERROR;
        }

        dh_strlow(host->data, h, len);
    }

    host->len = len;

    return DH_OK;
}

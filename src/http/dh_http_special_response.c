/*
 * Responses the server makes up itself: error pages, redirects and the
 * `return` directive's answers.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


static u_char  dh_http_error_full_tail[] =
"<hr><center>divehttpd/" DH_VERSION "</center>" CRLF
"</body>" CRLF
"</html>" CRLF
;

static u_char  dh_http_error_tail[] =
"<hr><center>divehttpd</center>" CRLF
"</body>" CRLF
"</html>" CRLF
;


static dh_uint_t
dh_http_is_redirect(dh_uint_t status)
{
    return status == DH_HTTP_MOVED_PERMANENTLY
           || status == DH_HTTP_MOVED_TEMPORARILY
           || status == DH_HTTP_SEE_OTHER
           || status == DH_HTTP_TEMPORARY_REDIRECT
           || status == DH_HTTP_PERMANENT_REDIRECT;
}


static dh_str_t  dh_http_client_cert_error =
    dh_string("The SSL certificate error");
static dh_str_t  dh_http_client_no_cert =
    dh_string("No required SSL certificate was sent");


/* nginx's 495 and 496: sent as 400, with the reason in the page */
static dh_int_t
dh_http_client_cert_page(dh_http_request_t *r, dh_uint_t status,
    dh_http_core_loc_conf_t *clcf)
{
    dh_str_t   *why, *page;
    dh_buf_t   *b;
    dh_int_t    rc;
    dh_chain_t  out;

    why = (status == DH_HTTP_CLIENT_CERT_ERROR) ? &dh_http_client_cert_error
                                                : &dh_http_client_no_cert;

    page = dh_psprintf(r->pool,
                       "<html>" CRLF "<head><title>400 %.*s</title></head>"
                       CRLF "<body>" CRLF
                       "<center><h1>400 Bad Request</h1></center>" CRLF
                       "<center>%.*s</center>" CRLF "%s",
                       DH_STR_FMT(*why), DH_STR_FMT(*why),
                       clcf->server_tokens ? (char *) dh_http_error_full_tail
                                           : (char *) dh_http_error_tail);
    b = dh_calloc_buf(r->pool);

    if (page == NULL || b == NULL) {
        return DH_ERROR;
    }

    r->err_status = DH_HTTP_BAD_REQUEST;
    r->headers_out.status = DH_HTTP_BAD_REQUEST;
    dh_str_set(&r->headers_out.content_type, "text/html");
    r->headers_out.content_length_n = page->len;

    rc = dh_http_send_header(r);

    if (rc == DH_ERROR || r->header_only) {
        return rc;
    }

    b->memory = 1;
    b->last_buf = 1;
    b->pos = page->data;
    b->last = page->data + page->len;

    out.buf = b;
    out.next = NULL;

    return dh_http_output_filter(r, &out);
}


/* The body is unread and will not be: what follows on the connection
 * cannot be framed, so it closes (lingering) after the response. */
static void
dh_http_give_up_body(dh_http_request_t *r)
{
    if (r->request_body) {
        /* read (or being read) by the body reader, which decides */
        return;
    }

    if (r->headers_in.chunked || r->headers_in.content_length_n > 0) {
        r->keepalive = 0;
        r->lingering_close = 1;
    }
}


dh_int_t
dh_http_special_response_handler(dh_http_request_t *r, dh_int_t error)
{
    size_t                     len;
    u_char                    *p;
    dh_int_t                   rc;
    dh_str_t                  *line, *retry;
    dh_buf_t                  *head, *tail;
    dh_chain_t                 out[2];
    dh_uint_t                  status;
    dh_table_elt_t            *h;
    dh_http_core_loc_conf_t   *clcf;
    u_char                     number[sizeof("999")];

    status = (dh_uint_t) error;
    clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);

    r->err_status = status;

    switch (status) {

    case DH_HTTP_BAD_REQUEST:
    case DH_HTTP_REQUEST_ENTITY_TOO_LARGE:
    case DH_HTTP_REQUEST_URI_TOO_LARGE:
    case DH_HTTP_EXPECTATION_FAILED:
    case DH_HTTP_HEADER_TOO_LARGE:
    case DH_HTTP_NOT_IMPLEMENTED:
    case DH_HTTP_VERSION_NOT_SUPPORTED:
        /* the request was not understood as a whole: its framing, and
         * so the rest of the stream, cannot be trusted */
        r->keepalive = 0;
        r->lingering_close = 1;
        break;

    case DH_HTTP_CLIENT_CERT_ERROR:
    case DH_HTTP_CLIENT_NO_CERT:
        /* the connection itself is refused, not just this request */
        r->keepalive = 0;
        break;

    case DH_HTTP_REQUEST_TIME_OUT:
    case DH_HTTP_INTERNAL_SERVER_ERROR:
        r->keepalive = 0;
        break;

    case DH_HTTP_SERVICE_UNAVAILABLE:
        if (dh_shutdown_expired) {
            r->keepalive = 0;

            retry = dh_psprintf(r->pool, "%ld", (long) clcf->retry_after);
            if (retry == NULL) {
                return DH_ERROR;
            }

            if (dh_http_add_header_out(r, "Retry-After",
                                       sizeof("Retry-After") - 1,
                                       retry->data, retry->len)
                == NULL)
            {
                return DH_ERROR;
            }
        }
        break;
    }

    if (r->keepalive) {
        if (dh_http_discard_request_body(r) != DH_OK) {
            r->keepalive = 0;
        }
    }

    if (!r->keepalive && !r->discarding) {
        dh_http_give_up_body(r);
    }

    rc = dh_http_send_error_page(r, &status);
    if (rc != DH_DECLINED) {
        return rc;
    }

    r->headers_out.status = status;
    r->headers_out.status_line.len = 0;
    r->headers_out.last_modified_time = -1;
    r->chunked_out = 0;

    h = r->headers_out.etag;
    if (h) {
        h->hash = 0;
        r->headers_out.etag = NULL;
    }

    if (status < DH_HTTP_SPECIAL_RESPONSE
        || status == DH_HTTP_NOT_MODIFIED)
    {
        dh_str_null(&r->headers_out.content_type);
        r->headers_out.content_length_n = 0;
        r->header_only = 1;             /* no body: the header ends it */
        return dh_http_send_header(r);
    }

    if (status == DH_HTTP_CLIENT_CERT_ERROR
        || status == DH_HTTP_CLIENT_NO_CERT)
    {
        return dh_http_client_cert_page(r, status, clcf);
    }

    line = dh_http_status_line(status);

    if (line->len == 0) {
        p = dh_slprintf(number, number + sizeof(number) - 1, "%03lu",
                        (unsigned long) status);
        *p = '\0';
        line = dh_psprintf(r->pool, "%s", (char *) number);
        if (line == NULL) {
            return DH_ERROR;
        }
    }

    len = sizeof("<html>" CRLF "<head><title>") - 1 + line->len
          + sizeof("</title></head>" CRLF "<body>" CRLF "<center><h1>") - 1
          + line->len + sizeof("</h1></center>" CRLF) - 1;

    head = dh_create_temp_buf(r->pool, len);
    tail = dh_calloc_buf(r->pool);

    if (head == NULL || tail == NULL) {
        return DH_ERROR;
    }

    p = head->last;
    p = dh_cpymem(p, "<html>" CRLF "<head><title>",
                  sizeof("<html>" CRLF "<head><title>") - 1);
    p = dh_cpymem(p, line->data, line->len);
    p = dh_cpymem(p, "</title></head>" CRLF "<body>" CRLF "<center><h1>",
                  sizeof("</title></head>" CRLF "<body>" CRLF "<center><h1>")
                  - 1);
    p = dh_cpymem(p, line->data, line->len);
    p = dh_cpymem(p, "</h1></center>" CRLF, sizeof("</h1></center>" CRLF) - 1);
    head->last = p;

    tail->memory = 1;
    tail->last_buf = 1;

    if (clcf->server_tokens) {
        tail->pos = dh_http_error_full_tail;
        tail->last = tail->pos + sizeof(dh_http_error_full_tail) - 1;
    } else {
        tail->pos = dh_http_error_tail;
        tail->last = tail->pos + sizeof(dh_http_error_tail) - 1;
    }

    dh_str_set(&r->headers_out.content_type, "text/html");
    r->headers_out.content_length_n = (head->last - head->pos)
                                      + (tail->last - tail->pos);

    rc = dh_http_send_header(r);

    if (rc == DH_ERROR || r->header_only) {
        return rc;
    }

    out[0].buf = head;
    out[0].next = &out[1];
    out[1].buf = tail;
    out[1].next = NULL;

    return dh_http_output_filter(r, out);
}


dh_int_t
dh_http_send_response(dh_http_request_t *r, dh_uint_t status, dh_str_t *text)
{
    dh_int_t         rc;
    dh_buf_t        *b;
    dh_chain_t       out;
    dh_table_elt_t  *h;

    if (dh_http_is_redirect(status)) {
        if (text->len) {
            h = dh_http_add_header_out(r, "Location", sizeof("Location") - 1,
                                       text->data, text->len);
            if (h == NULL) {
                return DH_ERROR;
            }

            r->headers_out.location = h;
        }

        return status;
    }

    if (text->len == 0) {
        return status;
    }

    rc = dh_http_discard_request_body(r);
    if (rc != DH_OK) {
        return rc;
    }

    if (!r->keepalive && !r->discarding) {
        dh_http_give_up_body(r);
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = text->len;
    dh_http_set_content_type(r);

    rc = dh_http_send_header(r);

    if (rc == DH_ERROR || r->header_only) {
        return rc;
    }

    b = dh_calloc_buf(r->pool);
    if (b == NULL) {
        return DH_ERROR;
    }

    b->memory = 1;
    b->last_buf = 1;
    b->pos = text->data;
    b->last = text->data + text->len;

    out.buf = b;
    out.next = NULL;

    return dh_http_output_filter(r, &out);
}

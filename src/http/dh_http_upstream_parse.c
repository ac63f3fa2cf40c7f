/*
 * Upstream response heads: the status line parser, and the checks of the
 * parsed header fields that decide the body framing.  Header lines are
 * parsed by dh_http_parse_header_line(), the request parser, so both
 * directions follow the same strict field grammar.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"
#include "dh_http_upstream_int.h"


dh_int_t
dh_http_upstream_parse_status_line(dh_http_status_t *st, dh_buf_t *b)
{
    u_char  ch, *p;
    enum {
        sw_start = 0,
        sw_H,
        sw_HT,
        sw_HTT,
        sw_HTTP,
        sw_major,
        sw_dot,
        sw_minor,
        sw_space_before_status,
        sw_status,
        sw_space_after_status,
        sw_reason,
        sw_almost_done
    } state;

    state = st->state;

    for (p = b->pos; p < b->last; p++) {
        ch = *p;

        switch (state) {

        case sw_start:
            if (ch != 'H') {
                return DH_ERROR;
            }
            state = sw_H;
            break;

        case sw_H:
            if (ch != 'T') {
                return DH_ERROR;
            }
            state = sw_HT;
            break;

        case sw_HT:
            if (ch != 'T') {
                return DH_ERROR;
            }
            state = sw_HTT;
            break;

        case sw_HTT:
            if (ch != 'P') {
                return DH_ERROR;
            }
            state = sw_HTTP;
            break;

        case sw_HTTP:
            if (ch != '/') {
                return DH_ERROR;
            }
            state = sw_major;
            break;

        case sw_major:
            /* only HTTP/1.x talks this framing */
            if (ch != '1') {
                return DH_ERROR;
            }
            state = sw_dot;
            break;

        case sw_dot:
            if (ch != '.') {
                return DH_ERROR;
            }
            state = sw_minor;
            break;

        case sw_minor:
            if (ch < '0' || ch > '9') {
                return DH_ERROR;
            }
            st->http_version = (ch == '0') ? DH_HTTP_VERSION_10
                                           : DH_HTTP_VERSION_11;
            state = sw_space_before_status;
            break;

        case sw_space_before_status:
            if (ch != ' ') {
                return DH_ERROR;
            }
            st->status = 0;
            state = sw_status;
            break;

        case sw_status:
            if (ch < '0' || ch > '9') {
                return DH_ERROR;
            }

            if (st->status == 0) {
                if (ch == '0') {
                    return DH_ERROR;
                }
                st->status_start = p;
            }

            st->status = st->status * 10 + (ch - '0');

            if (st->status >= 100) {
                state = sw_space_after_status;
            }
            break;

        case sw_space_after_status:
            /* the reason phrase may be missing altogether */
            if (ch == ' ') {
                state = sw_reason;
                break;
            }

            if (ch == CR) {
                st->status_end = p;
                state = sw_almost_done;
                break;
            }

            return DH_ERROR;

        case sw_reason:
            if (ch == CR) {
                st->status_end = p;
                state = sw_almost_done;
                break;
            }

            /* HTAB, SP, VCHAR, obs-text */
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                return DH_ERROR;
            }
            break;

        case sw_almost_done:
            if (ch != LF) {
                return DH_ERROR;
            }

            b->pos = p + 1;
            st->state = sw_start;

            return DH_OK;
        }
    }

    b->pos = p;
    st->state = state;

    return DH_AGAIN;
}


static dh_uint_t
dh_http_upstream_has_token(dh_str_t *value, const char *token)
{
    size_t   len;
    u_char  *p, *last, *start;

    len = dh_strlen(token);
    p = value->data;
    last = value->data + value->len;

    /* a comma-separated list of tokens, case-insensitive */
    while (p < last) {
        while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        start = p;

        while (p < last && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }

        if ((size_t) (p - start) == len
            && dh_strncasecmp(start, (u_char *) token, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


dh_int_t
dh_http_upstream_process_headers(dh_http_upstream_headers_in_t *h)
{
    off_t             n;
    dh_str_t         *v;
    dh_uint_t         i;
    dh_table_elt_t   *e;
    dh_list_part_t   *part;

    h->content_length_n = -1;

    part = &h->headers.part;
    e = part->elts;

    for (i = 0; /* void */; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            e = part->elts;
            i = 0;
        }

        v = &e[i].value;

        if (e[i].key.len == 14
            && dh_strncasecmp(e[i].lowcase_key, (u_char *) "content-length",
                              14) == 0)
        {
            n = dh_atoof(v->data, v->len);

            /* a second, different Content-Length is a smuggling attempt
             * or a broken backend: neither is safe to relay */
            if (n < 0 || (h->content_length && n != h->content_length_n)) {
                return DH_ERROR;
            }

            h->content_length = &e[i];
            h->content_length_n = n;

        } else if (e[i].key.len == 17
                   && dh_strncasecmp(e[i].lowcase_key,
                                     (u_char *) "transfer-encoding", 17) == 0)
        {
            if (h->transfer_encoding) {
                return DH_ERROR;
            }

            h->transfer_encoding = &e[i];

            /* chunked must be the last coding; anything else we cannot
             * frame */
            if (v->len < 7
                || dh_strncasecmp(v->data + v->len - 7,
                                  (u_char *) "chunked", 7) != 0)
            {
                return DH_ERROR;
            }

            h->chunked = 1;

        } else if (e[i].key.len == 10
                   && dh_strncasecmp(e[i].lowcase_key,
                                     (u_char *) "connection", 10) == 0)
        {
            h->connection = &e[i];

            if (dh_http_upstream_has_token(v, "close")) {
                h->connection_close = 1;
            }

            if (dh_http_upstream_has_token(v, "upgrade")) {
                h->connection_upgrade = 1;
            }

        } else if (e[i].key.len == 12
                   && dh_strncasecmp(e[i].lowcase_key,
                                     (u_char *) "content-type", 12) == 0)
        {
            h->content_type = &e[i];

        } else if (e[i].key.len == 8
                   && dh_strncasecmp(e[i].lowcase_key,
                                     (u_char *) "location", 8) == 0)
        {
            h->location = &e[i];

        } else if (e[i].key.len == 7
                   && dh_strncasecmp(e[i].lowcase_key,
                                     (u_char *) "upgrade", 7) == 0)
        {
            h->upgrade = &e[i];
        }
    }

    /* RFC 9112 6.3: Transfer-Encoding overrides Content-Length, and a
     * message with both is to be closed after; we drop the length */
    if (h->chunked && h->content_length) {
        h->content_length = NULL;
        h->content_length_n = -1;
        h->connection_close = 1;
    }

    if (h->http_version == DH_HTTP_VERSION_10 && h->chunked) {
        return DH_ERROR;
    }

    return DH_OK;
}

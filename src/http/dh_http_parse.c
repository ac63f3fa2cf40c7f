/*
 * HTTP/1.x parsers: request line, header lines, chunked bodies, and URI
 * normalisation.
 *
 * Each parser walks [b->pos, b->last) one byte at a time through a switch
 * on a state saved in the request (or the chunked context), records
 * pointers into the buffer instead of copying, and returns DH_AGAIN with
 * b->pos at the end when input runs out: the next call continues with the
 * next byte, whatever the TCP segmentation was.
 *
 * Strictness (request smuggling defence): lines end in CRLF; a bare LF or
 * a CR not followed by LF is an error, as are NUL and other control bytes,
 * white space before a header colon, obs-fold (a line starting with white
 * space), and anything but the HTTP-version grammar "HTTP/" DIGIT "."
 * DIGIT.  Of the well-formed versions only 1.0 and 1.1 are served (505).
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


/* RFC 9110 token characters */
static const uint32_t  dh_http_tchar[] = {
    0x00000000,   /* 0x00-0x1f: none */
    0x03ff6cfa,   /* !#$%&'*+-.0-9 */
    0xc7fffffe,   /* A-Z ^ _ */
    0x57ffffff,   /* ` a-z | ~ */
    0, 0, 0, 0
};

#define dh_http_is_tchar(c)                                                   \
    (dh_http_tchar[(c) >> 5] & (1U << ((c) & 0x1f)))

/* visible ASCII, the only bytes a request target may hold */
#define dh_http_is_vchar(c)      ((c) > 0x20 && (c) < 0x7f)

/* field-value octets besides SP/HTAB: VCHAR and obs-text */
#define dh_http_is_field_char(c) ((c) > 0x20 && (c) != 0x7f)

static dh_int_t dh_http_hex(u_char c);


dh_uint_t
dh_http_method_id(u_char *m, size_t len)
{
    /* length first, then one fixed-size compare the compiler turns into
     * a word compare */
    switch (len) {

    case 3:
        if (dh_memcmp(m, "GET", 3) == 0) {
            return DH_HTTP_GET;
        }
        if (dh_memcmp(m, "PUT", 3) == 0) {
            return DH_HTTP_PUT;
        }
        break;

    case 4:
        if (dh_memcmp(m, "POST", 4) == 0) {
            return DH_HTTP_POST;
        }
        if (dh_memcmp(m, "HEAD", 4) == 0) {
            return DH_HTTP_HEAD;
        }
        break;

    case 5:
        if (dh_memcmp(m, "PATCH", 5) == 0) {
            return DH_HTTP_PATCH;
        }
        if (dh_memcmp(m, "TRACE", 5) == 0) {
            return DH_HTTP_TRACE;
        }
        break;

    case 6:
        if (dh_memcmp(m, "DELETE", 6) == 0) {
            return DH_HTTP_DELETE;
        }
        break;

    case 7:
        if (dh_memcmp(m, "OPTIONS", 7) == 0) {
            return DH_HTTP_OPTIONS;
        }
        if (dh_memcmp(m, "CONNECT", 7) == 0) {
            return DH_HTTP_CONNECT;
        }
        break;
    }

    return DH_HTTP_UNKNOWN;
}


dh_int_t
dh_http_parse_request_line(dh_http_request_t *r, dh_buf_t *b)
{
    u_char  c, ch, *p;
    enum {
        sw_start = 0,
        sw_start_lf,
        sw_method,
        sw_target,
        sw_schema,
        sw_schema_slash,
        sw_schema_slash_slash,
        sw_host_start,
        sw_host,
        sw_host_ip_literal,
        sw_port,
        sw_after_slash,
        sw_path,
        sw_args,
        sw_authority,
        sw_http_H,
        sw_http_HT,
        sw_http_HTT,
        sw_http_HTTP,
        sw_http_slash,
        sw_major,
        sw_dot,
        sw_minor,
        sw_cr,
        sw_lf
    } state;

    state = r->state;

    for (p = b->pos; p < b->last; p++) {
        ch = *p;

        switch (state) {

        /* RFC 9112 2.2: empty lines before a request line are ignored */
        case sw_start:
            if (ch == CR) {
                state = sw_start_lf;
                break;
            }

            if (!dh_http_is_tchar(ch)) {
                return DH_HTTP_BAD_REQUEST;
            }

            r->request_start = p;
            state = sw_method;
            break;

        case sw_start_lf:
            if (ch != LF) {
                return DH_HTTP_BAD_REQUEST;
            }
            state = sw_start;
            break;

        case sw_method:
            if (ch == ' ') {
                r->method_end = p;
                r->method = dh_http_method_id(r->request_start,
                                              p - r->request_start);
                state = sw_target;
                break;
            }

            if (!dh_http_is_tchar(ch)) {
                return DH_HTTP_BAD_REQUEST;
            }
            break;

        case sw_target:
            if (r->method == DH_HTTP_CONNECT) {
                /* authority-form; answered 405, only framed here */
                if (!dh_http_is_vchar(ch)) {
                    return DH_HTTP_BAD_REQUEST;
                }
                r->uri_start = p;
                state = sw_authority;
                break;
            }

            if (ch == '/') {
                r->uri_start = p;
                state = sw_after_slash;
                break;
            }

            c = (u_char) (ch | 0x20);
            if (c >= 'a' && c <= 'z') {
                r->schema_start = p;
                state = sw_schema;
                break;
            }

            /* asterisk-form and anything else are refused */
            return DH_HTTP_BAD_REQUEST;

        case sw_schema:
            c = (u_char) (ch | 0x20);
            if ((c >= 'a' && c <= 'z') || (ch >= '0' && ch <= '9')
                || ch == '+' || ch == '-' || ch == '.')
            {
                break;
            }

            if (ch == ':') {
                r->schema_end = p;
                state = sw_schema_slash;
                break;
            }

            return DH_HTTP_BAD_REQUEST;

        case sw_schema_slash:
            if (ch != '/') {
                return DH_HTTP_BAD_REQUEST;
            }
            state = sw_schema_slash_slash;
            break;

        case sw_schema_slash_slash:
            if (ch != '/') {
                return DH_HTTP_BAD_REQUEST;
            }
            state = sw_host_start;
            break;

        case sw_host_start:
            r->host_start = p;

            if (ch == '[') {
                state = sw_host_ip_literal;
                break;
            }

            state = sw_host;

            /* fall through */

        case sw_host:
            c = (u_char) (ch | 0x20);
            if ((c >= 'a' && c <= 'z') || (ch >= '0' && ch <= '9')
                || ch == '.' || ch == '-' || ch == '_' || ch == '~')
            {
                break;
            }

            if (p == r->host_start) {
                return DH_HTTP_BAD_REQUEST;
            }

            r->host_end = p;

            switch (ch) {
            case ':':
                state = sw_port;
                break;
            case '/':
                r->uri_start = p;
                state = sw_after_slash;
                break;
            case '?':
                r->uri_start = p;
                r->args_start = p + 1;
                r->empty_path_in_uri = 1;
                state = sw_args;
                break;
            case ' ':
                r->uri_start = p;
                r->uri_end = p;
                r->empty_path_in_uri = 1;
                state = sw_http_H;
                break;
            default:
                return DH_HTTP_BAD_REQUEST;
            }
            break;

        case sw_host_ip_literal:
            c = (u_char) (ch | 0x20);
            if ((c >= 'a' && c <= 'f') || (ch >= '0' && ch <= '9')
                || ch == ':' || ch == '.')
            {
                break;
            }

            if (ch == ']') {
                state = sw_host;
                r->host_end = p + 1;
                /* what follows is ':' '/' '?' or ' ', checked in sw_host
                 * with host_start != p */
                break;
            }

            return DH_HTTP_BAD_REQUEST;

        case sw_port:
            if (ch >= '0' && ch <= '9') {
                break;
            }

            r->port_end = p;

            switch (ch) {
            case '/':
                r->uri_start = p;
                state = sw_after_slash;
                break;
            case '?':
                r->uri_start = p;
                r->args_start = p + 1;
                r->empty_path_in_uri = 1;
                state = sw_args;
                break;
            case ' ':
                r->uri_start = p;
                r->uri_end = p;
                r->empty_path_in_uri = 1;
                state = sw_http_H;
                break;
            default:
                return DH_HTTP_BAD_REQUEST;
            }
            break;

        /* a segment start: "//", "/." and "/.." need normalising */
        case sw_after_slash:
            switch (ch) {
            case '/':
            case '.':
                r->complex_uri = 1;
                state = sw_path;
                break;
            case '%':
                r->quoted_uri = 1;
                state = sw_path;
                break;
            case '?':
                r->args_start = p + 1;
                state = sw_args;
                break;
            case ' ':
                r->uri_end = p;
                state = sw_http_H;
                break;
            case '#':
                return DH_HTTP_BAD_REQUEST;
            default:
                if (!dh_http_is_vchar(ch)) {
                    return DH_HTTP_BAD_REQUEST;
                }
                state = sw_path;
                break;
            }

            r->uri_ext = NULL;
            break;

        case sw_path:
            switch (ch) {
            case '/':
                r->uri_ext = NULL;
                state = sw_after_slash;
                break;
            case '.':
                r->uri_ext = p + 1;
                break;
            case '%':
                r->quoted_uri = 1;
                break;
            case '?':
                r->args_start = p + 1;
                state = sw_args;
                break;
            case ' ':
                r->uri_end = p;
                state = sw_http_H;
                break;
            case '#':
                return DH_HTTP_BAD_REQUEST;
            default:
                if (!dh_http_is_vchar(ch)) {
                    return DH_HTTP_BAD_REQUEST;
                }
                break;
            }
            break;

        case sw_args:
        case sw_authority:
            if (ch == ' ') {
                r->uri_end = p;
                state = sw_http_H;
                break;
            }

            if (!dh_http_is_vchar(ch) || ch == '#') {
                return DH_HTTP_BAD_REQUEST;
            }
            break;

        case sw_http_H:
            r->protocol_start = p;
            if (ch != 'H') {
                return DH_HTTP_BAD_REQUEST;
            }
            state = sw_http_HT;
            break;

        case sw_http_HT:
            if (ch != 'T') {
                return DH_HTTP_BAD_REQUEST;
            }
            state = sw_http_HTT;
            break;

        case sw_http_HTT:
            if (ch != 'T') {
                return DH_HTTP_BAD_REQUEST;
            }
            state = sw_http_HTTP;
            break;

        case sw_http_HTTP:
            if (ch != 'P') {
                return DH_HTTP_BAD_REQUEST;
            }
            state = sw_http_slash;
            break;

        case sw_http_slash:
            if (ch != '/') {
                return DH_HTTP_BAD_REQUEST;
            }
            state = sw_major;
            break;

        case sw_major:
            if (ch < '0' || ch > '9') {
                return DH_HTTP_BAD_REQUEST;
            }
            r->http_major = ch - '0';
            state = sw_dot;
            break;

        case sw_dot:
            if (ch != '.') {
                return DH_HTTP_BAD_REQUEST;
            }
            state = sw_minor;
            break;

        case sw_minor:
            if (ch < '0' || ch > '9') {
                return DH_HTTP_BAD_REQUEST;
            }
            r->http_minor = ch - '0';
            state = sw_cr;
            break;

        case sw_cr:
            if (ch != CR) {
                return DH_HTTP_BAD_REQUEST;
            }
            r->request_end = p;
            state = sw_lf;
            break;

        case sw_lf:
            if (ch != LF) {
                return DH_HTTP_BAD_REQUEST;
            }
            goto done;
        }
    }

    b->pos = p;
    r->state = state;

    return DH_AGAIN;

done:

    b->pos = p + 1;
    r->state = sw_start;

    if (r->http_major != 1 || r->http_minor > 1) {
        return DH_HTTP_VERSION_NOT_SUPPORTED;
    }

    r->http_version = r->http_major * 1000 + r->http_minor;

    return DH_OK;
}


dh_int_t
dh_http_parse_header_line(dh_http_request_t *r, dh_buf_t *b)
{
    u_char     c, ch, *p;
    dh_uint_t  hash, i;
    enum {
        sw_start = 0,
        sw_name,
        sw_space_before_value,
        sw_value,
        sw_space_after_value,
        sw_almost_done,
        sw_header_almost_done
    } state;

    state = r->state;
    hash = r->header_hash;
    i = r->lowcase_index;

    for (p = b->pos; p < b->last; p++) {
        ch = *p;

        switch (state) {

        case sw_start:
            if (ch == CR) {
                r->header_end = p;
                state = sw_header_almost_done;
                break;
            }

            /* a leading SP/HTAB is obs-fold (or junk after the request
             * line); ':' is an empty name; LF is a bare line end */
            if (!dh_http_is_tchar(ch)) {
                return DH_HTTP_BAD_REQUEST;
            }

            r->header_name_start = p;
            r->header_start = NULL;
            r->header_end = NULL;

            c = dh_tolower(ch);
            hash = dh_hash(0, c);
            r->lowcase_header[0] = c;
            i = 1;
            state = sw_name;
            break;

        case sw_name:
            if (dh_http_is_tchar(ch)) {
                c = dh_tolower(ch);
                hash = dh_hash(hash, c);
                if (i < DH_HTTP_LC_HEADER_LEN) {
                    r->lowcase_header[i] = c;
                }
                i++;
                break;
            }

            if (ch == ':') {
                r->header_name_end = p;
                state = sw_space_before_value;
                break;
            }

            /* white space before the colon, CR/LF without a colon, or a
             * byte that cannot be in a field name */
            return DH_HTTP_BAD_REQUEST;

        case sw_space_before_value:
            if (ch == ' ' || ch == '\t') {
                break;
            }

            if (ch == CR) {
                r->header_start = p;
                r->header_end = p;
                state = sw_almost_done;
                break;
            }

            if (!dh_http_is_field_char(ch)) {
                return DH_HTTP_BAD_REQUEST;
            }

            r->header_start = p;
            state = sw_value;
            break;

        case sw_value:
            if (ch == ' ' || ch == '\t') {
                r->header_end = p;
                state = sw_space_after_value;
                break;
            }

            if (ch == CR) {
                r->header_end = p;
                state = sw_almost_done;
                break;
            }

            if (!dh_http_is_field_char(ch)) {
                return DH_HTTP_BAD_REQUEST;
            }
            break;

        case sw_space_after_value:
            if (ch == ' ' || ch == '\t') {
                break;
            }

            if (ch == CR) {
                state = sw_almost_done;
                break;
            }

            if (!dh_http_is_field_char(ch)) {
                return DH_HTTP_BAD_REQUEST;
            }

            state = sw_value;
            break;

        case sw_almost_done:
            if (ch != LF) {
                return DH_HTTP_BAD_REQUEST;
            }
            goto done;

        case sw_header_almost_done:
            if (ch != LF) {
                return DH_HTTP_BAD_REQUEST;
            }
            goto header_done;
        }
    }

    b->pos = p;
    r->state = state;
    r->header_hash = hash;
    r->lowcase_index = i;

    return DH_AGAIN;

done:

    b->pos = p + 1;
    r->state = sw_start;
    r->header_hash = hash;
    r->lowcase_index = i;

    return DH_OK;

header_done:

    b->pos = p + 1;
    r->state = sw_start;

    return DH_HTTP_PARSE_HEADER_DONE;
}


static dh_int_t
dh_http_hex(u_char c)
{
    u_char  l;

    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    l = (u_char) (c | 0x20);
    if (l >= 'a' && l <= 'f') {
        return l - 'a' + 10;
    }

    return -1;
}


/* size + n, saturated: a chunk size near the off_t limit is legal */
static off_t
dh_http_chunked_plus(off_t size, off_t n)
{
    return (size > DH_MAX_OFF_T_VALUE - n) ? size : size + n;
}


/* the lower bound of what the message still needs in a state */
static off_t
dh_http_chunked_min_length(dh_http_chunked_t *ctx)
{
    /* these numbers follow the state order of dh_http_parse_chunked():
     * 5 is "0" CRLF CRLF, 2 a CRLF */
    switch (ctx->state) {
    case 0:                                         /* chunk start */
        return 5;
    case 1:                                         /* size */
    case 2:                                         /* ws before ';' */
    case 3:                                         /* extension */
        return ctx->size ? dh_http_chunked_plus(ctx->size, 9) : 4;
    case 4:                                         /* LF after size */
        return ctx->size ? dh_http_chunked_plus(ctx->size, 8) : 3;
    case 5:                                         /* data */
        return dh_http_chunked_plus(ctx->size, 7);
    case 6:                                         /* CR after data */
        return 2 + 5;
    case 7:                                         /* LF after data */
        return 1 + 5;
    case 8:                                         /* trailer start */
        return 2;
    case 9:                                         /* trailer name */
    case 10:                                        /* trailer value */
        return 4;
    case 11:                                        /* LF of a trailer */
        return 3;
    default:                                        /* last LF */
        return 1;
    }
}


dh_int_t
dh_http_parse_chunked(dh_http_chunked_t *ctx, dh_buf_t *b)
{
    u_char    ch, *p;
    dh_int_t  d;
    enum {
        sw_chunk_start = 0,
        sw_chunk_size,
        sw_chunk_size_ws,
        sw_chunk_ext,
        sw_chunk_size_lf,
        sw_chunk_data,
        sw_chunk_data_cr,
        sw_chunk_data_lf,
        sw_trailer_start,
        sw_trailer_name,
        sw_trailer_value,
        sw_trailer_lf,
        sw_last_lf
    } state;

    state = ctx->state;

    for (p = b->pos; p < b->last; p++) {

        if (state == sw_chunk_data) {
            if (ctx->size > 0) {
                b->pos = p;
                ctx->state = state;
                ctx->length = dh_http_chunked_min_length(ctx);
                return DH_OK;
            }

            state = sw_chunk_data_cr;
        }

        ch = *p;

        switch (state) {

        case sw_chunk_start:
            d = dh_http_hex(ch);
            if (d < 0) {
                return DH_ERROR;
            }
            ctx->size = d;
            ctx->line = 1;
            state = sw_chunk_size;
            break;

        case sw_chunk_size:
            if (++ctx->line > DH_HTTP_CHUNK_LINE_MAX) {
                return DH_ERROR;
            }

            d = dh_http_hex(ch);
            if (d >= 0) {
                if (ctx->size > (DH_MAX_OFF_T_VALUE - 15) / 16) {
                    return DH_ERROR;
                }
                ctx->size = ctx->size * 16 + d;
                break;
            }

            switch (ch) {
            case ';':
                state = sw_chunk_ext;
                break;
            case ' ':
            case '\t':
                state = sw_chunk_size_ws;
                break;
            case CR:
                state = sw_chunk_size_lf;
                break;
            default:
                return DH_ERROR;
            }
            break;

        /* BWS is allowed only before a chunk extension */
        case sw_chunk_size_ws:
            if (++ctx->line > DH_HTTP_CHUNK_LINE_MAX) {
                return DH_ERROR;
            }

            if (ch == ' ' || ch == '\t') {
                break;
            }

            if (ch != ';') {
                return DH_ERROR;
            }

            state = sw_chunk_ext;
            break;

        /* extensions are ignored but must be made of field bytes */
        case sw_chunk_ext:
            if (++ctx->line > DH_HTTP_CHUNK_LINE_MAX) {
                return DH_ERROR;
            }

            if (ch == CR) {
                state = sw_chunk_size_lf;
                break;
            }

            if (ch != ' ' && ch != '\t' && !dh_http_is_field_char(ch)) {
                return DH_ERROR;
            }
            break;

        case sw_chunk_size_lf:
            if (ch != LF) {
                return DH_ERROR;
            }

            if (ctx->size == 0) {
                ctx->trailers = 0;
                state = sw_trailer_start;
                break;
            }

            state = sw_chunk_data;
            break;

        case sw_chunk_data:
            /* handled before the switch */
            break;

        case sw_chunk_data_cr:
            if (ch != CR) {
                return DH_ERROR;
            }
            state = sw_chunk_data_lf;
            break;

        case sw_chunk_data_lf:
            if (ch != LF) {
                return DH_ERROR;
            }
            state = sw_chunk_start;
            break;

        case sw_trailer_start:
            if (++ctx->trailers > DH_HTTP_CHUNK_TRAILER_MAX) {
                return DH_ERROR;
            }

            if (ctx->trailer) {
                ctx->trailer[ctx->trailers - 1] = ch;
            }

            if (ch == CR) {
                state = sw_last_lf;
                break;
            }

            if (!dh_http_is_tchar(ch)) {
                return DH_ERROR;
            }

            state = sw_trailer_name;
            break;

        case sw_trailer_name:
            if (++ctx->trailers > DH_HTTP_CHUNK_TRAILER_MAX) {
                return DH_ERROR;
            }

            if (ctx->trailer) {
                ctx->trailer[ctx->trailers - 1] = ch;
            }

            if (ch == ':') {
                state = sw_trailer_value;
                break;
            }

            if (!dh_http_is_tchar(ch)) {
                return DH_ERROR;
            }
            break;

        case sw_trailer_value:
            if (++ctx->trailers > DH_HTTP_CHUNK_TRAILER_MAX) {
                return DH_ERROR;
            }

            if (ctx->trailer) {
                ctx->trailer[ctx->trailers - 1] = ch;
            }

            if (ch == CR) {
                state = sw_trailer_lf;
                break;
            }

            if (ch != ' ' && ch != '\t' && !dh_http_is_field_char(ch)) {
                return DH_ERROR;
            }
            break;

        case sw_trailer_lf:
            if (ch != LF) {
                return DH_ERROR;
            }
            state = sw_trailer_start;
            break;

        case sw_last_lf:
            if (ch != LF) {
                return DH_ERROR;
            }

            b->pos = p + 1;
            ctx->state = sw_chunk_start;
            ctx->size = 0;
            ctx->length = 0;
            return DH_DONE;
        }
    }

    b->pos = p;
    ctx->state = state;
    ctx->length = dh_http_chunked_min_length(ctx);

    return DH_AGAIN;
}


dh_int_t
dh_http_normalize_uri(u_char *src, size_t len, u_char *dst, size_t *dst_len)
{
    u_char     ch, *u, *seg, *end, *p;
    dh_int_t   hi, lo;
    dh_uint_t  at_end;

    if (len == 0 || src[0] != '/') {
        return DH_HTTP_BAD_REQUEST;
    }

    end = src + len;
    src++;

    u = dst;
    *u++ = '/';
    seg = u;            /* start of the segment being copied */

    for ( ;; ) {
        at_end = (src == end);

        if (!at_end) {
            ch = *src++;

            if (ch == '%') {
                if (end - src < 2) {
                    return DH_HTTP_BAD_REQUEST;
                }

                hi = dh_http_hex(src[0]);
                lo = dh_http_hex(src[1]);

                if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                    return DH_HTTP_BAD_REQUEST;
                }

                ch = (u_char) (hi * 16 + lo);
                src += 2;
            }

            /* a decoded %2F separates segments like '/' does, so
             * "..%2F" cannot hide a parent reference */
            if (ch != '/') {
                *u++ = ch;
                continue;
            }
        }

        /* the segment [seg, u) ended, at a '/' or at the end */

        if (u - seg == 1 && seg[0] == '.') {
            u = seg;

        } else if (u - seg == 2 && seg[0] == '.' && seg[1] == '.') {
            if (seg - 1 == dst) {
                return DH_HTTP_BAD_REQUEST;     /* above the root */
            }

            /* seg[-1] is the '/' that ended the previous segment */
            for (p = seg - 2; *p != '/'; p--) { /* void */ }
            u = p + 1;

        } else if (!at_end && u != seg) {
            *u++ = '/';                         /* "//" keeps one */
        }

        if (at_end) {
            break;
        }

        seg = u;
    }

    *dst_len = u - dst;

    return DH_OK;
}

/*
 * The HTTP parsers fed whole, byte by byte and split at every position:
 * a resumable parser must give the same result whatever the segmentation.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"

#include "t/unit/dh_tap.h"


#define SCHED_WHOLE  0
#define SCHED_BYTES  1
#define SCHED_SPLIT  2

static dh_http_request_t  req;


/* a printable copy of a test input for TAP descriptions */
static const char *
show(const char *raw)
{
    static char   buf[4][128];
    static int    n;
    char         *d, *e;

    d = buf[n++ & 3];
    e = d + 60;

    for (; *raw && d < e; raw++) {
        if (*raw == '\r') {
            *d++ = '\\'; *d++ = 'r';
        } else if (*raw == '\n') {
            *d++ = '\\'; *d++ = 'n';
        } else if ((unsigned char) *raw < 0x20 || (unsigned char) *raw > 0x7e) {
            d += sprintf(d, "\\x%02x", (unsigned char) *raw);
        } else {
            *d++ = *raw;
        }
    }

    *d = '\0';

    return buf[(n - 1) & 3];
}


static size_t
next_avail(size_t avail, size_t len, int sched, size_t split)
{
    switch (sched) {
    case SCHED_BYTES:
        return avail + 1;
    case SCHED_SPLIT:
        return avail < split ? split : len;
    default:
        return len;
    }
}


static void
append(char *out, size_t size, const char *fmt, ...)
{
    va_list  ap;
    size_t   n;

    n = strlen(out);
    va_start(ap, fmt);
    vsnprintf(out + n, size - n, fmt, ap);
    va_end(ap);
}


/*
 * Parses a request head and describes it as a string: the method, the
 * target pieces as offsets and text, the version, every header (checking
 * that the hash and lower-cased name computed on the fly are right), and
 * the offset where parsing stopped.  Errors give "E<status>".
 */
static void
parse_head(const char *raw, size_t len, int sched, size_t split, char *out,
    size_t size)
{
    u_char             data[4096];
    dh_buf_t           b;
    dh_int_t           rc;
    dh_uint_t          hash, i, phase;
    size_t             avail, nlen;
    dh_http_request_t *r;
    u_char             lc[256];

    r = &req;
    memset(r, 0, sizeof(*r));
    memcpy(data, raw, len);
    out[0] = '\0';

    avail = (sched == SCHED_WHOLE) ? len : next_avail(0, len, sched, split);
    if (avail > len) {
        avail = len;
    }

    memset(&b, 0, sizeof(b));
    b.start = data;
    b.pos = data;
    b.last = data + avail;
    b.end = data + sizeof(data);

    phase = 0;

    for ( ;; ) {
        rc = phase ? dh_http_parse_header_line(r, &b)
                   : dh_http_parse_request_line(r, &b);

        if (rc == DH_AGAIN) {
            if (b.pos != b.last) {
                append(out, size, "BADPOS");
                return;
            }
            if (avail == len) {
                append(out, size, " INCOMPLETE");
                return;
            }
            avail = next_avail(avail, len, sched, split);
            if (avail > len) {
                avail = len;
            }
            b.last = data + avail;
            continue;
        }

        if (phase == 0) {
            if (rc != DH_OK) {
                append(out, size, "E%d", (int) rc);
                return;
            }

            append(out, size, "M=%.*s(%lx) T=%.*s V=%lu",
                   (int) (r->method_end - r->request_start),
                   r->request_start, (unsigned long) r->method,
                   (int) (r->uri_end - r->uri_start), r->uri_start,
                   (unsigned long) r->http_version);

            if (r->args_start) {
                append(out, size, " A=%.*s",
                       (int) (r->uri_end - r->args_start), r->args_start);
            }
            if (r->host_start) {
                append(out, size, " H=%.*s",
                       (int) (r->host_end - r->host_start), r->host_start);
            }
            if (r->uri_ext) {
                append(out, size, " X=%.*s",
                       (int) (r->uri_end - r->uri_ext), r->uri_ext);
            }
            if (r->complex_uri) {
                append(out, size, " C");
            }
            if (r->quoted_uri) {
                append(out, size, " Q");
            }
            if (r->empty_path_in_uri) {
                append(out, size, " EMPTY");
            }
            append(out, size, " L=%d",
                   (int) (r->request_end - r->request_start));

            phase = 1;
            continue;
        }

        if (rc == DH_OK) {
            nlen = r->header_name_end - r->header_name_start;
            hash = 0;
            for (i = 0; i < nlen; i++) {
                lc[i] = dh_tolower(r->header_name_start[i]);
                hash = dh_hash(hash, lc[i]);
            }

            if (hash != r->header_hash || r->lowcase_index != nlen
                || memcmp(lc, r->lowcase_header,
                          nlen < DH_HTTP_LC_HEADER_LEN
                          ? nlen : DH_HTTP_LC_HEADER_LEN) != 0)
            {
                append(out, size, " BADHASH");
            }

            append(out, size, " [%.*s=%.*s]", (int) nlen,
                   r->header_name_start,
                   (int) (r->header_end - r->header_start),
                   r->header_start);
            continue;
        }

        if (rc == DH_HTTP_PARSE_HEADER_DONE) {
            append(out, size, " END@%d", (int) (b.pos - data));
            return;
        }

        append(out, size, " E%d", (int) rc);
        return;
    }
}


static void
check_head(const char *raw, const char *want)
{
    char    whole[2048], got[2048];
    size_t  len, k;
    int     same;

    len = strlen(raw);

    parse_head(raw, len, SCHED_WHOLE, 0, whole, sizeof(whole));
    is_str(whole, want, "whole: %s", show(raw));

    parse_head(raw, len, SCHED_BYTES, 0, got, sizeof(got));
    is_str(got, want, "byte by byte: %s", show(raw));

    same = 1;
    for (k = 1; k < len; k++) {
        parse_head(raw, len, SCHED_SPLIT, k, got, sizeof(got));
        if (strcmp(got, want) != 0) {
            printf("# split at %lu: got '%s'\n", (unsigned long) k, got);
            same = 0;
            break;
        }
    }

    ok(same, "every split: %s", show(raw));
}


/* the error is the same whatever the segmentation (it may show after
 * some valid headers, so only the tail is compared) */
static void
check_head_error(const char *raw, int status)
{
    char    got[2048], want[16];
    size_t  len, k, wl, gl;
    int     good;

    len = strlen(raw);
    snprintf(want, sizeof(want), "E%d", status);
    wl = strlen(want);
    good = 1;

    for (k = 0; k <= len; k++) {
        parse_head(raw, len, k == 0 ? SCHED_BYTES : SCHED_SPLIT,
                   k, got, sizeof(got));
        gl = strlen(got);
        if (gl < wl || strcmp(got + gl - wl, want) != 0) {
            printf("# split %lu: got '%s'\n", (unsigned long) k, got);
            good = 0;
            break;
        }
    }

    ok(good, "%d for: %s", status, show(raw));
}


static void
test_request_heads(void)
{
    check_head("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
               "M=GET(2) T=/ V=1001 L=14 [Host=example.com] END@37");

    check_head("POST /a/b.html?x=1&y=%20 HTTP/1.0\r\n"
               "Content-Length:  5 \r\n"
               "X-Empty:\r\n"
               "User-Agent: curl/8.0 (x; y)\r\n\r\n",
               "M=POST(8) T=/a/b.html?x=1&y=%20 V=1000 A=x=1&y=%20 "
               "X=html?x=1&y=%20 L=33 [Content-Length=5] [X-Empty=] "
               "[User-Agent=curl/8.0 (x; y)] END@97");

    check_head("\r\n\r\nHEAD /x/./y//z/%2e%2e HTTP/1.1\r\nHOST:h\r\n\r\n",
               "M=HEAD(4) T=/x/./y//z/%2e%2e V=1001 C Q L=30 [HOST=h] END@46");

    check_head("GET http://Example.COM:8080/p?q HTTP/1.1\r\n\r\n",
               "M=GET(2) T=/p?q V=1001 A=q H=Example.COM L=40 END@44");

    check_head("GET http://[::1]:80 HTTP/1.1\r\n\r\n",
               "M=GET(2) T= V=1001 H=[::1] EMPTY L=28 END@32");

    check_head("PROPFIND /dav HTTP/1.1\r\n\r\n",
               "M=PROPFIND(1) T=/dav V=1001 L=22 END@26");

    check_head("OPTIONS /o HTTP/1.1\r\n"
               "A-Very-Long-Header-Name-Longer-Than-Thirty-Two: v\r\n\r\n",
               "M=OPTIONS(40) T=/o V=1001 L=19 "
               "[A-Very-Long-Header-Name-Longer-Than-Thirty-Two=v] END@74");

    check_head("GET /t HTTP/1.1\r\nX: a\tb  \t\r\nY: \x80\xff\r\n\r\n",
               "M=GET(2) T=/t V=1001 L=15 [X=a\tb] [Y=\x80\xff] END@37");

    check_head("DELETE /d HTTP/1.1\r\nHost: x\r\n",
               "M=DELETE(20) T=/d V=1001 L=18 [Host=x] INCOMPLETE");
}


static void
test_request_errors(void)
{
    /* request line */
    check_head_error("GET / HTTP/1.1\nHost: x\r\n\r\n", 400);   /* bare LF */
    check_head_error("GET / HTTP/1.1\rHost: x\r\n\r\n", 400);   /* bare CR */
    check_head_error("\nGET / HTTP/1.1\r\n\r\n", 400);
    check_head_error("GET  / HTTP/1.1\r\n\r\n", 400);
    check_head_error("GET / HTTP/1.1 \r\n\r\n", 400);
    check_head_error("GET /a b HTTP/1.1\r\n\r\n", 400);
    check_head_error("GET /\x01 HTTP/1.1\r\n\r\n", 400);
    check_head_error("GET /\x7f HTTP/1.1\r\n\r\n", 400);
    check_head_error("GET /\xc3\xa9 HTTP/1.1\r\n\r\n", 400);
    check_head_error("GET /a#frag HTTP/1.1\r\n\r\n", 400);
    check_head_error("GET * HTTP/1.1\r\n\r\n", 400);
    check_head_error("GET a HTTP/1.1\r\n\r\n", 400);
    check_head_error("G(T / HTTP/1.1\r\n\r\n", 400);
    check_head_error("GET / http/1.1\r\n\r\n", 400);
    check_head_error("GET / HTTP/1.10\r\n\r\n", 400);
    check_head_error("GET / HTTP/11\r\n\r\n", 400);
    check_head_error("GET /\r\n\r\n", 400);                     /* 0.9 */
    check_head_error("GET http://a@b/ HTTP/1.1\r\n\r\n", 400);
    check_head_error("GET / HTTP/2.0\r\n\r\n", 505);
    check_head_error("GET / HTTP/1.2\r\n\r\n", 505);
    check_head_error("GET / HTTP/0.9\r\n\r\n", 505);

    /* header lines */
    check_head_error("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);
    check_head_error("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", 400);
    check_head_error("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400);
    check_head_error("GET / HTTP/1.1\r\n\tX: y\r\n\r\n", 400);
    check_head_error("GET / HTTP/1.1\r\n: empty\r\n\r\n", 400);
    check_head_error("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400);
    check_head_error("GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", 400);
    check_head_error("GET / HTTP/1.1\r\nX: a\x1b b\r\n\r\n", 400);
    check_head_error("GET / HTTP/1.1\r\nX: a\nY: b\r\n\r\n", 400);
    check_head_error("GET / HTTP/1.1\r\nX: a\rY: b\r\n\r\n", 400);
    check_head_error("GET / HTTP/1.1\r\nX: a\r\n\n", 400);
    check_head_error("GET / HTTP/1.1\r\nX\x01Y: a\r\n\r\n", 400);
    check_head_error("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", 400);
}


/* ---- chunked ---- */

/* the message length of inputs that fail or stop early: unknown */
#define ANY  ((size_t) DH_MAX_OFF_T_VALUE)

/*
 * Decodes a chunked body with a schedule and describes the outcome: the
 * data, then DONE@offset, ERROR or INCOMPLETE.  It also checks the promise
 * behind ctx.length: never more than what the message still has.
 */
static void
parse_chunked(const char *raw, size_t len, size_t msg_len, int sched,
    size_t split, char *out, size_t size)
{
    u_char             data[8192];
    dh_buf_t           b;
    dh_int_t           rc;
    size_t             avail, n;
    dh_http_chunked_t  ctx;

    memset(&ctx, 0, sizeof(ctx));
    memcpy(data, raw, len);
    out[0] = '\0';

    avail = (sched == SCHED_WHOLE) ? len : next_avail(0, len, sched, split);
    if (avail > len) {
        avail = len;
    }

    memset(&b, 0, sizeof(b));
    b.start = data;
    b.pos = data;
    b.last = data + avail;
    b.end = data + sizeof(data);

    for ( ;; ) {
        rc = dh_http_parse_chunked(&ctx, &b);

        if (rc == DH_OK || rc == DH_AGAIN) {
            if (ctx.length < 1
                || (msg_len != ANY
                    && ctx.length > (off_t) (msg_len - (b.pos - data))))
            {
                append(out, size, "|OVERREAD");
                return;
            }
        }

        if (rc == DH_OK) {
            n = b.last - b.pos;
            if ((off_t) n > ctx.size) {
                n = (size_t) ctx.size;
            }
            append(out, size, "%.*s", (int) n, b.pos);
            b.pos += n;
            ctx.size -= n;
            if (n) {
                continue;
            }
            rc = DH_AGAIN;
        }

        if (rc == DH_AGAIN) {
            if (avail == len) {
                append(out, size, "|INCOMPLETE");
                return;
            }
            avail = next_avail(avail, len, sched, split);
            if (avail > len) {
                avail = len;
            }
            b.last = data + avail;
            continue;
        }

        if (rc == DH_DONE) {
            append(out, size, "|DONE@%d", (int) (b.pos - data));
            return;
        }

        append(out, size, "|ERROR");
        return;
    }
}


static void
check_chunked(const char *raw, size_t msg_len, const char *want)
{
    char    got[8192];
    size_t  len, k;
    int     good;

    len = strlen(raw);
    good = 1;

    parse_chunked(raw, len, msg_len, SCHED_WHOLE, 0, got, sizeof(got));
    is_str(got, want, "chunked whole: %s", show(raw));

    for (k = 0; k <= len; k++) {
        parse_chunked(raw, len, msg_len, k == 0 ? SCHED_BYTES : SCHED_SPLIT,
                      k, got, sizeof(got));
        if (strcmp(got, want) != 0) {
            printf("# split %lu: got '%s'\n", (unsigned long) k, got);
            good = 0;
            break;
        }
    }

    ok(good, "chunked every split: %s", show(raw));
}


/* The trailer section is copied, whole or fed a byte at a time. */
static void
test_chunked_trailer(void)
{
    static const char   raw[] =
        "3\r\nabc\r\n0\r\nX-Trailer:  1 \r\nY: 2\r\n\r\nGET";
    static const char   want[] = "X-Trailer:  1 \rY: 2\r\r";
    off_t               n;
    u_char              data[sizeof(raw)], keep[DH_HTTP_CHUNK_TRAILER_MAX];
    dh_buf_t            b;
    dh_int_t            rc;
    dh_uint_t           bytewise;
    dh_http_chunked_t   ctx;

    for (bytewise = 0; bytewise < 2; bytewise++) {
        memset(&ctx, 0, sizeof(ctx));
        memset(&b, 0, sizeof(b));
        memcpy(data, raw, sizeof(raw) - 1);
        ctx.trailer = keep;
        b.start = data;
        b.pos = data;
        b.last = bytewise ? data + 1 : data + sizeof(raw) - 1;
        b.end = data + sizeof(raw) - 1;

        for ( ;; ) {
            rc = dh_http_parse_chunked(&ctx, &b);

            if (rc == DH_OK && ctx.size && b.pos < b.last) {
                n = dh_min(ctx.size, (off_t) (b.last - b.pos));
                ctx.size -= n;
                b.pos += n;
                continue;
            }

            if ((rc == DH_OK || rc == DH_AGAIN) && b.last < b.end) {
                b.last++;
                continue;
            }

            break;
        }

        is_int(rc, DH_DONE, "trailer: done (%s)", bytewise ? "bytes" : "whole");
        is_int(b.pos - data, sizeof(raw) - 1 - 3, "trailer: stops before GET");
        is_int(ctx.trailers, sizeof(want) - 1, "trailer: length");
        ok(ctx.trailers == sizeof(want) - 1
           && memcmp(keep, want, sizeof(want) - 1) == 0,
           "trailer: bytes kept (%s)", bytewise ? "bytes" : "whole");
    }
}


static void
test_chunked(void)
{
    static char  big[6000];
    size_t       i;

    check_chunked("5\r\nhello\r\n0\r\n\r\n", 15, "hello|DONE@15");
    check_chunked("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET / HTTP/1.1",
                  26, "hello world|DONE@26");
    check_chunked("A\r\n0123456789\r\n0\r\n\r\n", 20, "0123456789|DONE@20");
    check_chunked("0000a\r\n0123456789\r\n0\r\n\r\n", 24,
                  "0123456789|DONE@24");
    check_chunked("3;name=value;x=\"q s\"\r\nabc\r\n0 ;last\r\n\r\n", 38,
                  "abc|DONE@38");
    check_chunked("3\r\nabc\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n", 33,
                  "abc|DONE@33");
    check_chunked("0\r\n\r\n", 5, "|DONE@5");
    check_chunked("5\r\nhel", 15, "hel|INCOMPLETE");

    check_chunked("\r\n0\r\n\r\n", 100, "|ERROR");
    check_chunked("x\r\n", 100, "|ERROR");
    check_chunked("5\nhello\r\n0\r\n\r\n", 100, "|ERROR");       /* bare LF */
    check_chunked("5\r\nhello\n0\r\n\r\n", 100, "hello|ERROR");
    check_chunked("5\r\nhelloX\r\n0\r\n\r\n", 100, "hello|ERROR");
    check_chunked("5 \r\nhello\r\n0\r\n\r\n", 100, "|ERROR");
    check_chunked("-5\r\nhello\r\n", 100, "|ERROR");
    check_chunked("0x5\r\nhello\r\n", 100, "|ERROR");
    check_chunked("5;a\x01\r\nhello\r\n", 100, "|ERROR");
    check_chunked("5;a\nhello\r\n", 100, "|ERROR");
    check_chunked("0\r\nX : 1\r\n\r\n", 100, "|ERROR");
    check_chunked("0\r\nX: 1\r\n folded\r\n\r\n", 100, "|ERROR");
    check_chunked("0\r\nX: 1\n\r\n", 100, "|ERROR");
    check_chunked("0\r\n\r\r", 100, "|ERROR");
    /* 2^63 and beyond overflow off_t */
    check_chunked("8000000000000000\r\n", ANY, "|ERROR");
    check_chunked("ffffffffffffffffff\r\n", ANY, "|ERROR");
    check_chunked("7fffffffffffffff\r\n", ANY,
                  "|INCOMPLETE");

    /* an oversized chunk extension */
    memcpy(big, "1;", 2);
    for (i = 2; i < sizeof(big) - 1; i++) {
        big[i] = 'e';
    }
    big[sizeof(big) - 1] = '\0';
    parse_chunked(big, strlen(big), 100000, SCHED_WHOLE, 0, (char *) big,
                  sizeof(big));
    is_str(big, "|ERROR", "chunk extension over %d bytes",
           DH_HTTP_CHUNK_LINE_MAX);
}


/* ---- URI normalisation ---- */

static void
check_uri(const char *in, const char *want)
{
    u_char    dst[512];
    size_t    len;
    dh_int_t  rc;
    char      got[512];

    rc = dh_http_normalize_uri((u_char *) in, strlen(in), dst, &len);

    if (rc == DH_OK) {
        snprintf(got, sizeof(got), "%.*s", (int) len, dst);
    } else {
        snprintf(got, sizeof(got), "E%d", (int) rc);
    }

    is_str(got, want, "normalise '%s'", in);
}


static void
test_uri(void)
{
    check_uri("/", "/");
    check_uri("/a/b", "/a/b");
    check_uri("/a/b/", "/a/b/");
    check_uri("//a///b//", "/a/b/");
    check_uri("/a/./b", "/a/b");
    check_uri("/a/.", "/a/");
    check_uri("/./", "/");
    check_uri("/.", "/");
    check_uri("/a/..", "/");
    check_uri("/a/../", "/");
    check_uri("/a/b/../../c", "/c");
    check_uri("/a/b/../c/./d", "/a/c/d");
    check_uri("/..a/b..", "/..a/b..");
    check_uri("/.../x", "/.../x");
    check_uri("/.hidden", "/.hidden");
    check_uri("/%41%62c", "/Abc");
    check_uri("/a%20b", "/a b");
    check_uri("/a%2fb", "/a/b");
    check_uri("/a/%2e%2e/b", "/b");
    check_uri("/a/%2E/b", "/a/b");
    check_uri("/a/.%2e", "/");
    check_uri("/a%3Fb", "/a?b");
    check_uri("/..", "E400");
    check_uri("/../a", "E400");
    check_uri("/a/../..", "E400");
    check_uri("/a/../../b", "E400");
    check_uri("/%2e%2e/etc/passwd", "E400");
    check_uri("/a/..%2f..%2fb", "E400");
    check_uri("/a//..//..", "E400");
    check_uri("/a%", "E400");
    check_uri("/a%4", "E400");
    check_uri("/a%zz", "E400");
    check_uri("/a%00b", "E400");
    check_uri("a", "E400");
}


static void
test_methods(void)
{
    is_int(dh_http_method_id((u_char *) "GET", 3), DH_HTTP_GET, "GET");
    is_int(dh_http_method_id((u_char *) "HEAD", 4), DH_HTTP_HEAD, "HEAD");
    is_int(dh_http_method_id((u_char *) "POST", 4), DH_HTTP_POST, "POST");
    is_int(dh_http_method_id((u_char *) "PUT", 3), DH_HTTP_PUT, "PUT");
    is_int(dh_http_method_id((u_char *) "DELETE", 6), DH_HTTP_DELETE,
           "DELETE");
    is_int(dh_http_method_id((u_char *) "OPTIONS", 7), DH_HTTP_OPTIONS,
           "OPTIONS");
    is_int(dh_http_method_id((u_char *) "PATCH", 5), DH_HTTP_PATCH, "PATCH");
    is_int(dh_http_method_id((u_char *) "TRACE", 5), DH_HTTP_TRACE, "TRACE");
    is_int(dh_http_method_id((u_char *) "CONNECT", 7), DH_HTTP_CONNECT,
           "CONNECT");
    is_int(dh_http_method_id((u_char *) "get", 3), DH_HTTP_UNKNOWN,
           "methods are case-sensitive");
    is_int(dh_http_method_id((u_char *) "GETS", 4), DH_HTTP_UNKNOWN, "GETS");
}


int
main(void)
{
    test_methods();
    test_request_heads();
    test_request_errors();
    test_chunked();
    test_chunked_trailer();
    test_uri();

    return done_testing();
}

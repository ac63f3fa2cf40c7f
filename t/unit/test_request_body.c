/*
 * The request body decoder shared by the reading and discard paths, fed
 * whole and split at every position: the decoded bytes, the end of the
 * body and what is left for a pipelined request must not depend on how
 * the bytes arrive.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"

#include "t/unit/dh_tap.h"


#define NEXT_REQUEST  "GET / HTTP/1.1\r\n"


/* Decodes raw in two reads split at `split`.  Returns the final rc; the
 * decoded body goes to out, the bytes left after the body to *left. */
static dh_int_t
decode(const char *raw, off_t cl, size_t split, char *out, size_t *left)
{
    off_t              rest;
    size_t             len, avail, n;
    dh_int_t           rc;
    dh_buf_t           b, piece;
    dh_http_chunked_t  ctx, *pctx;
    u_char             data[512];

    len = strlen(raw);
    dh_memcpy(data, raw, len);
    dh_memzero(&ctx, sizeof(ctx));
    ctx.length = 5;
    pctx = (cl < 0) ? &ctx : NULL;
    rest = cl;
    n = 0;

    b.start = data;
    b.pos = data;
    avail = split < len ? split : len;
    b.last = data + avail;

    for ( ;; ) {
        rc = dh_http_decode_body(pctx, &rest, &b, &piece);

        if (rc == DH_OK) {
            dh_memcpy(out + n, piece.pos, piece.last - piece.pos);
            n += piece.last - piece.pos;
            continue;
        }

        if (rc == DH_AGAIN && avail < len) {
            avail = len;
            b.last = data + len;
            continue;
        }

        break;
    }

    out[n] = '\0';
    *left = (data + len) - b.pos;

    return rc;
}


static void
check(const char *what, const char *raw, off_t cl, const char *body,
    dh_int_t want)
{
    int      bad;
    char     out[512];
    size_t   len, split, left, tail;
    dh_int_t rc;

    len = strlen(raw);
    tail = (want == DH_DONE) ? sizeof(NEXT_REQUEST) - 1 : 0;
    bad = 0;

    for (split = 0; split <= len; split++) {
        rc = decode(raw, cl, split, out, &left);

        if (rc != want
            || (want == DH_DONE && (strcmp(out, body) != 0 || left != tail)))
        {
            printf("# %s: split %zu: rc %ld, body \"%s\", left %zu\n",
                   what, split, (long) rc, out, left);
            bad = 1;
            break;
        }
    }

    ok(!bad, "%s", what);
}


int
main(void)
{
    check("Content-Length body", "hello world" NEXT_REQUEST, 11,
          "hello world", DH_DONE);
    check("empty Content-Length body", NEXT_REQUEST, 0, "", DH_DONE);
    check("chunked body",
          "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n" NEXT_REQUEST,
          -1, "hello world", DH_DONE);
    check("chunked with extensions and trailers",
          "3;a=b\r\nabc\r\n0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n" NEXT_REQUEST,
          -1, "abc", DH_DONE);
    check("chunked, upper-case hex",
          "A\r\n0123456789\r\n0\r\n\r\n" NEXT_REQUEST,
          -1, "0123456789", DH_DONE);
    check("invalid chunk size", "zz\r\nabc\r\n0\r\n\r\n", -1, "",
          DH_HTTP_BAD_REQUEST);
    check("chunk data longer than its size", "2\r\nabc\r\n0\r\n\r\n", -1,
          "", DH_HTTP_BAD_REQUEST);
    check("incomplete chunked body", "5\r\nhel", -1, "", DH_AGAIN);

    return done_testing();
}

/*
 * libFuzzer target: the request line and header state machines
 * (dh_http_parse.c), and URI normalisation for the targets that need it.
 *
 * Each input is parsed twice: all at once, and one byte per call the way
 * a slow client's reads arrive.  The parsers are resumable, so both runs
 * must end with the same status after the same number of header lines;
 * a difference aborts, which libFuzzer reports like a crash.  The input is
 * copied into a buffer of exactly its size so ASan sees any over-read.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


typedef struct {
    dh_int_t    rc;
    dh_uint_t   headers;
    size_t      consumed;
} fuzz_result_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
fuzz_check_uri(dh_http_request_t *r)
{
    u_char  *dst, *end;
    size_t   len, dst_len;

    if (r->uri_start == NULL || r->uri_end == NULL
        || r->method == DH_HTTP_CONNECT || r->empty_path_in_uri)
    {
        return;
    }

    end = r->args_start ? r->args_start - 1 : r->uri_end;
    len = end - r->uri_start;

    /* normalising never makes a path longer */
    dst = malloc(len ? len : 1);
    if (dst == NULL) {
        return;
    }

    if (dh_http_normalize_uri(r->uri_start, len, dst, &dst_len) == DH_OK) {
        if (dst_len == 0 || dst_len > len || dst[0] != '/') {
            abort();
        }
    }

    free(dst);
}


/* step 0: the whole input at once; otherwise `step` more bytes per call */
static fuzz_result_t
fuzz_parse(u_char *buf, size_t size, size_t step)
{
    dh_buf_t            b;
    dh_http_request_t   r;
    fuzz_result_t       res;
    int                 line;

    dh_memzero(&r, sizeof(dh_http_request_t));
    dh_memzero(&b, sizeof(dh_buf_t));
    dh_memzero(&res, sizeof(fuzz_result_t));

    b.start = buf;
    b.pos = buf;
    b.end = buf + size;
    b.last = step ? buf + dh_min(step, size) : buf + size;

    r.method = DH_HTTP_UNKNOWN;
    line = 1;

    for ( ;; ) {
        if (line) {
            res.rc = dh_http_parse_request_line(&r, &b);

            if (res.rc == DH_OK) {
                fuzz_check_uri(&r);
                line = 0;
                continue;
            }

        } else {
            res.rc = dh_http_parse_header_line(&r, &b);

            if (res.rc == DH_OK) {
                if (r.header_name_end < r.header_name_start
                    || (r.header_start && r.header_end < r.header_start))
                {
                    abort();
                }

                res.headers++;
                continue;
            }
        }

        if (res.rc != DH_AGAIN || b.last == b.end) {
            break;
        }

        /* DH_AGAIN eats everything it was given */
        if (b.pos != b.last) {
            abort();
        }

        b.last = (size_t) (b.end - b.last) > step ? b.last + step : b.end;
    }

    res.consumed = b.pos - buf;

    return res;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char         *buf;
    fuzz_result_t   whole, bytes;

    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }

    dh_memcpy(buf, data, size);

    whole = fuzz_parse(buf, size, 0);
    bytes = fuzz_parse(buf, size, 1);

    if (whole.rc != bytes.rc || whole.headers != bytes.headers
        || (whole.rc == DH_HTTP_PARSE_HEADER_DONE
            && whole.consumed != bytes.consumed))
    {
        abort();
    }

    free(buf);

    return 0;
}

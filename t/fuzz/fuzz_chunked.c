/*
 * libFuzzer target: the chunked body decoder (dh_http_parse_chunked).
 *
 * The input is decoded all at once and one byte per call, eating chunk
 * data the way the body readers do.  Both runs must agree on the outcome
 * and on where the body ended.  In the byte-wise run every `length` the
 * decoder reports must be positive and, for a body that ends, no larger
 * than what is really left: readers read at most that much, and reading
 * past the body would swallow the next pipelined request.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


typedef struct {
    dh_int_t    rc;
    size_t      end;
} fuzz_result_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* bound[i]: the length reported with b->pos at offset i, or -1 */
static fuzz_result_t
fuzz_decode(u_char *buf, size_t size, dh_uint_t bytewise, off_t *bound)
{
    off_t               n;
    dh_buf_t            b;
    fuzz_result_t       res;
    dh_http_chunked_t   ctx;

    static u_char       trailer[DH_HTTP_CHUNK_TRAILER_MAX];

    dh_memzero(&ctx, sizeof(dh_http_chunked_t));
    dh_memzero(&b, sizeof(dh_buf_t));

    /* the copy of the trailer section must stay inside its buffer */
    ctx.trailer = trailer;

    b.start = buf;
    b.pos = buf;
    b.end = buf + size;
    b.last = bytewise ? buf + dh_min(1, size) : buf + size;

    for ( ;; ) {
        res.rc = dh_http_parse_chunked(&ctx, &b);

        if (ctx.size < 0 || ctx.length < 0) {
            abort();
        }

        if (bound && res.rc != DH_DONE && res.rc != DH_ERROR) {
            if (ctx.length == 0) {
                abort();
            }
            bound[b.pos - buf] = ctx.length;
        }

        if (res.rc == DH_OK) {
            if (b.pos == b.last || ctx.size == 0) {
                abort();
            }

            n = dh_min(ctx.size, b.last - b.pos);
            b.pos += n;
            ctx.size -= n;
            continue;
        }

        if (res.rc != DH_AGAIN || b.last == b.end) {
            break;
        }

        b.last++;
    }

    res.end = b.pos - buf;

    return res;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t          i;
    off_t          *bound;
    u_char         *buf;
    fuzz_result_t   whole, bytes;

    buf = malloc(size ? size : 1);
    bound = malloc((size + 1) * sizeof(off_t));

    if (buf == NULL || bound == NULL) {
        free(buf);
        free(bound);
        return 0;
    }

    dh_memcpy(buf, data, size);

    for (i = 0; i <= size; i++) {
        bound[i] = -1;
    }

    whole = fuzz_decode(buf, size, 0, NULL);
    bytes = fuzz_decode(buf, size, 1, bound);

    if (whole.rc != bytes.rc
        || (whole.rc == DH_DONE && whole.end != bytes.end))
    {
        abort();
    }

    if (bytes.rc == DH_DONE) {
        for (i = 0; i < bytes.end; i++) {
            if (bound[i] > (off_t) (bytes.end - i)) {
                abort();
            }
        }
    }

    free(buf);
    free(bound);

    return 0;
}

/*
 * libFuzzer target: an upstream response head, as the upstream client
 * reads it: the status line (dh_http_upstream_parse_status_line), the
 * header lines (dh_http_parse_header_line) and the framing checks
 * (dh_http_upstream_process_headers).
 *
 * The status line is parsed all at once and one byte per call: both runs
 * must agree on the outcome, the status and where the line ended.  The
 * header pointers must stay inside the input.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"
#include "dh_http_upstream_int.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* linked with the core files of the conf fuzz target, which need a
 * module list and the -T flag; no module runs here */
dh_module_t  *dh_modules[] = { NULL };
char         *dh_module_names[] = { NULL };
dh_uint_t     dh_dump_config;


static dh_int_t
fuzz_status(u_char *buf, size_t size, dh_uint_t bytewise,
    dh_http_status_t *st, size_t *end)
{
    dh_int_t  rc;
    dh_buf_t  b;

    dh_memzero(st, sizeof(dh_http_status_t));
    dh_memzero(&b, sizeof(dh_buf_t));

    b.pos = buf;
    b.last = bytewise ? buf + dh_min(1, size) : buf + size;

    for ( ;; ) {
        rc = dh_http_upstream_parse_status_line(st, &b);

        if (rc != DH_AGAIN || b.last == buf + size) {
            break;
        }

        b.last++;
    }

    *end = b.pos - buf;

    return rc;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                         *buf, *last;
    size_t                          end1, end2;
    dh_int_t                        rc1, rc2, rc;
    dh_buf_t                        b;
    dh_log_t                        log;
    dh_pool_t                      *pool;
    dh_table_elt_t                 *h;
    dh_http_status_t                st1, st2;
    dh_http_request_t               r;
    dh_http_upstream_headers_in_t   hin;

    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }

    memcpy(buf, data, size);
    last = buf + size;

    rc1 = fuzz_status(buf, size, 0, &st1, &end1);
    rc2 = fuzz_status(buf, size, 1, &st2, &end2);

    if (rc1 != rc2 || (rc1 == DH_OK && (end1 != end2
                                         || st1.status != st2.status)))
    {
        abort();
    }

    if (rc1 != DH_OK) {
        free(buf);
        return 0;
    }

    if (st1.status < 100 || st1.status > 999) {
        abort();
    }

    dh_memzero(&log, sizeof(dh_log_t));
    pool = dh_create_pool(4096, &log);
    if (pool == NULL) {
        free(buf);
        return 0;
    }

    dh_memzero(&hin, sizeof(hin));
    dh_memzero(&r, sizeof(r));
    dh_memzero(&b, sizeof(b));

    if (dh_list_init(&hin.headers, pool, 4, sizeof(dh_table_elt_t))
        != DH_OK)
    {
        goto done;
    }

    hin.http_version = st1.http_version;

    b.pos = buf + end1;
    b.last = last;

    for ( ;; ) {
        rc = dh_http_parse_header_line(&r, &b);

        if (rc != DH_OK) {
            break;
        }

        if (r.header_name_start < buf || r.header_end > last
            || r.header_start > r.header_end)
        {
            abort();
        }

        h = dh_list_push(&hin.headers);
        if (h == NULL) {
            goto done;
        }

        h->key.data = r.header_name_start;
        h->key.len = r.header_name_end - r.header_name_start;
        h->value.data = r.header_start;
        h->value.len = r.header_end - r.header_start;
        h->lowcase_key = dh_pnalloc(pool, h->key.len);
        if (h->lowcase_key == NULL) {
            goto done;
        }
        dh_strlow(h->lowcase_key, h->key.data, h->key.len);
    }

    if (rc == DH_HTTP_PARSE_HEADER_DONE
        && dh_http_upstream_process_headers(&hin) == DH_OK)
    {
        /* a framed body has one framing */
        if (hin.chunked && hin.content_length) {
            abort();
        }
    }

done:

    dh_destroy_pool(pool);
    free(buf);

    return 0;
}

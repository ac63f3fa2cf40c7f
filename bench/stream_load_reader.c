/*
 * stream_load_reader: throughput of the Stream Load reader alone (no
 * HTTP, no storage).  Generates a narrow CSV in memory (the rows of the
 * Stream Load bench: "id,name,amount\n"), then times
 *
 *   csv    the CSV splitter over the plain text, fed 64 KiB at a time;
 *   gzip   the same text gzip'ed (level 1, made before timing), through
 *          the gzip decompressor and the splitter;
 *   json   the same rows as newline-delimited JSON objects, the fields
 *          looked up by name;
 *   memchr a bare memchr() pass for '\n' over the text: the ceiling.
 *
 * The row callback reads every field (sums their lengths) so no work is
 * skipped.  One line of JSON per test:
 *
 *   {"test":"csv","mb":100.0,"rows":N,"seconds":S,"mb_per_sec":M,
 *    "rows_per_sec":R}
 *
 * (for gzip, mb is the decompressed size; "compressed_mb" is added).
 *
 * Build after ./configure && make (objs/ holds the stream_load module):
 *     cc -O2 -I src/core -I objs -I src/modules/stream_load \
 *         -o objs/stream_load_reader_bench bench/stream_load_reader.c \
 *         objs/libdivehttpd.a $(sed -n 's/^LIBS =//p' objs/Makefile)
 * Run:
 *     objs/stream_load_reader_bench [MB]        (default 100)
 */

#include "dh_config.h"
#include "dh_core.h"

#include "dh_stream_load_reader.h"

#include <time.h>
#include <zlib.h>


#define BENCH_PIECE  (64 * 1024)


typedef struct {
    uint64_t    rows;
    uint64_t    bytes;
} bench_count_t;


static double
bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static dh_int_t
bench_row(void *data, dh_sl_row_t *row)
{
    bench_count_t  *c = data;
    dh_uint_t       i;

    c->rows++;

    for (i = 0; i < row->nfields; i++) {
        c->bytes += row->fields[i].len;
    }

    return DH_OK;
}


static double
bench_read(dh_sl_format_e format, dh_sl_compress_e compression, u_char *p,
    size_t len, bench_count_t *c)
{
    size_t               n;
    double               start;
    dh_str_t             names[3];
    dh_pool_t           *pool;
    const char          *err;
    dh_sl_reader_t      *rd;
    dh_sl_reader_conf_t  conf;

    memset(&conf, 0, sizeof(conf));
    memset(c, 0, sizeof(bench_count_t));
    conf.format = format;
    conf.compression = compression;
    dh_str_set(&conf.column_separator, ",");
    dh_str_set(&conf.row_delimiter, "\n");
    dh_str_set(&names[0], "id");
    dh_str_set(&names[1], "name");
    dh_str_set(&names[2], "amount");
    conf.names = names;
    conf.nnames = 3;

    pool = dh_create_pool(16384, NULL);
    rd = dh_sl_reader_create(pool, &conf, bench_row, c, &err);
    if (rd == NULL) {
        fprintf(stderr, "reader: %s\n", err);
        exit(1);
    }

    start = bench_now();

    while (len) {
        n = len < BENCH_PIECE ? len : BENCH_PIECE;

        if (dh_sl_reader_feed(rd, p, n) != DH_OK) {
            fprintf(stderr, "feed: %s\n", dh_sl_reader_error(rd));
            exit(1);
        }

        p += n;
        len -= n;
    }

    if (dh_sl_reader_finish(rd) != DH_OK) {
        fprintf(stderr, "finish: %s\n", dh_sl_reader_error(rd));
        exit(1);
    }

    start = bench_now() - start;

    dh_destroy_pool(pool);

    return start;
}


static void
bench_report(const char *test, size_t len, uint64_t rows, double secs,
    size_t compressed)
{
    printf("{\"test\":\"%s\",\"mb\":%.1f,\"rows\":%llu,\"seconds\":%.3f,"
           "\"mb_per_sec\":%.1f,\"rows_per_sec\":%.0f",
           test, len / 1048576.0, (unsigned long long) rows, secs,
           len / 1048576.0 / secs, rows / secs);

    if (compressed) {
        printf(",\"compressed_mb\":%.1f", compressed / 1048576.0);
    }

    printf("}\n");
}


int
main(int argc, char **argv)
{
    size_t          mb, len, cap, i, jlen;
    double          secs;
    u_char         *text, *gz, *json, *p, *q, *end;
    uLongf          gzlen;
    z_stream        z;
    uint64_t        rows;
    bench_count_t   c;

    mb = (argc > 1) ? (size_t) atoi(argv[1]) : 100;
    cap = mb * 1048576;

    text = malloc(cap + 64);
    if (text == NULL) {
        return 1;
    }

    len = 0;

    for (i = 0; len < cap; i++) {
        len += sprintf((char *) text + len, "%zu,user%zu,%zu.%02zu\n",
                       i + 1, i % 1000, (i % 100000) / 100, i % 100);
    }

    /* gzip, level 1, before any timing */
    gzlen = compressBound(len) + 64;
    gz = malloc(gzlen);
    memset(&z, 0, sizeof(z));
    deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    z.next_in = text;
    z.avail_in = len;
    z.next_out = gz;
    z.avail_out = gzlen;
    deflate(&z, Z_FINISH);
    gzlen = z.total_out;
    deflateEnd(&z);

    /* the ceiling: find every newline */
    secs = bench_now();
    rows = 0;
    end = text + len;

    for (p = text; p < end; p = q + 1) {
        q = memchr(p, '\n', end - p);
        if (q == NULL) {
            break;
        }

        rows++;
    }

    bench_report("memchr", len, rows, bench_now() - secs, 0);

    secs = bench_read(DH_SL_FORMAT_CSV, DH_SL_COMPRESS_NONE, text, len, &c);
    bench_report("csv", len, c.rows, secs, 0);

    secs = bench_read(DH_SL_FORMAT_CSV, DH_SL_COMPRESS_GZIP, gz, gzlen, &c);
    bench_report("gzip", len, c.rows, secs, gzlen);

    free(gz);

    /* the same rows as NDJSON */
    json = malloc(rows * 80 + 128);
    if (json == NULL) {
        return 1;
    }

    jlen = 0;

    for (i = 0; i < rows; i++) {
        jlen += sprintf((char *) json + jlen,
                        "{\"id\":%zu,\"name\":\"user%zu\","
                        "\"amount\":%zu.%02zu}\n",
                        i + 1, i % 1000, (i % 100000) / 100, i % 100);
    }

    secs = bench_read(DH_SL_FORMAT_JSON, DH_SL_COMPRESS_NONE, json, jlen, &c);
    bench_report("json", jlen, c.rows, secs, 0);

    free(text);
    free(json);

    return 0;
}

/*
 * libFuzzer target: the Stream Load CSV splitter (and, on some inputs,
 * the decompressors in front of it).
 *
 * The first four bytes choose the settings: separator, row delimiter,
 * enclose/escape/trim_space/skip_header, a small max_row_size (so the
 * too-long path is reached) and where the body is cut in two.  Plain
 * bodies are read twice, whole and cut, and the rows must be the same:
 * the splitter keeps its state across feed() calls, so how the bytes
 * arrive must not matter.
 */

#include "dh_config.h"
#include "dh_core.h"

#include "dh_stream_load_reader.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* what the core files linked here use from dh_cycle.c and dh_modules.c
 * (not linked): no modules, no -T */
dh_module_t  *dh_modules[] = { NULL };
char         *dh_module_names[] = { NULL };
dh_uint_t     dh_dump_config;


static const char  *fuzz_seps[] = { ",", "||", "\x01", "ab", "\t", "aba" };
static const char  *fuzz_delims[] = { "\n", "\r\n", "|", "aba", "\x02", ",\n" };

static const dh_sl_compress_e  fuzz_compress[] = {
    DH_SL_COMPRESS_NONE, DH_SL_COMPRESS_GZIP, DH_SL_COMPRESS_DEFLATE,
    DH_SL_COMPRESS_BZIP2, DH_SL_COMPRESS_LZ4, DH_SL_COMPRESS_ZSTD
};


typedef struct {
    uint64_t    hash;
    dh_uint_t   rows;
} fuzz_out_t;


static void
fuzz_mix(fuzz_out_t *o, const u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        o->hash = (o->hash ^ p[i]) * 1099511628211ULL;
    }

    o->hash = (o->hash ^ 0xff) * 1099511628211ULL;
}


static dh_int_t
fuzz_row(void *data, dh_sl_row_t *row)
{
    fuzz_out_t  *o = data;
    dh_uint_t    i;

    o->rows++;

    if (row->error) {
        fuzz_mix(o, (u_char *) row->error, strlen(row->error));
        return DH_OK;
    }

    for (i = 0; i < row->nfields; i++) {
        fuzz_mix(o, row->nulls[i] ? (u_char *) "\\N!" : row->fields[i].data,
                 row->nulls[i] ? 3 : row->fields[i].len);
    }

    return DH_OK;
}


static dh_int_t
fuzz_read(dh_sl_reader_conf_t *conf, const uint8_t *p, size_t len,
    size_t cut, fuzz_out_t *o)
{
    u_char          *a, *b;
    dh_int_t         rc;
    dh_pool_t       *pool;
    const char      *err;
    dh_sl_reader_t  *rd;

    memset(o, 0, sizeof(fuzz_out_t));

    pool = dh_create_pool(4096, NULL);
    if (pool == NULL) {
        return DH_ERROR;
    }

    rd = dh_sl_reader_create(pool, conf, fuzz_row, o, &err);
    if (rd == NULL) {
        dh_destroy_pool(pool);
        return DH_ERROR;
    }

    /* each piece in its own allocation: reads past it are caught */
    a = malloc(cut + 1);
    b = malloc(len - cut + 1);
    memcpy(a, p, cut);
    memcpy(b, p + cut, len - cut);

    rc = dh_sl_reader_feed(rd, a, cut);

    if (rc == DH_OK) {
        rc = dh_sl_reader_feed(rd, b, len - cut);
    }

    if (rc == DH_OK) {
        rc = dh_sl_reader_finish(rd);
    }

    if (rc != DH_OK) {
        err = dh_sl_reader_error(rd);
        fuzz_mix(o, (u_char *) (err ? err : "?"), strlen(err ? err : "?"));
    }

    free(a);
    free(b);
    dh_destroy_pool(pool);

    return rc;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t               cut;
    dh_int_t             rc1, rc2;
    fuzz_out_t           whole, split;
    dh_sl_reader_conf_t  conf;

    if (size < 4) {
        return 0;
    }

    memset(&conf, 0, sizeof(conf));
    conf.format = DH_SL_FORMAT_CSV;
    conf.column_separator.data = (u_char *) fuzz_seps[data[0] % 6];
    conf.column_separator.len = strlen(fuzz_seps[data[0] % 6]);
    conf.row_delimiter.data = (u_char *) fuzz_delims[(data[0] / 6) % 6];
    conf.row_delimiter.len = strlen(fuzz_delims[(data[0] / 6) % 6]);
    conf.enclose = (data[1] & 1) ? '"' : 0;
    conf.escape = (data[1] & 2) ? '\\' : 0;
    conf.trim_space = (data[1] & 4) ? 1 : 0;
    conf.skip_header = (data[1] >> 3) & 3;
    conf.max_row_size = 1 + data[2] % 64;
    conf.compression = fuzz_compress[(data[1] >> 5) % 6];

    cut = data[3];
    data += 4;
    size -= 4;
    cut = size ? cut % (size + 1) : 0;

    rc1 = fuzz_read(&conf, data, size, 0, &whole);
    rc2 = fuzz_read(&conf, data, size, cut, &split);

    /* a compressed body may fail at another byte when cut elsewhere */
    if (conf.compression == DH_SL_COMPRESS_NONE
        && (rc1 != rc2 || whole.hash != split.hash
            || whole.rows != split.rows))
    {
        abort();
    }

    return 0;
}

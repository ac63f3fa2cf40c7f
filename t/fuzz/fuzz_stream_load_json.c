/*
 * libFuzzer target: the Stream Load JSON splitter (top-level value
 * scanner, stripped outer arrays, json_root, jsonpaths, number texts).
 *
 * The first two bytes choose strip_outer_array, json_root, jsonpaths and
 * where the body is cut in two; the body is read whole and cut, and the
 * rows (and the error, if any) must be the same.
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
    fuzz_mix(o, row->raw.data, row->raw.len);

    if (row->error) {
        fuzz_mix(o, (u_char *) row->error, strlen(row->error));
        return DH_OK;
    }

    for (i = 0; i < row->nfields; i++) {
        fuzz_mix(o, row->nulls[i] ? (u_char *) "null!" : row->fields[i].data,
                 row->nulls[i] ? 5 : row->fields[i].len);
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
    dh_str_t             names[3];
    fuzz_out_t           whole, split;
    dh_sl_reader_conf_t  conf;

    if (size < 2) {
        return 0;
    }

    dh_str_set(&names[0], "a");
    dh_str_set(&names[1], "b");
    dh_str_set(&names[2], "c");

    memset(&conf, 0, sizeof(conf));
    conf.format = DH_SL_FORMAT_JSON;
    conf.strip_outer_array = data[0] & 1;
    conf.names = names;
    conf.nnames = 3;

    if (data[0] & 2) {
        dh_str_set(&conf.json_root, "$.r");
    }

    if (data[0] & 4) {
        dh_str_set(&conf.jsonpaths, "[\"$.a\", \"$.b.c[1]\", \"$['x y']\"]");
    }

    cut = data[1];
    data += 2;
    size -= 2;
    cut = size ? cut % (size + 1) : 0;

    rc1 = fuzz_read(&conf, data, size, 0, &whole);
    rc2 = fuzz_read(&conf, data, size, cut, &split);

    if (rc1 != rc2 || whole.hash != split.hash || whole.rows != split.rows) {
        abort();
    }

    return 0;
}

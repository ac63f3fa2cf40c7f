/*
 * The Stream Load reader: body bytes -> optional decompressor -> the CSV
 * or JSON splitter -> the caller's row callback.  This file only wires
 * the stages together and decodes separator header values.
 */

#include "dh_config.h"
#include "dh_core.h"

#include "dh_stream_load_reader_int.h"


#define DH_SL_SEPARATOR_MAX  50


struct dh_sl_reader_s {
    dh_sl_format_e       format;
    dh_sl_decomp_t      *decomp;     /* NULL: the body is not compressed */
    dh_sl_csv_t         *csv;
    dh_sl_json_t        *json;
    off_t                bytes;      /* decompressed bytes seen */
    const char          *error;
    dh_int_t             rc;         /* sticky: once failed, stays so */
};


static dh_int_t dh_sl_reader_split(void *data, u_char *p, size_t len,
    const char **err);


dh_sl_reader_t *
dh_sl_reader_create(dh_pool_t *pool, dh_sl_reader_conf_t *conf,
    dh_sl_row_pt row, void *data, const char **err)
{
    dh_sl_reader_t  *rd;

    rd = dh_pcalloc(pool, sizeof(dh_sl_reader_t));
    if (rd == NULL) {
        *err = "out of memory";
        return NULL;
    }

    rd->format = conf->format;
    rd->rc = DH_OK;

    if (conf->format == DH_SL_FORMAT_JSON) {
        rd->json = dh_sl_json_create(pool, conf, row, data, err);
        if (rd->json == NULL) {
            return NULL;
        }

    } else {
        rd->csv = dh_sl_csv_create(pool, conf, row, data);
        if (rd->csv == NULL) {
            *err = "out of memory";
            return NULL;
        }
    }

    if (conf->compression != DH_SL_COMPRESS_NONE) {
        rd->decomp = dh_sl_decomp_create(pool, conf->compression,
                                         dh_sl_reader_split, rd, err);
        if (rd->decomp == NULL) {
            return NULL;
        }
    }

    return rd;
}


/* The decompressor's sink, and the direct path for plain bodies. */
static dh_int_t
dh_sl_reader_split(void *data, u_char *p, size_t len, const char **err)
{
    dh_sl_reader_t  *rd = data;

    rd->bytes += len;

    if (rd->json) {
        return dh_sl_json_feed(rd->json, p, len, err);
    }

    return dh_sl_csv_feed(rd->csv, p, len, err);
}


dh_int_t
dh_sl_reader_feed(dh_sl_reader_t *rd, u_char *p, size_t len)
{
    dh_int_t     rc;
    const char  *err;

    if (rd->rc != DH_OK) {
        return rd->rc;
    }

    if (len == 0) {
        return DH_OK;
    }

    err = NULL;

    if (rd->decomp) {
        rc = dh_sl_decomp_feed(rd->decomp, p, len, &err);

    } else {
        rc = dh_sl_reader_split(rd, p, len, &err);
    }

    if (rc != DH_OK) {
        rd->rc = rc;
        rd->error = err;
    }

    return rc;
}


dh_int_t
dh_sl_reader_finish(dh_sl_reader_t *rd)
{
    dh_int_t     rc;
    const char  *err;

    if (rd->rc != DH_OK) {
        return rd->rc;
    }

    err = NULL;
    rc = DH_OK;

    if (rd->decomp) {
        rc = dh_sl_decomp_finish(rd->decomp, &err);
    }

    if (rc == DH_OK) {
        rc = rd->json ? dh_sl_json_finish(rd->json, &err)
                      : dh_sl_csv_finish(rd->csv, &err);
    }

    if (rc != DH_OK) {
        rd->error = err;
    }

    /* nothing may be fed after the end */
    rd->rc = (rc == DH_OK) ? DH_DONE : rc;

    return rc;
}


const char *
dh_sl_reader_error(dh_sl_reader_t *rd)
{
    return rd->error;
}


off_t
dh_sl_reader_bytes(dh_sl_reader_t *rd)
{
    return rd->bytes;
}


static dh_int_t
dh_sl_hex(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c = dh_tolower(c);

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


/*
 * "\x01" and "\\x0D0A": a value that starts with \x (one or two
 * backslashes, as users quote it in shells) is an even run of hex digits.
 * Anything else is taken byte for byte.
 */
dh_int_t
dh_sl_parse_separator(dh_pool_t *pool, dh_str_t *value, dh_str_t *out)
{
    u_char    *p, *last, *dst;
    size_t     skip;
    dh_int_t   hi, lo;

    if (value->len == 0) {
        return DH_ERROR;
    }

    p = value->data;
    last = p + value->len;

    skip = 0;

    if (value->len > 2 && p[0] == '\\' && (p[1] == 'x' || p[1] == 'X')) {
        skip = 2;

    } else if (value->len > 3 && p[0] == '\\' && p[1] == '\\'
               && (p[2] == 'x' || p[2] == 'X'))
    {
        skip = 3;
    }

    if (skip == 0) {
        if (value->len > DH_SL_SEPARATOR_MAX) {
            return DH_ERROR;
        }

        out->data = dh_pnalloc(pool, value->len);
        if (out->data == NULL) {
            return DH_ERROR;
        }

        dh_memcpy(out->data, value->data, value->len);
        out->len = value->len;

        return DH_OK;
    }

    p += skip;

    if ((last - p) % 2 != 0 || (size_t) (last - p) / 2 > DH_SL_SEPARATOR_MAX)
    {
        return DH_ERROR;
    }

    dst = dh_pnalloc(pool, (last - p) / 2);
    if (dst == NULL) {
        return DH_ERROR;
    }

    out->data = dst;

    while (p < last) {
        hi = dh_sl_hex(p[0]);
        lo = dh_sl_hex(p[1]);

        if (hi < 0 || lo < 0) {
            return DH_ERROR;
        }

        *dst++ = (u_char) (hi * 16 + lo);
        p += 2;
    }

    out->len = dst - out->data;

    return DH_OK;
}

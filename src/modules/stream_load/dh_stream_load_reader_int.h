/*
 * Private to the reader files (dh_stream_load_reader.c, _decompress.c,
 * _csv.c, _json.c): the three stages behind dh_sl_reader_t.
 *
 * Each stage reports failure as DH_ERROR with *err set to a static or
 * pool string; any other non-DH_OK value is the row callback's and is
 * passed up unchanged.
 */

#ifndef DH_STREAM_LOAD_READER_INT_H
#define DH_STREAM_LOAD_READER_INT_H

#include "dh_config.h"
#include "dh_core.h"

#include "dh_stream_load_reader.h"


/* raw text of a row handed to the callback is cut to this */
#define DH_SL_RAW_MAX        1024
#define DH_SL_MAX_ROW_SIZE   (1024 * 1024)

/* where decompressed bytes go: the splitter's feed */
typedef dh_int_t (*dh_sl_sink_pt)(void *data, u_char *p, size_t len,
    const char **err);

typedef struct dh_sl_decomp_s  dh_sl_decomp_t;
typedef struct dh_sl_csv_s     dh_sl_csv_t;
typedef struct dh_sl_json_s    dh_sl_json_t;


dh_sl_decomp_t *dh_sl_decomp_create(dh_pool_t *pool, dh_sl_compress_e type,
    dh_sl_sink_pt sink, void *data, const char **err);
dh_int_t dh_sl_decomp_feed(dh_sl_decomp_t *dc, u_char *p, size_t len,
    const char **err);
/* A stream cut inside a member/frame is an error. */
dh_int_t dh_sl_decomp_finish(dh_sl_decomp_t *dc, const char **err);

dh_sl_csv_t *dh_sl_csv_create(dh_pool_t *pool, dh_sl_reader_conf_t *conf,
    dh_sl_row_pt row, void *data);
dh_int_t dh_sl_csv_feed(dh_sl_csv_t *csv, u_char *p, size_t len,
    const char **err);
dh_int_t dh_sl_csv_finish(dh_sl_csv_t *csv, const char **err);

/* NULL with *err "Invalid jsonpaths" / "Invalid json_root" or
 * "out of memory". */
dh_sl_json_t *dh_sl_json_create(dh_pool_t *pool, dh_sl_reader_conf_t *conf,
    dh_sl_row_pt row, void *data, const char **err);
dh_int_t dh_sl_json_feed(dh_sl_json_t *js, u_char *p, size_t len,
    const char **err);
dh_int_t dh_sl_json_finish(dh_sl_json_t *js, const char **err);

#endif /* DH_STREAM_LOAD_READER_INT_H */

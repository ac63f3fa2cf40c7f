/*
 * The Stream Load data pipeline, independent of HTTP and storage: bytes
 * of a request body go in as they arrive, rows of text fields come out.
 *
 *   body bytes -> decompress (gzip, deflate, bzip2, lz4 frame, zstd)
 *              -> split (CSV: row delimiter, column separator, enclose,
 *                 escape, trim_space, skip_header;
 *                 JSON: one object, an array of objects with
 *                 strip_outer_array, or newline-delimited objects;
 *                 json_root, jsonpaths)
 *              -> row callback
 *
 * Memory is bounded by the decompression window, one partial row and the
 * caller's buffer: a CSV row is never longer than max_row_size (a longer
 * one is reported as a malformed row and skipped up to the next
 * delimiter).  JSON is parsed one top-level value at a time, so a body
 * that is a single outer array is held whole (as StarRocks does, bounded
 * by the JSON size limit the HTTP layer checks).
 */

#ifndef DH_STREAM_LOAD_READER_H
#define DH_STREAM_LOAD_READER_H

#include "dh_config.h"
#include "dh_core.h"

typedef enum {
    DH_SL_FORMAT_CSV = 0,
    DH_SL_FORMAT_JSON
} dh_sl_format_e;

typedef enum {
    DH_SL_COMPRESS_NONE = 0,
    DH_SL_COMPRESS_GZIP,
    DH_SL_COMPRESS_DEFLATE,     /* zlib stream (RFC 1950); raw RFC 1951
                                   is accepted too */
    DH_SL_COMPRESS_BZIP2,
    DH_SL_COMPRESS_LZ4,         /* LZ4 frame format */
    DH_SL_COMPRESS_ZSTD
} dh_sl_compress_e;

typedef struct {
    dh_sl_format_e      format;
    dh_sl_compress_e    compression;

    /* CSV; separators are the decoded bytes (see
     * dh_sl_parse_separator()); defaults "\t" and "\n" */
    dh_str_t            column_separator;
    dh_str_t            row_delimiter;
    dh_uint_t           skip_header;       /* rows to drop first */
    unsigned            trim_space:1;      /* around fields, outside
                                              enclose */
    u_char              enclose;           /* 0: none */
    u_char              escape;            /* 0: none */
    size_t              max_row_size;      /* 0: 1 MiB */

    /* JSON */
    dh_str_t            jsonpaths;         /* '["$.a","$.b.c"]' or empty */
    dh_str_t            json_root;         /* "$.data" or empty */
    unsigned            strip_outer_array:1;
    /* JSON without jsonpaths: fields are looked up by these names (the
     * `columns` header's source names, else the table's columns) */
    dh_str_t           *names;
    dh_uint_t           nnames;
} dh_sl_reader_conf_t;

typedef struct {
    dh_str_t           *fields;     /* valid during the callback only */
    u_char             *nulls;      /* nulls[i]: JSON null, missing key or
                                       CSV "\N" */
    dh_uint_t           nfields;
    dh_str_t            raw;        /* the row's source text (may be cut
                                       to 1 KiB), for the error log */
    const char         *error;      /* non-NULL: the reader could not
                                       parse this row (unterminated
                                       enclose, not a JSON object, row too
                                       long ...); fields are empty */
} dh_sl_row_t;

/* DH_OK goes on; anything else stops the reader, and feed/finish return
 * that value. */
typedef dh_int_t (*dh_sl_row_pt)(void *data, dh_sl_row_t *row);

typedef struct dh_sl_reader_s  dh_sl_reader_t;

/* NULL with *err set (bad jsonpaths, unsupported compression) or on
 * allocation failure (*err "out of memory").  Decompressor state is freed
 * by a pool cleanup. */
dh_sl_reader_t *dh_sl_reader_create(dh_pool_t *pool,
    dh_sl_reader_conf_t *conf, dh_sl_row_pt row, void *data,
    const char **err);

/* Feeds the next bytes of the body.  DH_OK, DH_ERROR with
 * dh_sl_reader_error() saying why (corrupt compressed data, invalid JSON
 * text that cannot be resynchronised), or what the row callback returned. */
dh_int_t dh_sl_reader_feed(dh_sl_reader_t *rd, u_char *p, size_t len);

/* End of body: the last row without a delimiter is delivered, a truncated
 * compressed stream is an error. */
dh_int_t dh_sl_reader_finish(dh_sl_reader_t *rd);

const char *dh_sl_reader_error(dh_sl_reader_t *rd);

/* Decompressed bytes seen so far (for LoadBytes of compressed loads the
 * HTTP layer reports the received bytes; this is for the error log). */
off_t dh_sl_reader_bytes(dh_sl_reader_t *rd);

/*
 * A column_separator / row_delimiter header value to bytes: "\x01",
 * "\\x0D0A" (a hex run after \x), "|", "||" (multi-byte, at most 50).
 * DH_ERROR for an empty value, bad hex or over 50 bytes.
 */
dh_int_t dh_sl_parse_separator(dh_pool_t *pool, dh_str_t *value,
    dh_str_t *out);

#endif /* DH_STREAM_LOAD_READER_H */

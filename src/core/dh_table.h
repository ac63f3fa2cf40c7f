/*
 * Changes after the first version (additive): dh_table_t gained `seq`
 * (the append sequence of this process, private to dh_table.c).
 * dh_table_value_text(): a null value is 0 bytes (the caller writes its
 * null form); booleans are "true"/"false"; json is kept as given (checked
 * with cJSON, not re-serialized).
 *
 * Tables: typed rows kept in the storage environment.
 *
 * Declared at main level:
 *
 *     table db1.orders {
 *         column id bigint;
 *         column user varchar(64);
 *         column amount decimal(10,2) null;
 *         column ts datetime;
 *         key id;
 *     }
 *
 * Types: tinyint smallint int bigint (64-bit signed at most), float
 * double, decimal(p,s) (p <= 18, kept as a scaled int64), boolean, char(n)
 * varchar(n) string, date, datetime, json.  Columns are NOT NULL unless
 * declared `null`; key columns are always NOT NULL.  A keyed table
 * upserts by key (the last row with a key wins); a table without `key`
 * appends, each row getting the next number of a per-table sequence.
 *
 * Each table is one storage database ("table.<db>.<name>").  A row is
 * stored as key = encoded key columns (memcmp order = value order) or the
 * 8-byte big-endian row number, and data = every column's value in
 * declaration order (a null bitmap, then fixed-width numbers and
 * length-prefixed strings).
 *
 * Values travel as dh_table_value_t: integers, booleans, decimals (scaled
 * by 10^scale), dates (days since 1970-01-01) and datetimes (microseconds
 * since 1970-01-01 00:00:00, no time zone) in i; floats in d; strings
 * and json in s (not NUL-terminated; json is kept as its canonical text).
 */

#ifndef DH_TABLE_H
#define DH_TABLE_H

#include "dh_core.h"

#if (DH_HAVE_BDB)

#include "dh_storage.h"

typedef enum {
    DH_TABLE_TINYINT = 1,
    DH_TABLE_SMALLINT,
    DH_TABLE_INT,
    DH_TABLE_BIGINT,
    DH_TABLE_FLOAT,
    DH_TABLE_DOUBLE,
    DH_TABLE_DECIMAL,
    DH_TABLE_BOOLEAN,
    DH_TABLE_CHAR,
    DH_TABLE_VARCHAR,
    DH_TABLE_STRING,
    DH_TABLE_DATE,
    DH_TABLE_DATETIME,
    DH_TABLE_JSON
} dh_table_type_e;

typedef struct {
    dh_str_t          name;
    dh_table_type_e   type;
    dh_uint_t         length;       /* char/varchar: max bytes */
    dh_uint_t         precision;    /* decimal */
    dh_uint_t         scale;        /* decimal */
    unsigned          nullable:1;
    unsigned          key:1;
} dh_table_column_t;

typedef struct {
    unsigned          null:1;
    int64_t           i;
    double            d;
    dh_str_t          s;
} dh_table_value_t;

typedef struct {
    dh_str_t             db;
    dh_str_t             name;
    dh_str_t             full;        /* "db.name" */
    dh_array_t           columns;     /* dh_table_column_t */
    dh_uint_t           *keys;        /* indexes into columns */
    dh_uint_t            nkeys;       /* 0: append table */
    dh_storage_db_t     *data;
    u_char              *file;        /* declared at file:line */
    dh_uint_t            line;
    DB_SEQUENCE         *seq;         /* private: append row numbers */
} dh_table_t;

/* By db and name (exact, case-sensitive), after configuration. */
dh_table_t *dh_table_find(dh_cycle_t *cycle, dh_str_t *db, dh_str_t *name);
/* Every table of the cycle (elements are dh_table_t *). */
dh_array_t *dh_tables(dh_cycle_t *cycle);
dh_int_t dh_table_column_index(dh_table_t *t, dh_str_t *name);  /* -1 */

/*
 * Text to value, for loads: DH_OK, or DH_DECLINED with *err set to a
 * static message ("invalid value for bigint", "value too long for
 * varchar(64)", "decimal out of range for decimal(10,2)" ...).
 * Accepted forms: integers with optional sign; floats as strtod;
 * decimals with at most `scale` fraction digits (more are rounded half
 * up); booleans true/false/1/0 (any case); dates YYYY-MM-DD and YYYYMMDD;
 * datetimes "YYYY-MM-DD HH:MM:SS[.ffffff]", with 'T' also accepted, or a
 * date alone; json any valid JSON text.  Empty text is a valid string and
 * an invalid number.  The caller decides what "\N"/null means.
 * Strings in v->s point into p (no copy).
 */
dh_int_t dh_table_parse_value(dh_table_column_t *col, u_char *p, size_t len,
    dh_table_value_t *v, const char **err);

/* Value to text (CSV/JSON output, error messages).  buf must hold
 * dh_table_value_text_len(col, v) bytes; returns the end. */
size_t dh_table_value_text_len(dh_table_column_t *col, dh_table_value_t *v);
u_char *dh_table_value_text(dh_table_column_t *col, dh_table_value_t *v,
    u_char *buf);

/* One row (values[] in column order) to its stored key and data.  For an
 * append table key is left empty (the row number is given at put time).
 * Appends to the two buffers, growing them from pool; DH_ERROR only when
 * allocation fails or a NOT NULL column is null. */
dh_int_t dh_table_row_encode(dh_table_t *t, dh_table_value_t *values,
    dh_pool_t *pool, dh_buf_t **key, dh_buf_t **data);
/* Stored data back to values[] (strings point into data). */
dh_int_t dh_table_row_decode(dh_table_t *t, u_char *data, size_t len,
    dh_table_value_t *values);

/* Work-thread side, inside a storage job: stores one encoded row (an
 * empty key on an append table takes the next row number).  Returns a
 * Berkeley DB error or 0. */
int dh_table_put(dh_table_t *t, DB_TXN *txn, u_char *key, size_t key_len,
    u_char *data, size_t data_len);

extern dh_module_t  dh_table_module;

#endif /* DH_HAVE_BDB */

#endif /* DH_TABLE_H */

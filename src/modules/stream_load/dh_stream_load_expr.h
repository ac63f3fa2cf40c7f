/*
 * The `columns` and `where` headers of Stream Load.
 *
 * columns: a comma-separated list of source names in file order, and
 * derived columns "name = expr" (e.g. "c1, c2, tmp, c3 = tmp * 100,
 * c4 = upper(c2)").  A source name that is not a table column is read
 * and dropped (skipping); table columns missing from the list get null
 * (or fail the row if NOT NULL).
 *
 * where: comparisons (= != <> < <= > >=), AND, OR, NOT, parentheses, IN
 * (...), NOT IN, IS [NOT] NULL, LIKE, over column names (the target
 * columns, after `columns` mapping) and literals ('text', numbers, true,
 * false, NULL).  Rows for which it is not true are "unselected".
 *
 * Expressions (optional in StarRocks terms, supported here): + - * / %,
 * unary minus, functions upper lower length concat substr trim ifnull
 * coalesce if, comparison results as booleans.
 *
 * Values are dh_table_value_t with a type: numbers compare numerically
 * (decimals by their scaled value), strings by bytes, dates/datetimes as
 * numbers; a comparison with NULL is unknown (not selected).
 */

#ifndef DH_STREAM_LOAD_EXPR_H
#define DH_STREAM_LOAD_EXPR_H

#include "dh_config.h"
#include "dh_core.h"

#if (DH_HAVE_BDB)

#include "dh_table.h"

typedef struct dh_sl_expr_s      dh_sl_expr_t;
typedef struct dh_sl_columns_s   dh_sl_columns_t;

/* Compiles the columns header for table t (value NULL: the table's columns
 * in order).  NULL with *err = a message naming the problem ("Unknown
 * column 'x' in table 'db.t'", "syntax error in columns near '...'").
 * err points to pool memory or a static string. */
dh_sl_columns_t *dh_sl_columns_compile(dh_pool_t *pool, dh_table_t *t,
    dh_str_t *value, const char **err);

/* Source names in file order (what a CSV row's fields are, and the JSON
 * keys to read without jsonpaths). */
dh_str_t *dh_sl_columns_sources(dh_sl_columns_t *c, dh_uint_t *n);

/* One source row (fields/nulls in file order) to values[] in table column
 * order.  DH_OK; DH_DECLINED with *err when the field count differs from
 * the sources ("column count mismatch, expect=3 real=2"), or a value
 * does not convert (with strict false, a nullable column gets NULL
 * instead), or a NOT NULL column is null.  Scratch memory comes from
 * pool (the caller resets it per batch). */
dh_int_t dh_sl_columns_apply(dh_sl_columns_t *c, dh_pool_t *pool,
    dh_str_t *fields, u_char *nulls, dh_uint_t nfields, dh_uint_t strict,
    dh_table_value_t *values, const char **err);

/* Compiles the where header against t (names are table columns). */
dh_sl_expr_t *dh_sl_where_compile(dh_pool_t *pool, dh_table_t *t,
    dh_str_t *value, const char **err);

/* 1: the row (values in column order) is selected; 0: not. */
dh_uint_t dh_sl_where_match(dh_sl_expr_t *e, dh_pool_t *pool,
    dh_table_value_t *values);

#endif /* DH_HAVE_BDB */

#endif /* DH_STREAM_LOAD_EXPR_H */

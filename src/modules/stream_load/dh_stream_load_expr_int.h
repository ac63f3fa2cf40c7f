/*
 * Private to dh_stream_load_expr.c (parser, columns, where) and
 * dh_stream_load_expr_eval.c (values and evaluation): the AST and the
 * typed values it computes with.
 */

#ifndef DH_STREAM_LOAD_EXPR_INT_H
#define DH_STREAM_LOAD_EXPR_INT_H

#include "dh_config.h"
#include "dh_core.h"

#if (DH_HAVE_BDB)

#include "dh_stream_load_expr.h"


typedef enum {
    DH_SL_V_NULL = 0,
    DH_SL_V_INT,
    DH_SL_V_DEC,
    DH_SL_V_DOUBLE,
    DH_SL_V_BOOL,
    DH_SL_V_STR,
    DH_SL_V_DATE,
    DH_SL_V_DATETIME
} dh_sl_kind_e;

typedef struct {
    dh_sl_kind_e         kind;
    dh_uint_t            scale;      /* DEC */
    int64_t              i;          /* INT, DEC, BOOL, DATE, DATETIME */
    double               d;          /* DOUBLE */
    dh_str_t             s;          /* STR */
} dh_sl_val_t;

typedef enum {
    DH_SL_OP_LIT = 0,
    DH_SL_OP_COL,
    DH_SL_OP_NEG,
    DH_SL_OP_NOT,
    DH_SL_OP_AND,
    DH_SL_OP_OR,
    DH_SL_OP_EQ,
    DH_SL_OP_NE,
    DH_SL_OP_LT,
    DH_SL_OP_LE,
    DH_SL_OP_GT,
    DH_SL_OP_GE,
    DH_SL_OP_ADD,
    DH_SL_OP_SUB,
    DH_SL_OP_MUL,
    DH_SL_OP_DIV,
    DH_SL_OP_MOD,
    DH_SL_OP_IN,                 /* args[0] IN (args[1..]) */
    DH_SL_OP_ISNULL,
    DH_SL_OP_LIKE,
    DH_SL_OP_FUNC
} dh_sl_op_e;

typedef enum {
    DH_SL_F_UPPER = 0,
    DH_SL_F_LOWER,
    DH_SL_F_LENGTH,
    DH_SL_F_CONCAT,
    DH_SL_F_SUBSTR,
    DH_SL_F_TRIM,
    DH_SL_F_IFNULL,
    DH_SL_F_COALESCE,
    DH_SL_F_IF
} dh_sl_func_e;

struct dh_sl_expr_s {
    dh_sl_op_e           op;
    unsigned             negate:1;   /* NOT IN, IS NOT NULL, NOT LIKE */
    dh_sl_func_e         func;
    dh_sl_val_t          lit;
    dh_uint_t            col;        /* COL: index of the variable */
    dh_sl_expr_t       **args;
    dh_uint_t            nargs;
    dh_table_column_t   *cols;       /* where's root: the table columns */
};

/* what names are bound to while evaluating */
typedef struct {
    dh_pool_t           *pool;
    dh_sl_val_t         *vars;       /* columns: the source values */
    dh_table_column_t   *cols;       /* where: table values by column */
    dh_table_value_t    *values;
} dh_sl_eval_t;

dh_sl_val_t dh_sl_eval(dh_sl_eval_t *ev, dh_sl_expr_t *e);
dh_sl_val_t dh_sl_null(void);
/* a table value as an expression value, by its column's type */
dh_sl_val_t dh_sl_from_table(dh_table_column_t *col, dh_table_value_t *tv);
/* text of a value: for string functions and conversion to a column */
dh_int_t dh_sl_text(dh_pool_t *pool, dh_sl_val_t *v, dh_str_t *out);
/* 1 true, 0 false, -1 NULL */
int dh_sl_truth(dh_sl_val_t *v);

#endif /* DH_HAVE_BDB */

#endif /* DH_STREAM_LOAD_EXPR_INT_H */

/*
 * Evaluation of Stream Load expressions (columns mapping and where) over
 * typed values; see dh_stream_load_expr.c for the language and
 * dh_stream_load_expr_int.h for the types.
 *
 * Numbers stay exact while they can: integers and decimals (a scaled
 * int64 and its scale) add, subtract, multiply and compare exactly, with
 * overflow checked; division, doubles and overflow go to double.  Strings
 * meet numbers and dates by being read as one (NULL when they are not).
 */

#include "dh_config.h"
#include "dh_core.h"

#if (DH_HAVE_BDB)

#include <math.h>

#include "dh_stream_load_expr_int.h"


/* ---- values ------------------------------------------------------------ */


static const int64_t  dh_sl_pow10[] = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL,
    100000000LL, 1000000000LL, 10000000000LL, 100000000000LL,
    1000000000000LL, 10000000000000LL, 100000000000000LL,
    1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
    1000000000000000000LL
};


dh_sl_val_t
dh_sl_null(void)
{
    dh_sl_val_t  v;

    dh_memzero(&v, sizeof(dh_sl_val_t));

    return v;
}


static dh_sl_val_t
dh_sl_int(dh_sl_kind_e kind, int64_t i)
{
    dh_sl_val_t  v;

    v = dh_sl_null();
    v.kind = kind;
    v.i = i;

    return v;
}


static dh_sl_val_t
dh_sl_double(double d)
{
    dh_sl_val_t  v;

    v = dh_sl_null();
    v.kind = DH_SL_V_DOUBLE;
    v.d = d;

    return v;
}


dh_sl_val_t
dh_sl_from_table(dh_table_column_t *col, dh_table_value_t *tv)
{
    dh_sl_val_t  v;

    v = dh_sl_null();

    if (tv->null) {
        return v;
    }

    switch (col->type) {

    case DH_TABLE_FLOAT:
    case DH_TABLE_DOUBLE:
        return dh_sl_double(tv->d);

    case DH_TABLE_DECIMAL:
        v = dh_sl_int(DH_SL_V_DEC, tv->i);
        v.scale = col->scale;
        return v;

    case DH_TABLE_BOOLEAN:
        return dh_sl_int(DH_SL_V_BOOL, tv->i);

    case DH_TABLE_DATE:
        return dh_sl_int(DH_SL_V_DATE, tv->i);

    case DH_TABLE_DATETIME:
        return dh_sl_int(DH_SL_V_DATETIME, tv->i);

    case DH_TABLE_CHAR:
    case DH_TABLE_VARCHAR:
    case DH_TABLE_STRING:
    case DH_TABLE_JSON:
        v.kind = DH_SL_V_STR;
        v.s = tv->s;
        return v;

    default:
        return dh_sl_int(DH_SL_V_INT, tv->i);
    }
}


dh_int_t
dh_sl_text(dh_pool_t *pool, dh_sl_val_t *v, dh_str_t *out)
{
    u_char             *buf, *end;
    uint64_t            mag;
    dh_table_value_t    tv;
    dh_table_column_t   col;

    if (v->kind == DH_SL_V_STR) {
        *out = v->s;
        return DH_OK;
    }

    buf = dh_pnalloc(pool, 64);
    if (buf == NULL) {
        return DH_ERROR;
    }

    out->data = buf;

    switch (v->kind) {

    case DH_SL_V_INT:
        out->len = snprintf((char *) buf, 64, "%lld", (long long) v->i);
        return DH_OK;

    case DH_SL_V_BOOL:
        out->len = snprintf((char *) buf, 64, "%d", v->i ? 1 : 0);
        return DH_OK;

    case DH_SL_V_DOUBLE:
        out->len = snprintf((char *) buf, 64, "%.17g", v->d);
        return DH_OK;

    case DH_SL_V_DEC:
        if (v->scale == 0) {
            out->len = snprintf((char *) buf, 64, "%lld", (long long) v->i);
            return DH_OK;
        }

        mag = (v->i < 0) ? (uint64_t) 0 - (uint64_t) v->i : (uint64_t) v->i;
        out->len = snprintf((char *) buf, 64, "%s%llu.%0*llu",
                            v->i < 0 ? "-" : "",
                            (unsigned long long)
                                (mag / (uint64_t) dh_sl_pow10[v->scale]),
                            (int) v->scale,
                            (unsigned long long)
                                (mag % (uint64_t) dh_sl_pow10[v->scale]));
        return DH_OK;

    default:
        /* dates: the table's own text form */
        dh_memzero(&col, sizeof(dh_table_column_t));
        col.type = (v->kind == DH_SL_V_DATE) ? DH_TABLE_DATE
                                             : DH_TABLE_DATETIME;
        dh_memzero(&tv, sizeof(dh_table_value_t));
        tv.i = v->i;
        end = dh_table_value_text(&col, &tv, buf);
        out->len = end - buf;
        return DH_OK;
    }
}


/*
 * A string in a numeric context: an integer or decimal if it is one, else
 * a double; DH_DECLINED when it is no number.
 */
static dh_int_t
dh_sl_str_number(dh_sl_val_t *v, dh_sl_val_t *out)
{
    u_char             buf[64], *end;
    dh_table_value_t   tv;
    dh_table_column_t  col;
    const char        *err;
    size_t             i, scale;

    if (v->s.len == 0 || v->s.len >= sizeof(buf)) {
        return DH_DECLINED;
    }

    dh_memzero(&col, sizeof(dh_table_column_t));
    err = NULL;

    col.type = DH_TABLE_BIGINT;

    if (dh_table_parse_value(&col, v->s.data, v->s.len, &tv, &err) == DH_OK) {
        *out = dh_sl_int(DH_SL_V_INT, tv.i);
        return DH_OK;
    }

    for (i = 0; i < v->s.len && v->s.data[i] != '.'; i++) { /* void */ }

    scale = (i < v->s.len) ? v->s.len - i - 1 : 0;

    if (scale > 0 && scale <= 18 && v->s.len <= 19) {
        col.type = DH_TABLE_DECIMAL;
        col.precision = 18;
        col.scale = scale;

        if (dh_table_parse_value(&col, v->s.data, v->s.len, &tv, &err)
            == DH_OK)
        {
            *out = dh_sl_int(DH_SL_V_DEC, tv.i);
            out->scale = scale;
            return DH_OK;
        }
    }

    dh_memcpy(buf, v->s.data, v->s.len);
    buf[v->s.len] = '\0';

    *out = dh_sl_double(strtod((char *) buf, (char **) &end));

    if (end != buf + v->s.len || !isfinite(out->d)) {
        return DH_DECLINED;
    }

    return DH_OK;
}


/* A string as a date or datetime (the kind of `as`). */
static dh_int_t
dh_sl_str_time(dh_sl_val_t *v, dh_sl_kind_e as, dh_sl_val_t *out)
{
    dh_table_value_t   tv;
    dh_table_column_t  col;
    const char        *err;

    dh_memzero(&col, sizeof(dh_table_column_t));
    col.type = (as == DH_SL_V_DATE) ? DH_TABLE_DATE : DH_TABLE_DATETIME;
    err = NULL;

    if (dh_table_parse_value(&col, v->s.data, v->s.len, &tv, &err) != DH_OK)
    {
        return DH_DECLINED;
    }

    *out = dh_sl_int(as, tv.i);

    return DH_OK;
}


static double
dh_sl_to_double(dh_sl_val_t *v)
{
    if (v->kind == DH_SL_V_DOUBLE) {
        return v->d;
    }

    if (v->kind == DH_SL_V_DEC) {
        return (double) v->i / (double) dh_sl_pow10[v->scale];
    }

    return (double) v->i;
}


/* Brings an exact number to scale; DH_ERROR on overflow. */
static dh_int_t
dh_sl_rescale(dh_sl_val_t *v, dh_uint_t scale, int64_t *out)
{
    dh_uint_t  from;

    from = (v->kind == DH_SL_V_DEC) ? v->scale : 0;

    if (__builtin_mul_overflow(v->i, dh_sl_pow10[scale - from], out)) {
        return DH_ERROR;
    }

    return DH_OK;
}


/*
 * Two values made comparable (strings turned into numbers or dates when
 * the other side is one).  DH_DECLINED: they cannot be compared (NULL).
 */
static dh_int_t
dh_sl_coerce(dh_sl_val_t *a, dh_sl_val_t *b)
{
    if (a->kind == DH_SL_V_NULL || b->kind == DH_SL_V_NULL) {
        return DH_DECLINED;
    }

    if (a->kind == DH_SL_V_STR && b->kind == DH_SL_V_STR) {
        return DH_OK;
    }

    if (a->kind == DH_SL_V_STR) {
        if (b->kind == DH_SL_V_DATE || b->kind == DH_SL_V_DATETIME) {
            return dh_sl_str_time(a, b->kind, a);
        }

        return dh_sl_str_number(a, a);
    }

    if (b->kind == DH_SL_V_STR) {
        return dh_sl_coerce(b, a);
    }

    /* a date against a datetime: the date's midnight */
    if (a->kind == DH_SL_V_DATE && b->kind == DH_SL_V_DATETIME) {
        *a = dh_sl_int(DH_SL_V_DATETIME, a->i * 86400LL * 1000000LL);

    } else if (b->kind == DH_SL_V_DATE && a->kind == DH_SL_V_DATETIME) {
        *b = dh_sl_int(DH_SL_V_DATETIME, b->i * 86400LL * 1000000LL);
    }

    return DH_OK;
}


/* <0, 0, >0; DH_DECLINED in *unknown when either side is NULL. */
static int
dh_sl_compare(dh_sl_val_t a, dh_sl_val_t b, dh_uint_t *unknown)
{
    int        c;
    size_t     n;
    int64_t    x, y;
    double     dx, dy;
    dh_uint_t  scale;

    *unknown = 0;

    if (dh_sl_coerce(&a, &b) != DH_OK) {
        *unknown = 1;
        return 0;
    }

    if (a.kind == DH_SL_V_STR) {
        n = dh_min(a.s.len, b.s.len);
        c = n ? dh_memcmp(a.s.data, b.s.data, n) : 0;

        if (c == 0) {
            c = (a.s.len > b.s.len) - (a.s.len < b.s.len);
        }

        return c;
    }

    if (a.kind != DH_SL_V_DOUBLE && b.kind != DH_SL_V_DOUBLE) {
        scale = dh_max(a.kind == DH_SL_V_DEC ? a.scale : 0,
                       b.kind == DH_SL_V_DEC ? b.scale : 0);

        if (dh_sl_rescale(&a, scale, &x) == DH_OK
            && dh_sl_rescale(&b, scale, &y) == DH_OK)
        {
            return (x > y) - (x < y);
        }
    }

    dx = dh_sl_to_double(&a);
    dy = dh_sl_to_double(&b);

    return (dx > dy) - (dx < dy);
}


static dh_sl_val_t
dh_sl_bool(dh_uint_t b)
{
    return dh_sl_int(DH_SL_V_BOOL, b ? 1 : 0);
}


int
dh_sl_truth(dh_sl_val_t *v)
{
    dh_sl_val_t  n;

    switch (v->kind) {
    case DH_SL_V_NULL:
        return -1;
    case DH_SL_V_DOUBLE:
        return v->d != 0;
    case DH_SL_V_STR:
        if (dh_sl_str_number(v, &n) != DH_OK) {
            return 0;
        }
        return dh_sl_truth(&n);
    default:
        return v->i != 0;
    }
}


/* + - * / % over numbers; strings are read as numbers, dates as days. */
static dh_sl_val_t
dh_sl_arith(dh_sl_op_e op, dh_sl_val_t a, dh_sl_val_t b)
{
    int64_t    x, y, r;
    double     dx, dy;
    dh_uint_t  scale, exact;

    if ((a.kind == DH_SL_V_STR && dh_sl_str_number(&a, &a) != DH_OK)
        || (b.kind == DH_SL_V_STR && dh_sl_str_number(&b, &b) != DH_OK)
        || a.kind == DH_SL_V_NULL || b.kind == DH_SL_V_NULL)
    {
        return dh_sl_null();
    }

    exact = (a.kind != DH_SL_V_DOUBLE && b.kind != DH_SL_V_DOUBLE
             && op != DH_SL_OP_DIV);

    if (exact) {
        if (a.kind == DH_SL_V_DATE || a.kind == DH_SL_V_DATETIME) {
            a.kind = DH_SL_V_INT;
        }

        if (b.kind == DH_SL_V_DATE || b.kind == DH_SL_V_DATETIME) {
            b.kind = DH_SL_V_INT;
        }

        scale = dh_max(a.kind == DH_SL_V_DEC ? a.scale : 0,
                       b.kind == DH_SL_V_DEC ? b.scale : 0);

        if (op == DH_SL_OP_MUL) {
            x = a.i;
            y = b.i;
            scale = (a.kind == DH_SL_V_DEC ? a.scale : 0)
                    + (b.kind == DH_SL_V_DEC ? b.scale : 0);

        } else if (dh_sl_rescale(&a, scale, &x) != DH_OK
                   || dh_sl_rescale(&b, scale, &y) != DH_OK)
        {
            goto inexact;
        }

        switch (op) {
        case DH_SL_OP_ADD:
            if (__builtin_add_overflow(x, y, &r)) {
                goto inexact;
            }
            break;
        case DH_SL_OP_SUB:
            if (__builtin_sub_overflow(x, y, &r)) {
                goto inexact;
            }
            break;
        case DH_SL_OP_MUL:
            if (scale > 18 || __builtin_mul_overflow(x, y, &r)) {
                goto inexact;
            }
            break;
        default: /* MOD */
            if (y == 0) {
                return dh_sl_null();
            }
            r = (y == -1) ? 0 : x % y;
            break;
        }

        a = dh_sl_int(scale ? DH_SL_V_DEC : DH_SL_V_INT, r);
        a.scale = scale;

        return a;
    }

inexact:

    dx = dh_sl_to_double(&a);
    dy = dh_sl_to_double(&b);

    switch (op) {
    case DH_SL_OP_ADD:
        return dh_sl_double(dx + dy);
    case DH_SL_OP_SUB:
        return dh_sl_double(dx - dy);
    case DH_SL_OP_MUL:
        return dh_sl_double(dx * dy);
    case DH_SL_OP_DIV:
        return (dy == 0) ? dh_sl_null() : dh_sl_double(dx / dy);
    default:
        /* a remainder without libm: through a whole quotient */
        if (dy == 0 || !(dx / dy > -9.2e18 && dx / dy < 9.2e18)) {
            return dh_sl_null();
        }

        return dh_sl_double(dx - dy * (double) (int64_t) (dx / dy));
    }
}


/* A whole number for function arguments (decimals and doubles are cut). */
static dh_int_t
dh_sl_to_int(dh_sl_val_t *v, int64_t *out)
{
    dh_sl_val_t  n;

    n = *v;

    if (n.kind == DH_SL_V_STR && dh_sl_str_number(v, &n) != DH_OK) {
        return DH_DECLINED;
    }

    switch (n.kind) {
    case DH_SL_V_DEC:
        *out = n.i / dh_sl_pow10[n.scale];
        return DH_OK;
    case DH_SL_V_DOUBLE:
        if (!(n.d > -9.2e18 && n.d < 9.2e18)) {
            return DH_DECLINED;
        }
        *out = (int64_t) n.d;
        return DH_OK;
    case DH_SL_V_NULL:
        return DH_DECLINED;
    default:
        *out = n.i;
        return DH_OK;
    }
}


/* SQL LIKE: % any run, _ one byte, \ escapes the next byte. */
static dh_uint_t
dh_sl_like(u_char *s, u_char *se, u_char *p, u_char *pe)
{
    u_char  *star_p, *star_s;

    star_p = NULL;
    star_s = NULL;

    while (s < se) {
        if (p < pe && *p == '%') {
            star_p = ++p;
            star_s = s;
            continue;
        }

        if (p < pe && *p == '\\' && p + 1 < pe) {
            if (p[1] == *s) {
                p += 2;
                s++;
                continue;
            }

        } else if (p < pe && (*p == '_' || *p == *s)) {
            p++;
            s++;
            continue;
        }

        if (star_p == NULL) {
            return 0;
        }

        /* let the last % take one more byte */
        p = star_p;
        s = ++star_s;
    }

    while (p < pe && *p == '%') {
        p++;
    }

    return p == pe;
}


/* ---- evaluation -------------------------------------------------------- */


static dh_sl_val_t
dh_sl_eval_func(dh_sl_eval_t *ev, dh_sl_expr_t *e)
{
    u_char       *d;
    size_t        i;
    int64_t       pos, n;
    dh_str_t      t, u;
    dh_sl_val_t   v, w, args[3];

    switch (e->func) {

    case DH_SL_F_IFNULL:
    case DH_SL_F_COALESCE:
        for (i = 0; i < e->nargs; i++) {
            v = dh_sl_eval(ev, e->args[i]);
            if (v.kind != DH_SL_V_NULL) {
                return v;
            }
        }

        return dh_sl_null();

    case DH_SL_F_IF:
        v = dh_sl_eval(ev, e->args[0]);
        return dh_sl_eval(ev, e->args[dh_sl_truth(&v) == 1 ? 1 : 2]);

    case DH_SL_F_CONCAT:
        w = dh_sl_null();
        w.kind = DH_SL_V_STR;

        for (i = 0; i < e->nargs; i++) {
            v = dh_sl_eval(ev, e->args[i]);

            if (v.kind == DH_SL_V_NULL || dh_sl_text(ev->pool, &v, &t) != DH_OK)
            {
                return dh_sl_null();
            }

            d = dh_pnalloc(ev->pool, w.s.len + t.len + 1);
            if (d == NULL) {
                return dh_sl_null();
            }

            if (w.s.len) {
                dh_memcpy(d, w.s.data, w.s.len);
            }

            if (t.len) {
                dh_memcpy(d + w.s.len, t.data, t.len);
            }

            w.s.data = d;
            w.s.len += t.len;
        }

        return w;

    default:
        break;
    }

    /* the rest take their first argument as text */
    for (i = 0; i < e->nargs; i++) {
        args[i] = dh_sl_eval(ev, e->args[i]);
        if (args[i].kind == DH_SL_V_NULL) {
            return dh_sl_null();
        }
    }

    if (dh_sl_text(ev->pool, &args[0], &t) != DH_OK) {
        return dh_sl_null();
    }

    w = dh_sl_null();
    w.kind = DH_SL_V_STR;

    switch (e->func) {

    case DH_SL_F_LENGTH:
        return dh_sl_int(DH_SL_V_INT, (int64_t) t.len);

    case DH_SL_F_UPPER:
    case DH_SL_F_LOWER:
        d = dh_pnalloc(ev->pool, t.len + 1);
        if (d == NULL) {
            return dh_sl_null();
        }

        for (i = 0; i < t.len; i++) {
            d[i] = (e->func == DH_SL_F_UPPER) ? dh_toupper(t.data[i])
                                              : dh_tolower(t.data[i]);
        }

        w.s.data = d;
        w.s.len = t.len;
        return w;

    case DH_SL_F_TRIM:
        u = t;

        while (u.len && u.data[0] == ' ') {
            u.data++;
            u.len--;
        }

        while (u.len && u.data[u.len - 1] == ' ') {
            u.len--;
        }

        w.s = u;
        return w;

    default: /* SUBSTR: 1-based, a negative start counts from the end */
        if (dh_sl_to_int(&args[1], &pos) != DH_OK) {
            return dh_sl_null();
        }

        n = (int64_t) t.len;

        if (e->nargs == 3 && dh_sl_to_int(&args[2], &n) != DH_OK) {
            return dh_sl_null();
        }

        if (pos < 0) {
            pos = (int64_t) t.len + pos + 1;
        }

        if (pos < 1 || pos > (int64_t) t.len || n <= 0) {
            w.s.data = t.data;
            w.s.len = 0;
            return w;
        }

        w.s.data = t.data + pos - 1;
        w.s.len = (size_t) dh_min(n, (int64_t) t.len - pos + 1);
        return w;
    }
}


dh_sl_val_t
dh_sl_eval(dh_sl_eval_t *ev, dh_sl_expr_t *e)
{
    int          c, ta, tb;
    dh_uint_t    i, unknown, seen_null;
    dh_str_t     s, pat;
    dh_sl_val_t  a, b;

    switch (e->op) {

    case DH_SL_OP_LIT:
        return e->lit;

    case DH_SL_OP_COL:
        if (ev->vars) {
            return ev->vars[e->col];
        }

        return dh_sl_from_table(&ev->cols[e->col], &ev->values[e->col]);

    case DH_SL_OP_NEG:
        a = dh_sl_eval(ev, e->args[0]);
        return dh_sl_arith(DH_SL_OP_SUB, dh_sl_int(DH_SL_V_INT, 0), a);

    case DH_SL_OP_NOT:
        a = dh_sl_eval(ev, e->args[0]);
        ta = dh_sl_truth(&a);
        return (ta < 0) ? dh_sl_null() : dh_sl_bool(!ta);

    case DH_SL_OP_AND:
    case DH_SL_OP_OR:
        a = dh_sl_eval(ev, e->args[0]);
        ta = dh_sl_truth(&a);

        /* short circuit: false AND x, true OR x */
        if (ta == (e->op == DH_SL_OP_OR)) {
            return dh_sl_bool(ta);
        }

        b = dh_sl_eval(ev, e->args[1]);
        tb = dh_sl_truth(&b);

        if (tb == (e->op == DH_SL_OP_OR)) {
            return dh_sl_bool(tb);
        }

        if (ta < 0 || tb < 0) {
            return dh_sl_null();
        }

        return dh_sl_bool(e->op == DH_SL_OP_AND);

    case DH_SL_OP_EQ:
    case DH_SL_OP_NE:
    case DH_SL_OP_LT:
    case DH_SL_OP_LE:
    case DH_SL_OP_GT:
    case DH_SL_OP_GE:
        c = dh_sl_compare(dh_sl_eval(ev, e->args[0]),
                          dh_sl_eval(ev, e->args[1]), &unknown);
        if (unknown) {
            return dh_sl_null();
        }

        switch (e->op) {
        case DH_SL_OP_EQ:
            return dh_sl_bool(c == 0);
        case DH_SL_OP_NE:
            return dh_sl_bool(c != 0);
        case DH_SL_OP_LT:
            return dh_sl_bool(c < 0);
        case DH_SL_OP_LE:
            return dh_sl_bool(c <= 0);
        case DH_SL_OP_GT:
            return dh_sl_bool(c > 0);
        default:
            return dh_sl_bool(c >= 0);
        }

    case DH_SL_OP_IN:
        a = dh_sl_eval(ev, e->args[0]);
        if (a.kind == DH_SL_V_NULL) {
            return dh_sl_null();
        }

        seen_null = 0;

        for (i = 1; i < e->nargs; i++) {
            c = dh_sl_compare(a, dh_sl_eval(ev, e->args[i]), &unknown);

            if (unknown) {
                seen_null = 1;

            } else if (c == 0) {
                return dh_sl_bool(!e->negate);
            }
        }

        return seen_null ? dh_sl_null() : dh_sl_bool(e->negate);

    case DH_SL_OP_ISNULL:
        a = dh_sl_eval(ev, e->args[0]);
        return dh_sl_bool((a.kind == DH_SL_V_NULL) != e->negate);

    case DH_SL_OP_LIKE:
        a = dh_sl_eval(ev, e->args[0]);
        b = dh_sl_eval(ev, e->args[1]);

        if (a.kind == DH_SL_V_NULL || b.kind == DH_SL_V_NULL
            || dh_sl_text(ev->pool, &a, &s) != DH_OK
            || dh_sl_text(ev->pool, &b, &pat) != DH_OK)
        {
            return dh_sl_null();
        }

        return dh_sl_bool(dh_sl_like(s.data, s.data + s.len, pat.data,
                                     pat.data + pat.len) != e->negate);

    case DH_SL_OP_FUNC:
        return dh_sl_eval_func(ev, e);

    default:
        return dh_sl_arith(e->op, dh_sl_eval(ev, e->args[0]),
                           dh_sl_eval(ev, e->args[1]));
    }
}

#endif /* DH_HAVE_BDB */

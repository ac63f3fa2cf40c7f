/*
 * Stream Load `columns` and `where`: a recursive-descent parser into a
 * small AST, evaluated per row over typed values (see the header for the
 * language).
 *
 * Values inside expressions are dh_sl_val_t: NULL, integers, decimals
 * (a scaled int64 and its scale, as table decimals are, so that
 * "amount > 12.5" is exact), doubles, booleans, strings, dates (days) and
 * datetimes (microseconds).  A number literal with a point and at most 18
 * digits is a decimal.  Logic is three-valued: a comparison with NULL is
 * NULL, NOT NULL is NULL, and a row is selected only when where is true.
 */

#include "dh_config.h"
#include "dh_core.h"

#if (DH_HAVE_BDB)

#include "dh_stream_load_expr_int.h"


/* what names mean while parsing */
typedef struct {
    dh_pool_t           *pool;
    u_char              *start;      /* the whole header value */
    u_char              *p;
    u_char              *last;
    const char          *what;       /* "columns" or "where" */
    const char          *err;
    dh_table_t          *table;
    dh_str_t            *names;      /* variables: sources or columns */
    dh_uint_t            nnames;
    dh_uint_t            depth;      /* of recursion, bounded */
} dh_sl_parse_t;

#define DH_SL_MAX_DEPTH  128

struct dh_sl_columns_s {
    dh_table_t          *table;
    dh_str_t            *sources;
    dh_uint_t            nsources;
    dh_int_t            *source_col; /* table column or -1 (dropped) */
    dh_uint_t            nderived;
    dh_uint_t           *derived_col;
    dh_sl_expr_t       **derived;
    dh_str_t            *derived_text;
};


static dh_sl_expr_t *dh_sl_parse_expr(dh_sl_parse_t *ps);
static void dh_sl_skip_item(dh_sl_parse_t *ps);


/* ---- lexing ------------------------------------------------------------ */


static void
dh_sl_skip_ws(dh_sl_parse_t *ps)
{
    while (ps->p < ps->last
           && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n'
               || *ps->p == '\r'))
    {
        ps->p++;
    }
}


static dh_uint_t
dh_sl_ident_char(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
}


/* "syntax error in where near 'x > '" (the rest of the text, cut) */
static void *
dh_sl_syntax(dh_sl_parse_t *ps)
{
    dh_str_t  *s;
    int        n;

    if (ps->err) {
        return NULL;
    }

    n = (int) dh_min(ps->last - ps->p, 32);

    if (n == 0) {
        s = dh_psprintf(ps->pool, "syntax error in %s at the end", ps->what);

    } else {
        s = dh_psprintf(ps->pool, "syntax error in %s near '%.*s'", ps->what,
                        n, (char *) ps->p);
    }

    ps->err = s ? (const char *) s->data : "syntax error";

    return NULL;
}


/* Consumes the punctuation tok if it is next. */
static dh_uint_t
dh_sl_accept(dh_sl_parse_t *ps, const char *tok)
{
    size_t  n;

    dh_sl_skip_ws(ps);
    n = dh_strlen(tok);

    if ((size_t) (ps->last - ps->p) >= n && dh_memcmp(ps->p, tok, n) == 0) {
        ps->p += n;
        return 1;
    }

    return 0;
}


/* Consumes the keyword kw (any case, a whole word) if it is next. */
static dh_uint_t
dh_sl_keyword(dh_sl_parse_t *ps, const char *kw)
{
    size_t  n;

    dh_sl_skip_ws(ps);
    n = dh_strlen(kw);

    if ((size_t) (ps->last - ps->p) >= n
        && dh_strncasecmp(ps->p, (u_char *) kw, n) == 0
        && (ps->p + n == ps->last || !dh_sl_ident_char(ps->p[n])))
    {
        ps->p += n;
        return 1;
    }

    return 0;
}


/* A name: letters, digits, _ or a `back-quoted` one. */
static dh_int_t
dh_sl_ident(dh_sl_parse_t *ps, dh_str_t *name)
{
    u_char  *s;

    dh_sl_skip_ws(ps);

    if (ps->p < ps->last && *ps->p == '`') {
        s = ++ps->p;

        while (ps->p < ps->last && *ps->p != '`') {
            ps->p++;
        }

        if (ps->p == ps->last || ps->p == s) {
            return DH_ERROR;
        }

        name->data = s;
        name->len = ps->p++ - s;

        return DH_OK;
    }

    s = ps->p;

    while (ps->p < ps->last && dh_sl_ident_char(*ps->p)) {
        ps->p++;
    }

    if (ps->p == s || (*s >= '0' && *s <= '9')) {
        ps->p = s;
        return DH_ERROR;
    }

    name->data = s;
    name->len = ps->p - s;

    return DH_OK;
}


/* ---- parsing ----------------------------------------------------------- */


static dh_sl_expr_t *
dh_sl_node(dh_sl_parse_t *ps, dh_sl_op_e op, dh_uint_t nargs)
{
    dh_sl_expr_t  *e;

    e = dh_pcalloc(ps->pool, sizeof(dh_sl_expr_t));
    if (e == NULL) {
        ps->err = "out of memory";
        return NULL;
    }

    e->op = op;
    e->nargs = nargs;

    if (nargs) {
        e->args = dh_pcalloc(ps->pool, nargs * sizeof(dh_sl_expr_t *));
        if (e->args == NULL) {
            ps->err = "out of memory";
            return NULL;
        }
    }

    return e;
}


static dh_sl_expr_t *
dh_sl_binary(dh_sl_parse_t *ps, dh_sl_op_e op, dh_sl_expr_t *a,
    dh_sl_expr_t *b)
{
    dh_sl_expr_t  *e;

    if (a == NULL || b == NULL) {
        return NULL;
    }

    e = dh_sl_node(ps, op, 2);
    if (e == NULL) {
        return NULL;
    }

    e->args[0] = a;
    e->args[1] = b;

    return e;
}


/* 'text' with '' or \' inside, or "text" */
static dh_sl_expr_t *
dh_sl_parse_string(dh_sl_parse_t *ps)
{
    u_char        q, *dst;
    dh_sl_expr_t  *e;

    q = *ps->p++;

    e = dh_sl_node(ps, DH_SL_OP_LIT, 0);
    if (e == NULL) {
        return NULL;
    }

    dst = dh_pnalloc(ps->pool, ps->last - ps->p + 1);
    if (dst == NULL) {
        ps->err = "out of memory";
        return NULL;
    }

    e->lit.kind = DH_SL_V_STR;
    e->lit.s.data = dst;

    for ( ;; ) {
        if (ps->p == ps->last) {
            return dh_sl_syntax(ps);
        }

        if (*ps->p == '\\' && ps->p + 1 < ps->last) {
            *dst++ = ps->p[1];
            ps->p += 2;
            continue;
        }

        if (*ps->p == q) {
            if (ps->p + 1 < ps->last && ps->p[1] == q) {
                *dst++ = q;
                ps->p += 2;
                continue;
            }

            ps->p++;
            break;
        }

        *dst++ = *ps->p++;
    }

    e->lit.s.len = dst - e->lit.s.data;

    return e;
}


/* 12, 12.50 (decimal, scale 2), 1e3 and long numbers (double) */
static dh_sl_expr_t *
dh_sl_parse_number(dh_sl_parse_t *ps)
{
    u_char        *s, buf[64];
    int64_t        i;
    dh_uint_t      digits, scale, point, exp;
    dh_sl_expr_t  *e;

    s = ps->p;
    i = 0;
    digits = 0;
    scale = 0;
    point = 0;
    exp = 0;

    while (ps->p < ps->last) {
        if (*ps->p >= '0' && *ps->p <= '9') {
            if (digits < 18) {
                i = i * 10 + (*ps->p - '0');
            }

            digits++;
            scale += point;

        } else if (*ps->p == '.' && !point && !exp) {
            point = 1;

        } else if ((*ps->p == 'e' || *ps->p == 'E') && !exp && digits) {
            exp = 1;

            if (ps->p + 1 < ps->last
                && (ps->p[1] == '+' || ps->p[1] == '-'))
            {
                ps->p++;
            }

        } else {
            break;
        }

        ps->p++;
    }

    if (digits == 0 || (size_t) (ps->p - s) >= sizeof(buf)) {
        ps->p = s;
        return dh_sl_syntax(ps);
    }

    e = dh_sl_node(ps, DH_SL_OP_LIT, 0);
    if (e == NULL) {
        return NULL;
    }

    if (!exp && digits <= 18) {
        e->lit.kind = point ? DH_SL_V_DEC : DH_SL_V_INT;
        e->lit.i = i;
        e->lit.scale = scale;
        return e;
    }

    dh_memcpy(buf, s, ps->p - s);
    buf[ps->p - s] = '\0';

    e->lit.kind = DH_SL_V_DOUBLE;
    e->lit.d = strtod((char *) buf, NULL);

    return e;
}


static const struct {
    const char    *name;
    dh_sl_func_e   func;
    dh_uint_t      min;
    dh_uint_t      max;
} dh_sl_funcs[] = {
    { "upper",    DH_SL_F_UPPER,    1, 1 },
    { "lower",    DH_SL_F_LOWER,    1, 1 },
    { "length",   DH_SL_F_LENGTH,   1, 1 },
    { "concat",   DH_SL_F_CONCAT,   1, 64 },
    { "substr",   DH_SL_F_SUBSTR,   2, 3 },
    { "substring", DH_SL_F_SUBSTR,  2, 3 },
    { "trim",     DH_SL_F_TRIM,     1, 1 },
    { "ifnull",   DH_SL_F_IFNULL,   2, 2 },
    { "coalesce", DH_SL_F_COALESCE, 1, 64 },
    { "if",       DH_SL_F_IF,       3, 3 }
};


static dh_sl_expr_t *
dh_sl_parse_call(dh_sl_parse_t *ps, dh_str_t *name)
{
    dh_uint_t      f, n, nf;
    dh_sl_expr_t  *e, *args[64];
    dh_str_t      *s;

    nf = sizeof(dh_sl_funcs) / sizeof(dh_sl_funcs[0]);

    for (f = 0; f < nf; f++) {
        if (name->len == dh_strlen(dh_sl_funcs[f].name)
            && dh_strncasecmp(name->data, (u_char *) dh_sl_funcs[f].name,
                              name->len) == 0)
        {
            break;
        }
    }

    if (f == nf) {
        s = dh_psprintf(ps->pool, "unknown function '%.*s' in %s",
                        (int) name->len, (char *) name->data, ps->what);
        ps->err = s ? (const char *) s->data : "unknown function";
        return NULL;
    }

    n = 0;

    if (!dh_sl_accept(ps, ")")) {
        do {
            if (n == 64) {
                return dh_sl_syntax(ps);
            }

            args[n] = dh_sl_parse_expr(ps);
            if (args[n++] == NULL) {
                return NULL;
            }

        } while (dh_sl_accept(ps, ","));

        if (!dh_sl_accept(ps, ")")) {
            return dh_sl_syntax(ps);
        }
    }

    if (n < dh_sl_funcs[f].min || n > dh_sl_funcs[f].max) {
        s = dh_psprintf(ps->pool, "wrong number of arguments to %s in %s",
                        dh_sl_funcs[f].name, ps->what);
        ps->err = s ? (const char *) s->data : "wrong number of arguments";
        return NULL;
    }

    e = dh_sl_node(ps, DH_SL_OP_FUNC, n);
    if (e == NULL) {
        return NULL;
    }

    e->func = dh_sl_funcs[f].func;
    dh_memcpy(e->args, args, n * sizeof(dh_sl_expr_t *));

    return e;
}


static dh_sl_expr_t *
dh_sl_parse_name(dh_sl_parse_t *ps)
{
    dh_uint_t      i;
    dh_str_t       name, *s;
    dh_sl_expr_t  *e;

    if (dh_sl_ident(ps, &name) != DH_OK) {
        return dh_sl_syntax(ps);
    }

    if (dh_sl_accept(ps, "(")) {
        return dh_sl_parse_call(ps, &name);
    }

    for (i = 0; i < ps->nnames; i++) {
        if (ps->names[i].len == name.len
            && dh_memcmp(ps->names[i].data, name.data, name.len) == 0)
        {
            break;
        }
    }

    if (i == ps->nnames) {
        s = dh_psprintf(ps->pool, "Unknown column '%.*s' in table '%.*s'",
                        (int) name.len, (char *) name.data,
                        (int) ps->table->full.len,
                        (char *) ps->table->full.data);
        ps->err = s ? (const char *) s->data : "Unknown column";
        return NULL;
    }

    e = dh_sl_node(ps, DH_SL_OP_COL, 0);
    if (e == NULL) {
        return NULL;
    }

    e->col = i;

    return e;
}


static dh_sl_expr_t *
dh_sl_parse_primary(dh_sl_parse_t *ps)
{
    dh_sl_expr_t  *e;

    dh_sl_skip_ws(ps);

    if (ps->p == ps->last) {
        return dh_sl_syntax(ps);
    }

    if (*ps->p == '\'' || *ps->p == '"') {
        return dh_sl_parse_string(ps);
    }

    if ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '.') {
        return dh_sl_parse_number(ps);
    }

    if (dh_sl_accept(ps, "(")) {
        e = dh_sl_parse_expr(ps);

        if (e != NULL && !dh_sl_accept(ps, ")")) {
            return dh_sl_syntax(ps);
        }

        return e;
    }

    if (dh_sl_keyword(ps, "null")) {
        return dh_sl_node(ps, DH_SL_OP_LIT, 0);
    }

    if (dh_sl_keyword(ps, "true") || dh_sl_keyword(ps, "false")) {
        e = dh_sl_node(ps, DH_SL_OP_LIT, 0);
        if (e != NULL) {
            e->lit.kind = DH_SL_V_BOOL;
            e->lit.i = (ps->p[-1] == 'e' || ps->p[-1] == 'E')
                       && (ps->p[-2] == 'u' || ps->p[-2] == 'U');
        }

        return e;
    }

    return dh_sl_parse_name(ps);
}


static dh_sl_expr_t *
dh_sl_parse_unary(dh_sl_parse_t *ps)
{
    dh_sl_expr_t  *e, *a;

    if (dh_sl_accept(ps, "-")) {
        if (++ps->depth > DH_SL_MAX_DEPTH) {
            ps->err = "expression is nested too deeply";
            return NULL;
        }

        a = dh_sl_parse_unary(ps);
        ps->depth--;

        if (a == NULL) {
            return NULL;
        }

        e = dh_sl_node(ps, DH_SL_OP_NEG, 1);
        if (e != NULL) {
            e->args[0] = a;
        }

        return e;
    }

    if (dh_sl_accept(ps, "+")) {
        if (++ps->depth > DH_SL_MAX_DEPTH) {
            ps->err = "expression is nested too deeply";
            return NULL;
        }

        a = dh_sl_parse_unary(ps);
        ps->depth--;

        return a;
    }

    return dh_sl_parse_primary(ps);
}


static dh_sl_expr_t *
dh_sl_parse_mul(dh_sl_parse_t *ps)
{
    dh_sl_op_e     op;
    dh_sl_expr_t  *e;

    e = dh_sl_parse_unary(ps);

    while (e != NULL) {
        if (dh_sl_accept(ps, "*")) {
            op = DH_SL_OP_MUL;

        } else if (dh_sl_accept(ps, "/")) {
            op = DH_SL_OP_DIV;

        } else if (dh_sl_accept(ps, "%")) {
            op = DH_SL_OP_MOD;

        } else {
            break;
        }

        e = dh_sl_binary(ps, op, e, dh_sl_parse_unary(ps));
    }

    return e;
}


static dh_sl_expr_t *
dh_sl_parse_add(dh_sl_parse_t *ps)
{
    dh_sl_op_e     op;
    dh_sl_expr_t  *e;

    e = dh_sl_parse_mul(ps);

    while (e != NULL) {
        if (dh_sl_accept(ps, "+")) {
            op = DH_SL_OP_ADD;

        } else if (dh_sl_accept(ps, "-")) {
            op = DH_SL_OP_SUB;

        } else {
            break;
        }

        e = dh_sl_binary(ps, op, e, dh_sl_parse_mul(ps));
    }

    return e;
}


static dh_sl_expr_t *
dh_sl_parse_in(dh_sl_parse_t *ps, dh_sl_expr_t *a, dh_uint_t negate)
{
    dh_uint_t      n;
    dh_sl_expr_t  *e, *list[256];

    if (!dh_sl_accept(ps, "(")) {
        return dh_sl_syntax(ps);
    }

    n = 0;

    do {
        if (n == 256) {
            return dh_sl_syntax(ps);
        }

        list[n] = dh_sl_parse_expr(ps);
        if (list[n++] == NULL) {
            return NULL;
        }

    } while (dh_sl_accept(ps, ","));

    if (!dh_sl_accept(ps, ")")) {
        return dh_sl_syntax(ps);
    }

    e = dh_sl_node(ps, DH_SL_OP_IN, n + 1);
    if (e == NULL) {
        return NULL;
    }

    e->negate = negate;
    e->args[0] = a;
    dh_memcpy(&e->args[1], list, n * sizeof(dh_sl_expr_t *));

    return e;
}


static dh_sl_expr_t *
dh_sl_parse_cmp(dh_sl_parse_t *ps)
{
    u_char        *save;
    dh_uint_t      negate;
    dh_sl_op_e     op;
    dh_sl_expr_t  *a, *e;

    a = dh_sl_parse_add(ps);
    if (a == NULL) {
        return NULL;
    }

    if (dh_sl_keyword(ps, "is")) {
        negate = dh_sl_keyword(ps, "not");

        if (!dh_sl_keyword(ps, "null")) {
            return dh_sl_syntax(ps);
        }

        e = dh_sl_node(ps, DH_SL_OP_ISNULL, 1);
        if (e != NULL) {
            e->args[0] = a;
            e->negate = negate;
        }

        return e;
    }

    save = ps->p;
    negate = dh_sl_keyword(ps, "not");

    if (dh_sl_keyword(ps, "in")) {
        return dh_sl_parse_in(ps, a, negate);
    }

    if (dh_sl_keyword(ps, "like")) {
        e = dh_sl_binary(ps, DH_SL_OP_LIKE, a, dh_sl_parse_add(ps));
        if (e != NULL) {
            e->negate = negate;
        }

        return e;
    }

    if (negate) {
        ps->p = save;
        return dh_sl_syntax(ps);
    }

    /* two-byte operators first */
    if (dh_sl_accept(ps, "<=")) {
        op = DH_SL_OP_LE;

    } else if (dh_sl_accept(ps, ">=")) {
        op = DH_SL_OP_GE;

    } else if (dh_sl_accept(ps, "!=") || dh_sl_accept(ps, "<>")) {
        op = DH_SL_OP_NE;

    } else if (dh_sl_accept(ps, "==") || dh_sl_accept(ps, "=")) {
        op = DH_SL_OP_EQ;

    } else if (dh_sl_accept(ps, "<")) {
        op = DH_SL_OP_LT;

    } else if (dh_sl_accept(ps, ">")) {
        op = DH_SL_OP_GT;

    } else {
        return a;
    }

    return dh_sl_binary(ps, op, a, dh_sl_parse_add(ps));
}


static dh_sl_expr_t *
dh_sl_parse_not(dh_sl_parse_t *ps)
{
    dh_sl_expr_t  *e, *a;

    if (dh_sl_keyword(ps, "not")) {
        if (++ps->depth > DH_SL_MAX_DEPTH) {
            ps->err = "expression is nested too deeply";
            return NULL;
        }

        a = dh_sl_parse_not(ps);
        ps->depth--;

        if (a == NULL) {
            return NULL;
        }

        e = dh_sl_node(ps, DH_SL_OP_NOT, 1);
        if (e != NULL) {
            e->args[0] = a;
        }

        return e;
    }

    return dh_sl_parse_cmp(ps);
}


static dh_sl_expr_t *
dh_sl_parse_and(dh_sl_parse_t *ps)
{
    dh_sl_expr_t  *e;

    e = dh_sl_parse_not(ps);

    while (e != NULL && (dh_sl_keyword(ps, "and") || dh_sl_accept(ps, "&&")))
    {
        e = dh_sl_binary(ps, DH_SL_OP_AND, e, dh_sl_parse_not(ps));
    }

    return e;
}


static dh_sl_expr_t *
dh_sl_parse_expr(dh_sl_parse_t *ps)
{
    dh_sl_expr_t  *e;

    /* parentheses, NOT and minus recurse: keep the C stack sane */
    if (++ps->depth > DH_SL_MAX_DEPTH) {
        if (ps->err == NULL) {
            ps->err = "expression is nested too deeply";
        }

        return NULL;
    }

    e = dh_sl_parse_and(ps);

    while (e != NULL && (dh_sl_keyword(ps, "or") || dh_sl_accept(ps, "||")))
    {
        e = dh_sl_binary(ps, DH_SL_OP_OR, e, dh_sl_parse_and(ps));
    }

    ps->depth--;

    return e;
}


/* ---- columns ----------------------------------------------------------- */


static dh_table_column_t *
dh_sl_table_cols(dh_table_t *t)
{
    return t->columns.elts;
}


/* One item of the columns list: "name" or "name = expr". */
static dh_int_t
dh_sl_columns_item(dh_sl_parse_t *ps, dh_sl_columns_t *c)
{
    dh_str_t       name, *s, *text;
    dh_int_t       col;

    if (dh_sl_ident(ps, &name) != DH_OK) {
        dh_sl_syntax(ps);
        return DH_ERROR;
    }

    col = dh_table_column_index(c->table, &name);

    if (!dh_sl_accept(ps, "=")) {
        c->sources[c->nsources] = name;
        c->source_col[c->nsources] = col;
        c->nsources++;
        return DH_OK;
    }

    if (col < 0) {
        s = dh_psprintf(ps->pool, "Unknown column '%.*s' in table '%.*s'",
                        (int) name.len, (char *) name.data,
                        (int) c->table->full.len,
                        (char *) c->table->full.data);
        ps->err = s ? (const char *) s->data : "Unknown column";
        return DH_ERROR;
    }

    /* parsed once every source name is known: see the caller */
    text = &c->derived_text[c->nderived];
    text->data = ps->p;
    dh_sl_skip_item(ps);
    text->len = ps->p - text->data;

    c->derived_col[c->nderived++] = (dh_uint_t) col;

    return DH_OK;
}


/* To the comma that ends this item: outside parentheses and quotes. */
static void
dh_sl_skip_item(dh_sl_parse_t *ps)
{
    u_char     q;
    dh_uint_t  depth;

    depth = 0;

    while (ps->p < ps->last) {
        if (*ps->p == '\'' || *ps->p == '"' || *ps->p == '`') {
            q = *ps->p++;

            while (ps->p < ps->last && *ps->p != q) {
                ps->p += (*ps->p == '\\' && ps->p + 1 < ps->last) ? 2 : 1;
            }

            if (ps->p < ps->last) {
                ps->p++;
            }

            continue;
        }

        if (*ps->p == '(') {
            depth++;

        } else if (*ps->p == ')' && depth) {
            depth--;

        } else if (*ps->p == ',' && depth == 0) {
            return;
        }

        ps->p++;
    }
}


/* A derived column's expression, over every source name. */
static dh_sl_expr_t *
dh_sl_columns_derived(dh_sl_parse_t *ps, dh_sl_columns_t *c, dh_str_t *text)
{
    dh_sl_expr_t  *e;

    ps->p = text->data;
    ps->last = text->data + text->len;
    ps->names = c->sources;
    ps->nnames = c->nsources;
    ps->depth = 0;

    e = dh_sl_parse_expr(ps);

    if (e != NULL) {
        dh_sl_skip_ws(ps);

        if (ps->p != ps->last) {
            e = dh_sl_syntax(ps);
        }
    }

    return e;
}


dh_sl_columns_t *
dh_sl_columns_compile(dh_pool_t *pool, dh_table_t *t, dh_str_t *value,
    const char **err)
{
    u_char             *p;
    dh_uint_t           i, n, ncols;
    dh_sl_parse_t       ps;
    dh_sl_columns_t    *c;
    dh_table_column_t  *cols;

    *err = "out of memory";

    c = dh_pcalloc(pool, sizeof(dh_sl_columns_t));
    if (c == NULL) {
        return NULL;
    }

    c->table = t;
    cols = dh_sl_table_cols(t);
    ncols = t->columns.nelts;

    /* at most one item per comma, plus one */
    n = ncols + 1;

    if (value != NULL) {
        for (p = value->data; p < value->data + value->len; p++) {
            n += (*p == ',');
        }
    }

    c->sources = dh_palloc(pool, n * sizeof(dh_str_t));
    c->source_col = dh_palloc(pool, n * sizeof(dh_int_t));
    c->derived_col = dh_palloc(pool, n * sizeof(dh_uint_t));
    c->derived = dh_palloc(pool, n * sizeof(dh_sl_expr_t *));
    c->derived_text = dh_palloc(pool, n * sizeof(dh_str_t));
    if (c->sources == NULL || c->source_col == NULL
        || c->derived_col == NULL || c->derived == NULL
        || c->derived_text == NULL)
    {
        return NULL;
    }

    if (value == NULL || value->len == 0) {
        for (i = 0; i < ncols; i++) {
            c->sources[i] = cols[i].name;
            c->source_col[i] = (dh_int_t) i;
        }

        c->nsources = ncols;
        *err = NULL;

        return c;
    }

    dh_memzero(&ps, sizeof(dh_sl_parse_t));
    ps.pool = pool;
    ps.start = value->data;
    ps.p = value->data;
    ps.last = value->data + value->len;
    ps.what = "columns";
    ps.table = t;

    do {
        if (dh_sl_columns_item(&ps, c) != DH_OK) {
            *err = ps.err ? ps.err : "syntax error in columns";
            return NULL;
        }

    } while (dh_sl_accept(&ps, ","));

    dh_sl_skip_ws(&ps);

    if (ps.p != ps.last) {
        dh_sl_syntax(&ps);
        *err = ps.err;
        return NULL;
    }

    /* "c3 = tmp * 100, tmp": expressions may name any source */
    for (i = 0; i < c->nderived; i++) {
        c->derived[i] = dh_sl_columns_derived(&ps, c, &c->derived_text[i]);

        if (c->derived[i] == NULL) {
            *err = ps.err ? ps.err : "syntax error in columns";
            return NULL;
        }
    }

    *err = NULL;

    return c;
}


dh_str_t *
dh_sl_columns_sources(dh_sl_columns_t *c, dh_uint_t *n)
{
    *n = c->nsources;
    return c->sources;
}


/*
 * Text to a column's value.  A bad value is NULL when strict mode is off
 * and the column takes NULL; otherwise the row fails.
 */
static dh_int_t
dh_sl_columns_convert(dh_pool_t *pool, dh_table_column_t *col, u_char *p,
    size_t len, dh_uint_t strict, dh_table_value_t *v, const char **err)
{
    dh_str_t    *s;
    const char  *why;

    why = NULL;

    if (dh_table_parse_value(col, p, len, v, &why) == DH_OK) {
        return DH_OK;
    }

    if (!strict && col->nullable) {
        dh_memzero(v, sizeof(dh_table_value_t));
        v->null = 1;
        return DH_OK;
    }

    s = dh_psprintf(pool, "%s in column '%.*s': '%.*s'",
                    why ? why : "invalid value", (int) col->name.len,
                    (char *) col->name.data, (int) dh_min(len, 64),
                    p ? (char *) p : "");
    *err = s ? (const char *) s->data : why;

    return DH_DECLINED;
}


dh_int_t
dh_sl_columns_apply(dh_sl_columns_t *c, dh_pool_t *pool, dh_str_t *fields,
    u_char *nulls, dh_uint_t nfields, dh_uint_t strict,
    dh_table_value_t *values, const char **err)
{
    dh_int_t            col, rc;
    dh_uint_t           i, ncols;
    dh_str_t           *s, text;
    dh_sl_val_t        *vars, v;
    dh_sl_eval_t        ev;
    dh_table_column_t  *cols;
    u_char             *set;

    if (nfields != c->nsources) {
        s = dh_psprintf(pool, "column count mismatch, expect=%u real=%u",
                        (unsigned) c->nsources, (unsigned) nfields);
        *err = s ? (const char *) s->data : "column count mismatch";
        return DH_DECLINED;
    }

    cols = dh_sl_table_cols(c->table);
    ncols = c->table->columns.nelts;

    set = dh_pcalloc(pool, ncols);
    vars = c->nderived ? dh_palloc(pool, c->nsources * sizeof(dh_sl_val_t))
                       : NULL;
    if (set == NULL || (c->nderived && vars == NULL)) {
        *err = "out of memory";
        return DH_ERROR;
    }

    for (i = 0; i < c->nsources; i++) {
        col = c->source_col[i];

        if (col < 0) {
            /* not a table column: read, kept for expressions only */
            if (vars) {
                vars[i] = dh_sl_null();

                if (!nulls[i]) {
                    vars[i].kind = DH_SL_V_STR;
                    vars[i].s = fields[i];
                }
            }

            continue;
        }

        set[col] = 1;

        if (nulls[i]) {
            dh_memzero(&values[col], sizeof(dh_table_value_t));
            values[col].null = 1;

        } else {
            rc = dh_sl_columns_convert(pool, &cols[col], fields[i].data,
                                       fields[i].len, strict, &values[col],
                                       err);
            if (rc != DH_OK) {
                return rc;
            }
        }

        if (vars) {
            vars[i] = dh_sl_from_table(&cols[col], &values[col]);
        }
    }

    ev.pool = pool;
    ev.vars = vars;
    ev.cols = NULL;
    ev.values = NULL;

    for (i = 0; i < c->nderived; i++) {
        col = (dh_int_t) c->derived_col[i];
        set[col] = 1;

        v = dh_sl_eval(&ev, c->derived[i]);

        if (v.kind == DH_SL_V_NULL) {
            dh_memzero(&values[col], sizeof(dh_table_value_t));
            values[col].null = 1;
            continue;
        }

        if (dh_sl_text(pool, &v, &text) != DH_OK) {
            *err = "out of memory";
            return DH_ERROR;
        }

        rc = dh_sl_columns_convert(pool, &cols[col], text.data, text.len,
                                   strict, &values[col], err);
        if (rc != DH_OK) {
            return rc;
        }
    }

    for (i = 0; i < ncols; i++) {
        if (!set[i]) {
            dh_memzero(&values[i], sizeof(dh_table_value_t));
            values[i].null = 1;
        }

        if (values[i].null && !cols[i].nullable) {
            s = dh_psprintf(pool, "NULL value in non-nullable column '%.*s'",
                            (int) cols[i].name.len,
                            (char *) cols[i].name.data);
            *err = s ? (const char *) s->data : "NULL value";
            return DH_DECLINED;
        }
    }

    return DH_OK;
}


/* ---- where ------------------------------------------------------------- */


dh_sl_expr_t *
dh_sl_where_compile(dh_pool_t *pool, dh_table_t *t, dh_str_t *value,
    const char **err)
{
    dh_uint_t           i, ncols;
    dh_sl_expr_t       *e;
    dh_sl_parse_t       ps;
    dh_table_column_t  *cols;

    *err = "out of memory";

    cols = dh_sl_table_cols(t);
    ncols = t->columns.nelts;

    dh_memzero(&ps, sizeof(dh_sl_parse_t));
    ps.pool = pool;
    ps.start = value->data;
    ps.p = value->data;
    ps.last = value->data + value->len;
    ps.what = "where";
    ps.table = t;
    ps.nnames = ncols;

    ps.names = dh_palloc(pool, (ncols + 1) * sizeof(dh_str_t));
    if (ps.names == NULL) {
        return NULL;
    }

    for (i = 0; i < ncols; i++) {
        ps.names[i] = cols[i].name;
    }

    e = dh_sl_parse_expr(&ps);

    if (e != NULL) {
        dh_sl_skip_ws(&ps);

        if (ps.p != ps.last) {
            e = dh_sl_syntax(&ps);
        }
    }

    if (e == NULL) {
        *err = ps.err ? ps.err : "syntax error in where";
        return NULL;
    }

    /* dh_sl_where_match() gets values only: the root keeps their types */
    e->cols = cols;
    *err = NULL;

    return e;
}


dh_uint_t
dh_sl_where_match(dh_sl_expr_t *e, dh_pool_t *pool, dh_table_value_t *values)
{
    dh_sl_val_t   v;
    dh_sl_eval_t  ev;

    ev.pool = pool;
    ev.vars = NULL;
    ev.cols = e->cols;
    ev.values = values;

    v = dh_sl_eval(&ev, e);

    return dh_sl_truth(&v) == 1;
}

#endif /* DH_HAVE_BDB */

/*
 * Stream Load `columns` and `where`: mapping file fields to table columns
 * (reordering, skipping, derived columns), conversion failures under
 * strict mode on and off, NOT NULL columns, every operator and function,
 * three-valued logic with NULL, exact decimal comparisons, and the error
 * messages for bad headers.
 */

#include "dh_config.h"
#include "dh_core.h"

#include "t/unit/dh_tap.h"

#if (DH_HAVE_HTTP_STREAM_LOAD_MODULE && DH_HAVE_BDB)

#include "src/modules/stream_load/dh_stream_load_expr.h"


#define NCOLS  7

static dh_pool_t   *pool;
static dh_table_t   table;


static void
add_col(const char *name, dh_table_type_e type, dh_uint_t a, dh_uint_t b,
    dh_uint_t nullable)
{
    dh_table_column_t  *col;

    col = dh_array_push(&table.columns);
    memset(col, 0, sizeof(*col));
    col->name.data = (u_char *) name;
    col->name.len = strlen(name);
    col->type = type;
    col->length = a;
    col->precision = a;
    col->scale = b;
    col->nullable = nullable;
}


static void
make_table(void)
{
    memset(&table, 0, sizeof(table));
    dh_str_set(&table.db, "db1");
    dh_str_set(&table.name, "t1");
    dh_str_set(&table.full, "db1.t1");
    dh_array_init(&table.columns, pool, NCOLS, sizeof(dh_table_column_t));

    add_col("id", DH_TABLE_BIGINT, 0, 0, 0);
    add_col("name", DH_TABLE_VARCHAR, 16, 0, 1);
    add_col("amount", DH_TABLE_DECIMAL, 10, 2, 1);
    add_col("ts", DH_TABLE_DATETIME, 0, 0, 1);
    add_col("d", DH_TABLE_DATE, 0, 0, 1);
    add_col("flag", DH_TABLE_BOOLEAN, 0, 0, 1);
    add_col("score", DH_TABLE_DOUBLE, 0, 0, 1);
}


static dh_str_t *
str(const char *s)
{
    dh_str_t  *v;

    v = dh_palloc(pool, sizeof(dh_str_t));
    v->data = (u_char *) s;
    v->len = strlen(s);

    return v;
}


/* Splits "a,b,\N" into fields (\N is NULL) and applies c. */
static dh_int_t
apply(dh_sl_columns_t *c, const char *row, dh_uint_t strict,
    dh_table_value_t *values, const char **err)
{
    char        *copy, *p, *f;
    dh_str_t     fields[16];
    u_char       nulls[16];
    dh_uint_t    n;

    copy = strdup(row);
    n = 0;
    p = copy;

    for ( ;; ) {
        f = strsep(&p, ",");
        if (f == NULL || n == 16) {
            break;
        }

        /* the strings stay in the pool: values point into them */
        fields[n].len = strlen(f);
        fields[n].data = dh_pnalloc(pool, fields[n].len + 1);
        memcpy(fields[n].data, f, fields[n].len + 1);
        nulls[n] = (strcmp(f, "\\N") == 0);
        n++;
    }

    free(copy);
    *err = NULL;

    return dh_sl_columns_apply(c, pool, fields, nulls, n, strict, values,
                               err);
}


/* The text of column i after apply, "NULL" for null. */
static const char *
text(dh_table_value_t *values, dh_uint_t i)
{
    static char         buf[128];
    u_char             *end;
    dh_table_column_t  *col;

    if (values[i].null) {
        return "NULL";
    }

    col = table.columns.elts;
    end = dh_table_value_text(&col[i], &values[i], (u_char *) buf);
    *end = '\0';

    return buf;
}


static void
test_columns_default(void)
{
    const char        *err;
    dh_uint_t          n;
    dh_str_t          *src;
    dh_sl_columns_t   *c;
    dh_table_value_t   v[NCOLS];

    c = dh_sl_columns_compile(pool, &table, NULL, &err);
    ok(c != NULL, "no columns header: the table's columns");

    src = dh_sl_columns_sources(c, &n);
    is_int(n, NCOLS, "sources are the table's columns");
    ok(n == NCOLS && src[1].len == 4 && memcmp(src[1].data, "name", 4) == 0,
       "in table order");

    is_int(apply(c, "7,bob,12.5,2024-01-02 03:04:05,2024-01-02,true,1.5", 0,
                 v, &err), DH_OK, "a full row");
    is_str(text(v, 0), "7", "id");
    is_str(text(v, 1), "bob", "name");
    is_str(text(v, 2), "12.50", "amount");
    is_str(text(v, 3), "2024-01-02 03:04:05", "ts");
    is_str(text(v, 5), "true", "flag");

    is_int(apply(c, "7,bob", 0, v, &err), DH_DECLINED, "too few fields");
    is_str(err, "column count mismatch, expect=7 real=2", "message");

    is_int(apply(c, "x,bob,1,\\N,\\N,\\N,\\N", 0, v, &err), DH_DECLINED,
           "bad key is filtered even without strict mode");
    ok(err && strstr(err, "invalid value for bigint in column 'id'"),
       "message names the column: %s", err ? err : "");

    is_int(apply(c, "1,bob,abc,\\N,\\N,\\N,\\N", 0, v, &err), DH_OK,
           "bad nullable value without strict mode");
    is_str(text(v, 2), "NULL", "becomes NULL");

    is_int(apply(c, "1,bob,abc,\\N,\\N,\\N,\\N", 1, v, &err), DH_DECLINED,
           "bad value with strict mode");

    is_int(apply(c, "\\N,bob,1,\\N,\\N,\\N,\\N", 0, v, &err), DH_DECLINED,
           "NULL key");
    is_str(err, "NULL value in non-nullable column 'id'", "message");

    is_int(apply(c, "1,0123456789abcdefg,1,\\N,\\N,\\N,\\N", 1, v, &err),
           DH_DECLINED, "too long for varchar(16)");
}


static void
test_columns_mapping(void)
{
    const char        *err;
    dh_uint_t          n;
    dh_str_t          *src;
    dh_sl_columns_t   *c;
    dh_table_value_t   v[NCOLS];

    c = dh_sl_columns_compile(pool, &table,
                              str("tmp, id, skip1, `name`, amount = tmp * 2,"
                                  " score = length(name) + id / 4"), &err);
    ok(c != NULL, "columns with derived values: %s", err ? err : "");

    src = dh_sl_columns_sources(c, &n);
    is_int(n, 4, "four sources");
    ok(n == 4 && src[3].len == 4 && memcmp(src[0].data, "tmp", 3) == 0,
       "source names in file order");

    is_int(apply(c, "1.25,10,zzz,alice", 0, v, &err), DH_OK, "apply");
    is_str(text(v, 0), "10", "id from the second field");
    is_str(text(v, 1), "alice", "name from the fourth");
    is_str(text(v, 2), "2.50", "amount = tmp * 2");
    is_str(text(v, 6), "7.5", "score = length(name) + id / 4");
    is_str(text(v, 3), "NULL", "unlisted nullable column is NULL");

    c = dh_sl_columns_compile(pool, &table,
                              str("id, a, b, name = concat(upper(a), '-',"
                                  " lower(b), substr('abcdef', 2, 3),"
                                  " substr('abcdef', -2)),"
                                  " amount = ifnull(b, 3),"
                                  " score = if(a = 'x', 1, 2),"
                                  " flag = coalesce(NULL, a IS NULL)"), &err);
    ok(c != NULL, "functions: %s", err ? err : "");

    is_int(apply(c, "1,x,Yz", 0, v, &err), DH_OK, "apply");
    is_str(text(v, 1), "X-yzbcdef", "concat, upper, lower, substr");
    is_str(text(v, 6), "1", "if true");
    is_str(text(v, 5), "false", "coalesce and IS NULL");
    is_str(text(v, 2), "NULL", "ifnull: a non-numeric b is no decimal");

    is_int(apply(c, "1,\\N,\\N", 0, v, &err), DH_OK, "apply with NULLs");
    is_str(text(v, 1), "NULL", "concat with NULL is NULL");
    is_str(text(v, 2), "3.00", "ifnull(NULL, 3)");
    is_str(text(v, 6), "2", "if with NULL condition takes else");
    is_str(text(v, 5), "true", "a IS NULL");

    c = dh_sl_columns_compile(pool, &table,
                              str("amount = tmp * 100, id, tmp,"
                                  " name = concat('(', tmp, ')')"), &err);
    ok(c != NULL, "an expression may name a later source: %s",
       err ? err : "");
    is_int(apply(c, "5,0.25", 0, v, &err), DH_OK, "apply");
    is_str(text(v, 2), "25.00", "amount from the later tmp");
    is_str(text(v, 1), "(0.25)", "a comma inside a string and parentheses");

    c = dh_sl_columns_compile(pool, &table,
                              str("id, t, name = trim(t)"), &err);
    is_int(apply(c, "1,  a b  ", 0, v, &err), DH_OK, "trim");
    is_str(text(v, 1), "a b", "trimmed");

    c = dh_sl_columns_compile(pool, &table, str("name"), &err);
    ok(c != NULL, "id left out of the list");
    is_int(apply(c, "x", 0, v, &err), DH_DECLINED, "NOT NULL column unset");
    is_str(err, "NULL value in non-nullable column 'id'", "message");

    c = dh_sl_columns_compile(pool, &table, str("id, zz = id + 1"), &err);
    ok(c == NULL, "derived column not in the table");
    is_str(err, "Unknown column 'zz' in table 'db1.t1'", "message");

    c = dh_sl_columns_compile(pool, &table, str("id, name = nope + 1"),
                              &err);
    ok(c == NULL, "expression names an unknown source");
    is_str(err, "Unknown column 'nope' in table 'db1.t1'", "message");

    c = dh_sl_columns_compile(pool, &table, str("id, name = (id +"), &err);
    ok(c == NULL, "syntax error");
    is_str(err, "syntax error in columns at the end", "message");

    c = dh_sl_columns_compile(pool, &table, str("id,, name"), &err);
    is_str(err, "syntax error in columns near ', name'", "empty item");

    c = dh_sl_columns_compile(pool, &table, str("id, name = foo(id)"), &err);
    is_str(err, "unknown function 'foo' in columns", "unknown function");

    c = dh_sl_columns_compile(pool, &table, str("id, name = upper()"), &err);
    is_str(err, "wrong number of arguments to upper in columns",
           "argument count");
}


/* where over one row given in table column order */
static int
where(const char *expr, const char *row)
{
    const char        *err;
    dh_sl_expr_t      *e;
    dh_sl_columns_t   *c;
    dh_table_value_t   v[NCOLS];

    c = dh_sl_columns_compile(pool, &table, NULL, &err);

    if (apply(c, row, 0, v, &err) != DH_OK) {
        printf("# apply failed: %s\n", err);
        return -1;
    }

    e = dh_sl_where_compile(pool, &table, str(expr), &err);
    if (e == NULL) {
        printf("# compile failed: %s\n", err);
        return -2;
    }

    return (int) dh_sl_where_match(e, pool, v);
}


static const char *
where_err(const char *expr)
{
    const char    *err;
    dh_sl_expr_t  *e;

    err = NULL;
    e = dh_sl_where_compile(pool, &table, str(expr), &err);

    return e ? "(compiled)" : err;
}


static void
test_where(void)
{
    const char  *r1 = "1,bob,12.50,2024-01-02 03:04:05,2024-01-02,true,2.5";
    const char  *r2 = "2,\\N,\\N,\\N,\\N,false,\\N";
    char         deep[1024];
    int          i;

    is_int(where("amount > 12.5", r1), 0, "decimal 12.50 > 12.5 is false");
    is_int(where("amount >= 12.5", r1), 1, ">=");
    is_int(where("amount = 12.50", r1), 1, "decimal equality is exact");
    is_int(where("amount < 12.51", r1), 1, "<");
    is_int(where("amount <= 12.49", r1), 0, "<=");
    is_int(where("amount = '12.5'", r1), 1, "string read as number");
    is_int(where("name = 'bob' AND id IN (3, 2, 1)", r1), 1, "AND, IN");
    is_int(where("name = 'bob' and id not in (3, 2, 1)", r1), 0, "NOT IN");
    is_int(where("name = 'al' OR id = 1", r1), 1, "OR");
    is_int(where("NOT (id = 1)", r1), 0, "NOT");
    is_int(where("id <> 1 or id != 1", r1), 0, "<> and !=");
    is_int(where("name LIKE 'b%'", r1), 1, "LIKE with %%");
    is_int(where("name LIKE '_o_'", r1), 1, "LIKE _");
    is_int(where("name NOT LIKE '%x%'", r1), 1, "NOT LIKE");
    is_int(where("name LIKE 'b\\\\%'", r1), 0, "LIKE escaped %%");
    is_int(where("ts >= '2024-01-02' AND ts < '2024-01-02 03:04:06'", r1),
           1, "datetime against strings");
    is_int(where("d = '2024-01-02' and d < ts", r1), 1,
           "date against a string and a datetime");
    is_int(where("flag = true and flag", r1), 1, "booleans");
    is_int(where("id % 2 = 1 and -id < 0 and id * 2 + 1 = 3", r1), 1,
           "arithmetic");
    is_int(where("score / 2 > 1.2 and score - 0.5 = 2", r1), 1,
           "double arithmetic");
    is_int(where("name = \"bob\" and 'it''s' = 'it\\'s'", r1), 1,
           "string quoting");
    is_int(where("(id = 1 OR id = 2) AND (name IS NOT NULL)", r1), 1,
           "parentheses, IS NOT NULL");
    is_int(where("length(name) = 3 and upper(name) = 'BOB'", r1), 1,
           "functions in where");

    is_int(where("name IS NULL", r2), 1, "IS NULL");
    is_int(where("amount > 1", r2), 0, "NULL > 1 is not selected");
    is_int(where("NOT (amount > 1)", r2), 0, "NOT NULL is still not true");
    is_int(where("amount > 1 OR id = 2", r2), 1, "NULL OR true");
    is_int(where("amount > 1 AND id = 2", r2), 0, "NULL AND true");
    is_int(where("id IN (1, NULL)", r2), 0, "IN with NULL, no match");
    is_int(where("id NOT IN (1, NULL)", r2), 0, "NOT IN with NULL");
    is_int(where("id IN (2, NULL)", r2), 1, "IN with NULL, a match");
    is_int(where("id / 0 IS NULL", r2), 1, "division by zero is NULL");
    is_int(where("9223372036854775807 + id > 0", r2), 1,
           "overflow goes to double");

    is_str(where_err("zz = 1"), "Unknown column 'zz' in table 'db1.t1'",
           "unknown column");
    is_str(where_err("id >"), "syntax error in where at the end",
           "incomplete");
    is_str(where_err("id = = 1"), "syntax error in where near '= 1'",
           "double operator");
    is_str(where_err("(id = 1"), "syntax error in where at the end",
           "unclosed parenthesis");
    is_str(where_err("id = 1 id"), "syntax error in where near 'id'",
           "trailing junk");
    is_str(where_err("name = 'abc"), "syntax error in where at the end",
           "unterminated string");
    is_str(where_err("id IS 1"), "syntax error in where near '1'",
           "IS without NULL");
    is_str(where_err(""), "syntax error in where at the end", "empty");

    for (i = 0; i < 300; i++) {
        deep[i] = '(';
    }

    strcpy(deep + 300, "1");
    is_str(where_err(deep), "expression is nested too deeply", "deep");
}


int
main(void)
{
    pool = dh_create_pool(4096, NULL);

    make_table();
    test_columns_default();
    test_columns_mapping();
    test_where();

    dh_destroy_pool(pool);

    return done_testing();
}

#else

int
main(void)
{
    printf("1..0 # SKIP built without the stream_load module\n");
    return 0;
}

#endif

/*
 * Table values: text parsing per type (ranges, rounding, calendars,
 * json), text output, row encode/decode round trips, and key order:
 * memcmp() of encoded keys must follow value order.
 */

#include "dh_config.h"
#include "dh_core.h"

#include "t/unit/dh_tap.h"

#if (DH_HAVE_BDB && DH_HAVE_CJSON)

#include "dh_table.h"


static dh_table_column_t  col;


static void
set_col(dh_table_type_e type, dh_uint_t a, dh_uint_t b)
{
    dh_memzero(&col, sizeof(col));
    col.type = type;
    col.length = a;
    col.precision = a;
    col.scale = b;
}


static int
parse(const char *text, dh_table_value_t *v)
{
    const char  *err;

    err = NULL;

    return dh_table_parse_value(&col, (u_char *) text, strlen(text), v, &err)
           == DH_OK;
}


static int
parses(const char *text)
{
    dh_table_value_t  v;

    return parse(text, &v);
}


static int64_t
ival(const char *text)
{
    dh_table_value_t  v;

    if (!parse(text, &v)) {
        return -999999;
    }

    return v.i;
}


/* parse then print: "" when invalid */
static const char *
round_trip(const char *text)
{
    u_char            *end;
    dh_table_value_t   v;
    static u_char      buf[128];

    if (!parse(text, &v)) {
        return "";
    }

    if (dh_table_value_text_len(&col, &v) >= sizeof(buf)) {
        return "too long";
    }

    end = dh_table_value_text(&col, &v, buf);
    *end = '\0';

    return (const char *) buf;
}


static void
test_ints(void)
{
    set_col(DH_TABLE_TINYINT, 0, 0);
    is_int(ival("127"), 127, "tinyint max");
    is_int(ival("-128"), -128, "tinyint min");
    ok(!parses("128"), "tinyint 128 overflows");
    ok(!parses("-129"), "tinyint -129 overflows");

    set_col(DH_TABLE_SMALLINT, 0, 0);
    ok(parses("32767") && !parses("32768"), "smallint range");

    set_col(DH_TABLE_INT, 0, 0);
    is_int(ival("-2147483648"), INT32_MIN, "int min");
    ok(!parses("2147483648"), "int max + 1");
    is_int(ival("+42"), 42, "plus sign");
    is_int(ival("-0"), 0, "minus zero");
    ok(!parses(""), "empty is not a number");
    ok(!parses("-"), "sign alone");
    ok(!parses(" 1"), "leading space");
    ok(!parses("1.0"), "fraction in int");
    ok(!parses("12a"), "trailing garbage");

    set_col(DH_TABLE_BIGINT, 0, 0);
    is_str(round_trip("9223372036854775807"), "9223372036854775807",
           "bigint max");
    is_str(round_trip("-9223372036854775808"), "-9223372036854775808",
           "bigint min");
    ok(!parses("9223372036854775808"), "bigint max + 1");
    ok(!parses("-9223372036854775809"), "bigint min - 1");
    ok(!parses("99999999999999999999"), "20 digits");
}


static void
test_floats(void)
{
    dh_table_value_t  v;

    set_col(DH_TABLE_DOUBLE, 0, 0);
    ok(parse("1.5e3", &v) && v.d == 1500, "double exponent");
    is_str(round_trip("0.1"), "0.1", "double shortest text");
    is_str(round_trip("-2.5"), "-2.5", "negative double");
    ok(!parses("nan") && !parses("inf") && !parses("0x10"),
       "no nan, inf or hex");
    ok(!parses("1e999"), "double overflow");
    ok(!parses(""), "empty double");

    set_col(DH_TABLE_FLOAT, 0, 0);
    is_str(round_trip("0.1"), "0.1", "float shortest text");
    ok(!parses("1e39"), "float overflow");
}


static void
test_decimals(void)
{
    set_col(DH_TABLE_DECIMAL, 10, 2);
    is_int(ival("12.34"), 1234, "decimal(10,2) 12.34");
    is_int(ival("-12.3"), -1230, "short fraction is padded");
    is_int(ival("12"), 1200, "no fraction");
    is_int(ival("1.005"), 101, "rounds half up");
    is_int(ival("1.004"), 100, "rounds down");
    is_int(ival("-1.005"), -101, "rounds half away from zero");
    is_int(ival(".5"), 50, "no integer digits");
    is_int(ival("00000001.50"), 150, "leading zeros do not count");
    is_str(round_trip("99999999.99"), "99999999.99", "largest");
    ok(!parses("100000000.00"), "nine integer digits overflow");
    ok(!parses("99999999.995"), "rounding carries into overflow");
    is_str(round_trip("-0.05"), "-0.05", "small negative prints its sign");
    ok(!parses("1.2.3") && !parses(".") && !parses("") && !parses("1e2"),
       "malformed decimals");

    set_col(DH_TABLE_DECIMAL, 18, 0);
    is_str(round_trip("999999999999999999"), "999999999999999999",
           "decimal(18,0) max");
    ok(!parses("1000000000000000000"), "decimal(18,0) overflow");
    is_str(round_trip("2.5"), "3", "scale 0 rounds");

    set_col(DH_TABLE_DECIMAL, 18, 18);
    is_str(round_trip("0.123456789012345678"), "0.123456789012345678",
           "decimal(18,18)");
    ok(!parses("1"), "decimal(18,18) has no integer digits");
}


static void
test_dates(void)
{
    set_col(DH_TABLE_DATE, 0, 0);
    is_int(ival("1970-01-01"), 0, "epoch");
    is_int(ival("1969-12-31"), -1, "before the epoch");
    is_int(ival("20000301"), ival("2000-03-01"), "YYYYMMDD");
    is_str(round_trip("2024-02-29"), "2024-02-29", "leap day 2024");
    is_str(round_trip("2000-02-29"), "2000-02-29", "leap day 2000");
    ok(!parses("1900-02-29"), "1900 is not a leap year");
    ok(!parses("2023-02-29"), "2023 is not a leap year");
    ok(!parses("2023-04-31"), "April has 30 days");
    ok(!parses("2023-13-01") && !parses("2023-00-10"), "bad month");
    ok(!parses("2023-01-00"), "day 0");
    ok(!parses("2023-1-01") && !parses("2023-01-01x") && !parses("202301-01"),
       "malformed dates");
    is_str(round_trip("0001-01-01"), "0001-01-01", "year 1");
    is_str(round_trip("9999-12-31"), "9999-12-31", "year 9999");

    set_col(DH_TABLE_DATETIME, 0, 0);
    is_str(round_trip("2024-03-01 12:34:56"), "2024-03-01 12:34:56",
           "datetime");
    is_str(round_trip("2024-03-01T12:34:56.5"), "2024-03-01 12:34:56.500000",
           "'T' and a fraction");
    is_str(round_trip("1969-12-31 23:59:59.000001"),
           "1969-12-31 23:59:59.000001", "before the epoch with fraction");
    is_str(round_trip("2024-03-01"), "2024-03-01 00:00:00", "date alone");
    is_int(ival("1970-01-01 00:00:01.123456789"), 1123456,
           "nanoseconds are cut to microseconds");
    ok(!parses("2024-03-01 24:00:00"), "hour 24");
    ok(!parses("2024-03-01 12:60:00"), "minute 60");
    ok(!parses("2024-03-01 12:00"), "no seconds");
    ok(!parses("2024-03-01 12:00:00."), "empty fraction");
    ok(!parses("2024-03-01  12:00:00"), "two spaces");
}


static void
test_strings(void)
{
    dh_table_value_t  v;

    set_col(DH_TABLE_BOOLEAN, 0, 0);
    ok(ival("TRUE") == 1 && ival("1") == 1 && ival("false") == 0
       && ival("0") == 0, "booleans");
    ok(!parses("yes") && !parses("2") && !parses(""), "not booleans");
    is_str(round_trip("True"), "true", "boolean text");

    set_col(DH_TABLE_VARCHAR, 4, 0);
    ok(parses("abcd"), "varchar(4) 4 bytes");
    ok(!parses("abcde"), "varchar(4) 5 bytes");
    ok(parses("\xc3\xa9\xc3\xa9"), "two 2-byte characters fit");
    ok(!parses("\xc3\xa9\xc3\xa9x"), "length is in bytes");
    ok(parse("", &v) && v.s.len == 0 && !v.null, "empty string is valid");

    set_col(DH_TABLE_JSON, 0, 0);
    ok(parses("{\"a\":[1,2,{\"b\":null}]}"), "json object");
    ok(parses("42") && parses("\"s\"") && parses(" [] "), "json scalars");
    ok(!parses("{\"a\":}"), "invalid json");
    ok(!parses("{} {}"), "two json values");
    ok(!parses(""), "empty json");
    is_str(round_trip("[1, 2]"), "[1, 2]", "json kept as given");
}


/* key order: encode each value of a sorted list and check memcmp order */
static void
check_order(dh_pool_t *pool, dh_table_type_e type, dh_uint_t a, dh_uint_t b,
    const char **texts, const char *name)
{
    int                 sorted;
    size_t              la, lb;
    dh_buf_t           *key, *data, *prev;
    dh_uint_t           i, keyi;
    dh_table_t          t;
    dh_table_value_t    v;
    dh_table_column_t  *c;

    dh_memzero(&t, sizeof(t));
    (void) dh_array_init(&t.columns, pool, 1, sizeof(dh_table_column_t));
    c = dh_array_push(&t.columns);
    set_col(type, a, b);
    *c = col;
    c->key = 1;
    keyi = 0;
    t.keys = &keyi;
    t.nkeys = 1;

    sorted = 1;
    prev = NULL;

    for (i = 0; texts[i]; i++) {
        if (!parse(texts[i], &v)) {
            sorted = 0;
            break;
        }

        key = NULL;
        data = NULL;

        if (dh_table_row_encode(&t, &v, pool, &key, &data) != DH_OK) {
            sorted = 0;
            break;
        }

        if (prev) {
            la = prev->last - prev->pos;
            lb = key->last - key->pos;

            if (memcmp(prev->pos, key->pos, la < lb ? la : lb) > 0
                || (memcmp(prev->pos, key->pos, la < lb ? la : lb) == 0
                    && la >= lb))
            {
                printf("# %s: \"%s\" does not sort after \"%s\"\n", name,
                     texts[i], texts[i - 1]);
                sorted = 0;
            }
        }

        prev = key;
    }

    ok(sorted, "key order: %s", name);
}


static void
test_key_order(dh_pool_t *pool)
{
    static const char  *ints[] = { "-9223372036854775808", "-1000", "-1",
                                   "0", "1", "255", "256", "65536",
                                   "9223372036854775807", NULL };
    static const char  *decs[] = { "-99.99", "-1.5", "-0.01", "0", "0.01",
                                   "1.5", "99.99", NULL };
    static const char  *dbls[] = { "-1e300", "-2.5", "-0.5", "0", "1e-300",
                                   "0.5", "2.5", "1e300", NULL };
    static const char  *strs[] = { "", "a", "a\x01", "ab", "b", "ba",
                                   "\xc3\xa9", NULL };
    static const char  *dates[] = { "0001-01-01", "1969-12-31", "1970-01-01",
                                    "2000-02-29", "2024-12-31", NULL };
    static const char  *dts[] = { "1969-12-31 23:59:59.999999",
                                  "1970-01-01 00:00:00",
                                  "1970-01-01 00:00:00.000001",
                                  "2024-01-01 00:00:00", NULL };

    check_order(pool, DH_TABLE_BIGINT, 0, 0, ints, "bigint");
    check_order(pool, DH_TABLE_DECIMAL, 4, 2, decs, "decimal(4,2)");
    check_order(pool, DH_TABLE_DOUBLE, 0, 0, dbls, "double");
    check_order(pool, DH_TABLE_VARCHAR, 16, 0, strs, "varchar");
    check_order(pool, DH_TABLE_DATE, 0, 0, dates, "date");
    check_order(pool, DH_TABLE_DATETIME, 0, 0, dts, "datetime");
}


/* a string key column followed by an int: "a" + 2 must sort before
 * "ab" + 1, so the string's end has to be marked in the key */
static void
test_compound_key(dh_pool_t *pool)
{
    dh_buf_t           *k1, *k2, *d;
    dh_uint_t           keys[2] = { 0, 1 };
    dh_table_t          t;
    dh_table_value_t    v[2];
    dh_table_column_t  *c;

    dh_memzero(&t, sizeof(t));
    (void) dh_array_init(&t.columns, pool, 2, sizeof(dh_table_column_t));
    c = dh_array_push(&t.columns);
    set_col(DH_TABLE_VARCHAR, 8, 0);
    *c = col;
    c = dh_array_push(&t.columns);
    set_col(DH_TABLE_INT, 0, 0);
    *c = col;
    t.keys = keys;
    t.nkeys = 2;

    dh_memzero(v, sizeof(v));
    dh_str_set(&v[0].s, "a");
    v[1].i = 2;
    k1 = NULL;
    d = NULL;
    (void) dh_table_row_encode(&t, v, pool, &k1, &d);

    dh_str_set(&v[0].s, "ab");
    v[1].i = 1;
    k2 = NULL;
    d = NULL;
    (void) dh_table_row_encode(&t, v, pool, &k2, &d);

    ok(memcmp(k1->pos, k2->pos, 3) < 0, "compound key: (a,2) < (ab,1)");
}


static void
test_rows(dh_pool_t *pool)
{
    u_char             *p;
    dh_buf_t           *key, *data;
    dh_uint_t           i, keyi;
    dh_table_t          t;
    dh_table_value_t    in[8], out[8];
    dh_table_column_t  *c;

    static struct {
        dh_table_type_e   type;
        dh_uint_t         a, b;
        const char       *text;     /* NULL: null */
        unsigned          nullable:1;
    } cols[] = {
        { DH_TABLE_BIGINT,   0,  0, "-42",                  0 },
        { DH_TABLE_VARCHAR,  16, 0, "h\0llo",               1 },
        { DH_TABLE_DECIMAL,  10, 2, "-3.14",                0 },
        { DH_TABLE_DOUBLE,   0,  0, NULL,                   1 },
        { DH_TABLE_BOOLEAN,  0,  0, "true",                 0 },
        { DH_TABLE_DATETIME, 0,  0, "2024-05-06 07:08:09.1", 0 },
        { DH_TABLE_JSON,     0,  0, "{\"k\":[1]}",          1 },
        { DH_TABLE_STRING,   0,  0, "",                     0 },
    };

    dh_memzero(&t, sizeof(t));
    (void) dh_array_init(&t.columns, pool, 8, sizeof(dh_table_column_t));

    for (i = 0; i < 8; i++) {
        c = dh_array_push(&t.columns);
        set_col(cols[i].type, cols[i].a, cols[i].b);
        col.nullable = cols[i].nullable;
        *c = col;

        if (cols[i].text == NULL) {
            dh_memzero(&in[i], sizeof(in[i]));
            in[i].null = 1;
            continue;
        }

        (void) dh_table_parse_value(c, (u_char *) cols[i].text,
                                    i == 1 ? 5 : strlen(cols[i].text),
                                    &in[i], (const char **) &p);
    }

    keyi = 0;
    t.keys = &keyi;
    t.nkeys = 1;

    key = NULL;
    data = NULL;
    ok(dh_table_row_encode(&t, in, pool, &key, &data) == DH_OK, "encode");
    ok(dh_table_row_decode(&t, data->pos, data->last - data->pos, out)
       == DH_OK, "decode");

    ok(out[0].i == -42 && !out[0].null, "bigint back");
    ok(out[1].s.len == 5 && memcmp(out[1].s.data, "h\0llo", 5) == 0,
       "string with NUL back");
    ok(out[2].i == -314, "decimal back");
    ok(out[3].null, "null back");
    ok(out[4].i == 1, "boolean back");
    ok(out[5].i == in[5].i, "datetime back");
    ok(out[6].s.len == 9, "json back");
    ok(out[7].s.len == 0 && !out[7].null, "empty string back");

    ok(dh_table_row_decode(&t, data->pos, data->last - data->pos - 1, out)
       != DH_OK, "truncated data is refused");

    in[0].null = 1;
    key = NULL;
    data = NULL;
    ok(dh_table_row_encode(&t, in, pool, &key, &data) == DH_ERROR,
       "null in a NOT NULL column is refused");

    /* append table: no key bytes */
    in[0].null = 0;
    t.nkeys = 0;
    key = NULL;
    data = NULL;
    ok(dh_table_row_encode(&t, in, pool, &key, &data) == DH_OK
       && key != NULL && key->last == key->pos, "append table: empty key");
}


int
main(void)
{
    dh_pool_t  *pool;

    pool = dh_create_pool(4096, NULL);

    test_ints();
    test_floats();
    test_decimals();
    test_dates();
    test_strings();
    test_key_order(pool);
    test_compound_key(pool);
    test_rows(pool);

    dh_destroy_pool(pool);

    return done_testing();
}

#else

int
main(void)
{
    printf("1..0 # SKIP built without Berkeley DB or cJSON\n");
    return 0;
}

#endif

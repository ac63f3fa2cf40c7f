/*
 * Table values: text to typed value (loads), typed value to text
 * (reads), and rows to their stored key and data.
 *
 * Stored data: a null bitmap of ceil(ncolumns / 8) bytes, then each
 * non-null column in declaration order: integers, decimals, dates and
 * datetimes as 8 bytes big-endian, floats as the 8 bytes of a double,
 * booleans as 1 byte, strings and json as a 4-byte big-endian length and
 * the bytes.
 *
 * Stored keys compare with memcmp() in value order: integers are 8 bytes
 * big-endian with the sign bit flipped, doubles are flipped so that
 * negative numbers sort first, booleans are 1 byte, and strings escape
 * NUL as 00 FF and end with 00 00 so that a shorter string sorts first
 * and the next key column never leaks into the comparison.
 */

#include "dh_config.h"
#include "dh_core.h"

#if (DH_HAVE_BDB)

#include <float.h>
#include <math.h>
#include <cjson/cJSON.h>

#include "dh_table.h"


#define DH_TABLE_MAX_STRING  0x7fffffff


static dh_int_t dh_table_parse_int(u_char *p, size_t len, int64_t min,
    int64_t max, int64_t *out);
static dh_int_t dh_table_parse_double(u_char *p, size_t len, double *out);
static dh_int_t dh_table_parse_decimal(dh_table_column_t *col, u_char *p,
    size_t len, int64_t *out, const char **err);
static dh_int_t dh_table_parse_date(u_char **pp, u_char *last,
    int64_t *days);
static dh_int_t dh_table_parse_datetime(u_char *p, size_t len, int64_t *us);
static dh_int_t dh_table_parse_json(u_char *p, size_t len);
static int64_t dh_table_days_from_civil(int64_t y, unsigned m, unsigned d);
static void dh_table_civil_from_days(int64_t z, int64_t *y, unsigned *m,
    unsigned *d);
static size_t dh_table_double_text(double d, dh_uint_t is_float, u_char *buf);
static dh_int_t dh_table_buf_reserve(dh_pool_t *pool, dh_buf_t **b,
    size_t n);


static const int64_t  dh_table_pow10[] = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL,
    100000000LL, 1000000000LL, 10000000000LL, 100000000000LL,
    1000000000000LL, 10000000000000LL, 100000000000000LL,
    1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
    1000000000000000000LL
};


/* ---- text to value ----------------------------------------------------- */


dh_int_t
dh_table_parse_value(dh_table_column_t *col, u_char *p, size_t len,
    dh_table_value_t *v, const char **err)
{
    u_char  *last;

    v->null = 0;
    v->i = 0;
    v->d = 0;
    v->s.len = 0;
    v->s.data = NULL;

    switch (col->type) {

    case DH_TABLE_TINYINT:
        if (dh_table_parse_int(p, len, -128, 127, &v->i) != DH_OK) {
            *err = "invalid value for tinyint";
            return DH_DECLINED;
        }
        return DH_OK;

    case DH_TABLE_SMALLINT:
        if (dh_table_parse_int(p, len, -32768, 32767, &v->i) != DH_OK) {
            *err = "invalid value for smallint";
            return DH_DECLINED;
        }
        return DH_OK;

    case DH_TABLE_INT:
        if (dh_table_parse_int(p, len, INT32_MIN, INT32_MAX, &v->i)
            != DH_OK)
        {
            *err = "invalid value for int";
            return DH_DECLINED;
        }
        return DH_OK;

    case DH_TABLE_BIGINT:
        if (dh_table_parse_int(p, len, INT64_MIN, INT64_MAX, &v->i)
            != DH_OK)
        {
            *err = "invalid value for bigint";
            return DH_DECLINED;
        }
        return DH_OK;

    case DH_TABLE_FLOAT:
        if (dh_table_parse_double(p, len, &v->d) != DH_OK
            || fabs(v->d) > FLT_MAX)
        {
            *err = "invalid value for float";
            return DH_DECLINED;
        }
        v->d = (float) v->d;
        return DH_OK;

    case DH_TABLE_DOUBLE:
        if (dh_table_parse_double(p, len, &v->d) != DH_OK) {
            *err = "invalid value for double";
            return DH_DECLINED;
        }
        return DH_OK;

    case DH_TABLE_DECIMAL:
        return dh_table_parse_decimal(col, p, len, &v->i, err);

    case DH_TABLE_BOOLEAN:
        if ((len == 1 && p[0] == '1')
            || (len == 4 && dh_strncasecmp(p, (u_char *) "true", 4) == 0))
        {
            v->i = 1;
            return DH_OK;
        }
        if ((len == 1 && p[0] == '0')
            || (len == 5 && dh_strncasecmp(p, (u_char *) "false", 5) == 0))
        {
            v->i = 0;
            return DH_OK;
        }
        *err = "invalid value for boolean";
        return DH_DECLINED;

    case DH_TABLE_CHAR:
    case DH_TABLE_VARCHAR:
        if (len > col->length) {
            *err = (col->type == DH_TABLE_CHAR)
                   ? "value too long for char" : "value too long for varchar";
            return DH_DECLINED;
        }
        break;

    case DH_TABLE_STRING:
        if (len > DH_TABLE_MAX_STRING) {
            *err = "value too long for string";
            return DH_DECLINED;
        }
        break;

    case DH_TABLE_DATE:
        last = p + len;

        if (dh_table_parse_date(&p, last, &v->i) != DH_OK || p != last) {
            *err = "invalid value for date";
            return DH_DECLINED;
        }
        return DH_OK;

    case DH_TABLE_DATETIME:
        if (dh_table_parse_datetime(p, len, &v->i) != DH_OK) {
            *err = "invalid value for datetime";
            return DH_DECLINED;
        }
        return DH_OK;

    case DH_TABLE_JSON:
        if (len > DH_TABLE_MAX_STRING
            || dh_table_parse_json(p, len) != DH_OK)
        {
            *err = "invalid value for json";
            return DH_DECLINED;
        }
        break;

    default:
        *err = "unknown column type";
        return DH_DECLINED;
    }

    v->s.data = p;
    v->s.len = len;

    return DH_OK;
}


static dh_int_t
dh_table_parse_int(u_char *p, size_t len, int64_t min, int64_t max,
    int64_t *out)
{
    u_char    *last;
    uint64_t   n, limit;
    dh_uint_t  neg;

    last = p + len;
    neg = 0;

    if (p < last && (*p == '-' || *p == '+')) {
        neg = (*p == '-');
        p++;
    }

    if (p == last) {
        return DH_ERROR;
    }

    /* the magnitude limit: -min may exceed max by one */
    limit = neg ? (uint64_t) (-(min + 1)) + 1 : (uint64_t) max;
    n = 0;

    for ( /* void */ ; p < last; p++) {
        if (*p < '0' || *p > '9') {
            return DH_ERROR;
        }

        if (n > (limit - (uint64_t) (*p - '0')) / 10) {
            return DH_ERROR;
        }

        n = n * 10 + (uint64_t) (*p - '0');
    }

    if (neg) {
        *out = (n == 0) ? 0 : (int64_t) (0 - (n - 1)) - 1;

    } else {
        *out = (int64_t) n;
    }

    return DH_OK;
}


static dh_int_t
dh_table_parse_double(u_char *p, size_t len, double *out)
{
    char    buf[64], *end;
    size_t  i;

    if (len == 0 || len >= sizeof(buf)) {
        return DH_ERROR;
    }

    /* strtod would skip leading white space and read hex and nan */
    for (i = 0; i < len; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || p[i] == '.' || p[i] == 'e'
              || p[i] == 'E' || p[i] == '-' || p[i] == '+'))
        {
            return DH_ERROR;
        }
    }

    dh_memcpy(buf, p, len);
    buf[len] = '\0';

    errno = 0;
    *out = strtod(buf, &end);

    if (end != buf + len || !isfinite(*out)
        || (errno == ERANGE && *out != 0))
    {
        return DH_ERROR;
    }

    return DH_OK;
}


/* decimal(p,s): at most p-s integer digits; more than s fraction digits
 * are rounded half up (away from zero), which may carry into the integer
 * part and overflow it. */
static dh_int_t
dh_table_parse_decimal(dh_table_column_t *col, u_char *p, size_t len,
    int64_t *out, const char **err)
{
    u_char    *last;
    int64_t    ip, fp, v;
    dh_uint_t  neg, idigits, fdigits, digits, round;

    last = p + len;
    neg = 0;
    ip = 0;
    fp = 0;
    idigits = 0;
    fdigits = 0;
    digits = 0;
    round = 0;

    if (p < last && (*p == '-' || *p == '+')) {
        neg = (*p == '-');
        p++;
    }

    for ( /* void */ ; p < last && *p >= '0' && *p <= '9'; p++) {
        digits++;

        if (ip == 0 && *p == '0') {
            continue;                     /* leading zeros */
        }

        if (++idigits > col->precision - col->scale) {
            goto range;
        }

        ip = ip * 10 + (*p - '0');
    }

    if (p < last && *p == '.') {
        for (p++; p < last && *p >= '0' && *p <= '9'; p++) {
            digits++;

            if (fdigits < col->scale) {
                fp = fp * 10 + (*p - '0');
                fdigits++;

            } else if (fdigits == col->scale) {
                round = (*p >= '5');
                fdigits++;
            }
        }
    }

    if (p != last || digits == 0) {
        *err = "invalid value for decimal";
        return DH_DECLINED;
    }

    if (fdigits > col->scale) {
        fdigits = col->scale;
    }

    fp *= dh_table_pow10[col->scale - fdigits];
    v = ip * dh_table_pow10[col->scale] + fp + round;

    if (v >= dh_table_pow10[col->precision]) {
        goto range;
    }

    *out = neg ? -v : v;

    return DH_OK;

range:

    *err = "decimal out of range";
    return DH_DECLINED;
}


static dh_int_t
dh_table_digits(u_char **pp, u_char *last, dh_uint_t n, unsigned *out)
{
    u_char    *p;
    unsigned   v;
    dh_uint_t  i;

    p = *pp;
    v = 0;

    if ((size_t) (last - p) < n) {
        return DH_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return DH_ERROR;
        }
        v = v * 10 + (p[i] - '0');
    }

    *pp = p + n;
    *out = v;

    return DH_OK;
}


/* YYYY-MM-DD or YYYYMMDD at *pp; advances *pp past it. */
static dh_int_t
dh_table_parse_date(u_char **pp, u_char *last, int64_t *days)
{
    u_char    *p;
    unsigned   y, m, d, mdays;
    dh_uint_t  dash;

    static const unsigned  month_days[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    p = *pp;

    if (dh_table_digits(&p, last, 4, &y) != DH_OK) {
        return DH_ERROR;
    }

    dash = (p < last && *p == '-');
    p += dash;

    if (dh_table_digits(&p, last, 2, &m) != DH_OK) {
        return DH_ERROR;
    }

    if (dash) {
        if (p == last || *p != '-') {
            return DH_ERROR;
        }
        p++;
    }

    if (dh_table_digits(&p, last, 2, &d) != DH_OK) {
        return DH_ERROR;
    }

    if (y == 0 || m < 1 || m > 12 || d < 1) {
        return DH_ERROR;
    }

    mdays = month_days[m - 1];

    if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) {
        mdays = 29;
    }

    if (d > mdays) {
        return DH_ERROR;
    }

    *days = dh_table_days_from_civil(y, m, d);
    *pp = p;

    return DH_OK;
}


static dh_int_t
dh_table_parse_datetime(u_char *p, size_t len, int64_t *us)
{
    u_char    *last;
    int64_t    days, frac;
    unsigned   h, mi, s;
    dh_uint_t  n;

    last = p + len;

    if (dh_table_parse_date(&p, last, &days) != DH_OK) {
        return DH_ERROR;
    }

    h = 0;
    mi = 0;
    s = 0;
    frac = 0;

    if (p < last) {
        if (*p != ' ' && *p != 'T') {
            return DH_ERROR;
        }
        p++;

        if (dh_table_digits(&p, last, 2, &h) != DH_OK
            || p == last || *p++ != ':'
            || dh_table_digits(&p, last, 2, &mi) != DH_OK
            || p == last || *p++ != ':'
            || dh_table_digits(&p, last, 2, &s) != DH_OK)
        {
            return DH_ERROR;
        }

        if (p < last) {
            if (*p++ != '.' || p == last) {
                return DH_ERROR;
            }

            /* microseconds; digits past the sixth are dropped */
            for (n = 0; p < last; p++, n++) {
                if (*p < '0' || *p > '9') {
                    return DH_ERROR;
                }
                if (n < 6) {
                    frac = frac * 10 + (*p - '0');
                }
            }

            if (n > 9) {
                return DH_ERROR;
            }

            for ( /* void */ ; n < 6; n++) {
                frac *= 10;
            }
        }

        if (h > 23 || mi > 59 || s > 59) {
            return DH_ERROR;
        }
    }

    *us = ((days * 24 + h) * 60 + mi) * 60 + s;
    *us = *us * 1000000 + frac;

    return DH_OK;
}


static dh_int_t
dh_table_parse_json(u_char *p, size_t len)
{
    cJSON       *json;
    const char  *end;

    if (len == 0) {
        return DH_ERROR;
    }

    end = NULL;
    json = cJSON_ParseWithLengthOpts((const char *) p, len, &end, 0);

    if (json == NULL) {
        return DH_ERROR;
    }

    cJSON_Delete(json);

    /* cJSON stops after the first value: only white space may follow */
    while (end < (const char *) p + len) {
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            return DH_ERROR;
        }
        end++;
    }

    return DH_OK;
}


/* Howard Hinnant's well-known civil calendar arithmetic (public domain
 * algorithm, re-derived here): days since 1970-01-01 and back. */
static int64_t
dh_table_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t   era;
    unsigned  yoe, doy, doe;

    y -= (m <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned) (y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + (int64_t) doe - 719468;
}


static void
dh_table_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t   era;
    unsigned  doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned) (z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t) yoe + era * 400 + (*m <= 2);
}


/* ---- value to text ----------------------------------------------------- */


#define DH_TABLE_NUM_TEXT  48


size_t
dh_table_value_text_len(dh_table_column_t *col, dh_table_value_t *v)
{
    if (v->null) {
        return 0;
    }

    switch (col->type) {

    case DH_TABLE_CHAR:
    case DH_TABLE_VARCHAR:
    case DH_TABLE_STRING:
    case DH_TABLE_JSON:
        return v->s.len;

    default:
        return DH_TABLE_NUM_TEXT;
    }
}


u_char *
dh_table_value_text(dh_table_column_t *col, dh_table_value_t *v, u_char *buf)
{
    int64_t    y, days, rest, sec;
    uint64_t   mag, scale;
    unsigned   m, d;
    u_char    *last;

    last = buf + DH_TABLE_NUM_TEXT;

    if (v->null) {
        return buf;
    }

    switch (col->type) {

    case DH_TABLE_TINYINT:
    case DH_TABLE_SMALLINT:
    case DH_TABLE_INT:
    case DH_TABLE_BIGINT:
        return dh_slprintf(buf, last, "%lld", (long long) v->i);

    case DH_TABLE_FLOAT:
    case DH_TABLE_DOUBLE:
        return buf + dh_table_double_text(v->d, col->type == DH_TABLE_FLOAT,
                                          buf);

    case DH_TABLE_DECIMAL:
        mag = (v->i < 0) ? (uint64_t) 0 - (uint64_t) v->i : (uint64_t) v->i;
        scale = (uint64_t) dh_table_pow10[col->scale];

        if (col->scale == 0) {
            return dh_slprintf(buf, last, "%s%llu", v->i < 0 ? "-" : "",
                               (unsigned long long) mag);
        }

        return dh_slprintf(buf, last, "%s%llu.%0*llu", v->i < 0 ? "-" : "",
                           (unsigned long long) (mag / scale),
                           (int) col->scale,
                           (unsigned long long) (mag % scale));

    case DH_TABLE_BOOLEAN:
        return dh_slprintf(buf, last, "%s", v->i ? "true" : "false");

    case DH_TABLE_DATE:
        dh_table_civil_from_days(v->i, &y, &m, &d);
        return dh_slprintf(buf, last, "%04lld-%02u-%02u", (long long) y, m, d);

    case DH_TABLE_DATETIME:
        sec = v->i / 1000000;
        rest = v->i % 1000000;
        if (rest < 0) {
            rest += 1000000;
            sec--;
        }

        days = sec / 86400;
        sec %= 86400;
        if (sec < 0) {
            sec += 86400;
            days--;
        }

        dh_table_civil_from_days(days, &y, &m, &d);

        buf = dh_slprintf(buf, last, "%04lld-%02u-%02u %02d:%02d:%02d",
                          (long long) y, m, d, (int) (sec / 3600),
                          (int) (sec / 60 % 60), (int) (sec % 60));
        if (rest) {
            buf = dh_slprintf(buf, last, ".%06lld", (long long) rest);
        }
        return buf;

    default:
        return dh_cpymem(buf, v->s.data, v->s.len);
    }
}


/* The shortest text that reads back as the same value. */
static size_t
dh_table_double_text(double d, dh_uint_t is_float, u_char *buf)
{
    int     prec, n;
    char    tmp[DH_TABLE_NUM_TEXT];

    n = 0;

    for (prec = is_float ? 6 : 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);

        if (is_float ? (float) strtod(tmp, NULL) == (float) d
                     : strtod(tmp, NULL) == d)
        {
            break;
        }
    }

    dh_memcpy(buf, tmp, n);

    return (size_t) n;
}


/* ---- rows ----------------------------------------------------------------- */


static dh_int_t
dh_table_buf_reserve(dh_pool_t *pool, dh_buf_t **b, size_t n)
{
    size_t     size, used;
    dh_buf_t  *nb;

    if (*b != NULL && (size_t) ((*b)->end - (*b)->last) >= n) {
        return DH_OK;
    }

    used = (*b != NULL) ? (size_t) ((*b)->last - (*b)->pos) : 0;
    size = (*b != NULL) ? (size_t) ((*b)->end - (*b)->start) * 2 : 256;

    while (size < used + n) {
        size *= 2;
    }

    nb = dh_create_temp_buf(pool, size);
    if (nb == NULL) {
        return DH_ERROR;
    }

    if (used) {
        nb->last = dh_cpymem(nb->pos, (*b)->pos, used);
    }

    *b = nb;

    return DH_OK;
}


static u_char *
dh_table_put_be64(u_char *p, uint64_t v)
{
    int  i;

    for (i = 7; i >= 0; i--) {
        *p++ = (u_char) (v >> (i * 8));
    }

    return p;
}


static uint64_t
dh_table_get_be64(u_char *p)
{
    int       i;
    uint64_t  v;

    v = 0;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }

    return v;
}


static dh_uint_t
dh_table_is_string(dh_table_type_e type)
{
    return type == DH_TABLE_CHAR || type == DH_TABLE_VARCHAR
           || type == DH_TABLE_STRING || type == DH_TABLE_JSON;
}


static dh_int_t
dh_table_key_encode(dh_table_column_t *col, dh_table_value_t *v,
    dh_pool_t *pool, dh_buf_t **key)
{
    u_char    *p;
    size_t     i, n;
    uint64_t   u;

    if (dh_table_is_string(col->type)) {
        n = 2;
        for (i = 0; i < v->s.len; i++) {
            n += (v->s.data[i] == 0) ? 2 : 1;
        }

        if (dh_table_buf_reserve(pool, key, n) != DH_OK) {
            return DH_ERROR;
        }

        p = (*key)->last;
        for (i = 0; i < v->s.len; i++) {
            *p++ = v->s.data[i];
            if (v->s.data[i] == 0) {
                *p++ = 0xff;
            }
        }
        *p++ = 0;
        *p++ = 0;

        (*key)->last = p;
        return DH_OK;
    }

    if (dh_table_buf_reserve(pool, key, 8) != DH_OK) {
        return DH_ERROR;
    }

    if (col->type == DH_TABLE_BOOLEAN) {
        *(*key)->last++ = (u_char) (v->i != 0);
        return DH_OK;
    }

    if (col->type == DH_TABLE_FLOAT || col->type == DH_TABLE_DOUBLE) {
        dh_memcpy(&u, &v->d, 8);
        u = (u >> 63) ? ~u : u | (1ULL << 63);

    } else {
        u = (uint64_t) v->i ^ (1ULL << 63);
    }

    (*key)->last = dh_table_put_be64((*key)->last, u);

    return DH_OK;
}


dh_int_t
dh_table_row_encode(dh_table_t *t, dh_table_value_t *values,
    dh_pool_t *pool, dh_buf_t **key, dh_buf_t **data)
{
    u_char             *p, *bitmap;
    size_t              n, nbitmap;
    uint64_t            u;
    dh_uint_t           i, ncols;
    dh_table_value_t   *v;
    dh_table_column_t  *col;

    col = t->columns.elts;
    ncols = t->columns.nelts;
    nbitmap = (ncols + 7) / 8;

    n = nbitmap;
    for (i = 0; i < ncols; i++) {
        v = &values[i];

        if (v->null) {
            if (!col[i].nullable) {
                return DH_ERROR;
            }
            continue;
        }

        n += dh_table_is_string(col[i].type) ? 4 + v->s.len
             : (col[i].type == DH_TABLE_BOOLEAN) ? 1 : 8;
    }

    if (dh_table_buf_reserve(pool, data, n) != DH_OK) {
        return DH_ERROR;
    }

    bitmap = (*data)->last;
    dh_memzero(bitmap, nbitmap);
    p = bitmap + nbitmap;

    for (i = 0; i < ncols; i++) {
        v = &values[i];

        if (v->null) {
            bitmap[i / 8] |= (u_char) (1 << (i % 8));
            continue;
        }

        if (dh_table_is_string(col[i].type)) {
            *p++ = (u_char) (v->s.len >> 24);
            *p++ = (u_char) (v->s.len >> 16);
            *p++ = (u_char) (v->s.len >> 8);
            *p++ = (u_char) v->s.len;
            if (v->s.len) {
                p = dh_cpymem(p, v->s.data, v->s.len);
            }

        } else if (col[i].type == DH_TABLE_BOOLEAN) {
            *p++ = (u_char) (v->i != 0);

        } else if (col[i].type == DH_TABLE_FLOAT
                   || col[i].type == DH_TABLE_DOUBLE)
        {
            dh_memcpy(&u, &v->d, 8);
            p = dh_table_put_be64(p, u);

        } else {
            p = dh_table_put_be64(p, (uint64_t) v->i);
        }
    }

    (*data)->last = p;

    for (i = 0; i < t->nkeys; i++) {
        if (dh_table_key_encode(&col[t->keys[i]], &values[t->keys[i]], pool,
                                key)
            != DH_OK)
        {
            return DH_ERROR;
        }
    }

    if (t->nkeys == 0 && dh_table_buf_reserve(pool, key, 8) != DH_OK) {
        return DH_ERROR;                  /* an empty but usable buffer */
    }

    return DH_OK;
}


dh_int_t
dh_table_row_decode(dh_table_t *t, u_char *data, size_t len,
    dh_table_value_t *values)
{
    u_char             *p, *last;
    size_t              n, nbitmap;
    uint64_t            u;
    dh_uint_t           i, ncols;
    dh_table_value_t   *v;
    dh_table_column_t  *col;

    col = t->columns.elts;
    ncols = t->columns.nelts;
    nbitmap = (ncols + 7) / 8;
    last = data + len;

    if (len < nbitmap) {
        return DH_ERROR;
    }

    p = data + nbitmap;

    for (i = 0; i < ncols; i++) {
        v = &values[i];
        dh_memzero(v, sizeof(dh_table_value_t));

        if (data[i / 8] & (1 << (i % 8))) {
            v->null = 1;
            continue;
        }

        if (dh_table_is_string(col[i].type)) {
            if (last - p < 4) {
                return DH_ERROR;
            }
            n = ((size_t) p[0] << 24) | ((size_t) p[1] << 16)
                | ((size_t) p[2] << 8) | p[3];
            p += 4;
            if ((size_t) (last - p) < n) {
                return DH_ERROR;
            }
            v->s.data = p;
            v->s.len = n;
            p += n;

        } else if (col[i].type == DH_TABLE_BOOLEAN) {
            if (p == last) {
                return DH_ERROR;
            }
            v->i = *p++;

        } else {
            if (last - p < 8) {
                return DH_ERROR;
            }
            u = dh_table_get_be64(p);
            p += 8;

            if (col[i].type == DH_TABLE_FLOAT
                || col[i].type == DH_TABLE_DOUBLE)
            {
                dh_memcpy(&v->d, &u, 8);

            } else {
                v->i = (int64_t) u;
            }
        }
    }

    return (p == last) ? DH_OK : DH_ERROR;
}

#endif /* DH_HAVE_BDB */

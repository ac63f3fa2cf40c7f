/*
 * Stream Load data headers (spec table 1.2): parsing and validation with
 * the messages StarRocks sends, since clients and connectors match on
 * them.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"

#if (DH_HAVE_BDB)

#include "dh_stream_load.h"


static dh_str_t *dh_sl_header(dh_http_request_t *r, const char *name);
static dh_int_t dh_sl_parse_bool(dh_str_t *v, dh_uint_t *out);
static dh_int_t dh_sl_stoll(dh_str_t *v, int64_t *out);
static dh_int_t dh_sl_params_format(dh_http_request_t *r, dh_sl_params_t *p,
    dh_str_t *msg);
static dh_int_t dh_sl_params_csv(dh_http_request_t *r, dh_sl_params_t *p,
    dh_str_t *msg);
static dh_int_t dh_sl_params_numbers(dh_http_request_t *r,
    dh_sl_params_t *p, dh_str_t *msg);
static dh_int_t dh_sl_params_flags(dh_http_request_t *r, dh_sl_params_t *p,
    dh_str_t *msg);
static dh_int_t dh_sl_params_compression(dh_http_request_t *r,
    dh_sl_params_t *p, dh_str_t *msg);


#define dh_sl_fail(msg, text)                                                 \
    do { dh_str_set(msg, text); return DH_DECLINED; } while (0)


/* the first header of that name (StarRocks keeps one per name) */
static dh_str_t *
dh_sl_header(dh_http_request_t *r, const char *name)
{
    size_t           n;
    dh_uint_t        i;
    dh_list_part_t  *part;
    dh_table_elt_t  *h;

    n = dh_strlen(name);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0 || h[i].key.len != n) {
            continue;
        }

        if (dh_strncasecmp(h[i].key.data, (u_char *) name, n) == 0) {
            return &h[i].value;
        }
    }
}


static dh_int_t
dh_sl_parse_bool(dh_str_t *v, dh_uint_t *out)
{
    if (dh_str_caseeq(v, "true")) {
        *out = 1;
        return DH_OK;
    }

    if (dh_str_caseeq(v, "false")) {
        *out = 0;
        return DH_OK;
    }

    return DH_ERROR;
}


/* std::stoll: leading blanks, a sign, digits; trailing junk is ignored
 * ("12ab" is 12) but at least one digit must be there */
static dh_int_t
dh_sl_stoll(dh_str_t *v, int64_t *out)
{
    u_char   *p, *last;
    int64_t   n;
    dh_uint_t neg, digits;

    p = v->data;
    last = p + v->len;

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    neg = 0;

    if (p < last && (*p == '-' || *p == '+')) {
        neg = (*p == '-');
        p++;
    }

    n = 0;
    digits = 0;

    while (p < last && *p >= '0' && *p <= '9') {
        if (n > (INT64_MAX - (*p - '0')) / 10) {
            return DH_ERROR;
        }

        n = n * 10 + (*p++ - '0');
        digits++;
    }

    if (digits == 0) {
        return DH_ERROR;
    }

    *out = neg ? -n : n;

    return DH_OK;
}


dh_int_t
dh_sl_params_parse(dh_http_request_t *r, dh_sl_params_t *p, dh_uint_t txn,
    dh_str_t *msg)
{
    dh_int_t   rc;
    dh_str_t  *v;

    dh_memzero(p, sizeof(dh_sl_params_t));

    p->txn = txn ? 1 : 0;
    p->timeout = -1;
    p->load_mem_limit = -1;
    p->exec_mem_limit = -1;
    p->load_dop = -1;
    p->log_rejected_record_num = -2;
    p->content_length = r->headers_in.content_length_n;
    dh_str_set(&p->reader.column_separator, "\t");
    dh_str_set(&p->reader.row_delimiter, "\n");

    v = dh_sl_header(r, "label");
    if (v != NULL) {
        p->label = *v;
    }

    v = dh_sl_header(r, "enable_merge_commit");
    if (v != NULL) {
        dh_uint_t  b;

        if (dh_sl_parse_bool(v, &b) != DH_OK) {
            msg->data = dh_sl_pdata(dh_psprintf(r->pool,
                "Invalid parameter enable_merge_commit. The value must be "
                "bool type, but is %.*s", (int) v->len, v->data));
            if (msg->data == NULL) {
                return DH_ERROR;
            }
            msg->len = dh_strlen(msg->data);
            return DH_DECLINED;
        }

        if (b) {
            dh_sl_fail(msg, "enable_merge_commit is not supported");
        }
    }

    rc = dh_sl_params_format(r, p, msg);
    if (rc != DH_OK) {
        return rc;
    }

    v = dh_sl_header(r, "timeout");
    if (v != NULL) {
        int64_t  t;

        if (dh_sl_stoll(v, &t) != DH_OK || t < 0 || t > 0xffffffffLL) {
            dh_sl_fail(msg, "Invalid timeout format");
        }

        p->timeout = t;
    }

    rc = dh_sl_params_csv(r, p, msg);
    if (rc != DH_OK) {
        return rc;
    }

    rc = dh_sl_params_flags(r, p, msg);
    if (rc != DH_OK) {
        return rc;
    }

    rc = dh_sl_params_numbers(r, p, msg);
    if (rc != DH_OK) {
        return rc;
    }

    return dh_sl_params_compression(r, p, msg);
}


static dh_int_t
dh_sl_params_format(dh_http_request_t *r, dh_sl_params_t *p, dh_str_t *msg)
{
    dh_str_t  *v;

    v = dh_sl_header(r, "format");

    if (v == NULL || v->len == 0 || dh_str_caseeq(v, "csv")) {
        p->reader.format = DH_SL_FORMAT_CSV;

    } else if (dh_str_caseeq(v, "json")) {
        p->reader.format = DH_SL_FORMAT_JSON;

    } else if (dh_str_caseeq(v, "gzip")) {
        p->reader.compression = DH_SL_COMPRESS_GZIP;

    } else if (dh_str_caseeq(v, "bzip2")) {
        p->reader.compression = DH_SL_COMPRESS_BZIP2;

    } else if (dh_str_caseeq(v, "lz4")) {
        p->reader.compression = DH_SL_COMPRESS_LZ4;

    } else if (dh_str_caseeq(v, "deflate")) {
        p->reader.compression = DH_SL_COMPRESS_DEFLATE;

    } else if (dh_str_caseeq(v, "zstd")) {
        p->reader.compression = DH_SL_COMPRESS_ZSTD;

    } else {
        msg->data = dh_sl_pdata(dh_psprintf(r->pool,
                                 "unknown data format, format=%.*s",
                                 (int) v->len, v->data));
        if (msg->data == NULL) {
            return DH_ERROR;
        }

        msg->len = dh_strlen(msg->data);
        return DH_DECLINED;
    }

    return DH_OK;
}


static dh_int_t
dh_sl_params_csv(dh_http_request_t *r, dh_sl_params_t *p, dh_str_t *msg)
{
    int64_t    n;
    dh_str_t  *v;

    v = dh_sl_header(r, "columns");
    if (v != NULL) {
        p->columns = *v;
    }

    v = dh_sl_header(r, "where");
    if (v != NULL) {
        p->where = *v;
    }

    v = dh_sl_header(r, "column_separator");
    if (v != NULL
        && dh_sl_parse_separator(r->pool, v, &p->reader.column_separator)
           != DH_OK)
    {
        dh_sl_fail(msg, "Invalid column_separator: empty, bad hex or longer "
                        "than 50 bytes");
    }

    v = dh_sl_header(r, "row_delimiter");
    if (v != NULL
        && dh_sl_parse_separator(r->pool, v, &p->reader.row_delimiter)
           != DH_OK)
    {
        dh_sl_fail(msg, "Invalid row_delimiter: empty, bad hex or longer "
                        "than 50 bytes");
    }

    if (p->txn) {
        /* spec 2.1: the transaction load path does not read these */
        return DH_OK;
    }

    v = dh_sl_header(r, "skip_header");
    if (v != NULL) {
        if (dh_sl_stoll(v, &n) != DH_OK) {
            dh_sl_fail(msg, "Invalid csv load skip_header format");
        }

        if (n < 0) {
            dh_sl_fail(msg, "skip_header must be equal or greater than 0");
        }

        p->reader.skip_header = (dh_uint_t) n;
    }

    v = dh_sl_header(r, "trim_space");
    if (v != NULL) {
        dh_uint_t  b;

        if (dh_sl_parse_bool(v, &b) != DH_OK) {
            dh_sl_fail(msg, "Invalid trim space format. Must be bool type");
        }

        p->reader.trim_space = b;
    }

    v = dh_sl_header(r, "enclose");
    if (v != NULL && v->len) {
        p->reader.enclose = v->data[0];
    }

    v = dh_sl_header(r, "escape");
    if (v != NULL && v->len) {
        p->reader.escape = v->data[0];
    }

    return DH_OK;
}


static dh_int_t
dh_sl_params_flags(dh_http_request_t *r, dh_sl_params_t *p, dh_str_t *msg)
{
    dh_str_t   *v;
    dh_uint_t   b;

    if (dh_sl_header(r, "partitions") != NULL
        && dh_sl_header(r, "temporary_partitions") != NULL)
    {
        dh_sl_fail(msg,
                   "Can not specify both partitions and temporary partitions");
    }

    v = dh_sl_header(r, "negative");
    p->negative = (v != NULL && v->len == 4
                   && dh_strncmp(v->data, "true", 4) == 0);

    v = dh_sl_header(r, "strict_mode");
    if (v != NULL) {
        if (dh_sl_parse_bool(v, &b) != DH_OK) {
            dh_sl_fail(msg, "Invalid strict mode format. Must be bool type");
        }

        p->strict_mode = b;
    }

    v = dh_sl_header(r, "timezone");
    if (v != NULL) {
        p->timezone = *v;
    }

    v = dh_sl_header(r, "jsonpaths");
    if (v != NULL) {
        p->reader.jsonpaths = *v;
    }

    v = dh_sl_header(r, "json_root");
    if (v != NULL) {
        p->reader.json_root = *v;
    }

    v = dh_sl_header(r, "strip_outer_array");
    p->reader.strip_outer_array = (v != NULL && dh_str_caseeq(v, "true"));

    v = dh_sl_header(r, "ignore_json_size");
    p->ignore_json_size = (v != NULL && dh_str_caseeq(v, "true"));

    v = dh_sl_header(r, "partial_update");
    if (v != NULL) {
        if (p->txn) {
            p->partial_update = (v->len == 4
                                 && dh_strncmp(v->data, "true", 4) == 0);

        } else if (dh_sl_parse_bool(v, &b) != DH_OK) {
            dh_sl_fail(msg,
                       "Invalid partial update flag format. Must be bool type");

        } else {
            p->partial_update = b;
        }
    }

    v = dh_sl_header(r, "partial_update_mode");
    if (v != NULL) {
        /* any other value is silently ignored, as in StarRocks */
        if (v->len == 3 && dh_strncmp(v->data, "row", 3) == 0) {
            p->partial_update_mode = DH_SL_PARTIAL_UPDATE_ROW;

        } else if (v->len == 4 && dh_strncmp(v->data, "auto", 4) == 0) {
            p->partial_update_mode = DH_SL_PARTIAL_UPDATE_AUTO;

        } else if (v->len == 6 && dh_strncmp(v->data, "column", 6) == 0) {
            p->partial_update_mode = DH_SL_PARTIAL_UPDATE_COLUMN;
        }
    }

    v = dh_sl_header(r, "merge_condition");
    if (v != NULL) {
        p->merge_condition = *v;
    }

    return DH_OK;
}


static dh_int_t
dh_sl_params_numbers(dh_http_request_t *r, dh_sl_params_t *p, dh_str_t *msg)
{
    int64_t    n;
    dh_str_t  *v;
    u_char     buf[64];

    v = dh_sl_header(r, "load_mem_limit");
    if (v != NULL) {
        if (dh_sl_stoll(v, &n) != DH_OK) {
            dh_sl_fail(msg, "Invalid load mem limit format");
        }

        if (n < 0) {
            dh_sl_fail(msg, "load_mem_limit must be equal or greater than 0");
        }

        p->load_mem_limit = n;
    }

    v = dh_sl_header(r, "exec_mem_limit");
    if (v != NULL) {
        if (dh_sl_stoll(v, &n) != DH_OK || n <= 0) {
            dh_sl_fail(msg, "exec_mem_limit must be greater than 0");
        }

        p->exec_mem_limit = n;
    }

    v = dh_sl_header(r, "load_dop");
    if (v != NULL) {
        if (dh_sl_stoll(v, &n) != DH_OK) {
            dh_sl_fail(msg, "Invalid load_dop format");
        }

        p->load_dop = n;
    }

    v = dh_sl_header(r, "log_rejected_record_num");
    if (v != NULL && !p->txn) {
        if (dh_sl_stoll(v, &n) != DH_OK) {
            dh_sl_fail(msg, "Invalid log_rejected_record_num format");
        }

        if (n < -1) {
            dh_sl_fail(msg, "log_rejected_record_num must be equal or "
                            "greater than -1");
        }

        p->log_rejected_record_num = n;
    }

    v = dh_sl_header(r, "max_filter_ratio");
    if (v != NULL) {
        /* strtod: text that is no number counts as 0 */
        size_t  len;

        len = dh_min(v->len, sizeof(buf) - 1);
        dh_memcpy(buf, v->data, len);
        buf[len] = '\0';
        p->max_filter_ratio = strtod((char *) buf, NULL);
    }

    return DH_OK;
}


static dh_int_t
dh_sl_params_compression(dh_http_request_t *r, dh_sl_params_t *p,
    dh_str_t *msg)
{
    dh_str_t  *v, *ce;

    v = dh_sl_header(r, "compression");
    ce = dh_sl_header(r, "Content-Encoding");

    if (v != NULL && ce != NULL) {
        dh_sl_fail(msg, "Only one of http header content-encoding and "
                        "compression can be set");
    }

    if (v == NULL) {
        v = ce;
    }

    if (v == NULL || v->len == 0) {
        return DH_OK;
    }

    if (p->reader.compression != DH_SL_COMPRESS_NONE) {
        dh_sl_fail(msg, "compression can not be set with a compressed "
                        "format (gzip, bzip2, lz4, deflate, zstd)");
    }

    if (dh_str_caseeq(v, "gzip")) {
        p->reader.compression = DH_SL_COMPRESS_GZIP;

    } else if (dh_str_caseeq(v, "bzip2")) {
        p->reader.compression = DH_SL_COMPRESS_BZIP2;

    } else if (dh_str_caseeq(v, "lz4_frame") || dh_str_caseeq(v, "lz4")) {
        p->reader.compression = DH_SL_COMPRESS_LZ4;

    } else if (dh_str_caseeq(v, "zstd")) {
        p->reader.compression = DH_SL_COMPRESS_ZSTD;

    } else if (dh_str_caseeq(v, "deflate")) {
        p->reader.compression = DH_SL_COMPRESS_DEFLATE;

    } else if (!dh_str_caseeq(v, "identity")) {
        msg->data = dh_sl_pdata(dh_psprintf(r->pool,
                                 "Unsupported compression type %.*s",
                                 (int) v->len, v->data));
        if (msg->data == NULL) {
            return DH_ERROR;
        }

        msg->len = dh_strlen(msg->data);
        return DH_DECLINED;
    }

    return DH_OK;
}


dh_int_t
dh_sl_params_check_json_size(dh_pool_t *pool, dh_sl_params_t *p, off_t max,
    dh_str_t *msg)
{
    if (p->reader.format != DH_SL_FORMAT_JSON || p->ignore_json_size
        || p->content_length <= max)
    {
        return DH_OK;
    }

    /* the double spaces are StarRocks' */
    msg->data = dh_sl_pdata(dh_psprintf(pool,
        "The size of this batch exceed the max size [%lld]  of json type "
        "data  data [ %lld ]. Set ignore_json_size to skip the check, "
        "although it may lead huge memory consuming.",
        (long long) max, (long long) p->content_length));
    if (msg->data == NULL) {
        return DH_ERROR;
    }

    msg->len = dh_strlen(msg->data);

    return DH_DECLINED;
}


dh_int_t
dh_sl_params_canonical(dh_pool_t *pool, dh_sl_params_t *p, dh_str_t *out)
{
    dh_str_t  *s;

    s = dh_psprintf(pool,
        "f=%d;z=%d;cs=%.*s;rd=%.*s;cols=%d:%.*s;where=%d:%.*s;"
        "jp=%.*s;jr=%.*s;soa=%d;strict=%d;pu=%d;pum=%d;mc=%.*s;neg=%d;"
        "tz=%.*s;lml=%lld;eml=%lld;dop=%lld",
        (int) p->reader.format, (int) p->reader.compression,
        (int) p->reader.column_separator.len,
        p->reader.column_separator.data,
        (int) p->reader.row_delimiter.len, p->reader.row_delimiter.data,
        p->columns.data != NULL, (int) p->columns.len,
        p->columns.data ? (char *) p->columns.data : "",
        p->where.data != NULL, (int) p->where.len,
        p->where.data ? (char *) p->where.data : "",
        (int) p->reader.jsonpaths.len,
        p->reader.jsonpaths.data ? (char *) p->reader.jsonpaths.data : "",
        (int) p->reader.json_root.len,
        p->reader.json_root.data ? (char *) p->reader.json_root.data : "",
        (int) p->reader.strip_outer_array, (int) p->strict_mode,
        (int) p->partial_update, (int) p->partial_update_mode,
        (int) p->merge_condition.len,
        p->merge_condition.data ? (char *) p->merge_condition.data : "",
        (int) p->negative, (int) p->timezone.len,
        p->timezone.data ? (char *) p->timezone.data : "",
        (long long) p->load_mem_limit, (long long) p->exec_mem_limit,
        (long long) p->load_dop);

    if (s == NULL) {
        return DH_ERROR;
    }

    *out = *s;

    return DH_OK;
}

#endif /* DH_HAVE_BDB */

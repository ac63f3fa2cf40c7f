/*
 * Stream Load header parsing (spec table 1.2): defaults, every accepted
 * form, StarRocks' message for every invalid value, the transaction-load
 * differences, the JSON size check, and the reply layout of rapidjson's
 * PrettyWriter.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"

#include "t/unit/dh_tap.h"

#if (DH_HAVE_BDB && DH_HAVE_HTTP_STREAM_LOAD_MODULE)

#include "src/modules/stream_load/dh_stream_load.h"


static dh_pool_t          *pool;
static dh_http_request_t   req;


/* a request with headers "name: value" given in pairs, NULL-terminated */
static dh_http_request_t *
request(const char *first, ...)
{
    va_list          args;
    const char      *name, *value;
    dh_table_elt_t  *h;

    dh_memzero(&req, sizeof(req));
    req.pool = pool;
    req.headers_in.content_length_n = -1;

    if (dh_list_init(&req.headers_in.headers, pool, 8, sizeof(dh_table_elt_t))
        != DH_OK)
    {
        return NULL;
    }

    va_start(args, first);

    for (name = first; name != NULL; name = va_arg(args, const char *)) {
        value = va_arg(args, const char *);

        h = dh_list_push(&req.headers_in.headers);
        if (h == NULL) {
            va_end(args);
            return NULL;
        }

        dh_memzero(h, sizeof(dh_table_elt_t));
        h->hash = 1;
        h->key.data = (u_char *) name;
        h->key.len = strlen(name);
        h->value.data = (u_char *) value;
        h->value.len = strlen(value);
    }

    va_end(args);

    return &req;
}


/* the message for one header, "" when it parses */
static const char *
message(dh_uint_t txn, const char *name, const char *value)
{
    static char      buf[512];
    dh_str_t         msg;
    dh_sl_params_t   p;

    if (dh_sl_params_parse(request(name, value, NULL), &p, txn, &msg)
        != DH_DECLINED)
    {
        return "";
    }

    snprintf(buf, sizeof(buf), "%.*s", (int) msg.len, msg.data);

    return buf;
}


static void
test_defaults(void)
{
    dh_str_t        msg;
    dh_sl_params_t  p;

    ok(dh_sl_params_parse(request(NULL), &p, 0, &msg) == DH_OK,
       "no headers");
    is_int(p.reader.format, DH_SL_FORMAT_CSV, "csv by default");
    is_int(p.reader.compression, DH_SL_COMPRESS_NONE, "no compression");
    ok(p.reader.column_separator.len == 1
       && p.reader.column_separator.data[0] == '\t', "tab separator");
    ok(p.reader.row_delimiter.len == 1
       && p.reader.row_delimiter.data[0] == '\n', "newline rows");
    is_int(p.timeout, -1, "timeout not given");
    is_int(p.log_rejected_record_num, -2, "rejected not given");
    ok(p.max_filter_ratio == 0.0, "max_filter_ratio 0");
    ok(p.label.len == 0, "no label");
    ok(p.columns.data == NULL && p.where.data == NULL, "no columns, where");
}


static void
test_values(void)
{
    dh_str_t        msg;
    dh_sl_params_t  p;

    ok(dh_sl_params_parse(request("Label", "l1", "FORMAT", "Gzip",
                                  "column_separator", "||",
                                  "skip_header", "2abc",
                                  "trim_space", "TRUE", "enclose", "\"x",
                                  "escape", "\\", "max_filter_ratio", "0.25",
                                  "strict_mode", "false", "timeout", "600",
                                  "log_rejected_record_num", "-1",
                                  "partial_update_mode", "column",
                                  "strip_outer_array", "True",
                                  "negative", "TRUE", NULL),
                          &p, 0, &msg) == DH_OK, "many headers");
    ok(p.label.len == 2, "label (names are case-insensitive)");
    is_int(p.reader.compression, DH_SL_COMPRESS_GZIP, "format gzip");
    is_int(p.reader.format, DH_SL_FORMAT_CSV, "gzip is compressed csv");
    ok(p.reader.column_separator.len == 2, "multi-byte separator");
    is_int(p.reader.skip_header, 2, "skip_header reads leading digits");
    ok(p.reader.trim_space, "trim_space");
    is_int(p.reader.enclose, '"', "enclose: first byte");
    is_int(p.reader.escape, '\\', "escape");
    ok(p.max_filter_ratio == 0.25, "max_filter_ratio");
    is_int(p.timeout, 600, "timeout");
    is_int(p.log_rejected_record_num, -1, "log_rejected_record_num -1");
    is_int(p.partial_update_mode, DH_SL_PARTIAL_UPDATE_COLUMN,
           "partial_update_mode");
    ok(p.reader.strip_outer_array, "strip_outer_array any case");
    ok(!p.negative, "negative only for exact true");

    ok(dh_sl_params_parse(request("max_filter_ratio", "abc",
                                  "partial_update_mode", "ROW", NULL),
                          &p, 0, &msg) == DH_OK, "lenient values");
    ok(p.max_filter_ratio == 0.0, "bad max_filter_ratio is 0");
    is_int(p.partial_update_mode, DH_SL_PARTIAL_UPDATE_NONE,
           "unknown partial_update_mode ignored");

    ok(dh_sl_params_parse(request("format", "json", "compression",
                                  "LZ4_FRAME", NULL), &p, 0, &msg) == DH_OK
       && p.reader.format == DH_SL_FORMAT_JSON
       && p.reader.compression == DH_SL_COMPRESS_LZ4, "json + lz4_frame");

    ok(dh_sl_params_parse(request("Content-Encoding", "zstd", NULL), &p, 0,
                          &msg) == DH_OK
       && p.reader.compression == DH_SL_COMPRESS_ZSTD, "Content-Encoding");
}


static void
test_messages(void)
{
    is_str(message(0, "format", "xml"), "unknown data format, format=xml",
           "format");
    is_str(message(0, "timeout", "x"), "Invalid timeout format", "timeout");
    is_str(message(0, "timeout", "-1"), "Invalid timeout format",
           "negative timeout");
    is_str(message(0, "skip_header", "-1"),
           "skip_header must be equal or greater than 0", "skip_header < 0");
    is_str(message(0, "skip_header", "x"),
           "Invalid csv load skip_header format", "skip_header text");
    is_str(message(0, "trim_space", "1"),
           "Invalid trim space format. Must be bool type", "trim_space");
    is_str(message(0, "strict_mode", "yes"),
           "Invalid strict mode format. Must be bool type", "strict_mode");
    is_str(message(0, "load_mem_limit", "-1"),
           "load_mem_limit must be equal or greater than 0", "load_mem_limit");
    is_str(message(0, "load_mem_limit", "x"),
           "Invalid load mem limit format", "load_mem_limit text");
    is_str(message(0, "exec_mem_limit", "0"),
           "exec_mem_limit must be greater than 0", "exec_mem_limit");
    is_str(message(0, "load_dop", "x"), "Invalid load_dop format",
           "load_dop");
    is_str(message(0, "log_rejected_record_num", "-2"),
           "log_rejected_record_num must be equal or greater than -1",
           "log_rejected_record_num");
    is_str(message(0, "log_rejected_record_num", "x"),
           "Invalid log_rejected_record_num format",
           "log_rejected_record_num text");
    is_str(message(0, "partial_update", "x"),
           "Invalid partial update flag format. Must be bool type",
           "partial_update");
    is_str(message(0, "enable_merge_commit", "abc"),
           "Invalid parameter enable_merge_commit. The value must be bool "
           "type, but is abc", "enable_merge_commit");
    is_str(message(0, "compression", "snappy"),
           "Unsupported compression type snappy", "compression");
    is_str(message(0, "column_separator", ""),
           "Invalid column_separator: empty, bad hex or longer than 50 bytes",
           "empty column_separator");

    /* spec 2.1: not read on the transaction load path */
    is_str(message(1, "skip_header", "x"), "", "txn: skip_header ignored");
    is_str(message(1, "trim_space", "1"), "", "txn: trim_space ignored");
    is_str(message(1, "partial_update", "x"), "",
           "txn: partial_update is exact true or false");
}


static void
test_pairs(void)
{
    dh_str_t        msg;
    dh_sl_params_t  p;

    ok(dh_sl_params_parse(request("compression", "gzip", "content-encoding",
                                  "gzip", NULL), &p, 0, &msg) == DH_DECLINED
       && msg.len == sizeof("Only one of http header content-encoding and "
                            "compression can be set") - 1,
       "compression and Content-Encoding");

    ok(dh_sl_params_parse(request("partitions", "p1", "temporary_partitions",
                                  "p2", NULL), &p, 0, &msg) == DH_DECLINED
       && msg.len == sizeof("Can not specify both partitions and temporary "
                            "partitions") - 1,
       "partitions and temporary_partitions");

    /* the format is checked before the timeout, as in StarRocks */
    ok(dh_sl_params_parse(request("timeout", "x", "format", "x", NULL), &p,
                          0, &msg) == DH_DECLINED
       && msg.len > 7 && memcmp(msg.data, "unknown", 7) == 0,
       "format checked first");
}


static void
test_json_size(void)
{
    dh_str_t        msg;
    dh_sl_params_t  p;

    (void) dh_sl_params_parse(request("format", "json", NULL), &p, 0, &msg);
    p.content_length = 1000;

    ok(dh_sl_params_check_json_size(pool, &p, 1000, &msg) == DH_OK,
       "json at the limit");
    ok(dh_sl_params_check_json_size(pool, &p, 999, &msg) == DH_DECLINED,
       "json over the limit");
    is_str(dh_pstrdup_cstr(pool, &msg),
           "The size of this batch exceed the max size [999]  of json type "
           "data  data [ 1000 ]. Set ignore_json_size to skip the check, "
           "although it may lead huge memory consuming.", "json message");

    p.ignore_json_size = 1;
    ok(dh_sl_params_check_json_size(pool, &p, 999, &msg) == DH_OK,
       "ignore_json_size");
}


static void
test_reply(void)
{
    dh_str_t       out;
    dh_sl_reply_t  rp;

    dh_memzero(&rp, sizeof(rp));
    rp.txn_id = 7;
    dh_str_set(&rp.label, "l\"1");
    rp.status = DH_SL_STATUS_LABEL_EXISTS;
    dh_str_set(&rp.existing, "FINISHED");
    dh_str_set(&rp.message, "Label [l1] has already been used.");
    rp.c.total = 3;

    ok(dh_sl_reply_json(pool, &rp, &out) == DH_OK, "reply");
    is_str(dh_pstrdup_cstr(pool, &out),
           "{\n"
           "    \"TxnId\": 7,\n"
           "    \"Label\": \"l\\\"1\",\n"
           "    \"Status\": \"Label Already Exists\",\n"
           "    \"ExistingJobStatus\": \"FINISHED\",\n"
           "    \"Message\": \"Label [l1] has already been used.\",\n"
           "    \"NumberTotalRows\": 3,\n"
           "    \"NumberLoadedRows\": 0,\n"
           "    \"NumberFilteredRows\": 0,\n"
           "    \"NumberUnselectedRows\": 0,\n"
           "    \"LoadBytes\": 0,\n"
           "    \"LoadTimeMs\": 0,\n"
           "    \"BeginTxnTimeMs\": 0,\n"
           "    \"StreamLoadPlanTimeMs\": 0,\n"
           "    \"ReadDataTimeMs\": 0,\n"
           "    \"WriteDataTimeMs\": 0,\n"
           "    \"CommitAndPublishTimeMs\": 0\n"
           "}", "reply layout: PrettyWriter, spec 1.3 order");

    rp.status = DH_SL_STATUS_FAIL;
    dh_str_set(&rp.error_url, "http://h:1/api/_load_error_log?file=x");

    ok(dh_sl_reply_json(pool, &rp, &out) == DH_OK
       && strstr(dh_pstrdup_cstr(pool, &out), "ExistingJobStatus") == NULL
       && strstr(dh_pstrdup_cstr(pool, &out),
                 "\"CommitAndPublishTimeMs\": 0,\n    \"ErrorURL\": "
                 "\"http://h:1/api/_load_error_log?file=x\"\n}") != NULL,
       "Fail: no ExistingJobStatus, ErrorURL last");
}


int
main(void)
{
    pool = dh_create_pool(4096, NULL);

    test_defaults();
    test_values();
    test_messages();
    test_pairs();
    test_json_size();
    test_reply();

    dh_destroy_pool(pool);

    return done_testing();
}

#else

int
main(void)
{
    printf("1..0 # SKIP built without Berkeley DB or Stream Load\n");
    return 0;
}

#endif

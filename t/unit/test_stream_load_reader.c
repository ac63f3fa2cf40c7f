/*
 * The Stream Load reader: CSV and JSON splitting and every compression,
 * fed whole, split at every byte boundary and byte by byte; the rows must
 * not depend on how the bytes arrive.  Compressed inputs are made here by
 * the real libraries.  Also corrupt and truncated streams, and the
 * separator header forms.
 */

#include "dh_config.h"
#include "dh_core.h"

#include "t/unit/dh_tap.h"

#if (DH_HAVE_HTTP_STREAM_LOAD_MODULE)

#include "src/modules/stream_load/dh_stream_load_reader.h"

#if (DH_HAVE_ZLIB)
#include <zlib.h>
#endif
#if (DH_HAVE_BZIP2)
#include <bzlib.h>
#endif
#if (DH_HAVE_LZ4)
#include <lz4frame.h>
#endif
#if (DH_HAVE_ZSTD)
#include <zstd.h>
#endif


/* rows as text: fields joined by '|', NULL as <N>, errors as !error,
 * one row a line */
typedef struct {
    char    *text;
    size_t   len;
    size_t   cap;
} out_t;


static void
out_add(out_t *o, const void *p, size_t len)
{
    if (o->len + len + 1 > o->cap) {
        o->cap = (o->len + len + 1) * 2;
        o->text = realloc(o->text, o->cap);
        if (o->text == NULL) {
            abort();
        }
    }

    memcpy(o->text + o->len, p, len);
    o->len += len;
    o->text[o->len] = '\0';
}


static dh_int_t
collect(void *data, dh_sl_row_t *row)
{
    out_t      *o = data;
    dh_uint_t   i;

    if (row->error) {
        out_add(o, "!", 1);
        out_add(o, row->error, strlen(row->error));

    } else {
        for (i = 0; i < row->nfields; i++) {
            if (i) {
                out_add(o, "|", 1);
            }

            if (row->nulls[i]) {
                out_add(o, "<N>", 3);

            } else {
                out_add(o, row->fields[i].data, row->fields[i].len);
            }
        }
    }

    out_add(o, "\n", 1);

    return DH_OK;
}


/*
 * Runs the reader over in[0..len) in pieces: split 0 feeds it whole,
 * split k>0 feeds in[0..k) then the rest, split -1 feeds byte by byte.
 * Returns the rows text (malloc'ed) or "ERROR: message".
 */
static char *
run(dh_sl_reader_conf_t *conf, const u_char *in, size_t len, ssize_t split)
{
    size_t           i;
    out_t            o;
    dh_int_t         rc;
    dh_pool_t       *pool;
    const char      *err;
    dh_sl_reader_t  *rd;
    u_char          *copy, *b;

    memset(&o, 0, sizeof(o));
    out_add(&o, "", 0);

    pool = dh_create_pool(4096, NULL);
    err = NULL;

    rd = dh_sl_reader_create(pool, conf, collect, &o, &err);
    if (rd == NULL) {
        o.len = 0;
        out_add(&o, "CREATE: ", 8);
        out_add(&o, err, strlen(err));
        dh_destroy_pool(pool);
        return o.text;
    }

    /* a private copy, so a read past a piece shows up under ASan */
    copy = malloc(len ? len : 1);
    memcpy(copy, in, len);

    rc = DH_OK;

    if (split < 0) {
        for (i = 0; i < len && rc == DH_OK; i++) {
            b = malloc(1);
            *b = copy[i];
            rc = dh_sl_reader_feed(rd, b, 1);
            free(b);
        }

    } else if (split == 0 || (size_t) split >= len) {
        rc = dh_sl_reader_feed(rd, copy, len);

    } else {
        rc = dh_sl_reader_feed(rd, copy, split);
        if (rc == DH_OK) {
            rc = dh_sl_reader_feed(rd, copy + split, len - split);
        }
    }

    if (rc == DH_OK) {
        rc = dh_sl_reader_finish(rd);
    }

    if (rc != DH_OK) {
        err = dh_sl_reader_error(rd);
        out_add(&o, "ERROR: ", 7);
        out_add(&o, err ? err : "(none)", strlen(err ? err : "(none)"));
    }

    free(copy);
    dh_destroy_pool(pool);

    return o.text;
}


/* Whole, split everywhere, byte by byte: all the same as want. */
static void
check(const char *name, dh_sl_reader_conf_t *conf, const u_char *in,
    size_t len, const char *want)
{
    char     *got;
    ssize_t   k;
    int       bad;

    got = run(conf, in, len, 0);
    is_str(got, want, "%s: whole", name);
    free(got);

    bad = 0;

    for (k = 1; k < (ssize_t) len && len <= 4096; k++) {
        got = run(conf, in, len, k);

        if (strcmp(got, want) != 0 && bad++ == 0) {
            printf("# split at %zd: '%s'\n", k, got);
        }

        free(got);
    }

    ok(bad == 0, "%s: split at every byte (%d differ)", name, bad);

    if (len <= 65536) {
        got = run(conf, in, len, -1);
        is_str(got, want, "%s: byte by byte", name);
        free(got);
    }
}


static void
csv_conf(dh_sl_reader_conf_t *conf, const char *sep, const char *delim)
{
    memset(conf, 0, sizeof(*conf));
    conf->format = DH_SL_FORMAT_CSV;
    conf->column_separator.data = (u_char *) sep;
    conf->column_separator.len = strlen(sep);
    conf->row_delimiter.data = (u_char *) delim;
    conf->row_delimiter.len = strlen(delim);
}


static void
check_csv(const char *name, dh_sl_reader_conf_t *conf, const char *in,
    const char *want)
{
    check(name, conf, (const u_char *) in, strlen(in), want);
}


static void
test_csv(void)
{
    dh_sl_reader_conf_t  conf;

    csv_conf(&conf, ",", "\n");
    check_csv("csv basic", &conf, "1,a,x\n2,b,y\n", "1|a|x\n2|b|y\n");
    check_csv("csv last row without delimiter", &conf, "1,a\n2,b",
              "1|a\n2|b\n");
    check_csv("csv empty trailing line is no row", &conf, "1,a\n\n",
              "1|a\n");
    check_csv("csv empty fields", &conf, ",,\n", "||\n");
    check_csv("csv \\N is null", &conf, "1,\\N,\\Nx\n", "1|<N>|\\Nx\n");
    check_csv("csv empty body", &conf, "", "");

    csv_conf(&conf, "||", "\r\n");
    check_csv("csv multi-byte", &conf, "1||a|b||c\r\n2||\r||x\r\n",
              "1|a|b|c\n2|\r|x\n");

    csv_conf(&conf, "\x01", "\x02\x03");
    check_csv("csv control bytes", &conf, "a\x01" "b\x02\x03" "c\x01\x02",
              "a|b\nc|\x02\n");

    csv_conf(&conf, "abc", "abd");
    check_csv("csv overlapping separator and delimiter", &conf,
              "1abc2abd3ab4abcabd", "1|2\n3ab4|\n");

    csv_conf(&conf, ",", "\n");
    conf.enclose = '"';
    check_csv("csv enclose", &conf,
              "1,\"a,b\",\"x\ny\"\n2,\"say \"\"hi\"\"\",z\n",
              "1|a,b|x\ny\n2|say \"hi\"|z\n");
    check_csv("csv enclose only at field start", &conf, "1,a\"b,c\n",
              "1|a\"b|c\n");
    check_csv("csv enclosed \\N is text", &conf, "\"\\N\",\\N\n",
              "\\N|<N>\n");
    check_csv("csv unterminated enclose", &conf, "1,\"abc\n",
              "!unterminated enclose\n");
    check_csv("csv empty enclosed", &conf, "\"\",\"\"\"\"\n", "|\"\n");

    conf.trim_space = 1;
    check_csv("csv trim_space", &conf, "  1 ,  \"a b \"  , c  \n x\n",
              "1|a b |c\nx\n");

    csv_conf(&conf, ",", "\n");
    conf.escape = '\\';
    check_csv("csv escape", &conf, "a\\,b,c\\\nd\n1\\\\,2\n",
              "a,b|c\nd\n1\\|2\n");

    conf.enclose = '\'';
    check_csv("csv escape inside enclose", &conf, "'a\\'b',c\n",
              "a'b|c\n");

    csv_conf(&conf, ",", "\n");
    conf.skip_header = 2;
    check_csv("csv skip_header", &conf, "h1\nh2\n1,a\n2,b\n",
              "1|a\n2|b\n");

    csv_conf(&conf, ",", "\n");
    conf.max_row_size = 8;
    check_csv("csv max_row_size", &conf,
              "1,a\n0123456789abcdef,x\n2,b\n",
              "1|a\n!the row is longer than max_row_size\n2|b\n");

    csv_conf(&conf, ",", "\r\n");
    conf.max_row_size = 8;
    check_csv("csv max_row_size, multi-byte delimiter", &conf,
              "1,a\r\n0123456789abcdef\r0123\r\n2,b\r\n",
              "1|a\n!the row is longer than max_row_size\n2|b\n");

    conf.enclose = '"';
    check_csv("csv max_row_size with enclose", &conf,
              "1,a\r\n\"0123456789ab\r\ncdef\"\r\n2,b\r\n",
              "1|a\n!the row is longer than max_row_size\n"
              "cdef\"\n2|b\n");

    memset(&conf, 0, sizeof(conf));
    check_csv("csv defaults tab and newline", &conf, "1\ta\n2\tb\n",
              "1|a\n2|b\n");
}


static void
test_csv_big(void)
{
    size_t               i, n;
    char                *in, *want, *p, *w;
    char                *got;
    dh_sl_reader_conf_t  conf;

    /* many rows crossing many feed boundaries of a byte-by-byte feed */
    n = 2000;
    in = malloc(n * 32 + 30000);
    want = malloc(n * 32 + 30000);
    p = in;
    w = want;

    for (i = 0; i < n; i++) {
        p += sprintf(p, "%zu,\"n,%zu\"\r\n", i, i % 7);
        w += sprintf(w, "%zu|n,%zu\n", i, i % 7);
    }

    csv_conf(&conf, ",", "\r\n");
    conf.enclose = '"';

    got = run(&conf, (u_char *) in, p - in, -1);
    is_str(got, want, "csv 2000 rows byte by byte");
    free(got);

    got = run(&conf, (u_char *) in, p - in, (p - in) / 3);
    is_str(got, want, "csv 2000 rows in two pieces");
    free(got);

    /* rows wider than the pending buffer's copy step */
    p = in;
    w = want;

    for (i = 0; i < 3; i++) {
        p += sprintf(p, "%zu,\"", i);
        w += sprintf(w, "%zu|", i);
        memset(p, 'a' + i, 9000);
        memset(w, 'a' + i, 9000);
        p += 9000;
        w += 9000;
        p += sprintf(p, "\r\n\",x\r\n");
        w += sprintf(w, "\r\n|x\n");
    }

    for (n = 1; n < (size_t) (p - in); n += 997) {
        got = run(&conf, (u_char *) in, p - in, n);

        if (strcmp(got, want) != 0) {
            break;
        }

        free(got);
        got = NULL;
    }

    ok(got == NULL, "csv wide rows, split every 997 bytes");
    free(got);

    got = run(&conf, (u_char *) in, p - in, -1);
    is_str(got, want, "csv wide rows byte by byte");
    free(got);

    free(in);
    free(want);
}


static void
json_conf(dh_sl_reader_conf_t *conf, dh_str_t *names, dh_uint_t n)
{
    memset(conf, 0, sizeof(*conf));
    conf->format = DH_SL_FORMAT_JSON;
    conf->names = names;
    conf->nnames = n;
}


static void
test_json(void)
{
    char                *got;
    dh_str_t             names[3];
    dh_sl_reader_conf_t  conf;

    dh_str_set(&names[0], "id");
    dh_str_set(&names[1], "name");
    dh_str_set(&names[2], "v");

    json_conf(&conf, names, 3);
    check_csv("json object", &conf, "{\"id\": 1, \"name\": \"a\", \"v\": 2.5}",
              "1|a|2.5\n");
    check_csv("json ndjson", &conf,
              "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"v\":null}\n"
              "  {\"name\":\"x\\\"y\\u00e9\",\"id\":3} {\"id\":4}\n",
              "1|a|<N>\n2|<N>|<N>\n3|x\"y\xc3\xa9|<N>\n4|<N>|<N>\n");
    check_csv("json values kept exactly", &conf,
              "{\"id\":9223372036854775807,\"name\":-9007199254740993,"
              "\"v\":1.10000000000000000001e300}",
              "9223372036854775807|-9007199254740993|"
              "1.10000000000000000001e300\n");
    check_csv("json booleans, objects and arrays as text", &conf,
              "{\"id\":true,\"name\":{\"a\": [1, 2.50, \"s\\n\"], \"b\":{}},"
              "\"v\":[false, null]}",
              "true|{\"a\":[1,2.50,\"s\\n\"],\"b\":{}}|[false,null]\n");
    check_csv("json array without strip_outer_array", &conf,
              "[{\"id\":1},{\"id\":2}]\n{\"id\":3}",
              "!JSON data is an array, strip_outer_array must be set true\n"
              "3|<N>|<N>\n");
    check_csv("json not an object", &conf, "{\"id\":1}\n42\n\"s\"\n",
              "1|<N>|<N>\n!JSON value is not an object\n"
              "!JSON value is not an object\n");
    check_csv("json invalid value is a filtered row", &conf,
              "{\"id\":1,}\n{\"id\":2}\n",
              "!JSON data is not valid\n2|<N>|<N>\n");
    check_csv("json truncated", &conf, "{\"id\":1}\n{\"id\":",
              "1|<N>|<N>\nERROR: JSON data is not valid: the data ends"
              " inside a value");
    check_csv("json stray bracket", &conf, "{\"id\":1}\n]",
              "1|<N>|<N>\nERROR: JSON data is not valid: unexpected"
              " character outside a value");

    json_conf(&conf, names, 3);
    conf.strip_outer_array = 1;
    check_csv("json strip_outer_array", &conf,
              " [ {\"id\":1,\"name\":\"a,]}\"} ,\n{\"id\":2} ] ",
              "1|a,]}|<N>\n2|<N>|<N>\n");
    check_csv("json strip_outer_array, empty array", &conf, "[]", "");
    check_csv("json strip_outer_array, element not an object", &conf,
              "[{\"id\":1},[2],3]",
              "1|<N>|<N>\n!JSON value is not an object\n"
              "!JSON value is not an object\n");
    check_csv("json strip_outer_array on an object", &conf, "{\"id\":1}",
              "!JSON data is an object, strip_outer_array must be set"
              " false\n");
    check_csv("json strip_outer_array, missing comma", &conf,
              "[{\"id\":1} {\"id\":2}]",
              "1|<N>|<N>\nERROR: JSON data is not valid: expected ',' or"
              " ']' after an array element");
    check_csv("json strip_outer_array, not closed", &conf, "[{\"id\":1},",
              "1|<N>|<N>\nERROR: JSON data is not valid: the outer array is"
              " not closed");

    dh_str_set(&conf.json_root, "$.data.rows");
    check_csv("json json_root with strip_outer_array", &conf,
              "{\"data\":{\"rows\":[{\"id\":1},{\"id\":2,\"v\":3}]}}",
              "1|<N>|<N>\n2|<N>|3\n");
    check_csv("json json_root missing", &conf, "{\"data\":{}}",
              "!JSON root is not found\n");

    json_conf(&conf, names, 3);
    dh_str_set(&conf.json_root, "$.r");
    check_csv("json json_root object", &conf, "{\"r\":{\"id\":7}}",
              "7|<N>|<N>\n");

    json_conf(&conf, NULL, 0);
    dh_str_set(&conf.jsonpaths,
               "[\"$.id\", \"$.user.name\", \"$.tags[1]\", \"$['a.b']\"]");
    check_csv("json jsonpaths", &conf,
              "{\"id\":1,\"user\":{\"name\":\"u\"},\"tags\":[\"x\",\"y\"],"
              "\"a.b\":5}\n{\"id\":2,\"tags\":[]}",
              "1|u|y|5\n2|<N>|<N>|<N>\n");

    dh_str_set(&conf.jsonpaths, "[\"$.id\", \"id\"]");
    got = run(&conf, (u_char *) "{}", 2, 0);
    is_str(got, "CREATE: Invalid jsonpaths", "jsonpaths without $");
    free(got);

    dh_str_set(&conf.jsonpaths, "[\"$.a[x]\"]");
    got = run(&conf, (u_char *) "{}", 2, 0);
    is_str(got, "CREATE: Invalid jsonpaths", "jsonpaths bad index");
    free(got);

    dh_str_set(&conf.jsonpaths, "not json");
    got = run(&conf, (u_char *) "{}", 2, 0);
    is_str(got, "CREATE: Invalid jsonpaths", "jsonpaths not json");
    free(got);
}


/* ---- compression: inputs made by the libraries ---- */

typedef struct {
    u_char  *data;
    size_t   len;
} blob_t;


static void
blob_add(blob_t *b, const void *p, size_t len)
{
    b->data = realloc(b->data, b->len + len);
    memcpy(b->data + b->len, p, len);
    b->len += len;
}


static const char  *plain1 = "1,alpha\n2,beta\n3,gamma\n";
static const char  *plain2 = "4,delta\n5,epsilon";
static const char  *want12 = "1|alpha\n2|beta\n3|gamma\n4|delta\n5|epsilon\n";


#if (DH_HAVE_ZLIB)

static void
zlib_member(blob_t *b, const char *text, size_t len, int wbits)
{
    size_t    size;
    u_char   *out;
    z_stream  z;

    memset(&z, 0, sizeof(z));
    deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY);
    size = deflateBound(&z, len);
    out = malloc(size);
    z.next_in = (u_char *) text;
    z.avail_in = len;
    z.next_out = out;
    z.avail_out = size;
    deflate(&z, Z_FINISH);
    blob_add(b, out, size - z.avail_out);
    deflateEnd(&z);
    free(out);
}

#endif

#if (DH_HAVE_BZIP2)

static void
bzip2_stream(blob_t *b, const char *text, size_t len)
{
    char          *out;
    unsigned int   n;

    n = len + len / 100 + 600;
    out = malloc(n);
    BZ2_bzBuffToBuffCompress(out, &n, (char *) text, len, 1, 0, 0);
    blob_add(b, out, n);
    free(out);
}

#endif

#if (DH_HAVE_LZ4)

static void
lz4_frame(blob_t *b, const char *text, size_t len)
{
    u_char  *out;
    size_t   n;

    n = LZ4F_compressFrameBound(len, NULL);
    out = malloc(n);
    n = LZ4F_compressFrame(out, n, text, len, NULL);
    blob_add(b, out, n);
    free(out);
}

#endif

#if (DH_HAVE_ZSTD)

static void
zstd_frame(blob_t *b, const char *text, size_t len)
{
    u_char  *out;
    size_t   n;

    n = ZSTD_compressBound(len);
    out = malloc(n);
    n = ZSTD_compress(out, n, text, len, 3);
    blob_add(b, out, n);
    free(out);
}

#endif


static void
make(blob_t *b, dh_sl_compress_e type, const char *text, size_t len)
{
    switch (type) {
#if (DH_HAVE_ZLIB)
    case DH_SL_COMPRESS_GZIP:
        zlib_member(b, text, len, 15 + 16);
        break;
    case DH_SL_COMPRESS_DEFLATE:
        zlib_member(b, text, len, 15);
        break;
#endif
#if (DH_HAVE_BZIP2)
    case DH_SL_COMPRESS_BZIP2:
        bzip2_stream(b, text, len);
        break;
#endif
#if (DH_HAVE_LZ4)
    case DH_SL_COMPRESS_LZ4:
        lz4_frame(b, text, len);
        break;
#endif
#if (DH_HAVE_ZSTD)
    case DH_SL_COMPRESS_ZSTD:
        zstd_frame(b, text, len);
        break;
#endif
    default:
        abort();
    }
}


/* got (freed here) has want in it */
static void
found(char *got, const char *want, const char *name, const char *what)
{
    if (!ok(strstr(got, want) != NULL, "%s %s: %s", name, what, want)) {
        printf("# got: %s\n", got);
    }

    free(got);
}


static void
test_compressed(dh_sl_compress_e type, const char *name, dh_uint_t multi)
{
    char                 title[128], *got, *big, *want, *p, *w, prefix[64];
    size_t               i, n;
    blob_t               b;
    dh_sl_reader_conf_t  conf;

    csv_conf(&conf, ",", "\n");
    conf.compression = type;

    /* two members/frames/streams in a row, as cat a.gz b.gz makes */
    memset(&b, 0, sizeof(b));
    make(&b, type, plain1, strlen(plain1));

    if (multi) {
        make(&b, type, plain2, strlen(plain2));
        snprintf(title, sizeof(title), "%s, two in a row", name);
        check(title, &conf, b.data, b.len, want12);

    } else {
        snprintf(title, sizeof(title), "%s", name);
        check(title, &conf, b.data, b.len,
              "1|alpha\n2|beta\n3|gamma\n");
    }

    /* cut short: reported at finish */
    snprintf(prefix, sizeof(prefix), "ERROR: %s data is truncated", name);
    got = run(&conf, b.data, b.len - 3, 0);
    found(got, prefix, name, "truncated");

    /* corrupt */
    for (i = b.len / 2; i < b.len / 2 + 6 && i < b.len; i++) {
        b.data[i] ^= 0x55;
    }

    snprintf(prefix, sizeof(prefix), "ERROR: %s data is ", name);
    got = run(&conf, b.data, b.len, 0);
    found(got, prefix, name, "corrupt");

    /* garbage from the first byte */
    snprintf(prefix, sizeof(prefix), "ERROR: %s data is corrupt", name);
    got = run(&conf, (u_char *) "this is not compressed at all\n", 30, 0);
    found(got, prefix, name, "not compressed");

    free(b.data);

    /* large output: many output chunks per input piece */
    n = 200000;
    big = malloc(n * 24);
    want = malloc(n * 24);
    p = big;
    w = want;

    for (i = 0; i < n; i++) {
        p += sprintf(p, "%zu,row%zu\n", i, i % 10);
        w += sprintf(w, "%zu|row%zu\n", i, i % 10);
    }

    memset(&b, 0, sizeof(b));
    make(&b, type, big, (p - big) / 2);
    make(&b, type, big + (p - big) / 2, (p - big) - (p - big) / 2);

    if (!multi) {
        free(b.data);
        memset(&b, 0, sizeof(b));
        make(&b, type, big, p - big);
    }

    got = run(&conf, b.data, b.len, b.len / 3);
    ok(strcmp(got, want) == 0, "%s: 200000 rows, %zu compressed bytes",
       name, b.len);
    free(got);

    got = run(&conf, b.data, b.len, -1);
    ok(strcmp(got, want) == 0, "%s: 200000 rows byte by byte", name);
    free(got);

    free(b.data);
    free(big);
    free(want);
}


static void
test_compression(void)
{
#if (DH_HAVE_ZLIB)
    blob_t               b;
    dh_sl_reader_conf_t  conf;

    test_compressed(DH_SL_COMPRESS_GZIP, "gzip", 1);
    test_compressed(DH_SL_COMPRESS_DEFLATE, "deflate", 0);

    /* raw deflate, told apart by its first bytes */
    csv_conf(&conf, ",", "\n");
    conf.compression = DH_SL_COMPRESS_DEFLATE;
    memset(&b, 0, sizeof(b));
    zlib_member(&b, plain1, strlen(plain1), -15);
    check("raw deflate", &conf, b.data, b.len, "1|alpha\n2|beta\n3|gamma\n");
    free(b.data);

    /* a compressed JSON body */
    memset(&conf, 0, sizeof(conf));
    conf.format = DH_SL_FORMAT_JSON;
    conf.compression = DH_SL_COMPRESS_GZIP;
    dh_str_set(&conf.jsonpaths, "[\"$.a\"]");
    memset(&b, 0, sizeof(b));
    zlib_member(&b, "{\"a\":1}\n{\"a\":2}\n", 16, 15 + 16);
    check("gzip json", &conf, b.data, b.len, "1\n2\n");
    free(b.data);
#endif

#if (DH_HAVE_BZIP2)
    test_compressed(DH_SL_COMPRESS_BZIP2, "bzip2", 1);
#endif
#if (DH_HAVE_LZ4)
    test_compressed(DH_SL_COMPRESS_LZ4, "lz4", 1);
#endif
#if (DH_HAVE_ZSTD)
    test_compressed(DH_SL_COMPRESS_ZSTD, "zstd", 1);
#endif
}


static void
test_not_built(void)
{
#if !(DH_HAVE_ZLIB && DH_HAVE_BZIP2 && DH_HAVE_LZ4 && DH_HAVE_ZSTD)
    char                *got;
    dh_sl_reader_conf_t  conf;

    csv_conf(&conf, ",", "\n");
#if !(DH_HAVE_ZSTD)
    conf.compression = DH_SL_COMPRESS_ZSTD;
    got = run(&conf, (u_char *) "x", 1, 0);
    is_str(got, "CREATE: compression zstd is not built in", "zstd not built");
    free(got);
#endif
#if !(DH_HAVE_LZ4)
    conf.compression = DH_SL_COMPRESS_LZ4;
    got = run(&conf, (u_char *) "x", 1, 0);
    is_str(got, "CREATE: compression lz4 is not built in", "lz4 not built");
    free(got);
#endif
#if !(DH_HAVE_BZIP2)
    conf.compression = DH_SL_COMPRESS_BZIP2;
    got = run(&conf, (u_char *) "x", 1, 0);
    is_str(got, "CREATE: compression bzip2 is not built in",
           "bzip2 not built");
    free(got);
#endif
#if !(DH_HAVE_ZLIB)
    conf.compression = DH_SL_COMPRESS_GZIP;
    got = run(&conf, (u_char *) "x", 1, 0);
    is_str(got, "CREATE: compression gzip is not built in", "gzip not built");
    free(got);
#endif
#endif
}


static void
sep(dh_pool_t *pool, const char *in, const char *want, size_t want_len)
{
    dh_str_t  v, out;
    dh_int_t  rc;

    v.data = (u_char *) in;
    v.len = strlen(in);

    rc = dh_sl_parse_separator(pool, &v, &out);

    if (want == NULL) {
        is_int(rc, DH_ERROR, "separator '%s' is refused", in);
        return;
    }

    ok(rc == DH_OK && out.len == want_len
       && memcmp(out.data, want, want_len) == 0,
       "separator '%s'", in);
}


static void
test_separators(void)
{
    dh_pool_t  *pool;

    pool = dh_create_pool(4096, NULL);

    sep(pool, ",", ",", 1);
    sep(pool, "||", "||", 2);
    sep(pool, "\\x01", "\x01", 1);
    sep(pool, "\\X0d0A", "\r\n", 2);
    sep(pool, "\\\\x0D0A", "\r\n", 2);
    sep(pool, "\\t", "\\t", 2);
    sep(pool, "\\x", "\\x", 2);
    sep(pool, "", NULL, 0);
    sep(pool, "\\x0", NULL, 0);
    sep(pool, "\\xZZ", NULL, 0);
    sep(pool, "12345678901234567890123456789012345678901234567890",
        "12345678901234567890123456789012345678901234567890", 50);
    sep(pool, "123456789012345678901234567890123456789012345678901", NULL,
        0);

    dh_destroy_pool(pool);
}


int
main(void)
{
    test_separators();
    test_csv();
    test_csv_big();
    test_json();
    test_compression();
    test_not_built();

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

/*
 * The JSON splitter of Stream Load.
 *
 * A small scanner finds where each top-level value ends (it tracks
 * strings, escapes and nesting only), so a body of many values (NDJSON,
 * or values just written one after another) is parsed one value at a time
 * with cJSON and memory holds one value.  With strip_outer_array and no
 * json_root the scanner also steps into the outer array and hands over
 * one element at a time; with json_root the whole value is parsed and the
 * root looked up in it, as StarRocks does.
 *
 * cJSON keeps numbers as doubles, which cannot hold every int64: numbers
 * are therefore taken from the source text.  Before a value is parsed its
 * number tokens are listed in order; after parsing, the k-th number node
 * of a pre-order walk gets k in its valueint (cJSON does not read that
 * field again), and a field that is a number is that slice of the source.
 */

#include "dh_config.h"
#include "dh_core.h"

#include "dh_stream_load_reader_int.h"

#include <cjson/cJSON.h>


typedef struct {
    char                *key;        /* NULL: index */
    dh_int_t             index;
} dh_sl_json_seg_t;

typedef struct {
    dh_sl_json_seg_t    *segs;
    dh_uint_t            nsegs;
} dh_sl_json_path_t;

typedef enum {
    DH_SL_JSON_TOP = 0,
    DH_SL_JSON_VALUE,
    DH_SL_JSON_ARRAY_FIRST,       /* after '[': a value or ']' */
    DH_SL_JSON_ARRAY_NEXT,        /* after ',': a value */
    DH_SL_JSON_ARRAY_AFTER        /* after an element: ',' or ']' */
} dh_sl_json_state_e;

typedef struct {
    u_char              *data;
    size_t               len;
    size_t               cap;
} dh_sl_json_buf_t;

struct dh_sl_json_s {
    dh_pool_t           *pool;
    dh_sl_row_pt         handler;
    void                *data;

    dh_sl_json_path_t   *paths;      /* jsonpaths */
    dh_uint_t            npaths;
    dh_sl_json_path_t   *root;       /* json_root */
    char               **names;
    dh_uint_t            nnames;
    unsigned             strip:1;

    /* the scanner */
    dh_sl_json_state_e   state;
    dh_sl_json_buf_t     value;      /* a value cut by a feed boundary */
    dh_uint_t            depth;
    unsigned             in_array:1; /* inside the stripped outer array */
    unsigned             in_string:1;
    unsigned             esc:1;
    unsigned             scalar:1;   /* the value is no object/array */

    /* per value */
    dh_str_t            *nums;
    dh_uint_t            nnums;
    dh_uint_t            nums_alloc;
    unsigned             nums_ok:1;  /* tokens matched the parsed tree */

    /* per row */
    dh_str_t            *fields;
    u_char              *nulls;
    size_t              *offs;       /* printed fields: offset in text */
    dh_uint_t            nfields;
    dh_sl_json_buf_t     text;       /* objects and arrays printed */
};


static void dh_sl_json_cleanup(void *data);
static dh_sl_json_path_t *dh_sl_json_path_parse(dh_pool_t *pool, u_char *p,
    size_t len);
static dh_int_t dh_sl_json_paths(dh_sl_json_t *js, dh_str_t *value);
static dh_int_t dh_sl_json_buf_add(dh_sl_json_buf_t *b, const void *p,
    size_t len);
static dh_int_t dh_sl_json_value(dh_sl_json_t *js, u_char *v, size_t n,
    const char **err);
static dh_int_t dh_sl_json_numbers(dh_sl_json_t *js, u_char *v, size_t n);
static void dh_sl_json_number_walk(dh_sl_json_t *js, cJSON *node,
    dh_uint_t *k);
static cJSON *dh_sl_json_get(cJSON *node, dh_sl_json_path_t *path);
static dh_int_t dh_sl_json_row(dh_sl_json_t *js, cJSON *obj, u_char *v,
    size_t n);
static dh_int_t dh_sl_json_error_row(dh_sl_json_t *js, const char *error,
    u_char *v, size_t n);
static dh_int_t dh_sl_json_field(dh_sl_json_t *js, dh_uint_t i, cJSON *node);
static dh_int_t dh_sl_json_print(dh_sl_json_t *js, cJSON *node);
static dh_int_t dh_sl_json_print_string(dh_sl_json_t *js, const char *s);


dh_sl_json_t *
dh_sl_json_create(dh_pool_t *pool, dh_sl_reader_conf_t *conf,
    dh_sl_row_pt row, void *data, const char **err)
{
    dh_uint_t           i, n;
    dh_sl_json_t       *js;
    dh_pool_cleanup_t  *cln;

    *err = "out of memory";

    js = dh_pcalloc(pool, sizeof(dh_sl_json_t));
    if (js == NULL) {
        return NULL;
    }

    cln = dh_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = dh_sl_json_cleanup;
    cln->data = js;

    js->pool = pool;
    js->handler = row;
    js->data = data;
    js->strip = conf->strip_outer_array;

    if (conf->jsonpaths.len) {
        if (dh_sl_json_paths(js, &conf->jsonpaths) != DH_OK) {
            *err = "Invalid jsonpaths";
            return NULL;
        }

        n = js->npaths;

    } else {
        js->nnames = conf->nnames;
        js->names = dh_palloc(pool, (conf->nnames + 1) * sizeof(char *));
        if (js->names == NULL) {
            return NULL;
        }

        for (i = 0; i < conf->nnames; i++) {
            js->names[i] = dh_pstrdup_cstr(pool, &conf->names[i]);
            if (js->names[i] == NULL) {
                return NULL;
            }
        }

        n = js->nnames;
    }

    if (conf->json_root.len) {
        js->root = dh_sl_json_path_parse(pool, conf->json_root.data,
                                         conf->json_root.len);
        if (js->root == NULL) {
            *err = "Invalid json_root";
            return NULL;
        }
    }

    js->fields = dh_palloc(pool, (n + 1) * sizeof(dh_str_t));
    js->nulls = dh_pnalloc(pool, n + 1);
    js->offs = dh_palloc(pool, (n + 1) * sizeof(size_t));
    if (js->fields == NULL || js->nulls == NULL || js->offs == NULL) {
        return NULL;
    }

    js->nfields = n;
    js->state = DH_SL_JSON_TOP;

    *err = NULL;

    return js;
}


static void
dh_sl_json_cleanup(void *data)
{
    dh_sl_json_t  *js = data;

    free(js->value.data);
    free(js->text.data);
    free(js->nums);
}


static dh_int_t
dh_sl_json_buf_add(dh_sl_json_buf_t *b, const void *p, size_t len)
{
    size_t   cap;
    u_char  *data;

    if (b->len + len > b->cap) {
        cap = dh_max(b->cap * 2, b->len + len);
        cap = dh_max(cap, (size_t) 4096);

        data = realloc(b->data, cap);
        if (data == NULL) {
            return DH_ERROR;
        }

        b->data = data;
        b->cap = cap;
    }

    if (len) {
        dh_memcpy(b->data + b->len, p, len);
        b->len += len;
    }

    return DH_OK;
}


/* '["$.id", "$.user.name", "$.tags[0]"]': a non-empty array of paths. */
static dh_int_t
dh_sl_json_paths(dh_sl_json_t *js, dh_str_t *value)
{
    cJSON              *arr, *item;
    dh_uint_t           i, n;
    dh_sl_json_path_t  *path;

    arr = cJSON_ParseWithLength((const char *) value->data, value->len);
    if (arr == NULL) {
        return DH_ERROR;
    }

    n = (dh_uint_t) cJSON_GetArraySize(arr);

    if (!cJSON_IsArray(arr) || n == 0) {
        cJSON_Delete(arr);
        return DH_ERROR;
    }

    js->paths = dh_palloc(js->pool, n * sizeof(dh_sl_json_path_t));
    if (js->paths == NULL) {
        cJSON_Delete(arr);
        return DH_ERROR;
    }

    i = 0;

    cJSON_ArrayForEach(item, arr) {
        if (!cJSON_IsString(item)) {
            cJSON_Delete(arr);
            return DH_ERROR;
        }

        path = dh_sl_json_path_parse(js->pool, (u_char *) item->valuestring,
                                     dh_strlen(item->valuestring));
        if (path == NULL) {
            cJSON_Delete(arr);
            return DH_ERROR;
        }

        js->paths[i++] = *path;
    }

    js->npaths = n;

    cJSON_Delete(arr);

    return DH_OK;
}


/*
 * "$", "$.a.b", "$.a[0].b", "$['a.b']", "$[\"k\"]": a dollar, then keys
 * after dots or quoted in brackets, and array indexes in brackets.
 */
static dh_sl_json_path_t *
dh_sl_json_path_parse(dh_pool_t *pool, u_char *p, size_t len)
{
    u_char             *last, *s, q;
    dh_uint_t           n, max;
    dh_int_t            idx;
    dh_sl_json_seg_t   *seg;
    dh_sl_json_path_t  *path;
    dh_str_t            key;

    last = p + len;

    if (len == 0 || *p != '$') {
        return NULL;
    }

    p++;

    /* each segment takes at least two bytes */
    max = len / 2 + 1;

    path = dh_palloc(pool, sizeof(dh_sl_json_path_t));
    if (path == NULL) {
        return NULL;
    }

    path->segs = dh_palloc(pool, max * sizeof(dh_sl_json_seg_t));
    if (path->segs == NULL) {
        return NULL;
    }

    n = 0;

    while (p < last) {
        seg = &path->segs[n];

        if (*p == '.') {
            s = ++p;

            while (p < last && *p != '.' && *p != '[') {
                p++;
            }

            if (p == s) {
                return NULL;
            }

            key.data = s;
            key.len = p - s;

        } else if (*p == '[' && p + 1 < last
                   && (p[1] == '\'' || p[1] == '"'))
        {
            q = p[1];
            s = p + 2;
            p = s;

            while (p < last && *p != q) {
                p++;
            }

            if (p + 1 >= last || p[1] != ']' || p == s) {
                return NULL;
            }

            key.data = s;
            key.len = p - s;
            p += 2;

        } else if (*p == '[') {
            p++;
            idx = 0;
            s = p;

            while (p < last && *p >= '0' && *p <= '9') {
                if (idx > 100000000) {
                    return NULL;
                }

                idx = idx * 10 + (*p++ - '0');
            }

            if (p == s || p == last || *p != ']') {
                return NULL;
            }

            p++;
            seg->key = NULL;
            seg->index = idx;
            n++;
            continue;

        } else {
            return NULL;
        }

        seg->key = dh_pstrdup_cstr(pool, &key);
        if (seg->key == NULL) {
            return NULL;
        }

        seg->index = -1;
        n++;
    }

    path->nsegs = n;

    return path;
}


static cJSON *
dh_sl_json_get(cJSON *node, dh_sl_json_path_t *path)
{
    dh_uint_t  i;

    for (i = 0; node != NULL && i < path->nsegs; i++) {
        if (path->segs[i].key) {
            node = cJSON_IsObject(node)
                   ? cJSON_GetObjectItemCaseSensitive(node,
                                                      path->segs[i].key)
                   : NULL;

        } else {
            node = cJSON_IsArray(node)
                   ? cJSON_GetArrayItem(node, (int) path->segs[i].index)
                   : NULL;
        }
    }

    return node;
}


static dh_uint_t
dh_sl_json_ws(u_char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}


/* A value [v, v+n) is complete: parse it, deliver its rows. */
static dh_int_t
dh_sl_json_done(dh_sl_json_t *js, u_char *start, u_char *end,
    const char **err)
{
    dh_int_t  rc;

    if (js->value.len) {
        if (dh_sl_json_buf_add(&js->value, start, end - start) != DH_OK) {
            *err = "out of memory";
            return DH_ERROR;
        }

        rc = dh_sl_json_value(js, js->value.data, js->value.len, err);
        js->value.len = 0;

    } else {
        rc = dh_sl_json_value(js, start, end - start, err);
    }

    js->state = js->in_array ? DH_SL_JSON_ARRAY_AFTER : DH_SL_JSON_TOP;

    return rc;
}


dh_int_t
dh_sl_json_feed(dh_sl_json_t *js, u_char *p, size_t len, const char **err)
{
    u_char    c, *end, *start;
    dh_int_t  rc;

    end = p + len;
    start = p;

    for ( /* void */ ; p < end; p++) {
        c = *p;

        switch (js->state) {

        case DH_SL_JSON_TOP:
        case DH_SL_JSON_ARRAY_FIRST:
        case DH_SL_JSON_ARRAY_NEXT:
            if (dh_sl_json_ws(c)) {
                continue;
            }

            if (js->state == DH_SL_JSON_TOP && c == '[' && js->strip
                && js->root == NULL)
            {
                js->state = DH_SL_JSON_ARRAY_FIRST;
                js->in_array = 1;
                continue;
            }

            if (js->state == DH_SL_JSON_ARRAY_FIRST && c == ']') {
                js->state = DH_SL_JSON_TOP;
                js->in_array = 0;
                continue;
            }

            if (c == ']' || c == '}' || c == ',' || c == ':') {
                *err = "JSON data is not valid: unexpected character outside"
                       " a value";
                return DH_ERROR;
            }

            js->state = DH_SL_JSON_VALUE;
            js->depth = 0;
            js->in_string = 0;
            js->esc = 0;
            js->scalar = (c != '{' && c != '[' && c != '"');
            start = p;

            if (js->scalar) {
                continue;
            }

            /* fall through */

        case DH_SL_JSON_VALUE:
            if (js->in_string) {
                if (js->esc) {
                    js->esc = 0;

                } else if (c == '\\') {
                    js->esc = 1;

                } else if (c == '"') {
                    js->in_string = 0;

                    if (js->depth == 0) {
                        rc = dh_sl_json_done(js, start, p + 1, err);
                        if (rc != DH_OK) {
                            return rc;
                        }
                    }
                }

                continue;
            }

            if (js->scalar) {
                if (dh_sl_json_ws(c) || c == ',' || c == ']' || c == '}'
                    || c == '[' || c == '{' || c == '"' || c == ':')
                {
                    rc = dh_sl_json_done(js, start, p, err);
                    if (rc != DH_OK) {
                        return rc;
                    }

                    /* that byte belongs to what follows */
                    p--;
                }

                continue;
            }

            if (c == '"') {
                js->in_string = 1;

            } else if (c == '{' || c == '[') {
                js->depth++;

            } else if (c == '}' || c == ']') {
                if (--js->depth == 0) {
                    rc = dh_sl_json_done(js, start, p + 1, err);
                    if (rc != DH_OK) {
                        return rc;
                    }
                }
            }

            continue;

        case DH_SL_JSON_ARRAY_AFTER:
            if (dh_sl_json_ws(c)) {
                continue;
            }

            if (c == ',') {
                js->state = DH_SL_JSON_ARRAY_NEXT;
                continue;
            }

            if (c == ']') {
                js->state = DH_SL_JSON_TOP;
                js->in_array = 0;
                continue;
            }

            *err = "JSON data is not valid: expected ',' or ']' after an"
                   " array element";
            return DH_ERROR;
        }
    }

    if (js->state == DH_SL_JSON_VALUE
        && dh_sl_json_buf_add(&js->value, start, end - start) != DH_OK)
    {
        *err = "out of memory";
        return DH_ERROR;
    }

    return DH_OK;
}


dh_int_t
dh_sl_json_finish(dh_sl_json_t *js, const char **err)
{
    dh_int_t  rc;

    if (js->state == DH_SL_JSON_VALUE && js->scalar && !js->in_array) {
        /* a bare scalar at the very end: no byte after it ended it */
        rc = dh_sl_json_value(js, js->value.data, js->value.len, err);
        js->value.len = 0;
        js->state = DH_SL_JSON_TOP;
        return rc;
    }

    if (js->state == DH_SL_JSON_VALUE) {
        *err = "JSON data is not valid: the data ends inside a value";
        return DH_ERROR;
    }

    if (js->in_array) {
        *err = "JSON data is not valid: the outer array is not closed";
        return DH_ERROR;
    }

    return DH_OK;
}


/* The number tokens of v in order: the source text of number nodes. */
static dh_int_t
dh_sl_json_numbers(dh_sl_json_t *js, u_char *v, size_t n)
{
    u_char     *p, *last, *s;
    size_t      size;
    dh_str_t   *nums;
    dh_uint_t   in_string;

    js->nnums = 0;
    in_string = 0;
    last = v + n;

    for (p = v; p < last; p++) {
        if (in_string) {
            if (*p == '\\') {
                p++;

            } else if (*p == '"') {
                in_string = 0;
            }

            continue;
        }

        if (*p == '"') {
            in_string = 1;
            continue;
        }

        if (*p != '-' && (*p < '0' || *p > '9')) {
            continue;
        }

        s = p;

        while (p < last && ((*p >= '0' && *p <= '9') || *p == '-'
                            || *p == '+' || *p == '.' || *p == 'e'
                            || *p == 'E'))
        {
            p++;
        }

        if (js->nnums == js->nums_alloc) {
            size = js->nums_alloc ? js->nums_alloc * 2 : 64;

            nums = realloc(js->nums, size * sizeof(dh_str_t));
            if (nums == NULL) {
                return DH_ERROR;
            }

            js->nums = nums;
            js->nums_alloc = size;
        }

        js->nums[js->nnums].data = s;
        js->nums[js->nnums].len = p - s;
        js->nnums++;

        p--;
    }

    return DH_OK;
}


static void
dh_sl_json_number_walk(dh_sl_json_t *js, cJSON *node, dh_uint_t *k)
{
    cJSON  *child;

    if (cJSON_IsNumber(node)) {
        node->valueint = (int) *k;
        (*k)++;
        return;
    }

    for (child = node->child; child != NULL; child = child->next) {
        dh_sl_json_number_walk(js, child, k);
    }
}


static dh_int_t
dh_sl_json_value(dh_sl_json_t *js, u_char *v, size_t n, const char **err)
{
    cJSON       *json, *node, *item;
    dh_int_t     rc;
    dh_uint_t    k;
    const char  *end;

    if (dh_sl_json_numbers(js, v, n) != DH_OK) {
        *err = "out of memory";
        return DH_ERROR;
    }

    json = cJSON_ParseWithLengthOpts((const char *) v, n, &end, 0);

    if (json == NULL || (size_t) ((u_char *) end - v) != n) {
        cJSON_Delete(json);
        return dh_sl_json_error_row(js, "JSON data is not valid", v, n);
    }

    k = 0;
    dh_sl_json_number_walk(js, json, &k);
    js->nums_ok = (k == js->nnums);

    node = json;

    if (js->root) {
        node = dh_sl_json_get(json, js->root);

        if (node == NULL) {
            rc = dh_sl_json_error_row(js, "JSON root is not found", v, n);
            goto done;
        }
    }

    if (cJSON_IsArray(node)) {
        if (!js->strip) {
            rc = dh_sl_json_error_row(js, "JSON data is an array,"
                                      " strip_outer_array must be set true",
                                      v, n);
            goto done;
        }

        if (js->in_array) {
            /* an array inside the stripped array is no row */
            rc = dh_sl_json_error_row(js, "JSON value is not an object",
                                      v, n);
            goto done;
        }

        rc = DH_OK;

        cJSON_ArrayForEach(item, node) {
            rc = dh_sl_json_row(js, item, v, n);
            if (rc != DH_OK) {
                break;
            }
        }

        goto done;
    }

    if (js->strip && !js->in_array) {
        rc = dh_sl_json_error_row(js, "JSON data is an object,"
                                  " strip_outer_array must be set false",
                                  v, n);
        goto done;
    }

    rc = dh_sl_json_row(js, node, v, n);

done:

    cJSON_Delete(json);

    if (rc == DH_ERROR) {
        *err = "out of memory";
    }

    return rc;
}


static dh_int_t
dh_sl_json_error_row(dh_sl_json_t *js, const char *error, u_char *v,
    size_t n)
{
    dh_sl_row_t  row;

    dh_memzero(&row, sizeof(dh_sl_row_t));
    row.raw.data = v;
    row.raw.len = dh_min(n, DH_SL_RAW_MAX);
    row.error = error;

    return js->handler(js->data, &row);
}


static dh_int_t
dh_sl_json_row(dh_sl_json_t *js, cJSON *obj, u_char *v, size_t n)
{
    cJSON        *node;
    dh_uint_t     i;
    dh_sl_row_t   row;

    if (!cJSON_IsObject(obj)) {
        return dh_sl_json_error_row(js, "JSON value is not an object", v, n);
    }

    js->text.len = 0;

    for (i = 0; i < js->nfields; i++) {
        if (js->paths) {
            node = dh_sl_json_get(obj, &js->paths[i]);

        } else {
            node = cJSON_GetObjectItemCaseSensitive(obj, js->names[i]);
        }

        if (dh_sl_json_field(js, i, node) != DH_OK) {
            return DH_ERROR;
        }
    }

    /* printed fields point into text only now that it stopped moving */
    for (i = 0; i < js->nfields; i++) {
        if (js->offs[i] != (size_t) -1) {
            js->fields[i].data = js->text.data + js->offs[i];
        }
    }

    dh_memzero(&row, sizeof(dh_sl_row_t));
    row.fields = js->fields;
    row.nulls = js->nulls;
    row.nfields = js->nfields;
    row.raw.data = v;
    row.raw.len = dh_min(n, DH_SL_RAW_MAX);

    return js->handler(js->data, &row);
}


static dh_int_t
dh_sl_json_field(dh_sl_json_t *js, dh_uint_t i, cJSON *node)
{
    dh_str_t  *f;
    size_t     off;

    f = &js->fields[i];
    js->nulls[i] = 0;
    js->offs[i] = (size_t) -1;

    if (node == NULL || cJSON_IsNull(node)) {
        js->nulls[i] = 1;
        f->data = (u_char *) "";
        f->len = 0;
        return DH_OK;
    }

    if (cJSON_IsString(node)) {
        f->data = (u_char *) node->valuestring;
        f->len = dh_strlen(node->valuestring);
        return DH_OK;
    }

    if (cJSON_IsTrue(node)) {
        dh_str_set(f, "true");
        return DH_OK;
    }

    if (cJSON_IsFalse(node)) {
        dh_str_set(f, "false");
        return DH_OK;
    }

    if (cJSON_IsNumber(node) && js->nums_ok) {
        *f = js->nums[node->valueint];
        return DH_OK;
    }

    off = js->text.len;

    if (dh_sl_json_print(js, node) != DH_OK) {
        return DH_ERROR;
    }

    js->offs[i] = off;
    f->len = js->text.len - off;

    return DH_OK;
}


/* Compact JSON text of node into js->text, numbers as in the source. */
static dh_int_t
dh_sl_json_print(dh_sl_json_t *js, cJSON *node)
{
    int     len;
    char    num[64];
    cJSON  *child;

    if (cJSON_IsNull(node)) {
        return dh_sl_json_buf_add(&js->text, "null", 4);
    }

    if (cJSON_IsTrue(node)) {
        return dh_sl_json_buf_add(&js->text, "true", 4);
    }

    if (cJSON_IsFalse(node)) {
        return dh_sl_json_buf_add(&js->text, "false", 5);
    }

    if (cJSON_IsNumber(node)) {
        if (js->nums_ok) {
            return dh_sl_json_buf_add(&js->text,
                                      js->nums[node->valueint].data,
                                      js->nums[node->valueint].len);
        }

        len = snprintf(num, sizeof(num), "%.17g", node->valuedouble);
        return dh_sl_json_buf_add(&js->text, num, (size_t) len);
    }

    if (cJSON_IsString(node)) {
        return dh_sl_json_print_string(js, node->valuestring);
    }

    if (dh_sl_json_buf_add(&js->text, cJSON_IsArray(node) ? "[" : "{", 1)
        != DH_OK)
    {
        return DH_ERROR;
    }

    for (child = node->child; child != NULL; child = child->next) {
        if (child != node->child
            && dh_sl_json_buf_add(&js->text, ",", 1) != DH_OK)
        {
            return DH_ERROR;
        }

        if (cJSON_IsObject(node)) {
            if (dh_sl_json_print_string(js, child->string) != DH_OK
                || dh_sl_json_buf_add(&js->text, ":", 1) != DH_OK)
            {
                return DH_ERROR;
            }
        }

        if (dh_sl_json_print(js, child) != DH_OK) {
            return DH_ERROR;
        }
    }

    return dh_sl_json_buf_add(&js->text, cJSON_IsArray(node) ? "]" : "}", 1);
}


static dh_int_t
dh_sl_json_print_string(dh_sl_json_t *js, const char *s)
{
    u_char         c, esc[8];
    const u_char  *p, *run;
    static const char  hex[] = "0123456789abcdef";

    if (dh_sl_json_buf_add(&js->text, "\"", 1) != DH_OK) {
        return DH_ERROR;
    }

    p = (const u_char *) (s ? s : "");
    run = p;

    for ( /* void */ ; *p; p++) {
        c = *p;

        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }

        if (dh_sl_json_buf_add(&js->text, run, p - run) != DH_OK) {
            return DH_ERROR;
        }

        esc[0] = '\\';

        switch (c) {
        case '"':  esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];

            if (dh_sl_json_buf_add(&js->text, esc, 6) != DH_OK) {
                return DH_ERROR;
            }

            run = p + 1;
            continue;
        }

        if (dh_sl_json_buf_add(&js->text, esc, 2) != DH_OK) {
            return DH_ERROR;
        }

        run = p + 1;
    }

    if (dh_sl_json_buf_add(&js->text, run, p - run) != DH_OK) {
        return DH_ERROR;
    }

    return dh_sl_json_buf_add(&js->text, "\"", 1);
}

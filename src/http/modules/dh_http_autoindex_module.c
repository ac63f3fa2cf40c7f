/*
 * Directory listings for a URI ending in "/" whose directory has no index
 * file.  The static module declines such a request and this handler,
 * which runs after it, answers: with `autoindex on` a listing in HTML or
 * JSON, otherwise 403.  Like nginx, entries whose names begin with "."
 * are hidden and directories come first, then names in byte order.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"

#include <dirent.h>


#define DH_HTTP_AUTOINDEX_HTML  0
#define DH_HTTP_AUTOINDEX_JSON  1


typedef struct {
    dh_flag_t      enable;
    dh_uint_t      format;
    dh_flag_t      exact_size;
    dh_flag_t      localtime;
} dh_http_autoindex_loc_conf_t;

typedef struct {
    dh_str_t       name;
    size_t         escape_html;      /* extra bytes to HTML-escape name */
    size_t         escape_uri;       /* extra bytes to %-encode name */
    size_t         escape_json;
    time_t         mtime;
    off_t          size;
    unsigned       dir:1;
} dh_http_autoindex_entry_t;


static dh_int_t dh_http_autoindex_init(dh_conf_t *cf);
static void *dh_http_autoindex_create_loc_conf(dh_conf_t *cf);
static char *dh_http_autoindex_merge_loc_conf(dh_conf_t *cf, void *parent,
    void *child);


static dh_conf_enum_t  dh_http_autoindex_formats[] = {
    { dh_string("html"), DH_HTTP_AUTOINDEX_HTML },
    { dh_string("json"), DH_HTTP_AUTOINDEX_JSON },
    { dh_null_string, 0 }
};


static dh_command_t  dh_http_autoindex_commands[] = {

    { dh_string("autoindex"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_autoindex_loc_conf_t, enable),
      NULL },

    { dh_string("autoindex_format"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_enum_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_autoindex_loc_conf_t, format),
      &dh_http_autoindex_formats },

    { dh_string("autoindex_exact_size"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_autoindex_loc_conf_t, exact_size),
      NULL },

    { dh_string("autoindex_localtime"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_autoindex_loc_conf_t, localtime),
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_autoindex_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_autoindex_init,                /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    dh_http_autoindex_create_loc_conf,     /* create location configuration */
    dh_http_autoindex_merge_loc_conf       /* merge location configuration */
};


dh_module_t  dh_http_autoindex_module = {
    DH_MODULE_V1,
    &dh_http_autoindex_module_ctx,         /* module context */
    dh_http_autoindex_commands,            /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


static const char  dh_http_autoindex_hex[] = "0123456789ABCDEF";


/* Bytes a href needs %-encoded: controls, space, and URI delimiters. */
static dh_uint_t
dh_http_autoindex_uri_special(u_char ch)
{
    return ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '#' || ch == '%'
           || ch == '?' || ch == '<' || ch == '>' || ch == '\''
           || ch == '&' || ch == '\\' || ch == ':';
}


static void
dh_http_autoindex_measure(dh_http_autoindex_entry_t *e)
{
    u_char  *p, *last;

    e->escape_html = 0;
    e->escape_uri = 0;
    e->escape_json = 0;

    for (p = e->name.data, last = p + e->name.len; p < last; p++) {
        switch (*p) {
        case '<': case '>':
            e->escape_html += 3;            /* &lt; */
            break;
        case '&':
            e->escape_html += 4;            /* &amp; */
            break;
        case '"':
            e->escape_html += 5;            /* &quot; */
            break;
        }

        if (dh_http_autoindex_uri_special(*p)) {
            e->escape_uri += 2;
        }

        if (*p == '"' || *p == '\\') {
            e->escape_json += 1;
        } else if (*p < 0x20) {
            e->escape_json += 5;            /* \u00XX */
        }
    }
}


static u_char *
dh_http_autoindex_html_escape(u_char *d, u_char *s, size_t len)
{
    while (len--) {
        switch (*s) {
        case '<':
            d = dh_cpymem(d, "&lt;", 4);
            break;
        case '>':
            d = dh_cpymem(d, "&gt;", 4);
            break;
        case '&':
            d = dh_cpymem(d, "&amp;", 5);
            break;
        case '"':
            d = dh_cpymem(d, "&quot;", 6);
            break;
        default:
            *d++ = *s;
        }

        s++;
    }

    return d;
}


static u_char *
dh_http_autoindex_uri_escape(u_char *d, u_char *s, size_t len)
{
    while (len--) {
        if (dh_http_autoindex_uri_special(*s)) {
            *d++ = '%';
            *d++ = dh_http_autoindex_hex[*s >> 4];
            *d++ = dh_http_autoindex_hex[*s & 0xf];
        } else {
            *d++ = *s;
        }

        s++;
    }

    return d;
}


static u_char *
dh_http_autoindex_json_escape(u_char *d, u_char *s, size_t len)
{
    while (len--) {
        if (*s == '"' || *s == '\\') {
            *d++ = '\\';
            *d++ = *s;
        } else if (*s < 0x20) {
            d = dh_cpymem(d, "\\u00", 4);
            *d++ = dh_http_autoindex_hex[*s >> 4];
            *d++ = dh_http_autoindex_hex[*s & 0xf];
        } else {
            *d++ = *s;
        }

        s++;
    }

    return d;
}


static int
dh_http_autoindex_cmp(const void *one, const void *two)
{
    const dh_http_autoindex_entry_t  *a = one, *b = two;
    int                               rc;

    if (a->dir != b->dir) {
        return a->dir ? -1 : 1;
    }

    rc = memcmp(a->name.data, b->name.data, dh_min(a->name.len, b->name.len));

    if (rc != 0) {
        return rc;
    }

    return (a->name.len > b->name.len) - (a->name.len < b->name.len);
}


/* Reads the directory; DH_OK, or an HTTP status. */
static dh_int_t
dh_http_autoindex_read(dh_http_request_t *r, u_char *path,
    dh_array_t *entries)
{
    DIR                        *dir;
    size_t                      len;
    dh_err_t                    err;
    struct stat                 st;
    struct dirent              *de;
    dh_http_autoindex_entry_t  *e;

    dir = opendir((char *) path);

    if (dir == NULL) {
        err = dh_errno;

        if (err == DH_ENOENT || err == DH_ENOTDIR) {
            return DH_HTTP_NOT_FOUND;
        }

        dh_log_error(DH_LOG_ERR, r->connection->log, err,
                     "opendir() \"%s\" failed", path);

        return (err == DH_EACCES) ? DH_HTTP_FORBIDDEN
                                  : DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    for ( ;; ) {
        dh_set_errno(0);
        de = readdir(dir);

        if (de == NULL) {
            err = dh_errno;
            closedir(dir);

            if (err) {
                dh_log_error(DH_LOG_CRIT, r->connection->log, err,
                             "readdir() \"%s\" failed", path);
                return DH_HTTP_INTERNAL_SERVER_ERROR;
            }

            return DH_OK;
        }

        if (de->d_name[0] == '.') {
            continue;
        }

        /* the entry may be gone already, or a broken link: skip it */
        if (fstatat(dirfd(dir), de->d_name, &st, 0) == -1) {
            continue;
        }

        len = dh_strlen(de->d_name);

        e = dh_array_push(entries);
        if (e == NULL) {
            closedir(dir);
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }

        e->name.data = dh_pnalloc(r->pool, len);
        if (e->name.data == NULL) {
            closedir(dir);
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }

        dh_memcpy(e->name.data, de->d_name, len);
        e->name.len = len;
        e->dir = S_ISDIR(st.st_mode);
        e->mtime = st.st_mtime;
        e->size = st.st_size;

        dh_http_autoindex_measure(e);
    }
}


/* "1023", "1K", "12M": nginx's rounded sizes */
static u_char *
dh_http_autoindex_size(u_char *p, u_char *end, off_t size, dh_flag_t exact)
{
    static const char  units[] = "KMGT";
    dh_uint_t          u;

    if (exact || size < 1024) {
        return dh_slprintf(p, end, "%lld", (long long) size);
    }

    for (u = 0; size >= 1024 * 1024 && u < 3; u++) {
        size /= 1024;
    }

    return dh_slprintf(p, end, "%lld%c", (long long) ((size + 1023) / 1024),
                       units[u]);
}


static dh_buf_t *
dh_http_autoindex_html(dh_http_request_t *r, dh_array_t *entries,
    dh_http_autoindex_loc_conf_t *conf)
{
    size_t                      len, uri_escape, n;
    u_char                     *p, *se;
    dh_buf_t                   *b;
    dh_uint_t                   i;
    struct tm                   tm;
    u_char                      size[32];
    dh_http_autoindex_entry_t  *e, title;

    title.name = r->uri;
    dh_http_autoindex_measure(&title);
    uri_escape = title.escape_html;

    e = entries->elts;

    len = sizeof("<html>\n<head><title>Index of </title></head>\n<body>\n"
                 "<h1>Index of </h1><hr><pre><a href=\"../\">../</a>\n"
                 "</pre><hr></body>\n</html>\n")
          + 2 * (r->uri.len + uri_escape);

    for (i = 0; i < entries->nelts; i++) {
        /* <a href="URI/">HTML/</a>, padding to 50, date, size */
        len += sizeof("<a href=\"/\">/</a>") + e[i].name.len * 2
               + e[i].escape_uri + e[i].escape_html + 50
               + sizeof(" 28-Sep-1970 12:00 ") + 20 + 2;
    }

    b = dh_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    p = b->last;

    p = dh_cpymem(p, "<html>\n<head><title>Index of ",
                  sizeof("<html>\n<head><title>Index of ") - 1);
    p = dh_http_autoindex_html_escape(p, r->uri.data, r->uri.len);
    p = dh_cpymem(p, "</title></head>\n<body>\n<h1>Index of ",
                  sizeof("</title></head>\n<body>\n<h1>Index of ") - 1);
    p = dh_http_autoindex_html_escape(p, r->uri.data, r->uri.len);
    p = dh_cpymem(p, "</h1><hr><pre><a href=\"../\">../</a>\n",
                  sizeof("</h1><hr><pre><a href=\"../\">../</a>\n") - 1);

    for (i = 0; i < entries->nelts; i++) {
        p = dh_cpymem(p, "<a href=\"", sizeof("<a href=\"") - 1);
        p = dh_http_autoindex_uri_escape(p, e[i].name.data, e[i].name.len);

        if (e[i].dir) {
            *p++ = '/';
        }

        *p++ = '"'; *p++ = '>';
        p = dh_http_autoindex_html_escape(p, e[i].name.data, e[i].name.len);

        if (e[i].dir) {
            *p++ = '/';
        }

        p = dh_cpymem(p, "</a>", sizeof("</a>") - 1);

        for (n = e[i].name.len + e[i].dir; n < 50; n++) {
            *p++ = ' ';
        }

        if (conf->localtime) {
            localtime_r(&e[i].mtime, &tm);
        } else {
            gmtime_r(&e[i].mtime, &tm);
        }

        p += strftime((char *) p, sizeof(" 28-Sep-1970 12:00 "),
                      " %d-%b-%Y %H:%M ", &tm);

        if (e[i].dir) {
            p = dh_cpymem(p, "                   -", 20);
        } else {
            se = dh_http_autoindex_size(size, size + sizeof(size),
                                        e[i].size, conf->exact_size);

            for (n = se - size; n < 20; n++) {
                *p++ = ' ';
            }

            p = dh_cpymem(p, size, se - size);
        }

        *p++ = '\n';
    }

    p = dh_cpymem(p, "</pre><hr></body>\n</html>\n",
                  sizeof("</pre><hr></body>\n</html>\n") - 1);

    b->last = p;

    return b;
}


static dh_buf_t *
dh_http_autoindex_json(dh_http_request_t *r, dh_array_t *entries)
{
    size_t                      len;
    u_char                     *p;
    dh_buf_t                   *b;
    dh_uint_t                   i;
    dh_http_autoindex_entry_t  *e;

    e = entries->elts;
    len = sizeof("[\n]\n");

    for (i = 0; i < entries->nelts; i++) {
        len += sizeof("{ \"name\":\"\", \"type\":\"directory\", "
                      "\"mtime\":\"Mon, 28 Sep 1970 06:00:00 GMT\", "
                      "\"size\": },\n")
               + e[i].name.len + e[i].escape_json + DH_INT64_LEN;
    }

    b = dh_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    p = b->last;
    *p++ = '[';
    *p++ = '\n';

    for (i = 0; i < entries->nelts; i++) {
        p = dh_cpymem(p, "{ \"name\":\"", sizeof("{ \"name\":\"") - 1);
        p = dh_http_autoindex_json_escape(p, e[i].name.data, e[i].name.len);

        if (e[i].dir) {
            p = dh_cpymem(p, "\", \"type\":\"directory\", \"mtime\":\"",
                     sizeof("\", \"type\":\"directory\", \"mtime\":\"") - 1);
        } else {
            p = dh_cpymem(p, "\", \"type\":\"file\", \"mtime\":\"",
                          sizeof("\", \"type\":\"file\", \"mtime\":\"") - 1);
        }

        p = dh_http_time(p, e[i].mtime);
        *p++ = '"';

        if (!e[i].dir) {
            p = dh_slprintf(p, b->end, ", \"size\":%lld",
                            (long long) e[i].size);
        }

        p = dh_cpymem(p, " }", 2);

        if (i + 1 < entries->nelts) {
            *p++ = ',';
        }

        *p++ = '\n';
    }

    *p++ = ']';
    *p++ = '\n';

    b->last = p;

    return b;
}


static dh_int_t
dh_http_autoindex_handler(dh_http_request_t *r)
{
    u_char                        *last;
    dh_int_t                       rc;
    dh_str_t                       path;
    dh_buf_t                      *b;
    dh_array_t                    *entries;
    dh_chain_t                     out;
    dh_http_autoindex_loc_conf_t  *conf;

    if (r->uri.len == 0 || r->uri.data[r->uri.len - 1] != '/'
        || !(r->method & (DH_HTTP_GET|DH_HTTP_HEAD)))
    {
        return DH_DECLINED;
    }

    last = dh_http_map_uri_to_path(r, &path, 0);
    if (last == NULL) {
        return DH_ERROR;
    }

    conf = dh_http_get_module_loc_conf(r, dh_http_autoindex_module);

    if (!conf->enable) {
        dh_log_error(DH_LOG_ERR, r->connection->log, 0,
                     "directory index of \"%s\" is forbidden", path.data);
        return DH_HTTP_FORBIDDEN;
    }

    rc = dh_http_discard_request_body(r);
    if (rc != DH_OK) {
        return rc;
    }

    entries = dh_array_create(r->pool, 32,
                              sizeof(dh_http_autoindex_entry_t));
    if (entries == NULL) {
        return DH_ERROR;
    }

    rc = dh_http_autoindex_read(r, path.data, entries);
    if (rc != DH_OK) {
        return rc;
    }

    qsort(entries->elts, entries->nelts, sizeof(dh_http_autoindex_entry_t),
          dh_http_autoindex_cmp);

    if (conf->format == DH_HTTP_AUTOINDEX_JSON) {
        b = dh_http_autoindex_json(r, entries);
        dh_str_set(&r->headers_out.content_type, "application/json");
    } else {
        b = dh_http_autoindex_html(r, entries, conf);
        dh_str_set(&r->headers_out.content_type, "text/html");
    }

    if (b == NULL) {
        return DH_ERROR;
    }

    b->last_buf = 1;

    r->headers_out.status = DH_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    rc = dh_http_send_header(r);

    if (rc == DH_ERROR || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return dh_http_output_filter(r, &out);
}


static dh_int_t
dh_http_autoindex_init(dh_conf_t *cf)
{
    dh_http_handler_pt        *h;
    dh_http_core_main_conf_t  *cmcf;

    cmcf = dh_http_conf_get_module_main_conf(cf, dh_http_core_module);

    h = dh_array_push(&cmcf->phases[DH_HTTP_CONTENT_PHASE].handlers);
    if (h == NULL) {
        return DH_ERROR;
    }

    *h = dh_http_autoindex_handler;

    return DH_OK;
}


static void *
dh_http_autoindex_create_loc_conf(dh_conf_t *cf)
{
    dh_http_autoindex_loc_conf_t  *conf;

    conf = dh_pcalloc(cf->pool, sizeof(dh_http_autoindex_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enable = DH_CONF_UNSET;
    conf->format = DH_CONF_UNSET_UINT;
    conf->exact_size = DH_CONF_UNSET;
    conf->localtime = DH_CONF_UNSET;

    return conf;
}


static char *
dh_http_autoindex_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_autoindex_loc_conf_t  *prev = parent;
    dh_http_autoindex_loc_conf_t  *conf = child;

    dh_conf_merge_value(conf->enable, prev->enable, 0);
    dh_conf_merge_uint_value(conf->format, prev->format,
                             DH_HTTP_AUTOINDEX_HTML);
    dh_conf_merge_value(conf->exact_size, prev->exact_size, 1);
    dh_conf_merge_value(conf->localtime, prev->localtime, 0);

    return DH_CONF_OK;
}

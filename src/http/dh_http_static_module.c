/*
 * Static files from `root`, with `index` for directories.
 *
 * A small file (DH_HTTP_SMALL_FILE) is read into memory and leaves with
 * its headers in one writev; a larger one is sent with sendfile, or read
 * and sent piece by piece with `sendfile off`.  The URI was normalised
 * before location matching (no "..", no NUL), so root + URI stays under
 * root.  ETag is "mtime-size" in hex like nginx; the conditional
 * headers are the not-modified filter's, Range the range filter's.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


#define DH_HTTP_STATIC_CHUNK  (64 * 1024)


typedef struct {
    dh_array_t    *indices;          /* of dh_str_t */
    size_t         max_index_len;
    dh_flag_t      tcp_nopush;
} dh_http_static_loc_conf_t;

/* a large file sent by reading it (sendfile off) */
typedef struct {
    dh_fd_t        fd;
    off_t          offset;
    off_t          size;
    dh_buf_t      *buf;
} dh_http_static_ctx_t;


static dh_int_t dh_http_static_init(dh_conf_t *cf);
static void *dh_http_static_create_loc_conf(dh_conf_t *cf);
static char *dh_http_static_merge_loc_conf(dh_conf_t *cf, void *parent,
    void *child);
static char *dh_http_static_index(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static dh_int_t dh_http_static_handler(dh_http_request_t *r);
static dh_int_t dh_http_static_send_file(dh_http_request_t *r, dh_fd_t fd,
    struct stat *st, u_char *path);
static void dh_http_static_send_more(dh_http_request_t *r);


static dh_command_t  dh_http_static_commands[] = {

    { dh_string("index"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_1MORE,
      dh_http_static_index,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("tcp_nopush"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_static_loc_conf_t, tcp_nopush),
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_static_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_static_init,                   /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    dh_http_static_create_loc_conf,        /* create location configuration */
    dh_http_static_merge_loc_conf          /* merge location configuration */
};


dh_module_t  dh_http_static_module = {
    DH_MODULE_V1,
    &dh_http_static_module_ctx,            /* module context */
    dh_http_static_commands,               /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


/* "dir" -> 301 "dir/", keeping the URI as the client wrote it */
static dh_int_t
dh_http_static_redirect_dir(dh_http_request_t *r)
{
    u_char          *p, *path_end;
    size_t           len;
    dh_table_elt_t  *h;

    path_end = r->args.len ? r->args.data - 1
                           : r->unparsed_uri.data + r->unparsed_uri.len;

    len = path_end - r->unparsed_uri.data + 1;

    if (r->args.len) {
        len += 1 + r->args.len;
    }

    p = dh_pnalloc(r->pool, len);
    if (p == NULL) {
        return DH_ERROR;
    }

    h = dh_http_add_header_out(r, "Location", sizeof("Location") - 1, p, len);
    if (h == NULL) {
        return DH_ERROR;
    }

    p = dh_cpymem(p, r->unparsed_uri.data, path_end - r->unparsed_uri.data);
    *p++ = '/';

    if (r->args.len) {
        *p++ = '?';
        dh_memcpy(p, r->args.data, r->args.len);
    }

    r->headers_out.location = h;

    return DH_HTTP_MOVED_PERMANENTLY;
}


static dh_int_t
dh_http_static_handler(dh_http_request_t *r)
{
    u_char                     *path, *last;
    size_t                      len;
    dh_fd_t                     fd;
    dh_int_t                    rc;
    dh_str_t                   *index, name;
    dh_uint_t                   i;
    struct stat                 st;
    dh_http_static_loc_conf_t  *slcf;

    if (!(r->method & (DH_HTTP_GET|DH_HTTP_HEAD))) {
        return dh_http_not_allowed(r, DH_HTTP_GET|DH_HTTP_HEAD);
    }

    if (r->uri.len == 0 || r->uri.data[0] != '/') {
        return DH_HTTP_NOT_FOUND;
    }

    rc = dh_http_discard_request_body(r);
    if (rc != DH_OK) {
        return rc;
    }

    slcf = dh_http_get_module_loc_conf(r, dh_http_static_module);

    last = dh_http_map_uri_to_path(r, &name, slcf->max_index_len);
    if (last == NULL) {
        return DH_ERROR;
    }

    path = name.data;

    if (last == path) {
        return DH_HTTP_NOT_FOUND;
    }

    if (last[-1] != '/') {
        *last = '\0';

        rc = dh_http_open_file(r, path, dh_strlen(path), &fd, &st);
        if (rc != DH_OK) {
            return rc;
        }

        if (S_ISDIR(st.st_mode)) {
            return dh_http_static_redirect_dir(r);
        }

        return dh_http_static_send_file(r, fd, &st, path);
    }

    /* a directory: the first index file that exists */

    index = slcf->indices->elts;

    for (i = 0; i < slcf->indices->nelts; i++) {
        dh_memcpy(last, index[i].data, index[i].len + 1);

        rc = dh_http_open_file(r, path, dh_strlen(path), &fd, &st);

        if (rc == DH_HTTP_NOT_FOUND) {
            continue;
        }

        if (rc != DH_OK) {
            return rc;
        }

        if (S_ISDIR(st.st_mode)) {
            continue;
        }

        /* the type comes from the index file's name */
        r->exten.len = 0;

        for (len = index[i].len; len > 0; len--) {
            if (index[i].data[len - 1] == '/') {
                break;
            }

            if (index[i].data[len - 1] == '.') {
                r->exten.data = index[i].data + len;
                r->exten.len = index[i].len - len;
                break;
            }
        }

        return dh_http_static_send_file(r, fd, &st, path);
    }

    *last = '\0';

    /* a directory without an index: autoindex, which runs after this
     * handler, may list it; otherwise the content phase answers 403 */
    if (stat((char *) path, &st) == 0 && S_ISDIR(st.st_mode)) {
        return DH_DECLINED;
    }

    return DH_HTTP_NOT_FOUND;
}


static dh_int_t
dh_http_static_send_file(dh_http_request_t *r, dh_fd_t fd, struct stat *st,
    u_char *path)
{
    off_t                      size;
    ssize_t                    n;
    dh_int_t                   rc;
    dh_str_t                  *etag;
    dh_buf_t                  *b;
    dh_file_t                 *file;
    dh_chain_t                 out;
    dh_http_static_ctx_t      *ctx;
    dh_http_core_loc_conf_t   *clcf;
    dh_http_static_loc_conf_t *slcf;

    if (!S_ISREG(st->st_mode)) {
        return DH_HTTP_NOT_FOUND;
    }

    size = st->st_size;

    etag = dh_psprintf(r->pool, "\"%lx-%llx\"",
                       (unsigned long) st->st_mtime,
                       (unsigned long long) size);
    if (etag == NULL) {
        return DH_ERROR;
    }

    r->headers_out.etag = dh_http_add_header_out(r, "ETag",
                                                 sizeof("ETag") - 1,
                                                 etag->data, etag->len);
    if (r->headers_out.etag == NULL) {
        return DH_ERROR;
    }

    r->headers_out.last_modified_time = st->st_mtime;

    /* the not-modified filter may turn this into 304 or 412 and the
     * range filter into 206 or 416; both set header_only when no body
     * is to follow */
    r->headers_out.status = DH_HTTP_OK;
    r->headers_out.content_length_n = size;
    r->allow_ranges = 1;
    dh_http_set_content_type(r);

    if (r->method == DH_HTTP_HEAD) {
        return dh_http_send_header(r);
    }

    clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);

    if (size <= DH_HTTP_SMALL_FILE) {
        /* read now: headers and body leave in one writev */
        b = dh_create_temp_buf(r->pool, size ? (size_t) size : 1);
        if (b == NULL) {
            return DH_ERROR;
        }

        n = size ? pread(fd, b->pos, (size_t) size, 0) : 0;

        if (n != size) {
            dh_log_error(DH_LOG_CRIT, r->connection->log,
                         n == -1 ? dh_errno : 0,
                         "pread() \"%s\" read %ld of %lld bytes", path,
                         (long) n, (long long) size);
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }


        b->last = b->pos + n;
        b->last_buf = 1;

        if (n == 0) {
            b->temporary = 0;           /* an empty, special buffer */
        }

        rc = dh_http_send_header(r);

        if (rc == DH_ERROR || r->header_only) {
            return rc;
        }

        out.buf = b;
        out.next = NULL;

        return dh_http_output_filter(r, &out);
    }

    /* a large file: the fd lives as long as the request (its pool or
     * the open file cache closes it) */
    if (clcf->sendfile) {
        /* on: the headers wait (MSG_MORE) to share a segment with the
         * file's first bytes; off: they leave at once */
        slcf = dh_http_get_module_loc_conf(r, dh_http_static_module);
        r->connection->tcp_nopush = slcf->tcp_nopush ? DH_TCP_NOPUSH_UNSET
                                                     : DH_TCP_NOPUSH_DISABLED;

        b = dh_calloc_buf(r->pool);
        file = dh_pcalloc(r->pool, sizeof(dh_file_t));

        if (b == NULL || file == NULL) {
            return DH_ERROR;
        }

        file->fd = fd;
        file->name.data = path;
        file->name.len = dh_strlen(path);
        file->log = r->connection->log;

        b->file = file;
        b->in_file = 1;
        b->file_pos = 0;
        b->file_last = size;
        b->last_buf = 1;

        rc = dh_http_send_header(r);

        if (rc == DH_ERROR || r->header_only) {
            return rc;
        }

        out.buf = b;
        out.next = NULL;

        return dh_http_output_filter(r, &out);
    }

    ctx = dh_pcalloc(r->pool, sizeof(dh_http_static_ctx_t));
    if (ctx == NULL) {
        return DH_ERROR;
    }

    ctx->buf = dh_create_temp_buf(r->pool, DH_HTTP_STATIC_CHUNK);
    if (ctx->buf == NULL) {
        return DH_ERROR;
    }

    ctx->fd = fd;
    ctx->size = size;
    dh_http_set_ctx(r, ctx, dh_http_static_module);

    rc = dh_http_send_header(r);

    if (rc == DH_ERROR || r->header_only) {
        return rc;
    }

    r->write_event_handler = dh_http_static_send_more;
    dh_http_static_send_more(r);

    return DH_DONE;
}


/* sendfile off: read a piece, send it, and read the next one only when
 * the socket took it all */
static void
dh_http_static_send_more(dh_http_request_t *r)
{
    ssize_t                    n;
    dh_int_t                   rc;
    dh_buf_t                  *b;
    dh_chain_t                 out;
    dh_event_t                *wev;
    dh_http_static_ctx_t      *ctx;
    dh_http_core_loc_conf_t   *clcf;

    ctx = dh_http_get_module_ctx(r, dh_http_static_module);
    clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);
    wev = r->connection->write;

    if (wev->timedout) {
        dh_log_error(DH_LOG_INFO, r->connection->log, DH_ETIMEDOUT,
                     "client timed out");
        dh_http_terminate_request(r, DH_HTTP_REQUEST_TIME_OUT);
        return;
    }

    for ( ;; ) {
        if (r->out) {
            if (dh_http_output_filter(r, NULL) == DH_ERROR) {
                dh_http_terminate_request(r, DH_ERROR);
                return;
            }

            if (r->out) {
                wev->cancelable = 0;
                dh_event_add_timer(wev, clcf->send_timeout);
                return;
            }
        }

        if (ctx->offset == ctx->size) {
            dh_event_del_timer(wev);
            r->write_event_handler = dh_http_request_empty_handler;
            dh_http_finalize_request(r, DH_OK);
            return;
        }

        b = ctx->buf;

        n = pread(ctx->fd, b->start,
                  (size_t) dh_min(ctx->size - ctx->offset,
                                  (off_t) (b->end - b->start)),
                  ctx->offset);

        if (n <= 0) {
            dh_log_error(DH_LOG_CRIT, r->connection->log,
                         n == -1 ? dh_errno : 0,
                         "pread() failed or the file shrank at %lld",
                         (long long) ctx->offset);
            dh_http_terminate_request(r, DH_ERROR);
            return;
        }

        ctx->offset += n;

        b->pos = b->start;
        b->last = b->start + n;
        b->flush = 1;
        b->last_buf = (ctx->offset == ctx->size);

        out.buf = b;
        out.next = NULL;

        rc = dh_http_output_filter(r, &out);

        if (rc == DH_ERROR) {
            dh_http_terminate_request(r, DH_ERROR);
            return;
        }
    }
}


static dh_int_t
dh_http_static_init(dh_conf_t *cf)
{
    dh_http_handler_pt        *h;
    dh_http_core_main_conf_t  *cmcf;

    cmcf = dh_http_conf_get_module_main_conf(cf, dh_http_core_module);

    h = dh_array_push(&cmcf->phases[DH_HTTP_CONTENT_PHASE].handlers);
    if (h == NULL) {
        return DH_ERROR;
    }

    *h = dh_http_static_handler;

    return DH_OK;
}


static void *
dh_http_static_create_loc_conf(dh_conf_t *cf)
{
    dh_http_static_loc_conf_t  *conf;

    conf = dh_pcalloc(cf->pool, sizeof(dh_http_static_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->indices = DH_CONF_UNSET_PTR;
    conf->tcp_nopush = DH_CONF_UNSET;

    return conf;
}


static char *
dh_http_static_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_static_loc_conf_t  *prev = parent;
    dh_http_static_loc_conf_t  *conf = child;

    dh_str_t  *index;

    dh_conf_merge_value(conf->tcp_nopush, prev->tcp_nopush, 0);

    if (conf->indices != DH_CONF_UNSET_PTR) {
        return DH_CONF_OK;
    }

    if (prev->indices == DH_CONF_UNSET_PTR) {
        prev->indices = dh_array_create(cf->pool, 1, sizeof(dh_str_t));
        if (prev->indices == NULL) {
            return DH_CONF_ERROR;
        }

        index = dh_array_push(prev->indices);
        if (index == NULL) {
            return DH_CONF_ERROR;
        }

        dh_str_set(index, "index.html");
        prev->max_index_len = index->len;
    }

    conf->indices = prev->indices;
    conf->max_index_len = prev->max_index_len;

    return DH_CONF_OK;
}


static char *
dh_http_static_index(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_static_loc_conf_t *slcf = conf;

    dh_str_t   *value, *index;
    dh_uint_t   i;

    if (slcf->indices != DH_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    slcf->indices = dh_array_create(cf->pool, cf->args->nelts - 1,
                                    sizeof(dh_str_t));
    if (slcf->indices == NULL) {
        return DH_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0 || value[i].data[0] == '/') {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "index \"%.*s\" must be a file name "
                              "relative to the directory",
                              DH_STR_FMT(value[i]));
            return DH_CONF_ERROR;
        }

        index = dh_array_push(slcf->indices);
        if (index == NULL) {
            return DH_CONF_ERROR;
        }

        /* the conf parser's arguments are NUL-terminated */
        *index = value[i];

        if (index->len > slcf->max_index_len) {
            slcf->max_index_len = index->len;
        }
    }

    return DH_CONF_OK;
}

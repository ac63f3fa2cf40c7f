/*
 * Static files from `root`, with `index` for directories.
 *
 * A small file (DH_HTTP_SMALL_FILE) is read into memory and leaves with
 * its headers in one writev; a larger one is sent with sendfile, or read
 * and sent piece by piece with `sendfile off`.  The URI was normalised
 * before location matching (no "..", no NUL), so root + URI stays under
 * root.  ETag is "mtime-size" in hex like nginx; If-None-Match and
 * If-Modified-Since answer 304.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


#define DH_HTTP_STATIC_CHUNK  (64 * 1024)


typedef struct {
    dh_array_t    *indices;          /* of dh_str_t */
    size_t         max_index_len;
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


static dh_int_t
dh_http_static_open(dh_http_request_t *r, u_char *path, dh_fd_t *fd,
    struct stat *st)
{
    dh_err_t  err;

    *fd = open((char *) path, O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_NOCTTY);

    if (*fd == DH_INVALID_FILE) {
        err = dh_errno;

        switch (err) {
        case DH_ENOENT:
        case DH_ENOTDIR:
        case ENAMETOOLONG:
        case ELOOP:
            return DH_HTTP_NOT_FOUND;

        case DH_EACCES:
        case DH_EPERM:
            dh_log_error(DH_LOG_ERR, r->connection->log, err,
                         "open() \"%s\" failed", path);
            return DH_HTTP_FORBIDDEN;

        default:
            dh_log_error(DH_LOG_CRIT, r->connection->log, err,
                         "open() \"%s\" failed", path);
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (fstat(*fd, st) == -1) {
        dh_log_error(DH_LOG_CRIT, r->connection->log, dh_errno,
                     "fstat() \"%s\" failed", path);
        close(*fd);
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    return DH_OK;
}


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
    dh_str_t                   *index;
    dh_uint_t                   i;
    struct stat                 st;
    dh_http_core_loc_conf_t    *clcf;
    dh_http_static_loc_conf_t  *slcf;

    if (!(r->method & (DH_HTTP_GET|DH_HTTP_HEAD))) {
        if (dh_http_add_header_out(r, "Allow", sizeof("Allow") - 1,
                                   (u_char *) "GET, HEAD",
                                   sizeof("GET, HEAD") - 1)
            == NULL)
        {
            return DH_ERROR;
        }

        return DH_HTTP_NOT_ALLOWED;
    }

    if (r->uri.len == 0 || r->uri.data[0] != '/') {
        return DH_HTTP_NOT_FOUND;
    }

    rc = dh_http_discard_request_body(r);
    if (rc != DH_OK) {
        return rc;
    }

    clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);
    slcf = dh_http_get_module_loc_conf(r, dh_http_static_module);

    len = clcf->root.len + r->uri.len + slcf->max_index_len + 1;

    path = dh_pnalloc(r->pool, len);
    if (path == NULL) {
        return DH_ERROR;
    }

    last = dh_cpymem(path, clcf->root.data, clcf->root.len);
    last = dh_cpymem(last, r->uri.data, r->uri.len);

    if (last[-1] != '/') {
        *last = '\0';

        rc = dh_http_static_open(r, path, &fd, &st);
        if (rc != DH_OK) {
            return rc;
        }

        if (S_ISDIR(st.st_mode)) {
            close(fd);
            return dh_http_static_redirect_dir(r);
        }

        return dh_http_static_send_file(r, fd, &st, path);
    }

    /* a directory: the first index file that exists */

    index = slcf->indices->elts;

    for (i = 0; i < slcf->indices->nelts; i++) {
        dh_memcpy(last, index[i].data, index[i].len + 1);

        rc = dh_http_static_open(r, path, &fd, &st);

        if (rc == DH_HTTP_NOT_FOUND) {
            continue;
        }

        if (rc != DH_OK) {
            return rc;
        }

        if (S_ISDIR(st.st_mode)) {
            close(fd);
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

    if (stat((char *) path, &st) == 0 && S_ISDIR(st.st_mode)) {
        dh_log_error(DH_LOG_ERR, r->connection->log, 0,
                     "directory index of \"%s\" is forbidden", path);
        return DH_HTTP_FORBIDDEN;
    }

    return DH_HTTP_NOT_FOUND;
}


/* If-None-Match: a list of entity tags or "*"; weak comparison */
static dh_uint_t
dh_http_static_etag_match(dh_table_elt_t *h, dh_str_t *etag)
{
    u_char  *p, *last, *start;

    for ( /* void */ ; h; h = h->next) {
        p = h->value.data;
        last = p + h->value.len;

        while (p < last) {
            while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
                p++;
            }

            start = p;

            while (p < last && *p != ',') {
                p++;
            }

            while (p > start && (p[-1] == ' ' || p[-1] == '\t')) {
                p--;
            }

            if (p - start == 1 && *start == '*') {
                return 1;
            }

            if (p - start > 2 && start[0] == 'W' && start[1] == '/') {
                start += 2;
            }

            if ((size_t) (p - start) == etag->len
                && dh_memcmp(start, etag->data, etag->len) == 0)
            {
                return 1;
            }

            while (p < last && *p != ',') {
                p++;
            }
        }
    }

    return 0;
}


static dh_uint_t
dh_http_static_not_modified(dh_http_request_t *r, time_t mtime,
    dh_str_t *etag)
{
    time_t           since;
    dh_table_elt_t  *h;

    if (r->headers_in.if_none_match) {
        return dh_http_static_etag_match(r->headers_in.if_none_match, etag);
    }

    h = r->headers_in.if_modified_since;

    if (h) {
        since = dh_parse_http_time(h->value.data, h->value.len);
        return since != -1 && mtime <= since;
    }

    return 0;
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
    dh_pool_cleanup_t         *cln;
    dh_pool_cleanup_file_t    *clnf;
    dh_http_static_ctx_t      *ctx;
    dh_http_core_loc_conf_t   *clcf;

    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return DH_HTTP_NOT_FOUND;
    }

    size = st->st_size;

    etag = dh_psprintf(r->pool, "\"%lx-%llx\"",
                       (unsigned long) st->st_mtime,
                       (unsigned long long) size);
    if (etag == NULL) {
        close(fd);
        return DH_ERROR;
    }

    r->headers_out.etag = dh_http_add_header_out(r, "ETag",
                                                 sizeof("ETag") - 1,
                                                 etag->data, etag->len);
    if (r->headers_out.etag == NULL) {
        close(fd);
        return DH_ERROR;
    }

    r->headers_out.last_modified_time = st->st_mtime;

    if (dh_http_static_not_modified(r, st->st_mtime, etag)) {
        close(fd);
        r->headers_out.status = DH_HTTP_NOT_MODIFIED;
        return dh_http_send_header(r);
    }

    r->headers_out.status = DH_HTTP_OK;
    r->headers_out.content_length_n = size;
    dh_http_set_content_type(r);

    if (r->method == DH_HTTP_HEAD) {
        close(fd);
        return dh_http_send_header(r);
    }

    clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);

    if (size <= DH_HTTP_SMALL_FILE) {
        /* read now and close: headers and body leave in one writev */
        b = dh_create_temp_buf(r->pool, size ? (size_t) size : 1);
        if (b == NULL) {
            close(fd);
            return DH_ERROR;
        }

        n = size ? pread(fd, b->pos, (size_t) size, 0) : 0;

        if (n != size) {
            dh_log_error(DH_LOG_CRIT, r->connection->log,
                         n == -1 ? dh_errno : 0,
                         "pread() \"%s\" read %ld of %lld bytes", path,
                         (long) n, (long long) size);
            close(fd);
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }

        close(fd);

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

    /* a large file: the fd lives as long as the request */
    cln = dh_pool_cleanup_add(r->pool, sizeof(dh_pool_cleanup_file_t));
    if (cln == NULL) {
        close(fd);
        return DH_ERROR;
    }

    cln->handler = dh_pool_cleanup_file;
    clnf = cln->data;
    clnf->fd = fd;
    clnf->name = path;
    clnf->log = r->connection->log;

    if (clcf->sendfile) {
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

    return conf;
}


static char *
dh_http_static_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_static_loc_conf_t  *prev = parent;
    dh_http_static_loc_conf_t  *conf = child;

    dh_str_t  *index;

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

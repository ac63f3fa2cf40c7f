/*
 * WebDAV PUT and DELETE (`dav_methods PUT DELETE`) for uploads under root.
 *
 * PUT reads the body into a temporary file under client_body_temp_path
 * (always a file: see request_body_in_file_only) and renames it over the
 * target, so readers never see a partial file; the temporary directory
 * must therefore be on the same file system as root.  201 when the file
 * is new, 204 when it replaced one; 409 when the parent directory is
 * missing (unless create_full_put_path on) or the target is a collection.
 * DELETE removes a file (204), or a directory with its contents when the
 * URI ends in "/" (a directory without the slash: 409).  Other methods
 * are left to the next content handler (static files).
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"

#include <ftw.h>


typedef struct {
    dh_uint_t     methods;
    dh_flag_t     create_full_put_path;
} dh_http_dav_loc_conf_t;


static dh_int_t dh_http_dav_init(dh_conf_t *cf);
static void *dh_http_dav_create_loc_conf(dh_conf_t *cf);
static char *dh_http_dav_merge_loc_conf(dh_conf_t *cf, void *parent,
    void *child);
static void dh_http_dav_put_handler(dh_http_request_t *r);


static dh_conf_bitmask_t  dh_http_dav_methods_mask[] = {
    { dh_string("off"), DH_CONF_BITMASK_SET },
    { dh_string("put"), DH_HTTP_PUT },
    { dh_string("delete"), DH_HTTP_DELETE },
    { dh_null_string, 0 }
};


static dh_command_t  dh_http_dav_commands[] = {

    { dh_string("dav_methods"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_1MORE,
      dh_conf_set_bitmask_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_dav_loc_conf_t, methods),
      &dh_http_dav_methods_mask },

    { dh_string("create_full_put_path"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_dav_loc_conf_t, create_full_put_path),
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_dav_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_dav_init,                      /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    dh_http_dav_create_loc_conf,           /* create location configuration */
    dh_http_dav_merge_loc_conf             /* merge location configuration */
};


dh_module_t  dh_http_dav_module = {
    DH_MODULE_V1,
    &dh_http_dav_module_ctx,               /* module context */
    dh_http_dav_commands,                  /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


/* root + URI, NUL-terminated; *len without the NUL */
static u_char *
dh_http_dav_map_uri(dh_http_request_t *r, size_t *len)
{
    u_char                    *path, *p;
    dh_http_core_loc_conf_t   *clcf;

    clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);

    path = dh_pnalloc(r->pool, clcf->root.len + r->uri.len + 1);
    if (path == NULL) {
        return NULL;
    }

    p = dh_cpymem(path, clcf->root.data, clcf->root.len);
    p = dh_cpymem(p, r->uri.data, r->uri.len);
    *p = '\0';

    *len = p - path;

    return path;
}


static dh_int_t
dh_http_dav_errno_status(dh_http_request_t *r, dh_err_t err,
    const char *what, u_char *path)
{
    switch (err) {
    case DH_ENOENT:
        return DH_HTTP_NOT_FOUND;

    case DH_ENOTDIR:
    case EISDIR:
    case ENOTEMPTY:
    case EEXIST:
        return DH_HTTP_CONFLICT;

    case DH_EACCES:
    case DH_EPERM:
        dh_log_error(DH_LOG_ERR, r->connection->log, err,
                     "%s \"%s\" failed", what, path);
        return DH_HTTP_FORBIDDEN;

    default:
        dh_log_error(DH_LOG_CRIT, r->connection->log, err,
                     "%s \"%s\" failed", what, path);
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }
}


/* for PUT a missing parent directory is a conflict (RFC 4918 9.7.1) */
static dh_int_t
dh_http_dav_put_errno(dh_http_request_t *r, dh_err_t err, const char *what,
    u_char *path)
{
    if (err == DH_ENOENT) {
        return DH_HTTP_CONFLICT;
    }

    return dh_http_dav_errno_status(r, err, what, path);
}


static int
dh_http_dav_delete_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
    return (flag == FTW_DP) ? rmdir(path) : unlink(path);
}


static dh_int_t
dh_http_dav_delete(dh_http_request_t *r)
{
    size_t        len;
    u_char       *path;
    dh_int_t      rc;
    struct stat   st;

    rc = dh_http_discard_request_body(r);
    if (rc != DH_OK) {
        return rc;
    }

    path = dh_http_dav_map_uri(r, &len);
    if (path == NULL) {
        return DH_ERROR;
    }

    if (lstat((char *) path, &st) == -1) {
        return dh_http_dav_errno_status(r, dh_errno, "lstat()", path);
    }

    if (S_ISDIR(st.st_mode)) {
        if (r->uri.data[r->uri.len - 1] != '/') {
            dh_log_error(DH_LOG_ERR, r->connection->log, 0,
                         "DELETE of collection \"%s\" without trailing "
                         "slash", path);
            return DH_HTTP_CONFLICT;
        }

        if (r->uri.len == 1) {
            return DH_HTTP_FORBIDDEN;   /* never the root itself */
        }

        if (nftw((char *) path, dh_http_dav_delete_entry, 16,
                 FTW_DEPTH|FTW_PHYS)
            != 0)
        {
            return dh_http_dav_errno_status(r, dh_errno, "nftw()", path);
        }

        return DH_HTTP_NO_CONTENT;
    }

    if (unlink((char *) path) == -1) {
        return dh_http_dav_errno_status(r, dh_errno, "unlink()", path);
    }

    return DH_HTTP_NO_CONTENT;
}


static dh_int_t
dh_http_dav_handler(dh_http_request_t *r)
{
    dh_int_t                 rc;
    dh_http_dav_loc_conf_t  *dlcf;

    dlcf = dh_http_get_module_loc_conf(r, dh_http_dav_module);

    if (!(r->method & (DH_HTTP_PUT|DH_HTTP_DELETE) & dlcf->methods)) {
        return DH_DECLINED;
    }

    if (r->uri.len == 0 || r->uri.data[0] != '/') {
        return DH_HTTP_BAD_REQUEST;
    }

    if (r->method == DH_HTTP_DELETE) {
        return dh_http_dav_delete(r);
    }

    if (r->uri.data[r->uri.len - 1] == '/') {
        dh_log_error(DH_LOG_ERR, r->connection->log, 0,
                     "cannot PUT to a collection");
        return DH_HTTP_CONFLICT;
    }

    r->request_body_in_file_only = 1;

    rc = dh_http_read_client_request_body(r, dh_http_dav_put_handler);

    if (rc != DH_OK) {
        return rc;
    }

    return DH_DONE;
}


/* mkdir -p of the directories above path (path itself is the file) */
static dh_int_t
dh_http_dav_create_parents(dh_http_request_t *r, u_char *path, size_t len)
{
    u_char    *p;
    dh_int_t   rc;

    for (p = path + len; p > path && p[-1] != '/'; p--) { /* void */ }

    if (p <= path + 1) {
        return DH_OK;
    }

    p[-1] = '\0';
    rc = dh_create_full_path(path, 0755);
    p[-1] = '/';

    if (rc != DH_OK) {
        return dh_http_dav_errno_status(r, dh_errno, "mkdir()", path);
    }

    return DH_OK;
}


static dh_int_t
dh_http_dav_put(dh_http_request_t *r)
{
    int                      fd;
    size_t                   len;
    u_char                  *path, *temp;
    dh_int_t                 rc, status;
    struct stat              st;
    dh_http_dav_loc_conf_t  *dlcf;
    dh_http_request_body_t  *rb;

    rb = r->request_body;
    dlcf = dh_http_get_module_loc_conf(r, dh_http_dav_module);

    path = dh_http_dav_map_uri(r, &len);
    if (path == NULL) {
        return DH_ERROR;
    }

    status = DH_HTTP_CREATED;

    if (stat((char *) path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            return DH_HTTP_CONFLICT;
        }

        status = DH_HTTP_NO_CONTENT;
    }

    if (dlcf->create_full_put_path) {
        rc = dh_http_dav_create_parents(r, path, len);
        if (rc != DH_OK) {
            return rc;
        }
    }

    if (rb->temp_file == NULL) {
        /* an empty body never made a temporary file */
        fd = open((char *) path, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644);
        if (fd == -1) {
            return dh_http_dav_put_errno(r, dh_errno, "open()", path);
        }

        close(fd);
        return status;
    }

    temp = rb->temp_file->name.data;

    if (fchmod(rb->temp_file->fd, 0644) == -1) {
        dh_log_error(DH_LOG_CRIT, r->connection->log, dh_errno,
                     "fchmod() \"%s\" failed", temp);
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rename((char *) temp, (char *) path) == -1) {
        if (dh_errno == EXDEV) {
            dh_log_error(DH_LOG_CRIT, r->connection->log, EXDEV,
                         "rename() \"%s\" to \"%s\" failed: "
                         "client_body_temp_path must be on the file "
                         "system of root", temp, path);
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }

        return dh_http_dav_put_errno(r, dh_errno, "rename()", path);
    }

    rb->temp_file_persist = 1;

    return status;
}


static void
dh_http_dav_put_handler(dh_http_request_t *r)
{
    dh_http_finalize_request(r, dh_http_dav_put(r));
}


static dh_int_t
dh_http_dav_init(dh_conf_t *cf)
{
    dh_http_handler_pt        *h;
    dh_http_core_main_conf_t  *cmcf;

    cmcf = dh_http_conf_get_module_main_conf(cf, dh_http_core_module);

    h = dh_array_push(&cmcf->phases[DH_HTTP_CONTENT_PHASE].handlers);
    if (h == NULL) {
        return DH_ERROR;
    }

    *h = dh_http_dav_handler;

    return DH_OK;
}


static void *
dh_http_dav_create_loc_conf(dh_conf_t *cf)
{
    dh_http_dav_loc_conf_t  *conf;

    conf = dh_pcalloc(cf->pool, sizeof(dh_http_dav_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->create_full_put_path = DH_CONF_UNSET;

    return conf;
}


static char *
dh_http_dav_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_dav_loc_conf_t  *prev = parent;
    dh_http_dav_loc_conf_t  *conf = child;

    dh_conf_merge_bitmask_value(conf->methods, prev->methods,
                                DH_CONF_BITMASK_SET);
    dh_conf_merge_value(conf->create_full_put_path,
                        prev->create_full_put_path, 0);

    return DH_CONF_OK;
}

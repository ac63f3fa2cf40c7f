/*
 * Opening the files a request serves, through an optional per-worker
 * cache of descriptors and stat data (open_file_cache).
 *
 * The cache of a location is a hash of paths with an LRU list: at most
 * `max` entries, each dropped when unused for `inactive` and reopened
 * when older than open_file_cache_valid, so a file replaced or deleted
 * on disk is seen after that time.  A request holds a reference to the
 * entry it got; an entry evicted while in use is closed by the last
 * request that releases it.  Without a cache the descriptor belongs to
 * the request pool.  Either way the caller never closes the descriptor.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


typedef struct dh_http_open_file_s  dh_http_open_file_t;

struct dh_http_open_file_s {
    dh_queue_t              queue;       /* LRU: most recent first */
    dh_http_open_file_t    *next;        /* same bucket */
    dh_uint_t               hash;
    size_t                  len;
    u_char                 *name;
    dh_fd_t                 fd;          /* DH_INVALID_FILE: err cached */
    dh_err_t                err;
    struct stat             st;
    time_t                  created;
    time_t                  accessed;
    dh_uint_t               refs;
    unsigned                evicted:1;
};

typedef struct {
    dh_http_open_file_t   **buckets;
    dh_uint_t               nbuckets;
    dh_queue_t              lru;
    dh_uint_t               count;
    dh_uint_t               max;
    time_t                  inactive;
} dh_http_open_file_cache_t;

typedef struct {
    dh_http_open_file_cache_t  *cache;   /* NULL: off */
    time_t                      valid;
    dh_flag_t                   errors;
} dh_http_open_file_loc_conf_t;


static void *dh_http_open_file_create_loc_conf(dh_conf_t *cf);
static char *dh_http_open_file_merge_loc_conf(dh_conf_t *cf, void *parent,
    void *child);
static char *dh_http_open_file_cache(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);


static dh_command_t  dh_http_open_file_cache_commands[] = {

    { dh_string("open_file_cache"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE12,
      dh_http_open_file_cache,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("open_file_cache_valid"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_sec_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_open_file_loc_conf_t, valid),
      NULL },

    { dh_string("open_file_cache_errors"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_open_file_loc_conf_t, errors),
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_open_file_cache_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    dh_http_open_file_create_loc_conf,     /* create location configuration */
    dh_http_open_file_merge_loc_conf       /* merge location configuration */
};


dh_module_t  dh_http_open_file_cache_module = {
    DH_MODULE_V1,
    &dh_http_open_file_cache_module_ctx,   /* module context */
    dh_http_open_file_cache_commands,      /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


/* An errno of open() as the status to answer with. */
static dh_int_t
dh_http_open_file_status(dh_http_request_t *r, dh_err_t err, u_char *path)
{
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


/* DH_OK with *fd and *st, or the errno in *err; DH_ERROR for fstat(). */
static dh_int_t
dh_http_open_file_sys(dh_http_request_t *r, u_char *path, dh_fd_t *fd,
    struct stat *st, dh_err_t *err)
{
    *fd = open((char *) path, O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_NOCTTY);

    if (*fd == DH_INVALID_FILE) {
        *err = dh_errno;
        return DH_DECLINED;
    }

    if (fstat(*fd, st) == -1) {
        dh_log_error(DH_LOG_CRIT, r->connection->log, dh_errno,
                     "fstat() \"%s\" failed", path);
        close(*fd);
        return DH_ERROR;
    }

    return DH_OK;
}


static void
dh_http_open_file_free(dh_http_open_file_t *e)
{
    if (e->fd != DH_INVALID_FILE) {
        close(e->fd);
    }

    dh_free(e);
}


static void
dh_http_open_file_evict(dh_http_open_file_cache_t *cache,
    dh_http_open_file_t *e)
{
    dh_http_open_file_t  **pe;

    for (pe = &cache->buckets[e->hash % cache->nbuckets]; *pe;
         pe = &(*pe)->next)
    {
        if (*pe == e) {
            *pe = e->next;
            break;
        }
    }

    dh_queue_remove(&e->queue);
    cache->count--;

    if (e->refs) {
        e->evicted = 1;             /* the last request closes it */
        return;
    }

    dh_http_open_file_free(e);
}


static void
dh_http_open_file_release(void *data)
{
    dh_http_open_file_t  *e = data;

    if (--e->refs == 0 && e->evicted) {
        dh_http_open_file_free(e);
    }
}


/* Drops entries unused for `inactive`, oldest first. */
static void
dh_http_open_file_expire(dh_http_open_file_cache_t *cache, time_t now)
{
    dh_queue_t           *q;
    dh_http_open_file_t  *e;

    while (!dh_queue_empty(&cache->lru)) {
        q = dh_queue_last(&cache->lru);
        e = dh_queue_data(q, dh_http_open_file_t, queue);

        if (now - e->accessed < cache->inactive) {
            return;
        }

        dh_http_open_file_evict(cache, e);
    }
}


static dh_int_t
dh_http_open_file_hold(dh_http_request_t *r, dh_http_open_file_t *e,
    dh_fd_t *fd, struct stat *st)
{
    dh_pool_cleanup_t  *cln;

    cln = dh_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return DH_ERROR;
    }

    e->refs++;
    cln->handler = dh_http_open_file_release;
    cln->data = e;

    *fd = e->fd;
    *st = e->st;

    return DH_OK;
}


static dh_int_t
dh_http_open_cached(dh_http_request_t *r, dh_http_open_file_loc_conf_t *conf,
    u_char *path, size_t len, dh_fd_t *fd, struct stat *st)
{
    time_t                      now;
    dh_int_t                    rc;
    dh_err_t                    err;
    dh_uint_t                   hash;
    dh_http_open_file_t        *e;
    dh_http_open_file_cache_t  *cache;

    cache = conf->cache;
    now = dh_time();
    hash = dh_hash_key(path, len);

    dh_http_open_file_expire(cache, now);

    for (e = cache->buckets[hash % cache->nbuckets]; e; e = e->next) {
        if (e->hash == hash && e->len == len
            && dh_memcmp(e->name, path, len) == 0)
        {
            break;
        }
    }

    if (e && now - e->created < conf->valid) {
        dh_queue_remove(&e->queue);
        dh_queue_insert_head(&cache->lru, &e->queue);
        e->accessed = now;

        if (e->fd == DH_INVALID_FILE) {
            return dh_http_open_file_status(r, e->err, path);
        }

        return dh_http_open_file_hold(r, e, fd, st);
    }

    if (e) {
        dh_http_open_file_evict(cache, e);     /* stale: look again */
    }

    err = 0;
    rc = dh_http_open_file_sys(r, path, fd, st, &err);

    if (rc == DH_ERROR) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == DH_DECLINED && !conf->errors) {
        return dh_http_open_file_status(r, err, path);
    }

    e = dh_alloc(sizeof(dh_http_open_file_t) + len, r->connection->log);
    if (e == NULL) {
        if (rc == DH_OK) {
            close(*fd);
        }

        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (cache->count >= cache->max) {
        dh_http_open_file_evict(cache,
                     dh_queue_data(dh_queue_last(&cache->lru),
                                   dh_http_open_file_t, queue));
    }

    e->name = (u_char *) (e + 1);
    dh_memcpy(e->name, path, len);
    e->len = len;
    e->hash = hash;
    e->fd = (rc == DH_OK) ? *fd : DH_INVALID_FILE;
    e->err = err;
    if (rc == DH_OK) {
        e->st = *st;
    } else {
        dh_memzero(&e->st, sizeof(struct stat));
    }

    e->created = now;
    e->accessed = now;
    e->refs = 0;
    e->evicted = 0;

    e->next = cache->buckets[hash % cache->nbuckets];
    cache->buckets[hash % cache->nbuckets] = e;
    dh_queue_insert_head(&cache->lru, &e->queue);
    cache->count++;

    if (rc != DH_OK) {
        return dh_http_open_file_status(r, err, path);
    }

    return dh_http_open_file_hold(r, e, fd, st);
}


dh_int_t
dh_http_open_file(dh_http_request_t *r, u_char *path, size_t len,
    dh_fd_t *fd, struct stat *st)
{
    dh_int_t                       rc;
    dh_err_t                       err;
    dh_pool_cleanup_t             *cln;
    dh_pool_cleanup_file_t        *clnf;
    dh_http_open_file_loc_conf_t  *conf;

    conf = dh_http_get_module_loc_conf(r, dh_http_open_file_cache_module);

    if (conf->cache) {
        return dh_http_open_cached(r, conf, path, len, fd, st);
    }

    cln = dh_pool_cleanup_add(r->pool, sizeof(dh_pool_cleanup_file_t));
    if (cln == NULL) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    err = 0;
    rc = dh_http_open_file_sys(r, path, fd, st, &err);

    if (rc == DH_ERROR) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == DH_DECLINED) {
        return dh_http_open_file_status(r, err, path);
    }

    cln->handler = dh_pool_cleanup_file;
    clnf = cln->data;
    clnf->fd = *fd;
    clnf->name = path;
    clnf->log = r->connection->log;

    return DH_OK;
}


static void *
dh_http_open_file_create_loc_conf(dh_conf_t *cf)
{
    dh_http_open_file_loc_conf_t  *conf;

    conf = dh_pcalloc(cf->pool, sizeof(dh_http_open_file_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->cache = DH_CONF_UNSET_PTR;
    conf->valid = DH_CONF_UNSET;
    conf->errors = DH_CONF_UNSET;

    return conf;
}


static char *
dh_http_open_file_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_open_file_loc_conf_t  *prev = parent;
    dh_http_open_file_loc_conf_t  *conf = child;

    dh_conf_merge_ptr_value(conf->cache, prev->cache, NULL);
    dh_conf_merge_sec_value(conf->valid, prev->valid, 60);
    dh_conf_merge_value(conf->errors, prev->errors, 0);

    return DH_CONF_OK;
}


/* open_file_cache max=N [inactive=TIME] | off */
static char *
dh_http_open_file_cache(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_open_file_loc_conf_t *ofcf = conf;

    time_t                      inactive;
    dh_int_t                    max, n;
    dh_str_t                   *value, s;
    dh_uint_t                   i;
    dh_http_open_file_cache_t  *cache;

    if (ofcf->cache != DH_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    max = 0;
    inactive = 60;

    for (i = 1; i < cf->args->nelts; i++) {

        if (dh_strcmp(value[i].data, "off") == 0 && cf->args->nelts == 2) {
            ofcf->cache = NULL;
            return DH_CONF_OK;
        }

        if (dh_strncmp(value[i].data, "max=", 4) == 0) {
            max = dh_atoi(value[i].data + 4, value[i].len - 4);

            if (max <= 0) {
                goto invalid;
            }

            continue;
        }

        if (dh_strncmp(value[i].data, "inactive=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            n = dh_parse_time(&s, 1);

            if (n == DH_ERROR || n <= 0) {
                goto invalid;
            }

            inactive = (time_t) n;
            continue;
        }

        goto invalid;
    }

    if (max == 0) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "\"open_file_cache\" needs \"max=N\" or \"off\"");
        return DH_CONF_ERROR;
    }

    cache = dh_pcalloc(cf->pool, sizeof(dh_http_open_file_cache_t));
    if (cache == NULL) {
        return DH_CONF_ERROR;
    }

    cache->max = (dh_uint_t) max;
    cache->inactive = inactive;
    cache->nbuckets = cache->max < 16 ? 16 : cache->max;

    cache->buckets = dh_pcalloc(cf->pool,
                                cache->nbuckets * sizeof(void *));
    if (cache->buckets == NULL) {
        return DH_CONF_ERROR;
    }

    dh_queue_init(&cache->lru);

    ofcf->cache = cache;

    return DH_CONF_OK;

invalid:

    dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                      "invalid parameter \"%.*s\"", DH_STR_FMT(value[i]));
    return DH_CONF_ERROR;
}

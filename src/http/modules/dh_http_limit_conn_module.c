/*
 * limit_conn: at most N requests in progress per key, counted across all
 * workers in a shared memory zone.  The count is taken in the preaccess
 * phase and given back by a cleanup of the request pool, so whatever way
 * the request ends (sent, timed out, client gone) the slot is released.
 *
 * Nodes live in an rbtree by hash of the key and are freed when their
 * count drops to zero, so the zone holds only keys in use.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"
#include "dh_http_limit_module.h"


typedef struct {
    dh_http_limit_node_t   sn;        /* first: the rbtree node */
    dh_uint_t              conn;
    u_char                 data[1];
} dh_http_limit_conn_node_t;

typedef struct {
    dh_rbtree_t            rbtree;
    dh_rbtree_node_t       sentinel;
    dh_http_limit_stats_t  stats;
} dh_http_limit_conn_shctx_t;

typedef struct {
    dh_http_limit_conn_shctx_t  *sh;
    dh_slab_pool_t              *shpool;
    dh_http_complex_value_t      key;
    unsigned                     binary_addr:1;
} dh_http_limit_conn_ctx_t;

typedef struct {
    dh_shm_zone_t         *shm_zone;
    dh_uint_t              conn;
} dh_http_limit_conn_limit_t;

typedef struct {
    dh_array_t            *limits;    /* of dh_http_limit_conn_limit_t */
    dh_uint_t              status;
    dh_uint_t              log_level;
    dh_int_t               dry_run;
} dh_http_limit_conn_loc_conf_t;

typedef struct {
    dh_shm_zone_t               *shm_zone;
    dh_http_limit_conn_node_t   *node;
} dh_http_limit_conn_cleanup_t;


static dh_int_t dh_http_limit_conn_handler(dh_http_request_t *r);
static void dh_http_limit_conn_cleanup(void *data);
static void *dh_http_limit_conn_create_loc_conf(dh_conf_t *cf);
static char *dh_http_limit_conn_merge_loc_conf(dh_conf_t *cf, void *parent,
    void *child);
static char *dh_http_limit_conn_zone(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static char *dh_http_limit_conn(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static dh_int_t dh_http_limit_conn_init(dh_conf_t *cf);

/* the decisions counter of the running configuration (see limit_req) */
static dh_metric_t  *dh_http_limit_conn_metric;


static dh_conf_enum_t  dh_http_limit_conn_log_levels[] = {
    { dh_string("info"), DH_LOG_INFO },
    { dh_string("notice"), DH_LOG_NOTICE },
    { dh_string("warn"), DH_LOG_WARN },
    { dh_string("error"), DH_LOG_ERR },
    { dh_null_string, 0 }
};

static dh_conf_num_bounds_t  dh_http_limit_conn_status_bounds = {
    dh_conf_check_num_bounds, 400, 599
};


static dh_command_t  dh_http_limit_conn_commands[] = {

    { dh_string("limit_conn_zone"),
      DH_HTTP_MAIN_CONF|DH_CONF_TAKE2,
      dh_http_limit_conn_zone,
      0,
      0,
      NULL },

    { dh_string("limit_conn"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE2,
      dh_http_limit_conn,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("limit_conn_log_level"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_enum_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_limit_conn_loc_conf_t, log_level),
      &dh_http_limit_conn_log_levels },

    { dh_string("limit_conn_status"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_num_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_limit_conn_loc_conf_t, status),
      &dh_http_limit_conn_status_bounds },

    { dh_string("limit_conn_dry_run"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_limit_conn_loc_conf_t, dry_run),
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_limit_conn_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_limit_conn_init,               /* postconfiguration */
    dh_http_limit_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    dh_http_limit_conn_create_loc_conf,    /* create location configuration */
    dh_http_limit_conn_merge_loc_conf      /* merge location configuration */
};


dh_module_t  dh_http_limit_conn_module = {
    DH_MODULE_V1,
    &dh_http_limit_conn_module_ctx,        /* module context */
    dh_http_limit_conn_commands,           /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


/* Takes one slot of limit for r.  DH_OK (counted, cleanup added),
 * DH_DECLINED (not limited), DH_BUSY (full), DH_ERROR. */
static dh_int_t
dh_http_limit_conn_take(dh_http_request_t *r,
    dh_http_limit_conn_limit_t *limit, dh_uint_t dry_run)
{
    size_t                         size;
    dh_uint_t                      hash;
    dh_str_t                       key;
    dh_pool_cleanup_t             *cln;
    dh_http_limit_conn_ctx_t      *ctx;
    dh_http_limit_conn_node_t     *lc;
    dh_http_limit_conn_cleanup_t  *lccln;

    ctx = limit->shm_zone->data;

    if (dh_http_limit_key(r, &ctx->key, ctx->binary_addr, &key) != DH_OK) {
        return DH_ERROR;
    }

    if (key.len == 0) {
        return DH_DECLINED;
    }

    if (key.len > 65535) {
        dh_log_error(DH_LOG_ERR, r->connection->log, 0,
                     "the value of the limit_conn key is too long: %zu",
                     key.len);
        return DH_DECLINED;
    }

    /* made before taking the slot, so a failure here leaves no count */
    cln = dh_pool_cleanup_add(r->pool, sizeof(dh_http_limit_conn_cleanup_t));
    if (cln == NULL) {
        return DH_ERROR;
    }

    hash = dh_hash_key(key.data, key.len);

    dh_shmtx_lock(&ctx->shpool->mutex);

    lc = (dh_http_limit_conn_node_t *) dh_http_limit_find(&ctx->sh->rbtree,
                                                          hash, &key);

    if (lc == NULL) {
        size = offsetof(dh_http_limit_conn_node_t, data) + key.len;

        lc = dh_slab_alloc_locked(ctx->shpool, size);
        if (lc == NULL) {
            dh_http_limit_metric_count(dh_http_limit_conn_metric,
                                       limit->shm_zone, "rejected");
            dh_shmtx_unlock(&ctx->shpool->mutex);
            dh_log_error(DH_LOG_ERR, r->connection->log, 0,
                         "could not allocate node in limit_conn zone "
                         "\"%.*s\"",
                         (int) limit->shm_zone->shm.name.len,
                         limit->shm_zone->shm.name.data);
            return DH_BUSY;
        }

        lc->sn.node.key = hash;
        lc->sn.data = lc->data;
        lc->sn.len = key.len;
        lc->conn = 0;
        dh_memcpy(lc->data, key.data, key.len);
        dh_rbtree_insert(&ctx->sh->rbtree, &lc->sn.node);
        ctx->sh->stats.nodes++;

    } else if (lc->conn >= limit->conn) {
        dh_shmtx_unlock(&ctx->shpool->mutex);

        dh_http_limit_metric_count(dh_http_limit_conn_metric,
                                   limit->shm_zone,
                                   dry_run ? "dry_run" : "rejected");

        return dry_run ? DH_DECLINED : DH_BUSY;
    }

    lc->conn++;

    dh_shmtx_unlock(&ctx->shpool->mutex);

    dh_http_limit_metric_count(dh_http_limit_conn_metric, limit->shm_zone,
                               "passed");

    lccln = cln->data;
    lccln->shm_zone = limit->shm_zone;
    lccln->node = lc;
    cln->handler = dh_http_limit_conn_cleanup;

    return DH_OK;
}


static dh_int_t
dh_http_limit_conn_handler(dh_http_request_t *r)
{
    dh_int_t                        rc;
    dh_uint_t                       i;
    dh_http_limit_conn_limit_t     *limits;
    dh_http_limit_conn_loc_conf_t  *lccf;

    lccf = dh_http_get_module_loc_conf(r, dh_http_limit_conn_module);

    if (lccf->limits == NULL || r->ctx[dh_http_limit_conn_module.ctx_index]) {
        return DH_DECLINED;
    }

    /* counted once even if the phase runs again after a wait */
    r->ctx[dh_http_limit_conn_module.ctx_index] = (void *) 1;

    limits = lccf->limits->elts;

    for (i = 0; i < lccf->limits->nelts; i++) {
        rc = dh_http_limit_conn_take(r, &limits[i], lccf->dry_run);

        if (rc == DH_ERROR) {
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == DH_BUSY) {
            /* slots already taken are given back by their cleanups */
            dh_log_error(lccf->log_level, r->connection->log, 0,
                         "limiting connections by zone \"%.*s\"",
                         (int) limits[i].shm_zone->shm.name.len,
                         limits[i].shm_zone->shm.name.data);
            return lccf->status;
        }
    }

    return DH_DECLINED;
}


static void
dh_http_limit_conn_cleanup(void *data)
{
    dh_http_limit_conn_cleanup_t  *lccln = data;

    dh_http_limit_conn_ctx_t   *ctx;
    dh_http_limit_conn_node_t  *lc;

    ctx = lccln->shm_zone->data;
    lc = lccln->node;

    dh_shmtx_lock(&ctx->shpool->mutex);

    lc->conn--;

    if (lc->conn == 0) {
        dh_rbtree_delete(&ctx->sh->rbtree, &lc->sn.node);
        dh_slab_free_locked(ctx->shpool, lc);
        ctx->sh->stats.nodes--;
    }

    dh_shmtx_unlock(&ctx->shpool->mutex);
}


static dh_int_t
dh_http_limit_conn_init_zone(dh_shm_zone_t *shm_zone, void *data)
{
    dh_http_limit_conn_ctx_t  *octx = data;
    dh_http_limit_conn_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx) {
        if (ctx->binary_addr != octx->binary_addr
            || ctx->key.value.len != octx->key.value.len
            || dh_strncmp(ctx->key.value.data, octx->key.value.data,
                          ctx->key.value.len) != 0)
        {
            dh_log_error(DH_LOG_EMERG, shm_zone->shm.log, 0,
                         "limit_conn_zone \"%.*s\" uses the \"%.*s\" key "
                         "while previously it used the \"%.*s\" key",
                         (int) shm_zone->shm.name.len,
                         shm_zone->shm.name.data,
                         (int) ctx->key.value.len, ctx->key.value.data,
                         (int) octx->key.value.len, octx->key.value.data);
            return DH_ERROR;
        }

        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;
        return DH_OK;
    }

    ctx->shpool = (dh_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ctx->sh = ctx->shpool->data;
        return DH_OK;
    }

    ctx->sh = dh_slab_calloc(ctx->shpool, sizeof(dh_http_limit_conn_shctx_t));
    if (ctx->sh == NULL) {
        return DH_ERROR;
    }

    ctx->shpool->data = ctx->sh;

    dh_rbtree_init(&ctx->sh->rbtree, &ctx->sh->sentinel,
                   dh_http_limit_rbtree_insert);

    return DH_OK;
}


static void *
dh_http_limit_conn_create_loc_conf(dh_conf_t *cf)
{
    dh_http_limit_conn_loc_conf_t  *conf;

    conf = dh_pcalloc(cf->pool, sizeof(dh_http_limit_conn_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /* limits == NULL: not set here */
    conf->status = DH_CONF_UNSET_UINT;
    conf->log_level = DH_CONF_UNSET_UINT;
    conf->dry_run = DH_CONF_UNSET;

    return conf;
}


static char *
dh_http_limit_conn_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_limit_conn_loc_conf_t  *prev = parent;
    dh_http_limit_conn_loc_conf_t  *conf = child;

    if (conf->limits == NULL) {
        conf->limits = prev->limits;
    }

    dh_conf_merge_uint_value(conf->status, prev->status,
                             DH_HTTP_SERVICE_UNAVAILABLE);
    dh_conf_merge_uint_value(conf->log_level, prev->log_level, DH_LOG_ERR);
    dh_conf_merge_value(conf->dry_run, prev->dry_run, 0);

    return DH_CONF_OK;
}


static char *
dh_http_limit_conn_zone(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    u_char                            *p;
    ssize_t                            size;
    dh_str_t                          *value, name, s;
    dh_shm_zone_t                     *shm_zone;
    dh_http_limit_conn_ctx_t          *ctx;
    dh_http_compile_complex_value_t    ccv;

    value = cf->args->elts;

    ctx = dh_pcalloc(cf->pool, sizeof(dh_http_limit_conn_ctx_t));
    if (ctx == NULL) {
        return DH_CONF_ERROR;
    }

    if (value[1].len == sizeof("$binary_remote_addr") - 1
        && dh_strncmp(value[1].data, "$binary_remote_addr",
                      value[1].len) == 0)
    {
        ctx->binary_addr = 1;
        ctx->key.value = value[1];

    } else {
        dh_memzero(&ccv, sizeof(dh_http_compile_complex_value_t));
        ccv.cf = cf;
        ccv.value = &value[1];
        ccv.complex_value = &ctx->key;

        if (dh_http_compile_complex_value(&ccv) != DH_OK) {
            return DH_CONF_ERROR;
        }
    }

    if (value[2].len <= 5 || dh_strncmp(value[2].data, "zone=", 5) != 0) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"",
                          (int) value[2].len, value[2].data);
        return DH_CONF_ERROR;
    }

    s.data = value[2].data + 5;
    s.len = value[2].len - 5;

    p = memchr(s.data, ':', s.len);
    if (p == NULL || p == s.data) {
        goto invalid_size;
    }

    name.data = s.data;
    name.len = p - s.data;

    s.len = s.data + s.len - (p + 1);
    s.data = p + 1;

    size = dh_parse_size(&s);
    if (size == DH_ERROR || size < (ssize_t) (8 * dh_pagesize)) {
        goto invalid_size;
    }

    shm_zone = dh_shared_memory_add(cf, &name, size,
                                    &dh_http_limit_conn_module);
    if (shm_zone == NULL) {
        return DH_CONF_ERROR;
    }

    if (shm_zone->data) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0, "duplicate zone \"%.*s\"",
                          (int) name.len, name.data);
        return DH_CONF_ERROR;
    }

    shm_zone->init = dh_http_limit_conn_init_zone;
    shm_zone->data = ctx;

    return DH_CONF_OK;

invalid_size:

    dh_conf_log_error(DH_LOG_EMERG, cf, 0, "invalid zone size \"%.*s\"",
                      (int) value[2].len, value[2].data);
    return DH_CONF_ERROR;
}


static char *
dh_http_limit_conn(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_limit_conn_loc_conf_t  *lccf = conf;

    dh_int_t                     n;
    dh_str_t                    *value, name;
    dh_uint_t                    i;
    dh_shm_zone_t               *shm_zone;
    dh_http_limit_conn_limit_t  *limit, *limits;

    value = cf->args->elts;

    /* "zone=NAME N" and nginx's "NAME N" are both accepted */
    name = value[1];
    if (name.len > 5 && dh_strncmp(name.data, "zone=", 5) == 0) {
        name.data += 5;
        name.len -= 5;
    }

    shm_zone = dh_shared_memory_add(cf, &name, 0,
                                    &dh_http_limit_conn_module);
    if (shm_zone == NULL
        || dh_http_limit_note_zone(dh_http_conf_get_module_main_conf(cf,
                                         dh_http_limit_conn_module),
                                       shm_zone) != DH_OK)
    {
        return DH_CONF_ERROR;
    }

    if (lccf->limits == NULL) {
        lccf->limits = dh_array_create(cf->pool, 1,
                                       sizeof(dh_http_limit_conn_limit_t));
        if (lccf->limits == NULL) {
            return DH_CONF_ERROR;
        }
    }

    limits = lccf->limits->elts;

    for (i = 0; i < lccf->limits->nelts; i++) {
        if (shm_zone == limits[i].shm_zone) {
            return "is duplicate";
        }
    }

    n = dh_atoi(value[2].data, value[2].len);
    if (n <= 0 || n > 65535) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "invalid number of connections \"%.*s\"",
                          (int) value[2].len, value[2].data);
        return DH_CONF_ERROR;
    }

    limit = dh_array_push(lccf->limits);
    if (limit == NULL) {
        return DH_CONF_ERROR;
    }

    limit->conn = n;
    limit->shm_zone = shm_zone;

    return DH_CONF_OK;
}


static dh_int_t
dh_http_limit_conn_init(dh_conf_t *cf)
{
    return dh_http_limit_init(cf,
               dh_http_conf_get_module_main_conf(cf, dh_http_limit_conn_module),
               "limit_conn_zone", "limit_conn_requests_total",
               "Requests seen by limit_conn, by zone and decision",
               &dh_http_limit_conn_metric, dh_http_limit_conn_handler);
}

/*
 * limit_req: a leaky bucket per key ($binary_remote_addr or any complex
 * value), kept in a shared memory zone so the rate holds across workers.
 *
 * Each key's node remembers when it was last seen and its "excess" (in
 * thousandths of a request): requests queued above the rate.  A request
 * adds 1000, time drains rate * elapsed.  Excess above burst is refused;
 * excess above the delay threshold waits (excess - threshold) / rate.
 *
 * Nodes are in an rbtree by hash of the key and in an LRU queue: every
 * lookup frees up to two drained nodes from the old end, and when the slab
 * is full the oldest node is dropped to make room.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"
#include "dh_http_limit_module.h"


#define DH_HTTP_LIMIT_REQ_PASSED    1
#define DH_HTTP_LIMIT_REQ_DELAYED   2
#define DH_HTTP_LIMIT_REQ_REJECTED  3
/* limit_req_dry_run: would have been delayed or rejected, passes */
#define DH_HTTP_LIMIT_REQ_DRY_RUN   4

/* a node untouched this long is dropped even if some excess is left */
#define DH_HTTP_LIMIT_REQ_STALE     60000


typedef struct {
    dh_http_limit_node_t   sn;        /* first: the rbtree node */
    dh_queue_t             queue;     /* LRU, most recent at the head */
    dh_msec_t              last;
    dh_int_t               excess;    /* thousandths of a request */
    u_char                 data[1];
} dh_http_limit_req_node_t;

typedef struct {
    dh_rbtree_t            rbtree;
    dh_rbtree_node_t       sentinel;
    dh_queue_t             queue;
    dh_http_limit_stats_t  stats;
} dh_http_limit_req_shctx_t;

typedef struct {
    dh_http_limit_req_shctx_t  *sh;
    dh_slab_pool_t             *shpool;
    dh_int_t                    rate;     /* thousandths of r/s */
    dh_http_complex_value_t     key;
    unsigned                    binary_addr:1;
    dh_shm_zone_t              *shm_zone;
} dh_http_limit_req_ctx_t;

typedef struct {
    dh_shm_zone_t         *shm_zone;
    dh_uint_t              burst;     /* thousandths */
    dh_uint_t              delay;     /* thousandths; no delay below it */
} dh_http_limit_req_limit_t;

typedef struct {
    dh_array_t            *limits;    /* of dh_http_limit_req_limit_t */
    dh_uint_t              status;
    dh_uint_t              log_level;
    dh_int_t               dry_run;
} dh_http_limit_req_loc_conf_t;


static dh_int_t dh_http_limit_req_handler(dh_http_request_t *r);

/* the decisions counter of the running configuration; set in
 * postconfiguration, read by the workers forked with it */
static dh_metric_t  *dh_http_limit_req_metric;
static void dh_http_limit_req_delay_handler(dh_http_request_t *r);
static void *dh_http_limit_req_create_loc_conf(dh_conf_t *cf);
static char *dh_http_limit_req_merge_loc_conf(dh_conf_t *cf, void *parent,
    void *child);
static char *dh_http_limit_req_zone(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static char *dh_http_limit_req(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static dh_int_t dh_http_limit_req_init(dh_conf_t *cf);


static dh_conf_enum_t  dh_http_limit_req_log_levels[] = {
    { dh_string("info"), DH_LOG_INFO },
    { dh_string("notice"), DH_LOG_NOTICE },
    { dh_string("warn"), DH_LOG_WARN },
    { dh_string("error"), DH_LOG_ERR },
    { dh_null_string, 0 }
};

static dh_conf_num_bounds_t  dh_http_limit_req_status_bounds = {
    dh_conf_check_num_bounds, 400, 599
};


static dh_command_t  dh_http_limit_req_commands[] = {

    { dh_string("limit_req_zone"),
      DH_HTTP_MAIN_CONF|DH_CONF_TAKE3,
      dh_http_limit_req_zone,
      0,
      0,
      NULL },

    { dh_string("limit_req"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE123,
      dh_http_limit_req,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("limit_req_log_level"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_enum_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_limit_req_loc_conf_t, log_level),
      &dh_http_limit_req_log_levels },

    { dh_string("limit_req_status"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_num_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_limit_req_loc_conf_t, status),
      &dh_http_limit_req_status_bounds },

    { dh_string("limit_req_dry_run"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_limit_req_loc_conf_t, dry_run),
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_limit_req_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_limit_req_init,                /* postconfiguration */
    dh_http_limit_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    dh_http_limit_req_create_loc_conf,     /* create location configuration */
    dh_http_limit_req_merge_loc_conf       /* merge location configuration */
};


dh_module_t  dh_http_limit_req_module = {
    DH_MODULE_V1,
    &dh_http_limit_req_module_ctx,         /* module context */
    dh_http_limit_req_commands,            /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


/* Time since the key was last charged.  Each worker caches the monotonic
 * clock once per loop iteration, so another worker may have stamped the
 * node a little "later" than our now: count that as no time at all. */
static dh_msec_t
dh_http_limit_req_elapsed(dh_http_limit_req_node_t *lr)
{
    dh_msec_int_t  ms;

    ms = (dh_msec_int_t) (dh_current_msec - lr->last);

    return (ms > 0) ? (dh_msec_t) ms : 0;
}


/* Frees up to two idle, drained nodes from the old end of the LRU; with
 * force the oldest goes whatever its state (the slab is full).  Zone
 * locked. */
static void
dh_http_limit_req_expire(dh_http_limit_req_ctx_t *ctx, dh_uint_t force)
{
    dh_uint_t                  n;
    dh_int_t                   excess;
    dh_msec_t                  ms;
    dh_queue_t                *q;
    dh_http_limit_req_node_t  *lr;

    for (n = 0; n < 2; n++) {
        if (dh_queue_empty(&ctx->sh->queue)) {
            return;
        }

        q = dh_queue_last(&ctx->sh->queue);
        lr = dh_queue_data(q, dh_http_limit_req_node_t, queue);

        if (!force || n > 0) {
            ms = dh_http_limit_req_elapsed(lr);
            excess = lr->excess - (dh_int_t) (ctx->rate * ms / 1000);

            /* recently used, or still holding back requests: keep */
            if (ms < DH_HTTP_LIMIT_REQ_STALE || excess > 0) {
                return;
            }
        }

        dh_queue_remove(q);
        dh_rbtree_delete(&ctx->sh->rbtree, &lr->sn.node);
        dh_slab_free_locked(ctx->shpool, lr);
        ctx->sh->stats.nodes--;
    }
}


/* Accounts one request for limit; *delay gets the wait in ms.  Returns
 * DH_HTTP_LIMIT_REQ_*, or DH_ERROR when no node could be made. */
static dh_int_t
dh_http_limit_req_account(dh_http_request_t *r,
    dh_http_limit_req_limit_t *limit, dh_uint_t dry_run, dh_msec_t *delay)
{
    size_t                      size;
    dh_int_t                    excess, rc;
    dh_uint_t                   hash;
    dh_msec_t                   ms;
    dh_str_t                    key;
    dh_http_limit_req_ctx_t    *ctx;
    dh_http_limit_req_node_t   *lr;

    ctx = limit->shm_zone->data;
    *delay = 0;

    if (dh_http_limit_key(r, &ctx->key, ctx->binary_addr, &key) != DH_OK) {
        return DH_ERROR;
    }

    if (key.len == 0) {
        /* an empty key is not limited (like nginx) */
        return DH_DECLINED;
    }

    if (key.len > 65535) {
        dh_log_error(DH_LOG_ERR, r->connection->log, 0,
                     "the value of the limit_req key is too long: %zu",
                     key.len);
        return DH_DECLINED;
    }

    hash = dh_hash_key(key.data, key.len);

    dh_shmtx_lock(&ctx->shpool->mutex);

    dh_http_limit_req_expire(ctx, 0);

    lr = (dh_http_limit_req_node_t *) dh_http_limit_find(&ctx->sh->rbtree,
                                                         hash, &key);

    if (lr == NULL) {
        size = offsetof(dh_http_limit_req_node_t, data) + key.len;

        lr = dh_slab_alloc_locked(ctx->shpool, size);
        if (lr == NULL) {
            dh_http_limit_req_expire(ctx, 1);
            lr = dh_slab_alloc_locked(ctx->shpool, size);
        }

        if (lr == NULL) {
            dh_shmtx_unlock(&ctx->shpool->mutex);
            dh_log_error(DH_LOG_ALERT, r->connection->log, 0,
                         "could not allocate node in limit_req zone \"%.*s\"",
                         (int) limit->shm_zone->shm.name.len,
                         limit->shm_zone->shm.name.data);
            return DH_ERROR;
        }

        lr->sn.node.key = hash;
        lr->sn.data = lr->data;
        lr->sn.len = key.len;
        lr->excess = 0;
        lr->last = dh_current_msec;
        dh_memcpy(lr->data, key.data, key.len);
        dh_rbtree_insert(&ctx->sh->rbtree, &lr->sn.node);
        ctx->sh->stats.nodes++;
        excess = 0;

    } else {
        dh_queue_remove(&lr->queue);

        ms = dh_http_limit_req_elapsed(lr);
        if (ms > DH_HTTP_LIMIT_REQ_STALE) {
            ms = DH_HTTP_LIMIT_REQ_STALE;
        }

        excess = lr->excess - (dh_int_t) (ctx->rate * ms / 1000) + 1000;
        if (excess < 0) {
            excess = 0;
        }
    }

    dh_queue_insert_head(&ctx->sh->queue, &lr->queue);

    if ((dh_uint_t) excess > limit->burst) {
        rc = DH_HTTP_LIMIT_REQ_REJECTED;

    } else {
        /* a dry run counts but does not consume the bucket, so it shows
         * what the real limit would have done with the same traffic */
        if (!dry_run) {
            lr->excess = excess;
            lr->last = dh_current_msec;
        }

        if ((dh_uint_t) excess > limit->delay) {
            *delay = (dh_msec_t) (excess - (dh_int_t) limit->delay) * 1000
                     / ctx->rate;
        }

        rc = (*delay > 0) ? DH_HTTP_LIMIT_REQ_DELAYED
                          : DH_HTTP_LIMIT_REQ_PASSED;
    }

    if (dry_run && rc != DH_HTTP_LIMIT_REQ_PASSED) {
        rc = DH_HTTP_LIMIT_REQ_DRY_RUN;
        *delay = 0;
    }

    dh_shmtx_unlock(&ctx->shpool->mutex);

    dh_http_limit_metric_count(dh_http_limit_req_metric, ctx->shm_zone,
        rc == DH_HTTP_LIMIT_REQ_PASSED ? "passed"
        : rc == DH_HTTP_LIMIT_REQ_DELAYED ? "delayed"
        : rc == DH_HTTP_LIMIT_REQ_DRY_RUN ? "dry_run" : "rejected");

    return rc;
}


static dh_int_t
dh_http_limit_req_handler(dh_http_request_t *r)
{
    dh_int_t                       rc, worst;
    dh_uint_t                      i;
    dh_msec_t                      delay, max_delay;
    dh_str_t                      *zone;
    dh_connection_t               *c;
    dh_http_limit_req_limit_t     *limits;
    dh_http_limit_req_loc_conf_t  *lrcf;

    lrcf = dh_http_get_module_loc_conf(r, dh_http_limit_req_module);

    if (lrcf->limits == NULL || r->ctx[dh_http_limit_req_module.ctx_index]) {
        /* not limited, or already accounted before a delay */
        return DH_DECLINED;
    }

    c = r->connection;
    limits = lrcf->limits->elts;
    max_delay = 0;
    worst = DH_HTTP_LIMIT_REQ_PASSED;
    zone = NULL;

    for (i = 0; i < lrcf->limits->nelts; i++) {
        rc = dh_http_limit_req_account(r, &limits[i], lrcf->dry_run, &delay);

        if (rc == DH_ERROR) {
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == DH_DECLINED) {
            continue;
        }

        if (rc == DH_HTTP_LIMIT_REQ_DRY_RUN) {
            dh_log_error(lrcf->log_level, c->log, 0,
                         "limiting requests, dry run, by zone \"%.*s\"",
                         (int) limits[i].shm_zone->shm.name.len,
                         limits[i].shm_zone->shm.name.data);
            continue;
        }

        if (rc > worst) {
            worst = rc;
            zone = &limits[i].shm_zone->shm.name;
        }

        if (delay > max_delay) {
            max_delay = delay;
        }

        if (rc == DH_HTTP_LIMIT_REQ_REJECTED) {
            break;
        }
    }

    if (worst == DH_HTTP_LIMIT_REQ_REJECTED) {
        dh_log_error(lrcf->log_level, c->log, 0,
                     "limiting requests, excess over burst by zone \"%.*s\"",
                     (int) zone->len, zone->data);
        return lrcf->status;
    }

    if (max_delay == 0) {
        return DH_DECLINED;
    }

    dh_log_error(lrcf->log_level + 1, c->log, 0,
                 "delaying request by %lu ms by zone \"%.*s\"",
                 (unsigned long) max_delay, (int) zone->len, zone->data);

    /* mark the request so the phase is passed when it resumes */
    r->ctx[dh_http_limit_req_module.ctx_index] = (void *) 1;

    /* The timer is not cancelable: a graceful stop lets the wait (bounded
     * by burst / rate) finish and the request be served; only
     * worker_shutdown_timeout cuts it off. */
    r->read_event_handler = dh_http_block_reading;
    r->write_event_handler = dh_http_limit_req_delay_handler;
    dh_event_add_timer(c->write, max_delay);

    return DH_AGAIN;
}


static void
dh_http_limit_req_delay_handler(dh_http_request_t *r)
{
    dh_event_t  *wev;

    wev = r->connection->write;

    if (!wev->timedout) {
        /* the socket became writable while waiting: keep waiting */
        return;
    }

    wev->timedout = 0;

    r->write_event_handler = dh_http_request_empty_handler;

    dh_http_core_run_phases(r);
}


static dh_int_t
dh_http_limit_req_init_zone(dh_shm_zone_t *shm_zone, void *data)
{
    dh_http_limit_req_ctx_t  *octx = data;
    dh_http_limit_req_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx) {
        /* kept across reload: the key text must be the same */
        if (ctx->binary_addr != octx->binary_addr
            || ctx->key.value.len != octx->key.value.len
            || dh_strncmp(ctx->key.value.data, octx->key.value.data,
                          ctx->key.value.len) != 0)
        {
            dh_log_error(DH_LOG_EMERG, shm_zone->shm.log, 0,
                         "limit_req \"%.*s\" uses the \"%.*s\" key "
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

    ctx->sh = dh_slab_calloc(ctx->shpool, sizeof(dh_http_limit_req_shctx_t));
    if (ctx->sh == NULL) {
        return DH_ERROR;
    }

    ctx->shpool->data = ctx->sh;

    dh_rbtree_init(&ctx->sh->rbtree, &ctx->sh->sentinel,
                   dh_http_limit_rbtree_insert);
    dh_queue_init(&ctx->sh->queue);

    return DH_OK;
}


static void *
dh_http_limit_req_create_loc_conf(dh_conf_t *cf)
{
    dh_http_limit_req_loc_conf_t  *conf;

    conf = dh_pcalloc(cf->pool, sizeof(dh_http_limit_req_loc_conf_t));
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
dh_http_limit_req_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_limit_req_loc_conf_t  *prev = parent;
    dh_http_limit_req_loc_conf_t  *conf = child;

    if (conf->limits == NULL) {
        conf->limits = prev->limits;
    }

    dh_conf_merge_uint_value(conf->status, prev->status,
                             DH_HTTP_SERVICE_UNAVAILABLE);
    dh_conf_merge_uint_value(conf->log_level, prev->log_level, DH_LOG_ERR);
    dh_conf_merge_value(conf->dry_run, prev->dry_run, 0);

    return DH_CONF_OK;
}


/* "NAME:SIZE" -> name, size; DH_ERROR with the message logged. */
static dh_int_t
dh_http_limit_parse_zone(dh_conf_t *cf, dh_str_t *arg, dh_str_t *name,
    ssize_t *size)
{
    u_char    *p;
    dh_str_t   s;

    p = memchr(arg->data, ':', arg->len);
    if (p == NULL || p == arg->data) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0, "invalid zone size \"%.*s\"",
                          (int) arg->len, arg->data);
        return DH_ERROR;
    }

    name->data = arg->data;
    name->len = p - arg->data;

    s.data = p + 1;
    s.len = arg->data + arg->len - s.data;

    *size = dh_parse_size(&s);

    if (*size == DH_ERROR || *size < (ssize_t) (8 * dh_pagesize)) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0, "invalid zone size \"%.*s\"",
                          (int) arg->len, arg->data);
        return DH_ERROR;
    }

    return DH_OK;
}


static char *
dh_http_limit_req_zone(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    u_char                            *p;
    ssize_t                            size;
    dh_int_t                           rate, scale;
    dh_str_t                          *value, name, s;
    dh_uint_t                          i;
    dh_shm_zone_t                     *shm_zone;
    dh_http_limit_req_ctx_t           *ctx;
    dh_http_compile_complex_value_t    ccv;

    value = cf->args->elts;

    ctx = dh_pcalloc(cf->pool, sizeof(dh_http_limit_req_ctx_t));
    if (ctx == NULL) {
        return DH_CONF_ERROR;
    }

    if (value[1].len == sizeof("$binary_remote_addr") - 1
        && dh_strncmp(value[1].data, "$binary_remote_addr",
                      value[1].len) == 0)
    {
        /* the common case needs no variable lookup per request */
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

    size = 0;
    rate = 0;
    scale = 1;
    name.len = 0;

    for (i = 2; i < cf->args->nelts; i++) {

        if (dh_strncmp(value[i].data, "zone=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            if (dh_http_limit_parse_zone(cf, &s, &name, &size) != DH_OK) {
                return DH_CONF_ERROR;
            }

            continue;
        }

        if (dh_strncmp(value[i].data, "rate=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;
            p = s.data + s.len - 3;

            if (s.len > 3 && dh_strncmp(p, "r/s", 3) == 0) {
                scale = 1;
            } else if (s.len > 3 && dh_strncmp(p, "r/m", 3) == 0) {
                scale = 60;
            } else {
                scale = 0;
            }

            rate = scale ? dh_atoi(s.data, s.len - 3) : DH_ERROR;

            if (rate <= 0 || rate > 1000000) {
                dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                                  "invalid rate \"%.*s\"",
                                  (int) value[i].len, value[i].data);
                return DH_CONF_ERROR;
            }

            continue;
        }

        dh_conf_log_error(DH_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"",
                          (int) value[i].len, value[i].data);
        return DH_CONF_ERROR;
    }

    if (name.len == 0) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "\"limit_req_zone\" must have \"zone\" parameter");
        return DH_CONF_ERROR;
    }

    if (rate == 0) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "\"limit_req_zone\" must have \"rate\" parameter");
        return DH_CONF_ERROR;
    }

    ctx->rate = rate * 1000 / scale;
    if (ctx->rate == 0) {
        ctx->rate = 1;
    }

    shm_zone = dh_shared_memory_add(cf, &name, size,
                                    &dh_http_limit_req_module);
    if (shm_zone == NULL) {
        return DH_CONF_ERROR;
    }

    if (shm_zone->data) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "duplicate zone \"%.*s\"",
                          (int) name.len, name.data);
        return DH_CONF_ERROR;
    }

    ctx->shm_zone = shm_zone;
    shm_zone->init = dh_http_limit_req_init_zone;
    shm_zone->data = ctx;

    return DH_CONF_OK;
}


static char *
dh_http_limit_req(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_limit_req_loc_conf_t  *lrcf = conf;

    dh_int_t                    burst, delay, n;
    dh_str_t                   *value, s;
    dh_uint_t                   i;
    dh_shm_zone_t              *shm_zone;
    dh_http_limit_req_limit_t  *limit, *limits;

    value = cf->args->elts;

    shm_zone = NULL;
    burst = 0;
    delay = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (dh_strncmp(value[i].data, "zone=", 5) == 0) {
            s.len = value[i].len - 5;
            s.data = value[i].data + 5;

            shm_zone = dh_shared_memory_add(cf, &s, 0,
                                            &dh_http_limit_req_module);
            if (shm_zone == NULL
                || dh_http_limit_note_zone(dh_http_conf_get_module_main_conf(cf,
                                         dh_http_limit_req_module),
                                       shm_zone) != DH_OK)
            {
                return DH_CONF_ERROR;
            }

            continue;
        }

        if (dh_strncmp(value[i].data, "burst=", 6) == 0) {
            burst = dh_atoi(value[i].data + 6, value[i].len - 6);
            if (burst <= 0 || burst > 1000000) {
                goto invalid;
            }

            continue;
        }

        if (dh_strncmp(value[i].data, "delay=", 6) == 0) {
            delay = dh_atoi(value[i].data + 6, value[i].len - 6);
            if (delay <= 0 || delay > 1000000) {
                goto invalid;
            }

            continue;
        }

        if (value[i].len == 7 && dh_strncmp(value[i].data, "nodelay", 7) == 0)
        {
            delay = DH_MAX_INT_T_VALUE / 2000;
            continue;
        }

        goto invalid;
    }

    if (shm_zone == NULL) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "\"limit_req\" must have \"zone\" parameter");
        return DH_CONF_ERROR;
    }

    if (lrcf->limits == NULL) {
        lrcf->limits = dh_array_create(cf->pool, 1,
                                       sizeof(dh_http_limit_req_limit_t));
        if (lrcf->limits == NULL) {
            return DH_CONF_ERROR;
        }
    }

    limits = lrcf->limits->elts;

    for (n = 0; n < (dh_int_t) lrcf->limits->nelts; n++) {
        if (shm_zone == limits[n].shm_zone) {
            return "is duplicate";
        }
    }

    limit = dh_array_push(lrcf->limits);
    if (limit == NULL) {
        return DH_CONF_ERROR;
    }

    limit->shm_zone = shm_zone;
    limit->burst = burst * 1000;
    limit->delay = (delay > burst) ? (dh_uint_t) burst * 1000
                                   : (dh_uint_t) delay * 1000;

    return DH_CONF_OK;

invalid:

    dh_conf_log_error(DH_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"",
                      (int) value[i].len, value[i].data);
    return DH_CONF_ERROR;
}


static dh_int_t
dh_http_limit_req_init(dh_conf_t *cf)
{
    return dh_http_limit_init(cf,
               dh_http_conf_get_module_main_conf(cf, dh_http_limit_req_module),
               "limit_req_zone", "limit_req_requests_total",
               "Requests seen by limit_req, by zone and decision",
               &dh_http_limit_req_metric, dh_http_limit_req_handler);
}

/*
 * What limit_req and limit_conn share: the per-zone state kept in the
 * shared zone, and their decisions counted in the metrics registry as
 * divehttpd_limit_req_requests_total{zone,result} and
 * divehttpd_limit_conn_requests_total{zone,result}, so rejected requests
 * show up on /metrics whichever worker refused them.
 */

#ifndef DH_HTTP_LIMIT_MODULE_H
#define DH_HTTP_LIMIT_MODULE_H

#include "dh_http.h"

typedef struct {
    uint64_t      nodes;       /* keys tracked now (limit_conn: active) */
} dh_http_limit_stats_t;

#define DH_HTTP_LIMIT_MAX_SERIES  64


/*
 * Both zones keep one rbtree node per key, hashed on the key bytes; the
 * module's own node embeds this head first and stores the bytes after its
 * fields (head.data points there).
 */
typedef struct {
    dh_rbtree_node_t       node;      /* key: hash of data */
    u_char                *data;
    size_t                 len;
} dh_http_limit_node_t;


/* The key of r: the client address in binary form (4 or 16 bytes; every
 * unix-socket client shares one key, like one address) or the value of
 * the key variable. */
static inline dh_int_t
dh_http_limit_key(dh_http_request_t *r, dh_http_complex_value_t *cv,
    dh_uint_t binary_addr, dh_str_t *key)
{
    struct sockaddr  *sa;

    if (!binary_addr) {
        return dh_http_complex_value(r, cv, key);
    }

    sa = r->connection->sockaddr;

    switch (sa->sa_family) {
    case AF_INET:
        key->data = (u_char *) &((struct sockaddr_in *) sa)->sin_addr;
        key->len = 4;
        break;
    case AF_INET6:
        key->data = (u_char *) &((struct sockaddr_in6 *) sa)->sin6_addr;
        key->len = 16;
        break;
    default:
        key->data = (u_char *) "unix";
        key->len = 4;
    }

    return DH_OK;
}


static inline dh_int_t
dh_http_limit_node_cmp(u_char *a, size_t alen, u_char *b, size_t blen)
{
    return (alen == blen) ? memcmp(a, b, alen)
                          : (dh_int_t) alen - (dh_int_t) blen;
}


static inline void
dh_http_limit_rbtree_insert(dh_rbtree_node_t *temp, dh_rbtree_node_t *node,
    dh_rbtree_node_t *sentinel)
{
    dh_rbtree_node_t      **p;
    dh_http_limit_node_t   *a, *b;

    for ( ;; ) {
        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            a = (dh_http_limit_node_t *) node;
            b = (dh_http_limit_node_t *) temp;

            p = (dh_http_limit_node_cmp(a->data, a->len, b->data, b->len) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    dh_rbt_red(node);
}


static inline dh_http_limit_node_t *
dh_http_limit_find(dh_rbtree_t *tree, dh_uint_t hash, dh_str_t *key)
{
    dh_int_t               c;
    dh_rbtree_node_t      *node, *sentinel;
    dh_http_limit_node_t  *ln;

    node = tree->root;
    sentinel = tree->sentinel;

    while (node != sentinel) {
        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        ln = (dh_http_limit_node_t *) node;

        c = dh_http_limit_node_cmp(key->data, key->len, ln->data, ln->len);
        if (c == 0) {
            return ln;
        }

        node = (c < 0) ? node->left : node->right;
    }

    return NULL;
}


/* Registers the decisions family (postconfiguration, once a zone is used). */
static inline dh_metric_t *
dh_http_limit_metric_add(dh_conf_t *cf, const char *name, const char *help)
{
    static const char  *labels[] = { "zone", "result" };

    return dh_metrics_add(cf, name, help, "requests", DH_METRIC_COUNTER,
                          labels, 2, NULL, 0, DH_HTTP_LIMIT_MAX_SERIES);
}


/* Counts one decision ("passed", "delayed", "rejected", "dry_run"). */
static inline void
dh_http_limit_metric_count(dh_metric_t *m, dh_shm_zone_t *zone,
    const char *result)
{
    dh_int_t  series;
    dh_str_t  values[2];

    if (m == NULL) {
        return;
    }

    values[0] = zone->shm.name;
    values[1].data = (u_char *) result;
    values[1].len = dh_strlen(result);

    series = dh_metrics_series(m, values);

    if (series >= 0) {
        dh_metrics_add_value(m, series, 1);
    }
}

/*
 * Both modules name zones in location directives that may come before the
 * zone's declaration, so the names are collected and checked once the http
 * block is read (also by -t, where no zone is mapped).
 */
typedef struct {
    dh_array_t             zones;     /* of dh_shm_zone_t * */
} dh_http_limit_main_conf_t;


static inline void *
dh_http_limit_create_main_conf(dh_conf_t *cf)
{
    dh_http_limit_main_conf_t  *mcf;

    mcf = dh_pcalloc(cf->pool, sizeof(dh_http_limit_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    if (dh_array_init(&mcf->zones, cf->pool, 4, sizeof(dh_shm_zone_t *))
        != DH_OK)
    {
        return NULL;
    }

    return mcf;
}


static inline dh_int_t
dh_http_limit_note_zone(dh_http_limit_main_conf_t *mcf,
    dh_shm_zone_t *shm_zone)
{
    dh_shm_zone_t  **z;

    z = dh_array_push(&mcf->zones);
    if (z == NULL) {
        return DH_ERROR;
    }

    *z = shm_zone;

    return DH_OK;
}


/* postconfiguration: every named zone was declared (by `zone_directive`),
 * the decisions family is registered when a zone is used, and the
 * module's handler joins the preaccess phase. */
static inline dh_int_t
dh_http_limit_init(dh_conf_t *cf, dh_http_limit_main_conf_t *mcf,
    const char *zone_directive, const char *metric, const char *help,
    dh_metric_t **counter, dh_http_handler_pt handler)
{
    dh_uint_t                  i;
    dh_shm_zone_t            **zones;
    dh_http_handler_pt        *h;
    dh_http_core_main_conf_t  *cmcf;

    zones = mcf->zones.elts;

    for (i = 0; i < mcf->zones.nelts; i++) {
        if (zones[i]->data == NULL) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0, "unknown %s \"%.*s\"",
                              zone_directive,
                              (int) zones[i]->shm.name.len,
                              zones[i]->shm.name.data);
            return DH_ERROR;
        }
    }

    *counter = NULL;

    if (mcf->zones.nelts) {
        *counter = dh_http_limit_metric_add(cf, metric, help);
        if (*counter == NULL) {
            return DH_ERROR;
        }
    }

    cmcf = dh_http_conf_get_module_main_conf(cf, dh_http_core_module);

    h = dh_array_push(&cmcf->phases[DH_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return DH_ERROR;
    }

    *h = handler;

    return DH_OK;
}

#endif /* DH_HTTP_LIMIT_MODULE_H */

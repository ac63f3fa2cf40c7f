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

#endif /* DH_HTTP_LIMIT_MODULE_H */

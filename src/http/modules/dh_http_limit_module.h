/*
 * Counters of the limit_req and limit_conn zones, for the metrics module
 * and admin APIs.  The counters live in the shared zone (every worker adds
 * to them under the zone's mutex) and survive a reload when the zone is
 * kept.  Readers copy a snapshot; they never hold a pointer into a zone.
 */

#ifndef DH_HTTP_LIMIT_MODULE_H
#define DH_HTTP_LIMIT_MODULE_H

#include "dh_http.h"

typedef struct {
    uint64_t      passed;      /* let through at once */
    uint64_t      delayed;     /* let through after waiting (limit_req) */
    uint64_t      rejected;    /* refused with limit_*_status */
    uint64_t      dry_run;     /* would have been delayed or refused */
    uint64_t      nodes;       /* keys tracked now (limit_conn: active) */
} dh_http_limit_stats_t;

typedef struct {
    dh_str_t                zone;      /* points into the cycle's memory */
    dh_http_limit_stats_t   stats;
} dh_http_limit_zone_stats_t;

/* Fills up to n entries with the zones of the running cycle and returns
 * how many zones there are (may exceed n: call again with more room). */
dh_uint_t dh_http_limit_req_zones_stats(dh_cycle_t *cycle,
    dh_http_limit_zone_stats_t *out, dh_uint_t n);
dh_uint_t dh_http_limit_conn_zones_stats(dh_cycle_t *cycle,
    dh_http_limit_zone_stats_t *out, dh_uint_t n);

#endif /* DH_HTTP_LIMIT_MODULE_H */

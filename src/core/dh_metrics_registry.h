/*
 * What the registry (dh_metrics.c) and the renderers (dh_metrics_render.c)
 * share: the running cycle's layout of the metrics zone.  Nothing outside
 * those two files includes this.
 */

#ifndef DH_METRICS_REGISTRY_H
#define DH_METRICS_REGISTRY_H

#include "dh_core.h"

typedef struct {
    dh_array_t            families;        /* of dh_metric_t * */
    dh_shm_zone_t        *zone;
    dh_metrics_header_t  *header;
    dh_metric_series_t   *series;
    uint64_t             *rows;
    uint64_t              nvalues;
    uint64_t              nseries;
    uint64_t              signature;
} dh_metrics_conf_t;

/* the registry of the running cycle; NULL until init_module */
extern dh_metrics_conf_t  *dh_metrics_current;

#endif /* DH_METRICS_REGISTRY_H */

/*
 * The metrics registry: counters, gauges and histograms with labels.
 *
 * Modules declare families while the configuration is parsed
 * (dh_metrics_add()); the registry then lays every value out in ONE
 * shared memory zone named "metrics".  Each process owns a slot (a row
 * of all values) and updates it without locks: a slot has exactly one
 * writer, so relaxed loads and stores are enough.  The render sums the
 * rows of all slots.
 *
 * Slots: row 0 belongs to the master ("retired" row).  A worker claims a
 * free row by its pid in init_process.  When the master reaps a dead
 * child it folds the counters and histograms of the child's row into row
 * 0 and frees the row (gauges of a dead process, such as its active
 * connections, die with it).  Totals so survive crashes, respawns and the
 * old workers of a reload.
 *
 * Label sets: each family has a bounded table of series in the zone
 * (max_series, the last one being the "_overflow" series that takes
 * every label set beyond the bound).  A series is found by a lock-free
 * scan; only adding a new one takes the zone's spin lock.
 *
 * Reload: a zone whose layout (families, widths, bounds) is unchanged is
 * kept as it is.  A changed layout gets a new zone, and the values of the
 * families that still exist (same name, type and width) are copied over
 * from the old one; what old workers count after that copy is lost.
 */

#ifndef DH_METRICS_H
#define DH_METRICS_H

#include "dh_core.h"

#define DH_METRIC_COUNTER      0
#define DH_METRIC_GAUGE        1
#define DH_METRIC_HISTOGRAM    2

#define DH_METRICS_MAX_LABELS  4
#define DH_METRICS_LABELS_LEN  96      /* a series' values, NUL-separated */
#define DH_METRICS_MAX_BOUNDS  48      /* histogram bucket bounds */
#define DH_METRICS_SLOTS       64      /* row 0 = master and retired */

/* values read from /proc for every live slot at render time */
#define DH_METRIC_PROC_NONE    0
#define DH_METRIC_PROC_RSS     1
#define DH_METRIC_PROC_FDS     2
#define DH_METRIC_PROC_START   3

typedef struct dh_metric_s  dh_metric_t;

struct dh_metric_s {
    dh_str_t      name;            /* without the prefix */
    dh_str_t      help;
    dh_str_t      unit;            /* for the JSON format: "bytes" ... */
    dh_uint_t     type;
    dh_uint_t     nlabels;
    dh_str_t      labels[DH_METRICS_MAX_LABELS];
    double       *bounds;          /* histogram upper bounds, ascending */
    dh_uint_t     nbounds;
    dh_uint_t     max_series;      /* 1 without labels */
    dh_uint_t     proc;            /* DH_METRIC_PROC_* */
    dh_uint_t     core;            /* printed by ?type=core */

    /* set when the layout is made */
    dh_uint_t     width;           /* values per series */
    dh_uint_t     base;            /* offset of series 0 in a row */
    dh_uint_t     series_base;     /* index of its first series entry */
};

typedef struct {
    uint32_t      state;           /* 0 free, 1 in use */
    uint32_t      hash;
    u_char        values[DH_METRICS_LABELS_LEN];
} dh_metric_series_t;

typedef struct {
    uint64_t      magic;
    uint64_t      signature;
    uint64_t      nvalues;
    uint64_t      nseries;
    uint64_t      start_time;      /* master start, epoch seconds */
    uint32_t      lock;
    uint32_t      pad;
    int64_t       pids[DH_METRICS_SLOTS];
} dh_metrics_header_t;

/* A growing output buffer for the renderers. */
typedef struct {
    u_char       *data;
    size_t        len;
    size_t        size;
    dh_pool_t    *pool;
    dh_uint_t     failed;
} dh_metrics_out_t;

/* Declares a family; name/help/unit are copied.  labels is an array of
 * nlabels C strings, bounds an array of nbounds doubles.  Returns the
 * family (the same one when a module declares it twice) or NULL. */
dh_metric_t *dh_metrics_add(dh_conf_t *cf, const char *name,
    const char *help, const char *unit, dh_uint_t type,
    const char **labels, dh_uint_t nlabels, const double *bounds,
    dh_uint_t nbounds, dh_uint_t max_series);

/* The series index of a label set (values[] has m->nlabels strings);
 * the overflow series when the table is full; -1 when metrics are off. */
dh_int_t dh_metrics_series(dh_metric_t *m, dh_str_t *values);

void dh_metrics_add_value(dh_metric_t *m, dh_int_t series, int64_t v);
void dh_metrics_observe(dh_metric_t *m, dh_int_t series, double v);

/* Renderers; prefix is prepended to every name ("divehttpd_"). */
dh_int_t dh_metrics_render_prometheus(dh_metrics_out_t *out,
    dh_str_t *prefix);
dh_int_t dh_metrics_render_json(dh_metrics_out_t *out, dh_str_t *prefix);
dh_int_t dh_metrics_render_core(dh_metrics_out_t *out, dh_str_t *prefix);

/* Sums over all slots.  dh_metrics_sum() adds value k of every series
 * (k = 0 for counters and gauges); dh_metrics_series_sum() fills
 * values[m->width] for one series.  Quantile q (0..1) of a histogram
 * series from its aggregated values, linear inside the bucket. */
int64_t dh_metrics_sum(dh_metric_t *m, dh_uint_t k);
void dh_metrics_series_sum(dh_metric_t *m, dh_uint_t series,
    uint64_t *values);
double dh_metrics_quantile(dh_metric_t *m, uint64_t *values, double q);
/* The label values of a series in use, NULL for a free one. */
u_char *dh_metrics_series_labels(dh_metric_t *m, dh_uint_t series);

void dh_metrics_out_str(dh_metrics_out_t *out, u_char *s, size_t len);
void dh_metrics_out_printf(dh_metrics_out_t *out, const char *fmt, ...);
void dh_metrics_out_json_str(dh_metrics_out_t *out, u_char *s, size_t len);

/* Master hooks (dh_process_cycle.c). */
void dh_metrics_master_started(dh_cycle_t *cycle);
void dh_metrics_master_reloaded(dh_cycle_t *cycle);
void dh_metrics_process_respawned(void);
void dh_metrics_process_exited(dh_pid_t pid);

/* Status report (status_report file|fd): "UP" once the listeners are
 * bound and the workers started, or "FAILED" with a stable error code
 * ("BIND_FAILED", "CONF_INVALID") and a message. */
void dh_status_report_up(dh_cycle_t *cycle);
void dh_status_report_failed(const char *code, const char *message);

/* Built-in families that the event layer and the http core update. */
extern dh_metric_t  *dh_metric_conn_accepted;
extern dh_metric_t  *dh_metric_conn_handled;
extern dh_metric_t  *dh_metric_conn_active;
extern dh_metric_t  *dh_metric_conn_reading;
extern dh_metric_t  *dh_metric_conn_writing;
extern dh_metric_t  *dh_metric_conn_waiting;
/* TLS (dh_event_openssl.c): completed handshakes, failed ones */
extern dh_metric_t  *dh_metric_tls_handshakes;
extern dh_metric_t  *dh_metric_tls_failures;

extern const char   *dh_status_error_code;  /* why the cycle failed */
extern uint64_t     *dh_metrics_row;        /* this process' slot row */
extern dh_module_t   dh_metrics_module;

/* The fast path for unlabelled counters and gauges. */
static inline void
dh_metrics_inc(dh_metric_t *m, int64_t v)
{
    uint64_t  *p;

    if (m == NULL || dh_metrics_row == NULL) {
        return;
    }

    p = &dh_metrics_row[m->base];
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + (uint64_t) v,
                     __ATOMIC_RELAXED);
}

#endif /* DH_METRICS_H */

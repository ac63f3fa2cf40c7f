#include "dh_config.h"
#include "dh_core.h"
#include "dh_metrics_registry.h"

#include <sched.h>


#define DH_METRICS_MAGIC      0x6468206d65747231ULL
#define dh_metrics_conf(cycle)                                               \
    ((dh_metrics_conf_t *) (cycle)->conf_ctx[dh_metrics_module.index])
#define DH_METRICS_ZONE_PAD   (64 * 1024)   /* the slab pool's own pages */




static void *dh_metrics_create_conf(dh_cycle_t *cycle);
static char *dh_metrics_init_conf(dh_cycle_t *cycle, void *conf);
static dh_int_t dh_metrics_init_module(dh_cycle_t *cycle);
static dh_int_t dh_metrics_init_process(dh_cycle_t *cycle);
static void dh_metrics_exit_process(dh_cycle_t *cycle);
static dh_int_t dh_metrics_init_zone(dh_shm_zone_t *zone, void *data);
static void dh_metrics_layout(dh_metrics_conf_t *mcf);
static void dh_metrics_carry_over(dh_metrics_conf_t *mcf,
    dh_metrics_conf_t *old);
static dh_metric_t *dh_metrics_find(dh_metrics_conf_t *mcf, dh_str_t *name);
static dh_int_t dh_metrics_add_builtins(dh_conf_t *cf);
static void dh_metrics_bind_builtins(dh_metrics_conf_t *mcf);
static void dh_metrics_use(dh_metrics_conf_t *mcf);
static dh_metric_t *dh_metrics_get(dh_metrics_conf_t *mcf, const char *name);
static char *dh_status_report(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static void dh_status_report_write(u_char *json, size_t len);
static dh_log_t *dh_metrics_log(void);


dh_metric_t  *dh_metric_conn_accepted;
dh_metric_t  *dh_metric_conn_handled;
dh_metric_t  *dh_metric_conn_active;
dh_metric_t  *dh_metric_conn_reading;
dh_metric_t  *dh_metric_conn_writing;
dh_metric_t  *dh_metric_conn_waiting;
dh_metric_t  *dh_metric_tls_handshakes;
dh_metric_t  *dh_metric_tls_failures;

static dh_metric_t  *dh_metric_workers;
static dh_metric_t  *dh_metric_reloads;
static dh_metric_t  *dh_metric_respawns;

const char   *dh_status_error_code;
uint64_t     *dh_metrics_row;

/* the registry of the running cycle */
dh_metrics_conf_t  *dh_metrics_current;

/* kept outside the cycle so that a configuration that fails after the
 * directive was read can still report the failure */
static char       *dh_status_report_path;
static dh_int_t    dh_status_report_fd = -1;


static dh_command_t  dh_metrics_commands[] = {

    { dh_string("status_report"),
      DH_MAIN_CONF|DH_DIRECT_CONF|DH_CONF_TAKE2,
      dh_status_report,
      0,
      0,
      NULL },

    dh_null_command
};


static dh_core_module_t  dh_metrics_module_ctx = {
    dh_string("metrics"),
    dh_metrics_create_conf,
    dh_metrics_init_conf
};


dh_module_t  dh_metrics_module = {
    DH_MODULE_V1,
    &dh_metrics_module_ctx,
    dh_metrics_commands,
    DH_CORE_MODULE,
    dh_metrics_init_module,
    dh_metrics_init_process,
    dh_metrics_exit_process,
    NULL,
    DH_MODULE_V1_PADDING
};


static void *
dh_metrics_create_conf(dh_cycle_t *cycle)
{
    dh_conf_t           cf;
    dh_metrics_conf_t  *mcf;

    mcf = dh_pcalloc(cycle->pool, sizeof(dh_metrics_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    if (dh_array_init(&mcf->families, cycle->pool, 32, sizeof(void *))
        != DH_OK)
    {
        return NULL;
    }

    /* the built-in families are declared before any other module's */
    cycle->conf_ctx[dh_metrics_module.index] = (void ***) mcf;

    dh_memzero(&cf, sizeof(dh_conf_t));
    cf.cycle = cycle;
    cf.pool = cycle->pool;
    cf.log = cycle->log;

    if (dh_metrics_add_builtins(&cf) != DH_OK) {
        return NULL;
    }

    /* the running cycle keeps using its own families until this one is
     * taken into use (init_module) */
    if (dh_metrics_current != NULL) {
        dh_metrics_bind_builtins(dh_metrics_current);
    }

    return mcf;
}


static void
dh_metrics_bind_builtins(dh_metrics_conf_t *mcf)
{
    dh_metric_conn_accepted = dh_metrics_get(mcf,
                                             "connections_accepted_total");
    dh_metric_conn_handled = dh_metrics_get(mcf, "connections_handled_total");
    dh_metric_conn_active = dh_metrics_get(mcf, "connections_active");
    dh_metric_conn_reading = dh_metrics_get(mcf, "connections_reading");
    dh_metric_conn_writing = dh_metrics_get(mcf, "connections_writing");
    dh_metric_conn_waiting = dh_metrics_get(mcf, "connections_waiting");
    dh_metric_workers = dh_metrics_get(mcf, "worker_processes");
    dh_metric_reloads = dh_metrics_get(mcf, "reloads_total");
    dh_metric_respawns = dh_metrics_get(mcf, "respawns_total");
    dh_metric_tls_handshakes = dh_metrics_get(mcf, "tls_handshakes_total");
    dh_metric_tls_failures = dh_metrics_get(mcf,
                                            "tls_handshake_failures_total");
}


static dh_metric_t *
dh_metrics_get(dh_metrics_conf_t *mcf, const char *name)
{
    dh_str_t  s;

    s.data = (u_char *) name;
    s.len = dh_strlen(name);

    return dh_metrics_find(mcf, &s);
}


static dh_int_t
dh_metrics_add_builtins(dh_conf_t *cf)
{
    dh_metrics_conf_t  *mcf;

    static const char  *pid[] = { "pid" };

    dh_metric_conn_accepted = dh_metrics_add(cf, "connections_accepted_total",
        "Client connections accepted.", "connections", DH_METRIC_COUNTER,
        NULL, 0, NULL, 0, 1);
    dh_metric_conn_handled = dh_metrics_add(cf, "connections_handled_total",
        "Client connections handed to a protocol.", "connections",
        DH_METRIC_COUNTER, NULL, 0, NULL, 0, 1);
    dh_metric_conn_active = dh_metrics_add(cf, "connections_active",
        "Open client connections.", "connections", DH_METRIC_GAUGE,
        NULL, 0, NULL, 0, 1);
    dh_metric_conn_reading = dh_metrics_add(cf, "connections_reading",
        "Connections reading a request header.", "connections",
        DH_METRIC_GAUGE, NULL, 0, NULL, 0, 1);
    dh_metric_conn_writing = dh_metrics_add(cf, "connections_writing",
        "Connections processing a request or writing a response.",
        "connections", DH_METRIC_GAUGE, NULL, 0, NULL, 0, 1);
    dh_metric_conn_waiting = dh_metrics_add(cf, "connections_waiting",
        "Idle keep-alive connections.", "connections", DH_METRIC_GAUGE,
        NULL, 0, NULL, 0, 1);
    dh_metric_workers = dh_metrics_add(cf, "worker_processes",
        "Configured worker processes.", "nounit", DH_METRIC_GAUGE,
        NULL, 0, NULL, 0, 1);
    dh_metric_reloads = dh_metrics_add(cf, "reloads_total",
        "Configuration reloads done by the master.", "operations",
        DH_METRIC_COUNTER, NULL, 0, NULL, 0, 1);
    dh_metric_respawns = dh_metrics_add(cf, "respawns_total",
        "Child processes respawned after an unexpected exit.",
        "operations", DH_METRIC_COUNTER, NULL, 0, NULL, 0, 1);

    if (dh_metric_conn_accepted == NULL || dh_metric_conn_handled == NULL
        || dh_metric_conn_active == NULL || dh_metric_conn_reading == NULL
        || dh_metric_conn_writing == NULL || dh_metric_conn_waiting == NULL
        || dh_metric_workers == NULL || dh_metric_reloads == NULL
        || dh_metric_respawns == NULL)
    {
        return DH_ERROR;
    }

    if (dh_metrics_add(cf, "process_start_time_seconds",
            "Start time of the master process since the epoch.", "seconds",
            DH_METRIC_GAUGE, NULL, 0, NULL, 0, 1) == NULL
        || dh_metrics_add(cf, "process_resident_memory_bytes",
            "Resident memory of each process.", "bytes", DH_METRIC_GAUGE,
            pid, 1, NULL, 0, 1) == NULL
        || dh_metrics_add(cf, "process_open_fds",
            "Open file descriptors of each process.", "nounit",
            DH_METRIC_GAUGE, pid, 1, NULL, 0, 1) == NULL)
    {
        return DH_ERROR;
    }

#if (DH_HAVE_OPENSSL)
    if (dh_metrics_add(cf, "tls_handshakes_total",
            "TLS handshakes completed.", "operations", DH_METRIC_COUNTER,
            NULL, 0, NULL, 0, 1) == NULL
        || dh_metrics_add(cf, "tls_handshake_failures_total",
            "TLS handshakes that failed.", "operations", DH_METRIC_COUNTER,
            NULL, 0, NULL, 0, 1) == NULL)
    {
        return DH_ERROR;
    }
#endif

    mcf = dh_metrics_conf(cf->cycle);

    dh_metrics_get(mcf, "process_start_time_seconds")->proc =
        DH_METRIC_PROC_START;
    dh_metrics_get(mcf, "process_resident_memory_bytes")->proc =
        DH_METRIC_PROC_RSS;
    dh_metrics_get(mcf, "process_open_fds")->proc = DH_METRIC_PROC_FDS;
    dh_metrics_get(mcf, "process_open_fds")->core = 1;

    return DH_OK;
}


dh_metric_t *
dh_metrics_add(dh_conf_t *cf, const char *name, const char *help,
    const char *unit, dh_uint_t type, const char **labels, dh_uint_t nlabels,
    const double *bounds, dh_uint_t nbounds, dh_uint_t max_series)
{
    dh_str_t            s;
    dh_uint_t           i;
    dh_metric_t        *m, **slot;
    dh_metrics_conf_t  *mcf;

    mcf = dh_metrics_conf(cf->cycle);

    s.data = (u_char *) name;
    s.len = dh_strlen(name);

    m = dh_metrics_find(mcf, &s);
    if (m != NULL) {
        return (m->type == type && m->nlabels == nlabels) ? m : NULL;
    }

    /* the renderers sum a series in a fixed array of 64 values */
    if (nlabels > DH_METRICS_MAX_LABELS || nbounds > DH_METRICS_MAX_BOUNDS) {
        return NULL;
    }

    m = dh_pcalloc(cf->cycle->pool, sizeof(dh_metric_t));
    if (m == NULL) {
        return NULL;
    }

    m->name.len = s.len;
    m->name.data = (u_char *) dh_pstrdup(cf->cycle->pool, &s);
    m->help.data = (u_char *) help;
    m->help.len = dh_strlen(help);
    m->unit.data = (u_char *) unit;
    m->unit.len = dh_strlen(unit);
    m->help.data = dh_pstrdup(cf->cycle->pool, &m->help);
    m->unit.data = dh_pstrdup(cf->cycle->pool, &m->unit);

    if (m->name.data == NULL || m->help.data == NULL
        || m->unit.data == NULL)
    {
        return NULL;
    }

    m->type = type;
    m->nlabels = nlabels;

    for (i = 0; i < nlabels; i++) {
        m->labels[i].data = (u_char *) labels[i];
        m->labels[i].len = dh_strlen(labels[i]);
    }

    if (nbounds) {
        m->bounds = dh_palloc(cf->cycle->pool, nbounds * sizeof(double));
        if (m->bounds == NULL) {
            return NULL;
        }

        dh_memcpy(m->bounds, bounds, nbounds * sizeof(double));
        m->nbounds = nbounds;
    }

    /* one more series than asked for: the overflow one */
    m->max_series = nlabels ? max_series + 1 : 1;

    /* buckets, +Inf, sum, count */
    m->width = (type == DH_METRIC_HISTOGRAM) ? nbounds + 3 : 1;

    slot = dh_array_push(&mcf->families);
    if (slot == NULL) {
        return NULL;
    }

    *slot = m;

    return m;
}


static dh_metric_t *
dh_metrics_find(dh_metrics_conf_t *mcf, dh_str_t *name)
{
    dh_uint_t     i;
    dh_metric_t **m;

    m = mcf->families.elts;

    for (i = 0; i < mcf->families.nelts; i++) {
        if (m[i]->name.len == name->len
            && dh_memcmp(m[i]->name.data, name->data, name->len) == 0)
        {
            return m[i];
        }
    }

    return NULL;
}


static uint64_t
dh_metrics_fnv(uint64_t h, const void *p, size_t len)
{
    const u_char  *s = p;

    while (len--) {
        h ^= *s++;
        h *= 0x100000001b3ULL;
    }

    return h;
}


static void
dh_metrics_layout(dh_metrics_conf_t *mcf)
{
    uint64_t      h;
    dh_uint_t     i, j;
    dh_metric_t **m;

    h = 0xcbf29ce484222325ULL;
    m = mcf->families.elts;
    mcf->nvalues = 0;
    mcf->nseries = 0;

    for (i = 0; i < mcf->families.nelts; i++) {
        m[i]->base = mcf->nvalues;
        m[i]->series_base = mcf->nseries;
        mcf->nvalues += m[i]->width * m[i]->max_series;
        mcf->nseries += m[i]->max_series;

        h = dh_metrics_fnv(h, m[i]->name.data, m[i]->name.len + 1);
        h = dh_metrics_fnv(h, &m[i]->type, sizeof(dh_uint_t));
        h = dh_metrics_fnv(h, &m[i]->width, sizeof(dh_uint_t));
        h = dh_metrics_fnv(h, &m[i]->max_series, sizeof(dh_uint_t));

        for (j = 0; j < m[i]->nbounds; j++) {
            h = dh_metrics_fnv(h, &m[i]->bounds[j], sizeof(double));
        }
    }

    mcf->signature = h;
}


static char *
dh_metrics_init_conf(dh_cycle_t *cycle, void *conf)
{
    size_t              size;
    dh_str_t            name = dh_string("metrics");
    dh_conf_t           cf;
    dh_metrics_conf_t  *mcf = conf;

    dh_metrics_layout(mcf);

    size = sizeof(dh_metrics_header_t)
           + mcf->nseries * sizeof(dh_metric_series_t)
           + DH_METRICS_SLOTS * mcf->nvalues * sizeof(uint64_t);
    size = dh_align(size, 4096) + DH_METRICS_ZONE_PAD;

    dh_memzero(&cf, sizeof(dh_conf_t));
    cf.cycle = cycle;
    cf.pool = cycle->pool;
    cf.log = cycle->log;

    mcf->zone = dh_shared_memory_add(&cf, &name, size, &dh_metrics_module);
    if (mcf->zone == NULL) {
        return DH_CONF_ERROR;
    }

    mcf->zone->init = dh_metrics_init_zone;
    mcf->zone->data = mcf;

    /* a zone of the same size but another layout must not be adopted */
    if (dh_metrics_current != NULL && dh_metrics_current->header != NULL
        && dh_metrics_current->signature != mcf->signature)
    {
        mcf->zone->noreuse = 1;
    }

    return DH_CONF_OK;
}


static void
dh_metrics_attach(dh_metrics_conf_t *mcf, dh_metrics_header_t *header)
{
    mcf->header = header;
    mcf->series = (dh_metric_series_t *) (header + 1);
    mcf->rows = (uint64_t *) (mcf->series + mcf->nseries);
}


static dh_int_t
dh_metrics_init_zone(dh_shm_zone_t *zone, void *data)
{
    size_t                size;
    dh_uint_t             i, j, k;
    dh_metric_t         **m;
    dh_slab_pool_t       *pool;
    dh_metric_series_t   *s;
    dh_metrics_conf_t    *mcf, *old;
    dh_metrics_header_t  *header;

    mcf = zone->data;

    if (data != NULL) {
        /* same name, size and (init_conf made sure) layout */
        old = data;
        dh_metrics_attach(mcf, old->header);
        zone->data = mcf;
        return DH_OK;
    }

    pool = (dh_slab_pool_t *) zone->shm.addr;

    size = sizeof(dh_metrics_header_t)
           + mcf->nseries * sizeof(dh_metric_series_t)
           + DH_METRICS_SLOTS * mcf->nvalues * sizeof(uint64_t);

    header = dh_slab_calloc(pool, size);
    if (header == NULL) {
        dh_log_error(DH_LOG_EMERG, zone->shm.log, 0,
                     "could not allocate %zu bytes in the metrics zone",
                     size);
        return DH_ERROR;
    }

    header->magic = DH_METRICS_MAGIC;
    header->signature = mcf->signature;
    header->nvalues = mcf->nvalues;
    header->nseries = mcf->nseries;
    header->start_time = (uint64_t) time(NULL);

    dh_metrics_attach(mcf, header);

    /* the overflow series of every labelled family */
    m = mcf->families.elts;

    for (i = 0; i < mcf->families.nelts; i++) {
        if (m[i]->nlabels == 0) {
            mcf->series[m[i]->series_base].state = 1;
            continue;
        }

        s = &mcf->series[m[i]->series_base + m[i]->max_series - 1];
        s->state = 1;

        for (j = 0, k = 0; j < m[i]->nlabels; j++) {
            dh_memcpy(&s->values[k], "_overflow", sizeof("_overflow"));
            k += sizeof("_overflow");
        }
    }

    if (dh_metrics_current != NULL && dh_metrics_current->header != NULL) {
        dh_metrics_carry_over(mcf, dh_metrics_current);
    }

    return DH_OK;
}


/* A new layout: copy the families that exist in both, row by row, and the
 * slot owners, so that the old workers are still folded when they die. */
static void
dh_metrics_carry_over(dh_metrics_conf_t *mcf, dh_metrics_conf_t *old)
{
    dh_uint_t      i, slot, n;
    dh_metric_t  **m, *o;

    mcf->header->start_time = old->header->start_time;

    for (slot = 0; slot < DH_METRICS_SLOTS; slot++) {
        mcf->header->pids[slot] = old->header->pids[slot];
    }

    m = mcf->families.elts;

    for (i = 0; i < mcf->families.nelts; i++) {
        o = dh_metrics_find(old, &m[i]->name);

        if (o == NULL || o->type != m[i]->type || o->width != m[i]->width
            || o->nlabels != m[i]->nlabels)
        {
            continue;
        }

        n = dh_min(o->max_series, m[i]->max_series);

        /* the overflow series stays the new table's last one */
        if (m[i]->nlabels) {
            n = dh_min(n, m[i]->max_series - 1);
            n = dh_min(n, o->max_series - 1);
        }

        dh_memcpy(&mcf->series[m[i]->series_base],
                  &old->series[o->series_base],
                  n * sizeof(dh_metric_series_t));

        for (slot = 0; slot < DH_METRICS_SLOTS; slot++) {
            dh_memcpy(&mcf->rows[slot * mcf->nvalues + m[i]->base],
                      &old->rows[slot * old->nvalues + o->base],
                      n * o->width * sizeof(uint64_t));
        }
    }
}


static dh_int_t
dh_metrics_init_module(dh_cycle_t *cycle)
{
    dh_metrics_conf_t  *mcf;

    mcf = dh_metrics_conf(cycle);

    if (mcf->header == NULL) {
        /* -t: no zone was mapped */
        return DH_OK;
    }

    /* a reload in the master may still fail after this (a later module's
     * init_module): the new registry is taken into use by
     * dh_metrics_master_reloaded(), once the cycle is committed */
    if (dh_metrics_current == NULL || dh_process != DH_PROCESS_MASTER) {
        dh_metrics_use(mcf);
    }

    return DH_OK;
}


static void
dh_metrics_use(dh_metrics_conf_t *mcf)
{
    dh_metrics_current = mcf;
    dh_metrics_bind_builtins(mcf);

    /* the master's (or the single process') row */
    dh_metrics_row = mcf->rows;
}


static dh_int_t
dh_metrics_init_process(dh_cycle_t *cycle)
{
    dh_uint_t            i;
    int64_t              free_pid;
    dh_metrics_header_t *h;

    if (dh_metrics_current == NULL || dh_process == DH_PROCESS_SINGLE) {
        return DH_OK;
    }

    dh_metrics_row = NULL;
    h = dh_metrics_current->header;

    for (i = 1; i < DH_METRICS_SLOTS; i++) {
        free_pid = 0;

        if (__atomic_compare_exchange_n(&h->pids[i], &free_pid,
                                        (int64_t) dh_pid, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        {
            dh_metrics_row = dh_metrics_current->rows
                             + i * dh_metrics_current->nvalues;
            return DH_OK;
        }
    }

    dh_log_error(DH_LOG_ALERT, cycle->log, 0,
                 "no free metrics slot: this process is not counted");

    return DH_OK;
}


static void
dh_metrics_exit_process(dh_cycle_t *cycle)
{
    /* the master folds the row when it reaps us */
    dh_metrics_row = NULL;
}


/* In the master: fold the row of a dead child into row 0. */
void
dh_metrics_process_exited(dh_pid_t pid)
{
    uint64_t            *row, *retired, v;
    dh_uint_t            i, j, k, slot;
    dh_metric_t        **m;
    dh_metrics_conf_t   *mcf;

    mcf = dh_metrics_current;

    if (mcf == NULL || mcf->header == NULL) {
        return;
    }

    for (slot = 1; slot < DH_METRICS_SLOTS; slot++) {
        if (mcf->header->pids[slot] == (int64_t) pid) {
            break;
        }
    }

    if (slot == DH_METRICS_SLOTS) {
        return;
    }

    row = mcf->rows + slot * mcf->nvalues;
    retired = mcf->rows;
    m = mcf->families.elts;

    for (i = 0; i < mcf->families.nelts; i++) {
        if (m[i]->type == DH_METRIC_GAUGE) {
            continue;
        }

        for (j = 0; j < m[i]->max_series; j++) {
            for (k = 0; k < m[i]->width; k++) {
                v = m[i]->base + j * m[i]->width + k;

                if (m[i]->type == DH_METRIC_HISTOGRAM
                    && k == m[i]->nbounds + 1)
                {
                    double  a, b;

                    dh_memcpy(&a, &retired[v], sizeof(double));
                    dh_memcpy(&b, &row[v], sizeof(double));
                    a += b;
                    dh_memcpy(&retired[v], &a, sizeof(double));
                    continue;
                }

                retired[v] += row[v];
            }
        }
    }

    dh_memzero(row, mcf->nvalues * sizeof(uint64_t));
    __atomic_store_n(&mcf->header->pids[slot], 0, __ATOMIC_RELEASE);
}


void
dh_metrics_master_started(dh_cycle_t *cycle)
{
    dh_core_conf_t  *ccf;

    ccf = (dh_core_conf_t *) dh_get_conf(cycle->conf_ctx, dh_core_module);

    if (dh_metrics_row != NULL) {
        dh_metrics_row[dh_metric_workers->base] =
            (uint64_t) (dh_process == DH_PROCESS_SINGLE
                        ? 0 : ccf->worker_processes);
    }

    dh_status_report_up(cycle);
}


void
dh_metrics_master_reloaded(dh_cycle_t *cycle)
{
    dh_core_conf_t      *ccf;
    dh_metrics_conf_t   *mcf;

    mcf = dh_metrics_conf(cycle);

    if (mcf->header != NULL) {
        dh_metrics_use(mcf);
    }

    ccf = (dh_core_conf_t *) dh_get_conf(cycle->conf_ctx, dh_core_module);

    if (dh_metrics_row != NULL) {
        dh_metrics_row[dh_metric_workers->base] =
            (uint64_t) ccf->worker_processes;
    }

    dh_metrics_inc(dh_metric_reloads, 1);
}


void
dh_metrics_process_respawned(void)
{
    dh_metrics_inc(dh_metric_respawns, 1);
}


static uint32_t
dh_metrics_labels_join(dh_metric_t *m, dh_str_t *values, u_char *buf)
{
    size_t     len, room, n;
    dh_uint_t  i;

    dh_memzero(buf, DH_METRICS_LABELS_LEN);
    n = 0;

    for (i = 0; i < m->nlabels; i++) {
        /* long values are cut so that every value keeps its NUL */
        room = DH_METRICS_LABELS_LEN - n - (m->nlabels - i);
        len = dh_min(values[i].len, room);

        dh_memcpy(&buf[n], values[i].data, len);
        n += len;
        buf[n++] = '\0';
    }

    return (uint32_t) dh_metrics_fnv(0xcbf29ce484222325ULL, buf, n);
}


dh_int_t
dh_metrics_series(dh_metric_t *m, dh_str_t *values)
{
    u_char               buf[DH_METRICS_LABELS_LEN];
    uint32_t             hash;
    dh_uint_t            i, last;
    dh_metric_series_t  *s;
    dh_metrics_header_t *h;

    if (m == NULL || dh_metrics_current == NULL || dh_metrics_row == NULL) {
        return -1;
    }

    if (m->nlabels == 0) {
        return 0;
    }

    hash = dh_metrics_labels_join(m, values, buf);
    s = &dh_metrics_current->series[m->series_base];
    last = m->max_series - 1;

    for (i = 0; i < last; i++) {
        if (__atomic_load_n(&s[i].state, __ATOMIC_ACQUIRE) == 0) {
            break;
        }

        if (s[i].hash == hash
            && dh_memcmp(s[i].values, buf, DH_METRICS_LABELS_LEN) == 0)
        {
            return i;
        }
    }

    if (i == last) {
        return last;
    }

    /* a new label set: rare, so a spin lock is fine */
    h = dh_metrics_current->header;

    while (__atomic_exchange_n(&h->lock, 1, __ATOMIC_ACQUIRE)) {
        sched_yield();
    }

    for ( /* void */ ; i < last; i++) {
        if (s[i].state == 0) {
            dh_memcpy(s[i].values, buf, DH_METRICS_LABELS_LEN);
            s[i].hash = hash;
            __atomic_store_n(&s[i].state, 1, __ATOMIC_RELEASE);
            break;
        }

        if (s[i].hash == hash
            && dh_memcmp(s[i].values, buf, DH_METRICS_LABELS_LEN) == 0)
        {
            break;
        }
    }

    __atomic_store_n(&h->lock, 0, __ATOMIC_RELEASE);

    return i;
}


void
dh_metrics_add_value(dh_metric_t *m, dh_int_t series, int64_t v)
{
    uint64_t  *p;

    if (m == NULL || series < 0 || dh_metrics_row == NULL) {
        return;
    }

    p = &dh_metrics_row[m->base + series * m->width];
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + (uint64_t) v,
                     __ATOMIC_RELAXED);
}


void
dh_metrics_observe(dh_metric_t *m, dh_int_t series, double v)
{
    double     sum;
    uint64_t  *p, bits;
    dh_uint_t  i;

    if (m == NULL || series < 0 || dh_metrics_row == NULL) {
        return;
    }

    p = &dh_metrics_row[m->base + series * m->width];

    for (i = 0; i < m->nbounds; i++) {
        if (v <= m->bounds[i]) {
            break;
        }
    }

    /* i == nbounds is the +Inf bucket */
    __atomic_store_n(&p[i], __atomic_load_n(&p[i], __ATOMIC_RELAXED) + 1,
                     __ATOMIC_RELAXED);

    bits = __atomic_load_n(&p[m->nbounds + 1], __ATOMIC_RELAXED);
    dh_memcpy(&sum, &bits, sizeof(double));
    sum += v;
    dh_memcpy(&bits, &sum, sizeof(double));
    __atomic_store_n(&p[m->nbounds + 1], bits, __ATOMIC_RELAXED);

    __atomic_store_n(&p[m->nbounds + 2],
                     __atomic_load_n(&p[m->nbounds + 2], __ATOMIC_RELAXED)
                     + 1, __ATOMIC_RELAXED);
}


void
dh_metrics_series_sum(dh_metric_t *m, dh_uint_t series, uint64_t *values)
{
    double     sum, d;
    uint64_t  *row, bits;
    dh_uint_t  slot, k, sumk;

    dh_memzero(values, m->width * sizeof(uint64_t));
    sum = 0;
    sumk = (m->type == DH_METRIC_HISTOGRAM) ? m->nbounds + 1 : m->width;

    for (slot = 0; slot < DH_METRICS_SLOTS; slot++) {
        if (slot && __atomic_load_n(&dh_metrics_current->header->pids[slot],
                                    __ATOMIC_ACQUIRE) == 0)
        {
            continue;
        }

        row = dh_metrics_current->rows + slot * dh_metrics_current->nvalues
              + m->base + series * m->width;

        for (k = 0; k < m->width; k++) {
            bits = __atomic_load_n(&row[k], __ATOMIC_RELAXED);

            if (k == sumk) {
                dh_memcpy(&d, &bits, sizeof(double));
                sum += d;
                continue;
            }

            values[k] += bits;
        }
    }

    if (sumk < m->width) {
        dh_memcpy(&values[sumk], &sum, sizeof(double));
    }
}


int64_t
dh_metrics_sum(dh_metric_t *m, dh_uint_t k)
{
    int64_t    total;
    uint64_t   v[64];
    dh_uint_t  i;

    if (m == NULL || dh_metrics_current == NULL || m->width > 64) {
        return 0;
    }

    total = 0;

    for (i = 0; i < m->max_series; i++) {
        if (dh_metrics_current->series[m->series_base + i].state == 0) {
            continue;
        }

        dh_metrics_series_sum(m, i, v);
        total += (int64_t) v[k];
    }

    return total;
}


u_char *
dh_metrics_series_labels(dh_metric_t *m, dh_uint_t series)
{
    dh_metric_series_t  *s;

    if (dh_metrics_current == NULL || series >= m->max_series) {
        return NULL;
    }

    s = &dh_metrics_current->series[m->series_base + series];

    return __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) ? s->values : NULL;
}


/* Prometheus' histogram_quantile(): find the bucket that holds rank
 * q * count and interpolate linearly inside it; the +Inf bucket answers
 * its lower bound. */
double
dh_metrics_quantile(dh_metric_t *m, uint64_t *values, double q)
{
    double     rank, lower, upper, below;
    uint64_t   count, cum;
    dh_uint_t  i;

    count = values[m->nbounds + 2];
    if (count == 0) {
        return 0;
    }

    rank = q * (double) count;
    cum = 0;

    for (i = 0; i <= m->nbounds; i++) {
        below = (double) cum;
        cum += values[i];

        if ((double) cum < rank || values[i] == 0) {
            continue;
        }

        if (i == m->nbounds) {
            return m->nbounds ? m->bounds[m->nbounds - 1] : 0;
        }

        lower = i ? m->bounds[i - 1] : 0;
        upper = m->bounds[i];

        return lower + (upper - lower) * (rank - below)
                       / (double) values[i];
    }

    return m->nbounds ? m->bounds[m->nbounds - 1] : 0;
}


/* status report */

static dh_log_t *
dh_metrics_log(void)
{
    return dh_cycle ? ((dh_cycle_t *) dh_cycle)->log : &dh_log;
}


static char *
dh_status_report(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_str_t   *value;
    dh_int_t    fd;

    value = cf->args->elts;

    if (dh_strcmp(value[1].data, "file") == 0) {
        free(dh_status_report_path);

        dh_status_report_path = strdup((char *) value[2].data);
        if (dh_status_report_path == NULL) {
            return DH_CONF_ERROR;
        }

        if (value[2].data[0] != '/') {
            /* relative to the prefix, like every other path */
            dh_str_t  full = value[2];

            if (dh_conf_full_name(cf->cycle, &full, 0) != DH_OK) {
                return DH_CONF_ERROR;
            }

            free(dh_status_report_path);
            dh_status_report_path = strndup((char *) full.data, full.len);
            if (dh_status_report_path == NULL) {
                return DH_CONF_ERROR;
            }
        }

        dh_status_report_fd = -1;
        return DH_CONF_OK;
    }

    if (dh_strcmp(value[1].data, "fd") == 0) {
        fd = dh_atoi(value[2].data, value[2].len);
        if (fd < 0) {
            return "has an invalid fd";
        }

        free(dh_status_report_path);
        dh_status_report_path = NULL;
        dh_status_report_fd = fd;
        return DH_CONF_OK;
    }

    return "takes \"file PATH\" or \"fd N\"";
}


static size_t
dh_status_report_time(char *buf, size_t size)
{
    struct tm       tm;
    struct timeval  tv;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);

    return snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ld+00:00",
                    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                    tm.tm_hour, tm.tm_min, tm.tm_sec, (long) tv.tv_usec);
}


void
dh_status_report_up(dh_cycle_t *cycle)
{
    int              n, port;
    char             ts[64], json[512];
    u_char           ip[DH_SOCKADDR_STRLEN + 1];
    size_t           len;
    dh_listening_t  *ls;

    if (dh_status_report_path == NULL && dh_status_report_fd == -1) {
        return;
    }

    dh_status_report_time(ts, sizeof(ts));

    ip[0] = '\0';
    port = 0;

    if (cycle->listening.nelts) {
        ls = cycle->listening.elts;

        len = dh_sock_ntop(&ls->sockaddr.sockaddr, ls->socklen, ip,
                           sizeof(ip) - 1, 0);
        ip[len] = '\0';
        port = dh_inet_get_port(&ls->sockaddr.sockaddr);
    }

    if (ip[0] == '\0') {
        n = snprintf(json, sizeof(json), "{\"timestamp\":\"%s\",\"server\":"
                     "{\"listen\":{\"ip\":null,\"port\":null}},\"status\":"
                     "{\"state\":\"UP\",\"last_error\":null,"
                     "\"error_code\":null}}", ts);

    } else {
        n = snprintf(json, sizeof(json), "{\"timestamp\":\"%s\",\"server\":"
                     "{\"listen\":{\"ip\":\"%s\",\"port\":%d}},\"status\":"
                     "{\"state\":\"UP\",\"last_error\":null,"
                     "\"error_code\":null}}", ts, ip, port);
    }

    if (n > 0 && (size_t) n < sizeof(json)) {
        dh_status_report_write((u_char *) json, n);
    }
}


void
dh_status_report_failed(const char *code, const char *message)
{
    char              ts[64];
    dh_pool_t        *pool;
    dh_metrics_out_t  out;

    if (dh_status_report_path == NULL && dh_status_report_fd == -1) {
        return;
    }

    pool = dh_create_pool(4096, dh_metrics_log());
    if (pool == NULL) {
        return;
    }

    dh_memzero(&out, sizeof(dh_metrics_out_t));
    out.pool = pool;

    dh_status_report_time(ts, sizeof(ts));

    dh_metrics_out_printf(&out, "{\"timestamp\":\"%s\",\"server\":"
                          "{\"listen\":{\"ip\":null,\"port\":null}},"
                          "\"status\":{\"state\":\"FAILED\","
                          "\"last_error\":", ts);
    dh_metrics_out_json_str(&out, (u_char *) message, dh_strlen(message));
    dh_metrics_out_printf(&out, ",\"error_code\":\"%s\"}}", code);

    if (!out.failed) {
        dh_status_report_write(out.data, out.len);
    }

    dh_destroy_pool(pool);
}


static void
dh_status_report_write(u_char *json, size_t len)
{
    u_char   *p;
    ssize_t   n;
    size_t    left;
    u_char    buf[1024];

    if (dh_status_report_path != NULL) {
        (void) dh_write_file_atomic(dh_status_report_path, json, len,
                                    dh_metrics_log());
        return;
    }

    if (len + 2 > sizeof(buf)) {
        return;
    }

    /* one write() so that readers of a pipe see the line whole */
    dh_memcpy(buf, json, len);
    buf[len++] = '\r';
    buf[len++] = '\n';

    for (p = buf, left = len; left; p += n, left -= n) {
        n = write(dh_status_report_fd, p, left);

        if (n == -1) {
            if (errno == EINTR) {
                n = 0;
                continue;
            }

            return;
        }
    }
}

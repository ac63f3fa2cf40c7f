#include "dh_config.h"
#include "dh_core.h"
#include "dh_metrics_registry.h"

/*
 * Rendering the registry: Prometheus text, the StarRocks-style JSON array
 * and the "core" LONG lines, all summed over every process' slot row.
 */

#include <dirent.h>
#include <stdarg.h>


static dh_metric_t **dh_metrics_sorted(dh_metrics_out_t *out,
    dh_metrics_conf_t **mcfp);
static dh_int_t dh_metrics_proc_value(dh_metric_t *m, dh_pid_t pid,
    double *v);
static void dh_metrics_out_labels(dh_metrics_out_t *out, dh_metric_t *m,
    u_char *values, const char *extra, const char *extra_value);
static void dh_metrics_out_value(dh_metrics_out_t *out, dh_metric_t *m,
    uint64_t v);


/* output */

void
dh_metrics_out_str(dh_metrics_out_t *out, u_char *s, size_t len)
{
    u_char  *p;
    size_t   size;

    if (out->failed) {
        return;
    }

    if (out->len + len > out->size) {
        size = dh_max(out->size * 2, out->len + len + 4096);

        p = dh_pnalloc(out->pool, size);
        if (p == NULL) {
            out->failed = 1;
            return;
        }

        if (out->len) {
            dh_memcpy(p, out->data, out->len);
        }

        out->data = p;
        out->size = size;
    }

    dh_memcpy(out->data + out->len, s, len);
    out->len += len;
}


void
dh_metrics_out_printf(dh_metrics_out_t *out, const char *fmt, ...)
{
    int      n;
    char     buf[512];
    va_list  args;

    va_start(args, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);

    if (n < 0) {
        out->failed = 1;
        return;
    }

    dh_metrics_out_str(out, (u_char *) buf,
                       dh_min((size_t) n, sizeof(buf) - 1));
}


void
dh_metrics_out_json_str(dh_metrics_out_t *out, u_char *s, size_t len)
{
    size_t  i;

    dh_metrics_out_str(out, (u_char *) "\"", 1);

    for (i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            dh_metrics_out_str(out, (u_char *) "\\", 1);
            dh_metrics_out_str(out, &s[i], 1);

        } else if (s[i] < 0x20) {
            dh_metrics_out_printf(out, "\\u%04x", s[i]);

        } else {
            dh_metrics_out_str(out, &s[i], 1);
        }
    }

    dh_metrics_out_str(out, (u_char *) "\"", 1);
}


static void
dh_metrics_out_prom_value(dh_metrics_out_t *out, u_char *s)
{
    for ( /* void */ ; *s; s++) {
        switch (*s) {
        case '\\':
            dh_metrics_out_str(out, (u_char *) "\\\\", 2);
            break;
        case '"':
            dh_metrics_out_str(out, (u_char *) "\\\"", 2);
            break;
        case '\n':
            dh_metrics_out_str(out, (u_char *) "\\n", 2);
            break;
        default:
            dh_metrics_out_str(out, s, 1);
        }
    }
}


static void
dh_metrics_out_labels(dh_metrics_out_t *out, dh_metric_t *m, u_char *values,
    const char *extra, const char *extra_value)
{
    dh_uint_t  i, n;

    if (m->nlabels == 0 && extra == NULL) {
        return;
    }

    dh_metrics_out_str(out, (u_char *) "{", 1);
    n = 0;

    for (i = 0; i < m->nlabels; i++) {
        dh_metrics_out_printf(out, "%s%.*s=\"", n++ ? "," : "",
                              (int) m->labels[i].len, m->labels[i].data);
        dh_metrics_out_prom_value(out, values);
        dh_metrics_out_str(out, (u_char *) "\"", 1);
        values += dh_strlen(values) + 1;
    }

    if (extra != NULL) {
        dh_metrics_out_printf(out, "%s%s=\"%s\"", n ? "," : "", extra,
                              extra_value);
    }

    dh_metrics_out_str(out, (u_char *) "}", 1);
}


static void
dh_metrics_out_value(dh_metrics_out_t *out, dh_metric_t *m, uint64_t v)
{
    if (m->type == DH_METRIC_GAUGE) {
        dh_metrics_out_printf(out, "%lld", (long long) (int64_t) v);
        return;
    }

    dh_metrics_out_printf(out, "%llu", (unsigned long long) v);
}


static int
dh_metrics_cmp(const void *a, const void *b)
{
    dh_metric_t  *x = *(dh_metric_t **) a;
    dh_metric_t  *y = *(dh_metric_t **) b;

    return strcmp((char *) x->name.data, (char *) y->name.data);
}


/* The families of the live registry in name order (a copy in out's pool,
 * the registry's own order is registration order), or NULL when there is
 * no registry or no memory. */
static dh_metric_t **
dh_metrics_sorted(dh_metrics_out_t *out, dh_metrics_conf_t **mcfp)
{
    dh_metric_t        **sorted;
    dh_metrics_conf_t   *mcf;

    mcf = dh_metrics_current;
    if (mcf == NULL || mcf->header == NULL) {
        return NULL;
    }

    sorted = dh_palloc(out->pool, mcf->families.nelts * sizeof(void *));
    if (sorted == NULL) {
        return NULL;
    }

    dh_memcpy(sorted, mcf->families.elts,
              mcf->families.nelts * sizeof(dh_metric_t *));
    qsort(sorted, mcf->families.nelts, sizeof(dh_metric_t *),
          dh_metrics_cmp);

    *mcfp = mcf;
    return sorted;
}


static dh_int_t
dh_metrics_proc_value(dh_metric_t *m, dh_pid_t pid, double *v)
{
    int            n;
    FILE          *f;
    char           path[64];
    DIR           *dir;
    long           pages, rss;
    struct dirent *de;

    switch (m->proc) {

    case DH_METRIC_PROC_RSS:
        snprintf(path, sizeof(path), "/proc/%ld/statm", (long) pid);

        f = fopen(path, "r");
        if (f == NULL) {
            return DH_DECLINED;
        }

        n = fscanf(f, "%ld %ld", &pages, &rss);
        fclose(f);

        if (n != 2) {
            return DH_DECLINED;
        }

        *v = (double) rss * (double) sysconf(_SC_PAGESIZE);
        return DH_OK;

    case DH_METRIC_PROC_FDS:
        snprintf(path, sizeof(path), "/proc/%ld/fd", (long) pid);

        dir = opendir(path);
        if (dir == NULL) {
            return DH_DECLINED;
        }

        n = 0;

        while ((de = readdir(dir)) != NULL) {
            if (de->d_name[0] != '.') {
                n++;
            }
        }

        closedir(dir);

        /* the reader's own descriptor for the directory */
        *v = (double) (pid == dh_pid ? n - 1 : n);
        return DH_OK;
    }

    return DH_DECLINED;
}


/* The pid of each live slot (master's is the parent of a worker). */
static dh_pid_t
dh_metrics_slot_pid(dh_uint_t slot)
{
    if (slot == 0) {
        return dh_process == DH_PROCESS_SINGLE ? dh_pid : getppid();
    }

    return (dh_pid_t) __atomic_load_n(&dh_metrics_current->header->pids[slot],
                                      __ATOMIC_ACQUIRE);
}


static void
dh_metrics_prom_proc(dh_metrics_out_t *out, dh_str_t *prefix,
    dh_metric_t *m)
{
    char       pidbuf[24];
    double     v;
    dh_pid_t   pid;
    dh_uint_t  slot;

    if (m->proc == DH_METRIC_PROC_START) {
        dh_metrics_out_printf(out, "%.*s%.*s %llu\n", DH_STR_FMT(*prefix),
            DH_STR_FMT(m->name),
            (unsigned long long) dh_metrics_current->header->start_time);
        return;
    }

    for (slot = 0; slot < DH_METRICS_SLOTS; slot++) {
        pid = dh_metrics_slot_pid(slot);

        if (pid <= 0 || dh_metrics_proc_value(m, pid, &v) != DH_OK) {
            continue;
        }

        snprintf(pidbuf, sizeof(pidbuf), "%ld", (long) pid);
        dh_metrics_out_printf(out, "%.*s%.*s{pid=\"%s\"} %.0f\n",
                              DH_STR_FMT(*prefix), DH_STR_FMT(m->name),
                              pidbuf, v);
    }
}


static void
dh_metrics_prom_family(dh_metrics_out_t *out, dh_str_t *prefix,
    dh_metric_t *m)
{
    char       le[64];
    double     sum;
    u_char    *labels;
    uint64_t   v[64], cum;
    dh_uint_t  i, k;

    static const char  *types[] = { "counter", "gauge", "histogram" };

    dh_metrics_out_printf(out, "# HELP %.*s%.*s %.*s\n# TYPE %.*s%.*s %s\n",
                          DH_STR_FMT(*prefix), DH_STR_FMT(m->name),
                          DH_STR_FMT(m->help), DH_STR_FMT(*prefix),
                          DH_STR_FMT(m->name), types[m->type]);

    if (m->proc) {
        dh_metrics_prom_proc(out, prefix, m);
        return;
    }

    for (i = 0; i < m->max_series; i++) {
        labels = dh_metrics_series_labels(m, i);
        if (labels == NULL) {
            continue;
        }

        dh_metrics_series_sum(m, i, v);

        if (m->nlabels && i == m->max_series - 1
            && (m->type == DH_METRIC_HISTOGRAM ? v[m->nbounds + 2] : v[0])
               == 0)
        {
            /* an unused overflow series */
            continue;
        }

        if (m->type != DH_METRIC_HISTOGRAM) {
            dh_metrics_out_printf(out, "%.*s%.*s", DH_STR_FMT(*prefix),
                                  DH_STR_FMT(m->name));
            dh_metrics_out_labels(out, m, labels, NULL, NULL);
            dh_metrics_out_str(out, (u_char *) " ", 1);
            dh_metrics_out_value(out, m, v[0]);
            dh_metrics_out_str(out, (u_char *) "\n", 1);
            continue;
        }

        cum = 0;

        for (k = 0; k <= m->nbounds; k++) {
            cum += v[k];

            if (k == m->nbounds) {
                dh_cpystrn((u_char *) le, (u_char *) "+Inf", sizeof(le));

            } else {
                snprintf(le, sizeof(le), "%g", m->bounds[k]);
            }

            dh_metrics_out_printf(out, "%.*s%.*s_bucket", DH_STR_FMT(*prefix),
                                  DH_STR_FMT(m->name));
            dh_metrics_out_labels(out, m, labels, "le", le);
            dh_metrics_out_printf(out, " %llu\n", (unsigned long long) cum);
        }

        dh_memcpy(&sum, &v[m->nbounds + 1], sizeof(double));

        dh_metrics_out_printf(out, "%.*s%.*s_sum", DH_STR_FMT(*prefix),
                              DH_STR_FMT(m->name));
        dh_metrics_out_labels(out, m, labels, NULL, NULL);
        dh_metrics_out_printf(out, " %.6f\n", sum);

        dh_metrics_out_printf(out, "%.*s%.*s_count", DH_STR_FMT(*prefix),
                              DH_STR_FMT(m->name));
        dh_metrics_out_labels(out, m, labels, NULL, NULL);
        dh_metrics_out_printf(out, " %llu\n",
                              (unsigned long long) v[m->nbounds + 2]);
    }
}


dh_int_t
dh_metrics_render_prometheus(dh_metrics_out_t *out, dh_str_t *prefix)
{
    dh_uint_t            i;
    dh_metric_t        **sorted;
    dh_metrics_conf_t   *mcf;

    sorted = dh_metrics_sorted(out, &mcf);
    if (sorted == NULL) {
        return DH_ERROR;
    }

    for (i = 0; i < mcf->families.nelts; i++) {
        dh_metrics_prom_family(out, prefix, sorted[i]);
    }

    return out->failed ? DH_ERROR : DH_OK;
}


static void
dh_metrics_json_item(dh_metrics_out_t *out, dh_uint_t *n, dh_metric_t *m,
    const char *suffix, u_char *labels, const char *extra,
    const char *extra_value, const char *value)
{
    dh_uint_t  i;

    dh_metrics_out_printf(out, "%s{\"tags\":{\"metric\":\"%.*s%s\"",
                          (*n)++ ? "," : "", DH_STR_FMT(m->name), suffix);

    for (i = 0; labels != NULL && i < m->nlabels; i++) {
        dh_metrics_out_str(out, (u_char *) ",", 1);
        dh_metrics_out_json_str(out, m->labels[i].data, m->labels[i].len);
        dh_metrics_out_str(out, (u_char *) ":", 1);
        dh_metrics_out_json_str(out, labels, dh_strlen(labels));
        labels += dh_strlen(labels) + 1;
    }

    if (extra != NULL) {
        dh_metrics_out_printf(out, ",\"%s\":\"%s\"", extra, extra_value);
    }

    dh_metrics_out_printf(out, "},\"unit\":\"%.*s\",\"value\":%s}",
                          DH_STR_FMT(m->unit), value);
}


dh_int_t
dh_metrics_render_json(dh_metrics_out_t *out, dh_str_t *prefix)
{
    char                 val[64], le[64], pidbuf[24];
    double               d;
    u_char              *labels;
    uint64_t             v[64], cum;
    dh_pid_t             pid;
    dh_uint_t            i, j, k, n, slot;
    dh_metric_t        **sorted, *m;
    dh_metrics_conf_t   *mcf;

    sorted = dh_metrics_sorted(out, &mcf);
    if (sorted == NULL) {
        return DH_ERROR;
    }
    dh_metrics_out_str(out, (u_char *) "[", 1);
    n = 0;

    for (i = 0; i < mcf->families.nelts; i++) {
        m = sorted[i];

        if (m->proc == DH_METRIC_PROC_START) {
            snprintf(val, sizeof(val), "%llu",
                     (unsigned long long) mcf->header->start_time);
            dh_metrics_json_item(out, &n, m, "", NULL, NULL, NULL, val);
            continue;
        }

        if (m->proc) {
            for (slot = 0; slot < DH_METRICS_SLOTS; slot++) {
                pid = dh_metrics_slot_pid(slot);

                if (pid <= 0 || dh_metrics_proc_value(m, pid, &d) != DH_OK) {
                    continue;
                }

                snprintf(val, sizeof(val), "%.0f", d);
                snprintf(pidbuf, sizeof(pidbuf), "%ld", (long) pid);
                dh_metrics_json_item(out, &n, m, "", NULL, "pid", pidbuf,
                                     val);
            }

            continue;
        }

        for (j = 0; j < m->max_series; j++) {
            labels = dh_metrics_series_labels(m, j);
            if (labels == NULL) {
                continue;
            }

            dh_metrics_series_sum(m, j, v);

            if (m->type != DH_METRIC_HISTOGRAM) {
                if (m->nlabels && j == m->max_series - 1 && v[0] == 0) {
                    continue;
                }

                snprintf(val, sizeof(val), m->type == DH_METRIC_GAUGE
                         ? "%lld" : "%llu", (long long) v[0]);
                dh_metrics_json_item(out, &n, m, "", labels, NULL, NULL,
                                     val);
                continue;
            }

            if (m->nlabels && j == m->max_series - 1
                && v[m->nbounds + 2] == 0)
            {
                continue;
            }

            cum = 0;

            for (k = 0; k <= m->nbounds; k++) {
                cum += v[k];

                if (k == m->nbounds) {
                    dh_cpystrn((u_char *) le, (u_char *) "+Inf", sizeof(le));

                } else {
                    snprintf(le, sizeof(le), "%g", m->bounds[k]);
                }

                snprintf(val, sizeof(val), "%llu", (unsigned long long) cum);
                dh_metrics_json_item(out, &n, m, "_bucket", labels, "le", le,
                                     val);
            }

            dh_memcpy(&d, &v[m->nbounds + 1], sizeof(double));
            snprintf(val, sizeof(val), "%.6f", d);
            dh_metrics_json_item(out, &n, m, "_sum", labels, NULL, NULL, val);

            snprintf(val, sizeof(val), "%llu",
                     (unsigned long long) v[m->nbounds + 2]);
            dh_metrics_json_item(out, &n, m, "_count", labels, NULL, NULL,
                                 val);
        }
    }

    dh_metrics_out_str(out, (u_char *) "]", 1);

    return out->failed ? DH_ERROR : DH_OK;
}


/* The core lines: "<prefix><name> LONG <value>" for the few families
 * marked core (the StarRocks set that applies to us: open fds), summed
 * over the processes, then the connection and request totals. */
dh_int_t
dh_metrics_render_core(dh_metrics_out_t *out, dh_str_t *prefix)
{
    double               d, total;
    dh_pid_t             pid;
    dh_uint_t            i, slot;
    dh_metric_t        **sorted, *m;
    dh_metrics_conf_t   *mcf;

    sorted = dh_metrics_sorted(out, &mcf);
    if (sorted == NULL) {
        return DH_ERROR;
    }

    for (i = 0; i < mcf->families.nelts; i++) {
        m = sorted[i];

        if (!m->core) {
            continue;
        }

        if (m->proc) {
            total = 0;

            for (slot = 0; slot < DH_METRICS_SLOTS; slot++) {
                pid = dh_metrics_slot_pid(slot);

                if (pid > 0 && dh_metrics_proc_value(m, pid, &d) == DH_OK) {
                    total += d;
                }
            }

            dh_metrics_out_printf(out, "%.*s%.*s LONG %.0f\n",
                                  DH_STR_FMT(*prefix), DH_STR_FMT(m->name),
                                  total);
            continue;
        }

        dh_metrics_out_printf(out, "%.*s%.*s LONG %lld\n",
                              DH_STR_FMT(*prefix), DH_STR_FMT(m->name),
                              (long long) dh_metrics_sum(m,
                                  m->type == DH_METRIC_HISTOGRAM
                                  ? m->nbounds + 2 : 0));
    }

    return out->failed ? DH_ERROR : DH_OK;
}

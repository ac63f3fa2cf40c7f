/*
 * Stream Load labels and metrics.
 *
 * "stream_load.labels": key "db\0label" -> dh_sl_label_rec_t (host byte
 * order, fixed size; the file never leaves the machine).  Key "\0txn_id"
 * (an empty db, which no table has) holds the last TxnId given out.
 *
 * A RUNNING record names the worker that runs the load by pid and by the
 * process start time from /proc, so a pid reused after a crash or a
 * restart is not mistaken for the owner: such a record counts as failed
 * and its label is free again.  That is what makes a kill -9 in the middle
 * of a load leave a reusable label without any cleanup pass.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"

#if (DH_HAVE_BDB)

#include "dh_stream_load.h"


#define DH_SL_LABEL_EXPIRE_EVERY   (60 * 1000)


static dh_int_t dh_sl_label_key(dh_str_t *db, dh_str_t *label, u_char *buf,
    size_t size, DBT *key);
static dh_uint_t dh_sl_label_live(dh_sl_label_rec_t *rec, time_t now);
static void dh_sl_label_expire(dh_cycle_t *cycle, void *data);
static int dh_sl_label_expire_work(dh_storage_job_t *job, DB_TXN *txn);


dh_sl_metrics_t          dh_sl_metrics;

static dh_storage_db_t  *dh_sl_labels_db;
static time_t            dh_sl_label_keep = 3 * 86400;
static int64_t           dh_sl_self_start = -1;


dh_int_t
dh_sl_store_init(dh_conf_t *cf)
{
    dh_str_t  name;

    dh_str_set(&name, "stream_load.labels");

    dh_sl_labels_db = dh_storage_add_db(cf, &name, 0);
    if (dh_sl_labels_db == NULL) {
        return DH_ERROR;
    }

    return dh_storage_add_periodic(cf, &name, DH_SL_LABEL_EXPIRE_EVERY,
                                   dh_sl_label_expire, NULL);
}


void
dh_sl_label_set_keep(time_t keep)
{
    dh_sl_label_keep = keep;
}


static dh_int_t
dh_sl_label_key(dh_str_t *db, dh_str_t *label, u_char *buf, size_t size,
    DBT *key)
{
    u_char  *p;

    if (db->len + 1 + label->len > size) {
        return DH_ERROR;
    }

    p = dh_cpymem(buf, db->data, db->len);
    *p++ = '\0';
    p = dh_cpymem(p, label->data, label->len);

    dh_memzero(key, sizeof(DBT));
    key->data = buf;
    key->size = (u_int32_t) (p - buf);

    return DH_OK;
}


/* field 22 of /proc/<pid>/stat: start time in clock ticks since boot;
 * -1 when the process does not exist */
int64_t
dh_sl_proc_start(int64_t pid)
{
    int      fd;
    char     path[64];
    u_char   buf[1024], *p, *last;
    ssize_t  n;
    int64_t  v;
    dh_uint_t field;

    (void) dh_slprintf((u_char *) path, (u_char *) path + sizeof(path) - 1,
                       "/proc/%lld/stat%c", (long long) pid, '\0');

    fd = open(path, O_RDONLY);
    if (fd == -1) {
        return -1;
    }

    n = read(fd, buf, sizeof(buf) - 1);
    (void) close(fd);

    if (n <= 0) {
        return -1;
    }

    last = buf + n;

    /* the command name may hold spaces and parentheses: skip to the last
     * ')' */
    for (p = last - 1; p > buf && *p != ')'; p--) { /* void */ }

    field = 2;

    for ( /* void */ ; p < last && field < 22; p++) {
        if (*p == ' ') {
            field++;
        }
    }

    v = 0;

    while (p < last && *p >= '0' && *p <= '9') {
        v = v * 10 + (*p++ - '0');
    }

    return v;
}


void
dh_sl_label_running(dh_sl_label_rec_t *rec, int64_t txn_id)
{
    if (dh_sl_self_start == -1) {
        dh_sl_self_start = dh_sl_proc_start((int64_t) getpid());
    }

    dh_memzero(rec, sizeof(dh_sl_label_rec_t));
    rec->state = DH_SL_LABEL_RUNNING;
    rec->txn_id = txn_id;
    rec->owner_pid = (int64_t) getpid();
    rec->owner_start = dh_sl_self_start;
    rec->created = (int64_t) time(NULL);
}


static dh_uint_t
dh_sl_label_live(dh_sl_label_rec_t *rec, time_t now)
{
    switch (rec->state) {

    case DH_SL_LABEL_RUNNING:
        /* dead owner, or its pid now belongs to another process */
        return dh_sl_proc_start(rec->owner_pid) == rec->owner_start
               && rec->owner_start != -1;

    case DH_SL_LABEL_FINISHED:
        return rec->finished + (int64_t) dh_sl_label_keep > (int64_t) now;

    default:
        return 1;
    }
}


int
dh_sl_label_get(DB_TXN *txn, dh_str_t *db, dh_str_t *label,
    dh_sl_label_rec_t *rec)
{
    int   err;
    DB   *d;
    DBT   key, data;
    u_char buf[1024];

    d = dh_storage_db_handle(dh_sl_labels_db);
    if (d == NULL) {
        return EINVAL;
    }

    if (dh_sl_label_key(db, label, buf, sizeof(buf), &key) != DH_OK) {
        return EINVAL;
    }

    dh_memzero(&data, sizeof(DBT));
    data.data = rec;
    data.ulen = sizeof(dh_sl_label_rec_t);
    data.flags = DB_DBT_USERMEM;

    err = d->get(d, txn, &key, &data, DB_RMW);
    if (err != 0) {
        return err;
    }

    if (data.size != sizeof(dh_sl_label_rec_t)
        || !dh_sl_label_live(rec, time(NULL)))
    {
        return DB_NOTFOUND;
    }

    return 0;
}


int
dh_sl_label_put(DB_TXN *txn, dh_str_t *db, dh_str_t *label,
    dh_sl_label_rec_t *rec)
{
    DB   *d;
    DBT   key, data;
    u_char buf[1024];

    d = dh_storage_db_handle(dh_sl_labels_db);
    if (d == NULL) {
        return EINVAL;
    }

    if (dh_sl_label_key(db, label, buf, sizeof(buf), &key) != DH_OK) {
        return EINVAL;
    }

    dh_memzero(&data, sizeof(DBT));
    data.data = rec;
    data.size = sizeof(dh_sl_label_rec_t);

    return d->put(d, txn, &key, &data, 0);
}


int
dh_sl_label_del(DB_TXN *txn, dh_str_t *db, dh_str_t *label)
{
    int   err;
    DB   *d;
    DBT   key;
    u_char buf[1024];

    d = dh_storage_db_handle(dh_sl_labels_db);
    if (d == NULL) {
        return EINVAL;
    }

    if (dh_sl_label_key(db, label, buf, sizeof(buf), &key) != DH_OK) {
        return EINVAL;
    }

    err = d->del(d, txn, &key, 0);

    return err == DB_NOTFOUND ? 0 : err;
}


const char *
dh_sl_label_state_name(dh_uint_t state)
{
    switch (state) {
    case DH_SL_LABEL_FINISHED:
        return "FINISHED";
    case DH_SL_LABEL_PREPARED:
        return "PRECOMMITTED";
    default:
        return "RUNNING";
    }
}


int
dh_sl_txn_id_next(DB_TXN *txn, int64_t *id)
{
    int      err;
    DB      *d;
    DBT      key, data;
    int64_t  v;

    d = dh_storage_db_handle(dh_sl_labels_db);
    if (d == NULL) {
        return EINVAL;
    }

    dh_memzero(&key, sizeof(DBT));
    key.data = "\0txn_id";
    key.size = sizeof("\0txn_id") - 1;

    dh_memzero(&data, sizeof(DBT));
    data.data = &v;
    data.ulen = sizeof(int64_t);
    data.flags = DB_DBT_USERMEM;

    err = d->get(d, txn, &key, &data, DB_RMW);

    if (err == DB_NOTFOUND) {
        v = 0;

    } else if (err != 0) {
        return err;
    }

    v++;

    data.size = sizeof(int64_t);

    err = d->put(d, txn, &key, &data, 0);
    if (err != 0) {
        return err;
    }

    *id = v;

    return 0;
}


/* storage helper: drops expired FINISHED labels and dead RUNNING ones */
static void
dh_sl_label_expire(dh_cycle_t *cycle, void *data)
{
    dh_storage_job_t  job;

    dh_memzero(&job, sizeof(dh_storage_job_t));
    job.work = dh_sl_label_expire_work;
    job.log = cycle->log;

    (void) dh_storage_run(cycle, &job);
}


static int
dh_sl_label_expire_work(dh_storage_job_t *job, DB_TXN *txn)
{
    int                 err, cerr;
    DB                 *d;
    DBC                *cur;
    DBT                 key, data;
    time_t              now;
    dh_sl_label_rec_t   rec;

    d = dh_storage_db_handle(dh_sl_labels_db);
    if (d == NULL) {
        return 0;
    }

    err = d->cursor(d, txn, &cur, 0);
    if (err != 0) {
        return err;
    }

    now = time(NULL);

    dh_memzero(&key, sizeof(DBT));
    dh_memzero(&data, sizeof(DBT));

    while ((err = cur->get(cur, &key, &data, DB_NEXT)) == 0) {
        if (data.size != sizeof(dh_sl_label_rec_t)) {
            continue;      /* the txn id counter */
        }

        dh_memcpy(&rec, data.data, sizeof(dh_sl_label_rec_t));

        if (rec.state == DH_SL_LABEL_PREPARED || dh_sl_label_live(&rec, now)) {
            continue;
        }

        err = cur->del(cur, 0);
        if (err != 0) {
            break;
        }
    }

    cerr = cur->close(cur);

    if (err == DB_NOTFOUND) {
        err = 0;
    }

    return err ? err : cerr;
}


/* ---- metrics */

dh_int_t
dh_sl_metrics_init(dh_conf_t *cf)
{
    dh_sl_metrics_t  *m;

    static const char  *type[] = { "type" };

    m = &dh_sl_metrics;

    m->requests = dh_metrics_add(cf, "streaming_load_requests_total",
        "Stream Load requests.", "requests", DH_METRIC_COUNTER,
        NULL, 0, NULL, 0, 1);
    m->bytes = dh_metrics_add(cf, "streaming_load_bytes",
        "Stream Load body bytes received.", "bytes", DH_METRIC_COUNTER,
        NULL, 0, NULL, 0, 1);
    m->duration = dh_metrics_add(cf, "streaming_load_duration_ms",
        "Stream Load time, summed.", "milliseconds", DH_METRIC_COUNTER,
        NULL, 0, NULL, 0, 1);
    m->current = dh_metrics_add(cf, "streaming_load_current_processing",
        "Stream Loads in progress.", "requests", DH_METRIC_GAUGE,
        NULL, 0, NULL, 0, 1);
    m->txn_requests = dh_metrics_add(cf,
        "transaction_streaming_load_requests_total",
        "Transaction Stream Load requests.", "requests", DH_METRIC_COUNTER,
        NULL, 0, NULL, 0, 1);
    m->txn_bytes = dh_metrics_add(cf, "transaction_streaming_load_bytes",
        "Transaction Stream Load body bytes received.", "bytes",
        DH_METRIC_COUNTER, NULL, 0, NULL, 0, 1);
    m->txn_duration = dh_metrics_add(cf,
        "transaction_streaming_load_duration_ms",
        "Transaction Stream Load time, summed.", "milliseconds",
        DH_METRIC_COUNTER, NULL, 0, NULL, 0, 1);
    m->txn_current = dh_metrics_add(cf,
        "transaction_streaming_load_current_processing",
        "Transaction Stream Loads in progress.", "requests",
        DH_METRIC_GAUGE, NULL, 0, NULL, 0, 1);
    m->load_rows = dh_metrics_add(cf, "load_rows", "Rows loaded.", "rows",
        DH_METRIC_COUNTER, NULL, 0, NULL, 0, 1);
    m->load_bytes = dh_metrics_add(cf, "load_bytes", "Bytes loaded.",
        "bytes", DH_METRIC_COUNTER, NULL, 0, NULL, 0, 1);
    m->stream_load = dh_metrics_add(cf, "stream_load",
        "Stream Load received bytes and loaded rows.", "nounit",
        DH_METRIC_COUNTER, type, 1, NULL, 0, 4);
    m->txn_request = dh_metrics_add(cf, "txn_request",
        "Transaction requests by type.", "requests", DH_METRIC_COUNTER,
        type, 1, NULL, 0, 6);

    if (m->requests == NULL || m->bytes == NULL || m->duration == NULL
        || m->current == NULL || m->txn_requests == NULL
        || m->txn_bytes == NULL || m->txn_duration == NULL
        || m->txn_current == NULL || m->load_rows == NULL
        || m->load_bytes == NULL || m->stream_load == NULL
        || m->txn_request == NULL)
    {
        return DH_ERROR;
    }

    return DH_OK;
}


void
dh_sl_metrics_add(dh_metric_t *m, const char *type, int64_t v)
{
    dh_int_t  series;
    dh_str_t  label;

    if (m == NULL) {
        return;
    }

    label.data = (u_char *) type;
    label.len = dh_strlen(type);

    series = dh_metrics_series(m, &label);
    if (series < 0) {
        return;
    }

    dh_metrics_add_value(m, series, v);
}

#endif /* DH_HAVE_BDB */

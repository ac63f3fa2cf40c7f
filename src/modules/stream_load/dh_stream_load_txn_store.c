/*
 * Transaction Stream Load: the storage side (see dh_stream_load_txn.h).
 * Everything here runs on a storage pool thread or in the storage helper,
 * inside one Berkeley DB transaction per call, and may be run again after
 * a deadlock: work functions reset their outputs first.
 */

#include "dh_config.h"
#include "dh_core.h"

#if (DH_HAVE_BDB)

#include "dh_stream_load.h"
#include "dh_stream_load_txn.h"


#define DH_SLT_VERSION       1

/* the fixed part of a stored record; db, table and params follow */
typedef struct {
    uint32_t   version;
    uint32_t   state;
    int64_t    txn_id;
    int64_t    begin_sec;
    int64_t    last_active_sec;
    int64_t    timeout_sec;
    int64_t    idle_timeout_sec;
    int64_t    owner_pid;
    int64_t    owner_start;
    int64_t    total_rows;
    int64_t    loaded_rows;
    int64_t    filtered_rows;
    int64_t    unselected_rows;
    int64_t    load_bytes;
    int64_t    received_ms;
    int64_t    write_ms;
    int64_t    nbatches;
    int64_t    nloads;
    int64_t    prepared_sec;
    int64_t    prepared_timeout_sec;
    double     max_filter_ratio;
    uint32_t   db_len;
    uint32_t   table_len;
    uint32_t   params_len;
    uint32_t   pad;
} dh_slt_disk_t;


static void dh_slt_timeout_check(dh_cycle_t *cycle, void *data);
static int dh_slt_expire_work(dh_storage_job_t *job, DB_TXN *txn);


static dh_storage_db_t  *dh_slt_txns;
static dh_storage_db_t  *dh_slt_data;

static const char  *dh_slt_status_names[] = {
    "OK",
    "INVALID_ARGUMENT",
    "INTERNAL_ERROR",
    "TXN_NOT_EXISTS",
    "LABEL_ALREADY_EXISTS",
    "TXN_IN_PROCESSING",
    "ABORTED"
};


const char *
dh_slt_status_name(dh_slt_status_e status)
{
    return dh_slt_status_names[status];
}


dh_int_t
dh_slt_store_init(dh_conf_t *cf)
{
    dh_str_t  name;

    if (dh_slt_txns != NULL && dh_slt_data != NULL) {
        return DH_OK;
    }

    dh_str_set(&name, "stream_load.txns");
    dh_slt_txns = dh_storage_add_db(cf, &name, 0);

    dh_str_set(&name, "stream_load.txn_data");
    dh_slt_data = dh_storage_add_db(cf, &name, 0);

    if (dh_slt_txns == NULL || dh_slt_data == NULL) {
        return DH_ERROR;
    }

    /* the BE's cleaner runs every 30 s; 1 s keeps short timeouts close
     * to what they say at the cost of one cursor scan per second */
    dh_str_set(&name, "stream_load.txn_timeout");

    return dh_storage_add_periodic(cf, &name, 1000, dh_slt_timeout_check,
                                   NULL);
}


void
dh_slt_job_free(dh_slt_job_t *j)
{
    dh_free(j->buf);
    j->buf = NULL;
    j->buf_len = 0;
    j->buf_size = 0;
}


/* ---- encoding */

static size_t
dh_slt_rec_size(dh_slt_rec_t *rec)
{
    return sizeof(dh_slt_disk_t) + rec->db.len + rec->table.len
           + rec->params.len;
}


static u_char *
dh_slt_cpy(u_char *p, dh_str_t *s)
{
    return s->len ? dh_cpymem(p, s->data, s->len) : p;
}


static void
dh_slt_rec_encode(dh_slt_rec_t *rec, u_char *p)
{
    dh_slt_disk_t  d;

    dh_memzero(&d, sizeof(d));
    d.version = DH_SLT_VERSION;
    d.state = (uint32_t) rec->state;
    d.txn_id = rec->txn_id;
    d.begin_sec = rec->begin_sec;
    d.last_active_sec = rec->last_active_sec;
    d.timeout_sec = rec->timeout_sec;
    d.idle_timeout_sec = rec->idle_timeout_sec;
    d.owner_pid = rec->owner_pid;
    d.owner_start = rec->owner_start;
    d.total_rows = rec->total_rows;
    d.loaded_rows = rec->loaded_rows;
    d.filtered_rows = rec->filtered_rows;
    d.unselected_rows = rec->unselected_rows;
    d.load_bytes = rec->load_bytes;
    d.received_ms = rec->received_ms;
    d.write_ms = rec->write_ms;
    d.nbatches = rec->nbatches;
    d.nloads = rec->nloads;
    d.prepared_sec = rec->prepared_sec;
    d.prepared_timeout_sec = rec->prepared_timeout_sec;
    d.max_filter_ratio = rec->max_filter_ratio;
    d.db_len = (uint32_t) rec->db.len;
    d.table_len = (uint32_t) rec->table.len;
    d.params_len = (uint32_t) rec->params.len;

    /* empty strings may have a NULL data pointer: no memcpy of those */
    p = dh_cpymem(p, &d, sizeof(d));
    p = dh_slt_cpy(p, &rec->db);
    p = dh_slt_cpy(p, &rec->table);
    (void) dh_slt_cpy(p, &rec->params);
}


dh_int_t
dh_slt_rec_decode(u_char *p, size_t len, dh_slt_rec_t *rec)
{
    dh_slt_disk_t  d;

    if (len < sizeof(d)) {
        return DH_ERROR;
    }

    dh_memcpy(&d, p, sizeof(d));

    if (d.version != DH_SLT_VERSION
        || len != sizeof(d) + (size_t) d.db_len + d.table_len
                  + d.params_len)
    {
        return DH_ERROR;
    }

    rec->state = d.state;
    rec->txn_id = d.txn_id;
    rec->begin_sec = d.begin_sec;
    rec->last_active_sec = d.last_active_sec;
    rec->timeout_sec = d.timeout_sec;
    rec->idle_timeout_sec = d.idle_timeout_sec;
    rec->owner_pid = d.owner_pid;
    rec->owner_start = d.owner_start;
    rec->total_rows = d.total_rows;
    rec->loaded_rows = d.loaded_rows;
    rec->filtered_rows = d.filtered_rows;
    rec->unselected_rows = d.unselected_rows;
    rec->load_bytes = d.load_bytes;
    rec->received_ms = d.received_ms;
    rec->write_ms = d.write_ms;
    rec->nbatches = d.nbatches;
    rec->nloads = d.nloads;
    rec->prepared_sec = d.prepared_sec;
    rec->prepared_timeout_sec = d.prepared_timeout_sec;
    rec->max_filter_ratio = d.max_filter_ratio;

    p += sizeof(d);
    rec->db.data = p;
    rec->db.len = d.db_len;
    p += d.db_len;
    rec->table.data = p;
    rec->table.len = d.table_len;
    p += d.table_len;
    rec->params.data = p;
    rec->params.len = d.params_len;

    return DH_OK;
}


/* ---- helpers used by the work functions */

static void
dh_slt_set(dh_slt_job_t *j, dh_slt_status_e status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
dh_slt_set(dh_slt_job_t *j, dh_slt_status_e status, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    j->status = status;

    va_start(args, fmt);
    p = dh_vslprintf(j->msg, j->msg + DH_SLT_MSG_LEN, fmt, args);
    va_end(args);

    j->msg_len = p - j->msg;
}


/* Makes j->buf hold at least size bytes (malloc: pool threads must not
 * use the request pool). */
static int
dh_slt_reserve(dh_slt_job_t *j, size_t size)
{
    u_char  *p;

    if (j->buf_size >= size) {
        return 0;
    }

    p = realloc(j->buf, size);
    if (p == NULL) {
        return ENOMEM;
    }

    j->buf = p;
    j->buf_size = size;

    return 0;
}


static void
dh_slt_txn_key(DBT *key, u_char *buf, dh_str_t *label)
{
    buf[0] = 'L';
    dh_memcpy(buf + 1, label->data, label->len);

    dh_memzero(key, sizeof(DBT));
    key->data = buf;
    key->size = (u_int32_t) (label->len + 1);
}


/* Reads the record of j->label into j->rec (j->buf).  0, DB_NOTFOUND or
 * an error.  The record is write-locked (DB_RMW) unless txn is NULL. */
static int
dh_slt_get(dh_slt_job_t *j, DB_TXN *txn)
{
    int     rc;
    DB     *db;
    DBT     key, data;
    u_char  kbuf[DH_SLT_LABEL_MAX + 1];

    db = dh_storage_db_handle(dh_slt_txns);
    dh_slt_txn_key(&key, kbuf, &j->label);

    dh_memzero(&data, sizeof(DBT));
    data.flags = DB_DBT_MALLOC;

    rc = db->get(db, txn, &key, &data, txn ? DB_RMW : 0);
    if (rc != 0) {
        return rc;
    }

    dh_free(j->buf);
    j->buf = data.data;
    j->buf_len = data.size;
    j->buf_size = data.size;

    if (dh_slt_rec_decode(j->buf, j->buf_len, &j->rec) != DH_OK) {
        dh_log_error(DH_LOG_ERR, j->job.log, 0,
                     "stream load txn \"%.*s\": corrupt record",
                     (int) j->label.len, j->label.data);
        return DB_NOTFOUND;
    }

    return 0;
}


/* Writes j->rec back.  The strings of j->rec may point into j->buf, so
 * the record is encoded into a separate buffer. */
static int
dh_slt_put(dh_slt_job_t *j, DB_TXN *txn)
{
    int      rc;
    DB      *db;
    DBT      key, data;
    u_char   kbuf[DH_SLT_LABEL_MAX + 1];
    u_char  *p;
    size_t   size;

    size = dh_slt_rec_size(&j->rec);

    p = dh_alloc(size, j->job.log);
    if (p == NULL) {
        return ENOMEM;
    }

    dh_slt_rec_encode(&j->rec, p);

    db = dh_storage_db_handle(dh_slt_txns);
    dh_slt_txn_key(&key, kbuf, &j->label);

    dh_memzero(&data, sizeof(DBT));
    data.data = p;
    data.size = (u_int32_t) size;

    rc = db->put(db, txn, &key, &data, 0);

    dh_free(p);

    return rc;
}


/* Is the record taken by a request that is still running?  A flag left by
 * a process that is gone (crash, restart) does not count, even when its
 * pid has been given to another process since (its start time differs). */
dh_uint_t
dh_slt_in_process(dh_slt_rec_t *rec)
{
    return rec->owner_pid != 0 && rec->owner_start != -1
           && dh_sl_proc_start(rec->owner_pid) == rec->owner_start;
}


/* Marks the record as taken by this process. */
static void
dh_slt_take(dh_slt_rec_t *rec)
{
    dh_sl_label_rec_t  self;

    /* the label store knows this process' start time */
    dh_sl_label_running(&self, 0);

    rec->owner_pid = self.owner_pid;
    rec->owner_start = self.owner_start;
}


/*
 * Visits every staged batch of j->label in key order.  With tbl, each row
 * is put into the table first; every batch is deleted.  0 or an error.
 */
static int
dh_slt_drain(dh_slt_job_t *j, DB_TXN *txn, dh_table_t *tbl)
{
    int        rc, rc2;
    DB        *db;
    DBC       *cur;
    DBT        key, data;
    u_char     kbuf[DH_SLT_LABEL_MAX + 8];

    db = dh_storage_db_handle(dh_slt_data);

    rc = db->cursor(db, txn, &cur, 0);
    if (rc != 0) {
        return rc;
    }

    dh_memcpy(kbuf, j->label.data, j->label.len);
    kbuf[j->label.len] = '\0';

    dh_memzero(&key, sizeof(DBT));
    key.data = kbuf;
    key.size = (u_int32_t) (j->label.len + 1);
    key.ulen = sizeof(kbuf);
    key.flags = DB_DBT_USERMEM;

    dh_memzero(&data, sizeof(DBT));
    data.flags = DB_DBT_REALLOC;

    for (rc = cur->get(cur, &key, &data, DB_SET_RANGE | DB_RMW);
         rc == 0 || rc == DB_BUFFER_SMALL;
         rc = cur->get(cur, &key, &data, DB_NEXT | DB_RMW))
    {
        if (rc == DB_BUFFER_SMALL) {
            /* a longer key than any label makes: not ours */
            rc = DB_NOTFOUND;
            break;
        }

        if (key.size != j->label.len + 1 + 4
            || dh_memcmp(key.data, j->label.data, j->label.len) != 0
            || kbuf[j->label.len] != '\0')
        {
            rc = DB_NOTFOUND;
            break;
        }

        if (tbl != NULL) {
            rc = dh_sl_batch_apply(tbl, txn, data.data, data.size);
            if (rc != 0) {
                break;
            }
        }

        rc = cur->del(cur, 0);
        if (rc != 0) {
            break;
        }
    }

    if (rc == DB_NOTFOUND) {
        rc = 0;
    }

    dh_free(data.data);

    rc2 = cur->close(cur);

    return rc ? rc : rc2;
}


/* Removes the transaction: its staged data, its record and, unless it
 * committed, its hold on the label (an aborted label may be reused). */
static int
dh_slt_remove(dh_slt_job_t *j, DB_TXN *txn, dh_uint_t committed)
{
    int     rc;
    DB     *db;
    DBT     key;
    u_char  kbuf[DH_SLT_LABEL_MAX + 1];

    rc = dh_slt_drain(j, txn, NULL);
    if (rc != 0) {
        return rc;
    }

    db = dh_storage_db_handle(dh_slt_txns);
    dh_slt_txn_key(&key, kbuf, &j->label);

    rc = db->del(db, txn, &key, 0);
    if (rc != 0 && rc != DB_NOTFOUND) {
        return rc;
    }

    if (committed) {
        return 0;
    }

    rc = dh_sl_label_del(txn, &j->rec.db, &j->label);

    return rc == DB_NOTFOUND ? 0 : rc;
}


/* ---- operations */

static int
dh_slt_begin(dh_slt_job_t *j, DB_TXN *txn)
{
    int                 rc;
    int64_t             now;
    dh_sl_label_rec_t   lrec;

    rc = dh_slt_get(j, txn);

    if (rc == 0) {
        dh_slt_set(j, DH_SLT_LABEL_ALREADY_EXISTS, "%s", "");
        j->job_status = "RUNNING";
        return 0;
    }

    if (rc != DB_NOTFOUND) {
        return rc;
    }

    rc = dh_sl_label_get(txn, &j->db, &j->label, &lrec);

    if (rc == 0) {
        dh_slt_set(j, DH_SLT_LABEL_ALREADY_EXISTS,
                   "Label [%.*s] has already been used.",
                   (int) j->label.len, j->label.data);
        j->job_status = dh_sl_label_state_name(lrec.state);
        return 0;
    }

    if (rc != DB_NOTFOUND) {
        return rc;
    }

    dh_memzero(&j->rec, sizeof(dh_slt_rec_t));

    rc = dh_sl_txn_id_next(txn, &j->rec.txn_id);
    if (rc != 0) {
        return rc;
    }

    now = (int64_t) time(NULL);

    j->rec.state = DH_SLT_PREPARE;
    j->rec.begin_sec = now;
    j->rec.last_active_sec = now;
    j->rec.timeout_sec = j->timeout_sec;
    j->rec.idle_timeout_sec = j->idle_timeout_sec;
    j->rec.db = j->db;
    j->rec.table = j->table;

    rc = dh_slt_put(j, txn);
    if (rc != 0) {
        return rc;
    }

    /* the label is taken while the transaction lives, so a plain stream
     * load with it is refused (RUNNING, then PRECOMMITTED once prepared) */
    dh_memzero(&lrec, sizeof(dh_sl_label_rec_t));
    lrec.state = DH_SL_LABEL_TXN;
    lrec.txn_id = j->rec.txn_id;
    lrec.created = now;

    return dh_sl_label_put(txn, &j->db, &j->label, &lrec);
}


/*
 * The common checks of an operation on an existing transaction.  Returns
 * 0 with j->status OK to go on, 0 with an error status set (the work
 * ends, the transaction may have been aborted), or a storage error.
 */
static int
dh_slt_open(dh_slt_job_t *j, DB_TXN *txn)
{
    int  rc;

    rc = dh_slt_get(j, txn);

    if (rc == DB_NOTFOUND) {
        /* the BE spells this one with a capital T on load only */
        dh_slt_set(j, DH_SLT_TXN_NOT_EXISTS, "%s with label %.*s not exists",
                   j->op == DH_SLT_OP_LOAD ? "Transaction" : "transaction",
                   (int) j->label.len, j->label.data);
        return 0;
    }

    if (rc != 0) {
        return rc;
    }

    if (j->op == DH_SLT_OP_LOAD) {
        if (!dh_str_eq(&j->db, &j->rec.db)) {
            dh_slt_set(j, DH_SLT_INVALID_ARGUMENT,
                       "Request database %.*s not equal transaction "
                       "database %.*s", (int) j->db.len, j->db.data,
                       (int) j->rec.db.len, j->rec.db.data);
            return 0;
        }

        if (!dh_str_eq(&j->table, &j->rec.table)) {
            dh_slt_set(j, DH_SLT_INVALID_ARGUMENT,
                       "Request table %.*s not equal transaction "
                       "table %.*s", (int) j->table.len, j->table.data,
                       (int) j->rec.table.len, j->rec.table.data);
            return 0;
        }

    } else if (!dh_str_eq(&j->db, &j->rec.db)) {
        dh_slt_set(j, DH_SLT_INVALID_ARGUMENT,
                   "request db %.*s transaction db %.*s not match",
                   (int) j->db.len, j->db.data,
                   (int) j->rec.db.len, j->rec.db.data);
        return 0;
    }

    if (j->op != DH_SLT_OP_ROLLBACK && dh_slt_in_process(&j->rec)) {
        dh_slt_set(j, DH_SLT_TXN_IN_PROCESSING, "%s",
                   "Transaction is in processing");
        return 0;
    }

    return 0;
}


/* Ends the transaction with an error: the reply says why, the state and
 * staged data go (as the BE rolls back on a failed operation). */
static int
dh_slt_abort(dh_slt_job_t *j, DB_TXN *txn, dh_slt_status_e status,
    const char *msg)
{
    dh_slt_set(j, status, "%s", msg);

    dh_log_error(DH_LOG_INFO, j->job.log, 0,
                 "stream load txn \"%.*s\" %lld aborted: %s",
                 (int) j->label.len, j->label.data,
                 (long long) j->rec.txn_id, msg);

    return dh_slt_remove(j, txn, 0);
}


static int
dh_slt_load(dh_slt_job_t *j, DB_TXN *txn)
{
    int  rc;

    rc = dh_slt_open(j, txn);
    if (rc != 0 || j->status != DH_SLT_OK) {
        return rc;
    }

    if (j->rec.state != DH_SLT_PREPARE) {
        /* the BE drops the context at prepare, so a load finds nothing;
         * here the PREPARED record stays for commit and is named */
        dh_slt_set(j, DH_SLT_INVALID_ARGUMENT,
                   "Transaction with label %.*s is prepared, "
                   "it can not load more data",
                   (int) j->label.len, j->label.data);
        return 0;
    }

    if (j->rec.params.len == 0) {
        j->rec.params = j->params;
        j->rec.max_filter_ratio = j->max_filter_ratio;

    } else if (!dh_str_eq(&j->rec.params, &j->params)) {
        return dh_slt_abort(j, txn, DH_SLT_INTERNAL_ERROR,
                            "load request not equal last.");
    }

    dh_slt_take(&j->rec);
    j->rec.last_active_sec = (int64_t) time(NULL);

    return dh_slt_put(j, txn);
}


/* Checks that the running load still owns the record (a rollback or the
 * timeout checker may have ended the transaction meanwhile). */
static int
dh_slt_owned(dh_slt_job_t *j, DB_TXN *txn)
{
    int  rc;

    rc = dh_slt_get(j, txn);

    if (rc == DB_NOTFOUND || (rc == 0 && j->rec.owner_pid != getpid())) {
        dh_slt_set(j, DH_SLT_ABORTED, "%s",
                   "current transaction is aborted");
        return 0;
    }

    return rc;
}


static int
dh_slt_stage(dh_slt_job_t *j, DB_TXN *txn)
{
    int       rc;
    DB       *db;
    DBT       key, data;
    u_char    kbuf[DH_SLT_LABEL_MAX + 1 + 4];
    uint32_t  seq;

    rc = dh_slt_owned(j, txn);
    if (rc != 0 || j->status != DH_SLT_OK) {
        return rc;
    }

    if (j->batch_len) {
        seq = htonl((uint32_t) j->rec.nbatches);
        dh_memcpy(kbuf, j->label.data, j->label.len);
        kbuf[j->label.len] = '\0';
        dh_memcpy(kbuf + j->label.len + 1, &seq, 4);

        dh_memzero(&key, sizeof(DBT));
        key.data = kbuf;
        key.size = (u_int32_t) (j->label.len + 5);

        dh_memzero(&data, sizeof(DBT));
        data.data = j->batch;
        data.size = (u_int32_t) j->batch_len;

        db = dh_storage_db_handle(dh_slt_data);

        rc = db->put(db, txn, &key, &data, 0);
        if (rc != 0) {
            return rc;
        }

        j->rec.nbatches++;
    }

    j->rec.total_rows += j->add_total;
    j->rec.loaded_rows += j->add_loaded;
    j->rec.filtered_rows += j->add_filtered;
    j->rec.unselected_rows += j->add_unselected;
    j->rec.load_bytes += j->add_bytes;
    j->rec.received_ms += j->add_received_ms;
    j->rec.write_ms += j->add_write_ms;
    j->rec.last_active_sec = (int64_t) time(NULL);

    if (j->last) {
        j->rec.owner_pid = 0;
        j->rec.owner_start = 0;
        j->rec.nloads++;
    }

    return dh_slt_put(j, txn);
}


static int
dh_slt_fail(dh_slt_job_t *j, DB_TXN *txn)
{
    int  rc;

    rc = dh_slt_owned(j, txn);
    if (rc != 0 || j->status != DH_SLT_OK) {
        return rc;
    }

    return dh_slt_abort(j, txn, DH_SLT_ABORTED, "load failed");
}


static dh_uint_t
dh_slt_too_many_filtered(dh_slt_rec_t *rec)
{
    int64_t  rows;

    rows = rec->total_rows - rec->unselected_rows;

    return rows > 0
           && (double) rec->filtered_rows / (double) rows
              > rec->max_filter_ratio;
}


static int
dh_slt_finish(dh_slt_job_t *j, DB_TXN *txn)
{
    int                 rc;
    u_char              msg[DH_SLT_LABEL_MAX + 128], *p;
    dh_table_t         *tbl;
    dh_sl_label_rec_t   lrec;

    rc = dh_slt_open(j, txn);
    if (rc != 0 || j->status != DH_SLT_OK) {
        return rc;
    }

    if (j->rec.nloads == 0) {
        p = dh_slprintf(msg, msg + sizeof(msg) - 1,
                        "transaction id=%lld, label=%.*s "
                        "hasn't send any data yet",
                        (long long) j->rec.txn_id,
                        (int) j->label.len, j->label.data);
        *p = '\0';

        return dh_slt_abort(j, txn, DH_SLT_INTERNAL_ERROR, (char *) msg);
    }

    if (dh_slt_too_many_filtered(&j->rec)) {
        return dh_slt_abort(j, txn, DH_SLT_INTERNAL_ERROR,
                            "too many filtered rows");
    }

    if (j->op == DH_SLT_OP_PREPARE) {
        j->rec.state = DH_SLT_PREPARED;
        j->rec.last_active_sec = (int64_t) time(NULL);
        j->rec.prepared_sec = j->rec.last_active_sec;
        j->rec.prepared_timeout_sec = j->timeout_sec;

        rc = dh_slt_put(j, txn);
        if (rc != 0) {
            return rc;
        }

        dh_memzero(&lrec, sizeof(dh_sl_label_rec_t));
        lrec.state = DH_SL_LABEL_PREPARED;
        lrec.txn_id = j->rec.txn_id;
        lrec.created = j->rec.begin_sec;

        return dh_sl_label_put(txn, &j->rec.db, &j->label, &lrec);
    }

    /* the configuration is read-only after start: safe from a thread */
    tbl = dh_table_find(j->cycle, &j->rec.db, &j->rec.table);

    if (tbl == NULL) {
        return dh_slt_abort(j, txn, DH_SLT_INTERNAL_ERROR,
                            "the table of the transaction is gone");
    }

    rc = dh_slt_drain(j, txn, tbl);
    if (rc != 0) {
        return rc;
    }

    dh_memzero(&lrec, sizeof(dh_sl_label_rec_t));
    lrec.state = DH_SL_LABEL_FINISHED;
    lrec.txn_id = j->rec.txn_id;
    lrec.created = j->rec.begin_sec;
    lrec.finished = (int64_t) time(NULL);

    rc = dh_sl_label_put(txn, &j->rec.db, &j->label, &lrec);
    if (rc != 0) {
        return rc;
    }

    return dh_slt_remove(j, txn, 1);
}


static int
dh_slt_rollback(dh_slt_job_t *j, DB_TXN *txn)
{
    int  rc;

    rc = dh_slt_open(j, txn);
    if (rc != 0 || j->status != DH_SLT_OK) {
        return rc;
    }

    dh_log_error(DH_LOG_INFO, j->job.log, 0,
                 "stream load txn \"%.*s\" %lld: "
                 "transaction is aborted by user.",
                 (int) j->label.len, j->label.data,
                 (long long) j->rec.txn_id);

    return dh_slt_remove(j, txn, 0);
}


/* Appends { u32 len, label, u32 len, record } for every live record. */
static int
dh_slt_list(dh_slt_job_t *j, DB_TXN *txn)
{
    int       rc, rc2;
    DB       *db;
    DBC      *cur;
    DBT       key, data;
    uint32_t  n;
    u_char   *p, kbuf[DH_SLT_LABEL_MAX + 8];

    db = dh_storage_db_handle(dh_slt_txns);

    rc = db->cursor(db, txn, &cur, 0);
    if (rc != 0) {
        return rc;
    }

    kbuf[0] = 'L';

    dh_memzero(&key, sizeof(DBT));
    key.data = kbuf;
    key.size = 1;
    key.ulen = sizeof(kbuf);
    key.flags = DB_DBT_USERMEM;

    dh_memzero(&data, sizeof(DBT));
    data.flags = DB_DBT_REALLOC;

    for (rc = cur->get(cur, &key, &data, DB_SET_RANGE);
         rc == 0;
         rc = cur->get(cur, &key, &data, DB_NEXT))
    {
        if (key.size < 1 || ((u_char *) key.data)[0] != 'L') {
            break;
        }

        rc = dh_slt_reserve(j, j->buf_len + 8 + key.size + data.size);
        if (rc != 0) {
            break;
        }

        p = j->buf + j->buf_len;
        n = key.size - 1;
        p = dh_cpymem(p, &n, 4);
        p = dh_cpymem(p, (u_char *) key.data + 1, n);
        n = data.size;
        p = dh_cpymem(p, &n, 4);
        p = dh_cpymem(p, data.data, n);
        j->buf_len = p - j->buf;
    }

    if (rc == DB_NOTFOUND) {
        rc = 0;
    }

    dh_free(data.data);

    rc2 = cur->close(cur);

    return rc ? rc : rc2;
}


int
dh_slt_work(dh_storage_job_t *job, DB_TXN *txn)
{
    dh_slt_job_t  *j;

    j = job->data;

    j->status = DH_SLT_OK;
    j->msg_len = 0;
    j->job_status = NULL;
    j->buf_len = 0;

    switch (j->op) {

    case DH_SLT_OP_BEGIN:
        return dh_slt_begin(j, txn);

    case DH_SLT_OP_LOAD:
        return dh_slt_load(j, txn);

    case DH_SLT_OP_STAGE:
        return dh_slt_stage(j, txn);

    case DH_SLT_OP_FAIL:
        return dh_slt_fail(j, txn);

    case DH_SLT_OP_PREPARE:
    case DH_SLT_OP_COMMIT:
        return dh_slt_finish(j, txn);

    case DH_SLT_OP_ROLLBACK:
        return dh_slt_rollback(j, txn);

    case DH_SLT_OP_LIST:
        return dh_slt_list(j, txn);
    }

    return EINVAL;
}


/* ---- the timeout checker (storage helper process) */

/* Why the transaction must end now, or NULL. */
static u_char *
dh_slt_expired(dh_slt_rec_t *rec, int64_t now, u_char *buf, size_t size)
{
    u_char  *p;

    if (rec->state == DH_SLT_PREPARED) {
        /* prepared: only prepared_timeout runs (the docs' PREPARED ->
         * COMMITTED limit) */
        if (rec->prepared_timeout_sec > 0
            && now - rec->prepared_sec > rec->prepared_timeout_sec)
        {
            p = dh_slprintf(buf, buf + size - 1,
                            "transaction is aborted by timeout "
                            "%lld seconds.",
                            (long long) rec->prepared_timeout_sec);
            *p = '\0';
            return buf;
        }

        return NULL;
    }

    if (rec->timeout_sec > 0 && now - rec->begin_sec > rec->timeout_sec) {
        p = dh_slprintf(buf, buf + size - 1,
                        "transaction is aborted by timeout %lld seconds.",
                        (long long) rec->timeout_sec);
        *p = '\0';
        return buf;
    }

    /* a load that is still receiving is not idle */
    if (rec->idle_timeout_sec > 0 && !dh_slt_in_process(rec)
        && now - rec->last_active_sec > rec->idle_timeout_sec)
    {
        p = dh_slprintf(buf, buf + size - 1,
                        "transaction is aborted by idle timeout "
                        "%lld seconds.", (long long) rec->idle_timeout_sec);
        *p = '\0';
        return buf;
    }

    return NULL;
}


/*
 * One pass: collects the expired labels with a cursor, then aborts each.
 * The collection is redone on a retry, so it lives in j->buf.
 */
static int
dh_slt_expire_work(dh_storage_job_t *job, DB_TXN *txn)
{
    int            rc;
    u_char        *p, *last, why[128];
    uint32_t       llen, rlen;
    int64_t        now;
    dh_slt_job_t  *j;
    dh_slt_rec_t   rec;

    j = job->data;
    j->buf_len = 0;

    rc = dh_slt_list(j, txn);
    if (rc != 0) {
        return rc;
    }

    now = (int64_t) time(NULL);
    p = j->buf;
    last = j->buf + j->buf_len;

    while (p < last) {
        dh_memcpy(&llen, p, 4);
        j->label.data = p + 4;
        j->label.len = llen;
        p += 4 + llen;
        dh_memcpy(&rlen, p, 4);
        p += 4;

        if (dh_slt_rec_decode(p, rlen, &rec) == DH_OK
            && dh_slt_expired(&rec, now, why, sizeof(why)) != NULL)
        {
            dh_log_error(DH_LOG_NOTICE, job->log, 0,
                         "stream load txn \"%.*s\" %lld: %s",
                         (int) llen, j->label.data,
                         (long long) rec.txn_id, why);

            j->rec = rec;

            rc = dh_slt_remove(j, txn, 0);
            if (rc != 0) {
                return rc;
            }
        }

        p += rlen;
    }

    return 0;
}


static void
dh_slt_timeout_check(dh_cycle_t *cycle, void *data)
{
    dh_slt_job_t  j;

    dh_memzero(&j, sizeof(dh_slt_job_t));

    j.cycle = cycle;
    j.op = DH_SLT_OP_LIST;
    j.job.work = dh_slt_expire_work;
    j.job.data = &j;
    j.job.log = cycle->log;

    (void) dh_storage_run(cycle, &j.job);

    dh_slt_job_free(&j);
}

#endif /* DH_HAVE_BDB */

/*
 * The storage environment (see dh_storage.h for the life cycle).
 *
 * Directives, main level:
 *
 *     storage <dir> [cache=64m] [log_file=32m];
 *                                   default <prefix>/data, only when some
 *                                   module declares a database
 *     storage_sync on|off;          off: DB_TXN_WRITE_NOSYNC group commit
 *     storage_checkpoint <time>;    the helper's checkpoint interval (60s)
 *
 * Sizing.  A stream load commits up to a gigabyte in one transaction, and
 * Berkeley DB keeps a write lock on every page that transaction touched
 * until the commit: the lock table is sized for a few hundred thousand
 * locks and table databases use 16 KiB pages, which both quarters the
 * locks per gigabyte and packs narrow rows densely.
 */

#include "dh_config.h"
#include "dh_core.h"

#if (DH_HAVE_BDB)

#include <dirent.h>
#include <sys/stat.h>

#include "dh_storage.h"


#define DH_STORAGE_CACHE          (64 * 1024 * 1024)
#define DH_STORAGE_CHECKPOINT     60000
#define DH_STORAGE_MAX_ATTEMPTS   100
#define DH_STORAGE_TABLE_PAGESIZE 16384
#define DH_STORAGE_LOCKS          400000
#define DH_STORAGE_LOCKERS        20000
#define DH_STORAGE_TXNS           2000
#define DH_STORAGE_THREADS        2000
#define DH_STORAGE_LOG_BUFFER     (8 * 1024 * 1024)
#define DH_STORAGE_LOG_FILE       (32 * 1024 * 1024)


struct dh_storage_db_s {
    dh_str_t          name;
    u_char           *file;         /* "<name>.db", NUL-terminated */
    dh_uint_t         flags;
    DB               *db;           /* this process' handle */
};


typedef struct {
    dh_str_t                 name;
    dh_msec_t                interval;
    dh_msec_t                next;
    dh_storage_periodic_pt   handler;
    void                    *data;
} dh_storage_periodic_t;


typedef struct {
    dh_storage_cleanup_pt    handler;
    void                    *data;
} dh_storage_cleanup_t;


typedef struct {
    dh_str_t            dir;          /* absolute, NUL-terminated */
    size_t              cache;
    size_t              log_file;     /* log file size */
    dh_flag_t           sync;
    dh_msec_t           checkpoint;
    dh_array_t          dbs;          /* of dh_storage_db_t * */
    dh_array_t          periodics;    /* of dh_storage_periodic_t */
    dh_thread_pool_t   *pool;
    dh_uint_t           enabled;

    DB_ENV             *env;          /* this process' handle */
    dh_array_t         *cleanups;     /* of dh_storage_cleanup_t */

    dh_metric_t        *transactions;
    dh_metric_t        *checkpoints;
    dh_metric_t        *log_bytes;
} dh_storage_conf_t;


static void *dh_storage_create_conf(dh_cycle_t *cycle);
static char *dh_storage_init_conf(dh_cycle_t *cycle, void *conf);
static char *dh_storage(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static dh_int_t dh_storage_init_module(dh_cycle_t *cycle);
static dh_int_t dh_storage_init_process(dh_cycle_t *cycle);
static void dh_storage_exit_process(dh_cycle_t *cycle);
static dh_int_t dh_storage_reserve(dh_conf_t *cf, dh_storage_conf_t *scf);
static DB_ENV *dh_storage_env_open(dh_storage_conf_t *scf, u_int32_t flags,
    dh_log_t *log);
static void dh_storage_env_close(DB_ENV *env, dh_log_t *log);
static dh_int_t dh_storage_db_open(dh_storage_conf_t *scf,
    dh_storage_db_t *sdb, DB_ENV *env, u_int32_t flags, DB **dbp,
    dh_log_t *log);
static dh_int_t dh_storage_open_all(dh_storage_conf_t *scf, DB_ENV *env,
    dh_log_t *log);
static void dh_storage_close_all(dh_cycle_t *cycle, dh_storage_conf_t *scf,
    dh_log_t *log);
static void dh_storage_chown(dh_cycle_t *cycle, dh_storage_conf_t *scf);
static void dh_storage_execute(dh_storage_conf_t *scf,
    dh_storage_job_t *job);
static void dh_storage_task_handler(void *ctx, dh_log_t *log);
static void dh_storage_task_done(dh_thread_task_t *task);
static void dh_storage_count(dh_storage_conf_t *scf, dh_storage_job_t *job);
static void dh_storage_helper(dh_cycle_t *cycle, void *data);
static void dh_storage_child_exited(dh_cycle_t *cycle, dh_pid_t pid,
    int status);


static dh_command_t  dh_storage_commands[] = {

    { dh_string("storage"),
      DH_MAIN_CONF|DH_DIRECT_CONF|DH_CONF_TAKE123,
      dh_storage,
      0,
      0,
      NULL },

    { dh_string("storage_sync"),
      DH_MAIN_CONF|DH_DIRECT_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      0,
      offsetof(dh_storage_conf_t, sync),
      NULL },

    { dh_string("storage_checkpoint"),
      DH_MAIN_CONF|DH_DIRECT_CONF|DH_CONF_TAKE1,
      dh_conf_set_msec_slot,
      0,
      offsetof(dh_storage_conf_t, checkpoint),
      NULL },

      dh_null_command
};


static dh_core_module_t  dh_storage_module_ctx = {
    dh_string("storage"),
    dh_storage_create_conf,
    dh_storage_init_conf
};


dh_module_t  dh_storage_module = {
    DH_MODULE_V1,
    &dh_storage_module_ctx,                /* module context */
    dh_storage_commands,                   /* module directives */
    DH_CORE_MODULE,                        /* module type */
    dh_storage_init_module,                /* init module */
    dh_storage_init_process,               /* init process */
    dh_storage_exit_process,               /* exit process */
    NULL,                                  /* exit master */
    DH_MODULE_V1_PADDING
};


/* the directory the master recovered, kept across reloads: recovery
 * must never run while children of an older cycle use the environment */
static u_char    *dh_storage_recovered;
static dh_log_t  *dh_storage_log;


/* ---- configuration ----------------------------------------------------- */


static dh_storage_conf_t *
dh_storage_conf(dh_cycle_t *cycle)
{
    if (cycle == NULL || cycle->conf_ctx == NULL
        || dh_storage_module.index == DH_MODULE_UNSET_INDEX)
    {
        return NULL;
    }

    return (dh_storage_conf_t *) dh_get_conf(cycle->conf_ctx,
                                             dh_storage_module);
}


static void *
dh_storage_create_conf(dh_cycle_t *cycle)
{
    dh_storage_conf_t  *scf;

    scf = dh_pcalloc(cycle->pool, sizeof(dh_storage_conf_t));
    if (scf == NULL) {
        return NULL;
    }

    scf->cache = DH_CONF_UNSET_SIZE;
    scf->log_file = DH_CONF_UNSET_SIZE;
    scf->sync = DH_CONF_UNSET;
    scf->checkpoint = DH_CONF_UNSET_MSEC;

    if (dh_array_init(&scf->dbs, cycle->pool, 8, sizeof(dh_storage_db_t *))
        != DH_OK
        || dh_array_init(&scf->periodics, cycle->pool, 2,
                         sizeof(dh_storage_periodic_t))
           != DH_OK)
    {
        return NULL;
    }

    return scf;
}


/* "name=size" of the storage directive: DH_DECLINED when arg is not
 * name=, DH_ERROR when the size is bad or under min. */
static dh_int_t
dh_storage_size_param(dh_conf_t *cf, dh_str_t *arg, const char *name,
    ssize_t min, size_t *out)
{
    size_t    len;
    ssize_t   size;
    dh_str_t  s;

    len = strlen(name);

    if (arg->len <= len || dh_strncmp(arg->data, name, len) != 0) {
        return DH_DECLINED;
    }

    s.data = arg->data + len;
    s.len = arg->len - len;
    size = dh_parse_size(&s);

    if (size == DH_ERROR || size < min) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "invalid size \"%.*s\" (at least %ldk)",
                          DH_STR_FMT(*arg), (long) (min / 1024));
        return DH_ERROR;
    }

    *out = (size_t) size;

    return DH_OK;
}


static char *
dh_storage(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_storage_conf_t *scf = conf;

    dh_int_t    rc;
    dh_str_t   *value;
    dh_uint_t   i;

    if (scf->dir.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    scf->dir = value[1];

    if (dh_conf_full_name(cf->cycle, &scf->dir, 0) != DH_OK) {
        return DH_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        rc = dh_storage_size_param(cf, &value[i], "cache=", 1024 * 1024,
                                   &scf->cache);

        if (rc == DH_DECLINED) {
            rc = dh_storage_size_param(cf, &value[i], "log_file=",
                                       256 * 1024, &scf->log_file);
        }

        if (rc == DH_ERROR) {
            return DH_CONF_ERROR;
        }

        if (rc == DH_DECLINED) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "invalid parameter \"%.*s\"",
                              DH_STR_FMT(value[i]));
            return DH_CONF_ERROR;
        }
    }

    if (dh_storage_reserve(cf, scf) != DH_OK) {
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


/* Storage is in use: the workers need the thread pool the jobs run on.
 * It must be asked for while the configuration is parsed. */
static dh_int_t
dh_storage_reserve(dh_conf_t *cf, dh_storage_conf_t *scf)
{
    if (scf->pool == NULL) {
        scf->pool = dh_thread_pool_get(cf->cycle, NULL);
        if (scf->pool == NULL) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "storage: no thread pool");
            return DH_ERROR;
        }
    }

    scf->enabled = 1;

    return DH_OK;
}


static char *
dh_storage_init_conf(dh_cycle_t *cycle, void *conf)
{
    dh_storage_conf_t *scf = conf;

    dh_helper_t        helper;

    static dh_str_t    data = dh_string("data");

    dh_conf_init_size_value(scf->cache, DH_STORAGE_CACHE);
    dh_conf_init_size_value(scf->log_file, DH_STORAGE_LOG_FILE);
    dh_conf_init_value(scf->sync, 1);
    dh_conf_init_msec_value(scf->checkpoint, DH_STORAGE_CHECKPOINT);

    if (scf->checkpoint == 0) {
        dh_log_error(DH_LOG_EMERG, cycle->log, 0,
                     "\"storage_checkpoint\" must be more than 0");
        return DH_CONF_ERROR;
    }

    if (!scf->enabled) {
        return DH_CONF_OK;
    }

    if (scf->dir.data == NULL) {
        scf->dir = data;
        if (dh_conf_full_name(cycle, &scf->dir, 0) != DH_OK) {
            return DH_CONF_ERROR;
        }
    }

    helper.name.data = (u_char *) "storage";
    helper.name.len = sizeof("storage") - 1;
    helper.proc = dh_storage_helper;
    helper.data = NULL;

    if (dh_register_helper(cycle, &helper) != DH_OK) {
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


dh_storage_db_t *
dh_storage_add_db(dh_conf_t *cf, dh_str_t *name, dh_uint_t flags)
{
    u_char              *p;
    dh_uint_t            i;
    dh_storage_db_t     *sdb, **dbs;
    dh_storage_conf_t   *scf;

    scf = dh_storage_conf(cf->cycle);
    if (scf == NULL) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "storage is not available");
        return NULL;
    }

    dbs = scf->dbs.elts;

    for (i = 0; i < scf->dbs.nelts; i++) {
        if (!dh_str_eq(&dbs[i]->name, name)) {
            continue;
        }

        if (dbs[i]->flags != flags) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "storage database \"%.*s\" declared twice "
                              "with different flags", DH_STR_FMT(*name));
            return NULL;
        }

        return dbs[i];
    }

    if (dh_storage_reserve(cf, scf) != DH_OK) {
        return NULL;
    }

    sdb = dh_pcalloc(cf->pool, sizeof(dh_storage_db_t));
    if (sdb == NULL) {
        return NULL;
    }

    sdb->name.data = dh_pstrdup(cf->pool, name);
    sdb->file = dh_pnalloc(cf->pool, name->len + sizeof(".db"));
    if (sdb->name.data == NULL || sdb->file == NULL) {
        return NULL;
    }

    sdb->name.len = name->len;
    sdb->flags = flags;

    p = dh_cpymem(sdb->file, name->data, name->len);
    dh_memcpy(p, ".db", sizeof(".db"));

    dbs = dh_array_push(&scf->dbs);
    if (dbs == NULL) {
        return NULL;
    }

    *dbs = sdb;

    /* metrics are absent from some builds (unit tests) */
    if (scf->transactions == NULL
        && dh_metrics_module.index != DH_MODULE_UNSET_INDEX)
    {
        const char  *labels[] = { "result" };

        scf->transactions = dh_metrics_add(cf, "storage_transactions_total",
                                "Storage transactions by result",
                                "", DH_METRIC_COUNTER, labels, 1, NULL, 0,
                                4);
        scf->checkpoints = dh_metrics_add(cf, "storage_checkpoints_total",
                                "Storage checkpoints taken by the helper",
                                "", DH_METRIC_COUNTER, NULL, 0, NULL, 0, 1);
        scf->log_bytes = dh_metrics_add(cf, "storage_log_bytes",
                                "Bytes of storage log files kept on disk",
                                "bytes", DH_METRIC_GAUGE, NULL, 0, NULL, 0,
                                1);
    }

    return sdb;
}


dh_int_t
dh_storage_add_periodic(dh_conf_t *cf, dh_str_t *name, dh_msec_t interval,
    dh_storage_periodic_pt handler, void *data)
{
    dh_storage_conf_t      *scf;
    dh_storage_periodic_t  *sp;

    scf = dh_storage_conf(cf->cycle);
    if (scf == NULL || dh_storage_reserve(cf, scf) != DH_OK) {
        return DH_ERROR;
    }

    sp = dh_array_push(&scf->periodics);
    if (sp == NULL) {
        return DH_ERROR;
    }

    sp->name = *name;
    sp->interval = interval ? interval : 1000;
    sp->next = 0;
    sp->handler = handler;
    sp->data = data;

    return DH_OK;
}


/* ---- queries ----------------------------------------------------------- */


DB *
dh_storage_db_handle(dh_storage_db_t *db)
{
    return db ? db->db : NULL;
}


DB_ENV *
dh_storage_env(dh_cycle_t *cycle)
{
    dh_storage_conf_t  *scf;

    scf = dh_storage_conf(cycle);

    return scf ? scf->env : NULL;
}


dh_uint_t
dh_storage_enabled(dh_cycle_t *cycle)
{
    dh_storage_conf_t  *scf;

    scf = dh_storage_conf(cycle);

    return scf ? scf->enabled : 0;
}


const char *
dh_storage_strerror(int err)
{
    if (err == DH_STORAGE_ABORT) {
        return "aborted by the request";
    }

    return db_strerror(err);
}


/* ---- environment ------------------------------------------------------- */


static void
dh_storage_errcall(const DB_ENV *env, const char *prefix, const char *msg)
{
    if (dh_storage_log) {
        dh_log_error(DH_LOG_ERR, dh_storage_log, 0, "storage: %s", msg);
    }
}


/* Informational output (what failchk freed, recovery progress). */
static void
dh_storage_msgcall(const DB_ENV *env, const char *msg)
{
    if (dh_storage_log) {
        dh_log_error(DH_LOG_INFO, dh_storage_log, 0, "storage: %s", msg);
    }
}


/* The master decides which dead process held what: a pid is alive when
 * kill(pid, 0) finds it.  Threads of a live process are alive. */
static int
dh_storage_isalive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
    if (pid == getpid()) {
        return 1;
    }

    return kill(pid, 0) == 0 || errno == EPERM;
}


static DB_ENV *
dh_storage_env_open(dh_storage_conf_t *scf, u_int32_t flags, dh_log_t *log)
{
    int      err;
    DB_ENV  *env;

    dh_storage_log = log;

    err = db_env_create(&env, 0);
    if (err != 0) {
        dh_log_error(DH_LOG_EMERG, log, 0, "db_env_create() failed: %s",
                     dh_storage_strerror(err));
        return NULL;
    }

    env->set_errcall(env, dh_storage_errcall);
    env->set_msgcall(env, dh_storage_msgcall);

    /* sizes only matter to the process that creates the regions */
    if ((err = env->set_cachesize(env, 0, (u_int32_t) scf->cache, 1)) != 0
        || (err = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0
        || (err = env->set_lk_max_locks(env, DH_STORAGE_LOCKS)) != 0
        || (err = env->set_lk_max_objects(env, DH_STORAGE_LOCKS)) != 0
        || (err = env->set_lk_max_lockers(env, DH_STORAGE_LOCKERS)) != 0
        || (err = env->set_tx_max(env, DH_STORAGE_TXNS)) != 0
        || (err = env->set_lg_bsize(env, dh_min(DH_STORAGE_LOG_BUFFER,
                                                scf->log_file / 4))) != 0
        || (err = env->set_lg_max(env, (u_int32_t) scf->log_file)) != 0
        || (err = env->set_thread_count(env, DH_STORAGE_THREADS)) != 0
        || (err = env->set_isalive(env, dh_storage_isalive)) != 0
        || (err = env->set_flags(env, DB_TXN_WRITE_NOSYNC, !scf->sync)) != 0)
    {
        dh_log_error(DH_LOG_EMERG, log, 0,
                     "storage \"%s\": setting up the environment failed: %s",
                     scf->dir.data, dh_storage_strerror(err));
        (void) env->close(env, 0);
        return NULL;
    }

    err = env->open(env, (char *) scf->dir.data,
                    flags|DB_CREATE|DB_INIT_LOCK|DB_INIT_LOG|DB_INIT_MPOOL
                    |DB_INIT_TXN, 0600);

    if (err != 0) {
        dh_log_error(DH_LOG_EMERG, log, 0,
                     "storage \"%s\": DB_ENV->open() failed: %s",
                     scf->dir.data, dh_storage_strerror(err));
        (void) env->close(env, 0);
        return NULL;
    }

    return env;
}


static void
dh_storage_env_close(DB_ENV *env, dh_log_t *log)
{
    int  err;

    err = env->close(env, 0);
    if (err != 0) {
        dh_log_error(DH_LOG_ALERT, log, 0, "DB_ENV->close() failed: %s",
                     dh_storage_strerror(err));
    }
}


static dh_int_t
dh_storage_db_open(dh_storage_conf_t *scf, dh_storage_db_t *sdb,
    DB_ENV *env, u_int32_t flags, DB **dbp, dh_log_t *log)
{
    DB   *db;
    int   err;

    err = db_create(&db, env, 0);
    if (err != 0) {
        dh_log_error(DH_LOG_EMERG, log, 0, "db_create(%s) failed: %s",
                     sdb->file, dh_storage_strerror(err));
        return DH_ERROR;
    }

    if (sdb->flags & DH_STORAGE_DB_DUP) {
        err = db->set_flags(db, DB_DUPSORT);
    }

    if (err == 0 && dh_strncmp(sdb->name.data, "table.", 6) == 0) {
        err = db->set_pagesize(db, DH_STORAGE_TABLE_PAGESIZE);
    }

    if (err == 0) {
        err = db->open(db, NULL, (char *) sdb->file, NULL, DB_BTREE,
                       flags|DB_CREATE|DB_AUTO_COMMIT, 0600);
    }

    if (err != 0) {
        dh_log_error(DH_LOG_EMERG, log, 0,
                     "storage \"%s\": opening database \"%s\" failed: %s",
                     scf->dir.data, sdb->file, dh_storage_strerror(err));
        (void) db->close(db, 0);
        return DH_ERROR;
    }

    *dbp = db;

    return DH_OK;
}


static dh_int_t
dh_storage_open_all(dh_storage_conf_t *scf, DB_ENV *env, dh_log_t *log)
{
    dh_uint_t          i;
    dh_storage_db_t  **dbs;

    dbs = scf->dbs.elts;

    for (i = 0; i < scf->dbs.nelts; i++) {
        if (dh_storage_db_open(scf, dbs[i], env, DB_THREAD, &dbs[i]->db, log)
            != DH_OK)
        {
            return DH_ERROR;
        }
    }

    return DH_OK;
}


dh_int_t
dh_storage_add_cleanup(dh_cycle_t *cycle, dh_storage_cleanup_pt handler,
    void *data)
{
    dh_storage_conf_t     *scf;
    dh_storage_cleanup_t  *c;

    scf = dh_storage_conf(cycle);
    if (scf == NULL || scf->env == NULL) {
        return DH_ERROR;
    }

    if (scf->cleanups == NULL) {
        scf->cleanups = dh_array_create(cycle->pool, 4,
                                        sizeof(dh_storage_cleanup_t));
        if (scf->cleanups == NULL) {
            return DH_ERROR;
        }
    }

    c = dh_array_push(scf->cleanups);
    if (c == NULL) {
        return DH_ERROR;
    }

    c->handler = handler;
    c->data = data;

    return DH_OK;
}


static void
dh_storage_close_all(dh_cycle_t *cycle, dh_storage_conf_t *scf,
    dh_log_t *log)
{
    int                    err;
    dh_uint_t              i;
    dh_storage_db_t      **dbs;
    dh_storage_cleanup_t  *c;

    if (scf->cleanups) {
        c = scf->cleanups->elts;

        for (i = 0; i < scf->cleanups->nelts; i++) {
            c[i].handler(cycle, c[i].data);
        }

        scf->cleanups = NULL;
    }

    dbs = scf->dbs.elts;

    for (i = 0; i < scf->dbs.nelts; i++) {
        if (dbs[i]->db == NULL) {
            continue;
        }

        err = dbs[i]->db->close(dbs[i]->db, 0);
        if (err != 0) {
            dh_log_error(DH_LOG_ALERT, log, 0, "DB->close(%s) failed: %s",
                         dbs[i]->file, dh_storage_strerror(err));
        }

        dbs[i]->db = NULL;
    }

    if (scf->env) {
        dh_storage_env_close(scf->env, log);
        scf->env = NULL;
    }
}


/* ---- master ------------------------------------------------------------ */


static dh_int_t
dh_storage_init_module(dh_cycle_t *cycle)
{
    DB                 *db;
    DB_ENV             *env;
    u_int32_t           flags;
    dh_uint_t           i;
    dh_storage_db_t   **dbs;
    dh_core_conf_t     *ccf;
    dh_storage_conf_t  *scf;

    scf = dh_storage_conf(cycle);

    /* -t opens nothing: it runs beside a live server */
    if (scf == NULL || !scf->enabled || dh_test_config) {
        return DH_OK;
    }

    ccf = (dh_core_conf_t *) dh_get_conf(cycle->conf_ctx, dh_core_module);

    if (dh_create_full_path(scf->dir.data, 0700) != DH_OK) {
        dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                     "storage: could not create directory \"%s\"",
                     scf->dir.data);
        return DH_ERROR;
    }

    if (geteuid() == 0 && ccf->user != (uid_t) DH_CONF_UNSET_UINT
        && chown((char *) scf->dir.data, ccf->user, (gid_t) -1) == -1)
    {
        dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                     "storage: chown(\"%s\") failed", scf->dir.data);
        return DH_ERROR;
    }

    flags = 0;

    if (dh_storage_recovered == NULL
        || dh_strcmp(dh_storage_recovered, scf->dir.data) != 0)
    {
        flags = DB_RECOVER;
    }

    env = dh_storage_env_open(scf, flags, cycle->log);
    if (env == NULL) {
        return DH_ERROR;
    }

    /* create every database here, once, so that children only open */
    dbs = scf->dbs.elts;

    for (i = 0; i < scf->dbs.nelts; i++) {
        if (dh_storage_db_open(scf, dbs[i], env, 0, &db, cycle->log)
            != DH_OK)
        {
            dh_storage_env_close(env, cycle->log);
            return DH_ERROR;
        }

        (void) db->close(db, 0);
    }

    dh_storage_env_close(env, cycle->log);

    dh_storage_chown(cycle, scf);

    if (flags & DB_RECOVER) {
        dh_log_error(DH_LOG_NOTICE, cycle->log, 0,
                     "storage \"%s\" recovered", scf->dir.data);

        free(dh_storage_recovered);
        dh_storage_recovered = (u_char *) strdup((char *) scf->dir.data);
    }

    dh_child_exited_hook = dh_storage_child_exited;

    return DH_OK;
}


/* Files the master created (regions, logs, databases) must be usable by
 * the workers' user. */
static void
dh_storage_chown(dh_cycle_t *cycle, dh_storage_conf_t *scf)
{
    DIR             *dir;
    u_char           path[PATH_MAX];
    struct dirent   *de;
    dh_core_conf_t  *ccf;

    ccf = (dh_core_conf_t *) dh_get_conf(cycle->conf_ctx, dh_core_module);

    if (geteuid() != 0 || ccf->user == (uid_t) DH_CONF_UNSET_UINT) {
        return;
    }

    dir = opendir((char *) scf->dir.data);
    if (dir == NULL) {
        return;
    }

    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }

        *dh_slprintf(path, path + sizeof(path) - 1, "%s/%s", scf->dir.data,
                     de->d_name) = '\0';

        if (chown((char *) path, ccf->user, (gid_t) -1) == -1) {
            dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                         "storage: chown(\"%s\") failed", path);
        }
    }

    (void) closedir(dir);
}


/* A child that died abnormally may have held locks or been inside a
 * transaction: failchk releases what dead processes held and aborts their
 * transactions.  DB_RUNRECOVERY means a dead process was inside the
 * shared regions; only a restart of the whole server recovers that. */
static void
dh_storage_child_exited(dh_cycle_t *cycle, dh_pid_t pid, int status)
{
    int                 err;
    DB_ENV             *env;
    dh_storage_conf_t  *scf;

    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return;
    }

    scf = dh_storage_conf(cycle);
    if (scf == NULL || !scf->enabled) {
        return;
    }

    env = dh_storage_env_open(scf, 0, cycle->log);
    if (env == NULL) {
        return;
    }

    err = env->failchk(env, 0);

    if (err == DB_RUNRECOVERY) {
        dh_log_error(DH_LOG_ALERT, cycle->log, 0,
                     "storage \"%s\": process %d died inside the "
                     "environment; it needs recovery: restart divehttpd",
                     scf->dir.data, (int) pid);

    } else if (err != 0) {
        dh_log_error(DH_LOG_ALERT, cycle->log, 0,
                     "storage \"%s\": DB_ENV->failchk() failed: %s",
                     scf->dir.data, dh_storage_strerror(err));

    } else {
        dh_log_error(DH_LOG_NOTICE, cycle->log, 0,
                     "storage \"%s\": released what process %d held",
                     scf->dir.data, (int) pid);
    }

    dh_storage_env_close(env, cycle->log);
    dh_storage_chown(cycle, scf);
}


/* ---- children ---------------------------------------------------------- */


static dh_int_t
dh_storage_init_process(dh_cycle_t *cycle)
{
    dh_storage_conf_t  *scf;

    scf = dh_storage_conf(cycle);

    if (scf == NULL || !scf->enabled) {
        return DH_OK;
    }

    scf->env = dh_storage_env_open(scf, DB_THREAD, cycle->log);
    if (scf->env == NULL) {
        return DH_ERROR;
    }

    if (dh_storage_open_all(scf, scf->env, cycle->log) != DH_OK) {
        dh_storage_close_all(cycle, scf, cycle->log);
        return DH_ERROR;
    }

    return DH_OK;
}


static void
dh_storage_exit_process(dh_cycle_t *cycle)
{
    dh_storage_conf_t  *scf;

    scf = dh_storage_conf(cycle);

    if (scf == NULL || scf->env == NULL) {
        return;
    }

    /* the thread pool stopped before: no job holds a handle any more */
    dh_storage_close_all(cycle, scf, cycle->log);
}


/* ---- jobs ---------------------------------------------------------------- */


static void
dh_storage_execute(dh_storage_conf_t *scf, dh_storage_job_t *job)
{
    int        err;
    DB_TXN    *txn;
    u_int32_t  flags;

    job->attempts = 0;

    for ( ;; ) {
        job->attempts++;
        txn = NULL;

        if (!(job->flags & DH_STORAGE_JOB_READONLY)) {
            flags = (job->flags & DH_STORAGE_JOB_NOSYNC) ? DB_TXN_NOSYNC : 0;

            err = scf->env->txn_begin(scf->env, NULL, &txn, flags);
            if (err != 0) {
                break;
            }
        }

        err = job->work(job, txn);

        if (txn != NULL) {
            if (err == 0) {
                err = txn->commit(txn, 0);

            } else {
                (void) txn->abort(txn);
            }
        }

        if ((err != DB_LOCK_DEADLOCK && err != DB_LOCK_NOTGRANTED)
            || job->attempts >= DH_STORAGE_MAX_ATTEMPTS)
        {
            break;
        }

        /* let the winner of the deadlock finish before trying again */
        usleep((useconds_t) (job->attempts < 10 ? job->attempts : 10) * 1000);
    }

    job->err = err;

    if (err != 0 && err != DH_STORAGE_ABORT && job->log) {
        dh_log_error(DH_LOG_ERR, job->log, 0,
                     "storage job failed after %lu attempt(s): %s",
                     (unsigned long) job->attempts,
                     dh_storage_strerror(err));
    }
}


/* Counted by the thread that owns the metrics slot (the event loop or
 * the helper): a slot has one writer. */
static void
dh_storage_count(dh_storage_conf_t *scf, dh_storage_job_t *job)
{
    dh_str_t  v;

    if (scf->transactions == NULL || (job->flags & DH_STORAGE_JOB_READONLY))
    {
        return;
    }

    if (job->attempts > 1) {
        dh_str_set(&v, "deadlock_retry");
        dh_metrics_add_value(scf->transactions,
                             dh_metrics_series(scf->transactions, &v),
                             (int64_t) job->attempts - 1);
    }

    if (job->err == 0) {
        dh_str_set(&v, "commit");

    } else {
        dh_str_set(&v, "abort");
    }

    dh_metrics_add_value(scf->transactions,
                         dh_metrics_series(scf->transactions, &v), 1);
}


dh_int_t
dh_storage_run(dh_cycle_t *cycle, dh_storage_job_t *job)
{
    dh_storage_conf_t  *scf;

    scf = dh_storage_conf(cycle);

    job->cycle = cycle;

    if (scf == NULL || scf->env == NULL) {
        job->err = EINVAL;
        job->attempts = 0;
        if (job->log) {
            dh_log_error(DH_LOG_ERR, job->log, 0, "storage is not open");
        }
        return DH_ERROR;
    }

    dh_storage_execute(scf, job);
    dh_storage_count(scf, job);

    if (job->done) {
        job->done(job);
    }

    return job->err == 0 ? DH_OK : DH_ERROR;
}


static void
dh_storage_task_handler(void *ctx, dh_log_t *log)
{
    dh_storage_job_t  *job;

    job = *(dh_storage_job_t **) ctx;

    dh_storage_execute(dh_storage_conf(job->cycle), job);
}


static void
dh_storage_task_done(dh_thread_task_t *task)
{
    dh_storage_job_t  *job;

    job = task->done_data;

    dh_storage_count(dh_storage_conf(job->cycle), job);

    if (job->done) {
        job->done(job);
    }
}


dh_int_t
dh_storage_post(dh_cycle_t *cycle, dh_pool_t *pool, dh_storage_job_t *job)
{
    dh_thread_task_t   *task;
    dh_storage_conf_t  *scf;

    scf = dh_storage_conf(cycle);

    if (scf == NULL || scf->env == NULL || scf->pool == NULL) {
        dh_log_error(DH_LOG_ERR, job->log ? job->log : cycle->log, 0,
                     "storage is not open");
        return DH_ERROR;
    }

    task = dh_thread_task_alloc(pool, sizeof(dh_storage_job_t *));
    if (task == NULL) {
        return DH_ERROR;
    }

    *(dh_storage_job_t **) task->ctx = job;
    task->handler = dh_storage_task_handler;
    task->done = dh_storage_task_done;
    task->done_data = job;

    job->cycle = cycle;
    job->task = task;
    job->err = 0;
    job->attempts = 0;

    if (dh_thread_task_post(scf->pool, task) != DH_OK) {
        dh_log_error(DH_LOG_ERR, job->log ? job->log : cycle->log, 0,
                     "storage: thread pool \"%.*s\" queue is full",
                     DH_STR_FMT(scf->pool->name));
        return DH_ERROR;
    }

    return DH_OK;
}


/* ---- the storage helper ------------------------------------------------- */


static void
dh_storage_log_size(dh_storage_conf_t *scf)
{
    char          **list, **p;
    int64_t         total;
    u_char          path[PATH_MAX];
    struct stat     st;

    if (scf->env->log_archive(scf->env, &list, DB_ARCH_LOG|DB_ARCH_ABS)
        != 0)
    {
        return;
    }

    total = 0;

    for (p = list; p && *p; p++) {
        *dh_slprintf(path, path + sizeof(path) - 1, "%s", *p) = '\0';
        if (stat((char *) path, &st) == 0) {
            total += st.st_size;
        }
    }

    free(list);

    if (scf->log_bytes && dh_metrics_row) {
        dh_metrics_row[scf->log_bytes->base] = (uint64_t) total;
    }
}


static void
dh_storage_checkpoint(dh_storage_conf_t *scf, dh_log_t *log)
{
    int     err;
    char  **list;

    /* forced: Berkeley DB skips a checkpoint when nothing was logged
     * since the last one, and a checkpoint taken while a load was running
     * would keep that load's log files pinned until the next write */
    err = scf->env->txn_checkpoint(scf->env, 0, 0, DB_FORCE);
    if (err != 0) {
        dh_log_error(DH_LOG_ERR, log, 0,
                     "storage \"%s\": checkpoint failed: %s",
                     scf->dir.data, dh_storage_strerror(err));
        return;
    }

    dh_metrics_inc(scf->checkpoints, 1);

    list = NULL;
    err = scf->env->log_archive(scf->env, &list, DB_ARCH_REMOVE);
    if (err != 0) {
        dh_log_error(DH_LOG_ERR, log, 0,
                     "storage \"%s\": removing old log files failed: %s",
                     scf->dir.data, dh_storage_strerror(err));
    }

    free(list);

    dh_storage_log_size(scf);
}


static void
dh_storage_helper(dh_cycle_t *cycle, void *data)
{
    dh_uint_t               i;
    dh_msec_t               next_checkpoint;
    dh_storage_conf_t      *scf;
    dh_storage_periodic_t  *sp;

    scf = dh_storage_conf(cycle);

    /* helpers skip the modules' init_process: claim a metrics row for
     * the checkpoint counter, then open the environment */
    if (dh_metrics_module.init_process
        && dh_metrics_module.init_process(cycle) != DH_OK)
    {
        return;
    }

    if (dh_storage_init_process(cycle) != DH_OK) {
        return;
    }

    dh_time_update();
    next_checkpoint = dh_current_msec + scf->checkpoint;
    sp = scf->periodics.elts;

    while (!dh_quit && !dh_terminate) {
        dh_time_update();

        if ((dh_msec_int_t) (dh_current_msec - next_checkpoint) >= 0) {
            dh_storage_checkpoint(scf, cycle->log);
            next_checkpoint = dh_current_msec + scf->checkpoint;
        }

        for (i = 0; i < scf->periodics.nelts; i++) {
            if (sp[i].next == 0
                || (dh_msec_int_t) (dh_current_msec - sp[i].next) >= 0)
            {
                sp[i].handler(cycle, sp[i].data);
                dh_time_update();
                sp[i].next = dh_current_msec + sp[i].interval;
            }
        }

        /* a signal cuts the sleep short */
        (void) usleep(100 * 1000);
    }

    /* a last checkpoint shortens the next start's recovery */
    dh_storage_checkpoint(scf, cycle->log);

    dh_storage_close_all(cycle, scf, cycle->log);

    if (dh_metrics_module.exit_process) {
        dh_metrics_module.exit_process(cycle);
    }
}

#endif /* DH_HAVE_BDB */

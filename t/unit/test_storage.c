/*
 * The storage environment with a real Berkeley DB environment in a
 * temporary directory: the conf directives and table blocks, the
 * master's create/recover step, a child's open, jobs run inline with
 * dh_storage_run() (commit, abort, DH_STORAGE_ABORT), keyed upserts and
 * append tables, reopening after a "restart", and the deadlock retry with
 * two threads that take two rows in opposite order.
 */

#include "dh_config.h"
#include "dh_core.h"

#include "t/unit/dh_tap.h"

#if (DH_HAVE_BDB && DH_HAVE_CJSON)

#include <pthread.h>

#include "dh_table.h"


dh_module_t  *dh_modules[] = {
    &dh_core_module,
    &dh_errlog_module,
    &dh_conf_module,
    &dh_thread_pool_module,
    &dh_storage_module,
    &dh_table_module,
    NULL
};

char  *dh_module_names[] = {
    "dh_core_module",
    "dh_errlog_module",
    "dh_conf_module",
    "dh_thread_pool_module",
    "dh_storage_module",
    "dh_table_module",
    NULL
};


static char             tmpdir[64];
static dh_open_file_t   test_log_file;
static dh_log_t         test_log;


static void
write_file(const char *name, const char *text)
{
    char   path[256];
    FILE  *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }

    fputs(text, f);
    fclose(f);
}


static char *
log_take(void)
{
    static char  buf[65536];
    ssize_t      n;

    n = pread(test_log_file.fd, buf, sizeof(buf) - 1, 0);
    buf[n < 0 ? 0 : n] = '\0';

    if (ftruncate(test_log_file.fd, 0) == -1) {
        exit(2);
    }

    return buf;
}


/* A cycle parsed from `text` with init_conf run; NULL on a conf error. */
static dh_cycle_t *
configure(const char *text)
{
    char              *rv;
    char               path[256];
    dh_str_t           file;
    dh_uint_t          i;
    dh_conf_t          cf;
    dh_pool_t         *pool;
    dh_cycle_t        *c;
    dh_core_module_t  *mctx;

    pool = dh_create_pool(DH_CYCLE_POOL_SIZE, &test_log);
    c = dh_pcalloc(pool, sizeof(dh_cycle_t));
    c->pool = pool;
    c->log = &test_log;

    if (dh_list_init(&c->open_files, pool, 4, sizeof(dh_open_file_t))
        != DH_OK
        || dh_list_init(&c->shared_memory, pool, 4, sizeof(dh_shm_zone_t))
           != DH_OK)
    {
        exit(2);
    }

    c->conf_ctx = dh_pcalloc(pool, dh_max_module * sizeof(void *));

    if (dh_cycle_modules(c) != DH_OK) {
        exit(2);
    }

    c->prefix.len = strlen(tmpdir) + 1;
    c->prefix.data = dh_pnalloc(pool, c->prefix.len + 1);
    snprintf((char *) c->prefix.data, c->prefix.len + 1, "%s/", tmpdir);
    c->conf_prefix = c->prefix;

    for (i = 0; c->modules[i]; i++) {
        mctx = c->modules[i]->ctx;
        if (c->modules[i]->type == DH_CORE_MODULE && mctx->create_conf) {
            c->conf_ctx[c->modules[i]->index] = mctx->create_conf(c);
        }
    }

    write_file("test.conf", text);
    snprintf(path, sizeof(path), "%s/test.conf", tmpdir);

    dh_memzero(&cf, sizeof(dh_conf_t));
    cf.args = dh_array_create(pool, 10, sizeof(dh_str_t));
    cf.temp_pool = pool;
    cf.cycle = c;
    cf.pool = pool;
    cf.log = &test_log;
    cf.ctx = c->conf_ctx;
    cf.module_type = DH_CORE_MODULE;
    cf.cmd_type = DH_MAIN_CONF;

    file.len = strlen(path);
    file.data = (u_char *) path;

    rv = dh_conf_parse(&cf, &file);

    for (i = 0; rv == DH_CONF_OK && c->modules[i]; i++) {
        mctx = c->modules[i]->ctx;
        if (c->modules[i]->type == DH_CORE_MODULE && mctx->init_conf) {
            rv = mctx->init_conf(c, c->conf_ctx[c->modules[i]->index]);
        }
    }

    if (rv != DH_CONF_OK) {
        dh_destroy_pool(pool);
        return NULL;
    }

    return c;
}


/* What the master and then a child do. */
static dh_int_t
open_storage(dh_cycle_t *c)
{
    if (dh_storage_module.init_module(c) != DH_OK
        || dh_storage_module.init_process(c) != DH_OK
        || dh_table_module.init_process(c) != DH_OK)
    {
        return DH_ERROR;
    }

    return DH_OK;
}


static void
close_storage(dh_cycle_t *c)
{
    dh_storage_module.exit_process(c);
    dh_destroy_pool(c->pool);
}


static void
conf_error(const char *text, const char *msg, const char *what)
{
    dh_cycle_t  *c;
    char        *log;

    (void) log_take();

    c = configure(text);
    ok(c == NULL, "%s: refused", what);

    if (c) {
        dh_destroy_pool(c->pool);
    }

    log = log_take();
    ok(strstr(log, msg) != NULL && strstr(log, "test.conf:") != NULL,
       "%s: \"%s\" with file:line", what, msg);

    if (strstr(log, msg) == NULL) {
        printf("# log: %s\n", log);
    }
}


static void
test_conf_errors(void)
{
    conf_error("table db1.t { column a blob; }", "unknown type \"blob\"",
               "unknown type");
    conf_error("table db1.t { column a varchar(0); }", "invalid length",
               "varchar(0)");
    conf_error("table db1.t { column a varchar; }", "invalid length",
               "varchar without length");
    conf_error("table db1.t { column a decimal(19,2); }",
               "invalid precision", "decimal(19,2)");
    conf_error("table db1.t { column a decimal(4,5); }",
               "invalid precision", "scale over precision");
    conf_error("table db1.t { column a int; column a int; }",
               "duplicate column \"a\"", "duplicate column");
    conf_error("table db1.t { column a int; key b; }",
               "key column \"b\" is not a column", "key on unknown column");
    conf_error("table db1.t { column a int null; key a; }",
               "is declared null", "key on nullable column");
    conf_error("table db1.t { column a int; }\ntable db1.t { column a int; }",
               "duplicate table \"db1.t\"", "duplicate table");
    conf_error("table t { column a int; }", "db.table", "name without db");
    conf_error("table db1.t { }", "has no columns", "no columns");
    conf_error("table db1.t { column a int maybe; }",
               "invalid parameter \"maybe\"", "bad column option");
    conf_error("table db1.t { index a; }", "unknown statement \"index\"",
               "unknown statement");
    conf_error("storage /x cache=12;", "invalid size \"cache=12\"",
               "tiny cache");
    conf_error("storage /x log_file=1k;", "invalid size \"log_file=1k\"",
               "tiny log files");
    conf_error("storage /x sync=1;", "invalid parameter \"sync=1\"",
               "unknown storage parameter");
}


/* ---- jobs ----------------------------------------------------------------- */


typedef struct {
    dh_table_t  *table;
    const char  *rows[8][3];
    int          nrows;
    int          result;          /* returned by work */
    uint64_t     count;
    char         seen[512];       /* rows read back, as text */
} test_ctx_t;


static int
put_rows(dh_storage_job_t *job, DB_TXN *txn)
{
    int                 i, j, err;
    const char         *errmsg;
    dh_buf_t           *key, *data;
    dh_pool_t          *pool;
    test_ctx_t         *ctx;
    dh_table_value_t    v[3];
    dh_table_column_t  *col;

    ctx = job->data;
    col = ctx->table->columns.elts;
    pool = dh_create_pool(4096, &test_log);
    err = 0;

    for (i = 0; i < ctx->nrows && err == 0; i++) {
        for (j = 0; j < (int) ctx->table->columns.nelts; j++) {
            if (ctx->rows[i][j] == NULL) {
                dh_memzero(&v[j], sizeof(v[j]));
                v[j].null = 1;
                continue;
            }

            (void) dh_table_parse_value(&col[j], (u_char *) ctx->rows[i][j],
                                        strlen(ctx->rows[i][j]), &v[j],
                                        &errmsg);
        }

        key = NULL;
        data = NULL;

        if (dh_table_row_encode(ctx->table, v, pool, &key, &data) != DH_OK) {
            err = EINVAL;
            break;
        }

        err = dh_table_put(ctx->table, txn, key->pos, key->last - key->pos,
                           data->pos, data->last - data->pos);
    }

    dh_destroy_pool(pool);

    return err ? err : ctx->result;
}


static int
read_rows(dh_storage_job_t *job, DB_TXN *txn)
{
    DB                 *db;
    DBC                *c;
    DBT                 k, d;
    int                 err;
    char               *p, *last;
    u_char              buf[64], *end;
    dh_uint_t           j;
    test_ctx_t         *ctx;
    dh_table_value_t    v[3];
    dh_table_column_t  *col;

    ctx = job->data;
    col = ctx->table->columns.elts;
    db = dh_storage_db_handle(ctx->table->data);
    p = ctx->seen;
    last = ctx->seen + sizeof(ctx->seen);
    *p = '\0';
    ctx->count = 0;

    err = db->cursor(db, txn, &c, 0);
    if (err != 0) {
        return err;
    }

    dh_memzero(&k, sizeof(DBT));
    dh_memzero(&d, sizeof(DBT));

    while ((err = c->get(c, &k, &d, DB_NEXT)) == 0) {
        (void) dh_table_row_decode(ctx->table, d.data, d.size, v);
        ctx->count++;

        for (j = 0; j < ctx->table->columns.nelts; j++) {
            end = v[j].null ? dh_cpymem(buf, "\\N", 2)
                            : dh_table_value_text(&col[j], &v[j], buf);
            p += snprintf(p, last - p, "%s%.*s", j ? "," : "",
                          (int) (end - buf), buf);
        }

        p += snprintf(p, last - p, ";");
    }

    (void) c->close(c);

    return err == DB_NOTFOUND ? 0 : err;
}


static test_ctx_t *
run(dh_cycle_t *c, dh_storage_work_pt work, test_ctx_t *ctx, int *rc)
{
    dh_storage_job_t  job;

    dh_memzero(&job, sizeof(job));
    job.work = work;
    job.data = ctx;
    job.log = &test_log;

    *rc = (int) dh_storage_run(c, &job);

    if (*rc == DH_OK) {
        return ctx;
    }

    *rc = job.err;

    return ctx;
}


static const char  *test_conf_text =
    "storage data cache=8m;\n"
    "table db1.kv { column k varchar(8); column v bigint null; key k; }\n"
    "table db1.log { column n int; column note varchar(16) null; }\n"
    "table db1.kv2 { column k varchar(8); column v bigint null; key k; }\n";


static void
test_jobs(void)
{
    int           rc;
    dh_str_t      db, name;
    dh_cycle_t   *c;
    test_ctx_t    ctx;
    struct stat   st;
    char          path[256];

    c = configure(test_conf_text);
    ok(c != NULL, "conf with storage and two tables");
    if (c == NULL) {
        printf("# %s\n", log_take());
        return;
    }

    ok(open_storage(c) == DH_OK, "master recovers, child opens");

    snprintf(path, sizeof(path), "%s/data/table.db1.kv.db", tmpdir);
    ok(stat(path, &st) == 0, "table database file created");

    dh_str_set(&db, "db1");
    dh_str_set(&name, "kv");

    dh_memzero(&ctx, sizeof(ctx));
    ctx.table = dh_table_find(c, &db, &name);
    ok(ctx.table != NULL && ctx.table->nkeys == 1, "dh_table_find");

    ctx.rows[0][0] = "b";
    ctx.rows[0][1] = "2";
    ctx.rows[1][0] = "a";
    ctx.rows[1][1] = NULL;
    ctx.rows[2][0] = "b";
    ctx.rows[2][1] = "3";
    ctx.nrows = 3;
    run(c, put_rows, &ctx, &rc);
    is_int(rc, DH_OK, "put three rows, one key twice");

    run(c, read_rows, &ctx, &rc);
    is_str(ctx.seen, "a,\\N;b,3;", "upsert: last row per key wins, key order");

    /* a failing job leaves nothing behind */
    ctx.rows[0][0] = "c";
    ctx.rows[0][1] = "9";
    ctx.nrows = 1;
    ctx.result = DH_STORAGE_ABORT;
    run(c, put_rows, &ctx, &rc);
    is_int(rc, DH_STORAGE_ABORT, "DH_STORAGE_ABORT is the job's error");
    ctx.result = 0;
    run(c, read_rows, &ctx, &rc);
    is_str(ctx.seen, "a,\\N;b,3;", "aborted rows are not there");

    /* append table: rows in insertion order */
    dh_str_set(&name, "log");
    dh_memzero(&ctx, sizeof(ctx));
    ctx.table = dh_table_find(c, &db, &name);
    ctx.rows[0][0] = "3";
    ctx.rows[0][1] = "x";
    ctx.rows[1][0] = "1";
    ctx.rows[1][1] = "y";
    ctx.rows[2][0] = "3";
    ctx.rows[2][1] = "x";
    ctx.nrows = 3;
    run(c, put_rows, &ctx, &rc);
    is_int(rc, DH_OK, "append three rows");
    run(c, read_rows, &ctx, &rc);
    is_str(ctx.seen, "3,x;1,y;3,x;", "append table keeps order and repeats");

    close_storage(c);

    /* a restart: a new cycle over the same directory */
    c = configure(test_conf_text);
    ok(c != NULL && open_storage(c) == DH_OK, "reopen after restart");
    if (c == NULL) {
        return;
    }

    dh_str_set(&name, "log");
    dh_memzero(&ctx, sizeof(ctx));
    ctx.table = dh_table_find(c, &db, &name);
    ctx.rows[0][0] = "7";
    ctx.rows[0][1] = NULL;
    ctx.nrows = 1;
    run(c, put_rows, &ctx, &rc);
    run(c, read_rows, &ctx, &rc);
    is_str(ctx.seen, "3,x;1,y;3,x;7,\\N;",
           "data survives; new rows go after the old ones");

    dh_str_set(&name, "kv");
    ctx.table = dh_table_find(c, &db, &name);
    run(c, read_rows, &ctx, &rc);
    is_str(ctx.seen, "a,\\N;b,3;", "keyed rows survive");

    close_storage(c);
}


/* ---- deadlock ------------------------------------------------------------- */


typedef struct {
    dh_cycle_t         *cycle;
    dh_table_t         *first;
    dh_table_t         *second;
    pthread_barrier_t  *barrier;
    int                 calls;
    dh_storage_job_t    job;
} test_cross_t;


static int
put_one(dh_table_t *t, DB_TXN *txn, const char *k, const char *val)
{
    int                 err;
    const char         *msg;
    dh_buf_t           *key, *data;
    dh_pool_t          *pool;
    dh_table_value_t    v[2];
    dh_table_column_t  *col;

    col = t->columns.elts;
    pool = dh_create_pool(1024, &test_log);

    (void) dh_table_parse_value(&col[0], (u_char *) k, strlen(k), &v[0],
                                &msg);
    (void) dh_table_parse_value(&col[1], (u_char *) val, strlen(val), &v[1],
                                &msg);
    key = NULL;
    data = NULL;
    (void) dh_table_row_encode(t, v, pool, &key, &data);

    err = dh_table_put(t, txn, key->pos, key->last - key->pos, data->pos,
                       data->last - data->pos);

    dh_destroy_pool(pool);

    return err;
}


static int
cross_work(dh_storage_job_t *job, DB_TXN *txn)
{
    int            err;
    test_cross_t  *x;

    x = job->data;

    err = put_one(x->first, txn, "k", "1");
    if (err != 0) {
        return err;
    }

    /* both threads hold their first row before either takes the second:
     * only on the first attempt, a retry must not wait for the other */
    if (x->calls++ == 0) {
        pthread_barrier_wait(x->barrier);
    }

    return put_one(x->second, txn, "k", "2");
}


static void *
cross_thread(void *arg)
{
    test_cross_t  *x = arg;

    x->job.work = cross_work;
    x->job.data = x;
    x->job.log = &test_log;

    (void) dh_storage_run(x->cycle, &x->job);

    return NULL;
}


static void
test_deadlock(void)
{
    int                 rc;
    dh_str_t            db, name, name2;
    pthread_t           t1, t2;
    dh_cycle_t         *c;
    test_ctx_t          ctx;
    test_cross_t        a, b;
    pthread_barrier_t   barrier;

    /* locks are per page: two tables, so that each thread holds a page
     * the other one wants */
    c = configure(test_conf_text);
    if (c == NULL || open_storage(c) != DH_OK) {
        ok(0, "open for the deadlock test");
        return;
    }

    dh_str_set(&db, "db1");
    dh_str_set(&name, "kv");
    dh_str_set(&name2, "kv2");

    pthread_barrier_init(&barrier, NULL, 2);

    dh_memzero(&a, sizeof(a));
    dh_memzero(&b, sizeof(b));
    a.cycle = b.cycle = c;
    a.first = b.second = dh_table_find(c, &db, &name);
    a.second = b.first = dh_table_find(c, &db, &name2);
    a.barrier = b.barrier = &barrier;

    pthread_create(&t1, NULL, cross_thread, &a);
    pthread_create(&t2, NULL, cross_thread, &b);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);

    ok(a.job.err == 0 && b.job.err == 0, "both crossing jobs commit");
    ok(a.job.attempts + b.job.attempts >= 3,
       "the deadlock victim ran again (attempts %lu + %lu)",
       (unsigned long) a.job.attempts, (unsigned long) b.job.attempts);

    dh_memzero(&ctx, sizeof(ctx));
    ctx.table = a.first;
    run(c, read_rows, &ctx, &rc);
    ok(strstr(ctx.seen, "k,") != NULL, "the row in the first table");
    ctx.table = a.second;
    run(c, read_rows, &ctx, &rc);
    ok(strstr(ctx.seen, "k,") != NULL, "the row in the second table");

    pthread_barrier_destroy(&barrier);
    close_storage(c);
}


static void
test_bad_dir(void)
{
    char         text[256];
    dh_cycle_t  *c;

    write_file("file", "x");
    snprintf(text, sizeof(text), "storage %s/file/data;\n"
             "table db1.t { column a int; }\n", tmpdir);

    c = configure(text);
    ok(c != NULL, "a storage dir under a file parses");

    if (c) {
        (void) log_take();
        ok(dh_storage_module.init_module(c) == DH_ERROR,
           "the master refuses it");
        ok(strstr(log_take(), "could not create directory") != NULL,
           "and says why");
        dh_destroy_pool(c->pool);
    }
}


int
main(void)
{
    char  path[512], cmd[600];

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/dh_test_storage.XXXXXX");

    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 2;
    }

    dh_use_stderr = 0;

    snprintf(path, sizeof(path), "%s/capture.log", tmpdir);
    test_log_file.fd = open(path, O_RDWR|O_CREAT|O_TRUNC|O_APPEND, 0644);
    if (test_log_file.fd == -1) {
        perror(path);
        return 2;
    }

    test_log.log_level = DH_LOG_INFO;
    test_log.file = &test_log_file;

    dh_time_init();

    if (dh_preinit_modules() != DH_OK) {
        return 2;
    }

    test_conf_errors();
    test_jobs();
    test_deadlock();
    test_bad_dir();

    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0) {
        printf("# could not remove %s\n", tmpdir);
    }

    return done_testing();
}

#else

int
main(void)
{
    printf("1..0 # SKIP built without Berkeley DB or cJSON\n");
    return 0;
}

#endif

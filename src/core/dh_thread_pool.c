/*
 * Per-worker thread pools.
 *
 * `thread_pool NAME threads=N [max_queue=N];` declares a pool at main
 * level.  The pool "default" (4 threads, max_queue 65536) is created only
 * when some module asks for it with dh_thread_pool_get() during
 * configuration and no thread_pool directive named it: a worker that never
 * blocks on anything pays for no idle threads, stacks or eventfd.
 *
 * Tasks queue under tp->mtx and the threads wait on tp->cond.  A finished
 * task goes to the done list and the eventfd is written when that list
 * was empty; the event loop watches notify_fd and calls
 * dh_thread_pool_process_done(), which reads the eventfd first and takes
 * the list second, so a completion is never left without a notification.
 * This file knows nothing about the event loop.
 */

#include "dh_config.h"
#include "dh_core.h"


#define DH_THREAD_POOL_DEFAULT_THREADS    4
#define DH_THREAD_POOL_DEFAULT_MAX_QUEUE  65536


typedef struct {
    dh_array_t   pools;        /* of dh_thread_pool_t * */
    dh_uint_t    finalized;    /* init_conf ran: no more implicit pools */
} dh_thread_pool_conf_t;


static void *dh_thread_pool_create_conf(dh_cycle_t *cycle);
static char *dh_thread_pool_init_conf(dh_cycle_t *cycle, void *conf);
static char *dh_thread_pool(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static dh_int_t dh_thread_pool_init_process(dh_cycle_t *cycle);
static void dh_thread_pool_exit_process(dh_cycle_t *cycle);


static dh_str_t   dh_thread_pool_default = dh_string("default");
static dh_uint_t  dh_thread_pool_task_id;


static dh_command_t  dh_thread_pool_commands[] = {

    { dh_string("thread_pool"),
      DH_MAIN_CONF|DH_DIRECT_CONF|DH_CONF_TAKE23,
      dh_thread_pool,
      0,
      0,
      NULL },

      dh_null_command
};


static dh_core_module_t  dh_thread_pool_module_ctx = {
    dh_string("thread_pool"),
    dh_thread_pool_create_conf,
    dh_thread_pool_init_conf
};


dh_module_t  dh_thread_pool_module = {
    DH_MODULE_V1,
    &dh_thread_pool_module_ctx,            /* module context */
    dh_thread_pool_commands,               /* module directives */
    DH_CORE_MODULE,                        /* module type */
    NULL,                                  /* init module */
    dh_thread_pool_init_process,           /* init process */
    dh_thread_pool_exit_process,           /* exit process */
    NULL,                                  /* exit master */
    DH_MODULE_V1_PADDING
};


/* ---- configuration ---------------------------------------------------- */


static dh_thread_pool_conf_t *
dh_thread_pool_conf(dh_cycle_t *cycle)
{
    if (cycle->conf_ctx == NULL
        || dh_thread_pool_module.index == DH_MODULE_UNSET_INDEX)
    {
        return NULL;
    }

    return (dh_thread_pool_conf_t *) dh_get_conf(cycle->conf_ctx,
                                                 dh_thread_pool_module);
}


static void *
dh_thread_pool_create_conf(dh_cycle_t *cycle)
{
    dh_thread_pool_conf_t  *tcf;

    tcf = dh_pcalloc(cycle->pool, sizeof(dh_thread_pool_conf_t));
    if (tcf == NULL) {
        return NULL;
    }

    if (dh_array_init(&tcf->pools, cycle->pool, 4,
                      sizeof(dh_thread_pool_t *))
        != DH_OK)
    {
        return NULL;
    }

    return tcf;
}


static dh_thread_pool_t *
dh_thread_pool_find(dh_thread_pool_conf_t *tcf, dh_str_t *name)
{
    dh_uint_t          i;
    dh_thread_pool_t **tpp;

    tpp = tcf->pools.elts;

    for (i = 0; i < tcf->pools.nelts; i++) {
        if (dh_str_eq(&tpp[i]->name, name)) {
            return tpp[i];
        }
    }

    return NULL;
}


/* Adds a pool with no threads yet: the directive or init_conf fills in
 * the numbers. */
static dh_thread_pool_t *
dh_thread_pool_add(dh_cycle_t *cycle, dh_thread_pool_conf_t *tcf,
    dh_str_t *name)
{
    dh_thread_pool_t   *tp, **tpp;

    tp = dh_pcalloc(cycle->pool, sizeof(dh_thread_pool_t));
    if (tp == NULL) {
        return NULL;
    }

    tp->name.data = dh_pstrdup(cycle->pool, name);
    if (tp->name.data == NULL) {
        return NULL;
    }

    tp->name.len = name->len;
    tp->max_queue = DH_THREAD_POOL_DEFAULT_MAX_QUEUE;
    tp->notify_fd = -1;
    tp->log = cycle->log;

    tpp = dh_array_push(&tcf->pools);
    if (tpp == NULL) {
        return NULL;
    }

    *tpp = tp;

    return tp;
}


static dh_int_t
dh_thread_pool_param(dh_str_t *arg, const char *key, dh_int_t *value)
{
    size_t  len;

    len = strlen(key);

    if (arg->len <= len || dh_strncmp(arg->data, key, len) != 0) {
        return DH_DECLINED;
    }

    *value = dh_atoi(arg->data + len, arg->len - len);

    if (*value == DH_ERROR || *value == 0) {
        return DH_ERROR;
    }

    return DH_OK;
}


static char *
dh_thread_pool(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_thread_pool_conf_t *tcf = conf;

    dh_int_t           n, rc;
    dh_str_t          *value;
    dh_uint_t          i;
    dh_thread_pool_t  *tp;

    value = cf->args->elts;

    tp = dh_thread_pool_find(tcf, &value[1]);

    if (tp && tp->threads) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "duplicate thread pool \"%.*s\"",
                          DH_STR_FMT(value[1]));
        return DH_CONF_ERROR;
    }

    if (tp == NULL) {
        tp = dh_thread_pool_add(cf->cycle, tcf, &value[1]);
        if (tp == NULL) {
            return DH_CONF_ERROR;
        }
    }

    for (i = 2; i < cf->args->nelts; i++) {

        rc = dh_thread_pool_param(&value[i], "threads=", &n);

        if (rc == DH_OK) {
            tp->threads = (dh_uint_t) n;
            continue;
        }

        if (rc == DH_DECLINED) {
            rc = dh_thread_pool_param(&value[i], "max_queue=", &n);

            if (rc == DH_OK) {
                tp->max_queue = n;
                continue;
            }
        }

        dh_conf_log_error(DH_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"",
                          DH_STR_FMT(value[i]));
        return DH_CONF_ERROR;
    }

    if (tp->threads == 0) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "\"%.*s\" must have \"threads\" parameter",
                          DH_STR_FMT(value[0]));
        return DH_CONF_ERROR;
    }

    tp->file = cf->conf_file->file.name.data;
    tp->line = cf->conf_file->line;

    return DH_CONF_OK;
}


static char *
dh_thread_pool_init_conf(dh_cycle_t *cycle, void *conf)
{
    dh_thread_pool_conf_t *tcf = conf;

    dh_uint_t          i;
    dh_thread_pool_t **tpp;

    tcf->finalized = 1;

    tpp = tcf->pools.elts;

    for (i = 0; i < tcf->pools.nelts; i++) {

        if (tpp[i]->threads) {
            continue;
        }

        if (dh_str_eq(&tpp[i]->name, &dh_thread_pool_default)) {
            tpp[i]->threads = DH_THREAD_POOL_DEFAULT_THREADS;
            continue;
        }

        dh_log_error(DH_LOG_EMERG, cycle->log, 0,
                     "unknown thread pool \"%.*s\"",
                     DH_STR_FMT(tpp[i]->name));
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


dh_thread_pool_t *
dh_thread_pool_get(dh_cycle_t *cycle, dh_str_t *name)
{
    dh_thread_pool_t       *tp;
    dh_thread_pool_conf_t  *tcf;

    tcf = dh_thread_pool_conf(cycle);
    if (tcf == NULL) {
        return NULL;
    }

    if (name == NULL) {
        name = &dh_thread_pool_default;
    }

    tp = dh_thread_pool_find(tcf, name);

    if (tp || tcf->finalized) {
        return tp;
    }

    /* asked for during configuration, maybe before its directive: it
     * must be declared by the end of the file (or be "default") */
    return dh_thread_pool_add(cycle, tcf, name);
}


dh_array_t *
dh_thread_pools(dh_cycle_t *cycle)
{
    dh_thread_pool_conf_t  *tcf;

    tcf = dh_thread_pool_conf(cycle);

    return tcf ? &tcf->pools : NULL;
}


/* ---- tasks ------------------------------------------------------------ */


dh_thread_task_t *
dh_thread_task_alloc(dh_pool_t *pool, size_t size)
{
    dh_thread_task_t  *task;

    task = dh_pcalloc(pool, sizeof(dh_thread_task_t) + size);
    if (task == NULL) {
        return NULL;
    }

    task->ctx = task + 1;

    return task;
}


dh_int_t
dh_thread_task_post(dh_thread_pool_t *tp, dh_thread_task_t *task)
{
    dh_int_t  waiting;

    if (task->handler == NULL || task->done == NULL) {
        dh_log_error(DH_LOG_ALERT, tp->log, 0,
                     "task without handler posted to thread pool \"%.*s\"",
                     DH_STR_FMT(tp->name));
        return DH_ERROR;
    }

    if (tp->notify_fd == -1) {
        dh_log_error(DH_LOG_ALERT, tp->log, 0,
                     "thread pool \"%.*s\" is not running",
                     DH_STR_FMT(tp->name));
        return DH_ERROR;
    }

    pthread_mutex_lock(&tp->mtx);

    if (tp->stopping || tp->waiting >= tp->max_queue) {
        waiting = tp->waiting;
        pthread_mutex_unlock(&tp->mtx);

        dh_log_error(DH_LOG_ERR, tp->log, 0,
                     "thread pool \"%.*s\" queue overflow: "
                     "%ld tasks waiting",
                     DH_STR_FMT(tp->name), (long) waiting);
        return DH_ERROR;
    }

    /* tasks are posted from the event loop thread only */
    task->next = NULL;
    task->id = ++dh_thread_pool_task_id;

    *tp->queue.last = task;
    tp->queue.last = &task->next;
    tp->waiting++;

    pthread_cond_signal(&tp->cond);
    pthread_mutex_unlock(&tp->mtx);

    return DH_OK;
}


/* ---- threads ------------------------------------------------------------ */


static void
dh_thread_pool_notify(dh_thread_pool_t *tp)
{
    uint64_t  one;

    one = 1;

    /* EAGAIN would mean the counter is near 2^64: the loop is awake */
    if (write(tp->notify_fd, &one, sizeof(uint64_t)) == -1
        && dh_errno != DH_EAGAIN)
    {
        dh_log_error(DH_LOG_ALERT, tp->log, dh_errno,
                     "write() to thread pool \"%.*s\" eventfd failed",
                     DH_STR_FMT(tp->name));
    }
}


static void *
dh_thread_pool_cycle(void *data)
{
    dh_thread_pool_t *tp = data;

    dh_uint_t          notify;
    dh_thread_task_t  *task;

    for ( ;; ) {
        pthread_mutex_lock(&tp->mtx);

        while (tp->queue.first == NULL && !tp->stopping) {
            pthread_cond_wait(&tp->cond, &tp->mtx);
        }

        if (tp->stopping) {
            pthread_mutex_unlock(&tp->mtx);
            return NULL;
        }

        task = tp->queue.first;
        tp->queue.first = task->next;

        if (tp->queue.first == NULL) {
            tp->queue.last = &tp->queue.first;
        }

        tp->waiting--;

        pthread_mutex_unlock(&tp->mtx);

        task->handler(task->ctx, tp->log);

        task->next = NULL;

        pthread_mutex_lock(&tp->done_mtx);

        /* a non-empty list already has a notification on its way */
        notify = (tp->done.first == NULL);

        *tp->done.last = task;
        tp->done.last = &task->next;

        pthread_mutex_unlock(&tp->done_mtx);

        if (notify) {
            dh_thread_pool_notify(tp);
        }
    }
}


void
dh_thread_pool_process_done(dh_thread_pool_t *tp)
{
    uint64_t           count;
    dh_thread_task_t  *task, *next;

    /* the eventfd first, the list second (see the top of the file) */
    if (read(tp->notify_fd, &count, sizeof(uint64_t)) == -1
        && dh_errno != DH_EAGAIN)
    {
        dh_log_error(DH_LOG_ALERT, tp->log, dh_errno,
                     "read() from thread pool \"%.*s\" eventfd failed",
                     DH_STR_FMT(tp->name));
    }

    pthread_mutex_lock(&tp->done_mtx);

    task = tp->done.first;
    tp->done.first = NULL;
    tp->done.last = &tp->done.first;

    pthread_mutex_unlock(&tp->done_mtx);

    for ( /* void */ ; task; task = next) {
        next = task->next;
        task->next = NULL;

        task->done(task);
    }
}


static void
dh_thread_pool_stop(dh_thread_pool_t *tp)
{
    dh_uint_t  n;

    if (tp->notify_fd == -1) {
        return;
    }

    pthread_mutex_lock(&tp->mtx);
    tp->stopping = 1;
    pthread_cond_broadcast(&tp->cond);
    pthread_mutex_unlock(&tp->mtx);

    /* a thread finishes the task it is running; queued ones are dropped
     * with the process */
    for (n = 0; n < tp->running; n++) {
        pthread_join(tp->tids[n], NULL);
    }

    tp->running = 0;

    dh_free(tp->tids);
    tp->tids = NULL;

    pthread_cond_destroy(&tp->cond);
    pthread_mutex_destroy(&tp->done_mtx);
    pthread_mutex_destroy(&tp->mtx);

    if (close(tp->notify_fd) == -1) {
        dh_log_error(DH_LOG_ALERT, tp->log, dh_errno,
                     "close() of thread pool \"%.*s\" eventfd failed",
                     DH_STR_FMT(tp->name));
    }

    tp->notify_fd = -1;
}


static dh_int_t
dh_thread_pool_start(dh_thread_pool_t *tp, dh_log_t *log)
{
    int        err;
    sigset_t   set, old;

    tp->log = log;
    tp->queue.first = NULL;
    tp->queue.last = &tp->queue.first;
    tp->done.first = NULL;
    tp->done.last = &tp->done.first;
    tp->waiting = 0;
    tp->stopping = 0;
    tp->running = 0;

    tp->tids = dh_alloc(tp->threads * sizeof(pthread_t), log);
    if (tp->tids == NULL) {
        return DH_ERROR;
    }

    tp->notify_fd = eventfd(0, EFD_NONBLOCK|EFD_CLOEXEC);

    if (tp->notify_fd == -1) {
        dh_log_error(DH_LOG_ALERT, log, dh_errno, "eventfd() failed");
        dh_free(tp->tids);
        tp->tids = NULL;
        return DH_ERROR;
    }

    /* these never fail with default attributes on Linux */
    pthread_mutex_init(&tp->mtx, NULL);
    pthread_mutex_init(&tp->done_mtx, NULL);
    pthread_cond_init(&tp->cond, NULL);

    /* the threads must never take a signal meant for the event loop */
    sigfillset(&set);
    pthread_sigmask(SIG_BLOCK, &set, &old);

    err = 0;

    while (tp->running < tp->threads) {
        err = pthread_create(&tp->tids[tp->running], NULL,
                             dh_thread_pool_cycle, tp);
        if (err) {
            break;
        }

        tp->running++;
    }

    pthread_sigmask(SIG_SETMASK, &old, NULL);

    if (err) {
        dh_log_error(DH_LOG_ALERT, log, err,
                     "pthread_create() failed for thread pool \"%.*s\"",
                     DH_STR_FMT(tp->name));
        dh_thread_pool_stop(tp);
        return DH_ERROR;
    }

    return DH_OK;
}


dh_int_t
dh_thread_pool_start_all(dh_cycle_t *cycle)
{
    dh_uint_t           i;
    dh_array_t         *pools;
    dh_thread_pool_t  **tpp;

    pools = dh_thread_pools(cycle);
    if (pools == NULL) {
        return DH_OK;
    }

    tpp = pools->elts;

    for (i = 0; i < pools->nelts; i++) {
        if (dh_thread_pool_start(tpp[i], cycle->log) != DH_OK) {
            dh_thread_pool_stop_all(cycle);
            return DH_ERROR;
        }
    }

    return DH_OK;
}


void
dh_thread_pool_stop_all(dh_cycle_t *cycle)
{
    dh_uint_t           i;
    dh_array_t         *pools;
    dh_thread_pool_t  **tpp;

    pools = dh_thread_pools(cycle);
    if (pools == NULL) {
        return;
    }

    tpp = pools->elts;

    for (i = 0; i < pools->nelts; i++) {
        dh_thread_pool_stop(tpp[i]);
    }
}


static dh_int_t
dh_thread_pool_init_process(dh_cycle_t *cycle)
{
    return dh_thread_pool_start_all(cycle);
}


static void
dh_thread_pool_exit_process(dh_cycle_t *cycle)
{
    dh_thread_pool_stop_all(cycle);
}

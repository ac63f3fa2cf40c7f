/*
 * The cycle: one parsed configuration plus everything it opened.
 *
 * dh_init_cycle() builds a complete new cycle beside the old one: parse,
 * then open files, map shared memory, adopt or bind listening sockets and
 * run the modules' init_module.  Until the commit the old cycle is not
 * touched except for "remain" marks on the sockets the new one adopts, so
 * any failure is undone (the new cycle's own sockets, files and zones are
 * released, the marks cleared) and the master keeps serving with the old
 * cycle.  Only after the commit are the old cycle's leftovers released.
 */

#include "dh_config.h"
#include "dh_core.h"


#define dh_is_init_cycle(cycle)  ((cycle)->conf_ctx == NULL)

#define DH_PID_TEXT_LEN   (DH_INT64_LEN + 2)


static dh_cycle_t *dh_cycle_create(dh_cycle_t *old_cycle);
static dh_int_t dh_cycle_copy_str(dh_pool_t *pool, dh_str_t *dst,
    dh_str_t *src);
static dh_int_t dh_cycle_containers(dh_cycle_t *cycle, dh_cycle_t *old_cycle);
static dh_int_t dh_cycle_hostname(dh_cycle_t *cycle);
static dh_int_t dh_cycle_configure(dh_cycle_t *cycle, dh_log_t *log);
static dh_int_t dh_cycle_create_confs(dh_cycle_t *cycle);
static dh_int_t dh_cycle_init_confs(dh_cycle_t *cycle);
static dh_int_t dh_cycle_open(dh_cycle_t *cycle, dh_cycle_t *old_cycle);
static dh_int_t dh_cycle_pidfile(dh_cycle_t *cycle, dh_cycle_t *old_cycle);
static void dh_cycle_rollback(dh_cycle_t *cycle, dh_cycle_t *old_cycle);
static void dh_cycle_commit(dh_cycle_t *cycle, dh_cycle_t *old_cycle);
static void dh_cycle_release_old(dh_cycle_t *cycle, dh_cycle_t *old_cycle);
static dh_int_t dh_cycle_keep_old(dh_cycle_t *old_cycle);
static dh_uint_t dh_pid_path_changed(dh_cycle_t *cycle, dh_cycle_t *old_cycle);
static dh_int_t dh_read_pidfile(dh_str_t *name, dh_pid_t *pid, dh_log_t *log);
static dh_core_conf_t *dh_cycle_core_conf(dh_cycle_t *cycle);


volatile dh_cycle_t  *dh_cycle;
dh_array_t            dh_old_cycles;

dh_uint_t             dh_test_config;
dh_uint_t             dh_dump_config;
dh_uint_t             dh_quiet_mode;

static dh_pool_t     *dh_old_cycles_pool;
static dh_msec_t      dh_shutdown_at;
static dh_uint_t      dh_shutdown_armed;


dh_cycle_t *
dh_init_cycle(dh_cycle_t *old_cycle)
{
    dh_cycle_t  *cycle;

    dh_time_update();

    cycle = dh_cycle_create(old_cycle);
    if (cycle == NULL) {
        return NULL;
    }

    if (dh_cycle_configure(cycle, old_cycle->log) != DH_OK) {
        dh_destroy_pool(cycle->pool);
        return NULL;
    }

    /* -s needs only the pid file's name */
    if (dh_process == DH_PROCESS_SIGNALLER) {
        return cycle;
    }

    /* -t opens nothing: it must work beside a running server */
    if (dh_test_config) {
        if (dh_init_modules(cycle) != DH_OK) {
            dh_destroy_pool(cycle->pool);
            return NULL;
        }

        return cycle;
    }

    if (dh_cycle_open(cycle, old_cycle) != DH_OK) {
        dh_cycle_rollback(cycle, old_cycle);
        dh_destroy_pool(cycle->pool);
        return NULL;
    }

    dh_cycle_commit(cycle, old_cycle);

    return cycle;
}


static dh_cycle_t *
dh_cycle_create(dh_cycle_t *old_cycle)
{
    dh_pool_t   *pool;
    dh_cycle_t  *cycle;

    pool = dh_create_pool(DH_CYCLE_POOL_SIZE, old_cycle->log);
    if (pool == NULL) {
        return NULL;
    }

    cycle = dh_pcalloc(pool, sizeof(dh_cycle_t));
    if (cycle == NULL) {
        goto failed;
    }

    cycle->pool = pool;
    cycle->log = old_cycle->log;
    cycle->old_cycle = old_cycle;
    cycle->log_use_stderr = 0;

    /* the old cycle's pool may be gone long before this one */
    if (dh_cycle_copy_str(pool, &cycle->prefix, &old_cycle->prefix) != DH_OK
        || dh_cycle_copy_str(pool, &cycle->conf_prefix,
                             &old_cycle->conf_prefix) != DH_OK
        || dh_cycle_copy_str(pool, &cycle->conf_file,
                             &old_cycle->conf_file) != DH_OK
        || dh_cycle_copy_str(pool, &cycle->conf_param,
                             &old_cycle->conf_param) != DH_OK
        || dh_cycle_copy_str(pool, &cycle->error_log,
                             &old_cycle->error_log) != DH_OK)
    {
        goto failed;
    }

    if (dh_cycle_containers(cycle, old_cycle) != DH_OK
        || dh_cycle_hostname(cycle) != DH_OK
        || dh_cycle_modules(cycle) != DH_OK)
    {
        goto failed;
    }

    cycle->conf_ctx = dh_pcalloc(pool, dh_max_module * sizeof(void *));
    if (cycle->conf_ctx == NULL) {
        goto failed;
    }

    return cycle;

failed:

    dh_destroy_pool(pool);
    return NULL;
}


static dh_int_t
dh_cycle_copy_str(dh_pool_t *pool, dh_str_t *dst, dh_str_t *src)
{
    dst->len = src->len;

    if (src->data == NULL) {
        dst->data = NULL;
        return DH_OK;
    }

    dst->data = dh_pnalloc(pool, src->len + 1);
    if (dst->data == NULL) {
        return DH_ERROR;
    }

    dh_memcpy(dst->data, src->data, src->len);
    dst->data[src->len] = '\0';

    return DH_OK;
}


/* Sized from the old cycle, which usually looks like the new one. */
static dh_int_t
dh_cycle_containers(dh_cycle_t *cycle, dh_cycle_t *old_cycle)
{
    dh_uint_t        n;
    dh_list_part_t  *part;

    n = old_cycle->paths.nelts ? old_cycle->paths.nelts : 10;

    if (dh_array_init(&cycle->paths, cycle->pool, n, sizeof(void *))
        != DH_OK)
    {
        return DH_ERROR;
    }

    if (dh_array_init(&cycle->config_dump, cycle->pool, 1,
                      sizeof(dh_conf_dump_t)) != DH_OK)
    {
        return DH_ERROR;
    }

    n = 0;
    for (part = &old_cycle->open_files.part; part; part = part->next) {
        n += part->nelts;
    }

    if (dh_list_init(&cycle->open_files, cycle->pool, n ? n : 20,
                     sizeof(dh_open_file_t)) != DH_OK)
    {
        return DH_ERROR;
    }

    n = 0;
    for (part = &old_cycle->shared_memory.part; part; part = part->next) {
        n += part->nelts;
    }

    if (dh_list_init(&cycle->shared_memory, cycle->pool, n ? n : 1,
                     sizeof(dh_shm_zone_t)) != DH_OK)
    {
        return DH_ERROR;
    }

    n = old_cycle->listening.nelts ? old_cycle->listening.nelts : 10;

    if (dh_array_init(&cycle->listening, cycle->pool, n,
                      sizeof(dh_listening_t)) != DH_OK)
    {
        return DH_ERROR;
    }

    return DH_OK;
}


static dh_int_t
dh_cycle_hostname(dh_cycle_t *cycle)
{
    char  hostname[HOST_NAME_MAX + 1];

    if (gethostname(hostname, sizeof(hostname)) == -1) {
        dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                     "gethostname() failed");
        return DH_ERROR;
    }

    /* POSIX does not promise termination on truncation */
    hostname[HOST_NAME_MAX] = '\0';

    cycle->hostname.len = dh_strlen(hostname);

    cycle->hostname.data = dh_pnalloc(cycle->pool, cycle->hostname.len + 1);
    if (cycle->hostname.data == NULL) {
        return DH_ERROR;
    }

    dh_strlow(cycle->hostname.data, (u_char *) hostname,
              cycle->hostname.len + 1);

    return DH_OK;
}


/* create_conf of every core module, -g, the file, init_conf. */
static dh_int_t
dh_cycle_configure(dh_cycle_t *cycle, dh_log_t *log)
{
    char       *rv;
    dh_conf_t   conf;

    if (dh_cycle_create_confs(cycle) != DH_OK) {
        return DH_ERROR;
    }

    dh_memzero(&conf, sizeof(dh_conf_t));

    conf.args = dh_array_create(cycle->pool, 10, sizeof(dh_str_t));
    if (conf.args == NULL) {
        return DH_ERROR;
    }

    conf.temp_pool = dh_create_pool(DH_CYCLE_POOL_SIZE, log);
    if (conf.temp_pool == NULL) {
        return DH_ERROR;
    }

    conf.ctx = cycle->conf_ctx;
    conf.cycle = cycle;
    conf.pool = cycle->pool;
    conf.log = log;
    conf.module_type = DH_CORE_MODULE;
    conf.cmd_type = DH_MAIN_CONF;

    rv = dh_conf_param(&conf);

    if (rv == DH_CONF_OK) {
        rv = dh_conf_parse(&conf, &cycle->conf_file);
    }

    dh_destroy_pool(conf.temp_pool);

    if (rv != DH_CONF_OK) {
        return DH_ERROR;
    }

    return dh_cycle_init_confs(cycle);
}


static dh_int_t
dh_cycle_create_confs(dh_cycle_t *cycle)
{
    void              *rv;
    dh_uint_t          i;
    dh_module_t       *module;
    dh_core_module_t  *core;

    for (i = 0; cycle->modules[i]; i++) {
        module = cycle->modules[i];

        if (module->type != DH_CORE_MODULE) {
            continue;
        }

        core = module->ctx;

        if (core->create_conf == NULL) {
            continue;
        }

        rv = core->create_conf(cycle);
        if (rv == NULL) {
            return DH_ERROR;
        }

        cycle->conf_ctx[module->index] = rv;
    }

    return DH_OK;
}


static dh_int_t
dh_cycle_init_confs(dh_cycle_t *cycle)
{
    dh_uint_t          i;
    dh_module_t       *module;
    dh_core_module_t  *core;

    for (i = 0; cycle->modules[i]; i++) {
        module = cycle->modules[i];

        if (module->type != DH_CORE_MODULE) {
            continue;
        }

        core = module->ctx;

        if (core->init_conf
            && core->init_conf(cycle, cycle->conf_ctx[module->index])
               == DH_CONF_ERROR)
        {
            return DH_ERROR;
        }
    }

    return DH_OK;
}


/*
 * Everything the new cycle opens, in an order that lets a failure at any
 * step be undone by dh_cycle_rollback(): files, zones, sockets, modules,
 * and last the pid file (so nothing after it can fail).
 */
static dh_int_t
dh_cycle_open(dh_cycle_t *cycle, dh_cycle_t *old_cycle)
{
    if (dh_open_cycle_files(cycle) != DH_OK) {
        return DH_ERROR;
    }

    cycle->log = &cycle->new_log;
    cycle->pool->log = &cycle->new_log;

    if (dh_shm_init_cycle_zones(cycle, old_cycle) != DH_OK) {
        return DH_ERROR;
    }

    if (dh_open_listening_sockets(cycle, old_cycle) != DH_OK) {
        dh_status_error_code = "BIND_FAILED";
        return DH_ERROR;
    }

    dh_configure_listening_sockets(cycle);

    if (dh_init_modules(cycle) != DH_OK) {
        return DH_ERROR;
    }

    return dh_cycle_pidfile(cycle, old_cycle);
}


/* On the first start main() writes the pid file after daemonizing; a
 * reload writes a new one only if "pid" changed. */
static dh_int_t
dh_cycle_pidfile(dh_cycle_t *cycle, dh_cycle_t *old_cycle)
{
    if (dh_is_init_cycle(old_cycle) || !dh_pid_path_changed(cycle, old_cycle))
    {
        return DH_OK;
    }

    return dh_create_pidfile(&dh_cycle_core_conf(cycle)->pid, cycle->log);
}


static dh_uint_t
dh_pid_path_changed(dh_cycle_t *cycle, dh_cycle_t *old_cycle)
{
    dh_core_conf_t  *ccf, *old_ccf;

    ccf = dh_cycle_core_conf(cycle);
    old_ccf = dh_cycle_core_conf(old_cycle);

    return !dh_str_eq(&ccf->pid, &old_ccf->pid);
}


static void
dh_cycle_rollback(dh_cycle_t *cycle, dh_cycle_t *old_cycle)
{
    /* the reason was logged where it happened; say what it means */
    if (!dh_is_init_cycle(old_cycle)) {
        dh_log_error(DH_LOG_NOTICE, old_cycle->log, 0,
                     "new configuration could not be applied, "
                     "the old one stays in effect");
    }

    cycle->log = old_cycle->log;
    cycle->pool->log = old_cycle->log;

    dh_undo_listening_sockets(cycle);
    dh_shm_free_cycle_zones(cycle);
    dh_close_cycle_files(cycle, old_cycle);
}


static void
dh_cycle_commit(dh_cycle_t *cycle, dh_cycle_t *old_cycle)
{
    dh_cycle = cycle;

    if (!dh_use_stderr) {
        (void) dh_log_redirect_stderr(cycle);
    }

    if (dh_is_init_cycle(old_cycle)) {
        /* inherited sockets no "listen" asked for */
        dh_close_unused_listening_sockets(old_cycle);
        dh_destroy_pool(old_cycle->pool);
        old_cycle->pool = NULL;
        cycle->old_cycle = NULL;
        return;
    }

    if (dh_pid_path_changed(cycle, old_cycle)) {
        dh_delete_pidfile(old_cycle);
    }

    /*
     * A single process still runs the old cycle's connections (and its
     * event state refers to the old sockets and log files) until it has
     * switched over; it releases the old cycle with dh_clean_old_cycles().
     * The master has no connections and releases it now.
     */
    if (dh_process == DH_PROCESS_SINGLE
        && dh_cycle_keep_old(old_cycle) == DH_OK)
    {
        return;
    }

    dh_cycle_release_old(cycle, old_cycle);
}


static void
dh_cycle_release_old(dh_cycle_t *cycle, dh_cycle_t *old_cycle)
{
    dh_uint_t        i;
    dh_listening_t  *ls;

    dh_close_unused_listening_sockets(old_cycle);
    dh_shm_free_old_zones(cycle, old_cycle);
    dh_close_cycle_files(old_cycle, cycle);

    ls = cycle->listening.elts;

    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].previous && ls[i].previous >= (dh_listening_t *)
                                  old_cycle->listening.elts
            && ls[i].previous < (dh_listening_t *) old_cycle->listening.elts
                                + old_cycle->listening.nelts)
        {
            ls[i].previous = NULL;
        }
    }

    if (cycle->old_cycle == old_cycle) {
        cycle->old_cycle = NULL;
    }

    dh_destroy_pool(old_cycle->pool);
}


static dh_int_t
dh_cycle_keep_old(dh_cycle_t *old_cycle)
{
    dh_cycle_t  **slot;

    if (dh_old_cycles_pool == NULL) {
        dh_old_cycles_pool = dh_create_pool(1024, &dh_log);
        if (dh_old_cycles_pool == NULL) {
            return DH_ERROR;
        }

        if (dh_array_init(&dh_old_cycles, dh_old_cycles_pool, 2,
                          sizeof(dh_cycle_t *)) != DH_OK)
        {
            dh_destroy_pool(dh_old_cycles_pool);
            dh_old_cycles_pool = NULL;
            return DH_ERROR;
        }
    }

    slot = dh_array_push(&dh_old_cycles);
    if (slot == NULL) {
        return DH_ERROR;
    }

    *slot = old_cycle;

    return DH_OK;
}


void
dh_clean_old_cycles(void)
{
    dh_uint_t     i;
    dh_cycle_t  **old;

    old = dh_old_cycles.elts;

    for (i = 0; i < dh_old_cycles.nelts; i++) {
        dh_cycle_release_old((dh_cycle_t *) dh_cycle, old[i]);
    }

    dh_old_cycles.nelts = 0;
}


static dh_core_conf_t *
dh_cycle_core_conf(dh_cycle_t *cycle)
{
    return (dh_core_conf_t *) dh_get_conf(cycle->conf_ctx, dh_core_module);
}


dh_int_t
dh_create_pidfile(dh_str_t *name, dh_log_t *log)
{
    int      fd;
    char     path[PATH_MAX];
    u_char   text[DH_PID_TEXT_LEN];
    size_t   len;
    ssize_t  n;

    if (dh_process > DH_PROCESS_MASTER) {
        return DH_OK;
    }

    if (name->len >= sizeof(path)) {
        dh_log_error(DH_LOG_EMERG, log, 0, "pid file name is too long");
        return DH_ERROR;
    }

    dh_memcpy(path, name->data, name->len);
    path[name->len] = '\0';

    fd = open(path, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644);
    if (fd == -1) {
        dh_log_error(DH_LOG_EMERG, log, dh_errno, "open() \"%s\" failed",
                     path);
        return DH_ERROR;
    }

    len = dh_slprintf(text, text + sizeof(text), "%d\n", (int) dh_pid) - text;

    n = dh_write_fd_all(fd, text, len);

    if (n != (ssize_t) len) {
        dh_log_error(DH_LOG_EMERG, log, dh_errno, "write() to \"%s\" failed",
                     path);
        (void) close(fd);
        return DH_ERROR;
    }

    if (close(fd) == -1) {
        dh_log_error(DH_LOG_ALERT, log, dh_errno, "close() \"%s\" failed",
                     path);
    }

    return DH_OK;
}


/* Only while the file still names this process: after a reload moved
 * "pid", or a second server took the file over, it is not ours. */
void
dh_delete_pidfile(dh_cycle_t *cycle)
{
    dh_pid_t         pid;
    dh_core_conf_t  *ccf;

    ccf = dh_cycle_core_conf(cycle);

    if (ccf == NULL || ccf->pid.len == 0) {
        return;
    }

    if (dh_read_pidfile(&ccf->pid, &pid, NULL) != DH_OK || pid != dh_pid) {
        return;
    }

    if (unlink((char *) ccf->pid.data) == -1) {
        dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                     "unlink() \"%s\" failed", ccf->pid.data);
    }
}


/* log == NULL: a missing or odd file is not worth a message */
static dh_int_t
dh_read_pidfile(dh_str_t *name, dh_pid_t *pid, dh_log_t *log)
{
    int       fd;
    u_char    buf[DH_PID_TEXT_LEN];
    ssize_t   n;
    dh_int_t  value;

    fd = open((char *) name->data, O_RDONLY|O_CLOEXEC);
    if (fd == -1) {
        if (log) {
            dh_log_error(DH_LOG_ERR, log, dh_errno, "open() \"%s\" failed",
                         name->data);
        }
        return DH_ERROR;
    }

    n = read(fd, buf, sizeof(buf));

    (void) close(fd);

    if (n == -1) {
        if (log) {
            dh_log_error(DH_LOG_ERR, log, dh_errno, "read() \"%s\" failed",
                         name->data);
        }
        return DH_ERROR;
    }

    while (n > 0 && (buf[n - 1] == LF || buf[n - 1] == CR
                     || buf[n - 1] == ' '))
    {
        n--;
    }

    value = dh_atoi(buf, n);

    if (value == DH_ERROR || value == 0 || (size_t) n == sizeof(buf)) {
        if (log) {
            dh_log_error(DH_LOG_ERR, log, 0,
                         "invalid PID number \"%.*s\" in \"%s\"",
                         (int) n, buf, name->data);
        }
        return DH_ERROR;
    }

    *pid = (dh_pid_t) value;

    return DH_OK;
}


dh_int_t
dh_signal_process(dh_cycle_t *cycle, char *sig)
{
    dh_pid_t         pid;
    dh_core_conf_t  *ccf;

    ccf = dh_cycle_core_conf(cycle);

    if (dh_read_pidfile(&ccf->pid, &pid, cycle->log) != DH_OK) {
        return 1;
    }

    return (dh_os_signal_process(cycle, sig, pid) == DH_OK) ? 0 : 1;
}


/* USR1: new log files, and stderr (where library messages go) follows. */
void
dh_reopen_cycle_files(dh_cycle_t *cycle, uid_t user)
{
    dh_reopen_files(cycle, user);

    if (!dh_use_stderr) {
        (void) dh_log_redirect_stderr(cycle);
    }
}


/*
 * The core cannot add event timers, so worker_shutdown_timeout is a
 * deadline on dh_current_msec that the worker loop checks after every
 * round; while a worker exits the event layer never sleeps longer than
 * DH_EXIT_WAIT_MAX, so the deadline is noticed in time.
 */
void
dh_set_shutdown_timer(dh_cycle_t *cycle)
{
    dh_core_conf_t  *ccf;

    ccf = dh_cycle_core_conf(cycle);

    dh_shutdown_at = dh_current_msec + ccf->shutdown_timeout;
    dh_shutdown_armed = 1;
}


dh_uint_t
dh_shutdown_timer_expired(void)
{
    return dh_shutdown_armed
           && (dh_msec_int_t) (dh_current_msec - dh_shutdown_at) >= 0;
}


void
dh_cancel_shutdown_timer(void)
{
    dh_shutdown_armed = 0;
}

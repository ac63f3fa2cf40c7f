/*
 * The event modules: `events { }` and its directives, the per-worker
 * setup (epoll, timers, connection array, listeners, thread-pool
 * notifications), one round of the loop, and the hooks through which the
 * core's worker loop drives the graceful exit (dh_event_hooks).
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_event.h"


#define DH_DEFAULT_CONNECTIONS  1024
#define DH_EPOLL_EVENTS         512

/* after worker_shutdown_timeout, how long the protocol gets to send its
 * last words (503s) before the worker exits regardless */
#define DH_SHUTDOWN_FORCE_GRACE 1000


static char *dh_events_block(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static char *dh_events_init_conf(dh_cycle_t *cycle, void *conf);
static dh_int_t dh_events_default_conf(dh_cycle_t *cycle);
static void *dh_event_core_create_conf(dh_cycle_t *cycle);
static char *dh_event_core_init_conf(dh_cycle_t *cycle, void *conf);
static dh_int_t dh_event_module_init(dh_cycle_t *cycle);
static dh_int_t dh_event_process_init(dh_cycle_t *cycle);
static void dh_event_process_exit(dh_cycle_t *cycle);

static void dh_event_shutdown_begin(dh_cycle_t *cycle);
static dh_uint_t dh_event_can_exit(dh_cycle_t *cycle);
static void dh_event_shutdown_timeout(dh_cycle_t *cycle);
static dh_int_t dh_event_add_channel(dh_cycle_t *cycle, dh_fd_t fd,
    void (*handler)(dh_cycle_t *cycle));


dh_uint_t         dh_event_flags;
dh_uint_t         dh_accept_disabled_n;

static dh_uint_t  dh_event_max_module;
static dh_uint_t  dh_event_forced;        /* shutdown_timeout was called */
static dh_msec_t  dh_event_forced_at;

static void     (*dh_event_channel_handler_pt)(dh_cycle_t *cycle);


static dh_command_t  dh_events_commands[] = {

    { dh_string("events"),
      DH_MAIN_CONF|DH_CONF_BLOCK|DH_CONF_NOARGS,
      dh_events_block,
      0,
      0,
      NULL },

      dh_null_command
};


static dh_core_module_t  dh_events_module_ctx = {
    dh_string("events"),
    NULL,
    dh_events_init_conf
};


dh_module_t  dh_events_module = {
    DH_MODULE_V1,
    &dh_events_module_ctx,                 /* module context */
    dh_events_commands,                    /* module directives */
    DH_CORE_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    DH_MODULE_V1_PADDING
};


static dh_conf_num_bounds_t  dh_event_connections_bounds = {
    dh_conf_check_num_bounds, 1, INT_MAX
};


static dh_str_t  dh_event_core_name = dh_string("event_core");


static dh_command_t  dh_event_core_commands[] = {

    { dh_string("worker_connections"),
      DH_EVENT_CONF|DH_CONF_TAKE1,
      dh_conf_set_num_slot,
      0,
      offsetof(dh_event_conf_t, connections),
      &dh_event_connections_bounds },

    { dh_string("multi_accept"),
      DH_EVENT_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      0,
      offsetof(dh_event_conf_t, multi_accept),
      NULL },

    { dh_string("accept_exclusive"),
      DH_EVENT_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      0,
      offsetof(dh_event_conf_t, accept_exclusive),
      NULL },

      dh_null_command
};


static dh_event_module_t  dh_event_core_module_ctx = {
    &dh_event_core_name,
    dh_event_core_create_conf,
    dh_event_core_init_conf
};


dh_module_t  dh_event_core_module = {
    DH_MODULE_V1,
    &dh_event_core_module_ctx,             /* module context */
    dh_event_core_commands,                /* module directives */
    DH_EVENT_MODULE,                       /* module type */
    dh_event_module_init,                  /* init module */
    dh_event_process_init,                 /* init process */
    dh_event_process_exit,                 /* exit process */
    NULL,                                  /* exit master */
    DH_MODULE_V1_PADDING
};


void *
dh_event_get_conf(void ****conf_ctx, dh_module_t *module)
{
    return (*(conf_ctx[dh_events_module.index]))[module->ctx_index];
}


/* ---- configuration ---------------------------------------------------- */


static void ***
dh_events_create_ctx(dh_cycle_t *cycle, dh_pool_t *pool)
{
    void               ***ctx;
    dh_uint_t             i;
    dh_module_t          *module;
    dh_event_module_t    *m;

    dh_event_max_module = (dh_uint_t) dh_count_modules(cycle,
                                                       DH_EVENT_MODULE);

    ctx = dh_pcalloc(pool, sizeof(void *));
    if (ctx == NULL) {
        return NULL;
    }

    *ctx = dh_pcalloc(pool, dh_event_max_module * sizeof(void *));
    if (*ctx == NULL) {
        return NULL;
    }

    for (i = 0; cycle->modules[i]; i++) {
        module = cycle->modules[i];

        if (module->type != DH_EVENT_MODULE) {
            continue;
        }

        m = module->ctx;

        if (m->create_conf) {
            (*ctx)[module->ctx_index] = m->create_conf(cycle);
            if ((*ctx)[module->ctx_index] == NULL) {
                return NULL;
            }
        }
    }

    return ctx;
}


static char *
dh_events_init_ctx(dh_cycle_t *cycle, void ***ctx)
{
    char               *rv;
    dh_uint_t           i;
    dh_module_t        *module;
    dh_event_module_t  *m;

    for (i = 0; cycle->modules[i]; i++) {
        module = cycle->modules[i];

        if (module->type != DH_EVENT_MODULE) {
            continue;
        }

        m = module->ctx;

        if (m->init_conf) {
            rv = m->init_conf(cycle, (*ctx)[module->ctx_index]);
            if (rv != DH_CONF_OK) {
                return rv;
            }
        }
    }

    return DH_CONF_OK;
}


static char *
dh_events_block(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    char       *rv;
    void     ***ctx;
    dh_conf_t   pcf;

    if (*(void **) conf) {
        return "is duplicate";
    }

    ctx = dh_events_create_ctx(cf->cycle, cf->pool);
    if (ctx == NULL) {
        return DH_CONF_ERROR;
    }

    *(void **) conf = ctx;

    pcf = *cf;
    cf->ctx = ctx;
    cf->module_type = DH_EVENT_MODULE;
    cf->cmd_type = DH_EVENT_CONF;

    rv = dh_conf_parse(cf, NULL);

    *cf = pcf;

    if (rv != DH_CONF_OK) {
        return rv;
    }

    return dh_events_init_ctx(cf->cycle, ctx);
}


/* No events block: every event module gets its defaults, so the rest of
 * the server can always find an event configuration. */
static dh_int_t
dh_events_default_conf(dh_cycle_t *cycle)
{
    void  ***ctx;

    ctx = dh_events_create_ctx(cycle, cycle->pool);
    if (ctx == NULL) {
        return DH_ERROR;
    }

    if (dh_events_init_ctx(cycle, ctx) != DH_CONF_OK) {
        return DH_ERROR;
    }

    cycle->conf_ctx[dh_events_module.index] = ctx;

    return DH_OK;
}


static char *
dh_events_init_conf(dh_cycle_t *cycle, void *conf)
{
    if (conf == NULL && dh_events_default_conf(cycle) != DH_OK) {
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


static void *
dh_event_core_create_conf(dh_cycle_t *cycle)
{
    dh_event_conf_t  *ecf;

    ecf = dh_palloc(cycle->pool, sizeof(dh_event_conf_t));
    if (ecf == NULL) {
        return NULL;
    }

    ecf->connections = DH_CONF_UNSET_UINT;
    ecf->multi_accept = DH_CONF_UNSET;
    ecf->accept_exclusive = DH_CONF_UNSET;
    ecf->events = DH_CONF_UNSET_UINT;

    return ecf;
}


static char *
dh_event_core_init_conf(dh_cycle_t *cycle, void *conf)
{
    dh_event_conf_t  *ecf = conf;

    dh_conf_init_uint_value(ecf->connections, DH_DEFAULT_CONNECTIONS);
    dh_conf_init_value(ecf->multi_accept, 0);
    dh_conf_init_value(ecf->accept_exclusive, 1);
    dh_conf_init_uint_value(ecf->events, DH_EPOLL_EVENTS);

    cycle->connection_n = ecf->connections;

    return DH_CONF_OK;
}


/* ---- master side -------------------------------------------------------- */


static dh_int_t
dh_event_module_init(dh_cycle_t *cycle)
{
    rlim_t            limit;
    struct rlimit     rlmt;
    dh_core_conf_t   *ccf;
    dh_event_conf_t  *ecf;

    /* dh_events_init_conf normally did this; a core that skips init_conf
     * for a NULL configuration still gets a usable one */
    if (cycle->conf_ctx[dh_events_module.index] == NULL
        && dh_events_default_conf(cycle) != DH_OK)
    {
        return DH_ERROR;
    }

    dh_event_hooks.process_events_and_timers = dh_process_events_and_timers;
    dh_event_hooks.shutdown_begin = dh_event_shutdown_begin;
    dh_event_hooks.can_exit = dh_event_can_exit;
    dh_event_hooks.shutdown_timeout = dh_event_shutdown_timeout;
    dh_event_hooks.add_channel = dh_event_add_channel;

    ecf = dh_event_get_conf(cycle->conf_ctx, &dh_event_core_module);
    ccf = (dh_core_conf_t *) dh_get_conf(cycle->conf_ctx, dh_core_module);

    if (ccf->rlimit_nofile != DH_CONF_UNSET) {
        limit = (rlim_t) ccf->rlimit_nofile;

    } else if (getrlimit(RLIMIT_NOFILE, &rlmt) == 0) {
        limit = rlmt.rlim_cur;

    } else {
        return DH_OK;
    }

    if (limit != RLIM_INFINITY && ecf->connections > limit) {
        dh_log_error(DH_LOG_WARN, cycle->log, 0,
                     "%lu worker_connections exceed "
                     "open file resource limit: %lu",
                     (unsigned long) ecf->connections, (unsigned long) limit);
    }

    return DH_OK;
}


/* ---- worker side -------------------------------------------------------- */


static dh_log_t *
dh_event_listening_log(dh_listening_t *ls, dh_cycle_t *cycle)
{
    if (ls->logp) {
        return ls->logp;
    }

    if (ls->log.file) {
        return &ls->log;
    }

    return cycle->log;
}


static dh_connection_t *
dh_get_internal_connection(dh_socket_t fd, dh_log_t *log)
{
    dh_connection_t  *c;

    c = dh_get_connection(fd, log);
    if (c == NULL) {
        return NULL;
    }

    c->internal = 1;
    dh_event_ctx->internal_n++;

    return c;
}


/* Gives up an internal slot without closing its fd (someone else owns
 * it: the core's listening list, the channel, the thread pool). */
static void
dh_free_internal_connection(dh_connection_t *c)
{
    dh_event_del_timer(c->read);
    dh_delete_posted_event(c->read);

    c->read->active = 0;
    c->read->closed = 1;
    c->fd = -1;

    dh_free_connection(c);
}


static dh_int_t
dh_event_init_connections(dh_cycle_t *cycle, dh_event_conf_t *ecf)
{
    dh_uint_t         i, n;
    dh_event_t       *rev, *wev;
    dh_event_ctx_t   *ctx;
    dh_connection_t  *c, *next;

    n = ecf->connections;

    ctx = dh_pcalloc(cycle->pool, sizeof(dh_event_ctx_t));
    if (ctx == NULL) {
        return DH_ERROR;
    }

    ctx->connections = dh_palloc(cycle->pool, n * sizeof(dh_connection_t));
    ctx->read_events = dh_palloc(cycle->pool, n * sizeof(dh_event_t));
    ctx->write_events = dh_palloc(cycle->pool, n * sizeof(dh_event_t));

    if (ctx->connections == NULL || ctx->read_events == NULL
        || ctx->write_events == NULL)
    {
        return DH_ERROR;
    }

    c = ctx->connections;
    rev = ctx->read_events;
    wev = ctx->write_events;

    dh_memzero(rev, n * sizeof(dh_event_t));
    dh_memzero(wev, n * sizeof(dh_event_t));

    next = NULL;
    i = n;

    do {
        i--;

        rev[i].closed = 1;
        rev[i].instance = 1;
        wev[i].closed = 1;

        c[i].data = next;
        c[i].read = &rev[i];
        c[i].write = &wev[i];
        c[i].fd = -1;

        next = &c[i];

    } while (i);

    ctx->free_connections = next;
    ctx->free_connection_n = n;
    ctx->connection_n = n;

    dh_queue_init(&ctx->reusable_connections_queue);

    dh_event_ctx = ctx;
    cycle->event_ctx = ctx;

    return DH_OK;
}


static dh_int_t
dh_event_add_listeners(dh_cycle_t *cycle)
{
    dh_uint_t         i, flags;
    dh_event_t       *rev;
    dh_listening_t   *ls;
    dh_connection_t  *c;

    ls = cycle->listening.elts;

    dh_event_ctx->listeners = dh_palloc(cycle->pool,
                                 (cycle->listening.nelts + 1)
                                 * sizeof(dh_connection_t *));
    if (dh_event_ctx->listeners == NULL) {
        return DH_ERROR;
    }

    for (i = 0; i < cycle->listening.nelts; i++) {

        if (ls[i].fd == -1) {
            continue;
        }

        /* every worker inherits every reuseport clone; it serves only
         * its own and leaves the others' queues alone */
        if (ls[i].reuseport && ls[i].worker != dh_worker) {
            continue;
        }

        c = dh_get_internal_connection(ls[i].fd,
                                       dh_event_listening_log(&ls[i], cycle));
        if (c == NULL) {
            return DH_ERROR;
        }

        c->type = ls[i].type;
        c->listening = &ls[i];

        rev = c->read;
        rev->accept = 1;
        rev->handler = dh_event_accept;

        flags = DH_LEVEL_EVENT;

        if ((dh_event_flags & DH_USE_EXCLUSIVE_ACCEPT) && !ls[i].reuseport) {
            flags |= DH_EXCLUSIVE_EVENT;
        }

        if (dh_add_event(rev, DH_READ_EVENT, flags) != DH_OK) {
            return DH_ERROR;
        }

        dh_event_ctx->listeners[dh_event_ctx->listeners_n++] = c;
    }

    return DH_OK;
}


static void
dh_event_thread_pool_handler(dh_event_t *ev)
{
    dh_connection_t  *c;

    c = ev->data;

    /* dh_thread_pool_process_done() reads the eventfd itself, before it
     * takes the done list, so no completion is ever left unannounced */
    dh_thread_pool_process_done(c->data);
}


static dh_int_t
dh_event_add_thread_pools(dh_cycle_t *cycle)
{
    dh_uint_t          i;
    dh_array_t        *pools;
    dh_connection_t   *c;
    dh_thread_pool_t **tpp;

    pools = dh_thread_pools(cycle);

    if (pools == NULL) {
        return DH_OK;
    }

    tpp = pools->elts;

    for (i = 0; i < pools->nelts; i++) {

        if (tpp[i]->notify_fd == -1) {
            continue;
        }

        c = dh_get_internal_connection(tpp[i]->notify_fd, cycle->log);
        if (c == NULL) {
            return DH_ERROR;
        }

        c->data = tpp[i];
        c->read->handler = dh_event_thread_pool_handler;

        if (dh_add_event(c->read, DH_READ_EVENT, DH_LEVEL_EVENT) != DH_OK) {
            return DH_ERROR;
        }
    }

    return DH_OK;
}


static dh_int_t
dh_event_process_init(dh_cycle_t *cycle)
{
    dh_int_t          workers;
    dh_core_conf_t   *ccf;
    dh_event_conf_t  *ecf;

    ecf = dh_event_get_conf(cycle->conf_ctx, &dh_event_core_module);
    ccf = (dh_core_conf_t *) dh_get_conf(cycle->conf_ctx, dh_core_module);

    workers = ccf->worker_processes;
    if (workers <= 0) {
        workers = (dh_int_t) dh_ncpu;
    }

    dh_event_flags = 0;
    dh_accept_disabled_n = 0;
    dh_event_forced = 0;

    /* several workers wait on the same sockets: wake only one of them per
     * connection, and let an overloaded one step aside */
    if (ccf->master && workers > 1) {
        dh_event_flags |= DH_USE_ACCEPT_THROTTLE;

#if (DH_HAVE_EPOLLEXCLUSIVE)
        if (ecf->accept_exclusive) {
            dh_event_flags |= DH_USE_EXCLUSIVE_ACCEPT;
        }
#endif
    }

    if (ecf->multi_accept) {
        dh_event_flags |= DH_USE_MULTI_ACCEPT;
    }

    dh_queue_init(&dh_posted_accept_events);
    dh_queue_init(&dh_posted_events);
    dh_queue_init(&dh_posted_next_events);

    if (dh_event_timer_init(cycle->log) != DH_OK) {
        return DH_ERROR;
    }

    if (dh_epoll_init(cycle, ecf->events) != DH_OK) {
        return DH_ERROR;
    }

    if (dh_event_init_connections(cycle, ecf) != DH_OK) {
        return DH_ERROR;
    }

    /* a helper process (storage, mcp host) never accepts clients */
    if (dh_process != DH_PROCESS_HELPER
        && dh_event_add_listeners(cycle) != DH_OK)
    {
        return DH_ERROR;
    }

    return dh_event_add_thread_pools(cycle);
}


static void
dh_event_process_exit(dh_cycle_t *cycle)
{
    dh_epoll_done(cycle);
}


void
dh_process_events_and_timers(dh_cycle_t *cycle)
{
    dh_msec_t  timer;

    if (!dh_queue_empty(&dh_posted_next_events)) {
        dh_event_move_posted_next(cycle);
        timer = 0;

    } else {
        timer = dh_event_find_timer();
    }

    /* the core checks its shutdown deadline between rounds */
    if (dh_exiting && timer > DH_EXIT_WAIT_MAX) {
        timer = DH_EXIT_WAIT_MAX;
    }

    /* the overload throttle lifts as soon as connections are freed */
    if (dh_accept_disabled_n) {
        dh_event_update_accept();
    }

    (void) dh_process_events(cycle, timer, DH_UPDATE_TIME);

    dh_event_process_posted(cycle, &dh_posted_accept_events);

    dh_event_expire_timers();

    dh_event_process_posted(cycle, &dh_posted_events);
}


/*
 * Connections are registered for both directions, edge-triggered, from
 * dh_add_conn() until they are closed, so there is nothing to re-arm after
 * EAGAIN.  Only a connection that was never registered is added here.
 * SO_SNDLOWAT cannot be changed on Linux, so `lowat` has no effect.
 */
dh_int_t
dh_handle_read_event(dh_event_t *rev, dh_uint_t flags)
{
    dh_connection_t  *c;

    c = rev->data;

    if (rev->active || c->write->active || c->fd == -1) {
        return DH_OK;
    }

    return dh_add_conn(c);
}


dh_int_t
dh_handle_write_event(dh_event_t *wev, size_t lowat)
{
    dh_connection_t  *c;

    c = wev->data;

    if (wev->active || c->read->active || c->fd == -1) {
        return DH_OK;
    }

    return dh_add_conn(c);
}


/* ---- graceful exit hooks ------------------------------------------------ */

/*
 * The contract with the protocols, for a graceful exit:
 *
 * shutdown_begin: the listeners leave this worker's epoll set and their
 *   fds are closed here; then every connection with c->idle set is woken:
 *   c->close = 1 and its read handler is called, possibly with no data
 *   (rev->ready may be 0).  The protocol closes it, or keeps it for a
 *   short grace (a request already on its way) and closes it afterwards;
 *   busy connections are not touched and should close after their
 *   current response (the protocol sees dh_exiting).
 *
 * can_exit: 1 when no client connection is open (listeners, the channel
 *   and thread-pool notifications do not count) and every timer left is
 *   cancelable.  So a protocol must close its connections; timers that
 *   must not hold the worker (keep-alive waits, module housekeeping) set
 *   ev->cancelable.  Also 1 once DH_SHUTDOWN_FORCE_GRACE ms have passed
 *   since shutdown_timeout: whatever is still open is then closed by
 *   exit().
 *
 * shutdown_timeout: every client connection is woken the same way
 *   (c->close = 1, read handler called), busy or idle.  The protocol
 *   answers a request that arrives now with 503 + Retry-After and closes
 *   everything else at once.
 */


static void
dh_event_shutdown_begin(dh_cycle_t *cycle)
{
    dh_uint_t         i;
    dh_connection_t  *lc;

    if (dh_event_ctx == NULL) {
        return;
    }

    dh_event_flags |= DH_ACCEPT_STOPPED;

    /* the master and the new workers keep these sockets open, so closing
     * our copy would not take it out of our epoll set: delete first */
    for (i = 0; i < dh_event_ctx->listeners_n; i++) {
        lc = dh_event_ctx->listeners[i];

        if (lc->read->active) {
            dh_del_event(lc->read, DH_READ_EVENT, 0);
        }

        dh_free_internal_connection(lc);
    }

    dh_event_ctx->listeners_n = 0;

    dh_close_listening_sockets(cycle);

    dh_close_idle_connections(cycle);
}


static dh_uint_t
dh_event_can_exit(dh_cycle_t *cycle)
{
    dh_uint_t  active;

    active = dh_active_connections(cycle);

    if (active == 0 && dh_event_no_timers_left()) {
        return 1;
    }

    if (dh_event_forced
        && (dh_msec_int_t) (dh_current_msec - dh_event_forced_at)
           >= DH_SHUTDOWN_FORCE_GRACE)
    {
        dh_log_error(DH_LOG_INFO, cycle->log, 0,
                     "exiting with %lu open connections",
                     (unsigned long) active);
        return 1;
    }

    return 0;
}


static void
dh_event_shutdown_timeout(dh_cycle_t *cycle)
{
    dh_uint_t         i;
    dh_connection_t  *c;

    if (!dh_event_forced) {
        dh_event_forced = 1;
        dh_event_forced_at = dh_current_msec;
    }

    if (dh_event_ctx == NULL) {
        return;
    }

    c = dh_event_ctx->connections;

    for (i = 0; i < dh_event_ctx->connection_n; i++) {
        if (c[i].fd != -1 && !c[i].internal) {
            c[i].close = 1;
            c[i].read->handler(c[i].read);
        }
    }
}


static void
dh_event_channel_handler(dh_event_t *ev)
{
    dh_fd_t           fd;
    dh_connection_t  *c;

    c = ev->data;
    fd = c->fd;

    dh_event_channel_handler_pt(c->data);

    /* the handler closes the channel when the master is gone; the fd is
     * then no longer ours to watch */
    if (c->fd == fd && fcntl(fd, F_GETFD) == -1 && dh_errno == EBADF) {
        dh_free_internal_connection(c);
    }
}


static dh_int_t
dh_event_add_channel(dh_cycle_t *cycle, dh_fd_t fd,
    void (*handler)(dh_cycle_t *cycle))
{
    dh_connection_t  *c;

    c = dh_get_internal_connection(fd, cycle->log);
    if (c == NULL) {
        return DH_ERROR;
    }

    dh_event_channel_handler_pt = handler;

    c->data = cycle;
    c->read->channel = 1;
    c->read->handler = dh_event_channel_handler;

    if (dh_add_event(c->read, DH_READ_EVENT, DH_LEVEL_EVENT) != DH_OK) {
        dh_free_internal_connection(c);
        return DH_ERROR;
    }

    return DH_OK;
}

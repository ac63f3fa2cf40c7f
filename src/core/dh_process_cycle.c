/*
 * The master loop, the worker and helper processes, and the
 * single-process mode (master_process off).
 *
 * The master never serves requests.  It keeps the managed signals
 * blocked except inside sigsuspend(), so a flag set by a handler is always
 * seen by the next pass of its loop.  Each pass handles, in this order:
 * dead children (respawn with back-off), fast stop, graceful stop, reload,
 * log reopening, and "stop accepting" (WINCH).
 *
 * Workers drive the event loop only through dh_event_hooks.
 */

#include "dh_config.h"
#include "dh_core.h"


#define DH_QUICK_DEATH_MSEC      1000    /* died this soon: "at start" */
#define DH_RESPAWN_GIVE_UP       10      /* quick deaths in a row */
#define DH_RESPAWN_DELAY_BASE    100
#define DH_RESPAWN_DELAY_MAX     5000
#define DH_TERMINATE_FIRST       50      /* TERM repeats, doubling ... */
#define DH_TERMINATE_KILL        1000    /* ... then KILL past this */
#define DH_RELOAD_START_USEC     100000  /* new workers start first */
#define DH_MASTER_TITLE_LEN      1024

#define DH_WORKER_NAME           "worker process"


static dh_int_t dh_event_hooks_ready(dh_log_t *log);
static void dh_master_block_signals(dh_cycle_t *cycle);
static void dh_master_set_title(void);
static void dh_start_worker_processes(dh_cycle_t *cycle, dh_int_t n,
    dh_int_t type);
static void dh_start_helper_processes(dh_cycle_t *cycle, dh_int_t type);
static void dh_signal_children(dh_cycle_t *cycle, int signo);
static dh_uint_t dh_channel_command(int signo);
static dh_uint_t dh_reap_children(dh_cycle_t *cycle);
static dh_uint_t dh_reap_one(dh_cycle_t *cycle, dh_int_t i);
static void dh_schedule_respawn(dh_cycle_t *cycle, dh_int_t i);
static dh_uint_t dh_respawn_due(dh_cycle_t *cycle);
static dh_uint_t dh_respawn_now(dh_cycle_t *cycle, dh_int_t i);
static void dh_free_slot(dh_int_t i);
static void dh_master_arm_timer(dh_cycle_t *cycle);
static void dh_master_terminate(dh_cycle_t *cycle);
static dh_cycle_t *dh_master_reconfigure(dh_cycle_t *cycle);
static void dh_master_reopen(dh_cycle_t *cycle);
static void dh_master_process_exit(dh_cycle_t *cycle, int status);
static void dh_master_give_up(dh_cycle_t *cycle, char *name);

static void dh_child_init(dh_cycle_t *cycle);
static void dh_child_drop_privileges(dh_cycle_t *cycle, dh_core_conf_t *ccf);
static void dh_child_close_channels(dh_cycle_t *cycle);
static void dh_worker_process_cycle(dh_cycle_t *cycle, void *data);
static void dh_helper_process_cycle(dh_cycle_t *cycle, void *data);
static void dh_channel_handler(dh_cycle_t *cycle);
static void dh_serve_round(dh_cycle_t *cycle);
static void dh_begin_graceful_exit(dh_cycle_t *cycle);
static void dh_check_shutdown_timeout(dh_cycle_t *cycle);
static dh_int_t dh_init_process_modules(dh_cycle_t *cycle);
static void dh_exit_process_modules(dh_cycle_t *cycle);
static void dh_exit_master_modules(dh_cycle_t *cycle);
static void dh_worker_process_exit(dh_cycle_t *cycle);

static dh_cycle_t *dh_single_reconfigure(dh_cycle_t *cycle);
static void dh_single_drain(dh_cycle_t *cycle);
static void dh_single_process_exit(dh_cycle_t *cycle, int status);


dh_event_hooks_t  dh_event_hooks;

dh_uint_t      dh_process;
dh_uint_t      dh_worker;
dh_pid_t       dh_new_binary;
dh_uint_t      dh_inherited;
dh_uint_t      dh_daemonized;
dh_uint_t      dh_exiting;
dh_uint_t      dh_shutdown_expired;

sig_atomic_t   dh_reap;
sig_atomic_t   dh_sigio;
sig_atomic_t   dh_sigalrm;
sig_atomic_t   dh_quit;
sig_atomic_t   dh_debug_quit;
sig_atomic_t   dh_terminate;
sig_atomic_t   dh_noaccept;
sig_atomic_t   dh_reconfigure;
sig_atomic_t   dh_reopen;
sig_atomic_t   dh_change_binary;

void         (*dh_child_exited_hook)(dh_cycle_t *cycle, dh_pid_t pid,
                                     int status);

static dh_uint_t   dh_noaccepting;      /* WINCH: workers stopped on purpose */
static dh_msec_t   dh_terminate_delay;  /* 0: TERM not sent yet */
static dh_msec_t   dh_terminate_at;     /* next TERM/KILL round */


/* ---- master ------------------------------------------------------------ */


void
dh_master_process_cycle(dh_cycle_t *cycle)
{
    sigset_t         set;
    dh_uint_t        live;
    dh_core_conf_t  *ccf;

    if (dh_event_hooks_ready(cycle->log) != DH_OK) {
        dh_master_process_exit(cycle, 1);
    }

    dh_master_block_signals(cycle);
    dh_master_set_title();

    ccf = (dh_core_conf_t *) dh_get_conf(cycle->conf_ctx, dh_core_module);

    dh_start_worker_processes(cycle, ccf->worker_processes,
                              DH_PROCESS_RESPAWN);
    dh_start_helper_processes(cycle, DH_PROCESS_RESPAWN);

    /* listeners bound, workers forked: the status report says UP */
    dh_metrics_master_started(cycle);

    sigemptyset(&set);

    for ( ;; ) {
        dh_master_arm_timer(cycle);

        sigsuspend(&set);

        dh_time_update();
        dh_log_received_signals(cycle->log);

        if (dh_reap) {
            dh_reap = 0;
            dh_process_get_status();
        }

        live = dh_reap_children(cycle);
        live |= dh_respawn_due(cycle);

        if (!live && (dh_terminate || dh_quit)) {
            dh_master_process_exit(cycle, 0);
        }

        if (dh_terminate) {
            dh_master_terminate(cycle);
            continue;
        }

        if (dh_quit) {
            if (dh_quit == 1) {
                dh_log_error(DH_LOG_NOTICE, cycle->log, 0,
                             "gracefully shutting down");
                dh_quit = 2;
            }

            /* repeated on every pass for children started meanwhile;
             * those already asked are skipped */
            dh_signal_children(cycle, SIGQUIT);
            dh_close_listening_sockets(cycle);
            continue;
        }

        if (dh_reconfigure) {
            dh_reconfigure = 0;
            cycle = dh_master_reconfigure(cycle);
        }

        if (dh_reopen) {
            dh_reopen = 0;
            dh_master_reopen(cycle);
        }

        if (dh_noaccept) {
            dh_noaccept = 0;
            dh_noaccepting = 1;
            dh_signal_children(cycle, SIGQUIT);
        }
    }
}


static dh_int_t
dh_event_hooks_ready(dh_log_t *log)
{
    if (dh_event_hooks.process_events_and_timers == NULL
        || dh_event_hooks.shutdown_begin == NULL
        || dh_event_hooks.can_exit == NULL
        || dh_event_hooks.shutdown_timeout == NULL
        || dh_event_hooks.add_channel == NULL)
    {
        dh_log_error(DH_LOG_EMERG, log, 0,
                     "no event loop: the event module did not set "
                     "dh_event_hooks");
        return DH_ERROR;
    }

    return DH_OK;
}


static void
dh_master_block_signals(dh_cycle_t *cycle)
{
    sigset_t  set;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGALRM);
    sigaddset(&set, SIGIO);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGWINCH);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGQUIT);

    if (sigprocmask(SIG_BLOCK, &set, NULL) == -1) {
        dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                     "sigprocmask() failed");
    }
}


/* "master process /path/objs/divehttpd -p /prefix/ -c conf" */
static void
dh_master_set_title(void)
{
    int     i;
    char    title[DH_MASTER_TITLE_LEN], *p, *last;
    size_t  n;

    p = title;
    last = title + sizeof(title);

    n = snprintf(p, last - p, "master process");
    p += dh_min(n, (size_t) (last - p - 1));

    for (i = 0; i < dh_argc && dh_argv[i]; i++) {
        n = snprintf(p, last - p, " %s", dh_argv[i]);
        p += dh_min(n, (size_t) (last - p - 1));
    }

    dh_setproctitle(title);
}


static void
dh_start_worker_processes(dh_cycle_t *cycle, dh_int_t n, dh_int_t type)
{
    dh_int_t  i;

    for (i = 0; i < n; i++) {
        (void) dh_spawn_process(cycle, dh_worker_process_cycle,
                                (void *) (intptr_t) i, DH_WORKER_NAME, type);
    }
}


static void
dh_start_helper_processes(dh_cycle_t *cycle, dh_int_t type)
{
    char          name[64];
    dh_uint_t     i;
    dh_helper_t  *helper;

    helper = cycle->helpers.elts;

    for (i = 0; i < cycle->helpers.nelts; i++) {
        (void) snprintf(name, sizeof(name), "%.*s process",
                        DH_STR_FMT(helper[i].name));

        if (dh_spawn_process(cycle, dh_helper_process_cycle, &helper[i],
                             name, type)
            != DH_INVALID_PID)
        {
            dh_processes[dh_process_slot].helper = 1;
        }
    }
}


dh_int_t
dh_register_helper(dh_cycle_t *cycle, dh_helper_t *helper)
{
    dh_helper_t  *h;

    if (cycle->helpers.elts == NULL
        && dh_array_init(&cycle->helpers, cycle->pool, 2, sizeof(dh_helper_t))
           != DH_OK)
    {
        return DH_ERROR;
    }

    h = dh_array_push(&cycle->helpers);
    if (h == NULL) {
        return DH_ERROR;
    }

    *h = *helper;

    return DH_OK;
}


/*
 * Workers get the command over their channel (it wakes their event loop
 * at once); kill() is the fallback when the channel is full or gone.
 * Helpers run their own loop and are always signalled.  Children started
 * by this reload (just_spawn) are skipped once: the QUIT is for the old.
 */
static void
dh_signal_children(dh_cycle_t *cycle, int signo)
{
    dh_int_t       i;
    dh_channel_t   ch;
    dh_process_t  *p;

    dh_memzero(&ch, sizeof(dh_channel_t));
    ch.command = dh_channel_command(signo);
    ch.fd = -1;

    for (i = 0; i < dh_last_process; i++) {
        p = &dh_processes[i];

        if (p->detached || p->pid == DH_INVALID_PID) {
            continue;
        }

        if (p->exited) {
            /* dead and waiting for its back-off: stay dead */
            if (p->respawn_at && signo != SIGUSR1) {
                p->respawn_at = 0;
                p->exiting = 1;
            }
            continue;
        }

        if (p->just_spawn) {
            p->just_spawn = 0;
            continue;
        }

        if (p->exiting && signo == SIGQUIT) {
            continue;
        }

        if (ch.command && !p->helper && p->channel[0] != -1
            && signo != SIGKILL)
        {
            ch.pid = dh_processes[i].pid;
            ch.slot = i;

            if (dh_write_channel(p->channel[0], &ch, sizeof(dh_channel_t),
                                 cycle->log)
                == DH_OK)
            {
                if (signo != SIGUSR1) {
                    p->exiting = 1;
                }
                continue;
            }
        }

        if (kill(p->pid, signo) == -1) {
            if (dh_errno == ESRCH) {
                /* already gone; the next reap will notice */
                dh_reap = 1;
                continue;
            }

            dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                         "kill(%d, %d) failed", (int) p->pid, signo);
            continue;
        }

        if (signo != SIGUSR1) {
            p->exiting = 1;
        }
    }
}


static dh_uint_t
dh_channel_command(int signo)
{
    switch (signo) {
    case SIGQUIT:  return DH_CMD_QUIT;
    case SIGTERM:  return DH_CMD_TERMINATE;
    case SIGUSR1:  return DH_CMD_REOPEN;
    default:       return 0;
    }
}


/* Returns 1 while any child is alive or due to be respawned. */
static dh_uint_t
dh_reap_children(dh_cycle_t *cycle)
{
    dh_int_t   i;
    dh_uint_t  live;

    live = 0;

    for (i = 0; i < dh_last_process; i++) {
        if (dh_processes[i].pid == DH_INVALID_PID) {
            continue;
        }

        live |= dh_reap_one(cycle, i);
    }

    while (dh_last_process > 0
           && dh_processes[dh_last_process - 1].pid == DH_INVALID_PID)
    {
        dh_last_process--;
    }

    return live;
}


static dh_uint_t
dh_reap_one(dh_cycle_t *cycle, dh_int_t i)
{
    dh_process_t  *p;

    p = &dh_processes[i];

    if (!p->exited) {
        return p->exiting || !p->detached;
    }

    if (p->respawn_at) {
        /* already reaped, waiting for its back-off to pass */
        if (!dh_quit && !dh_terminate) {
            return 1;
        }

        dh_free_slot(i);
        return 0;
    }

    if (p->channel[0] != -1) {
        dh_close_channel(p->channel, cycle->log);
    }

    /* keep the dead child's counters in the totals */
    dh_metrics_process_exited(p->pid);

    if (dh_child_exited_hook) {
        dh_child_exited_hook(cycle, p->pid, p->status);
    }

    if (p->respawn && !p->exiting && !dh_terminate && !dh_quit) {
        dh_schedule_respawn(cycle, i);
        return 1;
    }

    dh_free_slot(i);

    return 0;
}


/* A child that dies within a second of its start is likely to die again:
 * wait 100ms * 2^N (at most 5 s) after its N-th quick death in a row, and
 * give the whole server up after 10 of them. */
static void
dh_schedule_respawn(dh_cycle_t *cycle, dh_int_t i)
{
    dh_msec_t      delay;
    dh_process_t  *p;

    p = &dh_processes[i];

    if (dh_current_msec - p->spawned_msec < DH_QUICK_DEATH_MSEC) {
        p->respawns++;

    } else {
        p->respawns = 0;
    }

    if (p->respawns >= DH_RESPAWN_GIVE_UP) {
        dh_master_give_up(cycle, p->name);
    }

    if (p->respawns == 0) {
        (void) dh_respawn_now(cycle, i);
        return;
    }

    delay = (dh_msec_t) DH_RESPAWN_DELAY_BASE << p->respawns;
    if (delay > DH_RESPAWN_DELAY_MAX) {
        delay = DH_RESPAWN_DELAY_MAX;
    }

    dh_log_error(DH_LOG_WARN, cycle->log, 0,
                 "%s died %lu times in a row at start, "
                 "respawning in %lums", p->name, (unsigned long) p->respawns,
                 (unsigned long) delay);

    p->respawn_at = dh_current_msec + delay;
}


static dh_uint_t
dh_respawn_due(dh_cycle_t *cycle)
{
    dh_int_t       i;
    dh_uint_t      live;
    dh_process_t  *p;

    live = 0;

    for (i = 0; i < dh_last_process; i++) {
        p = &dh_processes[i];

        if (p->pid == DH_INVALID_PID || !p->exited || p->respawn_at == 0
            || (dh_msec_int_t) (dh_current_msec - p->respawn_at) < 0)
        {
            continue;
        }

        p->respawn_at = 0;

        live |= dh_respawn_now(cycle, i);
    }

    return live;
}


static dh_uint_t
dh_respawn_now(dh_cycle_t *cycle, dh_int_t i)
{
    dh_process_t  *p;

    p = &dh_processes[i];

    if (dh_spawn_process(cycle, p->proc, p->data, p->name, i)
        == DH_INVALID_PID)
    {
        dh_log_error(DH_LOG_ALERT, cycle->log, 0, "could not respawn %s",
                     p->name);
        dh_free_slot(i);
        return 0;
    }

    dh_metrics_process_respawned();

    return 1;
}


static void
dh_free_slot(dh_int_t i)
{
    dh_processes[i].pid = DH_INVALID_PID;
    dh_processes[i].respawn_at = 0;
    dh_processes[i].exited = 0;
}


/* One interval timer serves the TERM/KILL escalation and the respawn
 * back-off: it is set for whichever is due first. */
static void
dh_master_arm_timer(dh_cycle_t *cycle)
{
    dh_int_t          i;
    dh_msec_t         next, wait;
    struct itimerval  itv;

    next = 0;

    if (dh_terminate && dh_terminate_delay) {
        next = dh_terminate_at;
    }

    for (i = 0; i < dh_last_process; i++) {
        if (dh_processes[i].pid != DH_INVALID_PID
            && dh_processes[i].respawn_at
            && (next == 0
                || (dh_msec_int_t) (dh_processes[i].respawn_at - next) < 0))
        {
            next = dh_processes[i].respawn_at;
        }
    }

    dh_memzero(&itv, sizeof(struct itimerval));

    if (next) {
        wait = ((dh_msec_int_t) (next - dh_current_msec) > 0)
               ? next - dh_current_msec : 1;

        itv.it_value.tv_sec = wait / 1000;
        itv.it_value.tv_usec = (wait % 1000) * 1000;
    }

    if (setitimer(ITIMER_REAL, &itv, NULL) == -1) {
        dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                     "setitimer() failed");
    }
}


static void
dh_master_terminate(dh_cycle_t *cycle)
{
    if (dh_terminate_delay == 0) {
        dh_terminate_delay = DH_TERMINATE_FIRST;
        dh_terminate_at = dh_current_msec + dh_terminate_delay;
        dh_signal_children(cycle, SIGTERM);
        return;
    }

    if ((dh_msec_int_t) (dh_current_msec - dh_terminate_at) < 0) {
        return;
    }

    dh_terminate_delay *= 2;
    dh_terminate_at = dh_current_msec + dh_terminate_delay;

    if (dh_terminate_delay > DH_TERMINATE_KILL) {
        dh_log_error(DH_LOG_WARN, cycle->log, 0,
                     "children did not exit in time, sending SIGKILL");
        dh_signal_children(cycle, SIGKILL);
        return;
    }

    dh_signal_children(cycle, SIGTERM);
}


/* HUP: a new cycle beside the old one; on failure the old workers simply
 * keep serving.  On success the new workers start first and only then are
 * the old ones asked to finish gracefully. */
static dh_cycle_t *
dh_master_reconfigure(dh_cycle_t *cycle)
{
    dh_cycle_t      *new_cycle;
    dh_core_conf_t  *ccf;

    dh_log_error(DH_LOG_NOTICE, cycle->log, 0, "reconfiguring");

    new_cycle = dh_init_cycle(cycle);
    if (new_cycle == NULL) {
        return (dh_cycle_t *) dh_cycle;
    }

    ccf = (dh_core_conf_t *) dh_get_conf(new_cycle->conf_ctx, dh_core_module);

    /* before the fork: the new workers count in the new registry */
    dh_metrics_master_reloaded(new_cycle);

    dh_start_worker_processes(new_cycle, ccf->worker_processes,
                              DH_PROCESS_JUST_RESPAWN);
    dh_start_helper_processes(new_cycle, DH_PROCESS_JUST_RESPAWN);

    usleep(DH_RELOAD_START_USEC);

    dh_noaccepting = 0;

    dh_signal_children(new_cycle, SIGQUIT);

    return new_cycle;
}


static void
dh_master_reopen(dh_cycle_t *cycle)
{
    dh_core_conf_t  *ccf;

    ccf = (dh_core_conf_t *) dh_get_conf(cycle->conf_ctx, dh_core_module);

    dh_log_error(DH_LOG_NOTICE, cycle->log, 0, "reopening logs");

    /* the files are owned by the workers' user so that they can reopen
     * them too */
    dh_reopen_cycle_files(cycle, ccf->user);

    dh_signal_children(cycle, SIGUSR1);
}


static void
dh_master_process_exit(dh_cycle_t *cycle, int status)
{
    dh_delete_pidfile(cycle);

    dh_log_error(DH_LOG_NOTICE, cycle->log, 0, "exiting");

    dh_exit_master_modules(cycle);

    dh_close_listening_sockets(cycle);

    dh_destroy_pool(cycle->pool);

    exit(status);
}


static void
dh_master_give_up(dh_cycle_t *cycle, char *name)
{
    dh_log_error(DH_LOG_ALERT, cycle->log, 0,
                 "%s keeps dying at start, giving up", name);

    dh_terminate = 1;
    dh_signal_children(cycle, SIGTERM);

    dh_master_process_exit(cycle, 1);
}


/* ---- children ---------------------------------------------------------- */


static void
dh_child_init(dh_cycle_t *cycle)
{
    sigset_t         set;
    struct rlimit    rlmt;
    dh_core_conf_t  *ccf;

    ccf = (dh_core_conf_t *) dh_get_conf(cycle->conf_ctx, dh_core_module);

    if (ccf->rlimit_nofile != DH_CONF_UNSET) {
        rlmt.rlim_cur = (rlim_t) ccf->rlimit_nofile;
        rlmt.rlim_max = (rlim_t) ccf->rlimit_nofile;

        if (setrlimit(RLIMIT_NOFILE, &rlmt) == -1) {
            dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                         "setrlimit(RLIMIT_NOFILE, %ld) failed",
                         (long) ccf->rlimit_nofile);
        }
    }

    if (geteuid() == 0 && ccf->user != (uid_t) DH_CONF_UNSET_UINT) {
        dh_child_drop_privileges(cycle, ccf);
    }

#if (DH_HAVE_PRCTL)
    /* setuid() turned core dumps off; a crashing worker should leave one */
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == -1) {
        dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                     "prctl(PR_SET_DUMPABLE) failed");
    }
#endif

    sigemptyset(&set);

    if (sigprocmask(SIG_SETMASK, &set, NULL) == -1) {
        dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                     "sigprocmask() failed");
    }

    dh_child_close_channels(cycle);
}


static void
dh_child_drop_privileges(dh_cycle_t *cycle, dh_core_conf_t *ccf)
{
    if (setgid(ccf->group) == -1) {
        dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                     "setgid(%d) failed", (int) ccf->group);
        exit(DH_PROCESS_FATAL_EXIT);
    }

    if (initgroups(ccf->username, ccf->group) == -1) {
        dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                     "initgroups(%s, %d) failed", ccf->username,
                     (int) ccf->group);
        exit(DH_PROCESS_FATAL_EXIT);
    }

    if (setuid(ccf->user) == -1) {
        dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                     "setuid(%d) failed", (int) ccf->user);
        exit(DH_PROCESS_FATAL_EXIT);
    }
}


/* A child keeps only its own end of its own channel. */
static void
dh_child_close_channels(dh_cycle_t *cycle)
{
    dh_int_t  n, last;

    /* the master counts this child's slot only after fork() returned */
    last = dh_max(dh_last_process, dh_process_slot + 1);

    for (n = 0; n < last; n++) {
        if (dh_processes[n].pid == DH_INVALID_PID && n != dh_process_slot) {
            continue;
        }

        if (n == dh_process_slot) {
            if (dh_processes[n].channel[0] != -1
                && close(dh_processes[n].channel[0]) == -1)
            {
                dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                             "close() channel failed");
            }

            dh_processes[n].channel[0] = -1;
            continue;
        }

        if (dh_processes[n].channel[0] != -1) {
            dh_close_channel(dh_processes[n].channel, cycle->log);
        }
    }
}


static void
dh_worker_process_cycle(dh_cycle_t *cycle, void *data)
{
    dh_process = DH_PROCESS_WORKER;
    dh_worker = (dh_uint_t) (intptr_t) data;

    dh_child_init(cycle);

    dh_setproctitle(DH_WORKER_NAME);

    if (dh_init_process_modules(cycle) != DH_OK) {
        exit(DH_PROCESS_FATAL_EXIT);
    }

    if (dh_event_hooks.add_channel(cycle, dh_channel, dh_channel_handler)
        != DH_OK)
    {
        dh_log_error(DH_LOG_EMERG, cycle->log, 0,
                     "could not watch the master channel");
        exit(DH_PROCESS_FATAL_EXIT);
    }

    for ( ;; ) {
        if (dh_exiting && dh_event_hooks.can_exit(cycle)) {
            dh_log_error(DH_LOG_NOTICE, cycle->log, 0, "exiting");
            dh_worker_process_exit(cycle);
        }

        dh_serve_round(cycle);

        if (dh_terminate) {
            dh_log_error(DH_LOG_NOTICE, cycle->log, 0, "exiting");
            dh_worker_process_exit(cycle);
        }
    }
}


/* One pass of the event loop and the flags shared by a worker and the
 * single process: QUIT, the shutdown deadline, USR1. */
static void
dh_serve_round(dh_cycle_t *cycle)
{
    dh_event_hooks.process_events_and_timers(cycle);

    dh_log_received_signals(cycle->log);

    if (dh_quit && !dh_exiting) {
        dh_begin_graceful_exit(cycle);
    }

    dh_check_shutdown_timeout(cycle);

    if (dh_reopen) {
        dh_reopen = 0;
        dh_log_error(DH_LOG_NOTICE, cycle->log, 0, "reopening logs");
        dh_reopen_cycle_files(cycle, (uid_t) -1);
    }
}


static void
dh_begin_graceful_exit(dh_cycle_t *cycle)
{
    dh_log_error(DH_LOG_NOTICE, cycle->log, 0, "gracefully shutting down");

    if (dh_process == DH_PROCESS_WORKER) {
        dh_setproctitle(DH_WORKER_NAME " is shutting down");
    }

    dh_exiting = 1;
    dh_set_shutdown_timer(cycle);
    dh_event_hooks.shutdown_begin(cycle);
}


static void
dh_check_shutdown_timeout(dh_cycle_t *cycle)
{
    if (!dh_exiting || dh_shutdown_expired || !dh_shutdown_timer_expired()) {
        return;
    }

    dh_shutdown_expired = 1;

    dh_log_error(DH_LOG_NOTICE, cycle->log, 0,
                 "worker_shutdown_timeout expired, closing connections");

    dh_event_hooks.shutdown_timeout(cycle);
}


/* Commands from the master.  EOF means the master is gone: nobody would
 * ever tell this worker to stop, so it drains and exits by itself. */
static void
dh_channel_handler(dh_cycle_t *cycle)
{
    dh_int_t      rc;
    dh_channel_t  ch;

    for ( ;; ) {
        rc = dh_read_channel(dh_channel, &ch, sizeof(dh_channel_t),
                             cycle->log);

        if (rc == DH_AGAIN) {
            return;
        }

        if (rc == DH_ERROR) {
            if (!dh_exiting) {
                dh_log_error(DH_LOG_ALERT, cycle->log, 0,
                             "the master process is gone, shutting down");
            }

            (void) close(dh_channel);
            dh_channel = -1;
            dh_quit = 1;
            return;
        }

        if (ch.fd != -1) {
            /* nothing passes descriptors yet; do not leak one */
            (void) close(ch.fd);
        }

        switch (ch.command) {
        case DH_CMD_QUIT:
            dh_quit = 1;
            break;
        case DH_CMD_TERMINATE:
            dh_terminate = 1;
            break;
        case DH_CMD_REOPEN:
            dh_reopen = 1;
            break;
        }
    }
}


static void
dh_helper_process_cycle(dh_cycle_t *cycle, void *data)
{
    char          title[64];
    dh_helper_t  *helper = data;

    dh_process = DH_PROCESS_HELPER;

    dh_child_init(cycle);

    (void) snprintf(title, sizeof(title), "%.*s process",
                    DH_STR_FMT(helper->name));
    dh_setproctitle(title);

    /* the helper runs its own loop and watches dh_quit / dh_terminate */
    helper->proc(cycle, helper->data);

    exit(0);
}


static dh_int_t
dh_init_process_modules(dh_cycle_t *cycle)
{
    dh_uint_t  i;

    for (i = 0; cycle->modules[i]; i++) {
        if (cycle->modules[i]->init_process == NULL) {
            continue;
        }

        if (cycle->modules[i]->init_process(cycle) != DH_OK) {
            dh_log_error(DH_LOG_EMERG, cycle->log, 0,
                         "%s: process initialization failed",
                         cycle->modules[i]->name);
            return DH_ERROR;
        }
    }

    return DH_OK;
}


static void
dh_exit_process_modules(dh_cycle_t *cycle)
{
    dh_uint_t  i;

    for (i = 0; cycle->modules[i]; i++) {
        if (cycle->modules[i]->exit_process) {
            cycle->modules[i]->exit_process(cycle);
        }
    }
}


static void
dh_exit_master_modules(dh_cycle_t *cycle)
{
    dh_uint_t  i;

    for (i = 0; cycle->modules[i]; i++) {
        if (cycle->modules[i]->exit_master) {
            cycle->modules[i]->exit_master(cycle);
        }
    }
}


static void
dh_worker_process_exit(dh_cycle_t *cycle)
{
    dh_exit_process_modules(cycle);

    dh_log_error(DH_LOG_NOTICE, cycle->log, 0, "exit");

    dh_destroy_pool(cycle->pool);

    exit(0);
}


/* ---- master_process off ------------------------------------------------ */


void
dh_single_process_cycle(dh_cycle_t *cycle)
{
    if (dh_event_hooks_ready(cycle->log) != DH_OK) {
        dh_single_process_exit(cycle, 1);
    }

    if (dh_init_process_modules(cycle) != DH_OK) {
        dh_single_process_exit(cycle, 1);
    }

    dh_metrics_master_started(cycle);

    for ( ;; ) {
        if (dh_exiting && dh_event_hooks.can_exit(cycle)) {
            dh_exit_process_modules(cycle);
            dh_single_process_exit(cycle, 0);
        }

        dh_serve_round(cycle);

        if (dh_terminate) {
            dh_exit_process_modules(cycle);
            dh_single_process_exit(cycle, 0);
        }

        if (dh_reconfigure && !dh_exiting) {
            dh_reconfigure = 0;
            cycle = dh_single_reconfigure(cycle);
        }
    }
}


/*
 * A single process cannot run two configurations side by side, so a
 * reload drains the old one first: it stops accepting (the adopted
 * sockets stay open, so new connections wait in the listen queue, they
 * are not refused), finishes what is in flight up to
 * worker_shutdown_timeout, and only then starts serving with the new
 * configuration.  Meant for development; production uses the master.
 */
static dh_cycle_t *
dh_single_reconfigure(dh_cycle_t *cycle)
{
    dh_uint_t        i;
    dh_cycle_t      *new_cycle;
    dh_listening_t  *ls;

    dh_log_error(DH_LOG_NOTICE, cycle->log, 0, "reconfiguring");

    new_cycle = dh_init_cycle(cycle);
    if (new_cycle == NULL) {
        return cycle;
    }

    /* the new cycle owns the sockets it adopted: the drain must not
     * close them */
    ls = cycle->listening.elts;

    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].remain) {
            ls[i].fd = -1;
        }
    }

    dh_single_drain(cycle);

    dh_exit_process_modules(cycle);

    dh_exiting = 0;
    dh_shutdown_expired = 0;
    dh_cancel_shutdown_timer();

    /* dh_cycle is the new cycle since the commit */
    dh_clean_old_cycles();

    if (dh_terminate) {
        dh_single_process_exit(new_cycle, 0);
    }

    if (dh_init_process_modules(new_cycle) != DH_OK) {
        dh_single_process_exit(new_cycle, 1);
    }

    return new_cycle;
}


static void
dh_single_drain(dh_cycle_t *cycle)
{
    dh_exiting = 1;
    dh_set_shutdown_timer(cycle);
    dh_event_hooks.shutdown_begin(cycle);

    while (!dh_event_hooks.can_exit(cycle)) {
        /* QUIT stays pending: it stops the new cycle after the switch */
        dh_event_hooks.process_events_and_timers(cycle);

        dh_log_received_signals(cycle->log);

        if (dh_terminate) {
            return;
        }

        dh_check_shutdown_timeout(cycle);
    }
}


static void
dh_single_process_exit(dh_cycle_t *cycle, int status)
{
    dh_delete_pidfile(cycle);

    dh_log_error(DH_LOG_NOTICE, cycle->log, 0, "exiting");

    dh_exit_master_modules(cycle);

    dh_close_listening_sockets(cycle);

    dh_destroy_pool(cycle->pool);

    exit(status);
}

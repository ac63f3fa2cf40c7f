/*
 * Child processes, signals and the master <-> child channel.
 *
 * Signal handlers only store flags (and the sender's pid, for the log):
 * nothing they could call is async-signal-safe beyond that.  The master
 * acts on the flags after sigsuspend() returns, a worker after its event
 * loop wakes up (a signal interrupts epoll_wait), and both log
 * "signal N (SIGX) received from PID, ACTION" from their loop.
 */

#include "dh_config.h"
#include "dh_core.h"


typedef struct {
    int          signo;
    const char  *signame;
    const char  *name;          /* the -s keyword */
    unsigned     ignore:1;      /* SIG_IGN instead of the handler */
} dh_signal_t;


static void dh_signal_handler(int signo, siginfo_t *siginfo, void *ucontext);
static const char *dh_signal_action(int signo);
static dh_int_t dh_spawn_channel(dh_socket_t *channel, dh_log_t *log);
static dh_int_t dh_find_free_slot(dh_cycle_t *cycle);
static void dh_spawn_record(dh_int_t s, dh_pid_t pid, dh_spawn_proc_pt proc,
    void *data, char *name, dh_int_t respawn);
static void dh_process_exited(dh_int_t slot, dh_pid_t pid, int status);


static const dh_signal_t  dh_signals[] = {
    { SIGHUP,   "SIGHUP",   "reload", 0 },
    { SIGUSR1,  "SIGUSR1",  "reopen", 0 },
    { SIGWINCH, "SIGWINCH", "",       0 },
    { SIGTERM,  "SIGTERM",  "stop",   0 },
    { SIGQUIT,  "SIGQUIT",  "quit",   0 },
    { SIGINT,   "SIGINT",   "",       0 },
    { SIGALRM,  "SIGALRM",  "",       0 },
    { SIGIO,    "SIGIO",    "",       0 },
    { SIGCHLD,  "SIGCHLD",  "",       0 },
    /* the binary upgrade is not implemented: a stray USR2 must not kill
     * the server (its default action) */
    { SIGUSR2,  "SIGUSR2",  "",       1 },
    { SIGSYS,   "SIGSYS",   "",       1 },
    { SIGPIPE,  "SIGPIPE",  "",       1 },
    { 0,        NULL,       "",       0 }
};


dh_pid_t       dh_pid;
dh_pid_t       dh_parent;
dh_socket_t    dh_channel = -1;
dh_int_t       dh_process_slot;
dh_int_t       dh_last_process;
dh_process_t   dh_processes[DH_MAX_PROCESSES];

/* per signal: "arrived since last logged" and the sender's pid */
static volatile sig_atomic_t  dh_sig_pending[NSIG];
static volatile sig_atomic_t  dh_sig_from[NSIG];
/* any of them: the event loop asks every round, signals are rare */
static volatile sig_atomic_t  dh_sig_any;


dh_int_t
dh_init_signals(dh_log_t *log)
{
    const dh_signal_t  *sig;
    struct sigaction    sa;

    for (sig = dh_signals; sig->signo != 0; sig++) {
        dh_memzero(&sa, sizeof(struct sigaction));

        if (sig->ignore) {
            sa.sa_handler = SIG_IGN;

        } else {
            sa.sa_sigaction = dh_signal_handler;
            /* no SA_RESTART: a signal must interrupt epoll_wait() */
            sa.sa_flags = SA_SIGINFO;
        }

        sigemptyset(&sa.sa_mask);

        if (sigaction(sig->signo, &sa, NULL) == -1) {
            dh_log_error(DH_LOG_EMERG, log, dh_errno,
                         "sigaction(%s) failed", sig->signame);
            return DH_ERROR;
        }
    }

    return DH_OK;
}


static void
dh_signal_handler(int signo, siginfo_t *siginfo, void *ucontext)
{
    int  err;

    err = errno;

    dh_time_sigsafe_update();

    if (dh_process == DH_PROCESS_MASTER || dh_process == DH_PROCESS_SINGLE) {
        switch (signo) {
        case SIGQUIT:  dh_quit = 1; break;
        case SIGTERM:
        case SIGINT:   dh_terminate = 1; break;
        case SIGHUP:   dh_reconfigure = 1; break;
        case SIGUSR1:  dh_reopen = 1; break;
        case SIGALRM:  dh_sigalrm = 1; break;
        case SIGIO:    dh_sigio = 1; break;
        case SIGCHLD:  dh_reap = 1; break;
        case SIGWINCH:
            /* only a daemon has no terminal sending WINCH on resize */
            if (dh_daemonized) {
                dh_noaccept = 1;
            }
            break;
        }

    } else {
        switch (signo) {
        case SIGQUIT:  dh_quit = 1; break;
        case SIGTERM:
        case SIGINT:   dh_terminate = 1; break;
        case SIGUSR1:  dh_reopen = 1; break;
        case SIGALRM:  dh_sigalrm = 1; break;
        }
    }

    if (signo > 0 && signo < NSIG) {
        dh_sig_from[signo] = siginfo ? (sig_atomic_t) siginfo->si_pid : 0;
        dh_sig_pending[signo] = 1;
        dh_sig_any = 1;
    }

    errno = err;
}


void
dh_log_received_signals(dh_log_t *log)
{
    int                 signo;
    dh_uint_t           level;
    dh_pid_t            from;
    const dh_signal_t  *sig;

    if (!dh_sig_any) {
        return;
    }

    /* cleared before the scan: a signal during it is seen next time */
    dh_sig_any = 0;

    for (sig = dh_signals; sig->signo != 0; sig++) {
        signo = sig->signo;

        if (!dh_sig_pending[signo]) {
            continue;
        }

        from = (dh_pid_t) dh_sig_from[signo];
        dh_sig_pending[signo] = 0;

        /* timer ticks and child exits would drown the interesting lines */
        level = (signo == SIGALRM || signo == SIGIO) ? DH_LOG_DEBUG
                                                      : DH_LOG_NOTICE;

        if (from) {
            dh_log_error(level, log, 0, "signal %d (%s) received from %d%s",
                         signo, sig->signame, (int) from,
                         dh_signal_action(signo));
        } else {
            dh_log_error(level, log, 0, "signal %d (%s) received%s",
                         signo, sig->signame, dh_signal_action(signo));
        }
    }
}


static const char *
dh_signal_action(int signo)
{
    if (dh_process == DH_PROCESS_MASTER || dh_process == DH_PROCESS_SINGLE) {
        switch (signo) {
        case SIGQUIT:  return ", shutting down";
        case SIGTERM:
        case SIGINT:   return ", exiting";
        case SIGHUP:   return ", reconfiguring";
        case SIGUSR1:  return ", reopening logs";
        case SIGWINCH:
            return dh_daemonized ? ", stop accepting connections"
                                 : ", ignoring";
        default:       return "";
        }
    }

    switch (signo) {
    case SIGQUIT:  return ", shutting down";
    case SIGTERM:
    case SIGINT:   return ", exiting";
    case SIGUSR1:  return ", reopening logs";
    case SIGALRM:
    case SIGCHLD:  return "";
    default:       return ", ignoring";
    }
}


dh_int_t
dh_os_signal_process(dh_cycle_t *cycle, char *name, dh_pid_t pid)
{
    const dh_signal_t  *sig;

    for (sig = dh_signals; sig->signo != 0; sig++) {
        if (sig->name[0] == '\0' || strcmp(name, sig->name) != 0) {
            continue;
        }

        if (kill(pid, sig->signo) == -1) {
            dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                         "kill(%d, %d) failed", (int) pid, sig->signo);
            return DH_ERROR;
        }

        return DH_OK;
    }

    dh_log_error(DH_LOG_EMERG, cycle->log, 0, "invalid signal \"%s\"", name);

    return DH_ERROR;
}


dh_pid_t
dh_spawn_process(dh_cycle_t *cycle, dh_spawn_proc_pt proc, void *data,
    char *name, dh_int_t respawn)
{
    dh_int_t     s;
    dh_pid_t     pid;
    dh_socket_t  channel[2];

    if (respawn >= 0) {
        s = respawn;

    } else {
        s = dh_find_free_slot(cycle);
        if (s == DH_ERROR) {
            return DH_INVALID_PID;
        }
    }

    channel[0] = -1;
    channel[1] = -1;

    if (respawn != DH_PROCESS_DETACHED
        && dh_spawn_channel(channel, cycle->log) != DH_OK)
    {
        return DH_INVALID_PID;
    }

    dh_process_slot = s;

    pid = fork();

    switch (pid) {

    case -1:
        dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                     "fork() failed while spawning \"%s\"", name);
        dh_close_channel(channel, cycle->log);
        return DH_INVALID_PID;

    case 0:
        dh_parent = dh_pid;
        dh_pid = getpid();
        dh_channel = channel[1];

        dh_processes[s].channel[0] = channel[0];
        dh_processes[s].channel[1] = channel[1];

        proc(cycle, data);

        /* a process body ends with exit(); returning is a bug */
        dh_log_error(DH_LOG_ALERT, cycle->log, 0, "%s returned", name);
        exit(DH_PROCESS_FATAL_EXIT);

    default:
        break;
    }

    dh_log_error(DH_LOG_NOTICE, cycle->log, 0, "start %s %d", name,
                 (int) pid);

    /* the child's end lives in the child only, so the child sees EOF on
     * its channel if the master goes away */
    if (channel[1] != -1 && close(channel[1]) == -1) {
        dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                     "close() channel failed");
    }

    dh_processes[s].channel[0] = channel[0];
    dh_processes[s].channel[1] = -1;

    dh_spawn_record(s, pid, proc, data, name, respawn);

    if (s == dh_last_process) {
        dh_last_process++;
    }

    return pid;
}


static dh_int_t
dh_find_free_slot(dh_cycle_t *cycle)
{
    dh_int_t  s;

    for (s = 0; s < dh_last_process; s++) {
        if (dh_processes[s].pid == DH_INVALID_PID) {
            return s;
        }
    }

    if (s == DH_MAX_PROCESSES) {
        dh_log_error(DH_LOG_ALERT, cycle->log, 0,
                     "no more than %d processes can be spawned",
                     DH_MAX_PROCESSES);
        return DH_ERROR;
    }

    return s;
}


static dh_int_t
dh_spawn_channel(dh_socket_t *channel, dh_log_t *log)
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, channel) == -1) {
        dh_log_error(DH_LOG_ALERT, log, dh_errno,
                     "socketpair() failed while spawning a process");
        return DH_ERROR;
    }

    if (dh_nonblocking(channel[0]) != DH_OK
        || dh_nonblocking(channel[1]) != DH_OK)
    {
        dh_log_error(DH_LOG_ALERT, log, dh_errno,
                     "fcntl(O_NONBLOCK) failed on a channel");
        dh_close_channel(channel, log);
        return DH_ERROR;
    }

    /* a child that execs (never, today) must not keep the channels */
    if (fcntl(channel[0], F_SETFD, FD_CLOEXEC) == -1
        || fcntl(channel[1], F_SETFD, FD_CLOEXEC) == -1)
    {
        dh_log_error(DH_LOG_ALERT, log, dh_errno,
                     "fcntl(FD_CLOEXEC) failed on a channel");
        dh_close_channel(channel, log);
        return DH_ERROR;
    }

    return DH_OK;
}


static void
dh_spawn_record(dh_int_t s, dh_pid_t pid, dh_spawn_proc_pt proc, void *data,
    char *name, dh_int_t respawn)
{
    dh_process_t  *p;

    p = &dh_processes[s];

    p->pid = pid;
    p->exited = 0;
    p->spawned_at = dh_time();
    p->spawned_msec = dh_current_msec;
    p->respawn_at = 0;

    if (respawn >= 0) {
        /* respawned into its own slot: it keeps its role and history */
        return;
    }

    p->proc = proc;
    p->data = data;
    p->exiting = 0;
    p->respawns = 0;
    p->helper = 0;

    /* helper names live in a cycle's pool, which a reload destroys while
     * the process may still be running */
    (void) snprintf(p->name_buf, sizeof(p->name_buf), "%s", name);
    p->name = p->name_buf;

    p->respawn = (respawn == DH_PROCESS_RESPAWN
                  || respawn == DH_PROCESS_JUST_RESPAWN);
    p->just_spawn = (respawn == DH_PROCESS_JUST_SPAWN
                     || respawn == DH_PROCESS_JUST_RESPAWN);
    p->detached = (respawn == DH_PROCESS_DETACHED);
}


void
dh_process_get_status(void)
{
    int       status;
    dh_int_t  i;
    dh_pid_t  pid;

    for (;;) {
        pid = waitpid(-1, &status, WNOHANG);

        if (pid == 0) {
            return;
        }

        if (pid == -1) {
            if (dh_errno == DH_EINTR) {
                continue;
            }

            if (dh_errno != ECHILD) {
                dh_log_error(DH_LOG_ALERT, dh_cycle->log, dh_errno,
                             "waitpid() failed");
            }

            return;
        }

        for (i = 0; i < dh_last_process; i++) {
            if (dh_processes[i].pid == pid) {
                break;
            }
        }

        if (i == dh_last_process) {
            i = DH_ERROR;
        }

        dh_process_exited(i, pid, status);
    }
}


static int
dh_crash_signal(int signo)
{
    return signo == SIGSEGV || signo == SIGBUS || signo == SIGILL
           || signo == SIGFPE || signo == SIGABRT || signo == SIGSYS;
}


static void
dh_process_exited(dh_int_t slot, dh_pid_t pid, int status)
{
    int            signo, code;
    char          *name;
    dh_log_t      *log;
    dh_uint_t      level;
    dh_process_t  *p;

    log = dh_cycle->log;
    p = (slot >= 0) ? &dh_processes[slot] : NULL;
    name = p ? p->name : "unknown process";

    if (p) {
        p->status = status;
        p->exited = 1;
    }

    if (WIFSIGNALED(status)) {
        signo = WTERMSIG(status);

        /* a crash is a bug worth an alert; a kill by the admin is not */
        level = (dh_crash_signal(signo) || WCOREDUMP(status))
                ? DH_LOG_ALERT : DH_LOG_NOTICE;

        dh_log_error(level, log, 0, "%s %d exited on signal %d%s", name,
                     (int) pid, signo,
                     WCOREDUMP(status) ? " (core dumped)" : "");

        if (level == DH_LOG_ALERT) {
            dh_debug_point();
        }

        return;
    }

    code = WEXITSTATUS(status);

    level = code ? DH_LOG_ALERT : DH_LOG_NOTICE;

    dh_log_error(level, log, 0, "%s %d exited with code %d", name, (int) pid,
                 code);

    if (code == DH_PROCESS_FATAL_EXIT && p && p->respawn) {
        dh_log_error(DH_LOG_ALERT, log, 0,
                     "%s %d exited with fatal code %d "
                     "and cannot be respawned", name, (int) pid, code);
        p->respawn = 0;
    }
}


void
dh_debug_point(void)
{
    dh_core_conf_t  *ccf;

    if (dh_cycle == NULL || dh_cycle->conf_ctx == NULL) {
        return;
    }

    ccf = (dh_core_conf_t *) dh_get_conf(dh_cycle->conf_ctx,
                                         dh_core_module);

    switch (ccf->debug_points) {

    case DH_DEBUG_POINTS_STOP:
        raise(SIGSTOP);
        break;

    case DH_DEBUG_POINTS_ABORT:
        abort();
    }
}


dh_int_t
dh_write_channel(dh_socket_t s, dh_channel_t *ch, size_t size, dh_log_t *log)
{
    ssize_t          n;
    struct iovec     iov[1];
    struct msghdr    msg;
    struct cmsghdr  *cmsg;
    union {
        struct cmsghdr  cm;
        char            space[CMSG_SPACE(sizeof(int))];
    } cmsgbuf;

    dh_memzero(&msg, sizeof(struct msghdr));

    if (ch->fd != -1) {
        dh_memzero(&cmsgbuf, sizeof(cmsgbuf));

        msg.msg_control = (caddr_t) &cmsgbuf;
        msg.msg_controllen = sizeof(cmsgbuf);

        cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;

        dh_memcpy(CMSG_DATA(cmsg), &ch->fd, sizeof(int));
    }

    iov[0].iov_base = (char *) ch;
    iov[0].iov_len = size;

    msg.msg_iov = iov;
    msg.msg_iovlen = 1;

    n = sendmsg(s, &msg, MSG_NOSIGNAL);

    if (n == -1) {
        if (dh_errno == DH_EAGAIN) {
            return DH_AGAIN;
        }

        dh_log_error(DH_LOG_ALERT, log, dh_errno, "sendmsg() failed");
        return DH_ERROR;
    }

    return DH_OK;
}


dh_int_t
dh_read_channel(dh_socket_t s, dh_channel_t *ch, size_t size, dh_log_t *log)
{
    ssize_t          n;
    struct iovec     iov[1];
    struct msghdr    msg;
    struct cmsghdr  *cmsg;
    union {
        struct cmsghdr  cm;
        char            space[CMSG_SPACE(sizeof(int))];
    } cmsgbuf;

    iov[0].iov_base = (char *) ch;
    iov[0].iov_len = size;

    dh_memzero(&msg, sizeof(struct msghdr));
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = (caddr_t) &cmsgbuf;
    msg.msg_controllen = sizeof(cmsgbuf);

    n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);

    if (n == -1) {
        if (dh_errno == DH_EAGAIN) {
            return DH_AGAIN;
        }

        dh_log_error(DH_LOG_ALERT, log, dh_errno, "recvmsg() failed");
        return DH_ERROR;
    }

    if (n == 0) {
        dh_log_debug(log, "recvmsg() returned zero");
        return DH_ERROR;
    }

    if ((size_t) n < sizeof(dh_channel_t)) {
        dh_log_error(DH_LOG_ALERT, log, 0,
                     "recvmsg() returned not enough data: %zd", n);
        return DH_ERROR;
    }

    ch->fd = -1;

    cmsg = CMSG_FIRSTHDR(&msg);

    if (cmsg != NULL
        && cmsg->cmsg_level == SOL_SOCKET
        && cmsg->cmsg_type == SCM_RIGHTS
        && cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
    {
        dh_memcpy(&ch->fd, CMSG_DATA(cmsg), sizeof(int));
    }

    if (msg.msg_flags & (MSG_TRUNC|MSG_CTRUNC)) {
        dh_log_error(DH_LOG_ALERT, log, 0,
                     "recvmsg() truncated data");
    }

    return DH_OK;
}


void
dh_close_channel(dh_fd_t *fd, dh_log_t *log)
{
    if (fd[0] != -1 && close(fd[0]) == -1) {
        dh_log_error(DH_LOG_ALERT, log, dh_errno, "close() channel failed");
    }

    if (fd[1] != -1 && close(fd[1]) == -1) {
        dh_log_error(DH_LOG_ALERT, log, dh_errno, "close() channel failed");
    }

    fd[0] = -1;
    fd[1] = -1;
}


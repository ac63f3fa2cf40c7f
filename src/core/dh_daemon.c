/*
 * Daemon mode: detach from the terminal and the caller's session.
 *
 * stderr stays open on purpose: the master points it at the error log
 * right after (dh_log_redirect_stderr), and until then a failure is still
 * visible to whoever started us.
 */

#include "dh_config.h"
#include "dh_core.h"


dh_int_t
dh_daemon(dh_log_t *log)
{
    int  fd;

    switch (fork()) {

    case -1:
        dh_log_error(DH_LOG_EMERG, log, dh_errno, "fork() failed");
        return DH_ERROR;

    case 0:
        break;

    default:
        /* the parent's pools and files belong to the child now */
        _exit(0);
    }

    dh_parent = dh_pid;
    dh_pid = getpid();

    if (setsid() == -1) {
        dh_log_error(DH_LOG_EMERG, log, dh_errno, "setsid() failed");
        return DH_ERROR;
    }

    umask(0);

    fd = open("/dev/null", O_RDWR);
    if (fd == -1) {
        dh_log_error(DH_LOG_EMERG, log, dh_errno,
                     "open(\"/dev/null\") failed");
        return DH_ERROR;
    }

    if (dup2(fd, STDIN_FILENO) == -1) {
        dh_log_error(DH_LOG_EMERG, log, dh_errno, "dup2(STDIN) failed");
        (void) close(fd);
        return DH_ERROR;
    }

    if (dup2(fd, STDOUT_FILENO) == -1) {
        dh_log_error(DH_LOG_EMERG, log, dh_errno, "dup2(STDOUT) failed");
        (void) close(fd);
        return DH_ERROR;
    }

    if (fd > STDERR_FILENO && close(fd) == -1) {
        dh_log_error(DH_LOG_EMERG, log, dh_errno, "close() failed");
        return DH_ERROR;
    }

    return DH_OK;
}

/*
 * Error log.  Lines look like nginx's:
 *   2026/11/22 03:07:09 [error] 1234#0: *17 message, client: 127.0.0.1
 * A log points at an open file; several logs may chain (error_log given
 * more than once) and each has its own level.
 */

#ifndef DH_LOG_H
#define DH_LOG_H

#include "dh_core.h"

#define DH_LOG_STDERR            0
#define DH_LOG_EMERG             1
#define DH_LOG_ALERT             2
#define DH_LOG_CRIT              3
#define DH_LOG_ERR               4
#define DH_LOG_WARN              5
#define DH_LOG_NOTICE            6
#define DH_LOG_INFO              7
#define DH_LOG_DEBUG             8

#define DH_MAX_ERROR_STR         2048

typedef u_char *(*dh_log_handler_pt) (dh_log_t *log, u_char *buf, size_t len);

struct dh_log_s {
    dh_uint_t            log_level;
    dh_open_file_t      *file;
    dh_uint_t            connection;    /* connection number, 0 = none */
    /* appends context (", client: ..., request: ...") to a line */
    dh_log_handler_pt    handler;
    void                *data;
    char                *action;        /* "while reading request line" */
    dh_log_t            *next;
};

void dh_log_error_core(dh_uint_t level, dh_log_t *log, dh_err_t err,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define dh_log_error(level, log, ...)                                         \
    if ((log)->log_level >= (dh_uint_t) (level))                              \
        dh_log_error_core(level, log, __VA_ARGS__)

#if (DH_DEBUG)
#define dh_log_debug(log, ...)                                                \
    if ((log)->log_level >= DH_LOG_DEBUG)                                     \
        dh_log_error_core(DH_LOG_DEBUG, log, 0, __VA_ARGS__)
#else
#define dh_log_debug(log, ...)
#endif

/* Writes "divehttpd: [level] message" to stderr (used before any log file
 * is open, and by -t). */
void dh_log_stderr(dh_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

dh_log_t *dh_log_init(u_char *prefix, u_char *error_log);
dh_int_t dh_log_open_default(dh_cycle_t *cycle);
dh_int_t dh_log_redirect_stderr(dh_cycle_t *cycle);
dh_log_t *dh_log_get_file_log(dh_log_t *head);
/* "error_log file|stderr [level]" directive handler, shared by every
 * context.  *head is NULL (a new log is allocated) or a log without a
 * file yet (filled in place, e.g. &cycle->new_log); further logs are
 * chained, most verbose first. */
char *dh_log_set_log(dh_conf_t *cf, dh_log_t **head);
const char *dh_log_level_name(dh_uint_t level);

extern dh_log_t    dh_log;          /* the bootstrap log (stderr) */
/* while set (startup, -t), messages at warn or worse are also shown on
 * stderr as "divehttpd: [level] message"; cleared once running */
extern dh_uint_t   dh_use_stderr;
/* the text of the first [emerg] message (the status report's last_error) */
extern u_char      dh_log_last_emerg[256];
/* the "#TID" of a log line: 0 on the event-loop thread; a thread-pool
 * thread sets its own number */
extern __thread dh_uint_t  dh_log_tid;

#endif /* DH_LOG_H */

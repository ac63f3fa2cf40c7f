/*
 * The error log.
 *
 * A line is formatted into one stack buffer and written with a single
 * write() per log file: the files are opened with O_APPEND, so lines from
 * the master, the workers and their threads never interleave.  Until
 * startup is over (dh_use_stderr) anything at warn or worse is also shown
 * on the terminal as "divehttpd: [level] message", which is how -t and a
 * failing start report errors to the admin.
 */

#include "dh_config.h"
#include "dh_core.h"


static u_char *dh_log_append(u_char *p, u_char *last, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static u_char *dh_log_vappend(u_char *p, u_char *last, const char *fmt,
    va_list args);
static u_char *dh_log_errno(u_char *p, u_char *last, dh_err_t err);
static u_char *dh_log_time(u_char *p, u_char *last);
static void dh_log_write(dh_fd_t fd, u_char *buf, size_t len);
static void dh_log_insert(dh_log_t *log, dh_log_t *new_log);
static dh_open_file_t *dh_log_stderr_file(dh_pool_t *pool);
static char *dh_error_log(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static char *dh_log_init_conf(dh_cycle_t *cycle, void *conf);


static const char  *dh_log_levels[] = {
    "stderr", "emerg", "alert", "crit", "error", "warn", "notice", "info",
    "debug"
};


static dh_command_t  dh_errlog_commands[] = {

    { dh_string("error_log"),
      DH_MAIN_CONF|DH_CONF_TAKE12,
      dh_error_log,
      0,
      0,
      NULL },

    dh_null_command
};


static dh_core_module_t  dh_errlog_module_ctx = {
    dh_string("errlog"),
    NULL,
    dh_log_init_conf
};


dh_module_t  dh_errlog_module = {
    DH_MODULE_V1,
    &dh_errlog_module_ctx,
    dh_errlog_commands,
    DH_CORE_MODULE,
    NULL,
    NULL,
    NULL,
    NULL
};


static dh_open_file_t  dh_log_file = { STDERR_FILENO, dh_null_string,
                                        NULL, NULL };

dh_log_t              dh_log = { DH_LOG_NOTICE, &dh_log_file, 0, NULL, NULL,
                                 NULL, NULL };
dh_uint_t             dh_use_stderr = 1;
u_char                dh_log_last_emerg[256];
__thread dh_uint_t    dh_log_tid;


void
dh_log_error_core(dh_uint_t level, dh_log_t *log, dh_err_t err,
    const char *fmt, ...)
{
    u_char     errstr[DH_MAX_ERROR_STR], prefix[32], *p, *last, *msg, *s;
    size_t     len;
    va_list    args;
    dh_uint_t  wrote_stderr;

    /* one byte is kept for the line feed */
    last = errstr + DH_MAX_ERROR_STR - 1;

    /* getpid() rather than a cached pid: it stays right in a child that
     * logs before the process layer has updated its globals */
    p = dh_log_time(errstr, last);
    p = dh_log_append(p, last, " [%s] %d#%lu: ", dh_log_level_name(level),
                      (int) getpid(), (unsigned long) dh_log_tid);

    if (log->connection) {
        p = dh_log_append(p, last, "*%lu ", (unsigned long) log->connection);
    }

    msg = p;

    va_start(args, fmt);
    p = dh_log_vappend(p, last, fmt, args);
    va_end(args);

    if (err) {
        p = dh_log_errno(p, last, err);
    }

    if (level != DH_LOG_DEBUG && log->handler && p < last) {
        p = log->handler(log, p, last - p);
    }

    if (p >= last) {
        p = last;
        dh_memcpy(p - 3, "...", 3);
    }

    /* the first one is the cause; later ones tend to be consequences */
    if (level == DH_LOG_EMERG && dh_log_last_emerg[0] == '\0') {
        len = dh_min((size_t) (p - msg), sizeof(dh_log_last_emerg) - 1);
        dh_memcpy(dh_log_last_emerg, msg, len);
        dh_log_last_emerg[len] = '\0';
    }

    *p++ = LF;

    wrote_stderr = 0;

    while (log) {
        /* chained logs are sorted by level, most verbose first */
        if (log->log_level < level) {
            break;
        }

        if (log->file == NULL) {
            dh_log_write(STDERR_FILENO, errstr, p - errstr);
            wrote_stderr = 1;

        } else if (log->file->fd != DH_INVALID_FILE) {
            dh_log_write(log->file->fd, errstr, p - errstr);

            if (log->file->fd == STDERR_FILENO) {
                wrote_stderr = 1;
            }
        }

        log = log->next;
    }

    if (!dh_use_stderr || level > DH_LOG_WARN || wrote_stderr) {
        return;
    }

    /* the date and pid prefix is always longer than "divehttpd: [level] ",
     * so the console prefix is written over it in place */
    len = dh_log_append(prefix, prefix + sizeof(prefix), "divehttpd: [%s] ",
                        dh_log_level_name(level))
          - prefix;
    s = dh_cpymem(msg - len, prefix, len) - len;

    dh_log_write(STDERR_FILENO, s, p - s);
}


void
dh_log_stderr(dh_err_t err, const char *fmt, ...)
{
    u_char   errstr[DH_MAX_ERROR_STR], *p, *last;
    va_list  args;

    last = errstr + DH_MAX_ERROR_STR - 1;

    p = dh_log_append(errstr, last, "divehttpd: ");

    va_start(args, fmt);
    p = dh_log_vappend(p, last, fmt, args);
    va_end(args);

    if (err) {
        p = dh_log_errno(p, last, err);
    }

    if (p >= last) {
        p = last;
        dh_memcpy(p - 3, "...", 3);
    }

    *p++ = LF;

    dh_log_write(STDERR_FILENO, errstr, p - errstr);
}


const char *
dh_log_level_name(dh_uint_t level)
{
    if (level > DH_LOG_DEBUG) {
        return "unknown";
    }

    return dh_log_levels[level];
}


dh_log_t *
dh_log_init(u_char *prefix, u_char *error_log)
{
    u_char  *name, *path;
    size_t   plen, nlen;
    dh_fd_t  fd;

    dh_log.file = &dh_log_file;
    dh_log.log_level = DH_LOG_NOTICE;

    name = error_log ? error_log : (u_char *) DH_ERROR_LOG_PATH;

    if (name[0] == '\0' || dh_strcmp(name, "stderr") == 0) {
        dh_log_file.fd = STDERR_FILENO;
        return &dh_log;
    }

    path = NULL;

    if (name[0] != '/') {
        if (prefix == NULL) {
            prefix = (u_char *) DH_PREFIX;
        }

        plen = dh_strlen(prefix);
        nlen = dh_strlen(name);

        path = malloc(plen + 1 + nlen + 1);
        if (path == NULL) {
            dh_log_file.fd = STDERR_FILENO;
            return &dh_log;
        }

        dh_memcpy(path, prefix, plen);

        if (plen && prefix[plen - 1] != '/') {
            path[plen++] = '/';
        }

        dh_memcpy(path + plen, name, nlen + 1);
        name = path;
    }

    fd = open((char *) name, O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, 0644);

    if (fd == DH_INVALID_FILE) {
        dh_log_stderr(dh_errno, "[alert] could not open error log file: "
                      "open() \"%s\" failed", name);
        fd = STDERR_FILENO;
    }

    dh_log_file.fd = fd;

    free(path);

    return &dh_log;
}


dh_int_t
dh_log_open_default(dh_cycle_t *cycle)
{
    dh_str_t         name;
    dh_open_file_t  *file;

    if (dh_log_get_file_log(&cycle->new_log) != NULL) {
        return DH_OK;
    }

    name = cycle->error_log;

    if (name.len == 0) {
        dh_str_set(&name, DH_ERROR_LOG_PATH);
    }

    if (name.len == sizeof("stderr") - 1
        && dh_strncmp(name.data, "stderr", name.len) == 0)
    {
        file = dh_log_stderr_file(cycle->pool);
        cycle->log_use_stderr = 1;

    } else {
        if (dh_conf_full_name(cycle, &name, 0) != DH_OK) {
            return DH_ERROR;
        }

        file = dh_conf_open_file(cycle, &name);
    }

    if (file == NULL) {
        return DH_ERROR;
    }

    cycle->new_log.log_level = DH_LOG_ERR;
    cycle->new_log.file = file;

    return DH_OK;
}


dh_int_t
dh_log_redirect_stderr(dh_cycle_t *cycle)
{
    dh_log_t  *log;

    if (cycle->log_use_stderr) {
        return DH_OK;
    }

    log = dh_log_get_file_log(cycle->log);
    if (log == NULL || log->file->fd == STDERR_FILENO) {
        return DH_OK;
    }

    /* library messages (sanitizers, OpenSSL, glibc) land in the log */
    if (dup2(log->file->fd, STDERR_FILENO) == -1) {
        dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                     "dup2(STDERR) failed");
        return DH_ERROR;
    }

    return DH_OK;
}


dh_log_t *
dh_log_get_file_log(dh_log_t *head)
{
    dh_log_t  *log;

    for (log = head; log; log = log->next) {
        if (log->file != NULL) {
            return log;
        }
    }

    return NULL;
}


char *
dh_log_set_log(dh_conf_t *cf, dh_log_t **head)
{
    dh_str_t        *value, name;
    dh_uint_t        n, level;
    dh_log_t        *new_log;
    dh_open_file_t  *file;

    value = cf->args->elts;

    level = DH_LOG_ERR;

    if (cf->args->nelts > 2) {
        for (n = DH_LOG_EMERG; n <= DH_LOG_DEBUG; n++) {
            if (dh_strcmp(value[2].data, dh_log_levels[n]) == 0) {
                break;
            }
        }

        if (n > DH_LOG_DEBUG) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0, "invalid log level \"%s\"",
                              value[2].data);
            return DH_CONF_ERROR;
        }

        level = n;
    }

    if (dh_strcmp(value[1].data, "stderr") == 0) {
        file = dh_log_stderr_file(cf->pool);
        cf->cycle->log_use_stderr = 1;

    } else {
        name = value[1];

        if (dh_conf_full_name(cf->cycle, &name, 0) != DH_OK) {
            return DH_CONF_ERROR;
        }

        file = dh_conf_open_file(cf->cycle, &name);
    }

    if (file == NULL) {
        return DH_CONF_ERROR;
    }

    /* the first error_log fills the head in place: its address is kept
     * by whoever owns the list (the cycle, a location) */
    if (*head != NULL && dh_log_get_file_log(*head) == NULL) {
        new_log = *head;

    } else {
        new_log = dh_pcalloc(cf->pool, sizeof(dh_log_t));
        if (new_log == NULL) {
            return DH_CONF_ERROR;
        }

        if (*head == NULL) {
            *head = new_log;
        }
    }

    new_log->log_level = level;
    new_log->file = file;

    if (new_log != *head) {
        dh_log_insert(*head, new_log);
    }

    return DH_CONF_OK;
}


static char *
dh_error_log(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_log_t  *head;

    head = &cf->cycle->new_log;

    return dh_log_set_log(cf, &head);
}


static char *
dh_log_init_conf(dh_cycle_t *cycle, void *conf)
{
    if (dh_log_open_default(cycle) != DH_OK) {
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


static void
dh_log_insert(dh_log_t *log, dh_log_t *new_log)
{
    dh_log_t  tmp;

    if (new_log->log_level > log->log_level) {
        /* the head's address is fixed, so the contents are swapped */
        tmp = *log;
        *log = *new_log;
        *new_log = tmp;

        log->next = new_log;
        return;
    }

    while (log->next) {
        if (new_log->log_level > log->next->log_level) {
            new_log->next = log->next;
            log->next = new_log;
            return;
        }

        log = log->next;
    }

    log->next = new_log;
}


static dh_open_file_t *
dh_log_stderr_file(dh_pool_t *pool)
{
    dh_open_file_t  *file;

    /* not in cycle->open_files: stderr is never reopened or closed */
    file = dh_pcalloc(pool, sizeof(dh_open_file_t));
    if (file == NULL) {
        return NULL;
    }

    file->fd = STDERR_FILENO;

    return file;
}


static u_char *
dh_log_time(u_char *p, u_char *last)
{
    time_t     now;
    size_t     len;
    struct tm  tm;

    len = dh_cached_err_log_time.len;

    if (len != 0) {
        if (len > (size_t) (last - p)) {
            len = last - p;
        }

        return dh_cpymem(p, (u_char *) dh_cached_err_log_time.data, len);
    }

    /* before the time cache is started (early startup, unit tests) */
    now = time(NULL);
    (void) localtime_r(&now, &tm);

    return dh_log_append(p, last, "%4d/%02d/%02d %02d:%02d:%02d",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec);
}


static u_char *
dh_log_errno(u_char *p, u_char *last, dh_err_t err)
{
    p = dh_log_append(p, last, " (%d: ", err);

    if (p < last) {
        p = dh_strerror(err, p, last - p);
    }

    return dh_log_append(p, last, ")");
}


/* Returns `last` when the text did not fit, so a caller can tell a full
 * buffer from a line that ends exactly one byte short. */
static u_char *
dh_log_vappend(u_char *p, u_char *last, const char *fmt, va_list args)
{
    int     n;
    size_t  size;

    if (p >= last) {
        return last;
    }

    size = last - p;

    n = vsnprintf((char *) p, size, fmt, args);

    if (n < 0) {
        return p;
    }

    if ((size_t) n >= size) {
        return last;
    }

    return p + n;
}


static u_char *
dh_log_append(u_char *p, u_char *last, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    p = dh_log_vappend(p, last, fmt, args);
    va_end(args);

    return p;
}


static void
dh_log_write(dh_fd_t fd, u_char *buf, size_t len)
{
    ssize_t  n;

    /* a failed log write has nowhere better to be reported */
    n = write(fd, buf, len);
    (void) n;
}

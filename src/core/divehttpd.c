/*
 * main(): the command line, the first cycle, and the hand-over to the
 * master (or single) process loop.  Only main() and its helpers live here,
 * so everything else can be linked into the unit tests.
 */

#include "dh_config.h"
#include "dh_core.h"

#if (DH_HAVE_OPENSSL)
#include <openssl/opensslv.h>
#include <openssl/crypto.h>
#endif


typedef struct {
    unsigned     show_help:1;
    unsigned     show_version:1;
    unsigned     show_configure:1;

    char        *prefix;
    char        *conf_file;
    char        *conf_params;
    char        *error_log;
    char        *signal;
} dh_options_t;


static dh_int_t dh_get_options(int argc, char *const *argv,
    dh_options_t *opt);
static dh_int_t dh_get_option_value(char *const *argv, int *i, char *p,
    char **value, const char *what);
static dh_int_t dh_check_signal(char *sig);
static void dh_main_stderr(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void dh_show_usage(FILE *out);
static void dh_show_version_info(dh_options_t *opt);
static void dh_show_modules(void);
static dh_int_t dh_process_options(dh_cycle_t *cycle, dh_options_t *opt);
static dh_int_t dh_set_str(dh_pool_t *pool, dh_str_t *str, const char *s,
    size_t len);
static dh_int_t dh_absolute_prefix(dh_cycle_t *cycle, const char *p);
static int dh_test_result(dh_cycle_t *cycle);
static void dh_dump_files(dh_cycle_t *cycle);
static int dh_start(dh_cycle_t *cycle, dh_log_t *log);


int
main(int argc, char *const *argv)
{
    int            rc;
    dh_log_t      *log;
    dh_cycle_t    *cycle, init_cycle;
    dh_options_t   opt;

    dh_memzero(&opt, sizeof(dh_options_t));

    if (dh_get_options(argc, argv, &opt) != DH_OK) {
        return 1;
    }

    if (opt.show_version) {
        dh_show_version_info(&opt);

        if (!dh_test_config) {
            return 0;
        }
    }

    dh_time_init();

    if (dh_os_init_sizes() != DH_OK) {
        dh_main_stderr("[emerg] sysconf() failed");
        return 1;
    }

    dh_pid = getpid();
    dh_parent = getppid();

    log = dh_log_init((u_char *) opt.prefix, (u_char *) opt.error_log);

    dh_memzero(&init_cycle, sizeof(dh_cycle_t));
    init_cycle.log = log;
    dh_cycle = &init_cycle;

    init_cycle.pool = dh_create_pool(1024, log);
    if (init_cycle.pool == NULL) {
        return 1;
    }

    dh_setproctitle_init(argc, argv);

    if (dh_process_options(&init_cycle, &opt) != DH_OK
        || dh_add_inherited_sockets(&init_cycle) != DH_OK
        || dh_preinit_modules() != DH_OK)
    {
        return 1;
    }

    if (opt.signal) {
        dh_process = DH_PROCESS_SIGNALLER;
    }

    cycle = dh_init_cycle(&init_cycle);

    if (cycle == NULL) {
        if (dh_test_config) {
            dh_main_stderr("configuration file %.*s test failed",
                           DH_STR_FMT(init_cycle.conf_file));

        } else if (!opt.signal) {
            dh_status_report_failed(dh_status_error_code
                                    ? dh_status_error_code : "CONF_INVALID",
                                    (char *) dh_log_last_emerg);
        }

        dh_destroy_pool(init_cycle.pool);
        return 1;
    }

    if (dh_test_config || opt.signal) {
        /* neither -t nor -s committed the cycle: both pools are ours */
        rc = dh_test_config ? dh_test_result(cycle)
                            : (int) dh_signal_process(cycle, opt.signal);

        dh_destroy_pool(cycle->pool);
        dh_destroy_pool(init_cycle.pool);
        return rc;
    }

    return dh_start(cycle, log);
}


/* nginx's rules: letters may be combined ("-tq"), a value may follow its
 * letter directly ("-p/prefix/") or be the next argument. */
static dh_int_t
dh_get_options(int argc, char *const *argv, dh_options_t *opt)
{
    int    i;
    char  *p;

    for (i = 1; i < argc; i++) {
        p = argv[i];

        if (*p++ != '-' || *p == '\0') {
            dh_main_stderr("invalid option: \"%s\"", argv[i]);
            dh_show_usage(stderr);
            return DH_ERROR;
        }

        while (*p) {
            switch (*p++) {

            case '?':
            case 'h':
                opt->show_version = 1;
                opt->show_help = 1;
                break;

            case 'v':
                opt->show_version = 1;
                break;

            case 'V':
                opt->show_version = 1;
                opt->show_configure = 1;
                break;

            case 't':
                dh_test_config = 1;
                break;

            case 'T':
                dh_test_config = 1;
                dh_dump_config = 1;
                break;

            case 'q':
                dh_quiet_mode = 1;
                break;

            case 'p':
                if (dh_get_option_value(argv, &i, p, &opt->prefix,
                                        "option \"-p\" requires directory "
                                        "name") != DH_OK)
                {
                    return DH_ERROR;
                }
                goto next;

            case 'c':
                if (dh_get_option_value(argv, &i, p, &opt->conf_file,
                                        "option \"-c\" requires file name")
                    != DH_OK)
                {
                    return DH_ERROR;
                }
                goto next;

            case 'e':
                if (dh_get_option_value(argv, &i, p, &opt->error_log,
                                        "option \"-e\" requires file name")
                    != DH_OK)
                {
                    return DH_ERROR;
                }
                goto next;

            case 'g':
                if (dh_get_option_value(argv, &i, p, &opt->conf_params,
                                        "option \"-g\" requires parameter")
                    != DH_OK)
                {
                    return DH_ERROR;
                }
                goto next;

            case 's':
                if (dh_get_option_value(argv, &i, p, &opt->signal,
                                        "option \"-s\" requires parameter")
                    != DH_OK
                    || dh_check_signal(opt->signal) != DH_OK)
                {
                    return DH_ERROR;
                }
                goto next;

            default:
                dh_main_stderr("invalid option: \"-%c\"", *(p - 1));
                dh_show_usage(stderr);
                return DH_ERROR;
            }
        }

    next:

        continue;
    }

    return DH_OK;
}


static dh_int_t
dh_get_option_value(char *const *argv, int *i, char *p, char **value,
    const char *what)
{
    if (*p) {
        *value = p;
        return DH_OK;
    }

    if (argv[*i + 1]) {
        *value = argv[++*i];
        return DH_OK;
    }

    dh_main_stderr("%s", what);

    return DH_ERROR;
}


static dh_int_t
dh_check_signal(char *sig)
{
    if (strcmp(sig, "stop") == 0 || strcmp(sig, "quit") == 0
        || strcmp(sig, "reopen") == 0 || strcmp(sig, "reload") == 0)
    {
        return DH_OK;
    }

    dh_main_stderr("[emerg] invalid option: \"-s %s\"", sig);

    return DH_ERROR;
}


/* Before (and beside) the log: "divehttpd: message" on stderr. */
static void
dh_main_stderr(const char *fmt, ...)
{
    va_list  args;

    fputs("divehttpd: ", stderr);

    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);

    fputc('\n', stderr);
}


static void
dh_show_usage(FILE *out)
{
    fprintf(out,
        "Usage: divehttpd [-?hvVtTq] [-s signal] [-p prefix]" DH_LINEFEED
        "                 [-e filename] [-c filename] [-g directives]"
        DH_LINEFEED DH_LINEFEED
        "Options:" DH_LINEFEED
        "  -?,-h         : this help" DH_LINEFEED
        "  -v            : show version and exit" DH_LINEFEED
        "  -V            : show version and configure options then exit"
        DH_LINEFEED
        "  -t            : test configuration and exit" DH_LINEFEED
        "  -T            : test configuration, dump it and exit"
        DH_LINEFEED
        "  -q            : suppress non-error messages "
        "during configuration testing" DH_LINEFEED
        "  -s signal     : send signal to a master process: "
        "stop, quit, reopen, reload" DH_LINEFEED
        "  -p prefix     : set prefix path (default: " DH_PREFIX ")"
        DH_LINEFEED
        "  -e filename   : set error log file (default: "
        DH_ERROR_LOG_PATH ")" DH_LINEFEED
        "  -c filename   : set configuration file (default: "
        DH_CONF_PATH ")" DH_LINEFEED
        "  -g directives : set global directives out of configuration "
        "file" DH_LINEFEED);
}


static void
dh_show_version_info(dh_options_t *opt)
{
    /* -h is asked for: it goes to stdout; the version alone to stderr */
    if (opt->show_help) {
        fprintf(stdout, "divehttpd version: divehttpd/" DH_VERSION
                        DH_LINEFEED);
        dh_show_usage(stdout);
        fflush(stdout);
        return;
    }

    fprintf(stderr, "divehttpd version: divehttpd/" DH_VERSION DH_LINEFEED);

    if (!opt->show_configure) {
        return;
    }

#ifdef DH_COMPILER
    fprintf(stderr, "built by " DH_COMPILER DH_LINEFEED);
#endif

#if (DH_HAVE_OPENSSL)
    fprintf(stderr, "built with " OPENSSL_VERSION_TEXT
                    " (running with %s)" DH_LINEFEED,
            OpenSSL_version(OPENSSL_VERSION));
#endif

    fprintf(stderr, "configure arguments:" DH_CONFIGURE DH_LINEFEED);

    dh_show_modules();
}


/* "modules: core errlog conf ...": the table's names without the
 * "dh_" prefix and "_module" suffix. */
static void
dh_show_modules(void)
{
    size_t      len;
    dh_uint_t   i;
    const char  *name;

    fputs("modules:", stderr);

    for (i = 0; dh_module_names[i]; i++) {
        name = dh_module_names[i];
        len = strlen(name);

        if (strncmp(name, "dh_", 3) == 0) {
            name += 3;
            len -= 3;
        }

        if (len > 7 && strcmp(name + len - 7, "_module") == 0) {
            len -= 7;
        }

        fprintf(stderr, " %.*s", (int) len, name);
    }

    fputs(DH_LINEFEED, stderr);
}


/* The prefix (absolute, with '/'), the conf file (absolute: against the
 * prefix like nginx), its directory, -g and -e into the init cycle. */
static dh_int_t
dh_process_options(dh_cycle_t *cycle, dh_options_t *opt)
{
    u_char  *p;
    char    *file;

    if (dh_absolute_prefix(cycle, opt->prefix ? opt->prefix : DH_PREFIX)
        != DH_OK)
    {
        return DH_ERROR;
    }

    file = opt->conf_file ? opt->conf_file : DH_CONF_PATH;

    if (dh_set_str(cycle->pool, &cycle->conf_file, file, strlen(file))
        != DH_OK
        || dh_conf_full_name(cycle, &cycle->conf_file, 0) != DH_OK)
    {
        return DH_ERROR;
    }

    for (p = cycle->conf_file.data + cycle->conf_file.len - 1;
         p > cycle->conf_file.data && *p != '/';
         p--)
    {
        /* void */
    }

    if (dh_set_str(cycle->pool, &cycle->conf_prefix,
                   (char *) cycle->conf_file.data,
                   p - cycle->conf_file.data + 1) != DH_OK)
    {
        return DH_ERROR;
    }

    if (opt->conf_params
        && dh_set_str(cycle->pool, &cycle->conf_param, opt->conf_params,
                      strlen(opt->conf_params)) != DH_OK)
    {
        return DH_ERROR;
    }

    if (opt->error_log
        && dh_set_str(cycle->pool, &cycle->error_log, opt->error_log,
                      strlen(opt->error_log)) != DH_OK)
    {
        return DH_ERROR;
    }

    return DH_OK;
}


static dh_int_t
dh_set_str(dh_pool_t *pool, dh_str_t *str, const char *s, size_t len)
{
    str->data = dh_pnalloc(pool, len + 1);
    if (str->data == NULL) {
        return DH_ERROR;
    }

    dh_memcpy(str->data, s, len);
    str->data[len] = '\0';
    str->len = len;

    return DH_OK;
}


/* A relative -p is taken against the current directory now, before
 * anything could change it. */
static dh_int_t
dh_absolute_prefix(dh_cycle_t *cycle, const char *p)
{
    char    cwd[PATH_MAX];
    size_t  len;
    u_char  *s;

    if (p[0] == '/') {
        cwd[0] = '\0';

    } else if (getcwd(cwd, sizeof(cwd)) == NULL) {
        dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno, "getcwd() failed");
        return DH_ERROR;
    }

    len = strlen(cwd) + 1 + strlen(p) + 1;

    s = dh_pnalloc(cycle->pool, len + 1);
    if (s == NULL) {
        return DH_ERROR;
    }

    len = snprintf((char *) s, len + 1, "%s%s%s", cwd, cwd[0] ? "/" : "", p);

    if (len == 0 || s[len - 1] != '/') {
        s[len++] = '/';
        s[len] = '\0';
    }

    cycle->prefix.data = s;
    cycle->prefix.len = len;

    return DH_OK;
}


static int
dh_test_result(dh_cycle_t *cycle)
{
    if (!dh_quiet_mode) {
        dh_main_stderr("the configuration file %.*s syntax is ok",
                       DH_STR_FMT(cycle->conf_file));
        dh_main_stderr("configuration file %.*s test is successful",
                       DH_STR_FMT(cycle->conf_file));
    }

    if (dh_dump_config) {
        dh_dump_files(cycle);
    }

    return 0;
}


static void
dh_dump_files(dh_cycle_t *cycle)
{
    dh_buf_t        *b;
    dh_uint_t        i;
    dh_conf_dump_t  *cd;

    cd = cycle->config_dump.elts;

    for (i = 0; i < cycle->config_dump.nelts; i++) {
        b = cd[i].buffer;

        fprintf(stdout, "# configuration file %.*s:" DH_LINEFEED,
                DH_STR_FMT(cd[i].name));

        fwrite(b->pos, 1, b->last - b->pos, stdout);

        fputs(DH_LINEFEED, stdout);
    }

    fflush(stdout);
}


/* Signals, daemon, pid file, stderr into the log, then the loop. */
static int
dh_start(dh_cycle_t *cycle, dh_log_t *log)
{
    dh_core_conf_t  *ccf;

    ccf = (dh_core_conf_t *) dh_get_conf(cycle->conf_ctx, dh_core_module);

    if (ccf->master) {
        dh_process = DH_PROCESS_MASTER;
    }

    if (dh_init_signals(cycle->log) != DH_OK) {
        return 1;
    }

    if (!dh_inherited && ccf->daemon) {
        if (dh_daemon(cycle->log) != DH_OK) {
            return 1;
        }

        dh_daemonized = 1;
    }

    if (dh_inherited) {
        dh_daemonized = 1;
    }

    if (dh_create_pidfile(&ccf->pid, cycle->log) != DH_OK) {
        return 1;
    }

    if (dh_log_redirect_stderr(cycle) != DH_OK) {
        return 1;
    }

    /* the bootstrap log file is done with; later bootstrap messages (none
     * expected) go to stderr, which now is the error log */
    if (log->file && log->file->fd != STDERR_FILENO) {
        (void) close(log->file->fd);
        log->file->fd = STDERR_FILENO;
    }

    dh_use_stderr = 0;

    if (dh_process == DH_PROCESS_SINGLE) {
        dh_single_process_cycle(cycle);

    } else {
        dh_master_process_cycle(cycle);
    }

    return 0;
}

/*
 * The core module: main-level directives that shape the processes
 * (daemon, master_process, worker_processes, worker_rlimit_nofile,
 * worker_shutdown_timeout, user, pid, debug_points).
 *
 * It lives apart from main() so that unit tests, which link every object
 * but divehttpd.c, still get a complete module table.
 */

#include "dh_config.h"
#include "dh_core.h"


static void *dh_core_module_create_conf(dh_cycle_t *cycle);
static char *dh_core_module_init_conf(dh_cycle_t *cycle, void *conf);
static char *dh_set_worker_processes(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static char *dh_set_user(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static char *dh_set_user_group(dh_conf_t *cf, dh_core_conf_t *ccf,
    struct passwd *pwd, u_char *group);
static char *dh_core_default_user(dh_cycle_t *cycle, dh_core_conf_t *ccf);


static dh_conf_enum_t  dh_debug_points[] = {
    { dh_string("stop"), DH_DEBUG_POINTS_STOP },
    { dh_string("abort"), DH_DEBUG_POINTS_ABORT },
    { dh_null_string, 0 }
};


static dh_command_t  dh_core_commands[] = {

    { dh_string("daemon"),
      DH_MAIN_CONF|DH_DIRECT_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      0,
      offsetof(dh_core_conf_t, daemon),
      NULL },

    { dh_string("master_process"),
      DH_MAIN_CONF|DH_DIRECT_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      0,
      offsetof(dh_core_conf_t, master),
      NULL },

    { dh_string("worker_processes"),
      DH_MAIN_CONF|DH_DIRECT_CONF|DH_CONF_TAKE1,
      dh_set_worker_processes,
      0,
      0,
      NULL },

    { dh_string("worker_rlimit_nofile"),
      DH_MAIN_CONF|DH_DIRECT_CONF|DH_CONF_TAKE1,
      dh_conf_set_num_slot,
      0,
      offsetof(dh_core_conf_t, rlimit_nofile),
      NULL },

    { dh_string("worker_shutdown_timeout"),
      DH_MAIN_CONF|DH_DIRECT_CONF|DH_CONF_TAKE1,
      dh_conf_set_msec_slot,
      0,
      offsetof(dh_core_conf_t, shutdown_timeout),
      NULL },

    { dh_string("user"),
      DH_MAIN_CONF|DH_DIRECT_CONF|DH_CONF_TAKE12,
      dh_set_user,
      0,
      0,
      NULL },

    { dh_string("pid"),
      DH_MAIN_CONF|DH_DIRECT_CONF|DH_CONF_TAKE1,
      dh_conf_set_str_slot,
      0,
      offsetof(dh_core_conf_t, pid),
      NULL },

    { dh_string("debug_points"),
      DH_MAIN_CONF|DH_DIRECT_CONF|DH_CONF_TAKE1,
      dh_conf_set_enum_slot,
      0,
      offsetof(dh_core_conf_t, debug_points),
      &dh_debug_points },

    dh_null_command
};


static dh_core_module_t  dh_core_module_ctx = {
    dh_string("core"),
    dh_core_module_create_conf,
    dh_core_module_init_conf
};


dh_module_t  dh_core_module = {
    DH_MODULE_V1,
    &dh_core_module_ctx,
    dh_core_commands,
    DH_CORE_MODULE,
    NULL,
    NULL,
    NULL,
    NULL
};


static void *
dh_core_module_create_conf(dh_cycle_t *cycle)
{
    dh_core_conf_t  *ccf;

    ccf = dh_pcalloc(cycle->pool, sizeof(dh_core_conf_t));
    if (ccf == NULL) {
        return NULL;
    }

    /* zeroed: pid, working_directory, username */

    ccf->daemon = DH_CONF_UNSET;
    ccf->master = DH_CONF_UNSET;
    ccf->shutdown_timeout = DH_CONF_UNSET_MSEC;
    ccf->worker_processes = DH_CONF_UNSET;
    ccf->debug_points = DH_CONF_UNSET;
    ccf->rlimit_nofile = DH_CONF_UNSET;
    ccf->user = (uid_t) DH_CONF_UNSET_UINT;
    ccf->group = (gid_t) DH_CONF_UNSET_UINT;

    return ccf;
}


static char *
dh_core_module_init_conf(dh_cycle_t *cycle, void *conf)
{
    dh_core_conf_t  *ccf = conf;

    dh_conf_init_value(ccf->daemon, 1);
    dh_conf_init_value(ccf->master, 1);
    dh_conf_init_msec_value(ccf->shutdown_timeout, 10000);
    dh_conf_init_value(ccf->worker_processes, 1);
    dh_conf_init_value(ccf->debug_points, 0);

    if (ccf->pid.len == 0) {
        dh_str_set(&ccf->pid, DH_PID_PATH);
    }

    if (dh_conf_full_name(cycle, &ccf->pid, 0) != DH_OK) {
        return DH_CONF_ERROR;
    }

    /* open() and unlink() need it terminated; an absolute name still
     * points into the parsed arguments */
    ccf->pid.data = dh_pstrdup(cycle->pool, &ccf->pid);
    if (ccf->pid.data == NULL) {
        return DH_CONF_ERROR;
    }

    if (ccf->user == (uid_t) DH_CONF_UNSET_UINT && geteuid() == 0) {
        return dh_core_default_user(cycle, ccf);
    }

    return DH_CONF_OK;
}


/* Started as root with no "user": the workers still must not run as
 * root, so they become DH_USER:DH_GROUP (nobody:nogroup). */
static char *
dh_core_default_user(dh_cycle_t *cycle, dh_core_conf_t *ccf)
{
    struct group   *grp;
    struct passwd  *pwd;

    dh_set_errno(0);
    pwd = getpwnam(DH_USER);
    if (pwd == NULL) {
        dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                     "getpwnam(\"" DH_USER "\") failed");
        return DH_CONF_ERROR;
    }

    dh_set_errno(0);
    grp = getgrnam(DH_GROUP);
    if (grp == NULL) {
        dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                     "getgrnam(\"" DH_GROUP "\") failed");
        return DH_CONF_ERROR;
    }

    ccf->username = DH_USER;
    ccf->user = pwd->pw_uid;
    ccf->group = grp->gr_gid;

    return DH_CONF_OK;
}


static char *
dh_set_worker_processes(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    long             n;
    dh_str_t        *value;
    dh_core_conf_t  *ccf = conf;

    if (ccf->worker_processes != DH_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (dh_strcmp(value[1].data, "auto") == 0) {
        n = sysconf(_SC_NPROCESSORS_ONLN);
        ccf->worker_processes = (n > 0) ? n : 1;
        return DH_CONF_OK;
    }

    ccf->worker_processes = dh_atoi(value[1].data, value[1].len);

    if (ccf->worker_processes == DH_ERROR || ccf->worker_processes == 0) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "invalid value \"%s\" in \"%s\" directive",
                          value[1].data, cmd->name.data);
        return DH_CONF_ERROR;
    }

    /* the master, its helpers and the old workers of a reload share the
     * process table */
    if (ccf->worker_processes > DH_MAX_PROCESSES / 4) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "\"%s\" must not be more than %d",
                          cmd->name.data, DH_MAX_PROCESSES / 4);
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


static char *
dh_set_user(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_str_t        *value;
    struct passwd   *pwd;
    dh_core_conf_t  *ccf = conf;

    if (ccf->user != (uid_t) DH_CONF_UNSET_UINT || ccf->username != NULL) {
        return "is duplicate";
    }

    if (geteuid() != 0) {
        dh_conf_log_error(DH_LOG_WARN, cf, 0,
                          "the \"user\" directive makes sense only if the "
                          "master process runs with super-user privileges, "
                          "ignored");
        /* remember it was given, so a second one is still a duplicate */
        ccf->username = "";
        return DH_CONF_OK;
    }

    value = cf->args->elts;

    ccf->username = (char *) value[1].data;

    dh_set_errno(0);
    pwd = getpwnam((const char *) value[1].data);
    if (pwd == NULL) {
        dh_conf_log_error(DH_LOG_EMERG, cf, dh_errno,
                          "getpwnam(\"%s\") failed", value[1].data);
        return DH_CONF_ERROR;
    }

    ccf->user = pwd->pw_uid;

    return dh_set_user_group(cf, ccf, pwd,
                             cf->args->nelts == 3 ? value[2].data : NULL);
}


/* Without a group name the user's primary group is used (nginx looks up
 * a group named like the user, which fails for nobody:nogroup). */
static char *
dh_set_user_group(dh_conf_t *cf, dh_core_conf_t *ccf, struct passwd *pwd,
    u_char *group)
{
    struct group  *grp;

    if (group == NULL) {
        ccf->group = pwd->pw_gid;
        return DH_CONF_OK;
    }

    dh_set_errno(0);
    grp = getgrnam((const char *) group);
    if (grp == NULL) {
        dh_conf_log_error(DH_LOG_EMERG, cf, dh_errno,
                          "getgrnam(\"%s\") failed", group);
        return DH_CONF_ERROR;
    }

    ccf->group = grp->gr_gid;

    return DH_CONF_OK;
}

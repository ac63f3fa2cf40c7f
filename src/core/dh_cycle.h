/*
 * The cycle: one parsed configuration and everything it opened (log and
 * other files, listening sockets, shared memory zones).  A reload builds a
 * new cycle beside the old one; if that fails the old one keeps serving.
 */

#ifndef DH_CYCLE_H
#define DH_CYCLE_H

#include "dh_core.h"

#ifndef DH_CYCLE_POOL_SIZE
#define DH_CYCLE_POOL_SIZE     DH_DEFAULT_POOL_SIZE
#endif

#define DH_DEBUG_POINTS_STOP   1
#define DH_DEBUG_POINTS_ABORT  2

typedef struct dh_cycle_hooks_s  dh_cycle_hooks_t;

struct dh_cycle_s {
    void                  ****conf_ctx;   /* per module index */
    dh_pool_t               *pool;

    dh_log_t                *log;
    dh_log_t                 new_log;

    dh_uint_t                log_use_stderr;  /* unsigned log_use_stderr:1; */

    dh_module_t            **modules;
    dh_uint_t                modules_n;

    dh_array_t               listening;     /* of dh_listening_t */
    dh_array_t               paths;

    dh_array_t               config_dump;   /* of dh_conf_dump_t, for -T */

    dh_list_t                open_files;    /* of dh_open_file_t */
    dh_list_t                shared_memory; /* of dh_shm_zone_t */

    dh_uint_t                connection_n;  /* worker_connections */
    dh_uint_t                files_n;

    /* the event layer's per-worker state (connection array, ...) */
    void                    *event_ctx;

    dh_cycle_t              *old_cycle;

    dh_str_t                 conf_file;     /* absolute */
    dh_str_t                 conf_param;    /* -g */
    dh_str_t                 conf_prefix;   /* conf_file's directory, '/' */
    dh_str_t                 prefix;        /* -p, with '/' */
    dh_str_t                 error_log;     /* -e, or the built-in default */
    dh_str_t                 hostname;

    dh_array_t               helpers;       /* of dh_helper_t, see
                                               dh_register_helper() */
};

/* Main-level settings owned by the core module. */
typedef struct {
    dh_flag_t                daemon;
    dh_flag_t                master;

    dh_msec_t                shutdown_timeout;   /* worker_shutdown_timeout */

    dh_int_t                 worker_processes;   /* "auto" is resolved to the
                                                    online CPUs when parsed */
    dh_int_t                 debug_points;

    dh_int_t                 rlimit_nofile;

    uid_t                    user;
    gid_t                    group;
    char                    *username;

    dh_str_t                 working_directory;
    dh_str_t                 pid;
    dh_str_t                 oldpid;
} dh_core_conf_t;

/* Builds a new cycle from old_cycle's paths; NULL on any error (logged
 * with file:line).  old_cycle stays untouched on failure.  With -t it
 * stops after init_module (no pid file, files, zones or sockets); with
 * -s (DH_PROCESS_SIGNALLER) right after the configuration is parsed. */
dh_cycle_t *dh_init_cycle(dh_cycle_t *old_cycle);
dh_int_t dh_create_pidfile(dh_str_t *name, dh_log_t *log);
void dh_delete_pidfile(dh_cycle_t *cycle);
/* -s stop|quit|reopen|reload: read the pid file and kill(). */
dh_int_t dh_signal_process(dh_cycle_t *cycle, char *sig);
void dh_reopen_cycle_files(dh_cycle_t *cycle, uid_t user);
/* Single-process mode keeps the old cycle after a reload until its
 * connections are drained; this releases every kept cycle (unused
 * sockets, zones, files, pool) once the process serves the new one. */
void dh_clean_old_cycles(void);
/* worker_shutdown_timeout: arms a deadline on dh_current_msec (the core
 * cannot add event timers); the worker loop polls it after each round. */
void dh_set_shutdown_timer(dh_cycle_t *cycle);
dh_uint_t dh_shutdown_timer_expired(void);
void dh_cancel_shutdown_timer(void);

extern volatile dh_cycle_t  *dh_cycle;
extern dh_array_t            dh_old_cycles;
extern dh_module_t           dh_core_module;
extern dh_uint_t             dh_test_config;   /* -t or -T */
extern dh_uint_t             dh_dump_config;   /* -T */
extern dh_uint_t             dh_quiet_mode;    /* -q */

#endif /* DH_CYCLE_H */

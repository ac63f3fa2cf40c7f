/*
 * Child processes, signals and the master <-> child channel.
 *
 * Signal handlers only set the flags below; the master acts on them after
 * sigsuspend() returns and a worker after its event loop wakes up.
 */

#ifndef DH_PROCESS_H
#define DH_PROCESS_H

#include "dh_core.h"

#define DH_MAX_PROCESSES         1024
#define DH_INVALID_PID           -1

typedef pid_t dh_pid_t;

typedef void (*dh_spawn_proc_pt) (dh_cycle_t *cycle, void *data);

typedef struct {
    dh_pid_t            pid;
    int                 status;
    dh_socket_t         channel[2];   /* [0] master end, [1] child end */

    dh_spawn_proc_pt    proc;
    void               *data;
    char               *name;

    dh_uint_t           respawns;     /* quick deaths in a row, for back-off */
    time_t              spawned_at;
    dh_msec_t           spawned_msec; /* dh_current_msec at fork */
    dh_msec_t           respawn_at;   /* back-off: respawn due, 0 = none */

    unsigned            respawn:1;
    unsigned            just_spawn:1;
    unsigned            detached:1;
    unsigned            exiting:1;
    unsigned            exited:1;
    unsigned            helper:1;     /* not a worker: signalled by kill() */

    char                name_buf[64]; /* outlives the cycle that named it */
} dh_process_t;

#define DH_PROCESS_NORESPAWN     -1
#define DH_PROCESS_JUST_SPAWN    -2
#define DH_PROCESS_RESPAWN       -3
#define DH_PROCESS_JUST_RESPAWN  -4
#define DH_PROCESS_DETACHED      -5

/* Commands sent over the channel. */
#define DH_CMD_OPEN_CHANNEL   1
#define DH_CMD_CLOSE_CHANNEL  2
#define DH_CMD_QUIT           3
#define DH_CMD_TERMINATE      4
#define DH_CMD_REOPEN         5

typedef struct {
    dh_uint_t     command;
    dh_pid_t      pid;
    dh_int_t      slot;
    dh_fd_t       fd;
} dh_channel_t;

/* Exit status a child uses when it cannot start and must not be
 * respawned (bad privileges, a module's init_process failed). */
#define DH_PROCESS_FATAL_EXIT  2

dh_pid_t dh_spawn_process(dh_cycle_t *cycle, dh_spawn_proc_pt proc,
    void *data, char *name, dh_int_t respawn);
dh_int_t dh_init_signals(dh_log_t *log);
dh_int_t dh_os_signal_process(dh_cycle_t *cycle, char *name, dh_pid_t pid);
void dh_process_get_status(void);
void dh_debug_point(void);
/* Logs "signal N (SIGX) received from PID, ACTION" for every signal that
 * arrived since the last call (handlers only record them). */
void dh_log_received_signals(dh_log_t *log);

dh_int_t dh_write_channel(dh_socket_t s, dh_channel_t *ch, size_t size,
    dh_log_t *log);
dh_int_t dh_read_channel(dh_socket_t s, dh_channel_t *ch, size_t size,
    dh_log_t *log);
void dh_close_channel(dh_fd_t *fd, dh_log_t *log);

dh_int_t dh_daemon(dh_log_t *log);
void dh_setproctitle_init(int argc, char *const *argv);
void dh_setproctitle(char *title);

#define dh_sched_yield()  sched_yield()

extern int            dh_argc;
extern char         **dh_argv;
extern char         **dh_os_argv;
extern dh_pid_t       dh_pid;
extern dh_pid_t       dh_parent;
extern dh_socket_t    dh_channel;
extern dh_int_t       dh_process_slot;
extern dh_int_t       dh_last_process;
extern dh_process_t   dh_processes[DH_MAX_PROCESSES];

#endif /* DH_PROCESS_H */

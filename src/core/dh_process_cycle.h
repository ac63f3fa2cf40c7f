/*
 * The master loop, the worker and helper processes, and the single-process
 * mode (master_process off).
 *
 * The core does not know the event loop.  The event layer fills in
 * dh_event_hooks during its init_module, and the worker loop drives events
 * only through them: process one round of events and timers, stop
 * accepting, close idle connections, and ask whether anything that must
 * finish (a non-cancelable timer, an in-flight request) is still pending.
 */

#ifndef DH_PROCESS_CYCLE_H
#define DH_PROCESS_CYCLE_H

#include "dh_core.h"

#define DH_PROCESS_SINGLE     0
#define DH_PROCESS_MASTER     1
#define DH_PROCESS_SIGNALLER  2
#define DH_PROCESS_WORKER     3
#define DH_PROCESS_HELPER     4

typedef struct {
    /* wait for and handle events and expired timers once */
    void        (*process_events_and_timers)(dh_cycle_t *cycle);
    /* graceful exit began: close listeners, close idle connections,
     * mark busy keep-alive connections to close after their response */
    void        (*shutdown_begin)(dh_cycle_t *cycle);
    /* 1 when nothing non-cancelable is left and the worker may exit */
    dh_uint_t   (*can_exit)(dh_cycle_t *cycle);
    /* worker_shutdown_timeout fired: everything still open is closed,
     * new requests on live connections get 503 + Retry-After first */
    void        (*shutdown_timeout)(dh_cycle_t *cycle);
    /* watch the master channel: call handler when readable */
    dh_int_t    (*add_channel)(dh_cycle_t *cycle, dh_fd_t fd,
                               void (*handler)(dh_cycle_t *cycle));
} dh_event_hooks_t;

/* A helper process is a child with its own loop (storage, mcp host);
 * modules register them during configuration (dh_register_helper() copies
 * the struct into the cycle).  The master starts one per registration
 * after the workers, respawns it like a worker, and on reload starts the
 * new cycle's helpers before it retires the old ones.  proc runs after
 * the privilege drop, without the modules' init_process, and must return
 * (the process then exits 0) soon after dh_quit or dh_terminate is set:
 * helpers are told by signals, not over the channel. */
typedef struct {
    dh_str_t      name;
    void        (*proc)(dh_cycle_t *cycle, void *data);
    void         *data;
} dh_helper_t;

/* Set by a core module (storage) in init_module: the master calls it for
 * every reaped child with its wait status, before any respawn. */
extern void (*dh_child_exited_hook)(dh_cycle_t *cycle, dh_pid_t pid,
    int status);

void dh_master_process_cycle(dh_cycle_t *cycle);
void dh_single_process_cycle(dh_cycle_t *cycle);
dh_int_t dh_register_helper(dh_cycle_t *cycle, dh_helper_t *helper);

extern dh_event_hooks_t  dh_event_hooks;

extern dh_uint_t      dh_process;
extern dh_uint_t      dh_worker;
extern dh_pid_t       dh_new_binary;
extern dh_uint_t      dh_inherited;
extern dh_uint_t      dh_daemonized;
extern dh_uint_t      dh_exiting;       /* graceful shutdown in progress */
extern dh_uint_t      dh_shutdown_expired; /* worker_shutdown_timeout hit */

extern sig_atomic_t   dh_reap;
extern sig_atomic_t   dh_sigio;
extern sig_atomic_t   dh_sigalrm;
extern sig_atomic_t   dh_quit;
extern sig_atomic_t   dh_debug_quit;
extern sig_atomic_t   dh_terminate;
extern sig_atomic_t   dh_noaccept;
extern sig_atomic_t   dh_reconfigure;
extern sig_atomic_t   dh_reopen;
extern sig_atomic_t   dh_change_binary;

#endif /* DH_PROCESS_CYCLE_H */

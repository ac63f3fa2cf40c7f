/*
 * Per-worker thread pool.  Blocking work (storage, file reads, name
 * resolution) runs here; when a task finishes the thread queues it and
 * writes to an eventfd that the event loop watches, and the loop then calls
 * the task's completion handler on its own thread.  The core does not know
 * the event loop: the event layer registers notify_fd and calls
 * dh_thread_pool_process_done() when it becomes readable.
 */

#ifndef DH_THREAD_POOL_H
#define DH_THREAD_POOL_H

#include "dh_core.h"

struct dh_thread_task_s {
    dh_thread_task_t   *next;
    dh_uint_t           id;
    void               *ctx;             /* the caller's data */
    /* runs on a pool thread; must not touch the event loop */
    void              (*handler)(void *ctx, dh_log_t *log);
    /* runs on the event loop after handler returned */
    void              (*done)(dh_thread_task_t *task);
    void               *done_data;
};

typedef struct {
    dh_thread_task_t   *first;
    dh_thread_task_t  **last;
} dh_thread_pool_queue_t;

struct dh_thread_pool_s {
    pthread_mutex_t          mtx;
    pthread_cond_t           cond;
    dh_thread_pool_queue_t   queue;
    dh_int_t                 waiting;
    dh_int_t                 max_queue;

    dh_str_t                 name;
    dh_uint_t                threads;
    pthread_t               *tids;
    dh_uint_t                running;   /* threads started */
    dh_uint_t                stopping;

    /* completed tasks, handed to the loop */
    pthread_mutex_t          done_mtx;
    dh_thread_pool_queue_t   done;
    dh_fd_t                  notify_fd; /* eventfd */

    dh_log_t                *log;
    u_char                  *file;      /* conf location for messages */
    dh_uint_t                line;
};

/* Allocates a task with `size` bytes of ctx right after it. */
dh_thread_task_t *dh_thread_task_alloc(dh_pool_t *pool, size_t size);
/* DH_ERROR when the queue is full (max_queue) or the pool is stopping. */
dh_int_t dh_thread_task_post(dh_thread_pool_t *tp, dh_thread_task_t *task);
/* Posts from the event loop thread only.  Runs the done handlers of every
 * finished task (event loop thread); reads notify_fd itself, before it
 * takes the done list, so the caller only has to call it when notify_fd
 * is readable. */
void dh_thread_pool_process_done(dh_thread_pool_t *tp);

/* "thread_pool name threads=N [max_queue=N]" at main level.  Call
 * dh_thread_pool_get() during configuration (a directive handler or
 * postconfiguration) to reserve a pool: it may be declared later in the
 * file; "default" (name NULL or "default") gets 4 threads and max_queue
 * 65536 unless declared, and is created only when asked for.  After the
 * configuration is complete it only finds pools (NULL if unknown). */
dh_thread_pool_t *dh_thread_pool_get(dh_cycle_t *cycle, dh_str_t *name);
dh_int_t dh_thread_pool_start_all(dh_cycle_t *cycle);  /* init_process */
void dh_thread_pool_stop_all(dh_cycle_t *cycle);       /* exit_process */
/* Every pool of the cycle (elements are dh_thread_pool_t *), for the event
 * layer to watch notify_fd (-1 until init_process started the pool). */
dh_array_t *dh_thread_pools(dh_cycle_t *cycle);

extern dh_module_t  dh_thread_pool_module;

#endif /* DH_THREAD_POOL_H */

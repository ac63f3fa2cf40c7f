/*
 * divehttpd: the core layer.
 *
 * Forward declarations of every core type, the status codes every function
 * returns, and the list of core headers.  Files in src/core include only
 * this; the layers above (event, http, modules) include it too.  Nothing
 * here knows about events, HTTP or modules above the core.
 */

#ifndef DH_CORE_H
#define DH_CORE_H

#include "dh_config.h"

typedef struct dh_module_s          dh_module_t;
typedef struct dh_conf_s            dh_conf_t;
typedef struct dh_cycle_s           dh_cycle_t;
typedef struct dh_pool_s            dh_pool_t;
typedef struct dh_chain_s           dh_chain_t;
typedef struct dh_log_s             dh_log_t;
typedef struct dh_open_file_s       dh_open_file_t;
typedef struct dh_command_s         dh_command_t;
typedef struct dh_file_s            dh_file_t;
typedef struct dh_shm_zone_s        dh_shm_zone_t;
typedef struct dh_thread_pool_s     dh_thread_pool_t;
typedef struct dh_thread_task_s     dh_thread_task_t;

/* Status codes.  Every function that can fail returns one of these (or a
 * pointer that is NULL on failure) and every caller checks it. */
#define  DH_OK          0
#define  DH_ERROR      -1
#define  DH_AGAIN      -2       /* would block; the caller re-armed an event */
#define  DH_BUSY       -3
#define  DH_DONE       -4       /* finished; nothing more to do here */
#define  DH_DECLINED   -5       /* not mine; try the next handler */
#define  DH_ABORT      -6

#include "dh_errno.h"
#include "dh_queue.h"
#include "dh_string.h"
#include "dh_log.h"
#include "dh_palloc.h"
#include "dh_array.h"
#include "dh_list.h"
#include "dh_buf.h"
#include "dh_hash.h"
#include "dh_rbtree.h"
#include "dh_times.h"
#include "dh_file.h"
#include "dh_inet.h"
#include "dh_shmtx.h"
#include "dh_slab.h"
#include "dh_shmem.h"
#include "dh_listening.h"
#include "dh_conf_file.h"
#include "dh_regex.h"
#include "dh_module.h"
#include "dh_cycle.h"
#include "dh_thread_pool.h"
#include "dh_process.h"
#include "dh_process_cycle.h"
#include "dh_metrics.h"


#endif /* DH_CORE_H */

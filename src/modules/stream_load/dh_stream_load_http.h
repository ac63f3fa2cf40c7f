/*
 * Stream Load over HTTP, private to dh_stream_load_module.c (configuration
 * and header phase) and dh_stream_load_run.c (storage jobs, body, commit).
 */

#ifndef DH_STREAM_LOAD_HTTP_H
#define DH_STREAM_LOAD_HTTP_H

#include "dh_config.h"
#include "dh_core.h"
#include "dh_event.h"
#include "dh_http.h"
#include "dh_http_request_body.h"
#include "modules/dh_http_auth_basic_module.h"
#include "dh_stream_load.h"


#define DH_SL_JOB_BEGIN          1
#define DH_SL_JOB_COMMIT         2
#define DH_SL_JOB_ABORT          3


typedef struct {
    time_t                       label_keep;
    dh_str_t                     error_dir;
    dh_uint_t                    store;       /* databases declared */
} dh_sl_main_conf_t;

typedef struct {
    dh_flag_t                    enable;
    dh_http_auth_basic_conf_t    auth;
    dh_flag_t                    auth_set;
    dh_uint_t                    auth_status;
    off_t                        json_max;
} dh_sl_loc_conf_t;

/*
 * The context of one load has its own pool: the request can be closed
 * while a storage job or a staging write runs (worker shutdown timeout),
 * and those must find their memory.  request is NULL once it is gone;
 * the last completion then frees the RUNNING label and the pool.
 */
typedef struct {
    dh_pool_t                   *pool;
    dh_http_request_t           *request;      /* NULL: gone */
    dh_uint_t                    busy;         /* jobs and writes out */
    dh_sl_params_t               params;
    dh_str_t                     db;
    dh_str_t                     table_name;
    dh_table_t                  *table;
    dh_sl_load_t                *load;
    dh_sl_reply_t                reply;

    dh_storage_job_t             job;
    dh_uint_t                    job_type;
    dh_str_t                     job_msg;     /* the work's error */
    int64_t                      job_rows;

    dh_fd_t                      stage_fd;
    off_t                        stage_off;

    dh_event_t                   timer;
    dh_msec_t                    start;
    dh_msec_t                    phase_start;

    dh_int_t                     body_rc;     /* done() rc, deferred */
    dh_str_t                     fail_msg;    /* the reply after abort */

    unsigned                     reading:1;
    unsigned                     body_done:1;
    unsigned                     timed_out:1;
    unsigned                     aborting:1;
    unsigned                     closed:1;    /* client gone */
    unsigned                     running:1;   /* our label is RUNNING */
    unsigned                     counted:1;   /* in current_processing */
} dh_sl_ctx_t;

typedef struct {
    dh_sl_ctx_t                 *ctx;
    dh_sl_batch_t               *batch;
    off_t                        offset;
    int                          err;
} dh_sl_flush_task_t;


dh_int_t dh_sl_http_reply(dh_http_request_t *r, dh_sl_ctx_t *ctx,
    dh_uint_t http_status);
dh_int_t dh_sl_http_post(dh_sl_ctx_t *ctx, dh_uint_t type);
dh_int_t dh_sl_http_flush(dh_sl_load_t *ld, dh_sl_batch_t *b,
    dh_uint_t last, void *data);
void dh_sl_http_resume(dh_sl_load_t *ld, void *data);
void dh_sl_http_end(dh_sl_ctx_t *ctx, dh_int_t rc);
/* request pool cleanup */
void dh_sl_http_request_gone(void *data);
dh_msec_t dh_sl_http_clock(void);

extern dh_module_t  dh_http_stream_load_module;

#endif /* DH_STREAM_LOAD_HTTP_H */

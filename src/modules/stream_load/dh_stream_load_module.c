/*
 * Stream Load: PUT /api/{db}/{table}/_stream_load, StarRocks-compatible
 * (see ../shared/spec/stream-load-and-metrics.md section 1), and
 * GET /api/_load_error_log?file=NAME for the rejected rows.
 *
 *   location /api/ {
 *       stream_load;
 *       client_max_body_size 10g;
 *       stream_load_auth_basic "starrocks";
 *       stream_load_auth_basic_user_file conf/htpasswd;
 *   }
 *
 * Flow of a load:
 *
 *   header phase (content handler, nothing read yet): route, method,
 *     auth, Content-Length limit, data headers, JSON size, table, columns
 *     and where; any failure is answered at once, so no 100 Continue goes
 *     out and the client never sends the body;
 *   begin (storage job): the label must be free (a FINISHED one is
 *     "Label Already Exists", a live RUNNING one too), takes a TxnId and
 *     records the label RUNNING under this worker's pid;
 *   body (streamed): reader -> rows -> batches; batches are appended to
 *     an unlinked staging file by the thread pool, the body is paused
 *     while one batch is being written and another is full;
 *   commit (storage job): ONE transaction applies every staged row and
 *     marks the label FINISHED; the reply goes out after it returned
 *     (durable).  Any failure after begin deletes the RUNNING label
 *     (abort job) before the reply, so the label can be used again.
 *
 * A worker killed at any point leaves either a committed load or nothing:
 * the staging file is unlinked from the start, the commit is one storage
 * transaction, and a RUNNING label of a dead process counts as free.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_event.h"
#include "dh_http.h"

#if (DH_HAVE_BDB)

#include "dh_stream_load_http.h"


#define DH_SL_REJECTED_DEFAULT   1000
#define DH_SL_REJECTED_MAX       100000


static void *dh_sl_create_main_conf(dh_conf_t *cf);
static char *dh_sl_init_main_conf(dh_conf_t *cf, void *conf);
static void *dh_sl_create_loc_conf(dh_conf_t *cf);
static char *dh_sl_merge_loc_conf(dh_conf_t *cf, void *parent, void *child);
static char *dh_sl_directive(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static char *dh_sl_auth_basic(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static char *dh_sl_auth_status(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static dh_int_t dh_sl_postconfiguration(dh_conf_t *cf);
static dh_int_t dh_sl_handler(dh_http_request_t *r);
static dh_uint_t dh_sl_seg_is(dh_str_t *seg, const char *name);
static dh_int_t dh_sl_route(dh_http_request_t *r, dh_str_t *seg,
    dh_uint_t max);
static dh_int_t dh_sl_start(dh_http_request_t *r, dh_str_t *seg);
static dh_int_t dh_sl_auth(dh_http_request_t *r, dh_sl_ctx_t *ctx,
    dh_sl_loc_conf_t *slcf, dh_int_t *answer);
static dh_int_t dh_sl_fail_now(dh_http_request_t *r, dh_sl_ctx_t *ctx,
    dh_uint_t status, const char *text);
static dh_int_t dh_sl_label_uuid(dh_pool_t *pool, dh_str_t *label);
static dh_int_t dh_sl_stage_open(dh_http_request_t *r, dh_sl_ctx_t *ctx);
static void dh_sl_cleanup(void *data);
static dh_int_t dh_sl_error_log(dh_http_request_t *r);


static dh_command_t  dh_sl_commands[] = {

    { dh_string("stream_load"),
      DH_HTTP_LOC_CONF|DH_CONF_NOARGS,
      dh_sl_directive,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("stream_load_auth_basic"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_sl_auth_basic,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("stream_load_auth_basic_user_file"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_sl_auth_basic,
      DH_HTTP_LOC_CONF_OFFSET,
      1,
      NULL },

    { dh_string("stream_load_auth_status"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_sl_auth_status,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("stream_load_json_max_size"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_off_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_sl_loc_conf_t, json_max),
      NULL },

    { dh_string("stream_load_label_keep"),
      DH_HTTP_MAIN_CONF|DH_CONF_TAKE1,
      dh_conf_set_sec_slot,
      DH_HTTP_MAIN_CONF_OFFSET,
      offsetof(dh_sl_main_conf_t, label_keep),
      NULL },

    { dh_string("stream_load_error_log_dir"),
      DH_HTTP_MAIN_CONF|DH_CONF_TAKE1,
      dh_conf_set_path_slot,
      DH_HTTP_MAIN_CONF_OFFSET,
      offsetof(dh_sl_main_conf_t, error_dir),
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_sl_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_sl_postconfiguration,               /* postconfiguration */
    dh_sl_create_main_conf,                /* create main configuration */
    dh_sl_init_main_conf,                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    dh_sl_create_loc_conf,                 /* create location configuration */
    dh_sl_merge_loc_conf                   /* merge location configuration */
};


dh_module_t  dh_http_stream_load_module = {
    DH_MODULE_V1,
    &dh_sl_module_ctx,                     /* module context */
    dh_sl_commands,                        /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


/* ---- configuration */

static void *
dh_sl_create_main_conf(dh_conf_t *cf)
{
    dh_sl_main_conf_t  *smcf;

    smcf = dh_pcalloc(cf->pool, sizeof(dh_sl_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    smcf->label_keep = DH_CONF_UNSET;

    /* the families must exist before the metrics zone is laid out */
    if (dh_sl_metrics_init(cf) != DH_OK) {
        return NULL;
    }

    return smcf;
}


static char *
dh_sl_init_main_conf(dh_conf_t *cf, void *conf)
{
    dh_sl_main_conf_t  *smcf = conf;

    if (smcf->label_keep == DH_CONF_UNSET) {
        smcf->label_keep = 3 * 86400;
    }

    if (smcf->error_dir.data == NULL) {
        dh_str_set(&smcf->error_dir, "logs/stream_load");

        if (dh_conf_full_name(cf->cycle, &smcf->error_dir, 0) != DH_OK) {
            return DH_CONF_ERROR;
        }
    }

    dh_sl_label_set_keep(smcf->label_keep);

    return DH_CONF_OK;
}


static void *
dh_sl_create_loc_conf(dh_conf_t *cf)
{
    dh_sl_loc_conf_t  *slcf;

    slcf = dh_pcalloc(cf->pool, sizeof(dh_sl_loc_conf_t));
    if (slcf == NULL) {
        return NULL;
    }

    slcf->enable = DH_CONF_UNSET;
    slcf->auth_set = DH_CONF_UNSET;
    slcf->auth_status = DH_CONF_UNSET_UINT;
    slcf->json_max = DH_CONF_UNSET;

    return slcf;
}


static char *
dh_sl_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_sl_loc_conf_t  *prev = parent;
    dh_sl_loc_conf_t  *conf = child;

    dh_conf_merge_value(conf->enable, prev->enable, 0);
    dh_conf_merge_uint_value(conf->auth_status, prev->auth_status,
                             DH_HTTP_OK);
    dh_conf_merge_off_value(conf->json_max, prev->json_max,
                            100 * 1024 * 1024);

    if (conf->auth_set == DH_CONF_UNSET) {
        conf->auth = prev->auth;
        conf->auth_set = prev->auth_set;
    }

    if (conf->auth.realm.len && conf->auth.file == NULL) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "\"stream_load_auth_basic\" needs "
                          "\"stream_load_auth_basic_user_file\"");
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


static char *
dh_sl_directive(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_sl_loc_conf_t  *slcf = conf;

    dh_str_t                  pool;
    dh_sl_main_conf_t        *smcf;
    dh_http_core_loc_conf_t  *clcf;

    if (slcf->enable != DH_CONF_UNSET) {
        return "is duplicate";
    }

    slcf->enable = 1;

    clcf = dh_http_conf_get_module_loc_conf(cf, dh_http_core_module);
    clcf->handler = dh_sl_handler;

    smcf = dh_http_conf_get_module_main_conf(cf, dh_http_stream_load_module);

    if (!smcf->store) {
        if (dh_sl_store_init(cf) != DH_OK) {
            return DH_CONF_ERROR;
        }

        if (dh_sl_txn_init(cf) != DH_OK) {
            return DH_CONF_ERROR;
        }

        /* batches are staged on the default thread pool */
        dh_str_set(&pool, "default");

        if (dh_thread_pool_get(cf->cycle, &pool) == NULL) {
            return DH_CONF_ERROR;
        }

        smcf->store = 1;
    }

    return DH_CONF_OK;
}


static char *
dh_sl_auth_basic(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_sl_loc_conf_t  *slcf = conf;

    dh_str_t  *value;

    value = cf->args->elts;

    if (cmd->post == NULL && cmd->offset == 1) {
        /* user file */
        if (dh_http_auth_basic_conf_set(cf, &slcf->auth, NULL, &value[1])
            != DH_OK)
        {
            return DH_CONF_ERROR;
        }

    } else if (dh_http_auth_basic_conf_set(cf, &slcf->auth, &value[1], NULL)
               != DH_OK)
    {
        return DH_CONF_ERROR;
    }

    slcf->auth_set = 1;

    return DH_CONF_OK;
}


static char *
dh_sl_auth_status(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_sl_loc_conf_t  *slcf = conf;

    dh_str_t  *value;

    if (slcf->auth_status != DH_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 3 && dh_strncmp(value[1].data, "200", 3) == 0) {
        slcf->auth_status = DH_HTTP_OK;
        return DH_CONF_OK;
    }

    if (value[1].len == 3 && dh_strncmp(value[1].data, "401", 3) == 0) {
        slcf->auth_status = DH_HTTP_UNAUTHORIZED;
        return DH_CONF_OK;
    }

    dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                      "invalid value \"%.*s\": must be 200 or 401",
                      DH_STR_FMT(value[1]));

    return DH_CONF_ERROR;
}


static dh_int_t
dh_sl_postconfiguration(dh_conf_t *cf)
{
    dh_sl_main_conf_t  *smcf;

    smcf = dh_http_conf_get_module_main_conf(cf, dh_http_stream_load_module);

    if (!smcf->store || dh_test_config) {
        return DH_OK;
    }

    /* the rejected rows go here; workers write into it */
    if (mkdir((char *) smcf->error_dir.data, 0755) == -1
        && dh_errno != EEXIST)
    {
        dh_conf_log_error(DH_LOG_EMERG, cf, dh_errno,
                          "mkdir() \"%s\" failed", smcf->error_dir.data);
        return DH_ERROR;
    }

    return DH_OK;
}


/* ---- header phase */

dh_msec_t
dh_sl_http_clock(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (dh_msec_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static dh_int_t
dh_sl_handler(dh_http_request_t *r)
{
    dh_int_t   n;
    dh_str_t   seg[4];

    /* the routes are matched at the end of the path, so the location may
     * have any prefix before /api/ */
    n = dh_sl_route(r, seg, 4);

    if (n == 4 && dh_sl_seg_is(&seg[0], "api")
        && dh_sl_seg_is(&seg[3], "_stream_load"))
    {
        /* only PUT is registered on a StarRocks BE: anything else is 404 */
        if (r->method != DH_HTTP_PUT) {
            return DH_HTTP_NOT_FOUND;
        }

        return dh_sl_start(r, seg);
    }

    /* Transaction Stream Load shares the location (dh_stream_load_txn.c) */
    if (n >= 2 && dh_sl_seg_is(&seg[n - 2], "api")
        && dh_sl_seg_is(&seg[n - 1], "transaction"))
    {
        return dh_sl_txn_handler(r, NULL);
    }

    if (n >= 3 && dh_sl_seg_is(&seg[n - 3], "api")
        && dh_sl_seg_is(&seg[n - 2], "transaction"))
    {
        return dh_sl_txn_handler(r, &seg[n - 1]);
    }

    if (n >= 2 && dh_sl_seg_is(&seg[n - 2], "api")
        && dh_sl_seg_is(&seg[n - 1], "_load_error_log"))
    {
        return dh_sl_error_log(r);
    }

    return DH_HTTP_NOT_FOUND;
}


static dh_uint_t
dh_sl_seg_is(dh_str_t *seg, const char *name)
{
    size_t  n;

    n = dh_strlen(name);

    return seg->len == n && dh_strncmp(seg->data, name, n) == 0;
}


/* Splits the raw path (before '?') at '/', dropping empty segments as
 * StarRocks' path trie does, and URL-decodes each one.  Keeps the last
 * max segments; returns how many it kept, or -1 for a bad escape. */
static dh_int_t
dh_sl_route(dh_http_request_t *r, dh_str_t *seg, dh_uint_t max)
{
    u_char     *p, *last, *start, *dst, *src;
    dh_uint_t   n;

    p = r->unparsed_uri.data;
    last = p + r->unparsed_uri.len;

    for (start = p; start < last && *start != '?'; start++) { /* void */ }
    last = start;

    n = 0;

    while (p < last) {
        while (p < last && *p == '/') {
            p++;
        }

        if (p == last) {
            break;
        }

        start = p;

        while (p < last && *p != '/') {
            p++;
        }

        if (n == max) {
            /* keep the last max segments */
            dh_memmove(seg, seg + 1, (max - 1) * sizeof(dh_str_t));
            n--;
        }

        dst = dh_pnalloc(r->pool, p - start);
        if (dst == NULL) {
            return -1;
        }

        seg[n].data = dst;
        src = start;

        if (dh_unescape_uri(&dst, &src, p - start) != DH_OK
            || memchr(seg[n].data, '\0', dst - seg[n].data) != NULL)
        {
            return -1;
        }

        seg[n].len = dst - seg[n].data;
        n++;
    }

    return n;
}


static dh_int_t
dh_sl_start(dh_http_request_t *r, dh_str_t *seg)
{
    off_t                             max;
    dh_int_t                          rc;
    dh_str_t                          msg;
    const char                       *err;
    dh_pool_t                        *pool;
    dh_sl_ctx_t                      *ctx;
    dh_sl_loc_conf_t                 *slcf;
    dh_pool_cleanup_t                *cln, *pcln;
    dh_http_request_body_loc_conf_t  *blcf;

    slcf = dh_http_get_module_loc_conf(r, dh_http_stream_load_module);
    blcf = dh_http_get_module_loc_conf(r, dh_http_request_body_module);

    pool = dh_create_pool(4096, r->connection->log);
    if (pool == NULL) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = dh_pcalloc(pool, sizeof(dh_sl_ctx_t));
    cln = dh_pool_cleanup_add(r->pool, 0);
    pcln = dh_pool_cleanup_add(pool, 0);

    if (ctx == NULL || cln == NULL || pcln == NULL) {
        dh_destroy_pool(pool);
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->pool = pool;
    ctx->stage_fd = DH_INVALID_FILE;

    pcln->handler = dh_sl_cleanup;
    pcln->data = ctx;
    cln->handler = dh_sl_http_request_gone;
    cln->data = ctx;

    dh_http_set_ctx(r, ctx, dh_http_stream_load_module);

    ctx->request = r;
    ctx->db.data = dh_pstrdup(pool, &seg[1]);
    ctx->db.len = seg[1].len;
    ctx->table_name.data = dh_pstrdup(pool, &seg[2]);
    ctx->table_name.len = seg[2].len;
    ctx->start = dh_sl_http_clock();
    ctx->reply.txn_id = -1;
    dh_str_set(&ctx->reply.message, "OK");

    if (ctx->db.data == NULL || ctx->table_name.data == NULL) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->counted = 1;
    dh_metrics_inc(dh_sl_metrics.current, 1);

    /* the order of the checks is StarRocks' (spec 1.1): auth, body size,
     * format, timeout, then the other headers */

    if (dh_sl_auth(r, ctx, slcf, &rc) != DH_OK) {
        return rc;
    }

    rc = dh_sl_params_parse(r, &ctx->params, 0, &msg);

    ctx->reply.label.len = ctx->params.label.len;
    ctx->reply.label.data = dh_pstrdup(ctx->pool, &ctx->params.label);

    if (ctx->params.label.len == 0
        && dh_sl_label_uuid(ctx->pool, &ctx->reply.label) != DH_OK)
    {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->params.label = ctx->reply.label;

    max = blcf->client_max_body_size;

    if (max && r->headers_in.content_length_n > max) {
        msg.data = dh_sl_pdata(dh_psprintf(r->pool,
            "body size %lld exceed limit: %lld, label=%.*s, db=%.*s, "
            "table=%.*s. You can increase the limit by setting "
            "client_max_body_size in divehttpd.conf.",
            (long long) r->headers_in.content_length_n, (long long) max,
            DH_STR_FMT(ctx->reply.label), DH_STR_FMT(ctx->db),
            DH_STR_FMT(ctx->table_name)));
        if (msg.data == NULL) {
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }

        msg.len = dh_strlen(msg.data);
        ctx->reply.message = msg;

        return dh_sl_http_reply(r, ctx, DH_HTTP_OK);
    }

    if (rc == DH_OK) {
        rc = dh_sl_params_check_json_size(r->pool, &ctx->params,
                                          slcf->json_max, &msg);
    }

    if (rc == DH_ERROR) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == DH_DECLINED) {
        ctx->reply.message = msg;
        return dh_sl_http_reply(r, ctx, DH_HTTP_OK);
    }

    ctx->table = dh_table_find((dh_cycle_t *) dh_cycle, &ctx->db,
                               &ctx->table_name);
    if (ctx->table == NULL) {
        msg.data = dh_sl_pdata(dh_psprintf(r->pool, "Unknown table '%.*s.%.*s'",
                                          DH_STR_FMT(ctx->db),
                                          DH_STR_FMT(ctx->table_name)));
        if (msg.data == NULL) {
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }

        msg.len = dh_strlen(msg.data);
        ctx->reply.message = msg;

        return dh_sl_http_reply(r, ctx, DH_HTTP_OK);
    }

    ctx->load = dh_sl_load_create(ctx->pool, r->connection->log, ctx->table,
                 &ctx->params,
                 ctx->params.log_rejected_record_num == -2
                 ? DH_SL_REJECTED_DEFAULT
                 : (ctx->params.log_rejected_record_num == -1
                    ? DH_SL_REJECTED_MAX
                    : (dh_uint_t) dh_min(ctx->params.log_rejected_record_num,
                                         DH_SL_REJECTED_MAX)),
                 dh_sl_http_flush, dh_sl_http_resume, ctx, &err);

    if (ctx->load == NULL) {
        return dh_sl_fail_now(r, ctx, DH_HTTP_OK, err);
    }

    if (dh_sl_stage_open(r, ctx) != DH_OK) {
        return dh_sl_fail_now(r, ctx, DH_HTTP_OK,
                              "cannot create the staging file");
    }

    ctx->phase_start = dh_sl_http_clock();

    if (dh_sl_http_post(ctx, DH_SL_JOB_BEGIN) != DH_OK) {
        return dh_sl_fail_now(r, ctx, DH_HTTP_OK,
                              "Service is busy, please retry later!");
    }

    /* the begin job owns the request now; it is not finalized until
     * dh_sl_http_end() */
    return DH_DONE;
}


/*
 * StarRocks parses Basic credentials itself ("no valid Basic
 * authorization" for a missing or malformed header) even when it does
 * not check them; with stream_load_auth_basic the password is checked
 * against the user file.
 */
static dh_int_t
dh_sl_auth(dh_http_request_t *r, dh_sl_ctx_t *ctx, dh_sl_loc_conf_t *slcf,
    dh_int_t *answer)
{
    u_char           *colon;
    dh_int_t          rc;
    dh_str_t          enc, dec, user, *msg;
    dh_uint_t         i;
    dh_list_part_t   *part;
    dh_table_elt_t   *h, *auth;

    auth = NULL;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash && h[i].key.len == 13
            && dh_strncasecmp(h[i].key.data, (u_char *) "authorization", 13)
               == 0)
        {
            auth = &h[i];
            break;
        }
    }

    colon = NULL;

    if (auth != NULL && auth->value.len > 6
        && dh_strncmp(auth->value.data, "Basic ", 6) == 0)
    {
        enc.data = auth->value.data + 6;
        enc.len = auth->value.len - 6;

        dec.data = dh_pnalloc(r->pool, dh_base64_decoded_length(enc.len));
        if (dec.data == NULL) {
            *answer = DH_HTTP_INTERNAL_SERVER_ERROR;
            return DH_DONE;
        }

        if (dh_decode_base64(&dec, &enc) == DH_OK) {
            colon = memchr(dec.data, ':', dec.len);
        }
    }

    if (colon == NULL) {
        if (slcf->auth_status == DH_HTTP_UNAUTHORIZED && slcf->auth.realm.len) {
            /* adds WWW-Authenticate */
            (void) dh_http_auth_basic_check(r, &slcf->auth, NULL);
        }

        *answer = dh_sl_fail_now(r, ctx, slcf->auth_status,
                                 "no valid Basic authorization");
        return DH_DONE;
    }

    rc = dh_http_auth_basic_check(r, &slcf->auth, &user);

    if (rc == DH_OK || rc == DH_DECLINED) {
        return DH_OK;
    }

    if (rc != DH_HTTP_UNAUTHORIZED) {
        *answer = rc;
        return DH_DONE;
    }

    if (slcf->auth_status == DH_HTTP_OK) {
        /* the reply is StarRocks' 200: no challenge header */
        part = &r->headers_out.headers.part;
        h = part->elts;

        for (i = 0; /* void */; i++) {
            if (i >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }

                part = part->next;
                h = part->elts;
                i = 0;
            }

            if (h[i].key.len == 16
                && dh_strncasecmp(h[i].key.data,
                                  (u_char *) "www-authenticate", 16) == 0)
            {
                h[i].hash = 0;
            }
        }
    }

    user.data = dec.data;
    user.len = colon - dec.data;

    msg = dh_psprintf(r->pool, "Access denied for user '%.*s'",
                      DH_STR_FMT(user));
    if (msg == NULL) {
        *answer = DH_HTTP_INTERNAL_SERVER_ERROR;
        return DH_DONE;
    }

    ctx->reply.message = *msg;

    *answer = dh_sl_http_reply(r, ctx, slcf->auth_status);

    return DH_DONE;
}


static dh_int_t
dh_sl_fail_now(dh_http_request_t *r, dh_sl_ctx_t *ctx, dh_uint_t status,
    const char *text)
{
    ctx->reply.message.data = (u_char *) text;
    ctx->reply.message.len = dh_strlen(text);

    return dh_sl_http_reply(r, ctx, status);
}


/* the reply, with the request-level counters */
dh_int_t
dh_sl_http_reply(dh_http_request_t *r, dh_sl_ctx_t *ctx,
    dh_uint_t http_status)
{
    dh_str_t           body;
    dh_sl_counters_t  *c;

    if (ctx->load) {
        c = dh_sl_load_counters(ctx->load);
        ctx->reply.c = *c;
    }

    if (ctx->reply.status == DH_SL_STATUS_SUCCESS
        && !(ctx->reply.message.len == 2
             && dh_strncmp(ctx->reply.message.data, "OK", 2) == 0))
    {
        ctx->reply.status = DH_SL_STATUS_FAIL;
    }

    ctx->reply.load_ms = dh_sl_http_clock() - ctx->start;

    dh_metrics_inc(dh_sl_metrics.requests, 1);
    dh_metrics_inc(dh_sl_metrics.bytes, ctx->reply.c.bytes);
    dh_metrics_inc(dh_sl_metrics.duration, ctx->reply.load_ms);

    if (ctx->reply.status == DH_SL_STATUS_SUCCESS) {
        dh_metrics_inc(dh_sl_metrics.load_rows, ctx->reply.c.loaded);
        dh_metrics_inc(dh_sl_metrics.load_bytes, ctx->reply.c.loaded_bytes);
        dh_sl_metrics_add(dh_sl_metrics.stream_load, "receive_bytes",
                          ctx->reply.c.bytes);
        dh_sl_metrics_add(dh_sl_metrics.stream_load, "load_rows",
                          ctx->reply.c.loaded);
    }

    if (ctx->reply.status != DH_SL_STATUS_SUCCESS) {
        dh_log_error(DH_LOG_INFO, r->connection->log, 0,
                     "stream load \"%.*s\" of %.*s.%.*s: %.*s",
                     DH_STR_FMT(ctx->reply.label), DH_STR_FMT(ctx->db),
                     DH_STR_FMT(ctx->table_name),
                     DH_STR_FMT(ctx->reply.message));
    }

    if (dh_sl_reply_json(r->pool, &ctx->reply, &body) != DH_OK) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->request_body == NULL
        && dh_http_discard_request_body(r) != DH_OK)
    {
        /* answered before the body: a client that waits for 100 Continue
         * never sends it, one that does not has it discarded */
        return DH_ERROR;
    }

    return dh_sl_send_json_status(r, http_status, &body);
}


/* a random (v4) UUID, as StarRocks makes for a missing label */
static dh_int_t
dh_sl_label_uuid(dh_pool_t *pool, dh_str_t *label)
{
    int       fd;
    u_char    b[16], *p;
    ssize_t   n;
    dh_uint_t i;

    fd = open("/dev/urandom", O_RDONLY);
    if (fd == -1) {
        return DH_ERROR;
    }

    n = read(fd, b, sizeof(b));
    (void) close(fd);

    if (n != (ssize_t) sizeof(b)) {
        return DH_ERROR;
    }

    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;

    label->data = dh_pnalloc(pool, 36);
    if (label->data == NULL) {
        return DH_ERROR;
    }

    p = label->data;

    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *p++ = '-';
        }

        p = dh_slprintf(p, label->data + 36, "%02x", b[i]);
    }

    label->len = 36;

    return DH_OK;
}


/* An anonymous staging file: unlinked at once, so a crash leaves
 * nothing behind. */
static dh_int_t
dh_sl_stage_open(dh_http_request_t *r, dh_sl_ctx_t *ctx)
{
    int                               fd;
    dh_str_t                         *path;
    dh_http_request_body_loc_conf_t  *blcf;

    static dh_uint_t  seq;

    blcf = dh_http_get_module_loc_conf(r, dh_http_request_body_module);

    path = dh_psprintf(r->pool, "%.*s/stream_load.%lld.%lu",
                       DH_STR_FMT(blcf->client_body_temp_path),
                       (long long) getpid(), (unsigned long) ++seq);
    if (path == NULL) {
        return DH_ERROR;
    }

    fd = open((char *) path->data, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
              0600);
    if (fd == -1) {
        dh_log_error(DH_LOG_ERR, r->connection->log, dh_errno,
                     "open() \"%s\" failed", path->data);
        return DH_ERROR;
    }

    (void) unlink((char *) path->data);

    ctx->stage_fd = fd;

    return DH_OK;
}


static void
dh_sl_cleanup(void *data)
{
    dh_sl_ctx_t  *ctx = data;

    if (ctx->timer.timer_set) {
        dh_event_del_timer(&ctx->timer);
    }

    if (ctx->stage_fd != DH_INVALID_FILE) {
        (void) close(ctx->stage_fd);
        ctx->stage_fd = DH_INVALID_FILE;
    }
}


/* ---- GET /api/_load_error_log?file=NAME */

static dh_int_t
dh_sl_error_log(dh_http_request_t *r)
{
    int                  fd;
    u_char              *p, *last, *data;
    size_t               i;
    ssize_t              n;
    dh_int_t             rc;
    dh_str_t             file, *path;
    dh_buf_t            *b;
    dh_chain_t           cl;
    struct stat          st;
    dh_sl_main_conf_t   *smcf;

    if (r->method != DH_HTTP_GET && r->method != DH_HTTP_HEAD) {
        return DH_HTTP_NOT_FOUND;
    }

    file.len = 0;
    file.data = NULL;
    p = r->args.data;
    last = p + r->args.len;

    while (p < last) {
        u_char  *end;

        end = memchr(p, '&', last - p);
        if (end == NULL) {
            end = last;
        }

        if (end - p > 5 && dh_strncmp(p, "file=", 5) == 0) {
            file.data = p + 5;
            file.len = end - p - 5;
            break;
        }

        p = end + 1;
    }

    /* only names this module makes: no '/', no "..", no hidden files */
    if (file.len == 0 || file.len > 200 || file.data[0] == '.') {
        return DH_HTTP_NOT_FOUND;
    }

    for (i = 0; i < file.len; i++) {
        u_char  ch = file.data[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'
              || ch == '.'))
        {
            return DH_HTTP_NOT_FOUND;
        }
    }

    smcf = dh_http_get_module_main_conf(r, dh_http_stream_load_module);

    path = dh_psprintf(r->pool, "%.*s/%.*s", DH_STR_FMT(smcf->error_dir),
                       DH_STR_FMT(file));
    if (path == NULL) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    fd = open((char *) path->data, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return DH_HTTP_NOT_FOUND;
    }

    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)
        || st.st_size > 256 * 1024 * 1024)
    {
        (void) close(fd);
        return DH_HTTP_NOT_FOUND;
    }

    /* at most log_rejected_record_num short lines: read in one go */
    data = dh_pnalloc(r->pool, st.st_size + 1);
    if (data == NULL) {
        (void) close(fd);
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = read(fd, data, st.st_size);
    (void) close(fd);

    if (n != (ssize_t) st.st_size) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = DH_HTTP_OK;
    r->headers_out.content_length_n = n;
    dh_str_set(&r->headers_out.content_type, "text/plain");

    rc = dh_http_send_header(r);

    if (rc == DH_ERROR || rc > DH_OK || r->header_only || n == 0) {
        return rc;
    }

    b = dh_calloc_buf(r->pool);
    if (b == NULL) {
        return DH_ERROR;
    }

    b->pos = data;
    b->last = data + n;
    b->memory = 1;
    b->last_buf = 1;

    cl.buf = b;
    cl.next = NULL;

    return dh_http_output_filter(r, &cl);
}

/* For Transaction Stream Load: the location's credential check, so
 * /api/transaction/ authenticates exactly like a stream load. */
dh_http_auth_basic_conf_t *
dh_sl_auth_conf(dh_http_request_t *r, dh_uint_t *status)
{
    dh_sl_loc_conf_t  *slcf;

    slcf = dh_http_get_module_loc_conf(r, dh_http_stream_load_module);
    *status = slcf->auth_status;

    return &slcf->auth;
}

#endif /* DH_HAVE_BDB */

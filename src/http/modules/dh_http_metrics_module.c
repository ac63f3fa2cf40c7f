/*
 * HTTP metrics: per-request accounting (a log phase handler) and the
 * read-out handlers.
 *
 *   metrics;               Prometheus text 0.0.4 (?type=json StarRocks
 *                          JSON, ?type=core the core lines)
 *   metrics json_summary;  the playground's /_metrics JSON snapshot
 *   metrics on|off;        per-request accounting (on)
 *   metrics_group NAME;    the "group" label of a location's requests
 *                          (default: the location's own name)
 *   metrics_prefix TEXT;   name prefix (divehttpd_)
 *   stub_status;           nginx's plain status text
 *   health [ready];        {"status":"OK"}; ready answers 503 while the
 *                          worker drains
 *
 * The values live in the core registry (dh_metrics.c): each worker adds
 * to its own row, the handlers sum the rows of all workers.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


#define DH_HTTP_METRICS_NONE        0
#define DH_HTTP_METRICS_PROMETHEUS  1
#define DH_HTTP_METRICS_SUMMARY     2
#define DH_HTTP_METRICS_STUB        3
#define DH_HTTP_METRICS_HEALTH      4
#define DH_HTTP_METRICS_READY       5

#define DH_HTTP_METRICS_KEYS        160


typedef struct {
    dh_str_t        prefix;
    dh_metric_t    *requests;      /* server, group, method, status */
    dh_metric_t    *responses;     /* code */
    dh_metric_t    *duration;      /* group */
    dh_metric_t    *received;
    dh_metric_t    *sent;
} dh_http_metrics_main_conf_t;

/* The series of one (server, method, status) in a location, found once
 * per worker: looking label sets up costs more than the rest of a small
 * request's accounting.  Series never move while a worker lives. */
typedef struct {
    void           *srv;            /* NULL: empty */
    dh_uint_t       method;
    dh_uint_t       status;
    dh_int_t        requests;
    dh_int_t        responses;
    dh_int_t        duration;
} dh_http_metrics_memo_t;

#define DH_HTTP_METRICS_MEMO  8

typedef struct {
    dh_flag_t       enable;
    dh_str_t        group;
    dh_uint_t       handler;
    dh_http_metrics_memo_t  memo[DH_HTTP_METRICS_MEMO];
} dh_http_metrics_loc_conf_t;

/* a key of the summary's JSON maps, with its value */
typedef struct {
    u_char          key[DH_METRICS_LABELS_LEN + 8];
    u_char          sub[8];
    uint64_t        value;
    dh_uint_t       series;
} dh_http_metrics_kv_t;


static dh_int_t dh_http_metrics_init(dh_conf_t *cf);
static void *dh_http_metrics_create_main_conf(dh_conf_t *cf);
static char *dh_http_metrics_init_main_conf(dh_conf_t *cf, void *conf);
static void *dh_http_metrics_create_loc_conf(dh_conf_t *cf);
static char *dh_http_metrics_merge_loc_conf(dh_conf_t *cf, void *parent,
    void *child);
static char *dh_http_metrics(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static char *dh_http_metrics_stub(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static char *dh_http_metrics_health(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static dh_int_t dh_http_metrics_log(dh_http_request_t *r);
static dh_int_t dh_http_metrics_handler(dh_http_request_t *r);
static dh_int_t dh_http_metrics_summary(dh_http_request_t *r,
    dh_http_metrics_main_conf_t *mmcf, dh_metrics_out_t *out);
static dh_int_t dh_http_metrics_stub_status(
    dh_http_metrics_main_conf_t *mmcf, dh_metrics_out_t *out);
static dh_int_t dh_http_metrics_send(dh_http_request_t *r, dh_uint_t status,
    char *type, dh_metrics_out_t *out);


static const double  dh_http_metrics_bounds[] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5
};


static dh_command_t  dh_http_metrics_commands[] = {

    { dh_string("metrics"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_NOARGS
      |DH_CONF_TAKE1,
      dh_http_metrics,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("metrics_group"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_str_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_metrics_loc_conf_t, group),
      NULL },

    { dh_string("metrics_prefix"),
      DH_HTTP_MAIN_CONF|DH_CONF_TAKE1,
      dh_conf_set_str_slot,
      DH_HTTP_MAIN_CONF_OFFSET,
      offsetof(dh_http_metrics_main_conf_t, prefix),
      NULL },

    { dh_string("stub_status"),
      DH_HTTP_LOC_CONF|DH_CONF_NOARGS,
      dh_http_metrics_stub,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("health"),
      DH_HTTP_LOC_CONF|DH_CONF_NOARGS|DH_CONF_TAKE1,
      dh_http_metrics_health,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_metrics_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_metrics_init,                  /* postconfiguration */
    dh_http_metrics_create_main_conf,      /* create main configuration */
    dh_http_metrics_init_main_conf,        /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    dh_http_metrics_create_loc_conf,       /* create location configuration */
    dh_http_metrics_merge_loc_conf         /* merge location configuration */
};


dh_module_t  dh_http_metrics_module = {
    DH_MODULE_V1,
    &dh_http_metrics_module_ctx,           /* module context */
    dh_http_metrics_commands,              /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


static void *
dh_http_metrics_create_main_conf(dh_conf_t *cf)
{
    dh_http_metrics_main_conf_t  *mmcf;

    static const char  *req[] = { "server", "group", "method", "status" };
    static const char  *code[] = { "code" };
    static const char  *group[] = { "group" };

    mmcf = dh_pcalloc(cf->pool, sizeof(dh_http_metrics_main_conf_t));
    if (mmcf == NULL) {
        return NULL;
    }

    /* declared at the start of the http block: the families must exist
     * before the core lays the zone out */
    mmcf->requests = dh_metrics_add(cf, "http_requests_total",
        "HTTP requests by server, location group, method and status class.",
        "requests", DH_METRIC_COUNTER, req, 4, NULL, 0, 128);
    mmcf->responses = dh_metrics_add(cf, "http_responses_total",
        "HTTP responses by status code.", "requests", DH_METRIC_COUNTER,
        code, 1, NULL, 0, 48);
    mmcf->duration = dh_metrics_add(cf, "http_request_duration_seconds",
        "HTTP request duration by location group.", "seconds",
        DH_METRIC_HISTOGRAM, group, 1, dh_http_metrics_bounds,
        sizeof(dh_http_metrics_bounds) / sizeof(double), 32);
    mmcf->received = dh_metrics_add(cf, "http_received_bytes_total",
        "Bytes of request headers received.", "bytes", DH_METRIC_COUNTER,
        NULL, 0, NULL, 0, 1);
    mmcf->sent = dh_metrics_add(cf, "http_sent_bytes_total",
        "Bytes sent in responses.", "bytes", DH_METRIC_COUNTER,
        NULL, 0, NULL, 0, 1);

    if (mmcf->requests == NULL || mmcf->responses == NULL
        || mmcf->duration == NULL || mmcf->received == NULL
        || mmcf->sent == NULL)
    {
        return NULL;
    }

    return mmcf;
}


static char *
dh_http_metrics_init_main_conf(dh_conf_t *cf, void *conf)
{
    dh_http_metrics_main_conf_t  *mmcf = conf;

    if (mmcf->prefix.data == NULL) {
        dh_str_set(&mmcf->prefix, "divehttpd_");
    }

    return DH_CONF_OK;
}


static void *
dh_http_metrics_create_loc_conf(dh_conf_t *cf)
{
    dh_http_metrics_loc_conf_t  *mlcf;

    mlcf = dh_pcalloc(cf->pool, sizeof(dh_http_metrics_loc_conf_t));
    if (mlcf == NULL) {
        return NULL;
    }

    mlcf->enable = DH_CONF_UNSET;

    return mlcf;
}


static char *
dh_http_metrics_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_metrics_loc_conf_t  *prev = parent;
    dh_http_metrics_loc_conf_t  *conf = child;

    dh_conf_merge_value(conf->enable, prev->enable, 1);

    if (conf->group.data == NULL) {
        conf->group = prev->group;
    }

    return DH_CONF_OK;
}


static char *
dh_http_metrics_set_handler(dh_conf_t *cf, dh_http_metrics_loc_conf_t *mlcf,
    dh_uint_t handler)
{
    dh_http_core_loc_conf_t  *clcf;

    if (!(cf->cmd_type & DH_HTTP_LOC_CONF)) {
        return "is allowed only in a location";
    }

    if (mlcf->handler != DH_HTTP_METRICS_NONE) {
        return "is duplicate";
    }

    mlcf->handler = handler;

    clcf = dh_http_conf_get_module_loc_conf(cf, dh_http_core_module);
    clcf->handler = dh_http_metrics_handler;

    return DH_CONF_OK;
}


static char *
dh_http_metrics(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_metrics_loc_conf_t  *mlcf = conf;

    dh_str_t  *value;

    value = cf->args->elts;

    if (cf->args->nelts == 1) {
        return dh_http_metrics_set_handler(cf, mlcf,
                                           DH_HTTP_METRICS_PROMETHEUS);
    }

    if (dh_strcmp(value[1].data, "json_summary") == 0) {
        return dh_http_metrics_set_handler(cf, mlcf, DH_HTTP_METRICS_SUMMARY);
    }

    if (mlcf->enable != DH_CONF_UNSET) {
        return "is duplicate";
    }

    if (dh_strcmp(value[1].data, "on") == 0) {
        mlcf->enable = 1;
        return DH_CONF_OK;
    }

    if (dh_strcmp(value[1].data, "off") == 0) {
        mlcf->enable = 0;
        return DH_CONF_OK;
    }

    return "takes no argument, \"json_summary\", \"on\" or \"off\"";
}


static char *
dh_http_metrics_stub(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    return dh_http_metrics_set_handler(cf, conf, DH_HTTP_METRICS_STUB);
}


static char *
dh_http_metrics_health(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_str_t  *value;

    value = cf->args->elts;

    if (cf->args->nelts == 1) {
        return dh_http_metrics_set_handler(cf, conf, DH_HTTP_METRICS_HEALTH);
    }

    if (dh_strcmp(value[1].data, "ready") == 0) {
        return dh_http_metrics_set_handler(cf, conf, DH_HTTP_METRICS_READY);
    }

    return "takes no argument or \"ready\"";
}


static dh_int_t
dh_http_metrics_init(dh_conf_t *cf)
{
    dh_http_handler_pt        *h;
    dh_http_core_main_conf_t  *cmcf;

    cmcf = dh_http_conf_get_module_main_conf(cf, dh_http_core_module);

    h = dh_array_push(&cmcf->phases[DH_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return DH_ERROR;
    }

    *h = dh_http_metrics_log;

    return DH_OK;
}


/* per-request accounting */

static dh_int_t
dh_http_metrics_log(dh_http_request_t *r)
{
    char                          cls[4];
    u_char                        code[4];
    dh_str_t                      labels[4];
    dh_http_metrics_memo_t       *memo, found;
    dh_uint_t                     status;
    dh_msec_int_t                 ms;
    dh_connection_t              *c;
    dh_http_core_loc_conf_t      *clcf;
    dh_http_core_srv_conf_t      *cscf;
    dh_http_metrics_loc_conf_t   *mlcf;
    dh_http_metrics_main_conf_t  *mmcf;

    if (r->loc_conf == NULL) {
        return DH_OK;
    }

    mlcf = dh_http_get_module_loc_conf(r, dh_http_metrics_module);
    if (!mlcf->enable || dh_metrics_row == NULL) {
        return DH_OK;
    }

    mmcf = dh_http_get_module_main_conf(r, dh_http_metrics_module);
    clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);
    cscf = dh_http_get_module_srv_conf(r, dh_http_core_module);
    c = r->connection;

    status = r->headers_out.status ? r->headers_out.status : r->err_status;
    if (status < 100 || status > 999) {
        status = 0;
    }

    /* an unknown method's name is whatever the client sent */
    memo = NULL;

    if (r->method != DH_HTTP_UNKNOWN) {
        memo = &mlcf->memo[(r->method * 31 + status) % DH_HTTP_METRICS_MEMO];

        if (memo->srv == cscf && memo->method == r->method
            && memo->status == status)
        {
            found = *memo;
            goto count;
        }
    }

    cls[0] = (char) ('0' + status / 100);
    cls[1] = 'x';
    cls[2] = 'x';
    cls[3] = '\0';

    labels[0] = cscf->server_name;
    labels[1] = mlcf->group.data ? mlcf->group : clcf->name;
    labels[2] = r->method_name;
    labels[3].data = (u_char *) cls;
    labels[3].len = 3;

    if (labels[0].len == 0) {
        dh_str_set(&labels[0], "-");
    }

    if (labels[1].len == 0) {
        dh_str_set(&labels[1], "-");
    }

    if (labels[2].len == 0) {
        dh_str_set(&labels[2], "-");
    }

    found.requests = dh_metrics_series(mmcf->requests, labels);

    code[0] = (u_char) ('0' + status / 100);
    code[1] = (u_char) ('0' + status / 10 % 10);
    code[2] = (u_char) ('0' + status % 10);
    labels[3].data = code;
    labels[3].len = 3;

    found.responses = dh_metrics_series(mmcf->responses, &labels[3]);
    found.duration = dh_metrics_series(mmcf->duration, &labels[1]);

    if (memo && found.requests >= 0 && found.responses >= 0
        && found.duration >= 0)
    {
        found.srv = cscf;
        found.method = r->method;
        found.status = status;
        *memo = found;
    }

count:

    dh_metrics_add_value(mmcf->requests, found.requests, 1);
    dh_metrics_add_value(mmcf->responses, found.responses, 1);

    ms = (dh_msec_int_t) (dh_current_msec - r->start_msec);
    if (ms < 0) {
        ms = 0;
    }

    dh_metrics_observe(mmcf->duration, found.duration, (double) ms / 1000);

    dh_metrics_inc(mmcf->received, r->request_length);
    dh_metrics_inc(mmcf->sent, c->sent - r->sent_start);

    return DH_OK;
}


/* read-out */

static dh_int_t
dh_http_metrics_type(dh_http_request_t *r, const char *type)
{
    u_char  *p, *end;
    size_t   len;

    len = dh_strlen(type);
    p = r->args.data;
    end = p + r->args.len;

    while (p && p < end) {
        if ((size_t) (end - p) >= 5 + len && dh_strncmp(p, "type=", 5) == 0
            && dh_strncmp(p + 5, type, len) == 0
            && (p + 5 + len == end || p[5 + len] == '&'))
        {
            return 1;
        }

        p = memchr(p, '&', end - p);
        if (p) {
            p++;
        }
    }

    return 0;
}


static dh_int_t
dh_http_metrics_handler(dh_http_request_t *r)
{
    dh_int_t                      rc;
    dh_metrics_out_t              out;
    dh_http_metrics_loc_conf_t   *mlcf;
    dh_http_metrics_main_conf_t  *mmcf;

    if (!(r->method & (DH_HTTP_GET|DH_HTTP_HEAD))) {
        return DH_HTTP_NOT_ALLOWED;
    }

    rc = dh_http_discard_request_body(r);
    if (rc != DH_OK) {
        return rc;
    }

    mlcf = dh_http_get_module_loc_conf(r, dh_http_metrics_module);
    mmcf = dh_http_get_module_main_conf(r, dh_http_metrics_module);

    dh_memzero(&out, sizeof(dh_metrics_out_t));
    out.pool = r->pool;

    switch (mlcf->handler) {

    case DH_HTTP_METRICS_PROMETHEUS:
        if (dh_http_metrics_type(r, "json")) {
            rc = dh_metrics_render_json(&out, &mmcf->prefix);

        } else if (dh_http_metrics_type(r, "core")) {
            rc = dh_metrics_render_core(&out, &mmcf->prefix);

        } else {
            rc = dh_metrics_render_prometheus(&out, &mmcf->prefix);
        }

        if (rc != DH_OK) {
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* like StarRocks: every format goes out as Prometheus text */
        return dh_http_metrics_send(r, DH_HTTP_OK,
                                    "text/plain; version=0.0.4", &out);

    case DH_HTTP_METRICS_SUMMARY:
        if (dh_http_metrics_summary(r, mmcf, &out) != DH_OK) {
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }

        return dh_http_metrics_send(r, DH_HTTP_OK, "application/json", &out);

    case DH_HTTP_METRICS_STUB:
        if (dh_http_metrics_stub_status(mmcf, &out) != DH_OK) {
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }

        return dh_http_metrics_send(r, DH_HTTP_OK, "text/plain", &out);

    case DH_HTTP_METRICS_READY:
        if (dh_exiting) {
            dh_metrics_out_printf(&out, "{\"status\":\"DRAINING\"}");
            return dh_http_metrics_send(r, DH_HTTP_SERVICE_UNAVAILABLE,
                                        "application/json", &out);
        }

        /* fall through */

    default: /* DH_HTTP_METRICS_HEALTH */
        dh_metrics_out_printf(&out, "{\"status\":\"OK\"}");
        return dh_http_metrics_send(r, DH_HTTP_OK, "application/json", &out);
    }
}


static dh_int_t
dh_http_metrics_send(dh_http_request_t *r, dh_uint_t status, char *type,
    dh_metrics_out_t *out)
{
    dh_int_t    rc;
    dh_buf_t   *b;
    dh_chain_t  cl;

    if (out->failed) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = out->len;
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = dh_strlen(type);

    rc = dh_http_send_header(r);

    if (rc == DH_ERROR || rc > DH_OK || r->header_only || out->len == 0) {
        return rc;
    }

    b = dh_calloc_buf(r->pool);
    if (b == NULL) {
        return DH_ERROR;
    }

    b->memory = 1;
    b->last_buf = 1;
    b->pos = out->data;
    b->last = out->data + out->len;

    cl.buf = b;
    cl.next = NULL;

    return dh_http_output_filter(r, &cl);
}


static dh_int_t
dh_http_metrics_stub_status(dh_http_metrics_main_conf_t *mmcf,
    dh_metrics_out_t *out)
{
    dh_metrics_out_printf(out,
        "Active connections: %lld \nserver accepts handled requests\n"
        " %lld %lld %lld \nReading: %lld Writing: %lld Waiting: %lld \n",
        (long long) dh_metrics_sum(dh_metric_conn_active, 0),
        (long long) dh_metrics_sum(dh_metric_conn_accepted, 0),
        (long long) dh_metrics_sum(dh_metric_conn_handled, 0),
        (long long) dh_metrics_sum(mmcf->requests, 0),
        (long long) dh_metrics_sum(dh_metric_conn_reading, 0),
        (long long) dh_metrics_sum(dh_metric_conn_writing, 0),
        (long long) dh_metrics_sum(dh_metric_conn_waiting, 0));

    return out->failed ? DH_ERROR : DH_OK;
}


/* summary: small sorted maps */

static int
dh_http_metrics_kv_cmp(const void *a, const void *b)
{
    const dh_http_metrics_kv_t  *x = a, *y = b;
    int                          rc;

    rc = strcmp((char *) x->key, (char *) y->key);

    return rc ? rc : strcmp((char *) x->sub, (char *) y->sub);
}


static void
dh_http_metrics_kv_add(dh_http_metrics_kv_t *kv, dh_uint_t *n, u_char *key,
    u_char *sub, uint64_t value, dh_uint_t series)
{
    dh_uint_t  i;

    for (i = 0; i < *n; i++) {
        if (strcmp((char *) kv[i].key, (char *) key) == 0
            && strcmp((char *) kv[i].sub, (char *) sub) == 0)
        {
            kv[i].value += value;
            return;
        }
    }

    if (*n == DH_HTTP_METRICS_KEYS) {
        return;
    }

    dh_cpystrn(kv[*n].key, key, sizeof(kv[*n].key));
    dh_cpystrn(kv[*n].sub, sub, sizeof(kv[*n].sub));
    kv[*n].value = value;
    kv[*n].series = series;
    (*n)++;
}


/* {"k":v,...} or, with subs, {"k":{"s":v,...},...} */
static void
dh_http_metrics_kv_out(dh_metrics_out_t *out, dh_http_metrics_kv_t *kv,
    dh_uint_t n, dh_uint_t nested)
{
    dh_uint_t  i;

    qsort(kv, n, sizeof(dh_http_metrics_kv_t), dh_http_metrics_kv_cmp);

    dh_metrics_out_printf(out, "%s", "{");

    for (i = 0; i < n; i++) {
        if (nested && i && strcmp((char *) kv[i].key,
                                  (char *) kv[i - 1].key) == 0)
        {
            dh_metrics_out_printf(out, ",\"%s\":%llu", kv[i].sub,
                                  (unsigned long long) kv[i].value);
            continue;
        }

        if (i) {
            dh_metrics_out_str(out, (u_char *) (nested ? "}," : ","),
                               nested ? 2 : 1);
        }

        dh_metrics_out_json_str(out, kv[i].key, dh_strlen(kv[i].key));

        if (nested) {
            dh_metrics_out_printf(out, ":{\"%s\":%llu", kv[i].sub,
                                  (unsigned long long) kv[i].value);

        } else {
            dh_metrics_out_printf(out, ":%llu",
                                  (unsigned long long) kv[i].value);
        }
    }

    dh_metrics_out_str(out, (u_char *) (nested && n ? "}}" : "}"),
                       nested && n ? 2 : 1);
}


static dh_int_t
dh_http_metrics_summary(dh_http_request_t *r,
    dh_http_metrics_main_conf_t *mmcf, dh_metrics_out_t *out)
{
    u_char                *l, *server, *group, *method, *status;
    u_char                 key[DH_METRICS_LABELS_LEN + 8];
    uint64_t               v[64], all[64], total, err4, err5;
    dh_uint_t              i, k, n;
    dh_metric_t           *d;
    dh_http_metrics_kv_t  *kv;

    static const char  *le[] = {
        "<= 5ms", "<= 10ms", "<= 25ms", "<= 50ms", "<= 100ms", "<= 250ms",
        "<= 500ms", "<= 1000ms", "<= 2000ms", "<= 5000ms", "> 5000ms"
    };

    kv = dh_palloc(r->pool, DH_HTTP_METRICS_KEYS
                            * sizeof(dh_http_metrics_kv_t));
    if (kv == NULL) {
        return DH_ERROR;
    }

    d = mmcf->duration;

    dh_metrics_out_printf(out, "{\"active_connections\":%lld,"
                          "\"bytes_received_total\":%lld,"
                          "\"bytes_sent_total\":%lld,"
                          "\"drain_state\":\"%s\",",
                          (long long) dh_metrics_sum(dh_metric_conn_active, 0),
                          (long long) dh_metrics_sum(mmcf->received, 0),
                          (long long) dh_metrics_sum(mmcf->sent, 0),
                          dh_exiting ? "draining" : "running");

    /* error classes, routes ("METHOD group") and statuses by route */
    total = err4 = err5 = 0;
    n = 0;

    for (i = 0; i < mmcf->requests->max_series; i++) {
        l = dh_metrics_series_labels(mmcf->requests, i);
        if (l == NULL) {
            continue;
        }

        dh_metrics_series_sum(mmcf->requests, i, v);
        if (v[0] == 0) {
            continue;
        }

        server = l;
        group = server + dh_strlen(server) + 1;
        method = group + dh_strlen(group) + 1;
        status = method + dh_strlen(method) + 1;

        total += v[0];
        err4 += (status[0] == '4') ? v[0] : 0;
        err5 += (status[0] == '5') ? v[0] : 0;

        snprintf((char *) key, sizeof(key), "%s %s", method, group);
        dh_http_metrics_kv_add(kv, &n, key, (u_char *) "", v[0], i);
    }

    dh_metrics_out_printf(out, "\"error_counts_by_class\":{\"client\":%llu,"
                          "\"server\":%llu},",
                          (unsigned long long) err4,
                          (unsigned long long) err5);

    dh_metrics_out_printf(out, "\"inflight_requests\":%lld,",
                          (long long) dh_metrics_sum(dh_metric_conn_writing,
                                                     0));

    /* latency: all groups, and per group */
    dh_memzero(all, sizeof(all));
    dh_metrics_out_printf(out, "%s", "\"latency_buckets_ms\":{");

    for (i = 0; i < d->max_series; i++) {
        if (dh_metrics_series_labels(d, i) == NULL) {
            continue;
        }

        dh_metrics_series_sum(d, i, v);

        for (k = 0; k < d->width; k++) {
            if (k != d->nbounds + 1) {
                all[k] += v[k];
            }
        }
    }

    /* the keys are sorted as strings, like every key of the summary */
    {
        dh_uint_t  first = 1;

        /* "<= 1000ms" "<= 100ms" "<= 10ms" "<= 2000ms" "<= 250ms"
         * "<= 25ms" "<= 5000ms" "<= 500ms" "<= 50ms" "<= 5ms" "> 5000ms" */
        static const dh_uint_t  sorted[] = { 7, 4, 1, 8, 5, 2, 9, 6, 3, 0,
                                             10 };

        for (i = 0; i < 11; i++) {
            k = sorted[i];

            if (all[k] == 0) {
                continue;
            }

            dh_metrics_out_printf(out, "%s\"%s\":%llu", first ? "" : ",",
                                  le[k], (unsigned long long) all[k]);
            first = 0;
        }
    }

    dh_metrics_out_printf(out, "%s", "},\"latency_by_route_ms\":{");

    {
        dh_uint_t             m;
        dh_http_metrics_kv_t *g;

        g = dh_palloc(r->pool, d->max_series * sizeof(dh_http_metrics_kv_t));
        if (g == NULL) {
            return DH_ERROR;
        }

        m = 0;

        for (i = 0; i < d->max_series; i++) {
            l = dh_metrics_series_labels(d, i);
            if (l == NULL) {
                continue;
            }

            dh_metrics_series_sum(d, i, v);
            if (v[d->nbounds + 2] == 0) {
                continue;
            }

            dh_cpystrn(g[m].key, l, sizeof(g[m].key));
            g[m].sub[0] = '\0';
            g[m].series = i;
            m++;
        }

        qsort(g, m, sizeof(dh_http_metrics_kv_t), dh_http_metrics_kv_cmp);

        for (i = 0; i < m; i++) {
            dh_metrics_series_sum(d, g[i].series, v);

            dh_metrics_out_printf(out, "%s", i ? "," : "");
            dh_metrics_out_json_str(out, g[i].key, dh_strlen(g[i].key));
            dh_metrics_out_printf(out,
                ":{\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f}",
                dh_metrics_quantile(d, v, 0.50) * 1000,
                dh_metrics_quantile(d, v, 0.95) * 1000,
                dh_metrics_quantile(d, v, 0.99) * 1000);
        }
    }

    dh_metrics_out_printf(out, "},\"latency_p99_ms\":%.3f,",
                          dh_metrics_quantile(d, all, 0.99) * 1000);

    dh_metrics_out_printf(out, "\"open_connections\":%lld,",
                          (long long) dh_metrics_sum(dh_metric_conn_active,
                                                     0));

    dh_metrics_out_printf(out, "%s", "\"requests_by_route\":");
    dh_http_metrics_kv_out(out, kv, n, 0);

    /* statuses by route: group -> status class */
    n = 0;

    for (i = 0; i < mmcf->requests->max_series; i++) {
        l = dh_metrics_series_labels(mmcf->requests, i);
        if (l == NULL) {
            continue;
        }

        dh_metrics_series_sum(mmcf->requests, i, v);
        if (v[0] == 0) {
            continue;
        }

        group = l + dh_strlen(l) + 1;
        method = group + dh_strlen(group) + 1;
        status = method + dh_strlen(method) + 1;

        dh_http_metrics_kv_add(kv, &n, group, status, v[0], i);
    }

    dh_metrics_out_printf(out, "%s", ",\"status_by_route\":");
    dh_http_metrics_kv_out(out, kv, n, 1);

    n = 0;

    for (i = 0; i < mmcf->responses->max_series; i++) {
        l = dh_metrics_series_labels(mmcf->responses, i);
        if (l == NULL) {
            continue;
        }

        dh_metrics_series_sum(mmcf->responses, i, v);
        if (v[0]) {
            dh_http_metrics_kv_add(kv, &n, l, (u_char *) "", v[0], i);
        }
    }

    dh_metrics_out_printf(out, "%s", ",\"status_counts\":");
    dh_http_metrics_kv_out(out, kv, n, 0);

    dh_metrics_out_printf(out, ",\"total_requests\":%llu}",
                          (unsigned long long) total);

    return out->failed ? DH_ERROR : DH_OK;
}

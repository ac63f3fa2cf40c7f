/*
 * The upstream client's configuration: upstream {} blocks, implicit
 * upstreams, per-use settings, variables and metrics.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"
#include "dh_http_upstream_int.h"


/* conf-time state behind a srv conf; the public part comes first */
typedef struct {
    dh_http_upstream_srv_conf_t    us;
    dh_array_t                     primary;   /* dh_http_upstream_peer_t */
    dh_array_t                     backup;
    dh_uint_t                      default_port;
} dh_http_upstream_srv_priv_t;


static dh_int_t dh_http_upstream_preconfiguration(dh_conf_t *cf);
static void *dh_http_upstream_create_main_conf(dh_conf_t *cf);
static char *dh_http_upstream_init_main_conf(dh_conf_t *cf, void *conf);
static dh_int_t dh_http_upstream_init_process(dh_cycle_t *cycle);
static char *dh_http_upstream_block(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static char *dh_http_upstream_server(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static char *dh_http_upstream_balancer(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static char *dh_http_upstream_hash_directive(dh_conf_t *cf,
    dh_command_t *cmd, void *conf);
static dh_int_t dh_http_upstream_add_metrics(dh_conf_t *cf);


dh_conf_bitmask_t  dh_http_upstream_next_masks[] = {
    { dh_string("error"), DH_HTTP_UPSTREAM_FT_ERROR },
    { dh_string("timeout"), DH_HTTP_UPSTREAM_FT_TIMEOUT },
    { dh_string("invalid_header"), DH_HTTP_UPSTREAM_FT_INVALID_HEADER },
    { dh_string("http_500"), DH_HTTP_UPSTREAM_FT_HTTP_500 },
    { dh_string("http_502"), DH_HTTP_UPSTREAM_FT_HTTP_502 },
    { dh_string("http_503"), DH_HTTP_UPSTREAM_FT_HTTP_503 },
    { dh_string("http_504"), DH_HTTP_UPSTREAM_FT_HTTP_504 },
    { dh_string("http_403"), DH_HTTP_UPSTREAM_FT_HTTP_403 },
    { dh_string("http_404"), DH_HTTP_UPSTREAM_FT_HTTP_404 },
    { dh_string("http_429"), DH_HTTP_UPSTREAM_FT_HTTP_429 },
    { dh_string("non_idempotent"), DH_HTTP_UPSTREAM_FT_NON_IDEMPOTENT },
    { dh_string("off"), DH_HTTP_UPSTREAM_FT_OFF },
    { dh_null_string, 0 }
};


static dh_command_t  dh_http_upstream_commands[] = {

    { dh_string("upstream"),
      DH_HTTP_MAIN_CONF|DH_CONF_BLOCK|DH_CONF_TAKE1,
      dh_http_upstream_block,
      0,
      0,
      NULL },

    { dh_string("server"),
      DH_HTTP_UPS_CONF|DH_CONF_1MORE,
      dh_http_upstream_server,
      DH_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { dh_string("keepalive"),
      DH_HTTP_UPS_CONF|DH_CONF_TAKE1,
      dh_conf_set_num_slot,
      DH_HTTP_SRV_CONF_OFFSET,
      offsetof(dh_http_upstream_srv_conf_t, keepalive),
      NULL },

    { dh_string("keepalive_timeout"),
      DH_HTTP_UPS_CONF|DH_CONF_TAKE1,
      dh_conf_set_msec_slot,
      DH_HTTP_SRV_CONF_OFFSET,
      offsetof(dh_http_upstream_srv_conf_t, keepalive_timeout),
      NULL },

    { dh_string("keepalive_requests"),
      DH_HTTP_UPS_CONF|DH_CONF_TAKE1,
      dh_conf_set_num_slot,
      DH_HTTP_SRV_CONF_OFFSET,
      offsetof(dh_http_upstream_srv_conf_t, keepalive_requests),
      NULL },

    { dh_string("least_conn"),
      DH_HTTP_UPS_CONF|DH_CONF_NOARGS,
      dh_http_upstream_balancer,
      DH_HTTP_SRV_CONF_OFFSET,
      DH_HTTP_UPSTREAM_LEAST_CONN,
      NULL },

    { dh_string("ip_hash"),
      DH_HTTP_UPS_CONF|DH_CONF_NOARGS,
      dh_http_upstream_balancer,
      DH_HTTP_SRV_CONF_OFFSET,
      DH_HTTP_UPSTREAM_IP_HASH,
      NULL },

    { dh_string("hash"),
      DH_HTTP_UPS_CONF|DH_CONF_TAKE12,
      dh_http_upstream_hash_directive,
      DH_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_upstream_module_ctx = {
    dh_http_upstream_preconfiguration,      /* preconfiguration */
    NULL,                                   /* postconfiguration */
    dh_http_upstream_create_main_conf,      /* create main configuration */
    dh_http_upstream_init_main_conf,        /* init main configuration */
    NULL,                                   /* create server configuration */
    NULL,                                   /* merge server configuration */
    NULL,                                   /* create location configuration */
    NULL                                    /* merge location configuration */
};


dh_module_t  dh_http_upstream_module = {
    DH_MODULE_V1,
    &dh_http_upstream_module_ctx,
    dh_http_upstream_commands,
    DH_HTTP_MODULE,
    NULL,                                   /* init module */
    dh_http_upstream_init_process,          /* init process */
    NULL,                                   /* exit process */
    NULL,                                   /* exit master */
};


/* ---- metrics */

static const char  *dh_http_upstream_reason_names[] = {
    "other", "connect", "timeout", "invalid_header", "no_live", "ssl",
    "closed", "invalid_body", "http_status", "aborted", "internal",
    "resolve"
};

static dh_metric_t  *dh_http_upstream_m_requests;
static dh_metric_t  *dh_http_upstream_m_failures;
static dh_metric_t  *dh_http_upstream_m_seconds;
static dh_metric_t  *dh_http_upstream_m_conns;


static void *
dh_http_upstream_create_main_conf(dh_conf_t *cf)
{
    dh_http_upstream_main_conf_t  *umcf;

    umcf = dh_pcalloc(cf->pool, sizeof(dh_http_upstream_main_conf_t));
    if (umcf == NULL) {
        return NULL;
    }

    if (dh_array_init(&umcf->upstreams, cf->pool, 4,
                      sizeof(dh_http_upstream_srv_conf_t *))
        != DH_OK)
    {
        return NULL;
    }

    return umcf;
}


static dh_http_upstream_srv_conf_t *
dh_http_upstream_find(dh_http_upstream_main_conf_t *umcf, dh_str_t *host,
    in_port_t port, dh_uint_t default_port)
{
    dh_uint_t                     i;
    dh_http_upstream_srv_conf_t  **uscfp, *us;

    uscfp = umcf->upstreams.elts;

    for (i = 0; i < umcf->upstreams.nelts; i++) {
        us = uscfp[i];

        if (us->host.len != host->len
            || dh_strncasecmp(us->host.data, host->data, host->len) != 0)
        {
            continue;
        }

        /* an upstream {} answers to its name without a port */
        if (us->defined) {
            if (port == 0) {
                return us;
            }
            continue;
        }

        if (us->port == port
            && ((dh_http_upstream_srv_priv_t *) us)->default_port
               == default_port)
        {
            return us;
        }
    }

    return NULL;
}


static dh_http_upstream_srv_conf_t *
dh_http_upstream_new(dh_conf_t *cf, dh_http_upstream_main_conf_t *umcf,
    dh_str_t *host)
{
    dh_http_upstream_srv_priv_t   *p;
    dh_http_upstream_srv_conf_t  **uscfp;

    p = dh_pcalloc(cf->pool, sizeof(dh_http_upstream_srv_priv_t));
    if (p == NULL) {
        return NULL;
    }

    p->us.host.data = dh_pstrdup(cf->pool, host);
    if (p->us.host.data == NULL) {
        return NULL;
    }

    p->us.host.len = host->len;
    p->us.keepalive = DH_CONF_UNSET_UINT;
    p->us.keepalive_timeout = DH_CONF_UNSET_MSEC;
    p->us.keepalive_requests = DH_CONF_UNSET_UINT;
    p->us.file = cf->conf_file ? cf->conf_file->file.name.data : NULL;
    p->us.line = cf->conf_file ? cf->conf_file->line : 0;

    if (dh_array_init(&p->primary, cf->pool, 4,
                      sizeof(dh_http_upstream_peer_t)) != DH_OK
        || dh_array_init(&p->backup, cf->pool, 1,
                         sizeof(dh_http_upstream_peer_t)) != DH_OK)
    {
        return NULL;
    }

    uscfp = dh_array_push(&umcf->upstreams);
    if (uscfp == NULL) {
        return NULL;
    }

    *uscfp = &p->us;

    return &p->us;
}


dh_http_upstream_srv_conf_t *
dh_http_upstream_add(dh_conf_t *cf, dh_str_t *host, in_port_t port,
    dh_uint_t flags)
{
    dh_uint_t                      default_port;
    dh_http_upstream_srv_conf_t   *us;
    dh_http_upstream_main_conf_t  *umcf;

    umcf = dh_http_conf_get_module_main_conf(cf, dh_http_upstream_module);

    if (host->len == 0) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0, "no host in upstream");
        return NULL;
    }

    default_port = (flags & DH_HTTP_UPSTREAM_ADD_TLS) ? 443 : 80;

    us = dh_http_upstream_find(umcf, host, port, default_port);
    if (us) {
        return us;
    }

    us = dh_http_upstream_new(cf, umcf, host);
    if (us == NULL) {
        return NULL;
    }

    us->implicit = 1;
    us->port = port;
    us->default_tls = (flags & DH_HTTP_UPSTREAM_ADD_TLS) ? 1 : 0;
    ((dh_http_upstream_srv_priv_t *) us)->default_port = default_port;

    return us;
}


static char *
dh_http_upstream_block(dh_conf_t *cf, dh_command_t *cmd, void *dummy)
{
    char                          *rv;
    dh_str_t                      *value;
    dh_conf_t                      pcf;
    dh_uint_t                      i;
    dh_http_conf_ctx_t            *ctx, *http_ctx;
    dh_http_upstream_srv_conf_t   *us, **uscfp;
    dh_http_upstream_main_conf_t  *umcf;

    value = cf->args->elts;
    umcf = dh_http_conf_get_module_main_conf(cf, dh_http_upstream_module);

    uscfp = umcf->upstreams.elts;
    us = NULL;

    for (i = 0; i < umcf->upstreams.nelts; i++) {
        if (uscfp[i]->host.len != value[1].len
            || dh_strncasecmp(uscfp[i]->host.data, value[1].data,
                              value[1].len) != 0)
        {
            continue;
        }

        if (uscfp[i]->defined) {
            return "is duplicate";
        }

        /* named by proxy_pass before the block: it becomes this one */
        if (uscfp[i]->port != 0) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "upstream \"%s\" may not have port %u "
                              "in %s:%lu", value[1].data,
                              (unsigned) uscfp[i]->port,
                              uscfp[i]->file ? (char *) uscfp[i]->file : "",
                              (unsigned long) uscfp[i]->line);
            return DH_CONF_ERROR;
        }

        us = uscfp[i];
        us->implicit = 0;
    }

    if (us == NULL) {
        us = dh_http_upstream_new(cf, umcf, &value[1]);
        if (us == NULL) {
            return DH_CONF_ERROR;
        }
    }

    us->defined = 1;
    us->file = cf->conf_file ? cf->conf_file->file.name.data : NULL;
    us->line = cf->conf_file ? cf->conf_file->line : 0;

    ctx = dh_pcalloc(cf->pool, sizeof(dh_http_conf_ctx_t));
    if (ctx == NULL) {
        return DH_CONF_ERROR;
    }

    http_ctx = cf->ctx;
    ctx->main_conf = http_ctx->main_conf;

    ctx->srv_conf = dh_pcalloc(cf->pool, sizeof(void *) * dh_http_max_module);
    if (ctx->srv_conf == NULL) {
        return DH_CONF_ERROR;
    }

    ctx->srv_conf[dh_http_upstream_module.ctx_index] = us;
    ctx->loc_conf = http_ctx->loc_conf;

    pcf = *cf;
    cf->ctx = ctx;
    cf->cmd_type = DH_HTTP_UPS_CONF;

    rv = dh_conf_parse(cf, NULL);

    *cf = pcf;

    if (rv != DH_CONF_OK) {
        return rv;
    }

    if (((dh_http_upstream_srv_priv_t *) us)->primary.nelts == 0) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "no servers are inside upstream");
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


static dh_int_t
dh_http_upstream_add_addrs(dh_conf_t *cf, dh_array_t *to, dh_url_t *u,
    dh_http_upstream_peer_t *proto)
{
    dh_uint_t                 i;
    dh_http_upstream_peer_t  *peer;

    for (i = 0; i < u->naddrs; i++) {
        peer = dh_array_push(to);
        if (peer == NULL) {
            return DH_ERROR;
        }

        *peer = *proto;

        peer->sockaddr = dh_palloc(cf->pool, u->addrs[i].socklen);
        if (peer->sockaddr == NULL) {
            return DH_ERROR;
        }

        dh_memcpy(peer->sockaddr, &u->addrs[i].sockaddr,
                  u->addrs[i].socklen);
        peer->socklen = u->addrs[i].socklen;
        peer->name = u->addrs[i].name;
    }

    return DH_OK;
}


static char *
dh_http_upstream_server_param(dh_conf_t *cf, dh_str_t *v,
    dh_http_upstream_peer_t *peer)
{
    dh_int_t  n;
    dh_str_t  s;

    if (v->len > 7 && dh_strncmp(v->data, "weight=", 7) == 0) {
        n = dh_atoi(v->data + 7, v->len - 7);
        if (n == DH_ERROR || n == 0) {
            return "invalid weight";
        }
        peer->weight = n;
        return DH_CONF_OK;
    }

    if (v->len > 10 && dh_strncmp(v->data, "max_fails=", 10) == 0) {
        n = dh_atoi(v->data + 10, v->len - 10);
        if (n == DH_ERROR) {
            return "invalid max_fails";
        }
        peer->max_fails = n;
        return DH_CONF_OK;
    }

    if (v->len > 13 && dh_strncmp(v->data, "fail_timeout=", 13) == 0) {
        s.data = v->data + 13;
        s.len = v->len - 13;
        n = dh_parse_time(&s, 0);
        if (n == DH_ERROR) {
            return "invalid fail_timeout";
        }
        peer->fail_timeout = n;
        return DH_CONF_OK;
    }

    if (v->len == 6 && dh_strncmp(v->data, "backup", 6) == 0) {
        peer->backup = 1;
        return DH_CONF_OK;
    }

    if (v->len == 4 && dh_strncmp(v->data, "down", 4) == 0) {
        peer->down = 1;
        return DH_CONF_OK;
    }

    return "invalid parameter";
}


static char *
dh_http_upstream_server(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_upstream_srv_conf_t  *us = conf;

    char                         *err;
    dh_url_t                      u;
    dh_str_t                     *value;
    dh_uint_t                     i;
    dh_http_upstream_peer_t       proto;
    dh_http_upstream_srv_priv_t  *p;

    p = (dh_http_upstream_srv_priv_t *) us;
    value = cf->args->elts;

    dh_memzero(&proto, sizeof(dh_http_upstream_peer_t));
    proto.weight = 1;
    proto.max_fails = 1;
    proto.fail_timeout = 10000;
    proto.server = value[1];

    for (i = 2; i < cf->args->nelts; i++) {
        err = dh_http_upstream_server_param(cf, &value[i], &proto);
        if (err != DH_CONF_OK) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0, "%s \"%s\"", err,
                              value[i].data);
            return DH_CONF_ERROR;
        }
    }

    if (proto.backup && us->balancer != DH_HTTP_UPSTREAM_RR
        && us->balancer != DH_HTTP_UPSTREAM_LEAST_CONN)
    {
        return "backup cannot be used with hash balancers";
    }

    dh_memzero(&u, sizeof(dh_url_t));
    u.url = value[1];
    u.default_port = 80;

    if (dh_parse_url(cf->pool, &u) != DH_OK) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0, "%s in upstream \"%s\"",
                          u.err ? u.err : "invalid address",
                          value[1].data);
        return DH_CONF_ERROR;
    }

    if (dh_http_upstream_add_addrs(cf, proto.backup ? &p->backup
                                                    : &p->primary,
                                   &u, &proto)
        != DH_OK)
    {
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


static char *
dh_http_upstream_balancer(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_upstream_srv_conf_t  *us = conf;

    if (us->balancer != DH_HTTP_UPSTREAM_RR) {
        return "is duplicate or conflicts with another balancer";
    }

    if (cmd->offset != DH_HTTP_UPSTREAM_LEAST_CONN
        && ((dh_http_upstream_srv_priv_t *) us)->backup.nelts)
    {
        return "cannot be used with backup servers";
    }

    us->balancer = cmd->offset;

    return DH_CONF_OK;
}


static char *
dh_http_upstream_hash_directive(dh_conf_t *cf, dh_command_t *cmd,
    void *conf)
{
    dh_http_upstream_srv_conf_t  *us = conf;

    dh_str_t                         *value;
    dh_http_compile_complex_value_t   ccv;

    if (us->balancer != DH_HTTP_UPSTREAM_RR) {
        return "is duplicate or conflicts with another balancer";
    }

    if (((dh_http_upstream_srv_priv_t *) us)->backup.nelts) {
        return "cannot be used with backup servers";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 3) {
        if (value[2].len != 10
            || dh_strncmp(value[2].data, "consistent", 10) != 0)
        {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "invalid parameter \"%s\"", value[2].data);
            return DH_CONF_ERROR;
        }

        us->consistent = 1;
    }

    us->hash_key = dh_pcalloc(cf->pool, sizeof(dh_http_complex_value_t));
    if (us->hash_key == NULL) {
        return DH_CONF_ERROR;
    }

    dh_memzero(&ccv, sizeof(dh_http_compile_complex_value_t));
    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = us->hash_key;

    if (dh_http_compile_complex_value(&ccv) != DH_OK) {
        return DH_CONF_ERROR;
    }

    us->balancer = DH_HTTP_UPSTREAM_HASH;

    return DH_CONF_OK;
}


/* Resolves an implicit upstream: every address of host:port is a peer. */
static char *
dh_http_upstream_resolve_implicit(dh_conf_t *cf,
    dh_http_upstream_srv_priv_t *p)
{
    u_char                   *buf;
    dh_url_t                  u;
    dh_http_upstream_peer_t   proto;

    dh_memzero(&u, sizeof(dh_url_t));

    /* dh_parse_url reads "host[:port]"; v6 literals need brackets */
    buf = dh_pnalloc(cf->pool, p->us.host.len + sizeof("[]:65535"));
    if (buf == NULL) {
        return DH_CONF_ERROR;
    }

    u.url.data = buf;
    u.url.len = dh_slprintf(buf, buf + p->us.host.len + sizeof("[]:65535"),
                            dh_strchr(p->us.host.data, ':') ? "[%.*s]:%u"
                                                            : "%.*s:%u",
                            DH_STR_FMT(p->us.host),
                            (unsigned) (p->us.port ? p->us.port
                                                   : p->default_port))
                - buf;

    if (dh_parse_url(cf->pool, &u) != DH_OK) {
        dh_log_error(DH_LOG_EMERG, cf->log, 0,
                     "%s in upstream \"%.*s\" in %s:%lu",
                     u.err ? u.err : "invalid address", (int) u.url.len,
                     u.url.data, p->us.file ? (char *) p->us.file : "",
                     (unsigned long) p->us.line);
        return DH_CONF_ERROR;
    }

    p->us.name = u.url;

    dh_memzero(&proto, sizeof(dh_http_upstream_peer_t));
    proto.weight = 1;
    proto.max_fails = 1;
    proto.fail_timeout = 10000;
    proto.server = u.url;

    if (dh_http_upstream_add_addrs(cf, &p->primary, &u, &proto) != DH_OK) {
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


static char *
dh_http_upstream_init_main_conf(dh_conf_t *cf, void *conf)
{
    dh_http_upstream_main_conf_t  *umcf = conf;

    char                          *rv;
    dh_uint_t                      i;
    dh_http_upstream_peer_t       *peers;
    dh_http_upstream_srv_conf_t  **uscfp, *us;
    dh_http_upstream_srv_priv_t   *p;

    uscfp = umcf->upstreams.elts;

    for (i = 0; i < umcf->upstreams.nelts; i++) {
        us = uscfp[i];
        p = (dh_http_upstream_srv_priv_t *) us;

        if (!us->defined) {
            rv = dh_http_upstream_resolve_implicit(cf, p);
            if (rv != DH_CONF_OK) {
                return rv;
            }

        } else {
            us->name = us->host;
        }

        dh_conf_init_uint_value(us->keepalive, 0);
        dh_conf_init_msec_value(us->keepalive_timeout, 60000);
        dh_conf_init_uint_value(us->keepalive_requests, 1000);

        /* one array: primary peers, then backup ones */
        peers = dh_pcalloc(cf->pool, (p->primary.nelts + p->backup.nelts)
                                     * sizeof(dh_http_upstream_peer_t));
        if (peers == NULL) {
            return DH_CONF_ERROR;
        }

        dh_memcpy(peers, p->primary.elts,
                  p->primary.nelts * sizeof(dh_http_upstream_peer_t));
        dh_memcpy(peers + p->primary.nelts, p->backup.elts,
                  p->backup.nelts * sizeof(dh_http_upstream_peer_t));

        us->peers = peers;
        us->npeers = p->primary.nelts;
        us->nbackup = p->backup.nelts;

        dh_http_upstream_balancer_init_peers(us);

        if (us->balancer == DH_HTTP_UPSTREAM_HASH && us->consistent
            && dh_http_upstream_build_ring(cf, us) != DH_OK)
        {
            return DH_CONF_ERROR;
        }
    }

    /* the families take room in the metrics zone: only when used */
    if ((umcf->upstreams.nelts || umcf->metrics_on)
        && dh_http_upstream_add_metrics(cf) != DH_OK)
    {
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


static dh_int_t
dh_http_upstream_init_process(dh_cycle_t *cycle)
{
    dh_uint_t                      i;
    dh_http_upstream_srv_conf_t  **uscfp;
    dh_http_upstream_main_conf_t  *umcf;

    umcf = dh_http_cycle_get_module_main_conf(cycle,
                                              dh_http_upstream_module);
    if (umcf == NULL) {
        return DH_OK;
    }

    uscfp = umcf->upstreams.elts;

    for (i = 0; i < umcf->upstreams.nelts; i++) {
        if (dh_http_upstream_keepalive_init(cycle->pool, uscfp[i]) != DH_OK) {
            return DH_ERROR;
        }
    }

    return DH_OK;
}


/* ---- per-use settings */

void
dh_http_upstream_conf_init(dh_http_upstream_conf_t *conf)
{
    dh_memzero(conf, sizeof(dh_http_upstream_conf_t));

    conf->connect_timeout = DH_CONF_UNSET_MSEC;
    conf->send_timeout = DH_CONF_UNSET_MSEC;
    conf->read_timeout = DH_CONF_UNSET_MSEC;
    conf->buffer_size = DH_CONF_UNSET_SIZE;
    conf->next_upstream = 0;
    conf->next_upstream_tries = DH_CONF_UNSET_UINT;
    conf->next_upstream_timeout = DH_CONF_UNSET_MSEC;
    conf->ssl = DH_CONF_UNSET;
    conf->ssl_verify = DH_CONF_UNSET;
    conf->ssl_server_name = DH_CONF_UNSET;
}


char *
dh_http_upstream_conf_merge(dh_conf_t *cf, dh_http_upstream_conf_t *conf,
    dh_http_upstream_conf_t *prev)
{
    dh_conf_merge_msec_value(conf->connect_timeout, prev->connect_timeout,
                             60000);
    dh_conf_merge_msec_value(conf->send_timeout, prev->send_timeout, 60000);
    dh_conf_merge_msec_value(conf->read_timeout, prev->read_timeout, 60000);
    dh_conf_merge_size_value(conf->buffer_size, prev->buffer_size, 8192);
    dh_conf_merge_bitmask_value(conf->next_upstream, prev->next_upstream,
                                DH_HTTP_UPSTREAM_FT_ERROR
                                | DH_HTTP_UPSTREAM_FT_TIMEOUT);
    dh_conf_merge_uint_value(conf->next_upstream_tries,
                             prev->next_upstream_tries, 0);
    dh_conf_merge_msec_value(conf->next_upstream_timeout,
                             prev->next_upstream_timeout, 0);
    dh_conf_merge_value(conf->ssl, prev->ssl, 0);
    dh_conf_merge_value(conf->ssl_verify, prev->ssl_verify, 1);
    dh_conf_merge_value(conf->ssl_server_name, prev->ssl_server_name, 1);

    if (conf->ssl_trusted_certificate.data == NULL) {
        conf->ssl_trusted_certificate = prev->ssl_trusted_certificate;
    }

    if (conf->ssl_name.data == NULL) {
        conf->ssl_name = prev->ssl_name;
    }

    /* a context made for other TLS settings would verify differently */
    if (conf->ssl_ctx == NULL && prev->ssl_ctx
        && conf->ssl_verify == prev->ssl_verify
        && conf->ssl_trusted_certificate.len
           == prev->ssl_trusted_certificate.len
        && (conf->ssl_trusted_certificate.len == 0
            || dh_memcmp(conf->ssl_trusted_certificate.data,
                         prev->ssl_trusted_certificate.data,
                         conf->ssl_trusted_certificate.len) == 0))
    {
        conf->ssl_ctx = prev->ssl_ctx;
    }

    if (conf->buffer_size < 1024) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "upstream buffer size must be at least 1k");
        return DH_CONF_ERROR;
    }

    if (conf->next_upstream & DH_HTTP_UPSTREAM_FT_OFF) {
        conf->next_upstream = DH_HTTP_UPSTREAM_FT_OFF;
    }

    return DH_CONF_OK;
}


dh_http_upstream_ssl_hooks_t  dh_http_upstream_ssl_hooks;


dh_int_t
dh_http_upstream_ssl_init(dh_conf_t *cf, dh_http_upstream_conf_t *conf)
{
    if (dh_http_upstream_ssl_hooks.init == NULL) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "TLS to upstreams needs the http_ssl module");
        return DH_ERROR;
    }

    return dh_http_upstream_ssl_hooks.init(cf, conf);
}


dh_uint_t
dh_http_upstream_error_status(dh_int_t rc)
{
    switch (rc) {
    case DH_HTTP_UPSTREAM_ERR_TIMEOUT:
        return DH_HTTP_GATEWAY_TIME_OUT;
    case DH_HTTP_UPSTREAM_ERR_INTERNAL:
    case DH_ERROR:
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    default:
        return DH_HTTP_BAD_GATEWAY;
    }
}


/* ---- metrics: bounded series (upstreams x servers x 4 classes) */

static dh_int_t
dh_http_upstream_add_metrics(dh_conf_t *cf)
{
    static const char    *req_labels[] = { "upstream", "server", "code" };
    static const char    *fail_labels[] = { "upstream", "server", "reason" };
    static const char    *up_labels[] = { "upstream" };
    static const char    *conn_labels[] = { "upstream", "state" };
    static const double   bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                       0.5, 1, 2.5, 5, 10, 30, 60 };

    dh_http_upstream_m_requests = dh_metrics_add(cf,
        "upstream_requests_total",
        "Responses from upstream servers by status class.", "",
        DH_METRIC_COUNTER, req_labels, 3, NULL, 0, 256);

    dh_http_upstream_m_failures = dh_metrics_add(cf,
        "upstream_failures_total",
        "Failed tries of upstream servers by reason.", "",
        DH_METRIC_COUNTER, fail_labels, 3, NULL, 0, 256);

    dh_http_upstream_m_seconds = dh_metrics_add(cf,
        "upstream_response_seconds",
        "Time from the first connect to the end of the response.",
        "seconds", DH_METRIC_HISTOGRAM, up_labels, 1, bounds,
        sizeof(bounds) / sizeof(bounds[0]), 64);

    dh_http_upstream_m_conns = dh_metrics_add(cf, "upstream_connections",
        "Connections to upstream servers (active or idle in the "
        "keep-alive cache).", "", DH_METRIC_GAUGE, conn_labels, 2,
        NULL, 0, 128);

    if (dh_http_upstream_m_requests == NULL
        || dh_http_upstream_m_failures == NULL
        || dh_http_upstream_m_seconds == NULL
        || dh_http_upstream_m_conns == NULL)
    {
        return DH_ERROR;
    }

    return DH_OK;
}


static dh_str_t *
dh_http_upstream_peer_label(dh_http_upstream_t *u)
{
    static dh_str_t  none = dh_string("-");

    return u->peer ? &u->peer->name : &none;
}


void
dh_http_upstream_count_request(dh_http_upstream_t *u, dh_uint_t status)
{
    dh_int_t  series;
    dh_str_t  values[3];
    u_char    code[4];

    if (dh_http_upstream_m_requests == NULL || status < 100 || status > 599) {
        return;
    }

    code[0] = (u_char) ('0' + status / 100);
    code[1] = 'x';
    code[2] = 'x';

    values[0] = u->upstream->name;
    values[1] = *dh_http_upstream_peer_label(u);
    values[2].data = code;
    values[2].len = 3;

    series = dh_metrics_series(dh_http_upstream_m_requests, values);
    dh_metrics_add_value(dh_http_upstream_m_requests, series, 1);
}


void
dh_http_upstream_count_failure(dh_http_upstream_t *u, dh_int_t rc)
{
    dh_int_t     series;
    dh_str_t     values[3];
    const char  *reason;

    if (dh_http_upstream_m_failures == NULL) {
        return;
    }

    reason = (rc > 0 && rc <= DH_HTTP_UPSTREAM_ERR_RESOLVE)
             ? dh_http_upstream_reason_names[rc]
             : dh_http_upstream_reason_names[0];

    values[0] = u->upstream->name;
    values[1] = *dh_http_upstream_peer_label(u);
    values[2].data = (u_char *) reason;
    values[2].len = dh_strlen(reason);

    series = dh_metrics_series(dh_http_upstream_m_failures, values);
    dh_metrics_add_value(dh_http_upstream_m_failures, series, 1);
}


void
dh_http_upstream_observe(dh_http_upstream_t *u, dh_msec_t ms)
{
    dh_int_t  series;

    if (dh_http_upstream_m_seconds == NULL) {
        return;
    }

    series = dh_metrics_series(dh_http_upstream_m_seconds,
                               &u->upstream->name);
    dh_metrics_observe(dh_http_upstream_m_seconds, series,
                       (double) ms / 1000);
}


void
dh_http_upstream_gauge(dh_http_upstream_srv_conf_t *us, dh_uint_t idle,
    int64_t delta)
{
    dh_int_t  series;
    dh_str_t  values[2];

    if (dh_http_upstream_m_conns == NULL) {
        return;
    }

    values[0] = us->name;
    if (idle) {
        dh_str_set(&values[1], "idle");

    } else {
        dh_str_set(&values[1], "active");
    }

    series = dh_metrics_series(dh_http_upstream_m_conns, values);
    dh_metrics_add_value(dh_http_upstream_m_conns, series, delta);
}


/* ---- variables: every try, ", " separated, like nginx */

typedef enum {
    DH_UPS_VAR_ADDR = 0,
    DH_UPS_VAR_STATUS,
    DH_UPS_VAR_RESPONSE_TIME,
    DH_UPS_VAR_CONNECT_TIME,
    DH_UPS_VAR_HEADER_TIME
} dh_http_upstream_var_e;


static u_char *
dh_http_upstream_var_one(u_char *p, u_char *last,
    dh_http_upstream_state_t *st, uintptr_t what)
{
    dh_msec_t  ms;

    switch (what) {

    case DH_UPS_VAR_ADDR:
        return dh_slprintf(p, last, "%.*s", DH_STR_FMT(*st->peer));

    case DH_UPS_VAR_STATUS:
        if (st->status == 0) {
            return dh_slprintf(p, last, "502");
        }
        return dh_slprintf(p, last, "%u", (unsigned) st->status);

    default:
        ms = (what == DH_UPS_VAR_RESPONSE_TIME) ? st->response_time
             : (what == DH_UPS_VAR_CONNECT_TIME) ? st->connect_time
             : st->header_time;

        if (ms == (dh_msec_t) -1) {
            return dh_slprintf(p, last, "-");
        }

        return dh_slprintf(p, last, "%lu.%03lu", (unsigned long) (ms / 1000),
                           (unsigned long) (ms % 1000));
    }
}


static dh_int_t
dh_http_upstream_variable(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    u_char                    *p, *last;
    size_t                     len;
    dh_uint_t                  i;
    dh_http_upstream_t        *u;
    dh_http_upstream_state_t  *st;

    u = dh_http_get_module_ctx(r, dh_http_upstream_module);

    if (u == NULL || u->states == NULL || u->states->nelts == 0) {
        v->not_found = 1;
        return DH_OK;
    }

    st = u->states->elts;
    len = 0;

    for (i = 0; i < u->states->nelts; i++) {
        len += (st[i].peer ? st[i].peer->len : 1) + sizeof(", ") + 24;
    }

    p = dh_pnalloc(r->pool, len);
    if (p == NULL) {
        return DH_ERROR;
    }

    v->data = p;
    last = p + len;

    for (i = 0; i < u->states->nelts; i++) {
        if (i) {
            p = dh_slprintf(p, last, ", ");
        }
        p = dh_http_upstream_var_one(p, last, &st[i], data);
    }

    v->len = p - v->data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return DH_OK;
}


static dh_int_t
dh_http_upstream_preconfiguration(dh_conf_t *cf)
{
    static const char  *names[] = {
        "upstream_addr", "upstream_status", "upstream_response_time",
        "upstream_connect_time", "upstream_header_time"
    };

    dh_str_t             name;
    dh_uint_t            i;
    dh_http_variable_t  *var;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        name.data = (u_char *) names[i];
        name.len = dh_strlen(names[i]);

        var = dh_http_add_variable(cf, &name, DH_HTTP_VAR_NOCACHEABLE);
        if (var == NULL) {
            return DH_ERROR;
        }

        var->get_handler = dh_http_upstream_variable;
        var->data = i;
    }

    return DH_OK;
}


/* ---- URLs and simple requests */

dh_int_t
dh_http_upstream_parse_url(dh_str_t *url, dh_http_upstream_url_t *u,
    char **err)
{
    u_char    *p, *last, *host_end, *port;
    dh_int_t   n;

    dh_memzero(u, sizeof(dh_http_upstream_url_t));

    p = url->data;
    last = url->data + url->len;

    if (url->len > 7 && dh_strncasecmp(p, (u_char *) "http://", 7) == 0) {
        p += 7;

    } else if (url->len > 8
               && dh_strncasecmp(p, (u_char *) "https://", 8) == 0)
    {
        p += 8;
        u->tls = 1;

    } else {
        *err = "invalid URL prefix";
        return DH_ERROR;
    }

    u->host_header.data = p;

    if (p < last && *p == '[') {
        u->host.data = ++p;
        while (p < last && *p != ']') {
            p++;
        }
        if (p == last) {
            *err = "invalid IPv6 address";
            return DH_ERROR;
        }
        u->host.len = p - u->host.data;
        p++;
        host_end = p;

    } else {
        u->host.data = p;
        while (p < last && *p != ':' && *p != '/' && *p != '?') {
            p++;
        }
        u->host.len = p - u->host.data;
        host_end = p;
    }

    if (u->host.len == 0) {
        *err = "no host";
        return DH_ERROR;
    }

    if (host_end < last && *host_end == ':') {
        port = host_end + 1;
        p = port;
        while (p < last && *p != '/' && *p != '?') {
            p++;
        }

        n = dh_atoi(port, p - port);
        if (n < 1 || n > 65535) {
            *err = "invalid port";
            return DH_ERROR;
        }
        u->port = (in_port_t) n;

    } else if (host_end < last && *host_end != '/' && *host_end != '?') {
        *err = "invalid host";
        return DH_ERROR;
    }

    u->host_header.len = p - u->host_header.data;
    u->uri.data = p;
    u->uri.len = last - p;

    return DH_OK;
}


dh_int_t
dh_http_upstream_build_request(dh_http_upstream_t *u, dh_str_t *method,
    dh_str_t *host, dh_str_t *uri, dh_array_t *headers, dh_str_t *body)
{
    size_t        len;
    u_char       *p;
    dh_buf_t     *b;
    dh_uint_t     i;
    dh_chain_t   *cl;
    dh_keyval_t  *kv;

    len = method->len + 1 + (uri->len ? uri->len : 1)
          + sizeof(" HTTP/1.1\r\nHost: \r\n") - 1 + host->len
          + sizeof("Content-Length: \r\n") - 1 + DH_INT_T_LEN
          + sizeof("Transfer-Encoding: chunked\r\n") - 1 + 2;

    kv = headers ? headers->elts : NULL;

    for (i = 0; headers && i < headers->nelts; i++) {
        len += kv[i].key.len + 2 + kv[i].value.len + 2;
    }

    if (body) {
        len += body->len;
    }

    b = dh_create_temp_buf(u->pool, len);
    cl = dh_alloc_chain_link(u->pool);
    if (b == NULL || cl == NULL) {
        return DH_ERROR;
    }

    p = b->last;
    p = dh_cpymem(p, method->data, method->len);
    *p++ = ' ';

    if (uri->len) {
        p = dh_cpymem(p, uri->data, uri->len);
    } else {
        *p++ = '/';
    }

    p = dh_cpymem(p, " HTTP/1.1\r\nHost: ", sizeof(" HTTP/1.1\r\nHost: ") - 1);
    p = dh_cpymem(p, host->data, host->len);
    *p++ = CR; *p++ = LF;

    for (i = 0; headers && i < headers->nelts; i++) {
        p = dh_cpymem(p, kv[i].key.data, kv[i].key.len);
        *p++ = ':'; *p++ = ' ';
        p = dh_cpymem(p, kv[i].value.data, kv[i].value.len);
        *p++ = CR; *p++ = LF;
    }

    if (u->request_body_chunked) {
        p = dh_cpymem(p, "Transfer-Encoding: chunked\r\n",
                      sizeof("Transfer-Encoding: chunked\r\n") - 1);

    } else if (body) {
        p = dh_slprintf(p, b->end, "Content-Length: %lu\r\n",
                        (unsigned long) body->len);
    }

    *p++ = CR; *p++ = LF;

    if (body && !u->request_body_chunked) {
        p = dh_cpymem(p, body->data, body->len);
    }

    b->last = p;
    cl->buf = b;
    cl->next = NULL;
    u->request_bufs = cl;

    return DH_OK;
}

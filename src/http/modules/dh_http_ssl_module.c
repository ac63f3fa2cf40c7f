/*
 * HTTPS: "listen ... ssl", certificates, protocols, ciphers, SNI and
 * session resumption.
 *
 * Every server{} with a certificate gets its own SSL_CTX, built while the
 * configuration is read, in the master: the workers inherit it on fork,
 * and with it the session ticket keys OpenSSL generated in SSL_CTX_new(),
 * so a ticket issued by one worker is accepted by all of them.
 *
 * A connection on an ssl address starts with the default server's context;
 * the SNI callback picks the server{} by name among those of the address
 * and switches to its context when it has its own certificate.
 *
 * ssl_session_cache shared:NAME:SIZE keeps sessions in a shared memory
 * zone (slab): an rbtree keyed by a hash of the session id, and an LRU
 * queue whose oldest entries are dropped when the zone is full.
 *
 * Client certificates and the $ssl_* variables are in dh_http_ssl_verify.c.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"
#include "dh_event_openssl.h"
#include "dh_http_ssl_verify.h"


#define DH_HTTP_SSL_NO_SCACHE        -2
#define DH_HTTP_SSL_NONE_SCACHE      -3
#define DH_HTTP_SSL_DFLT_BUILTIN     20480

#define DH_HTTP_SSL_MAX_SESSION      4096     /* DER bytes we keep */


typedef struct {
    dh_rbtree_t            rbtree;
    dh_rbtree_node_t       sentinel;
    dh_queue_t             lru;                /* most recent first */
} dh_http_ssl_cache_sh_t;

typedef struct {
    dh_http_ssl_cache_sh_t *sh;
    dh_slab_pool_t         *shpool;
} dh_http_ssl_cache_t;

typedef struct {
    dh_rbtree_node_t       node;               /* key: hash of the id */
    dh_queue_t             lru;
    time_t                 expire;
    u_char                 id[SSL_MAX_SSL_SESSION_ID_LENGTH];
    u_char                 id_len;
    u_short                len;                /* DER bytes after us */
} dh_http_ssl_sess_t;

typedef struct {
    dh_ssl_t               ssl;                /* ctx NULL: no certificate */

    dh_flag_t              prefer_server_ciphers;
    dh_flag_t              session_tickets;
    dh_uint_t              protocols;

    dh_int_t               builtin_session_cache;
    dh_shm_zone_t         *shm_zone;

    time_t                 session_timeout;
    dh_msec_t              handshake_timeout;

    dh_str_t               certificate;
    dh_str_t               certificate_key;
    dh_str_t               ciphers;

    dh_uint_t              verify;             /* DH_HTTP_SSL_VERIFY_* */
    dh_uint_t              verify_depth;
    dh_str_t               client_certificate;
} dh_http_ssl_srv_conf_t;


static dh_int_t dh_http_ssl_preconfiguration(dh_conf_t *cf);
static void *dh_http_ssl_create_srv_conf(dh_conf_t *cf);
static char *dh_http_ssl_merge_srv_conf(dh_conf_t *cf, void *parent,
    void *child);
static dh_int_t dh_http_ssl_setup_ctx(dh_conf_t *cf,
    dh_http_ssl_srv_conf_t *conf);
static char *dh_http_ssl_session_cache(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static dh_int_t dh_http_ssl_cache_init(dh_shm_zone_t *zone, void *data);
static void dh_http_ssl_cache_insert(dh_rbtree_node_t *temp,
    dh_rbtree_node_t *node, dh_rbtree_node_t *sentinel);
static int dh_http_ssl_id_cmp(const u_char *id, size_t len,
    dh_http_ssl_sess_t *sn);

static void dh_http_ssl_start(dh_connection_t *c);
static dh_int_t dh_http_ssl_verify_request(dh_http_request_t *r);
static void dh_http_ssl_handshaked(dh_connection_t *c);
static void dh_http_ssl_empty_handler(dh_event_t *ev);
static int dh_http_ssl_servername(SSL *ssl, int *ad, void *arg);

static int dh_http_ssl_new_session(SSL *ssl, SSL_SESSION *sess);
static SSL_SESSION *dh_http_ssl_get_session(SSL *ssl,
    const unsigned char *id, int len, int *copy);
static void dh_http_ssl_remove_session(SSL_CTX *ctx, SSL_SESSION *sess);


static int  dh_http_ssl_cache_index = -1;


static dh_conf_bitmask_t  dh_http_ssl_protocols[] = {
    { dh_string("TLSv1"), DH_SSL_TLSv1 },
    { dh_string("TLSv1.1"), DH_SSL_TLSv1_1 },
    { dh_string("TLSv1.2"), DH_SSL_TLSv1_2 },
    { dh_string("TLSv1.3"), DH_SSL_TLSv1_3 },
    { dh_null_string, 0 }
};


static dh_command_t  dh_http_ssl_commands[] = {

    { dh_string("ssl_certificate"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_CONF_TAKE1,
      dh_conf_set_str_slot,
      DH_HTTP_SRV_CONF_OFFSET,
      offsetof(dh_http_ssl_srv_conf_t, certificate),
      NULL },

    { dh_string("ssl_certificate_key"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_CONF_TAKE1,
      dh_conf_set_str_slot,
      DH_HTTP_SRV_CONF_OFFSET,
      offsetof(dh_http_ssl_srv_conf_t, certificate_key),
      NULL },

    { dh_string("ssl_protocols"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_CONF_1MORE,
      dh_conf_set_bitmask_slot,
      DH_HTTP_SRV_CONF_OFFSET,
      offsetof(dh_http_ssl_srv_conf_t, protocols),
      &dh_http_ssl_protocols },

    { dh_string("ssl_ciphers"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_CONF_TAKE1,
      dh_conf_set_str_slot,
      DH_HTTP_SRV_CONF_OFFSET,
      offsetof(dh_http_ssl_srv_conf_t, ciphers),
      NULL },

    { dh_string("ssl_prefer_server_ciphers"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_SRV_CONF_OFFSET,
      offsetof(dh_http_ssl_srv_conf_t, prefer_server_ciphers),
      NULL },

    { dh_string("ssl_session_cache"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_CONF_TAKE12,
      dh_http_ssl_session_cache,
      DH_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { dh_string("ssl_session_timeout"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_CONF_TAKE1,
      dh_conf_set_sec_slot,
      DH_HTTP_SRV_CONF_OFFSET,
      offsetof(dh_http_ssl_srv_conf_t, session_timeout),
      NULL },

    { dh_string("ssl_session_tickets"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_SRV_CONF_OFFSET,
      offsetof(dh_http_ssl_srv_conf_t, session_tickets),
      NULL },

    { dh_string("ssl_handshake_timeout"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_CONF_TAKE1,
      dh_conf_set_msec_slot,
      DH_HTTP_SRV_CONF_OFFSET,
      offsetof(dh_http_ssl_srv_conf_t, handshake_timeout),
      NULL },

    { dh_string("ssl_verify_client"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_CONF_TAKE1,
      dh_conf_set_enum_slot,
      DH_HTTP_SRV_CONF_OFFSET,
      offsetof(dh_http_ssl_srv_conf_t, verify),
      &dh_http_ssl_verify_modes },

    { dh_string("ssl_verify_depth"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_CONF_TAKE1,
      dh_conf_set_num_slot,
      DH_HTTP_SRV_CONF_OFFSET,
      offsetof(dh_http_ssl_srv_conf_t, verify_depth),
      NULL },

    { dh_string("ssl_client_certificate"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_CONF_TAKE1,
      dh_conf_set_str_slot,
      DH_HTTP_SRV_CONF_OFFSET,
      offsetof(dh_http_ssl_srv_conf_t, client_certificate),
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_ssl_module_ctx = {
    dh_http_ssl_preconfiguration,          /* preconfiguration */
    NULL,                                  /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    dh_http_ssl_create_srv_conf,           /* create server configuration */
    dh_http_ssl_merge_srv_conf,            /* merge server configuration */
    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


dh_module_t  dh_http_ssl_module = {
    DH_MODULE_V1,
    &dh_http_ssl_module_ctx,               /* module context */
    dh_http_ssl_commands,                  /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


/* ---- configuration ---------------------------------------------------- */

static dh_int_t
dh_http_ssl_preconfiguration(dh_conf_t *cf)
{
    if (dh_ssl_init(cf->log) != DH_OK) {
        return DH_ERROR;
    }

    if (dh_http_ssl_cache_index == -1) {
        dh_http_ssl_cache_index = SSL_CTX_get_ex_new_index(0, NULL, NULL,
                                                           NULL, NULL);
        if (dh_http_ssl_cache_index == -1) {
            dh_ssl_error(DH_LOG_EMERG, cf->log, 0,
                         "SSL_CTX_get_ex_new_index() failed");
            return DH_ERROR;
        }
    }

    dh_http_ssl_hooks.start = dh_http_ssl_start;
    dh_http_ssl_hooks.shutdown = dh_ssl_shutdown;
    dh_http_ssl_hooks.verify = dh_http_ssl_verify_request;

    return dh_http_ssl_add_variables(cf);
}


static void *
dh_http_ssl_create_srv_conf(dh_conf_t *cf)
{
    dh_http_ssl_srv_conf_t  *sscf;

    /* zeroed: protocols 0 (unset bitmask), strings NULL, shm_zone NULL */
    sscf = dh_pcalloc(cf->pool, sizeof(dh_http_ssl_srv_conf_t));
    if (sscf == NULL) {
        return NULL;
    }

    sscf->prefer_server_ciphers = DH_CONF_UNSET;
    sscf->session_tickets = DH_CONF_UNSET;
    sscf->builtin_session_cache = DH_CONF_UNSET;
    sscf->shm_zone = DH_CONF_UNSET_PTR;
    sscf->session_timeout = DH_CONF_UNSET;
    sscf->handshake_timeout = DH_CONF_UNSET_MSEC;
    sscf->verify = DH_CONF_UNSET_UINT;
    sscf->verify_depth = DH_CONF_UNSET_UINT;

    return sscf;
}


static char *
dh_http_ssl_merge_srv_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_ssl_srv_conf_t *prev = parent;
    dh_http_ssl_srv_conf_t *conf = child;

    dh_http_core_srv_conf_t  *cscf;

    dh_conf_merge_value(conf->prefer_server_ciphers,
                        prev->prefer_server_ciphers, 0);
    dh_conf_merge_value(conf->session_tickets, prev->session_tickets, 1);
    dh_conf_merge_value(conf->builtin_session_cache,
                        prev->builtin_session_cache, DH_HTTP_SSL_NONE_SCACHE);
    dh_conf_merge_ptr_value(conf->shm_zone, prev->shm_zone, NULL);
    dh_conf_merge_sec_value(conf->session_timeout, prev->session_timeout,
                            300);
    dh_conf_merge_msec_value(conf->handshake_timeout,
                             prev->handshake_timeout, 60000);
    dh_conf_merge_bitmask_value(conf->protocols, prev->protocols,
                                DH_SSL_TLSv1_2 | DH_SSL_TLSv1_3);
    dh_conf_merge_str_value(conf->certificate, prev->certificate, "");
    dh_conf_merge_str_value(conf->certificate_key, prev->certificate_key,
                            "");
    dh_conf_merge_str_value(conf->ciphers, prev->ciphers,
                            "HIGH:!aNULL:!MD5");
    dh_conf_merge_uint_value(conf->verify, prev->verify,
                             DH_HTTP_SSL_VERIFY_OFF);
    dh_conf_merge_uint_value(conf->verify_depth, prev->verify_depth, 1);
    dh_conf_merge_str_value(conf->client_certificate,
                            prev->client_certificate, "");

    cscf = dh_http_conf_get_module_srv_conf(cf, dh_http_core_module);

    conf->ssl.log = cf->log;

    if (conf->certificate.len == 0) {
        if (cscf->ssl_listen_file) {
            dh_log_error(DH_LOG_EMERG, cf->log, 0,
                         "no \"ssl_certificate\" is defined for the listen "
                         "... ssl directive in %s:%lu",
                         cscf->ssl_listen_file,
                         (unsigned long) cscf->ssl_listen_line);
            return DH_CONF_ERROR;
        }

        return DH_CONF_OK;
    }

    if (conf->certificate_key.len == 0) {
        dh_log_error(DH_LOG_EMERG, cf->log, 0,
                     "no \"ssl_certificate_key\" is defined for certificate "
                     "\"%s\" of the server in %s:%lu",
                     conf->certificate.data, cscf->file_name,
                     (unsigned long) cscf->line);
        return DH_CONF_ERROR;
    }

    if ((conf->verify == DH_HTTP_SSL_VERIFY_ON
         || conf->verify == DH_HTTP_SSL_VERIFY_OPTIONAL)
        && conf->client_certificate.len == 0)
    {
        dh_log_error(DH_LOG_EMERG, cf->log, 0,
                     "no \"ssl_client_certificate\" is defined for "
                     "\"ssl_verify_client\" of the server in %s:%lu",
                     cscf->file_name, (unsigned long) cscf->line);
        return DH_CONF_ERROR;
    }

    if (dh_http_ssl_setup_ctx(cf, conf) != DH_OK) {
        dh_log_error(DH_LOG_EMERG, cf->log, 0,
                     "TLS setup of the server in %s:%lu failed",
                     cscf->file_name, (unsigned long) cscf->line);
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


static dh_int_t
dh_http_ssl_setup_ctx(dh_conf_t *cf, dh_http_ssl_srv_conf_t *conf)
{
    long      mode;
    SSL_CTX  *ctx;

    /* relative names are relative to the configuration directory */
    if (dh_conf_full_name(cf->cycle, &conf->certificate, 1) != DH_OK
        || dh_conf_full_name(cf->cycle, &conf->certificate_key, 1) != DH_OK)
    {
        return DH_ERROR;
    }

    if (dh_ssl_create(&conf->ssl, conf->protocols, 0, cf->pool) != DH_OK
        || dh_ssl_certificate(&conf->ssl, &conf->certificate,
                              &conf->certificate_key)
           != DH_OK
        || dh_ssl_ciphers(&conf->ssl, &conf->ciphers,
                          conf->prefer_server_ciphers)
           != DH_OK)
    {
        return DH_ERROR;
    }

    ctx = conf->ssl.ctx;

    SSL_CTX_set_tlsext_servername_callback(ctx, dh_http_ssl_servername);

    if (conf->verify != DH_HTTP_SSL_VERIFY_OFF) {
        if (conf->client_certificate.len
            && dh_conf_full_name(cf->cycle, &conf->client_certificate, 1)
               != DH_OK)
        {
            return DH_ERROR;
        }

        if (dh_http_ssl_verify_setup(cf, ctx, conf->verify,
                                     &conf->client_certificate,
                                     conf->verify_depth)
            != DH_OK)
        {
            return DH_ERROR;
        }
    }

    /* one id context for every server, so a session from the default
     * server's context resumes after SNI switched contexts */
    if (SSL_CTX_set_session_id_context(ctx, (const u_char *) "divehttpd",
                                       sizeof("divehttpd") - 1)
        != 1)
    {
        dh_ssl_error(DH_LOG_EMERG, cf->log, 0,
                     "SSL_CTX_set_session_id_context() failed");
        return DH_ERROR;
    }

    SSL_CTX_set_timeout(ctx, (long) conf->session_timeout);

    if (!conf->session_tickets) {
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    }

    if (conf->builtin_session_cache == DH_HTTP_SSL_NO_SCACHE
        || (conf->builtin_session_cache == DH_HTTP_SSL_NONE_SCACHE
            && conf->shm_zone == NULL))
    {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        return DH_OK;
    }

    mode = SSL_SESS_CACHE_SERVER;

    if (conf->shm_zone && conf->builtin_session_cache < 0) {
        mode |= SSL_SESS_CACHE_NO_INTERNAL;
    }

    SSL_CTX_set_session_cache_mode(ctx, mode);

    if (conf->builtin_session_cache >= 0) {
        SSL_CTX_sess_set_cache_size(ctx, conf->builtin_session_cache);
    }

    if (conf->shm_zone) {
        SSL_CTX_set_ex_data(ctx, dh_http_ssl_cache_index, conf->shm_zone);
        SSL_CTX_sess_set_new_cb(ctx, dh_http_ssl_new_session);
        SSL_CTX_sess_set_get_cb(ctx, dh_http_ssl_get_session);
        SSL_CTX_sess_set_remove_cb(ctx, dh_http_ssl_remove_session);
    }

    return DH_OK;
}


/* off | none | builtin[:size] | shared:NAME:SIZE, builtin and shared may
 * be combined */
static char *
dh_http_ssl_session_cache(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_ssl_srv_conf_t *sscf = conf;

    u_char     *p;
    ssize_t     size;
    dh_int_t    n;
    dh_str_t   *value, name, s;
    dh_uint_t   i;

    if (sscf->builtin_session_cache != DH_CONF_UNSET
        || sscf->shm_zone != DH_CONF_UNSET_PTR)
    {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (dh_str_caseeq(&value[i], "off")) {
            sscf->builtin_session_cache = DH_HTTP_SSL_NO_SCACHE;
            continue;
        }

        if (dh_str_caseeq(&value[i], "none")) {
            sscf->builtin_session_cache = DH_HTTP_SSL_NONE_SCACHE;
            continue;
        }

        if (dh_str_caseeq(&value[i], "builtin")) {
            sscf->builtin_session_cache = DH_HTTP_SSL_DFLT_BUILTIN;
            continue;
        }

        if (value[i].len > 8
            && dh_memcmp(value[i].data, "builtin:", 8) == 0)
        {
            n = dh_atoi(value[i].data + 8, value[i].len - 8);
            if (n == DH_ERROR) {
                goto invalid;
            }

            sscf->builtin_session_cache = n;
            continue;
        }

        if (value[i].len > 7 && dh_memcmp(value[i].data, "shared:", 7) == 0)
        {
            name.data = value[i].data + 7;
            p = memchr(name.data, ':', value[i].len - 7);
            if (p == NULL || p == name.data) {
                goto invalid;
            }

            name.len = p - name.data;

            s.data = p + 1;
            s.len = value[i].data + value[i].len - s.data;

            size = dh_parse_size(&s);
            if (size == DH_ERROR || size < (ssize_t) (8 * dh_pagesize)) {
                dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                                  "session cache \"%.*s\" is too small",
                                  DH_STR_FMT(value[i]));
                return DH_CONF_ERROR;
            }

            sscf->shm_zone = dh_shared_memory_add(cf, &name, size,
                                                  &dh_http_ssl_module);
            if (sscf->shm_zone == NULL) {
                return DH_CONF_ERROR;
            }

            if (sscf->shm_zone->data == NULL) {
                sscf->shm_zone->data = dh_pcalloc(cf->pool,
                                              sizeof(dh_http_ssl_cache_t));
                if (sscf->shm_zone->data == NULL) {
                    return DH_CONF_ERROR;
                }
            }

            sscf->shm_zone->init = dh_http_ssl_cache_init;
            continue;
        }

        goto invalid;
    }

    if (sscf->shm_zone != DH_CONF_UNSET_PTR
        && sscf->builtin_session_cache == DH_HTTP_SSL_NO_SCACHE)
    {
        goto invalid;
    }

    if (sscf->shm_zone == DH_CONF_UNSET_PTR) {
        sscf->shm_zone = NULL;
    }

    return DH_CONF_OK;

invalid:

    dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                      "invalid session cache \"%.*s\"", DH_STR_FMT(value[i]));

    return DH_CONF_ERROR;
}


/* ---- connections ------------------------------------------------------ */

static void
dh_http_ssl_start(dh_connection_t *c)
{
    dh_int_t                 rc;
    dh_http_connection_t    *hc;
    dh_http_ssl_srv_conf_t  *sscf;

    hc = c->data;
    sscf = ((dh_http_conf_ctx_t *) hc->conf_ctx)
               ->srv_conf[dh_http_ssl_module.ctx_index];

    if (sscf->ssl.ctx == NULL) {
        /* the default server of an ssl address always has a certificate
         * (checked at configuration time); be safe anyway */
        dh_log_error(DH_LOG_ERR, c->log, 0, "no TLS context for connection");
        dh_http_close_connection(c);
        return;
    }

    if (dh_ssl_create_connection(&sscf->ssl, c, 0) != DH_OK) {
        dh_http_close_connection(c);
        return;
    }

    ((dh_ssl_connection_t *) c->ssl)->handler = dh_http_ssl_handshaked;

    c->log->action = "SSL handshaking";
    c->write->handler = dh_http_ssl_empty_handler;

    dh_event_add_timer(c->read, sscf->handshake_timeout);

    rc = dh_ssl_handshake(c);

    if (rc == DH_AGAIN) {
        return;
    }

    dh_http_ssl_handshaked(c);
}


static void
dh_http_ssl_handshaked(dh_connection_t *c)
{
    dh_http_connection_t     *hc;
    dh_ssl_connection_t      *sc;
    dh_http_core_srv_conf_t  *cscf;

    sc = c->ssl;

    if (!sc->handshaked) {
        dh_http_close_connection(c);
        return;
    }

    hc = c->data;

    /* after SNI, the server the client named */
    cscf = ((dh_http_conf_ctx_t *) hc->conf_ctx)
               ->srv_conf[dh_http_core_module.ctx_index];

    dh_event_del_timer(c->read);
    dh_event_add_timer(c->read, cscf->client_header_timeout);

    c->log->action = "waiting for request";
    c->read->handler = dh_http_wait_request_handler;
    c->write->handler = dh_http_ssl_empty_handler;

    /* the client's first request may already sit decrypted in OpenSSL
     * (no new epoll edge will announce it): look now */
    dh_http_wait_request_handler(c->read);
}


static void
dh_http_ssl_empty_handler(dh_event_t *ev)
{
    return;
}


/* once the request's Host chose its server */
static dh_int_t
dh_http_ssl_verify_request(dh_http_request_t *r)
{
    dh_http_ssl_srv_conf_t  *sscf;

    sscf = dh_http_get_module_srv_conf(r, dh_http_ssl_module);

    return dh_http_ssl_check_client(r, sscf->verify);
}


static int
dh_http_ssl_servername(SSL *ssl, int *ad, void *arg)
{
    size_t                    len;
    u_char                    buf[256];
    dh_str_t                  host;
    const char               *name;
    SSL_CTX                  *ctx;
    dh_connection_t          *c;
    dh_http_connection_t     *hc;
    dh_http_ssl_srv_conf_t   *sscf;
    dh_http_virtual_names_t  *vn;
    dh_http_core_srv_conf_t  *cscf;

    name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name == NULL) {
        return SSL_TLSEXT_ERR_NOACK;
    }

    c = SSL_get_ex_data(ssl, dh_ssl_connection_index);
    hc = c->data;
    vn = hc->addr_conf->virtual_names;

    len = strlen(name);

    if (vn == NULL || len == 0 || len >= sizeof(buf)) {
        return SSL_TLSEXT_ERR_OK;
    }

    dh_strlow(buf, (u_char *) name, len);

    if (buf[len - 1] == '.') {
        len--;
    }

    host.data = buf;
    host.len = len;

    /* exact and wildcard names; no request yet, so no regex names */
    cscf = dh_http_find_virtual_server(NULL, vn, &host);

    if (cscf == NULL) {
        return SSL_TLSEXT_ERR_OK;       /* the default server answers */
    }

    hc->conf_ctx = cscf->ctx;

    sscf = cscf->ctx->srv_conf[dh_http_ssl_module.ctx_index];
    ctx = sscf->ssl.ctx;

    if (ctx && ctx != SSL_get_SSL_CTX(ssl)) {
        SSL_set_SSL_CTX(ssl, ctx);

        /* SSL_set_SSL_CTX() takes the certificate; options stay the
         * connection's: take the new server's as well */
        SSL_clear_options(ssl, SSL_get_options(ssl)
                               & ~SSL_CTX_get_options(ctx));
        SSL_set_options(ssl, SSL_CTX_get_options(ctx));

        /* and whether and how deep it checks client certificates */
        SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx),
                       SSL_CTX_get_verify_callback(ctx));
        SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(ctx));
    }

    return SSL_TLSEXT_ERR_OK;
}


/* ---- shared session cache --------------------------------------------- */

static dh_int_t
dh_http_ssl_cache_init(dh_shm_zone_t *zone, void *data)
{
    dh_http_ssl_cache_t  *ocache = data;

    dh_slab_pool_t       *shpool;
    dh_http_ssl_cache_t  *cache;

    cache = zone->data;

    if (ocache) {
        /* adopted across a reload: the sessions stay */
        cache->sh = ocache->sh;
        cache->shpool = ocache->shpool;
        return DH_OK;
    }

    shpool = (dh_slab_pool_t *) zone->shm.addr;
    cache->shpool = shpool;

    /* a full zone is normal: the oldest sessions make room */
    shpool->log_nomem = 0;

    if (zone->shm.exists) {
        cache->sh = shpool->data;
        return DH_OK;
    }

    cache->sh = dh_slab_calloc(shpool, sizeof(dh_http_ssl_cache_sh_t));
    if (cache->sh == NULL) {
        return DH_ERROR;
    }

    shpool->data = cache->sh;

    dh_rbtree_init(&cache->sh->rbtree, &cache->sh->sentinel,
                   dh_http_ssl_cache_insert);
    dh_queue_init(&cache->sh->lru);

    return DH_OK;
}


/* ordered by key (a hash of the id), then by the id itself */
static void
dh_http_ssl_cache_insert(dh_rbtree_node_t *temp, dh_rbtree_node_t *node,
    dh_rbtree_node_t *sentinel)
{
    dh_rbtree_node_t   **p;
    dh_http_ssl_sess_t  *sn, *tn;

    sn = (dh_http_ssl_sess_t *) node;

    for ( ;; ) {
        tn = (dh_http_ssl_sess_t *) temp;

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            p = (dh_http_ssl_id_cmp(sn->id, sn->id_len, tn) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    dh_rbt_red(node);
}


static int
dh_http_ssl_id_cmp(const u_char *id, size_t len, dh_http_ssl_sess_t *sn)
{
    if (len != sn->id_len) {
        return (len < sn->id_len) ? -1 : 1;
    }

    return memcmp(id, sn->id, len);
}


static dh_http_ssl_sess_t *
dh_http_ssl_cache_lookup(dh_http_ssl_cache_sh_t *sh, const u_char *id,
    size_t len)
{
    int                  rc;
    dh_rbtree_key_t      key;
    dh_rbtree_node_t    *node, *sentinel;
    dh_http_ssl_sess_t  *sn;

    key = dh_hash_key((u_char *) id, len);
    node = sh->rbtree.root;
    sentinel = sh->rbtree.sentinel;

    while (node != sentinel) {

        if (key != node->key) {
            node = (key < node->key) ? node->left : node->right;
            continue;
        }

        sn = (dh_http_ssl_sess_t *) node;
        rc = dh_http_ssl_id_cmp(id, len, sn);

        if (rc == 0) {
            return sn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
dh_http_ssl_cache_delete(dh_http_ssl_cache_t *cache, dh_http_ssl_sess_t *sn)
{
    dh_queue_remove(&sn->lru);
    dh_rbtree_delete(&cache->sh->rbtree, &sn->node);
    dh_slab_free_locked(cache->shpool, sn);
}


/* Drops expired sessions from the old end of the LRU queue; with force,
 * the oldest one even if it is still valid (the zone is full). */
static void
dh_http_ssl_cache_expire(dh_http_ssl_cache_t *cache, dh_uint_t force)
{
    time_t               now;
    dh_uint_t            n;
    dh_queue_t          *q;
    dh_http_ssl_sess_t  *sn;

    now = dh_time();

    for (n = 0; n < 2; n++) {
        if (dh_queue_empty(&cache->sh->lru)) {
            return;
        }

        q = dh_queue_last(&cache->sh->lru);
        sn = dh_queue_data(q, dh_http_ssl_sess_t, lru);

        if (!force && sn->expire > now) {
            return;
        }

        dh_http_ssl_cache_delete(cache, sn);
        force = 0;
    }
}


static int
dh_http_ssl_new_session(SSL *ssl, SSL_SESSION *sess)
{
    int                   len;
    u_char               *p;
    size_t                size;
    dh_uint_t             tries;
    unsigned int          id_len;
    const u_char         *id;
    dh_shm_zone_t        *zone;
    dh_connection_t      *c;
    dh_http_ssl_sess_t   *sn;
    dh_http_ssl_cache_t  *cache;
    u_char                der[DH_HTTP_SSL_MAX_SESSION];

    c = SSL_get_ex_data(ssl, dh_ssl_connection_index);
    zone = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
                               dh_http_ssl_cache_index);
    if (zone == NULL) {
        /* SNI moved to a context without the shared cache */
        zone = SSL_CTX_get_ex_data(
                   ((dh_ssl_connection_t *) c->ssl)->session_ctx,
                   dh_http_ssl_cache_index);
        if (zone == NULL) {
            return 0;
        }
    }

    cache = zone->data;

    len = i2d_SSL_SESSION(sess, NULL);
    if (len <= 0 || len > DH_HTTP_SSL_MAX_SESSION) {
        /* large sessions (client certificate chains) are not cached */
        return 0;
    }

    p = der;
    i2d_SSL_SESSION(sess, &p);

    id = SSL_SESSION_get_id(sess, &id_len);
    size = sizeof(dh_http_ssl_sess_t) + (size_t) len;

    dh_shmtx_lock(&cache->shpool->mutex);

    dh_http_ssl_cache_expire(cache, 0);

    sn = dh_http_ssl_cache_lookup(cache->sh, id, id_len);
    if (sn) {
        dh_http_ssl_cache_delete(cache, sn);
    }

    for (tries = 0; ; tries++) {
        sn = dh_slab_alloc_locked(cache->shpool, size);
        if (sn || tries == 8) {
            break;
        }

        dh_http_ssl_cache_expire(cache, 1);
    }

    if (sn == NULL) {
        dh_shmtx_unlock(&cache->shpool->mutex);
        dh_log_error(DH_LOG_ALERT, c->log, 0,
                     "could not allocate new session in SSL session cache "
                     "\"%.*s\"", DH_STR_FMT(zone->shm.name));
        return 0;
    }

    sn->node.key = dh_hash_key((u_char *) id, id_len);
    dh_memcpy(sn->id, id, id_len);
    sn->id_len = (u_char) id_len;
    sn->len = (u_short) len;
    sn->expire = (time_t) SSL_SESSION_get_time(sess)
                 + (time_t) SSL_SESSION_get_timeout(sess);
    dh_memcpy(sn + 1, der, (size_t) len);

    dh_rbtree_insert(&cache->sh->rbtree, &sn->node);
    dh_queue_insert_head(&cache->sh->lru, &sn->lru);

    dh_shmtx_unlock(&cache->shpool->mutex);

    return 0;
}


static SSL_SESSION *
dh_http_ssl_get_session(SSL *ssl, const unsigned char *id, int len,
    int *copy)
{
    u_char               *p;
    const u_char         *pp;
    dh_shm_zone_t        *zone;
    SSL_SESSION          *sess;
    dh_http_ssl_sess_t   *sn;
    dh_http_ssl_cache_t  *cache;
    u_char                der[DH_HTTP_SSL_MAX_SESSION];

    *copy = 0;

    zone = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), dh_http_ssl_cache_index);
    if (zone == NULL || len <= 0 || len > SSL_MAX_SSL_SESSION_ID_LENGTH) {
        return NULL;
    }

    cache = zone->data;
    sess = NULL;

    dh_shmtx_lock(&cache->shpool->mutex);

    sn = dh_http_ssl_cache_lookup(cache->sh, id, (size_t) len);

    if (sn && sn->expire > dh_time()) {
        /* d2i outside the lock would race with eviction: copy first */
        p = der;
        dh_memcpy(p, sn + 1, sn->len);
        pp = der;

        dh_queue_remove(&sn->lru);
        dh_queue_insert_head(&cache->sh->lru, &sn->lru);

        dh_shmtx_unlock(&cache->shpool->mutex);

        sess = d2i_SSL_SESSION(NULL, &pp, sn->len);
        if (sess == NULL) {
            ERR_clear_error();
        }

        return sess;
    }

    if (sn) {
        dh_http_ssl_cache_delete(cache, sn);
    }

    dh_shmtx_unlock(&cache->shpool->mutex);

    return NULL;
}


static void
dh_http_ssl_remove_session(SSL_CTX *ctx, SSL_SESSION *sess)
{
    unsigned int          id_len;
    const u_char         *id;
    dh_shm_zone_t        *zone;
    dh_http_ssl_sess_t   *sn;
    dh_http_ssl_cache_t  *cache;

    zone = SSL_CTX_get_ex_data(ctx, dh_http_ssl_cache_index);
    if (zone == NULL) {
        return;
    }

    cache = zone->data;
    id = SSL_SESSION_get_id(sess, &id_len);

    dh_shmtx_lock(&cache->shpool->mutex);

    sn = dh_http_ssl_cache_lookup(cache->sh, id, id_len);
    if (sn) {
        dh_http_ssl_cache_delete(cache, sn);
    }

    dh_shmtx_unlock(&cache->shpool->mutex);
}

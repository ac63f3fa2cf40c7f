/*
 * TLS to upstream servers.  A module of its own so that the upstream
 * client needs no OpenSSL: built only with OpenSSL, it fills
 * dh_http_upstream_ssl_hooks in preconfiguration.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"
#include "dh_event_openssl.h"
#include "dh_http_upstream_int.h"


static dh_int_t dh_http_upstream_ssl_preconfiguration(dh_conf_t *cf);


static dh_http_module_t  dh_http_upstream_ssl_module_ctx = {
    dh_http_upstream_ssl_preconfiguration,  /* preconfiguration */
    NULL,                                   /* postconfiguration */
    NULL,                                   /* create main configuration */
    NULL,                                   /* init main configuration */
    NULL,                                   /* create server configuration */
    NULL,                                   /* merge server configuration */
    NULL,                                   /* create location configuration */
    NULL                                    /* merge location configuration */
};


dh_module_t  dh_http_upstream_ssl_module = {
    DH_MODULE_V1,
    &dh_http_upstream_ssl_module_ctx,
    NULL,
    DH_HTTP_MODULE,
    NULL,                                   /* init module */
    NULL,                                   /* init process */
    NULL,                                   /* exit process */
    NULL,                                   /* exit master */
};


static dh_int_t
dh_http_upstream_ssl_ctx(dh_conf_t *cf, dh_http_upstream_conf_t *conf)
{
    dh_str_t  *ca;
    dh_ssl_t   ssl;

    if (conf->ssl_ctx) {
        return DH_OK;
    }

    if (dh_ssl_init(cf->log) != DH_OK) {
        return DH_ERROR;
    }

    ca = &conf->ssl_trusted_certificate;

    if (ca->len && dh_conf_full_name(cf->cycle, ca, 1) != DH_OK) {
        return DH_ERROR;
    }

    ssl.ctx = NULL;
    ssl.log = cf->log;

    if (dh_ssl_create_client_ctx(&ssl, ca, conf->ssl_verify != 0, cf->pool)
        != DH_OK)
    {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "cannot set up TLS to upstreams");
        return DH_ERROR;
    }

    conf->ssl_ctx = ssl.ctx;

    return DH_OK;
}


static dh_int_t
dh_http_upstream_ssl_start(dh_connection_t *c, dh_http_upstream_conf_t *conf,
    dh_str_t *name, void (*done)(dh_connection_t *c))
{
    char                 *host;
    dh_ssl_t              ssl;
    dh_ssl_connection_t  *sc;

    /* a cached connection comes back already encrypted */
    if (c->ssl) {
        return DH_OK;
    }

    ssl.ctx = conf->ssl_ctx;
    ssl.log = c->log;

    if (dh_ssl_create_connection(&ssl, c, 1) != DH_OK) {
        return DH_ERROR;
    }

    sc = c->ssl;
    sc->handler = done;

    if (conf->ssl_server_name) {
        /* SNI and the name the certificate must carry */
        if (dh_ssl_set_host(c, name) != DH_OK) {
            return DH_ERROR;
        }

    } else if (conf->ssl_verify) {
        host = dh_pstrdup_cstr(c->pool, name);
        if (host == NULL || SSL_set1_host(sc->connection, host) != 1) {
            return DH_ERROR;
        }
    }

    return dh_ssl_handshake(c);
}


static dh_uint_t
dh_http_upstream_ssl_handshaked(dh_connection_t *c)
{
    dh_ssl_connection_t  *sc = c->ssl;

    return sc && sc->handshaked;
}


static dh_int_t
dh_http_upstream_ssl_preconfiguration(dh_conf_t *cf)
{
    dh_http_upstream_ssl_hooks.init = dh_http_upstream_ssl_ctx;
    dh_http_upstream_ssl_hooks.start = dh_http_upstream_ssl_start;
    dh_http_upstream_ssl_hooks.handshaked = dh_http_upstream_ssl_handshaked;
    dh_http_upstream_ssl_hooks.shutdown = dh_ssl_shutdown;

    return DH_OK;
}

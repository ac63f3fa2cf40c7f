/*
 * allow / deny by client address: the rules of the innermost level that
 * has any are checked in order and the first match decides (403 for
 * deny).  A v4-mapped IPv6 client (::ffff:1.2.3.4) matches IPv4 rules.
 *
 * Access-phase contract (see satisfy in dh_http_core_module.c): DH_OK
 * when a rule allowed the client, DH_DECLINED without rules or without a
 * match, DH_HTTP_FORBIDDEN when denied.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


typedef struct {
    dh_cidr_t        cidr;
    unsigned         deny:1;
    unsigned         all:1;
} dh_http_access_rule_t;

typedef struct {
    dh_array_t      *rules;       /* of dh_http_access_rule_t; NULL unset */
} dh_http_access_loc_conf_t;


static dh_int_t dh_http_access_handler(dh_http_request_t *r);
static char *dh_http_access_rule(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static void *dh_http_access_create_loc_conf(dh_conf_t *cf);
static char *dh_http_access_merge_loc_conf(dh_conf_t *cf, void *parent,
    void *child);
static dh_int_t dh_http_access_init(dh_conf_t *cf);


static dh_command_t  dh_http_access_commands[] = {

    { dh_string("allow"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_http_access_rule,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("deny"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_http_access_rule,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_access_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_access_init,                   /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    dh_http_access_create_loc_conf,        /* create location configuration */
    dh_http_access_merge_loc_conf          /* merge location configuration */
};


dh_module_t  dh_http_access_module = {
    DH_MODULE_V1,
    &dh_http_access_module_ctx,            /* module context */
    dh_http_access_commands,               /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


static dh_int_t
dh_http_access_handler(dh_http_request_t *r)
{
    dh_uint_t                   i;
    dh_http_access_rule_t      *rule;
    dh_http_access_loc_conf_t  *alcf;

    alcf = dh_http_get_module_loc_conf(r, dh_http_access_module);

    if (alcf->rules == NULL) {
        return DH_DECLINED;
    }

    rule = alcf->rules->elts;

    for (i = 0; i < alcf->rules->nelts; i++) {
        if (!rule[i].all
            && dh_cidr_match(r->connection->sockaddr, &rule[i].cidr)
               != DH_OK)
        {
            continue;
        }

        if (rule[i].deny) {
            dh_log_error(DH_LOG_ERR, r->connection->log, 0,
                         "access forbidden by rule");
            return DH_HTTP_FORBIDDEN;
        }

        return DH_OK;
    }

    return DH_DECLINED;
}


static char *
dh_http_access_rule(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_access_loc_conf_t  *alcf = conf;

    dh_int_t                rc;
    dh_str_t               *value;
    dh_http_access_rule_t  *rule;

    value = cf->args->elts;

    if (alcf->rules == NULL) {
        alcf->rules = dh_array_create(cf->pool, 4,
                                      sizeof(dh_http_access_rule_t));
        if (alcf->rules == NULL) {
            return DH_CONF_ERROR;
        }
    }

    rule = dh_array_push(alcf->rules);
    if (rule == NULL) {
        return DH_CONF_ERROR;
    }

    dh_memzero(rule, sizeof(dh_http_access_rule_t));
    rule->deny = (value[0].data[0] == 'd');

    if (value[1].len == 3 && dh_strncmp(value[1].data, "all", 3) == 0) {
        rule->all = 1;
        return DH_CONF_OK;
    }

    rc = dh_ptocidr(&value[1], &rule->cidr);

    if (rc == DH_ERROR) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"",
                          (int) value[1].len, value[1].data);
        return DH_CONF_ERROR;
    }

    if (rc == DH_DONE) {
        dh_conf_log_error(DH_LOG_WARN, cf, 0,
                          "low address bits of %.*s are meaningless",
                          (int) value[1].len, value[1].data);
    }

    return DH_CONF_OK;
}


static void *
dh_http_access_create_loc_conf(dh_conf_t *cf)
{
    /* rules == NULL: none at this level */
    return dh_pcalloc(cf->pool, sizeof(dh_http_access_loc_conf_t));
}


static char *
dh_http_access_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_access_loc_conf_t  *prev = parent;
    dh_http_access_loc_conf_t  *conf = child;

    if (conf->rules == NULL) {
        conf->rules = prev->rules;
    }

    return DH_CONF_OK;
}


static dh_int_t
dh_http_access_init(dh_conf_t *cf)
{
    dh_http_handler_pt        *h;
    dh_http_core_main_conf_t  *cmcf;

    cmcf = dh_http_conf_get_module_main_conf(cf, dh_http_core_module);

    h = dh_array_push(&cmcf->phases[DH_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return DH_ERROR;
    }

    *h = dh_http_access_handler;

    return DH_OK;
}

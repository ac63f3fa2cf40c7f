/*
 * HTTP configuration contexts.
 *
 * http {} creates one array of main, srv and loc confs (one slot per HTTP
 * module, indexed by ctx_index); every server {} gets new srv and loc
 * arrays sharing the main one; every location {} a new loc array.  Unset
 * values are filled from the enclosing block by the modules' merge hooks,
 * so a request reads its settings in O(1) with no lookup at run time.
 */

#ifndef DH_HTTP_CONFIG_H
#define DH_HTTP_CONFIG_H

#include "dh_http.h"

typedef struct {
    void        **main_conf;
    void        **srv_conf;
    void        **loc_conf;
} dh_http_conf_ctx_t;

typedef struct {
    dh_int_t    (*preconfiguration)(dh_conf_t *cf);
    dh_int_t    (*postconfiguration)(dh_conf_t *cf);

    void       *(*create_main_conf)(dh_conf_t *cf);
    char       *(*init_main_conf)(dh_conf_t *cf, void *conf);

    void       *(*create_srv_conf)(dh_conf_t *cf);
    char       *(*merge_srv_conf)(dh_conf_t *cf, void *prev, void *conf);

    void       *(*create_loc_conf)(dh_conf_t *cf);
    char       *(*merge_loc_conf)(dh_conf_t *cf, void *prev, void *conf);
} dh_http_module_t;

#define DH_HTTP_MODULE           0x50545448     /* "HTTP" */

/* Contexts of HTTP directives.  The bits are distinct from DH_MAIN_CONF
 * and DH_EVENT_CONF, so one cf->cmd_type never matches another layer. */
#define DH_HTTP_MAIN_CONF        0x04000000
#define DH_HTTP_SRV_CONF         0x08000000
#define DH_HTTP_LOC_CONF         0x10000000
#define DH_HTTP_UPS_CONF         0x20000000     /* upstream {}, later */

#define DH_HTTP_MAIN_CONF_OFFSET  offsetof(dh_http_conf_ctx_t, main_conf)
#define DH_HTTP_SRV_CONF_OFFSET   offsetof(dh_http_conf_ctx_t, srv_conf)
#define DH_HTTP_LOC_CONF_OFFSET   offsetof(dh_http_conf_ctx_t, loc_conf)

#define dh_http_get_module_ctx(r, module)     (r)->ctx[module.ctx_index]
#define dh_http_set_ctx(r, c, module)         (r)->ctx[module.ctx_index] = c

#define dh_http_get_module_main_conf(r, module)                               \
    (r)->main_conf[module.ctx_index]
#define dh_http_get_module_srv_conf(r, module)                                \
    (r)->srv_conf[module.ctx_index]
#define dh_http_get_module_loc_conf(r, module)                                \
    (r)->loc_conf[module.ctx_index]

#define dh_http_conf_get_module_main_conf(cf, module)                         \
    ((dh_http_conf_ctx_t *) cf->ctx)->main_conf[module.ctx_index]
#define dh_http_conf_get_module_srv_conf(cf, module)                          \
    ((dh_http_conf_ctx_t *) cf->ctx)->srv_conf[module.ctx_index]
#define dh_http_conf_get_module_loc_conf(cf, module)                          \
    ((dh_http_conf_ctx_t *) cf->ctx)->loc_conf[module.ctx_index]

/* NULL when the configuration has no http {} block. */
#define dh_http_cycle_get_module_main_conf(cycle, module)                     \
    (cycle->conf_ctx[dh_http_module.index]                                    \
        ? ((dh_http_conf_ctx_t *) cycle->conf_ctx[dh_http_module.index])      \
              ->main_conf[module.ctx_index]                                   \
        : NULL)

extern dh_uint_t    dh_http_max_module;
extern dh_module_t  dh_http_module;

#endif /* DH_HTTP_CONFIG_H */

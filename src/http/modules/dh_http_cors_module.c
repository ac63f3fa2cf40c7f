/*
 * Cross-origin resource sharing (the Fetch standard's CORS protocol).
 *
 * With `cors_origin` set in a location, a request whose Origin is allowed
 * gets Access-Control-Allow-Origin on every response, errors included (a
 * header filter adds it), and a preflight (OPTIONS with Access-Control-
 * Request-Method) is answered 204 in the preaccess phase, before access
 * checks and content handlers: browsers send preflights without
 * credentials.  A request from any other origin gets no CORS headers, so
 * the browser blocks it.  Browsers reject "*" together with credentials,
 * so with `cors_credentials on` the request's Origin is echoed instead.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


typedef struct {
    dh_array_t    *origins;          /* of dh_str_t; NULL: off */
    dh_flag_t      any;              /* "*" */
    dh_str_t       methods;          /* joined with ", " */
    dh_str_t       headers;
    dh_str_t       expose_headers;
    dh_flag_t      credentials;
    time_t         max_age;
} dh_http_cors_loc_conf_t;


static dh_int_t dh_http_cors_init(dh_conf_t *cf);
static void *dh_http_cors_create_loc_conf(dh_conf_t *cf);
static char *dh_http_cors_merge_loc_conf(dh_conf_t *cf, void *parent,
    void *child);
static char *dh_http_cors_origin(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static char *dh_http_cors_list(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);


static dh_command_t  dh_http_cors_commands[] = {

    { dh_string("cors_origin"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_1MORE,
      dh_http_cors_origin,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("cors_methods"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_1MORE,
      dh_http_cors_list,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_cors_loc_conf_t, methods),
      NULL },

    { dh_string("cors_headers"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_1MORE,
      dh_http_cors_list,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_cors_loc_conf_t, headers),
      NULL },

    { dh_string("cors_expose_headers"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_1MORE,
      dh_http_cors_list,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_cors_loc_conf_t, expose_headers),
      NULL },

    { dh_string("cors_credentials"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_cors_loc_conf_t, credentials),
      NULL },

    { dh_string("cors_max_age"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_sec_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_cors_loc_conf_t, max_age),
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_cors_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_cors_init,                     /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    dh_http_cors_create_loc_conf,          /* create location configuration */
    dh_http_cors_merge_loc_conf            /* merge location configuration */
};


dh_module_t  dh_http_cors_module = {
    DH_MODULE_V1,
    &dh_http_cors_module_ctx,              /* module context */
    dh_http_cors_commands,                 /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


static dh_http_output_header_filter_pt  dh_http_next_header_filter;


static dh_uint_t
dh_http_cors_allowed(dh_http_request_t *r, dh_http_cors_loc_conf_t *conf)
{
    dh_str_t   *origin, *o;
    dh_uint_t   i;

    if (conf->origins == NULL || r->headers_in.origin == NULL) {
        return 0;
    }

    if (conf->any) {
        return 1;
    }

    origin = &r->headers_in.origin->value;
    o = conf->origins->elts;

    for (i = 0; i < conf->origins->nelts; i++) {
        /* scheme and host are case-insensitive; ports are digits */
        if (o[i].len == origin->len
            && dh_strncasecmp(o[i].data, origin->data, origin->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static dh_int_t
dh_http_cors_add(dh_http_request_t *r, char *key, dh_str_t *value)
{
    if (value->len == 0) {
        return DH_OK;
    }

    if (dh_http_add_header_out(r, key, dh_strlen(key), value->data,
                               value->len)
        == NULL)
    {
        return DH_ERROR;
    }

    return DH_OK;
}


/* The headers of every response to an allowed origin. */
static dh_int_t
dh_http_cors_header_filter(dh_http_request_t *r)
{
    dh_str_t                  star = dh_string("*"), yes = dh_string("true");
    dh_str_t                  vary = dh_string("Origin");
    dh_http_cors_loc_conf_t  *conf;

    conf = dh_http_get_module_loc_conf(r, dh_http_cors_module);

    if (!dh_http_cors_allowed(r, conf)) {
        return dh_http_next_header_filter(r);
    }

    if (conf->any && !conf->credentials) {
        if (dh_http_cors_add(r, "Access-Control-Allow-Origin", &star)
            != DH_OK)
        {
            return DH_ERROR;
        }

    } else {
        if (dh_http_cors_add(r, "Access-Control-Allow-Origin",
                             &r->headers_in.origin->value) != DH_OK
            || dh_http_cors_add(r, "Vary", &vary) != DH_OK)
        {
            return DH_ERROR;
        }
    }

    if (conf->credentials
        && dh_http_cors_add(r, "Access-Control-Allow-Credentials", &yes)
           != DH_OK)
    {
        return DH_ERROR;
    }

    if (r->method != DH_HTTP_OPTIONS
        && dh_http_cors_add(r, "Access-Control-Expose-Headers",
                            &conf->expose_headers) != DH_OK)
    {
        return DH_ERROR;
    }

    return dh_http_next_header_filter(r);
}


static dh_int_t
dh_http_cors_preflight_handler(dh_http_request_t *r)
{
    u_char                   *p;
    dh_int_t                  rc;
    dh_str_t                  age;
    dh_http_cors_loc_conf_t  *conf;

    if (r->method != DH_HTTP_OPTIONS
        || r->headers_in.access_control_request_method == NULL)
    {
        return DH_DECLINED;
    }

    conf = dh_http_get_module_loc_conf(r, dh_http_cors_module);

    if (!dh_http_cors_allowed(r, conf)) {
        return DH_DECLINED;
    }

    rc = dh_http_discard_request_body(r);
    if (rc != DH_OK) {
        return rc;
    }

    if (dh_http_cors_add(r, "Access-Control-Allow-Methods", &conf->methods)
        != DH_OK
        || dh_http_cors_add(r, "Access-Control-Allow-Headers", &conf->headers)
           != DH_OK)
    {
        return DH_ERROR;
    }

    if (conf->max_age >= 0) {
        p = dh_pnalloc(r->pool, DH_INT64_LEN);
        if (p == NULL) {
            return DH_ERROR;
        }

        age.data = p;
        age.len = dh_slprintf(p, p + DH_INT64_LEN, "%lld",
                              (long long) conf->max_age) - p;

        if (dh_http_cors_add(r, "Access-Control-Max-Age", &age) != DH_OK) {
            return DH_ERROR;
        }
    }

    r->headers_out.status = DH_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = -1;

    rc = dh_http_send_header(r);

    /* the header is the whole answer: end the request here */
    dh_http_finalize_request(r, rc == DH_ERROR ? DH_ERROR : DH_OK);

    return DH_DONE;
}


static dh_int_t
dh_http_cors_init(dh_conf_t *cf)
{
    dh_http_handler_pt        *h;
    dh_http_core_main_conf_t  *cmcf;

    cmcf = dh_http_conf_get_module_main_conf(cf, dh_http_core_module);

    h = dh_array_push(&cmcf->phases[DH_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return DH_ERROR;
    }

    *h = dh_http_cors_preflight_handler;

    dh_http_next_header_filter = dh_http_top_header_filter;
    dh_http_top_header_filter = dh_http_cors_header_filter;

    return DH_OK;
}


static void *
dh_http_cors_create_loc_conf(dh_conf_t *cf)
{
    dh_http_cors_loc_conf_t  *conf;

    conf = dh_pcalloc(cf->pool, sizeof(dh_http_cors_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->origins = DH_CONF_UNSET_PTR;
    conf->any = DH_CONF_UNSET;
    conf->credentials = DH_CONF_UNSET;
    conf->max_age = DH_CONF_UNSET;

    return conf;
}


static char *
dh_http_cors_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_cors_loc_conf_t  *prev = parent;
    dh_http_cors_loc_conf_t  *conf = child;

    dh_conf_merge_ptr_value(conf->origins, prev->origins, NULL);
    dh_conf_merge_value(conf->any, prev->any, 0);
    dh_conf_merge_str_value(conf->methods, prev->methods, "GET, HEAD, POST");
    dh_conf_merge_str_value(conf->headers, prev->headers, "");
    dh_conf_merge_str_value(conf->expose_headers, prev->expose_headers, "");
    dh_conf_merge_value(conf->credentials, prev->credentials, 0);
    dh_conf_merge_sec_value(conf->max_age, prev->max_age, -1);

    return DH_CONF_OK;
}


static char *
dh_http_cors_origin(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_cors_loc_conf_t *ccf = conf;

    dh_str_t   *value, *o;
    dh_uint_t   i;

    if (ccf->origins != DH_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ccf->origins = dh_array_create(cf->pool, cf->args->nelts - 1,
                                   sizeof(dh_str_t));
    if (ccf->origins == NULL) {
        return DH_CONF_ERROR;
    }

    ccf->any = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 1 && value[i].data[0] == '*') {
            ccf->any = 1;
            continue;
        }

        if (dh_strncasecmp(value[i].data, (u_char *) "http://", 7) != 0
            && dh_strncasecmp(value[i].data, (u_char *) "https://", 8) != 0)
        {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "invalid origin \"%.*s\": expected "
                              "\"*\" or scheme://host[:port]",
                              DH_STR_FMT(value[i]));
            return DH_CONF_ERROR;
        }

        o = dh_array_push(ccf->origins);
        if (o == NULL) {
            return DH_CONF_ERROR;
        }

        *o = value[i];

        /* an origin has no path: "https://a.example/" means the same */
        if (o->data[o->len - 1] == '/') {
            o->len--;
        }
    }

    return DH_CONF_OK;
}


/* Directive arguments as one ", "-separated header value. */
static char *
dh_http_cors_list(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    char  *p = conf;

    u_char     *d;
    size_t      len;
    dh_str_t   *field, *value;
    dh_uint_t   i;

    field = (dh_str_t *) (p + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    len = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        len += value[i].len + 2;
    }

    d = dh_pnalloc(cf->pool, len);
    if (d == NULL) {
        return DH_CONF_ERROR;
    }

    field->data = d;

    for (i = 1; i < cf->args->nelts; i++) {
        if (i > 1) {
            *d++ = ','; *d++ = ' ';
        }

        d = dh_cpymem(d, value[i].data, value[i].len);
    }

    field->len = d - field->data;

    return DH_CONF_OK;
}

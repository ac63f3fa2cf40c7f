/*
 * try_files FILE ... URI | =CODE, in the precontent phase.
 *
 * Each FILE (variables allowed, "$uri" above all) is looked up under the
 * location's root or alias; a name ending in "/" must be a directory, any
 * other a file that is not one.  The first that exists becomes r->uri and
 * the request goes on to the content handlers of the same location.  When
 * none exists, "=CODE" answers with that status and a URI is an internal
 * redirect: the request starts again from location matching with the new
 * URI (and arguments), at most DH_HTTP_MAX_URI_CHANGES times; "@name"
 * continues in that named location with the URI unchanged.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"




typedef struct {
    dh_array_t    *files;            /* of dh_http_complex_value_t */
    dh_http_complex_value_t  uri;    /* the fallback when code is 0 */
    dh_uint_t      code;
} dh_http_try_files_loc_conf_t;


static dh_int_t dh_http_try_files_init(dh_conf_t *cf);
static void *dh_http_try_files_create_loc_conf(dh_conf_t *cf);
static char *dh_http_try_files(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);


static dh_command_t  dh_http_try_files_commands[] = {

    { dh_string("try_files"),
      DH_HTTP_LOC_CONF|DH_CONF_2MORE,
      dh_http_try_files,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_try_files_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_try_files_init,                /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    dh_http_try_files_create_loc_conf,     /* create location configuration */
    NULL                                   /* merge location configuration */
};


dh_module_t  dh_http_try_files_module = {
    DH_MODULE_V1,
    &dh_http_try_files_module_ctx,         /* module context */
    dh_http_try_files_commands,            /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


/* 1: the name exists as the kind it asks for; 0: not; -1: error */
static dh_int_t
dh_http_try_files_exists(dh_http_request_t *r, dh_str_t *name)
{
    u_char       *last;
    dh_str_t      uri, path;
    dh_uint_t     dir;
    struct stat   st;

    if (name->len == 0 || name->data[0] != '/') {
        return 0;
    }

    uri = r->uri;
    r->uri = *name;
    last = dh_http_map_uri_to_path(r, &path, 0);
    r->uri = uri;

    if (last == NULL) {
        return -1;
    }

    dir = (name->data[name->len - 1] == '/');

    if (stat((char *) path.data, &st) == -1) {
        return 0;
    }

    return dir ? S_ISDIR(st.st_mode) != 0 : !S_ISDIR(st.st_mode);
}


static dh_int_t
dh_http_try_files_redirect(dh_http_request_t *r, dh_str_t *uri)
{
    u_char    *q;
    dh_str_t   args;

    q = memchr(uri->data, '?', uri->len);

    if (q == NULL) {
        return dh_http_internal_redirect(r, uri, NULL);
    }

    args.data = q + 1;
    args.len = uri->data + uri->len - (q + 1);
    uri->len = q - uri->data;

    return dh_http_internal_redirect(r, uri, &args);
}


static dh_int_t
dh_http_try_files_handler(dh_http_request_t *r)
{
    dh_int_t                       rc;
    dh_str_t                       name;
    dh_uint_t                      i;
    dh_http_complex_value_t       *cv;
    dh_http_try_files_loc_conf_t  *tlcf;

    tlcf = dh_http_get_module_loc_conf(r, dh_http_try_files_module);

    if (tlcf->files == NULL) {
        return DH_DECLINED;
    }

    cv = tlcf->files->elts;

    for (i = 0; i < tlcf->files->nelts; i++) {
        if (dh_http_complex_value(r, &cv[i], &name) != DH_OK) {
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }

        rc = dh_http_try_files_exists(r, &name);

        if (rc == -1) {
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == 1) {
            r->uri = name;
            dh_http_set_exten(r);
            return DH_DECLINED;
        }
    }

    if (tlcf->code) {
        return tlcf->code;
    }

    if (dh_http_complex_value(r, &tlcf->uri, &name) != DH_OK) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (name.len && name.data[0] == '@') {
        return dh_http_named_location(r, &name);
    }

    return dh_http_try_files_redirect(r, &name);
}


static dh_int_t
dh_http_try_files_init(dh_conf_t *cf)
{
    dh_http_handler_pt        *h;
    dh_http_core_main_conf_t  *cmcf;

    cmcf = dh_http_conf_get_module_main_conf(cf, dh_http_core_module);

    h = dh_array_push(&cmcf->phases[DH_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return DH_ERROR;
    }

    *h = dh_http_try_files_handler;

    return DH_OK;
}


static void *
dh_http_try_files_create_loc_conf(dh_conf_t *cf)
{
    /* files NULL: no try_files; not inherited, like nginx's */
    return dh_pcalloc(cf->pool, sizeof(dh_http_try_files_loc_conf_t));
}


static char *
dh_http_try_files_compile(dh_conf_t *cf, dh_str_t *value,
    dh_http_complex_value_t *cv)
{
    dh_http_compile_complex_value_t  ccv;

    dh_memzero(&ccv, sizeof(dh_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = value;
    ccv.complex_value = cv;

    if (dh_http_compile_complex_value(&ccv) != DH_OK) {
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


static char *
dh_http_try_files(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_try_files_loc_conf_t *tlcf = conf;

    dh_int_t                  code;
    dh_str_t                 *value, *last;
    dh_uint_t                 i, n;
    dh_http_complex_value_t  *cv;

    if (tlcf->files) {
        return "is duplicate";
    }

    value = cf->args->elts;
    n = cf->args->nelts - 1;
    last = &value[n];

    tlcf->files = dh_array_create(cf->pool, n - 1,
                                  sizeof(dh_http_complex_value_t));
    if (tlcf->files == NULL) {
        return DH_CONF_ERROR;
    }

    for (i = 1; i < n; i++) {
        cv = dh_array_push(tlcf->files);
        if (cv == NULL) {
            return DH_CONF_ERROR;
        }

        if (dh_http_try_files_compile(cf, &value[i], cv) != DH_CONF_OK) {
            return DH_CONF_ERROR;
        }
    }

    if (last->data[0] == '=') {
        code = dh_atoi(last->data + 1, last->len - 1);

        if (code < 100 || code > 999) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "invalid code \"%.*s\"", DH_STR_FMT(*last));
            return DH_CONF_ERROR;
        }

        tlcf->code = (dh_uint_t) code;
        return DH_CONF_OK;
    }

    if (last->len == 0
        || (last->data[0] != '/' && last->data[0] != '$'
            && (last->data[0] != '@' || last->len < 2)))
    {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "the last parameter of try_files must be a URI, "
                          "a named location or =CODE, not \"%.*s\"",
                          DH_STR_FMT(*last));
        return DH_CONF_ERROR;
    }

    return dh_http_try_files_compile(cf, last, &tlcf->uri);
}

/*
 * The HTTP core module: server {}, location {}, listen, server_name,
 * return, root, types, the timeouts and buffers, and the phase checkers
 * that drive a request from "headers read" to "response handed over".
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


typedef struct {
    dh_str_t     ext;                  /* lower-case */
    dh_str_t    *type;
} dh_http_type_t;


static dh_int_t dh_http_core_postconfiguration(dh_conf_t *cf);
static void *dh_http_core_create_main_conf(dh_conf_t *cf);
static void *dh_http_core_create_srv_conf(dh_conf_t *cf);
static char *dh_http_core_merge_srv_conf(dh_conf_t *cf, void *parent,
    void *child);
static void *dh_http_core_create_loc_conf(dh_conf_t *cf);
static char *dh_http_core_merge_loc_conf(dh_conf_t *cf, void *parent,
    void *child);
static dh_int_t dh_http_core_build_types(dh_conf_t *cf,
    dh_http_core_loc_conf_t *clcf);

static char *dh_http_core_server(dh_conf_t *cf, dh_command_t *cmd,
    void *dummy);
static char *dh_http_core_location(dh_conf_t *cf, dh_command_t *cmd,
    void *dummy);
static char *dh_http_core_listen(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static char *dh_http_core_server_name(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static char *dh_http_core_return(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static char *dh_http_core_root(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static char *dh_http_core_alias_compile(dh_conf_t *cf,
    dh_http_core_loc_conf_t *clcf);
static char *dh_http_core_alias(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static char *dh_http_core_types(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static char *dh_http_core_type(dh_conf_t *cf, dh_command_t *dummy,
    void *conf);
static char *dh_http_core_large_buffers(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);

static dh_int_t dh_http_core_return_handler(dh_http_request_t *r);


static dh_conf_enum_t  dh_http_core_satisfy[] = {
    { dh_string("all"), DH_HTTP_SATISFY_ALL },
    { dh_string("any"), DH_HTTP_SATISFY_ANY },
    { dh_null_string, 0 }
};


static dh_conf_enum_t  dh_http_core_lingering_close[] = {
    { dh_string("off"), DH_HTTP_LINGERING_OFF },
    { dh_string("on"), DH_HTTP_LINGERING_ON },
    { dh_string("always"), DH_HTTP_LINGERING_ALWAYS },
    { dh_null_string, 0 }
};


static dh_command_t  dh_http_core_commands[] = {

    { dh_string("server"),
      DH_HTTP_MAIN_CONF|DH_CONF_BLOCK|DH_CONF_NOARGS,
      dh_http_core_server,
      0,
      0,
      NULL },

    { dh_string("listen"),
      DH_HTTP_SRV_CONF|DH_CONF_1MORE,
      dh_http_core_listen,
      DH_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { dh_string("server_name"),
      DH_HTTP_SRV_CONF|DH_CONF_1MORE,
      dh_http_core_server_name,
      DH_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { dh_string("location"),
      DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_BLOCK|DH_CONF_TAKE12,
      dh_http_core_location,
      DH_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { dh_string("return"),
      DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE12,
      dh_http_core_return,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("root"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_http_core_root,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("alias"),
      DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_http_core_alias,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("types"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF
                                          |DH_CONF_BLOCK|DH_CONF_NOARGS,
      dh_http_core_types,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("default_type"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_str_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_core_loc_conf_t, default_type),
      NULL },

    { dh_string("client_header_timeout"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_CONF_TAKE1,
      dh_conf_set_msec_slot,
      DH_HTTP_SRV_CONF_OFFSET,
      offsetof(dh_http_core_srv_conf_t, client_header_timeout),
      NULL },

    { dh_string("client_header_buffer_size"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_CONF_TAKE1,
      dh_conf_set_size_slot,
      DH_HTTP_SRV_CONF_OFFSET,
      offsetof(dh_http_core_srv_conf_t, client_header_buffer_size),
      NULL },

    { dh_string("large_client_header_buffers"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_CONF_TAKE2,
      dh_http_core_large_buffers,
      DH_HTTP_SRV_CONF_OFFSET,
      offsetof(dh_http_core_srv_conf_t, large_client_header_buffers),
      NULL },

    { dh_string("keepalive_timeout"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_msec_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_core_loc_conf_t, keepalive_timeout),
      NULL },

    { dh_string("keepalive_requests"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_num_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_core_loc_conf_t, keepalive_requests),
      NULL },

    { dh_string("send_timeout"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_msec_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_core_loc_conf_t, send_timeout),
      NULL },

    { dh_string("keepalive_shutdown_grace"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_msec_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_core_loc_conf_t, keepalive_shutdown_grace),
      NULL },

    { dh_string("retry_after"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_sec_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_core_loc_conf_t, retry_after),
      NULL },

    { dh_string("satisfy"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_enum_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_core_loc_conf_t, satisfy),
      &dh_http_core_satisfy },

    { dh_string("server_tokens"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_core_loc_conf_t, server_tokens),
      NULL },

    { dh_string("sendfile"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_core_loc_conf_t, sendfile),
      NULL },

    { dh_string("sendfile_max_chunk"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_size_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_core_loc_conf_t, sendfile_max_chunk),
      NULL },

    { dh_string("lingering_close"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_enum_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_core_loc_conf_t, lingering_close),
      &dh_http_core_lingering_close },

    { dh_string("lingering_time"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_msec_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_core_loc_conf_t, lingering_time),
      NULL },

    { dh_string("lingering_timeout"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_msec_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_core_loc_conf_t, lingering_timeout),
      NULL },

    { dh_string("tcp_nodelay"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_core_loc_conf_t, tcp_nodelay),
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_core_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_core_postconfiguration,        /* postconfiguration */

    dh_http_core_create_main_conf,         /* create main configuration */
    NULL,                                  /* init main configuration */

    dh_http_core_create_srv_conf,          /* create server configuration */
    dh_http_core_merge_srv_conf,           /* merge server configuration */

    dh_http_core_create_loc_conf,          /* create location configuration */
    dh_http_core_merge_loc_conf            /* merge location configuration */
};


dh_module_t  dh_http_core_module = {
    DH_MODULE_V1,
    &dh_http_core_module_ctx,              /* module context */
    dh_http_core_commands,                 /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


/* used when no types {} is configured anywhere (nginx's choice) */
static struct {
    char  *type;
    char  *ext;
} dh_http_default_types[] = {
    { "text/html", "html" },
    { "image/gif", "gif" },
    { "image/jpeg", "jpg" },
    { NULL, NULL }
};


/* ---- helpers for handlers --------------------------------------------- */

void
dh_http_set_content_type(dh_http_request_t *r)
{
    u_char                    lc[DH_HTTP_LC_HEADER_LEN];
    dh_str_t                 *type;
    dh_uint_t                 hash, i;
    dh_http_core_loc_conf_t  *clcf;

    if (r->headers_out.content_type.len) {
        return;
    }

    clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);

    if (r->exten.len && r->exten.len <= sizeof(lc)) {
        hash = 0;

        for (i = 0; i < r->exten.len; i++) {
            lc[i] = dh_tolower(r->exten.data[i]);
            hash = dh_hash(hash, lc[i]);
        }

        type = dh_hash_find(&clcf->types_hash, hash, lc, r->exten.len);

        if (type) {
            r->headers_out.content_type = *type;
            return;
        }
    }

    r->headers_out.content_type = clcf->default_type;
}


void
dh_http_set_exten(dh_http_request_t *r)
{
    u_char  *p;

    dh_str_null(&r->exten);

    for (p = r->uri.data + r->uri.len; p > r->uri.data; p--) {
        if (p[-1] == '/') {
            return;
        }

        if (p[-1] == '.') {
            r->exten.data = p;
            r->exten.len = r->uri.data + r->uri.len - p;
            return;
        }
    }
}


/*
 * An alias with variables ($1 of a regex location, but also $arg_x and
 * the like, which are not normalised): a ".." segment in the result
 * could leave the tree the alias names, so it is refused (DH_DECLINED)
 * and the path left empty, which every caller takes as "not found".
 */
static dh_int_t
dh_http_core_alias_value(dh_http_request_t *r, dh_http_core_loc_conf_t *clcf,
    dh_str_t *base)
{
    u_char  *p, *last;

    if (dh_http_complex_value(r, clcf->alias_value, base) != DH_OK) {
        return DH_ERROR;
    }

    last = base->data + base->len;

    for (p = base->data; p + 1 < last; p++) {
        if (p[0] == '.' && p[1] == '.'
            && (p == base->data || p[-1] == '/')
            && (p + 2 == last || p[2] == '/'))
        {
            dh_log_error(DH_LOG_ERR, r->connection->log, 0,
                         "alias \"%.*s\" has a \"..\" segment",
                         DH_STR_FMT(*base));
            return DH_DECLINED;
        }
    }

    return DH_OK;
}


u_char *
dh_http_map_uri_to_path(dh_http_request_t *r, dh_str_t *path,
    size_t reserved)
{
    u_char                   *last;
    dh_str_t                  base, rest;
    dh_http_core_loc_conf_t  *clcf;

    clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);

    rest = r->uri;

    if (clcf->alias.data == NULL) {
        base = clcf->root;

    } else {
        base = clcf->alias;

        if (clcf->alias_value) {
            switch (dh_http_core_alias_value(r, clcf, &base)) {
            case DH_OK:
                break;
            case DH_DECLINED:
                base.len = 0;
                rest.len = 0;
                break;
            default:
                return NULL;
            }
        }

        if (clcf->regex) {
            rest.len = 0;

        } else {
            /* the location's name is a prefix of (or equal to) the URI */
            rest.data += dh_min(clcf->name.len, rest.len);
            rest.len -= dh_min(clcf->name.len, rest.len);
        }
    }

    path->data = dh_pnalloc(r->pool, base.len + rest.len + reserved + 1);
    if (path->data == NULL) {
        return NULL;
    }

    last = dh_cpymem(path->data, base.data, base.len);
    last = dh_cpymem(last, rest.data, rest.len);
    *last = '\0';

    path->len = last - path->data;

    return last;
}


dh_table_elt_t *
dh_http_add_header_out(dh_http_request_t *r, char *key, size_t key_len,
    u_char *value, size_t value_len)
{
    dh_table_elt_t  *h;

    h = dh_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
    h->key.len = key_len;
    h->key.data = (u_char *) key;
    h->value.len = value_len;
    h->value.data = value;
    h->lowcase_key = NULL;
    h->next = NULL;

    return h;
}


static dh_int_t
dh_http_core_return_handler(dh_http_request_t *r)
{
    dh_str_t                  text;
    dh_http_core_loc_conf_t  *clcf;

    clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);

    if (clcf->return_code == 0) {
        return DH_DECLINED;
    }

    if (clcf->return_code == DH_HTTP_CLOSE) {
        return DH_HTTP_CLOSE;
    }

    text = clcf->return_text;

    if (clcf->return_value
        && dh_http_complex_value(r, clcf->return_value, &text) != DH_OK)
    {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    dh_http_finalize_request(r, dh_http_send_response(r, clcf->return_code,
                                                      &text));
    return DH_DONE;
}


/* ---- configuration ---------------------------------------------------- */

static dh_int_t
dh_http_core_postconfiguration(dh_conf_t *cf)
{
    dh_http_handler_pt        *h;
    dh_http_core_main_conf_t  *cmcf;

    cmcf = dh_http_conf_get_module_main_conf(cf, dh_http_core_module);

    /* "return" in a server block answers before any location is chosen;
     * in a location, right after it was chosen */
    h = dh_array_push(&cmcf->phases[DH_HTTP_SERVER_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return DH_ERROR;
    }

    *h = dh_http_core_return_handler;

    h = dh_array_push(&cmcf->phases[DH_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return DH_ERROR;
    }

    *h = dh_http_core_return_handler;

    return DH_OK;
}


static void *
dh_http_core_create_main_conf(dh_conf_t *cf)
{
    dh_http_core_main_conf_t  *cmcf;

    cmcf = dh_pcalloc(cf->pool, sizeof(dh_http_core_main_conf_t));
    if (cmcf == NULL) {
        return NULL;
    }

    if (dh_array_init(&cmcf->servers, cf->pool, 4, sizeof(void *)) != DH_OK)
    {
        return NULL;
    }

    return cmcf;
}


static void *
dh_http_core_create_srv_conf(dh_conf_t *cf)
{
    dh_http_core_srv_conf_t  *cscf;

    cscf = dh_pcalloc(cf->pool, sizeof(dh_http_core_srv_conf_t));
    if (cscf == NULL) {
        return NULL;
    }

    if (dh_array_init(&cscf->server_names, cf->pool, 2, sizeof(dh_str_t))
        != DH_OK)
    {
        return NULL;
    }

    cscf->connection_pool_size = DH_CONF_UNSET_SIZE;
    cscf->request_pool_size = DH_CONF_UNSET_SIZE;
    cscf->client_header_buffer_size = DH_CONF_UNSET_SIZE;
    cscf->client_header_timeout = DH_CONF_UNSET_MSEC;

    if (cf->conf_file) {
        cscf->file_name = cf->conf_file->file.name.data;
        cscf->line = cf->conf_file->line;
    }

    return cscf;
}


static char *
dh_http_core_merge_srv_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_core_srv_conf_t  *prev = parent;
    dh_http_core_srv_conf_t  *conf = child;

    dh_str_t  *name;

    dh_conf_merge_size_value(conf->connection_pool_size,
                             prev->connection_pool_size, 64 * sizeof(void *));
    dh_conf_merge_size_value(conf->request_pool_size,
                             prev->request_pool_size, 4096);
    dh_conf_merge_size_value(conf->client_header_buffer_size,
                             prev->client_header_buffer_size, 1024);
    dh_conf_merge_msec_value(conf->client_header_timeout,
                             prev->client_header_timeout, 60000);

    if (conf->large_client_header_buffers.num == 0) {
        if (prev->large_client_header_buffers.num) {
            conf->large_client_header_buffers =
                                          prev->large_client_header_buffers;
        } else {
            conf->large_client_header_buffers.num = 4;
            conf->large_client_header_buffers.size = 8192;
        }
    }

    if (conf->client_header_buffer_size < 16) {
        return "client_header_buffer_size is too small (at least 16)";
    }

    if (conf->large_client_header_buffers.size
        < conf->client_header_buffer_size)
    {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "large_client_header_buffers size must not be "
                          "smaller than client_header_buffer_size");
        return DH_CONF_ERROR;
    }

    if (conf->server_names.nelts == 0) {
        name = dh_array_push(&conf->server_names);
        if (name == NULL) {
            return DH_CONF_ERROR;
        }

        dh_str_null(name);
        name->data = (u_char *) "";
    }

    name = conf->server_names.elts;
    conf->server_name = name[0];

    return DH_CONF_OK;
}


static void *
dh_http_core_create_loc_conf(dh_conf_t *cf)
{
    dh_http_core_loc_conf_t  *clcf;

    clcf = dh_pcalloc(cf->pool, sizeof(dh_http_core_loc_conf_t));
    if (clcf == NULL) {
        return NULL;
    }

    clcf->keepalive_timeout = DH_CONF_UNSET_MSEC;
    clcf->keepalive_requests = DH_CONF_UNSET_UINT;
    clcf->send_timeout = DH_CONF_UNSET_MSEC;
    clcf->keepalive_shutdown_grace = DH_CONF_UNSET_MSEC;
    clcf->retry_after = DH_CONF_UNSET;
    clcf->server_tokens = DH_CONF_UNSET;
    clcf->satisfy = DH_CONF_UNSET_UINT;
    clcf->sendfile = DH_CONF_UNSET;
    clcf->sendfile_max_chunk = DH_CONF_UNSET_SIZE;
    clcf->lingering_close = DH_CONF_UNSET_UINT;
    clcf->lingering_time = DH_CONF_UNSET_MSEC;
    clcf->lingering_timeout = DH_CONF_UNSET_MSEC;
    clcf->tcp_nodelay = DH_CONF_UNSET;

    if (cf->conf_file) {
        clcf->file_name = cf->conf_file->file.name.data;
        clcf->line = cf->conf_file->line;
    }

    return clcf;
}


static char *
dh_http_core_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_core_loc_conf_t  *prev = parent;
    dh_http_core_loc_conf_t  *conf = child;

    dh_uint_t        i;
    dh_str_t        *type;
    dh_http_type_t  *t;

    if (conf->root.data == NULL) {
        if (prev->root.data == NULL) {
            dh_str_set(&prev->root, "html");

            if (dh_conf_full_name(cf->cycle, &prev->root, 0) != DH_OK) {
                return DH_CONF_ERROR;
            }
        }

        conf->root = prev->root;
    }

    /* the http-level conf is only ever a parent: its types are settled
     * here, once, and shared by everything that inherits them */
    if (prev->types == NULL) {
        prev->types = dh_array_create(cf->pool, 4, sizeof(dh_http_type_t));
        if (prev->types == NULL) {
            return DH_CONF_ERROR;
        }

        for (i = 0; dh_http_default_types[i].type; i++) {
            t = dh_array_push(prev->types);
            type = dh_palloc(cf->pool, sizeof(dh_str_t));

            if (t == NULL || type == NULL) {
                return DH_CONF_ERROR;
            }

            type->len = dh_strlen(dh_http_default_types[i].type);
            type->data = (u_char *) dh_http_default_types[i].type;
            t->ext.len = dh_strlen(dh_http_default_types[i].ext);
            t->ext.data = (u_char *) dh_http_default_types[i].ext;
            t->type = type;
        }
    }

    if (prev->types_hash.buckets == NULL) {
        if (dh_http_core_build_types(cf, prev) != DH_OK) {
            return DH_CONF_ERROR;
        }
    }

    if (conf->types == NULL) {
        conf->types = prev->types;
        conf->types_hash = prev->types_hash;

    } else if (conf->types_hash.buckets == NULL) {
        if (dh_http_core_build_types(cf, conf) != DH_OK) {
            return DH_CONF_ERROR;
        }
    }

    dh_conf_merge_str_value(conf->default_type, prev->default_type,
                            "text/plain");

    dh_conf_merge_msec_value(conf->keepalive_timeout,
                             prev->keepalive_timeout, 75000);
    dh_conf_merge_uint_value(conf->keepalive_requests,
                             prev->keepalive_requests, 1000);
    dh_conf_merge_msec_value(conf->send_timeout, prev->send_timeout, 60000);
    dh_conf_merge_msec_value(conf->keepalive_shutdown_grace,
                             prev->keepalive_shutdown_grace, 1000);
    dh_conf_merge_sec_value(conf->retry_after, prev->retry_after, 5);
    dh_conf_merge_value(conf->server_tokens, prev->server_tokens, 1);
    dh_conf_merge_uint_value(conf->satisfy, prev->satisfy,
                             DH_HTTP_SATISFY_ALL);
    dh_conf_merge_value(conf->sendfile, prev->sendfile, 1);
    /* one connection sends at most this much per event-loop round */
    dh_conf_merge_size_value(conf->sendfile_max_chunk,
                             prev->sendfile_max_chunk, 2 * 1024 * 1024);
    dh_conf_merge_uint_value(conf->lingering_close, prev->lingering_close,
                             DH_HTTP_LINGERING_ON);
    dh_conf_merge_msec_value(conf->lingering_time, prev->lingering_time,
                             30000);
    dh_conf_merge_msec_value(conf->lingering_timeout,
                             prev->lingering_timeout, 5000);
    dh_conf_merge_value(conf->tcp_nodelay, prev->tcp_nodelay, 1);

    return DH_CONF_OK;
}


static dh_int_t
dh_http_core_build_types(dh_conf_t *cf, dh_http_core_loc_conf_t *clcf)
{
    dh_uint_t        i;
    dh_http_type_t  *t;
    dh_hash_init_t   hk;

    if (dh_hash_keys_init(&hk, cf->pool, clcf->types->nelts, 1) != DH_OK) {
        return DH_ERROR;
    }

    t = clcf->types->elts;

    for (i = 0; i < clcf->types->nelts; i++) {
        /* the type handler already dropped duplicates */
        if (dh_hash_add_key(&hk, &t[i].ext, t[i].type) == DH_ERROR) {
            return DH_ERROR;
        }
    }

    return dh_hash_build(&clcf->types_hash, &hk);
}


static char *
dh_http_core_server(dh_conf_t *cf, dh_command_t *cmd, void *dummy)
{
    char                        *rv;
    dh_uint_t                    m;
    dh_conf_t                    pcf;
    dh_module_t                **modules;
    dh_http_module_t            *module;
    dh_http_conf_ctx_t          *ctx, *http_ctx;
    dh_http_listen_opt_t         lsopt;
    dh_http_core_srv_conf_t     *cscf, **cscfp;
    dh_http_core_loc_conf_t     *clcf;
    dh_http_core_main_conf_t    *cmcf;
    struct sockaddr_in          *sin;

    ctx = dh_pcalloc(cf->pool, sizeof(dh_http_conf_ctx_t));
    if (ctx == NULL) {
        return DH_CONF_ERROR;
    }

    http_ctx = cf->ctx;
    ctx->main_conf = http_ctx->main_conf;

    ctx->srv_conf = dh_pcalloc(cf->pool, sizeof(void *) * dh_http_max_module);
    ctx->loc_conf = dh_pcalloc(cf->pool, sizeof(void *) * dh_http_max_module);

    if (ctx->srv_conf == NULL || ctx->loc_conf == NULL) {
        return DH_CONF_ERROR;
    }

    modules = cf->cycle->modules;

    for (m = 0; modules[m]; m++) {
        if (modules[m]->type != DH_HTTP_MODULE) {
            continue;
        }

        module = modules[m]->ctx;

        if (module->create_srv_conf) {
            ctx->srv_conf[modules[m]->ctx_index] = module->create_srv_conf(cf);
            if (ctx->srv_conf[modules[m]->ctx_index] == NULL) {
                return DH_CONF_ERROR;
            }
        }

        if (module->create_loc_conf) {
            ctx->loc_conf[modules[m]->ctx_index] = module->create_loc_conf(cf);
            if (ctx->loc_conf[modules[m]->ctx_index] == NULL) {
                return DH_CONF_ERROR;
            }
        }
    }

    cscf = ctx->srv_conf[dh_http_core_module.ctx_index];
    cscf->ctx = ctx;

    clcf = ctx->loc_conf[dh_http_core_module.ctx_index];
    clcf->loc_conf = ctx->loc_conf;

    cmcf = ctx->main_conf[dh_http_core_module.ctx_index];

    cscfp = dh_array_push(&cmcf->servers);
    if (cscfp == NULL) {
        return DH_CONF_ERROR;
    }

    *cscfp = cscf;

    pcf = *cf;
    cf->ctx = ctx;
    cf->cmd_type = DH_HTTP_SRV_CONF;

    rv = dh_conf_parse(cf, NULL);

    *cf = pcf;

    if (rv != DH_CONF_OK || cscf->listen) {
        return rv;
    }

    /* no listen: *:80 as root, *:8000 otherwise (nginx's defaults) */
    dh_memzero(&lsopt, sizeof(dh_http_listen_opt_t));

    sin = &lsopt.sockaddr.sockaddr_in;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((getuid() == 0) ? 80 : 8000);
    sin->sin_addr.s_addr = INADDR_ANY;

    lsopt.socklen = sizeof(struct sockaddr_in);
    lsopt.wildcard = 1;

    if (getuid() == 0) {
        dh_str_set(&lsopt.addr_text, "*:80");
    } else {
        dh_str_set(&lsopt.addr_text, "*:8000");
    }

    cf->ctx = ctx;

    if (dh_http_add_listen(cf, cscf, &lsopt) != DH_OK) {
        *cf = pcf;
        return DH_CONF_ERROR;
    }

    *cf = pcf;

    return DH_CONF_OK;
}


static dh_int_t
dh_http_core_regex_location(dh_conf_t *cf, dh_http_core_loc_conf_t *clcf,
    dh_str_t *name, dh_uint_t caseless)
{
#if (DH_HAVE_PCRE2)
    dh_regex_compile_t  rc;

    dh_memzero(&rc, sizeof(dh_regex_compile_t));

    rc.pattern = *name;
    rc.options = caseless ? DH_REGEX_CASELESS : 0;

    clcf->regex_match = dh_http_regex_compile(cf, &rc);
    if (clcf->regex_match == NULL) {
        return DH_ERROR;
    }

    clcf->regex = 1;

    return DH_OK;

#else
    dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                      "using regex \"%.*s\" requires PCRE2, but divehttpd "
                      "was built --without-pcre2", DH_STR_FMT(*name));
    return DH_ERROR;
#endif
}


static char *
dh_http_core_location(dh_conf_t *cf, dh_command_t *cmd, void *dummy)
{
    char                       *rv;
    dh_uint_t                   m, i;
    dh_str_t                   *value, *name, *mod;
    dh_conf_t                   pcf;
    dh_module_t               **modules;
    dh_http_module_t           *module;
    dh_http_conf_ctx_t         *ctx, *pctx;
    dh_http_core_loc_conf_t    *clcf, *pclcf, **clcfp;

    ctx = dh_pcalloc(cf->pool, sizeof(dh_http_conf_ctx_t));
    if (ctx == NULL) {
        return DH_CONF_ERROR;
    }

    pctx = cf->ctx;
    ctx->main_conf = pctx->main_conf;
    ctx->srv_conf = pctx->srv_conf;

    ctx->loc_conf = dh_pcalloc(cf->pool, sizeof(void *) * dh_http_max_module);
    if (ctx->loc_conf == NULL) {
        return DH_CONF_ERROR;
    }

    modules = cf->cycle->modules;

    for (m = 0; modules[m]; m++) {
        if (modules[m]->type != DH_HTTP_MODULE) {
            continue;
        }

        module = modules[m]->ctx;

        if (module->create_loc_conf) {
            ctx->loc_conf[modules[m]->ctx_index] = module->create_loc_conf(cf);
            if (ctx->loc_conf[modules[m]->ctx_index] == NULL) {
                return DH_CONF_ERROR;
            }
        }
    }

    clcf = ctx->loc_conf[dh_http_core_module.ctx_index];
    clcf->loc_conf = ctx->loc_conf;

    value = cf->args->elts;

    if (cf->args->nelts == 3) {
        mod = &value[1];
        name = &value[2];

        if (mod->len == 1 && mod->data[0] == '=') {
            clcf->exact_match = 1;

        } else if (mod->len == 2 && mod->data[0] == '^'
                   && mod->data[1] == '~')
        {
            clcf->noregex = 1;

        } else if ((mod->len == 1 && mod->data[0] == '~')
                   || (mod->len == 2 && mod->data[0] == '~'
                       && mod->data[1] == '*'))
        {
            if (dh_http_core_regex_location(cf, clcf, name, mod->len == 2)
                != DH_OK)
            {
                return DH_CONF_ERROR;
            }

        } else {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "invalid location modifier \"%.*s\"",
                              DH_STR_FMT(*mod));
            return DH_CONF_ERROR;
        }

    } else {
        name = &value[1];
    }

    pclcf = pctx->loc_conf[dh_http_core_module.ctx_index];

    if (pclcf->named) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "location \"%.*s\" cannot be inside "
                          "the named location \"%.*s\"",
                          DH_STR_FMT(*name), DH_STR_FMT(pclcf->name));
        return DH_CONF_ERROR;
    }

    if (name->len > 1 && name->data[0] == '@' && cf->args->nelts == 2) {
        if (pclcf->name.len) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "named location \"%.*s\" can be on the "
                              "server level only", DH_STR_FMT(*name));
            return DH_CONF_ERROR;
        }

        clcf->named = 1;

    } else if (name->len == 0 || name->data[0] == '@'
               || (name->data[0] == '~' && !clcf->regex))
    {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "unsupported location \"%.*s\"",
                          DH_STR_FMT(*name));
        return DH_CONF_ERROR;
    }

    clcf->name = *name;

    /* a regex cannot be checked against a prefix at configuration time */
    if (pclcf->name.len && !pclcf->regex && !clcf->regex) {
        if (pclcf->exact_match) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "location \"%.*s\" cannot be inside "
                              "the exact location \"%.*s\"",
                              DH_STR_FMT(clcf->name),
                              DH_STR_FMT(pclcf->name));
            return DH_CONF_ERROR;
        }

        if (clcf->name.len < pclcf->name.len
            || dh_memcmp(clcf->name.data, pclcf->name.data,
                         pclcf->name.len) != 0)
        {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "location \"%.*s\" is outside location "
                              "\"%.*s\"", DH_STR_FMT(clcf->name),
                              DH_STR_FMT(pclcf->name));
            return DH_CONF_ERROR;
        }
    }

    if (pclcf->locations == NULL) {
        pclcf->locations = dh_array_create(cf->pool, 4, sizeof(void *));
        if (pclcf->locations == NULL) {
            return DH_CONF_ERROR;
        }
    }

    clcfp = pclcf->locations->elts;

    for (i = 0; i < pclcf->locations->nelts; i++) {
        if (clcfp[i]->exact_match == clcf->exact_match
            && clcfp[i]->regex == clcf->regex
            && dh_str_eq(&clcfp[i]->name, &clcf->name))
        {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "duplicate location \"%.*s\"",
                              DH_STR_FMT(clcf->name));
            return DH_CONF_ERROR;
        }
    }

    clcfp = dh_array_push(pclcf->locations);
    if (clcfp == NULL) {
        return DH_CONF_ERROR;
    }

    *clcfp = clcf;

    pcf = *cf;
    cf->ctx = ctx;
    cf->cmd_type = DH_HTTP_LOC_CONF;

    rv = dh_conf_parse(cf, NULL);

    *cf = pcf;

    return rv;
}


static dh_uint_t
dh_http_is_wildcard(struct sockaddr *sa)
{
    struct sockaddr_in6  *sin6;

    switch (sa->sa_family) {
    case AF_INET:
        return ((struct sockaddr_in *) sa)->sin_addr.s_addr == INADDR_ANY;
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) sa;
        return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
    default:
        return 0;
    }
}


static char *
dh_http_core_listen(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_core_srv_conf_t *cscf = conf;

    dh_int_t               n;
    dh_str_t              *value, s;
    dh_uint_t              i;
    dh_url_t               u;
    dh_http_listen_opt_t   lsopt;

    value = cf->args->elts;

    dh_memzero(&u, sizeof(dh_url_t));
    u.url = value[1];
    u.listen = 1;
    u.default_port = 80;

    if (dh_parse_url(cf->pool, &u) != DH_OK) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "%s in \"%.*s\" of the \"listen\" directive",
                          u.err ? u.err : "invalid address",
                          DH_STR_FMT(value[1]));
        return DH_CONF_ERROR;
    }

    dh_memzero(&lsopt, sizeof(dh_http_listen_opt_t));

    for (i = 2; i < cf->args->nelts; i++) {

        if (dh_str_caseeq(&value[i], "default_server")
            || dh_str_caseeq(&value[i], "default"))
        {
            lsopt.default_server = 1;
            continue;
        }

        if (dh_str_caseeq(&value[i], "reuseport")) {
#if (DH_HAVE_REUSEPORT)
            lsopt.reuseport = 1;
            lsopt.set = 1;
#else
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "reuseport is not supported on this "
                              "platform, ignored");
#endif
            continue;
        }

        if (dh_str_caseeq(&value[i], "ssl")) {
            if (dh_http_ssl_hooks.start == NULL) {
                dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                                  "the \"ssl\" parameter requires "
                                  "dh_http_ssl_module (OpenSSL)");
                return DH_CONF_ERROR;
            }

            lsopt.ssl = 1;

            if (cscf->ssl_listen_file == NULL) {
                cscf->ssl_listen_file = cf->conf_file->file.name.data;
                cscf->ssl_listen_line = cf->conf_file->line;
            }

            continue;
        }

        if (value[i].len > 8 && dh_memcmp(value[i].data, "backlog=", 8) == 0)
        {
            n = dh_atoi(value[i].data + 8, value[i].len - 8);

            if (n == DH_ERROR || n == 0 || n > INT_MAX) {
                dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                                  "invalid backlog \"%.*s\"",
                                  DH_STR_FMT(value[i]));
                return DH_CONF_ERROR;
            }

            lsopt.backlog = (int) n;
            lsopt.set = 1;
            continue;
        }

        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "invalid parameter \"%.*s\"", DH_STR_FMT(value[i]));
        return DH_CONF_ERROR;
    }

    cscf->listen = 1;

    if (u.naddrs == 0) {
        lsopt.sockaddr = u.sockaddr;
        lsopt.socklen = u.socklen;
        lsopt.addr_text = u.url;
        lsopt.wildcard = dh_http_is_wildcard(&u.sockaddr.sockaddr);

        if (dh_http_add_listen(cf, cscf, &lsopt) != DH_OK) {
            return DH_CONF_ERROR;
        }

        return DH_CONF_OK;
    }

    for (i = 0; i < u.naddrs; i++) {
        lsopt.sockaddr = u.addrs[i].sockaddr;
        lsopt.socklen = u.addrs[i].socklen;
        s = u.addrs[i].name.len ? u.addrs[i].name : u.url;
        lsopt.addr_text = s;
        lsopt.wildcard = dh_http_is_wildcard(&lsopt.sockaddr.sockaddr);

        if (dh_http_add_listen(cf, cscf, &lsopt) != DH_OK) {
            return DH_CONF_ERROR;
        }
    }

    return DH_CONF_OK;
}


/* '*' only as "*." at the start or ".*" at the end, once. */
static dh_uint_t
dh_http_core_valid_server_name(dh_str_t *name)
{
    u_char    *star;
    dh_uint_t  len;

    len = name->len;
    star = memchr(name->data, '*', len);

    if (star == NULL) {
        return len == 0 || name->data[0] != '.' || len > 1;
    }

    if (memchr(star + 1, '*', name->data + len - star - 1)) {
        return 0;
    }

    if (star == name->data) {
        return len > 2 && name->data[1] == '.';
    }

    return star == name->data + len - 1 && len > 2 && star[-1] == '.';
}


static dh_int_t
dh_http_core_server_regex(dh_conf_t *cf, dh_http_core_srv_conf_t *cscf,
    dh_str_t *value)
{
#if (DH_HAVE_PCRE2)
    dh_http_regex_t     **rep;
    dh_regex_compile_t    rc;

    dh_memzero(&rc, sizeof(dh_regex_compile_t));

    rc.pattern.data = value->data + 1;
    rc.pattern.len = value->len - 1;
    /* host names are compared lower-case */
    rc.options = DH_REGEX_CASELESS;

    if (cscf->name_regexes == NULL) {
        cscf->name_regexes = dh_array_create(cf->pool, 2, sizeof(void *));
        if (cscf->name_regexes == NULL) {
            return DH_ERROR;
        }
    }

    rep = dh_array_push(cscf->name_regexes);
    if (rep == NULL) {
        return DH_ERROR;
    }

    *rep = dh_http_regex_compile(cf, &rc);
    if (*rep == NULL) {
        return DH_ERROR;
    }

    return DH_OK;

#else
    dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                      "using regex \"%.*s\" requires PCRE2, but divehttpd "
                      "was built --without-pcre2", DH_STR_FMT(*value));
    return DH_ERROR;
#endif
}


static char *
dh_http_core_server_name(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_core_srv_conf_t *cscf = conf;

    u_char     ch;
    dh_str_t  *value, *name;
    dh_uint_t  i;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        ch = value[i].len ? value[i].data[0] : '\0';

        if (ch == '~') {
            if (dh_http_core_server_regex(cf, cscf, &value[i]) != DH_OK) {
                return DH_CONF_ERROR;
            }

        } else if (!dh_http_core_valid_server_name(&value[i])) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "invalid server name or wildcard \"%.*s\"",
                              DH_STR_FMT(value[i]));
            return DH_CONF_ERROR;
        }

        name = dh_array_push(&cscf->server_names);
        if (name == NULL) {
            return DH_CONF_ERROR;
        }

        name->len = value[i].len;
        name->data = dh_pnalloc(cf->pool, value[i].len + 1);
        if (name->data == NULL) {
            return DH_CONF_ERROR;
        }

        dh_strlow(name->data, value[i].data, value[i].len);
        name->data[name->len] = '\0';

        /* "example.com." and "example.com" are one name */
        if (name->len > 1 && name->data[name->len - 1] == '.') {
            name->len--;
        }
    }

    return DH_CONF_OK;
}


static dh_uint_t
dh_http_is_redirect(dh_uint_t code)
{
    return code == DH_HTTP_MOVED_PERMANENTLY
           || code == DH_HTTP_MOVED_TEMPORARILY
           || code == DH_HTTP_SEE_OTHER
           || code == DH_HTTP_TEMPORARY_REDIRECT
           || code == DH_HTTP_PERMANENT_REDIRECT;
}


/* The text or URL of return may hold variables. */
static char *
dh_http_core_return_value(dh_conf_t *cf, dh_http_core_loc_conf_t *clcf)
{
    dh_http_compile_complex_value_t  ccv;

    clcf->return_value = dh_palloc(cf->pool,
                                   sizeof(dh_http_complex_value_t));
    if (clcf->return_value == NULL) {
        return DH_CONF_ERROR;
    }

    ccv.cf = cf;
    ccv.value = &clcf->return_text;
    ccv.complex_value = clcf->return_value;

    if (dh_http_compile_complex_value(&ccv) != DH_OK) {
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


static char *
dh_http_core_return(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_core_loc_conf_t *clcf = conf;

    dh_int_t   code;
    dh_str_t  *value;

    if (clcf->return_code) {
        return "is duplicate";
    }

    value = cf->args->elts;

    code = dh_atoi(value[1].data, value[1].len);

    if (code == DH_ERROR) {
        if (cf->args->nelts == 2
            && ((value[1].len > 7
                 && dh_strncmp(value[1].data, "http://", 7) == 0)
                || (value[1].len > 8
                    && dh_strncmp(value[1].data, "https://", 8) == 0)))
        {
            clcf->return_code = DH_HTTP_MOVED_TEMPORARILY;
            clcf->return_text = value[1];
            return dh_http_core_return_value(cf, clcf);
        }

        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "invalid return code \"%.*s\"",
                          DH_STR_FMT(value[1]));
        return DH_CONF_ERROR;
    }

    if (code < 200 || code > 599) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "invalid return code \"%.*s\"",
                          DH_STR_FMT(value[1]));
        return DH_CONF_ERROR;
    }

    clcf->return_code = (dh_uint_t) code;

    if (cf->args->nelts == 3) {
        if (code == DH_HTTP_CLOSE) {
            return "cannot have a text with code 444";
        }

        clcf->return_text = value[2];
        return dh_http_core_return_value(cf, clcf);

    } else if (dh_http_is_redirect(code)) {
        dh_str_null(&clcf->return_text);
    }

    return DH_CONF_OK;
}


static char *
dh_http_core_root(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_core_loc_conf_t *clcf = conf;

    dh_str_t  *value;

    if (clcf->root.data) {
        return "is duplicate";
    }

    if (clcf->alias.data) {
        return "is duplicate, \"alias\" directive was specified earlier";
    }

    value = cf->args->elts;
    clcf->root = value[1];

    if (clcf->root.len == 0) {
        return "has an empty path";
    }

    if (dh_conf_full_name(cf->cycle, &clcf->root, 0) != DH_OK) {
        return DH_CONF_ERROR;
    }

    /* the URI brings its own leading '/' */
    while (clcf->root.len && clcf->root.data[clcf->root.len - 1] == '/') {
        clcf->root.len--;
    }

    return DH_CONF_OK;
}


static char *
dh_http_core_alias(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_core_loc_conf_t *clcf = conf;

    dh_str_t  *value;

    if (clcf->alias.data) {
        return "is duplicate";
    }

    if (clcf->root.data) {
        return "is duplicate, \"root\" directive was specified earlier";
    }

    value = cf->args->elts;
    clcf->alias = value[1];

    if (clcf->alias.len == 0) {
        return "has an empty path";
    }

    /* a leading variable must give an absolute path by itself */
    if (clcf->alias.data[0] != '$'
        && dh_conf_full_name(cf->cycle, &clcf->alias, 0) != DH_OK)
    {
        return DH_CONF_ERROR;
    }

    if (memchr(clcf->alias.data, '$', clcf->alias.len) == NULL) {
        return DH_CONF_OK;
    }

    return dh_http_core_alias_compile(cf, clcf);
}


/* "alias /data/images/$1;": compiled once, evaluated per request */
static char *
dh_http_core_alias_compile(dh_conf_t *cf, dh_http_core_loc_conf_t *clcf)
{
    dh_http_compile_complex_value_t  ccv;

    clcf->alias_value = dh_palloc(cf->pool, sizeof(dh_http_complex_value_t));
    if (clcf->alias_value == NULL) {
        return DH_CONF_ERROR;
    }

    dh_memzero(&ccv, sizeof(dh_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &clcf->alias;
    ccv.complex_value = clcf->alias_value;

    if (dh_http_compile_complex_value(&ccv) != DH_OK) {
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


static char *
dh_http_core_types(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_core_loc_conf_t *clcf = conf;

    char       *rv;
    dh_conf_t   save;

    if (clcf->types == NULL) {
        clcf->types = dh_array_create(cf->pool, 64, sizeof(dh_http_type_t));
        if (clcf->types == NULL) {
            return DH_CONF_ERROR;
        }
    }

    save = *cf;
    cf->handler = dh_http_core_type;
    cf->handler_conf = conf;

    rv = dh_conf_parse(cf, NULL);

    *cf = save;

    return rv;
}


/* one line of types {}: "MIME ext ext ...;" */
static char *
dh_http_core_type(dh_conf_t *cf, dh_command_t *dummy, void *conf)
{
    dh_http_core_loc_conf_t *clcf = conf;

    dh_str_t        *value, *type;
    dh_uint_t        i, n;
    dh_http_type_t  *t;

    value = cf->args->elts;

    if (cf->args->nelts < 2) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "invalid number of arguments for type \"%.*s\"",
                          DH_STR_FMT(value[0]));
        return DH_CONF_ERROR;
    }

    type = dh_palloc(cf->pool, sizeof(dh_str_t));
    if (type == NULL) {
        return DH_CONF_ERROR;
    }

    *type = value[0];

    for (i = 1; i < cf->args->nelts; i++) {
        t = clcf->types->elts;

        for (n = 0; n < clcf->types->nelts; n++) {
            if (t[n].ext.len == value[i].len
                && dh_strncasecmp(t[n].ext.data, value[i].data,
                                  value[i].len) == 0)
            {
                dh_conf_log_error(DH_LOG_WARN, cf, 0,
                                  "duplicate extension \"%.*s\", content "
                                  "type: \"%.*s\", previous content type: "
                                  "\"%.*s\"", DH_STR_FMT(value[i]),
                                  DH_STR_FMT(*type),
                                  DH_STR_FMT(*t[n].type));
                t[n].type = type;
                break;
            }
        }

        if (n < clcf->types->nelts) {
            continue;
        }

        t = dh_array_push(clcf->types);
        if (t == NULL) {
            return DH_CONF_ERROR;
        }

        t->ext.len = value[i].len;
        t->ext.data = dh_pnalloc(cf->pool, value[i].len);
        if (t->ext.data == NULL) {
            return DH_CONF_ERROR;
        }

        dh_strlow(t->ext.data, value[i].data, value[i].len);
        t->type = type;
    }

    return DH_CONF_OK;
}


static char *
dh_http_core_large_buffers(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_core_srv_conf_t *cscf = conf;

    ssize_t    size;
    dh_int_t   num;
    dh_str_t  *value;

    if (cscf->large_client_header_buffers.num) {
        return "is duplicate";
    }

    value = cf->args->elts;

    num = dh_atoi(value[1].data, value[1].len);
    size = dh_parse_size(&value[2]);

    if (num == DH_ERROR || num == 0 || num > 64) {
        return "has an invalid number of buffers (1..64)";
    }

    if (size == DH_ERROR || size < 16) {
        return "has an invalid buffer size";
    }

    cscf->large_client_header_buffers.num = num;
    cscf->large_client_header_buffers.size = (size_t) size;

    return DH_CONF_OK;
}

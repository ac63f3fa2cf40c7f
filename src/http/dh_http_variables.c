/*
 * HTTP variables: declaration, configuration-time indexes, the built-in
 * variables and complex values.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"

#include <sys/random.h>


/* One indexed variable and where the configuration first named it, so an
 * unknown name is reported at the line that used it. */
typedef struct {
    u_char                    *file;
    dh_uint_t                  line;
} dh_http_variable_use_t;

typedef struct {
    dh_array_t                 declared;    /* of dh_http_variable_t * */
    dh_array_t                 indexed;     /* of dh_http_variable_t */
    dh_array_t                 uses;        /* of dh_http_variable_use_t */
} dh_http_variables_conf_t;

/* A compiled complex value: literal parts and variable indexes. */
typedef struct {
    dh_str_t                   text;        /* literal when index < 0 */
    dh_int_t                   index;
} dh_http_cv_part_t;


static dh_int_t dh_http_var_str(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_remote_addr(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_binary_remote_addr(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_port(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_server_addr(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_server_name(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_host(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_scheme(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_https(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_arg(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_trailer(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_http(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_sent_http(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_cookie(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_remote_user(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_content_type(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_content_length(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_number(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_request_time(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_msec(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_time(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_hostname(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_request_id(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_document_root(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_var_capture(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);


/* what dh_http_var_number() reports */
enum {
    DH_HTTP_VN_STATUS = 0,
    DH_HTTP_VN_BODY_BYTES_SENT,
    DH_HTTP_VN_BYTES_SENT,
    DH_HTTP_VN_REQUEST_LENGTH,
    DH_HTTP_VN_CONNECTION,
    DH_HTTP_VN_CONNECTION_REQUESTS,
    DH_HTTP_VN_PID
};

#define dh_http_var_off(field)  offsetof(dh_http_request_t, field)

/* "seconds.milliseconds" */
#define DH_HTTP_VAR_TIME_LEN    (DH_INT64_LEN + sizeof(".000"))

static struct {
    char                      *name;
    dh_http_get_variable_pt    handler;
    uintptr_t                  data;
    dh_uint_t                  flags;
} dh_http_core_variables[] = {
    { "remote_addr", dh_http_var_remote_addr, 0, 0 },
    { "binary_remote_addr", dh_http_var_binary_remote_addr, 0, 0 },
    { "remote_port", dh_http_var_port, 0, 0 },
    { "server_addr", dh_http_var_server_addr, 0, 0 },
    { "server_port", dh_http_var_port, 1, 0 },
    { "server_name", dh_http_var_server_name, 0, 0 },
    { "host", dh_http_var_host, 0, 0 },
    { "scheme", dh_http_var_scheme, 0, 0 },
    { "https", dh_http_var_https, 0, 0 },
    { "request", dh_http_var_str, dh_http_var_off(request_line), 0 },
    { "request_method", dh_http_var_str, dh_http_var_off(method_name), 0 },
    { "request_uri", dh_http_var_str, dh_http_var_off(unparsed_uri), 0 },
    { "uri", dh_http_var_str, dh_http_var_off(uri),
      DH_HTTP_VAR_NOCACHEABLE },
    { "document_uri", dh_http_var_str, dh_http_var_off(uri),
      DH_HTTP_VAR_NOCACHEABLE },
    { "args", dh_http_var_str, dh_http_var_off(args),
      DH_HTTP_VAR_NOCACHEABLE },
    { "query_string", dh_http_var_str, dh_http_var_off(args),
      DH_HTTP_VAR_NOCACHEABLE },
    { "server_protocol", dh_http_var_str, dh_http_var_off(http_protocol), 0 },
    { "content_length", dh_http_var_content_length, 0, 0 },
    { "content_type", dh_http_var_content_type, 0, 0 },
    { "remote_user", dh_http_var_remote_user, 0, 0 },
    { "status", dh_http_var_number, DH_HTTP_VN_STATUS,
      DH_HTTP_VAR_NOCACHEABLE },
    { "body_bytes_sent", dh_http_var_number, DH_HTTP_VN_BODY_BYTES_SENT,
      DH_HTTP_VAR_NOCACHEABLE },
    { "bytes_sent", dh_http_var_number, DH_HTTP_VN_BYTES_SENT,
      DH_HTTP_VAR_NOCACHEABLE },
    { "request_length", dh_http_var_number, DH_HTTP_VN_REQUEST_LENGTH,
      DH_HTTP_VAR_NOCACHEABLE },
    { "connection", dh_http_var_number, DH_HTTP_VN_CONNECTION, 0 },
    { "connection_requests", dh_http_var_number,
      DH_HTTP_VN_CONNECTION_REQUESTS, 0 },
    { "pid", dh_http_var_number, DH_HTTP_VN_PID, 0 },
    { "request_time", dh_http_var_request_time, 0, DH_HTTP_VAR_NOCACHEABLE },
    { "msec", dh_http_var_msec, 0, DH_HTTP_VAR_NOCACHEABLE },
    { "time_local", dh_http_var_time, 0, DH_HTTP_VAR_NOCACHEABLE },
    { "time_iso8601", dh_http_var_time, 1, DH_HTTP_VAR_NOCACHEABLE },
    { "hostname", dh_http_var_hostname, 0, 0 },
    { "request_id", dh_http_var_request_id, 0, 0 },
    { "document_root", dh_http_var_document_root, 0,
      DH_HTTP_VAR_NOCACHEABLE },
    { "arg_", dh_http_var_arg, 0, DH_HTTP_VAR_PREFIX },
    { "http_", dh_http_var_http, 0, DH_HTTP_VAR_PREFIX },
    { "sent_http_", dh_http_var_sent_http, 0,
      DH_HTTP_VAR_PREFIX | DH_HTTP_VAR_NOCACHEABLE },
    { "cookie_", dh_http_var_cookie, 0, DH_HTTP_VAR_PREFIX },
    /* known only once the body was read: not cached before that */
    { "trailer_", dh_http_var_trailer, 0,
      DH_HTTP_VAR_PREFIX | DH_HTTP_VAR_NOCACHEABLE },
    { NULL, NULL, 0, 0 }
};


static dh_http_variables_conf_t *
dh_http_variables_conf(dh_conf_t *cf)
{
    dh_http_core_main_conf_t  *cmcf;

    cmcf = dh_http_conf_get_module_main_conf(cf, dh_http_core_module);

    return cmcf->variables;
}


dh_int_t
dh_http_variables_add_core_vars(dh_conf_t *cf)
{
    dh_uint_t                   i;
    dh_str_t                    name;
    dh_http_variable_t         *v;
    dh_http_variables_conf_t   *vc;
    dh_http_core_main_conf_t   *cmcf;

    cmcf = dh_http_conf_get_module_main_conf(cf, dh_http_core_module);

    vc = dh_pcalloc(cf->pool, sizeof(dh_http_variables_conf_t));
    if (vc == NULL) {
        return DH_ERROR;
    }

    if (dh_array_init(&vc->declared, cf->pool, 64, sizeof(void *)) != DH_OK
        || dh_array_init(&vc->indexed, cf->pool, 16,
                         sizeof(dh_http_variable_t)) != DH_OK
        || dh_array_init(&vc->uses, cf->pool, 16,
                         sizeof(dh_http_variable_use_t)) != DH_OK)
    {
        return DH_ERROR;
    }

    cmcf->variables = vc;

    for (i = 0; dh_http_core_variables[i].name; i++) {
        name.data = (u_char *) dh_http_core_variables[i].name;
        name.len = dh_strlen(dh_http_core_variables[i].name);

        v = dh_http_add_variable(cf, &name, dh_http_core_variables[i].flags);
        if (v == NULL) {
            return DH_ERROR;
        }

        v->get_handler = dh_http_core_variables[i].handler;
        v->data = dh_http_core_variables[i].data;
    }

    /* $1..$9 */
    for (i = 1; i <= 9; i++) {
        name.data = dh_pnalloc(cf->pool, 1);
        if (name.data == NULL) {
            return DH_ERROR;
        }

        name.data[0] = (u_char) ('0' + i);
        name.len = 1;

        v = dh_http_add_variable(cf, &name, DH_HTTP_VAR_NOCACHEABLE);
        if (v == NULL) {
            return DH_ERROR;
        }

        v->get_handler = dh_http_var_capture;
        v->data = i;
    }

    return DH_OK;
}


static dh_http_variable_t *
dh_http_find_declared(dh_http_variables_conf_t *vc, dh_str_t *name,
    dh_uint_t prefix)
{
    dh_uint_t             i;
    dh_http_variable_t  **vp, *v;

    vp = vc->declared.elts;

    for (i = 0; i < vc->declared.nelts; i++) {
        v = vp[i];

        if (prefix) {
            if ((v->flags & DH_HTTP_VAR_PREFIX)
                && name->len > v->name.len
                && dh_strncmp(name->data, v->name.data, v->name.len) == 0)
            {
                return v;
            }

        } else if (!(v->flags & DH_HTTP_VAR_PREFIX)
                   && dh_str_eq(name, &v->name))
        {
            return v;
        }
    }

    return NULL;
}


dh_http_variable_t *
dh_http_add_variable(dh_conf_t *cf, dh_str_t *name, dh_uint_t flags)
{
    dh_http_variable_t         *v, **vp;
    dh_http_variables_conf_t   *vc;

    vc = dh_http_variables_conf(cf);

    if (name->len == 0) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0, "invalid variable name \"$\"");
        return NULL;
    }

    v = dh_http_find_declared(vc, name, 0);

    if (v && !(flags & DH_HTTP_VAR_PREFIX)) {
        if (!(v->flags & DH_HTTP_VAR_CHANGEABLE)) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "the duplicate \"%.*s\" variable",
                              DH_STR_FMT(*name));
            return NULL;
        }

        return v;
    }

    v = dh_pcalloc(cf->pool, sizeof(dh_http_variable_t));
    if (v == NULL) {
        return NULL;
    }

    v->name.len = name->len;
    v->name.data = dh_pnalloc(cf->pool, name->len + 1);
    if (v->name.data == NULL) {
        return NULL;
    }

    dh_strlow(v->name.data, name->data, name->len);
    v->name.data[name->len] = '\0';
    v->flags = flags;

    vp = dh_array_push(&vc->declared);
    if (vp == NULL) {
        return NULL;
    }

    *vp = v;

    return v;
}


dh_int_t
dh_http_get_variable_index(dh_conf_t *cf, dh_str_t *name)
{
    dh_uint_t                   i;
    dh_http_variable_t         *v;
    dh_http_variable_use_t     *use;
    dh_http_variables_conf_t   *vc;

    vc = dh_http_variables_conf(cf);

    if (name->len == 0) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0, "invalid variable name \"$\"");
        return DH_ERROR;
    }

    v = vc->indexed.elts;

    for (i = 0; i < vc->indexed.nelts; i++) {
        if (v[i].name.len == name->len
            && dh_strncasecmp(v[i].name.data, name->data, name->len) == 0)
        {
            return (dh_int_t) i;
        }
    }

    v = dh_array_push(&vc->indexed);
    use = dh_array_push(&vc->uses);
    if (v == NULL || use == NULL) {
        return DH_ERROR;
    }

    dh_memzero(v, sizeof(dh_http_variable_t));

    v->name.len = name->len;
    v->name.data = dh_pnalloc(cf->pool, name->len + 1);
    if (v->name.data == NULL) {
        return DH_ERROR;
    }

    dh_strlow(v->name.data, name->data, name->len);
    v->name.data[name->len] = '\0';
    v->index = vc->indexed.nelts - 1;

    use->file = cf->conf_file ? cf->conf_file->file.name.data : NULL;
    use->line = cf->conf_file ? cf->conf_file->line : 0;

    return (dh_int_t) v->index;
}


/*
 * Binds every indexed name to its declared variable once all modules had
 * their say (named regex captures are declared while parsing).
 */
dh_int_t
dh_http_variables_init_vars(dh_conf_t *cf)
{
    dh_uint_t                   i;
    dh_str_t                   *full;
    dh_http_variable_t         *v, *dv;
    dh_http_variable_use_t     *use;
    dh_http_variables_conf_t   *vc;

    vc = dh_http_variables_conf(cf);
    v = vc->indexed.elts;
    use = vc->uses.elts;

    for (i = 0; i < vc->indexed.nelts; i++) {
        dv = dh_http_find_declared(vc, &v[i].name, 0);

        if (dv) {
            v[i].get_handler = dv->get_handler;
            v[i].data = dv->data;
            v[i].flags = dv->flags;
            continue;
        }

        dv = dh_http_find_declared(vc, &v[i].name, 1);

        if (dv) {
            /* the handler gets the full name: "$arg_page" -> "arg_page" */
            full = dh_palloc(cf->pool, sizeof(dh_str_t));
            if (full == NULL) {
                return DH_ERROR;
            }

            *full = v[i].name;
            v[i].get_handler = dv->get_handler;
            v[i].data = (uintptr_t) full;
            v[i].flags = dv->flags & ~DH_HTTP_VAR_PREFIX;
            continue;
        }

        if (use[i].file) {
            dh_log_error(DH_LOG_EMERG, cf->log, 0,
                         "unknown \"%.*s\" variable in %s:%lu",
                         DH_STR_FMT(v[i].name), (char *) use[i].file,
                         (unsigned long) use[i].line);
        } else {
            dh_log_error(DH_LOG_EMERG, cf->log, 0,
                         "unknown \"%.*s\" variable",
                         DH_STR_FMT(v[i].name));
        }

        return DH_ERROR;
    }

    return DH_OK;
}


/* ---- run time --------------------------------------------------------- */

static dh_http_variables_conf_t *
dh_http_request_variables_conf(dh_http_request_t *r)
{
    dh_http_core_main_conf_t  *cmcf;

    cmcf = dh_http_get_module_main_conf(r, dh_http_core_module);

    return cmcf->variables;
}


static dh_http_variable_value_t *
dh_http_run_variable(dh_http_request_t *r, dh_http_variable_t *v,
    dh_http_variable_value_t *vv)
{
    if (v->get_handler == NULL
        || v->get_handler(r, vv, v->data) != DH_OK)
    {
        vv->valid = 0;
        vv->not_found = 1;
        vv->len = 0;
        vv->data = (u_char *) "";
    }

    if (v->flags & DH_HTTP_VAR_NOCACHEABLE) {
        vv->no_cacheable = 1;
    }

    return vv;
}


dh_http_variable_value_t *
dh_http_get_indexed_variable(dh_http_request_t *r, dh_uint_t index)
{
    dh_http_variable_t         *v;
    dh_http_variables_conf_t   *vc;

    vc = dh_http_request_variables_conf(r);

    if (vc == NULL || index >= vc->indexed.nelts) {
        dh_log_error(DH_LOG_ALERT, r->connection->log, 0,
                     "unknown variable index: %lu", (unsigned long) index);
        return NULL;
    }

    if (r->variables == NULL) {
        r->variables = dh_pcalloc(r->pool, vc->indexed.nelts
                                           * sizeof(dh_http_variable_value_t));
        if (r->variables == NULL) {
            return NULL;
        }
    }

    if (r->variables[index].valid || r->variables[index].not_found) {
        return &r->variables[index];
    }

    v = vc->indexed.elts;

    return dh_http_run_variable(r, &v[index], &r->variables[index]);
}


dh_http_variable_value_t *
dh_http_get_flushed_variable(dh_http_request_t *r, dh_uint_t index)
{
    dh_http_variable_value_t  *vv;

    if (r->variables) {
        vv = &r->variables[index];

        if (vv->no_cacheable) {
            vv->valid = 0;
            vv->not_found = 0;
        }
    }

    return dh_http_get_indexed_variable(r, index);
}


dh_http_variable_value_t *
dh_http_get_variable(dh_http_request_t *r, dh_str_t *name)
{
    dh_uint_t                   i;
    dh_http_variable_t         *v;
    dh_http_variable_value_t   *vv;
    dh_http_variables_conf_t   *vc;

    vc = dh_http_request_variables_conf(r);
    v = vc->indexed.elts;

    for (i = 0; i < vc->indexed.nelts; i++) {
        if (dh_str_eq(&v[i].name, name)) {
            return dh_http_get_flushed_variable(r, i);
        }
    }

    vv = dh_pcalloc(r->pool, sizeof(dh_http_variable_value_t));
    if (vv == NULL) {
        return NULL;
    }

    /* not named by the configuration: an exact name, then a prefix */
    v = dh_http_find_declared(vc, name, 0);

    if (v == NULL) {
        v = dh_http_find_declared(vc, name, 1);
    }

    if (v == NULL) {
        vv->not_found = 1;
        vv->data = (u_char *) "";
        return vv;
    }

    if (v->flags & DH_HTTP_VAR_PREFIX) {
        if (v->get_handler(r, vv, (uintptr_t) name) != DH_OK) {
            vv->not_found = 1;
        }

        return vv;
    }

    return dh_http_run_variable(r, v, vv);
}


/* ---- built-in variables ----------------------------------------------- */

static void
dh_http_var_set(dh_http_variable_value_t *v, u_char *data, size_t len)
{
    v->len = len;
    v->data = data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
}


static dh_int_t
dh_http_var_str(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    dh_str_t  *s;

    s = (dh_str_t *) ((char *) r + data);

    if (s->data == NULL) {
        dh_http_var_set(v, (u_char *) "", 0);
        return DH_OK;
    }

    dh_http_var_set(v, s->data, s->len);

    return DH_OK;
}


static dh_int_t
dh_http_var_remote_addr(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    dh_http_var_set(v, r->connection->addr_text.data,
                    r->connection->addr_text.len);
    return DH_OK;
}


static dh_int_t
dh_http_var_binary_remote_addr(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data)
{
    struct sockaddr      *sa;
    struct sockaddr_in   *sin;
    struct sockaddr_in6  *sin6;

    sa = r->connection->sockaddr;

    switch (sa->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) sa;
        dh_http_var_set(v, (u_char *) &sin->sin_addr, 4);
        return DH_OK;

    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) sa;
        dh_http_var_set(v, (u_char *) &sin6->sin6_addr, 16);
        return DH_OK;

    default:
        dh_http_var_set(v, (u_char *) "", 0);
        return DH_OK;
    }
}


/* data 0: remote port, 1: local port */
static dh_int_t
dh_http_var_port(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    u_char           *p;
    in_port_t         port;
    dh_connection_t  *c;

    c = r->connection;

    if (data) {
        if (c->local_sockaddr == NULL) {
            return DH_DECLINED;
        }

        port = dh_inet_get_port(c->local_sockaddr);

    } else {
        port = dh_inet_get_port(c->sockaddr);
    }

    p = dh_pnalloc(r->pool, sizeof("65535"));
    if (p == NULL) {
        return DH_ERROR;
    }

    dh_http_var_set(v, p, dh_slprintf(p, p + sizeof("65535"), "%u",
                                      (unsigned) port) - p);
    return DH_OK;
}


static dh_int_t
dh_http_var_server_addr(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    u_char           *p;
    size_t            len;
    dh_connection_t  *c;

    c = r->connection;

    if (c->local_sockaddr == NULL) {
        return DH_DECLINED;
    }

    p = dh_pnalloc(r->pool, DH_SOCKADDR_STRLEN);
    if (p == NULL) {
        return DH_ERROR;
    }

    len = dh_sock_ntop(c->local_sockaddr, c->local_socklen, p,
                       DH_SOCKADDR_STRLEN, 0);

    dh_http_var_set(v, p, len);

    return DH_OK;
}


static dh_int_t
dh_http_var_server_name(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    dh_http_core_srv_conf_t  *cscf;

    cscf = dh_http_get_module_srv_conf(r, dh_http_core_module);

    if (cscf->server_name.data == NULL) {
        dh_http_var_set(v, (u_char *) "", 0);
        return DH_OK;
    }

    dh_http_var_set(v, cscf->server_name.data, cscf->server_name.len);

    return DH_OK;
}


static dh_int_t
dh_http_var_host(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    if (r->headers_in.server.len) {
        dh_http_var_set(v, r->headers_in.server.data,
                        r->headers_in.server.len);
        return DH_OK;
    }

    return dh_http_var_server_name(r, v, data);
}


static dh_int_t
dh_http_var_scheme(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    if (r->connection->ssl) {
        dh_http_var_set(v, (u_char *) "https", 5);
    } else {
        dh_http_var_set(v, (u_char *) "http", 4);
    }

    return DH_OK;
}


static dh_int_t
dh_http_var_https(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    if (r->connection->ssl) {
        dh_http_var_set(v, (u_char *) "on", 2);
    } else {
        dh_http_var_set(v, (u_char *) "", 0);
    }

    return DH_OK;
}


/* $arg_NAME: the first NAME=value of the query string, not decoded (as
 * nginx). */
static dh_int_t
dh_http_var_arg(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    dh_str_t  *full = (dh_str_t *) data;

    u_char    *p, *last, *name, *end;
    size_t     len;

    name = full->data + sizeof("arg_") - 1;
    len = full->len - (sizeof("arg_") - 1);

    if (r->args.len == 0) {
        return DH_DECLINED;
    }

    p = r->args.data;
    last = p + r->args.len;

    while (p < last) {
        end = memchr(p, '&', last - p);
        if (end == NULL) {
            end = last;
        }

        if ((size_t) (end - p) >= len
            && dh_strncasecmp(p, name, len) == 0
            && (p + len == end || p[len] == '='))
        {
            p += len;
            if (p < end) {
                p++;
            }

            dh_http_var_set(v, p, end - p);
            return DH_OK;
        }

        p = end + 1;
    }

    return DH_DECLINED;
}


/* Does header name h equal var (lower-case, '_' for '-')? */
static dh_uint_t
dh_http_var_header_eq(dh_str_t *h, u_char *var, size_t len)
{
    u_char     ch;
    dh_uint_t  i;

    if (h->len != len) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        ch = dh_tolower(h->data[i]);

        if (ch == '-') {
            ch = '_';
        }

        if (ch != var[i]) {
            return 0;
        }
    }

    return 1;
}


/* Repeated headers are joined with ", " (cookies with "; "). */
static dh_int_t
dh_http_var_headers(dh_http_request_t *r, dh_http_variable_value_t *v,
    dh_list_t *headers, u_char *name, size_t len)
{
    u_char            *p;
    size_t             total;
    dh_uint_t          i, n, sep;
    dh_list_part_t    *part;
    dh_table_elt_t    *h, *first;

    sep = (len == 6 && dh_strncmp(name, "cookie", 6) == 0) ? ';' : ',';
    total = 0;
    n = 0;
    first = NULL;

    for (part = &headers->part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (h[i].hash == 0
                || !dh_http_var_header_eq(&h[i].key, name, len))
            {
                continue;
            }

            if (first == NULL) {
                first = &h[i];
            }

            total += h[i].value.len + (n ? 2 : 0);
            n++;
        }
    }

    if (first == NULL) {
        return DH_DECLINED;
    }

    if (n == 1) {
        dh_http_var_set(v, first->value.data, first->value.len);
        return DH_OK;
    }

    p = dh_pnalloc(r->pool, total);
    if (p == NULL) {
        return DH_ERROR;
    }

    dh_http_var_set(v, p, total);

    n = 0;

    for (part = &headers->part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (h[i].hash == 0
                || !dh_http_var_header_eq(&h[i].key, name, len))
            {
                continue;
            }

            if (n++) {
                *p++ = (u_char) sep;
                *p++ = ' ';
            }

            p = dh_cpymem(p, h[i].value.data, h[i].value.len);
        }
    }

    return DH_OK;
}


/* $http_NAME (data: the full name) */
static dh_int_t
dh_http_var_http(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    dh_str_t  *full = (dh_str_t *) data;

    if (r->headers_in.headers.part.elts == NULL) {
        return DH_DECLINED;
    }

    return dh_http_var_headers(r, v, &r->headers_in.headers,
                               full->data + sizeof("http_") - 1,
                               full->len - (sizeof("http_") - 1));
}


/* $trailer_NAME: a trailer field of a chunked request body */
static dh_int_t
dh_http_var_trailer(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    dh_str_t  *full = (dh_str_t *) data;

    if (r->headers_in.trailers.part.elts == NULL) {
        return DH_DECLINED;
    }

    return dh_http_var_headers(r, v, &r->headers_in.trailers,
                               full->data + sizeof("trailer_") - 1,
                               full->len - (sizeof("trailer_") - 1));
}


static dh_int_t
dh_http_var_content_type(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    if (r->headers_in.headers.part.elts == NULL) {
        return DH_DECLINED;
    }

    return dh_http_var_headers(r, v, &r->headers_in.headers,
                               (u_char *) "content_type",
                               sizeof("content_type") - 1);
}


static dh_int_t
dh_http_var_sent_http(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    u_char     *p, *name;
    size_t      len;
    dh_str_t   *full = (dh_str_t *) data;

    name = full->data + sizeof("sent_http_") - 1;
    len = full->len - (sizeof("sent_http_") - 1);

    if (len == 12 && dh_strncmp(name, "content_type", 12) == 0) {
        if (r->headers_out.content_type.len == 0) {
            return DH_DECLINED;
        }

        dh_http_var_set(v, r->headers_out.content_type.data,
                        r->headers_out.content_type.len);
        return DH_OK;
    }

    if (len == 14 && dh_strncmp(name, "content_length", 14) == 0) {
        if (r->headers_out.content_length_n < 0) {
            return DH_DECLINED;
        }

        p = dh_pnalloc(r->pool, (DH_INT64_LEN + 1));
        if (p == NULL) {
            return DH_ERROR;
        }

        dh_http_var_set(v, p, dh_slprintf(p, p + (DH_INT64_LEN + 1), "%lld",
                        (long long) r->headers_out.content_length_n) - p);
        return DH_OK;
    }

    if (r->headers_out.headers.part.elts == NULL) {
        return DH_DECLINED;
    }

    return dh_http_var_headers(r, v, &r->headers_out.headers, name, len);
}


/* $cookie_NAME: the value of NAME in the Cookie headers */
static dh_int_t
dh_http_var_cookie(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    u_char                    *p, *last, *end, *name;
    size_t                     len;
    dh_str_t                  *full = (dh_str_t *) data;
    dh_http_variable_value_t   all;

    name = full->data + sizeof("cookie_") - 1;
    len = full->len - (sizeof("cookie_") - 1);

    if (r->headers_in.headers.part.elts == NULL
        || dh_http_var_headers(r, &all, &r->headers_in.headers,
                               (u_char *) "cookie", 6) != DH_OK)
    {
        return DH_DECLINED;
    }

    p = all.data;
    last = p + all.len;

    while (p < last) {
        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        end = memchr(p, ';', last - p);
        if (end == NULL) {
            end = last;
        }

        if ((size_t) (end - p) > len && p[len] == '='
            && dh_strncmp(p, name, len) == 0)
        {
            p += len + 1;
            dh_http_var_set(v, p, end - p);
            return DH_OK;
        }

        p = end + 1;
    }

    return DH_DECLINED;
}


/* The user name of "Authorization: Basic", as the client sent it (not
 * checked here: auth modules decide whether it is valid). */
static dh_int_t
dh_http_var_remote_user(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    u_char                    *p;
    dh_str_t                   enc, dec;
    dh_http_variable_value_t   auth;

    if (r->headers_in.headers.part.elts == NULL
        || dh_http_var_headers(r, &auth, &r->headers_in.headers,
                               (u_char *) "authorization", 13) != DH_OK
        || auth.len < 6
        || dh_strncasecmp(auth.data, (u_char *) "Basic ", 6) != 0)
    {
        return DH_DECLINED;
    }

    enc.data = auth.data + 6;
    enc.len = auth.len - 6;

    while (enc.len && *enc.data == ' ') {
        enc.data++;
        enc.len--;
    }

    dec.data = dh_pnalloc(r->pool, dh_base64_decoded_length(enc.len) + 1);
    if (dec.data == NULL) {
        return DH_ERROR;
    }

    if (dh_decode_base64(&dec, &enc) != DH_OK) {
        return DH_DECLINED;
    }

    p = memchr(dec.data, ':', dec.len);
    if (p == NULL) {
        return DH_DECLINED;
    }

    dh_http_var_set(v, dec.data, p - dec.data);

    return DH_OK;
}


static dh_int_t
dh_http_var_content_length(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    dh_table_elt_t  *h;

    h = r->headers_in.content_length;

    if (h == NULL) {
        return DH_DECLINED;
    }

    dh_http_var_set(v, h->value.data, h->value.len);

    return DH_OK;
}


static dh_int_t
dh_http_var_number(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    u_char           *p;
    off_t             n, sent;
    dh_connection_t  *c;

    c = r->connection;
    sent = c->sent - r->sent_start;

    switch (data) {

    case DH_HTTP_VN_STATUS:
        n = r->headers_out.status ? (off_t) r->headers_out.status
                                  : (off_t) r->err_status;
        break;

    case DH_HTTP_VN_BODY_BYTES_SENT:
        n = sent - (off_t) r->header_size;
        if (n < 0) {
            n = 0;
        }
        break;

    case DH_HTTP_VN_BYTES_SENT:
        n = sent;
        break;

    case DH_HTTP_VN_REQUEST_LENGTH:
        n = r->request_length;
        break;

    case DH_HTTP_VN_CONNECTION:
        n = (off_t) c->number;
        break;

    case DH_HTTP_VN_CONNECTION_REQUESTS:
        n = (off_t) c->requests;
        break;

    default: /* DH_HTTP_VN_PID */
        n = (off_t) dh_pid;
        break;
    }

    p = dh_pnalloc(r->pool, (DH_INT64_LEN + 1));
    if (p == NULL) {
        return DH_ERROR;
    }

    dh_http_var_set(v, p, dh_slprintf(p, p + (DH_INT64_LEN + 1), "%lld",
                                      (long long) n) - p);
    return DH_OK;
}


static dh_int_t
dh_http_var_request_time(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    u_char     *p;
    dh_msec_t   ms;

    ms = dh_current_msec - r->start_msec;

    p = dh_pnalloc(r->pool, DH_HTTP_VAR_TIME_LEN);
    if (p == NULL) {
        return DH_ERROR;
    }

    dh_http_var_set(v, p, dh_slprintf(p, p + DH_HTTP_VAR_TIME_LEN,
                                      "%lu.%03lu",
                                      (unsigned long) (ms / 1000),
                                      (unsigned long) (ms % 1000)) - p);
    return DH_OK;
}


static dh_int_t
dh_http_var_msec(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    u_char     *p;
    dh_time_t  *tp;

    tp = dh_timeofday();

    p = dh_pnalloc(r->pool, DH_HTTP_VAR_TIME_LEN);
    if (p == NULL) {
        return DH_ERROR;
    }

    dh_http_var_set(v, p, dh_slprintf(p, p + DH_HTTP_VAR_TIME_LEN,
                                      "%lld.%03lu",
                                      (long long) tp->sec,
                                      (unsigned long) tp->msec) - p);
    return DH_OK;
}


/* data 0: $time_local, 1: $time_iso8601; copied, as the cache changes */
static dh_int_t
dh_http_var_time(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    u_char    *p;
    dh_str_t   t;

    t = data ? *(dh_str_t *) &dh_cached_iso8601
             : *(dh_str_t *) &dh_cached_http_log_time;

    p = dh_pnalloc(r->pool, t.len);
    if (p == NULL) {
        return DH_ERROR;
    }

    dh_memcpy(p, t.data, t.len);
    dh_http_var_set(v, p, t.len);

    return DH_OK;
}


static dh_int_t
dh_http_var_hostname(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    dh_http_var_set(v, dh_cycle->hostname.data, dh_cycle->hostname.len);
    return DH_OK;
}


static dh_int_t
dh_http_var_request_id(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    dh_str_t  id;

    if (dh_http_request_id(r, &id) != DH_OK) {
        return DH_ERROR;
    }

    dh_http_var_set(v, id.data, id.len);

    return DH_OK;
}


static dh_int_t
dh_http_var_document_root(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    dh_http_core_loc_conf_t  *clcf;

    clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);

    dh_http_var_set(v, clcf->root.data, clcf->root.len);

    return DH_OK;
}


static dh_int_t
dh_http_var_capture(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    int  *cap;

    if (r->captures == NULL || data >= r->ncaptures
        || r->captures[2 * data] < 0)
    {
        return DH_DECLINED;
    }

    cap = &r->captures[2 * data];

    dh_http_var_set(v, r->captures_data + cap[0], cap[1] - cap[0]);

    return DH_OK;
}


/*
 * Request ids: 16 random bytes as 32 hex digits.  The bytes come from the
 * kernel's CSPRNG 4 KiB at a time (256 ids per getrandom() call); the pool
 * is refilled after fork so two workers never hand out the same ids.
 */
static u_char      dh_http_rand_pool[4096];
static size_t      dh_http_rand_left;
static dh_pid_t    dh_http_rand_pid;

dh_int_t
dh_http_request_id(dh_http_request_t *r, dh_str_t *id)
{
    u_char   *p;
    ssize_t   n;
    size_t    got;

    if (r->request_id) {
        id->data = r->request_id;
        id->len = 32;
        return DH_OK;
    }

    if (dh_http_rand_pid != dh_pid || dh_http_rand_left < 16) {
        for (got = 0; got < sizeof(dh_http_rand_pool); got += (size_t) n) {
            n = getrandom(dh_http_rand_pool + got,
                          sizeof(dh_http_rand_pool) - got, 0);

            if (n <= 0) {
                if (n < 0 && errno == EINTR) {
                    n = 0;
                    continue;
                }

                dh_log_error(DH_LOG_ALERT, r->connection->log, errno,
                             "getrandom() failed");
                return DH_ERROR;
            }
        }

        dh_http_rand_left = sizeof(dh_http_rand_pool);
        dh_http_rand_pid = dh_pid;
    }

    p = dh_pnalloc(r->pool, 33);
    if (p == NULL) {
        return DH_ERROR;
    }

    dh_http_rand_left -= 16;
    dh_hex_dump(p, dh_http_rand_pool + dh_http_rand_left, 16);
    /* used bytes are not kept around */
    dh_memzero(dh_http_rand_pool + dh_http_rand_left, 16);
    p[32] = '\0';

    r->request_id = p;
    id->data = p;
    id->len = 32;

    return DH_OK;
}


/* ---- complex values --------------------------------------------------- */

static dh_uint_t
dh_http_is_var_char(u_char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
           || (ch >= '0' && ch <= '9') || ch == '_';
}


dh_int_t
dh_http_compile_complex_value(dh_http_compile_complex_value_t *ccv)
{
    u_char                    *p, *last, *start;
    dh_int_t                   index;
    dh_str_t                   name;
    dh_uint_t                  nparts, nvars, i;
    dh_array_t                 parts;
    dh_http_cv_part_t         *part;
    dh_http_complex_value_t   *cv;

    cv = ccv->complex_value;
    cv->value = *ccv->value;
    cv->flushes = NULL;
    cv->lengths = NULL;
    cv->values = NULL;

    p = ccv->value->data;
    last = p + ccv->value->len;

    if (p == NULL || memchr(p, '$', last - p) == NULL) {
        return DH_OK;
    }

    if (dh_array_init(&parts, ccv->cf->pool, 4, sizeof(dh_http_cv_part_t))
        != DH_OK)
    {
        return DH_ERROR;
    }

    nvars = 0;

    while (p < last) {
        part = dh_array_push(&parts);
        if (part == NULL) {
            return DH_ERROR;
        }

        if (*p != '$') {
            start = p;
            while (p < last && *p != '$') {
                p++;
            }

            part->text.data = start;
            part->text.len = p - start;
            part->index = -1;
            continue;
        }

        p++;

        if (p < last && *p == '{') {
            start = ++p;
            while (p < last && *p != '}') {
                p++;
            }

            if (p == last) {
                dh_conf_log_error(DH_LOG_EMERG, ccv->cf, 0,
                                  "the closing bracket in \"%.*s\" "
                                  "variable is missing",
                                  (int) (p - start), start);
                return DH_ERROR;
            }

            name.data = start;
            name.len = p - start;
            p++;

        } else {
            start = p;
            while (p < last && dh_http_is_var_char(*p)) {
                p++;
            }

            name.data = start;
            name.len = p - start;
        }

        if (name.len == 0) {
            dh_conf_log_error(DH_LOG_EMERG, ccv->cf, 0,
                              "invalid variable name in \"%.*s\"",
                              DH_STR_FMT(*ccv->value));
            return DH_ERROR;
        }

        index = dh_http_get_variable_index(ccv->cf, &name);
        if (index == DH_ERROR) {
            return DH_ERROR;
        }

        part->index = index;
        nvars++;
    }

    nparts = parts.nelts;

    cv->flushes = dh_palloc(ccv->cf->pool, (nvars + 1) * sizeof(dh_uint_t));
    if (cv->flushes == NULL) {
        return DH_ERROR;
    }

    part = parts.elts;
    nvars = 0;

    for (i = 0; i < nparts; i++) {
        if (part[i].index >= 0) {
            cv->flushes[nvars++] = (dh_uint_t) part[i].index;
        }
    }

    cv->flushes[nvars] = (dh_uint_t) -1;
    cv->lengths = parts.elts;
    cv->values = (void *) (uintptr_t) nparts;

    return DH_OK;
}


dh_int_t
dh_http_complex_value(dh_http_request_t *r, dh_http_complex_value_t *val,
    dh_str_t *value)
{
    u_char                    *p;
    size_t                     len;
    dh_uint_t                  i, n;
    dh_http_cv_part_t         *part;
    dh_http_variable_value_t  *vv;

    if (val->lengths == NULL) {
        *value = val->value;
        return DH_OK;
    }

    part = val->lengths;
    n = (dh_uint_t) (uintptr_t) val->values;
    len = 0;

    for (i = 0; i < n; i++) {
        if (part[i].index < 0) {
            len += part[i].text.len;
            continue;
        }

        vv = dh_http_get_flushed_variable(r, (dh_uint_t) part[i].index);
        if (vv == NULL) {
            return DH_ERROR;
        }

        len += vv->len;
    }

    p = dh_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return DH_ERROR;
    }

    value->data = p;
    value->len = len;

    /* the cached values are read again, so both passes agree */
    for (i = 0; i < n; i++) {
        if (part[i].index < 0) {
            p = dh_cpymem(p, part[i].text.data, part[i].text.len);
            continue;
        }

        vv = &r->variables[part[i].index];
        p = dh_cpymem(p, vv->data, vv->len);
    }

    *p = '\0';

    return DH_OK;
}


char *
dh_http_set_complex_value_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    char  *p = conf;

    dh_str_t                          *value;
    dh_http_complex_value_t          **cv;
    dh_http_compile_complex_value_t    ccv;

    cv = (dh_http_complex_value_t **) (p + cmd->offset);

    if (*cv != NULL) {
        return "is duplicate";
    }

    *cv = dh_palloc(cf->pool, sizeof(dh_http_complex_value_t));
    if (*cv == NULL) {
        return DH_CONF_ERROR;
    }

    value = cf->args->elts;

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = *cv;

    if (dh_http_compile_complex_value(&ccv) != DH_OK) {
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


/* ---- regex captures --------------------------------------------------- */

#if (DH_HAVE_PCRE2)

/* A named capture that has not matched in this request has no value; a
 * match stores the value straight into r->variables. */
static dh_int_t
dh_http_var_named_capture(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    return DH_DECLINED;
}


dh_http_regex_t *
dh_http_regex_compile(dh_conf_t *cf, dh_regex_compile_t *rc)
{
    dh_uint_t            i;
    dh_regex_t          *regex;
    dh_http_regex_t     *re;
    dh_http_variable_t  *v;

    rc->pool = cf->pool;

    if (dh_regex_compile(rc) != DH_OK) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0, "%.*s", DH_STR_FMT(rc->err));
        return NULL;
    }

    regex = rc->regex;

    re = dh_pcalloc(cf->pool, sizeof(dh_http_regex_t));
    if (re == NULL) {
        return NULL;
    }

    re->regex = regex;
    re->name = rc->pattern;

    if (regex->nnames == 0) {
        return re;
    }

    re->vars = dh_palloc(cf->pool,
                         regex->nnames * sizeof(dh_http_regex_var_t));
    if (re->vars == NULL) {
        return NULL;
    }

    for (i = 0; i < regex->nnames; i++) {
        v = dh_http_add_variable(cf, &regex->names[i].name,
                                 DH_HTTP_VAR_CHANGEABLE);
        if (v == NULL) {
            return NULL;
        }

        v->get_handler = dh_http_var_named_capture;

        re->vars[i].capture = regex->names[i].capture;
        re->vars[i].index = dh_http_get_variable_index(cf,
                                                      &regex->names[i].name);
        if (re->vars[i].index == DH_ERROR) {
            return NULL;
        }
    }

    re->nvars = regex->nnames;

    return re;
}


dh_int_t
dh_http_regex_exec(dh_http_request_t *r, dh_http_regex_t *re, dh_str_t *s)
{
    int                        *cap;
    dh_int_t                    rc;
    dh_uint_t                   i, size;
    dh_http_variable_value_t   *vv;
    dh_http_variables_conf_t   *vc;

    size = 2 * (re->regex->captures + 1);

    cap = r->captures;

    if (cap == NULL || r->ncaptures < size / 2) {
        cap = dh_palloc(r->pool, size * sizeof(int));
        if (cap == NULL) {
            return DH_ERROR;
        }
    }

    rc = dh_regex_exec(re->regex, s, cap, size, r->connection->log);

    if (rc == DH_DECLINED || rc == DH_ERROR) {
        return rc;
    }

    for (i = (dh_uint_t) rc; i < size / 2; i++) {
        cap[2 * i] = -1;
        cap[2 * i + 1] = -1;
    }

    r->captures = cap;
    r->ncaptures = size / 2;
    r->captures_data = s->data;

    if (re->nvars == 0) {
        return DH_OK;
    }

    vc = dh_http_request_variables_conf(r);

    if (r->variables == NULL) {
        r->variables = dh_pcalloc(r->pool, vc->indexed.nelts
                                           * sizeof(dh_http_variable_value_t));
        if (r->variables == NULL) {
            return DH_ERROR;
        }
    }

    for (i = 0; i < re->nvars; i++) {
        vv = &r->variables[re->vars[i].index];

        if (cap[2 * re->vars[i].capture] < 0) {
            vv->valid = 0;
            vv->not_found = 1;
            vv->len = 0;
            vv->data = (u_char *) "";
            continue;
        }

        dh_http_var_set(vv, s->data + cap[2 * re->vars[i].capture],
                        cap[2 * re->vars[i].capture + 1]
                        - cap[2 * re->vars[i].capture]);
    }

    return DH_OK;
}

#endif /* DH_HAVE_PCRE2 */

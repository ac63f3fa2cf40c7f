/*
 * error_page CODE ... [=[RESPONSE]] URI
 *
 * A local URI is an internal redirect: the request runs the phases again
 * from the server's locations with the new URI (GET, unless it was HEAD)
 * and is answered with the original status, with RESPONSE given, or with
 * the status of the new location's own answer for a bare "=".  A named
 * location ("@name") continues the request there with its URI kept.  An
 * http:// or https:// URL answers 302 (or RESPONSE, when it is a
 * redirect code) with Location.  A request is redirected once: an error
 * while serving the error page gets the built-in page (loop protection).
 * Lists are inherited whole from the enclosing block unless the block has
 * its own error_page lines.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


typedef struct {
    dh_uint_t      status;
    dh_int_t       overwrite;     /* -1: original status; 0: the target's */
    dh_str_t       uri;
    dh_str_t       args;
    unsigned       external:1;
    unsigned       named:1;       /* uri is "@name" */
} dh_http_err_page_t;

typedef struct {
    dh_array_t    *pages;         /* of dh_http_err_page_t; NULL: unset */
} dh_http_error_page_loc_conf_t;


static char *dh_http_error_page(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static void *dh_http_error_page_create_loc_conf(dh_conf_t *cf);
static char *dh_http_error_page_merge_loc_conf(dh_conf_t *cf, void *parent,
    void *child);


static dh_command_t  dh_http_error_page_commands[] = {

    { dh_string("error_page"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_2MORE,
      dh_http_error_page,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_error_page_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    dh_http_error_page_create_loc_conf,    /* create location configuration */
    dh_http_error_page_merge_loc_conf      /* merge location configuration */
};


dh_module_t  dh_http_error_page_module = {
    DH_MODULE_V1,
    &dh_http_error_page_module_ctx,        /* module context */
    dh_http_error_page_commands,           /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


static dh_uint_t
dh_http_error_page_is_redirect(dh_int_t code)
{
    return code == DH_HTTP_MOVED_PERMANENTLY
           || code == DH_HTTP_MOVED_TEMPORARILY
           || code == DH_HTTP_SEE_OTHER
           || code == DH_HTTP_TEMPORARY_REDIRECT
           || code == DH_HTTP_PERMANENT_REDIRECT;
}


static dh_http_err_page_t *
dh_http_error_page_find(dh_http_request_t *r, dh_uint_t status)
{
    dh_uint_t                       i;
    dh_http_err_page_t             *page;
    dh_http_error_page_loc_conf_t  *elcf;

    elcf = dh_http_get_module_loc_conf(r, dh_http_error_page_module);

    if (elcf->pages == NULL) {
        return NULL;
    }

    page = elcf->pages->elts;

    for (i = 0; i < elcf->pages->nelts; i++) {
        if (page[i].status == status) {
            return &page[i];
        }
    }

    return NULL;
}


static dh_int_t
dh_http_error_page_redirect(dh_http_request_t *r, dh_http_err_page_t *page,
    dh_uint_t status)
{
    if (r->method != DH_HTTP_HEAD) {
        r->method = DH_HTTP_GET;
        dh_str_set(&r->method_name, "GET");
    }

    if (page->overwrite < 0) {
        r->err_status = status;
    } else {
        r->err_status = (dh_uint_t) page->overwrite;
    }

    if (page->named) {
        return dh_http_named_location(r, &page->uri);
    }

    return dh_http_internal_redirect(r, &page->uri, &page->args);
}


dh_int_t
dh_http_send_error_page(dh_http_request_t *r, dh_uint_t *status)
{
    dh_int_t             code;
    dh_table_elt_t      *h;
    dh_http_err_page_t  *page;

    /* once per request, and only for requests that got to the phases
     * (a request that failed to parse has no trustworthy URI or host) */
    if (r->error_page || r->phase_handler == 0) {
        return DH_DECLINED;
    }

    page = dh_http_error_page_find(r, *status);
    if (page == NULL) {
        return DH_DECLINED;
    }

    r->error_page = 1;

    if (!page->external) {
        dh_log_debug(r->connection->log,
                     "error_page %lu: internal redirect to \"%.*s\"",
                     (unsigned long) *status, DH_STR_FMT(page->uri));

        return dh_http_error_page_redirect(r, page, *status);
    }

    code = page->overwrite;

    if (!dh_http_error_page_is_redirect(code)) {
        code = DH_HTTP_MOVED_TEMPORARILY;
    }

    h = r->headers_out.location;
    if (h) {
        h->hash = 0;
    }

    h = dh_http_add_header_out(r, "Location", sizeof("Location") - 1,
                               page->uri.data, page->uri.len);
    if (h == NULL) {
        return DH_ERROR;
    }

    r->headers_out.location = h;
    r->err_status = (dh_uint_t) code;
    *status = (dh_uint_t) code;

    return DH_DECLINED;
}


/* ---- configuration ---------------------------------------------------- */

static char *
dh_http_error_page(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_error_page_loc_conf_t  *elcf = conf;

    u_char              *q;
    dh_int_t             overwrite, n;
    dh_str_t            *value, uri;
    dh_uint_t            i, last;
    dh_http_err_page_t  *page;

    if (elcf->pages == NULL) {
        elcf->pages = dh_array_create(cf->pool, 4,
                                      sizeof(dh_http_err_page_t));
        if (elcf->pages == NULL) {
            return DH_CONF_ERROR;
        }
    }

    value = cf->args->elts;
    last = cf->args->nelts - 1;
    overwrite = -1;

    if (value[last - 1].data[0] == '=') {
        if (value[last - 1].len > 1) {
            overwrite = dh_atoi(value[last - 1].data + 1,
                                value[last - 1].len - 1);

            if (overwrite < 200 || overwrite > 599) {
                dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                                  "invalid response code \"%s\"",
                                  value[last - 1].data);
                return DH_CONF_ERROR;
            }

        } else {
            overwrite = 0;
        }

        if (last < 3) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "\"error_page\" needs a status code");
            return DH_CONF_ERROR;
        }
    }

    uri = value[last];

    if (uri.data[0] != '/' && (uri.data[0] != '@' || uri.len < 2)
        && dh_strncmp(uri.data, "http://", 7) != 0
        && dh_strncmp(uri.data, "https://", 8) != 0)
    {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "\"error_page\" needs a URI starting with \"/\", "
                          "a named location or an http(s) URL, not \"%s\"",
                          uri.data);
        return DH_CONF_ERROR;
    }

    for (i = 1; i < last - (overwrite >= 0 ? 1 : 0); i++) {
        n = dh_atoi(value[i].data, value[i].len);

        if (n < 300 || n > 599 || n == DH_HTTP_CLOSE
            || n == DH_HTTP_CLIENT_CLOSED_REQUEST)
        {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "value \"%s\" must be between 300 and 599",
                              value[i].data);
            return DH_CONF_ERROR;
        }

        page = dh_array_push(elcf->pages);
        if (page == NULL) {
            return DH_CONF_ERROR;
        }

        dh_memzero(page, sizeof(dh_http_err_page_t));
        page->status = (dh_uint_t) n;
        page->overwrite = overwrite;
        page->uri = uri;

        if (uri.data[0] == '@') {
            page->named = 1;
            continue;
        }

        if (uri.data[0] != '/') {
            page->external = 1;
            continue;
        }

        q = memchr(uri.data, '?', uri.len);

        if (q) {
            page->uri.len = q - uri.data;
            page->args.data = q + 1;
            page->args.len = uri.data + uri.len - (q + 1);
        }
    }

    return DH_CONF_OK;
}


static void *
dh_http_error_page_create_loc_conf(dh_conf_t *cf)
{
    return dh_pcalloc(cf->pool, sizeof(dh_http_error_page_loc_conf_t));
}


static char *
dh_http_error_page_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_error_page_loc_conf_t  *prev = parent;
    dh_http_error_page_loc_conf_t  *conf = child;

    if (conf->pages == NULL) {
        conf->pages = prev->pages;
    }

    return DH_CONF_OK;
}

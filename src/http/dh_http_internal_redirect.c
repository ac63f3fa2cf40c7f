/*
 * Internal redirects: a request restarts at the server's locations with a
 * new URI (error_page, try_files), or goes straight to a named location
 * ("location @name"), which no request URI can reach.  Both drop what the
 * first location prepared for its answer and count against
 * DH_HTTP_MAX_URI_CHANGES, so a cycle ends in 500 instead of a loop.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


/* Forgets the first location's answer; 0, or 500 after too many hops. */
static dh_int_t
dh_http_redirect_reset(dh_http_request_t *r, dh_str_t *target)
{
    dh_table_elt_t  *h;

    if (++r->uri_changes > DH_HTTP_MAX_URI_CHANGES) {
        dh_log_error(DH_LOG_ERR, r->connection->log, 0,
                     "internal redirection cycle while processing \"%.*s\"",
                     DH_STR_FMT(*target));
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    dh_str_null(&r->headers_out.content_type);
    r->headers_out.status = 0;
    r->headers_out.status_line.len = 0;
    r->headers_out.content_length_n = -1;
    r->headers_out.last_modified_time = -1;

    h = r->headers_out.location;
    if (h) {
        h->hash = 0;
        r->headers_out.location = NULL;
    }

    h = r->headers_out.etag;
    if (h) {
        h->hash = 0;
        r->headers_out.etag = NULL;
    }

    dh_memzero(r->ctx, sizeof(void *) * dh_http_max_module);

    r->content_handler = NULL;

    return 0;
}


dh_int_t
dh_http_internal_redirect(dh_http_request_t *r, dh_str_t *uri,
    dh_str_t *args)
{
    dh_int_t                   rc;
    dh_http_core_srv_conf_t   *cscf;
    dh_http_core_main_conf_t  *cmcf;

    rc = dh_http_redirect_reset(r, uri);
    if (rc != 0) {
        return rc;
    }

    r->uri = *uri;

    if (args) {
        r->args = *args;
    }

    dh_http_set_exten(r);

    cscf = dh_http_get_module_srv_conf(r, dh_http_core_module);
    cmcf = dh_http_get_module_main_conf(r, dh_http_core_module);

    r->loc_conf = cscf->ctx->loc_conf;
    r->phase_handler = cmcf->phase_engine.server_rewrite_index;

    dh_http_core_run_phases(r);

    return DH_DONE;
}


dh_int_t
dh_http_named_location(dh_http_request_t *r, dh_str_t *name)
{
    dh_int_t                   rc;
    dh_uint_t                  i;
    dh_http_core_srv_conf_t   *cscf;
    dh_http_core_loc_conf_t   *clcf, *slcf;
    dh_http_core_main_conf_t  *cmcf;

    rc = dh_http_redirect_reset(r, name);
    if (rc != 0) {
        return rc;
    }

    cscf = dh_http_get_module_srv_conf(r, dh_http_core_module);
    cmcf = dh_http_get_module_main_conf(r, dh_http_core_module);
    slcf = cscf->ctx->loc_conf[dh_http_core_module.ctx_index];

    for (i = 0; i < slcf->nnamed; i++) {
        clcf = slcf->named_locations[i];

        if (!dh_str_eq(&clcf->name, name)) {
            continue;
        }

        r->loc_conf = clcf->loc_conf;
        r->content_handler = clcf->handler;

        if (clcf->keepalive_timeout == 0
            || r->connection->requests >= clcf->keepalive_requests)
        {
            r->keepalive = 0;
        }

        /* the URI stays as it is; matching starts after the location
         * lookup, as if the named location had been found */
        r->phase_handler = cmcf->phase_engine.location_rewrite_index;

        dh_http_core_run_phases(r);

        return DH_DONE;
    }

    dh_log_error(DH_LOG_ERR, r->connection->log, 0,
                 "could not find named location \"%.*s\"",
                 DH_STR_FMT(*name));

    return DH_HTTP_INTERNAL_SERVER_ERROR;
}

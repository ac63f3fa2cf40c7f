/*
 * The phase engine's checkers (how a handler's answer moves the request
 * through server rewrite, location lookup, access, content) and the
 * location lookup itself: exact match, longest prefix, then regular
 * expressions, nested locations searched the same way.  Split out of
 * dh_http_core_module.c, which holds the core's configuration.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


/* ---- phases ----------------------------------------------------------- */

dh_int_t
dh_http_core_run_phases(dh_http_request_t *r)
{
    dh_int_t                    rc;
    dh_http_phase_handler_t    *ph;
    dh_http_core_main_conf_t   *cmcf;

    cmcf = dh_http_get_module_main_conf(r, dh_http_core_module);
    ph = cmcf->phase_engine.handlers;

    while (ph[r->phase_handler].checker) {
        rc = ph[r->phase_handler].checker(r, &ph[r->phase_handler]);

        if (rc == DH_OK) {
            return DH_OK;
        }
    }

    return DH_OK;
}


dh_int_t
dh_http_core_generic_phase(dh_http_request_t *r, dh_http_phase_handler_t *ph)
{
    dh_int_t  rc;

    rc = ph->handler(r);

    if (rc == DH_OK) {
        r->phase_handler = ph->next;
        return DH_AGAIN;
    }

    if (rc == DH_DECLINED) {
        r->phase_handler++;
        return DH_AGAIN;
    }

    if (rc == DH_AGAIN || rc == DH_DONE) {
        return DH_OK;
    }

    dh_http_finalize_request(r, rc);

    return DH_OK;
}


/* A challenge an earlier access handler added is not sent with a response
 * that another handler let through (satisfy any). */
static void
dh_http_core_drop_challenge(dh_http_request_t *r)
{
    dh_uint_t         i;
    dh_list_part_t   *part;
    dh_table_elt_t   *h;

    for (part = &r->headers_out.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (h[i].key.len == sizeof("WWW-Authenticate") - 1
                && dh_strncasecmp(h[i].key.data,
                                  (u_char *) "WWW-Authenticate",
                                  h[i].key.len) == 0)
            {
                h[i].hash = 0;
            }
        }
    }
}


/* The access phase honours satisfy: under "any" a denial is only
 * remembered (401 wins over 403, so the client is asked for credentials)
 * and sent when no access handler let the request through. */
dh_int_t
dh_http_core_access_phase(dh_http_request_t *r, dh_http_phase_handler_t *ph)
{
    dh_int_t                  rc;
    dh_http_core_loc_conf_t  *clcf;

    rc = ph->handler(r);

    if (rc == DH_AGAIN || rc == DH_DONE) {
        return DH_OK;
    }

    clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);

    if (clcf->satisfy == DH_HTTP_SATISFY_ALL) {
        if (rc == DH_OK || rc == DH_DECLINED) {
            r->phase_handler++;
            return DH_AGAIN;
        }

        dh_http_finalize_request(r, rc);
        return DH_OK;
    }

    if (rc == DH_OK) {
        if (r->access_code == DH_HTTP_UNAUTHORIZED) {
            dh_http_core_drop_challenge(r);
        }

        r->access_code = 0;
        r->phase_handler = ph->next;
        return DH_AGAIN;
    }

    if (rc == DH_HTTP_FORBIDDEN || rc == DH_HTTP_UNAUTHORIZED) {
        if (r->access_code != DH_HTTP_UNAUTHORIZED) {
            r->access_code = rc;
        }

    } else if (rc != DH_DECLINED) {
        dh_http_finalize_request(r, rc);
        return DH_OK;
    }

    r->phase_handler++;

    if ((dh_uint_t) r->phase_handler == ph->next && r->access_code) {
        dh_http_finalize_request(r, r->access_code);
        return DH_OK;
    }

    return DH_AGAIN;
}


dh_int_t
dh_http_core_find_config_phase(dh_http_request_t *r,
    dh_http_phase_handler_t *ph)
{
    dh_http_core_loc_conf_t  *clcf;

    dh_http_core_find_location(r);

    clcf = dh_http_get_module_loc_conf(r, dh_http_core_module);

    r->content_handler = clcf->handler;

    if (clcf->keepalive_timeout == 0
        || r->connection->requests >= clcf->keepalive_requests)
    {
        r->keepalive = 0;
    }

    r->phase_handler++;

    return DH_AGAIN;
}


dh_int_t
dh_http_core_content_phase(dh_http_request_t *r, dh_http_phase_handler_t *ph)
{
    dh_int_t  rc;

    if (r->content_handler) {
        r->write_event_handler = dh_http_request_empty_handler;
        dh_http_finalize_request(r, r->content_handler(r));
        return DH_OK;
    }

    rc = ph->handler(r);

    if (rc != DH_DECLINED) {
        dh_http_finalize_request(r, rc);
        return DH_OK;
    }

    ph++;

    if (ph->checker) {
        r->phase_handler++;
        return DH_AGAIN;
    }

    /* nobody took it */
    if (r->uri.len && r->uri.data[r->uri.len - 1] == '/') {
        dh_http_finalize_request(r, DH_HTTP_FORBIDDEN);
    } else {
        dh_http_finalize_request(r, DH_HTTP_NOT_FOUND);
    }

    return DH_OK;
}


/* ---- location lookup -------------------------------------------------- */

static dh_http_core_loc_conf_t *
dh_http_core_find_exact(dh_http_core_loc_conf_t *pclcf, dh_str_t *uri)
{
    int                        rc;
    dh_uint_t                  lo, hi, mid;
    dh_http_core_loc_conf_t   *clcf;

    lo = 0;
    hi = pclcf->nexact;

    while (lo < hi) {
        mid = (lo + hi) / 2;
        clcf = pclcf->exact_locations[mid];

        rc = dh_memcmp(uri->data, clcf->name.data,
                       dh_min(uri->len, clcf->name.len));

        if (rc == 0) {
            if (uri->len == clcf->name.len) {
                return clcf;
            }
            rc = (uri->len < clcf->name.len) ? -1 : 1;
        }

        if (rc < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }

    return NULL;
}


#define DH_HTTP_LOC_NONE    0
#define DH_HTTP_LOC_PREFIX  1   /* a prefix matched; a regex may override */
#define DH_HTTP_LOC_FINAL   2   /* exact, ^~ or regex: the search ends */

/*
 * nginx's order: an exact match ends the search; otherwise the longest
 * prefix is remembered and its nested locations are searched the same
 * way; then, unless that prefix is ^~, the regex locations of this level
 * are tried in written order and the first match wins (with its own
 * nested locations searched in turn).
 */
static dh_uint_t
dh_http_core_find_in(dh_http_request_t *r, dh_http_core_loc_conf_t *pclcf)
{
    dh_uint_t                  i, rc;
    dh_http_core_loc_conf_t   *clcf;

    if (pclcf->nexact) {
        clcf = dh_http_core_find_exact(pclcf, &r->uri);

        if (clcf) {
            r->loc_conf = clcf->loc_conf;
            return DH_HTTP_LOC_FINAL;
        }
    }

    rc = DH_HTTP_LOC_NONE;

    for (i = 0; i < pclcf->nprefix; i++) {
        clcf = pclcf->prefix_locations[i];

        if (r->uri.len >= clcf->name.len
            && dh_memcmp(r->uri.data, clcf->name.data, clcf->name.len) == 0)
        {
            r->loc_conf = clcf->loc_conf;

            if (dh_http_core_find_in(r, clcf) == DH_HTTP_LOC_FINAL
                || clcf->noregex)
            {
                return DH_HTTP_LOC_FINAL;
            }

            rc = DH_HTTP_LOC_PREFIX;
            break;
        }
    }

#if (DH_HAVE_PCRE2)
    for (i = 0; i < pclcf->nregex; i++) {
        clcf = pclcf->regex_locations[i];

        switch (dh_http_regex_exec(r, clcf->regex_match, &r->uri)) {

        case DH_OK:
            r->loc_conf = clcf->loc_conf;
            (void) dh_http_core_find_in(r, clcf);
            return DH_HTTP_LOC_FINAL;

        case DH_DECLINED:
            continue;

        default:
            /* logged; the prefix match, if any, answers */
            return rc;
        }
    }
#endif

    return rc;
}


void
dh_http_core_find_location(dh_http_request_t *r)
{
    (void) dh_http_core_find_in(r,
                    dh_http_get_module_loc_conf(r, dh_http_core_module));
}

/*
 * Conditional requests (RFC 9110 section 13) for any 200 response that
 * carries an ETag and/or Last-Modified: If-Match and If-Unmodified-Since
 * answer 412, If-None-Match and If-Modified-Since answer 304 (412 for
 * If-None-Match on a method other than GET and HEAD).  The preconditions
 * are evaluated in the RFC's order, and a later one is skipped when the
 * earlier one of its pair is present.  If-Match compares entity tags
 * strongly, If-None-Match weakly.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


static dh_int_t dh_http_not_modified_filter_init(dh_conf_t *cf);
static dh_int_t dh_http_not_modified_header_filter(dh_http_request_t *r);


static dh_http_module_t  dh_http_not_modified_filter_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_not_modified_filter_init,      /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


dh_module_t  dh_http_not_modified_filter_module = {
    DH_MODULE_V1,
    &dh_http_not_modified_filter_module_ctx, /* module context */
    NULL,                                  /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


static dh_http_output_header_filter_pt  dh_http_next_header_filter;


/*
 * Whether a list of entity tags (all the header lines of one name)
 * matches ours: "*" matches any current representation; the strong
 * comparison needs both tags strong, the weak one ignores "W/".
 */
static dh_uint_t
dh_http_etag_list_match(dh_table_elt_t *h, dh_table_elt_t *etag,
    dh_uint_t strong)
{
    u_char    *p, *last, *start, *tag;
    size_t     len;
    dh_uint_t  weak;

    tag = NULL;
    len = 0;

    if (etag && etag->hash) {
        tag = etag->value.data;
        len = etag->value.len;
        weak = (len > 2 && tag[0] == 'W' && tag[1] == '/');

        if (weak) {
            if (strong) {
                tag = NULL;         /* a weak tag never matches strongly */
            } else {
                tag += 2;
                len -= 2;
            }
        }
    }

    for ( /* void */ ; h; h = h->next) {
        p = h->value.data;
        last = p + h->value.len;

        while (p < last) {
            while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
                p++;
            }

            start = p;

            /* a tag may hold a comma inside its quotes */
            if (p + 2 < last && p[0] == 'W' && p[1] == '/') {
                p += 2;
            }

            if (p < last && *p == '"') {
                for (p++; p < last && *p != '"'; p++) { /* void */ }

                if (p < last) {
                    p++;
                }
            }

            while (p < last && *p != ',') {
                p++;
            }

            while (p > start && (p[-1] == ' ' || p[-1] == '\t')) {
                p--;
            }

            if (p - start == 1 && *start == '*') {
                return 1;           /* a 200 means the resource exists */
            }

            if (p - start > 2 && start[0] == 'W' && start[1] == '/') {
                if (strong) {
                    goto next;
                }

                start += 2;
            }

            if (tag && (size_t) (p - start) == len
                && dh_memcmp(start, tag, len) == 0)
            {
                return 1;
            }

        next:

            while (p < last && *p != ',') {
                p++;
            }
        }
    }

    return 0;
}


static time_t
dh_http_header_time(dh_table_elt_t *h)
{
    return dh_parse_http_time(h->value.data, h->value.len);
}


/* 0: go on with the response, or the status that replaces it */
static dh_uint_t
dh_http_not_modified_test(dh_http_request_t *r)
{
    time_t                  t, mtime;
    dh_http_headers_in_t   *hi;

    hi = &r->headers_in;
    mtime = r->headers_out.last_modified_time;

    if (hi->if_match) {
        if (!dh_http_etag_list_match(hi->if_match, r->headers_out.etag, 1)) {
            return DH_HTTP_PRECONDITION_FAILED;
        }

    } else if (hi->if_unmodified_since && mtime != -1) {
        t = dh_http_header_time(hi->if_unmodified_since);

        if (t != -1 && mtime > t) {
            return DH_HTTP_PRECONDITION_FAILED;
        }
    }

    if (hi->if_none_match) {
        if (dh_http_etag_list_match(hi->if_none_match,
                                    r->headers_out.etag, 0))
        {
            return (r->method & (DH_HTTP_GET|DH_HTTP_HEAD))
                   ? DH_HTTP_NOT_MODIFIED : DH_HTTP_PRECONDITION_FAILED;
        }

    } else if (hi->if_modified_since && mtime != -1
               && (r->method & (DH_HTTP_GET|DH_HTTP_HEAD)))
    {
        t = dh_http_header_time(hi->if_modified_since);

        if (t != -1 && mtime <= t) {
            return DH_HTTP_NOT_MODIFIED;
        }
    }

    return 0;
}


static dh_int_t
dh_http_not_modified_header_filter(dh_http_request_t *r)
{
    dh_uint_t  status;

    if (r->headers_out.status != DH_HTTP_OK) {
        return dh_http_next_header_filter(r);
    }

    status = dh_http_not_modified_test(r);

    if (status == 0) {
        return dh_http_next_header_filter(r);
    }

    r->headers_out.status = status;
    r->allow_ranges = 0;

    if (status == DH_HTTP_PRECONDITION_FAILED) {
        /* an empty answer; the handler sees header_only and stops */
        r->headers_out.content_length_n = 0;
        r->headers_out.last_modified_time = -1;
        dh_str_null(&r->headers_out.content_type);
        r->header_only = 1;
    }

    return dh_http_next_header_filter(r);
}


static dh_int_t
dh_http_not_modified_filter_init(dh_conf_t *cf)
{
    dh_http_next_header_filter = dh_http_top_header_filter;
    dh_http_top_header_filter = dh_http_not_modified_header_filter;

    return DH_OK;
}

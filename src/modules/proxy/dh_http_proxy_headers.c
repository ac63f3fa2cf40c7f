/*
 * Headers of the reverse proxy, both ways.
 *
 * To the backend: the request line (with the location prefix replaced by
 * proxy_pass's URI part, nginx's rule), the configured headers (Host,
 * X-Real-IP, X-Forwarded-For and X-Forwarded-Proto by default,
 * proxy_set_header overriding them by name, an empty value removing one),
 * then the client's headers except hop-by-hop ones: Connection and every
 * name it lists, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade
 * (unless the request upgrades), Proxy-*, and the body framing we
 * redo ourselves (Content-Length, Expect).  "Connection: close" goes
 * out unless the upstream keeps connections (keepalive N and HTTP/1.1),
 * "Connection: upgrade" with an upgrade.
 *
 * Back to the client: the status and every header but the hop-by-hop ones
 * and the hidden ones (Date and Server, which the header filter writes,
 * X-Pad and X-Accel-*, and proxy_hide_header's).  Content-Length and
 * Content-Type go to r->headers_out so the filters re-frame the body.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"
#include "dh_http_proxy.h"


typedef struct {
    dh_str_t    key;
    dh_str_t    value;
} dh_http_proxy_default_t;


static dh_http_proxy_default_t  dh_http_proxy_default_headers[] = {
    { dh_string("Host"), dh_string("$proxy_host") },
    { dh_string("X-Real-IP"), dh_string("$remote_addr") },
    { dh_string("X-Forwarded-For"), dh_string("$proxy_add_x_forwarded_for") },
    { dh_string("X-Forwarded-Proto"), dh_string("$scheme") },
    { dh_null_string, dh_null_string }
};


/* hidden unless proxy_pass_header names them (Date and Server always:
 * the header filter writes ours) */
static dh_str_t  dh_http_proxy_hide_default[] = {
    dh_string("x-pad"),
    dh_string("x-accel-expires"),
    dh_string("x-accel-redirect"),
    dh_string("x-accel-limit-rate"),
    dh_string("x-accel-buffering"),
    dh_string("x-accel-charset"),
    dh_null_string
};


static dh_int_t dh_http_proxy_host_variable(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);
static dh_int_t dh_http_proxy_xff_variable(dh_http_request_t *r,
    dh_http_variable_value_t *v, uintptr_t data);


/* ---- configuration ---------------------------------------------------- */

static char *
dh_http_proxy_push_header(dh_conf_t *cf, dh_array_t *headers, dh_str_t *key,
    dh_str_t *value)
{
    dh_uint_t                         i;
    dh_http_proxy_header_t           *h;
    dh_http_compile_complex_value_t   ccv;

    h = headers->elts;

    for (i = 0; i < headers->nelts; i++) {
        if (h[i].key.len == key->len
            && dh_strncasecmp(h[i].key.data, key->data, key->len) == 0)
        {
            /* proxy_set_header overrides a default of the same name */
            break;
        }
    }

    if (i == headers->nelts) {
        h = dh_array_push(headers);
        if (h == NULL) {
            return DH_CONF_ERROR;
        }

    } else {
        h = &h[i];
    }

    h->key = *key;
    h->lowcase_key.len = key->len;
    h->lowcase_key.data = dh_pnalloc(cf->pool, key->len);
    if (h->lowcase_key.data == NULL) {
        return DH_CONF_ERROR;
    }

    dh_strlow(h->lowcase_key.data, key->data, key->len);

    dh_memzero(&ccv, sizeof(dh_http_compile_complex_value_t));
    ccv.cf = cf;
    ccv.value = value;
    ccv.complex_value = &h->value;

    if (dh_http_compile_complex_value(&ccv) != DH_OK) {
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


static dh_int_t
dh_http_proxy_named(dh_array_t *a, u_char *name, size_t len)
{
    dh_str_t   *s;
    dh_uint_t   i;

    if (a == NULL) {
        return 0;
    }

    s = a->elts;

    for (i = 0; i < a->nelts; i++) {
        if (s[i].len == len && dh_strncasecmp(s[i].data, name, len) == 0) {
            return 1;
        }
    }

    return 0;
}


static char *
dh_http_proxy_push_hide(dh_conf_t *cf, dh_array_t *hide, dh_str_t *name)
{
    dh_str_t  *s;

    s = dh_array_push(hide);
    if (s == NULL) {
        return DH_CONF_ERROR;
    }

    s->len = name->len;
    s->data = dh_pnalloc(cf->pool, name->len);
    if (s->data == NULL) {
        return DH_CONF_ERROR;
    }

    dh_strlow(s->data, name->data, name->len);

    return DH_CONF_OK;
}


char *
dh_http_proxy_compile_headers(dh_conf_t *cf, dh_http_proxy_loc_conf_t *conf)
{
    dh_str_t                  *s;
    dh_uint_t                  i;
    dh_keyval_t               *kv;
    dh_http_proxy_default_t   *d;

    conf->headers = dh_array_create(cf->pool, 8,
                                    sizeof(dh_http_proxy_header_t));
    if (conf->headers == NULL) {
        return DH_CONF_ERROR;
    }

    for (d = dh_http_proxy_default_headers; d->key.len; d++) {
        if (dh_http_proxy_push_header(cf, conf->headers, &d->key, &d->value)
            != DH_CONF_OK)
        {
            return DH_CONF_ERROR;
        }
    }

    if (conf->set_headers) {
        kv = conf->set_headers->elts;

        for (i = 0; i < conf->set_headers->nelts; i++) {
            if (dh_http_proxy_push_header(cf, conf->headers, &kv[i].key,
                                          &kv[i].value)
                != DH_CONF_OK)
            {
                return DH_CONF_ERROR;
            }
        }
    }

    conf->hide = dh_array_create(cf->pool, 8, sizeof(dh_str_t));
    if (conf->hide == NULL) {
        return DH_CONF_ERROR;
    }

    for (s = dh_http_proxy_hide_default; s->len; s++) {
        if (dh_http_proxy_named(conf->pass_headers, s->data, s->len)) {
            continue;
        }

        if (dh_http_proxy_push_hide(cf, conf->hide, s) != DH_CONF_OK) {
            return DH_CONF_ERROR;
        }
    }

    if (conf->hide_headers) {
        s = conf->hide_headers->elts;

        for (i = 0; i < conf->hide_headers->nelts; i++) {
            if (dh_http_proxy_push_hide(cf, conf->hide, &s[i]) != DH_CONF_OK)
            {
                return DH_CONF_ERROR;
            }
        }
    }

    return DH_CONF_OK;
}


/* ---- helpers ------------------------------------------------------------ */

/* Whether the comma-separated token list of h (and its repeats) holds
 * name (case-insensitive). */
static dh_uint_t
dh_http_proxy_token(dh_table_elt_t *h, u_char *name, size_t len)
{
    u_char  *p, *last, *start, *end;

    for ( /* void */ ; h; h = h->next) {
        p = h->value.data;
        last = p + h->value.len;

        while (p < last) {
            while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
                p++;
            }

            start = p;

            while (p < last && *p != ',') {
                p++;
            }

            end = p;

            while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
                end--;
            }

            if ((size_t) (end - start) == len
                && dh_strncasecmp(start, name, len) == 0)
            {
                return 1;
            }
        }
    }

    return 0;
}


#define dh_http_proxy_is(name, len, s)                                        \
    ((len) == sizeof(s) - 1 && dh_memcmp(name, s, sizeof(s) - 1) == 0)

/* Hop-by-hop names (lower-case), the same both ways.  Every header of
 * every request passes here: the length picks the one name to compare. */
static dh_uint_t
dh_http_proxy_hop_by_hop(u_char *name, size_t len)
{
    if (len > 6 && dh_memcmp(name, "proxy-", 6) == 0) {
        return 1;
    }

    switch (len) {
    case 2:
        return dh_http_proxy_is(name, len, "te");
    case 7:
        return dh_http_proxy_is(name, len, "trailer")
               || dh_http_proxy_is(name, len, "upgrade");
    case 10:
        return dh_http_proxy_is(name, len, "connection")
               || dh_http_proxy_is(name, len, "keep-alive");
    case 17:
        return dh_http_proxy_is(name, len, "transfer-encoding");
    default:
        return 0;
    }
}


/* Whether a lower-case name is in a list of lower-case names. */
static dh_uint_t
dh_http_proxy_in_list(dh_array_t *a, u_char *name, size_t len)
{
    dh_str_t   *s;
    dh_uint_t   i;

    s = a->elts;

    for (i = 0; i < a->nelts; i++) {
        if (s[i].len == len && dh_memcmp(s[i].data, name, len) == 0) {
            return 1;
        }
    }

    return 0;
}


/* The first header of a list with a lower-case name, or NULL. */
static dh_table_elt_t *
dh_http_proxy_find(dh_list_t *list, const char *lowcase)
{
    size_t           len;
    dh_uint_t        i;
    dh_list_part_t  *part;
    dh_table_elt_t  *h;

    len = dh_strlen(lowcase);
    part = &list->part;
    h = part->elts;

    for (i = 0; /* void */; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash && h[i].key.len == len && h[i].lowcase_key
            && dh_strncmp(h[i].lowcase_key, lowcase, len) == 0)
        {
            return &h[i];
        }
    }
}


/* Characters of a decoded path that must be %XX-escaped again. */
static dh_uint_t
dh_http_proxy_escape_char(u_char ch)
{
    return ch <= 0x20 || ch >= 0x7f || ch == '%' || ch == '?' || ch == '#'
           || ch == '"' || ch == '<' || ch == '>' || ch == '\\'
           || ch == '^' || ch == '`' || ch == '{' || ch == '|' || ch == '}';
}


static size_t
dh_http_proxy_escaped_len(dh_str_t *s)
{
    size_t  i, n;

    n = s->len;

    for (i = 0; i < s->len; i++) {
        if (dh_http_proxy_escape_char(s->data[i])) {
            n += 2;
        }
    }

    return n;
}


static u_char *
dh_http_proxy_escape(u_char *p, dh_str_t *s)
{
    size_t               i;
    static const u_char  hex[] = "0123456789ABCDEF";

    for (i = 0; i < s->len; i++) {
        if (dh_http_proxy_escape_char(s->data[i])) {
            *p++ = '%';
            *p++ = hex[s->data[i] >> 4];
            *p++ = hex[s->data[i] & 0x0f];

        } else {
            *p++ = s->data[i];
        }
    }

    return p;
}


/*
 * The URI to send.  Without a URI part: the client's URI as it came, or
 * the current one (escaped) after an internal redirect.  With one: the
 * part replaces the location prefix.  With variables: exactly what they
 * give.
 */
static dh_int_t
dh_http_proxy_uri(dh_http_request_t *r, dh_http_proxy_loc_conf_t *plcf,
    dh_str_t *uri)
{
    size_t     len;
    u_char    *p;
    dh_str_t   tail;

    if (plcf->uri_value) {
        return dh_http_complex_value(r, plcf->uri_value, uri);
    }

    if (!plcf->has_uri && r->uri_changes == 0) {
        *uri = r->unparsed_uri;
        return DH_OK;
    }

    tail = r->uri;

    if (plcf->has_uri && r->uri.len >= plcf->location.len
        && dh_strncmp(r->uri.data, plcf->location.data, plcf->location.len)
           == 0)
    {
        tail.data += plcf->location.len;
        tail.len -= plcf->location.len;
    }

    len = plcf->uri.len + dh_http_proxy_escaped_len(&tail);

    if (r->args.len) {
        len += 1 + r->args.len;
    }

    p = dh_pnalloc(r->pool, len);
    if (p == NULL) {
        return DH_ERROR;
    }

    uri->data = p;

    p = dh_cpymem(p, plcf->uri.data, plcf->uri.len);
    p = dh_http_proxy_escape(p, &tail);

    if (r->args.len) {
        *p++ = '?';
        p = dh_cpymem(p, r->args.data, r->args.len);
    }

    uri->len = p - uri->data;

    if (uri->len == 0) {
        dh_str_set(uri, "/");
    }

    return DH_OK;
}


/* Whether a client header goes to the backend as it is. */
static dh_uint_t
dh_http_proxy_pass_in(dh_http_request_t *r, dh_http_proxy_loc_conf_t *plcf,
    dh_table_elt_t *h)
{
    dh_uint_t                i;
    dh_http_proxy_header_t  *ph;

    if (h->hash == 0 || h->lowcase_key == NULL) {
        return 0;
    }

    if (dh_http_proxy_hop_by_hop(h->lowcase_key, h->key.len)) {
        return 0;
    }

    if (dh_http_proxy_is(h->lowcase_key, h->key.len, "content-length")
        || dh_http_proxy_is(h->lowcase_key, h->key.len, "expect")
        || dh_http_proxy_is(h->lowcase_key, h->key.len, "host"))
    {
        return 0;
    }

    ph = plcf->headers->elts;

    for (i = 0; i < plcf->headers->nelts; i++) {
        if (ph[i].lowcase_key.len == h->key.len
            && dh_strncmp(ph[i].lowcase_key.data, h->lowcase_key,
                          h->key.len) == 0)
        {
            return 0;
        }
    }

    if (r->headers_in.connection
        && dh_http_proxy_token(r->headers_in.connection, h->lowcase_key,
                               h->key.len))
    {
        return 0;
    }

    return 1;
}


/* ---- the request head ------------------------------------------------- */

dh_buf_t *
dh_http_proxy_create_request(dh_http_request_t *r,
    dh_http_proxy_loc_conf_t *plcf, off_t body_len, dh_uint_t *upgrade)
{
    size_t                   len;
    dh_buf_t                *b;
    dh_str_t                 uri, *values;
    dh_uint_t                i, n, close;
    dh_list_part_t          *part;
    dh_table_elt_t          *h, *up;
    dh_http_proxy_header_t  *ph;

    if (dh_http_proxy_uri(r, plcf, &uri) != DH_OK) {
        return NULL;
    }

    /* an upgrade goes through only as HTTP/1.1 on both sides */
    up = NULL;
    *upgrade = 0;

    if (plcf->http_version == DH_HTTP_VERSION_11
        && r->http_version == DH_HTTP_VERSION_11
        && r->headers_in.connection
        && dh_http_proxy_token(r->headers_in.connection, (u_char *) "upgrade",
                               sizeof("upgrade") - 1))
    {
        up = dh_http_proxy_find(&r->headers_in.headers, "upgrade");
        *upgrade = (up != NULL);
    }

    /* without a keep-alive pool the connection closes after the answer
     * anyway: say so, and the backend need not wait for our close */
    close = (plcf->http_version == DH_HTTP_VERSION_10
             || plcf->uscf->keepalive == 0);

    len = r->method_name.len + 1 + uri.len + sizeof(" HTTP/1.1" CRLF) - 1;

    /* configured headers: evaluated once, measured, then written */
    n = plcf->headers->nelts;
    ph = plcf->headers->elts;

    values = dh_palloc(r->pool, n * sizeof(dh_str_t));
    if (values == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        if (dh_http_complex_value(r, &ph[i].value, &values[i]) != DH_OK) {
            return NULL;
        }

        if (values[i].len) {
            len += ph[i].key.len + 2 + values[i].len + 2;
        }
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (dh_http_proxy_pass_in(r, plcf, &h[i])) {
            len += h[i].key.len + 2 + h[i].value.len + 2;
        }
    }

    if (body_len >= 0) {
        len += sizeof("Content-Length: " CRLF) - 1 + DH_INT64_LEN;

    } else if (body_len == -2) {
        len += sizeof("Transfer-Encoding: chunked" CRLF) - 1;
    }

    if (up) {
        len += sizeof("Upgrade: " CRLF) - 1 + up->value.len
               + sizeof("Connection: upgrade" CRLF) - 1;

    } else if (close) {
        len += sizeof("Connection: close" CRLF) - 1;
    }

    len += 2;

    b = dh_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    b->last = dh_cpymem(b->last, r->method_name.data, r->method_name.len);
    *b->last++ = ' ';
    b->last = dh_cpymem(b->last, uri.data, uri.len);

    if (plcf->http_version == DH_HTTP_VERSION_10) {
        b->last = dh_cpymem(b->last, " HTTP/1.0" CRLF,
                            sizeof(" HTTP/1.0" CRLF) - 1);
    } else {
        b->last = dh_cpymem(b->last, " HTTP/1.1" CRLF,
                            sizeof(" HTTP/1.1" CRLF) - 1);
    }

    for (i = 0; i < n; i++) {
        if (values[i].len == 0) {
            continue;
        }

        b->last = dh_cpymem(b->last, ph[i].key.data, ph[i].key.len);
        *b->last++ = ':'; *b->last++ = ' ';
        b->last = dh_cpymem(b->last, values[i].data, values[i].len);
        *b->last++ = CR; *b->last++ = LF;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (!dh_http_proxy_pass_in(r, plcf, &h[i])) {
            continue;
        }

        b->last = dh_cpymem(b->last, h[i].key.data, h[i].key.len);
        *b->last++ = ':'; *b->last++ = ' ';
        b->last = dh_cpymem(b->last, h[i].value.data, h[i].value.len);
        *b->last++ = CR; *b->last++ = LF;
    }

    if (body_len >= 0) {
        b->last = dh_slprintf(b->last, b->end, "Content-Length: %lld" CRLF,
                              (long long) body_len);

    } else if (body_len == -2) {
        b->last = dh_cpymem(b->last, "Transfer-Encoding: chunked" CRLF,
                            sizeof("Transfer-Encoding: chunked" CRLF) - 1);
    }

    if (up) {
        b->last = dh_cpymem(b->last, "Upgrade: ", sizeof("Upgrade: ") - 1);
        b->last = dh_cpymem(b->last, up->value.data, up->value.len);
        b->last = dh_cpymem(b->last, CRLF "Connection: upgrade" CRLF,
                            sizeof(CRLF "Connection: upgrade" CRLF) - 1);

    } else if (close) {
        b->last = dh_cpymem(b->last, "Connection: close" CRLF,
                            sizeof("Connection: close" CRLF) - 1);
    }

    *b->last++ = CR; *b->last++ = LF;

    return b;
}


/* ---- the response head ------------------------------------------------ */

static dh_uint_t
dh_http_proxy_pass_out(dh_http_proxy_loc_conf_t *plcf, dh_http_upstream_t *u,
    dh_table_elt_t *h)
{
    size_t  len;

    if (h->hash == 0 || h->lowcase_key == NULL) {
        return 0;
    }

    len = h->key.len;

    if (u->headers_in.status == 101
        && dh_http_proxy_is(h->lowcase_key, len, "upgrade"))
    {
        return 1;
    }

    if (dh_http_proxy_hop_by_hop(h->lowcase_key, len)
        || dh_http_proxy_in_list(plcf->hide, h->lowcase_key, len)
        || dh_http_proxy_is(h->lowcase_key, len, "date")
        || dh_http_proxy_is(h->lowcase_key, len, "server"))
    {
        return 0;
    }

    if (u->headers_in.connection
        && dh_http_proxy_token(u->headers_in.connection, h->lowcase_key, len))
    {
        return 0;
    }

    return 1;
}


dh_int_t
dh_http_proxy_copy_headers(dh_http_request_t *r,
    dh_http_proxy_loc_conf_t *plcf, dh_http_upstream_t *u)
{
    size_t           len;
    dh_uint_t        i;
    dh_list_part_t  *part;
    dh_table_elt_t  *h, *ho;

    r->headers_out.status = u->headers_in.status;
    r->headers_out.status_line = u->headers_in.status_line;
    r->headers_out.content_length_n = u->headers_in.content_length_n;

    part = &u->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (!dh_http_proxy_pass_out(plcf, u, &h[i])) {
            continue;
        }

        len = h[i].key.len;

        if (dh_http_proxy_is(h[i].lowcase_key, len, "content-length")) {
            continue;
        }

        if (dh_http_proxy_is(h[i].lowcase_key, len, "content-type")) {
            r->headers_out.content_type = h[i].value;
            continue;
        }

        ho = dh_http_add_header_out(r, (char *) h[i].key.data, len,
                                    h[i].value.data, h[i].value.len);
        if (ho == NULL) {
            return DH_ERROR;
        }

        ho->lowcase_key = h[i].lowcase_key;

        if (dh_http_proxy_is(h[i].lowcase_key, len, "location")) {
            r->headers_out.location = ho;

        } else if (dh_http_proxy_is(h[i].lowcase_key, len, "etag")) {
            r->headers_out.etag = ho;
        }
    }

    return DH_OK;
}


/* ---- variables ---------------------------------------------------------- */

dh_int_t
dh_http_proxy_add_variables(dh_conf_t *cf)
{
    dh_http_variable_t  *v;
    static dh_str_t      host = dh_string("proxy_host");
    static dh_str_t      xff = dh_string("proxy_add_x_forwarded_for");

    v = dh_http_add_variable(cf, &host, DH_HTTP_VAR_NOCACHEABLE);
    if (v == NULL) {
        return DH_ERROR;
    }

    v->get_handler = dh_http_proxy_host_variable;

    v = dh_http_add_variable(cf, &xff, DH_HTTP_VAR_NOCACHEABLE);
    if (v == NULL) {
        return DH_ERROR;
    }

    v->get_handler = dh_http_proxy_xff_variable;

    return DH_OK;
}


static dh_int_t
dh_http_proxy_host_variable(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    dh_http_proxy_loc_conf_t  *plcf;

    plcf = dh_http_get_module_loc_conf(r, dh_http_proxy_module);

    if (plcf->uscf == NULL) {
        v->not_found = 1;
        return DH_OK;
    }

    v->len = plcf->host.len;
    v->data = plcf->host.data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return DH_OK;
}


/* The client's X-Forwarded-For (every one of them) with $remote_addr
 * appended. */
static dh_int_t
dh_http_proxy_xff_variable(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t data)
{
    size_t                     len;
    u_char                    *p;
    dh_str_t                   addr;
    dh_uint_t                  i, pass;
    dh_list_part_t            *part;
    dh_table_elt_t            *h;
    dh_http_variable_value_t  *ra;
    static dh_str_t            name = dh_string("remote_addr");

    ra = dh_http_get_variable(r, &name);
    if (ra == NULL) {
        return DH_ERROR;
    }

    addr.len = ra->not_found ? 0 : ra->len;
    addr.data = ra->data;

    len = 0;
    p = NULL;

    /* pass 0 measures, pass 1 copies */
    for (pass = 0; pass < 2; pass++) {
        part = &r->headers_in.headers.part;
        h = part->elts;

        for (i = 0; /* void */; i++) {
            if (i >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }

                part = part->next;
                h = part->elts;
                i = 0;
            }

            if (h[i].hash == 0 || h[i].lowcase_key == NULL
                || h[i].key.len != sizeof("x-forwarded-for") - 1
                || dh_strncmp(h[i].lowcase_key, "x-forwarded-for",
                              h[i].key.len) != 0)
            {
                continue;
            }

            if (pass == 0) {
                len += h[i].value.len + 2;
                continue;
            }

            p = dh_cpymem(p, h[i].value.data, h[i].value.len);
            *p++ = ','; *p++ = ' ';
        }

        if (pass == 0) {
            if (len == 0) {
                break;
            }

            p = dh_pnalloc(r->pool, len + addr.len);
            if (p == NULL) {
                return DH_ERROR;
            }

            v->data = p;
        }
    }

    if (len == 0) {
        v->len = addr.len;
        v->data = addr.data;

    } else {
        p = dh_cpymem(p, addr.data, addr.len);
        v->len = p - v->data;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return DH_OK;
}

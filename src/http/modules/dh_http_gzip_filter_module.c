/*
 * gzip content coding for responses whose type is in `gzip_types`.
 *
 * A response of known length is held back until its first body buffers
 * arrive: if they are the whole body in memory (the small static file,
 * `return`), it is compressed in one go and sent with a correct
 * Content-Length.  Anything else is streamed: Content-Length goes, the
 * chunked filter frames the output, and deflate runs through a few fixed
 * output buffers that are reused once sent.  When the socket is full the
 * filter stops with its input still queued and resumes on the writer's
 * next call; it only ever stops while r->out holds unsent bytes, so the
 * writer keeps calling until the input is done.  Input buffers are marked
 * consumed as they are fed to zlib.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"

#include <zlib.h>


#define DH_HTTP_GZIP_OUT_SIZE   (16 * 1024)
#define DH_HTTP_GZIP_IN_SIZE    (32 * 1024)     /* file data per read */
#define DH_HTTP_GZIP_ONESHOT    (256 * 1024)


typedef struct {
    dh_flag_t       enable;
    dh_flag_t       vary;
    dh_array_t     *types;           /* of dh_str_t; NULL: text/html only */
    dh_flag_t       any_type;        /* gzip_types * */
    size_t          min_length;
    dh_int_t        level;
} dh_http_gzip_loc_conf_t;

typedef struct {
    z_stream        zs;
    dh_chain_t     *in;              /* input not yet fed */
    dh_chain_t     *free;
    dh_chain_t     *busy;
    dh_buf_t       *out_buf;         /* being filled */
    u_char         *file_buf;        /* file data being fed */
    int             flush;           /* Z_NO_FLUSH, Z_SYNC_FLUSH, Z_FINISH */
    unsigned        header_held:1;   /* the header waits for the body */
    unsigned        done:1;
} dh_http_gzip_ctx_t;


static dh_int_t dh_http_gzip_filter_init(dh_conf_t *cf);
static void *dh_http_gzip_create_loc_conf(dh_conf_t *cf);
static char *dh_http_gzip_merge_loc_conf(dh_conf_t *cf, void *parent,
    void *child);
static char *dh_http_gzip_types(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);


static dh_conf_num_bounds_t  dh_http_gzip_comp_level_bounds = {
    dh_conf_check_num_bounds, 1, 9
};


static dh_command_t  dh_http_gzip_filter_commands[] = {

    { dh_string("gzip"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_gzip_loc_conf_t, enable),
      NULL },

    { dh_string("gzip_vary"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_gzip_loc_conf_t, vary),
      NULL },

    { dh_string("gzip_types"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_1MORE,
      dh_http_gzip_types,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("gzip_min_length"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_size_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_gzip_loc_conf_t, min_length),
      NULL },

    { dh_string("gzip_comp_level"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_conf_set_num_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_gzip_loc_conf_t, level),
      &dh_http_gzip_comp_level_bounds },

      dh_null_command
};


static dh_http_module_t  dh_http_gzip_filter_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_gzip_filter_init,              /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    dh_http_gzip_create_loc_conf,          /* create location configuration */
    dh_http_gzip_merge_loc_conf            /* merge location configuration */
};


dh_module_t  dh_http_gzip_filter_module = {
    DH_MODULE_V1,
    &dh_http_gzip_filter_module_ctx,       /* module context */
    dh_http_gzip_filter_commands,          /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


static dh_http_output_header_filter_pt  dh_http_next_header_filter;
static dh_http_output_body_filter_pt    dh_http_next_body_filter;


/* Whether q=... in [p, last) is zero: "0", "0.", "0.0", "0.00", "0.000". */
static dh_uint_t
dh_http_gzip_q_zero(u_char *p, u_char *last)
{
    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (p == last || *p++ != '0') {
        return 0;
    }

    if (p < last && *p == '.') {
        for (p++; p < last && *p == '0'; p++) { /* void */ }
    }

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    return p == last;
}


/*
 * Accept-Encoding: gzip (or x-gzip) with a non-zero quality, or "*" with
 * one when gzip itself is not listed.  1: accepted, 0: not.
 */
static dh_uint_t
dh_http_gzip_accepted(dh_http_request_t *r)
{
    u_char          *p, *last, *name, *name_end, *q, *qe;
    dh_int_t         star, gzip;
    dh_table_elt_t  *h;

    star = -1;
    gzip = -1;

    for (h = r->headers_in.accept_encoding; h; h = h->next) {
        p = h->value.data;
        last = p + h->value.len;

        while (p < last) {
            while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
                p++;
            }

            name = p;

            while (p < last && *p != ',' && *p != ';' && *p != ' '
                   && *p != '\t')
            {
                p++;
            }

            name_end = p;
            q = NULL;

            /* parameters up to the next comma; only q matters */
            while (p < last && *p != ',') {
                if (*p == ';') {
                    p++;

                    while (p < last && (*p == ' ' || *p == '\t')) {
                        p++;
                    }

                    if (last - p >= 2 && (p[0] == 'q' || p[0] == 'Q')
                        && p[1] == '=')
                    {
                        q = p + 2;
                    }

                    continue;
                }

                p++;
            }

            if (name == name_end) {
                continue;
            }

            if (q) {
                for (qe = q; qe < p && *qe != ';'; qe++) { /* void */ }

                q = dh_http_gzip_q_zero(q, qe) ? q : NULL;
            }

            /* q now non-NULL only when the quality is zero */

            if ((name_end - name == 4
                 && dh_strncasecmp(name, (u_char *) "gzip", 4) == 0)
                || (name_end - name == 6
                    && dh_strncasecmp(name, (u_char *) "x-gzip", 6) == 0))
            {
                gzip = (q == NULL);

            } else if (name_end - name == 1 && *name == '*') {
                star = (q == NULL);
            }
        }
    }

    if (gzip != -1) {
        return gzip;
    }

    return star == 1;
}


static dh_uint_t
dh_http_gzip_type_ok(dh_http_request_t *r, dh_http_gzip_loc_conf_t *conf)
{
    size_t      len;
    dh_str_t   *type, *t;
    dh_uint_t   i;

    type = &r->headers_out.content_type;

    for (len = 0; len < type->len; len++) {
        if (type->data[len] == ';' || type->data[len] == ' ') {
            break;
        }
    }

    if (len == 0) {
        return 0;
    }

    if (conf->any_type
        || (len == 9 && dh_strncasecmp(type->data, (u_char *) "text/html",
                                        9) == 0))
    {
        return 1;
    }

    if (conf->types == NULL) {
        return 0;
    }

    t = conf->types->elts;

    for (i = 0; i < conf->types->nelts; i++) {
        if (t[i].len == len
            && dh_strncasecmp(t[i].data, type->data, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* Whether a handler already set a Content-Encoding. */
static dh_uint_t
dh_http_gzip_encoded(dh_http_request_t *r)
{
    dh_uint_t        i;
    dh_list_part_t  *part;
    dh_table_elt_t  *h;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash && h[i].key.len == sizeof("Content-Encoding") - 1
            && dh_strncasecmp(h[i].key.data, (u_char *) "Content-Encoding",
                              h[i].key.len) == 0)
        {
            return 1;
        }
    }
}


static void
dh_http_gzip_cleanup(void *data)
{
    dh_http_gzip_ctx_t  *ctx = data;

    deflateEnd(&ctx->zs);
}


static dh_int_t
dh_http_gzip_header_filter(dh_http_request_t *r)
{
    dh_uint_t                 status;
    dh_pool_cleanup_t        *cln;
    dh_http_gzip_ctx_t       *ctx;
    dh_http_gzip_loc_conf_t  *conf;

    conf = dh_http_get_module_loc_conf(r, dh_http_gzip_filter_module);
    status = r->headers_out.status;

    if (!conf->enable
        || (status != DH_HTTP_OK && status != DH_HTTP_FORBIDDEN
            && status != DH_HTTP_NOT_FOUND)
        || r->header_only || r->method == DH_HTTP_HEAD
        || r->headers_out.content_length_n == 0
        || (r->headers_out.content_length_n > 0
            && r->headers_out.content_length_n < (off_t) conf->min_length)
        || !dh_http_gzip_type_ok(r, conf)
        || dh_http_gzip_encoded(r))
    {
        return dh_http_next_header_filter(r);
    }

    /* the representation depends on Accept-Encoding from here on */
    if (conf->vary
        && dh_http_add_header_out(r, "Vary", sizeof("Vary") - 1,
                                  (u_char *) "Accept-Encoding",
                                  sizeof("Accept-Encoding") - 1)
           == NULL)
    {
        return DH_ERROR;
    }

    if (!dh_http_gzip_accepted(r)
        || (r->allow_ranges && r->headers_in.range))
    {
        return dh_http_next_header_filter(r);
    }

    ctx = dh_pcalloc(r->pool, sizeof(dh_http_gzip_ctx_t));
    if (ctx == NULL) {
        return DH_ERROR;
    }

    cln = dh_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return DH_ERROR;
    }

    /* 31: a 32 KiB window with the gzip wrapper */
    if (deflateInit2(&ctx->zs, (int) conf->level, Z_DEFLATED, 31, 8,
                     Z_DEFAULT_STRATEGY)
        != Z_OK)
    {
        dh_log_error(DH_LOG_ALERT, r->connection->log, 0,
                     "deflateInit2() failed");
        return DH_ERROR;
    }

    cln->handler = dh_http_gzip_cleanup;
    cln->data = ctx;

    ctx->flush = Z_NO_FLUSH;

    if (dh_http_add_header_out(r, "Content-Encoding",
                               sizeof("Content-Encoding") - 1,
                               (u_char *) "gzip", sizeof("gzip") - 1)
        == NULL)
    {
        return DH_ERROR;
    }

    dh_http_set_ctx(r, ctx, dh_http_gzip_filter_module);

    r->allow_ranges = 0;

    if (r->headers_out.content_length_n > 0
        && r->headers_out.content_length_n <= DH_HTTP_GZIP_ONESHOT)
    {
        ctx->header_held = 1;
        return DH_OK;
    }

    r->headers_out.content_length_n = -1;

    return dh_http_next_header_filter(r);
}


/* The whole body in memory and complete: one deflate, exact length. */
static dh_int_t
dh_http_gzip_oneshot(dh_http_request_t *r, dh_http_gzip_ctx_t *ctx,
    dh_chain_t *in)
{
    int          zrc;
    off_t        size;
    dh_int_t     rc;
    dh_buf_t    *b, *ob;
    dh_chain_t  *cl, out;

    size = 0;
    zrc = Z_OK;

    for (cl = in; cl; cl = cl->next) {
        size += dh_buf_size(cl->buf);
    }

    ob = dh_create_temp_buf(r->pool, deflateBound(&ctx->zs, (uLong) size));
    if (ob == NULL) {
        return DH_ERROR;
    }

    ctx->zs.next_out = ob->pos;
    ctx->zs.avail_out = (uInt) (ob->end - ob->pos);

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        ctx->zs.next_in = b->pos;
        ctx->zs.avail_in = (uInt) (b->last - b->pos);
        b->pos = b->last;

        zrc = deflate(&ctx->zs, cl->next ? Z_NO_FLUSH : Z_FINISH);

        if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
            dh_log_error(DH_LOG_ALERT, r->connection->log, 0,
                         "deflate() failed: %d", zrc);
            return DH_ERROR;
        }
    }

    if (zrc != Z_STREAM_END) {
        dh_log_error(DH_LOG_ALERT, r->connection->log, 0,
                     "deflate() did not finish in its bound");
        return DH_ERROR;
    }

    ctx->done = 1;
    ob->last = ctx->zs.next_out;
    ob->last_buf = 1;

    r->headers_out.content_length_n = ob->last - ob->pos;

    rc = dh_http_next_header_filter(r);

    if (rc == DH_ERROR || r->header_only) {
        return rc;
    }

    out.buf = ob;
    out.next = NULL;

    return dh_http_next_body_filter(r, &out);
}


/*
 * Points zlib at the next input bytes, or sets ctx->flush at a buffer
 * that ends the body or asks for a flush.  DH_OK: something to deflate;
 * DH_DECLINED: no input left for now.
 */
static dh_int_t
dh_http_gzip_next_input(dh_http_request_t *r, dh_http_gzip_ctx_t *ctx)
{
    ssize_t    n;
    dh_buf_t  *b;

    while (ctx->in) {
        b = ctx->in->buf;

        if (dh_buf_in_memory(b) && b->pos < b->last) {
            ctx->zs.next_in = b->pos;
            ctx->zs.avail_in = (uInt) (b->last - b->pos);
            b->pos = b->last;
            return DH_OK;
        }

        if (!dh_buf_in_memory(b) && b->in_file
            && b->file_pos < b->file_last)
        {
            if (ctx->file_buf == NULL) {
                ctx->file_buf = dh_pnalloc(r->pool, DH_HTTP_GZIP_IN_SIZE);
                if (ctx->file_buf == NULL) {
                    return DH_ERROR;
                }
            }

            n = pread(b->file->fd, ctx->file_buf,
                      (size_t) dh_min(b->file_last - b->file_pos,
                                      (off_t) DH_HTTP_GZIP_IN_SIZE),
                      b->file_pos);

            if (n <= 0) {
                dh_log_error(DH_LOG_CRIT, r->connection->log,
                             n == -1 ? dh_errno : 0,
                             "pread() \"%.*s\" failed or the file shrank",
                             DH_STR_FMT(b->file->name));
                return DH_ERROR;
            }

            b->file_pos += n;
            ctx->zs.next_in = ctx->file_buf;
            ctx->zs.avail_in = (uInt) n;
            return DH_OK;
        }

        ctx->in = ctx->in->next;

        if (b->last_buf) {
            ctx->flush = Z_FINISH;
            return DH_OK;
        }

        if (b->flush) {
            ctx->flush = Z_SYNC_FLUSH;
            return DH_OK;
        }
    }

    return DH_DECLINED;
}


static dh_buf_t *
dh_http_gzip_get_buf(dh_http_request_t *r, dh_http_gzip_ctx_t *ctx)
{
    dh_buf_t  *b;

    if (ctx->free) {
        b = ctx->free->buf;
        ctx->free = ctx->free->next;
        return b;
    }

    b = dh_create_temp_buf(r->pool, DH_HTTP_GZIP_OUT_SIZE);
    if (b == NULL) {
        return NULL;
    }

    b->tag = (dh_buf_tag_t) &dh_http_gzip_filter_module;

    return b;
}


static dh_int_t
dh_http_gzip_stream(dh_http_request_t *r, dh_http_gzip_ctx_t *ctx)
{
    int          zrc;
    dh_int_t     rc;
    dh_buf_t    *ob;
    dh_chain_t  *out;
    dh_uint_t    sent;

    sent = 0;

    while (!ctx->done) {

        if (ctx->zs.avail_in == 0 && ctx->flush == Z_NO_FLUSH) {
            rc = dh_http_gzip_next_input(r, ctx);

            if (rc == DH_ERROR) {
                return DH_ERROR;
            }

            if (rc == DH_DECLINED) {
                break;
            }
        }

        if (ctx->out_buf == NULL) {
            ctx->out_buf = dh_http_gzip_get_buf(r, ctx);
            if (ctx->out_buf == NULL) {
                return DH_ERROR;
            }

            ctx->zs.next_out = ctx->out_buf->last;
            ctx->zs.avail_out = (uInt) (ctx->out_buf->end
                                        - ctx->out_buf->last);
        }

        zrc = deflate(&ctx->zs, ctx->flush);

        if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
            dh_log_error(DH_LOG_ALERT, r->connection->log, 0,
                         "deflate() failed: %d", zrc);
            return DH_ERROR;
        }

        ob = ctx->out_buf;
        ob->last = ctx->zs.next_out;

        if (zrc == Z_STREAM_END) {
            ctx->done = 1;
            ob->last_buf = 1;

        } else if (ctx->zs.avail_out == 0) {
            /* full: send it; a pending flush goes on with a new one */

        } else if (ctx->flush == Z_SYNC_FLUSH) {
            ob->flush = 1;
            ctx->flush = Z_NO_FLUSH;

        } else {
            continue;               /* all input taken, room left */
        }

        ctx->out_buf = NULL;

        out = dh_alloc_chain_link(r->pool);
        if (out == NULL) {
            return DH_ERROR;
        }

        out->buf = ob;
        out->next = NULL;

        rc = dh_http_next_body_filter(r, out);
        sent = 1;

        dh_chain_update_chains(r->pool, &ctx->free, &ctx->busy, &out,
                               (dh_buf_tag_t) &dh_http_gzip_filter_module);

        if (rc != DH_OK) {
            return rc;              /* DH_AGAIN: r->out holds our bytes */
        }
    }

    return sent ? DH_OK : dh_http_next_body_filter(r, NULL);
}


static dh_int_t
dh_http_gzip_body_filter(dh_http_request_t *r, dh_chain_t *in)
{
    off_t                size;
    dh_int_t             rc;
    dh_chain_t          *cl;
    dh_uint_t            complete;
    dh_http_gzip_ctx_t  *ctx;

    ctx = dh_http_get_module_ctx(r, dh_http_gzip_filter_module);

    if (ctx == NULL || ctx->done) {
        return dh_http_next_body_filter(r, in);
    }

    if (ctx->header_held) {
        if (in == NULL) {
            return DH_OK;
        }

        ctx->header_held = 0;
        complete = 0;
        size = 0;

        for (cl = in; cl; cl = cl->next) {
            if (!dh_buf_in_memory_only(cl->buf)
                && dh_buf_size(cl->buf) != 0)
            {
                break;
            }

            size += dh_buf_size(cl->buf);
            complete = cl->buf->last_buf;
        }

        if (cl == NULL && complete && size <= DH_HTTP_GZIP_ONESHOT) {
            return dh_http_gzip_oneshot(r, ctx, in);
        }

        r->headers_out.content_length_n = -1;

        rc = dh_http_next_header_filter(r);

        if (rc == DH_ERROR || r->header_only) {
            return rc;
        }
    }

    if (in && dh_chain_add_copy(r->pool, &ctx->in, in) != DH_OK) {
        return DH_ERROR;
    }

    return dh_http_gzip_stream(r, ctx);
}


static dh_int_t
dh_http_gzip_filter_init(dh_conf_t *cf)
{
    dh_http_next_header_filter = dh_http_top_header_filter;
    dh_http_top_header_filter = dh_http_gzip_header_filter;

    dh_http_next_body_filter = dh_http_top_body_filter;
    dh_http_top_body_filter = dh_http_gzip_body_filter;

    return DH_OK;
}


static void *
dh_http_gzip_create_loc_conf(dh_conf_t *cf)
{
    dh_http_gzip_loc_conf_t  *conf;

    conf = dh_pcalloc(cf->pool, sizeof(dh_http_gzip_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enable = DH_CONF_UNSET;
    conf->vary = DH_CONF_UNSET;
    conf->types = DH_CONF_UNSET_PTR;
    conf->any_type = DH_CONF_UNSET;
    conf->min_length = DH_CONF_UNSET_SIZE;
    conf->level = DH_CONF_UNSET;

    return conf;
}


static char *
dh_http_gzip_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_gzip_loc_conf_t  *prev = parent;
    dh_http_gzip_loc_conf_t  *conf = child;

    dh_conf_merge_value(conf->enable, prev->enable, 0);
    dh_conf_merge_value(conf->vary, prev->vary, 0);
    dh_conf_merge_ptr_value(conf->types, prev->types, NULL);
    dh_conf_merge_value(conf->any_type, prev->any_type, 0);
    dh_conf_merge_size_value(conf->min_length, prev->min_length, 20);
    dh_conf_merge_value(conf->level, prev->level, 1);

    return DH_CONF_OK;
}


static char *
dh_http_gzip_types(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_gzip_loc_conf_t *gcf = conf;

    dh_str_t   *value, *t;
    dh_uint_t   i;

    if (gcf->types != DH_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    gcf->types = dh_array_create(cf->pool, cf->args->nelts - 1,
                                 sizeof(dh_str_t));
    if (gcf->types == NULL) {
        return DH_CONF_ERROR;
    }

    gcf->any_type = 0;
    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 1 && value[i].data[0] == '*') {
            gcf->any_type = 1;
            continue;
        }

        t = dh_array_push(gcf->types);
        if (t == NULL) {
            return DH_CONF_ERROR;
        }

        *t = value[i];
    }

    return DH_CONF_OK;
}

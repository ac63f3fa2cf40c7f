/*
 * Access log: log_format, access_log and request_id_header.
 *
 * A format is compiled once into literal and variable parts.  At the end
 * of a request (LOG phase) each configured log gets one line, built in one
 * buffer and written with one write() to an O_APPEND file of the cycle, so
 * lines of several workers never interleave and USR1 reopens the files.
 *
 * "buffer=size" keeps a worker's lines in memory (one buffer per file, so
 * lines of several access_log lines to one file stay in order) and writes
 * them when the buffer is full, "flush=time" after the first line waited
 * that long, before a reopen and when the worker exits; a write still
 * holds whole lines only.  "if=condition" skips the line when the value
 * is empty or "0".
 *
 * request_id_header adds "X-Request-ID: $request_id" to every response.
 * An X-Request-ID sent by the client is not reused: $request_id is always
 * made here, so it is unique and cannot be forged into other requests'
 * logs; the client's value stays available as $http_x_request_id.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"


#define DH_HTTP_LOG_ESCAPE_DEFAULT  0
#define DH_HTTP_LOG_ESCAPE_JSON     1
#define DH_HTTP_LOG_ESCAPE_NONE     2

/* flush= without buffer= */
#define DH_HTTP_LOG_BUFFER_SIZE     (64 * 1024)

typedef struct {
    dh_str_t                   text;        /* literal when index < 0 */
    dh_int_t                   index;
} dh_http_log_op_t;

typedef struct {
    dh_str_t                   name;
    dh_array_t                 ops;         /* of dh_http_log_op_t */
    dh_uint_t                  escape;
} dh_http_log_fmt_t;

typedef struct {
    dh_array_t                 formats;     /* of dh_http_log_fmt_t */
    unsigned                   combined_used:1;
} dh_http_log_main_conf_t;

typedef struct {
    u_char                    *start;
    u_char                    *pos;
    u_char                    *last;
    dh_msec_t                  flush;       /* 0: when full only */
    dh_event_t                *event;       /* the flush timer */
    dh_open_file_t            *file;
} dh_http_log_buf_t;

typedef struct {
    dh_open_file_t            *file;        /* file->data: its buffer */
    dh_http_log_fmt_t         *format;
    dh_http_complex_value_t   *filter;      /* if= */
} dh_http_log_t;

typedef struct {
    dh_array_t                *logs;        /* of dh_http_log_t; NULL: unset */
    dh_uint_t                  off;         /* access_log off */
    dh_flag_t                  request_id_header;
} dh_http_log_loc_conf_t;


static dh_int_t dh_http_log_init(dh_conf_t *cf);
static void dh_http_log_exit_process(dh_cycle_t *cycle);
static void *dh_http_log_create_main_conf(dh_conf_t *cf);
static void *dh_http_log_create_loc_conf(dh_conf_t *cf);
static char *dh_http_log_merge_loc_conf(dh_conf_t *cf, void *parent,
    void *child);
static char *dh_http_log_set_format(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static char *dh_http_log_set_log(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static dh_int_t dh_http_log_compile_format(dh_conf_t *cf,
    dh_http_log_fmt_t *fmt, dh_str_t *args, dh_uint_t n);
static char *dh_http_log_set_options(dh_conf_t *cf, dh_http_log_t *log,
    dh_str_t *v, dh_uint_t n);
static char *dh_http_log_set_buffer(dh_conf_t *cf, dh_open_file_t *file,
    size_t size, dh_msec_t flush);


static dh_str_t  dh_http_combined_fmt = dh_string(
    "$remote_addr - $remote_user [$time_local] \"$request\" $status "
    "$body_bytes_sent \"$http_referer\" \"$http_user_agent\"");


static dh_command_t  dh_http_log_commands[] = {

    { dh_string("log_format"),
      DH_HTTP_MAIN_CONF|DH_CONF_2MORE,
      dh_http_log_set_format,
      DH_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { dh_string("access_log"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_1MORE,
      dh_http_log_set_log,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("request_id_header"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_FLAG,
      dh_conf_set_flag_slot,
      DH_HTTP_LOC_CONF_OFFSET,
      offsetof(dh_http_log_loc_conf_t, request_id_header),
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_log_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_log_init,                      /* postconfiguration */

    dh_http_log_create_main_conf,          /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    dh_http_log_create_loc_conf,           /* create location configuration */
    dh_http_log_merge_loc_conf             /* merge location configuration */
};


dh_module_t  dh_http_log_module = {
    DH_MODULE_V1,
    &dh_http_log_module_ctx,               /* module context */
    dh_http_log_commands,                  /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    dh_http_log_exit_process,              /* exit process */
    NULL                                   /* exit master */
};


static dh_http_output_header_filter_pt  dh_http_next_header_filter;


/* ---- writing ---------------------------------------------------------- */

/* nginx's default escaping: '"', '\' and bytes outside 0x20-0x7e become
 * \xHH, so a line is one line and a field cannot end early. */
static dh_uint_t
dh_http_log_needs_escape(u_char ch)
{
    return ch == '"' || ch == '\\' || ch < 0x20 || ch >= 0x7f;
}


static size_t
dh_http_log_escape(u_char *dst, u_char *src, size_t size, dh_uint_t escape)
{
    size_t         n;
    u_char        *p;
    static u_char  hex[] = "0123456789ABCDEF";

    if (escape == DH_HTTP_LOG_ESCAPE_JSON) {
        return dh_escape_json(dst, src, size);
    }

    if (escape == DH_HTTP_LOG_ESCAPE_NONE) {
        if (dst) {
            dh_memcpy(dst, src, size);
        }

        return size;
    }

    if (dst == NULL) {
        for (n = size; size; size--, src++) {
            if (dh_http_log_needs_escape(*src)) {
                n += 3;
            }
        }

        return n;
    }

    p = dst;

    for ( ; size; size--, src++) {
        if (dh_http_log_needs_escape(*src)) {
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hex[*src >> 4];
            *p++ = hex[*src & 0xf];

        } else {
            *p++ = *src;
        }
    }

    return p - dst;
}


static dh_int_t
dh_http_log_write_fd(dh_open_file_t *file, u_char *p, size_t len,
    dh_log_t *log)
{
    if (dh_write_fd_all(file->fd, p, len) != (ssize_t) len) {
        dh_log_error(DH_LOG_ALERT, log, errno, "write() to \"%s\" failed",
                     (char *) file->name.data);
        return DH_ERROR;
    }

    return DH_OK;
}


/* the file's flush hook: also run before a reopen and at exit */
static void
dh_http_log_flush(dh_open_file_t *file, dh_log_t *log)
{
    dh_http_log_buf_t  *buf;

    buf = file->data;

    if (buf->event->timer_set) {
        dh_event_del_timer(buf->event);
    }

    if (buf->pos == buf->start) {
        return;
    }

    (void) dh_http_log_write_fd(file, buf->start, buf->pos - buf->start, log);

    buf->pos = buf->start;
}


static void
dh_http_log_flush_handler(dh_event_t *ev)
{
    dh_http_log_buf_t  *buf;

    buf = ev->data;

    dh_http_log_flush(buf->file, ev->log);
}


static dh_int_t
dh_http_log_buffered(dh_http_request_t *r, dh_open_file_t *file, u_char *line,
    size_t len)
{
    dh_http_log_buf_t  *buf;

    buf = file->data;

    if (len > (size_t) (buf->last - buf->pos)) {
        dh_http_log_flush(file, r->connection->log);

        if (len > (size_t) (buf->last - buf->pos)) {
            /* longer than the whole buffer: straight to the file */
            return dh_http_log_write_fd(file, line, len, r->connection->log);
        }
    }

    buf->pos = dh_cpymem(buf->pos, line, len);

    if (buf->flush && !buf->event->timer_set) {
        dh_event_add_timer(buf->event, buf->flush);
    }

    return DH_OK;
}


/* A missing value is "-" (nginx), except in JSON where it is "". */
static dh_int_t
dh_http_log_write(dh_http_request_t *r, dh_http_log_t *log)
{
    u_char                    *line, *p;
    size_t                     len;
    dh_uint_t                  i;
    dh_http_log_op_t          *op;
    dh_http_log_fmt_t         *fmt;
    dh_http_variable_value_t  *v;

    fmt = log->format;
    op = fmt->ops.elts;
    len = 1;                                    /* LF */

    for (i = 0; i < fmt->ops.nelts; i++) {
        if (op[i].index < 0) {
            len += op[i].text.len;
            continue;
        }

        v = dh_http_get_indexed_variable(r, (dh_uint_t) op[i].index);
        if (v == NULL) {
            return DH_ERROR;
        }

        if (v->not_found || v->len == 0) {
            len += 1;
            continue;
        }

        len += dh_http_log_escape(NULL, v->data, v->len, fmt->escape);
    }

    line = dh_pnalloc(r->pool, len);
    if (line == NULL) {
        return DH_ERROR;
    }

    p = line;

    for (i = 0; i < fmt->ops.nelts; i++) {
        if (op[i].index < 0) {
            p = dh_cpymem(p, op[i].text.data, op[i].text.len);
            continue;
        }

        v = &r->variables[op[i].index];

        if (v->not_found || v->len == 0) {
            if (fmt->escape != DH_HTTP_LOG_ESCAPE_JSON) {
                *p++ = '-';
            }
            continue;
        }

        p += dh_http_log_escape(p, v->data, v->len, fmt->escape);
    }

    *p++ = LF;

    if (log->file->data) {
        return dh_http_log_buffered(r, log->file, line, p - line);
    }

    return dh_http_log_write_fd(log->file, line, p - line,
                                r->connection->log);
}


/* if=: no line when the value is empty or "0" */
static dh_uint_t
dh_http_log_skip(dh_http_request_t *r, dh_http_log_t *log)
{
    dh_str_t  v;

    if (log->filter == NULL) {
        return 0;
    }

    if (dh_http_complex_value(r, log->filter, &v) != DH_OK) {
        return 1;
    }

    return v.len == 0 || (v.len == 1 && v.data[0] == '0');
}


static dh_int_t
dh_http_log_handler(dh_http_request_t *r)
{
    dh_uint_t                i;
    dh_http_log_t           *log;
    dh_http_log_loc_conf_t  *lcf;

    lcf = dh_http_get_module_loc_conf(r, dh_http_log_module);

    if (lcf->off || lcf->logs == NULL) {
        return DH_OK;
    }

    log = lcf->logs->elts;

    for (i = 0; i < lcf->logs->nelts; i++) {
        if (log[i].file->fd == DH_INVALID_FILE
            || dh_http_log_skip(r, &log[i]))
        {
            continue;
        }

        (void) dh_http_log_write(r, &log[i]);
    }

    return DH_OK;
}


static dh_int_t
dh_http_log_header_filter(dh_http_request_t *r)
{
    dh_str_t                 id;
    dh_http_log_loc_conf_t  *lcf;

    lcf = dh_http_get_module_loc_conf(r, dh_http_log_module);

    if (lcf->request_id_header == 1) {
        if (dh_http_request_id(r, &id) != DH_OK
            || dh_http_add_header_out(r, "X-Request-ID",
                                      sizeof("X-Request-ID") - 1,
                                      id.data, id.len) == NULL)
        {
            return DH_ERROR;
        }
    }

    return dh_http_next_header_filter(r);
}


/* ---- configuration ---------------------------------------------------- */

static dh_int_t
dh_http_log_init(dh_conf_t *cf)
{
    dh_http_handler_pt         *h;
    dh_http_core_main_conf_t   *cmcf;

    cmcf = dh_http_conf_get_module_main_conf(cf, dh_http_core_module);

    h = dh_array_push(&cmcf->phases[DH_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return DH_ERROR;
    }

    *h = dh_http_log_handler;

    dh_http_next_header_filter = dh_http_top_header_filter;
    dh_http_top_header_filter = dh_http_log_header_filter;

    return DH_OK;
}


static void *
dh_http_log_create_main_conf(dh_conf_t *cf)
{
    dh_str_t                  name;
    dh_http_log_fmt_t        *fmt;
    dh_http_log_main_conf_t  *lmcf;

    lmcf = dh_pcalloc(cf->pool, sizeof(dh_http_log_main_conf_t));
    if (lmcf == NULL) {
        return NULL;
    }

    if (dh_array_init(&lmcf->formats, cf->pool, 4, sizeof(dh_http_log_fmt_t))
        != DH_OK)
    {
        return NULL;
    }

    /* "combined" is compiled on first use: variables can be indexed only
     * after the variables module set itself up for this http {} */
    fmt = dh_array_push(&lmcf->formats);
    if (fmt == NULL) {
        return NULL;
    }

    dh_str_set(&name, "combined");
    dh_memzero(fmt, sizeof(dh_http_log_fmt_t));
    fmt->name = name;

    return lmcf;
}


static dh_http_log_fmt_t *
dh_http_log_find_format(dh_conf_t *cf, dh_http_log_main_conf_t *lmcf,
    dh_str_t *name)
{
    dh_uint_t           i;
    dh_http_log_fmt_t  *fmt;

    fmt = lmcf->formats.elts;

    for (i = 0; i < lmcf->formats.nelts; i++) {
        if (!dh_str_eq(&fmt[i].name, name)) {
            continue;
        }

        if (i == 0 && !lmcf->combined_used) {
            lmcf->combined_used = 1;

            if (dh_http_log_compile_format(cf, &fmt[0],
                                           &dh_http_combined_fmt, 1)
                != DH_OK)
            {
                return NULL;
            }
        }

        return &fmt[i];
    }

    return NULL;
}


static void *
dh_http_log_create_loc_conf(dh_conf_t *cf)
{
    dh_http_log_loc_conf_t  *conf;

    conf = dh_pcalloc(cf->pool, sizeof(dh_http_log_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->request_id_header = DH_CONF_UNSET;

    return conf;
}


static dh_int_t
dh_http_log_add(dh_conf_t *cf, dh_http_log_loc_conf_t *conf,
    dh_str_t *path, dh_str_t *format)
{
    dh_http_log_t            *log;
    dh_http_log_main_conf_t  *lmcf;

    lmcf = dh_http_conf_get_module_main_conf(cf, dh_http_log_module);

    if (conf->logs == NULL) {
        conf->logs = dh_array_create(cf->pool, 2, sizeof(dh_http_log_t));
        if (conf->logs == NULL) {
            return DH_ERROR;
        }
    }

    log = dh_array_push(conf->logs);
    if (log == NULL) {
        return DH_ERROR;
    }

    log->filter = NULL;
    log->file = dh_conf_open_file(cf->cycle, path);
    if (log->file == NULL) {
        return DH_ERROR;
    }

    log->format = dh_http_log_find_format(cf, lmcf, format);

    if (log->format == NULL) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "unknown log format \"%.*s\"",
                          DH_STR_FMT(*format));
        return DH_ERROR;
    }

    return DH_OK;
}


static char *
dh_http_log_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_log_loc_conf_t *prev = parent;
    dh_http_log_loc_conf_t *conf = child;

    dh_str_t  path, format;

    dh_conf_merge_value(conf->request_id_header, prev->request_id_header, 0);

    if (conf->logs || conf->off) {
        return DH_CONF_OK;
    }

    /* nothing at any level so far: the http level gets the default log,
     * so every server and location shares one entry */
    if (prev->logs == NULL && !prev->off) {
        dh_str_set(&path, DH_HTTP_LOG_PATH);
        dh_str_set(&format, "combined");

        if (dh_http_log_add(cf, prev, &path, &format) != DH_OK) {
            return DH_CONF_ERROR;
        }
    }

    conf->logs = prev->logs;
    conf->off = prev->off;

    return DH_CONF_OK;
}


static char *
dh_http_log_set_log(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_log_loc_conf_t *llcf = conf;

    dh_str_t  *value, format;

    value = cf->args->elts;

    if (value[1].len == 3 && dh_strncmp(value[1].data, "off", 3) == 0) {
        if (cf->args->nelts != 2) {
            return "takes no format with \"off\"";
        }

        if (llcf->logs) {
            return "is \"off\" after a log was set in the same block";
        }

        llcf->off = 1;
        return DH_CONF_OK;
    }

    if (llcf->off) {
        return "is set after \"access_log off\" in the same block";
    }

    if (cf->args->nelts >= 3) {
        format = value[2];
    } else {
        dh_str_set(&format, "combined");
    }

    if (dh_http_log_add(cf, llcf, &value[1], &format) != DH_OK) {
        return DH_CONF_ERROR;
    }

    if (cf->args->nelts <= 3) {
        return DH_CONF_OK;
    }

    return dh_http_log_set_options(cf,
               (dh_http_log_t *) llcf->logs->elts + llcf->logs->nelts - 1,
               &value[3], cf->args->nelts - 3);
}


/* buffer=size flush=time if=condition, after the format */
static char *
dh_http_log_set_options(dh_conf_t *cf, dh_http_log_t *log, dh_str_t *v,
    dh_uint_t n)
{
    ssize_t                           size;
    dh_int_t                          flush;
    dh_str_t                          s;
    dh_uint_t                         i;
    dh_http_compile_complex_value_t   ccv;

    size = 0;
    flush = 0;

    for (i = 0; i < n; i++) {
        if (v[i].len > 7 && dh_strncmp(v[i].data, "buffer=", 7) == 0) {
            s.data = v[i].data + 7;
            s.len = v[i].len - 7;
            size = dh_parse_size(&s);

            if (size <= 0) {
                return "has an invalid buffer size";
            }

        } else if (v[i].len > 6 && dh_strncmp(v[i].data, "flush=", 6) == 0) {
            s.data = v[i].data + 6;
            s.len = v[i].len - 6;
            flush = dh_parse_time(&s, 0);

            if (flush <= 0) {
                return "has an invalid flush time";
            }

        } else if (v[i].len > 3 && dh_strncmp(v[i].data, "if=", 3) == 0) {
            log->filter = dh_palloc(cf->pool,
                                    sizeof(dh_http_complex_value_t));
            if (log->filter == NULL) {
                return DH_CONF_ERROR;
            }

            s.data = v[i].data + 3;
            s.len = v[i].len - 3;

            dh_memzero(&ccv, sizeof(dh_http_compile_complex_value_t));
            ccv.cf = cf;
            ccv.value = &s;
            ccv.complex_value = log->filter;

            if (dh_http_compile_complex_value(&ccv) != DH_OK) {
                return DH_CONF_ERROR;
            }

        } else {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "invalid parameter \"%.*s\"",
                              DH_STR_FMT(v[i]));
            return DH_CONF_ERROR;
        }
    }

    if (flush && size == 0) {
        size = DH_HTTP_LOG_BUFFER_SIZE;
    }

    if (size == 0) {
        return DH_CONF_OK;
    }

    return dh_http_log_set_buffer(cf, log->file, (size_t) size,
                                  (dh_msec_t) flush);
}


/* One buffer per file of the cycle, shared by every log line to it. */
static char *
dh_http_log_set_buffer(dh_conf_t *cf, dh_open_file_t *file, size_t size,
    dh_msec_t flush)
{
    dh_http_log_buf_t  *buf;

    buf = file->data;

    if (buf) {
        if ((size_t) (buf->last - buf->start) != size
            || buf->flush != flush)
        {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "access_log \"%s\" already defined with "
                              "another buffer size or flush time",
                              (char *) file->name.data);
            return DH_CONF_ERROR;
        }

        return DH_CONF_OK;
    }

    buf = dh_pcalloc(cf->pool, sizeof(dh_http_log_buf_t));
    if (buf == NULL) {
        return DH_CONF_ERROR;
    }

    buf->start = dh_pnalloc(cf->pool, size);
    buf->event = dh_pcalloc(cf->pool, sizeof(dh_event_t));

    if (buf->start == NULL || buf->event == NULL) {
        return DH_CONF_ERROR;
    }

    buf->pos = buf->start;
    buf->last = buf->start + size;
    buf->flush = flush;
    buf->file = file;

    buf->event->handler = dh_http_log_flush_handler;
    buf->event->data = buf;
    buf->event->log = cf->cycle->log;
    /* the exit hook writes what is left; the timer need not wait */
    buf->event->cancelable = 1;

    file->data = buf;
    file->flush = dh_http_log_flush;

    return DH_CONF_OK;
}


static void
dh_http_log_exit_process(dh_cycle_t *cycle)
{
    dh_flush_files(cycle);
}


static char *
dh_http_log_set_format(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_log_main_conf_t *lmcf = conf;

    dh_str_t           *value;
    dh_uint_t           i, first;
    dh_http_log_fmt_t  *fmt;

    value = cf->args->elts;

    fmt = lmcf->formats.elts;

    for (i = 0; i < lmcf->formats.nelts; i++) {
        if (dh_str_eq(&fmt[i].name, &value[1])) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "duplicate \"log_format\" name \"%.*s\"",
                              DH_STR_FMT(value[1]));
            return DH_CONF_ERROR;
        }
    }

    fmt = dh_array_push(&lmcf->formats);
    if (fmt == NULL) {
        return DH_CONF_ERROR;
    }

    dh_memzero(fmt, sizeof(dh_http_log_fmt_t));
    fmt->name = value[1];
    fmt->escape = DH_HTTP_LOG_ESCAPE_DEFAULT;
    first = 2;

    if (value[2].len > 7 && dh_strncmp(value[2].data, "escape=", 7) == 0) {
        if (dh_strcmp(value[2].data + 7, "json") == 0) {
            fmt->escape = DH_HTTP_LOG_ESCAPE_JSON;

        } else if (dh_strcmp(value[2].data + 7, "none") == 0) {
            fmt->escape = DH_HTTP_LOG_ESCAPE_NONE;

        } else if (dh_strcmp(value[2].data + 7, "default") != 0) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "unknown log format escaping \"%s\"",
                              (char *) value[2].data + 7);
            return DH_CONF_ERROR;
        }

        first = 3;

        if (cf->args->nelts == 3) {
            return "needs a format string";
        }
    }

    if (dh_http_log_compile_format(cf, fmt, &value[first],
                                   cf->args->nelts - first)
        != DH_OK)
    {
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


/* The strings of a format are joined as written (nginx: no separator). */
static dh_int_t
dh_http_log_compile_format(dh_conf_t *cf, dh_http_log_fmt_t *fmt,
    dh_str_t *args, dh_uint_t n)
{
    u_char            *p, *last, *start;
    dh_int_t           index;
    dh_str_t           name;
    dh_uint_t          i;
    dh_http_log_op_t  *op;

    if (dh_array_init(&fmt->ops, cf->pool, 16, sizeof(dh_http_log_op_t))
        != DH_OK)
    {
        return DH_ERROR;
    }

    for (i = 0; i < n; i++) {
        p = args[i].data;
        last = p + args[i].len;

        while (p < last) {
            op = dh_array_push(&fmt->ops);
            if (op == NULL) {
                return DH_ERROR;
            }

            if (*p != '$') {
                start = p;
                while (p < last && *p != '$') {
                    p++;
                }

                op->text.data = start;
                op->text.len = p - start;
                op->index = -1;
                continue;
            }

            p++;

            if (p < last && *p == '{') {
                start = ++p;
                while (p < last && *p != '}') {
                    p++;
                }

                if (p == last) {
                    dh_conf_log_error(DH_LOG_EMERG, cf, 0,
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
                while (p < last
                       && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                           || (*p >= '0' && *p <= '9') || *p == '_'))
                {
                    p++;
                }

                name.data = start;
                name.len = p - start;
            }

            if (name.len == 0) {
                dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                                  "invalid variable name in log format");
                return DH_ERROR;
            }

            index = dh_http_get_variable_index(cf, &name);
            if (index == DH_ERROR) {
                return DH_ERROR;
            }

            op->index = index;
        }
    }

    return DH_OK;
}

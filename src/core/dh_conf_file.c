/*
 * The configuration parser.
 *
 * A file is read through a small buffer; the tokenizer hands one directive
 * at a time (its words in cf->args) to the dispatcher, which finds the
 * directive in the command tables of the current module type and calls its
 * handler.  A block directive swaps cf->ctx and the context bits and calls
 * dh_conf_parse(cf, NULL) for the rest of its block, so nesting is plain
 * recursion.  Every error names the file and the line.
 */

#include "dh_config.h"
#include "dh_core.h"


#define DH_CONF_BUFFER        4096

#define DH_CONF_PARSE_FILE    0
#define DH_CONF_PARSE_BLOCK   1
#define DH_CONF_PARSE_PARAM   2


static char *dh_conf_parse_type(dh_conf_t *cf, dh_str_t *filename,
    dh_uint_t type);
static dh_int_t dh_conf_parse_tokens(dh_conf_t *cf, dh_uint_t type);
static dh_int_t dh_conf_open(dh_conf_t *cf, dh_str_t *filename,
    dh_conf_file_t *cfile, dh_buf_t *buf);
static dh_int_t dh_conf_add_dump(dh_conf_t *cf, dh_conf_file_t *cfile);
static dh_int_t dh_conf_read_token(dh_conf_t *cf);
static dh_int_t dh_conf_refill(dh_conf_t *cf, u_char **start,
    dh_uint_t partial);
static dh_int_t dh_conf_end_of_input(dh_conf_t *cf, dh_uint_t in_word,
    dh_uint_t quote, dh_uint_t start_line);
static dh_int_t dh_conf_push_word(dh_conf_t *cf, u_char *start,
    u_char *end);
static dh_int_t dh_conf_handler(dh_conf_t *cf, dh_int_t last);
static dh_uint_t dh_conf_args_ok(dh_command_t *cmd, dh_uint_t nelts);
static void *dh_conf_slot_conf(dh_conf_t *cf, dh_command_t *cmd,
    dh_module_t *module);
static u_char *dh_conf_append(u_char *p, u_char *last, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));


static dh_command_t  dh_conf_commands[] = {

    { dh_string("include"),
      DH_ANY_CONF|DH_CONF_TAKE1,
      dh_conf_include,
      0,
      0,
      NULL },

    dh_null_command
};


dh_module_t  dh_conf_module = {
    DH_MODULE_V1,
    NULL,
    dh_conf_commands,
    DH_CONF_MODULE,
    NULL,
    NULL,
    NULL,
    NULL
};


/* the argument-count bit for 0..7 arguments */
static dh_uint_t  dh_conf_argument_number[] = {
    DH_CONF_NOARGS,
    DH_CONF_TAKE1,
    DH_CONF_TAKE2,
    DH_CONF_TAKE3,
    DH_CONF_TAKE4,
    DH_CONF_TAKE5,
    DH_CONF_TAKE6,
    DH_CONF_TAKE7
};


char *
dh_conf_parse(dh_conf_t *cf, dh_str_t *filename)
{
    return dh_conf_parse_type(cf, filename,
                              filename ? DH_CONF_PARSE_FILE
                                       : DH_CONF_PARSE_BLOCK);
}


char *
dh_conf_param(dh_conf_t *cf)
{
    char            *rv;
    dh_buf_t         b;
    dh_str_t        *param;
    dh_conf_file_t   conf_file;

    param = &cf->cycle->conf_param;

    if (param->len == 0) {
        return DH_CONF_OK;
    }

    dh_memzero(&conf_file, sizeof(dh_conf_file_t));
    dh_memzero(&b, sizeof(dh_buf_t));

    b.start = param->data;
    b.pos = param->data;
    b.last = param->data + param->len;
    b.end = b.last;
    b.temporary = 1;

    /* no file: the tokenizer treats the end of the buffer as the end of
     * input and messages say "in command line" */
    conf_file.file.fd = DH_INVALID_FILE;
    conf_file.file.name.len = 0;
    conf_file.file.name.data = NULL;
    conf_file.line = 0;
    conf_file.buffer = &b;

    cf->conf_file = &conf_file;

    rv = dh_conf_parse_type(cf, NULL, DH_CONF_PARSE_PARAM);

    cf->conf_file = NULL;

    return rv;
}


static char *
dh_conf_parse_type(dh_conf_t *cf, dh_str_t *filename, dh_uint_t type)
{
    dh_int_t         rc;
    dh_buf_t         buf;
    dh_conf_file_t  *prev, conf_file;

    prev = NULL;

    if (type == DH_CONF_PARSE_FILE) {
        if (dh_conf_open(cf, filename, &conf_file, &buf) != DH_OK) {
            return DH_CONF_ERROR;
        }

        prev = cf->conf_file;
        cf->conf_file = &conf_file;
    }

    rc = dh_conf_parse_tokens(cf, type);

    if (type == DH_CONF_PARSE_FILE) {
        dh_free(buf.start);

        if (close(conf_file.file.fd) == -1) {
            dh_log_error(DH_LOG_ALERT, cf->log, dh_errno,
                         "close() \"%s\" failed", filename->data);
            rc = DH_ERROR;
        }

        cf->conf_file = prev;
    }

    return (rc == DH_OK) ? DH_CONF_OK : DH_CONF_ERROR;
}


static dh_int_t
dh_conf_parse_tokens(dh_conf_t *cf, dh_uint_t type)
{
    char      *rv;
    dh_int_t   rc;

    for ( ;; ) {
        rc = dh_conf_read_token(cf);

        if (rc == DH_ERROR) {
            return DH_ERROR;
        }

        if (rc == DH_CONF_BLOCK_DONE) {
            if (type != DH_CONF_PARSE_BLOCK) {
                dh_conf_log_error(DH_LOG_EMERG, cf, 0, "unexpected \"}\"");
                return DH_ERROR;
            }

            return DH_OK;
        }

        if (rc == DH_CONF_FILE_DONE) {
            if (type == DH_CONF_PARSE_BLOCK) {
                dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                                  "unexpected end of %s, expecting \"}\"",
                                  cf->conf_file->file.fd == DH_INVALID_FILE
                                  ? "parameter" : "file");
                return DH_ERROR;
            }

            return DH_OK;
        }

        /* rc is DH_OK (";") or DH_CONF_BLOCK_START ("{") */

        if (rc == DH_CONF_BLOCK_START && type == DH_CONF_PARSE_PARAM) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "block directives are not supported "
                              "in -g option");
            return DH_ERROR;
        }

        if (cf->handler) {
            /* a block with its own grammar, such as types {} */
            if (rc == DH_CONF_BLOCK_START) {
                dh_conf_log_error(DH_LOG_EMERG, cf, 0, "unexpected \"{\"");
                return DH_ERROR;
            }

            rv = cf->handler(cf, NULL, cf->handler_conf);

            if (rv == DH_CONF_OK) {
                continue;
            }

            if (rv != DH_CONF_ERROR) {
                dh_conf_log_error(DH_LOG_EMERG, cf, 0, "%s", rv);
            }

            return DH_ERROR;
        }

        if (dh_conf_handler(cf, rc) != DH_OK) {
            return DH_ERROR;
        }
    }
}


static dh_int_t
dh_conf_open(dh_conf_t *cf, dh_str_t *filename, dh_conf_file_t *cfile,
    dh_buf_t *buf)
{
    dh_fd_t  fd;

    /* errors here are reported against the including file, if any */
    fd = open((char *) filename->data, O_RDONLY);

    if (fd == DH_INVALID_FILE) {
        dh_conf_log_error(DH_LOG_EMERG, cf, dh_errno, "open() \"%s\" failed",
                          filename->data);
        return DH_ERROR;
    }

    dh_memzero(cfile, sizeof(dh_conf_file_t));
    dh_memzero(buf, sizeof(dh_buf_t));

    if (fstat(fd, &cfile->file.info) == -1) {
        dh_conf_log_error(DH_LOG_EMERG, cf, dh_errno,
                          "fstat() \"%s\" failed", filename->data);
        goto failed;
    }

    buf->start = dh_alloc(DH_CONF_BUFFER, cf->log);
    if (buf->start == NULL) {
        goto failed;
    }

    buf->pos = buf->start;
    buf->last = buf->start;
    buf->end = buf->start + DH_CONF_BUFFER;
    buf->temporary = 1;

    cfile->buffer = buf;
    cfile->file.fd = fd;
    cfile->file.name = *filename;
    cfile->file.offset = 0;
    cfile->file.log = cf->log;
    cfile->line = 1;

    if (dh_dump_config && dh_conf_add_dump(cf, cfile) != DH_OK) {
        dh_free(buf->start);
        goto failed;
    }

    return DH_OK;

failed:

    (void) close(fd);

    return DH_ERROR;
}


/* -T: keep every file's text so the whole configuration can be printed */
static dh_int_t
dh_conf_add_dump(dh_conf_t *cf, dh_conf_file_t *cfile)
{
    size_t           size;
    dh_uint_t        i;
    dh_str_t        *name;
    dh_array_t      *dumps;
    dh_conf_dump_t  *cd;

    dumps = &cf->cycle->config_dump;
    name = &cfile->file.name;

    if (dumps->size == 0
        && dh_array_init(dumps, cf->cycle->pool, 1, sizeof(dh_conf_dump_t))
           != DH_OK)
    {
        return DH_ERROR;
    }

    cd = dumps->elts;

    for (i = 0; i < dumps->nelts; i++) {
        /* a file included twice is printed once */
        if (dh_str_eq(&cd[i].name, name)) {
            return DH_OK;
        }
    }

    cd = dh_array_push(dumps);
    if (cd == NULL) {
        return DH_ERROR;
    }

    cd->name.len = name->len;
    cd->name.data = dh_pstrdup(cf->cycle->pool, name);
    if (cd->name.data == NULL) {
        return DH_ERROR;
    }

    cd->buffer = dh_calloc_buf(cf->cycle->pool);
    if (cd->buffer == NULL) {
        return DH_ERROR;
    }

    size = (size_t) cfile->file.info.st_size;

    cd->buffer->start = dh_pnalloc(cf->cycle->pool, size ? size : 1);
    if (cd->buffer->start == NULL) {
        return DH_ERROR;
    }

    cd->buffer->pos = cd->buffer->start;
    cd->buffer->last = cd->buffer->start;
    cd->buffer->end = cd->buffer->start + size;
    cd->buffer->temporary = 1;

    cfile->dump = cd->buffer;

    return DH_OK;
}


static dh_int_t
dh_conf_read_token(dh_conf_t *cf)
{
    u_char     ch, *start;
    dh_int_t   rc;
    dh_buf_t  *b;
    dh_uint_t  start_line, last_space, need_space, sharp_comment, quoted,
               s_quoted, d_quoted;

    cf->args->nelts = 0;

    b = cf->conf_file->buffer;
    start = b->pos;
    start_line = cf->conf_file->line;

    last_space = 1;
    need_space = 0;
    sharp_comment = 0;
    quoted = 0;
    s_quoted = 0;
    d_quoted = 0;

    for ( ;; ) {

        if (b->pos >= b->last) {
            rc = dh_conf_refill(cf, &start, !last_space && !need_space);

            if (rc == DH_DECLINED) {
                cf->conf_file->line = start_line;

                if (s_quoted || d_quoted) {
                    dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                                      "too long parameter, probably "
                                      "missing terminating \"%c\" character",
                                      s_quoted ? '\'' : '"');
                } else {
                    dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                                      "too long parameter \"%.10s...\" "
                                      "started", start);
                }

                return DH_ERROR;
            }

            if (rc == DH_DONE) {
                return dh_conf_end_of_input(cf,
                                            cf->args->nelts > 0 || !last_space,
                                            s_quoted || d_quoted, start_line);
            }

            if (rc != DH_OK) {
                return DH_ERROR;
            }
        }

        ch = *b->pos++;

        if (ch == LF) {
            cf->conf_file->line++;
            sharp_comment = 0;
        }

        if (sharp_comment) {
            continue;
        }

        if (quoted) {
            quoted = 0;
            continue;
        }

        if (need_space) {
            /* a closing quote must be followed by a separator */
            if (ch == ' ' || ch == '\t' || ch == CR || ch == LF) {
                last_space = 1;
                need_space = 0;
                continue;
            }

            if (ch == ';') {
                return DH_OK;
            }

            if (ch == '{') {
                return DH_CONF_BLOCK_START;
            }

            dh_conf_log_error(DH_LOG_EMERG, cf, 0, "unexpected \"%c\"", ch);
            return DH_ERROR;
        }

        if (last_space) {
            start = b->pos - 1;
            start_line = cf->conf_file->line;

            switch (ch) {

            case ' ':
            case '\t':
            case CR:
            case LF:
                continue;

            case ';':
            case '{':
                if (cf->args->nelts == 0) {
                    dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                                      "unexpected \"%c\"", ch);
                    return DH_ERROR;
                }

                return (ch == '{') ? DH_CONF_BLOCK_START : DH_OK;

            case '}':
                if (cf->args->nelts != 0) {
                    dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                                      "unexpected \"}\"");
                    return DH_ERROR;
                }

                return DH_CONF_BLOCK_DONE;

            case '#':
                sharp_comment = 1;
                continue;

            case '\\':
                quoted = 1;
                last_space = 0;
                continue;

            case '"':
                start++;
                d_quoted = 1;
                last_space = 0;
                continue;

            case '\'':
                start++;
                s_quoted = 1;
                last_space = 0;
                continue;

            default:
                last_space = 0;
                continue;
            }
        }

        /* inside a word or a quoted string */

        if (ch == '\\') {
            quoted = 1;
            continue;
        }

        if (d_quoted) {
            if (ch != '"') {
                continue;
            }

            d_quoted = 0;
            need_space = 1;

        } else if (s_quoted) {
            if (ch != '\'') {
                continue;
            }

            s_quoted = 0;
            need_space = 1;

        } else if (ch == ' ' || ch == '\t' || ch == CR || ch == LF
                   || ch == ';' || ch == '{')
        {
            last_space = 1;

        } else {
            continue;
        }

        if (dh_conf_push_word(cf, start, b->pos - 1) != DH_OK) {
            return DH_ERROR;
        }

        if (ch == ';') {
            return DH_OK;
        }

        if (ch == '{') {
            return DH_CONF_BLOCK_START;
        }
    }
}


/*
 * Moves the unfinished word to the front of the buffer and reads more.
 * DH_DONE at the end of input, DH_DECLINED when one word fills the whole
 * buffer.
 */
static dh_int_t
dh_conf_refill(dh_conf_t *cf, u_char **start, dh_uint_t partial)
{
    size_t      len, size;
    ssize_t     n;
    dh_buf_t   *b, *dump;
    dh_file_t  *file;

    b = cf->conf_file->buffer;
    file = &cf->conf_file->file;

    if (file->fd == DH_INVALID_FILE || file->offset >= file->info.st_size) {
        return DH_DONE;
    }

    len = partial ? (size_t) (b->pos - *start) : 0;

    if (len == (size_t) (b->end - b->start)) {
        return DH_DECLINED;
    }

    if (len) {
        dh_memmove(b->start, *start, len);
    }

    size = (size_t) (file->info.st_size - file->offset);

    if (size > (size_t) (b->end - (b->start + len))) {
        size = b->end - (b->start + len);
    }

    do {
        n = pread(file->fd, b->start + len, size, file->offset);
    } while (n == -1 && dh_errno == DH_EINTR);

    if (n == -1) {
        dh_conf_log_error(DH_LOG_EMERG, cf, dh_errno, "pread() \"%s\" failed",
                          file->name.data);
        return DH_ERROR;
    }

    if ((size_t) n != size) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "pread() \"%s\" returned only %zd bytes "
                          "instead of %zu", file->name.data, n, size);
        return DH_ERROR;
    }

    file->offset += n;

    b->pos = b->start + len;
    b->last = b->pos + n;
    *start = b->start;

    dump = cf->conf_file->dump;

    if (dump) {
        if ((size_t) n > (size_t) (dump->end - dump->last)) {
            n = dump->end - dump->last;
        }

        dump->last = dh_cpymem(dump->last, b->pos, n);
    }

    return DH_OK;
}


static dh_int_t
dh_conf_end_of_input(dh_conf_t *cf, dh_uint_t in_word, dh_uint_t quote,
    dh_uint_t start_line)
{
    const char  *what;

    if (!in_word) {
        return DH_CONF_FILE_DONE;
    }

    what = (cf->conf_file->file.fd == DH_INVALID_FILE) ? "parameter" : "file";

    if (quote) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "unexpected end of %s, unterminated quoted string "
                          "started on line %lu", what,
                          (unsigned long) start_line);
        return DH_ERROR;
    }

    if (cf->conf_file->file.fd == DH_INVALID_FILE) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "unexpected end of parameter, expecting \";\"");
    } else {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "unexpected end of file, expecting \";\" or \"}\"");
    }

    return DH_ERROR;
}


/* Copies a word out of the read buffer (which moves on refill) into the
 * configuration pool, resolving the escapes. */
static dh_int_t
dh_conf_push_word(dh_conf_t *cf, u_char *start, u_char *end)
{
    u_char    *src, *dst;
    dh_str_t  *word;

    word = dh_array_push(cf->args);
    if (word == NULL) {
        return DH_ERROR;
    }

    word->data = dh_pnalloc(cf->pool, end - start + 1);
    if (word->data == NULL) {
        return DH_ERROR;
    }

    for (dst = word->data, src = start; src < end; /* void */) {

        if (*src == '\\' && src + 1 < end) {
            switch (src[1]) {

            case '"':
            case '\'':
            case '\\':
                src++;
                break;

            case 't':
                *dst++ = '\t';
                src += 2;
                continue;

            case 'r':
                *dst++ = '\r';
                src += 2;
                continue;

            case 'n':
                *dst++ = '\n';
                src += 2;
                continue;

            default:
                /* other escapes stay as written: regexes need them */
                break;
            }
        }

        *dst++ = *src++;
    }

    *dst = '\0';
    word->len = dst - word->data;

    return DH_OK;
}


static dh_int_t
dh_conf_handler(dh_conf_t *cf, dh_int_t last)
{
    char          *rv;
    void          *conf;
    dh_str_t      *name;
    dh_uint_t      i, found;
    dh_module_t   *module;
    dh_command_t  *cmd;

    name = cf->args->elts;
    found = 0;

    for (i = 0; cf->cycle->modules[i]; i++) {
        module = cf->cycle->modules[i];

        cmd = module->commands;
        if (cmd == NULL) {
            continue;
        }

        for ( /* void */ ; cmd->name.len; cmd++) {

            if (name->len != cmd->name.len
                || dh_memcmp(name->data, cmd->name.data, name->len) != 0)
            {
                continue;
            }

            found = 1;

            if (module->type != DH_CONF_MODULE
                && module->type != cf->module_type)
            {
                continue;
            }

            if (!(cmd->type & cf->cmd_type)) {
                continue;
            }

            if (!(cmd->type & DH_CONF_BLOCK) && last != DH_OK) {
                dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                                  "directive \"%s\" is not terminated by \";\"",
                                  name->data);
                return DH_ERROR;
            }

            if ((cmd->type & DH_CONF_BLOCK) && last != DH_CONF_BLOCK_START) {
                dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                                  "directive \"%s\" has no opening \"{\"",
                                  name->data);
                return DH_ERROR;
            }

            if (!dh_conf_args_ok(cmd, cf->args->nelts)) {
                dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                                  "invalid number of arguments in \"%s\" "
                                  "directive", name->data);
                return DH_ERROR;
            }

            conf = dh_conf_slot_conf(cf, cmd, module);

            rv = cmd->set(cf, cmd, conf);

            if (rv == DH_CONF_OK) {
                return DH_OK;
            }

            if (rv != DH_CONF_ERROR) {
                dh_conf_log_error(DH_LOG_EMERG, cf, 0, "\"%s\" directive %s",
                                  name->data, rv);
            }

            return DH_ERROR;
        }
    }

    if (found) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "\"%s\" directive is not allowed here", name->data);
    } else {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "unknown directive \"%s\"", name->data);
    }

    return DH_ERROR;
}


/* nelts counts the directive name too */
static dh_uint_t
dh_conf_args_ok(dh_command_t *cmd, dh_uint_t nelts)
{
    if (cmd->type & DH_CONF_ANY) {
        return 1;
    }

    if (cmd->type & DH_CONF_FLAG) {
        return nelts == 2;
    }

    if (cmd->type & DH_CONF_1MORE) {
        return nelts >= 2;
    }

    if (cmd->type & DH_CONF_2MORE) {
        return nelts >= 3;
    }

    if (nelts > DH_CONF_MAX_ARGS) {
        return 0;
    }

    return (cmd->type & dh_conf_argument_number[nelts - 1]) != 0;
}


/*
 * DH_DIRECT_CONF: the module's main conf made by create_conf.
 * DH_MAIN_CONF: the address of the module's slot, so a block directive
 *   (events, http) can hang its own context there.
 * otherwise: cf->ctx is a context struct whose field at cmd->conf points
 *   to an array indexed by the module's ctx_index (events, http, server,
 *   location).
 */
static void *
dh_conf_slot_conf(dh_conf_t *cf, dh_command_t *cmd, dh_module_t *module)
{
    void  **confp;

    /* include and its kind need no configuration of their own */
    if (cf->ctx == NULL || module->type == DH_CONF_MODULE) {
        return NULL;
    }

    if (cmd->type & DH_DIRECT_CONF) {
        return ((void **) cf->ctx)[module->index];
    }

    if (cmd->type & DH_MAIN_CONF && cf->cmd_type & DH_MAIN_CONF) {
        return &(((void **) cf->ctx)[module->index]);
    }

    confp = *(void ***) ((char *) cf->ctx + cmd->conf);

    if (confp == NULL || module->ctx_index == DH_MODULE_UNSET_INDEX) {
        return NULL;
    }

    return confp[module->ctx_index];
}


/*
 * A directory of the pattern that does not exist just matches nothing;
 * any other error (a directory we may not read) stops the include rather
 * than silently dropping files.  glob() gives the callback no user data,
 * and the configuration is parsed by one thread, so a static keeps errno.
 */
static dh_err_t  dh_conf_glob_err;

static int
dh_conf_glob_error(const char *path, int err)
{
    if (err == DH_ENOENT || err == DH_ENOTDIR) {
        return 0;
    }

    dh_conf_glob_err = err;

    return 1;
}


char *
dh_conf_include(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    char      *rv;
    int        rc;
    size_t     i;
    glob_t     gl;
    dh_str_t  *value, file, name;

    value = cf->args->elts;
    file = value[1];

    if (dh_conf_full_name(cf->cycle, &file, 1) != DH_OK) {
        return DH_CONF_ERROR;
    }

    if (strpbrk((char *) file.data, "*?[") == NULL) {
        return dh_conf_parse(cf, &file);
    }

    dh_memzero(&gl, sizeof(glob_t));

    dh_conf_glob_err = 0;

    rc = glob((char *) file.data, 0, dh_conf_glob_error, &gl);

    if (rc == GLOB_NOMATCH) {
        /* a wildcard that matches nothing is an empty include */
        globfree(&gl);
        return DH_CONF_OK;
    }

    if (rc != 0) {
        dh_conf_log_error(DH_LOG_EMERG, cf, dh_conf_glob_err,
                          "glob() \"%s\" failed", file.data);
        globfree(&gl);
        return DH_CONF_ERROR;
    }

    rv = DH_CONF_OK;

    /* glob() sorts its results, so the include order is stable */
    for (i = 0; i < gl.gl_pathc; i++) {
        name.len = strlen(gl.gl_pathv[i]);
        name.data = (u_char *) gl.gl_pathv[i];

        /* the name outlives globfree(): messages and -T refer to it */
        name.data = dh_pstrdup(cf->pool, &name);
        if (name.data == NULL) {
            rv = DH_CONF_ERROR;
            break;
        }

        rv = dh_conf_parse(cf, &name);

        if (rv != DH_CONF_OK) {
            break;
        }
    }

    globfree(&gl);

    return rv;
}


dh_int_t
dh_conf_full_name(dh_cycle_t *cycle, dh_str_t *name, dh_uint_t conf_prefix)
{
    dh_str_t  *prefix;

    prefix = conf_prefix ? &cycle->conf_prefix : &cycle->prefix;

    return dh_get_full_name(cycle->pool, prefix, name);
}


void
dh_conf_log_error(dh_uint_t level, dh_conf_t *cf, dh_err_t err,
    const char *fmt, ...)
{
    u_char   errstr[DH_MAX_CONF_ERRSTR], *p, *last;
    va_list  args;
    int      n;

    last = errstr + DH_MAX_CONF_ERRSTR;

    va_start(args, fmt);
    n = vsnprintf((char *) errstr, DH_MAX_CONF_ERRSTR, fmt, args);
    va_end(args);

    if (n < 0) {
        n = 0;
    }

    p = errstr + dh_min((size_t) n, (size_t) DH_MAX_CONF_ERRSTR - 1);

    /* the errno text goes before the location, as in
     * open() "x" failed (2: No such file or directory) in f:3 */
    if (err) {
        p = dh_conf_append(p, last, " (%d: ", err);

        if (p < last - 1) {
            p = dh_strerror(err, p, last - p - 1);
        }

        p = dh_conf_append(p, last, ")");
    }

    if (cf->conf_file == NULL) {
        dh_log_error(level, cf->log, 0, "%.*s", (int) (p - errstr), errstr);
        return;
    }

    if (cf->conf_file->file.fd == DH_INVALID_FILE) {
        dh_log_error(level, cf->log, 0, "%.*s in command line",
                     (int) (p - errstr), errstr);
        return;
    }

    dh_log_error(level, cf->log, 0, "%.*s in %.*s:%lu",
                 (int) (p - errstr), errstr,
                 DH_STR_FMT(cf->conf_file->file.name),
                 (unsigned long) cf->conf_file->line);
}


static u_char *
dh_conf_append(u_char *p, u_char *last, const char *fmt, ...)
{
    int      n;
    size_t   size;
    va_list  args;

    if (p >= last - 1) {
        return p;
    }

    size = last - p;

    va_start(args, fmt);
    n = vsnprintf((char *) p, size, fmt, args);
    va_end(args);

    if (n < 0) {
        return p;
    }

    return p + dh_min((size_t) n, size - 1);
}

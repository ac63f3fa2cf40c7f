/*
 * Configuration files.
 *
 * The grammar is nginx's: words separated by white space, directives end
 * with ';', blocks are '{' ... '}', '#' starts a comment, single or double
 * quotes keep white space and take \" \' \\ \t \r \n escapes.  A directive
 * is looked up in the command tables of the modules of the current type and
 * must be allowed in the current context with its number of arguments.
 * Every error names the file and the line.
 */

#ifndef DH_CONF_FILE_H
#define DH_CONF_FILE_H

#include "dh_core.h"

/* argument counts */
#define DH_CONF_NOARGS      0x00000001
#define DH_CONF_TAKE1       0x00000002
#define DH_CONF_TAKE2       0x00000004
#define DH_CONF_TAKE3       0x00000008
#define DH_CONF_TAKE4       0x00000010
#define DH_CONF_TAKE5       0x00000020
#define DH_CONF_TAKE6       0x00000040
#define DH_CONF_TAKE7       0x00000080

#define DH_CONF_MAX_ARGS    8

#define DH_CONF_TAKE12      (DH_CONF_TAKE1|DH_CONF_TAKE2)
#define DH_CONF_TAKE13      (DH_CONF_TAKE1|DH_CONF_TAKE3)
#define DH_CONF_TAKE23      (DH_CONF_TAKE2|DH_CONF_TAKE3)
#define DH_CONF_TAKE123     (DH_CONF_TAKE1|DH_CONF_TAKE2|DH_CONF_TAKE3)
#define DH_CONF_TAKE1234    (DH_CONF_TAKE1|DH_CONF_TAKE2|DH_CONF_TAKE3       \
                             |DH_CONF_TAKE4)

#define DH_CONF_ARGS_NUMBER 0x000000ff
#define DH_CONF_BLOCK       0x00000100
#define DH_CONF_FLAG        0x00000200     /* one argument: on | off */
#define DH_CONF_ANY         0x00000400
#define DH_CONF_1MORE       0x00000800
#define DH_CONF_2MORE       0x00001000

/* contexts */
#define DH_DIRECT_CONF      0x00010000     /* main, conf made by create_conf */
#define DH_MAIN_CONF        0x01000000     /* main level */
#define DH_ANY_CONF         0xFF000000

#define DH_CONF_UNSET       -1
#define DH_CONF_UNSET_UINT  (dh_uint_t) -1
#define DH_CONF_UNSET_PTR   (void *) -1
#define DH_CONF_UNSET_SIZE  (size_t) -1
#define DH_CONF_UNSET_MSEC  (dh_msec_t) -1

#define DH_CONF_OK          NULL
#define DH_CONF_ERROR       (void *) -1

#define DH_CONF_BLOCK_START 1
#define DH_CONF_BLOCK_DONE  2
#define DH_CONF_FILE_DONE   3

#define DH_CORE_MODULE      0x45524F43     /* "CORE" */
#define DH_CONF_MODULE      0x464E4F43     /* "CONF" */

#define DH_MAX_CONF_ERRSTR  1024

struct dh_command_s {
    dh_str_t        name;
    dh_uint_t       type;          /* contexts | argument counts */
    /* returns DH_CONF_OK, DH_CONF_ERROR (message already logged), or a
     * short text logged as "\"name\" directive TEXT in file:line" */
    char         *(*set)(dh_conf_t *cf, dh_command_t *cmd, void *conf);
    /* outside main: offset of the field of the context struct cf->ctx
     * that points to the conf array indexed by ctx_index */
    dh_uint_t       conf;
    dh_uint_t       offset;        /* offset of the field in the conf */
    void           *post;
};

#define dh_null_command  { dh_null_string, 0, NULL, 0, 0, NULL }

typedef struct {
    dh_file_t       file;
    dh_buf_t       *buffer;
    dh_buf_t       *dump;
    dh_uint_t       line;
} dh_conf_file_t;

typedef struct {
    dh_str_t        name;
    dh_buf_t       *buffer;
} dh_conf_dump_t;

typedef char *(*dh_conf_handler_pt)(dh_conf_t *cf, dh_command_t *dummy,
    void *conf);

struct dh_conf_s {
    char                 *name;
    dh_array_t           *args;        /* of dh_str_t, NUL-terminated */

    dh_cycle_t           *cycle;
    dh_pool_t            *pool;
    dh_pool_t            *temp_pool;
    dh_conf_file_t       *conf_file;
    dh_log_t             *log;

    void                 *ctx;
    dh_uint_t             module_type;
    dh_uint_t             cmd_type;

    /* a block with its own grammar (types {}) sets these */
    dh_conf_handler_pt    handler;
    void                 *handler_conf;
};

typedef char *(*dh_conf_post_handler_pt) (dh_conf_t *cf, void *data,
    void *conf);

typedef struct {
    dh_conf_post_handler_pt  post_handler;
} dh_conf_post_t;

typedef struct {
    dh_conf_post_handler_pt  post_handler;
    dh_int_t                 low;
    dh_int_t                 high;
} dh_conf_num_bounds_t;

typedef struct {
    dh_str_t                 name;
    dh_uint_t                value;
} dh_conf_enum_t;

#define DH_CONF_BITMASK_SET  1

typedef struct {
    dh_str_t                 name;
    dh_uint_t                mask;
} dh_conf_bitmask_t;

char *dh_conf_check_num_bounds(dh_conf_t *cf, void *post, void *data);

#define dh_get_conf(conf_ctx, module)  conf_ctx[module.index]

#define dh_conf_init_value(conf, default)                                     \
    if (conf == DH_CONF_UNSET) { conf = default; }
#define dh_conf_init_ptr_value(conf, default)                                 \
    if (conf == DH_CONF_UNSET_PTR) { conf = default; }
#define dh_conf_init_uint_value(conf, default)                                \
    if (conf == DH_CONF_UNSET_UINT) { conf = default; }
#define dh_conf_init_size_value(conf, default)                                \
    if (conf == DH_CONF_UNSET_SIZE) { conf = default; }
#define dh_conf_init_msec_value(conf, default)                                \
    if (conf == DH_CONF_UNSET_MSEC) { conf = default; }

#define dh_conf_merge_value(conf, prev, default)                              \
    if (conf == DH_CONF_UNSET) {                                              \
        conf = (prev == DH_CONF_UNSET) ? default : prev;                      \
    }
#define dh_conf_merge_ptr_value(conf, prev, default)                          \
    if (conf == DH_CONF_UNSET_PTR) {                                          \
        conf = (prev == DH_CONF_UNSET_PTR) ? default : prev;                  \
    }
#define dh_conf_merge_uint_value(conf, prev, default)                         \
    if (conf == DH_CONF_UNSET_UINT) {                                         \
        conf = (prev == DH_CONF_UNSET_UINT) ? default : prev;                 \
    }
#define dh_conf_merge_msec_value(conf, prev, default)                         \
    if (conf == DH_CONF_UNSET_MSEC) {                                         \
        conf = (prev == DH_CONF_UNSET_MSEC) ? default : prev;                 \
    }
#define dh_conf_merge_sec_value(conf, prev, default)                          \
    if (conf == DH_CONF_UNSET) {                                              \
        conf = (prev == DH_CONF_UNSET) ? default : prev;                      \
    }
#define dh_conf_merge_size_value(conf, prev, default)                         \
    if (conf == DH_CONF_UNSET_SIZE) {                                         \
        conf = (prev == DH_CONF_UNSET_SIZE) ? default : prev;                 \
    }
#define dh_conf_merge_off_value(conf, prev, default)                          \
    if (conf == DH_CONF_UNSET) {                                              \
        conf = (prev == DH_CONF_UNSET) ? default : prev;                      \
    }
#define dh_conf_merge_str_value(conf, prev, default)                          \
    if (conf.data == NULL) {                                                  \
        if (prev.data) {                                                      \
            conf.len = prev.len;                                              \
            conf.data = prev.data;                                            \
        } else {                                                              \
            conf.len = sizeof(default) - 1;                                   \
            conf.data = (u_char *) default;                                   \
        }                                                                     \
    }
#define dh_conf_merge_bitmask_value(conf, prev, default)                      \
    if (conf == 0) {                                                          \
        conf = (prev == 0) ? default : prev;                                  \
    }

/* Parses a file (filename != NULL), the rest of the current block
 * (filename == NULL) or the -g string (cf->conf_file->file.fd ==
 * DH_INVALID_FILE and a buffer set by dh_conf_param). */
char *dh_conf_parse(dh_conf_t *cf, dh_str_t *filename);
char *dh_conf_param(dh_conf_t *cf);
char *dh_conf_include(dh_conf_t *cf, dh_command_t *cmd, void *conf);

/* Makes a name absolute against the prefix (conf_prefix when conf_prefix
 * is set: include, mime.types; otherwise the -p prefix: logs, data). */
dh_int_t dh_conf_full_name(dh_cycle_t *cycle, dh_str_t *name,
    dh_uint_t conf_prefix);

/* Logs "MESSAGE in FILE:LINE" (or "MESSAGE" outside a file). */
void dh_conf_log_error(dh_uint_t level, dh_conf_t *cf, dh_err_t err,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Value parsers with units: sizes k/K m/M g/G; times ms s m h d w M y.
 * DH_ERROR on a malformed or out-of-range value. */
ssize_t dh_parse_size(dh_str_t *line);
off_t dh_parse_offset(dh_str_t *line);
dh_int_t dh_parse_time(dh_str_t *line, dh_uint_t is_sec);

/* Generic setters: write the field at cmd->offset of conf; report
 * "is duplicate" when already set and "invalid value" with the value. */
char *dh_conf_set_flag_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf);
char *dh_conf_set_str_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf);
char *dh_conf_set_str_array_slot(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
char *dh_conf_set_keyval_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf);
char *dh_conf_set_num_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf);
char *dh_conf_set_size_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf);
char *dh_conf_set_off_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf);
char *dh_conf_set_msec_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf);
char *dh_conf_set_sec_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf);
char *dh_conf_set_enum_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf);
char *dh_conf_set_bitmask_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf);
/* dh_str_t made absolute against the -p prefix, NUL-terminated */
char *dh_conf_set_path_slot(dh_conf_t *cf, dh_command_t *cmd, void *conf);

#endif /* DH_CONF_FILE_H */

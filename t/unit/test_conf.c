/*
 * The configuration parser, the module table helpers and the error log,
 * driven through a module table of our own: a fake core module with every
 * kind of slot, a block directive that opens a nested context of a second
 * module type, and a block with a custom grammar.  Conf files are written
 * into a temporary directory; messages are captured from a log file.
 */

#include "dh_config.h"
#include "dh_core.h"
#include <regex.h>
#include "t/unit/dh_tap.h"


#define DH_TEST_MODULE  0x54534554     /* "TEST" */
#define DH_TEST_CONF    0x10000000

typedef struct {
    dh_flag_t     flag;
    dh_int_t      num;
    size_t        size;
    off_t         off;
    dh_msec_t     msec;
    time_t        sec;
    dh_str_t      str;
    dh_uint_t     mode;
    dh_uint_t     mask;
    dh_array_t   *names;
    dh_array_t   *env;
    dh_str_t      path;
    dh_int_t      two;
    dh_uint_t     any_n;
} test_main_conf_t;

typedef struct {
    void        **conf;         /* per DH_TEST_MODULE ctx_index */
} test_block_ctx_t;

typedef struct {
    dh_int_t      inner_num;
    dh_str_t      inner_str;
    dh_uint_t     nested;       /* nested blocks seen below this one */
    dh_array_t   *map;          /* of dh_keyval_t */
} test_block_conf_t;

typedef struct {
    void       *(*create_conf)(dh_conf_t *cf);
} test_module_ctx_t;


static char *test_block(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static char *test_nested(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static char *test_map(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static char *test_any(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static char *test_two(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static void *test_create_main_conf(dh_cycle_t *cycle);
static void *test_create_block_conf(dh_conf_t *cf);
static dh_int_t test_init_module(dh_cycle_t *cycle);


static dh_conf_num_bounds_t  test_num_bounds = {
    dh_conf_check_num_bounds, 1, 100
};

static dh_conf_enum_t  test_modes[] = {
    { dh_string("alpha"), 1 },
    { dh_string("beta"), 2 },
    { dh_null_string, 0 }
};

static dh_conf_bitmask_t  test_masks[] = {
    { dh_string("a"), 0x02 },
    { dh_string("b"), 0x04 },
    { dh_string("c"), 0x08 },
    { dh_null_string, 0 }
};

#define MAIN  DH_MAIN_CONF|DH_DIRECT_CONF

static dh_command_t  test_core_commands[] = {
    { dh_string("flag_d"), MAIN|DH_CONF_FLAG, dh_conf_set_flag_slot, 0,
      offsetof(test_main_conf_t, flag), NULL },
    { dh_string("num_d"), MAIN|DH_CONF_TAKE1, dh_conf_set_num_slot, 0,
      offsetof(test_main_conf_t, num), &test_num_bounds },
    { dh_string("size_d"), MAIN|DH_CONF_TAKE1, dh_conf_set_size_slot, 0,
      offsetof(test_main_conf_t, size), NULL },
    { dh_string("off_d"), MAIN|DH_CONF_TAKE1, dh_conf_set_off_slot, 0,
      offsetof(test_main_conf_t, off), NULL },
    { dh_string("msec_d"), MAIN|DH_CONF_TAKE1, dh_conf_set_msec_slot, 0,
      offsetof(test_main_conf_t, msec), NULL },
    { dh_string("sec_d"), MAIN|DH_CONF_TAKE1, dh_conf_set_sec_slot, 0,
      offsetof(test_main_conf_t, sec), NULL },
    { dh_string("str_d"), MAIN|DH_CONF_TAKE1, dh_conf_set_str_slot, 0,
      offsetof(test_main_conf_t, str), NULL },
    { dh_string("enum_d"), MAIN|DH_CONF_TAKE1, dh_conf_set_enum_slot, 0,
      offsetof(test_main_conf_t, mode), test_modes },
    { dh_string("mask_d"), MAIN|DH_CONF_1MORE, dh_conf_set_bitmask_slot, 0,
      offsetof(test_main_conf_t, mask), test_masks },
    { dh_string("arr_d"), MAIN|DH_CONF_TAKE1, dh_conf_set_str_array_slot, 0,
      offsetof(test_main_conf_t, names), NULL },
    { dh_string("kv_d"), MAIN|DH_CONF_TAKE2, dh_conf_set_keyval_slot, 0,
      offsetof(test_main_conf_t, env), NULL },
    { dh_string("path_d"), MAIN|DH_CONF_TAKE1, dh_conf_set_path_slot, 0,
      offsetof(test_main_conf_t, path), NULL },
    { dh_string("two_d"), MAIN|DH_CONF_TAKE13, test_two, 0, 0, NULL },
    { dh_string("any_d"), MAIN|DH_CONF_ANY, test_any, 0, 0, NULL },
    { dh_string("more2_d"), MAIN|DH_CONF_2MORE, test_any, 0, 0, NULL },
    dh_null_command
};

/* like events {}: no create_conf, so the block owns its conf_ctx slot */
static dh_command_t  test_block_commands[] = {
    { dh_string("block_d"), DH_MAIN_CONF|DH_CONF_BLOCK|DH_CONF_NOARGS,
      test_block, 0, 0, NULL },
    dh_null_command
};

static dh_core_module_t  test_core_ctx = {
    dh_string("test_core"),
    test_create_main_conf,
    NULL
};

static dh_uint_t  test_init_fail;

static dh_module_t  test_core_module = {
    DH_MODULE_V1,
    &test_core_ctx,
    test_core_commands,
    DH_CORE_MODULE,
    test_init_module,
    NULL,
    NULL,
    NULL
};

static dh_core_module_t  test_block_module_ctx = {
    dh_string("test_block"),
    NULL,
    NULL
};

static dh_module_t  test_block_module = {
    DH_MODULE_V1,
    &test_block_module_ctx,
    test_block_commands,
    DH_CORE_MODULE,
    NULL,
    NULL,
    NULL,
    NULL
};

#define BCONF  offsetof(test_block_ctx_t, conf)

static dh_command_t  test_sub_commands[] = {
    { dh_string("inner_num"), DH_TEST_CONF|DH_CONF_TAKE1,
      dh_conf_set_num_slot, BCONF, offsetof(test_block_conf_t, inner_num),
      NULL },
    { dh_string("inner_str"), DH_TEST_CONF|DH_CONF_TAKE1,
      dh_conf_set_str_slot, BCONF, offsetof(test_block_conf_t, inner_str),
      NULL },
    { dh_string("nested"), DH_TEST_CONF|DH_CONF_BLOCK|DH_CONF_TAKE1,
      test_nested, BCONF, 0, NULL },
    { dh_string("map"), DH_TEST_CONF|DH_CONF_BLOCK|DH_CONF_NOARGS,
      test_map, BCONF, 0, NULL },
    dh_null_command
};

static test_module_ctx_t  test_sub_ctx = { test_create_block_conf };

static dh_module_t  test_sub_module = {
    DH_MODULE_V1,
    &test_sub_ctx,
    test_sub_commands,
    DH_TEST_MODULE,
    NULL,
    NULL,
    NULL,
    NULL
};


dh_module_t  *dh_modules[] = {
    &test_core_module,
    &dh_errlog_module,
    &dh_conf_module,
    &test_block_module,
    &test_sub_module,
    NULL
};

char  *dh_module_names[] = {
    "test_core_module",
    "dh_errlog_module",
    "dh_conf_module",
    "test_block_module",
    "test_sub_module",
    NULL
};


static char              tmpdir[64];
static char              conf_path[128];
static dh_open_file_t    test_log_file;
static dh_log_t          test_log;
static dh_cycle_t       *cycle;
static test_block_ctx_t *last_block;


/* the configuration under test and its helpers */

static void *
test_create_main_conf(dh_cycle_t *cycle)
{
    test_main_conf_t  *c;

    c = dh_pcalloc(cycle->pool, sizeof(test_main_conf_t));
    if (c == NULL) {
        return NULL;
    }

    c->flag = DH_CONF_UNSET;
    c->num = DH_CONF_UNSET;
    c->size = DH_CONF_UNSET_SIZE;
    c->off = DH_CONF_UNSET;
    c->msec = DH_CONF_UNSET_MSEC;
    c->sec = DH_CONF_UNSET;
    c->mode = DH_CONF_UNSET_UINT;
    c->names = DH_CONF_UNSET_PTR;
    c->env = NULL;
    c->two = DH_CONF_UNSET;

    return c;
}


static void *
test_create_block_conf(dh_conf_t *cf)
{
    test_block_conf_t  *c;

    c = dh_pcalloc(cf->pool, sizeof(test_block_conf_t));
    if (c == NULL) {
        return NULL;
    }

    c->inner_num = DH_CONF_UNSET;

    return c;
}


static dh_int_t
test_init_module(dh_cycle_t *cycle)
{
    return test_init_fail ? DH_ERROR : DH_OK;
}


static char *
test_two(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    test_main_conf_t  *c = conf;

    c->two = (dh_int_t) cf->args->nelts - 1;

    return DH_CONF_OK;
}


static char *
test_any(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    test_main_conf_t  *c = conf;

    c->any_n = cf->args->nelts - 1;

    return DH_CONF_OK;
}


static test_block_ctx_t *
test_new_block_ctx(dh_conf_t *cf)
{
    dh_uint_t           i, n;
    dh_module_t        *m;
    test_block_ctx_t   *ctx;
    test_module_ctx_t  *mctx;

    n = dh_count_modules(cf->cycle, DH_TEST_MODULE);

    ctx = dh_pcalloc(cf->pool, sizeof(test_block_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ctx->conf = dh_pcalloc(cf->pool, n * sizeof(void *));
    if (ctx->conf == NULL) {
        return NULL;
    }

    for (i = 0; cf->cycle->modules[i]; i++) {
        m = cf->cycle->modules[i];

        if (m->type != DH_TEST_MODULE) {
            continue;
        }

        mctx = m->ctx;
        ctx->conf[m->ctx_index] = mctx->create_conf(cf);
        if (ctx->conf[m->ctx_index] == NULL) {
            return NULL;
        }
    }

    return ctx;
}


static char *
test_parse_block(dh_conf_t *cf, test_block_ctx_t *ctx)
{
    char       *rv;
    dh_conf_t   save;

    save = *cf;

    cf->ctx = ctx;
    cf->module_type = DH_TEST_MODULE;
    cf->cmd_type = DH_TEST_CONF;

    rv = dh_conf_parse(cf, NULL);

    *cf = save;

    return rv;
}


static char *
test_block(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    test_block_ctx_t  *ctx;

    if (*(void **) conf) {
        return "is duplicate";
    }

    ctx = test_new_block_ctx(cf);
    if (ctx == NULL) {
        return DH_CONF_ERROR;
    }

    *(void **) conf = ctx;
    last_block = ctx;

    return test_parse_block(cf, ctx);
}


static char *
test_nested(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    test_block_conf_t  *parent = conf;
    test_block_ctx_t   *ctx;

    parent->nested++;

    ctx = test_new_block_ctx(cf);
    if (ctx == NULL) {
        return DH_CONF_ERROR;
    }

    return test_parse_block(cf, ctx);
}


static char *
test_map_entry(dh_conf_t *cf, dh_command_t *dummy, void *conf)
{
    test_block_conf_t  *c = conf;
    dh_str_t           *value;
    dh_keyval_t        *kv;

    if (cf->args->nelts != 2) {
        return "invalid map entry";
    }

    value = cf->args->elts;

    kv = dh_array_push(c->map);
    if (kv == NULL) {
        return DH_CONF_ERROR;
    }

    kv->key = value[0];
    kv->value = value[1];

    return DH_CONF_OK;
}


static char *
test_map(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    char               *rv;
    dh_conf_t           save;
    test_block_conf_t  *c = conf;

    c->map = dh_array_create(cf->pool, 4, sizeof(dh_keyval_t));
    if (c->map == NULL) {
        return DH_CONF_ERROR;
    }

    save = *cf;
    cf->handler = test_map_entry;
    cf->handler_conf = c;

    rv = dh_conf_parse(cf, NULL);

    *cf = save;

    return rv;
}


/* harness */

static void
write_file(const char *name, const char *text)
{
    char   path[768];
    FILE  *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);

    f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }

    fputs(text, f);
    fclose(f);
}


/* Everything logged since the last call. */
static char *
log_take(void)
{
    static char  buf[65536];
    ssize_t      n;

    n = pread(test_log_file.fd, buf, sizeof(buf) - 1, 0);
    if (n < 0) {
        n = 0;
    }

    buf[n] = '\0';

    if (ftruncate(test_log_file.fd, 0) == -1) {
        perror("ftruncate");
        exit(2);
    }

    return buf;
}


/* The message part of the first logged line (after "PID#TID: "). */
static char *
log_msg(void)
{
    static char  msg[8192];
    char        *p, *nl;

    p = log_take();

    p = strchr(p, '#');
    p = p ? strstr(p, ": ") : NULL;

    if (p == NULL) {
        return "";
    }

    snprintf(msg, sizeof(msg), "%s", p + 2);

    nl = strchr(msg, '\n');
    if (nl) {
        *nl = '\0';
    }

    return msg;
}


static dh_cycle_t *
new_cycle(void)
{
    dh_uint_t    i;
    dh_pool_t   *pool;
    dh_cycle_t  *c;
    dh_core_module_t  *mctx;

    pool = dh_create_pool(DH_CYCLE_POOL_SIZE, &test_log);
    c = dh_pcalloc(pool, sizeof(dh_cycle_t));
    c->pool = pool;
    c->log = &test_log;

    if (dh_list_init(&c->open_files, pool, 4, sizeof(dh_open_file_t))
        != DH_OK)
    {
        exit(2);
    }

    c->conf_ctx = dh_pcalloc(pool, dh_max_module * sizeof(void *));

    if (dh_cycle_modules(c) != DH_OK) {
        exit(2);
    }

    /* -p and the conf directory differ: include follows the conf file,
     * logs and paths follow the prefix */
    c->conf_prefix.len = strlen(tmpdir) + 1;
    c->conf_prefix.data = dh_pnalloc(pool, c->conf_prefix.len + 1);
    snprintf((char *) c->conf_prefix.data, c->conf_prefix.len + 1, "%s/",
             tmpdir);

    c->prefix.len = strlen(tmpdir) + 3;
    c->prefix.data = dh_pnalloc(pool, c->prefix.len + 1);
    snprintf((char *) c->prefix.data, c->prefix.len + 1, "%s/p/", tmpdir);

    for (i = 0; c->modules[i]; i++) {
        if (c->modules[i]->type != DH_CORE_MODULE) {
            continue;
        }

        mctx = c->modules[i]->ctx;

        if (mctx->create_conf) {
            c->conf_ctx[c->modules[i]->index] = mctx->create_conf(c);
        }
    }

    return c;
}


/* Parses `text` as tmpdir/test.conf (and `param` as -g); the cycle stays
 * in `cycle` for inspection.  Returns 1 on success. */
static int
parse(const char *text, const char *param)
{
    char      *rv;
    dh_conf_t  cf;
    dh_str_t   file;

    if (cycle) {
        dh_destroy_pool(cycle->pool);
    }

    cycle = new_cycle();
    last_block = NULL;

    write_file("test.conf", text);

    dh_memzero(&cf, sizeof(dh_conf_t));
    cf.args = dh_array_create(cycle->pool, 10, sizeof(dh_str_t));
    cf.temp_pool = cycle->pool;
    cf.cycle = cycle;
    cf.pool = cycle->pool;
    cf.log = &test_log;
    cf.ctx = cycle->conf_ctx;
    cf.module_type = DH_CORE_MODULE;
    cf.cmd_type = DH_MAIN_CONF;

    if (param) {
        cycle->conf_param.len = strlen(param);
        cycle->conf_param.data = (u_char *) param;

        if (dh_conf_param(&cf) != DH_CONF_OK) {
            return 0;
        }
    }

    file.len = strlen(conf_path);
    file.data = (u_char *) conf_path;

    rv = dh_conf_parse(&cf, &file);

    return rv == DH_CONF_OK;
}


static test_main_conf_t *
main_conf(void)
{
    return (test_main_conf_t *) cycle->conf_ctx[test_core_module.index];
}


static test_block_conf_t *
block_conf(void)
{
    return last_block ? last_block->conf[test_sub_module.ctx_index] : NULL;
}


/* Expects the conf to fail with exactly "MSG in test.conf:LINE". */
static void
conf_error(const char *text, const char *msg, int line, const char *what)
{
    char  want[1024];

    (void) log_take();

    ok(!parse(text, NULL), "%s: parse fails", what);

    snprintf(want, sizeof(want), "%s in %s:%d", msg, conf_path, line);
    is_str(log_msg(), want, "%s: message", what);
}


/* tests */

static void
test_modules(void)
{
    dh_cycle_t  *c;

    dh_preinit_modules();

    is_int(dh_max_module, 5, "dh_max_module counts the table");
    is_int(dh_errlog_module.index, 1, "index is the table position");
    is_str(test_sub_module.name, "test_sub_module", "name from the names");

    c = new_cycle();

    is_int(c->modules_n, 5, "cycle has a copy of the table");
    ok(c->modules[5] == NULL, "cycle table is NULL-terminated");
    is_int(dh_count_modules(c, DH_CORE_MODULE), 3, "three core modules");
    is_int(dh_errlog_module.ctx_index, 1, "ctx_index in table order");
    is_int(dh_count_modules(c, DH_TEST_MODULE), 1, "one test module");

    ok(dh_module_built("dh_conf_module"), "dh_module_built finds a module");
    ok(!dh_module_built("dh_nope_module"), "dh_module_built misses");

    is_int(dh_init_modules(c), DH_OK, "init_module hooks succeed");
    test_init_fail = 1;
    is_int(dh_init_modules(c), DH_ERROR, "a failing init_module fails");
    test_init_fail = 0;

    dh_destroy_pool(c->pool);
}


static void
test_units(void)
{
    dh_str_t  s;

#define SZ(t)   (s.len = strlen(t), s.data = (u_char *) t, dh_parse_size(&s))
#define OF(t)   (s.len = strlen(t), s.data = (u_char *) t, dh_parse_offset(&s))
#define TM(t, sec)                                                            \
    (s.len = strlen(t), s.data = (u_char *) t, dh_parse_time(&s, sec))

    is_int(SZ("100"), 100, "size: bytes");
    is_int(SZ("64k"), 65536, "size: 64k");
    is_int(SZ("64K"), 65536, "size: 64K");
    is_int(SZ("1m"), 1048576, "size: 1m");
    is_int(SZ("2G"), 2147483648LL, "size: 2G");
    is_int(SZ(""), DH_ERROR, "size: empty");
    is_int(SZ("k"), DH_ERROR, "size: unit alone");
    is_int(SZ("1x"), DH_ERROR, "size: bad unit");
    is_int(SZ("-1"), DH_ERROR, "size: negative");
    is_int(SZ("9000000000g"), DH_ERROR, "size: overflow with unit");
    is_int(SZ("99999999999999999999"), DH_ERROR, "size: overflow");
    is_int(OF("3g"), 3221225472LL, "offset: 3g");
    is_int(OF("9000000000g"), DH_ERROR, "offset: overflow");

    is_int(TM("10", 0), 10000, "time: bare number is seconds (msec)");
    is_int(TM("10", 1), 10, "time: bare number is seconds (sec)");
    is_int(TM("10s", 0), 10000, "time: 10s");
    is_int(TM("500ms", 0), 500, "time: 500ms");
    is_int(TM("1h 30m", 0), 5400000, "time: 1h 30m");
    is_int(TM("1h30m", 1), 5400, "time: 1h30m");
    is_int(TM("1m5", 1), 65, "time: minutes and bare seconds");
    is_int(TM("2d", 1), 172800, "time: 2d");
    is_int(TM("1w", 1), 604800, "time: 1w");
    is_int(TM("1M", 1), 2592000, "time: 1M is 30 days");
    is_int(TM("1y", 1), 31536000, "time: 1y is 365 days");
    is_int(TM("1s 500ms", 0), 1500, "time: 1s 500ms");
    is_int(TM(" 5s ", 0), 5000, "time: surrounding spaces");
    is_int(TM("500ms", 1), DH_ERROR, "time: ms in a seconds slot");
    is_int(TM("30m1h", 0), DH_ERROR, "time: units out of order");
    is_int(TM("1h1h", 0), DH_ERROR, "time: unit repeated");
    is_int(TM("1 h", 0), DH_ERROR, "time: space before the unit");
    is_int(TM("1s5", 0), DH_ERROR, "time: bare number after seconds");
    is_int(TM("h", 0), DH_ERROR, "time: unit alone");
    is_int(TM("1x", 0), DH_ERROR, "time: bad unit");
    is_int(TM("", 0), DH_ERROR, "time: empty");
    is_int(TM("99999999999999999y", 0), DH_ERROR, "time: overflow");

#undef SZ
#undef OF
#undef TM
}


static void
test_values(void)
{
    test_main_conf_t  *c;
    dh_str_t          *names;
    dh_keyval_t       *kv;
    char               want[512];

    ok(parse("# values of every slot\n"
             "flag_d   on;\n"
             "num_d    42;   # trailing comment\n"
             "size_d   64k;\n"
             "off_d    2g;\n"
             "msec_d   \"1h 30m\";\n"
             "sec_d    1d;\n"
             "str_d    \"hello world\";\n"
             "enum_d   BETA;\n"
             "mask_d   a c;\n"
             "arr_d    one;\n"
             "arr_d    two;\n"
             "kv_d     KEY 'some value';\n"
             "path_d   logs/x.pid;\n"
             "two_d    x y z;\n"
             "any_d;\n",
             NULL), "every slot parses");

    c = main_conf();

    is_int(c->flag, 1, "flag on");
    is_int(c->num, 42, "num");
    is_int(c->size, 65536, "size 64k");
    is_int(c->off, 2147483648LL, "off 2g");
    is_int(c->msec, 5400000, "msec 1h 30m");
    is_int(c->sec, 86400, "sec 1d");
    is_str(c->str.data, "hello world", "quoted string keeps the space");
    is_int(c->str.len, 11, "string length");
    is_int(c->mode, 2, "enum is case-insensitive");
    is_int(c->mask, 0x0a, "bitmask ors the values");
    is_int(c->names->nelts, 2, "str_array collects");
    names = c->names->elts;
    is_str(names[1].data, "two", "str_array keeps order");
    kv = c->env->elts;
    is_str(kv[0].key.data, "KEY", "keyval key");
    is_str(kv[0].value.data, "some value", "keyval value");
    snprintf(want, sizeof(want), "%s/p/logs/x.pid", tmpdir);
    is_str(c->path.data, want, "path made absolute against the prefix");
    is_int(c->two, 3, "TAKE13 takes three");
    is_int(c->any_n, 0, "ANY takes none");
    is_str(log_take(), "", "nothing logged");

    ok(parse("flag_d OFF;\nnum_d 100;\n", NULL), "flag off, bounds edge");
    is_int(main_conf()->flag, 0, "flag OFF");
    is_int(main_conf()->num, 100, "upper bound accepted");
}


static void
test_quoting(void)
{
    dh_str_t  *n;

    ok(parse("arr_d \"a\\\"b\";\n"             /* "a\"b" */
             "arr_d 'it\\'s';\n"                /* 'it\'s' */
             "arr_d \"t\\tr\\rn\\n\";\n"
             "arr_d back\\\\slash;\n"
             "arr_d \"re\\d+\";\n"
             "arr_d \"semi;colon{brace}#hash\";\n"
             "arr_d word#notcomment;\n"
             "arr_d \"\";\n"
             "arr_d\n"
             "   multi   # comment inside a directive\n"
             "   ;\n"
             "arr_d 'single \"double\" inside';\n"
             "arr_d x}y;\n",
             NULL), "quoting parses");

    n = main_conf()->names->elts;

    is_int(main_conf()->names->nelts, 11, "eleven words");
    is_str(n[0].data, "a\"b", "escaped double quote");
    is_str(n[1].data, "it's", "escaped single quote");
    is_str(n[2].data, "t\tr\rn\n", "\\t \\r \\n escapes");
    is_str(n[3].data, "back\\slash", "escaped backslash");
    is_str(n[4].data, "re\\d+", "other escapes kept for regexes");
    is_str(n[5].data, "semi;colon{brace}#hash", "specials inside quotes");
    is_str(n[6].data, "word#notcomment", "# inside a word");
    is_int(n[7].len, 0, "empty quoted string");
    is_str(n[8].data, "multi", "directive across lines and a comment");
    is_str(n[9].data, "single \"double\" inside", "quotes nest");
    (void) n;
}


static void
test_blocks(void)
{
    test_block_conf_t  *b;
    dh_keyval_t        *kv;

    ok(parse("num_d 1;\n"
             "block_d {\n"
             "    inner_num 7;\n"
             "    inner_str \"in block\";\n"
             "    nested one { nested two { inner_num 9; } }\n"
             "    map {\n"
             "        text/html  html;\n"
             "        image/png  png;\n"
             "    }\n"
             "}\n",
             NULL), "blocks parse");

    b = block_conf();
    ok(b != NULL, "block context created: %s", log_msg());
    if (b == NULL) {
        return;
    }
    is_int(b->inner_num, 7, "directive in the block context");
    is_str(b->inner_str.data, "in block", "string in the block context");
    is_int(b->nested, 1, "nested block");
    is_int(b->map->nelts, 2, "custom grammar block");
    kv = b->map->elts;
    is_str(kv[1].key.data, "image/png", "custom grammar key");
    is_str(kv[1].value.data, "png", "custom grammar value");
}


static void
test_include(void)
{
    int        rc;
    char       dir[512], want[1024];
    dh_str_t  *n;

    snprintf(dir, sizeof(dir), "%s/inc", tmpdir);
    (void) mkdir(dir, 0755);

    write_file("inc/b.conf", "arr_d b;\n");
    write_file("inc/a.conf", "arr_d a1;\n# two\narr_d a2;\n");
    write_file("inc/c.txt", "arr_d txt;\n");
    write_file("inner.conf", "inner_num 5;\n");
    write_file("bad.conf", "arr_d x;\n\nbogus;\n");
    write_file("open.conf", "block_d {\n");

    rc = parse("include inc/*.conf;\n"
               "include nothing/*.conf;\n"
               "arr_d last;\n"
               "block_d { include inner.conf; }\n",
               NULL);
    ok(rc, "include with glob %s", log_msg());

    n = main_conf()->names->elts;
    is_int(main_conf()->names->nelts, 4, "included files and the rest");
    is_str(n[0].data, "a1", "glob matches sorted: a first");
    is_str(n[1].data, "a2", "glob: all of a");
    is_str(n[2].data, "b", "glob: then b");
    is_str(n[3].data, "last", "directives after include");
    is_int(block_conf()->inner_num, 5, "include inside a block");

    snprintf(want, sizeof(want),
             "open() \"%s/missing.conf\" failed (2: No such file or directory)",
             tmpdir);
    conf_error("arr_d x;\ninclude missing.conf;\n", want, 2,
               "missing include");

    (void) log_take();
    ok(!parse("num_d 1;\ninclude bad.conf;\n", NULL), "error in include");
    snprintf(want, sizeof(want), "unknown directive \"bogus\" in %s/bad.conf:3",
             tmpdir);
    is_str(log_msg(), want, "error names the included file and its line");

    (void) log_take();
    ok(!parse("include open.conf;\n}\n", NULL), "block may not span files");
    snprintf(want, sizeof(want),
             "unexpected end of file, expecting \"}\" in %s/open.conf:2",
             tmpdir);
    is_str(log_msg(), want, "unclosed block in an included file");
}


static void
test_errors(void)
{
    char  longword[6000], text[7000], want[256];

    conf_error("num_d 1;\n\nbogus 1;\n", "unknown directive \"bogus\"", 3,
               "unknown directive");
    conf_error("inner_num 1;\n", "\"inner_num\" directive is not allowed here",
               1, "wrong context (other module type)");
    conf_error("block_d {\n    flag_d on;\n}\n",
               "\"flag_d\" directive is not allowed here", 2,
               "main directive inside a block");
    conf_error("num_d 1 2;\n",
               "invalid number of arguments in \"num_d\" directive", 1,
               "too many arguments");
    conf_error("num_d;\n",
               "invalid number of arguments in \"num_d\" directive", 1,
               "no arguments");
    conf_error("two_d a b;\n",
               "invalid number of arguments in \"two_d\" directive", 1,
               "TAKE13 refuses two");
    conf_error("flag_d;\n",
               "invalid number of arguments in \"flag_d\" directive", 1,
               "flag needs one");
    conf_error("mask_d;\n",
               "invalid number of arguments in \"mask_d\" directive", 1,
               "1MORE needs one");
    conf_error("more2_d a;\n",
               "invalid number of arguments in \"more2_d\" directive", 1,
               "2MORE needs two");
    conf_error("any_d 1 2 3 4 5 6 7 8 9;\nnum_d 1 2 3 4 5 6 7 8;\n",
               "invalid number of arguments in \"num_d\" directive", 2,
               "more than seven");
    conf_error("block_d { } block_d x { }\n",
               "invalid number of arguments in \"block_d\" directive", 1,
               "block with arguments");
    conf_error("num_d 1;\nnum_d 2;\n", "\"num_d\" directive is duplicate", 2,
               "duplicate");
    conf_error("block_d { }\nblock_d { }\n",
               "\"block_d\" directive is duplicate", 2, "duplicate block");
    conf_error("str_d a;\nstr_d b;\n", "\"str_d\" directive is duplicate", 2,
               "duplicate string");
    conf_error("msec_d 1s;\nmsec_d 2s;\n", "\"msec_d\" directive is duplicate",
               2, "duplicate time");
    conf_error("num_d abc;\n", "invalid value \"abc\" in \"num_d\" directive",
               1, "bad number");
    conf_error("num_d 0;\n",
               "invalid value \"0\" in \"num_d\" directive, "
               "it must be between 1 and 100", 1, "number out of bounds");
    conf_error("size_d 10x;\n", "invalid value \"10x\" in \"size_d\" directive",
               1, "bad size");
    conf_error("msec_d 10q;\n", "invalid value \"10q\" in \"msec_d\" directive",
               1, "bad time");
    conf_error("sec_d 5ms;\n", "invalid value \"5ms\" in \"sec_d\" directive",
               1, "ms in seconds");
    conf_error("enum_d gamma;\n",
               "invalid value \"gamma\" in \"enum_d\" directive", 1,
               "bad enum");
    conf_error("mask_d a z;\n", "invalid value \"z\" in \"mask_d\" directive",
               1, "bad bitmask");
    conf_error("flag_d yes;\n",
               "invalid value \"yes\" in \"flag_d\" directive, "
               "it must be \"on\" or \"off\"", 1, "bad flag");
    conf_error("block_d;\n", "directive \"block_d\" has no opening \"{\"", 1,
               "block without {");
    conf_error("num_d 1 {\n}\n",
               "directive \"num_d\" is not terminated by \";\"", 1,
               "simple directive with {");
    conf_error("num_d 1;\n}\n", "unexpected \"}\"", 2, "stray }");
    conf_error("num_d 1 }\n", "unexpected \"}\"", 1, "} after arguments");
    conf_error("block_d {\n    inner_num 1;\n", "unexpected end of file, "
               "expecting \"}\"", 3, "unclosed block");
    conf_error("num_d 1;\nnum_d 2", "unexpected end of file, "
               "expecting \";\" or \"}\"", 2, "unterminated directive");
    conf_error("{\n", "unexpected \"{\"", 1, "stray {");
    conf_error("num_d 1;\n;\n", "unexpected \";\"", 2, "stray ;");
    conf_error("str_d \"abc;\n\n", "unexpected end of file, unterminated "
               "quoted string started on line 1", 3, "unbalanced quotes");
    conf_error("str_d \"a\"b;\n", "unexpected \"b\"", 1,
               "text after a closing quote");
    conf_error("block_d { map { a b; c; } }\n", "invalid map entry", 1,
               "custom grammar error string");
    conf_error("block_d { map { a { } } }\n", "unexpected \"{\"", 1,
               "block in a custom grammar");
    conf_error("error_log logs/e.log loud;\n",
               "invalid log level \"loud\"", 1, "bad log level");

    memset(longword, 'x', sizeof(longword) - 1);
    longword[sizeof(longword) - 1] = '\0';
    snprintf(text, sizeof(text), "num_d 1;\nstr_d %s;\n", longword);
    conf_error(text, "too long parameter \"xxxxxxxxxx...\" started", 2,
               "word longer than the buffer");

    snprintf(text, sizeof(text), "str_d \"%s", longword);
    snprintf(want, sizeof(want), "too long parameter, probably missing "
             "terminating \"\"\" character");
    conf_error(text, want, 1, "runaway quote");
}


static void
test_big_file(void)
{
    char      *text, *p, want[1024];
    dh_uint_t  i;
    dh_str_t  *n;

    /* ~30 KiB: words straddle the 4 KiB buffer boundary many times */
    text = malloc(64 * 1024);
    p = text;

    for (i = 0; i < 600; i++) {
        p += sprintf(p, "arr_d \"item %04lu %s\";\n", (unsigned long) i,
                     "padding-padding-padding-padding");
    }

    strcpy(p, "bogus;\n");

    (void) log_take();
    ok(!parse(text, NULL), "big file with an error at the end");
    snprintf(want, sizeof(want), "unknown directive \"bogus\" in %s:601",
             conf_path);
    is_str(log_msg(), want, "line counted across buffer refills");

    strcpy(p, "");
    ok(parse(text, NULL), "big file parses");
    is_int(main_conf()->names->nelts, 600, "every directive of a big file");
    n = main_conf()->names->elts;
    is_str(n[599].data, "item 0599 padding-padding-padding-padding",
           "last word intact");
    is_str(n[273].data, "item 0273 padding-padding-padding-padding",
           "a middle word intact");

    free(text);
}


static void
test_param(void)
{
    ok(parse("", "num_d 7; flag_d off;"), "-g directives");
    is_int(main_conf()->num, 7, "-g sets a value");
    is_int(main_conf()->flag, 0, "-g sets a flag");

    (void) log_take();
    ok(!parse("num_d 8;\n", "num_d 7;"), "-g and file clash");
    {
        char  want[1024];

        snprintf(want, sizeof(want), "\"num_d\" directive is duplicate in %s:1",
                 conf_path);
        is_str(log_msg(), want, "duplicate of a -g directive is in the file");
    }

    ok(!parse("", "bogus 1;"), "-g unknown directive");
    is_str(log_msg(), "unknown directive \"bogus\" in command line",
           "-g errors say \"in command line\"");

    ok(!parse("", "num_d 7"), "-g without ;");
    is_str(log_msg(), "unexpected end of parameter, expecting \";\" "
           "in command line", "-g unterminated");

    ok(!parse("", "block_d { }"), "-g block");
    is_str(log_msg(), "block directives are not supported in -g option "
           "in command line", "-g refuses blocks");

    ok(!parse("", "num_d 7; }"), "-g stray }");
    is_str(log_msg(), "unexpected \"}\" in command line", "-g stray }");
}


static void
test_dump(void)
{
    dh_conf_dump_t  *cd;
    char             want[512];
    const char      *main_text = "include inc/a.conf;\ninclude inc/a.conf;\n";

    write_file("inc/a.conf", "arr_d a1;\n");

    dh_dump_config = 1;
    ok(parse(main_text, NULL), "-T parse");
    dh_dump_config = 0;

    is_int(cycle->config_dump.nelts, 2, "a file included twice dumps once");
    cd = cycle->config_dump.elts;

    is_str(cd[0].name.data, conf_path, "dump: main file name");
    is_int(cd[0].buffer->last - cd[0].buffer->pos, strlen(main_text),
           "dump: main file size");
    ok(memcmp(cd[0].buffer->pos, main_text, strlen(main_text)) == 0,
       "dump: main file text");

    snprintf(want, sizeof(want), "%s/inc/a.conf", tmpdir);
    is_str(cd[1].name.data, want, "dump: included file name");
    ok(cd[1].buffer->last - cd[1].buffer->pos == 10
       && memcmp(cd[1].buffer->pos, "arr_d a1;\n", 10) == 0,
       "dump: included file text");

    ok(parse(main_text, NULL), "parse without -T");
    is_int(cycle->config_dump.nelts, 0, "no dump without -T");
}


/* What the cycle does after parsing: every core module's init_conf. */
static int
run_init_conf(void)
{
    dh_uint_t          i;
    dh_core_module_t  *mctx;

    for (i = 0; cycle->modules[i]; i++) {
        if (cycle->modules[i]->type != DH_CORE_MODULE) {
            continue;
        }

        mctx = cycle->modules[i]->ctx;

        if (mctx->init_conf
            && mctx->init_conf(cycle, cycle->conf_ctx[cycle->modules[i]->index])
               != DH_CONF_OK)
        {
            return 0;
        }
    }

    return 1;
}


static void
test_error_log_directive(void)
{
    dh_log_t  *log;
    char       want[512];

    ok(parse("error_log logs/a.log warn;\n"
             "error_log logs/b.log;\n"
             "error_log stderr debug;\n", NULL), "error_log directives");

    log = &cycle->new_log;
    is_int(log->log_level, DH_LOG_DEBUG, "most verbose log first");
    is_int(log->file->fd, STDERR_FILENO, "stderr log");
    ok(cycle->log_use_stderr, "cycle knows it logs to stderr");

    log = log->next;
    ok(log != NULL && log->log_level == DH_LOG_WARN, "then warn");
    snprintf(want, sizeof(want), "%s/p/logs/a.log", tmpdir);
    is_str(log ? (char *) log->file->name.data : NULL, want,
           "log file made absolute against the prefix");

    log = log ? log->next : NULL;
    ok(log != NULL && log->log_level == DH_LOG_ERR, "default level error");
    ok(log != NULL && log->next == NULL, "three logs chained");

    is_int(dh_log_open_default(cycle), DH_OK, "open_default keeps them");
    ok(cycle->new_log.file->fd == STDERR_FILENO, "still the configured log");

    ok(parse("num_d 1;\n", NULL), "no error_log");
    cycle->error_log.len = sizeof("logs/error.log") - 1;
    cycle->error_log.data = (u_char *) "logs/error.log";
    ok(run_init_conf(), "errlog init_conf");
    snprintf(want, sizeof(want), "%s/p/logs/error.log", tmpdir);
    is_str(cycle->new_log.file ? (char *) cycle->new_log.file->name.data
                               : NULL, want, "default error log");
    is_int(cycle->new_log.log_level, DH_LOG_ERR, "default level");
}


static u_char *
test_log_handler(dh_log_t *log, u_char *buf, size_t len)
{
    int  n;

    n = snprintf((char *) buf, len, ", client: %s", (char *) log->data);

    return buf + ((n < 0) ? 0 : dh_min((size_t) n, len));
}


static int
matches(const char *text, const char *re)
{
    int      rc;
    regex_t  r;

    if (regcomp(&r, re, REG_EXTENDED|REG_NOSUB) != 0) {
        return 0;
    }

    rc = regexec(&r, text, 0, NULL, 0);
    regfree(&r);

    return rc == 0;
}


static void
test_log_lines(void)
{
    char             re[256], *text, big[3000], errfile[512];
    dh_log_t         info_log, warn_log;
    dh_open_file_t   info_file, warn_file;
    int              saved, fd;
    ssize_t          n;

    test_log.connection = 17;
    dh_log_error(DH_LOG_ERR, &test_log, DH_ENOENT, "hello %d", 42);
    test_log.connection = 0;

    snprintf(re, sizeof(re),
             "^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} "
             "\\[error\\] %d#0: \\*17 hello 42 "
             "\\(2: No such file or directory\\)\n$", (int) getpid());
    text = log_take();
    if (!ok(matches(text, re), "log line format")) {
        printf("#   line: %s", text);
    }

    dh_log_tid = 3;
    test_log.handler = test_log_handler;
    test_log.data = "127.0.0.1";
    dh_log_error(DH_LOG_WARN, &test_log, 0, "ctx");
    dh_log_error_core(DH_LOG_DEBUG, &test_log, 0, "dbg");
    test_log.handler = NULL;
    dh_log_tid = 0;
    text = log_take();
    ok(strstr(text, "#3: ctx, client: 127.0.0.1\n") != NULL,
       "thread id and context handler");
    ok(strstr(text, "#3: dbg\n") != NULL, "no context on debug lines");

    test_log.log_level = DH_LOG_WARN;
    dh_log_error(DH_LOG_INFO, &test_log, 0, "filtered");
    test_log.log_level = DH_LOG_DEBUG;
    is_str(log_take(), "", "lines above the level are dropped");

    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    dh_log_error(DH_LOG_ERR, &test_log, 0, "%s", big);
    text = log_take();
    is_int(strlen(text), DH_MAX_ERROR_STR, "long line truncated");
    ok(strlen(text) > 4 && strcmp(text + strlen(text) - 4, "...\n") == 0,
       "truncated line ends with ...");

    /* two chained logs with their own levels */
    snprintf(errfile, sizeof(errfile), "%s/warn.log", tmpdir);
    warn_file.fd = open(errfile, O_RDWR|O_CREAT|O_TRUNC|O_APPEND, 0644);
    info_file.fd = test_log_file.fd;

    dh_memzero(&info_log, sizeof(dh_log_t));
    dh_memzero(&warn_log, sizeof(dh_log_t));
    info_log.log_level = DH_LOG_INFO;
    info_log.file = &info_file;
    info_log.next = &warn_log;
    warn_log.log_level = DH_LOG_WARN;
    warn_log.file = &warn_file;

    dh_log_error(DH_LOG_INFO, &info_log, 0, "only info");
    dh_log_error(DH_LOG_ERR, &info_log, 0, "both");

    ok(strstr(log_take(), "only info") != NULL, "info log gets info");
    n = pread(warn_file.fd, big, sizeof(big) - 1, 0);
    big[n > 0 ? n : 0] = '\0';
    ok(strstr(big, "only info") == NULL && strstr(big, "both") != NULL,
       "warn log gets only warn and worse");
    close(warn_file.fd);

    is_str(dh_log_level_name(DH_LOG_EMERG), "emerg", "level name emerg");
    is_str(dh_log_level_name(DH_LOG_WARN), "warn", "level name warn");

    /* during startup warn and worse are echoed on the terminal */
    snprintf(errfile, sizeof(errfile), "%s/stderr.out", tmpdir);
    fd = open(errfile, O_RDWR|O_CREAT|O_TRUNC, 0644);
    saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);

    dh_use_stderr = 1;
    dh_log_error(DH_LOG_EMERG, &test_log, 0, "unknown directive \"x\"");
    dh_log_error(DH_LOG_NOTICE, &test_log, 0, "not echoed");
    dh_use_stderr = 0;
    dh_log_stderr(0, "the configuration file %s syntax is ok", "f");
    dh_log_stderr(DH_EACCES, "open() \"%s\" failed", "p");

    dup2(saved, STDERR_FILENO);
    close(saved);

    n = pread(fd, big, sizeof(big) - 1, 0);
    big[n > 0 ? n : 0] = '\0';
    close(fd);

    is_str(big, "divehttpd: [emerg] unknown directive \"x\"\n"
                "divehttpd: the configuration file f syntax is ok\n"
                "divehttpd: open() \"p\" failed (13: Permission denied)\n",
           "stderr echo and dh_log_stderr");
    text = log_take();
    ok(strstr(text, "[emerg] ") && strstr(text, ": unknown directive \"x\"\n"),
       "echoed line is in the log too");
}


static void
test_log_init(void)
{
    int        fd;
    char       want[512], buf[512];
    dh_log_t  *log;
    ssize_t    n;

    log = dh_log_init((u_char *) tmpdir, (u_char *) "boot.log");
    ok(log == &dh_log && log->file->fd > STDERR_FILENO,
       "bootstrap log opens the file under the prefix");

    dh_log_error(DH_LOG_ERR, log, 0, "boot message");

    snprintf(want, sizeof(want), "%s/boot.log", tmpdir);
    close(log->file->fd);

    fd = open(want, O_RDONLY);
    n = (fd == -1) ? -1 : read(fd, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    ok(strstr(buf, "[error]") && strstr(buf, "boot message\n"),
       "bootstrap log written");
    if (fd != -1) {
        close(fd);
    }

    log = dh_log_init(NULL, (u_char *) "stderr");
    is_int(log->file->fd, STDERR_FILENO, "-e stderr");
}


int
main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/dh_test_conf.XXXXXX");

    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 2;
    }

    snprintf(conf_path, sizeof(conf_path), "%s/test.conf", tmpdir);

    /* messages are captured from a file; nothing is echoed to stderr */
    dh_use_stderr = 0;

    {
        char  path[512];

        snprintf(path, sizeof(path), "%s/capture.log", tmpdir);
        test_log_file.fd = open(path, O_RDWR|O_CREAT|O_TRUNC|O_APPEND, 0644);
        if (test_log_file.fd == -1) {
            perror(path);
            return 2;
        }
    }

    test_log.log_level = DH_LOG_DEBUG;
    test_log.file = &test_log_file;

    test_modules();
    test_units();
    test_values();
    test_quoting();
    test_blocks();
    test_include();
    test_errors();
    test_big_file();
    test_param();
    test_dump();
    test_error_log_directive();
    test_log_lines();
    test_log_init();

    if (cycle) {
        dh_destroy_pool(cycle->pool);
    }

    {
        char  cmd[600];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) {
            printf("# could not remove %s\n", tmpdir);
        }
    }

    return done_testing();
}

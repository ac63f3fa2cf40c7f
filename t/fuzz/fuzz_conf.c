/*
 * libFuzzer target: the configuration tokenizer and the directive slots.
 *
 * The input is parsed twice: as a file (written to a private temporary
 * file: the only way to reach blocks, includes aside) and, when it holds
 * no NUL, as the in-memory -g buffer.  The module table is our own, so no
 * real directive opens files, sockets or users: a main-level module with
 * one directive per slot kind, a block that nests (to a bounded depth),
 * and a block with a custom grammar like types {}.
 */

#include "dh_config.h"
#include "dh_core.h"


#define FUZZ_MAX_DEPTH  64

typedef struct {
    dh_flag_t     flag;
    dh_int_t      num;
    size_t        size;
    off_t         off;
    dh_msec_t     msec;
    time_t        sec;
    dh_str_t      str;
    dh_uint_t     mode;
    dh_array_t   *names;
    dh_array_t   *env;
} fuzz_conf_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *fuzz_block(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static char *fuzz_map(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static void *fuzz_create_conf(dh_cycle_t *cycle);


static dh_conf_enum_t  fuzz_modes[] = {
    { dh_string("alpha"), 1 },
    { dh_string("beta"), 2 },
    { dh_null_string, 0 }
};

#define FUZZ_CONF  DH_MAIN_CONF|DH_DIRECT_CONF

/* "slots" are not unique here: a block re-parses in the same context, so
 * a repeated directive also exercises the "is duplicate" error path */
static dh_command_t  fuzz_commands[] = {
    { dh_string("flag"), FUZZ_CONF|DH_CONF_FLAG, dh_conf_set_flag_slot, 0,
      offsetof(fuzz_conf_t, flag), NULL },
    { dh_string("num"), FUZZ_CONF|DH_CONF_TAKE1, dh_conf_set_num_slot, 0,
      offsetof(fuzz_conf_t, num), NULL },
    { dh_string("size"), FUZZ_CONF|DH_CONF_TAKE1, dh_conf_set_size_slot, 0,
      offsetof(fuzz_conf_t, size), NULL },
    { dh_string("off"), FUZZ_CONF|DH_CONF_TAKE1, dh_conf_set_off_slot, 0,
      offsetof(fuzz_conf_t, off), NULL },
    { dh_string("msec"), FUZZ_CONF|DH_CONF_TAKE1, dh_conf_set_msec_slot, 0,
      offsetof(fuzz_conf_t, msec), NULL },
    { dh_string("sec"), FUZZ_CONF|DH_CONF_TAKE1, dh_conf_set_sec_slot, 0,
      offsetof(fuzz_conf_t, sec), NULL },
    { dh_string("str"), FUZZ_CONF|DH_CONF_TAKE1, dh_conf_set_str_slot, 0,
      offsetof(fuzz_conf_t, str), NULL },
    { dh_string("mode"), FUZZ_CONF|DH_CONF_TAKE1, dh_conf_set_enum_slot, 0,
      offsetof(fuzz_conf_t, mode), fuzz_modes },
    { dh_string("name"), FUZZ_CONF|DH_CONF_TAKE1, dh_conf_set_str_array_slot,
      0, offsetof(fuzz_conf_t, names), NULL },
    { dh_string("env"), FUZZ_CONF|DH_CONF_TAKE2, dh_conf_set_keyval_slot, 0,
      offsetof(fuzz_conf_t, env), NULL },
    { dh_string("block"), FUZZ_CONF|DH_CONF_BLOCK|DH_CONF_ANY, fuzz_block, 0,
      0, NULL },
    { dh_string("map"), FUZZ_CONF|DH_CONF_BLOCK|DH_CONF_NOARGS, fuzz_map, 0,
      0, NULL },
    dh_null_command
};

static dh_core_module_t  fuzz_module_ctx = {
    dh_string("fuzz"),
    fuzz_create_conf,
    NULL
};

static dh_module_t  fuzz_module = {
    DH_MODULE_V1,
    &fuzz_module_ctx,
    fuzz_commands,
    DH_CORE_MODULE,
    NULL,
    NULL,
    NULL,
    NULL
};

dh_module_t  *dh_modules[] = {
    &fuzz_module,
    NULL
};

char  *dh_module_names[] = {
    "fuzz_module",
    NULL
};


/* the one dh_cycle.c global the parser reads (-T); dh_cycle.c itself is
 * not linked, it reaches into every layer */
dh_uint_t  dh_dump_config;

static dh_open_file_t  fuzz_log_file;
static dh_log_t        fuzz_log;
static char            fuzz_path[64];
static dh_uint_t       fuzz_depth;


static void *
fuzz_create_conf(dh_cycle_t *cycle)
{
    fuzz_conf_t  *c;

    c = dh_pcalloc(cycle->pool, sizeof(fuzz_conf_t));
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

    return c;
}


static char *
fuzz_block(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    char  *rv;

    if (fuzz_depth == FUZZ_MAX_DEPTH) {
        return "is nested too deep";
    }

    fuzz_depth++;
    rv = dh_conf_parse(cf, NULL);
    fuzz_depth--;

    return rv;
}


static char *
fuzz_map_entry(dh_conf_t *cf, dh_command_t *dummy, void *conf)
{
    dh_str_t     *value;
    dh_keyval_t  *kv;

    if (cf->args->nelts != 2) {
        return "invalid map entry";
    }

    value = cf->args->elts;

    kv = dh_array_push(conf);
    if (kv == NULL) {
        return DH_CONF_ERROR;
    }

    kv->key = value[0];
    kv->value = value[1];

    return DH_CONF_OK;
}


static char *
fuzz_map(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    char        *rv;
    dh_conf_t    save;
    dh_array_t  *map;

    map = dh_array_create(cf->pool, 4, sizeof(dh_keyval_t));
    if (map == NULL) {
        return DH_CONF_ERROR;
    }

    save = *cf;
    cf->handler = fuzz_map_entry;
    cf->handler_conf = (char *) map;

    rv = dh_conf_parse(cf, NULL);

    *cf = save;

    return rv;
}


static dh_cycle_t *
fuzz_new_cycle(void)
{
    dh_pool_t   *pool;
    dh_cycle_t  *c;

    pool = dh_create_pool(DH_CYCLE_POOL_SIZE, &fuzz_log);
    if (pool == NULL) {
        abort();
    }

    c = dh_pcalloc(pool, sizeof(dh_cycle_t));
    c->pool = pool;
    c->log = &fuzz_log;

    if (dh_list_init(&c->open_files, pool, 4, sizeof(dh_open_file_t))
        != DH_OK)
    {
        abort();
    }

    c->conf_ctx = dh_pcalloc(pool, dh_max_module * sizeof(void *));

    if (c->conf_ctx == NULL || dh_cycle_modules(c) != DH_OK) {
        abort();
    }

    dh_str_set(&c->prefix, "/nonexistent/");
    dh_str_set(&c->conf_prefix, "/nonexistent/");

    c->conf_ctx[fuzz_module.index] = fuzz_create_conf(c);

    return c;
}


static void
fuzz_parse(const uint8_t *data, size_t size, dh_uint_t param)
{
    dh_conf_t    cf;
    dh_str_t     file;
    dh_cycle_t  *cycle;

    cycle = fuzz_new_cycle();

    dh_memzero(&cf, sizeof(dh_conf_t));
    cf.args = dh_array_create(cycle->pool, 10, sizeof(dh_str_t));
    cf.temp_pool = cycle->pool;
    cf.cycle = cycle;
    cf.pool = cycle->pool;
    cf.log = &fuzz_log;
    cf.ctx = cycle->conf_ctx;
    cf.module_type = DH_CORE_MODULE;
    cf.cmd_type = DH_MAIN_CONF;

    fuzz_depth = 0;

    if (param) {
        cycle->conf_param.len = size;
        cycle->conf_param.data = (u_char *) data;
        (void) dh_conf_param(&cf);

    } else {
        file.len = strlen(fuzz_path);
        file.data = (u_char *) fuzz_path;
        (void) dh_conf_parse(&cf, &file);
    }

    dh_destroy_pool(cycle->pool);
}


static void
fuzz_cleanup(void)
{
    (void) unlink(fuzz_path);
}


static void
fuzz_init(void)
{
    int  fd;

    snprintf(fuzz_path, sizeof(fuzz_path), "/tmp/dh_fuzz_conf.XXXXXX");

    fd = mkstemp(fuzz_path);
    if (fd == -1) {
        perror("mkstemp");
        abort();
    }

    close(fd);
    atexit(fuzz_cleanup);

    /* messages go nowhere: they are not what is being tested */
    dh_use_stderr = 0;
    fuzz_log_file.fd = open("/dev/null", O_WRONLY);
    fuzz_log.file = &fuzz_log_file;
    fuzz_log.log_level = DH_LOG_DEBUG;

    dh_preinit_modules();
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE  *f;

    if (fuzz_path[0] == '\0') {
        fuzz_init();
    }

    f = fopen(fuzz_path, "w");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        abort();
    }

    fuzz_parse(data, size, 0);

    if (memchr(data, '\0', size) == NULL) {
        fuzz_parse(data, size, 1);
    }

    return 0;
}

/*
 * Tables: the `table db.name { ... }` directive, lookup, and the row put
 * used inside storage jobs.  Values and the row format are in
 * dh_table_value.c.
 *
 * Append tables number their rows with one Berkeley DB sequence each,
 * kept in the "table._sequences" database.  Every process caches a range
 * of numbers (DH_TABLE_SEQ_CACHE), so concurrent loads from several
 * workers never serialize on the counter; the cost is gaps in the row
 * numbers, which only order rows and are never shown.
 */

#include "dh_config.h"
#include "dh_core.h"

#if (DH_HAVE_BDB)

#include "dh_table.h"


#define DH_TABLE_SEQ_CACHE   4096
#define DH_TABLE_MAX_VARCHAR 1048576


typedef struct {
    dh_array_t        tables;      /* of dh_table_t * */
    dh_storage_db_t  *sequences;   /* NULL without append tables */
    dh_table_t       *current;     /* the block being parsed */
} dh_table_conf_t;


static void *dh_table_create_conf(dh_cycle_t *cycle);
static char *dh_table_block(dh_conf_t *cf, dh_command_t *cmd, void *conf);
static char *dh_table_statement(dh_conf_t *cf, dh_command_t *dummy,
    void *conf);
static char *dh_table_column(dh_conf_t *cf, dh_table_t *t, dh_str_t *value,
    dh_uint_t n);
static char *dh_table_key(dh_conf_t *cf, dh_table_t *t, dh_str_t *value,
    dh_uint_t n);
static char *dh_table_done(dh_conf_t *cf, dh_table_conf_t *tcf,
    dh_table_t *t);
static dh_int_t dh_table_init_process(dh_cycle_t *cycle);
static void dh_table_close_sequences(dh_cycle_t *cycle, void *data);


static dh_command_t  dh_table_commands[] = {

    { dh_string("table"),
      DH_MAIN_CONF|DH_DIRECT_CONF|DH_CONF_BLOCK|DH_CONF_TAKE1,
      dh_table_block,
      0,
      0,
      NULL },

      dh_null_command
};


static dh_core_module_t  dh_table_module_ctx = {
    dh_string("table"),
    dh_table_create_conf,
    NULL
};


dh_module_t  dh_table_module = {
    DH_MODULE_V1,
    &dh_table_module_ctx,                  /* module context */
    dh_table_commands,                     /* module directives */
    DH_CORE_MODULE,                        /* module type */
    NULL,                                  /* init module */
    dh_table_init_process,                 /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    DH_MODULE_V1_PADDING
};


typedef struct {
    const char       *name;
    dh_table_type_e   type;
    dh_uint_t         args;        /* 0 none, 1 (n), 2 (p,s) */
} dh_table_type_name_t;


static dh_table_type_name_t  dh_table_type_names[] = {
    { "tinyint",   DH_TABLE_TINYINT,  0 },
    { "smallint",  DH_TABLE_SMALLINT, 0 },
    { "int",       DH_TABLE_INT,      0 },
    { "integer",   DH_TABLE_INT,      0 },
    { "bigint",    DH_TABLE_BIGINT,   0 },
    { "float",     DH_TABLE_FLOAT,    0 },
    { "double",    DH_TABLE_DOUBLE,   0 },
    { "decimal",   DH_TABLE_DECIMAL,  2 },
    { "boolean",   DH_TABLE_BOOLEAN,  0 },
    { "bool",      DH_TABLE_BOOLEAN,  0 },
    { "char",      DH_TABLE_CHAR,     1 },
    { "varchar",   DH_TABLE_VARCHAR,  1 },
    { "string",    DH_TABLE_STRING,   0 },
    { "date",      DH_TABLE_DATE,     0 },
    { "datetime",  DH_TABLE_DATETIME, 0 },
    { "json",      DH_TABLE_JSON,     0 },
    { NULL,        0,                 0 }
};


/* ---- lookup ------------------------------------------------------------ */


static dh_table_conf_t *
dh_table_conf(dh_cycle_t *cycle)
{
    if (cycle->conf_ctx == NULL
        || dh_table_module.index == DH_MODULE_UNSET_INDEX)
    {
        return NULL;
    }

    return (dh_table_conf_t *) dh_get_conf(cycle->conf_ctx, dh_table_module);
}


dh_array_t *
dh_tables(dh_cycle_t *cycle)
{
    dh_table_conf_t  *tcf;

    tcf = dh_table_conf(cycle);

    return tcf ? &tcf->tables : NULL;
}


dh_table_t *
dh_table_find(dh_cycle_t *cycle, dh_str_t *db, dh_str_t *name)
{
    dh_uint_t         i;
    dh_table_t      **tp;
    dh_table_conf_t  *tcf;

    tcf = dh_table_conf(cycle);
    if (tcf == NULL) {
        return NULL;
    }

    tp = tcf->tables.elts;

    for (i = 0; i < tcf->tables.nelts; i++) {
        if (dh_str_eq(&tp[i]->db, db) && dh_str_eq(&tp[i]->name, name)) {
            return tp[i];
        }
    }

    return NULL;
}


dh_int_t
dh_table_column_index(dh_table_t *t, dh_str_t *name)
{
    dh_uint_t           i;
    dh_table_column_t  *col;

    col = t->columns.elts;

    for (i = 0; i < t->columns.nelts; i++) {
        if (dh_str_eq(&col[i].name, name)) {
            return (dh_int_t) i;
        }
    }

    return -1;
}


/* ---- configuration ----------------------------------------------------- */


static void *
dh_table_create_conf(dh_cycle_t *cycle)
{
    dh_table_conf_t  *tcf;

    tcf = dh_pcalloc(cycle->pool, sizeof(dh_table_conf_t));
    if (tcf == NULL) {
        return NULL;
    }

    if (dh_array_init(&tcf->tables, cycle->pool, 4, sizeof(dh_table_t *))
        != DH_OK)
    {
        return NULL;
    }

    return tcf;
}


/* Names become database file names and URL segments: keep them to
 * letters, digits and '_'. */
static dh_uint_t
dh_table_valid_name(u_char *p, size_t len)
{
    size_t  i;

    if (len == 0 || len > 64) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')
              || (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
        {
            return 0;
        }
    }

    return 1;
}


static char *
dh_table_block(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_table_conf_t *tcf = conf;

    char         *rv;
    u_char       *dot;
    dh_str_t     *value, db, name;
    dh_conf_t     save;
    dh_table_t   *t, **tp;

    value = cf->args->elts;

    dot = (u_char *) dh_strchr(value[1].data, '.');

    if (dot == NULL) {
        return "needs a name of the form \"db.table\"";
    }

    db.data = value[1].data;
    db.len = dot - value[1].data;
    name.data = dot + 1;
    name.len = value[1].len - db.len - 1;

    if (!dh_table_valid_name(db.data, db.len)
        || !dh_table_valid_name(name.data, name.len))
    {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "invalid table name \"%.*s\": db and table names "
                          "are 1 to 64 letters, digits or '_'",
                          DH_STR_FMT(value[1]));
        return DH_CONF_ERROR;
    }

    t = dh_table_find(cf->cycle, &db, &name);

    if (t != NULL) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "duplicate table \"%.*s\", first declared in %s:%lu",
                          DH_STR_FMT(value[1]), t->file,
                          (unsigned long) t->line);
        return DH_CONF_ERROR;
    }

    t = dh_pcalloc(cf->pool, sizeof(dh_table_t));
    if (t == NULL) {
        return DH_CONF_ERROR;
    }

    t->full.data = dh_pstrdup(cf->pool, &value[1]);
    if (t->full.data == NULL) {
        return DH_CONF_ERROR;
    }

    t->full.len = value[1].len;
    t->db.data = t->full.data;
    t->db.len = db.len;
    t->name.data = t->full.data + db.len + 1;
    t->name.len = name.len;
    t->file = cf->conf_file->file.name.data;
    t->line = cf->conf_file->line;

    if (dh_array_init(&t->columns, cf->pool, 8, sizeof(dh_table_column_t))
        != DH_OK)
    {
        return DH_CONF_ERROR;
    }

    tp = dh_array_push(&tcf->tables);
    if (tp == NULL) {
        return DH_CONF_ERROR;
    }

    *tp = t;
    tcf->current = t;

    save = *cf;
    cf->handler = dh_table_statement;
    cf->handler_conf = conf;

    rv = dh_conf_parse(cf, NULL);

    *cf = save;

    if (rv != DH_CONF_OK) {
        return rv;
    }

    return dh_table_done(cf, tcf, t);
}


static char *
dh_table_statement(dh_conf_t *cf, dh_command_t *dummy, void *conf)
{
    dh_table_conf_t *tcf = conf;

    dh_str_t  *value;

    value = cf->args->elts;

    if (value[0].len == 6 && dh_strncmp(value[0].data, "column", 6) == 0) {
        return dh_table_column(cf, tcf->current, value, cf->args->nelts);
    }

    if (value[0].len == 3 && dh_strncmp(value[0].data, "key", 3) == 0) {
        return dh_table_key(cf, tcf->current, value, cf->args->nelts);
    }

    dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                      "unknown statement \"%.*s\" in table \"%.*s\" "
                      "(expected \"column\" or \"key\")",
                      DH_STR_FMT(value[0]), DH_STR_FMT(tcf->current->full));
    return DH_CONF_ERROR;
}


/* "name(a[,b])": type name and up to two numbers. */
static char *
dh_table_column_type(dh_conf_t *cf, dh_table_column_t *col, dh_str_t *type)
{
    u_char                *p, *last, *open;
    dh_int_t               a[2];
    dh_uint_t              nargs;
    dh_str_t               word;
    dh_table_type_name_t  *tn;

    p = type->data;
    last = p + type->len;
    open = (u_char *) memchr(p, '(', type->len);

    word.data = p;
    word.len = open ? (size_t) (open - p) : type->len;
    nargs = 0;

    if (open) {
        if (last[-1] != ')') {
            goto invalid;
        }

        p = open + 1;
        last--;

        while (p <= last && nargs < 2) {
            open = p;
            while (p < last && *p != ',') {
                p++;
            }
            a[nargs] = dh_atoi(open, p - open);
            if (a[nargs] == DH_ERROR) {
                goto invalid;
            }
            nargs++;
            p++;
        }

        if (p <= last) {
            goto invalid;
        }
    }

    for (tn = dh_table_type_names; tn->name; tn++) {
        if (dh_str_caseeq(&word, tn->name)) {
            break;
        }
    }

    if (tn->name == NULL) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "unknown type \"%.*s\" for column \"%.*s\"",
                          DH_STR_FMT(*type), DH_STR_FMT(col->name));
        return DH_CONF_ERROR;
    }

    col->type = tn->type;

    switch (tn->args) {

    case 0:
        if (nargs) {
            goto invalid;
        }
        break;

    case 1:
        if (nargs != 1 || a[0] < 1
            || a[0] > (col->type == DH_TABLE_CHAR ? 255
                                                  : DH_TABLE_MAX_VARCHAR))
        {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "invalid length in \"%.*s\" for column "
                              "\"%.*s\" (1 to %d bytes)", DH_STR_FMT(*type),
                              DH_STR_FMT(col->name),
                              col->type == DH_TABLE_CHAR
                              ? 255 : DH_TABLE_MAX_VARCHAR);
            return DH_CONF_ERROR;
        }
        col->length = a[0];
        break;

    default:
        /* decimal alone is decimal(10,0), as in SQL */
        col->precision = nargs ? (dh_uint_t) a[0] : 10;
        col->scale = (nargs == 2) ? (dh_uint_t) a[1] : 0;

        if (col->precision < 1 || col->precision > 18
            || col->scale > col->precision)
        {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "invalid precision in \"%.*s\" for column "
                              "\"%.*s\" (1 <= scale <= precision <= 18)",
                              DH_STR_FMT(*type), DH_STR_FMT(col->name));
            return DH_CONF_ERROR;
        }
        break;
    }

    return DH_CONF_OK;

invalid:

    dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                      "invalid type \"%.*s\" for column \"%.*s\"",
                      DH_STR_FMT(*type), DH_STR_FMT(col->name));
    return DH_CONF_ERROR;
}


static char *
dh_table_column(dh_conf_t *cf, dh_table_t *t, dh_str_t *value, dh_uint_t n)
{
    u_char             *p;
    dh_str_t            type;
    dh_uint_t           i;
    dh_table_column_t  *col;

    if (n < 3) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "\"column\" needs a name and a type");
        return DH_CONF_ERROR;
    }

    if (!dh_table_valid_name(value[1].data, value[1].len)) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "invalid column name \"%.*s\"",
                          DH_STR_FMT(value[1]));
        return DH_CONF_ERROR;
    }

    if (dh_table_column_index(t, &value[1]) != -1) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "duplicate column \"%.*s\" in table \"%.*s\"",
                          DH_STR_FMT(value[1]), DH_STR_FMT(t->full));
        return DH_CONF_ERROR;
    }

    /* "decimal(10, 2)" arrives as two words: join up to the ')' */
    type = value[2];
    i = 3;

    if (memchr(type.data, '(', type.len) != NULL
        && type.data[type.len - 1] != ')')
    {
        for ( /* void */ ; i < n; i++) {
            type.len += value[i].len;
            if (value[i].data[value[i].len - 1] == ')') {
                i++;
                break;
            }
        }

        p = dh_pnalloc(cf->pool, type.len);
        if (p == NULL) {
            return DH_CONF_ERROR;
        }

        type.data = p;
        p = dh_cpymem(p, value[2].data, value[2].len);
        for (n = 3; n < i; n++) {
            p = dh_cpymem(p, value[n].data, value[n].len);
        }
        n = cf->args->nelts;
    }

    col = dh_array_push(&t->columns);
    if (col == NULL) {
        return DH_CONF_ERROR;
    }

    dh_memzero(col, sizeof(dh_table_column_t));
    col->name = value[1];

    if (dh_table_column_type(cf, col, &type) != DH_CONF_OK) {
        return DH_CONF_ERROR;
    }

    if (i == n) {
        return DH_CONF_OK;
    }

    if (i + 1 == n && dh_str_caseeq(&value[i], "null")) {
        col->nullable = 1;
        return DH_CONF_OK;
    }

    if (i + 2 == n && dh_str_caseeq(&value[i], "not")
        && dh_str_caseeq(&value[i + 1], "null"))
    {
        return DH_CONF_OK;
    }

    dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                      "invalid parameter \"%.*s\" for column \"%.*s\" "
                      "(expected \"null\" or \"not null\")",
                      DH_STR_FMT(value[i]), DH_STR_FMT(col->name));
    return DH_CONF_ERROR;
}


static char *
dh_table_key(dh_conf_t *cf, dh_table_t *t, dh_str_t *value, dh_uint_t n)
{
    dh_int_t            idx;
    dh_uint_t           i, j;
    dh_table_column_t  *col;

    if (t->nkeys) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "duplicate \"key\" in table \"%.*s\"",
                          DH_STR_FMT(t->full));
        return DH_CONF_ERROR;
    }

    if (n < 2) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "\"key\" needs at least one column");
        return DH_CONF_ERROR;
    }

    t->keys = dh_palloc(cf->pool, (n - 1) * sizeof(dh_uint_t));
    if (t->keys == NULL) {
        return DH_CONF_ERROR;
    }

    col = t->columns.elts;

    for (i = 1; i < n; i++) {
        idx = dh_table_column_index(t, &value[i]);

        if (idx == -1) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "key column \"%.*s\" is not a column of "
                              "table \"%.*s\" (declare columns before the "
                              "key)", DH_STR_FMT(value[i]),
                              DH_STR_FMT(t->full));
            return DH_CONF_ERROR;
        }

        if (col[idx].nullable) {
            dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                              "key column \"%.*s\" of table \"%.*s\" is "
                              "declared null", DH_STR_FMT(value[i]),
                              DH_STR_FMT(t->full));
            return DH_CONF_ERROR;
        }

        for (j = 0; j < t->nkeys; j++) {
            if (t->keys[j] == (dh_uint_t) idx) {
                dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                                  "duplicate key column \"%.*s\"",
                                  DH_STR_FMT(value[i]));
                return DH_CONF_ERROR;
            }
        }

        col[idx].key = 1;
        t->keys[t->nkeys++] = idx;
    }

    return DH_CONF_OK;
}


static char *
dh_table_done(dh_conf_t *cf, dh_table_conf_t *tcf, dh_table_t *t)
{
    dh_str_t  name;

    static dh_str_t  seq_name = dh_string("table._sequences");

    tcf->current = NULL;

    if (t->columns.nelts == 0) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                          "table \"%.*s\" has no columns",
                          DH_STR_FMT(t->full));
        return DH_CONF_ERROR;
    }

    name.len = sizeof("table.") - 1 + t->full.len;
    name.data = dh_pnalloc(cf->pool, name.len);
    if (name.data == NULL) {
        return DH_CONF_ERROR;
    }

    dh_memcpy(name.data, "table.", sizeof("table.") - 1);
    dh_memcpy(name.data + sizeof("table.") - 1, t->full.data, t->full.len);

    t->data = dh_storage_add_db(cf, &name, 0);
    if (t->data == NULL) {
        return DH_CONF_ERROR;
    }

    if (t->nkeys == 0 && tcf->sequences == NULL) {
        tcf->sequences = dh_storage_add_db(cf, &seq_name, 0);
        if (tcf->sequences == NULL) {
            return DH_CONF_ERROR;
        }
    }

    return DH_CONF_OK;
}


/* ---- processes --------------------------------------------------------- */


/* Workers open the sequences at the same time; the first open of a new
 * one creates its record, and a worker that loses that race gets
 * DB_KEYEXIST (or a deadlock): it tries again and finds the record. */
static dh_int_t
dh_table_open_sequence(dh_table_t *t, DB *db, dh_log_t *log)
{
    int           err;
    DBT           key;
    dh_uint_t     attempt;
    DB_SEQUENCE  *seq;

    dh_memzero(&key, sizeof(DBT));
    key.data = t->full.data;
    key.size = (u_int32_t) t->full.len;

    for (attempt = 0; /* void */; attempt++) {
        err = db_sequence_create(&seq, db, 0);
        if (err != 0) {
            dh_log_error(DH_LOG_EMERG, log, 0,
                         "db_sequence_create() for table \"%.*s\" "
                         "failed: %s", DH_STR_FMT(t->full),
                         dh_storage_strerror(err));
            return DH_ERROR;
        }

        (void) seq->initial_value(seq, 1);
        (void) seq->set_cachesize(seq, DH_TABLE_SEQ_CACHE);

        err = seq->open(seq, NULL, &key, DB_CREATE|DB_THREAD);
        if (err == 0) {
            break;
        }

        (void) seq->close(seq, 0);

        if ((err != DB_KEYEXIST && err != DB_LOCK_DEADLOCK) || attempt == 10)
        {
            dh_log_error(DH_LOG_EMERG, log, 0,
                         "DB_SEQUENCE->open() for table \"%.*s\" "
                         "failed: %s", DH_STR_FMT(t->full),
                         dh_storage_strerror(err));
            return DH_ERROR;
        }
    }

    t->seq = seq;

    return DH_OK;
}


static dh_int_t
dh_table_init_process(dh_cycle_t *cycle)
{
    DB               *db;
    dh_uint_t         i;
    dh_table_t      **tp;
    dh_table_conf_t  *tcf;

    tcf = dh_table_conf(cycle);

    if (tcf == NULL || tcf->sequences == NULL) {
        return DH_OK;
    }

    db = dh_storage_db_handle(tcf->sequences);
    if (db == NULL) {
        return DH_OK;                     /* storage failed and said so */
    }

    /* the sequences must close before storage closes their database */
    if (dh_storage_add_cleanup(cycle, dh_table_close_sequences, NULL)
        != DH_OK)
    {
        return DH_ERROR;
    }

    tp = tcf->tables.elts;

    for (i = 0; i < tcf->tables.nelts; i++) {
        if (tp[i]->nkeys == 0
            && dh_table_open_sequence(tp[i], db, cycle->log) != DH_OK)
        {
            return DH_ERROR;
        }
    }

    return DH_OK;
}


static void
dh_table_close_sequences(dh_cycle_t *cycle, void *data)
{
    dh_uint_t         i;
    dh_table_t      **tp;
    dh_table_conf_t  *tcf;

    tcf = dh_table_conf(cycle);
    if (tcf == NULL) {
        return;
    }

    tp = tcf->tables.elts;

    for (i = 0; i < tcf->tables.nelts; i++) {
        if (tp[i]->seq) {
            (void) tp[i]->seq->close(tp[i]->seq, 0);
            tp[i]->seq = NULL;
        }
    }
}


/* ---- rows ---------------------------------------------------------------- */


int
dh_table_put(dh_table_t *t, DB_TXN *txn, u_char *key, size_t key_len,
    u_char *data, size_t data_len)
{
    DB       *db;
    DBT       k, d;
    int       err, i;
    u_char    rowkey[8];
    db_seq_t  n;

    db = dh_storage_db_handle(t->data);
    if (db == NULL) {
        return EINVAL;
    }

    dh_memzero(&k, sizeof(DBT));
    dh_memzero(&d, sizeof(DBT));

    if (t->nkeys == 0) {
        if (t->seq == NULL) {
            return EINVAL;
        }

        /* a cached sequence is read outside any transaction */
        err = t->seq->get(t->seq, NULL, 1, &n, DB_TXN_NOSYNC);
        if (err != 0) {
            return err;
        }

        for (i = 0; i < 8; i++) {
            rowkey[i] = (u_char) ((uint64_t) n >> ((7 - i) * 8));
        }

        key = rowkey;
        key_len = 8;
    }

    k.data = key;
    k.size = (u_int32_t) key_len;
    d.data = data;
    d.size = (u_int32_t) data_len;

    return db->put(db, txn, &k, &d, 0);
}

#endif /* DH_HAVE_BDB */

/*
 * auth_basic / auth_basic_user_file: HTTP Basic authentication in the
 * access phase, built on the reusable dh_http_auth_basic_check() (see
 * dh_http_auth_basic_module.h for the file format and hashes).
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"
#include "dh_http_auth_basic_module.h"

#include <crypt.h>
#include <openssl/evp.h>


#define DH_HTTP_AUTH_BASIC_FILE_MAX  (1024 * 1024)
#define DH_HTTP_AUTH_BASIC_USER_MAX  255
#define DH_HTTP_AUTH_BASIC_PASS_MAX  1024


typedef struct {
    dh_str_t       user;
    dh_str_t       hash;
} dh_http_auth_basic_user_t;

/* The per-worker cache of one file: shared by every conf naming it.  It is
 * written only after fork, so each worker has its own copy. */
struct dh_http_auth_basic_file_s {
    dh_str_t       path;          /* absolute, NUL-terminated */
    dh_pool_t     *pool;          /* holds users; NULL: not loaded */
    dh_array_t    *users;         /* of dh_http_auth_basic_user_t */
    struct stat    st;            /* of the loaded version */
};

typedef struct {
    dh_http_auth_basic_conf_t   auth;
    dh_flag_t                   realm_set;
} dh_http_auth_basic_loc_conf_t;

/* one cache per distinct path of the http block */
typedef struct {
    dh_array_t                  files;    /* of dh_http_auth_basic_file_t * */
} dh_http_auth_basic_main_conf_t;


static dh_int_t dh_http_auth_basic_handler(dh_http_request_t *r);
static char *dh_http_auth_basic(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static char *dh_http_auth_basic_user_file(dh_conf_t *cf, dh_command_t *cmd,
    void *conf);
static void *dh_http_auth_basic_create_main_conf(dh_conf_t *cf);
static void *dh_http_auth_basic_create_loc_conf(dh_conf_t *cf);
static char *dh_http_auth_basic_merge_loc_conf(dh_conf_t *cf, void *parent,
    void *child);
static dh_int_t dh_http_auth_basic_init(dh_conf_t *cf);


static dh_command_t  dh_http_auth_basic_commands[] = {

    { dh_string("auth_basic"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_http_auth_basic,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { dh_string("auth_basic_user_file"),
      DH_HTTP_MAIN_CONF|DH_HTTP_SRV_CONF|DH_HTTP_LOC_CONF|DH_CONF_TAKE1,
      dh_http_auth_basic_user_file,
      DH_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      dh_null_command
};


static dh_http_module_t  dh_http_auth_basic_module_ctx = {
    NULL,                                  /* preconfiguration */
    dh_http_auth_basic_init,               /* postconfiguration */
    dh_http_auth_basic_create_main_conf,   /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    dh_http_auth_basic_create_loc_conf,    /* create location configuration */
    dh_http_auth_basic_merge_loc_conf      /* merge location configuration */
};


dh_module_t  dh_http_auth_basic_module = {
    DH_MODULE_V1,
    &dh_http_auth_basic_module_ctx,        /* module context */
    dh_http_auth_basic_commands,           /* module directives */
    DH_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL                                   /* exit master */
};


static const u_char  dh_http_apr1_itoa64[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";


static u_char *
dh_http_apr1_to64(u_char *p, dh_uint_t v, dh_uint_t n)
{
    while (n--) {
        *p++ = dh_http_apr1_itoa64[v & 0x3f];
        v >>= 6;
    }

    return p;
}


/* Apache's "$apr1$" (the FreeBSD MD5-crypt algorithm with another magic).
 * Writes "$apr1$salt$hash" to out (at least 64 bytes); returns its
 * length or DH_ERROR. */
static dh_int_t
dh_http_apr1(dh_str_t *pass, dh_str_t *setting, u_char *out)
{
    u_char         *p, *salt_end, final[16], zero;
    dh_int_t        i, pl, rc;
    dh_str_t        magic, salt;
    EVP_MD_CTX     *ctx, *alt;
    const EVP_MD   *md5;

    dh_str_set(&magic, "$apr1$");

    salt.data = setting->data + magic.len;
    salt_end = salt.data;

    while (salt_end < setting->data + setting->len && *salt_end != '$'
           && salt_end - salt.data < 8)
    {
        salt_end++;
    }

    salt.len = salt_end - salt.data;

    md5 = EVP_md5();
    ctx = EVP_MD_CTX_new();
    alt = EVP_MD_CTX_new();
    rc = DH_ERROR;
    zero = 0;

    if (md5 == NULL || ctx == NULL || alt == NULL) {
        goto done;
    }

    /* the alternate sum: pass salt pass */
    if (EVP_DigestInit_ex(alt, md5, NULL) != 1
        || EVP_DigestUpdate(alt, pass->data, pass->len) != 1
        || EVP_DigestUpdate(alt, salt.data, salt.len) != 1
        || EVP_DigestUpdate(alt, pass->data, pass->len) != 1
        || EVP_DigestFinal_ex(alt, final, NULL) != 1)
    {
        goto done;
    }

    if (EVP_DigestInit_ex(ctx, md5, NULL) != 1
        || EVP_DigestUpdate(ctx, pass->data, pass->len) != 1
        || EVP_DigestUpdate(ctx, magic.data, magic.len) != 1
        || EVP_DigestUpdate(ctx, salt.data, salt.len) != 1)
    {
        goto done;
    }

    for (pl = (dh_int_t) pass->len; pl > 0; pl -= 16) {
        if (EVP_DigestUpdate(ctx, final, (pl > 16) ? 16 : pl) != 1) {
            goto done;
        }
    }

    for (i = (dh_int_t) pass->len; i; i >>= 1) {
        if (EVP_DigestUpdate(ctx, (i & 1) ? &zero : pass->data, 1) != 1) {
            goto done;
        }
    }

    if (EVP_DigestFinal_ex(ctx, final, NULL) != 1) {
        goto done;
    }

    /* 1000 rounds to slow down guessing */
    for (i = 0; i < 1000; i++) {
        if (EVP_DigestInit_ex(ctx, md5, NULL) != 1
            || ((i & 1) ? EVP_DigestUpdate(ctx, pass->data, pass->len)
                        : EVP_DigestUpdate(ctx, final, 16)) != 1
            || ((i % 3) && EVP_DigestUpdate(ctx, salt.data, salt.len) != 1)
            || ((i % 7) && EVP_DigestUpdate(ctx, pass->data, pass->len) != 1)
            || ((i & 1) ? EVP_DigestUpdate(ctx, final, 16)
                        : EVP_DigestUpdate(ctx, pass->data, pass->len)) != 1
            || EVP_DigestFinal_ex(ctx, final, NULL) != 1)
        {
            goto done;
        }
    }

    p = dh_cpymem(out, magic.data, magic.len);
    p = dh_cpymem(p, salt.data, salt.len);
    *p++ = '$';

    p = dh_http_apr1_to64(p, (final[0] << 16) | (final[6] << 8) | final[12],
                          4);
    p = dh_http_apr1_to64(p, (final[1] << 16) | (final[7] << 8) | final[13],
                          4);
    p = dh_http_apr1_to64(p, (final[2] << 16) | (final[8] << 8) | final[14],
                          4);
    p = dh_http_apr1_to64(p, (final[3] << 16) | (final[9] << 8) | final[15],
                          4);
    p = dh_http_apr1_to64(p, (final[4] << 16) | (final[10] << 8) | final[5],
                          4);
    p = dh_http_apr1_to64(p, final[11], 2);

    rc = p - out;

done:

    EVP_MD_CTX_free(ctx);
    EVP_MD_CTX_free(alt);
    explicit_bzero(final, sizeof(final));

    return rc;
}


/* Compares pass with the stored hash in constant time.  DH_OK on a match,
 * DH_DECLINED on a mismatch, DH_ERROR for an unusable hash (logged unless
 * quiet). */
static dh_int_t
dh_http_auth_basic_verify(dh_http_request_t *r, dh_str_t *pass,
    dh_http_auth_basic_user_t *u, dh_uint_t quiet)
{
    u_char                     *res, buf[128], digest[20], pz[1025];
    size_t                      len;
    dh_int_t                    n;
    dh_str_t                    b64, raw;
    static struct crypt_data    cd;

    if (u->hash.len > 5 && dh_strncmp(u->hash.data, "{SHA}", 5) == 0) {
        if (EVP_Digest(pass->data, pass->len, digest, NULL, EVP_sha1(), NULL)
            != 1)
        {
            return DH_ERROR;
        }

        raw.data = digest;
        raw.len = 20;
        b64.data = buf;
        dh_encode_base64(&b64, &raw);

        return (b64.len == u->hash.len - 5
                && dh_memcmp_const_time(b64.data, u->hash.data + 5, b64.len)
                   == 0)
               ? DH_OK : DH_DECLINED;
    }

    if (u->hash.len > 6 && dh_strncmp(u->hash.data, "$apr1$", 6) == 0) {
        n = dh_http_apr1(pass, &u->hash, buf);
        if (n == DH_ERROR) {
            return DH_ERROR;
        }

        res = buf;
        len = n;

    } else if (u->hash.len > 3 && u->hash.data[0] == '$'
               && (u->hash.data[1] == '1' || u->hash.data[1] == '2'
                   || u->hash.data[1] == '5' || u->hash.data[1] == '6'))
    {
        /* crypt wants NUL-terminated strings; the stored hash is one
         * (the file buffer ends every line with a NUL) */
        dh_memcpy(pz, pass->data, pass->len);
        pz[pass->len] = '\0';

        cd.initialized = 0;
        res = (u_char *) crypt_rn((char *) pz, (char *) u->hash.data, &cd,
                                  (int) sizeof(cd));
        explicit_bzero(pz, sizeof(pz));

        if (res == NULL || res[0] == '*') {
            if (quiet) {
                return DH_ERROR;
            }

            dh_log_error(DH_LOG_ERR, r->connection->log, 0,
                         "invalid password hash of user \"%.*s\"",
                         (int) u->user.len, u->user.data);
            return DH_ERROR;
        }

        len = dh_strlen(res);

    } else {
        if (quiet) {
            return DH_ERROR;
        }

        dh_log_error(DH_LOG_ERR, r->connection->log, 0,
                     "unsupported password hash of user \"%.*s\" "
                     "(plain text is not accepted)",
                     (int) u->user.len, u->user.data);
        return DH_ERROR;
    }

    if (len == u->hash.len
        && dh_memcmp_const_time(res, u->hash.data, len) == 0)
    {
        return DH_OK;
    }

    return DH_DECLINED;
}


/* Parses buf (NUL-terminated, owned by pool) into users. */
static dh_int_t
dh_http_auth_basic_parse(dh_http_auth_basic_file_t *f, u_char *buf,
    size_t size)
{
    u_char                     *p, *end, *line, *colon, *eol;
    dh_http_auth_basic_user_t  *u;

    end = buf + size;

    for (p = buf; p < end; p = eol + 1) {
        line = p;
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        /* every value ends in a NUL: crypt() needs C strings */
        *eol = '\0';
        if (eol > line && eol[-1] == '\r') {
            eol[-1] = '\0';
        }

        while (*line == ' ' || *line == '\t') {
            line++;
        }

        if (*line == '#' || *line == '\0') {
            continue;
        }

        colon = (u_char *) strchr((char *) line, ':');
        if (colon == NULL || colon == line) {
            continue;
        }

        u = dh_array_push(f->users);
        if (u == NULL) {
            return DH_ERROR;
        }

        u->user.data = line;
        u->user.len = colon - line;

        *colon = '\0';
        u->hash.data = colon + 1;

        /* "user:hash:comment" (htdigest-like extras) */
        p = (u_char *) strchr((char *) u->hash.data, ':');
        if (p) {
            *p = '\0';
        }

        u->hash.len = dh_strlen(u->hash.data);
    }

    return DH_OK;
}


/* Makes f current: reads the file again when it changed on disk. */
static dh_int_t
dh_http_auth_basic_load(dh_http_request_t *r, dh_http_auth_basic_file_t *f)
{
    int           fd;
    u_char       *buf;
    ssize_t       n;
    dh_pool_t    *pool;
    struct stat   st;

    fd = open((char *) f->path.data, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        dh_log_error(DH_LOG_ERR, r->connection->log, errno,
                     "open() \"%s\" failed", f->path.data);
        return DH_ERROR;
    }

    if (fstat(fd, &st) == -1) {
        dh_log_error(DH_LOG_ERR, r->connection->log, errno,
                     "fstat() \"%s\" failed", f->path.data);
        close(fd);
        return DH_ERROR;
    }

    if (f->pool
        && st.st_ino == f->st.st_ino && st.st_dev == f->st.st_dev
        && st.st_size == f->st.st_size
        && st.st_mtim.tv_sec == f->st.st_mtim.tv_sec
        && st.st_mtim.tv_nsec == f->st.st_mtim.tv_nsec)
    {
        close(fd);
        return DH_OK;
    }

    if (!S_ISREG(st.st_mode) || st.st_size > DH_HTTP_AUTH_BASIC_FILE_MAX) {
        dh_log_error(DH_LOG_ERR, r->connection->log, 0,
                     "\"%s\" is not a regular file of at most 1 MiB",
                     f->path.data);
        close(fd);
        return DH_ERROR;
    }

    pool = dh_create_pool(4096, r->connection->log);
    if (pool == NULL) {
        close(fd);
        return DH_ERROR;
    }

    buf = dh_pnalloc(pool, st.st_size + 1);
    if (buf == NULL) {
        goto failed;
    }

    n = pread(fd, buf, st.st_size, 0);
    if (n == -1) {
        dh_log_error(DH_LOG_ERR, r->connection->log, errno,
                     "pread() \"%s\" failed", f->path.data);
        goto failed;
    }

    buf[n] = '\0';

    f->users = dh_array_create(pool, 8, sizeof(dh_http_auth_basic_user_t));
    if (f->users == NULL
        || dh_http_auth_basic_parse(f, buf, n) != DH_OK)
    {
        goto failed;
    }

    close(fd);

    if (f->pool) {
        dh_destroy_pool(f->pool);
    }

    f->pool = pool;
    f->st = st;

    return DH_OK;

failed:

    close(fd);
    dh_destroy_pool(pool);

    if (f->pool) {
        /* the old users are still the ones in f->users' old pool */
        dh_destroy_pool(f->pool);
        f->pool = NULL;
    }

    f->users = NULL;

    return DH_ERROR;
}


static dh_int_t
dh_http_auth_basic_challenge(dh_http_request_t *r,
    dh_http_auth_basic_conf_t *conf)
{
    if (dh_http_add_header_out(r, "WWW-Authenticate",
                               sizeof("WWW-Authenticate") - 1,
                               conf->header.data, conf->header.len)
        == NULL)
    {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    return DH_HTTP_UNAUTHORIZED;
}


/* The credentials of r's Authorization header, or DH_DECLINED. */
static dh_int_t
dh_http_auth_basic_credentials(dh_http_request_t *r, dh_str_t *user,
    dh_str_t *pass)
{
    u_char            *p, *last, *colon;
    dh_str_t           enc, dec;
    dh_uint_t          i;
    dh_list_part_t    *part;
    dh_table_elt_t    *h, *auth;

    auth = NULL;

    for (part = &r->headers_in.headers.part; part && !auth;
         part = part->next)
    {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (h[i].key.len == sizeof("authorization") - 1
                && dh_strncasecmp(h[i].key.data, (u_char *) "authorization",
                                  h[i].key.len) == 0)
            {
                auth = &h[i];
                break;
            }
        }
    }

    if (auth == NULL) {
        return DH_DECLINED;
    }

    p = auth->value.data;
    last = p + auth->value.len;

    if (auth->value.len < 6
        || dh_strncasecmp(p, (u_char *) "basic ", 6) != 0)
    {
        return DH_DECLINED;
    }

    p += 6;

    while (p < last && *p == ' ') {
        p++;
    }

    while (last > p && (last[-1] == ' ' || last[-1] == '\t')) {
        last--;
    }

    enc.data = p;
    enc.len = last - p;

    if (enc.len == 0
        || dh_base64_decoded_length(enc.len)
           > DH_HTTP_AUTH_BASIC_USER_MAX + 1 + DH_HTTP_AUTH_BASIC_PASS_MAX)
    {
        return DH_DECLINED;
    }

    dec.data = dh_pnalloc(r->pool, dh_base64_decoded_length(enc.len) + 1);
    if (dec.data == NULL) {
        return DH_ERROR;
    }

    if (dh_decode_base64(&dec, &enc) != DH_OK) {
        return DH_DECLINED;
    }

    colon = memchr(dec.data, ':', dec.len);
    if (colon == NULL || colon == dec.data
        || colon - dec.data > DH_HTTP_AUTH_BASIC_USER_MAX
        || dec.data + dec.len - (colon + 1) > DH_HTTP_AUTH_BASIC_PASS_MAX)
    {
        return DH_DECLINED;
    }

    user->data = dec.data;
    user->len = colon - dec.data;
    pass->data = colon + 1;
    pass->len = dec.data + dec.len - pass->data;

    return DH_OK;
}


dh_int_t
dh_http_auth_basic_check(dh_http_request_t *r,
    dh_http_auth_basic_conf_t *conf, dh_str_t *user)
{
    dh_int_t                    rc;
    dh_str_t                    name, pass;
    dh_uint_t                   i;
    dh_http_auth_basic_user_t  *u;

    if (conf->realm.len == 0) {
        return DH_DECLINED;
    }

    if (conf->file == NULL) {
        dh_log_error(DH_LOG_ERR, r->connection->log, 0,
                     "auth_basic without auth_basic_user_file");
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = dh_http_auth_basic_credentials(r, &name, &pass);

    if (rc == DH_ERROR) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == DH_DECLINED) {
        return dh_http_auth_basic_challenge(r, conf);
    }

    if (dh_http_auth_basic_load(r, conf->file) != DH_OK) {
        return DH_HTTP_INTERNAL_SERVER_ERROR;
    }

    u = conf->file->users->elts;

    for (i = 0; i < conf->file->users->nelts; i++) {
        if (u[i].user.len != name.len
            || dh_strncmp(u[i].user.data, name.data, name.len) != 0)
        {
            continue;
        }

        rc = dh_http_auth_basic_verify(r, &pass, &u[i], 0);

        if (rc == DH_OK) {
            if (user) {
                *user = name;
            }

            return DH_OK;
        }

        if (rc == DH_ERROR) {
            return DH_HTTP_INTERNAL_SERVER_ERROR;
        }

        dh_log_error(DH_LOG_ERR, r->connection->log, 0,
                     "user \"%.*s\": password mismatch",
                     (int) name.len, name.data);

        return dh_http_auth_basic_challenge(r, conf);
    }

    /* an unknown user costs a hash too, so the answer's timing does not
     * tell which user names exist */
    if (conf->file->users->nelts) {
        (void) dh_http_auth_basic_verify(r, &pass, &u[0], 1);
    }

    dh_log_error(DH_LOG_ERR, r->connection->log, 0,
                 "user \"%.*s\" was not found in \"%s\"",
                 (int) name.len, name.data, conf->file->path.data);

    return dh_http_auth_basic_challenge(r, conf);
}


static dh_http_auth_basic_file_t *
dh_http_auth_basic_file(dh_conf_t *cf, dh_str_t *path)
{
    dh_uint_t                         i;
    dh_http_auth_basic_file_t       **files, *f;
    dh_http_auth_basic_main_conf_t   *amcf;

    amcf = dh_http_conf_get_module_main_conf(cf, dh_http_auth_basic_module);
    files = amcf->files.elts;

    for (i = 0; i < amcf->files.nelts; i++) {
        if (files[i]->path.len == path->len
            && dh_strncmp(files[i]->path.data, path->data, path->len) == 0)
        {
            return files[i];
        }
    }

    f = dh_pcalloc(cf->pool, sizeof(dh_http_auth_basic_file_t));
    if (f == NULL) {
        return NULL;
    }

    f->path = *path;

    files = dh_array_push(&amcf->files);
    if (files == NULL) {
        return NULL;
    }

    *files = f;

    return f;
}


dh_int_t
dh_http_auth_basic_conf_set(dh_conf_t *cf, dh_http_auth_basic_conf_t *conf,
    dh_str_t *realm, dh_str_t *user_file)
{
    u_char    *p;
    size_t     len, i;
    dh_str_t   path;

    if (realm) {
        if (realm->len == 3 && dh_strncmp(realm->data, "off", 3) == 0) {
            conf->realm.len = 0;
            conf->realm.data = (u_char *) "";

        } else {
            for (i = 0; i < realm->len; i++) {
                if (realm->data[i] < 0x20 || realm->data[i] == 0x7f) {
                    dh_conf_log_error(DH_LOG_EMERG, cf, 0,
                                      "invalid character in realm \"%.*s\"",
                                      (int) realm->len, realm->data);
                    return DH_ERROR;
                }
            }

            conf->realm = *realm;

            /* Basic realm="...", with '"' and '\' escaped */
            len = sizeof("Basic realm=\"\"") - 1 + 2 * realm->len;
            p = dh_pnalloc(cf->pool, len);
            if (p == NULL) {
                return DH_ERROR;
            }

            conf->header.data = p;
            p = dh_cpymem(p, "Basic realm=\"", sizeof("Basic realm=\"") - 1);

            for (i = 0; i < realm->len; i++) {
                if (realm->data[i] == '"' || realm->data[i] == '\\') {
                    *p++ = '\\';
                }

                *p++ = realm->data[i];
            }

            *p++ = '"';
            conf->header.len = p - conf->header.data;
        }
    }

    if (user_file) {
        path.len = user_file->len;
        path.data = dh_pstrdup(cf->pool, user_file);
        if (path.data == NULL) {
            return DH_ERROR;
        }

        if (dh_conf_full_name(cf->cycle, &path, 1) != DH_OK) {
            return DH_ERROR;
        }

        conf->file = dh_http_auth_basic_file(cf, &path);
        if (conf->file == NULL) {
            return DH_ERROR;
        }
    }

    return DH_OK;
}


static dh_int_t
dh_http_auth_basic_handler(dh_http_request_t *r)
{
    dh_http_auth_basic_loc_conf_t  *alcf;

    alcf = dh_http_get_module_loc_conf(r, dh_http_auth_basic_module);

    return dh_http_auth_basic_check(r, &alcf->auth, NULL);
}


static char *
dh_http_auth_basic(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_auth_basic_loc_conf_t  *alcf = conf;

    dh_str_t  *value;

    if (alcf->realm_set) {
        return "is duplicate";
    }

    value = cf->args->elts;
    alcf->realm_set = 1;

    if (dh_http_auth_basic_conf_set(cf, &alcf->auth, &value[1], NULL)
        != DH_OK)
    {
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


static char *
dh_http_auth_basic_user_file(dh_conf_t *cf, dh_command_t *cmd, void *conf)
{
    dh_http_auth_basic_loc_conf_t  *alcf = conf;

    dh_str_t  *value;

    if (alcf->auth.file) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (dh_http_auth_basic_conf_set(cf, &alcf->auth, NULL, &value[1])
        != DH_OK)
    {
        return DH_CONF_ERROR;
    }

    return DH_CONF_OK;
}


static void *
dh_http_auth_basic_create_main_conf(dh_conf_t *cf)
{
    dh_http_auth_basic_main_conf_t  *amcf;

    amcf = dh_pcalloc(cf->pool, sizeof(dh_http_auth_basic_main_conf_t));
    if (amcf == NULL) {
        return NULL;
    }

    if (dh_array_init(&amcf->files, cf->pool, 4,
                      sizeof(dh_http_auth_basic_file_t *))
        != DH_OK)
    {
        return NULL;
    }

    return amcf;
}


static void *
dh_http_auth_basic_create_loc_conf(dh_conf_t *cf)
{
    /* realm_set 0, file NULL: both inherited */
    return dh_pcalloc(cf->pool, sizeof(dh_http_auth_basic_loc_conf_t));
}


static char *
dh_http_auth_basic_merge_loc_conf(dh_conf_t *cf, void *parent, void *child)
{
    dh_http_auth_basic_loc_conf_t  *prev = parent;
    dh_http_auth_basic_loc_conf_t  *conf = child;

    if (!conf->realm_set) {
        conf->realm_set = prev->realm_set;
        conf->auth.realm = prev->auth.realm;
        conf->auth.header = prev->auth.header;
    }

    if (conf->auth.file == NULL) {
        conf->auth.file = prev->auth.file;
    }

    return DH_CONF_OK;
}


static dh_int_t
dh_http_auth_basic_init(dh_conf_t *cf)
{
    dh_http_handler_pt        *h;
    dh_http_core_main_conf_t  *cmcf;

    cmcf = dh_http_conf_get_module_main_conf(cf, dh_http_core_module);

    h = dh_array_push(&cmcf->phases[DH_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return DH_ERROR;
    }

    *h = dh_http_auth_basic_handler;

    return DH_OK;
}

/*
 * Files: full names, the cycle's open-file list (dedupe, stderr, open,
 * reopen after a rename, close), atomic writes, mkdir -p, pread, and
 * dh_strerror().
 */

#include "dh_config.h"
#include "dh_core.h"

#include "t/unit/dh_tap.h"


static char  last_msg[1024];


void
dh_log_error_core(dh_uint_t level, dh_log_t *log, dh_err_t err,
    const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(last_msg, sizeof(last_msg), fmt, args);
    va_end(args);
}


static char        dir[] = "/tmp/dh_test_file_XXXXXX";
static dh_log_t    log0 = { DH_LOG_DEBUG, NULL, 0, NULL, NULL, NULL, NULL };


static void
test_full_name(dh_pool_t *pool)
{
    dh_str_t  prefix = dh_string("/usr/local/divehttpd/");
    dh_str_t  noslash = dh_string("/srv");
    dh_str_t  name;

    dh_str_set(&name, "logs/error.log");
    is_int(dh_get_full_name(pool, &prefix, &name), DH_OK, "relative name");
    is_str(name.data, "/usr/local/divehttpd/logs/error.log", "joined");
    is_int(name.len, 35, "length");

    dh_str_set(&name, "/var/log/x.log");
    dh_get_full_name(pool, &prefix, &name);
    is_str(name.data, "/var/log/x.log", "absolute name left alone");

    dh_str_set(&name, "data");
    dh_get_full_name(pool, &noslash, &name);
    is_str(name.data, "/srv/data", "a slash is added when missing");
}


static void
init_cycle(dh_cycle_t *c, dh_pool_t *pool)
{
    memset(c, 0, sizeof(dh_cycle_t));
    c->pool = pool;
    c->log = &log0;
    c->prefix.data = (u_char *) dir;
    c->prefix.len = strlen(dir);
    dh_list_init(&c->open_files, pool, 2, sizeof(dh_open_file_t));
}


static size_t
file_size(const char *path)
{
    struct stat  st;

    return stat(path, &st) == 0 ? (size_t) st.st_size : (size_t) -1;
}


static void
test_open_files(dh_pool_t *pool)
{
    char             path[256], moved[256], buf[64];
    dh_str_t         name;
    dh_cycle_t       c, c2;
    dh_open_file_t  *a, *b, *e, *x, *k;

    init_cycle(&c, pool);

    dh_str_set(&name, "a.log");
    a = dh_conf_open_file(&c, &name);
    ok(a != NULL && a->fd == DH_INVALID_FILE, "registered, not open yet");
    snprintf(path, sizeof(path), "%s/a.log", dir);
    is_str(a->name.data, path, "name made absolute against the prefix");

    name.data = (u_char *) path;
    name.len = strlen(path);
    b = dh_conf_open_file(&c, &name);
    ok(b == a, "the same file by its absolute name is the same entry");

    dh_str_set(&name, "stderr");
    e = dh_conf_open_file(&c, &name);
    ok(e != NULL && e->fd == STDERR_FILENO, "\"stderr\" is fd 2");
    ok(dh_conf_open_file(&c, &name) == e, "and deduped too");

    dh_str_set(&name, "sub/missing/x.log");
    x = dh_conf_open_file(&c, &name);
    ok(x != NULL && x != a, "a third file");

    is_int(dh_open_cycle_files(&c), DH_ERROR,
           "opening fails when a directory is missing");
    ok(strstr(last_msg, "sub/missing/x.log") != NULL, "logged: %s",
       last_msg);

    snprintf(buf, sizeof(buf), "%s/sub/missing", dir);
    is_int(dh_create_full_path((u_char *) buf, 0755), DH_OK,
           "mkdir -p the directory");
    is_int(dh_create_full_path((u_char *) buf, 0755), DH_OK,
           "again: existing directories are fine");

    is_int(dh_open_cycle_files(&c), DH_OK, "now every file opens");
    ok(a->fd > 2 && x->fd > 2 && e->fd == 2, "fds assigned");
    ok(fcntl(a->fd, F_GETFD) & FD_CLOEXEC, "O_CLOEXEC set");
    ok((fcntl(a->fd, F_GETFL) & O_APPEND) != 0, "O_APPEND set");
    is_int(file_size(path) == 0, 1, "created empty");

    is_int(dh_write_fd_all(a->fd, (u_char *) "one\n", 4), 4, "write");

    /* USR1: the log was moved away; reopen creates a fresh one */
    snprintf(moved, sizeof(moved), "%s/a.log.1", dir);
    rename(path, moved);
    dh_reopen_files(&c, (uid_t) -1);
    ok(a->fd > 2, "reopened");
    dh_write_fd_all(a->fd, (u_char *) "two\n", 4);
    is_int(file_size(moved), 4, "old file kept its line");
    is_int(file_size(path), 4, "new file got the next line");
    ok(e->fd == 2, "stderr untouched by reopen");

    if (geteuid() == 0) {
        struct stat  st;

        dh_reopen_files(&c, 65534);
        stat(path, &st);
        is_int(st.st_uid, 65534, "as root, reopen chowns to the user");
    } else {
        ok(1, "not root: chown not tested");
    }

    /* a second cycle sharing a file descriptor keeps it */
    init_cycle(&c2, pool);
    k = dh_list_push(&c2.open_files);
    dh_memzero(k, sizeof(dh_open_file_t));
    k->fd = x->fd;
    k->name = x->name;

    dh_close_cycle_files(&c, &c2);
    is_int(a->fd, DH_INVALID_FILE, "closed and marked");
    ok(fcntl(k->fd, F_GETFD) != -1, "an fd the other cycle uses stays open");
    ok(fcntl(2, F_GETFD) != -1, "stderr is never closed");

    dh_close_cycle_files(&c2, NULL);
    is_int(k->fd, DH_INVALID_FILE, "closed by its own cycle");

    unlink(moved);
}


static void
test_atomic_read(void)
{
    char          path[256], content[32];
    ssize_t       n;
    dh_file_t     f;
    struct stat   st;
    DIR          *d;
    struct dirent *de;
    dh_uint_t     leftovers;

    snprintf(path, sizeof(path), "%s/state.json", dir);

    is_int(dh_write_file_atomic(path, (u_char *) "{\"v\":1}", 7, &log0),
           DH_OK, "atomic write");
    is_int(dh_write_file_atomic(path, (u_char *) "{\"v\":22}", 8, &log0),
           DH_OK, "atomic overwrite");
    is_int(file_size(path), 8, "new size");
    stat(path, &st);
    is_int(st.st_mode & 0777, 0644, "mode 0644");

    leftovers = 0;
    d = opendir(dir);
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "state.json.", 11) == 0) {
            leftovers++;
        }
    }
    closedir(d);
    is_int(leftovers, 0, "no temporary file left behind");

    is_int(dh_write_file_atomic("/nonexistent-dir/x", (u_char *) "x", 1,
                                &log0), DH_ERROR, "missing directory fails");

    memset(&f, 0, sizeof(f));
    f.fd = open(path, O_RDONLY);
    f.log = &log0;
    n = dh_read_file(&f, (u_char *) content, sizeof(content), 2);
    is_int(n, 6, "pread from offset 2");
    content[n] = '\0';
    is_str(content, "v\":22}", "contents");
    is_int(f.offset, 8, "offset advanced");
    close(f.fd);

    f.fd = -1;
    is_int(dh_read_file(&f, (u_char *) content, 1, 0), DH_ERROR,
           "read from a bad fd fails");

    unlink(path);
}


static void
test_strerror_nonblock(void)
{
    int      sv[2], fl;
    u_char   buf[64], *p;

    p = dh_strerror(ENOENT, buf, sizeof(buf));
    *p = '\0';
    is_str(buf, strerror(ENOENT), "strerror text");

    p = dh_strerror(ENOENT, buf, 5);
    is_int(p - buf, 5, "truncated to size, no terminator written");

    p = dh_strerror(123456, buf, sizeof(buf));
    *p = '\0';
    ok(strstr((char *) buf, "123456") != NULL, "unknown code: %s", buf);

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    is_int(dh_nonblocking(sv[0]), DH_OK, "nonblocking");
    fl = fcntl(sv[0], F_GETFL);
    ok(fl & O_NONBLOCK, "O_NONBLOCK set");
    is_int(dh_blocking(sv[0]), DH_OK, "blocking");
    fl = fcntl(sv[0], F_GETFL);
    ok(!(fl & O_NONBLOCK), "O_NONBLOCK cleared");
    is_int(dh_nonblocking(-1), DH_ERROR, "bad fd");
    close(sv[0]);
    close(sv[1]);
}


int
main(void)
{
    char        cmd[300];
    dh_pool_t  *pool;

    if (mkdtemp(dir) == NULL) {
        return 1;
    }

    pool = dh_create_pool(4096, NULL);

    test_full_name(pool);
    test_open_files(pool);
    test_atomic_read();
    test_strerror_nonblock();

    dh_destroy_pool(pool);

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) {
        return 1;
    }

    return done_testing();
}

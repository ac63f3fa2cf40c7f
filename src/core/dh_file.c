#include "dh_config.h"
#include "dh_core.h"


#define DH_FILE_APPEND_FLAGS  (O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC)
#define DH_FILE_ACCESS        0644

static const dh_str_t  dh_stderr_name = dh_string("stderr");


dh_int_t
dh_get_full_name(dh_pool_t *pool, dh_str_t *prefix, dh_str_t *name)
{
    u_char     *p;
    size_t      len;
    dh_uint_t   slash;

    if (name->len > 0 && name->data[0] == '/') {
        return DH_OK;
    }

    len = prefix->len;
    slash = (len > 0 && prefix->data[len - 1] != '/');

    p = dh_pnalloc(pool, len + slash + name->len + 1);
    if (p == NULL) {
        return DH_ERROR;
    }

    if (len) {
        dh_memcpy(p, prefix->data, len);
    }

    if (slash) {
        p[len++] = '/';
    }

    if (name->len) {
        dh_memcpy(p + len, name->data, name->len);
    }

    len += name->len;
    p[len] = '\0';

    name->len = len;
    name->data = p;

    return DH_OK;
}


static dh_uint_t
dh_is_stderr_name(dh_str_t *name)
{
    return name->len == dh_stderr_name.len
           && dh_memcmp(name->data, dh_stderr_name.data, name->len) == 0;
}


dh_open_file_t *
dh_conf_open_file(dh_cycle_t *cycle, dh_str_t *name)
{
    dh_str_t          full;
    dh_uint_t         i;
    dh_list_part_t   *part;
    dh_open_file_t   *file;

    full = *name;

    if (!dh_is_stderr_name(&full)) {
        if (dh_get_full_name(cycle->pool, &cycle->prefix, &full) != DH_OK) {
            return NULL;
        }
    }

    part = &cycle->open_files.part;
    file = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            file = part->elts;
            i = 0;
        }

        if (file[i].name.len == full.len
            && dh_memcmp(file[i].name.data, full.data, full.len) == 0)
        {
            return &file[i];
        }
    }

    file = dh_list_push(&cycle->open_files);
    if (file == NULL) {
        return NULL;
    }

    /* the name must be NUL-terminated for open(); an absolute name was
     * left pointing at the caller's (unterminated) argument */
    file->name.data = dh_pstrdup(cycle->pool, &full);
    if (file->name.data == NULL) {
        file->fd = DH_INVALID_FILE;
        file->name.len = 0;
        return NULL;
    }

    file->name.len = full.len;
    file->fd = dh_is_stderr_name(&full) ? STDERR_FILENO : DH_INVALID_FILE;
    file->flush = NULL;
    file->data = NULL;

    return file;
}


/* Calls fn for every open file of the cycle; stops at the first error. */
static dh_int_t
dh_open_files_each(dh_cycle_t *cycle,
    dh_int_t (*fn)(dh_cycle_t *cycle, dh_open_file_t *file, void *data),
    void *data)
{
    dh_uint_t         i;
    dh_list_part_t   *part;
    dh_open_file_t   *file;

    part = &cycle->open_files.part;
    file = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            file = part->elts;
            i = 0;
        }

        if (fn(cycle, &file[i], data) != DH_OK) {
            return DH_ERROR;
        }
    }

    return DH_OK;
}


static dh_int_t
dh_open_one_file(dh_cycle_t *cycle, dh_open_file_t *file, void *data)
{
    if (file->fd != DH_INVALID_FILE || file->name.len == 0) {
        return DH_OK;
    }

    file->fd = open((char *) file->name.data, DH_FILE_APPEND_FLAGS,
                    DH_FILE_ACCESS);

    if (file->fd == DH_INVALID_FILE) {
        dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                     "open() \"%s\" failed", file->name.data);
        return DH_ERROR;
    }

    return DH_OK;
}


dh_int_t
dh_open_cycle_files(dh_cycle_t *cycle)
{
    return dh_open_files_each(cycle, dh_open_one_file, NULL);
}


static dh_int_t
dh_reopen_one_file(dh_cycle_t *cycle, dh_open_file_t *file, void *data)
{
    uid_t        user;
    dh_fd_t      fd;
    struct stat  st;

    user = *(uid_t *) data;

    if (file->fd <= STDERR_FILENO) {
        return DH_OK;
    }

    /* what was buffered before the reopen belongs in the old file */
    if (file->flush) {
        file->flush(file, cycle->log);
    }

    fd = open((char *) file->name.data, DH_FILE_APPEND_FLAGS,
              DH_FILE_ACCESS);

    if (fd == DH_INVALID_FILE) {
        /* keep writing to the old file rather than losing lines */
        dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                     "open() \"%s\" failed", file->name.data);
        return DH_OK;
    }

    /* workers run as `user` and must be able to reopen the file on the
     * next USR1 */
    if (user != (uid_t) -1 && geteuid() == 0) {

        if (fchown(fd, user, (gid_t) -1) == -1) {
            dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                         "fchown(\"%s\", %d) failed",
                         file->name.data, (int) user);
            (void) close(fd);
            return DH_OK;
        }

        if (fstat(fd, &st) == -1) {
            dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                         "fstat(\"%s\") failed", file->name.data);
            (void) close(fd);
            return DH_OK;
        }

        if ((st.st_mode & (S_IRUSR|S_IWUSR)) != (S_IRUSR|S_IWUSR)
            && fchmod(fd, st.st_mode | S_IRUSR | S_IWUSR) == -1)
        {
            dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                         "fchmod(\"%s\") failed", file->name.data);
            (void) close(fd);
            return DH_OK;
        }
    }

    if (close(file->fd) == -1) {
        dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                     "close(\"%s\") failed", file->name.data);
    }

    file->fd = fd;

    return DH_OK;
}


void
dh_reopen_files(dh_cycle_t *cycle, uid_t user)
{
    (void) dh_open_files_each(cycle, dh_reopen_one_file, &user);
}


static dh_int_t
dh_flush_one_file(dh_cycle_t *cycle, dh_open_file_t *file, void *data)
{
    if (file->flush && file->fd != DH_INVALID_FILE) {
        file->flush(file, cycle->log);
    }

    return DH_OK;
}


void
dh_flush_files(dh_cycle_t *cycle)
{
    (void) dh_open_files_each(cycle, dh_flush_one_file, NULL);
}


static dh_int_t
dh_has_open_fd(dh_cycle_t *cycle, dh_open_file_t *file, void *data)
{
    /* "error" stops the walk: the fd was found */
    return (file->fd == *(dh_fd_t *) data) ? DH_ERROR : DH_OK;
}


static dh_int_t
dh_close_one_file(dh_cycle_t *cycle, dh_open_file_t *file, void *data)
{
    dh_cycle_t  *keep_in;

    keep_in = data;

    /* the writer's buffer (and its timer) go with this cycle's pool */
    if (file->flush && file->fd != DH_INVALID_FILE) {
        file->flush(file, cycle->log);
        file->flush = NULL;
    }

    if (file->fd <= STDERR_FILENO) {
        return DH_OK;
    }

    if (keep_in != NULL
        && dh_open_files_each(keep_in, dh_has_open_fd, &file->fd) != DH_OK)
    {
        return DH_OK;
    }

    if (close(file->fd) == -1) {
        dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                     "close() \"%s\" failed", file->name.data);
    }

    file->fd = DH_INVALID_FILE;

    return DH_OK;
}


void
dh_close_cycle_files(dh_cycle_t *cycle, dh_cycle_t *keep_in)
{
    (void) dh_open_files_each(cycle, dh_close_one_file, keep_in);
}


ssize_t
dh_read_file(dh_file_t *file, u_char *buf, size_t size, off_t offset)
{
    ssize_t  n;

    do {
        n = pread(file->fd, buf, size, offset);
    } while (n == -1 && dh_errno == DH_EINTR);

    if (n == -1) {
        if (file->log != NULL) {
            dh_log_error(DH_LOG_CRIT, file->log, dh_errno,
                         "pread() \"%.*s\" failed", DH_STR_FMT(file->name));
        }
        return DH_ERROR;
    }

    file->offset = offset + n;

    return n;
}


ssize_t
dh_write_fd_all(dh_fd_t fd, u_char *buf, size_t size)
{
    size_t   done;
    ssize_t  n;

    for (done = 0; done < size; done += (size_t) n) {
        n = write(fd, buf + done, size - done);

        if (n == -1) {
            if (dh_errno == DH_EINTR) {
                n = 0;
                continue;
            }

            return DH_ERROR;
        }
    }

    return (ssize_t) done;
}


/* mkdir -p: every missing component, the last one included. */
dh_int_t
dh_create_full_path(u_char *dir, mode_t access)
{
    u_char     *p, ch;
    dh_err_t    err;

    for (p = dir + 1; /* void */ ; p++) {
        ch = *p;

        if (ch != '/' && ch != '\0') {
            continue;
        }

        if (p[-1] != '/') {
            *p = '\0';

            if (mkdir((char *) dir, access) == -1) {
                err = dh_errno;

                if (err != DH_EEXIST) {
                    *p = ch;
                    dh_set_errno(err);
                    return DH_ERROR;
                }
            }

            *p = ch;
        }

        if (ch == '\0') {
            break;
        }
    }

    return DH_OK;
}


/*
 * The temporary file has a unique name in the target's directory (rename
 * only is atomic within one file system); its contents are synced before
 * the rename and the directory after it, so after a crash the path holds
 * either the old or the new contents, never a torn mix.
 */
dh_int_t
dh_write_file_atomic(const char *path, u_char *data, size_t len,
    dh_log_t *log)
{
    char       *tmp, *slash;
    size_t      plen;
    dh_fd_t     fd, dfd;
    dh_err_t    err;

    plen = strlen(path);

    tmp = malloc(plen + sizeof(".XXXXXX"));
    if (tmp == NULL) {
        return DH_ERROR;
    }

    dh_memcpy(tmp, path, plen);
    dh_memcpy(tmp + plen, ".XXXXXX", sizeof(".XXXXXX"));

    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd == -1) {
        err = dh_errno;
        if (log != NULL) {
            dh_log_error(DH_LOG_CRIT, log, err,
                         "mkostemp(\"%s\") failed", tmp);
        }
        free(tmp);
        dh_set_errno(err);
        return DH_ERROR;
    }

    if (dh_write_fd_all(fd, data, len) != (ssize_t) len) {
        err = dh_errno;
        if (log != NULL) {
            dh_log_error(DH_LOG_CRIT, log, err, "write(\"%s\") failed", tmp);
        }
        goto failed;
    }

    if (fchmod(fd, DH_FILE_ACCESS) == -1 || fsync(fd) == -1) {
        err = dh_errno;
        if (log != NULL) {
            dh_log_error(DH_LOG_CRIT, log, err,
                         "fchmod()/fsync(\"%s\") failed", tmp);
        }
        goto failed;
    }

    if (close(fd) == -1) {
        fd = DH_INVALID_FILE;
        err = dh_errno;
        if (log != NULL) {
            dh_log_error(DH_LOG_CRIT, log, err, "close(\"%s\") failed", tmp);
        }
        goto failed;
    }

    fd = DH_INVALID_FILE;

    if (rename(tmp, path) == -1) {
        err = dh_errno;
        if (log != NULL) {
            dh_log_error(DH_LOG_CRIT, log, err,
                         "rename(\"%s\", \"%s\") failed", tmp, path);
        }
        goto failed;
    }

    /* make the rename itself durable; best effort */
    slash = strrchr(tmp, '/');
    if (slash == tmp) {
        slash++;
    }

    if (slash != NULL) {
        *slash = '\0';
        dfd = open(tmp, O_RDONLY|O_DIRECTORY|O_CLOEXEC);

    } else {
        dfd = open(".", O_RDONLY|O_DIRECTORY|O_CLOEXEC);
    }

    if (dfd != -1) {
        (void) fsync(dfd);
        (void) close(dfd);
    }

    free(tmp);

    return DH_OK;

failed:

    if (fd != DH_INVALID_FILE) {
        (void) close(fd);
    }

    (void) unlink(tmp);
    free(tmp);
    dh_set_errno(err);

    return DH_ERROR;
}


dh_int_t
dh_nonblocking(dh_socket_t s)
{
    int  nb;

    nb = 1;

    return (ioctl(s, FIONBIO, &nb) == -1) ? DH_ERROR : DH_OK;
}


dh_int_t
dh_blocking(dh_socket_t s)
{
    int  nb;

    nb = 0;

    return (ioctl(s, FIONBIO, &nb) == -1) ? DH_ERROR : DH_OK;
}

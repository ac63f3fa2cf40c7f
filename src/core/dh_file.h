/*
 * Files, paths and the open-file list of a cycle (logs and other files a
 * configuration opens; reopened together on USR1).
 */

#ifndef DH_FILE_H
#define DH_FILE_H

#include "dh_core.h"

struct dh_file_s {
    dh_fd_t          fd;
    dh_str_t         name;
    struct stat      info;
    off_t            offset;
    dh_log_t        *log;
};

struct dh_open_file_s {
    dh_fd_t          fd;
    dh_str_t         name;          /* absolute, NUL-terminated */
    /* a writer that buffers lines (access_log buffer=) empties its buffer
     * here before a reopen and at process exit; NULL: nothing buffered */
    void           (*flush)(dh_open_file_t *file, dh_log_t *log);
    void            *data;          /* the writer's, for flush */
};

/* Makes `name` absolute against `prefix` (conf-relative or prefix-relative
 * paths); allocates from the pool.  Leaves absolute names alone. */
dh_int_t dh_get_full_name(dh_pool_t *pool, dh_str_t *prefix, dh_str_t *name);

/* Registers a file to open with the cycle (same name opened once; a
 * relative name is made absolute against cycle->prefix).  "stderr" is an
 * entry whose fd is already 2. */
dh_open_file_t *dh_conf_open_file(dh_cycle_t *cycle, dh_str_t *name);
/* Opens the files not open yet: O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, 0644.
 * DH_ERROR (logged) on the first failure. */
dh_int_t dh_open_cycle_files(dh_cycle_t *cycle);
/* USR1: opens each file (fd > 2) by name again, chowns it to `user` when
 * running as root and user != (uid_t) -1, swaps the new fd in and closes
 * the old one.  A file that fails keeps its old fd (logged). */
void dh_reopen_files(dh_cycle_t *cycle, uid_t user);
/* Calls each file's flush (if any): buffered lines reach the file. */
void dh_flush_files(dh_cycle_t *cycle);
/* Closes the cycle's files except fds 0-2 and fds that keep_in (may be
 * NULL) also has open; closed entries get fd DH_INVALID_FILE. */
void dh_close_cycle_files(dh_cycle_t *cycle, dh_cycle_t *keep_in);

/* pread() retrying EINTR; updates file->offset; DH_ERROR (logged when
 * file->log is set). */
ssize_t dh_read_file(dh_file_t *file, u_char *buf, size_t size, off_t offset);
/* write() until done, retrying EINTR; size or DH_ERROR. */
ssize_t dh_write_fd_all(dh_fd_t fd, u_char *buf, size_t size);
/* mkdir -p of dir (NUL-terminated; the last component is created too). */
dh_int_t dh_create_full_path(u_char *dir, mode_t access);

/* Writes the whole buffer to a unique temporary name next to path (mode
 * 0644), fsyncs it, renames it over path and fsyncs the directory, so
 * readers never see a partial file.  Uses malloc; log may be NULL. */
dh_int_t dh_write_file_atomic(const char *path, u_char *data, size_t len,
    dh_log_t *log);

dh_int_t dh_nonblocking(dh_socket_t s);
dh_int_t dh_blocking(dh_socket_t s);

#endif /* DH_FILE_H */

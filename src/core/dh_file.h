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
};

/* Makes `name` absolute against `prefix` (conf-relative or prefix-relative
 * paths); allocates from the pool.  Leaves absolute names alone. */
dh_int_t dh_get_full_name(dh_pool_t *pool, dh_str_t *prefix, dh_str_t *name);

/* Registers a file to open with the cycle (same name opened once). */
dh_open_file_t *dh_conf_open_file(dh_cycle_t *cycle, dh_str_t *name);
dh_int_t dh_open_cycle_files(dh_cycle_t *cycle);
void dh_reopen_files(dh_cycle_t *cycle, uid_t user);
void dh_close_cycle_files(dh_cycle_t *cycle, dh_cycle_t *keep_in);

ssize_t dh_read_file(dh_file_t *file, u_char *buf, size_t size, off_t offset);
ssize_t dh_write_fd_all(dh_fd_t fd, u_char *buf, size_t size);
dh_int_t dh_create_full_path(u_char *dir, mode_t access);

/* Writes the whole buffer to path.tmp and renames it over path, so
 * readers never see a partial file. */
dh_int_t dh_write_file_atomic(const char *path, u_char *data, size_t len,
    dh_log_t *log);

dh_int_t dh_nonblocking(dh_socket_t s);
dh_int_t dh_blocking(dh_socket_t s);

#endif /* DH_FILE_H */

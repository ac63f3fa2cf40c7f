#ifndef DH_ERRNO_H
#define DH_ERRNO_H

#include "dh_core.h"

#define DH_EPERM         EPERM
#define DH_ENOENT        ENOENT
#define DH_EINTR         EINTR
#define DH_EAGAIN        EAGAIN
#define DH_EACCES        EACCES
#define DH_EEXIST        EEXIST
#define DH_ENOTDIR       ENOTDIR
#define DH_EISDIR        EISDIR
#define DH_EINVAL        EINVAL
#define DH_EMFILE        EMFILE
#define DH_ENFILE        ENFILE
#define DH_ENOSPC        ENOSPC
#define DH_EPIPE         EPIPE
#define DH_EINPROGRESS   EINPROGRESS
#define DH_EADDRINUSE    EADDRINUSE
#define DH_ECONNABORTED  ECONNABORTED
#define DH_ECONNRESET    ECONNRESET
#define DH_ENOTCONN      ENOTCONN
#define DH_ETIMEDOUT     ETIMEDOUT
#define DH_ECONNREFUSED  ECONNREFUSED
#define DH_EHOSTUNREACH  EHOSTUNREACH
#define DH_ENOBUFS       ENOBUFS
#define DH_ENOMEM        ENOMEM

/* strerror_r() is not async-signal-safe and glibc's GNU variant returns a
 * pointer, so the logger copies into its own buffer through this helper.
 * Writes at most size bytes of the message (no NUL) and returns the end. */
u_char *dh_strerror(dh_err_t err, u_char *errstr, size_t size);

#endif /* DH_ERRNO_H */

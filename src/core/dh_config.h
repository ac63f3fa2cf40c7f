/*
 * divehttpd: platform configuration.
 *
 * Every source file includes this first (through dh_core.h).  It pulls in the
 * feature-test results written by ./configure and the system headers the
 * whole tree needs, so no other file has to guess what the platform has.
 */

#ifndef DH_CONFIG_H
#define DH_CONFIG_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "dh_auto_config.h"     /* objs/dh_auto_config.h, written by configure */

#include <sys/types.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <limits.h>
#include <pwd.h>
#include <grp.h>
#include <glob.h>
#include <dirent.h>
#include <pthread.h>

#if (DH_HAVE_EPOLL)
#include <sys/epoll.h>
#endif
#if (DH_HAVE_EVENTFD)
#include <sys/eventfd.h>
#endif
#if (DH_HAVE_SENDFILE)
#include <sys/sendfile.h>
#endif
#if (DH_HAVE_PRCTL)
#include <sys/prctl.h>
#endif

typedef intptr_t        dh_int_t;
typedef uintptr_t       dh_uint_t;
typedef intptr_t        dh_flag_t;
typedef unsigned char   u_char;
typedef int             dh_fd_t;
typedef int             dh_err_t;
typedef int             dh_socket_t;
typedef uint64_t        dh_msec_t;
typedef int64_t         dh_msec_int_t;

#define DH_INT_T_LEN    (sizeof("-9223372036854775808") - 1)
#define DH_INT64_LEN    (sizeof("-9223372036854775808") - 1)
#define DH_MAX_INT_T_VALUE  INTPTR_MAX
#define DH_MAX_SIZE_T_VALUE SIZE_MAX
#define DH_MAX_OFF_T_VALUE  INT64_MAX

#ifndef DH_ALIGNMENT
#define DH_ALIGNMENT    sizeof(unsigned long)
#endif

#define dh_align(d, a)      (((d) + (a - 1)) & ~(a - 1))
#define dh_align_ptr(p, a)                                                    \
    (u_char *) (((uintptr_t) (p) + ((uintptr_t) a - 1)) & ~((uintptr_t) a - 1))

#define DH_CACHELINE_SIZE   64

#define dh_abs(value)       (((value) >= 0) ? (value) : - (value))
#define dh_max(val1, val2)  (((val1) < (val2)) ? (val2) : (val1))
#define dh_min(val1, val2)  (((val1) > (val2)) ? (val2) : (val1))

#define dh_errno            errno
#define dh_socket_errno     errno
#define dh_set_errno(err)   errno = err

#define DH_INVALID_FILE     -1
#define DH_FILE_ERROR       -1

#define DH_LINEFEED         "\x0a"
#define LF                  (u_char) '\n'
#define CR                  (u_char) '\r'
#define CRLF                "\r\n"

#endif /* DH_CONFIG_H */

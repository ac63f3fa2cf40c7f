#include "dh_config.h"
#include "dh_core.h"


/*
 * glibc with _GNU_SOURCE gives the GNU strerror_r(), which returns a
 * pointer to a static message (or to buf for unknown codes); other C
 * libraries give the XSI one, which fills buf.  Either way the text is
 * copied into the caller's buffer, never left in shared static storage.
 */
u_char *
dh_strerror(dh_err_t err, u_char *errstr, size_t size)
{
    char         buf[128];
    const char  *msg;
    size_t       len;

    if (size == 0) {
        return errstr;
    }

#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    msg = strerror_r(err, buf, sizeof(buf));
#else
    if (strerror_r(err, buf, sizeof(buf)) != 0) {
        (void) snprintf(buf, sizeof(buf), "Unknown error %d", err);
    }
    msg = buf;
#endif

    if (msg == NULL) {
        (void) snprintf(buf, sizeof(buf), "Unknown error %d", err);
        msg = buf;
    }

    len = strlen(msg);
    if (len > size) {
        len = size;
    }

    return dh_cpymem(errstr, msg, len);
}

/*
 * HTTP Basic authentication against an htpasswd file, as a reusable check:
 * the auth_basic directives use it in the access phase, and other modules
 * (Stream Load, admin APIs) embed a dh_http_auth_basic_conf_t in their own
 * configuration and call dh_http_auth_basic_check() from their handlers.
 *
 * File lines are "user:hash" (comments start with '#', blank lines and
 * anything after a second ':' are ignored).  Accepted hashes: bcrypt
 * ($2y$ $2b$ $2a$), sha512-crypt ($6$), sha256-crypt ($5$), md5-crypt ($1$)
 * through libxcrypt; apr1 ($apr1$, Apache's MD5); {SHA} (base64 SHA-1).
 * Plain-text passwords are refused (logged), so a file that leaked keeps
 * no password readable.
 *
 * Each worker caches the parsed file and reads it again when its mtime,
 * size or inode changes (one stat() per check).  Reading blocks the
 * worker, so files are limited to 1 MiB; bcrypt costs CPU in the worker
 * too (keep the cost at 10 or below for busy endpoints).
 *
 * Call it from the worker's event-loop thread only: it keeps one static
 * crypt buffer and the per-worker cache, neither of which is locked.
 */

#ifndef DH_HTTP_AUTH_BASIC_MODULE_H
#define DH_HTTP_AUTH_BASIC_MODULE_H

#include "dh_http.h"

typedef struct dh_http_auth_basic_file_s  dh_http_auth_basic_file_t;

typedef struct {
    dh_str_t                    realm;    /* len 0: authentication off */
    dh_str_t                    header;   /* WWW-Authenticate value */
    dh_http_auth_basic_file_t  *file;     /* NULL: no user file */
} dh_http_auth_basic_conf_t;

/* Fills conf at configuration time, from a directive inside http {} (the
 * parsed files are shared through this module's http main conf; start
 * from a zeroed conf).  realm "off" turns the check off;
 * user_file is relative to the configuration directory; either may be
 * NULL to leave it as it was.  Returns DH_OK or DH_ERROR (logged). */
dh_int_t dh_http_auth_basic_conf_set(dh_conf_t *cf,
    dh_http_auth_basic_conf_t *conf, dh_str_t *realm, dh_str_t *user_file);

/* Checks r's Authorization header against conf:
 *   DH_OK           valid credentials; *user (if not NULL) is the user
 *                   name (request pool memory)
 *   DH_DECLINED     the check is off (no realm)
 *   DH_HTTP_UNAUTHORIZED       missing or wrong credentials; the
 *                   WWW-Authenticate header has been added to r
 *   DH_HTTP_INTERNAL_SERVER_ERROR  the user file cannot be read (logged)
 */
dh_int_t dh_http_auth_basic_check(dh_http_request_t *r,
    dh_http_auth_basic_conf_t *conf, dh_str_t *user);

#endif /* DH_HTTP_AUTH_BASIC_MODULE_H */

/*
 * Client certificates and the TLS variables: the part of
 * dh_http_ssl_module kept in dh_http_ssl_verify.c (private to the module).
 */

#ifndef DH_HTTP_SSL_VERIFY_H
#define DH_HTTP_SSL_VERIFY_H

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"
#include "dh_event_openssl.h"


/* ssl_verify_client */
#define DH_HTTP_SSL_VERIFY_OFF          0
#define DH_HTTP_SSL_VERIFY_ON           1
#define DH_HTTP_SSL_VERIFY_OPTIONAL     2
#define DH_HTTP_SSL_VERIFY_OPTIONAL_NO_CA  3

extern dh_conf_enum_t  dh_http_ssl_verify_modes[];

/* Asks for client certificates on ctx and trusts those issued by the CAs
 * in ca (may be empty with optional_no_ca).  The handshake succeeds
 * whatever the client sends; requests are checked by
 * dh_http_ssl_check_client(). */
dh_int_t dh_http_ssl_verify_setup(dh_conf_t *cf, SSL_CTX *ctx,
    dh_uint_t verify, dh_str_t *ca, dh_uint_t depth);
/* DH_OK, or DH_HTTP_CLIENT_CERT_ERROR / DH_HTTP_CLIENT_NO_CERT (logged) for a
 * request on a server with ssl_verify_client `verify`. */
dh_int_t dh_http_ssl_check_client(dh_http_request_t *r, dh_uint_t verify);
/* $ssl_protocol, $ssl_cipher, $ssl_session_reused, $ssl_client_verify,
 * $ssl_client_s_dn, $ssl_client_i_dn, $ssl_client_serial and
 * $ssl_client_fingerprint (preconfiguration). */
dh_int_t dh_http_ssl_add_variables(dh_conf_t *cf);

#endif /* DH_HTTP_SSL_VERIFY_H */

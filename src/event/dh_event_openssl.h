/*
 * TLS over dh_connection_t with OpenSSL 3, for any protocol.
 *
 * A connection becomes a TLS one with dh_ssl_create_connection(): c->ssl
 * then holds a dh_ssl_connection_t and c->recv, c->send and c->send_chain
 * go through the SSL object.  The handshake is non-blocking: it drives the
 * connection's read and write events until it completes, fails or the
 * caller's timer on c->read fires, and then calls c->ssl->handler(c) once;
 * the handler looks at c->ssl->handshaked.
 *
 * No sendfile over TLS: file buffers are read into a 16 KiB record buffer.
 */

#ifndef DH_EVENT_OPENSSL_H
#define DH_EVENT_OPENSSL_H

#include "dh_event.h"

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#define DH_SSL_BUFSIZE        16384

/* protocol bits for dh_ssl_create() */
#define DH_SSL_TLSv1          0x0002
#define DH_SSL_TLSv1_1        0x0004
#define DH_SSL_TLSv1_2        0x0008
#define DH_SSL_TLSv1_3        0x0010

#define DH_SSL_SERVER         0
#define DH_SSL_CLIENT         1

typedef void (*dh_ssl_handshake_pt)(dh_connection_t *c);

typedef struct {
    SSL_CTX                *ctx;
    dh_log_t               *log;
} dh_ssl_t;

typedef struct {
    SSL                    *connection;
    SSL_CTX                *session_ctx;

    dh_ssl_handshake_pt     handler;       /* handshake done or failed */

    u_char                 *buf;           /* send_chain record buffer */
    size_t                  pending;       /* bytes of a retried write */

    dh_recv_pt              saved_recv;
    dh_send_pt              saved_send;
    dh_send_chain_pt        saved_send_chain;

    unsigned                handshaked:1;
    unsigned                client:1;
    unsigned                no_send_shutdown:1;
} dh_ssl_connection_t;

dh_int_t dh_ssl_init(dh_log_t *log);

/* A server context (TLS_server_method) with the given protocol bits, or a
 * client one.  The SSL_CTX is freed by a cleanup of cf->pool-like `pool`. */
dh_int_t dh_ssl_create(dh_ssl_t *ssl, dh_uint_t protocols, dh_uint_t client,
    dh_pool_t *pool);
dh_int_t dh_ssl_certificate(dh_ssl_t *ssl, dh_str_t *cert, dh_str_t *key);
dh_int_t dh_ssl_ciphers(dh_ssl_t *ssl, dh_str_t *ciphers,
    dh_uint_t prefer_server);

/*
 * A client context: verification ON unless verify is 0, trusted
 * certificates from ca_file, or the system's default paths when ca_file
 * is NULL or empty.
 */
dh_int_t dh_ssl_create_client_ctx(dh_ssl_t *ssl, dh_str_t *ca_file,
    dh_uint_t verify, dh_pool_t *pool);

/* Attaches a new SSL object to c (server side unless client is set). */
dh_int_t dh_ssl_create_connection(dh_ssl_t *ssl, dh_connection_t *c,
    dh_uint_t client);

/* Client side: SNI and host-name verification for the peer name. */
dh_int_t dh_ssl_set_host(dh_connection_t *c, dh_str_t *host);

/*
 * Runs the handshake.  DH_OK: done (c->recv and friends now use TLS).
 * DH_AGAIN: the events of c now drive it; c->ssl->handler is called when
 * it ends.  DH_ERROR: failed (logged).  A timeout is the caller's timer on
 * c->read: when it fires the handler is called with c->read->timedout set.
 */
dh_int_t dh_ssl_handshake(dh_connection_t *c);

ssize_t dh_ssl_recv(dh_connection_t *c, u_char *buf, size_t size);
ssize_t dh_ssl_send(dh_connection_t *c, u_char *buf, size_t size);
dh_chain_t *dh_ssl_send_chain(dh_connection_t *c, dh_chain_t *in,
    off_t limit);

/* Sends close_notify once (never waits for the peer's) and frees the SSL
 * object; c goes back to plain socket I/O. */
void dh_ssl_shutdown(dh_connection_t *c);

void dh_ssl_error(dh_uint_t level, dh_log_t *log, dh_err_t err,
    char *fmt, ...);

/* ex_data index of the dh_connection_t on SSL objects */
extern int  dh_ssl_connection_index;

#endif /* DH_EVENT_OPENSSL_H */

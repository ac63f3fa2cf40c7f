/*
 * TLS connections with OpenSSL 3 (see dh_event_openssl.h).
 *
 * Edge-triggered events: like a socket, a TLS connection stays "ready"
 * until OpenSSL asks for more bytes (SSL_ERROR_WANT_READ), so decrypted
 * data OpenSSL still holds is read before the connection waits again.
 *
 * dh_ssl_send_chain() copies the chain into one record buffer and only
 * advances the chain by what SSL_write() took.  A write that would block
 * is retried later with the same length (OpenSSL's rule) by refilling the
 * buffer from the unchanged chain (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_event.h"
#include "dh_event_openssl.h"


static void dh_ssl_handshake_handler(dh_event_t *ev);
static void dh_ssl_clear_error(dh_log_t *log);
static void dh_ssl_connection_error(dh_connection_t *c, int sslerr,
    dh_err_t err, char *text);
static void dh_ssl_cleanup_ctx(void *data);
static size_t dh_ssl_fill(dh_connection_t *c, dh_chain_t *in, u_char *buf,
    size_t size);


int  dh_ssl_connection_index = -1;


dh_int_t
dh_ssl_init(dh_log_t *log)
{
    if (dh_ssl_connection_index != -1) {
        return DH_OK;
    }

    if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) == 0) {
        dh_ssl_error(DH_LOG_ALERT, log, 0, "OPENSSL_init_ssl() failed");
        return DH_ERROR;
    }

    ERR_clear_error();

    dh_ssl_connection_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
                                                   NULL);
    if (dh_ssl_connection_index == -1) {
        dh_ssl_error(DH_LOG_ALERT, log, 0, "SSL_get_ex_new_index() failed");
        return DH_ERROR;
    }

    return DH_OK;
}


static int
dh_ssl_version(dh_uint_t bit)
{
    switch (bit) {
    case DH_SSL_TLSv1:   return TLS1_VERSION;
    case DH_SSL_TLSv1_1: return TLS1_1_VERSION;
    case DH_SSL_TLSv1_2: return TLS1_2_VERSION;
    default:             return TLS1_3_VERSION;
    }
}


dh_int_t
dh_ssl_create(dh_ssl_t *ssl, dh_uint_t protocols, dh_uint_t client,
    dh_pool_t *pool)
{
    int                 min, max;
    dh_uint_t           bit;
    dh_pool_cleanup_t  *cln;

    ssl->ctx = SSL_CTX_new(client ? TLS_client_method()
                                  : TLS_server_method());
    if (ssl->ctx == NULL) {
        dh_ssl_error(DH_LOG_EMERG, ssl->log, 0, "SSL_CTX_new() failed");
        return DH_ERROR;
    }

    cln = dh_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        SSL_CTX_free(ssl->ctx);
        ssl->ctx = NULL;
        return DH_ERROR;
    }

    cln->handler = dh_ssl_cleanup_ctx;
    cln->data = ssl->ctx;

    /* the protocols form a range: the lowest and highest bit asked for */
    min = 0;
    max = 0;

    for (bit = DH_SSL_TLSv1; bit <= DH_SSL_TLSv1_3; bit <<= 1) {
        if (protocols & bit) {
            if (min == 0) {
                min = dh_ssl_version(bit);
            }
            max = dh_ssl_version(bit);
        }
    }

    if (min && (SSL_CTX_set_min_proto_version(ssl->ctx, min) != 1
                || SSL_CTX_set_max_proto_version(ssl->ctx, max) != 1))
    {
        dh_ssl_error(DH_LOG_EMERG, ssl->log, 0,
                     "SSL_CTX_set_min/max_proto_version() failed");
        return DH_ERROR;
    }

    SSL_CTX_set_options(ssl->ctx, SSL_OP_NO_COMPRESSION
                                  | SSL_OP_NO_RENEGOTIATION
                                  | SSL_OP_IGNORE_UNEXPECTED_EOF);

    SSL_CTX_set_mode(ssl->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                               | SSL_MODE_RELEASE_BUFFERS);

    SSL_CTX_set_read_ahead(ssl->ctx, 1);

    return DH_OK;
}


static void
dh_ssl_cleanup_ctx(void *data)
{
    SSL_CTX_free(data);
}


dh_int_t
dh_ssl_certificate(dh_ssl_t *ssl, dh_str_t *cert, dh_str_t *key)
{
    /* the names come from dh_pstrdup'ed, NUL-terminated strings */
    if (SSL_CTX_use_certificate_chain_file(ssl->ctx, (char *) cert->data)
        != 1)
    {
        dh_ssl_error(DH_LOG_EMERG, ssl->log, 0,
                     "cannot load certificate \"%s\"", cert->data);
        return DH_ERROR;
    }

    if (SSL_CTX_use_PrivateKey_file(ssl->ctx, (char *) key->data,
                                    SSL_FILETYPE_PEM)
        != 1)
    {
        dh_ssl_error(DH_LOG_EMERG, ssl->log, 0,
                     "cannot load certificate key \"%s\"", key->data);
        return DH_ERROR;
    }

    if (SSL_CTX_check_private_key(ssl->ctx) != 1) {
        dh_ssl_error(DH_LOG_EMERG, ssl->log, 0,
                     "certificate \"%s\" and key \"%s\" do not match",
                     cert->data, key->data);
        return DH_ERROR;
    }

    return DH_OK;
}


dh_int_t
dh_ssl_ciphers(dh_ssl_t *ssl, dh_str_t *ciphers, dh_uint_t prefer_server)
{
    if (SSL_CTX_set_cipher_list(ssl->ctx, (char *) ciphers->data) != 1) {
        dh_ssl_error(DH_LOG_EMERG, ssl->log, 0,
                     "SSL_CTX_set_cipher_list(\"%s\") failed",
                     ciphers->data);
        return DH_ERROR;
    }

    if (prefer_server) {
        SSL_CTX_set_options(ssl->ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    }

    return DH_OK;
}


dh_int_t
dh_ssl_create_client_ctx(dh_ssl_t *ssl, dh_str_t *ca_file, dh_uint_t verify,
    dh_pool_t *pool)
{
    if (dh_ssl_create(ssl, DH_SSL_TLSv1_2 | DH_SSL_TLSv1_3, 1, pool)
        != DH_OK)
    {
        return DH_ERROR;
    }

    if (!verify) {
        SSL_CTX_set_verify(ssl->ctx, SSL_VERIFY_NONE, NULL);
        return DH_OK;
    }

    SSL_CTX_set_verify(ssl->ctx, SSL_VERIFY_PEER, NULL);

    if (ca_file && ca_file->len) {
        if (SSL_CTX_load_verify_locations(ssl->ctx, (char *) ca_file->data,
                                          NULL)
            != 1)
        {
            dh_ssl_error(DH_LOG_EMERG, ssl->log, 0,
                         "cannot load CA file \"%s\"", ca_file->data);
            return DH_ERROR;
        }

        return DH_OK;
    }

    if (SSL_CTX_set_default_verify_paths(ssl->ctx) != 1) {
        dh_ssl_error(DH_LOG_EMERG, ssl->log, 0,
                     "SSL_CTX_set_default_verify_paths() failed");
        return DH_ERROR;
    }

    return DH_OK;
}


dh_int_t
dh_ssl_create_connection(dh_ssl_t *ssl, dh_connection_t *c, dh_uint_t client)
{
    dh_ssl_connection_t  *sc;

    sc = dh_pcalloc(c->pool, sizeof(dh_ssl_connection_t));
    if (sc == NULL) {
        return DH_ERROR;
    }

    sc->session_ctx = ssl->ctx;
    sc->client = client ? 1 : 0;

    sc->connection = SSL_new(ssl->ctx);
    if (sc->connection == NULL) {
        dh_ssl_error(DH_LOG_ALERT, c->log, 0, "SSL_new() failed");
        return DH_ERROR;
    }

    if (SSL_set_fd(sc->connection, c->fd) != 1
        || SSL_set_ex_data(sc->connection, dh_ssl_connection_index, c) != 1)
    {
        dh_ssl_error(DH_LOG_ALERT, c->log, 0, "SSL_set_fd() failed");
        SSL_free(sc->connection);
        return DH_ERROR;
    }

    if (client) {
        SSL_set_connect_state(sc->connection);

    } else {
        SSL_set_accept_state(sc->connection);
    }

    sc->saved_recv = c->recv;
    sc->saved_send = c->send;
    sc->saved_send_chain = c->send_chain;

    c->ssl = sc;

    return DH_OK;
}


dh_int_t
dh_ssl_set_host(dh_connection_t *c, dh_str_t *host)
{
    char                 *name;
    dh_ssl_connection_t  *sc;

    sc = c->ssl;

    name = dh_pstrdup_cstr(c->pool, host);
    if (name == NULL) {
        return DH_ERROR;
    }

    if (SSL_set_tlsext_host_name(sc->connection, name) != 1) {
        dh_ssl_error(DH_LOG_ERR, c->log, 0,
                     "SSL_set_tlsext_host_name(\"%s\") failed", name);
        return DH_ERROR;
    }

    if (SSL_set1_host(sc->connection, name) != 1) {
        dh_ssl_error(DH_LOG_ERR, c->log, 0,
                     "SSL_set1_host(\"%s\") failed", name);
        return DH_ERROR;
    }

    return DH_OK;
}


dh_int_t
dh_ssl_handshake(dh_connection_t *c)
{
    int                   n, sslerr;
    long                  verify;
    dh_err_t              err;
    dh_ssl_connection_t  *sc;

    sc = c->ssl;

    dh_ssl_clear_error(c->log);

    n = SSL_do_handshake(sc->connection);

    if (n == 1) {
        sc->handshaked = 1;
        dh_metrics_inc(dh_metric_tls_handshakes, 1);

        c->recv = dh_ssl_recv;
        c->send = dh_ssl_send;
        c->send_chain = dh_ssl_send_chain;
        c->sendfile = 0;

        return DH_OK;
    }

    sslerr = SSL_get_error(sc->connection, n);
    err = (sslerr == SSL_ERROR_SYSCALL) ? dh_errno : 0;

    if (sslerr == SSL_ERROR_WANT_READ || sslerr == SSL_ERROR_WANT_WRITE) {
        if (sslerr == SSL_ERROR_WANT_READ) {
            c->read->ready = 0;

        } else {
            c->write->ready = 0;
        }

        c->read->handler = dh_ssl_handshake_handler;
        c->write->handler = dh_ssl_handshake_handler;

        return DH_AGAIN;
    }

    c->read->error = 1;
    c->write->error = 1;
    sc->no_send_shutdown = 1;

    dh_metrics_inc(dh_metric_tls_failures, 1);

    if (sc->client && sslerr == SSL_ERROR_SSL) {
        verify = SSL_get_verify_result(sc->connection);

        if (verify != X509_V_OK) {
            dh_log_error(DH_LOG_ERR, c->log, 0,
                         "upstream SSL certificate verify error: (%ld:%s)",
                         verify, X509_verify_cert_error_string(verify));
            ERR_clear_error();
            return DH_ERROR;
        }
    }

    dh_ssl_connection_error(c, sslerr, err, "SSL_do_handshake() failed");

    return DH_ERROR;
}


static void
dh_ssl_handshake_handler(dh_event_t *ev)
{
    dh_int_t              rc;
    dh_connection_t      *c;
    dh_ssl_connection_t  *sc;

    c = ev->data;
    sc = c->ssl;

    if (ev->timedout) {
        dh_log_error(DH_LOG_INFO, c->log, 0, "SSL handshake timed out");
        sc->no_send_shutdown = 1;
        c->timedout = 1;
        sc->handler(c);
        return;
    }

    /* the owner wants the slot back (connections ran out, or the worker
     * is shutting down): a handshake in progress is abandoned */
    if (c->close) {
        sc->no_send_shutdown = 1;
        sc->handler(c);
        return;
    }

    rc = dh_ssl_handshake(c);

    if (rc == DH_AGAIN) {
        return;
    }

    sc->handler(c);
}


ssize_t
dh_ssl_recv(dh_connection_t *c, u_char *buf, size_t size)
{
    int                   n, sslerr;
    dh_err_t              err;
    dh_ssl_connection_t  *sc;

    sc = c->ssl;

    if (c->read->eof) {
        return 0;
    }

    if (c->read->error) {
        return DH_ERROR;
    }

    dh_ssl_clear_error(c->log);

    n = SSL_read(sc->connection, buf, size > INT_MAX ? INT_MAX : (int) size);

    if (n > 0) {
        return n;
    }

    sslerr = SSL_get_error(sc->connection, n);
    err = (sslerr == SSL_ERROR_SYSCALL) ? dh_errno : 0;

    switch (sslerr) {

    case SSL_ERROR_WANT_READ:
        c->read->ready = 0;
        return DH_AGAIN;

    case SSL_ERROR_WANT_WRITE:
        /* a post-handshake message (TLS 1.3 key update) waits for room:
         * the next write event resumes the read through the protocol */
        c->write->ready = 0;
        return DH_AGAIN;

    case SSL_ERROR_ZERO_RETURN:
        c->read->eof = 1;
        return 0;

    default:
        /* SSL_OP_IGNORE_UNEXPECTED_EOF reports a bare TCP close as
         * SSL_ERROR_SSL with "unexpected eof": a close like any other */
        if (sslerr == SSL_ERROR_SSL
            && ERR_GET_REASON(ERR_peek_error())
               == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        {
            ERR_clear_error();
            c->read->eof = 1;
            sc->no_send_shutdown = 1;
            return 0;
        }

        c->read->error = 1;
        sc->no_send_shutdown = 1;
        dh_ssl_connection_error(c, sslerr, err, "SSL_read() failed");
        return DH_ERROR;
    }
}


ssize_t
dh_ssl_send(dh_connection_t *c, u_char *buf, size_t size)
{
    int                   n, sslerr;
    dh_err_t              err;
    dh_ssl_connection_t  *sc;

    sc = c->ssl;

    dh_ssl_clear_error(c->log);

    if (size == 0) {
        return 0;
    }

    n = SSL_write(sc->connection, buf, size > INT_MAX ? INT_MAX : (int) size);

    if (n > 0) {
        sc->pending = 0;
        return n;
    }

    sslerr = SSL_get_error(sc->connection, n);
    err = (sslerr == SSL_ERROR_SYSCALL) ? dh_errno : 0;

    if (sslerr == SSL_ERROR_WANT_WRITE || sslerr == SSL_ERROR_WANT_READ) {
        c->write->ready = 0;
        return DH_AGAIN;
    }

    c->write->error = 1;
    sc->no_send_shutdown = 1;
    dh_ssl_connection_error(c, sslerr, err, "SSL_write() failed");

    return DH_ERROR;
}


/*
 * Copies up to size bytes from the chain (memory and file buffers) into
 * buf without advancing the chain.  Returns the byte count, or
 * (size_t) -1 when a file read failed.
 */
static size_t
dh_ssl_fill(dh_connection_t *c, dh_chain_t *in, u_char *buf, size_t size)
{
    off_t     len;
    size_t    n;
    ssize_t   rd;
    dh_buf_t *b;

    n = 0;

    for ( /* void */ ; in && n < size; in = in->next) {
        b = in->buf;

        if (dh_buf_special(b)) {
            continue;
        }

        if (dh_buf_in_memory(b)) {
            len = b->last - b->pos;
            if ((size_t) len > size - n) {
                len = size - n;
            }

            dh_memcpy(buf + n, b->pos, (size_t) len);
            n += (size_t) len;
            continue;
        }

        if (b->in_file) {
            len = b->file_last - b->file_pos;
            if (len > (off_t) (size - n)) {
                len = size - n;
            }

            rd = dh_read_file(b->file, buf + n, (size_t) len, b->file_pos);
            if (rd != (ssize_t) len) {
                dh_log_error(DH_LOG_CRIT, c->log, dh_errno,
                             "read of \"%s\" for TLS failed",
                             b->file->name.data);
                return (size_t) -1;
            }

            n += (size_t) len;
        }
    }

    return n;
}


dh_chain_t *
dh_ssl_send_chain(dh_connection_t *c, dh_chain_t *in, off_t limit)
{
    off_t                 sent;
    size_t                size;
    ssize_t               n;
    dh_ssl_connection_t  *sc;

    sc = c->ssl;

    if (!c->write->ready) {
        return in;
    }

    if (sc->buf == NULL) {
        sc->buf = dh_palloc(c->pool, DH_SSL_BUFSIZE);
        if (sc->buf == NULL) {
            return DH_CHAIN_ERROR;
        }
    }

    if (limit == 0 || limit > (off_t) (INT_MAX - DH_SSL_BUFSIZE)) {
        limit = INT_MAX - DH_SSL_BUFSIZE;
    }

    sent = 0;

    for ( ;; ) {
        while (in && dh_buf_size(in->buf) == 0) {
            in = in->next;
        }

        if (in == NULL || sent >= limit) {
            return in;
        }

        /* a retried write must offer the same bytes again */
        size = sc->pending ? sc->pending : DH_SSL_BUFSIZE;

        if ((off_t) size > limit - sent && sc->pending == 0) {
            size = (size_t) (limit - sent);
        }

        size = dh_ssl_fill(c, in, sc->buf, size);

        if (size == (size_t) -1) {
            return DH_CHAIN_ERROR;
        }

        if (size == 0) {
            return in;
        }

        n = dh_ssl_send(c, sc->buf, size);

        if (n == DH_ERROR) {
            return DH_CHAIN_ERROR;
        }

        if (n == DH_AGAIN) {
            sc->pending = size;
            return in;
        }

        sent += n;
        c->sent += n;

        in = dh_chain_update_sent(in, n);
    }
}


void
dh_ssl_shutdown(dh_connection_t *c)
{
    int                   mode;
    dh_ssl_connection_t  *sc;

    sc = c->ssl;

    if (sc == NULL) {
        return;
    }

    dh_ssl_clear_error(c->log);

    if (sc->no_send_shutdown || !sc->handshaked || c->timedout || c->error) {
        SSL_set_quiet_shutdown(sc->connection, 1);

    } else {
        /* close_notify once; the peer's is not waited for */
        mode = SSL_get_shutdown(sc->connection) | SSL_RECEIVED_SHUTDOWN;
        SSL_set_shutdown(sc->connection, mode);

        if (SSL_shutdown(sc->connection) < 0) {
            ERR_clear_error();
        }
    }

    SSL_free(sc->connection);
    sc->connection = NULL;

    c->recv = sc->saved_recv;
    c->send = sc->saved_send;
    c->send_chain = sc->saved_send_chain;
    c->ssl = NULL;
}


static void
dh_ssl_connection_error(dh_connection_t *c, int sslerr, dh_err_t err,
    char *text)
{
    dh_uint_t  level;

    /* failures the client causes (bad hello, reset, wrong protocol) are
     * info: they say nothing about the server */
    level = DH_LOG_INFO;

    if (sslerr == SSL_ERROR_SYSCALL && err == 0 && ERR_peek_error() == 0) {
        dh_log_error(level, c->log, 0, "%s: peer closed connection", text);
        return;
    }

    if (c->ssl && ((dh_ssl_connection_t *) c->ssl)->client) {
        level = DH_LOG_ERR;
    }

    dh_ssl_error(level, c->log, err, "%s (SSL error %d)", text, sslerr);
}


void
dh_ssl_error(dh_uint_t level, dh_log_t *log, dh_err_t err, char *fmt, ...)
{
    int            flags;
    u_long         n;
    va_list        args;
    u_char        *p, *last;
    const char    *data;
    u_char         errstr[DH_MAX_ERROR_STR];

    last = errstr + DH_MAX_ERROR_STR;

    va_start(args, fmt);
    p = dh_vslprintf(errstr, last - 1, fmt, args);
    va_end(args);

    if (ERR_peek_error()) {
        p = dh_cpystrn(p, (u_char *) " (SSL:", last - p);

        for ( ;; ) {
            n = ERR_peek_error_data(&data, &flags);
            if (n == 0) {
                break;
            }

            if (p < last - 1) {
                *p++ = ' ';
                ERR_error_string_n(n, (char *) p, last - p);
                while (p < last && *p) {
                    p++;
                }

                if (*data && (flags & ERR_TXT_STRING) && p < last - 1) {
                    p = dh_slprintf(p, last - 1, ":%s", data);
                }
            }

            (void) ERR_get_error();
        }

        if (p < last - 1) {
            *p++ = ')';
        }
    }

    if (level > log->log_level) {
        return;
    }

    dh_log_error_core(level, log, err, "%.*s", (int) (p - errstr), errstr);
}


static void
dh_ssl_clear_error(dh_log_t *log)
{
    while (ERR_peek_error()) {
        dh_ssl_error(DH_LOG_ALERT, log, 0, "ignoring stale global SSL error");
    }

    ERR_clear_error();
}

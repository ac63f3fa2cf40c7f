/*
 * Client certificates (ssl_verify_client, ssl_client_certificate,
 * ssl_verify_depth) and the TLS variables of dh_http_ssl_module.
 *
 * As in nginx, the handshake never fails because of the client's
 * certificate: OpenSSL records the verification result and the request is
 * answered 400 "The SSL certificate error" or "No required SSL certificate
 * was sent" once it has been read, so the client gets an HTTP answer it
 * can show instead of a bare TLS alert.  The check uses the server the
 * request's Host selected, and fails closed when that server asks for more
 * than the handshake did (another SNI name, or a resumed session).
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"
#include "dh_http_ssl_verify.h"


dh_conf_enum_t  dh_http_ssl_verify_modes[] = {
    { dh_string("off"), DH_HTTP_SSL_VERIFY_OFF },
    { dh_string("on"), DH_HTTP_SSL_VERIFY_ON },
    { dh_string("optional"), DH_HTTP_SSL_VERIFY_OPTIONAL },
    { dh_string("optional_no_ca"), DH_HTTP_SSL_VERIFY_OPTIONAL_NO_CA },
    { dh_null_string, 0 }
};


/* the result is kept for the request to judge */
static int
dh_http_ssl_verify_callback(int ok, X509_STORE_CTX *x509_store)
{
    return 1;
}


dh_int_t
dh_http_ssl_verify_setup(dh_conf_t *cf, SSL_CTX *ctx, dh_uint_t verify,
    dh_str_t *ca, dh_uint_t depth)
{
    STACK_OF(X509_NAME)  *names;

    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, dh_http_ssl_verify_callback);
    SSL_CTX_set_verify_depth(ctx, (int) depth);

    if (ca->len == 0) {
        return DH_OK;
    }

    if (SSL_CTX_load_verify_locations(ctx, (char *) ca->data, NULL) != 1) {
        dh_ssl_error(DH_LOG_EMERG, cf->log, 0,
                     "SSL_CTX_load_verify_locations(\"%s\") failed",
                     (char *) ca->data);
        return DH_ERROR;
    }

    /* the CA names go to the client, so it can pick a certificate */
    names = SSL_load_client_CA_file((char *) ca->data);

    if (names == NULL) {
        dh_ssl_error(DH_LOG_EMERG, cf->log, 0,
                     "SSL_load_client_CA_file(\"%s\") failed",
                     (char *) ca->data);
        return DH_ERROR;
    }

    SSL_CTX_set_client_CA_list(ctx, names);

    return DH_OK;
}


static X509 *
dh_http_ssl_peer_certificate(SSL *ssl)
{
#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
    return SSL_get1_peer_certificate(ssl);
#else
    return SSL_get_peer_certificate(ssl);
#endif
}


/* errors optional_no_ca accepts: the chain, not the certificate, is the
 * problem */
static dh_uint_t
dh_http_ssl_no_ca_error(long rc)
{
    return rc == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
           || rc == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
           || rc == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
           || rc == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
           || rc == X509_V_ERR_CERT_UNTRUSTED
           || rc == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
}


dh_int_t
dh_http_ssl_check_client(dh_http_request_t *r, dh_uint_t verify)
{
    SSL   *ssl;
    long   rc;
    X509  *cert;

    if (verify == DH_HTTP_SSL_VERIFY_OFF) {
        return DH_OK;
    }

    ssl = ((dh_ssl_connection_t *) r->connection->ssl)->connection;
    cert = dh_http_ssl_peer_certificate(ssl);

    if (cert == NULL) {
        if (verify != DH_HTTP_SSL_VERIFY_ON) {
            return DH_OK;
        }

        dh_log_error(DH_LOG_INFO, r->connection->log, 0,
                     "client sent no required SSL certificate");
        return DH_HTTP_CLIENT_NO_CERT;
    }

    X509_free(cert);

    rc = SSL_get_verify_result(ssl);

    if (rc != X509_V_OK
        && (verify != DH_HTTP_SSL_VERIFY_OPTIONAL_NO_CA
            || !dh_http_ssl_no_ca_error(rc)))
    {
        dh_log_error(DH_LOG_INFO, r->connection->log, 0,
                     "client SSL certificate verify error: (%ld:%s)",
                     rc, X509_verify_cert_error_string(rc));
        return DH_HTTP_CLIENT_CERT_ERROR;
    }

    return DH_OK;
}


/* ---- variables -------------------------------------------------------- */

#define DH_HTTP_SSL_VAR_PROTOCOL     0
#define DH_HTTP_SSL_VAR_CIPHER       1
#define DH_HTTP_SSL_VAR_REUSED       2
#define DH_HTTP_SSL_VAR_VERIFY       3
#define DH_HTTP_SSL_VAR_S_DN         4
#define DH_HTTP_SSL_VAR_I_DN         5
#define DH_HTTP_SSL_VAR_SERIAL       6
#define DH_HTTP_SSL_VAR_FINGERPRINT  7


static void
dh_http_ssl_var_value(dh_http_variable_value_t *v, u_char *data, size_t len)
{
    v->data = data;
    v->len = len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
}


/* Copies what was printed into a memory BIO to the pool. */
static dh_int_t
dh_http_ssl_var_bio(dh_http_request_t *r, dh_http_variable_value_t *v,
    BIO *bio)
{
    u_char  *p;
    long     len;
    char    *data;

    len = BIO_get_mem_data(bio, &data);

    p = dh_pnalloc(r->pool, len > 0 ? (size_t) len : 1);
    if (p == NULL) {
        return DH_ERROR;
    }

    if (len > 0) {
        dh_memcpy(p, data, len);
    }

    dh_http_ssl_var_value(v, p, len > 0 ? (size_t) len : 0);

    return DH_OK;
}


static dh_int_t
dh_http_ssl_var_verify(dh_http_request_t *r, dh_http_variable_value_t *v,
    SSL *ssl, X509 *cert)
{
    long         rc;
    const char  *err;
    dh_str_t    *s;

    if (cert == NULL) {
        dh_http_ssl_var_value(v, (u_char *) "NONE", 4);
        return DH_OK;
    }

    rc = SSL_get_verify_result(ssl);

    if (rc == X509_V_OK) {
        dh_http_ssl_var_value(v, (u_char *) "SUCCESS", 7);
        return DH_OK;
    }

    err = X509_verify_cert_error_string(rc);

    s = dh_psprintf(r->pool, "FAILED:%s", err);
    if (s == NULL) {
        return DH_ERROR;
    }

    dh_http_ssl_var_value(v, s->data, s->len);

    return DH_OK;
}


static dh_int_t
dh_http_ssl_var_fingerprint(dh_http_request_t *r, dh_http_variable_value_t *v,
    X509 *cert)
{
    u_char        *p;
    unsigned int   i, len;
    u_char         md[EVP_MAX_MD_SIZE];
    static u_char  hex[] = "0123456789abcdef";

    if (X509_digest(cert, EVP_sha1(), md, &len) != 1) {
        return DH_ERROR;
    }

    p = dh_pnalloc(r->pool, 2 * len);
    if (p == NULL) {
        return DH_ERROR;
    }

    for (i = 0; i < len; i++) {
        p[2 * i] = hex[md[i] >> 4];
        p[2 * i + 1] = hex[md[i] & 0xf];
    }

    dh_http_ssl_var_value(v, p, 2 * len);

    return DH_OK;
}


/* the variables that describe the client's certificate */
static dh_int_t
dh_http_ssl_var_cert(dh_http_request_t *r, dh_http_variable_value_t *v,
    SSL *ssl, uintptr_t which)
{
    BIO       *bio;
    X509      *cert;
    dh_int_t   rc;

    cert = dh_http_ssl_peer_certificate(ssl);

    if (which == DH_HTTP_SSL_VAR_VERIFY) {
        rc = dh_http_ssl_var_verify(r, v, ssl, cert);
        X509_free(cert);
        return rc;
    }

    if (cert == NULL) {
        return DH_DECLINED;             /* not found */
    }

    if (which == DH_HTTP_SSL_VAR_FINGERPRINT) {
        rc = dh_http_ssl_var_fingerprint(r, v, cert);
        X509_free(cert);
        return rc;
    }

    bio = BIO_new(BIO_s_mem());
    if (bio == NULL) {
        X509_free(cert);
        return DH_ERROR;
    }

    switch (which) {
    case DH_HTTP_SSL_VAR_S_DN:
        rc = X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
                                XN_FLAG_RFC2253) < 0;
        break;
    case DH_HTTP_SSL_VAR_I_DN:
        rc = X509_NAME_print_ex(bio, X509_get_issuer_name(cert), 0,
                                XN_FLAG_RFC2253) < 0;
        break;
    default:    /* serial */
        rc = i2a_ASN1_INTEGER(bio, X509_get_serialNumber(cert)) < 0;
        break;
    }

    if (rc == 0) {
        rc = dh_http_ssl_var_bio(r, v, bio);
    } else {
        rc = DH_ERROR;
    }

    BIO_free(bio);
    X509_free(cert);

    return rc;
}


static dh_int_t
dh_http_ssl_var(dh_http_request_t *r, dh_http_variable_value_t *v,
    uintptr_t which)
{
    SSL         *ssl;
    const char  *s;

    if (r->connection->ssl == NULL) {
        return DH_DECLINED;             /* not found */
    }

    ssl = ((dh_ssl_connection_t *) r->connection->ssl)->connection;

    switch (which) {

    case DH_HTTP_SSL_VAR_PROTOCOL:
        s = SSL_get_version(ssl);
        break;

    case DH_HTTP_SSL_VAR_CIPHER:
        s = SSL_get_cipher_name(ssl);
        break;

    case DH_HTTP_SSL_VAR_REUSED:
        s = SSL_session_reused(ssl) ? "r" : ".";
        break;

    default:
        return dh_http_ssl_var_cert(r, v, ssl, which);
    }

    if (s == NULL) {
        return DH_DECLINED;             /* not found */
    }

    dh_http_ssl_var_value(v, (u_char *) s, dh_strlen(s));

    return DH_OK;
}


dh_int_t
dh_http_ssl_add_variables(dh_conf_t *cf)
{
    dh_uint_t            i;
    dh_http_variable_t  *var;

    static dh_str_t  names[] = {
        dh_string("ssl_protocol"),
        dh_string("ssl_cipher"),
        dh_string("ssl_session_reused"),
        dh_string("ssl_client_verify"),
        dh_string("ssl_client_s_dn"),
        dh_string("ssl_client_i_dn"),
        dh_string("ssl_client_serial"),
        dh_string("ssl_client_fingerprint"),
    };

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        var = dh_http_add_variable(cf, &names[i], DH_HTTP_VAR_CHANGEABLE);
        if (var == NULL) {
            return DH_ERROR;
        }

        var->get_handler = dh_http_ssl_var;
        var->data = i;
    }

    return DH_OK;
}

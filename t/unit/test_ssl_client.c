/*
 * The client side of the TLS layer against `openssl s_server`: a client
 * context that verifies with a CA file, SNI and host-name checks, the
 * non-blocking handshake driven through the connection's event handlers
 * up to the completion callback, a request and its answer, and the
 * failures: wrong host name, CA not trusted, and verification off.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_event.h"

#include "t/unit/dh_tap.h"

#if (DH_HAVE_OPENSSL)

#include "dh_event_openssl.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>


static char         dir[] = "/tmp/dh-ssl-client-XXXXXX";
static pid_t        server_pid;
static int          port;
static dh_uint_t    done_calls;


static int
sh(const char *fmt, const char *arg)
{
    char  cmd[1024];

    snprintf(cmd, sizeof(cmd), fmt, arg, arg, arg, arg, arg, arg);

    return system(cmd);
}


static int
free_port(void)
{
    int                 s, p;
    socklen_t           len;
    struct sockaddr_in  sin;

    s = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(sin);

    if (bind(s, (struct sockaddr *) &sin, len) == -1
        || getsockname(s, (struct sockaddr *) &sin, &len) == -1)
    {
        close(s);
        return -1;
    }

    p = ntohs(sin.sin_port);
    close(s);

    return p;
}


static int
connect_server(void)
{
    int                 s;
    struct sockaddr_in  sin;

    s = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    if (connect(s, (struct sockaddr *) &sin, sizeof(sin)) == -1) {
        close(s);
        return -1;
    }

    return s;
}


static int
start_server(void)
{
    int   i, s;
    char  accept[16], cert[128], key[128];

    port = free_port();
    snprintf(accept, sizeof(accept), "%d", port);
    snprintf(cert, sizeof(cert), "%s/server.crt", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);

    server_pid = fork();
    if (server_pid == 0) {
        freopen("/dev/null", "r", stdin);
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execlp("openssl", "openssl", "s_server", "-quiet", "-www",
               "-accept", accept, "-cert", cert, "-key", key, (char *) NULL);
        _exit(127);
    }

    for (i = 0; i < 3000; i++) {
        s = connect_server();
        if (s != -1) {
            close(s);
            return 0;
        }

        usleep(10000);
    }

    return -1;
}


static void
handshake_done(dh_connection_t *c)
{
    done_calls++;
}


/* Drives the handshake the way the event loop would: poll for what
 * OpenSSL waits for, then call the connection's event handler. */
static dh_int_t
handshake(dh_connection_t *c)
{
    int                   i;
    dh_int_t              rc;
    struct pollfd         pfd;
    dh_ssl_connection_t  *sc;

    sc = c->ssl;
    sc->handler = handshake_done;
    done_calls = 0;

    rc = dh_ssl_handshake(c);
    if (rc != DH_AGAIN) {
        /* finished at once (the server answered fast): by the API the
         * handler is only called for a handshake that had to wait, so
         * count this as the one completion */
        done_calls = 1;
        return rc;
    }

    for (i = 0; i < 3000 && done_calls == 0; i++) {
        pfd.fd = c->fd;
        pfd.events = c->read->ready ? POLLOUT : POLLIN;
        pfd.revents = 0;

        if (poll(&pfd, 1, 20) > 0) {
            c->read->ready = 1;
            c->write->ready = 1;
            c->read->handler(c->read);
        }
    }

    if (done_calls != 1) {
        return DH_AGAIN;
    }

    return sc->handshaked ? DH_OK : DH_ERROR;
}


static dh_connection_t *
new_connection(dh_pool_t *pool, dh_log_t *log)
{
    int               fd;
    dh_event_t       *rev, *wev;
    dh_connection_t  *c;

    fd = connect_server();
    if (fd == -1) {
        return NULL;
    }

    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

    c = dh_pcalloc(pool, sizeof(dh_connection_t));
    rev = dh_pcalloc(pool, sizeof(dh_event_t));
    wev = dh_pcalloc(pool, sizeof(dh_event_t));

    rev->data = c;
    wev->data = c;
    wev->write = 1;
    rev->ready = 1;
    wev->ready = 1;
    rev->log = log;
    wev->log = log;

    c->fd = fd;
    c->read = rev;
    c->write = wev;
    c->pool = pool;
    c->log = log;
    c->recv = dh_unix_recv;
    c->send = dh_unix_send;
    c->send_chain = dh_writev_chain;

    return c;
}


static void
close_connection(dh_connection_t *c)
{
    dh_ssl_shutdown(c);
    close(c->fd);
}


/* A request over TLS; returns what was read until the server closed. */
static size_t
request(dh_connection_t *c, u_char *buf, size_t size)
{
    int            i;
    size_t         n;
    ssize_t        rc;
    struct pollfd  pfd;
    static char    req[] = "GET / HTTP/1.0\r\n\r\n";

    if (c->send(c, (u_char *) req, sizeof(req) - 1)
        != (ssize_t) sizeof(req) - 1)
    {
        return 0;
    }

    n = 0;

    for (i = 0; i < 3000 && n < size - 1; i++) {
        rc = c->recv(c, buf + n, size - 1 - n);

        if (rc == 0 || rc == DH_ERROR) {
            break;
        }

        if (rc == DH_AGAIN) {
            pfd.fd = c->fd;
            pfd.events = POLLIN;
            poll(&pfd, 1, 20);
            c->read->ready = 1;
            continue;
        }

        n += rc;
    }

    buf[n] = '\0';

    return n;
}


int
main(void)
{
    int               ok_certs;
    char              ca[128];
    u_char            buf[8192];
    dh_log_t          log;
    dh_str_t          name, file;
    dh_ssl_t          verified, untrusted, unverified;
    dh_pool_t        *pool;
    dh_connection_t  *c;

    signal(SIGPIPE, SIG_IGN);

    if (system("openssl version >/dev/null 2>&1") != 0
        || mkdtemp(dir) == NULL)
    {
        printf("1..0 # SKIP no openssl command\n");
        return 0;
    }

    ok_certs = sh("cd %s && openssl req -x509 -newkey rsa:2048 -nodes"
                  " -days 2 -subj /CN=TestCA -keyout ca.key -out ca.crt"
                  " >/dev/null 2>&1"
                  " && printf 'subjectAltName=DNS:localhost\\n' >ext"
                  " && openssl req -newkey rsa:2048 -nodes -subj"
                  " /CN=localhost -keyout server.key -out server.csr"
                  " >/dev/null 2>&1"
                  " && openssl x509 -req -in server.csr -CA ca.crt"
                  " -CAkey ca.key -CAcreateserial -days 2 -extfile ext"
                  " -out server.crt >/dev/null 2>&1", dir);

    if (ok_certs != 0 || start_server() != 0) {
        sh("rm -rf %s", dir);
        printf("1..0 # SKIP cannot run openssl s_server\n");
        return 0;
    }

    /* log_level 0: silent (the failures below are expected) */
    dh_memzero(&log, sizeof(dh_log_t));

    pool = dh_create_pool(16384, &log);

    ok(dh_ssl_init(&log) == DH_OK, "dh_ssl_init");

    snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
    file.data = (u_char *) ca;
    file.len = strlen(ca);

    verified.log = &log;
    ok(dh_ssl_create_client_ctx(&verified, &file, 1, pool) == DH_OK,
       "client context with a CA file");

    /* the right name: verified, and a request goes through */
    c = new_connection(pool, &log);
    ok(c != NULL, "connected to s_server");

    name.data = (u_char *) "localhost";
    name.len = 9;

    ok(dh_ssl_create_connection(&verified, c, 1) == DH_OK,
       "client SSL object");
    ok(dh_ssl_set_host(c, &name) == DH_OK, "SNI and host name set");
    is_int(handshake(c), DH_OK, "handshake with verification succeeds");
    is_int(done_calls, 1, "completion callback called once");
    ok(c->recv == dh_ssl_recv && c->send_chain == dh_ssl_send_chain,
       "connection I/O switched to TLS");
    ok(strcmp(SSL_get_servername(((dh_ssl_connection_t *) c->ssl)
                                 ->connection, TLSEXT_NAMETYPE_host_name),
              "localhost") == 0,
       "SNI sent");

    request(c, buf, sizeof(buf));
    ok(strncmp((char *) buf, "HTTP/1.0 200 ok", 15) == 0,
       "request answered over TLS");

    close_connection(c);
    ok(c->ssl == NULL && c->recv == dh_unix_recv, "shutdown restores I/O");

    /* another name than the certificate's: refused */
    c = new_connection(pool, &log);
    name.data = (u_char *) "wrong.example";
    name.len = 13;
    dh_ssl_create_connection(&verified, c, 1);
    dh_ssl_set_host(c, &name);
    is_int(handshake(c), DH_ERROR, "wrong host name: handshake fails");
    close_connection(c);

    /* the system CA store does not know our CA */
    untrusted.log = &log;
    ok(dh_ssl_create_client_ctx(&untrusted, NULL, 1, pool) == DH_OK,
       "client context with the default CA paths");

    c = new_connection(pool, &log);
    name.data = (u_char *) "localhost";
    name.len = 9;
    dh_ssl_create_connection(&untrusted, c, 1);
    dh_ssl_set_host(c, &name);
    is_int(handshake(c), DH_ERROR, "untrusted CA: handshake fails");
    close_connection(c);

    /* verification off: any certificate does */
    unverified.log = &log;
    ok(dh_ssl_create_client_ctx(&unverified, NULL, 0, pool) == DH_OK,
       "client context without verification");

    c = new_connection(pool, &log);
    dh_ssl_create_connection(&unverified, c, 1);
    is_int(handshake(c), DH_OK, "verification off: handshake succeeds");
    close_connection(c);

    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);

    dh_destroy_pool(pool);
    sh("rm -rf %s", dir);

    return done_testing();
}

#else

int
main(void)
{
    printf("1..0 # SKIP built without OpenSSL\n");

    return 0;
}

#endif

/*
 * Listening sockets.
 *
 * The master binds them while it builds a cycle; workers inherit them
 * through fork().  On reload a new cycle first adopts every old socket
 * whose address is still configured (same fd, so the kernel accept queue
 * is never closed), binds only the new addresses, and closes the old
 * leftovers after it is committed.  A failed reload closes only what it
 * opened and leaves the old sockets as they were.
 */

#include "dh_config.h"
#include "dh_core.h"


#define DH_LISTEN_BACKLOG       511
#define DH_LISTEN_POOL_SIZE     (64 * sizeof(void *))
#define DH_BIND_TRIES           5
#define DH_BIND_RETRY_USEC      500000


static dh_int_t dh_set_addr_text(dh_pool_t *pool, dh_listening_t *ls);
static dh_uint_t dh_sockaddr_is_wildcard(struct sockaddr *sa);
static void dh_adopt_listening_sockets(dh_cycle_t *cycle,
    dh_cycle_t *old_cycle);
static dh_uint_t dh_listening_match(dh_listening_t *nls, dh_listening_t *ols);
static dh_int_t dh_adopt_one(dh_cycle_t *cycle, dh_listening_t *nls,
    dh_listening_t *ols);
static dh_int_t dh_bind_pending(dh_cycle_t *cycle, dh_uint_t *retry);
static dh_int_t dh_open_one(dh_cycle_t *cycle, dh_listening_t *ls,
    dh_uint_t *retry);
static dh_int_t dh_socket_options(dh_listening_t *ls, dh_socket_t s,
    dh_log_t *log);
static dh_int_t dh_learn_port(dh_cycle_t *cycle, dh_listening_t *ls);
static void dh_close_listening(dh_listening_t *ls, dh_log_t *log,
    dh_uint_t unlink_path);


dh_listening_t *
dh_create_listening(dh_conf_t *cf, struct sockaddr *sockaddr,
    socklen_t socklen)
{
    dh_listening_t  *ls;

    if (socklen > sizeof(dh_sockaddr_t)) {
        dh_conf_log_error(DH_LOG_EMERG, cf, 0, "socket address is too long");
        return NULL;
    }

    ls = dh_array_push(&cf->cycle->listening);
    if (ls == NULL) {
        return NULL;
    }

    dh_memzero(ls, sizeof(dh_listening_t));

    dh_memcpy(&ls->sockaddr, sockaddr, socklen);
    ls->socklen = socklen;

    if (dh_set_addr_text(cf->pool, ls) != DH_OK) {
        return NULL;
    }

    ls->fd = -1;
    ls->type = SOCK_STREAM;
    ls->backlog = DH_LISTEN_BACKLOG;
    ls->rcvbuf = -1;
    ls->sndbuf = -1;

    ls->logp = &cf->cycle->new_log;
    ls->pool_size = DH_LISTEN_POOL_SIZE;

    if (sockaddr->sa_family == AF_INET || sockaddr->sa_family == AF_INET6) {
        ls->port_zero = (dh_inet_get_port(sockaddr) == 0);
        ls->wildcard = dh_sockaddr_is_wildcard(sockaddr);
    }

    /* "[::]:80" serves IPv6 only; IPv4 needs its own listen */
    ls->ipv6only = (sockaddr->sa_family == AF_INET6);

    return ls;
}


static dh_int_t
dh_set_addr_text(dh_pool_t *pool, dh_listening_t *ls)
{
    u_char  text[DH_SOCKADDR_STRLEN + 1];
    size_t  len;

    len = dh_sock_ntop(&ls->sockaddr.sockaddr, ls->socklen, text,
                       DH_SOCKADDR_STRLEN, 1);

    ls->addr_text.data = dh_pnalloc(pool, len + 1);
    if (ls->addr_text.data == NULL) {
        return DH_ERROR;
    }

    dh_memcpy(ls->addr_text.data, text, len);
    ls->addr_text.data[len] = '\0';
    ls->addr_text.len = len;

    return DH_OK;
}


static dh_uint_t
dh_sockaddr_is_wildcard(struct sockaddr *sa)
{
    struct sockaddr_in   *sin;
    struct sockaddr_in6  *sin6;

    if (sa->sa_family == AF_INET6) {
        sin6 = (struct sockaddr_in6 *) sa;
        return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
    }

    sin = (struct sockaddr_in *) sa;

    return sin->sin_addr.s_addr == INADDR_ANY;
}


dh_int_t
dh_clone_listening(dh_cycle_t *cycle, dh_listening_t *ls, dh_uint_t workers)
{
#if (DH_HAVE_REUSEPORT)
    dh_uint_t        n;
    dh_listening_t   ols, *nls;

    if (!ls->reuseport || workers < 2) {
        return DH_OK;
    }

    /* pushing may move the array, and `ls` with it */
    ols = *ls;

    for (n = 1; n < workers; n++) {
        nls = dh_array_push(&cycle->listening);
        if (nls == NULL) {
            return DH_ERROR;
        }

        *nls = ols;
        nls->worker = n;
    }
#endif

    return DH_OK;
}


dh_int_t
dh_open_listening_sockets(dh_cycle_t *cycle, dh_cycle_t *old_cycle)
{
    dh_uint_t  tries, retry;

    dh_adopt_listening_sockets(cycle, old_cycle);

    for (tries = DH_BIND_TRIES; tries; tries--) {
        retry = 0;

        if (dh_bind_pending(cycle, &retry) != DH_OK) {
            dh_undo_listening_sockets(cycle);
            return DH_ERROR;
        }

        if (!retry) {
            return DH_OK;
        }

        if (tries > 1) {
            /* an exiting old server may still hold the port */
            dh_log_error(DH_LOG_NOTICE, cycle->log, 0,
                         "try again to bind() after 500ms");
            usleep(DH_BIND_RETRY_USEC);
            dh_time_update();
        }
    }

    dh_log_error(DH_LOG_EMERG, cycle->log, 0, "still could not bind()");

    dh_undo_listening_sockets(cycle);

    return DH_ERROR;
}


static void
dh_adopt_listening_sockets(dh_cycle_t *cycle, dh_cycle_t *old_cycle)
{
    dh_uint_t        i, n;
    dh_listening_t  *ls, *ols;

    ls = cycle->listening.elts;

    for (i = 0; i < cycle->listening.nelts; i++) {
        ls[i].previous = NULL;
        ls[i].open = 0;

        if (old_cycle == NULL || ls[i].fd != -1) {
            continue;
        }

        ols = old_cycle->listening.elts;

        for (n = 0; n < old_cycle->listening.nelts; n++) {
            if (!dh_listening_match(&ls[i], &ols[n])) {
                continue;
            }

            if (dh_adopt_one(cycle, &ls[i], &ols[n]) == DH_OK) {
                break;
            }
        }
    }
}


/* The same address and socket type, the same reuseport clone; a "port 0"
 * listener takes the old port-0 socket of the same address, so its port
 * stays the same across reloads. */
static dh_uint_t
dh_listening_match(dh_listening_t *nls, dh_listening_t *ols)
{
    if (ols->remain || ols->ignore || ols->fd == -1) {
        return 0;
    }

    if (ols->type != nls->type || ols->worker != nls->worker) {
        return 0;
    }

    if (nls->port_zero) {
        return ols->port_zero
               && dh_cmp_sockaddr(&nls->sockaddr.sockaddr, nls->socklen,
                                  &ols->sockaddr.sockaddr, ols->socklen, 0)
                  == DH_OK;
    }

    return dh_cmp_sockaddr(&nls->sockaddr.sockaddr, nls->socklen,
                           &ols->sockaddr.sockaddr, ols->socklen, 1)
           == DH_OK;
}


static dh_int_t
dh_adopt_one(dh_cycle_t *cycle, dh_listening_t *nls, dh_listening_t *ols)
{
    if (nls->port_zero) {
        /* the real port the old socket was given */
        dh_memcpy(&nls->sockaddr, &ols->sockaddr, ols->socklen);
        nls->socklen = ols->socklen;

        if (dh_set_addr_text(cycle->pool, nls) != DH_OK) {
            return DH_ERROR;
        }
    }

    nls->fd = ols->fd;
    nls->previous = ols;
    nls->inherited = ols->inherited;
    nls->bound = 1;
    nls->listen = 1;
    nls->add_reuseport = (nls->reuseport && !ols->reuseport);

    ols->remain = 1;

    return DH_OK;
}


static dh_int_t
dh_bind_pending(dh_cycle_t *cycle, dh_uint_t *retry)
{
    dh_uint_t        i;
    dh_listening_t  *ls;

    ls = cycle->listening.elts;

    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].ignore || ls[i].fd != -1) {
            continue;
        }

        if (dh_open_one(cycle, &ls[i], retry) != DH_OK) {
            return DH_ERROR;
        }
    }

    return DH_OK;
}


/* DH_OK also when the address was busy (*retry set); DH_ERROR for any
 * other failure, which no retry would fix. */
static dh_int_t
dh_open_one(dh_cycle_t *cycle, dh_listening_t *ls, dh_uint_t *retry)
{
    dh_err_t     err;
    dh_socket_t  s;

    s = socket(ls->sockaddr.sockaddr.sa_family,
               ls->type|SOCK_NONBLOCK|SOCK_CLOEXEC, 0);

    if (s == -1) {
        dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                     "socket() %s failed", ls->addr_text.data);
        return DH_ERROR;
    }

    if (dh_socket_options(ls, s, cycle->log) != DH_OK) {
        (void) close(s);
        return DH_ERROR;
    }

    if (bind(s, &ls->sockaddr.sockaddr, ls->socklen) == -1) {
        err = dh_errno;

        dh_log_error(DH_LOG_EMERG, cycle->log, err, "bind() to %s failed",
                     ls->addr_text.data);

        (void) close(s);

        if (err != DH_EADDRINUSE) {
            return DH_ERROR;
        }

        *retry = 1;
        return DH_OK;
    }

    if (listen(s, ls->backlog) == -1) {
        err = dh_errno;

        dh_log_error(DH_LOG_EMERG, cycle->log, err,
                     "listen() to %s, backlog %d failed",
                     ls->addr_text.data, ls->backlog);

        (void) close(s);

        /* reuseport: another socket may have taken the port meanwhile */
        if (err != DH_EADDRINUSE) {
            return DH_ERROR;
        }

        *retry = 1;
        return DH_OK;
    }

    if (ls->sockaddr.sockaddr.sa_family == AF_UNIX
        && chmod(ls->sockaddr.sockaddr_un.sun_path, 0666) == -1)
    {
        /* workers run as another user and clients as anyone */
        dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                     "chmod() \"%s\" failed",
                     ls->sockaddr.sockaddr_un.sun_path);
    }

    ls->fd = s;
    ls->open = 1;
    ls->bound = 1;
    ls->listen = 1;
    ls->nonblocking = 1;

    if (ls->port_zero) {
        return dh_learn_port(cycle, ls);
    }

    return DH_OK;
}


static dh_int_t
dh_socket_options(dh_listening_t *ls, dh_socket_t s, dh_log_t *log)
{
    int  on, family;

    family = ls->sockaddr.sockaddr.sa_family;
    on = 1;

    if (family != AF_UNIX
        && setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(int)) == -1)
    {
        dh_log_error(DH_LOG_EMERG, log, dh_errno,
                     "setsockopt(SO_REUSEADDR) %s failed",
                     ls->addr_text.data);
        return DH_ERROR;
    }

#if (DH_HAVE_REUSEPORT)
    if (ls->reuseport
        && setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(int)) == -1)
    {
        dh_log_error(DH_LOG_EMERG, log, dh_errno,
                     "setsockopt(SO_REUSEPORT) %s failed",
                     ls->addr_text.data);
        return DH_ERROR;
    }
#endif

    if (family == AF_INET6) {
        on = ls->ipv6only;

        if (setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(int))
            == -1)
        {
            dh_log_error(DH_LOG_EMERG, log, dh_errno,
                         "setsockopt(IPV6_V6ONLY) %s failed",
                         ls->addr_text.data);
            return DH_ERROR;
        }
    }

    return DH_OK;
}


/* "listen 127.0.0.1:0": the kernel picked a free port; record it so the
 * log, the protocol and later reloads see the real address. */
static dh_int_t
dh_learn_port(dh_cycle_t *cycle, dh_listening_t *ls)
{
    dh_sockaddr_t  sa;
    socklen_t      len;

    len = sizeof(dh_sockaddr_t);

    if (getsockname(ls->fd, &sa.sockaddr, &len) == -1) {
        dh_log_error(DH_LOG_EMERG, cycle->log, dh_errno,
                     "getsockname() of %s failed", ls->addr_text.data);
        return DH_ERROR;
    }

    dh_memcpy(&ls->sockaddr, &sa, len);
    ls->socklen = len;

    if (dh_set_addr_text(cycle->pool, ls) != DH_OK) {
        return DH_ERROR;
    }

    dh_log_error(DH_LOG_NOTICE, cycle->log, 0, "listening on %s",
                 ls->addr_text.data);

    return DH_OK;
}


void
dh_undo_listening_sockets(dh_cycle_t *cycle)
{
    dh_uint_t        i;
    dh_listening_t  *ls;

    ls = cycle->listening.elts;

    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].previous) {
            /* adopted: it still belongs to the old cycle */
            ls[i].previous->remain = 0;
            ls[i].previous = NULL;
            ls[i].fd = -1;
            continue;
        }

        if (ls[i].open) {
            dh_close_listening(&ls[i], cycle->log, 1);
            ls[i].open = 0;
        }
    }
}


void
dh_configure_listening_sockets(dh_cycle_t *cycle)
{
    int              value;
    dh_uint_t        i;
    dh_listening_t  *ls;

    ls = cycle->listening.elts;

    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].fd == -1) {
            continue;
        }

        if (ls[i].logp) {
            ls[i].log = *ls[i].logp;
        }

        if (ls[i].rcvbuf != -1
            && setsockopt(ls[i].fd, SOL_SOCKET, SO_RCVBUF, &ls[i].rcvbuf,
                          sizeof(int)) == -1)
        {
            dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                         "setsockopt(SO_RCVBUF, %d) %s failed, ignored",
                         ls[i].rcvbuf, ls[i].addr_text.data);
        }

        if (ls[i].sndbuf != -1
            && setsockopt(ls[i].fd, SOL_SOCKET, SO_SNDBUF, &ls[i].sndbuf,
                          sizeof(int)) == -1)
        {
            dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                         "setsockopt(SO_SNDBUF, %d) %s failed, ignored",
                         ls[i].sndbuf, ls[i].addr_text.data);
        }

#if (DH_HAVE_REUSEPORT)
        value = 1;

        /* the old shared socket becomes clone 0 of a reuseport group */
        if (ls[i].add_reuseport
            && setsockopt(ls[i].fd, SOL_SOCKET, SO_REUSEPORT, &value,
                          sizeof(int)) == -1)
        {
            dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                         "setsockopt(SO_REUSEPORT) %s failed, ignored",
                         ls[i].addr_text.data);
        }

        ls[i].add_reuseport = 0;
#endif

        value = ls[i].deferred_accept ? 1 : 0;

        if ((ls[i].deferred_accept
             || (ls[i].previous && ls[i].previous->deferred_accept))
            && setsockopt(ls[i].fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &value,
                          sizeof(int)) == -1)
        {
            dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                         "setsockopt(TCP_DEFER_ACCEPT) %s failed, ignored",
                         ls[i].addr_text.data);
        }

        /* a changed backlog takes effect on a listening socket by calling
         * listen() again; the queue is kept */
        if (ls[i].previous && ls[i].previous->backlog != ls[i].backlog
            && listen(ls[i].fd, ls[i].backlog) == -1)
        {
            dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                         "listen() to %s, backlog %d failed, ignored",
                         ls[i].addr_text.data, ls[i].backlog);
        }
    }
}


void
dh_close_unused_listening_sockets(dh_cycle_t *old_cycle)
{
    dh_uint_t        i;
    dh_listening_t  *ls;

    ls = old_cycle->listening.elts;

    for (i = 0; i < old_cycle->listening.nelts; i++) {
        if (ls[i].remain || ls[i].fd == -1) {
            continue;
        }

        dh_close_listening(&ls[i], old_cycle->log, 1);
    }
}


void
dh_close_listening_sockets(dh_cycle_t *cycle)
{
    dh_uint_t        i, unlink_path;
    dh_listening_t  *ls;

    /* only the process that owns the sockets removes unix socket files;
     * a worker merely drops its copies */
    unlink_path = (dh_process == DH_PROCESS_MASTER
                   || dh_process == DH_PROCESS_SINGLE);

    ls = cycle->listening.elts;

    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].fd == -1) {
            continue;
        }

        dh_close_listening(&ls[i], cycle->log, unlink_path);
    }
}


static void
dh_close_listening(dh_listening_t *ls, dh_log_t *log, dh_uint_t unlink_path)
{
    if (close(ls->fd) == -1) {
        dh_log_error(DH_LOG_EMERG, log, dh_errno,
                     "close() socket %s failed", ls->addr_text.data);
    }

    ls->fd = -1;

    if (unlink_path && !ls->inherited
        && ls->sockaddr.sockaddr.sa_family == AF_UNIX
        && unlink(ls->sockaddr.sockaddr_un.sun_path) == -1
        && dh_errno != DH_ENOENT)
    {
        dh_log_error(DH_LOG_EMERG, log, dh_errno, "unlink() \"%s\" failed",
                     ls->sockaddr.sockaddr_un.sun_path);
    }
}


dh_int_t
dh_add_inherited_sockets(dh_cycle_t *cycle)
{
    char            *env, *p, *end;
    long             fd;
    int              type;
    socklen_t        len;
    dh_listening_t  *ls;

    env = getenv("DIVEHTTPD");
    if (env == NULL) {
        return DH_OK;
    }

    dh_log_error(DH_LOG_NOTICE, cycle->log, 0,
                 "using inherited sockets from \"%s\"", env);

    if (dh_array_init(&cycle->listening, cycle->pool, 10,
                      sizeof(dh_listening_t)) != DH_OK)
    {
        return DH_ERROR;
    }

    for (p = env; *p; p = end + 1) {
        errno = 0;
        fd = strtol(p, &end, 10);

        if (end == p || *end != ';' || errno || fd < 0 || fd > INT_MAX) {
            dh_log_error(DH_LOG_EMERG, cycle->log, 0,
                         "invalid socket number \"%s\" in DIVEHTTPD "
                         "environment variable, ignoring the rest of "
                         "the variable", p);
            break;
        }

        ls = dh_array_push(&cycle->listening);
        if (ls == NULL) {
            return DH_ERROR;
        }

        dh_memzero(ls, sizeof(dh_listening_t));

        ls->fd = (dh_socket_t) fd;
        ls->socklen = sizeof(dh_sockaddr_t);

        len = sizeof(int);

        if (getsockname(ls->fd, &ls->sockaddr.sockaddr, &ls->socklen) == -1
            || getsockopt(ls->fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1)
        {
            dh_log_error(DH_LOG_CRIT, cycle->log, dh_errno,
                         "inherited socket %ld is not a socket, ignored",
                         fd);
            ls->ignore = 1;
            ls->fd = -1;
            continue;
        }

        if (dh_set_addr_text(cycle->pool, ls) != DH_OK) {
            return DH_ERROR;
        }

        /* the parent may have passed them blocking and inheritable */
        if (dh_nonblocking(ls->fd) != DH_OK
            || fcntl(ls->fd, F_SETFD, FD_CLOEXEC) == -1)
        {
            dh_log_error(DH_LOG_ALERT, cycle->log, dh_errno,
                         "fcntl() on inherited socket %s failed",
                         ls->addr_text.data);
        }

        ls->type = type;
        ls->backlog = DH_LISTEN_BACKLOG;
        ls->rcvbuf = -1;
        ls->sndbuf = -1;
        ls->inherited = 1;
        ls->bound = 1;
        ls->listen = 1;

        dh_inherited = 1;
    }

    return DH_OK;
}

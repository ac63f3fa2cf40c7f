#include "dh_config.h"
#include "dh_core.h"


static dh_int_t dh_parse_unix_url(dh_pool_t *pool, dh_url_t *u);
static dh_int_t dh_parse_inet_url(dh_pool_t *pool, dh_url_t *u);
static dh_int_t dh_parse_port(dh_url_t *u, u_char *p, size_t len);
static dh_int_t dh_url_set_numeric(dh_pool_t *pool, dh_url_t *u);
static dh_int_t dh_url_resolve(dh_pool_t *pool, dh_url_t *u);
static dh_int_t dh_url_add_addr(dh_pool_t *pool, dh_url_t *u,
    struct sockaddr *sa, socklen_t socklen);


dh_int_t
dh_parse_url(dh_pool_t *pool, dh_url_t *u)
{
    u->err = NULL;
    u->addrs = NULL;
    u->naddrs = 0;
    u->wildcard = 0;
    u->no_port = 0;

    if (u->url.len == 0) {
        u->err = "no URL";
        return DH_ERROR;
    }

    if (u->url.len >= 5 && dh_strncasecmp(u->url.data, (u_char *) "unix:", 5)
                           == 0)
    {
        return dh_parse_unix_url(pool, u);
    }

    return dh_parse_inet_url(pool, u);
}


static dh_int_t
dh_parse_unix_url(dh_pool_t *pool, dh_url_t *u)
{
    size_t               len;
    u_char              *path;
    struct sockaddr_un  *sun;

    path = u->url.data + 5;
    len = u->url.len - 5;

    if (len == 0) {
        u->err = "no path in the unix domain socket";
        return DH_ERROR;
    }

    if (len >= sizeof(sun->sun_path)) {
        u->err = "too long path in the unix domain socket";
        return DH_ERROR;
    }

    if (memchr(path, '\0', len) != NULL) {
        u->err = "invalid path in the unix domain socket";
        return DH_ERROR;
    }

    u->host.len = len;
    u->host.data = path;
    u->port = 0;
    u->no_port = 1;
    u->family = AF_UNIX;

    dh_memzero(&u->sockaddr, sizeof(dh_sockaddr_t));
    sun = &u->sockaddr.sockaddr_un;
    sun->sun_family = AF_UNIX;
    dh_memcpy(sun->sun_path, path, len);

    u->socklen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len
                              + 1);

    return dh_url_add_addr(pool, u, &u->sockaddr.sockaddr, u->socklen);
}


static dh_uint_t
dh_all_digits(u_char *p, size_t len)
{
    if (len == 0) {
        return 0;
    }

    while (len--) {
        if (*p < '0' || *p > '9') {
            return 0;
        }
        p++;
    }

    return 1;
}


static dh_int_t
dh_parse_inet_url(dh_pool_t *pool, dh_url_t *u)
{
    u_char  *p, *end, *colon, *bracket;

    p = u->url.data;
    end = p + u->url.len;

    u->family = AF_UNSPEC;
    u->port_text.len = 0;
    u->port_text.data = NULL;

    if (*p == '[') {

        bracket = memchr(p, ']', (size_t) (end - p));
        if (bracket == NULL) {
            u->err = "invalid IPv6 address";
            return DH_ERROR;
        }

        u->host.data = p + 1;
        u->host.len = (size_t) (bracket - p - 1);
        u->family = AF_INET6;

        p = bracket + 1;

        if (p < end) {
            if (*p != ':') {
                u->err = "invalid host";
                return DH_ERROR;
            }

            if (dh_parse_port(u, p + 1, (size_t) (end - p - 1)) != DH_OK) {
                return DH_ERROR;
            }

        } else {
            u->no_port = 1;
        }

    } else {

        colon = memchr(p, ':', (size_t) (end - p));

        if (colon != NULL) {
            if (memchr(colon + 1, ':', (size_t) (end - colon - 1)) != NULL) {
                /* a bare IPv6 address is ambiguous with a port */
                u->err = "invalid host";
                return DH_ERROR;
            }

            u->host.data = p;
            u->host.len = (size_t) (colon - p);

            if (dh_parse_port(u, colon + 1, (size_t) (end - colon - 1))
                != DH_OK)
            {
                return DH_ERROR;
            }

        } else if (u->listen && dh_all_digits(p, u->url.len)) {
            /* "80" means every address */
            u->host.data = (u_char *) "*";
            u->host.len = 1;

            if (dh_parse_port(u, p, u->url.len) != DH_OK) {
                return DH_ERROR;
            }

        } else {
            u->host = u->url;
            u->no_port = 1;
        }
    }

    if (u->host.len == 0) {
        u->err = "no host";
        return DH_ERROR;
    }

    if (u->no_port) {
        u->port = u->default_port;

        if (u->default_port) {
            u->no_port = 0;

        } else if (u->listen) {
            u->err = "no port";
            return DH_ERROR;
        }
    }

    if (u->host.len == 1 && u->host.data[0] == '*') {
        if (!u->listen) {
            u->err = "invalid host";
            return DH_ERROR;
        }

        u->wildcard = 1;
        u->family = AF_INET;

        dh_memzero(&u->sockaddr, sizeof(dh_sockaddr_t));
        u->sockaddr.sockaddr_in.sin_family = AF_INET;
        u->sockaddr.sockaddr_in.sin_addr.s_addr = htonl(INADDR_ANY);
        u->sockaddr.sockaddr_in.sin_port = htons(u->port);
        u->socklen = sizeof(struct sockaddr_in);

        return dh_url_add_addr(pool, u, &u->sockaddr.sockaddr, u->socklen);
    }

    switch (dh_url_set_numeric(pool, u)) {
    case DH_OK:
        return DH_OK;
    case DH_DECLINED:
        break;
    default:
        return DH_ERROR;
    }

    if (u->family == AF_INET6) {
        u->err = "invalid IPv6 address";
        return DH_ERROR;
    }

    if (u->no_resolve) {
        return DH_OK;
    }

    return dh_url_resolve(pool, u);
}


static dh_int_t
dh_parse_port(dh_url_t *u, u_char *p, size_t len)
{
    dh_int_t  port;

    port = dh_atoi(p, len);

    /* port 0 asks the kernel for any free port, which only makes sense
     * for a listening socket */
    if (port == DH_ERROR || port > 65535 || (port == 0 && !u->listen)) {
        u->err = "invalid port";
        return DH_ERROR;
    }

    u->port_text.data = p;
    u->port_text.len = len;
    u->port = (in_port_t) port;
    u->no_port = 0;

    return DH_OK;
}


/* DH_OK for a numeric address, DH_DECLINED for a name. */
static dh_int_t
dh_url_set_numeric(dh_pool_t *pool, dh_url_t *u)
{
    char                  host[DH_INET6_ADDRSTRLEN + 1];
    struct sockaddr_in   *sin;
    struct sockaddr_in6  *sin6;

    if (u->host.len > DH_INET6_ADDRSTRLEN) {
        return DH_DECLINED;
    }

    dh_memcpy(host, u->host.data, u->host.len);
    host[u->host.len] = '\0';

    dh_memzero(&u->sockaddr, sizeof(dh_sockaddr_t));

    if (u->family != AF_INET6) {
        sin = &u->sockaddr.sockaddr_in;

        if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
            sin->sin_family = AF_INET;
            sin->sin_port = htons(u->port);
            u->family = AF_INET;
            u->socklen = sizeof(struct sockaddr_in);
            u->wildcard = (sin->sin_addr.s_addr == htonl(INADDR_ANY));

            return dh_url_add_addr(pool, u, &u->sockaddr.sockaddr,
                                   u->socklen);
        }

        return DH_DECLINED;
    }

    sin6 = &u->sockaddr.sockaddr_in6;

    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(u->port);
        u->socklen = sizeof(struct sockaddr_in6);
        u->wildcard = IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);

        return dh_url_add_addr(pool, u, &u->sockaddr.sockaddr, u->socklen);
    }

    return DH_DECLINED;
}


static dh_int_t
dh_url_resolve(dh_pool_t *pool, dh_url_t *u)
{
    char             *host;
    dh_int_t          rc;
    struct addrinfo   hints, *res, *ai;

    host = (char *) dh_pstrdup(pool, &u->host);
    if (host == NULL) {
        u->err = "memory allocation failed";
        return DH_ERROR;
    }

    dh_memzero(&hints, sizeof(struct addrinfo));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;

    if (getaddrinfo(host, NULL, &hints, &res) != 0) {
        u->err = "host not found";
        return DH_ERROR;
    }

    rc = DH_OK;

    /* IPv4 first: a name that has both is usually reached over IPv4 */
    for (ai = res; ai && rc == DH_OK; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            rc = dh_url_add_addr(pool, u, ai->ai_addr, ai->ai_addrlen);
        }
    }

    for (ai = res; ai && rc == DH_OK; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET6) {
            rc = dh_url_add_addr(pool, u, ai->ai_addr, ai->ai_addrlen);
        }
    }

    freeaddrinfo(res);

    if (rc != DH_OK) {
        return DH_ERROR;
    }

    if (u->naddrs == 0) {
        u->err = "host not found";
        return DH_ERROR;
    }

    dh_memcpy(&u->sockaddr, &u->addrs[0].sockaddr, u->addrs[0].socklen);
    u->socklen = u->addrs[0].socklen;
    u->family = u->addrs[0].sockaddr.sockaddr.sa_family;

    return DH_OK;
}


/* Appends an address with u->port set, skipping duplicates (getaddrinfo
 * may list one address once per protocol). */
static dh_int_t
dh_url_add_addr(dh_pool_t *pool, dh_url_t *u, struct sockaddr *sa,
    socklen_t socklen)
{
    u_char     *p, text[DH_SOCKADDR_STRLEN + sizeof(":65535")];
    size_t      len;
    dh_uint_t   i;
    dh_addr_t  *addrs, *a;

    if (socklen > sizeof(dh_sockaddr_t)) {
        u->err = "invalid address";
        return DH_ERROR;
    }

    for (i = 0; i < u->naddrs; i++) {
        if (u->addrs[i].socklen == socklen
            && dh_memcmp(&u->addrs[i].sockaddr, sa, socklen) == 0)
        {
            return DH_OK;
        }
    }

    /* the list is short, so growing it by copying is fine */
    addrs = dh_palloc(pool, (u->naddrs + 1) * sizeof(dh_addr_t));
    if (addrs == NULL) {
        u->err = "memory allocation failed";
        return DH_ERROR;
    }

    if (u->naddrs) {
        dh_memcpy(addrs, u->addrs, u->naddrs * sizeof(dh_addr_t));
    }

    a = &addrs[u->naddrs];
    dh_memzero(a, sizeof(dh_addr_t));
    dh_memcpy(&a->sockaddr, sa, socklen);
    a->socklen = socklen;

    if (sa->sa_family != AF_UNIX) {
        dh_inet_set_port(&a->sockaddr.sockaddr, u->port);
    }

    len = dh_sock_ntop(&a->sockaddr.sockaddr, socklen, text, sizeof(text),
                       1);

    p = dh_pnalloc(pool, len + 1);
    if (p == NULL) {
        u->err = "memory allocation failed";
        return DH_ERROR;
    }

    dh_memcpy(p, text, len);
    p[len] = '\0';

    a->name.len = len;
    a->name.data = p;

    u->addrs = addrs;
    u->naddrs++;

    return DH_OK;
}


size_t
dh_sock_ntop(struct sockaddr *sa, socklen_t socklen, u_char *text,
    size_t len, dh_uint_t port)
{
    int                   n;
    char                  addr[INET6_ADDRSTRLEN];
    size_t                plen;
    struct sockaddr_in   *sin;
    struct sockaddr_in6  *sin6;
    struct sockaddr_un   *sun;

    if (len == 0) {
        return 0;
    }

    switch (sa->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) sa;

        if (inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr)) == NULL) {
            return 0;
        }

        if (port) {
            n = snprintf((char *) text, len, "%s:%u", addr,
                         (unsigned) ntohs(sin->sin_port));
        } else {
            n = snprintf((char *) text, len, "%s", addr);
        }

        break;

    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) sa;

        if (inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr))
            == NULL)
        {
            return 0;
        }

        if (port) {
            n = snprintf((char *) text, len, "[%s]:%u", addr,
                         (unsigned) ntohs(sin6->sin6_port));
        } else {
            n = snprintf((char *) text, len, "%s", addr);
        }

        break;

    case AF_UNIX:
        sun = (struct sockaddr_un *) sa;

        if (socklen <= (socklen_t) offsetof(struct sockaddr_un, sun_path)) {
            n = snprintf((char *) text, len, "unix:");
            break;
        }

        plen = strnlen(sun->sun_path,
                       dh_min((size_t) socklen
                              - offsetof(struct sockaddr_un, sun_path),
                              sizeof(sun->sun_path)));

        n = snprintf((char *) text, len, "unix:%.*s", (int) plen,
                     sun->sun_path);
        break;

    default:
        return 0;
    }

    if (n < 0) {
        return 0;
    }

    return dh_min((size_t) n, len - 1);
}


dh_int_t
dh_cmp_sockaddr(struct sockaddr *sa1, socklen_t slen1,
    struct sockaddr *sa2, socklen_t slen2, dh_uint_t cmp_port)
{
    size_t                len;
    struct sockaddr_in   *sin1, *sin2;
    struct sockaddr_in6  *sin61, *sin62;
    struct sockaddr_un   *saun1, *saun2;

    if (sa1->sa_family != sa2->sa_family) {
        return DH_DECLINED;
    }

    switch (sa1->sa_family) {

    case AF_INET:
        sin1 = (struct sockaddr_in *) sa1;
        sin2 = (struct sockaddr_in *) sa2;

        if (cmp_port && sin1->sin_port != sin2->sin_port) {
            return DH_DECLINED;
        }

        if (sin1->sin_addr.s_addr != sin2->sin_addr.s_addr) {
            return DH_DECLINED;
        }

        return DH_OK;

    case AF_INET6:
        sin61 = (struct sockaddr_in6 *) sa1;
        sin62 = (struct sockaddr_in6 *) sa2;

        if (cmp_port && sin61->sin6_port != sin62->sin6_port) {
            return DH_DECLINED;
        }

        if (dh_memcmp(&sin61->sin6_addr, &sin62->sin6_addr, 16) != 0) {
            return DH_DECLINED;
        }

        return DH_OK;

    case AF_UNIX:
        saun1 = (struct sockaddr_un *) sa1;
        saun2 = (struct sockaddr_un *) sa2;

        if (slen1 != slen2) {
            return DH_DECLINED;
        }

        len = (size_t) slen1 - offsetof(struct sockaddr_un, sun_path);
        len = dh_min(len, sizeof(saun1->sun_path));

        if (dh_memcmp(saun1->sun_path, saun2->sun_path, len) != 0) {
            return DH_DECLINED;
        }

        return DH_OK;
    }

    return DH_DECLINED;
}


in_port_t
dh_inet_get_port(struct sockaddr *sa)
{
    switch (sa->sa_family) {
    case AF_INET:
        return ntohs(((struct sockaddr_in *) sa)->sin_port);
    case AF_INET6:
        return ntohs(((struct sockaddr_in6 *) sa)->sin6_port);
    }

    return 0;
}


void
dh_inet_set_port(struct sockaddr *sa, in_port_t port)
{
    switch (sa->sa_family) {
    case AF_INET:
        ((struct sockaddr_in *) sa)->sin_port = htons(port);
        break;
    case AF_INET6:
        ((struct sockaddr_in6 *) sa)->sin6_port = htons(port);
        break;
    }
}


dh_int_t
dh_ptocidr(dh_str_t *text, dh_cidr_t *cidr)
{
    char        addr[DH_INET6_ADDRSTRLEN + 1];
    u_char     *slash, *mask_bytes, *addr_bytes;
    size_t      alen, nbytes;
    dh_int_t    bits, maxbits, rc;
    dh_uint_t   i;

    slash = memchr(text->data, '/', text->len);
    alen = slash ? (size_t) (slash - text->data) : text->len;

    if (alen == 0 || alen > DH_INET6_ADDRSTRLEN) {
        return DH_ERROR;
    }

    dh_memcpy(addr, text->data, alen);
    addr[alen] = '\0';

    dh_memzero(cidr, sizeof(dh_cidr_t));

    if (inet_pton(AF_INET, addr, &cidr->u.in.addr) == 1) {
        cidr->family = AF_INET;
        maxbits = 32;
        nbytes = 4;
        addr_bytes = (u_char *) &cidr->u.in.addr;
        mask_bytes = (u_char *) &cidr->u.in.mask;

    } else if (inet_pton(AF_INET6, addr, &cidr->u.in6.addr) == 1) {
        cidr->family = AF_INET6;
        maxbits = 128;
        nbytes = 16;
        addr_bytes = cidr->u.in6.addr.s6_addr;
        mask_bytes = cidr->u.in6.mask.s6_addr;

    } else {
        return DH_ERROR;
    }

    if (slash) {
        bits = dh_atoi(slash + 1, text->len - alen - 1);
        if (bits == DH_ERROR || bits > maxbits) {
            return DH_ERROR;
        }

    } else {
        bits = maxbits;
    }

    /* both addresses are kept in network byte order, byte by byte */
    for (i = 0; i < nbytes; i++) {
        if (bits >= 8) {
            mask_bytes[i] = 0xff;
            bits -= 8;

        } else {
            mask_bytes[i] = (u_char) (0xff00 >> bits);
            bits = 0;
        }
    }

    rc = DH_OK;

    for (i = 0; i < nbytes; i++) {
        if (addr_bytes[i] & ~mask_bytes[i]) {
            addr_bytes[i] &= mask_bytes[i];
            rc = DH_DONE;
        }
    }

    return rc;
}


static dh_int_t
dh_cidr_match_bytes(const u_char *addr, const u_char *net,
    const u_char *mask, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if ((addr[i] & mask[i]) != net[i]) {
            return DH_DECLINED;
        }
    }

    return DH_OK;
}


/* DH_OK when sa lies inside cidr, DH_DECLINED otherwise.  An IPv4-mapped
 * IPv6 client (::ffff:a.b.c.d) matches IPv4 rules. */
dh_int_t
dh_cidr_match(struct sockaddr *sa, dh_cidr_t *cidr)
{
    const u_char         *v6;
    struct sockaddr_in   *sin;
    struct sockaddr_in6  *sin6;

    switch (sa->sa_family) {

    case AF_INET:
        if (cidr->family != AF_INET) {
            return DH_DECLINED;
        }

        sin = (struct sockaddr_in *) sa;

        return ((sin->sin_addr.s_addr & cidr->u.in.mask) == cidr->u.in.addr)
               ? DH_OK : DH_DECLINED;

    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) sa;
        v6 = sin6->sin6_addr.s6_addr;

        if (cidr->family == AF_INET6) {
            return dh_cidr_match_bytes(v6, cidr->u.in6.addr.s6_addr,
                                       cidr->u.in6.mask.s6_addr, 16);
        }

        if (cidr->family == AF_INET && IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
        {
            return dh_cidr_match_bytes(v6 + 12,
                                       (u_char *) &cidr->u.in.addr,
                                       (u_char *) &cidr->u.in.mask, 4);
        }

        return DH_DECLINED;
    }

    return DH_DECLINED;
}

/*
 * Socket addresses: parsing "host:port", "[::1]:80", "*:80", "unix:/path"
 * from configuration, and printing them.
 */

#ifndef DH_INET_H
#define DH_INET_H

#include "dh_core.h"

#define DH_SOCKADDR_STRLEN                                                    \
    (sizeof("unix:") - 1 + sizeof(((struct sockaddr_un *) 0)->sun_path))
#define DH_INET_ADDRSTRLEN   (sizeof("255.255.255.255") - 1)
#define DH_INET6_ADDRSTRLEN                                                   \
    (sizeof("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255") - 1)

typedef union {
    struct sockaddr           sockaddr;
    struct sockaddr_in        sockaddr_in;
    struct sockaddr_in6       sockaddr_in6;
    struct sockaddr_un        sockaddr_un;
} dh_sockaddr_t;

typedef struct {
    dh_sockaddr_t     sockaddr;
    socklen_t         socklen;
    dh_str_t          name;         /* as written, for messages */
} dh_addr_t;

typedef struct {
    dh_str_t          url;          /* input */
    dh_str_t          host;
    dh_str_t          port_text;
    in_port_t         port;
    in_port_t         default_port;
    int               family;

    unsigned          listen:1;     /* "*:80", "80" allowed */
    unsigned          no_resolve:1;
    unsigned          no_port:1;
    unsigned          wildcard:1;

    socklen_t         socklen;
    dh_sockaddr_t     sockaddr;

    dh_addr_t        *addrs;
    dh_uint_t         naddrs;

    char             *err;          /* set on DH_ERROR: what was wrong */
} dh_url_t;

/* Parses u->url; resolves names with getaddrinfo() unless no_resolve.
 * Only call at configuration time: resolving blocks.
 * Forms: "host:port", "port" and "*:port" (listen only: wildcard),
 * "[v6]:port", "unix:/path"; without a port default_port is used (an
 * error for listen when it is 0).  Port 0 is accepted only for listen.
 * Fills addrs (IPv4 first, names "1.2.3.4:80" / "[::1]:80") and sockaddr
 * (the first address).  On DH_ERROR u->err says why: "invalid port",
 * "no host", "invalid host", "invalid IPv6 address", "host not found",
 * "no port", "no path in the unix domain socket", ... */
dh_int_t dh_parse_url(dh_pool_t *pool, dh_url_t *u);

/* Prints "1.2.3.4:80", "[::1]:80" (or without port: "::1"), "unix:/p";
 * NUL-terminates within len and returns the length without the NUL. */
size_t dh_sock_ntop(struct sockaddr *sa, socklen_t socklen, u_char *text,
    size_t len, dh_uint_t port);
/* DH_OK when equal, DH_DECLINED otherwise. */
dh_int_t dh_cmp_sockaddr(struct sockaddr *sa1, socklen_t slen1,
    struct sockaddr *sa2, socklen_t slen2, dh_uint_t cmp_port);
/* ports in host byte order */
in_port_t dh_inet_get_port(struct sockaddr *sa);
void dh_inet_set_port(struct sockaddr *sa, in_port_t port);

/* CIDR matching for allow/deny. */
typedef struct {
    int               family;
    union {
        struct { in_addr_t addr, mask; } in;
        struct { struct in6_addr addr, mask; } in6;
    } u;
} dh_cidr_t;

/* "addr" or "addr/bits", v4 or v6; addr and mask in network order.
 * DH_DONE: host bits were set (and have been masked off); DH_ERROR. */
dh_int_t dh_ptocidr(dh_str_t *text, dh_cidr_t *cidr);
/* DH_OK when sa is inside (a v4-mapped v6 address matches v4 rules),
 * DH_DECLINED otherwise. */
dh_int_t dh_cidr_match(struct sockaddr *sa, dh_cidr_t *cidr);

#endif /* DH_INET_H */

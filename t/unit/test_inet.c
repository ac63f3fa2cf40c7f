/*
 * Address parsing ("host:port", "port", "*:port", "[v6]:port",
 * "unix:/path"), its errors, printing, comparing, and CIDR matching.
 */

#include "dh_config.h"
#include "dh_core.h"

#include "t/unit/dh_tap.h"


void
dh_log_error_core(dh_uint_t level, dh_log_t *log, dh_err_t err,
    const char *fmt, ...)
{
}


static dh_pool_t  *pool;


static dh_int_t
parse(dh_url_t *u, const char *text, dh_uint_t listen)
{
    memset(u, 0, sizeof(dh_url_t));
    u->url.data = (u_char *) text;
    u->url.len = strlen(text);
    u->listen = listen;

    return dh_parse_url(pool, u);
}


static const char *
name0(dh_url_t *u)
{
    static char  buf[256];

    if (u->naddrs == 0) {
        return "(none)";
    }

    snprintf(buf, sizeof(buf), "%.*s", DH_STR_FMT(u->addrs[0].name));
    return buf;
}


static void
test_forms(void)
{
    dh_url_t  u;

    is_int(parse(&u, "127.0.0.1:8080", 1), DH_OK, "ipv4:port");
    is_int(u.family, AF_INET, "AF_INET");
    is_int(u.port, 8080, "port 8080");
    is_int(u.naddrs, 1, "one address");
    is_str(name0(&u), "127.0.0.1:8080", "name");
    is_int(ntohs(u.sockaddr.sockaddr_in.sin_port), 8080,
           "port in the sockaddr");
    is_int(u.socklen, sizeof(struct sockaddr_in), "socklen");
    ok(!u.wildcard, "not a wildcard");

    is_int(parse(&u, "8080", 1), DH_OK, "bare port when listening");
    ok(u.wildcard, "is a wildcard");
    is_str(name0(&u), "0.0.0.0:8080", "on every address");

    is_int(parse(&u, "*:80", 1), DH_OK, "*:port");
    ok(u.wildcard && u.port == 80, "wildcard port 80");

    is_int(parse(&u, "0", 1), DH_OK, "port 0 for listen (any free port)");
    is_int(u.port, 0, "port 0");

    is_int(parse(&u, "0.0.0.0:81", 1), DH_OK, "0.0.0.0:port");
    ok(u.wildcard, "numeric any address is a wildcard too");

    is_int(parse(&u, "[::1]:8443", 1), DH_OK, "[v6]:port");
    is_int(u.family, AF_INET6, "AF_INET6");
    is_int(u.port, 8443, "port 8443");
    is_str(name0(&u), "[::1]:8443", "v6 name has brackets");
    is_int(u.socklen, sizeof(struct sockaddr_in6), "v6 socklen");

    is_int(parse(&u, "[::]:80", 1), DH_OK, "[::]:port");
    ok(u.wildcard, "[::] is a wildcard");

    is_int(parse(&u, "unix:/tmp/dh.sock", 0), DH_OK, "unix socket");
    is_int(u.family, AF_UNIX, "AF_UNIX");
    is_str(u.sockaddr.sockaddr_un.sun_path, "/tmp/dh.sock", "path");
    is_str(name0(&u), "unix:/tmp/dh.sock", "unix name");

    is_int(parse(&u, "localhost:9000", 0), DH_OK, "a name is resolved");
    ok(u.naddrs >= 1, "%lu address(es)", (unsigned long) u.naddrs);
    is_int(u.port, 9000, "port kept");
    is_int(dh_inet_get_port(&u.addrs[0].sockaddr.sockaddr), 9000,
           "each address carries the port");
    ok(u.family == AF_INET || u.family == AF_INET6, "first address is IP");

    memset(&u, 0, sizeof(u));
    u.url.data = (u_char *) "example.invalid";
    u.url.len = 15;
    u.default_port = 80;
    u.no_resolve = 1;
    is_int(dh_parse_url(pool, &u), DH_OK, "no_resolve leaves names alone");
    is_int(u.naddrs, 0, "no addresses");
    is_int(u.port, 80, "default port applied");
    is_int(u.host.len, 15, "host kept");

    memset(&u, 0, sizeof(u));
    u.url.data = (u_char *) "10.1.2.3";
    u.url.len = 8;
    u.default_port = 80;
    is_int(dh_parse_url(pool, &u), DH_OK, "address without port");
    is_str(name0(&u), "10.1.2.3:80", "uses the default port");
}


static void
test_errors(void)
{
    dh_url_t  u;

#define BAD(text, listen, msg)                                                \
    is_int(parse(&u, text, listen), DH_ERROR, "\"%s\" is refused", text);    \
    is_str(u.err, msg, "\"%s\": %s", text, msg)

    BAD("", 1, "no URL");
    BAD("127.0.0.1:99999", 1, "invalid port");
    BAD("127.0.0.1:65536", 1, "invalid port");
    BAD("127.0.0.1:", 1, "invalid port");
    BAD("127.0.0.1:8x", 1, "invalid port");
    BAD("127.0.0.1:-1", 1, "invalid port");
    BAD("127.0.0.1:0", 0, "invalid port");
    BAD("99999", 1, "invalid port");
    BAD(":80", 1, "no host");
    BAD("*:80", 0, "invalid host");
    BAD("[::1:80", 1, "invalid IPv6 address");
    BAD("[::g]:80", 1, "invalid IPv6 address");
    BAD("[::1]x", 1, "invalid host");
    BAD("::1:80", 1, "invalid host");
    BAD("no-such-host.invalid:80", 0, "host not found");
    BAD("unix:", 0, "no path in the unix domain socket");
    BAD("unix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0,
        "too long path in the unix domain socket");
    BAD("localhost", 1, "no port");

#undef BAD
}


static void
test_ntop_cmp(void)
{
    u_char               text[DH_SOCKADDR_STRLEN + 8];
    size_t               n;
    dh_sockaddr_t        a, b;
    struct sockaddr_in6  *s6;

    memset(&a, 0, sizeof(a));
    a.sockaddr_in.sin_family = AF_INET;
    a.sockaddr_in.sin_port = htons(443);
    inet_pton(AF_INET, "192.168.1.20", &a.sockaddr_in.sin_addr);

    n = dh_sock_ntop(&a.sockaddr, sizeof(struct sockaddr_in), text,
                     sizeof(text), 1);
    text[n] = '\0';
    is_str(text, "192.168.1.20:443", "ntop with port");

    n = dh_sock_ntop(&a.sockaddr, sizeof(struct sockaddr_in), text,
                     sizeof(text), 0);
    text[n] = '\0';
    is_str(text, "192.168.1.20", "ntop without port");

    n = dh_sock_ntop(&a.sockaddr, sizeof(struct sockaddr_in), text, 8, 1);
    is_int(n, 7, "truncated to the buffer (with NUL)");

    b = a;
    is_int(dh_cmp_sockaddr(&a.sockaddr, sizeof(struct sockaddr_in),
                           &b.sockaddr, sizeof(struct sockaddr_in), 1),
           DH_OK, "equal addresses");
    dh_inet_set_port(&b.sockaddr, 444);
    is_int(dh_inet_get_port(&b.sockaddr), 444, "set/get port");
    is_int(dh_cmp_sockaddr(&a.sockaddr, sizeof(struct sockaddr_in),
                           &b.sockaddr, sizeof(struct sockaddr_in), 1),
           DH_DECLINED, "different port");
    is_int(dh_cmp_sockaddr(&a.sockaddr, sizeof(struct sockaddr_in),
                           &b.sockaddr, sizeof(struct sockaddr_in), 0),
           DH_OK, "port ignored when asked");

    memset(&b, 0, sizeof(b));
    s6 = &b.sockaddr_in6;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(80);
    inet_pton(AF_INET6, "2001:db8::1", &s6->sin6_addr);

    n = dh_sock_ntop(&b.sockaddr, sizeof(*s6), text, sizeof(text), 1);
    text[n] = '\0';
    is_str(text, "[2001:db8::1]:80", "v6 with port");
    n = dh_sock_ntop(&b.sockaddr, sizeof(*s6), text, sizeof(text), 0);
    text[n] = '\0';
    is_str(text, "2001:db8::1", "v6 without port");

    is_int(dh_cmp_sockaddr(&a.sockaddr, sizeof(struct sockaddr_in),
                           &b.sockaddr, sizeof(*s6), 1),
           DH_DECLINED, "different families");
}


static dh_int_t
cidr(const char *text, dh_cidr_t *c)
{
    dh_str_t  s;

    s.data = (u_char *) text;
    s.len = strlen(text);

    return dh_ptocidr(&s, c);
}


static dh_int_t
match(const char *addr, dh_cidr_t *c)
{
    dh_sockaddr_t  sa;

    memset(&sa, 0, sizeof(sa));

    if (inet_pton(AF_INET, addr, &sa.sockaddr_in.sin_addr) == 1) {
        sa.sockaddr_in.sin_family = AF_INET;

    } else {
        inet_pton(AF_INET6, addr, &sa.sockaddr_in6.sin6_addr);
        sa.sockaddr_in6.sin6_family = AF_INET6;
    }

    return dh_cidr_match(&sa.sockaddr, c);
}


static void
test_cidr(void)
{
    dh_cidr_t  c;

    is_int(cidr("10.0.0.0/8", &c), DH_OK, "10.0.0.0/8");
    is_int(c.family, AF_INET, "v4");
    is_int(ntohl(c.u.in.mask), 0xff000000, "mask /8");
    is_int(match("10.200.3.4", &c), DH_OK, "10.200.3.4 inside");
    is_int(match("11.0.0.1", &c), DH_DECLINED, "11.0.0.1 outside");
    is_int(match("::ffff:10.1.1.1", &c), DH_OK,
           "v4-mapped v6 client matches a v4 rule");
    is_int(match("2001:db8::1", &c), DH_DECLINED, "v6 vs v4 rule");

    is_int(cidr("192.168.1.77/24", &c), DH_DONE, "host bits set: DH_DONE");
    is_int(ntohl(c.u.in.addr), 0xc0a80100, "and masked to the network");
    is_int(match("192.168.1.1", &c), DH_OK, "matches the /24");

    is_int(cidr("1.2.3.4", &c), DH_OK, "plain address");
    is_int(ntohl(c.u.in.mask), 0xffffffff, "is a /32");
    is_int(match("1.2.3.4", &c), DH_OK, "exact match");
    is_int(match("1.2.3.5", &c), DH_DECLINED, "neighbour misses");

    is_int(cidr("0.0.0.0/0", &c), DH_OK, "/0");
    is_int(match("8.8.8.8", &c), DH_OK, "matches everything v4");

    is_int(cidr("1.2.3.4/25", &c), DH_DONE, "/25");
    is_int(ntohl(c.u.in.mask), 0xffffff80, "mask /25");

    is_int(cidr("2001:db8::/32", &c), DH_OK, "2001:db8::/32");
    is_int(c.family, AF_INET6, "v6");
    is_int(match("2001:db8:ffff::1", &c), DH_OK, "inside");
    is_int(match("2001:db9::1", &c), DH_DECLINED, "outside");
    is_int(match("10.0.0.1", &c), DH_DECLINED, "v4 vs v6 rule");

    is_int(cidr("2001:db8::1/127", &c), DH_DONE, "v6 host bits");
    is_int(match("2001:db8::", &c), DH_OK, "::0 in ::/127");
    is_int(match("2001:db8::2", &c), DH_DECLINED, "::2 not in ::/127");

    is_int(cidr("fe80::/10", &c), DH_OK, "/10");
    is_int(c.u.in6.mask.s6_addr[1], 0xc0, "second mask byte 0xc0");
    is_int(match("febf::1", &c), DH_OK, "febf:: inside fe80::/10");
    is_int(match("fec0::1", &c), DH_DECLINED, "fec0:: outside");

    is_int(cidr("::/0", &c), DH_OK, "::/0");
    is_int(match("2001:db8::1", &c), DH_OK, "matches everything v6");

    is_int(cidr("1.2.3.4/33", &c), DH_ERROR, "/33");
    is_int(cidr("::1/129", &c), DH_ERROR, "/129");
    is_int(cidr("1.2.3.4/", &c), DH_ERROR, "empty bits");
    is_int(cidr("1.2.3.4/x", &c), DH_ERROR, "non-numeric bits");
    is_int(cidr("1.2.3/24", &c), DH_ERROR, "short address");
    is_int(cidr("/24", &c), DH_ERROR, "no address");
    is_int(cidr("example.com/24", &c), DH_ERROR, "a name");
}


int
main(void)
{
    pool = dh_create_pool(4096, NULL);

    test_forms();
    test_errors();
    test_ntop_cmp();
    test_cidr();

    dh_destroy_pool(pool);

    return done_testing();
}

/*
 * The upstream client's pure parts: the status line parser (whole and
 * byte by byte), the checks that frame a response body, URL parsing, the
 * request builder, and the balancers with passive health.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"
#include "dh_http_upstream_int.h"

#include "t/unit/dh_tap.h"


static dh_pool_t  *pool;
static dh_log_t    tlog;


/* ---- status lines */

static dh_int_t
parse_status(const char *s, int bytewise, dh_http_status_t *st)
{
    size_t     len, i;
    dh_int_t   rc;
    dh_buf_t   b;

    dh_memzero(st, sizeof(dh_http_status_t));
    len = strlen(s);

    b.pos = (u_char *) s;
    b.last = bytewise ? b.pos : (u_char *) s + len;
    rc = DH_AGAIN;

    for (i = 0; i <= len; i++) {
        if (bytewise) {
            b.last = (u_char *) s + i;
        }

        rc = dh_http_upstream_parse_status_line(st, &b);

        if (rc != DH_AGAIN || !bytewise) {
            break;
        }
    }

    return rc;
}


static void
test_status_lines(void)
{
    int                bytewise;
    dh_int_t           rc;
    dh_http_status_t   st;

    static const char  *bad[] = {
        "HTTP/2.0 200 OK\r\n",
        "HTTP/1.1 20 OK\r\n",
        "HTTP/1.1 2000 OK\r\n",
        "HTTP/1.1 099 Low\r\n",
        "HTTP/1.1  200 OK\r\n",
        "HTTP/1.1 200 OK\n",
        "HTTP/1.1 200 O\x01K\r\n",
        "ICY 200 OK\r\n",
        "HTTP/1.1 200OK\r\n",
        NULL
    };

    for (bytewise = 0; bytewise < 2; bytewise++) {
        rc = parse_status("HTTP/1.1 200 OK\r\nX", bytewise, &st);
        is_int(rc, DH_OK, "200 OK parsed (bytewise %d)", bytewise);
        is_int(st.status, 200, "status 200");
        is_int(st.http_version, DH_HTTP_VERSION_11, "version 1.1");
        ok(st.status_end - st.status_start == 6
           && memcmp(st.status_start, "200 OK", 6) == 0,
           "status line text is \"200 OK\"");

        rc = parse_status("HTTP/1.0 404\r\n", bytewise, &st);
        is_int(rc, DH_OK, "a status without reason phrase (bytewise %d)",
               bytewise);
        is_int(st.status, 404, "status 404");
        is_int(st.http_version, DH_HTTP_VERSION_10, "version 1.0");

        rc = parse_status("HTTP/1.1 502 Bad \tGateway\x80\r\n", bytewise,
                          &st);
        is_int(rc, DH_OK, "reason with tab and obs-text");
    }

    rc = parse_status("HTTP/1.1 200 O", 0, &st);
    is_int(rc, DH_AGAIN, "a partial line asks for more");

    for (bytewise = 0; bytewise < 2; bytewise++) {
        int  i;

        for (i = 0; bad[i]; i++) {
            rc = parse_status(bad[i], bytewise, &st);
            is_int(rc, DH_ERROR, "bad status line %d rejected (bytewise %d)",
                   i, bytewise);
        }
    }
}


/* ---- header checks */

static void
add_header(dh_http_upstream_headers_in_t *h, const char *k, const char *v)
{
    dh_table_elt_t  *e;

    e = dh_list_push(&h->headers);
    e->hash = 1;
    e->key.data = (u_char *) k;
    e->key.len = strlen(k);
    e->value.data = (u_char *) v;
    e->value.len = strlen(v);
    e->lowcase_key = dh_pnalloc(pool, e->key.len);
    dh_strlow(e->lowcase_key, e->key.data, e->key.len);
}


static dh_int_t
headers(dh_http_upstream_headers_in_t *h, dh_uint_t version, const char **kv)
{
    dh_memzero(h, sizeof(dh_http_upstream_headers_in_t));
    dh_list_init(&h->headers, pool, 4, sizeof(dh_table_elt_t));
    h->http_version = version;

    for ( /* void */ ; *kv; kv += 2) {
        add_header(h, kv[0], kv[1]);
    }

    return dh_http_upstream_process_headers(h);
}


static void
test_headers(void)
{
    dh_http_upstream_headers_in_t  h;

    const char  *cl[] = { "Content-Length", "42", "Connection", "close",
                          NULL };
    const char  *cl2[] = { "Content-Length", "42", "content-length", "42",
                           NULL };
    const char  *cl3[] = { "Content-Length", "42", "Content-Length", "43",
                           NULL };
    const char  *clbad[] = { "Content-Length", "4x", NULL };
    const char  *te[] = { "Transfer-Encoding", "chunked", NULL };
    const char  *tecl[] = { "Content-Length", "5", "Transfer-Encoding",
                            "gzip, chunked", NULL };
    const char  *tegz[] = { "Transfer-Encoding", "gzip", NULL };
    const char  *up[] = { "Connection", "keep-alive, Upgrade", "Upgrade",
                          "websocket", NULL };
    const char  *none[] = { "Content-Type", "text/plain", NULL };

    is_int(headers(&h, DH_HTTP_VERSION_11, cl), DH_OK, "Content-Length");
    is_int(h.content_length_n, 42, "length 42");
    ok(h.connection_close, "Connection: close seen");

    is_int(headers(&h, DH_HTTP_VERSION_11, cl2), DH_OK,
           "two equal Content-Length values");
    is_int(headers(&h, DH_HTTP_VERSION_11, cl3), DH_ERROR,
           "two different Content-Length values rejected");
    is_int(headers(&h, DH_HTTP_VERSION_11, clbad), DH_ERROR,
           "a bad Content-Length rejected");

    is_int(headers(&h, DH_HTTP_VERSION_11, te), DH_OK, "chunked");
    ok(h.chunked && h.content_length_n == -1, "chunked, no length");
    is_int(headers(&h, DH_HTTP_VERSION_10, te), DH_ERROR,
           "chunked in HTTP/1.0 rejected");

    is_int(headers(&h, DH_HTTP_VERSION_11, tecl), DH_OK,
           "Transfer-Encoding with Content-Length");
    ok(h.chunked && h.content_length == NULL && h.connection_close,
       "the length is dropped and the connection not reused");

    is_int(headers(&h, DH_HTTP_VERSION_11, tegz), DH_ERROR,
           "a coding without chunked last rejected");

    is_int(headers(&h, DH_HTTP_VERSION_11, up), DH_OK, "upgrade headers");
    ok(h.connection_upgrade && !h.connection_close && h.upgrade,
       "Connection: upgrade token found");

    is_int(headers(&h, DH_HTTP_VERSION_11, none), DH_OK, "no framing");
    ok(h.content_length_n == -1 && !h.chunked && h.content_type,
       "close-delimited, content type kept");
}


/* ---- URLs */

static void
test_urls(void)
{
    char                    *err;
    dh_str_t                 s;
    dh_http_upstream_url_t   u;

    dh_str_set(&s, "http://backend");
    is_int(dh_http_upstream_parse_url(&s, &u, &err), DH_OK, "http://backend");
    ok(u.host.len == 7 && u.port == 0 && u.uri.len == 0 && !u.tls,
       "host only");

    dh_str_set(&s, "https://api.openai.com/v1/chat?x=1");
    is_int(dh_http_upstream_parse_url(&s, &u, &err), DH_OK, "https URL");
    ok(u.tls && u.host.len == 14 && u.port == 0, "https, host");
    ok(u.uri.len == 12 && memcmp(u.uri.data, "/v1/chat?x=1", 12) == 0,
       "uri kept with args");

    dh_str_set(&s, "http://[::1]:8080/x");
    is_int(dh_http_upstream_parse_url(&s, &u, &err), DH_OK, "IPv6 URL");
    ok(u.host.len == 3 && memcmp(u.host.data, "::1", 3) == 0
       && u.port == 8080 && u.host_header.len == 10, "v6 host and port");

    dh_str_set(&s, "ftp://x");
    is_int(dh_http_upstream_parse_url(&s, &u, &err), DH_ERROR, "ftp refused");
    dh_str_set(&s, "http://x:0/");
    is_int(dh_http_upstream_parse_url(&s, &u, &err), DH_ERROR, "port 0");
    dh_str_set(&s, "http://x:99999");
    is_int(dh_http_upstream_parse_url(&s, &u, &err), DH_ERROR, "port range");
    dh_str_set(&s, "http:///x");
    is_int(dh_http_upstream_parse_url(&s, &u, &err), DH_ERROR, "no host");
}


/* ---- the request builder */

static void
test_build(void)
{
    dh_str_t             m, h, uri, body;
    dh_array_t          *a;
    dh_keyval_t         *kv;
    dh_http_upstream_t  *u;
    dh_buf_t            *b;

    const char  *want = "POST /v1/x HTTP/1.1\r\nHost: api\r\n"
                        "Authorization: Bearer k\r\n"
                        "Content-Length: 2\r\n\r\n{}";

    u = dh_http_upstream_create(pool, NULL);
    a = dh_array_create(pool, 1, sizeof(dh_keyval_t));
    kv = dh_array_push(a);
    dh_str_set(&kv->key, "Authorization");
    dh_str_set(&kv->value, "Bearer k");

    dh_str_set(&m, "POST");
    dh_str_set(&h, "api");
    dh_str_set(&uri, "/v1/x");
    dh_str_set(&body, "{}");

    is_int(dh_http_upstream_build_request(u, &m, &h, &uri, a, &body), DH_OK,
           "request built");

    b = u->request_bufs->buf;
    ok((size_t) (b->last - b->pos) == strlen(want)
       && memcmp(b->pos, want, strlen(want)) == 0, "request bytes");
}


/* ---- balancers */

static dh_http_upstream_peer_t  peers[8];
static u_char                   names[8][16];

static void
make_upstream(dh_http_upstream_srv_conf_t *us, dh_uint_t n, dh_uint_t nb,
    const dh_int_t *weights, dh_uint_t balancer)
{
    dh_uint_t  i;

    dh_memzero(us, sizeof(dh_http_upstream_srv_conf_t));
    dh_memzero(peers, sizeof(peers));

    for (i = 0; i < n + nb; i++) {
        peers[i].weight = weights ? weights[i] : 1;
        peers[i].max_fails = 1;
        peers[i].fail_timeout = 10000;
        peers[i].backup = (i >= n);
        peers[i].name.data = names[i];
        peers[i].name.len = sprintf((char *) names[i], "10.0.0.%lu:80",
                                    (unsigned long) i + 1);
        peers[i].server = peers[i].name;
    }

    dh_str_set(&us->host, "test");
    us->name = us->host;
    us->peers = peers;
    us->npeers = n;
    us->nbackup = nb;
    us->balancer = balancer;

    dh_http_upstream_balancer_init_peers(us);
}


static dh_int_t
pick(dh_http_upstream_srv_conf_t *us, dh_uint_t hash, dh_uint_t use_hash)
{
    uint8_t                   tried[2] = { 0, 0 };
    dh_http_upstream_peer_t  *p;

    p = dh_http_upstream_get_peer(us, tried, hash, use_hash);

    return p ? p - us->peers : -1;
}


static void
test_round_robin(void)
{
    char                          seq[16];
    uint8_t                       tried[2];
    dh_uint_t                     i, counts[3];
    dh_http_upstream_srv_conf_t   us;
    static const dh_int_t         w[] = { 5, 1, 1 };

    make_upstream(&us, 3, 0, w, DH_HTTP_UPSTREAM_RR);

    for (i = 0; i < 7; i++) {
        seq[i] = (char) ('a' + pick(&us, 0, 0));
    }
    seq[7] = '\0';

    /* the smooth sequence for 5:1:1 spreads the light servers out */
    is_str(seq, "aabacaa", "smooth weighted round robin 5:1:1");

    make_upstream(&us, 3, 0, NULL, DH_HTTP_UPSTREAM_RR);
    counts[0] = counts[1] = counts[2] = 0;
    for (i = 0; i < 300; i++) {
        counts[pick(&us, 0, 0)]++;
    }
    ok(counts[0] == 100 && counts[1] == 100 && counts[2] == 100,
       "equal weights share equally");

    /* tried servers are skipped within one request */
    make_upstream(&us, 3, 0, NULL, DH_HTTP_UPSTREAM_RR);
    tried[0] = 0x3;
    tried[1] = 0;
    ok(dh_http_upstream_get_peer(&us, tried, 0, 0) == &peers[2],
       "the untried server is chosen");
    tried[0] = 0x7;
    ok(dh_http_upstream_get_peer(&us, tried, 0, 0) == NULL,
       "nothing when all were tried");
    ok(!dh_http_upstream_peer_left(&us, tried), "none left");
}


static void
test_health(void)
{
    dh_uint_t                     i;
    dh_http_upstream_srv_conf_t   us;

    dh_current_msec = 100000;

    make_upstream(&us, 2, 1, NULL, DH_HTTP_UPSTREAM_RR);
    peers[0].max_fails = 2;

    dh_http_upstream_peer_done(&us, &peers[0], 1, &tlog);
    ok(peers[0].down_until == 0, "one failure of max_fails=2: still up");

    dh_http_upstream_peer_done(&us, &peers[0], 1, &tlog);
    ok(peers[0].down_until == 110000, "second failure: down for 10s");

    for (i = 0; i < 4; i++) {
        is_int(pick(&us, 0, 0), 1, "only the other primary is used (%lu)",
               (unsigned long) i);
    }

    dh_http_upstream_peer_done(&us, &peers[1], 1, &tlog);
    is_int(pick(&us, 0, 0), 2, "the backup takes over when all primaries "
           "are down");

    dh_current_msec = 110001;
    ok(pick(&us, 0, 0) != 2, "after fail_timeout the primaries come back");

    dh_http_upstream_peer_done(&us, &peers[0], 0, &tlog);
    ok(peers[0].fails == 0 && peers[0].down_until == 0,
       "a success clears the failures");

    /* failures spread over more than fail_timeout do not add up */
    make_upstream(&us, 2, 0, NULL, DH_HTTP_UPSTREAM_RR);
    peers[0].max_fails = 2;
    dh_current_msec = 200000;
    dh_http_upstream_peer_done(&us, &peers[0], 1, &tlog);
    dh_current_msec = 220000;
    dh_http_upstream_peer_done(&us, &peers[0], 1, &tlog);
    ok(peers[0].down_until == 0, "failures 20s apart with fail_timeout 10s");

    /* every server failed: a new request forgets the failures */
    make_upstream(&us, 2, 0, NULL, DH_HTTP_UPSTREAM_RR);
    dh_current_msec = 300000;
    dh_http_upstream_peer_done(&us, &peers[0], 1, &tlog);
    dh_http_upstream_peer_done(&us, &peers[1], 1, &tlog);
    ok(pick(&us, 0, 0) >= 0, "all failed: tried again, not refused");
    ok(peers[0].down_until == 0 && peers[1].down_until == 0,
       "their failures are forgotten");

    make_upstream(&us, 1, 0, NULL, DH_HTTP_UPSTREAM_RR);
    dh_http_upstream_peer_done(&us, &peers[0], 1, &tlog);
    ok(peers[0].down_until == 0, "a lone server is never disabled");

    make_upstream(&us, 2, 0, NULL, DH_HTTP_UPSTREAM_RR);
    peers[1].down = 1;
    for (i = 0; i < 3; i++) {
        is_int(pick(&us, 0, 0), 0, "a server marked down is never used");
    }
}


static void
test_least_conn(void)
{
    dh_http_upstream_srv_conf_t  us;
    static const dh_int_t        w[] = { 1, 2, 1 };

    make_upstream(&us, 3, 0, w, DH_HTTP_UPSTREAM_LEAST_CONN);
    peers[0].conns = 3;
    peers[1].conns = 4;
    peers[2].conns = 1;
    is_int(pick(&us, 0, 0), 2, "least_conn: fewest connections");

    peers[2].conns = 3;
    /* 4/2 = 2 per weight beats 3/1 */
    is_int(pick(&us, 0, 0), 1, "least_conn: connections per weight");
}


static void
test_hash(void)
{
    u_char                        key[32];
    dh_uint_t                     i, h, n, moved, a, b, counts[4];
    dh_http_upstream_srv_conf_t   us;
    dh_conf_t                     cf;

    make_upstream(&us, 3, 0, NULL, DH_HTTP_UPSTREAM_HASH);

    h = dh_http_upstream_hash((u_char *) "user-42", 7);
    a = pick(&us, h, 1);
    ok(pick(&us, h, 1) == (dh_int_t) a && pick(&us, h, 1) == (dh_int_t) a,
       "hash: one key, one server");

    peers[a].down = 1;
    ok(pick(&us, h, 1) != (dh_int_t) a, "hash: a down server is skipped");

    /* consistent: taking one server out moves only its own keys */
    dh_memzero(&cf, sizeof(dh_conf_t));
    cf.pool = pool;
    cf.log = &tlog;

    make_upstream(&us, 4, 0, NULL, DH_HTTP_UPSTREAM_HASH);
    us.consistent = 1;
    ok(dh_http_upstream_build_ring(&cf, &us) == DH_OK, "ring built");

    moved = 0;
    counts[0] = counts[1] = counts[2] = counts[3] = 0;

    for (i = 0; i < 1000; i++) {
        n = sprintf((char *) key, "key-%lu", (unsigned long) i);
        h = dh_http_upstream_hash(key, n);

        a = pick(&us, h, 1);
        counts[a]++;

        peers[3].down = 1;
        b = pick(&us, h, 1);
        peers[3].down = 0;

        if (a != 3 && a != b) {
            moved++;
        }
    }

    is_int(moved, 0, "consistent hash: other servers keep their keys");
    ok(counts[0] > 150 && counts[1] > 150 && counts[2] > 150
       && counts[3] > 150, "consistent hash spreads keys (%lu %lu %lu %lu)",
       (unsigned long) counts[0], (unsigned long) counts[1],
       (unsigned long) counts[2], (unsigned long) counts[3]);
}


/* ---- requests by URL */

static dh_int_t   resolved_rc;
static dh_uint_t  resolved_calls;

static void
resolved(dh_http_upstream_t *u, dh_int_t rc)
{
    resolved_rc = rc;
    resolved_calls++;
}


static void
test_create_url(void)
{
    dh_str_t                    url;
    dh_cycle_t                  cycle;
    dh_http_upstream_t         *u, *u2;
    dh_http_upstream_url_t      pu;
    dh_http_upstream_lookup_t  *lk;
    u_char                      buf[sizeof(dh_http_upstream_lookup_t) + 64];

    /* no thread pool here: only what needs none */
    dh_memzero(&cycle, sizeof(dh_cycle_t));
    cycle.log = &tlog;
    cycle.pool = pool;
    dh_cycle = &cycle;

    u = dh_http_upstream_create(pool, NULL);
    dh_str_set(&url, "http://127.0.0.1:9/v1/x");
    resolved_calls = 0;

    is_int(dh_http_upstream_create_url(u, &url, &pu, resolved), DH_OK,
           "IP literal URL");
    ok(resolved_calls == 1 && resolved_rc == DH_OK,
       "an IP literal needs no lookup: handler called at once");
    ok(u->upstream && u->upstream->npeers == 1
       && u->upstream->peers[0].name.len == 11
       && memcmp(u->upstream->peers[0].name.data, "127.0.0.1:9", 11) == 0,
       "one server, 127.0.0.1:9");
    ok(pu.uri.len == 5 && memcmp(pu.uri.data, "/v1/x", 5) == 0,
       "the URI for the request line");
    ok(u->upstream->keepalive == 8 && u->upstream->runtime != NULL,
       "kept alive, ready to use");

    u2 = dh_http_upstream_create(pool, NULL);
    dh_str_set(&url, "http://127.0.0.1:9/other");
    dh_http_upstream_create_url(u2, &url, &pu, resolved);
    ok(u2->upstream == u->upstream, "the same host:port, the same upstream");

    dh_str_set(&url, "https://[::1]/");
    dh_http_upstream_create_url(u2, &url, &pu, resolved);
    ok(u2->upstream != u->upstream && u2->upstream->port == 443
       && u2->upstream->peers[0].sockaddr->sa_family == AF_INET6,
       "https without a port: [::1]:443");

    resolved_calls = 0;
    dh_str_set(&url, "http://localhost:1/");
    is_int(dh_http_upstream_create_url(u2, &url, &pu, resolved), DH_ERROR,
           "a name without a thread pool to resolve it: error");
    is_int(resolved_calls, 0, "and no handler call");

    dh_str_set(&url, "ftp://x/");
    is_int(dh_http_upstream_create_url(u2, &url, &pu, resolved), DH_ERROR,
           "a bad URL");

    /* the thread half of a lookup */
    lk = (dh_http_upstream_lookup_t *) buf;
    dh_memzero(lk, sizeof(dh_http_upstream_lookup_t));
    lk->host = "localhost";
    lk->port = 8080;
    dh_http_upstream_lookup_handler(lk, &tlog);
    ok(lk->err == 0 && lk->naddrs >= 1
       && dh_inet_get_port(&lk->addrs[0].sockaddr) == 8080,
       "localhost resolved, with the port");

    lk->host = "no-such-host.invalid";
    dh_http_upstream_lookup_handler(lk, &tlog);
    ok(lk->err != 0 && lk->naddrs == 0, "an unknown name fails");

    dh_cycle = NULL;
}


int
main(void)
{
    dh_memzero(&tlog, sizeof(dh_log_t));
    tlog.log_level = DH_LOG_EMERG;

    pool = dh_create_pool(DH_DEFAULT_POOL_SIZE, &tlog);
    if (pool == NULL) {
        return 1;
    }

    test_status_lines();
    test_headers();
    test_urls();
    test_build();
    test_round_robin();
    test_health();
    test_least_conn();
    test_hash();
    test_create_url();

    dh_destroy_pool(pool);

    return done_testing();
}

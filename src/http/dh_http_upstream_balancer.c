/*
 * Choosing a server: smooth weighted round robin, least_conn, ip_hash and
 * hash KEY [consistent], with passive health checks.
 *
 * The state (current weights, failure counts, active connections) lives
 * in the peer structs of the configuration, which after fork are private
 * to each worker: every worker balances on its own, with no locks.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"
#include "dh_http_upstream_int.h"


/* points per unit of weight on the consistent-hash ring */
#define DH_HTTP_UPSTREAM_RING_POINTS  160
/* hash probes before falling back to round robin */
#define DH_HTTP_UPSTREAM_HASH_TRIES   20


typedef struct {
    uint32_t                   hash;
    dh_uint_t                  peer;       /* index in us->peers */
} dh_http_upstream_point_t;


static dh_http_upstream_peer_t *dh_http_upstream_pick(
    dh_http_upstream_srv_conf_t *us, uint8_t *tried, dh_uint_t hash,
    dh_uint_t use_hash);


#define dh_tried_test(t, i)   ((t)[(i) >> 3] & (1u << ((i) & 7)))


/* FNV-1a, then a final mix so that keys differing in their last bytes
 * (server names, numbered keys) also differ in the high bits the ring
 * order depends on */
dh_uint_t
dh_http_upstream_hash(u_char *data, size_t len)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h ^= data[i];
        h *= 16777619u;
    }

    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;

    return h;
}


dh_uint_t
dh_http_upstream_npeers(dh_http_upstream_srv_conf_t *us)
{
    return us->npeers + us->nbackup;
}


void
dh_http_upstream_balancer_init_peers(dh_http_upstream_srv_conf_t *us)
{
    dh_uint_t  i;

    for (i = 0; i < us->npeers + us->nbackup; i++) {
        us->peers[i].current_weight = 0;
        us->peers[i].effective_weight = us->peers[i].weight;
    }
}


static int
dh_http_upstream_point_cmp(const void *a, const void *b)
{
    const dh_http_upstream_point_t  *pa = a, *pb = b;

    return (pa->hash < pb->hash) ? -1 : (pa->hash > pb->hash);
}


dh_int_t
dh_http_upstream_build_ring(dh_conf_t *cf, dh_http_upstream_srv_conf_t *us)
{
    u_char                     buf[DH_SOCKADDR_STRLEN + 32], *p;
    dh_uint_t                  i, j, n, total;
    dh_http_upstream_peer_t   *peer;
    dh_http_upstream_point_t  *points;

    total = 0;

    for (i = 0; i < us->npeers; i++) {
        total += us->peers[i].weight * DH_HTTP_UPSTREAM_RING_POINTS;
    }

    points = dh_palloc(cf->pool, total * sizeof(dh_http_upstream_point_t));
    if (points == NULL) {
        return DH_ERROR;
    }

    n = 0;

    for (i = 0; i < us->npeers; i++) {
        peer = &us->peers[i];

        /* points come from the name as written and the address, so a
         * ring does not move when another server is added or removed */
        for (j = 0;
             j < (dh_uint_t) peer->weight * DH_HTTP_UPSTREAM_RING_POINTS;
             j++)
        {
            p = dh_slprintf(buf, buf + sizeof(buf), "%.*s#%.*s#%lu",
                            DH_STR_FMT(peer->server), DH_STR_FMT(peer->name),
                            (unsigned long) j);
            points[n].hash = (uint32_t) dh_http_upstream_hash(buf, p - buf);
            points[n].peer = i;
            n++;
        }
    }

    qsort(points, n, sizeof(dh_http_upstream_point_t),
          dh_http_upstream_point_cmp);

    us->hash_points = points;
    us->hash_npoints = n;

    return DH_OK;
}


static dh_uint_t
dh_http_upstream_peer_usable(dh_http_upstream_peer_t *peer)
{
    if (peer->down) {
        return 0;
    }

    if (peer->down_until && dh_current_msec < peer->down_until) {
        return 0;
    }

    return 1;
}


/* Smooth weighted round robin over [from, to) among usable, untried
 * peers; with least set, only those whose conns/weight equals the
 * smallest one take part. */
static dh_http_upstream_peer_t *
dh_http_upstream_rr(dh_http_upstream_srv_conf_t *us, uint8_t *tried,
    dh_uint_t from, dh_uint_t to, dh_uint_t least)
{
    dh_int_t                  total;
    dh_uint_t                 i;
    dh_http_upstream_peer_t  *peer, *best, *min;

    min = NULL;

    if (least) {
        for (i = from; i < to; i++) {
            peer = &us->peers[i];

            if (dh_tried_test(tried, i) || !dh_http_upstream_peer_usable(peer))
            {
                continue;
            }

            if (min == NULL
                || peer->conns * (dh_uint_t) min->weight
                   < min->conns * (dh_uint_t) peer->weight)
            {
                min = peer;
            }
        }

        if (min == NULL) {
            return NULL;
        }
    }

    best = NULL;
    total = 0;

    for (i = from; i < to; i++) {
        peer = &us->peers[i];

        if (dh_tried_test(tried, i) || !dh_http_upstream_peer_usable(peer)) {
            continue;
        }

        if (min && peer->conns * (dh_uint_t) min->weight
                   != min->conns * (dh_uint_t) peer->weight)
        {
            continue;
        }

        peer->current_weight += peer->effective_weight;
        total += peer->effective_weight;

        if (best == NULL || peer->current_weight > best->current_weight) {
            best = peer;
        }
    }

    if (best) {
        best->current_weight -= total;
    }

    return best;
}


static dh_http_upstream_peer_t *
dh_http_upstream_by_hash(dh_http_upstream_srv_conf_t *us, uint8_t *tried,
    dh_uint_t hash)
{
    dh_uint_t                  i, n, lo, hi, mid;
    dh_http_upstream_peer_t   *peer;
    dh_http_upstream_point_t  *points;

    if (us->npeers == 0) {
        return NULL;
    }

    if (us->consistent && us->hash_npoints) {
        points = us->hash_points;

        /* the first point at or after the key's hash, wrapping around */
        lo = 0;
        hi = us->hash_npoints;

        while (lo < hi) {
            mid = lo + (hi - lo) / 2;
            if (points[mid].hash < (uint32_t) hash) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }

        for (n = 0; n < us->hash_npoints; n++) {
            i = points[(lo + n) % us->hash_npoints].peer;
            peer = &us->peers[i];

            if (!dh_tried_test(tried, i) && dh_http_upstream_peer_usable(peer))
            {
                return peer;
            }
        }

        return NULL;
    }

    for (n = 0; n < DH_HTTP_UPSTREAM_HASH_TRIES; n++) {
        i = hash % us->npeers;
        peer = &us->peers[i];

        if (!dh_tried_test(tried, i) && dh_http_upstream_peer_usable(peer)) {
            return peer;
        }

        /* rehash: the same key always probes the same sequence */
        hash = hash * 113 + 6271;
    }

    return dh_http_upstream_rr(us, tried, 0, us->npeers, 0);
}


/*
 * Every server is down (not "down" in the conf, but failed): rather than
 * refusing every request until a fail_timeout ends, forget the failures
 * and try them again, as nginx does.  Only when the request has tried
 * nothing yet, so that one request does not go round in circles.
 */
static dh_uint_t
dh_http_upstream_revive(dh_http_upstream_srv_conf_t *us, uint8_t *tried)
{
    dh_uint_t  i, n;

    for (i = 0; i < (us->npeers + us->nbackup + 7) / 8; i++) {
        if (tried[i]) {
            return 0;
        }
    }

    n = 0;

    for (i = 0; i < us->npeers + us->nbackup; i++) {
        if (!us->peers[i].down && us->peers[i].down_until) {
            us->peers[i].down_until = 0;
            us->peers[i].fails = 0;
            n++;
        }
    }

    return n;
}


dh_http_upstream_peer_t *
dh_http_upstream_get_peer(dh_http_upstream_srv_conf_t *us, uint8_t *tried,
    dh_uint_t hash, dh_uint_t use_hash)
{
    dh_http_upstream_peer_t  *peer;

    peer = dh_http_upstream_pick(us, tried, hash, use_hash);

    if (peer == NULL && dh_http_upstream_revive(us, tried)) {
        peer = dh_http_upstream_pick(us, tried, hash, use_hash);
    }

    return peer;
}


static dh_http_upstream_peer_t *
dh_http_upstream_pick(dh_http_upstream_srv_conf_t *us, uint8_t *tried,
    dh_uint_t hash, dh_uint_t use_hash)
{
    dh_uint_t                 least;
    dh_http_upstream_peer_t  *peer;

    if (use_hash && (us->balancer == DH_HTTP_UPSTREAM_HASH
                     || us->balancer == DH_HTTP_UPSTREAM_IP_HASH))
    {
        return dh_http_upstream_by_hash(us, tried, hash);
    }

    least = (us->balancer == DH_HTTP_UPSTREAM_LEAST_CONN);

    peer = dh_http_upstream_rr(us, tried, 0, us->npeers, least);

    if (peer == NULL && us->nbackup) {
        peer = dh_http_upstream_rr(us, tried, us->npeers,
                                   us->npeers + us->nbackup, least);
    }

    return peer;
}


dh_uint_t
dh_http_upstream_peer_left(dh_http_upstream_srv_conf_t *us, uint8_t *tried)
{
    dh_uint_t  i;

    for (i = 0; i < us->npeers + us->nbackup; i++) {
        if (!dh_tried_test(tried, i)
            && dh_http_upstream_peer_usable(&us->peers[i]))
        {
            return 1;
        }
    }

    return 0;
}


void
dh_http_upstream_peer_done(dh_http_upstream_srv_conf_t *us,
    dh_http_upstream_peer_t *peer, dh_uint_t failed, dh_log_t *log)
{
    if (!failed) {
        peer->fails = 0;
        peer->down_until = 0;
        return;
    }

    /* a lone server is never taken out: there is nothing to fall back
     * to, and refusing would only turn its hiccup into an outage */
    if (peer->max_fails == 0 || us->npeers + us->nbackup == 1) {
        return;
    }

    /* failures count within a window of fail_timeout from the first */
    if (peer->fails == 0 || dh_current_msec - peer->checked
                            > peer->fail_timeout)
    {
        peer->fails = 0;
        peer->checked = dh_current_msec;
    }

    peer->fails++;

    if (peer->fails >= peer->max_fails) {
        peer->down_until = dh_current_msec + peer->fail_timeout;

        dh_log_error(DH_LOG_WARN, log, 0,
                     "upstream server temporarily disabled, upstream: "
                     "\"%.*s\", server: %.*s", DH_STR_FMT(us->name),
                     DH_STR_FMT(peer->name));
    }
}

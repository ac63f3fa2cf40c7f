/*
 * Upstreams named at run time, for requests by URL (Dive's LLM providers:
 * "https://api.openai.com/v1/chat/completions").
 *
 * Each worker keeps a small table of implicit upstreams by host and port.
 * A name is resolved with getaddrinfo() on the thread pool (the event
 * loop never blocks on DNS) and the answer is kept for
 * DH_HTTP_UPSTREAM_DNS_TTL: getaddrinfo() does not report the record's
 * TTL, so the time is fixed.  After that the addresses are still used
 * while a new resolution runs in the background; a request waits only
 * when the name has no address yet.  When the answer changes, new peers
 * replace the old ones (which stay allocated for the requests still
 * using them; the address set of a name rarely changes).  IP literals
 * need no resolution.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_http.h"
#include "dh_http_upstream_int.h"

#include <netdb.h>


#define DH_HTTP_UPSTREAM_DNS_TTL     60000
#define DH_HTTP_UPSTREAM_DYN_MAX     64      /* names per worker */
#define DH_HTTP_UPSTREAM_DYN_KEEP    8       /* cached connections */


typedef struct dh_http_upstream_dyn_s  dh_http_upstream_dyn_t;

typedef struct {
    dh_queue_t                      queue;
    dh_http_upstream_t             *u;
    dh_http_upstream_resolved_pt    handler;
} dh_http_upstream_waiter_t;


struct dh_http_upstream_dyn_s {
    dh_http_upstream_srv_conf_t     us;      /* first: the upstream */
    dh_pool_t                      *pool;
    dh_thread_task_t               *task;
    dh_msec_t                       resolved;   /* 0: never */
    dh_queue_t                      waiters;
    unsigned                        resolving:1;
    unsigned                        literal:1;
};


static dh_http_upstream_dyn_t  *dh_http_upstream_dyn[DH_HTTP_UPSTREAM_DYN_MAX];
static dh_uint_t                dh_http_upstream_ndyn;


dh_int_t
dh_http_upstream_resolver_init(dh_conf_t *cf)
{
    dh_http_upstream_main_conf_t  *umcf;

    umcf = dh_http_conf_get_module_main_conf(cf, dh_http_upstream_module);
    umcf->metrics_on = 1;

    /* reserves the "default" pool (4 threads unless declared) */
    if (dh_thread_pool_get(cf->cycle, NULL) == NULL) {
        return DH_ERROR;
    }

    return DH_OK;
}


/* Runs on a pool thread: only the lookup struct is touched. */
void
dh_http_upstream_lookup_handler(void *data, dh_log_t *log)
{
    dh_http_upstream_lookup_t  *lk = data;

    struct addrinfo   hints, *res, *ai;

    dh_memzero(&hints, sizeof(struct addrinfo));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;

    lk->naddrs = 0;
    lk->err = getaddrinfo(lk->host, NULL, &hints, &res);

    if (lk->err != 0) {
        return;
    }

    for (ai = res; ai && lk->naddrs < DH_HTTP_UPSTREAM_DYN_ADDRS;
         ai = ai->ai_next)
    {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            || ai->ai_addrlen > sizeof(dh_sockaddr_t))
        {
            continue;
        }

        dh_memcpy(&lk->addrs[lk->naddrs], ai->ai_addr, ai->ai_addrlen);
        lk->lens[lk->naddrs] = ai->ai_addrlen;
        dh_inet_set_port(&lk->addrs[lk->naddrs].sockaddr, lk->port);
        lk->naddrs++;
    }

    freeaddrinfo(res);

    if (lk->naddrs == 0) {
        lk->err = EAI_NONAME;
    }
}


static dh_uint_t
dh_http_upstream_same_addrs(dh_http_upstream_srv_conf_t *us,
    dh_http_upstream_lookup_t *lk)
{
    dh_uint_t  i;

    if (us->npeers != lk->naddrs) {
        return 0;
    }

    for (i = 0; i < lk->naddrs; i++) {
        if (dh_cmp_sockaddr(us->peers[i].sockaddr, us->peers[i].socklen,
                            &lk->addrs[i].sockaddr, lk->lens[i], 1)
            != DH_OK)
        {
            return 0;
        }
    }

    return 1;
}


/* New peers for the looked-up addresses, unless they did not change. */
static dh_int_t
dh_http_upstream_dyn_peers(dh_http_upstream_dyn_t *dyn,
    dh_http_upstream_lookup_t *lk)
{
    u_char                    text[DH_SOCKADDR_STRLEN];
    size_t                    len;
    dh_uint_t                 i;
    dh_http_upstream_peer_t  *peers, *p;

    if (dh_http_upstream_same_addrs(&dyn->us, lk)) {
        return DH_OK;
    }

    peers = dh_pcalloc(dyn->pool, lk->naddrs
                                  * sizeof(dh_http_upstream_peer_t));
    if (peers == NULL) {
        return DH_ERROR;
    }

    for (i = 0; i < lk->naddrs; i++) {
        p = &peers[i];

        p->sockaddr = dh_palloc(dyn->pool, lk->lens[i]);
        len = dh_sock_ntop(&lk->addrs[i].sockaddr, lk->lens[i], text,
                           sizeof(text), 1);
        p->name.data = dh_pnalloc(dyn->pool, len);

        if (p->sockaddr == NULL || p->name.data == NULL) {
            return DH_ERROR;
        }

        dh_memcpy(p->sockaddr, &lk->addrs[i], lk->lens[i]);
        p->socklen = lk->lens[i];
        dh_memcpy(p->name.data, text, len);
        p->name.len = len;
        p->server = dyn->us.host;
        p->weight = 1;
        p->max_fails = 1;
        p->fail_timeout = 10000;
    }

    dyn->us.peers = peers;
    dyn->us.npeers = lk->naddrs;

    dh_http_upstream_balancer_init_peers(&dyn->us);

    return DH_OK;
}


static void
dh_http_upstream_wake(dh_http_upstream_dyn_t *dyn, dh_int_t rc)
{
    dh_queue_t                 *q;
    dh_http_upstream_waiter_t  *w;

    /* a handler may start more requests by URL: take waiters one by one */
    while (!dh_queue_empty(&dyn->waiters)) {
        q = dh_queue_head(&dyn->waiters);
        dh_queue_remove(q);

        w = dh_queue_data(q, dh_http_upstream_waiter_t, queue);
        w->u->resolving = 0;
        w->u->priv = NULL;
        w->handler(w->u, rc);
    }
}


/* On the event loop once the lookup ended. */
void
dh_http_upstream_lookup_done(dh_thread_task_t *task)
{
    dh_http_upstream_dyn_t     *dyn = task->done_data;
    dh_http_upstream_lookup_t  *lk = task->ctx;

    dyn->resolving = 0;

    if (lk->err) {
        dh_log_error(DH_LOG_ERR, dh_cycle->log, 0,
                     "could not resolve upstream \"%s\": %s", lk->host,
                     gai_strerror(lk->err));

        /* the addresses of the last answer are better than none */
        dh_http_upstream_wake(dyn, dyn->us.npeers
                                   ? DH_OK : DH_HTTP_UPSTREAM_ERR_RESOLVE);
        return;
    }

    if (dh_http_upstream_dyn_peers(dyn, lk) != DH_OK) {
        dh_http_upstream_wake(dyn, dyn->us.npeers
                                   ? DH_OK : DH_HTTP_UPSTREAM_ERR_INTERNAL);
        return;
    }

    dyn->resolved = dh_current_msec;

    dh_http_upstream_wake(dyn, DH_OK);
}


static dh_http_upstream_dyn_t *
dh_http_upstream_dyn_find(dh_str_t *host, in_port_t port)
{
    dh_uint_t                i;
    dh_http_upstream_dyn_t  *dyn;

    for (i = 0; i < dh_http_upstream_ndyn; i++) {
        dyn = dh_http_upstream_dyn[i];

        if (dyn->us.port == port && dyn->us.host.len == host->len
            && dh_strncasecmp(dyn->us.host.data, host->data, host->len) == 0)
        {
            return dyn;
        }
    }

    return NULL;
}


/* An IP literal is its own answer. */
static dh_int_t
dh_http_upstream_dyn_literal(dh_http_upstream_dyn_t *dyn,
    dh_http_upstream_lookup_t *lk)
{
    struct sockaddr_in   *sin;
    struct sockaddr_in6  *sin6;

    dh_memzero(&lk->addrs[0], sizeof(dh_sockaddr_t));

    sin = &lk->addrs[0].sockaddr_in;
    sin6 = &lk->addrs[0].sockaddr_in6;

    if (inet_pton(AF_INET, lk->host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(lk->port);
        lk->lens[0] = sizeof(struct sockaddr_in);

    } else if (inet_pton(AF_INET6, lk->host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(lk->port);
        lk->lens[0] = sizeof(struct sockaddr_in6);

    } else {
        return DH_DECLINED;
    }

    lk->naddrs = 1;
    lk->err = 0;
    dyn->literal = 1;

    return dh_http_upstream_dyn_peers(dyn, lk);
}


static dh_http_upstream_dyn_t *
dh_http_upstream_dyn_add(dh_str_t *host, in_port_t port, dh_log_t *log)
{
    dh_int_t                    rc;
    dh_str_t                   *name;
    dh_pool_t                  *pool;
    dh_http_upstream_dyn_t     *dyn;
    dh_http_upstream_lookup_t  *lk;

    if (dh_http_upstream_ndyn == DH_HTTP_UPSTREAM_DYN_MAX) {
        dh_log_error(DH_LOG_ERR, log, 0,
                     "too many upstream names used at run time (%d), "
                     "\"%.*s\" not added", DH_HTTP_UPSTREAM_DYN_MAX,
                     DH_STR_FMT(*host));
        return NULL;
    }

    pool = dh_create_pool(2048, dh_cycle->log);
    if (pool == NULL) {
        return NULL;
    }

    dyn = dh_pcalloc(pool, sizeof(dh_http_upstream_dyn_t));
    if (dyn == NULL) {
        goto failed;
    }

    dyn->pool = pool;
    dh_queue_init(&dyn->waiters);

    dyn->us.host.data = dh_pstrdup(pool, host);
    if (dyn->us.host.data == NULL) {
        goto failed;
    }

    dyn->us.host.len = host->len;

    name = dh_psprintf(pool, "%.*s:%u", DH_STR_FMT(*host), (unsigned) port);
    if (name == NULL) {
        goto failed;
    }

    dyn->us.name = *name;
    dyn->us.port = port;
    dyn->us.implicit = 1;
    dyn->us.keepalive = DH_HTTP_UPSTREAM_DYN_KEEP;
    dyn->us.keepalive_timeout = 60000;
    dyn->us.keepalive_requests = 1000;

    dyn->task = dh_thread_task_alloc(pool, sizeof(dh_http_upstream_lookup_t));
    if (dyn->task == NULL) {
        goto failed;
    }

    lk = dyn->task->ctx;
    lk->host = (char *) dyn->us.host.data;
    lk->port = port;

    dyn->task->handler = dh_http_upstream_lookup_handler;
    dyn->task->done = dh_http_upstream_lookup_done;
    dyn->task->done_data = dyn;

    if (dh_http_upstream_keepalive_init(pool, &dyn->us) != DH_OK) {
        goto failed;
    }

    rc = dh_http_upstream_dyn_literal(dyn, lk);

    if (rc == DH_ERROR) {
        goto failed;
    }

    dh_http_upstream_dyn[dh_http_upstream_ndyn++] = dyn;

    return dyn;

failed:

    dh_destroy_pool(pool);

    return NULL;
}


dh_int_t
dh_http_upstream_create_url(dh_http_upstream_t *u, dh_str_t *url,
    dh_http_upstream_url_t *pu, dh_http_upstream_resolved_pt handler)
{
    char                       *err;
    in_port_t                   port;
    dh_thread_pool_t           *tp;
    dh_http_upstream_dyn_t     *dyn;
    dh_http_upstream_waiter_t  *w;

    if (dh_http_upstream_parse_url(url, pu, &err) != DH_OK) {
        dh_log_error(DH_LOG_ERR, u->log, 0, "%s in upstream URL \"%.*s\"",
                     err, DH_STR_FMT(*url));
        return DH_ERROR;
    }

    port = pu->port ? pu->port : (pu->tls ? 443 : 80);

    dyn = dh_http_upstream_dyn_find(&pu->host, port);

    if (dyn == NULL) {
        dyn = dh_http_upstream_dyn_add(&pu->host, port, u->log);
        if (dyn == NULL) {
            return DH_ERROR;
        }
    }

    u->upstream = &dyn->us;

    if (dyn->literal
        || (dyn->resolved
            && dh_current_msec - dyn->resolved < DH_HTTP_UPSTREAM_DNS_TTL))
    {
        handler(u, DH_OK);
        return DH_OK;
    }

    if (!dyn->resolving) {
        tp = dh_thread_pool_get((dh_cycle_t *) dh_cycle, NULL);

        if (tp == NULL || dh_thread_task_post(tp, dyn->task) != DH_OK) {
            dh_log_error(DH_LOG_ERR, u->log, 0,
                         "cannot resolve \"%.*s\": no thread pool (a "
                         "module must call dh_http_upstream_resolver_init)",
                         DH_STR_FMT(pu->host));

            if (dyn->us.npeers == 0) {
                return DH_ERROR;
            }

            handler(u, DH_OK);
            return DH_OK;
        }

        dyn->resolving = 1;
    }

    /* stale addresses serve while the new answer comes */
    if (dyn->us.npeers) {
        handler(u, DH_OK);
        return DH_OK;
    }

    w = dh_palloc(u->pool, sizeof(dh_http_upstream_waiter_t));
    if (w == NULL) {
        return DH_ERROR;
    }

    w->u = u;
    w->handler = handler;
    dh_queue_insert_tail(&dyn->waiters, &w->queue);

    u->resolving = 1;
    u->priv = w;

    return DH_OK;
}


void
dh_http_upstream_resolve_cancel(dh_http_upstream_t *u)
{
    dh_http_upstream_waiter_t  *w = u->priv;

    dh_queue_remove(&w->queue);
    u->resolving = 0;
    u->priv = NULL;
}

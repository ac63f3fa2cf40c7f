/*
 * Unit tests of the event layer's timers and posted events, of the epoll
 * backend on socketpairs (edge-triggered reads, stale events of a closed
 * slot, the chain writer) and of the thread pool's eventfd completions.
 */

#include "dh_config.h"
#include "dh_core.h"
#include "dh_event.h"

#include <poll.h>

#include "t/unit/dh_tap.h"


#define NCONN  8


static dh_log_t   test_log;      /* log_level 0: silent */
static dh_cycle_t test_cycle;

static int        fired[16];
static int        nfired;


/* ---- timers ----------------------------------------------------------- */


static void
record_handler(dh_event_t *ev)
{
    fired[nfired++] = (int) (intptr_t) ev->data;
}


static void
rearm_handler(dh_event_t *ev)
{
    record_handler(ev);

    /* a handler adding its own timer again must not run twice in one
     * expiry pass */
    dh_event_add_timer(ev, 50);
}


static void
init_event(dh_event_t *ev, int id, dh_event_handler_pt handler)
{
    dh_memzero(ev, sizeof(dh_event_t));
    ev->data = (void *) (intptr_t) id;
    ev->handler = handler;
    ev->log = &test_log;
}


static void
test_timers(void)
{
    int          i;
    dh_event_t   ev[5], again;
    dh_msec_t    key;
    static int   delays[5] = { 500, 100, 300, 200, 400 };

    dh_event_timer_init(&test_log);
    dh_current_msec = 1000;

    ok(dh_event_find_timer() == DH_TIMER_INFINITE, "no timer: infinite wait");
    is_int(dh_event_no_timers_left(), 1, "empty tree: no timers left");

    for (i = 0; i < 5; i++) {
        init_event(&ev[i], delays[i], record_handler);
        dh_event_add_timer(&ev[i], (dh_msec_t) delays[i]);
    }

    is_int(dh_event_find_timer(), 100, "next timer in 100 ms");

    dh_current_msec = 1250;
    nfired = 0;
    dh_event_expire_timers();

    is_int(nfired, 2, "two timers due after 250 ms");
    ok(fired[0] == 100 && fired[1] == 200, "fired in deadline order");
    ok(ev[1].timedout && !ev[1].timer_set, "fired timer: timedout, unset");
    is_int(dh_event_find_timer(), 50, "next timer in 50 ms");

    /* deletion */
    dh_event_del_timer(&ev[2]);
    ok(!ev[2].timer_set, "deleted timer is unset");
    dh_event_del_timer(&ev[2]);
    ok(1, "deleting twice is harmless");

    dh_current_msec = 2000;
    nfired = 0;
    dh_event_expire_timers();

    is_int(nfired, 2, "remaining two fired");
    ok(fired[0] == 400 && fired[1] == 500, "in order, deleted one skipped");
    ok(!ev[2].timedout, "deleted timer never fired");
    ok(dh_event_find_timer() == DH_TIMER_INFINITE, "tree empty again");

    /* lazy re-add */
    init_event(&ev[0], 1, record_handler);
    dh_event_add_timer(&ev[0], 1000);
    key = ev[0].timer.key;

    dh_current_msec = 2100;
    dh_event_add_timer(&ev[0], 1000);
    ok(ev[0].timer.key == key, "re-add within the lazy delay keeps the key");

    dh_current_msec = 2000 + DH_TIMER_LAZY_DELAY + 1;
    dh_event_add_timer(&ev[0], 1000);
    ok(ev[0].timer.key == dh_current_msec + 1000,
       "re-add beyond the lazy delay moves the key");

    dh_event_add_timer(&ev[0], 10);
    ok(ev[0].timer.key == dh_current_msec + 10, "an earlier deadline moves it");

    /* cancelable accounting */
    ev[0].cancelable = 1;
    is_int(dh_event_no_timers_left(), 1, "only cancelable timers: none left");

    init_event(&ev[1], 2, record_handler);
    dh_event_add_timer(&ev[1], 5000);
    is_int(dh_event_no_timers_left(), 0, "a plain timer keeps the worker");

    dh_event_del_timer(&ev[1]);
    is_int(dh_event_no_timers_left(), 1, "deleting it releases the worker");

    dh_event_del_timer(&ev[0]);

    /* a handler that re-arms itself runs once per pass */
    init_event(&again, 7, rearm_handler);
    dh_event_add_timer(&again, 0);
    nfired = 0;
    dh_event_expire_timers();
    is_int(nfired, 1, "self re-arming timer ran once");
    ok(again.timer_set, "and is armed again");
    dh_event_del_timer(&again);

    /* the monotonic clock wrapping around keeps the order */
    dh_current_msec = (dh_msec_t) -150;

    init_event(&ev[0], 1, record_handler);
    init_event(&ev[1], 2, record_handler);
    init_event(&ev[2], 3, record_handler);
    dh_event_add_timer(&ev[2], 300);       /* after the wrap */
    dh_event_add_timer(&ev[0], 100);       /* before it */
    dh_event_add_timer(&ev[1], 200);       /* after it */

    is_int(dh_event_find_timer(), 100, "wrap: nearest timer first");

    dh_current_msec = 250;          /* 400 ms later */
    nfired = 0;
    dh_event_expire_timers();
    ok(nfired == 3 && fired[0] == 1 && fired[1] == 2 && fired[2] == 3,
       "wrap: all fired in order");
}


/* ---- posted events ---------------------------------------------------- */


static dh_event_t  posted_ev[3];


static void
posting_handler(dh_event_t *ev)
{
    record_handler(ev);

    /* posting from a handler runs in the same pass; deleting a queued
     * event keeps it from running */
    if (ev == &posted_ev[0]) {
        dh_post_event(&posted_ev[2], &dh_posted_events);
        dh_delete_posted_event(&posted_ev[1]);
    }
}


static void
test_posted(void)
{
    int  i;

    dh_queue_init(&dh_posted_events);
    dh_queue_init(&dh_posted_next_events);
    dh_queue_init(&dh_posted_accept_events);

    for (i = 0; i < 3; i++) {
        init_event(&posted_ev[i], i, posting_handler);
    }

    dh_post_event(&posted_ev[0], &dh_posted_events);
    dh_post_event(&posted_ev[0], &dh_posted_events);
    dh_post_event(&posted_ev[1], &dh_posted_events);
    ok(posted_ev[0].posted, "event is posted");

    nfired = 0;
    dh_event_process_posted(&test_cycle, &dh_posted_events);

    ok(nfired == 2 && fired[0] == 0 && fired[1] == 2,
       "posted once, deleted one skipped, newly posted one ran");
    ok(dh_queue_empty(&dh_posted_events), "queue drained");

    dh_post_event(&posted_ev[1], &dh_posted_next_events);
    dh_event_move_posted_next(&test_cycle);
    ok(dh_queue_empty(&dh_posted_next_events)
       && !dh_queue_empty(&dh_posted_events) && posted_ev[1].ready,
       "next-round events move to this round, ready");

    nfired = 0;
    dh_event_process_posted(&test_cycle, &dh_posted_events);
    ok(nfired == 1 && fired[0] == 1, "moved event ran");
}


/* ---- epoll and connections --------------------------------------------- */


static dh_connection_t  conns[NCONN];
static dh_event_t       revs[NCONN], wevs[NCONN];
static dh_event_ctx_t   ctx;

static void
init_connections(void)
{
    int  i;

    dh_memzero(&ctx, sizeof(ctx));
    dh_memzero(conns, sizeof(conns));
    dh_memzero(revs, sizeof(revs));
    dh_memzero(wevs, sizeof(wevs));

    for (i = NCONN - 1; i >= 0; i--) {
        revs[i].closed = 1;
        revs[i].instance = 1;
        wevs[i].closed = 1;

        conns[i].data = ctx.free_connections;
        conns[i].read = &revs[i];
        conns[i].write = &wevs[i];
        conns[i].fd = -1;

        ctx.free_connections = &conns[i];
    }

    ctx.connections = conns;
    ctx.read_events = revs;
    ctx.write_events = wevs;
    ctx.connection_n = NCONN;
    ctx.free_connection_n = NCONN;
    dh_queue_init(&ctx.reusable_connections_queue);

    dh_event_ctx = &ctx;
}


static int              reads;
static int              close_other;
static dh_connection_t *pair[2];


static void
noop_handler(dh_event_t *ev)
{
}


static void
read_handler(dh_event_t *ev)
{
    u_char            buf[4];
    ssize_t           n;
    dh_connection_t  *c, *other;

    c = ev->data;
    reads++;

    /* the first handler closes the other connection of the pair, whose
     * event is already queued in this batch */
    if (close_other) {
        close_other = 0;
        other = (c == pair[0]) ? pair[1] : pair[0];
        dh_close_connection(other);
    }

    if (c->close) {
        /* how a protocol answers a wake-up with c->close set */
        dh_close_connection(c);
        return;
    }

    do {
        n = c->recv(c, buf, sizeof(buf));
    } while (n > 0);
}


static dh_connection_t *
make_conn(int fd)
{
    dh_connection_t  *c;

    c = dh_get_connection(fd, &test_log);
    if (c == NULL) {
        return NULL;
    }

    c->recv = dh_unix_recv;
    c->send = dh_unix_send;
    c->send_chain = dh_writev_chain;
    c->read->handler = read_handler;
    c->write->handler = noop_handler;
    c->write->ready = 1;

    if (dh_add_conn(c) != DH_OK) {
        return NULL;
    }

    return c;
}


static void
set_bufs(dh_buf_t *bufs, dh_chain_t *chain, u_char *out)
{
    int  i;

    dh_memzero(bufs, 3 * sizeof(dh_buf_t));

    for (i = 0; i < 3; i++) {
        bufs[i].memory = 1;
        chain[i].buf = &bufs[i];
        chain[i].next = (i < 2) ? &chain[i + 1] : NULL;
    }

    bufs[0].pos = out;       bufs[0].last = out + 5;
    bufs[1].pos = out + 5;   bufs[1].last = out + 7;
    bufs[2].pos = out + 7;   bufs[2].last = out + 13;
}


static void
test_epoll(void)
{
    int               a[2], b[2], peer, i;
    char              tmpl[] = "/tmp/dh_test_timer_XXXXXX";
    u_char            out[100];
    ssize_t           n;
    dh_buf_t          bufs[3];
    dh_file_t         file;
    dh_chain_t        chain[3], *rest;
    dh_connection_t  *ca, *cc, *full[NCONN], *survivor, *gone;
    dh_uint_t         old_instance;

    init_connections();
    dh_event_timer_init(&test_log);

    ok(dh_epoll_init(&test_cycle, 16) == DH_OK, "epoll_init");

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a) == -1
        || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b) == -1)
    {
        ok(0, "socketpair");
        return;
    }

    pair[0] = make_conn(a[0]);
    pair[1] = make_conn(b[0]);
    ok(pair[0] && pair[1], "two connections from the array");
    is_int(ctx.free_connection_n, NCONN - 2, "two slots taken");

    /* the writable edge on registration */
    dh_process_events(&test_cycle, 0, 0);

    is_int(write(a[1], "0123456789", 10), 10, "peer a writes");
    is_int(write(b[1], "xy", 2), 2, "peer b writes");

    reads = 0;
    dh_process_events(&test_cycle, 1000, 0);
    is_int(reads, 2, "both read handlers ran");
    ok(!pair[0]->read->ready, "read until EAGAIN: not ready");

    /* one edge per arrival: no new data, no new event */
    reads = 0;
    dh_process_events(&test_cycle, 10, 0);
    is_int(reads, 0, "edge-triggered: nothing new, no wake-up");

    /* the first handler closes the other connection while that one's
     * event waits in the same batch */
    is_int(write(a[1], "1", 1), 1, "peer a writes again");
    is_int(write(b[1], "2", 1), 1, "peer b writes again");

    close_other = 1;
    reads = 0;
    dh_process_events(&test_cycle, 1000, 0);
    is_int(reads, 1, "closed connection's queued event dropped");
    is_int(ctx.free_connection_n, NCONN - 1, "slot back on the free list");

    gone = (pair[0]->fd == -1) ? pair[0] : pair[1];
    survivor = (gone == pair[0]) ? pair[1] : pair[0];
    peer = (survivor == pair[0]) ? a[1] : b[1];
    close((gone == pair[0]) ? a[1] : b[1]);

    old_instance = gone->read->instance;
    cc = dh_get_connection(dup(peer), &test_log);
    ok(cc == gone && cc->read->instance != old_instance,
       "the freed slot is reused with its instance flipped");
    dh_close_connection(cc);

    /* EOF */
    close(peer);
    reads = 0;
    dh_process_events(&test_cycle, 1000, 0);
    ok(reads == 1 && survivor->read->eof, "peer close seen as eof");
    dh_close_connection(survivor);

    /* running out of slots reclaims the oldest reusable connection: it
     * is woken with c->close set and closes itself */
    for (i = 0; i < NCONN; i++) {
        full[i] = make_conn(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
    }

    is_int(ctx.free_connection_n, 0, "array full");
    dh_reusable_connection(full[3], 1);
    dh_reusable_connection(full[5], 1);
    dh_reusable_connection(full[3], 0);
    dh_reusable_connection(full[3], 1);     /* now the newest */

    cc = dh_get_connection(socket(AF_UNIX, SOCK_STREAM, 0), &test_log);
    ok(cc == full[5], "the oldest reusable slot was reclaimed");
    ok(full[3]->reusable && full[3]->fd != -1, "the newer one kept");
    is_int(ctx.reusable_connections_n, 1, "one reusable left");

    full[5] = cc;

    for (i = 0; i < NCONN; i++) {
        dh_close_connection(full[i]);
    }

    is_int(ctx.reusable_connections_n, 0, "close takes it off the LRU");

    /* chain writer: adjacent buffers are sent in one piece */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a) == -1) {
        ok(0, "socketpair");
        return;
    }

    ca = make_conn(a[0]);
    memcpy(out, "hello, world!", 13);
    set_bufs(bufs, chain, out);

    rest = ca->send_chain(ca, chain, 0);
    ok(rest == NULL, "whole chain sent");
    is_int(ca->sent, 13, "c->sent counts bytes");

    n = read(a[1], out + 20, 50);
    ok(n == 13 && memcmp(out + 20, "hello, world!", 13) == 0,
       "peer got the bytes in order");

    set_bufs(bufs, chain, out);
    rest = ca->send_chain(ca, chain, 6);
    ok(rest == &chain[1] && bufs[1].pos == out + 6, "limit stops mid-buffer");
    rest = ca->send_chain(ca, rest, 0);
    ok(rest == NULL, "the rest follows");
    n = read(a[1], out + 20, 50);
    ok(n == 13 && memcmp(out + 20, "hello, world!", 13) == 0,
       "peer got it all once");

    /* sendfile chain: a header in memory, then a file range */
    dh_memzero(&file, sizeof(dh_file_t));
    file.fd = mkstemp(tmpl);
    unlink(tmpl);
    is_int(write(file.fd, "0123456789abcdef", 16), 16, "temp file");
    dh_str_set(&file.name, "tmpfile");

    set_bufs(bufs, chain, out);
    bufs[1].memory = 0;
    bufs[1].in_file = 1;
    bufs[1].file = &file;
    bufs[1].file_pos = 4;
    bufs[1].file_last = 10;
    bufs[2].pos = out + 5;
    bufs[2].last = out + 7;

    rest = dh_linux_sendfile_chain(ca, chain, 0);
    ok(rest == NULL, "header + file + trailer sent");
    n = read(a[1], out + 20, 50);
    ok(n == 13 && memcmp(out + 20, "hello456789, ", 13) == 0,
       "in order: memory, file range, memory");

    bufs[1].file_pos = 10;
    bufs[1].file_last = 30;         /* past the end of the file */
    bufs[0].pos = bufs[0].last;
    bufs[2].pos = bufs[2].last;
    rest = dh_linux_sendfile_chain(ca, chain, 0);
    ok(rest == &chain[1] && bufs[1].file_pos == 16 && !ca->write->ready,
       "short sendfile: partial progress, not ready");
    ca->write->ready = 1;
    rest = dh_linux_sendfile_chain(ca, chain, 0);
    ok(rest == DH_CHAIN_ERROR, "a truncated file is an error");

    close(file.fd);
    dh_close_connection(ca);
    close(a[1]);

    is_int(ctx.free_connection_n, NCONN, "all slots free again");
    is_int(dh_active_connections(&test_cycle), 0, "no active connections");
}


/* ---- accept ------------------------------------------------------------ */


static dh_connection_t  *accepted;


static void
accepted_handler(dh_connection_t *c)
{
    accepted = c;

    /* a protocol's init handler sets both before returning */
    c->read->handler = noop_handler;
    c->write->handler = noop_handler;
}


static void
test_accept(void)
{
    int                  fd, cl, cl2;
    socklen_t            len;
    dh_listening_t       ls;
    dh_connection_t     *lc, *listeners[1];
    struct sockaddr_in   sin;

    init_connections();
    dh_queue_init(&dh_posted_accept_events);
    dh_queue_init(&dh_posted_events);
    ok(dh_epoll_init(&test_cycle, 16) == DH_OK, "epoll_init");

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    dh_memzero(&sin, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(sin);

    if (fd == -1 || bind(fd, (struct sockaddr *) &sin, len) == -1
        || listen(fd, 16) == -1
        || getsockname(fd, (struct sockaddr *) &sin, &len) == -1)
    {
        ok(0, "listening socket");
        return;
    }

    dh_memzero(&ls, sizeof(ls));
    ls.fd = fd;
    ls.type = SOCK_STREAM;
    memcpy(&ls.sockaddr, &sin, len);
    ls.socklen = len;
    ls.handler = accepted_handler;
    ls.logp = &test_log;

    lc = dh_get_connection(fd, &test_log);
    lc->internal = 1;
    ctx.internal_n++;
    lc->listening = &ls;
    lc->read->accept = 1;
    lc->read->handler = dh_event_accept;
    listeners[0] = lc;
    ctx.listeners = listeners;
    ctx.listeners_n = 1;

    ok(dh_add_event(lc->read, DH_READ_EVENT, DH_LEVEL_EVENT) == DH_OK,
       "listener added level-triggered");
    is_int(dh_active_connections(&test_cycle), 0,
           "a listener is not an active connection");

    cl = socket(AF_INET, SOCK_STREAM, 0);
    ok(connect(cl, (struct sockaddr *) &sin, len) == 0, "client connects");

    accepted = NULL;
    dh_process_events(&test_cycle, 1000, 0);

    ok(accepted != NULL, "accept handed the connection to ls->handler");

    if (accepted) {
        is_int(dh_active_connections(&test_cycle), 1, "one active connection");
        ok(accepted->pool && accepted->number == dh_connection_counter,
           "pool and number");
        is_str(accepted->addr_text.data, "127.0.0.1", "client address text");
        ok(accepted->log->connection == accepted->number,
           "log carries the connection number");
        ok(accepted->read->active && accepted->write->ready,
           "registered, writable");

        is_int(write(cl, "x", 1), 1, "client writes");
        dh_process_events(&test_cycle, 1000, 0);
        ok(accepted->read->ready, "the accepted connection gets read events");

        /* the protocol's close: slot first, then its pool */
        {
            dh_pool_t  *pool = accepted->pool;
            dh_close_connection(accepted);
            dh_destroy_pool(pool);
        }
    }

    /* overload throttle only matters with several workers */
    ok(!(dh_event_flags & DH_USE_ACCEPT_THROTTLE), "one worker: no throttle");

    dh_event_flags |= DH_ACCEPT_STOPPED;
    dh_event_update_accept();
    ok(!lc->read->active, "stopped accepting: listener out of epoll");

    dh_event_flags &= ~DH_ACCEPT_STOPPED;
    dh_event_update_accept();
    ok(lc->read->active, "and back in");

    /* several workers: the listener goes in with EPOLLEXCLUSIVE */
    dh_del_event(lc->read, DH_READ_EVENT, 0);
    ok(dh_add_event(lc->read, DH_READ_EVENT,
                    DH_LEVEL_EVENT|DH_EXCLUSIVE_EVENT) == DH_OK,
       "listener added with EPOLLEXCLUSIVE");

    cl2 = socket(AF_INET, SOCK_STREAM, 0);
    ok(connect(cl2, (struct sockaddr *) &sin, len) == 0, "second client");

    accepted = NULL;
    dh_process_events(&test_cycle, 1000, 0);
    ok(accepted != NULL, "accepted through the exclusive listener");

    if (accepted) {
        dh_pool_t  *pool = accepted->pool;
        dh_close_connection(accepted);
        dh_destroy_pool(pool);
    }

    close(cl2);

    close(cl);
    dh_del_event(lc->read, DH_READ_EVENT, 0);
    lc->internal = 0;
    ctx.internal_n--;
    lc->fd = -1;
    dh_free_connection(lc);
    close(fd);

    dh_epoll_done(&test_cycle);
}


/* ---- thread pool ------------------------------------------------------- */


#define NTASKS  100

typedef struct {
    int         in;
    int         out;
    pthread_t   thread;
} job_t;

static pthread_t        main_thread;
static int              done_n, done_wrong;
static pthread_mutex_t  gate = PTHREAD_MUTEX_INITIALIZER;
static int              gate_entered;   /* threads that reached the gate */


static void
job_handler(void *data, dh_log_t *log)
{
    job_t  *job = data;

    job->out = job->in * 2;
    job->thread = pthread_self();
}


static void
job_done(dh_thread_task_t *task)
{
    job_t  *job = task->ctx;

    if (job->out != job->in * 2 || pthread_equal(job->thread, main_thread)
        || !pthread_equal(pthread_self(), main_thread))
    {
        done_wrong++;
    }

    done_n++;
}


static void
gate_handler(void *data, dh_log_t *log)
{
    __atomic_add_fetch(&gate_entered, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&gate);
    pthread_mutex_unlock(&gate);
}


static void
test_thread_pool(void)
{
    int                 i, tries;
    void               *slots[1];
    dh_str_t            other = dh_string("other");
    job_t              *job;
    dh_pool_t          *pool;
    struct pollfd       pfd;
    dh_core_module_t   *m;
    dh_thread_pool_t   *tp;
    dh_thread_task_t   *task;

    main_thread = pthread_self();

    pool = dh_create_pool(16384, &test_log);
    test_cycle.pool = pool;
    test_cycle.log = &test_log;

    /* a cycle whose only module is the thread pool */
    dh_thread_pool_module.index = 0;

    m = dh_thread_pool_module.ctx;
    slots[0] = m->create_conf(&test_cycle);
    test_cycle.conf_ctx = (void ****) slots;

    tp = dh_thread_pool_get(&test_cycle, NULL);
    ok(tp != NULL, "default pool reserved during configuration");
    ok(m->init_conf(&test_cycle, slots[0]) == DH_CONF_OK, "init_conf");
    is_int(tp->threads, 4, "default pool has 4 threads");
    is_str(tp->name.data, "default", "named \"default\"");
    ok(dh_thread_pool_get(&test_cycle, &other) == NULL,
       "unknown pool after configuration: NULL");
    is_int(dh_thread_pools(&test_cycle)->nelts, 1, "one pool in the cycle");

    ok(dh_thread_pool_start_all(&test_cycle) == DH_OK, "threads started");
    ok(tp->notify_fd != -1 && tp->running == 4, "eventfd and 4 threads");

    for (i = 0; i < NTASKS; i++) {
        task = dh_thread_task_alloc(pool, sizeof(job_t));
        job = task->ctx;
        job->in = i;
        task->handler = job_handler;
        task->done = job_done;

        if (dh_thread_task_post(tp, task) != DH_OK) {
            break;
        }
    }

    is_int(i, NTASKS, "all tasks posted");

    pfd.fd = tp->notify_fd;
    pfd.events = POLLIN;

    for (tries = 0; done_n < NTASKS && tries < 1000; tries++) {
        if (poll(&pfd, 1, 1000) == 1) {
            dh_thread_pool_process_done(tp);
        }
    }

    is_int(done_n, NTASKS, "every completion came back through the eventfd");
    is_int(done_wrong, 0, "handlers on pool threads, done on the loop");

    is_int(poll(&pfd, 1, 0), 0, "eventfd drained");

    /* max_queue: first occupy all four threads (the limit is set only
     * afterwards, or a slow thread would make one of these four refused
     * and leave a thread free to take the tasks counted below) */
    pthread_mutex_lock(&gate);

    for (i = 0; i < 4; i++) {
        task = dh_thread_task_alloc(pool, 0);
        task->handler = gate_handler;
        task->done = job_done;
        dh_thread_task_post(tp, task);
    }

    /* wait until all four threads are blocked on the gate (generous: a
     * loaded machine, e.g. a sanitizer run beside other tests, may take
     * long to schedule them; no timing is asserted) */
    for (tries = 0; tries < 30000; tries++) {
        if (__atomic_load_n(&gate_entered, __ATOMIC_SEQ_CST) == 4) {
            break;
        }

        usleep(1000);
    }

    tp->max_queue = 2;

    for (i = 0; i < 3; i++) {
        task = dh_thread_task_alloc(pool, 0);
        task->handler = gate_handler;
        task->done = job_done;

        if (dh_thread_task_post(tp, task) != DH_OK) {
            break;
        }
    }

    is_int(i, 2, "max_queue 2: the third waiting task is refused");

    pthread_mutex_unlock(&gate);

    dh_thread_pool_stop_all(&test_cycle);
    ok(tp->notify_fd == -1 && tp->running == 0, "pool stopped and joined");

    dh_destroy_pool(pool);
}


int
main(void)
{
    test_log.log_level = 0;
    dh_time_init();

    test_timers();
    test_posted();
    test_epoll();
    test_accept();
    test_thread_pool();

    return done_testing();
}

/*
 * The shared-memory slab allocator (size classes, page runs, exhaustion,
 * reuse, double free, two processes) and named shared memory zones
 * (declaration conflicts, reuse across a reload, resize, rollback).
 */

#include "dh_config.h"
#include "dh_core.h"

#include "t/unit/dh_tap.h"


/* Stand-ins for the logger and conf parser of other slices: remember the
 * last message so the tests can check what would have been logged. */

static char                 last_msg[1024];
static dh_log_t             test_log = { DH_LOG_DEBUG, NULL, 0, NULL, NULL,
                                         NULL, NULL };
static dh_cycle_t           test_cycle;
volatile dh_cycle_t        *dh_cycle = &test_cycle;


void
dh_log_error_core(dh_uint_t level, dh_log_t *log, dh_err_t err,
    const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(last_msg, sizeof(last_msg), fmt, args);
    va_end(args);
}


void
dh_conf_log_error(dh_uint_t level, dh_conf_t *cf, dh_err_t err,
    const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(last_msg, sizeof(last_msg), fmt, args);
    va_end(args);
}


static dh_slab_pool_t *
make_pool(size_t size)
{
    u_char          *p;
    dh_slab_pool_t  *sp;

    p = mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_ANONYMOUS|MAP_SHARED,
             -1, 0);
    if (p == MAP_FAILED) {
        return NULL;
    }

    sp = (dh_slab_pool_t *) p;
    sp->end = p + size;
    sp->addr = p;
    sp->min_shift = 3;
    dh_slab_init(sp);

    return sp;
}


static void
test_init(void)
{
    dh_slab_pool_t  *sp;

    sp = make_pool(1024 * 1024);
    ok(sp != NULL, "1 MiB zone");
    ok(sp->npages >= 240 && sp->npages < 256, "%lu pages of 4 KiB",
       (unsigned long) sp->npages);
    is_int(sp->pfree, sp->npages, "all pages free");
    is_int((uintptr_t) sp->start % dh_pagesize, 0, "pages are page-aligned");
    ok(sp->start + sp->npages * dh_pagesize <= sp->end, "pages fit");
    is_int(sp->nslots, 9, "9 size classes: 8 .. 2048");
    is_str((char *) sp->log_ctx, "", "no zone name yet");
    munmap(sp, 1024 * 1024);

    sp = make_pool(dh_pagesize);
    is_int(sp->npages, 0, "a one-page zone has no room for pages");
    ok(dh_slab_alloc(sp, 8) == NULL, "allocation from it fails");
    ok(strstr(last_msg, "no memory") != NULL, "and is logged: %s", last_msg);
    munmap(sp, dh_pagesize);
}


static void
test_classes(void)
{
    u_char          *p[12];
    size_t           sizes[12] = { 0, 1, 7, 8, 9, 16, 100, 1024, 2048, 2049,
                                   4096, 10000 };
    size_t           rounded[12] = { 8, 8, 8, 8, 16, 16, 128, 1024, 2048,
                                     4096, 4096, 12288 };
    dh_uint_t        i, j, good, overlap, pfree;
    dh_slab_pool_t  *sp;

    sp = make_pool(1024 * 1024);
    pfree = sp->pfree;

    good = 1;
    for (i = 0; i < 12; i++) {
        p[i] = dh_slab_alloc(sp, sizes[i]);
        if (p[i] == NULL || p[i] < sp->start || p[i] >= sp->end) {
            good = 0;
            continue;
        }
        /* objects are aligned to their (rounded) size, pages to a page */
        if ((uintptr_t) p[i] % dh_min(rounded[i], dh_pagesize) != 0) {
            good = 0;
        }
        memset(p[i], (int) i + 1, sizes[i]);
    }
    ok(good, "allocations of 0 .. 10000 bytes, each aligned to its class");

    overlap = 0;
    for (i = 0; i < 12; i++) {
        for (j = 0; j < sizes[i]; j++) {
            if (p[i][j] != (u_char) (i + 1)) {
                overlap = 1;
            }
        }
    }
    ok(!overlap, "no allocation overwrote another");

    /* 8, 16, 128, 1024, 2048 classes: 5 small pages; 2049 and 4096: one
     * page each; 10000: 3 pages */
    is_int(pfree - sp->pfree, 5 + 1 + 1 + 3, "pages taken");

    is_int(sp->stats[0].used, 4, "class 8: 4 objects in use");
    is_int(sp->stats[0].total, dh_pagesize / 8, "class 8: one page");
    is_int(sp->stats[1].used, 2, "class 16: 2 objects");
    is_int(sp->stats[4].reqs, 1, "class 128: 1 request");

    for (i = 0; i < 12; i++) {
        dh_slab_free(sp, p[i]);
    }

    is_int(sp->pfree, pfree, "all pages back after freeing everything");
    is_int(sp->stats[0].used + sp->stats[0].total, 0,
           "class 8 empty and its page released");

    munmap(sp, 1024 * 1024);
}


static void
test_exhaustion(void)
{
    void            *p, **ptrs;
    dh_uint_t        n, i, npages, per_page, distinct;
    dh_slab_pool_t  *sp;

    sp = make_pool(256 * 1024);
    npages = sp->npages;

    /* whole pages until nothing is left */
    ptrs = calloc(npages + 1, sizeof(void *));
    for (n = 0; n <= npages; n++) {
        ptrs[n] = dh_slab_alloc(sp, dh_pagesize);
        if (ptrs[n] == NULL) {
            break;
        }
    }
    is_int(n, npages, "exactly npages single pages fit");
    is_int(sp->pfree, 0, "no free page left");
    ok(dh_slab_alloc(sp, 8) == NULL, "even 8 bytes fail now");
    ok(strstr(last_msg, "no memory") != NULL, "failure logged");
    ok(sp->stats[0].fails == 1, "class 8 counts the failure");

    sp->log_nomem = 0;
    last_msg[0] = '\0';
    ok(dh_slab_alloc(sp, 100000) == NULL && last_msg[0] == '\0',
       "log_nomem = 0 silences the message");
    sp->log_nomem = 1;

    /* free every other page: no run of 2 exists any more */
    for (i = 0; i < n; i += 2) {
        dh_slab_free(sp, ptrs[i]);
    }
    ok(dh_slab_alloc(sp, 2 * dh_pagesize) == NULL,
       "fragmented: no two adjacent free pages");

    /* free the rest: neighbours merge into one run */
    for (i = 1; i < n; i += 2) {
        dh_slab_free(sp, ptrs[i]);
    }
    is_int(sp->pfree, npages, "all free again");

    p = dh_slab_alloc(sp, npages * dh_pagesize);
    ok(p == sp->start, "free pages merged into one run of %lu",
       (unsigned long) npages);
    dh_slab_free(sp, p);

    /* 8-byte objects until the zone is full */
    per_page = dh_pagesize / 8;
    free(ptrs);
    ptrs = calloc(npages * per_page + 1, sizeof(void *));

    for (n = 0; n <= npages * per_page; n++) {
        ptrs[n] = dh_slab_alloc(sp, 8);
        if (ptrs[n] == NULL) {
            break;
        }
        *(dh_uint_t *) ptrs[n] = n;
    }
    is_int(n, npages * per_page, "zone filled with 8-byte objects");

    distinct = 1;
    for (i = 0; i < n; i++) {
        if (*(dh_uint_t *) ptrs[i] != i) {
            distinct = 0;
        }
    }
    ok(distinct, "each object kept its own value");

    for (i = 0; i < n; i++) {
        dh_slab_free(sp, ptrs[i]);
    }
    is_int(sp->pfree, npages, "every page released after freeing them all");
    is_int(sp->stats[0].used, 0, "class 8: nothing in use");

    free(ptrs);
    munmap(sp, 256 * 1024);
}


static void
test_reuse(void)
{
    u_char          *a, *b, *c, *big, *big2;
    dh_slab_pool_t  *sp;

    sp = make_pool(256 * 1024);

    a = dh_slab_alloc(sp, 64);
    b = dh_slab_alloc(sp, 64);
    ok(b == a + 64, "second 64-byte object follows the first");

    dh_slab_free(sp, a);
    c = dh_slab_alloc(sp, 50);
    ok(c == a, "a freed object is handed out again");

    big = dh_slab_alloc(sp, 3 * dh_pagesize);
    dh_slab_free(sp, big);
    big2 = dh_slab_alloc(sp, 3 * dh_pagesize);
    ok(big2 == big, "a freed page run is reused");

    c = dh_slab_calloc(sp, 64);
    ok(c != NULL && c[0] == 0 && c[63] == 0, "calloc zeroes");

    /* mistakes are reported, not followed */
    last_msg[0] = '\0';
    dh_slab_free(sp, a);
    dh_slab_free(sp, a);
    ok(strstr(last_msg, "chunk is already free") != NULL,
       "double free detected: %s", last_msg);
    is_int(sp->stats[3].used, 2, "class 64 count not corrupted");

    dh_slab_free(sp, b + 1);
    ok(strstr(last_msg, "wrong chunk") != NULL, "misaligned pointer");

    dh_slab_free(sp, big2 + dh_pagesize);
    ok(strstr(last_msg, "wrong page") != NULL, "pointer inside a run");

    dh_slab_free(sp, big2);
    dh_slab_free(sp, big2);
    ok(strstr(last_msg, "already free") != NULL, "double free of a run");

    dh_slab_free(sp, (u_char *) sp);
    ok(strstr(last_msg, "outside of pool") != NULL, "pointer outside");

    munmap(sp, 256 * 1024);
}


#define NPROC_ALLOCS  2000

static void
test_processes(void)
{
    int              status, same, oob;
    pid_t            pid;
    u_char         **ptrs;
    dh_uint_t        i, j;
    dh_slab_pool_t  *sp;

    sp = make_pool(1024 * 1024);

    /* the pointer table lives in the zone too, so both processes see it */
    ptrs = dh_slab_calloc(sp, 2 * NPROC_ALLOCS * sizeof(u_char *));
    ok(ptrs != NULL, "shared pointer table");

    pid = fork();

    if (pid == 0) {
        for (i = 0; i < NPROC_ALLOCS; i++) {
            ptrs[NPROC_ALLOCS + i] = dh_slab_alloc(sp, 16 + i % 100);
        }
        _exit(0);
    }

    for (i = 0; i < NPROC_ALLOCS; i++) {
        ptrs[i] = dh_slab_alloc(sp, 16 + i % 100);
    }

    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child finished");

    oob = 0;
    for (i = 0; i < 2 * NPROC_ALLOCS; i++) {
        if (ptrs[i] == NULL || ptrs[i] < sp->start || ptrs[i] >= sp->end) {
            oob++;
        }
    }
    is_int(oob, 0, "all %d allocations from two processes succeeded",
           2 * NPROC_ALLOCS);

    /* distinct: sort-free check, mark each object then verify */
    for (i = 0; i < 2 * NPROC_ALLOCS; i++) {
        memcpy(ptrs[i], &i, sizeof(i));
    }
    same = 0;
    for (i = 0; i < 2 * NPROC_ALLOCS; i++) {
        memcpy(&j, ptrs[i], sizeof(j));
        if (j != i) {
            same++;
        }
    }
    is_int(same, 0, "no object was handed to both processes");

    /* a process dying with the lock held does not block the others */
    pid = fork();
    if (pid == 0) {
        dh_shmtx_lock(&sp->mutex);
        _exit(0);
    }
    waitpid(pid, &status, 0);

    is_int(dh_shmtx_trylock(&sp->mutex), 1,
           "lock left by a dead process is recovered");
    dh_shmtx_unlock(&sp->mutex);
    ok(dh_slab_alloc(sp, 32) != NULL, "and the pool keeps working");

    munmap(sp, 1024 * 1024);
}


/* shared memory zones */

typedef struct {
    dh_uint_t   calls;
    void       *data;
    dh_uint_t   exists;
    dh_int_t    rc;
} init_record_t;


static dh_int_t
zone_init(dh_shm_zone_t *zone, void *data)
{
    init_record_t  *r;

    r = zone->data;
    r->calls++;
    r->data = data;
    r->exists = zone->shm.exists;

    return r->rc;
}


static void
new_cycle(dh_cycle_t *c, dh_pool_t *pool)
{
    memset(c, 0, sizeof(dh_cycle_t));
    c->pool = pool;
    c->log = &test_log;
    dh_list_init(&c->shared_memory, pool, 1, sizeof(dh_shm_zone_t));
}


static dh_uint_t
is_mapped(void *addr)
{
    return msync(addr, dh_pagesize, MS_ASYNC) == 0;
}


static void
test_zones(void)
{
    int              tag1, tag2;
    u_char          *one_addr, *two_addr, *three_addr;
    dh_str_t         one = dh_string("one"), two = dh_string("two");
    dh_str_t         three = dh_string("three");
    dh_conf_t        cf;
    dh_pool_t       *pool;
    dh_cycle_t       c1, c2, c3, c4;
    dh_shm_zone_t   *z, *z2, *zt;
    init_record_t    r1, r2, r3, r4, r5;
    dh_slab_pool_t  *sp;

    pool = dh_create_pool(4096, NULL);
    memset(&cf, 0, sizeof(cf));

    /* declaring */

    new_cycle(&c1, pool);
    cf.cycle = &c1;
    cf.pool = pool;

    z = dh_shared_memory_add(&cf, &one, 64 * 1024, &tag1);
    ok(z != NULL && z->shm.size == 64 * 1024, "zone \"one\" declared");
    ok(dh_shared_memory_add(&cf, &one, 0, &tag1) == z,
       "size 0 finds the same zone");
    ok(dh_shared_memory_add(&cf, &one, 64 * 1024, &tag1) == z,
       "same size finds the same zone");

    ok(dh_shared_memory_add(&cf, &one, 128 * 1024, &tag1) == NULL,
       "another size conflicts");
    is_str(last_msg, "the size 131072 of shared memory zone \"one\" "
           "conflicts with already declared size 65536", "size message");

    ok(dh_shared_memory_add(&cf, &one, 64 * 1024, &tag2) == NULL,
       "another tag conflicts");
    is_str(last_msg, "the shared memory zone \"one\" is already declared "
           "for a different use", "tag message");

    zt = dh_shared_memory_add(&cf, &two, 0, &tag2);
    ok(zt != NULL && zt->shm.size == 0,
       "\"two\" used before its size is known");
    ok(dh_shared_memory_add(&cf, &two, 32 * 1024, &tag2) == zt
       && zt->shm.size == 32 * 1024, "a later declaration sets the size");

    z2 = dh_shared_memory_add(&cf, &three, 32 * 1024, &tag2);
    z2->init = NULL;     /* declared, never used */

    memset(&r1, 0, sizeof(r1));
    memset(&r2, 0, sizeof(r2));
    z->data = &r1;
    z->init = zone_init;
    zt->data = &r2;
    zt->init = zone_init;

    /* first cycle: everything new */

    is_int(dh_shm_init_cycle_zones(&c1, NULL), DH_OK, "first cycle zones");
    ok(z->shm.addr != NULL && !z->shm.exists, "\"one\" mapped, new");
    is_int(r1.calls, 1, "init called once");
    ok(r1.data == NULL, "with NULL data");
    ok(z2->shm.addr == NULL, "an unused zone is not mapped");

    sp = (dh_slab_pool_t *) z->shm.addr;
    ok(sp->addr == z->shm.addr && sp->end == z->shm.addr + 64 * 1024,
       "the zone starts with its slab pool");
    is_str((char *) sp->log_ctx, " in zone \"one\"", "log context");
    sp->data = dh_slab_alloc(sp, 100);
    strcpy(sp->data, "kept across reload");

    one_addr = z->shm.addr;
    two_addr = zt->shm.addr;

    /* reload: "one" unchanged, "two" dropped */

    new_cycle(&c2, pool);
    cf.cycle = &c2;
    z = dh_shared_memory_add(&cf, &one, 64 * 1024, &tag1);
    memset(&r3, 0, sizeof(r3));
    z->data = &r3;
    z->init = zone_init;

    is_int(dh_shm_init_cycle_zones(&c2, &c1), DH_OK, "reload zones");
    ok(z->shm.addr == one_addr, "same name, tag and size: same mapping");
    is_int(r3.exists, 1, "init sees exists = 1");
    ok(r3.data == &r1, "and the old zone's data");
    is_str(((dh_slab_pool_t *) z->shm.addr)->data, "kept across reload",
           "contents survive");

    dh_shm_free_old_zones(&c2, &c1);
    ok(!is_mapped(two_addr), "the dropped zone is unmapped");
    ok(is_mapped(one_addr), "the adopted zone is still mapped");

    /* reload with "one" resized: fresh mapping, NULL data */

    new_cycle(&c3, pool);
    cf.cycle = &c3;
    z = dh_shared_memory_add(&cf, &one, 128 * 1024, &tag1);
    memset(&r4, 0, sizeof(r4));
    z->data = &r4;
    z->init = zone_init;

    is_int(dh_shm_init_cycle_zones(&c3, &c2), DH_OK, "resize zones");
    ok(z->shm.addr != one_addr, "a resized zone gets a new mapping");
    ok(r4.data == NULL && r4.exists == 0, "and starts empty");
    dh_shm_free_old_zones(&c3, &c2);
    ok(!is_mapped(one_addr), "the old mapping is released");
    three_addr = z->shm.addr;

    /* a failing init rolls back: new mappings undone, adopted kept */

    new_cycle(&c4, pool);
    cf.cycle = &c4;
    z = dh_shared_memory_add(&cf, &one, 128 * 1024, &tag1);
    memset(&r5, 0, sizeof(r5));
    z->data = &r5;
    z->init = zone_init;
    zt = dh_shared_memory_add(&cf, &two, 16 * 1024, &tag2);
    memset(&r2, 0, sizeof(r2));
    r2.rc = DH_ERROR;
    zt->data = &r2;
    zt->init = zone_init;

    is_int(dh_shm_init_cycle_zones(&c4, &c3), DH_ERROR,
           "a failing init fails the cycle");
    ok(z->shm.addr == NULL && zt->shm.addr == NULL,
       "the new cycle holds no mapping afterwards");
    ok(is_mapped(three_addr), "the old cycle's zone is untouched");

    /* zero size */
    new_cycle(&c4, pool);
    cf.cycle = &c4;
    z = dh_shared_memory_add(&cf, &two, 0, &tag2);
    z->init = zone_init;
    is_int(dh_shm_init_cycle_zones(&c4, &c3), DH_ERROR, "zero size fails");
    is_str(last_msg, "zero size shared memory zone \"two\"", "and says so");

    dh_shm_free_old_zones(&c4, &c3);
    ok(!is_mapped(three_addr), "freeing the last cycle's zones");

    dh_destroy_pool(pool);
}


int
main(void)
{
    dh_os_init_sizes();
    test_cycle.log = &test_log;

    test_init();
    test_classes();
    test_exhaustion();
    test_reuse();
    test_processes();
    test_zones();

    return done_testing();
}

/*
 * Memory pools: small and large allocations, alignment, dh_pfree(),
 * cleanup handlers and reset.
 */

#include "dh_config.h"
#include "dh_core.h"

#include "t/unit/dh_tap.h"


/* the logger belongs to another slice; the pool only calls it on ENOMEM */
void
dh_log_error_core(dh_uint_t level, dh_log_t *log, dh_err_t err,
    const char *fmt, ...)
{
}


static int   order[8];
static int   norder;


static void
record_cleanup(void *data)
{
    order[norder++] = *(int *) data;
}


static void
test_small(void)
{
    u_char     *a, *b, *s;
    dh_uint_t   i, aligned;
    dh_pool_t  *pool;

    pool = dh_create_pool(1024, NULL);
    ok(pool != NULL, "create pool");
    is_int(pool->max, 1024 - sizeof(dh_pool_t), "max is the block's room");

    a = dh_palloc(pool, 10);
    b = dh_palloc(pool, 10);
    ok(a != NULL && b != NULL, "two small allocations");
    ok(b >= a + 10, "they do not overlap");
    is_int((uintptr_t) b % DH_ALIGNMENT, 0, "dh_palloc aligns");

    s = dh_pnalloc(pool, 3);
    ok(s == b + 10, "dh_pnalloc does not align (%p after %p)",
       (void *) s, (void *) (b + 10));

    aligned = 1;
    for (i = 0; i < 200; i++) {
        a = dh_palloc(pool, i % 37 + 1);
        if (a == NULL || (uintptr_t) a % DH_ALIGNMENT) {
            aligned = 0;
        }
        memset(a, 0xaa, i % 37 + 1);
    }
    ok(aligned, "200 allocations spanning several blocks stay aligned");
    ok(pool->d.next != NULL, "new blocks were chained");

    a = dh_pcalloc(pool, 64);
    ok(a != NULL && a[0] == 0 && a[63] == 0, "dh_pcalloc zeroes");

    a = dh_pmemalign(pool, 100, 256);
    ok(a != NULL && (uintptr_t) a % 256 == 0, "dh_pmemalign(256)");
    is_int(dh_pfree(pool, a), DH_OK, "dh_pmemalign memory can be freed");

    dh_destroy_pool(pool);
}


static void
test_large(void)
{
    u_char     *l1, *l2, *small;
    dh_pool_t  *pool;

    pool = dh_create_pool(DH_DEFAULT_POOL_SIZE, NULL);
    is_int(pool->max, DH_MAX_ALLOC_FROM_POOL, "max capped at a page");

    l1 = dh_palloc(pool, 10000);
    ok(l1 != NULL, "large allocation");
    memset(l1, 1, 10000);
    ok(pool->large != NULL && pool->large->alloc == l1, "on the large list");

    small = dh_palloc(pool, 16);
    is_int(dh_pfree(pool, small), DH_DECLINED, "small blocks are not freed");
    is_int(dh_pfree(pool, l1), DH_OK, "large block freed");
    ok(pool->large->alloc == NULL, "its slot is empty");
    is_int(dh_pfree(pool, l1), DH_DECLINED, "second free is declined");

    l2 = dh_palloc(pool, 20000);
    ok(l2 != NULL && pool->large->alloc == l2,
       "the empty slot is reused");
    ok(pool->large->next == NULL, "no new list entry");

    ok(dh_palloc(pool, DH_MAX_ALLOC_FROM_POOL + 1) != NULL,
       "max + 1 goes large");
    ok(pool->large->next != NULL, "second entry added");

    dh_destroy_pool(pool);
}


static void
test_cleanup(void)
{
    int                 *d;
    dh_pool_t           *pool;
    dh_pool_cleanup_t   *cln;

    pool = dh_create_pool(512, NULL);
    norder = 0;

    for (int i = 1; i <= 3; i++) {
        cln = dh_pool_cleanup_add(pool, sizeof(int));
        ok(cln != NULL && cln->data != NULL, "cleanup %d added", i);
        d = cln->data;
        *d = i;
        cln->handler = record_cleanup;
    }

    cln = dh_pool_cleanup_add(pool, 0);
    ok(cln != NULL && cln->data == NULL && cln->handler == NULL,
       "cleanup without data, no handler: skipped");

    dh_reset_pool(pool);
    is_int(norder, 3, "reset ran 3 handlers");
    is_int(order[0] * 100 + order[1] * 10 + order[2], 321,
           "newest first");
    ok(pool->cleanup == NULL, "reset emptied the cleanup list");

    cln = dh_pool_cleanup_add(pool, sizeof(int));
    *(int *) cln->data = 7;
    cln->handler = record_cleanup;
    norder = 0;
    dh_destroy_pool(pool);
    is_int(norder, 1, "destroy ran the handler");
    is_int(order[0], 7, "with its data");
}


static void
test_cleanup_file(void)
{
    int                      fd[2];
    char                     path[] = "/tmp/dh_test_pool_XXXXXX";
    dh_pool_t               *pool;
    dh_pool_cleanup_t       *cln;
    dh_pool_cleanup_file_t  *cf;

    pool = dh_create_pool(512, NULL);

    ok(pipe(fd) == 0, "pipe");

    cln = dh_pool_cleanup_add(pool, sizeof(dh_pool_cleanup_file_t));
    cf = cln->data;
    cf->fd = fd[0];
    cf->name = (u_char *) "pipe";
    cf->log = NULL;
    cln->handler = dh_pool_cleanup_file;

    dh_pool_run_cleanup_file(pool, fd[0]);
    ok(fcntl(fd[0], F_GETFD) == -1 && errno == EBADF,
       "dh_pool_run_cleanup_file closed the fd");
    ok(cln->handler == NULL, "and disarmed the handler");

    cln = dh_pool_cleanup_add(pool, sizeof(dh_pool_cleanup_file_t));
    cf = cln->data;
    cf->fd = mkstemp(path);
    cf->name = (u_char *) path;
    cf->log = NULL;
    cln->handler = dh_pool_delete_file;

    dh_destroy_pool(pool);
    ok(access(path, F_OK) == -1, "dh_pool_delete_file unlinked %s", path);
    ok(fcntl(fd[1], F_GETFD) != -1, "unrelated fd stays open");
    close(fd[1]);
}


static void
test_reset(void)
{
    u_char     *first, *again, *big;
    dh_pool_t  *pool;

    pool = dh_create_pool(256, NULL);

    first = dh_palloc(pool, 8);
    for (int i = 0; i < 100; i++) {
        (void) dh_palloc(pool, 100);
    }
    big = dh_palloc(pool, 5000);
    ok(big != NULL && pool->large != NULL, "a large block before reset");

    dh_reset_pool(pool);
    ok(pool->large == NULL, "reset freed the large blocks");
    ok(pool->current == pool, "current rewound");

    again = dh_palloc(pool, 8);
    ok(again == first, "first allocation after reset reuses the start");

    dh_destroy_pool(pool);
}


static void
test_sizes(void)
{
    dh_pool_t  *pool;

    is_int(dh_os_init_sizes(), DH_OK, "dh_os_init_sizes");
    is_int(dh_pagesize, sysconf(_SC_PAGESIZE), "page size");
    is_int((dh_uint_t) 1 << dh_pagesize_shift, dh_pagesize, "page shift");
    ok(dh_ncpu >= 1, "ncpu %lu", (unsigned long) dh_ncpu);
    ok(dh_cacheline_size >= 16, "cache line %lu",
       (unsigned long) dh_cacheline_size);
    pool = dh_create_pool(0, NULL);
    is_str(pool != NULL ? "ok" : "fail", "ok",
           "tiny pools are rounded up to the minimum");
    ok(dh_palloc(pool, 8) != NULL, "and still usable");
    dh_destroy_pool(pool);
}


int
main(void)
{
    test_small();
    test_large();
    test_cleanup();
    test_cleanup_file();
    test_reset();
    test_sizes();

    return done_testing();
}

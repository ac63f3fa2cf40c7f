#include "dh_config.h"
#include "dh_core.h"

/*
 * A pool is a list of blocks.  The first block starts with the dh_pool_t
 * itself; later blocks carry only a dh_pool_data_t header.  Small requests
 * bump d.last inside a block; requests above pool->max go to the large
 * list, which is the only memory dh_pfree() can hand back early.
 */

/* A block that failed to satisfy this many requests stops being searched. */
#define DH_POOL_MAX_FAILED  4

/* How many large-list entries to inspect for a free slot before adding a
 * new entry. */
#define DH_POOL_LARGE_SCAN  3

/* Sane values until dh_os_init_sizes() runs, so early code and unit tests
 * that never call it still work. */
dh_uint_t  dh_pagesize = 4096;
dh_uint_t  dh_pagesize_shift = 12;
dh_uint_t  dh_cacheline_size = DH_CACHELINE_SIZE;
dh_uint_t  dh_ncpu = 1;


static void *dh_palloc_small(dh_pool_t *pool, size_t size, dh_uint_t align);
static void *dh_palloc_block(dh_pool_t *pool, size_t size);
static void *dh_palloc_large(dh_pool_t *pool, size_t size);
static dh_int_t dh_pool_add_large(dh_pool_t *pool, void *p);


dh_int_t
dh_os_init_sizes(void)
{
    long        n;
    dh_uint_t   size;

    n = sysconf(_SC_PAGESIZE);
    if (n <= 0) {
        return DH_ERROR;
    }

    dh_pagesize = (dh_uint_t) n;

    for (dh_pagesize_shift = 0, size = dh_pagesize;
         size >>= 1;
         dh_pagesize_shift++)
    {
        /* void */
    }

    dh_cacheline_size = DH_CACHELINE_SIZE;

#ifdef _SC_LEVEL1_DCACHE_LINESIZE
    n = sysconf(_SC_LEVEL1_DCACHE_LINESIZE);
    if (n > 0) {
        dh_cacheline_size = (dh_uint_t) n;
    }
#endif

    n = sysconf(_SC_NPROCESSORS_ONLN);
    dh_ncpu = (n > 0) ? (dh_uint_t) n : 1;

    return DH_OK;
}


void *
dh_alloc(size_t size, dh_log_t *log)
{
    void  *p;

    p = malloc(size);
    if (p == NULL && log != NULL) {
        dh_log_error(DH_LOG_EMERG, log, dh_errno,
                     "malloc(%zu) failed", size);
    }

    return p;
}


void *
dh_calloc(size_t size, dh_log_t *log)
{
    void  *p;

    p = calloc(1, size);
    if (p == NULL && log != NULL) {
        dh_log_error(DH_LOG_EMERG, log, dh_errno,
                     "calloc(%zu) failed", size);
    }

    return p;
}


static void *
dh_memalign(size_t alignment, size_t size, dh_log_t *log)
{
    void  *p;
    int    err;

    err = posix_memalign(&p, alignment, size);
    if (err) {
        if (log != NULL) {
            dh_log_error(DH_LOG_EMERG, log, err,
                         "posix_memalign(%zu, %zu) failed", alignment, size);
        }
        return NULL;
    }

    return p;
}


dh_pool_t *
dh_create_pool(size_t size, dh_log_t *log)
{
    dh_pool_t  *p;

    if (size < DH_MIN_POOL_SIZE) {
        size = DH_MIN_POOL_SIZE;
    }

    size = dh_align(size, DH_POOL_ALIGNMENT);

    p = dh_memalign(DH_POOL_ALIGNMENT, size, log);
    if (p == NULL) {
        return NULL;
    }

    p->d.last = (u_char *) p + sizeof(dh_pool_t);
    p->d.end = (u_char *) p + size;
    p->d.next = NULL;
    p->d.failed = 0;

    size -= sizeof(dh_pool_t);
    p->max = (size < DH_MAX_ALLOC_FROM_POOL) ? size : DH_MAX_ALLOC_FROM_POOL;

    p->current = p;
    p->large = NULL;
    p->cleanup = NULL;
    p->log = log;

    return p;
}


static void
dh_pool_run_cleanups(dh_pool_t *pool)
{
    dh_pool_cleanup_t  *c;

    /* Handlers run newest first, like destructors: a later object may
     * depend on an earlier one (a file inside a directory, ...). */
    for (c = pool->cleanup; c; c = c->next) {
        if (c->handler) {
            c->handler(c->data);
        }
    }

    pool->cleanup = NULL;
}


static void
dh_pool_free_large(dh_pool_t *pool)
{
    dh_pool_large_t  *l;

    for (l = pool->large; l; l = l->next) {
        if (l->alloc) {
            dh_free(l->alloc);
            l->alloc = NULL;
        }
    }

    pool->large = NULL;
}


void
dh_destroy_pool(dh_pool_t *pool)
{
    dh_pool_t  *p, *n;

    if (pool == NULL) {
        return;
    }

    dh_pool_run_cleanups(pool);
    dh_pool_free_large(pool);

    for (p = pool, n = pool->d.next; /* void */; p = n, n = n->d.next) {
        dh_free(p);

        if (n == NULL) {
            break;
        }
    }
}


/*
 * Unlike a bare rewind, this also runs the cleanup handlers: their records
 * live in the memory being reclaimed, so keeping the list would leave it
 * pointing at whatever is allocated there next.
 */
void
dh_reset_pool(dh_pool_t *pool)
{
    dh_pool_t  *p;

    dh_pool_run_cleanups(pool);
    dh_pool_free_large(pool);

    pool->d.last = (u_char *) pool + sizeof(dh_pool_t);
    pool->d.failed = 0;

    for (p = pool->d.next; p; p = p->d.next) {
        p->d.last = (u_char *) p + sizeof(dh_pool_data_t);
        p->d.failed = 0;
    }

    pool->current = pool;
}


void *
dh_palloc(dh_pool_t *pool, size_t size)
{
    if (size <= pool->max) {
        return dh_palloc_small(pool, size, 1);
    }

    return dh_palloc_large(pool, size);
}


void *
dh_pnalloc(dh_pool_t *pool, size_t size)
{
    if (size <= pool->max) {
        return dh_palloc_small(pool, size, 0);
    }

    return dh_palloc_large(pool, size);
}


void *
dh_pcalloc(dh_pool_t *pool, size_t size)
{
    void  *p;

    p = dh_palloc(pool, size);
    if (p) {
        dh_memzero(p, size);
    }

    return p;
}


static void *
dh_palloc_small(dh_pool_t *pool, size_t size, dh_uint_t align)
{
    u_char     *m;
    dh_pool_t  *p;

    for (p = pool->current; p; p = p->d.next) {
        m = p->d.last;

        if (align) {
            m = dh_align_ptr(m, DH_ALIGNMENT);
        }

        /* compare sizes, not pointers: m + size could overflow */
        if (m <= p->d.end && (size_t) (p->d.end - m) >= size) {
            p->d.last = m + size;
            return m;
        }
    }

    return dh_palloc_block(pool, size);
}


static void *
dh_palloc_block(dh_pool_t *pool, size_t size)
{
    u_char     *m;
    size_t      psize;
    dh_pool_t  *p, *new;

    psize = (size_t) (pool->d.end - (u_char *) pool);

    m = dh_memalign(DH_POOL_ALIGNMENT, psize, pool->log);
    if (m == NULL) {
        return NULL;
    }

    new = (dh_pool_t *) m;

    new->d.end = m + psize;
    new->d.next = NULL;
    new->d.failed = 0;

    m += sizeof(dh_pool_data_t);
    m = dh_align_ptr(m, DH_ALIGNMENT);
    new->d.last = m + size;

    /* Every block we walked past failed this request once more; blocks
     * that keep failing are dropped from the search. */
    for (p = pool->current; p->d.next; p = p->d.next) {
        if (p->d.failed++ > DH_POOL_MAX_FAILED) {
            pool->current = p->d.next;
        }
    }

    p->d.next = new;

    return m;
}


static dh_int_t
dh_pool_add_large(dh_pool_t *pool, void *p)
{
    dh_uint_t         n;
    dh_pool_large_t  *large;

    n = 0;

    for (large = pool->large; large; large = large->next) {
        if (large->alloc == NULL) {
            large->alloc = p;
            return DH_OK;
        }

        if (++n > DH_POOL_LARGE_SCAN) {
            break;
        }
    }

    large = dh_palloc_small(pool, sizeof(dh_pool_large_t), 1);
    if (large == NULL) {
        return DH_ERROR;
    }

    large->alloc = p;
    large->next = pool->large;
    pool->large = large;

    return DH_OK;
}


static void *
dh_palloc_large(dh_pool_t *pool, size_t size)
{
    void  *p;

    p = dh_alloc(size, pool->log);
    if (p == NULL) {
        return NULL;
    }

    if (dh_pool_add_large(pool, p) != DH_OK) {
        dh_free(p);
        return NULL;
    }

    return p;
}


void *
dh_pmemalign(dh_pool_t *pool, size_t size, size_t alignment)
{
    void  *p;

    if (alignment < sizeof(void *)) {
        alignment = sizeof(void *);
    }

    p = dh_memalign(alignment, size, pool->log);
    if (p == NULL) {
        return NULL;
    }

    if (dh_pool_add_large(pool, p) != DH_OK) {
        dh_free(p);
        return NULL;
    }

    return p;
}


dh_int_t
dh_pfree(dh_pool_t *pool, void *p)
{
    dh_pool_large_t  *l;

    for (l = pool->large; l; l = l->next) {
        if (p == l->alloc) {
            dh_free(l->alloc);
            l->alloc = NULL;
            return DH_OK;
        }
    }

    return DH_DECLINED;
}


dh_pool_cleanup_t *
dh_pool_cleanup_add(dh_pool_t *p, size_t size)
{
    dh_pool_cleanup_t  *c;

    c = dh_palloc(p, sizeof(dh_pool_cleanup_t));
    if (c == NULL) {
        return NULL;
    }

    if (size) {
        c->data = dh_palloc(p, size);
        if (c->data == NULL) {
            return NULL;
        }

    } else {
        c->data = NULL;
    }

    c->handler = NULL;
    c->next = p->cleanup;

    p->cleanup = c;

    return c;
}


void
dh_pool_run_cleanup_file(dh_pool_t *p, dh_fd_t fd)
{
    dh_pool_cleanup_t       *c;
    dh_pool_cleanup_file_t  *cf;

    for (c = p->cleanup; c; c = c->next) {
        if (c->handler == dh_pool_cleanup_file) {
            cf = c->data;

            if (cf->fd == fd) {
                c->handler(cf);
                c->handler = NULL;
                return;
            }
        }
    }
}


void
dh_pool_cleanup_file(void *data)
{
    dh_pool_cleanup_file_t  *c = data;

    if (close(c->fd) == -1 && c->log != NULL) {
        dh_log_error(DH_LOG_ALERT, c->log, dh_errno,
                     "close() \"%s\" failed", c->name);
    }
}


void
dh_pool_delete_file(void *data)
{
    dh_pool_cleanup_file_t  *c = data;

    if (unlink((char *) c->name) == -1) {
        if (dh_errno != DH_ENOENT && c->log != NULL) {
            dh_log_error(DH_LOG_CRIT, c->log, dh_errno,
                         "unlink() \"%s\" failed", c->name);
        }
    }

    if (close(c->fd) == -1 && c->log != NULL) {
        dh_log_error(DH_LOG_ALERT, c->log, dh_errno,
                     "close() \"%s\" failed", c->name);
    }
}

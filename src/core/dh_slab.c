#include "dh_config.h"
#include "dh_core.h"

/*
 * Page descriptors.  The low 4 bits of `slab` say what a page is; the rest
 * is a value whose meaning depends on the type:
 *
 *   INNER      inside a free run (no value)
 *   FREE       first page of a free run; value = run length in pages
 *   FREE_TAIL  last page of a free run longer than one page; `next`
 *              points back at the run's first page so a page freed just
 *              after it can merge backwards
 *   RUN        first page of an allocated run; value = length
 *   RUN_CONT   other pages of an allocated run
 *   SMALL      a page cut into objects of one size class; value =
 *              class shift | objects in use << 8
 *
 * The types of the pages just before and just after every run are always
 * exact, which is all that merging looks at.  A small page keeps one bit
 * per object in its bitmap (1 = in use), so a double free is caught.
 */

#define DH_SLAB_INNER       0
#define DH_SLAB_FREE        1
#define DH_SLAB_FREE_TAIL   2
#define DH_SLAB_RUN         3
#define DH_SLAB_RUN_CONT    4
#define DH_SLAB_SMALL       5

#define DH_SLAB_TYPE_MASK   0xf
#define DH_SLAB_VALUE_SHIFT 4

#define DH_SLAB_WORD_BITS   (8 * sizeof(uintptr_t))

#define dh_slab_type(page)  ((page)->slab & DH_SLAB_TYPE_MASK)
#define dh_slab_value(page) ((page)->slab >> DH_SLAB_VALUE_SHIFT)
#define dh_slab_set(page, type, value)                                        \
    (page)->slab = ((uintptr_t) (value) << DH_SLAB_VALUE_SHIFT) | (type)

#define dh_slab_small_shift(page)  (dh_slab_value(page) & 0xff)
#define dh_slab_small_used(page)   (dh_slab_value(page) >> 8)
#define dh_slab_set_small(page, shift, used)                                  \
    dh_slab_set(page, DH_SLAB_SMALL, (shift) | ((uintptr_t) (used) << 8))

#define dh_slab_prev(page)  ((dh_slab_page_t *) (page)->prev)


static size_t  dh_slab_max_size;


static dh_slab_page_t *dh_slab_alloc_pages(dh_slab_pool_t *pool,
    dh_uint_t pages);
static void dh_slab_free_pages(dh_slab_pool_t *pool, dh_slab_page_t *page,
    dh_uint_t pages);
static void dh_slab_error(dh_slab_pool_t *pool, dh_uint_t level,
    const char *text);


void
dh_slab_sizes_init(void)
{
    dh_slab_max_size = dh_pagesize / 2;
}


/* list helpers: `head` is a sentinel whose next/prev form a ring */

static void
dh_slab_list_init(dh_slab_page_t *head)
{
    head->slab = 0;
    head->next = head;
    head->prev = (uintptr_t) head;
}


static void
dh_slab_list_insert(dh_slab_page_t *head, dh_slab_page_t *page)
{
    page->next = head->next;
    page->prev = (uintptr_t) head;
    head->next->prev = (uintptr_t) page;
    head->next = page;
}


static void
dh_slab_list_remove(dh_slab_page_t *page)
{
    dh_slab_prev(page)->next = page->next;
    page->next->prev = page->prev;
    page->next = NULL;
    page->prev = 0;
}


static u_char *
dh_slab_page_addr(dh_slab_pool_t *pool, dh_slab_page_t *page)
{
    uintptr_t  n;

    n = (uintptr_t) (page - pool->pages);

    return pool->start + (n << dh_pagesize_shift);
}


static uintptr_t *
dh_slab_bitmap(dh_slab_pool_t *pool, dh_slab_page_t *page)
{
    return pool->bitmaps + (page - pool->pages) * pool->bitmap_words;
}


void
dh_slab_init(dh_slab_pool_t *pool)
{
    u_char     *p;
    size_t      per_page, avail;
    dh_uint_t   i, n;

    if (dh_slab_max_size == 0) {
        dh_slab_sizes_init();
    }

    if (pool->min_shift == 0) {
        pool->min_shift = 3;
    }

    pool->min_size = (size_t) 1 << pool->min_shift;

    pool->nslots = (pool->min_shift < dh_pagesize_shift)
                   ? dh_pagesize_shift - pool->min_shift : 0;

    /* one bit per smallest object; the last word may be partly unused */
    pool->bitmap_words = ((dh_pagesize >> pool->min_shift)
                          + DH_SLAB_WORD_BITS - 1) / DH_SLAB_WORD_BITS;

    p = dh_align_ptr((u_char *) pool + sizeof(dh_slab_pool_t),
                     sizeof(uintptr_t));

    pool->slots = (dh_slab_page_t *) p;
    p += pool->nslots * sizeof(dh_slab_page_t);

    for (i = 0; i < pool->nslots; i++) {
        dh_slab_list_init(&pool->slots[i]);
    }

    pool->stats = (dh_slab_stat_t *) p;
    p += pool->nslots * sizeof(dh_slab_stat_t);

    if (pool->nslots) {
        dh_memzero(pool->stats, pool->nslots * sizeof(dh_slab_stat_t));
    }

    per_page = sizeof(dh_slab_page_t) + pool->bitmap_words * sizeof(uintptr_t)
               + dh_pagesize;

    avail = (pool->end > p) ? (size_t) (pool->end - p) : 0;
    n = avail / per_page;

    /* the pages start on a page boundary; the padding may cost a page */
    for ( ;; ) {
        pool->pages = (dh_slab_page_t *) p;
        pool->bitmaps = (uintptr_t *) (p + n * sizeof(dh_slab_page_t));
        pool->start = dh_align_ptr((u_char *) (pool->bitmaps
                                               + n * pool->bitmap_words),
                                   dh_pagesize);

        if (n == 0
            || (pool->start <= pool->end
                && (size_t) (pool->end - pool->start) >= n * dh_pagesize))
        {
            break;
        }

        n--;
    }

    pool->npages = n;
    pool->last = pool->pages + n;
    pool->pfree = 0;

    dh_slab_list_init(&pool->free);

    if (n) {
        dh_memzero(pool->pages, n * sizeof(dh_slab_page_t));
        dh_slab_free_pages(pool, pool->pages, n);
    }

    pool->zero = '\0';
    pool->log_nomem = 1;

    if (pool->log_ctx == NULL) {
        pool->log_ctx = &pool->zero;
    }

    (void) dh_shmtx_create(&pool->mutex);
}


void *
dh_slab_alloc(dh_slab_pool_t *pool, size_t size)
{
    void  *p;

    dh_shmtx_lock(&pool->mutex);
    p = dh_slab_alloc_locked(pool, size);
    dh_shmtx_unlock(&pool->mutex);

    return p;
}


void *
dh_slab_calloc(dh_slab_pool_t *pool, size_t size)
{
    void  *p;

    dh_shmtx_lock(&pool->mutex);
    p = dh_slab_calloc_locked(pool, size);
    dh_shmtx_unlock(&pool->mutex);

    return p;
}


void *
dh_slab_calloc_locked(dh_slab_pool_t *pool, size_t size)
{
    void  *p;

    p = dh_slab_alloc_locked(pool, size);
    if (p) {
        dh_memzero(p, size);
    }

    return p;
}


/* index of the first clear bit among nbits, or -1 */
static dh_int_t
dh_slab_find_clear(uintptr_t *map, dh_uint_t words)
{
    dh_uint_t  i;

    for (i = 0; i < words; i++) {
        if (map[i] != (uintptr_t) -1) {
            return (dh_int_t) (i * DH_SLAB_WORD_BITS
                               + (dh_uint_t) __builtin_ctzl(~map[i]));
        }
    }

    return -1;
}


static void *
dh_slab_alloc_small(dh_slab_pool_t *pool, size_t size)
{
    uintptr_t       *map;
    dh_int_t         bit;
    dh_uint_t        shift, slot, nobj, words, used, i;
    dh_slab_page_t  *head, *page;

    for (shift = pool->min_shift; ((size_t) 1 << shift) < size; shift++) {
        /* void */
    }

    slot = shift - pool->min_shift;
    head = &pool->slots[slot];
    nobj = dh_pagesize >> shift;
    words = (nobj + DH_SLAB_WORD_BITS - 1) / DH_SLAB_WORD_BITS;

    pool->stats[slot].reqs++;

    page = head->next;

    if (page == head) {
        page = dh_slab_alloc_pages(pool, 1);
        if (page == NULL) {
            pool->stats[slot].fails++;
            return NULL;
        }

        dh_slab_set_small(page, shift, 0);

        /* bits past the last object read as "in use" */
        map = dh_slab_bitmap(pool, page);
        dh_memzero(map, pool->bitmap_words * sizeof(uintptr_t));

        for (i = nobj; i < words * DH_SLAB_WORD_BITS; i++) {
            map[i / DH_SLAB_WORD_BITS] |= (uintptr_t) 1
                                          << (i % DH_SLAB_WORD_BITS);
        }

        dh_slab_list_insert(head, page);
        pool->stats[slot].total += nobj;
    }

    map = dh_slab_bitmap(pool, page);

    bit = dh_slab_find_clear(map, words);
    if (bit < 0) {
        /* a page on the list is never full; refuse rather than corrupt */
        dh_slab_error(pool, DH_LOG_ALERT, "full page on the free list");
        pool->stats[slot].fails++;
        return NULL;
    }

    map[bit / DH_SLAB_WORD_BITS] |= (uintptr_t) 1 << (bit % DH_SLAB_WORD_BITS);

    used = dh_slab_small_used(page) + 1;
    dh_slab_set_small(page, shift, used);

    if (used == nobj) {
        dh_slab_list_remove(page);
    }

    pool->stats[slot].used++;

    return dh_slab_page_addr(pool, page) + ((uintptr_t) bit << shift);
}


void *
dh_slab_alloc_locked(dh_slab_pool_t *pool, size_t size)
{
    void            *p;
    dh_uint_t        pages;
    dh_slab_page_t  *page;

    if (dh_slab_max_size == 0) {
        dh_slab_sizes_init();
    }

    if (size <= dh_slab_max_size && pool->nslots) {
        p = dh_slab_alloc_small(pool, size ? size : 1);

    } else if (size > (size_t) (pool->end - pool->start)) {
        p = NULL;

    } else {
        pages = (dh_uint_t) ((size + dh_pagesize - 1) >> dh_pagesize_shift);
        page = dh_slab_alloc_pages(pool, pages);
        p = page ? dh_slab_page_addr(pool, page) : NULL;
    }

    if (p == NULL && pool->log_nomem) {
        dh_slab_error(pool, DH_LOG_CRIT, "dh_slab_alloc() failed: no memory");
    }

    return p;
}


void
dh_slab_free(dh_slab_pool_t *pool, void *p)
{
    dh_shmtx_lock(&pool->mutex);
    dh_slab_free_locked(pool, p);
    dh_shmtx_unlock(&pool->mutex);
}


static void
dh_slab_free_small(dh_slab_pool_t *pool, dh_slab_page_t *page, u_char *p)
{
    size_t      offset;
    uintptr_t  *map, bit;
    dh_uint_t   shift, slot, nobj, used, index;

    shift = dh_slab_small_shift(page);
    slot = shift - pool->min_shift;
    nobj = dh_pagesize >> shift;

    offset = (size_t) (p - dh_slab_page_addr(pool, page));

    if (offset & (((size_t) 1 << shift) - 1)) {
        dh_slab_error(pool, DH_LOG_ALERT,
                      "dh_slab_free(): pointer to wrong chunk");
        return;
    }

    index = offset >> shift;
    map = dh_slab_bitmap(pool, page) + index / DH_SLAB_WORD_BITS;
    bit = (uintptr_t) 1 << (index % DH_SLAB_WORD_BITS);

    if (!(*map & bit)) {
        dh_slab_error(pool, DH_LOG_ALERT,
                      "dh_slab_free(): chunk is already free");
        return;
    }

    *map &= ~bit;

    used = dh_slab_small_used(page);

    if (used == nobj) {
        /* it was full, so off the list; it has room again */
        dh_slab_list_insert(&pool->slots[slot], page);
    }

    used--;
    dh_slab_set_small(page, shift, used);
    pool->stats[slot].used--;

    if (used == 0) {
        dh_slab_list_remove(page);
        pool->stats[slot].total -= nobj;
        dh_slab_free_pages(pool, page, 1);
    }
}


void
dh_slab_free_locked(dh_slab_pool_t *pool, void *p)
{
    u_char          *addr;
    dh_slab_page_t  *page;

    addr = p;

    if (addr < pool->start
        || addr >= pool->start + (pool->npages << dh_pagesize_shift))
    {
        dh_slab_error(pool, DH_LOG_ALERT, "dh_slab_free(): outside of pool");
        return;
    }

    page = &pool->pages[(addr - pool->start) >> dh_pagesize_shift];

    switch (dh_slab_type(page)) {

    case DH_SLAB_SMALL:
        dh_slab_free_small(pool, page, addr);
        return;

    case DH_SLAB_RUN:
        if (addr != dh_slab_page_addr(pool, page)) {
            dh_slab_error(pool, DH_LOG_ALERT,
                          "dh_slab_free(): pointer to wrong page");
            return;
        }

        dh_slab_free_pages(pool, page, dh_slab_value(page));
        return;

    case DH_SLAB_RUN_CONT:
        dh_slab_error(pool, DH_LOG_ALERT,
                      "dh_slab_free(): pointer to wrong page");
        return;

    default:
        dh_slab_error(pool, DH_LOG_ALERT,
                      "dh_slab_free(): page is already free");
        return;
    }
}


/* First fit over the free runs; the rest of a longer run stays free. */
static dh_slab_page_t *
dh_slab_alloc_pages(dh_slab_pool_t *pool, dh_uint_t pages)
{
    dh_uint_t        len, i;
    dh_slab_page_t  *run, *rest;

    for (run = pool->free.next; run != &pool->free; run = run->next) {

        len = dh_slab_value(run);

        if (len < pages) {
            continue;
        }

        dh_slab_list_remove(run);

        if (len > pages) {
            rest = run + pages;
            dh_slab_set(rest, DH_SLAB_FREE, len - pages);

            if (len - pages > 1) {
                /* the old tail now ends the shorter run */
                dh_slab_set(&rest[len - pages - 1], DH_SLAB_FREE_TAIL, 0);
                rest[len - pages - 1].next = rest;
            }

            dh_slab_list_insert(&pool->free, rest);
        }

        dh_slab_set(run, DH_SLAB_RUN, pages);

        for (i = 1; i < pages; i++) {
            dh_slab_set(&run[i], DH_SLAB_RUN_CONT, 0);
            run[i].next = NULL;
            run[i].prev = 0;
        }

        pool->pfree -= pages;

        return run;
    }

    return NULL;
}


static void
dh_slab_free_pages(dh_slab_pool_t *pool, dh_slab_page_t *page,
    dh_uint_t pages)
{
    dh_uint_t        i;
    dh_slab_page_t  *next, *prev, *head;

    pool->pfree += pages;

    /* mark the pages free first: a later free() of a stale pointer into
     * them is then reported instead of corrupting the lists */
    for (i = 0; i < pages; i++) {
        dh_slab_set(&page[i], DH_SLAB_INNER, 0);
        page[i].next = NULL;
        page[i].prev = 0;
    }

    next = page + pages;

    if (next < pool->last && dh_slab_type(next) == DH_SLAB_FREE) {
        dh_slab_list_remove(next);
        pages += dh_slab_value(next);
        dh_slab_set(next, DH_SLAB_INNER, 0);
    }

    if (page > pool->pages) {
        prev = page - 1;
        head = NULL;

        if (dh_slab_type(prev) == DH_SLAB_FREE) {
            head = prev;

        } else if (dh_slab_type(prev) == DH_SLAB_FREE_TAIL) {
            head = prev->next;
            dh_slab_set(prev, DH_SLAB_INNER, 0);
        }

        if (head != NULL) {
            dh_slab_list_remove(head);
            pages += dh_slab_value(head);
            page = head;
        }
    }

    dh_slab_set(page, DH_SLAB_FREE, pages);

    if (pages > 1) {
        dh_slab_set(&page[pages - 1], DH_SLAB_FREE_TAIL, 0);
        page[pages - 1].next = page;
    }

    dh_slab_list_insert(&pool->free, page);
}


/*
 * The zone has no log of its own: messages go to the current cycle's log
 * (a zone outlives the cycle that created it).
 */
static void
dh_slab_error(dh_slab_pool_t *pool, dh_uint_t level, const char *text)
{
    dh_log_t  *log;

    if (dh_cycle == NULL) {
        return;
    }

    log = dh_cycle->log;

    if (log != NULL) {
        dh_log_error(level, log, 0, "%s%s", text, (char *) pool->log_ctx);
    }
}

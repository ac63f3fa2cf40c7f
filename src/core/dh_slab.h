/*
 * Slab allocator for shared memory zones.  The zone starts with a
 * dh_slab_pool_t; small sizes come from per-size-class pages (powers of
 * two from 8 bytes to half a page), large ones from runs of whole pages.
 * Pointers are valid in every process because zones are mapped before
 * fork at the same address.
 *
 * Layout after the pool header: one list head per size class, the stats
 * per size class, one dh_slab_page_t per page, one bitmap per page (a bit
 * per smallest object), then the page-aligned pages themselves.  Free
 * pages form runs kept on the `free` list; neighbouring runs merge.
 *
 * Before dh_slab_init() the caller sets `end` (one past the zone), `addr`
 * and optionally `min_shift` (0 means 3: 8-byte objects).
 */

#ifndef DH_SLAB_H
#define DH_SLAB_H

#include "dh_core.h"

typedef struct dh_slab_page_s  dh_slab_page_t;

struct dh_slab_page_s {
    uintptr_t         slab;     /* page type | value << 4 (see dh_slab.c) */
    dh_slab_page_t   *next;     /* in the free-run or size-class list */
    uintptr_t         prev;     /* previous in that list (a pointer) */
};

/* per size class: objects in pages of the class, objects in use,
 * allocation requests, failed requests */
typedef struct {
    dh_uint_t         total;
    dh_uint_t         used;
    dh_uint_t         reqs;
    dh_uint_t         fails;
} dh_slab_stat_t;

typedef struct {
    dh_shmtx_t        mutex;

    size_t            min_size;
    size_t            min_shift;

    dh_slab_page_t   *pages;        /* descriptors, one per page */
    dh_slab_page_t   *last;         /* pages + npages */
    dh_slab_page_t    free;         /* list head of free page runs */

    dh_slab_stat_t   *stats;        /* nslots entries */
    dh_uint_t         pfree;        /* free pages */

    dh_slab_page_t   *slots;        /* per size class: pages with room */
    dh_uint_t         nslots;
    uintptr_t        *bitmaps;      /* bitmap_words per page */
    dh_uint_t         bitmap_words;
    dh_uint_t         npages;

    u_char           *start;
    u_char           *end;

    u_char           *log_ctx;      /* " in zone \"name\"" for messages */
    u_char            zero;

    unsigned          log_nomem:1;

    void             *data;         /* the owning module's root object */
    void             *addr;         /* the zone's own address */
} dh_slab_pool_t;

void dh_slab_sizes_init(void);
void dh_slab_init(dh_slab_pool_t *pool);
/* NULL when no memory is left (logged once per call when log_nomem). */
void *dh_slab_alloc(dh_slab_pool_t *pool, size_t size);
void *dh_slab_alloc_locked(dh_slab_pool_t *pool, size_t size);
void *dh_slab_calloc(dh_slab_pool_t *pool, size_t size);
void *dh_slab_calloc_locked(dh_slab_pool_t *pool, size_t size);
/* Invalid or double frees are logged as alerts and ignored. */
void dh_slab_free(dh_slab_pool_t *pool, void *p);
void dh_slab_free_locked(dh_slab_pool_t *pool, void *p);

#endif /* DH_SLAB_H */

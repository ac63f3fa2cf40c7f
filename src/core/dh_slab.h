/*
 * Slab allocator for shared memory zones.  The zone starts with a
 * dh_slab_pool_t; small sizes come from per-size-class pages (powers of
 * two from 8 bytes to half a page), large ones from runs of whole pages.
 * Pointers are valid in every process because zones are mapped before
 * fork at the same address.
 */

#ifndef DH_SLAB_H
#define DH_SLAB_H

#include "dh_core.h"

typedef struct dh_slab_page_s  dh_slab_page_t;

struct dh_slab_page_s {
    uintptr_t         slab;
    dh_slab_page_t   *next;
    uintptr_t         prev;
};

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

    dh_slab_page_t   *pages;
    dh_slab_page_t   *last;
    dh_slab_page_t    free;

    dh_slab_stat_t   *stats;
    dh_uint_t         pfree;

    u_char           *start;
    u_char           *end;

    u_char           *log_ctx;
    u_char            zero;

    unsigned          log_nomem:1;

    void             *data;         /* the owning module's root object */
    void             *addr;         /* the zone's own address */
} dh_slab_pool_t;

void dh_slab_sizes_init(void);
void dh_slab_init(dh_slab_pool_t *pool);
void *dh_slab_alloc(dh_slab_pool_t *pool, size_t size);
void *dh_slab_alloc_locked(dh_slab_pool_t *pool, size_t size);
void *dh_slab_calloc(dh_slab_pool_t *pool, size_t size);
void *dh_slab_calloc_locked(dh_slab_pool_t *pool, size_t size);
void dh_slab_free(dh_slab_pool_t *pool, void *p);
void dh_slab_free_locked(dh_slab_pool_t *pool, void *p);

#endif /* DH_SLAB_H */

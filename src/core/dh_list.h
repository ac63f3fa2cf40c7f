#ifndef DH_LIST_H
#define DH_LIST_H

#include "dh_core.h"

/* A list of fixed-size parts: elements never move once pushed, so callers
 * may keep pointers to them (header lists, shared zone lists). */
typedef struct dh_list_part_s  dh_list_part_t;

struct dh_list_part_s {
    void             *elts;
    dh_uint_t         nelts;
    dh_list_part_t   *next;
};

typedef struct {
    dh_list_part_t   *last;
    dh_list_part_t    part;
    size_t            size;
    dh_uint_t         nalloc;
    dh_pool_t        *pool;
} dh_list_t;

dh_list_t *dh_list_create(dh_pool_t *pool, dh_uint_t n, size_t size);
dh_int_t dh_list_init(dh_list_t *list, dh_pool_t *pool, dh_uint_t n,
    size_t size);
void *dh_list_push(dh_list_t *list);

/*
 * Iterate:
 *   part = &list.part; elt = part->elts;
 *   for (i = 0; ; i++) {
 *       if (i >= part->nelts) {
 *           if (part->next == NULL) break;
 *           part = part->next; elt = part->elts; i = 0;
 *       }
 *       ... elt[i] ...
 *   }
 */

#endif /* DH_LIST_H */

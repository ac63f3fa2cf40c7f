#ifndef DH_ARRAY_H
#define DH_ARRAY_H

#include "dh_core.h"

/* A growable array of fixed-size elements allocated from a pool. */
typedef struct {
    void        *elts;
    dh_uint_t    nelts;
    size_t       size;
    dh_uint_t    nalloc;
    dh_pool_t   *pool;
} dh_array_t;

dh_array_t *dh_array_create(dh_pool_t *p, dh_uint_t n, size_t size);
void dh_array_destroy(dh_array_t *a);
void *dh_array_push(dh_array_t *a);              /* NULL on failure */
void *dh_array_push_n(dh_array_t *a, dh_uint_t n);

static inline dh_int_t
dh_array_init(dh_array_t *array, dh_pool_t *pool, dh_uint_t n, size_t size)
{
    array->nelts = 0;
    array->size = size;
    array->nalloc = n;
    array->pool = pool;

    array->elts = dh_palloc(pool, n * size);
    if (array->elts == NULL) {
        return DH_ERROR;
    }

    return DH_OK;
}

#endif /* DH_ARRAY_H */

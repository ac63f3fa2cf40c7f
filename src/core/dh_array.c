#include "dh_config.h"
#include "dh_core.h"


dh_array_t *
dh_array_create(dh_pool_t *p, dh_uint_t n, size_t size)
{
    dh_array_t  *a;

    a = dh_palloc(p, sizeof(dh_array_t));
    if (a == NULL) {
        return NULL;
    }

    if (dh_array_init(a, p, n, size) != DH_OK) {
        return NULL;
    }

    return a;
}


/*
 * Pool memory cannot be freed one piece at a time, but when the elements
 * (or the array header) are the last thing allocated in the pool's first
 * block, rewinding d.last gives the space back.
 */
void
dh_array_destroy(dh_array_t *a)
{
    dh_pool_t  *p;

    p = a->pool;

    if ((u_char *) a->elts + a->size * a->nalloc == p->d.last) {
        p->d.last -= a->size * a->nalloc;
    }

    if ((u_char *) a + sizeof(dh_array_t) == p->d.last) {
        p->d.last = (u_char *) a;
    }
}


/* Makes room for n more elements; DH_ERROR when memory runs out. */
static dh_int_t
dh_array_grow(dh_array_t *a, dh_uint_t n)
{
    void       *new;
    size_t      size, extra;
    dh_uint_t   nalloc;
    dh_pool_t  *p;

    if (a->size == 0 || n > (DH_MAX_SIZE_T_VALUE / a->size) - a->nelts) {
        return DH_ERROR;
    }

    p = a->pool;
    size = a->size * a->nalloc;
    extra = a->size * n;

    /* The elements end exactly at the pool's free space: extend in
     * place and nothing moves. */
    if ((u_char *) a->elts + size == p->d.last
        && (size_t) (p->d.end - p->d.last) >= extra)
    {
        p->d.last += extra;
        a->nalloc += n;
        return DH_OK;
    }

    nalloc = 2 * dh_max(n, a->nalloc);
    if (nalloc < a->nelts + n) {
        nalloc = a->nelts + n;
    }

    if (nalloc > DH_MAX_SIZE_T_VALUE / a->size) {
        return DH_ERROR;
    }

    new = dh_palloc(p, nalloc * a->size);
    if (new == NULL) {
        return DH_ERROR;
    }

    if (a->nelts) {
        dh_memcpy(new, a->elts, a->nelts * a->size);
    }

    a->elts = new;
    a->nalloc = nalloc;

    return DH_OK;
}


void *
dh_array_push(dh_array_t *a)
{
    void  *elt;

    if (a->nelts == a->nalloc) {
        if (dh_array_grow(a, 1) != DH_OK) {
            return NULL;
        }
    }

    elt = (u_char *) a->elts + a->size * a->nelts;
    a->nelts++;

    return elt;
}


void *
dh_array_push_n(dh_array_t *a, dh_uint_t n)
{
    void  *elt;

    if (n > a->nalloc - a->nelts) {
        if (dh_array_grow(a, n - (a->nalloc - a->nelts)) != DH_OK) {
            return NULL;
        }
    }

    elt = (u_char *) a->elts + a->size * a->nelts;
    a->nelts += n;

    return elt;
}

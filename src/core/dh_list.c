#include "dh_config.h"
#include "dh_core.h"


dh_list_t *
dh_list_create(dh_pool_t *pool, dh_uint_t n, size_t size)
{
    dh_list_t  *list;

    list = dh_palloc(pool, sizeof(dh_list_t));
    if (list == NULL) {
        return NULL;
    }

    if (dh_list_init(list, pool, n, size) != DH_OK) {
        return NULL;
    }

    return list;
}


dh_int_t
dh_list_init(dh_list_t *list, dh_pool_t *pool, dh_uint_t n, size_t size)
{
    if (n == 0 || size == 0 || n > DH_MAX_SIZE_T_VALUE / size) {
        return DH_ERROR;
    }

    list->part.elts = dh_palloc(pool, n * size);
    if (list->part.elts == NULL) {
        return DH_ERROR;
    }

    list->part.nelts = 0;
    list->part.next = NULL;
    list->last = &list->part;
    list->size = size;
    list->nalloc = n;
    list->pool = pool;

    return DH_OK;
}


void *
dh_list_push(dh_list_t *l)
{
    void            *elt;
    dh_list_part_t  *last;

    last = l->last;

    if (last->nelts == l->nalloc) {

        /* the last part is full: chain a new one, older parts stay put */

        last = dh_palloc(l->pool, sizeof(dh_list_part_t));
        if (last == NULL) {
            return NULL;
        }

        last->elts = dh_palloc(l->pool, l->nalloc * l->size);
        if (last->elts == NULL) {
            return NULL;
        }

        last->nelts = 0;
        last->next = NULL;

        l->last->next = last;
        l->last = last;
    }

    elt = (u_char *) last->elts + l->size * last->nelts;
    last->nelts++;

    return elt;
}

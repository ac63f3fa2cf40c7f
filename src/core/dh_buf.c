#include "dh_config.h"
#include "dh_core.h"


dh_buf_t *
dh_create_temp_buf(dh_pool_t *pool, size_t size)
{
    dh_buf_t  *b;

    b = dh_calloc_buf(pool);
    if (b == NULL) {
        return NULL;
    }

    b->start = dh_palloc(pool, size);
    if (b->start == NULL) {
        return NULL;
    }

    b->pos = b->start;
    b->last = b->start;
    b->end = b->last + size;
    b->temporary = 1;

    return b;
}


dh_chain_t *
dh_alloc_chain_link(dh_pool_t *pool)
{
    dh_chain_t  *cl;

    cl = dh_palloc(pool, sizeof(dh_chain_t));
    if (cl == NULL) {
        return NULL;
    }

    cl->buf = NULL;
    cl->next = NULL;

    return cl;
}


/* One allocation holds every buffer's memory, so the buffers of a chain
 * sit next to each other. */
dh_chain_t *
dh_create_chain_of_bufs(dh_pool_t *pool, dh_bufs_t *bufs)
{
    u_char       *p;
    dh_int_t      i;
    dh_buf_t     *b;
    dh_chain_t   *chain, *cl, **ll;

    if (bufs->num <= 0 || bufs->size == 0
        || (size_t) bufs->num > DH_MAX_SIZE_T_VALUE / bufs->size)
    {
        return NULL;
    }

    p = dh_palloc(pool, bufs->num * bufs->size);
    if (p == NULL) {
        return NULL;
    }

    chain = NULL;
    ll = &chain;

    for (i = 0; i < bufs->num; i++) {

        b = dh_calloc_buf(pool);
        if (b == NULL) {
            return NULL;
        }

        b->pos = p;
        b->last = p;
        b->temporary = 1;

        b->start = p;
        p += bufs->size;
        b->end = p;

        cl = dh_alloc_chain_link(pool);
        if (cl == NULL) {
            return NULL;
        }

        cl->buf = b;
        *ll = cl;
        ll = &cl->next;
    }

    return chain;
}


dh_int_t
dh_chain_add_copy(dh_pool_t *pool, dh_chain_t **chain, dh_chain_t *in)
{
    dh_chain_t  *cl, **ll;

    ll = chain;

    for (cl = *chain; cl; cl = cl->next) {
        ll = &cl->next;
    }

    while (in) {
        cl = dh_alloc_chain_link(pool);
        if (cl == NULL) {
            *ll = NULL;
            return DH_ERROR;
        }

        cl->buf = in->buf;
        *ll = cl;
        ll = &cl->next;
        in = in->next;
    }

    *ll = NULL;

    return DH_OK;
}


/*
 * out (just handed to the next filter) joins the tail of busy.  Buffers at
 * the head of busy that have been sent completely become reusable: ours
 * (same tag) are rewound and go to free, other filters' are just dropped
 * from the list (their owner recycles them through its own busy list).
 * The first buffer still holding data stops the walk, since data is sent
 * in order.
 */
void
dh_chain_update_chains(dh_pool_t *p, dh_chain_t **free, dh_chain_t **busy,
    dh_chain_t **out, dh_buf_tag_t tag)
{
    dh_chain_t  *cl;

    if (*out) {
        if (*busy == NULL) {
            *busy = *out;

        } else {
            for (cl = *busy; cl->next; cl = cl->next) { /* void */ }

            cl->next = *out;
        }

        *out = NULL;
    }

    while (*busy) {
        cl = *busy;

        if (!dh_buf_special(cl->buf) && dh_buf_size(cl->buf) != 0) {
            break;
        }

        *busy = cl->next;

        if (cl->buf->tag != tag) {
            cl->next = NULL;
            continue;
        }

        cl->buf->pos = cl->buf->start;
        cl->buf->last = cl->buf->start;
        cl->buf->file_pos = 0;
        cl->buf->file_last = 0;
        cl->buf->flush = 0;
        cl->buf->last_buf = 0;
        cl->buf->last_in_chain = 0;
        cl->buf->sync = 0;

        cl->next = *free;
        *free = cl;
    }
}


dh_chain_t *
dh_chain_update_sent(dh_chain_t *in, off_t sent)
{
    off_t  size;

    for ( /* void */ ; in; in = in->next) {

        if (dh_buf_special(in->buf)) {
            continue;
        }

        if (sent == 0) {
            break;
        }

        size = dh_buf_size(in->buf);

        if (sent >= size) {
            sent -= size;

            if (dh_buf_in_memory(in->buf)) {
                in->buf->pos = in->buf->last;
            }

            if (in->buf->in_file) {
                in->buf->file_pos = in->buf->file_last;
            }

            continue;
        }

        /* a buffer that is both in memory and in a file describes the
         * same bytes twice: advance both views */
        if (dh_buf_in_memory(in->buf)) {
            in->buf->pos += (size_t) sent;
        }

        if (in->buf->in_file) {
            in->buf->file_pos += sent;
        }

        break;
    }

    return in;
}


off_t
dh_chain_size(dh_chain_t *in)
{
    off_t  total;

    total = 0;

    for ( /* void */ ; in; in = in->next) {
        if (!dh_buf_special(in->buf)) {
            total += dh_buf_size(in->buf);
        }
    }

    return total;
}

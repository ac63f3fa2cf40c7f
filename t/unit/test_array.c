/*
 * Arrays, lists, and buffer chains (sizes, sent accounting, free/busy).
 */

#include "dh_config.h"
#include "dh_core.h"

#include "t/unit/dh_tap.h"


void
dh_log_error_core(dh_uint_t level, dh_log_t *log, dh_err_t err,
    const char *fmt, ...)
{
}


static void
test_array(dh_pool_t *pool)
{
    int          *e, *first, sum;
    dh_uint_t     i, good;
    dh_array_t   *a, b;

    a = dh_array_create(pool, 2, sizeof(int));
    ok(a != NULL, "array created");
    is_int(a->nelts, 0, "empty");
    is_int(a->nalloc, 2, "room for 2");

    for (i = 0; i < 1000; i++) {
        e = dh_array_push(a);
        if (e == NULL) {
            break;
        }
        *e = (int) i;
    }

    is_int(a->nelts, 1000, "1000 pushed");
    ok(a->nalloc >= 1000, "grew to %lu", (unsigned long) a->nalloc);

    good = 1;
    e = a->elts;
    for (i = 0; i < 1000; i++) {
        if (e[i] != (int) i) {
            good = 0;
        }
    }
    ok(good, "elements kept their values across growth");

    first = dh_array_push_n(a, 50);
    ok(first != NULL, "push_n 50");
    is_int(a->nelts, 1050, "count 1050");
    e = a->elts;
    ok(first == &e[1000], "push_n returns the first new slot");
    for (i = 0; i < 50; i++) {
        first[i] = 1;
    }

    sum = 0;
    for (i = 0; i < a->nelts; i++) {
        sum += e[i];
    }
    is_int(sum, 999 * 1000 / 2 + 50, "sum over all elements");

    is_int(dh_array_init(&b, pool, 1, 16), DH_OK, "dh_array_init");
    ok(dh_array_push_n(&b, 100) != NULL, "push_n beyond nalloc");
    ok(b.nalloc >= 100 && b.nelts == 100, "nelts 100, nalloc %lu",
       (unsigned long) b.nalloc);
}


static void
test_array_in_place(void)
{
    void        *old;
    dh_pool_t   *pool;
    dh_array_t  *a;

    pool = dh_create_pool(4096, NULL);
    a = dh_array_create(pool, 4, sizeof(int));
    old = a->elts;
    dh_array_push_n(a, 4);
    ok(dh_array_push(a) != NULL, "push past nalloc");
    ok(a->elts == old, "last allocation in the pool grows in place");

    dh_array_destroy(a);
    ok(pool->d.last == (u_char *) a,
       "destroying the last array gives its memory back");

    dh_destroy_pool(pool);
}


static void
test_list(dh_pool_t *pool)
{
    int              *e, *kept;
    dh_uint_t         i, n, good;
    dh_list_t        *l;
    dh_list_part_t   *part;

    l = dh_list_create(pool, 4, sizeof(int));
    ok(l != NULL, "list created");

    kept = NULL;
    for (i = 0; i < 10; i++) {
        e = dh_list_push(l);
        *e = (int) i * 10;
        if (i == 1) {
            kept = e;
        }
    }

    is_int(*kept, 10, "an element pointer stays valid after growth");

    n = 0;
    good = 1;
    part = &l->part;
    e = part->elts;

    for (i = 0; /* void */ ; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            e = part->elts;
            i = 0;
        }

        if (e[i] != (int) n * 10) {
            good = 0;
        }
        n++;
    }

    is_int(n, 10, "iteration sees 10 elements");
    ok(good, "in insertion order");
    ok(l->part.next != NULL && l->part.next->next != NULL
       && l->part.next->next->next == NULL, "three parts of 4");
    is_int(l->last->nelts, 2, "last part holds 2");

    is_int(dh_list_init(l, pool, 0, sizeof(int)), DH_ERROR,
           "n = 0 is refused");
}


static dh_buf_t *
mem_buf(dh_pool_t *pool, const char *s)
{
    size_t     len;
    dh_buf_t  *b;

    len = strlen(s);
    b = dh_create_temp_buf(pool, len);
    memcpy(b->last, s, len);
    b->last += len;

    return b;
}


static dh_chain_t *
link_of(dh_pool_t *pool, dh_buf_t *b, dh_chain_t *next)
{
    dh_chain_t  *cl;

    cl = dh_alloc_chain_link(pool);
    cl->buf = b;
    cl->next = next;

    return cl;
}


static void
test_chains(dh_pool_t *pool)
{
    int           tag, other;
    dh_buf_t     *a, *b, *f, *last;
    dh_bufs_t     bufs;
    dh_chain_t   *chain, *cl, *copy, *free, *busy, *out;

    a = mem_buf(pool, "hello ");
    b = mem_buf(pool, "world");

    f = dh_calloc_buf(pool);
    f->in_file = 1;
    f->file_pos = 100;
    f->file_last = 1100;

    last = dh_calloc_buf(pool);
    last->last_buf = 1;
    ok(dh_buf_special(last), "last_buf without data is special");

    chain = link_of(pool, a, link_of(pool, b, link_of(pool, f,
                    link_of(pool, last, NULL))));

    is_int(dh_chain_size(chain), 6 + 5 + 1000, "chain size");

    cl = dh_chain_update_sent(chain, 3);
    ok(cl == chain, "3 bytes sent: first link still unsent");
    is_int(a->pos - a->start, 3, "pos advanced by 3");

    cl = dh_chain_update_sent(chain, 3 + 5 + 10);
    ok(cl != NULL && cl->buf == f, "rest of a and b sent; at the file");
    is_int(a->pos == a->last && b->pos == b->last, 1, "both emptied");
    is_int(f->file_pos, 110, "file_pos advanced by 10");
    is_int(dh_chain_size(chain), 990, "990 left");

    cl = dh_chain_update_sent(chain, 990);
    ok(cl == NULL, "everything sent (the special buffer is skipped)");
    is_int(dh_chain_size(chain), 0, "nothing left");

    copy = NULL;
    is_int(dh_chain_add_copy(pool, &copy, chain), DH_OK, "add copy");
    is_int(dh_chain_add_copy(pool, &copy, chain), DH_OK, "append again");
    cl = copy;
    for (tag = 0; cl; cl = cl->next) {
        tag++;
    }
    is_int(tag, 8, "copy has 8 links");
    ok(copy->buf == a && copy != chain, "links are new, buffers shared");

    /* free/busy recycling */

    a = mem_buf(pool, "abc");
    a->tag = &tag;
    b = mem_buf(pool, "def");
    b->tag = &other;

    free = NULL;
    busy = NULL;
    out = link_of(pool, a, link_of(pool, b, NULL));

    dh_chain_update_chains(pool, &free, &busy, &out, &tag);
    ok(out == NULL, "out moved to busy");
    ok(busy != NULL && busy->buf == a, "unsent buffers stay busy");
    ok(free == NULL, "nothing free yet");

    a->pos = a->last;
    dh_chain_update_chains(pool, &free, &busy, &out, &tag);
    ok(free != NULL && free->buf == a, "sent buffer with our tag is free");
    ok(a->pos == a->start && a->last == a->start, "and rewound");
    ok(busy != NULL && busy->buf == b, "b still busy");

    b->pos = b->last;
    dh_chain_update_chains(pool, &free, &busy, &out, &tag);
    ok(busy == NULL, "b left busy");
    ok(free->buf == a && free->next == NULL,
       "foreign tag is not put on our free list");

    bufs.num = 4;
    bufs.size = 128;
    chain = dh_create_chain_of_bufs(pool, &bufs);
    for (tag = 0, cl = chain; cl; cl = cl->next) {
        if (cl->buf->end - cl->buf->start == 128 && cl->buf->temporary) {
            tag++;
        }
    }
    is_int(tag, 4, "chain of 4 bufs of 128");

    bufs.num = 0;
    ok(dh_create_chain_of_bufs(pool, &bufs) == NULL, "0 bufs is refused");

    is_str(dh_buf_in_memory(a) ? "mem" : "file", "mem", "temp buf in memory");
}


int
main(void)
{
    dh_pool_t  *pool;

    pool = dh_create_pool(1024, NULL);

    test_array(pool);
    test_array_in_place();
    test_list(pool);
    test_chains(pool);

    dh_destroy_pool(pool);

    return done_testing();
}

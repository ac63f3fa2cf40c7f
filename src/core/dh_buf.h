/*
 * Buffers and chains.  A buffer describes memory [pos, last) inside
 * [start, end) and/or a file range [file_pos, file_last); chains link them
 * so filters pass data along without copying.
 */

#ifndef DH_BUF_H
#define DH_BUF_H

#include "dh_core.h"

typedef void *dh_buf_tag_t;

typedef struct dh_buf_s  dh_buf_t;

struct dh_buf_s {
    u_char          *pos;
    u_char          *last;
    off_t            file_pos;
    off_t            file_last;

    u_char          *start;         /* start of buffer */
    u_char          *end;           /* end of buffer */
    dh_buf_tag_t     tag;
    dh_file_t       *file;
    dh_buf_t        *shadow;

    unsigned         temporary:1;   /* memory may be changed */
    unsigned         memory:1;      /* read-only memory */
    unsigned         mmap:1;
    unsigned         recycled:1;
    unsigned         in_file:1;
    unsigned         flush:1;
    unsigned         sync:1;
    unsigned         last_buf:1;
    unsigned         last_in_chain:1;
    unsigned         temp_file:1;
};

struct dh_chain_s {
    dh_buf_t        *buf;
    dh_chain_t      *next;
};

typedef struct {
    dh_int_t         num;
    size_t           size;
} dh_bufs_t;

#define dh_buf_in_memory(b)       ((b)->temporary || (b)->memory || (b)->mmap)
#define dh_buf_in_memory_only(b)  (dh_buf_in_memory(b) && !(b)->in_file)
#define dh_buf_special(b)                                                     \
    (((b)->flush || (b)->last_buf || (b)->sync)                               \
     && !dh_buf_in_memory(b) && !(b)->in_file)
#define dh_buf_size(b)                                                        \
    (dh_buf_in_memory(b) ? (off_t) ((b)->last - (b)->pos):                    \
                            ((b)->file_last - (b)->file_pos))

dh_buf_t *dh_create_temp_buf(dh_pool_t *pool, size_t size);
dh_chain_t *dh_create_chain_of_bufs(dh_pool_t *pool, dh_bufs_t *bufs);

#define dh_alloc_buf(pool)   dh_palloc(pool, sizeof(dh_buf_t))
#define dh_calloc_buf(pool)  dh_pcalloc(pool, sizeof(dh_buf_t))

dh_chain_t *dh_alloc_chain_link(dh_pool_t *pool);

/* Appends copies of the links in `in` to *chain (buffers are shared). */
dh_int_t dh_chain_add_copy(dh_pool_t *pool, dh_chain_t **chain,
    dh_chain_t *in);
/* Appends out to busy, then moves the fully sent buffers at the head of
 * busy to free (rewound) when their tag is `tag`; fully sent buffers with
 * another tag are just dropped from busy. */
void dh_chain_update_chains(dh_pool_t *p, dh_chain_t **free,
    dh_chain_t **busy, dh_chain_t **out, dh_buf_tag_t tag);
/* Advances the chain by `sent` bytes; returns the first unsent link
 * (special buffers are skipped; NULL when everything was sent). */
dh_chain_t *dh_chain_update_sent(dh_chain_t *in, off_t sent);
off_t dh_chain_size(dh_chain_t *in);

#endif /* DH_BUF_H */

/*
 * Memory pools.  Every allocation belongs to a pool whose lifetime matches
 * an object (cycle, connection, request); destroying the pool frees it all
 * and runs the cleanup handlers (close files, free library objects).  Large
 * blocks are malloc'ed separately and are the only ones dh_pfree() returns.
 */

#ifndef DH_PALLOC_H
#define DH_PALLOC_H

#include "dh_core.h"

#define DH_MAX_ALLOC_FROM_POOL  (4096 - 1)
#define DH_DEFAULT_POOL_SIZE    (16 * 1024)
#define DH_POOL_ALIGNMENT       16
#define DH_MIN_POOL_SIZE                                                      \
    dh_align((sizeof(dh_pool_t) + 2 * sizeof(dh_pool_large_t)),               \
              DH_POOL_ALIGNMENT)

typedef void (*dh_pool_cleanup_pt)(void *data);

typedef struct dh_pool_cleanup_s  dh_pool_cleanup_t;

struct dh_pool_cleanup_s {
    dh_pool_cleanup_pt   handler;
    void                *data;
    dh_pool_cleanup_t   *next;
};

typedef struct dh_pool_large_s  dh_pool_large_t;

struct dh_pool_large_s {
    dh_pool_large_t     *next;
    void                *alloc;
};

typedef struct {
    u_char              *last;
    u_char              *end;
    dh_pool_t           *next;
    dh_uint_t            failed;
} dh_pool_data_t;

struct dh_pool_s {
    dh_pool_data_t       d;
    size_t               max;
    dh_pool_t           *current;
    dh_pool_large_t     *large;
    dh_pool_cleanup_t   *cleanup;
    dh_log_t            *log;
};

typedef struct {
    dh_fd_t              fd;
    u_char              *name;
    dh_log_t            *log;
} dh_pool_cleanup_file_t;

void *dh_alloc(size_t size, dh_log_t *log);     /* malloc + log on failure */
void *dh_calloc(size_t size, dh_log_t *log);
#define dh_free   free

dh_pool_t *dh_create_pool(size_t size, dh_log_t *log);
/* Runs the cleanup handlers (newest first), frees large blocks and blocks. */
void dh_destroy_pool(dh_pool_t *pool);
/* Runs the cleanup handlers, frees large blocks, rewinds every block. */
void dh_reset_pool(dh_pool_t *pool);

void *dh_palloc(dh_pool_t *pool, size_t size);   /* aligned */
void *dh_pnalloc(dh_pool_t *pool, size_t size);  /* unaligned, for strings */
void *dh_pcalloc(dh_pool_t *pool, size_t size);
void *dh_pmemalign(dh_pool_t *pool, size_t size, size_t alignment);
/* DH_OK when p was a large block (now freed), DH_DECLINED otherwise. */
dh_int_t dh_pfree(dh_pool_t *pool, void *p);

dh_pool_cleanup_t *dh_pool_cleanup_add(dh_pool_t *p, size_t size);
void dh_pool_run_cleanup_file(dh_pool_t *p, dh_fd_t fd);
void dh_pool_cleanup_file(void *data);
void dh_pool_delete_file(void *data);

/* Sets dh_pagesize, dh_pagesize_shift, dh_cacheline_size and dh_ncpu from
 * sysconf(); main() calls it first.  Until then they hold 4096/12/64/1. */
dh_int_t dh_os_init_sizes(void);

extern dh_uint_t  dh_pagesize;
extern dh_uint_t  dh_pagesize_shift;
extern dh_uint_t  dh_cacheline_size;
extern dh_uint_t  dh_ncpu;

#endif /* DH_PALLOC_H */

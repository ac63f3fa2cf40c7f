/*
 * Hashing.  dh_hash() is the incremental step that parsers apply byte by
 * byte while they lower-case a header name, so lookups cost no second pass.
 * dh_hash_t is a read-only table built once at configuration time (header
 * handlers, MIME types, server names): open addressing over a power-of-two
 * array of buckets, exact-match keys compared after the hash.
 */

#ifndef DH_HASH_H
#define DH_HASH_H

#include "dh_core.h"

#define dh_hash(key, c)     ((dh_uint_t) (key) * 31 + (c))

dh_uint_t dh_hash_key(u_char *data, size_t len);
dh_uint_t dh_hash_key_lc(u_char *data, size_t len);
/* lower-cases src into dst and returns the hash of the result */
dh_uint_t dh_hash_strlow(u_char *dst, u_char *src, size_t n);

typedef struct {
    dh_str_t     key;           /* lower-case when built with lowcase set */
    dh_uint_t    key_hash;
    void        *value;
} dh_hash_key_t;

typedef struct {
    dh_hash_key_t  *buckets;    /* nbuckets entries; value == NULL: empty */
    dh_uint_t       mask;       /* nbuckets - 1 */
} dh_hash_t;

typedef struct {
    dh_array_t      keys;       /* of dh_hash_key_t */
    dh_pool_t      *pool;
    dh_uint_t       lowcase;    /* keys are case-insensitive */
} dh_hash_init_t;

dh_int_t dh_hash_keys_init(dh_hash_init_t *hk, dh_pool_t *pool, dh_uint_t n,
    dh_uint_t lowcase);
/* Copies the key (lower-cased for a lowcase table).  DH_BUSY when the key
 * already exists (callers report a duplicate); DH_ERROR for a NULL value
 * or no memory. */
dh_int_t dh_hash_add_key(dh_hash_init_t *hk, dh_str_t *key, void *value);
/* Buckets come from hk->pool.  A zeroed dh_hash_t finds nothing. */
dh_int_t dh_hash_build(dh_hash_t *hash, dh_hash_init_t *hk);
/* `name` must already be lower-case for a lowcase table; key_hash is its
 * dh_hash_key() value. */
void *dh_hash_find(dh_hash_t *hash, dh_uint_t key_hash, u_char *name,
    size_t len);

#endif /* DH_HASH_H */

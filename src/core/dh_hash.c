#include "dh_config.h"
#include "dh_core.h"


dh_uint_t
dh_hash_key(u_char *data, size_t len)
{
    dh_uint_t  key;

    key = 0;

    while (len--) {
        key = dh_hash(key, *data);
        data++;
    }

    return key;
}


dh_uint_t
dh_hash_key_lc(u_char *data, size_t len)
{
    dh_uint_t  key;

    key = 0;

    while (len--) {
        key = dh_hash(key, dh_tolower(*data));
        data++;
    }

    return key;
}


dh_uint_t
dh_hash_strlow(u_char *dst, u_char *src, size_t n)
{
    dh_uint_t  key;

    key = 0;

    while (n--) {
        *dst = dh_tolower(*src);
        key = dh_hash(key, *dst);
        dst++;
        src++;
    }

    return key;
}


dh_int_t
dh_hash_keys_init(dh_hash_init_t *hk, dh_pool_t *pool, dh_uint_t n,
    dh_uint_t lowcase)
{
    if (n == 0) {
        n = 1;
    }

    if (dh_array_init(&hk->keys, pool, n, sizeof(dh_hash_key_t)) != DH_OK) {
        return DH_ERROR;
    }

    hk->pool = pool;
    hk->lowcase = lowcase;

    return DH_OK;
}


/*
 * Keys are copied (lower-cased for a case-insensitive table), so callers
 * may pass names that point into a temporary buffer.  The duplicate check
 * is a linear scan that compares hashes first; tables are built once at
 * configuration time and hold at most a few thousand keys.
 */
dh_int_t
dh_hash_add_key(dh_hash_init_t *hk, dh_str_t *key, void *value)
{
    u_char         *name;
    dh_uint_t       i, hash;
    dh_hash_key_t  *k, *keys;

    if (value == NULL) {
        /* NULL marks an empty bucket, so it cannot be a value */
        return DH_ERROR;
    }

    name = dh_pnalloc(hk->pool, key->len + 1);
    if (name == NULL) {
        return DH_ERROR;
    }

    if (hk->lowcase) {
        hash = dh_hash_strlow(name, key->data, key->len);

    } else {
        if (key->len) {
            dh_memcpy(name, key->data, key->len);
        }
        hash = dh_hash_key(name, key->len);
    }

    name[key->len] = '\0';

    keys = hk->keys.elts;

    for (i = 0; i < hk->keys.nelts; i++) {
        if (keys[i].key_hash == hash
            && keys[i].key.len == key->len
            && dh_memcmp(keys[i].key.data, name, key->len) == 0)
        {
            return DH_BUSY;
        }
    }

    k = dh_array_push(&hk->keys);
    if (k == NULL) {
        return DH_ERROR;
    }

    k->key.len = key->len;
    k->key.data = name;
    k->key_hash = hash;
    k->value = value;

    return DH_OK;
}


/*
 * dh_hash() keeps the last characters in the low bits, so names that
 * differ only early ("x-a-id", "x-b-id") would share low bits; a
 * multiplicative mix spreads every bit before masking.
 */
static dh_uint_t
dh_hash_slot(dh_uint_t key_hash, dh_uint_t mask)
{
    uint64_t  x;

    x = (uint64_t) key_hash * 0x9e3779b97f4a7c15ULL;
    x ^= x >> 32;

    return (dh_uint_t) x & mask;
}


/*
 * Linear probing over at least twice as many buckets as keys: the table is
 * at most half full, so probe runs stay short and every search meets an
 * empty bucket.
 */
dh_int_t
dh_hash_build(dh_hash_t *hash, dh_hash_init_t *hk)
{
    dh_uint_t       i, n, nbuckets, slot;
    dh_hash_key_t  *keys, *b;

    keys = hk->keys.elts;
    n = hk->keys.nelts;

    if (n > (DH_MAX_SIZE_T_VALUE / sizeof(dh_hash_key_t)) / 4) {
        return DH_ERROR;
    }

    for (nbuckets = 2; nbuckets < 2 * n; nbuckets <<= 1) {
        /* void */
    }

    b = dh_pcalloc(hk->pool, nbuckets * sizeof(dh_hash_key_t));
    if (b == NULL) {
        return DH_ERROR;
    }

    for (i = 0; i < n; i++) {
        slot = dh_hash_slot(keys[i].key_hash, nbuckets - 1);

        while (b[slot].value != NULL) {
            slot = (slot + 1) & (nbuckets - 1);
        }

        b[slot] = keys[i];
    }

    hash->buckets = b;
    hash->mask = nbuckets - 1;

    return DH_OK;
}


void *
dh_hash_find(dh_hash_t *hash, dh_uint_t key_hash, u_char *name, size_t len)
{
    dh_uint_t       slot;
    dh_hash_key_t  *b;

    if (hash->buckets == NULL) {
        return NULL;
    }

    slot = dh_hash_slot(key_hash, hash->mask);

    for ( ;; ) {
        b = &hash->buckets[slot];

        if (b->value == NULL) {
            return NULL;
        }

        if (b->key_hash == key_hash
            && b->key.len == len
            && dh_memcmp(b->key.data, name, len) == 0)
        {
            return b->value;
        }

        slot = (slot + 1) & hash->mask;
    }
}

/*
 * The build-once hash table: build, find, case-insensitive keys,
 * duplicates, many keys, misses.
 */

#include "dh_config.h"
#include "dh_core.h"

#include "t/unit/dh_tap.h"


void
dh_log_error_core(dh_uint_t level, dh_log_t *log, dh_err_t err,
    const char *fmt, ...)
{
}


static void *
find(dh_hash_t *h, const char *name)
{
    return dh_hash_find(h, dh_hash_key((u_char *) name, strlen(name)),
                        (u_char *) name, strlen(name));
}


static void
test_keys(void)
{
    u_char  buf[32];

    is_int(dh_hash_key((u_char *) "", 0), 0, "hash of empty key");
    is_int(dh_hash_key((u_char *) "a", 1), 'a', "hash of one char");
    is_int(dh_hash_key((u_char *) "ab", 2), 'a' * 31 + 'b', "31 * h + c");
    is_int(dh_hash_key_lc((u_char *) "HoSt", 4),
           dh_hash_key((u_char *) "host", 4), "key_lc lower-cases");
    is_int(dh_hash_strlow(buf, (u_char *) "Content-TYPE", 12),
           dh_hash_key((u_char *) "content-type", 12),
           "strlow returns the lower-case hash");
    buf[12] = '\0';
    is_str(buf, "content-type", "and writes the lower-case name");
}


static void
test_basic(dh_pool_t *pool)
{
    int              v[4] = { 1, 2, 3, 4 };
    dh_str_t         k;
    dh_hash_t        h;
    dh_hash_init_t   hk;
    u_char           tmp[16];

    is_int(dh_hash_keys_init(&hk, pool, 4, 0), DH_OK, "keys init");

    dh_str_set(&k, "alpha");
    is_int(dh_hash_add_key(&hk, &k, &v[0]), DH_OK, "add alpha");
    dh_str_set(&k, "beta");
    is_int(dh_hash_add_key(&hk, &k, &v[1]), DH_OK, "add beta");
    dh_str_set(&k, "Alpha");
    is_int(dh_hash_add_key(&hk, &k, &v[2]), DH_OK,
           "case-sensitive table: Alpha is another key");
    dh_str_set(&k, "alpha");
    is_int(dh_hash_add_key(&hk, &k, &v[3]), DH_BUSY, "duplicate -> DH_BUSY");
    is_int(dh_hash_add_key(&hk, &k, NULL), DH_ERROR, "NULL value refused");

    /* the key is copied: the caller's buffer may change afterwards */
    memcpy(tmp, "gamma", 6);
    k.data = tmp;
    k.len = 5;
    is_int(dh_hash_add_key(&hk, &k, &v[3]), DH_OK, "add gamma from a buffer");
    memcpy(tmp, "XXXXX", 5);

    is_int(dh_hash_build(&h, &hk), DH_OK, "build");
    ok(h.mask + 1 >= 8, "at least twice as many buckets as keys");

    ok(find(&h, "alpha") == &v[0], "find alpha");
    ok(find(&h, "beta") == &v[1], "find beta");
    ok(find(&h, "Alpha") == &v[2], "find Alpha");
    ok(find(&h, "gamma") == &v[3], "find gamma (copied key)");
    ok(find(&h, "XXXXX") == NULL, "the caller's buffer is not the key");
    ok(find(&h, "delta") == NULL, "miss");
    ok(find(&h, "alph") == NULL, "prefix is a miss");
    ok(find(&h, "alphaa") == NULL, "longer is a miss");
    ok(dh_hash_find(&h, dh_hash_key((u_char *) "beta", 4),
                    (u_char *) "bet", 3) == NULL,
       "same hash, different length is a miss");
}


static void
test_lowcase(dh_pool_t *pool)
{
    int              v[2] = { 10, 20 };
    u_char           name[32];
    dh_str_t         k;
    dh_uint_t        key;
    dh_hash_t        h;
    dh_hash_init_t   hk;

    dh_hash_keys_init(&hk, pool, 2, 1);

    dh_str_set(&k, "Content-Length");
    is_int(dh_hash_add_key(&hk, &k, &v[0]), DH_OK, "add Content-Length");
    dh_str_set(&k, "CONTENT-length");
    is_int(dh_hash_add_key(&hk, &k, &v[1]), DH_BUSY,
           "case-insensitive duplicate -> DH_BUSY");
    dh_str_set(&k, "Host");
    dh_hash_add_key(&hk, &k, &v[1]);

    is_int(dh_hash_build(&h, &hk), DH_OK, "build lowcase table");

    key = dh_hash_strlow(name, (u_char *) "HOST", 4);
    ok(dh_hash_find(&h, key, name, 4) == &v[1], "HOST found via strlow");

    key = dh_hash_strlow(name, (u_char *) "content-LENGTH", 14);
    ok(dh_hash_find(&h, key, name, 14) == &v[0], "content-LENGTH found");

    ok(dh_hash_find(&h, dh_hash_key((u_char *) "Host", 4),
                    (u_char *) "Host", 4) == NULL,
       "lookups must already be lower-case");
}


static void
test_many(dh_pool_t *pool)
{
    char             name[32];
    dh_str_t         k;
    dh_uint_t        i, found, wrong, misses, busy;
    dh_hash_t        h;
    dh_hash_init_t   hk;
    static long      values[10000];

    dh_hash_keys_init(&hk, pool, 16, 0);

    for (i = 0; i < 10000; i++) {
        values[i] = (long) i;
        k.len = (size_t) snprintf(name, sizeof(name), "x-header-%lu",
                                  (unsigned long) i);
        k.data = (u_char *) name;
        if (dh_hash_add_key(&hk, &k, &values[i]) != DH_OK) {
            break;
        }
    }

    is_int(hk.keys.nelts, 10000, "10000 keys added");

    busy = 0;
    for (i = 0; i < 10000; i += 1000) {
        k.len = (size_t) snprintf(name, sizeof(name), "x-header-%lu",
                                  (unsigned long) i);
        k.data = (u_char *) name;
        busy += dh_hash_add_key(&hk, &k, &values[0]) == DH_BUSY;
    }
    is_int(busy, 10, "every re-added key is a duplicate");

    is_int(dh_hash_build(&h, &hk), DH_OK, "build 10000");
    is_int(h.mask + 1, 32768, "32768 buckets");

    found = 0;
    wrong = 0;
    for (i = 0; i < 10000; i++) {
        long  *v;

        snprintf(name, sizeof(name), "x-header-%lu", (unsigned long) i);
        v = find(&h, name);
        if (v == NULL) {
            continue;
        }
        found++;
        if (*v != (long) i) {
            wrong++;
        }
    }

    is_int(found, 10000, "all found");
    is_int(wrong, 0, "each with its own value");

    misses = 0;
    for (i = 10000; i < 20000; i++) {
        snprintf(name, sizeof(name), "x-header-%lu", (unsigned long) i);
        misses += find(&h, name) == NULL;
    }
    is_int(misses, 10000, "10000 absent keys miss");
}


static void
test_empty(dh_pool_t *pool)
{
    dh_hash_t        h, unbuilt;
    dh_hash_init_t   hk;

    dh_hash_keys_init(&hk, pool, 0, 0);
    is_int(dh_hash_build(&h, &hk), DH_OK, "empty table builds");
    ok(find(&h, "any") == NULL, "and finds nothing");

    memset(&unbuilt, 0, sizeof(unbuilt));
    ok(find(&unbuilt, "any") == NULL, "a zeroed table finds nothing");
}


int
main(void)
{
    dh_pool_t  *pool;

    pool = dh_create_pool(DH_DEFAULT_POOL_SIZE, NULL);

    test_keys();
    test_basic(pool);
    test_lowcase(pool);
    test_many(pool);
    test_empty(pool);

    dh_destroy_pool(pool);

    return done_testing();
}

/*
 * bdb_raw_insert: the ceiling for Stream Load benchmarks.  Inserts N
 * narrow rows into a btree of a transactional Berkeley DB 5.3
 * environment set up like divehttpd's storage (same region sizes, 16 KiB
 * table pages, DB_TXN_WRITE_NOSYNC unless --sync), BATCH rows per
 * transaction, and prints one line of JSON:
 *
 *     {"rows":N,"seconds":S,"rows_per_sec":R,"mb_per_sec":M,"bytes":B}
 *
 * where bytes counts the CSV text the rows stand for ("id,name,amount\n"),
 * so MB/s compares with a load of the same CSV.  Rows are the ones the
 * bench CSV has: id (bigint key, big-endian like divehttpd's keys),
 * name "user<id % 1000>", amount (id % 100000) / 100.
 *
 * Build (bench/run-stream-load.sh does this):
 *     cc -O2 -o bench/bdb_raw_insert bench/bdb_raw_insert.c -ldb-5.3
 * Run:
 *     bench/bdb_raw_insert DIR ROWS [BATCH] [--sync]
 *     bench/bdb_raw_insert /tmp/bdbraw 10000000 10000
 * DIR is emptied first (removed files: __db.*, log.*, *.db).
 */

#include <db.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


static void
die(const char *what, int err)
{
    fprintf(stderr, "bdb_raw_insert: %s: %s\n", what, db_strerror(err));
    exit(1);
}


static void
clean_dir(const char *dir)
{
    DIR            *d;
    char            path[4096];
    struct dirent  *de;

    if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
        perror(dir);
        exit(1);
    }

    d = opendir(dir);
    if (d == NULL) {
        perror(dir);
        exit(1);
    }

    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "__db.", 5) == 0
            || strncmp(de->d_name, "log.", 4) == 0
            || strstr(de->d_name, ".db") != NULL)
        {
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            (void) unlink(path);
        }
    }

    closedir(d);
}


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


int
main(int argc, char **argv)
{
    DB          *db;
    DBT          key, data;
    int          err, sync, i, len;
    char         csv[128];
    double       start, secs;
    DB_ENV      *env;
    DB_TXN      *txn;
    uint64_t     rows, batch, n, bytes, id;
    unsigned     char k[8], row[64], *p;

    if (argc < 3) {
        fprintf(stderr, "usage: bdb_raw_insert DIR ROWS [BATCH] [--sync]\n");
        return 2;
    }

    rows = strtoull(argv[2], NULL, 10);
    batch = (argc > 3 && argv[3][0] != '-') ? strtoull(argv[3], NULL, 10)
                                            : 10000;
    sync = (argc > 3 && strcmp(argv[argc - 1], "--sync") == 0);

    if (batch == 0) {
        batch = 10000;
    }

    clean_dir(argv[1]);

    if ((err = db_env_create(&env, 0)) != 0) {
        die("db_env_create", err);
    }

    /* the sizes of src/core/dh_storage.c */
    env->set_cachesize(env, 0, 64 * 1024 * 1024, 1);
    env->set_lk_detect(env, DB_LOCK_DEFAULT);
    env->set_lk_max_locks(env, 400000);
    env->set_lk_max_objects(env, 400000);
    env->set_lk_max_lockers(env, 20000);
    env->set_tx_max(env, 2000);
    env->set_lg_bsize(env, 8 * 1024 * 1024);
    env->set_lg_max(env, 32 * 1024 * 1024);
    env->set_flags(env, DB_TXN_WRITE_NOSYNC, !sync);

    err = env->open(env, argv[1], DB_CREATE|DB_INIT_LOCK|DB_INIT_LOG
                    |DB_INIT_MPOOL|DB_INIT_TXN|DB_THREAD, 0600);
    if (err != 0) {
        die("DB_ENV->open", err);
    }

    if ((err = db_create(&db, env, 0)) != 0) {
        die("db_create", err);
    }

    db->set_pagesize(db, 16384);

    err = db->open(db, NULL, "table.bench.raw.db", NULL, DB_BTREE,
                   DB_CREATE|DB_AUTO_COMMIT|DB_THREAD, 0600);
    if (err != 0) {
        die("DB->open", err);
    }

    memset(&key, 0, sizeof(DBT));
    memset(&data, 0, sizeof(DBT));
    key.data = k;
    key.size = 8;
    data.data = row;

    bytes = 0;
    start = now();

    for (n = 0; n < rows; /* void */) {
        if ((err = env->txn_begin(env, NULL, &txn, 0)) != 0) {
            die("txn_begin", err);
        }

        for (i = 0; (uint64_t) i < batch && n < rows; i++, n++) {
            id = n + 1;

            /* key: sign-flipped big-endian, as divehttpd stores bigints */
            for (len = 0; len < 8; len++) {
                k[len] = (unsigned char) ((id ^ (1ULL << 63))
                                          >> ((7 - len) * 8));
            }

            /* data: null bitmap, id, name (length-prefixed), amount */
            p = row;
            *p++ = 0;
            memcpy(p, k, 8);
            p += 8;
            len = snprintf((char *) p + 4, 16, "user%u",
                           (unsigned) (id % 1000));
            p[0] = 0;
            p[1] = 0;
            p[2] = 0;
            p[3] = (unsigned char) len;
            p += 4 + len;
            for (len = 0; len < 8; len++) {
                *p++ = (unsigned char) ((id % 100000) >> ((7 - len) * 8));
            }
            data.size = (u_int32_t) (p - row);

            if ((err = db->put(db, txn, &key, &data, 0)) != 0) {
                die("DB->put", err);
            }

            bytes += snprintf(csv, sizeof(csv), "%llu,user%u,%llu.%02u\n",
                              (unsigned long long) id,
                              (unsigned) (id % 1000),
                              (unsigned long long) (id % 100000 / 100),
                              (unsigned) (id % 100));
        }

        if ((err = txn->commit(txn, 0)) != 0) {
            die("DB_TXN->commit", err);
        }
    }

    secs = now() - start;

    db->close(db, 0);
    env->close(env, 0);

    printf("{\"rows\":%llu,\"seconds\":%.3f,\"rows_per_sec\":%.0f,"
           "\"mb_per_sec\":%.2f,\"bytes\":%llu}\n",
           (unsigned long long) rows, secs, secs > 0 ? rows / secs : 0,
           secs > 0 ? bytes / secs / 1e6 : 0, (unsigned long long) bytes);

    return 0;
}

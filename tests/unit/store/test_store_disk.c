/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the LMDB backend's on-disk behaviour: large and binary values, persistence
 * across close/reopen, compaction really removing history (checked with raw LMDB), and
 * refusing foreign, corrupt, truncated or locked data dirs with a message naming the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store_test_util.h"

#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <sys/stat.h>

static void fill_random(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(seed >> 16);
    }
}

static void test_large_values(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct ck_err err = CK_ERR_INIT;
    struct store *s = tu_open(dir, true, &err);
    assert_non_null(s);
    size_t sizes[] = {1 << 20, 3 << 19, 3 << 20, 4095, 4096, 4097};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *v = malloc(sizes[i]);
        fill_random(v, sizes[i], (unsigned)i + 1);
        int64_t rev;
        assert_int_equal(store_put(s, "/big", 4, v, sizes[i], STORE_ANY, &rev, NULL, &err), 0);
        struct store_kv kv;
        bool found;
        assert_int_equal(store_get(s, "/big", 4, 0, &kv, &found, &err), 0);
        assert_true(found);
        assert_int_equal(kv.value_len, sizes[i]);
        assert_memory_equal(kv.value, v, sizes[i]);
        assert_int_equal(((char *)kv.value)[sizes[i]], 0);
        store_kv_release(&kv);
        free(v);
    }
    /* a past version of a large value is still readable */
    struct store_events evs;
    assert_int_equal(store_events_since(s, 1, 0, &evs, &err), 0);
    assert_int_equal(evs.nevents, 6);
    assert_int_equal(evs.events[1].kv.value_len, 3 << 19);
    assert_int_equal(evs.events[1].prev.value_len, 1 << 20);
    store_events_release(&evs);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_binary_and_empty(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct ck_err err = CK_ERR_INIT;
    struct store *s = tu_open(dir, true, &err);
    assert_non_null(s);
    const char key[] = {'/', 'b', 0, 'x', (char)0xff};
    const unsigned char val[] = {0, 1, 0, 2, 0xff, 0};
    int64_t rev;
    assert_int_equal(store_put(s, key, sizeof(key), val, sizeof(val), STORE_ANY, &rev, NULL, &err),
                     0);
    assert_int_equal(store_put(s, "/empty", 6, NULL, 0, STORE_ANY, &rev, NULL, &err), 0);
    struct store_kv kv;
    bool found;
    assert_int_equal(store_get(s, key, sizeof(key), 0, &kv, &found, &err), 0);
    assert_true(found);
    assert_int_equal(kv.key_len, sizeof(key));
    assert_memory_equal(kv.key, key, sizeof(key));
    assert_int_equal(kv.value_len, sizeof(val));
    assert_memory_equal(kv.value, val, sizeof(val));
    store_kv_release(&kv);
    /* the key with a NUL is distinct from its prefix "/b" */
    assert_int_equal(store_get(s, "/b", 2, 0, &kv, &found, &err), 0);
    assert_false(found);
    assert_int_equal(store_get(s, "/empty", 6, 0, &kv, &found, &err), 0);
    assert_true(found);
    assert_int_equal(kv.value_len, 0);
    assert_string_equal(kv.value, "");
    store_kv_release(&kv);
    struct store_range_req r = {.prefix = "/b", .prefix_len = 2};
    struct store_range_result res;
    assert_int_equal(store_range(s, &r, &res, &err), 0);
    assert_int_equal(res.nkvs, 1);
    assert_int_equal(res.kvs[0].key_len, sizeof(key));
    store_range_result_release(&res);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_reopen_persistence(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct ck_err err = CK_ERR_INIT;
    struct store *s = tu_open(dir, false, &err);
    assert_non_null(s);
    int64_t r1 = tu_put(s, "/r/a", "a1");
    tu_put(s, "/r/b", "b1");
    int64_t r3 = tu_put(s, "/r/a", "a2");
    tu_put(s, "/r/c", "c1");
    assert_int_equal(store_compact(s, r3, &err), 0);
    int64_t last = store_current_revision(s);
    /* a second open of a live dir is refused by the lock */
    struct store *s2 = tu_open(dir, false, &err);
    assert_null(s2);
    assert_non_null(strstr(err.msg, "LOCK"));
    store_close(s);

    s = tu_open(dir, false, &err);
    assert_non_null(s);
    assert_int_equal(store_current_revision(s), last);
    assert_int_equal(store_compacted_revision(s), r3);
    struct store_kv kv;
    bool found;
    assert_int_equal(store_get(s, "/r/a", 4, 0, &kv, &found, &err), 0);
    assert_true(found);
    assert_string_equal(kv.value, "a2");
    assert_int_equal(kv.create_revision, r1);
    assert_int_equal(kv.version, 2);
    store_kv_release(&kv);
    assert_int_equal(store_get(s, "/r/a", 4, r1, &kv, &found, &err), -1);
    assert_int_equal(err.reason, CK_R_COMPACTED);
    assert_int_equal(tu_put(s, "/r/d", "d1"), last + 1); /* revision continues */
    struct store_range_req r = {.prefix = "/r/", .prefix_len = 3};
    struct store_range_result res;
    assert_int_equal(store_range(s, &r, &res, &err), 0);
    assert_int_equal(res.nkvs, 4);
    store_range_result_release(&res);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* Counts entries of a named db with raw LMDB (the store must be closed). */
static size_t raw_count(const char *dir, const char *db)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat st;
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    assert_int_equal(mdb_stat(txn, dbi, &st), 0);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return st.ms_entries;
}

static void test_compaction_removes_history(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct ck_err err = CK_ERR_INIT;
    struct store *s = tu_open(dir, true, &err);
    assert_non_null(s);
    /* 60 txns x 100 ops over 50 keys: 6000 log records, more than one compaction chunk */
    char keys[100][16];
    struct store_op ops[100];
    for (int t = 0; t < 60; t++) {
        for (int i = 0; i < 100; i++) {
            snprintf(keys[i], sizeof(keys[i]), "/h/%02d/%d", i % 50, i / 50);
            ops[i] = (struct store_op){STORE_OP_PUT, keys[i], strlen(keys[i]), keys[i], 4};
            if (t == 59 && i % 10 == 0)
                ops[i] = (struct store_op){STORE_OP_DELETE, keys[i], strlen(keys[i]), NULL, 0};
        }
        struct store_txn txn = {NULL, 0, ops, 100};
        struct store_txn_result res;
        assert_int_equal(store_txn(s, &txn, &res, &err), 0);
        store_txn_result_release(&res);
    }
    int64_t mid = store_current_revision(s);
    tu_put(s, "/h/00/0", "newer");
    assert_int_equal(store_compact(s, mid, &err), 0);
    store_close(s);
    /* kept: the 90 live keys' versions at mid and the re-create after mid; the 10 deletes at
     * mid and all 5900 older versions are dropped */
    assert_int_equal(raw_count(dir, "log"), 91);
    assert_int_equal(raw_count(dir, "hist"), 91);
    assert_int_equal(raw_count(dir, "keys"), 91);
    s = tu_open(dir, true, &err);
    assert_non_null(s);
    struct store_range_req r = {.prefix = "/h/", .prefix_len = 3, .revision = mid};
    struct store_range_result res;
    assert_int_equal(store_range(s, &r, &res, &err), 0);
    assert_int_equal(res.nkvs, 90);
    assert_int_equal(res.kvs[0].version, 60);
    assert_string_equal(res.kvs[0].value, "/h/0");
    store_range_result_release(&res);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void write_file(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
}

static void expect_refused(const char *dir, const char *needle)
{
    struct ck_err err = CK_ERR_INIT;
    struct store *s = tu_open(dir, true, &err);
    if (s)
        store_close(s);
    assert_null(s);
    if (!strstr(err.msg, needle))
        fail_msg("error \"%s\" lacks \"%s\"", err.msg, needle);
}

static void test_foreign_and_corrupt_dirs(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char path[512];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    /* 1. garbage in data.mdb */
    char junk[8192];
    memset(junk, 'z', sizeof(junk) - 1);
    junk[sizeof(junk) - 1] = 0;
    write_file(path, junk, sizeof(junk));
    expect_refused(dir, "data.mdb");
    expect_refused(dir, "not an LMDB environment");
    /* 2. a valid LMDB env that belongs to someone else */
    unlink(path);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 4);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "users", MDB_CREATE, &dbi), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    expect_refused(dir, "unexpected database \"users\"");
    expect_refused(dir, "data.mdb");
    /* 3. our store with a changed magic, then a newer format version */
    struct ck_err err = CK_ERR_INIT;
    struct store *s;
    const char *fields[][2] = {{"magic", "etcd-store!"}, {"format", "\0\0\0\2"}};
    const char *needles[] = {"bad magic", "format version 2"};
    for (int i = 0; i < 2; i++) {
        tu_rmrf(dir);
        s = tu_open(dir, true, &err);
        assert_non_null(s);
        tu_put(s, "/x", "y");
        store_close(s);
        assert_int_equal(mdb_env_create(&env), 0);
        mdb_env_set_maxdbs(env, 8);
        assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
        assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
        assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
        MDB_val k = {strlen(fields[i][0]), (void *)fields[i][0]};
        MDB_val v = {i == 0 ? 11 : 4, (void *)fields[i][1]};
        assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
        assert_int_equal(mdb_txn_commit(txn), 0);
        mdb_env_close(env);
        expect_refused(dir, needles[i]);
        expect_refused(dir, "data.mdb");
    }
    /* 4. a truncated data file (would SIGBUS if mapped blindly) */
    tu_rmrf(dir);
    s = tu_open(dir, true, &err);
    assert_non_null(s);
    for (int i = 0; i < 200; i++)
        tu_put(s, "/grow", junk);
    store_close(s);
    assert_int_equal(truncate(path, 3 * 4096), 0);
    expect_refused(dir, "truncated");
    assert_int_equal(truncate(path, 100), 0);
    expect_refused(dir, "data.mdb");
    /* 5. the data dir is a file; data.mdb is a directory */
    tu_rmrf(dir);
    write_file(dir, "x", 1);
    expect_refused(dir, "not a directory");
    unlink(dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(mkdir(path, 0700), 0);
    expect_refused(dir, "data.mdb");
    tu_rmrf(dir);
    free(dir);
}

/* A flipped byte inside a stored value is reported as corruption naming the file. */
static void test_corrupt_record_detected(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct ck_err err = CK_ERR_INIT;
    struct store *s = tu_open(dir, false, &err);
    assert_non_null(s);
    tu_put(s, "/ok", "fine");
    int64_t rev = tu_put(s, "/bad", "MARKER-0123456789-MARKER");
    store_close(s);
    char path[512];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf), f);
    char *hit = memmem(buf, n, "MARKER-0123456789", 17);
    assert_non_null(hit);
    assert_int_equal(fseek(f, (long)(hit - buf) + 8, SEEK_SET), 0);
    fputc('X', f);
    fclose(f);
    s = tu_open(dir, false, &err);
    assert_non_null(s);
    struct store_kv kv;
    bool found;
    assert_int_equal(store_get(s, "/bad", 4, 0, &kv, &found, &err), -1);
    assert_int_equal(err.reason, CK_R_CORRUPT);
    assert_non_null(strstr(err.msg, "data.mdb"));
    assert_non_null(strstr(err.msg, "checksum"));
    struct store_range_req r = {.prefix = "/", .prefix_len = 1};
    struct store_range_result res;
    assert_int_equal(store_range(s, &r, &res, &err), -1);
    assert_int_equal(err.reason, CK_R_CORRUPT);
    struct store_events evs;
    assert_int_equal(store_events_since(s, rev - 1, 0, &evs, &err), -1);
    assert_int_equal(err.reason, CK_R_CORRUPT);
    /* the rest of the store still works */
    assert_int_equal(store_get(s, "/ok", 3, 0, &kv, &found, &err), 0);
    assert_true(found);
    store_kv_release(&kv);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

struct small_writer {
    struct store *s;
    int id;
    int failures;
};

static void *small_writer_main(void *arg)
{
    struct small_writer *w = arg;
    struct ck_err err = CK_ERR_INIT;
    for (int i = 0; i < 50; i++) {
        char key[32];
        snprintf(key, sizeof(key), "/small/%d/%d", w->id, i);
        int64_t rev;
        if (store_put(w->s, key, strlen(key), "v", 1, STORE_ANY, &rev, NULL, &err) < 0)
            w->failures++;
    }
    return NULL;
}

/* A txn that cannot fit (map full) fails alone; txns batched with it still commit. */
static void test_map_full_isolated(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct ck_err err = CK_ERR_INIT;
    struct store_lmdb_opts o = {.dir = dir, .no_sync = true, .map_size = 1 << 20};
    struct store *s = NULL;
    assert_int_equal(store_lmdb_open(&o, &s, &err), 0);
    struct small_writer ws[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        ws[i] = (struct small_writer){s, i, 0};
        pthread_create(&th[i], NULL, small_writer_main, &ws[i]);
    }
    size_t big = 2 << 20;
    char *v = calloc(1, big);
    int fails = 0;
    for (int i = 0; i < 5; i++) {
        int64_t rev;
        if (store_put(s, "/big", 4, v, big, STORE_ANY, &rev, NULL, &err) < 0) {
            fails++;
            assert_int_equal(err.reason, CK_R_SERVICE_UNAVAILABLE);
            assert_non_null(strstr(err.msg, "MDB_MAP_FULL"));
        }
    }
    assert_int_equal(fails, 5);
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ws[i].failures, 0);
    }
    assert_int_equal(store_current_revision(s), 1 + 8 * 50);
    struct store_range_req r = {.prefix = "/small/", .prefix_len = 7, .count_only = true};
    struct store_range_result res;
    assert_int_equal(store_range(s, &r, &res, &err), 0);
    assert_int_equal(res.count, 400);
    store_range_result_release(&res);
    free(v);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_values),
        cmocka_unit_test(test_binary_and_empty),
        cmocka_unit_test(test_reopen_persistence),
        cmocka_unit_test(test_compaction_removes_history),
        cmocka_unit_test(test_foreign_and_corrupt_dirs),
        cmocka_unit_test(test_map_full_isolated),
        cmocka_unit_test(test_corrupt_record_detected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of store_range_each (ranges without copies) against store_range: the same pairs,
 * counts, more flags and revisions for prefixes, start keys, limits, count-only reads and past
 * revisions over keys written out of key order; a callback that stops the scan; and the
 * fallback for a backend without range_each (it visits store_range's copies). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store_test_util.h"

#define NKEYS 300

struct seen {
    struct store_kv *kvs;
    size_t n, cap;
    int stop_after; /* > 0: fail on that visit */
};

static int collect(void *arg, const struct store_kv *kv, struct ck_err *err)
{
    struct seen *s = arg;
    if (s->stop_after > 0 && (int)s->n + 1 == s->stop_after)
        return ck_err_set(err, CK_R_CONFLICT, "stopped at %.*s", (int)kv->key_len, kv->key);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->kvs = realloc(s->kvs, s->cap * sizeof(*s->kvs));
        assert_non_null(s->kvs);
    }
    store_kv_copy(&s->kvs[s->n++], kv);
    return 0;
}

static void seen_release(struct seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        store_kv_release(&s->kvs[i]);
    free(s->kvs);
    memset(s, 0, sizeof(*s));
}

/* Puts, overwrites and deletes NKEYS keys under /a/ and /b/ in a scrambled order, so that
 * revision order differs from key order; returns a revision from the middle of the writes. */
static int64_t scrambled_writes(struct store *s)
{
    int64_t mid = 0;
    char key[64], val[128];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < NKEYS; i++) {
            int j = (i * 7919 + round * 31) % NKEYS;
            snprintf(key, sizeof(key), "/%c/k%04d", j % 3 ? 'a' : 'b', j);
            if (round == 2 && j % 5 == 0) {
                struct ck_err err = CK_ERR_INIT;
                assert_int_equal(store_delete(s, key, strlen(key), STORE_ANY, NULL, NULL, &err), 0);
                continue;
            }
            snprintf(val, sizeof(val), "value of %s in round %d %.*s", key, round, j % 60,
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
            int64_t rev = tu_put(s, key, val);
            assert_true(rev > 0);
            if (round == 1 && i == NKEYS / 2)
                mid = rev;
        }
    }
    return mid;
}

static void expect_same(struct store *s, const struct store_range_req *r)
{
    struct ck_err err = CK_ERR_INIT;
    struct store_range_result a, b;
    struct seen sn = {0};
    assert_int_equal(store_range(s, r, &a, &err), 0);
    assert_int_equal(store_range_each(s, r, collect, &sn, &b, &err), 0);
    assert_null(b.kvs);
    assert_int_equal(b.nkvs, a.nkvs);
    assert_int_equal(sn.n, a.nkvs);
    assert_int_equal(b.count, a.count);
    assert_int_equal(b.more, a.more);
    assert_int_equal(b.revision, a.revision);
    for (size_t i = 0; i < a.nkvs; i++) {
        assert_int_equal(sn.kvs[i].key_len, a.kvs[i].key_len);
        assert_memory_equal(sn.kvs[i].key, a.kvs[i].key, a.kvs[i].key_len);
        assert_int_equal(sn.kvs[i].value_len, a.kvs[i].value_len);
        assert_memory_equal(sn.kvs[i].value, a.kvs[i].value, a.kvs[i].value_len);
        assert_int_equal(sn.kvs[i].mod_revision, a.kvs[i].mod_revision);
        assert_int_equal(sn.kvs[i].create_revision, a.kvs[i].create_revision);
        assert_int_equal(sn.kvs[i].version, a.kvs[i].version);
        if (i > 0) { /* key order */
            size_t n =
                a.kvs[i].key_len < a.kvs[i - 1].key_len ? a.kvs[i].key_len : a.kvs[i - 1].key_len;
            assert_true(memcmp(a.kvs[i - 1].key, a.kvs[i].key, n) < 0);
        }
    }
    seen_release(&sn);
    store_range_result_release(&a);
    store_range_result_release(&b); /* harmless on an each-result */
}

static void check_requests(struct store *s, int64_t mid)
{
    const char *prefixes[] = {"", "/a/", "/b/", "/b/k00", "/c/"};
    const char *starts[] = {NULL, "/a/k0150", "/b/k0299", "/zzz"};
    const int64_t limits[] = {0, 1, 3, 64, 1000};
    const int64_t revs[] = {0, mid, store_current_revision(s)};
    for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++)
        for (size_t st = 0; st < sizeof(starts) / sizeof(starts[0]); st++)
            for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++)
                for (size_t rv = 0; rv < sizeof(revs) / sizeof(revs[0]); rv++)
                    for (int co = 0; co < 2; co++) {
                        struct store_range_req r = {
                            .prefix = prefixes[p],
                            .prefix_len = strlen(prefixes[p]),
                            .start = starts[st],
                            .start_len = starts[st] ? strlen(starts[st]) : 0,
                            .revision = revs[rv],
                            .limit = limits[l],
                            .count_only = co,
                        };
                        expect_same(s, &r);
                    }
}

static void test_each_matches_range(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct ck_err err = CK_ERR_INIT;
    struct store *s = tu_open(dir, true, &err);
    assert_non_null(s);
    int64_t mid = scrambled_writes(s);
    assert_true(mid > 0);
    check_requests(s, mid);
    /* a full scan sees every live key with its latest value */
    struct store_range_req all = {.prefix = "/", .prefix_len = 1};
    struct store_range_result res;
    struct seen sn = {0};
    assert_int_equal(store_range_each(s, &all, collect, &sn, &res, &err), 0);
    assert_int_equal(sn.n, NKEYS - NKEYS / 5);
    for (size_t i = 0; i < sn.n; i++) {
        assert_non_null(strstr(sn.kvs[i].value, "round 2"));
        assert_int_equal(sn.kvs[i].version, 3);
    }
    seen_release(&sn);
    /* errors as store_range's */
    struct store_range_req fut = {.prefix = "/", .prefix_len = 1, .revision = 1 << 30};
    assert_int_equal(store_range_each(s, &fut, collect, &sn, &res, &err), -1);
    assert_int_equal(err.reason, CK_R_TIMEOUT);
    assert_int_equal(store_compact(s, mid, &err), 0);
    struct store_range_req old = {.prefix = "/", .prefix_len = 1, .revision = mid - 1};
    assert_int_equal(store_range_each(s, &old, collect, &sn, &res, &err), -1);
    assert_int_equal(err.reason, CK_R_COMPACTED);
    assert_int_equal(sn.n, 0);
    check_requests(s, mid); /* at the compacted revision and after */
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_each_stops_on_callback_error(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct ck_err err = CK_ERR_INIT;
    struct store *s = tu_open(dir, true, &err);
    assert_non_null(s);
    scrambled_writes(s);
    struct store_range_req r = {.prefix = "/a/", .prefix_len = 3};
    struct store_range_result res;
    struct seen sn = {.stop_after = 5};
    assert_int_equal(store_range_each(s, &r, collect, &sn, &res, &err), -1);
    assert_int_equal(err.reason, CK_R_CONFLICT);
    assert_non_null(strstr(err.msg, "stopped at /a/"));
    assert_int_equal(sn.n, 4);
    assert_int_equal(res.nkvs, 0);
    seen_release(&sn);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* A backend without range_each: the LMDB store's ops minus that one. */
struct plain {
    struct store base;
    struct store_ops ops;
    struct store *inner;
};

static int plain_range(struct store *s, const struct store_range_req *r,
                       struct store_range_result *res, struct ck_err *err)
{
    struct store *in = ((struct plain *)s)->inner;
    return in->ops->range(in, r, res, err);
}

static void test_each_fallback(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct ck_err err = CK_ERR_INIT;
    struct store *s = tu_open(dir, true, &err);
    assert_non_null(s);
    int64_t mid = scrambled_writes(s);
    struct plain p = {.inner = s};
    p.ops = *s->ops;
    p.ops.range = plain_range;
    p.ops.range_each = NULL;
    p.base.ops = &p.ops;
    struct store_range_req r = {.prefix = "/b/", .prefix_len = 3, .limit = 7, .revision = mid};
    expect_same(&p.base, &r);
    struct store_range_result res;
    struct seen sn = {.stop_after = 3};
    assert_int_equal(store_range_each(&p.base, &r, collect, &sn, &res, &err), -1);
    assert_int_equal(err.reason, CK_R_CONFLICT);
    assert_int_equal(res.nkvs, 0);
    assert_null(res.kvs);
    seen_release(&sn);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_matches_range),
        cmocka_unit_test(test_each_stops_on_callback_error),
        cmocka_unit_test(test_each_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

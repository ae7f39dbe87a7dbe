/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the store's operations on the real LMDB backend: conditional put/delete and
 * their reasons, txn atomicity and shared revisions, range paging, past reads, compaction
 * and the compacted error, events with prev values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store_test_util.h"

struct fx {
    char *dir;
    struct store *s;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct ck_err err = CK_ERR_INIT;
    f->dir = tu_tmpdir();
    f->s = tu_open(f->dir, true, &err);
    if (!f->s) {
        fprintf(stderr, "open: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->s);
    tu_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static struct store *S(void **state)
{
    return ((struct fx *)*state)->s;
}

static void test_put_get_versions(void **state)
{
    struct store *s = S(state);
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(store_current_revision(s), 1); /* like etcd, an empty store is at 1 */
    int64_t r1 = tu_put(s, "/a", "one");
    assert_int_equal(r1, 2);
    struct store_kv prev;
    int64_t r2;
    assert_int_equal(store_put(s, "/a", 2, "two", 3, r1, &r2, &prev, &err), 0);
    assert_int_equal(r2, 3);
    assert_string_equal(prev.key, "/a");
    assert_string_equal(prev.value, "one");
    assert_int_equal(prev.mod_revision, r1);
    store_kv_release(&prev);
    struct store_kv kv;
    bool found;
    assert_int_equal(store_get(s, "/a", 2, 0, &kv, &found, &err), 0);
    assert_true(found);
    assert_string_equal(kv.value, "two");
    assert_int_equal(kv.create_revision, r1);
    assert_int_equal(kv.mod_revision, r2);
    assert_int_equal(kv.version, 2);
    store_kv_release(&kv);
    assert_int_equal(store_get(s, "/nope", 5, 0, &kv, &found, &err), 0);
    assert_false(found);
    assert_null(kv.key);
    assert_int_equal(store_current_revision(s), r2);
}

static void test_create_only_exists(void **state)
{
    struct store *s = S(state);
    struct ck_err err = CK_ERR_INIT;
    int64_t rev;
    assert_int_equal(store_put(s, "/c", 2, "x", 1, STORE_ABSENT, &rev, NULL, &err), 0);
    int64_t cur = store_current_revision(s);
    assert_int_equal(store_put(s, "/c", 2, "y", 1, STORE_ABSENT, &rev, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_ALREADY_EXISTS);
    assert_int_equal(err.code, 409);
    assert_int_equal(store_current_revision(s), cur); /* a failed cmp consumes no revision */
}

static void test_stale_update_conflict(void **state)
{
    struct store *s = S(state);
    struct ck_err err = CK_ERR_INIT;
    int64_t r1 = tu_put(s, "/u", "1");
    int64_t r2 = tu_put(s, "/u", "2");
    int64_t rev;
    assert_int_equal(store_put(s, "/u", 2, "3", 1, r1, &rev, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_CONFLICT);
    assert_int_equal(store_put(s, "/missing", 8, "3", 1, r1, &rev, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    assert_int_equal(store_put(s, "/u", 2, "3", 1, r2, &rev, NULL, &err), 0);
    assert_int_equal(rev, r2 + 1);
}

static void test_delete_preconditions(void **state)
{
    struct store *s = S(state);
    struct ck_err err = CK_ERR_INIT;
    int64_t rev;
    struct store_kv prev;
    assert_int_equal(store_delete(s, "/d", 2, STORE_ANY, &rev, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    assert_int_equal(store_delete(s, "/d", 2, 7, &rev, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    int64_t r1 = tu_put(s, "/d", "v");
    int64_t r2 = tu_put(s, "/d", "w");
    assert_int_equal(store_delete(s, "/d", 2, r1, &rev, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_CONFLICT);
    assert_int_equal(store_delete(s, "/d", 2, r2, &rev, &prev, &err), 0);
    assert_int_equal(rev, r2 + 1);
    assert_string_equal(prev.value, "w");
    assert_int_equal(prev.version, 2);
    store_kv_release(&prev);
    bool found;
    struct store_kv kv;
    assert_int_equal(store_get(s, "/d", 2, 0, &kv, &found, &err), 0);
    assert_false(found);
    /* a new generation starts at version 1 with a new create_revision */
    int64_t r4 = tu_put(s, "/d", "again");
    assert_int_equal(store_get(s, "/d", 2, 0, &kv, &found, &err), 0);
    assert_true(found);
    assert_int_equal(kv.version, 1);
    assert_int_equal(kv.create_revision, r4);
    store_kv_release(&kv);
}

static void test_txn_atomic_and_shared_revision(void **state)
{
    struct store *s = S(state);
    struct ck_err err = CK_ERR_INIT;
    int64_t ra = tu_put(s, "/t/a", "a0");
    tu_put(s, "/t/b", "b0");
    int64_t cur = store_current_revision(s);
    struct store_cmp cmps[] = {{"/t/a", 4, ra}, {"/t/b", 4, STORE_ABSENT}};
    struct store_op ops[] = {{STORE_OP_PUT, "/t/a", 4, "a1", 2},
                             {STORE_OP_PUT, "/t/c", 4, "c1", 2}};
    struct store_txn t = {cmps, 2, ops, 2};
    struct store_txn_result res;
    assert_int_equal(store_txn(s, &t, &res, &err), 0);
    assert_false(res.succeeded);
    assert_int_equal(res.failed_cmp, 1);
    assert_true(res.failed_exists);
    assert_string_equal(res.failed_kv.value, "b0");
    assert_int_equal(res.revision, cur);
    store_txn_result_release(&res);
    struct store_kv kv;
    bool found;
    assert_int_equal(store_get(s, "/t/c", 4, 0, &kv, &found, &err), 0);
    assert_false(found); /* nothing applied */
    assert_int_equal(store_current_revision(s), cur);

    /* all ops of a succeeding txn share one revision */
    struct store_op ops2[] = {{STORE_OP_PUT, "/t/a", 4, "a1", 2},
                              {STORE_OP_DELETE, "/t/b", 4, NULL, 0},
                              {STORE_OP_PUT, "/t/c", 4, "c1", 2},
                              {STORE_OP_DELETE, "/t/zz", 5, NULL, 0}};
    struct store_txn t2 = {cmps, 1, ops2, 4};
    assert_int_equal(store_txn(s, &t2, &res, &err), 0);
    assert_true(res.succeeded);
    assert_int_equal(res.revision, cur + 1);
    assert_int_equal(res.nprev, 4);
    assert_string_equal(res.prev[0].value, "a0");
    assert_string_equal(res.prev[1].value, "b0");
    assert_null(res.prev[2].key);
    assert_null(res.prev[3].key);
    store_txn_result_release(&res);
    struct store_events evs;
    assert_int_equal(store_events_since(s, cur, 0, &evs, &err), 0);
    assert_int_equal(evs.nevents, 3);
    assert_string_equal(evs.events[0].kv.key, "/t/a");
    assert_string_equal(evs.events[1].kv.key, "/t/b");
    assert_int_equal(evs.events[1].type, STORE_EVENT_DELETE);
    assert_string_equal(evs.events[2].kv.key, "/t/c");
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(evs.events[i].revision, cur + 1);
    store_events_release(&evs);

    /* a txn that changes nothing consumes no revision */
    struct store_op noop = {STORE_OP_DELETE, "/t/none", 7, NULL, 0};
    struct store_txn t3 = {NULL, 0, &noop, 1};
    assert_int_equal(store_txn(s, &t3, &res, &err), 0);
    assert_true(res.succeeded);
    assert_int_equal(res.revision, cur + 1);
    store_txn_result_release(&res);
    assert_int_equal(store_current_revision(s), cur + 1);
}

static void test_txn_bad_requests(void **state)
{
    struct store *s = S(state);
    struct ck_err err = CK_ERR_INIT;
    struct store_op dup[] = {{STORE_OP_PUT, "/k", 2, "a", 1}, {STORE_OP_DELETE, "/k", 2, NULL, 0}};
    struct store_txn t = {NULL, 0, dup, 2};
    struct store_txn_result res;
    assert_int_equal(store_txn(s, &t, &res, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "duplicate"));
    /* empty keys are rejected everywhere */
    int64_t rev;
    assert_int_equal(store_put(s, "", 0, "v", 1, STORE_ANY, &rev, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "empty key"));
    struct store_kv kv;
    bool found;
    assert_int_equal(store_get(s, "", 0, 0, &kv, &found, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    assert_int_equal(store_delete(s, "", 0, STORE_ANY, &rev, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    char longkey[600];
    memset(longkey, 'k', sizeof(longkey));
    assert_int_equal(store_put(s, longkey, sizeof(longkey), "v", 1, STORE_ANY, &rev, NULL, &err),
                     -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    assert_int_equal(store_put(s, longkey, 511, "v", 1, STORE_ANY, &rev, NULL, &err), 0);
    assert_int_equal(store_current_revision(s), rev);
}

static void put_range_keys(struct store *s)
{
    const char *keys[] = {"/a/3", "/a/1", "/b/1", "/a/5", "/a/2", "/a/4", "/a"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_true(tu_put(s, keys[i], keys[i]) > 0);
}

static void test_range_prefix_start_limit(void **state)
{
    struct store *s = S(state);
    struct ck_err err = CK_ERR_INIT;
    put_range_keys(s);
    struct store_range_req r = {.prefix = "/a/", .prefix_len = 3};
    struct store_range_result res;
    assert_int_equal(store_range(s, &r, &res, &err), 0);
    assert_int_equal(res.nkvs, 5);
    assert_int_equal(res.count, 5);
    assert_false(res.more);
    assert_int_equal(res.revision, store_current_revision(s));
    for (size_t i = 0; i < 5; i++) {
        char want[8];
        snprintf(want, sizeof(want), "/a/%zu", i + 1);
        assert_string_equal(res.kvs[i].key, want);
        assert_string_equal(res.kvs[i].value, want);
    }
    store_range_result_release(&res);
    r.limit = 2;
    assert_int_equal(store_range(s, &r, &res, &err), 0);
    assert_int_equal(res.nkvs, 2);
    assert_true(res.more);
    assert_int_equal(res.count, 5);
    assert_string_equal(res.kvs[1].key, "/a/2");
    store_range_result_release(&res);
    r.start = "/a/3";
    r.start_len = 4;
    r.limit = 3;
    assert_int_equal(store_range(s, &r, &res, &err), 0);
    assert_int_equal(res.nkvs, 3);
    assert_false(res.more);
    assert_int_equal(res.count, 5);
    assert_string_equal(res.kvs[0].key, "/a/3");
    assert_string_equal(res.kvs[2].key, "/a/5");
    store_range_result_release(&res);
    struct store_range_req all = {.prefix = "", .count_only = true};
    assert_int_equal(store_range(s, &all, &res, &err), 0);
    assert_int_equal(res.count, 7);
    assert_int_equal(res.nkvs, 0);
    store_range_result_release(&res);
    char huge[600];
    memset(huge, '/', sizeof(huge));
    struct store_range_req toolong = {.prefix = huge, .prefix_len = sizeof(huge)};
    assert_int_equal(store_range(s, &toolong, &res, &err), 0);
    assert_int_equal(res.count, 0);
    store_range_result_release(&res);
    struct store_events evs;
    assert_int_equal(store_events_since(s, INT64_MAX, 0, &evs, &err), 0);
    assert_int_equal(evs.nevents, 0);
    store_events_release(&evs);
    struct store_range_req none = {.prefix = "/zz", .prefix_len = 3};
    assert_int_equal(store_range(s, &none, &res, &err), 0);
    assert_int_equal(res.count, 0);
    assert_int_equal(res.nkvs, 0);
    store_range_result_release(&res);
}

static void test_range_and_get_past_revision(void **state)
{
    struct store *s = S(state);
    struct ck_err err = CK_ERR_INIT;
    int64_t r1 = tu_put(s, "/p/a", "a1");
    int64_t r2 = tu_put(s, "/p/b", "b1");
    int64_t r3 = tu_put(s, "/p/a", "a2");
    int64_t r4;
    assert_int_equal(store_delete(s, "/p/b", 4, STORE_ANY, &r4, NULL, &err), 0);
    tu_put(s, "/p/c", "c1");
    struct store_range_req r = {.prefix = "/p/", .prefix_len = 3, .revision = r2};
    struct store_range_result res;
    assert_int_equal(store_range(s, &r, &res, &err), 0);
    assert_int_equal(res.nkvs, 2);
    assert_int_equal(res.revision, r2);
    assert_string_equal(res.kvs[0].value, "a1");
    assert_string_equal(res.kvs[1].value, "b1");
    store_range_result_release(&res);
    r.revision = r4;
    assert_int_equal(store_range(s, &r, &res, &err), 0);
    assert_int_equal(res.nkvs, 1);
    assert_int_equal(res.count, 1);
    assert_string_equal(res.kvs[0].value, "a2");
    assert_int_equal(res.kvs[0].version, 2);
    assert_int_equal(res.kvs[0].mod_revision, r3);
    store_range_result_release(&res);
    struct store_kv kv;
    bool found;
    assert_int_equal(store_get(s, "/p/a", 4, r1, &kv, &found, &err), 0);
    assert_true(found);
    assert_string_equal(kv.value, "a1");
    store_kv_release(&kv);
    assert_int_equal(store_get(s, "/p/b", 4, r4, &kv, &found, &err), 0);
    assert_false(found);
    assert_int_equal(store_get(s, "/p/a", 4, 1, &kv, &found, &err), 0);
    assert_false(found); /* before its creation */
    /* a future revision is refused (the API server turns it into 504 / waits) */
    assert_int_equal(store_get(s, "/p/a", 4, r4 + 100, &kv, &found, &err), -1);
    assert_int_equal(err.reason, CK_R_TIMEOUT);
    assert_non_null(strstr(err.msg, "future revision"));
}

static void test_compaction(void **state)
{
    struct store *s = S(state);
    struct ck_err err = CK_ERR_INIT;
    int64_t r1 = tu_put(s, "/k/a", "a1");
    tu_put(s, "/k/b", "b1");
    tu_put(s, "/k/a", "a2");
    int64_t rdel;
    assert_int_equal(store_delete(s, "/k/b", 4, STORE_ANY, &rdel, NULL, &err), 0);
    int64_t rc1 = tu_put(s, "/k/c", "c1");
    int64_t after = tu_put(s, "/k/c", "c2");
    tu_put(s, "/k/a", "a3");
    assert_int_equal(store_compact(s, rc1, &err), 0);
    assert_int_equal(store_compacted_revision(s), rc1);
    struct store_range_req r = {.prefix = "/k/", .prefix_len = 3, .revision = r1};
    struct store_range_result res;
    assert_int_equal(store_range(s, &r, &res, &err), -1);
    assert_int_equal(err.reason, CK_R_COMPACTED);
    assert_int_equal(err.code, 410);
    assert_non_null(strstr(err.msg, "mvcc: required revision has been compacted"));
    struct store_kv kv;
    bool found;
    assert_int_equal(store_get(s, "/k/a", 4, r1, &kv, &found, &err), -1);
    assert_int_equal(err.reason, CK_R_COMPACTED);
    /* reading at exactly the compacted revision still sees the state kept for it */
    r.revision = rc1;
    assert_int_equal(store_range(s, &r, &res, &err), 0);
    assert_int_equal(res.nkvs, 2);
    assert_string_equal(res.kvs[0].value, "a2");
    assert_string_equal(res.kvs[1].value, "c1");
    store_range_result_release(&res);
    /* events: below the compacted revision fails, at/above works, with prev values */
    struct store_events evs;
    assert_int_equal(store_events_since(s, rc1 - 1, 0, &evs, &err), -1);
    assert_int_equal(err.reason, CK_R_COMPACTED);
    assert_int_equal(store_events_since(s, rc1, 0, &evs, &err), 0);
    assert_int_equal(evs.nevents, 2);
    assert_int_equal(evs.events[0].revision, after);
    assert_true(evs.events[0].has_prev);
    assert_string_equal(evs.events[0].prev.value, "c1");
    assert_true(evs.events[1].has_prev);
    assert_string_equal(evs.events[1].prev.value, "a2");
    store_events_release(&evs);
    /* compacting again at or below, or into the future, is refused */
    assert_int_equal(store_compact(s, rc1, &err), -1);
    assert_int_equal(err.reason, CK_R_COMPACTED);
    assert_int_equal(store_compact(s, store_current_revision(s) + 1, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    /* latest reads are untouched */
    assert_int_equal(store_get(s, "/k/a", 4, 0, &kv, &found, &err), 0);
    assert_true(found);
    assert_string_equal(kv.value, "a3");
    assert_int_equal(kv.version, 3);
    store_kv_release(&kv);
}

static void test_events_prev_and_limit(void **state)
{
    struct store *s = S(state);
    struct ck_err err = CK_ERR_INIT;
    int64_t start = store_current_revision(s);
    tu_put(s, "/e", "v1");
    tu_put(s, "/e", "v2");
    int64_t rev;
    assert_int_equal(store_delete(s, "/e", 2, STORE_ANY, &rev, NULL, &err), 0);
    struct store_op two[] = {{STORE_OP_PUT, "/x", 2, "x", 1}, {STORE_OP_PUT, "/y", 2, "y", 1}};
    struct store_txn t = {NULL, 0, two, 2};
    struct store_txn_result tr;
    assert_int_equal(store_txn(s, &t, &tr, &err), 0);
    store_txn_result_release(&tr);
    struct store_events evs;
    assert_int_equal(store_events_since(s, start, 0, &evs, &err), 0);
    assert_int_equal(evs.nevents, 5);
    assert_int_equal(evs.revision, store_current_revision(s));
    assert_int_equal(evs.events[0].type, STORE_EVENT_PUT);
    assert_false(evs.events[0].has_prev);
    assert_int_equal(evs.events[1].kv.version, 2);
    assert_string_equal(evs.events[1].prev.value, "v1");
    assert_int_equal(evs.events[2].type, STORE_EVENT_DELETE);
    assert_int_equal(evs.events[2].kv.version, 0);
    assert_int_equal(evs.events[2].kv.value_len, 0);
    assert_int_equal(evs.events[2].kv.mod_revision, rev);
    assert_string_equal(evs.events[2].prev.value, "v2");
    store_events_release(&evs);
    /* limit 4 would cut the two-op revision: the page keeps it whole */
    assert_int_equal(store_events_since(s, start, 4, &evs, &err), 0);
    assert_int_equal(evs.nevents, 5);
    assert_false(evs.more);
    store_events_release(&evs);
    assert_int_equal(store_events_since(s, start, 2, &evs, &err), 0);
    assert_int_equal(evs.nevents, 2);
    assert_true(evs.more);
    store_events_release(&evs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_only_exists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_update_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_preconditions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_atomic_and_shared_revision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_prefix_start_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_and_get_past_revision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_prev_and_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The store_ops contract on the etcd backend, against a real etcd started by the test:
 * conditional put/delete reasons, txn atomicity and shared revisions, no-op txns, range
 * paging and past reads, compaction errors, events_since with prev values, prefix isolation,
 * bad input and an unreachable etcd. Revisions are checked relative to each other because
 * one etcd serves every test (each test uses its own key prefix). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../etcd/etcd_fixture.h"

static struct etf g_etcd;
static int g_seq;

static int group_setup(void **state)
{
    (void)state;
    return etf_init(&g_etcd);
}

static int group_teardown(void **state)
{
    (void)state;
    etf_destroy(&g_etcd);
    return 0;
}

static int setup(void **state)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "/test%d", ++g_seq);
    struct store *s = etf_open(&g_etcd, prefix);
    *state = s;
    return s ? 0 : -1;
}

static int teardown(void **state)
{
    store_close(*state);
    return 0;
}

static int64_t put(struct store *s, const char *k, const char *v)
{
    int64_t rev = -1;
    struct ck_err err = CK_ERR_INIT;
    if (store_put(s, k, strlen(k), v, strlen(v), STORE_ANY, &rev, NULL, &err) < 0) {
        fprintf(stderr, "put %s: %s\n", k, err.msg);
        return -1;
    }
    return rev;
}

static void test_put_get_versions(void **state)
{
    struct store *s = *state;
    struct ck_err err = CK_ERR_INIT;
    int64_t r0 = store_current_revision(s);
    int64_t r1 = put(s, "/a", "one");
    assert_int_equal(r1, r0 + 1);
    struct store_kv prev;
    int64_t r2;
    assert_int_equal(store_put(s, "/a", 2, "two", 3, r1, &r2, &prev, &err), 0);
    assert_int_equal(r2, r1 + 1);
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
    /* binary values survive base64 both ways */
    const char bin[] = {0, 1, (char)0xff, '\n', 0};
    assert_int_equal(store_put(s, "/bin", 4, bin, sizeof(bin), STORE_ANY, NULL, NULL, &err), 0);
    assert_int_equal(store_get(s, "/bin", 4, 0, &kv, &found, &err), 0);
    assert_int_equal(kv.value_len, sizeof(bin));
    assert_memory_equal(kv.value, bin, sizeof(bin));
    store_kv_release(&kv);
}

static void test_create_only_and_conflicts(void **state)
{
    struct store *s = *state;
    struct ck_err err = CK_ERR_INIT;
    int64_t rev;
    assert_int_equal(store_put(s, "/c", 2, "x", 1, STORE_ABSENT, &rev, NULL, &err), 0);
    int64_t cur = store_current_revision(s);
    assert_int_equal(store_put(s, "/c", 2, "y", 1, STORE_ABSENT, &rev, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_ALREADY_EXISTS);
    assert_int_equal(err.code, 409);
    assert_int_equal(store_current_revision(s), cur); /* a failed cmp consumes no revision */
    int64_t r1 = put(s, "/u", "1");
    int64_t r2 = put(s, "/u", "2");
    assert_int_equal(store_put(s, "/u", 2, "3", 1, r1, &rev, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_CONFLICT);
    assert_int_equal(store_put(s, "/missing", 8, "3", 1, r1, &rev, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    assert_int_equal(store_put(s, "/u", 2, "3", 1, r2, &rev, NULL, &err), 0);
    assert_int_equal(rev, r2 + 1);
}

static void test_delete_preconditions(void **state)
{
    struct store *s = *state;
    struct ck_err err = CK_ERR_INIT;
    int64_t rev;
    struct store_kv prev;
    assert_int_equal(store_delete(s, "/d", 2, STORE_ANY, &rev, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    assert_int_equal(store_delete(s, "/d", 2, 7, &rev, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    int64_t r1 = put(s, "/d", "v");
    int64_t r2 = put(s, "/d", "w");
    assert_int_equal(store_delete(s, "/d", 2, r1, &rev, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_CONFLICT);
    assert_int_equal(store_delete(s, "/d", 2, r2, &rev, &prev, &err), 0);
    assert_int_equal(rev, r2 + 1);
    assert_string_equal(prev.value, "w");
    store_kv_release(&prev);
    bool found;
    struct store_kv kv;
    assert_int_equal(store_get(s, "/d", 2, 0, &kv, &found, &err), 0);
    assert_false(found);
    /* recreate starts a new generation */
    int64_t r4 = put(s, "/d", "again");
    assert_int_equal(store_get(s, "/d", 2, 0, &kv, &found, &err), 0);
    assert_int_equal(kv.create_revision, r4);
    assert_int_equal(kv.version, 1);
    store_kv_release(&kv);
}

static void test_txn_atomic_shared_revision(void **state)
{
    struct store *s = *state;
    struct ck_err err = CK_ERR_INIT;
    int64_t ra = put(s, "/t/a", "a0");
    put(s, "/t/b", "b0");
    struct store_cmp cmps[] = {{"/t/a", 4, ra}, {"/t/new", 6, STORE_ABSENT}};
    struct store_op ops[] = {{STORE_OP_PUT, "/t/a", 4, "a1", 2},
                             {STORE_OP_DELETE, "/t/b", 4, NULL, 0},
                             {STORE_OP_PUT, "/t/new", 6, "n", 1}};
    struct store_txn t = {cmps, 2, ops, 3};
    struct store_txn_result res;
    assert_int_equal(store_txn(s, &t, &res, &err), 0);
    assert_true(res.succeeded);
    int64_t rev = res.revision;
    assert_int_equal(res.nprev, 3);
    assert_string_equal(res.prev[0].value, "a0");
    assert_string_equal(res.prev[1].value, "b0");
    assert_null(res.prev[2].key);
    store_txn_result_release(&res);
    struct store_kv kv;
    bool found;
    assert_int_equal(store_get(s, "/t/a", 4, 0, &kv, &found, &err), 0);
    assert_int_equal(kv.mod_revision, rev);
    store_kv_release(&kv);
    assert_int_equal(store_get(s, "/t/new", 6, 0, &kv, &found, &err), 0);
    assert_int_equal(kv.mod_revision, rev);
    store_kv_release(&kv);
    /* second cmp fails: nothing applied, failed_cmp/failed_kv report the current state */
    struct store_cmp cmps2[] = {{"/t/a", 4, rev}, {"/t/new", 6, STORE_ABSENT}};
    struct store_op ops2[] = {{STORE_OP_PUT, "/t/a", 4, "zz", 2}};
    struct store_txn t2 = {cmps2, 2, ops2, 1};
    assert_int_equal(store_txn(s, &t2, &res, &err), 0);
    assert_false(res.succeeded);
    assert_int_equal(res.revision, rev);
    assert_int_equal(res.failed_cmp, 1);
    assert_true(res.failed_exists);
    assert_string_equal(res.failed_kv.value, "n");
    store_txn_result_release(&res);
    assert_int_equal(store_get(s, "/t/a", 4, 0, &kv, &found, &err), 0);
    assert_string_equal(kv.value, "a1");
    store_kv_release(&kv);
    /* a txn that changes nothing takes no revision */
    struct store_op noop[] = {{STORE_OP_DELETE, "/t/absent", 9, NULL, 0}};
    struct store_txn t3 = {NULL, 0, noop, 1};
    assert_int_equal(store_txn(s, &t3, &res, &err), 0);
    assert_true(res.succeeded);
    assert_int_equal(res.revision, rev);
    assert_null(res.prev[0].key);
    store_txn_result_release(&res);
    assert_int_equal(store_current_revision(s), rev);
}

static void test_range_paging_and_past(void **state)
{
    struct store *s = *state;
    struct ck_err err = CK_ERR_INIT;
    char k[16];
    int64_t mid = 0;
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof(k), "/r/%02d", i);
        int64_t r = put(s, k, k);
        if (i == 4)
            mid = r;
    }
    put(s, "/rx", "outside");
    struct store_range_req rq = {.prefix = "/r/", .prefix_len = 3, .limit = 4};
    struct store_range_result res;
    assert_int_equal(store_range(s, &rq, &res, &err), 0);
    assert_int_equal(res.nkvs, 4);
    assert_true(res.more);
    assert_int_equal(res.count, 10);
    assert_string_equal(res.kvs[0].key, "/r/00");
    assert_string_equal(res.kvs[3].key, "/r/03");
    int64_t at = res.revision;
    store_range_result_release(&res);
    /* next page from "/r/04" at the first page's revision; count ignores start */
    rq.start = "/r/04";
    rq.start_len = 5;
    rq.revision = at;
    rq.limit = 100;
    assert_int_equal(store_range(s, &rq, &res, &err), 0);
    assert_int_equal(res.nkvs, 6);
    assert_false(res.more);
    assert_int_equal(res.count, 10);
    assert_string_equal(res.kvs[5].key, "/r/09");
    assert_int_equal(res.revision, at);
    store_range_result_release(&res);
    /* a start below the prefix cannot reach outside it */
    put(s, "/q", "below");
    struct store_range_req low = {.prefix = "/r/", .prefix_len = 3, .start = "/a", .start_len = 2};
    assert_int_equal(store_range(s, &low, &res, &err), 0);
    assert_int_equal(res.nkvs, 10);
    assert_string_equal(res.kvs[0].key, "/r/00");
    store_range_result_release(&res);
    /* past read: only 5 keys existed at mid */
    struct store_range_req past = {.prefix = "/r/", .prefix_len = 3, .revision = mid};
    assert_int_equal(store_range(s, &past, &res, &err), 0);
    assert_int_equal(res.nkvs, 5);
    assert_int_equal(res.count, 5);
    store_range_result_release(&res);
    struct store_range_req cnt = {.prefix = "/r", .prefix_len = 2, .count_only = true};
    assert_int_equal(store_range(s, &cnt, &res, &err), 0);
    assert_int_equal(res.nkvs, 0);
    assert_int_equal(res.count, 11); /* /r/.. and /rx, not /q */
    store_range_result_release(&res);
    /* future revision */
    past.revision = store_current_revision(s) + 1000;
    assert_int_equal(store_range(s, &past, &res, &err), -1);
    assert_int_equal(err.reason, CK_R_TIMEOUT);
}

static void test_events_since_prev(void **state)
{
    struct store *s = *state;
    struct ck_err err = CK_ERR_INIT;
    int64_t base = store_current_revision(s);
    int64_t r1 = put(s, "/e", "1");
    put(s, "/e", "2");
    struct store_op ops[] = {{STORE_OP_PUT, "/e2", 3, "x", 1}, {STORE_OP_DELETE, "/e", 2, NULL, 0}};
    struct store_txn t = {NULL, 0, ops, 2};
    struct store_txn_result tr;
    assert_int_equal(store_txn(s, &t, &tr, &err), 0);
    int64_t r3 = tr.revision;
    store_txn_result_release(&tr);
    struct store_events ev;
    assert_int_equal(store_events_since(s, base, 0, &ev, &err), 0);
    assert_int_equal(ev.nevents, 4);
    assert_int_equal(ev.revision, r3);
    assert_int_equal(ev.events[0].type, STORE_EVENT_PUT);
    assert_int_equal(ev.events[0].revision, r1);
    assert_false(ev.events[0].has_prev);
    assert_true(ev.events[1].has_prev);
    assert_string_equal(ev.events[1].prev.value, "1");
    assert_int_equal(ev.events[2].revision, r3);
    assert_int_equal(ev.events[3].revision, r3);
    assert_int_equal(ev.events[3].type, STORE_EVENT_DELETE);
    assert_string_equal(ev.events[3].kv.key, "/e");
    assert_int_equal(ev.events[3].kv.version, 0);
    assert_string_equal(ev.events[3].prev.value, "2");
    store_events_release(&ev);
    /* limit 3 cannot split r3's two events: returns 4 with more false... limit 1 returns 1 */
    assert_int_equal(store_events_since(s, base, 1, &ev, &err), 0);
    assert_int_equal(ev.nevents, 1);
    assert_true(ev.more);
    store_events_release(&ev);
    assert_int_equal(store_events_since(s, base, 3, &ev, &err), 0);
    assert_int_equal(ev.nevents, 4);
    store_events_release(&ev);
    assert_int_equal(store_events_since(s, r3, 0, &ev, &err), 0);
    assert_int_equal(ev.nevents, 0);
    store_events_release(&ev);
}

static void test_compaction(void **state)
{
    struct store *s = *state;
    struct ck_err err = CK_ERR_INIT;
    int64_t r1 = put(s, "/k", "1");
    int64_t r2 = put(s, "/k", "2");
    int64_t r3 = put(s, "/k", "3");
    assert_int_equal(store_compact(s, r2, &err), 0);
    assert_int_equal(store_compacted_revision(s), r2);
    struct store_kv kv;
    bool found;
    assert_int_equal(store_get(s, "/k", 2, r1, &kv, &found, &err), -1);
    assert_int_equal(err.reason, CK_R_COMPACTED);
    assert_int_equal(err.code, 410);
    assert_int_equal(store_get(s, "/k", 2, r2, &kv, &found, &err), 0); /* at compacted: ok */
    assert_string_equal(kv.value, "2");
    store_kv_release(&kv);
    struct store_events ev;
    assert_int_equal(store_events_since(s, r1, 0, &ev, &err), -1);
    assert_int_equal(err.reason, CK_R_COMPACTED);
    assert_int_equal(store_events_since(s, r2, 0, &ev, &err), 0);
    assert_int_equal(ev.nevents, 1);
    assert_int_equal(ev.events[0].revision, r3);
    store_events_release(&ev);
    assert_int_equal(store_compact(s, r2, &err), -1);
    assert_int_equal(err.reason, CK_R_COMPACTED);
    assert_int_equal(store_compact(s, r3 + 100, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    /* a second store handle learns the compacted revision from etcd itself */
    struct store *s2 = etf_open(&g_etcd, "/other");
    assert_non_null(s2);
    assert_int_equal(store_compacted_revision(s2), r2);
    store_close(s2);
}

static void test_prefix_isolation(void **state)
{
    struct store *s = *state;
    struct ck_err err = CK_ERR_INIT;
    struct store *o = etf_open(&g_etcd, "/tenant-b");
    assert_non_null(o);
    int64_t base = store_current_revision(s);
    put(o, "/x", "theirs");
    int64_t mine = put(s, "/x", "mine");
    struct store_kv kv;
    bool found;
    assert_int_equal(store_get(s, "/x", 2, 0, &kv, &found, &err), 0);
    assert_string_equal(kv.value, "mine");
    store_kv_release(&kv);
    struct store_range_req rq = {.prefix = "", .prefix_len = 0};
    struct store_range_result res;
    assert_int_equal(store_range(o, &rq, &res, &err), 0);
    assert_int_equal(res.nkvs, 1);
    assert_string_equal(res.kvs[0].value, "theirs");
    store_range_result_release(&res);
    struct store_events ev;
    assert_int_equal(store_events_since(s, base, 0, &ev, &err), 0);
    assert_int_equal(ev.nevents, 1); /* the other tenant's write is not ours */
    assert_int_equal(ev.events[0].revision, mine);
    store_events_release(&ev);
    store_close(o);
}

static void test_bad_input(void **state)
{
    struct store *s = *state;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(store_put(s, "", 0, "v", 1, STORE_ANY, NULL, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    char big[600];
    memset(big, 'k', sizeof(big));
    assert_int_equal(store_put(s, big, sizeof(big), "v", 1, STORE_ANY, NULL, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    struct store_op dup[] = {{STORE_OP_PUT, "/a", 2, "1", 1}, {STORE_OP_DELETE, "/a", 2, NULL, 0}};
    struct store_txn t = {NULL, 0, dup, 2};
    struct store_txn_result res;
    assert_int_equal(store_txn(s, &t, &res, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    /* etcd's request size limit (1.5 MiB) becomes TooLarge */
    size_t n = 2u << 20;
    char *v = calloc(1, n);
    assert_int_equal(store_put(s, "/big", 4, v, n, STORE_ANY, NULL, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_TOO_LARGE);
    free(v);
    struct store_events ev;
    assert_int_equal(store_events_since(s, 0, -1, &ev, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
}

static void test_unreachable_and_bad_opts(void **state)
{
    (void)state;
    struct ck_err err = CK_ERR_INIT;
    struct store *s = NULL;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", etf_free_port());
    struct store_etcd_opts o = {.endpoints = url, .timeout_ms = 500};
    assert_int_equal(store_etcd_open(&o, &s, &err), -1);
    assert_int_equal(err.reason, CK_R_SERVICE_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "unreachable"));
    o.endpoints = "ftp://x";
    assert_int_equal(store_etcd_open(&o, &s, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    o.endpoints = ",,";
    assert_int_equal(store_etcd_open(&o, &s, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    /* failover: a dead endpoint first, the live one second */
    char both[160];
    snprintf(both, sizeof(both), "%s,%s", url, g_etcd.url);
    o.endpoints = both;
    assert_int_equal(store_etcd_open(&o, &s, &err), 0);
    assert_true(store_current_revision(s) > 1);
    store_close(s);
}

/* A hung etcd (SIGSTOP) must not hang callers: every call ends after timeout_ms. */
static void test_hung_etcd_times_out(void **state)
{
    (void)state;
    struct store_etcd_opts o = {.endpoints = g_etcd.url, .prefix = "/hung", .timeout_ms = 400};
    struct store *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(store_etcd_open(&o, &s, &err), 0);
    kill(g_etcd.pid, SIGSTOP);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = store_put(s, "/k", 2, "v", 1, STORE_ANY, NULL, NULL, &err);
    struct store_events ev;
    int rc2 = store_events_since(s, 1, 0, &ev, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    kill(g_etcd.pid, SIGCONT);
    assert_int_equal(rc, -1);
    assert_int_equal(rc2, -1);
    assert_int_equal(err.reason, CK_R_SERVICE_UNAVAILABLE);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(secs < 3.0);
    store_close(s);
}

int main(void)
{
    if (!etf_available())
        return 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_only_and_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_preconditions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_atomic_shared_revision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_paging_and_past, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_since_prev, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefix_isolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test(test_unreachable_and_bad_opts),
        cmocka_unit_test(test_hung_etcd_times_out),
        cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

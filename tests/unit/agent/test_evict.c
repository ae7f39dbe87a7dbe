/* SPDX-License-Identifier: Apache-2.0 */
/* The eviction manager's decisions with a fake signal source: upstream's default hard
 * thresholds and flag syntax, thresholds met with minimum reclaim, conditions held for the
 * pressure transition period, and pod ranking (over requests, priority, usage over requests;
 * critical pods never chosen). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "agent/evict.h"

#define SEC 1000000000LL
#define MI (1LL << 20)
#define GI (1LL << 30)

static void test_parse_defaults(void **state)
{
    (void)state;
    struct ag_threshold t[AG_EVICT_MAX_THRESHOLDS];
    size_t n = 0;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(ag_evict_parse(NULL, t, &n, &err), 0);
    assert_int_equal(n, 5);
    assert_int_equal(t[0].sig, AG_SIG_MEMORY);
    assert_int_equal(t[0].quantity, 100 * MI);
    assert_string_equal(t[0].text, "100Mi");
    assert_int_equal(t[1].sig, AG_SIG_NODEFS);
    assert_true(t[1].percent > 0.0999 && t[1].percent < 0.1001);
    assert_int_equal(ag_threshold_value(&t[1], 1000), 100);
    assert_int_equal(t[2].sig, AG_SIG_NODEFS_INODES);
    assert_int_equal(t[3].sig, AG_SIG_IMAGEFS);
    assert_int_equal(ag_threshold_value(&t[3], 1000), 150);
    assert_int_equal(t[4].sig, AG_SIG_IMAGEFS_INODES);
    /* a flag replaces the defaults */
    assert_int_equal(ag_evict_parse("memory.available<1Gi", t, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(t[0].quantity, GI);
    assert_int_equal(ag_evict_parse("", t, &n, &err), 0);
    assert_int_equal(n, 0);
    /* zero disables a signal */
    assert_int_equal(ag_evict_parse("memory.available<0,nodefs.available<0%", t, &n, &err), 0);
    assert_int_equal(n, 0);
}

static void expect_parse_error(const char *spec, const char *msg)
{
    struct ag_threshold t[AG_EVICT_MAX_THRESHOLDS];
    size_t n = 0;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(ag_evict_parse(spec, t, &n, &err), -1);
    assert_string_equal(err.msg, msg);
    ck_err_clear(&err);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_parse_error("memory.free<1Gi", "unsupported eviction signal memory.free");
    expect_parse_error("memory.available>1Gi",
                       "invalid eviction threshold syntax memory.available>1Gi, expected "
                       "<signal><operator><value>");
    expect_parse_error("nodefs.available<120%",
                       "eviction percentage threshold nodefs.available must be positive: 120%");
    expect_parse_error("memory.available<-1Gi",
                       "eviction threshold memory.available must be positive: -1Gi");
    expect_parse_error("memory.available<1Gi,memory.available<2Gi",
                       "found duplicate eviction threshold for signal memory.available");
    struct ag_threshold t[AG_EVICT_MAX_THRESHOLDS];
    size_t n = 0;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(ag_evict_parse(NULL, t, &n, &err), 0);
    assert_int_equal(
        ag_evict_parse_reclaim("memory.available=500Mi,nodefs.available=1%", t, n, &err), 0);
    assert_int_equal(t[0].reclaim_q, 500 * MI);
    assert_true(t[1].reclaim_pct > 0.0099 && t[1].reclaim_pct < 0.0101);
    assert_int_equal(ag_evict_parse_reclaim("bogus=1", t, n, &err), -1);
    ck_err_clear(&err);
}

static struct ag_evict_obs obs(int64_t mem_avail, int64_t disk_avail)
{
    struct ag_evict_obs o;
    memset(&o, 0, sizeof(o));
    o.s[AG_SIG_MEMORY] = (struct ag_observation){true, mem_avail, 8 * GI};
    o.s[AG_SIG_NODEFS] = (struct ag_observation){true, disk_avail, 100 * GI};
    o.s[AG_SIG_IMAGEFS] = (struct ag_observation){true, disk_avail, 100 * GI};
    o.s[AG_SIG_NODEFS_INODES] = (struct ag_observation){true, 1000000, 1000000};
    o.s[AG_SIG_IMAGEFS_INODES] = (struct ag_observation){true, 1000000, 1000000};
    return o;
}

static void test_rank_memory(void **state)
{
    (void)state;
    struct ag_evict_cand c[] = {
        {"guaranteed", 0, false, 50 * MI, 100 * MI, 0, 0}, /* under its request */
        {"burstable", 0, false, 300 * MI, 100 * MI, 0, 0}, /* 200Mi over */
        {"besteffort", 0, false, 150 * MI, 0, 0, 0},       /* 150Mi over */
        {"high-prio", 1000, false, 900 * MI, 0, 0, 0},     /* over, but higher priority */
        {"low-prio-under", -5, false, 10 * MI, 20 * MI, 0, 0},
    };
    ag_evict_rank(c, 5, AG_SIG_MEMORY);
    assert_string_equal(c[0].uid, "burstable");
    assert_string_equal(c[1].uid, "besteffort");
    assert_string_equal(c[2].uid, "high-prio");
    assert_string_equal(c[3].uid, "low-prio-under"); /* within requests: lower priority first */
    assert_string_equal(c[4].uid, "guaranteed");
}

static void test_rank_disk_and_pid(void **state)
{
    (void)state;
    struct ag_evict_cand c[] = {
        {"a", 0, false, 0, 0, 10 * MI, 0},
        {"b", 0, false, 0, 0, 90 * MI, 0},
        {"c", -1, false, 0, 0, 1 * MI, 100 * MI},
    };
    ag_evict_rank(c, 3, AG_SIG_NODEFS);
    assert_string_equal(c[0].uid, "b");
    assert_string_equal(c[1].uid, "a");
    assert_string_equal(c[2].uid, "c");
    ag_evict_rank(c, 3, AG_SIG_PID);
    assert_string_equal(c[0].uid, "c"); /* lowest priority only */
}

static void test_sync_thresholds_conditions(void **state)
{
    (void)state;
    struct ag_evict_state s;
    memset(&s, 0, sizeof(s));
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(ag_evict_parse(NULL, s.t, &s.nt, &err), 0);
    assert_int_equal(ag_evict_parse_reclaim("memory.available=200Mi", s.t, s.nt, &err), 0);
    s.transition_ns = 300 * SEC;
    struct ag_evict_cand c[] = {
        {"static", -10, true, 900 * MI, 0, 0, 0}, /* critical: never chosen */
        {"small", 0, false, 10 * MI, 0, 0, 0},
        {"big", 0, false, 500 * MI, 0, 0, 0},
    };
    struct ag_evict_decision d;
    int64_t t0 = 1000 * SEC;
    struct ag_evict_obs o = obs(4 * GI, 50 * GI);
    ag_evict_sync(&s, &o, t0, c, 3, &d);
    assert_int_equal(d.threshold, -1);
    assert_int_equal(d.victim, -1);
    assert_false(s.cond[AG_COND_MEMORY]);
    assert_false(s.cond[AG_COND_DISK]);
    /* memory below 100Mi: memory pressure, the biggest non-critical pod */
    o = obs(50 * MI, 50 * GI);
    ag_evict_sync(&s, &o, t0 + 10 * SEC, c, 3, &d);
    assert_int_equal(s.t[d.threshold].sig, AG_SIG_MEMORY);
    assert_true(d.victim >= 0);
    assert_string_equal(c[d.victim].uid, "big");
    assert_true(s.cond[AG_COND_MEMORY]);
    /* 150Mi available: above the threshold but not above threshold + minimum reclaim */
    o = obs(150 * MI, 50 * GI);
    ag_evict_sync(&s, &o, t0 + 20 * SEC, c, 3, &d);
    assert_int_equal(s.t[d.threshold].sig, AG_SIG_MEMORY);
    /* 400Mi: reclaimed; the condition stays for the transition period */
    o = obs(400 * MI, 50 * GI);
    ag_evict_sync(&s, &o, t0 + 30 * SEC, c, 3, &d);
    assert_int_equal(d.threshold, -1);
    assert_true(s.cond[AG_COND_MEMORY]);
    ag_evict_sync(&s, &o, t0 + 20 * SEC + 299 * SEC, c, 3, &d);
    assert_true(s.cond[AG_COND_MEMORY]);
    ag_evict_sync(&s, &o, t0 + 20 * SEC + 300 * SEC, c, 3, &d);
    assert_false(s.cond[AG_COND_MEMORY]);
    /* disk below 10%: disk pressure; memory comes first when both */
    o = obs(4 * GI, 5 * GI);
    ag_evict_sync(&s, &o, t0 + 400 * SEC, c, 3, &d);
    assert_true(s.cond[AG_COND_DISK]);
    assert_false(s.cond[AG_COND_MEMORY]);
    assert_true(s.t[d.threshold].sig == AG_SIG_NODEFS || s.t[d.threshold].sig == AG_SIG_IMAGEFS);
    o = obs(10 * MI, 5 * GI);
    ag_evict_sync(&s, &o, t0 + 410 * SEC, c, 3, &d);
    assert_int_equal(s.t[d.threshold].sig, AG_SIG_MEMORY);
    /* only critical pods: nothing to evict */
    ag_evict_sync(&s, &o, t0 + 420 * SEC, c, 1, &d);
    assert_int_equal(d.victim, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_defaults),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_rank_memory),
        cmocka_unit_test(test_rank_disk_and_pid),
        cmocka_unit_test(test_sync_thresholds_conditions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

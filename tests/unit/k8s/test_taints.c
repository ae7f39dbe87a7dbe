/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for taint/toleration matching: tables from upstream's
 * k8s.io/api/core/v1 toleration_test.go and component-helpers scheduling/corev1
 * helpers_test.go. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/taints.h"

#include <jansson.h>

#include "k8s_test.h"

#define SLA "\"node.kubernetes.io/sla\""

/* cases from TestTolerationToleratesTaint */
static void test_tolerates(void **state)
{
    (void)state;
    static const struct {
        const char *desc, *toleration, *taint;
        bool cmp_ops, want;
    } table[] = {
        {"same key and effect, Exists, taint without value",
         "{\"key\":\"foo\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}",
         "{\"key\":\"foo\",\"effect\":\"NoSchedule\"}", false, true},
        {"same key and effect, Exists, taint with value",
         "{\"key\":\"foo\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}",
         "{\"key\":\"foo\",\"value\":\"bar\",\"effect\":\"NoSchedule\"}", false, true},
        {"empty key with Exists matches all taints of the effect",
         "{\"key\":\"\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}",
         "{\"key\":\"foo\",\"value\":\"bar\",\"effect\":\"NoSchedule\"}", false, true},
        {"same key, effect and value, Equal",
         "{\"key\":\"foo\",\"operator\":\"Equal\",\"value\":\"bar\",\"effect\":\"NoSchedule\"}",
         "{\"key\":\"foo\",\"value\":\"bar\",\"effect\":\"NoSchedule\"}", false, true},
        {"different values, Equal",
         "{\"key\":\"foo\",\"operator\":\"Equal\",\"value\":\"value1\",\"effect\":\"NoSchedule\"}",
         "{\"key\":\"foo\",\"value\":\"value2\",\"effect\":\"NoSchedule\"}", false, false},
        {"different effects, Equal",
         "{\"key\":\"foo\",\"operator\":\"Equal\",\"value\":\"bar\",\"effect\":\"NoSchedule\"}",
         "{\"key\":\"foo\",\"value\":\"bar\",\"effect\":\"NoExecute\"}", false, false},
        {"Gt, taint value below",
         "{\"key\":" SLA ",\"operator\":\"Gt\",\"value\":\"950\",\"effect\":\"NoSchedule\"}",
         "{\"key\":" SLA ",\"value\":\"800\",\"effect\":\"NoSchedule\"}", true, false},
        {"Gt, taint value above",
         "{\"key\":" SLA ",\"operator\":\"Gt\",\"value\":\"750\",\"effect\":\"NoSchedule\"}",
         "{\"key\":" SLA ",\"value\":\"950\",\"effect\":\"NoSchedule\"}", true, true},
        {"Lt, taint value above",
         "{\"key\":" SLA ",\"operator\":\"Lt\",\"value\":\"800\",\"effect\":\"NoSchedule\"}",
         "{\"key\":" SLA ",\"value\":\"950\",\"effect\":\"NoSchedule\"}", true, false},
        {"Lt, taint value below",
         "{\"key\":" SLA ",\"operator\":\"Lt\",\"value\":\"950\",\"effect\":\"NoSchedule\"}",
         "{\"key\":" SLA ",\"value\":\"800\",\"effect\":\"NoSchedule\"}", true, true},
        {"Gt, equal values",
         "{\"key\":" SLA ",\"operator\":\"Gt\",\"value\":\"950\",\"effect\":\"NoSchedule\"}",
         "{\"key\":" SLA ",\"value\":\"950\",\"effect\":\"NoSchedule\"}", true, false},
        {"Gt, non-numeric taint",
         "{\"key\":" SLA ",\"operator\":\"Gt\",\"value\":\"950\",\"effect\":\"NoSchedule\"}",
         "{\"key\":" SLA ",\"value\":\"high\",\"effect\":\"NoSchedule\"}", true, false},
        {"Gt, negatives",
         "{\"key\":\"test-key\",\"operator\":\"Gt\",\"value\":\"-100\",\"effect\":\"NoSchedule\"}",
         "{\"key\":\"test-key\",\"value\":\"-200\",\"effect\":\"NoSchedule\"}", true, false},
        {"Gt, large int64",
         "{\"key\":\"test-key\",\"operator\":\"Gt\",\"value\":\"9223372036854775806\",\"effect\":"
         "\"NoSchedule\"}",
         "{\"key\":\"test-key\",\"value\":\"100\",\"effect\":\"NoSchedule\"}", true, false},
        /* the same Gt that tolerates above, with the feature off */
        {"Gt without the feature",
         "{\"key\":" SLA ",\"operator\":\"Gt\",\"value\":\"750\",\"effect\":\"NoSchedule\"}",
         "{\"key\":" SLA ",\"value\":\"950\",\"effect\":\"NoSchedule\"}", false, false},
        /* empty effect matches every effect; an empty operator means Equal */
        {"empty effect", "{\"key\":\"foo\",\"operator\":\"Exists\"}",
         "{\"key\":\"foo\",\"effect\":\"NoExecute\"}", false, true},
        {"empty operator", "{\"key\":\"foo\",\"value\":\"bar\"}",
         "{\"key\":\"foo\",\"value\":\"bar\",\"effect\":\"NoExecute\"}", false, true},
        {"unknown operator", "{\"key\":\"foo\",\"operator\":\"Bogus\"}",
         "{\"key\":\"foo\",\"effect\":\"NoExecute\"}", false, false},
        {"other key", "{\"key\":\"bar\",\"operator\":\"Exists\"}",
         "{\"key\":\"foo\",\"effect\":\"NoExecute\"}", false, false},
    };
    for (size_t i = 0; i < N(table); i++) {
        json_t *tol = J(table[i].toleration), *taint = J(table[i].taint);
        if (k8s_toleration_tolerates(tol, taint, table[i].cmp_ops) != table[i].want)
            fail_msg("[%s] want %d", table[i].desc, table[i].want);
        json_decref(tol);
        json_decref(taint);
    }
}

/* cases from TestCompareNumericValues (through a Gt/Lt toleration with the feature on) */
static void test_compare_numeric(void **state)
{
    (void)state;
    static const struct {
        const char *tol, *taint, *op;
        bool want;
    } table[] = {
        {"100", "200", "Gt", true},
        {"200", "100", "Gt", false},
        {"100", "100", "Gt", false},
        {"-100", "-50", "Gt", true},
        {"-50", "-100", "Gt", false},
        {"0", "1", "Gt", true},
        {"9223372036854775806", "9223372036854775807", "Gt", true},
        {"200", "100", "Lt", true},
        {"100", "200", "Lt", false},
        {"100", "100", "Lt", false},
        {"-50", "-100", "Lt", true},
        {"-100", "-50", "Lt", false},
        {"0", "-1", "Lt", true},
        {"abc", "100", "Gt", false},
        {"", "100", "Gt", false},
        {"0100", "200", "Gt", false},
        {"+100", "200", "Gt", false},
        {"100.5", "200", "Gt", false},
        {"-", "100", "Gt", false},
        {"100", "xyz", "Gt", false},
        {"100", "", "Gt", false},
        {"100", "0200", "Gt", false},
        {"100", "+200", "Lt", false},
        {"100", " 200 ", "Lt", false},
        {"0", "0", "Gt", false},
        {"0", "0", "Lt", false},
        {"0", "9223372036854775807", "Gt", true},
        {"0", "-9223372036854775808", "Lt", true},
        {"0", "9223372036854775808", "Gt", false}, /* out of int64 range */
    };
    for (size_t i = 0; i < N(table); i++) {
        json_t *tol =
            json_pack("{s:s,s:s,s:s}", "key", "k", "operator", table[i].op, "value", table[i].tol);
        json_t *taint =
            json_pack("{s:s,s:s,s:s}", "key", "k", "value", table[i].taint, "effect", "NoSchedule");
        if (k8s_toleration_tolerates(tol, taint, true) != table[i].want)
            fail_msg("%s %s %s: want %d", table[i].tol, table[i].op, table[i].taint, table[i].want);
        json_decref(tol);
        json_decref(taint);
    }
}

static bool filter_all(const json_t *t, void *ctx)
{
    (void)t;
    (void)ctx;
    return true;
}

static bool filter_none(const json_t *t, void *ctx)
{
    (void)t;
    (void)ctx;
    return false;
}

/* cases from TestFindMatchingUntoleratedTaint */
static void test_find_untolerated(void **state)
{
    (void)state;
    static const char *const ns_foo =
        "[{\"key\":\"foo\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}]";
    static const struct {
        const char *desc, *tolerations, *taints;
        k8s_taint_filter_fn filter;
        void *ctx;
        bool cmp_ops, tolerated;
    } table[] = {
        {"empty tolerations tolerate empty taints", "[]", "[]", filter_all, NULL, false, true},
        {"non-empty tolerations tolerate empty taints", ns_foo, "[]", filter_all, NULL, false,
         true},
        {"tolerations match all taints", ns_foo, "[{\"key\":\"foo\",\"effect\":\"NoSchedule\"}]",
         filter_all, NULL, false, true},
        {"no taint passes the filter", ns_foo, "[{\"key\":\"bar\",\"effect\":\"NoSchedule\"}]",
         filter_none, NULL, false, true},
        {"no filter: all taints apply", ns_foo, "[{\"key\":\"bar\",\"effect\":\"NoSchedule\"}]",
         NULL, NULL, false, false},
        {"filter on NoExecute",
         "[{\"key\":\"foo\",\"operator\":\"Exists\",\"effect\":\"NoExecute\"}]",
         "[{\"key\":\"foo\",\"effect\":\"NoExecute\"},{\"key\":\"bar\",\"effect\":\"NoSchedule\"}]",
         k8s_taint_filter_effect, (void *)K8S_TAINT_NO_EXECUTE, false, true},
        {"Gt below threshold",
         "[{\"key\":" SLA ",\"operator\":\"Gt\",\"value\":\"950\",\"effect\":\"NoSchedule\"}]",
         "[{\"key\":" SLA ",\"value\":\"800\",\"effect\":\"NoSchedule\"}]", filter_all, NULL, true,
         false},
        {"Gt above threshold",
         "[{\"key\":" SLA ",\"operator\":\"Gt\",\"value\":\"750\",\"effect\":\"NoSchedule\"}]",
         "[{\"key\":" SLA ",\"value\":\"950\",\"effect\":\"NoSchedule\"}]", filter_all, NULL, true,
         true},
        {"Lt above threshold",
         "[{\"key\":" SLA ",\"operator\":\"Lt\",\"value\":\"800\",\"effect\":\"NoSchedule\"}]",
         "[{\"key\":" SLA ",\"value\":\"950\",\"effect\":\"NoSchedule\"}]", filter_all, NULL, true,
         false},
        {"Gt non-numeric",
         "[{\"key\":" SLA ",\"operator\":\"Gt\",\"value\":\"950\",\"effect\":\"NoSchedule\"}]",
         "[{\"key\":" SLA ",\"value\":\"high\",\"effect\":\"NoSchedule\"}]", filter_all, NULL, true,
         false},
        /* the scheduler's filter ignores PreferNoSchedule */
        {"PreferNoSchedule filtered out", "[]", "[{\"key\":\"x\",\"effect\":\"PreferNoSchedule\"}]",
         k8s_taint_filter_no_schedule_or_execute, NULL, false, true},
    };
    for (size_t i = 0; i < N(table); i++) {
        json_t *tols = J(table[i].tolerations), *taints = J(table[i].taints);
        const json_t *t = k8s_find_untolerated_taint(taints, tols, table[i].filter, table[i].ctx,
                                                     table[i].cmp_ops);
        if ((t == NULL) != table[i].tolerated)
            fail_msg("[%s] want tolerated=%d", table[i].desc, table[i].tolerated);
        json_decref(tols);
        json_decref(taints);
    }
}

static void test_taint_string(void **state)
{
    (void)state;
    static const struct {
        const char *taint, *want;
    } table[] = {
        {"{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoSchedule\"}", "k=v:NoSchedule"},
        {"{\"key\":\"k\",\"effect\":\"NoExecute\"}", "k:NoExecute"},
        {"{\"key\":\"k\",\"value\":\"v\"}", "k=v:"},
        {"{\"key\":\"k\"}", "k"},
    };
    for (size_t i = 0; i < N(table); i++) {
        json_t *t = J(table[i].taint);
        char *s = k8s_taint_to_string(t);
        assert_string_equal(s, table[i].want);
        free(s);
        json_decref(t);
    }
    json_t *a = J("{\"key\":\"k\",\"value\":\"1\",\"effect\":\"NoSchedule\"}");
    json_t *b = J("{\"key\":\"k\",\"value\":\"2\",\"effect\":\"NoSchedule\"}");
    json_t *c = J("{\"key\":\"k\",\"effect\":\"NoExecute\"}");
    assert_true(k8s_taint_match(a, b));
    assert_false(k8s_taint_match(a, c));
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tolerates),
        cmocka_unit_test(test_compare_numeric),
        cmocka_unit_test(test_find_untolerated),
        cmocka_unit_test(test_taint_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Job controller decisions: the pod re-create backoff (backoff_utils_test.go
 * TestNewBackoffRecord / TestGetRemainingBackoffTime), podFailurePolicy matching
 * (pod_failure_policy_test.go), completion index sets (indexed_job_utils_test.go), finished
 * pods' times, failed-pod rules and conditions (ensureJobConditionStatus). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/jobutil.h"

#include "ctrl_test.h"

#define S 1000000000LL

static void test_backoff_sequence(void **state)
{
    (void)state;
    /* 10 s doubling per consecutive failure, capped at 6 minutes */
    static const int64_t want[] = {0, 10, 20, 40, 80, 160, 320, 360, 360, 360};
    for (int f = 0; f < (int)N(want); f++)
        assert_int_equal(job_backoff_remaining_ns(f, 1000 * S, 1000 * S), want[f] * S);
    /* time already waited counts */
    assert_int_equal(job_backoff_remaining_ns(2, 1000 * S, 1015 * S), 5 * S);
    assert_int_equal(job_backoff_remaining_ns(2, 1000 * S, 1020 * S), 0);
    assert_int_equal(job_backoff_remaining_ns(2, 1000 * S, 1100 * S), 0);
}

static void test_backoff_record(void **state)
{
    (void)state;
    struct job_backoff b = {0, 0};
    int64_t f1[] = {30 * S, 10 * S};
    job_backoff_next(&b, NULL, 0, f1, 2);
    assert_int_equal(b.failures, 2);
    assert_int_equal(b.last_failure_ns, 30 * S);
    /* nothing new: unchanged */
    job_backoff_next(&b, NULL, 0, NULL, 0);
    assert_int_equal(b.failures, 2);
    int64_t f2[] = {40 * S};
    job_backoff_next(&b, NULL, 0, f2, 1);
    assert_int_equal(b.failures, 3);
    assert_int_equal(b.last_failure_ns, 40 * S);
    /* a success resets; only failures after it count */
    int64_t s1[] = {50 * S};
    int64_t f3[] = {45 * S, 60 * S, 55 * S};
    job_backoff_next(&b, s1, 1, f3, 3);
    assert_int_equal(b.failures, 2);
    assert_int_equal(b.last_failure_ns, 60 * S);
    int64_t s2[] = {70 * S};
    job_backoff_next(&b, s2, 1, NULL, 0);
    assert_int_equal(b.failures, 0);
    assert_int_equal(b.last_failure_ns, 0);
}

static void test_finished_time(void **state)
{
    (void)state;
    json_t *p = J(
        "{\"metadata\":{\"creationTimestamp\":\"2024-01-01T00:00:00Z\"},"
        "\"status\":{\"containerStatuses\":["
        "{\"name\":\"a\",\"state\":{\"terminated\":{\"finishedAt\":\"2024-01-01T00:01:00Z\"}}},"
        "{\"name\":\"b\",\"state\":{\"terminated\":{\"finishedAt\":\"2024-01-01T00:02:00Z\"}}}]}}");
    assert_int_equal(job_pod_finished_ns(p), (1704067200LL + 120) * S);
    json_decref(p);
    /* a running container: the Ready=False transition instead */
    p = J("{\"metadata\":{\"creationTimestamp\":\"2024-01-01T00:00:00Z\"},"
          "\"status\":{\"containerStatuses\":[{\"name\":\"a\",\"state\":{\"running\":{}}}],"
          "\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\","
          "\"lastTransitionTime\":\"2024-01-01T00:03:00Z\"}]}}");
    assert_int_equal(job_pod_finished_ns(p), (1704067200LL + 180) * S);
    json_decref(p);
    p = J("{\"metadata\":{\"creationTimestamp\":\"2024-01-01T00:00:00Z\","
          "\"deletionTimestamp\":\"2024-01-01T00:05:00Z\",\"deletionGracePeriodSeconds\":30}}");
    assert_int_equal(job_pod_finished_ns(p), (1704067200LL + 270) * S);
    json_decref(p);
    p = J("{\"metadata\":{\"creationTimestamp\":\"2024-01-01T00:00:00Z\"}}");
    assert_int_equal(job_pod_finished_ns(p), 1704067200LL * S);
    json_decref(p);
}

static const char *policy_json =
    "{\"rules\":["
    "{\"action\":\"Ignore\",\"onPodConditions\":[{\"type\":\"DisruptionTarget\"}]},"
    "{\"action\":\"FailJob\",\"onExitCodes\":{\"containerName\":\"main\",\"operator\":\"In\","
    "\"values\":[42]}},"
    "{\"action\":\"Count\",\"onExitCodes\":{\"operator\":\"NotIn\",\"values\":[1,2]}},"
    "{\"action\":\"FailIndex\",\"onExitCodes\":{\"operator\":\"In\",\"values\":[2]}}]}";

static json_t *failed_pod(const char *cname, int code, const char *cond)
{
    json_t *p = json_pack("{s:{s:s,s:s},s:{s:s,s:[{s:s,s:{s:{s:i}}}],s:[]}}", "metadata", "name",
                          "p1", "namespace", "ns", "status", "phase", "Failed", "containerStatuses",
                          "name", cname, "state", "terminated", "exitCode", code, "conditions");
    if (cond)
        json_array_append_new(json_object_get(json_object_get(p, "status"), "conditions"),
                              json_pack("{s:s,s:s}", "type", cond, "status", "True"));
    return p;
}

static void test_pod_failure_policy(void **state)
{
    (void)state;
    json_t *pol = J(policy_json);
    bool count;
    char *msg;
    json_t *p = failed_pod("main", 42, NULL);
    assert_int_equal(job_pfp_match(pol, p, &count, &msg), JOB_PFP_FAIL_JOB);
    assert_true(count);
    assert_string_equal(msg, "Container main for pod ns/p1 failed with exit code 42 matching "
                             "FailJob rule at index 1");
    free(msg);
    json_decref(p);
    /* the same code from another container: not the FailJob rule; NotIn [1,2] -> Count */
    p = failed_pod("side", 42, NULL);
    assert_int_equal(job_pfp_match(pol, p, &count, &msg), JOB_PFP_COUNT);
    assert_true(count);
    assert_null(msg);
    json_decref(p);
    /* a disruption is ignored (rule order: the first match wins) */
    p = failed_pod("main", 42, "DisruptionTarget");
    assert_int_equal(job_pfp_match(pol, p, &count, NULL), JOB_PFP_IGNORE);
    assert_false(count);
    json_decref(p);
    p = failed_pod("main", 2, NULL);
    assert_int_equal(job_pfp_match(pol, p, &count, NULL), JOB_PFP_FAIL_INDEX);
    json_decref(p);
    /* exit code 1 matches nothing: counted by default */
    p = failed_pod("main", 1, NULL);
    assert_int_equal(job_pfp_match(pol, p, &count, NULL), JOB_PFP_NONE);
    assert_true(count);
    json_decref(p);
    /* exit code 0 never matches onExitCodes */
    p = failed_pod("main", 0, NULL);
    assert_int_equal(job_pfp_match(pol, p, &count, NULL), JOB_PFP_NONE);
    json_decref(p);
    /* a FailJob on a pod condition has upstream's message */
    json_t *pol2 = J("{\"rules\":[{\"action\":\"FailJob\",\"onPodConditions\":"
                     "[{\"type\":\"ConfigIssue\",\"status\":\"True\"}]}]}");
    p = failed_pod("main", 1, "ConfigIssue");
    assert_int_equal(job_pfp_match(pol2, p, &count, &msg), JOB_PFP_FAIL_JOB);
    assert_string_equal(msg,
                        "Pod ns/p1 has condition ConfigIssue matching FailJob rule at index 0");
    free(msg);
    json_decref(p);
    json_decref(pol2);
    json_decref(pol);
}

static void test_pod_failed(void **state)
{
    (void)state;
    json_t *job = J("{\"spec\":{}}");
    json_t *pfp_job = J("{\"spec\":{\"podFailurePolicy\":{\"rules\":[]}}}");
    json_t *repl_job = J("{\"spec\":{\"podReplacementPolicy\":\"Failed\"}}");
    json_t *failed = J("{\"metadata\":{},\"status\":{\"phase\":\"Failed\"}}");
    json_t *deleting = J("{\"metadata\":{\"deletionTimestamp\":\"2024-01-01T00:00:00Z\"},"
                         "\"status\":{\"phase\":\"Running\"}}");
    json_t *done = J("{\"metadata\":{\"deletionTimestamp\":\"2024-01-01T00:00:00Z\"},"
                     "\"status\":{\"phase\":\"Succeeded\"}}");
    assert_true(job_pod_failed(failed, job));
    assert_true(job_pod_failed(deleting, job));
    assert_false(job_pod_failed(done, job));
    /* with a podFailurePolicy or podReplacementPolicy Failed, only the Failed phase counts */
    assert_false(job_pod_failed(deleting, pfp_job));
    assert_false(job_pod_failed(deleting, repl_job));
    assert_true(job_pod_failed(failed, pfp_job));
    json_t *objs[] = {job, pfp_job, repl_job, failed, deleting, done};
    for (size_t i = 0; i < N(objs); i++)
        json_decref(objs[i]);
}

static void test_indexes(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int n;
        const char *out;
        int total;
    } cases[] = {
        {"", 5, "", 0},
        {"0", 5, "0", 1},
        {"0,1,2", 5, "0-2", 3},
        {"0-1", 5, "0,1", 2}, /* a pair is written as two */
        {"1,3-5,7", 10, "1,3-5,7", 5},
        {"1,2,4-5", 10, "1,2,4,5", 4},
        {"3-9", 5, "3,4", 2},       /* beyond completions: cut */
        {"x,2,5-a,4", 6, "2,4", 2}, /* bad parts skipped */
        {"0-2,1-3", 10, "0-3", 4},  /* overlapping */
    };
    for (size_t i = 0; i < N(cases); i++) {
        struct job_ixset s;
        job_ixset_parse(&s, cases[i].in, cases[i].n);
        char *str = job_ixset_string(&s);
        if (strcmp(str, cases[i].out) || job_ixset_total(&s) != cases[i].total)
            fail_msg("%s: got %s (%d), want %s (%d)", cases[i].in, str, job_ixset_total(&s),
                     cases[i].out, cases[i].total);
        free(str);
        job_ixset_free(&s);
    }
    json_t *p =
        J("{\"metadata\":{\"annotations\":{\"batch.kubernetes.io/job-completion-index\":\"3\"}}}");
    assert_int_equal(job_completion_index(p), 3);
    json_decref(p);
    /* only the annotation counts (getCompletionIndex) */
    p = J("{\"metadata\":{\"labels\":{\"batch.kubernetes.io/job-completion-index\":\"4\"}}}");
    assert_int_equal(job_completion_index(p), -1);
    json_decref(p);
    p = J("{\"metadata\":{\"annotations\":{\"batch.kubernetes.io/job-completion-index\":\"-1\"}}}");
    assert_int_equal(job_completion_index(p), -1);
    json_decref(p);
    char name[80];
    job_generate_name_with_index("pi", 7, name, sizeof(name));
    assert_string_equal(name, "pi-7-");
    char longname[64];
    memset(longname, 'a', 63);
    longname[63] = 0;
    job_generate_name_with_index(longname, 12, name, sizeof(name));
    assert_int_equal(strlen(name), 58);
    assert_string_equal(name + 54, "-12-");
}

static void test_per_index(void **state)
{
    (void)state;
    json_t *job = J("{\"spec\":{\"backoffLimitPerIndex\":1,\"completionMode\":\"Indexed\"}}");
    json_t *p0 = J("{\"metadata\":{\"annotations\":{}},\"status\":{\"phase\":\"Failed\"}}");
    json_t *p1 =
        J("{\"metadata\":{\"annotations\":{\"batch.kubernetes.io/job-index-failure-count\":"
          "\"1\"}},\"status\":{\"phase\":\"Failed\"}}");
    json_t *run =
        J("{\"metadata\":{\"annotations\":{\"batch.kubernetes.io/job-index-failure-count\":"
          "\"5\"}},\"status\":{\"phase\":\"Running\"}}");
    json_t *bad =
        J("{\"metadata\":{\"annotations\":{\"batch.kubernetes.io/job-index-failure-count\":"
          "\"-3\"}},\"status\":{\"phase\":\"Failed\"}}");
    /* the first failure of an index leaves one retry; the retry's failure fails the index */
    assert_false(job_index_failed(job, p0));
    assert_true(job_index_failed(job, p1));
    assert_false(job_index_failed(job, run));
    assert_int_equal(job_index_failure_count(bad), 0);
    int cnt, ign;
    job_new_index_counts(job, NULL, &cnt, &ign);
    assert_int_equal(cnt, 0);
    job_new_index_counts(job, p1, &cnt, &ign);
    assert_int_equal(cnt, 2);
    assert_int_equal(ign, 0);
    /* an ignored failure (podFailurePolicy Ignore) counts separately; FailIndex fails at once */
    json_t *pjob = J("{\"spec\":{\"backoffLimitPerIndex\":3,\"podFailurePolicy\":{\"rules\":["
                     "{\"action\":\"Ignore\",\"onExitCodes\":{\"operator\":\"In\",\"values\":[7]}},"
                     "{\"action\":\"FailIndex\",\"onExitCodes\":{\"operator\":\"In\","
                     "\"values\":[9]}}]}}}");
    json_t *e7 = failed_pod("c", 7, NULL), *e9 = failed_pod("c", 9, NULL);
    json_object_set_new(json_object_get(e7, "metadata"), "annotations", J("{}"));
    json_object_set_new(json_object_get(e9, "metadata"), "annotations", J("{}"));
    job_new_index_counts(pjob, e7, &cnt, &ign);
    assert_int_equal(cnt, 0);
    assert_int_equal(ign, 1);
    assert_false(job_index_failed(pjob, e7));
    assert_true(job_index_failed(pjob, e9));
    json_t *objs[] = {job, p0, p1, run, bad, pjob, e7, e9};
    for (size_t i = 0; i < N(objs); i++)
        json_decref(objs[i]);
}

static void test_success_policy(void **state)
{
    (void)state;
    struct job_ixset s;
    job_ixset_parse(&s, "0,2-4", 10);
    static const struct {
        const char *policy, *want;
    } cases[] = {
        {"{\"rules\":[{\"succeededIndexes\":\"0,2\"}]}", "Matched rules at index 0"},
        {"{\"rules\":[{\"succeededIndexes\":\"0-2\"}]}", NULL}, /* 1 has not succeeded */
        {"{\"rules\":[{\"succeededIndexes\":\"0-2\",\"succeededCount\":2}]}",
         "Matched rules at index 0"},
        {"{\"rules\":[{\"succeededCount\":5},{\"succeededCount\":4}]}", "Matched rules at index 1"},
        {"{\"rules\":[{\"succeededIndexes\":\"x\"},{\"succeededIndexes\":\"3\"}]}",
         "Matched rules at index 1"},
        {"{\"rules\":[]}", NULL},
    };
    for (size_t i = 0; i < N(cases); i++) {
        json_t *p = J(cases[i].policy);
        char *got = job_success_policy_match(p, &s);
        if ((got == NULL) != (cases[i].want == NULL) || (got && strcmp(got, cases[i].want)))
            fail_msg("%s: got %s, want %s", cases[i].policy, got ? got : "(none)",
                     cases[i].want ? cases[i].want : "(none)");
        free(got);
        json_decref(p);
    }
    json_t *none = J("null");
    assert_null(job_success_policy_match(none, &s));
    json_decref(none);
    job_ixset_free(&s);
}

static void test_conditions(void **state)
{
    (void)state;
    json_t *st = json_object();
    const char *now = "2024-01-01T00:00:00Z";
    /* False from nothing: not added */
    assert_false(job_ensure_condition(st, "Suspended", "False", "JobResumed", "Job resumed", now));
    assert_null(json_object_get(st, "conditions"));
    assert_true(
        job_ensure_condition(st, "Suspended", "True", "JobSuspended", "Job suspended", now));
    assert_false(
        job_ensure_condition(st, "Suspended", "True", "JobSuspended", "Job suspended", now));
    assert_true(job_ensure_condition(st, "Suspended", "False", "JobResumed", "Job resumed", now));
    json_t *c = json_array_get(json_object_get(st, "conditions"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "status")), "False");
    assert_string_equal(json_string_value(json_object_get(c, "reason")), "JobResumed");
    json_t *job = json_pack("{s:O}", "status", st);
    assert_false(job_is_finished(job));
    job_ensure_condition(st, "Failed", "True", "BackoffLimitExceeded",
                         "Job has reached the specified backoff limit", now);
    json_decref(job);
    job = json_pack("{s:O}", "status", st);
    assert_true(job_is_finished(job));
    assert_non_null(job_true_condition(job, "Failed"));
    assert_null(job_true_condition(job, "Suspended"));
    json_decref(job);
    json_decref(st);
}

static void test_backoff_on_failure(void **state)
{
    (void)state;
    json_t *job = J("{\"spec\":{\"backoffLimit\":2,\"template\":{\"spec\":{\"restartPolicy\":"
                    "\"OnFailure\"}}}}");
    json_t *pods = J("[{\"status\":{\"phase\":\"Running\",\"containerStatuses\":"
                     "[{\"restartCount\":1}]}},{\"status\":{\"phase\":\"Failed\","
                     "\"containerStatuses\":[{\"restartCount\":5}]}}]");
    assert_false(job_past_backoff_on_failure(job, pods));
    json_array_append_new(pods, J("{\"status\":{\"phase\":\"Pending\",\"initContainerStatuses\":"
                                  "[{\"restartCount\":1}]}}"));
    assert_true(job_past_backoff_on_failure(job, pods));
    json_t *never = J("{\"spec\":{\"backoffLimit\":0,\"template\":{\"spec\":{\"restartPolicy\":"
                      "\"Never\"}}}}");
    assert_false(job_past_backoff_on_failure(never, pods));
    json_decref(never);
    json_decref(job);
    json_decref(pods);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_sequence), cmocka_unit_test(test_backoff_record),
        cmocka_unit_test(test_finished_time),    cmocka_unit_test(test_pod_failure_policy),
        cmocka_unit_test(test_pod_failed),       cmocka_unit_test(test_indexes),
        cmocka_unit_test(test_conditions),       cmocka_unit_test(test_per_index),
        cmocka_unit_test(test_success_policy),   cmocka_unit_test(test_backoff_on_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

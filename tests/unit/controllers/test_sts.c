/* SPDX-License-Identifier: Apache-2.0 */
/* StatefulSet decisions (stateful_set_utils.go, stateful_set_control.go): ordinal parsing,
 * identity and storage of new pods, claim names and retention-policy owner references,
 * status counts, and the order of creations and deletions: OrderedReady creates n+1 only after
 * n is Running+Ready (and available after minReadySeconds), scales down from the highest
 * ordinal one at a time, rolls updates from the highest ordinal down to the partition;
 * Parallel creates and deletes at once; failed pods are replaced; OnDelete never deletes for
 * an update. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/history.h"
#include "controllers/statefulset_util.h"
#include "k8s/pod.h"
#include "k8s/util.h"

#include "ctrl_test.h"

#define NOW 1700000000LL * 1000000000LL

static json_t *mkset(int replicas, const char *policy, const char *strategy, int partition)
{
    json_t *s = J("{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\",\"uid\":\"su\"},"
                  "\"spec\":{\"serviceName\":\"svc\",\"selector\":{\"matchLabels\":{\"app\":"
                  "\"w\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"w\"}},\"spec\":{"
                  "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}],\"volumes\":[{\"name\":"
                  "\"other\",\"emptyDir\":{}}]}},\"volumeClaimTemplates\":[{\"metadata\":{"
                  "\"name\":\"data\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"]}}]}}");
    json_t *spec = json_object_get(s, "spec");
    json_object_set_new(spec, "replicas", json_integer(replicas));
    json_object_set_new(spec, "podManagementPolicy", json_string(policy));
    json_object_set_new(
        spec, "updateStrategy",
        !strcmp(strategy, "RollingUpdate")
            ? json_pack("{s:s,s:{s:i}}", "type", strategy, "rollingUpdate", "partition", partition)
            : json_pack("{s:s}", "type", strategy));
    return s;
}

/* A pod of ordinal o at revision rev: "ready" (Running+Ready long ago), "pending", "failed",
 * "terminating". */
static json_t *mkpod(int o, const char *rev, const char *st)
{
    char name[32];
    snprintf(name, sizeof(name), "web-%d", o);
    bool ready = !strcmp(st, "ready") || !strcmp(st, "terminating");
    json_t *p =
        json_pack("{s:{s:s,s:s,s:{s:s,s:s}},s:{s:[{s:s,s:{s:s}}]},s:{s:s,s:[{s:s,s:s,s:s}]}}",
                  "metadata", "name", name, "namespace", "ns", "labels", HIST_POD_REV_LABEL, rev,
                  STS_POD_NAME_LABEL, name, "spec", "volumes", "name", "data",
                  "persistentVolumeClaim", "claimName", "x", "status", "phase",
                  !strcmp(st, "failed")    ? "Failed"
                  : !strcmp(st, "pending") ? "Pending"
                                           : "Running",
                  "conditions", "type", "Ready", "status", ready ? "True" : "False",
                  "lastTransitionTime", "2020-01-01T00:00:00Z");
    char claim[64];
    snprintf(claim, sizeof(claim), "data-web-%d", o);
    json_object_set_new(
        json_object_get(json_array_get(k8s_jpath(p, "spec.volumes"), 0), "persistentVolumeClaim"),
        "claimName", json_string(claim));
    if (!strcmp(st, "terminating"))
        json_object_set_new(json_object_get(p, "metadata"), "deletionTimestamp",
                            json_string("2024-01-01T00:00:00Z"));
    return p;
}

static void test_names(void **state)
{
    (void)state;
    char parent[64];
    int64_t o;
    assert_true(sts_parse_name("web-12", parent, sizeof(parent), &o));
    assert_string_equal(parent, "web");
    assert_int_equal(o, 12);
    assert_true(sts_parse_name("my-app-0", parent, sizeof(parent), &o));
    assert_string_equal(parent, "my-app");
    assert_false(sts_parse_name("web", parent, sizeof(parent), &o));
    assert_false(sts_parse_name("web-", parent, sizeof(parent), &o));
    assert_false(sts_parse_name("web-1a", parent, sizeof(parent), &o));
    assert_false(sts_parse_name("-1", parent, sizeof(parent), &o));
    json_t *set = mkset(3, "OrderedReady", "RollingUpdate", 0);
    char *c = sts_claim_name(set, "data", 2);
    assert_string_equal(c, "data-web-2");
    free(c);
    json_t *p = mkpod(4, "r1", "ready");
    assert_true(sts_is_member(set, p));
    assert_false(sts_in_range(set, p));
    json_object_set_new(json_object_get(set, "spec"), "ordinals", J("{\"start\":2}"));
    assert_true(sts_in_range(set, p)); /* 2, 3, 4 */
    json_decref(p);
    json_decref(set);
}

static void test_new_pod(void **state)
{
    (void)state;
    json_t *set = mkset(3, "OrderedReady", "RollingUpdate", 0);
    json_t *ref = J("{\"uid\":\"su\",\"controller\":true,\"kind\":\"StatefulSet\"}");
    json_t *p = sts_new_pod(set, 1, "web-abc", ref);
    assert_string_equal(k8s_obj_name(p), "web-1");
    assert_null(k8s_jpath(p, "metadata.generateName"));
    assert_string_equal(k8s_obj_namespace(p), "ns");
    assert_string_equal(k8s_obj_label(p, STS_POD_NAME_LABEL), "web-1");
    assert_string_equal(k8s_obj_label(p, STS_POD_INDEX_LABEL), "1");
    assert_string_equal(k8s_obj_label(p, HIST_POD_REV_LABEL), "web-abc");
    assert_string_equal(k8s_obj_label(p, "app"), "w");
    assert_string_equal(k8s_jpath_str(p, "spec.hostname"), "web-1");
    assert_string_equal(k8s_jpath_str(p, "spec.subdomain"), "svc");
    json_t *vols = k8s_jpath(p, "spec.volumes");
    assert_int_equal(json_array_size(vols), 2);
    assert_string_equal(k8s_jpath_str(json_array_get(vols, 0), "persistentVolumeClaim.claimName"),
                        "data-web-1");
    assert_string_equal(k8s_jstr(json_array_get(vols, 1), "name"), "other");
    assert_true(sts_identity_matches(set, p));
    assert_true(sts_storage_matches(set, p));
    assert_true(k8s_obj_is_controlled_by(p, "su"));
    /* a pod missing its name label gets it back */
    json_object_del(k8s_jpath(p, "metadata.labels"), STS_POD_NAME_LABEL);
    assert_false(sts_identity_matches(set, p));
    sts_fix_identity(set, p);
    assert_true(sts_identity_matches(set, p));
    json_decref(p);
    json_decref(ref);
    json_decref(set);
}

static void test_claims(void **state)
{
    (void)state;
    json_t *set = mkset(2, "OrderedReady", "RollingUpdate", 0);
    json_t *cl = sts_claims(set, 0);
    assert_int_equal(json_array_size(cl), 1);
    json_t *c0 = json_array_get(cl, 0);
    assert_string_equal(k8s_obj_name(c0), "data-web-0");
    assert_string_equal(k8s_obj_label(c0, "app"), "w");
    assert_null(k8s_jpath(c0, "metadata.ownerReferences")); /* Retain by default */
    json_t *pod = mkpod(0, "r", "ready");
    json_object_set_new(json_object_get(pod, "metadata"), "uid", json_string("pu"));
    assert_null(sts_claim_refs(set, pod, c0));
    json_decref(cl);
    /* whenDeleted Delete: owned by the set; whenScaled Delete: owned by a condemned pod */
    json_object_set_new(json_object_get(set, "spec"), "persistentVolumeClaimRetentionPolicy",
                        J("{\"whenDeleted\":\"Delete\",\"whenScaled\":\"Delete\"}"));
    cl = sts_claims(set, 0);
    c0 = json_array_get(cl, 0);
    assert_string_equal(
        k8s_jstr(json_array_get(k8s_jpath(c0, "metadata.ownerReferences"), 0), "uid"), "su");
    assert_null(sts_claim_refs(set, pod, c0)); /* in range: the set's ref only */
    json_t *p5 = mkpod(5, "r", "ready");
    json_object_set_new(json_object_get(p5, "metadata"), "uid", json_string("p5"));
    json_t *refs = sts_claim_refs(set, p5, c0); /* condemned: the pod's ref, not the set's */
    assert_non_null(refs);
    assert_int_equal(json_array_size(refs), 1);
    assert_string_equal(k8s_jstr(json_array_get(refs, 0), "uid"), "p5");
    assert_string_equal(k8s_jstr(json_array_get(refs, 0), "kind"), "Pod");
    json_decref(refs);
    json_decref(p5);
    json_decref(pod);
    json_decref(cl);
    json_decref(set);
}

struct want {
    enum sts_op op;
    int ord;
    bool update;
};

static void check_plan(json_t *set, json_t *pods, const char *cur, const char *upd,
                       const struct want *w, size_t nw, int line)
{
    struct sts_plan p;
    sts_plan(set, pods, cur, upd, NOW, &p);
    if (p.n != nw) {
        for (size_t i = 0; i < p.n; i++)
            print_message("  action %d ordinal %lld\n", p.a[i].op, (long long)p.a[i].ordinal);
        fail_msg("line %d: %zu actions, want %zu", line, p.n, nw);
    }
    for (size_t i = 0; i < nw; i++) {
        if (p.a[i].op != w[i].op || p.a[i].ordinal != w[i].ord ||
            (w[i].op == STS_CREATE && p.a[i].update != w[i].update))
            fail_msg("line %d: action %zu is %d/%lld, want %d/%d", line, i, p.a[i].op,
                     (long long)p.a[i].ordinal, w[i].op, w[i].ord);
    }
    sts_plan_free(&p);
}

#define PLAN(set, pods, cur, upd, ...)                                                             \
    do {                                                                                           \
        static const struct want w_[] = {__VA_ARGS__};                                             \
        check_plan(set, pods, cur, upd, w_, N(w_), __LINE__);                                      \
    } while (0)
#define NOPLAN(set, pods, cur, upd) check_plan(set, pods, cur, upd, NULL, 0, __LINE__)

static json_t *pods_of(int n, const char **states, const char **revs)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        if (states[i])
            json_array_append_new(a, mkpod(i, revs ? revs[i] : "r1", states[i]));
    return a;
}

static void test_ordered_ready(void **state)
{
    (void)state;
    json_t *set = mkset(3, "OrderedReady", "RollingUpdate", 0);
    json_t *none = json_array();
    PLAN(set, none, "r1", "r1", {STS_CREATE, 0, true});
    const char *s1[] = {"pending"};
    json_t *p = pods_of(1, s1, NULL);
    NOPLAN(set, p, "r1", "r1"); /* web-1 waits for web-0 to be Ready */
    json_decref(p);
    const char *s2[] = {"ready"};
    p = pods_of(1, s2, NULL);
    PLAN(set, p, "r1", "r1", {STS_CREATE, 1, true});
    json_decref(p);
    const char *s3[] = {"ready", NULL, "ready"}; /* a hole: refilled first */
    p = pods_of(3, s3, NULL);
    PLAN(set, p, "r1", "r1", {STS_CREATE, 1, true});
    json_decref(p);
    const char *s4[] = {"ready", "failed", "ready"}; /* failed: deleted, recreated next sync */
    p = pods_of(3, s4, NULL);
    PLAN(set, p, "r1", "r1", {STS_DELETE, 1, false});
    json_decref(p);
    const char *s5[] = {"ready", "ready", "ready"};
    p = pods_of(3, s5, NULL);
    NOPLAN(set, p, "r1", "r1");
    /* minReadySeconds: Ready since 2020 counts as available; a fresh one does not */
    json_object_set_new(json_object_get(set, "spec"), "minReadySeconds", json_integer(30));
    json_t *fresh = mkpod(0, "r1", "ready");
    json_object_set_new(json_array_get(k8s_jpath(fresh, "status.conditions"), 0),
                        "lastTransitionTime", json_string("2023-11-14T22:13:10Z"));
    json_t *one = json_array();
    json_array_append_new(one, fresh);
    struct sts_plan pl;
    sts_plan(set, one, "r1", "r1", NOW, &pl);
    assert_int_equal(pl.n, 0);
    assert_true(pl.blocked_available);
    sts_plan_free(&pl);
    json_decref(one);
    json_object_del(json_object_get(set, "spec"), "minReadySeconds");
    json_decref(p);
    json_decref(none);
    json_decref(set);
}

static void test_ordinals_start(void **state)
{
    (void)state;
    json_t *set = mkset(2, "OrderedReady", "RollingUpdate", 0);
    json_object_set_new(json_object_get(set, "spec"), "ordinals", J("{\"start\":5}"));
    json_t *none = json_array();
    PLAN(set, none, "r1", "r1", {STS_CREATE, 5, true});
    json_t *p = json_array();
    json_array_append_new(p, mkpod(5, "r1", "ready"));
    PLAN(set, p, "r1", "r1", {STS_CREATE, 6, true});
    json_array_append_new(p, mkpod(6, "r1", "ready"));
    json_array_append_new(p, mkpod(0, "r1", "ready")); /* below the range: condemned */
    PLAN(set, p, "r1", "r1", {STS_DELETE, 0, false});
    json_t *np = sts_new_pod(set, 6, "r1", NULL);
    assert_string_equal(k8s_obj_label(np, STS_POD_INDEX_LABEL), "6");
    json_decref(np);
    json_decref(p);
    json_decref(none);
    json_decref(set);
}

static void test_scale_down(void **state)
{
    (void)state;
    json_t *set = mkset(2, "OrderedReady", "RollingUpdate", 0);
    const char *s[] = {"ready", "ready", "ready", "ready", "ready"};
    json_t *p = pods_of(5, s, NULL);
    PLAN(set, p, "r1", "r1", {STS_DELETE, 4, false}); /* the highest first, one at a time */
    json_decref(p);
    const char *s2[] = {"ready", "ready", "ready", "terminating"};
    p = pods_of(4, s2, NULL);
    NOPLAN(set, p, "r1", "r1"); /* waits for web-3 to go */
    json_decref(p);
    const char *s3[] = {"ready", "ready", "ready", "pending"};
    p = pods_of(4, s3, NULL);
    PLAN(set, p, "r1", "r1", {STS_DELETE, 3, false}); /* the first unhealthy may go */
    json_decref(p);
    const char *s4[] = {"ready", "ready", "pending", "ready"};
    p = pods_of(4, s4, NULL);
    PLAN(set, p, "r1", "r1", {STS_DELETE, 3, false}); /* a Ready condemned pod may go */
    json_decref(p);
    const char *s4b[] = {"ready", "pending", "ready", "pending"};
    p = pods_of(4, s4b, NULL);
    NOPLAN(set, p, "r1", "r1"); /* web-3 is unhealthy but web-1 is the first unhealthy */
    json_decref(p);
    json_object_set_new(json_object_get(set, "spec"), "podManagementPolicy",
                        json_string("Parallel"));
    const char *s5[] = {"ready", NULL, "ready", "ready", "pending"};
    p = pods_of(5, s5, NULL);
    /* Parallel: create the hole and delete every condemned pod at once */
    PLAN(set, p, "r1", "r1", {STS_CREATE, 1, true}, {STS_DELETE, 4, false}, {STS_DELETE, 3, false},
         {STS_DELETE, 2, false});
    json_decref(p);
    json_t *none = json_array();
    json_object_set_new(json_object_get(set, "spec"), "replicas", json_integer(3));
    PLAN(set, none, "r1", "r1", {STS_CREATE, 0, true}, {STS_CREATE, 1, true},
         {STS_CREATE, 2, true});
    json_decref(none);
    json_decref(set);
}

static void test_rolling(void **state)
{
    (void)state;
    json_t *set = mkset(3, "OrderedReady", "RollingUpdate", 0);
    const char *s[] = {"ready", "ready", "ready"};
    const char *r_old[] = {"r1", "r1", "r1"};
    json_t *p = pods_of(3, s, r_old);
    PLAN(set, p, "r1", "r2", {STS_DELETE, 2, false}); /* reverse ordinal order */
    json_decref(p);
    const char *r_2[] = {"r1", "r1", "r2"};
    p = pods_of(3, s, r_2);
    PLAN(set, p, "r1", "r2", {STS_DELETE, 1, false});
    json_decref(p);
    const char *s_pend[] = {"ready", "ready", "pending"};
    p = pods_of(3, s_pend, r_2);
    NOPLAN(set, p, "r1", "r2"); /* web-2 not Ready yet */
    json_decref(p);
    const char *s_hole[] = {"ready", NULL, "ready"};
    p = pods_of(3, s_hole, r_2);
    PLAN(set, p, "r1", "r2", {STS_CREATE, 1, true}); /* recreated at the update revision */
    json_decref(p);
    /* partition 2: only web-2 is updated; a recreated web-1 stays at the current revision */
    json_decref(set);
    set = mkset(3, "OrderedReady", "RollingUpdate", 2);
    p = pods_of(3, s, r_2);
    NOPLAN(set, p, "r1", "r2");
    json_decref(p);
    p = pods_of(3, s_hole, r_2);
    PLAN(set, p, "r1", "r2", {STS_CREATE, 1, false});
    json_decref(p);
    /* OnDelete: never deletes for an update; recreations get the update revision */
    json_decref(set);
    set = mkset(3, "OrderedReady", "OnDelete", 0);
    p = pods_of(3, s, r_old);
    NOPLAN(set, p, "r1", "r2");
    json_decref(p);
    p = pods_of(3, s_hole, r_old);
    PLAN(set, p, "r1", "r2", {STS_CREATE, 1, true});
    json_decref(p);
    json_decref(set);
}

static void test_counts_complete(void **state)
{
    (void)state;
    json_t *set = mkset(3, "OrderedReady", "RollingUpdate", 0);
    const char *s[] = {"ready", "pending", "terminating"};
    const char *r[] = {"r1", "r2", "r2"};
    json_t *p = pods_of(3, s, r);
    struct sts_counts k;
    sts_count(p, 0, "r1", "r2", NOW, &k);
    assert_int_equal(k.replicas, 3);
    assert_int_equal(k.ready, 2);
    assert_int_equal(k.available, 2);
    assert_int_equal(k.current, 1);
    assert_int_equal(k.updated, 1); /* the terminating one does not count */
    json_t *st = J("{\"replicas\":3,\"readyReplicas\":3,\"updatedReplicas\":3,"
                   "\"currentReplicas\":0,\"currentRevision\":\"r1\",\"updateRevision\":\"r2\"}");
    assert_true(sts_complete_rolling_update(set, st));
    assert_string_equal(k8s_jstr(st, "currentRevision"), "r2");
    assert_int_equal(json_integer_value(json_object_get(st, "currentReplicas")), 3);
    json_object_set_new(st, "readyReplicas", json_integer(2));
    json_object_set_new(st, "currentRevision", json_string("r1"));
    assert_false(sts_complete_rolling_update(set, st));
    assert_string_equal(k8s_jstr(st, "currentRevision"), "r1");
    json_decref(st);
    json_decref(p);
    json_decref(set);
}

static void test_apply_revision(void **state)
{
    (void)state;
    json_t *set = mkset(3, "OrderedReady", "RollingUpdate", 0);
    json_t *rev = J("{\"data\":{\"spec\":{\"template\":{\"$patch\":\"replace\",\"metadata\":{"
                    "\"labels\":{\"app\":\"w\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
                    "\"image\":\"old\"}]}}}}}");
    json_t *a = sts_apply_revision(set, rev);
    assert_string_equal(
        k8s_jpath_str(json_array_get(k8s_jpath(a, "spec.template.spec.containers"), 0), "image"),
        "old");
    assert_null(k8s_jpath(a, "spec.template.$patch"));
    assert_int_equal(json_integer_value(k8s_jpath(a, "spec.replicas")), 3);
    json_decref(a);
    json_decref(rev);
    json_decref(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),          cmocka_unit_test(test_new_pod),
        cmocka_unit_test(test_claims),         cmocka_unit_test(test_ordered_ready),
        cmocka_unit_test(test_ordinals_start), cmocka_unit_test(test_scale_down),
        cmocka_unit_test(test_rolling),        cmocka_unit_test(test_counts_complete),
        cmocka_unit_test(test_apply_revision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

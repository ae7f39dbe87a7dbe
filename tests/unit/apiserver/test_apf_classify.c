/* SPDX-License-Identifier: Apache-2.0 */
/* API Priority and Fairness in the engine (endpoints/flowcontrol.c): the bootstrap objects,
 * FlowSchema matching in matchingPrecedence order (users, groups, service accounts, resource
 * and non-resource rules), distinguishers, a new schema taking effect, dangling schemas and
 * the LIST object count. */
#include "apiserver/authz/rbac.h"
#include "apiserver/endpoints/flowcontrol.h"
#include "engine_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define FC "/apis/flowcontrol.apiserver.k8s.io/v1/"

static const char *const masters[] = {"system:masters", "system:authenticated", NULL};
static const char *const authed[] = {"system:authenticated", NULL};
static const char *const nodes[] = {"system:nodes", "system:authenticated", NULL};
static const char *const sas[] = {"system:serviceaccounts", "system:serviceaccounts:kube-system",
                                  "system:authenticated", NULL};
static const char *const unauth[] = {"system:unauthenticated", NULL};

static struct api_fc_class classify(struct env *e, const char *user, const char *const *groups,
                                    const char *verb, const char *group, const char *res,
                                    const char *ns)
{
    struct rbac_attrs a = {.user = user,
                           .groups = groups,
                           .verb = verb,
                           .resource_request = true,
                           .api_group = group,
                           .resource = res,
                           .ns = ns};
    struct api_fc_class c;
    assert_int_equal(api_flowcontrol_classify(e->s, &a, &c), 0);
    return c;
}

static void test_bootstrap_objects(void **state)
{
    struct env *e = *state;
    json_t *out = NULL;
    assert_int_equal(req(e, "GET", FC "flowschemas", NULL, NULL, &out), 200);
    assert_int_equal(json_array_size(json_object_get(out, "items")), 13);
    json_decref(out);
    assert_int_equal(req(e, "GET", FC "prioritylevelconfigurations", NULL, NULL, &out), 200);
    assert_int_equal(json_array_size(json_object_get(out, "items")), 8);
    json_decref(out);
    assert_int_equal(req(e, "GET", FC "flowschemas/catch-all", NULL, NULL, &out), 200);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(out, "metadata"), "annotations"),
                            "apf.kubernetes.io/autoupdate-spec")),
                        "true");
    json_decref(out);
    assert_int_equal(req(e, "GET", FC "prioritylevelconfigurations/workload-low", NULL, NULL, &out),
                     200);
    json_t *lim = json_object_get(json_object_get(out, "spec"), "limited");
    assert_int_equal(json_integer_value(json_object_get(lim, "nominalConcurrencyShares")), 100);
    json_decref(out);
    /* a second start keeps them (nothing duplicated, nothing fails) */
    env_stop(e);
    assert_int_equal(env_start(e), 0);
    assert_int_equal(req(e, "GET", FC "flowschemas", NULL, NULL, &out), 200);
    assert_int_equal(json_array_size(json_object_get(out, "items")), 13);
    json_decref(out);
}

static void test_matching(void **state)
{
    struct env *e = *state;
    struct api_fc_class c = classify(e, "admin", masters, "list", "", "pods", "");
    assert_string_equal(c.flow_schema, "exempt");
    assert_true(c.exempt);
    assert_true(c.fs_uid[0] && c.pl_uid[0]);

    struct rbac_attrs probe = {
        .user = "system:anonymous", .groups = unauth, .verb = "get", .path = "/readyz"};
    assert_int_equal(api_flowcontrol_classify(e->s, &probe, &c), 0);
    assert_string_equal(c.flow_schema, "probes");
    assert_true(c.exempt);
    probe.path = "/version"; /* not a probe: the unauthenticated catch-all flow */
    assert_int_equal(api_flowcontrol_classify(e->s, &probe, &c), 0);
    assert_string_equal(c.flow_schema, "global-default");

    c = classify(e, "system:node:n1", nodes, "update", "coordination.k8s.io", "leases",
                 "kube-node-lease");
    assert_string_equal(c.flow_schema, "system-node-high");
    assert_string_equal(c.priority_level, "node-high");
    assert_false(c.exempt);
    c = classify(e, "system:node:n1", nodes, "list", "", "pods", "");
    assert_string_equal(c.flow_schema, "system-nodes");
    assert_string_equal(c.priority_level, "system");

    c = classify(e, "system:kube-controller-manager", authed, "update", "coordination.k8s.io",
                 "leases", "kube-system");
    assert_string_equal(c.flow_schema, "system-leader-election");
    assert_string_equal(c.priority_level, "leader-election");
    c = classify(e, "system:kube-controller-manager", authed, "list", "apps", "deployments", "");
    assert_string_equal(c.flow_schema, "kube-controller-manager");
    assert_string_equal(c.priority_level, "workload-high");

    c = classify(e, "system:serviceaccount:kube-system:foo", sas, "list", "", "pods", "a");
    assert_string_equal(c.flow_schema, "kube-system-service-accounts");
    /* ByNamespace: same namespace, same flow, whoever asks */
    struct api_fc_class c2 =
        classify(e, "system:serviceaccount:kube-system:bar", sas, "list", "", "pods", "a");
    assert_true(c.flow_hash == c2.flow_hash);
    c2 = classify(e, "system:serviceaccount:kube-system:bar", sas, "list", "", "pods", "b");
    assert_true(c.flow_hash != c2.flow_hash);

    c = classify(e, "system:serviceaccount:default:foo", sas + 0, "get", "", "configmaps",
                 "default");
    /* the kube-system SA group is irrelevant: the subject is a ServiceAccount in default */
    assert_string_equal(c.flow_schema, "service-accounts");
    assert_string_equal(c.priority_level, "workload-low");

    c = classify(e, "bob", authed, "get", "", "configmaps", "default");
    assert_string_equal(c.flow_schema, "global-default");
    assert_int_equal(c.queues, 128);
    assert_int_equal(c.hand_size, 6);
    assert_int_equal(c.queue_length_limit, 50);
    assert_int_equal(c.shares, 20);
    assert_int_equal(c.total_shares, 245);
    c2 = classify(e, "carol", authed, "get", "", "configmaps", "default");
    assert_true(c.flow_hash != c2.flow_hash); /* ByUser */

    /* nothing but a custom group: the mandatory catch-all (Reject) */
    static const char *const odd[] = {"weird", NULL};
    c = classify(e, "x", odd, "get", "", "pods", "default");
    assert_string_equal(c.flow_schema, "catch-all");
    assert_true(c.reject);
}

static void test_custom_schema_and_dangling(void **state)
{
    struct env *e = *state;
    const char *fs = "{\"apiVersion\":\"flowcontrol.apiserver.k8s.io/v1\",\"kind\":\"FlowSchema\","
                     "\"metadata\":{\"name\":\"alice-low\"},\"spec\":{\"matchingPrecedence\":50,"
                     "\"priorityLevelConfiguration\":{\"name\":\"workload-low\"},"
                     "\"distinguisherMethod\":{\"type\":\"ByUser\"},\"rules\":[{\"subjects\":[{"
                     "\"kind\":\"User\",\"user\":{\"name\":\"alice\"}}],\"resourceRules\":[{"
                     "\"verbs\":[\"list\"],\"apiGroups\":[\"\"],\"resources\":[\"pods\"],"
                     "\"namespaces\":[\"*\"],\"clusterScope\":true}]}]}}";
    const char *dangling = "{\"apiVersion\":\"flowcontrol.apiserver.k8s.io/v1\",\"kind\":"
                           "\"FlowSchema\",\"metadata\":{\"name\":\"dangling\"},\"spec\":{"
                           "\"matchingPrecedence\":10,\"priorityLevelConfiguration\":{\"name\":"
                           "\"nope\"},\"rules\":[{\"subjects\":[{\"kind\":\"Group\",\"group\":{"
                           "\"name\":\"*\"}}],\"resourceRules\":[{\"verbs\":[\"*\"],\"apiGroups\":"
                           "[\"*\"],\"resources\":[\"*\"],\"namespaces\":[\"*\"],"
                           "\"clusterScope\":true}]}]}}";
    struct api_fc_class c = classify(e, "alice", authed, "list", "", "pods", "");
    assert_string_equal(c.flow_schema, "global-default");
    assert_int_equal(req(e, "POST", FC "flowschemas", NULL, fs, NULL), 201);
    assert_int_equal(req(e, "POST", FC "flowschemas", NULL, dangling, NULL), 201);
    c = classify(e, "alice", authed, "list", "", "pods", "");
    assert_string_equal(c.flow_schema, "alice-low");
    assert_string_equal(c.priority_level, "workload-low");
    c = classify(e, "alice", authed, "get", "", "pods", "x"); /* the rule says list only */
    assert_string_equal(c.flow_schema, "global-default");
    assert_int_equal(req(e, "DELETE", FC "flowschemas/alice-low", NULL, NULL, NULL), 200);
    c = classify(e, "alice", authed, "list", "", "pods", "");
    assert_string_equal(c.flow_schema, "global-default");
}

static void test_list_objects(void **state)
{
    struct env *e = *state;
    char body[256];
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof(body),
                 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p%d\"},"
                 "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}",
                 i);
        assert_int_equal(req(e, "POST", "/api/v1/namespaces/default/pods", NULL, body, NULL), 201);
    }
    struct api_fc_class c = classify(e, "bob", authed, "list", "", "pods", "default");
    assert_int_equal(c.objects, 3);
    c = classify(e, "bob", authed, "get", "", "pods", "default");
    assert_int_equal(c.objects, -1);
    c = classify(e, "bob", authed, "watch", "", "pods", "default");
    assert_int_equal(c.objects, -1);
}

static void test_rules_nonresource(void **state)
{
    (void)state;
    json_t *rules = json_loads("[{\"subjects\":[{\"kind\":\"Group\",\"group\":{\"name\":\"*\"}}],"
                               "\"nonResourceRules\":[{\"verbs\":[\"get\"],\"nonResourceURLs\":"
                               "[\"/metrics\",\"/apis/*\"]}]}]",
                               0, NULL);
    struct rbac_attrs a = {.user = "u", .groups = authed, .verb = "get", .path = "/metrics"};
    assert_true(eng_fc_rules_match(rules, &a));
    a.path = "/apis";
    assert_true(eng_fc_rules_match(rules, &a));
    a.path = "/apis/apps/v1";
    assert_true(eng_fc_rules_match(rules, &a));
    a.path = "/api";
    assert_false(eng_fc_rules_match(rules, &a));
    a.path = "/metrics";
    a.verb = "post";
    assert_false(eng_fc_rules_match(rules, &a));
    a.verb = "get";
    a.resource_request = true; /* a resource request never matches non-resource rules */
    assert_false(eng_fc_rules_match(rules, &a));
    json_decref(rules);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bootstrap_objects, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_matching, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_custom_schema_and_dangling, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_list_objects, env_setup, env_teardown),
        cmocka_unit_test(test_rules_nonresource),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

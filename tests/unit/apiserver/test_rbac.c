/* SPDX-License-Identifier: Apache-2.0 */
/* The RBAC rule engine (authz/rbac.c) against upstream's rules: verbs, groups, resources and
 * subresources ("*\/scale"), resource names, non-resource URLs with a trailing "*", User,
 * Group and ServiceAccount subjects, ClusterRoleBindings before RoleBindings, a RoleBinding to a
 * ClusterRole, missing roles in the reason, the rules review and the Forbidden messages; and the
 * bootstrap policy (aggregated admin/edit/view). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apiserver/authz/rbac.h"

#include <string.h>

static json_t *parse(const char *s)
{
    json_error_t je;
    json_t *v = json_loads(s, 0, &je);
    if (!v)
        fail_msg("bad test json: %s (%s)", je.text, s);
    return v;
}

/* A store over two arrays: bindings (ClusterRoleBindings have no metadata.namespace) and
 * roles (ClusterRoles have none either). */
struct fake {
    json_t *bindings, *roles;
};

static const char *ns_of(const json_t *o)
{
    return json_string_value(json_object_get(json_object_get(o, "metadata"), "namespace"));
}

static void each_binding(void *arg, const char *ns, bool (*fn)(void *, const json_t *), void *ctx)
{
    struct fake *f = arg;
    size_t i;
    json_t *b;
    json_array_foreach(f->bindings, i, b)
    {
        const char *bns = ns_of(b);
        if ((ns == NULL) != (bns == NULL) || (ns && strcmp(ns, bns)))
            continue;
        if (fn(ctx, b))
            return;
    }
}

static json_t *get_role(void *arg, const char *ns, const char *name)
{
    struct fake *f = arg;
    size_t i;
    json_t *r;
    json_array_foreach(f->roles, i, r)
    {
        const char *rns = ns_of(r);
        const char *n = json_string_value(json_object_get(json_object_get(r, "metadata"), "name"));
        if ((ns == NULL) != (rns == NULL) || (ns && strcmp(ns, rns)) || strcmp(n, name))
            continue;
        return json_incref(r);
    }
    return NULL;
}

static struct fake F;
static struct rbac_store S = {&F, each_binding, get_role};

static int setup(void **state)
{
    (void)state;
    F.roles =
        parse("["
              "{\"metadata\":{\"name\":\"pod-reader\"},\"rules\":[{\"verbs\":[\"get\",\"list\"],"
              "\"apiGroups\":[\"\"],\"resources\":[\"pods\",\"pods/log\"]}]},"
              "{\"metadata\":{\"name\":\"scaler\"},\"rules\":[{\"verbs\":[\"update\"],"
              "\"apiGroups\":[\"apps\"],\"resources\":[\"*/scale\"]}]},"
              "{\"metadata\":{\"name\":\"one-cm\"},\"rules\":[{\"verbs\":[\"get\"],"
              "\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"],\"resourceNames\":[\"cfg\"]}]},"
              "{\"metadata\":{\"name\":\"metrics\"},\"rules\":[{\"verbs\":[\"get\"],"
              "\"nonResourceURLs\":[\"/metrics\",\"/logs/*\"]}]},"
              "{\"metadata\":{\"name\":\"deployer\",\"namespace\":\"team\"},\"rules\":[{\"verbs\":["
              "\"*\"],"
              "\"apiGroups\":[\"apps\"],\"resources\":[\"deployments\"]}]}"
              "]");
    F.bindings =
        parse("["
              "{\"metadata\":{\"name\":\"readers\"},\"roleRef\":{\"kind\":\"ClusterRole\",\"name\":"
              "\"pod-reader\"},\"subjects\":[{\"kind\":\"Group\",\"name\":\"readers\"}]},"
              "{\"metadata\":{\"name\":\"scalers\"},\"roleRef\":{\"kind\":\"ClusterRole\",\"name\":"
              "\"scaler\"},\"subjects\":[{\"kind\":\"User\",\"name\":\"sam\"}]},"
              "{\"metadata\":{\"name\":\"mon\"},\"roleRef\":{\"kind\":\"ClusterRole\",\"name\":"
              "\"metrics\"},\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"prom\","
              "\"namespace\":\"mon\"}]},"
              "{\"metadata\":{\"name\":\"gone\"},\"roleRef\":{\"kind\":\"ClusterRole\",\"name\":"
              "\"no-such-role\"},\"subjects\":[{\"kind\":\"User\",\"name\":\"ghost\"}]},"
              "{\"metadata\":{\"name\":\"cfg\",\"namespace\":\"team\"},\"roleRef\":{\"kind\":"
              "\"ClusterRole\",\"name\":\"one-cm\"},\"subjects\":[{\"kind\":\"User\",\"name\":"
              "\"ann\"},{\"kind\":\"ServiceAccount\",\"name\":\"bot\"}]},"
              "{\"metadata\":{\"name\":\"deployers\",\"namespace\":\"team\"},\"roleRef\":{\"kind\":"
              "\"Role\",\"name\":\"deployer\"},\"subjects\":[{\"kind\":\"User\",\"name\":\"ann\"}]}"
              "]");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(F.roles);
    json_decref(F.bindings);
    return 0;
}

static const char *const READERS[] = {"readers", "system:authenticated", NULL};
static const char *const NOGROUPS[] = {"system:authenticated", NULL};

static enum rbac_decision res(const char *user, const char *const *groups, const char *verb,
                              const char *group, const char *resource, const char *sub,
                              const char *ns, const char *name, char *reason)
{
    struct rbac_attrs a = {.user = user,
                           .groups = groups,
                           .verb = verb,
                           .resource_request = true,
                           .api_group = group,
                           .resource = resource,
                           .subresource = sub,
                           .ns = ns,
                           .name = name};
    char buf[1024];
    return rbac_authorize(&S, &a, reason ? reason : buf, 1024);
}

static void test_rules_and_subjects(void **state)
{
    (void)state;
    char reason[1024];
    assert_int_equal(res("x", READERS, "list", "", "pods", NULL, "a", NULL, reason), RBAC_ALLOW);
    assert_string_equal(reason, "RBAC: allowed by ClusterRoleBinding \"readers\" of ClusterRole "
                                "\"pod-reader\" to Group \"readers\"");
    assert_int_equal(res("x", READERS, "get", "", "pods", "log", "a", "p", NULL), RBAC_ALLOW);
    /* a subresource needs its own rule; another verb or group does not match */
    assert_int_equal(res("x", READERS, "get", "", "pods", "exec", "a", "p", NULL), RBAC_NO_OPINION);
    assert_int_equal(res("x", READERS, "delete", "", "pods", NULL, "a", "p", NULL),
                     RBAC_NO_OPINION);
    assert_int_equal(res("x", READERS, "get", "apps", "pods", NULL, "a", "p", NULL),
                     RBAC_NO_OPINION);
    assert_int_equal(res("x", NOGROUPS, "list", "", "pods", NULL, "a", NULL, NULL),
                     RBAC_NO_OPINION);
    /* "*\/scale": any resource's scale subresource, not the resource itself */
    assert_int_equal(res("sam", NOGROUPS, "update", "apps", "deployments", "scale", "a", "d", NULL),
                     RBAC_ALLOW);
    assert_int_equal(res("sam", NOGROUPS, "update", "apps", "deployments", NULL, "a", "d", NULL),
                     RBAC_NO_OPINION);
    /* resourceNames: only that name; a list (no name) is not allowed */
    assert_int_equal(res("ann", NOGROUPS, "get", "", "configmaps", NULL, "team", "cfg", NULL),
                     RBAC_ALLOW);
    assert_int_equal(res("ann", NOGROUPS, "get", "", "configmaps", NULL, "team", "other", NULL),
                     RBAC_NO_OPINION);
    assert_int_equal(res("ann", NOGROUPS, "list", "", "configmaps", NULL, "team", NULL, NULL),
                     RBAC_NO_OPINION);
    /* a RoleBinding counts only in its namespace; its Role too */
    assert_int_equal(res("ann", NOGROUPS, "get", "", "configmaps", NULL, "other", "cfg", NULL),
                     RBAC_NO_OPINION);
    assert_int_equal(
        res("ann", NOGROUPS, "delete", "apps", "deployments", NULL, "team", "d", reason),
        RBAC_ALLOW);
    assert_string_equal(reason, "RBAC: allowed by RoleBinding \"team/deployers\" of Role "
                                "\"deployer\" to User \"ann\"");
    /* a ServiceAccount subject without a namespace takes the RoleBinding's */
    assert_int_equal(res("system:serviceaccount:team:bot", NOGROUPS, "get", "", "configmaps", NULL,
                         "team", "cfg", reason),
                     RBAC_ALLOW);
    assert_string_equal(reason, "RBAC: allowed by RoleBinding \"team/cfg\" of ClusterRole "
                                "\"one-cm\" to ServiceAccount \"team/bot\"");
    assert_int_equal(res("system:serviceaccount:other:bot", NOGROUPS, "get", "", "configmaps", NULL,
                         "team", "cfg", NULL),
                     RBAC_NO_OPINION);
    /* a binding to a missing role: no opinion, and the reason says why */
    assert_int_equal(res("ghost", NOGROUPS, "get", "", "pods", NULL, "a", "p", reason),
                     RBAC_NO_OPINION);
    assert_string_equal(reason, "RBAC: clusterrole.rbac.authorization.k8s.io \"no-such-role\" "
                                "not found");
}

static void test_nonresource(void **state)
{
    (void)state;
    struct rbac_attrs a = {.user = "system:serviceaccount:mon:prom",
                           .groups = NOGROUPS,
                           .verb = "get",
                           .path = "/metrics"};
    char reason[512];
    assert_int_equal(rbac_authorize(&S, &a, reason, sizeof(reason)), RBAC_ALLOW);
    a.path = "/logs/kube-apiserver.log";
    assert_int_equal(rbac_authorize(&S, &a, reason, sizeof(reason)), RBAC_ALLOW);
    a.path = "/logs";
    assert_int_equal(rbac_authorize(&S, &a, reason, sizeof(reason)), RBAC_NO_OPINION);
    a.path = "/metrics";
    a.verb = "post";
    assert_int_equal(rbac_authorize(&S, &a, reason, sizeof(reason)), RBAC_NO_OPINION);
}

static void test_forbidden_messages(void **state)
{
    (void)state;
    char m[1024];
    struct rbac_attrs a = {.user = "u",
                           .verb = "list",
                           .resource_request = true,
                           .api_group = "",
                           .resource = "pods",
                           .ns = "default"};
    rbac_forbidden_message(&a, NULL, m, sizeof(m));
    assert_string_equal(m, "pods is forbidden: User \"u\" cannot list resource \"pods\" in API "
                           "group \"\" in the namespace \"default\"");
    a = (struct rbac_attrs){.user = "u",
                            .verb = "get",
                            .resource_request = true,
                            .api_group = "apps",
                            .resource = "deployments",
                            .subresource = "scale",
                            .name = "d"};
    rbac_forbidden_message(&a, "RBAC: x", m, sizeof(m));
    assert_string_equal(m, "deployments.apps \"d\" is forbidden: User \"u\" cannot get "
                           "resource \"deployments/scale\" in API group \"apps\" at the cluster "
                           "scope: RBAC: x");
    a = (struct rbac_attrs){.user = "system:anonymous", .verb = "get", .path = "/metrics"};
    rbac_forbidden_message(&a, NULL, m, sizeof(m));
    assert_string_equal(m, "forbidden: User \"system:anonymous\" cannot get path \"/metrics\"");
}

static void test_rules_review(void **state)
{
    (void)state;
    struct rbac_attrs who = {.user = "ann", .groups = READERS};
    json_t *st = rbac_rules_review(&S, &who, "team");
    /* pod-reader (cluster), one-cm and deployer (team) */
    assert_int_equal(json_array_size(json_object_get(st, "resourceRules")), 3);
    assert_int_equal(json_array_size(json_object_get(st, "nonResourceRules")), 0);
    assert_false(json_is_true(json_object_get(st, "incomplete")));
    json_t *cm = json_array_get(json_object_get(st, "resourceRules"), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(cm, "resourceNames"), 0)),
                        "cfg");
    json_decref(st);
    who = (struct rbac_attrs){.user = "ghost", .groups = NOGROUPS};
    st = rbac_rules_review(&S, &who, NULL);
    assert_true(json_is_true(json_object_get(st, "incomplete")));
    assert_non_null(json_object_get(st, "evaluationError"));
    json_decref(st);
}

static const json_t *find(const json_t *policy, const char *kind, const char *name)
{
    size_t i;
    const json_t *o;
    json_array_foreach(policy, i, o)
    {
        const char *n = json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));
        if (!strcmp(json_string_value(json_object_get(o, "kind")), kind) && !strcmp(n, name))
            return o;
    }
    return NULL;
}

/* The bootstrap policy through the engine: a store that serves it. */
static json_t *P;
static void policy_bindings(void *arg, const char *ns, bool (*fn)(void *, const json_t *),
                            void *ctx)
{
    (void)arg;
    size_t i;
    json_t *o;
    if (ns)
        return;
    json_array_foreach(P, i, o)
    {
        if (!strcmp(json_string_value(json_object_get(o, "kind")), "ClusterRoleBinding") &&
            fn(ctx, o))
            return;
    }
}
static json_t *policy_role(void *arg, const char *ns, const char *name)
{
    (void)arg;
    const json_t *r = ns ? NULL : find(P, "ClusterRole", name);
    return r ? json_incref((json_t *)r) : NULL;
}

static void test_bootstrap_policy(void **state)
{
    (void)state;
    P = rbac_bootstrap_policy();
    assert_non_null(P);
    const json_t *admin = find(P, "ClusterRole", "admin"), *edit = find(P, "ClusterRole", "edit"),
                 *view = find(P, "ClusterRole", "view");
    assert_non_null(admin);
    assert_non_null(edit);
    assert_non_null(view);
    assert_non_null(json_object_get(admin, "aggregationRule"));
    size_t nv = json_array_size(json_object_get(view, "rules"));
    size_t ne = json_array_size(json_object_get(edit, "rules"));
    size_t na = json_array_size(json_object_get(admin, "rules"));
    assert_true(nv > 5 && ne > nv && na > ne); /* view within edit within admin */
    assert_non_null(find(P, "ClusterRoleBinding", "cluster-admin"));
    const json_t *ca = find(P, "ClusterRole", "cluster-admin");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(ca, "metadata"), "labels"),
                            "kubernetes.io/bootstrapping")),
                        "rbac-defaults");

    struct rbac_store ps = {NULL, policy_bindings, policy_role};
    char reason[512];
    const char *const masters[] = {"system:masters", "system:authenticated", NULL};
    const char *const anon[] = {"system:unauthenticated", NULL};
    struct rbac_attrs a = {.user = "admin",
                           .groups = masters,
                           .verb = "delete",
                           .resource_request = true,
                           .api_group = "apps",
                           .resource = "deployments",
                           .ns = "x",
                           .name = "y"};
    assert_int_equal(rbac_authorize(&ps, &a, reason, sizeof(reason)), RBAC_ALLOW);
    /* anonymous: only the public info endpoints */
    a = (struct rbac_attrs){
        .user = "system:anonymous", .groups = anon, .verb = "get", .path = "/version"};
    assert_int_equal(rbac_authorize(&ps, &a, reason, sizeof(reason)), RBAC_ALLOW);
    a.path = "/api";
    assert_int_equal(rbac_authorize(&ps, &a, reason, sizeof(reason)), RBAC_NO_OPINION);
    /* authenticated users: discovery and self reviews, nothing else */
    a = (struct rbac_attrs){.user = "bob", .groups = NOGROUPS, .verb = "get", .path = "/apis/apps"};
    assert_int_equal(rbac_authorize(&ps, &a, reason, sizeof(reason)), RBAC_ALLOW);
    a = (struct rbac_attrs){.user = "bob",
                            .groups = NOGROUPS,
                            .verb = "create",
                            .resource_request = true,
                            .api_group = "authorization.k8s.io",
                            .resource = "selfsubjectaccessreviews"};
    assert_int_equal(rbac_authorize(&ps, &a, reason, sizeof(reason)), RBAC_ALLOW);
    a.api_group = "";
    a.resource = "pods";
    a.verb = "list";
    a.ns = "default";
    assert_int_equal(rbac_authorize(&ps, &a, reason, sizeof(reason)), RBAC_NO_OPINION);
    /* the scheduler binds pods; it does not delete deployments */
    const char *const none[] = {"system:authenticated", NULL};
    a = (struct rbac_attrs){.user = "system:kube-scheduler",
                            .groups = none,
                            .verb = "create",
                            .resource_request = true,
                            .api_group = "",
                            .resource = "pods",
                            .subresource = "binding",
                            .ns = "default",
                            .name = "p"};
    assert_int_equal(rbac_authorize(&ps, &a, reason, sizeof(reason)), RBAC_ALLOW);
    a.api_group = "apps";
    a.resource = "deployments";
    a.subresource = NULL;
    a.verb = "delete";
    assert_int_equal(rbac_authorize(&ps, &a, reason, sizeof(reason)), RBAC_NO_OPINION);
    json_decref(P);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rules_and_subjects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonresource, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forbidden_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rules_review, setup, teardown),
        cmocka_unit_test(test_bootstrap_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

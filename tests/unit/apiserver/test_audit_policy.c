/* SPDX-License-Identifier: Apache-2.0 */
/* The audit Policy: parsing errors and upstream's rule matching (users, userGroups, verbs,
 * resources with subresource wildcards and resourceNames, namespaces, nonResourceURLs,
 * first match wins, omitStages). */
#include "apiserver/http/http_audit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

static const char POLICY[] =
    "apiVersion: audit.k8s.io/v1\n"
    "kind: Policy\n"
    "omitStages: [RequestReceived]\n"
    "rules:\n"
    "- level: None\n"
    "  users: [system:kube-proxy]\n"
    "  verbs: [watch]\n"
    "- level: None\n"
    "  nonResourceURLs: [/healthz*, /version]\n"
    "- level: RequestResponse\n"
    "  resources: [{group: '', resources: [secrets]}]\n"
    "  verbs: [create, update]\n"
    "- level: Metadata\n"
    "  resources: [{group: '', resources: [secrets, configmaps]}]\n"
    "- level: Request\n"
    "  userGroups: [system:nodes]\n"
    "  resources: [{group: '', resources: ['*/status']}]\n"
    "- level: Request\n"
    "  resources: [{group: apps, resources: ['deployments/*']}]\n"
    "  namespaces: [prod]\n"
    "- level: Metadata\n"
    "  resources: [{group: '', resources: [pods], resourceNames: [special]}]\n"
    "  omitStages: [ResponseStarted]\n"
    "- level: None\n"
    "  resources: [{group: ''}]\n"
    "  verbs: [get]\n"
    "- level: Metadata\n";

static struct audit_policy *load(void)
{
    struct audit_policy *p = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (audit_policy_parse(POLICY, strlen(POLICY), &p, &err) < 0)
        fail_msg("%s", err.msg);
    return p;
}

static enum audit_level eval(const struct audit_policy *p, struct audit_attrs a, unsigned *omit)
{
    unsigned o = 0;
    enum audit_level l = audit_policy_eval(p, &a, &o);
    if (omit)
        *omit = o;
    return l;
}

static void test_matching(void **state)
{
    (void)state;
    struct audit_policy *p = load();
    static const char *const nodes[] = {"system:nodes", "system:authenticated", NULL};
    static const char *const auth[] = {"system:authenticated", NULL};
    unsigned omit;

    /* users + verbs */
    assert_int_equal(eval(p,
                          (struct audit_attrs){.user = "system:kube-proxy",
                                               .verb = "watch",
                                               .resource_request = true,
                                               .resource = "pods"},
                          NULL),
                     AUDIT_NONE);
    /* non-resource URLs: prefix with *, exact */
    assert_int_equal(
        eval(p, (struct audit_attrs){.user = "u", .verb = "get", .path = "/healthz/etcd"}, NULL),
        AUDIT_NONE);
    assert_int_equal(
        eval(p, (struct audit_attrs){.user = "u", .verb = "get", .path = "/version"}, NULL),
        AUDIT_NONE);
    assert_int_equal(
        eval(p, (struct audit_attrs){.user = "u", .verb = "get", .path = "/versions"}, &omit),
        AUDIT_METADATA);
    assert_int_equal(omit, AUDIT_STAGE_RECEIVED);
    /* secrets: create at RequestResponse, get at Metadata (first match wins) */
    struct audit_attrs sec = {.user = "admin",
                              .groups = auth,
                              .verb = "create",
                              .resource_request = true,
                              .resource = "secrets",
                              .ns = "default"};
    assert_int_equal(eval(p, sec, NULL), AUDIT_REQUEST_RESPONSE);
    sec.verb = "get";
    assert_int_equal(eval(p, sec, NULL), AUDIT_METADATA);
    /* group mismatch: secrets of another group are not core secrets */
    sec.group = "example.com";
    sec.verb = "create";
    assert_int_equal(eval(p, sec, NULL), AUDIT_METADATA); /* falls to the catch-all */
    /* userGroups, and a subresource of any resource ("* /status") */
    struct audit_attrs st = {.user = "system:node:n1",
                             .groups = nodes,
                             .verb = "patch",
                             .resource_request = true,
                             .resource = "pods",
                             .subresource = "status",
                             .ns = "default",
                             .name = "p"};
    assert_int_equal(eval(p, st, NULL), AUDIT_REQUEST);
    st.groups = auth;
    assert_int_equal(eval(p, st, NULL), AUDIT_METADATA);
    /* "deployments/ *" (any subresource of deployments) in namespace prod only; not the bare
     * resource */
    struct audit_attrs dep = {.user = "u",
                              .verb = "update",
                              .resource_request = true,
                              .group = "apps",
                              .resource = "deployments",
                              .subresource = "scale",
                              .ns = "prod"};
    assert_int_equal(eval(p, dep, NULL), AUDIT_REQUEST);
    dep.ns = "dev";
    assert_int_equal(eval(p, dep, NULL), AUDIT_METADATA);
    /* resourceNames, with the rule's omitStages added to the policy's */
    struct audit_attrs pod = {.user = "u",
                              .verb = "get",
                              .resource_request = true,
                              .resource = "pods",
                              .ns = "default",
                              .name = "special"};
    assert_int_equal(eval(p, pod, &omit), AUDIT_METADATA);
    assert_int_equal(omit, AUDIT_STAGE_RECEIVED | AUDIT_STAGE_STARTED);
    /* a group with no resources listed matches all of that group */
    pod.name = "other";
    assert_int_equal(eval(p, pod, NULL), AUDIT_NONE);
    audit_policy_free(p);
}

static void test_no_rule_matches(void **state)
{
    (void)state;
    const char *text = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"
                       "  users: [alice]\n";
    struct audit_policy *p = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(audit_policy_parse(text, strlen(text), &p, &err), 0);
    assert_int_equal(eval(p, (struct audit_attrs){.user = "bob", .verb = "get"}, NULL), AUDIT_NONE);
    assert_int_equal(eval(p, (struct audit_attrs){.user = "alice", .verb = "get"}, NULL),
                     AUDIT_METADATA);
    audit_policy_free(p);
}

static void test_errors(void **state)
{
    (void)state;
    struct {
        const char *text, *want;
    } cases[] = {
        {"apiVersion: v1\nkind: Policy\nrules: [{level: None}]\n", "audit.k8s.io/v1"},
        {"apiVersion: audit.k8s.io/v1\nkind: Policy\n", "rules"},
        {"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Everything}]\n", "level"},
        {"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None, omitStages: [X]}]\n",
         "omitStages"},
        {"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None, users: alice}]\n",
         "users"},
        {"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None, nonResourceURLs: [/x],"
         " resources: [{group: ''}]}]\n",
         "non-resource"},
        {"[", "audit policy"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct audit_policy *p = NULL;
        struct ck_err err = CK_ERR_INIT;
        assert_int_equal(audit_policy_parse(cases[i].text, strlen(cases[i].text), &p, &err), -1);
        assert_null(p);
        if (!strstr(err.msg, cases[i].want))
            fail_msg("case %zu: %s lacks %s", i, err.msg, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matching),
        cmocka_unit_test(test_no_rule_matches),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The bootstrap RBAC policy: the default ClusterRoles and ClusterRoleBindings a 1.33 API server
 * creates at start (upstream's plugin/pkg/auth/authorizer/rbac/bootstrappolicy), written here
 * as YAML, and the ClusterRole aggregation that fills admin, edit and view. */
#include "apiserver/authz/rbac.h"
#include "lib/err.h"
#include "lib/yamljson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* Verb sets as upstream names them: read = get,list,watch; write = create,update,patch,delete,
 * deletecollection; rw = both. Each rule is {v: verbs, g: apiGroups, r: resources, n:
 * resourceNames, u: nonResourceURLs}; expand() turns them into PolicyRules. */
static const char POLICY[] =
    "roles:\n"
    "- name: cluster-admin\n"
    "  rules:\n"
    "  - {v: ['*'], g: ['*'], r: ['*']}\n"
    "  - {v: ['*'], u: ['*']}\n"
    "- name: system:discovery\n"
    "  rules:\n"
    "  - {v: [get], u: [/api, /api/*, /apis, /apis/*, /healthz, /livez, /openapi, /openapi/*,"
    " /readyz, /version, /version/]}\n"
    "- name: system:monitoring\n"
    "  rules:\n"
    "  - {v: [get], u: [/healthz, /healthz/*, /livez, /livez/*, /readyz, /readyz/*, /metrics,"
    " /metrics/slis]}\n"
    "- name: system:basic-user\n"
    "  rules:\n"
    "  - {v: [create], g: [authorization.k8s.io], r: [selfsubjectaccessreviews,"
    " selfsubjectrulesreviews]}\n"
    "  - {v: [create], g: [authentication.k8s.io], r: [selfsubjectreviews]}\n"
    "- name: system:public-info-viewer\n"
    "  rules:\n"
    "  - {v: [get], u: [/healthz, /livez, /readyz, /version, /version/]}\n"
    "- name: system:service-account-issuer-discovery\n"
    "  rules:\n"
    "  - {v: [get], u: [/.well-known/openid-configuration, /.well-known/openid-configuration/,"
    " /openid/v1/jwks, /openid/v1/jwks/]}\n"
    "- name: admin\n"
    "  aggregate: rbac.authorization.k8s.io/aggregate-to-admin\n"
    "- name: edit\n"
    "  labels: {rbac.authorization.k8s.io/aggregate-to-admin: 'true'}\n"
    "  aggregate: rbac.authorization.k8s.io/aggregate-to-edit\n"
    "- name: view\n"
    "  labels: {rbac.authorization.k8s.io/aggregate-to-edit: 'true'}\n"
    "  aggregate: rbac.authorization.k8s.io/aggregate-to-view\n"
    "- name: system:aggregate-to-admin\n"
    "  labels: {rbac.authorization.k8s.io/aggregate-to-admin: 'true'}\n"
    "  rules:\n"
    "  - {v: [create], g: [authorization.k8s.io], r: [localsubjectaccessreviews]}\n"
    "  - {v: [rw], g: [rbac.authorization.k8s.io], r: [rolebindings, roles]}\n"
    "- name: system:aggregate-to-edit\n"
    "  labels: {rbac.authorization.k8s.io/aggregate-to-edit: 'true'}\n"
    "  rules:\n"
    "  - {v: [read], g: [''], r: [pods/attach, pods/proxy, pods/exec, pods/portforward, secrets,"
    " services/proxy]}\n"
    "  - {v: [impersonate], g: [''], r: [serviceaccounts]}\n"
    "  - {v: [write], g: [''], r: [pods, pods/attach, pods/exec, pods/portforward, pods/proxy]}\n"
    "  - {v: [create], g: [''], r: [pods/eviction]}\n"
    "  - {v: [write], g: [''], r: [configmaps, events, persistentvolumeclaims,"
    " replicationcontrollers, replicationcontrollers/scale, secrets, serviceaccounts, services,"
    " services/proxy]}\n"
    "  - {v: [create], g: [''], r: [serviceaccounts/token]}\n"
    "  - {v: [write], g: [apps], r: [daemonsets, deployments, deployments/rollback,"
    " deployments/scale, replicasets, replicasets/scale, statefulsets, statefulsets/scale]}\n"
    "  - {v: [write], g: [autoscaling], r: [horizontalpodautoscalers]}\n"
    "  - {v: [write], g: [batch], r: [cronjobs, jobs]}\n"
    "  - {v: [write], g: [extensions], r: [daemonsets, deployments, deployments/rollback,"
    " deployments/scale, ingresses, networkpolicies, replicasets, replicasets/scale,"
    " replicationcontrollers/scale]}\n"
    "  - {v: [write], g: [policy], r: [poddisruptionbudgets]}\n"
    "  - {v: [write], g: [networking.k8s.io], r: [ingresses, networkpolicies]}\n"
    "  - {v: [write], g: [coordination.k8s.io], r: [leases]}\n"
    "- name: system:aggregate-to-view\n"
    "  labels: {rbac.authorization.k8s.io/aggregate-to-view: 'true'}\n"
    "  rules:\n"
    "  - {v: [read], g: [''], r: [configmaps, endpoints, persistentvolumeclaims,"
    " persistentvolumeclaims/status, pods, replicationcontrollers, replicationcontrollers/scale,"
    " serviceaccounts, services, services/status]}\n"
    "  - {v: [read], g: [''], r: [bindings, events, limitranges, namespaces/status, pods/log,"
    " pods/status, replicationcontrollers/status, resourcequotas, resourcequotas/status]}\n"
    "  - {v: [read], g: [''], r: [namespaces]}\n"
    "  - {v: [read], g: [discovery.k8s.io], r: [endpointslices]}\n"
    "  - {v: [read], g: [apps], r: [controllerrevisions, daemonsets, daemonsets/status,"
    " deployments, deployments/scale, deployments/status, replicasets, replicasets/scale,"
    " replicasets/status, statefulsets, statefulsets/scale, statefulsets/status]}\n"
    "  - {v: [read], g: [autoscaling], r: [horizontalpodautoscalers,"
    " horizontalpodautoscalers/status]}\n"
    "  - {v: [read], g: [batch], r: [cronjobs, cronjobs/status, jobs, jobs/status]}\n"
    "  - {v: [read], g: [extensions], r: [daemonsets, daemonsets/status, deployments,"
    " deployments/scale, deployments/status, ingresses, ingresses/status, networkpolicies,"
    " replicasets, replicasets/scale, replicasets/status, replicationcontrollers/scale]}\n"
    "  - {v: [read], g: [policy], r: [poddisruptionbudgets, poddisruptionbudgets/status]}\n"
    "  - {v: [read], g: [networking.k8s.io], r: [ingresses, ingresses/status, networkpolicies]}\n"
    "  - {v: [read], g: [coordination.k8s.io], r: [leases]}\n"
    "- name: system:heapster\n"
    "  rules:\n"
    "  - {v: [read], g: [''], r: [events, namespaces, nodes, pods]}\n"
    "  - {v: [read], g: [extensions], r: [deployments]}\n"
    "- name: system:node\n"
    "  rules:\n"
    "  - {v: [create], g: [authentication.k8s.io], r: [tokenreviews]}\n"
    "  - {v: [create], g: [authorization.k8s.io], r: [localsubjectaccessreviews,"
    " subjectaccessreviews]}\n"
    "  - {v: [read], g: [''], r: [services]}\n"
    "  - {v: [create, get, list, watch], g: [''], r: [nodes]}\n"
    "  - {v: [patch, update], g: [''], r: [nodes/status]}\n"
    "  - {v: [patch, update], g: [''], r: [nodes]}\n"
    "  - {v: [create, patch, update], g: ['', events.k8s.io], r: [events]}\n"
    "  - {v: [read], g: [''], r: [pods]}\n"
    "  - {v: [create, delete], g: [''], r: [pods]}\n"
    "  - {v: [patch, update], g: [''], r: [pods/status]}\n"
    "  - {v: [create], g: [''], r: [pods/eviction]}\n"
    "  - {v: [read], g: [''], r: [configmaps, secrets]}\n"
    "  - {v: [get], g: [''], r: [persistentvolumeclaims, persistentvolumes]}\n"
    "  - {v: [get], g: [''], r: [endpoints]}\n"
    "  - {v: [create, get, list, watch], g: [certificates.k8s.io], r:"
    " [certificatesigningrequests]}\n"
    "  - {v: [delete, get, create, update, patch, list, watch], g: [coordination.k8s.io], r:"
    " [leases]}\n"
    "  - {v: [get], g: [storage.k8s.io], r: [volumeattachments]}\n"
    "  - {v: [create], g: [''], r: [serviceaccounts/token]}\n"
    "  - {v: [get, patch, update], g: [''], r: [persistentvolumeclaims/status]}\n"
    "  - {v: [read], g: [node.k8s.io], r: [runtimeclasses]}\n"
    "  - {v: [read], g: [storage.k8s.io], r: [csidrivers]}\n"
    "  - {v: [rw], g: [storage.k8s.io], r: [csinodes]}\n"
    "- name: system:node-problem-detector\n"
    "  rules:\n"
    "  - {v: [get], g: [''], r: [nodes]}\n"
    "  - {v: [patch], g: [''], r: [nodes/status]}\n"
    "  - {v: [create, patch, update], g: ['', events.k8s.io], r: [events]}\n"
    "- name: system:kubelet-api-admin\n"
    "  rules:\n"
    "  - {v: [get, list, watch, proxy], g: [''], r: [nodes]}\n"
    "  - {v: ['*'], g: [''], r: [nodes/log, nodes/metrics, nodes/proxy, nodes/stats]}\n"
    "- name: system:node-bootstrapper\n"
    "  rules:\n"
    "  - {v: [create, get, list, watch], g: [certificates.k8s.io], r:"
    " [certificatesigningrequests]}\n"
    "- name: system:auth-delegator\n"
    "  rules:\n"
    "  - {v: [create], g: [authentication.k8s.io], r: [tokenreviews]}\n"
    "  - {v: [create], g: [authorization.k8s.io], r: [subjectaccessreviews]}\n"
    "- name: system:kube-aggregator\n"
    "  rules:\n"
    "  - {v: [read], g: [''], r: [endpoints, services]}\n"
    "- name: system:kube-controller-manager\n"
    "  rules:\n"
    "  - {v: [create, patch, update], g: ['', events.k8s.io], r: [events]}\n"
    "  - {v: [create], g: [coordination.k8s.io], r: [leases]}\n"
    "  - {v: [get, update], g: [coordination.k8s.io], r: [leases], names: "
    "[kube-controller-manager]}\n"
    "  - {v: [create], g: [''], r: [secrets, serviceaccounts]}\n"
    "  - {v: [delete], g: [''], r: [secrets]}\n"
    "  - {v: [get], g: [''], r: [configmaps, namespaces, secrets, serviceaccounts]}\n"
    "  - {v: [update], g: [''], r: [secrets, serviceaccounts]}\n"
    "  - {v: [create], g: [authentication.k8s.io], r: [tokenreviews]}\n"
    "  - {v: [create], g: [authorization.k8s.io], r: [subjectaccessreviews]}\n"
    "  - {v: [list, watch], g: ['*'], r: ['*']}\n"
    "  - {v: [create], g: [''], r: [serviceaccounts/token]}\n"
    "- name: system:kube-dns\n"
    "  rules:\n"
    "  - {v: [list, watch], g: [''], r: [endpoints, services]}\n"
    "- name: system:persistent-volume-provisioner\n"
    "  rules:\n"
    "  - {v: [create, delete, get, list, watch], g: [''], r: [persistentvolumes]}\n"
    "  - {v: [get, list, watch, update], g: [''], r: [persistentvolumeclaims]}\n"
    "  - {v: [read], g: [storage.k8s.io], r: [storageclasses]}\n"
    "  - {v: [create, patch, update], g: ['', events.k8s.io], r: [events]}\n"
    "- name: system:certificates.k8s.io:certificatesigningrequests:nodeclient\n"
    "  rules:\n"
    "  - {v: [create], g: [certificates.k8s.io], r: [certificatesigningrequests/nodeclient]}\n"
    "- name: system:certificates.k8s.io:certificatesigningrequests:selfnodeclient\n"
    "  rules:\n"
    "  - {v: [create], g: [certificates.k8s.io], r:"
    " [certificatesigningrequests/selfnodeclient]}\n"
    "- name: system:volume-scheduler\n"
    "  rules:\n"
    "  - {v: [read, patch, update], g: [''], r: [persistentvolumes]}\n"
    "  - {v: [read], g: [storage.k8s.io], r: [storageclasses]}\n"
    "  - {v: [read, patch, update], g: [''], r: [persistentvolumeclaims]}\n"
    "- name: system:certificates.k8s.io:legacy-unknown-approver\n"
    "  rules:\n"
    "  - {v: [approve], g: [certificates.k8s.io], r: [signers], names: "
    "[kubernetes.io/legacy-unknown]}\n"
    "- name: system:certificates.k8s.io:kubelet-serving-approver\n"
    "  rules:\n"
    "  - {v: [approve], g: [certificates.k8s.io], r: [signers], names: "
    "[kubernetes.io/kubelet-serving]}\n"
    "- name: system:certificates.k8s.io:kube-apiserver-client-approver\n"
    "  rules:\n"
    "  - {v: [approve], g: [certificates.k8s.io], r: [signers], names:"
    " [kubernetes.io/kube-apiserver-client]}\n"
    "- name: system:certificates.k8s.io:kube-apiserver-client-kubelet-approver\n"
    "  rules:\n"
    "  - {v: [approve], g: [certificates.k8s.io], r: [signers], names:"
    " [kubernetes.io/kube-apiserver-client-kubelet]}\n"
    "- name: system:node-proxier\n"
    "  rules:\n"
    "  - {v: [list, watch], g: [''], r: [endpoints, services]}\n"
    "  - {v: [get, list, watch], g: [''], r: [nodes]}\n"
    "  - {v: [create, patch, update], g: ['', events.k8s.io], r: [events]}\n"
    "  - {v: [list, watch], g: [discovery.k8s.io], r: [endpointslices]}\n"
    "- name: system:kube-scheduler\n"
    "  rules:\n"
    "  - {v: [create, patch, update], g: ['', events.k8s.io], r: [events]}\n"
    "  - {v: [create], g: [coordination.k8s.io], r: [leases]}\n"
    "  - {v: [get, update], g: [coordination.k8s.io], r: [leases], names: [kube-scheduler]}\n"
    "  - {v: [delete, get, list, watch], g: [''], r: [nodes]}\n"
    "  - {v: [delete, get, list, watch], g: [''], r: [pods]}\n"
    "  - {v: [create], g: [''], r: [bindings, pods/binding]}\n"
    "  - {v: [patch, update], g: [''], r: [pods/status]}\n"
    "  - {v: [read], g: [''], r: [replicationcontrollers, services]}\n"
    "  - {v: [read], g: [apps, extensions], r: [replicasets]}\n"
    "  - {v: [read], g: [apps], r: [statefulsets]}\n"
    "  - {v: [read], g: [policy], r: [poddisruptionbudgets]}\n"
    "  - {v: [read], g: [''], r: [persistentvolumeclaims, persistentvolumes]}\n"
    "  - {v: [create], g: [authentication.k8s.io], r: [tokenreviews]}\n"
    "  - {v: [create], g: [authorization.k8s.io], r: [subjectaccessreviews]}\n"
    "  - {v: [read], g: [storage.k8s.io], r: [csinodes]}\n"
    "  - {v: [read], g: [''], r: [namespaces]}\n"
    "  - {v: [read], g: [storage.k8s.io], r: [csidrivers, csistoragecapacities]}\n"
    "bindings:\n"
    "- {name: cluster-admin, groups: ['system:masters']}\n"
    "- {name: system:monitoring, groups: ['system:monitoring']}\n"
    "- {name: system:discovery, groups: ['system:authenticated']}\n"
    "- {name: system:basic-user, groups: ['system:authenticated']}\n"
    "- {name: system:public-info-viewer, groups: ['system:authenticated',"
    " 'system:unauthenticated']}\n"
    "- {name: system:node-proxier, users: ['system:kube-proxy']}\n"
    "- {name: system:kube-controller-manager, users: ['system:kube-controller-manager']}\n"
    "- {name: system:kube-dns, sas: ['kube-system/kube-dns']}\n"
    "- {name: system:kube-scheduler, users: ['system:kube-scheduler']}\n"
    "- {name: system:volume-scheduler, users: ['system:kube-scheduler']}\n"
    "- {name: system:node, groups: []}\n"
    "- {name: system:service-account-issuer-discovery, groups: ['system:serviceaccounts']}\n";

static json_t *verbs_of(const json_t *v)
{
    static const char *const read[] = {"get", "list", "watch", NULL};
    static const char *const write[] = {"create", "update",           "patch",
                                        "delete", "deletecollection", NULL};
    json_t *out = json_array();
    size_t i;
    const json_t *x;
    json_array_foreach(v, i, x)
    {
        const char *s = json_string_value(x);
        if (!s)
            continue;
        bool r = !strcmp(s, "read") || !strcmp(s, "rw"),
             w = !strcmp(s, "write") || !strcmp(s, "rw");
        for (size_t k = 0; r && read[k]; k++)
            json_array_append_new(out, json_string(read[k]));
        for (size_t k = 0; w && write[k]; k++)
            json_array_append_new(out, json_string(write[k]));
        if (!r && !w)
            json_array_append_new(out, json_string(s));
    }
    return out;
}

static json_t *expand_rule(const json_t *r)
{
    json_t *rule = json_pack("{s:o}", "verbs", verbs_of(json_object_get(r, "v")));
    static const char *const keys[][2] = {{"g", "apiGroups"},
                                          {"r", "resources"},
                                          {"names", "resourceNames"},
                                          {"u", "nonResourceURLs"}};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        const json_t *x = json_object_get(r, keys[k][0]);
        if (x)
            json_object_set_new(rule, keys[k][1], json_deep_copy(x));
    }
    return rule;
}

static json_t *meta(const char *name, const json_t *labels)
{
    json_t *l = labels ? json_deep_copy(labels) : json_object();
    json_object_set_new(l, "kubernetes.io/bootstrapping", json_string("rbac-defaults"));
    return json_pack("{s:s,s:o,s:{s:s}}", "name", name, "labels", l, "annotations",
                     "rbac.authorization.kubernetes.io/autoupdate", "true");
}

static bool labels_match(const json_t *role, const json_t *selector)
{
    const json_t *labels = json_object_get(json_object_get(role, "metadata"), "labels");
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)json_object_get(selector, "matchLabels"), k, v)
    {
        const char *have = json_string_value(json_object_get(labels, k));
        if (!have || !json_string_value(v) || strcmp(have, json_string_value(v)))
            return false;
    }
    return json_object_size(json_object_get(selector, "matchLabels")) > 0;
}

static int by_name(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    const char *nx = json_string_value(json_object_get(json_object_get(x, "metadata"), "name"));
    const char *ny = json_string_value(json_object_get(json_object_get(y, "metadata"), "name"));
    return strcmp(nx ? nx : "", ny ? ny : "");
}

json_t *rbac_aggregate_rules(const json_t *aggregated, const json_t *roles)
{
    const json_t *sels =
        json_object_get(json_object_get(aggregated, "aggregationRule"), "clusterRoleSelectors");
    size_t n = json_array_size(roles), m = 0;
    const json_t **match = calloc(n ? n : 1, sizeof(*match));
    for (size_t i = 0; match && i < n; i++) {
        const json_t *r = json_array_get(roles, i);
        if (r == aggregated)
            continue;
        size_t k;
        const json_t *sel;
        json_array_foreach(sels, k, sel)
        {
            if (labels_match(r, sel)) {
                match[m++] = r;
                break;
            }
        }
    }
    if (m)
        qsort(match, m, sizeof(*match), by_name);
    json_t *out = json_array();
    for (size_t i = 0; i < m; i++) {
        size_t k;
        const json_t *rule;
        json_array_foreach(json_object_get(match[i], "rules"), k, rule)
        {
            bool dup = false;
            for (size_t j = 0; j < json_array_size(out) && !dup; j++)
                dup = json_equal(json_array_get(out, j), rule);
            if (!dup)
                json_array_append_new(out, json_deep_copy(rule));
        }
    }
    free(match);
    return out;
}

static json_t *subjects(const json_t *b)
{
    json_t *out = json_array();
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(b, "groups"), i, x)
        json_array_append_new(out, json_pack("{s:s,s:s,s:O}", "kind", "Group", "apiGroup",
                                             "rbac.authorization.k8s.io", "name", x));
    json_array_foreach(json_object_get(b, "users"), i, x)
        json_array_append_new(out, json_pack("{s:s,s:s,s:O}", "kind", "User", "apiGroup",
                                             "rbac.authorization.k8s.io", "name", x));
    json_array_foreach(json_object_get(b, "sas"), i, x)
    {
        const char *s = json_string_value(x), *slash = s ? strchr(s, '/') : NULL;
        if (!slash)
            continue;
        char ns[256];
        snprintf(ns, sizeof(ns), "%.*s", (int)(slash - s), s);
        json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "kind", "ServiceAccount", "name",
                                             slash + 1, "namespace", ns));
    }
    return out;
}

json_t *rbac_bootstrap_policy(void)
{
    json_t *doc = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (yaml_to_json(POLICY, sizeof(POLICY) - 1, &doc, &err) < 0 || !doc) {
        ck_err_clear(&err);
        return NULL; /* a bug in POLICY: the unit test catches it */
    }
    json_t *roles = json_array();
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(doc, "roles"), i, r)
    {
        const char *name = json_string_value(json_object_get(r, "name"));
        json_t *role =
            json_pack("{s:s,s:s,s:o}", "apiVersion", "rbac.authorization.k8s.io/v1", "kind",
                      "ClusterRole", "metadata", meta(name, json_object_get(r, "labels")));
        json_t *rules = json_array();
        size_t k;
        const json_t *x;
        json_array_foreach(json_object_get(r, "rules"), k, x)
            json_array_append_new(rules, expand_rule(x));
        json_object_set_new(role, "rules", rules);
        const char *agg = json_string_value(json_object_get(r, "aggregate"));
        if (agg)
            json_object_set_new(
                role, "aggregationRule",
                json_pack("{s:[{s:{s:s}}]}", "clusterRoleSelectors", "matchLabels", agg, "true"));
        json_array_append_new(roles, role);
    }
    /* aggregation in dependency order: view, then edit (which takes view), then admin */
    static const char *const order[] = {"view", "edit", "admin"};
    for (size_t o = 0; o < 3; o++) {
        json_array_foreach(roles, i, r)
        {
            const char *name =
                json_string_value(json_object_get(json_object_get(r, "metadata"), "name"));
            if (name && !strcmp(name, order[o]))
                json_object_set_new((json_t *)r, "rules", rbac_aggregate_rules(r, roles));
        }
    }
    json_t *out = roles;
    json_array_foreach(json_object_get(doc, "bindings"), i, r)
    {
        const char *name = json_string_value(json_object_get(r, "name"));
        json_array_append_new(
            out, json_pack("{s:s,s:s,s:o,s:{s:s,s:s,s:s},s:o}", "apiVersion",
                           "rbac.authorization.k8s.io/v1", "kind", "ClusterRoleBinding", "metadata",
                           meta(name, NULL), "roleRef", "apiGroup", "rbac.authorization.k8s.io",
                           "kind", "ClusterRole", "name", name, "subjects", subjects(r)));
    }
    json_decref(doc);
    return out;
}

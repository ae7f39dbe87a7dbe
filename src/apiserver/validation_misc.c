/* SPDX-License-Identifier: Apache-2.0 */
/* Validation of RBAC roles and bindings (rules, roleRef, subjects) and horizontal pod
 * autoscalers (replica bounds, scale target), with upstream's messages. */
#include "apiserver/validation.h"

#include "apiserver/printers.h"

#include <stdio.h>
#include <string.h>

#define RBAC_GROUP "rbac.authorization.k8s.io"

static size_t arr_n(const json_t *a)
{
    return json_is_array(a) ? json_array_size(a) : 0;
}

static void policy_rules(struct vld *v, const json_t *rules, bool namespaced)
{
    char f[128];
    for (size_t i = 0; i < arr_n(rules); i++) {
        json_t *r = json_array_get(rules, i);
        snprintf(f, sizeof(f), "rules[%zu].verbs", i);
        if (arr_n(json_object_get(r, "verbs")) == 0)
            vld_required(v, f, "verbs must contain at least one value");
        json_t *urls = json_object_get(r, "nonResourceURLs");
        if (arr_n(urls) > 0) {
            snprintf(f, sizeof(f), "rules[%zu].nonResourceURLs", i);
            if (namespaced)
                vld_invalid_repr(v, f, "[]string{...}", "namespaced rules cannot apply to non-resource URLs");
            if (arr_n(json_object_get(r, "apiGroups")) || arr_n(json_object_get(r, "resources")) ||
                arr_n(json_object_get(r, "resourceNames")))
                vld_invalid_repr(v, f, "[]string{...}", "rules cannot apply to both regular resources and non-resource URLs");
            continue;
        }
        snprintf(f, sizeof(f), "rules[%zu].apiGroups", i);
        if (arr_n(json_object_get(r, "apiGroups")) == 0)
            vld_required(v, f, "resource rules must supply at least one api group");
        snprintf(f, sizeof(f), "rules[%zu].resources", i);
        if (arr_n(json_object_get(r, "resources")) == 0)
            vld_required(v, f, "resource rules must supply at least one resource");
    }
}

void vld_role(struct vld *v, const json_t *obj, const json_t *old)
{
    (void)old;
    policy_rules(v, json_object_get(obj, "rules"), true);
}

void vld_clusterrole(struct vld *v, const json_t *obj, const json_t *old)
{
    (void)old;
    policy_rules(v, json_object_get(obj, "rules"), false);
}

static void subject(struct vld *v, size_t i, const json_t *s, bool namespaced)
{
    static const char *const kinds[] = {"ServiceAccount", "User", "Group"};
    static const char *const rbac_group[] = {RBAC_GROUP};
    static const char *const empty_group[] = {""};
    char f[128];
    const char *name = printer_jstr(s, "name"), *kind = printer_jstr(s, "kind");
    const char *group = printer_jstr(s, "apiGroup");
    snprintf(f, sizeof(f), "subjects[%zu].name", i);
    if (!*name)
        vld_required(v, f, "");
    if (!strcmp(kind, "ServiceAccount")) {
        if (*name)
            vld_dns1123_subdomain(v, f, name);
        snprintf(f, sizeof(f), "subjects[%zu].apiGroup", i);
        if (*group)
            vld_not_supported(v, f, group, empty_group, 1);
        snprintf(f, sizeof(f), "subjects[%zu].namespace", i);
        if (!namespaced && !*printer_jstr(s, "namespace"))
            vld_required(v, f, "");
    } else if (!strcmp(kind, "User") || !strcmp(kind, "Group")) {
        snprintf(f, sizeof(f), "subjects[%zu].apiGroup", i);
        if (strcmp(group, RBAC_GROUP) != 0)
            vld_not_supported(v, f, group, rbac_group, 1);
    } else {
        snprintf(f, sizeof(f), "subjects[%zu].kind", i);
        vld_not_supported(v, f, kind, kinds, 3);
    }
}

static void binding(struct vld *v, const json_t *obj, bool namespaced)
{
    static const char *const rbac_group[] = {RBAC_GROUP};
    static const char *const ns_kinds[] = {"Role", "ClusterRole"};
    static const char *const cluster_kinds[] = {"ClusterRole"};
    json_t *ref = json_object_get(obj, "roleRef");
    const char *group = printer_jstr(ref, "apiGroup"), *kind = printer_jstr(ref, "kind");
    const char *name = printer_jstr(ref, "name");
    if (strcmp(group, RBAC_GROUP) != 0)
        vld_not_supported(v, "roleRef.apiGroup", group, rbac_group, 1);
    if (namespaced && strcmp(kind, "Role") && strcmp(kind, "ClusterRole"))
        vld_not_supported(v, "roleRef.kind", kind, ns_kinds, 2);
    else if (!namespaced && strcmp(kind, "ClusterRole"))
        vld_not_supported(v, "roleRef.kind", kind, cluster_kinds, 1);
    if (!*name) {
        vld_required(v, "roleRef.name", "");
    } else if (strchr(name, '/') || strchr(name, '%') || !strcmp(name, ".") || !strcmp(name, "..")) {
        vld_invalid_str(v, "roleRef.name", name,
                        strchr(name, '/') ? "may not contain '/'" : strchr(name, '%') ? "may not contain '%'"
                        : !strcmp(name, ".") ? "may not be '.'" : "may not be '..'");
    }
    json_t *subs = json_object_get(obj, "subjects");
    for (size_t i = 0; i < arr_n(subs); i++)
        subject(v, i, json_array_get(subs, i), namespaced);
}

void vld_rolebinding(struct vld *v, const json_t *obj, const json_t *old)
{
    binding(v, obj, true);
    json_t *oref = json_object_get(old, "roleRef");
    if (old && !json_equal(oref, json_object_get(obj, "roleRef")))
        vld_invalid_repr(v, "roleRef", "rbac.RoleRef{...}", "cannot change roleRef");
}

void vld_clusterrolebinding(struct vld *v, const json_t *obj, const json_t *old)
{
    binding(v, obj, false);
    json_t *oref = json_object_get(old, "roleRef");
    if (old && !json_equal(oref, json_object_get(obj, "roleRef")))
        vld_invalid_repr(v, "roleRef", "rbac.RoleRef{...}", "cannot change roleRef");
}

void vld_hpa(struct vld *v, const json_t *obj, const json_t *old)
{
    (void)old;
    json_t *spec = json_object_get(obj, "spec");
    json_t *min = json_object_get(spec, "minReplicas");
    long long max = printer_jint(spec, "maxReplicas", 0);
    if (json_is_integer(min) && json_integer_value(min) < 1)
        vld_invalid_int(v, "spec.minReplicas", (long long)json_integer_value(min), "must be greater than or equal to 1");
    if (max < 1)
        vld_invalid_int(v, "spec.maxReplicas", max, "must be greater than 0");
    if (json_is_integer(min) && max < json_integer_value(min))
        vld_invalid_int(v, "spec.maxReplicas", max, "must be greater than or equal to `minReplicas`");
    if (!*printer_jstr(spec, "scaleTargetRef.kind"))
        vld_required(v, "spec.scaleTargetRef.kind", "");
    if (!*printer_jstr(spec, "scaleTargetRef.name"))
        vld_required(v, "spec.scaleTargetRef.name", "");
}

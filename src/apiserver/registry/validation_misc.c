/* SPDX-License-Identifier: Apache-2.0 */
/* Validation of RBAC roles and bindings (rules, roleRef, subjects) and horizontal pod
 * autoscalers (replica bounds, scale target), with upstream's messages. */
#include "apiserver/registry/validation.h"

#include "apiserver/registry/printers.h"

#include <stdio.h>
#include <stdlib.h>
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

/* ---- ingresses ------------------------------------------------------------------------- */

static void ingress_backend(struct vld *v, const char *path, const json_t *be)
{
    char f[256];
    json_t *svc = json_object_get(be, "service"), *res = json_object_get(be, "resource");
    if (svc && res) {
        vld_invalid_str(v, path, "", "cannot set both resource and service backends");
        return;
    }
    if (res) {
        snprintf(f, sizeof(f), "%s.resource.kind", path);
        if (!*printer_jstr(res, "kind"))
            vld_required(v, f, "");
        snprintf(f, sizeof(f), "%s.resource.name", path);
        if (!*printer_jstr(res, "name"))
            vld_required(v, f, "");
        return;
    }
    if (!svc) {
        vld_invalid_str(v, path, "", "one backend must be specified");
        return;
    }
    const char *name = printer_jstr(svc, "name"), *pname = printer_jstr(svc, "port.name");
    long long num = printer_jint(svc, "port.number", 0);
    snprintf(f, sizeof(f), "%s.service.name", path);
    if (!*name)
        vld_required(v, f, "");
    else
        vld_dns1035_label(v, f, name);
    if (*pname && num) {
        vld_invalid_str(v, path, "", "cannot set both port name & port number");
    } else if (*pname) {
        snprintf(f, sizeof(f), "%s.service.port.name", path);
        vld_port_name(v, f, pname);
    } else if (num) {
        snprintf(f, sizeof(f), "%s.service.port.number", path);
        if (num < 1 || num > 65535)
            vld_invalid_int(v, f, num, "must be between 1 and 65535, inclusive");
    } else {
        vld_required(v, path, "port name or number is required");
    }
}

static void ingress_path(struct vld *v, const char *path, const json_t *p)
{
    static const char *const types[] = {"Exact", "ImplementationSpecific", "Prefix"};
    static const char *const bad_seq[] = {"//", "/./", "/../", "%2f", "%2F"};
    static const char *const bad_suffix[] = {"/..", "/."};
    char f[256], d[64];
    json_t *pt = json_object_get(p, "pathType");
    const char *s = printer_jstr(p, "path");
    size_t n = strlen(s);
    snprintf(f, sizeof(f), "%s.pathType", path);
    if (!json_is_string(pt)) {
        vld_required(v, f, "pathType must be specified");
        return;
    }
    const char *type = json_string_value(pt);
    if (!strcmp(type, "Exact") || !strcmp(type, "Prefix")) {
        snprintf(f, sizeof(f), "%s.path", path);
        if (s[0] != '/')
            vld_invalid_str(v, f, s, "must be an absolute path");
        for (size_t i = 0; n && i < sizeof(bad_seq) / sizeof(bad_seq[0]); i++)
            if (strstr(s, bad_seq[i])) {
                snprintf(d, sizeof(d), "must not contain '%s'", bad_seq[i]);
                vld_invalid_str(v, f, s, d);
            }
        for (size_t i = 0; n && i < 2; i++) {
            size_t sl = strlen(bad_suffix[i]);
            if (n >= sl && !strcmp(s + n - sl, bad_suffix[i])) {
                snprintf(d, sizeof(d), "cannot end with '%s'", bad_suffix[i]);
                vld_invalid_str(v, f, s, d);
            }
        }
    } else if (!strcmp(type, "ImplementationSpecific")) {
        snprintf(f, sizeof(f), "%s.path", path);
        if (n && s[0] != '/')
            vld_invalid_str(v, f, s, "must be an absolute path");
    } else {
        vld_not_supported(v, f, type, types, 3);
    }
    snprintf(f, sizeof(f), "%s.backend", path);
    ingress_backend(v, f, json_object_get(p, "backend"));
}

void vld_ingress(struct vld *v, const json_t *obj, const json_t *old)
{
    (void)old;
    json_t *spec = json_object_get(obj, "spec");
    json_t *rules = json_object_get(spec, "rules"), *def = json_object_get(spec, "defaultBackend");
    char f[256];
    if (arr_n(rules) == 0 && !def)
        vld_invalid_repr(v, "spec", json_is_array(rules) ? "[]networking.IngressRule{}" : "[]networking.IngressRule(nil)",
                         "either `defaultBackend` or `rules` must be specified");
    if (def)
        ingress_backend(v, "spec.defaultBackend", def);
    for (size_t i = 0; i < arr_n(rules); i++) {
        json_t *r = json_array_get(rules, i);
        const char *host = printer_jstr(r, "host");
        snprintf(f, sizeof(f), "spec.rules[%zu].host", i);
        if (*host && strncmp(host, "*.", 2) == 0)
            vld_dns1123_subdomain(v, f, host + 2);
        else if (*host)
            vld_dns1123_subdomain(v, f, host);
        json_t *http = json_object_get(r, "http");
        if (!http)
            continue;
        json_t *paths = json_object_get(http, "paths");
        snprintf(f, sizeof(f), "spec.rules[%zu].http.paths", i);
        if (arr_n(paths) == 0)
            vld_required(v, f, "");
        for (size_t j = 0; j < arr_n(paths); j++) {
            snprintf(f, sizeof(f), "spec.rules[%zu].http.paths[%zu]", i, j);
            ingress_path(v, f, json_array_get(paths, j));
        }
    }
    json_t *cls = json_object_get(spec, "ingressClassName");
    if (json_is_string(cls))
        vld_dns1123_subdomain(v, "spec.ingressClassName", json_string_value(cls));
}

/* ---- storage classes, priority classes -------------------------------------------------- */

void vld_storageclass(struct vld *v, const json_t *obj, const json_t *old)
{
    static const char *const policies[] = {"Delete", "Retain"};
    static const char *const modes[] = {"Immediate", "WaitForFirstConsumer"};
    const char *prov = printer_jstr(obj, "provisioner");
    if (!*prov)
        vld_required(v, "provisioner", "");
    const char *rp = printer_jstr(obj, "reclaimPolicy"), *bm = printer_jstr(obj, "volumeBindingMode");
    if (*rp && strcmp(rp, "Delete") && strcmp(rp, "Retain"))
        vld_not_supported(v, "reclaimPolicy", rp, policies, 2);
    if (!json_object_get(obj, "volumeBindingMode"))
        vld_required(v, "volumeBindingMode", "");
    else if (strcmp(bm, "Immediate") && strcmp(bm, "WaitForFirstConsumer"))
        vld_not_supported(v, "volumeBindingMode", bm, modes, 2);
    if (!old)
        return;
    json_t *op = json_object_get(old, "parameters"), *np = json_object_get(obj, "parameters");
    if ((op || np) && !(op && np && json_equal(op, np)))
        vld_forbidden(v, "parameters", "updates to parameters are forbidden.");
    if (strcmp(prov, printer_jstr(old, "provisioner")))
        vld_forbidden(v, "provisioner", "updates to provisioner are forbidden.");
    if (strcmp(rp, printer_jstr(old, "reclaimPolicy")))
        vld_forbidden(v, "reclaimPolicy", "updates to reclaimPolicy are forbidden.");
    if (strcmp(bm, printer_jstr(old, "volumeBindingMode"))) {
        char *q = vld_quote(bm);
        vld_invalid_repr(v, "volumeBindingMode", q, "field is immutable");
        free(q);
    }
}

void vld_priorityclass(struct vld *v, const json_t *obj, const json_t *old)
{
    static const struct { const char *name; long long value; } system_classes[] = {
        {"system-node-critical", 2000001000}, {"system-cluster-critical", 2000000000}};
    static const char *const policies[] = {"Never", "PreemptLowerPriority"};
    const char *name = printer_jstr(obj, "metadata.name");
    long long value = printer_jint(obj, "value", 0);
    if (!strncmp(name, "system-", 7)) {
        bool known = false;
        char d[256];
        for (size_t i = 0; i < 2; i++)
            if (!strcmp(name, system_classes[i].name)) {
                known = true;
                if (value != system_classes[i].value) {
                    snprintf(d, sizeof(d), "priority class names with 'system-' prefix are reserved for system use "
                             "only. error: value of %s PriorityClass must be %lld", name, system_classes[i].value);
                    vld_forbidden(v, "metadata.name", d);
                }
            }
        if (!known) {
            snprintf(d, sizeof(d), "priority class names with 'system-' prefix are reserved for system use only. "
                     "error: %s is not a known system priority class", name);
            vld_forbidden(v, "metadata.name", d);
        }
    } else if (value > 1000000000) {
        vld_forbidden(v, "value", "maximum allowed value of a user defined priority is 1000000000");
    }
    json_t *pp = json_object_get(obj, "preemptionPolicy");
    if (json_is_string(pp) && strcmp(json_string_value(pp), "Never") && strcmp(json_string_value(pp), "PreemptLowerPriority"))
        vld_not_supported(v, "preemptionPolicy", json_string_value(pp), policies, 2);
    if (old && printer_jint(old, "value", 0) != value)
        vld_forbidden(v, "value", "may not be changed in an update.");
}

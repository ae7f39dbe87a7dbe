/* SPDX-License-Identifier: Apache-2.0 */
/* ResourceQuota (plugin/pkg/admission/resourcequota): a create that would take a namespace's
 * usage past a quota's hard limits is refused with upstream's "exceeded quota" message.
 *
 * Usage is computed from the cache at admission time (the live objects of the namespace),
 * not from status.used: status.used is written by the resourcequota controller for
 * `kubectl describe quota`, and the cache is always at least as current. Two creates racing
 * on different worker threads can both pass (upstream serialises them by writing the quota's
 * status in admission); counts are exact otherwise. Counted: pods (pods, count/pods,
 * requests.* and limits.* of cpu, memory and ephemeral-storage, the bare cpu/memory names)
 * for pods not in a terminal phase; services, configmaps, secrets, persistentvolumeclaims,
 * replicationcontrollers and resourcequotas by their names; any resource as count/<r>[.<g>].
 * Scopes: BestEffort and NotBestEffort (other scopes match every pod). */
#include "apiserver/admission/admission.h"

#include "k8s/podres.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static void put_q(json_t *u, const char *name, const struct k8s_quantity *q)
{
    char buf[K8S_QTY_STRLEN];
    json_object_set_new(u, name, json_string(k8s_quantity_str(q, buf)));
}

json_t *adm_quota_pod_usage(json_t *pod)
{
    json_t *u = json_object();
    json_object_set_new(u, "pods", json_string("1"));
    json_object_set_new(u, "count/pods", json_string("1"));
    struct k8s_reslist req = K8S_RESLIST_INIT, lim = K8S_RESLIST_INIT;
    k8s_pod_requests(pod, NULL, &req);
    k8s_pod_limits(pod, NULL, &lim);
    static const char *const names[] = {"cpu", "memory", "ephemeral-storage"};
    for (size_t i = 0; i < 3; i++) {
        const struct k8s_quantity *q = k8s_reslist_get(&req, names[i]);
        char k[64];
        if (q) {
            snprintf(k, sizeof(k), "requests.%s", names[i]);
            put_q(u, k, q);
            put_q(u, names[i], q);
        }
        q = k8s_reslist_get(&lim, names[i]);
        if (q) {
            snprintf(k, sizeof(k), "limits.%s", names[i]);
            put_q(u, k, q);
        }
    }
    k8s_reslist_release(&req);
    k8s_reslist_release(&lim);
    return u;
}

static bool terminal(json_t *pod)
{
    const char *ph = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
    return ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"));
}

static void add_usage(json_t *sum, json_t *u)
{
    const char *k;
    json_t *v;
    json_object_foreach(u, k, v)
    {
        struct k8s_quantity a = k8s_quantity_from_int(0, K8S_QTY_DECIMAL_SI), b;
        json_t *cur = json_object_get(sum, k);
        if (cur)
            k8s_quantity_from_json(cur, &a);
        if (k8s_quantity_from_json(v, &b) == 0)
            k8s_quantity_add(&a, &b);
        put_q(sum, k, &a);
    }
}

/* Sorted "k=v,k=v" of obj (upstream's prettyPrint). */
static void pretty(json_t *obj, char *out, size_t n)
{
    const char *keys[64];
    size_t nk = 0;
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) if (nk < 64) keys[nk++] = k;
    for (size_t i = 1; i < nk; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < nk && len < n; i++) {
        const char *s = json_string_value(json_object_get(obj, keys[i]));
        len += (size_t)snprintf(out + len, n - len, "%s%s=%s", i ? "," : "", keys[i], s ? s : "?");
    }
}

int adm_quota_check(const char *quota_name, json_t *hard, json_t *used, json_t *add, char *msg,
                    size_t n)
{
    json_t *f_req = json_object(), *f_used = json_object(), *f_hard = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(add, k, v)
    {
        json_t *h = json_object_get(hard, k);
        struct k8s_quantity hq, uq = k8s_quantity_from_int(0, K8S_QTY_DECIMAL_SI), aq;
        if (!h || k8s_quantity_from_json(h, &hq) < 0 || k8s_quantity_from_json(v, &aq) < 0)
            continue;
        json_t *u = json_object_get(used, k);
        if (u)
            k8s_quantity_from_json(u, &uq);
        struct k8s_quantity tot = uq;
        k8s_quantity_add(&tot, &aq);
        if (k8s_quantity_cmp(&tot, &hq) <= 0)
            continue;
        put_q(f_req, k, &aq);
        put_q(f_used, k, &uq);
        json_object_set(f_hard, k, h);
    }
    int rc = 0;
    if (json_object_size(f_req)) {
        char r[512], u[512], h[512];
        pretty(f_req, r, sizeof(r));
        pretty(f_used, u, sizeof(u));
        pretty(f_hard, h, sizeof(h));
        snprintf(msg, n, "exceeded quota: %s, requested: %s, used: %s, limited: %s", quota_name, r,
                 u, h);
        rc = -1;
    }
    json_decref(f_req);
    json_decref(f_used);
    json_decref(f_hard);
    return rc;
}

/* The name a core resource's count goes by besides count/<r> (services, configmaps, ...). */
static bool core_counted(const char *plural)
{
    static const char *const v[] = {"services",
                                    "configmaps",
                                    "secrets",
                                    "persistentvolumeclaims",
                                    "replicationcontrollers",
                                    "resourcequotas",
                                    NULL};
    for (size_t i = 0; v[i]; i++)
        if (!strcmp(v[i], plural))
            return true;
    return false;
}

static void count_name(const struct reg_resource *r, char *out, size_t n)
{
    if (r->group[0])
        snprintf(out, n, "count/%s.%s", r->plural, r->group);
    else
        snprintf(out, n, "count/%s", r->plural);
}

static bool scope_matches(json_t *quota, json_t *pod)
{
    json_t *scopes = json_object_get(json_object_get(quota, "spec"), "scopes");
    for (size_t i = 0; i < json_array_size(scopes); i++) {
        const char *s = json_string_value(json_array_get(scopes, i));
        if (!s)
            continue;
        bool be = !strcmp(k8s_pod_compute_qos(pod), "BestEffort");
        if (!strcmp(s, "BestEffort") && !be)
            return false;
        if (!strcmp(s, "NotBestEffort") && be)
            return false;
    }
    return true;
}

/* The usage in the namespace that quota covers, for the resource being created. */
static json_t *live_usage(struct adm_attrs *a, json_t *quota)
{
    json_t *sum = json_object();
    bool pod = adm_is_pod(a);
    json_t *all = adm_list(a, a->res->group, a->res->version, a->res->plural, a->ns);
    char cn[160];
    count_name(a->res, cn, sizeof(cn));
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *o = json_array_get(all, i);
        if (pod) {
            if (terminal(o) || !scope_matches(quota, o))
                continue;
            json_t *u = adm_quota_pod_usage(o);
            add_usage(sum, u);
            json_decref(u);
        } else {
            json_t *u = json_pack("{s:s}", cn, "1");
            if (core_counted(a->res->plural) && !a->res->group[0])
                json_object_set_new(u, a->res->plural, json_string("1"));
            add_usage(sum, u);
            json_decref(u);
        }
    }
    json_decref(all);
    return sum;
}

static int quota_validate(struct adm_attrs *a, struct ck_err *err)
{
    if (a->op != ADM_CREATE || (a->sub && *a->sub) || !a->obj || !a->ns || !*a->ns ||
        !(a->res->flags & REG_NAMESPACED))
        return 0;
    json_t *quotas = adm_list(a, "", "v1", "resourcequotas", a->ns);
    int rc = 0;
    char cn[160];
    count_name(a->res, cn, sizeof(cn));
    for (size_t i = 0; i < json_array_size(quotas) && rc == 0; i++) {
        json_t *q = json_array_get(quotas, i);
        json_t *hard = json_object_get(json_object_get(q, "spec"), "hard");
        json_t *add;
        if (adm_is_pod(a)) {
            if (!scope_matches(q, a->obj))
                continue;
            add = adm_quota_pod_usage(a->obj);
        } else {
            add = json_pack("{s:s}", cn, "1");
            if (core_counted(a->res->plural) && !a->res->group[0])
                json_object_set_new(add, a->res->plural, json_string("1"));
        }
        /* only the resources this quota limits */
        bool any = false;
        const char *k;
        json_t *v;
        json_object_foreach(add, k, v) if (json_object_get(hard, k)) any = true;
        if (any) {
            json_t *used = live_usage(a, q);
            char msg[2048];
            const char *qn =
                json_string_value(json_object_get(json_object_get(q, "metadata"), "name"));
            if (adm_quota_check(qn ? qn : "", hard, used, add, msg, sizeof(msg)) < 0)
                rc = adm_forbidden(err, a, "%s", msg);
            json_decref(used);
        }
        json_decref(add);
    }
    json_decref(quotas);
    return rc;
}

const struct adm_plugin adm_resource_quota = {
    .name = "ResourceQuota", .default_on = true, .validate = quota_validate};

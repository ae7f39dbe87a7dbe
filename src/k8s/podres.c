/* SPDX-License-Identifier: Apache-2.0 */
/* Resource lists, pod requests/limits aggregation (sidecar-aware, pod-level resources,
 * overhead) and the pod QoS class, following upstream (see podres.h). */
#include "k8s/podres.h"

#include "k8s/util.h"
#include "lib/buf.h"

#include <string.h>

#include "lib/banned.h"

/* ---- resource lists ------------------------------------------------------------------ */

void k8s_reslist_release(struct k8s_reslist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static struct k8s_res_entry *find(const struct k8s_reslist *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].name, name))
            return &l->v[i];
    return NULL;
}

const struct k8s_quantity *k8s_reslist_get(const struct k8s_reslist *l, const char *name)
{
    struct k8s_res_entry *e = find(l, name);
    return e ? &e->q : NULL;
}

void k8s_reslist_set(struct k8s_reslist *l, const char *name, const struct k8s_quantity *q)
{
    struct k8s_res_entry *e = find(l, name);
    if (e) {
        e->q = *q;
        return;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = ck_realloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n].name = ck_strdup(name);
    l->v[l->n++].q = *q;
}

void k8s_reslist_add(struct k8s_reslist *l, const char *name, const struct k8s_quantity *q)
{
    struct k8s_res_entry *e = find(l, name);
    if (e)
        k8s_quantity_add(&e->q, q);
    else
        k8s_reslist_set(l, name, q);
}

void k8s_reslist_max(struct k8s_reslist *l, const char *name, const struct k8s_quantity *q)
{
    struct k8s_res_entry *e = find(l, name);
    if (!e || k8s_quantity_cmp(q, &e->q) > 0)
        k8s_reslist_set(l, name, q);
}

void k8s_reslist_add_list(struct k8s_reslist *l, const struct k8s_reslist *o)
{
    for (size_t i = 0; i < o->n; i++)
        k8s_reslist_add(l, o->v[i].name, &o->v[i].q);
}

void k8s_reslist_max_list(struct k8s_reslist *l, const struct k8s_reslist *o)
{
    for (size_t i = 0; i < o->n; i++)
        k8s_reslist_max(l, o->v[i].name, &o->v[i].q);
}

size_t k8s_reslist_add_json(struct k8s_reslist *l, const json_t *list)
{
    const char *name;
    json_t *v;
    size_t bad = 0;
    json_object_foreach((json_t *)list, name, v)
    {
        struct k8s_quantity q;
        if (k8s_quantity_from_json(v, &q) < 0)
            bad++;
        else
            k8s_reslist_add(l, name, &q);
    }
    return bad;
}

json_t *k8s_reslist_to_json(const struct k8s_reslist *l)
{
    json_t *o = json_object();
    for (size_t i = 0; i < l->n; i++) {
        char buf[K8S_QTY_STRLEN];
        json_object_set_new(o, l->v[i].name, json_string(k8s_quantity_str(&l->v[i].q, buf)));
    }
    return o;
}

int64_t k8s_reslist_value(const struct k8s_reslist *l, const char *name)
{
    const struct k8s_quantity *q = k8s_reslist_get(l, name);
    return q ? k8s_quantity_value(q) : 0;
}

int64_t k8s_reslist_milli(const struct k8s_reslist *l, const char *name)
{
    const struct k8s_quantity *q = k8s_reslist_get(l, name);
    return q ? k8s_quantity_milli(q) : 0;
}

void k8s_reslist_summary(const struct k8s_reslist *l, struct k8s_resource *r)
{
    r->milli_cpu = k8s_reslist_milli(l, K8S_RES_CPU);
    r->memory = k8s_reslist_value(l, K8S_RES_MEMORY);
    r->ephemeral_storage = k8s_reslist_value(l, K8S_RES_EPHEMERAL_STORAGE);
    r->pods = k8s_reslist_value(l, K8S_RES_PODS);
}

int64_t k8s_request_for_resource(const struct k8s_reslist *requests, const char *name, bool nonzero)
{
    const struct k8s_quantity *q = k8s_reslist_get(requests, name);
    if (!strcmp(name, K8S_RES_CPU)) {
        if (!q)
            return nonzero ? K8S_DEFAULT_MILLI_CPU_REQUEST : 0;
        return k8s_quantity_milli(q);
    }
    if (!strcmp(name, K8S_RES_MEMORY) && !q && nonzero)
        return K8S_DEFAULT_MEMORY_REQUEST;
    return q ? k8s_quantity_value(q) : 0;
}

/* ---- pod aggregation ----------------------------------------------------------------- */

static bool pod_level_name(const char *name)
{
    return !strcmp(name, K8S_RES_CPU) || !strcmp(name, K8S_RES_MEMORY) ||
           !strncmp(name, "hugepages-", 10);
}

static bool has_pod_level(const json_t *list)
{
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)list, name, v)
    {
        (void)v;
        if (pod_level_name(name))
            return true;
    }
    return false;
}

/* applyPodLevelResources: supported pod-level entries replace the aggregate. */
static void apply_pod_level(struct k8s_reslist *out, const json_t *list)
{
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)list, name, v)
    {
        struct k8s_quantity q;
        if (pod_level_name(name) && k8s_quantity_from_json(v, &q) == 0)
            k8s_reslist_set(out, name, &q);
    }
}

/* One container's requests or limits (which = "requests"/"limits"), with the scheduler's
 * defaults for missing cpu/memory when nonzero. */
static void container_list(const json_t *c, const char *which, bool nonzero,
                           struct k8s_reslist *out)
{
    const json_t *list = json_object_get(json_object_get(c, "resources"), which);
    k8s_reslist_add_json(out, list);
    if (!nonzero)
        return;
    if (!json_object_get(list, K8S_RES_CPU)) {
        struct k8s_quantity q =
            k8s_quantity_from_milli(K8S_DEFAULT_MILLI_CPU_REQUEST, K8S_QTY_DECIMAL_SI);
        k8s_reslist_add(out, K8S_RES_CPU, &q);
    }
    if (!json_object_get(list, K8S_RES_MEMORY)) {
        struct k8s_quantity q =
            k8s_quantity_from_int(K8S_DEFAULT_MEMORY_REQUEST, K8S_QTY_DECIMAL_SI);
        k8s_reslist_add(out, K8S_RES_MEMORY, &q);
    }
}

/* aggregateContainerResourcesByFn over the spec (the sidecar KEP's formula). */
static void aggregate(const json_t *spec, const char *which, bool nonzero, struct k8s_reslist *out)
{
    const json_t *cs = json_object_get(spec, "containers");
    for (size_t i = 0; i < k8s_jlen(cs); i++)
        container_list(json_array_get(cs, i), which, nonzero, out);
    struct k8s_reslist sidecars = K8S_RESLIST_INIT, init = K8S_RESLIST_INIT;
    const json_t *ics = json_object_get(spec, "initContainers");
    for (size_t i = 0; i < k8s_jlen(ics); i++) {
        const json_t *c = json_array_get(ics, i);
        struct k8s_reslist own = K8S_RESLIST_INIT;
        container_list(c, which, nonzero, &own);
        if (!strcmp(k8s_jstr(c, "restartPolicy"), "Always")) {
            k8s_reslist_add_list(out, &own);
            k8s_reslist_add_list(&sidecars, &own);
            k8s_reslist_max_list(&init, &sidecars);
        } else {
            k8s_reslist_add_list(&own, &sidecars);
            k8s_reslist_max_list(&init, &own);
        }
        k8s_reslist_release(&own);
    }
    k8s_reslist_max_list(out, &init);
    k8s_reslist_release(&sidecars);
    k8s_reslist_release(&init);
}

void k8s_reslist_clear(struct k8s_reslist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    l->n = 0;
}

void k8s_pod_requests(const json_t *pod, const struct k8s_podres_opts *opts,
                      struct k8s_reslist *out)
{
    static const struct k8s_podres_opts none = {0};
    const json_t *spec = json_object_get(pod, "spec");
    opts = opts ? opts : &none;
    k8s_reslist_clear(out);
    aggregate(spec, "requests", opts->nonzero, out);
    const json_t *preq = k8s_jpath(spec, "resources.requests");
    if (!opts->skip_pod_level && has_pod_level(preq))
        apply_pod_level(out, preq);
    if (!opts->exclude_overhead)
        k8s_reslist_add_json(out, json_object_get(spec, "overhead"));
}

void k8s_pod_limits(const json_t *pod, const struct k8s_podres_opts *opts, struct k8s_reslist *out)
{
    static const struct k8s_podres_opts none = {0};
    const json_t *spec = json_object_get(pod, "spec");
    opts = opts ? opts : &none;
    k8s_reslist_clear(out);
    aggregate(spec, "limits", false, out);
    const json_t *plim = k8s_jpath(spec, "resources.limits");
    if (!opts->skip_pod_level &&
        (has_pod_level(k8s_jpath(spec, "resources.requests")) || has_pod_level(plim)))
        apply_pod_level(out, plim);
    if (opts->exclude_overhead)
        return;
    const char *name;
    json_t *v;
    json_object_foreach(json_object_get(spec, "overhead"), name, v)
    {
        struct k8s_res_entry *e = find(out, name);
        struct k8s_quantity q;
        if (e && !k8s_quantity_is_zero(&e->q) && k8s_quantity_from_json(v, &q) == 0)
            k8s_quantity_add(&e->q, &q);
    }
}

void k8s_pod_scheduling_requests(const json_t *pod, struct k8s_resource *requests,
                                 struct k8s_resource *nonzero)
{
    struct k8s_reslist l = K8S_RESLIST_INIT;
    if (requests) {
        k8s_pod_requests(pod, NULL, &l);
        k8s_reslist_summary(&l, requests);
    }
    if (nonzero) {
        struct k8s_podres_opts o = {.nonzero = true};
        k8s_pod_requests(pod, &o, &l);
        memset(nonzero, 0, sizeof(*nonzero));
        nonzero->milli_cpu = k8s_reslist_milli(&l, K8S_RES_CPU);
        nonzero->memory = k8s_reslist_value(&l, K8S_RES_MEMORY);
    }
    k8s_reslist_release(&l);
}

/* ---- QoS ----------------------------------------------------------------------------- */

/* Sums of the positive cpu/memory requests and limits, and whether every set of
 * requirements seen had positive cpu and memory limits. */
struct qos_sum {
    __int128 req[2], lim[2];
    bool has_req[2], has_lim[2];
    bool guaranteed;
};

static void qos_collect(const json_t *res, struct qos_sum *s)
{
    static const char *const names[2] = {K8S_RES_CPU, K8S_RES_MEMORY};
    const json_t *req = json_object_get(res, "requests"), *lim = json_object_get(res, "limits");
    int nlim = 0;
    for (int i = 0; i < 2; i++) {
        struct k8s_quantity q;
        const json_t *v = json_object_get(req, names[i]);
        if (v && k8s_quantity_from_json(v, &q) == 0 && q.nano > 0) {
            s->req[i] += q.nano;
            s->has_req[i] = true;
        }
        v = json_object_get(lim, names[i]);
        if (v && k8s_quantity_from_json(v, &q) == 0 && q.nano > 0) {
            s->lim[i] += q.nano;
            s->has_lim[i] = true;
            nlim++;
        }
    }
    if (nlim != 2)
        s->guaranteed = false;
}

const char *k8s_pod_compute_qos(const json_t *pod)
{
    return k8s_podspec_compute_qos(json_object_get(pod, "spec"));
}

const char *k8s_podspec_compute_qos(const json_t *spec)
{
    const json_t *pres = json_object_get(spec, "resources");
    struct qos_sum s = {.guaranteed = true};
    if (json_is_object(pres)) {
        qos_collect(pres, &s);
    } else {
        static const char *const lists[] = {"containers", "initContainers"};
        for (size_t l = 0; l < 2; l++) {
            const json_t *cs = json_object_get(spec, lists[l]);
            for (size_t i = 0; i < k8s_jlen(cs); i++)
                qos_collect(json_object_get(json_array_get(cs, i), "resources"), &s);
        }
    }
    int nreq = s.has_req[0] + s.has_req[1], nlim = s.has_lim[0] + s.has_lim[1];
    if (nreq == 0 && nlim == 0)
        return "BestEffort";
    for (int i = 0; i < 2 && s.guaranteed; i++)
        if (s.has_req[i] && (!s.has_lim[i] || s.lim[i] != s.req[i]))
            s.guaranteed = false;
    return s.guaranteed && nreq == nlim ? "Guaranteed" : "Burstable";
}

const char *k8s_pod_qos(const json_t *pod)
{
    const char *s = k8s_jpath_str(pod, "status.qosClass");
    return *s ? s : k8s_pod_compute_qos(pod);
}

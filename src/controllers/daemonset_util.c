/* SPDX-License-Identifier: Apache-2.0 */
/* The DaemonSet controller's pure decisions: see daemonset_util.h. */
#include "controllers/daemonset_util.h"
#include "controllers/cm.h"
#include "controllers/dputil.h"
#include "controllers/history.h"
#include "controllers/rsutil.h"
#include "k8s/affinity.h"
#include "k8s/pod.h"
#include "k8s/taints.h"
#include "k8s/util.h"
#include "lib/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* Label / annotation values, "" when missing. */
static const char *olabel(const json_t *o, const char *k)
{
    const char *v = k8s_obj_label(o, k);
    return v ? v : "";
}

static const char *oannot(const json_t *o, const char *k)
{
    const char *v = k8s_obj_annotation(o, k);
    return v ? v : "";
}

static json_t *child(json_t *o, const char *k)
{
    json_t *c = json_object_get(o, k);
    if (!json_is_object(c)) {
        c = json_object();
        json_object_set_new(o, k, c);
    }
    return c;
}

/* AddOrUpdateTolerationInPodSpec: appended unless an equal one is there. */
static void add_toleration(json_t *spec, const char *key, const char *effect)
{
    json_t *tols = json_object_get(spec, "tolerations");
    if (!json_is_array(tols)) {
        tols = json_array();
        json_object_set_new(spec, "tolerations", tols);
    }
    size_t i;
    json_t *t;
    json_array_foreach(tols, i, t)
    {
        if (!strcmp(k8s_jstr(t, "key"), key) && !strcmp(k8s_jstr(t, "operator"), "Exists") &&
            !strcmp(k8s_jstr(t, "effect"), effect) && !*k8s_jstr(t, "value") &&
            !json_object_get(t, "tolerationSeconds"))
            return;
    }
    json_array_append_new(
        tols, json_pack("{s:s,s:s,s:s}", "key", key, "operator", "Exists", "effect", effect));
}

void ds_add_tolerations(json_t *podspec)
{
    add_toleration(podspec, "node.kubernetes.io/not-ready", "NoExecute");
    add_toleration(podspec, "node.kubernetes.io/unreachable", "NoExecute");
    add_toleration(podspec, "node.kubernetes.io/disk-pressure", "NoSchedule");
    add_toleration(podspec, "node.kubernetes.io/memory-pressure", "NoSchedule");
    add_toleration(podspec, "node.kubernetes.io/pid-pressure", "NoSchedule");
    add_toleration(podspec, "node.kubernetes.io/unschedulable", "NoSchedule");
    if (json_is_true(json_object_get(podspec, "hostNetwork")))
        add_toleration(podspec, "node.kubernetes.io/network-unavailable", "NoSchedule");
}

void ds_set_node_affinity(json_t *podspec, const char *node)
{
    json_t *na = child(child(podspec, "affinity"), "nodeAffinity");
    json_t *req = child(na, "requiredDuringSchedulingIgnoredDuringExecution");
    json_t *field =
        json_pack("[{s:s,s:s,s:[s]}]", "key", "metadata.name", "operator", "In", "values", node);
    json_t *terms = json_object_get(req, "nodeSelectorTerms");
    if (!json_is_array(terms) || !json_array_size(terms)) {
        json_object_set_new(req, "nodeSelectorTerms", json_pack("[{s:o}]", "matchFields", field));
        return;
    }
    size_t i;
    json_t *t;
    json_array_foreach(terms, i, t)
    {
        if (json_is_object(t))
            json_object_set_new(t, "matchFields", json_deep_copy(field));
    }
    json_decref(field);
}

const char *ds_target_node(const json_t *pod)
{
    const char *n = k8s_jpath_str(pod, "spec.nodeName");
    if (*n)
        return n;
    json_t *terms =
        k8s_jpath(pod, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
                       "nodeSelectorTerms");
    size_t i, j;
    json_t *t, *f;
    json_array_foreach(terms, i, t)
    {
        json_array_foreach(json_object_get(t, "matchFields"), j, f)
        {
            json_t *vals = json_object_get(f, "values");
            if (!strcmp(k8s_jstr(f, "key"), "metadata.name") &&
                !strcmp(k8s_jstr(f, "operator"), "In") && json_array_size(vals) == 1 &&
                json_is_string(json_array_get(vals, 0)))
                return json_string_value(json_array_get(vals, 0));
        }
    }
    return NULL;
}

bool ds_template_generation(const json_t *ds, int64_t *gen)
{
    const char *s = oannot(ds, DS_TEMPLATE_GEN_ANNOTATION);
    return *s && k8s_parse_int64(s, gen);
}

json_t *ds_pod_template(const json_t *ds, const char *hash)
{
    json_t *t = k8s_jpath(ds, "spec.template");
    json_t *tc = json_is_object(t) ? json_deep_copy(t) : json_object();
    ds_add_tolerations(child(tc, "spec"));
    json_t *labels = child(child(tc, "metadata"), "labels");
    int64_t gen;
    if (ds_template_generation(ds, &gen)) {
        char g[24];
        snprintf(g, sizeof(g), "%lld", (long long)gen);
        json_object_set_new(labels, DS_TEMPLATE_GEN_LABEL, json_string(g));
    }
    if (hash && *hash)
        json_object_set_new(labels, HIST_POD_REV_LABEL, json_string(hash));
    return tc;
}

static bool no_execute(const json_t *taint, void *ctx)
{
    (void)ctx;
    return !strcmp(k8s_jstr(taint, "effect"), K8S_TAINT_NO_EXECUTE);
}

void ds_should_run(const json_t *node, const json_t *ds, bool *should_run, bool *should_continue)
{
    *should_run = *should_continue = false;
    const char *node_name = k8s_obj_name(node);
    const char *want = k8s_jpath_str(ds, "spec.template.spec.nodeName");
    if (*want && strcmp(want, node_name))
        return;
    /* NewPod: the template with the added tolerations, bound to the node */
    json_t *t = k8s_jpath(ds, "spec.template");
    json_t *pod = json_is_object(t) ? json_deep_copy(t) : json_object();
    json_t *spec = child(pod, "spec");
    ds_add_tolerations(spec);
    json_object_set_new(spec, "nodeName", json_string(node_name));
    bool invalid = false;
    if (!k8s_pod_matches_node(pod, node, &invalid)) {
        json_decref(pod);
        return;
    }
    json_t *taints = k8s_jpath(node, "spec.taints");
    json_t *tols = json_object_get(spec, "tolerations");
    if (k8s_find_untolerated_taint(taints, tols, k8s_taint_filter_no_schedule_or_execute, NULL,
                                   false)) {
        *should_continue = !k8s_find_untolerated_taint(taints, tols, no_execute, NULL, false);
        json_decref(pod);
        return;
    }
    *should_run = *should_continue = true;
    json_decref(pod);
}

bool ds_pod_updated(const json_t *pod, const char *hash, const json_t *ds)
{
    int64_t gen;
    if (ds_template_generation(ds, &gen)) {
        char g[24];
        snprintf(g, sizeof(g), "%lld", (long long)gen);
        if (!strcmp(olabel(pod, DS_TEMPLATE_GEN_LABEL), g))
            return true;
    }
    return hash && *hash && !strcmp(olabel(pod, HIST_POD_REV_LABEL), hash);
}

static int pod_cmp(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    bool sa = *k8s_jpath_str(a, "spec.nodeName"), sb = *k8s_jpath_str(b, "spec.nodeName");
    if (sa != sb)
        return sa ? -1 : 1;
    int64_t ta = cm_jtime_ns(a, "metadata.creationTimestamp");
    int64_t tb = cm_jtime_ns(b, "metadata.creationTimestamp");
    if (ta != tb)
        return ta < tb ? -1 : 1;
    return strcmp(k8s_obj_name(a), k8s_obj_name(b));
}

void ds_sort_pods(json_t *pods)
{
    size_t n = json_array_size(pods);
    if (n < 2)
        return;
    json_t **v = ck_calloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(pods, i));
    qsort(v, n, sizeof(*v), pod_cmp);
    for (size_t i = 0; i < n; i++)
        json_array_set_new(pods, i, v[i]);
    free(v);
}

static bool is_rolling(const json_t *ds)
{
    const char *t = k8s_jpath_str(ds, "spec.updateStrategy.type");
    return !*t || !strcmp(t, "RollingUpdate");
}

int64_t ds_min_ready(const json_t *ds)
{
    int64_t v = cm_jint(ds, "spec.minReadySeconds", 0);
    return v < 0 ? 0 : v > INT32_MAX ? INT32_MAX : v;
}

bool ds_allows_surge(const json_t *ds)
{
    if (!is_rolling(ds))
        return false;
    json_t *s = k8s_jpath(ds, "spec.updateStrategy.rollingUpdate.maxSurge");
    int64_t v = 0;
    /* SurgeCount with a large number of nodes: any non-zero value allows surge */
    return s && dp_scaled_value(s, 1000000, true, &v) == 0 && v > 0;
}

void ds_decision_init(struct ds_decision *d)
{
    d->create_nodes = json_array();
    d->delete_pods = json_array();
}

void ds_decision_free(struct ds_decision *d)
{
    json_decref(d->create_nodes);
    json_decref(d->delete_pods);
    d->create_nodes = d->delete_pods = NULL;
}

static void should_be_on_node(const json_t *ds, const json_t *node, const json_t *node_pods,
                              const char *hash, int64_t now_ns, struct ds_decision *d)
{
    bool run, cont;
    ds_should_run(node, ds, &run, &cont);
    json_t *pods = json_object_get(node_pods, k8s_obj_name(node));
    bool exists = pods != NULL;
    if (run && !exists) {
        json_array_append_new(d->create_nodes, json_string(k8s_obj_name(node)));
        return;
    }
    size_t i;
    json_t *p;
    if (cont) {
        json_t *running = json_array();
        json_array_foreach(pods, i, p)
        {
            if (k8s_obj_deleting(p))
                continue;
            const char *ph = k8s_pod_phase(p);
            if (!strcmp(ph, "Failed") || !strcmp(ph, "Succeeded")) {
                json_array_append(d->delete_pods, p);
                continue;
            }
            json_array_append(running, p);
        }
        if (json_array_size(running) > 1) {
            ds_sort_pods(running);
            if (!ds_allows_surge(ds)) {
                for (i = 1; i < json_array_size(running); i++)
                    json_array_append(d->delete_pods, json_array_get(running, i));
            } else {
                const json_t *oldest_new = NULL, *oldest_old = NULL;
                json_array_foreach(running, i, p)
                {
                    bool upd = !strcmp(olabel(p, HIST_POD_REV_LABEL), hash);
                    if (upd && !oldest_new)
                        oldest_new = p;
                    else if (!upd && !oldest_old)
                        oldest_old = p;
                    else
                        json_array_append(d->delete_pods, p);
                }
                int64_t mrs = ds_min_ready(ds);
                if (oldest_new && oldest_old &&
                    (!k8s_pod_is_ready(oldest_old) || cm_pod_available(oldest_new, mrs, now_ns)))
                    json_array_append(d->delete_pods, (json_t *)oldest_old);
            }
        }
        json_decref(running);
        return;
    }
    if (exists) {
        json_array_foreach(pods, i, p)
        {
            if (!k8s_obj_deleting(p))
                json_array_append(d->delete_pods, p);
        }
    }
}

static bool node_listed(const json_t *nodes, const char *name)
{
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        if (!strcmp(k8s_obj_name(n), name))
            return true;
    }
    return false;
}

void ds_manage(const json_t *ds, const json_t *nodes, const json_t *node_pods, const char *hash,
               int64_t now_ns, struct ds_decision *d)
{
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        should_be_on_node(ds, n, node_pods, hash, now_ns, d);
    }
    const char *name;
    json_t *pods;
    json_object_foreach((json_t *)node_pods, name, pods)
    {
        if (node_listed(nodes, name))
            continue;
        json_t *p;
        json_array_foreach(pods, i, p)
        {
            if (!*k8s_jpath_str(p, "spec.nodeName") && !k8s_obj_deleting(p))
                json_array_append(d->delete_pods, p);
        }
    }
}

int ds_desired_counts(const json_t *ds, const json_t *nodes, json_t *node_pods, int64_t *desired,
                      int64_t *max_surge, int64_t *max_unavailable)
{
    *desired = 0;
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        bool run, cont;
        ds_should_run(n, ds, &run, &cont);
        if (!run)
            continue;
        (*desired)++;
        if (!json_object_get(node_pods, k8s_obj_name(n)))
            json_object_set_new(node_pods, k8s_obj_name(n), json_array());
    }
    *max_surge = *max_unavailable = 0;
    if (!is_rolling(ds))
        return 0;
    json_t *ru = k8s_jpath(ds, "spec.updateStrategy.rollingUpdate");
    json_t *mu = json_object_get(ru, "maxUnavailable"), *ms = json_object_get(ru, "maxSurge");
    if (mu && !json_is_null(mu) && dp_scaled_value(mu, *desired, true, max_unavailable) < 0)
        return -1;
    if (ms && !json_is_null(ms) && dp_scaled_value(ms, *desired, true, max_surge) < 0)
        return -1;
    if (*max_unavailable == 0 && *max_surge == 0)
        *max_unavailable = 1;
    return 0;
}

/* findUpdatedPodsOnNode: false when a node has more than one new or more than one old pod. */
static bool find_updated(const json_t *ds, const json_t *pods, const char *hash,
                         const json_t **new_pod, const json_t **old_pod)
{
    *new_pod = *old_pod = NULL;
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        if (k8s_obj_deleting(p))
            continue;
        const json_t **slot = ds_pod_updated(p, hash, ds) ? new_pod : old_pod;
        if (*slot) {
            *new_pod = *old_pod = NULL;
            return false;
        }
        *slot = p;
    }
    return true;
}

static const json_t *find_node(const json_t *nodes, const char *name)
{
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        if (!strcmp(k8s_obj_name(n), name))
            return n;
    }
    return NULL;
}

int ds_rolling_update(const json_t *ds, const json_t *nodes, const json_t *node_pods,
                      const char *hash, int64_t now_ns, struct ds_decision *d)
{
    json_t *np = json_copy((json_t *)node_pods); /* shallow: the pods stay node_pods' */
    int64_t desired, max_surge, max_unavail;
    if (ds_desired_counts(ds, nodes, np, &desired, &max_surge, &max_unavail) < 0) {
        json_decref(np);
        return -1;
    }
    int64_t mrs = ds_min_ready(ds);
    /* a stable order over the nodes (upstream walks a Go map) */
    json_t *names = json_array();
    const char *name;
    json_t *pods;
    json_object_foreach(np, name, pods)
    {
        json_array_append_new(names, json_string(name));
    }
    size_t nn = json_array_size(names);
    const char **order = ck_calloc(nn + 1, sizeof(char *));
    for (size_t i = 0; i < nn; i++)
        order[i] = json_string_value(json_array_get(names, i));
    for (size_t i = 1; i < nn; i++)
        for (size_t j = i; j > 0 && strcmp(order[j - 1], order[j]) > 0; j--) {
            const char *t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    json_t *candidates = json_array(), *allowed = json_array();
    if (max_surge == 0) {
        int64_t unavailable = 0;
        for (size_t i = 0; i < nn; i++) {
            const json_t *newp, *oldp;
            if (!find_updated(ds, json_object_get(np, order[i]), hash, &newp, &oldp)) {
                unavailable++;
                continue;
            }
            if ((!oldp && !newp) || (oldp && newp)) {
                unavailable++;
            } else if (newp) {
                if (!cm_pod_available(newp, mrs, now_ns))
                    unavailable++;
            } else if (!cm_pod_available(oldp, mrs, now_ns)) {
                json_array_append(allowed, (json_t *)oldp);
                unavailable++;
            } else if (unavailable < max_unavail) {
                json_array_append(candidates, (json_t *)oldp);
            }
        }
        int64_t remaining = max_unavail - unavailable;
        if (remaining < 0)
            remaining = 0;
        if (remaining > (int64_t)json_array_size(candidates))
            remaining = (int64_t)json_array_size(candidates);
        json_array_extend(d->delete_pods, allowed);
        for (int64_t i = 0; i < remaining; i++)
            json_array_append(d->delete_pods, json_array_get(candidates, (size_t)i));
    } else {
        int64_t surge = 0, available = 0;
        json_t *should_not_run = json_array();
        for (size_t i = 0; i < nn; i++) {
            const json_t *newp, *oldp;
            if (!find_updated(ds, json_object_get(np, order[i]), hash, &newp, &oldp)) {
                surge++;
                continue;
            }
            if (oldp ? cm_pod_available(oldp, mrs, now_ns)
                     : newp && cm_pod_available(newp, mrs, now_ns))
                available++;
            if (!oldp)
                continue;
            if (!newp) {
                const json_t *node = find_node(nodes, order[i]);
                bool run = false, cont;
                if (node)
                    ds_should_run(node, ds, &run, &cont);
                if (!cm_pod_available(oldp, mrs, now_ns)) {
                    if (!run)
                        json_array_append(d->delete_pods, (json_t *)oldp);
                    else
                        json_array_append_new(allowed, json_string(order[i]));
                } else if (!run) {
                    json_array_append(should_not_run, (json_t *)oldp);
                } else if (surge < max_surge) {
                    json_array_append_new(candidates, json_string(order[i]));
                }
                continue;
            }
            if (!cm_pod_available(newp, mrs, now_ns)) {
                surge++;
                continue;
            }
            json_array_append(d->delete_pods, (json_t *)oldp);
        }
        /* pods on nodes that should no longer run one go only while the rest keeps every
         * desired node available */
        int64_t deletable = available - desired;
        if (deletable > (int64_t)json_array_size(should_not_run))
            deletable = (int64_t)json_array_size(should_not_run);
        for (int64_t i = 0; i < deletable; i++)
            json_array_append(d->delete_pods, json_array_get(should_not_run, (size_t)i));
        json_decref(should_not_run);
        int64_t remaining = max_surge - surge;
        if (remaining < 0)
            remaining = 0;
        if (remaining > (int64_t)json_array_size(candidates))
            remaining = (int64_t)json_array_size(candidates);
        json_array_extend(d->create_nodes, allowed);
        for (int64_t i = 0; i < remaining; i++)
            json_array_append(d->create_nodes, json_array_get(candidates, (size_t)i));
    }
    json_decref(candidates);
    json_decref(allowed);
    free(order);
    json_decref(names);
    json_decref(np);
    return 0;
}

void ds_count(const json_t *ds, const json_t *nodes, const json_t *node_pods, const char *hash,
              int64_t now_ns, struct ds_counts *c)
{
    memset(c, 0, sizeof(*c));
    int64_t mrs = ds_min_ready(ds);
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        bool run, cont;
        ds_should_run(n, ds, &run, &cont);
        json_t *pods = json_object_get(node_pods, k8s_obj_name(n));
        bool scheduled = json_array_size(pods) > 0;
        if (!run) {
            if (scheduled)
                c->misscheduled++;
            continue;
        }
        c->desired++;
        if (!scheduled)
            continue;
        c->current++;
        json_t *sorted = json_copy(pods);
        ds_sort_pods(sorted);
        const json_t *p = json_array_get(sorted, 0);
        if (k8s_pod_is_ready(p)) {
            c->ready++;
            if (cm_pod_available(p, mrs, now_ns))
                c->available++;
        }
        if (ds_pod_updated(p, hash, ds))
            c->updated++;
        json_decref(sorted);
    }
    c->unavailable = c->desired - c->available;
}

json_t *ds_history_to_delete(const json_t *ds, const json_t *old, const json_t *node_pods)
{
    json_t *out = json_array();
    int64_t to_kill = (int64_t)json_array_size(old) - cm_jint(ds, "spec.revisionHistoryLimit", 10);
    if (to_kill <= 0)
        return out;
    json_t *sorted = json_copy((json_t *)old);
    hist_sort(sorted);
    size_t i, j;
    json_t *r;
    json_array_foreach(sorted, i, r)
    {
        if (to_kill <= 0)
            break;
        const char *h = olabel(r, HIST_POD_REV_LABEL);
        bool live = false;
        const char *name;
        json_t *pods, *p;
        json_object_foreach((json_t *)node_pods, name, pods)
        {
            json_array_foreach(pods, j, p)
            {
                if (*h && !strcmp(olabel(p, HIST_POD_REV_LABEL), h))
                    live = true;
            }
        }
        if (live)
            continue;
        json_array_append(out, r);
        to_kill--;
    }
    json_decref(sorted);
    return out;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the StatefulSet and DaemonSet controllers' decisions over arbitrary objects
 * (fields of any JSON type, odd names and ordinals). The input is a JSON document
 * {"set":{...},"pods":[...],"ds":{...},"nodes":[...],"revs":[...]}; every pure function of
 * statefulset_util.c, daemonset_util.c and history.c runs over it. Checks: no crash, plans only
 * name ordinals of the set's range (creations) or of the given pods (deletions, repairs), and
 * counts stay within the number of pods / nodes. */
#include "controllers/daemonset_util.h"
#include "controllers/history.h"
#include "controllers/statefulset_util.h"

#include <jansson.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_sts(json_t *set, json_t *pods)
{
    struct sts_plan p;
    sts_plan(set, pods, "a", "b", 1700000000LL * 1000000000LL, &p);
    for (size_t i = 0; i < p.n; i++) {
        if (p.a[i].op == STS_CREATE) {
            if (p.a[i].pod || p.a[i].ordinal < 0)
                abort();
            json_t *pod = sts_new_pod(set, p.a[i].ordinal, "b", NULL);
            json_t *copy = json_deep_copy(pod);
            sts_fix_identity(set, copy);
            json_decref(copy);
            json_decref(pod);
        } else {
            bool found = false;
            for (size_t j = 0; j < json_array_size(pods); j++)
                found |= json_array_get(pods, j) == p.a[i].pod;
            if (!found)
                abort();
        }
    }
    sts_plan_free(&p);
    struct sts_counts k;
    sts_count(pods, 5, "a", "b", 0, &k);
    if (k.replicas > (int64_t)json_array_size(pods) || k.ready > k.replicas ||
        k.available > k.ready)
        abort();
    json_t *claims = sts_claims(set, 1);
    size_t i;
    json_t *c;
    json_array_foreach(claims, i, c)
    {
        for (size_t j = 0; j < json_array_size(pods); j++)
            json_decref(sts_claim_refs(set, json_array_get(pods, j), c));
    }
    json_decref(claims);
    json_t *st = json_object_get(set, "status");
    if (json_is_object(st)) {
        json_t *s2 = json_deep_copy(st);
        sts_complete_rolling_update(set, s2);
        json_decref(s2);
    }
}

static void check_ds(json_t *ds, json_t *nodes, json_t *pods, json_t *revs)
{
    json_t *np = json_object();
    for (size_t i = 0; i < json_array_size(pods); i++) {
        json_t *p = json_array_get(pods, i);
        const char *n = ds_target_node(p);
        if (!n)
            continue;
        json_t *arr = json_object_get(np, n);
        if (!arr) {
            arr = json_array();
            json_object_set_new(np, n, arr);
        }
        json_array_append(arr, p);
    }
    struct ds_decision d;
    ds_decision_init(&d);
    ds_manage(ds, nodes, np, "h", 0, &d);
    ds_decision_free(&d);
    ds_decision_init(&d);
    ds_rolling_update(ds, nodes, np, "h", 0, &d);
    if (json_array_size(d.create_nodes) > json_array_size(nodes) + json_object_size(np))
        abort();
    ds_decision_free(&d);
    struct ds_counts k;
    ds_count(ds, nodes, np, "h", 0, &k);
    if (k.desired > (int64_t)json_array_size(nodes) || k.current > k.desired ||
        k.ready > k.current || k.available > k.ready)
        abort();
    json_t *t = ds_pod_template(ds, "h");
    json_t *spec = json_object_get(t, "spec");
    if (json_is_object(spec))
        ds_set_node_affinity(spec, "n");
    json_decref(t);
    json_decref(ds_history_to_delete(ds, revs, np));
    json_decref(np);
}

static void check_history(json_t *set, json_t *revs)
{
    json_t *patch = hist_template_patch(set);
    char h[16];
    hist_hash(patch, 3, h);
    json_t *r = hist_new(set, "apps/v1", "StatefulSet", NULL, patch, 1, -1);
    json_t *sorted = json_copy(revs);
    hist_sort(sorted);
    (void)hist_next_revision(sorted);
    const char *live[] = {"a", NULL};
    json_decref(hist_to_truncate(sorted, live, 1));
    for (size_t i = 0; i < json_array_size(sorted); i++)
        (void)hist_equal(json_array_get(sorted, i), r);
    json_t *applied = sts_apply_revision(set, r);
    json_decref(applied);
    json_decref(sorted);
    json_decref(r);
    json_decref(patch);
}

static json_t *arr(json_t *doc, const char *k)
{
    json_t *v = json_object_get(doc, k);
    return json_is_array(v) ? json_incref(v) : json_array();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    json_t *doc = json_loadb((const char *)data, size, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return 0;
    }
    json_t *set = json_object_get(doc, "set"), *ds = json_object_get(doc, "ds");
    json_t *pods = arr(doc, "pods"), *nodes = arr(doc, "nodes"), *revs = arr(doc, "revs");
    /* a set asking for more than a few thousand pods only makes the run slow */
    json_t *spec = json_object_get(set, "spec");
    json_t *rep = json_object_get(spec, "replicas");
    if (json_is_object(set) && (!json_is_integer(rep) || json_integer_value(rep) < 4096)) {
        check_sts(set, pods);
        check_history(set, revs);
    }
    if (json_is_object(ds))
        check_ds(ds, nodes, pods, revs);
    json_decref(pods);
    json_decref(nodes);
    json_decref(revs);
    json_decref(doc);
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Pure ReplicaSet decisions: see rsutil.h. */
#include "controllers/rsutil.h"
#include "controllers/cm.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

int cm_slow_start_batches(int count, int initial, int *out, int max)
{
    int n = 0, remaining = count;
    int batch = remaining < initial ? remaining : initial;
    while (batch > 0) {
        if (n < max)
            out[n] = batch;
        n++;
        remaining -= batch;
        batch = 2 * batch < remaining ? 2 * batch : remaining;
    }
    return n;
}

bool cm_pod_active(const json_t *pod)
{
    const char *ph = k8s_pod_phase(pod);
    return strcmp(ph, "Succeeded") && strcmp(ph, "Failed") && !k8s_obj_deleting(pod);
}

static int64_t ready_since_ns(const json_t *pod)
{
    json_t *c = k8s_condition_get(json_object_get(pod, "status"), "Ready", NULL);
    return c ? cm_jtime_ns(c, "lastTransitionTime") : 0;
}

bool cm_pod_available(const json_t *pod, int64_t min_ready_s, int64_t now_ns)
{
    if (!k8s_pod_is_ready(pod))
        return false;
    if (min_ready_s <= 0)
        return true;
    int64_t t = ready_since_ns(pod);
    return t != 0 && t + min_ready_s * 1000000000LL < now_ns;
}

static int phase_ordinal(const char *ph)
{
    if (!strcmp(ph, "Unknown"))
        return 1;
    if (!strcmp(ph, "Running"))
        return 2;
    return 0; /* Pending (and anything else) */
}

static int64_t max_restarts(const json_t *pod)
{
    int64_t m = 0;
    json_t *cs = k8s_jpath(pod, "status.containerStatuses");
    size_t i;
    json_t *c;
    json_array_foreach(cs, i, c)
    {
        int64_t r = cm_jint(c, "restartCount", 0);
        if (r > m)
            m = r;
    }
    return m;
}

/* afterOrZero: t1 is zero, or both are set and t1 is after t2. */
static bool after_or_zero(int64_t t1, int64_t t2)
{
    if (t1 == 0 || t2 == 0)
        return t1 == 0;
    return t1 > t2;
}

static int64_t log_rank(int64_t t, int64_t now)
{
    int64_t d = now - t;
    return d > 0 ? (int64_t)log2((double)d) : -1;
}

/* Compares two timestamps as upstream does with LogarithmicScaleDown: returns 1 when a goes
 * first, 0 when b does, -1 when they tie. */
static int cmp_times(const json_t *a, int64_t ta, const json_t *b, int64_t tb, int64_t now)
{
    if (ta == tb)
        return -1;
    if (now == 0 || ta == 0 || tb == 0)
        return after_or_zero(ta, tb);
    int64_t diff = log_rank(ta, now) - log_rank(tb, now);
    if (diff == 0)
        return strcmp(k8s_obj_uid(a), k8s_obj_uid(b)) < 0;
    return diff < 0;
}

bool cm_pod_delete_before(const json_t *a, int rank_a, const json_t *b, int rank_b, int64_t now_ns)
{
    const char *na = k8s_pod_node_name(a), *nb = k8s_pod_node_name(b);
    /* 1. unassigned < assigned */
    if (strcmp(na, nb) && (!*na || !*nb))
        return !*na;
    /* 2. Pending < Unknown < Running */
    int pa = phase_ordinal(k8s_pod_phase(a)), pb = phase_ordinal(k8s_pod_phase(b));
    if (pa != pb)
        return pa < pb;
    /* 3. not ready < ready */
    bool ra = k8s_pod_is_ready(a), rb = k8s_pod_is_ready(b);
    if (ra != rb)
        return !ra;
    /* 4. more related pods on the same node first */
    if (rank_a != rank_b)
        return rank_a > rank_b;
    /* 5. ready for a shorter time first (log2 buckets, then uid) */
    if (ra && rb) {
        int r = cmp_times(a, ready_since_ns(a), b, ready_since_ns(b), now_ns);
        if (r >= 0)
            return r;
    }
    /* 6. more restarts first */
    int64_t xa = max_restarts(a), xb = max_restarts(b);
    if (xa != xb)
        return xa > xb;
    /* 7. newer first */
    int r = cmp_times(a, cm_jtime_ns(a, "metadata.creationTimestamp"), b,
                      cm_jtime_ns(b, "metadata.creationTimestamp"), now_ns);
    return r > 0;
}

struct ranked {
    json_t *pod;
    int rank;
};

/* Insertion-free merge sort keeps the ranking stable like sort.Sort is not required to be;
 * upstream's order for equal pods is unspecified, ours is the input order. */
static void sort_ranked(struct ranked *v, size_t n, int64_t now)
{
    for (size_t i = 1; i < n; i++) {
        struct ranked x = v[i];
        size_t j = i;
        while (j > 0 && cm_pod_delete_before(x.pod, x.rank, v[j - 1].pod, v[j - 1].rank, now)) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

json_t *cm_pods_to_delete(const json_t *filtered, const json_t *related, int diff, int64_t now_ns)
{
    size_t n = json_array_size(filtered);
    json_t *out = json_array();
    if (diff <= 0 || n == 0)
        return out;
    struct ranked *v = ck_calloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        v[i].pod = json_array_get(filtered, i);
        const char *node = k8s_pod_node_name(v[i].pod);
        size_t j;
        json_t *p;
        json_array_foreach(related, j, p)
        {
            if (cm_pod_active(p) && !strcmp(k8s_pod_node_name(p), node))
                v[i].rank++;
        }
    }
    if ((size_t)diff < n)
        sort_ranked(v, n, now_ns);
    for (size_t i = 0; i < n && i < (size_t)diff; i++)
        json_array_append(out, v[i].pod);
    free(v);
    return out;
}

void cm_rs_counts(const json_t *rs, const json_t *filtered, int64_t now_ns, struct cm_rs_counts *c)
{
    memset(c, 0, sizeof(*c));
    json_t *tl = k8s_jpath(rs, "spec.template.metadata.labels");
    int64_t min_ready = cm_jint(rs, "spec.minReadySeconds", 0);
    size_t i;
    json_t *pod;
    json_array_foreach(filtered, i, pod)
    {
        c->replicas++;
        json_t *pl = k8s_jpath(pod, "metadata.labels");
        bool all = true;
        const char *k;
        json_t *v;
        json_object_foreach(tl, k, v)
        {
            const char *pv = json_string_value(json_object_get(pl, k));
            if (!pv || !json_is_string(v) || strcmp(pv, json_string_value(v)))
                all = false;
        }
        if (all)
            c->fully_labeled++;
        if (k8s_pod_is_ready(pod))
            c->ready++;
        if (cm_pod_available(pod, min_ready, now_ns))
            c->available++;
    }
}

json_t *cm_pod_from_template(const json_t *template, const char *prefix, json_t *ctrl_ref)
{
    json_t *tm = json_object_get(template, "metadata");
    json_t *md = json_object();
    const char *copy[] = {"labels", "annotations", "finalizers"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(tm, copy[i]);
        if (v && !json_is_null(v))
            json_object_set_new(md, copy[i], json_deep_copy(v));
    }
    json_object_set_new(md, "generateName", json_string(prefix));
    json_object_set_new(md, "ownerReferences", json_pack("[O]", ctrl_ref));
    json_t *spec = json_object_get(template, "spec");
    return json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "v1", "kind", "Pod", "metadata", md, "spec",
                     spec ? json_deep_copy(spec) : json_object());
}

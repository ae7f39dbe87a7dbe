/* SPDX-License-Identifier: Apache-2.0 */
/* The StatefulSet controller's pure decisions: see statefulset_util.h. */
#include "controllers/statefulset_util.h"
#include "controllers/cm.h"
#include "controllers/history.h"
#include "controllers/rsutil.h"
#include "k8s/pod.h"
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

bool sts_parse_name(const char *pod_name, char *parent, size_t n, int64_t *ordinal)
{
    const char *dash = strrchr(pod_name, '-');
    if (!dash || dash == pod_name || !dash[1])
        return false;
    int64_t v = 0;
    for (const char *p = dash + 1; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT32_MAX - 9) / 10)
            return false;
        v = v * 10 + (*p - '0');
    }
    if ((size_t)(dash - pod_name) >= n)
        return false;
    snprintf(parent, n, "%.*s", (int)(dash - pod_name), pod_name);
    *ordinal = v;
    return true;
}

int64_t sts_ordinal(const json_t *pod)
{
    char parent[256];
    int64_t o;
    return sts_parse_name(k8s_obj_name(pod), parent, sizeof(parent), &o) ? o : -1;
}

bool sts_is_member(const json_t *set, const json_t *pod)
{
    char parent[256];
    int64_t o;
    return sts_parse_name(k8s_obj_name(pod), parent, sizeof(parent), &o) &&
           !strcmp(parent, k8s_obj_name(set));
}

int64_t sts_start(const json_t *set)
{
    return cm_jint(set, "spec.ordinals.start", 0);
}

int64_t sts_min_ready(const json_t *set)
{
    int64_t v = cm_jint(set, "spec.minReadySeconds", 0);
    return v < 0 ? 0 : v > INT32_MAX ? INT32_MAX : v;
}

int64_t sts_replicas(const json_t *set)
{
    return cm_jint(set, "spec.replicas", 1);
}

bool sts_in_range(const json_t *set, const json_t *pod)
{
    int64_t o = sts_ordinal(pod), s = sts_start(set);
    return o >= s && o < s + sts_replicas(set);
}

char *sts_pod_name(const json_t *set, int64_t ordinal)
{
    return ck_asprintf("%s-%lld", k8s_obj_name(set), (long long)ordinal);
}

char *sts_claim_name(const json_t *set, const char *claim, int64_t ordinal)
{
    return ck_asprintf("%s-%s-%lld", claim, k8s_obj_name(set), (long long)ordinal);
}

bool sts_running_ready(const json_t *pod)
{
    return pod && !strcmp(k8s_pod_phase(pod), "Running") && k8s_pod_is_ready(pod);
}

bool sts_available(const json_t *pod, int64_t min_ready_s, int64_t now_ns)
{
    return sts_running_ready(pod) && cm_pod_available(pod, min_ready_s, now_ns);
}

bool sts_terminating(const json_t *pod)
{
    return pod && k8s_obj_deleting(pod);
}

bool sts_healthy(const json_t *pod)
{
    return sts_running_ready(pod) && !sts_terminating(pod);
}

bool sts_unavailable(const json_t *pod, int64_t min_ready_s, int64_t now_ns)
{
    return !sts_healthy(pod) || !sts_available(pod, min_ready_s, now_ns);
}

bool sts_failed_or_succeeded(const json_t *pod)
{
    const char *ph = k8s_pod_phase(pod);
    return !strcmp(ph, "Failed") || !strcmp(ph, "Succeeded");
}

const char *sts_pod_revision(const json_t *pod)
{
    return pod ? olabel(pod, HIST_POD_REV_LABEL) : "";
}

bool sts_identity_matches(const json_t *set, const json_t *pod)
{
    char parent[256];
    int64_t o;
    if (!sts_parse_name(k8s_obj_name(pod), parent, sizeof(parent), &o) ||
        strcmp(parent, k8s_obj_name(set)) || strcmp(k8s_obj_namespace(pod), k8s_obj_namespace(set)))
        return false;
    return !strcmp(olabel(pod, STS_POD_NAME_LABEL), k8s_obj_name(pod));
}

static json_t *find_volume(const json_t *pod, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(k8s_jpath(pod, "spec.volumes"), i, v)
    {
        if (!strcmp(k8s_jstr(v, "name"), name))
            return v;
    }
    return NULL;
}

bool sts_storage_matches(const json_t *set, const json_t *pod)
{
    int64_t o = sts_ordinal(pod);
    if (o < 0)
        return false;
    size_t i;
    json_t *t;
    json_array_foreach(k8s_jpath(set, "spec.volumeClaimTemplates"), i, t)
    {
        const char *cn = k8s_jpath_str(t, "metadata.name");
        json_t *v = find_volume(pod, cn);
        char *want = sts_claim_name(set, cn, o);
        bool ok = v && !strcmp(k8s_jpath_str(v, "persistentVolumeClaim.claimName"), want);
        free(want);
        if (!ok)
            return false;
    }
    return true;
}

json_t *sts_apply_revision(const json_t *set, const json_t *revision)
{
    json_t *out = json_deep_copy(set);
    json_t *t = k8s_jpath(revision, "data.spec.template");
    if (json_is_object(t)) {
        json_t *tc = json_deep_copy(t);
        json_object_del(tc, "$patch");
        json_t *spec = json_object_get(out, "spec");
        if (json_is_object(spec))
            json_object_set_new(spec, "template", tc);
        else
            json_decref(tc);
    }
    return out;
}

static json_t *obj_child(json_t *o, const char *k)
{
    json_t *c = json_object_get(o, k);
    if (!json_is_object(c)) {
        c = json_object();
        json_object_set_new(o, k, c);
    }
    return c;
}

/* updateStorage: the claim volumes first, then the pod's other volumes. */
static void update_storage(const json_t *set, json_t *pod, int64_t o)
{
    json_t *spec = obj_child(pod, "spec");
    json_t *cur = json_object_get(spec, "volumes");
    json_t *vols = json_array();
    size_t i;
    json_t *t;
    json_t *tmpls = k8s_jpath(set, "spec.volumeClaimTemplates");
    json_array_foreach(tmpls, i, t)
    {
        const char *cn = k8s_jpath_str(t, "metadata.name");
        char *claim = sts_claim_name(set, cn, o);
        json_array_append_new(vols, json_pack("{s:s,s:{s:s}}", "name", cn, "persistentVolumeClaim",
                                              "claimName", claim));
        free(claim);
    }
    json_t *v;
    json_array_foreach(cur, i, v)
    {
        bool is_claim = false;
        size_t j;
        json_array_foreach(tmpls, j, t)
        {
            if (!strcmp(k8s_jpath_str(t, "metadata.name"), k8s_jstr(v, "name")))
                is_claim = true;
        }
        if (!is_claim)
            json_array_append(vols, v);
    }
    if (json_array_size(vols))
        json_object_set_new(spec, "volumes", vols);
    else
        json_decref(vols);
}

static void update_identity(const json_t *set, json_t *pod, int64_t o)
{
    json_t *md = obj_child(pod, "metadata");
    char *name = sts_pod_name(set, o);
    json_object_set_new(md, "name", json_string(name));
    json_object_set_new(md, "namespace", json_string(k8s_obj_namespace(set)));
    json_t *labels = obj_child(md, "labels");
    json_object_set_new(labels, STS_POD_NAME_LABEL, json_string(name));
    char idx[24];
    snprintf(idx, sizeof(idx), "%lld", (long long)o);
    json_object_set_new(labels, STS_POD_INDEX_LABEL, json_string(idx));
    free(name);
}

json_t *sts_new_pod(const json_t *set, int64_t ordinal, const char *revision, const json_t *ref)
{
    json_t *pod = cm_pod_from_template(k8s_jpath(set, "spec.template"), "", (json_t *)ref);
    json_object_del(json_object_get(pod, "metadata"), "generateName");
    update_identity(set, pod, ordinal);
    json_t *spec = obj_child(pod, "spec");
    json_object_set_new(spec, "hostname", json_string(k8s_jpath_str(pod, "metadata.name")));
    const char *svc = k8s_jpath_str(set, "spec.serviceName");
    if (*svc)
        json_object_set_new(spec, "subdomain", json_string(svc));
    update_storage(set, pod, ordinal);
    json_object_set_new(obj_child(json_object_get(pod, "metadata"), "labels"), HIST_POD_REV_LABEL,
                        json_string(revision));
    return pod;
}

void sts_fix_identity(const json_t *set, json_t *pod)
{
    int64_t o = sts_ordinal(pod);
    if (o < 0)
        return;
    update_identity(set, pod, o);
    update_storage(set, pod, o);
}

static json_t *plain_ref(const json_t *owner, const char *api_version, const char *kind)
{
    return json_pack("{s:s,s:s,s:s,s:s}", "apiVersion", api_version, "kind", kind, "name",
                     k8s_obj_name(owner), "uid", k8s_obj_uid(owner));
}

json_t *sts_claims(const json_t *set, int64_t ordinal)
{
    json_t *out = json_array();
    bool del = !strcmp(k8s_jpath_str(set, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted"),
                       "Delete");
    size_t i;
    json_t *t;
    json_array_foreach(k8s_jpath(set, "spec.volumeClaimTemplates"), i, t)
    {
        json_t *c = json_deep_copy(t);
        json_object_del(c, "status");
        json_object_set_new(c, "apiVersion", json_string("v1"));
        json_object_set_new(c, "kind", json_string("PersistentVolumeClaim"));
        json_t *md = obj_child(c, "metadata");
        char *name = sts_claim_name(set, k8s_jstr(md, "name"), ordinal);
        json_object_set_new(md, "name", json_string(name));
        free(name);
        json_object_set_new(md, "namespace", json_string(k8s_obj_namespace(set)));
        json_t *ml = k8s_jpath(set, "spec.selector.matchLabels");
        if (json_is_object(ml) && json_object_size(ml)) {
            json_t *labels = obj_child(md, "labels");
            json_object_update(labels, ml);
        }
        if (del)
            json_object_set_new(md, "ownerReferences",
                                json_pack("[o]", plain_ref(set, "apps/v1", "StatefulSet")));
        json_array_append_new(out, c);
    }
    return out;
}

static bool has_ref(const json_t *refs, const char *uid)
{
    size_t i;
    json_t *r;
    json_array_foreach(refs, i, r)
    {
        if (!strcmp(k8s_jstr(r, "uid"), uid))
            return true;
    }
    return false;
}

static bool remove_ref(json_t *refs, const char *uid)
{
    for (size_t i = 0; i < json_array_size(refs); i++)
        if (!strcmp(k8s_jstr(json_array_get(refs, i), "uid"), uid)) {
            json_array_remove(refs, i);
            return true;
        }
    return false;
}

static bool set_ref(json_t *refs, const json_t *owner, const char *kind, const char *api_version)
{
    if (has_ref(refs, k8s_obj_uid(owner)))
        return false;
    json_array_append_new(refs, plain_ref(owner, api_version, kind));
    return true;
}

json_t *sts_claim_refs(const json_t *set, const json_t *pod, const json_t *claim)
{
    json_t *cur = k8s_jpath(claim, "metadata.ownerReferences");
    json_t *refs = json_is_array(cur) ? json_deep_copy(cur) : json_array();
    const char *wd = k8s_jpath_str(set, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted");
    const char *ws = k8s_jpath_str(set, "spec.persistentVolumeClaimRetentionPolicy.whenScaled");
    bool del_d = !strcmp(wd, "Delete"), del_s = !strcmp(ws, "Delete");
    const char *su = k8s_obj_uid(set), *pu = k8s_obj_uid(pod);
    bool scaled_down = !sts_in_range(set, pod), ch = false;
    if (!del_s && !del_d) {
        ch |= remove_ref(refs, su);
        ch |= remove_ref(refs, pu);
    } else if (!del_s && del_d) {
        ch |= set_ref(refs, set, "StatefulSet", "apps/v1");
        ch |= remove_ref(refs, pu);
    } else if (del_s && !del_d) {
        ch |= remove_ref(refs, su);
        ch |= scaled_down ? set_ref(refs, pod, "Pod", "v1") : remove_ref(refs, pu);
    } else if (scaled_down) {
        ch |= remove_ref(refs, su);
        ch |= set_ref(refs, pod, "Pod", "v1");
    } else {
        ch |= set_ref(refs, set, "StatefulSet", "apps/v1");
        ch |= remove_ref(refs, pu);
    }
    if (!ch) {
        json_decref(refs);
        return NULL;
    }
    return refs;
}

void sts_count(const json_t *pods, int64_t min_ready_s, const char *cur, const char *upd,
               int64_t now_ns, struct sts_counts *c)
{
    memset(c, 0, sizeof(*c));
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        if (sts_ordinal(p) < 0)
            continue;
        c->replicas++;
        if (sts_running_ready(p)) {
            c->ready++;
            if (sts_available(p, min_ready_s, now_ns))
                c->available++;
        }
        if (!sts_terminating(p)) {
            const char *r = sts_pod_revision(p);
            if (!strcmp(r, cur))
                c->current++;
            if (!strcmp(r, upd))
                c->updated++;
        }
    }
}

static void add(struct sts_plan *p, enum sts_op op, int64_t ord, bool update, const json_t *pod)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->a = ck_realloc(p->a, p->cap * sizeof(*p->a));
    }
    p->a[p->n++] = (struct sts_action){op, ord, update, pod};
}

static bool is_rolling(const json_t *set)
{
    const char *t = k8s_jpath_str(set, "spec.updateStrategy.type");
    return !*t || !strcmp(t, "RollingUpdate");
}

/* newVersionedStatefulSetPod's choice: true for the update revision. */
static bool use_update(const json_t *set, int64_t ord)
{
    if (!is_rolling(set))
        return true;
    json_t *part = k8s_jpath(set, "spec.updateStrategy.rollingUpdate.partition");
    if (!k8s_jpath(set, "spec.updateStrategy.rollingUpdate"))
        return ord >= cm_jint(set, "status.currentReplicas", 0);
    return ord >= (json_is_integer(part) ? json_integer_value(part) : 0);
}

static int cmp_desc(const void *a, const void *b)
{
    int64_t x = sts_ordinal(*(json_t *const *)a), y = sts_ordinal(*(json_t *const *)b);
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The in-range pods sorted by ordinal: slot i is found by binary search, so the plan needs
 * no array of spec.replicas entries. */
struct slots {
    const json_t **p;
    size_t n;
    int64_t start;
};

static int cmp_asc(const void *a, const void *b)
{
    return -cmp_desc(a, b);
}

static const json_t *slot(const struct slots *s, int64_t i)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t o = sts_ordinal(s->p[mid]);
        if (o == s->start + i)
            return s->p[mid];
        if (o < s->start + i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

#define STS_BURST 500 /* creations per sync in Parallel mode */

void sts_plan(const json_t *set, const json_t *pods, const char *cur, const char *upd,
              int64_t now_ns, struct sts_plan *out)
{
    memset(out, 0, sizeof(*out));
    int64_t start = sts_start(set), n = sts_replicas(set);
    int64_t mrs = sts_min_ready(set);
    if (n < 0)
        n = 0;
    if (n > INT32_MAX)
        n = INT32_MAX;
    if (start < 0 || start > INT32_MAX)
        start = 0;
    size_t np = json_array_size(pods), nc = 0;
    struct slots sl = {ck_calloc(np + 1, sizeof(json_t *)), 0, start};
    const json_t **condemned = ck_calloc(np + 1, sizeof(*condemned));
    for (size_t i = 0; i < np; i++) {
        const json_t *p = json_array_get(pods, i);
        int64_t o = sts_ordinal(p);
        if (o >= start && o < start + n)
            sl.p[sl.n++] = p;
        else if (o >= 0)
            condemned[nc++] = p;
    }
    qsort(sl.p, sl.n, sizeof(*sl.p), cmp_asc);
    qsort(condemned, nc, sizeof(*condemned), cmp_desc); /* highest ordinal first */
    const json_t *first_unhealthy = NULL;
    bool any_missing = false;
    for (int64_t i = 0; i < n && !first_unhealthy && !any_missing; i++) {
        const json_t *p = slot(&sl, i);
        if (!p)
            any_missing = true; /* the not-yet-created pod is the first unavailable one */
        else if (sts_unavailable(p, mrs, now_ns))
            first_unhealthy = p;
    }
    for (size_t i = nc; !first_unhealthy && !any_missing && i-- > 0;)
        if (sts_unavailable(condemned[i], mrs, now_ns))
            first_unhealthy = condemned[i];
    if (k8s_obj_deleting(set))
        goto done;
    bool mono = strcmp(k8s_jpath_str(set, "spec.podManagementPolicy"), "Parallel") != 0;
    int creates = 0;
    for (int64_t i = 0; i < n; i++) {
        const json_t *p = slot(&sl, i);
        if (p && sts_failed_or_succeeded(p)) {
            if (!sts_terminating(p))
                add(out, STS_DELETE, start + i, false, p);
            if (mono)
                goto done; /* the new pod comes on the next sync, once this one is gone */
            continue;
        }
        if (!p) {
            add(out, STS_CREATE, start + i, use_update(set, start + i), NULL);
            if (mono || ++creates >= STS_BURST)
                goto done;
            continue;
        }
        if (mono && (sts_terminating(p) || !sts_running_ready(p)))
            goto done;
        if (mono && !sts_available(p, mrs, now_ns)) {
            out->blocked_available = true;
            goto done;
        }
        if (!sts_identity_matches(set, p) || !sts_storage_matches(set, p))
            add(out, STS_FIX, start + i, false, p);
    }
    for (size_t i = 0; i < nc; i++) {
        const json_t *p = condemned[i];
        if (sts_terminating(p)) {
            if (mono)
                goto done;
            continue;
        }
        if (mono && p != first_unhealthy &&
            (!sts_running_ready(p) || !sts_available(p, mrs, now_ns)))
            goto done;
        add(out, STS_DELETE, sts_ordinal(p), false, p);
        if (mono)
            goto done;
    }
    if (!is_rolling(set))
        goto done;
    int64_t update_min = cm_jint(set, "spec.updateStrategy.rollingUpdate.partition", 0);
    for (int64_t t = n - 1; t >= update_min && t >= 0; t--) {
        const json_t *p = slot(&sl, t);
        if (!p)
            goto done;
        if (strcmp(sts_pod_revision(p), upd) && !sts_terminating(p)) {
            add(out, STS_DELETE, start + t, false, p);
            goto done;
        }
        if (sts_unavailable(p, mrs, now_ns))
            goto done;
    }
done:
    (void)cur;
    free(sl.p);
    free(condemned);
}

void sts_plan_free(struct sts_plan *p)
{
    free(p->a);
    memset(p, 0, sizeof(*p));
}

bool sts_complete_rolling_update(const json_t *set, json_t *status)
{
    if (!is_rolling(set))
        return false;
    int64_t upd = cm_jint(status, "updatedReplicas", 0), rep = cm_jint(status, "replicas", 0);
    int64_t ready = cm_jint(status, "readyReplicas", 0);
    if (upd != rep || ready != rep)
        return false;
    json_object_set_new(status, "currentReplicas", json_integer(upd));
    json_object_set(status, "currentRevision", json_object_get(status, "updateRevision"));
    return true;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Pure Deployment decisions: see dputil.h. */
#include "controllers/dputil.h"
#include "controllers/cm.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define DP_MAX_REV_HISTORY 2000

int dp_scaled_value(const json_t *v, int64_t total, bool round_up, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    if (n < 2 || s[n - 1] != '%')
        return -1;
    char num[32];
    if (n - 1 >= sizeof(num))
        return -1;
    memcpy(num, s, n - 1);
    num[n - 1] = '\0';
    int64_t pct;
    if (!k8s_parse_int64(num, &pct))
        return -1;
    double f = (double)pct * (double)total / 100.0;
    *out = (int64_t)(round_up ? ceil(f) : floor(f));
    return 0;
}

int dp_resolve_fenceposts(const json_t *surge, const json_t *unavail, int64_t desired, int64_t *s,
                          int64_t *u)
{
    json_t *zero = json_integer(0);
    int rc = dp_scaled_value(surge ? surge : zero, desired, true, s);
    if (rc == 0)
        rc = dp_scaled_value(unavail ? unavail : zero, desired, false, u);
    json_decref(zero);
    if (rc < 0)
        return -1;
    if (*s == 0 && *u == 0)
        *u = 1;
    return 0;
}

int64_t dp_replicas(const json_t *d)
{
    return cm_jint(d, "spec.replicas", 1);
}

bool dp_is_rolling(const json_t *d)
{
    const char *t = k8s_jpath_str(d, "spec.strategy.type");
    return !*t || !strcmp(t, "RollingUpdate");
}

static void fenceposts(const json_t *d, int64_t *s, int64_t *u)
{
    json_t *pct = json_string("25%");
    json_t *ms = k8s_jpath(d, "spec.strategy.rollingUpdate.maxSurge");
    json_t *mu = k8s_jpath(d, "spec.strategy.rollingUpdate.maxUnavailable");
    if (dp_resolve_fenceposts(ms ? ms : pct, mu ? mu : pct, dp_replicas(d), s, u) < 0)
        *s = 0, *u = 1;
    json_decref(pct);
}

int64_t dp_max_surge(const json_t *d)
{
    if (!dp_is_rolling(d))
        return 0;
    int64_t s, u;
    fenceposts(d, &s, &u);
    return s;
}

int64_t dp_max_unavailable(const json_t *d)
{
    int64_t r = dp_replicas(d);
    if (!dp_is_rolling(d) || r == 0)
        return 0;
    int64_t s, u;
    fenceposts(d, &s, &u);
    return u > r ? r : u;
}

int64_t dp_sum_spec(const json_t *rss)
{
    int64_t n = 0;
    size_t i;
    json_t *rs;
    json_array_foreach(rss, i, rs) n += cm_jint(rs, "spec.replicas", 1);
    return n;
}

int64_t dp_sum_status(const json_t *rss, const char *field)
{
    int64_t n = 0;
    size_t i;
    json_t *rs;
    json_array_foreach(rss, i, rs) n += cm_jint(json_object_get(rs, "status"), field, 0);
    return n;
}

int64_t dp_new_rs_new_replicas(const json_t *d, const json_t *all_rss, const json_t *new_rs)
{
    int64_t cur_new = cm_jint(new_rs, "spec.replicas", 1);
    if (!dp_is_rolling(d))
        return dp_replicas(d);
    int64_t current = dp_sum_spec(all_rss);
    int64_t max_total = dp_replicas(d) + dp_max_surge(d);
    if (current >= max_total)
        return cur_new;
    int64_t up = max_total - current;
    if (up > dp_replicas(d) - cur_new)
        up = dp_replicas(d) - cur_new;
    return cur_new + up;
}

bool dp_annotation_int(const json_t *rs, const char *key, int64_t *out)
{
    const char *v = k8s_obj_annotation(rs, key);
    return v && k8s_parse_int64(v, out);
}

static int64_t rs_fraction(const json_t *rs, const json_t *d)
{
    int64_t rsr = cm_jint(rs, "spec.replicas", 1);
    if (dp_replicas(d) == 0)
        return -rsr;
    int64_t dr = dp_replicas(d) + dp_max_surge(d);
    int64_t annotated;
    if (!dp_annotation_int(rs, DP_MAX, &annotated))
        annotated = cm_jint(d, "status.replicas", 0);
    if (annotated == 0)
        return 0;
    double size = (double)(rsr * dr) / (double)annotated;
    return (int64_t)round(size) - rsr;
}

int64_t dp_proportion(const json_t *rs, const json_t *d, int64_t to_add, int64_t added)
{
    if (!rs || cm_jint(rs, "spec.replicas", 1) == 0 || to_add == 0 || to_add == added)
        return 0;
    int64_t f = rs_fraction(rs, d), allowed = to_add - added;
    if (to_add > 0)
        return f < allowed ? f : allowed;
    return f > allowed ? f : allowed;
}

void dp_compute_hash(const json_t *template, int64_t collision_count, char out[16])
{
    char *text = json_dumps(template, JSON_SORT_KEYS | JSON_COMPACT);
    uint32_t h = 2166136261u;
    for (const char *p = text ? text : ""; *p; p++) {
        h ^= (uint8_t)*p;
        h *= 16777619u;
    }
    free(text);
    if (collision_count >= 0) {
        uint32_t c = (uint32_t)collision_count;
        for (int i = 0; i < 4; i++) {
            h ^= (uint8_t)(c >> (8 * i));
            h *= 16777619u;
        }
    }
    static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
    char dec[16];
    snprintf(dec, sizeof(dec), "%u", h);
    size_t i;
    for (i = 0; dec[i] && i < 15; i++)
        out[i] = alnum[(unsigned char)dec[i] % 27];
    out[i] = '\0';
}

static json_t *without_hash(const json_t *t)
{
    json_t *c = json_deep_copy(t);
    json_t *labels = k8s_jpath(c, "metadata.labels");
    if (json_is_object(labels))
        json_object_del(labels, DP_HASH_LABEL);
    return c;
}

bool dp_equal_ignore_hash(const json_t *t1, const json_t *t2)
{
    json_t *a = without_hash(t1), *b = without_hash(t2);
    bool eq = cm_json_semantic_equal(a, b);
    json_decref(a);
    json_decref(b);
    return eq;
}

int64_t dp_revision(const json_t *obj)
{
    int64_t v;
    const char *s = k8s_obj_annotation(obj, DP_REVISION);
    return s && k8s_parse_int64(s, &v) ? v : 0;
}

static json_t *annotations(json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata");
    json_t *a = json_object_get(md, "annotations");
    if (!json_is_object(a)) {
        a = json_object();
        json_object_set_new(md, "annotations", a);
    }
    return a;
}

static bool skip_copy(const char *k)
{
    static const char *const skip[] = {"kubectl.kubernetes.io/last-applied-configuration",
                                       DP_REVISION,
                                       DP_REVISION_HISTORY,
                                       DP_DESIRED,
                                       DP_MAX,
                                       "deprecated.deployment.rollback.to"};
    for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
        if (!strcmp(k, skip[i]))
            return true;
    return false;
}

static bool set_annotation(json_t *obj, const char *k, const char *v)
{
    json_t *a = annotations(obj);
    const char *have = json_string_value(json_object_get(a, k));
    if (have && !strcmp(have, v))
        return false;
    json_object_set_new(a, k, json_string(v));
    return true;
}

bool dp_set_replicas_annotations(json_t *rs, int64_t desired, int64_t max)
{
    char b1[24], b2[24];
    snprintf(b1, sizeof(b1), "%lld", (long long)desired);
    snprintf(b2, sizeof(b2), "%lld", (long long)max);
    bool a = set_annotation(rs, DP_DESIRED, b1);
    bool b = set_annotation(rs, DP_MAX, b2);
    return a || b;
}

bool dp_set_new_rs_annotations(const json_t *d, json_t *rs, const char *new_revision, bool exists)
{
    bool changed = false;
    const char *k;
    json_t *v;
    json_object_foreach(k8s_jpath(d, "metadata.annotations"), k, v)
    {
        if (!skip_copy(k) && json_is_string(v) && set_annotation(rs, k, json_string_value(v)))
            changed = true;
    }
    json_t *a = annotations(rs);
    const char *old = json_string_value(json_object_get(a, DP_REVISION));
    int64_t oldi = 0, newi;
    if (old && *old && !k8s_parse_int64(old, &oldi))
        return false;
    if (!k8s_parse_int64(new_revision, &newi))
        return false;
    char *oldc = old ? ck_strdup(old) : NULL;
    if (oldi < newi) {
        json_object_set_new(a, DP_REVISION, json_string(new_revision));
        changed = true;
    }
    if (oldc && oldi < newi) {
        const char *hist = json_string_value(json_object_get(a, DP_REVISION_HISTORY));
        if (!hist || !*hist) {
            json_object_set_new(a, DP_REVISION_HISTORY, json_string(oldc));
        } else {
            const char *h = hist;
            size_t total = strlen(hist) + strlen(oldc) + 1;
            while (total > DP_MAX_REV_HISTORY && h) { /* drop the oldest entries */
                const char *comma = strchr(h, ',');
                total -= (comma ? (size_t)(comma - h) : strlen(h)) + 1;
                h = comma ? comma + 1 : NULL;
            }
            if (total <= DP_MAX_REV_HISTORY) {
                char *nh = h && *h ? ck_asprintf("%s,%s", h, oldc) : ck_strdup(oldc);
                json_object_set_new(a, DP_REVISION_HISTORY, json_string(nh));
                free(nh);
            }
        }
    }
    free(oldc);
    if (!exists &&
        dp_set_replicas_annotations(rs, dp_replicas(d), dp_replicas(d) + dp_max_surge(d)))
        changed = true;
    return changed;
}

void dp_remove_condition(json_t *status, const char *type)
{
    int idx;
    if (k8s_condition_get(status, type, &idx))
        json_array_remove(json_object_get(status, "conditions"), (size_t)idx);
}

void dp_set_condition(json_t *status, const char *type, const char *st, const char *reason,
                      const char *msg, const char *now)
{
    json_t *cur = k8s_condition_get(status, type, NULL);
    if (cur && !strcmp(k8s_jstr(cur, "status"), st) && !strcmp(k8s_jstr(cur, "reason"), reason))
        return;
    char *ltt = ck_strdup(
        cur && !strcmp(k8s_jstr(cur, "status"), st) ? k8s_jstr(cur, "lastTransitionTime") : now);
    dp_remove_condition(status, type);
    json_t *conds = json_object_get(status, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(status, "conditions", conds);
    }
    json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", type, "status", st,
                                           "lastUpdateTime", now, "lastTransitionTime", ltt,
                                           "reason", reason, "message", msg));
    free(ltt);
}

bool dp_complete(const json_t *d, const json_t *st)
{
    int64_t r = dp_replicas(d);
    return cm_jint(st, "updatedReplicas", 0) == r && cm_jint(st, "replicas", 0) == r &&
           cm_jint(st, "availableReplicas", 0) == r &&
           cm_jint(st, "observedGeneration", 0) >= cm_jint(d, "metadata.generation", 0);
}

bool dp_progressing(const json_t *d, const json_t *st)
{
    const json_t *o = json_object_get(d, "status");
    int64_t old_old = cm_jint(o, "replicas", 0) - cm_jint(o, "updatedReplicas", 0);
    int64_t new_old = cm_jint(st, "replicas", 0) - cm_jint(st, "updatedReplicas", 0);
    return cm_jint(st, "updatedReplicas", 0) > cm_jint(o, "updatedReplicas", 0) ||
           new_old < old_old || cm_jint(st, "readyReplicas", 0) > cm_jint(o, "readyReplicas", 0) ||
           cm_jint(st, "availableReplicas", 0) > cm_jint(o, "availableReplicas", 0);
}

bool dp_has_progress_deadline(const json_t *d)
{
    json_t *v = k8s_jpath(d, "spec.progressDeadlineSeconds");
    return json_is_integer(v) && json_integer_value(v) != 2147483647;
}

bool dp_timed_out(const json_t *d, const json_t *st, int64_t now_ns)
{
    if (!dp_has_progress_deadline(d))
        return false;
    json_t *c = k8s_condition_get(st, "Progressing", NULL);
    if (!c || !strcmp(k8s_jstr(c, "reason"), "NewReplicaSetAvailable"))
        return false;
    if (!strcmp(k8s_jstr(c, "reason"), "ProgressDeadlineExceeded"))
        return true;
    int64_t from = cm_jtime_ns(c, "lastUpdateTime");
    return from + cm_jint(d, "spec.progressDeadlineSeconds", 600) * 1000000000LL < now_ns;
}

enum sort_kind { BY_CREATION, BY_CREATION_DESC, BY_REVISION, BY_SIZE_NEWER, BY_SIZE_OLDER };

struct srt {
    json_t *rs;
    int64_t t, rev, size;
    const char *name;
    size_t idx;
};

static int cmp_creation(const struct srt *a, const struct srt *b)
{
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return strcmp(a->name, b->name);
}

static enum sort_kind g_kind; /* only used under qsort within one call; see sort_rss */
static int cmp_srt(const void *pa, const void *pb)
{
    const struct srt *a = pa, *b = pb;
    int r = 0;
    switch (g_kind) {
    case BY_CREATION:
        r = cmp_creation(a, b);
        break;
    case BY_CREATION_DESC:
        r = -cmp_creation(a, b);
        break;
    case BY_REVISION:
        r = a->rev != b->rev ? (a->rev < b->rev ? -1 : 1) : cmp_creation(a, b);
        break;
    case BY_SIZE_NEWER:
        r = a->size != b->size ? (a->size > b->size ? -1 : 1) : -cmp_creation(a, b);
        break;
    case BY_SIZE_OLDER:
        r = a->size != b->size ? (a->size > b->size ? -1 : 1) : cmp_creation(a, b);
        break;
    }
    if (r == 0)
        r = a->idx < b->idx ? -1 : a->idx > b->idx;
    return r;
}

static pthread_mutex_t sort_mu = PTHREAD_MUTEX_INITIALIZER;

static void sort_rss(json_t *rss, enum sort_kind k)
{
    size_t n = json_array_size(rss);
    if (n < 2)
        return;
    struct srt *v = ck_calloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        json_t *rs = json_incref(json_array_get(rss, i));
        v[i] = (struct srt){rs,
                            cm_jtime_ns(rs, "metadata.creationTimestamp"),
                            dp_revision(rs),
                            cm_jint(rs, "spec.replicas", 1),
                            k8s_obj_name(rs),
                            i};
    }
    pthread_mutex_lock(&sort_mu);
    g_kind = k;
    qsort(v, n, sizeof(*v), cmp_srt);
    pthread_mutex_unlock(&sort_mu);
    json_array_clear(rss);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(rss, v[i].rs);
    free(v);
}

void dp_sort_by_creation(json_t *rss, bool newest_first)
{
    sort_rss(rss, newest_first ? BY_CREATION_DESC : BY_CREATION);
}
void dp_sort_by_revision(json_t *rss)
{
    sort_rss(rss, BY_REVISION);
}
void dp_sort_by_size(json_t *rss, bool newer_first)
{
    sort_rss(rss, newer_first ? BY_SIZE_NEWER : BY_SIZE_OLDER);
}

bool dp_plan_old_scale_down(const json_t *d, const json_t *old, const json_t *new_rs,
                            int64_t *sizes)
{
    size_t n = json_array_size(old);
    for (size_t i = 0; i < n; i++)
        sizes[i] = cm_jint(json_array_get(old, i), "spec.replicas", 1);
    int64_t old_pods = dp_sum_spec(old);
    if (old_pods == 0)
        return false;
    int64_t new_r = new_rs ? cm_jint(new_rs, "spec.replicas", 1) : 0;
    int64_t new_a = new_rs ? cm_jint(new_rs, "status.availableReplicas", 0) : 0;
    int64_t min_avail = dp_replicas(d) - dp_max_unavailable(d);
    int64_t max_down = old_pods + new_r - min_avail - (new_r - new_a);
    if (max_down <= 0)
        return false;
    /* oldest first: sort a copy, then map back by identity */
    json_t *sorted = json_copy((json_t *)old);
    dp_sort_by_creation(sorted, false);
    size_t *order = ck_calloc(n ? n : 1, sizeof(size_t));
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < n; i++)
            if (json_array_get(old, i) == json_array_get(sorted, k))
                order[k] = i;
    json_decref(sorted);
    int64_t cleaned = 0, down = 0;
    for (size_t k = 0; k < n && cleaned < max_down; k++) {
        size_t i = order[k];
        int64_t a = cm_jint(json_array_get(old, i), "status.availableReplicas", 0);
        if (sizes[i] == 0 || sizes[i] == a)
            continue;
        int64_t c = max_down - cleaned < sizes[i] - a ? max_down - cleaned : sizes[i] - a;
        sizes[i] -= c;
        cleaned += c;
    }
    int64_t avail = dp_sum_status(old, "availableReplicas") + new_a;
    if (avail > min_avail) {
        int64_t total = avail - min_avail;
        for (size_t k = 0; k < n && down < total; k++) {
            size_t i = order[k];
            if (sizes[i] == 0)
                continue;
            int64_t c = sizes[i] < total - down ? sizes[i] : total - down;
            sizes[i] -= c;
            down += c;
        }
    }
    free(order);
    return cleaned + down > 0;
}

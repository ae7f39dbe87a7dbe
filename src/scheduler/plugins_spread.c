/* SPDX-License-Identifier: Apache-2.0 */
/* PodTopologySpread (framework/plugins/podtopologyspread: common.go, filtering.go,
 * scoring.go): DoNotSchedule constraints filter on skew, ScheduleAnyway ones (or the system
 * default constraints for pods without any) score. */
#include "k8s/affinity.h"
#include "k8s/taints.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "scheduler/framework.h"
#include "scheduler/mcache.h"
#include "scheduler/plugins.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

struct tsc {
    const char *key;
    int32_t max_skew, min_domains;
    struct sel *sel;
    bool honor_affinity, honor_taints;
    struct ck_strmap counts; /* topology value -> count (uintptr) */
    int64_t min_match;
    int64_t self_match; /* the incoming pod matches its own selector */
    double weight;      /* scoring: log(size + 2) */
};

struct spread_state {
    struct tsc *c;
    size_t nc;
    bool require_all; /* scoring: nodes lacking a key are ignored */
    bool *ignored;    /* scoring: by snapshot index */
    json_t *hold;     /* the default constraints the keys point into */
};

struct spread {
    json_t *defaults; /* defaultConstraints (List defaulting), or NULL = System */
    struct sch_handle *h;
    struct sch_mcache *mc; /* matching pods per node, across cycles */
};

static void *spread_create(const json_t *args, struct sch_handle *h, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    struct spread *s = ck_calloc(1, sizeof(*s));
    s->h = h;
    s->mc = sch_mcache_new(64);
    if (!strcmp(k8s_jstr(args, "defaultingType"), "List"))
        s->defaults = json_incref(json_object_get(args, "defaultConstraints"));
    return s;
}

static void spread_destroy(void *self)
{
    struct spread *s = self;
    json_decref(s->defaults);
    sch_mcache_free(s->mc);
    free(s);
}

static void state_free(void *v)
{
    struct spread_state *s = v;
    for (size_t i = 0; i < s->nc; i++) {
        sel_free(s->c[i].sel);
        ck_strmap_release(&s->c[i].counts);
    }
    free(s->c);
    free(s->ignored);
    json_decref(s->hold);
    free(s);
}

static bool parse_constraint(struct tsc *c, const json_t *j, const struct sch_pod *p,
                             struct sel *sel)
{
    memset(c, 0, sizeof(*c));
    c->key = k8s_jstr(j, "topologyKey");
    c->max_skew = (int32_t)json_integer_value(json_object_get(j, "maxSkew"));
    const json_t *md = json_object_get(j, "minDomains");
    c->min_domains = json_is_integer(md) ? (int32_t)json_integer_value(md) : 1;
    c->honor_affinity = strcmp(k8s_jstr(j, "nodeAffinityPolicy"), "Ignore") != 0;
    c->honor_taints = !strcmp(k8s_jstr(j, "nodeTaintsPolicy"), "Honor");
    c->sel = sel ? sel
                 : sch_selector_with_keys(json_object_get(j, "labelSelector"),
                                          json_object_get(j, "matchLabelKeys"), NULL, p->labels);
    return c->sel != NULL;
}

/* The constraints with whenUnsatisfiable == want; the defaults when the pod has none at all
 * (the default constraints are built only for scoring: they are all ScheduleAnyway under
 * System defaulting). */
static struct spread_state *build(struct spread *sp, const struct sch_pod *p, const char *want,
                                  bool *defaulted)
{
    const json_t *list = k8s_jpath(p->obj, "spec.topologySpreadConstraints");
    struct spread_state *s = ck_calloc(1, sizeof(*s));
    *defaulted = false;
    size_t i;
    const json_t *j;
    if (k8s_jlen(list)) {
        s->c = ck_calloc(k8s_jlen(list), sizeof(*s->c));
        json_array_foreach(list, i, j)
        {
            if (strcmp(k8s_jstr(j, "whenUnsatisfiable"), want))
                continue;
            if (parse_constraint(&s->c[s->nc], j, p, NULL))
                s->nc++;
        }
        return s;
    }
    *defaulted = true;
    struct sel *dsel =
        sp->h && sp->h->default_selector ? sp->h->default_selector(sp->h->arg, p) : NULL;
    if (!dsel || sel_empty(dsel)) {
        sel_free(dsel);
        return s;
    }
    static const char sys[] =
        "[{\"topologyKey\":\"topology.kubernetes.io/zone\",\"maxSkew\":5,\"whenUnsatisfiable\":"
        "\"ScheduleAnyway\"},{\"topologyKey\":\"kubernetes.io/hostname\",\"maxSkew\":3,"
        "\"whenUnsatisfiable\":\"ScheduleAnyway\"}]";
    json_t *sysj = sp->defaults ? json_incref(sp->defaults) : json_loads(sys, 0, NULL);
    s->c = ck_calloc(k8s_jlen(sysj) + 1, sizeof(*s->c));
    json_array_foreach(sysj, i, j)
    {
        if (strcmp(k8s_jstr(j, "whenUnsatisfiable"), want))
            continue;
        /* the selector is shared by every default constraint: parse a copy per constraint */
        char *txt = sel_to_string(dsel);
        struct sel *copy = NULL;
        struct ck_err err = CK_ERR_INIT;
        if (sel_parse(SEL_LABEL, txt, &copy, &err) == 0 &&
            parse_constraint(&s->c[s->nc], j, p, copy))
            s->nc++;
        free(txt);
    }
    s->hold = sysj; /* the keys point into it */
    sel_free(dsel);
    return s;
}

static bool node_has_keys(const struct spread_state *s, const struct sch_node *n)
{
    for (size_t i = 0; i < s->nc; i++)
        if (!sch_node_label(n, s->c[i].key))
            return false;
    return true;
}

static int64_t count_matching(const struct sch_node *n, const struct sel *sel, const char *ns)
{
    int64_t c = 0;
    for (size_t i = 0; i < n->npods; i++) {
        const struct sch_pod *q = n->pods[i];
        if (q->deleting || strcmp(q->ns, ns))
            continue;
        c += sel_matches(sel, sel_lookup_json, (void *)q->labels);
    }
    return c;
}

/* Whether a node counts for constraint c (nodeInclusionPolicy). */
static bool node_included(const struct tsc *c, const struct sch_pod *p, const struct sch_node *n)
{
    if (c->honor_affinity && p->node_constraints && !k8s_pod_matches_node(p->obj, n->nd->obj, NULL))
        return false;
    if (c->honor_taints && k8s_jlen(n->nd->taints) &&
        k8s_find_untolerated_taint(n->nd->taints, p->tolerations,
                                   k8s_taint_filter_no_schedule_or_execute, NULL, false))
        return false;
    return true;
}

static void bump(struct ck_strmap *m, const char *v, int64_t by)
{
    uintptr_t c = (uintptr_t)ck_strmap_get(m, v, NULL);
    ck_strmap_put(m, v, (void *)(c + (uintptr_t)by));
}

/* ---- counting, cached across cycles (mcache.h) ------------------------------------------ */

struct count_arg {
    const struct spread_state *s;
    const struct tsc *c;
    const struct sch_pod *p;
    bool need_all_keys; /* nodes lacking any constraint's key are not counted */
};

static struct sch_mcount count_node(const void *arg, const struct sch_node *n)
{
    const struct count_arg *a = arg;
    struct sch_mcount r = {0, NULL};
    if (!n->nd || (a->need_all_keys && !node_has_keys(a->s, n)) || !node_included(a->c, a->p, n))
        return r;
    r.domain = sch_node_label(n, a->c->key);
    if (r.domain)
        r.count = count_matching(n, a->c->sel, a->p->ns);
    return r;
}

/* A name for everything count_node depends on. */
static char *signature(const struct spread_state *s, const struct tsc *c, const struct sch_pod *p,
                       bool need_all_keys)
{
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    char *sel = sel_to_string(c->sel);
    ck_buf_appendf(&b, "%s\x01%s\x01%s\x01%d%d%d\x01", p->ns, c->key, sel, need_all_keys,
                   c->honor_affinity, c->honor_taints);
    free(sel);
    for (size_t k = 0; need_all_keys && k < s->nc; k++)
        ck_buf_appendf(&b, "%s,", s->c[k].key);
    if (c->honor_affinity && p->node_constraints) {
        const json_t *parts[2] = {
            k8s_jpath(p->obj, "spec.nodeSelector"),
            k8s_jpath(p->obj, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuring"
                              "Execution")};
        for (int i = 0; i < 2; i++) {
            char *t = parts[i] ? json_dumps(parts[i], JSON_COMPACT | JSON_SORT_KEYS) : NULL;
            ck_buf_appendf(&b, "\x01%s", t ? t : "");
            free(t);
        }
    }
    if (c->honor_taints && p->tolerations) {
        char *t = json_dumps(p->tolerations, JSON_COMPACT | JSON_SORT_KEYS);
        ck_buf_appendf(&b, "\x01%s", t ? t : "");
        free(t);
    }
    return ck_buf_detach(&b, NULL);
}

/* The cache entry counting c's matching pods per node and per domain. */
static const struct sch_mentry *entry_for(struct spread *sp, const struct spread_state *s,
                                          const struct tsc *c, const struct sch_pod *p,
                                          const struct sch_snapshot *snap, bool need_all_keys)
{
    struct count_arg a = {s, c, p, need_all_keys};
    char *sig = signature(s, c, p, need_all_keys);
    const struct sch_mentry *e = sch_mcache_get(sp->mc, sig, snap, count_node, &a);
    free(sig);
    return e;
}

/* c->counts: topology value -> matching pods, over the counted nodes (every domain of a
 * counted node appears, with 0 when no pod matches). */
static void count_domains(struct spread *sp, const struct spread_state *s, struct tsc *c,
                          const struct sch_pod *p, const struct sch_snapshot *snap,
                          bool need_all_keys)
{
    const struct sch_mentry *e = entry_for(sp, s, c, p, snap, need_all_keys);
    const struct ck_strmap *doms = sch_mentry_domains(e);
    const char *k;
    void *v;
    for (size_t it = 0; ck_strmap_next(doms, &it, &k, &v);)
        bump(&c->counts, k, ((const struct sch_mdomain *)v)->sum);
}

/* ---- Filter ----------------------------------------------------------------------------- */

static enum sch_code spread_pre_filter(void *self, struct sch_cycle *cs, const struct sch_pod *p,
                                       void **fs, struct sch_status *st)
{
    (void)st;
    bool defaulted;
    struct spread_state *s = build(self, p, "DoNotSchedule", &defaulted);
    if (s->nc == 0) {
        state_free(s);
        return SCH_SKIP;
    }
    for (size_t k = 0; k < s->nc; k++) {
        count_domains(self, s, &s->c[k], p, cs->snap, true);
        s->c[k].self_match = sel_matches(s->c[k].sel, sel_lookup_json, (void *)p->labels);
    }
    for (size_t k = 0; k < s->nc; k++) {
        struct tsc *c = &s->c[k];
        c->min_match = INT64_MAX;
        const char *key;
        void *v;
        for (size_t it = 0; ck_strmap_next(&c->counts, &it, &key, &v);)
            if ((int64_t)(uintptr_t)v < c->min_match)
                c->min_match = (int64_t)(uintptr_t)v;
        if (c->min_match == INT64_MAX || (int64_t)c->counts.len < c->min_domains)
            c->min_match = 0;
    }
    *fs = s;
    return SCH_OK;
}

static enum sch_code spread_filter(void *self, const void *fs, const struct sch_pod *p,
                                   const struct sch_node *n, struct sch_status *st)
{
    (void)self, (void)p;
    const struct spread_state *s = fs;
    for (size_t k = 0; k < s->nc; k++) {
        const struct tsc *c = &s->c[k];
        const char *v = sch_node_label(n, c->key);
        if (!v)
            return sch_status_set(st, SCH_UNRESOLVABLE,
                                  "node(s) didn't match pod topology "
                                  "spread constraints (missing required label)");
        int64_t match = (int64_t)(uintptr_t)ck_strmap_get(&c->counts, v, NULL);
        if (match + c->self_match - c->min_match > c->max_skew)
            return sch_status_set(st, SCH_UNSCHEDULABLE,
                                  "node(s) didn't match pod topology spread constraints");
    }
    return SCH_OK;
}

static void spread_add_pod(void *self, void *fs, const struct sch_pod *p,
                           const struct sch_pod *other, const struct sch_node *n)
{
    (void)self;
    struct spread_state *s = fs;
    if (!s || !node_has_keys(s, n) || strcmp(other->ns, p->ns))
        return;
    for (size_t k = 0; k < s->nc; k++)
        if (node_included(&s->c[k], p, n) &&
            sel_matches(s->c[k].sel, sel_lookup_json, (void *)other->labels))
            bump(&s->c[k].counts, sch_node_label(n, s->c[k].key), 1);
}

static void spread_remove_pod(void *self, void *fs, const struct sch_pod *p,
                              const struct sch_pod *other, const struct sch_node *n)
{
    (void)self;
    struct spread_state *s = fs;
    if (!s || !node_has_keys(s, n) || strcmp(other->ns, p->ns))
        return;
    for (size_t k = 0; k < s->nc; k++) {
        struct tsc *c = &s->c[k];
        if (!node_included(c, p, n) || !sel_matches(c->sel, sel_lookup_json, (void *)other->labels))
            continue;
        const char *v = sch_node_label(n, c->key);
        if ((uintptr_t)ck_strmap_get(&c->counts, v, NULL) > 0)
            bump(&c->counts, v, -1);
        if ((int64_t)(uintptr_t)ck_strmap_get(&c->counts, v, NULL) < c->min_match)
            c->min_match = (int64_t)(uintptr_t)ck_strmap_get(&c->counts, v, NULL);
    }
}

/* ---- Score ------------------------------------------------------------------------------ */

static enum sch_code spread_pre_score(void *self, struct sch_cycle *cs, const struct sch_pod *p,
                                      const size_t *nodes, size_t n, void **ss,
                                      struct sch_status *st)
{
    (void)st;
    bool defaulted;
    struct spread_state *s = build(self, p, "ScheduleAnyway", &defaulted);
    if (s->nc == 0 || n == 0) {
        state_free(s);
        return SCH_SKIP;
    }
    s->require_all = !defaulted || ((struct spread *)self)->defaults;
    s->ignored = ck_calloc(cs->snap->n, sizeof(bool));
    size_t *sizes = ck_calloc(s->nc, sizeof(size_t));
    struct ck_strmap *domains = ck_calloc(s->nc, sizeof(struct ck_strmap));
    for (size_t i = 0; i < n; i++) {
        const struct sch_node *nd = cs->snap->nodes[nodes[i]];
        if (s->require_all && !node_has_keys(s, nd)) {
            s->ignored[nodes[i]] = true;
            continue;
        }
        for (size_t k = 0; k < s->nc; k++) {
            const char *v = sch_node_label(nd, s->c[k].key);
            if (!v)
                continue;
            if (!strcmp(s->c[k].key, SCH_LABEL_HOSTNAME)) {
                sizes[k]++;
            } else if (!ck_strmap_get(&domains[k], v, NULL)) {
                ck_strmap_put(&domains[k], v, (void *)1);
                ck_strmap_put(&s->c[k].counts, v, (void *)0);
                sizes[k]++;
            }
        }
    }
    for (size_t k = 0; k < s->nc; k++) {
        s->c[k].weight = log((double)sizes[k] + 2);
        ck_strmap_release(&domains[k]);
    }
    free(domains);
    free(sizes);
    /* count matching pods over every node whose pair was seen among the filtered ones */
    for (size_t k = 0; k < s->nc; k++) {
        struct tsc *c = &s->c[k];
        if (!strcmp(c->key, SCH_LABEL_HOSTNAME) || !c->counts.len)
            continue;
        const struct ck_strmap *doms =
            sch_mentry_domains(entry_for(self, s, c, p, cs->snap, s->require_all));
        const char *key;
        void *v;
        for (size_t it = 0; ck_strmap_next(doms, &it, &key, &v);) {
            bool found = false;
            ck_strmap_get(&c->counts, key, &found);
            if (found)
                bump(&c->counts, key, ((const struct sch_mdomain *)v)->sum);
        }
    }
    *ss = s;
    return SCH_OK;
}

static int64_t spread_score(void *self, const void *ss, const struct sch_pod *p,
                            const struct sch_node *n)
{
    (void)self;
    const struct spread_state *s = ss;
    double score = 0;
    for (size_t k = 0; k < s->nc; k++) {
        const struct tsc *c = &s->c[k];
        const char *v = sch_node_label(n, c->key);
        if (!v)
            continue;
        int64_t cnt = !strcmp(c->key, SCH_LABEL_HOSTNAME)
                          ? count_matching(n, c->sel, p->ns)
                          : (int64_t)(uintptr_t)ck_strmap_get(&c->counts, v, NULL);
        score += (double)cnt * c->weight + (double)(c->max_skew - 1);
    }
    return (int64_t)llround(score);
}

static void spread_normalize(void *self, const void *ss, const struct sch_pod *p,
                             struct sch_node_score *sc, size_t n)
{
    (void)self, (void)p;
    const struct spread_state *s = ss;
    int64_t min = INT64_MAX, max = 0;
    for (size_t i = 0; i < n; i++) {
        if (s->ignored[sc[i].node])
            continue;
        if (sc[i].score < min)
            min = sc[i].score;
        if (sc[i].score > max)
            max = sc[i].score;
    }
    for (size_t i = 0; i < n; i++) {
        if (s->ignored[sc[i].node])
            sc[i].score = 0;
        else if (max == 0)
            sc[i].score = SCH_MAX_NODE_SCORE;
        else
            sc[i].score = SCH_MAX_NODE_SCORE * (max + min - sc[i].score) / max;
    }
}

const struct sch_plugin_def sch_plugin_pod_topology_spread = {
    .name = "PodTopologySpread",
    .default_weight = 2,
    .create = spread_create,
    .destroy = spread_destroy,
    .free_state = state_free,
    .pre_filter = spread_pre_filter,
    .filter = spread_filter,
    .add_pod = spread_add_pod,
    .remove_pod = spread_remove_pod,
    .pre_score = spread_pre_score,
    .score = spread_score,
    .normalize = spread_normalize,
};

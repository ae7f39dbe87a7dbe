/* SPDX-License-Identifier: Apache-2.0 */
/* InterPodAffinity (framework/plugins/interpodaffinity: filtering.go, scoring.go): required
 * affinity and anti-affinity of the incoming pod, required anti-affinity of existing pods,
 * and the preferred terms of both sides (plus hardPodAffinityWeight) for scoring. */
#include "k8s/util.h"
#include "lib/buf.h"
#include "scheduler/framework.h"
#include "scheduler/mcache.h"
#include "scheduler/plugins.h"

#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

struct ipa {
    int32_t hard_weight;
    struct sch_handle *h;
    struct sch_mcache *mc; /* pods matching the incoming pod's terms, per node */
};

/* topology pair counts: "key\x01value" -> count (intptr) */
struct ipa_state {
    struct ck_strmap existing_anti, aff, anti;
    struct ck_strmap score; /* scoring: pair -> score */
    char **keys;            /* scoring: topology keys seen */
    size_t nkeys;
    char **ekeys; /* the topology keys in existing_anti */
    size_t nekeys;
};

static void *ipa_create(const json_t *args, struct sch_handle *h, char *err, size_t errlen)
{
    struct ipa *a = ck_calloc(1, sizeof(*a));
    const json_t *w = json_object_get(args, "hardPodAffinityWeight");
    a->hard_weight = json_is_integer(w) ? (int32_t)json_integer_value(w) : 1;
    if (a->hard_weight < 0 || a->hard_weight > 100) {
        snprintf(err, errlen,
                 "hardPodAffinityWeight: Invalid value: %d: not in valid range [0-100]",
                 a->hard_weight);
        free(a);
        return NULL;
    }
    a->h = h;
    a->mc = sch_mcache_new(64);
    return a;
}

static void ipa_destroy(void *self)
{
    struct ipa *a = self;
    sch_mcache_free(a->mc);
    free(a);
}

static void state_free(void *v)
{
    struct ipa_state *s = v;
    ck_strmap_release(&s->existing_anti);
    ck_strmap_release(&s->aff);
    ck_strmap_release(&s->anti);
    ck_strmap_release(&s->score);
    for (size_t i = 0; i < s->nkeys; i++)
        free(s->keys[i]);
    free(s->keys);
    for (size_t i = 0; i < s->nekeys; i++)
        free(s->ekeys[i]);
    free(s->ekeys);
    free(s);
}

static const char *pair(char *buf, size_t n, const char *k, const char *v)
{
    snprintf(buf, n, "%s\x01%s", k, v);
    return buf;
}

static void add(struct ck_strmap *m, const char *k, const char *v, intptr_t by)
{
    char buf[512];
    pair(buf, sizeof(buf), k, v);
    intptr_t c = (intptr_t)ck_strmap_get(m, buf, NULL);
    ck_strmap_put(m, buf, (void *)(c + by));
}

static intptr_t get(const struct ck_strmap *m, const char *k, const char *v)
{
    char buf[512];
    return (intptr_t)ck_strmap_get(m, pair(buf, sizeof(buf), k, v), NULL);
}

/* existing_anti[key, v] += by, remembering the key. */
static void add_existing(struct ipa_state *s, const char *k, const char *v, intptr_t by)
{
    add(&s->existing_anti, k, v, by);
    for (size_t i = 0; i < s->nekeys; i++)
        if (!strcmp(s->ekeys[i], k))
            return;
    s->ekeys = ck_realloc(s->ekeys, (s->nekeys + 1) * sizeof(char *));
    s->ekeys[s->nekeys++] = ck_strdup(k);
}

static const struct sch_nslookup *nsl(const struct ipa *a)
{
    return a->h ? &a->h->ns : NULL;
}

/* Counts what `other` (on node n) contributes for the incoming pod p, with sign. */
static void account(const struct ipa *a, struct ipa_state *s, const struct sch_pod *p,
                    const struct sch_pod *other, const struct sch_node *n, intptr_t sign)
{
    for (size_t t = 0; t < other->nreq_anti; t++) {
        const char *v = sch_node_label(n, other->req_anti[t].topology_key);
        if (v && sch_term_matches(&other->req_anti[t], p, nsl(a)))
            add_existing(s, other->req_anti[t].topology_key, v, sign);
    }
    for (size_t t = 0; t < p->nreq_aff; t++) {
        const char *v = sch_node_label(n, p->req_aff[t].topology_key);
        if (v && sch_term_matches(&p->req_aff[t], other, nsl(a)))
            add(&s->aff, p->req_aff[t].topology_key, v, sign);
    }
    for (size_t t = 0; t < p->nreq_anti; t++) {
        const char *v = sch_node_label(n, p->req_anti[t].topology_key);
        if (v && sch_term_matches(&p->req_anti[t], other, nsl(a)))
            add(&s->anti, p->req_anti[t].topology_key, v, sign);
    }
}

struct term_arg {
    const struct ipa *a;
    const struct sch_term *t;
};

static struct sch_mcount term_count(const void *arg, const struct sch_node *n)
{
    const struct term_arg *ta = arg;
    struct sch_mcount r = {0, sch_node_label(n, ta->t->topology_key)};
    for (size_t j = 0; r.domain && j < n->npods; j++)
        r.count += sch_term_matches(ta->t, n->pods[j], nsl(ta->a));
    return r;
}

/* out[key, value] += existing pods matching t in that topology domain. Terms without a
 * namespaceSelector (whose matches depend on pods and nodes only) are counted through the
 * cross-cycle cache; the others by a full scan. */
static void count_term(const struct ipa *a, const struct sch_term *t,
                       const struct sch_snapshot *snap, struct ck_strmap *out)
{
    struct term_arg ta = {a, t};
    if (t->ns_sel) {
        for (size_t i = 0; i < snap->n; i++) {
            struct sch_mcount c = term_count(&ta, snap->nodes[i]);
            if (c.count)
                add(out, t->topology_key, c.domain, (intptr_t)c.count);
        }
        return;
    }
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    char *sel = t->sel ? sel_to_string(t->sel) : NULL;
    ck_buf_appendf(&b, "%s\x01%s\x01", t->topology_key, sel ? sel : "\x02none");
    free(sel);
    for (size_t i = 0; i < t->nns; i++)
        ck_buf_appendf(&b, "%s,", t->namespaces[i]);
    const struct sch_mentry *e = sch_mcache_get(a->mc, b.data, snap, term_count, &ta);
    ck_buf_release(&b);
    const char *k;
    void *v;
    for (size_t it = 0; ck_strmap_next(sch_mentry_domains(e), &it, &k, &v);) {
        const struct sch_mdomain *d = v;
        if (d->sum)
            add(out, t->topology_key, k, (intptr_t)d->sum);
    }
}

static enum sch_code ipa_pre_filter(void *self, struct sch_cycle *cs, const struct sch_pod *p,
                                    void **fs, struct sch_status *st)
{
    (void)st;
    const struct ipa *a = self;
    const struct sch_snapshot *snap = cs->snap;
    if (!p->nreq_aff && !p->nreq_anti && snap->nwith_req_anti == 0)
        return SCH_SKIP;
    struct ipa_state *s = ck_calloc(1, sizeof(*s));
    struct ipa_state none = {0};
    (void)none;
    /* existing pods' required anti-affinity */
    for (size_t i = 0; i < snap->nwith_req_anti; i++) {
        const struct sch_node *n = snap->nodes[snap->with_req_anti[i]];
        for (size_t j = 0; j < n->npods; j++) {
            const struct sch_pod *o = n->pods[j];
            for (size_t t = 0; t < o->nreq_anti; t++) {
                if (!sch_term_matches(&o->req_anti[t], p, nsl(a)))
                    continue;
                const char *v = sch_node_label(n, o->req_anti[t].topology_key);
                if (v)
                    add_existing(s, o->req_anti[t].topology_key, v, 1);
            }
        }
    }
    /* the incoming pod's required terms against every existing pod */
    for (size_t t = 0; t < p->nreq_aff; t++)
        count_term(a, &p->req_aff[t], snap, &s->aff);
    for (size_t t = 0; t < p->nreq_anti; t++)
        count_term(a, &p->req_anti[t], snap, &s->anti);
    *fs = s;
    return SCH_OK;
}

static bool any_positive(const struct ck_strmap *m)
{
    const char *k;
    void *v;
    for (size_t it = 0; ck_strmap_next(m, &it, &k, &v);)
        if ((intptr_t)v > 0)
            return true;
    return false;
}

static enum sch_code ipa_filter(void *self, const void *fs, const struct sch_pod *p,
                                const struct sch_node *n, struct sch_status *st)
{
    const struct ipa *a = self;
    const struct ipa_state *s = fs;
    /* satisfyPodAffinity */
    bool exist = true;
    for (size_t t = 0; t < p->nreq_aff; t++) {
        const char *v = sch_node_label(n, p->req_aff[t].topology_key);
        if (!v)
            return sch_status_set(st, SCH_UNRESOLVABLE, "node(s) didn't match pod affinity rules");
        if (get(&s->aff, p->req_aff[t].topology_key, v) <= 0)
            exist = false;
    }
    if (!exist) {
        bool self_match = !any_positive(&s->aff);
        for (size_t t = 0; t < p->nreq_aff && self_match; t++)
            self_match = sch_term_matches(&p->req_aff[t], p, nsl(a));
        if (!self_match)
            return sch_status_set(st, SCH_UNRESOLVABLE, "node(s) didn't match pod affinity rules");
    }
    /* satisfyPodAntiAffinity */
    for (size_t t = 0; t < p->nreq_anti; t++) {
        const char *v = sch_node_label(n, p->req_anti[t].topology_key);
        if (v && get(&s->anti, p->req_anti[t].topology_key, v) > 0)
            return sch_status_set(st, SCH_UNSCHEDULABLE,
                                  "node(s) didn't match pod anti-affinity rules");
    }
    /* satisfyExistingPodsAntiAffinity */
    for (size_t i = 0; i < s->nekeys; i++) {
        const char *nv = sch_node_label(n, s->ekeys[i]);
        if (nv && get(&s->existing_anti, s->ekeys[i], nv) > 0)
            return sch_status_set(st, SCH_UNSCHEDULABLE,
                                  "node(s) didn't satisfy existing pods anti-affinity rules");
    }
    return SCH_OK;
}

static void ipa_add_pod(void *self, void *fs, const struct sch_pod *p, const struct sch_pod *other,
                        const struct sch_node *n)
{
    if (fs)
        account(self, fs, p, other, n, 1);
}

static void ipa_remove_pod(void *self, void *fs, const struct sch_pod *p,
                           const struct sch_pod *other, const struct sch_node *n)
{
    if (fs)
        account(self, fs, p, other, n, -1);
}

/* ---- Score ------------------------------------------------------------------------------ */

static void score_key(struct ipa_state *s, const char *key)
{
    for (size_t i = 0; i < s->nkeys; i++)
        if (!strcmp(s->keys[i], key))
            return;
    s->keys = ck_realloc(s->keys, (s->nkeys + 1) * sizeof(char *));
    s->keys[s->nkeys++] = ck_strdup(key);
}

static void process_term(struct ipa_state *s, const struct sch_term *t, int64_t weight,
                         const struct sch_pod *target, const struct sch_node *n,
                         const struct sch_nslookup *nl)
{
    const char *v = sch_node_label(n, t->topology_key);
    if (!v || !sch_term_matches(t, target, nl))
        return;
    score_key(s, t->topology_key);
    add(&s->score, t->topology_key, v, (intptr_t)weight);
}

static enum sch_code ipa_pre_score(void *self, struct sch_cycle *cs, const struct sch_pod *p,
                                   const size_t *nodes, size_t nn, void **ss, struct sch_status *st)
{
    (void)nodes, (void)st;
    const struct ipa *a = self;
    const struct sch_snapshot *snap = cs->snap;
    bool has_pref = p->npref_aff || p->npref_anti;
    /* without preferred terms of its own, only existing pods' terms that score matter */
    size_t count = has_pref ? snap->n : snap->nwith_score_aff;
    if (nn == 0 || count == 0)
        return SCH_SKIP;
    struct ipa_state *s = ck_calloc(1, sizeof(*s));
    for (size_t i = 0; i < count; i++) {
        const struct sch_node *n = snap->nodes[has_pref ? i : snap->with_score_aff[i]];
        for (size_t j = 0; j < n->npods; j++) {
            const struct sch_pod *o = n->pods[j];
            if (!has_pref && !o->score_aff)
                continue;
            for (size_t t = 0; t < p->npref_aff; t++)
                process_term(s, &p->pref_aff[t], p->pref_aff[t].weight, o, n, nsl(a));
            for (size_t t = 0; t < p->npref_anti; t++)
                process_term(s, &p->pref_anti[t], -p->pref_anti[t].weight, o, n, nsl(a));
            if (a->hard_weight > 0 && json_object_size(n->nd->labels))
                for (size_t t = 0; t < o->nreq_aff; t++)
                    process_term(s, &o->req_aff[t], a->hard_weight, p, n, NULL);
            for (size_t t = 0; t < o->npref_aff; t++)
                process_term(s, &o->pref_aff[t], o->pref_aff[t].weight, p, n, NULL);
            for (size_t t = 0; t < o->npref_anti; t++)
                process_term(s, &o->pref_anti[t], -o->pref_anti[t].weight, p, n, NULL);
        }
    }
    if (s->score.len == 0) {
        state_free(s);
        return SCH_SKIP;
    }
    *ss = s;
    return SCH_OK;
}

static int64_t ipa_score(void *self, const void *ss, const struct sch_pod *p,
                         const struct sch_node *n)
{
    (void)self, (void)p;
    const struct ipa_state *s = ss;
    int64_t score = 0;
    for (size_t i = 0; i < s->nkeys; i++) {
        const char *v = sch_node_label(n, s->keys[i]);
        if (v)
            score += get(&s->score, s->keys[i], v);
    }
    return score;
}

static void ipa_normalize(void *self, const void *ss, const struct sch_pod *p,
                          struct sch_node_score *sc, size_t n)
{
    (void)self, (void)ss, (void)p;
    int64_t min = INT64_MAX, max = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        if (sc[i].score < min)
            min = sc[i].score;
        if (sc[i].score > max)
            max = sc[i].score;
    }
    int64_t diff = max - min;
    for (size_t i = 0; i < n; i++)
        sc[i].score = diff > 0 ? (int64_t)((double)SCH_MAX_NODE_SCORE *
                                           ((double)(sc[i].score - min) / (double)diff))
                               : 0;
}

const struct sch_plugin_def sch_plugin_inter_pod_affinity = {
    .name = "InterPodAffinity",
    .default_weight = 2,
    .create = ipa_create,
    .destroy = ipa_destroy,
    .free_state = state_free,
    .pre_filter = ipa_pre_filter,
    .filter = ipa_filter,
    .add_pod = ipa_add_pod,
    .remove_pod = ipa_remove_pod,
    .pre_score = ipa_pre_score,
    .score = ipa_score,
    .normalize = ipa_normalize,
};

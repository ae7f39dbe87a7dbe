/* SPDX-License-Identifier: Apache-2.0 */
/* API Priority and Fairness, the engine's half: upstream's bootstrap FlowSchemas and
 * PriorityLevelConfigurations (flowcontrol.apiserver.k8s.io/v1, as of 1.33: the mandatory
 * exempt and catch-all ones, and the suggested ones, each created when missing, with the
 * apf.kubernetes.io/autoupdate-spec annotation), and the classification of a request: the
 * first FlowSchema in matchingPrecedence order (ties by name) whose rules match the request's
 * subject and resource or non-resource attributes and whose priority level exists, the flow
 * (schema name + distinguisher: ByUser the user name, ByNamespace the namespace), the level's
 * queuing parameters and, for a LIST, the object count upstream's list work estimator reads
 * (the whole resource, as it is served from the cache). The parsed configuration is a
 * snapshot rebuilt when either resource's table changes. The queueing itself is the front
 * end's (http/http_apf.c). */
#include "apiserver/authz/rbac.h"
#include "apiserver/endpoints/endpoints.h"
#include "apiserver/endpoints/flowcontrol.h"
#include "lib/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define FC_GROUP "flowcontrol.apiserver.k8s.io"
#define ANN_AUTOUPDATE "apf.kubernetes.io/autoupdate-spec"

/* ---- bootstrap objects ------------------------------------------------------------------ */

#define ALL_RES                                                                                    \
    "\"resourceRules\":[{\"verbs\":[\"*\"],\"apiGroups\":[\"*\"],\"resources\":[\"*\"],"           \
    "\"clusterScope\":true,\"namespaces\":[\"*\"]}]"
#define ALL_NONRES "\"nonResourceRules\":[{\"verbs\":[\"*\"],\"nonResourceURLs\":[\"*\"]}]"
#define GROUP(g) "{\"kind\":\"Group\",\"group\":{\"name\":\"" g "\"}}"
#define USER(u) "{\"kind\":\"User\",\"user\":{\"name\":\"" u "\"}}"
#define KS_SA                                                                                      \
    "{\"kind\":\"ServiceAccount\",\"serviceAccount\":{\"namespace\":\"kube-system\","              \
    "\"name\":\"*\"}}"
#define LEASES_ALL                                                                                 \
    "{\"verbs\":[\"get\",\"create\",\"update\"],\"apiGroups\":[\"coordination.k8s.io\"],"          \
    "\"resources\":[\"leases\"],\"namespaces\":[\"*\"]}"

struct fc_boot {
    bool fs; /* FlowSchema, else PriorityLevelConfiguration */
    bool mandatory;
    const char *name;
    const char *spec; /* JSON */
};

#define PL_Q(shares, lend, q, h, l)                                                                \
    "{\"type\":\"Limited\",\"limited\":{\"nominalConcurrencyShares\":" #shares                     \
    ",\"lendablePercent\":" #lend ",\"limitResponse\":{\"type\":\"Queue\",\"queuing\":{"           \
    "\"queues\":" #q ",\"handSize\":" #h ",\"queueLengthLimit\":" #l "}}}}"
#define FS(pl, prec, dm, rules)                                                                    \
    "{\"priorityLevelConfiguration\":{\"name\":\"" pl "\"},\"matchingPrecedence\":" #prec dm       \
    ",\"rules\":[" rules "]}"
#define BY_USER ",\"distinguisherMethod\":{\"type\":\"ByUser\"}"
#define BY_NS ",\"distinguisherMethod\":{\"type\":\"ByNamespace\"}"

static const struct fc_boot boot[] = {
    {false, true, "exempt",
     "{\"type\":\"Exempt\",\"exempt\":{\"nominalConcurrencyShares\":0,\"lendablePercent\":0}}"},
    {false, true, "catch-all",
     "{\"type\":\"Limited\",\"limited\":{\"nominalConcurrencyShares\":5,\"lendablePercent\":0,"
     "\"limitResponse\":{\"type\":\"Reject\"}}}"},
    {false, false, "system", PL_Q(30, 33, 64, 6, 50)},
    {false, false, "node-high", PL_Q(40, 25, 64, 6, 50)},
    {false, false, "leader-election", PL_Q(10, 0, 16, 4, 50)},
    {false, false, "workload-high", PL_Q(40, 50, 128, 6, 50)},
    {false, false, "workload-low", PL_Q(100, 90, 128, 6, 50)},
    {false, false, "global-default", PL_Q(20, 50, 128, 6, 50)},
    {true, true, "exempt",
     FS("exempt", 1, "",
        "{\"subjects\":[" GROUP("system:masters") "]," ALL_RES "," ALL_NONRES "}")},
    {true, true, "catch-all",
     FS("catch-all", 10000, BY_USER,
        "{\"subjects\":[" GROUP("system:unauthenticated") "," GROUP(
            "system:authenticated") "]," ALL_RES "," ALL_NONRES "}")},
    {true, false, "probes",
     FS("exempt", 2, "",
        "{\"subjects\":[" GROUP("system:unauthenticated") "," GROUP(
            "system:authenticated") "],"
                                    "\"nonResourceRules\":[{\"verbs\":[\"get\"],"
                                    "\"nonResourceURLs\":[\"/healthz\","
                                    "\"/readyz\",\"/livez\"]}]}")},
    {true, false, "system-leader-election",
     FS("leader-election", 100, BY_USER,
        "{\"subjects\":[" USER("system:kube-controller-manager") "," USER(
            "system:kube-scheduler") "," KS_SA "],\"resourceRules\":[{\"verbs\":[\"get\","
                                               "\"create\",\"update\"],"
                                     "\"apiGroups\":[\"\"],\"resources\":[\"endpoints\","
                                     "\"configmaps\"],"
                                     "\"namespaces\":[\"kube-system\"]}," LEASES_ALL "]}")},
    {true, false, "endpoint-controller",
     FS("workload-high", 150, BY_USER,
        "{\"subjects\":[" USER(
            "system:kube-controller-manager") ",{\"kind\":\"ServiceAccount\","
                                              "\"serviceAccount\":{\"namespace\":\"kube-system\","
                                              "\"name\":\"endpoint-controller\"}}],"
                                              "\"resourceRules\":[{\"verbs\":[\"get\",\"create\","
                                              "\"update\"],\"apiGroups\":[\"\"],"
                                              "\"resources\":[\"endpoints\"],\"namespaces\":[\"*\"]"
                                              "}]}")},
    {true, false, "workload-leader-election",
     FS("leader-election", 200, BY_USER,
        "{\"subjects\":[" KS_SA "],\"resourceRules\":[{\"verbs\":[\"get\",\"create\",\"update\"],"
        "\"apiGroups\":[\"\"],\"resources\":[\"endpoints\",\"configmaps\"],"
        "\"namespaces\":[\"*\"]}," LEASES_ALL "]}")},
    {true, false, "system-node-high",
     FS("node-high", 400, BY_USER,
        "{\"subjects\":[" GROUP(
            "system:nodes") "],\"resourceRules\":[{\"verbs\":[\"*\"],"
                            "\"apiGroups\":[\"\"],\"resources\":[\"nodes\",\"nodes/"
                            "status\"],\"clusterScope\":true,"
                            "\"namespaces\":[\"*\"]},{\"verbs\":[\"*\"],\"apiGroups\":["
                            "\"coordination.k8s.io\"],"
                            "\"resources\":[\"leases\"],\"namespaces\":[\"*\"]}]}")},
    {true, false, "system-nodes",
     FS("system", 500, BY_USER,
        "{\"subjects\":[" GROUP("system:nodes") "]," ALL_RES "," ALL_NONRES "}")},
    {true, false, "kube-controller-manager",
     FS("workload-high", 800, BY_NS,
        "{\"subjects\":[" USER("system:kube-controller-manager") "]," ALL_RES "," ALL_NONRES "}")},
    {true, false, "kube-scheduler",
     FS("workload-high", 800, BY_NS,
        "{\"subjects\":[" USER("system:kube-scheduler") "]," ALL_RES "," ALL_NONRES "}")},
    {true, false, "kube-system-service-accounts",
     FS("workload-high", 900, BY_NS, "{\"subjects\":[" KS_SA "]," ALL_RES "," ALL_NONRES "}")},
    {true, false, "service-accounts",
     FS("workload-low", 9000, BY_USER,
        "{\"subjects\":[" GROUP("system:serviceaccounts") "]," ALL_RES "," ALL_NONRES "}")},
    {true, false, "global-default",
     FS("global-default", 9900, BY_USER,
        "{\"subjects\":[" GROUP("system:unauthenticated") "," GROUP(
            "system:authenticated") "]," ALL_RES "," ALL_NONRES "}")},
};

static const struct reg_resource *fs_res(void)
{
    return reg_find(FC_GROUP, "v1", "flowschemas");
}

static const struct reg_resource *pl_res(void)
{
    return reg_find(FC_GROUP, "v1", "prioritylevelconfigurations");
}

/* Creates every bootstrap object that is missing (upstream's configuration producer: the
 * mandatory ones are restored, the suggested ones created when absent; objects users changed
 * and marked autoupdate-spec=false are left alone). Failures are logged, not fatal. */
int eng_flowcontrol_bootstrap(struct api_server *s, struct ck_err *err)
{
    const struct reg_resource *fsr = fs_res(), *plr = pl_res();
    (void)err;

    if (!fsr || !plr)
        return 0;
    for (size_t i = 0; i < sizeof(boot) / sizeof(boot[0]); i++) {
        const struct reg_resource *r = boot[i].fs ? fsr : plr;
        struct eng_obj *o = eng_cache_get(&s->cache, r, NULL, boot[i].name);
        if (o) {
            eng_obj_unref(o);
            continue;
        }
        json_t *spec = json_loads(boot[i].spec, 0, NULL);
        json_t *obj =
            json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:o}", "apiVersion", FC_GROUP "/v1", "kind",
                      boot[i].fs ? "FlowSchema" : "PriorityLevelConfiguration", "metadata", "name",
                      boot[i].name, "annotations", ANN_AUTOUPDATE, "true", "spec", spec);
        struct ck_err e = CK_ERR_INIT;
        if (!obj || eng_internal_create(s, r, NULL, obj, &e) < 0)
            ck_warn("flowcontrol bootstrap: %s %s: %s", r->plural, boot[i].name,
                    obj ? e.msg : "bad built-in object");
        json_decref(obj);
    }
    return 0;
}

/* ---- the parsed configuration ------------------------------------------------------------ */

struct fc_pl {
    char *name, uid[48];
    bool exempt, reject;
    int shares, queues, hand, qll;
};

struct fc_fs {
    char *name, uid[48];
    long long prec;
    int dm; /* 0 none, 1 ByUser, 2 ByNamespace */
    int pl; /* index in cfg->pls */
    json_t *rules;
};

struct eng_fc_cfg {
    atomic_int refs;
    int64_t fs_rev, pl_rev;
    struct fc_pl *pls;
    size_t npls;
    struct fc_fs *fss;
    size_t nfss;
    int total_shares;
};

static pthread_mutex_t fc_mu = PTHREAD_MUTEX_INITIALIZER;
/* One snapshot per engine (tests run several in a process). */
struct fc_slot {
    struct api_server *s;
    struct eng_fc_cfg *cfg;
};
static struct fc_slot fc_slots[16];

static void cfg_unref(struct eng_fc_cfg *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    for (size_t i = 0; i < c->npls; i++)
        free(c->pls[i].name);
    for (size_t i = 0; i < c->nfss; i++) {
        free(c->fss[i].name);
        json_decref(c->fss[i].rules);
    }
    free(c->pls);
    free(c->fss);
    free(c);
}

void eng_flowcontrol_free(struct api_server *s)
{
    pthread_mutex_lock(&fc_mu);
    for (size_t i = 0; i < sizeof(fc_slots) / sizeof(fc_slots[0]); i++)
        if (fc_slots[i].s == s) {
            cfg_unref(fc_slots[i].cfg);
            fc_slots[i] = (struct fc_slot){0};
        }
    pthread_mutex_unlock(&fc_mu);
}

static long long jint(json_t *o, const char *k, long long dflt)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* The objects of r (new references), under the cache's read lock. */
static struct eng_obj **table_objs(struct api_server *s, const struct reg_resource *r, size_t *n,
                                   int64_t *rev)
{
    struct eng_obj **v = NULL;
    struct eng_cursor cur;

    pthread_rwlock_rdlock(&s->cache.mu);
    const struct eng_table *t = &s->cache.tables[r->idx];
    *n = t->n;
    *rev = t->last_rev;
    v = ck_calloc(t->n ? t->n : 1, sizeof(*v));
    size_t k = 0;
    for (eng_table_first(t, &cur); k < t->n && eng_cursor_obj(&cur); eng_cursor_next(&cur))
        v[k++] = eng_obj_ref(eng_cursor_obj(&cur));
    *n = k;
    pthread_rwlock_unlock(&s->cache.mu);
    return v;
}

static int fs_cmp(const void *a, const void *b)
{
    const struct fc_fs *x = a, *y = b;
    if (x->prec != y->prec)
        return x->prec < y->prec ? -1 : 1;
    return strcmp(x->name, y->name);
}

static struct eng_fc_cfg *cfg_build(struct api_server *s)
{
    struct eng_fc_cfg *c = ck_calloc(1, sizeof(*c));
    size_t npl, nfs;
    struct eng_obj **pls = table_objs(s, pl_res(), &npl, &c->pl_rev);
    struct eng_obj **fss = table_objs(s, fs_res(), &nfs, &c->fs_rev);

    atomic_init(&c->refs, 1);
    c->pls = ck_calloc(npl ? npl : 1, sizeof(*c->pls));
    for (size_t i = 0; i < npl; i++) {
        json_t *o = eng_obj_json(pls[i]);
        json_t *spec = json_object_get(o, "spec");
        json_t *lim = json_object_get(spec, "limited");
        json_t *lr = json_object_get(lim, "limitResponse");
        json_t *q = json_object_get(lr, "queuing");
        struct fc_pl *p = &c->pls[c->npls];
        if (!o) {
            eng_obj_unref(pls[i]);
            continue;
        }
        p->name = ck_strdup(pls[i]->name);
        snprintf(p->uid, sizeof(p->uid), "%s", pls[i]->uid);
        p->exempt = !strcmp(jstr(spec, "type"), "Exempt");
        p->shares = (int)jint(lim, "nominalConcurrencyShares", 30);
        p->reject = !strcmp(jstr(lr, "type"), "Reject");
        p->queues = (int)jint(q, "queues", 64);
        p->hand = (int)jint(q, "handSize", 8);
        p->qll = (int)jint(q, "queueLengthLimit", 50);
        if (!p->exempt)
            c->total_shares += p->shares;
        c->npls++;
        json_decref(o);
        eng_obj_unref(pls[i]);
    }
    c->fss = ck_calloc(nfs ? nfs : 1, sizeof(*c->fss));
    for (size_t i = 0; i < nfs; i++) {
        json_t *o = eng_obj_json(fss[i]);
        json_t *spec = json_object_get(o, "spec");
        const char *pl = jstr(json_object_get(spec, "priorityLevelConfiguration"), "name");
        const char *dm = jstr(json_object_get(spec, "distinguisherMethod"), "type");
        int pli = -1;
        for (size_t k = 0; k < c->npls && pli < 0; k++)
            if (!strcmp(c->pls[k].name, pl))
                pli = (int)k;
        if (o && pli >= 0) { /* a schema naming a missing level is skipped (dangling) */
            struct fc_fs *f = &c->fss[c->nfss++];
            f->name = ck_strdup(fss[i]->name);
            snprintf(f->uid, sizeof(f->uid), "%s", fss[i]->uid);
            f->prec = jint(spec, "matchingPrecedence", 1000);
            f->dm = !strcmp(dm, "ByUser") ? 1 : !strcmp(dm, "ByNamespace") ? 2 : 0;
            f->pl = pli;
            f->rules = json_incref(json_object_get(spec, "rules"));
        }
        json_decref(o);
        eng_obj_unref(fss[i]);
    }
    qsort(c->fss, c->nfss, sizeof(*c->fss), fs_cmp);
    free(pls);
    free(fss);
    return c;
}

static int64_t table_rev(struct api_server *s, const struct reg_resource *r)
{
    pthread_rwlock_rdlock(&s->cache.mu);
    int64_t rev = s->cache.tables[r->idx].last_rev;
    pthread_rwlock_unlock(&s->cache.mu);
    return rev;
}

/* The current snapshot (a reference), rebuilt when either table changed. */
static struct eng_fc_cfg *cfg_get(struct api_server *s)
{
    int64_t fr = table_rev(s, fs_res()), pr = table_rev(s, pl_res());
    struct fc_slot *slot = NULL, *empty = NULL;
    struct eng_fc_cfg *c;

    pthread_mutex_lock(&fc_mu);
    for (size_t i = 0; i < sizeof(fc_slots) / sizeof(fc_slots[0]) && !slot; i++) {
        if (fc_slots[i].s == s)
            slot = &fc_slots[i];
        else if (!fc_slots[i].s && !empty)
            empty = &fc_slots[i];
    }
    if (!slot && empty) {
        slot = empty;
        slot->s = s;
    }
    c = slot ? slot->cfg : NULL;
    if (c && c->fs_rev == fr && c->pl_rev == pr) {
        atomic_fetch_add(&c->refs, 1);
        pthread_mutex_unlock(&fc_mu);
        return c;
    }
    pthread_mutex_unlock(&fc_mu);
    c = cfg_build(s); /* outside the lock: two builders at once just both build */
    pthread_mutex_lock(&fc_mu);
    if (slot && slot->s == s) {
        cfg_unref(slot->cfg);
        slot->cfg = c;
        atomic_fetch_add(&c->refs, 1);
    }
    pthread_mutex_unlock(&fc_mu);
    return c;
}

/* ---- matching ------------------------------------------------------------------------------ */

static bool list_has(json_t *arr, const char *v)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        const char *s = json_string_value(e);
        if (s && (!strcmp(s, "*") || !strcmp(s, v)))
            return true;
    }
    return false;
}

static bool subject_matches(json_t *sub, const struct rbac_attrs *a)
{
    const char *kind = jstr(sub, "kind");

    if (!strcmp(kind, "User")) {
        const char *n = jstr(json_object_get(sub, "user"), "name");
        return !strcmp(n, "*") || !strcmp(n, a->user ? a->user : "");
    }
    if (!strcmp(kind, "Group")) {
        const char *n = jstr(json_object_get(sub, "group"), "name");
        if (!strcmp(n, "*"))
            return true;
        for (size_t i = 0; a->groups && a->groups[i]; i++)
            if (!strcmp(a->groups[i], n))
                return true;
        return false;
    }
    if (!strcmp(kind, "ServiceAccount")) {
        json_t *sa = json_object_get(sub, "serviceAccount");
        const char *ns = jstr(sa, "namespace"), *n = jstr(sa, "name");
        const char *u = a->user ? a->user : "";
        const char *pre = "system:serviceaccount:";
        if (strncmp(u, pre, strlen(pre)))
            return false;
        u += strlen(pre);
        const char *colon = strchr(u, ':');
        if (!colon || strlen(ns) != (size_t)(colon - u) || strncmp(u, ns, (size_t)(colon - u)))
            return false;
        return !strcmp(n, "*") || !strcmp(n, colon + 1);
    }
    return false;
}

static bool resource_rule_matches(json_t *r, const struct rbac_attrs *a)
{
    char full[256];
    const char *ns = a->ns ? a->ns : "";

    if (!list_has(json_object_get(r, "verbs"), a->verb) ||
        !list_has(json_object_get(r, "apiGroups"), a->api_group ? a->api_group : ""))
        return false;
    snprintf(full, sizeof(full), "%s%s%s", a->resource ? a->resource : "",
             a->subresource && *a->subresource ? "/" : "", a->subresource ? a->subresource : "");
    if (!list_has(json_object_get(r, "resources"), full))
        return false;
    if (!*ns)
        return json_is_true(json_object_get(r, "clusterScope"));
    return list_has(json_object_get(r, "namespaces"), ns);
}

static bool nonresource_rule_matches(json_t *r, const struct rbac_attrs *a)
{
    size_t i;
    json_t *e;
    const char *path = a->path ? a->path : "";

    if (!list_has(json_object_get(r, "verbs"), a->verb))
        return false;
    json_array_foreach(json_object_get(r, "nonResourceURLs"), i, e)
    {
        const char *u = json_string_value(e);
        size_t n = u ? strlen(u) : 0;
        if (!u)
            continue;
        if (!strcmp(u, "*") || !strcmp(u, path))
            return true;
        /* a URL ending in a slash and a star matches its prefix and everything under it */
        if (n >= 2 && u[n - 1] == '*' && u[n - 2] == '/' &&
            (!strncmp(path, u, n - 1) || (strlen(path) == n - 2 && !strncmp(path, u, n - 2))))
            return true;
    }
    return false;
}

bool eng_fc_rules_match(json_t *rules, const struct rbac_attrs *a)
{
    size_t i, k;
    json_t *prws, *e;

    json_array_foreach(rules, i, prws)
    {
        bool who = false;
        json_array_foreach(json_object_get(prws, "subjects"), k, e)
        {
            if ((who = subject_matches(e, a)))
                break;
        }
        if (!who)
            continue;
        json_array_foreach(
            json_object_get(prws, a->resource_request ? "resourceRules" : "nonResourceRules"), k, e)
        {
            if (a->resource_request ? resource_rule_matches(e, a) : nonresource_rule_matches(e, a))
                return true;
        }
    }
    return false;
}

/* FNV-1a over the schema name, a 0 byte and the distinguisher (upstream hashes the pair). */
static uint64_t flow_hash(const char *fs, const char *dist)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = fs; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ 0) * 1099511628211ULL;
    for (const char *p = dist; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

int api_flowcontrol_classify(struct api_server *s, const struct rbac_attrs *a,
                             struct api_fc_class *out)
{
    struct eng_fc_cfg *c;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    out->objects = -1;
    if (!fs_res() || !pl_res())
        return -1;
    c = cfg_get(s);
    for (size_t i = 0; i < c->nfss; i++) {
        const struct fc_fs *f = &c->fss[i];
        if (!eng_fc_rules_match(f->rules, a))
            continue;
        const struct fc_pl *p = &c->pls[f->pl];
        const char *dist = f->dm == 1   ? (a->user ? a->user : "")
                           : f->dm == 2 ? (a->ns ? a->ns : "")
                                        : "";
        snprintf(out->flow_schema, sizeof(out->flow_schema), "%s", f->name);
        snprintf(out->fs_uid, sizeof(out->fs_uid), "%s", f->uid);
        snprintf(out->priority_level, sizeof(out->priority_level), "%s", p->name);
        snprintf(out->pl_uid, sizeof(out->pl_uid), "%s", p->uid);
        out->exempt = p->exempt;
        out->reject = p->reject;
        out->shares = p->shares;
        out->total_shares = c->total_shares;
        out->queues = p->queues > 0 ? p->queues : 1;
        out->hand_size = p->hand > 0 ? p->hand : 1;
        out->queue_length_limit = p->qll > 0 ? p->qll : 1;
        out->flow_hash = flow_hash(f->name, dist);
        rc = 0;
        break;
    }
    for (size_t i = 0; rc < 0 && i < c->npls; i++) {
        /* nothing matched (the catch-all schema deleted): upstream's implicit catch-all */
        const struct fc_pl *p = &c->pls[i];
        if (strcmp(p->name, "catch-all"))
            continue;
        snprintf(out->flow_schema, sizeof(out->flow_schema), "catch-all");
        snprintf(out->priority_level, sizeof(out->priority_level), "%s", p->name);
        snprintf(out->pl_uid, sizeof(out->pl_uid), "%s", p->uid);
        out->exempt = p->exempt;
        out->reject = p->reject;
        out->shares = p->shares;
        out->total_shares = c->total_shares;
        out->queues = p->queues > 0 ? p->queues : 1;
        out->hand_size = p->hand > 0 ? p->hand : 1;
        out->queue_length_limit = p->qll > 0 ? p->qll : 1;
        out->flow_hash = flow_hash("catch-all", a->user ? a->user : "");
        rc = 0;
    }
    cfg_unref(c);
    if (rc == 0 && a->resource_request && a->verb && !strcmp(a->verb, "list") &&
        !(a->name && *a->name)) {
        const struct reg_resource *r = NULL;
        for (size_t i = 0; i < reg_count() && !r; i++) {
            const struct reg_resource *x = reg_at(i);
            if (!strcmp(x->plural, a->resource ? a->resource : "") &&
                !strcmp(x->group, a->api_group ? a->api_group : ""))
                r = x->storage ? x->storage : x;
        }
        if (r) {
            pthread_rwlock_rdlock(&s->cache.mu);
            out->objects = (long long)s->cache.tables[r->idx].n;
            pthread_rwlock_unlock(&s->cache.mu);
        }
    }
    return rc;
}

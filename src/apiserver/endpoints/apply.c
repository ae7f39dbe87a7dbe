/* SPDX-License-Identifier: Apache-2.0 */
/* Server-side apply and managedFields, as upstream's field manager (k8s.io/apimachinery
 * util/managedfields/internal over sigs.k8s.io/structured-merge-diff v4 merge.Updater):
 * - managers are keyed by (manager, operation, subresource, and apiVersion for Update);
 * - Apply merges the configuration into the live object by the schema, removes what the
 *   manager applied before and no longer applies unless another manager owns it, and fails
 *   with 409 when it changes a field another manager owns (force=true takes it over);
 * - Update (every other write) gives its manager the fields it added or changed and takes
 *   them from the others; removed fields leave every manager;
 * - fields the strategy resets (status on the main resource, spec on /status) and the
 *   server-owned metadata are never owned; entries are sorted and capped as upstream;
 * - "kubectl" applies upgrade from client-side apply: conflicts on fields whose live value
 *   still matches the last-applied annotation are forced, and the annotation is kept current.
 * The set algebra is in apply_set.c, the typed walks in apply_typed.c. */
#include "apiserver/endpoints/apply.h"
#include "apiserver/endpoints/apply_int.h"
#include "apiserver/endpoints/endpoints.h"
#include "apiserver/endpoints/write_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"
#define MAX_UPDATE_MANAGERS 10

struct mgr {
    char *manager, *op, *api_version, *sub; /* sub: "" for the main resource */
    char *time;                             /* NULL when unset */
    struct fp_set *set;                     /* empty: the entry is dropped on encoding */
};

struct mgrs {
    size_t n, cap;
    struct mgr *v;
};

struct ctx {
    const struct reg_resource *res;
    struct ty t;
    struct fp_set *ignore; /* reset fields: never owned */
    struct fp_set *strip;  /* server-owned metadata: never owned */
    const char *sub;       /* "" for the main resource */
};

/* ---- managers ------------------------------------------------------------------------ */

static void mgrs_release(struct mgrs *m)
{
    for (size_t i = 0; i < m->n; i++) {
        struct mgr *e = &m->v[i];
        free(e->manager);
        free(e->op);
        free(e->api_version);
        free(e->sub);
        free(e->time);
        fp_set_free(e->set);
    }
    free(m->v);
    memset(m, 0, sizeof(*m));
}

static bool is_apply(const struct mgr *e)
{
    return strcmp(e->op, "Apply") == 0;
}

static long mgr_find(const struct mgrs *m, const char *manager, const char *op,
                     const char *api_version, const char *sub)
{
    for (size_t i = 0; i < m->n; i++) {
        const struct mgr *e = &m->v[i];
        if (strcmp(e->manager, manager) == 0 && strcmp(e->op, op) == 0 &&
            strcmp(e->sub, sub) == 0 &&
            (strcmp(op, "Apply") == 0 || strcmp(e->api_version, api_version) == 0))
            return (long)i;
    }
    return -1;
}

/* The entry of that identity, created (empty, no time) when missing. */
static struct mgr *mgr_get(struct mgrs *m, const char *manager, const char *op,
                           const char *api_version, const char *sub)
{
    long i = mgr_find(m, manager, op, api_version, sub);
    if (i >= 0)
        return &m->v[i];
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 4;
        m->v = ck_realloc(m->v, m->cap * sizeof(*m->v));
    }
    struct mgr *e = &m->v[m->n++];
    *e = (struct mgr){.manager = ck_strdup(manager),
                      .op = ck_strdup(op),
                      .api_version = ck_strdup(api_version),
                      .sub = ck_strdup(sub ? sub : ""),
                      .set = fp_set_new()};
    return e;
}

/* DecodeManagedFields; -1 when an entry is malformed. */
static int mgrs_decode(const json_t *mf, struct mgrs *m)
{
    memset(m, 0, sizeof(*m));
    size_t i;
    json_t *e;
    json_array_foreach(mf, i, e)
    {
        const char *man = json_string_value(json_object_get(e, "manager"));
        const char *op = json_string_value(json_object_get(e, "operation"));
        const char *av = json_string_value(json_object_get(e, "apiVersion"));
        const char *ft = json_string_value(json_object_get(e, "fieldsType"));
        const char *sub = json_string_value(json_object_get(e, "subresource"));
        const char *tm = json_string_value(json_object_get(e, "time"));
        json_t *fv = json_object_get(e, "fieldsV1");
        if (!op || (strcmp(op, "Apply") != 0 && strcmp(op, "Update") != 0) || !av || !*av || !ft ||
            strcmp(ft, "FieldsV1") != 0)
            return -1;
        struct fp_set *s = fv ? fp_set_from_json(fv) : fp_set_new();
        if (!s)
            return -1;
        struct mgr *me = mgr_get(m, man ? man : "", op, av, sub ? sub : "");
        fp_set_free(me->set);
        me->set = s;
        free(me->api_version);
        me->api_version = ck_strdup(av);
        free(me->time);
        me->time = tm ? ck_strdup(tm) : NULL;
    }
    return 0;
}

/* The manager identifier upstream keys and sorts conflicts by (BuildManagerIdentifier). */
static char *mgr_ident(const struct mgr *e)
{
    json_t *o = json_object();
    if (*e->manager)
        json_object_set_new(o, "manager", json_string(e->manager));
    json_object_set_new(o, "operation", json_string(e->op));
    if (!is_apply(e))
        json_object_set_new(o, "apiVersion", json_string(e->api_version));
    if (*e->sub)
        json_object_set_new(o, "subresource", json_string(e->sub));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static int cmp_time(const char *a, const char *b)
{
    if (!a || !b)
        return a ? 1 : b ? -1 : 0;
    return strcmp(a, b);
}

static int cmp_entries(const void *pa, const void *pb)
{
    const struct mgr *p = pa, *q = pb;
    int c = strcmp(p->op, q->op);
    if (!c)
        c = cmp_time(p->time, q->time);
    if (!c)
        c = strcmp(p->manager, q->manager);
    if (!c)
        c = strcmp(p->api_version, q->api_version);
    if (!c)
        c = strcmp(p->sub, q->sub);
    return c;
}

/* managedFields entries, sorted as upstream (operation, time, manager, apiVersion,
 * subresource); NULL when there are none. */
static json_t *mgrs_encode(struct mgrs *m)
{
    if (m->n > 1)
        qsort(m->v, m->n, sizeof(*m->v), cmp_entries);
    json_t *arr = json_array();
    for (size_t i = 0; i < m->n; i++) {
        const struct mgr *e = &m->v[i];
        if (fp_set_empty(e->set))
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "manager", json_string(e->manager));
        json_object_set_new(o, "operation", json_string(e->op));
        json_object_set_new(o, "apiVersion", json_string(e->api_version));
        if (e->time)
            json_object_set_new(o, "time", json_string(e->time));
        json_object_set_new(o, "fieldsType", json_string("FieldsV1"));
        json_object_set_new(o, "fieldsV1", fp_set_to_json(e->set));
        if (*e->sub)
            json_object_set_new(o, "subresource", json_string(e->sub));
        json_array_append_new(arr, o);
    }
    if (json_array_size(arr))
        return arr;
    json_decref(arr);
    return NULL;
}

static void set_now(struct mgr *e)
{
    char ts[21];
    free(e->time);
    e->time = ck_strdup(eng_rfc3339_now(ts));
}

/* capManagersManager: more than 10 Update entries → the oldest merge into "ancient-changes"
 * (one bucket per apiVersion). */
static void cap_updaters(struct mgrs *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++)
        n += !is_apply(&m->v[i]) && !fp_set_empty(m->v[i].set);
    if (n <= MAX_UPDATE_MANAGERS)
        return;
    qsort(m->v, m->n, sizeof(*m->v), cmp_entries); /* Updates sort after Applies, by time */
    char *first_av[8] = {0};
    long first_i[8];
    size_t nfirst = 0;
    for (size_t i = 0; i < m->n && n > MAX_UPDATE_MANAGERS; i++) {
        struct mgr *e = &m->v[i];
        if (is_apply(e) || fp_set_empty(e->set) || strcmp(e->manager, "ancient-changes") == 0)
            continue;
        size_t f = 0;
        while (f < nfirst && strcmp(first_av[f], e->api_version) != 0)
            f++;
        if (f == nfirst) {
            if (nfirst < 8) {
                first_av[nfirst] = e->api_version;
                first_i[nfirst++] = (long)i;
            }
            continue;
        }
        struct mgr *first = &m->v[first_i[f]];
        if (strcmp(first->manager, "ancient-changes") != 0) {
            free(first->manager);
            first->manager = ck_strdup("ancient-changes");
            free(first->sub);
            first->sub = ck_strdup("");
        }
        fp_set_union_in(&first->set, e->set);
        free(first->time);
        first->time = e->time ? ck_strdup(e->time) : NULL;
        fp_set_free(e->set);
        e->set = fp_set_new();
        n--;
    }
}

/* ---- the typed algorithm (merge.Updater) ---------------------------------------------- */

static struct fp_set *path_set(const char *const *paths, size_t n)
{
    struct fp_set *s = fp_set_new();
    for (size_t i = 0; i < n; i++) {
        struct fp_pe pe[2];
        size_t l = strcspn(paths[i], ".");
        char a[64];
        snprintf(a, sizeof(a), "%.*s", (int)l, paths[i]);
        fp_pe_field(&pe[0], a);
        if (paths[i][l])
            fp_pe_field(&pe[1], paths[i] + l + 1);
        fp_set_insert(s, pe, paths[i][l] ? 2 : 1);
        fp_pe_release(&pe[0]);
        if (paths[i][l])
            fp_pe_release(&pe[1]);
    }
    return s;
}

static void ctx_init(struct ctx *x, const struct reg_resource *res, const char *sub)
{
    static const char *const strip[] = {"apiVersion",
                                        "kind",
                                        "metadata",
                                        "metadata.name",
                                        "metadata.namespace",
                                        "metadata.creationTimestamp",
                                        "metadata.selfLink",
                                        "metadata.uid",
                                        "metadata.clusterName",
                                        "metadata.generation",
                                        "metadata.managedFields",
                                        "metadata.resourceVersion"};
    x->res = res;
    x->sub = sub ? sub : "";
    x->t = ty_root(schema_lookup_kind(res->group, res->version, res->kind));
    x->strip = path_set(strip, sizeof(strip) / sizeof(strip[0]));
    const char *reset = NULL;
    if (strcmp(x->sub, "status") == 0)
        reset = "spec";
    else if (!*x->sub && (res->flags & REG_STATUS))
        reset = "status";
    x->ignore = reset ? path_set(&reset, 1) : fp_set_new();
}

static void ctx_release(struct ctx *x)
{
    fp_set_free(x->strip);
    fp_set_free(x->ignore);
}

static void cmp_filter(struct ctx *x, struct typed_cmp *c)
{
    struct fp_set **s[] = {&c->added, &c->modified, &c->removed};
    for (size_t i = 0; i < 3; i++) {
        struct fp_set *r = fp_set_rdiff(*s[i], x->ignore);
        fp_set_free(*s[i]);
        *s[i] = r;
    }
}

/* Updater.update: another manager's fields the change touches are conflicts (an error
 * unless force, else taken from it); removed fields leave every other manager. conf gets one
 * set per manager (caller frees) when non-NULL. Returns 1 on conflicts without force. */
static int smd_update(struct ctx *x, const json_t *live, const json_t *nw, struct mgrs *m, long me,
                      bool force, struct fp_set ***conf, struct typed_cmp *out)
{
    struct typed_cmp c;
    typed_compare(x->t, live, nw, &c);
    cmp_filter(x, &c);
    struct fp_set *touched = fp_set_union(c.modified, c.added);
    struct fp_set **cs = ck_calloc(m->n + 1, sizeof(*cs));
    bool any = false;
    for (size_t i = 0; i < m->n; i++) {
        if ((long)i == me)
            continue;
        cs[i] = fp_set_inter(m->v[i].set, touched);
        any = any || !fp_set_empty(cs[i]);
    }
    fp_set_free(touched);
    int rc = 0;
    if (any && !force) {
        rc = 1;
    } else {
        for (size_t i = 0; i < m->n; i++) {
            if ((long)i == me)
                continue;
            fp_set_diff_in(&m->v[i].set, cs[i]);
            fp_set_diff_in(&m->v[i].set, c.removed);
        }
    }
    if (conf && rc) {
        *conf = cs;
    } else {
        for (size_t i = 0; i < m->n; i++)
            fp_set_free(cs[i]);
        free(cs);
    }
    if (out)
        *out = c;
    else
        typed_cmp_release(&c);
    return rc;
}

static struct fp_set *field_set_loose(struct ctx *x, const json_t *v)
{
    struct fp_set *s = NULL;
    struct ck_err e = CK_ERR_INIT;
    if (typed_field_set(x->t, v, false, &s, &e) < 0)
        s = fp_set_new();
    return s;
}

/* Updater.prune: removes from merged what the manager's last applied set holds and no
 * manager owns any more, with the subtrees of removed items. New reference. */
static json_t *prune(struct ctx *x, json_t *merged, struct mgrs *m, const struct fp_set *last)
{
    struct fp_set *lastn = typed_named_members(x->t, last);
    json_t *pruned = typed_remove(x->t, merged, lastn);
    struct fp_set *managed = fp_set_new();
    for (size_t i = 0; i < m->n; i++)
        fp_set_union_in(&managed, m->v[i].set);
    /* addBackOwnedItems */
    struct fp_set *ms = field_set_loose(x, merged), *ps = field_set_loose(x, pruned);
    struct fp_set *msn = typed_named_members(x->t, ms), *psn = typed_named_members(x->t, ps);
    struct fp_set *mn = typed_named_members(x->t, managed);
    fp_set_union_in(&psn, mn);
    struct fp_set *drop = fp_set_diff(msn, psn);
    json_decref(pruned);
    pruned = typed_remove(x->t, merged, drop);
    fp_set_free(drop);
    fp_set_free(ps);
    fp_set_free(psn);
    fp_set_free(mn);
    fp_set_free(managed);
    /* addBackDanglingItems */
    ps = field_set_loose(x, pruned);
    psn = typed_named_members(x->t, ps);
    struct fp_set *gone = fp_set_diff(msn, psn);
    drop = fp_set_inter(gone, lastn);
    json_t *out = typed_remove(x->t, merged, drop);
    fp_set_free(gone);
    fp_set_free(drop);
    fp_set_free(ps);
    fp_set_free(psn);
    fp_set_free(ms);
    fp_set_free(msn);
    fp_set_free(lastn);
    json_decref(pruned);
    return out;
}

/* ---- conflicts -------------------------------------------------------------------------- */

static void print_manager(char *out, size_t n, const struct mgr *e)
{
    int l = snprintf(out, n, "\"%s\"", e->manager);
    if (*e->sub && l >= 0 && (size_t)l < n)
        l += snprintf(out + l, n - (size_t)l, " with subresource \"%s\"", e->sub);
    if (!is_apply(e) && l >= 0 && (size_t)l < n)
        snprintf(out + l, n - (size_t)l, " using %s", e->api_version);
}

struct conf_walk {
    struct ck_buf *msg;
    struct ck_err *err;
    const char *who;
    size_t count;
    bool list;
};

static void conf_path(const struct fp_pe *path, size_t n, void *ud)
{
    struct conf_walk *w = ud;
    struct ck_buf p = CK_BUF_INIT(1 << 16);
    fp_path_string(&p, path, n);
    if (w->msg) {
        if (w->list)
            ck_buf_appendf(w->msg, "\n- %s", p.data ? p.data : "");
        else
            ck_buf_appendf(w->msg, "%s: %s", w->who, p.data ? p.data : "");
    }
    if (w->err)
        ck_err_add_cause(w->err, "FieldManagerConflict", p.data ? p.data : "", "conflict with %s",
                         w->who);
    w->count++;
    ck_buf_release(&p);
}

static void count_path(const struct fp_pe *path, size_t n, void *ud)
{
    (void)path;
    (void)n;
    (*(size_t *)ud)++;
}

struct sorted_conf {
    char *ident;
    size_t i;
};

static int cmp_conf(const void *a, const void *b)
{
    return strcmp(((const struct sorted_conf *)a)->ident, ((const struct sorted_conf *)b)->ident);
}

/* NewConflictError: 409 with upstream's message and one FieldManagerConflict cause per
 * field, managers sorted by identifier. */
static int conflict_error(struct ck_err *err, const struct mgrs *m, struct fp_set **cs)
{
    size_t total = 0, nm = 0;
    struct sorted_conf *sc = ck_calloc(m->n + 1, sizeof(*sc));
    for (size_t i = 0; i < m->n; i++)
        if (!fp_set_empty(cs[i])) {
            fp_set_iterate(cs[i], count_path, &total);
            sc[nm++] = (struct sorted_conf){.ident = mgr_ident(&m->v[i]), .i = i};
        }
    qsort(sc, nm, sizeof(*sc), cmp_conf);
    struct ck_buf msg = CK_BUF_INIT(CK_ERR_MSG_MAX);
    if (total == 1)
        ck_buf_appends(&msg, "Apply failed with 1 conflict: conflict with ");
    else
        ck_buf_appendf(&msg, "Apply failed with %zu conflicts: ", total);
    ck_err_set(err, CK_R_CONFLICT, "conflict");
    for (size_t k = 0; k < nm; k++) {
        char who[300];
        print_manager(who, sizeof(who), &m->v[sc[k].i]);
        if (total > 1)
            ck_buf_appendf(&msg, "%sconflicts with %s:", k ? "\n" : "", who);
        struct conf_walk w = {.msg = &msg, .err = err, .who = who, .list = total > 1};
        fp_set_iterate(cs[sc[k].i], conf_path, &w);
        free(sc[k].ident);
    }
    free(sc);
    snprintf(err->msg, sizeof(err->msg), "%s", msg.data ? msg.data : "");
    ck_buf_release(&msg);
    return -1;
}

static void free_conf(struct fp_set **cs, size_t n)
{
    for (size_t i = 0; cs && i < n; i++)
        fp_set_free(cs[i]);
    free(cs);
}

/* lastAppliedManager: fields of the last-applied annotation whose live value still matches
 * it (the client-side apply owned them); NULL without a usable annotation. */
static struct fp_set *allowed_from_last_applied(struct ctx *x, const json_t *live)
{
    json_t *ann = json_object_get(json_object_get(live, "metadata"), "annotations");
    const char *s = json_string_value(json_object_get(ann, LAST_APPLIED));
    if (!s || !*s)
        return NULL;
    json_error_t je;
    json_t *la = json_loads(s, 0, &je);
    const char *av = json_string_value(json_object_get(la, "apiVersion"));
    if (!json_is_object(la) || !av || strcmp(av, x->res->api_version) != 0) {
        json_decref(la);
        return NULL;
    }
    struct fp_set *set = field_set_loose(x, la);
    struct typed_cmp c;
    typed_compare(x->t, la, live, &c);
    fp_set_diff_in(&set, c.modified);
    fp_set_diff_in(&set, c.added);
    fp_set_diff_in(&set, c.removed);
    typed_cmp_release(&c);
    json_decref(la);
    return set;
}

/* ---- Apply -------------------------------------------------------------------------- */

static json_t *without_mf(const json_t *obj)
{
    json_t *o = json_deep_copy(obj);
    json_object_del(json_object_get(o, "metadata"), "managedFields");
    return o;
}

/* One Apply (structuredMergeManager + stripMeta + managedFieldsUpdater). On conflicts
 * (without force) returns 1 with *cs set (m->n sets). */
static int apply_once(struct ctx *x, const json_t *live, const json_t *cfg, struct mgrs *m,
                      const char *manager, bool force, json_t **out, struct fp_set ***cs,
                      struct ck_err *err)
{
    *out = NULL;
    json_t *merged = NULL;
    struct fp_set *set = NULL;
    if (typed_field_set(x->t, cfg, true, &set, err) < 0 ||
        typed_merge(x->t, live, cfg, &merged, err) < 0) {
        fp_set_free(set);
        return -1;
    }
    struct mgr *me = mgr_get(m, manager, "Apply", x->res->api_version, x->sub);
    free(me->api_version);
    me->api_version = ck_strdup(x->res->api_version);
    struct fp_set *last = me->set;
    me->set = fp_set_rdiff(set, x->ignore);
    fp_set_free(set);
    if (!fp_set_empty(last)) {
        json_t *p = prune(x, merged, m, last);
        json_decref(merged);
        merged = p;
    }
    fp_set_free(last);
    long mi = me - m->v;
    int rc = smd_update(x, live, merged, m, mi, force, cs, NULL);
    if (rc) {
        json_decref(merged);
        return rc;
    }
    fp_set_diff_in(&m->v[mi].set, x->strip);
    if (!json_equal((json_t *)live, merged))
        set_now(&m->v[mi]);
    *out = merged;
    return 0;
}

/* The last-applied annotation kubectl's server-side apply keeps current (buildLastApplied:
 * the configuration without the annotation, as Go's JSON encoder writes it). */
static void update_last_applied(json_t *obj, const json_t *cfg)
{
    json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
    const char *s = json_string_value(json_object_get(ann, LAST_APPLIED));
    if (!s || !*s)
        return;
    json_t *c = json_deep_copy(cfg);
    json_t *cann = json_object_get(json_object_get(c, "metadata"), "annotations");
    json_object_del(cann, LAST_APPLIED);
    if (json_is_object(cann) && json_object_size(cann) == 0)
        json_object_del(json_object_get(c, "metadata"), "annotations");
    struct ck_buf b = CK_BUF_INIT(16 << 20);
    fp_go_json(&b, c);
    ck_buf_appendc(&b, '\n');
    json_object_set_new(ann, LAST_APPLIED, json_string(b.data));
    ck_buf_release(&b);
    json_decref(c);
}

int eng_apply_sub(const struct reg_resource *res, const char *sub, json_t *cur, json_t *cfg,
                  const char *manager, bool force, json_t **out, struct ck_err *err)
{
    *out = NULL;
    json_t *cmd = json_object_get(cfg, "metadata");
    json_t *cmf = json_object_get(cmd, "managedFields");
    if (cmf && !json_is_null(cmf))
        return ck_err_set(err, CK_R_BAD_REQUEST, "metadata.managedFields must be nil");
    struct ctx x;
    ctx_init(&x, res, sub);
    json_t *live = cur ? without_mf(cur) : json_object();
    const json_t *mf =
        cur ? json_object_get(json_object_get(cur, "metadata"), "managedFields") : NULL;
    int rc = -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct mgrs m;
        if (mgrs_decode(mf, &m) < 0) {
            mgrs_release(&m);
            memset(&m, 0, sizeof(m));
        }
        struct fp_set **cs = NULL;
        json_t *merged = NULL;
        size_t nm;
        rc = apply_once(&x, live, cfg, &m, manager, force || attempt > 0, &merged, &cs, err);
        nm = m.n;
        if (rc == 1 && attempt == 0 && strcmp(manager, "kubectl") == 0) {
            /* upgrade from client-side apply: conflicts the annotation explains are forced */
            struct fp_set *allowed = allowed_from_last_applied(&x, live);
            bool all = allowed != NULL;
            for (size_t i = 0; allowed && i < nm; i++) {
                if (!cs[i])
                    continue;
                fp_set_diff_in(&cs[i], allowed);
                all = all && fp_set_empty(cs[i]);
            }
            fp_set_free(allowed);
            if (all) {
                free_conf(cs, nm);
                mgrs_release(&m);
                continue;
            }
        }
        if (rc == 1) {
            rc = conflict_error(err, &m, cs);
            free_conf(cs, nm);
        } else if (rc == 0) {
            json_t *enc = mgrs_encode(&m);
            if (strcmp(manager, "kubectl") == 0)
                update_last_applied(merged, cfg);
            json_t *md = json_object_get(merged, "metadata");
            if (!json_is_object(md)) {
                md = json_object();
                json_object_set_new(merged, "metadata", md);
            }
            if (enc)
                json_object_set_new(md, "managedFields", enc);
            else
                json_object_del(md, "managedFields");
            *out = merged;
        }
        mgrs_release(&m);
        break;
    }
    json_decref(live);
    ctx_release(&x);
    return rc;
}

int eng_apply(const struct reg_resource *res, json_t *cur, json_t *cfg, const char *manager,
              bool force, json_t **out, struct ck_err *err)
{
    return eng_apply_sub(res, NULL, cur, cfg, manager, force, out, err);
}

void eng_apply_init_fields(const struct reg_resource *res, json_t *obj, const char *manager)
{
    struct ctx x;
    ctx_init(&x, res, NULL);
    struct mgrs m = {0};
    struct mgr *e = mgr_get(&m, manager, "Apply", res->api_version, "");
    fp_set_free(e->set);
    e->set = field_set_loose(&x, obj);
    struct fp_set *s = fp_set_rdiff(e->set, x.ignore);
    fp_set_free(e->set);
    e->set = fp_set_diff(s, x.strip);
    fp_set_free(s);
    set_now(e);
    json_t *enc = mgrs_encode(&m);
    if (enc)
        json_object_set_new(eng_md(obj), "managedFields", enc);
    mgrs_release(&m);
    ctx_release(&x);
}

/* ---- Update -------------------------------------------------------------------------- */

/* The live object of a create: upstream compares with the kind's zero Go object, whose
 * non-pointer structs (metadata, spec, status, templates, strategies) and the non-omitempty
 * containers list are present, so creating them does not own them as a whole. */
static void zero_skeleton(const struct reg_resource *res, struct ty t, json_t *into, int depth)
{
    static const char *const value_structs[] = {
        "metadata", "spec", "status", "template", "strategy", "updateStrategy", "jobTemplate"};
    (void)t;
    if (depth > 4)
        return;
    const struct schema_type *st = t.f ? t.f->ref : t.st;
    if (!st || st->kind != SCHEMA_T_STRUCT)
        return;
    if (strcmp(st->name, "io.k8s.api.core.v1.PodSpec") == 0)
        json_object_set_new(into, "containers", json_null());
    for (size_t i = 0; i < sizeof(value_structs) / sizeof(value_structs[0]); i++) {
        const struct schema_field *f = schema_field_find(st, value_structs[i]);
        if (!f || f->coll != SCHEMA_C_ONE || f->prim != SCHEMA_P_REF || !f->ref ||
            f->ref->kind != SCHEMA_T_STRUCT)
            continue;
        if (strcmp(value_structs[i], "template") == 0 &&
            strcmp(res->kind, "ReplicationController") == 0)
            continue; /* *PodTemplateSpec there */
        json_t *sub = json_object();
        zero_skeleton(res, (struct ty){.st = f->ref, .f = f}, sub, depth + 1);
        json_object_set_new(into, value_structs[i], sub);
    }
}

void eng_track_update(const struct reg_resource *res, json_t *cur, json_t *out, const char *manager,
                      const char *sub)
{
    struct ctx x;
    ctx_init(&x, res, sub);
    json_t *md = eng_md(out);
    struct mgrs m;
    if (mgrs_decode(json_object_get(md, "managedFields"), &m) < 0) {
        mgrs_release(&m);
        memset(&m, 0, sizeof(m));
    }
    json_t *live;
    if (cur) {
        live = without_mf(cur);
    } else {
        live = json_object();
        if (x.t.st)
            zero_skeleton(res, x.t, live, 0);
    }
    json_t *nw = without_mf(out);
    struct typed_cmp c;
    smd_update(&x, live, nw, &m, -1, true, NULL, &c);
    struct fp_set *set = fp_set_union(c.modified, c.added);
    fp_set_diff_in(&set, x.strip);
    if (!fp_set_empty(set)) {
        struct mgr *e = mgr_get(&m, manager, "Update", res->api_version, x.sub);
        fp_set_union_in(&e->set, set);
        set_now(e);
    }
    fp_set_free(set);
    typed_cmp_release(&c);
    cap_updaters(&m);
    json_t *enc = mgrs_encode(&m);
    if (enc)
        json_object_set_new(md, "managedFields", enc);
    else
        json_object_del(md, "managedFields");
    mgrs_release(&m);
    json_decref(live);
    json_decref(nw);
    ctx_release(&x);
}

const char *eng_manager_name(const struct eng_req *r, char *buf, size_t n)
{
    const char *fm = eng_q(r, "fieldManager");
    if (fm && *fm)
        return fm;
    const char *ua = r->rq->user_agent;
    if (!ua || !*ua)
        return "kube-apiserver";
    size_t l = strcspn(ua, "/ ");
    snprintf(buf, n, "%.*s", (int)(l < 128 ? l : 128), ua);
    return buf;
}

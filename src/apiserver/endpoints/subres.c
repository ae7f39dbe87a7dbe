/* SPDX-License-Identifier: Apache-2.0 */
/* Subresources with their own shapes: R/scale (autoscaling/v1 Scale: get, update, patch) and
 * pods/binding (sets spec.nodeName and the PodScheduled condition). */
#include "apiserver/endpoints/endpoints.h"
#include "apiserver/endpoints/bind.h"
#include "apiserver/endpoints/write_int.h"
#include "lib/jsonpatch.h"
#include "lib/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* ---- label selector text (Scale.status.selector) ------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *expr_text(json_t *e)
{
    const char *k = json_string_value(json_object_get(e, "key"));
    const char *op = json_string_value(json_object_get(e, "operator"));
    if (!k || !op)
        return NULL;
    if (strcmp(op, "Exists") == 0)
        return ck_strdup(k);
    if (strcmp(op, "DoesNotExist") == 0)
        return ck_asprintf("!%s", k);
    struct ck_buf b = CK_BUF_INIT(1 << 16);
    ck_buf_appendf(&b, "%s %s (", k, strcmp(op, "In") == 0 ? "in" : "notin");
    json_t *vals = json_object_get(e, "values");
    size_t n = json_array_size(vals);
    char **v = ck_calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        v[i] = ck_strdup(json_string_value(json_array_get(vals, i)) ?: "");
    qsort(v, n, sizeof(char *), cmp_str);
    for (size_t i = 0; i < n; i++) {
        ck_buf_appendf(&b, "%s%s", i ? "," : "", v[i]);
        free(v[i]);
    }
    free(v);
    ck_buf_appendc(&b, ')');
    return ck_buf_detach(&b, NULL);
}

/* Renders a LabelSelector (or an RC's plain map) as upstream's String(): sorted by key. */
static char *selector_text(json_t *sel, bool plain_map)
{
    size_t cap = 16, n = 0;
    char **parts = ck_calloc(cap, sizeof(char *));
    json_t *ml = plain_map ? sel : json_object_get(sel, "matchLabels");
    const char *k;
    json_t *v;
    json_object_foreach(ml, k, v)
    {
        if (n + 1 >= cap)
            parts = ck_realloc(parts, (cap *= 2) * sizeof(char *));
        parts[n++] = ck_asprintf("%s=%s", k, json_string_value(v) ?: "");
    }
    size_t i;
    json_t *e;
    json_array_foreach(plain_map ? NULL : json_object_get(sel, "matchExpressions"), i, e)
    {
        char *t = expr_text(e);
        if (!t)
            continue;
        if (n + 1 >= cap)
            parts = ck_realloc(parts, (cap *= 2) * sizeof(char *));
        parts[n++] = t;
    }
    qsort(parts, n, sizeof(char *), cmp_str);
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    ck_buf_appends(&b, "");
    for (i = 0; i < n; i++) {
        ck_buf_appendf(&b, "%s%s", i ? "," : "", parts[i]);
        free(parts[i]);
    }
    free(parts);
    return ck_buf_detach(&b, NULL);
}

static json_t *scale_of(const struct reg_resource *res, json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata"), *smd = json_object();
    const char *keep[] = {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"};
    for (size_t i = 0; i < 5; i++) {
        json_t *v = json_object_get(md, keep[i]);
        if (v)
            json_object_set(smd, keep[i], v);
    }
    json_t *spec = json_object_get(obj, "spec"), *st = json_object_get(obj, "status");
    json_int_t want = json_integer_value(json_object_get(spec, "replicas"));
    json_int_t have = json_integer_value(json_object_get(st, "replicas"));
    bool rc = strcmp(res->plural, "replicationcontrollers") == 0;
    char *sel = selector_text(json_object_get(spec, "selector"), rc);
    json_t *sc = json_pack("{s:s,s:s,s:o,s:{s:I},s:{s:I,s:s}}", "kind", "Scale", "apiVersion",
                           "autoscaling/v1", "metadata", smd, "spec", "replicas", want, "status",
                           "replicas", have, "selector", sel);
    free(sel);
    return sc;
}

static void reply_json(struct eng_req *r, int status, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    eng_reply(r, status, s, strlen(s));
    free(s);
}

struct scale_ctx {
    json_t *scale; /* desired Scale (PUT body or patched Scale) */
    json_t *patch;
    const char *ct;
};

static int mutate_scale(struct eng_req *r, struct eng_upd *u, json_t *cur, json_t **out,
                        struct ck_err *err)
{
    struct scale_ctx *c = u->ctx;
    json_t *want = c->scale;
    json_t *patched = NULL;
    if (c->patch) {
        json_t *sc = scale_of(r->res, cur);
        int rc = c->ct && strstr(c->ct, "json-patch") ? jsonpatch_apply(sc, c->patch, &patched, err)
                                                    : mergepatch_apply(sc, c->patch, &patched,
                                                                       err);
        json_decref(sc);
        if (rc < 0) {
            json_decref(cur);
            return -1;
        }
        want = patched;
    }
    json_t *rep = json_object_get(json_object_get(want, "spec"), "replicas");
    json_int_t n = json_is_integer(rep) ? json_integer_value(rep) : 0;
    if (n < 0) {
        char d[128];
        snprintf(d, sizeof(d), "Invalid value: %lld: must be greater than or equal to 0",
                 (long long)n);
        ck_err_set(err, CK_R_INVALID, "Scale.autoscaling \"%s\" is invalid: spec.replicas: %s",
                   r->name, d);
        snprintf(err->kind, sizeof(err->kind), "Scale");
        snprintf(err->group, sizeof(err->group), "autoscaling");
        snprintf(err->name, sizeof(err->name), "%s", r->name);
        ck_err_add_cause(err, "FieldValueInvalid", "spec.replicas", "%s", d);
        json_decref(patched);
        json_decref(cur);
        return -1;
    }
    const char *rv = eng_md_str(want, "resourceVersion");
    json_t *md = eng_md(cur);
    if (rv && *rv && !c->patch) {
        json_object_set_new(md, "resourceVersion", json_string(rv));
        u->client_rv = true;
    }
    json_t *spec = json_object_get(cur, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(cur, "spec", spec);
    }
    json_object_set_new(spec, "replicas", json_integer(n));
    json_decref(patched);
    *out = cur;
    return 0;
}

int eng_serve_scale(struct eng_req *r)
{
    struct ck_err err = CK_ERR_INIT;
    const char *m = r->rq->method;
    if (strcmp(m, "GET") == 0) {
        struct eng_obj *o = eng_cache_get(&r->s->cache, r->res, r->ns, r->name);
        if (!o) {
            eng_err_not_found(&err, r->res, r->name);
            eng_reply_err(r, &err);
            return -1;
        }
        json_t *j = eng_obj_json(o), *sc = scale_of(r->res, j);
        reply_json(r, 200, sc);
        json_decref(sc);
        json_decref(j);
        eng_obj_unref(o);
        return 0;
    }
    struct scale_ctx c = {.ct = r->rq->content_type};
    int bad = 0;
    bool dry = eng_dry_run(r, &err, &bad);
    int rc = bad;
    if (rc == 0 && strcmp(m, "PUT") == 0) {
        rc = eng_decode_req(r->rq, ENG_FV_IGNORE, r->rs, &c.scale, &err);
        if (rc == 0)
            rc = eng_check_gvk(r->res, c.scale, "Scale", "autoscaling/v1", &err);
    } else if (rc == 0) {
        rc = eng_decode_json(r->rq->body, r->rq->body_len, ENG_FV_IGNORE, &c.patch, NULL, &err);
    }
    struct eng_upd u = {.dry = dry, .mutate = mutate_scale, .ctx = &c, .internal = true};
    if (rc == 0)
        rc = eng_update(r, &u, false, &err);
    if (rc == 0) {
        struct ck_buf b = CK_BUF_INIT((size_t)1 << 30);
        eng_append_stamped(&b, r->res, u.val, u.len, u.rev);
        json_error_t je;
        json_t *obj = json_loadb(b.data, b.len, 0, &je);
        json_t *sc = scale_of(r->res, obj);
        reply_json(r, 200, sc);
        json_decref(sc);
        json_decref(obj);
        ck_buf_release(&b);
    } else {
        eng_reply_err(r, &err);
    }
    eng_upd_release(&u);
    json_decref(c.scale);
    json_decref(c.patch);
    return rc;
}

/* ---- pods/binding ------------------------------------------------------------------- */

/* The general path (annotations on the Binding, dry run, shapes the splice leaves alone):
 * the same checks as bind.c's fast path, on the parsed pod. */
static int mutate_bind(struct eng_req *r, struct eng_upd *u, json_t *cur, json_t **out,
                       struct ck_err *err)
{
    json_t *b = u->ctx;
    const char *node = json_string_value(json_object_get(json_object_get(b, "target"), "name"));
    const char *puid = eng_md_str(b, "uid"), *prv = eng_md_str(b, "resourceVersion");
    const char *cuid = eng_md_str(cur, "uid"), *crv = eng_md_str(cur, "resourceVersion");
    const char *why = NULL;
    char d[400];
    if (puid && *puid && strcmp(puid, cuid ? cuid : "") != 0) {
        snprintf(d, sizeof(d), "UID in precondition: %s, UID in object meta: %s", puid,
                 cuid ? cuid : "");
        why = d;
    } else if (prv && *prv && strcmp(prv, crv ? crv : "") != 0) {
        snprintf(d, sizeof(d),
                 "ResourceVersion in precondition: %s, ResourceVersion in object meta: %s", prv,
                 crv ? crv : "");
        why = d;
    }
    if (why) {
        char full[600];
        snprintf(full, sizeof(full),
                 "StorageError: invalid object, Code: 4, Key: /registry/pods/%s/%s, "
                 "ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: %s",
                 r->ns ? r->ns : "", r->name, why);
        eng_conflict(err, r->res, r->name, full);
        json_decref(cur);
        return -1;
    }
    json_t *spec = json_object_get(cur, "spec");
    const char *have = json_string_value(json_object_get(spec, "nodeName"));
    if (json_object_get(eng_md(cur), "deletionTimestamp")) {
        eng_bind_conflict(err, r->name, "pod %s is being deleted, cannot be assigned to a host",
                          r->name);
        json_decref(cur);
        return -1;
    }
    if (have && *have) {
        eng_bind_conflict(err, r->name, "pod %s is already assigned to node \"%s\"", r->name,
                          have);
        json_decref(cur);
        return -1;
    }
    if (json_array_size(json_object_get(spec, "schedulingGates"))) {
        eng_bind_conflict(err, r->name, "pod %s has non-empty .spec.schedulingGates", r->name);
        json_decref(cur);
        return -1;
    }
    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(cur, "spec", spec);
    }
    json_object_set_new(spec, "nodeName", json_string(node));
    json_t *ann = json_object_get(json_object_get(b, "metadata"), "annotations");
    if (json_object_size(ann)) {
        json_t *md = eng_md(cur), *ca = json_object_get(md, "annotations");
        if (!json_is_object(ca)) {
            ca = json_object();
            json_object_set_new(md, "annotations", ca);
        }
        json_object_update(ca, ann);
    }
    json_t *st = json_object_get(cur, "status");
    if (!json_is_object(st)) {
        st = json_object();
        json_object_set_new(cur, "status", st);
    }
    json_t *conds = json_object_get(st, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(st, "conditions", conds);
    }
    /* upstream's UpdatePodCondition: replaced in place, lastTransitionTime kept when the
     * status was True already */
    size_t i, at = json_array_size(conds);
    json_t *c;
    char ts[64];
    const char *ltt = eng_rfc3339_now(ts);
    json_array_foreach(conds, i, c)
    {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && strcmp(t, "PodScheduled") == 0) {
            const char *was = json_string_value(json_object_get(c, "status"));
            const char *old = json_string_value(json_object_get(c, "lastTransitionTime"));
            if (was && strcmp(was, "True") == 0 && old) {
                snprintf(ts, sizeof(ts), "%s", old);
                ltt = ts;
            }
            at = i;
            break;
        }
    }
    json_t *nc = json_pack("{s:s,s:s,s:n,s:s}", "type", "PodScheduled", "status", "True",
                           "lastProbeTime", "lastTransitionTime", ltt);
    if (at < json_array_size(conds))
        json_array_set_new(conds, at, nc);
    else
        json_array_append_new(conds, nc);
    *out = cur;
    return 0;
}

int eng_serve_binding(struct eng_req *r)
{
    struct ck_err err = CK_ERR_INIT;
    json_t *b = NULL;
    int bad = 0;
    bool dry = eng_dry_run(r, &err, &bad);
    int rc = bad < 0 ? -1 : eng_decode_req(r->rq, ENG_FV_IGNORE, r->rs, &b, &err);
    if (rc == 0)
        rc = eng_check_gvk(r->res, b, "Binding", "v1", &err);
    const char *bname = rc == 0 ? eng_md_str(b, "name") : NULL;
    if (rc == 0 && bname && *bname && strcmp(bname, r->name) != 0)
        rc = ck_err_set(&err, CK_R_BAD_REQUEST,
                        "name in URL does not match name in Binding object");
    const char *node = rc == 0 ? json_string_value(json_object_get(json_object_get(b, "target"),
                                                                   "name"))
                               : NULL;
    if (rc == 0 && (!node || !*node)) {
        eng_invalid(&err, r->res, r->name, "target.name", "FieldValueRequired",
                    "Required value");
        rc = -1;
    }
    if (rc == 0 && !dry &&
        !json_object_size(json_object_get(json_object_get(b, "metadata"), "annotations")) &&
        eng_bind_fast(r, node, eng_md_str(b, "uid"), eng_md_str(b, "resourceVersion"), &err)) {
        json_decref(b);
        return r->rs->status == 201 ? 0 : -1;
    }
    struct eng_upd u = {.dry = dry, .mutate = mutate_bind, .ctx = b, .internal = true};
    if (rc == 0)
        rc = eng_update(r, &u, false, &err);
    eng_upd_release(&u);
    json_decref(b);
    if (rc < 0) {
        eng_reply_err(r, &err);
        return -1;
    }
    static const char ok[] =
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Success\","
        "\"code\":201}";
    eng_reply(r, 201, ok, sizeof(ok) - 1);
    return 0;
}

/* ---- pods/eviction ------------------------------------------------------------------ */

static int mutate_pdb_take(struct eng_req *r, struct eng_upd *u, json_t *cur, json_t **out,
                           struct ck_err *err)
{
    const char *pod = u->ctx;
    json_t *st = json_object_get(cur, "status");
    json_int_t allowed = json_integer_value(json_object_get(st, "disruptionsAllowed"));
    if (!json_is_object(st) || allowed <= 0) {
        json_int_t want = json_integer_value(json_object_get(st, "desiredHealthy"));
        json_int_t have = json_integer_value(json_object_get(st, "currentHealthy"));
        ck_err_set(err, CK_R_TOO_MANY_REQUESTS,
                   "Cannot evict pod as it would violate the pod's disruption budget.");
        ck_err_add_cause(err, "DisruptionBudget", "",
                         "The disruption budget %s needs %lld healthy pods and has %lld "
                         "currently",
                         r->name, (long long)want, (long long)have);
        err->retry_after = 10;
        json_decref(cur);
        return -1;
    }
    json_object_set_new(st, "disruptionsAllowed", json_integer(allowed - 1));
    json_t *dp = json_object_get(st, "disruptedPods");
    if (!json_is_object(dp)) {
        dp = json_object();
        json_object_set_new(st, "disruptedPods", dp);
    }
    char ts[21];
    json_object_set_new(dp, pod, json_string(eng_rfc3339_now(ts)));
    *out = cur;
    return 0;
}

/* The single PodDisruptionBudget covering pod (new reference), NULL if none; -1 if several. */
static int find_pdb(struct eng_req *r, json_t *pod, struct eng_obj **out)
{
    const struct reg_resource *pdbr = reg_find("policy", "v1", "poddisruptionbudgets");
    json_t *labels = json_object_get(json_object_get(pod, "metadata"), "labels");
    *out = NULL;
    int found = 0;
    pthread_rwlock_rdlock(&r->s->cache.mu);
    struct eng_table *t = &r->s->cache.tables[pdbr->idx];
    struct eng_obj **cand = ck_calloc(t->n + 1, sizeof(*cand));
    size_t nc = 0;
    struct eng_cursor cur;
    eng_table_first(t, &cur);
    for (struct eng_obj *o; (o = eng_cursor_obj(&cur)); eng_cursor_next(&cur))
        if (strcmp(o->ns, r->ns) == 0)
            cand[nc++] = eng_obj_ref(o);
    pthread_rwlock_unlock(&r->s->cache.mu);
    for (size_t i = 0; i < nc; i++) {
        json_t *j = eng_obj_json(cand[i]);
        struct sel *s = NULL;
        struct ck_err e = CK_ERR_INIT;
        bool match = j && sel_from_label_selector(json_object_get(json_object_get(j, "spec"),
                                                                  "selector"),
                                                  &s, &e) == 0 &&
                     !sel_empty(s) && sel_matches(s, sel_lookup_json, labels);
        sel_free(s);
        json_decref(j);
        if (match && found++ == 0)
            *out = eng_obj_ref(cand[i]);
        eng_obj_unref(cand[i]);
    }
    free(cand);
    if (found > 1) {
        eng_obj_unref(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

static int evict_checks(struct eng_req *r, json_t *ev, struct ck_err *err)
{
    const char *av = json_string_value(json_object_get(ev, "apiVersion"));
    const char *k = json_string_value(json_object_get(ev, "kind"));
    if ((k && strcmp(k, "Eviction")) ||
        (av && strcmp(av, "policy/v1") && strcmp(av, "policy/v1beta1")))
        return ck_err_set(err, CK_R_BAD_REQUEST, "the body must be a policy/v1 Eviction");
    const char *n = eng_md_str(ev, "name");
    if (n && *n && strcmp(n, r->name) != 0)
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "name in URL does not match name in Eviction object");
    return 0;
}

int eng_serve_eviction(struct eng_req *r)
{
    struct ck_err err = CK_ERR_INIT;
    json_t *ev = NULL, *pod = NULL;
    struct eng_obj *pdb = NULL, *po = NULL;
    int bad = 0;
    bool dry = eng_dry_run(r, &err, &bad);
    int rc = bad < 0 ? -1 : eng_decode_req(r->rq, ENG_FV_IGNORE, r->rs, &ev, &err);
    if (rc == 0)
        rc = evict_checks(r, ev, &err);
    if (rc == 0 && !(po = eng_cache_get(&r->s->cache, r->res, r->ns, r->name))) {
        eng_err_not_found(&err, r->res, r->name);
        rc = -1;
    }
    const char *phase = NULL;
    if (rc == 0) {
        pod = eng_obj_json(po);
        phase = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
    }
    bool ignore_pdb = rc == 0 && (po->deleting || !phase || strcmp(phase, "Succeeded") == 0 ||
                                  strcmp(phase, "Failed") == 0 || strcmp(phase, "Pending") == 0);
    if (rc == 0 && !ignore_pdb && find_pdb(r, pod, &pdb) < 0)
        rc = ck_err_set(&err, CK_R_INTERNAL, "This pod has more than one PodDisruptionBudget, "
                                             "which the eviction subresource does not support.");
    if (rc == 0 && pdb) {
        struct eng_req pr = *r;
        pr.res = pdb->res;
        pr.name = pdb->name;
        struct eng_upd u = {.internal = true, .dry = dry, .mutate = mutate_pdb_take,
                            .ctx = r->name};
        rc = eng_update(&pr, &u, false, &err);
        eng_upd_release(&u);
    }
    if (rc == 0) {
        struct eng_del_opts o = {.dry = dry};
        json_t *d = json_object_get(ev, "deleteOptions");
        json_t *g = json_object_get(d, "gracePeriodSeconds");
        if (json_is_integer(g)) {
            o.has_grace = true;
            o.grace = json_integer_value(g) < 0 ? 0 : json_integer_value(g);
        }
        json_t *pre = json_object_get(d, "preconditions");
        o.pre_uid = json_string_value(json_object_get(pre, "uid"));
        o.pre_rv = json_string_value(json_object_get(pre, "resourceVersion"));
        bool gone;
        rc = eng_delete_one(r, &o, NULL, &gone, &err);
    }
    json_decref(ev);
    json_decref(pod);
    eng_obj_unref(po);
    eng_obj_unref(pdb);
    if (rc < 0) {
        eng_reply_err(r, &err);
        return -1;
    }
    static const char ok[] =
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Success\","
        "\"code\":201}";
    eng_reply(r, 201, ok, sizeof(ok) - 1);
    return 0;
}

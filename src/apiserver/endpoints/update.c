/* SPDX-License-Identifier: Apache-2.0 */
/* Updates: the read-modify-write loop with optimistic concurrency (409 on a stale client
 * resourceVersion, silent retry otherwise), update strategies (immutable metadata, status
 * vs main resource, generation), finalizer-driven removal, PUT and PATCH handlers. */
#include "apiserver/endpoints/endpoints.h"
#include "apiserver/storage/transform.h" /* encaudit */
#include "apiserver/endpoints/apply.h"
#include "apiserver/registry/schema.h"
#include "apiserver/registry/validation.h"
#include "apiserver/endpoints/write_int.h"
#include "lib/jsonpatch.h"
#include "lib/log.h"
#include "lib/yamljson.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

void eng_upd_release(struct eng_upd *u)
{
    free(u->val);
    u->val = NULL;
}

/* Everything but metadata and status differs? (generation tracking) */
static bool spec_changed(json_t *a, json_t *b)
{
    json_t *x = json_copy(a), *y = json_copy(b);
    const char *skip[] = {"metadata", "status", "apiVersion", "kind"};
    for (size_t i = 0; i < 4; i++) {
        json_object_del(x, skip[i]);
        json_object_del(y, skip[i]);
    }
    bool ch = !json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return ch;
}

static void copy_key(json_t *dst, json_t *src, const char *k)
{
    json_t *v = json_object_get(src, k);
    if (v)
        json_object_set(dst, k, v);
    else
        json_object_del(dst, k);
}

/* pods/ephemeralcontainers: only spec.ephemeralContainers changes, and only by additions. */
static json_t *ephemeral(const struct reg_resource *res, const char *name, json_t *cur,
                         json_t *nw, struct ck_err *err)
{
    json_t *was = json_object_get(json_object_get(cur, "spec"), "ephemeralContainers");
    json_t *now = json_object_get(json_object_get(nw, "spec"), "ephemeralContainers");
    size_t i, j;
    json_t *a, *b;
    json_array_foreach(was, i, a)
    {
        const char *n = json_string_value(json_object_get(a, "name"));
        bool kept = false;
        json_array_foreach(now, j, b)
        {
            const char *m = json_string_value(json_object_get(b, "name"));
            if (n && m && strcmp(n, m) == 0)
                kept = json_equal(a, b);
        }
        if (!kept) {
            char d[200];
            snprintf(d, sizeof(d), "Forbidden: existing ephemeral containers \"%s\" may not be "
                                   "removed or changed",
                     n ? n : "");
            eng_invalid(err, res, name, "spec.ephemeralContainers", "FieldValueForbidden", d);
            return NULL;
        }
    }
    json_t *out = json_deep_copy(cur);
    json_t *spec = json_object_get(out, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(out, "spec", spec);
    }
    if (now)
        json_object_set(spec, "ephemeralContainers", now);
    return out;
}

/* Applies the update strategy; returns the object to store (new reference). */
static json_t *strategy(struct eng_req *r, struct eng_upd *u, json_t *cur, json_t *nw,
                        struct ck_err *err)
{
    const struct reg_resource *res = r->res;
    json_t *out;
    if (u->internal)
        return json_incref(nw); /* the engine's own change: taken as is */
    if (u->sub && strcmp(u->sub, "status") == 0) {
        out = json_deep_copy(cur);
        copy_key(out, nw, "status");
    } else if (u->sub && strcmp(u->sub, "ephemeralcontainers") == 0) {
        out = ephemeral(res, r->name, cur, nw, err);
    } else if (u->sub && strcmp(u->sub, "finalize") == 0) {
        out = json_deep_copy(cur);
        json_t *spec = json_object_get(out, "spec");
        if (!json_is_object(spec)) {
            spec = json_object();
            json_object_set_new(out, "spec", spec);
        }
        copy_key(spec, json_object_get(nw, "spec"), "finalizers");
    } else {
        out = json_incref(nw);
        json_t *md = eng_md(out), *cmd = eng_md(cur);
        const char *uid = json_string_value(json_object_get(md, "uid"));
        const char *cuid = json_string_value(json_object_get(cmd, "uid"));
        if (uid && *uid && cuid && strcmp(uid, cuid) != 0) {
            char d[160];
            snprintf(d, sizeof(d), "Invalid value: \"%s\": field is immutable", uid);
            eng_invalid(err, res, r->name, "metadata.uid", "FieldValueInvalid", d);
            json_decref(out);
            return NULL;
        }
        const char *keep[] = {"uid", "creationTimestamp", "deletionTimestamp",
                              "deletionGracePeriodSeconds", "generation", "namespace", "name"};
        for (size_t i = 0; i < 7; i++)
            copy_key(md, cmd, keep[i]);
        json_object_del(md, "selfLink");
        json_t *mf = json_object_get(md, "managedFields");
        if (!json_array_size(mf)) /* omitted or [] keeps the stored ones */
            copy_key(md, cmd, "managedFields");
        else if (json_array_size(mf) == 1 && json_object_size(json_array_get(mf, 0)) == 0)
            json_object_del(md, "managedFields"); /* [{}] clears them */
        if (res->flags & REG_STATUS)
            copy_key(out, cur, "status");
        if (strcmp(res->plural, "services") == 0 && !res->group[0]) {
            /* an empty clusterIP on update keeps the allocated one */
            json_t *ns = json_object_get(out, "spec"), *cs = json_object_get(cur, "spec");
            const char *ip = json_string_value(json_object_get(ns, "clusterIP"));
            if (json_is_object(ns) && (!ip || !*ip)) {
                copy_key(ns, cs, "clusterIP");
                copy_key(ns, cs, "clusterIPs");
            }
        }
        if (strcmp(res->plural, "namespaces") == 0) {
            json_t *spec = json_object_get(out, "spec");
            if (!json_is_object(spec)) {
                spec = json_object();
                json_object_set_new(out, "spec", spec);
            }
            copy_key(spec, json_object_get(cur, "spec"), "finalizers");
            eng_namespace_defaults(out);
        }
    }
    return out;
}

static bool finalizers_empty(const struct reg_resource *res, json_t *obj)
{
    if (json_array_size(json_object_get(eng_md(obj), "finalizers")))
        return false;
    if (strcmp(res->plural, "namespaces") == 0 &&
        json_array_size(json_object_get(json_object_get(obj, "spec"), "finalizers")))
        return false;
    return true;
}

/* ShouldDeleteDuringUpdate: a deleting object whose finalizers are gone is removed by an
 * update only when its grace period is over (none, or 0): a pod terminating with a grace
 * period stays until its kubelet deletes it with grace 0, whatever status it writes. */
static bool grace_over(json_t *cur)
{
    json_t *g = json_object_get(eng_md(cur), "deletionGracePeriodSeconds");
    return !json_is_integer(g) || json_integer_value(g) == 0;
}

static bool same_object(json_t *a, json_t *b)
{
    json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
    json_object_del(eng_md(x), "resourceVersion");
    json_object_del(eng_md(y), "resourceVersion");
    bool eq = json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return eq;
}

enum step { STEP_DONE = 0, STEP_RETRY = 1, STEP_FAIL = -1 };

/* Removes an object whose last finalizer went away. */
static enum step remove_finalized(struct eng_req *r, struct eng_upd *u, struct eng_obj *cur,
                                  json_t *obj, struct ck_err *err)
{
    size_t len;
    char *val = eng_canonical(r->res, obj, &len);
    if (u->dry) {
        u->val = val;
        u->len = len;
        u->deleted = true;
        u->dry_rv = cur->rv;
        return STEP_DONE;
    }
    int64_t rev = 0;
    if (eng_obj_delete(r->s, cur, &rev, err) < 0) { /* svcapi: releases a Service's keys */
        free(val);
        if (err->reason == CK_R_CONFLICT || err->reason == CK_R_NOT_FOUND)
            return u->client_rv ? STEP_FAIL : STEP_RETRY;
        return STEP_FAIL;
    }
    u->val = val;
    u->len = len;
    u->rev = rev;
    u->deleted = true;
    return STEP_DONE;
}

static enum step update_once(struct eng_req *r, struct eng_upd *u, struct ck_err *err)
{
    struct eng_obj *cur = eng_cache_get(&r->s->cache, r->res, r->ns, r->name);
    if (!cur) {
        eng_err_not_found(err, r->res, r->name);
        return STEP_FAIL;
    }
    json_t *curj = eng_obj_json(cur), *nw = NULL, *out = NULL;
    enum step st = STEP_FAIL;
    bool locked = false;
    struct eng_svc_plan plan; /* svcapi: the Service's allocation keys, written with it */
    memset(&plan, 0, sizeof(plan));
    u->client_rv = false;
    if (!curj) {
        ck_err_set(err, CK_R_INTERNAL, "stored object is not valid JSON");
        goto done;
    }
    if (u->mutate(r, u, json_deep_copy(curj), &nw, err) < 0)
        goto done;
    const char *nrv = eng_md_str(nw, "resourceVersion");
    if (nrv && *nrv) {
        char cr[24];
        snprintf(cr, sizeof(cr), "%" PRId64, cur->rv);
        if (strcmp(nrv, cr) != 0) {
            eng_conflict(err, r->res, r->name, ENG_MODIFIED_MSG);
            goto done;
        }
    }
    out = strategy(r, u, curj, nw, err);
    if (!out)
        goto done;
    if (!u->internal && !u->sub && strcmp(r->res->plural, "services") == 0 &&
        !r->res->group[0]) {
        pthread_mutex_lock(&r->s->alloc_mu);
        locked = true;
        if (eng_service_alloc(r->s, r->res, out, curj, &plan, err) < 0)
            goto done;
    }
    if (!u->internal) {
        validation_default(r->res->group, r->res->plural, out);
        if (eng_admit(r, false, 1 /* ADM_UPDATE */, out, curj, u->dry, u->sub, err) < 0)
            goto done;
        /* pod update validation forbids spec changes; ephemeral containers are checked above */
        bool eph = u->sub && strcmp(u->sub, "ephemeralcontainers") == 0;
        if (!eph &&
            validation_validate(r->res->group, r->res->plural, r->res->kind, out, curj, err) < 0)
            goto done;
        if (eng_rbac_check_escalation(r->s, r->rq, r->res, r->ns, r->name, out, err) < 0)
            goto done; /* RBAC escalation prevention */
        if (eng_admit(r, true, 1 /* ADM_UPDATE */, out, curj, u->dry, u->sub, err) < 0)
            goto done;
    }
    if ((r->res->flags & REG_GENERATION) && spec_changed(curj, out)) {
        json_int_t g = json_integer_value(json_object_get(eng_md(curj), "generation"));
        json_object_set_new(eng_md(out), "generation", json_integer(g + 1));
    }
    if (cur->deleting && finalizers_empty(r->res, out) && grace_over(curj)) {
        st = remove_finalized(r, u, cur, out, err);
        goto done;
    }
    if (same_object(curj, out) && /* encaudit: a stale stored form is rewritten (re-encrypt) */
        !enc_store_stale(r->s->cache.st, cur->key, cur->key_len)) {
        u->unchanged = true;
        u->val = ck_strndup(cur->body, cur->len);
        u->len = cur->len;
        st = STEP_DONE;
        goto done;
    }
    if (!u->internal && !u->apply) {
        char mb[160];
        eng_track_update(r->res, curj, out, eng_manager_name(r, mb, sizeof(mb)), u->sub);
    }
    u->val = eng_canonical(r->res, out, &u->len);
    if (u->dry) {
        u->dry_rv = cur->rv; /* nothing written: the object keeps its resourceVersion */
        st = STEP_DONE;
        goto done;
    }
    int prc = locked ? eng_svc_commit(r->s, &plan, cur->key, cur->key_len, u->val, u->len, cur->rv,
                                      &u->rev, err)
                     : store_put(r->s->cache.st, cur->key, cur->key_len, u->val, u->len, cur->rv,
                                 &u->rev, NULL, err);
    if (prc == 1) { /* an allocated value was taken by another API server: again */
        eng_upd_release(u);
        st = STEP_RETRY;
        goto done;
    }
    if (prc < 0) {
        eng_upd_release(u);
        if (err->reason == CK_R_CONFLICT || err->reason == CK_R_NOT_FOUND) {
            if (u->client_rv)
                eng_conflict(err, r->res, r->name, ENG_MODIFIED_MSG);
            st = u->client_rv ? STEP_FAIL : STEP_RETRY;
        }
        goto done;
    }
    st = STEP_DONE;
done:
    if (locked)
        pthread_mutex_unlock(&r->s->alloc_mu);
    eng_svc_plan_release(&plan);
    json_decref(curj);
    json_decref(nw);
    json_decref(out);
    eng_obj_unref(cur);
    return st;
}

int eng_update(struct eng_req *r, struct eng_upd *u, bool reply, struct ck_err *err)
{
    enum step st = STEP_RETRY;
    for (int i = 0; i < 32 && st == STEP_RETRY; i++)
        st = update_once(r, u, err);
    if (st == STEP_RETRY) {
        eng_conflict(err, r->res, r->name, ENG_MODIFIED_MSG);
        st = STEP_FAIL;
    }
    if (st == STEP_FAIL) {
        if (reply)
            eng_reply_err(r, err);
        return -1;
    }
    if (u->deleted && r->ns && !u->dry)
        eng_ns_maybe_finish(r->s, r->ns);
    if (reply) {
        if (u->unchanged)
            eng_reply_obj(r, 200, u->val, u->len, 0);
        else if (u->dry)
            eng_reply_obj(r, 200, u->val, u->len, u->dry_rv);
        else
            eng_reply_obj(r, 200, u->val, u->len, u->rev);
    }
    return 0;
}

/* ---- PUT ---------------------------------------------------------------------------- */

static int mutate_put(struct eng_req *r, struct eng_upd *u, json_t *cur, json_t **out,
                      struct ck_err *err)
{
    (void)r;
    (void)err;
    json_decref(cur);
    *out = json_deep_copy(u->ctx);
    const char *rv = eng_md_str(*out, "resourceVersion");
    u->client_rv = rv && *rv;
    return 0;
}

int eng_serve_update(struct eng_req *r)
{
    struct ck_err err = CK_ERR_INIT;
    json_t *body = NULL;
    int bad = 0;
    bool dry = eng_dry_run(r, &err, &bad);
    int mode = bad < 0 ? -1 : eng_field_validation(r, &err);
    int rc = mode < 0 ? -1 : eng_decode_req(r->rq, mode, r->rs, &body, &err);
    if (rc == 0)
        rc = eng_check_gvk(r->res, body, r->res->kind, r->res->api_version, &err);
    if (rc == 0)
        rc = eng_check_unknown(r, mode, r->res, body, &err);
    if (rc == 0) {
        json_t *md = eng_md(body);
        const char *bn = json_string_value(json_object_get(md, "name"));
        const char *bns = json_string_value(json_object_get(md, "namespace"));
        if (bn && *bn && strcmp(bn, r->name) != 0)
            rc = ck_err_set(&err, CK_R_BAD_REQUEST,
                            "the name of the object (%s) does not match the name on the URL (%s)",
                            bn, r->name);
        else if (r->ns && bns && *bns && strcmp(bns, r->ns) != 0)
            rc = ck_err_set(&err, CK_R_BAD_REQUEST,
                            "the namespace of the provided object does not match the namespace "
                            "sent on the request");
    }
    if (rc < 0) {
        json_decref(body);
        eng_reply_err(r, &err);
        return -1;
    }
    if ((r->res->flags & REG_CREATE_ON_UPDATE) && !r->sub) {
        struct eng_obj *cur = eng_cache_get(&r->s->cache, r->res, r->ns, r->name);
        bool absent = cur == NULL;
        eng_obj_unref(cur);
        if (absent) { /* upstream AllowCreateOnUpdate (endpoints, events) */
            json_object_set_new(eng_md(body), "name", json_string(r->name));
            rc = eng_create_obj(r, body, dry, &err);
            json_decref(body);
            if (rc < 0)
                eng_reply_err(r, &err);
            return rc;
        }
    }
    struct eng_upd u = {.sub = r->sub, .dry = dry, .mutate = mutate_put, .ctx = body};
    rc = eng_update(r, &u, true, &err);
    eng_upd_release(&u);
    json_decref(body);
    return rc;
}

/* ---- PATCH -------------------------------------------------------------------------- */

enum patch_type { PT_JSON = 1, PT_MERGE, PT_SMP, PT_APPLY };

struct patch_ctx {
    enum patch_type type;
    json_t *patch;
    bool mentions_rv;
    int mode;
    const char *manager; /* apply: fieldManager */
    bool force;          /* apply: force=true */
    const char *sub;     /* apply: the subresource (NULL: main resource) */
};

static int apply_patch(const struct reg_resource *res, struct patch_ctx *pc, json_t *doc,
                       json_t **out, struct ck_err *err)
{
    switch (pc->type) {
    case PT_JSON:
        return jsonpatch_apply(doc, pc->patch, out, err);
    case PT_SMP: {
        const struct schema_type *t = schema_lookup_kind(res->group, res->version, res->kind);
        if (t)
            return schema_smp_apply(t, doc, pc->patch, out, err);
        return mergepatch_apply(doc, pc->patch, out, err);
    }
    case PT_APPLY:
        return eng_apply_sub(res, pc->sub, (json_t *)doc, pc->patch, pc->manager, pc->force, out,
                             err);
    default:
        return mergepatch_apply(doc, pc->patch, out, err);
    }
}

static int mutate_patch(struct eng_req *r, struct eng_upd *u, json_t *cur, json_t **out,
                        struct ck_err *err)
{
    struct patch_ctx *pc = u->ctx;
    int rc = apply_patch(r->res, pc, cur, out, err);
    json_decref(cur);
    if (rc < 0) {
        if (err->reason == CK_R_NONE)
            ck_err_set(err, CK_R_INVALID, "the patch could not be applied");
        return -1;
    }
    if (!json_is_object(*out))
        return ck_err_set(err, CK_R_BAD_REQUEST, "the patch produced a non-object");
    if (eng_check_gvk(r->res, *out, r->res->kind, r->res->api_version, err) < 0)
        return -1;
    const char *nm = eng_md_str(*out, "name");
    if (!nm || strcmp(nm, r->name) != 0) {
        char d[300];
        snprintf(d, sizeof(d), "Invalid value: \"%s\": field is immutable", nm ? nm : "");
        eng_invalid(err, r->res, r->name, "metadata.name", "FieldValueInvalid", d);
        return -1;
    }
    u->client_rv = pc->mentions_rv;
    return eng_check_unknown(r, pc->mode, r->res, *out, err);
}

static enum patch_type patch_type_of(const char *ct)
{
    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    static const struct {
        const char *t;
        enum patch_type p;
    } m[] = {{"application/json-patch+json", PT_JSON},
             {"application/merge-patch+json", PT_MERGE},
             {"application/strategic-merge-patch+json", PT_SMP},
             {"application/apply-patch+yaml", PT_APPLY},
             {"application/apply-patch+json", PT_APPLY}};
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        size_t n = strlen(m[i].t);
        if (strncasecmp(ct, m[i].t, n) == 0 && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' '))
            return m[i].p;
    }
    return 0;
}

static int decode_patch(struct eng_req *r, struct patch_ctx *pc, struct ck_err *err)
{
    const struct api_request *rq = r->rq;
    if (!rq->body || !rq->body_len)
        return ck_err_set(err, CK_R_BAD_REQUEST, "the body of the request was empty");
    if (pc->type == PT_APPLY) {
        const char *fm = eng_q(r, "fieldManager");
        if (!fm || !*fm)
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required "
                              "value: is required for apply patch");
        pc->manager = fm;
        pc->force = eng_qbool(r, "force");
        json_error_t je;
        pc->patch = json_loadb(rq->body, rq->body_len, 0, &je);
        if (!pc->patch && yaml_to_json(rq->body, rq->body_len, &pc->patch, err) < 0)
            return -1;
    } else if (eng_decode_json(rq->body, rq->body_len, ENG_FV_IGNORE, &pc->patch, NULL, err) <
               0) {
        return -1;
    }
    if (pc->type == PT_JSON ? !json_is_array(pc->patch) : !json_is_object(pc->patch))
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          pc->type == PT_JSON ? "the server rejected our request due to an error "
                                                "in our request: json patch must be an array"
                                              : "the body of the request must be a JSON object");
    pc->mentions_rv = memmem(rq->body, rq->body_len, "resourceVersion", 15) != NULL;
    return 0;
}

/* Server-side apply on a missing object creates it from the applied configuration. */
static int apply_create(struct eng_req *r, struct patch_ctx *pc, bool dry, struct ck_err *err)
{
    json_t *obj = NULL;
    int rc = eng_check_gvk(r->res, pc->patch, r->res->kind, r->res->api_version, err);
    if (rc == 0)
        rc = eng_apply_sub(r->res, NULL, NULL, pc->patch, pc->manager, pc->force, &obj, err);
    const char *nm = rc == 0 ? eng_md_str(obj, "name") : NULL;
    if (rc == 0 && (!nm || strcmp(nm, r->name) != 0))
        rc = ck_err_set(err, CK_R_BAD_REQUEST,
                        "the name of the object (%s) does not match the name on the URL (%s)",
                        nm ? nm : "", r->name);
    if (rc == 0)
        rc = eng_check_unknown(r, pc->mode, r->res, obj, err);
    if (rc == 0)
        rc = eng_create_obj(r, obj, dry, err);
    json_decref(obj);
    return rc;
}

int eng_serve_patch(struct eng_req *r)
{
    struct ck_err err = CK_ERR_INIT;
    struct patch_ctx pc = {.type = patch_type_of(r->rq->content_type), .sub = r->sub};
    int bad = 0, rc = 0;
    bool dry = eng_dry_run(r, &err, &bad);
    if (!pc.type)
        rc = ck_err_set(&err, CK_R_UNSUPPORTED_MEDIA,
                        "the body of the request was in an unknown format - accepted media types "
                        "include: application/json-patch+json, application/merge-patch+json, "
                        "application/apply-patch+yaml, application/strategic-merge-patch+json");
    if (rc == 0 && bad < 0)
        rc = -1;
    if (rc == 0 && (pc.mode = eng_field_validation(r, &err)) < 0)
        rc = -1;
    if (rc == 0)
        rc = decode_patch(r, &pc, &err);
    if (rc < 0) {
        json_decref(pc.patch);
        eng_reply_err(r, &err);
        return -1;
    }
    if (pc.type == PT_APPLY && !r->sub) {
        struct eng_obj *cur = eng_cache_get(&r->s->cache, r->res, r->ns, r->name);
        bool absent = cur == NULL;
        eng_obj_unref(cur);
        if (absent) {
            rc = apply_create(r, &pc, dry, &err);
            json_decref(pc.patch);
            if (rc < 0)
                eng_reply_err(r, &err);
            return rc;
        }
    }
    struct eng_upd u = {.sub = r->sub, .dry = dry, .mutate = mutate_patch, .ctx = &pc,
                        .apply = pc.type == PT_APPLY};
    rc = eng_update(r, &u, true, &err);
    eng_upd_release(&u);
    json_decref(pc.patch);
    return rc;
}

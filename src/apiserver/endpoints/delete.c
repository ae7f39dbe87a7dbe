/* SPDX-License-Identifier: Apache-2.0 */
/* Deletes: DeleteOptions (body or query), preconditions, finalizers (deletionTimestamp and
 * deferred removal), garbage-collection finalizers (propagationPolicy Orphan / Foreground,
 * orphanDependents: the object stays with `orphan` or `foregroundDeletion` for the garbage
 * collector), graceful pod deletion, deletecollection, and namespace termination (the engine
 * removes a terminating namespace's contents, then the namespace itself). */
#include "apiserver/endpoints/endpoints.h"
#include "apiserver/endpoints/write_int.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

/* Garbage-collection options of a DELETE: propagationPolicy and the deprecated
 * orphanDependents (upstream metav1.DeleteOptions). */
enum gc_policy { GC_UNSET = 0, GC_ORPHAN, GC_BACKGROUND, GC_FOREGROUND };

struct gc_opts {
    enum gc_policy policy;
    int orphan; /* orphanDependents: -1 unset, 0 false, 1 true */
};

#define FIN_ORPHAN "orphan"                 /* metav1.FinalizerOrphanDependents */
#define FIN_FOREGROUND "foregroundDeletion" /* metav1.FinalizerDeleteDependents */

static int delopts_invalid(struct ck_err *err, const char *type, const char *detail)
{
    ck_err_set(err, CK_R_INVALID, "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: %s",
               detail);
    snprintf(err->kind, sizeof(err->kind), "DeleteOptions");
    snprintf(err->group, sizeof(err->group), "meta.k8s.io");
    ck_err_add_cause(err, type, "propagationPolicy", "%s", detail);
    return -1;
}

/* strconv.ParseBool, as upstream's query decoding uses: 1 for true, 0 for false, -1 bad. */
static int parse_bool(const char *s)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(s, yes[i]) == 0)
            return 1;
        if (strcmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

/* propagationPolicy and orphanDependents from the query, then the body; validated as
 * upstream's ValidateDeleteOptions (422 Invalid). */
static int parse_gc_opts(struct eng_req *r, json_t *body, struct gc_opts *gc, struct ck_err *err)
{
    gc->policy = GC_UNSET;
    gc->orphan = -1;
    const char *pp = eng_q(r, "propagationPolicy");
    const char *od = eng_q(r, "orphanDependents");
    if (od && *od && (gc->orphan = parse_bool(od)) < 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "invalid orphanDependents: %s", od);
    if (body) {
        json_t *jp = json_object_get(body, "propagationPolicy");
        if (json_is_string(jp))
            pp = json_string_value(jp);
        json_t *jo = json_object_get(body, "orphanDependents");
        if (json_is_boolean(jo))
            gc->orphan = json_is_true(jo);
        else if (jo && !json_is_null(jo))
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "DeleteOptions.orphanDependents must be a boolean");
    }
    if (pp && *pp) {
        if (strcmp(pp, "Orphan") == 0)
            gc->policy = GC_ORPHAN;
        else if (strcmp(pp, "Background") == 0)
            gc->policy = GC_BACKGROUND;
        else if (strcmp(pp, "Foreground") == 0)
            gc->policy = GC_FOREGROUND;
    }
    char d[256];
    if (gc->orphan >= 0 && pp && *pp) {
        snprintf(d, sizeof(d),
                 "Invalid value: \"%s\": orphanDependents and deletionPropagation cannot be "
                 "both set",
                 pp);
        return delopts_invalid(err, "FieldValueInvalid", d);
    }
    if (pp && *pp && gc->policy == GC_UNSET) {
        snprintf(d, sizeof(d),
                 "Unsupported value: \"%.64s\": supported values: \"Foreground\", "
                 "\"Background\", \"Orphan\", \"nil\"",
                 pp);
        return delopts_invalid(err, "FieldValueNotSupported", d);
    }
    return 0;
}

static int parse_delete_opts(struct eng_req *r, struct eng_del_opts *o, struct gc_opts *gc,
                             json_t **body, struct ck_err *err)
{
    int bad = 0;
    memset(o, 0, sizeof(*o));
    o->dry = eng_dry_run(r, err, &bad);
    if (bad < 0)
        return -1;
    const char *g = eng_q(r, "gracePeriodSeconds");
    if (g && *g) {
        bool ok;
        o->grace = eng_parse_int(g, &ok);
        if (!ok)
            return ck_err_set(err, CK_R_BAD_REQUEST, "invalid gracePeriodSeconds: %s", g);
        o->has_grace = true;
    }
    *body = NULL;
    if (r->rq->body && r->rq->body_len) {
        if (eng_decode_json(r->rq->body, r->rq->body_len, ENG_FV_IGNORE, body, NULL, err) < 0)
            return -1;
        if (!json_is_object(*body))
            return ck_err_set(err, CK_R_BAD_REQUEST, "DeleteOptions must be a JSON object");
        json_t *jg = json_object_get(*body, "gracePeriodSeconds");
        if (json_is_integer(jg)) {
            o->grace = json_integer_value(jg);
            o->has_grace = true;
        }
        json_t *pre = json_object_get(*body, "preconditions");
        o->pre_uid = json_string_value(json_object_get(pre, "uid"));
        o->pre_rv = json_string_value(json_object_get(pre, "resourceVersion"));
        json_t *dr = json_object_get(*body, "dryRun");
        if (json_array_size(dr) && json_is_string(json_array_get(dr, 0))) {
            if (strcmp(json_string_value(json_array_get(dr, 0)), "All") != 0)
                return ck_err_set(err, CK_R_BAD_REQUEST, "Invalid dry run value");
            o->dry = true;
        }
    }
    if (parse_gc_opts(r, *body, gc, err) < 0)
        return -1;
    /* upstream BeforeDelete: a negative grace period means 1 s */
    if (o->has_grace && o->grace < 0)
        o->grace = 1;
    return 0;
}

/* ---- what a DELETE does to one object (upstream Store.Delete and rest.BeforeDelete) ---- */

/* The default when neither propagationPolicy nor orphanDependents is given (upstream
 * strategies' DefaultGarbageCollectionPolicy): v1 ReplicationControllers and batch/v1 Jobs
 * orphan for backward compatibility, events never take GC finalizers, the rest delete
 * dependents (in the background). */
enum gc_default { GCD_DELETE = 0, GCD_ORPHAN, GCD_UNSUPPORTED };

static enum gc_default gc_default(const struct reg_resource *res)
{
    if (strcmp(res->plural, "events") == 0)
        return GCD_UNSUPPORTED;
    if (!res->group[0] && strcmp(res->plural, "replicationcontrollers") == 0)
        return GCD_ORPHAN;
    if (strcmp(res->group, "batch") == 0 && strcmp(res->version, "v1") == 0 &&
        strcmp(res->plural, "jobs") == 0)
        return GCD_ORPHAN;
    return GCD_DELETE;
}

static bool has_str(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    return false;
}

/* First of orphan / foregroundDeletion in the list: 1 orphan, 2 foreground, 0 neither. */
static int first_gc_finalizer(json_t *fins)
{
    size_t i;
    json_t *v;
    json_array_foreach (fins, i, v) {
        const char *s = json_string_value(v);
        if (s && strcmp(s, FIN_ORPHAN) == 0)
            return 1;
        if (s && strcmp(s, FIN_FOREGROUND) == 0)
            return 2;
    }
    return 0;
}

static bool should_orphan(enum gc_default d, const struct gc_opts *gc, json_t *fins)
{
    if (d == GCD_UNSUPPORTED)
        return false;
    if (gc->orphan >= 0)
        return gc->orphan == 1;
    if (gc->policy != GC_UNSET)
        return gc->policy == GC_ORPHAN;
    int f = first_gc_finalizer(fins);
    if (f)
        return f == 1;
    return d == GCD_ORPHAN;
}

static bool should_foreground(enum gc_default d, const struct gc_opts *gc, json_t *fins)
{
    if (d == GCD_UNSUPPORTED || gc->orphan >= 0)
        return false;
    if (gc->policy != GC_UNSET)
        return gc->policy == GC_FOREGROUND;
    return first_gc_finalizer(fins) == 2;
}

static bool same_set(json_t *a, json_t *b)
{
    size_t i;
    json_t *v;
    json_array_foreach (a, i, v)
        if (!has_str(b, json_string_value(v) ? json_string_value(v) : ""))
            return false;
    json_array_foreach (b, i, v)
        if (!has_str(a, json_string_value(v) ? json_string_value(v) : ""))
            return false;
    return true;
}

/* Sets metadata.finalizers to fins (taken) unless it holds the same set already. */
static void set_finalizers(json_t *md, json_t *fins)
{
    json_t *old = json_object_get(md, "finalizers");
    if (same_set(old, fins)) {
        json_decref(fins);
        return;
    }
    if (json_array_size(fins))
        json_object_set_new(md, "finalizers", fins);
    else {
        json_object_del(md, "finalizers");
        json_decref(fins);
    }
}

/* The other finalizers, then orphan and/or foregroundDeletion as wanted (new reference). */
static json_t *gc_finalizer_list(json_t *old, bool orphan, bool foreground)
{
    json_t *fins = json_array();
    size_t i;
    json_t *v;
    json_array_foreach (old, i, v) {
        const char *s = json_string_value(v);
        if (s && (strcmp(s, FIN_ORPHAN) == 0 || strcmp(s, FIN_FOREGROUND) == 0))
            continue;
        json_array_append(fins, v);
    }
    if (orphan)
        json_array_append_new(fins, json_string(FIN_ORPHAN));
    if (foreground)
        json_array_append_new(fins, json_string(FIN_FOREGROUND));
    return fins;
}

/* upstream deletionFinalizersForGarbageCollection */
static void gc_finalizers(const struct reg_resource *res, const struct gc_opts *gc, json_t *md)
{
    enum gc_default d = gc_default(res);
    json_t *old = json_object_get(md, "finalizers");
    bool o = should_orphan(d, gc, old), f = should_foreground(d, gc, old);
    set_finalizers(md, gc_finalizer_list(old, o, f));
}

/* The namespace registry's own rules on its first DELETE (shouldHaveOrphanFinalizer,
 * shouldHaveDeleteDependentsFinalizer): orphanDependents=false asks for foreground. */
static void ns_gc_finalizers(const struct gc_opts *gc, json_t *md)
{
    json_t *old = json_object_get(md, "finalizers");
    bool o = has_str(old, FIN_ORPHAN), f = has_str(old, FIN_FOREGROUND);
    if (gc->orphan >= 0) {
        o = gc->orphan == 1;
        f = gc->orphan == 0;
    } else if (gc->policy != GC_UNSET) {
        o = gc->policy == GC_ORPHAN;
        f = gc->policy == GC_FOREGROUND;
    }
    set_finalizers(md, gc_finalizer_list(old, o, f));
}

static bool protected_ns(const char *n)
{
    return strcmp(n, "default") == 0 || strcmp(n, "kube-system") == 0 ||
           strcmp(n, "kube-public") == 0;
}

/* How a pod is deleted: returns the grace period (0 = at once). */
static int64_t pod_grace(json_t *pod, const struct eng_del_opts *o)
{
    json_t *spec = json_object_get(pod, "spec");
    const char *node = json_string_value(json_object_get(spec, "nodeName"));
    const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"),
                                                          "phase"));
    if (!node || !*node)
        return 0;
    if (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
        return 0;
    if (o->has_grace)
        return o->grace;
    json_t *t = json_object_get(spec, "terminationGracePeriodSeconds");
    return json_is_integer(t) ? json_integer_value(t) : 30;
}

static int precondition(json_t *obj, const struct eng_del_opts *o, struct ck_err *err)
{
    const char *uid = eng_md_str(obj, "uid"), *rv = eng_md_str(obj, "resourceVersion");
    if (o->pre_uid && *o->pre_uid && strcmp(o->pre_uid, uid ? uid : "") != 0)
        return ck_err_set(err, CK_R_CONFLICT,
                          "Precondition failed: UID in precondition: %s, UID in object meta: %s",
                          o->pre_uid, uid ? uid : "");
    if (o->pre_rv && *o->pre_rv && strcmp(o->pre_rv, rv ? rv : "") != 0)
        return ck_err_set(err, CK_R_CONFLICT,
                          "Precondition failed: ResourceVersion in precondition: %s, "
                          "ResourceVersion in object meta: %s",
                          o->pre_rv, rv ? rv : "");
    return 0;
}

/* What a DELETE does with the object as it is now. */
enum plan {
    PLAN_KEEP,   /* nothing to change: answer with the object (deletion already pending) */
    PLAN_WRITE,  /* write the marked object (deletionTimestamp, finalizers); it stays */
    PLAN_REMOVE, /* remove it from the store now */
};

struct del_ctx {
    const struct eng_del_opts *o;
    const struct gc_opts *gc;
    bool is_ns;
    bool first;     /* a namespace's first DELETE: clean up its contents afterwards */
    enum plan plan; /* set by mutate_delete */
};

static bool is_pod(const struct reg_resource *res)
{
    return !res->group[0] && strcmp(res->plural, "pods") == 0;
}

/* upstream rest.BeforeDelete for pods (the one graceful strategy): returns 1 when the
 * deletion is graceful (timestamps set), 0 when not, 2 when a graceful deletion is already
 * pending and may not be shortened. */
static int pod_before_delete(json_t *pod, json_t *md, const struct eng_del_opts *o)
{
    const char *ts = json_string_value(json_object_get(md, "deletionTimestamp"));
    json_t *jg = json_object_get(md, "deletionGracePeriodSeconds");
    char buf[21];
    if (ts) {
        int64_t cur = json_is_integer(jg) ? json_integer_value(jg) : 0;
        time_t t;
        if (cur <= 0)
            return 0;
        if (!o->has_grace || o->grace >= cur || ck_time_parse_rfc3339(ts, &t) < 0)
            return 2;
        ck_time_rfc3339(t - cur + o->grace, buf);
        json_object_set_new(md, "deletionTimestamp", json_string(buf));
        json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(o->grace));
        return 1;
    }
    int64_t grace = pod_grace(pod, o);
    ck_time_rfc3339(time(NULL) + grace, buf);
    json_object_set_new(md, "deletionTimestamp", json_string(buf));
    json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(grace));
    json_int_t gen = json_integer_value(json_object_get(md, "generation"));
    if (gen > 0)
        json_object_set_new(md, "generation", json_integer(gen + 1));
    return 1;
}

/* upstream markAsDeleting: deletionTimestamp now (unless already earlier), grace 0. */
static void mark_as_deleting(json_t *md)
{
    const char *ts = json_string_value(json_object_get(md, "deletionTimestamp"));
    time_t now = time(NULL), t;
    json_int_t gen = json_integer_value(json_object_get(md, "generation"));
    if (!ts && gen > 0)
        json_object_set_new(md, "generation", json_integer(gen + 1));
    if (!ts || ck_time_parse_rfc3339(ts, &t) < 0 || t > now) {
        char buf[21];
        ck_time_rfc3339(now, buf);
        json_object_set_new(md, "deletionTimestamp", json_string(buf));
    }
    json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(0));
}

/* A namespace's first DELETE (upstream namespace REST Delete): Terminating, deletionTimestamp,
 * GC finalizers; its spec.finalizers keep it until the engine has emptied it. */
static void ns_first_delete(json_t *ns, json_t *md, const struct gc_opts *gc)
{
    char buf[21];
    ck_time_rfc3339(time(NULL), buf);
    json_object_set_new(md, "deletionTimestamp", json_string(buf));
    json_t *st = json_object_get(ns, "status");
    if (!json_is_object(st)) {
        st = json_object();
        json_object_set_new(ns, "status", st);
    }
    json_object_set_new(st, "phase", json_string("Terminating"));
    ns_gc_finalizers(gc, md);
}

/* Decides (and applies to obj) what a DELETE does; -1 with err set on a failed precondition. */
static int plan_delete(struct eng_req *r, struct del_ctx *c, json_t *obj, struct ck_err *err)
{
    if (precondition(obj, c->o, err) < 0)
        return -1;
    json_t *md = eng_md(obj);
    bool deleting = json_object_get(md, "deletionTimestamp") != NULL;
    c->first = false;
    if (c->is_ns && !deleting) {
        ns_first_delete(obj, md, c->gc);
        c->first = true;
        return PLAN_WRITE;
    }
    if (c->is_ns && json_array_size(json_object_get(json_object_get(obj, "spec"), "finalizers")))
        return PLAN_KEEP;
    int graceful = is_pod(r->res) ? pod_before_delete(obj, md, c->o) : 0;
    if (graceful == 2)
        return PLAN_KEEP;
    gc_finalizers(r->res, c->gc, md);
    bool pending = json_array_size(json_object_get(md, "finalizers")) > 0;
    if (pending && !graceful)
        mark_as_deleting(md);
    if (pending)
        return PLAN_WRITE;
    /* graceful with time left: the kubelet finishes it. Upstream also writes a pod deleted
     * with grace 0 once (deletionTimestamp) before removing it; we remove it directly. */
    if (graceful && json_integer_value(json_object_get(md, "deletionGracePeriodSeconds")) > 0)
        return PLAN_WRITE;
    return PLAN_REMOVE;
}

static int mutate_delete(struct eng_req *r, struct eng_upd *u, json_t *cur, json_t **out,
                         struct ck_err *err)
{
    struct del_ctx *c = u->ctx;
    *out = cur;
    int p = plan_delete(r, c, cur, err);
    if (p < 0)
        return -1;
    c->plan = (enum plan)p;
    if (p == PLAN_REMOVE)
        return ck_err_set(err, CK_R_CONFLICT, "object changed: removing it instead");
    return 0; /* PLAN_KEEP leaves cur as it is: a no-op update */
}

static void ns_cleanup(struct api_server *s, const char *ns);

/* Writes the marked object. *retry: the object changed so that it is to be removed now. */
static int mark(struct eng_req *r, struct del_ctx *c, struct ck_buf *out, bool *gone,
                bool *retry, struct ck_err *err)
{
    const struct eng_del_opts *o = c->o;
    struct eng_upd u = {.internal = true, .dry = o->dry, .mutate = mutate_delete, .ctx = c};
    c->plan = PLAN_WRITE;
    int rc = eng_update(r, &u, false, err);
    *retry = rc < 0 && c->plan == PLAN_REMOVE;
    if (rc == 0) {
        *gone = u.deleted;
        if (out && u.val) {
            if (u.unchanged)
                ck_buf_append(out, u.val, u.len);
            else
                eng_append_stamped(out, r->res, u.val, u.len, o->dry ? u.dry_rv : u.rev);
        }
    }
    eng_upd_release(&u);
    if (rc == 0 && c->is_ns && !o->dry) {
        if (c->first && !r->s->cache.opts.ns_controller)
            ns_cleanup(r->s, r->name);
        eng_ns_maybe_finish(r->s, r->name);
    }
    return rc;
}

static int remove_now(struct eng_req *r, struct eng_obj *cur, const struct eng_del_opts *o,
                      struct ck_buf *out, bool *gone, struct ck_err *err)
{
    if (!o->dry) {
        int64_t rev;
        if (eng_obj_delete(r->s, cur, &rev, err) < 0) /* svcapi: releases a Service's keys */
            return -1;
    }
    *gone = true;
    if (out)
        ck_buf_append(out, cur->body, cur->len);
    if (r->ns && !o->no_ns_finish && !o->dry)
        eng_ns_maybe_finish(r->s, r->ns);
    return 0;
}

static int del_one(struct eng_req *r, const struct eng_del_opts *o, const struct gc_opts *gc,
                   struct ck_buf *out, bool *gone, struct ck_err *err)
{
    *gone = false;
    bool is_ns = !r->res->group[0] && strcmp(r->res->plural, "namespaces") == 0;
    for (int attempt = 0; attempt < 16; attempt++) {
        struct eng_obj *cur = eng_cache_get(&r->s->cache, r->res, r->ns, r->name);
        if (!cur) {
            eng_err_not_found(err, r->res, r->name);
            return -1;
        }
        if (is_ns && protected_ns(r->name)) {
            eng_obj_unref(cur);
            ck_err_set(err, CK_R_FORBIDDEN,
                       "namespaces \"%s\" is forbidden: this namespace may not be deleted",
                       r->name);
            snprintf(err->kind, sizeof(err->kind), "namespaces");
            snprintf(err->name, sizeof(err->name), "%s", r->name);
            return -1;
        }
        struct del_ctx c = {.o = o, .gc = gc, .is_ns = is_ns};
        json_t *j = eng_obj_json(cur);
        int p = j ? plan_delete(r, &c, j, err)
                  : ck_err_set(err, CK_R_INTERNAL, "stored object is not valid JSON");
        json_decref(j);
        if (p < 0) {
            eng_obj_unref(cur);
            return -1;
        }
        if (p == PLAN_KEEP) {
            if (out)
                ck_buf_append(out, cur->body, cur->len);
            eng_obj_unref(cur);
            if (is_ns && !o->dry)
                eng_ns_maybe_finish(r->s, r->name);
            return 0;
        }
        if (p == PLAN_WRITE) {
            eng_obj_unref(cur);
            bool retry;
            int rc = mark(r, &c, out, gone, &retry, err);
            if (!retry)
                return rc;
            ck_err_clear(err);
            continue;
        }
        int rc = remove_now(r, cur, o, out, gone, err);
        eng_obj_unref(cur);
        if (rc == 0)
            return 0;
        if (err->reason != CK_R_CONFLICT && err->reason != CK_R_NOT_FOUND)
            return -1;
    }
    eng_conflict(err, r->res, r->name, ENG_MODIFIED_MSG);
    return -1;
}

/* The entry point other handlers use (eviction): the resource's default GC policy. */
int eng_delete_one(struct eng_req *r, const struct eng_del_opts *o, struct ck_buf *out,
                   bool *gone, struct ck_err *err)
{
    struct gc_opts gc = {.policy = GC_UNSET, .orphan = -1};
    return del_one(r, o, &gc, out, gone, err);
}

static void success_status(struct eng_req *r, const char *uid)
{
    json_t *o = json_pack("{s:s,s:s,s:{},s:s,s:{s:s,s:s,s:s,s:s}}", "kind", "Status",
                          "apiVersion", "v1", "metadata", "status", "Success", "details", "name",
                          r->name, "group", r->res->group, "kind", r->res->plural, "uid", uid);
    if (!r->res->group[0])
        json_object_del(json_object_get(o, "details"), "group");
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    eng_reply(r, 200, s, strlen(s));
    free(s);
}

int eng_serve_delete(struct eng_req *r)
{
    struct ck_err err = CK_ERR_INIT;
    struct eng_del_opts o;
    struct gc_opts gc;
    json_t *body = NULL;
    if (parse_delete_opts(r, &o, &gc, &body, &err) < 0) {
        json_decref(body);
        eng_reply_err(r, &err);
        return -1;
    }
    struct ck_buf out = CK_BUF_INIT(r->rs->body.max);
    bool gone = false;
    char uid[48] = "";
    struct eng_obj *cur = eng_cache_get(&r->s->cache, r->res, r->ns, r->name);
    int rc = 0;
    if (cur) {
        snprintf(uid, sizeof(uid), "%s", cur->uid);
        json_t *oj = eng_obj_json(cur); /* admission: validating plugins and webhooks */
        rc = eng_admit(r, true, 2 /* ADM_DELETE */, NULL, oj, o.dry, NULL, &err);
        json_decref(oj);
        eng_obj_unref(cur);
    }
    if (rc == 0)
        rc = del_one(r, &o, &gc, &out, &gone, &err);
    json_decref(body);
    if (rc < 0) {
        ck_buf_release(&out);
        eng_reply_err(r, &err);
        return -1;
    }
    /* upstream answers 202 when orphanDependents=false left the object in place */
    int code = !gone && gc.orphan == 0 ? 202 : 200;
    if (gone && !(r->res->flags & REG_RETURN_DELETED))
        success_status(r, uid);
    else
        eng_reply(r, code, out.data ? out.data : "{}", out.len);
    ck_buf_release(&out);
    return 0;
}

int eng_serve_deletecollection(struct eng_req *r)
{
    struct ck_err err = CK_ERR_INIT;
    struct eng_del_opts o;
    struct gc_opts gc;
    json_t *body = NULL;
    struct eng_obj **items = NULL;
    size_t n = 0;
    int64_t rv = 0;
    if (parse_delete_opts(r, &o, &gc, &body, &err) < 0 ||
        eng_list_collect(r, &items, &n, &rv, &err) < 0) {
        json_decref(body);
        eng_reply_err(r, &err);
        return -1;
    }
    struct ck_buf b = CK_BUF_INIT(r->rs->body.max);
    ck_buf_appendf(&b, "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{},\"items\":[",
                   r->res->list_kind, r->res->api_version);
    size_t done = 0, refused = 0;
    for (size_t i = 0; i < n; i++) {
        struct eng_req sub = *r;
        sub.ns = items[i]->ns[0] ? items[i]->ns : NULL;
        sub.name = items[i]->name;
        struct ck_buf one = CK_BUF_INIT(r->rs->body.max);
        bool gone;
        struct ck_err e2 = CK_ERR_INIT;
        json_t *oj = eng_obj_json(items[i]); /* admission: each object, as upstream */
        int arc = eng_admit(&sub, true, 2 /* ADM_DELETE */, NULL, oj, o.dry, NULL, &e2);
        json_decref(oj);
        if (arc < 0 && !refused++)
            err = e2; /* the first refusal answers the request */
        if (arc == 0 && del_one(&sub, &o, &gc, &one, &gone, &e2) == 0 && one.len) {
            if (done++)
                ck_buf_appendc(&b, ',');
            ck_buf_append(&b, one.data, one.len);
        }
        ck_buf_release(&one);
        eng_obj_unref(items[i]);
    }
    free(items);
    ck_buf_appends(&b, "]}");
    if (refused)
        eng_reply_err(r, &err);
    else
        eng_reply(r, 200, b.data, b.len);
    ck_buf_release(&b);
    json_decref(body);
    return refused ? -1 : 0;
}

/* ---- namespaces --------------------------------------------------------------------- */

/* Deletes every namespaced object in ns (what upstream's namespace controller does, with
 * propagationPolicy Background). */
static void ns_cleanup(struct api_server *s, const char *ns)
{
    struct eng_del_opts o = {.no_ns_finish = true};
    struct gc_opts gc = {.policy = GC_BACKGROUND, .orphan = -1};
    for (size_t t = 0; t < reg_count(); t++) {
        const struct reg_resource *res = reg_at(t);
        if (!(res->flags & REG_NAMESPACED))
            continue;
        struct api_request rq = {.method = "DELETE"};
        struct api_response rs;
        api_response_init(&rs, 1 << 20);
        struct eng_req r;
        memset(&r, 0, sizeof(r));
        r.s = s;
        r.rq = &rq;
        r.rs = &rs;
        r.res = res;
        r.ns = (char *)ns;
        struct eng_obj **items = NULL;
        size_t n = 0;
        int64_t rv;
        struct ck_err err = CK_ERR_INIT;
        if (eng_list_collect(&r, &items, &n, &rv, &err) == 0) {
            for (size_t i = 0; i < n; i++) {
                r.name = items[i]->name;
                bool gone;
                if (del_one(&r, &o, &gc, NULL, &gone, &err) < 0 &&
                    err.reason != CK_R_NOT_FOUND)
                    ck_warn("namespace %s cleanup: %s", ns, err.msg);
                eng_obj_unref(items[i]);
            }
            free(items);
        }
        api_response_release(&rs);
    }
}

static int mutate_finalize(struct eng_req *r, struct eng_upd *u, json_t *cur, json_t **out,
                           struct ck_err *err)
{
    (void)r;
    (void)u;
    (void)err;
    json_t *spec = json_object_get(cur, "spec");
    if (json_is_object(spec))
        json_object_set_new(spec, "finalizers", json_array());
    *out = cur;
    return 0;
}

void eng_ns_maybe_finish(struct api_server *s, const char *ns)
{
    if (s->cache.opts.ns_controller) /* the namespace controller finalizes */
        return;
    const struct reg_resource *nsr = reg_find("", "v1", "namespaces");
    struct eng_obj *o = eng_cache_get(&s->cache, nsr, NULL, ns);
    bool term = o && o->deleting;
    eng_obj_unref(o);
    if (!term || !eng_cache_ns_empty(&s->cache, ns))
        return;
    struct api_request rq = {.method = "PUT"};
    struct api_response rs;
    api_response_init(&rs, 1 << 20);
    struct eng_req r;
    memset(&r, 0, sizeof(r));
    r.s = s;
    r.rq = &rq;
    r.rs = &rs;
    r.res = nsr;
    r.name = (char *)ns;
    struct eng_upd u = {.internal = true, .mutate = mutate_finalize};
    struct ck_err err = CK_ERR_INIT;
    if (eng_update(&r, &u, false, &err) < 0 && err.reason != CK_R_NOT_FOUND)
        ck_warn("namespace %s finalize: %s", ns, err.msg);
    eng_upd_release(&u);
    api_response_release(&rs);
}

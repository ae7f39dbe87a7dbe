/* SPDX-License-Identifier: Apache-2.0 */
/* Deletes: DeleteOptions (body or query), preconditions, finalizers (deletionTimestamp and
 * deferred removal), graceful pod deletion, deletecollection, and namespace termination
 * (the engine removes a terminating namespace's contents, then the namespace itself). */
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

static int parse_delete_opts(struct eng_req *r, struct eng_del_opts *o, json_t **body,
                             struct ck_err *err)
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
    const char *pp = eng_q(r, "propagationPolicy");
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
        if (json_is_string(json_object_get(*body, "propagationPolicy")))
            pp = json_string_value(json_object_get(*body, "propagationPolicy"));
    }
    if (pp && *pp && strcmp(pp, "Orphan") && strcmp(pp, "Background") &&
        strcmp(pp, "Foreground"))
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: "
                          "Unsupported value: \"%s\": supported values: \"Foreground\", "
                          "\"Background\", \"Orphan\", \"nil\"",
                          pp);
    if (o->has_grace && o->grace < 0)
        o->grace = 0;
    return 0;
}

struct mark_ctx {
    int64_t grace;
    bool ns;
};

static int mutate_mark(struct eng_req *r, struct eng_upd *u, json_t *cur, json_t **out,
                       struct ck_err *err)
{
    (void)err;
    struct mark_ctx *m = u->ctx;
    json_t *md = eng_md(cur);
    char ts[21];
    ck_time_rfc3339(time(NULL) + m->grace, ts);
    bool first = !json_object_get(md, "deletionTimestamp");
    json_object_set_new(md, "deletionTimestamp", json_string(ts));
    json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(m->grace));
    if (first && (r->res->flags & REG_GENERATION)) {
        json_int_t g = json_integer_value(json_object_get(md, "generation"));
        json_object_set_new(md, "generation", json_integer(g + 1));
    }
    if (m->ns) {
        json_t *st = json_object_get(cur, "status");
        if (!json_is_object(st)) {
            st = json_object();
            json_object_set_new(cur, "status", st);
        }
        json_object_set_new(st, "phase", json_string("Terminating"));
    }
    *out = cur;
    return 0;
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

static int precondition(struct eng_obj *cur, const struct eng_del_opts *o, struct ck_err *err)
{
    if (o->pre_uid && *o->pre_uid && strcmp(o->pre_uid, cur->uid) != 0)
        return ck_err_set(err, CK_R_CONFLICT,
                          "Precondition failed: UID in precondition: %s, UID in object meta: %s",
                          o->pre_uid, cur->uid);
    char rv[24];
    snprintf(rv, sizeof(rv), "%" PRId64, cur->rv);
    if (o->pre_rv && *o->pre_rv && strcmp(o->pre_rv, rv) != 0)
        return ck_err_set(err, CK_R_CONFLICT,
                          "Precondition failed: ResourceVersion in precondition: %s, "
                          "ResourceVersion in object meta: %s",
                          o->pre_rv, rv);
    return 0;
}

static void ns_cleanup(struct api_server *s, const char *ns);

/* Marks an object for deferred deletion (finalizers or graceful pod deletion). */
static int mark(struct eng_req *r, const struct eng_del_opts *o, int64_t grace, bool is_ns,
                struct ck_buf *out, bool *gone, struct ck_err *err)
{
    struct mark_ctx m = {.grace = grace, .ns = is_ns};
    struct eng_upd u = {.internal = true, .dry = o->dry, .mutate = mutate_mark, .ctx = &m};
    int rc = eng_update(r, &u, false, err);
    if (rc == 0) {
        *gone = u.deleted;
        if (out && u.val)
            eng_append_stamped(out, r->res, u.val, u.len, u.rev > 0 ? u.rev : 0);
    }
    eng_upd_release(&u);
    if (rc == 0 && is_ns && !o->dry) {
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
        if (store_delete(r->s->st, cur->key, cur->key_len, cur->rv, &rev, NULL, err) < 0)
            return -1;
    }
    *gone = true;
    if (out)
        ck_buf_append(out, cur->body, cur->len);
    if (r->ns && !o->no_ns_finish && !o->dry)
        eng_ns_maybe_finish(r->s, r->ns);
    return 0;
}

int eng_delete_one(struct eng_req *r, const struct eng_del_opts *o, struct ck_buf *out,
                   bool *gone, struct ck_err *err)
{
    *gone = false;
    for (int attempt = 0; attempt < 16; attempt++) {
        struct eng_obj *cur = eng_cache_get(&r->s->cache, r->res, r->ns, r->name);
        if (!cur) {
            eng_err_not_found(err, r->res, r->name);
            return -1;
        }
        int rc = precondition(cur, o, err);
        bool is_ns = strcmp(r->res->plural, "namespaces") == 0;
        if (rc == 0 && is_ns && protected_ns(r->name)) {
            rc = ck_err_set(err, CK_R_FORBIDDEN,
                            "namespaces \"%s\" is forbidden: this namespace may not be deleted",
                            r->name);
            snprintf(err->kind, sizeof(err->kind), "namespaces");
            snprintf(err->name, sizeof(err->name), "%s", r->name);
        }
        if (rc < 0) {
            eng_obj_unref(cur);
            return -1;
        }
        json_t *j = eng_obj_json(cur);
        int64_t grace = strcmp(r->res->plural, "pods") == 0 ? pod_grace(j, o) : 0;
        bool fin = json_array_size(json_object_get(json_object_get(j, "metadata"),
                                                   "finalizers")) > 0 ||
                   (is_ns && json_array_size(json_object_get(json_object_get(j, "spec"),
                                                             "finalizers")) > 0);
        json_decref(j);
        if (cur->deleting && (fin || grace > 0)) {
            /* already terminating: nothing to shorten except a pod's grace period */
            bool shorter = grace > 0 && !fin;
            if (!shorter || !o->has_grace) {
                if (out)
                    ck_buf_append(out, cur->body, cur->len);
                eng_obj_unref(cur);
                if (is_ns && !o->dry)
                    eng_ns_maybe_finish(r->s, r->name);
                return 0;
            }
        }
        if (fin || grace > 0) {
            eng_obj_unref(cur);
            return mark(r, o, grace, is_ns, out, gone, err);
        }
        rc = remove_now(r, cur, o, out, gone, err);
        eng_obj_unref(cur);
        if (rc == 0)
            return 0;
        if (err->reason != CK_R_CONFLICT && err->reason != CK_R_NOT_FOUND)
            return -1;
    }
    eng_conflict(err, r->res, r->name, ENG_MODIFIED_MSG);
    return -1;
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
    json_t *body = NULL;
    if (parse_delete_opts(r, &o, &body, &err) < 0) {
        json_decref(body);
        eng_reply_err(r, &err);
        return -1;
    }
    struct ck_buf out = CK_BUF_INIT(r->rs->body.max);
    bool gone = false;
    char uid[48] = "";
    struct eng_obj *cur = eng_cache_get(&r->s->cache, r->res, r->ns, r->name);
    if (cur) {
        snprintf(uid, sizeof(uid), "%s", cur->uid);
        eng_obj_unref(cur);
    }
    int rc = eng_delete_one(r, &o, &out, &gone, &err);
    json_decref(body);
    if (rc < 0) {
        ck_buf_release(&out);
        eng_reply_err(r, &err);
        return -1;
    }
    if (gone && !(r->res->flags & REG_RETURN_DELETED))
        success_status(r, uid);
    else
        eng_reply(r, 200, out.data ? out.data : "{}", out.len);
    ck_buf_release(&out);
    return 0;
}

int eng_serve_deletecollection(struct eng_req *r)
{
    struct ck_err err = CK_ERR_INIT;
    struct eng_del_opts o;
    json_t *body = NULL;
    struct eng_obj **items = NULL;
    size_t n = 0;
    int64_t rv = 0;
    if (parse_delete_opts(r, &o, &body, &err) < 0 ||
        eng_list_collect(r, &items, &n, &rv, &err) < 0) {
        json_decref(body);
        eng_reply_err(r, &err);
        return -1;
    }
    struct ck_buf b = CK_BUF_INIT(r->rs->body.max);
    ck_buf_appendf(&b, "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{},\"items\":[",
                   r->res->list_kind, r->res->api_version);
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        struct eng_req sub = *r;
        sub.ns = items[i]->ns[0] ? items[i]->ns : NULL;
        sub.name = items[i]->name;
        struct ck_buf one = CK_BUF_INIT(r->rs->body.max);
        bool gone;
        struct ck_err e2 = CK_ERR_INIT;
        if (eng_delete_one(&sub, &o, &one, &gone, &e2) == 0 && one.len) {
            if (done++)
                ck_buf_appendc(&b, ',');
            ck_buf_append(&b, one.data, one.len);
        }
        ck_buf_release(&one);
        eng_obj_unref(items[i]);
    }
    free(items);
    ck_buf_appends(&b, "]}");
    eng_reply(r, 200, b.data, b.len);
    ck_buf_release(&b);
    json_decref(body);
    return 0;
}

/* ---- namespaces --------------------------------------------------------------------- */

/* Deletes every namespaced object in ns (what upstream's namespace controller does). */
static void ns_cleanup(struct api_server *s, const char *ns)
{
    struct eng_del_opts o = {.no_ns_finish = true};
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
                if (eng_delete_one(&r, &o, NULL, &gone, &err) < 0 &&
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

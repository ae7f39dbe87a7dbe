/* SPDX-License-Identifier: Apache-2.0 */
/* Server-side apply, simplified: field ownership in metadata.managedFields (FieldsV1 with
 * "f:" keys; lists are atomic), conflicts when another manager owns a field the applied
 * configuration sets to a different value (409, FieldManagerConflict causes), force=true takes
 * ownership, and the result is the live object merged with the configuration. */
#include "apiserver/endpoints/endpoints.h"
#include "apiserver/endpoints/write_int.h"
#include "lib/jsonpatch.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static bool skip_meta(const char *k)
{
    static const char *const sys[] = {"name",       "namespace", "uid",
                                      "resourceVersion", "generation", "creationTimestamp",
                                      "managedFields", "selfLink", "deletionTimestamp",
                                      "deletionGracePeriodSeconds"};
    for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
        if (strcmp(k, sys[i]) == 0)
            return true;
    return false;
}

/* FieldsV1 of a configuration: every set field, objects walked, anything else a leaf. */
static json_t *fields_of(json_t *cfg, int depth, bool top, bool meta)
{
    json_t *f = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(cfg, k, v)
    {
        if (top && (strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0))
            continue;
        if (meta && skip_meta(k))
            continue;
        char fk[300];
        snprintf(fk, sizeof(fk), "f:%s", k);
        if (json_is_object(v) && json_object_size(v) && depth < 32) {
            json_t *sub = fields_of(v, depth + 1, false, top && strcmp(k, "metadata") == 0);
            if (json_object_size(sub))
                json_object_set_new(f, fk, sub);
            else
                json_decref(sub);
        } else {
            json_object_set_new(f, fk, json_object());
        }
    }
    return f;
}

/* Calls fn for every leaf path of fields (dotted ".a.b"), with the matching value in obj. */
struct leaf_walk {
    json_t *other;   /* another manager's fields */
    json_t *live;    /* live object */
    json_t *cfg;     /* applied configuration */
    bool force;
    struct ck_buf conflicts; /* "path\n" */
    size_t nconf;
};

static json_t *value_at(json_t *obj, const char *const *path, size_t n)
{
    for (size_t i = 0; i < n && obj; i++)
        obj = json_object_get(obj, path[i]);
    return obj;
}

static bool owned_leaf(json_t *fields, const char *const *path, size_t n)
{
    for (size_t i = 0; i < n && fields; i++) {
        char fk[300];
        snprintf(fk, sizeof(fk), "f:%s", path[i]);
        fields = json_object_get(fields, fk);
    }
    return fields != NULL;
}

static void remove_leaf(json_t *fields, const char *const *path, size_t n)
{
    if (!fields || n == 0)
        return;
    char fk[300];
    snprintf(fk, sizeof(fk), "f:%s", path[0]);
    json_t *sub = json_object_get(fields, fk);
    if (n == 1 || !sub) {
        json_object_del(fields, fk);
        return;
    }
    remove_leaf(sub, path + 1, n - 1);
    if (json_object_size(sub) == 0)
        json_object_del(fields, fk);
}

static void walk(struct leaf_walk *lw, json_t *fields, const char **path, size_t n)
{
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(fields, tmp, k, v)
    {
        if (strncmp(k, "f:", 2) != 0 || n >= 32)
            continue;
        path[n] = k + 2;
        if (json_object_size(v)) {
            walk(lw, v, path, n + 1);
            continue;
        }
        if (!owned_leaf(lw->other, path, n + 1))
            continue;
        json_t *a = value_at(lw->live, path, n + 1), *b = value_at(lw->cfg, path, n + 1);
        if (a && b && json_equal(a, b))
            continue;
        if (lw->force) {
            remove_leaf(lw->other, path, n + 1);
            continue;
        }
        for (size_t i = 0; i <= n; i++)
            ck_buf_appendf(&lw->conflicts, ".%s", path[i]);
        ck_buf_appendc(&lw->conflicts, '\n');
        lw->nconf++;
    }
}

static json_t *entry(const char *manager, const char *op, const char *av, json_t *fields)
{
    char ts[21];
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "manager", manager, "operation", op,
                     "apiVersion", av, "time", eng_rfc3339_now(ts), "fieldsType", "FieldsV1",
                     "fieldsV1", fields);
}

static void conflict_err(struct ck_err *err, const char *other, const char *av, const char *paths,
                         size_t n)
{
    char first[256];
    size_t l = strcspn(paths, "\n");
    snprintf(first, sizeof(first), "%.*s", (int)l, paths);
    ck_err_set(err, CK_R_CONFLICT, "Apply failed with %zu conflict%s: conflict with \"%s\" using %s: %s",
               n, n == 1 ? "" : "s", other, av, first);
    for (const char *p = paths; *p;) {
        size_t pl = strcspn(p, "\n");
        char f[160];
        snprintf(f, sizeof(f), "%.*s", (int)pl, p);
        ck_err_add_cause(err, "FieldManagerConflict", f, "conflict with \"%s\" using %s", other,
                         av);
        p += pl + (p[pl] ? 1 : 0);
    }
}

/* Applies cfg for manager onto cur (both unchanged); *out is the new object. */
int eng_apply(const struct reg_resource *res, json_t *cur, json_t *cfg, const char *manager,
              bool force, json_t **out, struct ck_err *err)
{
    *out = NULL;
    json_t *mine = fields_of(cfg, 0, true, false);
    json_t *mf = json_deep_copy(json_object_get(json_object_get(cur, "metadata"),
                                                "managedFields"));
    if (!json_is_array(mf)) {
        json_decref(mf);
        mf = json_array();
    }
    size_t i;
    json_t *e;
    json_array_foreach(mf, i, e)
    {
        const char *m = json_string_value(json_object_get(e, "manager"));
        if (!m || strcmp(m, manager) == 0)
            continue;
        struct leaf_walk lw = {.other = json_object_get(e, "fieldsV1"), .live = cur, .cfg = cfg,
                               .force = force, .conflicts = CK_BUF_INIT(1 << 16)};
        const char *path[32];
        walk(&lw, mine, path, 0);
        if (lw.nconf) {
            conflict_err(err, m, res->version, lw.conflicts.data, lw.nconf);
            ck_buf_release(&lw.conflicts);
            json_decref(mine);
            json_decref(mf);
            return -1;
        }
        ck_buf_release(&lw.conflicts);
    }
    json_t *merged = NULL;
    if (mergepatch_apply(cur, cfg, &merged, err) < 0) {
        json_decref(mine);
        json_decref(mf);
        return -1;
    }
    json_t *nmf = json_array();
    json_array_foreach(mf, i, e)
    {
        const char *m = json_string_value(json_object_get(e, "manager"));
        const char *op = json_string_value(json_object_get(e, "operation"));
        if (m && strcmp(m, manager) == 0 && op && strcmp(op, "Apply") == 0)
            continue;
        if (json_object_size(json_object_get(e, "fieldsV1")) == 0 &&
            json_object_get(e, "fieldsV1"))
            continue; /* lost every field to a forced apply */
        json_array_append(nmf, e);
    }
    json_array_append_new(nmf, entry(manager, "Apply", res->api_version, mine));
    json_decref(mf);
    json_object_set_new(eng_md(merged), "managedFields", nmf);
    *out = merged;
    return 0;
}

/* managedFields for an object created by apply. */
void eng_apply_init_fields(const struct reg_resource *res, json_t *obj, const char *manager)
{
    json_t *mine = fields_of(obj, 0, true, false);
    json_t *mf = json_array();
    json_array_append_new(mf, entry(manager, "Apply", res->api_version, mine));
    json_object_set_new(eng_md(obj), "managedFields", mf);
}

/* ---- Update entries (non-apply writes) --------------------------------------------- */

struct track {
    json_t *entries; /* managedFields array being edited */
    json_t *mine;    /* manager's fieldsV1 */
};

static void set_leaf(json_t *fields, const char *const *path, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char fk[300];
        snprintf(fk, sizeof(fk), "f:%s", path[i]);
        json_t *sub = json_object_get(fields, fk);
        if (!sub || (i + 1 < n && !json_is_object(sub))) {
            sub = json_object();
            json_object_set_new(fields, fk, sub);
        }
        fields = sub;
    }
}

static void track_walk(struct track *t, json_t *diff, const char **path, size_t n, bool meta)
{
    const char *k;
    json_t *v;
    json_object_foreach(diff, k, v)
    {
        if (n >= 32 || (n == 0 && (strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0)) ||
            (meta && skip_meta(k)))
            continue;
        path[n] = k;
        if (json_is_object(v) && json_object_size(v)) {
            track_walk(t, v, path, n + 1, n == 0 && strcmp(k, "metadata") == 0);
            continue;
        }
        size_t i;
        json_t *e;
        json_array_foreach(t->entries, i, e)
            remove_leaf(json_object_get(e, "fieldsV1"), path, n + 1);
        if (!json_is_null(v))
            set_leaf(t->mine, path, n + 1);
    }
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

void eng_track_update(const struct reg_resource *res, json_t *cur, json_t *out,
                      const char *manager, const char *sub)
{
    json_t *md = eng_md(out);
    json_t *entries = json_deep_copy(json_object_get(md, "managedFields"));
    if (!json_is_array(entries)) {
        json_decref(entries);
        entries = json_array();
    }
    json_t *a = cur ? json_deep_copy(cur) : json_object(), *b = json_deep_copy(out);
    json_object_del(eng_md(a), "managedFields");
    json_object_del(eng_md(b), "managedFields");
    json_t *diff = mergepatch_create(a, b);
    json_decref(a);
    json_decref(b);
    /* the manager's Update entry (same subresource), created if missing */
    json_t *mine = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        const char *m = json_string_value(json_object_get(e, "manager"));
        const char *op = json_string_value(json_object_get(e, "operation"));
        const char *es = json_string_value(json_object_get(e, "subresource"));
        if (m && strcmp(m, manager) == 0 && op && strcmp(op, "Update") == 0 &&
            strcmp(es ? es : "", sub ? sub : "") == 0) {
            mine = json_deep_copy(json_object_get(e, "fieldsV1"));
            json_array_remove(entries, i);
            break;
        }
    }
    if (!json_is_object(mine)) {
        json_decref(mine);
        mine = json_object();
    }
    struct track t = {.entries = entries, .mine = mine};
    const char *path[32];
    if (json_is_object(diff))
        track_walk(&t, diff, path, 0, false);
    json_decref(diff);
    json_t *kept = json_array();
    json_array_foreach(entries, i, e)
        if (json_object_size(json_object_get(e, "fieldsV1")))
            json_array_append(kept, e);
    json_decref(entries);
    if (json_object_size(mine)) {
        json_t *ne = entry(manager, "Update", res->api_version, mine);
        if (sub && *sub)
            json_object_set_new(ne, "subresource", json_string(sub));
        json_array_append_new(kept, ne);
    } else {
        json_decref(mine);
    }
    if (json_array_size(kept))
        json_object_set_new(md, "managedFields", kept);
    else {
        json_decref(kept);
        json_object_del(md, "managedFields");
    }
}

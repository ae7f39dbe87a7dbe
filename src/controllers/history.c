/* SPDX-License-Identifier: Apache-2.0 */
/* ControllerRevisions: see history.h. */
#include "controllers/history.h"
#include "controllers/cm.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* Label / annotation values, "" when missing. */
static const char *olabel(const json_t *o, const char *k)
{
    const char *v = k8s_obj_label(o, k);
    return v ? v : "";
}

json_t *hist_template_patch(const json_t *owner)
{
    json_t *t = k8s_jpath(owner, "spec.template");
    json_t *tc = json_is_object(t) ? json_deep_copy(t) : json_object();
    json_object_set_new(tc, "$patch", json_string("replace"));
    return json_pack("{s:{s:o}}", "spec", "template", tc);
}

char *hist_data_text(const json_t *data)
{
    char *raw = json_dumps(data, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    if (!raw)
        return ck_strdup("");
    struct ck_buf b = CK_BUF_INIT(64u << 20);
    for (const char *p = raw; *p; p++) {
        if (*p == '<')
            ck_buf_appends(&b, "\\u003c");
        else if (*p == '>')
            ck_buf_appends(&b, "\\u003e");
        else if (*p == '&')
            ck_buf_appends(&b, "\\u0026");
        else
            ck_buf_appendc(&b, *p);
    }
    free(raw);
    return ck_buf_detach(&b, NULL);
}

void hist_hash(const json_t *data, int64_t probe, char out[16])
{
    char *text = hist_data_text(data);
    uint32_t h = 2166136261u;
    for (const char *p = text; *p; p++) { /* FNV-1: multiply, then xor */
        h *= 16777619u;
        h ^= (uint8_t)*p;
    }
    free(text);
    if (probe >= 0) {
        char d[24];
        snprintf(d, sizeof(d), "%lld", (long long)probe);
        for (const char *p = d; *p; p++) {
            h *= 16777619u;
            h ^= (uint8_t)*p;
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

char *hist_name(const char *prefix, const char *hash)
{
    size_t n = strlen(prefix);
    return ck_asprintf("%.*s-%s", (int)(n > 223 ? 223 : n), prefix, hash);
}

json_t *hist_new(const json_t *parent, const char *api_version, const char *kind,
                 const json_t *template_labels, const json_t *data, int64_t revision,
                 int64_t collision)
{
    json_t *labels =
        json_is_object(template_labels) ? json_deep_copy(template_labels) : json_object();
    char hash[16];
    hist_hash(data, collision, hash);
    json_object_set_new(labels, HIST_HASH_LABEL, json_string(hash));
    char *name = hist_name(k8s_obj_name(parent), hash);
    json_t *md = json_pack("{s:s,s:s,s:o,s:[o]}", "name", name, "namespace",
                           k8s_obj_namespace(parent), "labels", labels, "ownerReferences",
                           cm_controller_ref(parent, api_version, kind));
    json_t *ann = k8s_jpath(parent, "metadata.annotations");
    if (json_is_object(ann) && json_object_size(ann))
        json_object_set_new(md, "annotations", json_deep_copy(ann));
    free(name);
    return json_pack("{s:s,s:s,s:o,s:O,s:I}", "apiVersion", "apps/v1", "kind", "ControllerRevision",
                     "metadata", md, "data", data, "revision", (json_int_t)revision);
}

static bool parse_hash_number(const json_t *rev, int64_t *out)
{
    const char *h = olabel(rev, HIST_HASH_LABEL);
    return *h && k8s_parse_int64(h, out) && *out >= INT32_MIN && *out <= INT32_MAX;
}

bool hist_equal(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return a == b;
    int64_t ha, hb;
    if (parse_hash_number(a, &ha) && parse_hash_number(b, &hb) && (uint32_t)ha != (uint32_t)hb)
        return false;
    json_t *da = json_object_get(a, "data"), *db = json_object_get(b, "data");
    if (!da || !db)
        return !da && !db;
    return json_equal(da, db);
}

static bool rev_less(const json_t *a, const json_t *b)
{
    int64_t ra = cm_jint(a, "revision", 0), rb = cm_jint(b, "revision", 0);
    if (ra != rb)
        return ra < rb;
    int64_t ta = cm_jtime_ns(a, "metadata.creationTimestamp");
    int64_t tb = cm_jtime_ns(b, "metadata.creationTimestamp");
    if (ta != tb)
        return ta < tb;
    return strcmp(k8s_obj_name(a), k8s_obj_name(b)) < 0;
}

void hist_sort(json_t *revs)
{
    size_t n = json_array_size(revs);
    for (size_t i = 1; i < n; i++) { /* insertion sort: stable, histories are short */
        json_t *x = json_incref(json_array_get(revs, i));
        size_t j = i;
        while (j > 0 && rev_less(x, json_array_get(revs, j - 1))) {
            json_array_set(revs, j, json_array_get(revs, j - 1));
            j--;
        }
        json_array_set_new(revs, j, x);
    }
}

int64_t hist_next_revision(const json_t *sorted)
{
    size_t n = json_array_size(sorted);
    return n ? cm_jint(json_array_get(sorted, n - 1), "revision", 0) + 1 : 1;
}

json_t *hist_to_truncate(const json_t *sorted, const char *const *live, int64_t limit)
{
    json_t *hist = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(sorted, i, r)
    {
        bool is_live = false;
        for (const char *const *l = live; l && *l; l++)
            if (**l && !strcmp(*l, k8s_obj_name(r)))
                is_live = true;
        if (!is_live)
            json_array_append(hist, r);
    }
    if (limit < 0)
        limit = 0;
    /* keep the oldest (len - limit): the newest `limit` stay in history */
    int64_t drop = (int64_t)json_array_size(hist) - limit;
    while ((int64_t)json_array_size(hist) > (drop > 0 ? drop : 0))
        json_array_remove(hist, json_array_size(hist) - 1);
    return hist;
}

static char *cr_coll(const char *ns)
{
    return ck_asprintf("/apis/apps/v1/namespaces/%s/controllerrevisions", ns);
}

int hist_create(struct cm *cm, const json_t *parent, const json_t *rev, int64_t *collision,
                json_t **out, struct ck_err *err)
{
    const char *ns = k8s_obj_namespace(parent);
    char *coll = cr_coll(ns);
    json_t *clone = json_deep_copy(rev);
    int rc = -1;
    for (int attempt = 0; attempt < 16; attempt++) {
        char hash[16];
        hist_hash(json_object_get(rev, "data"), *collision, hash);
        char *name = hist_name(k8s_obj_name(parent), hash);
        json_t *md = json_object_get(clone, "metadata");
        json_object_set_new(md, "name", json_string(name));
        json_object_set_new(md, "namespace", json_string(ns));
        json_t *labels = json_object_get(md, "labels");
        if (json_is_object(labels))
            json_object_set_new(labels, HIST_HASH_LABEL, json_string(hash));
        ck_err_clear(err);
        rc = ck_client_create_json(cm->client, coll, clone, out, err);
        if (rc == 0 || err->reason != CK_R_ALREADY_EXISTS) {
            free(name);
            break;
        }
        char *path = ck_asprintf("%s/%s", coll, name);
        json_t *exists = NULL;
        ck_err_clear(err);
        rc = ck_client_get_json(cm->client, path, &exists, err);
        free(path);
        free(name);
        if (rc < 0)
            break;
        if (json_equal(json_object_get(exists, "data"), json_object_get(clone, "data"))) {
            *out = exists;
            break;
        }
        json_decref(exists);
        (*collision)++;
        rc = -1;
        ck_err_set(err, CK_R_ALREADY_EXISTS, "controllerrevision hash collisions");
    }
    json_decref(clone);
    free(coll);
    return rc;
}

int hist_update_revision(struct cm *cm, const json_t *rev, int64_t revision, json_t **out,
                         struct ck_err *err)
{
    char *path = ck_asprintf("/apis/apps/v1/namespaces/%s/controllerrevisions/%s",
                             k8s_obj_namespace(rev), k8s_obj_name(rev));
    json_t *clone = json_deep_copy(rev);
    int rc = -1;
    for (int attempt = 0; attempt < 5; attempt++) {
        if (cm_jint(clone, "revision", 0) == revision) {
            *out = json_incref(clone);
            rc = 0;
            break;
        }
        json_object_set_new(clone, "revision", json_integer(revision));
        ck_err_clear(err);
        rc = ck_client_update_json(cm->client, path, clone, out, err);
        if (rc == 0 || err->reason != CK_R_CONFLICT)
            break;
        json_t *fresh = NULL;
        struct ck_err e2 = CK_ERR_INIT;
        if (ck_client_get_json(cm->client, path, &fresh, &e2) < 0)
            break;
        json_decref(clone);
        clone = fresh;
    }
    json_decref(clone);
    free(path);
    return rc;
}

int hist_delete(struct cm *cm, const json_t *rev, struct ck_err *err)
{
    char *path = ck_asprintf("/apis/apps/v1/namespaces/%s/controllerrevisions/%s",
                             k8s_obj_namespace(rev), k8s_obj_name(rev));
    int rc = ck_client_delete(cm->client, path, err);
    if (rc < 0 && err->reason == CK_R_NOT_FOUND)
        rc = 0;
    free(path);
    return rc;
}

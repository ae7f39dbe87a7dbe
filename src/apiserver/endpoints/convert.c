/* SPDX-License-Identifier: Apache-2.0 */
/* Served versions stored as another resource (registry rows with `storage` set: autoscaling/v1
 * HorizontalPodAutoscaler stored as v2, events.k8s.io/v1 Event stored as core/v1 Event,
 * flowcontrol v1beta3 stored as v1), in the role of upstream's conversion at the REST
 * boundary. eng_conv_begin, called once the resource is known, swaps the request to the stored
 * resource and converts its body (decoded as JSON, YAML or protobuf, checked for unknown fields
 * against the served version, converted, re-sent as JSON); PATCH is applied to the served
 * version's view of the stored object here (eng_update with a converting mutate).
 * eng_conv_end converts the response (object, list, Table rows' objects, Status names) and
 * gives a watch the per-event conversion. Computed resources and the CSR approval
 * subresource are answered from groups.c. */
#include "apiserver/endpoints/endpoints.h"
#include "apiserver/endpoints/write_int.h"
#include "apiserver/registry/conversion.h"
#include "apiserver/registry/schema.h"
#include "apiserver/registry/validation.h"
#include "apiserver/storage/watcher.h"
#include "lib/jsonpatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

struct eng_conv {
    struct api_request rq; /* the request with its body converted */
    char *body;
    char *fsel; /* fieldSelector with the stored resource's names */
};

static struct eng_conv *conv_state(struct eng_req *r)
{
    if (!r->conv) {
        r->conv = ck_calloc(1, sizeof(*r->conv));
        r->conv->rq = *r->rq;
        r->rq = &r->conv->rq;
    }
    return r->conv;
}

/* Replaces the request body with obj's JSON (sent as application/json). */
void eng_conv_set_body(struct eng_req *r, json_t *obj)
{
    struct eng_conv *c = conv_state(r);
    free(c->body);
    c->body = json_dumps(obj, JSON_COMPACT);
    c->rq.body = c->body;
    c->rq.body_len = c->body ? strlen(c->body) : 0;
    c->rq.content_type = "application/json";
}

/* fieldSelector names of the view mapped to the stored resource's. */
static int map_field_selector(struct eng_req *r, struct ck_err *err)
{
    for (size_t i = 0; i < r->q.n; i++) {
        if (strcmp(r->q.k[i], "fieldSelector") != 0 || !*r->q.v[i])
            continue;
        struct ck_buf b = CK_BUF_INIT(1 << 16);
        ck_buf_appends(&b, "");
        char *sel = ck_strdup(r->q.v[i]), *save = NULL;
        for (char *t = strtok_r(sel, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            size_t kl = strcspn(t, "!=");
            char name[256];
            snprintf(name, sizeof(name), "%.*s", (int)kl, t);
            const char *m = conv_field_label(r->view, name);
            if (!m) {
                free(sel);
                ck_buf_release(&b);
                return ck_err_set(err, CK_R_BAD_REQUEST, "field label not supported: %s", name);
            }
            ck_buf_appendf(&b, "%s%s%s", b.len ? "," : "", m, t + kl);
        }
        free(sel);
        struct eng_conv *c = conv_state(r);
        free(c->fsel);
        c->fsel = ck_buf_detach(&b, NULL);
        r->q.v[i] = c->fsel;
    }
    return 0;
}

/* POST/PUT body: decoded in any accepted encoding, unknown fields handled against the served
 * version, converted to the stored version. */
static int convert_body(struct eng_req *r, struct ck_err *err)
{
    json_t *obj = NULL;
    int mode = eng_field_validation(r, err);
    if (mode < 0 || eng_decode_req(r->rq, mode, r->rs, &obj, err) < 0)
        return -1;
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    if (av && strcmp(av, r->res->api_version) == 0) { /* already the stored version */
        eng_conv_set_body(r, obj);
        json_decref(obj);
        return 0;
    }
    if (eng_check_gvk(r->view, obj, r->view->kind, r->view->api_version, err) < 0 ||
        eng_check_unknown(r, mode, r->view, obj, err) < 0) {
        json_decref(obj);
        return -1;
    }
    json_t *st = conv_to_storage(r->view, obj, err);
    json_decref(obj);
    if (!st)
        return -1;
    int rc = 0;
    if (strcmp(r->view->group, "events.k8s.io") == 0 && strcmp(r->rq->method, "POST") == 0)
        rc = validation_event_v1_create(st, err);
    if (rc == 0)
        eng_conv_set_body(r, st);
    json_decref(st);
    return rc;
}

/* ---- PATCH on a view ------------------------------------------------------------------- */

enum { VP_JSON = 1, VP_MERGE, VP_SMP };

struct view_patch {
    int type, mode;
    json_t *patch;
    bool mentions_rv;
};

static int mutate_view_patch(struct eng_req *r, struct eng_upd *u, json_t *cur, json_t **out,
                             struct ck_err *err)
{
    struct view_patch *p = u->ctx;
    json_t *v = conv_from_storage(r->view, cur), *pv = NULL;
    json_decref(cur);
    int rc;
    if (p->type == VP_JSON) {
        rc = jsonpatch_apply(v, p->patch, &pv, err);
    } else if (p->type == VP_SMP) {
        const struct schema_type *t =
            schema_lookup_kind(r->view->group, r->view->version, r->view->kind);
        rc = t ? schema_smp_apply(t, v, p->patch, &pv, err)
               : mergepatch_apply(v, p->patch, &pv, err);
    } else {
        rc = mergepatch_apply(v, p->patch, &pv, err);
    }
    json_decref(v);
    if (rc < 0 || !json_is_object(pv)) {
        json_decref(pv);
        if (rc == 0 || err->reason == CK_R_NONE)
            ck_err_set(err, CK_R_INVALID, "the patch could not be applied");
        return -1;
    }
    const char *nm = eng_md_str(pv, "name");
    if (!nm || strcmp(nm, r->name) != 0) {
        char d[300];
        snprintf(d, sizeof(d), "Invalid value: \"%s\": field is immutable", nm ? nm : "");
        eng_invalid(err, r->view, r->name, "metadata.name", "FieldValueInvalid", d);
        json_decref(pv);
        return -1;
    }
    if (eng_check_gvk(r->view, pv, r->view->kind, r->view->api_version, err) < 0 ||
        eng_check_unknown(r, p->mode, r->view, pv, err) < 0) {
        json_decref(pv);
        return -1;
    }
    *out = conv_to_storage(r->view, pv, err);
    json_decref(pv);
    u->client_rv = p->mentions_rv;
    return *out ? 0 : -1;
}

static int patch_type(const char *ct)
{
    static const struct {
        const char *t;
        int p;
    } m[] = {{"application/json-patch+json", VP_JSON},
             {"application/merge-patch+json", VP_MERGE},
             {"application/strategic-merge-patch+json", VP_SMP}};
    for (size_t i = 0; ct && i < sizeof(m) / sizeof(m[0]); i++) {
        size_t n = strlen(m[i].t);
        if (strncasecmp(ct, m[i].t, n) == 0 && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' '))
            return m[i].p;
    }
    return 0;
}

static void serve_view_patch(struct eng_req *r)
{
    struct ck_err err = CK_ERR_INIT;
    struct view_patch p = {.type = patch_type(r->rq->content_type)};
    int bad = 0;
    bool dry = eng_dry_run(r, &err, &bad);
    int rc = bad;
    if (rc == 0 && !p.type)
        rc = ck_err_set(&err, CK_R_UNSUPPORTED_MEDIA,
                        "the body of the request was in an unknown format - accepted media types "
                        "include: application/json-patch+json, application/merge-patch+json, "
                        "application/strategic-merge-patch+json (apply patches: use %s)",
                        r->res->api_version);
    if (rc == 0 && (p.mode = eng_field_validation(r, &err)) < 0)
        rc = -1;
    if (rc == 0 && (!r->rq->body || !r->rq->body_len))
        rc = ck_err_set(&err, CK_R_BAD_REQUEST, "the body of the request was empty");
    if (rc == 0 &&
        eng_decode_json(r->rq->body, r->rq->body_len, ENG_FV_IGNORE, &p.patch, NULL, &err) < 0)
        rc = -1;
    if (rc == 0 && (p.type == VP_JSON ? !json_is_array(p.patch) : !json_is_object(p.patch)))
        rc = ck_err_set(&err, CK_R_BAD_REQUEST, "the body of the request must be a JSON %s",
                        p.type == VP_JSON ? "array" : "object");
    if (rc < 0) {
        json_decref(p.patch);
        eng_reply_err(r, &err);
        return;
    }
    p.mentions_rv = memmem(r->rq->body, r->rq->body_len, "resourceVersion", 15) != NULL;
    struct eng_upd u = {.sub = r->sub, .dry = dry, .mutate = mutate_view_patch, .ctx = &p};
    eng_update(r, &u, true, &err);
    eng_upd_release(&u);
    json_decref(p.patch);
}

/* ---- entry points ------------------------------------------------------------------------ */

int eng_conv_begin(struct eng_req *r)
{
    if (eng_groups_serve(r))
        return 1;
    if (!r->res->storage)
        return 0;
    struct ck_err err = CK_ERR_INIT;
    const char *m = r->rq->method ? r->rq->method : "GET";
    r->view = r->res;
    r->res = r->res->storage;
    if (map_field_selector(r, &err) < 0) {
        eng_reply_err(r, &err);
        return 1;
    }
    if (strcmp(m, "PATCH") == 0 && (!r->sub || strcmp(r->sub, "status") == 0)) {
        serve_view_patch(r);
        return 1;
    }
    if ((strcmp(m, "POST") == 0 && !r->name) || (strcmp(m, "PUT") == 0 && r->name)) {
        if (convert_body(r, &err) < 0) {
            eng_reply_err(r, &err);
            return 1;
        }
    }
    return 0;
}

/* Converts one stored object of the response; leaves anything else as it is. */
static json_t *from_storage(const struct eng_req *r, json_t *o)
{
    const char *av = json_string_value(json_object_get(o, "apiVersion"));
    const char *k = json_string_value(json_object_get(o, "kind"));
    if (!av || !k || strcmp(av, r->res->api_version) || strcmp(k, r->res->kind))
        return json_incref(o);
    return conv_from_storage(r->view, o);
}

/* Status messages name the served resource ("events.events.k8s.io", "Event.events.k8s.io"). */
static void fix_status(const struct eng_req *r, json_t *st)
{
    json_t *d = json_object_get(st, "details");
    if (json_is_object(d) && json_object_get(d, "group"))
        json_object_set_new(d, "group", json_string(r->view->group));
    if (strcmp(r->view->group, r->res->group) == 0)
        return;
    const char *msg = json_string_value(json_object_get(st, "message"));
    char from[2][160], to[2][160];
    reg_qualified(r->res, from[0], sizeof(from[0]));
    reg_qualified(r->view, to[0], sizeof(to[0]));
    snprintf(from[1], sizeof(from[1]), "%s", r->res->kind);
    snprintf(to[1], sizeof(to[1]), "%s.%s", r->view->kind, r->view->group);
    for (int i = 0; msg && i < 2; i++) {
        size_t n = strlen(from[i]);
        if (strncmp(msg, from[i], n) == 0 && strncmp(msg + n, " \"", 2) == 0) {
            char *nm = ck_asprintf("%s%s", to[i], msg + n);
            json_object_set_new(st, "message", json_string(nm));
            free(nm);
            return;
        }
    }
}

static void convert_response(struct eng_req *r)
{
    struct api_response *rs = r->rs;
    if (strncmp(rs->content_type, "application/json", 16) != 0)
        return;
    if (rs->lent.niov) { /* a big list lent as pieces: gather it to convert it */
        ck_buf_reset(&rs->body);
        for (size_t i = 0; i < rs->lent.niov; i++)
            ck_buf_append(&rs->body, rs->lent.iov[i].base, rs->lent.iov[i].len);
        api_iov_body_release(&rs->lent);
    }
    json_error_t je;
    json_t *v = json_loadb(rs->body.data ? rs->body.data : "", rs->body.len, 0, &je);
    if (!json_is_object(v)) {
        json_decref(v);
        return;
    }
    const char *kind = json_string_value(json_object_get(v, "kind"));
    json_t *out = NULL;
    if (kind && strcmp(kind, "Status") == 0) {
        fix_status(r, v);
        out = json_incref(v);
    } else if (kind && strcmp(kind, r->res->list_kind) == 0) {
        out = json_incref(v);
        json_object_set_new(out, "apiVersion", json_string(r->view->api_version));
        json_object_set_new(out, "kind", json_string(r->view->list_kind));
        json_t *items = json_object_get(out, "items");
        for (size_t i = 0; i < json_array_size(items); i++)
            json_array_set_new(items, i, from_storage(r, json_array_get(items, i)));
    } else if (kind && strcmp(kind, "Table") == 0) {
        out = json_incref(v);
        json_t *rows = json_object_get(out, "rows");
        for (size_t i = 0; i < json_array_size(rows); i++) {
            json_t *row = json_array_get(rows, i), *o = json_object_get(row, "object");
            if (json_is_object(o))
                json_object_set_new(row, "object", from_storage(r, o));
        }
    } else {
        out = from_storage(r, v);
    }
    json_decref(v);
    char *s = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    if (s) {
        ck_buf_reset(&rs->body);
        ck_buf_appends(&rs->body, s);
        free(s);
    }
}

/* Watch events of a view: each stored body converted (storage/watcher.c calls this). */
static int watch_convert(const struct reg_resource *view, const char *body, size_t len,
                         struct ck_buf *out)
{
    json_error_t je;
    json_t *o = json_loadb(body, len, 0, &je);
    if (!o)
        return ck_buf_append(out, body, len);
    json_t *c = conv_from_storage(view, o);
    json_decref(o);
    char *s = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    int rc = s ? ck_buf_appends(out, s) : ck_buf_append(out, body, len);
    free(s);
    return rc;
}

void eng_conv_end(struct eng_req *r, struct api_watch *w)
{
    if (r->view && w) {
        w->view = r->view;
        w->convert = watch_convert;
    } else if (r->view) {
        convert_response(r);
    }
    if (r->conv) {
        free(r->conv->body);
        free(r->conv->fsel);
        free(r->conv);
        r->conv = NULL;
    }
}

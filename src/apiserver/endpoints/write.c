/* SPDX-License-Identifier: Apache-2.0 */
/* Writes: body decoding (JSON/YAML, strict/warn field validation), create (generateName,
 * uid, timestamps, namespace lifecycle), and the optimistic-concurrency update loop shared by
 * PUT, PATCH, status/finalize subresources and the engine's own changes. */
#include "apiserver/endpoints/endpoints.h"
#include "apiserver/admission/admission.h"
#include "apiserver/encoding/proto.h"
#include "apiserver/registry/schema.h"
#include "apiserver/registry/validation.h"
#include "apiserver/endpoints/write_int.h"
#include "k8s/podres.h"
#include "lib/jsonpatch.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "lib/yamljson.h"

#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

/* ---- helpers ------------------------------------------------------------------------ */

void eng_uuid(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        ck_fatal("RAND_bytes failed");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

static void random_suffix(char out[6])
{
    static const char alpha[] = "bcdfghjklmnpqrstvwxz2456789";
    unsigned char b[5];
    if (RAND_bytes(b, sizeof(b)) != 1)
        ck_fatal("RAND_bytes failed");
    for (int i = 0; i < 5; i++)
        out[i] = alpha[b[i] % (sizeof(alpha) - 1)];
    out[5] = '\0';
}

json_t *eng_md(json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata");
    if (!json_is_object(md)) {
        md = json_object();
        json_object_set_new(obj, "metadata", md);
    }
    return md;
}

const char *eng_md_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

bool eng_dry_run(struct eng_req *r, struct ck_err *err, int *bad)
{
    *bad = 0;
    const char *d = eng_q(r, "dryRun");
    if (!d || !*d)
        return false;
    if (strcmp(d, "All") == 0)
        return true;
    *bad = ck_err_set(err, CK_R_BAD_REQUEST, "Invalid dry run value: \"%s\": valid values are "
                                             "\"All\"",
                      d);
    return false;
}

void eng_conflict(struct ck_err *err, const struct reg_resource *res, const char *name,
                  const char *why)
{
    char q[128];
    reg_qualified(res, q, sizeof(q));
    ck_err_set(err, CK_R_CONFLICT, "Operation cannot be fulfilled on %s \"%s\": %s", q, name,
               why);
    snprintf(err->kind, sizeof(err->kind), "%s", res->plural);
    snprintf(err->group, sizeof(err->group), "%s", res->group);
    snprintf(err->name, sizeof(err->name), "%s", name);
}

void eng_invalid(struct ck_err *err, const struct reg_resource *res, const char *name,
                 const char *field, const char *type, const char *detail)
{
    char gk[128];
    if (res->group[0])
        snprintf(gk, sizeof(gk), "%s.%s", res->kind, res->group);
    else
        snprintf(gk, sizeof(gk), "%s", res->kind);
    ck_err_set(err, CK_R_INVALID, "%s \"%s\" is invalid: %s: %s", gk, name ? name : "", field,
               detail);
    snprintf(err->kind, sizeof(err->kind), "%s", res->kind);
    snprintf(err->group, sizeof(err->group), "%s", res->group);
    snprintf(err->name, sizeof(err->name), "%s", name ? name : "");
    ck_err_add_cause(err, type, field, "%s", detail);
}

/* Appends stored bytes stamped with rv to the response as JSON (or a one-row Table). */
void eng_reply_obj(struct eng_req *r, int status, const char *val, size_t len, int64_t rv)
{
    ck_buf_reset(&r->rs->body);
    int rc;
    if (rv > 0) {
        rc = eng_append_stamped(&r->rs->body, r->res, val, len, rv);
    } else {
        rc = ck_buf_append(&r->rs->body, val, len);
    }
    if (rc < 0) {
        struct ck_err e = CK_ERR_INIT;
        ck_err_set(&e, CK_R_INTERNAL, "response too large");
        eng_reply_err(r, &e);
        return;
    }
    r->rs->status = status;
    snprintf(r->rs->content_type, sizeof(r->rs->content_type), "application/json");
}

/* ---- decoding ----------------------------------------------------------------------- */

static bool media_is(const char *ct, const char *type)
{
    size_t n = strlen(type);
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    return strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static void dup_key(const char *text, char *out, size_t n)
{
    /* jansson: "duplicate object key near '\"replicas\"'" */
    const char *p = strstr(text, "near '");
    if (!p) {
        snprintf(out, n, "?");
        return;
    }
    p += 6;
    if (*p == '"')
        p++;
    size_t l = 0;
    while (p[l] && p[l] != '"' && p[l] != '\'')
        l++;
    snprintf(out, n, "%.*s", (int)l, p);
}

int eng_decode_json(const char *body, size_t len, int mode, json_t **out,
                    struct api_response *rs, struct ck_err *err)
{
    json_error_t je;
    *out = NULL;
    json_t *v = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &je);
    if (!v && strstr(je.text, "duplicate object key")) {
        char k[128];
        dup_key(je.text, k, sizeof(k));
        if (mode == ENG_FV_STRICT)
            return ck_err_set(err, CK_R_BAD_REQUEST, "strict decoding error: duplicate field "
                                                     "\"%s\"",
                              k);
        if (mode == ENG_FV_WARN && rs)
            eng_add_warning(rs, "duplicate field \"%s\"", k);
        v = json_loadb(body, len, 0, &je);
    }
    if (!v)
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "the server could not decode the request body: %s (line %d, column %d)",
                          je.text, je.line, je.column);
    *out = v;
    return 0;
}

int eng_decode_body(const struct api_request *rq, bool strict, json_t **out, struct ck_err *err)
{
    return eng_decode_req(rq, strict ? ENG_FV_STRICT : ENG_FV_IGNORE, NULL, out, err);
}

int eng_decode_req(const struct api_request *rq, int mode, struct api_response *rs,
                   json_t **out, struct ck_err *err)
{
    const char *ct = rq->content_type;
    json_t *v = NULL;
    *out = NULL;
    if (!rq->body || rq->body_len == 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "the body of the request was empty");
    if (!ct || !*ct || media_is(ct, "application/json") || media_is(ct, "*/*")) {
        if (eng_decode_json(rq->body, rq->body_len, mode, &v, rs, err) < 0)
            return -1;
    } else if (media_is(ct, "application/yaml")) {
        if (yaml_to_json(rq->body, rq->body_len, &v, err) < 0)
            return -1;
    } else if (proto_is_content_type(ct)) {
        if (proto_decode(rq->body, rq->body_len, &v, err) < 0)
            return -1;
    } else {
        return ck_err_set(err, CK_R_UNSUPPORTED_MEDIA,
                          "the body of the request was in an unknown format - accepted media "
                          "types include: application/json, application/yaml, "
                          "application/vnd.kubernetes.protobuf");
    }
    if (!json_is_object(v)) {
        json_decref(v);
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "the server could not decode the request body: not a JSON object");
    }
    *out = v;
    return 0;
}

int eng_field_validation(struct eng_req *r, struct ck_err *err)
{
    const char *fv = eng_q(r, "fieldValidation");
    if (!fv || !*fv || strcmp(fv, "Warn") == 0)
        return ENG_FV_WARN;
    if (strcmp(fv, "Strict") == 0)
        return ENG_FV_STRICT;
    if (strcmp(fv, "Ignore") == 0)
        return ENG_FV_IGNORE;
    return ck_err_set(err, CK_R_BAD_REQUEST,
                      "fieldValidation parameter unsupported: \"%s\" (Ignore, Warn, Strict)", fv);
}

/* Unknown-field handling per fieldValidation. */
int eng_check_unknown(struct eng_req *r, int mode, const struct reg_resource *res, json_t *obj,
                      struct ck_err *err)
{
    const struct schema_type *t = schema_lookup_kind(res->group, res->version, res->kind);
    if (!t)
        return 0;
    /* wrong JSON types are refused whatever fieldValidation says, as Go's decoder does */
    if (schema_check_types(t, obj, err) < 0)
        return ck_err_wrap(err, "%s in version \"%s\" cannot be handled as a %s", res->kind,
                           res->version, res->kind);
    if (mode == ENG_FV_IGNORE)
        return 0;
    json_t *paths = json_array();
    size_t n = schema_unknown_fields(t, obj, paths);
    int rc = 0;
    if (n && mode == ENG_FV_STRICT) {
        struct ck_buf b = CK_BUF_INIT(CK_ERR_MSG_MAX - 64);
        ck_buf_appends(&b, "strict decoding error: ");
        for (size_t i = 0; i < json_array_size(paths); i++) {
            const char *p = json_string_value(json_array_get(paths, i));
            if (!p)
                continue;
            ck_buf_appendf(&b, "%sunknown field \"%s\"", i ? ", " : "", p[0] == '.' ? p + 1 : p);
        }
        rc = ck_err_set(err, CK_R_BAD_REQUEST, "%s", b.data ? b.data : "unknown fields");
        ck_buf_release(&b);
    } else if (n) {
        for (size_t i = 0; mode == ENG_FV_WARN && i < json_array_size(paths); i++) {
            const char *p = json_string_value(json_array_get(paths, i));
            if (p)
                eng_add_warning(r->rs, "unknown field \"%s\"", p[0] == '.' ? p + 1 : p);
        }
        schema_prune_unknown(t, obj); /* typed decoding drops what it does not know */
    }
    json_decref(paths);
    return rc;
}

int eng_check_gvk(const struct reg_resource *res, json_t *obj, const char *kind, const char *av,
                  struct ck_err *err)
{
    const char *k = json_string_value(json_object_get(obj, "kind"));
    const char *v = json_string_value(json_object_get(obj, "apiVersion"));
    if (v && *v && strcmp(v, av) != 0)
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "the API version in the data (%s) does not match the expected API "
                          "version (%s)",
                          v, av);
    if (k && *k && strcmp(k, kind) != 0)
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "the kind in the data (%s) does not match the expected kind (%s)", k,
                          kind);
    (void)res;
    return 0;
}

/* ---- names -------------------------------------------------------------------------- */

static bool lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool eng_dns_label(const char *s, bool letter_first)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
        return false;
    if (letter_first && !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!lower_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

bool eng_dns_subdomain(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", s);
    char *save = NULL;
    size_t parts = 0;
    for (char *t = strtok_r(buf, ".", &save); t; t = strtok_r(NULL, ".", &save)) {
        size_t l = strlen(t);
        if (!lower_alnum(t[0]) || !lower_alnum(t[l - 1]))
            return false;
        for (size_t i = 0; i < l; i++)
            if (!lower_alnum(t[i]) && t[i] != '-')
                return false;
        parts++;
    }
    /* no empty labels: ".." or leading/trailing dots */
    return parts && s[0] != '.' && s[n - 1] != '.' && !strstr(s, "..");
}

int eng_check_name(const struct reg_resource *res, const char *name, struct ck_err *err)
{
    char msg[512];
    if (!strcmp(res->group, "rbac.authorization.k8s.io"))
        return 0; /* path-segment names (system:node), checked by validation_validate */
    if (res->flags & REG_DNS_LABEL) {
        if (eng_dns_label(name, false))
            return 0;
        snprintf(msg, sizeof(msg),
                 "Invalid value: \"%s\": a lowercase RFC 1123 label must consist of lower case "
                 "alphanumeric characters or '-', and must start and end with an alphanumeric "
                 "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                 name);
    } else if (res->flags & REG_DNS1035) {
        if (eng_dns_label(name, true))
            return 0;
        snprintf(msg, sizeof(msg),
                 "Invalid value: \"%s\": a DNS-1035 label must consist of lower case "
                 "alphanumeric characters or '-', start with an alphabetic character, and end "
                 "with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
                 "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
                 name);
    } else {
        if (eng_dns_subdomain(name))
            return 0;
        snprintf(msg, sizeof(msg),
                 "Invalid value: \"%s\": a lowercase RFC 1123 subdomain must consist of lower "
                 "case alphanumeric characters, '-' or '.', and must start and end with an "
                 "alphanumeric character (e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                 name);
    }
    eng_invalid(err, res, name, "metadata.name", "FieldValueInvalid", msg);
    return -1;
}

/* ---- create ------------------------------------------------------------------------- */

static void reset_status(const struct reg_resource *res, json_t *obj)
{
    const char *p = res->plural;
    json_t *st = json_object();
    if (strcmp(p, "pods") == 0) {
        json_object_set_new(st, "phase", json_string("Pending"));
        json_object_set_new(st, "qosClass", json_string(k8s_pod_compute_qos(obj)));
    } else if (strcmp(p, "namespaces") == 0) {
        json_object_set_new(st, "phase", json_string("Active"));
    } else if (strcmp(p, "nodes") == 0) {
        json_decref(st);
        return; /* nodes may set status on create */
    } else if (strcmp(p, "services") == 0) {
        json_object_set_new(st, "loadBalancer", json_object());
    } else if (strcmp(p, "replicasets") == 0 || strcmp(p, "replicationcontrollers") == 0) {
        json_object_set_new(st, "replicas", json_integer(0));
    } else if (strcmp(p, "daemonsets") == 0) {
        const char *f[] = {"currentNumberScheduled", "numberMisscheduled",
                           "desiredNumberScheduled", "numberReady"};
        for (size_t i = 0; i < 4; i++)
            json_object_set_new(st, f[i], json_integer(0));
    } else if (strcmp(p, "poddisruptionbudgets") == 0) {
        const char *f[] = {"disruptionsAllowed", "currentHealthy", "desiredHealthy",
                           "expectedPods"};
        for (size_t i = 0; i < 4; i++)
            json_object_set_new(st, f[i], json_integer(0));
    } else if (strcmp(p, "statefulsets") == 0) {
        json_object_set_new(st, "replicas", json_integer(0));
        json_object_set_new(st, "availableReplicas", json_integer(0));
    }
    json_object_set_new(obj, "status", st);
}

/* Server-set metadata and strategy rules for a create. */
static int prepare_create(struct eng_req *r, const struct reg_resource *res, json_t *obj,
                          struct ck_err *err)
{
    json_t *md = eng_md(obj);
    const char *bns = json_string_value(json_object_get(md, "namespace"));
    if (res->flags & REG_NAMESPACED) {
        if (bns && *bns && r->ns && strcmp(bns, r->ns) != 0)
            return ck_err_set(err, CK_R_BAD_REQUEST, "the namespace of the provided object does "
                                                     "not match the namespace sent on the "
                                                     "request");
        json_object_set_new(md, "namespace", json_string(r->ns));
    } else {
        json_object_del(md, "namespace");
    }
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *gen = json_string_value(json_object_get(md, "generateName"));
    if ((!name || !*name) && gen && *gen) {
        char sfx[6], nm[80];
        random_suffix(sfx);
        snprintf(nm, sizeof(nm), "%.58s%s", gen, sfx);
        json_object_set_new(md, "name", json_string(nm));
    } else if (!name || !*name) {
        eng_invalid(err, res, "", "metadata.name", "FieldValueRequired",
                    "Required value: name or generateName is required");
        return -1;
    }
    name = json_string_value(json_object_get(md, "name"));
    if (eng_check_name(res, name, err) < 0)
        return -1;
    char uid[37], ts[21];
    eng_uuid(uid);
    json_object_set_new(md, "uid", json_string(uid));
    json_object_set_new(md, "creationTimestamp", json_string(eng_rfc3339_now(ts)));
    const char *drop[] = {"resourceVersion", "selfLink", "deletionTimestamp",
                          "deletionGracePeriodSeconds", "generation"};
    for (size_t i = 0; i < 5; i++)
        json_object_del(md, drop[i]);
    if (res->flags & REG_GENERATION)
        json_object_set_new(md, "generation", json_integer(1));
    if (res->flags & REG_STATUS)
        reset_status(res, obj);
    if (strcmp(res->plural, "namespaces") == 0)
        eng_namespace_defaults(obj);
    return 0;
}

void eng_namespace_defaults(json_t *obj)
{
    json_t *md = eng_md(obj);
    json_t *labels = json_object_get(md, "labels");
    if (!json_is_object(labels)) {
        labels = json_object();
        json_object_set_new(md, "labels", labels);
    }
    json_object_set(labels, "kubernetes.io/metadata.name", json_object_get(md, "name"));
    json_t *spec = json_object_get(obj, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(obj, "spec", spec);
    }
    if (!json_object_get(spec, "finalizers")) {
        json_t *f = json_array();
        json_array_append_new(f, json_string("kubernetes"));
        json_object_set_new(spec, "finalizers", f);
    }
}

static int check_namespace(struct eng_req *r, const struct reg_resource *res, const char *name,
                           struct ck_err *err)
{
    if (!(res->flags & REG_NAMESPACED))
        return 0;
    const struct reg_resource *nsr = reg_find("", "v1", "namespaces");
    struct eng_obj *ns = eng_cache_get(&r->s->cache, nsr, NULL, r->ns);
    if (!ns) {
        eng_err_not_found(err, nsr, r->ns);
        return -1;
    }
    bool term = ns->deleting;
    eng_obj_unref(ns);
    if (term) {
        ck_err_set(err, CK_R_FORBIDDEN,
                   "%s \"%s\" is forbidden: unable to create new content in namespace %s because "
                   "it is being terminated",
                   res->plural, name, r->ns);
        snprintf(err->kind, sizeof(err->kind), "%s", res->plural);
        snprintf(err->group, sizeof(err->group), "%s", res->group);
        snprintf(err->name, sizeof(err->name), "%s", name);
        ck_err_add_cause(err, "NamespaceTerminating", "", "namespace %s is being terminated",
                         r->ns);
        return -1;
    }
    return 0;
}

static void already_exists(struct ck_err *err, const struct reg_resource *res, const char *name)
{
    char q[128];
    reg_qualified(res, q, sizeof(q));
    ck_err_set(err, CK_R_ALREADY_EXISTS, "%s \"%s\" already exists", q, name);
    snprintf(err->kind, sizeof(err->kind), "%s", res->plural);
    snprintf(err->group, sizeof(err->group), "%s", res->group);
    snprintf(err->name, sizeof(err->name), "%s", name);
}

/* Creates obj (already decoded, kind-checked); answers 201. Consumes nothing. */
int eng_create_obj(struct eng_req *r, json_t *obj, bool dry, struct ck_err *err)
{
    const struct reg_resource *res = r->res;
    bool generated = !eng_md_str(obj, "name") || !*eng_md_str(obj, "name");
    struct eng_svc_plan plan; /* svcapi: a Service's allocation keys, written with it */
    memset(&plan, 0, sizeof(plan));
    int rc = -1;
    for (int attempt = 0, named = 0; attempt < 16; attempt++) {
        const char *name = NULL;
        if (prepare_create(r, res, obj, err) < 0 ||
            check_namespace(r, res, (name = eng_md_str(obj, "name")), err) < 0) {
            rc = -1;
            break;
        }
        validation_default(res->group, res->plural, obj);
        if (strcmp(res->plural, "namespaces") == 0)
            eng_namespace_defaults(obj);
        if (eng_admit(r, false, ADM_CREATE, obj, NULL, dry, NULL, err) < 0) {
            rc = -1;
            break;
        }
        name = eng_md_str(obj, "name"); /* a webhook's patch may have replaced the strings */
        bool svc = strcmp(res->plural, "services") == 0 && !res->group[0];
        if (svc)
            pthread_mutex_lock(&r->s->alloc_mu);
        rc = 0;
        if (svc)
            rc = eng_service_alloc(r->s, res, obj, NULL, &plan, err);
        if (rc == 0)
            rc = validation_validate(res->group, res->plural, res->kind, obj, NULL, err);
        if (rc == 0) /* RBAC escalation prevention */
            rc = eng_rbac_check_escalation(r->s, r->rq, res, r->ns, name, obj, err);
        if (rc == 0)
            rc = eng_admit(r, true, ADM_CREATE, obj, NULL, dry, NULL, err);
        if (rc < 0) {
            if (svc)
                pthread_mutex_unlock(&r->s->alloc_mu);
            break;
        }
        if (!json_object_get(eng_md(obj), "managedFields")) {
            char mb[160];
            eng_track_update(res, NULL, obj, eng_manager_name(r, mb, sizeof(mb)), NULL);
        }
        size_t len;
        char *val = eng_canonical(res, obj, &len);
        if (dry) {
            if (svc)
                pthread_mutex_unlock(&r->s->alloc_mu);
            eng_reply_obj(r, 201, val, len, 0);
            free(val);
            rc = 0;
            break;
        }
        struct ck_buf key = CK_BUF_INIT(4096);
        eng_key(res, r->ns, name, &key);
        int64_t rev = 0;
        if (svc)
            rc = eng_svc_commit(r->s, &plan, key.data, key.len, val, len, STORE_ABSENT, &rev, err);
        else
            rc = store_put(r->s->cache.st, key.data, key.len, val, len, STORE_ABSENT, &rev, NULL,
                           err);
        if (svc)
            pthread_mutex_unlock(&r->s->alloc_mu);
        ck_buf_release(&key);
        if (rc == 0)
            eng_reply_obj(r, 201, val, len, rev);
        free(val);
        if (rc == 1) /* an allocated value was taken by another API server: choose again */
            continue;
        if (rc == 0 || err->reason != CK_R_ALREADY_EXISTS)
            break;
        if (!generated || ++named == 4) {
            already_exists(err, res, name);
            break;
        }
        json_object_del(eng_md(obj), "name"); /* retry with a new random suffix */
    }
    eng_svc_plan_release(&plan);
    if (rc == 1)
        ck_err_set(err, CK_R_INTERNAL,
                   "failed to allocate a Service's values: every choice was taken meanwhile; "
                   "try again");
    return rc == 0 ? 0 : -1;
}

int eng_admit(struct eng_req *r, bool validate, int op, json_t *obj, json_t *old, bool dry,
              const char *sub, struct ck_err *err)
{
    if (!r->rq || !r->rq->user)
        return 0; /* the engine's own writes */
    struct adm_attrs a = {.op = (enum adm_op)op, .res = r->res, .sub = sub ? sub : "",
                          .ns = r->ns ? r->ns : "", .obj = obj, .old = old, .user = r->rq->user,
                          .uid = "", .groups = r->rq->groups, .dry = dry, .rs = r->rs,
                          .cache = &r->s->cache};
    char nm[256]; /* a webhook's patch may replace the object's strings */
    const char *n = obj ? eng_md_str(obj, "name") : NULL;
    snprintf(nm, sizeof(nm), "%s", n ? n : r->name ? r->name : "");
    a.name = nm;
    if (validate)
        return adm_validate(&a, err);
    if (adm_mutate(&a, err) < 0)
        return -1;
    /* a mutating webhook may not move the object to another namespace */
    const char *ons = obj ? eng_md_str(obj, "namespace") : NULL;
    if (obj && (r->res->flags & REG_NAMESPACED) && r->ns && (!ons || strcmp(ons, r->ns) != 0))
        return ck_err_set(err, CK_R_BAD_REQUEST, "the namespace of the provided object does not "
                                                 "match the namespace sent on the request");
    return 0;
}

int eng_serve_create(struct eng_req *r)
{
    struct ck_err err = CK_ERR_INIT;
    json_t *obj = NULL;
    int bad = 0;
    bool dry = eng_dry_run(r, &err, &bad);
    int mode = bad < 0 ? -1 : eng_field_validation(r, &err);
    int rc = mode < 0 ? -1 : eng_decode_req(r->rq, mode, r->rs, &obj, &err);
    if (rc == 0)
        rc = eng_check_gvk(r->res, obj, r->res->kind, r->res->api_version, &err);
    if (rc == 0)
        rc = eng_check_unknown(r, mode, r->res, obj, &err);
    if (rc == 0)
        rc = eng_create_obj(r, obj, dry, &err);
    json_decref(obj);
    if (rc < 0)
        eng_reply_err(r, &err);
    return rc;
}

/* ---- bootstrap ---------------------------------------------------------------------- */

int eng_internal_create(struct api_server *s, const struct reg_resource *res, const char *ns,
                        json_t *body, struct ck_err *err)
{
    struct api_request rq = {.method = "POST", .path = "/"};
    struct api_response rs;
    api_response_init(&rs, 1 << 20);
    struct eng_req r;
    memset(&r, 0, sizeof(r));
    r.s = s;
    r.rq = &rq;
    r.rs = &rs;
    r.res = res;
    r.ns = (char *)ns;
    struct ck_err e2 = CK_ERR_INIT;
    int rc = eng_create_obj(&r, body, false, &e2);
    api_response_release(&rs);
    if (rc < 0 && e2.reason != CK_R_ALREADY_EXISTS) {
        *err = e2;
        return ck_err_wrap(err, "creating %s %s", res->plural, eng_md_str(body, "name"));
    }
    /* created by another API server on the same store: wait (up to 5 s) for our cache to see
     * it, as what follows the bootstrap relies on it */
    for (int i = 0; rc < 0 && i < 50; i++) {
        struct eng_obj *o = eng_cache_get(&s->cache, res, ns, eng_md_str(body, "name"));
        if (o) {
            eng_obj_unref(o);
            break;
        }
        eng_wait_rev(&s->cache, eng_cur_rev(&s->cache) + 1, 100);
    }
    return 0;
}

int eng_bootstrap_namespaces(struct api_server *s, struct ck_err *err)
{
    static const char *const names[] = {"default", "kube-system", "kube-public",
                                        "kube-node-lease"};
    const struct reg_resource *nsr = reg_find("", "v1", "namespaces");
    for (size_t i = 0; i < 4; i++) {
        struct eng_obj *o = eng_cache_get(&s->cache, nsr, NULL, names[i]);
        if (o) {
            eng_obj_unref(o);
            continue;
        }
        json_t *obj = json_pack("{s:{s:s}}", "metadata", "name", names[i]);
        int rc = eng_internal_create(s, nsr, NULL, obj, err);
        json_decref(obj);
        if (rc < 0)
            return -1;
    }
    return 0;
}

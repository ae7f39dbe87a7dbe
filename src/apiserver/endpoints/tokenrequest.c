/* SPDX-License-Identifier: Apache-2.0 */
/* POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token: an authentication.k8s.io/v1
 * TokenRequest answered with a bound service-account token, as upstream's
 * pkg/registry/core/serviceaccount/storage/token.go: body name/namespace must match the URL,
 * expirationSeconds defaults to 3600 (at least 600, at most 2^32, capped by
 * --service-account-max-token-expiration with a warning), audiences default to
 * --api-audiences, boundObjectRef may name a Pod (its node goes into the claims too), a Secret
 * or a Node of the namespace, with upstream's uid check; a pod-bound token of 3607 s for the
 * API server's audiences lives a year and warns after 3607 s (--service-account-extend-token-
 * expiration, on by default upstream). Nothing is stored. */
#include "apiserver/authn/satoken.h"
#include "apiserver/endpoints/tokens_int.h"
#include "apiserver/endpoints/write_int.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define WARN_ONLY_EXP 3607                         /* token.WarnOnlyBoundTokenExpirationSeconds */
#define EXTENDED_EXP ((int64_t)365 * 24 * 60 * 60) /* token.ExpirationExtensionSeconds */
#define MAX_EXP ((int64_t)1 << 32)

static const struct reg_resource TR = {.group = "authentication.k8s.io",
                                       .version = "v1",
                                       .kind = "TokenRequest",
                                       .plural = "tokenrequests"};

static int invalid(struct ck_err *err, const char *name, const char *field, const char *detail)
{
    eng_invalid(err, &TR, name, field, "FieldValueInvalid", detail);
    return -1;
}

static bool all_in(const json_t *auds, char *const *set)
{
    size_t i;
    const json_t *a;
    json_array_foreach(auds, i, a)
    {
        bool found = false;
        for (size_t k = 0; set && set[k] && !found; k++)
            found = json_string_value(a) && !strcmp(set[k], json_string_value(a));
        if (!found)
            return false;
    }
    return true;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* The bound object: fills claims' pod/secret/node (strings point into *held, which the caller
 * frees) or returns -1 with err. */
static int bind_object(struct eng_req *r, const json_t *ref, struct sa_claims *c, json_t **held,
                       bool *pod_bound, struct ck_err *err)
{
    const char *av = jstr(ref, "apiVersion"), *kind = jstr(ref, "kind"), *name = jstr(ref, "name");
    const char *want_uid = jstr(ref, "uid");
    bool core = !av || !strchr(av, '/'); /* "v1" or "": the core group */
    const char *plural = !core                             ? NULL
                         : kind && !strcmp(kind, "Pod")    ? "pods"
                         : kind && !strcmp(kind, "Secret") ? "secrets"
                         : kind && !strcmp(kind, "Node")   ? "nodes"
                                                           : NULL;
    if (!plural) {
        /* gvk.String(): "<group>/<version>, Kind=<kind>" */
        char g[128] = "", v[64] = "";
        if (av && strchr(av, '/')) {
            snprintf(g, sizeof(g), "%.*s", (int)(strchr(av, '/') - av), av);
            snprintf(v, sizeof(v), "%s", strchr(av, '/') + 1);
        } else if (av) {
            snprintf(v, sizeof(v), "%s", av);
        }
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "cannot bind token to object of type %s%s%s, Kind=%s", g, g[0] ? "/" : "",
                          v, kind ? kind : "");
    }
    const struct reg_resource *res = reg_find("", "v1", plural);
    bool nsd = strcmp(plural, "nodes") != 0;
    struct eng_obj *o =
        name && *name ? eng_cache_get(&r->s->cache, res, nsd ? r->ns : NULL, name) : NULL;
    if (!o) {
        eng_err_not_found(err, res, name ? name : "");
        return -1;
    }
    json_t *obj = eng_obj_json(o);
    char uid[48];
    snprintf(uid, sizeof(uid), "%s", o->uid);
    eng_obj_unref(o);
    json_array_append_new(*held, obj);
    const char *oname = jstr(json_object_get(obj, "metadata"), "name");
    if (!strcmp(plural, "pods")) {
        const json_t *spec = json_object_get(obj, "spec");
        const char *sa = jstr(spec, "serviceAccountName");
        if (!sa || !*sa)
            sa = "default"; /* what ServiceAccount admission sets */
        if (strcmp(sa, r->name))
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "cannot bind token for serviceaccount \"%s\" to pod running with "
                              "different serviceaccount name.",
                              r->name);
        c->pod_name = oname;
        c->pod_uid = jstr(json_object_get(obj, "metadata"), "uid");
        *pod_bound = true;
        const char *node = jstr(spec, "nodeName");
        if (node && *node) {
            c->node_name = node;
            struct eng_obj *no =
                eng_cache_get(&r->s->cache, reg_find("", "v1", "nodes"), NULL, node);
            if (no) {
                json_array_append_new(*held, json_string(no->uid));
                c->node_uid = json_string_value(json_array_get(*held, json_array_size(*held) - 1));
                eng_obj_unref(no);
            }
        }
    } else if (!strcmp(plural, "secrets")) {
        c->secret_name = oname;
        c->secret_uid = jstr(json_object_get(obj, "metadata"), "uid");
    } else {
        c->node_name = oname;
        c->node_uid = jstr(json_object_get(obj, "metadata"), "uid");
    }
    if (want_uid && *want_uid && strcmp(want_uid, uid)) {
        ck_err_set(err, CK_R_CONFLICT,
                   "Operation cannot be fulfilled on %s \"%s\": the UID in the bound object "
                   "reference (%s) does not match the UID in record. The object might have been "
                   "deleted and then recreated",
                   kind, name, want_uid);
        snprintf(err->kind, sizeof(err->kind), "%s", kind);
        snprintf(err->name, sizeof(err->name), "%s", name);
        return -1;
    }
    return 0;
}

int eng_serve_token_request(struct eng_req *r)
{
    struct ck_err err = CK_ERR_INIT;
    struct eng_tokens *t = r->s->tok;
    json_t *req = NULL, *held = json_array();
    struct eng_obj *sa = NULL;
    char *tok = NULL;
    int rc = 0;
    if (!t || !t->signer) {
        rc = ck_err_set(&err, CK_R_NOT_FOUND, "the server could not find the requested resource");
        goto out;
    }
    if ((rc = eng_decode_req(r->rq, ENG_FV_IGNORE, r->rs, &req, &err)) < 0)
        goto out;
    if (!json_is_object(req)) {
        rc = ck_err_set(&err, CK_R_BAD_REQUEST, "the body of the request is not a TokenRequest");
        goto out;
    }
    const char *kind = jstr(req, "kind"), *av = jstr(req, "apiVersion");
    if ((kind && *kind && strcmp(kind, "TokenRequest")) ||
        (av && *av && strcmp(av, "authentication.k8s.io/v1"))) {
        rc = ck_err_set(&err, CK_R_BAD_REQUEST,
                        "the API version in the data (%s) does not match "
                        "the expected API version (authentication.k8s.io/v1)",
                        av ? av : "");
        goto out;
    }
    json_t *md = eng_md(req);
    const char *bname = jstr(md, "name"), *bns = jstr(md, "namespace");
    if (bns && *bns && strcmp(bns, r->ns)) { /* the create handler's namespace check */
        rc = ck_err_set(&err, CK_R_BAD_REQUEST,
                        "the namespace of the provided object does not "
                        "match the namespace sent on the request");
        goto out;
    }
    if (bname && *bname && strcmp(bname, r->name)) {
        char d[400];
        snprintf(d, sizeof(d),
                 "Invalid value: \"%s\": must match the service account name if "
                 "specified",
                 bname);
        rc = invalid(&err, r->name, "metadata.name", d);
        goto out;
    }
    if (!(sa = eng_cache_get(&r->s->cache, r->res, r->ns, r->name))) {
        eng_err_not_found(&err, r->res, r->name);
        rc = -1;
        goto out;
    }
    json_t *spec = json_object_get(req, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(req, "spec", spec);
    }
    json_t *auds = json_object_get(spec, "audiences");
    if (!json_is_array(auds) || !json_array_size(auds)) {
        auds = json_array();
        for (size_t i = 0; t->auds[i]; i++)
            json_array_append_new(auds, json_string(t->auds[i]));
        json_object_set_new(spec, "audiences", auds);
    }
    json_t *je = json_object_get(spec, "expirationSeconds");
    int64_t exp = json_is_integer(je) ? json_integer_value(je) : 3600;
    json_object_set_new(spec, "expirationSeconds", json_integer(exp));
    json_object_set_new(md, "name", json_string(r->name));
    json_object_set_new(md, "namespace", json_string(r->ns));
    time_t now = time(NULL);
    char ts[21];
    ck_time_rfc3339(now, ts);
    json_object_set_new(md, "creationTimestamp", json_string(ts));
    json_object_del(req, "status");
    char d[200];
    if (exp < 600) {
        snprintf(d, sizeof(d),
                 "Invalid value: %lld: may not specify a duration less than 10 "
                 "minutes",
                 (long long)exp);
        rc = invalid(&err, "", "spec.expirationSeconds", d);
        goto out;
    }
    if (exp > MAX_EXP) {
        snprintf(d, sizeof(d),
                 "Invalid value: %lld: may not specify a duration larger than "
                 "2^32 seconds",
                 (long long)exp);
        rc = invalid(&err, "", "spec.expirationSeconds", d);
        goto out;
    }
    struct sa_claims c = {.ns = r->ns, .sa_name = r->name, .sa_uid = sa->uid};
    bool pod_bound = false;
    json_t *ref = json_object_get(spec, "boundObjectRef");
    if (json_is_object(ref) && (rc = bind_object(r, ref, &c, &held, &pod_bound, &err)) < 0)
        goto out;
    if (t->max_exp > 0 && exp > t->max_exp) {
        eng_add_warning(r->rs, "requested expiration of %lld seconds shortened to %lld seconds",
                        (long long)exp, (long long)t->max_exp);
        exp = t->max_exp;
        json_object_set_new(spec, "expirationSeconds", json_integer(exp));
    }
    int64_t life = exp;
    if (pod_bound && exp == WARN_ONLY_EXP && all_in(auds, t->auds)) {
        c.warnafter = (int64_t)now + exp;
        life = EXTENDED_EXP;
    }
    const char **av_list = ck_calloc(json_array_size(auds) + 1, sizeof(char *));
    size_t i, na = 0;
    const json_t *a;
    json_array_foreach(auds, i, a)
    {
        if (json_string_value(a))
            av_list[na++] = json_string_value(a);
    }
    c.audiences = av_list;
    c.iat = (int64_t)now;
    c.exp = (int64_t)now + life;
    tok = sa_token_issue(t->signer, &c, &err);
    free(av_list);
    if (!tok) {
        rc = -1;
        goto out;
    }
    ck_time_rfc3339(now + (time_t)exp, ts);
    json_object_set_new(req, "status",
                        json_pack("{s:s,s:s}", "token", tok, "expirationTimestamp", ts));
    json_object_set_new(req, "apiVersion", json_string("authentication.k8s.io/v1"));
    json_object_set_new(req, "kind", json_string("TokenRequest"));
out:
    eng_obj_unref(sa);
    json_decref(held);
    if (tok) {
        char *body = json_dumps(req, JSON_COMPACT);
        eng_reply(r, 201, body, strlen(body));
        free(body);
        memset(tok, 0, strlen(tok));
        free(tok);
    } else {
        if (rc == 0)
            ck_err_set(&err, CK_R_INTERNAL, "failed to generate token");
        eng_reply_err(r, &err);
    }
    json_decref(req);
    return tok ? 0 : -1;
}

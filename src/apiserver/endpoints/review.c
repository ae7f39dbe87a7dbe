/* SPDX-License-Identifier: Apache-2.0 */
/* Virtual create-only review resources, answered and never stored: authorization.k8s.io
 * (Self/Local)SubjectAccessReview and SelfSubjectRulesReview, decided by the engine's
 * authorizer (api_authorize: Node, RBAC), and authentication.k8s.io SelfSubjectReview
 * (`kubectl auth whoami`: the authenticated user from the request). */
#include "apiserver/endpoints/endpoints.h"
#include "apiserver/endpoints/write_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static json_t *user_info(const struct api_request *rq)
{
    json_t *groups = json_array();
    for (size_t i = 0; rq->groups && rq->groups[i]; i++)
        json_array_append_new(groups, json_string(rq->groups[i]));
    return json_pack("{s:s,s:o}", "username", rq->user ? rq->user : "", "groups", groups);
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* status of a (Self/Local)SubjectAccessReview for spec as user/groups. */
static json_t *access_review(struct eng_req *r, const json_t *spec, const char *user,
                             const char *const *groups)
{
    const json_t *ra = json_object_get(spec, "resourceAttributes");
    const json_t *na = json_object_get(spec, "nonResourceAttributes");
    struct rbac_attrs a = {.user = user, .groups = groups};
    if (ra) {
        a.resource_request = true;
        a.verb = jstr(ra, "verb");
        a.api_group = jstr(ra, "group");
        a.resource = jstr(ra, "resource");
        a.subresource = jstr(ra, "subresource");
        a.ns = jstr(ra, "namespace");
        a.name = jstr(ra, "name");
    } else {
        a.verb = jstr(na, "verb");
        a.path = jstr(na, "path");
    }
    char reason[1024] = "";
    bool ok = api_authorize(r->s, &a, reason, sizeof(reason));
    json_t *st = json_pack("{s:b}", "allowed", ok);
    if (reason[0])
        json_object_set_new(st, "reason", json_string(reason));
    return st;
}

/* upstream's validation of a SubjectAccessReview spec: exactly one of the attributes, and a
 * user or groups for the non-self kinds. 0 or -1 with a 422. */
static int check_spec(struct eng_req *r, const json_t *spec, bool self, struct ck_err *err)
{
    const json_t *ra = json_object_get(spec, "resourceAttributes");
    const json_t *na = json_object_get(spec, "nonResourceAttributes");
    const char *what = NULL, *field = "spec.resourceAttributes";
    if (ra && na)
        what = "cannot be specified in combination with resourceAttributes",
        field = "spec.nonResourceAttributes";
    else if (!ra && !na)
        what = "exactly one of nonResourceAttributes or resourceAttributes must be specified";
    else if (!self && !*jstr(spec, "user") && !json_array_size(json_object_get(spec, "groups")))
        what = "at least one of user or group must be specified", field = "spec.user";
    else if (r->ns && ra && strcmp(jstr(ra, "namespace"), r->ns))
        what = "must match metadata.namespace", field = "spec.resourceAttributes.namespace";
    if (!what)
        return 0;
    char msg[256];
    snprintf(msg, sizeof(msg), "Invalid value: \"null\": %s", what);
    eng_invalid(err, r->res, "", field, "FieldValueInvalid", msg);
    return -1;
}

int eng_serve_review(struct eng_req *r)
{
    struct ck_err err = CK_ERR_INIT;
    json_t *obj = NULL;
    int rc = eng_decode_req(r->rq, ENG_FV_IGNORE, r->rs, &obj, &err);
    if (rc == 0)
        rc = eng_check_gvk(r->res, obj, r->res->kind, r->res->api_version, &err);
    if (rc < 0) {
        json_decref(obj);
        eng_reply_err(r, &err);
        return -1;
    }
    json_object_set_new(obj, "apiVersion", json_string(r->res->api_version));
    json_object_set_new(obj, "kind", json_string(r->res->kind));
    json_t *md = eng_md(obj);
    json_object_set_new(md, "creationTimestamp", json_null());
    if (r->ns)
        json_object_set_new(md, "namespace", json_string(r->ns));
    const char *p = r->res->plural;
    json_t *st;
    if (strcmp(p, "selfsubjectreviews") == 0) {
        st = json_pack("{s:o}", "userInfo", user_info(r->rq));
    } else if (strcmp(p, "selfsubjectrulesreviews") == 0) {
        struct rbac_attrs who = {.user = r->rq->user, .groups = r->rq->groups};
        const char *ns = jstr(json_object_get(obj, "spec"), "namespace");
        st = eng_rbac_rules(r->s, &who, ns);
    } else {
        const json_t *spec = json_object_get(obj, "spec");
        bool self = strcmp(p, "selfsubjectaccessreviews") == 0;
        if (check_spec(r, spec, self, &err) < 0) {
            json_decref(obj);
            eng_reply_err(r, &err);
            return -1;
        }
        if (self) {
            st = access_review(r, spec, r->rq->user, r->rq->groups);
        } else {
            const json_t *gs = json_object_get(spec, "groups");
            size_t n = json_array_size(gs);
            const char **groups = ck_calloc(n + 1, sizeof(*groups));
            for (size_t i = 0; i < n; i++)
                groups[i] = json_string_value(json_array_get(gs, i));
            st = access_review(r, spec, jstr(spec, "user"), groups);
            free(groups);
        }
    }
    json_object_set_new(obj, "status", st);
    char *s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    eng_reply(r, 201, s, strlen(s));
    free(s);
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Virtual create-only review resources, answered and never stored: authorization.k8s.io
 * (Self/Local)SubjectAccessReview and SelfSubjectRulesReview (everything is allowed until an
 * authorizer exists: the front end does no authorization), and authentication.k8s.io
 * SelfSubjectReview (`kubectl auth whoami`: the authenticated user from the request). */
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
        st = json_pack("{s:[{s:[s],s:[s],s:[s]}],s:[{s:[s],s:[s]}],s:b}", "resourceRules", "verbs",
                       "*", "apiGroups", "*", "resources", "*", "nonResourceRules", "verbs", "*",
                       "nonResourceURLs", "*", "incomplete", 0);
    } else {
        st = json_pack("{s:b,s:s}", "allowed", 1, "reason",
                       "ckube: no authorizer configured, every request is allowed");
    }
    json_object_set_new(obj, "status", st);
    char *s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    eng_reply(r, 201, s, strlen(s));
    free(s);
    return 0;
}

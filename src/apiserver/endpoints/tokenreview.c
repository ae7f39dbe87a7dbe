/* SPDX-License-Identifier: Apache-2.0 */
/* authentication.k8s.io/v1 TokenReview (create-only, never stored), as upstream's
 * pkg/registry/authentication/tokenreview: spec.token runs through the token authenticators
 * (the static token file, bootstrap tokens, service-account tokens) with spec.audiences, or
 * --api-audiences when none are given; the answer is status.authenticated, status.user,
 * status.audiences and status.error. The front end's own admin token is not known here. */
#include "apiserver/authn/impersonate.h"
#include "apiserver/endpoints/tokens_int.h"
#include "apiserver/endpoints/write_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

static json_t *user_json(const struct authn_user *u)
{
    json_t *g = json_array(), *extra = json_object();
    for (size_t i = 0; u->groups && u->groups[i]; i++)
        json_array_append_new(g, json_string(u->groups[i]));
    for (size_t i = 0; i < u->nextra; i++) {
        json_t *v = json_object_get(extra, u->extra_keys[i]);
        if (!v) {
            v = json_array();
            json_object_set_new(extra, u->extra_keys[i], v);
        }
        json_array_append_new(v, json_string(u->extra_vals[i]));
    }
    json_t *o = json_pack("{s:s,s:o}", "username", u->name ? u->name : "", "groups", g);
    if (u->uid)
        json_object_set_new(o, "uid", json_string(u->uid));
    if (json_object_size(extra))
        json_object_set_new(o, "extra", extra);
    else
        json_decref(extra);
    return o;
}

int eng_serve_token_review(struct eng_req *r)
{
    struct ck_err err = CK_ERR_INIT;
    json_t *obj = NULL;
    int rc = eng_decode_req(r->rq, ENG_FV_IGNORE, r->rs, &obj, &err);
    if (rc == 0)
        rc = eng_check_gvk(r->res, obj, r->res->kind, r->res->api_version, &err);
    const json_t *spec = json_object_get(obj, "spec");
    const char *tok = json_string_value(json_object_get(spec, "token"));
    if (rc == 0 && (!tok || !*tok))
        rc = ck_err_set(&err, CK_R_BAD_REQUEST,
                        "token is required for TokenReview in authentication");
    if (rc < 0) {
        json_decref(obj);
        eng_reply_err(r, &err);
        return -1;
    }
    const json_t *ja = json_object_get(spec, "audiences");
    const char **auds = NULL;
    if (json_is_array(ja) && json_array_size(ja)) {
        auds = ck_calloc(json_array_size(ja) + 1, sizeof(char *));
        size_t i, n = 0;
        const json_t *a;
        json_array_foreach(ja, i, a)
        {
            if (json_string_value(a))
                auds[n++] = json_string_value(a);
        }
    }
    struct authn_user u;
    char **got = NULL, why[512];
    memset(&u, 0, sizeof(u));
    bool ok = eng_token_authenticate(r->s, tok, strlen(tok), auds, (int64_t)time(NULL), true, &u,
                                     &got, why, sizeof(why)) == 0;
    /* audience-agnostic authenticators (token file, bootstrap) answer for the requested
     * audiences that are the server's own (upstream's WrapAudienceAgnosticToken) */
    json_t *ga = json_array();
    char *const *own = r->s->tok ? r->s->tok->auds : NULL;
    for (size_t i = 0; ok && got && got[i]; i++)
        json_array_append_new(ga, json_string(got[i]));
    for (size_t i = 0; ok && !got && own && own[i]; i++) {
        bool asked = !auds;
        for (size_t k = 0; auds && auds[k] && !asked; k++)
            asked = !strcmp(auds[k], own[i]);
        if (asked)
            json_array_append_new(ga, json_string(own[i]));
    }
    if (ok && !got && auds && own && !json_array_size(ga)) {
        ok = false;
        snprintf(why, sizeof(why), "token audiences %s is invalid for the target audiences", "[]");
    }
    free(auds);
    json_object_set_new(obj, "apiVersion", json_string(r->res->api_version));
    json_object_set_new(obj, "kind", json_string(r->res->kind));
    json_t *md = eng_md(obj);
    json_object_set_new(md, "creationTimestamp", json_null());
    json_t *st = json_pack("{s:b}", "authenticated", ok);
    if (ok) {
        json_object_set_new(st, "user", user_json(&u));
        json_object_set_new(st, "audiences", ga);
    } else {
        json_decref(ga);
        json_object_set_new(st, "user", json_object());
        json_object_set_new(st, "error", json_string(why));
    }
    json_object_set_new(obj, "status", st);
    for (size_t i = 0; got && got[i]; i++)
        free(got[i]);
    free(got);
    authn_user_release(&u);
    char *s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    eng_reply(r, 201, s, strlen(s));
    free(s);
    return 0;
}

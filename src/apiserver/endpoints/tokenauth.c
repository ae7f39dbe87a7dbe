/* SPDX-License-Identifier: Apache-2.0 */
/* Bearer tokens the front end does not know itself (issue 17): the static token file and
 * service-account JWTs, checked as upstream's token authenticators do (tokenfile;
 * pkg/serviceaccount jwt.go and claims.go: signature, issuer, expiry and audience, then the
 * service account, and the pod, secret or node the token is bound to, must still exist with the
 * token's uids), reading only the cache. Also the issuer's OIDC discovery documents. */
#include "apiserver/authn/bootstrap.h"
#include "apiserver/authn/satoken.h"
#include "apiserver/authn/tokenfile.h"
#include "apiserver/authn/x509.h"
#include "apiserver/endpoints/tokens_int.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define DEFAULT_ISSUER "https://kubernetes.default.svc.cluster.local"
#define EXTRA_PREFIX "authentication.kubernetes.io/"

static char **split_list(const char *s)
{
    size_t n = 1;
    for (const char *p = s; *p; p++)
        n += *p == ',';
    char **v = ck_calloc(n + 1, sizeof(*v));
    size_t k = 0;
    const char *start = s;
    for (const char *p = s;; p++)
        if (*p == ',' || !*p) {
            while (start < p && *start == ' ')
                start++;
            size_t len = (size_t)(p - start);
            while (len && start[len - 1] == ' ')
                len--;
            if (len)
                v[k++] = ck_strndup(start, len);
            if (!*p)
                break;
            start = p + 1;
        }
    return v;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

int eng_tokens_init(struct api_server *s, struct ck_err *err)
{
    const struct api_opts *o = &s->cache.opts;
    struct eng_tokens *t = ck_calloc(1, sizeof(*t));
    s->tok = t;
    t->max_exp = o->sa_max_token_expiration_s > 0 ? o->sa_max_token_expiration_s : 0;
    if (o->token_auth_file && authn_tokenfile_load(o->token_auth_file, &t->file, err) < 0)
        return -1;
    if (o->token_auth_file)
        ck_info("token file %s: %zu tokens", o->token_auth_file, authn_tokenfile_count(t->file));
    if (!o->sa_signing_key_file)
        return 0;
    const char *iss = o->sa_issuer && *o->sa_issuer ? o->sa_issuer : DEFAULT_ISSUER;
    if (sa_signer_load(o->sa_signing_key_file, iss, &t->signer, err) < 0)
        return ck_err_wrap(err, "service-account signing key");
    t->auds = split_list(o->api_audiences ? o->api_audiences : "");
    if (!t->auds[0]) {
        free(t->auds);
        t->auds = ck_calloc(2, sizeof(*t->auds));
        t->auds[0] = ck_strdup(iss);
    }
    return 0;
}

void eng_tokens_free(struct api_server *s)
{
    struct eng_tokens *t = s->tok;
    if (!t)
        return;
    sa_signer_free(t->signer);
    authn_tokenfile_free(t->file);
    strv_free(t->auds);
    free(t);
    s->tok = NULL;
}

static void add_extra(struct authn_user *u, const char *key, const char *val)
{
    u->extra_keys = ck_realloc(u->extra_keys, (u->nextra + 1) * sizeof(char *));
    u->extra_vals = ck_realloc(u->extra_vals, (u->nextra + 1) * sizeof(char *));
    u->extra_keys[u->nextra] = ck_asprintf("%s%s", EXTRA_PREFIX, key);
    u->extra_vals[u->nextra] = ck_strdup(val);
    u->nextra++;
}

/* upstream's claims.go: an object being deleted stays valid for 60 s after its
 * deletionTimestamp */
#define DELETE_GRACE_S 60

static bool deleted_long_ago(const struct eng_obj *o, int64_t now)
{
    if (!o->deleting)
        return false;
    json_t *j = eng_obj_json(o);
    const char *ts =
        json_string_value(json_object_get(json_object_get(j, "metadata"), "deletionTimestamp"));
    time_t t = 0;
    bool old = !ts || ck_time_parse_rfc3339(ts, &t) < 0 || (int64_t)t < now - DELETE_GRACE_S;
    json_decref(j);
    return old;
}

/* The object ns/name of plural must exist with uid (when the token names one) and not be
 * long deleted: NULL when so, else why. */
static const char *check_obj(struct api_server *s, const char *plural, const char *ns,
                             const char *name, const char *uid, int64_t now, const char *kind,
                             char *why, size_t n)
{
    const struct reg_resource *res = reg_find("", "v1", plural);
    struct eng_obj *o = res ? eng_cache_get(&s->cache, res, ns ? ns : "", name) : NULL;
    const char *r = NULL;
    if (!o)
        snprintf(why, n, "%s not found", kind);
    else if (uid && *uid && strcmp(o->uid, uid))
        snprintf(why, n, "%s UID (%s) does not match claim (%s)", kind, o->uid, uid);
    else if (deleted_long_ago(o, now))
        snprintf(why, n, "%s has been deleted", kind);
    else
        r = "ok";
    eng_obj_unref(o);
    return r ? NULL : why;
}

static int sa_user(struct api_server *s, const char *tok, size_t len, const char *const *auds,
                   int64_t now, struct authn_user *u, char ***auds_out, char *why, size_t n)
{
    struct eng_tokens *t = s->tok;
    struct ck_err err = CK_ERR_INIT;
    struct sa_verified v;
    char *copy = ck_strndup(tok, len);
    int rc =
        sa_token_verify(t->signer, copy, auds ? auds : (const char *const *)t->auds, now, &v, &err);
    free(copy);
    if (rc < 0) {
        snprintf(why, n, "%s", err.msg);
        return -1;
    }
    /* the objects named by the claims (upstream's validator, cache reads only) */
    char b[256];
    const char *bad = check_obj(s, "serviceaccounts", v.ns, v.sa_name, v.sa_uid, now,
                                "service account", b, sizeof(b));
    if (!bad && v.pod_name)
        bad = check_obj(s, "pods", v.ns, v.pod_name, v.pod_uid, now, "pod", b, sizeof(b));
    if (!bad && v.secret_name)
        bad =
            check_obj(s, "secrets", v.ns, v.secret_name, v.secret_uid, now, "secret", b, sizeof(b));
    if (!bad && v.node_name && !v.pod_name && !v.secret_name) /* node-bound tokens */
        bad = check_obj(s, "nodes", NULL, v.node_name, v.node_uid, now, "node", b, sizeof(b));
    if (bad) {
        snprintf(why, n, "service-account token: %s", bad);
        sa_verified_release(&v);
        return -1;
    }
    memset(u, 0, sizeof(*u));
    u->name = ck_asprintf("system:serviceaccount:%s:%s", v.ns, v.sa_name);
    u->uid = v.sa_uid && *v.sa_uid ? ck_strdup(v.sa_uid) : NULL;
    u->groups = ck_calloc(4, sizeof(*u->groups));
    u->groups[0] = ck_strdup("system:serviceaccounts");
    u->groups[1] = ck_asprintf("system:serviceaccounts:%s", v.ns);
    u->groups[2] = ck_strdup("system:authenticated");
    if (v.pod_name) {
        add_extra(u, "pod-name", v.pod_name);
        add_extra(u, "pod-uid", v.pod_uid ? v.pod_uid : "");
    }
    if (v.node_name) {
        add_extra(u, "node-name", v.node_name);
        if (v.node_uid && *v.node_uid)
            add_extra(u, "node-uid", v.node_uid);
    }
    if (v.jti && *v.jti) {
        char cred[128];
        snprintf(cred, sizeof(cred), "JTI=%s", v.jti);
        add_extra(u, "credential-id", cred);
    }
    if (auds_out) {
        *auds_out = v.audiences;
        v.audiences = NULL;
    }
    sa_verified_release(&v);
    return 0;
}

static int bootstrap_user(struct api_server *s, const char *tok, size_t len, int64_t now,
                          struct authn_user *u, char *why, size_t n)
{
    char id[7], secret[17], name[64];
    if (!authn_bootstrap_token_split(tok, len, id, secret))
        return -1;
    snprintf(name, sizeof(name), "%s%s", AUTHN_BOOTSTRAP_SECRET_PREFIX, id);
    const struct reg_resource *res = reg_find("", "v1", "secrets");
    struct eng_obj *o = res ? eng_cache_get(&s->cache, res, "kube-system", name) : NULL;
    json_t *j = o ? eng_obj_json(o) : NULL;
    eng_obj_unref(o);
    int rc = j ? authn_bootstrap_check(j, id, secret, (time_t)now, u, why, n) : -1;
    if (!j)
        snprintf(why, n, "no secret for bootstrap token %s", id);
    json_decref(j);
    return rc;
}

static bool looks_like_jwt(const char *tok, size_t len)
{
    size_t dots = 0;
    for (size_t i = 0; i < len; i++)
        dots += tok[i] == '.';
    return dots == 2;
}

int eng_token_authenticate(struct api_server *s, const char *tok, size_t len,
                           const char *const *auds, int64_t now, bool bootstrap,
                           struct authn_user *u, char ***auds_out, char *why, size_t whylen)
{
    struct eng_tokens *t = s->tok;
    if (auds_out)
        *auds_out = NULL;
    snprintf(why, whylen, "invalid bearer token");
    if (!t || !tok || !len)
        return -1;
    if (t->file && authn_tokenfile_lookup(t->file, tok, len, u) == 0)
        return 0;
    if (bootstrap && authn_bootstrap_token_split(tok, len, (char[7]){0}, (char[17]){0}))
        return bootstrap_user(s, tok, len, now, u, why, whylen);
    if (t->signer && looks_like_jwt(tok, len))
        return sa_user(s, tok, len, auds, now, u, auds_out, why, whylen);
    return -1;
}

int api_authn_token(struct api_server *s, const char *tok, size_t len, struct authn_user *u)
{
    char why[512];
    int rc = eng_token_authenticate(s, tok, len, NULL, (int64_t)time(NULL), false, u, NULL, why,
                                    sizeof(why));
    if (rc < 0)
        ck_v(3, "bearer token not authenticated: %s", why);
    return rc;
}

/* ---- OIDC discovery (upstream's pkg/serviceaccount/openidmetadata.go) -------------------- */

int eng_serve_oidc(struct eng_req *r, const char **segs, size_t n)
{
    bool conf =
        n == 2 && !strcmp(segs[0], ".well-known") && !strcmp(segs[1], "openid-configuration");
    bool jwks =
        n == 3 && !strcmp(segs[0], "openid") && !strcmp(segs[1], "v1") && !strcmp(segs[2], "jwks");
    if (!conf && !jwks)
        return 0;
    struct eng_tokens *t = r->s->tok;
    if (!t || !t->signer)
        return 0; /* the caller answers 404 */
    const char *m = r->rq->method ? r->rq->method : "GET";
    if (strcmp(m, "GET") && strcmp(m, "HEAD")) {
        struct ck_err err = CK_ERR_INIT;
        ck_err_set(&err, CK_R_METHOD_NOT_ALLOWED,
                   "the server does not allow this method on "
                   "the requested resource");
        eng_reply_err(r, &err);
        return 1;
    }
    char *doc;
    if (conf) {
        char *uri = ck_asprintf("%s/openid/v1/jwks", sa_signer_issuer(t->signer));
        doc = sa_openid_configuration(t->signer, uri);
        free(uri);
    } else {
        doc = sa_jwks(t->signer);
    }
    if (!doc) {
        struct ck_err err = CK_ERR_INIT;
        ck_err_set(&err, CK_R_INTERNAL, "could not build the OIDC document");
        eng_reply_err(r, &err);
        return 1;
    }
    eng_reply(r, 200, doc, strlen(doc));
    if (jwks)
        snprintf(r->rs->content_type, sizeof(r->rs->content_type), "application/jwk-set+json");
    free(doc);
    return 1;
}

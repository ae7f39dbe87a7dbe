/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the join authentication and authorization parsers: the input's first
 * line is a method, the second a path, the third a raw query (upstream's request attributes,
 * then RBAC over the bootstrap policy and the Forbidden message for a bootstrap identity); the
 * fourth line is
 * tried as a bearer token, and the rest as a bootstrap-token Secret (JSON) checked against
 * it. Checks: no crash, no leak; attributes are never NULL; a rejected token says why; an
 * accepted one names system:bootstrap:<id> with system:bootstrappers first. */
#include "apiserver/authn/bootstrap.h"
#include "apiserver/authz/authz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *line(const char **p, const char *end)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *e = nl ? nl : end;
    char *out = malloc((size_t)(e - *p) + 1);
    memcpy(out, *p, (size_t)(e - *p));
    out[e - *p] = '\0';
    *p = nl ? nl + 1 : end;
    return out;
}

/* the bootstrap policy as an rbac_store (ClusterRoles and ClusterRoleBindings only) */
static json_t *policy;

static void pol_bindings(void *arg, const char *ns, bool (*fn)(void *, const json_t *), void *ctx)
{
    size_t i;
    json_t *o;
    (void)arg;
    if (ns)
        return;
    json_array_foreach(policy, i, o)
    {
        if (!strcmp(json_string_value(json_object_get(o, "kind")), "ClusterRoleBinding") &&
            fn(ctx, o))
            return;
    }
}

static json_t *pol_role(void *arg, const char *ns, const char *name)
{
    size_t i;
    json_t *o;
    (void)arg;
    if (ns)
        return NULL;
    json_array_foreach(policy, i, o)
    {
        if (!strcmp(json_string_value(json_object_get(o, "kind")), "ClusterRole") &&
            !strcmp(json_string_value(json_object_get(json_object_get(o, "metadata"), "name")),
                    name))
            return json_incref(o);
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const groups[] = {"system:bootstrappers", "system:authenticated", NULL};
    const char *p = (const char *)data, *end = p + size;

    if (size > 64 * 1024)
        return 0;
    char *method = line(&p, end), *path = line(&p, end), *query = line(&p, end);
    char *tok = line(&p, end);
    struct authz_attrs a;
    authz_attrs_from_request(method, path, *query ? query : NULL, &a);
    if (!a.verb || !a.path || !a.group || !a.version || !a.resource || !a.subresource || !a.ns ||
        !a.name)
        abort();
    struct rbac_attrs r = authz_rbac_attrs(&a, "system:bootstrap:abcdef", groups);
    if (!policy && !(policy = rbac_bootstrap_policy()))
        abort();
    struct rbac_store st = {NULL, pol_bindings, pol_role};
    char reason[512];
    if (rbac_authorize(&st, &r, reason, sizeof(reason)) != RBAC_ALLOW) {
        struct ck_err err = CK_ERR_INIT;
        authz_forbidden(&r, reason, &err);
        if (err.reason != CK_R_FORBIDDEN || !err.msg[0]) /* long names truncate the text */
            abort();
    }
    authz_attrs_release(&a);

    char id[7], secret[17], why[512];
    json_t *sec = json_loadb(p, (size_t)(end - p), 0, NULL);
    if (authn_bootstrap_token_split(tok, strlen(tok), id, secret) && sec) {
        struct authn_user u;
        why[0] = '\0';
        if (authn_bootstrap_check(sec, id, secret, 1800000000, &u, why, sizeof(why)) == 0) {
            if (strncmp(u.name, "system:bootstrap:", 17) != 0 || !u.groups ||
                strcmp(u.groups[0], "system:bootstrappers") != 0)
                abort();
            authn_user_release(&u);
        } else if (!why[0]) {
            abort();
        }
    }
    json_decref(sec);
    free(method);
    free(path);
    free(query);
    free(tok);
    return 0;
}

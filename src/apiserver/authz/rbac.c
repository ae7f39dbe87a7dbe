/* SPDX-License-Identifier: Apache-2.0 */
/* The RBAC rule engine (upstream's plugin/pkg/auth/authorizer/rbac and
 * pkg/apis/rbac/v1 evaluation helpers): subjects, rule matching, the visit order and the
 * Forbidden message. */
#include "apiserver/authz/rbac.h"

#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

static bool empty(const char *s)
{
    return !s || !*s;
}

static bool has(const json_t *arr, const char *v)
{
    size_t i;
    const json_t *x;
    json_array_foreach(arr, i, x)
    {
        const char *s = json_string_value(x);
        if (s && !strcmp(s, v))
            return true;
    }
    return false;
}

static bool verb_matches(const json_t *rule, const char *verb)
{
    const json_t *verbs = json_object_get(rule, "verbs");
    return has(verbs, "*") || has(verbs, verb);
}

static bool group_matches(const json_t *rule, const char *group)
{
    const json_t *groups = json_object_get(rule, "apiGroups");
    return has(groups, "*") || has(groups, group ? group : "");
}

/* "*", "resource", "resource/sub", or "*\/sub" for any resource's subresource sub */
static bool resource_matches(const json_t *rule, const char *resource, const char *sub)
{
    char combined[512];
    if (empty(sub))
        snprintf(combined, sizeof(combined), "%s", resource ? resource : "");
    else
        snprintf(combined, sizeof(combined), "%s/%s", resource ? resource : "", sub);
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(rule, "resources"), i, x)
    {
        const char *r = json_string_value(x);
        if (!r)
            continue;
        if (!strcmp(r, "*") || !strcmp(r, combined))
            return true;
        if (!empty(sub) && r[0] == '*' && r[1] == '/' && !strcmp(r + 2, sub))
            return true;
    }
    return false;
}

static bool name_matches(const json_t *rule, const char *name)
{
    const json_t *names = json_object_get(rule, "resourceNames");
    if (json_array_size(names) == 0)
        return true;
    return !empty(name) && has(names, name);
}

static bool url_matches(const json_t *rule, const char *path)
{
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(rule, "nonResourceURLs"), i, x)
    {
        const char *u = json_string_value(x);
        if (!u)
            continue;
        size_t n = strlen(u);
        if (!strcmp(u, "*") || !strcmp(u, path ? path : ""))
            return true;
        if (n > 0 && u[n - 1] == '*' && path && !strncmp(u, path, n - 1))
            return true;
    }
    return false;
}

bool rbac_rule_allows(const json_t *rule, const struct rbac_attrs *a)
{
    if (!verb_matches(rule, a->verb ? a->verb : ""))
        return false;
    if (!a->resource_request)
        return url_matches(rule, a->path);
    return group_matches(rule, a->api_group) &&
           resource_matches(rule, a->resource, a->subresource) && name_matches(rule, a->name);
}

bool rbac_subject_matches(const json_t *subject, const struct rbac_attrs *a)
{
    const char *kind = json_string_value(json_object_get(subject, "kind"));
    const char *name = json_string_value(json_object_get(subject, "name"));
    if (!kind || !name)
        return false;
    if (!strcmp(kind, "User"))
        return a->user && !strcmp(a->user, name);
    if (!strcmp(kind, "Group")) {
        for (size_t i = 0; a->groups && a->groups[i]; i++)
            if (!strcmp(a->groups[i], name))
                return true;
        return false;
    }
    if (!strcmp(kind, "ServiceAccount")) {
        const char *ns = json_string_value(json_object_get(subject, "namespace"));
        char want[512];
        snprintf(want, sizeof(want), "system:serviceaccount:%s:%s", ns ? ns : "", name);
        return a->user && !strcmp(a->user, want);
    }
    return false;
}

/* ---- visiting the rules that apply to a caller --------------------------------------------- */

/* Return true from a visitor to stop. */
typedef bool (*rule_fn)(void *ctx, const char *source, const json_t *rule);

struct visit {
    const struct rbac_store *st;
    const struct rbac_attrs *a;
    const char *ns; /* the RoleBindings' namespace, NULL while visiting ClusterRoleBindings */
    rule_fn fn;
    void *ctx;
    char errs[512]; /* "; "-joined errors (missing roles) */
    bool stopped;
};

static void add_err(struct visit *v, const char *fmt, const char *kind, const char *ns,
                    const char *name)
{
    size_t n = strlen(v->errs);
    if (n + 4 >= sizeof(v->errs))
        return;
    char one[256];
    snprintf(one, sizeof(one), fmt, kind, ns ? ns : "", name);
    snprintf(v->errs + n, sizeof(v->errs) - n, "%s%s", n ? ", " : "", one);
}

/* upstream's describeSubject: Kind "name", ServiceAccount "ns/name" */
static void subject_describe(const json_t *s, const char *binding_ns, char *out, size_t n)
{
    const char *kind = json_string_value(json_object_get(s, "kind"));
    const char *name = json_string_value(json_object_get(s, "name"));
    const char *ns = json_string_value(json_object_get(s, "namespace"));
    if (kind && !strcmp(kind, "ServiceAccount"))
        snprintf(out, n, "ServiceAccount \"%s/%s\"",
                 ns           ? ns
                 : binding_ns ? binding_ns
                              : "",
                 name ? name : "");
    else
        snprintf(out, n, "%s \"%s\"", kind ? kind : "", name ? name : "");
}

static bool visit_binding(void *arg, const json_t *b)
{
    struct visit *v = arg;
    bool applies = false;
    char subj[300] = "";
    size_t i;
    const json_t *s;
    json_array_foreach(json_object_get(b, "subjects"), i, s)
    {
        subject_describe(s, v->ns, subj, sizeof(subj));
        /* a RoleBinding's ServiceAccount subject without a namespace means the binding's */
        if (v->ns && !json_object_get(s, "namespace")) {
            json_t *c = json_deep_copy(s);
            json_object_set_new(c, "namespace", json_string(v->ns));
            applies = rbac_subject_matches(c, v->a);
            json_decref(c);
        } else {
            applies = rbac_subject_matches(s, v->a);
        }
        if (applies)
            break;
    }
    if (!applies)
        return false;
    const json_t *ref = json_object_get(b, "roleRef");
    const char *kind = json_string_value(json_object_get(ref, "kind"));
    const char *name = json_string_value(json_object_get(ref, "name"));
    if (!kind || !name)
        return false;
    bool cluster = !strcmp(kind, "ClusterRole");
    json_t *role = v->st->role(v->st->arg, cluster ? NULL : v->ns, name);
    if (!role) {
        if (cluster)
            add_err(v, "%s.rbac.authorization.k8s.io \"%s%s\" not found", "clusterrole", NULL,
                    name);
        else
            add_err(v, "%s.rbac.authorization.k8s.io \"%s/%s\" not found", "role", v->ns, name);
        return false;
    }
    const char *bname = json_string_value(json_object_get(json_object_get(b, "metadata"), "name"));
    char source[512];
    if (v->ns)
        snprintf(source, sizeof(source), "RoleBinding \"%s/%s\" of %s \"%s\" to %s", v->ns,
                 bname ? bname : "", kind, name, subj);
    else
        snprintf(source, sizeof(source), "ClusterRoleBinding \"%s\" of %s \"%s\" to %s",
                 bname ? bname : "", kind, name, subj);
    const json_t *r;
    json_array_foreach(json_object_get(role, "rules"), i, r)
    {
        if (v->fn(v->ctx, source, r)) {
            v->stopped = true;
            break;
        }
    }
    json_decref(role);
    return v->stopped;
}

static void visit_rules(struct visit *v, const char *ns)
{
    v->ns = NULL;
    v->st->bindings(v->st->arg, NULL, visit_binding, v);
    if (v->stopped || empty(ns))
        return;
    v->ns = ns;
    v->st->bindings(v->st->arg, ns, visit_binding, v);
}

struct allow_ctx {
    const struct rbac_attrs *a;
    char source[512];
    bool allowed;
};

static bool allow_rule(void *ctx, const char *source, const json_t *rule)
{
    struct allow_ctx *c = ctx;
    if (!rbac_rule_allows(rule, c->a))
        return false;
    snprintf(c->source, sizeof(c->source), "%s", source);
    c->allowed = true;
    return true;
}

enum rbac_decision rbac_authorize(const struct rbac_store *st, const struct rbac_attrs *a,
                                  char *reason, size_t reasonlen)
{
    struct allow_ctx c = {.a = a};
    struct visit v = {.st = st, .a = a, .fn = allow_rule, .ctx = &c};
    visit_rules(&v, a->resource_request ? a->ns : NULL);
    if (reason && reasonlen)
        reason[0] = 0;
    if (c.allowed) {
        if (reason)
            snprintf(reason, reasonlen, "RBAC: allowed by %s", c.source);
        return RBAC_ALLOW;
    }
    if (reason && v.errs[0])
        snprintf(reason, reasonlen, "RBAC: %s", v.errs);
    return RBAC_NO_OPINION;
}

/* ---- SelfSubjectRulesReview ----------------------------------------------------------------- */

struct rules_ctx {
    json_t *res, *nonres;
};

static json_t *copy_list(const json_t *rule, const char *key)
{
    const json_t *x = json_object_get(rule, key);
    return json_is_array(x) ? json_deep_copy(x) : json_array();
}

static bool collect_rule(void *ctx, const char *source, const json_t *rule)
{
    (void)source;
    struct rules_ctx *c = ctx;
    if (json_array_size(json_object_get(rule, "nonResourceURLs"))) {
        json_array_append_new(c->nonres,
                              json_pack("{s:o,s:o}", "verbs", copy_list(rule, "verbs"),
                                        "nonResourceURLs", copy_list(rule, "nonResourceURLs")));
        return false;
    }
    json_t *r = json_pack("{s:o,s:o,s:o}", "verbs", copy_list(rule, "verbs"), "apiGroups",
                          copy_list(rule, "apiGroups"), "resources", copy_list(rule, "resources"));
    if (json_array_size(json_object_get(rule, "resourceNames")))
        json_object_set_new(r, "resourceNames", copy_list(rule, "resourceNames"));
    json_array_append_new(c->res, r);
    return false;
}

json_t *rbac_rules_review(const struct rbac_store *st, const struct rbac_attrs *who, const char *ns)
{
    struct rules_ctx c = {json_array(), json_array()};
    struct visit v = {.st = st, .a = who, .fn = collect_rule, .ctx = &c};
    visit_rules(&v, ns);
    json_t *status = json_pack("{s:o,s:o,s:b}", "resourceRules", c.res, "nonResourceRules",
                               c.nonres, "incomplete", v.errs[0] != 0);
    if (v.errs[0])
        json_object_set_new(status, "evaluationError", json_string(v.errs));
    return status;
}

/* ---- the Forbidden message --------------------------------------------------------------- */

void rbac_forbidden_message(const struct rbac_attrs *a, const char *reason, char *out,
                            size_t outlen)
{
    char what[1024];
    const char *user = a->user ? a->user : "";
    if (!a->resource_request) {
        snprintf(what, sizeof(what), "forbidden: User \"%s\" cannot %s path \"%s\"", user,
                 a->verb ? a->verb : "", a->path ? a->path : "");
    } else {
        char res[300], qualified[400], scope[300];
        if (empty(a->subresource))
            snprintf(res, sizeof(res), "%s", a->resource ? a->resource : "");
        else
            snprintf(res, sizeof(res), "%s/%s", a->resource ? a->resource : "", a->subresource);
        /* the qualified resource (without the subresource) names the group:
         * "deployments.apps", "pods" */
        const char *r = a->resource ? a->resource : "";
        if (empty(a->api_group))
            snprintf(qualified, sizeof(qualified), "%s", r);
        else
            snprintf(qualified, sizeof(qualified), "%s.%s", r, a->api_group);
        if (empty(a->ns))
            snprintf(scope, sizeof(scope), "at the cluster scope");
        else
            snprintf(scope, sizeof(scope), "in the namespace \"%s\"", a->ns);
        char head[600];
        if (empty(a->name))
            snprintf(head, sizeof(head), "%s is forbidden", qualified);
        else
            snprintf(head, sizeof(head), "%s \"%s\" is forbidden", qualified, a->name);
        snprintf(what, sizeof(what),
                 "%s: User \"%s\" cannot %s resource \"%s\" in API group \"%s\" %s", head, user,
                 a->verb ? a->verb : "", res, a->api_group ? a->api_group : "", scope);
    }
    if (!empty(reason))
        snprintf(out, outlen, "%s: %s", what, reason);
    else
        snprintf(out, outlen, "%s", what);
}

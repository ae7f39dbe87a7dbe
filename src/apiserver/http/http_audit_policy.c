/* SPDX-License-Identifier: Apache-2.0 */
/* The audit Policy (audit.k8s.io/v1): parsing and upstream's rule matching
 * (k8s.io/apiserver/pkg/audit/policy/checker.go). */
#include "apiserver/http/http_audit.h"

#include "lib/buf.h"
#include "lib/yamljson.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define AUDIT_MAX_POLICY (4 << 20)

struct strs {
    char **v;
    size_t n;
};

struct audit_gr {
    char *group;
    struct strs resources, names;
};

struct audit_rule {
    enum audit_level level;
    struct strs users, groups, verbs, namespaces, urls;
    struct audit_gr *res;
    size_t nres;
    unsigned omit;
};

struct audit_policy {
    struct audit_rule *rules;
    size_t nrules;
    unsigned omit;
};

static void strs_free(struct strs *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

void audit_policy_free(struct audit_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nrules; i++) {
        struct audit_rule *r = &p->rules[i];
        strs_free(&r->users);
        strs_free(&r->groups);
        strs_free(&r->verbs);
        strs_free(&r->namespaces);
        strs_free(&r->urls);
        for (size_t j = 0; j < r->nres; j++) {
            free(r->res[j].group);
            strs_free(&r->res[j].resources);
            strs_free(&r->res[j].names);
        }
        free(r->res);
    }
    free(p->rules);
    free(p);
}

const char *audit_level_name(enum audit_level l)
{
    static const char *const n[] = {"None", "Metadata", "Request", "RequestResponse"};
    return l <= AUDIT_REQUEST_RESPONSE ? n[l] : "None";
}

static int get_strs(json_t *o, const char *field, struct strs *out, const char *where,
                    struct ck_err *err)
{
    json_t *a = json_object_get(o, field);
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return ck_err_set(err, CK_R_BAD_REQUEST, "%s.%s: Invalid value: must be a list", where,
                          field);
    out->v = ck_calloc(json_array_size(a) + 1, sizeof(char *));
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v))
            return ck_err_set(err, CK_R_BAD_REQUEST, "%s.%s[%zu]: Invalid value: must be a string",
                              where, field, i);
        out->v[out->n++] = ck_strdup(json_string_value(v));
    }
    return 0;
}

static int get_stages(json_t *o, unsigned *out, const char *where, struct ck_err *err)
{
    json_t *a = json_object_get(o, "omitStages");
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return ck_err_set(err, CK_R_BAD_REQUEST, "%s.omitStages: Invalid value: must be a list",
                          where);
    static const char *const names[] = {"RequestReceived", "ResponseStarted", "ResponseComplete",
                                        "Panic"};
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        const char *s = json_string_value(v);
        size_t k = 0;
        while (k < 4 && (!s || strcmp(s, names[k])))
            k++;
        if (k == 4)
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "%s.omitStages[%zu]: Unsupported value: \"%s\": supported values: "
                              "\"RequestReceived\", \"ResponseStarted\", \"ResponseComplete\", "
                              "\"Panic\"",
                              where, i, s ? s : "");
        *out |= 1u << k;
    }
    return 0;
}

static int parse_rule(struct audit_rule *r, json_t *o, const char *where, struct ck_err *err)
{
    if (!json_is_object(o))
        return ck_err_set(err, CK_R_BAD_REQUEST, "%s: Invalid value: must be an object", where);
    const char *lv = json_string_value(json_object_get(o, "level"));
    size_t k = 0;
    while (k < 4 && (!lv || strcmp(lv, audit_level_name((enum audit_level)k))))
        k++;
    if (k == 4)
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "%s.level: Unsupported value: \"%s\": supported values: \"None\", "
                          "\"Metadata\", \"Request\", \"RequestResponse\"",
                          where, lv ? lv : "");
    r->level = (enum audit_level)k;
    if (get_strs(o, "users", &r->users, where, err) < 0 ||
        get_strs(o, "userGroups", &r->groups, where, err) < 0 ||
        get_strs(o, "verbs", &r->verbs, where, err) < 0 ||
        get_strs(o, "namespaces", &r->namespaces, where, err) < 0 ||
        get_strs(o, "nonResourceURLs", &r->urls, where, err) < 0 ||
        get_stages(o, &r->omit, where, err) < 0)
        return -1;
    json_t *res = json_object_get(o, "resources");
    if (res && !json_is_null(res)) {
        if (!json_is_array(res))
            return ck_err_set(err, CK_R_BAD_REQUEST, "%s.resources: Invalid value: must be a list",
                              where);
        r->res = ck_calloc(json_array_size(res) + 1, sizeof(*r->res));
        size_t i;
        json_t *g;
        json_array_foreach(res, i, g)
        {
            char w[80];
            snprintf(w, sizeof(w), "%s.resources[%zu]", where, i);
            if (!json_is_object(g))
                return ck_err_set(err, CK_R_BAD_REQUEST, "%s: Invalid value: must be an object", w);
            struct audit_gr *gr = &r->res[r->nres++];
            const char *grp = json_string_value(json_object_get(g, "group"));
            gr->group = ck_strdup(grp ? grp : "");
            if (get_strs(g, "resources", &gr->resources, w, err) < 0 ||
                get_strs(g, "resourceNames", &gr->names, w, err) < 0)
                return -1;
        }
    }
    if (r->urls.n && (r->nres || r->namespaces.n))
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "%s.nonResourceURLs: Invalid value: rules cannot apply to both "
                          "regular resources and non-resource URLs",
                          where);
    return 0;
}

static int parse_doc(struct audit_policy *p, json_t *doc, struct ck_err *err)
{
    if (!json_is_object(doc))
        return ck_err_set(err, CK_R_BAD_REQUEST, "audit policy: not an object");
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    const char *av = json_string_value(json_object_get(doc, "apiVersion"));
    if (!kind || strcmp(kind, "Policy") || !av ||
        (strcmp(av, "audit.k8s.io/v1") && strcmp(av, "audit.k8s.io/v1beta1")))
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "audit policy: want kind Policy of audit.k8s.io/v1, got %s of %s",
                          kind ? kind : "(none)", av ? av : "(none)");
    if (get_stages(doc, &p->omit, "policy", err) < 0)
        return -1;
    json_t *rules = json_object_get(doc, "rules");
    if (!json_is_array(rules) || !json_array_size(rules))
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "rules: Required value: the audit policy needs at least one rule");
    p->rules = ck_calloc(json_array_size(rules), sizeof(*p->rules));
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r)
    {
        char where[32];
        snprintf(where, sizeof(where), "rules[%zu]", i);
        if (parse_rule(&p->rules[p->nrules++], r, where, err) < 0)
            return -1;
    }
    return 0;
}

int audit_policy_parse(const char *text, size_t len, struct audit_policy **out, struct ck_err *err)
{
    *out = NULL;
    if (len > AUDIT_MAX_POLICY)
        return ck_err_set(err, CK_R_TOO_LARGE, "audit policy: over 4 MiB");
    json_t *doc = NULL;
    if (yaml_to_json(text, len, &doc, err) < 0)
        return ck_err_wrap(err, "audit policy");
    struct audit_policy *p = ck_calloc(1, sizeof(*p));
    int rc = parse_doc(p, doc, err);
    json_decref(doc);
    if (rc < 0) {
        audit_policy_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

int audit_policy_load(const char *path, struct audit_policy **out, struct ck_err *err)
{
    struct ck_buf b = CK_BUF_INIT(AUDIT_MAX_POLICY + 1);
    int rc = ck_buf_read_file(&b, path);
    if (rc < 0 && errno != EFBIG) {
        ck_buf_release(&b);
        return ck_err_sys(err, errno, "reading the audit policy %s", path);
    }
    if (rc == 0)
        rc = audit_policy_parse(b.data ? b.data : "", b.len, out, err);
    else
        ck_err_set(err, CK_R_TOO_LARGE, "over 4 MiB");
    ck_buf_release(&b);
    return rc < 0 ? ck_err_wrap(err, "%s", path) : 0;
}

/* ---- matching (upstream's ruleMatches) --------------------------------------------------- */

static bool has(const struct strs *s, const char *v)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], v ? v : ""))
            return true;
    return false;
}

static bool match_urls(const struct audit_rule *r, const char *path)
{
    path = path ? path : "";
    for (size_t i = 0; i < r->urls.n; i++) {
        const char *u = r->urls.v[i];
        size_t n = strlen(u);
        if (!strcmp(u, "*") || !strcmp(u, path) ||
            (n && u[n - 1] == '*' && !strncmp(u, path, n - 1)))
            return true;
    }
    return false;
}

static bool match_res(const struct audit_rule *r, const struct audit_attrs *a)
{
    if (!a->resource_request)
        return false;
    if (r->namespaces.n && !has(&r->namespaces, a->ns))
        return false;
    if (!r->nres)
        return true;
    const char *res = a->resource ? a->resource : "", *sub = a->subresource ? a->subresource : "";
    char combined[512];
    snprintf(combined, sizeof(combined), "%s%s%s", res, *sub ? "/" : "", sub);
    for (size_t i = 0; i < r->nres; i++) {
        const struct audit_gr *g = &r->res[i];
        if (strcmp(g->group, a->group ? a->group : ""))
            continue;
        if (!g->resources.n)
            return true;
        if (g->names.n && !has(&g->names, a->name))
            continue;
        for (size_t j = 0; j < g->resources.n; j++) {
            const char *x = g->resources.v[j];
            size_t n = strlen(x);
            if (!strcmp(x, combined) || !strcmp(x, "*"))
                return true;
            if (*sub && !strncmp(x, "*/", 2) && !strcmp(x + 2, sub))
                return true;
            if (n > 2 && !strcmp(x + n - 2, "/*") && strlen(res) == n - 2 &&
                !strncmp(x, res, n - 2))
                return true;
        }
    }
    return false;
}

static bool rule_matches(const struct audit_rule *r, const struct audit_attrs *a)
{
    if (r->users.n && !has(&r->users, a->user))
        return false;
    if (r->groups.n) {
        bool any = false;
        for (size_t i = 0; a->groups && a->groups[i] && !any; i++)
            any = has(&r->groups, a->groups[i]);
        if (!any)
            return false;
    }
    if (r->verbs.n && !has(&r->verbs, a->verb))
        return false;
    if (r->namespaces.n || r->nres)
        if (!match_res(r, a))
            return false;
    if (r->urls.n && (a->resource_request || !match_urls(r, a->path)))
        return false;
    return true;
}

enum audit_level audit_policy_eval(const struct audit_policy *p, const struct audit_attrs *a,
                                   unsigned *omit_stages)
{
    *omit_stages = p ? p->omit : 0;
    for (size_t i = 0; p && i < p->nrules; i++)
        if (rule_matches(&p->rules[i], a)) {
            *omit_stages |= p->rules[i].omit;
            return p->rules[i].level;
        }
    return AUDIT_NONE;
}

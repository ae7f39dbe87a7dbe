/* SPDX-License-Identifier: Apache-2.0 */
/* RBAC escalation prevention (upstream's pkg/registry/rbac/validation): does a set of rules a
 * user holds cover the rules a Role or a binding would grant? Rules are broken down into one
 * group x resource x verb (x resourceName) atom each, or one URL x verb, and every atom must
 * be covered by one owner rule, as upstream's Covers/BreakdownRule/ruleCovers. */
#include "apiserver/authz/rbac.h"

#include "lib/buf.h"

#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

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

static bool has_all(const json_t *set, const json_t *want)
{
    size_t i;
    const json_t *x;
    json_array_foreach(want, i, x) if (!json_is_string(x) || !has(set, json_string_value(x))) return
        false;
    return true;
}

/* upstream's resourceCoversAll: exact, "*", or "*" with the same subresource */
static bool resources_cover(const json_t *set, const json_t *want)
{
    if (has(set, "*") || has_all(set, want))
        return true;
    size_t i;
    const json_t *x;
    json_array_foreach(want, i, x)
    {
        const char *r = json_string_value(x), *slash;
        if (!r || has(set, r))
            continue;
        if (!(slash = strchr(r, '/')))
            return false;
        char any[512];
        snprintf(any, sizeof(any), "*%s", slash);
        if (!has(set, any))
            return false;
    }
    return true;
}

/* upstream's nonResourceURLsCoversAll: exact, or an owner ending in "*" as a prefix */
static bool urls_cover(const json_t *set, const json_t *want)
{
    size_t i, j;
    const json_t *x, *o;
    json_array_foreach(want, i, x)
    {
        const char *u = json_string_value(x);
        bool ok = false;
        json_array_foreach(set, j, o)
        {
            const char *s = json_string_value(o);
            size_t n = s ? strlen(s) : 0;
            if (s && (!strcmp(s, u ? u : "") ||
                      (n && s[n - 1] == '*' && u && !strncmp(u, s, n - 1))))
                ok = true;
        }
        if (!ok)
            return false;
    }
    return true;
}

static const json_t *list(const json_t *rule, const char *k)
{
    const json_t *v = json_object_get(rule, k);
    return json_is_array(v) ? v : NULL;
}

bool rbac_rule_covers(const json_t *owner, const json_t *sub)
{
    const json_t *ov = list(owner, "verbs"), *sv = list(sub, "verbs");
    const json_t *og = list(owner, "apiGroups"), *sg = list(sub, "apiGroups");
    const json_t *on = list(owner, "resourceNames"), *sn = list(sub, "resourceNames");
    bool verbs = has(ov, "*") || has_all(ov, sv);
    bool groups = has(og, "*") || has_all(og, sg);
    bool res = resources_cover(list(owner, "resources"), list(sub, "resources"));
    bool urls = urls_cover(list(owner, "nonResourceURLs"), list(sub, "nonResourceURLs"));
    bool names = json_array_size(sn) == 0 ? json_array_size(on) == 0
                                          : json_array_size(on) == 0 || has_all(on, sn);
    return verbs && groups && res && urls && names;
}

static json_t *one(const char *s)
{
    return json_pack("[s]", s);
}

json_t *rbac_uncovered(const json_t *owner_rules, const json_t *rules)
{
    json_t *missing = json_array();
    size_t i, g, r, v, n;
    const json_t *rule, *gv, *rv, *vv, *nv;
    json_array_foreach(rules, i, rule)
    {
        json_t *atoms = json_array();
        const json_t *names = list(rule, "resourceNames");
        json_array_foreach(list(rule, "apiGroups"), g, gv) json_array_foreach(
            list(rule, "resources"), r, rv) json_array_foreach(list(rule, "verbs"), v, vv)
        {
            const char *gs = json_string_value(gv), *rs = json_string_value(rv),
                       *vs = json_string_value(vv);
            if (!gs || !rs || !vs)
                continue;
            if (json_array_size(names)) {
                json_array_foreach(names, n, nv) if (json_is_string(nv)) json_array_append_new(
                    atoms, json_pack("{s:o,s:o,s:o,s:o}", "apiGroups", one(gs), "resources",
                                     one(rs), "resourceNames", one(json_string_value(nv)),
                                     "verbs", one(vs)));
            } else {
                json_array_append_new(atoms, json_pack("{s:o,s:o,s:o}", "apiGroups", one(gs),
                                                       "resources", one(rs), "verbs", one(vs)));
            }
        }
        json_array_foreach(list(rule, "nonResourceURLs"), r, rv)
            json_array_foreach(list(rule, "verbs"), v, vv)
        {
            if (json_is_string(rv) && json_is_string(vv))
                json_array_append_new(atoms, json_pack("{s:o,s:o}", "nonResourceURLs",
                                                       one(json_string_value(rv)), "verbs",
                                                       one(json_string_value(vv))));
        }
        size_t k;
        json_t *atom;
        json_array_foreach(atoms, k, atom)
        {
            bool covered = false;
            size_t o;
            const json_t *own;
            json_array_foreach(owner_rules, o, own) if (!covered &&
                                                        rbac_rule_covers(own, atom)) covered = true;
            if (!covered)
                json_array_append(missing, atom);
        }
        json_decref(atoms);
    }
    return missing;
}

/* Go's %q of a []string: ["a" "b"] */
static void quoted_list(struct ck_buf *b, const json_t *arr)
{
    size_t i;
    const json_t *x;
    ck_buf_appendc(b, '[');
    json_array_foreach(arr, i, x)
    {
        if (i)
            ck_buf_appendc(b, ' ');
        ck_buf_appendc(b, '"');
        for (const char *s = json_string_value(x); s && *s; s++) {
            if (*s == '"' || *s == '\\')
                ck_buf_appendc(b, '\\');
            ck_buf_appendc(b, *s);
        }
        ck_buf_appendc(b, '"');
    }
    ck_buf_appendc(b, ']');
}

void rbac_compact_string(const json_t *rule, struct ck_buf *out)
{
    static const char *const keys[] = {"apiGroups", "resources", "nonResourceURLs",
                                       "resourceNames", "verbs"};
    static const char *const names[] = {"APIGroups", "Resources", "NonResourceURLs",
                                        "ResourceNames", "Verbs"};
    bool first = true;
    ck_buf_appendc(out, '{');
    for (size_t i = 0; i < 5; i++) {
        const json_t *v = list(rule, keys[i]);
        if (!json_array_size(v))
            continue;
        ck_buf_appendf(out, "%s%s:", first ? "" : ", ", names[i]);
        quoted_list(out, v);
        first = false;
    }
    ck_buf_appendc(out, '}');
}

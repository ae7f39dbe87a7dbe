/* SPDX-License-Identifier: Apache-2.0 */
/* Node selector and node affinity matching with upstream's semantics (see affinity.h). */
#include "k8s/affinity.h"

#include "k8s/util.h"
#include "lib/selector.h"

#include <string.h>

#include "lib/banned.h"

enum op { OP_IN, OP_NOT_IN, OP_EXISTS, OP_DOES_NOT_EXIST, OP_GT, OP_LT, OP_BAD };

static enum op parse_op(const char *s)
{
    static const char *const names[] = {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"};
    for (int i = 0; i < OP_BAD; i++)
        if (!strcmp(s, names[i]))
            return (enum op)i;
    return OP_BAD;
}

/* labels.NewRequirement's checks. */
static bool requirement_valid(const char *key, enum op op, const json_t *values)
{
    size_t n = k8s_jlen(values);
    if (op == OP_BAD || !sel_valid_label_key(key, strlen(key), NULL, 0))
        return false;
    if (values && !json_is_array(values) && !json_is_null(values))
        return false;
    if ((op == OP_IN || op == OP_NOT_IN) && n == 0)
        return false;
    if ((op == OP_EXISTS || op == OP_DOES_NOT_EXIST) && n != 0)
        return false;
    if ((op == OP_GT || op == OP_LT) && n != 1)
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *v = json_string_value(json_array_get(values, i));
        int64_t x;
        if (!v || !sel_valid_label_value(v, strlen(v), NULL, 0))
            return false;
        if ((op == OP_GT || op == OP_LT) && !k8s_parse_int64(v, &x))
            return false;
    }
    return true;
}

static bool has_value(const json_t *values, const char *v)
{
    for (size_t i = 0; i < k8s_jlen(values); i++)
        if (!strcmp(json_string_value(json_array_get(values, i)), v))
            return true;
    return false;
}

int k8s_node_selector_requirement_match(const json_t *req, const json_t *labels)
{
    const char *key = k8s_jstr(req, "key");
    enum op op = parse_op(k8s_jstr(req, "operator"));
    const json_t *values = json_object_get(req, "values");
    if (!requirement_valid(key, op, values))
        return -1;
    const char *val = json_string_value(json_object_get(labels, key));
    int64_t have, want;
    switch (op) {
    case OP_IN:
        return val && has_value(values, val);
    case OP_NOT_IN:
        return !val || !has_value(values, val);
    case OP_EXISTS:
        return val != NULL;
    case OP_DOES_NOT_EXIST:
        return val == NULL;
    case OP_GT:
    case OP_LT:
        if (!val || !k8s_parse_int64(val, &have))
            return 0;
        k8s_parse_int64(json_string_value(json_array_get(values, 0)), &want);
        return op == OP_GT ? have > want : have < want;
    default:
        return -1;
    }
}

/* One matchFields requirement: In/NotIn with one value over {metadata.name}. */
static int field_match(const json_t *req, const char *node_name)
{
    const char *key = k8s_jstr(req, "key");
    enum op op = parse_op(k8s_jstr(req, "operator"));
    const json_t *values = json_object_get(req, "values");
    if ((op != OP_IN && op != OP_NOT_IN) || k8s_jlen(values) != 1)
        return -1;
    const char *want = json_string_value(json_array_get(values, 0));
    if (!want)
        return -1;
    const char *have = !strcmp(key, "metadata.name") ? node_name : "";
    return (strcmp(have, want) == 0) == (op == OP_IN);
}

int k8s_node_selector_term_match(const json_t *term, const json_t *node)
{
    const json_t *exprs = json_object_get(term, "matchExpressions");
    const json_t *fields = json_object_get(term, "matchFields");
    size_t ne = k8s_jlen(exprs), nf = k8s_jlen(fields);
    if (ne == 0 && nf == 0)
        return 0;
    const json_t *labels = k8s_jpath(node, "metadata.labels");
    const char *name = k8s_jpath_str(node, "metadata.name");
    /* every requirement is validated first: an invalid one voids the whole term */
    bool match = true;
    for (size_t i = 0; i < ne; i++) {
        int r = k8s_node_selector_requirement_match(json_array_get(exprs, i), labels);
        if (r < 0)
            return -1;
        match = match && r;
    }
    bool fmatch = true;
    for (size_t i = 0; i < nf; i++) {
        int r = field_match(json_array_get(fields, i), name);
        if (r < 0)
            return -1;
        fmatch = fmatch && r;
    }
    if (*name && !fmatch)
        return 0;
    return match;
}

bool k8s_node_selector_match(const json_t *node_selector, const json_t *node, bool *invalid)
{
    if (!node)
        return false;
    const json_t *terms = json_object_get(node_selector, "nodeSelectorTerms");
    for (size_t i = 0; i < k8s_jlen(terms); i++) {
        int r = k8s_node_selector_term_match(json_array_get(terms, i), node);
        if (r > 0)
            return true;
        if (r < 0 && invalid)
            *invalid = true;
    }
    return false;
}

bool k8s_pod_matches_node(const json_t *pod, const json_t *node, bool *invalid)
{
    const json_t *sel = k8s_jpath(pod, "spec.nodeSelector");
    const json_t *labels = k8s_jpath(node, "metadata.labels");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)sel, key, v)
    {
        const char *have = json_string_value(json_object_get(labels, key));
        if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
            return false;
    }
    const json_t *req =
        k8s_jpath(pod, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution");
    if (!req || json_is_null(req))
        return true;
    return k8s_node_selector_match(req, node, invalid);
}

int64_t k8s_preferred_terms_score(const json_t *terms, const json_t *node, bool *invalid)
{
    int64_t score = 0;
    for (size_t i = 0; i < k8s_jlen(terms); i++) {
        const json_t *t = json_array_get(terms, i);
        json_int_t w = json_integer_value(json_object_get(t, "weight"));
        const json_t *pref = json_object_get(t, "preference");
        if (w == 0 || (k8s_jlen(json_object_get(pref, "matchExpressions")) == 0 &&
                       k8s_jlen(json_object_get(pref, "matchFields")) == 0))
            continue;
        int r = k8s_node_selector_term_match(pref, node);
        if (r < 0 && invalid)
            *invalid = true;
        if (r > 0)
            score += (int32_t)w;
    }
    return score;
}

int64_t k8s_pod_preferred_score(const json_t *pod, const json_t *node, bool *invalid)
{
    return k8s_preferred_terms_score(
        k8s_jpath(pod,
                  "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution"),
        node, invalid);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Structured selectors: metav1.LabelSelector (matchLabels/matchExpressions) and label maps
 * (labels.SelectorFromValidatedSet) as label selectors, and a lookup over a JSON label map. */
#include "lib/selector.h"
#include "lib/selector_int.h"
#include "lib/buf.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

const char *sel_lookup_json(void *ctx, const char *key, size_t *vlen)
{
    json_t *v = json_object_get((const json_t *)ctx, key);
    if (!json_is_string(v))
        return NULL;
    *vlen = json_string_length(v);
    return json_string_value(v);
}

/* Go's %#v of a []string, e.g. []string{"a", "b"}. */
static void append_go_slice(struct ck_buf *b, const struct vlist *l)
{
    ck_buf_appends(b, "[]string{");
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            ck_buf_appends(b, ", ");
        sel_append_go_quoted(b, l->v[i].s, l->v[i].n);
    }
    ck_buf_appendc(b, '}');
}

static int cmp_vals_only(const void *a, const void *b)
{
    return sel_val_cmp(a, b);
}

/* labels.NewRequirement's checks for one matchLabels/matchExpressions entry. */
static int new_requirement(struct sel *s, size_t *cap, const char *key, size_t klen, enum sel_op op,
                           struct vlist *vals, struct ck_buf *msg)
{
    struct ck_buf agg = CK_BUF_INIT(65536);
    size_t count = 0;
    struct sel_val kv = {key, klen};
    struct ck_buf why = CK_BUF_INIT(8192);
    sel_label_key_reasons(key, klen, &why);
    if (why.len)
        sel_agg_add(&agg, &count, "key", &kv, why.data);
    ck_buf_release(&why);
    const char *bad = NULL;
    if ((op == SEL_OP_IN || op == SEL_OP_NOTIN) && vals->n == 0)
        bad = "for 'in', 'notin' operators, values set can't be empty";
    else if (op == SEL_OP_EQ && vals->n != 1)
        bad = "exact-match compatibility requires one single value";
    else if ((op == SEL_OP_EXISTS || op == SEL_OP_NOTEXISTS) && vals->n != 0)
        bad = "values set must be empty for exists and does not exist";
    if (bad) {
        struct ck_buf one = CK_BUF_INIT(16384);
        ck_buf_appends(&one, "values: Invalid value: ");
        append_go_slice(&one, vals);
        ck_buf_appendf(&one, ": %s", bad);
        if (count++)
            ck_buf_appends(&agg, ", ");
        ck_buf_append(&agg, one.data, one.len);
        ck_buf_release(&one);
    }
    char path[512];
    for (size_t i = 0; i < vals->n; i++) {
        struct ck_buf vw = CK_BUF_INIT(8192);
        sel_label_value_reasons(vals->v[i].s, vals->v[i].n, &vw);
        if (vw.len) {
            snprintf(path, sizeof(path), "values[%zu][%.*s]", i, (int)klen, key);
            sel_agg_add(&agg, &count, path, &vals->v[i], vw.data);
        }
        ck_buf_release(&vw);
    }
    if (count) {
        if (count > 1)
            ck_buf_appendc(msg, '[');
        ck_buf_append(msg, agg.data, agg.len);
        if (count > 1)
            ck_buf_appendc(msg, ']');
        ck_buf_release(&agg);
        return -1;
    }
    if (vals->n > 1) /* String() shows values sorted; duplicates stay, as upstream */
        qsort(vals->v, vals->n, sizeof(*vals->v), cmp_vals_only);
    struct sel_req *r = sel_reqs_push(s, cap);
    sel_req_fill(r, key, klen, op, false, vals, 0);
    s->nreqs++;
    return 0;
}

static int json_str(const json_t *v, const char **s, size_t *n)
{
    if (!json_is_string(v))
        return -1;
    *s = json_string_value(v);
    *n = json_string_length(v);
    return 0;
}

static int from_match_labels(struct sel *s, size_t *cap, const json_t *ml, bool validate,
                             struct ck_buf *msg)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ml, k, v)
    {
        struct vlist vals = {0};
        const char *vs;
        size_t vn;
        if (json_str(v, &vs, &vn) < 0) {
            ck_buf_appendf(msg, "matchLabels[%s]: value must be a string", k);
            return -1;
        }
        sel_vlist_add(&vals, vs, vn);
        int rc = 0;
        if (validate) {
            rc = new_requirement(s, cap, k, strlen(k), SEL_OP_EQ, &vals, msg);
        } else {
            sel_req_fill(sel_reqs_push(s, cap), k, strlen(k), SEL_OP_EQ, false, &vals, 0);
            s->nreqs++;
        }
        free(vals.v);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int from_expression(struct sel *s, size_t *cap, const json_t *e, size_t idx,
                           struct ck_buf *msg)
{
    const char *key, *ops;
    size_t klen, olen;
    if (json_str(json_object_get(e, "key"), &key, &klen) < 0) {
        ck_buf_appendf(msg, "matchExpressions[%zu].key: must be a string", idx);
        return -1;
    }
    if (json_str(json_object_get(e, "operator"), &ops, &olen) < 0)
        ops = "", olen = 0;
    enum sel_op op;
    if (strcmp(ops, "In") == 0)
        op = SEL_OP_IN;
    else if (strcmp(ops, "NotIn") == 0)
        op = SEL_OP_NOTIN;
    else if (strcmp(ops, "Exists") == 0)
        op = SEL_OP_EXISTS;
    else if (strcmp(ops, "DoesNotExist") == 0)
        op = SEL_OP_NOTEXISTS;
    else {
        ck_buf_appends(msg, "");
        sel_append_go_quoted(msg, ops, olen);
        ck_buf_appends(msg, " is not a valid label selector operator");
        return -1;
    }
    json_t *jv = json_object_get(e, "values");
    struct vlist vals = {0};
    for (size_t i = 0; i < json_array_size(jv); i++) {
        const char *vs;
        size_t vn;
        if (json_str(json_array_get(jv, i), &vs, &vn) < 0) {
            free(vals.v);
            ck_buf_appendf(msg, "matchExpressions[%zu].values[%zu]: must be a string", idx, i);
            return -1;
        }
        sel_vlist_add(&vals, vs, vn);
    }
    int rc = new_requirement(s, cap, key, klen, op, &vals, msg);
    free(vals.v);
    return rc;
}

static int finish_json_sel(struct sel *s, int rc, struct ck_buf *msg, struct sel **out,
                           struct ck_err *err)
{
    if (rc < 0) {
        ck_err_set(err, CK_R_BAD_REQUEST, "%s", msg->data ? msg->data : "invalid selector");
        ck_buf_release(msg);
        sel_free(s);
        return -1;
    }
    ck_buf_release(msg);
    sel_sort_reqs(s);
    *out = s;
    return 0;
}

int sel_from_label_selector(const json_t *ls, struct sel **out, struct ck_err *err)
{
    struct sel *s = ck_calloc(1, sizeof(*s));
    s->kind = SEL_LABEL;
    *out = NULL;
    struct ck_buf msg = CK_BUF_INIT(CK_ERR_MSG_MAX * 4);
    int rc = 0;
    size_t cap = 0;
    if (!ls || json_is_null(ls)) {
        s->nothing = true;
    } else if (!json_is_object(ls)) {
        ck_buf_appends(&msg, "a label selector must be an object");
        rc = -1;
    } else {
        json_t *ml = json_object_get(ls, "matchLabels");
        json_t *me = json_object_get(ls, "matchExpressions");
        if ((ml && !json_is_object(ml) && !json_is_null(ml)) ||
            (me && !json_is_array(me) && !json_is_null(me))) {
            ck_buf_appends(&msg, "matchLabels must be an object and matchExpressions an array");
            rc = -1;
        }
        if (rc == 0 && json_is_object(ml))
            rc = from_match_labels(s, &cap, ml, true, &msg);
        for (size_t i = 0; rc == 0 && i < json_array_size(me); i++)
            rc = from_expression(s, &cap, json_array_get(me, i), i, &msg);
    }
    return finish_json_sel(s, rc, &msg, out, err);
}

int sel_from_map(const json_t *map, struct sel **out, struct ck_err *err)
{
    struct sel *s = ck_calloc(1, sizeof(*s));
    s->kind = SEL_LABEL;
    *out = NULL;
    struct ck_buf msg = CK_BUF_INIT(CK_ERR_MSG_MAX * 4);
    size_t cap = 0;
    int rc = 0;
    if (map && !json_is_null(map) && !json_is_object(map)) {
        ck_buf_appends(&msg, "a label set must be an object");
        rc = -1;
    } else if (json_is_object(map)) {
        rc = from_match_labels(s, &cap, map, false, &msg);
    }
    return finish_json_sel(s, rc, &msg, out, err);
}

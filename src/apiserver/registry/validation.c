/* SPDX-License-Identifier: Apache-2.0 */
/* Validation entry point: the error list (upstream field.Error bodies, aggregate message,
 * Status causes), object metadata checks (names per resource, generateName, labels,
 * annotations), label selectors, Go value formatting, and dispatch to per-kind checks. */
#include "apiserver/registry/validation.h"

#include "apiserver/registry/printers.h"
#include "lib/buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VLD_MAX_ERRS 64

struct vld {
    struct ck_err *err;
    size_t n;
    char *errs[VLD_MAX_ERRS]; /* "field: body" */
    bool bad_quantity;
};

static const char dns1123_label_msg[] =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
static const char dns1123_subdomain_msg[] =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
static const char dns1035_label_msg[] =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
static const char qname_part_msg[] =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
static const char qname_msg[] =
    "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
    "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain "
    "prefix and '/' (e.g. 'example.com/MyName')";
static const char label_value_msg[] =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
    "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/* ---- the error list ------------------------------------------------------------------- */

static void vld_add(struct vld *v, const char *cause, const char *field, const char *body)
{
    char *line = ck_asprintf("%s: %s", field, body);
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->errs[i], line)) { /* ToAggregate de-duplicates */
            free(line);
            return;
        }
    if (v->n == VLD_MAX_ERRS) {
        free(line);
        return;
    }
    v->errs[v->n++] = line;
    ck_err_add_cause(v->err, cause, field, "%s", body);
}

static void add_detail(struct vld *v, const char *cause, const char *field, const char *head, const char *detail)
{
    char *body = detail && *detail ? ck_asprintf("%s: %s", head, detail) : ck_strdup(head);
    vld_add(v, cause, field, body);
    free(body);
}

void vld_required(struct vld *v, const char *field, const char *detail)
{
    add_detail(v, "FieldValueRequired", field, "Required value", detail);
}

void vld_forbidden(struct vld *v, const char *field, const char *detail)
{
    add_detail(v, "FieldValueForbidden", field, "Forbidden", detail);
}

void vld_invalid_repr(struct vld *v, const char *field, const char *repr, const char *detail)
{
    char *head = ck_asprintf("Invalid value: %s", repr);
    add_detail(v, "FieldValueInvalid", field, head, detail);
    free(head);
}

void vld_invalid_str(struct vld *v, const char *field, const char *value, const char *detail)
{
    char *q = vld_quote(value);
    vld_invalid_repr(v, field, q, detail);
    free(q);
}

void vld_invalid_int(struct vld *v, const char *field, long long value, const char *detail)
{
    char repr[32];
    snprintf(repr, sizeof(repr), "%lld", value);
    vld_invalid_repr(v, field, repr, detail);
}

void vld_duplicate_repr(struct vld *v, const char *field, const char *repr)
{
    char *head = ck_asprintf("Duplicate value: %s", repr);
    add_detail(v, "FieldValueDuplicate", field, head, NULL);
    free(head);
}

void vld_duplicate_str(struct vld *v, const char *field, const char *value)
{
    char *q = vld_quote(value);
    vld_duplicate_repr(v, field, q);
    free(q);
}

void vld_not_found_str(struct vld *v, const char *field, const char *value)
{
    char *q = vld_quote(value);
    char *head = ck_asprintf("Not found: %s", q);
    add_detail(v, "FieldValueNotFound", field, head, NULL);
    free(head);
    free(q);
}

void vld_not_supported(struct vld *v, const char *field, const char *value, const char *const *valid, size_t n)
{
    struct ck_buf b = CK_BUF_INIT(1 << 16);
    char *q = vld_quote(value);
    ck_buf_appendf(&b, "Unsupported value: %s", q);
    free(q);
    for (size_t i = 0; i < n; i++) {
        q = vld_quote(valid[i]);
        ck_buf_appendf(&b, "%s%s", i ? ", " : ": supported values: ", q);
        free(q);
    }
    char *body = ck_buf_detach(&b, NULL);
    vld_add(v, "FieldValueNotSupported", field, body);
    free(body);
}

void vld_too_long(struct vld *v, const char *field, long long max)
{
    char detail[64];
    snprintf(detail, sizeof(detail), "may not be more than %lld %s", max, max == 1 ? "byte" : "bytes");
    add_detail(v, "FieldValueTooLong", field, "Too long", detail);
}

void vld_bad_quantity(struct vld *v)
{
    v->bad_quantity = true;
}

size_t vld_count(const struct vld *v)
{
    return v->n;
}

/* ---- Go value formatting ---------------------------------------------------------------- */

char *vld_quote(const char *s)
{
    struct ck_buf b = CK_BUF_INIT(1 << 22);
    ck_buf_appendc(&b, '"');
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': ck_buf_appends(&b, "\\\""); break;
        case '\\': ck_buf_appends(&b, "\\\\"); break;
        case '\n': ck_buf_appends(&b, "\\n"); break;
        case '\t': ck_buf_appends(&b, "\\t"); break;
        case '\r': ck_buf_appends(&b, "\\r"); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                ck_buf_appendf(&b, "\\x%02x", *p);
            else
                ck_buf_appendc(&b, (char)*p);
        }
    }
    ck_buf_appendc(&b, '"');
    return ck_buf_detach(&b, NULL);
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *vld_go_map(const json_t *map)
{
    if (!json_is_object(map))
        return ck_strdup("map[string]string(nil)");
    size_t n = json_object_size(map), i = 0;
    const char **keys = ck_calloc(n + 1, sizeof(*keys));
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)map, k, val) {
        (void)val;
        keys[i++] = k;
    }
    qsort(keys, n, sizeof(*keys), cmp_cstr);
    struct ck_buf b = CK_BUF_INIT(1 << 22);
    ck_buf_appends(&b, "map[string]string{");
    for (i = 0; i < n; i++) {
        char *qk = vld_quote(keys[i]), *qv = vld_quote(json_string_value(json_object_get(map, keys[i])));
        ck_buf_appendf(&b, "%s%s:%s", i ? ", " : "", qk, qv);
        free(qk);
        free(qv);
    }
    ck_buf_appendc(&b, '}');
    free(keys);
    return ck_buf_detach(&b, NULL);
}

char *vld_go_selector(const json_t *sel)
{
    if (!json_is_object(sel))
        return ck_strdup("null");
    struct ck_buf b = CK_BUF_INIT(1 << 22);
    char *ml = vld_go_map(json_object_get(sel, "matchLabels"));
    ck_buf_appendf(&b, "v1.LabelSelector{MatchLabels:%s, MatchExpressions:", ml);
    free(ml);
    json_t *me = json_object_get(sel, "matchExpressions");
    if (!json_is_array(me)) {
        ck_buf_appends(&b, "[]v1.LabelSelectorRequirement(nil)}");
        return ck_buf_detach(&b, NULL);
    }
    ck_buf_appends(&b, "[]v1.LabelSelectorRequirement{");
    for (size_t i = 0; i < json_array_size(me); i++) {
        json_t *e = json_array_get(me, i);
        char *qk = vld_quote(printer_jstr(e, "key")), *qo = vld_quote(printer_jstr(e, "operator"));
        ck_buf_appendf(&b, "%sv1.LabelSelectorRequirement{Key:%s, Operator:%s, Values:", i ? ", " : "", qk, qo);
        free(qk);
        free(qo);
        json_t *vals = json_object_get(e, "values");
        if (!json_is_array(vals)) {
            ck_buf_appends(&b, "[]string(nil)}");
            continue;
        }
        ck_buf_appends(&b, "[]string{");
        for (size_t j = 0; j < json_array_size(vals); j++) {
            char *qv = vld_quote(json_string_value(json_array_get(vals, j)));
            ck_buf_appendf(&b, "%s%s", j ? ", " : "", qv);
            free(qv);
        }
        ck_buf_appends(&b, "}}");
    }
    ck_buf_appends(&b, "}}");
    return ck_buf_detach(&b, NULL);
}

/* ---- names ------------------------------------------------------------------------------ */

static bool label_chars_ok(const char *s, size_t n, bool first_alpha)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-'))
            return false;
    }
    if (first_alpha && !islower((unsigned char)s[0]))
        return false;
    return s[0] != '-' && s[n - 1] != '-';
}

bool validation_is_dns1123_label(const char *s)
{
    return s && strlen(s) <= 63 && label_chars_ok(s, strlen(s), false);
}

bool validation_is_dns1035_label(const char *s)
{
    return s && strlen(s) <= 63 && label_chars_ok(s, strlen(s), true);
}

static bool subdomain_chars_ok(const char *s)
{
    const char *p = s;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (!label_chars_ok(p, len, false))
            return false;
        if (!dot)
            return true;
        p = dot + 1;
    }
}

bool validation_is_dns1123_subdomain(const char *s)
{
    return s && strlen(s) <= 253 && subdomain_chars_ok(s);
}

void vld_dns1123_label(struct vld *v, const char *field, const char *s)
{
    if (strlen(s) > 63)
        vld_invalid_str(v, field, s, "must be no more than 63 characters");
    if (!label_chars_ok(s, strlen(s), false))
        vld_invalid_str(v, field, s, dns1123_label_msg);
}

void vld_dns1123_subdomain(struct vld *v, const char *field, const char *s)
{
    if (strlen(s) > 253)
        vld_invalid_str(v, field, s, "must be no more than 253 characters");
    if (!subdomain_chars_ok(s))
        vld_invalid_str(v, field, s, dns1123_subdomain_msg);
}

void vld_dns1035_label(struct vld *v, const char *field, const char *s)
{
    if (strlen(s) > 63)
        vld_invalid_str(v, field, s, "must be no more than 63 characters");
    if (!label_chars_ok(s, strlen(s), true))
        vld_invalid_str(v, field, s, dns1035_label_msg);
}

/* ---- labels, annotations, selectors ----------------------------------------------------- */

static bool qname_part_ok(const char *s, size_t n)
{
    if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return false;
    return true;
}

/* IsQualifiedName: adds one error per message, value shown is shown_value. */
void vld_qualified_name(struct vld *v, const char *field, const char *key, const char *shown)
{
    const char *slash = strchr(key, '/');
    const char *name = key;
    if (slash && strchr(slash + 1, '/')) {
        vld_invalid_str(v, field, shown, qname_msg);
        return;
    }
    if (slash) {
        size_t plen = (size_t)(slash - key);
        name = slash + 1;
        if (plen == 0) {
            vld_invalid_str(v, field, shown, "prefix part must be non-empty");
        } else {
            char *prefix = ck_strndup(key, plen);
            if (plen > 253)
                vld_invalid_str(v, field, shown, "prefix part must be no more than 253 characters");
            if (!subdomain_chars_ok(prefix)) {
                char *m = ck_asprintf("prefix part %s", dns1123_subdomain_msg);
                vld_invalid_str(v, field, shown, m);
                free(m);
            }
            free(prefix);
        }
    }
    size_t n = strlen(name);
    if (n == 0)
        vld_invalid_str(v, field, shown, "name part must be non-empty");
    else if (n > 63)
        vld_invalid_str(v, field, shown, "name part must be no more than 63 characters");
    if (!qname_part_ok(name, n))
        vld_invalid_str(v, field, shown, qname_part_msg);
}

static void vld_label_value(struct vld *v, const char *field, const char *val)
{
    size_t n = strlen(val);
    if (n > 63)
        vld_invalid_str(v, field, val, "must be no more than 63 characters");
    if (n && !qname_part_ok(val, n))
        vld_invalid_str(v, field, val, label_value_msg);
}

void vld_labels(struct vld *v, const char *field, const json_t *labels)
{
    const char *k;
    json_t *val;
    if (!json_is_object(labels))
        return;
    json_object_foreach((json_t *)labels, k, val) {
        vld_qualified_name(v, field, k, k);
        vld_label_value(v, field, json_string_value(val) ?: "");
    }
}

static void vld_annotations(struct vld *v, const char *field, const json_t *ann)
{
    const char *k;
    json_t *val;
    size_t total = 0;
    if (!json_is_object(ann))
        return;
    json_object_foreach((json_t *)ann, k, val) {
        char *lower = ck_strdup(k);
        for (char *p = lower; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        vld_qualified_name(v, field, lower, k);
        free(lower);
        total += strlen(k) + strlen(json_string_value(val) ?: "");
    }
    if (total > 256 * 1024)
        vld_too_long(v, field, 256 * 1024);
}

void vld_label_selector(struct vld *v, const char *field, const json_t *sel)
{
    char path[256];
    if (!json_is_object(sel))
        return;
    snprintf(path, sizeof(path), "%s.matchLabels", field);
    vld_labels(v, path, json_object_get(sel, "matchLabels"));
    json_t *me = json_object_get(sel, "matchExpressions");
    for (size_t i = 0; json_is_array(me) && i < json_array_size(me); i++) {
        json_t *e = json_array_get(me, i);
        const char *op = printer_jstr(e, "operator");
        size_t nvals = json_is_array(json_object_get(e, "values")) ? json_array_size(json_object_get(e, "values")) : 0;
        snprintf(path, sizeof(path), "%s.matchExpressions[%zu].values", field, i);
        if ((!strcmp(op, "In") || !strcmp(op, "NotIn")) && nvals == 0)
            vld_required(v, path, "must be specified when `operator` is 'In' or 'NotIn'");
        else if ((!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist")) && nvals > 0)
            vld_forbidden(v, path, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
        else if (strcmp(op, "In") && strcmp(op, "NotIn") && strcmp(op, "Exists") && strcmp(op, "DoesNotExist")) {
            snprintf(path, sizeof(path), "%s.matchExpressions[%zu].operator", field, i);
            char *d = ck_asprintf("not a valid selector operator");
            vld_invalid_str(v, path, op, d);
            free(d);
        }
        snprintf(path, sizeof(path), "%s.matchExpressions[%zu].key", field, i);
        vld_qualified_name(v, path, printer_jstr(e, "key"), printer_jstr(e, "key"));
    }
}

static bool in_values(const json_t *vals, const char *s)
{
    for (size_t i = 0; json_is_array(vals) && i < json_array_size(vals); i++)
        if (s && !strcmp(json_string_value(json_array_get(vals, i)) ?: "", s))
            return true;
    return false;
}

bool vld_selector_matches(const json_t *sel, const json_t *labels)
{
    if (!json_is_object(sel))
        return false; /* a nil selector selects nothing */
    const char *k;
    json_t *val;
    json_t *ml = json_object_get(sel, "matchLabels");
    if (json_is_object(ml)) {
        json_object_foreach(ml, k, val) {
            const char *have = json_string_value(json_object_get(labels, k));
            if (!have || strcmp(have, json_string_value(val) ?: ""))
                return false;
        }
    }
    json_t *me = json_object_get(sel, "matchExpressions");
    for (size_t i = 0; json_is_array(me) && i < json_array_size(me); i++) {
        json_t *e = json_array_get(me, i);
        const char *op = printer_jstr(e, "operator");
        const char *have = json_string_value(json_object_get(labels, printer_jstr(e, "key")));
        json_t *vals = json_object_get(e, "values");
        if ((!strcmp(op, "In") && !in_values(vals, have)) || (!strcmp(op, "NotIn") && in_values(vals, have)) ||
            (!strcmp(op, "Exists") && !have) || (!strcmp(op, "DoesNotExist") && have))
            return false;
    }
    return true;
}

void vld_nonneg(struct vld *v, const char *field, const json_t *obj, const char *key)
{
    json_t *x = json_object_get(obj, key);
    if (json_is_integer(x) && json_integer_value(x) < 0)
        vld_invalid_int(v, field, (long long)json_integer_value(x), "must be greater than or equal to 0");
}

/* ---- object metadata -------------------------------------------------------------------- */

enum name_rule { NAME_SUBDOMAIN, NAME_LABEL, NAME_DNS1035, NAME_PATH };

static void vld_path_segment(struct vld *v, const char *field, const char *s)
{
    if (!strcmp(s, ".") || !strcmp(s, ".."))
        vld_invalid_str(v, field, s, !strcmp(s, ".") ? "may not be '.'" : "may not be '..'");
    if (strchr(s, '/'))
        vld_invalid_str(v, field, s, "may not contain '/'");
    if (strchr(s, '%'))
        vld_invalid_str(v, field, s, "may not contain '%'");
}

static void vld_name_rule(struct vld *v, enum name_rule rule, const char *field, const char *s)
{
    switch (rule) {
    case NAME_SUBDOMAIN: vld_dns1123_subdomain(v, field, s); break;
    case NAME_LABEL: vld_dns1123_label(v, field, s); break;
    case NAME_DNS1035: vld_dns1035_label(v, field, s); break;
    case NAME_PATH: vld_path_segment(v, field, s); break;
    }
}

/* generateName prefixes may end with '-': validate with the trailing dash masked. */
static void vld_generate_name(struct vld *v, enum name_rule rule, const char *prefix)
{
    char *masked = ck_strdup(prefix);
    size_t n = strlen(masked);
    if (n && masked[n - 1] == '-')
        masked[n - 1] = 'a';
    struct vld tmp = {.err = NULL};
    vld_name_rule(&tmp, rule, "metadata.generateName", masked);
    for (size_t i = 0; i < tmp.n; i++) {
        /* re-issue with the caller's real prefix as the shown value */
        const char *detail = strstr(tmp.errs[i], "\": ");
        vld_invalid_str(v, "metadata.generateName", prefix, detail ? detail + 3 : "");
        free(tmp.errs[i]);
    }
    free(masked);
}

static void vld_meta(struct vld *v, enum name_rule rule, const json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata");
    const char *name = printer_jstr(md, "name");
    const char *gen = printer_jstr(md, "generateName");
    if (*gen)
        vld_generate_name(v, rule, gen);
    if (!*name && !*gen)
        vld_required(v, "metadata.name", "name or generateName is required");
    else if (*name)
        vld_name_rule(v, rule, "metadata.name", name);
    const char *ns = printer_jstr(md, "namespace");
    if (*ns)
        vld_dns1123_label(v, "metadata.namespace", ns);
    vld_labels(v, "metadata.labels", json_object_get(md, "labels"));
    vld_annotations(v, "metadata.annotations", json_object_get(md, "annotations"));
    json_t *fins = json_object_get(md, "finalizers");
    for (size_t i = 0; json_is_array(fins) && i < json_array_size(fins); i++) {
        const char *f = json_string_value(json_array_get(fins, i)) ?: "";
        vld_qualified_name(v, "metadata.finalizers", f, f);
    }
}

/* ---- dispatch ------------------------------------------------------------------------------ */

struct kind_rule {
    const char *group, *resource;
    enum name_rule name;
    void (*fn)(struct vld *v, const json_t *obj, const json_t *old);
};

static const struct kind_rule rules[] = {
    {"", "pods", NAME_SUBDOMAIN, vld_pod},
    {"", "podtemplates", NAME_SUBDOMAIN, vld_podtemplate},
    {"", "services", NAME_DNS1035, vld_service},
    {"", "configmaps", NAME_SUBDOMAIN, vld_configmap},
    {"", "secrets", NAME_SUBDOMAIN, vld_secret},
    {"", "namespaces", NAME_LABEL, vld_namespace},
    {"", "nodes", NAME_SUBDOMAIN, vld_node},
    {"", "serviceaccounts", NAME_SUBDOMAIN, NULL},
    {"", "endpoints", NAME_SUBDOMAIN, NULL},
    {"", "events", NAME_SUBDOMAIN, NULL},
    {"", "limitranges", NAME_SUBDOMAIN, vld_limitrange},
    {"", "resourcequotas", NAME_SUBDOMAIN, vld_resourcequota},
    {"", "replicationcontrollers", NAME_SUBDOMAIN, NULL},
    {"", "persistentvolumes", NAME_SUBDOMAIN, vld_pv},
    {"", "persistentvolumeclaims", NAME_SUBDOMAIN, vld_pvc},
    {"apps", "deployments", NAME_SUBDOMAIN, vld_deployment},
    {"apps", "replicasets", NAME_SUBDOMAIN, vld_replicaset},
    {"apps", "daemonsets", NAME_SUBDOMAIN, vld_daemonset},
    {"apps", "statefulsets", NAME_LABEL, vld_statefulset},
    {"apps", "controllerrevisions", NAME_SUBDOMAIN, NULL},
    {"batch", "jobs", NAME_SUBDOMAIN, vld_job},
    {"batch", "cronjobs", NAME_SUBDOMAIN, vld_cronjob},
    {"coordination.k8s.io", "leases", NAME_SUBDOMAIN, vld_lease},
    {"discovery.k8s.io", "endpointslices", NAME_SUBDOMAIN, NULL},
    {"policy", "poddisruptionbudgets", NAME_SUBDOMAIN, vld_pdb},
    {"events.k8s.io", "events", NAME_SUBDOMAIN, vld_event_v1},
    {"certificates.k8s.io", "certificatesigningrequests", NAME_SUBDOMAIN, vld_csr},
    {"node.k8s.io", "runtimeclasses", NAME_SUBDOMAIN, vld_runtimeclass},
    {"storage.k8s.io", "csidrivers", NAME_SUBDOMAIN, vld_csidriver},
    {"storage.k8s.io", "csinodes", NAME_SUBDOMAIN, NULL},
    {"storage.k8s.io", "volumeattachments", NAME_SUBDOMAIN, NULL},
    {"storage.k8s.io", "csistoragecapacities", NAME_SUBDOMAIN, NULL},
    {"admissionregistration.k8s.io", "mutatingwebhookconfigurations", NAME_SUBDOMAIN,
     vld_webhookconfig},
    {"admissionregistration.k8s.io", "validatingwebhookconfigurations", NAME_SUBDOMAIN,
     vld_webhookconfig},
    {"admissionregistration.k8s.io", "validatingadmissionpolicies", NAME_SUBDOMAIN, NULL},
    {"admissionregistration.k8s.io", "validatingadmissionpolicybindings", NAME_SUBDOMAIN, NULL},
    {"flowcontrol.apiserver.k8s.io", "flowschemas", NAME_SUBDOMAIN, vld_flowschema},
    {"flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations", NAME_SUBDOMAIN,
     vld_prioritylevel},
    {"networking.k8s.io", "ingresses", NAME_SUBDOMAIN, vld_ingress},
    {"networking.k8s.io", "networkpolicies", NAME_SUBDOMAIN, NULL},
    {"scheduling.k8s.io", "priorityclasses", NAME_SUBDOMAIN, vld_priorityclass},
    {"storage.k8s.io", "storageclasses", NAME_SUBDOMAIN, vld_storageclass},
    {"autoscaling", "horizontalpodautoscalers", NAME_SUBDOMAIN, vld_hpa},
    {"rbac.authorization.k8s.io", "roles", NAME_PATH, vld_role},
    {"rbac.authorization.k8s.io", "clusterroles", NAME_PATH, vld_clusterrole},
    {"rbac.authorization.k8s.io", "rolebindings", NAME_PATH, vld_rolebinding},
    {"rbac.authorization.k8s.io", "clusterrolebindings", NAME_PATH, vld_clusterrolebinding},
};

static void build_message(struct vld *v, const char *group, const char *kind, const json_t *obj)
{
    struct ck_err *err = v->err;
    const char *name = printer_jstr(obj, "metadata.name");
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    ck_buf_appendf(&b, "%s%s%s \"%s\" is invalid: ", kind, *group ? "." : "", group, name);
    if (v->n > 1)
        ck_buf_appendc(&b, '[');
    for (size_t i = 0; i < v->n; i++)
        ck_buf_appendf(&b, "%s%s", i ? ", " : "", v->errs[i]);
    if (v->n > 1)
        ck_buf_appendc(&b, ']');
    char *msg = ck_buf_detach(&b, NULL);
    if (err) {
        err->reason = CK_R_INVALID;
        err->code = 422;
        snprintf(err->msg, sizeof(err->msg), "%s", msg);
        snprintf(err->kind, sizeof(err->kind), "%s", kind);
        snprintf(err->group, sizeof(err->group), "%s", group);
        snprintf(err->name, sizeof(err->name), "%s", name);
    }
    free(msg);
}

int validation_validate(const char *group, const char *resource, const char *kind,
                        const json_t *obj, const json_t *old, struct ck_err *err)
{
    struct vld v = {.err = err};
    if (!group)
        group = "";
    if (!kind)
        kind = "";
    ck_err_clear(err);
    const struct kind_rule *r = NULL;
    for (size_t i = 0; resource && i < sizeof(rules) / sizeof(rules[0]); i++)
        if (!strcmp(rules[i].group, group) && !strcmp(rules[i].resource, resource))
            r = &rules[i];
    if (!json_is_object(obj)) {
        vld_required(&v, "metadata", "object expected");
    } else {
        /* updates do not re-check the (immutable) name's format, as upstream */
        enum name_rule rule = r ? r->name : NAME_PATH;
        if (old && json_is_object(old))
            rule = NAME_PATH;
        vld_meta(&v, rule, obj);
        if (r && r->fn)
            r->fn(&v, obj, json_is_object(old) ? old : NULL);
    }
    if (v.bad_quantity) {
        const char *av = printer_jstr(obj, "apiVersion"), *slash = strrchr(av, '/');
        ck_err_set(err, CK_R_BAD_REQUEST,
                   "%s in version \"%s\" cannot be handled as a %s: quantities must match the regular "
                   "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                   kind, slash ? slash + 1 : (*av ? av : "v1"), kind);
        for (size_t i = 0; i < v.n; i++)
            free(v.errs[i]);
        return -1;
    }
    if (v.n == 0)
        return 0;
    build_message(&v, group, kind, obj);
    for (size_t i = 0; i < v.n; i++)
        free(v.errs[i]);
    return -1;
}

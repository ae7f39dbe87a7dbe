/* SPDX-License-Identifier: Apache-2.0 */
/* Server-side printing: dispatch from (group, resource) to a printer, the generic fallbacks
 * (upstream's default convertor for built-ins, Name + Age for custom resources), and the
 * small JSON and formatting helpers the printers share. */
#include "apiserver/registry/printers.h"

#include "lib/buf.h"
#include "lib/timeutil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct printer_col default_cols[] = {
    PRINTER_COL_NAME,
    {"Created At", "date", "", "Time the object was created.", 0},
};

static const struct printer_col custom_cols[] = {
    PRINTER_COL_NAME,
    {"Age", "date", "", "Time since the object was created.", 0},
};

/* API groups served by the built-in registry: resources there without a dedicated printer
 * use upstream's default table convertor (Name, Created At). */
static const char *const builtin_groups[] = {
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "rbac.authorization.k8s.io",
    "networking.k8s.io",
    "storage.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "scheduling.k8s.io",
    "node.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "certificates.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "resource.k8s.io",
    "internal.apiserver.k8s.io",
    "storagemigration.k8s.io",
};

static bool is_builtin_group(const char *group)
{
    for (size_t i = 0; i < sizeof(builtin_groups) / sizeof(builtin_groups[0]); i++)
        if (strcmp(builtin_groups[i], group) == 0)
            return true;
    return false;
}

static const struct printer_def *find_def(const char *group, const char *resource)
{
    if (!group)
        group = "";
    if (!resource)
        return NULL;
    for (size_t i = 0; i < printer_defs_core_n; i++)
        if (!strcmp(printer_defs_core[i].group, group) &&
            !strcmp(printer_defs_core[i].resource, resource))
            return &printer_defs_core[i];
    for (size_t i = 0; i < printer_defs_apps_n; i++)
        if (!strcmp(printer_defs_apps[i].group, group) &&
            !strcmp(printer_defs_apps[i].resource, resource))
            return &printer_defs_apps[i];
    for (size_t i = 0; i < printer_defs_groups_n; i++)
        if (!strcmp(printer_defs_groups[i].group, group) &&
            !strcmp(printer_defs_groups[i].resource, resource))
            return &printer_defs_groups[i];
    return NULL;
}

const struct printer_col *printer_columns(const char *group, const char *resource, size_t *n)
{
    const struct printer_def *d = find_def(group, resource);
    if (d) {
        *n = d->ncols;
        return d->cols;
    }
    *n = 2;
    return is_builtin_group(group ? group : "") ? default_cols : custom_cols;
}

/* The clock-relative durations of the cells being printed on this thread (printer_cells_ages);
 * more than PRINTER_MAX_AGES are not kept and make the count PRINTER_MAX_AGES + 1. While a
 * template is printed (tmpl), each kept duration prints as its marker. */
static _Thread_local struct printer_age_note ages[PRINTER_MAX_AGES];
static _Thread_local size_t nages;
static _Thread_local bool tmpl;

void printer_age_text(int64_t now_s, int64_t d, char out[16])
{
    size_t k = nages;
    if (k < PRINTER_MAX_AGES) {
        ages[k].base_s = now_s - d;
        ck_time_age(d, ages[k].text);
    }
    if (k <= PRINTER_MAX_AGES)
        nages++;
    if (tmpl && k < PRINTER_MAX_AGES) {
        out[0] = PRINTER_AGE_MARK;
        out[1] = (char)('A' + k);
        out[2] = PRINTER_AGE_MARK;
        out[3] = '\0';
        return;
    }
    ck_time_age(d, out);
}

size_t printer_cells_ages(const struct printer_age_note **out)
{
    *out = ages;
    return nages;
}

json_t *printer_cells(const char *group, const char *resource, const json_t *obj, int64_t now_s)
{
    nages = 0;
    json_t *row = json_array();
    const struct printer_def *d = find_def(group, resource);
    if (d) {
        d->cells(obj, now_s, row);
        return row;
    }
    printer_add_str(row, printer_jstr(obj, "metadata.name"));
    if (is_builtin_group(group ? group : "")) {
        /* upstream: creationTimestamp in RFC 3339 (UTC) */
        const char *ts = printer_jstr(obj, "metadata.creationTimestamp");
        time_t t;
        char out[21];
        if (*ts && ck_time_parse_rfc3339(ts, &t) == 0) {
            ck_time_rfc3339(t, out);
            printer_add_str(row, out);
        } else {
            printer_add_str(row, "0001-01-01T00:00:00Z"); /* Go's zero time */
        }
    } else {
        printer_add_age(row, obj, now_s);
    }
    return row;
}

json_t *printer_cells_template(const char *group, const char *resource, const json_t *obj,
                               int64_t now_s)
{
    tmpl = true;
    json_t *row = printer_cells(group, resource, obj, now_s);
    tmpl = false;
    return row;
}

json_t *printer_column_definitions(const char *group, const char *resource)
{
    size_t n;
    const struct printer_col *c = printer_columns(group, resource, &n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{ss ss ss ss si}", "name", c[i].name, "type",
                                             c[i].type, "format", c[i].format, "description",
                                             c[i].description, "priority", c[i].priority));
    return arr;
}

json_t *printer_row_conditions(const char *group, const char *resource, const json_t *obj)
{
    if (!group || !resource || group[0] || strcmp(resource, "pods") != 0)
        return NULL;
    const char *phase = printer_jstr(obj, "status.phase");
    const char *msg;
    if (!strcmp(phase, "Succeeded"))
        msg = "The pod has completed successfully.";
    else if (!strcmp(phase, "Failed"))
        msg = "The pod failed.";
    else
        return NULL;
    return json_pack("[{ss ss ss ss}]", "type", "Completed", "status", "True", "reason", phase,
                     "message", msg);
}

/* --- JSON helpers ------------------------------------------------------------------- */

json_t *printer_jget(const json_t *obj, const char *path)
{
    const json_t *cur = obj;
    const char *p = path;
    char key[128];
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len >= sizeof(key) || !json_is_object(cur))
            return NULL;
        memcpy(key, p, len);
        key[len] = 0;
        cur = json_object_get(cur, key);
        p = dot ? dot + 1 : p + len;
    }
    return (json_t *)cur;
}

const char *printer_jstr(const json_t *obj, const char *path)
{
    const char *s = json_string_value(printer_jget(obj, path));
    return s ? s : "";
}

long long printer_jint(const json_t *obj, const char *path, long long dflt)
{
    json_t *v = printer_jget(obj, path);
    if (json_is_integer(v))
        return (long long)json_integer_value(v);
    if (json_is_real(v))
        return (long long)json_real_value(v);
    return dflt;
}

void printer_age(const char *ts, int64_t now_s, char out[16])
{
    time_t t;
    if (!ts || !*ts || ck_time_parse_rfc3339(ts, &t) != 0) {
        snprintf(out, 16, "<unknown>");
        return;
    }
    printer_age_text(now_s, now_s - (int64_t)t, out);
}

void printer_add_str(json_t *row, const char *s)
{
    json_array_append_new(row, json_string(s ? s : ""));
}

void printer_add_owned(json_t *row, char *s)
{
    printer_add_str(row, s);
    free(s);
}

size_t printer_jsize(const json_t *v)
{
    if (json_is_array(v))
        return json_array_size(v);
    if (json_is_object(v))
        return json_object_size(v);
    return 0;
}

int printer_cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void printer_add_int(json_t *row, long long v)
{
    json_array_append_new(row, json_integer(v));
}

void printer_add_age(json_t *row, const json_t *obj, int64_t now_s)
{
    char age[16];
    printer_age(printer_jstr(obj, "metadata.creationTimestamp"), now_s, age);
    printer_add_str(row, age);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of a JSON object, sorted; *n set; caller frees the array (not the strings). */
static const char **sorted_keys(const json_t *map, size_t *n)
{
    *n = json_is_object(map) ? json_object_size(map) : 0;
    const char **keys = ck_calloc(*n + 1, sizeof(*keys));
    size_t i = 0;
    const char *k;
    json_t *v;
    if (*n) {
        json_object_foreach((json_t *)map, k, v)
        {
            (void)v;
            keys[i++] = k;
        }
        qsort(keys, *n, sizeof(*keys), cmp_str);
    }
    return keys;
}

char *printer_format_labels(const json_t *map)
{
    size_t n;
    const char **keys = sorted_keys(map, &n);
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    for (size_t i = 0; i < n; i++)
        ck_buf_appendf(&b, "%s%s=%s", i ? "," : "", keys[i],
                       json_string_value(json_object_get(map, keys[i])) ?: "");
    free(keys);
    if (n == 0)
        ck_buf_appends(&b, "<none>");
    return ck_buf_detach(&b, NULL);
}

struct sel_req {
    const char *key;
    char *text;
};

static int cmp_req(const void *a, const void *b)
{
    return strcmp(((const struct sel_req *)a)->key, ((const struct sel_req *)b)->key);
}

static char *format_expression(const json_t *e)
{
    const char *key = printer_jstr(e, "key"), *op = printer_jstr(e, "operator");
    if (!strcmp(op, "Exists"))
        return ck_strdup(key);
    if (!strcmp(op, "DoesNotExist"))
        return ck_asprintf("!%s", key);
    json_t *vals = json_object_get(e, "values");
    size_t n = json_is_array(vals) ? json_array_size(vals) : 0;
    const char **v = ck_calloc(n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = json_string_value(json_array_get(vals, i)) ?: "";
    qsort(v, n, sizeof(*v), cmp_str);
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    ck_buf_appendf(&b, "%s %s (", key, !strcmp(op, "NotIn") ? "notin" : "in");
    for (size_t i = 0; i < n; i++)
        ck_buf_appendf(&b, "%s%s", i ? "," : "", v[i]);
    ck_buf_appendc(&b, ')');
    free(v);
    return ck_buf_detach(&b, NULL);
}

char *printer_format_selector(const json_t *sel)
{
    json_t *ml = json_object_get(sel, "matchLabels");
    json_t *me = json_object_get(sel, "matchExpressions");
    size_t nl = json_is_object(ml) ? json_object_size(ml) : 0;
    size_t ne = json_is_array(me) ? json_array_size(me) : 0;
    struct sel_req *r = ck_calloc(nl + ne + 1, sizeof(*r));
    size_t n = 0;
    const char *k;
    json_t *v;
    if (nl) {
        json_object_foreach(ml, k, v)
        {
            r[n].key = k;
            r[n++].text = ck_asprintf("%s=%s", k, json_string_value(v) ?: "");
        }
    }
    for (size_t i = 0; i < ne; i++) {
        r[n].key = printer_jstr(json_array_get(me, i), "key");
        r[n++].text = format_expression(json_array_get(me, i));
    }
    qsort(r, n, sizeof(*r), cmp_req);
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    ck_buf_appends(&b, "");
    for (size_t i = 0; i < n; i++) {
        ck_buf_appendf(&b, "%s%s", i ? "," : "", r[i].text);
        free(r[i].text);
    }
    free(r);
    return ck_buf_detach(&b, NULL);
}

void printer_containers(const json_t *podspec, char **names, char **images)
{
    json_t *cs = json_object_get(podspec, "containers");
    struct ck_buf bn = CK_BUF_INIT(1 << 20), bi = CK_BUF_INIT(1 << 20);
    ck_buf_appends(&bn, "");
    ck_buf_appends(&bi, "");
    for (size_t i = 0; json_is_array(cs) && i < json_array_size(cs); i++) {
        json_t *c = json_array_get(cs, i);
        ck_buf_appendf(&bn, "%s%s", i ? "," : "", printer_jstr(c, "name"));
        ck_buf_appendf(&bi, "%s%s", i ? "," : "", printer_jstr(c, "image"));
    }
    *names = ck_buf_detach(&bn, NULL);
    *images = ck_buf_detach(&bi, NULL);
}

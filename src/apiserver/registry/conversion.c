/* SPDX-License-Identifier: Apache-2.0 */
/* Version conversions of multi-version kinds (see conversion.h). Field mappings follow
 * upstream's conversion functions: pkg/apis/autoscaling/v1/conversion.go,
 * pkg/apis/events/v1/conversion.go and pkg/apis/flowcontrol/v1beta3/conversion.go. */
#include "apiserver/registry/conversion.h"
#include "lib/buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define ANN_METRICS "autoscaling.alpha.kubernetes.io/metrics"
#define ANN_CURRENT "autoscaling.alpha.kubernetes.io/current-metrics"
#define ANN_CONDITIONS "autoscaling.alpha.kubernetes.io/conditions"
#define ANN_BEHAVIOR "autoscaling.alpha.kubernetes.io/behavior"
#define ANN_PRESERVE_ZERO "flowcontrol.k8s.io/v1beta3-preserve-zero-concurrency-shares"

/* ---- helpers ------------------------------------------------------------------------ */

static json_t *obj_get(const json_t *o, const char *k)
{
    return json_is_object(o) ? json_object_get(o, k) : NULL;
}

/* dst[dk] = copy of src[sk] when present and not null. */
static void cp(json_t *dst, const json_t *src, const char *dk, const char *sk)
{
    json_t *v = obj_get(src, sk);
    if (v && !json_is_null(v))
        json_object_set_new(dst, dk, json_deep_copy(v));
}

/* dst[k] = copy of src[k], null when absent (Go's zero metav1.Time marshals as null). */
static void cp_time(json_t *dst, const json_t *src, const char *dk, const char *sk)
{
    json_t *v = obj_get(src, sk);
    json_object_set_new(dst, dk, v ? json_deep_copy(v) : json_null());
}

/* A copy of the object's metadata with the given annotations removed (NULL: keep all). */
static json_t *meta_without(const json_t *obj, const char *const *drop, size_t ndrop)
{
    json_t *md = obj_get(obj, "metadata");
    json_t *out = json_is_object(md) ? json_deep_copy(md) : json_object();
    json_t *ann = json_object_get(out, "annotations");
    if (json_is_object(ann)) {
        for (size_t i = 0; i < ndrop; i++)
            json_object_del(ann, drop[i]);
        if (json_object_size(ann) == 0)
            json_object_del(out, "annotations");
    }
    return out;
}

static void set_annotation(json_t *md, const char *key, json_t *val)
{
    char *s = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(val);
    if (!s)
        return;
    json_t *ann = json_object_get(md, "annotations");
    if (!json_is_object(ann)) {
        ann = json_object();
        json_object_set_new(md, "annotations", ann);
    }
    json_object_set_new(ann, key, json_string(s));
    free(s);
}

static const char *annotation(const json_t *obj, const char *key)
{
    return json_string_value(obj_get(obj_get(obj_get(obj, "metadata"), "annotations"), key));
}

/* Go's encoding/json names the fields of untagged internal structs by their Go names:
 * upper-cases the first letter of every key (lower_first reverses it). */
static json_t *recase(const json_t *v, bool lower_first)
{
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) json_array_append_new(a, recase(e, lower_first));
        return a;
    }
    if (!json_is_object(v))
        return json_deep_copy(v);
    json_t *o = json_object();
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)v, k, e)
    {
        char *nk = ck_strdup(k);
        nk[0] = (char)(lower_first ? tolower((unsigned char)nk[0]) : toupper((unsigned char)nk[0]));
        json_object_set_new(o, nk, recase(e, lower_first));
        free(nk);
    }
    return o;
}

/* ---- HPA metrics: v1 (annotation) shapes <-> v2 --------------------------------------- */

/* A v2 MetricTarget (type set) or MetricValueStatus (type NULL): the fields that are set. */
static json_t *metric_value(const char *type, const json_t *value, const json_t *avg,
                            const json_t *util)
{
    json_t *t = type ? json_pack("{s:s}", "type", type) : json_object();
    if (value && !json_is_null(value))
        json_object_set_new(t, "value", json_deep_copy(value));
    if (avg && !json_is_null(avg))
        json_object_set_new(t, "averageValue", json_deep_copy(avg));
    if (util && !json_is_null(util))
        json_object_set_new(t, "averageUtilization", json_deep_copy(util));
    return t;
}

/* The v1 (annotation) forms of v2 metric entries, both ways and for specs and statuses alike
 * (MetricSpec <-> autoscaling.alpha.kubernetes.io/metrics items, MetricStatus <-> .../
 * current-metrics items), as one table: each source kind lists which v1 key holds a field of
 * the v2 entry itself (S), of its metric identifier (I) or of its target or current value (V).
 * '%' in a v1 key stands for "target" (specs) or "current" (statuses). A v2 target also gets
 * a type: type_if when the v1 field if_set is set, else type_else. */
enum { FROM_S, FROM_I, FROM_V };
struct v1_copy {
    const char *v1, *v2;
    int from;
};
static const struct {
    const char *kind;
    const char *if_set, *type_if, *type_else;
    struct v1_copy c[6]; /* ends at the first empty entry */
} metric_v2_to_v1[] = {
    {"object",
     "averageValue",
     "AverageValue",
     "Value",
     {{"target", "describedObject", FROM_S},
      {"metricName", "name", FROM_I},
      {"%Value", "value", FROM_V},
      {"selector", "selector", FROM_I},
      {"averageValue", "averageValue", FROM_V}}},
    {"pods",
     NULL,
     NULL,
     "AverageValue",
     {{"metricName", "name", FROM_I},
      {"%AverageValue", "averageValue", FROM_V},
      {"selector", "selector", FROM_I}}},
    {"resource",
     "%AverageUtilization",
     "Utilization",
     "AverageValue",
     {{"name", "name", FROM_S},
      {"%AverageUtilization", "averageUtilization", FROM_V},
      {"%AverageValue", "averageValue", FROM_V},
      {"container", "container", FROM_S}}},
    {"containerResource",
     "%AverageUtilization",
     "Utilization",
     "AverageValue",
     {{"name", "name", FROM_S},
      {"%AverageUtilization", "averageUtilization", FROM_V},
      {"%AverageValue", "averageValue", FROM_V},
      {"container", "container", FROM_S}}},
    {"external",
     "%Value",
     "Value",
     "AverageValue",
     {{"metricName", "name", FROM_I},
      {"metricSelector", "selector", FROM_I},
      {"%Value", "value", FROM_V},
      {"%AverageValue", "averageValue", FROM_V}}},
};

/* A v1 key with '%' replaced by which. */
static const char *v1_key(char *buf, size_t n, const char *k, const char *which)
{
    if (k[0] == '%')
        snprintf(buf, n, "%s%s", which, k + 1);
    else
        snprintf(buf, n, "%s", k);
    return buf;
}

/* which: "target" for a MetricSpec, "current" for a MetricStatus. */
static json_t *metric_to_v1(const json_t *m, const char *which)
{
    json_t *o = json_object();
    cp(o, m, "type", "type");
    for (size_t k = 0; k < sizeof(metric_v2_to_v1) / sizeof(metric_v2_to_v1[0]); k++) {
        const json_t *s = obj_get(m, metric_v2_to_v1[k].kind);
        if (!s)
            continue;
        const json_t *from[3] = {s, obj_get(s, "metric"), obj_get(s, which)};
        json_t *x = json_object();
        for (const struct v1_copy *c = metric_v2_to_v1[k].c; c->v1; c++) {
            char key[64];
            cp(x, from[c->from], v1_key(key, sizeof(key), c->v1, which), c->v2);
        }
        json_object_set_new(o, metric_v2_to_v1[k].kind, x);
    }
    return o;
}

/* The inverse of metric_to_v1 (which: "target" or "current"). */
static json_t *metric_to_v2(const json_t *m, const char *which)
{
    json_t *o = json_object();
    cp(o, m, "type", "type");
    for (size_t k = 0; k < sizeof(metric_v2_to_v1) / sizeof(metric_v2_to_v1[0]); k++) {
        const json_t *s = obj_get(m, metric_v2_to_v1[k].kind);
        if (!s)
            continue;
        json_t *x = json_object(), *id = NULL, *val;
        char key[64];
        if (!strcmp(which, "target")) {
            const char *f = metric_v2_to_v1[k].if_set;
            const json_t *v = f ? obj_get(s, v1_key(key, sizeof(key), f, which)) : NULL;
            val = metric_value(v && !json_is_null(v) ? metric_v2_to_v1[k].type_if
                                                     : metric_v2_to_v1[k].type_else,
                               NULL, NULL, NULL);
        } else {
            val = metric_value(NULL, NULL, NULL, NULL);
        }
        for (const struct v1_copy *c = metric_v2_to_v1[k].c; c->v1; c++) {
            json_t *to = c->from == FROM_S ? x : c->from == FROM_V ? val : NULL;
            if (c->from == FROM_I)
                to = id ? id : (id = json_object());
            cp(to, s, c->v2, v1_key(key, sizeof(key), c->v1, which));
        }
        if (id)
            json_object_set_new(x, "metric", id);
        json_object_set_new(x, which, val);
        json_object_set_new(o, metric_v2_to_v1[k].kind, x);
    }
    return o;
}

static bool is_cpu_resource(const json_t *m)
{
    const char *t = json_string_value(obj_get(m, "type"));
    const json_t *r = obj_get(m, "resource");
    const char *n = json_string_value(obj_get(r, "name"));
    return t && strcmp(t, "Resource") == 0 && r && n && strcmp(n, "cpu") == 0;
}

/* *out = the parsed annotation (NULL when absent); -1 with err set when it does not parse
 * as the JSON upstream writes (a list; an object for the behavior). */
static int parse_annotation(const json_t *obj, const char *key, json_t **out, struct ck_err *err)
{
    *out = NULL;
    const char *s = annotation(obj, key);
    if (!s)
        return 0;
    json_error_t je;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &je);
    bool want_object = strcmp(key, ANN_BEHAVIOR) == 0;
    if (!v || (want_object ? !json_is_object(v) : !json_is_array(v))) {
        json_decref(v);
        return ck_err_set(err, CK_R_BAD_REQUEST, "annotation %s cannot be parsed: %s", key,
                          v ? "unexpected type" : je.text);
    }
    *out = v;
    return 0;
}

json_t *conv_hpa_v1_to_v2(const json_t *in, struct ck_err *err)
{
    static const char *const drop[] = {ANN_METRICS, ANN_CURRENT, ANN_CONDITIONS, ANN_BEHAVIOR};
    json_t *other = NULL, *cur = NULL, *conds = NULL, *beh = NULL;
    if (parse_annotation(in, ANN_METRICS, &other, err) < 0 ||
        parse_annotation(in, ANN_CURRENT, &cur, err) < 0 ||
        parse_annotation(in, ANN_CONDITIONS, &conds, err) < 0 ||
        parse_annotation(in, ANN_BEHAVIOR, &beh, err) < 0) {
        json_decref(other);
        json_decref(cur);
        json_decref(conds);
        return NULL;
    }
    json_t *out = json_object();
    json_object_set_new(out, "apiVersion", json_string("autoscaling/v2"));
    json_object_set_new(out, "kind", json_string("HorizontalPodAutoscaler"));
    json_object_set_new(out, "metadata", meta_without(in, drop, 4));
    json_t *spec = obj_get(in, "spec"), *st = obj_get(in, "status");
    json_t *os = json_object();
    cp(os, spec, "scaleTargetRef", "scaleTargetRef");
    cp(os, spec, "minReplicas", "minReplicas");
    cp(os, spec, "maxReplicas", "maxReplicas");
    json_t *metrics = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(other, i, m) json_array_append_new(metrics, metric_to_v2(m, "target"));
    json_t *cpu = obj_get(spec, "targetCPUUtilizationPercentage");
    if (cpu && !json_is_null(cpu))
        json_array_append_new(metrics,
                              json_pack("{s:s,s:{s:s,s:o}}", "type", "Resource", "resource", "name",
                                        "cpu", "target", metric_value("Utilization", NULL, NULL, cpu)));
    if (json_array_size(metrics) == 0) { /* v1's implicit default, made explicit */
        json_t *d = json_integer(80);
        json_array_append_new(metrics,
                              json_pack("{s:s,s:{s:s,s:o}}", "type", "Resource", "resource", "name",
                                        "cpu", "target", metric_value("Utilization", NULL, NULL, d)));
        json_decref(d);
    }
    json_object_set_new(os, "metrics", metrics);
    if (beh)
        json_object_set_new(os, "behavior", recase(beh, true));
    json_object_set_new(out, "spec", os);
    json_t *ost = json_object();
    cp(ost, st, "observedGeneration", "observedGeneration");
    cp(ost, st, "lastScaleTime", "lastScaleTime");
    cp(ost, st, "currentReplicas", "currentReplicas");
    cp(ost, st, "desiredReplicas", "desiredReplicas");
    if (cur) {
        json_t *cm = json_array();
        json_array_foreach(cur, i, m) json_array_append_new(cm, metric_to_v2(m, "current"));
        json_object_set_new(ost, "currentMetrics", cm);
    } else if ((cpu = obj_get(st, "currentCPUUtilizationPercentage")) && !json_is_null(cpu)) {
        json_object_set_new(ost, "currentMetrics",
                            json_pack("[{s:s,s:{s:s,s:o}}]", "type", "Resource", "resource", "name",
                                      "cpu", "current", metric_value(NULL, NULL, NULL, cpu)));
    }
    if (conds)
        json_object_set(ost, "conditions", conds);
    json_object_set_new(out, "status", ost);
    json_decref(other);
    json_decref(cur);
    json_decref(conds);
    json_decref(beh);
    return out;
}

json_t *conv_hpa_v2_to_v1(const json_t *in)
{
    static const char *const drop[] = {ANN_METRICS, ANN_CURRENT, ANN_CONDITIONS, ANN_BEHAVIOR};
    json_t *out = json_object();
    json_object_set_new(out, "apiVersion", json_string("autoscaling/v1"));
    json_object_set_new(out, "kind", json_string("HorizontalPodAutoscaler"));
    json_t *md = meta_without(in, drop, 4);
    json_object_set_new(out, "metadata", md);
    json_t *spec = obj_get(in, "spec"), *st = obj_get(in, "status");
    json_t *os = json_object();
    cp(os, spec, "scaleTargetRef", "scaleTargetRef");
    cp(os, spec, "minReplicas", "minReplicas");
    cp(os, spec, "maxReplicas", "maxReplicas");
    json_t *other = json_array();
    size_t i;
    json_t *m;
    bool cpu_seen = false;
    json_array_foreach(obj_get(spec, "metrics"), i, m)
    {
        json_t *util = obj_get(obj_get(obj_get(m, "resource"), "target"), "averageUtilization");
        if (is_cpu_resource(m) && !cpu_seen) {
            cpu_seen = true;
            if (util && !json_is_null(util))
                json_object_set_new(os, "targetCPUUtilizationPercentage", json_deep_copy(util));
        }
        if (is_cpu_resource(m) && util && !json_is_null(util))
            continue;
        json_array_append_new(other, metric_to_v1(m, "target"));
    }
    json_object_set_new(out, "spec", os);
    json_t *ost = json_object();
    cp(ost, st, "observedGeneration", "observedGeneration");
    cp(ost, st, "lastScaleTime", "lastScaleTime");
    json_t *cr = obj_get(st, "currentReplicas"), *dr = obj_get(st, "desiredReplicas");
    json_object_set_new(ost, "currentReplicas", cr ? json_deep_copy(cr) : json_integer(0));
    json_object_set_new(ost, "desiredReplicas", dr ? json_deep_copy(dr) : json_integer(0));
    json_t *cur = json_array();
    json_array_foreach(obj_get(st, "currentMetrics"), i, m)
    {
        json_t *u = obj_get(obj_get(obj_get(m, "resource"), "current"), "averageUtilization");
        if (is_cpu_resource(m) && u && !json_is_null(u))
            json_object_set_new(ost, "currentCPUUtilizationPercentage", json_deep_copy(u));
        json_array_append_new(cur, metric_to_v1(m, "current"));
    }
    json_object_set_new(out, "status", ost);
    /* annotations in upstream's order: metrics, current metrics, behavior, conditions */
    if (json_array_size(other))
        set_annotation(md, ANN_METRICS, json_incref(other));
    if (json_array_size(cur))
        set_annotation(md, ANN_CURRENT, json_incref(cur));
    json_t *beh = obj_get(spec, "behavior");
    if (beh && !json_is_null(beh))
        set_annotation(md, ANN_BEHAVIOR, recase(beh, false));
    json_t *conds = obj_get(st, "conditions");
    if (json_array_size(conds))
        set_annotation(md, ANN_CONDITIONS, json_deep_copy(conds));
    json_decref(other);
    json_decref(cur);
    return out;
}

/* ---- events.k8s.io/v1 <-> core/v1 Event ------------------------------------------------ */

json_t *conv_event_to_core(const json_t *in)
{
    json_t *o = json_object();
    json_object_set_new(o, "apiVersion", json_string("v1"));
    json_object_set_new(o, "kind", json_string("Event"));
    json_object_set_new(o, "metadata", meta_without(in, NULL, 0));
    json_t *reg = obj_get(in, "regarding");
    json_object_set_new(o, "involvedObject", reg ? json_deep_copy(reg) : json_object());
    cp(o, in, "reason", "reason");
    cp(o, in, "message", "note");
    json_t *src = obj_get(in, "deprecatedSource");
    json_object_set_new(o, "source", src ? json_deep_copy(src) : json_object());
    cp_time(o, in, "firstTimestamp", "deprecatedFirstTimestamp");
    cp_time(o, in, "lastTimestamp", "deprecatedLastTimestamp");
    cp(o, in, "count", "deprecatedCount");
    cp(o, in, "type", "type");
    cp_time(o, in, "eventTime", "eventTime");
    cp(o, in, "series", "series");
    cp(o, in, "action", "action");
    cp(o, in, "related", "related");
    cp(o, in, "reportingComponent", "reportingController");
    cp(o, in, "reportingInstance", "reportingInstance");
    return o;
}

json_t *conv_event_from_core(const json_t *in)
{
    json_t *o = json_object();
    json_object_set_new(o, "apiVersion", json_string("events.k8s.io/v1"));
    json_object_set_new(o, "kind", json_string("Event"));
    json_object_set_new(o, "metadata", meta_without(in, NULL, 0));
    cp_time(o, in, "eventTime", "eventTime");
    cp(o, in, "series", "series");
    cp(o, in, "reportingController", "reportingComponent");
    cp(o, in, "reportingInstance", "reportingInstance");
    cp(o, in, "action", "action");
    cp(o, in, "reason", "reason");
    json_t *reg = obj_get(in, "involvedObject");
    json_object_set_new(o, "regarding", reg ? json_deep_copy(reg) : json_object());
    cp(o, in, "related", "related");
    cp(o, in, "note", "message");
    cp(o, in, "type", "type");
    json_t *src = obj_get(in, "source");
    json_object_set_new(o, "deprecatedSource", src ? json_deep_copy(src) : json_object());
    cp_time(o, in, "deprecatedFirstTimestamp", "firstTimestamp");
    cp_time(o, in, "deprecatedLastTimestamp", "lastTimestamp");
    json_t *c = obj_get(in, "count");
    if (json_integer_value(c) != 0)
        json_object_set_new(o, "deprecatedCount", json_deep_copy(c));
    return o;
}

/* ---- flowcontrol v1beta3 <-> v1 ---------------------------------------------------------- */

static json_t *flow_convert(const struct reg_resource *to, const json_t *in, bool to_v1beta3)
{
    json_t *o = json_deep_copy(in);
    json_object_set_new(o, "apiVersion", json_string(to->api_version));
    if (strcmp(to->plural, "prioritylevelconfigurations") != 0)
        return o;
    json_t *md = json_object_get(o, "metadata");
    json_t *lim = obj_get(obj_get(o, "spec"), "limited");
    if (to_v1beta3) {
        /* a zero nominalConcurrencyShares must survive v1beta3's defaulting (0 -> 30) */
        json_t *ncs = obj_get(lim, "nominalConcurrencyShares");
        if (lim && json_is_integer(ncs) && json_integer_value(ncs) == 0 && json_is_object(md)) {
            json_t *ann = json_object_get(md, "annotations");
            if (!json_is_object(ann)) {
                ann = json_object();
                json_object_set_new(md, "annotations", ann);
            }
            json_object_set_new(ann, ANN_PRESERVE_ZERO, json_string(""));
        }
        return o;
    }
    json_t *ann = obj_get(md, "annotations");
    bool keep_zero = obj_get(ann, ANN_PRESERVE_ZERO) != NULL;
    if (json_is_object(ann)) {
        json_object_del(ann, ANN_PRESERVE_ZERO);
        if (json_object_size(ann) == 0)
            json_object_del(md, "annotations");
    }
    json_t *ncs = obj_get(lim, "nominalConcurrencyShares");
    if (json_is_object(lim) && !keep_zero && (!ncs || json_integer_value(ncs) == 0))
        json_object_set_new(lim, "nominalConcurrencyShares", json_integer(30));
    return o;
}

/* ---- dispatch ------------------------------------------------------------------------- */

static bool is(const struct reg_resource *r, const char *group, const char *plural)
{
    return strcmp(r->group, group) == 0 && strcmp(r->plural, plural) == 0;
}

json_t *conv_to_storage(const struct reg_resource *view, const json_t *obj, struct ck_err *err)
{
    if (!json_is_object(obj) || !view->storage)
        return json_deep_copy(obj);
    if (is(view, "autoscaling", "horizontalpodautoscalers"))
        return conv_hpa_v1_to_v2(obj, err);
    if (is(view, "events.k8s.io", "events"))
        return conv_event_to_core(obj);
    if (strcmp(view->group, "flowcontrol.apiserver.k8s.io") == 0)
        return flow_convert(view->storage, obj, false);
    json_t *o = json_deep_copy(obj);
    json_object_set_new(o, "apiVersion", json_string(view->storage->api_version));
    return o;
}

json_t *conv_from_storage(const struct reg_resource *view, const json_t *obj)
{
    if (!json_is_object(obj) || !view->storage)
        return json_deep_copy(obj);
    if (is(view, "autoscaling", "horizontalpodautoscalers"))
        return conv_hpa_v2_to_v1(obj);
    if (is(view, "events.k8s.io", "events"))
        return conv_event_from_core(obj);
    if (strcmp(view->group, "flowcontrol.apiserver.k8s.io") == 0)
        return flow_convert(view, obj, true);
    json_t *o = json_deep_copy(obj);
    json_object_set_new(o, "apiVersion", json_string(view->api_version));
    return o;
}

const char *conv_field_label(const struct reg_resource *view, const char *name)
{
    if (!is(view, "events.k8s.io", "events"))
        return name;
    static const char *const map[][2] = {
        {"reason", "reason"},
        {"regarding.kind", "involvedObject.kind"},
        {"regarding.namespace", "involvedObject.namespace"},
        {"regarding.name", "involvedObject.name"},
        {"regarding.uid", "involvedObject.uid"},
        {"regarding.apiVersion", "involvedObject.apiVersion"},
        {"regarding.resourceVersion", "involvedObject.resourceVersion"},
        {"regarding.fieldPath", "involvedObject.fieldPath"},
        {"reportingController", "reportingComponent"},
        {"type", "type"},
        {"metadata.namespace", "metadata.namespace"},
        {"metadata.name", "metadata.name"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i][0], name) == 0)
            return map[i][1];
    return NULL;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Validation of workloads (deployments, replicasets, daemonsets, statefulsets, jobs,
 * cronjobs with a robfig/cron-compatible schedule check): selectors, template labels,
 * replicas, strategies and the update immutability rules, with upstream's messages. */
#include "apiserver/registry/validation.h"

#include "apiserver/registry/printers.h"
#include "lib/buf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char not_match_msg[] = "`selector` does not match template `labels`";

static size_t obj_n(const json_t *o)
{
    return json_is_object(o) ? json_object_size(o) : 0;
}

static size_t arr_n(const json_t *a)
{
    return json_is_array(a) ? json_array_size(a) : 0;
}

static void invalid_selector(struct vld *v, const char *field, const json_t *sel, const char *detail)
{
    char *repr = vld_go_selector(sel);
    vld_invalid_repr(v, field, repr, detail);
    free(repr);
}

static void template_labels_mismatch(struct vld *v, const char *field, const json_t *tmpl)
{
    char *repr = vld_go_map(printer_jget(tmpl, "metadata.labels"));
    vld_invalid_repr(v, field, repr, not_match_msg);
    free(repr);
}

/* Required / label-selector / empty checks shared by deployments, replicasets, statefulsets. */
static void selector_required(struct vld *v, const json_t *spec, const char *what)
{
    json_t *sel = json_object_get(spec, "selector");
    if (!json_is_object(sel)) {
        vld_required(v, "spec.selector", "");
        return;
    }
    vld_label_selector(v, "spec.selector", sel);
    if (obj_n(json_object_get(sel, "matchLabels")) + arr_n(json_object_get(sel, "matchExpressions")) == 0) {
        char *d = ck_asprintf("empty selector is invalid for %s", what);
        invalid_selector(v, "spec.selector", sel, d);
        free(d);
    }
}

static bool selector_empty(const json_t *sel)
{
    return json_is_object(sel) &&
           obj_n(json_object_get(sel, "matchLabels")) + arr_n(json_object_get(sel, "matchExpressions")) == 0;
}

/* ValidatePodTemplateSpecForReplicaSet (and the DaemonSet / StatefulSet variants). */
static void template_for_controller(struct vld *v, const json_t *spec, const char *kind_word)
{
    json_t *sel = json_object_get(spec, "selector"), *tmpl = json_object_get(spec, "template");
    if (!json_is_object(tmpl)) {
        vld_required(v, "spec.template", "");
        return;
    }
    if (!selector_empty(sel) && !vld_selector_matches(sel, printer_jget(tmpl, "metadata.labels")))
        template_labels_mismatch(v, "spec.template.metadata.labels", tmpl);
    vld_pod_template(v, "spec.template", tmpl);
    const char *rp = printer_jstr(tmpl, "spec.restartPolicy");
    if (strcmp(rp, "Always") != 0) {
        static const char *const always[] = {"Always"};
        vld_not_supported(v, "spec.template.spec.restartPolicy", rp, always, 1);
    }
    if (printer_jget(tmpl, "spec.activeDeadlineSeconds")) {
        char *d = ck_asprintf("activeDeadlineSeconds in %s is not Supported", kind_word);
        vld_forbidden(v, "spec.template.spec.activeDeadlineSeconds", d);
        free(d);
    }
}

/* IntOrString as Go's %#v of intstr.IntOrString. */
static char *go_intstr(const json_t *x)
{
    if (json_is_string(x)) {
        char *q = vld_quote(json_string_value(x));
        char *r = ck_asprintf("intstr.IntOrString{Type:1, IntVal:0, StrVal:%s}", q);
        free(q);
        return r;
    }
    return ck_asprintf("intstr.IntOrString{Type:0, IntVal:%lld, StrVal:\"\"}",
                       json_is_integer(x) ? (long long)json_integer_value(x) : 0LL);
}

/* Returns the int or percent value; *bad set when the percent string is malformed. */
static long long intstr_value(const json_t *x, bool *is_percent, bool *bad)
{
    *is_percent = false;
    *bad = false;
    if (json_is_integer(x))
        return (long long)json_integer_value(x);
    const char *s = json_string_value(x);
    if (!s)
        return 0;
    size_t n = strlen(s);
    bool ok = n >= 2 && s[n - 1] == '%';
    for (size_t i = 0; ok && i + 1 < n; i++)
        ok = isdigit((unsigned char)s[i]) != 0;
    if (!ok) {
        *bad = true;
        return 0;
    }
    *is_percent = true;
    return strtoll(s, NULL, 10);
}

static void positive_int_or_percent(struct vld *v, const char *field, const json_t *x)
{
    bool pct, bad;
    long long val = intstr_value(x, &pct, &bad);
    char *repr = go_intstr(x);
    if (bad)
        vld_invalid_repr(v, field, repr,
                         "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  "
                         "or '93%', regex used for validation is '[0-9]+%')");
    else if (!pct && val < 0)
        vld_invalid_int(v, field, val, "must be greater than or equal to 0");
    free(repr);
}

static void not_more_than_100(struct vld *v, const char *field, const json_t *x)
{
    bool pct, bad;
    long long val = intstr_value(x, &pct, &bad);
    if (pct && val > 100) {
        char *repr = go_intstr(x);
        vld_invalid_repr(v, field, repr, "must not be greater than 100%");
        free(repr);
    }
}

static void deployment_strategy(struct vld *v, const json_t *st)
{
    static const char *const types[] = {"Recreate", "RollingUpdate"};
    const char *type = printer_jstr(st, "type");
    json_t *ru = json_object_get(st, "rollingUpdate");
    if (!strcmp(type, "Recreate")) {
        if (ru)
            vld_forbidden(v, "spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'");
    } else if (!strcmp(type, "RollingUpdate")) {
        if (!json_is_object(ru)) {
            vld_required(v, "spec.strategy.rollingUpdate", "this should be defaulted and never be nil");
            return;
        }
        json_t *mu = json_object_get(ru, "maxUnavailable"), *ms = json_object_get(ru, "maxSurge");
        positive_int_or_percent(v, "spec.strategy.rollingUpdate.maxUnavailable", mu);
        positive_int_or_percent(v, "spec.strategy.rollingUpdate.maxSurge", ms);
        bool p, b;
        if (intstr_value(mu, &p, &b) == 0 && intstr_value(ms, &p, &b) == 0) {
            char *repr = go_intstr(mu);
            vld_invalid_repr(v, "spec.strategy.rollingUpdate.maxUnavailable", repr, "may not be 0 when `maxSurge` is 0");
            free(repr);
        }
        not_more_than_100(v, "spec.strategy.rollingUpdate.maxUnavailable", mu);
    } else {
        vld_not_supported(v, "spec.strategy", type, types, 2);
    }
}

void vld_deployment(struct vld *v, const json_t *obj, const json_t *old)
{
    json_t *spec = json_object_get(obj, "spec");
    vld_nonneg(v, "spec.replicas", spec, "replicas");
    selector_required(v, spec, "deployment");
    template_for_controller(v, spec, "ReplicaSet");
    deployment_strategy(v, json_object_get(spec, "strategy"));
    vld_nonneg(v, "spec.minReadySeconds", spec, "minReadySeconds");
    vld_nonneg(v, "spec.revisionHistoryLimit", spec, "revisionHistoryLimit");
    json_t *pds = json_object_get(spec, "progressDeadlineSeconds");
    if (json_is_integer(pds)) {
        vld_nonneg(v, "spec.progressDeadlineSeconds", spec, "progressDeadlineSeconds");
        if (json_integer_value(pds) <= printer_jint(spec, "minReadySeconds", 0))
            vld_invalid_int(v, "spec.progressDeadlineSeconds", (long long)json_integer_value(pds),
                            "must be greater than minReadySeconds");
    }
    json_t *osel = printer_jget(old, "spec.selector");
    if (old && !json_equal(osel, json_object_get(spec, "selector")))
        invalid_selector(v, "spec.selector", json_object_get(spec, "selector"), "field is immutable");
}

void vld_replicaset(struct vld *v, const json_t *obj, const json_t *old)
{
    json_t *spec = json_object_get(obj, "spec");
    vld_nonneg(v, "spec.replicas", spec, "replicas");
    vld_nonneg(v, "spec.minReadySeconds", spec, "minReadySeconds");
    selector_required(v, spec, "deployment");
    template_for_controller(v, spec, "ReplicaSet");
    json_t *osel = printer_jget(old, "spec.selector");
    if (old && !json_equal(osel, json_object_get(spec, "selector")))
        invalid_selector(v, "spec.selector", json_object_get(spec, "selector"), "field is immutable");
}

static void daemonset_strategy(struct vld *v, const json_t *st)
{
    static const char *const types[] = {"RollingUpdate", "OnDelete"};
    const char *type = printer_jstr(st, "type");
    if (!strcmp(type, "OnDelete"))
        return;
    if (strcmp(type, "RollingUpdate") != 0) {
        vld_not_supported(v, "spec.updateStrategy", type, types, 2);
        return;
    }
    json_t *ru = json_object_get(st, "rollingUpdate");
    if (!json_is_object(ru)) {
        vld_required(v, "spec.updateStrategy.rollingUpdate", "");
        return;
    }
    json_t *mu = json_object_get(ru, "maxUnavailable"), *ms = json_object_get(ru, "maxSurge");
    positive_int_or_percent(v, "spec.updateStrategy.rollingUpdate.maxUnavailable", mu);
    positive_int_or_percent(v, "spec.updateStrategy.rollingUpdate.maxSurge", ms);
    not_more_than_100(v, "spec.updateStrategy.rollingUpdate.maxUnavailable", mu);
    not_more_than_100(v, "spec.updateStrategy.rollingUpdate.maxSurge", ms);
    bool p, b;
    bool has_u = intstr_value(mu, &p, &b) != 0, has_s = intstr_value(ms, &p, &b) != 0;
    if (has_u && has_s) {
        char *repr = go_intstr(ms);
        vld_invalid_repr(v, "spec.updateStrategy.rollingUpdate.maxSurge", repr,
                         "may not be set when maxUnavailable is non-zero");
        free(repr);
    } else if (!has_u && !has_s) {
        vld_required(v, "spec.updateStrategy.rollingUpdate.maxUnavailable", "cannot be 0 when maxSurge is 0");
    }
}

void vld_daemonset(struct vld *v, const json_t *obj, const json_t *old)
{
    json_t *spec = json_object_get(obj, "spec");
    json_t *sel = json_object_get(spec, "selector"), *tmpl = json_object_get(spec, "template");
    vld_label_selector(v, "spec.selector", sel);
    if (!vld_selector_matches(sel, printer_jget(tmpl, "metadata.labels")))
        template_labels_mismatch(v, "spec.template.metadata.labels", tmpl);
    if (selector_empty(sel))
        invalid_selector(v, "spec.selector", sel, "empty selector is invalid for daemonset");
    vld_pod_template(v, "spec.template", tmpl);
    const char *rp = printer_jstr(tmpl, "spec.restartPolicy");
    if (strcmp(rp, "Always") != 0) {
        static const char *const always[] = {"Always"};
        vld_not_supported(v, "spec.template.spec.restartPolicy", rp, always, 1);
    }
    if (printer_jget(tmpl, "spec.activeDeadlineSeconds"))
        vld_forbidden(v, "spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in DaemonSet is not Supported");
    vld_nonneg(v, "spec.minReadySeconds", spec, "minReadySeconds");
    daemonset_strategy(v, json_object_get(spec, "updateStrategy"));
    vld_nonneg(v, "spec.revisionHistoryLimit", spec, "revisionHistoryLimit");
    json_t *osel = printer_jget(old, "spec.selector");
    if (old && !json_equal(osel, sel))
        invalid_selector(v, "spec.selector", sel, "field is immutable");
}

static void statefulset_update(struct vld *v, const json_t *spec, const json_t *old_spec)
{
    static const char *const mutable_fields[] = {"replicas", "template", "updateStrategy", "minReadySeconds",
                                                 "ordinals", "persistentVolumeClaimRetentionPolicy"};
    json_t *a = json_deep_copy(spec), *b = json_deep_copy(old_spec);
    for (size_t i = 0; i < sizeof(mutable_fields) / sizeof(mutable_fields[0]); i++) {
        json_object_del(a, mutable_fields[i]);
        json_object_del(b, mutable_fields[i]);
    }
    if (!json_equal(a, b))
        vld_forbidden(v, "spec",
                      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                      "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden");
    json_decref(a);
    json_decref(b);
}

/* Containers may mount a volume named after a volumeClaimTemplate: the controller adds one
 * persistentVolumeClaim volume per template to each pod. Returns a copy of spec whose template
 * has those volumes (names not already among spec.template.spec.volumes), or NULL when there
 * are no claim templates. */
static json_t *statefulset_claim_volumes(const json_t *spec)
{
    json_t *claims = json_object_get(spec, "volumeClaimTemplates");
    if (!arr_n(claims) || !json_is_object(printer_jget(spec, "template.spec")))
        return NULL;
    json_t *copy = json_deep_copy(spec);
    json_t *pspec = printer_jget(copy, "template.spec");
    json_t *vols = json_object_get(pspec, "volumes");
    if (!json_is_array(vols)) {
        vols = json_array();
        json_object_set_new(pspec, "volumes", vols);
    }
    size_t nvols = json_array_size(vols);
    for (size_t i = 0; i < arr_n(claims); i++) {
        const char *name = printer_jstr(json_array_get(claims, i), "metadata.name");
        bool have = false;
        for (size_t j = 0; j < nvols && !have; j++)
            have = !strcmp(printer_jstr(json_array_get(vols, j), "name"), name);
        if (*name && !have)
            json_array_append_new(vols, json_pack("{s:s,s:{s:s}}", "name", name, "persistentVolumeClaim",
                                                  "claimName", name));
    }
    return copy;
}

void vld_statefulset(struct vld *v, const json_t *obj, const json_t *old)
{
    json_t *spec = json_object_get(obj, "spec");
    const char *pmp = printer_jstr(spec, "podManagementPolicy");
    if (!*pmp)
        vld_required(v, "spec.podManagementPolicy", "");
    else if (strcmp(pmp, "OrderedReady") && strcmp(pmp, "Parallel"))
        vld_invalid_str(v, "spec.podManagementPolicy", pmp, "must be 'OrderedReady' or 'Parallel'");
    const char *ut = printer_jstr(spec, "updateStrategy.type");
    if (!*ut)
        vld_required(v, "spec.updateStrategy", "");
    else if (!strcmp(ut, "OnDelete") && printer_jget(spec, "updateStrategy.rollingUpdate"))
        vld_invalid_repr(v, "spec.updateStrategy.rollingUpdate", "&apps.RollingUpdateStatefulSetStrategy{}",
                         "only allowed for updateStrategy 'RollingUpdate'");
    else if (strcmp(ut, "OnDelete") && strcmp(ut, "RollingUpdate"))
        vld_invalid_repr(v, "spec.updateStrategy", "apps.StatefulSetUpdateStrategy{}",
                         "must be 'RollingUpdate' or 'OnDelete'");
    vld_nonneg(v, "spec.updateStrategy.rollingUpdate.partition", printer_jget(spec, "updateStrategy.rollingUpdate"),
               "partition");
    vld_nonneg(v, "spec.replicas", spec, "replicas");
    vld_nonneg(v, "spec.minReadySeconds", spec, "minReadySeconds");
    selector_required(v, spec, "statefulset");
    json_t *with_claims = statefulset_claim_volumes(spec);
    template_for_controller(v, with_claims ? with_claims : spec, "StatefulSet");
    json_decref(with_claims);
    if (old)
        statefulset_update(v, spec, json_object_get(old, "spec"));
}

/* ---- jobs, cronjobs ---------------------------------------------------------------------- */

/* validateJobSpec minus the selector (shared with cronjob job templates). */
static void job_spec(struct vld *v, const char *path, const json_t *spec)
{
    static const char *const nonneg[] = {"parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
                                         "ttlSecondsAfterFinished"};
    char f[256];
    for (size_t i = 0; i < sizeof(nonneg) / sizeof(nonneg[0]); i++) {
        snprintf(f, sizeof(f), "%s.%s", path, nonneg[i]);
        vld_nonneg(v, f, spec, nonneg[i]);
    }
    json_t *cm = json_object_get(spec, "completionMode");
    if (json_is_string(cm)) {
        static const char *const modes[] = {"NonIndexed", "Indexed"};
        const char *m = json_string_value(cm);
        snprintf(f, sizeof(f), "%s.completionMode", path);
        if (strcmp(m, "NonIndexed") && strcmp(m, "Indexed"))
            vld_not_supported(v, f, m, modes, 2);
        snprintf(f, sizeof(f), "%s.completions", path);
        if (!strcmp(m, "Indexed") && !json_is_integer(json_object_get(spec, "completions")))
            vld_required(v, f, "when completion mode is Indexed");
    }
    json_t *tmpl = json_object_get(spec, "template");
    snprintf(f, sizeof(f), "%s.template", path);
    vld_pod_template(v, f, tmpl);
    const char *rp = printer_jstr(tmpl, "spec.restartPolicy");
    snprintf(f, sizeof(f), "%s.template.spec.restartPolicy", path);
    if (!*rp || !strcmp(rp, "Always")) {
        vld_required(v, f, "valid values: \"OnFailure\", \"Never\"");
    } else if (strcmp(rp, "OnFailure") && strcmp(rp, "Never")) {
        static const char *const valid[] = {"OnFailure", "Never"};
        vld_not_supported(v, f, rp, valid, 2);
    }
}

static char *go_int_ptr(const json_t *x)
{
    return json_is_integer(x) ? ck_asprintf("%lld", (long long)json_integer_value(x)) : ck_strdup("null");
}

void vld_job(struct vld *v, const json_t *obj, const json_t *old)
{
    json_t *spec = json_object_get(obj, "spec");
    json_t *sel = json_object_get(spec, "selector");
    bool manual = json_is_true(json_object_get(spec, "manualSelector"));
    job_spec(v, "spec", spec);
    if (!json_is_object(sel)) {
        if (manual) /* without manualSelector the selector is generated from the uid */
            vld_required(v, "spec.selector", "");
    } else {
        vld_label_selector(v, "spec.selector", sel);
        json_t *tmpl = json_object_get(spec, "template");
        if (!vld_selector_matches(sel, printer_jget(tmpl, "metadata.labels")))
            template_labels_mismatch(v, "spec.template.metadata.labels", tmpl);
    }
    if (!old)
        return;
    json_t *ospec = json_object_get(old, "spec");
    if (!json_equal(json_object_get(ospec, "completions"), json_object_get(spec, "completions"))) {
        char *r = go_int_ptr(json_object_get(spec, "completions"));
        vld_invalid_repr(v, "spec.completions", r, "field is immutable");
        free(r);
    }
    if (!json_equal(json_object_get(ospec, "selector"), sel))
        invalid_selector(v, "spec.selector", sel, "field is immutable");
    if (!json_equal(json_object_get(ospec, "template"), json_object_get(spec, "template")) &&
        !json_is_true(json_object_get(spec, "suspend")))
        vld_invalid_repr(v, "spec.template", "core.PodTemplateSpec{...}", "field is immutable");
    if (!json_equal(json_object_get(ospec, "completionMode"), json_object_get(spec, "completionMode"))) {
        char *q = vld_quote(printer_jstr(spec, "completionMode"));
        vld_invalid_repr(v, "spec.completionMode", q, "field is immutable");
        free(q);
    }
}

void vld_cronjob(struct vld *v, const json_t *obj, const json_t *old)
{
    static const char *const policies[] = {"Allow", "Forbid", "Replace"};
    json_t *spec = json_object_get(obj, "spec");
    const char *sched = printer_jstr(spec, "schedule");
    if (!*sched) {
        vld_required(v, "spec.schedule", "");
    } else {
        char msg[256];
        if (!validation_cron_ok(sched, msg, sizeof(msg)))
            vld_invalid_str(v, "spec.schedule", sched, msg);
        bool old_tz = old && strstr(printer_jstr(old, "spec.schedule"), "TZ");
        if (!old_tz && strstr(sched, "TZ"))
            vld_invalid_str(v, "spec.schedule", sched, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
    }
    vld_nonneg(v, "spec.startingDeadlineSeconds", spec, "startingDeadlineSeconds");
    const char *cp = printer_jstr(spec, "concurrencyPolicy");
    if (!*cp)
        vld_required(v, "spec.concurrencyPolicy", "");
    else if (strcmp(cp, "Allow") && strcmp(cp, "Forbid") && strcmp(cp, "Replace"))
        vld_not_supported(v, "spec.concurrencyPolicy", cp, policies, 3);
    json_t *jt = json_object_get(spec, "jobTemplate");
    job_spec(v, "spec.jobTemplate.spec", json_object_get(jt, "spec"));
    vld_labels(v, "spec.jobTemplate.metadata.labels", printer_jget(jt, "metadata.labels"));
    json_t *jsel = printer_jget(jt, "spec.selector");
    if (jsel)
        invalid_selector(v, "spec.jobTemplate.spec.selector", jsel, "`selector` will be auto-generated");
    vld_nonneg(v, "spec.successfulJobsHistoryLimit", spec, "successfulJobsHistoryLimit");
    vld_nonneg(v, "spec.failedJobsHistoryLimit", spec, "failedJobsHistoryLimit");
    const char *name = printer_jstr(obj, "metadata.name");
    if (!old && strlen(name) > 52)
        vld_invalid_str(v, "metadata.name", name, "must be no more than 52 characters");
}

/* ---- cron schedule (robfig/cron ParseStandard) -------------------------------------------- */

struct cron_field {
    int min, max;
    const char *const *names; /* index = value, NULL when numeric only */
};

static const char *const month_names[] = {"", "jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static bool cron_int(const char *s, size_t n, const struct cron_field *f, long *out, char *msg, size_t msz)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%.*s", (int)(n < 63 ? n : 63), s);
    for (size_t i = 0; f->names && f->names[i]; i++)
        if (*f->names[i] && !strcasecmp(buf, f->names[i])) {
            *out = (long)i;
            return true;
        }
    char *end;
    errno = 0;
    long v = strtol(buf, &end, 10);
    bool digits = *buf != 0;
    for (const char *p = (*buf == '+' || *buf == '-') ? buf + 1 : buf; *p; p++)
        digits &= isdigit((unsigned char)*p) != 0;
    if (!digits || *end || errno) {
        snprintf(msg, msz, "failed to parse int from %s: strconv.Atoi: parsing \"%s\": %s", buf, buf,
                 digits ? "value out of range" : "invalid syntax");
        return false;
    }
    if (v < 0) {
        snprintf(msg, msz, "negative number (%ld) not allowed: %s", v, buf);
        return false;
    }
    *out = v;
    return true;
}

/* One comma-separated part of a field: "*", "a", "a-b", with an optional "/step". */
static bool cron_range(const char *e, size_t n, const struct cron_field *f, char *msg, size_t msz)
{
    char expr[128];
    snprintf(expr, sizeof(expr), "%.*s", (int)(n < 127 ? n : 127), e);
    char *slash = strchr(expr, '/');
    if (slash && strchr(slash + 1, '/')) {
        snprintf(msg, msz, "too many slashes: %s", expr);
        return false;
    }
    size_t rlen = slash ? (size_t)(slash - expr) : strlen(expr);
    long start, end, step = 1;
    const char *dash = memchr(expr, '-', rlen);
    if ((rlen == 1 && (expr[0] == '*' || expr[0] == '?'))) {
        start = f->min;
        end = f->max;
    } else {
        if (dash && memchr(dash + 1, '-', rlen - (size_t)(dash + 1 - expr))) {
            snprintf(msg, msz, "too many hyphens: %s", expr);
            return false;
        }
        size_t l1 = dash ? (size_t)(dash - expr) : rlen;
        if (!cron_int(expr, l1, f, &start, msg, msz))
            return false;
        end = start;
        if (dash && !cron_int(dash + 1, rlen - l1 - 1, f, &end, msg, msz))
            return false;
    }
    if (slash) {
        if (!cron_int(slash + 1, strlen(slash + 1), &(struct cron_field){0, 0, NULL}, &step, msg, msz))
            return false;
        if (!dash && !(rlen == 1 && (expr[0] == '*' || expr[0] == '?')))
            end = f->max;
    }
    if (start < f->min)
        snprintf(msg, msz, "beginning of range (%ld) below minimum (%d): %s", start, f->min, expr);
    else if (end > f->max)
        snprintf(msg, msz, "end of range (%ld) above maximum (%d): %s", end, f->max, expr);
    else if (start > end)
        snprintf(msg, msz, "beginning of range (%ld) beyond end of range (%ld): %s", start, end, expr);
    else if (step == 0)
        snprintf(msg, msz, "step of range should be a positive number: %s", expr);
    else
        return true;
    return false;
}

bool validation_cron_ok(const char *sched, char *msg, size_t msz)
{
    static const struct cron_field fields[5] = {
        {0, 59, NULL}, {0, 23, NULL}, {1, 31, NULL}, {1, 12, month_names}, {0, 6, dow_names}};
    static const char *const descriptors[] = {"@yearly", "@annually", "@monthly", "@weekly",
                                              "@daily", "@midnight", "@hourly"};
    if (!*sched) {
        snprintf(msg, msz, "empty spec string");
        return false;
    }
    if (!strncmp(sched, "TZ=", 3) || !strncmp(sched, "CRON_TZ=", 8)) {
        const char *sp = strchr(sched, ' '); /* the location itself is not checked */
        if (!sp) {
            snprintf(msg, msz, "missing spec after timezone");
            return false;
        }
        return validation_cron_ok(sp + 1, msg, msz);
    }
    if (sched[0] == '@') {
        for (size_t i = 0; i < sizeof(descriptors) / sizeof(descriptors[0]); i++)
            if (!strcmp(sched, descriptors[i]))
                return true;
        if (!strncmp(sched, "@every ", 7))
            return true;
        snprintf(msg, msz, "unrecognized descriptor: %s", sched);
        return false;
    }
    const char *tok[16];
    size_t len[16], n = 0;
    for (const char *p = sched; *p;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (n < 16) {
            tok[n] = s;
            len[n] = (size_t)(p - s);
        }
        n++;
    }
    if (n != 5) {
        struct ck_buf b = CK_BUF_INIT(4096);
        for (size_t i = 0; i < n && i < 16; i++)
            ck_buf_appendf(&b, "%s%.*s", i ? " " : "", (int)len[i], tok[i]);
        snprintf(msg, msz, "expected exactly 5 fields, found %zu: [%s]", n, b.data ? b.data : "");
        ck_buf_release(&b);
        return false;
    }
    for (size_t i = 0; i < 5; i++) {
        const char *p = tok[i], *end = tok[i] + len[i];
        while (p <= end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *stop = comma ? comma : end;
            if (!cron_range(p, (size_t)(stop - p), &fields[i], msg, msz))
                return false;
            p = stop + 1;
        }
    }
    return true;
}

/* ---- pod disruption budgets ------------------------------------------------------------- */

void vld_pdb(struct vld *v, const json_t *obj, const json_t *old)
{
    static const char *const policies[] = {"AlwaysAllow", "IfHealthyBudget"};
    (void)old;
    json_t *spec = json_object_get(obj, "spec");
    json_t *min = json_object_get(spec, "minAvailable"), *max = json_object_get(spec, "maxUnavailable");
    if (min && max)
        vld_invalid_repr(v, "spec", "policy.PodDisruptionBudgetSpec{...}", "minAvailable and maxUnavailable cannot be both set");
    if (min) {
        positive_int_or_percent(v, "spec.minAvailable", min);
        not_more_than_100(v, "spec.minAvailable", min);
    }
    if (max) {
        positive_int_or_percent(v, "spec.maxUnavailable", max);
        not_more_than_100(v, "spec.maxUnavailable", max);
    }
    vld_label_selector(v, "spec.selector", json_object_get(spec, "selector"));
    json_t *p = json_object_get(spec, "unhealthyPodEvictionPolicy");
    if (json_is_string(p) && strcmp(json_string_value(p), "AlwaysAllow") && strcmp(json_string_value(p), "IfHealthyBudget"))
        vld_not_supported(v, "spec.unhealthyPodEvictionPolicy", json_string_value(p), policies, 2);
}

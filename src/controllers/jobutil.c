/* SPDX-License-Identifier: Apache-2.0 */
/* The Job controller's pure decisions: see jobutil.h. */
#include "controllers/jobutil.h"
#include "controllers/cm.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* ---- backoff ------------------------------------------------------------------------------ */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

void job_backoff_next(struct job_backoff *b, int64_t *succ, size_t nsucc, int64_t *fail,
                      size_t nfail)
{
    if (nsucc)
        qsort(succ, nsucc, sizeof(*succ), cmp_i64);
    if (nfail)
        qsort(fail, nfail, sizeof(*fail), cmp_i64);
    if (!nsucc) {
        if (!nfail)
            return;
        b->failures += (int)nfail;
        b->last_failure_ns = fail[nfail - 1];
        return;
    }
    b->failures = 0;
    b->last_failure_ns = 0;
    int64_t last_success = succ[nsucc - 1];
    for (size_t i = nfail; i-- > 0;) {
        if (fail[i] <= last_success)
            break;
        if (!b->last_failure_ns)
            b->last_failure_ns = fail[i];
        b->failures++;
    }
}

int64_t job_backoff_remaining_ns(int failures, int64_t last_failure_ns, int64_t now_ns)
{
    if (failures <= 0)
        return 0;
    int64_t d = JOB_BACKOFF_BASE_NS;
    for (int i = 1; i < failures; i++) {
        d *= 2;
        if (d >= JOB_BACKOFF_MAX_NS) {
            d = JOB_BACKOFF_MAX_NS;
            break;
        }
    }
    int64_t elapsed = now_ns - last_failure_ns;
    return d < elapsed ? 0 : d - elapsed;
}

int64_t job_pod_finished_ns(const json_t *pod)
{
    int64_t best = 0;
    bool all = true;
    size_t i;
    json_t *cs;
    json_t *lists[] = {k8s_jpath(pod, "status.containerStatuses")};
    json_array_foreach(lists[0], i, cs)
    {
        json_t *term = k8s_jpath(cs, "state.terminated");
        if (!json_is_object(term)) {
            all = false;
            break;
        }
        int64_t t = cm_jtime_ns(term, "finishedAt");
        if (t > best)
            best = t;
    }
    if (all && best)
        return best;
    json_t *c;
    json_array_foreach(k8s_jpath(pod, "status.conditions"), i, c)
    {
        if (!strcmp(k8s_jstr(c, "type"), "Ready") && !strcmp(k8s_jstr(c, "status"), "False")) {
            int64_t t = cm_jtime_ns(c, "lastTransitionTime");
            if (t)
                return t;
        }
    }
    int64_t del = cm_jtime_ns(pod, "metadata.deletionTimestamp");
    if (del)
        return del - cm_jint(pod, "metadata.deletionGracePeriodSeconds", 0) * 1000000000LL;
    return cm_jtime_ns(pod, "metadata.creationTimestamp");
}

/* ---- pods --------------------------------------------------------------------------------- */

bool job_only_replace_failed(const json_t *job)
{
    return !strcmp(k8s_jpath_str(job, "spec.podReplacementPolicy"), "Failed") ||
           json_is_object(k8s_jpath(job, "spec.podFailurePolicy"));
}

bool job_pod_failed(const json_t *pod, const json_t *job)
{
    const char *ph = k8s_pod_phase(pod);
    if (!strcmp(ph, "Failed"))
        return true;
    if (job_only_replace_failed(job))
        return false;
    return k8s_obj_deleting(pod) && strcmp(ph, "Succeeded");
}

bool job_pod_has_finalizer(const json_t *pod)
{
    size_t i;
    json_t *f;
    json_array_foreach(k8s_jpath(pod, "metadata.finalizers"), i, f)
    {
        if (json_is_string(f) && !strcmp(json_string_value(f), JOB_TRACKING_FINALIZER))
            return true;
    }
    return false;
}

static int parse_index(const char *s)
{
    if (!s || !*s)
        return -1;
    int64_t v;
    if (!k8s_parse_int64(s, &v) || v < 0 || v > 0x7fffffff)
        return -1;
    return (int)v;
}

int job_completion_index(const json_t *pod)
{
    return parse_index(k8s_obj_annotation(pod, JOB_INDEX_KEY));
}

bool job_past_backoff_on_failure(const json_t *job, const json_t *pods)
{
    if (strcmp(k8s_jpath_str(job, "spec.template.spec.restartPolicy"), "OnFailure"))
        return false;
    int64_t restarts = 0;
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        const char *ph = k8s_pod_phase(p);
        if (strcmp(ph, "Running") && strcmp(ph, "Pending"))
            continue;
        const char *lists[] = {"status.initContainerStatuses", "status.containerStatuses"};
        for (int l = 0; l < 2; l++) {
            size_t j;
            json_t *cs;
            json_array_foreach(k8s_jpath(p, lists[l]), j, cs)
            {
                restarts += cm_jint(cs, "restartCount", 0);
            }
        }
    }
    int64_t limit = cm_jint(job, "spec.backoffLimit", 6);
    return limit == 0 ? restarts > 0 : restarts >= limit;
}

void job_generate_name_with_index(const char *job, int index, char *out, size_t n)
{
    char suffix[24];
    snprintf(suffix, sizeof(suffix), "-%d-", index);
    size_t max = 58, sl = strlen(suffix), jl = strlen(job);
    if (jl + sl > max)
        jl = max > sl ? max - sl : 0;
    snprintf(out, n, "%.*s%s", (int)jl, job, suffix);
}

/* ---- backoffLimitPerIndex ----------------------------------------------------------------- */

static int count_annotation(const json_t *pod, const char *key)
{
    const char *v = k8s_obj_annotation(pod, key);
    int64_t n;
    if (!v || !k8s_parse_int64(v, &n) || n < 0 || n > 0x7fffffff)
        return 0;
    return (int)n;
}

int job_index_failure_count(const json_t *pod)
{
    return count_annotation(pod, JOB_INDEX_FAILURES);
}

int job_index_ignored_count(const json_t *pod)
{
    return count_annotation(pod, JOB_INDEX_IGNORED);
}

bool job_index_failed(const json_t *job, const json_t *pod)
{
    if (!job_pod_failed(pod, job))
        return false;
    bool counted = true;
    json_t *pfp = k8s_jpath(job, "spec.podFailurePolicy");
    if (json_is_object(pfp) && job_pfp_match(pfp, pod, &counted, NULL) == JOB_PFP_FAIL_INDEX)
        return true;
    return counted &&
           job_index_failure_count(pod) >= cm_jint(job, "spec.backoffLimitPerIndex", 0x7fffffff);
}

void job_new_index_counts(const json_t *job, const json_t *replaced, int *count, int *ignored)
{
    *count = *ignored = 0;
    if (!replaced)
        return;
    *count = job_index_failure_count(replaced);
    *ignored = job_index_ignored_count(replaced);
    bool counted = true;
    json_t *pfp = k8s_jpath(job, "spec.podFailurePolicy");
    if (json_is_object(pfp))
        job_pfp_match(pfp, replaced, &counted, NULL);
    if (counted)
        (*count)++;
    else
        (*ignored)++;
}

/* ---- podFailurePolicy --------------------------------------------------------------------- */

static const json_t *match_exit_codes(const json_t *statuses, const json_t *req)
{
    const char *cname = k8s_jstr(req, "containerName");
    bool in = !strcmp(k8s_jstr(req, "operator"), "In");
    size_t i;
    json_t *cs;
    json_array_foreach(statuses, i, cs)
    {
        json_t *term = k8s_jpath(cs, "state.terminated");
        if (!json_is_object(term))
            continue;
        if (*cname && strcmp(cname, k8s_jstr(cs, "name")))
            continue;
        int64_t code = cm_jint(term, "exitCode", 0);
        if (code == 0)
            continue;
        bool found = false;
        size_t j;
        json_t *v;
        json_array_foreach(json_object_get(req, "values"), j, v)
        {
            if (json_is_integer(v) && json_integer_value(v) == code)
                found = true;
        }
        if (found == in)
            return cs;
    }
    return NULL;
}

static const json_t *match_conditions(const json_t *pod, const json_t *patterns)
{
    size_t i;
    json_t *c;
    json_array_foreach(k8s_jpath(pod, "status.conditions"), i, c)
    {
        size_t j;
        json_t *p;
        json_array_foreach(patterns, j, p)
        {
            const char *st = k8s_jstr(p, "status");
            if (!strcmp(k8s_jstr(c, "type"), k8s_jstr(p, "type")) &&
                !strcmp(k8s_jstr(c, "status"), *st ? st : "True"))
                return c;
        }
    }
    return NULL;
}

enum job_pfp_action job_pfp_match(const json_t *policy, const json_t *pod, bool *count, char **msg)
{
    *count = true;
    if (msg)
        *msg = NULL;
    size_t i;
    json_t *rule;
    json_array_foreach(json_object_get(policy, "rules"), i, rule)
    {
        const char *action = k8s_jstr(rule, "action");
        json_t *oec = json_object_get(rule, "onExitCodes");
        json_t *opc = json_object_get(rule, "onPodConditions");
        const json_t *cs = NULL, *cond = NULL;
        if (json_is_object(oec)) {
            cs = match_exit_codes(k8s_jpath(pod, "status.containerStatuses"), oec);
            if (!cs)
                cs = match_exit_codes(k8s_jpath(pod, "status.initContainerStatuses"), oec);
            if (!cs)
                continue;
        } else if (json_is_array(opc)) {
            cond = match_conditions(pod, opc);
            if (!cond)
                continue;
        } else {
            continue;
        }
        if (!strcmp(action, "Ignore")) {
            *count = false;
            return JOB_PFP_IGNORE;
        }
        if (!strcmp(action, "FailIndex"))
            return JOB_PFP_FAIL_INDEX;
        if (!strcmp(action, "Count"))
            return JOB_PFP_COUNT;
        if (!strcmp(action, "FailJob")) {
            if (msg && cs)
                *msg = ck_asprintf("Container %s for pod %s/%s failed with exit code %lld matching "
                                   "FailJob rule at index %zu",
                                   k8s_jstr(cs, "name"), k8s_obj_namespace(pod), k8s_obj_name(pod),
                                   (long long)cm_jint(cs, "state.terminated.exitCode", 0), i);
            else if (msg)
                *msg = ck_asprintf("Pod %s/%s has condition %s matching FailJob rule at index %zu",
                                   k8s_obj_namespace(pod), k8s_obj_name(pod),
                                   k8s_jstr(cond, "type"), i);
            return JOB_PFP_FAIL_JOB;
        }
    }
    return JOB_PFP_NONE;
}

/* ---- completion indexes ------------------------------------------------------------------- */

void job_ixset_parse(struct job_ixset *s, const char *str, int n)
{
    s->n = n > 0 ? n : 0;
    s->has = ck_calloc((size_t)s->n + 1, 1);
    const char *p = str ? str : "";
    while (*p) {
        char *end;
        long a = strtol(p, &end, 10), b;
        if (end == p)
            goto skip;
        b = a;
        if (*end == '-') {
            const char *q = end + 1;
            b = strtol(q, &end, 10);
            if (end == q)
                goto skip;
        }
        for (long x = a < 0 ? 0 : a; x <= b && x < s->n; x++)
            s->has[x] = 1;
        p = end;
    skip:
        while (*p && *p != ',')
            p++;
        if (*p == ',')
            p++;
    }
}

void job_ixset_free(struct job_ixset *s)
{
    free(s->has);
    s->has = NULL;
    s->n = 0;
}

int job_ixset_total(const struct job_ixset *s)
{
    int t = 0;
    for (int i = 0; i < s->n; i++)
        t += s->has[i];
    return t;
}

char *job_ixset_string(const struct job_ixset *s)
{
    struct ck_buf b = CK_BUF_INIT(16u << 20);
    for (int i = 0; i < s->n;) {
        if (!s->has[i]) {
            i++;
            continue;
        }
        int j = i;
        while (j + 1 < s->n && s->has[j + 1])
            j++;
        if (b.len)
            ck_buf_appendf(&b, ",");
        if (j == i)
            ck_buf_appendf(&b, "%d", i);
        else /* orderedIntervals.String: a pair is "i,j", longer runs "i-j" */
            ck_buf_appendf(&b, "%d%c%d", i, j == i + 1 ? ',' : '-', j);
        i = j + 1;
    }
    if (!b.len)
        return ck_strdup("");
    return ck_buf_detach(&b, NULL);
}

char *job_success_policy_match(const json_t *policy, const struct job_ixset *succeeded)
{
    if (!json_is_object(policy) || job_ixset_total(succeeded) == 0)
        return NULL;
    size_t i;
    json_t *rule;
    json_array_foreach(json_object_get(policy, "rules"), i, rule)
    {
        json_t *ix = json_object_get(rule, "succeededIndexes");
        json_t *cnt = json_object_get(rule, "succeededCount");
        bool met = false;
        if (json_is_string(ix)) {
            struct job_ixset req;
            job_ixset_parse(&req, json_string_value(ix), succeeded->n);
            int want = job_ixset_total(&req), have = 0;
            for (int k = 0; k < req.n; k++)
                have += req.has[k] && succeeded->has[k];
            job_ixset_free(&req);
            if (want == 0) /* unparseable: the rule is skipped */
                continue;
            met = have == want || (json_is_integer(cnt) && have >= json_integer_value(cnt));
        } else if (json_is_integer(cnt)) {
            met = job_ixset_total(succeeded) >= json_integer_value(cnt);
        }
        if (met)
            return ck_asprintf("Matched rules at index %zu", i);
    }
    return NULL;
}

/* ---- conditions --------------------------------------------------------------------------- */

json_t *job_true_condition(const json_t *job, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(k8s_jpath(job, "status.conditions"), i, c)
    {
        if (!strcmp(k8s_jstr(c, "type"), type) && !strcmp(k8s_jstr(c, "status"), "True"))
            return c;
    }
    return NULL;
}

bool job_is_finished(const json_t *job)
{
    return job_true_condition(job, "Complete") || job_true_condition(job, "Failed");
}

json_t *job_condition(const char *type, const char *status, const char *reason, const char *msg,
                      const char *now)
{
    json_t *c = json_pack("{s:s,s:s,s:s,s:s}", "type", type, "status", status, "lastProbeTime", now,
                          "lastTransitionTime", now);
    if (reason && *reason)
        json_object_set_new(c, "reason", json_string(reason));
    if (msg && *msg)
        json_object_set_new(c, "message", json_string(msg));
    return c;
}

bool job_ensure_condition(json_t *status, const char *type, const char *cstatus, const char *reason,
                          const char *msg, const char *now)
{
    json_t *conds = json_object_get(status, "conditions");
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c)
    {
        if (strcmp(k8s_jstr(c, "type"), type))
            continue;
        if (strcmp(k8s_jstr(c, "status"), cstatus) || strcmp(k8s_jstr(c, "reason"), reason) ||
            strcmp(k8s_jstr(c, "message"), msg)) {
            json_array_set_new(conds, i, job_condition(type, cstatus, reason, msg, now));
            return true;
        }
        return false;
    }
    if (!strcmp(cstatus, "False"))
        return false;
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(status, "conditions", conds);
    }
    json_array_append_new(conds, job_condition(type, cstatus, reason, msg, now));
    return true;
}

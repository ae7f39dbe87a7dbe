/* SPDX-License-Identifier: Apache-2.0 */
/* trackJobStatusAndRemoveFinalizers, flushUncountedAndRemoveFinalizers and enactJobFinished
 * (job_controller.go): finished pods go to status.uncountedTerminatedPods (written first),
 * then lose their tracking finalizer, then move to the counters; the interim FailureTarget /
 * SuccessCriteriaMet conditions are written before the finalizers go and the terminal
 * Failed / Complete condition once nothing is uncounted or terminating. */
#include "controllers/job_int.h"
#include "controllers/jobevent.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static json_t *status_of(struct jctx *x)
{
    return json_object_get(x->job, "status");
}

static json_t *uncounted_list(struct jctx *x, const char *which)
{
    json_t *st = status_of(x);
    json_t *u = json_object_get(st, "uncountedTerminatedPods");
    if (!json_is_object(u)) {
        u = json_object();
        json_object_set_new(st, "uncountedTerminatedPods", u);
    }
    json_t *l = json_object_get(u, which);
    if (!json_is_array(l)) {
        l = json_array();
        json_object_set_new(u, which, l);
    }
    return l;
}

/* cleanUncountedPodsWithoutFinalizers: uids whose pod lost its finalizer move to counters. */
static bool clean_uncounted(struct jctx *x, const struct ck_strmap *with_fin)
{
    bool changed = false;
    const char *which[] = {"succeeded", "failed"};
    for (int w = 0; w < 2; w++) {
        json_t *l = uncounted_list(x, which[w]);
        int64_t moved = 0;
        for (size_t i = 0; i < json_array_size(l);) {
            json_t *u = json_array_get(l, i);
            if (json_is_string(u) && ck_strmap_get(with_fin, json_string_value(u), NULL)) {
                i++;
                continue;
            }
            json_array_remove(l, i);
            moved++;
        }
        if (moved) {
            changed = true;
            json_t *st = status_of(x);
            json_object_set_new(st, which[w], json_integer(cm_jint(st, which[w], 0) + moved));
        }
    }
    return changed;
}

static int update_status(struct jc *c, struct jctx *x)
{
    char *path = ck_asprintf("/apis/batch/v1/namespaces/%s/jobs/%s/status",
                             k8s_obj_namespace(x->job), k8s_obj_name(x->job));
    /* omitempty: an empty uid list is not written (upstream shows uncountedTerminatedPods: {}) */
    json_t *unc = json_object_get(status_of(x), "uncountedTerminatedPods");
    const char *which[] = {"succeeded", "failed"};
    for (int w = 0; w < 2; w++) {
        json_t *l = json_object_get(unc, which[w]);
        if (l && json_array_size(l) == 0)
            json_object_del(unc, which[w]);
    }
    json_t *ci = json_object_get(status_of(x), "completedIndexes");
    if (json_is_string(ci) && !*json_string_value(ci))
        json_object_del(status_of(x), "completedIndexes");
    json_t *out = NULL;
    struct ck_err err = CK_ERR_INIT;
    int rc = ck_client_update_json(c->cm->client, path, x->job, &out, &err);
    free(path);
    if (rc < 0) {
        if (err.reason != CK_R_CONFLICT && err.reason != CK_R_NOT_FOUND)
            ck_warn("job %s status: %s", x->key, err.msg);
        return -1;
    }
    if (json_is_object(out)) {
        /* keep our status (the server may drop empty lists); take the new metadata */
        json_t *st = json_incref(status_of(x));
        json_decref(x->job);
        x->job = out;
        json_object_set_new(x->job, "status", st);
    } else {
        json_decref(out);
    }
    return 0;
}

/* recordJobFinished: the events of a Job that just finished. */
static void record_finished(struct jc *c, struct jctx *x)
{
    const char *type = k8s_jstr(x->finished, "type");
    ck_info("job %s: %s (%s)", x->key, type, k8s_jstr(x->finished, "reason"));
    if (!strcmp(type, "Complete")) {
        if (x->completions >= 0 && cm_jint(x->job, "status.succeeded", 0) > x->completions)
            jc_event(c->cm->client, x->job, "Job", "job-controller", true, "TooManySucceededPods",
                     "Too many succeeded pods running after completion count reached");
        jc_event(c->cm->client, x->job, "Job", "job-controller", false, "Completed",
                 "Job completed");
    } else {
        jc_event(c->cm->client, x->job, "Job", "job-controller", true,
                 k8s_jstr(x->finished, "reason"), "%s", k8s_jstr(x->finished, "message"));
    }
}

int jc_track(struct jc *c, struct jctx *x, bool needs)
{
    json_t *st = status_of(x);
    struct ck_strmap with_fin = CK_STRMAP_INIT;
    size_t i;
    json_t *p;
    json_array_foreach(x->pods, i, p)
    {
        if (job_pod_has_finalizer(p) && !jc_fin_expected(c, x->key, k8s_obj_uid(p)))
            ck_strmap_put(&with_fin, k8s_obj_uid(p), (void *)1);
    }
    if (clean_uncounted(x, &with_fin))
        needs = true;
    json_t *rm = json_array();
    json_t *pfp = k8s_jpath(x->job, "spec.podFailurePolicy");
    bool success_target =
        x->finished && !strcmp(k8s_jstr(x->finished, "type"), "SuccessCriteriaMet");
    bool fail_all = x->finished && !success_target;
    bool reached_max = false;
    int new_ix = 0;
    json_array_foreach(x->pods, i, p)
    {
        const char *uid = k8s_obj_uid(p);
        if (!job_pod_has_finalizer(p) || jc_fin_expected(c, x->key, uid))
            continue;
        bool failed = job_pod_failed(p, x->job);
        bool succeeded = !strcmp(k8s_pod_phase(p), "Succeeded");
        /* canRemoveFinalizer */
        if (!(k8s_obj_deleting(x->job) || x->finished || succeeded || failed))
            continue;
        if (!(k8s_obj_deleting(x->job) || x->finished || succeeded) && x->per_index) {
            int ix = job_completion_index(p); /* its replacement inherits the failure count */
            if (ix >= 0 && ix < x->completions && x->delayed[ix] == p)
                continue;
        }
        json_array_append(rm, p);
        if (succeeded && !jc_uncounted_has(x->job, "failed", uid)) {
            if (x->indexed) {
                int ix = job_completion_index(p);
                if (ix >= 0 && ix < x->completions && !x->prev_succ_ix.has[ix]) {
                    new_ix++;
                    needs = true;
                }
            } else if (!jc_uncounted_has(x->job, "succeeded", uid)) {
                needs = true;
                json_array_append_new(uncounted_list(x, "succeeded"), json_string(uid));
            }
        } else if (failed || fail_all) {
            int ix = job_completion_index(p);
            if (!jc_uncounted_has(x->job, "failed", uid) &&
                (!x->indexed || (ix >= 0 && ix < x->completions))) {
                bool count = true;
                if (json_is_object(pfp))
                    job_pfp_match(pfp, p, &count, NULL);
                if (count) {
                    needs = true;
                    json_array_append_new(uncounted_list(x, "failed"), json_string(uid));
                }
            }
        }
        if (new_ix + json_array_size(uncounted_list(x, "succeeded")) +
                json_array_size(uncounted_list(x, "failed")) >=
            JOB_MAX_UNCOUNTED) {
            reached_max = true;
            break;
        }
    }
    if (x->indexed) {
        char *s = job_ixset_string(&x->succ_ix);
        if (strcmp(s, k8s_jstr(st, "completedIndexes")))
            needs = true;
        json_object_set_new(st, "completedIndexes", json_string(s));
        json_object_set_new(st, "succeeded", json_integer(job_ixset_total(&x->succ_ix)));
        free(s);
    }
    if (x->per_index) {
        char *s = job_ixset_string(&x->fail_ix);
        if (!json_is_string(json_object_get(st, "failedIndexes")) ||
            strcmp(s, k8s_jstr(st, "failedIndexes")))
            needs = true;
        json_object_set_new(st, "failedIndexes", json_string(s));
        free(s);
    }
    if (x->finished && !strcmp(k8s_jstr(x->finished, "type"), "FailureTarget")) {
        json_t *conds = json_object_get(st, "conditions");
        if (!json_is_array(conds)) {
            conds = json_array();
            json_object_set_new(st, "conditions", conds);
        }
        json_array_append(conds, x->finished);
        needs = true;
        json_t *f = job_condition("Failed", "True", k8s_jstr(x->finished, "reason"),
                                  k8s_jstr(x->finished, "message"), x->now);
        json_decref(x->finished);
        x->finished = f;
    }
    if (success_target) {
        if (!job_true_condition(x->job, "SuccessCriteriaMet")) {
            json_t *conds = json_object_get(st, "conditions");
            if (!json_is_array(conds)) {
                conds = json_array();
                json_object_set_new(st, "conditions", conds);
            }
            json_array_append(conds, x->finished);
            needs = true;
        }
        json_t *f = job_condition("Complete", "True", k8s_jstr(x->finished, "reason"),
                                  k8s_jstr(x->finished, "message"), x->now);
        json_decref(x->finished);
        x->finished = f;
    }

    /* flushUncountedAndRemoveFinalizers */
    int rc = 0;
    if (needs) {
        if (update_status(c, x) < 0) {
            rc = -1;
            goto out;
        }
        jc_backoff_put(c, x->key, &x->backoff);
        needs = false;
    }
    bool rm_err = false;
    json_array_foreach(rm, i, p)
    {
        const char *uid = k8s_obj_uid(p);
        jc_fin_expect(c, x->key, uid);
        struct ck_err err = CK_ERR_INIT;
        if (jc_remove_finalizer(c, p, &err) < 0) {
            jc_fin_observed(c, x->key, uid);
            ck_warn("job %s: removing the tracking finalizer of %s: %s", x->key, k8s_obj_name(p),
                    err.msg);
            rm_err = true;
            continue;
        }
        ck_strmap_del(&with_fin, uid, NULL);
    }
    if (clean_uncounted(x, &with_fin))
        needs = true;
    if (rm_err) {
        if (needs)
            update_status(c, x);
        rc = -1;
        goto out;
    }
    /* enactJobFinished */
    bool finished = false;
    if (!reached_max && x->finished && !json_array_size(uncounted_list(x, "succeeded")) &&
        !json_array_size(uncounted_list(x, "failed")) && x->terminating == 0) {
        st = status_of(x);
        job_ensure_condition(st, k8s_jstr(x->finished, "type"), "True",
                             k8s_jstr(x->finished, "reason"), k8s_jstr(x->finished, "message"),
                             x->now);
        if (!strcmp(k8s_jstr(x->finished, "type"), "Complete"))
            json_object_set_new(st, "completionTime", json_string(x->now));
        finished = needs = true;
    }
    if (needs && update_status(c, x) < 0)
        rc = -1;
    else if (finished)
        record_finished(c, x);
    if (!reached_max && x->finished && !finished)
        wq_add_after(c->q, x->key, 1000000000LL); /* pods still terminating: look again */
out:
    json_decref(rm);
    ck_strmap_release(&with_fin);
    return rc;
}

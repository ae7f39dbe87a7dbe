/* SPDX-License-Identifier: Apache-2.0 */
/* syncJob and manageJob (job_controller.go): counts the Job's pods, decides whether it has
 * failed (backoffLimit, activeDeadlineSeconds, podFailurePolicy) or succeeded, creates or
 * deletes pods (backoff, parallelism, completions, indexes, suspend), then hands the status to
 * jc_track. */
#include "controllers/job_int.h"
#include "controllers/jobevent.h"
#include "controllers/rsutil.h"
#include "ckube/indexer.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/selector.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

bool jc_uncounted_has(const json_t *job, const char *which, const char *uid)
{
    json_t *l = json_object_get(k8s_jpath(job, "status.uncountedTerminatedPods"), which);
    size_t i;
    json_t *u;
    json_array_foreach(l, i, u)
    {
        if (json_is_string(u) && !strcmp(json_string_value(u), uid))
            return true;
    }
    return false;
}

static bool suspended(const json_t *job)
{
    return json_is_true(k8s_jpath(job, "spec.suspend"));
}

/* getValidPodsWithFilter: pods with the finalizer, not yet uncounted, with a valid index. */
static bool valid_new(struct jc *c, struct jctx *x, const json_t *p, const char *which)
{
    const char *uid = k8s_obj_uid(p);
    if (!job_pod_has_finalizer(p) || jc_uncounted_has(x->job, which, uid) ||
        jc_fin_expected(c, x->key, uid))
        return false;
    if (x->indexed) {
        int ix = job_completion_index(p);
        if (ix < 0 || ix >= x->completions)
            return false;
    }
    return true;
}

/* The pod for one creation (GetPodFromTemplate plus the Job's additions). New reference. */
static json_t *make_pod(const struct jctx *x, const json_t *job, int index)
{
    json_t *tmpl = json_deep_copy(k8s_jpath(job, "spec.template"));
    if (!json_is_object(tmpl)) {
        json_decref(tmpl);
        tmpl = json_object();
    }
    json_t *md = json_object_get(tmpl, "metadata");
    if (!json_is_object(md)) {
        md = json_object();
        json_object_set_new(tmpl, "metadata", md);
    }
    json_t *fins = json_object_get(md, "finalizers");
    if (!json_is_array(fins)) {
        fins = json_array();
        json_object_set_new(md, "finalizers", fins);
    }
    bool has = false;
    size_t i;
    json_t *f;
    json_array_foreach(fins, i, f)
    {
        if (json_is_string(f) && !strcmp(json_string_value(f), JOB_TRACKING_FINALIZER))
            has = true;
    }
    if (!has)
        json_array_append_new(fins, json_string(JOB_TRACKING_FINALIZER));
    char prefix[80];
    snprintf(prefix, sizeof(prefix), "%.56s-", k8s_obj_name(job));
    if (index >= 0) {
        char ix[16];
        snprintf(ix, sizeof(ix), "%d", index);
        const char *keys[] = {"annotations", "labels"};
        for (int k = 0; k < 2; k++) {
            json_t *m = json_object_get(md, keys[k]);
            if (!json_is_object(m)) {
                m = json_object();
                json_object_set_new(md, keys[k], m);
            }
            json_object_set_new(m, JOB_INDEX_KEY, json_string(ix));
        }
        if (x->per_index) { /* addIndexFailureCountAnnotation */
            int cnt, ign;
            job_new_index_counts(job, x->delayed[index], &cnt, &ign);
            json_t *ann = json_object_get(md, "annotations");
            char v[16];
            snprintf(v, sizeof(v), "%d", cnt);
            json_object_set_new(ann, JOB_INDEX_FAILURES, json_string(v));
            if (ign > 0) {
                snprintf(v, sizeof(v), "%d", ign);
                json_object_set_new(ann, JOB_INDEX_IGNORED, json_string(v));
            }
        }
        json_t *spec = json_object_get(tmpl, "spec");
        char *host = ck_asprintf("%s-%d", k8s_obj_name(job), index);
        if (json_is_object(spec))
            json_object_set_new(spec, "hostname", json_string(host));
        free(host);
        /* addCompletionIndexEnvVariables: JOB_COMPLETION_INDEX from the label (PodIndexLabel) */
        const char *lists[] = {"initContainers", "containers"};
        for (int l = 0; l < 2 && json_is_object(spec); l++) {
            json_t *ct;
            json_array_foreach(json_object_get(spec, lists[l]), i, ct)
            {
                json_t *env = json_object_get(ct, "env");
                bool present = false;
                size_t j;
                json_t *e;
                json_array_foreach(env, j, e)
                {
                    if (!strcmp(k8s_jstr(e, "name"), "JOB_COMPLETION_INDEX"))
                        present = true;
                }
                if (present)
                    continue;
                if (!json_is_array(env)) {
                    env = json_array();
                    json_object_set_new(ct, "env", env);
                }
                json_array_append_new(env,
                                      json_pack("{s:s,s:{s:{s:s}}}", "name", "JOB_COMPLETION_INDEX",
                                                "valueFrom", "fieldRef", "fieldPath",
                                                "metadata.labels['" JOB_INDEX_KEY "']"));
            }
        }
        job_generate_name_with_index(k8s_obj_name(job), index, prefix, sizeof(prefix));
    }
    json_t *ref = cm_controller_ref(job, "batch/v1", "Job");
    json_t *pod = cm_pod_from_template(tmpl, prefix, ref);
    json_decref(ref);
    json_decref(tmpl);
    return pod;
}

/* firstPendingIndexes: the lowest indexes neither succeeded nor held by an active pod. */
static int pending_indexes(struct jctx *x, int want, int *out)
{
    unsigned char *busy = ck_calloc((size_t)x->completions + 1, 1);
    size_t i;
    json_t *p;
    json_array_foreach(x->active, i, p)
    {
        int ix = job_completion_index(p);
        if (ix >= 0 && ix < x->completions)
            busy[ix] = 1;
    }
    /* with podReplacementPolicy Failed, terminating pods still hold their index */
    if (job_only_replace_failed(x->job)) {
        json_array_foreach(x->pods, i, p)
        {
            int ix = job_completion_index(p);
            if (k8s_obj_deleting(p) && !k8s_pod_is_terminal(p) && ix >= 0 && ix < x->completions)
                busy[ix] = 1;
        }
    }
    int n = 0;
    for (int ix = 0; ix < x->completions && n < want; ix++)
        if (!busy[ix] && !x->succ_ix.has[ix] && !(x->fail_ix.has && x->fail_ix.has[ix]))
            out[n++] = ix;
    free(busy);
    return n;
}

/* activePodsForRemoval: for Indexed jobs, pods with a bad, succeeded or repeated index first;
 * then the least advanced pods. New array. */
static json_t *pods_for_removal(struct jctx *x, int at_least)
{
    json_t *rm = json_array(), *left = json_array();
    if (x->indexed) {
        unsigned char *seen = ck_calloc((size_t)x->completions + 1, 1);
        size_t i;
        json_t *p;
        json_array_foreach(x->active, i, p)
        {
            int ix = job_completion_index(p);
            if (ix < 0 || ix >= x->completions || x->succ_ix.has[ix] || seen[ix]) {
                json_array_append(rm, p);
            } else {
                seen[ix] = 1;
                json_array_append(left, p);
            }
        }
        free(seen);
    } else {
        json_array_extend(left, x->active);
    }
    int64_t now = ck_real_ns();
    while ((int)json_array_size(rm) < at_least && json_array_size(left)) {
        size_t best = 0;
        for (size_t i = 1; i < json_array_size(left); i++)
            if (cm_pod_delete_before(json_array_get(left, i), 0, json_array_get(left, best), 0,
                                     now))
                best = i;
        json_array_append(rm, json_array_get(left, best));
        json_array_remove(left, best);
    }
    json_decref(left);
    return rm;
}

/* deleteJobPods: removes the finalizer, then deletes. Returns how many went; counts the
 * ready ones into *ready. */
static int delete_pods(struct jc *c, struct jctx *x, const json_t *pods, bool rm_finalizer,
                       int64_t *ready, struct ck_err *err)
{
    int ok = 0;
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        struct ck_err e = CK_ERR_INIT;
        char *pk = ck_meta_namespace_key(p);
        int rc = rm_finalizer ? jc_remove_finalizer(c, p, &e) : 0;
        if (rc == 0 && jc_delete_pod(c, p, &e) < 0 && e.reason != CK_R_NOT_FOUND)
            rc = -1;
        if (rc < 0) {
            if (rm_finalizer)
                cm_expect_deletion_observed(c->exp, x->key, pk);
            if (err->reason == CK_R_NONE)
                *err = e;
        } else {
            ok++;
            jc_event(c->cm->client, x->job, "Job", "job-controller", false, "SuccessfulDelete",
                     "Deleted pod: %s", k8s_obj_name(p));
        }
        if (k8s_pod_is_ready(p))
            (*ready)++;
        free(pk);
    }
    return ok;
}

/* manageJob: returns the new active count; -1 in *rc on a failed create or delete. */
static int64_t manage(struct jc *c, struct jctx *x, int *rc)
{
    const json_t *job = x->job;
    int64_t active = (int64_t)json_array_size(x->active);
    int64_t parallelism = cm_jint(job, "spec.parallelism", 1);
    struct ck_err err = CK_ERR_INIT;
    int64_t ready_gone = 0;
    if (suspended(job)) {
        json_t *del = pods_for_removal(x, (int)active);
        size_t nd = json_array_size(del);
        char **keys = ck_calloc(nd + 1, sizeof(char *));
        for (size_t i = 0; i < nd; i++)
            keys[i] = ck_meta_namespace_key(json_array_get(del, i));
        cm_expect_deletions(c->exp, x->key, (const char *const *)keys, (int)nd, ck_mono_ns());
        int gone = delete_pods(c, x, del, true, &ready_gone, &err);
        for (size_t i = 0; i < nd; i++)
            free(keys[i]);
        free(keys);
        json_decref(del);
        active -= gone;
        x->terminating += gone;
        x->ready -= ready_gone;
        *rc = err.reason != CK_R_NONE ? -1 : 0;
        return active;
    }
    int64_t want;
    if (x->completions < 0) {
        want = x->succeeded > 0 ? active : parallelism;
    } else {
        want = x->completions - x->succeeded;
        if (want > parallelism)
            want = parallelism;
        if (want < 0)
            want = 0;
    }
    int64_t rm_at_least = active - want > 0 ? active - want : 0;
    json_t *del = pods_for_removal(x, (int)rm_at_least);
    while (json_array_size(del) > JOB_MAX_CREATE_DELETE)
        json_array_remove(del, json_array_size(del) - 1);
    if (json_array_size(del)) {
        size_t nd = json_array_size(del);
        char **keys = ck_calloc(nd + 1, sizeof(char *));
        for (size_t i = 0; i < nd; i++)
            keys[i] = ck_meta_namespace_key(json_array_get(del, i));
        cm_expect_deletions(c->exp, x->key, (const char *const *)keys, (int)nd, ck_mono_ns());
        int gone = delete_pods(c, x, del, true, &ready_gone, &err);
        for (size_t i = 0; i < nd; i++)
            free(keys[i]);
        free(keys);
        json_decref(del);
        active -= gone;
        x->terminating += gone;
        x->ready -= ready_gone;
        *rc = err.reason != CK_R_NONE ? -1 : 0;
        return active;
    }
    json_decref(del);
    int64_t terminating = job_only_replace_failed(job) ? x->terminating : 0;
    int64_t diff = want - terminating - active;
    if (diff <= 0)
        return active;
    int64_t wait = x->per_index
                       ? 0
                       : job_backoff_remaining_ns(x->backoff.failures, x->backoff.last_failure_ns,
                                                  ck_real_ns());
    if (wait > 0) {
        ck_v(2, "job %s: pod creation backs off for %lld ms", x->key, (long long)(wait / 1000000));
        wq_add_after(c->q, x->key, wait);
        return 0 + active; /* upstream reports 0 here; the count is recomputed next sync */
    }
    if (diff > JOB_MAX_CREATE_DELETE)
        diff = JOB_MAX_CREATE_DELETE;
    int *ixs = NULL;
    if (x->indexed) {
        ixs = ck_calloc((size_t)diff + 1, sizeof(int));
        diff = pending_indexes(x, (int)diff, ixs);
        if (x->per_index) { /* getPodCreationInfoForIndependentIndexes */
            int64_t now = ck_real_ns(), min_wait = 0;
            int kept = 0;
            for (int k = 0; k < diff; k++) {
                const json_t *prev = x->delayed[ixs[k]];
                int64_t w = prev ? job_backoff_remaining_ns(job_index_failure_count(prev) +
                                                                job_index_ignored_count(prev) + 1,
                                                            job_pod_finished_ns(prev), now)
                                 : 0;
                if (w == 0)
                    ixs[kept++] = ixs[k];
                else if (!min_wait || w < min_wait)
                    min_wait = w;
            }
            if (diff > 0 && !kept) {
                wq_add_after(c->q, x->key, min_wait);
                free(ixs);
                return active;
            }
            diff = kept;
        }
    }
    cm_expect_creations(c->exp, x->key, (int)diff, ck_mono_ns());
    int batches[32];
    int nb = cm_slow_start_batches((int)diff, CM_SLOW_START_INITIAL, batches, 32);
    char *coll = ck_asprintf("/api/v1/namespaces/%s/pods", k8s_obj_namespace(job));
    int done = 0, created = 0;
    bool failed = false;
    json_t *plain = x->indexed ? NULL : make_pod(x, job, -1);
    for (int b = 0; b < nb && !failed; b++) {
        for (int i = 0; i < batches[b]; i++, done++) {
            json_t *pod = plain ? json_incref(plain) : make_pod(x, job, ixs[done]);
            struct ck_err e = CK_ERR_INIT;
            json_t *made = NULL;
            if (ck_client_create_json(c->cm->client, coll, pod, &made, &e) == 0) {
                created++;
                jc_event(c->cm->client, job, "Job", "job-controller", false, "SuccessfulCreate",
                         "Created pod: %s", k8s_obj_name(made));
            } else if (e.reason == CK_R_FORBIDDEN && strstr(e.msg, "being terminated")) {
                /* namespace terminating: ignored upstream; never observed */
                cm_expect_creation_observed(c->exp, x->key);
            } else {
                cm_expect_creation_observed(c->exp, x->key);
                jc_event(c->cm->client, job, "Job", "job-controller", true, "FailedCreate",
                         "Error creating: %s", e.msg);
                if (!failed)
                    err = e;
                failed = true;
            }
            json_decref(made);
            json_decref(pod);
        }
    }
    for (int i = done; i < diff; i++)
        cm_expect_creation_observed(c->exp, x->key); /* skipped after a failed batch */
    json_decref(plain);
    free(coll);
    free(ixs);
    if (failed) {
        ck_warn("job %s: creating pods: %s", x->key, err.msg);
        *rc = -1;
    }
    return active + created;
}

/* getPodsForJob: a pod adopted by this sync's claim (not controlled by the Job before) gets the
 * tracking finalizer, as upstream's adoption patch adds it. `before` lists the candidates. */
static void adopt_finalizers(struct jc *c, struct jctx *x, const json_t *before)
{
    size_t i;
    json_t *p;
    json_array_foreach(x->pods, i, p)
    {
        if (job_pod_has_finalizer(p) || k8s_obj_deleting(p))
            continue;
        bool owned_before = false;
        size_t j;
        json_t *b;
        json_array_foreach(before, j, b)
        {
            if (!strcmp(k8s_obj_uid(b), k8s_obj_uid(p)) &&
                k8s_obj_is_controlled_by(b, k8s_obj_uid(x->job)))
                owned_before = true;
        }
        if (owned_before)
            continue; /* its finalizer was removed after it was counted */
        json_t *patch = json_pack("{s:{s:[s]}}", "metadata", "finalizers", JOB_TRACKING_FINALIZER);
        char *path =
            ck_asprintf("/api/v1/namespaces/%s/pods/%s", k8s_obj_namespace(p), k8s_obj_name(p));
        json_t *out = NULL;
        struct ck_err err = CK_ERR_INIT;
        if (ck_client_patch_json(c->cm->client, path, "application/strategic-merge-patch+json",
                                 patch, &out, &err) == 0 &&
            json_is_object(out))
            json_array_set(x->pods, i, out);
        else
            ck_warn("job %s: adding the tracking finalizer to %s: %s", x->key, k8s_obj_name(p),
                    err.msg);
        json_decref(out);
        json_decref(patch);
        free(path);
    }
}

static void ctx_release(struct jctx *x)
{
    json_decref(x->job);
    json_decref(x->pods);
    json_decref(x->active);
    json_decref(x->finished);
    job_ixset_free(&x->succ_ix);
    job_ixset_free(&x->prev_succ_ix);
    job_ixset_free(&x->fail_ix);
    free(x->delayed);
}

/* getPodsWithDelayedDeletionPerIndex: per index, the latest failed pod (highest failure count)
 * whose finalizer stays until its replacement exists, so the count carries over. */
static void delayed_pods(struct jc *c, struct jctx *x)
{
    x->delayed = ck_calloc((size_t)x->completions + 1, sizeof(*x->delayed));
    unsigned char *act = ck_calloc((size_t)x->completions + 1, 1);
    size_t i;
    json_t *p;
    json_array_foreach(x->active, i, p)
    {
        int ix = job_completion_index(p);
        if (ix >= 0 && ix < x->completions)
            act[ix] = 1;
    }
    json_array_foreach(x->pods, i, p)
    {
        int ix = job_completion_index(p);
        if (!job_pod_has_finalizer(p) || jc_fin_expected(c, x->key, k8s_obj_uid(p)) || ix < 0 ||
            ix >= x->completions || !job_pod_failed(p, x->job) || x->succ_ix.has[ix] ||
            x->fail_ix.has[ix] || act[ix])
            continue;
        const json_t *prev = x->delayed[ix];
        if (!prev || (job_index_failure_count(prev) + job_index_ignored_count(prev) <=
                          job_index_failure_count(p) + job_index_ignored_count(p) &&
                      job_pod_finished_ns(p) >= job_pod_finished_ns(prev)))
            x->delayed[ix] = p;
    }
    free(act);
}

static json_t *failure_condition(const char *reason, const char *msg, const char *now)
{
    return job_condition("FailureTarget", "True", reason, msg, now);
}

int jc_sync_job(struct jc *c, const char *key, const json_t *cached)
{
    if (job_is_finished(cached)) {
        pthread_mutex_lock(&c->mu);
        free(ck_strmap_del(&c->backoff, key, NULL));
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    const char *mode = k8s_jpath_str(cached, "spec.completionMode");
    if (*mode && strcmp(mode, "NonIndexed") && strcmp(mode, "Indexed"))
        return 0; /* UnknownCompletionMode */
    const char *managed = k8s_jpath_str(cached, "spec.managedBy");
    if (*managed && strcmp(managed, "kubernetes.io/job-controller"))
        return 0; /* managed by another controller */
    struct jctx x = {.key = key, .job = json_deep_copy(cached)};
    cm_now(x.now);
    json_t *st = json_object_get(x.job, "status");
    if (!json_is_object(st)) {
        st = json_object();
        json_object_set_new(x.job, "status", st);
    }
    json_t *unc = json_object_get(st, "uncountedTerminatedPods");
    if (!json_is_object(unc))
        json_object_set_new(st, "uncountedTerminatedPods", json_object());
    x.indexed = !strcmp(mode, "Indexed");
    json_t *cv = k8s_jpath(x.job, "spec.completions");
    x.completions = json_is_integer(cv) ? (int)json_integer_value(cv) : -1;
    if (x.indexed && x.completions < 0)
        x.completions = 0;

    bool satisfied = cm_expect_satisfied(c->exp, key, ck_mono_ns());
    const char *ns = k8s_obj_namespace(x.job);
    struct sel *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (sel_from_label_selector(k8s_jpath(x.job, "spec.selector"), &s, &err) < 0) {
        ck_warn("job %s: selector: %s", key, err.msg);
        ctx_release(&x);
        return 0;
    }
    json_t *all = ck_indexer_by_index(ck_informer_indexer(c->cm->pods), "namespace", ns);
    char *coll = ck_asprintf("/api/v1/namespaces/%s/pods", ns);
    char *self = ck_asprintf("/apis/batch/v1/namespaces/%s/jobs/%s", ns, k8s_obj_name(x.job));
    x.pods = cm_claim(c->cm, x.job, "batch/v1", "Job", self, s, all, coll);
    adopt_finalizers(c, &x, all);
    free(coll);
    free(self);
    json_decref(all);
    sel_free(s);

    x.active = json_array();
    json_t *new_succ = json_array(), *new_fail = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(x.pods, i, p)
    {
        if (cm_pod_active(p)) {
            json_array_append(x.active, p);
            if (k8s_pod_is_ready(p))
                x.ready++;
        }
        if (k8s_obj_deleting(p) && !k8s_pod_is_terminal(p))
            x.terminating++;
        if (!strcmp(k8s_pod_phase(p), "Succeeded") && valid_new(c, &x, p, "succeeded"))
            json_array_append(new_succ, p);
        else if (job_pod_failed(p, x.job) && valid_new(c, &x, p, "failed"))
            json_array_append(new_fail, p);
    }
    int64_t active = (int64_t)json_array_size(x.active);
    json_t *pfp = k8s_jpath(x.job, "spec.podFailurePolicy");
    int64_t counted_fail = 0;
    json_array_foreach(new_fail, i, p)
    {
        bool count = true;
        if (json_is_object(pfp))
            job_pfp_match(pfp, p, &count, NULL);
        counted_fail += count;
    }
    x.succeeded = cm_jint(st, "succeeded", 0) + (int64_t)json_array_size(new_succ) +
                  (int64_t)json_array_size(
                      json_object_get(json_object_get(st, "uncountedTerminatedPods"), "succeeded"));
    x.failed = cm_jint(st, "failed", 0) + counted_fail +
               (int64_t)json_array_size(
                   json_object_get(json_object_get(st, "uncountedTerminatedPods"), "failed"));

    if (!json_is_string(json_object_get(st, "startTime")) && !suspended(x.job))
        json_object_set_new(st, "startTime", json_string(x.now));

    /* newBackoffRecord */
    x.backoff = jc_backoff_get(c, key);
    {
        size_t ns_ = json_array_size(new_succ), nf = json_array_size(new_fail);
        int64_t *ts = ck_calloc(ns_ + 1, sizeof(int64_t)), *tf = ck_calloc(nf + 1, sizeof(int64_t));
        json_array_foreach(new_succ, i, p) ts[i] = job_pod_finished_ns(p);
        json_array_foreach(new_fail, i, p) tf[i] = job_pod_finished_ns(p);
        job_backoff_next(&x.backoff, ts, ns_, tf, nf);
        free(ts);
        free(tf);
    }
    json_decref(new_succ);
    json_decref(new_fail);

    int64_t backoff_limit = cm_jint(x.job, "spec.backoffLimit", 6);
    json_t *scm = job_true_condition(x.job, "SuccessCriteriaMet");
    if (scm) /* success already decided: jc_track turns it into Complete */
        x.finished = json_deep_copy(scm);
    if (!x.finished) {
        json_t *ft = job_true_condition(x.job, "FailureTarget");
        if (ft) {
            x.finished = job_condition("Failed", "True", k8s_jstr(ft, "reason"),
                                       k8s_jstr(ft, "message"), x.now);
        } else if (json_is_object(pfp)) {
            json_array_foreach(x.pods, i, p)
            {
                bool count;
                char *msg = NULL;
                if (job_pod_failed(p, x.job) &&
                    job_pfp_match(pfp, p, &count, &msg) == JOB_PFP_FAIL_JOB) {
                    x.finished = failure_condition("PodFailurePolicy", msg, x.now);
                    free(msg);
                    break;
                }
                free(msg);
            }
        }
    }
    int64_t start_ns = cm_jtime_ns(st, "startTime");
    int64_t ads = cm_jint(x.job, "spec.activeDeadlineSeconds", -1);
    if (!x.finished) {
        if (x.failed > backoff_limit || job_past_backoff_on_failure(x.job, x.pods)) {
            x.finished = failure_condition("BackoffLimitExceeded",
                                           "Job has reached the specified backoff limit", x.now);
        } else if (ads >= 0 && start_ns && !suspended(x.job) &&
                   ck_real_ns() - start_ns >= ads * 1000000000LL) {
            x.finished = failure_condition("DeadlineExceeded",
                                           "Job was active longer than specified deadline", x.now);
        } else if (ads >= 0 && start_ns && !suspended(x.job)) {
            wq_add_after(c->q, key, start_ns + ads * 1000000000LL - ck_real_ns());
        }
    }
    if (x.indexed) {
        job_ixset_parse(&x.prev_succ_ix, k8s_jstr(st, "completedIndexes"), x.completions);
        job_ixset_parse(&x.succ_ix, k8s_jstr(st, "completedIndexes"), x.completions);
        json_array_foreach(x.pods, i, p)
        {
            int ix = job_completion_index(p);
            if (!strcmp(k8s_pod_phase(p), "Succeeded") && ix >= 0 && ix < x.completions &&
                job_pod_has_finalizer(p))
                x.succ_ix.has[ix] = 1;
        }
        x.succeeded = job_ixset_total(&x.succ_ix);
        x.per_index = json_is_integer(k8s_jpath(x.job, "spec.backoffLimitPerIndex"));
    }
    if (x.per_index) {
        job_ixset_parse(&x.fail_ix, k8s_jstr(st, "failedIndexes"), x.completions);
        json_array_foreach(x.pods, i, p)
        {
            int ix = job_completion_index(p);
            if (ix >= 0 && ix < x.completions && job_pod_has_finalizer(p) &&
                job_index_failed(x.job, p))
                x.fail_ix.has[ix] = 1;
        }
        int nf = job_ixset_total(&x.fail_ix);
        json_t *mfi = k8s_jpath(x.job, "spec.maxFailedIndexes");
        if (!x.finished && json_is_integer(mfi) && nf > json_integer_value(mfi))
            x.finished = failure_condition(
                "MaxFailedIndexesExceeded",
                "Job has exceeded the specified maximal number of failed indexes", x.now);
        else if (!x.finished && nf > 0 && nf + job_ixset_total(&x.succ_ix) >= x.completions)
            x.finished = failure_condition("FailedIndexes", "Job has failed indexes", x.now);
        delayed_pods(c, &x);
    }
    if (x.indexed && !x.finished) {
        char *msg = job_success_policy_match(k8s_jpath(x.job, "spec.successPolicy"), &x.succ_ix);
        if (msg)
            x.finished = job_condition("SuccessCriteriaMet", "True", "SuccessPolicy", msg, x.now);
        free(msg);
    }

    int manage_rc = 0;
    bool suspend_changed = false;
    if (x.finished) {
        /* deleteActivePods: keep the finalizers; tracking removes them */
        int64_t ready_gone = 0;
        int gone = delete_pods(c, &x, x.active, false, &ready_gone, &err);
        if (gone != active || !satisfied)
            json_decref(x.finished), x.finished = NULL;
        active -= gone;
        x.terminating += gone;
        x.ready -= ready_gone;
        manage_rc = gone != (int)json_array_size(x.active) ? -1 : 0;
    } else {
        bool called = false;
        if (satisfied && !k8s_obj_deleting(x.job)) {
            active = manage(c, &x, &manage_rc);
            called = true;
        }
        bool complete = x.completions < 0 && !x.indexed
                            ? x.succeeded > 0 && active == 0
                            : x.succeeded >= x.completions && active == 0;
        if (complete) {
            x.finished = job_condition("SuccessCriteriaMet", "True", "CompletionsReached",
                                       "Reached expected number of succeeded pods", x.now);
        } else if (called) {
            if (suspended(x.job)) {
                suspend_changed = job_ensure_condition(st, "Suspended", "True", "JobSuspended",
                                                       "Job suspended", x.now);
                if (suspend_changed)
                    jc_event(c->cm->client, x.job, "Job", "job-controller", false, "Suspended",
                             "Job suspended");
            } else {
                suspend_changed = job_ensure_condition(st, "Suspended", "False", "JobResumed",
                                                       "Job resumed", x.now);
                if (suspend_changed) {
                    jc_event(c->cm->client, x.job, "Job", "job-controller", false, "Resumed",
                             "Job resumed");
                    json_object_set_new(st, "startTime", json_string(x.now));
                }
            }
        }
    }
    bool needs = suspend_changed || active != cm_jint(st, "active", 0) ||
                 x.ready != cm_jint(st, "ready", -1) ||
                 x.terminating != cm_jint(st, "terminating", -1);
    json_object_set_new(st, "active", json_integer(active));
    json_object_set_new(st, "ready", json_integer(x.ready));
    json_object_set_new(st, "terminating", json_integer(x.terminating));
    int trc = jc_track(c, &x, needs);
    ctx_release(&x);
    return trc < 0 || manage_rc < 0 ? -1 : 0;
}

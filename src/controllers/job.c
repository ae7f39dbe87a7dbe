/* SPDX-License-Identifier: Apache-2.0 */
/* The Job controller (pkg/controller/job/job_controller.go): runs a Job's pods to completion.
 * Pods carry the batch.kubernetes.io/job-tracking finalizer; a finished pod is first recorded
 * in status.uncountedTerminatedPods, then its finalizer is removed, then it is moved to the
 * succeeded/failed counters, so no pod is counted twice or lost. Creation waits out the
 * 10 s .. 6 min backoff after failures; backoffLimit, activeDeadlineSeconds and the
 * podFailurePolicy add FailureTarget first and Failed once no pod is terminating; success
 * adds SuccessCriteriaMet, then Complete (upstream 1.33 with JobPodReplacementPolicy on).
 * NonIndexed and Indexed completion modes; suspend deletes the active pods. Decisions that
 * need no I/O are in jobutil.c; status tracking is in job_track.c. */
#include "controllers/job_int.h"
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

/* ---- finalizer expectations and backoff records ------------------------------------------- */

void jc_fin_expect(struct jc *c, const char *key, const char *uid)
{
    char *k = ck_asprintf("%s\x1f%s", key, uid);
    pthread_mutex_lock(&c->mu);
    ck_strmap_put(&c->fin, k, NULL);
    pthread_mutex_unlock(&c->mu);
    free(k);
}

void jc_fin_observed(struct jc *c, const char *key, const char *uid)
{
    char *k = ck_asprintf("%s\x1f%s", key, uid);
    pthread_mutex_lock(&c->mu);
    ck_strmap_del(&c->fin, k, NULL);
    pthread_mutex_unlock(&c->mu);
    free(k);
}

bool jc_fin_expected(struct jc *c, const char *key, const char *uid)
{
    char *k = ck_asprintf("%s\x1f%s", key, uid);
    bool found = false;
    pthread_mutex_lock(&c->mu);
    ck_strmap_get(&c->fin, k, &found);
    pthread_mutex_unlock(&c->mu);
    free(k);
    return found;
}

static void forget_job(struct jc *c, const char *key)
{
    size_t kl = strlen(key);
    pthread_mutex_lock(&c->mu);
    free(ck_strmap_del(&c->backoff, key, NULL));
    /* drop the job's finalizer expectations (collect first: no writes while iterating) */
    char **dead = NULL;
    size_t nd = 0;
    const char *k;
    void *v;
    for (size_t i = 0; ck_strmap_next(&c->fin, &i, &k, &v);) {
        if (!strncmp(k, key, kl) && k[kl] == '\x1f') {
            dead = ck_realloc(dead, (nd + 1) * sizeof(*dead));
            dead[nd++] = ck_strdup(k);
        }
    }
    for (size_t i = 0; i < nd; i++) {
        ck_strmap_del(&c->fin, dead[i], NULL);
        free(dead[i]);
    }
    free(dead);
    pthread_mutex_unlock(&c->mu);
    cm_expect_delete(c->exp, key);
}

struct job_backoff jc_backoff_get(struct jc *c, const char *key)
{
    struct job_backoff b = {0, 0};
    pthread_mutex_lock(&c->mu);
    struct job_backoff *p = ck_strmap_get(&c->backoff, key, NULL);
    if (p)
        b = *p;
    pthread_mutex_unlock(&c->mu);
    return b;
}

void jc_backoff_put(struct jc *c, const char *key, const struct job_backoff *b)
{
    struct job_backoff *n = ck_malloc(sizeof(*n));
    *n = *b;
    pthread_mutex_lock(&c->mu);
    free(ck_strmap_put(&c->backoff, key, n));
    pthread_mutex_unlock(&c->mu);
}

/* ---- event handlers ----------------------------------------------------------------------- */

/* The Job a pod's controller reference names, if cached with that uid. */
static json_t *resolve_ref(struct jc *c, const char *ns, const json_t *ref)
{
    return cm_resolve_controller_ref(c->jobs, "Job", ns, ref);
}

/* A pod whose Job is gone still carries the tracking finalizer: remove it (enqueueOrphanPod
 * + syncOrphanPod). */
static void orphan_pod(struct jc *c, const json_t *pod)
{
    if (!job_pod_has_finalizer(pod))
        return;
    const json_t *ref = k8s_obj_controller_of(pod);
    if (ref && strcmp(k8s_jstr(ref, "kind"), "Job"))
        return;
    char *k = ck_asprintf("%s%s/%s", JC_ORPHAN_PREFIX, k8s_obj_namespace(pod), k8s_obj_name(pod));
    wq_add(c->q, k);
    free(k);
}

static void pod_deleted(void *arg, json_t *pod)
{
    struct jc *c = arg;
    json_t *job = resolve_ref(c, k8s_obj_namespace(pod), k8s_obj_controller_of(pod));
    if (!job)
        return;
    char *jk = ck_meta_namespace_key(job), *pk = ck_meta_namespace_key(pod);
    cm_expect_deletion_observed(c->exp, jk, pk);
    jc_fin_observed(c, jk, k8s_obj_uid(pod));
    wq_add(c->q, jk);
    free(jk);
    free(pk);
    json_decref(job);
}

static void pod_added(void *arg, json_t *pod)
{
    struct jc *c = arg;
    json_t *job = resolve_ref(c, k8s_obj_namespace(pod), k8s_obj_controller_of(pod));
    if (!job) {
        orphan_pod(c, pod);
        return;
    }
    char *jk = ck_meta_namespace_key(job);
    if (k8s_obj_deleting(pod)) { /* addPod: a pod seen first while being deleted */
        char *pk = ck_meta_namespace_key(pod);
        cm_expect_deletion_observed(c->exp, jk, pk);
        free(pk);
    } else {
        cm_expect_creation_observed(c->exp, jk);
    }
    wq_add(c->q, jk);
    free(jk);
    json_decref(job);
}

static void pod_updated(void *arg, json_t *old, json_t *cur)
{
    struct jc *c = arg;
    if (!strcmp(k8s_jpath_str(old, "metadata.resourceVersion"),
                k8s_jpath_str(cur, "metadata.resourceVersion")))
        return;
    const json_t *oref = k8s_obj_controller_of(old), *cref = k8s_obj_controller_of(cur);
    json_t *job = resolve_ref(c, k8s_obj_namespace(cur), cref);
    if (!job) {
        orphan_pod(c, cur);
    } else {
        char *jk = ck_meta_namespace_key(job);
        if (k8s_obj_deleting(cur) && !k8s_obj_deleting(old)) {
            char *pk = ck_meta_namespace_key(cur);
            cm_expect_deletion_observed(c->exp, jk, pk);
            free(pk);
        }
        if (!job_pod_has_finalizer(cur))
            jc_fin_observed(c, jk, k8s_obj_uid(cur));
        /* a pod that became ready or finished: sync soon, not immediately (batch period) */
        wq_add_after(c->q, jk, JC_SYNC_BATCH_NS);
        free(jk);
        json_decref(job);
    }
    if (oref && (!cref || strcmp(k8s_jstr(oref, "uid"), k8s_jstr(cref, "uid")))) {
        json_t *oj = resolve_ref(c, k8s_obj_namespace(old), oref);
        if (oj)
            cm_enqueue_obj(c->q, oj);
        json_decref(oj);
    }
}

static void job_added(void *arg, json_t *job)
{
    cm_enqueue_obj(((struct jc *)arg)->q, job);
}

static void job_updated(void *arg, json_t *old, json_t *cur)
{
    struct jc *c = arg;
    cm_enqueue_obj(c->q, cur);
    /* activeDeadlineSeconds changed or the job resumed: requeue at the new deadline */
    int64_t ads = cm_jint(cur, "spec.activeDeadlineSeconds", -1);
    int64_t start = cm_jtime_ns(cur, "status.startTime");
    if (ads >= 0 && start &&
        !json_equal(k8s_jpath(old, "spec.activeDeadlineSeconds"),
                    k8s_jpath(cur, "spec.activeDeadlineSeconds"))) {
        int64_t left = start + ads * 1000000000LL - ck_real_ns();
        char *k = ck_meta_namespace_key(cur);
        wq_add_after(c->q, k, left > 0 ? left : 0);
        free(k);
    }
}

static void job_deleted(void *arg, json_t *job)
{
    struct jc *c = arg;
    cm_enqueue_obj(c->q, job);
    /* cleanupPodFinalizers: the deleted Job's pods lose their finalizers */
    json_t *pods =
        ck_indexer_by_index(ck_informer_indexer(c->cm->pods), "owner-uid", k8s_obj_uid(job));
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        if (k8s_obj_is_controlled_by(p, k8s_obj_uid(job)))
            orphan_pod(c, p);
    }
    json_decref(pods);
}

/* ---- pod operations ----------------------------------------------------------------------- */

int jc_remove_finalizer(struct jc *c, const json_t *pod, struct ck_err *err)
{
    if (!job_pod_has_finalizer(pod))
        return 0;
    json_t *patch = json_pack("{s:{s:[s]}}", "metadata", "$deleteFromPrimitiveList/finalizers",
                              JOB_TRACKING_FINALIZER);
    char *path =
        ck_asprintf("/api/v1/namespaces/%s/pods/%s", k8s_obj_namespace(pod), k8s_obj_name(pod));
    int rc = ck_client_patch_json(c->cm->client, path, "application/strategic-merge-patch+json",
                                  patch, NULL, err);
    if (rc < 0 && err->reason == CK_R_NOT_FOUND)
        rc = 0;
    free(path);
    json_decref(patch);
    return rc;
}

int jc_delete_pod(struct jc *c, const json_t *pod, struct ck_err *err)
{
    char *path =
        ck_asprintf("/api/v1/namespaces/%s/pods/%s", k8s_obj_namespace(pod), k8s_obj_name(pod));
    int rc = ck_client_delete(c->cm->client, path, err);
    free(path);
    return rc;
}

/* syncOrphanPod: the finalizer of a pod whose Job is gone or no longer claims it. */
static int sync_orphan(struct jc *c, const char *pkey)
{
    const char *slash = strchr(pkey, '/');
    if (!slash)
        return 0;
    char *ns = ck_strndup(pkey, (size_t)(slash - pkey));
    json_t *pod = cm_get(c->cm->pods, ns, slash + 1);
    int rc = 0;
    if (pod && job_pod_has_finalizer(pod)) {
        const json_t *ref = k8s_obj_controller_of(pod);
        json_t *job = ref ? resolve_ref(c, ns, ref) : NULL;
        if (!job || job_is_finished(job) || k8s_obj_deleting(job)) {
            struct ck_err err = CK_ERR_INIT;
            rc = jc_remove_finalizer(c, pod, &err);
        }
        json_decref(job);
    }
    json_decref(pod);
    free(ns);
    return rc;
}

static int sync_key(void *arg, const char *key)
{
    struct jc *c = arg;
    if (!strncmp(key, JC_ORPHAN_PREFIX, strlen(JC_ORPHAN_PREFIX)))
        return sync_orphan(c, key + strlen(JC_ORPHAN_PREFIX));
    const char *slash = strchr(key, '/');
    if (!slash)
        return 0;
    char *ns = ck_strndup(key, (size_t)(slash - key));
    json_t *job = cm_get(c->jobs, ns, slash + 1);
    free(ns);
    if (!job) {
        forget_job(c, key);
        return 0;
    }
    int rc = jc_sync_job(c, key, job);
    json_decref(job);
    return rc;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static int job_init(struct cm *cm, void **state)
{
    struct jc *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    c->jobs = ck_informer_factory_get(cm->factory, JC_JOBS_PATH);
    ck_indexer_add_index(ck_informer_indexer(c->jobs), "uid", cm_index_uid);
    c->q = wq_new(&(struct wq_opts){.name = "job"});
    c->exp = cm_expect_new();
    pthread_mutex_init(&c->mu, NULL);
    ck_informer_add_handlers(
        c->jobs, &(struct ck_informer_handlers){job_added, job_updated, job_deleted, c});
    ck_informer_add_handlers(
        cm->pods, &(struct ck_informer_handlers){pod_added, pod_updated, pod_deleted, c});
    *state = c;
    return 0;
}

static void job_run(void *state)
{
    struct jc *c = state;
    c->w = (struct cm_workers){.q = c->q, .sync = sync_key, .arg = c, .ctrl = &cm_job};
    cm_workers_start(&c->w, c->cm->workers);
}

static void job_stop(void *state)
{
    struct jc *c = state;
    wq_shutdown(c->q);
    cm_workers_join(&c->w);
}

static void job_free(void *state)
{
    struct jc *c = state;
    wq_free(c->q);
    cm_expect_free(c->exp);
    const char *k;
    void *v;
    for (size_t i = 0; ck_strmap_next(&c->backoff, &i, &k, &v);)
        free(v);
    ck_strmap_release(&c->backoff);
    ck_strmap_release(&c->fin);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

struct cm_controller cm_job = {.name = "job",
                               .alias = "job-controller",
                               .init = job_init,
                               .run = job_run,
                               .stop = job_stop,
                               .free = job_free};

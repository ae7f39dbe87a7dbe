/* SPDX-License-Identifier: Apache-2.0 */
/* The TTL-after-finished controller (pkg/controller/ttlafterfinished): deletes a finished Job
 * ttlSecondsAfterFinished seconds after its Complete/Failed condition's transition. Before
 * deleting it re-reads the Job from the API server (the TTL may have been changed), then
 * deletes it with a uid precondition and foreground propagation, as upstream does, so its
 * pods go first. */
#include "controllers/cm.h"
#include "controllers/jobutil.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

extern struct cm_controller cm_ttlafterfinished;

struct ttlc {
    struct cm *cm;
    struct ck_informer *jobs;
    struct wq *q;
    struct cm_workers w;
};

static bool needs_cleanup(const json_t *job)
{
    return json_is_integer(k8s_jpath(job, "spec.ttlSecondsAfterFinished")) &&
           job_is_finished(job) && !k8s_obj_deleting(job);
}

/* processTTL: nanoseconds until the Job expires (<= 0: expired), or INT64_MAX when it has no
 * TTL or is not finished. */
static int64_t time_left(const json_t *job, int64_t now_ns)
{
    if (!needs_cleanup(job))
        return INT64_MAX;
    json_t *c = job_true_condition(job, "Complete");
    if (!c)
        c = job_true_condition(job, "Failed");
    int64_t finished = cm_jtime_ns(c, "lastTransitionTime");
    if (!finished)
        return INT64_MAX; /* upstream: "unable to find the time when the Job finished" */
    int64_t ttl = json_integer_value(k8s_jpath(job, "spec.ttlSecondsAfterFinished"));
    return finished + ttl * 1000000000LL - now_ns;
}

static void job_event(void *arg, json_t *job)
{
    struct ttlc *c = arg;
    if (needs_cleanup(job))
        cm_enqueue_obj(c->q, job);
}

static void job_updated(void *arg, json_t *old, json_t *cur)
{
    (void)old;
    job_event(arg, cur);
}

static int sync_key(void *arg, const char *key)
{
    struct ttlc *c = arg;
    const char *slash = strchr(key, '/');
    if (!slash)
        return 0;
    char *ns = ck_strndup(key, (size_t)(slash - key));
    const char *name = slash + 1;
    json_t *job = cm_get(c->jobs, ns, name);
    int rc = 0;
    int64_t left = job ? time_left(job, ck_real_ns()) : INT64_MAX;
    if (left == INT64_MAX)
        goto out;
    if (left > 0) {
        wq_add_after(c->q, key, left);
        goto out;
    }
    /* the cached Job has expired: check a fresh copy before deleting */
    char *path = ck_asprintf("/apis/batch/v1/namespaces/%s/jobs/%s", ns, name);
    json_t *fresh = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (ck_client_get_json(c->cm->client, path, &fresh, &err) < 0) {
        rc = err.reason == CK_R_NOT_FOUND ? 0 : -1;
        free(path);
        goto out;
    }
    left = time_left(fresh, ck_real_ns());
    if (left == INT64_MAX || left > 0) {
        if (left != INT64_MAX)
            wq_add_after(c->q, key, left);
        json_decref(fresh);
        free(path);
        goto out;
    }
    json_t *opts =
        json_pack("{s:s,s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "DeleteOptions",
                  "propagationPolicy", "Foreground", "preconditions", "uid", k8s_obj_uid(fresh));
    char *body = json_dumps(opts, JSON_COMPACT);
    if (ck_client_do(c->cm->client, "DELETE", path, "application/json", body, strlen(body), NULL,
                     &err) < 0) {
        if (err.reason != CK_R_NOT_FOUND && err.reason != CK_R_CONFLICT) {
            ck_warn("ttl-after-finished: deleting job %s: %s", key, err.msg);
            rc = -1;
        }
    } else {
        ck_info("ttl-after-finished: deleted job %s", key);
    }
    free(body);
    json_decref(opts);
    json_decref(fresh);
    free(path);
out:
    json_decref(job);
    free(ns);
    return rc;
}

static int ttl_init(struct cm *cm, void **state)
{
    struct ttlc *c = ck_calloc(1, sizeof(*c));
    c->cm = cm;
    c->jobs = ck_informer_factory_get(cm->factory, "/apis/batch/v1/jobs");
    c->q = wq_new(&(struct wq_opts){.name = "ttl_jobs_to_delete"});
    ck_informer_add_handlers(c->jobs,
                             &(struct ck_informer_handlers){job_event, job_updated, NULL, c});
    *state = c;
    return 0;
}

static void ttl_run(void *state)
{
    struct ttlc *c = state;
    c->w = (struct cm_workers){.q = c->q, .sync = sync_key, .arg = c, .ctrl = &cm_ttlafterfinished};
    cm_workers_start(&c->w, c->cm->workers);
}

static void ttl_stop(void *state)
{
    struct ttlc *c = state;
    wq_shutdown(c->q);
    cm_workers_join(&c->w);
}

static void ttl_free(void *state)
{
    struct ttlc *c = state;
    wq_free(c->q);
    free(c);
}

struct cm_controller cm_ttlafterfinished = {.name = "ttl-after-finished",
                                            .alias = "ttl-after-finished-controller",
                                            .init = ttl_init,
                                            .run = ttl_run,
                                            .stop = ttl_stop,
                                            .free = ttl_free};

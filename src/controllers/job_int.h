/* SPDX-License-Identifier: Apache-2.0 */
/* The Job controller's internals shared by job.c (handlers, pod operations, lifecycle),
 * job_sync.c (syncJob, manageJob) and job_track.c (trackJobStatusAndRemoveFinalizers). */
#ifndef CK_CONTROLLERS_JOB_INT_H
#define CK_CONTROLLERS_JOB_INT_H

#include "controllers/cm.h"
#include "controllers/expect.h"
#include "controllers/jobutil.h"
#include "lib/err.h"
#include "lib/strmap.h"

#include <pthread.h>

#define JC_JOBS_PATH "/apis/batch/v1/jobs"
#define JC_ORPHAN_PREFIX "orphan-pod:"       /* queue keys of pods whose finalizer must go */
#define JC_SYNC_BATCH_NS (200LL * 1000000LL) /* a shortened syncJobBatchPeriod */

struct jc {
    struct cm *cm;
    struct ck_informer *jobs;
    struct wq *q;
    struct cm_expect *exp;
    pthread_mutex_t mu;
    struct ck_strmap fin;     /* "jobkey\x1fpod uid": finalizer removals in flight */
    struct ck_strmap backoff; /* job key -> struct job_backoff * */
    struct cm_workers w;
};

/* The state of one sync (syncJobCtx). */
struct jctx {
    const char *key;
    json_t *job;  /* working copy (owned); status edited in place */
    json_t *pods; /* claimed pods (owned array) */
    json_t *active;
    int64_t ready, terminating, succeeded, failed;
    bool indexed;
    int completions; /* -1: nil */
    struct job_ixset succ_ix, prev_succ_ix;
    bool per_index;           /* backoffLimitPerIndex (Indexed only) */
    struct job_ixset fail_ix; /* failed indexes (per_index) */
    const json_t **delayed;   /* per index: the failed pod whose deletion waits (borrowed) */
    json_t *finished;         /* the condition to reach (owned) or NULL */
    struct job_backoff backoff;
    char now[32];
};

void jc_fin_expect(struct jc *c, const char *key, const char *uid);
void jc_fin_observed(struct jc *c, const char *key, const char *uid);
bool jc_fin_expected(struct jc *c, const char *key, const char *uid);
struct job_backoff jc_backoff_get(struct jc *c, const char *key);
void jc_backoff_put(struct jc *c, const char *key, const struct job_backoff *b);
int jc_remove_finalizer(struct jc *c, const json_t *pod, struct ck_err *err);
int jc_delete_pod(struct jc *c, const json_t *pod, struct ck_err *err);

/* syncJob for a cached job (borrowed). Returns -1 to retry. */
int jc_sync_job(struct jc *c, const char *key, const json_t *job);
/* trackJobStatusAndRemoveFinalizers. Returns -1 on a failed write. */
int jc_track(struct jc *c, struct jctx *x, bool needs_flush);
/* The job's uncountedTerminatedPods list ("succeeded"/"failed") contains uid. */
bool jc_uncounted_has(const json_t *job, const char *which, const char *uid);

#endif

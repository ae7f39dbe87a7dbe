/* SPDX-License-Identifier: Apache-2.0 */
/* The Job controller's pure decisions (pkg/controller/job: backoff_utils.go,
 * pod_failure_policy.go, indexed_job_utils.go, job_controller.go helpers): the pod re-create
 * backoff (10 s doubling up to 6 min), podFailurePolicy matching, completion indexes and
 * their "1,3-5" string form, job conditions. No I/O. */
#ifndef CK_CONTROLLERS_JOBUTIL_H
#define CK_CONTROLLERS_JOBUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOB_TRACKING_FINALIZER "batch.kubernetes.io/job-tracking"
#define JOB_INDEX_KEY "batch.kubernetes.io/job-completion-index"
#define JOB_BACKOFF_BASE_NS (10LL * 1000000000LL) /* DefaultJobPodFailureBackOff */
#define JOB_BACKOFF_MAX_NS (360LL * 1000000000LL) /* MaxJobPodFailureBackOff */
#define JOB_MAX_UNCOUNTED 500                     /* MaxUncountedPods */
#define JOB_MAX_CREATE_DELETE 500                 /* MaxPodCreateDeletePerSync */

/* ---- backoff (backoffRecord) ---- */
struct job_backoff {
    int failures;            /* failuresAfterLastSuccess */
    int64_t last_failure_ns; /* epoch ns; 0 = none */
};
/* newBackoffRecord: folds the finish times (epoch ns, any order; sorted in place) of newly
 * succeeded and failed pods into b. */
void job_backoff_next(struct job_backoff *b, int64_t *succ, size_t nsucc, int64_t *fail,
                      size_t nfail);
/* getRemainingTimeForFailuresCount: how long pod creation still waits (0: not at all). */
int64_t job_backoff_remaining_ns(int failures, int64_t last_failure_ns, int64_t now_ns);
/* getFinishedTime: the latest container finishedAt (all terminated), else the Ready=False
 * transition, else the deletionTimestamp, else the creationTimestamp (epoch ns). */
int64_t job_pod_finished_ns(const json_t *pod);

/* ---- pods ---- */
/* onlyReplaceFailedPods: podReplacementPolicy Failed, or a podFailurePolicy. */
bool job_only_replace_failed(const json_t *job);
/* isPodFailed: phase Failed, or (unless only failed pods are replaced) being deleted while
 * not Succeeded. */
bool job_pod_failed(const json_t *pod, const json_t *job);
bool job_pod_has_finalizer(const json_t *pod);
/* getCompletionIndex: the completion index annotation as a number, or -1. */
int job_completion_index(const json_t *pod);
/* pastBackoffLimitOnFailure (restartPolicy OnFailure): restarts of running/pending pods. */
bool job_past_backoff_on_failure(const json_t *job, const json_t *pods);
/* podGenerateNameWithIndex: "<job>-<index>-" cut to 58 characters. out: >= 64 bytes. */
void job_generate_name_with_index(const char *job, int index, char *out, size_t n);

/* ---- backoffLimitPerIndex ---- */
#define JOB_INDEX_FAILURES "batch.kubernetes.io/job-index-failure-count"
#define JOB_INDEX_IGNORED "batch.kubernetes.io/job-index-ignored-failure-count"
/* The pod's failure count annotations (0 when missing or invalid). */
int job_index_failure_count(const json_t *pod);
int job_index_ignored_count(const json_t *pod);
/* isIndexFailed: the pod failed and either a FailIndex rule matched or its counted failures
 * reached backoffLimitPerIndex. */
bool job_index_failed(const json_t *job, const json_t *pod);
/* getNewIndexFailureCounts: the annotations of the pod that replaces `replaced` (NULL: 0, 0). */
void job_new_index_counts(const json_t *job, const json_t *replaced, int *count, int *ignored);

/* ---- podFailurePolicy ---- */
enum job_pfp_action {
    JOB_PFP_NONE = 0,
    JOB_PFP_IGNORE,
    JOB_PFP_COUNT,
    JOB_PFP_FAIL_JOB,
    JOB_PFP_FAIL_INDEX
};
/* matchPodFailurePolicy for a failed pod: the matching rule's action (NONE: no rule matched,
 * the failure counts). *count tells whether the failure counts against backoffLimit; *msg
 * (FAIL_JOB only, malloc'd) is upstream's message. msg may be NULL. */
enum job_pfp_action job_pfp_match(const json_t *policy, const json_t *pod, bool *count, char **msg);

/* ---- completion indexes ---- */
/* A set of indexes below n as a byte map. */
struct job_ixset {
    unsigned char *has;
    int n;
};
/* parseIndexesFromString: "1,3-5" (indexes >= n ignored, bad parts skipped). */
void job_ixset_parse(struct job_ixset *s, const char *str, int n);
void job_ixset_free(struct job_ixset *s);
int job_ixset_total(const struct job_ixset *s);
/* String form ("1,3-5", "" when empty); malloc'd. */
char *job_ixset_string(const struct job_ixset *s);

/* matchSuccessPolicy: "Matched rules at index N" (malloc'd) when a rule of policy is met by
 * the succeeded indexes, else NULL. */
char *job_success_policy_match(const json_t *policy, const struct job_ixset *succeeded);

/* ---- conditions ---- */
/* IsJobFinished: a Complete or Failed condition with status True. */
bool job_is_finished(const json_t *job);
/* The condition of type with status True, or NULL (borrowed). */
json_t *job_true_condition(const json_t *job, const char *type);
/* newCondition. New reference. */
json_t *job_condition(const char *type, const char *status, const char *reason, const char *msg,
                      const char *now);
/* ensureJobConditionStatus on status.conditions; returns whether anything changed. */
bool job_ensure_condition(json_t *status, const char *type, const char *cstatus, const char *reason,
                          const char *msg, const char *now);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by sched.c, sched_api.c and sched_http.c. */
#ifndef CK_SCHED_SCHED_INT_H
#define CK_SCHED_SCHED_INT_H

#include "ckube/informer.h"
#include "scheduler/cache.h"
#include "scheduler/framework.h"
#include "scheduler/queue.h"
#include "scheduler/sched.h"

#include <pthread.h>
#include <stdatomic.h>

#define SCH_MAX_PROFILES 8
#define SCH_LAT_BUCKETS 16

enum sch_job_kind { SCH_JOB_BIND, SCH_JOB_FAIL, SCH_JOB_EVENT };

struct sch_job {
    struct sch_job *next;
    struct sch_sched *s; /* BIND through the batch: its owner */
    enum sch_job_kind kind;
    struct sch_qpod *qp;
    const struct sch_profile *prof;
    struct sch_cycle *cs; /* BIND: for Unreserve */
    char *node;
    char *msg;       /* FAIL: the FitError message; EVENT: message */
    char *reason;    /* EVENT */
    char *nominated; /* FAIL: nominatedNodeName */
    bool error;      /* FAIL: an error, not a fit failure */
    int64_t start_ns;
};

struct sch_jobq {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_cond_t space; /* signalled when a job leaves */
    struct sch_job *head, *tail;
    size_t len, max;
    bool closed;
};

struct ck_compsrv;
struct ck_batch;

struct sch_sched {
    struct sch_opts o;
    struct ck_compsrv *http; /* /metrics and health (sched_http.c), or NULL */
    struct ck_client *client;
    struct sch_handle handle;
    struct sch_profile *profiles[SCH_MAX_PROFILES];
    size_t nprofiles;
    int pct_nodes;
    struct sch_cache *cache;
    struct sch_queue *queue;
    struct sch_pool *pool;
    struct ck_informer *pods, *nodes, *namespaces, *services, *rss, *sss, *rcs, *pdbs;
    struct sch_snapshot snap;
    size_t next_start;
    struct sch_status *status_buf; /* node statuses, reused by every cycle */
    size_t nstatus;
    unsigned rnd;
    pthread_t loop, ticker, *binders, *eventers;
    int nbinders, neventers;
    struct sch_jobq binds, events;
    /* bindings and Events in flight on one multiplexed connection (sched_api.c); bindings of
     * profiles whose only Bind plugin is DefaultBinder (and no PreBind) go this way */
    struct ck_batch *batch;
    pthread_mutex_t inflight_mu;
    pthread_cond_t inflight_cv;
    int binds_inflight, max_binds_inflight;
    atomic_int events_inflight;
    volatile int stop;
    bool running;
    /* metrics */
    atomic_long attempts_scheduled, attempts_unschedulable, attempts_error, bound, bind_errors;
    pthread_mutex_t lat_mu;
    long lat_hist[SCH_LAT_BUCKETS + 1]; /* attempt duration buckets */
    double lat_sum;
    long lat_count;
    long e2e_hist[SCH_LAT_BUCKETS + 1];
    double e2e_sum;
    long e2e_count;
    double *lat_samples; /* for percentiles */
    size_t nlat, caplat;
};

extern const double sch_lat_bounds[SCH_LAT_BUCKETS];

void sch_jobq_init(struct sch_jobq *q, size_t max);
/* Returns false (job not queued) when the queue is full or closed. */
bool sch_jobq_push(struct sch_jobq *q, struct sch_job *j);
/* Queues j even when full (false only when closed). */
bool sch_jobq_push_force(struct sch_jobq *q, struct sch_job *j);
/* Waits for room (the scheduling loop's backpressure); false when closed. */
bool sch_jobq_push_wait(struct sch_jobq *q, struct sch_job *j);
struct sch_job *sch_jobq_pop(struct sch_jobq *q);
void sch_jobq_close(struct sch_jobq *q);
void sch_job_free(struct sch_job *j);

/* sched_api.c: API writes. */
void sch_post_event(struct sch_sched *s, const json_t *pod, const char *type, const char *reason,
                    const char *msg);
void sch_update_pod_status(struct sch_sched *s, const json_t *pod, const char *msg,
                           const char *nominated);
void *sch_bind_worker(void *arg);
/* Hands a scheduled pod to its binding cycle (waiting while too many are in flight); false
 * when the scheduler is stopping (the job is then the caller's). */
bool sch_bind_submit(struct sch_sched *s, struct sch_job *j);
/* Starts and stops the batch (sch_sched_run / sch_sched_stop, after the binders ended). */
void sch_batch_start(struct sch_sched *s);
void sch_batch_stop(struct sch_sched *s);
void *sch_event_worker(void *arg);
void sch_observe(struct sch_sched *s, int64_t attempt_ns, int64_t e2e_ns);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduling queue (internal/queue/scheduling_queue.go): activeQ ordered by the
 * profile's QueueSort (PrioritySort: priority, then time added), backoffQ ordered by backoff
 * expiry (initial 1 s doubling per attempt up to 10 s), the unschedulable pods that wait for
 * a cluster event (node add/update, pod delete, ...) or the 5 minute flush, and the pods gated
 * by PreEnqueue (SchedulingGates). Thread-safe; pop blocks. */
#ifndef CK_SCHED_QUEUE_H
#define CK_SCHED_QUEUE_H

#include "scheduler/types.h"

#include <stdbool.h>
#include <stdint.h>

enum sch_qwhere { SCH_Q_NONE, SCH_Q_ACTIVE, SCH_Q_BACKOFF, SCH_Q_UNSCHED, SCH_Q_GATED };

struct sch_qpod {
    struct sch_pod *p;
    int64_t ts;         /* time it entered activeQ (QueueSort tie break) */
    int64_t initial_ts; /* first enqueue (e2e latency) */
    int attempts;
    int64_t last_failure; /* when the last attempt failed */
    int64_t cycle;        /* scheduling cycle of the last pop */
    enum sch_qwhere where;
    size_t hidx;
    bool in_flight, deleted;
    struct sch_pod *update; /* newer object seen while in flight */
};

struct sch_queue_opts {
    bool (*less)(void *self, const struct sch_pod *a, int64_t ts_a, const struct sch_pod *b,
                 int64_t ts_b); /* NULL = priority then time */
    void *less_self;
    /* PreEnqueue: false keeps the pod gated (reason for the logs in msg). */
    bool (*pre_enqueue)(void *arg, const struct sch_pod *p);
    void *arg;
    int64_t initial_backoff_ns, max_backoff_ns; /* 0 = 1 s / 10 s */
    int64_t unschedulable_max_ns;               /* 0 = 5 min */
    int64_t (*now_ns)(void);                    /* NULL = monotonic */
};

struct sch_queue;
struct sch_queue *sch_queue_new(const struct sch_queue_opts *o);
void sch_queue_free(struct sch_queue *q);

/* An unscheduled pod appeared (takes a reference on p). */
void sch_queue_add(struct sch_queue *q, struct sch_pod *p);
/* A newer version of a queued pod; an unschedulable or gated pod whose spec or labels changed
 * is moved (to activeQ, or backoffQ while its backoff runs). */
void sch_queue_update(struct sch_queue *q, struct sch_pod *p);
void sch_queue_delete(struct sch_queue *q, const char *key);

/* Blocks until a pod is active (or timeout_ns passes, or the queue closes: NULL). The pod
 * stays known to the queue (in flight) until sch_queue_done or sch_queue_requeue. */
struct sch_qpod *sch_queue_pop(struct sch_queue *q, int64_t timeout_ns);
/* The pod was scheduled (or is gone): forget it. */
void sch_queue_done(struct sch_queue *q, struct sch_qpod *qp);
/* AddUnschedulableIfNotPresent: after a failed attempt. With error (not a fit failure), or
 * when a move request arrived during its cycle, the pod goes to backoffQ; else it waits in
 * the unschedulable pods. */
void sch_queue_requeue(struct sch_queue *q, struct sch_qpod *qp, bool error);
/* MoveAllToActiveOrBackoffQueue: a cluster event that may make pods schedulable. */
void sch_queue_move_all(struct sch_queue *q);
/* Periodic work: backoff-completed pods to activeQ; unschedulable pods older than the
 * maximum to activeQ/backoffQ. */
void sch_queue_flush(struct sch_queue *q);
void sch_queue_close(struct sch_queue *q);

struct sch_queue_sizes {
    size_t active, backoff, unschedulable, gated, in_flight;
};
void sch_queue_sizes(struct sch_queue *q, struct sch_queue_sizes *out);
/* Backoff duration after n attempts. */
int64_t sch_queue_backoff(const struct sch_queue *q, int attempts);

#endif

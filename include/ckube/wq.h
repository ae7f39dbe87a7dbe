/* SPDX-License-Identifier: Apache-2.0 */
/* Work queues for controllers, with client-go's semantics:
 * - dedup: an item added several times before it is processed is processed once; an item
 *   added while being processed is queued again (once) when wq_done is called;
 * - delaying: wq_add_after makes an item available after a delay (the earliest wins);
 * - rate limiting: wq_add_rate_limited asks the queue's rate limiter how long to wait;
 *   wq_forget clears the item's failure history.
 * All functions are thread-safe. Items are strings (usually "namespace/name"). */
#ifndef CKUBE_WQ_H
#define CKUBE_WQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A clock, injectable for tests. NULL everywhere means CLOCK_MONOTONIC. */
struct ck_clock {
    int64_t (*now_ns)(void *arg);
    void *arg;
};

/* ---- rate limiters ---------------------------------------------------------------------- */

struct wq_rate_limiter;

struct wq_rate_limiter_ops {
    /* How long (ns) the item should wait before being processed again; records a failure. */
    int64_t (*when)(struct wq_rate_limiter *l, const char *item);
    /* Stops tracking the item (it succeeded). */
    void (*forget)(struct wq_rate_limiter *l, const char *item);
    /* Failures recorded for the item since the last forget. */
    int (*num_requeues)(struct wq_rate_limiter *l, const char *item);
    void (*free)(struct wq_rate_limiter *l);
};

struct wq_rate_limiter {
    const struct wq_rate_limiter_ops *ops;
};

/* Per-item exponential backoff: base * 2^failures, capped at max (client-go's
 * ItemExponentialFailureRateLimiter). */
struct wq_rate_limiter *wq_limiter_exponential(int64_t base_ns, int64_t max_ns);
/* Overall token bucket (qps, burst), with reservation semantics like golang.org/x/time/rate:
 * every call takes a token, possibly in advance, and returns how long until it is due. */
struct wq_rate_limiter *wq_limiter_bucket(double qps, int burst, const struct ck_clock *clock);
/* The longest wait of several limiters; takes ownership of them. */
struct wq_rate_limiter *wq_limiter_max_of(struct wq_rate_limiter **limiters, size_t n);
/* client-go's DefaultControllerRateLimiter: max of exponential(5 ms, 1000 s) and
 * bucket(10 qps, burst 100). */
struct wq_rate_limiter *wq_limiter_default(const struct ck_clock *clock);
void wq_limiter_free(struct wq_rate_limiter *l);

/* ---- the queue --------------------------------------------------------------------------- */

struct wq;

struct wq_opts {
    const char *name;                /* for metrics and logs */
    struct wq_rate_limiter *limiter; /* owned by the queue; NULL = wq_limiter_default */
    const struct ck_clock *clock;    /* NULL = monotonic; copied */
};

struct wq *wq_new(const struct wq_opts *o);
/* Shuts down (if needed), joins the delay thread and frees. No other call may be running. */
void wq_free(struct wq *q);

void wq_add(struct wq *q, const char *item);
void wq_add_after(struct wq *q, const char *item, int64_t delay_ns);
void wq_add_rate_limited(struct wq *q, const char *item);
void wq_forget(struct wq *q, const char *item);
int wq_num_requeues(struct wq *q, const char *item);

/* Blocks until an item is ready and returns it (malloc'd; the caller frees it after calling
 * wq_done), or returns NULL once the queue is shut down and empty. */
char *wq_get(struct wq *q);
/* Like wq_get but waits at most timeout_ns; NULL on timeout or shutdown (*shutdown says). */
char *wq_get_timeout(struct wq *q, int64_t timeout_ns, bool *shutdown);
/* Marks the item processed; if it was added meanwhile it is queued again. */
void wq_done(struct wq *q, const char *item);

size_t wq_len(struct wq *q);
/* New adds are ignored; wq_get returns what is queued, then NULL. */
void wq_shutdown(struct wq *q);
/* Like wq_shutdown, then waits until every item being processed is done. */
void wq_shutdown_with_drain(struct wq *q);
bool wq_shutting_down(struct wq *q);

/* ---- metrics ----------------------------------------------------------------------------- */

struct ck_buf;
/* Appends client-go's workqueue_* families (Prometheus text, HELP and TYPE included) for every
 * live queue that has a name, labelled {name}: workqueue_depth, workqueue_adds_total,
 * workqueue_queue_duration_seconds, workqueue_work_duration_seconds, workqueue_retries_total,
 * workqueue_unfinished_work_seconds, workqueue_longest_running_processor_seconds. Queues with
 * the same name share series. Returns 0, or -1 when out filled up. */
int wq_metrics(struct ck_buf *out);

#endif

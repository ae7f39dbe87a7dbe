/* SPDX-License-Identifier: Apache-2.0 */
/* The work queue: a FIFO with dedup (dirty set) and in-flight tracking (processing set),
 * a delay heap served by one thread, and a rate limiter. One mutex guards everything. */
#include "ckube/wq.h"
#include "lib/buf.h"
#include "lib/strmap.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

int64_t wq_clock_now(const struct ck_clock *c);

struct delayed {
    int64_t ready_ns;
    char *item;
};

struct wq {
    pthread_mutex_t mu;
    pthread_cond_t cond;       /* items available / shutdown / processing drained */
    pthread_cond_t delay_cond; /* delay heap changed */
    char **fifo;               /* ring buffer of owned strings */
    size_t head, count, cap;
    struct ck_strmap dirty;      /* queued or to be re-queued; value unused */
    struct ck_strmap processing; /* handed out by wq_get, not yet done */
    struct delayed *heap;        /* min-heap on ready_ns */
    size_t nheap, capheap;
    struct ck_strmap waiting;    /* item -> (uintptr_t)(heap index + 1) */
    bool shutdown;
    bool drain;
    struct wq_rate_limiter *limiter;
    struct ck_clock clock;
    bool has_clock;
    pthread_t delay_thread;
    char name[64];
};

static int64_t now_ns(struct wq *q)
{
    return wq_clock_now(q->has_clock ? &q->clock : NULL);
}

/* ---- FIFO with dedup (caller holds mu) ---------------------------------------------------- */

static void fifo_push(struct wq *q, const char *item)
{
    if (q->count == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 16;
        char **n = ck_calloc(ncap, sizeof(*n));
        for (size_t i = 0; i < q->count; i++)
            n[i] = q->fifo[(q->head + i) % q->cap];
        free(q->fifo);
        q->fifo = n;
        q->head = 0;
        q->cap = ncap;
    }
    q->fifo[(q->head + q->count) % q->cap] = ck_strdup(item);
    q->count++;
}

static char *fifo_pop(struct wq *q)
{
    char *it = q->fifo[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    return it;
}

static void add_locked(struct wq *q, const char *item)
{
    if (q->shutdown)
        return;
    bool found;
    ck_strmap_get(&q->dirty, item, &found);
    if (found)
        return;
    ck_strmap_put(&q->dirty, item, NULL);
    ck_strmap_get(&q->processing, item, &found);
    if (found)
        return; /* queued again by wq_done */
    fifo_push(q, item);
    pthread_cond_signal(&q->cond);
}

void wq_add(struct wq *q, const char *item)
{
    pthread_mutex_lock(&q->mu);
    add_locked(q, item);
    pthread_mutex_unlock(&q->mu);
}

/* ---- delay heap (caller holds mu) --------------------------------------------------------- */

static void heap_set(struct wq *q, size_t i, struct delayed d)
{
    q->heap[i] = d;
    ck_strmap_put(&q->waiting, d.item, (void *)(uintptr_t)(i + 1));
}

static void heap_up(struct wq *q, size_t i)
{
    struct delayed d = q->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (q->heap[p].ready_ns <= d.ready_ns)
            break;
        heap_set(q, i, q->heap[p]);
        i = p;
    }
    heap_set(q, i, d);
}

static void heap_down(struct wq *q, size_t i)
{
    struct delayed d = q->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        int64_t best = d.ready_ns;
        if (l < q->nheap && q->heap[l].ready_ns < best) {
            m = l;
            best = q->heap[l].ready_ns;
        }
        if (r < q->nheap && q->heap[r].ready_ns < best)
            m = r;
        if (m == i)
            break;
        heap_set(q, i, q->heap[m]);
        i = m;
    }
    heap_set(q, i, d);
}

static void heap_pop_min(struct wq *q, struct delayed *out)
{
    *out = q->heap[0];
    ck_strmap_del(&q->waiting, out->item, NULL);
    q->nheap--;
    if (q->nheap) {
        q->heap[0] = q->heap[q->nheap];
        heap_down(q, 0);
    }
}

void wq_add_after(struct wq *q, const char *item, int64_t delay_ns)
{
    if (delay_ns <= 0) {
        wq_add(q, item);
        return;
    }
    pthread_mutex_lock(&q->mu);
    if (q->shutdown) {
        pthread_mutex_unlock(&q->mu);
        return;
    }
    int64_t ready = now_ns(q) + delay_ns;
    uintptr_t idx = (uintptr_t)ck_strmap_get(&q->waiting, item, NULL);
    if (idx) { /* already waiting: keep the earlier time */
        if (ready < q->heap[idx - 1].ready_ns) {
            q->heap[idx - 1].ready_ns = ready;
            heap_up(q, idx - 1);
        }
    } else {
        if (q->nheap == q->capheap) {
            q->capheap = q->capheap ? q->capheap * 2 : 16;
            q->heap = ck_realloc(q->heap, q->capheap * sizeof(*q->heap));
        }
        q->heap[q->nheap] = (struct delayed){ready, ck_strdup(item)};
        q->nheap++;
        heap_up(q, q->nheap - 1);
    }
    pthread_cond_signal(&q->delay_cond);
    pthread_mutex_unlock(&q->mu);
}

static void abs_deadline(struct timespec *ts, int64_t wait_ns)
{
    /* delay_cond uses CLOCK_MONOTONIC (set in wq_new) */
    clock_gettime(CLOCK_MONOTONIC, ts);
    int64_t ns = ts->tv_nsec + wait_ns % 1000000000LL;
    ts->tv_sec += (time_t)(wait_ns / 1000000000LL + ns / 1000000000LL);
    ts->tv_nsec = (long)(ns % 1000000000LL);
}

static void *delay_loop(void *arg)
{
    struct wq *q = arg;
    pthread_mutex_lock(&q->mu);
    while (!q->shutdown) {
        int64_t now = now_ns(q);
        while (q->nheap && q->heap[0].ready_ns <= now) {
            struct delayed d;
            heap_pop_min(q, &d);
            add_locked(q, d.item);
            free(d.item);
        }
        if (!q->nheap) {
            pthread_cond_wait(&q->delay_cond, &q->mu);
            continue;
        }
        int64_t wait = q->heap[0].ready_ns - now;
        if (q->has_clock && wait > 1000000) /* an injected clock may jump: poll every 1 ms */
            wait = 1000000;
        struct timespec ts;
        abs_deadline(&ts, wait);
        pthread_cond_timedwait(&q->delay_cond, &q->mu, &ts);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

/* ---- rate limiting ------------------------------------------------------------------------ */

void wq_add_rate_limited(struct wq *q, const char *item)
{
    wq_add_after(q, item, q->limiter->ops->when(q->limiter, item));
}

void wq_forget(struct wq *q, const char *item)
{
    q->limiter->ops->forget(q->limiter, item);
}

int wq_num_requeues(struct wq *q, const char *item)
{
    return q->limiter->ops->num_requeues(q->limiter, item);
}

/* ---- get / done / shutdown ---------------------------------------------------------------- */

static char *take_locked(struct wq *q)
{
    char *it = fifo_pop(q);
    ck_strmap_put(&q->processing, it, NULL);
    ck_strmap_del(&q->dirty, it, NULL);
    return it;
}

char *wq_get(struct wq *q)
{
    pthread_mutex_lock(&q->mu);
    while (q->count == 0 && !q->shutdown)
        pthread_cond_wait(&q->cond, &q->mu);
    char *it = q->count ? take_locked(q) : NULL;
    pthread_mutex_unlock(&q->mu);
    return it;
}

char *wq_get_timeout(struct wq *q, int64_t timeout_ns, bool *shutdown)
{
    struct timespec ts;
    abs_deadline(&ts, timeout_ns);
    pthread_mutex_lock(&q->mu);
    while (q->count == 0 && !q->shutdown)
        if (pthread_cond_timedwait(&q->cond, &q->mu, &ts) == ETIMEDOUT)
            break;
    char *it = q->count ? take_locked(q) : NULL;
    if (shutdown)
        *shutdown = !it && q->shutdown;
    pthread_mutex_unlock(&q->mu);
    return it;
}

void wq_done(struct wq *q, const char *item)
{
    pthread_mutex_lock(&q->mu);
    bool found;
    ck_strmap_del(&q->processing, item, NULL);
    ck_strmap_get(&q->dirty, item, &found);
    if (found) {
        fifo_push(q, item);
        pthread_cond_signal(&q->cond);
    } else if (q->processing.len == 0) {
        pthread_cond_broadcast(&q->cond); /* wakes a draining shutdown */
    }
    pthread_mutex_unlock(&q->mu);
}

size_t wq_len(struct wq *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->count;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void wq_shutdown(struct wq *q)
{
    pthread_mutex_lock(&q->mu);
    q->shutdown = true;
    pthread_cond_broadcast(&q->cond);
    pthread_cond_broadcast(&q->delay_cond);
    pthread_mutex_unlock(&q->mu);
}

void wq_shutdown_with_drain(struct wq *q)
{
    wq_shutdown(q);
    pthread_mutex_lock(&q->mu);
    while (q->processing.len > 0)
        pthread_cond_wait(&q->cond, &q->mu);
    pthread_mutex_unlock(&q->mu);
}

bool wq_shutting_down(struct wq *q)
{
    pthread_mutex_lock(&q->mu);
    bool s = q->shutdown;
    pthread_mutex_unlock(&q->mu);
    return s;
}

struct wq *wq_new(const struct wq_opts *o)
{
    struct wq *q = ck_calloc(1, sizeof(*q));
    pthread_mutex_init(&q->mu, NULL);
    /* both conditions wait on CLOCK_MONOTONIC deadlines */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cond, &ca);
    pthread_cond_init(&q->delay_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (o && o->clock) {
        q->clock = *o->clock;
        q->has_clock = true;
    }
    q->limiter = o && o->limiter ? o->limiter : wq_limiter_default(o ? o->clock : NULL);
    snprintf(q->name, sizeof(q->name), "%s", o && o->name ? o->name : "");
    if (pthread_create(&q->delay_thread, NULL, delay_loop, q) != 0)
        ck_fatal("wq %s: cannot start the delay thread", q->name);
    return q;
}

void wq_free(struct wq *q)
{
    if (!q)
        return;
    wq_shutdown(q);
    pthread_join(q->delay_thread, NULL);
    while (q->count)
        free(fifo_pop(q));
    free(q->fifo);
    for (size_t i = 0; i < q->nheap; i++)
        free(q->heap[i].item);
    free(q->heap);
    ck_strmap_release(&q->dirty);
    ck_strmap_release(&q->processing);
    ck_strmap_release(&q->waiting);
    wq_limiter_free(q->limiter);
    pthread_cond_destroy(&q->cond);
    pthread_cond_destroy(&q->delay_cond);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

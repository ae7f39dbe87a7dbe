/* SPDX-License-Identifier: Apache-2.0 */
/* The work queue: a FIFO with dedup (dirty set) and in-flight tracking (processing set),
 * a delay heap served by one thread, and a rate limiter. One mutex guards everything. */
#include "ckube/wq.h"
#include "lib/buf.h"
#include "lib/strmap.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

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
    struct wq *mnext, *mprev; /* registry of named queues (metrics) */
};

/* ---- client-go's workqueue_* metrics (named queues only) ---------------------------------
 * dirty's value is the item's add time and processing's its start time (ck_mono_ns, as
 * uintptr_t), which give queue_duration, work_duration, unfinished_work and longest_running. */

static const char *const wq_lbl[] = {"name", NULL};
static const double wq_buckets[] = {1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3,
                                    1e-2, 1e-1, 1,    10,   100,  1000};
static struct ck_mfam m_adds = CK_MFAM_INIT(
    "workqueue_adds_total", "Total number of adds handled by workqueue", CK_MCOUNTER, wq_lbl, NULL, 0);
static struct ck_mfam m_retries =
    CK_MFAM_INIT("workqueue_retries_total", "Total number of retries handled by workqueue",
                 CK_MCOUNTER, wq_lbl, NULL, 0);
static struct ck_mfam m_queue = CK_MFAM_INIT(
    "workqueue_queue_duration_seconds",
    "How long in seconds an item stays in workqueue before being requested.", CK_MHISTOGRAM,
    wq_lbl, wq_buckets, sizeof(wq_buckets) / sizeof(double));
static struct ck_mfam m_work = CK_MFAM_INIT(
    "workqueue_work_duration_seconds", "How long in seconds processing an item from workqueue takes.",
    CK_MHISTOGRAM, wq_lbl, wq_buckets, sizeof(wq_buckets) / sizeof(double));
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct wq *reg_head;

static void m_count(struct ck_mfam *f, struct wq *q)
{
    const char *v[] = {q->name};
    if (q->name[0])
        ck_mfam_add(f, v, 1);
}

static void m_since(struct ck_mfam *f, struct wq *q, void *start)
{
    const char *v[] = {q->name};
    if (q->name[0] && start)
        ck_mfam_observe(f, v, (double)(ck_mono_ns() - (int64_t)(uintptr_t)start) / 1e9);
}

int wq_metrics(struct ck_buf *out)
{
    int rc = 0;
    int64_t now = ck_mono_ns();
    rc |= ck_metrics_header(out, "workqueue_depth", "Current depth of workqueue", "gauge");
    struct ck_buf unfinished = CK_BUF_INIT(1 << 20), longest = CK_BUF_INIT(1 << 20);
    pthread_mutex_lock(&reg_mu);
    for (struct wq *q = reg_head; q; q = q->mnext) {
        pthread_mutex_lock(&q->mu);
        double sum = 0, max = 0;
        size_t it = 0;
        const char *k;
        void *v;
        while (ck_strmap_next(&q->processing, &it, &k, &v)) {
            double d = v ? (double)(now - (int64_t)(uintptr_t)v) / 1e9 : 0;
            sum += d;
            max = d > max ? d : max;
        }
        rc |= ck_buf_appendf(out, "workqueue_depth{name=\"%s\"} %zu\n", q->name, q->count);
        pthread_mutex_unlock(&q->mu);
        ck_buf_appendf(&unfinished, "workqueue_unfinished_work_seconds{name=\"%s\"} %.9g\n",
                       q->name, sum);
        ck_buf_appendf(&longest, "workqueue_longest_running_processor_seconds{name=\"%s\"} %.9g\n",
                       q->name, max);
    }
    pthread_mutex_unlock(&reg_mu);
    rc |= ck_metrics_header(out, "workqueue_unfinished_work_seconds",
                            "How many seconds of work has done that is in progress and hasn't "
                            "been observed by work_duration. Large values indicate stuck threads. "
                            "One can deduce the number of stuck threads by observing the rate at "
                            "which this increases.",
                            "gauge");
    rc |= ck_buf_append(out, unfinished.data, unfinished.len);
    rc |= ck_metrics_header(out, "workqueue_longest_running_processor_seconds",
                            "How many seconds has the longest running processor for workqueue "
                            "been running.",
                            "gauge");
    rc |= ck_buf_append(out, longest.data, longest.len);
    ck_buf_release(&unfinished);
    ck_buf_release(&longest);
    rc |= ck_mfam_render(&m_adds, out);
    rc |= ck_mfam_render(&m_queue, out);
    rc |= ck_mfam_render(&m_work, out);
    rc |= ck_mfam_render(&m_retries, out);
    return rc < 0 ? -1 : 0;
}

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
    ck_strmap_put(&q->dirty, item, (void *)(uintptr_t)ck_mono_ns());
    m_count(&m_adds, q);
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
    m_count(&m_retries, q);
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
    ck_strmap_put(&q->processing, it, (void *)(uintptr_t)ck_mono_ns());
    m_since(&m_queue, q, ck_strmap_del(&q->dirty, it, NULL));
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
    m_since(&m_work, q, ck_strmap_del(&q->processing, item, NULL));
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
    if (q->name[0]) {
        pthread_mutex_lock(&reg_mu);
        q->mnext = reg_head;
        if (reg_head)
            reg_head->mprev = q;
        reg_head = q;
        pthread_mutex_unlock(&reg_mu);
    }
    return q;
}

void wq_free(struct wq *q)
{
    if (!q)
        return;
    wq_shutdown(q);
    pthread_join(q->delay_thread, NULL);
    if (q->name[0]) {
        pthread_mutex_lock(&reg_mu);
        if (q->mprev)
            q->mprev->mnext = q->mnext;
        else
            reg_head = q->mnext;
        if (q->mnext)
            q->mnext->mprev = q->mprev;
        pthread_mutex_unlock(&reg_mu);
    }
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

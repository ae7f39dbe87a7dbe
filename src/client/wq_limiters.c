/* SPDX-License-Identifier: Apache-2.0 */
/* Work queue rate limiters: per-item exponential backoff, token bucket, max-of. */
#include "ckube/wq.h"
#include "lib/buf.h"
#include "lib/strmap.h"
#include "lib/timeutil.h"

#include <pthread.h>
#include <stdint.h>

int64_t wq_clock_now(const struct ck_clock *c);
int64_t wq_clock_now(const struct ck_clock *c)
{
    return c && c->now_ns ? c->now_ns(c->arg) : ck_mono_ns();
}

void wq_limiter_free(struct wq_rate_limiter *l)
{
    if (l)
        l->ops->free(l);
}

/* ---- exponential -------------------------------------------------------------------------- */

struct exp_limiter {
    struct wq_rate_limiter base;
    pthread_mutex_t mu;
    int64_t base_ns, max_ns;
    struct ck_strmap failures; /* item -> (uintptr_t) count */
};

static int64_t exp_when(struct wq_rate_limiter *l, const char *item)
{
    struct exp_limiter *e = (struct exp_limiter *)l;
    pthread_mutex_lock(&e->mu);
    uintptr_t n = (uintptr_t)ck_strmap_get(&e->failures, item, NULL);
    ck_strmap_put(&e->failures, item, (void *)(n + 1));
    pthread_mutex_unlock(&e->mu);
    /* base * 2^n, saturating at max (and on overflow) */
    if (n >= 62)
        return e->max_ns;
    int64_t mult = (int64_t)1 << n;
    if (e->base_ns > 0 && mult > e->max_ns / e->base_ns)
        return e->max_ns;
    int64_t d = e->base_ns * mult;
    return d > e->max_ns ? e->max_ns : d;
}

static void exp_forget(struct wq_rate_limiter *l, const char *item)
{
    struct exp_limiter *e = (struct exp_limiter *)l;
    pthread_mutex_lock(&e->mu);
    ck_strmap_del(&e->failures, item, NULL);
    pthread_mutex_unlock(&e->mu);
}

static int exp_num_requeues(struct wq_rate_limiter *l, const char *item)
{
    struct exp_limiter *e = (struct exp_limiter *)l;
    pthread_mutex_lock(&e->mu);
    uintptr_t n = (uintptr_t)ck_strmap_get(&e->failures, item, NULL);
    pthread_mutex_unlock(&e->mu);
    return (int)n;
}

static void exp_free(struct wq_rate_limiter *l)
{
    struct exp_limiter *e = (struct exp_limiter *)l;
    ck_strmap_release(&e->failures);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

static const struct wq_rate_limiter_ops exp_ops = {exp_when, exp_forget, exp_num_requeues,
                                                   exp_free};

struct wq_rate_limiter *wq_limiter_exponential(int64_t base_ns, int64_t max_ns)
{
    struct exp_limiter *e = ck_calloc(1, sizeof(*e));
    e->base.ops = &exp_ops;
    pthread_mutex_init(&e->mu, NULL);
    e->base_ns = base_ns;
    e->max_ns = max_ns;
    return &e->base;
}

/* ---- token bucket ------------------------------------------------------------------------- */

struct bucket_limiter {
    struct wq_rate_limiter base;
    pthread_mutex_t mu;
    double qps, burst, tokens;
    int64_t last_ns;
    struct ck_clock clock;
    bool has_clock;
};

static int64_t bucket_when(struct wq_rate_limiter *l, const char *item)
{
    (void)item;
    struct bucket_limiter *b = (struct bucket_limiter *)l;
    pthread_mutex_lock(&b->mu);
    int64_t now = wq_clock_now(b->has_clock ? &b->clock : NULL);
    if (now > b->last_ns) {
        b->tokens += (double)(now - b->last_ns) / 1e9 * b->qps;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
        b->last_ns = now;
    }
    b->tokens -= 1.0; /* reserve a token, possibly in advance */
    int64_t wait = 0;
    if (b->tokens < 0)
        wait = (int64_t)(-b->tokens / b->qps * 1e9 + 0.5);
    pthread_mutex_unlock(&b->mu);
    return wait;
}

static void bucket_forget(struct wq_rate_limiter *l, const char *item)
{
    (void)l;
    (void)item;
}

static int bucket_num_requeues(struct wq_rate_limiter *l, const char *item)
{
    (void)l;
    (void)item;
    return 0;
}

static void bucket_free(struct wq_rate_limiter *l)
{
    struct bucket_limiter *b = (struct bucket_limiter *)l;
    pthread_mutex_destroy(&b->mu);
    free(b);
}

static const struct wq_rate_limiter_ops bucket_ops = {bucket_when, bucket_forget,
                                                      bucket_num_requeues, bucket_free};

struct wq_rate_limiter *wq_limiter_bucket(double qps, int burst, const struct ck_clock *clock)
{
    struct bucket_limiter *b = ck_calloc(1, sizeof(*b));
    b->base.ops = &bucket_ops;
    pthread_mutex_init(&b->mu, NULL);
    b->qps = qps > 0 ? qps : 1;
    b->burst = burst > 0 ? burst : 1;
    b->tokens = b->burst;
    if (clock) {
        b->clock = *clock;
        b->has_clock = true;
    }
    b->last_ns = wq_clock_now(clock);
    return &b->base;
}

/* ---- max of ------------------------------------------------------------------------------- */

struct max_limiter {
    struct wq_rate_limiter base;
    struct wq_rate_limiter **ls;
    size_t n;
};

static int64_t max_when(struct wq_rate_limiter *l, const char *item)
{
    struct max_limiter *m = (struct max_limiter *)l;
    int64_t best = 0;
    for (size_t i = 0; i < m->n; i++) { /* every limiter records the failure */
        int64_t w = m->ls[i]->ops->when(m->ls[i], item);
        if (w > best)
            best = w;
    }
    return best;
}

static void max_forget(struct wq_rate_limiter *l, const char *item)
{
    struct max_limiter *m = (struct max_limiter *)l;
    for (size_t i = 0; i < m->n; i++)
        m->ls[i]->ops->forget(m->ls[i], item);
}

static int max_num_requeues(struct wq_rate_limiter *l, const char *item)
{
    struct max_limiter *m = (struct max_limiter *)l;
    int best = 0;
    for (size_t i = 0; i < m->n; i++) {
        int r = m->ls[i]->ops->num_requeues(m->ls[i], item);
        if (r > best)
            best = r;
    }
    return best;
}

static void max_free(struct wq_rate_limiter *l)
{
    struct max_limiter *m = (struct max_limiter *)l;
    for (size_t i = 0; i < m->n; i++)
        wq_limiter_free(m->ls[i]);
    free(m->ls);
    free(m);
}

static const struct wq_rate_limiter_ops max_ops = {max_when, max_forget, max_num_requeues,
                                                   max_free};

struct wq_rate_limiter *wq_limiter_max_of(struct wq_rate_limiter **limiters, size_t n)
{
    struct max_limiter *m = ck_calloc(1, sizeof(*m));
    m->base.ops = &max_ops;
    m->ls = ck_calloc(n, sizeof(*m->ls));
    for (size_t i = 0; i < n; i++)
        m->ls[i] = limiters[i];
    m->n = n;
    return &m->base;
}

struct wq_rate_limiter *wq_limiter_default(const struct ck_clock *clock)
{
    struct wq_rate_limiter *ls[2] = {
        wq_limiter_exponential(5 * 1000000LL, 1000 * 1000000000LL),
        wq_limiter_bucket(10, 100, clock),
    };
    return wq_limiter_max_of(ls, 2);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduling queue: see queue.h. */
#include "scheduler/queue.h"

#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/strmap.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

struct heap {
    struct sch_qpod **v;
    size_t n, cap;
};

struct sch_queue {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct sch_queue_opts o;
    struct heap active, backoff;
    struct ck_strmap all; /* key -> struct sch_qpod */
    size_t unsched, gated, in_flight;
    int64_t cycle, move_cycle;
    bool closed;
};

static int64_t now(const struct sch_queue *q)
{
    return q->o.now_ns ? q->o.now_ns() : ck_mono_ns();
}

int64_t sch_queue_backoff(const struct sch_queue *q, int attempts)
{
    int64_t d = q->o.initial_backoff_ns;
    for (int i = 1; i < attempts && d < q->o.max_backoff_ns; i++)
        d *= 2;
    return d > q->o.max_backoff_ns ? q->o.max_backoff_ns : d;
}

static int64_t backoff_expiry(const struct sch_queue *q, const struct sch_qpod *qp)
{
    return qp->last_failure + sch_queue_backoff(q, qp->attempts);
}

static bool before(const struct sch_queue *q, const struct heap *h, const struct sch_qpod *a,
                   const struct sch_qpod *b)
{
    if (h == &q->backoff)
        return backoff_expiry(q, a) < backoff_expiry(q, b);
    if (q->o.less)
        return q->o.less(q->o.less_self, a->p, a->ts, b->p, b->ts);
    if (a->p->priority != b->p->priority)
        return a->p->priority > b->p->priority;
    return a->ts < b->ts;
}

static void hswap(struct heap *h, size_t i, size_t j)
{
    struct sch_qpod *t = h->v[i];
    h->v[i] = h->v[j];
    h->v[j] = t;
    h->v[i]->hidx = i;
    h->v[j]->hidx = j;
}

static void hup(const struct sch_queue *q, struct heap *h, size_t i)
{
    while (i > 0 && before(q, h, h->v[i], h->v[(i - 1) / 2])) {
        hswap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void hdown(const struct sch_queue *q, struct heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && before(q, h, h->v[l], h->v[m]))
            m = l;
        if (r < h->n && before(q, h, h->v[r], h->v[m]))
            m = r;
        if (m == i)
            return;
        hswap(h, i, m);
        i = m;
    }
}

static void hpush(const struct sch_queue *q, struct heap *h, struct sch_qpod *qp)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->v = ck_realloc(h->v, h->cap * sizeof(*h->v));
    }
    qp->hidx = h->n;
    h->v[h->n++] = qp;
    hup(q, h, qp->hidx);
}

static void hremove(const struct sch_queue *q, struct heap *h, size_t i)
{
    h->n--;
    if (i != h->n) {
        hswap(h, i, h->n);
        hdown(q, h, i);
        hup(q, h, i);
    }
}

struct sch_queue *sch_queue_new(const struct sch_queue_opts *o)
{
    struct sch_queue *q = ck_calloc(1, sizeof(*q));
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (o)
        q->o = *o;
    if (!q->o.initial_backoff_ns)
        q->o.initial_backoff_ns = 1000000000LL;
    if (!q->o.max_backoff_ns)
        q->o.max_backoff_ns = 10000000000LL;
    if (!q->o.unschedulable_max_ns)
        q->o.unschedulable_max_ns = 300000000000LL;
    return q;
}

static void qpod_free(struct sch_qpod *qp)
{
    sch_pod_unref(qp->p);
    sch_pod_unref(qp->update);
    free(qp);
}

void sch_queue_free(struct sch_queue *q)
{
    if (!q)
        return;
    const char *k;
    void *v;
    for (size_t it = 0; ck_strmap_next(&q->all, &it, &k, &v);)
        qpod_free(v);
    ck_strmap_release(&q->all);
    free(q->active.v);
    free(q->backoff.v);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

/* Takes qp out of whatever sub-queue holds it. */
static void detach(struct sch_queue *q, struct sch_qpod *qp)
{
    switch (qp->where) {
    case SCH_Q_ACTIVE:
        hremove(q, &q->active, qp->hidx);
        break;
    case SCH_Q_BACKOFF:
        hremove(q, &q->backoff, qp->hidx);
        break;
    case SCH_Q_UNSCHED:
        q->unsched--;
        break;
    case SCH_Q_GATED:
        q->gated--;
        break;
    case SCH_Q_NONE:
        break;
    }
    qp->where = SCH_Q_NONE;
}

static void to_active(struct sch_queue *q, struct sch_qpod *qp, int64_t t)
{
    if (q->o.pre_enqueue && !q->o.pre_enqueue(q->o.arg, qp->p)) {
        qp->where = SCH_Q_GATED;
        q->gated++;
        return;
    }
    qp->ts = t;
    qp->where = SCH_Q_ACTIVE;
    hpush(q, &q->active, qp);
    pthread_cond_signal(&q->cond);
}

/* To backoffQ while the backoff runs, else activeQ. */
static void to_active_or_backoff(struct sch_queue *q, struct sch_qpod *qp, int64_t t)
{
    if (qp->attempts > 0 && backoff_expiry(q, qp) > t) {
        qp->where = SCH_Q_BACKOFF;
        hpush(q, &q->backoff, qp);
    } else {
        to_active(q, qp, t);
    }
}

void sch_queue_add(struct sch_queue *q, struct sch_pod *p)
{
    pthread_mutex_lock(&q->mu);
    struct sch_qpod *qp = ck_strmap_get(&q->all, p->key, NULL);
    if (qp) {
        pthread_mutex_unlock(&q->mu);
        sch_queue_update(q, p);
        return;
    }
    qp = ck_calloc(1, sizeof(*qp));
    qp->p = sch_pod_ref(p);
    qp->initial_ts = now(q);
    ck_strmap_put(&q->all, p->key, qp);
    if (!q->closed)
        to_active(q, qp, qp->initial_ts);
    pthread_mutex_unlock(&q->mu);
}

static bool same_json(const json_t *a, const json_t *b)
{
    return (!a && !b) || (a && b && json_equal((json_t *)a, (json_t *)b));
}

void sch_queue_update(struct sch_queue *q, struct sch_pod *p)
{
    pthread_mutex_lock(&q->mu);
    struct sch_qpod *qp = ck_strmap_get(&q->all, p->key, NULL);
    if (!qp) {
        pthread_mutex_unlock(&q->mu);
        sch_queue_add(q, p);
        return;
    }
    if (qp->in_flight) {
        sch_pod_unref(qp->update);
        qp->update = sch_pod_ref(p);
        pthread_mutex_unlock(&q->mu);
        return;
    }
    bool moved = !same_json(json_object_get(qp->p->obj, "spec"), json_object_get(p->obj, "spec")) ||
                 !same_json(qp->p->labels, p->labels);
    struct sch_pod *old = qp->p;
    qp->p = sch_pod_ref(p);
    int64_t t = now(q);
    switch (qp->where) {
    case SCH_Q_ACTIVE:
        hdown(q, &q->active, qp->hidx);
        hup(q, &q->active, qp->hidx);
        break;
    case SCH_Q_BACKOFF:
        break;
    case SCH_Q_UNSCHED:
    case SCH_Q_GATED:
        if (moved) {
            detach(q, qp);
            to_active_or_backoff(q, qp, t);
        }
        break;
    case SCH_Q_NONE:
        break;
    }
    sch_pod_unref(old);
    pthread_mutex_unlock(&q->mu);
}

void sch_queue_delete(struct sch_queue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    struct sch_qpod *qp = ck_strmap_get(&q->all, key, NULL);
    if (qp && qp->in_flight) {
        qp->deleted = true;
    } else if (qp) {
        detach(q, qp);
        ck_strmap_del(&q->all, key, NULL);
        qpod_free(qp);
    }
    pthread_mutex_unlock(&q->mu);
}

struct sch_qpod *sch_queue_pop(struct sch_queue *q, int64_t timeout_ns)
{
    pthread_mutex_lock(&q->mu);
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    int64_t end = (int64_t)dl.tv_sec * 1000000000LL + dl.tv_nsec + timeout_ns;
    dl.tv_sec = (time_t)(end / 1000000000LL);
    dl.tv_nsec = (long)(end % 1000000000LL);
    while (!q->closed && q->active.n == 0) {
        if (pthread_cond_timedwait(&q->cond, &q->mu, &dl) == ETIMEDOUT)
            break;
    }
    struct sch_qpod *qp = NULL;
    if (!q->closed && q->active.n) {
        qp = q->active.v[0];
        hremove(q, &q->active, 0);
        qp->where = SCH_Q_NONE;
        qp->in_flight = true;
        qp->attempts++;
        qp->cycle = ++q->cycle;
        q->in_flight++;
    }
    pthread_mutex_unlock(&q->mu);
    return qp;
}

void sch_queue_done(struct sch_queue *q, struct sch_qpod *qp)
{
    pthread_mutex_lock(&q->mu);
    if (qp->in_flight)
        q->in_flight--;
    ck_strmap_del(&q->all, qp->p->key, NULL);
    qpod_free(qp);
    pthread_mutex_unlock(&q->mu);
}

void sch_queue_requeue(struct sch_queue *q, struct sch_qpod *qp, bool error)
{
    pthread_mutex_lock(&q->mu);
    if (qp->in_flight)
        q->in_flight--;
    qp->in_flight = false;
    if (qp->deleted || q->closed) {
        ck_strmap_del(&q->all, qp->p->key, NULL);
        qpod_free(qp);
        pthread_mutex_unlock(&q->mu);
        return;
    }
    if (qp->update) {
        sch_pod_unref(qp->p);
        qp->p = qp->update;
        qp->update = NULL;
    }
    int64_t t = now(q);
    qp->last_failure = t;
    if (error || q->move_cycle >= qp->cycle) {
        qp->where = SCH_Q_BACKOFF;
        hpush(q, &q->backoff, qp);
    } else {
        qp->where = SCH_Q_UNSCHED;
        q->unsched++;
    }
    pthread_mutex_unlock(&q->mu);
}

static void move_where(struct sch_queue *q, enum sch_qwhere from, int64_t older_than)
{
    int64_t t = now(q);
    const char *k;
    void *v;
    for (size_t it = 0; ck_strmap_next(&q->all, &it, &k, &v);) {
        struct sch_qpod *qp = v;
        if (qp->where != from || (older_than && t - qp->last_failure < older_than))
            continue;
        detach(q, qp);
        to_active_or_backoff(q, qp, t);
    }
}

void sch_queue_move_all(struct sch_queue *q)
{
    pthread_mutex_lock(&q->mu);
    if (q->unsched)
        move_where(q, SCH_Q_UNSCHED, 0);
    q->move_cycle = q->cycle;
    pthread_mutex_unlock(&q->mu);
}

void sch_queue_flush(struct sch_queue *q)
{
    pthread_mutex_lock(&q->mu);
    int64_t t = now(q);
    while (q->backoff.n && backoff_expiry(q, q->backoff.v[0]) <= t) {
        struct sch_qpod *qp = q->backoff.v[0];
        hremove(q, &q->backoff, 0);
        qp->where = SCH_Q_NONE;
        to_active(q, qp, t);
    }
    if (q->unsched)
        move_where(q, SCH_Q_UNSCHED, q->o.unschedulable_max_ns);
    pthread_mutex_unlock(&q->mu);
}

void sch_queue_close(struct sch_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

void sch_queue_sizes(struct sch_queue *q, struct sch_queue_sizes *out)
{
    pthread_mutex_lock(&q->mu);
    out->active = q->active.n;
    out->backoff = q->backoff.n;
    out->unschedulable = q->unsched;
    out->gated = q->gated;
    out->in_flight = q->in_flight;
    pthread_mutex_unlock(&q->mu);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* API Priority and Fairness in the front end (see http_apf.h), after upstream's
 * util/flowcontrol: the server's total concurrency is the worker pool (upstream's
 * --max-requests-inflight + --max-mutating-requests-inflight, 600 by default, sized to ckube's
 * workers since a seat here is a worker's share); each Limited level gets
 * ceil(total * nominalConcurrencyShares / sum of shares) seats (no borrowing between levels);
 * requests of a flow go to the shortest queue of the flow's shuffle-sharded hand, and the
 * non-empty queue that has received the least service (virtual time in seat units) is served
 * first, a request of width w running when w seats are free (or when the level is idle). A
 * full queue, a Reject level at its limit, or 15 s in a queue (upstream's wait limit) answer
 * upstream's plain-text 429 with Retry-After. The exempt level is never queued; long-running
 * requests (proxy, exec, attach, port-forward) are not limited, as upstream; a watch holds its
 * seat only while it initialises (api_handle's return). A LIST is charged upstream's list
 * work estimate from the engine's object count.
 *
 * Rapid reset: each connection may have at most HTTP_APF_CONN_MAX jobs outstanding, counted
 * until the job is back on its loop even when the stream was reset; more get 429. A reset
 * stream's job still queued is dropped unrun (it is dispatched without seats), and a running
 * one's answer is dropped when it comes back. */
#include "apiserver/http/http_apf.h"
#include "apiserver/authz/authz.h"
#include "apiserver/http/http_int.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define HTTP_APF_CONN_MAX 100
#define HTTP_APF_WAIT_LIMIT_NS (15LL * 1000000000LL)
#define APF_MAX_LEVELS 32
#define APF_MAX_STATS 128
#define APF_CONN_BUCKETS 1024
#define APF_BATCH 64

/* ---- pure core ------------------------------------------------------------------------ */

void apf_deal(uint64_t hash, int deck, int hand, int *out)
{
    int rem[APF_MAX_HAND];

    if (hand > APF_MAX_HAND)
        hand = APF_MAX_HAND;
    if (hand > deck)
        hand = deck;
    for (int i = 0; i < hand; i++) {
        uint64_t next = hash / (uint64_t)(deck - i);
        rem[i] = (int)(hash - (uint64_t)(deck - i) * next);
        hash = next;
    }
    for (int i = 0; i < hand; i++) {
        int card = rem[i];
        for (int j = i; j > 0; j--)
            if (card >= rem[j - 1])
                card++;
        out[i] = card;
    }
}

int apf_nominal_cl(int total, int shares, int total_shares)
{
    if (total_shares <= 0 || shares <= 0)
        return 1;
    long long v = ((long long)total * shares + total_shares - 1) / total_shares;
    return v < 1 ? 1 : (int)v;
}

int apf_seats(long long objects, int cl)
{
    int max = (int)ceil(0.15 * cl);
    if (max > 10)
        max = 10;
    if (max < 1)
        max = 1;
    if (objects < 0)
        return 1;
    long long s = (objects + 99) / 100;
    return s < 1 ? 1 : s > max ? max : (int)s;
}

void apf_level_init(struct apf_level *l, const char *name, int cl, int queues, int hand, int qll,
                    bool reject)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->name, sizeof(l->name), "%s", name);
    l->cl = cl < 1 ? 1 : cl;
    l->reject = reject;
    l->nqueues = queues < 1 ? 1 : queues;
    l->hand = hand < 1 ? 1 : hand > l->nqueues ? l->nqueues : hand;
    if (l->hand > APF_MAX_HAND)
        l->hand = APF_MAX_HAND;
    l->qll = qll < 1 ? 1 : qll;
    l->q = ck_calloc((size_t)l->nqueues, sizeof(*l->q));
}

void apf_level_release(struct apf_level *l)
{
    free(l->q);
    l->q = NULL;
}

static bool fits(const struct apf_level *l, int w)
{
    return l->seats_in_use == 0 || l->seats_in_use + w <= l->cl;
}

enum apf_verdict apf_level_admit(struct apf_level *l, struct apf_item *it, uint64_t flow_hash,
                                 int64_t now_ns)
{
    int hand[APF_MAX_HAND], best = -1;
    long best_load = 0;

    it->next = NULL;
    it->queue = -1;
    if (l->waiting == 0 && fits(l, it->width)) {
        l->seats_in_use += it->width;
        return APF_RUN;
    }
    if (l->reject)
        return APF_REJECT_CL;
    apf_deal(flow_hash, l->nqueues, l->hand, hand);
    for (int i = 0; i < l->hand; i++) {
        const struct apf_queue *q = &l->q[hand[i]];
        long load = (long)q->seats_waiting + q->seats_exec;
        if (best < 0 || load < best_load) {
            best = hand[i];
            best_load = load;
        }
    }
    struct apf_queue *q = &l->q[best];
    if (q->n >= l->qll)
        return APF_REJECT_QUEUE_FULL;
    if (q->n == 0 && q->vt < l->vnow)
        q->vt = l->vnow; /* an idle queue banks no credit */
    it->queue = best;
    it->enq_ns = now_ns;
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->n++;
    q->seats_waiting += it->width;
    l->waiting++;
    return APF_QUEUED;
}

static void unlink_head(struct apf_level *l, struct apf_queue *q)
{
    struct apf_item *it = q->head;
    q->head = it->next;
    if (!q->head)
        q->tail = NULL;
    it->next = NULL;
    q->n--;
    q->seats_waiting -= it->width;
    l->waiting--;
}

struct apf_item *apf_level_next(struct apf_level *l)
{
    struct apf_queue *best = NULL;

    if (!l->waiting)
        return NULL;
    for (int i = 0; i < l->nqueues; i++) {
        struct apf_queue *q = &l->q[i];
        if (q->head && q->head->gone) { /* costs nothing: out at once, unrun */
            struct apf_item *it = q->head;
            unlink_head(l, q);
            it->queue = -1;
            return it;
        }
        if (q->head && (!best || q->vt < best->vt))
            best = q;
    }
    if (!best || !fits(l, best->head->width))
        return NULL;
    struct apf_item *it = best->head;
    unlink_head(l, best);
    if (best->vt > l->vnow)
        l->vnow = best->vt;
    best->vt += it->width;
    best->seats_exec += it->width;
    l->seats_in_use += it->width;
    return it;
}

void apf_level_done(struct apf_level *l, const struct apf_item *it)
{
    l->seats_in_use -= it->width;
    if (l->seats_in_use < 0)
        l->seats_in_use = 0;
    if (it->queue >= 0 && it->queue < l->nqueues) {
        l->q[it->queue].seats_exec -= it->width;
        if (l->q[it->queue].seats_exec < 0)
            l->q[it->queue].seats_exec = 0;
    }
}

struct apf_item *apf_level_expire(struct apf_level *l, int64_t deadline_ns)
{
    struct apf_queue *oldest = NULL;

    for (int i = 0; i < l->nqueues && l->waiting; i++) {
        struct apf_queue *q = &l->q[i];
        if (q->head && q->head->enq_ns < deadline_ns &&
            (!oldest || q->head->enq_ns < oldest->head->enq_ns))
            oldest = q;
    }
    if (!oldest)
        return NULL;
    struct apf_item *it = oldest->head;
    unlink_head(l, oldest);
    it->queue = -1;
    return it;
}

/* ---- the server's state ---------------------------------------------------------------- */

enum { R_QUEUE_FULL, R_CL, R_TIMEOUT, R_CONN, R_N };
static const char *const reason_names[R_N] = {"queue-full", "concurrency-limit", "time-out",
                                              "connection-limit"};
static const double wait_bounds[] = {0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30};
#define NWAIT (sizeof(wait_bounds) / sizeof(wait_bounds[0]))

struct apf_stat { /* one (flow schema, priority level) pair */
    char fs[64], pl[64];
    long inqueue, exec_seats;
    unsigned long long dispatched, rejected[R_N];
    unsigned long long wait_b[2][NWAIT + 1]; /* [execute false/true], last: +Inf */
    double wait_sum[2];
    unsigned long long wait_n[2];
};

struct conn_count {
    const void *conn;
    int n;
    struct conn_count *next;
};

struct http_apf {
    pthread_mutex_t mu;
    int total;
    struct apf_level levels[APF_MAX_LEVELS];
    int nlevels;
    struct apf_stat stats[APF_MAX_STATS];
    int nstats;
    struct conn_count *conns[APF_CONN_BUCKETS];
};

struct http_apf_ticket {
    struct api_fc_class c;
    struct apf_item it;
    struct http_job *job;
    struct http_apf *a;
    int level, stat; /* -1: none */
    bool limited;    /* charged to a level (not exempt, not long-running) */
    bool executing;  /* holds its seats */
    atomic_bool gone;
    int rejected; /* R_TIMEOUT when rejected in its queue, else -1 */
    const void *conn;
};

struct http_apf *http_apf_new(int total_seats)
{
    struct http_apf *a = ck_calloc(1, sizeof(*a));
    pthread_mutex_init(&a->mu, NULL);
    a->total = total_seats > 0 ? total_seats : 32;
    return a;
}

void http_apf_free(struct http_apf *a)
{
    if (!a)
        return;
    for (int i = 0; i < a->nlevels; i++)
        apf_level_release(&a->levels[i]);
    for (int b = 0; b < APF_CONN_BUCKETS; b++)
        for (struct conn_count *c = a->conns[b], *n; c; c = n) {
            n = c->next;
            free(c);
        }
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static size_t conn_bucket(const void *conn)
{
    uintptr_t v = (uintptr_t)conn;
    return (size_t)((v >> 4) ^ (v >> 14)) % APF_CONN_BUCKETS;
}

/* a->mu held: adjusts the connection's count; returns the new count. */
static int conn_add(struct http_apf *a, const void *conn, int d)
{
    struct conn_count **pp = &a->conns[conn_bucket(conn)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->conn == conn)
            break;
    if (!*pp) {
        if (d <= 0)
            return 0;
        *pp = ck_calloc(1, sizeof(**pp));
        (*pp)->conn = conn;
    }
    int n = (*pp)->n += d;
    if (n <= 0) {
        struct conn_count *c = *pp;
        *pp = c->next;
        free(c);
        n = 0;
    }
    return n;
}

/* a->mu held */
static int stat_of(struct http_apf *a, const char *fs, const char *pl)
{
    for (int i = 0; i < a->nstats; i++)
        if (!strcmp(a->stats[i].fs, fs) && !strcmp(a->stats[i].pl, pl))
            return i;
    if (a->nstats == APF_MAX_STATS)
        return -1;
    struct apf_stat *st = &a->stats[a->nstats];
    memset(st, 0, sizeof(*st));
    snprintf(st->fs, sizeof(st->fs), "%s", fs);
    snprintf(st->pl, sizeof(st->pl), "%s", pl);
    return a->nstats++;
}

/* a->mu held: the level for c (created, or its limits refreshed from the configuration). */
static int level_of(struct http_apf *a, const struct api_fc_class *c)
{
    int cl = apf_nominal_cl(a->total, c->shares, c->total_shares);
    for (int i = 0; i < a->nlevels; i++) {
        struct apf_level *l = &a->levels[i];
        if (strcmp(l->name, c->priority_level))
            continue;
        l->cl = cl;
        l->reject = c->reject;
        l->qll = c->queue_length_limit;
        if (l->waiting == 0 && (l->nqueues != c->queues || l->hand != c->hand_size)) {
            int in_use = l->seats_in_use;
            apf_level_release(l); /* executing requests keep their seats (queue -1 below) */
            apf_level_init(l, c->priority_level, cl, c->queues, c->hand_size, c->queue_length_limit,
                           c->reject);
            l->seats_in_use = in_use;
        }
        return i;
    }
    if (a->nlevels == APF_MAX_LEVELS)
        return -1;
    apf_level_init(&a->levels[a->nlevels], c->priority_level, cl, c->queues, c->hand_size,
                   c->queue_length_limit, c->reject);
    return a->nlevels++;
}

static void observe_wait(struct apf_stat *st, bool exec, double secs)
{
    size_t b = 0;
    while (b < NWAIT && secs > wait_bounds[b])
        b++;
    st->wait_b[exec][b]++;
    st->wait_sum[exec] += secs;
    st->wait_n[exec]++;
}

/* ---- loop side ---------------------------------------------------------------------------- */

struct http_apf_ticket *http_apf_classify(struct http_server *s, struct st_h2o_req_t *req,
                                          const char *path, const struct authn_user *u, int midx,
                                          bool long_running)
{
    struct http_apf_ticket *t;

    if (!s->apf)
        return NULL;
    t = ck_calloc(1, sizeof(*t));
    t->level = t->stat = -1;
    t->rejected = -1;
    t->conn = req->conn;
    t->a = s->apf;
    t->it.owner = t;
    t->it.width = 1;
    atomic_init(&t->gone, false);
    t->c.exempt = true;
    if (s->ops->flowcontrol && !long_running) {
        struct authz_attrs at;
        char *query = req->query_at != SIZE_MAX ? ck_strndup(req->path.base + req->query_at + 1,
                                                             req->path.len - req->query_at - 1)
                                                : NULL;
        char *method = midx == HTTP_NMETHODS - 1 ? ck_strndup(req->method.base, req->method.len)
                                                 : ck_strdup(http_method_name(midx));
        authz_attrs_from_request(method, path, query, &at);
        struct rbac_attrs ra = authz_rbac_attrs(&at, u->name, (const char *const *)u->groups);
        if (s->ops->flowcontrol(s->eng, &ra, &t->c) < 0) {
            memset(&t->c, 0, sizeof(t->c));
            t->c.exempt = true;
        }
        authz_attrs_release(&at);
        free(method);
        free(query);
    }
    t->limited = !t->c.exempt && !long_running;
    return t;
}

static void respond_429(struct http_server *s, h2o_req_t *req, int midx, int64_t t0)
{
    static const char msg[] = "Too many requests, please try again later.\n";
    size_t n = sizeof(msg) - 1;

    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/plain; charset=utf-8"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0,
                          NULL, H2O_STRLIT("nosniff"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("retry-after"), 0, NULL,
                          H2O_STRLIT("1"));
    http_respond_bytes(req, 429, ck_strdup(msg), n);
    http_metrics_observe(&s->m, midx, 429, ck_mono_ns() - t0, true);
    atomic_fetch_sub(&s->m.in_flight, 1);
}

static void add_pf_headers(h2o_req_t *req, const struct http_apf_ticket *t)
{
    if (!t->c.fs_uid[0])
        return;
    h2o_iovec_t f = h2o_strdup(&req->pool, t->c.fs_uid, SIZE_MAX);
    h2o_iovec_t p = h2o_strdup(&req->pool, t->c.pl_uid, SIZE_MAX);
    h2o_add_header_by_str(&req->pool, &req->res.headers,
                          H2O_STRLIT("x-kubernetes-pf-flowschema-uid"), 0, NULL, f.base, f.len);
    h2o_add_header_by_str(&req->pool, &req->res.headers,
                          H2O_STRLIT("x-kubernetes-pf-prioritylevel-uid"), 0, NULL, p.base, p.len);
}

bool http_apf_precheck(struct http_server *s, struct http_apf_ticket *t, struct st_h2o_req_t *req,
                       int midx, int64_t t0)
{
    struct http_apf *a = s->apf;
    int reason = -1;

    pthread_mutex_lock(&a->mu);
    if (conn_add(a, t->conn, 1) > HTTP_APF_CONN_MAX)
        reason = R_CONN;
    if (t->limited) {
        t->level = level_of(a, &t->c);
        if (t->level < 0) {
            t->limited = false;
        } else {
            struct apf_level *l = &a->levels[t->level];
            t->it.width = apf_seats(t->c.objects, l->cl);
            if (reason < 0 && l->reject && (l->waiting || !fits(l, t->it.width)))
                reason = R_CL;
        }
    }
    if (t->c.fs_uid[0])
        t->stat = stat_of(a, t->c.flow_schema, t->c.priority_level);
    if (reason >= 0) {
        conn_add(a, t->conn, -1);
        if (t->stat >= 0)
            a->stats[t->stat].rejected[reason]++;
    }
    pthread_mutex_unlock(&a->mu);
    if (reason < 0)
        return true;
    ck_v(4, "priority and fairness: 429 (%s) for %s / %s", reason_names[reason], t->c.flow_schema,
         t->c.priority_level);
    add_pf_headers(req, t);
    free(t);
    respond_429(s, req, midx, t0);
    return false;
}

static void hand_to_pool(struct http_server *s, struct http_job **v, size_t n)
{
    if (!n)
        return;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < n; i++) {
        h2o_linklist_insert(&s->jobs, &v[i]->msg.link);
        s->njobs++;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* a->mu held: moves what timed out and what may run now of level l into v (at most cap). */
static size_t collect(struct http_apf *a, struct apf_level *l, struct http_job **v, size_t cap)
{
    int64_t now = ck_mono_ns();
    struct apf_item *it;
    size_t n = 0;

    while (n < cap && (it = apf_level_expire(l, now - HTTP_APF_WAIT_LIMIT_NS))) {
        struct http_apf_ticket *t = it->owner;
        t->rejected = R_TIMEOUT;
        if (t->stat >= 0) {
            a->stats[t->stat].inqueue--;
            a->stats[t->stat].rejected[R_TIMEOUT]++;
            observe_wait(&a->stats[t->stat], false, (double)(now - it->enq_ns) / 1e9);
        }
        v[n++] = t->job;
    }
    while (n < cap && (it = apf_level_next(l))) {
        struct http_apf_ticket *t = it->owner;
        t->executing = !it->gone;
        if (t->stat >= 0) {
            struct apf_stat *st = &a->stats[t->stat];
            st->inqueue--;
            if (t->executing) {
                st->exec_seats += it->width;
                st->dispatched++;
                observe_wait(st, true, (double)(now - it->enq_ns) / 1e9);
            }
        }
        v[n++] = t->job;
    }
    return n;
}

bool http_apf_enqueue(struct http_server *s, struct http_job *j)
{
    struct http_apf *a = s->apf;
    struct http_apf_ticket *t = j->apf;
    enum apf_verdict v;

    t->job = j;
    if (!t->limited) {
        if (t->stat >= 0) {
            pthread_mutex_lock(&a->mu);
            a->stats[t->stat].exec_seats++;
            a->stats[t->stat].dispatched++;
            pthread_mutex_unlock(&a->mu);
            t->executing = true;
        }
        return false;
    }
    pthread_mutex_lock(&a->mu);
    struct apf_level *l = &a->levels[t->level];
    v = apf_level_admit(l, &t->it, t->c.flow_hash, ck_mono_ns());
    if (v == APF_RUN) {
        t->executing = true;
        if (t->stat >= 0) {
            a->stats[t->stat].exec_seats += t->it.width;
            a->stats[t->stat].dispatched++;
            observe_wait(&a->stats[t->stat], true, 0);
        }
    } else if (v == APF_QUEUED) {
        if (t->stat >= 0)
            a->stats[t->stat].inqueue++;
    } else { /* rejected: the worker skips it, the loop answers 429 (http_apf_respond) */
        t->rejected = v == APF_REJECT_CL ? R_CL : R_QUEUE_FULL;
        if (t->stat >= 0)
            a->stats[t->stat].rejected[t->rejected]++;
    }
    pthread_mutex_unlock(&a->mu);
    return v == APF_QUEUED;
}

/* ---- worker side -------------------------------------------------------------------------- */

bool http_apf_skip(struct http_apf_ticket *t)
{
    return t && (t->rejected >= 0 || atomic_load(&t->gone));
}

/* Returns seats (width on level/queue) and hands what may run now to the pool. */
static void release(struct http_server *s, int level, int queue, int width, int stat)
{
    struct http_apf *a = s->apf;
    struct http_job *v[APF_BATCH];
    size_t n = 0;

    pthread_mutex_lock(&a->mu);
    if (level >= 0) {
        struct apf_item it = {.width = width, .queue = queue};
        apf_level_done(&a->levels[level], &it);
        n = collect(a, &a->levels[level], v, APF_BATCH);
    }
    if (stat >= 0)
        a->stats[stat].exec_seats -= width;
    pthread_mutex_unlock(&a->mu);
    hand_to_pool(s, v, n);
}

/* Seats held by a response being sent: upstream counts a request's seats until its handler
 * returns, which includes writing the response, so a big LIST keeps its seats (and the loop's
 * time spent on it stays bounded) until the last byte is out or the client leaves. */
struct apf_hold {
    struct http_server *s;
    int level, queue, width, stat;
};

static void hold_dispose(void *p)
{
    struct apf_hold *h = p;
    release(h->s, h->level, h->queue, h->width, h->stat);
}

/* ---- loop side, after the worker ----------------------------------------------------------- */

void http_apf_cancel(struct http_apf_ticket *t)
{
    if (!t)
        return;
    atomic_store(&t->gone, true);
    pthread_mutex_lock(&t->a->mu);
    t->it.gone = true; /* still queued: dispatched unrun, without seats */
    pthread_mutex_unlock(&t->a->mu);
}

bool http_apf_respond(struct http_server *s, struct http_job *j)
{
    struct http_apf_ticket *t = j->apf;

    if (!t)
        return false;
    if (t->executing) {
        int level = t->limited ? t->level : -1, width = t->limited ? t->it.width : 1;
        t->executing = false;
        if (j->req && j->res != API_WATCH) {
            struct apf_hold *h = h2o_mem_alloc_shared(&j->req->pool, sizeof(*h), hold_dispose);
            *h = (struct apf_hold){s, level, t->it.queue, width, t->stat};
        } else { /* gone, or a watch: it counted only while it initialised */
            release(s, level, t->it.queue, width, t->stat);
        }
    }
    if (!j->req)
        return false;
    add_pf_headers(j->req, t);
    if (t->rejected < 0)
        return false;
    ck_v(4, "priority and fairness: 429 (%s) for %s / %s", reason_names[t->rejected],
         t->c.flow_schema, t->c.priority_level);
    respond_429(s, j->req, j->midx, j->start_ns);
    return true;
}

void http_apf_ticket_free(struct http_server *s, struct http_apf_ticket *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&s->apf->mu);
    conn_add(s->apf, t->conn, -1);
    pthread_mutex_unlock(&s->apf->mu);
    free(t);
}

void http_apf_flush(struct http_server *s)
{
    struct http_apf *a = s->apf;

    if (!a)
        return;
    for (;;) {
        struct http_job *v[APF_BATCH];
        size_t n = 0;
        pthread_mutex_lock(&a->mu);
        for (int i = 0; i < a->nlevels && n < APF_BATCH; i++) {
            struct apf_item *it;
            while (n < APF_BATCH && (it = apf_level_expire(&a->levels[i], INT64_MAX))) {
                struct http_apf_ticket *t = it->owner;
                t->rejected = R_TIMEOUT;
                if (t->stat >= 0)
                    a->stats[t->stat].inqueue--;
                v[n++] = t->job;
            }
        }
        pthread_mutex_unlock(&a->mu);
        if (!n)
            return;
        hand_to_pool(s, v, n);
    }
}

/* ---- metrics ------------------------------------------------------------------------------- */

int http_apf_metrics(struct http_server *s, struct ck_buf *out)
{
    struct http_apf *a = s->apf;

    if (!a)
        return 0;
    pthread_mutex_lock(&a->mu);
    ck_buf_appends(out, "# HELP apiserver_flowcontrol_current_inqueue_requests [BETA] Number of "
                        "requests currently pending in queues of the API Priority and Fairness "
                        "subsystem\n# TYPE apiserver_flowcontrol_current_inqueue_requests gauge\n");
    for (int i = 0; i < a->nstats; i++)
        ck_buf_appendf(out,
                       "apiserver_flowcontrol_current_inqueue_requests{flow_schema=\"%s\","
                       "priority_level=\"%s\"} %ld\n",
                       a->stats[i].fs, a->stats[i].pl, a->stats[i].inqueue);
    ck_buf_appends(out, "# HELP apiserver_flowcontrol_current_executing_seats [BETA] Concurrency "
                        "(number of seats) occupied by the currently executing (initial stage "
                        "for a WATCH, any stage otherwise) requests in the API Priority and "
                        "Fairness subsystem\n"
                        "# TYPE apiserver_flowcontrol_current_executing_seats gauge\n");
    for (int i = 0; i < a->nstats; i++)
        ck_buf_appendf(out,
                       "apiserver_flowcontrol_current_executing_seats{flow_schema=\"%s\","
                       "priority_level=\"%s\"} %ld\n",
                       a->stats[i].fs, a->stats[i].pl, a->stats[i].exec_seats);
    ck_buf_appends(out, "# HELP apiserver_flowcontrol_dispatched_requests_total [BETA] Number of "
                        "requests executed by API Priority and Fairness subsystem\n"
                        "# TYPE apiserver_flowcontrol_dispatched_requests_total counter\n");
    for (int i = 0; i < a->nstats; i++)
        ck_buf_appendf(out,
                       "apiserver_flowcontrol_dispatched_requests_total{flow_schema=\"%s\","
                       "priority_level=\"%s\"} %llu\n",
                       a->stats[i].fs, a->stats[i].pl, a->stats[i].dispatched);
    ck_buf_appends(out, "# HELP apiserver_flowcontrol_rejected_requests_total [BETA] Number of "
                        "requests rejected by API Priority and Fairness subsystem\n"
                        "# TYPE apiserver_flowcontrol_rejected_requests_total counter\n");
    for (int i = 0; i < a->nstats; i++)
        for (int r = 0; r < R_N; r++)
            if (a->stats[i].rejected[r])
                ck_buf_appendf(out,
                               "apiserver_flowcontrol_rejected_requests_total{flow_schema=\"%s\","
                               "priority_level=\"%s\",reason=\"%s\"} %llu\n",
                               a->stats[i].fs, a->stats[i].pl, reason_names[r],
                               a->stats[i].rejected[r]);
    ck_buf_appends(out, "# HELP apiserver_flowcontrol_request_wait_duration_seconds [BETA] Length "
                        "of time a request spent waiting in its queue\n"
                        "# TYPE apiserver_flowcontrol_request_wait_duration_seconds histogram\n");
    for (int i = 0; i < a->nstats; i++)
        for (int e = 0; e < 2; e++) {
            const struct apf_stat *st = &a->stats[i];
            unsigned long long cum = 0;
            if (!st->wait_n[e])
                continue;
            for (size_t b = 0; b <= NWAIT; b++) {
                cum += st->wait_b[e][b];
                char le[32];
                if (b == NWAIT)
                    snprintf(le, sizeof(le), "+Inf");
                else
                    snprintf(le, sizeof(le), "%g", wait_bounds[b]);
                ck_buf_appendf(out,
                               "apiserver_flowcontrol_request_wait_duration_seconds_bucket{"
                               "execute=\"%s\",flow_schema=\"%s\",priority_level=\"%s\",le=\"%s\"} "
                               "%llu\n",
                               e ? "true" : "false", st->fs, st->pl, le, cum);
            }
            ck_buf_appendf(out,
                           "apiserver_flowcontrol_request_wait_duration_seconds_sum{execute=\"%s\","
                           "flow_schema=\"%s\",priority_level=\"%s\"} %.6f\n"
                           "apiserver_flowcontrol_request_wait_duration_seconds_count{execute="
                           "\"%s\",flow_schema=\"%s\",priority_level=\"%s\"} %llu\n",
                           e ? "true" : "false", st->fs, st->pl, st->wait_sum[e],
                           e ? "true" : "false", st->fs, st->pl, st->wait_n[e]);
        }
    ck_buf_appends(out, "# HELP apiserver_flowcontrol_nominal_limit_seats [BETA] Nominal number "
                        "of execution seats configured for each priority level\n"
                        "# TYPE apiserver_flowcontrol_nominal_limit_seats gauge\n");
    for (int i = 0; i < a->nlevels; i++)
        ck_buf_appendf(out, "apiserver_flowcontrol_nominal_limit_seats{priority_level=\"%s\"} %d\n",
                       a->levels[i].name, a->levels[i].cl);
    pthread_mutex_unlock(&a->mu);
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* API Priority and Fairness, the front end's half (http_apf.c): per priority level a seat
 * budget (nominalConcurrencyShares of the worker pool), shuffle-sharded fair queues, 429 for
 * what does not fit, the per-connection bound on outstanding requests (HTTP/2 rapid reset)
 * and the apiserver_flowcontrol_* metrics. The engine classifies (api_flowcontrol_classify).
 *
 * The fair-queuing core (struct apf_level and the apf_* functions) is pure and
 * single-threaded (the caller locks), so unit tests drive it directly. */
#ifndef CK_APISERVER_HTTP_APF_H
#define CK_APISERVER_HTTP_APF_H

#include "apiserver/api.h"
#include "lib/buf.h"

#include <stdbool.h>
#include <stdint.h>

/* ---- pure core ------------------------------------------------------------------------ */

#define APF_MAX_HAND 15

struct apf_item {
    struct apf_item *next; /* in its queue */
    int width;             /* seats it occupies while it executes */
    int queue;             /* index of its queue while queued */
    int64_t enq_ns;
    bool gone;   /* the client left: dispatched without seats, never run */
    void *owner; /* the caller's (the job) */
};

struct apf_queue {
    struct apf_item *head, *tail;
    int n;             /* requests waiting */
    int seats_waiting; /* their widths */
    int seats_exec;    /* seats of its requests executing */
    double vt;         /* virtual time: service received (seat units) */
};

struct apf_level {
    char name[64];
    int cl;           /* nominal concurrency limit (seats) */
    int seats_in_use; /* executing */
    bool reject;      /* limitResponse Reject */
    int hand, qll;
    int nqueues;
    struct apf_queue *q;
    int waiting; /* requests in all queues */
    double vnow; /* the level's virtual clock */
};

enum apf_verdict {
    APF_RUN = 0,   /* seats charged: run it now */
    APF_QUEUED,    /* waits in a queue */
    APF_REJECT_CL, /* Reject level at its limit ("concurrency-limit") */
    APF_REJECT_QUEUE_FULL,
};

/* Upstream's shufflesharding.Dealer: hand distinct queue indexes in [0, deck) from hash. */
void apf_deal(uint64_t hash, int deck, int hand, int *out);
/* ceil(total * shares / total_shares), at least 1. */
int apf_nominal_cl(int total, int shares, int total_shares);
/* Seats for a request (upstream's list work estimator, 100 objects a seat, between 1 and
 * min(10, ceil(15% of cl))); objects < 0: not a LIST, 1 seat. */
int apf_seats(long long objects, int cl);

void apf_level_init(struct apf_level *l, const char *name, int cl, int queues, int hand, int qll,
                    bool reject);
void apf_level_release(struct apf_level *l);
/* Admits it (width set) for a flow: runs at once when seats allow and nothing waits,
 * else queues it in the shortest queue of the flow's hand (or rejects). */
enum apf_verdict apf_level_admit(struct apf_level *l, struct apf_item *it, uint64_t flow_hash,
                                 int64_t now_ns);
/* The next queued item that may run now (seats charged; a gone item is charged nothing), or
 * NULL. Fair: the non-empty queue with the least virtual time goes first. */
struct apf_item *apf_level_next(struct apf_level *l);
/* Returns an executing item's seats. */
void apf_level_done(struct apf_level *l, const struct apf_item *it);
/* Removes and returns the oldest queued item enqueued before deadline_ns, or NULL. */
struct apf_item *apf_level_expire(struct apf_level *l, int64_t deadline_ns);

/* ---- the server's glue ---------------------------------------------------------------- */

struct http_server;
struct http_job;
struct http_apf;
struct http_apf_ticket;
struct authn_user;

struct http_apf *http_apf_new(int total_seats);
void http_apf_free(struct http_apf *a);

struct st_h2o_req_t;

/* Loop thread, before the job is built: the request's class (the engine's answer; everything
 * exempt without the engine op) and the connection's count. NULL when APF is off. */
struct http_apf_ticket *http_apf_classify(struct http_server *s, struct st_h2o_req_t *req,
                                          const char *path, const struct authn_user *u, int midx,
                                          bool long_running);
/* Loop thread: false when the request was answered 429 (the connection has too many
 * outstanding requests, or its level rejects it; the ticket is freed), true to go on. */
bool http_apf_precheck(struct http_server *s, struct http_apf_ticket *t, struct st_h2o_req_t *req,
                       int midx, int64_t t0);
/* Loop thread, the job built (j->apf set): true when the job waits in a queue (a worker gets
 * it when seats free up), false when the caller hands it to the pool now: to run, or, when its
 * queue is full, to come straight back for the 429 (http_apf_skip, http_apf_respond). */
bool http_apf_enqueue(struct http_server *s, struct http_job *j);
/* Worker: true when the job must not run (the client left, or it timed out in its queue). */
bool http_apf_skip(struct http_apf_ticket *t);
/* Loop thread: the client left (a reset stream). */
void http_apf_cancel(struct http_apf_ticket *t);
/* Loop thread, for every job back from the pool: its seats are released now (the client
 * left, or a watch, which counts only while it initialises) or when its response has been
 * sent (upstream holds them while the handler writes); adds the X-Kubernetes-PF-* headers;
 * when the job timed out in its queue answers the 429 itself and returns true. */
bool http_apf_respond(struct http_server *s, struct http_job *j);
/* Loop thread: releases the connection's count and frees t (NULL: no-op). */
void http_apf_ticket_free(struct http_server *s, struct http_apf_ticket *t);
/* Shutdown: every queued job goes back (429) so the loops can drain. */
void http_apf_flush(struct http_server *s);
/* The apiserver_flowcontrol_* families. */
int http_apf_metrics(struct http_server *s, struct ck_buf *out);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by http.c (server, loops, lifecycle), http_req.c (handler, dispatch,
 * worker pool, responses), http_watch.c (watch streams) and http_metrics.c.
 * Rule: everything h2o belongs to the loop thread that owns it; other threads only post
 * messages (h2o_multithread_send_message) to a loop's receivers. */
#ifndef CK_APISERVER_HTTP_INT_H
#define CK_APISERVER_HTTP_INT_H

#include "apiserver/http/http.h"

#include <h2o.h>
#include <pthread.h>
#include <stdatomic.h>

#define HTTP_NLAT_BUCKETS 12

struct http_metrics {
    atomic_uint_fast64_t requests[HTTP_NMETHODS][600]; /* by method and status code */
    atomic_long in_flight;
    atomic_long watches;
    atomic_uint_fast64_t lat_buckets[HTTP_NLAT_BUCKETS]; /* cumulative at render time */
    atomic_uint_fast64_t lat_count;
    atomic_uint_fast64_t lat_sum_us;
    atomic_long inflight[2];     /* API requests at the workers: [0] readOnly, [1] mutating */
    atomic_long inflight_max[2]; /* highest since the last scrape (upstream reports a max) */
};

/* Health checks (http_req.c): the store check runs on its own thread every second. */
struct http_health {
    pthread_t tid;
    bool running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    bool checked;      /* at least one store check finished */
    bool store_ok;
    char why[256];     /* the last failure */
};

struct http_loop {
    struct http_server *srv;
    int idx;
    pthread_t tid;
    bool running;
    h2o_evloop_t *loop;
    h2o_context_t ctx;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t job_rx;   /* finished worker jobs */
    h2o_multithread_receiver_t watch_rx; /* watch wakeups */
    h2o_timeout_t tick_timeout;          /* 1 s: watch ticks */
    int fds[2];                          /* [0] secure, [1] plain; -1 when off */
    h2o_socket_t *listeners[2];
    h2o_accept_ctx_t accept_ctx[2];
    h2o_timeout_entry_t accept_resume; /* listeners paused after EMFILE, resumed in 1 s */
    h2o_linklist_t watches; /* active struct http_watch */
    atomic_int outstanding; /* jobs handed to the pool, not yet back */
    h2o_req_t *too_large;   /* set while http_h2body.c runs the handler for a 413 */
};

struct http_server {
    struct http_opts o;
    char *bind_address, *token;
    const struct http_api_ops *ops;
    void *eng;
    h2o_globalconf_t config;
    h2o_hostconf_t *hostconf;
    SSL_CTX *ssl_ctx;
    int nloops;
    struct http_loop *loops;
    int ports[2];
    /* worker pool */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    h2o_linklist_t jobs;
    int njobs; /* queued, not yet picked by a worker */
    bool workers_stop;
    int nworkers;
    pthread_t *workers;
    bool started;
    atomic_bool stopping;
    atomic_int loops_ready;   /* loops that finished loop_init */
    atomic_int loops_drained; /* loops done with loop_drain */
    atomic_bool workers_gone; /* the pool is joined: loops may dispose */
    struct http_metrics m;
    struct http_health health;
    struct http_apf *apf; /* http_apf.c: priority and fairness, NULL when off */
};

/* One api_handle call travelling loop -> worker -> loop. */
struct http_job {
    h2o_multithread_message_t msg; /* link: in srv->jobs, then in the loop's job_rx */
    struct http_loop *lp;
    h2o_req_t *req;            /* NULL once the request is gone (client left) */
    struct http_job **holder;  /* slot in req->pool that points back at this job */
    struct api_request rq;
    char *path, *query, *ctype, *accept, *ua, *body;
    struct api_response rs;
    struct api_watch *w;
    enum api_result res;
    int64_t start_ns;
    int midx;
    char *user;                 /* the (possibly impersonated) user the engine sees */
    char **groups;              /* NULL-terminated */
    struct http_proxy *px;      /* set for pods|services|nodes/proxy (http_proxy.c) */
    struct http_stream *st;     /* set for pods/exec|attach|portforward (http_stream.c) */
    struct http_apf_ticket *apf; /* http_apf.c: its class, seats and connection count */
};

/* http_h2body.c */
/* Accepts a connection like h2o_accept; on TLS + h2 the frame reader is wrapped so request
 * bodies over o.max_body are answered with 413 at once (see the file comment). */
void http_accept(h2o_accept_ctx_t *actx, h2o_socket_t *sock);
/* Wraps the frame reader of an HTTP/2 connection that did not come through http_accept
 * (h2c upgrade on the plain port), if its reader is a known one. Loop thread only. */
void http_h2_hook_conn(h2o_conn_t *conn);

/* http_proxy.c */
/* True when path (decoded) is a pods|services|nodes .../proxy[/...] subresource request. */
bool http_proxy_match(const char *path);
/* Copies what the proxy needs out of req into a new state for j (loop thread). */
void http_proxy_prepare(struct http_job *j, h2o_req_t *req);
/* Worker thread: resolves the target through the engine and performs the upstream request;
 * fills j->rs (an error Status, or the upstream response). */
void http_proxy_run(struct http_server *s, struct http_job *j);
/* Loop thread: sends a finished proxy job's response; frees nothing of j. */
void http_proxy_respond(h2o_req_t *req, struct http_job *j);
void http_proxy_free(struct http_proxy *px);

/* http_req.c */
int http_on_req(h2o_handler_t *self, h2o_req_t *req);
void http_on_job_done(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages);
int http_pool_start(struct http_server *s, struct ck_err *err);
void http_pool_stop(struct http_server *s);
/* Sends rs as the complete response (headers, body in chunks from proceed). Takes rs's
 * body and warnings; rs is left released. */
void http_respond(h2o_req_t *req, struct api_response *rs);
void http_set_common_headers(h2o_req_t *req, struct api_response *rs);
/* Sends status + the caller's headers (already on req->res) and body (taken over: freed
 * with the request) as the complete response. */
void http_respond_bytes(h2o_req_t *req, int status, char *body, size_t len);

/* http_watch.c */
void http_watch_begin(struct http_loop *lp, h2o_req_t *req, struct api_watch *w,
                      struct api_response *rs);
void http_on_watch_wakeup(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages);
/* Ends every open watch stream of the loop (shutdown). Loop thread only. */
void http_watch_end_all(struct http_loop *lp);

/* http_health.c */
/* Runs the first storage check, then starts the thread that repeats it every second. */
int http_health_start(struct http_server *s, struct ck_err *err);
void http_health_stop(struct http_server *s);
/* Body for /healthz|/livez|/readyz (one: the named check after the route, or NULL; q: the raw
 * query); returns the status: 200, 500, or 404 for an unknown check (out left empty). */
int http_health_render(struct http_server *s, enum http_route r, const char *one, const char *q,
                       size_t qlen, struct ck_buf *out);

/* http_metrics.c */
void http_metrics_observe(struct http_metrics *m, int midx, int status, int64_t dur_ns,
                          bool latency);
int http_metrics_render(struct http_server *s, struct ck_buf *out);
/* Upstream's apiserver_request_total / _duration_seconds / apiserver_response_sizes for one
 * answered request (in: the engine's view, NULL for the front end's own routes). */
void http_metrics_request(const struct api_reqinfo *in, const char *path, int status,
                          int64_t dur_ns, size_t bytes);
void http_metrics_inflight(struct http_metrics *m, bool mutating, int delta);


#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduler (pkg/scheduler/scheduler.go, schedule_one.go, eventhandlers.go): informers on
 * nodes and pods feed the cache and the queue; one scheduling loop pops a pod, runs the
 * profile's plugins over a snapshot (Filter in parallel over nodes, stopping after
 * percentageOfNodesToScore feasible ones; Score in parallel over chunks of the feasible
 * ones), assumes it in the cache, and hands it to the binding workers (Permit, PreBind, Bind,
 * PostBind); failures get upstream's FailedScheduling event and PodScheduled=False/
 * Unschedulable condition and go back to the queue.
 *
 * Throughput: the snapshot reclones only the nodes the cache marked dirty; PodTopologySpread
 * and InterPodAffinity keep their matching-pod counts across cycles (mcache.h) instead of
 * rescanning every pod each cycle; DefaultBinder's bindings and the Events go out as
 * asynchronous requests of one client thread (ckube/batch.h: HTTP/2 streams over TLS,
 * keep-alive connections over plain http) instead of one blocking request per binder thread,
 * and the loop waits while SCH_BINDS_INFLIGHT bindings are on the wire, so latency stays
 * bounded by the API server's binding rate; Events go through a 1000-deep queue, two on the
 * wire at a time, and are dropped when it is full, as client-go's broadcaster does. */
#ifndef CK_SCHED_SCHED_H
#define CK_SCHED_SCHED_H

#include "ckube/client.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct sch_opts {
    struct ck_client *client; /* borrowed */
    const json_t *config;     /* KubeSchedulerConfiguration (JSON), NULL = defaults */
    int parallelism;          /* Filter/Score threads; 0 = number of CPUs */
    int bind_workers;         /* concurrent binding requests; 0 = SCH_BINDERS (threads) or
                                 SCH_BINDS_INFLIGHT (bindings multiplexed by the batch) */
    bool no_events;           /* do not post Events (benchmarks) */
};

/* Default binding concurrency: the API server commits concurrent writes together, so more
 * bindings in flight cost it less CPU each (measured: 4 in flight cost about twice the CPU
 * per binding of 32). */
#define SCH_BINDERS 32
/* Bindings in flight when DefaultBinder's requests go out as streams of one HTTP/2
 * connection, driven by one thread (ckube/batch.h). */
#define SCH_BINDS_INFLIGHT 128

struct sch_sched;

/* Builds the profiles; errors (bad config, unknown plugin) name the problem. */
struct sch_sched *sch_sched_new(const struct sch_opts *o, struct ck_err *err);
/* Starts the informers and waits (up to timeout_ms) until they synced. */
int sch_sched_start_informers(struct sch_sched *s, int timeout_ms, struct ck_err *err);
/* Starts the scheduling loop and the workers (call once leading). */
void sch_sched_run(struct sch_sched *s);
void sch_sched_stop(struct sch_sched *s);
void sch_sched_free(struct sch_sched *s);

struct sch_counters {
    long scheduled, unschedulable, errors, bound, bind_errors;
    long attempts;
};
void sch_sched_counters(struct sch_sched *s, struct sch_counters *out);
/* Prometheus text of the scheduler's metrics. */
void sch_sched_metrics(struct sch_sched *s, struct ck_buf *out);
/* The attempt latency (pop to bound) percentile q (0..1) in milliseconds. */
double sch_sched_latency_ms(struct sch_sched *s, double q);

/* KubeSchedulerConfiguration file (YAML or JSON) -> JSON, validating apiVersion/kind. */
int sch_config_load(const char *path, json_t **out, struct ck_err *err);

/* /healthz and /metrics on addr:port (port 0 = pick); returns the bound port or -1. */
int sch_http_start(struct sch_sched *s, const char *addr, int port, struct ck_err *err);

#endif

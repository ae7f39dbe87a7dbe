/* SPDX-License-Identifier: Apache-2.0 */
/* Container probes, as upstream's pkg/kubelet/prober:
 * - the probe spec (v1.Probe with its defaults) parsed from a container;
 * - a probe worker's state machine (worker.go doProbe): initial values per probe type
 *   (readiness Failure, liveness Success, startup Unknown), initialDelaySeconds, startup gating
 *   the other probes, success/failure thresholds, onHold after a liveness/startup failure until
 *   a new container id, Failure once the container stops, Success for liveness/startup once the
 *   pod is being deleted;
 * - the per-container result view the pod worker reads (ready / started / kill decisions).
 * The state machine is pure; prober.c runs it on a small thread pool (see agent_int.h). */
#ifndef CK_AGENT_PROBER_H
#define CK_AGENT_PROBER_H

#include "runtime/runtime.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ag_probe_type { AG_PROBE_LIVENESS = 0, AG_PROBE_READINESS, AG_PROBE_STARTUP, AG_PROBE_NTYPES };
enum ag_probe_result { AG_PR_UNKNOWN = 0, AG_PR_SUCCESS, AG_PR_FAILURE };
enum ag_probe_handler { AG_PH_NONE = 0, AG_PH_EXEC, AG_PH_HTTP, AG_PH_TCP, AG_PH_GRPC };

/* "Liveness" / "Readiness" / "Startup" (upstream's probeType.String()). */
const char *ag_probe_type_name(enum ag_probe_type t);
/* "livenessProbe" / "readinessProbe" / "startupProbe". */
const char *ag_probe_field(enum ag_probe_type t);

struct ag_http_header {
    char *name, *value;
};

/* A v1.Probe (or a lifecycle handler's exec/httpGet/tcpSocket part) with upstream's defaults. */
struct ag_probe_spec {
    enum ag_probe_handler kind;
    char **command;   /* exec: NULL-terminated */
    char *scheme;     /* httpGet: "HTTP" / "HTTPS" */
    char *host;       /* httpGet / tcpSocket: "" = the pod IP */
    char *path;       /* httpGet */
    int port;         /* resolved (named ports through the container's ports); 0 = unresolved */
    char *port_error; /* why port is 0 (a named port that does not exist) */
    struct ag_http_header *headers;
    size_t nheaders;
    int initial_delay_s, period_s, timeout_s, success_threshold, failure_threshold;
    long long termination_grace_s; /* -1: unset */
};
/* Parses a probe or handler object h of container c; the handler kind is AG_PH_NONE when h has
 * none of exec/httpGet/tcpSocket/grpc. */
void ag_probe_spec_parse(const json_t *h, const json_t *c, struct ag_probe_spec *out);
void ag_probe_spec_release(struct ag_probe_spec *s);

/* One probe worker's state (worker.go). */
struct ag_probe_sm {
    enum ag_probe_type type;
    char cid[RT_ID_MAX];         /* the container the result belongs to ("" = none yet) */
    enum ag_probe_result result; /* the published result for cid */
    enum ag_probe_result last;   /* the last raw probe result */
    int run;                     /* how many times in a row last was seen */
    bool on_hold;                /* liveness/startup failed: wait for a new container */
    bool stopped;                /* the worker ended (pod deleted) */
};

/* What the worker knows about its container at a tick (upstream reads the status manager). */
struct ag_probe_ctx {
    const char *cid;         /* the latest instance ("" = none) */
    bool running;            /* that instance runs */
    bool terminated;         /* it has exited */
    bool restart_never;      /* restartPolicy Never (and not a sidecar) */
    bool deleting;           /* the pod has a deletionTimestamp */
    bool started;            /* the startup probe succeeded, or there is none */
    int64_t started_real_ns; /* when the instance started */
    int64_t now_real_ns;
};

enum ag_probe_step { AG_PROBE_SKIP = 0, AG_PROBE_RUN, AG_PROBE_STOP };

void ag_probe_sm_init(struct ag_probe_sm *sm, enum ag_probe_type t);
/* A new container instance: the type's initial result, probing resumes. */
void ag_probe_sm_new_container(struct ag_probe_sm *sm, const char *cid);
/* Before a probe: whether to run it now. Sets the published result where upstream does
 * (Failure when the container stopped, Success on deletion); *changed tells whether it moved. */
enum ag_probe_step ag_probe_sm_before(struct ag_probe_sm *sm, const struct ag_probe_spec *spec,
                                      const struct ag_probe_ctx *ctx, bool *changed);
/* After a probe with raw result r (not after an error: upstream throws those away): applies
 * the thresholds; returns true when the published result changed. */
bool ag_probe_sm_record(struct ag_probe_sm *sm, const struct ag_probe_spec *spec,
                        enum ag_probe_result r);

/* The pod worker's view of one container's probes (for its latest instance). */
struct ag_probe_view {
    char name[256];
    bool has[AG_PROBE_NTYPES];                 /* the spec has this probe */
    enum ag_probe_result res[AG_PROBE_NTYPES]; /* result for the latest instance */
    long long grace_s[AG_PROBE_NTYPES];        /* probe-level terminationGracePeriodSeconds, -1 */
};
const struct ag_probe_view *ag_probe_view_find(const struct ag_probe_view *v, size_t n,
                                               const char *name);
/* upstream UpdatePodStatus: started = running && (no startup probe || it succeeded). */
bool ag_probe_view_started(const struct ag_probe_view *v, bool running);
/* ready = started && (no readiness probe || it succeeded). */
bool ag_probe_view_ready(const struct ag_probe_view *v, bool running);

/* prober_run.c: runs the probe or handler s now against container cid (exec) or the pod IP
 * (httpGet / tcpSocket without a host), bounded by timeout_s. Returns AG_PR_SUCCESS or
 * AG_PR_FAILURE with the probe's output in out, or -1 for an error (out says why; upstream
 * throws such results away). any_status: any HTTP response succeeds (lifecycle hooks). */
int ag_probe_run(struct runtime *rt, const char *cid, const struct ag_probe_spec *s,
                 const char *pod_ip, int timeout_s, bool any_status, char *out, size_t outn);

#endif

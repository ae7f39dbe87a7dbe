/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's pure pod logic, free of I/O so unit tests drive it with hand-made runtime
 * snapshots:
 * - ag_compute_actions: what the runtime must do next for a pod (upstream kuberuntime
 *   computePodActions: sandbox (re)creation, init containers in order, sidecars (init
 *   containers with restartPolicy Always, computeInitContainerActions), restart policy,
 *   liveness/startup probe failures);
 * - ag_pod_status: the v1.PodStatus the kubelet reports (generateAPIPodStatus: phase by
 *   getPhase, the PodReadyToStartContainers/Initialized/Ready/ContainersReady/PodScheduled
 *   conditions, container statuses with state/lastState/restartCount/started/ready from the
 *   probe results). */
#ifndef CK_AGENT_PODLOGIC_H
#define CK_AGENT_PODLOGIC_H

#include "agent/prober.h"
#include "runtime/runtime.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Labels the agent puts on containers it creates. */
#define AG_LABEL_POD_UID "io.kubernetes.pod.uid"
#define AG_LABEL_CONTAINER_NAME "io.kubernetes.container.name"

/* What the runtime holds for one pod: every sandbox of its uid and every container in them. */
struct ag_pod_snapshot {
    struct rt_sandbox_status *sbs;
    size_t nsb;
    struct rt_container_status *ctrs;
    size_t nctr;
};
void ag_snapshot_release(struct ag_pod_snapshot *s);
/* The newest sandbox (highest attempt, then newest), or NULL. */
const struct rt_sandbox_status *ag_snap_sandbox(const struct ag_pod_snapshot *s);
/* The newest instance of the named container (highest attempt, then newest), and the one
 * before it; NULL when missing. */
const struct rt_container_status *ag_snap_latest(const struct ag_pod_snapshot *s, const char *name);
const struct rt_container_status *ag_snap_previous(const struct ag_pod_snapshot *s,
                                                   const char *name);

/* An init container with restartPolicy Always: a sidecar (types.IsRestartableInitContainer). */
bool ag_is_sidecar(const json_t *c);

/* ShouldContainerBeRestarted for the latest instance st (NULL: never ran). */
bool ag_should_restart(const char *restart_policy, const struct rt_container_status *st);

struct ag_start {
    int index; /* into spec.initContainers (init) or spec.containers */
    bool init;
    unsigned attempt; /* the new instance's attempt = restartCount */
    bool sidecar;     /* a restartable init container: a failed start does not stop the rest */
};

/* Why a running container is killed (containerToKillInfo): the Killing event's message ("" =
 * "Stopping container <name>") and the probe that failed (its terminationGracePeriodSeconds
 * applies), or -1. */
struct ag_kill_note {
    char name[256];
    char message[320];
    int probe;
    bool init;
};

struct ag_actions {
    bool kill_pod;       /* stop every running container and the sandbox */
    bool create_sandbox; /* then run a new sandbox with sandbox_attempt */
    unsigned sandbox_attempt;
    struct ag_start *start; /* containers to start, in order */
    size_t nstart;
    char (*kill)[RT_ID_MAX]; /* running containers to stop (unknown state, not in spec, probes) */
    struct ag_kill_note *kill_note; /* parallel to kill */
    size_t nkill;
    bool terminal; /* nothing runs and nothing will: the pod has finished */
};
void ag_actions_release(struct ag_actions *a);
/* computePodActions for a pod that should run (not being deleted), without probe results. */
void ag_compute_actions(const json_t *pod, const struct ag_pod_snapshot *snap,
                        struct ag_actions *out);
/* The same with the probe results of the latest instances (liveness/startup failures kill and
 * restart; a sidecar's startup probe gates the next init container). */
void ag_compute_actions_probed(const json_t *pod, const struct ag_pod_snapshot *snap,
                               const struct ag_probe_view *probes, size_t nprobes,
                               struct ag_actions *out);

/* A waiting reason the worker recorded for a container it could not start (CrashLoopBackOff,
 * ErrImagePull, CreateContainerError, ...). */
struct ag_wait_reason {
    const char *name;
    const char *reason;
    const char *message;
};

struct ag_status_input {
    const json_t *pod; /* the API object; its status is the old status */
    const struct ag_pod_snapshot *snap;
    const struct ag_wait_reason *waits;
    size_t nwaits;
    const char *runtime; /* "crun" / "hollow": containerID scheme */
    const char *host_ip;
    bool terminal; /* podIsTerminal: the worker finished the pod */
    int64_t now_real_ns;
    const struct ag_probe_view *probes; /* started/ready of the latest instances (NULL: no */
    size_t nprobes;                     /* probes ran: running means started and ready) */
};
/* The full new status object (new reference). Keeps startTime, condition transition times and
 * conditions of types the kubelet does not own from the old status; never leaves a terminal
 * phase. */
json_t *ag_pod_status(const struct ag_status_input *in);
/* getPhase over the generated container statuses. */
const char *ag_pod_phase(const json_t *spec, const json_t *init_statuses, const json_t *statuses,
                         bool terminal);

/* A pod condition type the kubelet owns (PodReadyToStartContainers, Initialized, Ready,
 * ContainersReady, PodScheduled); the others belong to other writers and are kept. */
bool ag_condition_kubelet_owned(const char *type);

/* RFC 3339 (seconds) of a realtime ns value. */
void ag_time_str(int64_t real_ns, char out[32]);
/* The pod's grace period for a kill: metadata.deletionGracePeriodSeconds, else
 * spec.terminationGracePeriodSeconds, else 30; at least 2 (minimumGracePeriodInSeconds). */
int ag_pod_grace(const json_t *pod);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Private to registry/schema_data*.c: field groups shared by several types of the schema
 * table, and the table's parts (parsed in order by schema.c). */
#ifndef CK_APISERVER_SCHEMA_DATA_H
#define CK_APISERVER_SCHEMA_DATA_H

#include <stddef.h>

extern const char *const schema_dsl_lines1[]; /* schema_data.c */
extern const size_t schema_dsl_nlines1;
extern const char *const schema_dsl_lines2[]; /* schema_data2.c */
extern const size_t schema_dsl_nlines2;
extern const char *const schema_dsl_lines3[]; /* schema_data3.c */
extern const size_t schema_dsl_nlines3;


/* Container and EphemeralContainer share every field. */
#define CONTAINER_FIELDS                                                                        \
    " name string req | Name of the container, a DNS label unique within the pod. Cannot be "   \
    "updated.",                                                                                 \
        " image string | Container image name (registry/repository:tag or @digest).",           \
        " command []string lt=atomic | Entrypoint array, not run in a shell. Replaces the "     \
        "image ENTRYPOINT when set. $(VAR) references are expanded from the container env.",    \
        " args []string lt=atomic | Arguments to the entrypoint. Replaces the image CMD when "  \
        "set. $(VAR) references are expanded from the container env.",                         \
        " workingDir string | Working directory of the container; the runtime default when "   \
        "empty.",                                                                               \
        " ports []core.ContainerPort mk=containerPort ps=merge lt=map lk=containerPort,protocol " \
        "| Ports exposed by the container (informational; any port the process listens on is "  \
        "reachable).",                                                                          \
        " envFrom []core.EnvFromSource lt=atomic | Sources (ConfigMaps, Secrets) whose keys "   \
        "become environment variables. Env entries win on conflicts.",                          \
        " env []core.EnvVar mk=name ps=merge lt=map lk=name | Environment variables set in the " \
        "container.",                                                                           \
        " resources core.ResourceRequirements | Compute resources (requests and limits) of "    \
        "this container.",                                                                      \
        " resizePolicy []core.ContainerResizePolicy lt=atomic | How each resource may be "      \
        "resized in place.",                                                                    \
        " restartPolicy string | Per-container restart policy; only 'Always' for init "         \
        "containers (sidecars).",                                                               \
        " volumeMounts []core.VolumeMount mk=mountPath ps=merge lt=map lk=mountPath | Pod "     \
        "volumes mounted into the container filesystem.",                                       \
        " volumeDevices []core.VolumeDevice mk=devicePath ps=merge lt=map lk=devicePath | "     \
        "Block devices used by the container.",                                                 \
        " livenessProbe core.Probe | Periodic check of container liveness; the container is "  \
        "restarted when it fails.",                                                             \
        " readinessProbe core.Probe | Periodic check of service readiness; the pod is removed " \
        "from service endpoints when it fails.",                                                \
        " startupProbe core.Probe | Check that the container has started; other probes wait "  \
        "until it succeeds.",                                                                   \
        " lifecycle core.Lifecycle | Actions taken by the system around container start and "  \
        "stop.",                                                                                \
        " terminationMessagePath string | File whose content is written to the container "     \
        "termination message. Defaults to /dev/termination-log.",                               \
        " terminationMessagePolicy string en=FallbackToLogsOnError,File | How the termination message is filled: File or "    \
        "FallbackToLogsOnError.",                                                               \
        " imagePullPolicy string en=Always,IfNotPresent,Never | Always, Never or IfNotPresent. Defaults to Always for the "  \
        ":latest tag, IfNotPresent otherwise.",                                                 \
        " securityContext core.SecurityContext | Security options the container runs with.",   \
        " stdin bool | Allocate a buffer for stdin in the container runtime.",                  \
        " stdinOnce bool | Close stdin after the first attach session ends.",                   \
        " tty bool | Allocate a TTY for the container (needs stdin)."

#define PROBE_HANDLER_FIELDS                                                                    \
    " exec core.ExecAction | Run a command inside the container.",                              \
        " httpGet core.HTTPGetAction | Perform an HTTP GET request.",                           \
        " tcpSocket core.TCPSocketAction | Open a TCP connection to a port."

#define CONDITION_FIELDS                                                                        \
    " type string req | Type of the condition.",                                                \
        " status string req | Status of the condition: True, False or Unknown.",                \
        " lastTransitionTime meta.Time | Last time the condition changed status.",              \
        " reason string | One-word CamelCase reason for the last transition.",                  \
        " message string | Human-readable details about the last transition."

#endif

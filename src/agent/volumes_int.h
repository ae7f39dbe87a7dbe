/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by the volume files: volumes.c (emptyDir, configMap, secret, the atomic
 * writer, setup/mounts/teardown), volumes_dapi.c (downward API rendering, downwardAPI and
 * projected volumes) and volumes_host.c (hostPath type checks, emptyDir tmpfs sizing).
 * The rendering and check functions are pure enough for unit tests. */
#ifndef CK_AGENT_VOLUMES_INT_H
#define CK_AGENT_VOLUMES_INT_H

#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct agent;
struct ag_pod;

/* One file of an atomically written volume (configMap, secret, downwardAPI, projected). */
struct ag_vfile {
    char *path; /* relative, validated */
    char *data;
    size_t len;
    int mode;
};

struct ag_payload {
    struct ag_vfile *v;
    size_t n;
};

void ag_payload_free(struct ag_payload *p);
/* Takes ownership of data. */
void ag_payload_add(struct ag_payload *p, const char *path, char *data, size_t len, int mode);
/* FNV-1a of every path, mode and content: the payload's fingerprint as a hex string. */
void ag_payload_hash(const struct ag_payload *p, char out[17]);
/* A relative path with no "..", no leading '/', no component starting with "..". */
bool ag_vol_safe_path(const char *p);
int ag_vol_mkdir_p(const char *path, mode_t mode);
void ag_vol_rm_rf(const char *path);
/* AtomicWriter.Write into dir: a new "..<timestamp>" dir, "..data" swapped by rename. */
int ag_vol_atomic_write(const char *dir, const struct ag_payload *p, struct ck_err *err);
/* The files of a configMap/secret source object (src, may be an empty object for a missing
 * optional source) selected by items; secret: base64 data. defmode: the volume's default. */
int ag_vol_source_payload(const json_t *src, const json_t *items, bool optional, bool secret,
                          int defmode, struct ag_payload *out, struct ck_err *err);
/* The content fingerprint (resourceVersion or payload hash) last written for a volume. */
const char *ag_vol_state_get(struct ag_pod *p, const char *name);
void ag_vol_state_set(struct ag_pod *p, const char *name, const char *rv);
/* GET a configMap/secret; 1 found (*out set), 0 missing, -1 other error. */
int ag_vol_get_source(struct agent *ag, const char *ns, bool secret, const char *name, json_t **out,
                      struct ck_err *err);

/* ---- downward API (volumes_dapi.c) ------------------------------------------------------ */

/* The node facts resourceFieldRef falls back to when a container sets no limit. */
struct ag_node_alloc {
    int64_t cpu_milli;
    int64_t memory_bytes;
    int64_t ephemeral_bytes;
};

/* The value of a fieldRef fieldPath for pod (upstream fieldpath.ExtractFieldPathAsString plus
 * the kubelet's runtime fields when env is true: spec.nodeName, spec.serviceAccountName,
 * status.hostIP(s), status.podIP(s)); pod_ip may be NULL. *out malloc'd. -1 with upstream's
 * "unsupported fieldPath" style message. */
int ag_dapi_field(const json_t *pod, const char *field_path, bool env, const char *host_ip,
                  const char *pod_ip, char **out, struct ck_err *err);
/* The value of a resourceFieldRef {containerName, resource, divisor} in the context of
 * container ctr (used when containerName is empty). */
int ag_dapi_resource(const json_t *pod, const char *ctr, const json_t *ref,
                     const struct ag_node_alloc *alloc, char **out, struct ck_err *err);
/* Go's %q of s (strconv.Quote) appended to out. */
void ag_go_quote(const char *s, char **out);
/* The files of a downwardAPI volume (or projection): items with fieldRef/resourceFieldRef. */
int ag_dapi_payload(const json_t *pod, const json_t *items, int defmode,
                    const struct ag_node_alloc *alloc, struct ag_payload *out, struct ck_err *err);
/* Sets up downwardAPI / projected volume v of pod in dir (rewritten when its content
 * changes). -1 with the FailedMount message in err. */
int ag_vol_setup_dapi(struct agent *ag, struct ag_pod *p, const json_t *pod, const json_t *v,
                      const char *dir, struct ck_err *err);
/* tokens.c: the service-account token manager (cached TokenRequests bound to the pod,
 * refreshed at 80 % of their lifetime or after 24 h). A malloc'd token, or NULL with err. */
char *ag_tokens_get(struct agent *ag, const char *ns, const char *sa, const char *pod,
                    const char *uid, const char *aud, int64_t exp_sec, struct ck_err *err);
void ag_tokens_forget_pod(const char *pod_uid);
/* upstream's requiresRefresh: a token expiring at exp (unix s) that was asked for exp_sec
 * seconds needs fetching again at now when it is older than 24 h, or within 20 % of its
 * lifetime of expiring (each moved earlier by jitter seconds). */
bool ag_tokens_needs_refresh(int64_t exp, int64_t exp_sec, int64_t now, int64_t jitter);
int ag_vol_setup_projected(struct agent *ag, struct ag_pod *p, const json_t *pod, const json_t *v,
                           const char *dir, struct ck_err *err);

/* ---- hostPath and tmpfs (volumes_host.c) ------------------------------------------------- */

/* checkType of pkg/volume/hostpath: type "" skips the check; DirectoryOrCreate/FileOrCreate
 * create what is missing (0755 dir / 0644 empty file). -1 with upstream's message. */
int ag_hostpath_check(const char *path, const char *type, struct ck_err *err);
/* The size (bytes) of an emptyDir medium Memory tmpfs: sizeLimit, capped by the pod's memory
 * limit (when every container has one) and node allocatable memory; 0 = no size option. */
int64_t ag_tmpfs_size(const json_t *pod, const json_t *empty_dir, int64_t node_alloc_memory);
/* The node allocatable values the agent reports (node.c's computation). */
void ag_node_alloc_get(struct agent *ag, struct ag_node_alloc *out);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* ControllerRevisions (pkg/controller/history/controller_history.go), shared by the StatefulSet
 * and DaemonSet controllers: the template patch a revision records, its hash and name, ordering,
 * equality, the next revision number, which revisions history truncation deletes, and the
 * client calls that create (with collision counting), renumber and delete revisions. */
#ifndef CK_CONTROLLERS_HISTORY_H
#define CK_CONTROLLERS_HISTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct cm;
struct ck_err;

#define HIST_HASH_LABEL "controller.kubernetes.io/hash" /* ControllerRevisionHashLabel */
#define HIST_POD_REV_LABEL "controller-revision-hash"   /* apps.ControllerRevisionHashLabelKey */
#define HIST_CR_PATH "/apis/apps/v1/controllerrevisions"

/* getPatch (statefulset and daemon): {"spec":{"template":{...,"$patch":"replace"}}} of the
 * owner's spec.template. New reference. */
json_t *hist_template_patch(const json_t *owner);
/* The bytes Go's json.Marshal writes for data (sorted keys, compact, <>& escaped as \u003c
 * ...). Caller frees. */
char *hist_data_text(const json_t *data);
/* HashControllerRevision: FNV-32 (not 32a) of the data's bytes, then the decimal text of the
 * probe when probe >= 0, as rand.SafeEncodeString of the decimal sum. out holds 16 bytes. */
void hist_hash(const json_t *data, int64_t probe, char out[16]);
/* ControllerRevisionName: prefix (cut to 223 bytes) "-" hash. Caller frees. */
char *hist_name(const char *prefix, const char *hash);
/* NewControllerRevision: labels = template labels plus the hash label, a controller reference
 * to parent, data, revision; named by hist_hash(data, collision). Annotations: the parent's
 * (the StatefulSet controller's newRevision copies them). New reference. */
json_t *hist_new(const json_t *parent, const char *api_version, const char *kind,
                 const json_t *template_labels, const json_t *data, int64_t revision,
                 int64_t collision);
/* EqualRevision: equal hash labels when both parse as numbers, and equal data. */
bool hist_equal(const json_t *a, const json_t *b);
/* SortControllerRevisions (stable): by revision, then creation time, then name. */
void hist_sort(json_t *revs);
/* nextRevision: one more than the last revision of a sorted array (1 for none). */
int64_t hist_next_revision(const json_t *sorted);
/* truncateHistory's choice: of sorted revisions, the oldest ones whose names are not in live
 * (NULL-terminated) beyond limit. New array. */
json_t *hist_to_truncate(const json_t *sorted, const char *const *live, int64_t limit);

/* CreateControllerRevision: creates rev (name recomputed from *collision each attempt) in
 * parent's namespace; an existing revision of that name with the same data is returned,
 * another one bumps *collision and retries (at most 16 times). *out: the stored revision. */
int hist_create(struct cm *cm, const json_t *parent, const json_t *rev, int64_t *collision,
                json_t **out, struct ck_err *err);
/* UpdateControllerRevision: sets .revision (retrying conflicts from a fresh GET). */
int hist_update_revision(struct cm *cm, const json_t *rev, int64_t revision, json_t **out,
                         struct ck_err *err);
/* DeleteControllerRevision (NotFound is success). */
int hist_delete(struct cm *cm, const json_t *rev, struct ck_err *err);

#endif

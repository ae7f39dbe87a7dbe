/* SPDX-License-Identifier: Apache-2.0 */
/* API discovery (client-go's discovery client): the resources an API server serves, read from
 * the legacy documents every server offers (/api, /api/<v>, /apis, /apis/<g>/<v>), each group at
 * its preferred version (ServerPreferredResources). Subresources ("pods/status") are skipped.
 * ck_discovery_deletable is upstream's GetDeletableResources: the resources that support list,
 * watch and delete, the set the garbage collector and the namespace controller walk. */
#ifndef CKUBE_DISCOVERY_H
#define CKUBE_DISCOVERY_H

#include "ckube/client.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum ck_verb {
    CK_VERB_GET = 1u << 0,
    CK_VERB_LIST = 1u << 1,
    CK_VERB_WATCH = 1u << 2,
    CK_VERB_CREATE = 1u << 3,
    CK_VERB_UPDATE = 1u << 4,
    CK_VERB_PATCH = 1u << 5,
    CK_VERB_DELETE = 1u << 6,
    CK_VERB_DELETECOLLECTION = 1u << 7,
};

struct ck_api_resource {
    char *group;       /* "" for the core group */
    char *version;     /* "v1" */
    char *api_version; /* "v1", "apps/v1": what ownerReferences[].apiVersion holds */
    char *resource;    /* plural: "deployments" */
    char *kind;        /* "Deployment" */
    bool namespaced;
    unsigned verbs; /* enum ck_verb bits */
};

struct ck_api_resources {
    struct ck_api_resource *v;
    size_t n, cap;
};

/* Fetches every group's preferred version. Returns 0 when every document was read, 1 when some
 * group-versions failed (their resources are missing from out; err names the first failure, as
 * upstream's ErrGroupDiscoveryFailed), -1 when /api or /apis could not be read (out empty). */
int ck_discovery_preferred(struct ck_client *c, struct ck_api_resources *out, struct ck_err *err);

/* Appends the resources of one APIResourceList document (group_version as "apps/v1" or "v1";
 * the list's own groupVersion wins when present). Subresources and malformed entries are
 * skipped. Returns how many were added, -1 when doc is not an APIResourceList. */
int ck_discovery_parse_list(const json_t *doc, const char *group_version,
                            struct ck_api_resources *out);

/* The verb bits of a JSON array of verb names (unknown names ignored). */
unsigned ck_discovery_verbs(const json_t *verbs);

/* Keeps only the resources that have every bit of verbs (in order). */
void ck_discovery_filter(struct ck_api_resources *r, unsigned verbs);

/* GetDeletableResources: ck_discovery_preferred filtered to list+watch+delete. Same returns. */
int ck_discovery_deletable(struct ck_client *c, struct ck_api_resources *out, struct ck_err *err);

/* The resource of kind in group (any version: the mapping is by group and kind, as a REST
 * mapper resolves an ownerReference whose apiVersion is not the preferred one); NULL when not
 * served. */
const struct ck_api_resource *ck_discovery_find_kind(const struct ck_api_resources *r,
                                                     const char *group, const char *kind);
/* The same by group and plural resource name. */
const struct ck_api_resource *ck_discovery_find_resource(const struct ck_api_resources *r,
                                                         const char *group, const char *resource);

/* The group of an apiVersion ("apps/v1" -> "apps", "v1" -> ""), written to out (NUL-ended,
 * truncated to n). */
void ck_api_version_group(const char *api_version, char *out, size_t n);

/* REST paths: the collection (name NULL) or one object; ns is ignored for cluster-scoped
 * resources and may be NULL or "" for a namespaced collection across namespaces. */
char *ck_api_resource_path(const struct ck_api_resource *r, const char *ns, const char *name);

/* Deep copy of one resource into out (appended). */
void ck_api_resources_append(struct ck_api_resources *out, const struct ck_api_resource *r);
void ck_api_resources_release(struct ck_api_resources *r);

#endif

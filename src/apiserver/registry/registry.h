/* SPDX-License-Identifier: Apache-2.0 */
/* The resource registry: every built-in resource the API server serves (group, version, kind,
 * plural, scope, verbs, subresources, selectable fields) and its group-versions. Immutable
 * after reg_init. Symbols are prefixed reg_. */
#ifndef CK_APISERVER_REGISTRY_H
#define CK_APISERVER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

enum reg_verb {
    REG_CREATE = 1 << 0,
    REG_DELETE = 1 << 1,
    REG_DELETECOLLECTION = 1 << 2,
    REG_GET = 1 << 3,
    REG_LIST = 1 << 4,
    REG_PATCH = 1 << 5,
    REG_UPDATE = 1 << 6,
    REG_WATCH = 1 << 7,
};
#define REG_ALL_VERBS 0xff
#define REG_NO_DC (REG_ALL_VERBS & ~REG_DELETECOLLECTION)

enum reg_flag {
    REG_NAMESPACED = 1 << 0,
    REG_STATUS = 1 << 1,            /* has a status subresource; main writes ignore .status */
    REG_SCALE = 1 << 2,             /* has a scale subresource (autoscaling/v1 Scale) */
    REG_BINDING = 1 << 3,           /* pods/binding */
    REG_GENERATION = 1 << 4,        /* metadata.generation tracks spec changes */
    REG_FINALIZE = 1 << 5,          /* namespaces/finalize */
    REG_RETURN_DELETED = 1 << 6,    /* DELETE answers with the object, not a Status */
    REG_DNS_LABEL = 1 << 7,         /* names are DNS-1123 labels (namespaces) */
    REG_DNS1035 = 1 << 8,           /* names are DNS-1035 labels (services) */
    REG_EVICTION = 1 << 9,          /* pods/eviction */
    REG_VIRTUAL = 1 << 10,          /* create-only review: answered, never stored */
    REG_CREATE_ON_UPDATE = 1 << 11, /* PUT of a missing object creates it (201) */
    REG_EPHEMERAL = 1 << 12,        /* pods/ephemeralcontainers */
    REG_APPROVAL = 1 << 13,         /* certificatesigningrequests/approval */
    REG_COMPUTED = 1 << 14,         /* read-only, computed on each read (componentstatuses) */
};

#define REG_MAX_FIELDS 12

/* One selectable field: its selector name and where its value lives in the object. */
struct reg_field {
    const char *name; /* "spec.nodeName" */
    const char *path; /* dotted path in the object; NULL = same as name */
    const char *dflt; /* value when absent ("" for strings, "false", "0") */
};

struct reg_resource {
    const char *group; /* "" for core */
    const char *version;
    const char *kind;
    const char *list_kind;
    const char *plural;
    const char *singular;
    unsigned flags;
    unsigned verbs;
    const char *short_names[3];
    const char *categories[2];
    struct reg_field fields[REG_MAX_FIELDS]; /* beyond metadata.name/namespace; name NULL ends */
    /* filled by reg_init */
    int idx;
    char api_version[64];  /* "v1", "apps/v1" */
    char key_prefix[96];   /* "/registry/core/pods/" */
    char body_prefix[160]; /* {"apiVersion":"v1","kind":"Pod","metadata":{ */
    size_t body_prefix_len;
    size_t nfields;  /* fields[] count + 2 (metadata.name, metadata.namespace first) */
    int index_field; /* field with a secondary index (pods: spec.nodeName), -1 = none */
    /* A view: this group-version is served but objects are stored as another resource
     * ("autoscaling/v2/horizontalpodautoscalers", "v1/events"); NULL = stored as itself.
     * reg_init resolves it into storage. Requests are converted (endpoints/convert.c). */
    const char *stored_as;
    const struct reg_resource *storage;
};

struct reg_group {
    const char *name; /* "" core */
    const char *version;
};

void reg_init(void);
size_t reg_count(void);
struct reg_resource *reg_at(size_t i);
const struct reg_resource *reg_find(const char *group, const char *version, const char *plural);
const struct reg_resource *reg_find_key(const char *key, size_t len);
/* Preferred group-versions, in /apis order (one per group). */
size_t reg_groups(const struct reg_group **out);
/* Further served versions of those groups, each after its group's preferred one in
 * discovery (autoscaling/v1, flowcontrol v1beta3, authentication v1beta1). */
size_t reg_extra_groups(const struct reg_group **out);
/* Resources of the further versions (not counted by reg_count/reg_at). */
size_t reg_extra_count(void);
struct reg_resource *reg_extra_at(size_t i);
/* Index of a selectable field name in the object's field array (0 name, 1 namespace, ...),
 * or -1. "spec.host" is accepted as an alias of pods' spec.nodeName. */
int reg_field_index(const struct reg_resource *r, const char *name);
const char *reg_field_name(const struct reg_resource *r, size_t i);
bool reg_has_group_version(const char *group, const char *version);
/* Resource-qualified name for messages: "pods", "deployments.apps". */
void reg_qualified(const struct reg_resource *res, char *out, size_t n);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* The admission chain (upstream's k8s.io/apiserver/pkg/admission): every write the API engine
 * takes from a client passes the mutating plugins (in upstream's order) after defaulting,
 * then, after the engine's own validation, the validating plugins. Plugins are tables of
 * function pointers; the set turned on is upstream's default set, changed with
 * --enable-admission-plugins / --disable-admission-plugins (api_opts).
 *
 * Layering: endpoints/ calls this folder; this folder reads the cache (storage/) and the
 * resources (registry/), never handlers. See README.md here. Symbols are prefixed adm_. */
#ifndef CK_APISERVER_ADMISSION_H
#define CK_APISERVER_ADMISSION_H

#include "apiserver/api.h"
#include "apiserver/registry/registry.h"
#include "apiserver/storage/storage.h"
#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>

enum adm_op { ADM_CREATE = 0, ADM_UPDATE, ADM_DELETE, ADM_CONNECT };

/* What is being admitted (upstream's admission.Attributes). */
struct adm_attrs {
    enum adm_op op;
    const struct reg_resource *res; /* group, version, plural, kind */
    const char *sub;                /* subresource, "" for the main resource */
    const char *ns;                 /* "" for cluster-scoped objects */
    const char *name;
    json_t *obj;               /* the new object (mutable while mutating); NULL for DELETE */
    json_t *old;               /* the current object for UPDATE/DELETE, else NULL */
    const char *user;          /* authenticated user name, "" when the engine itself writes */
    const char *uid;           /* user uid or "" */
    const char *const *groups; /* NULL-terminated or NULL */
    bool dry;
    struct api_response *rs; /* warnings go here (may be NULL) */
    struct eng_cache *cache; /* for lookups (namespaces, quotas, webhook configurations) */
};

struct adm_plugin {
    const char *name; /* upstream's plugin name, e.g. "NamespaceLifecycle" */
    bool default_on;  /* in upstream's default-on set */
    /* Either may be NULL. 0 = admitted; -1 with err filled = refused. */
    int (*mutate)(struct adm_attrs *a, struct ck_err *err);
    int (*validate)(struct adm_attrs *a, struct ck_err *err);
};

/* The mutating phase (every enabled plugin's mutate, in order). A no-op when a->user is NULL
 * (the engine's own writes, as upstream's are not admitted either for bootstrap objects). */
int adm_mutate(struct adm_attrs *a, struct ck_err *err);
/* The validating phase. */
int adm_validate(struct adm_attrs *a, struct ck_err *err);

/* Whether plugin `name` is on for the options o (upstream's defaults, then the flags). */
bool adm_enabled(const struct api_opts *o, const char *name);
/* Checks the two flag values against the known plugin names: 0, or -1 with msg filled. */
int adm_check_flags(const char *enable, const char *disable, char *msg, size_t n);

/* ---- shared helpers for the plugins (admission.c) ------------------------------------- */

/* Upstream's admission Forbidden: `<resource> "<name>" is forbidden: <why>`, 403. */
int adm_forbidden(struct ck_err *err, const struct adm_attrs *a, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True for core pods (main resource). */
bool adm_is_pod(const struct adm_attrs *a);
/* The current object (parsed, new reference) or NULL. */
json_t *adm_get(struct adm_attrs *a, const char *group, const char *version, const char *plural,
                const char *ns, const char *name);
/* Every object of a resource in namespace ns ("" = all), parsed: a new JSON array. */
json_t *adm_list(struct adm_attrs *a, const char *group, const char *version, const char *plural,
                 const char *ns);
void adm_warn(struct adm_attrs *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The plugins (one file each). */
extern const struct adm_plugin adm_namespace_lifecycle, adm_limit_ranger, adm_service_account,
    adm_node_restriction, adm_pod_security, adm_priority, adm_default_toleration_seconds,
    adm_default_storage_class, adm_mutating_webhook, adm_validating_webhook, adm_resource_quota;

/* podsecurity.c: evaluates a pod spec (with metadata) at a level ("baseline", "restricted";
 * "privileged" allows everything) and writes upstream's aggregated forbidden detail
 * ("privileged (container \"c\" must not set ...), ...") into out. True when allowed. */
bool adm_psa_evaluate(const char *level, json_t *pod_meta, json_t *spec, char *out, size_t n);

/* limitranger.c: applies LimitRange defaults to a pod (mutating) and checks min/max/ratio
 * (validating); exposed for the unit tests. ranges is a JSON array of LimitRange objects. */
void adm_limits_default(json_t *ranges, json_t *pod);
int adm_limits_check(json_t *ranges, json_t *pod, char *msg, size_t n);

/* quota.c: the usage a pod charges (a JSON object resource name -> quantity string) and the
 * first hard limit the addition would exceed; exposed for the unit tests. */
json_t *adm_quota_pod_usage(json_t *pod);
/* 0 when used + add fits in hard; else -1 with upstream's "exceeded quota" detail in msg. */
int adm_quota_check(const char *quota_name, json_t *hard, json_t *used, json_t *add, char *msg,
                    size_t n);

#endif

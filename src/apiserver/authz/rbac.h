/* SPDX-License-Identifier: Apache-2.0 */
/* The RBAC rule engine and the bootstrap policy, as upstream's plugin/pkg/auth/authorizer/rbac
 * and its bootstrappolicy. Objects are rbac.authorization.k8s.io/v1 JSON (jansson). The engine
 * runs it on every request (endpoints/authorize.c). */
#ifndef CK_APISERVER_RBAC_H
#define CK_APISERVER_RBAC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* What a request asks (upstream's authorizer.Attributes). Strings are borrowed. */
struct rbac_attrs {
    const char *user;
    const char *const *groups; /* NULL-terminated, may be NULL */
    const char *verb;          /* get list watch create update patch delete deletecollection ... */
    bool resource_request;     /* false: a non-resource path such as /healthz */
    const char *api_group;     /* "" for the core group */
    const char *resource;
    const char *subresource; /* NULL or "" for none */
    const char *ns;          /* NULL or "" at the cluster scope */
    const char *name;        /* NULL or "" for none */
    const char *path;        /* non-resource requests */
};

/* RBAC allows or has no opinion: it has no deny rules. */
enum rbac_decision { RBAC_NO_OPINION = 0, RBAC_ALLOW };

/* Where roles and bindings come from. */
struct rbac_store {
    void *arg;
    /* Calls fn for each ClusterRoleBinding (ns NULL) or each RoleBinding of ns until fn
     * returns true. */
    void (*bindings)(void *arg, const char *ns, bool (*fn)(void *ctx, const json_t *binding),
                     void *ctx);
    /* A ClusterRole (ns NULL) or a Role of ns: a new reference, or NULL when absent. */
    json_t *(*role)(void *arg, const char *ns, const char *name);
};

/* One PolicyRule against the request (upstream's RuleAllows). */
bool rbac_rule_allows(const json_t *rule, const struct rbac_attrs *a);

/* Does a binding's subject name the caller? (A RoleBinding's ServiceAccount subject must carry
 * its namespace; rbac_authorize fills in the binding's when it is missing.) */
bool rbac_subject_matches(const json_t *subject, const struct rbac_attrs *a);

/* Visits the ClusterRoleBindings, then the RoleBindings of a->ns, and allows on the first rule
 * that matches. reason gets upstream's text ("RBAC: allowed by ClusterRoleBinding "x" of
 * ClusterRole "y" to Group "z"") or the errors met, such as a missing role. */
enum rbac_decision rbac_authorize(const struct rbac_store *st, const struct rbac_attrs *a,
                                  char *reason, size_t reasonlen);

/* SelfSubjectRulesReview's status for who in ns: resourceRules, nonResourceRules, incomplete
 * (and evaluationError when some role could not be read). A new object. */
json_t *rbac_rules_review(const struct rbac_store *st, const struct rbac_attrs *who,
                          const char *ns);

/* Upstream's Forbidden message for a denied request, e.g.
 * `pods "x" is forbidden: User "u" cannot get resource "pods" in API group "" in the namespace
 * "default"`, with ": <reason>" appended when reason is not empty. */
void rbac_forbidden_message(const struct rbac_attrs *a, const char *reason, char *out,
                            size_t outlen);

/* The bootstrap policy: a new array of ClusterRoles then ClusterRoleBindings (upstream's
 * defaults, labelled kubernetes.io/bootstrapping=rbac-defaults and annotated
 * rbac.authorization.kubernetes.io/autoupdate=true); admin, edit and view carry their
 * aggregationRule and the rules aggregated from the bootstrap roles. NULL only on a bug. */
json_t *rbac_bootstrap_policy(void);

/* The rules of every ClusterRole in roles (an array) whose labels match one of aggregated's
 * aggregationRule.clusterRoleSelectors, deduplicated, in role-name order (upstream's
 * clusterrole-aggregation controller); a new array. */
json_t *rbac_aggregate_rules(const json_t *aggregated, const json_t *roles);

/* ---- escalation prevention (escalation.c) -------------------------------------------- */

struct ck_buf;
/* upstream's ruleCovers: does owner cover the (broken down) rule sub? */
bool rbac_rule_covers(const json_t *owner, const json_t *sub);
/* The atoms of rules (upstream's BreakdownRule) that no rule of owner_rules covers: a new
 * array, empty when every one is covered. */
json_t *rbac_uncovered(const json_t *owner_rules, const json_t *rules);
/* upstream's rbacv1helpers.CompactString: {APIGroups:["apps"], Resources:["deployments"],
 * Verbs:["get"]}, appended to out. */
void rbac_compact_string(const json_t *rule, struct ck_buf *out);

#endif

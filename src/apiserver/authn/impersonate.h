/* SPDX-License-Identifier: Apache-2.0 */
/* User impersonation (kubectl --as, --as-group, --as-uid), as upstream's WithImpersonation
 * filter: the Impersonate-User, Impersonate-Group (repeatable), Impersonate-Uid and
 * Impersonate-Extra-<key> headers of an authenticated request replace its user, once the
 * requester may impersonate each of them (authn_may_impersonate_fn; RBAC plugs in there). */
#ifndef CK_APISERVER_IMPERSONATE_H
#define CK_APISERVER_IMPERSONATE_H

#include "lib/err.h"

#include <stdbool.h>
#include <stddef.h>

/* Who a request runs as. Everything is owned by the struct (authn_user_release) unless the
 * struct was filled by hand with borrowed strings (then never released). */
struct authn_user {
    char *name;
    char *uid;     /* NULL if none */
    char **groups; /* NULL-terminated, may be NULL */
    size_t nextra;
    char **extra_keys; /* extra_keys[i] -> extra_vals[i]; a key repeats per value */
    char **extra_vals;
};

void authn_user_release(struct authn_user *u);

/* A request header, as the transport holds it (names in any case). */
struct authn_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

enum authn_imp_kind {
    AUTHN_IMP_USER,           /* resource users */
    AUTHN_IMP_SERVICEACCOUNT, /* resource serviceaccounts (namespace + name) */
    AUTHN_IMP_GROUP,          /* resource groups */
    AUTHN_IMP_EXTRA,          /* resource userextras/<key>, group authentication.k8s.io */
    AUTHN_IMP_UID,            /* resource uids, group authentication.k8s.io */
};

/* One thing the requester asks to act as (upstream's impersonation ObjectReference). */
struct authn_imp_req {
    enum authn_imp_kind kind;
    char *ns;   /* service account namespace, else NULL */
    char *name; /* user / service account / group name, extra value, uid */
    char *key;  /* extra key (lower-cased, percent-decoded), else NULL */
};

struct authn_imp {
    size_t n;
    struct authn_imp_req *reqs;
    bool groups_given;
};

void authn_imp_release(struct authn_imp *imp);

/* Collects the impersonation headers in request order: the user first, then groups, extras,
 * uid (upstream's order). Returns 0 with imp->n == 0 when there are none, 0 with imp filled,
 * or -1 when groups/extras/uid come without Impersonate-User: then msg holds upstream's text
 * ("requested [...] without impersonating a user"), which upstream sends as a plain-text 500. */
int authn_impersonation_parse(const struct authn_header *h, size_t nh, struct authn_imp *imp,
                              char *msg, size_t msglen);

/* The authorization hook: may `who` impersonate `what`? On false, reason (may stay empty)
 * is appended to the Forbidden message. */
typedef bool (*authn_may_impersonate_fn)(void *arg, const struct authn_user *who,
                                         const struct authn_imp_req *what, char *reason,
                                         size_t reasonlen);

/* A policy for callers without an authorizer: members of system:masters may impersonate
 * anyone. */
bool authn_may_impersonate_masters(void *arg, const struct authn_user *who,
                                   const struct authn_imp_req *what, char *reason,
                                   size_t reasonlen);

/* Checks every request with may (NULL = authn_may_impersonate_masters) and builds the new
 * user into *out (owned; release with authn_user_release): service accounts get
 * system:serviceaccounts and system:serviceaccounts:<ns> unless groups were given;
 * system:authenticated is added unless a group already is system:(un)authenticated, and
 * system:anonymous gets system:unauthenticated instead. Returns 0, or -1 with err set to
 * upstream's 403 Forbidden (details name/group/kind of the refused request). */
int authn_impersonate(const struct authn_user *who, const struct authn_imp *imp,
                      authn_may_impersonate_fn may, void *arg, struct authn_user *out,
                      struct ck_err *err);

/* "system:serviceaccount:<ns>:<name>" with a valid namespace (DNS-1123 label) and name
 * (DNS-1123 subdomain): 0 with ns/name copied into the buffers, else -1. */
int authn_split_sa_username(const char *user, char *ns, size_t nslen, char *name, size_t namelen);

#endif

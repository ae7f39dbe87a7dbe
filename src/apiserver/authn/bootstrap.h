/* SPDX-License-Identifier: Apache-2.0 */
/* Bootstrap tokens (upstream's plugin/pkg/auth/authenticator/token/bootstrap and
 * k8s.io/cluster-bootstrap): a bearer "<id>.<secret>" ([a-z0-9]{6} "." [a-z0-9]{16}) is
 * checked against the Secret kube-system/bootstrap-token-<id> of type
 * bootstrap.kubernetes.io/token and authenticates as system:bootstrap:<id> in the group
 * system:bootstrappers (+ auth-extra-groups, + system:authenticated). Pure functions: the
 * transport fetches the Secret and hands its JSON in. */
#ifndef CK_APISERVER_AUTHN_BOOTSTRAP_H
#define CK_APISERVER_AUTHN_BOOTSTRAP_H

#include "apiserver/authn/impersonate.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define AUTHN_BOOTSTRAP_SECRET_PREFIX "bootstrap-token-"
#define AUTHN_BOOTSTRAP_SECRET_TYPE "bootstrap.kubernetes.io/token"
#define AUTHN_BOOTSTRAP_USER_PREFIX "system:bootstrap:"
#define AUTHN_BOOTSTRAP_GROUP "system:bootstrappers"

/* Splits tok[0..len) into id (6 chars) and secret (16 chars), NUL-terminated. False when it is
 * not a bootstrap token (then another authenticator may still recognise it). */
bool authn_bootstrap_token_split(const char *tok, size_t len, char id[7], char secret[17]);

/* Checks id/secret against secret_obj (a v1 Secret as JSON, data base64-encoded) at time now,
 * as upstream's TokenAuthenticator: deleting, wrong type, wrong secret or id, expired (or an
 * unparseable expiration), usage-bootstrap-authentication not "true", or an invalid
 * auth-extra-groups entry all reject. Returns 0 with *out filled (owned: authn_user_release;
 * groups sorted and deduplicated, then system:authenticated), or -1 with why (for the log). */
int authn_bootstrap_check(const json_t *secret_obj, const char *id, const char *secret, time_t now,
                          struct authn_user *out, char *why, size_t whylen);

/* upstream's ValidateBootstrapGroupName: ^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$ */
bool authn_bootstrap_group_valid(const char *g, size_t len);

/* Secret data value key (decoded, malloc'd) or NULL when absent / not base64. */
char *authn_secret_data(const json_t *secret_obj, const char *key);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* The join's discovery check (join.c), apart for tests and fuzzing: what a server that is not
 * trusted yet sent in kube-public/cluster-info. */
#ifndef CK_AGENT_JOIN_H
#define CK_AGENT_JOIN_H

#include "lib/err.h"

/* kubeadm's token discovery check of a cluster-info kubeconfig: jws (the ConfigMap's
 * jws-kubeconfig-<id>, may be NULL) must be the detached HS256 JWS of kubeconfig with the
 * token secret, and the CA in its first cluster must match pin ("sha256:<hex>" of its
 * SubjectPublicKeyInfo; NULL: not checked). Returns the CA PEM (malloc'd), or NULL with
 * CK_R_FORBIDDEN / CK_R_BAD_REQUEST and kubeadm's message. */
char *ag_join_verify_cluster_info(const char *kubeconfig, const char *jws, const char *id,
                                  const char *secret, const char *pin, struct ck_err *err);

#endif

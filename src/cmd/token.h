/* SPDX-License-Identifier: Apache-2.0 */
/* Bootstrap tokens for joining nodes (kubeadm's token and bootstrap-token phases):
 * `ckube server` keeps one token in <data-dir>/bootstrap-token (or takes --bootstrap-token),
 * writes its Secret kube-system/bootstrap-token-<id> with a 24 h expiration that it renews
 * while running, publishes kube-public/cluster-info (the cluster's kubeconfig, signed with
 * each token as the bootstrap signer does), and prints and writes <data-dir>/join-command:
 *   ckube agent --server https://<addr>:<port> --token <id>.<secret>
 *       --ca-cert-hash sha256:<hex of the CA's SubjectPublicKeyInfo>
 * `ckube token create` makes further tokens. */
#ifndef CK_CMD_TOKEN_H
#define CK_CMD_TOKEN_H

#include "cmd/apiserver.h"

/* Run from `ckube server`'s on_ready: given is --bootstrap-token (NULL: the data dir's).
 * Returns 0, or -1 (logged). */
int join_setup(const struct apiserver_ready *r, const char *kubeconfig, const char *given);
/* Stops the renewal thread (idempotent). */
void join_stop(void);

#endif

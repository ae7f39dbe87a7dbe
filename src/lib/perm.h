/* SPDX-License-Identifier: Apache-2.0 */
/* File permissions of a component's data dir: the dir itself 0700; keys, tokens,
 * kubeconfigs, join commands and the store's files 0600 (files are created with those modes;
 * this tightens what an older version, a restore or a hand copy left wider). */
#ifndef CK_LIB_PERM_H
#define CK_LIB_PERM_H

#include <stdbool.h>

/* True when a file of this name in a data dir holds a secret (a private key, a token, a
 * kubeconfig or the join command). */
bool ck_perm_is_secret(const char *name);
/* Tightens dir to 0700, the secret files directly in it (ck_perm_is_secret) and every file
 * of its store/ sub-dir to 0600, and store/ itself to 0700. Only removes group/other bits;
 * files are never loosened. Returns how many modes changed (each logged at -v=1), or -1 when
 * dir cannot be read. */
int ck_perm_tighten_data_dir(const char *dir);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* The static token file (kube-apiserver --token-auth-file, upstream's
 * plugin/pkg/auth/authenticator/token/tokenfile): CSV records "token,user,uid[,\"g1,g2\"]".
 * Records with fewer than 3 columns fail the whole file; an empty token is skipped; a repeated
 * token keeps its last record; the groups column is split on ',' as is. Pure: no I/O besides
 * authn_tokenfile_load. */
#ifndef CK_APISERVER_AUTHN_TOKENFILE_H
#define CK_APISERVER_AUTHN_TOKENFILE_H

#include "apiserver/authn/impersonate.h"
#include "lib/err.h"

#include <stddef.h>

struct authn_tokenfile;

/* Parses text[0..len) (path only names the file in messages). 0 with *out, or -1 with err
 * (CK_R_BAD_REQUEST) saying which record is wrong, as upstream's messages. */
int authn_tokenfile_parse(const char *text, size_t len, const char *path,
                          struct authn_tokenfile **out, struct ck_err *err);
/* Reads and parses the file at path. */
int authn_tokenfile_load(const char *path, struct authn_tokenfile **out, struct ck_err *err);
void authn_tokenfile_free(struct authn_tokenfile *f);
size_t authn_tokenfile_count(const struct authn_tokenfile *f);

/* 0 with *u filled (owned; the file's user, uid and groups, then system:authenticated) when
 * tok[0..len) is a token of the file, else -1. Compares in constant time per entry. */
int authn_tokenfile_lookup(const struct authn_tokenfile *f, const char *tok, size_t len,
                           struct authn_user *u);

#endif

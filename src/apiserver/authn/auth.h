/* SPDX-License-Identifier: Apache-2.0 */
/* The admin bearer token: taken from --token, or read from / generated into <data-dir>/token
 * (32 random bytes, hex, mode 0600) so it survives restarts. */
#ifndef CK_APISERVER_AUTH_H
#define CK_APISERVER_AUTH_H

#include "lib/err.h"

/* given non-NULL: returns a copy of it (rejected if empty or containing whitespace) without
 * touching the data dir. Otherwise reuses <dir>/token or creates it. Returns a malloc'd token
 * or NULL with err filled. */
char *auth_admin_token(const char *dir, const char *given, struct ck_err *err);

#endif

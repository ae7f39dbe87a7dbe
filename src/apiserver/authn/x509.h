/* SPDX-License-Identifier: Apache-2.0 */
/* x509 client-certificate authentication (upstream's x509 authenticator with
 * CommonNameUserConversion): a client certificate the TLS layer verified against the client
 * CA authenticates as user = subject CN, groups = the subject's O values (+
 * system:authenticated). */
#ifndef CK_APISERVER_AUTHN_X509_H
#define CK_APISERVER_AUTHN_X509_H

#include "apiserver/authn/impersonate.h"

#include <openssl/x509.h>

/* Fills *out (owned: authn_user_release) from the verified leaf. Returns 0, or -1 when the
 * subject has no CN (upstream: not authenticated by this certificate). */
int authn_x509_user(X509 *leaf, struct authn_user *out);

/* Adds system:authenticated to u->groups (owned) unless u already is in it. */
void authn_add_authenticated(struct authn_user *u);

#endif

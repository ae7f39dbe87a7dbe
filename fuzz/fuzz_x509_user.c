/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: x509 client-certificate user extraction (src/apiserver/authn/x509.c) on
 * arbitrary DER certificates (OpenSSL parses; we read CN and O). Checks: no crash or leak; a
 * user always has a non-empty name and system:authenticated among its groups. */
#include "apiserver/authn/x509.h"

#include <openssl/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned char *p = data;
    X509 *x = d2i_X509(NULL, &p, (long)size);
    struct authn_user u;
    if (authn_x509_user(x, &u) == 0) {
        bool auth = false;
        for (size_t i = 0; u.groups && u.groups[i]; i++)
            auth |= !strcmp(u.groups[i], "system:authenticated");
        if (!u.name || !*u.name || !auth)
            abort();
        authn_user_release(&u);
    }
    X509_free(x);
    return 0;
}

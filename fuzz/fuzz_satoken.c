/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: service-account token verification (src/apiserver/authn/satoken.c) on
 * arbitrary bearer strings (libjwt decodes them; the claim checks follow a good signature only).
 * Nothing may crash or leak, and no input may verify: the fuzzer does not have the key. */
#include "apiserver/authn/satoken.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct sa_signer *S;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char path[64];
    snprintf(path, sizeof(path), "/tmp/fuzz_satoken.%d.key", (int)getpid());
    struct ck_err err = CK_ERR_INIT;
    if (sa_signer_load(path, "https://kubernetes.default.svc.cluster.local", &S, &err) < 0)
        abort();
    unlink(path);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *tok = malloc(size + 1);
    memcpy(tok, data, size);
    tok[size] = 0;
    struct sa_verified v;
    struct ck_err err = CK_ERR_INIT;
    if (sa_token_verify(S, tok, NULL, 1767226200, &v, &err) == 0)
        abort(); /* only the signer's own tokens verify, and the fuzzer has no key */
    ck_err_clear(&err);
    free(tok);
    return 0;
}

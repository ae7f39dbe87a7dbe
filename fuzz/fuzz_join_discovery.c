/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the join's check of what an untrusted server sends in
 * kube-public/cluster-info (src/agent/join.c ag_join_verify_cluster_info): the kubeconfig
 * YAML, its JWS and the CA in it. Input: byte 0 picks the mode; the rest is the kubeconfig.
 * Odd modes sign it correctly (so the YAML and the CA parsing are reached), even ones give
 * the fuzzed JWS "<rest up to a NUL>". A CA is returned only with a valid signature, and
 * only when it matches the pin (modes 2 and 3 give a pin that no key has). */
#include "agent/join.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *b64url(const void *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = 0;
    for (char *c = out; *c; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16384)
        return 0;
    const char *secret = "0123456789abcdef";
    int mode = data[0] % 4;
    char *kc = malloc(size);
    memcpy(kc, data + 1, size - 1);
    kc[size - 1] = 0;
    char *jws = NULL;
    if (mode & 1) {
        static const char hdr[] = "{\"alg\":\"HS256\",\"kid\":\"abcdef\"}";
        char *h = b64url(hdr, strlen(hdr)), *p = b64url(kc, strlen(kc));
        size_t in_len = strlen(h) + strlen(p) + 2;
        char *input = malloc(in_len);
        snprintf(input, in_len, "%s.%s", h, p);
        unsigned char mac[32];
        unsigned int maclen = 0;
        HMAC(EVP_sha256(), secret, 16, (unsigned char *)input, strlen(input), mac, &maclen);
        char *s = b64url(mac, maclen);
        size_t jl = strlen(h) + strlen(s) + 3;
        jws = malloc(jl);
        snprintf(jws, jl, "%s..%s", h, s);
        free(h);
        free(p);
        free(input);
        free(s);
    } else {
        jws = strdup(kc);
    }
    const char *pin = mode >= 2 ? "sha256:0000" : NULL;
    struct ck_err err = CK_ERR_INIT;
    char *ca = ag_join_verify_cluster_info(kc, jws, "abcdef", secret, pin, &err);
    if (ca && (pin || !(mode & 1)))
        abort(); /* an unsigned or unpinned CA got through */
    if (!ca && !err.msg[0])
        abort();
    free(ca);
    ck_err_clear(&err);
    free(jws);
    free(kc);
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: EncryptionConfiguration parsing (src/apiserver/storage/transform.c). A
 * configuration that parses must round-trip a value through the transformer of every
 * resource it could name, and decrypting the input bytes themselves as stored data must fail
 * cleanly or succeed; nothing may crash or leak. */
#include "apiserver/storage/transform.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const RES[][2] = {
    {"", "secrets"}, {"", "configmaps"}, {"apps", "deployments"}, {"example.com", "widgets"}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct enc_config *c = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (enc_config_parse((const char *)data, size, &c, &err) < 0)
        return 0;
    static const char key[] = "/registry/core/secrets/ns/name";
    static const char val[] = "{\"kind\":\"Secret\"}";
    for (size_t i = 0; i < sizeof(RES) / sizeof(RES[0]); i++) {
        const struct enc_transformer *t = enc_config_for(c, RES[i][0], RES[i][1]);
        if (!t)
            continue;
        void *ct = NULL, *pt = NULL;
        size_t n = 0, m = 0;
        if (enc_to_storage(t, key, sizeof(key) - 1, val, sizeof(val) - 1, &ct, &n, &err) < 0)
            abort();
        if (enc_from_storage(t, key, sizeof(key) - 1, ct, n, &pt, &m, NULL, &err) < 0 ||
            m != sizeof(val) - 1 || memcmp(pt, val, m))
            abort();
        free(ct);
        free(pt);
        if (enc_from_storage(t, key, sizeof(key) - 1, data, size, &pt, &m, NULL, &err) == 0)
            free(pt);
    }
    enc_config_free(c);
    return 0;
}

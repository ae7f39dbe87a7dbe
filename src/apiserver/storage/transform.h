/* SPDX-License-Identifier: Apache-2.0 */
/* Encryption at rest, as upstream's storage/value transformers and its EncryptionConfiguration
 * (apiserver.config.k8s.io/v1): per resource, an ordered list of providers (aesgcm, aescbc,
 * secretbox, identity), each with named keys. The first key of the first provider encrypts;
 * every key of every provider decrypts, chosen by the value's prefix:
 *   aesgcm    "k8s:enc:aesgcm:v1:<name>:"    12-byte random nonce, ciphertext, 16-byte tag
 *             (the storage key is the additional authenticated data, as upstream)
 *   aescbc    "k8s:enc:aescbc:v1:<name>:"    16-byte random IV, AES-CBC with PKCS#7 padding
 *   secretbox "k8s:enc:secretbox:v1:<name>:" 24-byte random nonce, XSalsa20-Poly1305 box
 *   identity  no prefix: plain bytes (reads anything that is not "k8s:enc:..." data)
 *
 * enc_store_wrap() puts the transformers between the engine and the store: values of the
 * configured resources are encrypted in txns and decrypted in get/range/events_since, in txn
 * results and in the committed-event stream, so the cache only ever sees plain objects. A
 * value of an unconfigured resource costs a compare against the (few) encrypted key prefixes.
 * Symbols are prefixed enc_. */
#ifndef CK_APISERVER_STORAGE_TRANSFORM_H
#define CK_APISERVER_STORAGE_TRANSFORM_H

#include "lib/err.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>

enum enc_kind { ENC_IDENTITY = 0, ENC_AESGCM, ENC_AESCBC, ENC_SECRETBOX };

/* One key of a provider: its prefix "k8s:enc:<kind>:v1:<name>:" (empty for identity). */
struct enc_key {
    enum enc_kind kind;
    char prefix[300];
    size_t prefix_len;
    unsigned char secret[32];
    size_t secret_len; /* 16, 24 or 32 (aes*), 32 (secretbox), 0 (identity) */
};

/* The transformer of one resources[] entry: keys in order, keys[0] encrypts. */
struct enc_transformer {
    struct enc_key *keys;
    size_t nkeys;
};

struct enc_config;

/* Parses an EncryptionConfiguration (YAML or JSON). Validates as upstream: kind/apiVersion,
 * non-empty resources and providers, one provider type per providers[] item, key names,
 * base64 secrets of the right length (aesgcm/aescbc 16, 24 or 32 bytes; secretbox 32), no
 * resource named twice. kms providers are refused (not supported). Errors: CK_R_BAD_REQUEST
 * with a message naming the field. *out is freed with enc_config_free. */
int enc_config_parse(const char *text, size_t len, struct enc_config **out, struct ck_err *err);
/* Reads and parses the file at path. */
int enc_config_load(const char *path, struct enc_config **out, struct ck_err *err);
void enc_config_free(struct enc_config *c);

/* The transformer for group/resource ("" for core): the first resources[] entry naming it
 * ("secrets", "deployments.apps", "*.apps", "*.*"), or NULL (stored as plain bytes). */
const struct enc_transformer *enc_config_for(const struct enc_config *c, const char *group,
                                             const char *resource);

/* Encrypts in[0..n) with t's first key for storage under key (the AAD of aesgcm). *out is
 * malloc'd (NUL-terminated past *out_len). Identity copies. */
int enc_to_storage(const struct enc_transformer *t, const char *key, size_t key_len, const void *in,
                   size_t n, void **out, size_t *out_len, struct ck_err *err);
/* Decrypts a stored value. Data with no matching prefix is refused ("no matching prefix
 * found") unless identity is one of the providers. A wrong key or damaged data gives
 * CK_R_INTERNAL "unable to transform key \"<key>\": <why>". *out as for enc_to_storage.
 * *stale (optional) is set when the value was not written by t's first key (upstream's
 * stale: an update must rewrite it even when the object is unchanged). */
int enc_from_storage(const struct enc_transformer *t, const char *key, size_t key_len,
                     const void *in, size_t n, void **out, size_t *out_len, bool *stale,
                     struct ck_err *err);

/* Wraps inner so that the values of every registry resource c configures are transformed.
 * Takes ownership of inner and of c (both freed by store_close on *out). When c configures
 * none of the registry's resources, *out is inner itself and c is freed. */
int enc_store_wrap(struct store *inner, struct enc_config *c, struct store **out,
                   struct ck_err *err);
/* True when st is such a wrapper and the stored value of key was read as stale (written by
 * an older key or before encryption) and not rewritten since: the engine's update then
 * writes an unchanged object anyway, so `kubectl replace` re-encrypts as upstream. Cheap
 * (false at once) for any other store. */
bool enc_store_stale(struct store *st, const char *key, size_t key_len);

#endif

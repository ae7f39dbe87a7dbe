/* SPDX-License-Identifier: Apache-2.0 */
/* EncryptionConfiguration parsing and the value transformers (aesgcm and aescbc through
 * OpenSSL, secretbox through libsodium, identity); see transform.h. */
#include "apiserver/storage/transform.h"

#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/yamljson.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENC_PREFIX "k8s:enc:"
#define ENC_MAX_CONFIG (1 << 20)
#define GCM_NONCE 12
#define GCM_TAG 16
#define CBC_BLOCK 16

/* One resources[] entry: the group/resource patterns it names and their transformer. */
struct enc_entry {
    char **groups, **resources; /* parallel: "" core, "*" any */
    size_t npat;
    struct enc_transformer t;
};

struct enc_config {
    struct enc_entry *entries;
    size_t nentries;
};

/* ---- config -------------------------------------------------------------------------- */

void enc_config_free(struct enc_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nentries; i++) {
        struct enc_entry *e = &c->entries[i];
        for (size_t j = 0; j < e->npat; j++) {
            free(e->groups[j]);
            free(e->resources[j]);
        }
        free(e->groups);
        free(e->resources);
        if (e->t.keys)
            sodium_memzero(e->t.keys, e->t.nkeys * sizeof(*e->t.keys));
        free(e->t.keys);
    }
    free(c->entries);
    free(c);
}

static const char *kind_name(enum enc_kind k)
{
    switch (k) {
    case ENC_AESGCM:
        return "aesgcm";
    case ENC_AESCBC:
        return "aescbc";
    case ENC_SECRETBOX:
        return "secretbox";
    default:
        return "identity";
    }
}

static bool key_name_ok(const char *s)
{
    if (!*s || strlen(s) > 250)
        return false;
    for (; *s; s++)
        if (*s == ':' || *s < 0x21 || *s > 0x7e)
            return false;
    return true;
}

/* Adds the keys of one provider (kind with its "keys" list) to t. */
static int add_keys(struct enc_transformer *t, enum enc_kind kind, json_t *prov, const char *where,
                    struct ck_err *err)
{
    json_t *keys = json_object_get(prov, "keys");
    if (!json_is_array(keys) || json_array_size(keys) == 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "%s.keys: Required value: at least one key",
                          where);
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        const char *name = json_string_value(json_object_get(k, "name"));
        const char *sec = json_string_value(json_object_get(k, "secret"));
        if (!name || !key_name_ok(name))
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "%s.keys[%zu].name: Invalid value: key names must be 1..250 "
                              "printable characters without ':'",
                              where, i);
        if (!sec)
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "%s.keys[%zu].secret: Required value: key material is required",
                              where, i);
        size_t n = 0;
        unsigned char *raw = (unsigned char *)ck_base64_decode(sec, strlen(sec), &n);
        if (!raw)
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "%s.keys[%zu].secret: Invalid value: secrets must be base64 "
                              "encoded",
                              where, i);
        bool ok = kind == ENC_SECRETBOX ? n == 32 : (n == 16 || n == 24 || n == 32);
        if (!ok) {
            sodium_memzero(raw, n);
            free(raw);
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "%s.keys[%zu].secret: Invalid value: %zu bytes: %s", where, i, n,
                              kind == ENC_SECRETBOX ? "secretbox keys must be 32 bytes"
                                                    : "aes keys must be 16, 24, or 32 bytes");
        }
        t->keys = ck_realloc(t->keys, (t->nkeys + 1) * sizeof(*t->keys));
        struct enc_key *ek = &t->keys[t->nkeys++];
        memset(ek, 0, sizeof(*ek));
        ek->kind = kind;
        ek->prefix_len = (size_t)snprintf(ek->prefix, sizeof(ek->prefix),
                                          ENC_PREFIX "%s:v1:%s:", kind_name(kind), name);
        memcpy(ek->secret, raw, n);
        ek->secret_len = n;
        sodium_memzero(raw, n);
        free(raw);
    }
    return 0;
}

static int parse_providers(struct enc_transformer *t, json_t *provs, const char *where,
                           struct ck_err *err)
{
    if (!json_is_array(provs) || json_array_size(provs) == 0)
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "%s.providers: Required value: at least one provider is required", where);
    size_t i;
    json_t *p;
    json_array_foreach(provs, i, p)
    {
        char w[64];
        snprintf(w, sizeof(w), "%s.providers[%zu]", where, i);
        if (!json_is_object(p) || json_object_size(p) != 1)
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "%s: Invalid value: exactly one provider can be configured per "
                              "element",
                              w);
        const char *kind = json_object_iter_key(json_object_iter(p));
        json_t *v = json_object_get(p, kind);
        char w2[96];
        snprintf(w2, sizeof(w2), "%s.%s", w, kind);
        if (!strcmp(kind, "identity")) {
            t->keys = ck_realloc(t->keys, (t->nkeys + 1) * sizeof(*t->keys));
            memset(&t->keys[t->nkeys++], 0, sizeof(*t->keys));
        } else if (!strcmp(kind, "aesgcm") || !strcmp(kind, "aescbc") ||
                   !strcmp(kind, "secretbox")) {
            enum enc_kind k = !strcmp(kind, "aesgcm")   ? ENC_AESGCM
                              : !strcmp(kind, "aescbc") ? ENC_AESCBC
                                                        : ENC_SECRETBOX;
            if (!json_is_object(v))
                return ck_err_set(err, CK_R_BAD_REQUEST, "%s: Invalid value: must be an object",
                                  w2);
            if (add_keys(t, k, v, w2, err) < 0)
                return -1;
        } else if (!strcmp(kind, "kms")) {
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "%s: Unsupported value: kms providers are not supported by ckube",
                              w2);
        } else {
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "%s: Unsupported value: \"%s\": supported values: \"aesgcm\", "
                              "\"aescbc\", \"secretbox\", \"identity\"",
                              w, kind);
        }
    }
    return 0;
}

static bool pattern_eq(const struct enc_config *c, const char *g, const char *r)
{
    for (size_t i = 0; i < c->nentries; i++)
        for (size_t j = 0; j < c->entries[i].npat; j++)
            if (!strcmp(c->entries[i].groups[j], g) && !strcmp(c->entries[i].resources[j], r))
                return true;
    return false;
}

static int parse_resources(struct enc_config *c, struct enc_entry *e, json_t *names,
                           const char *where, struct ck_err *err)
{
    if (!json_is_array(names) || json_array_size(names) == 0)
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "%s.resources: Required value: at least one resource is required", where);
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        const char *s = json_string_value(n);
        if (!s || !*s || strlen(s) > 253)
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "%s.resources[%zu]: Invalid value: must be a resource name", where,
                              i);
        const char *dot = strchr(s, '.');
        char *res = dot ? ck_strndup(s, (size_t)(dot - s)) : ck_strdup(s);
        char *grp = ck_strdup(dot ? dot + 1 : "");
        if (!*res || (strchr(res, '*') && strcmp(res, "*")) ||
            (strchr(grp, '*') && strcmp(grp, "*")) || (!strcmp(res, "*") && !dot)) {
            free(res);
            free(grp);
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "%s.resources[%zu]: Invalid value: \"%s\": use \"resource\", "
                              "\"resource.group\", \"*.group\", \"*.\" or \"*.*\"",
                              where, i, s);
        }
        bool dup = pattern_eq(c, grp, res);
        for (size_t j = 0; j < e->npat && !dup; j++)
            dup = !strcmp(e->groups[j], grp) && !strcmp(e->resources[j], res);
        if (dup) {
            free(res);
            free(grp);
            return ck_err_set(err, CK_R_BAD_REQUEST, "%s.resources[%zu]: Duplicate value: \"%s\"",
                              where, i, s);
        }
        e->groups = ck_realloc(e->groups, (e->npat + 1) * sizeof(char *));
        e->resources = ck_realloc(e->resources, (e->npat + 1) * sizeof(char *));
        e->groups[e->npat] = grp;
        e->resources[e->npat++] = res;
    }
    return 0;
}

static int parse_doc(struct enc_config *c, json_t *doc, struct ck_err *err)
{
    if (!json_is_object(doc))
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "encryption provider configuration: not an "
                          "object");
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    const char *av = json_string_value(json_object_get(doc, "apiVersion"));
    if (!kind || strcmp(kind, "EncryptionConfiguration") || !av ||
        (strcmp(av, "apiserver.config.k8s.io/v1") && strcmp(av, "apiserver.config.k8s.io/v1beta1")))
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "encryption provider configuration: want kind EncryptionConfiguration "
                          "of apiserver.config.k8s.io/v1, got %s of %s",
                          kind ? kind : "(none)", av ? av : "(none)");
    json_t *rs = json_object_get(doc, "resources");
    if (!json_is_array(rs) || json_array_size(rs) == 0)
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "resources: Required value: resources is a required field");
    c->entries = ck_calloc(json_array_size(rs), sizeof(*c->entries));
    size_t i;
    json_t *r;
    json_array_foreach(rs, i, r)
    {
        char where[32];
        snprintf(where, sizeof(where), "resources[%zu]", i);
        struct enc_entry *e = &c->entries[c->nentries++];
        if (!json_is_object(r))
            return ck_err_set(err, CK_R_BAD_REQUEST, "%s: Invalid value: must be an object", where);
        if (parse_resources(c, e, json_object_get(r, "resources"), where, err) < 0 ||
            parse_providers(&e->t, json_object_get(r, "providers"), where, err) < 0)
            return -1;
    }
    return 0;
}

int enc_config_parse(const char *text, size_t len, struct enc_config **out, struct ck_err *err)
{
    *out = NULL;
    if (len > ENC_MAX_CONFIG)
        return ck_err_set(err, CK_R_TOO_LARGE, "encryption provider configuration: over 1 MiB");
    json_t *doc = NULL;
    if (yaml_to_json(text, len, &doc, err) < 0)
        return ck_err_wrap(err, "encryption provider configuration");
    struct enc_config *c = ck_calloc(1, sizeof(*c));
    int rc = parse_doc(c, doc, err);
    json_decref(doc);
    if (rc < 0) {
        enc_config_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

int enc_config_load(const char *path, struct enc_config **out, struct ck_err *err)
{
    struct ck_buf b = CK_BUF_INIT(ENC_MAX_CONFIG + 1);
    int rc = ck_buf_read_file(&b, path);
    if (rc < 0) {
        int e = errno;
        ck_buf_release(&b);
        if (e != EFBIG)
            return ck_err_sys(err, e, "reading the encryption provider configuration %s", path);
        return ck_err_set(err, CK_R_TOO_LARGE, "%s: over 1 MiB", path);
    }
    rc = enc_config_parse(b.data ? b.data : "", b.len, out, err);
    ck_buf_release(&b);
    return rc < 0 ? ck_err_wrap(err, "%s", path) : 0;
}

static bool pat_match(const char *pat, const char *s)
{
    return !strcmp(pat, "*") || !strcmp(pat, s);
}

const struct enc_transformer *enc_config_for(const struct enc_config *c, const char *group,
                                             const char *resource)
{
    /* upstream: an exact name first, then "*.group", then "*.*" */
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = 0; i < c->nentries; i++)
            for (size_t j = 0; j < c->entries[i].npat; j++) {
                const char *g = c->entries[i].groups[j], *r = c->entries[i].resources[j];
                bool wr = !strcmp(r, "*"), wg = !strcmp(g, "*");
                if ((pass == 0 && (wr || wg)) || (pass == 1 && (!wr || wg)) ||
                    (pass == 2 && !(wr && wg)))
                    continue;
                if (pat_match(r, resource) && pat_match(g, group))
                    return &c->entries[i].t;
            }
    return NULL;
}

/* ---- transformers -------------------------------------------------------------------- */

static const EVP_CIPHER *aes_cipher(size_t len, bool gcm)
{
    if (len == 16)
        return gcm ? EVP_aes_128_gcm() : EVP_aes_128_cbc();
    if (len == 24)
        return gcm ? EVP_aes_192_gcm() : EVP_aes_192_cbc();
    return gcm ? EVP_aes_256_gcm() : EVP_aes_256_cbc();
}

/* out = prefix | nonce | ciphertext | tag */
static int gcm_seal(const struct enc_key *k, const char *aad, size_t aad_len,
                    const unsigned char *in, size_t n, unsigned char *out, size_t *out_len)
{
    unsigned char *nonce = out + k->prefix_len, *ct = nonce + GCM_NONCE;
    if (RAND_bytes(nonce, GCM_NONCE) != 1)
        return -1;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int l = 0, l2 = 0,
        ok = x &&
             EVP_EncryptInit_ex(x, aes_cipher(k->secret_len, true), NULL, k->secret, nonce) == 1 &&
             EVP_EncryptUpdate(x, NULL, &l, (const unsigned char *)aad, (int)aad_len) == 1 &&
             EVP_EncryptUpdate(x, ct, &l, in, (int)n) == 1 &&
             EVP_EncryptFinal_ex(x, ct + l, &l2) == 1 &&
             EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, GCM_TAG, ct + l + l2) == 1;
    EVP_CIPHER_CTX_free(x);
    *out_len = k->prefix_len + GCM_NONCE + (size_t)(l + l2) + GCM_TAG;
    return ok ? 0 : -1;
}

static const char *gcm_open(const struct enc_key *k, const char *aad, size_t aad_len,
                            const unsigned char *in, size_t n, unsigned char *out, size_t *out_len)
{
    if (n < GCM_NONCE + GCM_TAG)
        return "the stored data was shorter than the required size";
    const unsigned char *ct = in + GCM_NONCE;
    size_t cl = n - GCM_NONCE - GCM_TAG;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int l = 0, l2 = 0;
    int ok = x &&
             EVP_DecryptInit_ex(x, aes_cipher(k->secret_len, true), NULL, k->secret, in) == 1 &&
             EVP_DecryptUpdate(x, NULL, &l, (const unsigned char *)aad, (int)aad_len) == 1 &&
             EVP_DecryptUpdate(x, out, &l, ct, (int)cl) == 1 &&
             EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, GCM_TAG, (void *)(ct + cl)) == 1 &&
             EVP_DecryptFinal_ex(x, out + l, &l2) == 1;
    EVP_CIPHER_CTX_free(x);
    *out_len = (size_t)(l + l2);
    return ok ? NULL : "cipher: message authentication failed";
}

static int cbc_seal(const struct enc_key *k, const unsigned char *in, size_t n, unsigned char *out,
                    size_t *out_len)
{
    unsigned char *iv = out + k->prefix_len, *ct = iv + CBC_BLOCK;
    if (RAND_bytes(iv, CBC_BLOCK) != 1)
        return -1;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new(); /* OpenSSL's default padding is PKCS#7 */
    int l = 0, l2 = 0;
    int ok =
        x && EVP_EncryptInit_ex(x, aes_cipher(k->secret_len, false), NULL, k->secret, iv) == 1 &&
        EVP_EncryptUpdate(x, ct, &l, in, (int)n) == 1 && EVP_EncryptFinal_ex(x, ct + l, &l2) == 1;
    EVP_CIPHER_CTX_free(x);
    *out_len = k->prefix_len + CBC_BLOCK + (size_t)(l + l2);
    return ok ? 0 : -1;
}

static const char *cbc_open(const struct enc_key *k, const unsigned char *in, size_t n,
                            unsigned char *out, size_t *out_len)
{
    if (n < CBC_BLOCK)
        return "the stored data was shorter than the required size";
    if ((n - CBC_BLOCK) % CBC_BLOCK || n == CBC_BLOCK)
        return "the stored data is not a multiple of the block size";
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int l = 0, l2 = 0;
    int ok = x &&
             EVP_DecryptInit_ex(x, aes_cipher(k->secret_len, false), NULL, k->secret, in) == 1 &&
             EVP_DecryptUpdate(x, out, &l, in + CBC_BLOCK, (int)(n - CBC_BLOCK)) == 1 &&
             EVP_DecryptFinal_ex(x, out + l, &l2) == 1;
    EVP_CIPHER_CTX_free(x);
    *out_len = (size_t)(l + l2);
    return ok ? NULL : "invalid PKCS7 data (empty or not padded)";
}

int enc_to_storage(const struct enc_transformer *t, const char *key, size_t key_len, const void *in,
                   size_t n, void **out, size_t *out_len, struct ck_err *err)
{
    const struct enc_key *k = &t->keys[0];
    /* room for prefix, nonce/IV (24 at most), padding or tag (16 at most) and a NUL */
    if (n > (size_t)1 << 30)
        return ck_err_set(err, CK_R_TOO_LARGE, "value too large to encrypt");
    unsigned char *buf = ck_malloc(k->prefix_len + n + 24 + 16 + CBC_BLOCK + 1);
    int rc = 0;
    switch (k->kind) {
    case ENC_IDENTITY:
        memcpy(buf, in, n);
        *out_len = n;
        break;
    case ENC_AESGCM:
        rc = gcm_seal(k, key, key_len, in, n, buf, out_len);
        break;
    case ENC_AESCBC:
        rc = cbc_seal(k, in, n, buf, out_len);
        break;
    case ENC_SECRETBOX: {
        unsigned char *nonce = buf + k->prefix_len;
        randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
        rc = crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES, in, n, nonce, k->secret);
        *out_len = k->prefix_len + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n;
        break;
    }
    }
    if (rc < 0) {
        free(buf);
        return ck_err_set(err, CK_R_INTERNAL,
                          "unable to transform key \"%.*s\": encryption "
                          "failed",
                          (int)key_len, key);
    }
    memcpy(buf, k->prefix, k->prefix_len);
    buf[*out_len] = 0;
    *out = buf;
    return 0;
}

/* Decrypts the data after k's prefix; NULL or why not. */
static const char *open_with(const struct enc_key *k, const char *key, size_t key_len,
                             const unsigned char *d, size_t n, unsigned char *out, size_t *out_len)
{
    switch (k->kind) {
    case ENC_AESGCM:
        return gcm_open(k, key, key_len, d, n, out, out_len);
    case ENC_AESCBC:
        return cbc_open(k, d, n, out, out_len);
    case ENC_SECRETBOX:
        if (n < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
            return "the stored data was shorter than the required size";
        if (crypto_secretbox_open_easy(out, d + crypto_secretbox_NONCEBYTES,
                                       n - crypto_secretbox_NONCEBYTES, d, k->secret) != 0)
            return "output array was not large enough for encryption";
        *out_len = n - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
        return NULL;
    default:
        return "identity transformer tried to read encrypted data";
    }
}

int enc_from_storage(const struct enc_transformer *t, const char *key, size_t key_len,
                     const void *in, size_t n, void **out, size_t *out_len, bool *stale,
                     struct ck_err *err)
{
    if (stale)
        *stale = false;
    const unsigned char *d = in;
    bool enc = n >= sizeof(ENC_PREFIX) - 1 && !memcmp(d, ENC_PREFIX, sizeof(ENC_PREFIX) - 1);
    for (size_t i = 0; i < t->nkeys; i++) {
        const struct enc_key *k = &t->keys[i];
        if (k->kind == ENC_IDENTITY) {
            if (enc)
                continue; /* upstream: identity refuses encrypted data, later keys may read */
            unsigned char *buf = ck_malloc(n + 1);
            memcpy(buf, d, n);
            buf[n] = 0;
            *out = buf;
            *out_len = n;
            if (stale)
                *stale = i != 0;
            return 0;
        }
        if (n < k->prefix_len || memcmp(d, k->prefix, k->prefix_len))
            continue;
        unsigned char *buf = ck_malloc(n + 1);
        const char *why =
            open_with(k, key, key_len, d + k->prefix_len, n - k->prefix_len, buf, out_len);
        if (why) {
            sodium_memzero(buf, n);
            free(buf);
            return ck_err_set(err, CK_R_INTERNAL, "unable to transform key \"%.*s\": %s",
                              (int)key_len, key, why);
        }
        buf[*out_len] = 0;
        *out = buf;
        if (stale)
            *stale = i != 0;
        return 0;
    }
    return ck_err_set(err, CK_R_INTERNAL, "unable to transform key \"%.*s\": %s", (int)key_len, key,
                      enc ? "no matching prefix found"
                          : "no matching prefix found (the value is "
                            "not encrypted and identity is not a "
                            "provider)");
}

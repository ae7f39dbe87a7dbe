/* SPDX-License-Identifier: Apache-2.0 */
/* Service-account tokens: see satoken.h. The key is OpenSSL's, the JWT is libjwt's, the JWK is
 * cjose's; this file only builds and checks the claims, as upstream's pkg/serviceaccount
 * (claims.go, jwt.go) does. */
#include "apiserver/authn/satoken.h"
#include "lib/certs.h"
#include "lib/log.h"

#include <cjose/jwk.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/banned.h"

struct sa_signer {
    EVP_PKEY *key;
    char *priv_pem, *pub_pem;
    int priv_len, pub_len;
    char kid[64];
    char *issuer;
};

static char *bio_text(BIO *b, int *len)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    char *out = malloc((size_t)n + 1);
    if (!out)
        return NULL;
    memcpy(out, p, (size_t)n);
    out[n] = 0;
    *len = (int)n;
    return out;
}

/* base64url without padding */
static void b64url(const unsigned char *in, size_t n, char *out, size_t outlen)
{
    unsigned char buf[256];
    if (4 * ((n + 2) / 3) + 1 > sizeof(buf) || outlen == 0)
        return;
    int len = EVP_EncodeBlock(buf, in, (int)n);
    size_t j = 0;
    for (int i = 0; i < len && j + 1 < outlen; i++) {
        char c = (char)buf[i];
        if (c == '=')
            break;
        out[j++] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    out[j] = 0;
}

int sa_signer_load(const char *key_file, const char *issuer, struct sa_signer **out,
                   struct ck_err *err)
{
    struct stat st;
    if (stat(key_file, &st) < 0) {
        if (errno != ENOENT)
            return ck_err_sys(err, errno, "stat %s", key_file);
        EVP_PKEY *k = EVP_RSA_gen(2048);
        if (!k)
            return ck_err_set(err, CK_R_INTERNAL, "generating the service-account key failed");
        int rc = ck_pem_write(key_file, k, NULL, err);
        EVP_PKEY_free(k);
        if (rc < 0)
            return -1;
    }
    FILE *f = fopen(key_file, "r");
    if (!f)
        return ck_err_sys(err, errno, "open %s", key_file);
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
        EVP_PKEY_free(key);
        return ck_err_set(err, CK_R_BAD_REQUEST, "%s: not an RSA private key in PEM", key_file);
    }
    struct sa_signer *s = calloc(1, sizeof(*s));
    BIO *priv = BIO_new(BIO_s_mem()), *pub = BIO_new(BIO_s_mem());
    unsigned char *der = NULL;
    int derlen = i2d_PUBKEY(key, &der);
    if (!s || !priv || !pub || derlen <= 0 ||
        !PEM_write_bio_PrivateKey(priv, key, NULL, NULL, 0, NULL, NULL) ||
        !PEM_write_bio_PUBKEY(pub, key) || !(s->priv_pem = bio_text(priv, &s->priv_len)) ||
        !(s->pub_pem = bio_text(pub, &s->pub_len)) || !(s->issuer = strdup(issuer))) {
        BIO_free(priv);
        BIO_free(pub);
        OPENSSL_free(der);
        s->key = key;
        sa_signer_free(s);
        return ck_err_set(err, CK_R_INTERNAL, "loading the service-account key failed");
    }
    unsigned char sum[32];
    unsigned int sumlen = 0;
    EVP_Digest(der, (size_t)derlen, sum, &sumlen, EVP_sha256(), NULL);
    b64url(sum, sumlen, s->kid, sizeof(s->kid));
    OPENSSL_free(der);
    BIO_free(priv);
    BIO_free(pub);
    s->key = key;
    *out = s;
    return 0;
}

void sa_signer_free(struct sa_signer *s)
{
    if (!s)
        return;
    EVP_PKEY_free(s->key);
    if (s->priv_pem)
        OPENSSL_cleanse(s->priv_pem, (size_t)s->priv_len);
    free(s->priv_pem);
    free(s->pub_pem);
    free(s->issuer);
    free(s);
}

const char *sa_signer_kid(const struct sa_signer *s)
{
    return s->kid;
}

const char *sa_signer_issuer(const struct sa_signer *s)
{
    return s->issuer;
}

static void uuid4(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        memset(b, 0, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static json_t *ref(const char *name, const char *uid)
{
    return json_pack("{s:s,s:s}", "name", name, "uid", uid ? uid : "");
}

char *sa_token_issue(const struct sa_signer *s, const struct sa_claims *c, struct ck_err *err)
{
    if (!c->ns || !c->sa_name) {
        ck_err_set(err, CK_R_BAD_REQUEST, "a service-account token needs a namespace and name");
        return NULL;
    }
    char sub[512], jti[37];
    snprintf(sub, sizeof(sub), "system:serviceaccount:%s:%s", c->ns, c->sa_name);
    if (c->jti)
        snprintf(jti, sizeof(jti), "%s", c->jti);
    else
        uuid4(jti);
    json_t *aud = json_array();
    for (size_t i = 0; c->audiences && c->audiences[i]; i++)
        json_array_append_new(aud, json_string(c->audiences[i]));
    if (!json_array_size(aud))
        json_array_append_new(aud, json_string(s->issuer));
    json_t *k8s =
        json_pack("{s:s,s:o}", "namespace", c->ns, "serviceaccount", ref(c->sa_name, c->sa_uid));
    if (c->pod_name)
        json_object_set_new(k8s, "pod", ref(c->pod_name, c->pod_uid));
    if (c->secret_name)
        json_object_set_new(k8s, "secret", ref(c->secret_name, c->secret_uid));
    if (c->node_name)
        json_object_set_new(k8s, "node", ref(c->node_name, c->node_uid));
    if (c->warnafter)
        json_object_set_new(k8s, "warnafter", json_integer(c->warnafter));
    json_t *claims =
        json_pack("{s:o,s:I,s:I,s:s,s:s,s:o,s:I,s:s}", "aud", aud, "exp", (json_int_t)c->exp, "iat",
                  (json_int_t)c->iat, "iss", s->issuer, "jti", jti, "kubernetes.io", k8s, "nbf",
                  (json_int_t)c->iat, "sub", sub);
    char *grants = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(claims);
    jwt_t *jwt = NULL;
    char *tok = NULL, *out = NULL;
    if (grants && jwt_new(&jwt) == 0 && jwt_add_header(jwt, "kid", s->kid) == 0 &&
        jwt_add_grants_json(jwt, grants) == 0 &&
        jwt_set_alg(jwt, JWT_ALG_RS256, (const unsigned char *)s->priv_pem, s->priv_len) == 0)
        tok = jwt_encode_str(jwt);
    if (tok)
        out = strdup(tok);
    free(tok); /* libjwt's strings come from its (default: libc) allocator */
    jwt_free(jwt);
    free(grants);
    if (!out)
        ck_err_set(err, CK_R_INTERNAL, "signing the service-account token failed");
    return out;
}

static char *dup_str(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? strdup(v) : NULL;
}

void sa_verified_release(struct sa_verified *v)
{
    char **strs[] = {&v->ns,          &v->sa_name,    &v->sa_uid,    &v->pod_name, &v->pod_uid,
                     &v->secret_name, &v->secret_uid, &v->node_name, &v->node_uid, &v->jti};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    for (size_t i = 0; v->audiences && v->audiences[i]; i++)
        free(v->audiences[i]);
    free(v->audiences);
    v->audiences = NULL;
}

static int reject(struct ck_err *err, const char *why)
{
    return ck_err_set(err, CK_R_UNAUTHORIZED, "service-account token: %s", why);
}

int sa_token_verify(const struct sa_signer *s, const char *token, const char *const *accept,
                    int64_t now, struct sa_verified *out, struct ck_err *err)
{
    memset(out, 0, sizeof(*out));
    jwt_t *jwt = NULL;
    if (!token || jwt_decode(&jwt, token, (const unsigned char *)s->pub_pem, s->pub_len) != 0)
        return reject(err, "malformed, or not signed by this issuer's key");
    if (jwt_get_alg(jwt) != JWT_ALG_RS256) {
        jwt_free(jwt);
        return reject(err, "unexpected signing algorithm");
    }
    const char *kid = jwt_get_header(jwt, "kid");
    if (kid && strcmp(kid, s->kid)) {
        jwt_free(jwt);
        return reject(err, "unknown key id");
    }
    char *grants = jwt_get_grants_json(jwt, NULL);
    jwt_free(jwt);
    json_t *c = grants ? json_loads(grants, 0, NULL) : NULL;
    free(grants);
    const char *why = NULL;
    const json_t *k8s = json_object_get(c, "kubernetes.io");
    const json_t *aud = json_object_get(c, "aud");
    json_int_t exp = json_integer_value(json_object_get(c, "exp"));
    json_int_t nbf = json_integer_value(json_object_get(c, "nbf"));
    json_int_t iat = json_integer_value(json_object_get(c, "iat"));
    const char *iss = json_string_value(json_object_get(c, "iss"));
    if (!json_is_object(c) || !json_is_object(k8s))
        why = "no kubernetes.io claim";
    else if (!iss || strcmp(iss, s->issuer))
        why = "issuer does not match";
    else if (!json_is_integer(json_object_get(c, "exp")) || exp <= now)
        why = "expired";
    else if (nbf > now + 60 || iat > now + 60)
        why = "not valid yet";
    if (why) {
        json_decref(c);
        return reject(err, why);
    }
    /* aud is a string or an array; keep those the caller accepts */
    const char *const own[] = {s->issuer, NULL};
    if (!accept || !accept[0])
        accept = own;
    json_t *auds = json_is_string(aud) ? json_pack("[O]", aud) : json_incref((json_t *)aud);
    size_t n = 0;
    out->audiences = calloc(json_array_size(auds) + 1, sizeof(char *));
    size_t i;
    const json_t *a;
    json_array_foreach(auds, i, a)
    {
        for (size_t k = 0; out->audiences && json_string_value(a) && accept[k]; k++)
            if (!strcmp(accept[k], json_string_value(a))) {
                out->audiences[n++] = strdup(accept[k]);
                break;
            }
    }
    json_decref(auds);
    if (n == 0) {
        json_decref(c);
        sa_verified_release(out);
        return reject(err, "token audiences are not accepted");
    }
    const json_t *sa = json_object_get(k8s, "serviceaccount");
    out->ns = dup_str(k8s, "namespace");
    out->sa_name = dup_str(sa, "name");
    out->sa_uid = dup_str(sa, "uid");
    out->pod_name = dup_str(json_object_get(k8s, "pod"), "name");
    out->pod_uid = dup_str(json_object_get(k8s, "pod"), "uid");
    out->secret_name = dup_str(json_object_get(k8s, "secret"), "name");
    out->secret_uid = dup_str(json_object_get(k8s, "secret"), "uid");
    out->node_name = dup_str(json_object_get(k8s, "node"), "name");
    out->node_uid = dup_str(json_object_get(k8s, "node"), "uid");
    out->jti = dup_str(c, "jti");
    out->exp = exp;
    out->nbf = nbf;
    out->iat = iat;
    /* sub must name the same service account */
    char sub[512];
    snprintf(sub, sizeof(sub), "system:serviceaccount:%s:%s", out->ns ? out->ns : "",
             out->sa_name ? out->sa_name : "");
    const char *tsub = json_string_value(json_object_get(c, "sub"));
    bool same = out->ns && out->sa_name && tsub && !strcmp(tsub, sub);
    json_decref(c);
    if (!same) {
        sa_verified_release(out);
        return reject(err, "subject does not match the service account claim");
    }
    return 0;
}

char *sa_openid_configuration(const struct sa_signer *s, const char *jwks_uri)
{
    json_t *doc =
        json_pack("{s:s,s:s,s:[s],s:[s],s:[s]}", "issuer", s->issuer, "jwks_uri", jwks_uri,
                  "response_types_supported", "id_token", "subject_types_supported", "public",
                  "id_token_signing_alg_values_supported", "RS256");
    char *out = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return out;
}

static unsigned char *bn_bytes(const EVP_PKEY *k, const char *param, size_t *len)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(k, param, &bn))
        return NULL;
    *len = (size_t)BN_num_bytes(bn);
    unsigned char *b = malloc(*len ? *len : 1);
    if (b)
        BN_bn2bin(bn, b);
    BN_free(bn);
    return b;
}

char *sa_jwks(const struct sa_signer *s)
{
    cjose_jwk_rsa_keyspec spec = {0};
    spec.n = bn_bytes(s->key, OSSL_PKEY_PARAM_RSA_N, &spec.nlen);
    spec.e = bn_bytes(s->key, OSSL_PKEY_PARAM_RSA_E, &spec.elen);
    char *out = NULL;
    cjose_err cerr;
    cjose_jwk_t *jwk = spec.n && spec.e ? cjose_jwk_create_RSA_spec(&spec, &cerr) : NULL;
    char *text = NULL;
    if (jwk && cjose_jwk_set_kid(jwk, s->kid, strlen(s->kid), &cerr))
        text = cjose_jwk_to_json(jwk, false, &cerr);
    json_t *key = text ? json_loads(text, 0, NULL) : NULL;
    if (key) {
        json_object_set_new(key, "use", json_string("sig"));
        json_object_set_new(key, "alg", json_string("RS256"));
        json_t *doc = json_pack("{s:[o]}", "keys", key);
        out = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
    }
    free(text); /* cjose's default allocator is libc's */
    cjose_jwk_release(jwk);
    free(spec.n);
    free(spec.e);
    return out;
}

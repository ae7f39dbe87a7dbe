/* SPDX-License-Identifier: Apache-2.0 */
/* Service-account tokens (upstream's pkg/serviceaccount): bound JWTs signed with RS256 by the
 * API server's service-account key (TokenRequest, `kubectl create token`), their verification
 * for the authenticator, and the OIDC discovery documents (/.well-known/openid-configuration,
 * /openid/v1/jwks). JWT encoding and signatures are libjwt's; the JWKS is cjose's. The engine
 * uses it for TokenRequest and its token authenticator (endpoints/tokenauth.c). */
#ifndef CK_APISERVER_SATOKEN_H
#define CK_APISERVER_SATOKEN_H

#include "lib/err.h"

#include <stddef.h>
#include <stdint.h>

struct sa_signer;

/* Loads the RSA private key at key_file (PEM), creating a 2048-bit one (mode 0600) when the
 * file does not exist. issuer: the "iss" of issued tokens, e.g.
 * "https://kubernetes.default.svc.cluster.local". */
int sa_signer_load(const char *key_file, const char *issuer, struct sa_signer **out,
                   struct ck_err *err);
void sa_signer_free(struct sa_signer *s);
/* upstream's key id: base64url(sha256(DER SubjectPublicKeyInfo)), no padding */
const char *sa_signer_kid(const struct sa_signer *s);
const char *sa_signer_issuer(const struct sa_signer *s);

/* What a bound token says (the kubernetes.io private claim); strings may be NULL. */
struct sa_claims {
    const char *ns, *sa_name, *sa_uid;
    const char *pod_name, *pod_uid;       /* bound to a pod */
    const char *secret_name, *secret_uid; /* bound to a secret */
    const char *node_name, *node_uid;     /* the pod's node, or bound to a node */
    const char *const *audiences;         /* NULL-terminated; NULL or empty: the issuer */
    int64_t iat, exp;                     /* unix seconds */
    int64_t warnafter;                    /* 0: none */
    const char *jti;                      /* NULL: a random UUID */
};

/* A signed compact JWT (malloc'd), or NULL with err. */
char *sa_token_issue(const struct sa_signer *s, const struct sa_claims *c, struct ck_err *err);

/* A verified token: the claims (owned strings) and its id. */
struct sa_verified {
    char *ns, *sa_name, *sa_uid, *pod_name, *pod_uid, *secret_name, *secret_uid, *node_name,
        *node_uid, *jti;
    char **audiences; /* NULL-terminated: the token's audiences that the caller accepted */
    int64_t iat, exp, nbf;
};

/* Checks signature (RS256, this signer's key), issuer, expiry and not-before at now (60 s of
 * clock skew for nbf/iat), and that one of the token's audiences is in accept (NULL: the
 * issuer). Returns 0 with out filled, or -1 with a CK_R_UNAUTHORIZED err saying why (upstream
 * says "invalid bearer token" to the client; the reason is for logs). Objects named by the
 * claims (service account, pod, secret) must still be checked by the caller. */
int sa_token_verify(const struct sa_signer *s, const char *token, const char *const *accept,
                    int64_t now, struct sa_verified *out, struct ck_err *err);
void sa_verified_release(struct sa_verified *v);

/* /.well-known/openid-configuration (jwks_uri is absolute) and /openid/v1/jwks (the public
 * key as a JWK with kid, use "sig", alg RS256): malloc'd JSON text. */
char *sa_openid_configuration(const struct sa_signer *s, const char *jwks_uri);
char *sa_jwks(const struct sa_signer *s);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Service-account tokens and the static token file inside the engine (issue 17):
 * tokenauth.c (state, the bearer-token authenticator, OIDC discovery documents),
 * tokenrequest.c (serviceaccounts/<name>/token), tokenreview.c (authentication.k8s.io
 * TokenReview). */
#ifndef CK_APISERVER_TOKENS_INT_H
#define CK_APISERVER_TOKENS_INT_H

#include "apiserver/endpoints/endpoints.h"

struct authn_user;
struct sa_signer;

struct eng_tokens {
    struct sa_signer *signer;     /* NULL: no service-account tokens */
    char **auds;                  /* --api-audiences, NULL-terminated (at least the issuer) */
    struct authn_tokenfile *file; /* --token-auth-file, or NULL */
    int64_t max_exp;              /* --service-account-max-token-expiration (s), 0: none */
};

/* Loads the key and the token file named by the engine's options into s->tok (a NULL key
 * file leaves service-account tokens off). */
int eng_tokens_init(struct api_server *s, struct ck_err *err);
void eng_tokens_free(struct api_server *s);

/* The token authenticators behind api_authn_token and TokenReview: the static token file,
 * service-account JWTs (against auds, NULL: --api-audiences) and, with bootstrap, bootstrap
 * tokens. 0 with *u (owned) and, when auds_out is given, the token's accepted audiences
 * (NULL-terminated, owned; NULL for non-JWT tokens); -1 with why. now: unix seconds. */
int eng_token_authenticate(struct api_server *s, const char *tok, size_t len,
                           const char *const *auds, int64_t now, bool bootstrap,
                           struct authn_user *u, char ***auds_out, char *why, size_t whylen);

/* GET /.well-known/openid-configuration and /openid/v1/jwks: 1 when the path is one of
 * them (answered), else 0. */
int eng_serve_oidc(struct eng_req *r, const char **segs, size_t n);
/* POST serviceaccounts/<name>/token */
int eng_serve_token_request(struct eng_req *r);
/* POST authentication.k8s.io/v1 tokenreviews */
int eng_serve_token_review(struct eng_req *r);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* The bootstrap token authenticator's checks (see bootstrap.h). */
#include "apiserver/authn/bootstrap.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/timeutil.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static bool lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool authn_bootstrap_token_split(const char *tok, size_t len, char id[7], char secret[17])
{
    if (len != 23 || tok[6] != '.')
        return false;
    for (size_t i = 0; i < len; i++)
        if (i != 6 && !lower_alnum(tok[i]))
            return false;
    memcpy(id, tok, 6);
    id[6] = '\0';
    memcpy(secret, tok + 7, 16);
    secret[16] = '\0';
    return true;
}

bool authn_bootstrap_group_valid(const char *g, size_t len)
{
    static const char pfx[] = "system:bootstrappers:";
    size_t pl = sizeof(pfx) - 1;

    if (len <= pl || len > pl + 256 || strncmp(g, pfx, pl) != 0)
        return false;
    for (size_t i = pl; i < len; i++)
        if (!lower_alnum(g[i]) && g[i] != ':' && g[i] != '-')
            return false;
    return lower_alnum(g[len - 1]);
}

char *authn_secret_data(const json_t *secret_obj, const char *key)
{
    json_t *v = json_object_get(json_object_get(secret_obj, "data"), key);
    size_t n;

    if (!json_is_string(v))
        return NULL;
    return ck_base64_decode(json_string_value(v), json_string_length(v), &n);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* GetGroups: system:bootstrappers plus the valid extra groups, sorted and deduplicated. */
static int groups_of(const json_t *sec, char ***out, char *why, size_t whylen)
{
    char *extra = authn_secret_data(sec, "auth-extra-groups");
    size_t n = 0, cap = 4;
    char **g = ck_calloc(cap, sizeof(*g));

    g[n++] = ck_strdup(AUTHN_BOOTSTRAP_GROUP);
    for (const char *p = extra && *extra ? extra : NULL; p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (!authn_bootstrap_group_valid(p, len)) {
            snprintf(why, whylen, "has invalid value for key auth-extra-groups: %.*s", (int)len, p);
            for (size_t i = 0; i < n; i++)
                free(g[i]);
            free(g);
            free(extra);
            return -1;
        }
        if (n + 2 >= cap)
            g = ck_realloc(g, (cap *= 2) * sizeof(*g));
        g[n++] = ck_strndup(p, len);
        p = e ? e + 1 : NULL;
    }
    free(extra);
    qsort(g, n, sizeof(*g), cmp_str);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w && strcmp(g[w - 1], g[i]) == 0)
            free(g[i]);
        else
            g[w++] = g[i];
    }
    g[w++] = ck_strdup("system:authenticated");
    g[w] = NULL;
    *out = g;
    return 0;
}

int authn_bootstrap_check(const json_t *sec, const char *id, const char *secret, time_t now,
                          struct authn_user *out, char *why, size_t whylen)
{
    const json_t *meta = json_object_get(sec, "metadata");
    const char *type = json_string_value(json_object_get(sec, "type"));
    char *v = NULL;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    snprintf(why, whylen, "unknown");
    if (json_object_get(meta, "deletionTimestamp")) {
        snprintf(why, whylen, "is deleted and awaiting removal");
        return -1;
    }
    if (!type || strcmp(type, AUTHN_BOOTSTRAP_SECRET_TYPE) != 0 ||
        !json_is_object(json_object_get(sec, "data"))) {
        snprintf(why, whylen, "has invalid type, expected %s.", AUTHN_BOOTSTRAP_SECRET_TYPE);
        return -1;
    }
    v = authn_secret_data(sec, "token-secret");
    if (!v || strlen(v) != strlen(secret) || CRYPTO_memcmp(v, secret, strlen(secret)) != 0) {
        snprintf(why, whylen, "has invalid value for key token-secret.");
        goto out;
    }
    free(v);
    v = authn_secret_data(sec, "token-id");
    if (!v || strcmp(v, id) != 0) {
        snprintf(why, whylen, "has invalid value for key token-id.");
        goto out;
    }
    free(v);
    v = authn_secret_data(sec, "expiration");
    if (v && *v) {
        time_t exp;
        if (ck_time_parse_rfc3339(v, &exp) < 0 || exp - now <= 0) {
            snprintf(why, whylen, "has expired (expiration %s)", v);
            goto out;
        }
    }
    free(v);
    v = authn_secret_data(sec, "usage-bootstrap-authentication");
    if (!v || strcmp(v, "true") != 0) {
        snprintf(why, whylen, "not marked usage-bootstrap-authentication=true.");
        goto out;
    }
    if (groups_of(sec, &out->groups, why, whylen) < 0)
        goto out;
    out->name = ck_asprintf(AUTHN_BOOTSTRAP_USER_PREFIX "%s", id);
    rc = 0;
out:
    free(v);
    return rc;
}

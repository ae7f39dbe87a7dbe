/* SPDX-License-Identifier: Apache-2.0 */
/* Pull-secret credentials: looks a reference's registry up in a Docker config JSON the way
 * the kubelet's keyring does (host match with "*." wildcards, path prefixes, longest wins). */
#include "image/image_int.h"
#include "lib/base64.h"

#include <string.h>

#include "lib/banned.h"

/* Splits a config key into host and path (scheme and "/v1/" "/v2/" dropped); caller frees. */
static void split_key(const char *key, char **host, char **path)
{
    const char *k = strstr(key, "://");
    k = k ? k + 3 : key;
    size_t hn = strcspn(k, "/");
    *host = ck_strndup(k, hn);
    const char *p = k + hn;
    while (*p == '/')
        p++;
    char *pp = ck_strdup(p);
    size_t n = strlen(pp);
    while (n && pp[n - 1] == '/')
        pp[--n] = 0;
    if (strcmp(pp, "v1") == 0 || strcmp(pp, "v2") == 0)
        pp[0] = 0;
    *path = pp;
}

static bool host_match(const char *pattern, const char *host)
{
    static const char *const hub[] = {"docker.io", "index.docker.io", "registry-1.docker.io"};
    bool ph = false, hh = false;
    for (size_t i = 0; i < 3; i++) {
        ph = ph || strcmp(pattern, hub[i]) == 0;
        hh = hh || strcmp(host, hub[i]) == 0;
    }
    if (ph && hh)
        return true;
    if (strncmp(pattern, "*.", 2) == 0) {
        const char *dot = strchr(host, '.');
        return dot && dot != host && strcmp(dot + 1, pattern + 2) == 0;
    }
    return strcmp(pattern, host) == 0;
}

/* Path prefix by whole components: "team" matches "team" and "team/app", not "teams". */
static bool path_match(const char *prefix, const char *path)
{
    size_t n = strlen(prefix);
    return n == 0 || (strncmp(prefix, path, n) == 0 && (path[n] == 0 || path[n] == '/'));
}

/* "auth": base64("user:pass"). Returns 0 or -1. */
static int decode_auth(const char *b64, char **user, char **pass)
{
    size_t n = strlen(b64), len = 0;
    if (n == 0 || n % 4 != 0 || n > 8192)
        return -1;
    char *out = ck_base64_decode(b64, n, &len);
    if (!out)
        return -1;
    char *colon = memchr(out, ':', len);
    if (!colon || memchr(out, 0, len)) {
        free(out);
        return -1;
    }
    *user = ck_strndup(out, (size_t)(colon - out));
    *pass = ck_strdup(colon + 1);
    free(out);
    return 0;
}

static int entry_creds(json_t *e, char **user, char **pass)
{
    const char *auth = json_string_value(json_object_get(e, "auth"));
    if (auth && *auth)
        return decode_auth(auth, user, pass);
    const char *u = json_string_value(json_object_get(e, "username"));
    const char *p = json_string_value(json_object_get(e, "password"));
    if (!u || !p)
        return -1;
    *user = ck_strdup(u);
    *pass = ck_strdup(p);
    return 0;
}

int img_auth_lookup(const char *docker_config, size_t len, const char *ref, char **user,
                    char **pass, struct ck_err *err)
{
    *user = *pass = NULL;
    struct img_ref r;
    if (img_ref_parse(ref, &r, err) < 0)
        return -1;
    json_t *j = json_loadb(docker_config, len, 0, NULL);
    json_t *auths = json_object_get(j, "auths");
    if (!auths)
        auths = j; /* legacy .dockercfg: the hosts are top-level keys */
    int rc = 0;
    if (!json_is_object(auths))
        rc = ck_err_set(err, CK_R_BAD_REQUEST, "docker config is not a JSON object");
    const char *key;
    json_t *e;
    size_t best = 0;
    json_object_foreach(auths, key, e)
    {
        char *host, *path;
        split_key(key, &host, &path);
        size_t score = strlen(host) + strlen(path) + 1;
        char *u = NULL, *p = NULL;
        if (rc == 0 && score > best && host_match(host, r.domain) && path_match(path, r.path) &&
            entry_creds(e, &u, &p) == 0) {
            free(*user);
            free(*pass);
            *user = u, *pass = p;
            best = score;
        }
        free(host);
        free(path);
    }
    json_decref(j);
    img_ref_release(&r);
    return rc < 0 ? -1 : best > 0;
}

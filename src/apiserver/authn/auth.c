/* SPDX-License-Identifier: Apache-2.0 */
/* Admin token persistence (see auth.h). The token check itself is http_token_equal, a
 * constant-time comparison used by the request handler. */
#include "apiserver/authn/auth.h"
#include "lib/buf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/banned.h"

static bool token_ok(const char *t)
{
    if (!*t)
        return false;
    for (; *t; t++)
        if (!isgraph((unsigned char)*t))
            return false;
    return true;
}

static char *read_token(const char *path, struct ck_err *err)
{
    char buf[512];
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    if (!token_ok(buf)) {
        ck_err_set(err, CK_R_CORRUPT, "%s does not hold a valid token", path);
        return NULL;
    }
    return ck_strdup(buf);
}

static char *new_token(const char *path, struct ck_err *err)
{
    unsigned char raw[32];
    char hex[65], tmp[4096];
    int fd;

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        ck_err_set(err, CK_R_INTERNAL, "no random bytes for the admin token");
        return NULL;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        ck_err_sys(err, errno, "create %s", tmp);
        return NULL;
    }
    bool ok = write(fd, hex, 64) == 64 && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) < 0) {
        unlink(tmp);
        ck_err_set(err, CK_R_IO, "writing %s failed", path);
        return NULL;
    }
    return ck_strdup(hex);
}

char *auth_admin_token(const char *dir, const char *given, struct ck_err *err)
{
    char path[4096];
    char *t;

    if (given) {
        if (!token_ok(given)) {
            ck_err_set(err, CK_R_BAD_REQUEST, "--token must be non-empty, without spaces");
            return NULL;
        }
        return ck_strdup(given);
    }
    snprintf(path, sizeof(path), "%s/token", dir);
    if (access(path, F_OK) == 0)
        return read_token(path, err);
    t = new_token(path, err);
    return t;
}

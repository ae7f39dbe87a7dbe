/* SPDX-License-Identifier: Apache-2.0 */
/* The health endpoint protocol for component servers (healthz.h). */
#include "lib/healthz.h"

#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

/* The decoded value of the idx-th exclude= parameter of q (NULL when none). */
static const char *exclude_at(const char *q, size_t idx, char *buf, size_t cap)
{
    size_t seen = 0;
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len > 8 && !strncmp(q, "exclude=", 8) && seen++ == idx) {
            size_t o = 0;
            for (size_t i = 8; i < len && o + 1 < cap; i++) {
                unsigned hi, lo;
                if (q[i] == '%' && i + 2 < len && sscanf(q + i + 1, "%1x%1x", &hi, &lo) == 2) {
                    buf[o++] = (char)(hi * 16 + lo);
                    i += 2;
                } else {
                    buf[o++] = q[i] == '+' ? ' ' : q[i];
                }
            }
            buf[o] = '\0';
            return buf;
        }
        q = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static bool has_param(const char *q, const char *name)
{
    size_t n = strlen(name);
    while (q && *q) {
        if (!strncmp(q, name, n) && (q[n] == '\0' || q[n] == '&' || q[n] == '='))
            return true;
        q = strchr(q, '&');
        q = q ? q + 1 : NULL;
    }
    return false;
}

static bool excluded(const char *q, const char *name, bool *used, size_t nused)
{
    char buf[256];
    bool hit = false;
    for (size_t i = 0;; i++) {
        const char *v = exclude_at(q, i, buf, sizeof(buf));
        if (!v)
            break;
        if (!strcmp(v, name)) {
            hit = true;
            if (i < nused)
                used[i] = true;
        }
    }
    return hit;
}

int ck_healthz_serve(const char *pq, const struct ck_hcheck *checks, size_t n, void *arg,
                     struct ck_buf *out)
{
    static const char *const kinds[] = {"healthz", "livez", "readyz"};
    char path[512], why[256];
    const char *q = strchr(pq, '?');
    size_t plen = q ? (size_t)(q - pq) : strlen(pq);
    const char *kind = NULL, *one = NULL;

    if (plen >= sizeof(path))
        return 0;
    memcpy(path, pq, plen);
    path[plen] = '\0';
    q = q ? q + 1 : "";
    for (size_t k = 0; k < 3 && !kind; k++) {
        size_t kl = strlen(kinds[k]);
        if (path[0] == '/' && !strncmp(path + 1, kinds[k], kl) &&
            (path[kl + 1] == '\0' || path[kl + 1] == '/')) {
            kind = kinds[k];
            one = path[kl + 1] == '/' && path[kl + 2] ? path + kl + 2 : NULL;
        }
    }
    if (!kind)
        return 0;
    if (one) {
        for (size_t i = 0; i < n; i++)
            if (!strcmp(one, checks[i].name)) {
                if (checks[i].fn && checks[i].fn(arg, why, sizeof(why)) < 0) {
                    ck_buf_appendf(out, "internal server error: %s\n", why);
                    return 500;
                }
                ck_buf_appends(out, "ok");
                return 200;
            }
        ck_buf_appends(out, "404 page not found\n");
        return 404;
    }
    struct ck_buf v = CK_BUF_INIT(1 << 16);
    bool failed = false, used[16] = {false};
    for (size_t i = 0; i < n; i++) {
        if (excluded(q, checks[i].name, used, 16))
            ck_buf_appendf(&v, "[+]%s excluded: ok\n", checks[i].name);
        else if (checks[i].fn && checks[i].fn(arg, why, sizeof(why)) < 0) {
            failed = true;
            ck_buf_appendf(&v, "[-]%s failed: reason withheld\n", checks[i].name);
        } else
            ck_buf_appendf(&v, "[+]%s ok\n", checks[i].name);
    }
    char buf[256];
    bool first = true;
    for (size_t i = 0; i < 16; i++) {
        const char *e = exclude_at(q, i, buf, sizeof(buf));
        if (!e)
            break;
        if (used[i])
            continue;
        ck_buf_appendf(&v, "%s\"%s\"",
                       first ? "warn: some health checks cannot be excluded: no matches for " : " ",
                       e);
        first = false;
    }
    if (!first)
        ck_buf_appendc(&v, '\n');
    if (failed || has_param(q, "verbose")) {
        ck_buf_append(out, v.data, v.len);
        ck_buf_appendf(out, "%s check %s\n", kind, failed ? "failed" : "passed");
    } else {
        ck_buf_appends(out, "ok");
    }
    ck_buf_release(&v);
    return failed ? 500 : 200;
}

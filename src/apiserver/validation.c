/* SPDX-License-Identifier: Apache-2.0 */
/* Validation entry point and name checks (DNS-1123 subdomain / label). */
#include "apiserver/validation.h"

#include <ctype.h>
#include <string.h>

void validation_default(const char *group, const char *resource, json_t *obj)
{
    (void)group;
    (void)resource;
    (void)obj;
}

int validation_validate(const char *group, const char *resource, const char *kind,
                        const json_t *obj, const json_t *old, struct ck_err *err)
{
    (void)group;
    (void)resource;
    (void)kind;
    (void)obj;
    (void)old;
    (void)err;
    return 0;
}

static bool label_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-'))
            return false;
    }
    return s[0] != '-' && s[n - 1] != '-';
}

bool validation_is_dns1123_label(const char *s)
{
    return s && label_ok(s, strlen(s));
}

bool validation_is_dns1123_subdomain(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    const char *p = s;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (!label_ok(p, len))
            return false;
        if (!dot)
            return true;
        p = dot + 1;
    }
}

/* SPDX-License-Identifier: Apache-2.0 */
/* JSON accessors and Go-compatible integer parsing shared by the k8s helpers. */
#include "k8s/util.h"

#include <string.h>

#include "lib/banned.h"

const char *k8s_jstr(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

json_t *k8s_jpath(const json_t *obj, const char *path)
{
    json_t *cur = (json_t *)obj;
    char key[128];
    while (cur && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = 0;
        cur = json_object_get(cur, key);
        path += n + (dot != NULL);
    }
    return cur;
}

const char *k8s_jpath_str(const json_t *obj, const char *path)
{
    const char *s = json_string_value(k8s_jpath(obj, path));
    return s ? s : "";
}

size_t k8s_jlen(const json_t *a)
{
    return json_is_array(a) ? json_array_size(a) : 0;
}

bool k8s_parse_int64(const char *s, int64_t *out)
{
    bool neg = false;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (!*s)
        return false;
    unsigned __int128 v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (unsigned)(*s - '0');
        if (v > (unsigned __int128)INT64_MAX + 1)
            return false;
    }
    if (!neg && v > (unsigned __int128)INT64_MAX)
        return false;
    *out = neg ? (int64_t)(-(__int128)v) : (int64_t)v;
    return true;
}

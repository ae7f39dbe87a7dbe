/* SPDX-License-Identifier: Apache-2.0 */
/* Taint/toleration matching with upstream's rules (see taints.h). */
#include "k8s/taints.h"

#include "k8s/util.h"
#include "lib/buf.h"

#include <string.h>

#include "lib/banned.h"

/* content.IsDecimalInteger: "0", or an optional '-' then a digit 1-9 then digits. */
static bool canonical_decimal(const char *s)
{
    if (!strcmp(s, "0"))
        return true;
    if (*s == '-')
        s++;
    if (*s < '1' || *s > '9')
        return false;
    for (s++; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* compareNumericValues: false whenever either side is not a canonical int64. */
static bool compare_numeric(const char *tol, const char *taint, bool greater)
{
    int64_t a, b;
    if (!canonical_decimal(tol) || !k8s_parse_int64(tol, &a))
        return false;
    if (!canonical_decimal(taint) || !k8s_parse_int64(taint, &b))
        return false;
    return greater ? b > a : b < a;
}

bool k8s_toleration_tolerates(const json_t *toleration, const json_t *taint, bool cmp_ops)
{
    const char *effect = k8s_jstr(toleration, "effect"), *key = k8s_jstr(toleration, "key");
    if (*effect && strcmp(effect, k8s_jstr(taint, "effect")))
        return false;
    if (*key && strcmp(key, k8s_jstr(taint, "key")))
        return false;
    const char *op = k8s_jstr(toleration, "operator");
    const char *tv = k8s_jstr(toleration, "value"), *nv = k8s_jstr(taint, "value");
    if (!*op || !strcmp(op, "Equal"))
        return !strcmp(tv, nv);
    if (!strcmp(op, "Exists"))
        return true;
    if (cmp_ops && (!strcmp(op, "Gt") || !strcmp(op, "Lt")))
        return compare_numeric(tv, nv, op[0] == 'G');
    return false;
}

bool k8s_tolerations_tolerate(const json_t *tolerations, const json_t *taint, bool cmp_ops)
{
    for (size_t i = 0; i < k8s_jlen(tolerations); i++)
        if (k8s_toleration_tolerates(json_array_get(tolerations, i), taint, cmp_ops))
            return true;
    return false;
}

bool k8s_taint_filter_no_schedule_or_execute(const json_t *taint, void *ctx)
{
    (void)ctx;
    const char *e = k8s_jstr(taint, "effect");
    return !strcmp(e, K8S_TAINT_NO_SCHEDULE) || !strcmp(e, K8S_TAINT_NO_EXECUTE);
}

bool k8s_taint_filter_effect(const json_t *taint, void *ctx)
{
    return ctx && !strcmp(k8s_jstr(taint, "effect"), (const char *)ctx);
}

const json_t *k8s_find_untolerated_taint(const json_t *taints, const json_t *tolerations,
                                         k8s_taint_filter_fn filter, void *ctx, bool cmp_ops)
{
    for (size_t i = 0; i < k8s_jlen(taints); i++) {
        const json_t *t = json_array_get(taints, i);
        if (filter && !filter(t, ctx))
            continue;
        if (!k8s_tolerations_tolerate(tolerations, t, cmp_ops))
            return t;
    }
    return NULL;
}

bool k8s_taint_match(const json_t *a, const json_t *b)
{
    return !strcmp(k8s_jstr(a, "key"), k8s_jstr(b, "key")) &&
           !strcmp(k8s_jstr(a, "effect"), k8s_jstr(b, "effect"));
}

char *k8s_taint_to_string(const json_t *taint)
{
    const char *k = k8s_jstr(taint, "key"), *v = k8s_jstr(taint, "value");
    const char *e = k8s_jstr(taint, "effect");
    if (!*e)
        return *v ? ck_asprintf("%s=%s:", k, v) : ck_strdup(k);
    return *v ? ck_asprintf("%s=%s:%s", k, v, e) : ck_asprintf("%s:%s", k, e);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* A container's environment as upstream's kubelet makeEnvironmentVariables builds it: envFrom
 * (configMapRef / secretRef, prefix, optional) first, then env in order, each value with
 * $(VAR) references expanded from the variables defined before it (third_party expansion),
 * valueFrom fieldRef / resourceFieldRef / configMapKeyRef / secretKeyRef. Later names override
 * earlier ones in place. Missing sources fail with upstream's messages (the worker reports
 * CreateContainerConfigError). Service link variables are not generated. */
#include "agent/agent_int.h"
#include "agent/volumes_int.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

struct env_ctx {
    struct agent *ag;
    struct ag_pod *p;
    const json_t *pod;
    const char *sandbox_id;
    char *pod_ip;
    bool pod_ip_read;
    json_t *cache; /* "cm/<name>" / "secret/<name>" -> object or null (missing) */
    struct ag_env *e;
};

void ag_env_release(struct ag_env *e)
{
    for (size_t i = 0; i < e->nowned; i++)
        free(e->owned[i]);
    free(e->owned);
    free(e->v);
    memset(e, 0, sizeof(*e));
}

static const char *own(struct ag_env *e, char *s)
{
    e->owned = ck_realloc(e->owned, (e->nowned + 1) * sizeof(*e->owned));
    e->owned[e->nowned++] = s;
    return s;
}

static const char *env_get(const struct ag_env *e, const char *name, size_t len)
{
    for (size_t i = 0; i < e->n; i++)
        if (strlen(e->v[i].key) == len && !strncmp(e->v[i].key, name, len))
            return e->v[i].value;
    return NULL;
}

/* Takes ownership of value. */
static void env_set(struct ag_env *e, const char *name, char *value)
{
    const char *v = own(e, value);
    for (size_t i = 0; i < e->n; i++)
        if (!strcmp(e->v[i].key, name)) {
            e->v[i].value = v;
            return;
        }
    e->v = ck_realloc(e->v, (e->n + 1) * sizeof(*e->v));
    e->v[e->n++] = (struct rt_kv){own(e, ck_strdup(name)), v};
}

/* $(VAR) -> its value when defined, "$$" -> "$", anything else as written. */
static char *expand(const struct ag_env *e, const char *s)
{
    struct ck_buf b = CK_BUF_INIT(64);
    ck_buf_appends(&b, "");
    for (size_t i = 0; s[i];) {
        if (s[i] != '$' || !s[i + 1]) {
            ck_buf_appendc(&b, s[i++]);
            continue;
        }
        if (s[i + 1] == '$') {
            ck_buf_appendc(&b, '$');
            i += 2;
            continue;
        }
        if (s[i + 1] == '(') {
            const char *close = strchr(s + i + 2, ')');
            if (close) {
                size_t len = (size_t)(close - (s + i + 2));
                const char *v = env_get(e, s + i + 2, len);
                if (v)
                    ck_buf_appends(&b, v);
                else
                    ck_buf_append(&b, s + i, len + 3);
                i += len + 3;
                continue;
            }
        }
        ck_buf_append(&b, s + i, 2);
        i += 2;
    }
    return ck_buf_detach(&b, NULL);
}

/* The configMap/secret (borrowed from the cache), NULL when missing; -1 on other errors. */
static int source(struct env_ctx *x, bool secret, const char *name, json_t **out,
                  struct ck_err *err)
{
    char key[600];
    snprintf(key, sizeof(key), "%s/%s", secret ? "secret" : "cm", name);
    json_t *have = json_object_get(x->cache, key);
    if (have) {
        *out = json_is_null(have) ? NULL : have;
        return 0;
    }
    json_t *obj = NULL;
    int found = ag_vol_get_source(x->ag, x->p->ns, secret, name, &obj, err);
    if (found < 0)
        return -1;
    json_object_set_new(x->cache, key, found ? obj : json_null());
    *out = found ? obj : NULL;
    return 0;
}

/* A value of a configMap (data, then binaryData) or secret (base64 data): malloc'd, or NULL. */
static char *source_value(const json_t *obj, bool secret, const char *key)
{
    const char *v = json_string_value(json_object_get(json_object_get(obj, "data"), key));
    if (!secret && v)
        return ck_strdup(v);
    if (!v && !secret)
        v = json_string_value(json_object_get(json_object_get(obj, "binaryData"), key));
    if (!v)
        return NULL;
    struct ag_payload pl = {0};
    json_t *one = json_pack("{s:{s:s}}", "data", key, v);
    json_t *items = json_pack("[{s:s,s:s}]", "key", key, "path", "x");
    struct ck_err e = CK_ERR_INIT;
    char *out = NULL;
    if (ag_vol_source_payload(one, items, false, true, 0644, &pl, &e) == 0 && pl.n == 1) {
        out = ck_malloc(pl.v[0].len + 1);
        memcpy(out, pl.v[0].data, pl.v[0].len);
        out[pl.v[0].len] = 0;
    }
    ck_err_clear(&e);
    ag_payload_free(&pl);
    json_decref(one);
    json_decref(items);
    return out;
}

static int env_from(struct env_ctx *x, const json_t *ef, struct ck_err *err)
{
    const json_t *ref = json_object_get(ef, "configMapRef");
    bool secret = false;
    if (!ref) {
        ref = json_object_get(ef, "secretRef");
        secret = true;
    }
    if (!ref)
        return 0;
    const char *name = k8s_jstr(ref, "name");
    json_t *obj;
    if (source(x, secret, name, &obj, err) < 0)
        return -1;
    if (!obj) {
        if (json_is_true(json_object_get(ref, "optional")))
            return 0;
        return ck_err_set(err, CK_R_NOT_FOUND, "%s \"%s\" not found",
                          secret ? "secret" : "configmap", name);
    }
    const char *prefix = k8s_jstr(ef, "prefix");
    static const char *const fields[] = {"data", "binaryData"};
    for (size_t f = 0; f < (secret ? 1u : 2u); f++) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(obj, fields[f]), k, v)
        {
            if (strchr(k, '='))
                continue; /* not a valid variable name */
            char *val = source_value(obj, secret, k);
            char *full = ck_asprintf("%s%s", prefix, k);
            if (val)
                env_set(x->e, full, val);
            free(full);
        }
    }
    return 0;
}

static const char *pod_ip(struct env_ctx *x)
{
    if (!x->pod_ip_read && x->sandbox_id && *x->sandbox_id) {
        struct rt_sandbox_status st;
        struct ck_err e = CK_ERR_INIT;
        struct runtime *rt = x->p->node->rt;
        if (rt->ops->pod_sandbox_status(rt, x->sandbox_id, &st, &e) == 0) {
            x->pod_ip = ck_strdup(st.ip);
            rt_sandbox_status_release(&st);
        }
        ck_err_clear(&e);
    }
    x->pod_ip_read = true;
    return x->pod_ip;
}

static int key_ref(struct env_ctx *x, const json_t *ref, bool secret, char **out,
                   struct ck_err *err)
{
    const char *name = k8s_jstr(ref, "name"), *key = k8s_jstr(ref, "key");
    bool optional = json_is_true(json_object_get(ref, "optional"));
    json_t *obj;
    *out = NULL;
    if (source(x, secret, name, &obj, err) < 0)
        return -1;
    if (!obj)
        return optional ? 0
                        : ck_err_set(err, CK_R_NOT_FOUND, "%s \"%s\" not found",
                                     secret ? "secret" : "configmap", name);
    *out = source_value(obj, secret, key);
    if (!*out && !optional)
        return ck_err_set(err, CK_R_NOT_FOUND, "couldn't find key %s in %s %s/%s", key,
                          secret ? "Secret" : "ConfigMap", x->p->ns, name);
    return 0;
}

int ag_env_build(struct agent *ag, struct ag_pod *p, const json_t *pod, const json_t *c,
                 const char *sandbox_id, struct ag_env *out, struct ck_err *err)
{
    memset(out, 0, sizeof(*out));
    struct env_ctx x = {ag, p, pod, sandbox_id, NULL, false, json_object(), out};
    int rc = 0;
    const json_t *efs = json_object_get(c, "envFrom");
    for (size_t i = 0; i < k8s_jlen(efs) && rc == 0; i++)
        rc = env_from(&x, json_array_get(efs, i), err);
    const json_t *envs = json_object_get(c, "env");
    for (size_t i = 0; i < k8s_jlen(envs) && rc == 0; i++) {
        const json_t *e = json_array_get(envs, i);
        const char *name = k8s_jstr(e, "name");
        const json_t *vf = json_object_get(e, "valueFrom"), *r;
        char *val = NULL;
        if (!vf) {
            val = expand(out, k8s_jstr(e, "value"));
        } else if ((r = json_object_get(vf, "fieldRef"))) {
            rc = ag_dapi_field(pod, k8s_jstr(r, "fieldPath"), true, p->node->host_ip, pod_ip(&x),
                               &val, err);
        } else if ((r = json_object_get(vf, "resourceFieldRef"))) {
            struct ag_node_alloc na;
            ag_node_alloc_get(ag, &na);
            rc = ag_dapi_resource(pod, k8s_jstr(c, "name"), r, &na, &val, err);
        } else if ((r = json_object_get(vf, "configMapKeyRef"))) {
            rc = key_ref(&x, r, false, &val, err);
        } else if ((r = json_object_get(vf, "secretKeyRef"))) {
            rc = key_ref(&x, r, true, &val, err);
        }
        if (rc == 0 && val)
            env_set(out, name, val);
        else
            free(val);
    }
    json_decref(x.cache);
    free(x.pod_ip);
    if (rc < 0)
        ag_env_release(out);
    return rc;
}

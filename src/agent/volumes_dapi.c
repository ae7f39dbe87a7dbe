/* SPDX-License-Identifier: Apache-2.0 */
/* The downward API (upstream pkg/fieldpath, pkg/api/v1/resource ExtractContainerResourceValue,
 * the kubelet's downward API limits defaulting) and the downwardAPI and projected volumes
 * (pkg/volume/downwardapi, pkg/volume/projected). Both volumes are written with the atomic
 * writer; their state is the payload's fingerprint, so a label or annotation update (which
 * makes the informer sync the pod) reaches the files through the "..data" swap. */
#include "agent/agent_int.h"
#include "agent/volumes_int.h"
#include "k8s/pod.h"
#include "k8s/quantity.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/banned.h"

/* ---- fieldRef ----------------------------------------------------------------------------- */

void ag_go_quote(const char *s, char **out)
{
    struct ck_buf b = CK_BUF_INIT(64);
    if (*out)
        ck_buf_appends(&b, *out);
    free(*out);
    ck_buf_appendc(&b, '"');
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"':
            ck_buf_appends(&b, "\\\"");
            break;
        case '\\':
            ck_buf_appends(&b, "\\\\");
            break;
        case '\n':
            ck_buf_appends(&b, "\\n");
            break;
        case '\t':
            ck_buf_appends(&b, "\\t");
            break;
        case '\r':
            ck_buf_appends(&b, "\\r");
            break;
        case '\a':
            ck_buf_appends(&b, "\\a");
            break;
        case '\b':
            ck_buf_appends(&b, "\\b");
            break;
        case '\f':
            ck_buf_appends(&b, "\\f");
            break;
        case '\v':
            ck_buf_appends(&b, "\\v");
            break;
        default:
            if (*c < 0x20 || *c == 0x7f)
                ck_buf_appendf(&b, "\\x%02x", *c);
            else
                ck_buf_appendc(&b, (char)*c);
        }
    }
    ck_buf_appendc(&b, '"');
    *out = ck_buf_detach(&b, NULL);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* fieldpath.FormatMap: `key="value"` lines, keys sorted, no trailing newline. */
static char *format_map(const json_t *m)
{
    size_t n = json_object_size(m), i = 0;
    const char **keys = ck_calloc(n + 1, sizeof(*keys));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v) keys[i++] = k;
    qsort(keys, n, sizeof(*keys), cmp_str);
    char *out = ck_strdup("");
    for (i = 0; i < n; i++) {
        char *line = ck_asprintf("%s%s=", out, keys[i]);
        free(out);
        out = line;
        const char *val = json_string_value(json_object_get(m, keys[i]));
        ag_go_quote(val ? val : "", &out);
        if (i + 1 < n) {
            line = ck_asprintf("%s\n", out);
            free(out);
            out = line;
        }
    }
    free(keys);
    return out;
}

/* "metadata.labels['key']" -> key (in buf), or NULL. */
static const char *subscript(const char *path, const char *prefix, char *buf, size_t n)
{
    size_t l = strlen(prefix);
    if (strncmp(path, prefix, l) || path[l] != '[' || path[l + 1] != '\'')
        return NULL;
    const char *k = path + l + 2;
    size_t kl = strlen(k);
    if (kl < 2 || k[kl - 2] != '\'' || k[kl - 1] != ']' || kl - 2 >= n)
        return NULL;
    snprintf(buf, n, "%.*s", (int)(kl - 2), k);
    return buf;
}

int ag_dapi_field(const json_t *pod, const char *fp, bool env, const char *host_ip,
                  const char *pod_ip, char **out, struct ck_err *err)
{
    char key[512];
    const json_t *md = json_object_get(pod, "metadata");
    *out = NULL;
    if (subscript(fp, "metadata.labels", key, sizeof(key))) {
        *out = ck_strdup(k8s_jstr(json_object_get(md, "labels"), key));
        return 0;
    }
    if (subscript(fp, "metadata.annotations", key, sizeof(key))) {
        *out = ck_strdup(k8s_jstr(json_object_get(md, "annotations"), key));
        return 0;
    }
    if (!strcmp(fp, "metadata.labels") || !strcmp(fp, "metadata.annotations")) {
        *out = format_map(json_object_get(md, fp + 9));
        return 0;
    }
    if (!strcmp(fp, "metadata.name") || !strcmp(fp, "metadata.namespace") ||
        !strcmp(fp, "metadata.uid")) {
        *out = ck_strdup(k8s_jstr(md, fp + 9));
        return 0;
    }
    if (env) {
        if (!strcmp(fp, "spec.nodeName") || !strcmp(fp, "spec.serviceAccountName")) {
            *out = ck_strdup(k8s_jpath_str(pod, fp));
            return 0;
        }
        if (!strcmp(fp, "status.hostIP") || !strcmp(fp, "status.hostIPs")) {
            *out = ck_strdup(host_ip ? host_ip : "");
            return 0;
        }
        if (!strcmp(fp, "status.podIP") || !strcmp(fp, "status.podIPs")) {
            *out = ck_strdup(pod_ip && *pod_ip ? pod_ip : k8s_jpath_str(pod, "status.podIP"));
            return 0;
        }
    }
    return ck_err_set(err, CK_R_INVALID, "unsupported fieldPath: %s", fp);
}

/* ---- resourceFieldRef --------------------------------------------------------------------- */

static const json_t *find_container(const json_t *pod, const char *name)
{
    static const char *const lists[] = {"spec.containers", "spec.initContainers"};
    for (size_t l = 0; l < 2; l++) {
        const json_t *cs = k8s_jpath(pod, lists[l]);
        for (size_t i = 0; i < k8s_jlen(cs); i++)
            if (!strcmp(k8s_jstr(json_array_get(cs, i), "name"), name))
                return json_array_get(cs, i);
    }
    return NULL;
}

/* ceil(a / b) for b > 0 */
static long long ceil_div(__int128 a, __int128 b)
{
    if (b <= 0)
        return 0;
    __int128 q = a / b;
    if (a % b != 0 && a > 0)
        q++;
    return (long long)q;
}

int ag_dapi_resource(const json_t *pod, const char *ctr, const json_t *ref,
                     const struct ag_node_alloc *alloc, char **out, struct ck_err *err)
{
    const char *cname = *k8s_jstr(ref, "containerName") ? k8s_jstr(ref, "containerName") : ctr;
    const char *res = k8s_jstr(ref, "resource");
    *out = NULL;
    const json_t *c = cname ? find_container(pod, cname) : NULL;
    if (!c)
        return ck_err_set(err, CK_R_NOT_FOUND, "container %s not found", cname ? cname : "");
    struct k8s_quantity div = {0};
    const json_t *dj = json_object_get(ref, "divisor");
    if (!dj || k8s_quantity_from_json(dj, &div) < 0 || div.nano <= 0)
        k8s_quantity_parse("1", &div);
    bool limits = !strncmp(res, "limits.", 7), requests = !strncmp(res, "requests.", 9);
    const char *name = limits ? res + 7 : requests ? res + 9 : "";
    bool cpu = !strcmp(name, "cpu"), mem = !strcmp(name, "memory");
    bool eph = !strcmp(name, "ephemeral-storage"), huge = !strncmp(name, "hugepages-", 10);
    if (!cpu && !mem && !eph && !huge)
        return ck_err_set(err, CK_R_INVALID, "unsupported container resource : %s", res);
    const json_t *list = k8s_jpath(c, limits ? "resources.limits" : "resources.requests");
    struct k8s_quantity q = {0};
    const json_t *qj = json_object_get(list, name);
    bool have = qj && k8s_quantity_from_json(qj, &q) == 0;
    if (!have && limits && alloc) { /* the kubelet defaults missing limits to allocatable */
        if (cpu)
            q = k8s_quantity_from_milli(alloc->cpu_milli, K8S_QTY_DECIMAL_SI);
        else if (mem)
            q = k8s_quantity_from_int(alloc->memory_bytes, K8S_QTY_BINARY_SI);
        else if (eph)
            q = k8s_quantity_from_int(alloc->ephemeral_bytes, K8S_QTY_BINARY_SI);
    }
    long long v;
    if (cpu) /* convertResourceCPUToString: ceil(milli / divisor milli) */
        v = ceil_div(q.nano / 1000000, div.nano / 1000000 > 0 ? div.nano / 1000000 : 1);
    else /* memory, ephemeral-storage, hugepages: ceil(value / divisor value) */
        v = ceil_div((q.nano + 999999999) / 1000000000, (div.nano + 999999999) / 1000000000);
    *out = ck_asprintf("%lld", v);
    return 0;
}

/* ---- downwardAPI volume ------------------------------------------------------------------ */

int ag_dapi_payload(const json_t *pod, const json_t *items, int defmode,
                    const struct ag_node_alloc *alloc, struct ag_payload *out, struct ck_err *err)
{
    for (size_t i = 0; i < k8s_jlen(items); i++) {
        const json_t *it = json_array_get(items, i);
        const char *path = k8s_jstr(it, "path");
        if (!ag_vol_safe_path(path))
            return ck_err_set(err, CK_R_INVALID, "invalid path %s", path);
        const json_t *fr = json_object_get(it, "fieldRef");
        const json_t *rr = json_object_get(it, "resourceFieldRef");
        char *val = NULL;
        int rc;
        if (fr)
            rc = ag_dapi_field(pod, k8s_jstr(fr, "fieldPath"), false, NULL, NULL, &val, err);
        else if (rr)
            rc = ag_dapi_resource(pod, NULL, rr, alloc, &val, err);
        else
            rc = ck_err_set(err, CK_R_INVALID, "item %s has neither fieldRef nor resourceFieldRef",
                            path);
        if (rc < 0)
            return -1;
        json_t *m = json_object_get(it, "mode");
        int mode = json_is_integer(m) ? (int)json_integer_value(m) & 0777 : defmode;
        ag_payload_add(out, path, val, strlen(val), mode);
    }
    return 0;
}

static int default_mode(const json_t *vol)
{
    json_t *dm = json_object_get(vol, "defaultMode");
    return json_is_integer(dm) ? (int)json_integer_value(dm) & 0777 : 0644;
}

/* Writes pl into dir unless the same content is there already. */
static int write_if_changed(struct ag_pod *p, const char *vname, const char *dir,
                            const struct ag_payload *pl, struct ck_err *err)
{
    char h[17], link[PATH_MAX];
    ag_payload_hash(pl, h);
    snprintf(link, sizeof(link), "%s/..data", dir);
    struct stat st;
    const char *have = ag_vol_state_get(p, vname);
    if (have && !strcmp(have, h) && lstat(link, &st) == 0)
        return 0;
    if (ag_vol_atomic_write(dir, pl, err) < 0)
        return -1;
    if (have)
        ck_v(2, "pod %s/%s: volume %s rewritten", p->ns, p->name, vname);
    ag_vol_state_set(p, vname, h);
    return 0;
}

int ag_vol_setup_dapi(struct agent *ag, struct ag_pod *p, const json_t *pod, const json_t *v,
                      const char *dir, struct ck_err *err)
{
    const char *vname = k8s_jstr(v, "name");
    const json_t *da = json_object_get(v, "downwardAPI");
    struct ag_node_alloc na;
    ag_node_alloc_get(ag, &na);
    struct ag_payload pl = {0};
    struct ck_err e = CK_ERR_INIT;
    int rc = ag_dapi_payload(pod, json_object_get(da, "items"), default_mode(da), &na, &pl, &e);
    if (rc == 0)
        rc = write_if_changed(p, vname, dir, &pl, &e);
    ag_payload_free(&pl);
    if (rc < 0) {
        ck_err_set(err, e.reason, "MountVolume.SetUp failed for volume \"%s\" : %s", vname, e.msg);
        ck_err_clear(&e);
    }
    return rc;
}

/* ---- projected volume --------------------------------------------------------------------- */

/* A token from the token manager (tokens.c: a TokenRequest bound to the pod, cached and
 * refreshed as upstream's kubelet does). Failing, the volume setup fails as upstream's
 * projected volume does ("failed to fetch token"), and the pod worker retries. */
static int project_token(struct agent *ag, struct ag_pod *p, const json_t *pod, const json_t *src,
                         int mode, struct ag_payload *pl, struct ck_err *err)
{
    const char *sa = k8s_jpath_str(pod, "spec.serviceAccountName");
    if (!*sa)
        sa = "default";
    json_t *exp = json_object_get(src, "expirationSeconds");
    int64_t es = json_is_integer(exp) ? json_integer_value(exp) : 3600;
    struct ck_err e = CK_ERR_INIT;
    char *tok = ag_tokens_get(ag, p->ns, sa, p->name, p->uid, k8s_jstr(src, "audience"), es, &e);
    if (!tok) {
        ck_err_set(err, e.reason ? e.reason : CK_R_INTERNAL, "failed to fetch token: %s", e.msg);
        ck_err_clear(&e);
        return -1;
    }
    ag_payload_add(pl, k8s_jstr(src, "path"), tok, strlen(tok), mode);
    return 0;
}

int ag_vol_setup_projected(struct agent *ag, struct ag_pod *p, const json_t *pod, const json_t *v,
                           const char *dir, struct ck_err *err)
{
    const char *vname = k8s_jstr(v, "name");
    const json_t *pj = json_object_get(v, "projected");
    const json_t *sources = json_object_get(pj, "sources");
    int mode = default_mode(pj);
    struct ag_node_alloc na;
    ag_node_alloc_get(ag, &na);
    struct ag_payload pl = {0};
    struct ck_err e = CK_ERR_INIT;
    int rc = 0;
    for (size_t i = 0; i < k8s_jlen(sources) && rc == 0; i++) {
        const json_t *s = json_array_get(sources, i), *src;
        if ((src = json_object_get(s, "configMap")) || (src = json_object_get(s, "secret"))) {
            bool secret = json_object_get(s, "secret") != NULL;
            bool optional = json_is_true(json_object_get(src, "optional"));
            json_t *obj = NULL;
            int found = ag_vol_get_source(ag, p->ns, secret, k8s_jstr(src, "name"), &obj, &e);
            if (found < 0) {
                rc = -1;
            } else if (!found && !optional) {
                rc = ck_err_set(&e, CK_R_NOT_FOUND, "%s \"%s\" not found",
                                secret ? "secret" : "configmap", k8s_jstr(src, "name"));
            } else {
                if (!obj)
                    obj = json_object();
                rc = ag_vol_source_payload(obj, json_object_get(src, "items"), optional, secret,
                                           mode, &pl, &e);
            }
            json_decref(obj);
        } else if ((src = json_object_get(s, "downwardAPI"))) {
            rc = ag_dapi_payload(pod, json_object_get(src, "items"), mode, &na, &pl, &e);
        } else if ((src = json_object_get(s, "serviceAccountToken"))) {
            if (!ag_vol_safe_path(k8s_jstr(src, "path")))
                rc = ck_err_set(&e, CK_R_INVALID, "invalid path %s", k8s_jstr(src, "path"));
            else
                rc = project_token(ag, p, pod, src, mode, &pl, &e);
        } else if (json_object_get(s, "clusterTrustBundle")) {
            if (!json_is_true(k8s_jpath(s, "clusterTrustBundle.optional")))
                rc = ck_err_set(&e, CK_R_INVALID,
                                "clusterTrustBundle projections are not supported by this node");
        }
    }
    if (rc == 0)
        rc = write_if_changed(p, vname, dir, &pl, &e);
    ag_payload_free(&pl);
    if (rc < 0) {
        ck_err_set(err, e.reason, "MountVolume.SetUp failed for volume \"%s\" : %s", vname, e.msg);
        ck_err_clear(&e);
    }
    return rc;
}

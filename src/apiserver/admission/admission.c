/* SPDX-License-Identifier: Apache-2.0 */
/* The admission chain: the plugin order, the enabled set and the helpers plugins share. */
#include "apiserver/admission/admission.h"

#include "lib/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* Upstream's order (pkg/kubeapiserver/options/plugins.go AllOrderedPlugins), restricted to
 * the plugins built here. Mutating plugins run in this order, then validating ones. */
static const struct adm_plugin *const chain[] = {
    &adm_namespace_lifecycle,        &adm_limit_ranger,          &adm_service_account,
    &adm_node_restriction,           &adm_pod_security,          &adm_priority,
    &adm_default_toleration_seconds, &adm_default_storage_class, &adm_mutating_webhook,
    &adm_validating_webhook,         &adm_resource_quota,
};
#define NCHAIN (sizeof(chain) / sizeof(chain[0]))

/* Plugin names upstream knows but ckube has not built: accepted in the flags (a kubeadm-style
 * command line keeps working) and ignored. */
static const char *const known_other[] = {
    "AlwaysAdmit",
    "AlwaysDeny",
    "AlwaysPullImages",
    "CertificateApproval",
    "CertificateSigning",
    "CertificateSubjectRestriction",
    "ClusterTrustBundleAttest",
    "DefaultIngressClass",
    "DenyServiceExternalIPs",
    "EventRateLimit",
    "ExtendedResourceToleration",
    "ImagePolicyWebhook",
    "LimitPodHardAntiAffinityTopology",
    "NamespaceAutoProvision",
    "NamespaceExists",
    "OwnerReferencesPermissionEnforcement",
    "PersistentVolumeClaimResize",
    "PodNodeSelector",
    "PodTolerationRestriction",
    "PodTopologyLabels",
    "RuntimeClass",
    "StorageObjectInUseProtection",
    "TaintNodesByCondition",
    "ValidatingAdmissionPolicy",
    "MutatingAdmissionPolicy",
};

/* Is name a member of the comma-separated list? */
static bool in_list(const char *list, const char *name)
{
    if (!list)
        return false;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t l = strcspn(p, ", ");
        if (l == n && strncmp(p, name, n) == 0)
            return true;
        p += l;
    }
    return false;
}

bool adm_enabled(const struct api_opts *o, const char *name)
{
    if (o && in_list(o->admission_disable, name))
        return false;
    if (o && in_list(o->admission_enable, name))
        return true;
    for (size_t i = 0; i < NCHAIN; i++)
        if (strcmp(chain[i]->name, name) == 0)
            return chain[i]->default_on;
    return false;
}

static bool known(const char *name, size_t n)
{
    for (size_t i = 0; i < NCHAIN; i++)
        if (strlen(chain[i]->name) == n && strncmp(chain[i]->name, name, n) == 0)
            return true;
    for (size_t i = 0; i < sizeof(known_other) / sizeof(known_other[0]); i++)
        if (strlen(known_other[i]) == n && strncmp(known_other[i], name, n) == 0)
            return true;
    return false;
}

int adm_check_flags(const char *enable, const char *disable, char *msg, size_t n)
{
    const char *lists[2] = {enable, disable};
    for (int k = 0; k < 2; k++) {
        for (const char *p = lists[k]; p && *p;) {
            while (*p == ' ' || *p == ',')
                p++;
            size_t l = strcspn(p, ", ");
            if (l && !known(p, l)) {
                snprintf(msg, n, "enable-admission-plugins plugin \"%.*s\" is unknown", (int)l, p);
                if (k == 1)
                    snprintf(msg, n, "disable-admission-plugins plugin \"%.*s\" is unknown", (int)l,
                             p);
                return -1;
            }
            p += l;
        }
    }
    return 0;
}

int adm_mutate(struct adm_attrs *a, struct ck_err *err)
{
    if (!a->user)
        return 0;
    const struct api_opts *o = &a->cache->opts;
    for (size_t i = 0; i < NCHAIN; i++) {
        if (!chain[i]->mutate || !adm_enabled(o, chain[i]->name))
            continue;
        if (chain[i]->mutate(a, err) < 0) {
            ck_v(2, "admission: %s refused %s %s/%s: %s", chain[i]->name, a->res->plural, a->ns,
                 a->name, err->msg);
            return -1;
        }
    }
    return 0;
}

int adm_validate(struct adm_attrs *a, struct ck_err *err)
{
    if (!a->user)
        return 0;
    const struct api_opts *o = &a->cache->opts;
    for (size_t i = 0; i < NCHAIN; i++) {
        if (!chain[i]->validate || !adm_enabled(o, chain[i]->name))
            continue;
        if (chain[i]->validate(a, err) < 0) {
            ck_v(2, "admission: %s refused %s %s/%s: %s", chain[i]->name, a->res->plural, a->ns,
                 a->name, err->msg);
            return -1;
        }
    }
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------- */

int adm_forbidden(struct ck_err *err, const struct adm_attrs *a, const char *fmt, ...)
{
    char why[CK_ERR_MSG_MAX - 512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    char q[160];
    if (a->res->group[0])
        snprintf(q, sizeof(q), "%s.%s", a->res->plural, a->res->group);
    else
        snprintf(q, sizeof(q), "%s", a->res->plural);
    const char *name = a->name ? a->name : "";
    if (*name)
        ck_err_set(err, CK_R_FORBIDDEN, "%s \"%s\" is forbidden: %s", q, name, why);
    else
        ck_err_set(err, CK_R_FORBIDDEN, "%s is forbidden: %s", q, why);
    snprintf(err->kind, sizeof(err->kind), "%s", a->res->plural);
    snprintf(err->group, sizeof(err->group), "%s", a->res->group);
    snprintf(err->name, sizeof(err->name), "%s", name);
    return -1;
}

bool adm_is_pod(const struct adm_attrs *a)
{
    return !a->res->group[0] && strcmp(a->res->plural, "pods") == 0 && (!a->sub || !*a->sub);
}

json_t *adm_get(struct adm_attrs *a, const char *group, const char *version, const char *plural,
                const char *ns, const char *name)
{
    const struct reg_resource *r = reg_find(group, version, plural);
    if (!r || !name)
        return NULL;
    struct eng_obj *o = eng_cache_get(a->cache, r, ns, name);
    if (!o)
        return NULL;
    json_t *j = eng_obj_json(o);
    eng_obj_unref(o);
    return j;
}

json_t *adm_list(struct adm_attrs *a, const char *group, const char *version, const char *plural,
                 const char *ns)
{
    json_t *out = json_array();
    const struct reg_resource *r = reg_find(group, version, plural);
    if (!r)
        return out;
    struct ck_buf k = CK_BUF_INIT(4096);
    eng_key(r, ns && *ns ? ns : NULL, NULL, &k);
    if (!k.data)
        return out;
    /* collect references under the lock, parse outside it */
    struct eng_obj **objs = NULL;
    size_t n = 0, cap = 0;
    struct eng_cache *c = a->cache;
    pthread_rwlock_rdlock(&c->mu);
    struct eng_cursor cur;
    eng_table_seek(&c->tables[r->idx], k.data, false, &cur);
    for (struct eng_obj *o; (o = eng_cursor_obj(&cur)); eng_cursor_next(&cur)) {
        if (strncmp(o->key, k.data, k.len) != 0)
            break;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct eng_obj **nv = realloc(objs, cap * sizeof(*objs));
            if (!nv)
                break;
            objs = nv;
        }
        objs[n++] = eng_obj_ref(o);
    }
    pthread_rwlock_unlock(&c->mu);
    ck_buf_release(&k);
    for (size_t i = 0; i < n; i++) {
        json_t *j = eng_obj_json(objs[i]);
        if (j)
            json_array_append_new(out, j);
        eng_obj_unref(objs[i]);
    }
    free(objs);
    return out;
}

void adm_warn(struct adm_attrs *a, const char *fmt, ...)
{
    if (!a->rs || a->rs->nwarnings >= API_MAX_WARNINGS)
        return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    char *s = ck_strdup(buf);
    if (s)
        a->rs->warnings[a->rs->nwarnings++] = s;
}

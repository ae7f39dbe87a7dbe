/* SPDX-License-Identifier: Apache-2.0 */
/* ServiceAccount (plugin/pkg/admission/serviceaccount): a pod's serviceAccountName defaults
 * to "default"; the ServiceAccount must exist (the default one is waited for up to about
 * 1.5 s, as upstream retries while the serviceaccount controller creates it); unless
 * automountServiceAccountToken is false on the pod or the ServiceAccount, the projected
 * volume kube-api-access-<5 random> (a bound token, kube-root-ca.crt's ca.crt and the
 * namespace) is added and mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount
 * in every init and regular container that has no mount there.
 *
 * A deliberate difference: without the controller manager (api_opts.ns_controller false, the
 * API server alone, as most engine test suites run it) nothing creates ServiceAccounts, so a
 * missing one is not refused there and no volume is added for it. Upstream has no such
 * switch: its ServiceAccount plugin assumes the controller runs. */
#include "apiserver/admission/admission.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define SA_MOUNT "/var/run/secrets/kubernetes.io/serviceaccount"

static void random_suffix(char out[6])
{
    static const char alpha[] = "bcdfghjklmnpqrstvwxz2456789";
    unsigned char b[5];
    if (RAND_bytes(b, sizeof(b)) != 1)
        memset(b, 7, sizeof(b));
    for (int i = 0; i < 5; i++)
        out[i] = alpha[b[i] % (sizeof(alpha) - 1)];
    out[5] = '\0';
}

static json_t *find_sa(struct adm_attrs *a, const char *name, bool wait)
{
    json_t *sa = adm_get(a, "", "v1", "serviceaccounts", a->ns, name);
    for (int i = 0; !sa && wait && i < 10; i++) {
        struct timespec ts = {0, 150 * 1000 * 1000};
        nanosleep(&ts, NULL);
        sa = adm_get(a, "", "v1", "serviceaccounts", a->ns, name);
    }
    return sa;
}

static bool has_mount(json_t *c)
{
    json_t *ms = json_object_get(c, "volumeMounts");
    for (size_t i = 0; i < json_array_size(ms); i++) {
        const char *p = json_string_value(json_object_get(json_array_get(ms, i), "mountPath"));
        if (p && strcmp(p, SA_MOUNT) == 0)
            return true;
    }
    return false;
}

static json_t *token_volume(const char *name)
{
    return json_pack(
        "{s:s,s:{s:[{s:{s:I,s:s}},{s:{s:s,s:[{s:s,s:s}]}},{s:{s:[{s:s,s:{s:s,s:s}}]}}],s:I}}",
        "name", name, "projected", "sources", "serviceAccountToken", "expirationSeconds",
        (json_int_t)3607, "path", "token", "configMap", "name", "kube-root-ca.crt", "items", "key",
        "ca.crt", "path", "ca.crt", "downwardAPI", "items", "path", "namespace", "fieldRef",
        "apiVersion", "v1", "fieldPath", "metadata.namespace", "defaultMode", (json_int_t)420);
}

static void add_volume(json_t *spec)
{
    static const char *const lists[] = {"initContainers", "containers"};
    bool need = false;
    for (size_t l = 0; l < 2; l++) {
        json_t *cs = json_object_get(spec, lists[l]);
        for (size_t i = 0; i < json_array_size(cs); i++)
            if (!has_mount(json_array_get(cs, i)))
                need = true;
    }
    if (!need)
        return;
    char sfx[6], name[40];
    random_suffix(sfx);
    snprintf(name, sizeof(name), "kube-api-access-%s", sfx);
    json_t *vols = json_object_get(spec, "volumes");
    if (!json_is_array(vols)) {
        vols = json_array();
        json_object_set_new(spec, "volumes", vols);
    }
    json_array_append_new(vols, token_volume(name));
    for (size_t l = 0; l < 2; l++) {
        json_t *cs = json_object_get(spec, lists[l]);
        for (size_t i = 0; i < json_array_size(cs); i++) {
            json_t *c = json_array_get(cs, i);
            if (has_mount(c))
                continue;
            json_t *ms = json_object_get(c, "volumeMounts");
            if (!json_is_array(ms)) {
                ms = json_array();
                json_object_set_new(c, "volumeMounts", ms);
            }
            json_array_append_new(
                ms, json_pack("{s:s,s:b,s:s}", "name", name, "readOnly", 1, "mountPath", SA_MOUNT));
        }
    }
}

static int sa_mutate(struct adm_attrs *a, struct ck_err *err)
{
    if (!adm_is_pod(a) || a->op != ADM_CREATE || !a->obj)
        return 0;
    json_t *md = json_object_get(a->obj, "metadata");
    if (json_object_get(json_object_get(md, "annotations"), "kubernetes.io/config.mirror"))
        return 0; /* mirror pods: upstream refuses service accounts on them; left alone */
    json_t *spec = json_object_get(a->obj, "spec");
    if (!json_is_object(spec))
        return 0;
    const char *name = json_string_value(json_object_get(spec, "serviceAccountName"));
    if (!name || !*name) {
        name = "default";
        json_object_set_new(spec, "serviceAccountName", json_string(name));
        json_object_set_new(spec, "serviceAccount", json_string(name));
    }
    bool managed = a->cache->opts.ns_controller;
    json_t *sa = find_sa(a, name, managed && strcmp(name, "default") == 0);
    if (!sa) {
        if (!managed)
            return 0;
        return adm_forbidden(err, a,
                             "error looking up service account %s/%s: serviceaccount \"%s\" not "
                             "found",
                             a->ns, name, name);
    }
    json_t *pa = json_object_get(spec, "automountServiceAccountToken");
    json_t *sa_auto = json_object_get(sa, "automountServiceAccountToken");
    bool automount = json_is_boolean(pa) ? json_is_true(pa) : !json_is_false(sa_auto);
    json_decref(sa);
    if (automount)
        add_volume(spec);
    return 0;
}

const struct adm_plugin adm_service_account = {
    .name = "ServiceAccount", .default_on = true, .mutate = sa_mutate};

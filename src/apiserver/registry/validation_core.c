/* SPDX-License-Identifier: Apache-2.0 */
/* Validation of core objects other than pods: services (ports, types, session affinity,
 * nodePort rules, clusterIP immutability), configmaps and secrets (keys, sizes, typed
 * secrets, the `immutable` flag), namespaces, nodes (taints) and leases. */
#include "apiserver/registry/validation.h"

#include "apiserver/registry/printers.h"
#include "lib/buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DATA_SIZE (1024 * 1024)

static size_t arr_n(const json_t *a)
{
    return json_is_array(a) ? json_array_size(a) : 0;
}

/* ---- services ---------------------------------------------------------------------------- */

static const char *const svc_types[] = {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"};
static const char *const protocols[] = {"SCTP", "TCP", "UDP"};
static const char *const affinities[] = {"ClientIP", "None"};

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, list[i]))
            return true;
    return false;
}

static void port_range(struct vld *v, const char *field, long long p)
{
    if (p < 1 || p > 65535)
        vld_invalid_int(v, field, p, "must be between 1 and 65535, inclusive");
}

void vld_port_name(struct vld *v, const char *field, const char *name)
{
    size_t n = strlen(name);
    bool charset = true, letter = false;
    for (size_t i = 0; i < n; i++) {
        charset &= islower((unsigned char)name[i]) || isdigit((unsigned char)name[i]) || name[i] == '-';
        letter |= islower((unsigned char)name[i]) != 0;
    }
    if (n > 15)
        vld_invalid_str(v, field, name, "must be no more than 15 characters");
    if (!charset)
        vld_invalid_str(v, field, name, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
    if (!letter)
        vld_invalid_str(v, field, name, "must contain at least one letter (a-z)");
    if (strstr(name, "--"))
        vld_invalid_str(v, field, name, "must not contain consecutive hyphens");
    if (n && (name[0] == '-' || name[n - 1] == '-'))
        vld_invalid_str(v, field, name, "must not begin or end with a hyphen");
}

static void target_port(struct vld *v, const char *field, const json_t *tp)
{
    if (json_is_integer(tp))
        port_range(v, field, (long long)json_integer_value(tp));
    else if (json_is_string(tp))
        vld_port_name(v, field, json_string_value(tp));
}

/* names: set of port names seen so far (a JSON object). */
static void service_port(struct vld *v, size_t i, const json_t *p, const json_t *ports, json_t *names)
{
    char f[128];
    const char *name = printer_jstr(p, "name");
    snprintf(f, sizeof(f), "spec.ports[%zu].name", i);
    if (arr_n(ports) > 1 && !*name) {
        vld_required(v, f, "");
    } else if (*name) {
        vld_dns1123_label(v, f, name);
        if (json_object_get(names, name))
            vld_duplicate_str(v, f, name);
        else
            json_object_set_new(names, name, json_true());
    }
    snprintf(f, sizeof(f), "spec.ports[%zu].port", i);
    port_range(v, f, printer_jint(p, "port", 0));
    const char *proto = printer_jstr(p, "protocol");
    snprintf(f, sizeof(f), "spec.ports[%zu].protocol", i);
    if (!*proto)
        vld_required(v, f, "");
    else if (!in_list(proto, protocols, 3))
        vld_not_supported(v, f, proto, protocols, 3);
    snprintf(f, sizeof(f), "spec.ports[%zu].targetPort", i);
    target_port(v, f, json_object_get(p, "targetPort"));
}

/* Go's %#v of the (protocol, port) key upstream reports for duplicate ports. */
static char *go_service_port_key(const json_t *p)
{
    char *proto = vld_quote(printer_jstr(p, "protocol"));
    char *r = ck_asprintf("core.ServicePort{Name:\"\", Protocol:%s, AppProtocol:(*string)(nil), Port:%lld, "
                          "TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}",
                          proto, printer_jint(p, "port", 0));
    free(proto);
    return r;
}

static void service_ports(struct vld *v, const json_t *spec, const char *type)
{
    json_t *ports = json_object_get(spec, "ports");
    char f[128];
    json_t *names = json_object();
    for (size_t i = 0; i < arr_n(ports); i++)
        service_port(v, i, json_array_get(ports, i), ports, names);
    json_decref(names);
    vld_labels(v, "spec.selector", json_object_get(spec, "selector"));
    const char *aff = printer_jstr(spec, "sessionAffinity");
    if (!*aff)
        vld_required(v, "spec.sessionAffinity", "");
    else if (!in_list(aff, affinities, 2))
        vld_not_supported(v, "spec.sessionAffinity", aff, affinities, 2);
    if (!*type)
        vld_required(v, "spec.type", "");
    else if (!in_list(type, svc_types, 4))
        vld_not_supported(v, "spec.type", type, svc_types, 4);
    for (size_t i = 0; !strcmp(type, "ClusterIP") && i < arr_n(ports); i++)
        if (printer_jint(json_array_get(ports, i), "nodePort", 0) != 0) {
            snprintf(f, sizeof(f), "spec.ports[%zu].nodePort", i);
            vld_forbidden(v, f, "may not be used when `type` is 'ClusterIP'");
        }
    json_t *keys = json_object();
    for (size_t i = 0; i < arr_n(ports); i++) {
        json_t *p = json_array_get(ports, i);
        char *key = ck_asprintf("%s/%lld", printer_jstr(p, "protocol"), printer_jint(p, "port", 0));
        if (json_object_get(keys, key)) {
            char *repr = go_service_port_key(p);
            snprintf(f, sizeof(f), "spec.ports[%zu]", i);
            vld_duplicate_repr(v, f, repr);
            free(repr);
        }
        json_object_set_new(keys, key, json_true());
        free(key);
    }
    json_decref(keys);
}

void vld_service(struct vld *v, const json_t *obj, const json_t *old)
{
    json_t *spec = json_object_get(obj, "spec");
    const char *type = printer_jstr(spec, "type");
    const char *cip = printer_jstr(spec, "clusterIP");
    bool headless = !strcmp(cip, "None");
    if (arr_n(json_object_get(spec, "ports")) == 0 && !headless && strcmp(type, "ExternalName") != 0)
        vld_required(v, "spec.ports", "");
    if (!strcmp(type, "ExternalName")) {
        const char *en = printer_jstr(spec, "externalName");
        if (*en)
            vld_dns1123_subdomain(v, "spec.externalName", en);
        else
            vld_required(v, "spec.externalName", "");
    }
    service_ports(v, spec, type);
    const char *ocip = printer_jstr(old, "spec.clusterIP");
    /* an empty clusterIP on update keeps the allocated one (upstream patches it back) */
    if (old && *ocip && *cip && strcmp(type, "ExternalName") && strcmp(printer_jstr(old, "spec.type"), "ExternalName") &&
        strcmp(ocip, cip) != 0) {
        char *q = vld_quote(cip);
        char *repr = ck_asprintf("[]string{%s}", q);
        vld_invalid_repr(v, "spec.clusterIPs[0]", repr, "may not change once set");
        free(repr);
        free(q);
    }
}

/* ---- configmaps, secrets ------------------------------------------------------------------- */

static void config_key(struct vld *v, const char *field, const char *key)
{
    size_t n = strlen(key);
    bool ok = n > 0;
    for (size_t i = 0; i < n && ok; i++)
        ok = isalnum((unsigned char)key[i]) || key[i] == '-' || key[i] == '_' || key[i] == '.';
    if (n > 253)
        vld_invalid_str(v, field, key, "must be no more than 253 characters");
    if (!ok)
        vld_invalid_str(v, field, key,
                        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
                        "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
                        "'[-._a-zA-Z0-9]+')");
    if (!strcmp(key, "."))
        vld_invalid_str(v, field, key, "must not be '.'");
    else if (!strcmp(key, ".."))
        vld_invalid_str(v, field, key, "must not be '..'");
    else if (!strncmp(key, "..", 2))
        vld_invalid_str(v, field, key, "must not start with '..'");
}

/* Decoded size of a base64 value. */
static size_t b64_len(const char *s)
{
    size_t n = strlen(s);
    size_t pad = (n && s[n - 1] == '=') + (n > 1 && s[n - 2] == '=');
    return n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) - pad;
}

static size_t data_keys(struct vld *v, const char *bag, const json_t *data, const json_t *other, bool b64)
{
    const char *k;
    json_t *val;
    size_t total = 0;
    char f[512];
    if (!json_is_object(data))
        return 0;
    json_object_foreach((json_t *)data, k, val) {
        snprintf(f, sizeof(f), "%s[%s]", bag, k);
        config_key(v, f, k);
        if (json_is_object(other) && json_object_get(other, k))
            vld_invalid_str(v, f, k, "duplicate of key present in binaryData");
        const char *s = json_string_value(val) ?: "";
        total += b64 ? b64_len(s) : strlen(s);
    }
    return total;
}

static void immutable_rules(struct vld *v, const json_t *obj, const json_t *old, const char *const *bags, size_t n)
{
    if (!old || !json_is_true(json_object_get(old, "immutable")))
        return;
    if (!json_is_true(json_object_get(obj, "immutable")))
        vld_forbidden(v, "immutable", "field is immutable when `immutable` is set");
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_object_get(obj, bags[i]), *b = json_object_get(old, bags[i]);
        if ((a || b) && !(a && b && json_equal(a, b)))
            vld_forbidden(v, bags[i], "field is immutable when `immutable` is set");
    }
}

void vld_configmap(struct vld *v, const json_t *obj, const json_t *old)
{
    static const char *const bags[] = {"data", "binaryData"};
    immutable_rules(v, obj, old, bags, 2);
    size_t total = data_keys(v, "data", json_object_get(obj, "data"), json_object_get(obj, "binaryData"), false);
    total += data_keys(v, "binaryData", json_object_get(obj, "binaryData"), NULL, true);
    if (total > MAX_DATA_SIZE)
        vld_too_long(v, "", MAX_DATA_SIZE);
}

static bool has_key(const json_t *data, const char *k)
{
    return json_is_object(data) && json_object_get(data, k) != NULL;
}

static void typed_secret(struct vld *v, const json_t *obj, const char *type)
{
    json_t *data = json_object_get(obj, "data");
    if (!strcmp(type, "kubernetes.io/service-account-token")) {
        const char *sa = json_string_value(
            json_object_get(printer_jget(obj, "metadata.annotations"), "kubernetes.io/service-account.name"));
        if (!sa || !*sa)
            vld_required(v, "metadata.annotations[kubernetes.io/service-account.name]", "");
    } else if (!strcmp(type, "kubernetes.io/dockercfg") && !has_key(data, ".dockercfg")) {
        vld_required(v, "data[.dockercfg]", "");
    } else if (!strcmp(type, "kubernetes.io/dockerconfigjson") && !has_key(data, ".dockerconfigjson")) {
        vld_required(v, "data[.dockerconfigjson]", "");
    } else if (!strcmp(type, "kubernetes.io/basic-auth") && !has_key(data, "username") && !has_key(data, "password")) {
        vld_required(v, "data[username]", "");
        vld_required(v, "data[password]", "");
    } else if (!strcmp(type, "kubernetes.io/ssh-auth") && !*printer_jstr(data, "ssh-privatekey")) {
        vld_required(v, "data[ssh-privatekey]", "");
    } else if (!strcmp(type, "kubernetes.io/tls")) {
        if (!has_key(data, "tls.crt"))
            vld_required(v, "data[tls.crt]", "");
        if (!has_key(data, "tls.key"))
            vld_required(v, "data[tls.key]", "");
    }
}

void vld_secret(struct vld *v, const json_t *obj, const json_t *old)
{
    static const char *const bags[] = {"data"};
    const char *type = printer_jstr(obj, "type");
    if (old && strcmp(type, printer_jstr(old, "type")) != 0)
        vld_invalid_str(v, "type", type, "field is immutable");
    immutable_rules(v, obj, old, bags, 1);
    size_t total = data_keys(v, "data", json_object_get(obj, "data"), NULL, true);
    if (total > MAX_DATA_SIZE)
        vld_too_long(v, "data", MAX_DATA_SIZE);
    typed_secret(v, obj, type);
}

/* ---- namespaces, nodes, leases --------------------------------------------------------------- */

/* spec.finalizers: qualified names, and unqualified ones must be the standard "kubernetes". */
void vld_namespace(struct vld *v, const json_t *obj, const json_t *old)
{
    (void)old;
    json_t *fins = printer_jget(obj, "spec.finalizers");
    for (size_t i = 0; i < arr_n(fins); i++) {
        const char *f = json_string_value(json_array_get(fins, i)) ?: "";
        size_t before = vld_count(v);
        vld_qualified_name(v, "spec.finalizers", f, f);
        if (vld_count(v) == before && !strchr(f, '/') && strcmp(f, "kubernetes") != 0)
            vld_invalid_str(v, "spec.finalizers", f, "name is neither a standard finalizer name nor is it fully qualified");
    }
}

void vld_node(struct vld *v, const json_t *obj, const json_t *old)
{
    static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute"};
    (void)old;
    json_t *taints = printer_jget(obj, "spec.taints");
    char f[128];
    for (size_t i = 0; i < arr_n(taints); i++) {
        json_t *t = json_array_get(taints, i);
        const char *key = printer_jstr(t, "key"), *eff = printer_jstr(t, "effect");
        snprintf(f, sizeof(f), "spec.taints[%zu].key", i);
        if (!*key)
            vld_required(v, f, "");
        snprintf(f, sizeof(f), "spec.taints[%zu].effect", i);
        if (!*eff)
            vld_required(v, f, "");
        else if (!in_list(eff, effects, 3))
            vld_not_supported(v, f, eff, effects, 3);
    }
}

void vld_lease(struct vld *v, const json_t *obj, const json_t *old)
{
    (void)old;
    json_t *spec = json_object_get(obj, "spec");
    json_t *d = json_object_get(spec, "leaseDurationSeconds");
    if (json_is_integer(d) && json_integer_value(d) <= 0)
        vld_invalid_int(v, "spec.leaseDurationSeconds", (long long)json_integer_value(d), "must be greater than 0");
    vld_nonneg(v, "spec.leaseTransitions", spec, "leaseTransitions");
}

/* ---- persistent volumes and claims ------------------------------------------------------ */

static const char *const access_modes[] = {"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"};
static const char *const volume_modes[] = {"Block", "Filesystem"};

static void access_mode_list(struct vld *v, const char *field, const json_t *modes, const char *required_detail)
{
    if (arr_n(modes) == 0)
        vld_required(v, field, required_detail);
    for (size_t i = 0; i < arr_n(modes); i++) {
        const char *m = json_string_value(json_array_get(modes, i)) ?: "";
        if (!in_list(m, access_modes, 4))
            vld_not_supported(v, field, m, access_modes, 4);
    }
}

/* ValidatePositiveQuantityValue; false when the quantity did not parse. */
static void positive_quantity(struct vld *v, const char *field, const json_t *q)
{
    __int128 n;
    if (validation_quantity_nano(q, &n) < 0) {
        vld_bad_quantity(v);
        return;
    }
    if (n <= 0) {
        char *c = validation_quantity_canonical(q);
        vld_invalid_str(v, field, c ? c : "", "must be greater than zero");
        free(c);
    }
}

void vld_pvc(struct vld *v, const json_t *obj, const json_t *old)
{
    (void)old;
    json_t *spec = json_object_get(obj, "spec");
    access_mode_list(v, "spec.accessModes", json_object_get(spec, "accessModes"), "at least 1 access mode is required");
    vld_label_selector(v, "spec.selector", json_object_get(spec, "selector"));
    json_t *storage = printer_jget(spec, "resources.requests.storage");
    if (!storage)
        vld_required(v, "spec.resources[storage]", "");
    else
        positive_quantity(v, "spec.resources[storage]", storage);
    const char *sc = printer_jstr(spec, "storageClassName");
    if (*sc)
        vld_dns1123_subdomain(v, "spec.storageClassName", sc);
    json_t *vm = json_object_get(spec, "volumeMode");
    if (json_is_string(vm) && !in_list(json_string_value(vm), volume_modes, 2))
        vld_not_supported(v, "spec.volumeMode", json_string_value(vm), volume_modes, 2);
}

void vld_pv(struct vld *v, const json_t *obj, const json_t *old)
{
    static const char *const storage_only[] = {"storage"};
    static const char *const policies[] = {"Delete", "Recycle", "Retain"};
    (void)old;
    json_t *spec = json_object_get(obj, "spec");
    access_mode_list(v, "spec.accessModes", json_object_get(spec, "accessModes"), "");
    json_t *cap = json_object_get(spec, "capacity");
    size_t ncap = json_is_object(cap) ? json_object_size(cap) : 0;
    if (ncap == 0)
        vld_required(v, "spec.capacity", "");
    if (!json_object_get(cap, "storage") || ncap > 1) {
        char *repr = vld_go_map(NULL);
        vld_not_supported(v, "spec.capacity", repr, storage_only, 1);
        free(repr);
    }
    const char *k;
    json_t *q;
    char f[160];
    if (json_is_object(cap)) {
        json_object_foreach(cap, k, q) {
            snprintf(f, sizeof(f), "spec.capacity[%s]", k);
            positive_quantity(v, f, q);
        }
    }
    const char *rp = printer_jstr(spec, "persistentVolumeReclaimPolicy");
    if (*rp && !in_list(rp, policies, 3))
        vld_not_supported(v, "spec.persistentVolumeReclaimPolicy", rp, policies, 3);
    static const char *const sources[] = {"hostPath", "local", "nfs", "csi", "iscsi", "fc", "rbd", "cephfs",
                                          "glusterfs", "flexVolume", "azureFile", "azureDisk", "gcePersistentDisk",
                                          "awsElasticBlockStore", "vsphereVolume", "portworxVolume", "storageos",
                                          "quobyte", "scaleIO", "photonPersistentDisk", "cinder", "flocker"};
    size_t nsrc = 0;
    for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
        nsrc += json_object_get(spec, sources[i]) != NULL;
    if (nsrc == 0)
        vld_required(v, "spec", "must specify a volume type");
}

/* ---- quotas, limit ranges ----------------------------------------------------------------- */

/* Every quantity of a ResourceList must parse (else 400) and, when nonneg, be >= 0. */
static void quantity_list(struct vld *v, const char *path, const json_t *list, bool nonneg)
{
    const char *k;
    json_t *q;
    char f[256];
    if (!json_is_object(list))
        return;
    json_object_foreach((json_t *)list, k, q) {
        __int128 n;
        if (validation_quantity_nano(q, &n) < 0) {
            vld_bad_quantity(v);
            continue;
        }
        snprintf(f, sizeof(f), "%s[%s]", path, k);
        if (nonneg && n < 0) {
            char *c = validation_quantity_canonical(q);
            vld_invalid_str(v, f, c ? c : "", "must be greater than or equal to 0");
            free(c);
        }
    }
}

void vld_resourcequota(struct vld *v, const json_t *obj, const json_t *old)
{
    (void)old;
    quantity_list(v, "spec.hard", printer_jget(obj, "spec.hard"), true);
    quantity_list(v, "status.hard", printer_jget(obj, "status.hard"), true);
    quantity_list(v, "status.used", printer_jget(obj, "status.used"), true);
}

void vld_limitrange(struct vld *v, const json_t *obj, const json_t *old)
{
    static const char *const keys[] = {"max", "min", "default", "defaultRequest", "maxLimitRequestRatio"};
    (void)old;
    json_t *limits = printer_jget(obj, "spec.limits");
    char f[128];
    for (size_t i = 0; i < arr_n(limits); i++) {
        json_t *item = json_array_get(limits, i);
        snprintf(f, sizeof(f), "spec.limits[%zu]", i);
        vld_qualified_name(v, f, printer_jstr(item, "type"), printer_jstr(item, "type"));
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            snprintf(f, sizeof(f), "spec.limits[%zu].%s", i, keys[k]);
            quantity_list(v, f, json_object_get(item, keys[k]), false);
        }
    }
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Pod validation: pod spec essentials (volumes, containers, init containers, ports, env,
 * volume mounts, resources, restart/DNS policy, tolerations), pod templates, the pod update
 * rule, resource.Quantity parsing and the QoS class. Messages follow upstream's
 * pkg/apis/core/validation. */
#include "apiserver/registry/validation.h"

#include "apiserver/registry/printers.h"
#include "k8s/podres.h"
#include "k8s/quantity.h"
#include "lib/buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static size_t arr_n(const json_t *a)
{
    return json_is_array(a) ? json_array_size(a) : 0;
}

/* ---- resource.Quantity: the shared helpers of src/k8s ------------------------------- */

int validation_quantity_nano(const json_t *q, __int128 *nano)
{
    return k8s_quantity_nano_json(q, nano);
}

char *validation_quantity_canonical(const json_t *q)
{
    return k8s_quantity_canonical_json(q);
}

int validation_quantity_cmp(const json_t *a, const json_t *b, int *cmp)
{
    return k8s_quantity_cmp_json(a, b, cmp);
}

/* The quantity as text for messages (strings verbatim, numbers in decimal). */
static char *qty_text(const json_t *q)
{
    if (json_is_string(q))
        return ck_strdup(json_string_value(q));
    if (json_is_integer(q))
        return ck_asprintf("%lld", (long long)json_integer_value(q));
    return ck_asprintf("%g", json_number_value(q));
}

/* ---- QoS ---------------------------------------------------------------------------- */

const char *validation_pod_qos(const json_t *podspec)
{
    return k8s_podspec_compute_qos(podspec);
}

/* ---- containers ---------------------------------------------------------------------- */

static const char *const protocols[] = {"SCTP", "TCP", "UDP"};
static const char *const pull_policies[] = {"Always", "IfNotPresent", "Never"};
static const char *const msg_policies[] = {"File", "FallbackToLogsOnError"};

/* True when name was the problem (so the caller skips the duplicate check). */
static bool port_name_bad(const char *name)
{
    size_t n = strlen(name);
    bool has_letter = false;
    if (n > 15 || strstr(name, "--") || name[0] == '-' || name[n - 1] == '-')
        return true;
    for (size_t i = 0; i < n; i++) {
        if (!(islower((unsigned char)name[i]) || isdigit((unsigned char)name[i]) || name[i] == '-'))
            return true;
        has_letter |= islower((unsigned char)name[i]) != 0;
    }
    return !has_letter;
}

static void port_num(struct vld *v, const char *field, long long p)
{
    if (p < 1 || p > 65535)
        vld_invalid_int(v, field, p, "must be between 1 and 65535, inclusive");
}

/* Membership in a name set (a JSON object used as a hash set). */
static bool set_has(const json_t *set, const char *k)
{
    return json_object_get(set, k) != NULL;
}

static void set_add(json_t *set, const char *k)
{
    json_object_set_new(set, k, json_true());
}

static void container_ports(struct vld *v, const char *path, const json_t *ports)
{
    char f[256];
    json_t *names = json_object();
    for (size_t i = 0; i < arr_n(ports); i++) {
        json_t *p = json_array_get(ports, i);
        const char *name = printer_jstr(p, "name");
        if (*name) {
            snprintf(f, sizeof(f), "%s[%zu].name", path, i);
            if (port_name_bad(name))
                vld_port_name(v, f, name);
            else if (set_has(names, name))
                vld_duplicate_str(v, f, name);
            else
                set_add(names, name);
        }
        snprintf(f, sizeof(f), "%s[%zu].containerPort", path, i);
        long long cp = printer_jint(p, "containerPort", 0);
        if (cp == 0)
            vld_required(v, f, "");
        else
            port_num(v, f, cp);
        snprintf(f, sizeof(f), "%s[%zu].hostPort", path, i);
        if (printer_jint(p, "hostPort", 0) != 0)
            port_num(v, f, printer_jint(p, "hostPort", 0));
        snprintf(f, sizeof(f), "%s[%zu].protocol", path, i);
        const char *proto = printer_jstr(p, "protocol");
        if (!*proto)
            vld_required(v, f, "");
        else if (strcmp(proto, "TCP") && strcmp(proto, "UDP") && strcmp(proto, "SCTP"))
            vld_not_supported(v, f, proto, protocols, 3);
    }
    json_decref(names);
}

/* Env var names as upstream 1.33 (RelaxedEnvironmentVariableValidation on by default):
 * any printable ASCII except '='. */
static void container_env(struct vld *v, const char *path, const json_t *env)
{
    char f[256];
    for (size_t i = 0; i < arr_n(env); i++) {
        const char *name = printer_jstr(json_array_get(env, i), "name");
        snprintf(f, sizeof(f), "%s[%zu].name", path, i);
        if (!*name) {
            vld_required(v, f, "");
            continue;
        }
        bool ok = true;
        for (const unsigned char *p = (const unsigned char *)name; *p && ok; p++)
            ok = *p >= 32 && *p < 127 && *p != '=';
        if (!ok)
            vld_invalid_str(v, f, name,
                            "a valid environment variable name must consist only of printable ASCII characters "
                            "other than '='");
    }
}

/* okvols: names of the volumes that passed validation (upstream's vols map). */
static void container_mounts(struct vld *v, const char *path, const json_t *mounts, const json_t *okvols)
{
    char f[256];
    json_t *paths = json_object();
    for (size_t i = 0; i < arr_n(mounts); i++) {
        json_t *m = json_array_get(mounts, i);
        const char *name = printer_jstr(m, "name"), *mp = printer_jstr(m, "mountPath");
        snprintf(f, sizeof(f), "%s[%zu].name", path, i);
        if (!*name)
            vld_required(v, f, "");
        if (!set_has(okvols, name))
            vld_not_found_str(v, f, name);
        snprintf(f, sizeof(f), "%s[%zu].mountPath", path, i);
        if (!*mp)
            vld_required(v, f, "");
        if (set_has(paths, mp))
            vld_invalid_str(v, f, mp, "must be unique");
        set_add(paths, mp);
    }
    json_decref(paths);
}

static bool overcommit_allowed(const char *res)
{
    bool native = !strchr(res, '/') || !strncmp(res, "kubernetes.io/", 14);
    return native && strncmp(res, "hugepages-", 10) != 0;
}

static void resource_name(struct vld *v, const char *field, const char *res)
{
    if (strchr(res, '/'))
        return;
    if (strcmp(res, "cpu") && strcmp(res, "memory") && strcmp(res, "ephemeral-storage") &&
        strncmp(res, "hugepages-", 10))
        vld_invalid_str(v, field, res, "must be a standard resource for containers");
}

/* Name and non-negative value of every entry of resources.<which>; false on a bad quantity. */
static void resource_list(struct vld *v, const char *path, const char *which, const json_t *list)
{
    char f[256];
    const char *k;
    json_t *q;
    if (!json_is_object(list))
        return;
    json_object_foreach((json_t *)list, k, q) {
        __int128 n;
        snprintf(f, sizeof(f), "%s.%s[%s]", path, which, k);
        resource_name(v, f, k);
        if (validation_quantity_nano(q, &n) < 0) {
            vld_bad_quantity(v);
            continue;
        }
        if (n < 0) {
            char *t = qty_text(q);
            vld_invalid_str(v, f, t, "must be greater than or equal to 0");
            free(t);
        }
    }
}

static void container_resources(struct vld *v, const char *path, const json_t *res)
{
    json_t *lim = json_object_get(res, "limits"), *req = json_object_get(res, "requests");
    resource_list(v, path, "limits", lim);
    resource_list(v, path, "requests", req);
    if (!json_is_object(req))
        return;
    char reqpath[256], limpath[256];
    snprintf(reqpath, sizeof(reqpath), "%s.requests", path);
    snprintf(limpath, sizeof(limpath), "%s.limits", path);
    const char *k;
    json_t *q;
    json_object_foreach(req, k, q) {
        json_t *l = json_object_get(lim, k);
        int cmp;
        if (!l) {
            if (!overcommit_allowed(k))
                vld_required(v, limpath, "Limit must be set for non overcommitable resources");
            continue;
        }
        if (validation_quantity_cmp(q, l, &cmp) < 0)
            continue;
        char *qt = qty_text(q), *lt = qty_text(l), *d = NULL;
        if (cmp != 0 && !overcommit_allowed(k))
            d = ck_asprintf("must be equal to %s limit of %s", k, lt);
        else if (cmp > 0)
            d = ck_asprintf("must be less than or equal to %s limit of %s", k, lt);
        if (d)
            vld_invalid_str(v, reqpath, qt, d);
        free(d);
        free(qt);
        free(lt);
    }
}

static void one_of(struct vld *v, const char *field, const char *val, const char *const *valid, size_t n)
{
    if (!*val) {
        vld_required(v, field, "");
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (!strcmp(val, valid[i]))
            return;
    vld_not_supported(v, field, val, valid, n);
}

/* validateHandler: exactly one of exec / httpGet / tcpSocket / grpc. */
static void probe_handler(struct vld *v, const char *path, const json_t *p)
{
    static const char *const kinds[] = {"exec", "httpGet", "tcpSocket", "grpc"};
    static const char *const schemes[] = {"HTTP", "HTTPS"};
    char f[256];
    int n = 0;
    for (size_t i = 0; i < 4; i++) {
        json_t *h = json_object_get(p, kinds[i]);
        if (!h)
            continue;
        snprintf(f, sizeof(f), "%s.%s", path, kinds[i]);
        if (n++ > 0) {
            vld_forbidden(v, f, "may not specify more than 1 handler type");
            continue;
        }
        if (i == 0 && !json_array_size(json_object_get(h, "command"))) {
            snprintf(f, sizeof(f), "%s.exec.command", path);
            vld_required(v, f, "");
        } else if (i == 1) {
            const char *sc = printer_jstr(h, "scheme");
            snprintf(f, sizeof(f), "%s.httpGet.scheme", path);
            if (*sc && strcmp(sc, "HTTP") && strcmp(sc, "HTTPS"))
                vld_not_supported(v, f, sc, schemes, 2);
        }
        if (i == 1 || i == 2) {
            json_t *port = json_object_get(h, "port");
            snprintf(f, sizeof(f), "%s.%s.port", path, kinds[i]);
            if (json_is_integer(port))
                port_num(v, f, (long long)json_integer_value(port));
            else if (json_is_string(port))
                vld_port_name(v, f, json_string_value(port));
        }
    }
    if (n == 0)
        vld_required(v, path, "must specify a handler type");
}

static void probe(struct vld *v, const char *cpath, const json_t *c, const char *which, bool one_success)
{
    static const char *const nonneg[] = {"initialDelaySeconds", "timeoutSeconds", "periodSeconds",
                                         "successThreshold", "failureThreshold"};
    json_t *p = json_object_get(c, which);
    char path[256], f[256];
    if (!p)
        return;
    snprintf(path, sizeof(path), "%s.%s", cpath, which);
    probe_handler(v, path, p);
    for (size_t i = 0; i < sizeof(nonneg) / sizeof(nonneg[0]); i++) {
        snprintf(f, sizeof(f), "%s.%s", path, nonneg[i]);
        vld_nonneg(v, f, p, nonneg[i]);
    }
    json_t *st = json_object_get(p, "successThreshold");
    snprintf(f, sizeof(f), "%s.successThreshold", path);
    if (one_success && json_is_integer(st) && json_integer_value(st) != 1)
        vld_invalid_int(v, f, (long long)json_integer_value(st), "must be 1");
}

/* validateContainerCommon (name, image, termination message policy, ports, env, mounts,
 * pull policy, resources), then for init containers the restartPolicy, then duplicates. */
static void container(struct vld *v, const char *path, const json_t *c, const json_t *vols, bool init, bool dup)
{
    char f[256];
    const char *name = printer_jstr(c, "name");
    snprintf(f, sizeof(f), "%s.name", path);
    if (!*name)
        vld_required(v, f, "");
    else
        vld_dns1123_label(v, f, name);
    snprintf(f, sizeof(f), "%s.image", path);
    if (!*printer_jstr(c, "image"))
        vld_required(v, f, "");
    snprintf(f, sizeof(f), "%s.terminationMessagePolicy", path);
    one_of(v, f, printer_jstr(c, "terminationMessagePolicy"), msg_policies, 2);
    snprintf(f, sizeof(f), "%s.ports", path);
    container_ports(v, f, json_object_get(c, "ports"));
    snprintf(f, sizeof(f), "%s.env", path);
    container_env(v, f, json_object_get(c, "env"));
    snprintf(f, sizeof(f), "%s.volumeMounts", path);
    container_mounts(v, f, json_object_get(c, "volumeMounts"), vols);
    snprintf(f, sizeof(f), "%s.imagePullPolicy", path);
    one_of(v, f, printer_jstr(c, "imagePullPolicy"), pull_policies, 3);
    snprintf(f, sizeof(f), "%s.resources", path);
    container_resources(v, f, json_object_get(c, "resources"));
    json_t *rp = json_object_get(c, "restartPolicy");
    if (init && json_is_string(rp) && strcmp(json_string_value(rp), "Always")) {
        static const char *const always[] = {"Always"};
        snprintf(f, sizeof(f), "%s.restartPolicy", path);
        vld_not_supported(v, f, json_string_value(rp), always, 1);
    }
    if (dup) {
        snprintf(f, sizeof(f), "%s.name", path);
        vld_duplicate_str(v, f, name);
    }
    bool sidecar = init && json_is_string(rp) && !strcmp(json_string_value(rp), "Always");
    if (!init || sidecar) {
        probe(v, path, c, "livenessProbe", true);
        probe(v, path, c, "readinessProbe", false);
        probe(v, path, c, "startupProbe", true);
    } else {
        static const char *const probes[] = {"lifecycle", "livenessProbe", "readinessProbe", "startupProbe"};
        for (size_t i = 0; i < 4; i++)
            if (json_object_get(c, probes[i])) {
                snprintf(f, sizeof(f), "%s.%s", path, probes[i]);
                vld_invalid_repr(v, f, "&core.Probe{...}", "must not be set for init containers");
            }
    }
}

static void containers(struct vld *v, const char *spath, const json_t *spec, const json_t *okvols)
{
    char f[256];
    json_t *cs = json_object_get(spec, "containers");
    json_t *names = json_object();
    snprintf(f, sizeof(f), "%s.containers", spath);
    if (arr_n(cs) == 0)
        vld_required(v, f, "");
    for (size_t i = 0; i < arr_n(cs); i++) {
        snprintf(f, sizeof(f), "%s.containers[%zu]", spath, i);
        const char *name = printer_jstr(json_array_get(cs, i), "name");
        container(v, f, json_array_get(cs, i), okvols, false, set_has(names, name));
        set_add(names, name);
    }
    json_t *ics = json_object_get(spec, "initContainers");
    for (size_t i = 0; i < arr_n(ics); i++) {
        json_t *c = json_array_get(ics, i);
        const char *name = printer_jstr(c, "name");
        snprintf(f, sizeof(f), "%s.initContainers[%zu]", spath, i);
        container(v, f, c, okvols, true, set_has(names, name));
        if (*name)
            set_add(names, name);
    }
    json_decref(names);
}

static size_t volume_sources(const json_t *vol)
{
    return json_is_object(vol) ? json_object_size(vol) - (json_object_get(vol, "name") != NULL) : 0;
}

/* Volumes that passed validation are the ones mounts may refer to (upstream's vols map). */
/* Validates the volumes and returns the set of names of those without errors. */
static json_t *volumes(struct vld *v, const char *spath, const json_t *vols)
{
    char f[256];
    json_t *ok = json_object();
    for (size_t i = 0; i < arr_n(vols); i++) {
        json_t *vol = json_array_get(vols, i);
        const char *name = printer_jstr(vol, "name");
        size_t nsrc = volume_sources(vol), before = vld_count(v);
        snprintf(f, sizeof(f), "%s.volumes[%zu]", spath, i);
        if (nsrc == 0)
            vld_required(v, f, "must specify a volume type");
        else if (nsrc > 1)
            vld_forbidden(v, f, "may not specify more than 1 volume type");
        snprintf(f, sizeof(f), "%s.volumes[%zu].name", spath, i);
        if (!*name)
            vld_required(v, f, "");
        else
            vld_dns1123_label(v, f, name);
        if (set_has(ok, name))
            vld_duplicate_str(v, f, name);
        if (vld_count(v) == before && nsrc == 1 && validation_is_dns1123_label(name))
            set_add(ok, name);
    }
    return ok;
}

static void tolerations(struct vld *v, const char *spath, const json_t *tols)
{
    static const char *const ops[] = {"Equal", "Exists"};
    static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute"};
    char f[256];
    for (size_t i = 0; i < arr_n(tols); i++) {
        json_t *t = json_array_get(tols, i);
        const char *op = printer_jstr(t, "operator"), *eff = printer_jstr(t, "effect");
        snprintf(f, sizeof(f), "%s.tolerations[%zu].operator", spath, i);
        if (*op && strcmp(op, "Equal") && strcmp(op, "Exists"))
            vld_not_supported(v, f, op, ops, 2);
        if (!strcmp(op, "Exists") && *printer_jstr(t, "value"))
            vld_invalid_str(v, f, printer_jstr(t, "value"), "value must be empty when `operator` is 'Exists'");
        snprintf(f, sizeof(f), "%s.tolerations[%zu].effect", spath, i);
        if (json_object_get(t, "tolerationSeconds") && strcmp(eff, "NoExecute"))
            vld_invalid_str(v, f, eff, "effect must be 'NoExecute' when `tolerationSeconds` is set");
        else if (*eff && strcmp(eff, "NoSchedule") && strcmp(eff, "PreferNoSchedule") && strcmp(eff, "NoExecute"))
            vld_not_supported(v, f, eff, effects, 3);
    }
}

void vld_podspec(struct vld *v, const char *spath, const json_t *spec)
{
    static const char *const restart[] = {"Always", "OnFailure", "Never"};
    static const char *const dns[] = {"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"};
    char f[256];
    json_t *okvols = volumes(v, spath, json_object_get(spec, "volumes"));
    containers(v, spath, spec, okvols);
    json_decref(okvols);
    snprintf(f, sizeof(f), "%s.restartPolicy", spath);
    one_of(v, f, printer_jstr(spec, "restartPolicy"), restart, 3);
    snprintf(f, sizeof(f), "%s.dnsPolicy", spath);
    one_of(v, f, printer_jstr(spec, "dnsPolicy"), dns, 4);
    snprintf(f, sizeof(f), "%s.nodeSelector", spath);
    vld_labels(v, f, json_object_get(spec, "nodeSelector"));
    const char *sa = printer_jstr(spec, "serviceAccountName"), *node = printer_jstr(spec, "nodeName");
    snprintf(f, sizeof(f), "%s.serviceAccountName", spath);
    if (*sa)
        vld_dns1123_subdomain(v, f, sa);
    snprintf(f, sizeof(f), "%s.nodeName", spath);
    if (*node)
        vld_dns1123_subdomain(v, f, node);
    json_t *ads = json_object_get(spec, "activeDeadlineSeconds");
    snprintf(f, sizeof(f), "%s.activeDeadlineSeconds", spath);
    if (json_is_integer(ads) && (json_integer_value(ads) < 1 || json_integer_value(ads) > 2147483647))
        vld_invalid_int(v, f, (long long)json_integer_value(ads), "must be between 1 and 2147483647, inclusive");
    static const char *const dnsnames[] = {"hostname", "subdomain"};
    for (int i = 0; i < 2; i++) {
        const char *s = printer_jstr(spec, dnsnames[i]);
        snprintf(f, sizeof(f), "%s.%s", spath, dnsnames[i]);
        if (*s)
            vld_dns1123_label(v, f, s);
    }
    tolerations(v, spath, json_object_get(spec, "tolerations"));
}

void vld_pod_template(struct vld *v, const char *path, const json_t *tmpl)
{
    char f[256];
    snprintf(f, sizeof(f), "%s.labels", path);
    vld_labels(v, f, printer_jget(tmpl, "metadata.labels"));
    snprintf(f, sizeof(f), "%s.spec", path);
    vld_podspec(v, f, json_object_get(tmpl, "spec"));
    if (arr_n(printer_jget(tmpl, "spec.ephemeralContainers"))) {
        snprintf(f, sizeof(f), "%s.spec.ephemeralContainers", path);
        vld_forbidden(v, f, "ephemeral containers not allowed in pod template");
    }
}

void vld_podtemplate(struct vld *v, const json_t *obj, const json_t *old)
{
    (void)old;
    vld_pod_template(v, "template", json_object_get(obj, "template"));
}

/* ---- pods ------------------------------------------------------------------------------ */

static bool toleration_kept(const json_t *old_t, const json_t *new_tols)
{
    for (size_t i = 0; i < arr_n(new_tols); i++) {
        json_t *t = json_array_get(new_tols, i);
        static const char *const keys[] = {"key", "operator", "value", "effect"};
        bool same = true;
        for (int k = 0; k < 4 && same; k++)
            same = !strcmp(printer_jstr(t, keys[k]), printer_jstr(old_t, keys[k]));
        if (same)
            return true;
    }
    return false;
}

static void pod_update(struct vld *v, const json_t *spec, const json_t *old_spec)
{
    json_t *munged = json_deep_copy(spec);
    json_t *nc = json_object_get(munged, "containers"), *oc = json_object_get(old_spec, "containers");
    json_t *nic = json_object_get(munged, "initContainers"), *oic = json_object_get(old_spec, "initContainers");
    /* image changes are allowed: copy the old images over before comparing */
    for (size_t i = 0; i < arr_n(nc) && i < arr_n(oc); i++)
        json_object_set(json_array_get(nc, i), "image", json_object_get(json_array_get(oc, i), "image"));
    for (size_t i = 0; i < arr_n(nic) && i < arr_n(oic); i++)
        json_object_set(json_array_get(nic, i), "image", json_object_get(json_array_get(oic, i), "image"));
    static const char *const mutable_fields[] = {"activeDeadlineSeconds", "tolerations",
                                                 "terminationGracePeriodSeconds", "schedulingGates"};
    for (size_t i = 0; i < sizeof(mutable_fields) / sizeof(mutable_fields[0]); i++) {
        json_t *ov = json_object_get(old_spec, mutable_fields[i]);
        if (ov)
            json_object_set(munged, mutable_fields[i], ov);
        else
            json_object_del(munged, mutable_fields[i]);
    }
    json_t *oads = json_object_get(old_spec, "activeDeadlineSeconds");
    json_t *nads = json_object_get(spec, "activeDeadlineSeconds");
    if (json_is_integer(oads) && json_is_integer(nads) && json_integer_value(nads) > json_integer_value(oads))
        vld_invalid_int(v, "spec.activeDeadlineSeconds", (long long)json_integer_value(nads),
                        "must be less than or equal to previous value");
    else if (json_is_integer(oads) && !json_is_integer(nads))
        vld_invalid_repr(v, "spec.activeDeadlineSeconds", "\"null\"", "must not update from a positive integer to nil value");
    json_t *otols = json_object_get(old_spec, "tolerations");
    for (size_t i = 0; i < arr_n(otols); i++)
        if (!toleration_kept(json_array_get(otols, i), json_object_get(spec, "tolerations"))) {
            vld_forbidden(v, "spec.tolerations", "existing toleration can not be modified except its tolerationSeconds");
            break;
        }
    if (!json_equal(munged, (json_t *)old_spec))
        vld_forbidden(v, "spec",
                      "pod updates may not change fields other than `spec.containers[*].image`,"
                      "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
                      "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
                      "(allow it to be set to 1 if it was previously negative)");
    json_decref(munged);
}

/* validateContainersOnlyForPod: images without surrounding whitespace. */
static void pod_only_images(struct vld *v, const json_t *spec)
{
    static const char *const lists[] = {"containers", "initContainers"};
    char f[256];
    for (int l = 0; l < 2; l++) {
        json_t *cs = json_object_get(spec, lists[l]);
        for (size_t i = 0; i < arr_n(cs); i++) {
            const char *img = printer_jstr(json_array_get(cs, i), "image");
            size_t n = strlen(img);
            if (n && (isspace((unsigned char)img[0]) || isspace((unsigned char)img[n - 1]))) {
                snprintf(f, sizeof(f), "spec.%s[%zu].image", lists[l], i);
                vld_invalid_str(v, f, img, "must not have leading or trailing whitespace");
            }
        }
    }
}

void vld_pod(struct vld *v, const json_t *pod, const json_t *old)
{
    const json_t *spec = json_object_get(pod, "spec");
    vld_podspec(v, "spec", spec);
    pod_only_images(v, spec);
    if (old && json_is_object(json_object_get(old, "spec"))) {
        json_t *empty = json_object();
        pod_update(v, json_is_object(spec) ? spec : empty, json_object_get(old, "spec"));
        json_decref(empty);
    }
}

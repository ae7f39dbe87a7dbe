/* SPDX-License-Identifier: Apache-2.0 */
/* PodSecurity (k8s.io/pod-security-admission): the namespace labels
 * pod-security.kubernetes.io/{enforce,warn,audit}[-version] pick a level (privileged,
 * baseline, restricted); a pod that fails the level's checks is refused (enforce) or gets a
 * Warning header (warn). The checks and their texts are upstream's policy checks at the
 * latest version; the order is upstream's: the baseline checks the level keeps, then the
 * restricted ones. Audit annotations are not written (no audit log yet). */
#include "apiserver/admission/admission.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* ---- small text helpers -------------------------------------------------------------- */

struct sb {
    char *p;
    size_t n, len;
};

static void sb_add(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sb *b, const char *fmt, ...)
{
    if (b->len + 1 >= b->n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->p + b->len, b->n - b->len, fmt, ap);
    va_end(ap);
    if (w > 0)
        b->len = b->len + (size_t)w < b->n ? b->len + (size_t)w : b->n - 1;
}

/* A list of names (containers, volumes, values) with upstream's joinQuote/pluralize. */
#define NAMES_MAX 64
struct names {
    const char *v[NAMES_MAX];
    size_t n;
};

static void names_add(struct names *l, const char *s)
{
    if (l->n < NAMES_MAX)
        l->v[l->n++] = s ? s : "";
}

/* A sorted set of strings (upstream's sets.String List()). */
static void names_add_sorted_unique(struct names *l, const char *s)
{
    s = s ? s : "";
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return;
    if (l->n >= NAMES_MAX)
        return;
    size_t i = l->n;
    while (i > 0 && strcmp(l->v[i - 1], s) > 0) {
        l->v[i] = l->v[i - 1];
        i--;
    }
    l->v[i] = s;
    l->n++;
}

static void join_quote(struct sb *b, const struct names *l)
{
    for (size_t i = 0; i < l->n; i++)
        sb_add(b, "%s\"%s\"", i ? ", " : "", l->v[i]);
}

static const char *plural(const char *one, const char *many, size_t n)
{
    return n == 1 ? one : many;
}

/* ---- the pod --------------------------------------------------------------------------- */

struct psa_pod {
    json_t *meta, *spec, *psc; /* psc: spec.securityContext (may be NULL) */
    json_t *cs[3];             /* initContainers, containers, ephemeralContainers */
    bool windows;
};

#define FOR_CONTAINERS(p, c)                                                                       \
    for (size_t k_ = 0; k_ < 3; k_++)                                                              \
        for (size_t i_ = 0;                                                                        \
             i_ < json_array_size((p)->cs[k_]) && ((c) = json_array_get((p)->cs[k_], i_)) != NULL; \
             i_++)

static const char *cname(json_t *c)
{
    const char *n = json_string_value(json_object_get(c, "name"));
    return n ? n : "";
}

static json_t *csc(json_t *c)
{
    return json_object_get(c, "securityContext");
}

struct result {
    const char *reason;
    char detail[1024];
};

typedef bool (*check_fn)(const struct psa_pod *p, struct result *r);

/* "<container|containers> "a", "b" <rest>" */
static void containers_detail(struct result *r, const struct names *l, const char *rest)
{
    struct sb b = {r->detail, sizeof(r->detail), 0};
    sb_add(&b, "%s ", plural("container", "containers", l->n));
    join_quote(&b, l);
    sb_add(&b, "%s", rest);
}

/* ---- baseline checks ------------------------------------------------------------------ */

static bool chk_host_namespaces(const struct psa_pod *p, struct result *r)
{
    struct sb b = {r->detail, sizeof(r->detail), 0};
    const char *f[3] = {"hostNetwork", "hostPID", "hostIPC"};
    for (int i = 0; i < 3; i++)
        if (json_is_true(json_object_get(p->spec, f[i])))
            sb_add(&b, "%s%s=true", b.len ? ", " : "", f[i]);
    r->reason = "host namespaces";
    return b.len == 0;
}

static bool chk_privileged(const struct psa_pod *p, struct result *r)
{
    struct names bad = {0};
    json_t *c;
    FOR_CONTAINERS(p, c)
    if (json_is_true(json_object_get(csc(c), "privileged")))
        names_add(&bad, cname(c));
    if (!bad.n)
        return true;
    r->reason = "privileged";
    containers_detail(r, &bad, " must not set securityContext.privileged=true");
    return false;
}

static const char *const caps_baseline[] = {
    "AUDIT_WRITE",      "CHOWN",   "DAC_OVERRIDE", "FOWNER",  "FSETID", "KILL",       "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID",       "SETPCAP", "SETUID", "SYS_CHROOT", NULL};

static bool in_set(const char *const *set, const char *s)
{
    for (size_t i = 0; set[i]; i++)
        if (strcmp(set[i], s) == 0)
            return true;
    return false;
}

static bool chk_capabilities_baseline(const struct psa_pod *p, struct result *r)
{
    struct names bad = {0}, caps = {0};
    json_t *c;
    FOR_CONTAINERS(p, c)
    {
        json_t *add = json_object_get(json_object_get(csc(c), "capabilities"), "add");
        bool found = false;
        for (size_t i = 0; i < json_array_size(add); i++) {
            const char *cap = json_string_value(json_array_get(add, i));
            if (cap && !in_set(caps_baseline, cap)) {
                found = true;
                names_add_sorted_unique(&caps, cap);
            }
        }
        if (found)
            names_add(&bad, cname(c));
    }
    if (!bad.n)
        return true;
    r->reason = "non-default capabilities";
    containers_detail(r, &bad, " must not include ");
    struct sb b = {r->detail, sizeof(r->detail), strlen(r->detail)};
    join_quote(&b, &caps);
    sb_add(&b, " in securityContext.capabilities.add");
    return false;
}

static bool chk_host_path(const struct psa_pod *p, struct result *r)
{
    struct names bad = {0};
    json_t *vols = json_object_get(p->spec, "volumes");
    for (size_t i = 0; i < json_array_size(vols); i++) {
        json_t *v = json_array_get(vols, i);
        if (json_object_get(v, "hostPath"))
            names_add(&bad, json_string_value(json_object_get(v, "name")));
    }
    if (!bad.n)
        return true;
    r->reason = "hostPath volumes";
    struct sb b = {r->detail, sizeof(r->detail), 0};
    sb_add(&b, "%s ", plural("volume", "volumes", bad.n));
    join_quote(&b, &bad);
    return false;
}

static bool chk_host_ports(const struct psa_pod *p, struct result *r)
{
    struct names bad = {0}, ports = {0};
    char pbuf[NAMES_MAX][12];
    size_t np = 0;
    json_t *c;
    FOR_CONTAINERS(p, c)
    {
        bool found = false;
        json_t *ps = json_object_get(c, "ports");
        for (size_t i = 0; i < json_array_size(ps); i++) {
            json_int_t hp = json_integer_value(json_object_get(json_array_get(ps, i), "hostPort"));
            if (hp == 0)
                continue;
            found = true;
            if (np < NAMES_MAX) {
                snprintf(pbuf[np], sizeof(pbuf[np]), "%lld", (long long)hp);
                names_add_sorted_unique(&ports, pbuf[np]);
                np++;
            }
        }
        if (found)
            names_add(&bad, cname(c));
    }
    if (!bad.n)
        return true;
    r->reason = "hostPort";
    struct sb b = {r->detail, sizeof(r->detail), 0};
    sb_add(&b, "%s ", plural("container", "containers", bad.n));
    join_quote(&b, &bad);
    sb_add(&b, " %s %s ", plural("uses", "use", bad.n), plural("hostPort", "hostPorts", ports.n));
    for (size_t i = 0; i < ports.n; i++) /* sets.String sorts as strings */
        sb_add(&b, "%s%s", i ? ", " : "", ports.v[i]);
    return false;
}

static bool chk_proc_mount(const struct psa_pod *p, struct result *r)
{
    if (json_is_false(json_object_get(p->spec, "hostUsers")))
        return true; /* relaxed in a user namespace */
    struct names bad = {0}, types = {0};
    json_t *c;
    FOR_CONTAINERS(p, c)
    {
        const char *pm = json_string_value(json_object_get(csc(c), "procMount"));
        if (pm && strcmp(pm, "Default") != 0) {
            names_add(&bad, cname(c));
            names_add_sorted_unique(&types, pm);
        }
    }
    if (!bad.n)
        return true;
    r->reason = "procMount";
    containers_detail(r, &bad, " must not set securityContext.procMount to ");
    struct sb b = {r->detail, sizeof(r->detail), strlen(r->detail)};
    join_quote(&b, &types);
    return false;
}

static const char *const selinux_types[] = {
    "", "container_t", "container_init_t", "container_kvm_t", "container_engine_t", NULL};

static bool chk_selinux(const struct psa_pod *p, struct result *r)
{
    struct names badc = {0}, types = {0};
    bool user = false, role = false;
    json_t *po = json_object_get(p->psc, "seLinuxOptions");
    bool pod_bad = false;
    json_t *c;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0) {
            if (!po)
                continue;
            const char *t = json_string_value(json_object_get(po, "type"));
            if (t && !in_set(selinux_types, t)) {
                names_add_sorted_unique(&types, t);
                pod_bad = true;
            }
            if (json_string_length(json_object_get(po, "user"))) {
                user = true;
                pod_bad = true;
            }
            if (json_string_length(json_object_get(po, "role"))) {
                role = true;
                pod_bad = true;
            }
            continue;
        }
        FOR_CONTAINERS(p, c)
        {
            json_t *o = json_object_get(csc(c), "seLinuxOptions");
            if (!o)
                continue;
            bool bad = false;
            const char *t = json_string_value(json_object_get(o, "type"));
            if (t && !in_set(selinux_types, t)) {
                names_add_sorted_unique(&types, t);
                bad = true;
            }
            if (json_string_length(json_object_get(o, "user")))
                user = bad = true;
            if (json_string_length(json_object_get(o, "role")))
                role = bad = true;
            if (bad)
                names_add(&badc, cname(c));
        }
    }
    if (!pod_bad && !badc.n)
        return true;
    r->reason = "seLinuxOptions";
    struct sb b = {r->detail, sizeof(r->detail), 0};
    if (pod_bad)
        sb_add(&b, "pod");
    if (badc.n) {
        sb_add(&b, "%s%s ", pod_bad ? " and " : "", plural("container", "containers", badc.n));
        join_quote(&b, &badc);
    }
    sb_add(&b, " set forbidden securityContext.seLinuxOptions: ");
    bool first = true;
    if (types.n) {
        sb_add(&b, "%s ", plural("type", "types", types.n));
        join_quote(&b, &types);
        first = false;
    }
    if (user) {
        sb_add(&b, "%suser may not be set", first ? "" : "; ");
        first = false;
    }
    if (role)
        sb_add(&b, "%srole may not be set", first ? "" : "; ");
    return false;
}

static bool valid_seccomp(const char *t)
{
    return t && (strcmp(t, "RuntimeDefault") == 0 || strcmp(t, "Localhost") == 0);
}

static bool chk_seccomp_baseline(const struct psa_pod *p, struct result *r)
{
    struct names badc = {0}, vals = {0};
    const char *pt =
        json_string_value(json_object_get(json_object_get(p->psc, "seccompProfile"), "type"));
    bool pod_bad = pt && strcmp(pt, "Unconfined") == 0;
    if (pod_bad)
        names_add_sorted_unique(&vals, pt);
    json_t *c;
    FOR_CONTAINERS(p, c)
    {
        const char *t =
            json_string_value(json_object_get(json_object_get(csc(c), "seccompProfile"), "type"));
        if (t && strcmp(t, "Unconfined") == 0) {
            names_add(&badc, cname(c));
            names_add_sorted_unique(&vals, t);
        }
    }
    if (!pod_bad && !badc.n)
        return true;
    r->reason = "seccompProfile";
    struct sb b = {r->detail, sizeof(r->detail), 0};
    if (pod_bad)
        sb_add(&b, "pod");
    if (badc.n) {
        sb_add(&b, "%s%s ", pod_bad ? " and " : "", plural("container", "containers", badc.n));
        join_quote(&b, &badc);
    }
    sb_add(&b, " must not set securityContext.seccompProfile.type to ");
    join_quote(&b, &vals);
    return false;
}

static const char *const safe_sysctls[] = {"kernel.shm_rmid_forced",
                                           "net.ipv4.ip_local_port_range",
                                           "net.ipv4.tcp_syncookies",
                                           "net.ipv4.ping_group_range",
                                           "net.ipv4.ip_unprivileged_port_start",
                                           "net.ipv4.ip_local_reserved_ports",
                                           "net.ipv4.tcp_keepalive_time",
                                           "net.ipv4.tcp_fin_timeout",
                                           "net.ipv4.tcp_keepalive_intvl",
                                           "net.ipv4.tcp_keepalive_probes",
                                           "net.ipv4.tcp_rmem",
                                           "net.ipv4.tcp_wmem",
                                           NULL};

static bool chk_sysctls(const struct psa_pod *p, struct result *r)
{
    struct sb b = {r->detail, sizeof(r->detail), 0};
    json_t *s = json_object_get(p->psc, "sysctls");
    for (size_t i = 0; i < json_array_size(s); i++) {
        const char *n = json_string_value(json_object_get(json_array_get(s, i), "name"));
        if (n && !in_set(safe_sysctls, n))
            sb_add(&b, "%s%s", b.len ? ", " : "", n);
    }
    r->reason = "forbidden sysctls";
    return b.len == 0;
}

static bool chk_host_process(const struct psa_pod *p, struct result *r)
{
    struct names badc = {0};
    bool pod_bad =
        json_is_true(json_object_get(json_object_get(p->psc, "windowsOptions"), "hostProcess"));
    json_t *c;
    FOR_CONTAINERS(p, c)
    if (json_is_true(json_object_get(json_object_get(csc(c), "windowsOptions"), "hostProcess")))
        names_add(&badc, cname(c));
    if (!pod_bad && !badc.n)
        return true;
    r->reason = "hostProcess";
    struct sb b = {r->detail, sizeof(r->detail), 0};
    if (pod_bad)
        sb_add(&b, "pod");
    if (badc.n) {
        sb_add(&b, "%s%s ", pod_bad ? " and " : "", plural("container", "containers", badc.n));
        join_quote(&b, &badc);
    }
    sb_add(&b, " must not set securityContext.windowsOptions.hostProcess=true");
    return false;
}

/* ---- restricted checks ---------------------------------------------------------------- */

static bool chk_allow_priv_esc(const struct psa_pod *p, struct result *r)
{
    if (p->windows)
        return true;
    struct names bad = {0};
    json_t *c;
    FOR_CONTAINERS(p, c)
    if (!json_is_false(json_object_get(csc(c), "allowPrivilegeEscalation")))
        names_add(&bad, cname(c));
    if (!bad.n)
        return true;
    r->reason = "allowPrivilegeEscalation != false";
    containers_detail(r, &bad, " must set securityContext.allowPrivilegeEscalation=false");
    return false;
}

static bool chk_capabilities_restricted(const struct psa_pod *p, struct result *r)
{
    if (p->windows)
        return true;
    struct names nodrop = {0}, adding = {0}, caps = {0};
    json_t *c;
    FOR_CONTAINERS(p, c)
    {
        json_t *cap = json_object_get(csc(c), "capabilities");
        if (!cap) {
            names_add(&nodrop, cname(c));
            continue;
        }
        bool all = false, forb = false;
        json_t *drop = json_object_get(cap, "drop"), *add = json_object_get(cap, "add");
        for (size_t i = 0; i < json_array_size(drop); i++)
            if (json_string_value(json_array_get(drop, i)) &&
                strcmp(json_string_value(json_array_get(drop, i)), "ALL") == 0)
                all = true;
        if (!all)
            names_add(&nodrop, cname(c));
        for (size_t i = 0; i < json_array_size(add); i++) {
            const char *a = json_string_value(json_array_get(add, i));
            if (a && strcmp(a, "NET_BIND_SERVICE") != 0) {
                forb = true;
                names_add_sorted_unique(&caps, a);
            }
        }
        if (forb)
            names_add(&adding, cname(c));
    }
    if (!nodrop.n && !adding.n)
        return true;
    r->reason = "unrestricted capabilities";
    struct sb b = {r->detail, sizeof(r->detail), 0};
    if (nodrop.n) {
        sb_add(&b, "%s ", plural("container", "containers", nodrop.n));
        join_quote(&b, &nodrop);
        sb_add(&b, " must set securityContext.capabilities.drop=[\"ALL\"]");
    }
    if (adding.n) {
        sb_add(&b, "%s%s ", nodrop.n ? "; " : "", plural("container", "containers", adding.n));
        join_quote(&b, &adding);
        sb_add(&b, " must not include ");
        join_quote(&b, &caps);
        sb_add(&b, " in securityContext.capabilities.add");
    }
    return false;
}

static const char *volume_type(json_t *v)
{
    static const char *const ok[] = {"configMap", "csi",   "downwardAPI",           "emptyDir",
                                     "ephemeral", "image", "persistentVolumeClaim", "projected",
                                     "secret",    NULL};
    static const char *const bad[] = {"hostPath",
                                      "gcePersistentDisk",
                                      "awsElasticBlockStore",
                                      "gitRepo",
                                      "nfs",
                                      "iscsi",
                                      "glusterfs",
                                      "rbd",
                                      "flexVolume",
                                      "cinder",
                                      "cephfs",
                                      "flocker",
                                      "fc",
                                      "azureFile",
                                      "vsphereVolume",
                                      "quobyte",
                                      "azureDisk",
                                      "photonPersistentDisk",
                                      "portworxVolume",
                                      "scaleIO",
                                      "storageos",
                                      NULL};
    for (size_t i = 0; ok[i]; i++)
        if (json_object_get(v, ok[i]))
            return NULL;
    for (size_t i = 0; bad[i]; i++)
        if (json_object_get(v, bad[i]))
            return bad[i];
    return "unknown";
}

static bool chk_restricted_volumes(const struct psa_pod *p, struct result *r)
{
    struct names bad = {0}, types = {0};
    json_t *vols = json_object_get(p->spec, "volumes");
    for (size_t i = 0; i < json_array_size(vols); i++) {
        json_t *v = json_array_get(vols, i);
        const char *t = volume_type(v);
        if (!t)
            continue;
        names_add(&bad, json_string_value(json_object_get(v, "name")));
        names_add_sorted_unique(&types, t);
    }
    if (!bad.n)
        return true;
    r->reason = "restricted volume types";
    struct sb b = {r->detail, sizeof(r->detail), 0};
    sb_add(&b, "%s ", plural("volume", "volumes", bad.n));
    join_quote(&b, &bad);
    sb_add(&b, " %s %s ", plural("uses", "use", bad.n),
           plural("restricted volume type", "restricted volume types", types.n));
    join_quote(&b, &types);
    return false;
}

static bool chk_run_as_non_root(const struct psa_pod *p, struct result *r)
{
    json_t *pv = json_object_get(p->psc, "runAsNonRoot");
    bool pod_bad = json_is_false(pv), pod_ok = json_is_true(pv);
    struct names explicit_bad = {0}, implicit_bad = {0};
    json_t *c;
    FOR_CONTAINERS(p, c)
    {
        json_t *v = json_object_get(csc(c), "runAsNonRoot");
        if (json_is_boolean(v)) {
            if (json_is_false(v))
                names_add(&explicit_bad, cname(c));
        } else if (!pod_ok) {
            names_add(&implicit_bad, cname(c));
        }
    }
    r->reason = "runAsNonRoot != true";
    struct sb b = {r->detail, sizeof(r->detail), 0};
    if (pod_bad || explicit_bad.n) {
        if (pod_bad)
            sb_add(&b, "pod");
        if (explicit_bad.n) {
            sb_add(&b, "%s%s ", pod_bad ? " and " : "",
                   plural("container", "containers", explicit_bad.n));
            join_quote(&b, &explicit_bad);
        }
        sb_add(&b, " must not set securityContext.runAsNonRoot=false");
        return false;
    }
    if (implicit_bad.n) {
        sb_add(&b, "pod or %s ", plural("container", "containers", implicit_bad.n));
        join_quote(&b, &implicit_bad);
        sb_add(&b, " must set securityContext.runAsNonRoot=true");
        return false;
    }
    return true;
}

static bool chk_run_as_user(const struct psa_pod *p, struct result *r)
{
    json_t *pu = json_object_get(p->psc, "runAsUser");
    bool pod_bad = json_is_integer(pu) && json_integer_value(pu) == 0;
    struct names bad = {0};
    json_t *c;
    FOR_CONTAINERS(p, c)
    {
        json_t *u = json_object_get(csc(c), "runAsUser");
        if (json_is_integer(u) && json_integer_value(u) == 0)
            names_add(&bad, cname(c));
    }
    if (!pod_bad && !bad.n)
        return true;
    r->reason = "runAsUser=0";
    struct sb b = {r->detail, sizeof(r->detail), 0};
    if (pod_bad)
        sb_add(&b, "pod");
    if (bad.n) {
        sb_add(&b, "%s%s ", pod_bad ? " and " : "", plural("container", "containers", bad.n));
        join_quote(&b, &bad);
    }
    sb_add(&b, " must not set runAsUser=0");
    return false;
}

static bool chk_seccomp_restricted(const struct psa_pod *p, struct result *r)
{
    if (p->windows)
        return true;
    struct names badc = {0}, implicit = {0}, vals = {0};
    json_t *ps = json_object_get(p->psc, "seccompProfile");
    bool pod_set = false, pod_bad = false;
    if (ps) {
        const char *t = json_string_value(json_object_get(ps, "type"));
        if (!valid_seccomp(t)) {
            pod_bad = true;
            names_add_sorted_unique(&vals, t ? t : "");
        } else {
            pod_set = true;
        }
    }
    json_t *c;
    FOR_CONTAINERS(p, c)
    {
        json_t *cs = json_object_get(csc(c), "seccompProfile");
        if (cs) {
            const char *t = json_string_value(json_object_get(cs, "type"));
            if (!valid_seccomp(t)) {
                names_add(&badc, cname(c));
                names_add_sorted_unique(&vals, t ? t : "");
            }
        } else if (!pod_set) {
            names_add(&implicit, cname(c));
        }
    }
    r->reason = "seccompProfile";
    struct sb b = {r->detail, sizeof(r->detail), 0};
    if (pod_bad || badc.n) {
        if (pod_bad)
            sb_add(&b, "pod");
        if (badc.n) {
            sb_add(&b, "%s%s ", pod_bad ? " and " : "", plural("container", "containers", badc.n));
            join_quote(&b, &badc);
        }
        sb_add(&b, " must not set securityContext.seccompProfile.type to ");
        join_quote(&b, &vals);
        return false;
    }
    if (implicit.n) {
        sb_add(&b, "pod or %s ", plural("container", "containers", implicit.n));
        join_quote(&b, &implicit);
        sb_add(&b, " must set securityContext.seccompProfile.type to \"RuntimeDefault\" or "
                   "\"Localhost\"");
        return false;
    }
    return true;
}

/* ---- the registry --------------------------------------------------------------------- */

/* Upstream's file order; `overlap`: a baseline check the restricted level replaces. */
static const struct {
    check_fn fn;
    bool restricted, overlap;
} checks[] = {
    {chk_capabilities_baseline, false, true},
    {chk_host_namespaces, false, false},
    {chk_host_path, false, true},
    {chk_host_ports, false, false},
    {chk_privileged, false, false},
    {chk_proc_mount, false, false},
    {chk_selinux, false, false},
    {chk_seccomp_baseline, false, true},
    {chk_sysctls, false, false},
    {chk_host_process, false, false},
    {chk_allow_priv_esc, true, false},
    {chk_capabilities_restricted, true, false},
    {chk_restricted_volumes, true, false},
    {chk_run_as_non_root, true, false},
    {chk_run_as_user, true, false},
    {chk_seccomp_restricted, true, false},
};

static bool evaluate(const char *level, json_t *pod_meta, json_t *spec, char *out, size_t n,
                     bool details);

bool adm_psa_evaluate(const char *level, json_t *pod_meta, json_t *spec, char *out, size_t n)
{
    return evaluate(level, pod_meta, spec, out, n, true);
}

static bool evaluate(const char *level, json_t *pod_meta, json_t *spec, char *out, size_t n,
                     bool details)
{
    if (n)
        out[0] = '\0';
    if (!level || strcmp(level, "privileged") == 0 || !json_is_object(spec))
        return true;
    bool restricted = strcmp(level, "restricted") == 0;
    struct psa_pod p = {.meta = pod_meta, .spec = spec};
    p.psc = json_object_get(spec, "securityContext");
    p.cs[0] = json_object_get(spec, "initContainers");
    p.cs[1] = json_object_get(spec, "containers");
    p.cs[2] = json_object_get(spec, "ephemeralContainers");
    const char *os = json_string_value(json_object_get(json_object_get(spec, "os"), "name"));
    p.windows = os && strcmp(os, "windows") == 0;
    struct sb b = {out, n, 0};
    bool allowed = true;
    /* baseline checks first (restricted drops the overlapping ones), then restricted */
    for (int phase = 0; phase < 2; phase++) {
        for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
            if (checks[i].restricted != (phase == 1))
                continue;
            if (phase == 1 && !restricted)
                break;
            if (restricted && checks[i].overlap)
                continue;
            struct result r = {0};
            if (checks[i].fn(&p, &r))
                continue;
            allowed = false;
            sb_add(&b, "%s%s", b.len ? ", " : "", r.reason);
            if (details && r.detail[0])
                sb_add(&b, " (%s)", r.detail);
        }
    }
    return allowed;
}

/* ---- the plugin ------------------------------------------------------------------------ */

static const char *label(json_t *ns, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(ns, "metadata"), "labels"), key));
}

static bool valid_level(const char *l)
{
    return l && (!strcmp(l, "privileged") || !strcmp(l, "baseline") || !strcmp(l, "restricted"));
}

/* "restricted:latest" for the mode's labels (enforce, warn). NULL when none. */
static const char *level_of(json_t *ns, const char *mode, char *lv, size_t n)
{
    char k[96];
    snprintf(k, sizeof(k), "pod-security.kubernetes.io/%s", mode);
    const char *l = label(ns, k);
    if (!l)
        return NULL;
    if (!valid_level(l))
        l = "restricted"; /* upstream: an invalid level evaluates as restricted */
    snprintf(k, sizeof(k), "pod-security.kubernetes.io/%s-version", mode);
    const char *v = label(ns, k);
    snprintf(lv, n, "%s:%s", l, v && *v ? v : "latest");
    return l;
}

/* The pod template of a workload resource, if any (warnings only, as upstream). */
static json_t *template_spec(const struct adm_attrs *a, json_t **meta)
{
    const char *p = a->res->plural;
    json_t *spec = json_object_get(a->obj, "spec");
    if (!strcmp(p, "cronjobs"))
        spec = json_object_get(json_object_get(spec, "jobTemplate"), "spec");
    else if (strcmp(p, "deployments") && strcmp(p, "replicasets") && strcmp(p, "statefulsets") &&
             strcmp(p, "daemonsets") && strcmp(p, "jobs") && strcmp(p, "replicationcontrollers") &&
             strcmp(p, "podtemplates"))
        return NULL;
    json_t *t = !strcmp(p, "podtemplates") ? json_object_get(a->obj, "template")
                                           : json_object_get(spec, "template");
    *meta = json_object_get(t, "metadata");
    return json_object_get(t, "spec");
}

static bool spec_changed(const struct adm_attrs *a)
{
    json_t *o = json_object_get(a->old, "spec"), *n = json_object_get(a->obj, "spec");
    return !json_equal(o, n);
}

/* A namespace's new enforce level: upstream warns about the pods already there that violate
 * it ("existing pods in namespace ... violate ...", then "<pod>: <reasons>" per group of pods
 * failing for the same reasons). */
static void warn_existing(struct adm_attrs *a)
{
    char lv[96], old_lv[96];
    const char *level = level_of(a->obj, "enforce", lv, sizeof(lv));
    if (!level || !strcmp(level, "privileged"))
        return;
    if (a->old && level_of(a->old, "enforce", old_lv, sizeof(old_lv)) && !strcmp(lv, old_lv))
        return;
    const char *ns =
        json_string_value(json_object_get(json_object_get(a->obj, "metadata"), "name"));
    if (!ns || a->op != ADM_UPDATE)
        return; /* a new namespace has no pods */
    json_t *pods = adm_list(a, "", "v1", "pods", ns);
    json_t *groups = json_object(); /* reasons -> [first pod, count] */
    json_t *order = json_array();
    for (size_t i = 0; i < json_array_size(pods); i++) {
        json_t *p = json_array_get(pods, i);
        char why[1024];
        if (evaluate(level, json_object_get(p, "metadata"), json_object_get(p, "spec"), why,
                     sizeof(why), false))
            continue;
        json_t *g = json_object_get(groups, why);
        if (g) {
            json_array_set_new(g, 1, json_integer(json_integer_value(json_array_get(g, 1)) + 1));
            continue;
        }
        const char *pn = json_string_value(json_object_get(json_object_get(p, "metadata"), "name"));
        json_object_set_new(groups, why, json_pack("[s,i]", pn ? pn : "", 1));
        json_array_append_new(order, json_string(why));
    }
    if (json_array_size(order))
        adm_warn(a,
                 "existing pods in namespace \"%s\" violate the new PodSecurity enforce level "
                 "\"%s\"",
                 ns, lv);
    for (size_t i = 0; i < json_array_size(order); i++) {
        const char *why = json_string_value(json_array_get(order, i));
        json_t *g = json_object_get(groups, why);
        json_int_t cnt = json_integer_value(json_array_get(g, 1));
        const char *pn = json_string_value(json_array_get(g, 0));
        if (cnt > 1)
            adm_warn(a, "%s (and %lld other %s): %s", pn, (long long)(cnt - 1),
                     cnt == 2 ? "pod" : "pods", why);
        else
            adm_warn(a, "%s: %s", pn, why);
    }
    json_decref(order);
    json_decref(groups);
    json_decref(pods);
}

static int psa_validate(struct adm_attrs *a, struct ck_err *err)
{
    if (!a->res->group[0] && !strcmp(a->res->plural, "namespaces") && a->obj &&
        (!a->sub || !*a->sub)) {
        if (a->op == ADM_UPDATE)
            warn_existing(a);
        return 0;
    }
    if (a->op != ADM_CREATE && a->op != ADM_UPDATE)
        return 0;
    if (!a->ns || !*a->ns || !a->obj)
        return 0;
    bool pod = !a->res->group[0] && !strcmp(a->res->plural, "pods");
    json_t *meta = NULL, *spec = NULL;
    if (pod) {
        if (a->sub && *a->sub && strcmp(a->sub, "ephemeralcontainers") != 0)
            return 0; /* status, binding, ...: not evaluated */
        if (a->op == ADM_UPDATE && !spec_changed(a))
            return 0;
        meta = json_object_get(a->obj, "metadata");
        spec = json_object_get(a->obj, "spec");
    } else {
        if (a->sub && *a->sub)
            return 0;
        spec = template_spec(a, &meta);
        if (!spec)
            return 0;
    }
    json_t *ns = adm_get(a, "", "v1", "namespaces", NULL, a->ns);
    if (!ns)
        return 0;
    char elv[96], wlv[96], detail[CK_ERR_MSG_MAX - 800];
    const char *enforce = pod ? level_of(ns, "enforce", elv, sizeof(elv)) : NULL;
    const char *warn = level_of(ns, "warn", wlv, sizeof(wlv));
    if (!pod && !warn) {
        /* workloads: upstream warns for the enforce level too */
        warn = level_of(ns, "enforce", wlv, sizeof(wlv));
    }
    int rc = 0;
    if (enforce && !adm_psa_evaluate(enforce, meta, spec, detail, sizeof(detail))) {
        rc = adm_forbidden(err, a, "violates PodSecurity \"%s\": %s", elv, detail);
    } else if (warn && !adm_psa_evaluate(warn, meta, spec, detail, sizeof(detail))) {
        adm_warn(a, "would violate PodSecurity \"%s\": %s", wlv, detail);
    }
    json_decref(ns);
    return rc;
}

const struct adm_plugin adm_pod_security = {
    .name = "PodSecurity", .default_on = true, .validate = psa_validate};

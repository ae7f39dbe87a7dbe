/* SPDX-License-Identifier: Apache-2.0 */
/* config.json generation (see oci_spec.h) and image user resolution. */
#include "runtime/oci_spec.h"
#include "lib/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* containerd's default capability set (oci/spec.go defaultUnixCaps). */
static const char *const default_caps[] = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",      "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",           "CAP_SETFCAP",     "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",     "CAP_AUDIT_WRITE", NULL,
};

static const char *const all_caps[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
    "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", NULL,
};

/* containerd's defaults for non-privileged containers. */
static const char *const masked_paths[] = {
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    "/sys/devices/virtual/powercap", NULL,
};
static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static json_t *str_array(const char *const *v)
{
    json_t *a = json_array();
    for (; v && *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

static json_t *mount_obj(const char *dst, const char *type, const char *src, const char *opts)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "destination", dst, "type", type, "source", src);
    json_t *a = json_array();
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", opts);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(a, json_string(t));
    json_object_set_new(o, "options", a);
    return o;
}

static json_t *build_mounts(const struct rt_oci_input *in)
{
    json_t *m = json_array();
    json_array_append_new(m, mount_obj("/proc", "proc", "proc", "nosuid,noexec,nodev"));
    json_array_append_new(m, mount_obj("/dev", "tmpfs", "tmpfs",
                                       "nosuid,strictatime,mode=755,size=65536k"));
    json_array_append_new(m, mount_obj("/dev/pts", "devpts", "devpts",
                                       "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"));
    json_array_append_new(m, mount_obj("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
    json_array_append_new(m, mount_obj("/sys", "sysfs", "sysfs",
                                       in->privileged ? "nosuid,noexec,nodev,rw"
                                                      : "nosuid,noexec,nodev,ro"));
    json_array_append_new(m, mount_obj("/sys/fs/cgroup", "cgroup", "cgroup",
                                       in->privileged ? "nosuid,noexec,nodev,relatime,rw"
                                                      : "nosuid,noexec,nodev,relatime,ro"));
    if (in->shm_path)
        json_array_append_new(m, mount_obj("/dev/shm", "bind", in->shm_path,
                                           "rbind,rprivate,nosuid,noexec,nodev,rw"));
    else
        json_array_append_new(m, mount_obj("/dev/shm", "tmpfs", "shm",
                                           "nosuid,noexec,nodev,mode=1777,size=65536k"));
    if (in->hosts_file)
        json_array_append_new(m, mount_obj("/etc/hosts", "bind", in->hosts_file, "rbind,rprivate,rw"));
    if (in->resolv_file)
        json_array_append_new(m, mount_obj("/etc/resolv.conf", "bind", in->resolv_file,
                                           "rbind,rprivate,rw"));
    if (in->hostname_file)
        json_array_append_new(m, mount_obj("/etc/hostname", "bind", in->hostname_file,
                                           "rbind,rprivate,rw"));
    for (size_t i = 0; i < in->nmounts; i++)
        json_array_append_new(m, mount_obj(in->mounts[i].container_path, "bind",
                                           in->mounts[i].host_path,
                                           in->mounts[i].readonly ? "rbind,rprivate,ro"
                                                                  : "rbind,rprivate,rw"));
    return m;
}

static json_t *build_resources(const struct rt_resources *r)
{
    json_t *res = json_object();
    json_object_set_new(res, "devices", json_pack("[{s:b, s:s}]", "allow", 0, "access", "rwm"));
    if (!r)
        return res;
    if (r->memory_limit > 0)
        json_object_set_new(res, "memory", json_pack("{s:I, s:I}", "limit",
                                                     (json_int_t)r->memory_limit, "swap",
                                                     (json_int_t)r->memory_limit));
    if (r->cpu_shares > 0 || r->cpu_quota > 0) {
        json_t *cpu = json_object();
        if (r->cpu_shares > 0)
            json_object_set_new(cpu, "shares", json_integer(r->cpu_shares));
        if (r->cpu_quota > 0) {
            json_object_set_new(cpu, "quota", json_integer(r->cpu_quota));
            json_object_set_new(cpu, "period",
                                json_integer(r->cpu_period > 0 ? r->cpu_period : 100000));
        }
        json_object_set_new(res, "cpu", cpu);
    }
    if (r->pids_limit > 0)
        json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)r->pids_limit));
    return res;
}

static json_t *build_process(const struct rt_oci_input *in)
{
    const char *const *caps = in->privileged ? all_caps : default_caps;
    json_t *c = json_pack("{s:o, s:o, s:o}", "bounding", str_array(caps), "effective",
                          str_array(caps), "permitted", str_array(caps));
    json_t *p = json_pack("{s:b, s:{s:I, s:I}, s:o, s:o, s:s, s:o, s:b}", "terminal",
                          in->terminal, "user", "uid", (json_int_t)in->uid, "gid",
                          (json_int_t)in->gid, "args", str_array(in->argv), "env",
                          str_array(in->env), "cwd", in->cwd && *in->cwd ? in->cwd : "/",
                          "capabilities", c, "noNewPrivileges", 0);
    return p;
}

json_t *rt_oci_spec(const struct rt_oci_input *in)
{
    json_t *ipc = json_pack("{s:s}", "type", "ipc");
    if (in->ipc_ns_path)
        json_object_set_new(ipc, "path", json_string(in->ipc_ns_path));
    json_t *ns = json_pack("[{s:s}, o, {s:s}]", "type", "pid", ipc, "type", "mount");
    if (!in->host_network) {
        json_array_insert_new(ns, 2, json_pack("{s:s}", "type", "uts"));
        json_t *net = json_pack("{s:s}", "type", "network");
        if (in->netns_path)
            json_object_set_new(net, "path", json_string(in->netns_path));
        json_array_append_new(ns, net);
    }
    json_t *lnx = json_pack("{s:o, s:o}", "namespaces", ns, "resources",
                              build_resources(in->res));
    if (in->cgroups_path)
        json_object_set_new(lnx, "cgroupsPath", json_string(in->cgroups_path));
    if (!in->privileged) {
        json_object_set_new(lnx, "maskedPaths", str_array(masked_paths));
        json_object_set_new(lnx, "readonlyPaths", str_array(readonly_paths));
    }
    json_t *spec = json_pack("{s:s, s:o, s:{s:s, s:b}, s:o, s:o}", "ociVersion", "1.0.2",
                             "process", build_process(in), "root", "path", in->rootfs, "readonly",
                             0, "mounts", build_mounts(in), "linux", lnx);
    if (!in->host_network) /* a hostname needs its own UTS namespace */
        json_object_set_new(spec, "hostname", json_string(in->hostname ? in->hostname : ""));
    return spec;
}

/* ---- user resolution ---------------------------------------------------------------- */

static int all_digits(const char *s)
{
    if (!*s || strlen(s) > 9)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* Looks up name (field 0) in an /etc/passwd-style file of the topmost layer having it;
 * returns 0 with fields 2 and 3. */
static int lookup(char *const *layers, size_t n, const char *file, const char *name,
                  uint32_t *f2, uint32_t *f3)
{
    for (size_t i = n; i-- > 0;) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", layers[i], file);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        char line[1024];
        int found = 0;
        while (!found && fgets(line, sizeof(line), f)) {
            char *save = NULL;
            char *nm = strtok_r(line, ":", &save);
            strtok_r(NULL, ":", &save);
            char *a = strtok_r(NULL, ":", &save), *b = strtok_r(NULL, ":\n", &save);
            if (nm && a && !strcmp(nm, name)) {
                *f2 = (uint32_t)strtoul(a, NULL, 10);
                *f3 = b ? (uint32_t)strtoul(b, NULL, 10) : 0;
                found = 1;
            }
        }
        fclose(f);
        return found ? 0 : -1;
    }
    return -1;
}

int rt_resolve_user(const char *user, char *const *layers, size_t nlayers, uint32_t *uid,
                    uint32_t *gid, struct ck_err *err)
{
    *uid = 0;
    *gid = 0;
    if (!user || !*user)
        return 0;
    char u[256];
    snprintf(u, sizeof(u), "%s", user);
    char *g = strchr(u, ':');
    if (g)
        *g++ = 0;
    uint32_t pgid = 0, dummy;
    if (all_digits(u)) {
        *uid = (uint32_t)strtoul(u, NULL, 10);
    } else if (lookup(layers, nlayers, "etc/passwd", u, uid, &pgid) < 0) {
        return ck_err_set(err, CK_R_INVALID, "unable to find user %s: no matching entries in passwd file", u);
    }
    *gid = pgid;
    if (g && *g) {
        if (all_digits(g))
            *gid = (uint32_t)strtoul(g, NULL, 10);
        else if (lookup(layers, nlayers, "etc/group", g, gid, &dummy) < 0)
            return ck_err_set(err, CK_R_INVALID, "unable to find group %s", g);
    }
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* crun backend: pod sandboxes. "Pause-less": a sandbox is a network namespace bind-mounted
 * at <netns_dir>/ckube-<id> (set up by CNI: loopback + the conflist), per-pod
 * hosts/resolv.conf/hostname files and sandbox.json. Creation is all-or-nothing: any
 * failure undoes the CNI ADD, the netns and the directory. */
#include "runtime/crun_int.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/banned.h"

static char *netns_path(struct rt_crun *c, const char *id)
{
    return ck_asprintf("%s/ckube-%.24s", c->netns_dir, id);
}

/* Creates a new namespace of type flag bound at path (a child unshares and bind-mounts
 * /proc/self/ns/<nsname> onto it). */
static int ns_create(const char *path, int flag, const char *nsname, struct ck_err *err)
{
    int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0)
        return ck_err_sys(err, errno, "create %s", path);
    close(fd);
    pid_t pid = fork();
    if (pid < 0) {
        unlink(path);
        return ck_err_sys(err, errno, "fork");
    }
    if (pid == 0) {
        char src[64];
        snprintf(src, sizeof(src), "/proc/self/ns/%s", nsname);
        if (unshare(flag) < 0)
            _exit(10);
        if (mount(src, path, "none", MS_BIND, NULL) < 0)
            _exit(11);
        _exit(0);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        unlink(path);
        return ck_err_set(err, CK_R_INTERNAL, "create %s namespace %s: %s", nsname, path,
                          WIFEXITED(st) && WEXITSTATUS(st) == 10 ? "unshare failed"
                                                                  : "bind mount failed");
    }
    return 0;
}

static int netns_create(const char *path, struct ck_err *err)
{
    return ns_create(path, CLONE_NEWNET, "net", err);
}

/* The pod-wide IPC namespace (<dir>/ipcns) and /dev/shm tmpfs (<dir>/shm) that all its
 * containers join, as Kubernetes pods share IPC. Undone by pod_ipc_teardown. */
static int pod_ipc_setup(const char *dir, struct ck_err *err)
{
    ck_autofree char *ipc = ck_asprintf("%s/ipcns", dir);
    ck_autofree char *shm = ck_asprintf("%s/shm", dir);
    if (ns_create(ipc, CLONE_NEWIPC, "ipc", err) < 0)
        return -1;
    if (mkdir(shm, 01777) < 0 && errno != EEXIST)
        return ck_err_sys(err, errno, "mkdir %s", shm);
    if (mount("shm", shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k") < 0)
        return ck_err_sys(err, errno, "mount pod shm %s", shm);
    return 0;
}

static void pod_ipc_teardown(const char *dir)
{
    ck_autofree char *ipc = ck_asprintf("%s/ipcns", dir);
    ck_autofree char *shm = ck_asprintf("%s/shm", dir);
    umount2(shm, MNT_DETACH);
    umount2(ipc, MNT_DETACH);
    rmdir(shm);
    unlink(ipc);
}

static void netns_remove(const char *path)
{
    if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        ck_warn("umount %s: %s", path, strerror(errno));
    unlink(path);
}

static struct cni_ctx cni_ctx_of(struct rt_crun *c, char *cache, size_t n)
{
    snprintf(cache, n, "%s/cni-cache", c->root);
    struct cni_ctx x = {.plugin_dirs = c->plugin_dir, .cache_dir = cache, .timeout_ms = 60000};
    return x;
}

static int write_pod_files(const char *dir, const struct rt_sandbox_config *cfg,
                           const char *hostname, const char *ip, struct ck_err *err)
{
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    ck_buf_appendf(&b, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                       "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\n");
    if (ip && *ip)
        ck_buf_appendf(&b, "%s\t%s\n", ip, hostname);
    char p[4096];
    snprintf(p, sizeof(p), "%s/hosts", dir);
    int rc = rt_write_file(p, b.data, b.len, err);
    ck_buf_reset(&b);
    if (rc == 0 && cfg->dns_servers) {
        for (const char *const *s = cfg->dns_servers; *s; s++)
            ck_buf_appendf(&b, "nameserver %s\n", *s);
        if (cfg->dns_searches && cfg->dns_searches[0]) {
            ck_buf_appends(&b, "search");
            for (const char *const *s = cfg->dns_searches; *s; s++)
                ck_buf_appendf(&b, " %s", *s);
            ck_buf_appendc(&b, '\n');
        }
        if (cfg->dns_options && cfg->dns_options[0]) {
            ck_buf_appends(&b, "options");
            for (const char *const *s = cfg->dns_options; *s; s++)
                ck_buf_appendf(&b, " %s", *s);
            ck_buf_appendc(&b, '\n');
        }
    } else if (rc == 0) {
        FILE *f = fopen("/etc/resolv.conf", "re");
        char tmp[4096];
        size_t k;
        while (f && (k = fread(tmp, 1, sizeof(tmp), f)) > 0)
            ck_buf_append(&b, tmp, k);
        if (f)
            fclose(f);
    }
    snprintf(p, sizeof(p), "%s/resolv.conf", dir);
    if (rc == 0)
        rc = rt_write_file(p, b.data ? b.data : "", b.len, err);
    ck_buf_reset(&b);
    ck_buf_appendf(&b, "%s\n", hostname);
    snprintf(p, sizeof(p), "%s/hostname", dir);
    if (rc == 0)
        rc = rt_write_file(p, b.data, b.len, err);
    ck_buf_release(&b);
    return rc;
}

static json_t *sandbox_doc(const char *id, const struct rt_sandbox_config *cfg,
                           const char *hostname, const char *cgparent, const char *ns)
{
    json_t *ports = json_array();
    for (size_t i = 0; i < cfg->nports; i++)
        json_array_append_new(ports, json_pack("{s:s, s:i, s:i, s:s}", "protocol",
                                               cfg->ports[i].protocol ? cfg->ports[i].protocol
                                                                      : "tcp",
                                               "container_port", cfg->ports[i].container_port,
                                               "host_port", cfg->ports[i].host_port, "host_ip",
                                               cfg->ports[i].host_ip ? cfg->ports[i].host_ip : ""));
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:I, s:s, s:s, s:o, s:o, s:o, s:s}",
                     "id", id, "name", cfg->name, "namespace",
                     cfg->namespace_ ? cfg->namespace_ : "default", "uid", cfg->uid, "attempt",
                     (int)cfg->attempt, "hostname", hostname, "cgroup_parent", cgparent, "netns",
                     ns, "created_ns", (json_int_t)ck_real_ns(), "state", "ready", "ip", "",
                     "labels", rt_kv_to_json(cfg->labels, cfg->nlabels), "annotations",
                     rt_kv_to_json(cfg->annotations, cfg->nannotations), "ports", ports,
                     "log_directory", cfg->log_directory ? cfg->log_directory : "");
}

static int sandbox_network_up(struct rt_crun *c, const char *id, const char *ns,
                              const struct rt_sandbox_config *cfg, char *ip, size_t ipn,
                              struct ck_err *err)
{
    char cache[4096];
    struct cni_ctx ctx = cni_ctx_of(c, cache, sizeof(cache));
    struct cni_port_mapping pm[64];
    size_t np = 0;
    for (size_t i = 0; i < cfg->nports && np < 64; i++)
        if (cfg->ports[i].host_port > 0)
            pm[np++] = (struct cni_port_mapping){cfg->ports[i].host_port,
                                                 cfg->ports[i].container_port,
                                                 cfg->ports[i].protocol, cfg->ports[i].host_ip};
    struct cni_attachment a = {.container_id = id, .netns = ns, .ifname = "eth0",
                               .pod_name = cfg->name, .pod_namespace = cfg->namespace_,
                               .pod_uid = cfg->uid, .ports = pm, .nports = np};
    if (cni_loopback(&ctx, id, ns, true, err) < 0)
        return -1;
    struct cni_result r;
    if (cni_add(&ctx, c->net, &a, &r, err) < 0)
        return -1;
    cni_result_first_ip(&r, 4, ip, ipn);
    if (!ip[0])
        cni_result_first_ip(&r, 0, ip, ipn);
    return 0;
}

static int sandbox_network_down(struct rt_crun *c, const char *id, const char *ns,
                                struct ck_err *err)
{
    char cache[4096];
    struct cni_ctx ctx = cni_ctx_of(c, cache, sizeof(cache));
    struct cni_attachment a = {.container_id = id, .netns = ns, .ifname = "eth0"};
    return cni_del(&ctx, c->net, &a, err);
}

int rt_crun_run_pod_sandbox(struct runtime *rt, const struct rt_sandbox_config *cfg,
                            char id[RT_ID_MAX], struct ck_err *err)
{
    struct rt_crun *c = crun_of(rt);
    if (!cfg->name || !*cfg->name || !cfg->uid || !*cfg->uid || strchr(cfg->uid, '/'))
        return ck_err_set(err, CK_R_INVALID, "sandbox config: name and uid are required");
    rt_new_id(id);
    char hostbuf[256] = "";
    if (cfg->host_network)
        gethostname(hostbuf, sizeof(hostbuf) - 1);
    const char *hostname = cfg->host_network ? hostbuf
                           : cfg->hostname && *cfg->hostname ? cfg->hostname : cfg->name;
    ck_autofree char *cgparent = cfg->cgroup_parent && *cfg->cgroup_parent
                                     ? ck_strdup(cfg->cgroup_parent)
                                     : ck_asprintf("/kubepods/pod%s", cfg->uid);
    ck_autofree char *dir = rt_sandbox_dir(c, id);
    ck_autofree char *ns = netns_path(c, id);
    ck_autofree char *meta = ck_asprintf("%s/sandbox.json", dir);
    char ip[64] = "";
    if (rt_mkdirs(dir, 0700) < 0)
        return ck_err_sys(err, errno, "mkdir %s", dir);
    rt_mkdirs(c->netns_dir, 0755);
    json_t *doc = sandbox_doc(id, cfg, hostname, cgparent, cfg->host_network ? "" : ns);
    json_object_set_new(doc, "host_network", json_boolean(cfg->host_network));
    if (pod_ipc_setup(dir, err) < 0)
        goto fail_dir;
    json_object_set_new(doc, "ipcns", json_sprintf("%s/ipcns", dir));
    json_object_set_new(doc, "shm", json_sprintf("%s/shm", dir));
    if (cfg->host_network) { /* nothing to set up: the host's network */
        if (write_pod_files(dir, cfg, hostname, NULL, err) < 0 || rt_json_write(meta, doc, err) < 0)
            goto fail_dir;
        json_decref(doc);
        return 0;
    }
    if (netns_create(ns, err) < 0)
        goto fail_dir;
    if (sandbox_network_up(c, id, ns, cfg, ip, sizeof(ip), err) < 0)
        goto fail_ns;
    json_object_set_new(doc, "ip", json_string(ip));
    if (write_pod_files(dir, cfg, hostname, ip, err) < 0 || rt_json_write(meta, doc, err) < 0)
        goto fail_net;
    json_decref(doc);
    ck_v(1, "sandbox %s (%s/%s) ready, ip %s", id, cfg->namespace_ ? cfg->namespace_ : "",
            cfg->name, ip);
    return 0;
fail_net:;
    struct ck_err e2 = CK_ERR_INIT;
    sandbox_network_down(c, id, ns, &e2);
fail_ns:
    netns_remove(ns);
fail_dir:
    pod_ipc_teardown(dir);
    rt_rmtree(dir);
    json_decref(doc);
    return ck_err_wrap(err, "run pod sandbox %s", cfg->name);
}

json_t *rt_crun_sandbox_load(struct rt_crun *c, const char *id, struct ck_err *err)
{
    if (!rt_valid_id(id)) {
        ck_err_set(err, CK_R_NOT_FOUND, "pod sandbox %.80s not found", id);
        return NULL;
    }
    ck_autofree char *p = ck_asprintf("%s/sandboxes/%s/sandbox.json", c->root, id);
    json_t *j = rt_json_read(p, err);
    if (!j && err && err->reason == CK_R_NOT_FOUND)
        ck_err_set(err, CK_R_NOT_FOUND, "pod sandbox %s not found", id);
    return j;
}

int rt_crun_stop_pod_sandbox(struct runtime *rt, const char *id, struct ck_err *err)
{
    struct rt_crun *c = crun_of(rt);
    json_t *doc = rt_crun_sandbox_load(c, id, err);
    if (!doc)
        return -1;
    char **ids = NULL;
    size_t n = 0;
    rt_crun_container_ids(c, id, &ids, &n);
    for (size_t i = 0; i < n; i++) {
        struct ck_err e2 = CK_ERR_INIT;
        if (rt_crun_stop_container(rt, ids[i], 0, &e2) < 0)
            ck_warn("stop container %s: %s", ids[i], e2.msg);
    }
    rt_strv_free(ids);
    const char *ns = json_string_value(json_object_get(doc, "netns"));
    int rc = 0;
    if (ns && *ns) {
        if (sandbox_network_down(c, id, ns, err) < 0) {
            rc = -1;
        } else {
            netns_remove(ns);
            json_object_set_new(doc, "netns", json_string(""));
        }
    }
    json_object_set_new(doc, "state", json_string("notready"));
    ck_autofree char *meta = ck_asprintf("%s/sandboxes/%s/sandbox.json", c->root, id);
    if (rc == 0)
        rc = rt_json_write(meta, doc, err);
    json_decref(doc);
    return rc < 0 ? ck_err_wrap(err, "stop pod sandbox %s", id) : 0;
}

int rt_crun_remove_pod_sandbox(struct runtime *rt, const char *id, struct ck_err *err)
{
    struct rt_crun *c = crun_of(rt);
    json_t *doc = rt_crun_sandbox_load(c, id, err);
    if (!doc)
        return err && err->reason == CK_R_NOT_FOUND ? 0 : -1; /* idempotent */
    if (rt_crun_stop_pod_sandbox(rt, id, err) < 0) {
        json_decref(doc);
        return -1;
    }
    char **ids = NULL;
    size_t n = 0;
    rt_crun_container_ids(c, id, &ids, &n);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = rt_crun_remove_container(rt, ids[i], err);
    rt_strv_free(ids);
    if (rc == 0) {
        const char *cg = json_string_value(json_object_get(doc, "cgroup_parent"));
        if (cg && *cg) {
            rt_cgroup_rmdir_all(cg);
            rt_cgroup_rmdir_all("/kubepods"); /* only succeeds once empty */
        }
        ck_autofree char *dir = rt_sandbox_dir(c, id);
        pod_ipc_teardown(dir);
        if (rt_rmtree(dir) < 0)
            rc = ck_err_sys(err, errno, "remove %s", dir);
    }
    json_decref(doc);
    return rc;
}

static void fill_status(json_t *doc, struct rt_sandbox_status *st)
{
    memset(st, 0, sizeof(*st));
    snprintf(st->id, sizeof(st->id), "%s", json_string_value(json_object_get(doc, "id")));
    snprintf(st->name, sizeof(st->name), "%s", json_string_value(json_object_get(doc, "name")));
    snprintf(st->namespace_, sizeof(st->namespace_), "%s",
             json_string_value(json_object_get(doc, "namespace")));
    snprintf(st->uid, sizeof(st->uid), "%s", json_string_value(json_object_get(doc, "uid")));
    st->attempt = (unsigned)json_integer_value(json_object_get(doc, "attempt"));
    const char *state = json_string_value(json_object_get(doc, "state"));
    st->state = state && !strcmp(state, "ready") ? RT_SANDBOX_READY : RT_SANDBOX_NOTREADY;
    snprintf(st->ip, sizeof(st->ip), "%s", json_string_value(json_object_get(doc, "ip")));
    snprintf(st->netns, sizeof(st->netns), "%s",
             json_string_value(json_object_get(doc, "netns")));
    st->created_ns = json_integer_value(json_object_get(doc, "created_ns"));
    rt_kv_from_json(json_object_get(doc, "labels"), &st->labels, &st->nlabels);
    rt_kv_from_json(json_object_get(doc, "annotations"), &st->annotations, &st->nannotations);
}

int rt_crun_pod_sandbox_status(struct runtime *rt, const char *id, struct rt_sandbox_status *st,
                               struct ck_err *err)
{
    json_t *doc = rt_crun_sandbox_load(crun_of(rt), id, err);
    if (!doc)
        return -1;
    fill_status(doc, st);
    json_decref(doc);
    return 0;
}

/* Enters the netns on this thread only (setns affects the calling thread), connects, and
 * returns to the original namespace; the socket stays in the pod's namespace. */
static int connect_in_netns(const char *ns, int port, int *fd, struct ck_err *err)
{
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    int target = ns && *ns ? open(ns, O_RDONLY | O_CLOEXEC) : -1;
    if (self < 0 || (ns && *ns && target < 0)) {
        int e = errno;
        if (self >= 0)
            close(self);
        return ck_err_sys(err, e, "open network namespace %s", ns);
    }
    if (target >= 0 && setns(target, CLONE_NEWNET) < 0) {
        int e = errno;
        close(self);
        close(target);
        return ck_err_sys(err, e, "enter network namespace %s", ns);
    }
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int rc = 0;
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
        rc = ck_err_sys(err, errno, "connect to port %d in the pod", port);
        if (s >= 0)
            close(s);
    }
    if (target >= 0 && setns(self, CLONE_NEWNET) < 0)
        ck_fatal("cannot return to the original network namespace: %s", strerror(errno));
    close(self);
    if (target >= 0)
        close(target);
    if (rc == 0)
        *fd = s;
    return rc;
}

int rt_crun_port_forward(struct runtime *rt, const char *sandbox_id, int port, int *fd,
                         struct ck_err *err)
{
    if (port < 1 || port > 65535)
        return ck_err_set(err, CK_R_INVALID, "port %d out of range", port);
    json_t *doc = rt_crun_sandbox_load(crun_of(rt), sandbox_id, err);
    if (!doc)
        return -1;
    const char *ns = json_string_value(json_object_get(doc, "netns"));
    bool host = json_is_true(json_object_get(doc, "host_network"));
    int rc;
    if (!host && (!ns || !*ns))
        rc = ck_err_set(err, CK_R_CONFLICT, "pod sandbox %s has no network (stopped)", sandbox_id);
    else
        rc = connect_in_netns(host ? NULL : ns, port, fd, err);
    json_decref(doc);
    return rc;
}

int rt_crun_list_pod_sandboxes(struct runtime *rt, struct rt_sandbox_status **out, size_t *n,
                               struct ck_err *err)
{
    struct rt_crun *c = crun_of(rt);
    (void)err;
    *out = NULL;
    *n = 0;
    ck_autofree char *dir = ck_asprintf("%s/sandboxes", c->root);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!rt_valid_id(e->d_name))
            continue;
        struct ck_err e2 = CK_ERR_INIT;
        json_t *doc = rt_crun_sandbox_load(c, e->d_name, &e2);
        if (!doc)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *out = ck_realloc(*out, cap * sizeof(**out));
        }
        fill_status(doc, &(*out)[(*n)++]);
        json_decref(doc);
    }
    closedir(d);
    return 0;
}

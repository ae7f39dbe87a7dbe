/* SPDX-License-Identifier: Apache-2.0 */
/* crun backend: container lifecycle (create/start/stop/remove/status/list) and the backend
 * handle. A container is containers/<id>/ with container.json (our metadata), an OCI bundle
 * whose rootfs the shim mounts, and exit.json once the shim has reaped the init. */
#include "image/image.h"
#include "runtime/crun_int.h"
#include "runtime/oci_spec.h"
#include "cni/cni_proc.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

#define CRUN_TIMEOUT_MS 60000

int rt_crun_cmd(struct rt_crun *c, const char *const *args, int timeout_ms, struct ck_buf *out,
                struct ck_err *err)
{
    const char *argv[32];
    char rootopt[4200];
    snprintf(rootopt, sizeof(rootopt), "--root=%s/crun", c->root);
    size_t k = 0;
    argv[k++] = c->crun;
    argv[k++] = rootopt;
    for (size_t i = 0; args[i] && k < 31; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    struct ck_buf o = CK_BUF_INIT(1 << 20), e = CK_BUF_INIT(64 << 10);
    int st = 0;
    int rc = cni_spawn_capture(argv, NULL, NULL, 0, timeout_ms, out ? out : &o, &e, &st, err);
    if (rc == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        char sb[48];
        size_t n = e.len;
        while (n && (e.data[n - 1] == '\n'))
            n--;
        rc = ck_err_set(err, CK_R_INTERNAL, "crun %s: %.*s (%s)", args[0], (int)(n > 600 ? 600 : n),
                        e.data ? e.data : "", cni_status_str(st, sb, sizeof(sb)));
    }
    ck_buf_release(&o);
    ck_buf_release(&e);
    return rc;
}

/* ---- image resolution ---------------------------------------------------------------- */

struct rt_image {
    char id[512];
    char **layers; /* lowest first */
    size_t nlayers;
    struct img_config cfg;
};

static void rt_image_release(struct rt_image *im)
{
    rt_strv_free(im->layers);
    img_config_release(&im->cfg);
}

static int resolve_image(struct rt_crun *c, const char *ref, struct rt_image *im,
                         struct ck_err *err)
{
    memset(im, 0, sizeof(*im));
    if (!ref || !*ref)
        return ck_err_set(err, CK_R_INVALID, "container config: image is required");
    if (!strncmp(ref, "dir:", 4)) { /* a plain rootfs directory as the only layer */
        struct stat st;
        if (ref[4] != '/' || stat(ref + 4, &st) < 0 || !S_ISDIR(st.st_mode))
            return ck_err_set(err, CK_R_NOT_FOUND, "image %s: not an absolute directory", ref);
        snprintf(im->id, sizeof(im->id), "%s", ref);
        im->layers = ck_calloc(2, sizeof(char *));
        im->layers[0] = ck_strdup(ref + 4);
        im->nlayers = 1;
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    int orc = c->img ? 0 : img_store_open(c->image_root, &c->img, err);
    pthread_mutex_unlock(&c->mu);
    if (orc < 0)
        return ck_err_wrap(err, "open image store");
    char id[IMG_ID_MAX];
    if (img_resolve(c->img, ref, id, err) < 0)
        return ck_err_wrap(err, "image %s", ref);
    snprintf(im->id, sizeof(im->id), "%s", id);
    char **layers = NULL;
    size_t n = 0;
    if (img_get(c->img, id, &im->cfg, &layers, &n, err) < 0)
        return ck_err_wrap(err, "image %s", ref);
    im->layers = ck_calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        im->layers[i] = ck_strdup(layers[i]);
    im->nlayers = n;
    img_strv_free(layers);
    img_touch(c->img, id);
    if (n == 0) {
        rt_image_release(im);
        return ck_err_set(err, CK_R_CORRUPT, "image %s has no layers", ref);
    }
    return 0;
}

/* Kubernetes: command replaces Entrypoint (and drops Cmd); args replace Cmd. */
static char **merge_argv(const struct rt_image *im, const struct rt_container_config *cc)
{
    size_t cap = 8, n = 0;
    char **v = ck_calloc(cap, sizeof(char *));
#define PUSH(s)                                                                                    \
    do {                                                                                           \
        if (n + 2 > cap)                                                                           \
            v = ck_realloc(v, (cap *= 2) * sizeof(char *));                                        \
        v[n++] = ck_strdup(s);                                                                     \
        v[n] = NULL;                                                                               \
    } while (0)
    bool has_cmd = cc->command && cc->command[0];
    if (has_cmd)
        for (const char *const *p = cc->command; *p; p++)
            PUSH(*p);
    else
        for (size_t i = 0; i < im->cfg.nentrypoint; i++)
            PUSH(im->cfg.entrypoint[i]);
    if (cc->args && cc->args[0])
        for (const char *const *p = cc->args; *p; p++)
            PUSH(*p);
    else if (!has_cmd)
        for (size_t i = 0; i < im->cfg.ncmd; i++)
            PUSH(im->cfg.cmd[i]);
#undef PUSH
    return v;
}

static char **merge_env(const struct rt_image *im, const struct rt_container_config *cc)
{
    size_t cap = im->cfg.nenv + cc->nenv + 2, n = 0;
    char **v = ck_calloc(cap, sizeof(char *));
    for (size_t i = 0; i < im->cfg.nenv; i++)
        v[n++] = ck_strdup(im->cfg.env[i]);
    for (size_t i = 0; i < cc->nenv; i++) {
        char *kv = ck_asprintf("%s=%s", cc->env[i].key, cc->env[i].value ? cc->env[i].value : "");
        size_t kl = strlen(cc->env[i].key);
        size_t j;
        for (j = 0; j < n; j++)
            if (!strncmp(v[j], kv, kl + 1))
                break;
        if (j < n) {
            free(v[j]);
            v[j] = kv;
        } else {
            v[n++] = kv;
        }
    }
    bool has_path = false;
    for (size_t j = 0; j < n; j++)
        has_path |= !strncmp(v[j], "PATH=", 5);
    if (!has_path)
        v[n++] = ck_strdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    v[n] = NULL;
    return v;
}

static char *lowerdir_of(const struct rt_image *im)
{
    struct ck_buf b = CK_BUF_INIT(8000);
    for (size_t i = im->nlayers; i-- > 0;) {
        if (b.len)
            ck_buf_appendc(&b, ':');
        if (ck_buf_appends(&b, im->layers[i]) < 0) {
            ck_buf_release(&b);
            return NULL;
        }
    }
    return ck_buf_detach(&b, NULL);
}

/* ---- create ----------------------------------------------------------------------------- */

struct create_ctx {
    struct rt_crun *c;
    const char *id;
    json_t *sb;
    const struct rt_container_config *cc;
    struct rt_image im;
    char *dir;
    char *cgpath;
    char *log_path;
    uint32_t uid, gid;
};

static int write_bundle(struct create_ctx *x, struct ck_err *err)
{
    const struct rt_container_config *cc = x->cc;
    uint32_t uid = 0, gid = 0;
    if (cc->run_as_user >= 0) {
        uid = (uint32_t)cc->run_as_user;
    } else if (rt_resolve_user(x->im.cfg.user, x->im.layers, x->im.nlayers, &uid, &gid, err) < 0) {
        return -1;
    }
    char **argv = merge_argv(&x->im, cc);
    if (!argv[0]) {
        rt_strv_free(argv);
        return ck_err_set(err, CK_R_INVALID, "no command specified");
    }
    char **env = merge_env(&x->im, cc);
    const char *sbdir_fmt = "%s/sandboxes/%s/%s";
    const char *sbid = json_string_value(json_object_get(x->sb, "id"));
    ck_autofree char *hosts = ck_asprintf(sbdir_fmt, x->c->root, sbid, "hosts");
    ck_autofree char *resolv = ck_asprintf(sbdir_fmt, x->c->root, sbid, "resolv.conf");
    ck_autofree char *hostname_f = ck_asprintf(sbdir_fmt, x->c->root, sbid, "hostname");
    ck_autofree char *rootfs = ck_asprintf("%s/bundle/rootfs", x->dir);
    const char *wd = cc->working_dir && *cc->working_dir ? cc->working_dir : x->im.cfg.working_dir;
    struct rt_oci_input in = {
        .argv = (const char *const *)argv, .env = (const char *const *)env, .cwd = wd,
        .uid = uid, .gid = gid, .terminal = false,
        .hostname = json_string_value(json_object_get(x->sb, "hostname")), .rootfs = rootfs,
        .netns_path = json_string_value(json_object_get(x->sb, "netns")),
        .host_network = json_is_true(json_object_get(x->sb, "host_network")),
        .ipc_ns_path = json_string_value(json_object_get(x->sb, "ipcns")),
        .shm_path = json_string_value(json_object_get(x->sb, "shm")),
        .cgroups_path = x->cgpath, .res = &cc->resources, .hosts_file = hosts,
        .resolv_file = resolv, .hostname_file = hostname_f, .mounts = cc->mounts,
        .nmounts = cc->nmounts, .privileged = cc->privileged};
    json_t *spec = rt_oci_spec(&in);
    x->uid = uid;
    x->gid = gid;
    ck_autofree char *cfgpath = ck_asprintf("%s/bundle/config.json", x->dir);
    int rc = rt_json_write(cfgpath, spec, err);
    json_decref(spec);
    rt_strv_free(argv);
    rt_strv_free(env);
    return rc;
}

static json_t *container_doc(struct create_ctx *x, const char *sandbox_id)
{
    const struct rt_container_config *cc = x->cc;
    return json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:I, s:I, s:s, s:s, s:o, s:o, s:i, s:i}",
                     "id", x->id, "sandbox_id", sandbox_id, "name", cc->name, "attempt",
                     (int)cc->attempt, "image", cc->image, "image_id", x->im.id, "created_ns",
                     (json_int_t)ck_real_ns(), "started_ns", (json_int_t)0, "log_path",
                     x->log_path, "cgroups_path", x->cgpath, "labels",
                     rt_kv_to_json(cc->labels, cc->nlabels), "annotations",
                     rt_kv_to_json(cc->annotations, cc->nannotations), "shim_pid", 0, "init_pid",
                     0);
}

static int create_in_dir(struct create_ctx *x, const char *sandbox_id, struct ck_err *err)
{
    char p[4200];
    snprintf(p, sizeof(p), "%s/bundle/rootfs", x->dir);
    if (rt_mkdirs(p, 0755) < 0)
        return ck_err_sys(err, errno, "mkdir %s", p);
    snprintf(p, sizeof(p), "%s/upper", x->dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/work", x->dir);
    mkdir(p, 0700);
    if (write_bundle(x, err) < 0)
        return -1;
    json_t *doc = container_doc(x, sandbox_id);
    snprintf(p, sizeof(p), "%s/container.json", x->dir);
    ck_autofree char *lower = lowerdir_of(&x->im);
    if (!lower) {
        json_decref(doc);
        return ck_err_set(err, CK_R_TOO_LARGE, "too many image layers for one overlay mount");
    }
    int rc = rt_json_write(p, doc, err);
    struct rt_shim_args sa = {.crun = x->c->crun, .id = x->id, .dir = x->dir, .lowerdir = lower,
                              .log_path = x->log_path, .cgroups_path = x->cgpath,
                              .stdin_ = x->cc->stdin_};
    char crun_root[4200];
    snprintf(crun_root, sizeof(crun_root), "%s/crun", x->c->root);
    sa.crun_root = crun_root;
    pid_t shim = 0, init = 0;
    if (rc == 0)
        rc = rt_shim_launch(&sa, &shim, &init, err);
    if (rc == 0) {
        json_object_set_new(doc, "user", json_sprintf("%u:%u", x->uid, x->gid));
        json_object_set_new(doc, "shim_pid", json_integer(shim));
        json_object_set_new(doc, "init_pid", json_integer(init));
        rc = rt_json_write(p, doc, err);
    }
    json_decref(doc);
    return rc;
}

static void undo_create(struct rt_crun *c, const char *id, const char *dir, const char *cgpath)
{
    const char *args[] = {"delete", "-f", id, NULL};
    struct ck_err e2 = CK_ERR_INIT;
    rt_crun_cmd(c, args, CRUN_TIMEOUT_MS, NULL, &e2);
    ck_autofree char *exitf = ck_asprintf("%s/exit.json", dir);
    ck_autofree char *initf = ck_asprintf("%s/init.pid", dir);
    for (int i = 0; i < 300 && access(initf, F_OK) == 0 && access(exitf, F_OK) < 0; i++)
        usleep(10000); /* let the shim record the exit before the dir goes */
    rt_cgroup_rmdir_all(cgpath);
    rt_rmtree(dir);
}

int rt_crun_create_container(struct runtime *rt, const char *sandbox_id,
                             const struct rt_container_config *cc, char id[RT_ID_MAX],
                             struct ck_err *err)
{
    struct rt_crun *c = crun_of(rt);
    if (!cc->name || !*cc->name)
        return ck_err_set(err, CK_R_INVALID, "container config: name is required");
    if (cc->tty)
        return ck_err_set(err, CK_R_INVALID, "container config: tty containers are not supported");
    struct create_ctx x = {.c = c, .cc = cc};
    x.sb = rt_crun_sandbox_load(c, sandbox_id, err);
    if (!x.sb)
        return -1;
    const char *st = json_string_value(json_object_get(x.sb, "state"));
    if (!st || strcmp(st, "ready")) {
        json_decref(x.sb);
        return ck_err_set(err, CK_R_CONFLICT, "pod sandbox %s is not ready", sandbox_id);
    }
    int64_t t0 = ck_mono_ns();
    if (resolve_image(c, cc->image, &x.im, err) < 0) {
        json_decref(x.sb);
        return -1;
    }
    rt_new_id(id);
    x.id = id;
    x.dir = rt_container_dir(c, id);
    x.cgpath = ck_asprintf("%s/%s", json_string_value(json_object_get(x.sb, "cgroup_parent")), id);
    const char *logdir = json_string_value(json_object_get(x.sb, "log_directory"));
    if (cc->log_path && cc->log_path[0] == '/')
        x.log_path = ck_strdup(cc->log_path);
    else if (cc->log_path && *cc->log_path && logdir && *logdir) /* CRI: relative to the pod */
        x.log_path = ck_asprintf("%s/%s", logdir, cc->log_path);
    else
        x.log_path = ck_asprintf("%s/container.log", x.dir);
    if (strstr(x.log_path, "/../")) {
        free(x.log_path);
        x.log_path = ck_asprintf("%s/container.log", x.dir);
    }
    {
        char *slash = strrchr(x.log_path, '/');
        *slash = 0;
        rt_mkdirs(x.log_path, 0755);
        *slash = '/';
    }
    int64_t t1 = ck_mono_ns();
    int rc = create_in_dir(&x, sandbox_id, err);
    ck_v(2, "create %s: image %.1f ms, bundle+shim+crun create %.1f ms", id,
         (double)(t1 - t0) / 1e6, (double)(ck_mono_ns() - t1) / 1e6);
    if (rc < 0) {
        undo_create(c, id, x.dir, x.cgpath);
        ck_err_wrap(err, "create container %s", cc->name);
    }
    rt_image_release(&x.im);
    json_decref(x.sb);
    free(x.dir);
    free(x.cgpath);
    free(x.log_path);
    return rc;
}

/* ---- lookup / status ---------------------------------------------------------------------- */

static json_t *container_load(struct rt_crun *c, const char *id, struct ck_err *err)
{
    if (!rt_valid_id(id)) {
        ck_err_set(err, CK_R_NOT_FOUND, "container %.80s not found", id);
        return NULL;
    }
    ck_autofree char *p = ck_asprintf("%s/containers/%s/container.json", c->root, id);
    json_t *j = rt_json_read(p, err);
    if (!j && err && err->reason == CK_R_NOT_FOUND)
        ck_err_set(err, CK_R_NOT_FOUND, "container %s not found", id);
    return j;
}

static json_t *exit_load(struct rt_crun *c, const char *id)
{
    ck_autofree char *p = ck_asprintf("%s/containers/%s/exit.json", c->root, id);
    json_error_t je;
    return json_load_file(p, 0, &je);
}

static bool pid_alive(json_t *doc, const char *key)
{
    json_int_t pid = json_integer_value(json_object_get(doc, key));
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static void fill_cstatus(struct rt_crun *c, json_t *doc, struct rt_container_status *st)
{
    memset(st, 0, sizeof(*st));
#define S(field, key) snprintf(st->field, sizeof(st->field), "%s", json_string_value(json_object_get(doc, key)) ?: "")
    S(id, "id");
    S(sandbox_id, "sandbox_id");
    S(name, "name");
    S(image, "image");
    S(image_id, "image_id");
    S(log_path, "log_path");
#undef S
    st->attempt = (unsigned)json_integer_value(json_object_get(doc, "attempt"));
    st->created_ns = json_integer_value(json_object_get(doc, "created_ns"));
    st->started_ns = json_integer_value(json_object_get(doc, "started_ns"));
    rt_kv_from_json(json_object_get(doc, "labels"), &st->labels, &st->nlabels);
    rt_kv_from_json(json_object_get(doc, "annotations"), &st->annotations, &st->nannotations);
    json_t *ex = exit_load(c, st->id);
    if (ex) {
        st->state = RT_CONTAINER_EXITED;
        st->exit_code = (int)json_integer_value(json_object_get(ex, "exit_code"));
        st->finished_ns = json_integer_value(json_object_get(ex, "finished_ns"));
        bool oom = json_is_true(json_object_get(ex, "oom_killed"));
        snprintf(st->reason, sizeof(st->reason), "%s",
                 oom ? "OOMKilled" : st->exit_code == 0 ? "Completed" : "Error");
        if (!st->started_ns) /* removed or killed before it ever started */
            st->started_ns = 0;
        json_decref(ex);
    } else if (pid_alive(doc, "init_pid") || pid_alive(doc, "shim_pid")) {
        st->state = st->started_ns ? RT_CONTAINER_RUNNING : RT_CONTAINER_CREATED;
        if (pid_alive(doc, "init_pid"))
            st->pid = (int)json_integer_value(json_object_get(doc, "init_pid"));
    } else {
        st->state = RT_CONTAINER_UNKNOWN;
        snprintf(st->message, sizeof(st->message), "container shim is gone without an exit status");
    }
}

int rt_crun_container_status(struct runtime *rt, const char *id, struct rt_container_status *st,
                             struct ck_err *err)
{
    struct rt_crun *c = crun_of(rt);
    json_t *doc = container_load(c, id, err);
    if (!doc)
        return -1;
    fill_cstatus(c, doc, st);
    json_decref(doc);
    return 0;
}

int rt_crun_container_ids(struct rt_crun *c, const char *sandbox_id, char ***ids, size_t *n)
{
    *ids = ck_calloc(1, sizeof(char *));
    *n = 0;
    ck_autofree char *dir = ck_asprintf("%s/containers", c->root);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!rt_valid_id(e->d_name))
            continue;
        if (sandbox_id) {
            struct ck_err e2 = CK_ERR_INIT;
            json_t *doc = container_load(c, e->d_name, &e2);
            const char *sb = doc ? json_string_value(json_object_get(doc, "sandbox_id")) : NULL;
            bool match = sb && !strcmp(sb, sandbox_id);
            json_decref(doc);
            if (!match)
                continue;
        }
        *ids = ck_realloc(*ids, (*n + 2) * sizeof(char *));
        (*ids)[(*n)++] = ck_strdup(e->d_name);
        (*ids)[*n] = NULL;
    }
    closedir(d);
    return 0;
}

int rt_crun_list_containers(struct runtime *rt, const struct rt_container_filter *f,
                            struct rt_container_status **out, size_t *n, struct ck_err *err)
{
    struct rt_crun *c = crun_of(rt);
    (void)err;
    char **ids;
    size_t k;
    rt_crun_container_ids(c, f ? f->sandbox_id : NULL, &ids, &k);
    *out = ck_calloc(k ? k : 1, sizeof(**out));
    *n = 0;
    for (size_t i = 0; i < k; i++) {
        struct ck_err e2 = CK_ERR_INIT;
        json_t *doc = container_load(c, ids[i], &e2);
        if (!doc)
            continue;
        struct rt_container_status *st = &(*out)[*n];
        fill_cstatus(c, doc, st);
        json_decref(doc);
        if (f && f->state >= 0 && (int)st->state != f->state) {
            rt_container_status_release(st);
            continue;
        }
        (*n)++;
    }
    rt_strv_free(ids);
    return 0;
}

/* ---- start / stop / remove ------------------------------------------------------------------ */

/* Starts a created container the way `crun start` does, without spawning crun: the init
 * blocks reading <state>/<id>/exec.fifo; open it for writing, unlink it, write one byte.
 * (Our configs have no poststart hooks, the other thing crun start would run.) Returns 0,
 * 1 when there is no fifo (caller falls back to the crun CLI), or -errno. */
static int fast_start(struct rt_crun *c, const char *id)
{
    ck_autofree char *fifo = ck_asprintf("%s/crun/%s/exec.fifo", c->root, id);
    int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 1 : -errno; /* ENXIO: the init is gone */
    int rc = 0;
    if (unlink(fifo) < 0)
        rc = -errno;
    else if (write(fd, "0", 1) != 1)
        rc = -errno;
    close(fd);
    return rc;
}

int rt_crun_start_container(struct runtime *rt, const char *id, struct ck_err *err)
{
    struct rt_crun *c = crun_of(rt);
    json_t *doc = container_load(c, id, err);
    if (!doc)
        return -1;
    if (json_integer_value(json_object_get(doc, "started_ns"))) {
        json_decref(doc);
        return ck_err_set(err, CK_R_CONFLICT, "container %s was already started", id);
    }
    int64_t t0 = ck_mono_ns();
    int rc = fast_start(c, id);
    if (rc > 0) { /* no fifo to release: let crun itself explain */
        const char *args[] = {"start", id, NULL};
        rc = rt_crun_cmd(c, args, CRUN_TIMEOUT_MS, NULL, err);
    } else if (rc < 0) {
        rc = ck_err_sys(err, -rc, "release the container's exec fifo");
    }
    ck_v(2, "start %s: %.1f ms", id, (double)(ck_mono_ns() - t0) / 1e6);
    if (rc == 0) {
        json_object_set_new(doc, "started_ns", json_integer(ck_real_ns()));
        ck_autofree char *p = ck_asprintf("%s/containers/%s/container.json", c->root, id);
        rc = rt_json_write(p, doc, err);
    }
    json_decref(doc);
    return rc < 0 ? ck_err_wrap(err, "start container %s", id) : 0;
}

static bool wait_exit(struct rt_crun *c, const char *id, int64_t timeout_ms)
{
    ck_autofree char *p = ck_asprintf("%s/containers/%s/exit.json", c->root, id);
    int64_t end = ck_mono_ms() + timeout_ms;
    do {
        if (access(p, F_OK) == 0)
            return true;
        usleep(5000);
    } while (ck_mono_ms() < end);
    return access(p, F_OK) == 0;
}

int rt_crun_stop_container(struct runtime *rt, const char *id, int timeout_s, struct ck_err *err)
{
    struct rt_crun *c = crun_of(rt);
    json_t *doc = container_load(c, id, err);
    if (!doc)
        return -1;
    bool alive = pid_alive(doc, "init_pid") || pid_alive(doc, "shim_pid");
    json_decref(doc);
    if (wait_exit(c, id, 0) || !alive)
        return 0;
    struct ck_err e2 = CK_ERR_INIT;
    if (timeout_s > 0) {
        const char *term[] = {"kill", id, "TERM", NULL};
        rt_crun_cmd(c, term, CRUN_TIMEOUT_MS, NULL, &e2);
        if (wait_exit(c, id, (int64_t)timeout_s * 1000))
            return 0;
    }
    const char *kill9[] = {"kill", "--all", id, "KILL", NULL};
    if (rt_crun_cmd(c, kill9, CRUN_TIMEOUT_MS, NULL, &e2) < 0) {
        const char *kill9b[] = {"kill", id, "KILL", NULL};
        rt_crun_cmd(c, kill9b, CRUN_TIMEOUT_MS, NULL, &e2);
    }
    if (!wait_exit(c, id, 10000))
        return ck_err_set(err, CK_R_TIMEOUT, "container %s did not exit after SIGKILL", id);
    return 0;
}

int rt_crun_remove_container(struct runtime *rt, const char *id, struct ck_err *err)
{
    struct rt_crun *c = crun_of(rt);
    json_t *doc = container_load(c, id, err);
    if (!doc)
        return err && err->reason == CK_R_NOT_FOUND ? 0 : -1;
    if (rt_crun_stop_container(rt, id, 0, err) < 0) {
        json_decref(doc);
        return -1;
    }
    const char *args[] = {"delete", "-f", id, NULL};
    struct ck_err e2 = CK_ERR_INIT;
    rt_crun_cmd(c, args, CRUN_TIMEOUT_MS, NULL, &e2); /* already gone is fine */
    /* the shim exits right after exit.json; wait so its mount namespace is gone */
    for (int i = 0; i < 200 && pid_alive(doc, "shim_pid"); i++)
        usleep(5000);
    const char *cg = json_string_value(json_object_get(doc, "cgroups_path"));
    if (cg)
        rt_cgroup_rmdir_all(cg);
    ck_autofree char *dir = rt_container_dir(c, id);
    int rc = rt_rmtree(dir) < 0 ? ck_err_sys(err, errno, "remove %s", dir) : 0;
    json_decref(doc);
    return rc;
}

/* ---- handle ------------------------------------------------------------------------------ */

static void crun_close(struct runtime *rt)
{
    struct rt_crun *c = crun_of(rt);
    if (c->img)
        img_store_close(c->img);
    cni_net_free(c->net);
    free(c->root);
    free(c->crun);
    free(c->netns_dir);
    free(c->plugin_dir);
    free(c->image_root);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static int load_network(struct rt_crun *c, const char *conflist, struct ck_err *err)
{
    if (conflist)
        return cni_net_load_file(conflist, &c->net, err);
    char *def = cni_default_conflist(NULL);
    int rc = cni_net_parse(def, strlen(def), &c->net, err);
    ck_autofree char *dir = ck_asprintf("%s/cni", c->root);
    ck_autofree char *p = ck_asprintf("%s/ckube.conflist", dir);
    rt_mkdirs(dir, 0700);
    if (rc == 0)
        rc = rt_write_file(p, def, strlen(def), err);
    free(def);
    return rc;
}

struct runtime *rt_crun_open(const struct rt_crun_opts *o, struct ck_err *err)
{
    struct rt_crun *c = ck_calloc(1, sizeof(*c));
    c->base.ops = &runtime_crun_ops;
    pthread_mutex_init(&c->mu, NULL);
    c->root = ck_strdup(o && o->root ? o->root : "/var/lib/ckube/runtime");
    c->crun = ck_strdup(o && o->crun_path ? o->crun_path : "crun");
    c->netns_dir = ck_strdup(o && o->netns_dir ? o->netns_dir : "/run/netns");
    c->plugin_dir = ck_strdup(o && o->cni_plugin_dir ? o->cni_plugin_dir : "/usr/lib/cni");
    c->image_root = o && o->image_root ? ck_strdup(o->image_root)
                                       : ck_asprintf("%s/../images", c->root);
    static const char *const sub[] = {"sandboxes", "containers", "crun", "cni-cache"};
    for (size_t i = 0; i < 4; i++) {
        ck_autofree char *p = ck_asprintf("%s/%s", c->root, sub[i]);
        if (rt_mkdirs(p, 0700) < 0) {
            ck_err_sys(err, errno, "runtime root %s", p);
            crun_close(&c->base);
            return NULL;
        }
    }
    if (load_network(c, o ? o->cni_conflist : NULL, err) < 0) {
        ck_err_wrap(err, "cni network config");
        crun_close(&c->base);
        return NULL;
    }
    return &c->base;
}

const struct runtime_ops runtime_crun_ops = {
    .name = "crun",
    .version = 1,
    .run_pod_sandbox = rt_crun_run_pod_sandbox,
    .stop_pod_sandbox = rt_crun_stop_pod_sandbox,
    .remove_pod_sandbox = rt_crun_remove_pod_sandbox,
    .pod_sandbox_status = rt_crun_pod_sandbox_status,
    .list_pod_sandboxes = rt_crun_list_pod_sandboxes,
    .create_container = rt_crun_create_container,
    .start_container = rt_crun_start_container,
    .stop_container = rt_crun_stop_container,
    .remove_container = rt_crun_remove_container,
    .container_status = rt_crun_container_status,
    .list_containers = rt_crun_list_containers,
    .exec_sync = rt_crun_exec_sync,
    .exec = rt_crun_exec,
    .exec_wait = rt_crun_exec_wait,
    .attach = rt_crun_attach,
    .reopen_container_log = rt_crun_reopen_log,
    .container_stats = rt_crun_stats,
    .update_container_resources = rt_crun_update,
    .close = crun_close,
    .port_forward = rt_crun_port_forward,
};

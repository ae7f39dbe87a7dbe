/* SPDX-License-Identifier: Apache-2.0 */
/* Pod volumes (upstream pkg/volume emptydir, configmap, secret and util AtomicWriter):
 * <root>/volumes/<uid>/<volume>/. emptyDir is a directory (medium Memory: a tmpfs sized as
 * upstream's SizeMemoryBackedVolumes); hostPath mounts the host path after its type check
 * (volumes_host.c); downwardAPI and projected volumes live in volumes_dapi.c. configMap,
 * secret, downwardAPI and projected volumes hold their payload in a timestamped "..<time>"
 * directory that the
 * "..data" symlink points to, with one "<path> -> ..data/<path>" symlink per top-level entry;
 * an update writes a new timestamped directory and renames a new "..data" over the old one,
 * so a reader sees either the old or the new payload, never a mix. */
#include "agent/agent_int.h"
#include "agent/volumes_int.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)f;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void ag_vol_rm_rf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void vol_dir(struct agent *ag, const char *uid, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/volumes/%s/%s", ag->root, uid, name);
}

int ag_vol_mkdir_p(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *c = tmp + 1; *c; c++)
        if (*c == '/') {
            *c = 0;
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return -1;
            *c = '/';
        }
    return mkdir(tmp, mode) < 0 && errno != EEXIST ? -1 : 0;
}

static bool is_mountpoint(const char *path)
{
    struct stat a, b;
    char parent[PATH_MAX];
    snprintf(parent, sizeof(parent), "%s/..", path);
    return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

/* ---- payloads -------------------------------------------------------------------------- */

bool ag_vol_safe_path(const char *p)
{
    if (!*p || *p == '/' || strlen(p) > 1000)
        return false;
    for (const char *c = p; *c;) {
        if (c[0] == '.' && c[1] == '.')
            return false;
        const char *slash = strchr(c, '/');
        if (!slash)
            break;
        c = slash + 1;
    }
    return true;
}

void ag_payload_free(struct ag_payload *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].path), free(p->v[i].data);
    free(p->v);
    memset(p, 0, sizeof(*p));
}

void ag_payload_add(struct ag_payload *p, const char *path, char *data, size_t len, int mode)
{
    p->v = ck_realloc(p->v, (p->n + 1) * sizeof(*p->v));
    p->v[p->n++] = (struct ag_vfile){ck_strdup(path), data, len, mode};
}

void ag_payload_hash(const struct ag_payload *p, char out[17])
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < p->n; i++) {
        const struct ag_vfile *f = &p->v[i];
        size_t pl = strlen(f->path) + 1;
        for (size_t k = 0; k < pl; k++)
            h = (h ^ (unsigned char)f->path[k]) * 1099511628211ULL;
        for (size_t k = 0; k < f->len; k++)
            h = (h ^ (unsigned char)f->data[k]) * 1099511628211ULL;
        h = (h ^ (uint64_t)(f->mode + 0x10000 * (int)(f->len & 0xff))) * 1099511628211ULL;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

int ag_vol_source_payload(const json_t *src, const json_t *items, bool optional, bool secret,
                          int defmode, struct ag_payload *out, struct ck_err *err)
{
    const char *fields[2] = {"data", secret ? NULL : "binaryData"};
    for (int f = 0; f < 2 && fields[f]; f++) {
        const json_t *data = json_object_get(src, fields[f]);
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)data, key, val)
        {
            const char *path = key;
            int m = defmode;
            if (json_array_size(items)) {
                path = NULL;
                for (size_t i = 0; i < json_array_size(items); i++) {
                    json_t *it = json_array_get(items, i);
                    if (!strcmp(k8s_jstr(it, "key"), key)) {
                        path = k8s_jstr(it, "path");
                        if (json_is_integer(json_object_get(it, "mode")))
                            m = (int)json_integer_value(json_object_get(it, "mode")) & 0777;
                    }
                }
                if (!path)
                    continue;
            }
            if (!ag_vol_safe_path(path))
                return ck_err_set(err, CK_R_INVALID, "invalid path %s", path);
            const char *s = json_string_value(val) ? json_string_value(val) : "";
            size_t len = strlen(s);
            char *bytes = (secret || f == 1) ? ck_base64_decode(s, strlen(s), &len) : ck_strdup(s);
            if (!bytes)
                return ck_err_set(err, CK_R_INVALID, "key %s is not valid base64", key);
            ag_payload_add(out, path, bytes, len, m);
        }
    }
    for (size_t i = 0; i < json_array_size(items); i++) {
        const char *key = k8s_jstr(json_array_get(items, i), "key");
        bool found = json_object_get(json_object_get(src, "data"), key) ||
                     json_object_get(json_object_get(src, "binaryData"), key);
        if (!found && !optional)
            return ck_err_set(err, CK_R_NOT_FOUND,
                              secret ? "references non-existent secret key: %s"
                                     : "configmap references non-existent config key: %s",
                              key);
    }
    return 0;
}

static int write_file(const char *path, const struct ag_vfile *f)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        ag_vol_mkdir_p(dir, 0755);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, f->mode);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < f->len) {
        ssize_t w = write(fd, f->data + off, f->len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    fchmod(fd, (mode_t)f->mode);
    return close(fd) == 0 && off == f->len ? 0 : -1;
}

/* AtomicWriter.Write: new "..<ts>" dir, "..data" swapped by rename, top-level symlinks. */
int ag_vol_atomic_write(const char *dir, const struct ag_payload *p, struct ck_err *err)
{
    char ts[PATH_MAX], link[PATH_MAX], tmp[PATH_MAX], old[PATH_MAX] = "";
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char stamp[64];
    strftime(stamp, sizeof(stamp), "..%Y_%m_%d_%H_%M_%S", &tm);
    snprintf(ts, sizeof(ts), "%s/%s.%09ld", dir, stamp, now.tv_nsec);
    if (ag_vol_mkdir_p(ts, 0755) < 0)
        return ck_err_sys(err, errno, "mkdir %s", ts);
    for (size_t i = 0; i < p->n; i++) {
        char fp[PATH_MAX];
        snprintf(fp, sizeof(fp), "%s/%s", ts, p->v[i].path);
        if (write_file(fp, &p->v[i]) < 0) {
            int e = errno;
            ag_vol_rm_rf(ts);
            return ck_err_sys(err, e, "write %s", fp);
        }
    }
    snprintf(link, sizeof(link), "%s/..data", dir);
    ssize_t l = readlink(link, old, sizeof(old) - 1);
    old[l > 0 ? l : 0] = 0;
    snprintf(tmp, sizeof(tmp), "%s/..data_tmp", dir);
    unlink(tmp);
    if (symlink(strrchr(ts, '/') + 1, tmp) < 0 || rename(tmp, link) < 0) {
        int e = errno;
        ag_vol_rm_rf(ts);
        return ck_err_sys(err, e, "swap %s", link);
    }
    /* user-visible entries: one symlink per top-level name; drop the ones no longer there */
    for (size_t i = 0; i < p->n; i++) {
        char top[PATH_MAX], ul[PATH_MAX], target[PATH_MAX];
        snprintf(top, sizeof(top), "%s", p->v[i].path);
        char *s = strchr(top, '/');
        if (s)
            *s = 0;
        snprintf(ul, sizeof(ul), "%s/%s", dir, top);
        snprintf(target, sizeof(target), "..data/%s", top);
        struct stat st;
        if (lstat(ul, &st) != 0)
            symlink(target, ul);
    }
    if (old[0]) {
        char od[PATH_MAX];
        snprintf(od, sizeof(od), "%s/%s", dir, old);
        ag_vol_rm_rf(od);
    }
    /* stale top-level links: names whose target left the payload */
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (!strncmp(e->d_name, "..", 2) || !strcmp(e->d_name, "."))
            continue;
        char ul[PATH_MAX];
        struct stat st;
        snprintf(ul, sizeof(ul), "%s/%s", dir, e->d_name);
        if (lstat(ul, &st) == 0 && S_ISLNK(st.st_mode) && stat(ul, &st) != 0)
            unlink(ul);
    }
    if (d)
        closedir(d);
    return 0;
}

/* ---- setup / mounts / teardown --------------------------------------------------------- */

const char *ag_vol_state_get(struct ag_pod *p, const char *name)
{
    for (size_t i = 0; i < p->nvols; i++)
        if (!strcmp(p->vols[i].name, name))
            return p->vols[i].rv;
    return NULL;
}

void ag_vol_state_set(struct ag_pod *p, const char *name, const char *rv)
{
    for (size_t i = 0; i < p->nvols; i++)
        if (!strcmp(p->vols[i].name, name)) {
            free(p->vols[i].rv);
            p->vols[i].rv = ck_strdup(rv);
            return;
        }
    p->vols = ck_realloc(p->vols, (p->nvols + 1) * sizeof(*p->vols));
    p->vols[p->nvols++] = (struct ag_vol_state){ck_strdup(name), ck_strdup(rv)};
}

void ag_volumes_release(struct ag_pod *p)
{
    for (size_t i = 0; i < p->nvols; i++)
        free(p->vols[i].name), free(p->vols[i].rv);
    free(p->vols);
    p->vols = NULL;
    p->nvols = 0;
}

int ag_vol_get_source(struct agent *ag, const char *ns, bool secret, const char *name, json_t **out,
                      struct ck_err *err)
{
    char path[1024];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/%s/%s", ns,
             secret ? "secrets" : "configmaps", name);
    *out = NULL;
    if (ck_client_get_json(ag->client, path, out, err) == 0)
        return 1;
    if (err->reason != CK_R_NOT_FOUND)
        return -1;
    ck_err_clear(err);
    return 0;
}

/* One configMap or secret volume: fetch the source, (re)write when its resourceVersion moved. */
static int setup_source(struct agent *ag, struct ag_pod *p, const char *dir, const char *vname,
                        const json_t *vol, bool secret, struct ck_err *err)
{
    const char *src = k8s_jstr(vol, secret ? "secretName" : "name");
    json_t *obj = NULL;
    struct ck_err e = CK_ERR_INIT;
    bool optional = json_is_true(json_object_get(vol, "optional"));
    int found = ag_vol_get_source(ag, p->ns, secret, src, &obj, &e);
    if (found < 0) {
        ck_err_set(err, e.reason, "MountVolume.SetUp failed for volume \"%s\" : %s", vname, e.msg);
        ck_err_clear(&e);
        return -1;
    }
    if (!found) {
        if (!optional)
            return ck_err_set(err, CK_R_NOT_FOUND,
                              "MountVolume.SetUp failed for volume \"%s\" : %s \"%s\" not found",
                              vname, secret ? "secret" : "configmap", src);
        obj = json_object(); /* optional and missing: an empty volume */
    }
    const char *rv = k8s_jpath_str(obj, "metadata.resourceVersion");
    const char *have = ag_vol_state_get(p, vname);
    char link[PATH_MAX];
    snprintf(link, sizeof(link), "%s/..data", dir);
    struct stat st;
    if (have && !strcmp(have, rv) && lstat(link, &st) == 0) {
        json_decref(obj);
        return 0;
    }
    struct ag_payload pl = {0};
    json_t *dm = json_object_get(vol, "defaultMode");
    int mode = json_is_integer(dm) ? (int)json_integer_value(dm) & 0777 : 0644;
    int rc =
        ag_vol_source_payload(obj, json_object_get(vol, "items"), optional, secret, mode, &pl, &e);
    if (rc == 0)
        rc = ag_vol_atomic_write(dir, &pl, &e);
    ag_payload_free(&pl);
    if (rc < 0) {
        ck_err_set(err, e.reason, "MountVolume.SetUp failed for volume \"%s\" : %s", vname, e.msg);
        ck_err_clear(&e);
    } else {
        if (have)
            ck_v(2, "pod %s/%s: volume %s updated to resourceVersion %s", p->ns, p->name, vname,
                 rv);
        ag_vol_state_set(p, vname, rv);
    }
    json_decref(obj);
    return rc;
}

static int setup_empty_dir(struct agent *ag, const json_t *pod, const char *name, const json_t *ed,
                           const char *dir, struct ck_err *err)
{
    chmod(dir, 0777);
    if (strcmp(k8s_jstr(ed, "medium"), "Memory") || is_mountpoint(dir))
        return 0;
    struct ag_node_alloc na;
    ag_node_alloc_get(ag, &na);
    int64_t size = ag_tmpfs_size(pod, ed, na.memory_bytes);
    char opts[64];
    if (size > 0)
        snprintf(opts, sizeof(opts), "mode=0777,size=%lld", (long long)size);
    else
        snprintf(opts, sizeof(opts), "mode=0777");
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
        return ck_err_sys(err, errno, "MountVolume.SetUp failed for volume \"%s\" : mount tmpfs",
                          name);
    return 0;
}

int ag_volumes_setup(struct agent *ag, struct ag_pod *p, const json_t *pod, struct ck_err *err)
{
    if (ag->hollow)
        return 0;
    const json_t *vols = k8s_jpath(pod, "spec.volumes");
    for (size_t i = 0; i < k8s_jlen(vols); i++) {
        const json_t *v = json_array_get(vols, i);
        const char *name = k8s_jstr(v, "name");
        char dir[PATH_MAX];
        if (!ag_vol_safe_path(name) || strchr(name, '/'))
            continue;
        vol_dir(ag, p->uid, name, dir, sizeof(dir));
        const json_t *ed = json_object_get(v, "emptyDir"), *hp = json_object_get(v, "hostPath");
        if (hp) {
            struct ck_err e = CK_ERR_INIT;
            if (ag_hostpath_check(k8s_jstr(hp, "path"), k8s_jstr(hp, "type"), &e) < 0) {
                ck_err_set(err, e.reason, "MountVolume.SetUp failed for volume \"%s\" : %s", name,
                           e.msg);
                ck_err_clear(&e);
                return -1;
            }
            continue;
        }
        bool managed = ed || json_object_get(v, "configMap") || json_object_get(v, "secret") ||
                       json_object_get(v, "downwardAPI") || json_object_get(v, "projected");
        if (!managed)
            continue; /* a type this agent does not support: no directory, no mount */
        if (ag_vol_mkdir_p(dir, 0777) < 0)
            return ck_err_sys(err, errno, "MountVolume.SetUp failed for volume \"%s\" : mkdir",
                              name);
        int rc = 0;
        if (ed)
            rc = setup_empty_dir(ag, pod, name, ed, dir, err);
        else if (json_object_get(v, "configMap"))
            rc = setup_source(ag, p, dir, name, json_object_get(v, "configMap"), false, err);
        else if (json_object_get(v, "secret"))
            rc = setup_source(ag, p, dir, name, json_object_get(v, "secret"), true, err);
        else if (json_object_get(v, "downwardAPI"))
            rc = ag_vol_setup_dapi(ag, p, pod, v, dir, err);
        else
            rc = ag_vol_setup_projected(ag, p, pod, v, dir, err);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* The host side of a volume: the hostPath itself, or the managed directory. */
static bool volume_source(struct agent *ag, const struct ag_pod *p, const json_t *pod,
                          const char *name, char *out, size_t n)
{
    const json_t *vols = k8s_jpath(pod, "spec.volumes");
    for (size_t i = 0; i < k8s_jlen(vols); i++) {
        const json_t *v = json_array_get(vols, i);
        if (strcmp(k8s_jstr(v, "name"), name))
            continue;
        const json_t *hp = json_object_get(v, "hostPath");
        if (hp) {
            snprintf(out, n, "%s", k8s_jstr(hp, "path"));
            return *out == '/';
        }
        break;
    }
    vol_dir(ag, p->uid, name, out, n);
    struct stat st;
    return stat(out, &st) == 0;
}

/* subPath: created when missing (as a directory), and it must stay inside the volume once
 * symlinks are resolved (upstream's safe subpath). */
static char *subpath_source(const char *base, const char *sub, bool host)
{
    char *full = ck_asprintf("%s/%s", base, sub);
    struct stat st;
    if (lstat(full, &st) != 0)
        ag_vol_mkdir_p(full, host ? 0755 : 0777);
    char rb[PATH_MAX], rf[PATH_MAX];
    if (!realpath(base, rb) || !realpath(full, rf)) {
        free(full);
        return NULL;
    }
    size_t l = strlen(rb);
    if (strncmp(rf, rb, l) || (rf[l] && rf[l] != '/' && strcmp(rb, "/"))) {
        ck_warn("subPath %s escapes its volume %s", sub, base);
        free(full);
        return NULL;
    }
    free(full);
    return ck_strdup(rf);
}

int ag_volume_mounts(struct agent *ag, const struct ag_pod *p, const json_t *c,
                     struct rt_mount **out, char ***paths)
{
    const json_t *vm = json_object_get(c, "volumeMounts");
    size_t n = 0, cap = k8s_jlen(vm);
    *out = ck_calloc(cap + 1, sizeof(**out));
    *paths = ck_calloc(cap + 1, sizeof(char *));
    if (ag->hollow)
        return 0;
    pthread_mutex_lock(&ag->mu);
    json_t *pod = json_incref(p->pod);
    pthread_mutex_unlock(&ag->mu);
    for (size_t i = 0; i < cap; i++) {
        const json_t *m = json_array_get(vm, i);
        const char *name = k8s_jstr(m, "name"), *sub = k8s_jstr(m, "subPath");
        if (!ag_vol_safe_path(name) || strchr(name, '/') || (*sub && !ag_vol_safe_path(sub)))
            continue;
        char src[PATH_MAX];
        if (!volume_source(ag, p, pod, name, src, sizeof(src)))
            continue; /* a volume type this agent does not set up */
        bool host = src[0] && strncmp(src, ag->root, strlen(ag->root));
        (*paths)[n] = *sub ? subpath_source(src, sub, host) : ck_strdup(src);
        if (!(*paths)[n])
            continue;
        (*out)[n] = (struct rt_mount){(*paths)[n], k8s_jstr(m, "mountPath"),
                                      json_is_true(json_object_get(m, "readOnly"))};
        n++;
    }
    json_decref(pod);
    return (int)n;
}

void ag_volumes_teardown(struct agent *ag, const struct ag_pod *p)
{
    char dir[PATH_MAX];
    ag_tokens_forget_pod(p->uid); /* satoken: its cached service-account tokens */
    if (ag->hollow)
        return;
    snprintf(dir, sizeof(dir), "%s/pods/%s_%s_%s", ag->root, p->ns, p->name, p->uid);
    ag_vol_rm_rf(dir); /* the pod's logs go with the pod */
    snprintf(dir, sizeof(dir), "%s/volumes/%s", ag->root, p->uid);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char v[PATH_MAX];
        snprintf(v, sizeof(v), "%s/%s", dir, e->d_name);
        if (is_mountpoint(v))
            umount2(v, MNT_DETACH);
    }
    if (d)
        closedir(d);
    ag_vol_rm_rf(dir);
}

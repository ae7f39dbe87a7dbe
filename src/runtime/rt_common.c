/* SPDX-License-Identifier: Apache-2.0 */
/* Shared runtime helpers: state names, status release, ids, JSON/file/cgroup utilities. */
#include "runtime/crun_int.h"
#include "lib/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/banned.h"

const char *rt_sandbox_state_str(enum rt_sandbox_state s)
{
    return s == RT_SANDBOX_READY ? "SANDBOX_READY" : "SANDBOX_NOTREADY";
}

const char *rt_container_state_str(enum rt_container_state s)
{
    switch (s) {
    case RT_CONTAINER_CREATED: return "CONTAINER_CREATED";
    case RT_CONTAINER_RUNNING: return "CONTAINER_RUNNING";
    case RT_CONTAINER_EXITED: return "CONTAINER_EXITED";
    default: return "CONTAINER_UNKNOWN";
    }
}

void rt_kv_free(struct rt_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)kv[i].key);
        free((char *)kv[i].value);
    }
    free(kv);
}

void rt_kv_from_json(json_t *obj, struct rt_kv **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!json_is_object(obj) || json_object_size(obj) == 0)
        return;
    *out = ck_calloc(json_object_size(obj), sizeof(struct rt_kv));
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        (*out)[*n].key = ck_strdup(k);
        (*out)[*n].value = ck_strdup(json_is_string(v) ? json_string_value(v) : "");
        (*n)++;
    }
}

json_t *rt_kv_to_json(const struct rt_kv *kv, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        if (kv[i].key)
            json_object_set_new(o, kv[i].key, json_string(kv[i].value ? kv[i].value : ""));
    return o;
}

void rt_sandbox_status_release(struct rt_sandbox_status *st)
{
    rt_kv_free(st->labels, st->nlabels);
    rt_kv_free(st->annotations, st->nannotations);
    st->labels = st->annotations = NULL;
    st->nlabels = st->nannotations = 0;
}

void rt_container_status_release(struct rt_container_status *st)
{
    rt_kv_free(st->labels, st->nlabels);
    rt_kv_free(st->annotations, st->nannotations);
    st->labels = st->annotations = NULL;
    st->nlabels = st->nannotations = 0;
}

void rt_sandbox_list_free(struct rt_sandbox_status *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rt_sandbox_status_release(&v[i]);
    free(v);
}

void rt_container_list_free(struct rt_container_status *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rt_container_status_release(&v[i]);
    free(v);
}

void rt_close(struct runtime *rt)
{
    if (rt)
        rt->ops->close(rt);
}

void rt_new_id(char id[RT_ID_MAX])
{
    unsigned char b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        ck_fatal("getrandom failed");
    for (int i = 0; i < 16; i++)
        snprintf(id + 2 * i, 3, "%02x", b[i]);
}

int rt_valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n < 1 || n >= RT_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return 0;
    return 1;
}

void rt_strv_free(char **v)
{
    if (!v)
        return;
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

int rt_write_file(const char *path, const char *data, size_t len, struct ck_err *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return ck_err_sys(err, errno, "create %s", tmp);
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return ck_err_sys(err, e, "write %s", tmp);
        }
        off += (size_t)w;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return ck_err_sys(err, e, "rename %s", path);
    }
    return 0;
}

int rt_json_write(const char *path, json_t *doc, struct ck_err *err)
{
    char *s = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (!s)
        return ck_err_set(err, CK_R_INTERNAL, "encode %s", path);
    int rc = rt_write_file(path, s, strlen(s), err);
    free(s);
    return rc;
}

json_t *rt_json_read(const char *path, struct ck_err *err)
{
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        if (access(path, F_OK) < 0)
            ck_err_set(err, CK_R_NOT_FOUND, "%s does not exist", path);
        else
            ck_err_set(err, CK_R_CORRUPT, "%s: %s", path, je.text);
    }
    return j;
}

int rt_mkdirs(const char *path, mode_t mode)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int rmtree_at(int dfd, const char *name, dev_t dev)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dfd, name, 0);
    if (st.st_dev != dev)
        return -1; /* a mount point: never delete through it */
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (rmtree_at(dirfd(d), e->d_name, dev) < 0)
            rc = -1;
    }
    closedir(d);
    if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        rc = -1;
    return rc;
}

int rt_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    return rmtree_at(AT_FDCWD, path, st.st_dev);
}

void rt_cgroup_rmdir_all(const char *cgpath)
{
    DIR *d = opendir("/sys/fs/cgroup");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s", e->d_name, cgpath);
        rmdir(p);
    }
    closedir(d);
}

static FILE *cg_open(const char *ctrl, const char *cgpath, const char *file)
{
    char p[4096];
    snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s/%s", ctrl, cgpath, file);
    return fopen(p, "re");
}

int64_t rt_cgroup_read_int(const char *ctrl, const char *cgpath, const char *file)
{
    FILE *f = cg_open(ctrl, cgpath, file);
    if (!f)
        return -1;
    long long v = -1;
    if (fscanf(f, "%lld", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

int64_t rt_cgroup_read_key(const char *ctrl, const char *cgpath, const char *file,
                           const char *key)
{
    FILE *f = cg_open(ctrl, cgpath, file);
    if (!f)
        return -1;
    char line[256];
    long long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, key, kl) && line[kl] == ' ') {
            v = strtoll(line + kl + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

char *rt_sandbox_dir(struct rt_crun *c, const char *id)
{
    return ck_asprintf("%s/sandboxes/%s", c->root, id);
}

char *rt_container_dir(struct rt_crun *c, const char *id)
{
    return ck_asprintf("%s/containers/%s", c->root, id);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Static pods (upstream pkg/kubelet/config/file.go, common.go, pod/mirror_client.go): the
 * manifests in --pod-manifest-path (YAML or JSON, one Pod per file, hidden files ignored) are
 * read every --file-check-frequency (20 s) and at once when inotify reports a change. Each
 * becomes a pod record the workers run like any other (its uid is the manifest's hash); a
 * changed manifest is a new pod, a removed one stops. For each static pod a mirror pod in
 * the API server (annotation kubernetes.io/config.mirror, owned by the Node) shows it; a
 * mirror that is deleted, being deleted or stale is deleted and created again, and mirrors
 * without a static pod are deleted. The status manager writes the static pod's status to its
 * mirror (ag_pod_status_uid). */
#include "agent/agent_int.h"
#include "agent/static.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "lib/yamljson.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/banned.h"

#define SEC 1000000000LL
#define MANIFEST_MAX (10 << 20)

struct ag_static {
    struct agent *ag;
    char *dir;
    int ifd; /* inotify, -1 when unavailable */
    int64_t every_ns;
    pthread_t th;
    json_t *pods; /* uid -> static pod, the thread's */
    char *node_uid;
    atomic_bool kick;
};

/* ---- parsing ------------------------------------------------------------------------------ */

static void md5_hex(const char *parts[], size_t n, char out[33])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_md5(), NULL);
    for (size_t i = 0; i < n; i++)
        EVP_DigestUpdate(c, parts[i], strlen(parts[i]));
    EVP_DigestFinal_ex(c, d, &dl);
    EVP_MD_CTX_free(c);
    for (unsigned int i = 0; i < dl && i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

json_t *ag_static_parse(const char *text, size_t len, const char *path, const char *node,
                        const char *seen, struct ck_err *err)
{
    json_t *pod = NULL;
    if (yaml_to_json(text, len, &pod, err) < 0)
        return NULL;
    if (!json_is_object(pod) || strcmp(k8s_jstr(pod, "kind"), "Pod") ||
        !json_is_object(json_object_get(pod, "spec")) || !*k8s_jpath_str(pod, "metadata.name")) {
        json_decref(pod);
        ck_err_set(err, CK_R_BAD_REQUEST,
                   "%s: not a Pod manifest (kind Pod with metadata.name and spec)", path);
        return NULL;
    }
    json_t *md = json_object_get(pod, "metadata");
    if (!json_is_object(md)) {
        json_decref(pod);
        ck_err_set(err, CK_R_BAD_REQUEST, "%s: metadata is not an object", path);
        return NULL;
    }
    if (!json_is_string(json_object_get(pod, "apiVersion")))
        json_object_set_new(pod, "apiVersion", json_string("v1"));
    char uid[33];
    if (*k8s_jstr(md, "uid")) {
        snprintf(uid, sizeof(uid), "%.32s", k8s_jstr(md, "uid"));
    } else {
        char *canon = json_dumps(pod, JSON_COMPACT | JSON_SORT_KEYS);
        char *host = ck_asprintf("host:%s", node), *file = ck_asprintf("file:%s", path);
        const char *parts[] = {canon ? canon : "", host, file};
        md5_hex(parts, 3, uid);
        free(canon);
        free(host);
        free(file);
        json_object_set_new(md, "uid", json_string(uid));
    }
    const char *uidv = k8s_jstr(md, "uid");
    json_object_set_new(md, "name", json_sprintf("%s-%s", k8s_jstr(md, "name"), node));
    if (!*k8s_jstr(md, "namespace"))
        json_object_set_new(md, "namespace", json_string("default"));
    json_object_set_new(json_object_get(pod, "spec"), "nodeName", json_string(node));
    json_t *ann = json_object_get(md, "annotations");
    if (!json_is_object(ann))
        json_object_set_new(md, "annotations", ann = json_object());
    json_object_set_new(ann, AG_CONFIG_HASH, json_string(uidv));
    json_object_set_new(ann, AG_CONFIG_SOURCE, json_string("file"));
    if (seen)
        json_object_set_new(ann, AG_CONFIG_SEEN, json_string(seen));
    json_t *spec = json_object_get(pod, "spec");
    json_t *tol = json_object_get(spec, "tolerations");
    if (!json_is_array(tol))
        json_object_set_new(spec, "tolerations", tol = json_array());
    bool have = false;
    for (size_t i = 0; i < json_array_size(tol); i++) {
        json_t *t = json_array_get(tol, i);
        have |= !strcmp(k8s_jstr(t, "operator"), "Exists") && !*k8s_jstr(t, "key") &&
                !strcmp(k8s_jstr(t, "effect"), "NoExecute");
    }
    if (!have)
        json_array_append_new(tol,
                              json_pack("{s:s,s:s}", "operator", "Exists", "effect", "NoExecute"));
    json_object_set_new(pod, "status", json_pack("{s:s}", "phase", "Pending"));
    return pod;
}

json_t *ag_static_mirror(const json_t *sp, const char *node, const char *node_uid)
{
    json_t *m = json_deep_copy(sp);
    json_t *md = json_object_get(m, "metadata");
    json_object_del(m, "status");
    json_object_del(md, "uid");
    json_object_del(md, "resourceVersion");
    json_object_del(md, "creationTimestamp");
    json_t *ann = json_object_get(md, "annotations");
    json_object_set_new(ann, AG_CONFIG_MIRROR, json_string(k8s_jstr(ann, AG_CONFIG_HASH)));
    json_object_set_new(md, "ownerReferences",
                        json_pack("[{s:s,s:s,s:s,s:s}]", "apiVersion", "v1", "kind", "Node", "name",
                                  node, "uid", node_uid ? node_uid : ""));
    json_object_set_new(m, "kind", json_string("Pod"));
    return m;
}

bool ag_static_is_mirror(const json_t *pod)
{
    return json_object_get(k8s_jpath(pod, "metadata.annotations"), AG_CONFIG_MIRROR) != NULL;
}

/* ---- the folder --------------------------------------------------------------------------- */

static char *read_text(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MANIFEST_MAX) {
        close(fd);
        return NULL;
    }
    char *b = ck_malloc((size_t)st.st_size + 1);
    size_t off = 0;
    while (off < (size_t)st.st_size) {
        ssize_t r = read(fd, b + off, (size_t)st.st_size - off);
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    close(fd);
    b[off] = 0;
    *len = off;
    return b;
}

static void seen_now(char out[40])
{
    ck_time_rfc3339nano(ck_real_ns(), out);
}

/* One scan: the new set of static pods (uid -> pod). */
static json_t *scan(struct ag_static *s)
{
    json_t *set = json_object();
    DIR *d = opendir(s->dir);
    if (!d) {
        ck_v(2, "static pods: %s: %s", s->dir, strerror(errno));
        return set;
    }
    struct dirent *e;
    const char *node = s->ag->nodes[0].name;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", s->dir, e->d_name);
        size_t len = 0;
        char *text = read_text(path, &len);
        if (!text)
            continue;
        char seen[40];
        seen_now(seen);
        struct ck_err err = CK_ERR_INIT;
        json_t *pod = ag_static_parse(text, len, path, node, seen, &err);
        free(text);
        if (!pod) {
            ck_warn("static pods: could not process manifest file %s: %s", path, err.msg);
            ck_err_clear(&err);
            continue;
        }
        const char *uid = k8s_obj_uid(pod);
        json_t *old = json_object_get(s->pods, uid);
        if (old) /* unchanged: keep the first time it was seen */
            json_object_set(
                json_object_get(json_object_get(pod, "metadata"), "annotations"), AG_CONFIG_SEEN,
                json_object_get(k8s_jpath(old, "metadata.annotations"), AG_CONFIG_SEEN));
        json_object_set_new(set, uid, pod);
    }
    closedir(d);
    return set;
}

static void apply(struct ag_static *s, json_t *set)
{
    const char *uid;
    json_t *pod;
    json_object_foreach(s->pods, uid, pod)
    {
        if (!json_object_get(set, uid)) {
            ck_info("static pod %s/%s (%s): manifest removed", k8s_obj_namespace(pod),
                    k8s_obj_name(pod), uid);
            ag_pod_static_gone(s->ag, uid);
        }
    }
    json_object_foreach(set, uid, pod)
    {
        if (!json_object_get(s->pods, uid)) {
            ck_info("static pod %s/%s (%s): from the manifest folder", k8s_obj_namespace(pod),
                    k8s_obj_name(pod), uid);
            ag_pod_static_put(s->ag, pod);
        }
    }
    json_decref(s->pods);
    s->pods = set;
}

/* ---- mirror pods -------------------------------------------------------------------------- */

static void delete_mirror(struct agent *ag, const json_t *m)
{
    char path[1024];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", k8s_obj_namespace(m),
             k8s_obj_name(m));
    json_t *body = json_pack("{s:s,s:s,s:i,s:{s:s}}", "apiVersion", "v1", "kind", "DeleteOptions",
                             "gracePeriodSeconds", 0, "preconditions", "uid", k8s_obj_uid(m));
    char *b = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct ck_err err = CK_ERR_INIT;
    if (ck_client_do(ag->client, "DELETE", path, "application/json", b, strlen(b), NULL, &err) <
            0 &&
        err.reason != CK_R_NOT_FOUND && err.reason != CK_R_CONFLICT)
        ck_warn("static pods: delete mirror pod %s/%s: %s", k8s_obj_namespace(m), k8s_obj_name(m),
                err.msg);
    else
        ck_v(2, "static pods: deleted mirror pod %s/%s (%s)", k8s_obj_namespace(m), k8s_obj_name(m),
             k8s_obj_uid(m));
    ck_err_clear(&err);
    free(b);
}

static void set_mirror_uid(struct agent *ag, const char *uid, const char *mirror)
{
    bool changed = false;
    pthread_mutex_lock(&ag->mu);
    struct ag_pod *p = ck_strmap_get(&ag->pods, uid, NULL);
    if (p && (!p->mirror_uid || !mirror || strcmp(p->mirror_uid, mirror))) {
        changed = !(p->mirror_uid == NULL && mirror == NULL);
        free(p->mirror_uid);
        p->mirror_uid = mirror ? ck_strdup(mirror) : NULL;
    }
    pthread_mutex_unlock(&ag->mu);
    if (changed && mirror)
        wq_add(ag->podq, uid); /* the status goes to the new mirror */
}

static const char *node_uid(struct ag_static *s)
{
    if (s->node_uid)
        return s->node_uid;
    char path[512];
    snprintf(path, sizeof(path), "/api/v1/nodes/%s", s->ag->nodes[0].name);
    json_t *n = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (ck_client_get_json(s->ag->client, path, &n, &err) == 0)
        s->node_uid = ck_strdup(k8s_obj_uid(n));
    ck_err_clear(&err);
    json_decref(n);
    return s->node_uid;
}

static void sync_mirrors(struct ag_static *s)
{
    struct agent *ag = s->ag;
    struct ck_indexer *ix = ck_informer_indexer(ag->pod_inf);
    const char *uid;
    json_t *sp;
    json_object_foreach(s->pods, uid, sp)
    {
        char key[600];
        snprintf(key, sizeof(key), "%s/%s", k8s_obj_namespace(sp), k8s_obj_name(sp));
        json_t *m = ck_indexer_get(ix, key);
        if (m && (!ag_static_is_mirror(m) || strcmp(k8s_obj_annotation(m, AG_CONFIG_MIRROR), uid) ||
                  k8s_obj_deleting(m))) {
            if (ag_static_is_mirror(m)) /* stale or being deleted: delete now, create again */
                delete_mirror(ag, m);
            else
                ck_v(1, "static pod %s: a pod with its name exists and is no mirror", key);
            set_mirror_uid(ag, uid, NULL);
            json_decref(m);
            continue; /* created once the informer saw it go */
        }
        if (m) {
            set_mirror_uid(ag, uid, k8s_obj_uid(m));
            json_decref(m);
            continue;
        }
        if (!node_uid(s))
            continue; /* the Node is not registered yet */
        json_t *mirror = ag_static_mirror(sp, ag->nodes[0].name, s->node_uid), *out = NULL;
        char path[512];
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", k8s_obj_namespace(sp));
        struct ck_err err = CK_ERR_INIT;
        if (ck_client_create_json(ag->client, path, mirror, &out, &err) == 0) {
            ck_info("static pod %s: created mirror pod (%s)", key, k8s_obj_uid(out));
            set_mirror_uid(ag, uid, k8s_obj_uid(out));
        } else if (err.reason != CK_R_ALREADY_EXISTS) {
            ck_warn("static pod %s: failed creating a mirror pod: %s", key, err.msg);
            if (err.reason == CK_R_INVALID || err.reason == CK_R_NOT_FOUND) {
                free(s->node_uid); /* maybe the Node was registered again */
                s->node_uid = NULL;
            }
        }
        ck_err_clear(&err);
        json_decref(out);
        json_decref(mirror);
    }
    /* orphaned mirror pods: this node's mirrors without a static pod */
    json_t *all = ck_indexer_list(ix);
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *m = json_array_get(all, i);
        if (!ag_static_is_mirror(m) || strcmp(k8s_pod_node_name(m), ag->nodes[0].name))
            continue;
        const char *h = k8s_obj_annotation(m, AG_CONFIG_MIRROR);
        json_t *sp2 = json_object_get(s->pods, h);
        if (!sp2 || strcmp(k8s_obj_name(sp2), k8s_obj_name(m)) ||
            strcmp(k8s_obj_namespace(sp2), k8s_obj_namespace(m))) {
            bool stale_same_name = false;
            json_object_foreach(s->pods, uid, sp)
            {
                stale_same_name |= !strcmp(k8s_obj_name(sp), k8s_obj_name(m)) &&
                                   !strcmp(k8s_obj_namespace(sp), k8s_obj_namespace(m));
            }
            /* deleted once its static pod has terminated (its record is gone), as upstream's
             * deleteOrphanedMirrorPods waits for the terminating pod */
            if (!stale_same_name && !ag_pod_get(ag, h))
                delete_mirror(ag, m);
        }
    }
    json_decref(all);
}

/* ---- the thread --------------------------------------------------------------------------- */

static bool inotify_changed(struct ag_static *s)
{
    if (s->ifd < 0)
        return false;
    bool changed = false;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    struct pollfd pfd = {s->ifd, POLLIN, 0};
    while (poll(&pfd, 1, 0) > 0 && read(s->ifd, buf, sizeof(buf)) > 0)
        changed = true;
    return changed;
}

static void *static_thread(void *arg)
{
    struct ag_static *s = arg;
    struct agent *ag = s->ag;
    int64_t last_scan = ck_mono_ns(), last_mirror = 0;
    while (!*ag->stop) {
        usleep(100000);
        int64_t now = ck_mono_ns();
        if (inotify_changed(s) || now - last_scan >= s->every_ns) {
            apply(s, scan(s));
            last_scan = now;
        }
        if (!ck_informer_has_synced(ag->pod_inf))
            continue;
        if (atomic_exchange(&s->kick, false) || now - last_mirror >= SEC) {
            sync_mirrors(s);
            last_mirror = now;
        }
    }
    return NULL;
}

int ag_static_start(struct agent *ag, struct ck_err *err)
{
    const char *dir = ag->o->pod_manifest_path;
    if (!dir || !*dir || ag->hollow)
        return 0;
    struct ag_static *s = ck_calloc(1, sizeof(*s));
    s->ag = ag;
    s->dir = ck_strdup(dir);
    s->pods = json_object();
    s->every_ns =
        (int64_t)(ag->o->file_check_frequency_s > 0 ? ag->o->file_check_frequency_s : 20) * SEC;
    s->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (s->ifd >= 0 && inotify_add_watch(s->ifd, dir,
                                         IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE |
                                             IN_MOVED_TO | IN_MOVED_FROM | IN_ATTRIB) < 0) {
        ck_v(1, "static pods: inotify on %s: %s (polling only)", dir, strerror(errno));
        close(s->ifd);
        s->ifd = -1;
    }
    apply(s, scan(s)); /* before the PLEG runs: running static pods are adopted */
    if (pthread_create(&s->th, NULL, static_thread, s) != 0) {
        if (s->ifd >= 0)
            close(s->ifd);
        json_decref(s->pods);
        free(s->dir);
        free(s);
        return ck_err_set(err, CK_R_INTERNAL, "static pods: cannot start a thread");
    }
    ag->statics = s;
    ck_info("static pods: watching %s (%zu pod(s))", dir, json_object_size(s->pods));
    return 0;
}

void ag_static_stop(struct agent *ag)
{
    struct ag_static *s = ag->statics;
    if (!s)
        return;
    pthread_join(s->th, NULL);
    if (s->ifd >= 0)
        close(s->ifd);
    json_decref(s->pods);
    free(s->node_uid);
    free(s->dir);
    free(s);
    ag->statics = NULL;
}

void ag_static_kick(struct agent *ag)
{
    if (ag->statics)
        atomic_store(&ag->statics->kick, true);
}

const char *ag_pod_status_uid(struct agent *ag, struct ag_pod *p)
{
    if (!p->is_static)
        return p->uid;
    pthread_mutex_lock(&ag->mu);
    char *m = p->mirror_uid ? ck_strdup(p->mirror_uid) : NULL;
    pthread_mutex_unlock(&ag->mu);
    if (!m) {
        ck_v(4, "static pod %s/%s has no mirror pod yet: status not sent", p->ns, p->name);
        return NULL;
    }
    if (!p->status_uid || strcmp(p->status_uid, m)) {
        json_decref(p->sent); /* a new mirror: send the whole status again */
        p->sent = NULL;
        free(p->status_uid);
        p->status_uid = m;
    } else {
        free(m);
    }
    return p->status_uid;
}

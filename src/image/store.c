/* SPDX-License-Identifier: Apache-2.0 */
/* The store: directory layout, the JSON index (<root>/images.json, replaced atomically) and
 * every operation on it. Index changes run under a process mutex plus flock(<root>/lock), so
 * threads and processes sharing a root serialise; blobs and layers referenced by no image are
 * swept under the same lock. */
#include "image/image_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/strmap.h"
#include "lib/banned.h"

#define INDEX_MAX (64u << 20)

struct img_store {
    char *root;
    int lockfd;
    pthread_mutex_t mu;
};

static int mkdir_p(const char *path, struct ck_err *err)
{
    char buf[PATH_MAX];
    if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
        return ck_err_set(err, CK_R_BAD_REQUEST, "path too long: %.100s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return ck_err_sys(err, errno, "mkdir %s", buf);
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return ck_err_sys(err, errno, "mkdir %s", buf);
    return 0;
}

/* Removes staging dirs ("pull-<pid>-...") whose process is gone. */
static void clean_stale(struct img_store *s)
{
    ck_autofree char *tmp = ck_asprintf("%s/tmp", s->root);
    DIR *d = opendir(tmp);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        long pid = 0;
        if (sscanf(de->d_name, "pull-%ld-", &pid) != 1 &&
            sscanf(de->d_name, "index-%ld-", &pid) != 1)
            continue;
        if (pid == (long)getpid() || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        ck_autofree char *p = ck_asprintf("%s/%s", tmp, de->d_name);
        ck_info("image: removing stale staging %s", p);
        img_rmtree(p);
    }
    if (d)
        closedir(d);
}

int img_store_open(const char *root, struct img_store **out, struct ck_err *err)
{
    if (!root || !*root)
        return ck_err_set(err, CK_R_BAD_REQUEST, "image store root is empty");
    if (mkdir_p(root, err) < 0)
        return ck_err_wrap(err, "image store");
    char real[PATH_MAX];
    if (!realpath(root, real))
        return ck_err_sys(err, errno, "image store: realpath %s", root);
    static const char *const subs[] = {"blobs/sha256", "layers", "tmp", "locks", "pins"};
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        ck_autofree char *p = ck_asprintf("%s/%s", real, subs[i]);
        if (mkdir_p(p, err) < 0)
            return ck_err_wrap(err, "image store");
    }
    ck_autofree char *lockp = ck_asprintf("%s/lock", real);
    int fd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return ck_err_sys(err, errno, "image store: open %s", lockp);
    struct img_store *s = ck_calloc(1, sizeof(*s));
    s->root = ck_strdup(real);
    s->lockfd = fd;
    pthread_mutex_init(&s->mu, NULL);
    clean_stale(s);
    *out = s;
    return 0;
}

void img_store_close(struct img_store *s)
{
    if (!s)
        return;
    close(s->lockfd);
    pthread_mutex_destroy(&s->mu);
    free(s->root);
    free(s);
}

const char *img_store_root(const struct img_store *s)
{
    return s->root;
}

char *img_store_layer_path(const struct img_store *s, const char *diffid)
{
    return ck_asprintf("%s/layers/%s", s->root, diffid + 7);
}

char *img_store_blob_path(const struct img_store *s, const char *digest)
{
    return ck_asprintf("%s/blobs/sha256/%s", s->root, digest + 7);
}

char *img_store_staging(struct img_store *s, struct ck_err *err)
{
    char *p = ck_asprintf("%s/tmp/pull-%ld-XXXXXX", s->root, (long)getpid());
    if (!mkdtemp(p)) {
        ck_err_sys(err, errno, "image store: mkdtemp %s", p);
        free(p);
        return NULL;
    }
    return p;
}

int img_store_lock_digest(struct img_store *s, const char *digest, struct ck_err *err)
{
    if (!img_digest_valid(digest))
        return ck_err_set(err, CK_R_BAD_REQUEST, "invalid digest");
    ck_autofree char *p = ck_asprintf("%s/locks/%s", s->root, digest + 7);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return ck_err_sys(err, errno, "image store: open %s", p);
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            return ck_err_sys(err, e, "image store: flock %s", p);
        }
    }
    return fd;
}

static void store_lock(struct img_store *s)
{
    pthread_mutex_lock(&s->mu);
    while (flock(s->lockfd, LOCK_EX) < 0 && errno == EINTR)
        ;
}

static void store_unlock(struct img_store *s)
{
    flock(s->lockfd, LOCK_UN);
    pthread_mutex_unlock(&s->mu);
}

/* ---- the index ----------------------------------------------------------------------- */

static json_t *index_empty(void)
{
    return json_pack("{s:i, s:{}}", "version", 1, "images");
}

/* Drops entries a hand-edited or damaged index may hold that the code below relies on not
 * seeing: keys that are not digests, records that are not objects, non-digest ids in the
 * "layers"/"blobs" lists. */
static void index_sanitize(json_t *images)
{
    const char *id;
    json_t *rec;
    void *tmp;
    json_object_foreach_safe(images, tmp, id, rec)
    {
        if (!img_digest_valid(id) || !json_is_object(rec)) {
            ck_warn("image index: dropping malformed entry \"%.80s\"", id);
            json_object_del(images, id);
            continue;
        }
        static const char *const lists[] = {"layers", "blobs"};
        for (size_t k = 0; k < 2; k++) {
            json_t *a = json_object_get(rec, lists[k]);
            for (size_t i = json_array_size(a); i-- > 0;)
                if (!img_digest_valid(json_string_value(json_array_get(a, i))))
                    json_array_remove(a, i);
        }
    }
}

/* Loads the index (an empty one when absent). CK_R_CORRUPT if unreadable. */
static int index_load(struct img_store *s, json_t **out, struct ck_err *err)
{
    ck_autofree char *p = ck_asprintf("%s/images.json", s->root);
    json_error_t je;
    json_t *j = json_load_file(p, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        if (access(p, F_OK) < 0 && errno == ENOENT) {
            *out = index_empty();
            return 0;
        }
        return ck_err_set(err, CK_R_CORRUPT, "image index %s: %s", p, je.text);
    }
    if (!json_is_object(json_object_get(j, "images"))) {
        json_decref(j);
        return ck_err_set(err, CK_R_CORRUPT, "image index %s has no images object", p);
    }
    index_sanitize(json_object_get(j, "images"));
    *out = j;
    return 0;
}

static int index_save(struct img_store *s, json_t *j, struct ck_err *err)
{
    static unsigned seq;
    ck_autofree char *tmp = ck_asprintf("%s/tmp/index-%ld-%u", s->root, (long)getpid(), seq++);
    ck_autofree char *dst = ck_asprintf("%s/images.json", s->root);
    char *text = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (!text)
        ck_fatal("json_dumps failed");
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = ck_err_sys(err, errno, "image index: create %s", tmp);
    } else {
        struct img_sink k;
        img_sink_init(&k, fd, INDEX_MAX);
        if (img_sink_write(&k, text, strlen(text)) < 0 || fsync(fd) < 0)
            rc = ck_err_sys(err, k.failed_errno ? k.failed_errno : errno, "image index: write");
        img_sink_release(&k);
        close(fd);
    }
    if (rc == 0 && rename(tmp, dst) < 0)
        rc = ck_err_sys(err, errno, "image index: rename");
    if (rc < 0)
        unlink(tmp);
    free(text);
    return rc;
}

static json_t *rec_array(json_t *rec, const char *k)
{
    json_t *a = json_object_get(rec, k);
    if (!json_is_array(a)) {
        a = json_array();
        json_object_set_new(rec, k, a);
    }
    return a;
}

static bool array_has(json_t *a, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (json_is_string(v) &&
                                    strcmp(json_string_value(v), s) == 0) return true;
    return false;
}

static void array_remove(json_t *a, const char *s)
{
    for (size_t i = json_array_size(a); i-- > 0;)
        if (strcmp(json_string_value(json_array_get(a, i)) ?: "", s) == 0)
            json_array_remove(a, i);
}

static int64_t rec_int(json_t *rec, const char *k)
{
    return json_integer_value(json_object_get(rec, k));
}

/* ---- resolve ------------------------------------------------------------------------- */

static bool is_hex(const char *q, size_t *n)
{
    size_t i = 0;
    for (; q[i]; i++)
        if (!((q[i] >= '0' && q[i] <= '9') || (q[i] >= 'a' && q[i] <= 'f')))
            return false;
    *n = i;
    return true;
}

/* Finds the image id for q in images; returns a borrowed key or NULL with err set. */
static const char *resolve_in(json_t *images, const char *q, struct ck_err *err)
{
    size_t hn = 0;
    const char *id;
    json_t *rec;
    if (!q || !*q) {
        ck_err_set(err, CK_R_BAD_REQUEST, "empty image reference");
        return NULL;
    }
    if (img_digest_valid(q) && json_object_get(images, q))
        return json_object_iter_key(json_object_iter_at(images, q));
    const char *hq = strncmp(q, "sha256:", 7) == 0 ? q + 7 : q;
    if (is_hex(hq, &hn) && hn >= 4 && hn <= 64) {
        const char *found = NULL;
        int nfound = 0;
        json_object_foreach(images, id, rec) if (strncmp(id + 7, hq, hn) == 0) found = id, nfound++;
        if (nfound == 1)
            return found;
        if (nfound > 1) {
            ck_err_set(err, CK_R_BAD_REQUEST, "image id prefix %s is ambiguous", q);
            return NULL;
        }
    }
    struct img_ref r;
    if (img_ref_parse(q, &r, err) < 0)
        return NULL;
    ck_autofree char *name = img_ref_name(&r);
    ck_autofree char *key =
        r.digest ? ck_asprintf("%s@%s", name, r.digest) : ck_asprintf("%s:%s", name, r.tag);
    img_ref_release(&r);
    const char *hit = NULL;
    json_object_foreach(images, id, rec)
    {
        if (array_has(json_object_get(rec, "tags"), key) ||
            array_has(json_object_get(rec, "digests"), key))
            hit = id;
    }
    if (!hit)
        ck_err_set(err, CK_R_NOT_FOUND, "image \"%s\" not found", q);
    return hit;
}

int img_resolve(struct img_store *s, const char *ref_or_id, char id_out[IMG_ID_MAX],
                struct ck_err *err)
{
    json_t *j;
    store_lock(s);
    int rc = index_load(s, &j, err);
    store_unlock(s);
    if (rc < 0)
        return -1;
    const char *id = resolve_in(json_object_get(j, "images"), ref_or_id, err);
    if (id)
        snprintf(id_out, IMG_ID_MAX, "%s", id);
    json_decref(j);
    return id ? 0 : -1;
}

/* ---- commit -------------------------------------------------------------------------- */

/* Moves staged <staging>/<prefix><hex> to dst unless dst exists; CK_R_CONFLICT if neither. */
static int place(const char *staging, const char *prefix, const char *digest, const char *dst,
                 struct ck_err *err)
{
    if (access(dst, F_OK) == 0)
        return 0;
    ck_autofree char *src = ck_asprintf("%s/%s%s", staging, prefix, digest + 7);
    if (rename(src, dst) == 0)
        return 0;
    if (errno == ENOENT)
        return ck_err_set(err, CK_R_CONFLICT, "%s was removed by a concurrent gc", digest);
    return ck_err_sys(err, errno, "image store: rename %s", src);
}

static void record_image(json_t *images, const struct img_commit *c)
{
    json_t *rec = json_object_get(images, c->id);
    int64_t now = (int64_t)time(NULL);
    if (!rec) {
        rec = json_object();
        json_object_set_new(rec, "created", json_integer(now));
        json_object_set_new(images, c->id, rec);
    }
    json_t *layers = json_array();
    for (size_t i = 0; i < c->nlayers; i++)
        json_array_append_new(layers, json_string(c->layers[i]));
    json_object_set_new(rec, "layers", layers);
    json_t *blobs = rec_array(rec, "blobs");
    for (size_t i = 0; i < c->nblobs; i++)
        if (!array_has(blobs, c->blobs[i]))
            json_array_append_new(blobs, json_string(c->blobs[i]));
    json_object_set_new(rec, "size", json_integer(c->size));
    json_object_set_new(rec, "last_used", json_integer(now));
    if (c->tag_ref) {
        const char *id;
        json_t *other;
        json_object_foreach(images, id, other)
            array_remove(json_object_get(other, "tags"), c->tag_ref);
        json_array_append_new(rec_array(rec, "tags"), json_string(c->tag_ref));
    }
    json_t *digests = rec_array(rec, "digests");
    if (c->digest_ref && !array_has(digests, c->digest_ref))
        json_array_append_new(digests, json_string(c->digest_ref));
}

int img_store_commit(struct img_store *s, const struct img_commit *c, struct ck_err *err)
{
    json_t *j = NULL;
    store_lock(s);
    int rc = index_load(s, &j, err);
    for (size_t i = 0; rc == 0 && i < c->nblobs; i++) {
        ck_autofree char *dst = img_store_blob_path(s, c->blobs[i]);
        rc = place(c->staging, "", c->blobs[i], dst, err);
    }
    for (size_t i = 0; rc == 0 && i < c->nlayers; i++) {
        ck_autofree char *dst = img_store_layer_path(s, c->layers[i]);
        rc = place(c->staging, "L-", c->layers[i], dst, err);
    }
    if (rc == 0) {
        record_image(json_object_get(j, "images"), c);
        rc = index_save(s, j, err);
    }
    store_unlock(s);
    json_decref(j);
    return rc;
}

/* ---- sweep: delete blobs and layers no image references ------------------------------ */

static void collect_refs(json_t *images, struct ck_strmap *refs)
{
    const char *id;
    json_t *rec, *v;
    size_t i;
    json_object_foreach(images, id, rec)
    {
        json_array_foreach(json_object_get(rec, "blobs"), i, v) if (json_is_string(v))
            ck_strmap_put(refs, json_string_value(v) + 7, refs);
        json_array_foreach(json_object_get(rec, "layers"), i, v) if (json_is_string(v))
            ck_strmap_put(refs, json_string_value(v) + 7, refs);
    }
}

static void sweep_dir(const char *dir, const struct ck_strmap *refs)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        size_t n;
        if (!is_hex(de->d_name, &n) || n != 64 || ck_strmap_get(refs, de->d_name, NULL))
            continue;
        ck_autofree char *p = ck_asprintf("%s/%s", dir, de->d_name);
        ck_v(2, "image: removing unreferenced %s", p);
        if (img_rmtree(p) < 0)
            ck_warn("image: cannot remove %s", p);
    }
    if (d)
        closedir(d);
}

/* Adds the digests of live pulls' pin files to refs; removes pins of dead processes. */
static void collect_pins(struct img_store *s, struct ck_strmap *refs)
{
    ck_autofree char *dir = ck_asprintf("%s/pins", s->root);
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        ck_autofree char *p = ck_asprintf("%s/%s", dir, de->d_name);
        pid_t pid = (pid_t)atol(de->d_name);
        if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH)) {
            unlink(p);
            continue;
        }
        FILE *f = fopen(p, "r");
        char line[128];
        while (f && fgets(line, sizeof(line), f)) {
            line[strcspn(line, "\n")] = 0;
            size_t n;
            if (is_hex(line, &n) && n == 64)
                ck_strmap_put(refs, line, refs);
        }
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
}

int img_store_pin(struct img_store *s, char **pin, const char *const *digests, size_t n,
                  struct ck_err *err)
{
    static unsigned long seq;
    int rc = 0;
    store_lock(s);
    if (!*pin)
        *pin = ck_asprintf("%s/pins/%ld-%lu", s->root, (long)getpid(),
                           __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST));
    FILE *f = fopen(*pin, "a");
    if (!f) {
        rc = ck_err_sys(err, errno, "image store: pin %s", *pin);
    } else {
        for (size_t i = 0; i < n; i++)
            if (digests[i] && !strncmp(digests[i], "sha256:", 7))
                fprintf(f, "%s\n", digests[i] + 7);
        if (fclose(f) != 0)
            rc = ck_err_sys(err, errno, "image store: pin %s", *pin);
    }
    store_unlock(s);
    return rc;
}

void img_store_unpin(char *pin)
{
    if (pin)
        unlink(pin);
    free(pin);
}

/* Under the store lock. */
static void sweep(struct img_store *s, json_t *images)
{
    struct ck_strmap refs = CK_STRMAP_INIT;
    collect_refs(images, &refs);
    collect_pins(s, &refs);
    ck_autofree char *blobs = ck_asprintf("%s/blobs/sha256", s->root);
    ck_autofree char *layers = ck_asprintf("%s/layers", s->root);
    sweep_dir(blobs, &refs);
    sweep_dir(layers, &refs);
    ck_strmap_release(&refs);
}

/* ---- list / inspect ------------------------------------------------------------------ */

static char **strv_of(json_t *a, size_t *n)
{
    size_t len = json_array_size(a), k = 0;
    char **v = ck_calloc(len + 1, sizeof(char *));
    for (size_t i = 0; i < len; i++)
        if (json_is_string(json_array_get(a, i)))
            v[k++] = ck_strdup(json_string_value(json_array_get(a, i)));
    *n = k;
    return v;
}

static void info_fill(struct img_info *in, const char *id, json_t *rec)
{
    snprintf(in->id, sizeof(in->id), "%s", id);
    in->repo_tags = strv_of(json_object_get(rec, "tags"), &in->ntags);
    in->repo_digests = strv_of(json_object_get(rec, "digests"), &in->ndigests);
    in->size = rec_int(rec, "size");
    in->last_used = rec_int(rec, "last_used");
    in->created = rec_int(rec, "created");
}

static int info_cmp(const void *a, const void *b)
{
    return strcmp(((const struct img_info *)a)->id, ((const struct img_info *)b)->id);
}

int img_list(struct img_store *s, struct img_info **out, size_t *n, struct ck_err *err)
{
    json_t *j;
    store_lock(s);
    int rc = index_load(s, &j, err);
    store_unlock(s);
    if (rc < 0)
        return -1;
    json_t *images = json_object_get(j, "images");
    struct img_info *v = ck_calloc(json_object_size(images) + 1, sizeof(*v));
    size_t k = 0;
    const char *id;
    json_t *rec;
    json_object_foreach(images, id, rec) if (img_digest_valid(id)) info_fill(&v[k++], id, rec);
    qsort(v, k, sizeof(*v), info_cmp);
    json_decref(j);
    *out = v;
    *n = k;
    return 0;
}

void img_info_free(struct img_info *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        img_strv_free(v[i].repo_tags);
        img_strv_free(v[i].repo_digests);
    }
    free(v);
}

int img_inspect(struct img_store *s, const char *ref_or_id, struct img_info **info,
                struct ck_err *err)
{
    json_t *j;
    store_lock(s);
    int rc = index_load(s, &j, err);
    store_unlock(s);
    if (rc < 0)
        return -1;
    json_t *images = json_object_get(j, "images");
    const char *id = resolve_in(images, ref_or_id, err);
    if (id) {
        *info = ck_calloc(1, sizeof(**info));
        info_fill(*info, id, json_object_get(images, id));
    }
    json_decref(j);
    return id ? 0 : -1;
}

/* ---- get ----------------------------------------------------------------------------- */

static int read_config(struct img_store *s, const char *id, struct img_config *cfg,
                       struct ck_err *err)
{
    ck_autofree char *p = img_store_blob_path(s, id);
    FILE *f = fopen(p, "rbe");
    if (!f)
        return ck_err_sys(err, errno, "image %s: config blob", id);
    struct ck_buf b = CK_BUF_INIT(IMG_CONFIG_MAX);
    char chunk[16384];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (ck_buf_append(&b, chunk, n) < 0)
            rc = ck_err_set(err, CK_R_CORRUPT, "image %s: config too large", id);
    fclose(f);
    if (rc == 0)
        rc = img_digest_check(b.data ? b.data : "", b.len, id, "stored image config", err);
    if (rc == 0)
        rc = img_config_parse(b.data ? b.data : "", b.len, cfg, NULL, NULL, err);
    ck_buf_release(&b);
    return rc;
}

int img_get(struct img_store *s, const char *id, struct img_config *cfg, char ***layer_dirs,
            size_t *nlayers, struct ck_err *err)
{
    json_t *j;
    store_lock(s);
    int rc = index_load(s, &j, err);
    store_unlock(s);
    if (rc < 0)
        return -1;
    json_t *images = json_object_get(j, "images");
    const char *key = resolve_in(images, id, err);
    json_t *layers = key ? json_object_get(json_object_get(images, key), "layers") : NULL;
    rc = key ? 0 : -1;
    size_t n = json_array_size(layers);
    char **dirs = rc == 0 ? ck_calloc(n + 1, sizeof(char *)) : NULL;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *d = json_string_value(json_array_get(layers, i));
        if (!img_digest_valid(d))
            rc = ck_err_set(err, CK_R_CORRUPT, "image index: bad layer id in %s", key);
        else
            dirs[i] = img_store_layer_path(s, d);
        if (rc == 0 && access(dirs[i], F_OK) < 0)
            rc = ck_err_sys(err, errno, "image %s: layer dir %s", key, dirs[i]);
    }
    if (rc == 0 && cfg)
        rc = read_config(s, key, cfg, err);
    if (rc == 0 && layer_dirs)
        *layer_dirs = dirs;
    else
        img_strv_free(dirs);
    if (rc == 0 && nlayers)
        *nlayers = n;
    json_decref(j);
    return rc;
}

/* ---- remove / gc / touch -------------------------------------------------------------- */

/* True when q names the image by id (full or prefix) rather than by tag or digest. */
static bool names_id(const char *q, const char *id)
{
    size_t hn;
    const char *hq = strncmp(q, "sha256:", 7) == 0 ? q + 7 : q;
    return is_hex(hq, &hn) && hn >= 4 && strncmp(id + 7, hq, hn) == 0;
}

static void untag(json_t *rec, const char *q)
{
    struct img_ref r;
    if (img_ref_parse(q, &r, NULL) < 0)
        return;
    ck_autofree char *name = img_ref_name(&r);
    ck_autofree char *key =
        r.digest ? ck_asprintf("%s@%s", name, r.digest) : ck_asprintf("%s:%s", name, r.tag);
    array_remove(json_object_get(rec, "tags"), key);
    array_remove(json_object_get(rec, "digests"), key);
    img_ref_release(&r);
}

int img_remove(struct img_store *s, const char *ref_or_id, struct ck_err *err)
{
    json_t *j;
    store_lock(s);
    int rc = index_load(s, &j, err);
    json_t *images = rc == 0 ? json_object_get(j, "images") : NULL;
    const char *found = rc == 0 ? resolve_in(images, ref_or_id, err) : NULL;
    if (rc == 0 && !found)
        rc = -1;
    if (rc == 0) {
        char id[IMG_ID_MAX];
        snprintf(id, sizeof(id), "%s", found);
        json_t *rec = json_object_get(images, id);
        if (!names_id(ref_or_id, id))
            untag(rec, ref_or_id);
        if (names_id(ref_or_id, id) || json_array_size(json_object_get(rec, "tags")) == 0)
            json_object_del(images, id);
        rc = index_save(s, j, err);
        if (rc == 0)
            sweep(s, images);
    }
    store_unlock(s);
    json_decref(j);
    return rc;
}

static bool in_list(const char *id, const char *const *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] && strcmp(ids[i], id) == 0)
            return true;
    return false;
}

int img_gc(struct img_store *s, int64_t older_than_unix, const char *const *in_use_ids,
           size_t nin_use, struct ck_err *err)
{
    json_t *j;
    store_lock(s);
    int rc = index_load(s, &j, err);
    int removed = 0;
    json_t *images = rc == 0 ? json_object_get(j, "images") : NULL;
    const char *id;
    json_t *rec;
    void *tmp;
    json_object_foreach_safe(images, tmp, id, rec)
    {
        if (in_list(id, in_use_ids, nin_use) || rec_int(rec, "last_used") >= older_than_unix)
            continue;
        ck_v(1, "image: gc removes %s", id);
        json_object_del(images, id);
        removed++;
    }
    if (rc == 0 && removed)
        rc = index_save(s, j, err);
    if (rc == 0)
        sweep(s, images);
    store_unlock(s);
    json_decref(j);
    return rc < 0 ? rc : removed;
}

int img_touch(struct img_store *s, const char *id)
{
    json_t *j;
    struct ck_err e = CK_ERR_INIT;
    store_lock(s);
    int rc = index_load(s, &j, &e);
    json_t *images = rc == 0 ? json_object_get(j, "images") : NULL;
    const char *key = rc == 0 ? resolve_in(images, id, &e) : NULL;
    if (key) {
        json_object_set_new(json_object_get(images, key), "last_used",
                            json_integer((json_int_t)time(NULL)));
        rc = index_save(s, j, &e);
    } else {
        rc = -1;
    }
    store_unlock(s);
    json_decref(j);
    return rc;
}

int img_lowerdir(struct img_store *s, const char *id, char **out, struct ck_err *err)
{
    if (strpbrk(s->root, ":,"))
        return ck_err_set(err, CK_R_BAD_REQUEST, "image store root %s holds ':' or ','", s->root);
    char **dirs;
    size_t n;
    if (img_get(s, id, NULL, &dirs, &n, err) < 0)
        return -1;
    struct ck_buf b = CK_BUF_INIT(3500);
    int rc = n ? 0 : ck_err_set(err, CK_R_INVALID, "image %s has no layers", id);
    for (size_t i = n; rc == 0 && i-- > 0;)
        if (ck_buf_appendf(&b, "%s%s", i + 1 < n ? ":" : "", dirs[i]) < 0)
            rc = ck_err_set(err, CK_R_TOO_LARGE,
                            "image %s: %zu layers do not fit in one overlay "
                            "mount option",
                            id, n);
    img_strv_free(dirs);
    if (rc == 0)
        *out = ck_buf_detach(&b, NULL);
    ck_buf_release(&b);
    return rc;
}

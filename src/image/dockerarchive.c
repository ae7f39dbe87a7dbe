/* SPDX-License-Identifier: Apache-2.0 */
/* docker-archive import (`docker save`, skopeo's docker-archive: transport): manifest.json is
 * [{"Config": "<file>", "RepoTags": ["name:tag", ...] | null, "Layers": ["<file>", ...]}, ...],
 * the files relative to the archive's root (docker 25+ points them into blobs/sha256/, older
 * archives use <hex>.json and <hex>/layer.tar, possibly symlinks inside the archive). Each
 * entry becomes an img_source whose manifest is a Docker v2s2 manifest made up from the
 * files' digests and sizes, so the common pipeline (pull.c) verifies the layers against the
 * config's diff_ids and stores them as a pull would. */
#include "image/image_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/banned.h"

#define DA_MANIFEST_MAX (4u << 20)
#define DA_MAX_IMAGES 1024

struct da_blob {
    char digest[IMG_ID_MAX];
    char *path;
    int64_t size;
};

struct da_src {
    char *manifest; /* the made-up v2s2 manifest */
    struct da_blob *blobs;
    size_t nblobs;
};

static void da_src_release(struct da_src *d)
{
    free(d->manifest);
    for (size_t i = 0; i < d->nblobs; i++)
        free(d->blobs[i].path);
    free(d->blobs);
    memset(d, 0, sizeof(*d));
}

/* Streams path into k (hash only when k->fd < 0); the first bytes go to head. */
static int stream_file(const char *path, struct img_sink *k, unsigned char *head, size_t nhead,
                       struct ck_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ck_err_sys(err, errno, "open %s", path);
    char chunk[65536];
    size_t got = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ck_err_sys(err, errno, "read %s", path);
            break;
        }
        if (n == 0)
            break;
        if (got < nhead) {
            size_t c = (size_t)n < nhead - got ? (size_t)n : nhead - got;
            memcpy(head + got, chunk, c);
            got += c;
        }
        if (img_sink_write(k, chunk, (size_t)n) < 0) {
            rc = k->failed_errno == EFBIG
                     ? ck_err_set(err, CK_R_CORRUPT, "%s is larger than expected", path)
                     : ck_err_sys(err, k->failed_errno, "writing %s", path);
            break;
        }
    }
    close(fd);
    return rc;
}

/* The archive file rel, which must resolve (symlinks followed) to a regular file inside
 * root (its realpath). Returns the resolved path (caller frees) or NULL. */
static char *member(const char *root, const char *rel, struct ck_err *err)
{
    if (!rel || !*rel || rel[0] == '/' || strlen(rel) > 1024) {
        ck_err_set(err, CK_R_CORRUPT, "docker-archive: bad file name in manifest.json");
        return NULL;
    }
    ck_autofree char *p = ck_asprintf("%s/%s", root, rel);
    char *real = realpath(p, NULL);
    size_t rn = strlen(root);
    struct stat st;
    if (!real || strncmp(real, root, rn) != 0 || real[rn] != '/' || stat(real, &st) < 0 ||
        !S_ISREG(st.st_mode)) {
        ck_err_set(err, CK_R_CORRUPT, "docker-archive: %s is missing or not a file in the archive",
                   rel);
        free(real);
        return NULL;
    }
    return real;
}

/* Adds file rel as a blob: digest, size and (for layers) its media type by magic. */
static int add_blob(struct da_src *d, const char *root, const char *rel, json_t *descs, bool config,
                    struct ck_err *err)
{
    char *path = member(root, rel, err);
    if (!path)
        return -1;
    struct img_sink k;
    img_sink_init(&k, -1, config ? IMG_CONFIG_MAX : INT64_MAX);
    unsigned char head[4] = {0};
    int rc = stream_file(path, &k, head, sizeof(head), err);
    struct da_blob *b;
    d->blobs = ck_realloc(d->blobs, (d->nblobs + 1) * sizeof(*d->blobs));
    b = &d->blobs[d->nblobs++];
    b->path = path;
    b->size = k.written;
    if (rc == 0)
        img_sink_final(&k, b->digest);
    else
        b->digest[0] = 0;
    img_sink_release(&k);
    if (rc < 0)
        return -1;
    const char *mt = "application/vnd.docker.image.rootfs.diff.tar";
    if (config)
        mt = "application/vnd.docker.container.image.v1+json";
    else if (head[0] == 0x1f && head[1] == 0x8b)
        mt = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    else if (head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd)
        mt = "application/vnd.oci.image.layer.v1.tar+zstd";
    json_t *desc = json_pack("{s:s, s:I, s:s}", "mediaType", mt, "size", (json_int_t)b->size,
                             "digest", b->digest);
    if (json_is_array(descs))
        json_array_append_new(descs, desc);
    else
        json_object_set_new(descs, "config", desc);
    return 0;
}

/* Makes the source of one manifest.json entry. */
static int build_source(const char *root, const json_t *entry, struct da_src *d, struct ck_err *err)
{
    const json_t *layers = json_object_get(entry, "Layers");
    const char *cfg = json_string_value(json_object_get(entry, "Config"));
    if (!cfg || !json_is_array(layers) || json_array_size(layers) > IMG_MAX_LAYERS)
        return ck_err_set(err, CK_R_CORRUPT,
                          "docker-archive: manifest.json entry without Config or Layers");
    json_t *m = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType",
                          "application/vnd.docker.distribution.manifest.v2+json", "layers");
    int rc = add_blob(d, root, cfg, m, true, err);
    for (size_t i = 0; rc == 0 && i < json_array_size(layers); i++)
        rc = add_blob(d, root, json_string_value(json_array_get(layers, i)),
                      json_object_get(m, "layers"), false, err);
    if (rc == 0)
        d->manifest = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    if (rc == 0 && !d->manifest)
        rc = ck_err_set(err, CK_R_INTERNAL, "docker-archive: cannot encode a manifest");
    return rc;
}

static int da_manifest(void *ctx, const char *reference, struct ck_buf *body, char **ctype,
                       struct ck_err *err)
{
    struct da_src *d = ctx;
    (void)reference;
    *ctype = ck_strdup("application/vnd.docker.distribution.manifest.v2+json");
    if (ck_buf_append(body, d->manifest, strlen(d->manifest)) < 0)
        return ck_err_set(err, CK_R_TOO_LARGE, "docker-archive: manifest too large");
    return 0;
}

static int da_blob(void *ctx, const char *digest, struct img_sink *k, struct ck_err *err)
{
    struct da_src *d = ctx;
    for (size_t i = 0; i < d->nblobs; i++)
        if (!strcmp(d->blobs[i].digest, digest))
            return stream_file(d->blobs[i].path, k, NULL, 0, err);
    return ck_err_set(err, CK_R_NOT_FOUND, "docker-archive: no file with digest %s", digest);
}

static void add_result(struct img_imported **out, size_t *n, const char *id, const char *ref)
{
    *out = ck_realloc(*out, (*n + 1) * sizeof(**out));
    memcpy((*out)[*n].id, id, IMG_ID_MAX);
    (*out)[*n].ref = ref ? ck_strdup(ref) : NULL;
    (*n)++;
}

/* Imports entry under tag (a normalised "domain/path:tag", or NULL: untagged). */
static int import_one(struct img_store *s, struct da_src *d, const char *tag,
                      struct img_imported **out, size_t *n, struct ck_err *err)
{
    struct img_ref r = {0};
    if (tag && img_ref_parse(tag, &r, err) < 0)
        return -1;
    struct img_source src = {.manifest = da_manifest, .blob = da_blob, .ctx = d, .synthetic = true};
    ck_autofree char *name = tag ? img_ref_name(&r) : NULL;
    char id[IMG_ID_MAX];
    int rc =
        img_pull_from(s, &src, name, "archive", r.tag, NULL, "linux", img_host_arch(), id, err);
    if (rc == 0)
        add_result(out, n, id, tag);
    img_ref_release(&r);
    return rc;
}

/* The normalised form of a tag ("busybox" -> "docker.io/library/busybox:latest"), or NULL. */
static char *normal_tag(const char *t)
{
    struct img_ref r;
    struct ck_err e = CK_ERR_INIT;
    if (!t || img_ref_parse(t, &r, &e) < 0)
        return NULL;
    if (!r.tag) {
        img_ref_release(&r);
        return NULL;
    }
    char *s = img_ref_string(&r);
    img_ref_release(&r);
    return s;
}

/* Which tags of entry to record: all (want NULL), or want when the entry holds it. */
static int entry_tags(const json_t *entry, const char *want, char ***tags, size_t *ntags)
{
    const json_t *rt = json_object_get(entry, "RepoTags");
    *tags = ck_calloc(json_array_size(rt) + 2, sizeof(char *));
    *ntags = 0;
    for (size_t i = 0; i < json_array_size(rt); i++) {
        char *t = normal_tag(json_string_value(json_array_get(rt, i)));
        if (t && (!want || !strcmp(t, want)))
            (*tags)[(*ntags)++] = t;
        else
            free(t);
    }
    return (int)*ntags;
}

static int import_entries(struct img_store *s, const char *root, const json_t *arr, const char *ref,
                          struct img_imported **out, size_t *n, struct ck_err *err)
{
    ck_autofree char *want = NULL;
    if (ref && !(want = normal_tag(ref)))
        return ck_err_set(err, CK_R_BAD_REQUEST, "invalid image reference %s", ref);
    size_t hits = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < json_array_size(arr); i++) {
        const json_t *entry = json_array_get(arr, i);
        char **tags;
        size_t nt;
        entry_tags(entry, want, &tags, &nt);
        bool only = json_array_size(arr) == 1;
        if (want && nt == 0 && only) /* one image: tag it as asked */
            tags[nt++] = ck_strdup(want);
        if (!want || nt > 0) {
            struct da_src d = {0};
            hits++;
            rc = build_source(root, entry, &d, err);
            for (size_t t = 0; rc == 0 && t < (nt ? nt : 1); t++)
                rc = import_one(s, &d, nt ? tags[t] : NULL, out, n, err);
            da_src_release(&d);
        }
        img_strv_free(tags);
    }
    if (rc == 0 && hits == 0)
        rc = ck_err_set(err, CK_R_NOT_FOUND, "%s is not in the archive", ref ? ref : "no image");
    return rc;
}

static int import_docker_dir(struct img_store *s, const char *dir, const char *ref,
                             struct img_imported **out, size_t *n, struct ck_err *err)
{
    ck_autofree char *root = realpath(dir, NULL);
    if (!root)
        return ck_err_sys(err, errno, "import %s", dir);
    ck_autofree char *mpath = ck_asprintf("%s/manifest.json", root);
    struct stat st;
    int rc = 0;
    if (stat(mpath, &st) < 0 || st.st_size > (off_t)DA_MANIFEST_MAX)
        rc = ck_err_set(err, CK_R_CORRUPT, "docker-archive: manifest.json missing or too large");
    json_t *arr = NULL;
    if (rc == 0) {
        json_error_t je;
        arr = json_load_file(mpath, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_array(arr) || json_array_size(arr) == 0 ||
            json_array_size(arr) > DA_MAX_IMAGES)
            rc = ck_err_set(err, CK_R_CORRUPT,
                            "docker-archive: manifest.json is not a list of images%s%s",
                            arr ? "" : ": ", arr ? "" : je.text);
    }
    if (rc == 0)
        rc = import_entries(s, root, arr, ref, out, n, err);
    json_decref(arr);
    return rc;
}

void img_imported_free(struct img_imported *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].ref);
    free(v);
}

int img_import(struct img_store *s, const char *path, const char *ref, struct img_imported **out,
               size_t *n, struct ck_err *err)
{
    *out = NULL;
    *n = 0;
    struct stat st;
    if (stat(path, &st) < 0)
        return ck_err_sys(err, errno, "import %s", path);
    char *tmp = S_ISDIR(st.st_mode) ? NULL : img_archive_extract(s, path, "archive", err);
    if (!S_ISDIR(st.st_mode) && !tmp)
        return -1;
    const char *dir = tmp ? tmp : path;
    ck_autofree char *mjson = ck_asprintf("%s/manifest.json", dir);
    int rc;
    if (access(mjson, F_OK) == 0) {
        rc = import_docker_dir(s, dir, ref, out, n, err);
        if (rc < 0)
            ck_err_wrap(err, "import %s", path);
    } else {
        char id[IMG_ID_MAX];
        rc = img_import_oci(s, dir, ref, id, err);
        if (rc == 0)
            add_result(out, n, id, ref);
    }
    if (rc < 0) {
        img_imported_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    if (tmp) {
        img_rmtree(tmp);
        free(tmp);
    }
    return rc;
}

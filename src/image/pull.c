/* SPDX-License-Identifier: Apache-2.0 */
/* The pull pipeline shared by registry pulls and OCI-layout imports: manifest (through
 * indexes) -> config -> layers, every byte verified, everything staged in a private dir and
 * handed to img_store_commit only when complete. A per-image lock serialises pulls of the
 * same image so the second one finds the first one's layers. */
#include "image/image_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/banned.h"

#define MAX_INDEX_DEPTH 3

struct pull {
    struct img_store *s;
    const struct img_source *src;
    char *staging;
    char **blobs; /* manifest + config digests, NULL-terminated */
    size_t nblobs;
    struct img_manifest m;
    char **diff_ids;
    size_t ndiff;
    char top_digest[IMG_ID_MAX];
    char *pin; /* digests this pull counts on finding in the store (see img_store_pin) */
    struct ck_err *err;
};

static void add_blob(struct pull *p, const char *digest)
{
    p->blobs = ck_realloc(p->blobs, (p->nblobs + 2) * sizeof(char *));
    p->blobs[p->nblobs++] = ck_strdup(digest);
    p->blobs[p->nblobs] = NULL;
}

static int write_file(const char *path, const void *data, size_t n, struct ck_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return ck_err_sys(err, errno, "create %s", path);
    struct img_sink k;
    img_sink_init(&k, fd, INT64_MAX);
    int rc = img_sink_write(&k, data, n);
    img_sink_release(&k);
    if (close(fd) < 0 || rc < 0)
        return ck_err_sys(err, rc < 0 ? k.failed_errno : errno, "write %s", path);
    return 0;
}

/* Fetches a manifest by reference, verifying it when the reference is a digest, and stages it. */
static int fetch_manifest(struct pull *p, const char *reference, struct ck_buf *body, char **ctype,
                          char digest[IMG_ID_MAX])
{
    ck_buf_reset(body);
    if (p->src->manifest(p->src->ctx, reference, body, ctype, p->err) < 0)
        return -1;
    const char *data = body->data ? body->data : "";
    if (img_digest_valid(reference) &&
        img_digest_check(data, body->len, reference, "manifest", p->err) < 0)
        return -1;
    img_digest_of(data, body->len, digest);
    ck_autofree char *path = ck_asprintf("%s/%s", p->staging, digest + 7);
    add_blob(p, digest);
    return write_file(path, data, body->len, p->err);
}

/* Resolves reference through any index to an image manifest and parses it into p->m. */
static int resolve_manifest(struct pull *p, const char *reference, const char *ref_name,
                            const char *os, const char *arch)
{
    struct ck_buf body = CK_BUF_INIT(IMG_MANIFEST_MAX);
    char digest[IMG_ID_MAX];
    char *ctype = NULL;
    int rc = fetch_manifest(p, reference, &body, &ctype, digest);
    if (rc == 0)
        memcpy(p->top_digest, digest, IMG_ID_MAX);
    for (int depth = 0; rc == 0; depth++) {
        enum img_mt kind;
        const char *data = body.data ? body.data : "";
        rc = img_manifest_kind(data, body.len, ctype, &kind, p->err);
        if (rc < 0)
            break;
        if (kind == IMG_MT_OCI_MANIFEST || kind == IMG_MT_DOCKER_V2S2) {
            rc = img_manifest_parse(data, body.len, &p->m, p->err);
            break;
        }
        struct img_desc d;
        if (depth >= MAX_INDEX_DEPTH) {
            rc = ck_err_set(p->err, CK_R_CORRUPT, "image indexes nested too deeply");
            break;
        }
        rc = img_index_select(data, body.len, os, arch, depth == 0 ? ref_name : NULL, &d, p->err);
        free(ctype);
        ctype = NULL;
        if (rc == 0)
            rc = fetch_manifest(p, d.digest, &body, &ctype, digest);
    }
    free(ctype);
    ck_buf_release(&body);
    return rc;
}

/* Fetches blob d into path, checking size and digest. */
static int fetch_blob_once(struct pull *p, const struct img_desc *d, const char *path, int64_t cap)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return ck_err_sys(p->err, errno, "create %s", path);
    struct img_sink k;
    img_sink_init(&k, fd, d->size < cap ? d->size : cap);
    int rc = p->src->blob(p->src->ctx, d->digest, &k, p->err);
    char got[IMG_ID_MAX];
    if (rc == 0) {
        img_sink_final(&k, got);
        if (k.written != d->size)
            rc = ck_err_set(p->err, CK_R_CORRUPT, "blob %s: got %lld bytes, descriptor says %lld",
                            d->digest, (long long)k.written, (long long)d->size);
        else if (strcmp(got, d->digest) != 0)
            rc = ck_err_set(p->err, CK_R_CORRUPT, "blob digest mismatch: expected %s, got %s",
                            d->digest, got);
    }
    img_sink_release(&k);
    close(fd);
    return rc;
}

#define BLOB_ATTEMPTS 3

/* A dropped connection or a stall is retried from scratch (twice, after 0.2 s and 0.4 s);
 * a verification failure is not. */
static int fetch_blob(struct pull *p, const struct img_desc *d, const char *path, int64_t cap)
{
    for (int i = 1;; i++) {
        int rc = fetch_blob_once(p, d, path, cap);
        if (rc == 0 || i == BLOB_ATTEMPTS || !p->err ||
            (p->err->reason != CK_R_SERVICE_UNAVAILABLE && p->err->reason != CK_R_TIMEOUT))
            return rc;
        ck_warn("image: blob %s: %s; retrying (%d/%d)", d->digest, p->err->msg, i + 1,
                BLOB_ATTEMPTS);
        usleep(200000u * (unsigned)i);
    }
}

static int read_small(const char *path, struct ck_buf *b, struct ck_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ck_err_sys(err, errno, "open %s", path);
    char chunk[16384];
    ssize_t n;
    int rc = 0;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        if (ck_buf_append(b, chunk, (size_t)n) < 0) {
            rc = ck_err_set(err, CK_R_TOO_LARGE, "%s too large", path);
            break;
        }
    if (n < 0)
        rc = ck_err_sys(err, errno, "read %s", path);
    close(fd);
    return rc;
}

/* Config from the store if present, else fetched and staged; parses diff ids. */
static int get_config(struct pull *p)
{
    const struct img_desc *d = &p->m.config;
    ck_autofree char *stored = img_store_blob_path(p->s, d->digest);
    ck_autofree char *staged = ck_asprintf("%s/%s", p->staging, d->digest + 7);
    struct ck_buf b = CK_BUF_INIT(IMG_CONFIG_MAX);
    int rc;
    if (access(stored, F_OK) == 0) {
        rc = read_small(stored, &b, p->err);
        if (rc == 0)
            rc = img_digest_check(b.data ? b.data : "", b.len, d->digest, "stored config", p->err);
    } else {
        rc = fetch_blob(p, d, staged, IMG_CONFIG_MAX);
        if (rc == 0)
            rc = read_small(staged, &b, p->err);
    }
    add_blob(p, d->digest);
    if (rc == 0)
        rc = img_config_parse(b.data ? b.data : "", b.len, NULL, &p->diff_ids, &p->ndiff, p->err);
    if (rc == 0 && p->ndiff != p->m.nlayers)
        rc = ck_err_set(p->err, CK_R_CORRUPT,
                        "image has %zu layers but its config lists %zu "
                        "diff_ids",
                        p->m.nlayers, p->ndiff);
    ck_buf_release(&b);
    return rc;
}

static int get_layer(struct pull *p, size_t i)
{
    const char *diffid = p->diff_ids[i];
    ck_autofree char *stored = img_store_layer_path(p->s, diffid);
    ck_autofree char *dir = ck_asprintf("%s/L-%s", p->staging, diffid + 7);
    if (access(stored, F_OK) == 0 || access(dir, F_OK) == 0)
        return 0; /* unpacked once: by an earlier pull, or earlier in this image */
    ck_autofree char *blob = ck_asprintf("%s/layer.blob", p->staging);
    if (fetch_blob(p, &p->m.layers[i], blob, INT64_MAX) < 0)
        return ck_err_wrap(p->err, "layer %zu", i);
    int fd = open(blob, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || mkdir(dir, 0755) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return ck_err_sys(p->err, e, "staging layer %zu", i);
    }
    char got[IMG_ID_MAX];
    int rc = img_unpack_layer(fd, dir, NULL, got, p->err);
    close(fd);
    unlink(blob);
    if (rc == 0 && strcmp(got, diffid) != 0)
        rc = ck_err_set(p->err, CK_R_CORRUPT,
                        "layer %zu diff_id mismatch: config says %s, the "
                        "uncompressed layer is %s",
                        i, diffid, got);
    if (rc < 0)
        return ck_err_wrap(p->err, "layer %zu (%s)", i, p->m.layers[i].digest);
    ck_v(2, "image: unpacked layer %s", diffid);
    return 0;
}

static int64_t image_size(const struct pull *p)
{
    int64_t n = p->m.config.size;
    for (size_t i = 0; i < p->m.nlayers; i++)
        n += p->m.layers[i].size;
    return n;
}

static int stage_and_commit(struct pull *p, const char *name, const char *tag)
{
    /* pin before looking: a gc sweeping between our look and our commit would otherwise
     * remove what we found */
    const char *cfg = p->m.config.digest;
    if (img_store_pin(p->s, &p->pin, &cfg, 1, p->err) < 0 || get_config(p) < 0)
        return -1;
    if (img_store_pin(p->s, &p->pin, (const char *const *)p->diff_ids, p->ndiff, p->err) < 0)
        return -1;
    for (size_t i = 0; i < p->ndiff; i++)
        if (get_layer(p, i) < 0)
            return -1;
    ck_autofree char *tag_ref = tag ? ck_asprintf("%s:%s", name, tag) : NULL;
    ck_autofree char *dig_ref =
        name && !p->src->synthetic ? ck_asprintf("%s@%s", name, p->top_digest) : NULL;
    struct img_commit c = {
        .staging = p->staging,
        .blobs = p->blobs,
        .nblobs = p->nblobs,
        .layers = p->diff_ids,
        .nlayers = p->ndiff,
        .tag_ref = tag_ref,
        .digest_ref = dig_ref,
        .size = image_size(p),
    };
    memcpy(c.id, p->m.config.digest, IMG_ID_MAX);
    return img_store_commit(p->s, &c, p->err);
}

int img_pull_from(struct img_store *s, const struct img_source *src, const char *name,
                  const char *reference, const char *tag, const char *ref_name, const char *os,
                  const char *arch, char id_out[IMG_ID_MAX], struct ck_err *err)
{
    struct pull p = {.s = s, .src = src, .err = err};
    p.staging = img_store_staging(s, err);
    if (!p.staging)
        return -1;
    int lockfd = -1;
    int rc = resolve_manifest(&p, reference, ref_name, os, arch);
    if (rc == 0) {
        lockfd = img_store_lock_digest(s, p.m.config.digest, err);
        rc = lockfd < 0 ? -1 : 0;
    }
    if (rc == 0)
        rc = stage_and_commit(&p, name, tag);
    if (rc == 0)
        memcpy(id_out, p.m.config.digest, IMG_ID_MAX);
    if (lockfd >= 0)
        close(lockfd);
    if (img_rmtree(p.staging) < 0)
        ck_warn("image: cannot remove staging dir %s", p.staging);
    free(p.staging);
    img_store_unpin(p.pin);
    img_strv_free(p.blobs);
    img_strv_free(p.diff_ids);
    img_manifest_release(&p.m);
    return rc;
}

/* ---- entry points -------------------------------------------------------------------- */

#define PULL_ATTEMPTS 3

/* True when the tag r names is present and was pulled from the manifest with digest d: a
 * HEAD that answers d means the local image is current and nothing needs fetching. */
static bool tag_is_current(struct img_store *s, const struct img_ref *r, const char *d,
                           char id_out[IMG_ID_MAX])
{
    ck_autofree char *tagged = img_ref_string(r);
    ck_autofree char *want = ck_asprintf("%s/%s@%s", r->domain, r->path, d);
    struct img_info *info = NULL;
    struct ck_err e = CK_ERR_INIT;
    bool hit = false;
    if (img_inspect(s, tagged, &info, &e) < 0)
        return false;
    for (size_t i = 0; i < info->ndigests && !hit; i++)
        hit = !strcmp(info->repo_digests[i], want);
    if (hit)
        memcpy(id_out, info->id, IMG_ID_MAX);
    img_info_free(info, 1);
    return hit;
}

/* One endpoint's worth of attempts (a concurrent gc may force a retry). A tag already
 * present is first re-resolved with a HEAD of its manifest: when the registry still serves
 * the image manifest it was pulled from, nothing is fetched (as containerd resolves before it
 * pulls). For an index the pipeline runs: it fetches the index and the platform's manifest,
 * and finds config and layers in the store. */
static int pull_with(struct img_store *s, const struct img_ref *r, const struct img_endpoint *ep,
                     const struct img_pull_opts *o, bool *tls_refused, char id_out[IMG_ID_MAX],
                     struct ck_err *err)
{
    struct img_reg *g = NULL;
    if (img_reg_new(ep, o, &g, err) < 0)
        return -1;
    struct img_source src;
    img_reg_source(g, &src);
    ck_autofree char *name = img_ref_name(r);
    const char *os = o && o->platform_os ? o->platform_os : "linux";
    const char *arch = o && o->platform_arch ? o->platform_arch : img_host_arch();
    int rc = -1;
    char head[IMG_ID_MAX] = "";
    ck_autofree char *tagged = img_ref_string(r);
    char local[IMG_ID_MAX];
    struct ck_err miss = CK_ERR_INIT;
    if (r->tag && !r->digest && img_resolve(s, tagged, local, &miss) == 0) {
        enum img_mt kind = IMG_MT_UNKNOWN;
        rc = img_reg_head(g, r->tag, head, &kind, err);
        /* an index names several images: which one is ours is known only by reading it */
        bool single = kind == IMG_MT_OCI_MANIFEST || kind == IMG_MT_DOCKER_V2S2;
        if (rc == 0 && head[0] && single && tag_is_current(s, r, head, id_out)) {
            ck_v(2, "image: %s:%s is up to date (%s)", name, r->tag, head);
            goto out;
        }
        if (rc < 0 && err && err->reason != CK_R_NOT_FOUND && err->reason != CK_R_BAD_REQUEST &&
            err->reason != CK_R_INTERNAL)
            goto out; /* unreachable, unauthorized, ...: a GET would fare no better */
        ck_err_clear(err);
    }
    for (int i = 0; i < PULL_ATTEMPTS; i++) {
        rc = img_pull_from(s, &src, name, r->digest ? r->digest : r->tag, r->tag, NULL, os, arch,
                           id_out, err);
        if (rc == 0 || !err || err->reason != CK_R_CONFLICT)
            break; /* on Conflict a concurrent gc removed something we counted on: again */
        ck_v(1, "image: %s: %s; pulling again", name, err->msg);
    }
out:
    *tls_refused = img_reg_tls_refused(g);
    img_reg_free(g);
    return rc;
}

/* One endpoint, with the pod's credentials for the reference's own registry, and Docker's
 * rule for a loopback registry that does not speak TLS: plain http. */
static int pull_endpoint(struct img_store *s, const struct img_ref *r, struct img_endpoint *ep,
                         const struct img_pull_opts *o, char id_out[IMG_ID_MAX], struct ck_err *err)
{
    struct img_endpoint e = *ep;
    if (ep->is_default && o && o->username) {
        e.username = (char *)o->username;
        e.password = (char *)o->password;
    }
    if (ep->is_default && o) { /* the TLS options of the call, where the file sets none */
        e.insecure_skip_verify = ep->insecure_skip_verify || o->insecure_skip_verify;
        if (!e.ca_file)
            e.ca_file = (char *)o->ca_file;
        if (!e.cert_file && o->cert_file && o->key_file) {
            e.cert_file = (char *)o->cert_file;
            e.key_file = (char *)o->key_file;
        }
    }
    ck_autofree char *plain_base = NULL;
    if (ep->is_default && !ep->http && o && o->insecure_http) {
        plain_base = ck_asprintf("http://%s", ep->base + strlen("https://"));
        e.base = plain_base;
        e.http = true;
    }
    bool tls_refused = false;
    int rc = pull_with(s, r, &e, o, &tls_refused, id_out, err);
    if (rc < 0 && tls_refused && !e.http && ep->is_default && img_host_is_loopback(r->domain) &&
        !strncmp(e.base, "https://", 8)) {
        plain_base = ck_asprintf("http://%s", e.base + strlen("https://"));
        e.base = plain_base;
        e.http = true;
        ck_v(1, "image: %s does not speak TLS; retrying over http", r->domain);
        ck_err_clear(err);
        rc = pull_with(s, r, &e, o, &tls_refused, id_out, err);
    }
    return rc;
}

int img_pull(struct img_store *s, const char *ref, const struct img_pull_opts *o,
             char id_out[IMG_ID_MAX], struct ck_err *err)
{
    struct img_ref r;
    if (img_ref_parse(ref, &r, err) < 0)
        return -1;
    struct img_endpoint *eps = NULL;
    size_t n = 0;
    int rc = img_registries_plan(o ? o->registries : NULL, &r, &eps, &n, err);
    /* as containerd: the first error that is not "not found" is the one reported */
    struct ck_err first = CK_ERR_INIT;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct ck_err e = CK_ERR_INIT;
        rc = pull_endpoint(s, &r, &eps[i], o, id_out, &e);
        if (rc == 0)
            break;
        ck_v(1, "image: %s from %s: %s%s", ref, eps[i].base, e.msg,
             i + 1 < n ? "; trying the next endpoint" : "");
        if (first.reason == CK_R_NONE ||
            (first.reason == CK_R_NOT_FOUND && e.reason != CK_R_NOT_FOUND))
            first = e;
        rc = i + 1 < n ? 0 : -1;
    }
    if (rc < 0 && first.reason != CK_R_NONE && err)
        *err = first;
    if (rc < 0)
        ck_err_wrap(err, "pull %s", ref);
    img_endpoints_free(eps, n);
    img_ref_release(&r);
    return rc;
}

char *img_archive_extract(struct img_store *s, const char *path, const char *what,
                          struct ck_err *err)
{
    char *dir = img_store_staging(s, err);
    if (!dir)
        return NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char ignored[IMG_ID_MAX];
    int rc = fd < 0 ? ck_err_sys(err, errno, "open %s", path)
                    : img_unpack_layer(fd, dir, NULL, ignored, err);
    if (fd >= 0)
        close(fd);
    if (rc < 0) {
        ck_err_wrap(err, "%s %s", what, path);
        img_rmtree(dir);
        free(dir);
        return NULL;
    }
    return dir;
}

int img_import_oci(struct img_store *s, const char *path, const char *ref, char id_out[IMG_ID_MAX],
                   struct ck_err *err)
{
    struct img_ref r = {0};
    if (ref && img_ref_parse(ref, &r, err) < 0)
        return -1;
    struct stat st;
    char *tmpdir = NULL;
    int rc = stat(path, &st) < 0 ? ck_err_sys(err, errno, "import %s", path) : 0;
    if (rc == 0 && !S_ISDIR(st.st_mode)) {
        tmpdir = img_archive_extract(s, path, "OCI archive", err);
        rc = tmpdir ? 0 : -1;
    }
    struct img_oci *l = NULL;
    if (rc == 0)
        rc = img_oci_open(tmpdir ? tmpdir : path, &l, err);
    if (rc == 0) {
        struct img_source src;
        img_oci_source(l, &src);
        ck_autofree char *name = ref ? img_ref_name(&r) : NULL;
        rc = img_pull_from(s, &src, name, "index.json", ref ? r.tag : NULL, r.tag, "linux",
                           img_host_arch(), id_out, err);
    }
    img_oci_free(l);
    if (tmpdir) {
        img_rmtree(tmpdir);
        free(tmpdir);
    }
    img_ref_release(&r);
    return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* An OCI image layout directory as an img_source: index.json is the top manifest for any
 * non-digest reference; blobs come from blobs/<alg>/<hex>. */
#include "image/image_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/banned.h"

struct img_oci {
    char *dir;
};

/* Streams file path into k (or into buf when k is NULL). */
static int read_into(const char *path, struct ck_buf *buf, struct img_sink *k, const char *what,
                     struct ck_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? ck_err_set(err, CK_R_NOT_FOUND, "%s not found in OCI layout", what)
                               : ck_err_sys(err, errno, "open %s", path);
    char chunk[65536];
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
        if (buf && ck_buf_append(buf, chunk, (size_t)n) < 0) {
            rc = ck_err_set(err, CK_R_TOO_LARGE, "%s is too large", what);
            break;
        }
        if (k && img_sink_write(k, chunk, (size_t)n) < 0) {
            rc = k->failed_errno == EFBIG
                     ? ck_err_set(err, CK_R_CORRUPT, "%s is larger than its descriptor", what)
                     : ck_err_sys(err, k->failed_errno, "writing %s", what);
            break;
        }
    }
    close(fd);
    return rc;
}

static char *blob_path(const struct img_oci *l, const char *digest)
{
    return ck_asprintf("%s/blobs/sha256/%s", l->dir, digest + 7);
}

static int oci_manifest(void *ctx, const char *reference, struct ck_buf *body, char **ctype,
                        struct ck_err *err)
{
    struct img_oci *l = ctx;
    *ctype = NULL;
    bool dg = img_digest_valid(reference);
    ck_autofree char *p = dg ? blob_path(l, reference) : ck_asprintf("%s/index.json", l->dir);
    return read_into(p, body, NULL, dg ? reference : "index.json", err);
}

static int oci_blob(void *ctx, const char *digest, struct img_sink *k, struct ck_err *err)
{
    struct img_oci *l = ctx;
    if (!img_digest_valid(digest))
        return ck_err_set(err, CK_R_BAD_REQUEST, "invalid digest");
    ck_autofree char *p = blob_path(l, digest);
    return read_into(p, NULL, k, digest, err);
}

int img_oci_open(const char *dir, struct img_oci **out, struct ck_err *err)
{
    ck_autofree char *marker = ck_asprintf("%s/oci-layout", dir);
    ck_autofree char *index = ck_asprintf("%s/index.json", dir);
    struct stat st;
    if (stat(marker, &st) < 0 || stat(index, &st) < 0)
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "%s is not an OCI image layout (no oci-layout/index.json)", dir);
    struct img_oci *l = ck_calloc(1, sizeof(*l));
    l->dir = ck_strdup(dir);
    *out = l;
    return 0;
}

void img_oci_free(struct img_oci *l)
{
    if (!l)
        return;
    free(l->dir);
    free(l);
}

void img_oci_source(struct img_oci *l, struct img_source *src)
{
    src->manifest = oci_manifest;
    src->blob = oci_blob;
    src->ctx = l;
    src->synthetic = false;
}

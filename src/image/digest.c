/* SPDX-License-Identifier: Apache-2.0 */
/* sha256 digests ("sha256:<hex>") and struct img_sink, the hashing size-capped writer that
 * every fetched blob passes through. */
#include "image/image_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/banned.h"

bool img_digest_valid(const char *d)
{
    if (!d || strncmp(d, "sha256:", 7) != 0)
        return false;
    const char *h = d + 7;
    size_t i = 0;
    for (; h[i]; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return false;
    return i == 64;
}

static void hex_out(const unsigned char *md, char out[IMG_ID_MAX])
{
    static const char hx[] = "0123456789abcdef";
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 32; i++) {
        out[7 + 2 * i] = hx[md[i] >> 4];
        out[8 + 2 * i] = hx[md[i] & 15];
    }
    out[71] = 0;
}

void img_digest_of(const void *p, size_t n, char out[IMG_ID_MAX])
{
    unsigned char md[32];
    unsigned int mdl = 0;
    if (!EVP_Digest(p, n, md, &mdl, EVP_sha256(), NULL) || mdl != 32)
        ck_fatal("EVP_Digest(sha256) failed");
    hex_out(md, out);
}

int img_digest_check(const void *p, size_t n, const char *want, const char *what,
                     struct ck_err *err)
{
    char got[IMG_ID_MAX];
    img_digest_of(p, n, got);
    if (strcmp(got, want) != 0)
        return ck_err_set(err, CK_R_CORRUPT, "%s digest mismatch: expected %s, got %s", what, want,
                          got);
    return 0;
}

void img_sink_init(struct img_sink *k, int fd, int64_t limit)
{
    memset(k, 0, sizeof(*k));
    k->fd = fd;
    k->limit = limit;
    k->md = EVP_MD_CTX_new();
    if (!k->md || !EVP_DigestInit_ex(k->md, EVP_sha256(), NULL))
        ck_fatal("EVP sha256 init failed");
}

int img_sink_write(struct img_sink *k, const void *p, size_t n)
{
    if (k->written + (int64_t)n > k->limit) {
        k->failed_errno = EFBIG;
        return -1;
    }
    if (!EVP_DigestUpdate(k->md, p, n))
        ck_fatal("EVP_DigestUpdate failed");
    const char *c = p;
    size_t off = 0;
    while (k->fd >= 0 && off < n) {
        ssize_t w = write(k->fd, c + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            k->failed_errno = w < 0 ? errno : EIO;
            return -1;
        }
        off += (size_t)w;
    }
    k->written += (int64_t)n;
    return 0;
}

void img_sink_final(struct img_sink *k, char out[IMG_ID_MAX])
{
    unsigned char md[32];
    unsigned int mdl = 0;
    if (!EVP_DigestFinal_ex(k->md, md, &mdl) || mdl != 32)
        ck_fatal("EVP_DigestFinal failed");
    hex_out(md, out);
    img_sink_release(k);
}

void img_sink_release(struct img_sink *k)
{
    EVP_MD_CTX_free(k->md);
    k->md = NULL;
}

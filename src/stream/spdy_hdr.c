/* SPDX-License-Identifier: Apache-2.0 */
/* SPDY/3 name/value header blocks and their zlib contexts (SPDY/3 dictionary, sync flush per
 * block, one context per direction that is never reset). */
#include "stream/spdy.h"

#include "lib/buf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "lib/banned.h"

struct spdy_zctx {
    z_stream z;
    bool deflate;
    bool broken;
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

const char *spdy_headers_get(const struct spdy_headers *h, const char *name)
{
    for (size_t i = 0; h && i < h->n; i++)
        if (!strcasecmp(h->v[i].name, name))
            return h->v[i].value;
    return NULL;
}

void spdy_headers_release(struct spdy_headers *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->v[i].name);
        free(h->v[i].value);
    }
    free(h->v);
    h->v = NULL;
    h->n = 0;
}

static char *dup_bytes(const uint8_t *p, size_t n)
{
    char *s = ck_malloc(n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

int spdy_hdr_parse(const uint8_t *raw, size_t n, size_t max_pairs, struct spdy_headers *out,
                   struct ck_err *err)
{
    out->v = NULL;
    out->n = 0;
    if (n < 4)
        return ck_err_set(err, CK_R_BAD_REQUEST, "spdy: header block shorter than its count");
    uint32_t count = be32(raw);
    /* each pair takes at least 8 bytes: bound the count before allocating */
    if (count > max_pairs || count > (n - 4) / 8)
        return ck_err_set(err, CK_R_BAD_REQUEST, "spdy: header block with %u pairs", count);
    size_t off = 4;
    if (count)
        out->v = ck_calloc(count, sizeof(*out->v));
    for (uint32_t i = 0; i < count; i++) {
        uint32_t len[2];
        const uint8_t *s[2];
        for (int k = 0; k < 2; k++) {
            if (n - off < 4)
                goto trunc;
            len[k] = be32(raw + off);
            off += 4;
            if (len[k] > n - off)
                goto trunc;
            s[k] = raw + off;
            off += len[k];
        }
        if (len[0] == 0 || memchr(s[0], 0, len[0])) {
            spdy_headers_release(out);
            return ck_err_set(err, CK_R_BAD_REQUEST, "spdy: empty header name or NUL in one");
        }
        struct spdy_hdr *h = &out->v[out->n++];
        h->name = dup_bytes(s[0], len[0]);
        for (char *c = h->name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        h->value = dup_bytes(s[1], len[1]);
        h->value_len = len[1];
    }
    if (off != n) {
        spdy_headers_release(out);
        return ck_err_set(err, CK_R_BAD_REQUEST, "spdy: %zu stray bytes after the header block",
                          n - off);
    }
    return 0;
trunc:
    spdy_headers_release(out);
    return ck_err_set(err, CK_R_BAD_REQUEST, "spdy: truncated header block");
}

struct spdy_zctx *spdy_zctx_new(bool deflate)
{
    struct spdy_zctx *z = ck_calloc(1, sizeof(*z));
    z->deflate = deflate;
    int rc;
    if (deflate) {
        rc = deflateInit2(&z->z, Z_BEST_COMPRESSION, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY);
        if (rc == Z_OK)
            rc = deflateSetDictionary(&z->z, spdy_dictionary, SPDY_DICTIONARY_LEN);
    } else {
        rc = inflateInit(&z->z);
    }
    if (rc != Z_OK)
        abort(); /* zlib init only fails without memory */
    return z;
}

void spdy_zctx_free(struct spdy_zctx *z)
{
    if (!z)
        return;
    if (z->deflate)
        deflateEnd(&z->z);
    else
        inflateEnd(&z->z);
    free(z);
}

int spdy_hdr_encode(struct spdy_zctx *z, const struct spdy_hdr *h, size_t n, uint8_t **out,
                    size_t *out_len, struct ck_err *err)
{
    size_t raw_len = 4;
    for (size_t i = 0; i < n; i++)
        raw_len += 8 + strlen(h[i].name) + h[i].value_len;
    if (raw_len > SPDY_MAX_LENGTH)
        return ck_err_set(err, CK_R_TOO_LARGE, "spdy: header block too large");
    uint8_t *raw = ck_malloc(raw_len), *p = raw;
    put32(p, (uint32_t)n);
    p += 4;
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(h[i].name);
        put32(p, (uint32_t)nl);
        for (size_t k = 0; k < nl; k++)
            p[4 + k] = (uint8_t)tolower((unsigned char)h[i].name[k]);
        p += 4 + nl;
        put32(p, (uint32_t)h[i].value_len);
        memcpy(p + 4, h[i].value, h[i].value_len);
        p += 4 + h[i].value_len;
    }
    size_t cap = deflateBound(&z->z, (uLong)raw_len) + 16;
    uint8_t *o = ck_malloc(cap);
    z->z.next_in = raw;
    z->z.avail_in = (uInt)raw_len;
    z->z.next_out = o;
    z->z.avail_out = (uInt)cap;
    int rc = deflate(&z->z, Z_SYNC_FLUSH);
    free(raw);
    if (rc != Z_OK || z->z.avail_in) {
        free(o);
        return ck_err_set(err, CK_R_INTERNAL, "spdy: deflate failed (%d)", rc);
    }
    *out = o;
    *out_len = cap - z->z.avail_out;
    return 0;
}

int spdy_hdr_decode(struct spdy_zctx *z, const uint8_t *p, size_t n, size_t max_bytes,
                    struct spdy_headers *out, struct ck_err *err)
{
    out->v = NULL;
    out->n = 0;
    if (z->broken)
        return ck_err_set(err, CK_R_BAD_REQUEST, "spdy: header decompressor already failed");
    struct ck_buf raw = CK_BUF_INIT(max_bytes);
    z->z.next_in = (Bytef *)p;
    z->z.avail_in = (uInt)n;
    for (;;) {
        uint8_t *dst = (uint8_t *)ck_buf_reserve(&raw, 4096);
        size_t room = 4096;
        if (!dst) {
            /* the ceiling: room for what is left below max */
            room = max_bytes > raw.len ? max_bytes - raw.len : 0;
            dst = room ? (uint8_t *)ck_buf_reserve(&raw, room) : NULL;
            if (!dst) {
                z->broken = true;
                ck_buf_release(&raw);
                return ck_err_set(err, CK_R_TOO_LARGE,
                                  "spdy: header block decompresses past %zu bytes", max_bytes);
            }
        }
        z->z.next_out = dst;
        z->z.avail_out = (uInt)room;
        int rc = inflate(&z->z, Z_SYNC_FLUSH);
        if (rc == Z_NEED_DICT) {
            if (inflateSetDictionary(&z->z, spdy_dictionary, SPDY_DICTIONARY_LEN) != Z_OK) {
                z->broken = true;
                ck_buf_release(&raw);
                return ck_err_set(err, CK_R_BAD_REQUEST,
                                  "spdy: header block wants another dictionary");
            }
            rc = inflate(&z->z, Z_SYNC_FLUSH);
        }
        raw.len += room - z->z.avail_out;
        if (rc == Z_BUF_ERROR && z->z.avail_out)
            break; /* no progress possible: input incomplete */
        if (rc == Z_OK && !z->z.avail_in && z->z.avail_out)
            break; /* all input used and all output flushed */
        if (rc != Z_OK) {
            z->broken = true;
            ck_buf_release(&raw);
            return ck_err_set(err, CK_R_BAD_REQUEST, "spdy: bad compressed header block (%d)", rc);
        }
    }
    if (z->z.avail_in) {
        z->broken = true;
        ck_buf_release(&raw);
        return ck_err_set(err, CK_R_BAD_REQUEST, "spdy: compressed header block not consumed");
    }
    int rc = spdy_hdr_parse((const uint8_t *)raw.data, raw.len, 256, out, err);
    ck_buf_release(&raw);
    return rc;
}

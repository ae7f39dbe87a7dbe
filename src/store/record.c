/* SPDX-License-Identifier: Apache-2.0 */
/* Encoders and validating decoders for the LMDB backend's on-disk values (see record.h).
 * Log record layout: u8 format, u8 type, u8 flags, u8 0, u32 key_len, u32 value_len,
 * u64 revision, u32 sub, u64 create_revision, u64 version, u64 prev_revision, u32 prev_sub,
 * key bytes, value bytes, u32 CRC-32 (zlib) of all preceding bytes. */
#include "store/record.h"
#include "store/store.h"

#include <libdeflate.h>
#include <string.h>

#include "lib/banned.h"

#define FLAG_HAS_PREV 0x01u

void store_put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

uint64_t store_get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

void store_put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

uint32_t store_get_u32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* zlib's CRC-32 (the on-disk format's), computed by libdeflate: the same value, several times
 * faster (carry-less multiplication where the CPU has it); every read checks it. */
static uint32_t crc_of(const unsigned char *p, size_t n)
{
    return libdeflate_crc32(0, p, n);
}

size_t store_record_size(const struct store_record *r)
{
    return STORE_REC_HDR + r->key_len + r->value_len + STORE_REC_TRAILER;
}

void store_record_encode(const struct store_record *r, void *out)
{
    unsigned char *p = out;
    p[0] = STORE_REC_FORMAT;
    p[1] = (unsigned char)r->type;
    p[2] = r->has_prev ? FLAG_HAS_PREV : 0;
    p[3] = 0;
    store_put_u32(p + 4, (uint32_t)r->key_len);
    store_put_u32(p + 8, (uint32_t)r->value_len);
    store_put_u64(p + 12, (uint64_t)r->revision);
    store_put_u32(p + 20, r->sub);
    store_put_u64(p + 24, (uint64_t)r->create_revision);
    store_put_u64(p + 32, (uint64_t)r->version);
    store_put_u64(p + 40, r->has_prev ? (uint64_t)r->prev_revision : 0);
    store_put_u32(p + 48, r->has_prev ? r->prev_sub : 0);
    memcpy(p + STORE_REC_HDR, r->key, r->key_len);
    if (r->value_len)
        memcpy(p + STORE_REC_HDR + r->key_len, r->value, r->value_len);
    size_t body = STORE_REC_HDR + r->key_len + r->value_len;
    store_put_u32(p + body, crc_of(p, body));
}

/* Range checks on the counters once the header is known to be in bounds. */
static int check_fields(const struct store_record *r, uint8_t flags, struct ck_err *err)
{
    if (r->revision < 1)
        return ck_err_set(err, CK_R_CORRUPT, "store record: revision %lld out of range",
                          (long long)r->revision);
    if (r->type == STORE_EVENT_PUT) {
        if (r->create_revision < 1 || r->create_revision > r->revision || r->version < 1 ||
            r->version > r->revision)
            return ck_err_set(
                err, CK_R_CORRUPT, "store record: bad create_revision/version %lld/%lld at %lld",
                (long long)r->create_revision, (long long)r->version, (long long)r->revision);
    } else if (r->create_revision != 0 || r->version != 0 || r->value_len != 0) {
        return ck_err_set(err, CK_R_CORRUPT, "store record: delete with a value or counters");
    }
    if (flags & FLAG_HAS_PREV) {
        if (r->prev_revision < 1 || r->prev_revision >= r->revision)
            return ck_err_set(err, CK_R_CORRUPT, "store record: prev revision %lld not below %lld",
                              (long long)r->prev_revision, (long long)r->revision);
    } else if (r->prev_revision != 0 || r->prev_sub != 0) {
        return ck_err_set(err, CK_R_CORRUPT, "store record: prev pointer without flag");
    }
    if (r->type == STORE_EVENT_DELETE && !(flags & FLAG_HAS_PREV))
        return ck_err_set(err, CK_R_CORRUPT, "store record: delete without a previous state");
    return 0;
}

int store_record_decode(const void *buf, size_t len, struct store_record *out, struct ck_err *err)
{
    const unsigned char *p = buf;
    memset(out, 0, sizeof(*out));
    if (!p || len < STORE_REC_HDR + STORE_REC_TRAILER)
        return ck_err_set(err, CK_R_CORRUPT, "store record: %zu bytes is too short", len);
    if (p[0] != STORE_REC_FORMAT)
        return ck_err_set(err, CK_R_CORRUPT, "store record: unknown format %u", p[0]);
    if (p[1] != STORE_EVENT_PUT && p[1] != STORE_EVENT_DELETE)
        return ck_err_set(err, CK_R_CORRUPT, "store record: unknown type %u", p[1]);
    if ((p[2] & ~FLAG_HAS_PREV) || p[3])
        return ck_err_set(err, CK_R_CORRUPT, "store record: unknown flags %#x/%#x", p[2], p[3]);
    size_t kl = store_get_u32(p + 4), vl = store_get_u32(p + 8);
    if (kl < 1 || kl > STORE_KEY_MAX || vl > STORE_VALUE_MAX)
        return ck_err_set(err, CK_R_CORRUPT, "store record: key/value length %zu/%zu out of range",
                          kl, vl);
    if (len != STORE_REC_HDR + kl + vl + STORE_REC_TRAILER)
        return ck_err_set(err, CK_R_CORRUPT, "store record: length %zu does not match header", len);
    uint64_t rev = store_get_u64(p + 12), cre = store_get_u64(p + 24), ver = store_get_u64(p + 32);
    uint64_t prev = store_get_u64(p + 40);
    if (rev > INT64_MAX || cre > INT64_MAX || ver > INT64_MAX || prev > INT64_MAX)
        return ck_err_set(err, CK_R_CORRUPT, "store record: counter overflows int64");
    size_t body = STORE_REC_HDR + kl + vl;
    if (store_get_u32(p + body) != crc_of(p, body))
        return ck_err_set(err, CK_R_CORRUPT, "store record: checksum mismatch");
    out->type = p[1];
    out->revision = (int64_t)rev;
    out->sub = store_get_u32(p + 20);
    out->create_revision = (int64_t)cre;
    out->version = (int64_t)ver;
    out->has_prev = (p[2] & FLAG_HAS_PREV) != 0;
    out->prev_revision = (int64_t)prev;
    out->prev_sub = store_get_u32(p + 48);
    out->key = (const char *)p + STORE_REC_HDR;
    out->key_len = kl;
    out->value = p + STORE_REC_HDR + kl;
    out->value_len = vl;
    if (check_fields(out, p[2], err) < 0) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return 0;
}

void store_logkey_encode(int64_t rev, uint32_t sub, unsigned char out[STORE_LOGKEY_LEN])
{
    store_put_u64(out, (uint64_t)rev);
    store_put_u32(out + 8, sub);
}

int store_logkey_decode(const void *buf, size_t len, int64_t *rev, uint32_t *sub,
                        struct ck_err *err)
{
    if (!buf || len != STORE_LOGKEY_LEN)
        return ck_err_set(err, CK_R_CORRUPT, "store log key: %zu bytes, want %d", len,
                          STORE_LOGKEY_LEN);
    uint64_t r = store_get_u64(buf);
    if (r < 1 || r > INT64_MAX)
        return ck_err_set(err, CK_R_CORRUPT, "store log key: revision out of range");
    *rev = (int64_t)r;
    *sub = store_get_u32((const unsigned char *)buf + 8);
    return 0;
}

void store_hist_encode(const struct store_hist *h, unsigned char out[STORE_HIST_LEN])
{
    store_put_u64(out, (uint64_t)h->revision);
    store_put_u32(out + 8, h->sub);
    out[12] = (unsigned char)h->type;
}

int store_hist_decode(const void *buf, size_t len, struct store_hist *out, struct ck_err *err)
{
    const unsigned char *p = buf;
    if (!p || len != STORE_HIST_LEN)
        return ck_err_set(err, CK_R_CORRUPT, "store history entry: %zu bytes, want %d", len,
                          STORE_HIST_LEN);
    uint64_t r = store_get_u64(p);
    if (r < 1 || r > INT64_MAX || (p[12] != STORE_EVENT_PUT && p[12] != STORE_EVENT_DELETE))
        return ck_err_set(err, CK_R_CORRUPT, "store history entry: bad revision or type");
    out->revision = (int64_t)r;
    out->sub = store_get_u32(p + 8);
    out->type = p[12];
    return 0;
}

void store_ptr_encode(const struct store_ptr *v, unsigned char out[STORE_PTR_LEN])
{
    store_put_u64(out, (uint64_t)v->mod_revision);
    store_put_u32(out + 8, v->sub);
    store_put_u64(out + 12, (uint64_t)v->create_revision);
    store_put_u64(out + 20, (uint64_t)v->version);
}

int store_ptr_decode(const void *buf, size_t len, struct store_ptr *out, struct ck_err *err)
{
    const unsigned char *p = buf;
    if (!p || len != STORE_PTR_LEN)
        return ck_err_set(err, CK_R_CORRUPT, "store key index entry: %zu bytes, want %d", len,
                          STORE_PTR_LEN);
    uint64_t m = store_get_u64(p), c = store_get_u64(p + 12), v = store_get_u64(p + 20);
    if (m < 1 || m > INT64_MAX || c < 1 || c > m || v < 1 || v > m)
        return ck_err_set(err, CK_R_CORRUPT, "store key index entry: counters out of range");
    out->mod_revision = (int64_t)m;
    out->sub = store_get_u32(p + 8);
    out->create_revision = (int64_t)c;
    out->version = (int64_t)v;
    return 0;
}

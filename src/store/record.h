/* SPDX-License-Identifier: Apache-2.0 */
/* The LMDB backend's on-disk encodings (internal to src/store): the revision-log record, the
 * log key (revision + sub-index), the per-key history entry and the current-key pointer.
 * Every decoder validates lengths and bounds and never reads past the buffer it is given;
 * all integers are big-endian so that byte order equals numeric order. See docs/store.md. */
#ifndef CK_STORE_RECORD_H
#define CK_STORE_RECORD_H

#include "lib/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_REC_FORMAT 1  /* first byte of every log record */
#define STORE_REC_HDR 52    /* fixed header bytes before key and value */
#define STORE_REC_TRAILER 4 /* CRC-32 of everything before it */
#define STORE_LOGKEY_LEN 12 /* u64 revision + u32 sub-index */
#define STORE_HIST_LEN 13   /* u64 revision + u32 sub-index + u8 event type */
#define STORE_PTR_LEN 28    /* u64 mod_revision + u32 sub + u64 create_revision + u64 version */
#define STORE_KEY_MAX 511   /* LMDB's key size limit (also bounds the hist index key) */
#define STORE_VALUE_MAX ((size_t)64 << 20)

/* A decoded log record; key and value point into the decoded buffer (not copied). */
struct store_record {
    int type;         /* STORE_EVENT_PUT or STORE_EVENT_DELETE */
    int64_t revision; /* also in the log key; checked against it by the backend */
    uint32_t sub;
    int64_t create_revision; /* 0 for a delete */
    int64_t version;         /* 0 for a delete */
    bool has_prev;           /* prev_* locate the key's previous state in the log */
    int64_t prev_revision;
    uint32_t prev_sub;
    const char *key;
    size_t key_len;
    const void *value;
    size_t value_len;
};

/* Bytes store_record_encode writes for r. */
size_t store_record_size(const struct store_record *r);
/* Encodes r into out (exactly store_record_size(r) bytes, e.g. an MDB_RESERVE slot). */
void store_record_encode(const struct store_record *r, void *out);
/* Decodes and validates buf (format byte, type, lengths, field ranges, CRC). Returns 0, or -1
 * with CK_R_CORRUPT in err. On success out's pointers alias buf. */
int store_record_decode(const void *buf, size_t len, struct store_record *out, struct ck_err *err);

void store_logkey_encode(int64_t rev, uint32_t sub, unsigned char out[STORE_LOGKEY_LEN]);
int store_logkey_decode(const void *buf, size_t len, int64_t *rev, uint32_t *sub,
                        struct ck_err *err);

/* A history entry: one version of one key (the dup value of the hist index). */
struct store_hist {
    int64_t revision;
    uint32_t sub;
    int type; /* STORE_EVENT_PUT or STORE_EVENT_DELETE */
};
void store_hist_encode(const struct store_hist *h, unsigned char out[STORE_HIST_LEN]);
int store_hist_decode(const void *buf, size_t len, struct store_hist *out, struct ck_err *err);

/* The current-key index value: where a live key's latest record is, plus its counters. */
struct store_ptr {
    int64_t mod_revision;
    uint32_t sub;
    int64_t create_revision;
    int64_t version;
};
void store_ptr_encode(const struct store_ptr *p, unsigned char out[STORE_PTR_LEN]);
int store_ptr_decode(const void *buf, size_t len, struct store_ptr *out, struct ck_err *err);

/* Big-endian helpers shared by the backend. */
void store_put_u64(unsigned char *p, uint64_t v);
uint64_t store_get_u64(const unsigned char *p);
void store_put_u32(unsigned char *p, uint32_t v);
uint32_t store_get_u32(const unsigned char *p);

#endif

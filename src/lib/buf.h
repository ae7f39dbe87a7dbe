/* SPDX-License-Identifier: Apache-2.0 */
/* struct ck_buf: the one growing byte buffer. Every buffer has a ceiling (max) so that no
 * peer can grow it without bound. Invariants: data is NULL or NUL-terminated at len;
 * len <= max. ck_buf_detach is the only way to take the bytes. */
#ifndef CK_BUF_H
#define CK_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

struct ck_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
};

#define CK_BUF_INIT(maxbytes) {NULL, 0, 0, (maxbytes)}

/* Each returns 0, or -1 (nothing appended) when the result would exceed max. */
int ck_buf_append(struct ck_buf *b, const void *p, size_t n);
int ck_buf_appends(struct ck_buf *b, const char *s);
int ck_buf_appendc(struct ck_buf *b, char c);
int ck_buf_appendf(struct ck_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ck_buf_vappendf(struct ck_buf *b, const char *fmt, va_list ap);
/* Appends s as a JSON string literal (quotes and escapes included). */
int ck_buf_append_json_str(struct ck_buf *b, const char *s, size_t n);
/* Makes room for n more bytes; returns a pointer to the free space or NULL past max. */
char *ck_buf_reserve(struct ck_buf *b, size_t n);
void ck_buf_reset(struct ck_buf *b);
void ck_buf_release(struct ck_buf *b);
/* Returns the (NUL-terminated, malloc'd) bytes and leaves b empty; never NULL. */
char *ck_buf_detach(struct ck_buf *b, size_t *len);
/* Appends the whole file at path. 0, or -1 with errno set (EFBIG: it is larger than b's max;
 * what was read stays in b). */
int ck_buf_read_file(struct ck_buf *b, const char *path);

/* Allocation that aborts on failure (daemons abort on OOM). */
void *ck_malloc(size_t n);
void *ck_calloc(size_t n, size_t m);
void *ck_realloc(void *p, size_t n);
char *ck_strdup(const char *s);
char *ck_strndup(const char *s, size_t n);
char *ck_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline void ck_freep(void *p)
{
    free(*(void **)p);
}
#define ck_autofree __attribute__((cleanup(ck_freep)))

#endif

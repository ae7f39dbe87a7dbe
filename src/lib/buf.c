/* SPDX-License-Identifier: Apache-2.0 */
/* struct ck_buf and aborting allocators. */
#include "lib/buf.h"
#include "lib/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *ck_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        ck_fatal("out of memory allocating %zu bytes", n);
    return p;
}

void *ck_calloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p)
        ck_fatal("out of memory allocating %zu x %zu bytes", n, m);
    return p;
}

void *ck_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        ck_fatal("out of memory reallocating %zu bytes", n);
    return q;
}

char *ck_strdup(const char *s)
{
    return ck_strndup(s, strlen(s));
}

char *ck_strndup(const char *s, size_t n)
{
    char *p = ck_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *ck_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = NULL;
    int r = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (r < 0)
        ck_fatal("out of memory in ck_asprintf");
    return p;
}

char *ck_buf_reserve(struct ck_buf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return NULL;
    size_t need = b->len + n + 1;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < need)
            cap = cap * 2;
        b->data = ck_realloc(b->data, cap);
        b->cap = cap;
    }
    return b->data + b->len;
}

int ck_buf_append(struct ck_buf *b, const void *p, size_t n)
{
    char *dst = ck_buf_reserve(b, n);
    if (!dst)
        return -1;
    if (n)
        memcpy(dst, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int ck_buf_appends(struct ck_buf *b, const char *s)
{
    return ck_buf_append(b, s, strlen(s));
}

int ck_buf_appendc(struct ck_buf *b, char c)
{
    return ck_buf_append(b, &c, 1);
}

int ck_buf_vappendf(struct ck_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof(tmp))
        return ck_buf_append(b, tmp, (size_t)n);
    char *dst = ck_buf_reserve(b, (size_t)n);
    if (!dst)
        return -1;
    vsnprintf(dst, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int ck_buf_appendf(struct ck_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = ck_buf_vappendf(b, fmt, ap);
    va_end(ap);
    return r;
}

int ck_buf_append_json_str(struct ck_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = b->len;
    if (ck_buf_appendc(b, '"') < 0)
        goto fail;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (ck_buf_append(b, s + run, i - run) < 0)
            goto fail;
        run = i + 1;
        char esc[7] = {'\\', 0};
        size_t el = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            el = 6;
        }
        if (ck_buf_append(b, esc, el) < 0)
            goto fail;
    }
    if (ck_buf_append(b, s + run, n - run) < 0 || ck_buf_appendc(b, '"') < 0)
        goto fail;
    return 0;
fail:
    b->len = start;
    if (b->data)
        b->data[start] = 0;
    return -1;
}

void ck_buf_reset(struct ck_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

void ck_buf_release(struct ck_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *ck_buf_detach(struct ck_buf *b, size_t *len)
{
    char *p = b->data;
    if (!p)
        p = ck_strdup("");
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

int ck_buf_read_file(struct ck_buf *b, const char *path)
{
    FILE *f = fopen(path, "re");
    char chunk[4096];
    size_t n;
    int rc = 0;

    if (!f)
        return -1;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = ck_buf_append(b, chunk, n);
    bool bad = ferror(f);
    fclose(f);
    if (rc < 0)
        errno = EFBIG;
    else if (bad)
        errno = EIO;
    return rc < 0 || bad ? -1 : 0;
}

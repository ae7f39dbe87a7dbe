/* SPDX-License-Identifier: Apache-2.0 */
/* The static token file: see tokenfile.h. The CSV dialect is Go's encoding/csv with its
 * defaults (quoted fields with "" escapes, which may span lines; \r\n line ends; blank lines
 * skipped; a bare quote in an unquoted field is an error), as upstream reads the file. */
#include "apiserver/authn/tokenfile.h"
#include "apiserver/authn/x509.h"
#include "lib/buf.h"
#include "lib/log.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

struct tf_entry {
    char *token, *user, *uid;
    char **groups; /* NULL-terminated, NULL when the record has no 4th column */
};

struct authn_tokenfile {
    struct tf_entry *e;
    size_t n, cap;
};

struct rec {
    char **f;
    size_t n, cap;
};

static void rec_clear(struct rec *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->f[i]);
    r->n = 0;
}

static void rec_push(struct rec *r, struct ck_buf *b)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 8;
        r->f = ck_realloc(r->f, r->cap * sizeof(*r->f));
    }
    r->f[r->n++] = ck_strndup(b->data ? b->data : "", b->len);
    ck_buf_reset(b);
}

/* One record from text at *pos: 1 with r filled, 0 at the end, -1 with *why on bad quoting. */
static int read_record(const char *t, size_t len, size_t *pos, struct rec *r, int *line,
                       const char **why)
{
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    size_t i = *pos;
    rec_clear(r);
    /* blank lines are skipped */
    while (i < len && (t[i] == '\n' || (t[i] == '\r' && i + 1 < len && t[i + 1] == '\n'))) {
        if (t[i] == '\n')
            (*line)++;
        i++;
    }
    if (i >= len) {
        *pos = i;
        ck_buf_release(&b);
        return 0;
    }
    for (;;) {
        if (i < len && t[i] == '"') { /* quoted field */
            i++;
            for (;;) {
                if (i >= len) {
                    *why = "extraneous or missing \" in quoted-field";
                    goto bad;
                }
                if (t[i] == '"') {
                    if (i + 1 < len && t[i + 1] == '"') {
                        ck_buf_append(&b, "\"", 1);
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (t[i] == '\r' && i + 1 < len && t[i + 1] == '\n') {
                    i++; /* \r\n inside quotes reads as \n */
                    continue;
                }
                if (t[i] == '\n')
                    (*line)++;
                ck_buf_append(&b, &t[i], 1);
                i++;
            }
            if (i < len && t[i] != ',' && t[i] != '\n' &&
                !(t[i] == '\r' && i + 1 < len && t[i + 1] == '\n') &&
                !(t[i] == '\r' && i + 1 == len)) {
                *why = "extraneous or missing \" in quoted-field";
                goto bad;
            }
        } else {
            while (i < len && t[i] != ',' && t[i] != '\n') {
                if (t[i] == '"') {
                    *why = "bare \" in non-quoted-field";
                    goto bad;
                }
                if (t[i] == '\r' && (i + 1 == len || t[i + 1] == '\n')) {
                    i++;
                    continue;
                }
                ck_buf_append(&b, &t[i], 1);
                i++;
            }
        }
        rec_push(r, &b);
        if (i < len && t[i] == '\r')
            i++;
        if (i < len && t[i] == ',') {
            i++;
            continue;
        }
        if (i < len && t[i] == '\n') {
            (*line)++;
            i++;
        }
        break;
    }
    *pos = i;
    ck_buf_release(&b);
    return 1;
bad:
    ck_buf_release(&b);
    return -1;
}

static char **split_groups(const char *s)
{
    size_t n = 1;
    for (const char *p = s; *p; p++)
        n += *p == ',';
    char **g = ck_calloc(n + 1, sizeof(*g));
    size_t k = 0;
    const char *start = s;
    for (const char *p = s;; p++)
        if (*p == ',' || !*p) {
            g[k++] = ck_strndup(start, (size_t)(p - start));
            if (!*p)
                break;
            start = p + 1;
        }
    return g;
}

static void entry_free(struct tf_entry *e)
{
    if (e->token)
        OPENSSL_cleanse(e->token, strlen(e->token));
    free(e->token);
    free(e->user);
    free(e->uid);
    for (size_t i = 0; e->groups && e->groups[i]; i++)
        free(e->groups[i]);
    free(e->groups);
}

void authn_tokenfile_free(struct authn_tokenfile *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        entry_free(&f->e[i]);
    free(f->e);
    free(f);
}

size_t authn_tokenfile_count(const struct authn_tokenfile *f)
{
    return f ? f->n : 0;
}

int authn_tokenfile_parse(const char *text, size_t len, const char *path,
                          struct authn_tokenfile **out, struct ck_err *err)
{
    struct authn_tokenfile *f = ck_calloc(1, sizeof(*f));
    struct rec r = {0};
    size_t pos = 0;
    int line = 1, recno = 0, rc;
    const char *why = NULL;
    *out = NULL;
    while ((rc = read_record(text, len, &pos, &r, &line, &why)) > 0) {
        if (r.n < 3) {
            ck_err_set(err, CK_R_BAD_REQUEST,
                       "token file '%s' must have at least 3 columns (token, user name, user "
                       "uid), found %zu",
                       path, r.n);
            goto fail;
        }
        recno++;
        if (!r.f[0][0]) {
            ck_warn("empty token has been found in token file '%s', record number '%d'", path,
                    recno);
            continue;
        }
        struct tf_entry e = {.token = ck_strdup(r.f[0]),
                             .user = ck_strdup(r.f[1]),
                             .uid = ck_strdup(r.f[2]),
                             .groups = r.n >= 4 ? split_groups(r.f[3]) : NULL};
        size_t k = 0;
        for (; k < f->n && strcmp(f->e[k].token, e.token); k++)
            ;
        if (k < f->n) {
            ck_warn("duplicate token has been found in token file '%s', record number '%d'", path,
                    recno);
            entry_free(&f->e[k]);
            f->e[k] = e;
            continue;
        }
        if (f->n == f->cap) {
            f->cap = f->cap ? 2 * f->cap : 8;
            f->e = ck_realloc(f->e, f->cap * sizeof(*f->e));
        }
        f->e[f->n++] = e;
    }
    if (rc < 0) {
        ck_err_set(err, CK_R_BAD_REQUEST, "token file '%s': parse error on line %d: %s", path, line,
                   why);
        goto fail;
    }
    rec_clear(&r);
    free(r.f);
    *out = f;
    return 0;
fail:
    rec_clear(&r);
    free(r.f);
    authn_tokenfile_free(f);
    return -1;
}

int authn_tokenfile_load(const char *path, struct authn_tokenfile **out, struct ck_err *err)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return ck_err_sys(err, errno, "token file '%s'", path);
    struct ck_buf b = CK_BUF_INIT(64 << 20);
    char chunk[4096];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        if (ck_buf_append(&b, chunk, n) < 0) {
            rc = ck_err_set(err, CK_R_BAD_REQUEST, "token file '%s' is too large", path);
            break;
        }
    fclose(fp);
    if (rc == 0)
        rc = authn_tokenfile_parse(b.data ? b.data : "", b.len, path, out, err);
    if (b.data)
        OPENSSL_cleanse(b.data, b.len);
    ck_buf_release(&b);
    return rc;
}

int authn_tokenfile_lookup(const struct authn_tokenfile *f, const char *tok, size_t len,
                           struct authn_user *u)
{
    const struct tf_entry *hit = NULL;
    if (!f || !tok || !len)
        return -1;
    for (size_t i = 0; i < f->n; i++) /* every entry is compared: no early exit */
        if (strlen(f->e[i].token) == len && !CRYPTO_memcmp(f->e[i].token, tok, len))
            hit = &f->e[i];
    if (!hit)
        return -1;
    memset(u, 0, sizeof(*u));
    u->name = ck_strdup(hit->user);
    u->uid = hit->uid[0] ? ck_strdup(hit->uid) : NULL;
    size_t ng = 0;
    for (; hit->groups && hit->groups[ng]; ng++)
        ;
    u->groups = ck_calloc(ng + 1, sizeof(*u->groups));
    for (size_t i = 0; i < ng; i++)
        u->groups[i] = ck_strdup(hit->groups[i]);
    authn_add_authenticated(u);
    return 0;
}

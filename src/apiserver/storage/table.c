/* SPDX-License-Identifier: Apache-2.0 */
/* Key-ordered object tables as copy-on-write chunks: a table is an array of pointers to
 * refcounted chunks of up to ENG_CHUNK sorted objects. A snapshot copies the pointer array
 * and shares every chunk; the next write to a shared chunk copies that chunk alone. So a
 * paginated LIST keeps its first page's state for the price of n/ENG_CHUNK pointers plus
 * the chunks written meanwhile, and an insert moves at most ENG_CHUNK pointers. */
#include "apiserver/storage/storage.h"

#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static struct eng_chunk *chunk_new(bool borrowed)
{
    struct eng_chunk *c = ck_malloc(sizeof(*c));
    atomic_init(&c->refs, 1);
    c->borrowed = borrowed;
    c->n = 0;
    return c;
}

static void chunk_unref(struct eng_chunk *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    if (!c->borrowed)
        for (unsigned i = 0; i < c->n; i++)
            eng_obj_unref(c->v[i]);
    free(c);
}

/* Makes chunk ci private to t before a write (copy-on-write). */
static struct eng_chunk *own_chunk(struct eng_table *t, size_t ci)
{
    struct eng_chunk *c = t->c[ci];
    if (atomic_load(&c->refs) == 1)
        return c;
    struct eng_chunk *d = chunk_new(c->borrowed);
    d->n = c->n;
    memcpy(d->v, c->v, c->n * sizeof(*c->v));
    if (!d->borrowed)
        for (unsigned i = 0; i < d->n; i++)
            eng_obj_ref(d->v[i]);
    chunk_unref(c); /* a snapshot still holds it: never the last reference */
    t->c[ci] = d;
    return d;
}

static void insert_chunk(struct eng_table *t, size_t at, struct eng_chunk *c)
{
    if (t->nc == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 8;
        t->c = ck_realloc(t->c, t->cap * sizeof(*t->c));
    }
    memmove(&t->c[at + 1], &t->c[at], (t->nc - at) * sizeof(*t->c));
    t->c[at] = c;
    t->nc++;
}

/* Position of the first object with key >= k (> k when excl) within chunk c. */
static unsigned chunk_lb(const struct eng_chunk *c, const char *k, bool excl)
{
    unsigned lo = 0, hi = c->n;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        int r = strcmp(c->v[mid]->key, k);
        if (r < 0 || (excl && r == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First chunk whose last key is >= k (> k when excl); nc when there is none. */
static size_t chunk_index(const struct eng_table *t, const char *k, bool excl)
{
    size_t lo = 0, hi = t->nc;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct eng_chunk *c = t->c[mid];
        int r = strcmp(c->v[c->n - 1]->key, k);
        if (r < 0 || (excl && r == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void eng_table_seek(const struct eng_table *t, const char *k, bool excl, struct eng_cursor *cur)
{
    cur->t = t;
    cur->c = chunk_index(t, k, excl);
    cur->i = cur->c < t->nc ? chunk_lb(t->c[cur->c], k, excl) : 0;
}

void eng_table_first(const struct eng_table *t, struct eng_cursor *cur)
{
    cur->t = t;
    cur->c = 0;
    cur->i = 0;
}

struct eng_obj *eng_table_find(const struct eng_table *t, const char *key)
{
    struct eng_cursor cur;
    eng_table_seek(t, key, false, &cur);
    struct eng_obj *o = eng_cursor_obj(&cur);
    return o && strcmp(o->key, key) == 0 ? o : NULL;
}

struct eng_obj *eng_table_put(struct eng_table *t, struct eng_obj *o)
{
    if (t->nc == 0) {
        struct eng_chunk *c = chunk_new(t->borrowed);
        c->v[c->n++] = o;
        insert_chunk(t, 0, c);
        t->n++;
        return NULL;
    }
    size_t ci = chunk_index(t, o->key, false);
    if (ci == t->nc)
        ci--; /* past every key: append to the last chunk */
    struct eng_chunk *c = own_chunk(t, ci);
    unsigned i = chunk_lb(c, o->key, false);
    if (i < c->n && strcmp(c->v[i]->key, o->key) == 0) {
        struct eng_obj *old = c->v[i];
        c->v[i] = o;
        return old;
    }
    if (c->n == ENG_CHUNK) { /* split: the upper half moves to a new chunk after c */
        struct eng_chunk *u = chunk_new(t->borrowed);
        u->n = ENG_CHUNK / 2;
        memcpy(u->v, &c->v[ENG_CHUNK / 2], u->n * sizeof(*u->v));
        c->n = ENG_CHUNK / 2;
        insert_chunk(t, ci + 1, u);
        if (i > c->n) {
            i -= c->n;
            c = u;
        }
    }
    memmove(&c->v[i + 1], &c->v[i], (c->n - i) * sizeof(*c->v));
    c->v[i] = o;
    c->n++;
    t->n++;
    return NULL;
}

struct eng_obj *eng_table_del(struct eng_table *t, const char *key)
{
    size_t ci = chunk_index(t, key, false);
    if (ci == t->nc)
        return NULL;
    unsigned i = chunk_lb(t->c[ci], key, false);
    if (i == t->c[ci]->n || strcmp(t->c[ci]->v[i]->key, key) != 0)
        return NULL;
    struct eng_chunk *c = own_chunk(t, ci);
    struct eng_obj *old = c->v[i];
    memmove(&c->v[i], &c->v[i + 1], (c->n - i - 1) * sizeof(*c->v));
    c->n--;
    t->n--;
    if (c->n == 0) {
        free(c); /* private and empty */
        memmove(&t->c[ci], &t->c[ci + 1], (t->nc - ci - 1) * sizeof(*t->c));
        t->nc--;
    }
    return old;
}

void eng_table_snapshot(const struct eng_table *t, struct eng_table *out)
{
    memset(out, 0, sizeof(*out));
    out->borrowed = t->borrowed;
    out->n = t->n;
    out->nc = out->cap = t->nc;
    out->last_rev = t->last_rev;
    out->c = t->nc ? ck_malloc(t->nc * sizeof(*out->c)) : NULL;
    for (size_t i = 0; i < t->nc; i++) {
        atomic_fetch_add(&t->c[i]->refs, 1);
        out->c[i] = t->c[i];
    }
}

void eng_table_release(struct eng_table *t)
{
    for (size_t i = 0; i < t->nc; i++)
        chunk_unref(t->c[i]);
    free(t->c);
    t->c = NULL;
    t->n = t->nc = t->cap = 0;
}

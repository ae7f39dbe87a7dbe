/* SPDX-License-Identifier: Apache-2.0 */
/* Open-addressing (linear probing) string map with tombstones; grows at 70% load. */
#include "lib/strmap.h"
#include "lib/buf.h"

#include <string.h>

static char tomb_marker;
#define TOMB (&tomb_marker)

uint64_t ck_hash_str(const char *s, size_t n)
{
    /* FNV-1a 64 with a final avalanche (splitmix64 finalizer). */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

static size_t find(const struct ck_strmap *m, const char *key, uint64_t h, bool *hit)
{
    size_t mask = m->cap - 1, i = h & mask, first_tomb = SIZE_MAX;
    for (;;) {
        struct ck_strmap_slot *s = &m->slots[i];
        if (!s->key) {
            *hit = false;
            return first_tomb != SIZE_MAX ? first_tomb : i;
        }
        if (s->key == TOMB) {
            if (first_tomb == SIZE_MAX)
                first_tomb = i;
        } else if (s->hash == h && strcmp(s->key, key) == 0) {
            *hit = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

static void grow(struct ck_strmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    if (m->len * 2 < m->cap) /* mostly tombstones: rehash at the same size */
        ncap = m->cap;
    struct ck_strmap_slot *old = m->slots;
    size_t ocap = m->cap;
    m->slots = ck_calloc(ncap, sizeof(*m->slots));
    m->cap = ncap;
    m->used = m->len;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].key || old[i].key == TOMB)
            continue;
        size_t j = old[i].hash & (ncap - 1);
        while (m->slots[j].key)
            j = (j + 1) & (ncap - 1);
        m->slots[j] = old[i];
    }
    free(old);
}

void *ck_strmap_get(const struct ck_strmap *m, const char *key, bool *found)
{
    bool hit = false;
    if (m->cap) {
        size_t i = find(m, key, ck_hash_str(key, strlen(key)), &hit);
        if (hit) {
            if (found)
                *found = true;
            return m->slots[i].val;
        }
    }
    if (found)
        *found = false;
    return NULL;
}

void *ck_strmap_put(struct ck_strmap *m, const char *key, void *val)
{
    if ((m->used + 1) * 10 >= m->cap * 7)
        grow(m);
    uint64_t h = ck_hash_str(key, strlen(key));
    bool hit;
    size_t i = find(m, key, h, &hit);
    struct ck_strmap_slot *s = &m->slots[i];
    if (hit) {
        void *old = s->val;
        s->val = val;
        return old;
    }
    if (!s->key)
        m->used++;
    s->key = ck_strdup(key);
    s->hash = h;
    s->val = val;
    m->len++;
    return NULL;
}

void *ck_strmap_del(struct ck_strmap *m, const char *key, bool *found)
{
    bool hit = false;
    if (m->cap) {
        size_t i = find(m, key, ck_hash_str(key, strlen(key)), &hit);
        if (hit) {
            struct ck_strmap_slot *s = &m->slots[i];
            void *old = s->val;
            free(s->key);
            s->key = TOMB;
            s->val = NULL;
            m->len--;
            if (found)
                *found = true;
            return old;
        }
    }
    if (found)
        *found = false;
    return NULL;
}

bool ck_strmap_next(const struct ck_strmap *m, size_t *iter, const char **key, void **val)
{
    for (size_t i = *iter; i < m->cap; i++) {
        struct ck_strmap_slot *s = &m->slots[i];
        if (s->key && s->key != TOMB) {
            *iter = i + 1;
            if (key)
                *key = s->key;
            if (val)
                *val = s->val;
            return true;
        }
    }
    *iter = m->cap;
    return false;
}

void ck_strmap_release(struct ck_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != TOMB)
            free(m->slots[i].key);
    free(m->slots);
    m->slots = NULL;
    m->cap = m->len = m->used = 0;
}

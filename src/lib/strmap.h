/* SPDX-License-Identifier: Apache-2.0 */
/* struct ck_strmap: an open-addressing hash map from NUL-terminated string keys (copied and
 * owned by the map) to void * values (not owned). Not thread-safe; callers lock. */
#ifndef CK_STRMAP_H
#define CK_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ck_strmap_slot {
    char *key; /* NULL = empty; CK_STRMAP_TOMB = deleted */
    uint64_t hash;
    void *val;
};

struct ck_strmap {
    struct ck_strmap_slot *slots;
    size_t cap;   /* power of two or 0 */
    size_t len;   /* live entries */
    size_t used;  /* live + tombstones */
};

#define CK_STRMAP_INIT {NULL, 0, 0, 0}

uint64_t ck_hash_str(const char *s, size_t n);

/* Returns the value or NULL; *found (optional) tells a stored NULL from absence. */
void *ck_strmap_get(const struct ck_strmap *m, const char *key, bool *found);
/* Inserts or replaces; returns the previous value (or NULL). */
void *ck_strmap_put(struct ck_strmap *m, const char *key, void *val);
/* Removes; returns the removed value (or NULL) and sets *found (optional). */
void *ck_strmap_del(struct ck_strmap *m, const char *key, bool *found);
/* Iteration: for (size_t i = 0; ck_strmap_next(m, &i, &k, &v);) { ... } — no writes meanwhile. */
bool ck_strmap_next(const struct ck_strmap *m, size_t *iter, const char **key, void **val);
/* Frees the keys and the table (not the values). */
void ck_strmap_release(struct ck_strmap *m);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Restart backoff (see backoff.h). */
#include "agent/backoff.h"
#include "lib/buf.h"

#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

void ag_backoff_init(struct ag_backoff *b, int64_t initial_ns, int64_t max_ns)
{
    memset(b, 0, sizeof(*b));
    b->initial_ns = initial_ns;
    b->max_ns = max_ns;
}

void ag_backoff_release(struct ag_backoff *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->v[i].key);
    free(b->v);
    b->v = NULL;
    b->n = 0;
}

static struct ag_backoff_entry *find(const struct ag_backoff *b, const char *key)
{
    for (size_t i = 0; i < b->n; i++)
        if (!strcmp(b->v[i].key, key))
            return &b->v[i];
    return NULL;
}

/* hasExpired: the entry was last updated more than 2 * max before t. */
static bool expired(const struct ag_backoff *b, const struct ag_backoff_entry *e, int64_t t)
{
    return t - e->last_ns > 2 * b->max_ns;
}

bool ag_backoff_in_backoff_since(const struct ag_backoff *b, const char *key, int64_t event_ns,
                                 int64_t now_ns)
{
    const struct ag_backoff_entry *e = find(b, key);
    if (!e || expired(b, e, event_ns))
        return false;
    return now_ns - event_ns < e->backoff_ns;
}

bool ag_backoff_in_backoff_since_update(const struct ag_backoff *b, const char *key, int64_t now_ns)
{
    const struct ag_backoff_entry *e = find(b, key);
    if (!e || expired(b, e, now_ns))
        return false;
    return now_ns - e->last_ns < e->backoff_ns;
}

void ag_backoff_next(struct ag_backoff *b, const char *key, int64_t event_ns, int64_t now_ns)
{
    struct ag_backoff_entry *e = find(b, key);
    if (!e) {
        b->v = ck_realloc(b->v, (b->n + 1) * sizeof(*b->v));
        e = &b->v[b->n++];
        e->key = ck_strdup(key);
        e->backoff_ns = b->initial_ns;
    } else if (expired(b, e, event_ns)) {
        e->backoff_ns = b->initial_ns;
    } else {
        e->backoff_ns = e->backoff_ns > b->max_ns / 2 ? b->max_ns : e->backoff_ns * 2;
    }
    e->last_ns = now_ns;
}

int64_t ag_backoff_get(const struct ag_backoff *b, const char *key)
{
    const struct ag_backoff_entry *e = find(b, key);
    return e ? e->backoff_ns : 0;
}

void ag_backoff_gc(struct ag_backoff *b, int64_t now_ns)
{
    size_t j = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (expired(b, &b->v[i], now_ns))
            free(b->v[i].key);
        else
            b->v[j++] = b->v[i];
    }
    b->n = j;
}

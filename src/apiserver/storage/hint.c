/* SPDX-License-Identifier: Apache-2.0 */
/* Write hints: a writer that changed known parts of an object's bytes (the binding fast
 * path) registers what it wrote, and the commit thread derives the cached object from the
 * previous one (same metadata, one selectable field changed) instead of parsing the stored
 * bytes. A hint is used only when the event's bytes are exactly the hinted bytes and the
 * object in the table is the one they were derived from. */
#include "apiserver/storage/storage.h"

#include <stdatomic.h>
#include <string.h>

#include "lib/banned.h"

static atomic_llong hits;

long long eng_hint_hits(void)
{
    return atomic_load(&hits);
}

void eng_hint_add(struct eng_cache *s, struct eng_put_hint *h)
{
    pthread_mutex_lock(&s->hint_mu);
    h->next = s->hints;
    s->hints = h;
    pthread_mutex_unlock(&s->hint_mu);
}

void eng_hint_del(struct eng_cache *s, struct eng_put_hint *h)
{
    pthread_mutex_lock(&s->hint_mu);
    for (struct eng_put_hint **pp = &s->hints; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    pthread_mutex_unlock(&s->hint_mu);
}

struct eng_obj *eng_hint_obj(struct eng_cache *s, const struct reg_resource *r,
                             const struct store_event *ev)
{
    const struct store_kv *kv = &ev->kv;
    struct eng_obj *out = NULL;
    pthread_mutex_lock(&s->hint_mu);
    struct eng_put_hint *h = s->hints;
    for (; h; h = h->next)
        if (h->key_len == kv->key_len && h->len == kv->value_len &&
            memcmp(h->key, kv->key, kv->key_len) == 0 &&
            memcmp(h->val, kv->value, kv->value_len) == 0)
            break;
    if (h) { /* the writer waits in the store until this event is applied: h stays valid */
        pthread_rwlock_rdlock(&s->mu);
        struct eng_obj *old = eng_table_find(&s->tables[r->idx], kv->key);
        if (old && old->rv == h->base_rv && ev->has_prev && ev->prev.mod_revision == h->base_rv)
            out =
                eng_obj_derive(old, kv->value, kv->value_len, kv->mod_revision, h->field, h->fval);
        pthread_rwlock_unlock(&s->mu);
        if (out)
            atomic_fetch_add(&hits, 1);
    }
    pthread_mutex_unlock(&s->hint_mu);
    return out;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Thread-safe indexed object cache. Index values of the old object are recomputed on update
 * and delete (index functions must be deterministic), as client-go does. */
#include "ckube/indexer.h"
#include "lib/buf.h"
#include "lib/strmap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INDEXES 16

struct index {
    char *name;
    ck_index_fn fn;
    struct ck_strmap values; /* index value -> struct ck_strmap * (set of keys) */
};

struct ck_indexer {
    pthread_rwlock_t mu;
    struct ck_strmap items; /* key -> json_t * */
    struct index idx[MAX_INDEXES];
    size_t nidx;
};

char *ck_meta_namespace_key(const json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    if (!name)
        return NULL;
    if (ns && *ns)
        return ck_asprintf("%s/%s", ns, name);
    return ck_strdup(name);
}

void ck_index_by_namespace(const json_t *obj, ck_index_emit_fn emit, void *ctx)
{
    const char *ns = json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                       "namespace"));
    emit(ctx, ns ? ns : "");
}

struct emit_ctx {
    struct index *ix;
    const char *key;
    bool add;
};

static void set_free(struct ck_strmap *set)
{
    ck_strmap_release(set);
    free(set);
}

static void emit_update(void *arg, const char *value)
{
    struct emit_ctx *c = arg;
    struct ck_strmap *set = ck_strmap_get(&c->ix->values, value, NULL);
    if (c->add) {
        if (!set) {
            set = ck_calloc(1, sizeof(*set));
            ck_strmap_put(&c->ix->values, value, set);
        }
        ck_strmap_put(set, c->key, NULL);
    } else if (set) {
        ck_strmap_del(set, c->key, NULL);
        if (set->len == 0) {
            ck_strmap_del(&c->ix->values, value, NULL);
            set_free(set);
        }
    }
}

static void index_obj(struct index *in, const char *key, const json_t *obj, bool add)
{
    struct emit_ctx c = {in, key, add};
    in->fn(obj, emit_update, &c);
}

static void index_all(struct ck_indexer *ix, const char *key, const json_t *obj, bool add)
{
    for (size_t i = 0; i < ix->nidx; i++)
        index_obj(&ix->idx[i], key, obj, add);
}

struct ck_indexer *ck_indexer_new(void)
{
    struct ck_indexer *ix = ck_calloc(1, sizeof(*ix));
    pthread_rwlock_init(&ix->mu, NULL);
    return ix;
}

static void clear_items(struct ck_indexer *ix)
{
    const char *k;
    void *v;
    for (size_t it = 0; ck_strmap_next(&ix->items, &it, &k, &v);)
        json_decref(v);
    ck_strmap_release(&ix->items);
    for (size_t i = 0; i < ix->nidx; i++) {
        for (size_t it = 0; ck_strmap_next(&ix->idx[i].values, &it, &k, &v);)
            set_free(v);
        ck_strmap_release(&ix->idx[i].values);
    }
}

void ck_indexer_free(struct ck_indexer *ix)
{
    if (!ix)
        return;
    clear_items(ix);
    for (size_t i = 0; i < ix->nidx; i++)
        free(ix->idx[i].name);
    pthread_rwlock_destroy(&ix->mu);
    free(ix);
}

int ck_indexer_add_index(struct ck_indexer *ix, const char *name, ck_index_fn fn)
{
    int rc = 0;
    pthread_rwlock_wrlock(&ix->mu);
    for (size_t i = 0; i < ix->nidx; i++)
        if (!strcmp(ix->idx[i].name, name))
            rc = -1;
    if (rc == 0 && ix->nidx == MAX_INDEXES)
        rc = -1;
    if (rc == 0) {
        struct index *in = &ix->idx[ix->nidx++];
        memset(in, 0, sizeof(*in));
        in->name = ck_strdup(name);
        in->fn = fn;
        const char *k;
        void *v;
        for (size_t it = 0; ck_strmap_next(&ix->items, &it, &k, &v);)
            index_obj(in, k, v, true);
    }
    pthread_rwlock_unlock(&ix->mu);
    return rc;
}

static void put_locked(struct ck_indexer *ix, const char *key, json_t *obj)
{
    json_t *old = ck_strmap_get(&ix->items, key, NULL);
    if (old)
        index_all(ix, key, old, false);
    ck_strmap_put(&ix->items, key, json_incref(obj));
    index_all(ix, key, obj, true);
    json_decref(old);
}

void ck_indexer_put(struct ck_indexer *ix, const char *key, json_t *obj)
{
    pthread_rwlock_wrlock(&ix->mu);
    put_locked(ix, key, obj);
    pthread_rwlock_unlock(&ix->mu);
}

bool ck_indexer_delete(struct ck_indexer *ix, const char *key)
{
    pthread_rwlock_wrlock(&ix->mu);
    bool found;
    json_t *old = ck_strmap_get(&ix->items, key, &found);
    if (found) {
        index_all(ix, key, old, false);
        ck_strmap_del(&ix->items, key, NULL);
        json_decref(old);
    }
    pthread_rwlock_unlock(&ix->mu);
    return found;
}

void ck_indexer_replace(struct ck_indexer *ix, const json_t *items)
{
    pthread_rwlock_wrlock(&ix->mu);
    clear_items(ix);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)items, k, v)
        put_locked(ix, k, v);
    pthread_rwlock_unlock(&ix->mu);
}

json_t *ck_indexer_get(struct ck_indexer *ix, const char *key)
{
    pthread_rwlock_rdlock(&ix->mu);
    json_t *o = json_incref(ck_strmap_get(&ix->items, key, NULL));
    pthread_rwlock_unlock(&ix->mu);
    return o;
}

size_t ck_indexer_len(struct ck_indexer *ix)
{
    pthread_rwlock_rdlock(&ix->mu);
    size_t n = ix->items.len;
    pthread_rwlock_unlock(&ix->mu);
    return n;
}

json_t *ck_indexer_list(struct ck_indexer *ix)
{
    json_t *arr = json_array();
    pthread_rwlock_rdlock(&ix->mu);
    const char *k;
    void *v;
    for (size_t it = 0; ck_strmap_next(&ix->items, &it, &k, &v);)
        json_array_append(arr, v);
    pthread_rwlock_unlock(&ix->mu);
    return arr;
}

static int cmp_json_str(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

static json_t *sorted_keys(const struct ck_strmap *m)
{
    json_t **v = ck_calloc(m->len, sizeof(*v));
    size_t n = 0;
    const char *k;
    for (size_t it = 0; ck_strmap_next(m, &it, &k, NULL);)
        v[n++] = json_string(k);
    qsort(v, n, sizeof(*v), cmp_json_str);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    free(v);
    return arr;
}

json_t *ck_indexer_keys(struct ck_indexer *ix)
{
    pthread_rwlock_rdlock(&ix->mu);
    json_t *arr = sorted_keys(&ix->items);
    pthread_rwlock_unlock(&ix->mu);
    return arr;
}

static struct index *find_index(struct ck_indexer *ix, const char *name)
{
    for (size_t i = 0; i < ix->nidx; i++)
        if (!strcmp(ix->idx[i].name, name))
            return &ix->idx[i];
    return NULL;
}

json_t *ck_indexer_index_keys(struct ck_indexer *ix, const char *name, const char *value)
{
    pthread_rwlock_rdlock(&ix->mu);
    struct index *in = find_index(ix, name);
    json_t *arr = NULL;
    if (in) {
        struct ck_strmap *set = ck_strmap_get(&in->values, value, NULL);
        arr = set ? sorted_keys(set) : json_array();
    }
    pthread_rwlock_unlock(&ix->mu);
    return arr;
}

json_t *ck_indexer_by_index(struct ck_indexer *ix, const char *name, const char *value)
{
    pthread_rwlock_rdlock(&ix->mu);
    struct index *in = find_index(ix, name);
    json_t *arr = NULL;
    if (in) {
        arr = json_array();
        struct ck_strmap *set = ck_strmap_get(&in->values, value, NULL);
        const char *k;
        for (size_t it = 0; set && ck_strmap_next(set, &it, &k, NULL);)
            json_array_append(arr, ck_strmap_get(&ix->items, k, NULL));
    }
    pthread_rwlock_unlock(&ix->mu);
    return arr;
}

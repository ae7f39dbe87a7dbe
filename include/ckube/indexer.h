/* SPDX-License-Identifier: Apache-2.0 */
/* A thread-safe object cache with secondary indexes (client-go's cache.Indexer /
 * ThreadSafeStore). Objects are jansson values shared by reference: the indexer holds one
 * reference per stored object and hands out new references; callers must not modify them. */
#ifndef CKUBE_INDEXER_H
#define CKUBE_INDEXER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct ck_indexer;

/* An index function calls emit once per index value of obj (zero or more times). */
typedef void (*ck_index_emit_fn)(void *ctx, const char *value);
typedef void (*ck_index_fn)(const json_t *obj, ck_index_emit_fn emit, void *ctx);

/* "namespace/name", or "name" for cluster-scoped objects; NULL if obj has no metadata.name.
 * Caller frees. (client-go MetaNamespaceKeyFunc) */
char *ck_meta_namespace_key(const json_t *obj);
/* Index function: metadata.namespace (client-go's "namespace" index). */
void ck_index_by_namespace(const json_t *obj, ck_index_emit_fn emit, void *ctx);

struct ck_indexer *ck_indexer_new(void);
void ck_indexer_free(struct ck_indexer *ix);
/* Adds an index; existing objects are indexed at once. Returns -1 if the name is taken. */
int ck_indexer_add_index(struct ck_indexer *ix, const char *name, ck_index_fn fn);

/* Stores obj under key (adding or replacing), keeping every index up to date. */
void ck_indexer_put(struct ck_indexer *ix, const char *key, json_t *obj);
/* Removes key; returns true if it was present. */
bool ck_indexer_delete(struct ck_indexer *ix, const char *key);
/* Replaces the whole content with the members of items (an object: key -> obj). */
void ck_indexer_replace(struct ck_indexer *ix, const json_t *items);

/* New reference or NULL. */
json_t *ck_indexer_get(struct ck_indexer *ix, const char *key);
size_t ck_indexer_len(struct ck_indexer *ix);
/* New JSON array of every object (unordered). */
json_t *ck_indexer_list(struct ck_indexer *ix);
/* New JSON array of every key, sorted. */
json_t *ck_indexer_keys(struct ck_indexer *ix);
/* New JSON array of the objects whose index `name` has `value`; NULL for an unknown index. */
json_t *ck_indexer_by_index(struct ck_indexer *ix, const char *name, const char *value);
/* New JSON array of the keys (sorted) indexed under value; NULL for an unknown index. */
json_t *ck_indexer_index_keys(struct ck_indexer *ix, const char *name, const char *value);

#endif

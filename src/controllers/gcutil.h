/* SPDX-License-Identifier: Apache-2.0 */
/* The garbage collector's pure decisions (garbagecollector.go attemptToDeleteItem and
 * processDeletingDependentsItem), separated from the I/O so they can be tested from
 * upstream's cases. */
#ifndef CK_CONTROLLERS_GCUTIL_H
#define CK_CONTROLLERS_GCUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum gc_action {
    GC_KEEP,        /* every owner is solid: nothing to do */
    GC_REMOVE_REFS, /* a solid owner exists: drop the refs to dangling and waiting owners */
    GC_DELETE,      /* no solid owner: delete with *policy */
};

/* solid/dangling/waiting: how many of the item's owners exist, are gone (or have another
 * uid), or are being deleted in foreground; has_dependents: the item owns something;
 * orphan_fin/fg_fin: the item's own finalizers. */
enum gc_action gc_decide(int solid, int dangling, int waiting, bool has_dependents, bool orphan_fin,
                         bool fg_fin, const char **policy);

/* The metadata informers' transform: keeps of obj only what the graph needs (kind,
 * apiVersion, and metadata's name, namespace, uid, resourceVersion, ownerReferences,
 * deletionTimestamp and finalizers), in place. */
void gc_trim_meta(json_t *obj);

/* Upstream's DefaultIgnoredResources: events (core and events.k8s.io) are never watched. */
bool gc_ignored(const char *group, const char *resource);

/* Queue items are "<apiVersion>/<resource>|<namespace/name key>": the id of the kind and the
 * key; gc_split_item returns the key and writes the id (NUL-ended) to id, or NULL when item
 * is malformed or the id longer than n - 1. */
const char *gc_split_item(const char *item, char *id, size_t n);

#endif

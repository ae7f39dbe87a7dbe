/* SPDX-License-Identifier: Apache-2.0 */
/* Pure garbage collector decisions: see gcutil.h. */
#include "controllers/gcutil.h"

#include <stddef.h>
#include <string.h>

#include "lib/banned.h"

enum gc_action gc_decide(int solid, int dangling, int waiting, bool has_dependents, bool orphan_fin,
                         bool fg_fin, const char **policy)
{
    *policy = NULL;
    if (solid > 0)
        return dangling + waiting > 0 ? GC_REMOVE_REFS : GC_KEEP;
    if (waiting > 0 && has_dependents)
        *policy = "Foreground"; /* its owner waits: its own dependents must go first */
    else if (orphan_fin)
        *policy = "Orphan";
    else if (fg_fin)
        *policy = "Foreground";
    else
        *policy = "Background";
    return GC_DELETE;
}

void gc_trim_meta(json_t *obj)
{
    static const char *const keep[] = {
        "name",      "namespace", "uid", "resourceVersion", "ownerReferences", "deletionTimestamp",
        "finalizers"};
    const char *k;
    json_t *v;
    void *tmp;
    if (!json_is_object(obj))
        return;
    json_object_foreach_safe(obj, tmp, k, v)
    {
        if (strcmp(k, "metadata") && strcmp(k, "kind") && strcmp(k, "apiVersion"))
            json_object_del(obj, k);
    }
    json_t *meta = json_object_get(obj, "metadata");
    if (!json_is_object(meta))
        return;
    json_object_foreach_safe(meta, tmp, k, v)
    {
        bool kept = false;
        for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]) && !kept; i++)
            kept = !strcmp(k, keep[i]);
        if (!kept)
            json_object_del(meta, k);
    }
}

bool gc_ignored(const char *group, const char *resource)
{
    return !strcmp(resource, "events") && (!*group || !strcmp(group, "events.k8s.io"));
}

const char *gc_split_item(const char *item, char *id, size_t n)
{
    const char *bar = strchr(item, '|');
    if (!bar || bar == item || (size_t)(bar - item) >= n || !bar[1])
        return NULL;
    memcpy(id, item, (size_t)(bar - item));
    id[bar - item] = '\0';
    return bar + 1;
}

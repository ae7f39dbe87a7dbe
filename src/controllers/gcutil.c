/* SPDX-License-Identifier: Apache-2.0 */
/* Pure garbage collector decisions: see gcutil.h. */
#include "controllers/gcutil.h"

#include <stddef.h>

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

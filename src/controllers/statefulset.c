/* SPDX-License-Identifier: Apache-2.0 */
/* The statefulset controller (apps/v1 StatefulSets): not built yet; the manager skips a controller
 * with no init. */
#include "controllers/cm.h"

#include "lib/banned.h"

struct cm_controller cm_statefulset = {.name = "statefulset", .alias = "statefulset-controller"};

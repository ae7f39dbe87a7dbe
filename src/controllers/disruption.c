/* SPDX-License-Identifier: Apache-2.0 */
/* The disruption controller (policy/v1 PodDisruptionBudget status): not built yet; the manager
 * skips a controller with no init. */
#include "controllers/cm.h"

#include "lib/banned.h"

struct cm_controller cm_disruption = {.name = "disruption", .alias = "disruption-controller"};

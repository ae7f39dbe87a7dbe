/* SPDX-License-Identifier: Apache-2.0 */
/* The daemonset controller (apps/v1 DaemonSets): not built yet; the manager skips a controller with
 * no init. */
#include "controllers/cm.h"

#include "lib/banned.h"

struct cm_controller cm_daemonset = {.name = "daemonset", .alias = "daemonset-controller"};

/* SPDX-License-Identifier: Apache-2.0 */
/* The namespace controller (namespace deletion): not built yet; the manager skips a controller with
 * no init. */
#include "controllers/cm.h"

#include "lib/banned.h"

struct cm_controller cm_namespace = {.name = "namespace", .alias = "namespace-controller"};

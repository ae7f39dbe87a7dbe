/* SPDX-License-Identifier: Apache-2.0 */
/* The job controller (batch/v1 Jobs): not built yet; the manager skips a controller with no init.
 */
#include "controllers/cm.h"

#include "lib/banned.h"

struct cm_controller cm_job = {.name = "job", .alias = "job-controller"};

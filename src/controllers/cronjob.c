/* SPDX-License-Identifier: Apache-2.0 */
/* The cronjob controller (batch/v1 CronJobs): not built yet; the manager skips a controller with no
 * init. */
#include "controllers/cm.h"

#include "lib/banned.h"

struct cm_controller cm_cronjob = {.name = "cronjob", .alias = "cronjob-controller"};

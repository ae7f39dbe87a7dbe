/* SPDX-License-Identifier: Apache-2.0 */
/* Events of the batch controllers (job-controller, cronjob-controller), as client-go's legacy
 * recorder posts them: a core/v1 Event about the object, best effort (a failure is logged at
 * -v=2 and dropped). */
#ifndef CK_CONTROLLERS_JOBEVENT_H
#define CK_CONTROLLERS_JOBEVENT_H

#include "ckube/client.h"

#include <jansson.h>
#include <stdbool.h>

void jc_event(struct ck_client *client, const json_t *obj, const char *kind, const char *component,
              bool warning, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

#endif

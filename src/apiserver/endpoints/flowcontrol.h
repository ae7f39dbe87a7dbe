/* SPDX-License-Identifier: Apache-2.0 */
/* API Priority and Fairness, the engine's half (flowcontrol.c): bootstrap objects and the
 * classification behind api_flowcontrol_classify. */
#ifndef CK_APISERVER_ENDPOINTS_FLOWCONTROL_H
#define CK_APISERVER_ENDPOINTS_FLOWCONTROL_H

#include "apiserver/api.h"
#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>

struct rbac_attrs;

/* Creates the missing bootstrap FlowSchemas and PriorityLevelConfigurations (never fails:
 * problems are logged). */
int eng_flowcontrol_bootstrap(struct api_server *s, struct ck_err *err);
/* Drops the engine's parsed configuration snapshot. */
void eng_flowcontrol_free(struct api_server *s);
/* True when a FlowSchema's spec.rules match the request (subjects, then resource or
 * non-resource rules). */
bool eng_fc_rules_match(json_t *rules, const struct rbac_attrs *a);

#endif

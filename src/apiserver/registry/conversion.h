/* SPDX-License-Identifier: Apache-2.0 */
/* Conversions between a served version of a kind and the version it is stored as (upstream's
 * pkg/apis/<group>/<version>/conversion.go): autoscaling/v1 <-> v2 HorizontalPodAutoscaler
 * (targetCPUUtilizationPercentage <-> a Resource cpu Utilization metric, the rest round-tripped
 * in autoscaling.alpha.kubernetes.io annotations), events.k8s.io/v1 <-> core/v1 Event, and
 * flowcontrol v1beta3 <-> v1. Pure JSON transforms on whole objects; symbols conv_. */
#ifndef CK_APISERVER_CONVERSION_H
#define CK_APISERVER_CONVERSION_H

#include "apiserver/registry/registry.h"
#include "lib/err.h"

#include <jansson.h>

/* Converts obj, an object of the view res (res->storage set), into the stored version:
 * returns a new reference, or NULL with err set (400 when an annotation does not parse). */
json_t *conv_to_storage(const struct reg_resource *view, const json_t *obj, struct ck_err *err);
/* Converts a stored object into the view's version: a new reference (never NULL for an
 * object; a copy of anything else). */
json_t *conv_from_storage(const struct reg_resource *view, const json_t *obj);

/* Field selector names of the view mapped to the stored resource's ("regarding.name" ->
 * "involvedObject.name" for events.k8s.io); NULL when the name is the same. */
const char *conv_field_label(const struct reg_resource *view, const char *name);

/* The HPA conversions by themselves (obj is not modified). */
json_t *conv_hpa_v1_to_v2(const json_t *v1, struct ck_err *err);
json_t *conv_hpa_v2_to_v1(const json_t *v2);
/* events.k8s.io/v1 Event <-> core/v1 Event. */
json_t *conv_event_to_core(const json_t *ev);
json_t *conv_event_from_core(const json_t *core);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Defaulting and validation of built-in objects (the core fields kubectl users hit):
 * names (DNS-1123 subdomain/label per resource), labels and annotations, pod spec essentials
 * (containers with name and image, unique names, ports, restartPolicy, dnsPolicy, ...),
 * workload selectors matching templates, services, configmap/secret keys. */
#ifndef CK_VALIDATION_H
#define CK_VALIDATION_H

#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>

/* Applies upstream's defaults in place (e.g. pod restartPolicy Always, dnsPolicy
 * ClusterFirst, container terminationMessagePath/Policy and imagePullPolicy,
 * deployment strategy RollingUpdate 25%/25%, replicas 1, revisionHistoryLimit 10,
 * progressDeadlineSeconds 600, service type ClusterIP/sessionAffinity None, ...). */
void validation_default(const char *group, const char *resource, json_t *obj);

/* Validates obj (old is the stored object on update, NULL on create). On failure returns -1
 * with CK_R_INVALID, err->causes filled (type "FieldValueRequired"/"FieldValueInvalid"/...,
 * field "metadata.name", ...), and a message exactly like upstream's:
 * `Deployment.apps "x" is invalid: spec.replicas: Invalid value: -1: must be greater than or
 * equal to 0`. kind is the object's Kind for the message. */
int validation_validate(const char *group, const char *resource, const char *kind,
                        const json_t *obj, const json_t *old, struct ck_err *err);

/* Name checks usable by the registry for path names: DNS-1123 subdomain / label. */
bool validation_is_dns1123_subdomain(const char *s);
bool validation_is_dns1123_label(const char *s);

#endif

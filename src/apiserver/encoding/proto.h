/* SPDX-License-Identifier: Apache-2.0 */
/* Kubernetes protobuf request bodies -> JSON. kubectl 1.32+ sends typed creates (namespace,
 * configmap, secret, deployment, job, service, ...) as application/vnd.kubernetes.protobuf:
 * the 4-byte magic "k8s\0" then a runtime.Unknown {typeMeta, raw, contentEncoding,
 * contentType} whose raw bytes are the object's message. The decoder is driven by a table of
 * the built-in message types (proto_schema.c) and yields the JSON the same object would have
 * had: zero-valued non-pointer fields are omitted (Go's omitempty), inline members merged,
 * Time/Quantity/IntOrString/bytes in their JSON forms. */
#ifndef CK_PROTO_H
#define CK_PROTO_H

#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define PROTO_CONTENT_TYPE "application/vnd.kubernetes.protobuf"

/* True if the Content-Type (parameters allowed) names Kubernetes protobuf. */
bool proto_is_content_type(const char *content_type);

/* Decodes an envelope into a new JSON object with apiVersion and kind set from the envelope.
 * Errors: CK_R_BAD_REQUEST for malformed bytes, CK_R_UNSUPPORTED_MEDIA for a kind without a
 * protobuf schema here or a compressed (contentEncoding) payload. */
int proto_decode(const void *body, size_t len, json_t **out, struct ck_err *err);

/* Decodes a bare message of the named type (e.g. "ConfigMap"); for tests and fuzzing. */
int proto_decode_message(const char *type, const void *buf, size_t len, json_t **out,
                         struct ck_err *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Kubernetes protobuf (application/vnd.kubernetes.protobuf) <-> JSON. Decoding: request bodies. kubectl 1.32+ sends typed creates (namespace,
 * configmap, secret, deployment, job, service, ...) as application/vnd.kubernetes.protobuf:
 * the 4-byte magic "k8s\0" then a runtime.Unknown {typeMeta, raw, contentEncoding,
 * contentType} whose raw bytes are the object's message. The decoder is driven by a table of
 * the built-in message types (proto_schema.c) and yields the JSON the same object would have
 * had: zero-valued non-pointer fields are omitted (Go's omitempty), inline members merged,
 * Time/Quantity/IntOrString/bytes in their JSON forms. */
#ifndef CK_PROTO_H
#define CK_PROTO_H

#include "lib/buf.h"
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

/* Decodes a bare message of the named type: qualified ("apps/v1.Deployment",
 * "meta.k8s.io/v1.Status") or a bare kind looked up core/v1 first ("ConfigMap"); for tests
 * and fuzzing. */
int proto_decode_message(const char *type, const void *buf, size_t len, json_t **out,
                         struct ck_err *err);

/* Encoding: the schema (generated from upstream's generated.proto by
 * scripts/gen_proto_schema.py) drives the inverse of the decoder. The bytes are those of
 * upstream's generated Marshal for the Go value the JSON decodes to: fields in number order,
 * non-pointer fields always written (zero values included), nil pointers / empty slices and
 * maps / absent []byte left out, map entries by sorted key. */

/* True if (apiVersion, kind) has a protobuf message here (meta.k8s.io/v1 kinds such as
 * Status and WatchEvent belong to every group version). */
bool proto_has_kind(const char *api_version, const char *kind);

/* Appends obj (a JSON object with apiVersion and kind) as "k8s\0" + runtime.Unknown
 * {typeMeta{apiVersion, kind}, raw, contentEncoding "", contentType ""}, as upstream's
 * protobuf serializer writes a response. CK_R_NOT_ACCEPTABLE for a kind without a schema. */
int proto_encode(json_t *obj, struct ck_buf *out, struct ck_err *err);

/* Appends the bare message bytes of obj as the named type (see proto_decode_message). */
int proto_encode_message(const char *type, json_t *obj, struct ck_buf *out, struct ck_err *err);

/* Converts one JSON watch event ({"type":...,"object":{...}}) to upstream's protobuf watch
 * frame: a 4-byte big-endian length, then a bare metav1.WatchEvent{type, object:
 * RawExtension{raw: the object as proto_encode writes it}}. */
int proto_encode_watch_event(const char *line, size_t len, struct ck_buf *out,
                             struct ck_err *err);

#endif

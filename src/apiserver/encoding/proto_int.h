/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to encoding/proto*.c: the loaded protobuf schema (messages, fields, types) that the
 * decoder (proto.c) and the encoder (proto_enc.c) share. */
#ifndef CK_PROTO_INT_H
#define CK_PROTO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pb_kind {
    PB_STRING,
    PB_INT32,
    PB_INT64,
    PB_BOOL,
    PB_DOUBLE,
    PB_FLOAT, /* scalars (varint/fixed) */
    PB_BYTES,
    PB_TIME,
    PB_MICROTIME,
    PB_QUANTITY,
    PB_INTORSTRING,
    PB_DURATION,
    PB_RAWJSON,
    PB_STRLIST,
    PB_MSG,
};

struct pb_msg;

struct pb_type {
    enum pb_kind kind;
    const struct pb_msg *msg; /* PB_MSG; NULL for a message of a package not loaded */
    char *msg_name;           /* qualified, until resolved */
};

struct pb_field {
    char *name; /* the JSON name */
    uint32_t num;
    bool repeated, ptr, inline_, map;
    struct pb_type val; /* element / value type */
    struct pb_type key; /* map key type */
};

struct pb_msg {
    char *name;              /* qualified: "<package>.<Name>", e.g. "apps/v1.Deployment" */
    struct pb_field *fields; /* by field number */
    size_t nfields;
};

/* The message of a qualified name, or NULL. Loads the schema on first use. */
const struct pb_msg *pb_msg_lookup(const char *qualified);
/* The message of (apiVersion, kind): the package of apiVersion, else meta.k8s.io/v1 (Status,
 * DeleteOptions, WatchEvent, ... belong to every group version); an empty apiVersion searches
 * core/v1 first, then every package. */
const struct pb_msg *pb_msg_for_kind(const char *api_version, const char *kind);

#endif

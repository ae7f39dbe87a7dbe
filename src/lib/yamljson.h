/* SPDX-License-Identifier: Apache-2.0 */
/* YAML <-> JSON for request bodies (application/yaml), kubeconfig files and responses
 * (kubectl asks for JSON; YAML output is client-side, but bodies may arrive as YAML). */
#ifndef CK_YAMLJSON_H
#define CK_YAMLJSON_H

#include "lib/buf.h"
#include "lib/err.h"

#include <jansson.h>
#include <stddef.h>

/* Limits (errors past them: CK_R_BAD_REQUEST, or CK_R_TOO_LARGE for the input size). */
#define YAML_MAX_INPUT (64 * 1024 * 1024)
#define YAML_MAX_DEPTH 1000
/* Memory (about 64 bytes a node plus scalar bytes) that alias expansion may add. */
#define YAML_MAX_ALIAS_WEIGHT (4 * 1024 * 1024) /* > any 3 MiB body's honest expansion */

/* Parses one YAML document (YAML 1.1 scalars resolved as Kubernetes' sigs.k8s.io/yaml, i.e.
 * go-yaml v2, does): plain y/Y/yes/Yes/YES/on/On/ON/true/True/TRUE and the n/no/off/false
 * family are booleans; ""/~/null/Null/NULL are null; ints in Go base-0 syntax with `_`
 * separators (0x1F, 0o17, 017, 0b101, +5); floats (1.5, 1e3, .5); timestamps stay strings;
 * .nan/.inf are errors (JSON cannot hold them); integral floats become JSON integers, ints
 * beyond int64 become reals. Quoted/block scalars and !!str are strings; !!binary is
 * base64-decoded; other tags are checked (`!!int abc` is an error); unknown tags keep the
 * text. Non-string keys are stringified (1 -> "1", true -> "true", 1.5 -> "1.5"; note that
 * unquoted y/n/yes/on/... keys therefore become "true"/"false", as upstream); null or
 * collection keys are errors; `<<` merges maps. Aliases are deep copies, within
 * YAML_MAX_ALIAS_WEIGHT; an unknown anchor is an error. Multiple documents: only the first;
 * no document at all gives JSON null. Errors: CK_R_BAD_REQUEST, message
 * "error converting YAML to JSON: yaml: line L, column C: <problem>". *out is a new value. */
int yaml_to_json(const char *text, size_t len, json_t **out, struct ck_err *err);
/* yaml_to_json that also reports keys given twice in one mapping, as go-yaml's strict mode
 * (fieldValidation=Strict/Warn) does: one line per duplicate appended to dups, e.g.
 * `line 3: key "a" already set in map` ("\n"-separated). The last value still wins. Keys
 * brought in by a `<<` merge are not duplicates. dups may be NULL. */
int yaml_to_json_dups(const char *text, size_t len, json_t **out, struct ck_buf *dups,
                      struct ck_err *err);

/* Appends v as block-style YAML the way sigs.k8s.io/yaml JSONToYAML (go-yaml v2) writes it:
 * keys sorted in go-yaml's natural order, sequences not indented under their key, strings
 * quoted only when they would read back as another type ("true", "1", "null", "", "1:20",
 * timestamps, ...) or cannot be plain ("- x", "a: b", leading/trailing space), multi-line
 * strings as literal blocks, {} and [] for empty collections, no "---". Returns 0, or -1 when
 * out's ceiling is reached (nothing appended) or v nests deeper than YAML_MAX_DEPTH. */
int json_to_yaml(const json_t *v, struct ck_buf *out);

#endif

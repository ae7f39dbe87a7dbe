/* SPDX-License-Identifier: Apache-2.0 */
/* Small JSON accessors shared by the k8s helpers. Borrowed pointers, never NULL strings. */
#ifndef CK_K8S_UTIL_H
#define CK_K8S_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* The string member key of obj, or "" when obj is not an object or the member is missing or
 * not a string. */
const char *k8s_jstr(const json_t *obj, const char *key);
/* Dotted path lookup ("spec.nodeName"); NULL when any step is missing. */
json_t *k8s_jpath(const json_t *obj, const char *path);
/* The string at a dotted path, or "" (like k8s_jstr). */
const char *k8s_jpath_str(const json_t *obj, const char *path);
/* Array length, 0 for anything that is not an array. */
size_t k8s_jlen(const json_t *a);
/* Go's strconv.ParseInt(s, 10, 64): optional sign, decimal digits, in range. */
bool k8s_parse_int64(const char *s, int64_t *out);

#endif

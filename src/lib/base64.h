/* SPDX-License-Identifier: Apache-2.0 */
/* Standard base64 (RFC 4648 alphabet) decoding, as Kubernetes' []byte fields (Secret data,
 * binaryData, dockerconfigjson), kubeconfig *-data fields and registry "auth" entries carry
 * it. */
#ifndef CK_LIB_BASE64_H
#define CK_LIB_BASE64_H

#include <stddef.h>

/* Decodes s[0..n): padding optional, whitespace (\n, \r, space, tab) ignored. Returns the bytes
 * (malloc'd, NUL-terminated after *out_len bytes), or NULL when s is not base64. */
char *ck_base64_decode(const char *s, size_t n, size_t *out_len);

#endif

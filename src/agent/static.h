/* SPDX-License-Identifier: Apache-2.0 */
/* Static pods (upstream pkg/kubelet/config file source + common.go applyDefaults): the pure
 * part, for unit tests. */
#ifndef CK_AGENT_STATIC_H
#define CK_AGENT_STATIC_H

#include "lib/err.h"

#include <jansson.h>
#include <stddef.h>

#define AG_CONFIG_SOURCE "kubernetes.io/config.source"
#define AG_CONFIG_HASH "kubernetes.io/config.hash"
#define AG_CONFIG_MIRROR "kubernetes.io/config.mirror"
#define AG_CONFIG_SEEN "kubernetes.io/config.seen"

/* A manifest (YAML or JSON text of one Pod) from file path, as the static pod of node: uid =
 * md5 of the pod (canonical JSON) + "host:<node>" + "file:<path>" unless set; name
 * "<name>-<node>"; namespace "default" when empty; spec.nodeName; the config.hash (= uid) and
 * config.source=file annotations; the NoExecute "Exists" toleration; phase Pending. seen (an
 * RFC 3339 time) goes into config.seen. NULL with CK_R_BAD_REQUEST on a bad manifest. */
json_t *ag_static_parse(const char *text, size_t len, const char *path, const char *node,
                        const char *seen, struct ck_err *err);
/* The mirror pod to create for static pod sp on the Node (name, uid). */
json_t *ag_static_mirror(const json_t *sp, const char *node, const char *node_uid);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* ControllerExpectations / UIDTrackingControllerExpectations (controller_utils.go): how many
 * creations a controller still waits to see in its informer, and which pod keys it still
 * waits to see deleted, per controller key. A controller does not act on a key until its
 * expectations are met or have expired (5 minutes), so a slow cache never causes extra
 * creations or deletions. Thread-safe. */
#ifndef CK_CONTROLLERS_EXPECT_H
#define CK_CONTROLLERS_EXPECT_H

#include <stdbool.h>
#include <stdint.h>

struct cm_expect;

#define CM_EXPECT_TTL_NS (5LL * 60 * 1000000000LL)

struct cm_expect *cm_expect_new(void);
void cm_expect_free(struct cm_expect *e);
/* now_ns: a monotonic time (tests pass their own). */
bool cm_expect_satisfied(struct cm_expect *e, const char *key, int64_t now_ns);
void cm_expect_creations(struct cm_expect *e, const char *key, int n, int64_t now_ns);
/* Expects the deletion of each of the n pod keys. */
void cm_expect_deletions(struct cm_expect *e, const char *key, const char *const *pods, int n,
                         int64_t now_ns);
void cm_expect_creation_observed(struct cm_expect *e, const char *key);
/* Lowers the deletion count only when pod was expected. */
void cm_expect_deletion_observed(struct cm_expect *e, const char *key, const char *pod);
void cm_expect_delete(struct cm_expect *e, const char *key);

#endif

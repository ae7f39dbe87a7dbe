/* SPDX-License-Identifier: Apache-2.0 */
/* The kubelet's image manager (pkg/kubelet/images/image_manager.go) over the node image store:
 * pull policies, the registries file, pull secrets, per-pod pull back-off and upstream's
 * events. Called by pod workers only (the pod's key is held). */
#ifndef CK_AGENT_IMAGES_H
#define CK_AGENT_IMAGES_H

#include "lib/err.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct agent;
struct ag_pod;

/* Makes image (container c's) present as its imagePullPolicy asks, with upstream's events:
 * IfNotPresent uses a present image ("already present on machine"); Always asks the
 * registry again every time (a tag whose digest is unchanged downloads nothing); Never
 * never pulls (ErrImageNeverPull). The registries file is read at each pull (as containerd
 * reads its hosts directory). Returns 0, or -1 with err->msg "Reason: message" (ErrImagePull,
 * ImagePullBackOff, ErrImageNeverPull) for the container's waiting state. */
int ag_image_ensure(struct agent *ag, struct ag_pod *p, const json_t *pod, const json_t *c,
                    const char *ctr, const char *image, struct ck_err *err);

/* The default imagePullPolicy of image (the API server's defaulting): "Always" for the tag
 * latest or no tag, else "IfNotPresent" (also with a digest). */
const char *ag_image_default_policy(const char *image);

/* Go's time.Duration String() of ns truncated to milliseconds: "0s", "313ms", "1.661s",
 * "2m3.5s", "1h0m0s". */
void ag_go_duration_ms(int64_t ns, char *out, size_t n);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* The streaming server's resolver over the agent's pods (arg: struct agent *). */
#ifndef CK_AGENT_STREAM_AGENT_H
#define CK_AGENT_STREAM_AGENT_H

#include "agent/streaming.h"

int ag_stream_resolve(void *arg, const char *ns, const char *pod, const char *uid,
                      const char *container, struct ag_stream_target *t, struct ck_err *err);

#endif

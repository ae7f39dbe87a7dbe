/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's service proxy hook (`--proxy`): placeholder until src/proxy lands. */
#include "agent/agent_int.h"

#include "lib/banned.h"

int ag_proxy_start(struct agent *ag, struct ck_err *err)
{
    (void)ag;
    (void)err;
    return 0;
}

void ag_proxy_stop(struct agent *ag)
{
    (void)ag;
}

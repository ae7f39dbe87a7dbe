/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's cluster DNS hook (`--dns`): placeholder until src/dns lands. */
#include "agent/agent_int.h"

#include "lib/banned.h"

int ag_dns_start(struct agent *ag, struct ck_err *err)
{
    (void)ag;
    (void)err;
    return 0;
}

void ag_dns_stop(struct agent *ag)
{
    (void)ag;
}

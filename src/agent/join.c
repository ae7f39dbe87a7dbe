/* SPDX-License-Identifier: Apache-2.0 */
/* Joining a cluster with a bootstrap token (`ckube agent --server URL --token T`):
 * placeholder until the CSR flow lands. */
#include "agent/agent_int.h"
#include "lib/err.h"

#include "lib/banned.h"

char *ag_join(const struct agent_opts *o, const char *root, struct ck_err *err)
{
    (void)root;
    ck_err_set(err, CK_R_BAD_REQUEST, "joining %s with a bootstrap token is not supported yet",
               o->join_server);
    return NULL;
}

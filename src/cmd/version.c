/* SPDX-License-Identifier: Apache-2.0 */
/* ckube version */
#include "cmd/cmd.h"
#include "lib/version.h"

#include <stdio.h>

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("ckube %s (kubernetes API %s)\n", CK_VERSION, CK_KUBE_GIT_VERSION);
    return 0;
}

CK_CMD(version, "version", cmd_version, "print the version");

/* SPDX-License-Identifier: Apache-2.0 */
/* `ckube bench dns`: placeholder until the dns work lands. */
#include "cmd/bench.h"

#include <stdio.h>

#include "lib/banned.h"

int cmd_bench_dns(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "bench dns: not built yet\n");
    return 1;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* `ckube bench proxy`: placeholder until the proxy work lands. */
#include "cmd/bench.h"

#include <stdio.h>

#include "lib/banned.h"

int cmd_bench_proxy(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "bench proxy: not built yet\n");
    return 1;
}

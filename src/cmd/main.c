/* SPDX-License-Identifier: Apache-2.0 */
/* ckube: one binary, many roles. Dispatches argv[1] to a registered subcommand. */
#include "cmd/cmd.h"
#include "lib/log.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

extern const struct ck_cmd __start_ck_cmds[];
extern const struct ck_cmd __stop_ck_cmds[];

static void usage(FILE *f)
{
    fprintf(f, "usage: ckube <command> [flags]\n\ncommands:\n");
    for (const struct ck_cmd *c = __start_ck_cmds; c < __stop_ck_cmds; c++)
        fprintf(f, "  %-20s %s\n", c->name, c->summary);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (const struct ck_cmd *c = __start_ck_cmds; c < __stop_ck_cmds; c++)
        if (!strcmp(c->name, argv[1]))
            return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "ckube: unknown command %s\n\n", argv[1]);
    usage(stderr);
    return 2;
}

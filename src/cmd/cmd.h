/* SPDX-License-Identifier: Apache-2.0 */
/* Subcommand registration. Each src/cmd/<verb>.c registers itself with CK_CMD, which places
 * a descriptor in the "ck_cmds" linker section; main.c walks the section. So adding a
 * subcommand never edits a shared table. */
#ifndef CK_CMD_H
#define CK_CMD_H

#include <string.h>

struct ck_cmd {
    const char *name;
    int (*fn)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *summary;
};

#define CK_CMD(ident, name, fn, summary)                                                           \
    static const struct ck_cmd ck_cmd_desc_##ident                                                 \
        __attribute__((used, section("ck_cmds"), aligned(sizeof(void *)))) = {name, fn, summary}

/* Matches argv[*i] as "--name value" (advancing *i) or "--name=value"; returns the value or
 * NULL. */
static inline const char *ck_flag_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

#endif

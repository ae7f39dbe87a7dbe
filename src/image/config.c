/* SPDX-License-Identifier: Apache-2.0 */
/* Image config lifetime and Kubernetes' command/args merge (kubelet's container command:
 * command replaces Entrypoint and drops Cmd; args replace Cmd). */
#include "image/image_int.h"

#include <string.h>

#include "lib/banned.h"

void img_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

void img_config_release(struct img_config *c)
{
    if (!c)
        return;
    img_strv_free(c->entrypoint);
    img_strv_free(c->cmd);
    img_strv_free(c->env);
    img_strv_free(c->exposed_ports);
    free(c->working_dir);
    free(c->user);
    free(c->stop_signal);
    memset(c, 0, sizeof(*c));
}

int img_merge_command(const struct img_config *c, char *const *command, size_t ncommand,
                      char *const *args, size_t nargs, char ***argv_out, size_t *argc_out,
                      struct ck_err *err)
{
    static const struct img_config empty = {0};
    if (!c)
        c = &empty;
    char *const *head = ncommand ? command : c->entrypoint;
    size_t nhead = ncommand ? ncommand : c->nentrypoint;
    char *const *tail = nargs ? args : (ncommand ? NULL : c->cmd);
    size_t ntail = nargs ? nargs : (ncommand ? 0 : c->ncmd);
    size_t n = nhead + ntail;
    if (n == 0)
        return ck_err_set(err, CK_R_INVALID,
                          "no command specified: the pod gives no command or args and the image "
                          "has no Entrypoint or Cmd");
    char **v = ck_calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < nhead; i++)
        v[i] = ck_strdup(head[i] ? head[i] : "");
    for (size_t i = 0; i < ntail; i++)
        v[nhead + i] = ck_strdup(tail[i] ? tail[i] : "");
    *argv_out = v;
    if (argc_out)
        *argc_out = n;
    return 0;
}

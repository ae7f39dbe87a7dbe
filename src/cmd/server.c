/* SPDX-License-Identifier: Apache-2.0 */
/* `ckube server`: the whole cluster in one process (for now the API server alone, same flags
 * as `ckube apiserver`, data dir ./.ckube by default). Writes an admin kubeconfig to
 * <data-dir>/kubeconfig.yaml and prints `export KUBECONFIG=<path>`. */
#include "apiserver/http/tls.h"
#include "cmd/apiserver.h"
#include "cmd/cmd.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/banned.h"

static int write_kubeconfig(const struct apiserver_ready *r)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8], ca[PATH_MAX];
    struct ck_err err = CK_ERR_INIT;
    char *ca_b64 = NULL;
    FILE *f;
    int fd;

    snprintf(path, sizeof(path), "%s/kubeconfig.yaml", r->data_dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (r->secure_port) {
        snprintf(ca, sizeof(ca), "%s/ca.crt", r->data_dir);
        if (!(ca_b64 = tls_file_base64(ca, &err))) {
            ck_error("kubeconfig: %s", err.msg);
            return -1;
        }
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        ck_error("kubeconfig: create %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(ca_b64);
        return -1;
    }
    fprintf(f, "apiVersion: v1\nkind: Config\nclusters:\n- name: ckube\n  cluster:\n");
    if (r->secure_port)
        fprintf(f, "    server: https://%s:%d\n    certificate-authority-data: %s\n", r->host,
                r->secure_port, ca_b64);
    else
        fprintf(f, "    server: http://%s:%d\n", r->host, r->insecure_port);
    fprintf(f,
            "users:\n- name: ckube-admin\n  user:\n    token: %s\ncontexts:\n- name: ckube\n"
            "  context:\n    cluster: ckube\n    user: ckube-admin\n    namespace: default\n"
            "current-context: ckube\npreferences: {}\n",
            r->token);
    free(ca_b64);
    if (fclose(f) != 0 || rename(tmp, path) < 0) {
        ck_error("kubeconfig: write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    printf("export KUBECONFIG=%s\n", path);
    fflush(stdout);
    return 0;
}

static int cmd_server(int argc, char **argv)
{
    return apiserver_run(argc, argv, "./.ckube", write_kubeconfig);
}

CK_CMD(server, "server", cmd_server, "run a single-node cluster (API server for now)");

/* SPDX-License-Identifier: Apache-2.0 */
/* The OpenAPI documents and the schema table as the real kubectl sees them: starts the built
 * `ckube server` (CKUBE_BIN) on a free loopback port and runs kubectl 1.27 and 1.33 explain
 * (v3, and v2 protobuf via plaintext-openapiv2 on 1.27), client-side apply with strict
 * validation, and an unknown-field rejection. Skipped when the binaries are not present. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const kubectls[] = {
    "/usr/lib/google-cloud-sdk/bin/kubectl.1.27",
    "/usr/lib/google-cloud-sdk/bin/kubectl.1.33",
};

struct srv {
    pid_t pid;
    int port;
    char dir[64];
    char kubeconfig[128];
};

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Runs a shell command, returns its exit status and its output (stdout+stderr) in out. */
static int run(const char *cmd, char *out, size_t n)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = fread(out, 1, n - 1, p);
    out[len] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int setup(void **state)
{
    const char *bin = getenv("CKUBE_BIN");
    if (!bin || access(bin, X_OK) != 0 || access(kubectls[0], X_OK) != 0 ||
        access(kubectls[1], X_OK) != 0) {
        *state = NULL;
        return 0;
    }
    struct srv *s = calloc(1, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/ck-openapi-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    s->port = free_port();
    assert_true(s->port > 0);
    char data[128], port[16];
    snprintf(data, sizeof(data), "%s/data", s->dir);
    snprintf(port, sizeof(port), "%d", s->port);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        char log[128];
        snprintf(log, sizeof(log), "%s/server.log", s->dir);
        if (!freopen(log, "w", stderr) || !freopen("/dev/null", "w", stdout))
            _exit(127);
        execl(bin, bin, "server", "--data-dir", data, "--secure-port", "0", "--insecure-port",
              port, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && !port_open(s->port); i++)
        usleep(50 * 1000);
    assert_true(port_open(s->port));
    snprintf(s->kubeconfig, sizeof(s->kubeconfig), "%s/kubeconfig", s->dir);
    FILE *f = fopen(s->kubeconfig, "w");
    assert_non_null(f);
    fprintf(f, "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
               "    server: http://127.0.0.1:%d\ncontexts:\n- name: c\n  context:\n"
               "    cluster: c\n    user: u\n    namespace: default\ncurrent-context: c\n"
               "users:\n- name: u\n  user: {}\n",
            s->port);
    fclose(f);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct srv *s = *state;
    if (!s)
        return 0;
    kill(s->pid, SIGTERM);
    int st;
    for (int i = 0; i < 100 && waitpid(s->pid, &st, WNOHANG) == 0; i++)
        usleep(50 * 1000);
    if (waitpid(s->pid, &st, WNOHANG) == 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &st, 0);
    }
    char cmd[160], out[64];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
    run(cmd, out, sizeof(out));
    free(s);
    return 0;
}

static void test_explain(void **state)
{
    struct srv *s = *state;
    if (!s)
        skip();
    static char out[1 << 16];
    char cmd[512];
    for (size_t k = 0; k < 2; k++) {
        snprintf(cmd, sizeof(cmd), "%s --kubeconfig %s explain deployment.spec.strategy 2>&1",
                 kubectls[k], s->kubeconfig);
        if (run(cmd, out, sizeof(out)) != 0)
            fail_msg("%s: %s", cmd, out);
        assert_non_null(strstr(out, "FIELD: strategy <DeploymentStrategy>"));
        assert_non_null(strstr(out, "rollingUpdate\t<RollingUpdateDeployment>"));
        assert_non_null(strstr(out, "type\t<string>"));
        snprintf(cmd, sizeof(cmd), "%s --kubeconfig %s explain deploy.spec.strategy.type 2>&1",
                 kubectls[k], s->kubeconfig);
        assert_int_equal(run(cmd, out, sizeof(out)), 0);
        /* kubectl prints the OpenAPI enum from 1.30 on */
        if ((k == 1 && !strstr(out, "ENUM:")) || !strstr(out, "FIELD: type <string>") ||
            !strstr(out, "RollingUpdate"))
            fail_msg("%s: %s", cmd, out);
        snprintf(cmd, sizeof(cmd), "%s --kubeconfig %s explain pods.spec.containers.ports 2>&1",
                 kubectls[k], s->kubeconfig);
        assert_int_equal(run(cmd, out, sizeof(out)), 0);
        assert_non_null(strstr(out, "containerPort\t<integer> -required-"));
    }
    /* the v2 protobuf document, through kubectl 1.27's legacy explain */
    snprintf(cmd, sizeof(cmd),
             "%s --kubeconfig %s explain deployment.spec.strategy --output=plaintext-openapiv2 2>&1",
             kubectls[0], s->kubeconfig);
    if (run(cmd, out, sizeof(out)) != 0)
        fail_msg("%s: %s", cmd, out);
    assert_non_null(strstr(out, "RESOURCE: strategy <Object>"));
    assert_non_null(strstr(out, "rollingUpdate\t<Object>"));
}

static const char manifest[] =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: %s}\nspec:\n"
    "  selector: {matchLabels: {app: x}}\n  strategy: %s\n"
    "  template:\n    metadata: {labels: {app: x}}\n    spec:\n      containers:\n"
    "%s";

static void write_file(const char *path, const char *strategy, const char *containers,
                       const char *name)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, manifest, name, strategy, containers);
    fclose(f);
}

/* kubectl computes the strategic merge patch from our v3 schema; we apply it. */
static void test_apply_and_strict(void **state)
{
    struct srv *s = *state;
    if (!s)
        skip();
    static char out[1 << 16];
    char cmd[512], path[128];
    snprintf(path, sizeof(path), "%s/d.yaml", s->dir);
    for (size_t k = 0; k < 2; k++) {
        char name[16];
        snprintf(name, sizeof(name), "d%zu", k);
        write_file(path, "{type: RollingUpdate, rollingUpdate: {maxSurge: 1}}",
                   "      - {name: a, image: nginx, env: [{name: A, value: '1'}]}\n"
                   "      - {name: b, image: busybox}\n",
                   name);
        snprintf(cmd, sizeof(cmd), "%s --kubeconfig %s apply -f %s 2>&1", kubectls[k],
                 s->kubeconfig, path);
        if (run(cmd, out, sizeof(out)) != 0)
            fail_msg("%s: %s", cmd, out);
        write_file(path, "{type: Recreate}", "      - {name: a, image: nginx:2, env: [{name: B, value: '2'}]}\n",
                   name);
        if (run(cmd, out, sizeof(out)) != 0)
            fail_msg("%s: %s", cmd, out);
        snprintf(cmd, sizeof(cmd),
                 "%s --kubeconfig %s get deploy %s -o "
                 "jsonpath='{.spec.strategy}|{.spec.template.spec.containers[*].name}|"
                 "{.spec.template.spec.containers[0].env}' 2>&1",
                 kubectls[k], s->kubeconfig, name);
        assert_int_equal(run(cmd, out, sizeof(out)), 0);
        /* $retainKeys dropped rollingUpdate, $patch: delete removed b, env B replaced A */
        if (!strstr(out, "{\"type\":\"Recreate\"}|a|[{\"name\":\"B\",\"value\":\"2\"}]"))
            fail_msg("kubectl %zu: unexpected state %s", k, out);

        write_file(path, "{type: Recreate, bogus: 1}", "      - {name: a, image: nginx, imagex: y}\n",
                   name);
        snprintf(cmd, sizeof(cmd), "%s --kubeconfig %s apply -f %s 2>&1", kubectls[k],
                 s->kubeconfig, path);
        assert_int_not_equal(run(cmd, out, sizeof(out)), 0);
        if (!strstr(out, "unknown field \"spec.strategy.bogus\"") ||
            !strstr(out, "unknown field \"spec.template.spec.containers[0].imagex\""))
            fail_msg("kubectl %zu: %s", k, out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_apply_and_strict),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* `ckube server`: the whole cluster in one process (the API server, same flags as
 * `ckube apiserver`, data dir ./.ckube by default, plus the node agent when asked). Writes an
 * admin kubeconfig to <data-dir>/kubeconfig.yaml and prints `export KUBECONFIG=<path>`.
 * Server-only flags: --agent (run the node agent for this host, node name = hostname, state
 * in <data-dir>/agent; off by default for now), --agent-hollow N (N hollow nodes) and
 * --agent-port P (its kubelet server; default 10250, or an ephemeral port when that is taken;
 * 0: ephemeral, -1: off). The agent's kubelet server uses <data-dir>/kubelet.crt, issued by
 * the cluster CA, and accepts client certificates of that CA (the API server's
 * kubelet-client.crt). */
#include "agent/agent.h"
#include "apiserver/http/tls.h"
#include "cmd/apiserver.h"
#include "cmd/cmd.h"
#include "cmd/token.h" /* joinapi */
#include "lib/certs.h"
#include "lib/log.h"

#include <ctype.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/banned.h"

/* Each component's identity, as kubeadm's kubeconfigs: a client certificate signed by the
 * cluster CA (CN the user, O its group) in <data-dir>/pki/<name>.crt|.key, made when missing.
 * Fills cert/key (base64 of the PEM files) or leaves them NULL on the plain port. */
static int identity(const struct apiserver_ready *r, const char *name, const char *cn,
                    const char *org, char **cert, char **key)
{
    char dir[PATH_MAX], crt[PATH_MAX + 64], kf[PATH_MAX + 64], ca[PATH_MAX], cak[PATH_MAX];
    struct ck_err err = CK_ERR_INIT;

    *cert = *key = NULL;
    if (!r->secure_port)
        return 0;
    snprintf(dir, sizeof(dir), "%s/pki", r->data_dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        ck_error("kubeconfig: mkdir %s: %s", dir, strerror(errno));
        return -1;
    }
    snprintf(crt, sizeof(crt), "%s/%s.crt", dir, name);
    snprintf(kf, sizeof(kf), "%s/%s.key", dir, name);
    snprintf(ca, sizeof(ca), "%s/ca.crt", r->data_dir);
    snprintf(cak, sizeof(cak), "%s/ca.key", r->data_dir);
    struct ck_cert_req req = {.kind = CK_CERT_CLIENT, .cn = cn, .org = org};
    if ((access(crt, R_OK) != 0 || access(kf, R_OK) != 0) &&
        ck_cert_generate(&req, ca, cak, crt, kf, &err) < 0) {
        ck_error("kubeconfig: %s's certificate: %s", name, err.msg);
        return -1;
    }
    if (!(*cert = tls_file_base64(crt, &err)) || !(*key = tls_file_base64(kf, &err))) {
        ck_error("kubeconfig: %s", err.msg);
        free(*cert);
        *cert = NULL;
        return -1;
    }
    return 0;
}

/* Writes <data-dir>/<file>: the cluster, and a user with the client certificate of identity
 * name (cn, org) and, for the admin, also the bearer token (tools that read it keep
 * working; the certificate authenticates first). */
static int write_kubeconfig(const struct apiserver_ready *r, const char *file, const char *name,
                            const char *cn, const char *org, bool with_token)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8], ca[PATH_MAX];
    struct ck_err err = CK_ERR_INIT;
    char *ca_b64 = NULL, *cert = NULL, *key = NULL;
    FILE *f;
    int fd;

    snprintf(path, sizeof(path), "%s/%s", r->data_dir, file);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (r->secure_port) {
        snprintf(ca, sizeof(ca), "%s/ca.crt", r->data_dir);
        if (!(ca_b64 = tls_file_base64(ca, &err))) {
            ck_error("kubeconfig: %s", err.msg);
            return -1;
        }
        if (identity(r, name, cn, org, &cert, &key) < 0) {
            free(ca_b64);
            return -1;
        }
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        ck_error("kubeconfig: create %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(ca_b64);
        free(cert);
        free(key);
        return -1;
    }
    fprintf(f, "apiVersion: v1\nkind: Config\nclusters:\n- name: ckube\n  cluster:\n");
    if (r->secure_port)
        fprintf(f, "    server: https://%s:%d\n    certificate-authority-data: %s\n", r->host,
                r->secure_port, ca_b64);
    else
        fprintf(f, "    server: http://%s:%d\n", r->host, r->insecure_port);
    fprintf(f, "users:\n- name: %s\n  user:\n", cn);
    if (cert)
        fprintf(f, "    client-certificate-data: %s\n    client-key-data: %s\n", cert, key);
    if (with_token || !cert)
        fprintf(f, "    token: %s\n", r->token);
    fprintf(f,
            "contexts:\n- name: ckube\n  context:\n    cluster: ckube\n    user: %s\n"
            "    namespace: default\ncurrent-context: ckube\npreferences: {}\n",
            cn);
    free(ca_b64);
    free(cert);
    free(key);
    if (fclose(f) != 0 || rename(tmp, path) < 0) {
        ck_error("kubeconfig: write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* The in-process node agent (--agent / --agent-hollow N). */
static struct {
    bool on;
    int hollow;
    char kubeconfig[PATH_MAX], root[PATH_MAX];
    char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX]; /* its kubelet server's TLS */
    int port; /* --agent-port; 10250 (taken: an ephemeral one) */
    bool port_set;
    struct agent_opts o;
    volatile int stop;
    pthread_t th;
    bool started;
} agent;

static void *agent_thread(void *arg)
{
    (void)arg;
    if (agent_run(&agent.o, &agent.stop) != 0)
        ck_error("server: the node agent did not start");
    return NULL;
}

/* Components run as child processes of the server (--scheduler, --controllers): each is
 * `ckube <component> --kubeconfig <data-dir>/kubeconfig.yaml`, ends with the server (SIGTERM,
 * and PR_SET_PDEATHSIG if the server dies), and talks to it through the client library as
 * when it runs alone. */
#define MAX_CHILDREN 4
#define SERVER_CLUSTER_CIDR "10.244.0.0/16" /* --controllers: the pod network */
static char sched_kubeconfig[PATH_MAX + 16]; /* the scheduler's identity */

static struct {
    const char *argv[MAX_CHILDREN][12];
    int n;
    pid_t pid[MAX_CHILDREN];
} children;

static void child_add(const char *component, const char *extra)
{
    if (children.n == MAX_CHILDREN)
        return;
    const char **a = children.argv[children.n++];
    a[0] = "ckube";
    a[1] = component;
    a[2] = "--kubeconfig";
    a[3] = NULL; /* filled once the kubeconfig exists */
    a[4] = extra;
    a[5] = NULL;
}

static void children_start(const char *kubeconfig)
{
    for (int i = 0; i < children.n; i++) {
        const char **a = children.argv[i];
        a[3] = !strcmp(a[1], "scheduler") && sched_kubeconfig[0] ? sched_kubeconfig : kubeconfig;
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid == 0) {
            sigset_t none; /* the server's threads block SIGTERM; exec keeps the mask */
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, NULL);
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent)
                _exit(0);
            execv("/proc/self/exe", (char *const *)a);
            _exit(127);
        }
        children.pid[i] = pid;
        if (pid < 0)
            ck_error("server: cannot start %s: %s", a[1], strerror(errno));
        else
            ck_info("server: started %s (pid %d)", a[1], (int)pid);
    }
}

static void children_stop(void)
{
    for (int i = 0; i < children.n; i++)
        if (children.pid[i] > 0)
            kill(children.pid[i], SIGTERM);
    for (int i = 0; i < children.n; i++) {
        if (children.pid[i] <= 0)
            continue;
        int st;
        for (int t = 0; t < 100 && waitpid(children.pid[i], &st, WNOHANG) == 0; t++)
            usleep(100000);
        if (waitpid(children.pid[i], &st, WNOHANG) == 0) {
            kill(children.pid[i], SIGKILL);
            waitpid(children.pid[i], &st, 0);
        }
        children.pid[i] = 0;
    }
}

/* On SIGTERM, before the API server stops serving: the components end while they can still
 * reach it (an agent left without its API server would retry every Lease for long). */
static void components_stop(void)
{
    join_stop(); /* joinapi */
    children_stop();
    if (agent.started) {
        agent.stop = 1;
        pthread_join(agent.th, NULL);
        agent.started = false;
    }
}

static char child_kubeconfig[PATH_MAX];

/* joinapi: --bootstrap-token, and the controller manager's --cluster-signing-* flags */
static const char *join_token;
static char sign_cert[PATH_MAX + 40], sign_key[PATH_MAX + 40];

static void join_signing_args(const char *dir)
{
    snprintf(sign_cert, sizeof(sign_cert), "--cluster-signing-cert-file=%s/ca.crt", dir);
    snprintf(sign_key, sizeof(sign_key), "--cluster-signing-key-file=%s/ca.key", dir);
    for (int i = 0; i < children.n; i++) {
        const char **a = children.argv[i];
        if (!strcmp(a[1], "controller-manager") && a[4] && !a[5]) {
            a[5] = sign_cert;
            a[6] = sign_key;
            /* node IPAM: each Node gets a podCIDR, which joined agents run their pods on, so
             * they route to each other's pods (the in-process agent keeps the default bridge,
             * 10.88.0.0/16: a host's ckube0 keeps the subnet it was made with) */
            a[7] = "--allocate-node-cidrs";
            a[8] = "--cluster-cidr=" SERVER_CLUSTER_CIDR;
            a[9] = NULL;
        }
    }
}

static int on_ready(const struct apiserver_ready *r)
{
    /* the admin (kubeadm's admin.conf: a client certificate in system:masters), the
     * scheduler (system:kube-scheduler, which upstream's bootstrap policy binds) and the
     * agent (system:node:<name> in system:nodes, for the Node authorizer). The controller
     * manager keeps the admin's: upstream's runs each controller as its own service account
     * (--use-service-account-credentials), which ckube's does not do yet. */
    if (write_kubeconfig(r, "kubeconfig.yaml", "admin", "kubernetes-admin", "system:masters",
                         true) != 0 ||
        write_kubeconfig(r, "scheduler.conf", "scheduler", "system:kube-scheduler", NULL,
                         false) != 0)
        return -1;
    printf("export KUBECONFIG=%s/kubeconfig.yaml\n", r->data_dir);
    fflush(stdout);
    snprintf(child_kubeconfig, sizeof(child_kubeconfig), "%s/kubeconfig.yaml", r->data_dir);
    snprintf(sched_kubeconfig, sizeof(sched_kubeconfig), "%s/scheduler.conf", r->data_dir);
    join_signing_args(r->data_dir); /* joinapi: the CSR signer uses the cluster CA */
    if (join_setup(r, child_kubeconfig, join_token) < 0)
        ck_warn("server: no join command (see above)");
    children_start(child_kubeconfig);
    if (!agent.on)
        return 0;
    snprintf(agent.kubeconfig, sizeof(agent.kubeconfig), "%s/kubeconfig.yaml", r->data_dir);
    if (!agent.hollow) { /* hollow nodes are many: they keep the admin's identity */
        char user[300], *name = agent.o.node_name ? ck_strdup(agent.o.node_name) : NULL;
        if (!name) {
            char h[256];
            if (gethostname(h, sizeof(h)) != 0)
                snprintf(h, sizeof(h), "localhost");
            h[sizeof(h) - 1] = 0;
            for (char *c = h; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            name = ck_strdup(h);
        }
        snprintf(user, sizeof(user), "system:node:%s", name);
        free(name);
        if (write_kubeconfig(r, "kubelet.conf", "kubelet", user, "system:nodes", false) != 0)
            return -1;
        snprintf(agent.kubeconfig, sizeof(agent.kubeconfig), "%s/kubelet.conf", r->data_dir);
    }
    snprintf(agent.root, sizeof(agent.root), "%s/agent", r->data_dir);
    agent.o.kubeconfig = agent.kubeconfig;
    agent.o.root = agent.root;
    agent.o.hollow = agent.hollow;
    agent.o.healthz_port = -1;
    /* the kubelet server: a serving certificate from the cluster CA, clients (the API server's
     * kubelet-client certificate) verified against the same CA */
    struct ck_err err = CK_ERR_INIT;
    if (tls_ensure_kubelet_serving(r->data_dir, NULL, &err) < 0) {
        ck_error("server: %s", err.msg);
        return -1;
    }
    snprintf(agent.cert, sizeof(agent.cert), "%s/%s.crt", r->data_dir, TLS_KUBELET_SERVING);
    snprintf(agent.key, sizeof(agent.key), "%s/%s.key", r->data_dir, TLS_KUBELET_SERVING);
    snprintf(agent.ca, sizeof(agent.ca), "%s/ca.crt", r->data_dir);
    agent.o.tls_cert_file = agent.cert;
    agent.o.tls_key_file = agent.key;
    agent.o.client_ca_file = agent.ca;
    agent.o.port = agent.port_set ? agent.port : AGENT_PORT_DEFAULT;
    agent.o.port_fallback = !agent.port_set;
    agent.started = pthread_create(&agent.th, NULL, agent_thread, NULL) == 0;
    return 0;
}

static int cmd_server(int argc, char **argv)
{
    char **args = ck_calloc((size_t)argc + 1, sizeof(*args));
    int n = 0;
    for (int i = 0; i < argc; i++) {
        const char *v;
        if (i > 0 && !strcmp(argv[i], "--scheduler")) {
            child_add("scheduler", "--port=0");
        } else if (i > 0 && !strcmp(argv[i], "--controllers")) {
            child_add("controller-manager", "--secure-port=0");
            args[n++] = "--namespace-deletion=controller"; /* its namespace controller does it */
        } else if (i > 0 && !strcmp(argv[i], "--agent")) {
            agent.on = true;
        } else if (i > 0 && (v = ck_flag_value(argc, argv, &i, "--agent-port"))) {
            agent.port = atoi(v) < 0 ? AGENT_PORT_OFF : atoi(v);
            agent.port_set = true;
        } else if (i > 0 && !strncmp(argv[i], "--service-cluster-ip-range", 26)) {
            int j = i; /* svcapi: the API server's flag, also the in-process agent's range */
            if ((v = ck_flag_value(argc, argv, &i, "--service-cluster-ip-range")))
                agent.o.service_cidr = v;
            for (; j <= i && j < argc; j++)
                args[n++] = argv[j];
        } else if (i > 0 && (v = ck_flag_value(argc, argv, &i, "--bootstrap-token"))) {
            join_token = v; /* joinapi */
        } else if (i > 0 && (v = ck_flag_value(argc, argv, &i, "--agent-hollow"))) {
            agent.on = true;
            agent.hollow = atoi(v);
        } else {
            args[n++] = argv[i];
        }
    }
    int rc = apiserver_run(n, args, "./.ckube", on_ready, components_stop);
    components_stop(); /* when the API server failed to start */
    free(args);
    return rc;
}

CK_CMD(server, "server", cmd_server,
       "run a single-node cluster (API server; --agent, --scheduler, --controllers add those)");

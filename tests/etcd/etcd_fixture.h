/* SPDX-License-Identifier: Apache-2.0 */
/* Test fixture: runs a real single-member etcd (/usr/bin/etcd) on 127.0.0.1 with free
 * client/peer ports and a temp data dir; can kill -9 and restart it on the same dir/ports.
 * Used by tests/unit/store/test_etcd*.c. */
#ifndef CK_TEST_ETCD_FIXTURE_H
#define CK_TEST_ETCD_FIXTURE_H

#include "store/store.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ETF_BIN "/usr/bin/etcd"

struct etf {
    pid_t pid;
    int client_port, peer_port;
    char dir[64];
    char url[64];
    bool tls; /* https with client-cert auth; certs made by etf_make_certs in dir/tls */
    char ca[96], cert[96], key[96];
};

static inline int etf_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) < 0)
        abort();
    close(fd);
    return ntohs(a.sin_port);
}

static inline bool etf_available(void)
{
    if (access(ETF_BIN, X_OK) == 0)
        return true;
    printf("SKIP: %s is missing (install Debian etcd-server)\n", ETF_BIN);
    return false;
}

static inline void etf_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Options for a store on e (TLS files when e->tls). */
static inline struct store_etcd_opts etf_opts(struct etf *e, const char *prefix, int timeout_ms)
{
    struct store_etcd_opts o = {.endpoints = e->url, .prefix = prefix, .timeout_ms = timeout_ms};
    if (e->tls) {
        o.ca_file = e->ca;
        o.cert_file = e->cert;
        o.key_file = e->key;
    }
    return o;
}

/* Makes a CA, a server cert for 127.0.0.1 and a client cert in dir/tls (openssl CLI). */
static inline int etf_make_certs(struct etf *e)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "set -e; d=%s/tls; mkdir -p $d; cd $d; "
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 "
             "-subj /CN=test-ca 2>/dev/null; "
             "for n in server client; do "
             "openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj /CN=$n "
             "2>/dev/null; "
             "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' "
             ">$n.ext; "
             "openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $n.crt "
             "-days 2 -extfile $n.ext 2>/dev/null; done",
             e->dir);
    if (system(cmd) != 0)
        return -1;
    e->tls = true;
    snprintf(e->ca, sizeof(e->ca), "%s/tls/ca.crt", e->dir);
    snprintf(e->cert, sizeof(e->cert), "%s/tls/client.crt", e->dir);
    snprintf(e->key, sizeof(e->key), "%s/tls/client.key", e->dir);
    return 0;
}

static inline void etf_exec(struct etf *e, const char *curl_, const char *purl, const char *cluster)
{
    char datadir[96], scert[96], skey[96];
    snprintf(datadir, sizeof(datadir), "%s/data", e->dir);
    snprintf(scert, sizeof(scert), "%s/tls/server.crt", e->dir);
    snprintf(skey, sizeof(skey), "%s/tls/server.key", e->dir);
    const char *argv[40] = {"etcd",  "--data-dir",
                            datadir, "--listen-client-urls",
                            curl_,   "--advertise-client-urls",
                            curl_,   "--listen-peer-urls",
                            purl,    "--initial-advertise-peer-urls",
                            purl,    "--initial-cluster",
                            cluster, "--max-txn-ops",
                            "4096",  "--log-level",
                            "warn"};
    int n = 17;
    if (e->tls) {
        const char *more[] = {"--cert-file",       scert, "--key-file",        skey,
                              "--trusted-ca-file", e->ca, "--client-cert-auth"};
        for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
            argv[n++] = more[i];
    }
    argv[n] = NULL;
    execv(ETF_BIN, (char *const *)argv);
    _exit(127);
}

/* Starts etcd (again, on the same dir and ports) and waits until it answers. */
static inline int etf_start(struct etf *e)
{
    char curl_[96], purl[96], cluster[128], log[96];
    snprintf(curl_, sizeof(curl_), "%s://127.0.0.1:%d", e->tls ? "https" : "http", e->client_port);
    snprintf(purl, sizeof(purl), "http://127.0.0.1:%d", e->peer_port);
    snprintf(cluster, sizeof(cluster), "default=%s", purl);
    snprintf(log, sizeof(log), "%s.log", e->dir);
    snprintf(e->url, sizeof(e->url), "%s", curl_);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        etf_exec(e, curl_, purl, cluster);
    }
    e->pid = pid;
    for (int i = 0; i < 200; i++) { /* up to 10 s */
        struct store_etcd_opts o = etf_opts(e, NULL, 1000);
        struct store *s = NULL;
        struct ck_err err = CK_ERR_INIT;
        if (store_etcd_open(&o, &s, &err) == 0) {
            store_close(s);
            return 0;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            fprintf(stderr, "etcd exited; see %s\n", log);
            e->pid = 0;
            return -1;
        }
        etf_sleep_ms(50);
    }
    fprintf(stderr, "etcd did not answer within 10 s; see %s\n", log);
    return -1;
}

/* Prepares dir and ports without starting etcd. */
static inline int etf_prepare(struct etf *e)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "/tmp/ckube-etcd-XXXXXX");
    if (!mkdtemp(e->dir))
        return -1;
    e->client_port = etf_free_port();
    do
        e->peer_port = etf_free_port();
    while (e->peer_port == e->client_port);
    return 0;
}

static inline int etf_init(struct etf *e)
{
    if (etf_prepare(e) < 0)
        return -1;
    return etf_start(e);
}

static inline void etf_kill(struct etf *e)
{
    if (e->pid > 0) {
        kill(e->pid, SIGKILL);
        waitpid(e->pid, NULL, 0);
        e->pid = 0;
    }
}

static int etf_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static inline void etf_destroy(struct etf *e)
{
    etf_kill(e);
    char log[96];
    snprintf(log, sizeof(log), "%s.log", e->dir);
    nftw(e->dir, etf_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    remove(log);
}

static inline struct store *etf_open(struct etf *e, const char *prefix)
{
    struct store_etcd_opts o = etf_opts(e, prefix, 3000);
    struct store *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (store_etcd_open(&o, &s, &err) < 0) {
        fprintf(stderr, "store_etcd_open: %s\n", err.msg);
        return NULL;
    }
    return s;
}

#endif

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

/* Starts etcd (again, on the same dir and ports) and waits until it answers. */
static inline int etf_start(struct etf *e)
{
    char curl_[96], purl[96], cluster[128], log[96];
    snprintf(curl_, sizeof(curl_), "http://127.0.0.1:%d", e->client_port);
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
        char datadir[96];
        snprintf(datadir, sizeof(datadir), "%s/data", e->dir);
        execl(ETF_BIN, "etcd", "--data-dir", datadir, "--listen-client-urls", curl_,
              "--advertise-client-urls", curl_, "--listen-peer-urls", purl,
              "--initial-advertise-peer-urls", purl, "--initial-cluster", cluster, "--max-txn-ops",
              "4096", "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    e->pid = pid;
    for (int i = 0; i < 200; i++) { /* up to 10 s */
        struct store_etcd_opts o = {.endpoints = e->url, .timeout_ms = 1000};
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

static inline int etf_init(struct etf *e)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "/tmp/ckube-etcd-XXXXXX");
    if (!mkdtemp(e->dir))
        return -1;
    e->client_port = etf_free_port();
    do
        e->peer_port = etf_free_port();
    while (e->peer_port == e->client_port);
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
    struct store_etcd_opts o = {.endpoints = e->url, .prefix = prefix, .timeout_ms = 3000};
    struct store *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (store_etcd_open(&o, &s, &err) < 0) {
        fprintf(stderr, "store_etcd_open: %s\n", err.msg);
        return NULL;
    }
    return s;
}

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Bootstrap tokens, the join command and `ckube token create` (see token.h). */
#include "cmd/token.h"
#include "apiserver/authn/bootstrap.h"
#include "ckube/client.h"
#include "cmd/cmd.h"
#include "controllers/csrutil.h" /* csr_parse_duration */
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <jansson.h>
#include <limits.h>
#include <net/if.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

#define TOKEN_TTL_S (24 * 3600)
#define KUBEADM_GROUP "system:bootstrappers:kubeadm:default-node-token"

/* "<id>.<secret>" from [a-z0-9], unbiased. */
static int token_generate(char out[24])
{
    static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (int i = 0; i < 23;) {
        unsigned char b[32];
        if (RAND_bytes(b, sizeof(b)) != 1)
            return -1;
        for (size_t k = 0; k < sizeof(b) && i < 23; k++) {
            if (i == 6) {
                out[i++] = '.';
                continue;
            }
            if (b[k] < 252) /* 252 = 7 * 36 */
                out[i++] = al[b[k] % 36];
        }
    }
    out[23] = '\0';
    return 0;
}

/* "sha256:<hex>" of the DER SubjectPublicKeyInfo of the first certificate in pem. */
static int ca_cert_hash(const char *pem, size_t len, char out[80])
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL, md[32];
    unsigned int mdlen = 0;
    int n = x ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der) : -1;
    int rc = -1;

    if (n > 0 && EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) == 1) {
        memcpy(out, "sha256:", 8);
        for (unsigned i = 0; i < mdlen; i++)
            snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
        rc = 0;
    }
    OPENSSL_free(der);
    X509_free(x);
    BIO_free(b);
    return rc;
}

static char *b64(const void *p, size_t n)
{
    char *o = ck_malloc(4 * (n / 3 + 1) + 1);
    EVP_EncodeBlock((unsigned char *)o, p, (int)n);
    return o;
}

/* base64url without padding */
static char *b64url(const void *p, size_t n)
{
    char *o = b64(p, n);
    size_t w = 0;
    for (size_t i = 0; o[i]; i++) {
        if (o[i] == '=')
            break;
        o[w++] = o[i] == '+' ? '-' : o[i] == '/' ? '_' : o[i];
    }
    o[w] = '\0';
    return o;
}

/* The bootstrap signer's detached JWS of content: HS256 keyed by the token secret,
 * "<header>..<signature>". */
static char *jws_detached(const char *content, const char *id, const char *secret)
{
    char hdr[64];
    unsigned char mac[32];
    unsigned int maclen = 0;

    snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"kid\":\"%s\"}", id);
    char *h = b64url(hdr, strlen(hdr)), *p = b64url(content, strlen(content));
    char *input = ck_asprintf("%s.%s", h, p);
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)input, strlen(input),
         mac, &maclen);
    char *s = b64url(mac, maclen);
    char *out = ck_asprintf("%s..%s", h, s);
    free(h);
    free(p);
    free(input);
    free(s);
    return out;
}

/* Creates or updates Secret kube-system/bootstrap-token-<id> (kubeadm's fields). */
static int token_secret_put(struct ck_client *c, const char *tok, int64_t ttl_s, const char *desc,
                            struct ck_err *err)
{
    char id[7], secret[17], exp[21] = "";
    if (!authn_bootstrap_token_split(tok, strlen(tok), id, secret))
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "the bootstrap token must be of the form [a-z0-9]{6}.[a-z0-9]{16}");
    if (ttl_s > 0)
        ck_time_rfc3339(time(NULL) + ttl_s, exp);
    struct {
        const char *k, *v;
    } kv[] = {{"token-id", id},
              {"token-secret", secret},
              {"expiration", exp},
              {"usage-bootstrap-authentication", "true"},
              {"usage-bootstrap-signing", "true"},
              {"auth-extra-groups", KUBEADM_GROUP},
              {"description", desc}};
    json_t *data = json_object();
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
        if (!*kv[i].v)
            continue;
        char *e = b64(kv[i].v, strlen(kv[i].v));
        json_object_set_new(data, kv[i].k, json_string(e));
        free(e);
    }
    char name[64];
    snprintf(name, sizeof(name), AUTHN_BOOTSTRAP_SECRET_PREFIX "%s", id);
    json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:s},s:s,s:O}", "apiVersion", "v1", "kind", "Secret",
                            "metadata", "name", name, "namespace", "kube-system", "type",
                            AUTHN_BOOTSTRAP_SECRET_TYPE, "data", data);
    int rc = ck_client_create_json(c, "/api/v1/namespaces/kube-system/secrets", obj, NULL, err);
    if (rc < 0 && err->reason == CK_R_ALREADY_EXISTS) {
        char *path = ck_asprintf("/api/v1/namespaces/kube-system/secrets/%s", name);
        json_t *patch = json_pack("{s:O}", "data", data);
        if (!*exp) /* no TTL: drop an older expiration */
            json_object_set_new(json_object_get(patch, "data"), "expiration", json_null());
        *err = CK_ERR_INIT;
        rc = ck_client_patch_json(c, path, "application/merge-patch+json", patch, NULL, err);
        json_decref(patch);
        free(path);
    }
    json_decref(obj);
    json_decref(data);
    return rc;
}

/* The server's own token: rewritten only when its Secret is missing, differs, or expires
 * within 23 h (so restarts leave it alone; the hourly pass keeps it ~24 h out). */
static int token_secret_renew(struct ck_client *c, const char *tok, struct ck_err *err)
{
    char id[7], secret[17], *path;
    json_t *cur = NULL;
    bool fresh = false;

    if (!authn_bootstrap_token_split(tok, strlen(tok), id, secret))
        return token_secret_put(c, tok, TOKEN_TTL_S, "ckube server join token", err);
    path = ck_asprintf("/api/v1/namespaces/kube-system/secrets/" AUTHN_BOOTSTRAP_SECRET_PREFIX "%s",
                       id);
    if (ck_client_get_json(c, path, &cur, err) == 0) {
        char *have = authn_secret_data(cur, "token-secret");
        char *exp = authn_secret_data(cur, "expiration");
        time_t t;
        fresh = have && !strcmp(have, secret) && exp && ck_time_parse_rfc3339(exp, &t) == 0 &&
                t - time(NULL) > TOKEN_TTL_S - 3600;
        free(have);
        free(exp);
    }
    *err = CK_ERR_INIT;
    json_decref(cur);
    free(path);
    return fresh ? 0 : token_secret_put(c, tok, TOKEN_TTL_S, "ckube server join token", err);
}

/* kubeadm's cluster-info kubeconfig (server + CA only). */
static char *cluster_info_kubeconfig(const char *server, const char *ca_b64)
{
    return ck_asprintf("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: "
                       "%s\n    server: %s\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\n"
                       "kind: Config\npreferences: {}\nusers: null\n",
                       ca_b64, server);
}

/* kube-public/cluster-info with kubeconfig and, when tok is given, its jws-kubeconfig-<id>
 * signature. kubeconfig NULL keeps the stored one (only adds the signature). */
static int cluster_info_put(struct ck_client *c, const char *kubeconfig, const char *tok,
                            struct ck_err *err)
{
    static const char path[] = "/api/v1/namespaces/kube-public/configmaps/cluster-info";
    json_t *cur = NULL, *data = json_object();
    char id[7], secret[17];
    char *kc = kubeconfig ? ck_strdup(kubeconfig) : NULL;
    int rc;

    if (!kc) {
        if (ck_client_get_json(c, path, &cur, err) < 0) {
            json_decref(data);
            return -1;
        }
        const char *s =
            json_string_value(json_object_get(json_object_get(cur, "data"), "kubeconfig"));
        kc = ck_strdup(s ? s : "");
    }
    json_object_set_new(data, "kubeconfig", json_string(kc));
    if (tok && authn_bootstrap_token_split(tok, strlen(tok), id, secret)) {
        char key[64];
        char *sig = jws_detached(kc, id, secret);
        snprintf(key, sizeof(key), "jws-kubeconfig-%s", id);
        json_object_set_new(data, key, json_string(sig));
        free(sig);
    }
    json_t *obj =
        json_pack("{s:s,s:s,s:{s:s,s:s},s:O}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                  "name", "cluster-info", "namespace", "kube-public", "data", data);
    rc = ck_client_create_json(c, "/api/v1/namespaces/kube-public/configmaps", obj, NULL, err);
    if (rc < 0 && err->reason == CK_R_ALREADY_EXISTS) {
        json_t *patch = json_pack("{s:O}", "data", data);
        *err = CK_ERR_INIT;
        rc = ck_client_patch_json(c, path, "application/merge-patch+json", patch, NULL, err);
        json_decref(patch);
    }
    json_decref(obj);
    json_decref(data);
    json_decref(cur);
    free(kc);
    return rc;
}

/* The address another machine reaches: the bind address, or for a wildcard the first
 * non-loopback address of an interface that is up (loopback when there is none). */
static void join_host(const char *bind, const char *host, char *out, size_t cap)
{
    bool v6 = bind && !strcmp(bind, "::");
    if (!bind || (strcmp(bind, "0.0.0.0") && !v6)) {
        snprintf(out, cap, "%s", host);
        return;
    }
    struct ifaddrs *ifs = NULL, *i;
    snprintf(out, cap, "%s", host);
    if (getifaddrs(&ifs) < 0)
        return;
    for (i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP) ||
            i->ifa_addr->sa_family != AF_INET)
            continue;
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, a, sizeof(a));
        snprintf(out, cap, "%s", a);
        break;
    }
    freeifaddrs(ifs);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct ck_buf b = CK_BUF_INIT(16 << 20);
    char chunk[4096];
    size_t n;
    if (!f)
        return NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        ck_buf_append(&b, chunk, n);
    fclose(f);
    ck_buf_appendc(&b, '\0');
    *len = b.len - 1;
    return b.data; /* ck_buf's bytes are malloc'd */
}

static int write_file(const char *path, const char *text, mode_t mode)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    size_t n = strlen(text);
    bool ok = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) < 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static struct {
    pthread_t th;
    bool running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    struct ck_client *client;
    char token[24];
} renew = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Keeps the token's expiration about 24 h out while the server runs (checked hourly). */
static void *renew_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&renew.mu);
    while (!renew.stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 3600;
        pthread_cond_timedwait(&renew.cv, &renew.mu, &ts);
        if (renew.stop)
            break;
        pthread_mutex_unlock(&renew.mu);
        struct ck_err err = CK_ERR_INIT;
        if (token_secret_renew(renew.client, renew.token, &err) < 0)
            ck_warn("server: renewing the bootstrap token: %s", err.msg);
        pthread_mutex_lock(&renew.mu);
    }
    pthread_mutex_unlock(&renew.mu);
    return NULL;
}

int join_setup(const struct apiserver_ready *r, const char *kubeconfig, const char *given)
{
    char path[PATH_MAX], tok[64] = "", hash[80], host[300], server[400], id[7], sec[17];
    struct ck_err err = CK_ERR_INIT;
    struct ck_client_config cfg;
    size_t len = 0;
    int rc = -1;

    if (!r->secure_port)
        return 0; /* joining needs the secure port */
    snprintf(path, sizeof(path), "%s/bootstrap-token", r->data_dir);
    if (given) {
        snprintf(tok, sizeof(tok), "%s", given);
    } else {
        char *cur = read_file(path, &len);
        if (cur) {
            snprintf(tok, sizeof(tok), "%.*s", (int)strcspn(cur, "\r\n "), cur);
            free(cur);
        }
        if (!authn_bootstrap_token_split(tok, strlen(tok), id, sec)) {
            char t[24];
            char line[32];
            if (token_generate(t) < 0)
                return ck_error("server: no random bytes for the bootstrap token"), -1;
            snprintf(tok, sizeof(tok), "%s", t);
            snprintf(line, sizeof(line), "%s\n", t);
            if (write_file(path, line, 0600) < 0)
                ck_warn("server: cannot write %s: %s", path, strerror(errno));
        }
    }
    if (!authn_bootstrap_token_split(tok, strlen(tok), id, sec)) {
        ck_error("server: --bootstrap-token must be of the form [a-z0-9]{6}.[a-z0-9]{16}");
        return -1;
    }
    snprintf(path, sizeof(path), "%s/ca.crt", r->data_dir);
    char *ca = read_file(path, &len);
    if (!ca || ca_cert_hash(ca, len, hash) < 0) {
        ck_error("server: cannot read the cluster CA %s", path);
        free(ca);
        return -1;
    }
    join_host(r->bind_address, r->host, host, sizeof(host));
    snprintf(server, sizeof(server), "https://%s%s%s:%d",
             strchr(host, ':') && host[0] != '[' ? "[" : "", host,
             strchr(host, ':') && host[0] != '[' ? "]" : "", r->secure_port);
    if (ck_config_from_kubeconfig(kubeconfig, NULL, &cfg, &err) < 0 ||
        ck_client_new(&cfg, &renew.client, &err) < 0) {
        ck_error("server: bootstrap token: %s", err.msg);
        free(ca);
        return -1;
    }
    ck_client_config_release(&cfg);
    char *ca_b64 = b64(ca, len);
    char *kc = cluster_info_kubeconfig(server, ca_b64);
    if (token_secret_renew(renew.client, tok, &err) < 0 ||
        cluster_info_put(renew.client, kc, tok, &err) < 0) {
        ck_error("server: bootstrap token: %s", err.msg);
        goto out;
    }
    char *cmd =
        ck_asprintf("ckube agent --server %s --token %s --ca-cert-hash %s\n", server, tok, hash);
    snprintf(path, sizeof(path), "%s/join-command", r->data_dir);
    if (write_file(path, cmd, 0600) < 0)
        ck_warn("server: cannot write %s: %s", path, strerror(errno));
    printf("join another machine with (also in %s):\n  %s", path, cmd);
    fflush(stdout);
    free(cmd);
    snprintf(renew.token, sizeof(renew.token), "%s", tok);
    renew.stop = false;
    renew.running = pthread_create(&renew.th, NULL, renew_main, NULL) == 0;
    rc = 0;
out:
    free(kc);
    free(ca_b64);
    free(ca);
    if (rc < 0) {
        ck_client_free(renew.client);
        renew.client = NULL;
    }
    return rc;
}

void join_stop(void)
{
    if (renew.running) {
        pthread_mutex_lock(&renew.mu);
        renew.stop = true;
        pthread_cond_broadcast(&renew.cv);
        pthread_mutex_unlock(&renew.mu);
        pthread_join(renew.th, NULL);
        renew.running = false;
    }
    ck_client_free(renew.client);
    renew.client = NULL;
}

/* ---- ckube token create ----------------------------------------------------------------- */

static int token_usage(void)
{
    fprintf(stderr, "usage: ckube token create [TOKEN] [--kubeconfig F] [--ttl D (24h, 0: never "
                    "expires)]\n       [--description TEXT] [--print-join-command]\n");
    return 2;
}

static int cmd_token(int argc, char **argv)
{
    const char *kubeconfig = NULL, *desc = "created by ckube token create", *given = NULL, *v;
    int64_t ttl = TOKEN_TTL_S;
    bool join = false;

    if (argc < 2 || strcmp(argv[1], "create") != 0)
        return token_usage();
    for (int i = 2; i < argc; i++) {
        if ((v = ck_flag_value(argc, argv, &i, "--kubeconfig")))
            kubeconfig = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--description")))
            desc = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--ttl")))
            ttl = csr_parse_duration(v);
        else if (!strcmp(argv[i], "--print-join-command"))
            join = true;
        else if (argv[i][0] != '-' && !given)
            given = argv[i];
        else if (!ck_log_parse_flag(argc, argv, &i))
            return token_usage();
    }
    if (ttl < 0)
        return token_usage();
    char tok[24], id[7], sec[17], hash[80] = "";
    if (given) {
        if (!authn_bootstrap_token_split(given, strlen(given), id, sec)) {
            fprintf(stderr, "token: the token must be of the form [a-z0-9]{6}.[a-z0-9]{16}\n");
            return 1;
        }
        snprintf(tok, sizeof(tok), "%s", given);
    } else if (token_generate(tok) < 0) {
        fprintf(stderr, "token: no random bytes\n");
        return 1;
    }
    struct ck_err err = CK_ERR_INIT;
    struct ck_client_config cfg;
    struct ck_client *c = NULL;
    if (ck_config_from_kubeconfig(kubeconfig, NULL, &cfg, &err) < 0 ||
        ck_client_new(&cfg, &c, &err) < 0) {
        fprintf(stderr, "token: %s\n", err.msg);
        return 1;
    }
    int rc = 1;
    if (join && (!cfg.ca_data || ca_cert_hash(cfg.ca_data, strlen(cfg.ca_data), hash) < 0)) {
        size_t len;
        char *ca = cfg.ca_file ? read_file(cfg.ca_file, &len) : NULL;
        if (!ca || ca_cert_hash(ca, len, hash) < 0) {
            fprintf(stderr, "token: the kubeconfig has no readable certificate authority\n");
            free(ca);
            goto out;
        }
        free(ca);
    }
    if (token_secret_put(c, tok, ttl, desc, &err) < 0) {
        fprintf(stderr, "token: %s\n", err.msg);
        goto out;
    }
    if (cluster_info_put(c, NULL, tok, &err) < 0 && err.reason != CK_R_NOT_FOUND)
        ck_warn("token: signing cluster-info: %s", err.msg);
    if (join)
        printf("ckube agent --server %s --token %s --ca-cert-hash %s\n", cfg.server, tok, hash);
    else
        printf("%s\n", tok);
    rc = 0;
out:
    ck_client_config_release(&cfg);
    ck_client_free(c);
    return rc;
}

CK_CMD(token, "token", cmd_token,
       "bootstrap tokens for joining nodes (token create [--ttl D] [--print-join-command])");

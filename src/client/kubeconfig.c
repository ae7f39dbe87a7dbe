/* SPDX-License-Identifier: Apache-2.0 */
/* Client configuration from a kubeconfig file or from in-cluster service-account files. */
#include "ckube/client.h"
#include "lib/base64.h"
#include "lib/yamljson.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KUBECONFIG_MAX (16 << 20)

static int read_file(const char *path, struct ck_buf *out, struct ck_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ck_err_sys(err, errno, "open %s", path);
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (ck_buf_append(out, chunk, n) < 0) {
            rc = ck_err_set(err, CK_R_TOO_LARGE, "%s: larger than %zu bytes", path, out->max);
            break;
        }
    if (rc == 0 && ferror(f))
        rc = ck_err_sys(err, errno, "read %s", path);
    fclose(f);
    return rc;
}

/* Decodes base64 (whitespace ignored) into a NUL-terminated string; NULL if invalid. */
static char *b64_decode(const char *in)
{
    return ck_base64_decode(in, strlen(in), NULL);
}

/* Finds the entry named name in a list of {name, <field>: {...}} and returns its field. */
static json_t *named(json_t *list, const char *name, const char *field)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && !strcmp(n, name))
            return json_object_get(e, field);
    }
    return NULL;
}

static char *str_field(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? ck_strdup(s) : NULL;
}

/* Relative file paths in a kubeconfig are relative to the file's directory. */
static char *resolve_path(const char *kcpath, const char *p)
{
    if (!p || !*p)
        return NULL;
    if (p[0] == '/')
        return ck_strdup(p);
    const char *slash = strrchr(kcpath, '/');
    if (!slash)
        return ck_strdup(p);
    return ck_asprintf("%.*s/%s", (int)(slash - kcpath), kcpath, p);
}

static int data_field(json_t *o, const char *k, const char *path, char **out, struct ck_err *err)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (!s || !*s)
        return 0;
    *out = b64_decode(s);
    if (!*out)
        return ck_err_set(err, CK_R_BAD_REQUEST, "%s: %s is not valid base64", path, k);
    return 0;
}

static int fill_from(const char *path, json_t *cluster, json_t *user, struct ck_client_config *out,
                     struct ck_err *err)
{
    out->server = str_field(cluster, "server");
    if (!out->server)
        return ck_err_set(err, CK_R_BAD_REQUEST, "%s: cluster has no server", path);
    out->insecure = json_is_true(json_object_get(cluster, "insecure-skip-tls-verify"));
    out->ca_file =
        resolve_path(path, json_string_value(json_object_get(cluster, "certificate-authority")));
    if (data_field(cluster, "certificate-authority-data", path, &out->ca_data, err) < 0)
        return -1;
    if (!user)
        return 0;
    out->token = str_field(user, "token");
    char *tf = resolve_path(path, json_string_value(json_object_get(user, "tokenFile")));
    if (!out->token && tf) {
        struct ck_buf b = CK_BUF_INIT(1 << 20);
        if (read_file(tf, &b, err) < 0) {
            free(tf);
            ck_buf_release(&b);
            return -1;
        }
        while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
            b.data[--b.len] = 0;
        out->token = ck_buf_detach(&b, NULL);
    }
    free(tf);
    out->cert_file =
        resolve_path(path, json_string_value(json_object_get(user, "client-certificate")));
    out->key_file = resolve_path(path, json_string_value(json_object_get(user, "client-key")));
    if (data_field(user, "client-certificate-data", path, &out->cert_data, err) < 0 ||
        data_field(user, "client-key-data", path, &out->key_data, err) < 0)
        return -1;
    return 0;
}

int ck_config_from_kubeconfig(const char *path, const char *context, struct ck_client_config *out,
                              struct ck_err *err)
{
    memset(out, 0, sizeof(*out));
    char *def = NULL;
    if (!path || !*path) {
        const char *env = getenv("KUBECONFIG");
        if (env && *env) {
            def = ck_strndup(env, strcspn(env, ":")); /* first file of a list */
        } else {
            const char *home = getenv("HOME");
            def = ck_asprintf("%s/.kube/config", home ? home : "");
        }
        path = def;
    }
    struct ck_buf b = CK_BUF_INIT(KUBECONFIG_MAX);
    json_t *kc = NULL;
    int rc = read_file(path, &b, err);
    if (rc == 0 && (rc = yaml_to_json(b.data ? b.data : "", b.len, &kc, err)) < 0)
        ck_err_wrap(err, "%s", path);
    ck_buf_release(&b);
    if (rc == 0) {
        const char *ctxname = context && *context
                                  ? context
                                  : json_string_value(json_object_get(kc, "current-context"));
        json_t *ctx = ctxname ? named(json_object_get(kc, "contexts"), ctxname, "context") : NULL;
        if (!ctx) {
            rc = ck_err_set(err, CK_R_BAD_REQUEST, "%s: context \"%s\" not found", path,
                            ctxname ? ctxname : "");
        } else {
            const char *cn = json_string_value(json_object_get(ctx, "cluster"));
            const char *un = json_string_value(json_object_get(ctx, "user"));
            json_t *cluster = cn ? named(json_object_get(kc, "clusters"), cn, "cluster") : NULL;
            json_t *user = un ? named(json_object_get(kc, "users"), un, "user") : NULL;
            if (!cluster)
                rc = ck_err_set(err, CK_R_BAD_REQUEST, "%s: cluster \"%s\" not found", path,
                                cn ? cn : "");
            else
                rc = fill_from(path, cluster, user, out, err);
        }
    }
    json_decref(kc);
    free(def);
    if (rc < 0)
        ck_client_config_release(out);
    return rc;
}

int ck_config_in_cluster(const char *root, struct ck_client_config *out, struct ck_err *err)
{
    memset(out, 0, sizeof(*out));
    const char *dir = root ? root : "/var/run/secrets/kubernetes.io/serviceaccount";
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port)
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "not in a cluster: KUBERNETES_SERVICE_HOST and _PORT must be set");
    out->server = strchr(host, ':') ? ck_asprintf("https://[%s]:%s", host, port)
                                    : ck_asprintf("https://%s:%s", host, port);
    char *tp = ck_asprintf("%s/token", dir);
    struct ck_buf b = CK_BUF_INIT(1 << 20);
    int rc = read_file(tp, &b, err);
    free(tp);
    if (rc < 0) {
        ck_buf_release(&b);
        ck_client_config_release(out);
        return -1;
    }
    while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
        b.data[--b.len] = 0;
    out->token = ck_buf_detach(&b, NULL);
    out->ca_file = ck_asprintf("%s/ca.crt", dir);
    return 0;
}

void ck_client_config_release(struct ck_client_config *c)
{
    free(c->server);
    free(c->ca_file);
    free(c->ca_data);
    free(c->cert_file);
    free(c->key_file);
    free(c->cert_data);
    free(c->key_data);
    free(c->token);
    free(c->user_agent);
    memset(c, 0, sizeof(*c));
}

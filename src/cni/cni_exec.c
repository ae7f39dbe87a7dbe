/* SPDX-License-Identifier: Apache-2.0 */
/* Running a CNI plugin chain: ADD in order (prevResult threading), DEL in reverse with the
 * cached result, CHECK; plus the on-disk result cache (<cache_dir>/<net>-<id>-<if>.json,
 * written atomically, holding the config used and the final result). */
#include "cni/cni_int.h"
#include "cni/cni_proc.h"
#include "lib/buf.h"
#include "lib/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/banned.h"

#define CNI_OUT_MAX (1 << 20)

static const char *plugin_dirs(const struct cni_ctx *ctx)
{
    return ctx->plugin_dirs && *ctx->plugin_dirs ? ctx->plugin_dirs : "/usr/lib/cni";
}

static int find_plugin(const struct cni_ctx *ctx, const char *type, char *path, size_t n,
                       struct ck_err *err)
{
    const char *dirs = plugin_dirs(ctx);
    const char *p = dirs;
    while (*p) {
        size_t len = strcspn(p, ":");
        snprintf(path, n, "%.*s/%s", (int)len, p, type);
        if (len && access(path, X_OK) == 0)
            return 0;
        p += len;
        if (*p == ':')
            p++;
    }
    return ck_err_set(err, CK_R_NOT_FOUND, "cni: failed to find plugin \"%s\" in path [%s]", type,
                      dirs);
}

static json_t *plugin_stdin(const struct cni_net *net, json_t *plugin, json_t *prev,
                            const struct cni_attachment *a)
{
    json_t *conf = json_deep_copy(plugin);
    json_object_set_new(conf, "name", json_string(net->name));
    json_object_set_new(conf, "cniVersion", json_string(net->version));
    if (prev)
        json_object_set(conf, "prevResult", prev);
    json_t *caps = json_object_get(plugin, "capabilities");
    json_object_del(conf, "capabilities");
    if (json_is_true(json_object_get(caps, "portMappings")) && a->nports) {
        json_t *pm = json_array();
        for (size_t i = 0; i < a->nports; i++) {
            const struct cni_port_mapping *m = &a->ports[i];
            json_t *e = json_pack("{s:i, s:i, s:s}", "hostPort", m->host_port, "containerPort",
                                  m->container_port, "protocol",
                                  m->protocol && *m->protocol ? m->protocol : "tcp");
            if (m->host_ip && *m->host_ip)
                json_object_set_new(e, "hostIP", json_string(m->host_ip));
            json_array_append_new(pm, e);
        }
        json_object_set_new(conf, "runtimeConfig", json_pack("{s:o}", "portMappings", pm));
    }
    return conf;
}

static char **build_env(const char *cmd, const struct cni_ctx *ctx, const struct cni_attachment *a)
{
    char **env = ck_calloc(10, sizeof(char *));
    size_t k = 0;
    env[k++] = ck_asprintf("CNI_COMMAND=%s", cmd);
    env[k++] = ck_asprintf("CNI_CONTAINERID=%s", a->container_id);
    env[k++] = ck_asprintf("CNI_NETNS=%s", a->netns ? a->netns : "");
    env[k++] = ck_asprintf("CNI_IFNAME=%s", a->ifname && *a->ifname ? a->ifname : "eth0");
    env[k++] = ck_asprintf("CNI_PATH=%s", plugin_dirs(ctx));
    if (a->pod_name)
        env[k++] = ck_asprintf("CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;"
                               "K8S_POD_INFRA_CONTAINER_ID=%s;K8S_POD_UID=%s",
                               a->pod_namespace ? a->pod_namespace : "", a->pod_name,
                               a->container_id, a->pod_uid ? a->pod_uid : "");
    env[k++] = ck_strdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    return env;
}

static void free_env(char **env)
{
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
    free(env);
}

/* Runs one plugin; on ADD success *result is its parsed JSON (new reference). */
static int run_plugin(const struct cni_ctx *ctx, const char *cmd, const struct cni_net *net,
                      json_t *plugin, json_t *prev, const struct cni_attachment *a,
                      json_t **result, struct ck_err *err)
{
    const char *type = json_string_value(json_object_get(plugin, "type"));
    char path[1024];
    if (find_plugin(ctx, type, path, sizeof(path), err) < 0)
        return -1;
    json_t *conf = plugin_stdin(net, plugin, prev, a);
    char *in = json_dumps(conf, JSON_COMPACT);
    json_decref(conf);
    char **env = build_env(cmd, ctx, a);
    const char *argv[] = {path, NULL};
    struct ck_buf out = CK_BUF_INIT(CNI_OUT_MAX), eout = CK_BUF_INIT(64 << 10);
    int status = 0;
    int rc = cni_spawn_capture(argv, env, in, strlen(in),
                               ctx->timeout_ms > 0 ? ctx->timeout_ms : 30000, &out, &eout,
                               &status, err);
    free(in);
    free_env(env);
    ck_v(2, "cni %s %s -> status %d: %.*s", cmd, type, status, (int)out.len, out.data ? out.data : "");
    if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        struct cni_result tmp;
        char sbuf[48];
        if (out.len == 0 || cni_result_parse(out.data, out.len, &tmp, err) == 0)
            rc = ck_err_set(err, CK_R_INTERNAL, "%s: %.400s", cni_status_str(status, sbuf, 48),
                            eout.data ? eout.data : "");
        rc = -1;
    } else if (rc == 0 && result && !strcmp(cmd, "ADD")) {
        struct cni_result tmp;
        json_error_t je;
        json_t *j = out.len ? json_loadb(out.data, out.len, 0, &je) : NULL;
        if (!j)
            rc = ck_err_set(err, CK_R_BAD_REQUEST, "invalid JSON result");
        else if ((rc = cni_result_from_json(j, &tmp, err)) < 0)
            json_decref(j);
        else
            *result = j;
    }
    if (rc < 0)
        ck_err_wrap(err, "cni %s plugin %s (network %s)", cmd, type, net->name);
    ck_buf_release(&out);
    ck_buf_release(&eout);
    return rc;
}

static char *cache_path(const struct cni_ctx *ctx, const char *net, const char *id, const char *ifn)
{
    return ck_asprintf("%s/%s-%s-%s.json", ctx->cache_dir, net, id, ifn && *ifn ? ifn : "eth0");
}

static int write_cache(const struct cni_ctx *ctx, const struct cni_net *net,
                       const struct cni_attachment *a, json_t *result, struct ck_err *err)
{
    mkdir(ctx->cache_dir, 0700);
    ck_autofree char *path = cache_path(ctx, net->name, a->container_id, a->ifname);
    ck_autofree char *tmp = ck_asprintf("%s.tmp", path);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:O, s:O}", "kind", "cniCacheV1", "containerId",
                            a->container_id, "ifName", a->ifname && *a->ifname ? a->ifname : "eth0",
                            "networkName", net->name, "config", net->raw, "result", result);
    /* the port mappings too (as libcni's capabilityArgs): portmap's DEL removes nothing
     * without them, and the caller of a DEL may no longer know them */
    json_t *pm = json_array();
    for (size_t i = 0; i < a->nports; i++) {
        const struct cni_port_mapping *m = &a->ports[i];
        json_array_append_new(pm, json_pack("{s:i, s:i, s:s, s:s}", "hostPort", m->host_port,
                                            "containerPort", m->container_port, "protocol",
                                            m->protocol ? m->protocol : "", "hostIP",
                                            m->host_ip ? m->host_ip : ""));
    }
    json_object_set_new(doc, "portMappings", pm);
    int rc = json_dump_file(doc, tmp, JSON_COMPACT);
    json_decref(doc);
    if (rc < 0 || rename(tmp, path) < 0) {
        unlink(tmp);
        return ck_err_sys(err, errno, "cni: writing cache %s", path);
    }
    return 0;
}

/* Loads the cache entry; 0 with *doc, or -1 when absent/corrupt (not an error to callers). */
static int read_cache(const struct cni_ctx *ctx, const char *net_name,
                      const struct cni_attachment *a, json_t **doc)
{
    ck_autofree char *path = cache_path(ctx, net_name, a->container_id, a->ifname);
    json_error_t je;
    *doc = json_load_file(path, 0, &je);
    if (*doc && !json_is_object(json_object_get(*doc, "result"))) {
        json_decref(*doc);
        *doc = NULL;
    }
    return *doc ? 0 : -1;
}

int cni_add(const struct cni_ctx *ctx, const struct cni_net *net, const struct cni_attachment *a,
            struct cni_result *out, struct ck_err *err)
{
    json_t *prev = NULL;
    size_t i;
    json_t *plugin;
    json_array_foreach(net->plugins, i, plugin) {
        json_t *res = NULL;
        if (run_plugin(ctx, "ADD", net, plugin, prev, a, &res, err) < 0) {
            json_decref(prev);
            struct ck_err e2 = CK_ERR_INIT;
            if (cni_del(ctx, net, a, &e2) < 0)
                ck_v(1, "cni: cleanup after failed ADD: %s", e2.msg);
            return -1;
        }
        json_decref(prev);
        prev = res;
    }
    int rc = cni_result_from_json(prev, out, err);
    if (rc == 0)
        rc = write_cache(ctx, net, a, prev, err);
    json_decref(prev);
    if (rc < 0) {
        struct ck_err e2 = CK_ERR_INIT;
        cni_del(ctx, net, a, &e2);
    }
    return rc;
}

/* Runs cmd over the plugins (reverse for DEL) with prevResult = cached result. */
static int run_with_prev(const struct cni_ctx *ctx, const char *cmd, const struct cni_net *net,
                         json_t *prev, const struct cni_attachment *a, struct ck_err *err)
{
    size_t n = json_array_size(net->plugins);
    for (size_t k = 0; k < n; k++) {
        size_t i = !strcmp(cmd, "DEL") ? n - 1 - k : k;
        if (run_plugin(ctx, cmd, net, json_array_get(net->plugins, i), prev, a, NULL, err) < 0)
            return -1;
    }
    return 0;
}

int cni_del(const struct cni_ctx *ctx, const struct cni_net *net, const struct cni_attachment *a,
            struct ck_err *err)
{
    json_t *doc = NULL;
    struct cni_net *cached = NULL;
    if (net)
        read_cache(ctx, net->name, a, &doc);
    if (doc && json_is_object(json_object_get(doc, "config"))) {
        struct ck_err e2 = CK_ERR_INIT;
        if (cni_net_from_json(json_object_get(doc, "config"), &cached, &e2) < 0)
            cached = NULL;
    }
    const struct cni_net *use = cached ? cached : net;
    struct cni_attachment withports = *a;
    struct cni_port_mapping pm[64];
    json_t *cpm = json_object_get(doc, "portMappings");
    if (!a->nports && json_array_size(cpm)) { /* the ports the ADD was given */
        size_t i;
        json_t *m;
        json_array_foreach(cpm, i, m) {
            if (withports.nports == 64)
                break;
            pm[withports.nports++] = (struct cni_port_mapping){
                (int)json_integer_value(json_object_get(m, "hostPort")),
                (int)json_integer_value(json_object_get(m, "containerPort")),
                json_string_value(json_object_get(m, "protocol")),
                json_string_value(json_object_get(m, "hostIP"))};
        }
        withports.ports = pm;
    }
    int rc = 0;
    if (use) {
        rc = run_with_prev(ctx, "DEL", use, doc ? json_object_get(doc, "result") : NULL,
                           &withports, err);
        if (rc == 0) {
            ck_autofree char *path = cache_path(ctx, use->name, a->container_id, a->ifname);
            unlink(path);
        }
    }
    cni_net_free(cached);
    json_decref(doc);
    return rc;
}

int cni_check(const struct cni_ctx *ctx, const struct cni_net *net,
              const struct cni_attachment *a, struct ck_err *err)
{
    json_t *doc = NULL;
    if (read_cache(ctx, net->name, a, &doc) < 0)
        return ck_err_set(err, CK_R_NOT_FOUND, "cni: no cached result for %s on network %s",
                          a->container_id, net->name);
    if (!strncmp(net->version, "0.1", 3) || !strncmp(net->version, "0.2", 3) ||
        !strncmp(net->version, "0.3", 3)) {
        json_decref(doc);
        return 0; /* CHECK did not exist before 0.4.0 */
    }
    int rc = run_with_prev(ctx, "CHECK", net, json_object_get(doc, "result"), a, err);
    json_decref(doc);
    return rc;
}

int cni_cached_result(const struct cni_ctx *ctx, const char *net_name, const char *container_id,
                      const char *ifname, struct cni_result *out, struct ck_err *err)
{
    struct cni_attachment a = {.container_id = container_id, .ifname = ifname};
    json_t *doc = NULL;
    if (read_cache(ctx, net_name, &a, &doc) < 0)
        return ck_err_set(err, CK_R_NOT_FOUND, "cni: no cached result for %s", container_id);
    int rc = cni_result_from_json(json_object_get(doc, "result"), out, err);
    json_decref(doc);
    return rc;
}

int cni_loopback(const struct cni_ctx *ctx, const char *container_id, const char *netns, bool add,
                 struct ck_err *err)
{
    json_t *plugin = json_pack("{s:s}", "type", "loopback");
    struct cni_net net = {.name = "cni-loopback", .version = "1.0.0"};
    struct cni_attachment a = {.container_id = container_id, .netns = netns, .ifname = "lo"};
    json_t *res = NULL;
    int rc = run_plugin(ctx, add ? "ADD" : "DEL", &net, plugin, NULL, &a, &res, err);
    json_decref(res);
    json_decref(plugin);
    return rc;
}

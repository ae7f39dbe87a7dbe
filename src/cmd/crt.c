/* SPDX-License-Identifier: Apache-2.0 */
/* ckube crt: a crictl-like CLI over the crun runtime backend and the image store, for humans
 * and tests. State lives under --root, so successive invocations see the same pods and
 * containers. Pod/container configs are JSON files in crictl's shape (see --help). */
#include "cmd/cmd.h"
#include "image/image.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "runtime/crilog.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "lib/banned.h"

static const char crt_usage[] =
    "usage: ckube crt [--root DIR] [--image-root DIR] [--cni-conf FILE] <command> [args]\n"
    "\n"
    "images:\n"
    "  pull [--insecure] [--registry-config FILE] REF   pull an image (--insecure: plain\n"
    "                                 http; FILE: mirrors, TLS and credentials per registry,\n"
    "                                 default " IMG_REGISTRIES_DEFAULT " if present)\n"
    "  images [-q]                    list images\n"
    "  rmi REF|ID                     remove an image\n"
    "  import PATH [REF]              import a docker-archive (docker save) or an OCI image\n"
    "                                 layout (a directory, or a tar or tar.gz of one), for\n"
    "                                 machines without a registry; REF: the tag to give\n"
    "pods:\n"
    "  runp POD.json                  run a pod sandbox, print its id\n"
    "  pods [-q]                      list sandboxes\n"
    "  inspectp ID                    sandbox status as JSON\n"
    "  stopp ID / rmp ID              stop / remove a sandbox (and its containers)\n"
    "containers:\n"
    "  create POD-ID CTR.json         create a container, print its id\n"
    "  run POD-ID CTR.json            create and start\n"
    "  start ID                       start a created container\n"
    "  stop [-t SECONDS] ID           SIGTERM, SIGKILL after the timeout (default 10)\n"
    "  rm ID                          remove (kills it if running)\n"
    "  ps [-a] [-q] [--pod ID]        list containers (running only unless -a)\n"
    "  inspect ID                     container status as JSON\n"
    "  logs [-f] ID                   print the container's log (-f: follow until exit)\n"
    "  exec [-i] [-t] [--timeout S] ID CMD...  run a command; exits with its code\n"
    "  stats [ID...]                  cpu/memory usage\n"
    "IDs may be abbreviated to a unique prefix of 4+ characters (as ps/pods print them).\n"
    "  bench [--image REF] [-n N]     median create+start latency: 'bench crt_start_ms <v> ms'\n"
    "\n"
    "POD.json: "
    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"uid\":\"u1\",\"attempt\":0},\n"
    "  \"hostname\":\"p\",\"log_directory\":\"/var/log/pods/x\",\"dns_config\":{\"servers\":[],\n"
    "  "
    "\"searches\":[],\"options\":[]},\"port_mappings\":[{\"protocol\":\"tcp\",\"container_port\":"
    "80,\n"
    "  "
    "\"host_port\":8080}],\"labels\":{},\"annotations\":{},\"linux\":{\"cgroup_parent\":\"/"
    "kubepods/podu1\",\n"
    "  \"security_context\":{\"namespace_options\":{\"network\":2}}}}   (network 2 = hostNetwork)\n"
    "CTR.json: {\"metadata\":{\"name\":\"c\",\"attempt\":0},\"image\":{\"image\":\"REF\"},\n"
    "  "
    "\"command\":[],\"args\":[],\"envs\":[{\"key\":\"K\",\"value\":\"V\"}],\"working_dir\":\"/\",\n"
    "  \"mounts\":[{\"host_path\":\"/x\",\"container_path\":\"/y\",\"readonly\":true}],\n"
    "  \"log_path\":\"c.log\",\"labels\":{},\"annotations\":{},\"linux\":{\"resources\":{\n"
    "  "
    "\"cpu_shares\":512,\"cpu_quota\":50000,\"cpu_period\":100000,\"memory_limit_in_bytes\":"
    "33554432,\n"
    "  "
    "\"pids_limit\":64},\"security_context\":{\"privileged\":false,\"run_as_user\":{\"value\":0}}}}"
    "\n"
    "An image \"dir:/abs/rootfs\" runs a plain directory as the root filesystem.\n";

struct crt {
    const char *root;
    const char *image_root;
    const char *cni_conf;
    struct runtime *rt;
    struct img_store *img;
};

static int fail(const struct ck_err *e)
{
    fprintf(stderr, "ckube crt: %s\n", e->msg[0] ? e->msg : "failed");
    return 1;
}

static int open_rt(struct crt *c, struct ck_err *e)
{
    if (c->rt)
        return 0;
    struct rt_crun_opts o = {
        .root = c->root, .cni_conflist = c->cni_conf, .image_root = c->image_root};
    c->rt = rt_crun_open(&o, e);
    return c->rt ? 0 : -1;
}

static int open_img(struct crt *c, struct ck_err *e)
{
    return c->img ? 0 : img_store_open(c->image_root, &c->img, e);
}

static json_t *load_json_file(const char *path, struct ck_err *e)
{
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        ck_err_set(e, CK_R_BAD_REQUEST, "%s: line %d: %s", path, je.line, je.text);
    else if (!json_is_object(j)) {
        json_decref(j);
        ck_err_set(e, CK_R_BAD_REQUEST, "%s: not a JSON object", path);
        return NULL;
    }
    return j;
}

/* ---- config parsing ------------------------------------------------------------------- */

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static struct rt_kv *kv_of(json_t *obj, size_t *n)
{
    *n = json_is_object(obj) ? json_object_size(obj) : 0;
    struct rt_kv *kv = ck_calloc(*n + 1, sizeof(*kv));
    size_t i = 0;
    const char *k;
    json_t *v;
    if (*n)
        json_object_foreach(obj, k, v)
        {
            kv[i].key = k;
            kv[i].value = json_is_string(v) ? json_string_value(v) : "";
            i++;
        }
    return kv;
}

static const char **strv_of(json_t *arr, struct ck_err *e, const char *field)
{
    if (!arr)
        return NULL;
    if (!json_is_array(arr)) {
        ck_err_set(e, CK_R_BAD_REQUEST, "%s must be an array of strings", field);
        return NULL;
    }
    const char **v = ck_calloc(json_array_size(arr) + 1, sizeof(char *));
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it)
    {
        if (!json_is_string(it)) {
            free(v);
            ck_err_set(e, CK_R_BAD_REQUEST, "%s[%zu] must be a string", field, i);
            return NULL;
        }
        v[i] = json_string_value(it);
    }
    return v;
}

struct pod_cfg {
    struct rt_sandbox_config c;
    const char **dns[3];
    struct rt_port_mapping *ports;
};

static int pod_cfg_parse(json_t *j, struct pod_cfg *p, struct ck_err *e)
{
    memset(p, 0, sizeof(*p));
    json_t *md = json_object_get(j, "metadata");
    p->c.name = jstr(md, "name");
    p->c.namespace_ = jstr(md, "namespace") ? jstr(md, "namespace") : "default";
    p->c.uid = jstr(md, "uid");
    p->c.attempt = (unsigned)json_integer_value(json_object_get(md, "attempt"));
    if (!p->c.name || !p->c.uid)
        return ck_err_set(e, CK_R_BAD_REQUEST,
                          "pod config: metadata.name and metadata.uid are required");
    p->c.hostname = jstr(j, "hostname");
    p->c.log_directory = jstr(j, "log_directory");
    json_t *dns = json_object_get(j, "dns_config");
    static const char *const dk[3] = {"servers", "searches", "options"};
    for (int i = 0; i < 3; i++) {
        json_t *a = json_object_get(dns, dk[i]);
        p->dns[i] = strv_of(a, e, dk[i]);
        if (a && !p->dns[i])
            return -1;
    }
    p->c.dns_servers = p->dns[0];
    p->c.dns_searches = p->dns[1];
    p->c.dns_options = p->dns[2];
    json_t *pm = json_object_get(j, "port_mappings");
    p->ports = ck_calloc(json_array_size(pm) + 1, sizeof(*p->ports));
    size_t i;
    json_t *it;
    json_array_foreach(pm, i, it)
    {
        p->ports[i].protocol = jstr(it, "protocol");
        p->ports[i].container_port = (int)json_integer_value(json_object_get(it, "container_port"));
        p->ports[i].host_port = (int)json_integer_value(json_object_get(it, "host_port"));
        p->ports[i].host_ip = jstr(it, "host_ip");
        if (p->ports[i].container_port <= 0 || p->ports[i].container_port > 65535 ||
            p->ports[i].host_port < 0 || p->ports[i].host_port > 65535)
            return ck_err_set(e, CK_R_BAD_REQUEST, "pod config: port_mappings[%zu] out of range",
                              i);
    }
    p->c.ports = p->ports;
    p->c.nports = json_array_size(pm);
    p->c.labels = kv_of(json_object_get(j, "labels"), &p->c.nlabels);
    p->c.annotations = kv_of(json_object_get(j, "annotations"), &p->c.nannotations);
    json_t *lx = json_object_get(j, "linux");
    p->c.cgroup_parent = jstr(lx, "cgroup_parent");
    json_t *nso = json_object_get(json_object_get(lx, "security_context"), "namespace_options");
    p->c.host_network = json_integer_value(json_object_get(nso, "network")) == 2; /* NODE */
    return 0;
}

static void pod_cfg_release(struct pod_cfg *p)
{
    for (int i = 0; i < 3; i++)
        free(p->dns[i]);
    free(p->ports);
    free((void *)p->c.labels);
    free((void *)p->c.annotations);
}

struct ctr_cfg {
    struct rt_container_config c;
    const char **command, **args;
    struct rt_kv *env;
    struct rt_mount *mounts;
};

static int ctr_cfg_parse(json_t *j, struct ctr_cfg *p, struct ck_err *e)
{
    memset(p, 0, sizeof(*p));
    json_t *md = json_object_get(j, "metadata");
    p->c.name = jstr(md, "name");
    p->c.attempt = (unsigned)json_integer_value(json_object_get(md, "attempt"));
    json_t *img = json_object_get(j, "image");
    p->c.image = json_is_string(img) ? json_string_value(img) : jstr(img, "image");
    if (!p->c.name || !p->c.image)
        return ck_err_set(e, CK_R_BAD_REQUEST,
                          "container config: metadata.name and image.image are required");
    json_t *cmd = json_object_get(j, "command"), *args = json_object_get(j, "args");
    p->command = strv_of(cmd, e, "command");
    p->args = strv_of(args, e, "args");
    if ((cmd && !p->command) || (args && !p->args))
        return -1;
    p->c.command = p->command;
    p->c.args = p->args;
    json_t *envs = json_object_get(j, "envs");
    p->env = ck_calloc(json_array_size(envs) + 1, sizeof(*p->env));
    size_t i;
    json_t *it;
    json_array_foreach(envs, i, it)
    {
        p->env[i].key = jstr(it, "key");
        p->env[i].value = jstr(it, "value") ? jstr(it, "value") : "";
        if (!p->env[i].key || !*p->env[i].key || strchr(p->env[i].key, '='))
            return ck_err_set(e, CK_R_BAD_REQUEST, "container config: envs[%zu].key invalid", i);
    }
    p->c.env = p->env;
    p->c.nenv = json_array_size(envs);
    p->c.working_dir = jstr(j, "working_dir");
    json_t *mounts = json_object_get(j, "mounts");
    p->mounts = ck_calloc(json_array_size(mounts) + 1, sizeof(*p->mounts));
    json_array_foreach(mounts, i, it)
    {
        p->mounts[i].host_path = jstr(it, "host_path");
        p->mounts[i].container_path = jstr(it, "container_path");
        p->mounts[i].readonly = json_is_true(json_object_get(it, "readonly"));
        if (!p->mounts[i].host_path || p->mounts[i].host_path[0] != '/' ||
            !p->mounts[i].container_path || p->mounts[i].container_path[0] != '/')
            return ck_err_set(
                e, CK_R_BAD_REQUEST,
                "container config: mounts[%zu] needs absolute host_path and container_path", i);
    }
    p->c.mounts = p->mounts;
    p->c.nmounts = json_array_size(mounts);
    p->c.log_path = jstr(j, "log_path");
    json_t *lx = json_object_get(j, "linux");
    json_t *res = json_object_get(lx, "resources");
    p->c.resources.cpu_shares = json_integer_value(json_object_get(res, "cpu_shares"));
    p->c.resources.cpu_quota = json_integer_value(json_object_get(res, "cpu_quota"));
    p->c.resources.cpu_period = json_integer_value(json_object_get(res, "cpu_period"));
    p->c.resources.memory_limit = json_integer_value(json_object_get(res, "memory_limit_in_bytes"));
    p->c.resources.pids_limit = json_integer_value(json_object_get(res, "pids_limit"));
    json_t *sc = json_object_get(lx, "security_context");
    p->c.privileged = json_is_true(json_object_get(sc, "privileged"));
    json_t *ru = json_object_get(json_object_get(sc, "run_as_user"), "value");
    p->c.run_as_user = json_is_integer(ru) ? json_integer_value(ru) : -1;
    p->c.tty = json_is_true(json_object_get(j, "tty"));
    p->c.stdin_ = json_is_true(json_object_get(j, "stdin"));
    p->c.labels = kv_of(json_object_get(j, "labels"), &p->c.nlabels);
    p->c.annotations = kv_of(json_object_get(j, "annotations"), &p->c.nannotations);
    return 0;
}

static void ctr_cfg_release(struct ctr_cfg *p)
{
    free(p->command);
    free(p->args);
    free(p->env);
    free(p->mounts);
    free((void *)p->c.labels);
    free((void *)p->c.annotations);
}

/* Expands a unique id prefix (as `ps`/`pods` print 13 chars) to the full id; anything else
 * is returned unchanged so the runtime reports it as not found. */
static const char *full_id(struct crt *c, bool pod, const char *arg, char buf[RT_ID_MAX])
{
    size_t n = strlen(arg), hits = 0;
    if (n < 4 || n >= 32 || strspn(arg, "0123456789abcdef") != n || open_rt(c, NULL) < 0)
        return arg;
    if (pod) {
        struct rt_sandbox_status *v;
        size_t k;
        if (c->rt->ops->list_pod_sandboxes(c->rt, &v, &k, NULL) < 0)
            return arg;
        for (size_t i = 0; i < k; i++)
            if (!strncmp(v[i].id, arg, n) && hits++ == 0)
                snprintf(buf, RT_ID_MAX, "%s", v[i].id);
        rt_sandbox_list_free(v, k);
    } else {
        struct rt_container_filter f = {.state = -1};
        struct rt_container_status *v;
        size_t k;
        if (c->rt->ops->list_containers(c->rt, &f, &v, &k, NULL) < 0)
            return arg;
        for (size_t i = 0; i < k; i++)
            if (!strncmp(v[i].id, arg, n) && hits++ == 0)
                snprintf(buf, RT_ID_MAX, "%s", v[i].id);
        rt_container_list_free(v, k);
    }
    return hits == 1 ? buf : arg;
}

/* ---- commands ---------------------------------------------------------------------------- */

static int cmd_pull(struct crt *c, int argc, char **argv, struct ck_err *e)
{
    struct img_pull_opts o = {0};
    const char *rcfile = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--insecure"))
            o.insecure_http = true;
        else if (!strcmp(argv[i], "--registry-config") && i + 1 < argc)
            rcfile = argv[++i];
        else
            return ck_err_set(e, CK_R_BAD_REQUEST, "pull: unknown flag %s", argv[i]);
    }
    if (i >= argc)
        return ck_err_set(e, CK_R_BAD_REQUEST, "pull: an image reference is required");
    char id[IMG_ID_MAX];
    struct img_registries *regs = NULL;
    if (img_registries_load(rcfile ? rcfile : IMG_REGISTRIES_DEFAULT, rcfile, &regs, e) < 0)
        return -1;
    o.registries = regs;
    int rc = open_img(c, e) < 0 || img_pull(c->img, argv[i], &o, id, e) < 0 ? -1 : 0;
    img_registries_free(regs);
    if (rc == 0)
        printf("Image is up to date for %s\n", id);
    return rc;
}

static int cmd_import(struct crt *c, int argc, char **argv, struct ck_err *e)
{
    if (argc < 2 || argc > 3)
        return ck_err_set(e, CK_R_BAD_REQUEST, "import: PATH [REF] expected");
    struct img_imported *v = NULL;
    size_t n = 0;
    if (open_img(c, e) < 0 ||
        img_import(c->img, argv[1], argc == 3 ? argv[2] : NULL, &v, &n, e) < 0)
        return -1;
    for (size_t k = 0; k < n; k++)
        printf("Imported %s%s%s\n", v[k].id, v[k].ref ? " as " : "", v[k].ref ? v[k].ref : "");
    img_imported_free(v, n);
    return 0;
}

static int cmd_images(struct crt *c, int argc, char **argv, struct ck_err *e)
{
    bool q = argc > 1 && !strcmp(argv[1], "-q");
    struct img_info *v;
    size_t n;
    if (open_img(c, e) < 0 || img_list(c->img, &v, &n, e) < 0)
        return -1;
    if (!q)
        printf("%-60s %-15s %-10s\n", "IMAGE", "IMAGE ID", "SIZE");
    for (size_t i = 0; i < n; i++) {
        const char *hex = strchr(v[i].id, ':') ? strchr(v[i].id, ':') + 1 : v[i].id;
        if (q) {
            printf("%s\n", v[i].id);
            continue;
        }
        for (size_t t = 0; t < (v[i].ntags ? v[i].ntags : 1); t++)
            printf("%-60s %-15.13s %lldkB\n", v[i].ntags ? v[i].repo_tags[t] : "<none>", hex,
                   (long long)(v[i].size / 1000));
    }
    img_info_free(v, n);
    return 0;
}

static int cmd_rmi(struct crt *c, int argc, char **argv, struct ck_err *e)
{
    if (argc < 2)
        return ck_err_set(e, CK_R_BAD_REQUEST, "rmi: an image is required");
    if (open_img(c, e) < 0)
        return -1;
    for (int i = 1; i < argc; i++) {
        if (img_remove(c->img, argv[i], e) < 0)
            return -1;
        printf("Deleted: %s\n", argv[i]);
    }
    return 0;
}

static int cmd_runp(struct crt *c, int argc, char **argv, struct ck_err *e)
{
    if (argc != 2)
        return ck_err_set(e, CK_R_BAD_REQUEST, "runp: usage: runp POD.json");
    json_t *j = load_json_file(argv[1], e);
    if (!j)
        return -1;
    struct pod_cfg p;
    char id[RT_ID_MAX];
    int rc = pod_cfg_parse(j, &p, e);
    if (rc == 0 && (rc = open_rt(c, e)) == 0)
        rc = c->rt->ops->run_pod_sandbox(c->rt, &p.c, id, e);
    if (rc == 0)
        printf("%s\n", id);
    pod_cfg_release(&p);
    json_decref(j);
    return rc;
}

static int create_from(struct crt *c, const char *pod, const char *file, char id[RT_ID_MAX],
                       struct ck_err *e)
{
    json_t *j = load_json_file(file, e);
    if (!j)
        return -1;
    struct ctr_cfg p;
    int rc = ctr_cfg_parse(j, &p, e);
    if (rc == 0 && (rc = open_rt(c, e)) == 0)
        rc = c->rt->ops->create_container(c->rt, pod, &p.c, id, e);
    ctr_cfg_release(&p);
    json_decref(j);
    return rc;
}

static int cmd_create(struct crt *c, int argc, char **argv, struct ck_err *e)
{
    if (argc != 3)
        return ck_err_set(e, CK_R_BAD_REQUEST, "%s: usage: %s POD-ID CTR.json", argv[0], argv[0]);
    char id[RT_ID_MAX];
    char pb[RT_ID_MAX];
    if (create_from(c, full_id(c, true, argv[1], pb), argv[2], id, e) < 0)
        return -1;
    if (!strcmp(argv[0], "run") && c->rt->ops->start_container(c->rt, id, e) < 0) {
        struct ck_err e2 = CK_ERR_INIT;
        c->rt->ops->remove_container(c->rt, id, &e2);
        return -1;
    }
    printf("%s\n", id);
    return 0;
}

static int cmd_simple(struct crt *c, int argc, char **argv, struct ck_err *e)
{
    int timeout = 10;
    int i = 1;
    if (i + 1 < argc && !strcmp(argv[i], "-t")) {
        timeout = atoi(argv[i + 1]);
        i += 2;
    }
    if (i >= argc)
        return ck_err_set(e, CK_R_BAD_REQUEST, "%s: an id is required", argv[0]);
    if (open_rt(c, e) < 0)
        return -1;
    const struct runtime_ops *o = c->rt->ops;
    for (; i < argc; i++) {
        const char *v = argv[0];
        char ib[RT_ID_MAX];
        const char *id = full_id(c, !strcmp(v, "stopp") || !strcmp(v, "rmp"), argv[i], ib);
        int rc = !strcmp(v, "start")   ? o->start_container(c->rt, id, e)
                 : !strcmp(v, "stop")  ? o->stop_container(c->rt, id, timeout, e)
                 : !strcmp(v, "rm")    ? o->remove_container(c->rt, id, e)
                 : !strcmp(v, "stopp") ? o->stop_pod_sandbox(c->rt, id, e)
                                       : o->remove_pod_sandbox(c->rt, id, e);
        if (rc < 0)
            return -1;
        printf("%s\n", id);
    }
    return 0;
}

static const char *short_state(int s)
{
    static const char *const n[] = {"Created", "Running", "Exited", "Unknown"};
    return n[s & 3];
}

static void age_of(int64_t ns, char out[16])
{
    ck_time_age((ck_real_ns() - ns) / 1000000000, out);
}

static int cmd_ps(struct crt *c, int argc, char **argv, struct ck_err *e)
{
    bool all = false, q = false;
    const char *pod = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-a"))
            all = true;
        else if (!strcmp(argv[i], "-q"))
            q = true;
        else if (!strcmp(argv[i], "--pod") && i + 1 < argc)
            pod = argv[++i];
        else
            return ck_err_set(e, CK_R_BAD_REQUEST, "ps: unknown argument %s", argv[i]);
    }
    struct rt_container_filter f = {.sandbox_id = pod, .state = all ? -1 : RT_CONTAINER_RUNNING};
    struct rt_container_status *v;
    size_t n;
    if (open_rt(c, e) < 0 || c->rt->ops->list_containers(c->rt, &f, &v, &n, e) < 0)
        return -1;
    if (!q)
        printf("%-13s %-30s %-8s %-8s %-16s %-7s %-13s\n", "CONTAINER", "IMAGE", "CREATED", "STATE",
               "NAME", "ATTEMPT", "POD ID");
    for (size_t i = 0; i < n; i++) {
        char age[16];
        age_of(v[i].created_ns, age);
        if (q)
            printf("%s\n", v[i].id);
        else
            printf("%-13.13s %-30.30s %-8s %-8s %-16.16s %-7u %-13.13s\n", v[i].id, v[i].image, age,
                   short_state(v[i].state), v[i].name, v[i].attempt, v[i].sandbox_id);
    }
    rt_container_list_free(v, n);
    return 0;
}

static int cmd_pods(struct crt *c, int argc, char **argv, struct ck_err *e)
{
    bool q = argc > 1 && !strcmp(argv[1], "-q");
    struct rt_sandbox_status *v;
    size_t n;
    if (open_rt(c, e) < 0 || c->rt->ops->list_pod_sandboxes(c->rt, &v, &n, e) < 0)
        return -1;
    if (!q)
        printf("%-13s %-8s %-8s %-24s %-16s %-16s\n", "POD ID", "CREATED", "STATE", "NAME",
               "NAMESPACE", "IP");
    for (size_t i = 0; i < n; i++) {
        char age[16];
        age_of(v[i].created_ns, age);
        if (q)
            printf("%s\n", v[i].id);
        else
            printf("%-13.13s %-8s %-8s %-24.24s %-16.16s %-16s\n", v[i].id, age,
                   v[i].state == RT_SANDBOX_READY ? "Ready" : "NotReady", v[i].name,
                   v[i].namespace_, v[i].ip);
    }
    rt_sandbox_list_free(v, n);
    return 0;
}

static json_t *kv_json(const struct rt_kv *kv, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, kv[i].key, json_string(kv[i].value));
    return o;
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    free(s);
    json_decref(j);
}

static int cmd_inspect(struct crt *c, int argc, char **argv, struct ck_err *e)
{
    if (argc != 2)
        return ck_err_set(e, CK_R_BAD_REQUEST, "%s: an id is required", argv[0]);
    if (open_rt(c, e) < 0)
        return -1;
    if (!strcmp(argv[0], "inspectp")) {
        struct rt_sandbox_status s;
        char ib[RT_ID_MAX];
        if (c->rt->ops->pod_sandbox_status(c->rt, full_id(c, true, argv[1], ib), &s, e) < 0)
            return -1;
        print_json(json_pack(
            "{s:s, s:{s:s, s:s, s:s, s:i}, s:s, s:I, s:{s:s}, s:s, s:o, s:o}", "id", s.id,
            "metadata", "name", s.name, "namespace", s.namespace_, "uid", s.uid, "attempt",
            (int)s.attempt, "state", rt_sandbox_state_str(s.state), "createdAt",
            (json_int_t)s.created_ns, "network", "ip", s.ip, "netns", s.netns, "labels",
            kv_json(s.labels, s.nlabels), "annotations", kv_json(s.annotations, s.nannotations)));
        rt_sandbox_status_release(&s);
        return 0;
    }
    struct rt_container_status s;
    char ib[RT_ID_MAX];
    if (c->rt->ops->container_status(c->rt, full_id(c, false, argv[1], ib), &s, e) < 0)
        return -1;
    print_json(json_pack(
        "{s:s, s:s, s:{s:s, s:i}, s:s, s:s, s:s, s:I, s:I, s:I, s:i, s:s, s:s, "
        "s:i, s:s, s:o, s:o}",
        "id", s.id, "podSandboxId", s.sandbox_id, "metadata", "name", s.name, "attempt",
        (int)s.attempt, "state", rt_container_state_str(s.state), "image", s.image, "imageRef",
        s.image_id, "createdAt", (json_int_t)s.created_ns, "startedAt", (json_int_t)s.started_ns,
        "finishedAt", (json_int_t)s.finished_ns, "exitCode", s.exit_code, "reason", s.reason,
        "message", s.message, "pid", s.pid, "logPath", s.log_path, "labels",
        kv_json(s.labels, s.nlabels), "annotations", kv_json(s.annotations, s.nannotations)));
    rt_container_status_release(&s);
    return 0;
}

/* Prints the CRI records in [*off, EOF) of path; returns bytes consumed (whole lines). */
static void print_log_chunk(FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n') { /* incomplete: rewind, read it next round */
            fseek(f, -n, SEEK_CUR);
            break;
        }
        struct rt_log_record r;
        if (rt_log_parse_line(line, (size_t)n - 1, &r) < 0)
            continue;
        FILE *out = r.stream == RT_LOG_STDERR ? stderr : stdout;
        fwrite(r.msg, 1, r.msg_len, out);
        if (r.tag == 'F')
            fputc('\n', out);
    }
    free(line);
    fflush(stdout);
    fflush(stderr);
}

static int cmd_logs(struct crt *c, int argc, char **argv, struct ck_err *e)
{
    bool follow = argc == 3 && !strcmp(argv[1], "-f");
    if (argc != 2 && !follow)
        return ck_err_set(e, CK_R_BAD_REQUEST, "logs: usage: logs [-f] ID");
    char ib[RT_ID_MAX];
    const char *id = full_id(c, false, argv[argc - 1], ib);
    struct rt_container_status s;
    if (open_rt(c, e) < 0 || c->rt->ops->container_status(c->rt, id, &s, e) < 0)
        return -1;
    rt_container_status_release(&s);
    FILE *f = fopen(s.log_path, "re");
    if (!f)
        return ck_err_sys(e, errno, "open log %s", s.log_path);
    struct stat st0;
    fstat(fileno(f), &st0);
    for (;;) {
        print_log_chunk(f);
        if (!follow)
            break;
        if (c->rt->ops->container_status(c->rt, id, &s, e) < 0)
            break;
        rt_container_status_release(&s);
        struct stat st1;
        if (stat(s.log_path, &st1) == 0 && st1.st_ino != st0.st_ino) { /* rotated */
            print_log_chunk(f);
            fclose(f);
            if (!(f = fopen(s.log_path, "re")))
                return ck_err_sys(e, errno, "open log %s", s.log_path);
            fstat(fileno(f), &st0);
            continue;
        }
        if (s.state == RT_CONTAINER_EXITED || s.state == RT_CONTAINER_UNKNOWN) {
            print_log_chunk(f);
            break;
        }
        clearerr(f);
        usleep(100000);
    }
    fclose(f);
    return 0;
}

/* Copies between the caller's stdio and an exec session until the process output ends. */
static void pump_session(struct rt_exec_session *s, bool with_stdin)
{
    int in_fd = with_stdin ? 0 : -1;
    int outs[2] = {s->stdout_fd, s->stderr_fd};
    while (outs[0] >= 0 || outs[1] >= 0) {
        struct pollfd p[3] = {{outs[0], POLLIN, 0}, {outs[1], POLLIN, 0}, {in_fd, POLLIN, 0}};
        if (poll(p, 3, -1) < 0 && errno != EINTR)
            break;
        char buf[8192];
        for (int i = 0; i < 2; i++) {
            if (outs[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t k = read(outs[i], buf, sizeof(buf));
            if (k <= 0) {
                outs[i] = -1;
                continue;
            }
            (void)!write(i == 0 ? 1 : 2, buf, (size_t)k);
        }
        if (in_fd >= 0 && (p[2].revents & (POLLIN | POLLHUP))) {
            ssize_t k = read(in_fd, buf, sizeof(buf));
            if (k <= 0) {
                in_fd = -1;
                if (!s->tty && s->stdin_fd >= 0) {
                    close(s->stdin_fd);
                    s->stdin_fd = -1;
                } else if (s->tty) {
                    (void)!write(s->stdin_fd, "\x04", 1);
                }
            } else {
                (void)!write(s->stdin_fd, buf, (size_t)k);
            }
        }
    }
}

static int exec_stream(struct crt *c, const char *id, const char *const *cmd, bool tty,
                       bool interactive, struct ck_err *e)
{
    struct rt_exec_session s = {.pid = -1, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
    if (c->rt->ops->exec(c->rt, id, cmd, tty, interactive, &s, e) < 0)
        return -1;
    struct termios saved;
    bool raw = tty && interactive && isatty(0) && tcgetattr(0, &saved) == 0;
    if (raw) {
        struct termios t = saved;
        cfmakeraw(&t);
        tcsetattr(0, TCSANOW, &t);
    }
    pump_session(&s, interactive);
    if (raw)
        tcsetattr(0, TCSANOW, &saved);
    int code = 0;
    if (c->rt->ops->exec_wait(c->rt, &s, &code, e) < 0)
        return -1;
    return code;
}

static int cmd_exec(struct crt *c, int argc, char **argv, struct ck_err *e)
{
    bool tty = false, inter = false;
    int timeout = 0, i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-t"))
            tty = true;
        else if (!strcmp(argv[i], "-i"))
            inter = true;
        else if (!strcmp(argv[i], "-it") || !strcmp(argv[i], "-ti"))
            tty = inter = true;
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
            timeout = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--"))
            break;
        else
            return ck_err_set(e, CK_R_BAD_REQUEST, "exec: unknown flag %s", argv[i]);
    }
    if (i + 1 >= argc)
        return ck_err_set(e, CK_R_BAD_REQUEST, "exec: usage: exec [-i] [-t] ID CMD...");
    char ib[RT_ID_MAX];
    const char *id = full_id(c, false, argv[i], ib);
    const char *const *cmd = (const char *const *)&argv[i + 1];
    if (open_rt(c, e) < 0)
        return -1;
    if (tty || inter) {
        int code = exec_stream(c, id, cmd, tty, inter, e);
        return code < 0 ? -1 : code;
    }
    int code = 0;
    char *out = NULL, *er = NULL;
    size_t on = 0, en = 0;
    if (c->rt->ops->exec_sync(c->rt, id, cmd, timeout, &code, &out, &on, &er, &en, e) < 0) {
        free(out);
        free(er);
        return -1;
    }
    fwrite(out, 1, on, stdout);
    fwrite(er, 1, en, stderr);
    free(out);
    free(er);
    return code;
}

static int cmd_stats(struct crt *c, int argc, char **argv, struct ck_err *e)
{
    if (open_rt(c, e) < 0)
        return -1;
    struct rt_container_status *v = NULL;
    size_t n = 0;
    struct rt_container_filter f = {.state = RT_CONTAINER_RUNNING};
    if (argc < 2 && c->rt->ops->list_containers(c->rt, &f, &v, &n, e) < 0)
        return -1;
    printf("%-13s %-16s %-12s %-12s %-6s\n", "CONTAINER", "NAME", "CPU(ns)", "MEM(ws)", "PIDS");
    size_t total = argc >= 2 ? (size_t)argc - 1 : n;
    for (size_t i = 0; i < total; i++) {
        const char *id = argc >= 2 ? argv[i + 1] : v[i].id;
        struct rt_stats st;
        if (c->rt->ops->container_stats(c->rt, id, &st, e) < 0) {
            rt_container_list_free(v, n);
            return -1;
        }
        printf("%-13.13s %-16.16s %-12llu %-12llu %-6llu\n", id, argc >= 2 ? "" : v[i].name,
               (unsigned long long)st.cpu_usage_ns, (unsigned long long)st.memory_working_set_bytes,
               (unsigned long long)st.pids);
    }
    rt_container_list_free(v, n);
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int bench_pick_image(struct crt *c, const char *image, char *out, size_t n, struct ck_err *e)
{
    if (image) {
        snprintf(out, n, "%s", image);
        return 0;
    }
    struct img_info *v;
    size_t k;
    if (open_img(c, e) < 0 || img_list(c->img, &v, &k, e) < 0)
        return -1;
    if (k == 0) {
        img_info_free(v, k);
        return ck_err_set(e, CK_R_NOT_FOUND, "bench: no image pulled; use --image REF");
    }
    snprintf(out, n, "%s", v[0].id);
    img_info_free(v, k);
    return 0;
}

static int bench_round(struct crt *c, const char *pod, const char *image, int64_t *ms,
                       struct ck_err *e)
{
    const char *cmd[] = {"sleep", "3600", NULL};
    struct rt_container_config cc = {
        .name = "bench", .image = image, .command = cmd, .run_as_user = -1};
    char id[RT_ID_MAX];
    int64_t t0 = ck_mono_ns();
    if (c->rt->ops->create_container(c->rt, pod, &cc, id, e) < 0)
        return -1;
    int rc = c->rt->ops->start_container(c->rt, id, e);
    *ms = (ck_mono_ns() - t0) / 1000;
    struct ck_err e2 = CK_ERR_INIT;
    c->rt->ops->remove_container(c->rt, id, &e2);
    return rc;
}

static int cmd_bench(struct crt *c, int argc, char **argv, struct ck_err *e)
{
    const char *image = NULL;
    int n = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--image") && i + 1 < argc)
            image = argv[++i];
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            n = atoi(argv[++i]);
        else
            return ck_err_set(e, CK_R_BAD_REQUEST, "bench: unknown argument %s", argv[i]);
    }
    if (n < 1 || n > 1000)
        return ck_err_set(e, CK_R_BAD_REQUEST, "bench: -n must be 1..1000");
    char img[512];
    if (bench_pick_image(c, image, img, sizeof(img), e) < 0 || open_rt(c, e) < 0)
        return -1;
    char uid[40];
    snprintf(uid, sizeof(uid), "bench-%d", (int)getpid());
    struct rt_sandbox_config sc = {.name = "crt-bench", .namespace_ = "bench", .uid = uid};
    char pod[RT_ID_MAX];
    if (c->rt->ops->run_pod_sandbox(c->rt, &sc, pod, e) < 0)
        return -1;
    int64_t *us = ck_calloc((size_t)n, sizeof(int64_t));
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        rc = bench_round(c, pod, img, &us[i], e);
        if (rc == 0)
            printf("round %d: %.1f ms\n", i + 1, (double)us[i] / 1000.0);
    }
    struct ck_err e2 = CK_ERR_INIT;
    c->rt->ops->remove_pod_sandbox(c->rt, pod, &e2);
    if (rc == 0) {
        qsort(us, (size_t)n, sizeof(int64_t), cmp_i64);
        double med = n % 2 ? (double)us[n / 2] : (double)(us[n / 2 - 1] + us[n / 2]) / 2.0;
        printf("bench crt_start_ms %.1f ms\n", med / 1000.0);
    }
    free(us);
    return rc;
}

/* ---- dispatch ----------------------------------------------------------------------------- */

struct crt_verb {
    const char *name;
    int (*fn)(struct crt *c, int argc, char **argv, struct ck_err *e);
};

static const struct crt_verb verbs[] = {
    {"pull", cmd_pull},        {"images", cmd_images}, {"rmi", cmd_rmi},
    {"import", cmd_import},    {"runp", cmd_runp},     {"pods", cmd_pods},
    {"inspectp", cmd_inspect}, {"stopp", cmd_simple},  {"rmp", cmd_simple},
    {"create", cmd_create},    {"run", cmd_create},    {"start", cmd_simple},
    {"stop", cmd_simple},      {"rm", cmd_simple},     {"ps", cmd_ps},
    {"inspect", cmd_inspect},  {"logs", cmd_logs},     {"exec", cmd_exec},
    {"stats", cmd_stats},      {"bench", cmd_bench},
};

static int cmd_crt(int argc, char **argv)
{
    struct crt c = {.root = "/var/lib/ckube/runtime"};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(crt_usage, stdout);
            return 0;
        }
        if (ck_log_parse_flag(argc, argv, &i))
            continue;
        if (i + 1 >= argc) {
            fputs(crt_usage, stderr);
            return 2;
        }
        if (!strcmp(argv[i], "--root"))
            c.root = argv[++i];
        else if (!strcmp(argv[i], "--image-root"))
            c.image_root = argv[++i];
        else if (!strcmp(argv[i], "--cni-conf"))
            c.cni_conf = argv[++i];
        else {
            fprintf(stderr, "ckube crt: unknown flag %s\n", argv[i]);
            return 2;
        }
    }
    if (i >= argc) {
        fputs(crt_usage, stderr);
        return 2;
    }
    char *img_default = c.image_root ? NULL : ck_asprintf("%s/images", c.root);
    if (!c.image_root)
        c.image_root = img_default;
    int rc = -2;
    struct ck_err e = CK_ERR_INIT;
    for (size_t k = 0; k < sizeof(verbs) / sizeof(verbs[0]); k++)
        if (!strcmp(verbs[k].name, argv[i]))
            rc = verbs[k].fn(&c, argc - i, argv + i, &e);
    if (rc == -2) {
        fprintf(stderr, "ckube crt: unknown command %s\n\n%s", argv[i], crt_usage);
        rc = 2;
    } else if (rc < 0) {
        rc = fail(&e);
    }
    rt_close(c.rt);
    if (c.img)
        img_store_close(c.img);
    free(img_default);
    return rc;
}

CK_CMD(crt, "crt", cmd_crt, "crictl-like client of the node container runtime (crun)");

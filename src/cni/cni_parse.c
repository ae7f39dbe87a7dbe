/* SPDX-License-Identifier: Apache-2.0 */
/* CNI parsing: plugin results (strictly validated; error objects become ck_err) and
 * network configuration lists. Pure functions, no I/O except cni_net_load_file. */
#include "cni/cni_int.h"
#include "lib/buf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define CNI_DOC_MAX (1 << 20)

static int copy_str(struct ck_err *err, const char *field, json_t *v, char *dst, size_t dstsz,
                    bool required)
{
    if (!v) {
        if (required)
            return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: missing %s", field);
        dst[0] = 0;
        return 0;
    }
    if (!json_is_string(v))
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: %s must be a string", field);
    size_t n = json_string_length(v);
    if (n >= dstsz)
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: %s too long", field);
    const char *s = json_string_value(v);
    if (memchr(s, 0, n))
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: %s contains NUL", field);
    memcpy(dst, s, n);
    dst[n] = 0;
    return 0;
}

/* Validates "addr/prefix"; returns the family (4/6) or -1. */
int cni_parse_cidr(const char *s, int *family)
{
    const char *slash = strchr(s, '/');
    if (!slash || slash == s || slash - s >= 48)
        return -1;
    char a[48];
    memcpy(a, s, (size_t)(slash - s));
    a[slash - s] = 0;
    unsigned char buf[16];
    int fam = 0, maxp = 0;
    if (inet_pton(AF_INET, a, buf) == 1) {
        fam = 4;
        maxp = 32;
    } else if (inet_pton(AF_INET6, a, buf) == 1) {
        fam = 6;
        maxp = 128;
    } else {
        return -1;
    }
    const char *p = slash + 1;
    if (!*p || strlen(p) > 3)
        return -1;
    int pl = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        pl = pl * 10 + (*p - '0');
    }
    if (pl > maxp)
        return -1;
    *family = fam;
    return 0;
}

static int valid_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int parse_error_obj(json_t *root, struct ck_err *err)
{
    json_t *code = json_object_get(root, "code");
    const char *msg = json_string_value(json_object_get(root, "msg"));
    const char *details = json_string_value(json_object_get(root, "details"));
    long long c = json_is_integer(code) ? json_integer_value(code) : -1;
    enum ck_reason r = (c == 11) ? CK_R_SERVICE_UNAVAILABLE : CK_R_INTERNAL; /* 11: try later */
    return ck_err_set(err, r, "cni plugin error %lld: %.300s%s%.300s", c, msg ? msg : "(no msg)",
                      details && *details ? ": " : "", details ? details : "");
}

static int parse_ifaces(json_t *arr, struct cni_result *out, struct ck_err *err)
{
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: interfaces must be an array");
    if (json_array_size(arr) > CNI_MAX_IFACES)
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: too many interfaces");
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it) {
        struct cni_iface *f = &out->ifaces[i];
        if (!json_is_object(it))
            return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: interfaces[%zu] not an object", i);
        if (copy_str(err, "interfaces[].name", json_object_get(it, "name"), f->name,
                     sizeof(f->name), true) < 0 ||
            copy_str(err, "interfaces[].mac", json_object_get(it, "mac"), f->mac, sizeof(f->mac),
                     false) < 0 ||
            copy_str(err, "interfaces[].sandbox", json_object_get(it, "sandbox"), f->sandbox,
                     sizeof(f->sandbox), false) < 0)
            return -1;
        if (!f->name[0])
            return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: interfaces[%zu].name empty", i);
        out->nifaces++;
    }
    return 0;
}

static int parse_one_ip(json_t *it, size_t i, struct cni_result *out, struct ck_err *err)
{
    struct cni_ip *ip = &out->ips[i];
    if (!json_is_object(it))
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: ips[%zu] not an object", i);
    if (copy_str(err, "ips[].address", json_object_get(it, "address"), ip->address,
                 sizeof(ip->address), true) < 0 ||
        copy_str(err, "ips[].gateway", json_object_get(it, "gateway"), ip->gateway,
                 sizeof(ip->gateway), false) < 0)
        return -1;
    if (cni_parse_cidr(ip->address, &ip->family) < 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: ips[%zu].address %.64s is not a CIDR",
                          i, ip->address);
    if (ip->gateway[0] && !valid_ip(ip->gateway))
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: ips[%zu].gateway is not an IP", i);
    json_t *ver = json_object_get(it, "version"); /* 0.3.x/0.4.0 only */
    if (ver) {
        const char *v = json_string_value(ver);
        if (!v || (strcmp(v, "4") && strcmp(v, "6")) || (v[0] - '0') != ip->family)
            return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: ips[%zu].version mismatch", i);
    }
    json_t *ifc = json_object_get(it, "interface");
    ip->iface = -1;
    if (ifc) {
        if (!json_is_integer(ifc) || json_integer_value(ifc) < 0 ||
            (size_t)json_integer_value(ifc) >= out->nifaces)
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "cni result: ips[%zu].interface out of range", i);
        ip->iface = (int)json_integer_value(ifc);
    }
    out->nips++;
    return 0;
}

static int parse_ips(json_t *arr, struct cni_result *out, struct ck_err *err)
{
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: ips must be an array");
    if (json_array_size(arr) > CNI_MAX_IPS)
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: too many ips");
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it) {
        if (parse_one_ip(it, i, out, err) < 0)
            return -1;
    }
    return 0;
}

static int parse_routes(json_t *arr, struct cni_result *out, struct ck_err *err)
{
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: routes must be an array");
    if (json_array_size(arr) > CNI_MAX_ROUTES)
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: too many routes");
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it) {
        struct cni_route *r = &out->routes[i];
        int fam;
        if (!json_is_object(it))
            return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: routes[%zu] not an object", i);
        if (copy_str(err, "routes[].dst", json_object_get(it, "dst"), r->dst, sizeof(r->dst),
                     true) < 0 ||
            copy_str(err, "routes[].gw", json_object_get(it, "gw"), r->gw, sizeof(r->gw), false) < 0)
            return -1;
        if (cni_parse_cidr(r->dst, &fam) < 0)
            return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: routes[%zu].dst not a CIDR", i);
        if (r->gw[0] && !valid_ip(r->gw))
            return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: routes[%zu].gw not an IP", i);
        out->nroutes++;
    }
    return 0;
}

int cni_result_from_json(json_t *root, struct cni_result *out, struct ck_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(root))
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: not a JSON object");
    if (json_object_get(root, "code") || json_object_get(root, "msg"))
        return parse_error_obj(root, err);
    if (copy_str(err, "cniVersion", json_object_get(root, "cniVersion"), out->cni_version,
                 sizeof(out->cni_version), true) < 0)
        return -1;
    if (parse_ifaces(json_object_get(root, "interfaces"), out, err) < 0 ||
        parse_ips(json_object_get(root, "ips"), out, err) < 0 ||
        parse_routes(json_object_get(root, "routes"), out, err) < 0)
        return -1;
    json_t *dns = json_object_get(root, "dns");
    if (dns && !json_is_object(dns))
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: dns must be an object");
    return 0;
}

int cni_result_parse(const char *json, size_t len, struct cni_result *out, struct ck_err *err)
{
    memset(out, 0, sizeof(*out));
    if (len == 0 || len > CNI_DOC_MAX)
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: empty or larger than 1 MiB");
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni result: invalid JSON: %.200s", je.text);
    int rc = cni_result_from_json(root, out, err);
    json_decref(root);
    return rc;
}

void cni_result_first_ip(const struct cni_result *r, int family, char *out, size_t outsz)
{
    out[0] = 0;
    for (size_t i = 0; i < r->nips; i++) {
        if (family && r->ips[i].family != family)
            continue;
        const char *a = r->ips[i].address;
        size_t n = strcspn(a, "/");
        if (n >= outsz)
            n = outsz - 1;
        memcpy(out, a, n);
        out[n] = 0;
        return;
    }
}

/* ---- conflists ------------------------------------------------------------------------ */

static int valid_name(const char *s)
{
    if (!*s || strlen(s) > 128)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

static int check_plugin(json_t *p, size_t i, struct ck_err *err)
{
    if (!json_is_object(p))
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni config: plugins[%zu] not an object", i);
    const char *type = json_string_value(json_object_get(p, "type"));
    if (!type || !valid_name(type))
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "cni config: plugins[%zu].type missing or not a plain file name", i);
    json_t *caps = json_object_get(p, "capabilities");
    if (caps && !json_is_object(caps))
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "cni config: plugins[%zu].capabilities must be an object", i);
    return 0;
}

int cni_net_from_json(json_t *root, struct cni_net **out, struct ck_err *err)
{
    if (!json_is_object(root))
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni config: not a JSON object");
    const char *name = json_string_value(json_object_get(root, "name"));
    const char *ver = json_string_value(json_object_get(root, "cniVersion"));
    if (!name || !valid_name(name))
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni config: missing or invalid \"name\"");
    if (!ver || strlen(ver) >= 16 || !*ver)
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni config: missing \"cniVersion\"");
    json_t *plugins = json_object_get(root, "plugins");
    json_t *list;
    if (plugins) {
        if (!json_is_array(plugins) || json_array_size(plugins) == 0)
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "cni config: \"plugins\" must be a non-empty array");
        if (json_array_size(plugins) > CNI_MAX_PLUGINS)
            return ck_err_set(err, CK_R_BAD_REQUEST, "cni config: too many plugins");
        list = json_incref(plugins);
    } else { /* a single-plugin .conf */
        list = json_array();
        json_array_append(list, root);
    }
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) {
        if (check_plugin(p, i, err) < 0) {
            json_decref(list);
            return -1;
        }
    }
    struct cni_net *n = ck_calloc(1, sizeof(*n));
    snprintf(n->name, sizeof(n->name), "%s", name);
    snprintf(n->version, sizeof(n->version), "%s", ver);
    n->plugins = list;
    n->raw = json_incref(root);
    *out = n;
    return 0;
}

int cni_net_parse(const char *json, size_t len, struct cni_net **out, struct ck_err *err)
{
    *out = NULL;
    if (len == 0 || len > CNI_DOC_MAX)
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni config: empty or larger than 1 MiB");
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return ck_err_set(err, CK_R_BAD_REQUEST, "cni config: invalid JSON at line %d: %.200s",
                          je.line, je.text);
    int rc = cni_net_from_json(root, out, err);
    json_decref(root);
    return rc;
}

int cni_net_load_file(const char *path, struct cni_net **out, struct ck_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "re");
    if (!f)
        return ck_err_sys(err, errno, "cni config %s", path);
    struct ck_buf b = CK_BUF_INIT(CNI_DOC_MAX);
    char tmp[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        if (ck_buf_append(&b, tmp, n) < 0) {
            rc = ck_err_set(err, CK_R_BAD_REQUEST, "cni config %s: larger than 1 MiB", path);
            break;
        }
    fclose(f);
    if (rc == 0 && (rc = cni_net_parse(b.data ? b.data : "", b.len, out, err)) < 0)
        ck_err_wrap(err, "%s", path);
    ck_buf_release(&b);
    return rc;
}

void cni_net_free(struct cni_net *net)
{
    if (!net)
        return;
    json_decref(net->plugins);
    json_decref(net->raw);
    free(net);
}

const char *cni_net_name(const struct cni_net *net)
{
    return net->name;
}

size_t cni_net_nplugins(const struct cni_net *net)
{
    return json_array_size(net->plugins);
}

const char *cni_net_plugin_type(const struct cni_net *net, size_t i)
{
    return json_string_value(json_object_get(json_array_get(net->plugins, i), "type"));
}

char *cni_default_conflist(const struct cni_default_opts *o)
{
    const char *name = o && o->name ? o->name : "ckube";
    const char *br = o && o->bridge ? o->bridge : "ckube0";
    const char *subnet = o && o->subnet ? o->subnet : "10.88.0.0/16";
    char gw[48];
    if (o && o->gateway) {
        snprintf(gw, sizeof(gw), "%s", o->gateway);
    } else { /* first host of an IPv4 subnet */
        struct in_addr a;
        char net[48];
        snprintf(net, sizeof(net), "%.*s", (int)strcspn(subnet, "/"), subnet);
        if (inet_pton(AF_INET, net, &a) == 1) {
            a.s_addr = htonl(ntohl(a.s_addr) + 1);
            inet_ntop(AF_INET, &a, gw, sizeof(gw));
        } else {
            gw[0] = 0;
        }
    }
    json_t *ipam = json_pack("{s:s, s:[[{s:s, s:s}]], s:[{s:s}]}", "type", "host-local", "ranges",
                             "subnet", subnet, "gateway", gw, "routes", "dst", "0.0.0.0/0");
    if (o && o->data_dir)
        json_object_set_new(ipam, "dataDir", json_string(o->data_dir));
    json_t *root =
        json_pack("{s:s, s:s, s:[{s:s, s:s, s:b, s:b, s:b, s:o}, {s:s, s:{s:b}, s:b}]}",
                  "cniVersion", "1.0.0", "name", name, "plugins", "type", "bridge", "bridge", br,
                  "isGateway", 1, "ipMasq", !(o && o->no_ip_masq), "hairpinMode", 1, "ipam", ipam,
                  "type", "portmap", "capabilities", "portMappings", 1, "snat", 1);
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    char *r = ck_strdup(s);
    free(s);
    return r;
}

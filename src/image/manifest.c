/* SPDX-License-Identifier: Apache-2.0 */
/* Manifest kinds (OCI manifest/index, Docker v2s2/list), platform selection from an index,
 * image manifest and image config parsing. Pure functions of their input: the fuzz target
 * fuzz_image_manifest drives all of them. */
#include "image/image_int.h"

#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_V2S2 "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

const char img_accept_manifests[] =
    MT_OCI_INDEX ", " MT_DOCKER_LIST ", " MT_OCI_MANIFEST ", " MT_DOCKER_V2S2;

enum img_mt img_media_type_kind(const char *mt)
{
    if (!mt)
        return IMG_MT_UNKNOWN;
    size_t n = strcspn(mt, "; \t");
    static const struct {
        const char *s;
        enum img_mt k;
    } tab[] = {
        {MT_OCI_MANIFEST, IMG_MT_OCI_MANIFEST},
        {MT_OCI_INDEX, IMG_MT_OCI_INDEX},
        {MT_DOCKER_V2S2, IMG_MT_DOCKER_V2S2},
        {MT_DOCKER_LIST, IMG_MT_DOCKER_LIST},
        {"application/vnd.docker.distribution.manifest.v1+json", IMG_MT_DOCKER_V1},
        {"application/vnd.docker.distribution.manifest.v1+prettyjws", IMG_MT_DOCKER_V1},
    };
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
        if (strlen(tab[i].s) == n && strncmp(mt, tab[i].s, n) == 0)
            return tab[i].k;
    return IMG_MT_UNKNOWN;
}

static json_t *load_obj(const char *body, size_t len, const char *what, struct ck_err *err)
{
    json_error_t je;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        ck_err_set(err, CK_R_CORRUPT, "%s is not a JSON object%s%s", what, j ? "" : ": ",
                   j ? "" : je.text);
        return NULL;
    }
    return j;
}

int img_manifest_kind(const char *body, size_t len, const char *content_type, enum img_mt *kind,
                      struct ck_err *err)
{
    json_t *j = load_obj(body, len, "manifest", err);
    if (!j)
        return -1;
    const char *mt = json_string_value(json_object_get(j, "mediaType"));
    enum img_mt k = img_media_type_kind(mt);
    if (k == IMG_MT_UNKNOWN && !mt)
        k = img_media_type_kind(content_type);
    if (k == IMG_MT_UNKNOWN && !mt) {
        if (json_is_array(json_object_get(j, "manifests")))
            k = IMG_MT_OCI_INDEX;
        else if (json_is_object(json_object_get(j, "config")) &&
                 json_is_array(json_object_get(j, "layers")))
            k = IMG_MT_OCI_MANIFEST;
        else if (json_object_get(j, "fsLayers"))
            k = IMG_MT_DOCKER_V1;
    }
    char shown[128];
    snprintf(shown, sizeof(shown), "%s", mt ? mt : content_type ? content_type : "(none)");
    json_decref(j);
    if (k == IMG_MT_UNKNOWN)
        return ck_err_set(err, CK_R_UNSUPPORTED_MEDIA, "unsupported manifest media type \"%s\"",
                          shown);
    if (k == IMG_MT_DOCKER_V1)
        return ck_err_set(err, CK_R_UNSUPPORTED_MEDIA,
                          "Docker image manifest schema 1 is not supported");
    *kind = k;
    return 0;
}

/* Fills d from a descriptor object; -1 when digest/size are missing or malformed. */
static int desc_from(json_t *o, struct img_desc *d)
{
    memset(d, 0, sizeof(*d));
    const char *dg = json_string_value(json_object_get(o, "digest"));
    json_t *sz = json_object_get(o, "size");
    const char *mt = json_string_value(json_object_get(o, "mediaType"));
    if (!img_digest_valid(dg) || !json_is_integer(sz) || json_integer_value(sz) < 0)
        return -1;
    memcpy(d->digest, dg, IMG_ID_MAX - 1);
    d->size = json_integer_value(sz);
    if (mt)
        snprintf(d->media_type, sizeof(d->media_type), "%s", mt);
    return 0;
}

static bool platform_match(json_t *e, const char *os, const char *arch)
{
    json_t *p = json_object_get(e, "platform");
    const char *pos = json_string_value(json_object_get(p, "os"));
    const char *par = json_string_value(json_object_get(p, "architecture"));
    return pos && par && strcmp(pos, os) == 0 && strcmp(par, arch) == 0;
}

static bool ref_name_match(json_t *e, const char *ref_name)
{
    json_t *a = json_object_get(e, "annotations");
    const char *n = json_string_value(json_object_get(a, "org.opencontainers.image.ref.name"));
    return n && ref_name && strcmp(n, ref_name) == 0;
}

int img_index_select(const char *body, size_t len, const char *os, const char *arch,
                     const char *ref_name, struct img_desc *out, struct ck_err *err)
{
    json_t *j = load_obj(body, len, "image index", err);
    if (!j)
        return -1;
    json_t *ms = json_object_get(j, "manifests");
    size_t n = json_array_size(ms);
    json_t *pick = NULL;
    for (size_t i = 0; ref_name && !pick && i < n; i++)
        if (ref_name_match(json_array_get(ms, i), ref_name))
            pick = json_array_get(ms, i);
    if (!pick && n == 1 && (ref_name || !json_object_get(json_array_get(ms, 0), "platform")))
        pick = json_array_get(ms, 0);
    for (size_t i = 0; !pick && i < n; i++)
        if (platform_match(json_array_get(ms, i), os, arch))
            pick = json_array_get(ms, i);
    int rc;
    if (!json_is_array(ms))
        rc = ck_err_set(err, CK_R_CORRUPT, "image index has no manifests array");
    else if (!pick)
        rc = ck_err_set(err, CK_R_NOT_FOUND, "no manifest for platform %s/%s in image index", os,
                        arch);
    else if (desc_from(pick, out) < 0)
        rc = ck_err_set(err, CK_R_CORRUPT, "image index entry has an invalid digest or size");
    else
        rc = 0;
    json_decref(j);
    return rc;
}

static bool layer_type_ok(const char *mt)
{
    /* OCI tar, tar+gzip, tar+zstd (incl. non-distributable), Docker rootfs.diff.tar.gzip */
    if (!*mt)
        return true;
    return strstr(mt, "layer.v1.tar") || strstr(mt, "layer.nondistributable.v1.tar") ||
           strstr(mt, "rootfs.diff.tar") || strstr(mt, "rootfs.foreign.diff.tar");
}

int img_manifest_parse(const char *body, size_t len, struct img_manifest *m, struct ck_err *err)
{
    memset(m, 0, sizeof(*m));
    json_t *j = load_obj(body, len, "image manifest", err);
    if (!j)
        return -1;
    json_t *layers = json_object_get(j, "layers");
    int rc = 0;
    if (desc_from(json_object_get(j, "config"), &m->config) < 0)
        rc = ck_err_set(err, CK_R_CORRUPT, "image manifest: config descriptor invalid");
    else if (!json_is_array(layers) || json_array_size(layers) > IMG_MAX_LAYERS)
        rc = ck_err_set(err, CK_R_CORRUPT, "image manifest: layers must be an array of at most %d",
                        IMG_MAX_LAYERS);
    if (rc == 0) {
        m->nlayers = json_array_size(layers);
        m->layers = ck_calloc(m->nlayers ? m->nlayers : 1, sizeof(*m->layers));
    }
    for (size_t i = 0; rc == 0 && i < m->nlayers; i++) {
        if (desc_from(json_array_get(layers, i), &m->layers[i]) < 0)
            rc = ck_err_set(err, CK_R_CORRUPT, "image manifest: layer %zu descriptor invalid", i);
        else if (!layer_type_ok(m->layers[i].media_type))
            rc = ck_err_set(err, CK_R_UNSUPPORTED_MEDIA, "layer %zu: unsupported media type %s", i,
                            m->layers[i].media_type);
    }
    json_decref(j);
    if (rc < 0)
        img_manifest_release(m);
    return rc;
}

void img_manifest_release(struct img_manifest *m)
{
    free(m->layers);
    memset(m, 0, sizeof(*m));
}

/* A JSON array of strings (or null/absent) into a NULL-terminated vector; -1 if malformed. */
static int strv_from(json_t *a, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return -1;
    size_t len = json_array_size(a);
    char **v = ck_calloc(len + 1, sizeof(char *));
    for (size_t i = 0; i < len; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s) {
            img_strv_free(v);
            return -1;
        }
        v[i] = ck_strdup(s);
    }
    *out = v;
    *n = len;
    return 0;
}

static char *opt_str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? ck_strdup(s) : NULL;
}

static int config_fields(json_t *c, struct img_config *cfg)
{
    if (c && !json_is_null(c) && !json_is_object(c))
        return -1;
    if (strv_from(json_object_get(c, "Entrypoint"), &cfg->entrypoint, &cfg->nentrypoint) < 0 ||
        strv_from(json_object_get(c, "Cmd"), &cfg->cmd, &cfg->ncmd) < 0 ||
        strv_from(json_object_get(c, "Env"), &cfg->env, &cfg->nenv) < 0)
        return -1;
    cfg->working_dir = opt_str(c, "WorkingDir");
    cfg->user = opt_str(c, "User");
    cfg->stop_signal = opt_str(c, "StopSignal");
    json_t *ports = json_object_get(c, "ExposedPorts");
    if (json_is_object(ports) && json_object_size(ports) > 0) {
        cfg->exposed_ports = ck_calloc(json_object_size(ports) + 1, sizeof(char *));
        const char *k;
        json_t *v;
        json_object_foreach(ports, k, v) cfg->exposed_ports[cfg->nexposed_ports++] = ck_strdup(k);
    }
    return 0;
}

int img_config_parse(const char *body, size_t len, struct img_config *cfg, char ***diff_ids,
                     size_t *ndiff, struct ck_err *err)
{
    json_t *j = load_obj(body, len, "image config", err);
    if (!j)
        return -1;
    struct img_config tmp = {0};
    char **ids = NULL;
    size_t nids = 0;
    int rc = 0;
    json_t *rootfs = json_object_get(j, "rootfs");
    if (strv_from(json_object_get(rootfs, "diff_ids"), &ids, &nids) < 0 ||
        !json_is_array(json_object_get(rootfs, "diff_ids")))
        rc = ck_err_set(err, CK_R_CORRUPT, "image config: rootfs.diff_ids missing or invalid");
    for (size_t i = 0; rc == 0 && i < nids; i++)
        if (!img_digest_valid(ids[i]))
            rc = ck_err_set(err, CK_R_CORRUPT, "image config: diff_id %zu is not a sha256 digest",
                            i);
    if (rc == 0 && config_fields(json_object_get(j, "config"), &tmp) < 0)
        rc = ck_err_set(err, CK_R_CORRUPT, "image config: malformed config section");
    json_decref(j);
    if (rc < 0) {
        img_strv_free(ids);
        img_config_release(&tmp);
        return -1;
    }
    if (cfg)
        *cfg = tmp;
    else
        img_config_release(&tmp);
    if (diff_ids) {
        *diff_ids = ids ? ids : ck_calloc(1, sizeof(char *));
        *ndiff = nids;
    } else {
        img_strv_free(ids);
    }
    return 0;
}

const char *img_host_arch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__i386__)
    return "386";
#elif defined(__arm__)
    return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return "ppc64le";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#else
    return "unknown";
#endif
}

/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: image manifests, indexes, configs, pull-secret configs, references and auth
 * challenges.
 * Input: byte 0 picks the Content-Type the "registry" sent; the rest is the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_int.h"

static const char *const ctypes[] = {
    NULL,
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json; charset=utf-8",
    "application/octet-stream",
};

static void run_config(const char *body, size_t len)
{
    struct img_config cfg;
    char **ids = NULL;
    size_t n = 0;
    struct ck_err err = CK_ERR_INIT;
    if (img_config_parse(body, len, &cfg, &ids, &n, &err) < 0)
        return;
    char *cmd[] = {"/bin/true"};
    char **argv = NULL;
    size_t argc = 0;
    if (img_merge_command(&cfg, NULL, 0, NULL, 0, &argv, &argc, &err) == 0)
        img_strv_free(argv);
    if (img_merge_command(&cfg, cmd, 1, NULL, 0, &argv, &argc, &err) == 0)
        img_strv_free(argv);
    img_config_release(&cfg);
    img_strv_free(ids);
}

static void run_strings(const char *body, size_t len)
{
    if (len > 2048)
        return;
    char *s = ck_strndup(body, len);
    struct img_ref r;
    if (img_ref_parse(s, &r, NULL) == 0) {
        char *a = img_ref_string(&r), *b = img_ref_name(&r);
        free(a);
        free(b);
        img_ref_release(&r);
    }
    char *scheme, *realm, *service, *scope;
    if (img_auth_parse(s, &scheme, &realm, &service, &scope) == 0) {
        free(scheme);
        free(realm);
        free(service);
        free(scope);
    }
    (void)img_digest_valid(s);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *ct = ctypes[data[0] % (sizeof(ctypes) / sizeof(ctypes[0]))];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    struct ck_err err = CK_ERR_INIT;
    enum img_mt kind;
    if (img_manifest_kind(body, len, ct, &kind, &err) == 0) {
        struct img_desc d;
        struct img_manifest m;
        if (kind == IMG_MT_OCI_INDEX || kind == IMG_MT_DOCKER_LIST) {
            (void)img_index_select(body, len, "linux", "amd64", NULL, &d, &err);
            (void)img_index_select(body, len, "linux", "arm64", "v1", &d, &err);
        } else if (img_manifest_parse(body, len, &m, &err) == 0) {
            img_manifest_release(&m);
        }
    }
    run_config(body, len);
    char *u, *p;
    if (img_auth_lookup(body, len, "reg.example.com/team/app:1", &u, &p, &err) == 1) {
        free(u);
        free(p);
    }
    run_strings(body, len);
    return 0;
}

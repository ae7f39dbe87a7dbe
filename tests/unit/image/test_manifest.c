/* SPDX-License-Identifier: Apache-2.0 */
/* Manifest kind detection (mediaType, Content-Type, shape), platform selection from OCI
 * indexes and Docker manifest lists, manifest/config parsing, Kubernetes' command/args merge,
 * WWW-Authenticate parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "image/image_int.h"

#define H(c)                                                                                       \
    "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
        c c c c c c c c c c c c c c c c c c c c c c

static int kind_of(const char *body, const char *ctype, enum img_mt *k, struct ck_err *err)
{
    return img_manifest_kind(body, strlen(body), ctype, k, err);
}

static void test_kind(void **state)
{
    (void)state;
    enum img_mt k;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(
        kind_of("{\"mediaType\":\"application/vnd.oci.image.index.v1+json\"}", NULL, &k, &err), 0);
    assert_int_equal(k, IMG_MT_OCI_INDEX);
    /* no mediaType (umoci): trust Content-Type, parameters ignored */
    assert_int_equal(kind_of("{\"schemaVersion\":2}",
                             "application/vnd.oci.image.manifest.v1+json; charset=utf-8", &k, &err),
                     0);
    assert_int_equal(k, IMG_MT_OCI_MANIFEST);
    assert_int_equal(kind_of("{\"schemaVersion\":2}",
                             "application/vnd.docker.distribution.manifest.list.v2+json", &k, &err),
                     0);
    assert_int_equal(k, IMG_MT_DOCKER_LIST);
    /* neither: the shape decides */
    assert_int_equal(kind_of("{\"manifests\":[]}", "application/octet-stream", &k, &err), 0);
    assert_int_equal(k, IMG_MT_OCI_INDEX);
    assert_int_equal(kind_of("{\"config\":{},\"layers\":[]}", NULL, &k, &err), 0);
    assert_int_equal(k, IMG_MT_OCI_MANIFEST);
    /* the body's mediaType wins over Content-Type */
    assert_int_equal(
        kind_of("{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\"}",
                "application/vnd.oci.image.index.v1+json", &k, &err),
        0);
    assert_int_equal(k, IMG_MT_DOCKER_V2S2);
    assert_int_equal(kind_of("{\"schemaVersion\":1,\"fsLayers\":[]}",
                             "application/vnd.docker.distribution.manifest.v1+prettyjws", &k, &err),
                     -1);
    assert_int_equal(err.reason, CK_R_UNSUPPORTED_MEDIA);
    assert_int_equal(kind_of("{\"mediaType\":\"text/html\"}", NULL, &k, &err), -1);
    assert_int_equal(err.reason, CK_R_UNSUPPORTED_MEDIA);
    assert_int_equal(kind_of("[1,2]", NULL, &k, &err), -1);
    assert_int_equal(err.reason, CK_R_CORRUPT);
    assert_int_equal(kind_of("{\"a\":1,\"a\":2}", NULL, &k, &err), -1);
    assert_int_equal(kind_of("not json", NULL, &k, &err), -1);
    assert_int_equal(err.reason, CK_R_CORRUPT);
}

static const char list[] =
    "{\"schemaVersion\":2,\"mediaType\":\"application/"
    "vnd.docker.distribution.manifest.list.v2+json\","
    "\"manifests\":["
    "{\"digest\":\"" H(
        "a") "\",\"size\":10,\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":"
             "\"v7\"}},"
             "{\"digest\":\"" H(
                 "b") "\",\"size\":11,\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\"}}"
                      ","
                      "{\"digest\":\"" H(
                          "c") "\",\"size\":12,\"platform\":{\"architecture\":\"amd64\",\"os\":"
                               "\"linux\"}},"
                               "{\"digest\":\"" H(
                                   "d") "\",\"size\":13,\"platform\":{\"architecture\":\"arm64\","
                                        "\"os\":\"linux\"},"
                                        "\"annotations\":{\"org.opencontainers.image.ref.name\":"
                                        "\"v9\"}},"
                                        "{\"digest\":\"" H(
                                            "e") "\",\"size\":14,\"platform\":{\"architecture\":"
                                                 "\"unknown\",\"os\":\"unknown\"}}]}";

static void test_index_select(void **state)
{
    (void)state;
    struct img_desc d;
    struct ck_err err = CK_ERR_INIT;
    size_t n = strlen(list);
    assert_int_equal(img_index_select(list, n, "linux", "amd64", NULL, &d, &err), 0);
    assert_string_equal(d.digest, H("c"));
    assert_int_equal(d.size, 12);
    assert_int_equal(img_index_select(list, n, "linux", "arm64", NULL, &d, &err), 0);
    assert_string_equal(d.digest, H("d"));
    assert_int_equal(img_index_select(list, n, "windows", "amd64", NULL, &d, &err), 0);
    assert_string_equal(d.digest, H("b"));
    assert_int_equal(img_index_select(list, n, "linux", "amd64", "v9", &d, &err), 0);
    assert_string_equal(d.digest, H("d")); /* the ref.name annotation wins */
    assert_int_equal(img_index_select(list, n, "linux", "s390x", NULL, &d, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    assert_non_null(strstr(err.msg, "linux/s390x"));
    /* a one-entry OCI layout index without platform */
    const char one[] = "{\"manifests\":[{\"digest\":\"" H("f") "\",\"size\":1}]}";
    assert_int_equal(img_index_select(one, strlen(one), "linux", "amd64", NULL, &d, &err), 0);
    assert_string_equal(d.digest, H("f"));
    const char bad[] = "{\"manifests\":[{\"digest\":\"sha256:zz\",\"size\":1,"
                       "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}";
    assert_int_equal(img_index_select(bad, strlen(bad), "linux", "amd64", NULL, &d, &err), -1);
    assert_int_equal(err.reason, CK_R_CORRUPT);
    assert_int_equal(img_index_select("{}", 2, "linux", "amd64", NULL, &d, &err), -1);
    assert_int_equal(err.reason, CK_R_CORRUPT);
}

static void test_manifest_parse(void **state)
{
    (void)state;
    const char ok[] =
        "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
        "vnd.oci.image.config.v1+json\","
        "\"digest\":\"" H(
            "1") "\",\"size\":463},\"layers\":["
                 "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" H(
                     "2") "\",\"size\":5},"
                          "{\"mediaType\":\"application/"
                          "vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":\"" H(
                              "3") "\",\"size\":6},"
                                   "{\"mediaType\":\"application/"
                                   "vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" H(
                                       "4") "\",\"size\":7}]}";
    struct img_manifest m;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(img_manifest_parse(ok, strlen(ok), &m, &err), 0);
    assert_string_equal(m.config.digest, H("1"));
    assert_int_equal(m.config.size, 463);
    assert_int_equal(m.nlayers, 3);
    assert_string_equal(m.layers[2].digest, H("4"));
    assert_int_equal(m.layers[1].size, 6);
    img_manifest_release(&m);
    const char *bad[] = {
        "{\"config\":{\"digest\":\"" H("1") "\"},\"layers\":[]}", /* no size */
        "{\"config\":{\"digest\":\"" H("1") "\",\"size\":-1},\"layers\":[]}",
        "{\"config\":{\"digest\":\"" H("1") "\",\"size\":1},\"layers\":{}}",
        "{\"config\":{\"digest\":\"" H(
            "1") "\",\"size\":1},\"layers\":[{\"digest\":\"x\",\"size\":1}]}",
        "{\"config\":{\"digest\":\"" H(
            "1") "\",\"size\":1},\"layers\":[{\"mediaType\":\"application/"
                 "vnd.cncf.helm.chart.content.v1.tar+gzip\",\"digest\":\"" H("2") "\",\"size\":1}]"
                                                                                  "}",
        "{\"layers\":[]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(img_manifest_parse(bad[i], strlen(bad[i]), &m, &err), -1);
        assert_true(err.reason == CK_R_CORRUPT || err.reason == CK_R_UNSUPPORTED_MEDIA);
        assert_null(m.layers);
    }
}

static void test_config_parse(void **state)
{
    (void)state;
    const char c[] =
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{"
        "\"Entrypoint\":[\"/bin/echo\"],\"Cmd\":[\"hi\",\"there\"],\"Env\":[\"PATH=/bin\",\"A=b\"],"
        "\"WorkingDir\":\"/srv\",\"User\":\"1000:1000\",\"StopSignal\":\"SIGQUIT\","
        "\"ExposedPorts\":{\"80/tcp\":{}}},"
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" H("a") "\",\"" H("b") "\"]}}";
    struct img_config cfg;
    char **ids;
    size_t n;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(img_config_parse(c, strlen(c), &cfg, &ids, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ids[1], H("b"));
    assert_null(ids[2]);
    assert_int_equal(cfg.nentrypoint, 1);
    assert_int_equal(cfg.ncmd, 2);
    assert_string_equal(cfg.env[1], "A=b");
    assert_string_equal(cfg.working_dir, "/srv");
    assert_string_equal(cfg.user, "1000:1000");
    assert_string_equal(cfg.stop_signal, "SIGQUIT");
    assert_int_equal(cfg.nexposed_ports, 1);
    assert_string_equal(cfg.exposed_ports[0], "80/tcp");

    /* Kubernetes' rule */
    char **argv;
    size_t argc;
    char *cmd[] = {"/bin/sh", "-c"}, *args[] = {"date"};
    assert_int_equal(img_merge_command(&cfg, NULL, 0, NULL, 0, &argv, &argc, &err), 0);
    assert_int_equal(argc, 3); /* Entrypoint + Cmd */
    assert_string_equal(argv[0], "/bin/echo");
    assert_string_equal(argv[2], "there");
    assert_null(argv[3]);
    img_strv_free(argv);
    assert_int_equal(img_merge_command(&cfg, cmd, 2, NULL, 0, &argv, &argc, &err), 0);
    assert_int_equal(argc, 2); /* command replaces Entrypoint and drops Cmd */
    assert_string_equal(argv[1], "-c");
    img_strv_free(argv);
    assert_int_equal(img_merge_command(&cfg, NULL, 0, args, 1, &argv, &argc, &err), 0);
    assert_int_equal(argc, 2); /* args replace Cmd */
    assert_string_equal(argv[0], "/bin/echo");
    assert_string_equal(argv[1], "date");
    img_strv_free(argv);
    assert_int_equal(img_merge_command(&cfg, cmd, 2, args, 1, &argv, &argc, &err), 0);
    assert_int_equal(argc, 3);
    img_strv_free(argv);
    img_config_release(&cfg);
    assert_null(cfg.cmd);
    assert_int_equal(img_merge_command(&cfg, NULL, 0, NULL, 0, &argv, &argc, &err), -1);
    assert_int_equal(err.reason, CK_R_INVALID);
    img_strv_free(ids);

    const char *bad[] = {
        "{}",
        "{\"rootfs\":{}}",
        "{\"rootfs\":{\"diff_ids\":[\"nope\"]}}",
        "{\"rootfs\":{\"diff_ids\":[]},\"config\":{\"Cmd\":\"not-an-array\"}}",
        "{\"rootfs\":{\"diff_ids\":[]},\"config\":{\"Env\":[1]}}",
        "{\"rootfs\":{\"diff_ids\":[]},\"config\":7}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (img_config_parse(bad[i], strlen(bad[i]), &cfg, &ids, &n, &err) == 0)
            fail_msg("accepted %s", bad[i]);
        assert_int_equal(err.reason, CK_R_CORRUPT);
    }
    const char nocfg[] = "{\"rootfs\":{\"diff_ids\":[]},\"config\":null}";
    assert_int_equal(img_config_parse(nocfg, strlen(nocfg), &cfg, &ids, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(cfg.cmd);
    img_strv_free(ids);
    img_config_release(&cfg);
}

static void test_auth_parse(void **state)
{
    (void)state;
    char *scheme, *realm, *service, *scope;
    assert_int_equal(
        img_auth_parse(
            "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
            "scope=\"repository:library/busybox:pull\"",
            &scheme, &realm, &service, &scope),
        0);
    assert_string_equal(scheme, "Bearer");
    assert_string_equal(realm, "https://auth.docker.io/token");
    assert_string_equal(service, "registry.docker.io");
    assert_string_equal(scope, "repository:library/busybox:pull");
    free(scheme), free(realm), free(service), free(scope);
    assert_int_equal(
        img_auth_parse("Basic realm=\"Registry Realm\"", &scheme, &realm, &service, &scope), 0);
    assert_string_equal(scheme, "Basic");
    assert_string_equal(realm, "Registry Realm");
    assert_null(service);
    assert_null(scope);
    free(scheme), free(realm);
    assert_int_equal(
        img_auth_parse("Bearer realm=http://x/t, service=svc", &scheme, &realm, &service, &scope),
        0);
    assert_string_equal(realm, "http://x/t");
    assert_string_equal(service, "svc");
    free(scheme), free(realm), free(service), free(scope);
    assert_int_equal(
        img_auth_parse("Bearer realm=\"unterminated", &scheme, &realm, &service, &scope), 0);
    assert_null(realm);
    free(scheme);
    assert_int_equal(img_auth_parse("", &scheme, &realm, &service, &scope), -1);
    assert_int_equal(img_auth_parse(NULL, &scheme, &realm, &service, &scope), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind),           cmocka_unit_test(test_index_select),
        cmocka_unit_test(test_manifest_parse), cmocka_unit_test(test_config_parse),
        cmocka_unit_test(test_auth_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

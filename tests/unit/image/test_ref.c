/* SPDX-License-Identifier: Apache-2.0 */
/* Image reference parsing and docker.io normalisation (distribution/reference rules). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "image/image_int.h"

#define D64 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_normalise(void **state)
{
    (void)state;
    static const struct {
        const char *in, *domain, *path, *tag, *digest, *full, *host;
    } c[] = {
        {"busybox", "docker.io", "library/busybox", "latest", NULL,
         "docker.io/library/busybox:latest", "registry-1.docker.io"},
        {"busybox:1.35", "docker.io", "library/busybox", "1.35", NULL,
         "docker.io/library/busybox:1.35", "registry-1.docker.io"},
        {"user/app", "docker.io", "user/app", "latest", NULL, "docker.io/user/app:latest", NULL},
        {"docker.io/nginx", "docker.io", "library/nginx", "latest", NULL, NULL, NULL},
        {"index.docker.io/nginx:1", "docker.io", "library/nginx", "1", NULL, NULL, NULL},
        {"127.0.0.1:5000/probe/busybox:1.35", "127.0.0.1:5000", "probe/busybox", "1.35", NULL,
         "127.0.0.1:5000/probe/busybox:1.35", "127.0.0.1:5000"},
        {"localhost/a", "localhost", "a", "latest", NULL, NULL, "localhost"},
        {"localhost:5000/a/b/c:v1", "localhost:5000", "a/b/c", "v1", NULL, NULL, NULL},
        {"registry.k8s.io/pause:3.9", "registry.k8s.io", "pause", "3.9", NULL, NULL, NULL},
        {"quay.io/a/b@" D64, "quay.io", "a/b", NULL, D64, "quay.io/a/b@" D64, NULL},
        {"quay.io/a/b:t@" D64, "quay.io", "a/b", "t", D64, NULL, NULL},
        {"my-reg.example.com:443/x_y/z__w:t.1-2", "my-reg.example.com:443", "x_y/z__w", "t.1-2",
         NULL, NULL, NULL},
        {"a--b/c", "docker.io", "a--b/c", "latest", NULL, NULL, NULL},
        {"Upper:5000/x", "Upper:5000", "x", "latest", NULL, NULL, NULL},
        {"[::1]:5000/x", "[::1]:5000", "x", "latest", NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        struct img_ref r;
        struct ck_err err = CK_ERR_INIT;
        if (img_ref_parse(c[i].in, &r, &err) < 0)
            fail_msg("%s: %s", c[i].in, err.msg);
        assert_string_equal(r.domain, c[i].domain);
        assert_string_equal(r.path, c[i].path);
        if (c[i].tag)
            assert_string_equal(r.tag, c[i].tag);
        else
            assert_null(r.tag);
        if (c[i].digest)
            assert_string_equal(r.digest, c[i].digest);
        else
            assert_null(r.digest);
        if (c[i].full) {
            char *f = img_ref_string(&r);
            assert_string_equal(f, c[i].full);
            free(f);
        }
        if (c[i].host)
            assert_string_equal(img_ref_host(&r), c[i].host);
        img_ref_release(&r);
    }
}

static void test_invalid(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "Busybox",
        "busybox:",
        "busybox:-bad",
        ":tag",
        "/busybox",
        "busybox/",
        "a//b",
        "a/b@sha256:abc",
        "a@md5:0123",
        "a/B/c",
        "reg:5000/a:b:c",
        "reg:port/a",
        "a..b/c:x/y",
        "a/b:"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 137-char tag */
        "a_/b",
        "-a/b",
        "a/b c",
        "@" D64,
        "a/b@" D64 "x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct img_ref r;
        struct ck_err err = CK_ERR_INIT;
        if (img_ref_parse(bad[i], &r, &err) == 0)
            fail_msg("accepted \"%s\" as %s/%s", bad[i], r.domain, r.path);
        assert_int_equal(err.reason, CK_R_BAD_REQUEST);
        assert_non_null(strstr(err.msg, "invalid image reference"));
        assert_null(r.domain);
    }
    struct img_ref r;
    assert_int_equal(img_ref_parse(NULL, &r, NULL), -1);
}

static void test_digest_helpers(void **state)
{
    (void)state;
    assert_true(img_digest_valid(D64));
    assert_false(img_digest_valid("sha256:0123"));
    assert_false(img_digest_valid(
        "sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert_false(img_digest_valid(
        "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert_false(img_digest_valid(NULL));
    char d[IMG_ID_MAX];
    img_digest_of("", 0, d);
    assert_string_equal(d,
                        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(img_digest_check("", 0, d, "x", &err), 0);
    assert_int_equal(img_digest_check("a", 1, d, "blob", &err), -1);
    assert_int_equal(err.reason, CK_R_CORRUPT);
    assert_non_null(strstr(err.msg, "blob digest mismatch"));
    /* the sink hashes and caps */
    struct img_sink k;
    img_sink_init(&k, -1, 3);
    assert_int_equal(img_sink_write(&k, "ab", 2), 0);
    assert_int_equal(img_sink_write(&k, "cd", 2), -1);
    img_sink_final(&k, d);
    img_digest_of("ab", 2, err.msg);
    assert_string_equal(d, err.msg);
}

static void test_loopback(void **state)
{
    (void)state;
    assert_true(img_host_is_loopback("localhost"));
    assert_true(img_host_is_loopback("localhost:5000"));
    assert_true(img_host_is_loopback("127.0.0.1:5000"));
    assert_true(img_host_is_loopback("127.1.2.3"));
    assert_true(img_host_is_loopback("[::1]:5000"));
    assert_false(img_host_is_loopback("localhost.example.com"));
    assert_false(img_host_is_loopback("127example.com"));
    assert_false(img_host_is_loopback("docker.io"));
    assert_false(img_host_is_loopback("10.0.0.1:5000"));
    assert_false(img_host_is_loopback("[::2]:5000"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalise),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_digest_helpers),
        cmocka_unit_test(test_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

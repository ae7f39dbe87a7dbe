/* SPDX-License-Identifier: Apache-2.0 */
/* The registries file (k3s registries.yaml): parsing, its errors, and the endpoints a pull
 * tries (mirror order, the default endpoint last, plain http, path overrides, configs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "image/image_int.h"

static struct img_registries *parse_ok(const char *y)
{
    struct img_registries *rc = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (img_registries_parse(y, strlen(y), &rc, &err) < 0)
        fail_msg("parse failed: %s\n%s", err.msg, y);
    return rc;
}

/* Plans ref against y: returns the endpoint list (caller frees with img_endpoints_free). */
static struct img_endpoint *plan(const struct img_registries *rc, const char *ref, size_t *n)
{
    struct img_ref r;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(img_ref_parse(ref, &r, &err), 0);
    struct img_endpoint *v = NULL;
    assert_int_equal(img_registries_plan(rc, &r, &v, n, &err), 0);
    img_ref_release(&r);
    return v;
}

static void test_no_file_default_only(void **state)
{
    (void)state;
    size_t n;
    struct img_endpoint *v = plan(NULL, "busybox", &n);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].base, "https://registry-1.docker.io/v2");
    assert_string_equal(v[0].path, "library/busybox");
    assert_string_equal(v[0].registry, "docker.io");
    assert_true(v[0].is_default);
    assert_false(v[0].http);
    img_endpoints_free(v, n);

    struct img_registries *rc = parse_ok(""); /* an empty file: no configuration */
    v = plan(rc, "127.0.0.1:5000/a/b:1", &n);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].base, "https://127.0.0.1:5000/v2");
    img_endpoints_free(v, n);
    img_registries_free(rc);
}

static void test_mirror_order(void **state)
{
    (void)state;
    struct img_registries *rc = parse_ok("mirrors:\n"
                                         "  docker.io:\n"
                                         "    endpoint:\n"
                                         "      - \"https://mirror-a.example.com:5000\"\n"
                                         "      - http://10.0.0.5:5000/\n"
                                         "      - mirror-c.example.com/v2\n"
                                         "      - mirror-d.example.com/some/prefix/\n"
                                         "      - https://mirror-a.example.com:5000\n"
                                         "      - ftp://nope\n"
                                         "      - \"bad host/x\"\n"
                                         "  example.invalid:\n"
                                         "    endpoint: [\"127.0.0.1:5001\", \"localhost\"]\n");
    size_t n;
    struct img_endpoint *v = plan(rc, "nginx:1.27", &n);
    assert_int_equal(n, 5); /* 4 distinct valid mirrors + the default */
    assert_string_equal(v[0].base, "https://mirror-a.example.com:5000/v2");
    assert_string_equal(v[0].registry, "mirror-a.example.com:5000");
    assert_false(v[0].http);
    assert_string_equal(v[1].base, "http://10.0.0.5:5000/v2");
    assert_true(v[1].http);
    assert_string_equal(v[2].base, "https://mirror-c.example.com/v2");
    assert_string_equal(v[3].base, "https://mirror-d.example.com/some/prefix"); /* override */
    assert_string_equal(v[4].base, "https://registry-1.docker.io/v2");
    assert_true(v[4].is_default);
    for (size_t i = 0; i < 4; i++) {
        assert_false(v[i].is_default);
        assert_string_equal(v[i].path, "library/nginx");
    }
    img_endpoints_free(v, n);

    /* no scheme: a loopback host on a port other than 443 is http, else https */
    v = plan(rc, "example.invalid/busybox:1", &n);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].base, "http://127.0.0.1:5001/v2");
    assert_true(v[0].http);
    assert_string_equal(v[1].base, "https://localhost/v2");
    assert_string_equal(v[2].base, "https://example.invalid/v2");
    assert_string_equal(v[2].path, "busybox");
    img_endpoints_free(v, n);

    /* a registry without an entry: only its own endpoint */
    v = plan(rc, "quay.io/a/b:1", &n);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].base, "https://quay.io/v2");
    img_endpoints_free(v, n);
    img_registries_free(rc);
}

static void test_wildcard_and_default_last(void **state)
{
    (void)state;
    struct img_registries *rc = parse_ok("mirrors:\n"
                                         "  \"*\":\n"
                                         "    endpoint: [\"https://cache.local\"]\n"
                                         "  reg.example.com:\n"
                                         "    endpoint:\n"
                                         "      - https://reg.example.com\n"
                                         "      - http://reg.example.com:80\n"
                                         "  plain.example.com:8080:\n"
                                         "    endpoint: [\"http://plain.example.com:8080\"]\n"
                                         "  self.example.com:\n"
                                         "    endpoint: [\"https://other.example.com\", "
                                         "\"https://self.example.com\"]\n");
    size_t n;
    struct img_endpoint *v = plan(rc, "ghcr.io/x/y:2", &n);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].base, "https://cache.local/v2");
    assert_string_equal(v[1].base, "https://ghcr.io/v2");
    img_endpoints_free(v, n);

    /* the specific entry wins over "*"; the default listed first is still tried last */
    v = plan(rc, "reg.example.com/a:1", &n);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].base, "http://reg.example.com:80/v2");
    assert_string_equal(v[1].base, "https://reg.example.com/v2");
    assert_true(v[1].is_default);
    img_endpoints_free(v, n);

    /* a plain-HTTP registry: its http endpoint, then the https default */
    v = plan(rc, "plain.example.com:8080/a:1", &n);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].base, "http://plain.example.com:8080/v2");
    assert_true(v[0].http);
    assert_string_equal(v[1].base, "https://plain.example.com:8080/v2");
    img_endpoints_free(v, n);

    /* the last endpoint equal to the default takes its place */
    v = plan(rc, "self.example.com/a:1", &n);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].base, "https://other.example.com/v2");
    assert_string_equal(v[1].base, "https://self.example.com/v2");
    assert_true(v[1].is_default);
    img_endpoints_free(v, n);
    img_registries_free(rc);
}

static void test_configs(void **state)
{
    (void)state;
    /* "dXNlcjpwYTpzcw==" is base64 of "user:pa:ss" */
    struct img_registries *rc = parse_ok("mirrors:\n"
                                         "  docker.io:\n"
                                         "    endpoint: [\"https://mirror.example.com:5000\"]\n"
                                         "configs:\n"
                                         "  mirror.example.com:5000:\n"
                                         "    auth: {username: mu, password: mp}\n"
                                         "    tls:\n"
                                         "      ca_file: /etc/ca.pem\n"
                                         "      cert_file: /etc/c.pem\n"
                                         "      key_file: /etc/k.pem\n"
                                         "  docker.io:\n"
                                         "    auth: {auth: \"dXNlcjpwYTpzcw==\"}\n"
                                         "  \"*\":\n"
                                         "    tls: {insecure_skip_verify: true}\n"
                                         "  registry-1.docker.io:\n"
                                         "    tls: {insecure_skip_verify: false}\n");
    size_t n;
    struct img_endpoint *v = plan(rc, "busybox", &n);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].username, "mu");
    assert_string_equal(v[0].password, "mp");
    assert_string_equal(v[0].ca_file, "/etc/ca.pem");
    assert_string_equal(v[0].cert_file, "/etc/c.pem");
    assert_string_equal(v[0].key_file, "/etc/k.pem");
    assert_false(v[0].insecure_skip_verify);
    /* docker.io's default: configs["registry-1.docker.io"] is looked up before "docker.io" */
    assert_null(v[1].username);
    assert_false(v[1].insecure_skip_verify);
    img_endpoints_free(v, n);

    v = plan(rc, "quay.io/a:1", &n); /* only "*" applies */
    assert_int_equal(n, 1);
    assert_true(v[0].insecure_skip_verify);
    assert_null(v[0].username);
    img_endpoints_free(v, n);
    img_registries_free(rc);

    rc = parse_ok("configs:\n  docker.io:\n    auth: {auth: \"dXNlcjpwYTpzcw==\"}\n");
    v = plan(rc, "docker.io/library/busybox:1", &n);
    assert_string_equal(v[0].username, "user");
    assert_string_equal(v[0].password, "pa:ss");
    img_endpoints_free(v, n);
    img_registries_free(rc);
}

static void test_rewrite(void **state)
{
    (void)state;
    struct img_registries *rc =
        parse_ok("mirrors:\n"
                 "  docker.io:\n"
                 "    endpoint: [\"https://m.example.com\"]\n"
                 "    rewrite:\n"
                 "      \"^nomatch/(.*)\": \"x/$1\"\n"
                 "      \"^rancher/(.*)\": \"mirrorproject/rancher-images/$1\"\n"
                 "      \"^library/(b)(usy)box$\": \"lib/${2}-$1$$x$1y\"\n"
                 "  quay.io:\n"
                 "    endpoint: [\"https://q.example.com\"]\n"
                 "    rewrite: {\"o\": \"0\"}\n");
    size_t n;
    struct img_endpoint *v = plan(rc, "rancher/coredns-coredns:1.6.3", &n);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].path, "mirrorproject/rancher-images/coredns-coredns");
    assert_string_equal(v[1].path, "rancher/coredns-coredns"); /* never at the default */
    img_endpoints_free(v, n);
    v = plan(rc, "busybox", &n);
    assert_string_equal(v[0].path, "lib/usy-b$x"); /* $1y names group "1y": empty, as Go */
    img_endpoints_free(v, n);
    v = plan(rc, "other/app:1", &n); /* no pattern changes it */
    assert_string_equal(v[0].path, "other/app");
    img_endpoints_free(v, n);
    v = plan(rc, "quay.io/foo/boo:1", &n); /* every match is replaced */
    assert_string_equal(v[0].path, "f00/b00");
    img_endpoints_free(v, n);
    img_registries_free(rc);
}

static void test_errors(void **state)
{
    (void)state;
    static const char *bad[] = {
        "- a\n- b\n",
        "mirrors: [a]\n",
        "mirrors:\n  docker.io: 5\n",
        "mirrors:\n  docker.io:\n    endpoint: http://x\n",
        "mirrors:\n  docker.io:\n    endpoint: [1]\n",
        "configs: 3\n",
        "configs:\n  x:\n    tls: {insecure_skip_verify: maybe}\n",
        "configs:\n  x:\n    tls: {ca_file: [a]}\n",
        "configs:\n  x:\n    tls: {cert_file: /c}\n",
        "configs:\n  x:\n    auth: {auth: \"bm9jb2xvbg==\"}\n", /* "nocolon" */
        "configs:\n  x:\n    auth: {auth: \"***\"}\n",
        "configs:\n  x:\n    auth: 7\n",
        "mirrors: {a: {endpoint: [x]}\n", /* YAML syntax */
        "mirrors:\n  a:\n    rewrite: {\"(\": x}\n",
        "mirrors:\n  a:\n    rewrite: [x]\n",
        "mirrors:\n  a:\n    rewrite: {x: [1]}\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct img_registries *rc = (struct img_registries *)1;
        struct ck_err err = CK_ERR_INIT;
        if (img_registries_parse(bad[i], strlen(bad[i]), &rc, &err) == 0)
            fail_msg("accepted: %s", bad[i]);
        assert_null(rc);
        assert_int_equal(err.reason, CK_R_BAD_REQUEST);
        assert_true(err.msg[0] != 0);
    }
}

static void test_load(void **state)
{
    (void)state;
    struct img_registries *rc = (struct img_registries *)1;
    struct ck_err err = CK_ERR_INIT;
    /* missing: no configuration, unless it must exist */
    assert_int_equal(img_registries_load("/nonexistent/registries.yaml", false, &rc, &err), 0);
    assert_null(rc);
    assert_int_equal(img_registries_load("/nonexistent/registries.yaml", true, &rc, &err), -1);
    assert_null(rc);
    char path[] = "/tmp/ck-unit-registries-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char y[] = "mirrors:\n  docker.io:\n    endpoint: [\"http://127.0.0.1:1\"]\n";
    assert_int_equal(write(fd, y, sizeof(y) - 1), (ssize_t)(sizeof(y) - 1));
    close(fd);
    ck_err_clear(&err);
    assert_int_equal(img_registries_load(path, true, &rc, &err), 0);
    size_t n;
    struct img_endpoint *v = plan(rc, "busybox", &n);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].base, "http://127.0.0.1:1/v2");
    img_endpoints_free(v, n);
    img_registries_free(rc);
    /* a broken file names itself */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "mirrors: 1\n", 11), 11);
    close(fd);
    assert_int_equal(img_registries_load(path, false, &rc, &err), -1);
    assert_non_null(strstr(err.msg, path));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_file_default_only),
        cmocka_unit_test(test_mirror_order),
        cmocka_unit_test(test_wildcard_and_default_last),
        cmocka_unit_test(test_configs),
        cmocka_unit_test(test_rewrite),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Pull-secret lookup in Docker config JSON: key forms, docker.io aliases, wildcards, path
 * prefixes (longest wins), "auth" vs username/password, legacy .dockercfg, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "image/image_int.h"

/* base64("alice:s3cr:et") = YWxpY2U6czNjcjpldA==, base64("bob:pw") = Ym9iOnB3 */
static const char cfg[] =
    "{\"auths\":{"
    "\"https://index.docker.io/v1/\":{\"auth\":\"YWxpY2U6czNjcjpldA==\"},"
    "\"127.0.0.1:5000\":{\"username\":\"u5000\",\"password\":\"p5000\"},"
    "\"reg.example.com\":{\"auth\":\"Ym9iOnB3\"},"
    "\"https://reg.example.com/team\":{\"username\":\"team\",\"password\":\"tp\"},"
    "\"*.wild.io\":{\"username\":\"w\",\"password\":\"wp\"},"
    "\"broken.io\":{\"auth\":\"!!notbase64\"}}}";

static void expect(const char *ref, const char *user, const char *pass)
{
    char *u, *p;
    struct ck_err err = CK_ERR_INIT;
    int rc = img_auth_lookup(cfg, strlen(cfg), ref, &u, &p, &err);
    if (!user) {
        if (rc != 0)
            fail_msg("%s: expected no match, got %d (%s)", ref, rc, rc > 0 ? u : err.msg);
        assert_null(u);
        return;
    }
    if (rc != 1)
        fail_msg("%s: expected a match, rc %d", ref, rc);
    assert_string_equal(u, user);
    assert_string_equal(p, pass);
    free(u);
    free(p);
}

static void test_lookup(void **state)
{
    (void)state;
    expect("busybox", "alice", "s3cr:et");
    expect("docker.io/library/nginx:1", "alice", "s3cr:et");
    expect("127.0.0.1:5000/probe/busybox:1.35", "u5000", "p5000");
    expect("127.0.0.1:5001/probe/busybox", NULL, NULL);
    expect("reg.example.com/other/app", "bob", "pw");
    expect("reg.example.com/team/app:v1", "team", "tp"); /* longer key wins */
    expect("reg.example.com/teams/app", "bob", "pw");    /* whole components only */
    expect("a.wild.io/x", "w", "wp");
    expect("a.b.wild.io/x", NULL, NULL); /* one label only */
    expect("wild.io/x", NULL, NULL);
    expect("broken.io/x", NULL, NULL); /* undecodable entry is skipped */
    expect("quay.io/x", NULL, NULL);
}

static void test_legacy_and_bad(void **state)
{
    (void)state;
    const char legacy[] = "{\"quay.io\":{\"auth\":\"Ym9iOnB3\",\"email\":\"x@y\"}}";
    char *u, *p;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(img_auth_lookup(legacy, strlen(legacy), "quay.io/a/b", &u, &p, &err), 1);
    assert_string_equal(u, "bob");
    free(u);
    free(p);
    assert_int_equal(img_auth_lookup("[1]", 3, "quay.io/a", &u, &p, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    assert_int_equal(img_auth_lookup("nope", 4, "quay.io/a", &u, &p, &err), -1);
    assert_int_equal(img_auth_lookup(cfg, strlen(cfg), "Bad//ref", &u, &p, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    const char nocolon[] = "{\"auths\":{\"q.io\":{\"auth\":\"Ym9i\"}}}"; /* "bob" */
    assert_int_equal(img_auth_lookup(nocolon, strlen(nocolon), "q.io/a", &u, &p, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_legacy_and_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

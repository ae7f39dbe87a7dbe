/* SPDX-License-Identifier: Apache-2.0 */
/* Layer unpacking: gzip/zstd/plain give the same diff id (the sha256 of the plain tar),
 * whiteouts become overlay whiteouts, traversal / symlink / hard-link escapes are refused,
 * limits hold, garbage gives a clean error. Needs root for whiteout devices and xattrs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "image/image_int.h"
#include "tarutil.h"

static char *mkdir_tmp(void)
{
    char *p = ck_strdup("/tmp/ck-unpack-XXXXXX");
    assert_non_null(mkdtemp(p));
    char real[PATH_MAX];
    assert_non_null(realpath(p, real));
    free(p);
    return ck_strdup(real);
}

static int unpack(const struct tentry *e, size_t n, int filter, const char *dir,
                  const struct img_unpack_limits *lim, char diffid[IMG_ID_MAX], struct ck_err *err)
{
    size_t len;
    unsigned char *t = tar_build(e, n, filter, &len);
    if (!t)
        return 1; /* filter unsupported */
    int fd = mem_fd(t, len);
    assert_true(fd >= 0);
    int rc = img_unpack_layer(fd, dir, lim, diffid, err);
    close(fd);
    free(t);
    return rc;
}

static char *at(const char *dir, const char *rel)
{
    return ck_asprintf("%s/%s", dir, rel);
}

static void test_filters_same_diffid(void **state)
{
    (void)state;
    const struct tentry e[] = {
        {"bin/", 'd', NULL},          {"bin/tool", 'f', "#!/bin/sh\necho hi\n"},
        {"bin/alias", 'l', "tool"},   {"bin/hard", 'h', "bin/tool"},
        {"./etc/motd", 'f', "hello"},
    };
    size_t plen;
    unsigned char *plain = tar_build(e, 5, ARCHIVE_FILTER_NONE, &plen);
    char want[IMG_ID_MAX];
    img_digest_of(plain, plen, want);
    free(plain);
    const int filters[] = {ARCHIVE_FILTER_NONE, ARCHIVE_FILTER_GZIP, ARCHIVE_FILTER_ZSTD};
    for (size_t i = 0; i < 3; i++) {
        char *dir = mkdir_tmp();
        char got[IMG_ID_MAX];
        struct ck_err err = CK_ERR_INIT;
        int rc = unpack(e, 5, filters[i], dir, NULL, got, &err);
        if (rc == 1) { /* libarchive without zstd writing */
            img_rmtree(dir);
            free(dir);
            continue;
        }
        if (rc != 0)
            fail_msg("filter %d: %s", filters[i], err.msg);
        assert_string_equal(got, want);
        char *motd = at(dir, "etc/motd"), *hard = at(dir, "bin/hard"), *tool = at(dir, "bin/tool");
        struct stat a, b;
        assert_int_equal(stat(motd, &a), 0);
        assert_int_equal(a.st_size, 5);
        assert_int_equal(stat(hard, &a), 0);
        assert_int_equal(stat(tool, &b), 0);
        assert_int_equal(a.st_ino, b.st_ino);
        free(motd);
        free(hard);
        free(tool);
        assert_int_equal(img_rmtree(dir), 0);
        assert_int_equal(access(dir, F_OK), -1);
        free(dir);
    }
}

static void test_whiteouts(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        skip();
    }
    const struct tentry e[] = {
        {"etc/.wh.passwd", 'f', NULL}, {"var/cache/.wh..wh..opq", 'f', NULL},
        {"var/cache/new", 'f', "x"},   {".wh..wh.plnk", 'f', NULL},
        {"opt/.wh.gone", 'f', NULL},
    };
    char *dir = mkdir_tmp();
    char id[IMG_ID_MAX];
    struct ck_err err = CK_ERR_INIT;
    if (unpack(e, 5, ARCHIVE_FILTER_GZIP, dir, NULL, id, &err) != 0)
        fail_msg("%s", err.msg);
    char *wh = at(dir, "etc/passwd"), *wh2 = at(dir, "opt/gone"), *cache = at(dir, "var/cache");
    char *raw = at(dir, "etc/.wh.passwd"), *plnk = at(dir, ".wh..wh.plnk");
    struct stat st;
    assert_int_equal(lstat(wh, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(0, 0));
    assert_int_equal(lstat(wh2, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(access(raw, F_OK), -1);
    assert_int_equal(access(plnk, F_OK), -1);
    char v[8] = {0};
    ssize_t n = getxattr(cache, "trusted.overlay.opaque", v, sizeof(v));
    assert_int_equal(n, 1);
    assert_int_equal(v[0], 'y');
    free(wh);
    free(wh2);
    free(cache);
    free(raw);
    free(plnk);
    img_rmtree(dir);
    free(dir);
}

/* Each of these must fail with CK_R_CORRUPT and write nothing outside dir. */
static void test_escapes_refused(void **state)
{
    (void)state;
    char *outside = mkdir_tmp();
    char *lnk_target = ck_asprintf("%s", outside);
    char *hl_abs = ck_asprintf("%s/secret", outside);
    char *secret = at(outside, "secret");
    FILE *f = fopen(secret, "w");
    fputs("s", f);
    fclose(f);
    const struct tentry dotdot[] = {{"../evil", 'f', "x"}};
    const struct tentry dotdot2[] = {{"a/b/../../../evil", 'f', "x"}};
    const struct tentry via_symlink[] = {{"esc", 'l', lnk_target}, {"esc/evil", 'f', "x"}};
    const struct tentry via_rel_symlink[] = {{"up", 'l', "../../../../../../.."},
                                             {"up/tmp/evil", 'f', "x"}};
    const struct tentry hard_out[] = {{"h", 'h', "../../../etc/passwd"}};
    const struct tentry hard_abs[] = {{"h", 'h', hl_abs}, {"h", 'f', "overwrite"}};
    const struct tentry wh_via_symlink[] = {{"esc", 'l', lnk_target},
                                            {"esc/.wh.secret", 'f', NULL}};
    const struct {
        const struct tentry *e;
        size_t n;
        const char *what;
    } cases[] = {
        {dotdot, 1, "dotdot"},        {dotdot2, 1, "dotdot2"},
        {via_symlink, 2, "symlink"},  {via_rel_symlink, 2, "relative symlink"},
        {hard_out, 1, "hardlink .."}, {wh_via_symlink, 2, "whiteout through symlink"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *dir = mkdir_tmp();
        char id[IMG_ID_MAX];
        struct ck_err err = CK_ERR_INIT;
        int rc = unpack(cases[i].e, cases[i].n, ARCHIVE_FILTER_NONE, dir, NULL, id, &err);
        if (rc != -1)
            fail_msg("%s: accepted", cases[i].what);
        if (err.reason != CK_R_CORRUPT && err.reason != CK_R_IO)
            fail_msg("%s: reason %d: %s", cases[i].what, err.reason, err.msg);
        img_rmtree(dir);
        free(dir);
    }
    /* an absolute hard-link target is taken inside the layer: it does not exist there */
    char *dir = mkdir_tmp();
    char id[IMG_ID_MAX];
    struct ck_err err = CK_ERR_INIT;
    (void)unpack(hard_abs, 2, ARCHIVE_FILTER_NONE, dir, NULL, id, &err);
    img_rmtree(dir);
    free(dir);
    /* nothing was created or changed outside */
    char *evil = at(outside, "evil");
    assert_int_equal(access(evil, F_OK), -1);
    assert_int_equal(access("/tmp/evil", F_OK), -1);
    struct stat st;
    assert_int_equal(stat(secret, &st), 0);
    assert_int_equal(st.st_size, 1);
    free(evil);
    free(secret);
    free(hl_abs);
    free(lnk_target);
    img_rmtree(outside);
    free(outside);
}

static void test_absolute_symlink_kept_and_abs_path_confined(void **state)
{
    (void)state;
    /* absolute symlink targets are normal in images (resolved inside the container) */
    const struct tentry e[] = {{"bin/sh", 'l', "/bin/busybox"}, {"/abs/file", 'f', "in"}};
    char *dir = mkdir_tmp();
    char id[IMG_ID_MAX];
    struct ck_err err = CK_ERR_INIT;
    if (unpack(e, 2, ARCHIVE_FILTER_NONE, dir, NULL, id, &err) != 0)
        fail_msg("%s", err.msg);
    char *sh = at(dir, "bin/sh"), *abs = at(dir, "abs/file");
    char tgt[64] = {0};
    assert_int_equal(readlink(sh, tgt, sizeof(tgt) - 1), 12);
    assert_string_equal(tgt, "/bin/busybox");
    assert_int_equal(access(abs, F_OK), 0);
    assert_int_equal(access("/abs/file", F_OK), -1);
    free(sh);
    free(abs);
    img_rmtree(dir);
    free(dir);
}

static void test_limits_and_garbage(void **state)
{
    (void)state;
    struct tentry many[40];
    char names[40][16];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof(names[i]), "f%d", i);
        many[i] = (struct tentry){names[i], 'f', "0123456789"};
    }
    char *dir = mkdir_tmp();
    char id[IMG_ID_MAX];
    struct ck_err err = CK_ERR_INIT;
    struct img_unpack_limits lim = {.max_entries = 10};
    assert_int_equal(unpack(many, 40, ARCHIVE_FILTER_GZIP, dir, &lim, id, &err), -1);
    assert_int_equal(err.reason, CK_R_TOO_LARGE);
    lim = (struct img_unpack_limits){.max_bytes = 4096};
    assert_int_equal(unpack(many, 40, ARCHIVE_FILTER_GZIP, dir, &lim, id, &err), -1);
    assert_int_equal(err.reason, CK_R_TOO_LARGE);
    const char garbage[] = "this is not a tar file, not gzip either, just text....";
    int fd = mem_fd(garbage, sizeof(garbage));
    assert_int_equal(img_unpack_layer(fd, dir, NULL, id, &err), -1);
    assert_int_equal(err.reason, CK_R_CORRUPT);
    close(fd);
    fd = mem_fd("", 0);
    assert_int_equal(img_unpack_layer(fd, dir, NULL, id, &err), -1);
    close(fd);
    /* a truncated gzip layer */
    size_t len;
    unsigned char *t = tar_build(many, 40, ARCHIVE_FILTER_GZIP, &len);
    fd = mem_fd(t, len / 2);
    assert_int_equal(img_unpack_layer(fd, dir, NULL, id, &err), -1);
    assert_int_equal(err.reason, CK_R_CORRUPT);
    close(fd);
    free(t);
    assert_int_equal(img_unpack_layer(-1, dir, NULL, id, &err), -1);
    img_rmtree(dir);
    free(dir);
}

/* A later entry replaces an earlier one of the same name (files, symlinks). */
static void test_replace_within_layer(void **state)
{
    (void)state;
    const struct tentry e[] = {{"a", 'f', "1"},    {"a", 'f', "22"}, {"l", 'l', "/etc/passwd"},
                               {"l", 'f', "file"}, {"m", 'f', "x"},  {"m", 'l', "a"}};
    char *dir = mkdir_tmp();
    char id[IMG_ID_MAX];
    struct ck_err err = CK_ERR_INIT;
    if (unpack(e, 6, ARCHIVE_FILTER_NONE, dir, NULL, id, &err) != 0)
        fail_msg("%s", err.msg);
    char *a = at(dir, "a"), *l = at(dir, "l"), *m = at(dir, "m");
    struct stat st;
    assert_int_equal(lstat(a, &st), 0);
    assert_int_equal(st.st_size, 2);
    assert_int_equal(lstat(l, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 4);
    assert_int_equal(lstat(m, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    free(a);
    free(l);
    free(m);
    img_rmtree(dir);
    free(dir);
}

/* The well-known empty layer: 1024 zero bytes, diff id 5f70bf18... */
static void test_empty_layer(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    char id[IMG_ID_MAX];
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(unpack(NULL, 0, ARCHIVE_FILTER_GZIP, dir, NULL, id, &err), 0);
    assert_string_equal(id,
                        "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");
    img_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filters_same_diffid),
        cmocka_unit_test(test_whiteouts),
        cmocka_unit_test(test_escapes_refused),
        cmocka_unit_test(test_absolute_symlink_kept_and_abs_path_confined),
        cmocka_unit_test(test_limits_and_garbage),
        cmocka_unit_test(test_replace_within_layer),
        cmocka_unit_test(test_empty_layer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* docker-archive import (img_import): archives built in the test (layer tars made with
 * libarchive, a config, manifest.json, a layer reached through a symlink as older `docker
 * save` writes it); all tags or the REF asked for; files outside the archive, a diff_id
 * mismatch and a broken manifest.json are refused and leave the store empty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image_int.h"
#include "tarutil.h"

struct arch {
    char *dir;
    char cfg[IMG_ID_MAX];
};

static void put(const char *dir, const char *name, const void *p, size_t n)
{
    char *path = ck_asprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
    free(path);
}

/* A one-image archive dir: layer "L/layer.tar" -> "../layer.blob" (symlink), config
 * "<hex>.json", manifest.json with tags (a JSON list text). bad_diffid corrupts the config. */
static void build(struct arch *A, const char *tags, bool bad_diffid, const char *layer_name)
{
    memset(A, 0, sizeof(*A));
    A->dir = ck_strdup("/tmp/ck-darch-XXXXXX");
    assert_non_null(mkdtemp(A->dir));
    struct tentry e[] = {{"etc", 'd', NULL}, {"etc/hello.txt", 'f', "hello\n"}};
    size_t n;
    unsigned char *tar = tar_build(e, 2, ARCHIVE_FILTER_NONE, &n);
    assert_non_null(tar);
    char diffid[IMG_ID_MAX];
    img_digest_of(tar, n, diffid);
    put(A->dir, "layer.blob", tar, n);
    free(tar);
    char *l = ck_asprintf("%s/L", A->dir);
    assert_int_equal(mkdir(l, 0755), 0);
    char *lnk = ck_asprintf("%s/layer.tar", l);
    assert_int_equal(symlink("../layer.blob", lnk), 0);
    free(lnk);
    free(l);
    char *cfg =
        ck_asprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":"
                    "[\"/bin/sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                    bad_diffid ? "sha256:0000000000000000000000000000000000000000000000"
                                 "000000000000000000"
                               : diffid);
    img_digest_of(cfg, strlen(cfg), A->cfg);
    char *cname = ck_asprintf("%s.json", A->cfg + 7);
    put(A->dir, cname, cfg, strlen(cfg));
    char *m = ck_asprintf("[{\"Config\":\"%s\",\"RepoTags\":%s,\"Layers\":[\"%s\"]}]", cname, tags,
                          layer_name ? layer_name : "L/layer.tar");
    put(A->dir, "manifest.json", m, strlen(m));
    free(m);
    free(cname);
    free(cfg);
}

static void drop(struct arch *A)
{
    img_rmtree(A->dir);
    free(A->dir);
}

static struct img_store *open_store(char **root)
{
    *root = ck_strdup("/tmp/ck-darch-store-XXXXXX");
    assert_non_null(mkdtemp(*root));
    struct img_store *s;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(img_store_open(*root, &s, &err), 0);
    return s;
}

static void close_store(struct img_store *s, char *root)
{
    img_store_close(s);
    img_rmtree(root);
    free(root);
}

static size_t nimages(struct img_store *s)
{
    struct img_info *v;
    size_t n;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(img_list(s, &v, &n, &err), 0);
    img_info_free(v, n);
    return n;
}

static void test_all_tags_and_ref(void **state)
{
    (void)state;
    struct arch A;
    build(&A, "[\"busybox:1\", \"example.com/x/y:2\"]", false, NULL);
    char *root;
    struct img_store *s = open_store(&root);
    struct img_imported *v = NULL;
    size_t n = 0;
    struct ck_err err = CK_ERR_INIT;
    if (img_import(s, A.dir, NULL, &v, &n, &err) < 0)
        fail_msg("import: %s", err.msg);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, A.cfg);
    assert_string_equal(v[0].ref, "docker.io/library/busybox:1");
    assert_string_equal(v[1].ref, "example.com/x/y:2");
    img_imported_free(v, n);
    char id[IMG_ID_MAX];
    assert_int_equal(img_resolve(s, "busybox:1", id, &err), 0);
    assert_string_equal(id, A.cfg);
    /* no repo digest: the archive has no registry manifest */
    struct img_info *info;
    assert_int_equal(img_inspect(s, id, &info, &err), 0);
    assert_int_equal(info->ndigests, 0);
    assert_int_equal(info->ntags, 2);
    img_info_free(info, 1);
    struct img_config cfg;
    char **dirs;
    size_t nl;
    assert_int_equal(img_get(s, id, &cfg, &dirs, &nl, &err), 0);
    assert_int_equal(nl, 1);
    char *hello = ck_asprintf("%s/etc/hello.txt", dirs[0]);
    assert_int_equal(access(hello, F_OK), 0);
    free(hello);
    assert_string_equal(cfg.cmd[0], "/bin/sh");
    img_config_release(&cfg);
    img_strv_free(dirs);

    /* REF: the image holding it, under that tag only */
    assert_int_equal(img_remove(s, id, &err), 0);
    assert_int_equal(img_import(s, A.dir, "example.com/x/y:2", &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].ref, "example.com/x/y:2");
    img_imported_free(v, n);
    assert_int_equal(img_resolve(s, "busybox:1", id, &err), -1);
    /* an archive of one image takes any REF */
    assert_int_equal(img_import(s, A.dir, "other:9", &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].ref, "docker.io/library/other:9");
    img_imported_free(v, n);
    assert_int_equal(img_import(s, A.dir, "Bad::ref", &v, &n, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    close_store(s, root);
    drop(&A);
}

static void test_untagged_and_tar(void **state)
{
    (void)state;
    struct arch A;
    build(&A, "null", false, NULL);
    char *root;
    struct img_store *s = open_store(&root);
    /* the archive as a tar.gz of the dir */
    char *tgz = ck_asprintf("%s.tar.gz", A.dir);
    char *cmd = ck_asprintf("tar -C %s -czf %s .", A.dir, tgz);
    assert_int_equal(system(cmd), 0);
    struct img_imported *v = NULL;
    size_t n = 0;
    struct ck_err err = CK_ERR_INIT;
    if (img_import(s, tgz, NULL, &v, &n, &err) < 0)
        fail_msg("import: %s", err.msg);
    assert_int_equal(n, 1);
    assert_null(v[0].ref);
    assert_string_equal(v[0].id, A.cfg);
    img_imported_free(v, n);
    assert_int_equal(nimages(s), 1);
    unlink(tgz);
    free(tgz);
    free(cmd);
    close_store(s, root);
    drop(&A);
}

static void test_refused(void **state)
{
    (void)state;
    static const char *layers[] = {"../../../etc/passwd", "/etc/passwd", "missing.tar", "L", "esc"};
    for (size_t i = 0; i < sizeof(layers) / sizeof(layers[0]); i++) {
        struct arch A;
        build(&A, "[\"x:1\"]", false, layers[i]);
        char *esc = ck_asprintf("%s/esc", A.dir);
        assert_int_equal(symlink("/etc/passwd", esc), 0); /* leads out of the archive */
        free(esc);
        char *root;
        struct img_store *s = open_store(&root);
        struct img_imported *v = (struct img_imported *)1;
        size_t n = 7;
        struct ck_err err = CK_ERR_INIT;
        assert_int_equal(img_import(s, A.dir, NULL, &v, &n, &err), -1);
        assert_int_equal(err.reason, CK_R_CORRUPT);
        assert_null(v);
        assert_int_equal(n, 0);
        assert_int_equal(nimages(s), 0);
        close_store(s, root);
        drop(&A);
    }
    /* the layer does not match the config's diff_ids */
    struct arch A;
    build(&A, "[\"x:1\"]", true, NULL);
    char *root;
    struct img_store *s = open_store(&root);
    struct img_imported *v = NULL;
    size_t n = 0;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(img_import(s, A.dir, NULL, &v, &n, &err), -1);
    assert_int_equal(err.reason, CK_R_CORRUPT);
    assert_non_null(strstr(err.msg, "diff_id"));
    assert_int_equal(nimages(s), 0);
    /* broken manifest.json; REF not in a two-image archive */
    put(A.dir, "manifest.json", "{\"a\":1}", 7);
    assert_int_equal(img_import(s, A.dir, NULL, &v, &n, &err), -1);
    assert_int_equal(err.reason, CK_R_CORRUPT);
    put(A.dir, "manifest.json", "[{}]", 4);
    assert_int_equal(img_import(s, A.dir, NULL, &v, &n, &err), -1);
    assert_int_equal(err.reason, CK_R_CORRUPT);
    char *m = ck_asprintf("[{\"Config\":\"%s.json\",\"RepoTags\":[\"a:1\"],\"Layers\":[]},"
                          "{\"Config\":\"%s.json\",\"RepoTags\":[\"b:1\"],\"Layers\":[]}]",
                          A.cfg + 7, A.cfg + 7);
    put(A.dir, "manifest.json", m, strlen(m));
    free(m);
    assert_int_equal(img_import(s, A.dir, "c:1", &v, &n, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    /* neither format */
    put(A.dir, "manifest.json", "", 0);
    char *mj = ck_asprintf("%s/manifest.json", A.dir);
    unlink(mj);
    free(mj);
    assert_int_equal(img_import(s, A.dir, NULL, &v, &n, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    assert_int_equal(nimages(s), 0);
    close_store(s, root);
    drop(&A);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_tags_and_ref),
        cmocka_unit_test(test_untagged_and_tar),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

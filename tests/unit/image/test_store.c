/* SPDX-License-Identifier: Apache-2.0 */
/* The store through OCI-layout imports built in the test: digest and diff_id verification
 * failures leave nothing behind, missing blobs are NotFound, tags move and untag, a broken
 * index is an error (not a crash), stale staging dirs of dead processes are cleaned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>

#include "image/image_int.h"
#include "tarutil.h"

struct layout {
    char *dir;
    char layer[IMG_ID_MAX], diffid[IMG_ID_MAX], config[IMG_ID_MAX], manifest[IMG_ID_MAX];
    size_t layer_size;
};

static char *tmpdir(void)
{
    char *p = ck_strdup("/tmp/ck-store-XXXXXX");
    assert_non_null(mkdtemp(p));
    return p;
}

static void put_blob(const char *dir, const void *p, size_t n, char digest[IMG_ID_MAX])
{
    img_digest_of(p, n, digest);
    char *path = ck_asprintf("%s/blobs/sha256/%s", dir, digest + 7);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
    free(path);
}

static void put_text(const char *dir, const char *name, const char *text)
{
    char *path = ck_asprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    free(path);
}

/* A one-layer layout; diff_id_override / size_delta corrupt the metadata on purpose. */
static void build_layout(struct layout *L, const char *content, const char *diff_id_override,
                         long size_delta)
{
    memset(L, 0, sizeof(*L));
    L->dir = tmpdir();
    char *blobs = ck_asprintf("%s/blobs/sha256", L->dir);
    char *cmd = ck_asprintf("mkdir -p %s", blobs);
    assert_int_equal(system(cmd), 0);
    const struct tentry e[] = {
        {"etc/", 'd', NULL}, {"etc/content", 'f', content}, {"bin/sh", 'l', "/bin/busybox"}};
    size_t n;
    unsigned char *plain = tar_build(e, 3, ARCHIVE_FILTER_NONE, &n);
    img_digest_of(plain, n, L->diffid);
    free(plain);
    unsigned char *gz = tar_build(e, 3, ARCHIVE_FILTER_GZIP, &n);
    put_blob(L->dir, gz, n, L->layer);
    L->layer_size = n;
    free(gz);
    char *config = ck_asprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":"
                               "[\"/bin/sh\"],\"Env\":[\"PATH=/bin\"]},\"rootfs\":{\"type\":"
                               "\"layers\",\"diff_ids\":[\"%s\"]}}",
                               diff_id_override ? diff_id_override : L->diffid);
    put_blob(L->dir, config, strlen(config), L->config);
    char *man =
        ck_asprintf("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image."
                    "config.v1+json\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"media"
                    "Type\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\","
                    "\"size\":%ld}]}",
                    L->config, strlen(config), L->layer, (long)L->layer_size + size_delta);
    put_blob(L->dir, man, strlen(man), L->manifest);
    char *index =
        ck_asprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd."
                    "oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu,"
                    "\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}",
                    L->manifest, strlen(man));
    put_text(L->dir, "index.json", index);
    put_text(L->dir, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
    free(blobs);
    free(cmd);
    free(config);
    free(man);
    free(index);
}

static void drop_layout(struct layout *L)
{
    img_rmtree(L->dir);
    free(L->dir);
}

static size_t count(const char *root, const char *sub)
{
    char *p = ck_asprintf("%s/%s", root, sub);
    DIR *d = opendir(p);
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    free(p);
    return n;
}

static void assert_empty(struct img_store *s)
{
    const char *r = img_store_root(s);
    assert_int_equal(count(r, "blobs/sha256"), 0);
    assert_int_equal(count(r, "layers"), 0);
    assert_int_equal(count(r, "tmp"), 0);
    struct img_info *v;
    size_t n;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(img_list(s, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    img_info_free(v, n);
}

static struct img_store *open_store(char **root)
{
    *root = tmpdir();
    struct img_store *s;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(img_store_open(*root, &s, &err), 0);
    return s;
}

static void test_import_get_tags(void **state)
{
    (void)state;
    char *root;
    struct img_store *s = open_store(&root);
    struct layout L;
    build_layout(&L, "one", NULL, 0);
    char id[IMG_ID_MAX], id2[IMG_ID_MAX];
    struct ck_err err = CK_ERR_INIT;
    if (img_import_oci(s, L.dir, "example.com/app:v1", id, &err) < 0)
        fail_msg("%s", err.msg);
    assert_string_equal(id, L.config);
    assert_int_equal(img_import_oci(s, L.dir, "example.com/app:v2", id2, &err), 0);
    assert_string_equal(id, id2);
    struct img_info *info;
    assert_int_equal(img_inspect(s, "example.com/app:v2", &info, &err), 0);
    assert_int_equal(info->ntags, 2);
    assert_int_equal(info->ndigests, 1);
    img_info_free(info, 1);
    struct img_config cfg;
    char **dirs;
    size_t n;
    assert_int_equal(img_get(s, id, &cfg, &dirs, &n, &err), 0);
    assert_int_equal(n, 1);
    char *content = ck_asprintf("%s/etc/content", dirs[0]);
    assert_int_equal(access(content, F_OK), 0);
    char *want = ck_asprintf("%s/layers/%s", img_store_root(s), L.diffid + 7);
    assert_string_equal(dirs[0], want);
    assert_string_equal(cfg.cmd[0], "/bin/sh");
    /* removing one of two tags only untags */
    assert_int_equal(img_remove(s, "example.com/app:v1", &err), 0);
    assert_int_equal(access(content, F_OK), 0);
    assert_int_equal(img_resolve(s, "example.com/app:v1", id2, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    assert_int_equal(img_remove(s, "example.com/app:v2", &err), 0);
    assert_int_equal(access(content, F_OK), -1);
    assert_empty(s);
    assert_int_equal(img_get(s, id, NULL, NULL, NULL, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    free(content);
    free(want);
    img_strv_free(dirs);
    img_config_release(&cfg);
    drop_layout(&L);
    img_store_close(s);
    img_rmtree(root);
    free(root);
}

static void test_verification_failures_leave_nothing(void **state)
{
    (void)state;
    char *root;
    struct img_store *s = open_store(&root);
    char id[IMG_ID_MAX];
    struct ck_err err = CK_ERR_INIT;
    struct layout L;

    /* 1. a tampered layer blob: its sha256 no longer matches */
    build_layout(&L, "two", NULL, 0);
    char *blob = ck_asprintf("%s/blobs/sha256/%s", L.dir, L.layer + 7);
    int fd = open(blob, O_RDWR);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, 15), 1);
    c ^= 0x55;
    assert_int_equal(pwrite(fd, &c, 1, 15), 1);
    close(fd);
    assert_int_equal(img_import_oci(s, L.dir, "x/y:1", id, &err), -1);
    assert_int_equal(err.reason, CK_R_CORRUPT);
    assert_non_null(strstr(err.msg, "digest mismatch"));
    assert_empty(s);
    /* 2. the layer blob is missing */
    unlink(blob);
    assert_int_equal(img_import_oci(s, L.dir, "x/y:1", id, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    assert_empty(s);
    free(blob);
    drop_layout(&L);

    /* 3. the config's diff_id does not match the uncompressed layer */
    build_layout(&L, "three",
                 "sha256:0000000000000000000000000000000000000000000000000000000000000000", 0);
    assert_int_equal(img_import_oci(s, L.dir, "x/y:1", id, &err), -1);
    assert_int_equal(err.reason, CK_R_CORRUPT);
    assert_non_null(strstr(err.msg, "diff_id mismatch"));
    assert_empty(s);
    drop_layout(&L);

    /* 4. the manifest says the layer is bigger / smaller than it is */
    long deltas[] = {1, -1};
    for (int i = 0; i < 2; i++) {
        build_layout(&L, "four", NULL, deltas[i]);
        assert_int_equal(img_import_oci(s, L.dir, "x/y:1", id, &err), -1);
        assert_int_equal(err.reason, CK_R_CORRUPT);
        assert_empty(s);
        drop_layout(&L);
    }
    /* 5. not a layout at all */
    assert_int_equal(img_import_oci(s, "/nonexistent", "x/y:1", id, &err), -1);
    assert_int_equal(img_import_oci(s, root, "x/y:1", id, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    img_store_close(s);
    img_rmtree(root);
    free(root);
}

static void test_broken_index_and_stale_staging(void **state)
{
    (void)state;
    char *root;
    struct img_store *s = open_store(&root);
    char *idx = ck_asprintf("%s/images.json", root);
    put_text(root, "images.json", "{\"images\": [tru");
    struct img_info *v;
    size_t n;
    struct ck_err err = CK_ERR_INIT;
    char id[IMG_ID_MAX];
    assert_int_equal(img_list(s, &v, &n, &err), -1);
    assert_int_equal(err.reason, CK_R_CORRUPT);
    assert_int_equal(img_resolve(s, "a/b", id, &err), -1);
    assert_int_equal(err.reason, CK_R_CORRUPT);
    /* a damaged but parseable index: malformed entries are dropped, the good one stays */
    put_text(root, "images.json",
             "{\"images\":{\"x\":{},\"sha256:abc\":[],"
             "\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\":"
             "{\"tags\":[\"docker.io/a/b:1\",7],\"layers\":[\"s\",3],\"blobs\":[\"\"]}}}");
    assert_int_equal(img_list(s, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].ntags, 1);
    img_info_free(v, n);
    assert_int_equal(img_resolve(s, "a/b:1", id, &err), 0);
    assert_int_equal(img_resolve(s, "0123", id, &err), 0);
    assert_int_equal(img_gc(s, INT64_MAX, NULL, 0, &err), 1);
    unlink(idx);
    img_store_close(s);
    /* a staging dir of a process that no longer exists is removed on open */
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    char *stale = ck_asprintf("%s/tmp/pull-%ld-abcdef", root, (long)pid);
    char *mine = ck_asprintf("%s/tmp/pull-%ld-abcdef", root, (long)getpid());
    assert_int_equal(mkdir(stale, 0755), 0);
    assert_int_equal(mkdir(mine, 0755), 0);
    put_text(stale, "junk", "x");
    assert_int_equal(img_store_open(root, &s, &err), 0);
    assert_int_equal(access(stale, F_OK), -1);
    assert_int_equal(access(mine, F_OK), 0);
    img_store_close(s);
    assert_int_equal(img_store_open("", &s, &err), -1);
    assert_int_equal(img_store_open("/proc/nope/x", &s, &err), -1);
    free(stale);
    free(mine);
    free(idx);
    img_rmtree(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_get_tags),
        cmocka_unit_test(test_verification_failures_leave_nothing),
        cmocka_unit_test(test_broken_index_and_stale_staging),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

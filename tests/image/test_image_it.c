/* SPDX-License-Identifier: Apache-2.0 */
/* Image store against a real docker-registry (started by tests/image/run.sh): OCI, v2s2,
 * by digest, OCI index, 2-layer whiteouts under a real overlay mount, NotFound / corrupt /
 * unreachable leaving nothing behind, https with a CA, import, remove/gc, concurrent pulls,
 * the registries file (mirrors, their TLS and credentials). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "image/image.h"
#include "image/image_int.h"
#include "lib/buf.h"
#include "lib/log.h"

static const char *reg, *reg_dir, *work;
static int store_seq;

static char *ref(const char *rest)
{
    return ck_asprintf("%s/%s", reg, rest);
}

static const struct img_pull_opts http_opts = {.insecure_http = true, .timeout_s = 30};

static struct img_store *fresh_store(char **root_out)
{
    char *root = ck_asprintf("%s/store-%d", work, store_seq++);
    struct img_store *s = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (img_store_open(root, &s, &err) < 0)
        fail_msg("open: %s", err.msg);
    if (root_out)
        *root_out = root;
    else
        free(root);
    return s;
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    if (d)
        closedir(d);
    return n;
}

/* The store holds no image, blob, layer or staging dir. */
static void assert_store_empty(struct img_store *s)
{
    struct img_info *v;
    size_t n;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(img_list(s, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    img_info_free(v, n);
    const char *subs[] = {"blobs/sha256", "layers", "tmp"};
    for (size_t i = 0; i < 3; i++) {
        char *p = ck_asprintf("%s/%s", img_store_root(s), subs[i]);
        if (count_entries(p) != 0)
            fail_msg("%s is not empty", p);
        free(p);
    }
}

static void pull_ok(struct img_store *s, const char *r, const struct img_pull_opts *o,
                    char id[IMG_ID_MAX])
{
    struct ck_err err = CK_ERR_INIT;
    if (img_pull(s, r, o, id, &err) < 0)
        fail_msg("pull %s: %s", r, err.msg);
    assert_true(img_digest_valid(id));
}

static void check_busybox(struct img_store *s, const char *id)
{
    struct img_config cfg;
    char **dirs;
    size_t n;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(img_get(s, id, &cfg, &dirs, &n, &err), 0);
    assert_int_equal(n, 1);
    char *bb = ck_asprintf("%s/bin/busybox", dirs[0]);
    char *sh = ck_asprintf("%s/bin/sh", dirs[0]);
    struct stat st;
    assert_int_equal(stat(bb, &st), 0);
    assert_true(st.st_mode & S_IXUSR);
    assert_true(st.st_size > 100000);
    assert_int_equal(lstat(sh, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(cfg.ncmd, 1);
    assert_string_equal(cfg.cmd[0], "/bin/sh");
    assert_int_equal(cfg.nentrypoint, 0);
    free(bb);
    free(sh);
    img_strv_free(dirs);
    img_config_release(&cfg);
}

static void test_pull_oci_and_v2s2(void **state)
{
    (void)state;
    struct img_store *s = fresh_store(NULL);
    char id1[IMG_ID_MAX], id2[IMG_ID_MAX];
    char *r1 = ref("probe/busybox:oci"), *r2 = ref("probe/busybox:v2s2");
    pull_ok(s, r1, &http_opts, id1);
    check_busybox(s, id1);
    /* no insecure_http: the loopback registry refuses TLS, so plain http is used */
    pull_ok(s, r2, NULL, id2);
    check_busybox(s, id2);
    struct img_info *v;
    size_t n;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(img_list(s, &v, &n, &err), 0);
    size_t tags = 0;
    bool saw_digest = false;
    for (size_t i = 0; i < n; i++) {
        tags += v[i].ntags;
        assert_true(v[i].size > 1000000);
        assert_true(v[i].last_used > 0);
        for (size_t j = 0; j < v[i].ndigests; j++) {
            char *want = ck_asprintf("%s/probe/busybox@%s", reg, getenv("IT_BUSYBOX_DIGEST"));
            saw_digest = saw_digest || strcmp(v[i].repo_digests[j], want) == 0;
            free(want);
        }
    }
    assert_int_equal(tags, 2);
    assert_true(saw_digest);
    img_info_free(v, n);
    char got[IMG_ID_MAX];
    assert_int_equal(img_resolve(s, r1, got, &err), 0);
    assert_string_equal(got, id1);
    assert_int_equal(img_resolve(s, id1 + 7, got, &err), 0); /* bare hex */
    assert_string_equal(got, id1);
    char prefix[16];
    snprintf(prefix, sizeof(prefix), "%.12s", id1 + 7);
    assert_int_equal(img_resolve(s, prefix, got, &err), 0);
    assert_string_equal(got, id1);
    free(r1);
    free(r2);
    img_store_close(s);
}

static void test_pull_by_digest_and_index(void **state)
{
    (void)state;
    struct img_store *s = fresh_store(NULL);
    char *byd = ck_asprintf("%s/probe/busybox@%s", reg, getenv("IT_BUSYBOX_DIGEST"));
    char *tagged = ref("probe/busybox:oci");
    char *multi = ref("probe/multi:1");
    char *two = ref("probe/two:1");
    char id[IMG_ID_MAX], idt[IMG_ID_MAX], idm[IMG_ID_MAX], idarm[IMG_ID_MAX], id2[IMG_ID_MAX];
    pull_ok(s, byd, &http_opts, id);
    pull_ok(s, tagged, &http_opts, idt);
    assert_string_equal(id, idt);
    /* the index's linux/amd64 entry is busybox; its linux/arm64 entry is the two-layer image */
    pull_ok(s, multi, &http_opts, idm);
    assert_string_equal(idm, id);
    struct img_pull_opts arm = http_opts;
    arm.platform_arch = "arm64";
    pull_ok(s, multi, &arm, idarm);
    pull_ok(s, two, &http_opts, id2);
    assert_string_equal(idarm, id2);
    /* the same through a Docker manifest list (skopeo --format v2s2 --all) */
    char *dlist = ref("probe/dlist:1");
    char idl[IMG_ID_MAX], idlarm[IMG_ID_MAX];
    pull_ok(s, dlist, &http_opts, idl);
    pull_ok(s, dlist, &arm, idlarm);
    check_busybox(s, idl);
    char **dirs;
    size_t nd;
    struct ck_err e2 = CK_ERR_INIT;
    assert_int_equal(img_get(s, idlarm, NULL, &dirs, &nd, &e2), 0);
    assert_int_equal(nd, 2);
    img_strv_free(dirs);
    free(dlist);
    /* the repo digest recorded for an index is the index digest */
    char *want = ck_asprintf("%s/probe/multi@%s", reg, getenv("IT_MULTI_DIGEST"));
    char got[IMG_ID_MAX];
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(img_resolve(s, want, got, &err), 0);
    /* a wrong digest: NotFound from the registry */
    char *bad = ck_asprintf("%s/probe/busybox@sha256:%064d", reg, 0);
    assert_int_equal(img_pull(s, bad, &http_opts, got, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    free(bad);
    free(want);
    free(byd);
    free(tagged);
    free(multi);
    free(two);
    img_store_close(s);
}

static bool is_whiteout(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

static void overlay_check(struct img_store *s, const char *id, char **dirs)
{
    char *mnt = ck_asprintf("%s/mnt", work);
    char *lower, *want = ck_asprintf("%s:%s", dirs[1], dirs[0]); /* highest first */
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(img_lowerdir(s, id, &lower, &err), 0);
    assert_string_equal(lower, want);
    char *opts = ck_asprintf("lowerdir=%s", lower);
    free(lower);
    free(want);
    mkdir(mnt, 0755);
    if (mount("overlay", mnt, "overlay", MS_RDONLY, opts) < 0)
        fail_msg("overlay mount: %s", strerror(errno));
    const char *absent[] = {"etc/gone.txt", "data/old.txt"};
    const char *present[] = {"etc/hello.txt", "etc/new.txt", "data/new.txt", "bin/busybox"};
    for (size_t i = 0; i < 2; i++) {
        char *p = ck_asprintf("%s/%s", mnt, absent[i]);
        if (access(p, F_OK) == 0)
            fail_msg("%s visible through overlay", absent[i]);
        free(p);
    }
    for (size_t i = 0; i < 4; i++) {
        char *p = ck_asprintf("%s/%s", mnt, present[i]);
        if (access(p, F_OK) != 0)
            fail_msg("%s missing in overlay", present[i]);
        free(p);
    }
    assert_int_equal(umount2(mnt, MNT_DETACH), 0);
    free(mnt);
    free(opts);
}

static void test_two_layers_whiteout_overlay(void **state)
{
    (void)state;
    struct img_store *s = fresh_store(NULL);
    const char *tags[] = {"probe/two:1", "probe/two:v2s2"};
    for (size_t t = 0; t < 2; t++) {
        char *r = ref(tags[t]);
        char id[IMG_ID_MAX];
        pull_ok(s, r, &http_opts, id);
        struct img_config cfg;
        char **dirs;
        size_t n;
        struct ck_err err = CK_ERR_INIT;
        assert_int_equal(img_get(s, id, &cfg, &dirs, &n, &err), 0);
        assert_int_equal(n, 2);
        char *wh = ck_asprintf("%s/etc/gone.txt", dirs[1]);
        char *kept = ck_asprintf("%s/etc/gone.txt", dirs[0]);
        assert_true(is_whiteout(wh));
        assert_int_equal(access(kept, F_OK), 0); /* the lower layer is untouched */
        overlay_check(s, id, dirs);
        char *cmd[] = {"/bin/sh", "-c"}, *args[] = {"x"};
        char **argv;
        size_t argc;
        assert_int_equal(img_merge_command(&cfg, NULL, 0, NULL, 0, &argv, &argc, &err), 0);
        assert_int_equal(argc, 2);
        assert_string_equal(argv[0], "/bin/echo");
        assert_string_equal(argv[1], "two");
        img_strv_free(argv);
        assert_int_equal(img_merge_command(&cfg, cmd, 2, args, 1, &argv, &argc, &err), 0);
        assert_int_equal(argc, 3);
        assert_string_equal(argv[2], "x");
        img_strv_free(argv);
        assert_int_equal(cfg.nenv, 2);
        free(wh);
        free(kept);
        free(r);
        img_strv_free(dirs);
        img_config_release(&cfg);
    }
    img_store_close(s);
}

static void test_missing_and_unreachable(void **state)
{
    (void)state;
    struct img_store *s = fresh_store(NULL);
    char id[IMG_ID_MAX];
    struct ck_err err = CK_ERR_INIT;
    char *r1 = ref("probe/nosuchimage:1"), *r2 = ref("probe/busybox:nosuchtag");
    assert_int_equal(img_pull(s, r1, &http_opts, id, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    assert_int_equal(img_pull(s, r2, &http_opts, id, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    assert_non_null(strstr(err.msg, "not found"));
    assert_store_empty(s);
    struct img_pull_opts quick = http_opts;
    quick.timeout_s = 5;
    assert_int_equal(img_pull(s, "127.0.0.1:1/probe/busybox:1", &quick, id, &err), -1);
    assert_int_equal(err.reason, CK_R_SERVICE_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "unreachable"));
    assert_store_empty(s);
    /* a peer that accepts but never answers: Timeout after timeout_s */
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(ls, 8), 0);
    assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
    char *silent = ck_asprintf("127.0.0.1:%d/probe/busybox:1", ntohs(sa.sin_port));
    quick.timeout_s = 1;
    assert_int_equal(img_pull(s, silent, &quick, id, &err), -1);
    assert_int_equal(err.reason, CK_R_TIMEOUT);
    close(ls);
    free(silent);
    assert_store_empty(s);
    assert_int_equal(img_resolve(s, "probe/busybox:oci", id, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    assert_int_equal(img_pull(s, "Bad/Ref::x", &quick, id, &err), -1);
    assert_int_equal(err.reason, CK_R_BAD_REQUEST);
    free(r1);
    free(r2);
    img_store_close(s);
}

/* Flips one byte of the victim image's top layer in the registry's storage. */
static void test_corrupt_layer(void **state)
{
    (void)state;
    struct img_store *s = fresh_store(NULL);
    char *victim = ref("probe/victim:1");
    /* the victim shares the busybox base layer; find its top layer from the OCI layout */
    char *cmd = ck_asprintf("jq -r '.manifests[]|select(.annotations[\"org.opencontainers.image."
                            "ref.name\"]==\"two\")|.digest' %s/oci/index.json",
                            reg_dir);
    FILE *f = popen(cmd, "r");
    char man[128] = {0};
    assert_non_null(fgets(man, sizeof(man), f));
    pclose(f);
    man[strcspn(man, "\n")] = 0;
    free(cmd);
    cmd = ck_asprintf("jq -r '.layers[1].digest' %s/oci/blobs/sha256/%s", reg_dir, man + 7);
    f = popen(cmd, "r");
    char layer[128] = {0};
    assert_non_null(fgets(layer, sizeof(layer), f));
    pclose(f);
    layer[strcspn(layer, "\n")] = 0;
    char *path = ck_asprintf("%s/storage/docker/registry/v2/blobs/sha256/%.2s/%s/data", reg_dir,
                             layer + 7, layer + 7);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, 20), 1);
    c ^= 0xff;
    assert_int_equal(pwrite(fd, &c, 1, 20), 1);
    char id[IMG_ID_MAX];
    struct ck_err err = CK_ERR_INIT;
    int rc = img_pull(s, victim, &http_opts, id, &err);
    c ^= 0xff;
    assert_int_equal(pwrite(fd, &c, 1, 20), 1); /* restore */
    close(fd);
    assert_int_equal(rc, -1);
    assert_int_equal(err.reason, CK_R_CORRUPT);
    assert_non_null(strstr(err.msg, "digest mismatch"));
    assert_store_empty(s);
    pull_ok(s, victim, &http_opts, id); /* restored: now it pulls */
    free(cmd);
    free(path);
    free(victim);
    img_store_close(s);
}

static void test_tls(void **state)
{
    (void)state;
    struct img_store *s = fresh_store(NULL);
    char *r = ck_asprintf("%s/probe/busybox:tls", getenv("IT_TLS_ADDR"));
    char id[IMG_ID_MAX];
    struct ck_err err = CK_ERR_INIT;
    struct img_pull_opts o = {.timeout_s = 30};
    assert_int_equal(img_pull(s, r, &o, id, &err), -1); /* self-signed: refused */
    assert_int_equal(err.reason, CK_R_SERVICE_UNAVAILABLE);
    assert_store_empty(s);
    o.ca_file = getenv("IT_TLS_CA");
    pull_ok(s, r, &o, id);
    check_busybox(s, id);
    free(r);
    img_store_close(s);
}

static void test_import_oci(void **state)
{
    (void)state;
    struct img_store *s = fresh_store(NULL);
    char *layout = ck_asprintf("%s/oci", reg_dir);
    char id[IMG_ID_MAX], idr[IMG_ID_MAX];
    struct ck_err err = CK_ERR_INIT;
    if (img_import_oci(s, layout, "local/busybox:base", id, &err) < 0)
        fail_msg("import: %s", err.msg);
    check_busybox(s, id);
    assert_int_equal(img_resolve(s, "docker.io/local/busybox:base", idr, &err), 0);
    assert_string_equal(id, idr);
    /* the same layout as a tar.gz archive, selecting "two" by its ref.name annotation */
    char *tgz = ck_asprintf("%s/layout.tar.gz", work);
    char *cmd = ck_asprintf("tar -C %s -czf %s .", layout, tgz);
    assert_int_equal(system(cmd), 0);
    if (img_import_oci(s, tgz, "local/two:two", idr, &err) < 0)
        fail_msg("import archive: %s", err.msg);
    char **dirs;
    size_t n;
    assert_int_equal(img_get(s, idr, NULL, &dirs, &n, &err), 0);
    assert_int_equal(n, 2);
    img_strv_free(dirs);
    free(tgz);
    free(cmd);
    free(layout);
    img_store_close(s);
}

static void test_remove_and_gc(void **state)
{
    (void)state;
    struct img_store *s = fresh_store(NULL);
    char *rb = ref("probe/busybox:oci"), *rt = ref("probe/two:1");
    char idb[IMG_ID_MAX], idt[IMG_ID_MAX];
    pull_ok(s, rb, &http_opts, idb);
    pull_ok(s, rt, &http_opts, idt);
    char *layers = ck_asprintf("%s/layers", img_store_root(s));
    assert_int_equal(count_entries(layers), 2); /* the base layer is shared, stored once */
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(img_remove(s, rt, &err), 0);
    assert_int_equal(count_entries(layers), 1);
    assert_int_equal(img_resolve(s, rt, idt, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    assert_int_equal(img_remove(s, rt, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    check_busybox(s, idb);
    /* gc: in use keeps it; not in use and old enough removes it */
    const char *in_use[] = {idb};
    assert_int_equal(img_gc(s, INT64_MAX, in_use, 1, &err), 0);
    assert_int_equal(img_touch(s, idb), 0);
    assert_int_equal(img_gc(s, (int64_t)time(NULL) - 3600, NULL, 0, &err), 0);
    assert_int_equal(img_gc(s, INT64_MAX, NULL, 0, &err), 1);
    assert_store_empty(s);
    assert_int_equal(img_touch(s, idb), -1);
    free(layers);
    free(rb);
    free(rt);
    img_store_close(s);
}

struct churn {
    struct img_store *s;
    const char *ref; /* NULL: run gc */
    int failures;
    char msg[256];
};

static void *churn_run(void *arg)
{
    struct churn *c = arg;
    for (int i = 0; i < (c->ref ? 8 : 40); i++) {
        struct ck_err err = CK_ERR_INIT;
        if (!c->ref)
            usleep(10000);
        char id[IMG_ID_MAX];
        int rc = c->ref ? img_pull(c->s, c->ref, &http_opts, id, &err)
                        : img_gc(c->s, INT64_MAX, NULL, 0, &err);
        if (rc < 0) {
            c->failures++;
            snprintf(c->msg, sizeof(c->msg), "%s", err.msg);
        }
    }
    return NULL;
}

/* Pulls racing a gc that removes everything: every pull succeeds (a layer swept between the
 * pull's check and its commit makes it start over) and the store stays consistent. */
static void test_pull_vs_gc(void **state)
{
    (void)state;
    struct img_store *s = fresh_store(NULL);
    char *r1 = ref("probe/two:1"), *r2 = ref("probe/busybox:oci");
    ck_log_verbosity = getenv("IT_VERBOSE") ? 2 : 0;
    struct churn c[3] = {{.s = s, .ref = r1}, {.s = s, .ref = r2}, {.s = s, .ref = NULL}};
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, churn_run, &c[i]);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        if (c[i].failures)
            fail_msg("thread %d: %d failures, last: %s", i, c[i].failures, c[i].msg);
    }
    struct img_info *v;
    size_t n;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(img_list(s, &v, &n, &err), 0);
    for (size_t i = 0; i < n; i++) {
        char **dirs;
        size_t nd;
        if (img_get(s, v[i].id, NULL, &dirs, &nd, &err) < 0)
            fail_msg("%s inconsistent: %s", v[i].id, err.msg);
        img_strv_free(dirs);
    }
    img_info_free(v, n);
    assert_int_equal(img_gc(s, INT64_MAX, NULL, 0, &err) >= 0, 1);
    assert_store_empty(s);
    free(r1);
    free(r2);
    img_store_close(s);
}

static struct img_registries *regs_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct img_registries *regs_of(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *y = NULL;
    assert_true(vasprintf(&y, fmt, ap) > 0);
    va_end(ap);
    struct img_registries *rc = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (img_registries_parse(y, strlen(y), &rc, &err) < 0)
        fail_msg("registries file: %s\n%s", err.msg, y);
    free(y);
    return rc;
}

/* The registries file: mirrors tried in order (a dead one first), a mirror over https with
 * its configs' CA or insecure_skip_verify, a mirror with its configs' credentials. The image
 * keeps the name it was asked by; a tag pulled again through the mirror is re-resolved. */
static void test_registries_file(void **state)
{
    (void)state;
    const char *tls = getenv("IT_TLS_ADDR"), *ca = getenv("IT_TLS_CA");
    struct img_store *s = fresh_store(NULL);
    char id[IMG_ID_MAX], id2[IMG_ID_MAX];
    struct ck_err err = CK_ERR_INIT;
    struct img_registries *rc =
        regs_of("mirrors:\n  example.invalid:\n    endpoint: [\"http://127.0.0.1:1\", "
                "\"https://%s\"]\nconfigs:\n  \"%s\":\n    tls: {ca_file: \"%s\"}\n",
                tls, tls, ca);
    struct img_pull_opts o = {.timeout_s = 30, .registries = rc};
    pull_ok(s, "example.invalid/probe/busybox:tls", &o, id);
    check_busybox(s, id);
    assert_int_equal(img_resolve(s, "example.invalid/probe/busybox:tls", id2, &err), 0);
    assert_string_equal(id, id2);
    pull_ok(s, "example.invalid/probe/busybox:tls", &o, id2); /* HEAD: unchanged */
    assert_string_equal(id, id2);
    /* a tag no endpoint has: NotFound is not the error reported when another one failed */
    assert_int_equal(img_pull(s, "example.invalid/probe/busybox:nope", &o, id2, &err), -1);
    assert_int_equal(err.reason, CK_R_SERVICE_UNAVAILABLE);
    img_registries_free(rc);
    img_store_close(s);

    /* without the CA the mirror's certificate is refused; insecure_skip_verify accepts it */
    s = fresh_store(NULL);
    rc = regs_of("mirrors:\n  example.invalid:\n    endpoint: [\"https://%s\"]\n", tls);
    o.registries = rc;
    assert_int_equal(img_pull(s, "example.invalid/probe/busybox:tls", &o, id, &err), -1);
    assert_store_empty(s);
    img_registries_free(rc);
    rc = regs_of("mirrors:\n  example.invalid:\n    endpoint: [\"https://%s\"]\n"
                 "configs:\n  \"%s\":\n    tls: {insecure_skip_verify: true}\n",
                 tls, tls);
    o.registries = rc;
    pull_ok(s, "example.invalid/probe/busybox:tls", &o, id);
    img_registries_free(rc);
    img_store_close(s);

    const char *auth = getenv("IT_AUTH_ADDR");
    if (!auth)
        return;
    s = fresh_store(NULL);
    const char *pw[] = {"wrong", "pass"};
    for (int i = 0; i < 2; i++) {
        rc = regs_of("mirrors:\n  auth.invalid:\n    endpoint: [\"http://%s\"]\nconfigs:\n"
                     "  \"%s\":\n    auth: {username: user, password: %s}\n",
                     auth, auth, pw[i]);
        o.registries = rc;
        if (i == 0) {
            assert_int_equal(img_pull(s, "auth.invalid/probe/busybox:base", &o, id, &err), -1);
            assert_int_equal(err.reason, CK_R_UNAUTHORIZED);
            assert_store_empty(s);
        } else {
            pull_ok(s, "auth.invalid/probe/busybox:base", &o, id);
        }
        img_registries_free(rc);
    }
    img_store_close(s);
}

/* Bearer challenge -> token realm with Basic credentials -> retry; blobs behind a 307. */
static void test_bearer_auth(void **state)
{
    (void)state;
    const char *addr = getenv("IT_AUTH_ADDR");
    if (!addr) {
        print_message("SKIP: no python3 for the token-auth registry\n");
        skip();
    }
    struct img_store *s = fresh_store(NULL);
    char *r = ck_asprintf("%s/probe/busybox:base", addr);
    char id[IMG_ID_MAX];
    struct ck_err err = CK_ERR_INIT;
    struct img_pull_opts o = http_opts;
    assert_int_equal(img_pull(s, r, &o, id, &err), -1); /* no credentials: the realm says 401 */
    assert_int_equal(err.reason, CK_R_UNAUTHORIZED);
    o.username = "user";
    o.password = "wrong";
    assert_int_equal(img_pull(s, r, &o, id, &err), -1);
    assert_int_equal(err.reason, CK_R_UNAUTHORIZED);
    assert_store_empty(s);
    o.password = "pass";
    pull_ok(s, r, &o, id);
    check_busybox(s, id);
    char *two = ck_asprintf("%s/probe/busybox:two", addr),
         *miss = ck_asprintf("%s/probe/busybox:nope", addr);
    pull_ok(s, two, &o, id);
    assert_int_equal(img_pull(s, miss, &o, id, &err), -1);
    assert_int_equal(err.reason, CK_R_NOT_FOUND);
    /* every blob transfer of probe/flaky is cut halfway once: retried, then verified */
    struct img_store *s2 = fresh_store(NULL);
    char *flaky = ck_asprintf("%s/probe/flaky:two", addr);
    pull_ok(s2, flaky, &o, id);
    char **dirs;
    size_t nd;
    assert_int_equal(img_get(s2, id, NULL, &dirs, &nd, &err), 0);
    assert_int_equal(nd, 2);
    img_strv_free(dirs);
    free(flaky);
    img_store_close(s2);
    free(two);
    free(miss);
    free(r);
    img_store_close(s);
}

struct conc {
    struct img_store *s;
    const char *ref;
    char id[IMG_ID_MAX];
    int rc;
    char msg[256];
};

static void *conc_pull(void *arg)
{
    struct conc *c = arg;
    struct ck_err err = CK_ERR_INIT;
    c->rc = img_pull(c->s, c->ref, &http_opts, c->id, &err);
    snprintf(c->msg, sizeof(c->msg), "%s", err.msg);
    return NULL;
}

static void test_concurrent_pulls(void **state)
{
    (void)state;
    char *root;
    struct img_store *s = fresh_store(&root);
    struct img_store *s2 = NULL;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(img_store_open(root, &s2, &err), 0); /* a second handle on one root */
    char *r = ref("probe/two:1");
    struct conc c[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (struct conc){.s = i % 2 ? s2 : s, .ref = r};
        pthread_create(&th[i], NULL, conc_pull, &c[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        if (c[i].rc != 0)
            fail_msg("thread %d: %s", i, c[i].msg);
        assert_string_equal(c[i].id, c[0].id);
    }
    struct img_info *v;
    size_t n;
    assert_int_equal(img_list(s2, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].ntags, 1);
    img_info_free(v, n);
    char *tmp = ck_asprintf("%s/tmp", root);
    assert_int_equal(count_entries(tmp), 0);
    free(tmp);
    free(r);
    free(root);
    img_store_close(s);
    img_store_close(s2);
}

int main(void)
{
    reg = getenv("IT_REG");
    reg_dir = getenv("IT_REG_DIR");
    work = getenv("IT_WORK");
    if (!reg || !reg_dir || !work || !getenv("IT_TLS_ADDR")) {
        fprintf(stderr, "run me through tests/image/run.sh\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pull_oci_and_v2s2),
        cmocka_unit_test(test_pull_by_digest_and_index),
        cmocka_unit_test(test_two_layers_whiteout_overlay),
        cmocka_unit_test(test_missing_and_unreachable),
        cmocka_unit_test(test_corrupt_layer),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_import_oci),
        cmocka_unit_test(test_remove_and_gc),
        cmocka_unit_test(test_concurrent_pulls),
        cmocka_unit_test(test_bearer_auth),
        cmocka_unit_test(test_registries_file),
        cmocka_unit_test(test_pull_vs_gc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's volume helpers: downward API rendering (fieldRef incl. FormatMap quoting and
 * subscripts, resourceFieldRef with divisors and the allocatable fallback), downwardAPI
 * payloads (items, modes), the atomic writer's "..data" swap, hostPath type checks with
 * upstream's messages, and the size of memory-backed emptyDirs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/volumes_int.h"

static json_t *pod(void)
{
    json_error_t e;
    json_t *p = json_loads(
        "{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns1\",\"uid\":\"u-1\","
        "\"labels\":{\"tier\":\"front\",\"app\":\"a\\\"b\"},"
        "\"annotations\":{\"note\":\"line1\\nline2\"}},"
        "\"spec\":{\"nodeName\":\"n1\",\"serviceAccountName\":\"sa\",\"containers\":["
        "{\"name\":\"c1\",\"resources\":{\"limits\":{\"cpu\":\"1500m\",\"memory\":\"64Mi\"},"
        "\"requests\":{\"cpu\":\"250m\",\"memory\":\"32Mi\"}}},"
        "{\"name\":\"c2\"}]},\"status\":{\"podIP\":\"10.1.2.3\"}}",
        0, &e);
    assert_non_null(p);
    return p;
}

static char *field(const json_t *p, const char *path, bool env)
{
    char *out = NULL;
    struct ck_err err = CK_ERR_INIT;
    int rc = ag_dapi_field(p, path, env, "192.0.2.1", NULL, &out, &err);
    if (rc < 0) {
        char *m = strdup(err.msg);
        ck_err_clear(&err);
        return m;
    }
    return out;
}

static void test_field_ref(void **state)
{
    (void)state;
    json_t *p = pod();
    char *v;
    assert_string_equal(v = field(p, "metadata.name", false), "web");
    free(v);
    assert_string_equal(v = field(p, "metadata.namespace", false), "ns1");
    free(v);
    assert_string_equal(v = field(p, "metadata.uid", false), "u-1");
    free(v);
    /* FormatMap: sorted keys, Go-quoted values, no trailing newline */
    assert_string_equal(v = field(p, "metadata.labels", false), "app=\"a\\\"b\"\ntier=\"front\"");
    free(v);
    assert_string_equal(v = field(p, "metadata.annotations", false), "note=\"line1\\nline2\"");
    free(v);
    assert_string_equal(v = field(p, "metadata.labels['tier']", false), "front");
    free(v);
    assert_string_equal(v = field(p, "metadata.annotations['none']", false), "");
    free(v);
    /* runtime fields only for env */
    assert_string_equal(v = field(p, "spec.nodeName", false),
                        "unsupported fieldPath: spec.nodeName");
    free(v);
    assert_string_equal(v = field(p, "spec.nodeName", true), "n1");
    free(v);
    assert_string_equal(v = field(p, "status.hostIP", true), "192.0.2.1");
    free(v);
    assert_string_equal(v = field(p, "status.podIP", true), "10.1.2.3");
    free(v);
    assert_string_equal(v = field(p, "spec.serviceAccountName", true), "sa");
    free(v);
    json_decref(p);
}

static char *res(const json_t *p, const char *ctr, const char *json)
{
    json_t *ref = json_loads(json, 0, NULL);
    assert_non_null(ref);
    struct ag_node_alloc na = {4000, 8LL << 30, 100LL << 30};
    char *out = NULL;
    struct ck_err err = CK_ERR_INIT;
    if (ag_dapi_resource(p, ctr, ref, &na, &out, &err) < 0) {
        out = strdup(err.msg);
        ck_err_clear(&err);
    }
    json_decref(ref);
    return out;
}

static void test_resource_field_ref(void **state)
{
    (void)state;
    json_t *p = pod();
    char *v;
    /* cpu: ceil(milli / divisor milli), default divisor 1 */
    assert_string_equal(v = res(p, "c1", "{\"resource\":\"limits.cpu\"}"), "2");
    free(v);
    assert_string_equal(v = res(p, "c1", "{\"resource\":\"limits.cpu\",\"divisor\":\"1m\"}"),
                        "1500");
    free(v);
    assert_string_equal(v = res(p, "c1", "{\"resource\":\"requests.cpu\",\"divisor\":\"1m\"}"),
                        "250");
    free(v);
    assert_string_equal(v = res(p, "c1", "{\"resource\":\"limits.memory\"}"), "67108864");
    free(v);
    assert_string_equal(v = res(p, "c1", "{\"resource\":\"limits.memory\",\"divisor\":\"1Mi\"}"),
                        "64");
    free(v);
    assert_string_equal(v = res(p, "c1", "{\"resource\":\"requests.memory\",\"divisor\":\"1Gi\"}"),
                        "1");
    free(v);
    /* no limit: node allocatable; containerName picks another container */
    assert_string_equal(v = res(p, "c1", "{\"containerName\":\"c2\",\"resource\":\"limits.cpu\"}"),
                        "4");
    free(v);
    assert_string_equal(
        v = res(p, "c1",
                "{\"containerName\":\"c2\",\"resource\":\"limits.memory\",\"divisor\":\"1Mi\"}"),
        "8192");
    free(v);
    assert_string_equal(
        v = res(p, "c1", "{\"containerName\":\"c2\",\"resource\":\"requests.cpu\"}"), "0");
    free(v);
    assert_string_equal(v = res(p, "c1", "{\"containerName\":\"zz\",\"resource\":\"limits.cpu\"}"),
                        "container zz not found");
    free(v);
    assert_string_equal(v = res(p, "c1", "{\"resource\":\"limits.gpu\"}"),
                        "unsupported container resource : limits.gpu");
    free(v);
    json_decref(p);
}

static void test_dapi_payload_and_atomic_write(void **state)
{
    (void)state;
    json_t *p = pod();
    json_t *items = json_loads(
        "[{\"path\":\"labels\",\"fieldRef\":{\"fieldPath\":\"metadata.labels\"}},"
        "{\"path\":\"sub/name\",\"fieldRef\":{\"fieldPath\":\"metadata.name\"},\"mode\":384},"
        "{\"path\":\"mem\",\"resourceFieldRef\":{\"containerName\":\"c1\",\"resource\":"
        "\"limits.memory\",\"divisor\":\"1Mi\"}}]",
        0, NULL);
    struct ag_node_alloc na = {1000, 1LL << 30, 1LL << 30};
    struct ag_payload pl = {0};
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(ag_dapi_payload(p, items, 0444, &na, &pl, &err), 0);
    assert_int_equal(pl.n, 3);
    assert_string_equal(pl.v[1].path, "sub/name");
    assert_int_equal(pl.v[1].mode, 0600);
    assert_int_equal(pl.v[0].mode, 0444);
    assert_memory_equal(pl.v[2].data, "64", 2);
    char dir[] = "/tmp/ck-unit-vol-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(ag_vol_atomic_write(dir, &pl, &err), 0);
    char path[PATH_MAX], buf[256] = "";
    snprintf(path, sizeof(path), "%s/sub/name", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "web");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(path, sizeof(path), "%s/..data", dir);
    char first[256] = "", second[256] = "";
    assert_true(readlink(path, first, sizeof(first) - 1) > 0);
    char h1[17], h2[17];
    ag_payload_hash(&pl, h1);
    ag_payload_free(&pl);
    /* a label update: a new payload, swapped in through ..data */
    json_object_set_new(json_object_get(json_object_get(p, "metadata"), "labels"), "tier",
                        json_string("back"));
    assert_int_equal(ag_dapi_payload(p, items, 0444, &na, &pl, &err), 0);
    ag_payload_hash(&pl, h2);
    assert_string_not_equal(h1, h2);
    assert_int_equal(ag_vol_atomic_write(dir, &pl, &err), 0);
    assert_true(readlink(path, second, sizeof(second) - 1) > 0);
    assert_string_not_equal(first, second);
    snprintf(path, sizeof(path), "%s/labels", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    assert_string_equal(buf, "app=\"a\\\"b\"\ntier=\"back\"");
    ag_payload_free(&pl);
    /* a bad item path is refused */
    json_t *bad =
        json_loads("[{\"path\":\"../x\",\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}]", 0, NULL);
    assert_int_equal(ag_dapi_payload(p, bad, 0644, &na, &pl, &err), -1);
    ck_err_clear(&err);
    ag_payload_free(&pl);
    json_decref(bad);
    ag_vol_rm_rf(dir);
    json_decref(items);
    json_decref(p);
}

static char *check(const char *path, const char *type)
{
    struct ck_err err = CK_ERR_INIT;
    if (ag_hostpath_check(path, type, &err) == 0)
        return strdup("ok");
    char *m = strdup(err.msg);
    ck_err_clear(&err);
    return m;
}

static void hp_expect(const char *path, const char *type, const char *want)
{
    char *got = check(path, type);
    assert_string_equal(got, want);
    free(got);
}

static void test_hostpath_types(void **state)
{
    (void)state;
    char dir[] = "/tmp/ck-unit-hp-XXXXXX", p[PATH_MAX], m[PATH_MAX + 80];
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof(p), "%s/new/deep", dir);
    hp_expect(p, "DirectoryOrCreate", "ok");
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0755);
    hp_expect(p, "Directory", "ok");
    snprintf(m, sizeof(m), "hostPath type check failed: %s is not a file", p);
    hp_expect(p, "File", m);
    hp_expect(p, "FileOrCreate", m);
    snprintf(p, sizeof(p), "%s/f", dir);
    snprintf(m, sizeof(m), "hostPath type check failed: %s is not a directory", p);
    hp_expect(p, "Directory", m); /* missing */
    hp_expect(p, "FileOrCreate", "ok");
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 0);
    hp_expect(p, "File", "ok");
    hp_expect(p, "Directory", m); /* a file */
    hp_expect(p, "DirectoryOrCreate", m);
    snprintf(m, sizeof(m), "hostPath type check failed: %s is not a socket file", p);
    hp_expect(p, "Socket", m);
    snprintf(m, sizeof(m), "hostPath type check failed: %s is not a character device", p);
    hp_expect(p, "CharDevice", m);
    snprintf(m, sizeof(m), "hostPath type check failed: %s is not a block device", p);
    hp_expect(p, "BlockDevice", m);
    hp_expect("/dev/null", "CharDevice", "ok");
    hp_expect(p, "Fancy", "Fancy is an invalid volume type");
    hp_expect("/no/such/path", "", "ok"); /* no type: no check */
    /* a socket */
    snprintf(p, sizeof(p), "%s/s.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    hp_expect(p, "Socket", "ok");
    close(fd);
    ag_vol_rm_rf(dir);
}

static void test_tmpfs_size(void **state)
{
    (void)state;
    json_t *p = pod(); /* c2 has no memory limit: the pod limit does not count */
    json_t *ed = json_loads("{\"medium\":\"Memory\"}", 0, NULL);
    assert_int_equal(ag_tmpfs_size(p, ed, 1LL << 30), 1LL << 30);
    json_object_set_new(ed, "sizeLimit", json_string("16Mi"));
    assert_int_equal(ag_tmpfs_size(p, ed, 1LL << 30), 16LL << 20);
    json_t *c2 = json_array_get(json_object_get(json_object_get(p, "spec"), "containers"), 1);
    json_object_set_new(c2, "resources", json_loads("{\"limits\":{\"memory\":\"8Mi\"}}", 0, NULL));
    assert_int_equal(ag_tmpfs_size(p, ed, 1LL << 30), 16LL << 20); /* 64Mi + 8Mi > 16Mi */
    json_object_set_new(ed, "sizeLimit", json_string("1Gi"));
    assert_int_equal(ag_tmpfs_size(p, ed, 1LL << 30), 72LL << 20); /* the pod's limit */
    json_decref(ed);
    json_decref(p);
}

static void test_go_quote(void **state)
{
    (void)state;
    char *out = NULL;
    ag_go_quote("a\tb\x01\\", &out);
    assert_string_equal(out, "\"a\\tb\\x01\\\\\"");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_ref),
        cmocka_unit_test(test_resource_field_ref),
        cmocka_unit_test(test_dapi_payload_and_atomic_write),
        cmocka_unit_test(test_hostpath_types),
        cmocka_unit_test(test_tmpfs_size),
        cmocka_unit_test(test_go_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

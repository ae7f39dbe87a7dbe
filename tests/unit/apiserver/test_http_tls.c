/* SPDX-License-Identifier: Apache-2.0 */
/* Certificates and the admin token on disk: first start generates a CA and a serving
 * certificate that verifies against it for 127.0.0.1/localhost, keys are 0600, later starts
 * reuse every file byte for byte; the token is generated once, reused, and validated. */
#include "apiserver/authn/auth.h"
#include "apiserver/http/tls.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/ck-http-tls-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *name, size_t *len)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 16);
    *len = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    return buf;
}

static int mode_of(const char *name)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    assert_int_equal(stat(p, &st), 0);
    return st.st_mode & 0777;
}

static X509 *load(const char *name)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    return x;
}

static void test_certs_generated_and_verify(void **state)
{
    struct ck_err err = CK_ERR_INIT;

    (void)state;
    assert_int_equal(tls_ensure_certs(dir, "10.1.2.3", &err), 0);
    assert_int_equal(mode_of("ca.key"), 0600);
    assert_int_equal(mode_of("apiserver.key"), 0600);
    X509 *ca = load("ca.crt"), *leaf = load("apiserver.crt");
    X509_STORE *store = X509_STORE_new();
    X509_STORE_add_cert(store, ca);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf, NULL);
    assert_int_equal(X509_verify_cert(ctx), 1);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    assert_int_equal(X509_check_ip_asc(leaf, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(leaf, "::1", 0), 1);
    assert_int_equal(X509_check_ip_asc(leaf, "10.1.2.3", 0), 1);
    assert_int_equal(X509_check_host(leaf, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(leaf, "10.9.9.9", 0), 0);
    assert_int_equal(X509_check_ca(ca) > 0, 1);
    assert_int_equal(X509_check_ca(leaf), 0);
    X509_free(ca);
    X509_free(leaf);
    /* a server context loads them */
    char c[128], k[128];
    snprintf(c, sizeof(c), "%s/apiserver.crt", dir);
    snprintf(k, sizeof(k), "%s/apiserver.key", dir);
    SSL_CTX *sc = tls_server_ctx_new(c, k, &err);
    assert_non_null(sc);
    SSL_CTX_free(sc);
    /* a mismatched key is refused with a message */
    snprintf(k, sizeof(k), "%s/ca.key", dir);
    assert_null(tls_server_ctx_new(c, k, &err));
    assert_non_null(strstr(err.msg, "serving certificate"));
}

static void test_certs_reused(void **state)
{
    struct ck_err err = CK_ERR_INIT;
    const char *files[] = {"ca.crt", "ca.key", "apiserver.crt", "apiserver.key"};
    size_t l1, l2;

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        char *before = slurp(files[i], &l1);
        assert_int_equal(tls_ensure_certs(dir, "10.1.2.3", &err), 0);
        char *after = slurp(files[i], &l2);
        assert_int_equal(l1, l2);
        assert_memory_equal(before, after, l1);
        free(before);
        free(after);
    }
    char *b64 = tls_file_base64("/dev/null", &err);
    assert_string_equal(b64, "");
    free(b64);
    assert_null(tls_file_base64("/nonexistent/x", &err));
}

static void test_token(void **state)
{
    struct ck_err err = CK_ERR_INIT;
    char path[128];

    (void)state;
    char *t1 = auth_admin_token(dir, NULL, &err);
    assert_non_null(t1);
    assert_int_equal(strlen(t1), 64);
    assert_int_equal(strspn(t1, "0123456789abcdef"), 64);
    assert_int_equal(mode_of("token"), 0600);
    char *t2 = auth_admin_token(dir, NULL, &err);
    assert_string_equal(t1, t2);
    char *t3 = auth_admin_token(dir, "given-token", &err);
    assert_string_equal(t3, "given-token");
    assert_null(auth_admin_token(dir, "", &err));
    assert_null(auth_admin_token(dir, "with space", &err));
    snprintf(path, sizeof(path), "%s/token", dir);
    FILE *f = fopen(path, "w");
    fputs("bad token\n", f);
    fclose(f);
    assert_null(auth_admin_token(dir, NULL, &err));
    assert_non_null(strstr(err.msg, "does not hold a valid token"));
    free(t1);
    free(t2);
    free(t3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certs_generated_and_verify),
        cmocka_unit_test(test_certs_reused),
        cmocka_unit_test(test_token),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

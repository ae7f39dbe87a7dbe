/* SPDX-License-Identifier: Apache-2.0 */
/* Encryption at rest: EncryptionConfiguration parsing, the aesgcm/aescbc/secretbox/identity
 * transformers (round trips, upstream's prefixes and layouts checked by decrypting by hand,
 * wrong keys, identity fallback, key rotation) and the store wrapper over a real LMDB store. */
#include "apiserver/storage/transform.h"
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 32 bytes "0123456789abcdef0123456789abcdef" and another 32 bytes, in base64 */
#define K32A "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
#define K32B "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="
#define K16 "MDEyMzQ1Njc4OWFiY2RlZg=="

static struct enc_config *parse(const char *text, struct ck_err *err)
{
    struct enc_config *c = NULL;
    if (enc_config_parse(text, strlen(text), &c, err) < 0)
        return NULL;
    return c;
}

static char *config(const char *providers)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    fprintf(f,
            "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
            "resources:\n- resources: [secrets, configmaps]\n  providers:\n%s",
            providers);
    fclose(f);
    return s;
}

static struct enc_config *must(const char *providers)
{
    char *text = config(providers);
    struct ck_err err = CK_ERR_INIT;
    struct enc_config *c = parse(text, &err);
    if (!c)
        fail_msg("parse: %s", err.msg);
    free(text);
    return c;
}

static const char KEY[] = "/registry/core/secrets/default/s1";
static const char PLAIN[] = "{\"kind\":\"Secret\",\"data\":{\"a\":\"c2VjcmV0\"}}";

static void seal(const struct enc_config *c, void **out, size_t *n)
{
    const struct enc_transformer *t = enc_config_for(c, "", "secrets");
    assert_non_null(t);
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(enc_to_storage(t, KEY, strlen(KEY), PLAIN, strlen(PLAIN), out, n, &err), 0);
}

static bool last_stale;

static int open_(const struct enc_config *c, const char *key, const void *in, size_t n, char **out,
                 struct ck_err *err)
{
    size_t m = 0;
    const struct enc_transformer *t = enc_config_for(c, "", "secrets");
    return enc_from_storage(t, key, strlen(key), in, n, (void **)out, &m, &last_stale, err);
}

static void test_aesgcm_layout(void **state)
{
    (void)state;
    struct enc_config *c =
        must("  - aesgcm:\n      keys:\n      - name: key1\n        secret: " K32A "\n");
    void *ct;
    size_t n;
    seal(c, &ct, &n);
    const char *pre = "k8s:enc:aesgcm:v1:key1:";
    size_t pl = strlen(pre);
    assert_memory_equal(ct, pre, pl);
    assert_int_equal(n, pl + 12 + strlen(PLAIN) + 16);
    assert_null(memmem(ct, n, "c2VjcmV0", 8));
    /* by hand: nonce | ciphertext | tag, the storage key as additional data */
    const unsigned char *p = (const unsigned char *)ct + pl;
    unsigned char out[256];
    int l = 0, l2 = 0;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    assert_int_equal(EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), NULL,
                                        (const unsigned char *)"0123456789abcdef0123456789abcdef",
                                        p),
                     1);
    assert_int_equal(EVP_DecryptUpdate(x, NULL, &l, (const unsigned char *)KEY, (int)strlen(KEY)),
                     1);
    size_t cl = n - pl - 12 - 16;
    assert_int_equal(EVP_DecryptUpdate(x, out, &l, p + 12, (int)cl), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16, (void *)(p + 12 + cl)), 1);
    assert_int_equal(EVP_DecryptFinal_ex(x, out + l, &l2), 1);
    EVP_CIPHER_CTX_free(x);
    assert_int_equal(l + l2, strlen(PLAIN));
    assert_memory_equal(out, PLAIN, strlen(PLAIN));
    /* and through the transformer */
    char *back;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(open_(c, KEY, ct, n, &back, &err), 0);
    assert_string_equal(back, PLAIN);
    free(back);
    /* another key path: the authenticated data differs */
    assert_int_equal(open_(c, "/registry/core/secrets/default/s2", ct, n, &back, &err), -1);
    assert_non_null(strstr(err.msg, "message authentication failed"));
    /* two seals of one value differ (random nonce) */
    void *ct2;
    size_t n2;
    seal(c, &ct2, &n2);
    assert_int_equal(n, n2);
    assert_memory_not_equal(ct, ct2, n);
    free(ct);
    free(ct2);
    enc_config_free(c);
}

static void test_aescbc_layout(void **state)
{
    (void)state;
    struct enc_config *c =
        must("  - aescbc:\n      keys:\n      - name: k\n        secret: " K16 "\n");
    void *ct;
    size_t n;
    seal(c, &ct, &n);
    const char *pre = "k8s:enc:aescbc:v1:k:";
    size_t pl = strlen(pre);
    assert_memory_equal(ct, pre, pl);
    assert_int_equal((n - pl) % 16, 0);
    assert_int_equal(n - pl - 16, (strlen(PLAIN) / 16 + 1) * 16); /* PKCS#7 always pads */
    const unsigned char *p = (const unsigned char *)ct + pl;
    unsigned char out[256];
    int l = 0, l2 = 0;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    assert_int_equal(EVP_DecryptInit_ex(x, EVP_aes_128_cbc(), NULL,
                                        (const unsigned char *)"0123456789abcdef", p),
                     1);
    assert_int_equal(EVP_DecryptUpdate(x, out, &l, p + 16, (int)(n - pl - 16)), 1);
    assert_int_equal(EVP_DecryptFinal_ex(x, out + l, &l2), 1);
    EVP_CIPHER_CTX_free(x);
    assert_int_equal(l + l2, strlen(PLAIN));
    char *back;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(open_(c, KEY, ct, n, &back, &err), 0);
    assert_string_equal(back, PLAIN);
    free(back);
    /* damaged: a length that is no multiple of the block */
    assert_int_equal(open_(c, KEY, ct, n - 3, &back, &err), -1);
    assert_non_null(strstr(err.msg, "unable to transform key"));
    free(ct);
    enc_config_free(c);
}

static void test_secretbox_layout(void **state)
{
    (void)state;
    struct enc_config *c =
        must("  - secretbox:\n      keys:\n      - name: sb\n        secret: " K32A "\n");
    void *ct;
    size_t n;
    seal(c, &ct, &n);
    const char *pre = "k8s:enc:secretbox:v1:sb:";
    size_t pl = strlen(pre);
    assert_memory_equal(ct, pre, pl);
    assert_int_equal(n, pl + 24 + 16 + strlen(PLAIN));
    const unsigned char *p = (const unsigned char *)ct + pl;
    unsigned char out[256];
    assert_int_equal(
        crypto_secretbox_open_easy(out, p + 24, n - pl - 24, p,
                                   (const unsigned char *)"0123456789abcdef0123456789abcdef"),
        0);
    assert_memory_equal(out, PLAIN, strlen(PLAIN));
    char *back;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(open_(c, KEY, ct, n, &back, &err), 0);
    assert_string_equal(back, PLAIN);
    free(back);
    free(ct);
    enc_config_free(c);
}

static void test_wrong_key(void **state)
{
    (void)state;
    const char *kinds[] = {"aesgcm", "secretbox", "aescbc"};
    for (int i = 0; i < 3; i++) {
        char a[256], b[256];
        snprintf(a, sizeof(a), "  - %s:\n      keys:\n      - name: k\n        secret: %s\n",
                 kinds[i], K32A);
        snprintf(b, sizeof(b), "  - %s:\n      keys:\n      - name: k\n        secret: %s\n",
                 kinds[i], K32B);
        struct enc_config *ca = must(a), *cb = must(b);
        void *ct;
        size_t n;
        seal(ca, &ct, &n);
        char *back = NULL;
        struct ck_err err = CK_ERR_INIT;
        /* aescbc with a wrong key fails its padding check nearly always; retry new IVs */
        int rc = open_(cb, KEY, ct, n, &back, &err);
        for (int t = 0; rc == 0 && i == 2 && t < 8; t++) {
            free(back);
            free(ct);
            seal(ca, &ct, &n);
            rc = open_(cb, KEY, ct, n, &back, &err);
        }
        assert_int_equal(rc, -1);
        assert_non_null(
            strstr(err.msg, "unable to transform key \"/registry/core/secrets/default/s1\""));
        assert_int_equal(err.reason, CK_R_INTERNAL);
        free(ct);
        enc_config_free(ca);
        enc_config_free(cb);
    }
}

static void test_identity_fallback_and_rotation(void **state)
{
    (void)state;
    struct enc_config *with_id =
        must("  - aesgcm:\n      keys:\n      - name: new\n        secret: " K32B
             "\n      - name: old\n        secret: " K32A "\n  - identity: {}\n");
    struct enc_config *no_id =
        must("  - aesgcm:\n      keys:\n      - name: old\n        secret: " K32A "\n");
    char *back;
    struct ck_err err = CK_ERR_INIT;
    /* plain data written before encryption was on: read, and stale (to be rewritten) */
    assert_int_equal(open_(with_id, KEY, PLAIN, strlen(PLAIN), &back, &err), 0);
    assert_string_equal(back, PLAIN);
    assert_true(last_stale);
    free(back);
    assert_int_equal(open_(no_id, KEY, PLAIN, strlen(PLAIN), &back, &err), -1);
    assert_non_null(strstr(err.msg, "no matching prefix found"));
    /* written with "old", read by the rotated configuration (new first, old still listed) */
    void *ct;
    size_t n;
    seal(no_id, &ct, &n);
    assert_int_equal(open_(with_id, KEY, ct, n, &back, &err), 0);
    assert_string_equal(back, PLAIN);
    assert_true(last_stale);
    free(back);
    free(ct);
    /* the rotated configuration writes with "new", which is not stale */
    seal(with_id, &ct, &n);
    assert_memory_equal(ct, "k8s:enc:aesgcm:v1:new:", 22);
    assert_int_equal(open_(with_id, KEY, ct, n, &back, &err), 0);
    assert_false(last_stale);
    free(back);
    /* identity first: writes plain, still reads encrypted data */
    struct enc_config *id_first =
        must("  - identity: {}\n  - aesgcm:\n      keys:\n      - name: new\n"
             "        secret: " K32B "\n");
    assert_int_equal(open_(id_first, KEY, ct, n, &back, &err), 0);
    assert_string_equal(back, PLAIN);
    free(back);
    free(ct);
    seal(id_first, &ct, &n);
    assert_int_equal(n, strlen(PLAIN));
    assert_memory_equal(ct, PLAIN, n);
    free(ct);
    enc_config_free(with_id);
    enc_config_free(no_id);
    enc_config_free(id_first);
}

static void test_config_errors(void **state)
{
    (void)state;
    struct {
        const char *text, *want;
    } cases[] = {
        {"kind: Foo\napiVersion: v1\n", "EncryptionConfiguration"},
        {"apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n", "resources"},
        {"apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
         "- resources: [secrets]\n",
         "providers"},
        {"apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
         "- resources: [secrets]\n  providers:\n  - aesgcm: {keys: [{name: a, secret: YWJj}]}\n",
         "16, 24, or 32"},
        {"apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
         "- resources: [secrets]\n  providers:\n  - secretbox: {keys: [{name: a, secret: " K16
         "}]}\n",
         "32 bytes"},
        {"apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
         "- resources: [secrets]\n  providers:\n  - aesgcm: {keys: [{name: 'a:b', secret: " K16
         "}]}\n",
         "name"},
        {"apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
         "- resources: [secrets]\n  providers:\n  - kms: {name: x}\n",
         "kms"},
        {"apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
         "- resources: [secrets]\n  providers:\n  - aesgcm: {keys: [{name: a, secret: '!!'}]}\n",
         "base64"},
        {"apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
         "- resources: [secrets]\n  providers:\n  - identity: {}\n    aescbc: {}\n",
         "exactly one provider"},
        {"apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
         "- resources: [secrets, secrets]\n  providers:\n  - identity: {}\n",
         "Duplicate"},
        {"{{{", "encryption provider configuration"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ck_err err = CK_ERR_INIT;
        assert_null(parse(cases[i].text, &err));
        if (!strstr(err.msg, cases[i].want))
            fail_msg("case %zu: %s lacks %s", i, err.msg, cases[i].want);
    }
}

static void test_resource_matching(void **state)
{
    (void)state;
    struct ck_err err = CK_ERR_INIT;
    struct enc_config *c =
        parse("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
              "- resources: ['*.*']\n  providers: [{identity: {}}]\n"
              "- resources: ['*.apps']\n  providers: [{secretbox: {keys: [{name: s, secret: " K32A
              "}]}}]\n"
              "- resources: [secrets, deployments.apps]\n  providers: [{aesgcm: {keys: [{name: g, "
              "secret: " K32A "}]}}]\n",
              &err);
    assert_non_null(c);
    assert_int_equal(enc_config_for(c, "", "secrets")->keys[0].kind, ENC_AESGCM);
    assert_int_equal(enc_config_for(c, "apps", "deployments")->keys[0].kind, ENC_AESGCM);
    assert_int_equal(enc_config_for(c, "apps", "daemonsets")->keys[0].kind, ENC_SECRETBOX);
    assert_int_equal(enc_config_for(c, "", "configmaps")->keys[0].kind, ENC_IDENTITY);
    enc_config_free(c);
    c = must("  - identity: {}\n");
    assert_null(enc_config_for(c, "", "pods"));
    assert_non_null(enc_config_for(c, "", "configmaps"));
    enc_config_free(c);
}

/* ---- the store wrapper over a real LMDB store ------------------------------------------- */

struct seen {
    char value[512];
    char prev[512];
    int n;
};

static void on_event(void *arg, const struct store_event *ev)
{
    struct seen *s = arg;
    if (strncmp(ev->kv.key, "/registry/core/secrets/", 23))
        return;
    snprintf(s->value, sizeof(s->value), "%.*s", (int)ev->kv.value_len, (const char *)ev->kv.value);
    if (ev->has_prev)
        snprintf(s->prev, sizeof(s->prev), "%.*s", (int)ev->prev.value_len,
                 (const char *)ev->prev.value);
    s->n++;
}

static void test_store_wrap(void **state)
{
    (void)state;
    char dir[] = "/tmp/ck-test-encrypt-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct store_lmdb_opts o = {.dir = dir, .no_sync = true};
    struct store *inner, *st;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(store_lmdb_open(&o, &inner, &err), 0);
    /* a plain Secret from before encryption was turned on */
    const char *k0 = "/registry/core/secrets/default/old";
    assert_int_equal(
        store_put(inner, k0, strlen(k0), PLAIN, strlen(PLAIN), STORE_ANY, NULL, NULL, &err), 0);
    assert_int_equal(enc_store_wrap(inner,
                                    must("  - aesgcm:\n      keys:\n      - name: k\n"
                                         "        secret: " K32A "\n  - identity: {}\n"),
                                    &st, &err),
                     0);
    assert_ptr_not_equal(st, inner);
    assert_string_equal(st->ops->name, "lmdb");
    struct seen seen = {0};
    int64_t from;
    int id = store_subscribe(st, on_event, &seen, &from, &err);
    assert_true(id >= 0);
    const char *k1 = "/registry/core/secrets/default/s1";
    const char *pod = "/registry/core/pods/default/p1";
    assert_int_equal(
        store_put(st, k1, strlen(k1), PLAIN, strlen(PLAIN), STORE_ABSENT, NULL, NULL, &err), 0);
    assert_int_equal(
        store_put(st, pod, strlen(pod), "{\"kind\":\"Pod\"}", 14, STORE_ABSENT, NULL, NULL, &err),
        0);
    /* the committed-event stream carries plain bytes */
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.value, PLAIN);
    /* the store holds ciphertext for the Secret, plain bytes for the Pod */
    struct store_kv kv;
    bool found;
    assert_int_equal(inner->ops->get(inner, k1, strlen(k1), 0, &kv, &found, &err), 0);
    assert_true(found);
    assert_memory_equal(kv.value, "k8s:enc:aesgcm:v1:k:", 20);
    store_kv_release(&kv);
    assert_int_equal(inner->ops->get(inner, pod, strlen(pod), 0, &kv, &found, &err), 0);
    assert_memory_equal(kv.value, "{\"kind\":\"Pod\"}", 14);
    store_kv_release(&kv);
    /* reads through the wrapper: get, range, events_since, the previous state of a put */
    assert_int_equal(store_get(st, k1, strlen(k1), 0, &kv, &found, &err), 0);
    assert_string_equal(kv.value, PLAIN);
    store_kv_release(&kv);
    struct store_range_req rq = {.prefix = "/registry/core/secrets/", .prefix_len = 23};
    struct store_range_result rr;
    assert_int_equal(store_range(st, &rq, &rr, &err), 0);
    assert_int_equal(rr.nkvs, 2);
    assert_string_equal(rr.kvs[0].value, PLAIN); /* "old", read as identity */
    assert_string_equal(rr.kvs[1].value, PLAIN);
    store_range_result_release(&rr);
    /* "old" is stale until it is written again; s1 never was; a plain store never is */
    assert_true(enc_store_stale(st, k0, strlen(k0)));
    assert_false(enc_store_stale(st, k1, strlen(k1)));
    assert_false(enc_store_stale(inner, k0, strlen(k0)));
    assert_int_equal(
        store_put(st, k0, strlen(k0), PLAIN, strlen(PLAIN), STORE_ANY, NULL, NULL, &err), 0);
    assert_false(enc_store_stale(st, k0, strlen(k0)));
    assert_int_equal(inner->ops->get(inner, k0, strlen(k0), 0, &kv, &found, &err), 0);
    assert_memory_equal(kv.value, "k8s:enc:aesgcm:v1:k:", 20);
    store_kv_release(&kv);
    struct store_events evs;
    assert_int_equal(store_events_since(st, 1, 0, &evs, &err), 0);
    for (size_t i = 0; i < evs.nevents; i++)
        if (!strncmp(evs.events[i].kv.key, "/registry/core/secrets/", 23))
            assert_string_equal(evs.events[i].kv.value, PLAIN);
    store_events_release(&evs);
    struct store_kv prev;
    memset(&prev, 0, sizeof(prev));
    assert_int_equal(store_put(st, k1, strlen(k1), "{\"v\":2}", 7, STORE_ANY, NULL, &prev, &err),
                     0);
    assert_string_equal(prev.value, PLAIN);
    store_kv_release(&prev);
    assert_string_equal(seen.prev, PLAIN);
    assert_string_equal(seen.value, "{\"v\":2}");
    store_unsubscribe(st, id);
    store_close(st);

    /* reopened with a wrong key: a clear error on a direct read, never a crash */
    assert_int_equal(store_lmdb_open(&o, &inner, &err), 0);
    assert_int_equal(enc_store_wrap(inner,
                                    must("  - aesgcm:\n      keys:\n      - name: k\n"
                                         "        secret: " K32B "\n"),
                                    &st, &err),
                     0);
    assert_int_equal(store_get(st, k1, strlen(k1), 0, &kv, &found, &err), -1);
    assert_non_null(strstr(err.msg, "message authentication failed"));
    assert_int_equal(store_range(st, &rq, &rr, &err), -1);
    /* a whole-store read (the cache's load) goes on, the bad value blanked */
    struct store_range_req all = {.prefix = "/registry/", .prefix_len = 10};
    assert_int_equal(store_range(st, &all, &rr, &err), 0);
    for (size_t i = 0; i < rr.nkvs; i++)
        if (!strcmp(rr.kvs[i].key, k1))
            assert_int_equal(rr.kvs[i].value_len, 0);
    store_range_result_release(&rr);
    store_close(st);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aesgcm_layout),
        cmocka_unit_test(test_aescbc_layout),
        cmocka_unit_test(test_secretbox_layout),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_identity_fallback_and_rotation),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_resource_matching),
        cmocka_unit_test(test_store_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the on-disk record codec: round trips, and every single-byte corruption,
 * truncation or inconsistent field of a log record is rejected with CK_R_CORRUPT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/record.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static unsigned char *encode(const struct store_record *r, size_t *n)
{
    *n = store_record_size(r);
    unsigned char *b = malloc(*n);
    store_record_encode(r, b);
    return b;
}

static void test_roundtrip(void **state)
{
    (void)state;
    const char val[] = {'a', 0, 'b'};
    struct store_record r = {.type = STORE_EVENT_PUT,
                             .revision = 42,
                             .sub = 3,
                             .create_revision = 7,
                             .version = 5,
                             .has_prev = true,
                             .prev_revision = 40,
                             .prev_sub = 1,
                             .key = "/k",
                             .key_len = 2,
                             .value = val,
                             .value_len = 3};
    size_t n;
    unsigned char *b = encode(&r, &n);
    assert_int_equal(n, STORE_REC_HDR + 2 + 3 + STORE_REC_TRAILER);
    struct store_record d;
    struct ck_err err = CK_ERR_INIT;
    assert_int_equal(store_record_decode(b, n, &d, &err), 0);
    assert_int_equal(d.type, STORE_EVENT_PUT);
    assert_int_equal(d.revision, 42);
    assert_int_equal(d.sub, 3);
    assert_int_equal(d.create_revision, 7);
    assert_int_equal(d.version, 5);
    assert_true(d.has_prev);
    assert_int_equal(d.prev_revision, 40);
    assert_int_equal(d.prev_sub, 1);
    assert_int_equal(d.key_len, 2);
    assert_memory_equal(d.key, "/k", 2);
    assert_int_equal(d.value_len, 3);
    assert_memory_equal(d.value, val, 3);
    /* every single-byte change is caught (structure checks or the checksum) */
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (unsigned char)(1u << bit);
            ck_err_clear(&err);
            assert_int_equal(store_record_decode(b, n, &d, &err), -1);
            assert_int_equal(err.reason, CK_R_CORRUPT);
            b[i] ^= (unsigned char)(1u << bit);
        }
    }
    /* every truncation and an extension are caught */
    for (size_t len = 0; len < n; len++)
        assert_int_equal(store_record_decode(b, len, &d, &err), -1);
    unsigned char *longer = calloc(1, n + 1);
    memcpy(longer, b, n);
    assert_int_equal(store_record_decode(longer, n + 1, &d, &err), -1);
    assert_int_equal(store_record_decode(NULL, 0, &d, &err), -1);
    free(longer);
    free(b);
}

static void test_inconsistent_fields(void **state)
{
    (void)state;
    struct ck_err err = CK_ERR_INIT;
    struct store_record d;
    struct store_record bad[] = {
        /* create_revision after the record's revision */
        {.type = STORE_EVENT_PUT,
         .revision = 5,
         .create_revision = 6,
         .version = 1,
         .key = "k",
         .key_len = 1},
        /* version 0 on a put */
        {.type = STORE_EVENT_PUT,
         .revision = 5,
         .create_revision = 5,
         .version = 0,
         .key = "k",
         .key_len = 1},
        /* prev not older than the record */
        {.type = STORE_EVENT_PUT,
         .revision = 5,
         .create_revision = 1,
         .version = 2,
         .has_prev = true,
         .prev_revision = 5,
         .key = "k",
         .key_len = 1},
        /* a delete carrying a value */
        {.type = STORE_EVENT_DELETE,
         .revision = 5,
         .has_prev = true,
         .prev_revision = 4,
         .key = "k",
         .key_len = 1,
         .value = "v",
         .value_len = 1},
        /* a delete of nothing */
        {.type = STORE_EVENT_DELETE, .revision = 5, .key = "k", .key_len = 1},
        /* revision 0 */
        {.type = STORE_EVENT_PUT,
         .revision = 0,
         .create_revision = 0,
         .version = 1,
         .key = "k",
         .key_len = 1},
        /* empty key */
        {.type = STORE_EVENT_PUT,
         .revision = 3,
         .create_revision = 3,
         .version = 1,
         .key = "",
         .key_len = 0},
        /* unknown type */
        {.type = 9, .revision = 3, .create_revision = 3, .version = 1, .key = "k", .key_len = 1},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n;
        unsigned char *b = encode(&bad[i], &n);
        ck_err_clear(&err);
        if (store_record_decode(b, n, &d, &err) == 0)
            fail_msg("inconsistent record %zu accepted", i);
        assert_int_equal(err.reason, CK_R_CORRUPT);
        free(b);
    }
}

static void test_small_codecs(void **state)
{
    (void)state;
    struct ck_err err = CK_ERR_INIT;
    unsigned char lk[STORE_LOGKEY_LEN];
    store_logkey_encode(0x0102030405060708LL, 9, lk);
    int64_t rev;
    uint32_t sub;
    assert_int_equal(store_logkey_decode(lk, sizeof(lk), &rev, &sub, &err), 0);
    assert_int_equal(rev, 0x0102030405060708LL);
    assert_int_equal(sub, 9);
    assert_int_equal(lk[0], 1); /* big-endian: byte order is numeric order */
    assert_int_equal(store_logkey_decode(lk, 11, &rev, &sub, &err), -1);
    memset(lk, 0xff, sizeof(lk)); /* > INT64_MAX */
    assert_int_equal(store_logkey_decode(lk, sizeof(lk), &rev, &sub, &err), -1);
    unsigned char hv[STORE_HIST_LEN];
    struct store_hist h = {77, 2, STORE_EVENT_DELETE}, h2;
    store_hist_encode(&h, hv);
    assert_int_equal(store_hist_decode(hv, sizeof(hv), &h2, &err), 0);
    assert_int_equal(h2.revision, 77);
    assert_int_equal(h2.type, STORE_EVENT_DELETE);
    hv[12] = 3;
    assert_int_equal(store_hist_decode(hv, sizeof(hv), &h2, &err), -1);
    unsigned char pv[STORE_PTR_LEN];
    struct store_ptr p = {10, 1, 4, 3}, p2;
    store_ptr_encode(&p, pv);
    assert_int_equal(store_ptr_decode(pv, sizeof(pv), &p2, &err), 0);
    assert_int_equal(p2.mod_revision, 10);
    assert_int_equal(p2.create_revision, 4);
    assert_int_equal(p2.version, 3);
    struct store_ptr bad = {10, 1, 11, 3};
    store_ptr_encode(&bad, pv);
    assert_int_equal(store_ptr_decode(pv, sizeof(pv), &p2, &err), -1);
    assert_int_equal(store_ptr_decode(pv, 27, &p2, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_inconsistent_fields),
        cmocka_unit_test(test_small_codecs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

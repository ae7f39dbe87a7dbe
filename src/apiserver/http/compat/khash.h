/* SPDX-License-Identifier: Apache-2.0 */
/* The part of klib's khash that h2o 2.2's <h2o/http2_internal.h> needs (the header includes
 * "khash.h", which Debian's libh2o-dev does not ship): the type of a map from 64-bit integer
 * keys, kh_get, kh_end and kh_val. The layout and the lookup (quadratic probing over buckets
 * flagged 2 bits each: bit 1 empty, bit 0 deleted; hash (k >> 33) ^ k ^ (k << 11)) are those
 * of the khash built into libh2o 2.2, because the maps are created and filled by the library.
 * On the include path of ck_apiserver only (component.cmake); lookups only, nothing here allocates or inserts. */
#ifndef CK_H2O_KHASH_H
#define CK_H2O_KHASH_H

#include <stdint.h>

typedef uint32_t khint_t;
typedef khint_t khiter_t;

#define khash_t(name) kh_##name##_t

#define CK_KH_FLAGS(h, i) (((h)->flags[(i) >> 4] >> (((i)&0xfU) << 1)) & 3U)

#define KHASH_MAP_INIT_INT64(name, khval_t)                                                        \
    typedef struct kh_##name##_s {                                                                 \
        khint_t n_buckets, size, n_occupied, upper_bound;                                          \
        uint32_t *flags;                                                                           \
        uint64_t *keys;                                                                            \
        khval_t *vals;                                                                             \
    } kh_##name##_t;                                                                               \
    static inline khint_t kh_get_##name(const kh_##name##_t *h, uint64_t key)                      \
    {                                                                                              \
        khint_t mask, i, first, step = 0;                                                          \
        if (!h->n_buckets)                                                                         \
            return 0;                                                                              \
        mask = h->n_buckets - 1;                                                                   \
        i = first = (khint_t)((key >> 33) ^ key ^ (key << 11)) & mask;                             \
        for (;;) {                                                                                 \
            khint_t f = CK_KH_FLAGS(h, i);                                                         \
            if (f & 2U)                                                                            \
                return h->n_buckets; /* empty: absent */                                           \
            if (!(f & 1U) && h->keys[i] == key)                                                    \
                return i;                                                                          \
            i = (i + ++step) & mask;                                                               \
            if (i == first)                                                                        \
                return h->n_buckets;                                                               \
        }                                                                                          \
    }

#define kh_get(name, h, k) kh_get_##name(h, k)
#define kh_end(h) ((h)->n_buckets)
#define kh_val(h, x) ((h)->vals[x])

#endif

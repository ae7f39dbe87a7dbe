/* SPDX-License-Identifier: Apache-2.0 */
/* The node IPAM CIDR set: see cidrset.h. */
#include "controllers/cidrset.h"
#include "lib/buf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static uint32_t mask_of(int bits)
{
    return bits <= 0 ? 0 : bits >= 32 ? 0xffffffffu : ~((1u << (32 - bits)) - 1);
}

int cidr_parse4(const char *s, uint32_t *addr, int *bits, struct ck_err *err)
{
    char ip[32];
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || (size_t)(slash - s) >= sizeof(ip))
        return ck_err_set(err, CK_R_BAD_REQUEST, "invalid CIDR address: %s", s ? s : "");
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = 0;
    char *end = NULL;
    long b = strtol(slash + 1, &end, 10);
    struct in_addr a;
    if (!slash[1] || *end || b < 0 || b > 32 || inet_pton(AF_INET, ip, &a) != 1)
        return ck_err_set(err, CK_R_BAD_REQUEST, "invalid CIDR address: %s", s);
    *bits = (int)b;
    *addr = ntohl(a.s_addr) & mask_of((int)b);
    return 0;
}

void cidr_format4(uint32_t addr, int bits, char out[20])
{
    snprintf(out, 20, "%u.%u.%u.%u/%d", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255,
             addr & 255, bits);
}

int cidr_set_init(struct cidr_set *s, const char *cluster_cidr, int node_mask, struct ck_err *err)
{
    memset(s, 0, sizeof(*s));
    if (cidr_parse4(cluster_cidr, &s->base, &s->cluster_bits, err) < 0)
        return -1;
    if (node_mask < s->cluster_bits || node_mask > 32)
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "--node-cidr-mask-size %d must not be smaller than the cluster CIDR's "
                          "mask size %d",
                          node_mask, s->cluster_bits);
    if (node_mask - s->cluster_bits > 16)
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "CIDRSet: subNetMaskSize %d is too big, maximum is %d", node_mask,
                          s->cluster_bits + 16);
    s->node_bits = node_mask;
    s->count = 1u << (node_mask - s->cluster_bits);
    s->used = ck_calloc((s->count + 7) / 8, 1);
    return 0;
}

void cidr_set_release_all(struct cidr_set *s)
{
    free(s->used);
    s->used = NULL;
}

static bool bit(const struct cidr_set *s, uint32_t i)
{
    return s->used[i / 8] & (1u << (i % 8));
}

static void set_bit(struct cidr_set *s, uint32_t i, bool on)
{
    if (bit(s, i) == on)
        return;
    s->used[i / 8] =
        (uint8_t)(on ? s->used[i / 8] | (1u << (i % 8)) : s->used[i / 8] & ~(1u << (i % 8)));
    s->used_n += on ? 1 : (uint32_t)-1;
}

int cidr_set_allocate(struct cidr_set *s, char out[20], struct ck_err *err)
{
    for (uint32_t k = 0; k < s->count; k++) {
        uint32_t i = (s->next + k) % s->count;
        if (bit(s, i))
            continue;
        set_bit(s, i, true);
        s->next = (i + 1) % s->count;
        cidr_format4((uint32_t)(s->base + ((uint64_t)i << (32 - s->node_bits))), s->node_bits, out);
        return 0;
    }
    return ck_err_set(err, CK_R_CONFLICT,
                      "CIDR allocation failed; there are no remaining CIDRs left to allocate in "
                      "the accepted range");
}

/* The subnet index range [*lo, *hi] that cidr overlaps. */
static int range_of(const struct cidr_set *s, const char *cidr, uint32_t *lo, uint32_t *hi,
                    struct ck_err *err)
{
    uint32_t a;
    int b;
    if (cidr_parse4(cidr, &a, &b, err) < 0)
        return -1;
    uint32_t cmask = mask_of(s->cluster_bits);
    /* overlap: either contains the other's network address */
    bool overlap = (a & cmask) == s->base || (s->base & mask_of(b)) == a;
    if (!overlap)
        return ck_err_set(err, CK_R_BAD_REQUEST, "cidr %s is out the range of cluster cidr", cidr);
    uint64_t first = a > s->base ? a : s->base;
    uint64_t end_in = (uint64_t)a + (b == 0 ? (1ull << 32) : (1ull << (32 - b))) - 1;
    uint64_t end_cl = (uint64_t)s->base + (1ull << (32 - s->cluster_bits)) - 1;
    uint64_t last = end_in < end_cl ? end_in : end_cl;
    *lo = (uint32_t)((first - s->base) >> (32 - s->node_bits));
    *hi = (uint32_t)((last - s->base) >> (32 - s->node_bits));
    return 0;
}

static int mark(struct cidr_set *s, const char *cidr, bool on, struct ck_err *err)
{
    uint32_t lo, hi;
    if (range_of(s, cidr, &lo, &hi, err) < 0)
        return -1;
    for (uint64_t i = lo; i <= hi; i++)
        set_bit(s, (uint32_t)i, on);
    return 0;
}

int cidr_set_occupy(struct cidr_set *s, const char *cidr, struct ck_err *err)
{
    return mark(s, cidr, true, err);
}

int cidr_set_release(struct cidr_set *s, const char *cidr, struct ck_err *err)
{
    return mark(s, cidr, false, err);
}

bool cidr_set_is_used(const struct cidr_set *s, const char *cidr)
{
    uint32_t lo, hi;
    struct ck_err err = CK_ERR_INIT;
    if (range_of(s, cidr, &lo, &hi, &err) < 0) {
        ck_err_clear(&err);
        return false;
    }
    for (uint64_t i = lo; i <= hi; i++)
        if (!bit(s, (uint32_t)i))
            return false;
    return true;
}

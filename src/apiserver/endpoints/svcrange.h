/* SPDX-License-Identifier: Apache-2.0 */
/* Service ranges, pure arithmetic: the --service-cluster-ip-range CIDR and the
 * --service-node-port-range, parsed and validated with kube-apiserver's messages, and the
 * choice of a free value as upstream's allocators make it (KEP-3070: a random scan of the
 * upper, dynamic block first, then of the lower, static block). No I/O, no locks. */
#ifndef CK_APISERVER_SVCRANGE_H
#define CK_APISERVER_SVCRANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SVC_DEFAULT_CIDR "10.96.0.0/12"
#define SVC_DEFAULT_NODEPORTS "30000-32767"

/* An IPv4 service CIDR. Offsets count from first (the network address + 1); the network and
 * broadcast addresses are not in the range; offset 0 is default/kubernetes' address. */
struct svc_ip_range {
    uint32_t net;    /* network address, host order */
    int bits;        /* prefix length */
    uint32_t first;  /* net + 1 */
    uint32_t max;    /* usable addresses: 2^(32-bits) - 2 */
    uint32_t offset; /* start of the dynamic block (upstream's calculateRangeOffset) */
    char cidr[24];   /* canonical "a.b.c.d/n" */
};

struct svc_port_range {
    int base; /* first port */
    int size; /* number of ports */
    int offset;
    char text[16]; /* "30000-32767" */
};

/* Parses the flag's value as kube-apiserver does (one IPv4 CIDR; host bits are masked off).
 * On error returns -1 with kube-apiserver's message in msg. */
int svc_ip_range_parse(const char *s, struct svc_ip_range *r, char *msg, size_t n);
/* "min-max" or one port, as upstream's PortRange.Set; -1 with its message. */
int svc_port_range_parse(const char *s, struct svc_port_range *r, char *msg, size_t n);

/* "a.b.c.d" -> host-order address; false when not dotted-quad IPv4. */
bool svc_ip_parse(const char *s, uint32_t *out);
void svc_ip_text(uint32_t v, char out[16]);
/* The offset of ip in r, or -1 when ip is not in it. */
int64_t svc_ip_offset(const struct svc_ip_range *r, uint32_t ip);

/* A bitmap of max bits: bit i set = offset i taken. */
static inline bool svc_bit(const uint8_t *bm, uint32_t i)
{
    return (bm[i >> 3] >> (i & 7)) & 1;
}
static inline void svc_bit_set(uint8_t *bm, uint32_t i)
{
    bm[i >> 3] = (uint8_t)(bm[i >> 3] | (1u << (i & 7)));
}

/* A free offset in [0, max): a random start (r1) in [offset, max) scanning forward with
 * wrap-around, then a random start (r2) in [0, offset); -1 when every bit is set. */
int64_t svc_pick(const uint8_t *bm, uint32_t max, uint32_t offset, uint64_t r1, uint64_t r2);

#endif

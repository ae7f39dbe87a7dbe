/* SPDX-License-Identifier: Apache-2.0 */
/* The node IPAM range allocator's CIDR set (upstream pkg/controller/nodeipam/ipam/cidrset),
 * IPv4: the cluster CIDR cut into subnets of one mask size, a bitmap of used ones and a
 * round-robin next candidate. Not thread-safe: the caller locks. */
#ifndef CK_CONTROLLERS_CIDRSET_H
#define CK_CONTROLLERS_CIDRSET_H

#include "lib/err.h"

#include <stdbool.h>
#include <stdint.h>

struct cidr_set {
    uint32_t base; /* the cluster CIDR's network address, host order */
    int cluster_bits;
    int node_bits;  /* the subnets' mask size */
    uint32_t count; /* number of subnets */
    uint32_t next;  /* next candidate */
    uint32_t used_n;
    uint8_t *used; /* bitmap */
};

/* Parses "a.b.c.d/n" (the network address need not be aligned: it is masked). */
int cidr_parse4(const char *s, uint32_t *addr, int *bits, struct ck_err *err);
/* "a.b.c.d/n" */
void cidr_format4(uint32_t addr, int bits, char out[20]);

/* Upstream's limit: the node mask may be at most 16 bits longer than the cluster's. */
int cidr_set_init(struct cidr_set *s, const char *cluster_cidr, int node_mask, struct ck_err *err);
void cidr_set_release_all(struct cidr_set *s);
/* The next free subnet (round-robin from the last one handed out); -1 CK_R_CONFLICT when the
 * set is full ("CIDR allocation failed; there are no remaining CIDRs left to allocate in the
 * accepted range"). */
int cidr_set_allocate(struct cidr_set *s, char out[20], struct ck_err *err);
/* Marks every subnet overlapping cidr used (Occupy) / free (Release); -1 when cidr does not
 * parse or lies outside the cluster CIDR. */
int cidr_set_occupy(struct cidr_set *s, const char *cidr, struct ck_err *err);
int cidr_set_release(struct cidr_set *s, const char *cidr, struct ck_err *err);
bool cidr_set_is_used(const struct cidr_set *s, const char *cidr);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Element-only syncs without libnftables: the changed service ports' endpoint-map elements are
 * rewritten (the old ones deleted, the new ones added) in one nf_tables netlink batch, built with
 * libnftnl and sent with libmnl. libnftables re-reads the whole table's chains and sets before
 * every command buffer; this path reads nothing, and as no element is a verdict the kernel does
 * not re-validate the table on commit. */
#ifndef CK_PROXY_NL_H
#define CK_PROXY_NL_H

#include "lib/err.h"
#include "proxy/rules.h"

#include <stddef.h>

struct px_nl;

/* A NETLINK_NETFILTER socket; NULL with err when it cannot be opened. */
struct px_nl *px_nl_new(struct ck_err *err);
void px_nl_free(struct px_nl *nl);

/* The batch's size in bytes for n map changes (so a caller can prefer libnftables for large
 * ones). */
size_t px_nl_batch_size(const struct px_emap *const *maps, size_t n);
/* Replaces the elements of each olds[i] by those of news[i] (the same slot, already in table
 * ip <table>) in one transaction; returns once the kernel acknowledged every message. -1 with
 * err (nothing applied) on failure. */
int px_nl_set_emaps(struct px_nl *nl, const char *table, const struct px_emap *const *olds,
                    const struct px_emap *const *news, size_t n, struct ck_err *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* One libnftables context: a generated script runs as one transaction
 * (nft_run_cmd_from_buffer), errors come back as text. */
#ifndef CK_PROXY_NFT_H
#define CK_PROXY_NFT_H

#include "lib/buf.h"
#include "lib/err.h"

struct px_nft;

struct px_nft *px_nft_new(void);
void px_nft_free(struct px_nft *n);
/* Runs script (all of it or nothing); -1 with nft's error text in err. */
int px_nft_run(struct px_nft *n, const char *script, struct ck_err *err);
/* `nft list table ip <table>` into out; -1 when it does not exist. */
int px_nft_list(struct px_nft *n, const char *table, struct ck_buf *out, struct ck_err *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* libnftables wrapper (nft.h). */
#include "proxy/nft.h"

#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

struct px_nft {
    struct nft_ctx *ctx;
};

struct px_nft *px_nft_new(void)
{
    struct px_nft *n = ck_calloc(1, sizeof(*n));
    n->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!n->ctx) {
        free(n);
        return NULL;
    }
    nft_ctx_buffer_output(n->ctx);
    nft_ctx_buffer_error(n->ctx);
    return n;
}

void px_nft_free(struct px_nft *n)
{
    if (!n)
        return;
    nft_ctx_unbuffer_output(n->ctx);
    nft_ctx_unbuffer_error(n->ctx);
    nft_ctx_free(n->ctx);
    free(n);
}

static void error_text(struct px_nft *n, struct ck_err *err, const char *what)
{
    const char *e = nft_ctx_get_error_buffer(n->ctx);
    /* nft quotes the failing statement; keep the first lines */
    ck_err_set(err, CK_R_INTERNAL, "nft %s: %.900s", what, e && *e ? e : "failed");
}

int px_nft_run(struct px_nft *n, const char *script, struct ck_err *err)
{
    if (nft_run_cmd_from_buffer(n->ctx, script) != 0) {
        error_text(n, err, "transaction");
        return -1;
    }
    nft_ctx_get_output_buffer(n->ctx); /* drains */
    return 0;
}

int px_nft_list(struct px_nft *n, const char *table, struct ck_buf *out, struct ck_err *err)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "list table ip %s", table);
    if (nft_run_cmd_from_buffer(n->ctx, cmd) != 0) {
        error_text(n, err, "list");
        return -1;
    }
    const char *o = nft_ctx_get_output_buffer(n->ctx);
    ck_buf_appends(out, o ? o : "");
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the kubelet server's request helpers: header lookup in a raw request
 * head (ag_http_header), query parameters and percent-decoding (ag_http_query,
 * ag_http_unescape) as /containerLogs and the router use them. Input: head, a NUL, query. */
#include "agent/kubeletsrv.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 2);
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = 0;
    const char *head = buf, *query = buf + strlen(buf) + 1;
    if (query > buf + size)
        query = buf + size;
    struct ag_http_req r = {.method = "GET", .path = "/", .query = query, .head = head};
    static const char *const hdrs[] = {"Authorization", "Accept", "Host", "X"};
    static const char *const params[] = {"follow",       "previous",   "timestamps",
                                         "tailLines",    "limitBytes", "sinceTime",
                                         "sinceSeconds", "",           "container"};
    char out[512];
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++)
        if (ag_http_header(&r, hdrs[i], out, sizeof(out)) && strlen(out) >= sizeof(out))
            __builtin_trap();
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
        if (ag_http_query(query, params[i], out, sizeof(out)) && strlen(out) >= sizeof(out))
            __builtin_trap();
    char small[8];
    ag_http_unescape(query, strlen(query), small, sizeof(small));
    free(buf);
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: node IPAM and host-gw routes. Input lines: the first is a cluster CIDR
 * and a node mask ("10.244.0.0/16 24"), then operations "o CIDR" (occupy), "r CIDR"
 * (release), "a" (allocate); whatever parses must keep the set's count equal to its bitmap
 * and allocations inside the cluster CIDR. The whole input is also given to the routes'
 * Node list parser as JSON (any shape). */
#include "agent/routes.h"
#include "controllers/cidrset.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t popcount(const struct cidr_set *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->count; i++)
        n += (s->used[i / 8] >> (i % 8)) & 1;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    json_t *nodes = json_loadb((const char *)data, size, 0, NULL);
    struct ag_route *r = NULL;
    size_t n = ag_routes_wanted(nodes, "self", "10.0.0.1", &r);
    for (size_t i = 0; i < n; i++)
        if (!strchr(r[i].dst, '/') || !*r[i].gw)
            abort();
    free(r);
    json_decref(nodes);

    char *save = NULL, *line = strtok_r(text, "\n", &save);
    char cidr[64];
    int mask = 0;
    struct cidr_set s;
    struct ck_err err = CK_ERR_INIT;
    if (!line || sscanf(line, "%63s %d", cidr, &mask) != 2 || mask > 30 ||
        cidr_set_init(&s, cidr, mask, &err) < 0) {
        ck_err_clear(&err);
        free(text);
        return 0;
    }
    if (s.count > (1u << 12)) { /* keep runs fast */
        cidr_set_release_all(&s);
        free(text);
        return 0;
    }
    int ops = 0;
    while ((line = strtok_r(NULL, "\n", &save)) && ops++ < 256) {
        char out[20];
        if (line[0] == 'a') {
            if (cidr_set_allocate(&s, out, &err) == 0) {
                uint32_t a;
                int b;
                if (cidr_parse4(out, &a, &b, &err) < 0 || b != s.node_bits ||
                    (a & (s.cluster_bits ? ~((1u << (32 - s.cluster_bits)) - 1) : 0)) != s.base ||
                    !cidr_set_is_used(&s, out))
                    abort();
            }
        } else if ((line[0] == 'o' || line[0] == 'r') && line[1] == ' ') {
            if (line[0] == 'o')
                cidr_set_occupy(&s, line + 2, &err);
            else
                cidr_set_release(&s, line + 2, &err);
        }
        ck_err_clear(&err);
        if (popcount(&s) != s.used_n || s.used_n > s.count)
            abort();
    }
    cidr_set_release_all(&s);
    free(text);
    return 0;
}

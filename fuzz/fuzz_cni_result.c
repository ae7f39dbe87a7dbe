/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the CNI parsers: plugin results (success and error objects) and
 * network configuration lists. Both must reject bad input with an error, never crash. */
#include "cni/cni.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cni_result r;
    struct ck_err e = CK_ERR_INIT;
    if (cni_result_parse((const char *)data, size, &r, &e) == 0) {
        char ip[64];
        cni_result_first_ip(&r, 0, ip, sizeof(ip));
        if (r.nips > CNI_MAX_IPS || r.nifaces > CNI_MAX_IFACES || r.nroutes > CNI_MAX_ROUTES)
            __builtin_trap();
        for (size_t i = 0; i < r.nips; i++)
            if (r.ips[i].iface >= (int)r.nifaces)
                __builtin_trap();
    }
    struct cni_net *n = NULL;
    if (cni_net_parse((const char *)data, size, &n, &e) == 0) {
        for (size_t i = 0; i < cni_net_nplugins(n); i++)
            if (!cni_net_plugin_type(n, i))
                __builtin_trap();
        cni_net_free(n);
    }
    return 0;
}

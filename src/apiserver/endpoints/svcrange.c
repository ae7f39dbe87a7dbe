/* SPDX-License-Identifier: Apache-2.0 */
/* Service range arithmetic (svcrange.h). */
#include "apiserver/endpoints/svcrange.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

bool svc_ip_parse(const char *s, uint32_t *out)
{
    struct in_addr a;
    if (!s || inet_pton(AF_INET, s, &a) != 1)
        return false;
    *out = ntohl(a.s_addr);
    return true;
}

void svc_ip_text(uint32_t v, char out[16])
{
    struct in_addr a = {.s_addr = htonl(v)};
    inet_ntop(AF_INET, &a, out, 16);
}

/* upstream's calculateRangeOffset: min(max(min, size/step), max), 0 for tiny ranges */
static uint32_t range_offset(uint64_t size, uint64_t lo, uint64_t hi, uint64_t step)
{
    if (size <= lo)
        return 0;
    uint64_t o = size / step;
    return (uint32_t)(o < lo ? lo : o > hi ? hi : o);
}

int svc_ip_range_parse(const char *s, struct svc_ip_range *r, char *msg, size_t n)
{
    memset(r, 0, sizeof(*r));
    char ip[64];
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!s || !*s) {
        snprintf(msg, n, "--service-cluster-ip-range must contain at least one valid cidr");
        return -1;
    }
    if (strchr(s, ',')) {
        snprintf(msg, n,
                 "ckube serves one IPv4 service range: --service-cluster-ip-range %s "
                 "(dual-stack is not supported)",
                 s);
        return -1;
    }
    char *end = NULL;
    long bits = slash ? strtol(slash + 1, &end, 10) : -1;
    size_t il = slash ? (size_t)(slash - s) : 0;
    struct in6_addr a6;
    if (slash && il < sizeof(ip)) {
        memcpy(ip, s, il);
        ip[il] = '\0';
    }
    if (slash && il < sizeof(ip) && inet_pton(AF_INET6, ip, &a6) == 1 && end && !*end) {
        snprintf(msg, n, "ckube serves IPv4 service ranges only: --service-cluster-ip-range %s", s);
        return -1;
    }
    uint32_t v;
    if (!slash || il >= sizeof(ip) || !end || *end || end == slash + 1 || bits < 0 || bits > 32 ||
        !svc_ip_parse(ip, &v)) {
        snprintf(msg, n, "service-cluster-ip-range[0] is not a valid cidr");
        return -1;
    }
    if (32 - bits > 20) {
        snprintf(msg, n,
                 "specified --service-cluster-ip-range is too large; for 32-bit "
                 "addresses, the mask must be >= 12");
        return -1;
    }
    uint64_t size = (uint64_t)1 << (32 - bits);
    if (size < 8) {
        snprintf(msg, n,
                 "error determining service IP ranges for primary service cidr: the "
                 "service cluster IP range must be at least 8 IP addresses");
        return -1;
    }
    uint32_t mask = bits ? ~0u << (32 - bits) : 0;
    r->net = v & mask;
    r->bits = (int)bits;
    r->first = r->net + 1;
    r->max = (uint32_t)(size - 2);
    r->offset = range_offset(size, 16, 256, 16);
    char t[16];
    svc_ip_text(r->net, t);
    snprintf(r->cidr, sizeof(r->cidr), "%s/%d", t, r->bits);
    return 0;
}

/* strconv.Atoi's rules: optional sign, decimal digits, the whole string */
static bool atoi_go(const char *s, size_t len, long *out, char *why, size_t wn)
{
    char buf[32];
    if (len >= sizeof(buf)) {
        snprintf(why, wn, "strconv.Atoi: parsing \"%.*s\": value out of range", (int)len, s);
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    size_t i = (buf[0] == '+' || buf[0] == '-') ? 1 : 0;
    bool ok = buf[i] != '\0';
    for (size_t k = i; buf[k]; k++)
        ok = ok && buf[k] >= '0' && buf[k] <= '9';
    if (!ok) {
        snprintf(why, wn, "strconv.Atoi: parsing \"%s\": invalid syntax", buf);
        return false;
    }
    errno = 0;
    *out = strtol(buf, NULL, 10);
    if (errno) {
        snprintf(why, wn, "strconv.Atoi: parsing \"%s\": value out of range", buf);
        return false;
    }
    return true;
}

int svc_port_range_parse(const char *s, struct svc_port_range *r, char *msg, size_t n)
{
    memset(r, 0, sizeof(*r));
    char why[160];
    while (s && (*s == ' ' || *s == '\t'))
        s++;
    size_t len = s ? strlen(s) : 0;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (!len) {
        snprintf(msg, n,
                 "invalid argument \"\" for \"--service-node-port-range\" flag: an "
                 "empty range has no ports to allocate");
        return -1;
    }
    const char *dash = memchr(s, '-', len);
    long lo, hi;
    if (!dash) {
        if (!atoi_go(s, len, &lo, why, sizeof(why))) {
            snprintf(msg, n,
                     "invalid argument \"%.*s\" for \"--service-node-port-range\" flag: "
                     "unable to parse port range: %.*s: %s, expected hyphen in port "
                     "range or a single port number",
                     (int)len, s, (int)len, s, why);
            return -1;
        }
        if (lo < 0 || lo > 65535) {
            snprintf(msg, n,
                     "invalid argument \"%.*s\" for \"--service-node-port-range\" flag: "
                     "the port range should between 0 and 65535",
                     (int)len, s);
            return -1;
        }
        hi = lo;
    } else {
        if (!atoi_go(s, (size_t)(dash - s), &lo, why, sizeof(why)) ||
            !atoi_go(dash + 1, len - (size_t)(dash + 1 - s), &hi, why, sizeof(why))) {
            snprintf(msg, n,
                     "invalid argument \"%.*s\" for \"--service-node-port-range\" flag: "
                     "unable to parse port range: %.*s: %s",
                     (int)len, s, (int)len, s, why);
            return -1;
        }
        if (lo > 65535 || hi > 65535) {
            snprintf(msg, n,
                     "invalid argument \"%.*s\" for \"--service-node-port-range\" flag: "
                     "the port range cannot be greater than 65535: %.*s",
                     (int)len, s, (int)len, s);
            return -1;
        }
        if (hi < lo) {
            snprintf(msg, n,
                     "invalid argument \"%.*s\" for \"--service-node-port-range\" flag: "
                     "end port cannot be less than start port: %.*s",
                     (int)len, s, (int)len, s);
            return -1;
        }
        if (lo < 0) {
            snprintf(msg, n,
                     "invalid argument \"%.*s\" for \"--service-node-port-range\" flag: "
                     "the port range should between 0 and 65535",
                     (int)len, s);
            return -1;
        }
    }
    r->base = (int)lo;
    r->size = (int)(hi - lo + 1);
    r->offset = (int)range_offset((uint64_t)r->size, 16, 128, 32);
    snprintf(r->text, sizeof(r->text), "%d-%d", r->base, r->base + r->size - 1);
    return 0;
}

int64_t svc_ip_offset(const struct svc_ip_range *r, uint32_t ip)
{
    if (ip < r->first || ip - r->first >= r->max)
        return -1;
    return (int64_t)(ip - r->first);
}

int64_t svc_pick(const uint8_t *bm, uint32_t max, uint32_t offset, uint64_t r1, uint64_t r2)
{
    if (offset > max)
        offset = max;
    uint32_t upper = max - offset;
    if (upper) {
        uint32_t start = (uint32_t)(r1 % upper);
        for (uint32_t i = 0; i < upper; i++) {
            uint32_t at = offset + (start + i) % upper;
            if (!svc_bit(bm, at))
                return at;
        }
    }
    if (offset) {
        uint32_t start = (uint32_t)(r2 % offset);
        for (uint32_t i = 0; i < offset; i++) {
            uint32_t at = (start + i) % offset;
            if (!svc_bit(bm, at))
                return at;
        }
    }
    return -1;
}

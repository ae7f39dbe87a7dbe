/* SPDX-License-Identifier: Apache-2.0 */
/* The endpoint maps' netlink batches (nl.h). The encoding is the one nft itself sends for
 * `typeof numgen random mod 65536 : ip daddr . tcp dport; flags interval` (nft --debug=netlink):
 * keys are 32-bit big-endian (nft converts the numgen register with `byteorder hton` before the
 * lookup); interval [lo, hi] is a start element lo carrying the data and an end element hi + 1
 * flagged NFT_SET_ELEM_INTERVAL_END; the data is the address and the port in network order, each
 * in a 32-bit register (8 bytes). */
#include "proxy/nl.h"

#include "lib/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "lib/banned.h"

struct px_nl {
    struct mnl_socket *sock;
    unsigned portid;
    uint32_t seq;
};

struct px_nl *px_nl_new(struct ck_err *err)
{
    struct mnl_socket *s = mnl_socket_open(NETLINK_NETFILTER);
    if (!s) {
        ck_err_set(err, CK_R_INTERNAL, "netlink socket: %s", strerror(errno));
        return NULL;
    }
    if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
        ck_err_set(err, CK_R_INTERNAL, "netlink bind: %s", strerror(errno));
        mnl_socket_close(s);
        return NULL;
    }
    int one = 1; /* errors without the request echoed */
    (void)mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof(one));
    struct timeval tv = {.tv_sec = 30}; /* a wedged kernel fails the sync, not the thread */
    (void)setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct px_nl *nl = ck_calloc(1, sizeof(*nl));
    nl->sock = s;
    nl->portid = mnl_socket_get_portid(s);
    nl->seq = (uint32_t)time(NULL);
    return nl;
}

void px_nl_free(struct px_nl *nl)
{
    if (!nl)
        return;
    mnl_socket_close(nl->sock);
    free(nl);
}

/* per message: netlink and nfgen headers, table and set names; per interval: two elements */
#define MSG_FIXED (64u + 2 * 256u)
#define PER_ELEM 96u

size_t px_nl_batch_size(const struct px_emap *const *maps, size_t n)
{
    size_t sz = 2 * 64;
    for (size_t i = 0; i < n; i++)
        sz += MSG_FIXED + maps[i]->n * 2 * PER_ELEM;
    return sz;
}

static void add_key(struct nftnl_set *s, uint32_t key, const void *data, bool end)
{
    struct nftnl_set_elem *e = nftnl_set_elem_alloc();
    if (!e)
        ck_fatal("out of memory");
    uint32_t k = htonl(key);
    nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &k, sizeof(k));
    if (end)
        nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
    if (data)
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, data, 8);
    nftnl_set_elem_add(s, e);
}

/* The elements of m (start elements with their data when data); -1 on an address that is no
 * IPv4 address. */
static int fill(struct nftnl_set *s, const struct px_emap *m, bool data)
{
    uint32_t base = m->slot * PX_EP_RANGE;
    for (size_t i = 0; i < m->n; i++) {
        uint8_t d[8] = {0};
        uint16_t port = htons((uint16_t)m->eps[i].port);
        if (inet_pton(AF_INET, m->eps[i].ip, d) != 1)
            return -1;
        memcpy(d + 4, &port, sizeof(port));
        uint32_t lo, hi;
        px_split(m->n, i, &lo, &hi);
        add_key(s, base + lo, data ? d : NULL, false);
        add_key(s, base + hi + 1, NULL, true);
    }
    return 0;
}

/* Reads the replies to the batch's acked messages [first, last]; -1 with err on the first
 * error. */
static int read_acks(struct px_nl *nl, uint32_t first, uint32_t last, struct ck_err *err)
{
    char buf[32768];
    size_t want = (size_t)(last - first) + 1, got = 0;
    for (int rounds = 0; got < want && rounds < 100000; rounds++) {
        ssize_t r = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return ck_err_set(err, CK_R_INTERNAL, "netlink receive: %s", strerror(errno)), -1;
        }
        int len = (int)r;
        for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(h, len);
             h = mnl_nlmsg_next(h, &len)) {
            if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq - first > last - first)
                continue; /* not ours (a reply to an earlier, failed batch) */
            const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
            if (e->error)
                return ck_err_set(err, CK_R_INTERNAL, "nf_tables element batch: %s",
                                  strerror(-e->error)),
                       -1;
            got++;
        }
    }
    return got == want ? 0 : (ck_err_set(err, CK_R_INTERNAL, "nf_tables: missing acks"), -1);
}

/* Appends one DELSETELEM or NEWSETELEM message for m's elements; false when the batch is full
 * or m holds no IPv4 address (err). */
static bool add_msg(struct px_nl *nl, struct mnl_nlmsg_batch *b, const char *table,
                    const struct px_emap *m, bool add, struct ck_err *err)
{
    char name[32];
    snprintf(name, sizeof(name), "endpoints-%u", m->slot / PX_EP_SHARD_SLOTS);
    struct nftnl_set *s = nftnl_set_alloc();
    if (!s)
        ck_fatal("out of memory");
    nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
    nftnl_set_set_str(s, NFTNL_SET_NAME, name);
    bool ok = fill(s, m, add) == 0;
    if (!ok) {
        ck_err_set(err, CK_R_INVALID, "endpoint map %s: not an IPv4 address", m->name);
    } else {
        struct nlmsghdr *h = nftnl_nlmsg_build_hdr(
            mnl_nlmsg_batch_current(b), add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, NFPROTO_IPV4,
            (uint16_t)((add ? NLM_F_CREATE : 0) | NLM_F_ACK), nl->seq++);
        nftnl_set_elems_nlmsg_build_payload(h, s);
        ok = mnl_nlmsg_batch_next(b);
        if (!ok)
            ck_err_set(err, CK_R_INTERNAL, "nf_tables element batch over its size");
    }
    nftnl_set_free(s);
    return ok;
}

int px_nl_set_emaps(struct px_nl *nl, const char *table, const struct px_emap *const *olds,
                    const struct px_emap *const *news, size_t n, struct ck_err *err)
{
    if (!n)
        return 0;
    size_t limit = px_nl_batch_size(olds, n) + px_nl_batch_size(news, n);
    char *buf = ck_malloc(2 * limit + MNL_SOCKET_BUFFER_SIZE);
    struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, limit);
    nftnl_batch_begin(mnl_nlmsg_batch_current(b), nl->seq++);
    bool ok = mnl_nlmsg_batch_next(b);
    uint32_t first = nl->seq;
    /* every deletion first: an interval's end and the next one's start share a key */
    for (size_t i = 0; i < n && ok; i++)
        ok = add_msg(nl, b, table, olds[i], false, err);
    for (size_t i = 0; i < n && ok; i++)
        ok = add_msg(nl, b, table, news[i], true, err);
    uint32_t last = nl->seq - 1;
    int rc = ok ? 0 : -1;
    if (ok) {
        nftnl_batch_end(mnl_nlmsg_batch_current(b), nl->seq++);
        mnl_nlmsg_batch_next(b);
        if (mnl_socket_sendto(nl->sock, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b)) < 0)
            rc = -1, ck_err_set(err, CK_R_INTERNAL, "netlink send: %s", strerror(errno));
        else
            rc = read_acks(nl, first, last, err);
    }
    mnl_nlmsg_batch_stop(b);
    free(buf);
    return rc;
}

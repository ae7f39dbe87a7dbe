/* SPDX-License-Identifier: Apache-2.0 */
/* host-gw routes (routes.h): a Node informer; a thread that, on every change and every 30 s,
 * compares the routes wanted with the main table's routes of protocol AG_ROUTE_PROTO and
 * replaces or deletes the difference. rtnetlink through a plain NETLINK_ROUTE socket: three
 * small messages (dump, RTM_NEWROUTE with NLM_F_REPLACE, RTM_DELROUTE) do not need a library
 * (libmnl's headers are not among the build's Debian packages). IPv4 forwarding is turned on
 * before the first route goes in. With a podCIDR (podcidr.c: the bridge without ipMasq) the
 * table "ip ckube-podnet" masquerades what the pods send outside every Node's podCIDR, so that
 * pod-to-pod traffic between nodes keeps its addresses (flannel's ip-masq idea); it is
 * replaced in one libnftables transaction when the set of podCIDRs changes. */
#include "agent/agent_int.h"
#include "agent/routes.h"
#include "k8s/pod.h"
#include "k8s/util.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

#define RESYNC_S 30

/* ---- the pure part ------------------------------------------------------------------------ */

static const char *internal_ip(const json_t *node)
{
    size_t i;
    json_t *a;
    json_array_foreach(k8s_jpath(node, "status.addresses"), i, a)
    {
        if (!strcmp(k8s_jstr(a, "type"), "InternalIP") && strchr(k8s_jstr(a, "address"), '.'))
            return k8s_jstr(a, "address");
    }
    return "";
}

/* "a.b.c.d/n" into its network address (host order) and n. */
static int parse_cidr(const char *s, uint32_t *net, int *bits)
{
    char ip[20];
    const char *slash = strchr(s, '/');
    char *end = NULL;
    if (!slash || (size_t)(slash - s) >= sizeof(ip) || !slash[1])
        return -1;
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = 0;
    long b = strtol(slash + 1, &end, 10);
    struct in_addr a;
    if (*end || b < 0 || b > 32 || inet_pton(AF_INET, ip, &a) != 1)
        return -1;
    *bits = (int)b;
    *net = ntohl(a.s_addr) & (b ? ~((1u << (32 - b)) - 1) : 0);
    if (b == 32)
        *net = ntohl(a.s_addr);
    return 0;
}

static void format_cidr(uint32_t net, int bits, char out[20])
{
    snprintf(out, 20, "%u.%u.%u.%u/%d", net >> 24, (net >> 16) & 255, (net >> 8) & 255, net & 255,
             bits);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(k8s_obj_name(*(json_t *const *)a), k8s_obj_name(*(json_t *const *)b));
}

size_t ag_routes_wanted(const json_t *nodes, const char *self, const char *self_ip,
                        struct ag_route **out)
{
    size_t n = json_array_size(nodes), k = 0;
    json_t **sorted = ck_calloc(n ? n : 1, sizeof(*sorted));
    for (size_t i = 0; i < n; i++)
        sorted[i] = json_array_get(nodes, i);
    qsort(sorted, n, sizeof(*sorted), by_name);
    *out = ck_calloc(n ? n : 1, sizeof(**out));
    for (size_t i = 0; i < n; i++) {
        const json_t *node = sorted[i];
        const char *ip = internal_ip(node), *cidr = k8s_jpath_str(node, "spec.podCIDR");
        struct in_addr a;
        uint32_t net;
        int bits;
        if (!strcmp(k8s_obj_name(node), self) || !*ip || (self_ip && !strcmp(ip, self_ip)) ||
            inet_pton(AF_INET, ip, &a) != 1 || parse_cidr(cidr, &net, &bits) < 0)
            continue;
        struct ag_route r;
        format_cidr(net, bits, r.dst);
        inet_ntop(AF_INET, &a, r.gw, sizeof(r.gw));
        bool dup = false;
        for (size_t j = 0; j < k && !dup; j++)
            dup = !strcmp((*out)[j].dst, r.dst);
        if (!dup)
            (*out)[k++] = r;
    }
    free(sorted);
    return k;
}

static bool has(const struct ag_route *set, size_t n, const struct ag_route *r)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(set[i].dst, r->dst) && !strcmp(set[i].gw, r->gw))
            return true;
    return false;
}

void ag_routes_diff(const struct ag_route *have, size_t nhave, const struct ag_route *want,
                    size_t nwant, struct ag_route **add, size_t *nadd, struct ag_route **del,
                    size_t *ndel)
{
    *add = ck_calloc(nwant ? nwant : 1, sizeof(**add));
    *del = ck_calloc(nhave ? nhave : 1, sizeof(**del));
    *nadd = *ndel = 0;
    for (size_t i = 0; i < nwant; i++)
        if (!has(have, nhave, &want[i]))
            (*add)[(*nadd)++] = want[i];
    for (size_t i = 0; i < nhave; i++)
        if (!has(want, nwant, &have[i]))
            (*del)[(*ndel)++] = have[i];
}

/* ---- rtnetlink --------------------------------------------------------------------------- */

struct nl_req {
    struct nlmsghdr h;
    struct rtmsg r;
    char attrs[64];
};

static void add_attr(struct nl_req *q, unsigned short type, const void *data, size_t len)
{
    struct rtattr *a = (struct rtattr *)((char *)q + NLMSG_ALIGN(q->h.nlmsg_len));
    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(a), data, len);
    q->h.nlmsg_len = NLMSG_ALIGN(q->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static int nl_open(struct ck_err *err)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return ck_err_sys(err, errno, "netlink socket");
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return ck_err_sys(err, e, "netlink bind");
    }
    return fd;
}

/* Sends q and reads until the ack (or the dump's end); each RTM_NEWROUTE of ours in a dump
 * is appended to *out. */
static int nl_talk(int fd, struct nl_req *q, struct ag_route **out, size_t *nout,
                   struct ck_err *err)
{
    static unsigned seq;
    q->h.nlmsg_seq = ++seq;
    if (send(fd, q, q->h.nlmsg_len, 0) < 0)
        return ck_err_sys(err, errno, "netlink send");
    char buf[16384];
    for (int rounds = 0; rounds < 100000; rounds++) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0)
            return ck_err_sys(err, errno, "netlink recv");
        size_t left = (size_t)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_seq != q->h.nlmsg_seq)
                continue;
            if (h->nlmsg_type == NLMSG_DONE)
                return 0;
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);
                if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
                    return ck_err_set(err, CK_R_IO, "netlink: short error message");
                return e->error ? ck_err_sys(err, -e->error, "netlink") : 0;
            }
            if (h->nlmsg_type != RTM_NEWROUTE || !out)
                continue;
            const struct rtmsg *r = NLMSG_DATA(h);
            if (r->rtm_family != AF_INET || r->rtm_protocol != AG_ROUTE_PROTO ||
                r->rtm_table != RT_TABLE_MAIN)
                continue;
            struct ag_route rt = {{0}, {0}};
            uint32_t dst = 0;
            size_t alen = RTM_PAYLOAD(h);
            for (const struct rtattr *a = RTM_RTA(r); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
                if (a->rta_type == RTA_DST && RTA_PAYLOAD(a) == 4)
                    memcpy(&dst, RTA_DATA(a), 4);
                else if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == 4)
                    inet_ntop(AF_INET, RTA_DATA(a), rt.gw, sizeof(rt.gw));
            }
            format_cidr(ntohl(dst), r->rtm_dst_len, rt.dst);
            *out = ck_realloc(*out, (*nout + 1) * sizeof(**out));
            (*out)[(*nout)++] = rt;
        }
    }
    return ck_err_set(err, CK_R_IO, "netlink: no end of the reply");
}

static int nl_list(int fd, struct ag_route **out, size_t *n, struct ck_err *err)
{
    struct nl_req q = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
                             .nlmsg_type = RTM_GETROUTE,
                             .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
                       .r = {.rtm_family = AF_INET}};
    *out = NULL;
    *n = 0;
    return nl_talk(fd, &q, out, n, err);
}

static int nl_route(int fd, const struct ag_route *rt, bool add, struct ck_err *err)
{
    uint32_t net;
    int bits;
    struct in_addr gw;
    if (parse_cidr(rt->dst, &net, &bits) < 0 || inet_pton(AF_INET, rt->gw, &gw) != 1)
        return ck_err_set(err, CK_R_BAD_REQUEST, "route %s via %s", rt->dst, rt->gw);
    struct nl_req q = {
        .h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
              .nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE,
              .nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK |
                                              (add ? NLM_F_CREATE | NLM_F_REPLACE : 0))},
        .r = {.rtm_family = AF_INET,
              .rtm_dst_len = (unsigned char)bits,
              .rtm_table = RT_TABLE_MAIN,
              .rtm_protocol = AG_ROUTE_PROTO,
              .rtm_scope = RT_SCOPE_UNIVERSE,
              .rtm_type = RTN_UNICAST}};
    uint32_t dst = htonl(net);
    add_attr(&q, RTA_DST, &dst, 4);
    add_attr(&q, RTA_GATEWAY, &gw, 4);
    return nl_talk(fd, &q, NULL, NULL, err);
}

/* ---- masquerade -------------------------------------------------------------------------- */

#define NFT_TABLE "ckube-podnet"

/* The ruleset for own (the node's podCIDR) and every podCIDR in all (malloc'd). */
static char *podnet_rules(const char *own, const struct ag_route *all, size_t n)
{
    struct ck_buf b = CK_BUF_INIT(1u << 20);
    ck_buf_appendf(&b,
                   "add table ip " NFT_TABLE "\ndelete table ip " NFT_TABLE "\n"
                   "table ip " NFT_TABLE " {\n set podcidrs {\n  type ipv4_addr\n"
                   "  flags interval\n  elements = { %s",
                   own);
    for (size_t i = 0; i < n; i++)
        ck_buf_appendf(&b, ", %s", all[i].dst);
    ck_buf_appendf(&b,
                   " }\n }\n chain postrouting {\n  type nat hook postrouting priority "
                   "srcnat; policy accept;\n  ip saddr %s ip daddr != @podcidrs masquerade\n"
                   " }\n}\n",
                   own);
    return ck_buf_detach(&b, NULL);
}

/* Applies the rules when they changed since the last time (r->nft_last). */
static void podnet_sync(struct ag_routes *r, const struct ag_route *all, size_t n);

/* ---- the controller ---------------------------------------------------------------------- */

struct ag_routes {
    struct agent *ag;
    struct ck_informer *inf;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool dirty, stopping, forwarding;
    char *nft_last; /* the masquerade rules last applied */
};

static void podnet_sync(struct ag_routes *r, const struct ag_route *all, size_t n)
{
    const char *own = r->ag->pod_cidr;
    if (!*own)
        return;
    char *rules = podnet_rules(own, all, n);
    if (r->nft_last && !strcmp(rules, r->nft_last)) {
        free(rules);
        return;
    }
    struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) {
        free(rules);
        return;
    }
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
    if (nft_run_cmd_from_buffer(ctx, rules) != 0) {
        ck_warn("routes: masquerade rules: %s", nft_ctx_get_error_buffer(ctx));
        free(rules);
    } else {
        ck_v(1, "routes: masquerading %s outside %zu podCIDRs", own, n + 1);
        free(r->nft_last);
        r->nft_last = rules;
    }
    nft_ctx_free(ctx);
}

static void kick(struct ag_routes *r)
{
    pthread_mutex_lock(&r->mu);
    r->dirty = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void on_add(void *arg, json_t *obj)
{
    (void)obj;
    kick(arg);
}

static void on_update(void *arg, json_t *old, json_t *obj)
{
    if (!json_equal(k8s_jpath(old, "spec.podCIDR"), k8s_jpath(obj, "spec.podCIDR")) ||
        !json_equal(k8s_jpath(old, "status.addresses"), k8s_jpath(obj, "status.addresses")))
        kick(arg);
}

static void ip_forward(struct ag_routes *r)
{
    if (r->forwarding)
        return;
    int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "1\n", 2) != 2)
        ck_warn("routes: enabling net.ipv4.ip_forward: %s", strerror(errno));
    else
        r->forwarding = true;
    if (fd >= 0)
        close(fd);
}

static void sync_routes(struct ag_routes *r)
{
    struct agent *ag = r->ag;
    json_t *nodes = ck_indexer_list(ck_informer_indexer(r->inf));
    struct ag_route *want = NULL, *have = NULL, *add = NULL, *del = NULL;
    size_t nwant = ag_routes_wanted(nodes, ag->nodes[0].name, ag->nodes[0].host_ip, &want);
    size_t nhave = 0, nadd = 0, ndel = 0;
    json_decref(nodes);
    struct ck_err err = CK_ERR_INIT;
    int fd = nl_open(&err);
    if (fd < 0 || nl_list(fd, &have, &nhave, &err) < 0) {
        ck_warn("routes: %s", err.msg);
        goto out;
    }
    podnet_sync(r, want, nwant);
    ag_routes_diff(have, nhave, want, nwant, &add, &nadd, &del, &ndel);
    if (nadd)
        ip_forward(r);
    for (size_t i = 0; i < ndel; i++) {
        if (nl_route(fd, &del[i], false, &err) < 0)
            ck_warn("routes: deleting %s via %s: %s", del[i].dst, del[i].gw, err.msg);
        else
            ck_info("routes: deleted %s via %s", del[i].dst, del[i].gw);
        ck_err_clear(&err);
    }
    for (size_t i = 0; i < nadd; i++) {
        if (nl_route(fd, &add[i], true, &err) < 0)
            ck_warn("routes: adding %s via %s: %s", add[i].dst, add[i].gw, err.msg);
        else
            ck_info("routes: %s via %s", add[i].dst, add[i].gw);
        ck_err_clear(&err);
    }
out:
    ck_err_clear(&err);
    if (fd >= 0)
        close(fd);
    free(want);
    free(have);
    free(add);
    free(del);
}

static void *routes_main(void *arg)
{
    struct ag_routes *r = arg;
    while (!ck_informer_wait_synced(r->inf, 500)) {
        pthread_mutex_lock(&r->mu);
        bool stop = r->stopping;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            return NULL;
    }
    for (;;) {
        sync_routes(r);
        pthread_mutex_lock(&r->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += RESYNC_S;
        while (!r->dirty && !r->stopping)
            if (pthread_cond_timedwait(&r->cv, &r->mu, &until) != 0)
                break;
        bool stop = r->stopping;
        r->dirty = false;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            return NULL;
    }
}

int ag_routes_start(struct agent *ag, struct ck_err *err)
{
    (void)err;
    if (ag->hollow)
        return 0;
    struct ag_routes *r = ck_calloc(1, sizeof(*r));
    r->ag = ag;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->inf = ck_informer_new(ag->client, &(struct ck_informer_opts){.path = "/api/v1/nodes"});
    ck_informer_add_handlers(r->inf, &(struct ck_informer_handlers){on_add, on_update, on_add, r});
    ck_informer_start(r->inf);
    pthread_create(&r->th, NULL, routes_main, r);
    ag->routes = r;
    return 0;
}

void ag_routes_stop(struct agent *ag)
{
    struct ag_routes *r = ag->routes;
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->th, NULL);
    ck_informer_stop(r->inf);
    ck_informer_free(r->inf);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r->nft_last);
    free(r);
    ag->routes = NULL;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The eviction manager's pure decisions (see evict.h): thresholds, minimum reclaim, node
 * conditions with the pressure transition period, and pod ranking. */
#include "agent/evict.h"
#include "k8s/quantity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static const char *const sig_names[AG_SIG_N] = {"memory.available",   "nodefs.available",
                                                "nodefs.inodesFree",  "imagefs.available",
                                                "imagefs.inodesFree", "pid.available"};

const char *ag_signal_name(enum ag_signal s)
{
    return s < AG_SIG_N ? sig_names[s] : "";
}

const char *ag_signal_resource(enum ag_signal s)
{
    switch (s) {
    case AG_SIG_MEMORY:
        return "memory";
    case AG_SIG_NODEFS:
    case AG_SIG_IMAGEFS:
        return "ephemeral-storage";
    case AG_SIG_NODEFS_INODES:
    case AG_SIG_IMAGEFS_INODES:
        return "inodes";
    default:
        return "pids";
    }
}

static int signal_of(const char *name, size_t len)
{
    for (int i = 0; i < AG_SIG_N; i++)
        if (strlen(sig_names[i]) == len && !strncmp(sig_names[i], name, len))
            return i;
    return -1;
}

/* "10%" -> 0.10, or a quantity; 1 = set, 0 = zero (disabled), -1 error */
static int parse_value(const char *sig, const char *v, int64_t *q, double *pct, struct ck_err *err)
{
    size_t l = strlen(v);
    *q = 0;
    *pct = 0;
    if (l && v[l - 1] == '%') {
        char *end;
        double p = strtod(v, &end);
        if (end != v + l - 1 || l == 1)
            return ck_err_set(err, CK_R_BAD_REQUEST, "invalid percentage %s for %s", v, sig);
        if (p < 0 || p > 100)
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "eviction percentage threshold %s must be positive: %s", sig, v);
        *pct = p / 100.0;
        return p > 0;
    }
    struct k8s_quantity k;
    if (k8s_quantity_parse(v, &k) < 0)
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "quantities must match the regular expression "
                          "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
    if (k.nano < 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "eviction threshold %s must be positive: %s", sig,
                          v);
    *q = k8s_quantity_value(&k);
    return *q > 0;
}

/* Splits a comma list; calls fn(expr) for each non-empty item. */
static int each_item(const char *spec, int (*fn)(void *, const char *, struct ck_err *), void *arg,
                     struct ck_err *err)
{
    char item[256];
    for (const char *s = spec; *s;) {
        const char *c = strchr(s, ',');
        size_t l = c ? (size_t)(c - s) : strlen(s);
        while (l && (*s == ' '))
            s++, l--;
        if (l >= sizeof(item))
            return ck_err_set(err, CK_R_BAD_REQUEST, "eviction threshold too long");
        snprintf(item, sizeof(item), "%.*s", (int)l, s);
        if (l && fn(arg, item, err) < 0)
            return -1;
        s += l;
        if (*s == ',')
            s++;
    }
    return 0;
}

struct parse_ctx {
    struct ag_threshold *t;
    size_t *n;
};

static int parse_one(void *arg, const char *expr, struct ck_err *err)
{
    struct parse_ctx *x = arg;
    const char *op = strchr(expr, '<');
    if (!op)
        return ck_err_set(
            err, CK_R_BAD_REQUEST,
            "invalid eviction threshold syntax %s, expected <signal><operator><value>", expr);
    int sig = signal_of(expr, (size_t)(op - expr));
    if (sig < 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "unsupported eviction signal %.*s",
                          (int)(op - expr), expr);
    struct ag_threshold t = {.sig = (enum ag_signal)sig};
    int rc = parse_value(sig_names[sig], op + 1, &t.quantity, &t.percent, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return 0;
    snprintf(t.text, sizeof(t.text), "%s", op + 1);
    for (size_t i = 0; i < *x->n; i++)
        if (x->t[i].sig == t.sig)
            return ck_err_set(err, CK_R_BAD_REQUEST,
                              "found duplicate eviction threshold for signal %s", sig_names[sig]);
    if (*x->n >= AG_EVICT_MAX_THRESHOLDS)
        return ck_err_set(err, CK_R_BAD_REQUEST, "too many eviction thresholds");
    x->t[(*x->n)++] = t;
    return 0;
}

int ag_evict_parse(const char *spec, struct ag_threshold *out, size_t *n, struct ck_err *err)
{
    *n = 0;
    struct parse_ctx x = {out, n};
    return each_item(spec ? spec : AG_EVICT_DEFAULT_HARD, parse_one, &x, err);
}

struct reclaim_ctx {
    struct ag_threshold *t;
    size_t n;
};

static int reclaim_one(void *arg, const char *expr, struct ck_err *err)
{
    struct reclaim_ctx *x = arg;
    const char *op = strchr(expr, '=');
    if (!op)
        return ck_err_set(err, CK_R_BAD_REQUEST,
                          "invalid minimum reclaim %s, expected "
                          "<signal>=<value>",
                          expr);
    int sig = signal_of(expr, (size_t)(op - expr));
    if (sig < 0)
        return ck_err_set(err, CK_R_BAD_REQUEST, "unsupported eviction signal %.*s",
                          (int)(op - expr), expr);
    int64_t q;
    double pct;
    if (parse_value(sig_names[sig], op + 1, &q, &pct, err) < 0)
        return -1;
    for (size_t i = 0; i < x->n; i++)
        if (x->t[i].sig == (enum ag_signal)sig) {
            x->t[i].reclaim_q = q;
            x->t[i].reclaim_pct = pct;
        }
    return 0;
}

int ag_evict_parse_reclaim(const char *spec, struct ag_threshold *t, size_t n, struct ck_err *err)
{
    struct reclaim_ctx x = {t, n};
    return spec ? each_item(spec, reclaim_one, &x, err) : 0;
}

int64_t ag_threshold_value(const struct ag_threshold *t, int64_t capacity)
{
    if (t->percent > 0)
        return (int64_t)((double)capacity * t->percent);
    return t->quantity;
}

static int64_t reclaim_value(const struct ag_threshold *t, int64_t capacity)
{
    if (t->reclaim_pct > 0)
        return (int64_t)((double)capacity * t->reclaim_pct);
    return t->reclaim_q;
}

/* ---- ranking ------------------------------------------------------------------------------ */

static int cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int cmp_cand(const struct ag_evict_cand *a, const struct ag_evict_cand *b,
                    enum ag_signal sig)
{
    bool mem = sig == AG_SIG_MEMORY, pid = sig == AG_SIG_PID;
    int64_t ua = mem ? a->mem_usage : a->disk_usage, ub = mem ? b->mem_usage : b->disk_usage;
    int64_t ra = mem ? a->mem_request : a->disk_request;
    int64_t rb = mem ? b->mem_request : b->disk_request;
    if (!pid) { /* exceedMemoryRequests / exceedDiskRequests: those over requests first */
        bool ea = ua > ra, eb = ub > rb;
        if (ea != eb)
            return ea ? -1 : 1;
    }
    if (a->priority != b->priority) /* lower priority first */
        return a->priority < b->priority ? -1 : 1;
    if (pid)
        return 0;
    return cmp_i64(ub - rb, ua - ra); /* larger usage over requests first */
}

void ag_evict_rank(struct ag_evict_cand *v, size_t n, enum ag_signal sig)
{
    /* a stable order for equal keys: insertion sort (n is small) */
    for (size_t i = 1; i < n; i++) {
        struct ag_evict_cand x = v[i];
        size_t j = i;
        while (j > 0 && cmp_cand(&v[j - 1], &x, sig) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

/* ---- synchronize -------------------------------------------------------------------------- */

static enum ag_condition cond_of(enum ag_signal s)
{
    return s == AG_SIG_MEMORY ? AG_COND_MEMORY : s == AG_SIG_PID ? AG_COND_PID : AG_COND_DISK;
}

static int order_of(enum ag_signal s)
{
    return s == AG_SIG_MEMORY ? 0 : s == AG_SIG_PID ? 1 : 2;
}

void ag_evict_sync(struct ag_evict_state *s, const struct ag_evict_obs *o, int64_t now_ns,
                   struct ag_evict_cand *cands, size_t n, struct ag_evict_decision *d)
{
    d->threshold = -1;
    d->victim = -1;
    bool met[AG_EVICT_MAX_THRESHOLDS] = {0};
    for (size_t i = 0; i < s->nt; i++) {
        const struct ag_threshold *t = &s->t[i];
        const struct ag_observation *ob = &o->s[t->sig];
        if (!ob->have)
            continue;
        int64_t v = ag_threshold_value(t, ob->capacity);
        if (s->met[i]) /* still reclaiming: the minimum reclaim must be reached too */
            v += reclaim_value(t, ob->capacity);
        met[i] = ob->available < v;
    }
    for (size_t i = 0; i < s->nt; i++) {
        s->met[i] = met[i];
        if (met[i])
            s->cond_seen_ns[cond_of(s->t[i].sig)] = now_ns;
    }
    for (int c = 0; c < AG_COND_N; c++)
        s->cond[c] = s->cond_seen_ns[c] && now_ns - s->cond_seen_ns[c] < s->transition_ns;
    for (size_t i = 0; i < s->nt; i++) {
        if (!met[i])
            continue;
        if (d->threshold < 0 || order_of(s->t[i].sig) < order_of(s->t[d->threshold].sig))
            d->threshold = (int)i;
    }
    for (size_t i = 0; i < s->nt; i++) /* the transition period keeps it True in between */
        if (met[i])
            s->cond[cond_of(s->t[i].sig)] = true;
    if (d->threshold < 0)
        return;
    ag_evict_rank(cands, n, s->t[d->threshold].sig);
    for (size_t i = 0; i < n; i++)
        if (!cands[i].critical) {
            d->victim = (int)i;
            break;
        }
}

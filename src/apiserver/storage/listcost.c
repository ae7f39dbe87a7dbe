/* SPDX-License-Identifier: Apache-2.0 */
/* LIST cost accounting: per (User-Agent product, resource) counters of requests, objects
 * scanned and returned, response bytes and time, in a fixed-size table (at most LC_MAX_KEYS
 * pairs; later pairs fold into agent "other" per resource), rendered as Prometheus text and
 * as the items of the GET /debug/api/top-lists report (endpoints/toplists.c). */
#include "apiserver/storage/storage.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define LC_MAX_KEYS 256              /* distinct (agent, resource) pairs kept by name */
#define LC_HASH_SLOTS 512            /* open addressing, power of two, > 2 * LC_MAX_KEYS */
#define LC_AGENT_MAX 48              /* product token bytes kept, NUL included */
#define LC_OTHER "other"

struct lc_entry {
    char agent[LC_AGENT_MAX];
    const struct reg_resource *res; /* NULL: the ("other", "other") bucket */
    long long requests, scanned, returned, bytes;
    int64_t ns_total, ns_max;
};

struct eng_listcost {
    pthread_mutex_t mu;
    struct lc_entry keys[LC_MAX_KEYS];
    size_t nkeys;
    short slots[LC_HASH_SLOTS]; /* index into keys + 1; 0 = empty */
    struct lc_entry *other;     /* agent "other", one per resource (indexed by res->idx) */
    size_t nother;
    struct lc_entry other_other;
};

struct eng_listcost *eng_listcost_new(void)
{
    struct eng_listcost *lc = ck_calloc(1, sizeof(*lc));
    pthread_mutex_init(&lc->mu, NULL);
    lc->nother = reg_count();
    lc->other = ck_calloc(lc->nother, sizeof(*lc->other));
    for (size_t i = 0; i < lc->nother; i++) {
        snprintf(lc->other[i].agent, LC_AGENT_MAX, LC_OTHER);
        lc->other[i].res = reg_at(i);
    }
    snprintf(lc->other_other.agent, LC_AGENT_MAX, LC_OTHER);
    return lc;
}

void eng_listcost_free(struct eng_listcost *lc)
{
    if (!lc)
        return;
    pthread_mutex_destroy(&lc->mu);
    free(lc->other);
    free(lc);
}

/* The User-Agent product token ("kubectl/v1.33.0 (linux/amd64) ..." -> "kubectl"), with
 * every byte outside [A-Za-z0-9._:+-] replaced by '_' so it is a safe label value and JSON
 * string; "unknown" when absent. */
static void product_token(const char *ua, char out[LC_AGENT_MAX])
{
    size_t n = 0;
    if (ua)
        while (*ua == ' ' || *ua == '\t')
            ua++;
    for (; ua && ua[n] && ua[n] != '/' && ua[n] != ' ' && ua[n] != '\t' && n < LC_AGENT_MAX - 1;
         n++) {
        unsigned char c = (unsigned char)ua[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == ':' || c == '+' || c == '-';
        out[n] = ok ? (char)c : '_';
    }
    out[n] = '\0';
    if (n == 0)
        snprintf(out, LC_AGENT_MAX, "unknown");
}

static unsigned lc_hash(const char *agent, const struct reg_resource *res)
{
    uint32_t h = 2166136261u;
    for (const char *p = agent; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ (uint32_t)(res ? res->idx + 1 : 0)) * 16777619u;
    return h ^ (h >> 15);
}

static struct lc_entry *other_bucket(struct eng_listcost *lc, const struct reg_resource *res)
{
    if (res && res->idx >= 0 && (size_t)res->idx < lc->nother && lc->other[res->idx].res == res)
        return &lc->other[res->idx];
    return &lc->other_other;
}

/* The entry for (agent, res), created when there is room; lc->mu held. */
static struct lc_entry *lc_find(struct eng_listcost *lc, const char *agent,
                                const struct reg_resource *res)
{
    if (!res || strcmp(agent, LC_OTHER) == 0)
        return other_bucket(lc, res);
    unsigned i = lc_hash(agent, res) & (LC_HASH_SLOTS - 1);
    for (;; i = (i + 1) & (LC_HASH_SLOTS - 1)) {
        int k = lc->slots[i];
        if (k == 0)
            break;
        struct lc_entry *e = &lc->keys[k - 1];
        if (e->res == res && strcmp(e->agent, agent) == 0)
            return e;
    }
    if (lc->nkeys >= LC_MAX_KEYS)
        return other_bucket(lc, res);
    struct lc_entry *e = &lc->keys[lc->nkeys++];
    snprintf(e->agent, LC_AGENT_MAX, "%s", agent);
    e->res = res;
    lc->slots[i] = (short)lc->nkeys;
    return e;
}

void eng_listcost_add(struct eng_listcost *lc, const struct eng_list_cost *c)
{
    if (!lc || !c)
        return;
    char agent[LC_AGENT_MAX];
    product_token(c->user_agent, agent);
    int64_t ns = c->ns > 0 ? c->ns : 0;
    pthread_mutex_lock(&lc->mu);
    struct lc_entry *e = lc_find(lc, agent, c->res);
    e->requests++;
    e->scanned += (long long)c->scanned;
    e->returned += (long long)c->returned;
    e->bytes += (long long)c->bytes;
    e->ns_total += ns;
    if (ns > e->ns_max)
        e->ns_max = ns;
    pthread_mutex_unlock(&lc->mu);
}

/* Copies every used entry (malloc'd array, *n entries) so rendering runs without the lock. */
static struct lc_entry *lc_snapshot(struct eng_listcost *lc, size_t *n)
{
    pthread_mutex_lock(&lc->mu);
    struct lc_entry *v = ck_malloc((lc->nkeys + lc->nother + 1) * sizeof(*v));
    size_t k = lc->nkeys;
    memcpy(v, lc->keys, lc->nkeys * sizeof(*v));
    for (size_t i = 0; i < lc->nother; i++)
        if (lc->other[i].requests)
            v[k++] = lc->other[i];
    if (lc->other_other.requests)
        v[k++] = lc->other_other;
    pthread_mutex_unlock(&lc->mu);
    *n = k;
    return v;
}

static void res_name(const struct lc_entry *e, char *out, size_t n)
{
    if (e->res)
        reg_qualified(e->res, out, n);
    else
        snprintf(out, n, LC_OTHER);
}

enum lc_field { LC_REQUESTS, LC_SCANNED, LC_RETURNED, LC_BYTES, LC_SECONDS, LC_MAX_SECONDS };

static const struct {
    const char *name, *type, *help;
} lc_families[] = {
    [LC_REQUESTS] = {"ckube_apiserver_list_cost_requests_total", "counter",
                     "LIST requests served, by client User-Agent product and resource."},
    [LC_SCANNED] = {"ckube_apiserver_list_cost_objects_scanned_total", "counter",
                    "Objects examined to answer LISTs, by client and resource."},
    [LC_RETURNED] = {"ckube_apiserver_list_cost_objects_returned_total", "counter",
                     "Objects returned by LISTs, by client and resource."},
    [LC_BYTES] = {"ckube_apiserver_list_cost_bytes_total", "counter",
                  "LIST response body bytes, by client and resource."},
    [LC_SECONDS] = {"ckube_apiserver_list_cost_seconds_total", "counter",
                    "Time spent building LIST responses, by client and resource."},
    [LC_MAX_SECONDS] = {"ckube_apiserver_list_cost_max_seconds", "gauge",
                        "Slowest single LIST response build, by client and resource."},
};

static int family(struct ck_buf *out, enum lc_field f, const struct lc_entry *v, size_t n)
{
    int rc = ck_buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", lc_families[f].name,
                            lc_families[f].help, lc_families[f].name, lc_families[f].type);
    for (size_t i = 0; i < n; i++) {
        char res[128];
        res_name(&v[i], res, sizeof(res));
        rc |= ck_buf_appendf(out, "%s{user_agent=\"%s\",resource=\"%s\"} ", lc_families[f].name,
                             v[i].agent, res);
        switch (f) {
        case LC_REQUESTS: rc |= ck_buf_appendf(out, "%lld\n", v[i].requests); break;
        case LC_SCANNED: rc |= ck_buf_appendf(out, "%lld\n", v[i].scanned); break;
        case LC_RETURNED: rc |= ck_buf_appendf(out, "%lld\n", v[i].returned); break;
        case LC_BYTES: rc |= ck_buf_appendf(out, "%lld\n", v[i].bytes); break;
        case LC_SECONDS: rc |= ck_buf_appendf(out, "%.9f\n", (double)v[i].ns_total / 1e9); break;
        default: rc |= ck_buf_appendf(out, "%.9f\n", (double)v[i].ns_max / 1e9); break;
        }
    }
    return rc < 0 ? -1 : 0;
}

int eng_listcost_metrics(struct eng_listcost *lc, struct ck_buf *out)
{
    if (!lc)
        return 0;
    size_t n;
    struct lc_entry *v = lc_snapshot(lc, &n);
    int rc = 0;
    for (int f = LC_REQUESTS; f <= LC_MAX_SECONDS; f++)
        rc |= family(out, (enum lc_field)f, v, n);
    free(v);
    return rc < 0 ? -1 : 0;
}

/* ---- GET /debug/api/top-lists --------------------------------------------------------- */

static long long field_of(const struct lc_entry *e, enum lc_field f)
{
    switch (f) {
    case LC_REQUESTS: return e->requests;
    case LC_SCANNED: return e->scanned;
    case LC_RETURNED: return e->returned;
    case LC_SECONDS: return e->ns_total;
    default: return e->bytes;
    }
}

struct lc_sorted {
    long long key;
    const struct lc_entry *e;
};

/* Descending by the chosen field, then by requests, then by name (a stable report). */
static int cmp_sorted(const void *pa, const void *pb)
{
    const struct lc_sorted *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? 1 : -1;
    if (a->e->requests != b->e->requests)
        return a->e->requests < b->e->requests ? 1 : -1;
    int c = strcmp(a->e->agent, b->e->agent);
    if (c)
        return c;
    char ra[128], rb[128];
    res_name(a->e, ra, sizeof(ra));
    res_name(b->e, rb, sizeof(rb));
    return strcmp(ra, rb);
}

json_t *eng_listcost_top(struct eng_listcost *lc, enum eng_lc_sort sort, long long limit)
{
    enum lc_field f = sort == ENG_LC_SCANNED    ? LC_SCANNED
                      : sort == ENG_LC_SECONDS  ? LC_SECONDS
                      : sort == ENG_LC_REQUESTS ? LC_REQUESTS
                                                : LC_BYTES;
    size_t n = 0;
    struct lc_entry *v = lc ? lc_snapshot(lc, &n) : NULL;
    struct lc_sorted *sv = ck_malloc((n ? n : 1) * sizeof(*sv));
    for (size_t i = 0; i < n; i++)
        sv[i] = (struct lc_sorted){field_of(&v[i], f), &v[i]};
    qsort(sv, n, sizeof(*sv), cmp_sorted);
    json_t *items = json_array();
    for (size_t i = 0; i < n && (long long)i < limit; i++) {
        const struct lc_entry *e = sv[i].e;
        char res[128];
        res_name(e, res, sizeof(res));
        json_array_append_new(
            items,
            json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:f,s:f}", "userAgent", e->agent, "resource", res,
                      "requests", (json_int_t)e->requests, "objectsScanned", (json_int_t)e->scanned,
                      "objectsReturned", (json_int_t)e->returned, "bytes", (json_int_t)e->bytes,
                      "seconds", (double)e->ns_total / 1e9, "maxSeconds", (double)e->ns_max / 1e9));
    }
    free(sv);
    free(v);
    return items;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The front end's Prometheus counters (requests by method and code, in-flight requests, open
 * watches, request latency histogram) rendered as text format 0.0.4, upstream's
 * apiserver_request_* families (labels from the engine's api_reqinfo), the process_*
 * collector, then the engine's own metrics. ckube's counters are lock-free atomics updated
 * from the loop threads; the labelled families are lib/metrics.h families. */
#include "apiserver/http/http_apf.h"
#include "apiserver/http/http_int.h"
#include "lib/metrics.h"

#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

static const double lat_bounds[HTTP_NLAT_BUCKETS] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                     0.25,  0.5,   1,    2.5,   5,    10};

void http_metrics_observe(struct http_metrics *m, int midx, int status, int64_t dur_ns,
                          bool latency)
{
    if (midx < 0 || midx >= HTTP_NMETHODS)
        midx = HTTP_NMETHODS - 1;
    if (status < 0 || status >= 600)
        status = 0;
    atomic_fetch_add(&m->requests[midx][status], 1);
    if (!latency)
        return;
    double secs = (double)dur_ns / 1e9;
    for (int i = 0; i < HTTP_NLAT_BUCKETS; i++)
        if (secs <= lat_bounds[i]) {
            atomic_fetch_add(&m->lat_buckets[i], 1);
            break;
        }
    atomic_fetch_add(&m->lat_count, 1);
    atomic_fetch_add(&m->lat_sum_us, (uint64_t)(dur_ns / 1000));
}

static const char *const l_req[] = {"verb",        "dry_run", "group",     "version", "resource",
                                    "subresource", "scope",   "component", "code",    NULL};
static const char *const l_dur[] = {"verb",        "dry_run", "group",     "version", "resource",
                                    "subresource", "scope",   "component", NULL};
static const char *const l_size[] = {"verb",  "group",     "version", "resource", "subresource",
                                     "scope", "component", NULL};
static const double dur_buckets[] = {0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8,
                                     1.0,   1.25,  1.5,  2,   3,   4,   5,   6,
                                     8,     10,    15,   20,  30,  45,  60};
static const double size_buckets[] = {1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

static struct ck_mfam req_total =
    CK_MFAM_INIT("apiserver_request_total",
                 "Counter of apiserver requests broken out for each verb, dry run value, group, "
                 "version, resource, scope, component, and HTTP response code.",
                 CK_MCOUNTER, l_req, NULL, 0);
static struct ck_mfam req_duration =
    CK_MFAM_INIT("apiserver_request_duration_seconds",
                 "Response latency distribution in seconds for each verb, dry run value, group, "
                 "version, resource, subresource, scope and component.",
                 CK_MHISTOGRAM, l_dur, dur_buckets, sizeof(dur_buckets) / sizeof(double));
static struct ck_mfam resp_sizes =
    CK_MFAM_INIT("apiserver_response_sizes",
                 "Response size distribution in bytes for each group, version, verb, resource, "
                 "subresource, scope and component.",
                 CK_MHISTOGRAM, l_size, size_buckets, sizeof(size_buckets) / sizeof(double));

void http_metrics_request(const struct api_reqinfo *in, const char *path, int status,
                          int64_t dur_ns, size_t bytes)
{
    static const struct api_reqinfo none = {.verb = "GET", .scope = ""};
    char code[8];
    if (!in || !in->verb)
        in = &none;
    /* a non-resource request reports its path as subresource; unknown paths share "other" */
    const char *sub = in->is_resource ? in->subresource : status == 404 ? "other" : path;
    snprintf(code, sizeof(code), "%d", status);
    const char *v[] = {in->verb,     in->dry_run ? "All" : "", in->group, in->version,
                       in->is_resource ? in->resource : "", sub, in->scope, "apiserver", code};
    ck_mfam_add(&req_total, v, 1);
    const char *d[] = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
    ck_mfam_observe(&req_duration, d, (double)dur_ns / 1e9);
    if (!strcmp(in->verb, "GET") || !strcmp(in->verb, "LIST")) {
        const char *z[] = {v[0], v[2], v[3], v[4], v[5], v[6], v[7]};
        ck_mfam_observe(&resp_sizes, z, (double)bytes);
    }
}

static int render_upstream(struct http_server *s, struct ck_buf *out)
{
    int rc = ck_mfam_render(&req_total, out);
    rc |= ck_mfam_render(&req_duration, out);
    rc |= ck_mfam_render(&resp_sizes, out);
    rc |= ck_metrics_header(out, "apiserver_current_inflight_requests",
                            "Maximal number of currently used inflight request limit of this "
                            "apiserver per request kind in last second.",
                            "gauge");
    rc |= ck_buf_appendf(out,
                         "apiserver_current_inflight_requests{request_kind=\"mutating\"} %ld\n"
                         "apiserver_current_inflight_requests{request_kind=\"readOnly\"} %ld\n",
                         atomic_exchange(&s->m.inflight_max[1], atomic_load(&s->m.inflight[1])),
                         atomic_exchange(&s->m.inflight_max[0], atomic_load(&s->m.inflight[0])));
    rc |= ck_metrics_process(out);
    return rc;
}

void http_metrics_inflight(struct http_metrics *m, bool mutating, int delta)
{
    long v = atomic_fetch_add(&m->inflight[mutating], delta) + delta;
    long cur = atomic_load(&m->inflight_max[mutating]);
    while (v > cur && !atomic_compare_exchange_weak(&m->inflight_max[mutating], &cur, v))
        ;
}

int http_metrics_render(struct http_server *s, struct ck_buf *out)
{
    struct http_metrics *m = &s->m;
    uint64_t cum = 0;

    http_apf_metrics(s, out); /* apf */
    ck_buf_appends(out, "# HELP ckube_http_requests_total HTTP requests by method and code.\n"
                        "# TYPE ckube_http_requests_total counter\n");
    for (int i = 0; i < HTTP_NMETHODS; i++)
        for (int c = 0; c < 600; c++) {
            uint64_t v = atomic_load(&m->requests[i][c]);
            if (v)
                ck_buf_appendf(out, "ckube_http_requests_total{method=\"%s\",code=\"%d\"} %llu\n",
                               http_method_name(i), c, (unsigned long long)v);
        }
    ck_buf_appendf(out,
                   "# HELP ckube_http_requests_in_flight Requests being served (watches excluded).\n"
                   "# TYPE ckube_http_requests_in_flight gauge\nckube_http_requests_in_flight %ld\n"
                   "# HELP ckube_http_watches Open watch streams.\n"
                   "# TYPE ckube_http_watches gauge\nckube_http_watches %ld\n",
                   atomic_load(&m->in_flight), atomic_load(&m->watches));
    ck_buf_appends(out, "# HELP ckube_http_request_duration_seconds Time to serve a request.\n"
                        "# TYPE ckube_http_request_duration_seconds histogram\n");
    for (int i = 0; i < HTTP_NLAT_BUCKETS; i++) {
        cum += atomic_load(&m->lat_buckets[i]);
        ck_buf_appendf(out, "ckube_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                       lat_bounds[i], (unsigned long long)cum);
    }
    ck_buf_appendf(out,
                   "ckube_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                   "ckube_http_request_duration_seconds_sum %.6f\n"
                   "ckube_http_request_duration_seconds_count %llu\n",
                   (unsigned long long)atomic_load(&m->lat_count),
                   (double)atomic_load(&m->lat_sum_us) / 1e6,
                   (unsigned long long)atomic_load(&m->lat_count));
    render_upstream(s, out);
    if (s->ops->metrics)
        return s->ops->metrics(s->eng, out);
    return 0;
}

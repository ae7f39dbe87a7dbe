/* SPDX-License-Identifier: Apache-2.0 */
/* The front end's Prometheus counters (requests by method and code, in-flight requests, open
 * watches, request latency histogram) rendered as text format 0.0.4, followed by the
 * engine's own metrics. Counters are lock-free atomics updated from the loop threads. */
#include "apiserver/http/http_int.h"

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

int http_metrics_render(struct http_server *s, struct ck_buf *out)
{
    struct http_metrics *m = &s->m;
    uint64_t cum = 0;

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
    if (s->ops->metrics)
        return s->ops->metrics(s->eng, out);
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus metric families shared by every component: labelled counters, gauges and
 * histograms rendered as text format 0.0.4 (always with HELP and TYPE), the process_*
 * collector (what client_golang's process collector exports), and the OpenMetrics 1.0
 * variant of a rendered page. Design note: docs/observability.md.
 *
 * A family is a static object (CK_MFAM_INIT): no init call, usable from any thread. Each
 * distinct tuple of label values becomes a series on first use and lives until ck_mfam_reset
 * or process exit, so label values must come from bounded sets (verbs, resources, codes). */
#ifndef CK_LIB_METRICS_H
#define CK_LIB_METRICS_H

#include "lib/buf.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

enum ck_mtype { CK_MCOUNTER, CK_MGAUGE, CK_MHISTOGRAM };

#define CK_MFAM_SLOTS 64

struct ck_mseries;

struct ck_mfam {
    const char *name; /* counters end in _total */
    const char *help;
    enum ck_mtype type;
    const char *const *labels; /* NULL-terminated label names; NULL = no labels */
    const double *buckets;     /* histograms: ascending upper bounds (+Inf implied) */
    size_t nbuckets;
    /* private */
    pthread_mutex_t mu;
    struct ck_mseries *slot[CK_MFAM_SLOTS];
};

#define CK_MFAM_INIT(nm, hp, ty, lbl, bk, nb)                                                      \
    {                                                                                              \
        .name = (nm), .help = (hp), .type = (ty), .labels = (lbl), .buckets = (bk),                \
        .nbuckets = (nb), .mu = PTHREAD_MUTEX_INITIALIZER                                          \
    }

/* Upstream's default histogram buckets (client_golang DefBuckets). */
extern const double ck_metrics_def_buckets[11];

/* values: one per label name (NULL counts as ""). Thread-safe. */
void ck_mfam_add(struct ck_mfam *f, const char *const *values, double delta);
void ck_mfam_set(struct ck_mfam *f, const char *const *values, double v);
void ck_mfam_observe(struct ck_mfam *f, const char *const *values, double v);
/* Drops every series (gauges recomputed at scrape time). */
void ck_mfam_reset(struct ck_mfam *f);
/* HELP, TYPE and every series; a family without series renders its HELP and TYPE only. */
int ck_mfam_render(struct ck_mfam *f, struct ck_buf *out);

/* "# HELP name help\n# TYPE name type\n" for families rendered by hand. */
int ck_metrics_header(struct ck_buf *out, const char *name, const char *help, const char *type);
/* Appends "{name=\"value\"...}" style escaped label value (backslash, quote, newline). */
int ck_metrics_escape(struct ck_buf *out, const char *v);

/* process_cpu_seconds_total, process_open_fds, process_max_fds, process_virtual_memory_bytes,
 * process_virtual_memory_max_bytes, process_resident_memory_bytes, process_start_time_seconds
 * for the calling process (from /proc/self). */
int ck_metrics_process(struct ck_buf *out);

/* True when an Accept header prefers application/openmetrics-text. */
bool ck_metrics_wants_openmetrics(const char *accept, size_t len);
#define CK_METRICS_TEXT_CTYPE "text/plain; version=0.0.4; charset=utf-8"
#define CK_METRICS_OM_CTYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"
/* Rewrites a text 0.0.4 page (as rendered by these helpers: HELP/TYPE before every family)
 * into OpenMetrics 1.0: counter families lose the _total suffix in HELP/TYPE, and "# EOF"
 * ends the page. */
int ck_metrics_to_openmetrics(const char *text, size_t len, struct ck_buf *out);

#endif

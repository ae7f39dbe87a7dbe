/* SPDX-License-Identifier: Apache-2.0 */
/* Labelled metric families, the process collector and OpenMetrics rewriting (metrics.h).
 * Series are found by hashing their rendered label string; one mutex per family. */
#include "lib/metrics.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

const double ck_metrics_def_buckets[11] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

struct ck_mseries {
    struct ck_mseries *next;
    char *lv;     /* rendered labels without braces: a="x",b="y" ("" when none) */
    double v;     /* counter/gauge value; histogram sum */
    uint64_t cnt; /* histogram count */
    uint64_t b[]; /* histogram: per-bucket (non-cumulative) counts */
};

int ck_metrics_escape(struct ck_buf *out, const char *v)
{
    int rc = 0;
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '\\')
            rc |= ck_buf_appends(out, "\\\\");
        else if (*p == '"')
            rc |= ck_buf_appends(out, "\\\"");
        else if (*p == '\n')
            rc |= ck_buf_appends(out, "\\n");
        else
            rc |= ck_buf_appendc(out, *p);
    }
    return rc;
}

static char *render_labels(const struct ck_mfam *f, const char *const *values)
{
    struct ck_buf b = CK_BUF_INIT(1 << 16);
    for (size_t i = 0; f->labels && f->labels[i]; i++) {
        ck_buf_appendf(&b, "%s%s=\"", i ? "," : "", f->labels[i]);
        ck_metrics_escape(&b, values ? values[i] : NULL);
        ck_buf_appendc(&b, '"');
    }
    ck_buf_appendc(&b, '\0');
    return ck_buf_detach(&b, NULL);
}

static unsigned hash_str(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The series for values (created on first use); f->mu held. */
static struct ck_mseries *series_get(struct ck_mfam *f, const char *const *values)
{
    char *lv = render_labels(f, values);
    unsigned h = hash_str(lv) % CK_MFAM_SLOTS;
    for (struct ck_mseries *s = f->slot[h]; s; s = s->next)
        if (!strcmp(s->lv, lv)) {
            free(lv);
            return s;
        }
    size_t nb = f->type == CK_MHISTOGRAM ? f->nbuckets : 0;
    struct ck_mseries *s = ck_calloc(1, sizeof(*s) + nb * sizeof(uint64_t));
    s->lv = lv;
    s->next = f->slot[h];
    f->slot[h] = s;
    return s;
}

void ck_mfam_add(struct ck_mfam *f, const char *const *values, double delta)
{
    pthread_mutex_lock(&f->mu);
    series_get(f, values)->v += delta;
    pthread_mutex_unlock(&f->mu);
}

void ck_mfam_set(struct ck_mfam *f, const char *const *values, double v)
{
    pthread_mutex_lock(&f->mu);
    series_get(f, values)->v = v;
    pthread_mutex_unlock(&f->mu);
}

void ck_mfam_observe(struct ck_mfam *f, const char *const *values, double v)
{
    pthread_mutex_lock(&f->mu);
    struct ck_mseries *s = series_get(f, values);
    size_t i = 0;
    while (i < f->nbuckets && v > f->buckets[i])
        i++;
    if (i < f->nbuckets)
        s->b[i]++;
    s->cnt++;
    s->v += v;
    pthread_mutex_unlock(&f->mu);
}

void ck_mfam_reset(struct ck_mfam *f)
{
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < CK_MFAM_SLOTS; i++) {
        struct ck_mseries *s = f->slot[i];
        while (s) {
            struct ck_mseries *n = s->next;
            free(s->lv);
            free(s);
            s = n;
        }
        f->slot[i] = NULL;
    }
    pthread_mutex_unlock(&f->mu);
}

int ck_metrics_header(struct ck_buf *out, const char *name, const char *help, const char *type)
{
    return ck_buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{lv,extra} */
static int series_name(struct ck_buf *out, const char *name, const char *suffix, const char *lv,
                       const char *extra)
{
    bool any = lv[0] || extra;
    return ck_buf_appendf(out, "%s%s%s%s%s%s%s", name, suffix, any ? "{" : "", lv,
                          lv[0] && extra ? "," : "", extra ? extra : "", any ? "}" : "");
}

static int render_histogram(struct ck_buf *out, const struct ck_mfam *f, const struct ck_mseries *s)
{
    int rc = 0;
    uint64_t cum = 0;
    char le[64];
    for (size_t i = 0; i < f->nbuckets; i++) {
        cum += s->b[i];
        snprintf(le, sizeof(le), "le=\"%g\"", f->buckets[i]);
        rc |= series_name(out, f->name, "_bucket", s->lv, le);
        rc |= ck_buf_appendf(out, " %llu\n", (unsigned long long)cum);
    }
    rc |= series_name(out, f->name, "_bucket", s->lv, "le=\"+Inf\"");
    rc |= ck_buf_appendf(out, " %llu\n", (unsigned long long)s->cnt);
    rc |= series_name(out, f->name, "_sum", s->lv, NULL);
    rc |= ck_buf_appendf(out, " %.9g\n", s->v);
    rc |= series_name(out, f->name, "_count", s->lv, NULL);
    rc |= ck_buf_appendf(out, " %llu\n", (unsigned long long)s->cnt);
    return rc;
}

int ck_mfam_render(struct ck_mfam *f, struct ck_buf *out)
{
    static const char *const tn[] = {"counter", "gauge", "histogram"};
    int rc = ck_metrics_header(out, f->name, f->help, tn[f->type]);
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < CK_MFAM_SLOTS; i++)
        for (struct ck_mseries *s = f->slot[i]; s; s = s->next) {
            if (f->type == CK_MHISTOGRAM) {
                rc |= render_histogram(out, f, s);
                continue;
            }
            rc |= series_name(out, f->name, "", s->lv, NULL);
            rc |= ck_buf_appendf(out, " %.17g\n", s->v);
        }
    pthread_mutex_unlock(&f->mu);
    return rc < 0 ? -1 : 0;
}

/* ---- process collector --------------------------------------------------------------- */

static double boot_time(void)
{
    FILE *fp = fopen("/proc/stat", "re");
    char line[256];
    double bt = 0;
    while (fp && fgets(line, sizeof(line), fp))
        if (!strncmp(line, "btime ", 6)) {
            bt = strtod(line + 6, NULL);
            break;
        }
    if (fp)
        fclose(fp);
    return bt;
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    long n = 0;
    struct dirent *e;
    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n > 0 ? n - 1 : 0; /* the directory's own fd */
}

int ck_metrics_process(struct ck_buf *out)
{
    char buf[2048];
    unsigned long long ut = 0, st = 0, start = 0, vsize = 0;
    long long rss = 0;
    FILE *fp = fopen("/proc/self/stat", "re");
    size_t n = fp ? fread(buf, 1, sizeof(buf) - 1, fp) : 0;
    if (fp)
        fclose(fp);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* comm may hold spaces */
    if (p)
        sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
               "%llu %llu %lld",
               &ut, &st, &start, &vsize, &rss);
    double tck = (double)sysconf(_SC_CLK_TCK);
    double page = (double)sysconf(_SC_PAGESIZE);
    struct rlimit fl = {0}, as = {0};
    getrlimit(RLIMIT_NOFILE, &fl);
    getrlimit(RLIMIT_AS, &as);
    double asmax = as.rlim_cur == RLIM_INFINITY ? 1.8446744073709552e19 : (double)as.rlim_cur;
    int rc = 0;
    rc |= ck_metrics_header(out, "process_cpu_seconds_total",
                            "Total user and system CPU time spent in seconds.", "counter");
    rc |= ck_buf_appendf(out, "process_cpu_seconds_total %.2f\n", (double)(ut + st) / tck);
    rc |= ck_metrics_header(out, "process_max_fds", "Maximum number of open file descriptors.",
                            "gauge");
    rc |= ck_buf_appendf(out, "process_max_fds %.17g\n", (double)fl.rlim_cur);
    rc |= ck_metrics_header(out, "process_open_fds", "Number of open file descriptors.", "gauge");
    rc |= ck_buf_appendf(out, "process_open_fds %ld\n", open_fds());
    rc |= ck_metrics_header(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
                            "gauge");
    rc |= ck_buf_appendf(out, "process_resident_memory_bytes %.17g\n", (double)rss * page);
    rc |= ck_metrics_header(out, "process_start_time_seconds",
                            "Start time of the process since unix epoch in seconds.", "gauge");
    rc |=
        ck_buf_appendf(out, "process_start_time_seconds %.2f\n", boot_time() + (double)start / tck);
    rc |= ck_metrics_header(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                            "gauge");
    rc |= ck_buf_appendf(out, "process_virtual_memory_bytes %.17g\n", (double)vsize);
    rc |= ck_metrics_header(out, "process_virtual_memory_max_bytes",
                            "Maximum amount of virtual memory available in bytes.", "gauge");
    rc |= ck_buf_appendf(out, "process_virtual_memory_max_bytes %.17g\n", asmax);
    return rc < 0 ? -1 : 0;
}

/* ---- negotiation and OpenMetrics ------------------------------------------------------ */

bool ck_metrics_wants_openmetrics(const char *accept, size_t len)
{
    static const char om[] = "application/openmetrics-text";
    if (!accept)
        return false;
    for (size_t i = 0; i + sizeof(om) - 1 <= len; i++)
        if (!strncmp(accept + i, om, sizeof(om) - 1))
            return true;
    return false;
}

int ck_metrics_to_openmetrics(const char *text, size_t len, struct ck_buf *out)
{
    int rc = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        bool help = ll > 7 && !strncmp(p, "# HELP ", 7);
        bool type = ll > 7 && !strncmp(p, "# TYPE ", 7);
        if (help || type) {
            /* a counter's family name drops _total: look ahead to its TYPE line */
            const char *name = p + 7;
            const char *sp = memchr(name, ' ', ll - 7);
            size_t nlen = sp ? (size_t)(sp - name) : ll - 7;
            bool counter = false;
            if (type)
                counter = sp && !strncmp(sp, " counter", 8);
            else if (nl && (size_t)(end - nl - 1) > 7 + nlen + 8)
                counter = !strncmp(nl + 8, name, nlen) && !strncmp(nl + 8 + nlen, " counter", 8);
            if (counter && nlen > 6 && !strncmp(name + nlen - 6, "_total", 6)) {
                rc |= ck_buf_append(out, p, 7 + nlen - 6);
                rc |= ck_buf_append(out, name + nlen, ll - 7 - nlen);
                rc |= ck_buf_appendc(out, '\n');
                p += ll + 1;
                continue;
            }
        }
        rc |= ck_buf_append(out, p, ll);
        rc |= ck_buf_appendc(out, '\n');
        p += ll + 1;
    }
    rc |= ck_buf_appends(out, "# EOF\n");
    return rc < 0 ? -1 : 0;
}

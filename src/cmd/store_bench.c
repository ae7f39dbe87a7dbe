/* SPDX-License-Identifier: Apache-2.0 */
/* ckube store-bench: durable put throughput of the embedded LMDB store with 1, 8 and 64
 * concurrent writers (1 KiB values, fsync on unless --no-sync), then full range-read MB/s
 * (store_range_each, no copies: range_mb_per_s; store_range, every pair copied:
 * range_copy_mb_per_s).
 * The last output line is machine-readable (see docs/store.md). */
#include "cmd/cmd.h"
#include "lib/buf.h"
#include "lib/timeutil.h"
#include "store/store.h"

#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/banned.h"

#define SB_VALUE 1024

struct sb_writer {
    struct store *s;
    int phase;
    int id;
    int64_t deadline_ns;
    uint64_t ops;
    int failed;
};

static void *sb_writer_main(void *arg)
{
    struct sb_writer *w = arg;
    char val[SB_VALUE];
    memset(val, 'v', sizeof(val));
    struct ck_err err = CK_ERR_INIT;
    while (ck_mono_ns() < w->deadline_ns) {
        char key[64];
        int kl =
            snprintf(key, sizeof(key), "/bench/p%d/w%02d/%010" PRIu64, w->phase, w->id, w->ops);
        snprintf(val, sizeof(val), "%s", key);
        if (store_put(w->s, key, (size_t)kl, val, sizeof(val), STORE_ANY, NULL, NULL, &err) < 0) {
            fprintf(stderr, "store-bench: put: %s\n", err.msg);
            w->failed = 1;
            break;
        }
        w->ops++;
    }
    return NULL;
}

/* Bytes this process has sent to the block device (/proc/self/io), or 0 if unknown. */
static uint64_t sb_disk_writes(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    unsigned long long v = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "write_bytes: %llu", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

/* Runs nw writers for secs seconds; returns puts per second (or -1). */
static double sb_puts(struct store *s, int phase, int nw, double secs)
{
    struct sb_writer *ws = ck_calloc((size_t)nw, sizeof(*ws));
    pthread_t *th = ck_calloc((size_t)nw, sizeof(*th));
    struct store_lmdb_stats before, after;
    store_lmdb_stats(s, &before);
    uint64_t w0 = sb_disk_writes();
    int64_t t0 = ck_mono_ns();
    for (int i = 0; i < nw; i++) {
        ws[i] = (struct sb_writer){s, phase, i, t0 + (int64_t)(secs * 1e9), 0, 0};
        pthread_create(&th[i], NULL, sb_writer_main, &ws[i]);
    }
    uint64_t ops = 0;
    int failed = 0;
    for (int i = 0; i < nw; i++) {
        pthread_join(th[i], NULL);
        ops += ws[i].ops;
        failed |= ws[i].failed;
    }
    double el = (double)(ck_mono_ns() - t0) / 1e9;
    store_lmdb_stats(s, &after);
    uint64_t commits = after.commits - before.commits;
    double per = commits ? 1e3 * (double)commits : 1; /* ns summed -> us per commit */
    uint64_t wb = sb_disk_writes() - w0;
    printf("%8d %10" PRIu64 " %8.2f %12.0f %12.1f %9.0f %9.0f %9.0f %9.0f %9.1f\n", nw, ops, el,
           (double)ops / el, commits ? (double)(after.txns - before.txns) / (double)commits : 0.0,
           (double)(after.gather_ns - before.gather_ns) / per,
           (double)(after.apply_ns - before.apply_ns) / per,
           (double)(after.commit_ns - before.commit_ns) / per,
           (double)(after.publish_ns - before.publish_ns) / per,
           ops ? (double)wb / 1024.0 / (double)ops : 0.0);
    free(ws);
    free(th);
    return failed ? -1 : (double)ops / el;
}

/* Puts n phase-2 keys again (most exist) in 100-op txns; returns n or -1. */
static double sb_puts_overwrite(struct store *s, size_t n)
{
    static char keys[100][64];
    static char val[SB_VALUE];
    struct store_op ops[100];
    struct ck_err err = CK_ERR_INIT;
    size_t done = 0;
    while (done < n) {
        size_t k = 0;
        for (; k < 100 && done + k < n; k++) {
            int kl = snprintf(keys[k], sizeof(keys[k]), "/bench/p2/w%02zu/%010zu", (done + k) % 64,
                              (done + k) / 64);
            ops[k] = (struct store_op){STORE_OP_PUT, keys[k], (size_t)kl, val, sizeof(val)};
        }
        struct store_txn t = {NULL, 0, ops, k};
        struct store_txn_result res;
        if (store_txn(s, &t, &res, &err) < 0) {
            fprintf(stderr, "store-bench: overwrite: %s\n", err.msg);
            return -1;
        }
        store_txn_result_release(&res);
        done += k;
    }
    return (double)n;
}

struct sb_scan {
    uint64_t bytes;
    uint64_t sum; /* touches each value's first and last byte */
};

static int sb_visit(void *arg, const struct store_kv *kv, struct ck_err *err)
{
    (void)err;
    struct sb_scan *sc = arg;
    sc->bytes += kv->key_len + kv->value_len;
    if (kv->value_len)
        sc->sum += ((const unsigned char *)kv->value)[0] +
                   ((const unsigned char *)kv->value)[kv->value_len - 1];
    return 0;
}

/* Reads every key back with full-range scans for about secs seconds; returns MB/s. copy: through
 * store_range (every pair copied into the result), else store_range_each (no copies). */
static double sb_range(struct store *s, double secs, bool copy, size_t *nkeys)
{
    struct ck_err err = CK_ERR_INIT;
    struct store_range_req r = {.prefix = "/bench/", .prefix_len = 7};
    struct sb_scan sc = {0, 0};
    int rounds = 0;
    int64_t t0 = ck_mono_ns();
    do {
        struct store_range_result res;
        int rc = copy ? store_range(s, &r, &res, &err)
                      : store_range_each(s, &r, sb_visit, &sc, &res, &err);
        if (rc < 0) {
            fprintf(stderr, "store-bench: range: %s\n", err.msg);
            return -1;
        }
        for (size_t i = 0; copy && i < res.nkvs; i++)
            sb_visit(&sc, &res.kvs[i], &err);
        *nkeys = res.nkvs;
        store_range_result_release(&res);
        rounds++;
    } while ((double)(ck_mono_ns() - t0) / 1e9 < secs);
    double el = (double)(ck_mono_ns() - t0) / 1e9;
    printf("range%s: %d full scans of %zu keys, %.1f MB in %.2f s: %.0f MB/s (%.2f us/key)\n",
           copy ? " (copied)" : "", rounds, *nkeys, (double)sc.bytes / 1e6, el,
           (double)sc.bytes / 1e6 / el,
           el * 1e6 / ((double)rounds * (double)(*nkeys ? *nkeys : 1)));
    return (double)sc.bytes / 1e6 / el;
}

static int sb_rm(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void sb_usage(void)
{
    fprintf(stderr, "usage: ckube store-bench [--dir DIR] [--seconds S] [--no-sync] [--keep]\n"
                    "  --dir DIR     data dir (default: a new temp dir under $TMPDIR or /tmp)\n"
                    "  --seconds S   seconds per phase (default 3; 5 phases)\n"
                    "  --no-sync     skip fsync (not durable; for comparison only)\n");
}

static int cmd_store_bench(int argc, char **argv)
{
    const char *dir = NULL;
    double secs = 3;
    bool no_sync = false, keep = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            secs = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--no-sync")) {
            no_sync = true;
        } else if (!strcmp(argv[i], "--keep")) {
            keep = true;
        } else {
            sb_usage();
            return 2;
        }
    }
    if (secs <= 0 || secs > 600) {
        sb_usage();
        return 2;
    }
    char tmpl[512];
    bool made = false;
    if (!dir) {
        const char *t = getenv("TMPDIR");
        snprintf(tmpl, sizeof(tmpl), "%s/ckube-store-bench-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmpl)) {
            perror("store-bench: mkdtemp");
            return 1;
        }
        dir = tmpl;
        made = true;
    }
    struct ck_err err = CK_ERR_INIT;
    struct store_lmdb_opts o = {.dir = dir, .no_sync = no_sync};
    struct store *s;
    if (store_lmdb_open(&o, &s, &err) < 0) {
        fprintf(stderr, "store-bench: %s\n", err.msg);
        return 1;
    }
    printf("store-bench: %s, %d-byte values, fsync %s, %.1f s per phase\n", dir, SB_VALUE,
           no_sync ? "off" : "on", secs);
    printf("%8s %10s %8s %12s %12s %9s %9s %9s %9s %9s\n", "", "", "", "", "", "per", "commit",
           "(us):", "", "disk KiB");
    printf("%8s %10s %8s %12s %12s %9s %9s %9s %9s %9s\n", "writers", "puts", "seconds", "puts/s",
           "txns/commit", "gather", "apply", "commit", "publish", "per put");
    const int nws[3] = {1, 8, 64};
    double pps[3];
    for (int i = 0; i < 3; i++)
        pps[i] = sb_puts(s, i, nws[i], secs);
    size_t nkeys = 0;
    double mbps = sb_range(s, secs, false, &nkeys);
    double copy_mbps = sb_range(s, secs, true, &nkeys);
    /* rewrite a quarter of the keys, then time compacting all older versions away */
    int64_t t0 = ck_mono_ns();
    double ow = sb_puts_overwrite(s, nkeys / 4);
    int64_t t1 = ck_mono_ns();
    int crc = store_compact(s, store_current_revision(s), &err);
    int64_t t2 = ck_mono_ns();
    if (ow < 0 || crc < 0)
        fprintf(stderr, "store-bench: compaction phase: %s\n", crc < 0 ? err.msg : "put failed");
    else
        printf("compact: %zu live keys, %.0f more puts (%.2f s), compacted in %.1f ms\n", nkeys, ow,
               (double)(t1 - t0) / 1e9, (double)(t2 - t1) / 1e6);
    store_close(s);
    if (made && !keep)
        nftw(dir, sb_rm, 16, FTW_DEPTH | FTW_PHYS);
    if (pps[0] < 0 || pps[1] < 0 || pps[2] < 0 || mbps < 0 || copy_mbps < 0)
        return 1;
    printf("64 writers vs 1: %.1fx\n", pps[2] / (pps[0] > 0 ? pps[0] : 1));
    printf("store-bench range_copy_mb_per_s=%.0f\n", copy_mbps);
    printf(
        "store-bench puts_per_s_1=%.0f puts_per_s_8=%.0f puts_per_s_64=%.0f range_mb_per_s=%.0f\n",
        pps[0], pps[1], pps[2], mbps);
    return 0;
}

CK_CMD(store_bench, "store-bench", cmd_store_bench,
       "benchmark the embedded store (durable puts/s for 1/8/64 writers, range MB/s)");

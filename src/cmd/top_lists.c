/* SPDX-License-Identifier: Apache-2.0 */
/* ckube top-lists: the costliest LIST callers of a ckube API server, by (User-Agent product,
 * resource), from GET /debug/api/top-lists, printed as a table like `kubectl top` (or the raw
 * report with -o json). Needs a system:masters identity. */
#include "ckube/client.h"
#include "cmd/cmd.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

struct tl_flags {
    const char *kubeconfig, *context, *server, *token, *ca_file;
    const char *sort, *limit, *output;
    bool insecure;
};

static void tl_usage(void)
{
    fprintf(stderr,
            "usage: ckube top-lists [--kubeconfig F] [--context C] [--server URL] [--token T]\n"
            "       [--certificate-authority F] [--insecure-skip-tls-verify]\n"
            "       [--sort bytes|scanned|seconds|requests] [--limit N] [-o table|json]\n"
            "  Shows which clients' LISTs cost the API server most, per user agent and\n"
            "  resource (default: sorted by bytes returned, top 20).\n");
}

static int tl_parse(int argc, char **argv, struct tl_flags *f)
{
    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = ck_flag_value(argc, argv, &i, "--kubeconfig")))
            f->kubeconfig = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--context")))
            f->context = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--server")) || (v = ck_flag_value(argc, argv, &i, "-s")))
            f->server = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--token")))
            f->token = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--certificate-authority")))
            f->ca_file = v;
        else if (!strcmp(argv[i], "--insecure-skip-tls-verify"))
            f->insecure = true;
        else if ((v = ck_flag_value(argc, argv, &i, "--sort")))
            f->sort = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--limit")))
            f->limit = v;
        else if ((v = ck_flag_value(argc, argv, &i, "--output")) || (v = ck_flag_value(argc, argv, &i, "-o")))
            f->output = v;
        else if (!ck_log_parse_flag(argc, argv, &i))
            return fprintf(stderr, "top-lists: unknown or incomplete flag %s\n", argv[i]), -1;
    }
    if (strcmp(f->sort, "bytes") && strcmp(f->sort, "scanned") && strcmp(f->sort, "seconds") &&
        strcmp(f->sort, "requests"))
        return fprintf(stderr, "top-lists: --sort must be bytes, scanned, seconds or requests\n"),
               -1;
    char *end = NULL;
    long l = strtol(f->limit, &end, 10);
    if (!*f->limit || *end || l < 1 || l > 100000)
        return fprintf(stderr, "top-lists: --limit must be an integer from 1 to 100000\n"), -1;
    if (strcmp(f->output, "table") && strcmp(f->output, "json"))
        return fprintf(stderr, "top-lists: -o must be table or json\n"), -1;
    return 0;
}

/* Kubeconfig (unless only --server is given), then the command-line overrides. */
static int tl_config(const struct tl_flags *f, struct ck_client_config *cfg, struct ck_err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    if ((f->kubeconfig || f->context || !f->server) &&
        ck_config_from_kubeconfig(f->kubeconfig, f->context, cfg, err) < 0)
        return -1;
    if (f->server) {
        free(cfg->server);
        cfg->server = ck_strdup(f->server);
    }
    if (f->token) {
        free(cfg->token);
        cfg->token = ck_strdup(f->token);
    }
    if (f->ca_file) {
        free(cfg->ca_file);
        free(cfg->ca_data);
        cfg->ca_data = NULL;
        cfg->ca_file = ck_strdup(f->ca_file);
    }
    if (f->insecure)
        cfg->insecure = true;
    return 0;
}

/* 1536 -> "1.5Ki", like the quantities `kubectl top` prints. */
static void human_bytes(long long v, char *out, size_t n)
{
    static const char *const units[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi"};
    double d = (double)v;
    size_t u = 0;
    while (d >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        d /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, n, "%lld", v);
    else
        snprintf(out, n, d < 10 ? "%.1f%s" : "%.0f%s", d, units[u]);
}

#define TL_COLS 7

static void tl_cells(json_t *it, char cells[TL_COLS][64])
{
    const char *ua = json_string_value(json_object_get(it, "userAgent"));
    const char *res = json_string_value(json_object_get(it, "resource"));
    snprintf(cells[0], 64, "%s", ua ? ua : "?");
    snprintf(cells[1], 64, "%s", res ? res : "?");
    snprintf(cells[2], 64, "%lld", (long long)json_integer_value(json_object_get(it, "requests")));
    snprintf(cells[3], 64, "%lld",
             (long long)json_integer_value(json_object_get(it, "objectsScanned")));
    snprintf(cells[4], 64, "%lld",
             (long long)json_integer_value(json_object_get(it, "objectsReturned")));
    human_bytes((long long)json_integer_value(json_object_get(it, "bytes")), cells[5], 64);
    snprintf(cells[6], 64, "%.3f", json_number_value(json_object_get(it, "seconds")));
}

/* One line: left-aligned columns three spaces apart, no trailing blanks. */
static void tl_row(const char *const cells[TL_COLS], const size_t w[TL_COLS])
{
    for (size_t c = 0; c + 1 < TL_COLS; c++)
        printf("%-*s   ", (int)w[c], cells[c]);
    printf("%s\n", cells[TL_COLS - 1]);
}

static void tl_print_table(json_t *items)
{
    static const char *const head[TL_COLS] = {"USER-AGENT", "RESOURCE", "REQUESTS", "SCANNED",
                                              "RETURNED",   "BYTES",    "SECONDS"};
    size_t n = json_array_size(items), w[TL_COLS];
    char(*cells)[TL_COLS][64] = ck_calloc(n ? n : 1, sizeof(*cells));
    for (size_t c = 0; c < TL_COLS; c++)
        w[c] = strlen(head[c]);
    for (size_t i = 0; i < n; i++) {
        tl_cells(json_array_get(items, i), cells[i]);
        for (size_t c = 0; c < TL_COLS; c++)
            if (strlen(cells[i][c]) > w[c])
                w[c] = strlen(cells[i][c]);
    }
    tl_row(head, w);
    for (size_t i = 0; i < n; i++) {
        const char *row[TL_COLS];
        for (size_t c = 0; c < TL_COLS; c++)
            row[c] = cells[i][c];
        tl_row(row, w);
    }
    free(cells);
}

static int cmd_top_lists(int argc, char **argv)
{
    struct tl_flags f = {.sort = "bytes", .limit = "20", .output = "table"};
    if (tl_parse(argc, argv, &f) < 0)
        return tl_usage(), 2;
    struct ck_err err = CK_ERR_INIT;
    struct ck_client_config cfg;
    struct ck_client *c = NULL;
    if (tl_config(&f, &cfg, &err) < 0 || ck_client_new(&cfg, &c, &err) < 0) {
        ck_client_config_release(&cfg);
        return fprintf(stderr, "top-lists: %s\n", err.msg), 1;
    }
    ck_client_config_release(&cfg);
    char path[160];
    snprintf(path, sizeof(path), "/debug/api/top-lists?sort=%s&limit=%s", f.sort, f.limit);
    json_t *rep = NULL;
    int rc = ck_client_get_json(c, path, &rep, &err);
    ck_client_free(c);
    if (rc < 0) {
        if (err.reason == CK_R_NOT_FOUND)
            fprintf(stderr, "top-lists: the server has no LIST cost report (GET %s: %s)\n", path,
                    err.msg);
        else
            fprintf(stderr, "top-lists: %s\n", err.msg);
        return 1;
    }
    json_t *items = json_object_get(rep, "items");
    if (!json_is_array(items)) {
        json_decref(rep);
        return fprintf(stderr, "top-lists: the server's answer has no items list\n"), 1;
    }
    if (strcmp(f.output, "json") == 0)
        json_dumpf(rep, stdout, JSON_INDENT(2)), putchar('\n');
    else if (json_array_size(items) == 0)
        printf("No LIST requests recorded yet.\n");
    else
        tl_print_table(items);
    json_decref(rep);
    return 0;
}

CK_CMD(top_lists, "top-lists", cmd_top_lists,
       "show the costliest LIST callers (per user agent and resource) of a ckube API server");

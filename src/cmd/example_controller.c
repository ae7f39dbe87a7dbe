/* SPDX-License-Identifier: Apache-2.0 */
/* ckube example-controller: the client library in one small controller. It keeps the
 * annotation ckube.io/key-count on every ConfigMap equal to the number of keys in its data:
 * shared informer -> rate-limited workqueue -> worker that PATCHes. Optional leader election. */
#include "ckube/client.h"
#include "ckube/informer.h"
#include "ckube/leader.h"
#include "ckube/wq.h"
#include "cmd/cmd.h"
#include "lib/log.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ANNOTATION "ckube.io/key-count"

static volatile int stopping;
static void on_signal(int sig) { stopping = sig; }

struct ctl {
    struct ck_client *client;
    struct ck_informer *cms;
    struct wq *queue;
};

static void enqueue(void *arg, json_t *obj)
{
    char *key = ck_meta_namespace_key(obj);
    if (key)
        wq_add(((struct ctl *)arg)->queue, key);
    free(key);
}

static void enqueue_update(void *arg, json_t *old, json_t *obj) { (void)old, enqueue(arg, obj); }

/* Brings one ConfigMap's annotation in line; returns -1 to retry with backoff. */
static int sync_one(struct ctl *c, const char *key)
{
    json_t *cm = ck_indexer_get(ck_informer_indexer(c->cms), key);
    if (!cm)
        return 0; /* deleted meanwhile */
    char want[32];
    snprintf(want, sizeof(want), "%zu", json_object_size(json_object_get(cm, "data")));
    json_t *md = json_object_get(cm, "metadata");
    const char *have = json_string_value(json_object_get(json_object_get(md, "annotations"), ANNOTATION));
    int rc = 0;
    if (!have || strcmp(have, want)) {
        char path[1024];
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps/%s",
                 json_string_value(json_object_get(md, "namespace")),
                 json_string_value(json_object_get(md, "name")));
        json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", ANNOTATION, want);
        struct ck_err err = CK_ERR_INIT;
        rc = ck_client_patch_json(c->client, path, "application/merge-patch+json", patch, NULL, &err);
        if (rc < 0 && err.reason == CK_R_NOT_FOUND)
            rc = 0; /* deleted meanwhile */
        else if (rc < 0)
            ck_warn("sync %s: %s", key, err.msg);
        json_decref(patch);
    }
    json_decref(cm);
    return rc;
}

static void *worker(void *arg)
{
    struct ctl *c = arg;
    char *key;
    while ((key = wq_get(c->queue)) != NULL) {
        if (sync_one(c, key) < 0)
            wq_add_rate_limited(c->queue, key);
        else
            wq_forget(c->queue, key);
        wq_done(c->queue, key);
        free(key);
    }
    return NULL;
}

static void run_controller(void *arg)
{
    struct ctl *c = arg;
    printf("started leading\n");
    fflush(stdout);
    struct ck_informer_handlers h = {enqueue, enqueue_update, NULL, c};
    ck_informer_add_handlers(c->cms, &h);
    ck_informer_start(c->cms);
}

static void lost(void *arg) { (void)arg, printf("stopped leading\n"), fflush(stdout), stopping = 1; }

static int cmd_example_controller(int argc, char **argv)
{
    const char *kubeconfig = NULL, *id = NULL;
    int leader_elect = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--kubeconfig") && i + 1 < argc)
            kubeconfig = argv[++i];
        else if (!strcmp(argv[i], "--leader-elect"))
            leader_elect = 1;
        else if (!strcmp(argv[i], "--id") && i + 1 < argc)
            id = argv[++i];
        else if (!ck_log_parse_flag(argc, argv, &i))
            return fprintf(stderr, "usage: ckube example-controller [--kubeconfig K] [--leader-elect [--id ID]]\n"), 2;
    }
    struct ck_err err = CK_ERR_INIT;
    struct ck_client_config cfg;
    struct ctl c = {0};
    if (ck_config_from_kubeconfig(kubeconfig, NULL, &cfg, &err) < 0 ||
        ck_client_new(&cfg, &c.client, &err) < 0)
        return fprintf(stderr, "example-controller: %s\n", err.msg), 1;
    ck_client_config_release(&cfg);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    c.cms = ck_informer_new(c.client, &(struct ck_informer_opts){.path = "/api/v1/configmaps"});
    c.queue = wq_new(&(struct wq_opts){.name = "configmaps"}); /* default rate limiter */
    pthread_t workers[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&workers[i], NULL, worker, &c);
    struct ck_leader_opts lo = {.lease_namespace = "kube-system", .lease_name = "ckube-example",
                                .identity = id ? id : "example", .on_started_leading = run_controller,
                                .on_stopped_leading = lost, .arg = &c};
    if (leader_elect)
        ck_leader_run(c.client, &lo, &stopping, &err);
    else
        run_controller(&c);
    while (!stopping)
        usleep(100000);
    wq_shutdown_with_drain(c.queue);
    for (int i = 0; i < 2; i++)
        pthread_join(workers[i], NULL);
    ck_informer_free(c.cms);
    wq_free(c.queue);
    ck_client_free(c.client);
    return 0;
}

CK_CMD(example_controller, "example-controller", cmd_example_controller,
       "sample controller: keeps ckube.io/key-count on ConfigMaps");

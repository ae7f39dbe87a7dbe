/* SPDX-License-Identifier: Apache-2.0 */
/* Informer = reflector thread (list/watch into a DeltaFIFO) + processing thread (DeltaFIFO ->
 * indexer -> handlers) + optional resync. */
#include "ckube/deltafifo.h"
#include "ckube/informer.h"
#include "lib/log.h"
#include "lib/strmap.h"
#include "lib/timeutil.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_HANDLERS 16

struct ck_informer {
    struct ck_client *client;
    char *path, *label_sel, *field_sel;
    int64_t resync_ms;
    int watch_timeout_s;
    void (*transform)(json_t *obj);
    struct ck_indexer *indexer;
    struct ck_deltafifo *fifo;
    struct ck_informer_handlers handlers[MAX_HANDLERS];
    size_t nhandlers;
    pthread_mutex_t mu;
    char *last_rv;
    volatile int stop;
    volatile int abort_watch; /* ends the current watch (set by stop and drop) */
    volatile int paused;
    bool started;
    bool joined; /* ck_informer_stop joined its threads */
    pthread_t reflector, processor;
    struct ck_informer_stats stats;
};

static void set_rv(struct ck_informer *inf, const char *rv)
{
    pthread_mutex_lock(&inf->mu);
    free(inf->last_rv);
    inf->last_rv = ck_strdup(rv ? rv : "");
    pthread_mutex_unlock(&inf->mu);
}

char *ck_informer_last_rv(struct ck_informer *inf)
{
    pthread_mutex_lock(&inf->mu);
    char *s = ck_strdup(inf->last_rv ? inf->last_rv : "");
    pthread_mutex_unlock(&inf->mu);
    return s;
}

static char *query_path(struct ck_informer *inf, const char *extra)
{
    struct ck_buf b = CK_BUF_INIT(1 << 16);
    ck_buf_appends(&b, inf->path);
    ck_buf_appendc(&b, strchr(inf->path, '?') ? '&' : '?');
    ck_buf_appends(&b, extra);
    const char *sels[2][2] = {{"labelSelector", inf->label_sel}, {"fieldSelector", inf->field_sel}};
    for (int i = 0; i < 2; i++) {
        if (!sels[i][1] || !*sels[i][1])
            continue;
        char *esc = curl_easy_escape(NULL, sels[i][1], 0);
        ck_buf_appendf(&b, "&%s=%s", sels[i][0], esc);
        curl_free(esc);
    }
    return ck_buf_detach(&b, NULL);
}

static int64_t jitter(int64_t base)
{
    return base + (int64_t)(rand() % (int)(base / 2 + 1));
}

static void interruptible_sleep(struct ck_informer *inf, int64_t ms)
{
    for (int64_t t = 0; t < ms && !inf->stop; t += 50) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static int do_list(struct ck_informer *inf, struct ck_err *err)
{
    char *p = query_path(inf, "resourceVersion=0");
    json_t *list = NULL;
    int rc = ck_client_get_json(inf->client, p, &list, err);
    free(p);
    if (rc < 0)
        return -1;
    json_t *items = json_object_get(list, "items");
    if (!json_is_array(items)) {
        json_decref(list);
        return ck_err_set(err, CK_R_INTERNAL, "list %s: no items array", inf->path);
    }
    /* list items carry no kind/apiVersion: the reflector leaves them as they are */
    if (inf->transform) {
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it) inf->transform(it);
    }
    ck_deltafifo_replace(inf->fifo, items);
    set_rv(inf, json_string_value(json_object_get(json_object_get(list, "metadata"),
                                                  "resourceVersion")));
    __atomic_add_fetch(&inf->stats.lists, 1, __ATOMIC_SEQ_CST);
    json_decref(list);
    return 0;
}

enum { WATCH_GONE = 2 }; /* on_event result: relist */

static int on_event(void *arg, json_t *ev)
{
    struct ck_informer *inf = arg;
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *obj = json_object_get(ev, "object");
    if (!type || !json_is_object(obj))
        return 0;
    if (!strcmp(type, "ERROR")) {
        json_int_t code = json_integer_value(json_object_get(obj, "code"));
        ck_v(1, "watch %s: ERROR event %lld: %s", inf->path, (long long)code,
             json_string_value(json_object_get(obj, "message")));
        return code == 410 ? WATCH_GONE : 4;
    }
    if (inf->transform && strcmp(type, "BOOKMARK"))
        inf->transform(obj);
    const char *rv = json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                       "resourceVersion"));
    __atomic_add_fetch(&inf->stats.events, 1, __ATOMIC_SEQ_CST);
    if (!strcmp(type, "ADDED"))
        ck_deltafifo_add(inf->fifo, obj);
    else if (!strcmp(type, "MODIFIED"))
        ck_deltafifo_update(inf->fifo, obj);
    else if (!strcmp(type, "DELETED"))
        ck_deltafifo_delete(inf->fifo, obj);
    if (rv && *rv)
        set_rv(inf, rv);
    return 0;
}

static void *reflector_main(void *arg)
{
    struct ck_informer *inf = arg;
    int64_t backoff = 800;
    bool need_list = true;
    while (!inf->stop) {
        struct ck_err err = CK_ERR_INIT;
        if (need_list) {
            if (do_list(inf, &err) < 0) {
                ck_warn("informer %s: list failed: %s", inf->path, err.msg);
                interruptible_sleep(inf, jitter(backoff));
                backoff = backoff * 2 > 30000 ? 30000 : backoff * 2;
                continue;
            }
            need_list = false;
        }
        if (inf->paused) {
            interruptible_sleep(inf, 20);
            continue;
        }
        char *rv = ck_informer_last_rv(inf);
        int to = inf->watch_timeout_s > 0 ? inf->watch_timeout_s : 300 + rand() % 300;
        char extra[256];
        snprintf(extra, sizeof(extra), "watch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s",
                 to, rv);
        free(rv);
        char *p = query_path(inf, extra);
        if (inf->stop)
            break;
        inf->abort_watch = 0;
        if (inf->stop) /* a stop between the check and the reset must not be lost */
            break;
        __atomic_add_fetch(&inf->stats.watches, 1, __ATOMIC_SEQ_CST);
        ck_v(2, "informer %s: watch from resourceVersion %s", inf->path,
             strstr(extra, "resourceVersion=") + 16);
        int rc = ck_client_watch(inf->client, p, (to + 30) * 1000, on_event, inf, &inf->abort_watch,
                                 &err);
        free(p);
        if (inf->stop)
            break;
        ck_v(2, "informer %s: watch ended rc=%d", inf->path, rc);
        if (rc == WATCH_GONE || (rc < 0 && (err.code == 410 || err.reason == CK_R_GONE ||
                                            err.reason == CK_R_EXPIRED))) {
            __atomic_add_fetch(&inf->stats.relists_410, 1, __ATOMIC_SEQ_CST);
            need_list = true; /* history window passed: relist */
            continue;
        }
        if (rc == 0) { /* the server ended the stream, or we dropped it: resume */
            backoff = 800;
            continue;
        }
        ck_v(1, "informer %s: watch ended (%d): %s", inf->path, rc, err.msg);
        interruptible_sleep(inf, jitter(backoff));
        backoff = backoff * 2 > 30000 ? 30000 : backoff * 2;
    }
    return NULL;
}

static int process(void *arg, const char *key, const struct ck_delta *d, size_t n)
{
    struct ck_informer *inf = arg;
    for (size_t i = 0; i < n; i++) {
        json_t *old = ck_indexer_get(inf->indexer, key);
        if (d[i].type == CK_DELTA_DELETED) {
            ck_indexer_delete(inf->indexer, key);
            for (size_t h = 0; h < inf->nhandlers; h++)
                if (inf->handlers[h].on_delete)
                    inf->handlers[h].on_delete(inf->handlers[h].arg, d[i].obj);
        } else {
            ck_indexer_put(inf->indexer, key, d[i].obj);
            for (size_t h = 0; h < inf->nhandlers; h++) {
                struct ck_informer_handlers *hd = &inf->handlers[h];
                if (old && hd->on_update)
                    hd->on_update(hd->arg, old, d[i].obj);
                else if (!old && hd->on_add)
                    hd->on_add(hd->arg, d[i].obj);
            }
        }
        json_decref(old);
    }
    return 0;
}

static void *processor_main(void *arg)
{
    struct ck_informer *inf = arg;
    int64_t next_resync = inf->resync_ms ? ck_mono_ms() + inf->resync_ms : 0;
    while (!inf->stop) {
        if (ck_deltafifo_pop_timeout(inf->fifo, 200, process, inf) < 0)
            break;
        if (next_resync && ck_mono_ms() >= next_resync) {
            ck_deltafifo_resync(inf->fifo);
            next_resync = ck_mono_ms() + inf->resync_ms;
        }
    }
    return NULL;
}

static char *dup_opt(const char *s)
{
    return s && *s ? ck_strdup(s) : NULL;
}

struct ck_informer *ck_informer_new(struct ck_client *c, const struct ck_informer_opts *o)
{
    struct ck_informer *inf = ck_calloc(1, sizeof(*inf));
    inf->client = c;
    inf->path = ck_strdup(o->path);
    inf->label_sel = dup_opt(o->label_selector);
    inf->field_sel = dup_opt(o->field_selector);
    inf->resync_ms = o->resync_ms;
    inf->watch_timeout_s = o->watch_timeout_s;
    inf->transform = o->transform;
    inf->indexer = ck_indexer_new();
    ck_indexer_add_index(inf->indexer, "namespace", ck_index_by_namespace);
    inf->fifo = ck_deltafifo_new(inf->indexer);
    pthread_mutex_init(&inf->mu, NULL);
    return inf;
}

void ck_informer_add_handlers(struct ck_informer *inf, const struct ck_informer_handlers *h)
{
    if (inf->nhandlers < MAX_HANDLERS && !inf->started)
        inf->handlers[inf->nhandlers++] = *h;
    else
        ck_warn("informer %s: handler not added (started or too many)", inf->path);
}

struct ck_indexer *ck_informer_indexer(struct ck_informer *inf)
{
    return inf->indexer;
}

int ck_informer_start(struct ck_informer *inf)
{
    if (inf->started)
        return 0;
    inf->started = true;
    if (pthread_create(&inf->processor, NULL, processor_main, inf) != 0 ||
        pthread_create(&inf->reflector, NULL, reflector_main, inf) != 0)
        ck_fatal("informer %s: cannot start threads", inf->path);
    return 0;
}

bool ck_informer_has_synced(struct ck_informer *inf)
{
    return ck_deltafifo_has_synced(inf->fifo);
}

bool ck_informer_wait_synced(struct ck_informer *inf, int timeout_ms)
{
    int64_t end = ck_mono_ms() + timeout_ms;
    while (!ck_informer_has_synced(inf)) {
        if (ck_mono_ms() >= end)
            return false;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return true;
}

void ck_informer_drop_watch(struct ck_informer *inf)
{
    inf->abort_watch = 1;
}

void ck_informer_pause(struct ck_informer *inf, bool paused)
{
    inf->paused = paused;
    if (paused)
        inf->abort_watch = 1;
}

void ck_informer_stats(struct ck_informer *inf, struct ck_informer_stats *out)
{
    out->lists = __atomic_load_n(&inf->stats.lists, __ATOMIC_SEQ_CST);
    out->watches = __atomic_load_n(&inf->stats.watches, __ATOMIC_SEQ_CST);
    out->relists_410 = __atomic_load_n(&inf->stats.relists_410, __ATOMIC_SEQ_CST);
    out->events = __atomic_load_n(&inf->stats.events, __ATOMIC_SEQ_CST);
}

/* Asks the threads to end without waiting (a watch notices within about a second). */
static void informer_signal(struct ck_informer *inf)
{
    inf->stop = 1;
    inf->abort_watch = 1;
    ck_deltafifo_close(inf->fifo);
}

void ck_informer_signal_stop(struct ck_informer *inf)
{
    if (inf && inf->started)
        informer_signal(inf);
}

void ck_informer_stop(struct ck_informer *inf)
{
    if (!inf->started || inf->joined)
        return;
    informer_signal(inf);
    pthread_join(inf->reflector, NULL);
    pthread_join(inf->processor, NULL);
    inf->joined = true;
}

void ck_informer_free(struct ck_informer *inf)
{
    if (!inf)
        return;
    ck_informer_stop(inf);
    ck_deltafifo_free(inf->fifo);
    ck_indexer_free(inf->indexer);
    pthread_mutex_destroy(&inf->mu);
    free(inf->path);
    free(inf->label_sel);
    free(inf->field_sel);
    free(inf->last_rv);
    free(inf);
}

/* ---- shared factory ------------------------------------------------------------------------ */

struct ck_informer_factory {
    struct ck_client *client;
    int64_t resync_ms;
    pthread_mutex_t mu;
    struct ck_strmap informers; /* path -> struct ck_informer * */
};

struct ck_informer_factory *ck_informer_factory_new(struct ck_client *c, int64_t resync_ms)
{
    struct ck_informer_factory *f = ck_calloc(1, sizeof(*f));
    f->client = c;
    f->resync_ms = resync_ms;
    pthread_mutex_init(&f->mu, NULL);
    return f;
}

struct ck_informer *ck_informer_factory_get(struct ck_informer_factory *f, const char *path)
{
    pthread_mutex_lock(&f->mu);
    struct ck_informer *inf = ck_strmap_get(&f->informers, path, NULL);
    if (!inf) {
        struct ck_informer_opts o = {.path = path, .resync_ms = f->resync_ms};
        inf = ck_informer_new(f->client, &o);
        ck_strmap_put(&f->informers, path, inf);
    }
    pthread_mutex_unlock(&f->mu);
    return inf;
}

void ck_informer_factory_start(struct ck_informer_factory *f)
{
    pthread_mutex_lock(&f->mu);
    void *v;
    for (size_t it = 0; ck_strmap_next(&f->informers, &it, NULL, &v);)
        ck_informer_start(v);
    pthread_mutex_unlock(&f->mu);
}

bool ck_informer_factory_wait_synced(struct ck_informer_factory *f, int timeout_ms)
{
    int64_t end = ck_mono_ms() + timeout_ms;
    pthread_mutex_lock(&f->mu);
    bool ok = true;
    void *v;
    for (size_t it = 0; ok && ck_strmap_next(&f->informers, &it, NULL, &v);) {
        int64_t left = end - ck_mono_ms();
        ok = ck_informer_wait_synced(v, left > 0 ? (int)left : 0);
    }
    pthread_mutex_unlock(&f->mu);
    return ok;
}

void ck_informer_factory_free(struct ck_informer_factory *f)
{
    if (!f)
        return;
    void *v;
    /* every informer is asked first, so their watches end together rather than one after
     * another (each takes up to a second to notice) */
    for (size_t it = 0; ck_strmap_next(&f->informers, &it, NULL, &v);)
        if (((struct ck_informer *)v)->started)
            informer_signal(v);
    for (size_t it = 0; ck_strmap_next(&f->informers, &it, NULL, &v);)
        ck_informer_free(v);
    ck_strmap_release(&f->informers);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

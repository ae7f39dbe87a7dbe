/* SPDX-License-Identifier: Apache-2.0 */
/* WATCH: per-watcher bounded queues of shared, once-serialised events; start points (current
 * state as synthetic ADDED, resume from a resourceVersion via the ring or the store's event
 * log, streaming list with the initial-events-end bookmark); selector transitions
 * (ADDED/DELETED when an object starts/stops matching); bookmarks; timeouts; Table events. */
#include "apiserver/storage/watcher.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define WATCH_QUEUE_MAX 10000
#define BOOKMARK_INTERVAL_MS 60000

/* ---- queueing ----------------------------------------------------------------------- */

static void notify(struct api_watch *w)
{
    if (w->notify)
        w->notify(w->narg);
}

static char *error_line(int code, const char *reason, const char *msg)
{
    json_t *o = json_pack("{s:s,s:{s:s,s:s,s:{},s:s,s:s,s:s,s:i}}", "type", "ERROR", "object",
                          "kind", "Status", "apiVersion", "v1", "metadata", "status", "Failure",
                          "message", msg, "reason", reason, "code", code);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    char *l = ck_asprintf("%s\n", s);
    free(s);
    return l;
}

/* Ends w with a final 410 Expired ERROR event (unless it already ended); w->mu held. */
static void end_expired(struct api_watch *w, const char *msg)
{
    if (w->ended)
        return;
    free(w->final_line);
    w->final_line = error_line(410, "Expired", msg);
    w->ended = true;
}

/* Caller holds w->mu. Takes the reference to e. */
static void enqueue(struct api_watch *w, struct eng_event *e)
{
    if (w->ended) {
        eng_event_unref(e);
        return;
    }
    if (w->qlen >= WATCH_QUEUE_MAX) {
        eng_event_unref(e);
        end_expired(w, "watch queue overflow: the client is not reading events fast enough");
        return;
    }
    if (w->qlen == w->qcap) {
        size_t ncap = w->qcap ? w->qcap * 2 : 64;
        struct eng_event **nq = ck_calloc(ncap, sizeof(*nq));
        for (size_t i = 0; i < w->qlen; i++)
            nq[i] = w->q[(w->qhead + i) % w->qcap];
        free(w->q);
        w->q = nq;
        w->qcap = ncap;
        w->qhead = 0;
    }
    w->q[(w->qhead + w->qlen) % w->qcap] = e;
    w->qlen++;
}

/* The event w should see for e (new reference), or NULL. */
static struct eng_event *filter(struct api_watch *w, struct eng_event *e)
{
    if (e->res != w->res || e->rev <= w->min_rev)
        return NULL;
    bool plain = !w->ls && !w->fs;
    bool now = eng_obj_matches(e->obj, w->ns, w->ls, w->fs);
    if (e->type != EV_MODIFIED || plain) {
        if (!now)
            return NULL;
        atomic_fetch_add(&e->refs, 1);
        return e;
    }
    bool before = e->old && eng_obj_matches(e->old, w->ns, w->ls, w->fs);
    if (before && now) {
        atomic_fetch_add(&e->refs, 1);
        return e;
    }
    if (now)
        return eng_event_new(EV_ADDED, e->rev, eng_obj_ref(e->obj), NULL);
    if (before)
        return eng_event_new(EV_DELETED, e->rev, eng_obj_restamp(e->old, e->rev), NULL);
    return NULL;
}

void eng_watch_dispatch(struct eng_cache *s, struct eng_event *e)
{
    for (struct api_watch *w = s->watchers; w; w = w->next) {
        if (w->res != e->res)
            continue;
        struct eng_event *mine = filter(w, e);
        pthread_mutex_lock(&w->mu);
        if (e->rev > w->last_rv)
            w->last_rv = e->rev;
        if (mine) {
            enqueue(w, mine);
            atomic_fetch_add(&s->watch_events, 1);
        }
        pthread_mutex_unlock(&w->mu);
        if (mine)
            notify(w);
    }
}

/* ---- creation ----------------------------------------------------------------------- */

void eng_watch_free(struct api_watch *w)
{
    for (size_t i = 0; i < w->qlen; i++)
        eng_event_unref(w->q[(w->qhead + i) % w->qcap]);
    free(w->q);
    for (size_t i = 0; i < w->ninit; i++)
        eng_obj_unref(w->init[i]);
    free(w->init);
    sel_free(w->ls);
    sel_free(w->fs);
    free(w->ns);
    free(w->include);
    free(w->final_line);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

/* Converts store events (after, upto] of w's resource into queued events. */
static int queue_store_events(struct api_watch *w, struct store_events *se, int64_t upto)
{
    for (size_t i = 0; i < se->nevents; i++) {
        struct store_event *ev = &se->events[i];
        if (ev->revision > upto)
            break;
        if (reg_find_key(ev->kv.key, ev->kv.key_len) != w->res)
            continue;
        struct eng_obj *old = NULL, *obj = NULL;
        if (ev->has_prev)
            old = eng_obj_from_store(w->res, ev->prev.key, ev->prev.key_len, ev->prev.value,
                                     ev->prev.value_len, ev->prev.mod_revision, NULL);
        enum eng_ev_type t;
        if (ev->type == STORE_EVENT_PUT) {
            obj = eng_obj_from_store(w->res, ev->kv.key, ev->kv.key_len, ev->kv.value,
                                     ev->kv.value_len, ev->kv.mod_revision, NULL);
            t = old ? EV_MODIFIED : EV_ADDED;
        } else {
            obj = old ? eng_obj_restamp(old, ev->revision) : NULL;
            t = EV_DELETED;
        }
        if (!obj) {
            eng_obj_unref(old);
            continue;
        }
        struct eng_event *e = eng_event_new(t, ev->revision, obj, old);
        struct eng_event *mine = filter(w, e);
        eng_event_unref(e);
        if (mine)
            enqueue(w, mine);
    }
    return 0;
}

/* Registers w (s->mu held for writing) after queueing the start state. */
static int start_from_rv(struct eng_cache *s, struct api_watch *w, int64_t rv,
                         struct store_events *se, int64_t se_upto)
{
    if (se) {
        queue_store_events(w, se, se_upto);
        /* events up to se_upto came from the store; their commit callbacks may still be on
         * the way, so live dispatch must skip them */
        if (se_upto > w->min_rev)
            w->min_rev = se_upto;
    }
    for (size_t i = 0; i < s->ring_len; i++) {
        struct eng_event *e = s->ring[(s->ring_head + i) % s->ring_cap];
        if (e->rev <= rv || (se && e->rev <= se_upto))
            continue;
        struct eng_event *mine = filter(w, e);
        if (mine)
            enqueue(w, mine);
    }
    w->last_rv = s->rev > rv ? s->rev : rv;
    return 0;
}

static void snapshot_initial(struct eng_cache *s, struct api_watch *w)
{
    size_t cap = 16;
    struct eng_cursor cur;
    w->init = ck_calloc(cap, sizeof(*w->init));
    eng_table_first(&s->tables[w->res->idx], &cur);
    for (struct eng_obj *o; (o = eng_cursor_obj(&cur)); eng_cursor_next(&cur)) {
        if (!eng_obj_matches(o, w->ns, w->ls, w->fs))
            continue;
        if (w->ninit == cap) {
            cap *= 2;
            w->init = ck_realloc(w->init, cap * sizeof(*w->init));
        }
        w->init[w->ninit++] = eng_obj_ref(o);
    }
    w->init_rv = s->rev;
    w->last_rv = s->rev;
    w->min_rev = s->rev;
}

static void link_watch(struct eng_cache *s, struct api_watch *w)
{
    w->next = s->watchers;
    if (s->watchers)
        s->watchers->prev = w;
    s->watchers = w;
}

/* Resumes from rv: store events (rv, X] then the ring (X, ...]. Returns 1 if too old. */
int eng_watch_start_from(struct api_watch *w, int64_t rv, struct ck_err *err)
{
    struct eng_cache *s = w->s;
    for (int attempt = 0; attempt < 8; attempt++) {
        pthread_rwlock_wrlock(&s->mu);
        if (rv >= s->ring_floor) {
            start_from_rv(s, w, rv, NULL, 0);
            link_watch(s, w);
            pthread_rwlock_unlock(&s->mu);
            return 0;
        }
        pthread_rwlock_unlock(&s->mu);
        struct store_events se;
        memset(&se, 0, sizeof(se));
        if (store_events_since(s->st, rv, 0, &se, err) < 0)
            return err->reason == CK_R_COMPACTED ? 1 : -1;
        int64_t upto = se.revision;
        pthread_rwlock_wrlock(&s->mu);
        bool covered = upto >= s->ring_floor;
        if (covered) {
            start_from_rv(s, w, rv, &se, upto);
            link_watch(s, w);
        }
        pthread_rwlock_unlock(&s->mu);
        store_events_release(&se);
        if (covered)
            return 0;
    }
    return ck_err_set(err, CK_R_SERVICE_UNAVAILABLE, "watch could not catch up; retry");
}

struct api_watch *eng_watch_new(struct eng_cache *s, const struct reg_resource *res)
{
    struct api_watch *w = ck_calloc(1, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    w->s = s;
    w->res = res;
    return w;
}

void eng_watch_start_current(struct api_watch *w, bool init_bookmark)
{
    struct eng_cache *s = w->s;
    pthread_rwlock_wrlock(&s->mu);
    snapshot_initial(s, w);
    w->init_bookmark = init_bookmark;
    link_watch(s, w);
    pthread_rwlock_unlock(&s->mu);
}

void eng_watch_end_expired(struct api_watch *w, const char *msg)
{
    end_expired(w, msg);
}

/* ---- draining ----------------------------------------------------------------------- */

static const char *type_name(enum eng_ev_type t)
{
    static const char *const n[] = {"", "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
    return n[t];
}

/* The JSON form of an event is framed around the object's shared bytes: nothing per event
 * or per watcher is serialised but this envelope. */
static int write_obj_event(struct api_watch *w, struct ck_buf *out, enum eng_ev_type t,
                           const struct eng_obj *o)
{
    int rc = ck_buf_appendf(out, "{\"type\":\"%s\",\"object\":", type_name(t));
    if (w->fmt == FMT_TABLE) {
        rc |= eng_table_open(out, w->res, w->tv, !w->cols_sent);
        w->cols_sent = true;
        rc |= eng_table_row(out, w->res, o, w->include);
        rc |= ck_buf_appendf(out, "],\"metadata\":{\"resourceVersion\":\"%" PRId64 "\"}}", o->rv);
    } else if (w->fmt == FMT_PARTIAL) {
        json_t *j = eng_obj_json(o);
        char *md = json_dumps(json_object_get(j, "metadata"), JSON_COMPACT);
        rc |= ck_buf_appendf(out, "{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":"
                                  "\"meta.k8s.io/v1\",\"metadata\":%s}",
                             md ? md : "{}");
        free(md);
        json_decref(j);
    } else if (w->convert) {
        rc |= w->convert(w->view, o->body, o->len, out);
    } else {
        rc |= ck_buf_append(out, o->body, o->len);
    }
    rc |= ck_buf_appends(out, "}\n");
    return rc;
}

static int write_bookmark(struct api_watch *w, struct ck_buf *out, int64_t rv, bool init_end)
{
    return ck_buf_appendf(out,
                          "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":"
                          "\"%s\",\"metadata\":{\"resourceVersion\":\"%" PRId64 "\"%s}}}\n",
                          (w->view ? w->view : w->res)->kind,
                          (w->view ? w->view : w->res)->api_version, rv,
                          init_end ? ",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}"
                                   : "");
}

/* One drain appends at most this much; the rest waits for the next drain (notify re-fires). */
#define DRAIN_CHUNK ((size_t)4 << 20)

/* Appends one event unless the chunk is full or out's ceiling is reached (then rolls back). */
static bool emit(struct api_watch *w, struct ck_buf *out, size_t start, enum eng_ev_type t,
                 const struct eng_obj *o)
{
    if (out->len - start >= DRAIN_CHUNK)
        return false;
    size_t before = out->len;
    bool cols = w->cols_sent;
    if (write_obj_event(w, out, t, o) < 0) {
        out->len = before;
        if (out->data)
            out->data[before] = '\0';
        w->cols_sent = cols;
        return false;
    }
    return true;
}

/* Puts what a drain could not write back in front of the watcher's state. */
static void put_back(struct api_watch *w, struct eng_obj **init, size_t ninit, bool init_bm,
                     struct eng_event **evs, size_t nev, bool bm, char *final)
{
    pthread_mutex_lock(&w->mu);
    if (ninit) {
        w->init = ck_calloc(ninit + 1, sizeof(*w->init));
        memcpy(w->init, init, ninit * sizeof(*init));
        w->ninit = ninit;
    }
    w->init_bookmark = w->init_bookmark || init_bm;
    if (nev) {
        size_t cap = nev + w->qlen + 64;
        struct eng_event **nq = ck_calloc(cap, sizeof(*nq));
        memcpy(nq, evs, nev * sizeof(*evs));
        for (size_t i = 0; i < w->qlen; i++)
            nq[nev + i] = w->q[(w->qhead + i) % w->qcap];
        free(w->q);
        w->q = nq;
        w->qcap = cap;
        w->qhead = 0;
        w->qlen += nev;
    }
    w->bm_pending = w->bm_pending || bm;
    if (final) {
        free(w->final_line);
        w->final_line = final;
    }
    pthread_mutex_unlock(&w->mu);
}

static int drain_json(struct api_watch *w, struct ck_buf *out)
{
    size_t start = out->len;
    pthread_mutex_lock(&w->mu);
    struct eng_obj **init = w->init;
    size_t ninit = w->ninit;
    bool init_bm = w->init_bookmark;
    int64_t init_rv = w->init_rv;
    w->init = NULL;
    w->ninit = 0;
    w->init_bookmark = false;
    size_t n = w->qlen;
    struct eng_event **evs = ck_calloc(n + 1, sizeof(*evs));
    for (size_t i = 0; i < n; i++)
        evs[i] = w->q[(w->qhead + i) % w->qcap];
    w->qhead = 0;
    w->qlen = 0;
    bool bm = w->bm_pending;
    int64_t bm_rv = w->last_rv;
    w->bm_pending = false;
    bool ended = w->ended;
    char *final = ended ? w->final_line : NULL;
    if (ended)
        w->final_line = NULL;
    pthread_mutex_unlock(&w->mu);

    size_t i = 0, j = 0;
    bool full = false;
    for (; i < ninit && !full; i++) {
        if (!emit(w, out, start, EV_ADDED, init[i]))
            full = true;
        else
            eng_obj_unref(init[i]);
    }
    if (full)
        i--; /* init[i] was not written */
    if (!full && init_bm) {
        write_bookmark(w, out, init_rv, true);
        init_bm = false;
    }
    for (; j < n && !full; j++) {
        if (!emit(w, out, start, evs[j]->type, evs[j]->obj))
            full = true;
        else
            eng_event_unref(evs[j]);
    }
    if (full && i == ninit)
        j--; /* evs[j] was not written */
    if (full && out->len == start) {
        /* a single event larger than the stream buffer: end the watch instead of stalling */
        for (; i < ninit; i++)
            eng_obj_unref(init[i]);
        for (; j < n; j++)
            eng_event_unref(evs[j]);
        free(final);
        final = error_line(500, "InternalError", "watch event too large for the stream");
        full = false;
        ended = true;
        bm = false;
    }
    if (full) {
        put_back(w, init + i, ninit - i, init_bm, evs + j, n - j, bm, final);
        free(init);
        free(evs);
        notify(w);
        return 0;
    }
    free(init);
    free(evs);
    if (bm && !ended && bm_rv > 0)
        write_bookmark(w, out, bm_rv, false);
    if (final) {
        ck_buf_appends(out, final);
        free(final);
    }
    return ended ? 1 : 0;
}

/* Drains as JSON lines into a scratch buffer, then reframes each line into out. */
static int drain_reframed(struct api_watch *w, struct ck_buf *out)
{
    struct ck_buf tmp = CK_BUF_INIT(out->max > out->len ? out->max - out->len : 0);
    int rc = drain_json(w, &tmp);
    for (size_t off = 0; off < tmp.len;) {
        const char *l = tmp.data + off;
        const char *nl = memchr(l, '\n', tmp.len - off);
        size_t n = nl ? (size_t)(nl - l) : tmp.len - off;
        struct ck_err e = CK_ERR_INIT;
        if (n && w->reframe(l, n, out, &e) < 0)
            ck_warn("watch of %s: an event could not be reframed: %s", w->res->plural, e.msg);
        off += n + 1;
    }
    ck_buf_release(&tmp);
    return rc;
}

int api_watch_drain(struct api_watch *w, struct ck_buf *out)
{
    return w->reframe ? drain_reframed(w, out) : drain_json(w, out);
}

void api_watch_set_notify(struct api_watch *w, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&w->mu);
    w->notify = fn;
    w->narg = arg;
    bool pending = w->ninit || w->qlen || w->ended || w->init_bookmark;
    pthread_mutex_unlock(&w->mu);
    if (pending && fn)
        fn(arg);
}

void api_watch_tick(struct api_watch *w, int64_t now_mono_ms)
{
    bool wake = false;
    pthread_mutex_lock(&w->mu);
    if (!w->ended && w->deadline_ms && now_mono_ms >= w->deadline_ms) {
        w->ended = true; /* clean end of stream, no event */
        wake = true;
    } else if (!w->ended && w->bookmarks && now_mono_ms - w->last_bm_ms >= BOOKMARK_INTERVAL_MS) {
        w->last_bm_ms = now_mono_ms;
        w->bm_pending = true;
        wake = true;
    }
    pthread_mutex_unlock(&w->mu);
    if (wake)
        notify(w);
}

void api_watch_close(struct api_watch *w)
{
    if (!w)
        return;
    struct eng_cache *s = w->s;
    if (s) {
        pthread_rwlock_wrlock(&s->mu);
        if (w->prev)
            w->prev->next = w->next;
        else if (s->watchers == w)
            s->watchers = w->next;
        if (w->next)
            w->next->prev = w->prev;
        pthread_rwlock_unlock(&s->mu);
    }
    eng_watch_free(w);
}

void eng_watch_expire_all(struct eng_cache *s, const char *msg)
{
    for (struct api_watch *w = s->watchers; w; w = w->next) {
        pthread_mutex_lock(&w->mu);
        end_expired(w, msg);
        pthread_mutex_unlock(&w->mu);
        notify(w);
    }
}

void eng_watch_close_all(struct eng_cache *s)
{
    pthread_rwlock_wrlock(&s->mu);
    for (struct api_watch *w = s->watchers; w;) {
        struct api_watch *n = w->next;
        pthread_mutex_lock(&w->mu);
        w->s = NULL;
        w->ended = true;
        w->next = w->prev = NULL;
        pthread_mutex_unlock(&w->mu);
        notify(w);
        w = n;
    }
    s->watchers = NULL;
    pthread_rwlock_unlock(&s->mu);
}

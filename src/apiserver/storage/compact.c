/* SPDX-License-Identifier: Apache-2.0 */
/* History compaction, as kube-apiserver does for etcd: every interval, compact the store to
 * the revision seen one interval earlier, so watches and continue tokens can resume within
 * at least one interval (default 5 minutes) and history does not grow without bound. */
#include "apiserver/storage/storage.h"
#include "lib/log.h"

#include <errno.h>
#include <time.h>

#include "lib/banned.h"

static void *compact_main(void *arg)
{
    struct eng_cache *s = arg;
    int64_t prev = 0;
    pthread_mutex_lock(&s->compact_mu);
    while (!s->compact_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += s->opts.compact_interval_s;
        while (!s->compact_stop &&
               pthread_cond_timedwait(&s->compact_cv, &s->compact_mu, &ts) != ETIMEDOUT)
            ;
        if (s->compact_stop)
            break;
        pthread_mutex_unlock(&s->compact_mu);
        int64_t cur = store_current_revision(s->st);
        if (prev > store_compacted_revision(s->st)) {
            struct ck_err err = CK_ERR_INIT;
            if (store_compact(s->st, prev, &err) < 0)
                ck_warn("apiserver: compaction to %lld failed: %s", (long long)prev, err.msg);
            else
                ck_v(2, "apiserver: compacted history to revision %lld", (long long)prev);
        }
        prev = cur;
        pthread_mutex_lock(&s->compact_mu);
    }
    pthread_mutex_unlock(&s->compact_mu);
    return NULL;
}

int eng_compactor_start(struct eng_cache *s, struct ck_err *err)
{
    if (s->opts.compact_interval_s < 0)
        return 0;
    if (s->opts.compact_interval_s == 0)
        s->opts.compact_interval_s = 300;
    int rc = pthread_create(&s->compact_thread, NULL, compact_main, s);
    if (rc != 0)
        return ck_err_sys(err, rc, "starting the compaction thread");
    s->compact_running = true;
    return 0;
}

void eng_compactor_stop(struct eng_cache *s)
{
    if (s->compact_running) {
        pthread_mutex_lock(&s->compact_mu);
        s->compact_stop = true;
        pthread_cond_broadcast(&s->compact_cv);
        pthread_mutex_unlock(&s->compact_mu);
        pthread_join(s->compact_thread, NULL);
        s->compact_running = false;
    }
}

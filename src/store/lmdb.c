/* SPDX-License-Identifier: Apache-2.0 */
/* The embedded LMDB backend: opening and validating a data dir (lock file, format magic,
 * truncation check), shared lookup helpers, subscribers, and the store_ops table. The write
 * path is in lmdb_write.c and the read/compaction path in lmdb_read.c. */
#include "store/lmdb_int.h"

#include "lib/buf.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/banned.h"

#define LM_MAGIC "ckube-store"
#define LM_FORMAT 1
#define LM_DEFAULT_MAP ((size_t)64 << 30)

int lm_err(struct lm_store *s, struct ck_err *err, int rc, const char *what)
{
    enum ck_reason r = CK_R_IO;
    if (rc == MDB_CORRUPTED || rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ||
        rc == MDB_PAGE_NOTFOUND || rc == MDB_INCOMPATIBLE || rc == MDB_BAD_DBI)
        r = CK_R_CORRUPT;
    else if (rc == MDB_MAP_FULL)
        r = CK_R_SERVICE_UNAVAILABLE;
    return ck_err_set(err, r, "store %s: %s: %s", s->datafile, what, mdb_strerror(rc));
}

void lm_drop_pages(struct lm_store *s)
{
    atomic_store(&s->touched, 0);
    MDB_envinfo info;
    MDB_stat st;
    if (!s->map_base || mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0)
        return;
    size_t len = ((size_t)info.me_last_pgno + 1) * st.ms_psize;
    if (len > s->map_len)
        len = s->map_len;
    if (madvise(s->map_base, len, MADV_DONTNEED) != 0)
        ck_v(2, "store: madvise(MADV_DONTNEED) on the map: %s", strerror(errno));
}

void lm_touch(struct lm_store *s, size_t bytes)
{
    uint64_t t = atomic_fetch_add(&s->touched, bytes + 1) + bytes + 1;
    if (t >= LM_DROP_BYTES || bytes >= LM_DROP_READ_BYTES)
        lm_drop_pages(s);
}

int lm_meta_get(struct lm_store *s, MDB_txn *txn, const char *name, int64_t *out,
                struct ck_err *err)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(txn, s->meta, &k, &v);
    *out = 0;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return lm_err(s, err, rc, "reading meta");
    if (v.mv_size != 8 || store_get_u64(v.mv_data) > INT64_MAX)
        return ck_err_set(err, CK_R_CORRUPT, "store %s: meta %s is malformed", s->datafile, name);
    *out = (int64_t)store_get_u64(v.mv_data);
    return 0;
}

int lm_meta_put(struct lm_store *s, MDB_txn *txn, const char *name, int64_t v, struct ck_err *err)
{
    unsigned char b[8];
    store_put_u64(b, (uint64_t)v);
    MDB_val k = {strlen(name), (void *)name}, d = {8, b};
    int rc = mdb_put(txn, s->meta, &k, &d, 0);
    return rc ? lm_err(s, err, rc, "writing meta") : 0;
}

/* Decodes and checks the log record (rev, sub) found at v (rc: the lookup's LMDB code). */
static int load_check(struct lm_store *s, int rc, const MDB_val *v, int64_t rev, uint32_t sub,
                      struct store_record *rec, struct ck_err *err)
{
    if (rc == MDB_NOTFOUND)
        return ck_err_set(err, CK_R_CORRUPT, "store %s: log record %lld.%u is missing", s->datafile,
                          (long long)rev, sub);
    if (rc)
        return lm_err(s, err, rc, "reading log");
    if (store_record_decode(v->mv_data, v->mv_size, rec, err) < 0)
        return ck_err_wrap(err, "store %s: log record %lld.%u: ", s->datafile, (long long)rev, sub);
    if (rec->revision != rev || rec->sub != sub)
        return ck_err_set(err, CK_R_CORRUPT, "store %s: log record %lld.%u holds revision %lld.%u",
                          s->datafile, (long long)rev, sub, (long long)rec->revision, rec->sub);
    return 0;
}

int lm_load(struct lm_store *s, MDB_txn *txn, int64_t rev, uint32_t sub, struct store_record *rec,
            struct ck_err *err)
{
    unsigned char kb[STORE_LOGKEY_LEN];
    store_logkey_encode(rev, sub, kb);
    MDB_val k = {sizeof(kb), kb}, v;
    return load_check(s, mdb_get(txn, s->log, &k, &v), &v, rev, sub, rec, err);
}

int lm_load_cursor(struct lm_store *s, MDB_cursor *lc, int64_t rev, uint32_t sub,
                   struct store_record *rec, struct ck_err *err)
{
    unsigned char kb[STORE_LOGKEY_LEN];
    store_logkey_encode(rev, sub, kb);
    MDB_val k = {sizeof(kb), kb}, v;
    return load_check(s, mdb_cursor_get(lc, &k, &v, MDB_SET), &v, rev, sub, rec, err);
}

void lm_kv_from_record(const struct store_record *rec, struct store_kv *kv)
{
    struct store_kv src = {
        .key = (char *)rec->key,
        .key_len = rec->key_len,
        .value = (void *)rec->value,
        .value_len = rec->value_len,
        .create_revision = rec->create_revision,
        .mod_revision = rec->revision,
        .version = rec->version,
    };
    store_kv_copy(kv, &src);
}

int lm_ptr_get(struct lm_store *s, MDB_txn *txn, const char *key, size_t key_len,
               struct store_ptr *p, bool *found, struct ck_err *err)
{
    MDB_val k = {key_len, (void *)key}, v;
    int rc = mdb_get(txn, s->keys, &k, &v);
    *found = false;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return lm_err(s, err, rc, "reading key index");
    if (store_ptr_decode(v.mv_data, v.mv_size, p, err) < 0)
        return ck_err_wrap(err, "store %s: ", s->datafile);
    *found = true;
    return 0;
}

int lm_hist_find_le(struct lm_store *s, MDB_cursor *c, const char *key, size_t key_len, int64_t rev,
                    struct store_hist *out, bool *found, struct ck_err *err)
{
    unsigned char probe[STORE_HIST_LEN];
    struct store_hist ph = {rev + 1, 0, 0};
    store_hist_encode(&ph, probe);
    MDB_val k = {key_len, (void *)key}, d = {sizeof(probe), probe};
    *found = false;
    int rc = mdb_cursor_get(c, &k, &d, MDB_GET_BOTH_RANGE);
    if (rc == 0) {
        rc = mdb_cursor_get(c, &k, &d, MDB_PREV_DUP);
    } else if (rc == MDB_NOTFOUND) {
        k.mv_size = key_len;
        k.mv_data = (void *)key;
        rc = mdb_cursor_get(c, &k, &d, MDB_SET);
        if (rc == 0)
            rc = mdb_cursor_get(c, &k, &d, MDB_LAST_DUP);
    }
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return lm_err(s, err, rc, "reading history index");
    if (store_hist_decode(d.mv_data, d.mv_size, out, err) < 0)
        return ck_err_wrap(err, "store %s: ", s->datafile);
    if (out->revision > rev)
        return 0;
    *found = true;
    return 0;
}

/* ---- subscribers ------------------------------------------------------------------------ */

static int lm_subscribe(struct store *base, store_watch_fn fn, void *arg, int64_t *from_revision,
                        struct ck_err *err)
{
    struct lm_store *s = (struct lm_store *)base;
    if (!fn)
        return ck_err_set(err, CK_R_BAD_REQUEST, "store subscribe: no callback");
    pthread_mutex_lock(&s->sub_mu);
    if (s->nsubs == s->capsubs) {
        s->capsubs = s->capsubs ? s->capsubs * 2 : 8;
        s->subs = ck_realloc(s->subs, s->capsubs * sizeof(*s->subs));
    }
    int id = ++s->next_sub_id;
    s->subs[s->nsubs++] = (struct lm_sub){id, fn, arg};
    if (from_revision)
        *from_revision = s->published_rev;
    pthread_mutex_unlock(&s->sub_mu);
    return id;
}

static void lm_unsubscribe(struct store *base, int id)
{
    struct lm_store *s = (struct lm_store *)base;
    pthread_mutex_lock(&s->sub_mu);
    for (size_t i = 0; i < s->nsubs; i++) {
        if (s->subs[i].id == id) {
            memmove(&s->subs[i], &s->subs[i + 1], (s->nsubs - i - 1) * sizeof(*s->subs));
            s->nsubs--;
            break;
        }
    }
    pthread_mutex_unlock(&s->sub_mu);
}

static int64_t lm_current_revision(struct store *base)
{
    return atomic_load(&((struct lm_store *)base)->cur_rev);
}

static int64_t lm_compacted_revision(struct store *base)
{
    return atomic_load(&((struct lm_store *)base)->compacted_rev);
}

void store_lmdb_stats(struct store *base, struct store_lmdb_stats *out)
{
    struct lm_store *s = (struct lm_store *)base;
    out->txns = atomic_load(&s->st_txns);
    out->commits = atomic_load(&s->st_commits);
    out->max_batch_seen = atomic_load(&s->st_max_batch);
    out->apply_ns = atomic_load(&s->st_apply_ns);
    out->commit_ns = atomic_load(&s->st_commit_ns);
    out->publish_ns = atomic_load(&s->st_publish_ns);
    out->gather_ns = atomic_load(&s->st_gather_ns);
}

/* ---- open / close ------------------------------------------------------------------------ */

static void lm_free(struct lm_store *s)
{
    if (s->env)
        mdb_env_close(s->env);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    pthread_mutex_destroy(&s->q_mu);
    pthread_cond_destroy(&s->q_cv);
    pthread_mutex_destroy(&s->sub_mu);
    pthread_mutex_destroy(&s->compact_mu);
    free(s->subs);
    free(s->dir);
    free(s->datafile);
    free(s);
}

static void lm_close(struct store *base)
{
    struct lm_store *s = (struct lm_store *)base;
    if (s->thread_started) {
        pthread_mutex_lock(&s->q_mu);
        s->closing = true;
        pthread_cond_broadcast(&s->q_cv);
        pthread_mutex_unlock(&s->q_mu);
        pthread_join(s->thread, NULL);
    }
    lm_free(s);
}

static const struct store_ops lm_ops = {
    .name = "lmdb",
    .version = 1,
    .txn = lm_txn,
    .get = lm_get,
    .range = lm_range,
    .events_since = lm_events_since,
    .compact = lm_compact,
    .current_revision = lm_current_revision,
    .compacted_revision = lm_compacted_revision,
    .subscribe = lm_subscribe,
    .unsubscribe = lm_unsubscribe,
    .close = lm_close,
    .range_each = lm_range_each,
};

static int mkdir_p(const char *dir, struct ck_err *err)
{
    char *tmp = ck_strdup(dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0700) < 0 && errno != EEXIST) {
            int e = errno;
            ck_err_sys(err, e, "store: mkdir %s", tmp);
            free(tmp);
            return -1;
        }
        *p = '/';
    }
    free(tmp);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return ck_err_sys(err, errno, "store: mkdir %s", dir);
    struct stat st;
    if (stat(dir, &st) < 0)
        return ck_err_sys(err, errno, "store: stat %s", dir);
    if (!S_ISDIR(st.st_mode))
        return ck_err_set(err, CK_R_BAD_REQUEST, "store: %s is not a directory", dir);
    return 0;
}

static int lock_dir(struct lm_store *s, struct ck_err *err)
{
    char *path = ck_asprintf("%s/LOCK", s->dir);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
        ck_err_sys(err, errno, "store: open %s", path);
        free(path);
        return -1;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        if (e == EWOULDBLOCK)
            ck_err_set(err, CK_R_SERVICE_UNAVAILABLE,
                       "store: %s is locked: the data dir is in use by another process", path);
        else
            ck_err_sys(err, e, "store: flock %s", path);
        free(path);
        return -1;
    }
    free(path);
    return 0;
}

/* A data.mdb shorter than LMDB's last used page would fault (SIGBUS) on first touch. */
static int check_truncation(struct lm_store *s, struct ck_err *err)
{
    MDB_envinfo info;
    MDB_stat st;
    mdb_env_info(s->env, &info);
    mdb_env_stat(s->env, &st);
    struct stat fst;
    if (stat(s->datafile, &fst) < 0)
        return ck_err_sys(err, errno, "store: stat %s", s->datafile);
    unsigned long long need = ((unsigned long long)info.me_last_pgno + 1) * st.ms_psize;
    if ((unsigned long long)fst.st_size < need)
        return ck_err_set(err, CK_R_CORRUPT,
                          "store %s: file is truncated (%lld bytes, pages need %llu)", s->datafile,
                          (long long)fst.st_size, need);
    return 0;
}

/* Finds LMDB's map of the data file in /proc/self/maps (LMDB does not export its address). */
static void find_map(struct lm_store *s)
{
    char real[4096], line[4096 + 128];
    if (!realpath(s->datafile, real))
        return;
    FILE *f = fopen("/proc/self/maps", "r");
    size_t rl = strlen(real);
    while (f && fgets(line, sizeof(line), f)) {
        size_t ll = strlen(line);
        while (ll && line[ll - 1] == '\n')
            line[--ll] = '\0';
        unsigned long long a, b;
        if (ll < rl || strcmp(line + ll - rl, real) != 0 || sscanf(line, "%llx-%llx", &a, &b) != 2)
            continue;
        s->map_base = (void *)(uintptr_t)a;
        s->map_len = (size_t)(b - a);
        break;
    }
    if (f)
        fclose(f);
    if (!s->map_base)
        ck_v(1, "store %s: map not found in /proc/self/maps; pages are not dropped", s->datafile);
}

static int open_env(struct lm_store *s, const struct store_lmdb_opts *o, struct ck_err *err)
{
    struct stat st;
    if (stat(s->datafile, &st) == 0 && !S_ISREG(st.st_mode))
        return ck_err_set(err, CK_R_CORRUPT, "store %s: not a regular file", s->datafile);
    int rc = mdb_env_create(&s->env);
    if (rc)
        return lm_err(s, err, rc, "creating environment");
    mdb_env_set_maxdbs(s->env, 8);
    mdb_env_set_mapsize(s->env, o->map_size ? o->map_size : LM_DEFAULT_MAP);
    unsigned flags = MDB_NOTLS | MDB_NORDAHEAD | (o->no_sync ? MDB_NOSYNC : 0);
    rc = mdb_env_open(s->env, s->dir, flags, 0600);
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
        return ck_err_set(err, CK_R_CORRUPT,
                          "store %s: not a ckube store (not an LMDB environment): %s", s->datafile,
                          mdb_strerror(rc));
    if (rc)
        return lm_err(s, err, rc, "opening environment");
    find_map(s);
    int dead = 0; /* reader slots of killed processes would pin old pages */
    mdb_reader_check(s->env, &dead);
    if (dead)
        ck_v(1, "store %s: cleared %d stale reader slots", s->datafile, dead);
    return check_truncation(s, err);
}

static const char *const lm_db_names[] = {"hist", "keys", "log", "meta"};

/* The main db of a ckube env holds only our named dbs. Sets *fresh when it is empty. */
static int check_main_db(struct lm_store *s, MDB_txn *txn, bool *fresh, struct ck_err *err)
{
    MDB_dbi main;
    MDB_cursor *c;
    int rc = mdb_dbi_open(txn, NULL, 0, &main);
    if (rc || (rc = mdb_cursor_open(txn, main, &c)))
        return lm_err(s, err, rc, "opening main db");
    MDB_val k, v;
    size_t n = 0;
    *fresh = true;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        bool ok = false;
        for (size_t i = 0; i < sizeof(lm_db_names) / sizeof(lm_db_names[0]); i++)
            ok |= k.mv_size == strlen(lm_db_names[i]) &&
                  !memcmp(k.mv_data, lm_db_names[i], k.mv_size);
        if (!ok) {
            mdb_cursor_close(c);
            int w = k.mv_size > 64 ? 64 : (int)k.mv_size;
            return ck_err_set(err, CK_R_CORRUPT,
                              "store %s: not a ckube store (unexpected database \"%.*s\")",
                              s->datafile, w, (const char *)k.mv_data);
        }
        n++;
        *fresh = false;
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND)
        return lm_err(s, err, rc, "scanning main db");
    if (!*fresh && n != 4)
        return ck_err_set(err, CK_R_CORRUPT, "store %s: %zu of 4 databases present", s->datafile,
                          n);
    return 0;
}

static int open_dbis(struct lm_store *s, MDB_txn *txn, bool fresh, struct ck_err *err)
{
    unsigned c = fresh ? MDB_CREATE : 0;
    int rc;
    if ((rc = mdb_dbi_open(txn, "meta", c, &s->meta)) ||
        (rc = mdb_dbi_open(txn, "log", c, &s->log)) ||
        (rc = mdb_dbi_open(txn, "keys", c, &s->keys)) ||
        (rc = mdb_dbi_open(txn, "hist", c | MDB_DUPSORT | MDB_DUPFIXED, &s->hist)))
        return lm_err(s, err, rc, "opening databases");
    return 0;
}

/* Checks (or, in a fresh env, writes) the magic and format, and loads the revisions. */
static int check_meta(struct lm_store *s, MDB_txn *txn, bool fresh, struct ck_err *err)
{
    MDB_val mk = {5, "magic"}, fk = {6, "format"}, v;
    unsigned char fb[4];
    if (fresh) {
        MDB_val mv = {sizeof(LM_MAGIC) - 1, LM_MAGIC}, fv = {4, fb};
        store_put_u32(fb, LM_FORMAT);
        int rc;
        if ((rc = mdb_put(txn, s->meta, &mk, &mv, 0)) || (rc = mdb_put(txn, s->meta, &fk, &fv, 0)))
            return lm_err(s, err, rc, "initialising meta");
        if (lm_meta_put(s, txn, "rev", 1, err) < 0 || lm_meta_put(s, txn, "compacted", 0, err) < 0)
            return -1;
    }
    if (mdb_get(txn, s->meta, &mk, &v) || v.mv_size != sizeof(LM_MAGIC) - 1 ||
        memcmp(v.mv_data, LM_MAGIC, v.mv_size))
        return ck_err_set(err, CK_R_CORRUPT, "store %s: not a ckube store (bad magic)",
                          s->datafile);
    if (mdb_get(txn, s->meta, &fk, &v) || v.mv_size != 4)
        return ck_err_set(err, CK_R_CORRUPT, "store %s: format version missing", s->datafile);
    if (store_get_u32(v.mv_data) != LM_FORMAT)
        return ck_err_set(err, CK_R_CORRUPT, "store %s: format version %u, this build reads %d",
                          s->datafile, store_get_u32(v.mv_data), LM_FORMAT);
    int64_t rev, comp;
    if (lm_meta_get(s, txn, "rev", &rev, err) < 0 ||
        lm_meta_get(s, txn, "compacted", &comp, err) < 0)
        return -1;
    if (rev < 1 || comp < 0 || comp > rev)
        return ck_err_set(err, CK_R_CORRUPT, "store %s: revisions %lld/%lld out of range",
                          s->datafile, (long long)rev, (long long)comp);
    s->last_rev = rev;
    s->published_rev = rev;
    atomic_store(&s->cur_rev, rev);
    atomic_store(&s->compacted_rev, comp);
    return 0;
}

/* The newest log record must not be newer than the recorded revision. */
static int check_log_tail(struct lm_store *s, MDB_txn *txn, struct ck_err *err)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, s->log, &c);
    if (rc)
        return lm_err(s, err, rc, "opening log");
    MDB_val k, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return lm_err(s, err, rc, "reading log tail");
    int64_t rev;
    uint32_t sub;
    if (store_logkey_decode(k.mv_data, k.mv_size, &rev, &sub, err) < 0)
        return ck_err_wrap(err, "store %s: ", s->datafile);
    if (rev > s->last_rev)
        return ck_err_set(err, CK_R_CORRUPT, "store %s: log reaches revision %lld beyond %lld",
                          s->datafile, (long long)rev, (long long)s->last_rev);
    return 0;
}

static int open_dbs(struct lm_store *s, struct ck_err *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc)
        return lm_err(s, err, rc, "beginning txn");
    bool fresh = false;
    if (check_main_db(s, txn, &fresh, err) < 0 || open_dbis(s, txn, fresh, err) < 0 ||
        check_meta(s, txn, fresh, err) < 0 || check_log_tail(s, txn, err) < 0) {
        mdb_txn_abort(txn);
        return -1;
    }
    rc = mdb_txn_commit(txn);
    return rc ? lm_err(s, err, rc, "committing open") : 0;
}

int store_lmdb_open(const struct store_lmdb_opts *o, struct store **out, struct ck_err *err)
{
    *out = NULL;
    if (!o || !o->dir || !o->dir[0])
        return ck_err_set(err, CK_R_BAD_REQUEST, "store: no data dir given");
    struct lm_store *s = ck_calloc(1, sizeof(*s));
    s->base.ops = &lm_ops;
    s->lock_fd = -1;
    s->dir = ck_strdup(o->dir);
    s->datafile = ck_asprintf("%s/data.mdb", o->dir);
    s->no_sync = o->no_sync;
    s->max_batch = o->max_batch > 0 ? o->max_batch : LM_DEFAULT_BATCH;
    pthread_mutex_init(&s->q_mu, NULL);
    pthread_cond_init(&s->q_cv, NULL);
    pthread_mutex_init(&s->sub_mu, NULL);
    pthread_mutex_init(&s->compact_mu, NULL);
    if (mkdir_p(s->dir, err) < 0 || lock_dir(s, err) < 0 || open_env(s, o, err) < 0 ||
        open_dbs(s, err) < 0) {
        lm_free(s);
        return -1;
    }
    int rc = pthread_create(&s->thread, NULL, lm_commit_main, s);
    if (rc) {
        ck_err_sys(err, rc, "store: starting commit thread");
        lm_free(s);
        return -1;
    }
    s->thread_started = true;
    ck_v(1, "store: opened %s at revision %lld (compacted %lld)", s->datafile,
         (long long)s->last_rev, (long long)atomic_load(&s->compacted_rev));
    *out = &s->base;
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Crash test of the LMDB store: a child process (this program with --child) writes with 64
 * concurrent threads (fsync on) and reports every acknowledged (key, revision) on a pipe; the
 * parent SIGKILLs it at a random moment, reopens the store and checks that every acknowledged
 * write survived (or was superseded by a later write of the same key) and that revisions
 * never go backwards across restarts. Repeats for --cycles cycles. */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NWRITERS 64
#define KEYS_PER_WRITER 4

/* ---- child --------------------------------------------------------------------------- */

struct child {
    struct store *s;
    int fd;
    int id;
};

static void ack(int fd, char type, const char *key, int64_t rev, const char *val)
{
    char line[128];
    int n = snprintf(line, sizeof(line), "%c %s %" PRId64 " %s\n", type, key, rev, val);
    if (write(fd, line, (size_t)n) != n) /* < PIPE_BUF: atomic, never interleaved */
        _exit(3);
}

static void *child_writer(void *arg)
{
    struct child *c = arg;
    struct ck_err err = CK_ERR_INIT;
    for (uint64_t seq = 0;; seq++) {
        char key[32], val[48];
        snprintf(key, sizeof(key), "/c/w%02d/k%d", c->id, (int)(seq % KEYS_PER_WRITER));
        snprintf(val, sizeof(val), "%d:%d:%" PRIu64, (int)getpid(), c->id, seq);
        int64_t rev;
        if (seq % 17 == 16) {
            if (store_delete(c->s, key, strlen(key), STORE_ANY, &rev, NULL, &err) == 0)
                ack(c->fd, 'D', key, rev, "-");
            else if (err.reason != CK_R_NOT_FOUND)
                _exit(4);
            continue;
        }
        if (store_put(c->s, key, strlen(key), val, strlen(val), STORE_ANY, &rev, NULL, &err) < 0) {
            fprintf(stderr, "child put: %s\n", err.msg);
            _exit(4);
        }
        ack(c->fd, 'P', key, rev, val);
    }
    return NULL;
}

static int child_main(const char *dir, int fd)
{
    struct ck_err err = CK_ERR_INIT;
    struct store_lmdb_opts o = {.dir = dir};
    struct store *s;
    if (store_lmdb_open(&o, &s, &err) < 0) {
        fprintf(stderr, "child open: %s\n", err.msg);
        return 2;
    }
    static struct child cs[NWRITERS];
    for (int i = 0; i < NWRITERS; i++) {
        cs[i] = (struct child){s, fd, i};
        pthread_t t;
        pthread_create(&t, NULL, child_writer, &cs[i]);
    }
    for (;;) { /* compact now and then, so kills also land mid-compaction */
        usleep(50000);
        int64_t target = store_current_revision(s) - 300;
        if (target > store_compacted_revision(s))
            store_compact(s, target, &err);
    }
}

/* ---- parent -------------------------------------------------------------------------- */

struct ack_rec {
    char type;
    char key[32];
    int64_t rev;
    char val[48];
};

struct acks {
    struct ack_rec *a;
    size_t n, cap;
    char part[256];
    size_t partlen;
};

static void parse_line(struct acks *as, const char *line)
{
    struct ack_rec r = {0};
    if (sscanf(line, "%c %31s %" SCNd64 " %47s", &r.type, r.key, &r.rev, r.val) != 4) {
        fprintf(stderr, "FAIL: bad ack line \"%s\"\n", line);
        exit(1);
    }
    if (as->n == as->cap) {
        as->cap = as->cap ? as->cap * 2 : 4096;
        as->a = realloc(as->a, as->cap * sizeof(*as->a));
    }
    as->a[as->n++] = r;
}

static void feed(struct acks *as, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            as->part[as->partlen] = 0;
            parse_line(as, as->part);
            as->partlen = 0;
        } else if (as->partlen + 1 < sizeof(as->part)) {
            as->part[as->partlen++] = buf[i];
        }
    }
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs one child, kills it run_ms after its first ack (or after its start when early_kill:
 * that may land while it opens the store), and collects every ack it managed to send. */
static void run_child(const char *self, const char *dir, int run_ms, bool early_kill,
                      struct acks *as)
{
    int p[2];
    if (pipe(p) < 0)
        exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        char fdstr[16];
        snprintf(fdstr, sizeof(fdstr), "%d", p[1]);
        execl(self, self, "--child", dir, fdstr, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    int64_t start = mono_ms();
    int64_t deadline = early_kill ? start + run_ms : INT64_MAX;
    char buf[65536];
    bool killed = false;
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (!killed && left <= 0) {
            kill(pid, SIGKILL);
            killed = true;
        }
        struct pollfd pf = {p[0], POLLIN, 0};
        int wait_ms = killed ? 1000 : (int)(left < 100 ? left : 100);
        if (poll(&pf, 1, wait_ms) < 0 && errno != EINTR)
            exit(1);
        ssize_t n = pf.revents ? read(p[0], buf, sizeof(buf)) : 0;
        if (n > 0)
            feed(as, buf, (size_t)n);
        if (deadline == INT64_MAX && (as->n > 0 || mono_ms() - start > 20000))
            deadline = mono_ms() + run_ms; /* the child is writing: kill it at a random point */
        else if (pf.revents && n == 0)
            break; /* EOF: the child is gone */
    }
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
        fprintf(stderr, "FAIL: child exited on its own (status %d)\n", st);
        exit(1);
    }
}

static int fails;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL: " __VA_ARGS__);                                                 \
            fputc('\n', stderr);                                                                   \
            if (++fails > 20)                                                                      \
                exit(1);                                                                           \
        }                                                                                          \
    } while (0)

/* The last event of each key in the remaining log (filled by verify_log). */
struct last_ev {
    char key[32];
    int type;
    int64_t rev;
};
static struct last_ev lasts[NWRITERS * KEYS_PER_WRITER];
static size_t nlasts;

static struct last_ev *last_of(const char *key)
{
    for (size_t i = 0; i < nlasts; i++)
        if (!strcmp(lasts[i].key, key))
            return &lasts[i];
    return NULL;
}

static void verify_ack(struct store *s, const struct ack_rec *a, int64_t compacted)
{
    struct ck_err err = CK_ERR_INIT;
    struct store_kv kv;
    bool found;
    size_t kl = strlen(a->key);
    if (a->rev >= compacted) { /* history still holds the exact write */
        CHECK(store_get(s, a->key, kl, a->rev, &kv, &found, &err) == 0, "get %s@%" PRId64 ": %s",
              a->key, a->rev, err.msg);
        if (a->type == 'P') {
            CHECK(found && kv.mod_revision == a->rev && !strcmp(kv.value, a->val),
                  "acked put %s=%s@%" PRId64 " lost", a->key, a->val, a->rev);
        } else {
            CHECK(!found, "acked delete %s@%" PRId64 " lost", a->key, a->rev);
        }
        store_kv_release(&kv);
    }
    /* the latest state is this write or a later one */
    CHECK(store_get(s, a->key, kl, 0, &kv, &found, &err) == 0, "get %s: %s", a->key, err.msg);
    if (found)
        CHECK(kv.mod_revision >= a->rev, "%s went back to %" PRId64 " < acked %" PRId64, a->key,
              kv.mod_revision, a->rev);
    else if (a->type == 'P') { /* only a later delete may remove it */
        const struct last_ev *l = last_of(a->key);
        CHECK(l ? (l->type == STORE_EVENT_DELETE && l->rev > a->rev) : a->rev <= compacted,
              "acked put %s@%" PRId64 " vanished", a->key, a->rev);
    }
    store_kv_release(&kv);
}

/* The whole remaining log decodes, in order. */
static void verify_log(struct store *s, int64_t compacted)
{
    struct ck_err err = CK_ERR_INIT;
    struct store_events evs;
    CHECK(store_events_since(s, compacted, 0, &evs, &err) == 0, "events_since: %s", err.msg);
    nlasts = 0;
    for (size_t i = 0; i < evs.nevents; i++) {
        const struct store_event *e = &evs.events[i];
        CHECK(i == 0 || e->revision >= evs.events[i - 1].revision, "log out of order at %zu", i);
        struct last_ev *l = last_of(e->kv.key);
        if (!l && nlasts < sizeof(lasts) / sizeof(lasts[0])) {
            l = &lasts[nlasts++];
            snprintf(l->key, sizeof(l->key), "%s", e->kv.key);
        }
        if (l) {
            l->type = e->type;
            l->rev = e->revision;
        }
    }
    if (evs.nevents)
        CHECK(evs.events[evs.nevents - 1].revision <= store_current_revision(s), "log past rev");
    store_events_release(&evs);
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--child"))
        return child_main(argv[2], atoi(argv[3]));
    int cycles = 30;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--cycles"))
            cycles = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed"))
            seed = (unsigned)strtoul(argv[i + 1], NULL, 10);
    }
    srand(seed);
    char tmpl[] = "/tmp/ckstore-crash-XXXXXX";
    const char *dir = mkdtemp(tmpl);
    if (!dir)
        return 1;
    printf("crash_store: dir %s seed %u cycles %d (every 5th kill lands 0-100 ms after start, the\n"
           "others 0-500 ms after the first acknowledged write)\n",
           dir, seed, cycles);
    int64_t last_rev = 0;
    size_t total = 0;
    int with_acks = 0;
    for (int c = 0; c < cycles; c++) {
        struct acks as = {0};
        bool early = c % 5 == 4;
        int run_ms = early ? rand() % 100 : rand() % 500;
        run_child(argv[0], dir, run_ms, early, &as);
        struct ck_err err = CK_ERR_INIT;
        struct store_lmdb_opts o = {.dir = dir};
        struct store *s;
        if (store_lmdb_open(&o, &s, &err) < 0) {
            fprintf(stderr, "FAIL: reopen after kill %d: %s\n", c, err.msg);
            return 1;
        }
        int64_t cur = store_current_revision(s), comp = store_compacted_revision(s);
        CHECK(cur >= last_rev, "revision went backwards: %" PRId64 " < %" PRId64, cur, last_rev);
        verify_log(s, comp);
        for (size_t i = 0; i < as.n; i++) {
            CHECK(as.a[i].rev > last_rev && as.a[i].rev <= cur,
                  "ack revision %" PRId64 " outside (%" PRId64 ", %" PRId64 "]", as.a[i].rev,
                  last_rev, cur);
            verify_ack(s, &as.a[i], comp);
        }
        printf("cycle %2d: killed %s+%3d ms, %5zu acks verified, revision %" PRId64
               " compacted %" PRId64 "\n",
               c, early ? "start" : "ack", run_ms, as.n, cur, comp);
        last_rev = cur;
        total += as.n;
        with_acks += as.n > 0;
        store_close(s);
        free(as.a);
    }
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    CHECK(with_acks >= cycles / 2, "only %d of %d cycles acknowledged writes", with_acks, cycles);
    printf("crash_store: %zu acknowledged writes verified over %d kills: %s\n", total, cycles,
           fails ? "FAIL" : "ok");
    return fails ? 1 : 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* CRI log writer and parser (format and rotation described in crilog.h). */
#include "runtime/crilog.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/banned.h"

static const char *stream_name(enum rt_log_stream s)
{
    return s == RT_LOG_STDERR ? "stderr" : "stdout";
}

int rt_log_open(struct rt_log_writer *w, const char *path, int64_t max_size, int max_files,
                struct ck_err *err)
{
    memset(w, 0, sizeof(*w));
    w->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (w->fd < 0)
        return ck_err_sys(err, errno, "open log %s", path);
    struct stat st;
    w->size = fstat(w->fd, &st) == 0 ? st.st_size : 0;
    w->path = ck_strdup(path);
    w->max_size = max_size;
    w->max_files = max_files < 1 ? 1 : max_files;
    w->pending[0] = (struct ck_buf)CK_BUF_INIT(RT_LOG_LINE_MAX);
    w->pending[1] = (struct ck_buf)CK_BUF_INIT(RT_LOG_LINE_MAX);
    w->clock_ns = ck_real_ns;
    return 0;
}

int rt_log_reopen(struct rt_log_writer *w, struct ck_err *err)
{
    int fd = open(w->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return ck_err_sys(err, errno, "reopen log %s", w->path);
    if (w->fd >= 0)
        close(w->fd);
    w->fd = fd;
    struct stat st;
    w->size = fstat(fd, &st) == 0 ? st.st_size : 0;
    return 0;
}

static int rotate(struct rt_log_writer *w, struct ck_err *err)
{
    if (w->max_files <= 1) { /* keep one file: truncate */
        if (ftruncate(w->fd, 0) < 0)
            return ck_err_sys(err, errno, "truncate %s", w->path);
        w->size = 0;
        return 0;
    }
    char from[4096], to[4096];
    snprintf(to, sizeof(to), "%s.%d", w->path, w->max_files - 1);
    unlink(to);
    for (int i = w->max_files - 2; i >= 1; i--) {
        snprintf(from, sizeof(from), "%s.%d", w->path, i);
        snprintf(to, sizeof(to), "%s.%d", w->path, i + 1);
        rename(from, to);
    }
    snprintf(to, sizeof(to), "%s.1", w->path);
    if (rename(w->path, to) < 0)
        return ck_err_sys(err, errno, "rotate %s", w->path);
    return rt_log_reopen(w, err);
}

static int emit(struct rt_log_writer *w, enum rt_log_stream s, char tag, const char *msg,
                size_t len, struct ck_err *err)
{
    char ts[31];
    ck_time_rfc3339nano(w->clock_ns(), ts);
    char head[64];
    int hl = snprintf(head, sizeof(head), "%s %s %c ", ts, stream_name(s), tag);
    size_t total = (size_t)hl + len + 1;
    if (w->max_size > 0 && w->size > 0 && w->size + (int64_t)total > w->max_size &&
        rotate(w, err) < 0)
        return -1;
    struct piece {
        const void *b;
        size_t n;
    } parts[3] = {{head, (size_t)hl}, {msg, len}, {"\n", 1}};
    for (int i = 0; i < 3; i++) {
        const char *p = parts[i].b;
        size_t n = parts[i].n;
        while (n) {
            ssize_t k = write(w->fd, p, n);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                return ck_err_sys(err, errno, "write log %s", w->path);
            p += k;
            n -= (size_t)k;
        }
    }
    w->size += (int64_t)total;
    return 0;
}

int rt_log_write(struct rt_log_writer *w, enum rt_log_stream s, const char *data, size_t len,
                 struct ck_err *err)
{
    struct ck_buf *pb = &w->pending[s];
    while (len) {
        const char *nl = memchr(data, '\n', len);
        size_t seg = nl ? (size_t)(nl - data) : len;
        size_t room = RT_LOG_LINE_MAX - pb->len;
        if (seg >= room) { /* the line is too long: flush a P record of the limit */
            ck_buf_append(pb, data, room);
            if (emit(w, s, 'P', pb->data, pb->len, err) < 0)
                return -1;
            ck_buf_reset(pb);
            data += room;
            len -= room;
            continue;
        }
        if (!nl) {
            ck_buf_append(pb, data, seg);
            return 0;
        }
        int rc;
        if (pb->len) {
            ck_buf_append(pb, data, seg);
            rc = emit(w, s, 'F', pb->data, pb->len, err);
            ck_buf_reset(pb);
        } else {
            rc = emit(w, s, 'F', data, seg, err);
        }
        if (rc < 0)
            return -1;
        data += seg + 1;
        len -= seg + 1;
    }
    return 0;
}

int rt_log_flush(struct rt_log_writer *w, enum rt_log_stream s, struct ck_err *err)
{
    struct ck_buf *pb = &w->pending[s];
    if (!pb->len)
        return 0;
    int rc = emit(w, s, 'P', pb->data, pb->len, err);
    ck_buf_reset(pb);
    return rc;
}

void rt_log_close(struct rt_log_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    ck_buf_release(&w->pending[0]);
    ck_buf_release(&w->pending[1]);
    free(w->path);
    w->path = NULL;
}

int rt_log_parse_line(const char *line, size_t len, struct rt_log_record *rec)
{
    const char *sp1 = memchr(line, ' ', len);
    if (!sp1 || sp1 == line)
        return -1;
    rec->time = line;
    rec->time_len = (size_t)(sp1 - line);
    const char *p = sp1 + 1;
    size_t left = len - (size_t)(p - line);
    if (left >= 7 && !memcmp(p, "stdout ", 7))
        rec->stream = RT_LOG_STDOUT;
    else if (left >= 7 && !memcmp(p, "stderr ", 7))
        rec->stream = RT_LOG_STDERR;
    else
        return -1;
    p += 7;
    left -= 7;
    if (left < 1 || (*p != 'F' && *p != 'P'))
        return -1;
    rec->tag = *p;
    if (left == 1) {
        rec->msg = p + 1;
        rec->msg_len = 0;
        return 0;
    }
    if (p[1] != ' ')
        return -1;
    rec->msg = p + 2;
    rec->msg_len = left - 2;
    return 0;
}

/* ---- reading ------------------------------------------------------------------------- */

static int digits(const char *s, size_t n, size_t at, size_t cnt, int *out)
{
    int v = 0;
    if (at + cnt > n)
        return -1;
    for (size_t i = at; i < at + cnt; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int rt_log_parse_time(const char *s, size_t n, int64_t *ns)
{
    int Y, M, D, h, m, sec;
    if (digits(s, n, 0, 4, &Y) || n < 20 || s[4] != '-' || digits(s, n, 5, 2, &M) || s[7] != '-' ||
        digits(s, n, 8, 2, &D) || (s[10] != 'T' && s[10] != 't') || digits(s, n, 11, 2, &h) ||
        s[13] != ':' || digits(s, n, 14, 2, &m) || s[16] != ':' || digits(s, n, 17, 2, &sec) ||
        M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return -1;
    size_t i = 19;
    int64_t frac = 0;
    if (i < n && s[i] == '.') {
        int nd = 0;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, nd++)
            if (nd < 9)
                frac = frac * 10 + (s[i] - '0');
        if (!nd)
            return -1;
        for (; nd < 9; nd++)
            frac *= 10;
    }
    int64_t off = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        if (digits(s, n, i + 1, 2, &oh) || i + 3 >= n || s[i + 3] != ':' ||
            digits(s, n, i + 4, 2, &om))
            return -1;
        off = (s[i] == '-' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
        i += 6;
    } else {
        return -1;
    }
    if (i != n)
        return -1;
    int64_t t = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec - off;
    if (t < -9223372035LL || t > 9223372035LL) /* beyond int64 nanoseconds (years 1678..2262) */
        return -1;
    *ns = t * 1000000000LL + frac;
    return 0;
}

int64_t rt_log_tail_offset(int fd, int64_t n)
{
    struct stat st;
    if (n < 0 || fstat(fd, &st) < 0)
        return 0;
    /* the start is just after the (n+1)-th newline from the end; fewer: the whole file */
    int64_t pos = st.st_size, seen = 0;
    char buf[65536];
    while (pos > 0) {
        size_t chunk = pos < (int64_t)sizeof(buf) ? (size_t)pos : sizeof(buf);
        if (pread(fd, buf, chunk, pos - (int64_t)chunk) != (ssize_t)chunk)
            return 0;
        for (size_t i = chunk; i-- > 0;)
            if (buf[i] == '\n' && ++seen == n + 1)
                return pos - (int64_t)chunk + (int64_t)i + 1;
        pos -= (int64_t)chunk;
    }
    return 0;
}

struct rd {
    const struct rt_log_read_opts *o;
    rt_log_sink_fn sink;
    void *arg;
    int64_t written;
    bool stop;
};

/* Sends bytes through the limit; sets stop at the limit or when the sink refuses. */
static void out(struct rd *r, const char *p, size_t n)
{
    if (r->stop || !n)
        return;
    if (r->o->limit_bytes > 0 && r->written + (int64_t)n >= r->o->limit_bytes) {
        n = (size_t)(r->o->limit_bytes - r->written);
        r->stop = true;
    }
    r->written += (int64_t)n;
    if (n && r->sink(r->arg, p, n) != 0)
        r->stop = true;
}

/* One file line (no newline); complete says whether a newline ended it. */
static void emit_line(struct rd *r, const char *line, size_t len, bool complete)
{
    struct rt_log_record rec;
    if (rt_log_parse_line(line, len, &rec) < 0)
        return; /* upstream logs and skips lines it cannot parse */
    if (r->o->since_ns) {
        int64_t t;
        if (rt_log_parse_time(rec.time, rec.time_len, &t) < 0 || t < r->o->since_ns)
            return;
    }
    if (r->o->timestamps) {
        /* Go's RFC3339Nano drops trailing zeros of the fraction (and a bare '.') */
        char ts[64];
        size_t tl = rec.time_len < sizeof(ts) - 1 ? rec.time_len : sizeof(ts) - 1;
        memcpy(ts, rec.time, tl);
        char *dot = memchr(ts, '.', tl);
        if (dot) {
            char *e = dot + 1;
            while (e < ts + tl && *e >= '0' && *e <= '9')
                e++;
            char *z = e;
            while (z > dot + 1 && z[-1] == '0')
                z--;
            if (z == dot + 1)
                z = dot;
            memmove(z, e, (size_t)(ts + tl - e));
            tl -= (size_t)(e - z);
        }
        ts[tl++] = ' ';
        out(r, ts, tl);
    }
    out(r, rec.msg, rec.msg_len);
    if (rec.tag == 'F' && complete)
        out(r, "\n", 1);
}

/* Emits every complete line of buf; returns the bytes consumed. */
static size_t drain_lines(struct rd *r, const char *buf, size_t len)
{
    size_t off = 0;
    while (off < len && !r->stop) {
        const char *nl = memchr(buf + off, '\n', len - off);
        if (!nl)
            break;
        emit_line(r, buf + off, (size_t)(nl - buf - off), true);
        off = (size_t)(nl - buf) + 1;
    }
    return off;
}

int rt_log_read(const char *path, const struct rt_log_read_opts *o, rt_log_sink_fn sink,
                rt_log_alive_fn alive, void *arg, struct ck_err *err)
{
    struct rd r = {.o = o, .sink = sink, .arg = arg};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ck_err_sys(err, errno, "failed to open log file \"%s\"", path);
    if (o->tail_lines >= 0 && lseek(fd, rt_log_tail_offset(fd, o->tail_lines), SEEK_SET) < 0) {
        ck_err_sys(err, errno, "seek %s", path);
        close(fd);
        return -1;
    }
    struct ck_buf b = CK_BUF_INIT((size_t)RT_LOG_LINE_MAX * 4 + 65536);
    bool writer_gone = false;
    int poll_ms = o->poll_ms > 0 ? o->poll_ms : 100;
    while (!r.stop) {
        char *room = ck_buf_reserve(&b, 65536);
        ssize_t n = room ? read(fd, room, 65536) : -1;
        if (n < 0 && errno == EINTR)
            continue;
        if (!room) { /* a line longer than any record: drop it */
            ck_buf_reset(&b);
            continue;
        }
        if (n > 0) {
            b.len += (size_t)n;
            size_t used = drain_lines(&r, b.data, b.len);
            memmove(b.data, b.data + used, b.len - used);
            b.len -= used;
            continue;
        }
        if (n < 0) {
            ck_err_sys(err, errno, "failed to read log file \"%s\"", path);
            ck_buf_release(&b);
            close(fd);
            return -1;
        }
        /* EOF */
        if (!o->follow || writer_gone) {
            if (b.len)
                emit_line(&r, b.data, b.len, false); /* an incomplete last line */
            break;
        }
        struct stat a, p;
        if (stat(path, &p) == 0 && fstat(fd, &a) == 0 &&
            (a.st_ino != p.st_ino || a.st_dev != p.st_dev)) {
            int nfd = open(path, O_RDONLY | O_CLOEXEC); /* rotated: continue in the new file */
            if (nfd >= 0) {
                close(fd);
                fd = nfd;
                ck_buf_reset(&b);
                continue;
            }
        }
        if (alive && !alive(arg)) {
            writer_gone = true; /* read what is left, then end */
            continue;
        }
        usleep((useconds_t)poll_ms * 1000);
    }
    ck_buf_release(&b);
    close(fd);
    return 0;
}

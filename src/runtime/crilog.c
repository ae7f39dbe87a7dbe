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

/* SPDX-License-Identifier: Apache-2.0 */
/* CRI container log writer: "<RFC3339Nano> <stdout|stderr> <F|P> <text>\n" lines with size
 * rotation (path -> path.1 -> ... -> path.<max_files-1>). A line longer than the chunk limit,
 * or cut by a stream's end, is emitted as P (partial) records followed by an F record.
 * Single-threaded; one writer per log file. */
#ifndef CK_RT_CRILOG_H
#define CK_RT_CRILOG_H

#include "lib/buf.h"
#include "lib/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_LOG_LINE_MAX (16 * 1024) /* longest record body before splitting into P records */

enum rt_log_stream { RT_LOG_STDOUT = 0, RT_LOG_STDERR = 1 };

struct rt_log_writer {
    char *path;
    int fd;
    int64_t size;              /* bytes in the current file */
    int64_t max_size;          /* rotate when a write would pass this; 0 = never */
    int max_files;             /* files kept including the live one (>= 1) */
    struct ck_buf pending[2];  /* an unterminated line per stream */
    int64_t (*clock_ns)(void); /* realtime source; tests may replace it */
};

/* Opens (appending) path. max_size 0 disables rotation. */
int rt_log_open(struct rt_log_writer *w, const char *path, int64_t max_size, int max_files,
                struct ck_err *err);
/* Feeds raw bytes read from a stream: complete lines are written as F records at once,
 * the tail is kept until its newline arrives (or RT_LOG_LINE_MAX is reached: P record). */
int rt_log_write(struct rt_log_writer *w, enum rt_log_stream s, const char *data, size_t len,
                 struct ck_err *err);
/* At a stream's EOF: writes its pending tail as a P record (no newline was seen). */
int rt_log_flush(struct rt_log_writer *w, enum rt_log_stream s, struct ck_err *err);
/* Reopens the file at path (after someone renamed it away). */
int rt_log_reopen(struct rt_log_writer *w, struct ck_err *err);
void rt_log_close(struct rt_log_writer *w);

/* Parses one CRI log line (without its newline); fills the pieces (pointers into line). */
struct rt_log_record {
    const char *time;
    size_t time_len;
    enum rt_log_stream stream;
    char tag; /* 'F' or 'P' */
    const char *msg;
    size_t msg_len;
};
int rt_log_parse_line(const char *line, size_t len, struct rt_log_record *rec);

/* ---- reading (the kubelet's ReadLogs: pkg/kubelet/kuberuntime/logs) -------------------- */

/* Parses a CRI timestamp "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm)" into realtime ns; 0 or -1. */
int rt_log_parse_time(const char *s, size_t len, int64_t *ns);

struct rt_log_read_opts {
    int64_t tail_lines;  /* <0: the whole file; else the last N records (0: none) */
    int64_t since_ns;    /* realtime ns; records older are skipped (0: none) */
    int64_t limit_bytes; /* <=0: none; output (timestamps included) is cut at this many bytes */
    bool timestamps;     /* prefix each record with its time (RFC3339Nano) and a space */
    bool follow;         /* at EOF wait for more until alive() says the writer is gone */
    int poll_ms;         /* follow: how often to look for new bytes; 0: 100 */
};

/* Receives output bytes; a non-zero return stops the read (the client went away). */
typedef int (*rt_log_sink_fn)(void *arg, const char *data, size_t len);
/* follow: false once the container has exited (what it wrote is then drained and the read
 * ends) or the reader should stop. Called at most every poll_ms while idle. */
typedef bool (*rt_log_alive_fn)(void *arg);

/* Start offset of the last n lines of fd (upstream's tail.FindTailLineStartIndex: an
 * unterminated last line does not count); n < 0: 0. */
int64_t rt_log_tail_offset(int fd, int64_t n);

/* Reads the CRI log at path through sink, as the kubelet's ReadLogs: tail first, then since,
 * partial (P) records joined with the record that follows, timestamps re-formatted as Go's
 * RFC3339Nano, unparsable lines skipped. With follow, a rotated file (path replaced) is
 * drained and then reopened. Returns 0 when done (EOF, limit reached, sink stop, writer
 * gone), -1 with err when path cannot be read. */
int rt_log_read(const char *path, const struct rt_log_read_opts *o, rt_log_sink_fn sink,
                rt_log_alive_fn alive, void *arg, struct ck_err *err);

#endif

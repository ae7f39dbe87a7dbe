/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the CRI log reader (rt_log_read: tail, since, limit, timestamps, P/F
 * records, unparsable lines) and the timestamp parser. The first bytes pick the options, the
 * rest is the log file. Output must respect limitBytes; nothing may crash. */
#include "runtime/crilog.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(void *arg, const char *p, size_t n)
{
    size_t *total = arg;
    (void)p;
    *total += n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t ns;
    rt_log_parse_time((const char *)data, size, &ns);
    if (size < 3)
        return 0;
    struct rt_log_read_opts o = {
        .tail_lines = data[0] < 128 ? (int64_t)(data[0] % 8) : -1,
        .limit_bytes = data[1] < 64 ? 0 : (int64_t)(data[1] - 63),
        .timestamps = data[2] & 1,
        .since_ns = (data[2] & 2) ? 1767225600LL * 1000000000LL : 0, /* 2026-01-01 */
    };
    int fd = memfd_create("crilog", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (write(fd, data + 3, size - 3) != (ssize_t)(size - 3)) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    size_t total = 0;
    struct ck_err err = CK_ERR_INIT;
    rt_log_read(path, &o, sink, NULL, &total, &err);
    if (o.limit_bytes > 0 && total > (size_t)o.limit_bytes)
        __builtin_trap();
    close(fd);
    return 0;
}

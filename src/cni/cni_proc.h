/* SPDX-License-Identifier: Apache-2.0 */
/* Process helper shared by CNI and the runtime: spawn, feed stdin, capture, time out. */
#ifndef CK_CNI_PROC_H
#define CK_CNI_PROC_H

#include "lib/buf.h"
#include "lib/err.h"

#include <stddef.h>

/* Runs argv[0] (PATH lookup) with envp (NULL: inherit), writes in[0..inlen) to its stdin,
 * appends its stdout/stderr to out/errout (their ceilings apply: overflow kills the child
 * and fails with CK_R_TOO_LARGE). timeout_ms <= 0: no timeout; expiry kills it with
 * SIGKILL and fails with CK_R_TIMEOUT. On 0, *status is the waitpid status (the caller
 * judges the exit code). The child is always reaped. */
int cni_spawn_capture(const char *const *argv, char *const *envp, const char *in, size_t inlen,
                      int timeout_ms, struct ck_buf *out, struct ck_buf *errout, int *status,
                      struct ck_err *err);
/* "exit status 3" / "killed by signal 9" into buf. */
const char *cni_status_str(int status, char *buf, size_t n);

#endif

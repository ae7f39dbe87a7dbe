/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the store unit tests: temp data dirs and short put/get wrappers. */
#ifndef CK_STORE_TEST_UTIL_H
#define CK_STORE_TEST_UTIL_H

#include "store/store.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tu_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static inline void tu_rmrf(const char *dir)
{
    nftw(dir, tu_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static inline char *tu_tmpdir(void)
{
    char tmpl[] = "/tmp/ckstore-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    if (!d)
        abort();
    return strdup(d);
}

static inline struct store *tu_open(const char *dir, bool no_sync, struct ck_err *err)
{
    struct store_lmdb_opts o = {.dir = dir, .no_sync = no_sync};
    struct store *s = NULL;
    if (store_lmdb_open(&o, &s, err) < 0)
        return NULL;
    return s;
}

static inline int64_t tu_put(struct store *s, const char *k, const char *v)
{
    int64_t rev = -1;
    struct ck_err err = CK_ERR_INIT;
    if (store_put(s, k, strlen(k), v, strlen(v), STORE_ANY, &rev, NULL, &err) < 0) {
        fprintf(stderr, "put %s: %s\n", k, err.msg);
        return -1;
    }
    return rev;
}

#endif

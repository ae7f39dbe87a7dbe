/* SPDX-License-Identifier: Apache-2.0 */
/* Tightening a data dir's permissions (see perm.h). */
#include "lib/perm.h"

#include "lib/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/banned.h"

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

bool ck_perm_is_secret(const char *name)
{
    static const char *const exact[] = {"token", "join-command", "admin.conf", "kubeconfig",
                                        "kubeconfig.yaml"};
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (!strcmp(name, exact[i]))
            return true;
    return ends_with(name, ".key") || ends_with(name, ".pem") || ends_with(name, ".kubeconfig") ||
           ends_with(name, "-token") || ends_with(name, ".token");
}

/* Drops group/other bits of path (fd: an O_PATH-free stat); 1 when changed, 0 when not. */
static int tighten(const char *path, mode_t want)
{
    struct stat st;
    if (lstat(path, &st) < 0 || S_ISLNK(st.st_mode) || !(st.st_mode & 077))
        return 0;
    if (chmod(path, st.st_mode & want & 07777) < 0) {
        ck_warn("permissions: chmod %s: %s", path, strerror(errno));
        return 0;
    }
    ck_v(1, "permissions: tightened %s from %04o to %04o", path, st.st_mode & 07777,
         st.st_mode & want & 07777);
    return 1;
}

static int tighten_files(const char *dir, bool all)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || (!all && !ck_perm_is_secret(e->d_name)))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
            n += tighten(path, 0700);
    }
    closedir(d);
    return n;
}

int ck_perm_tighten_data_dir(const char *dir)
{
    char store[4096];
    int n = tighten(dir, 0700);
    int f = tighten_files(dir, false);
    if (f < 0)
        return -1;
    n += f;
    snprintf(store, sizeof(store), "%s/store", dir);
    struct stat st;
    if (lstat(store, &st) == 0 && S_ISDIR(st.st_mode)) {
        n += tighten(store, 0700);
        f = tighten_files(store, true);
        n += f > 0 ? f : 0;
    }
    return n;
}

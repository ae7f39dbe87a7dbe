/* SPDX-License-Identifier: Apache-2.0 */
/* hostPath volumes (upstream pkg/volume/hostpath checkType: the type check runs at SetUp, the
 * runtime bind-mounts the path itself) and the size of memory-backed emptyDirs (upstream
 * emptydir calculateEmptyDirMemorySize). */
#include "agent/agent_int.h"
#include "agent/volumes_int.h"
#include "k8s/podres.h"
#include "k8s/quantity.h"
#include "k8s/util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/banned.h"

int ag_hostpath_check(const char *path, const char *type, struct ck_err *err)
{
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (!*type)
        return 0;
    if (!strcmp(type, "DirectoryOrCreate")) {
        if (!exists) {
            if (ag_vol_mkdir_p(path, 0755) < 0)
                return ck_err_sys(err, errno, "mkdir %s", path);
            return 0;
        }
        type = "Directory";
    } else if (!strcmp(type, "FileOrCreate")) {
        if (!exists) {
            int fd = open(path, O_CREAT | O_RDONLY | O_CLOEXEC, 0644);
            if (fd < 0)
                return ck_err_sys(err, errno, "open %s", path);
            close(fd);
            return 0;
        }
        type = "File";
    }
    if (!strcmp(type, "Directory")) {
        if (!exists || !S_ISDIR(st.st_mode))
            return ck_err_set(err, CK_R_INVALID,
                              "hostPath type check failed: %s is not a directory", path);
    } else if (!strcmp(type, "File")) {
        if (!exists || S_ISDIR(st.st_mode))
            return ck_err_set(err, CK_R_INVALID, "hostPath type check failed: %s is not a file",
                              path);
    } else if (!strcmp(type, "Socket")) {
        if (!exists || !S_ISSOCK(st.st_mode))
            return ck_err_set(err, CK_R_INVALID,
                              "hostPath type check failed: %s is not a socket file", path);
    } else if (!strcmp(type, "CharDevice")) {
        if (!exists || !S_ISCHR(st.st_mode))
            return ck_err_set(err, CK_R_INVALID,
                              "hostPath type check failed: %s is not a character device", path);
    } else if (!strcmp(type, "BlockDevice")) {
        if (!exists || !S_ISBLK(st.st_mode))
            return ck_err_set(err, CK_R_INVALID,
                              "hostPath type check failed: %s is not a block device", path);
    } else {
        return ck_err_set(err, CK_R_INVALID, "%s is an invalid volume type", type);
    }
    return 0;
}

int64_t ag_tmpfs_size(const json_t *pod, const json_t *empty_dir, int64_t node_alloc_memory)
{
    int64_t size = node_alloc_memory > 0 ? node_alloc_memory : 0;
    /* the pod's memory limit counts only when every container has one */
    const json_t *cs = k8s_jpath(pod, "spec.containers");
    bool all = k8s_jlen(cs) > 0;
    for (size_t i = 0; i < k8s_jlen(cs) && all; i++)
        all = k8s_jpath(json_array_get(cs, i), "resources.limits.memory") != NULL;
    if (all) {
        struct k8s_reslist lim = {0};
        k8s_pod_limits(pod, NULL, &lim);
        int64_t m = k8s_reslist_value(&lim, "memory");
        k8s_reslist_release(&lim);
        if (m > 0 && (size == 0 || m < size))
            size = m;
    }
    struct k8s_quantity q;
    const json_t *sl = json_object_get(empty_dir, "sizeLimit");
    if (sl && k8s_quantity_from_json(sl, &q) == 0 && q.nano > 0) {
        int64_t s = k8s_quantity_value(&q);
        if (size == 0 || s < size)
            size = s;
    }
    return size;
}

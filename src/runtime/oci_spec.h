/* SPDX-License-Identifier: Apache-2.0 */
/* OCI runtime-spec config.json generation for one container (pure: no I/O except
 * rt_resolve_user, which reads the image's /etc/passwd and /etc/group). Defaults follow
 * containerd's: capability set, masked/readonly paths, /dev, /proc, /sys, shm, mqueue. */
#ifndef CK_RT_OCI_SPEC_H
#define CK_RT_OCI_SPEC_H

#include "runtime/runtime.h"

#include <jansson.h>
#include <stdint.h>

struct rt_oci_input {
    const char *const *argv;  /* NULL-terminated, non-empty */
    const char *const *env;   /* "K=V", NULL-terminated (may be NULL) */
    const char *cwd;          /* default "/" */
    uint32_t uid, gid;
    bool terminal;
    const char *hostname;
    const char *rootfs;       /* absolute path of the mounted rootfs */
    const char *netns_path;   /* join this netns; NULL: a new one */
    const char *cgroups_path; /* "/kubepods/pod<uid>/<id>" */
    const struct rt_resources *res; /* may be NULL */
    const char *hosts_file, *resolv_file, *hostname_file; /* bind-mounted when non-NULL */
    const struct rt_mount *mounts;
    size_t nmounts;
    bool privileged;
    bool host_network;        /* share the host's network and UTS namespaces */
    const char *ipc_ns_path;  /* the pod's IPC namespace; NULL: a new one */
    const char *shm_path;     /* the pod's /dev/shm tmpfs to bind; NULL: a private tmpfs */
};

/* Returns a new config.json document (caller json_decref's it). */
json_t *rt_oci_spec(const struct rt_oci_input *in);

/* Resolves an image "user" string ("", "uid", "uid:gid", "name", "name:group") against the
 * passwd/group files found in the layer dirs (searched from the last = top layer down).
 * Returns 0, or -1 (CK_R_INVALID) for an unknown name. */
int rt_resolve_user(const char *user, char *const *layers, size_t nlayers, uint32_t *uid,
                    uint32_t *gid, struct ck_err *err);

#endif

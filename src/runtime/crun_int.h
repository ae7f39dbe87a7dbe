/* SPDX-License-Identifier: Apache-2.0 */
/* Internals of the crun backend, shared by crun_*.c. On-disk layout under root:
 *   sandboxes/<id>/{sandbox.json,hosts,resolv.conf,hostname}
 *   containers/<id>/{container.json,bundle/config.json,bundle/rootfs,upper,work,
 *                    exit.json,shim.pid,init.pid,crun.log,shim.log[,container.log]}
 *   crun/ (crun --root state), cni-cache/, cni/ckube.conflist (generated default) */
#ifndef CK_RT_CRUN_INT_H
#define CK_RT_CRUN_INT_H

#include "cni/cni.h"
#include "lib/buf.h"
#include "runtime/runtime.h"

#include <jansson.h>
#include <pthread.h>
#include <sys/types.h>

struct img_store;

struct rt_crun {
    struct runtime base;
    char *root;
    char *crun;
    char *netns_dir;
    char *plugin_dir;
    char *image_root;
    struct cni_net *net;
    struct img_store *img; /* opened on first use, under mu */
    pthread_mutex_t mu;
};

static inline struct rt_crun *crun_of(struct runtime *rt)
{
    return (struct rt_crun *)rt;
}

/* Everything the shim needs; strings borrowed from the caller for the fork. */
struct rt_shim_args {
    const char *crun;
    const char *crun_root;
    const char *id;
    const char *dir;        /* containers/<id> */
    const char *lowerdir;   /* overlay lowerdir option value (top first) */
    const char *log_path;
    const char *cgroups_path;
    bool stdin_; /* the container's stdin is a pipe the shim holds for attach (else /dev/null) */
};

/* The shim's attach socket: <dir>/attach.sock. Frames both ways: 1 byte type, 4 bytes
 * big-endian length, payload (<= RT_ATTACH_MAX_FRAME). Shim to client: type 1 stdout, 2
 * stderr; client to shim: 0 stdin bytes. The shim closes its clients when the container
 * exits; a client that does not keep up is disconnected (the container never waits). */
#define RT_ATTACH_MAX_FRAME 65536
int rt_crun_attach(struct runtime *rt, const char *id, bool want_stdin, struct rt_exec_session *s,
                   struct ck_err *err);

/* Forks the detached shim, which mounts the rootfs, runs `crun create` and then owns the
 * container's stdio (CRI log) and exit status (exit.json). Returns 0 once the container is
 * created (init pid in *init_pid), or -1 with crun's message. */
int rt_shim_launch(const struct rt_shim_args *a, pid_t *shim_pid, pid_t *init_pid,
                   struct ck_err *err);

/* Runs crun with args (NULL-terminated, after the global options); nonzero exit is an error
 * carrying crun's stderr. out may be NULL. */
int rt_crun_cmd(struct rt_crun *c, const char *const *args, int timeout_ms, struct ck_buf *out,
                struct ck_err *err);

/* JSON file helpers: atomic write (tmp + rename), and load. */
int rt_json_write(const char *path, json_t *doc, struct ck_err *err);
json_t *rt_json_read(const char *path, struct ck_err *err);
/* rm -rf (does not cross mount points: refuses to descend into a mounted dir). */
int rt_rmtree(const char *path);
int rt_mkdirs(const char *path, mode_t mode);
/* Writes a whole small file atomically. */
int rt_write_file(const char *path, const char *data, size_t len, struct ck_err *err);
/* Removes <hier>/<cgpath> in every cgroup v1 hierarchy (and unified), ignoring absence. */
void rt_cgroup_rmdir_all(const char *cgpath);
/* Reads a single integer from /sys/fs/cgroup/<ctrl>/<cgpath>/<file>; -1 if unreadable. */
int64_t rt_cgroup_read_int(const char *ctrl, const char *cgpath, const char *file);
/* Reads "key value" from a flat-keyed cgroup file; -1 if absent. */
int64_t rt_cgroup_read_key(const char *ctrl, const char *cgpath, const char *file,
                           const char *key);

/* Status helpers of the crun backend. */
char *rt_sandbox_dir(struct rt_crun *c, const char *id);
char *rt_container_dir(struct rt_crun *c, const char *id);
int rt_valid_id(const char *id);
/* Fills kv arrays from a JSON object of strings (owned copies). */
void rt_kv_from_json(json_t *obj, struct rt_kv **out, size_t *n);
json_t *rt_kv_to_json(const struct rt_kv *kv, size_t n);
void rt_kv_free(struct rt_kv *kv, size_t n);

/* Container ops used by the sandbox ops. */
int rt_crun_container_ids(struct rt_crun *c, const char *sandbox_id, char ***ids, size_t *n);
int rt_crun_stop_container(struct runtime *rt, const char *id, int timeout_s, struct ck_err *err);
int rt_crun_remove_container(struct runtime *rt, const char *id, struct ck_err *err);
void rt_strv_free(char **v);

/* Sandbox ops. */
int rt_crun_run_pod_sandbox(struct runtime *rt, const struct rt_sandbox_config *cfg,
                            char id[RT_ID_MAX], struct ck_err *err);
int rt_crun_stop_pod_sandbox(struct runtime *rt, const char *id, struct ck_err *err);
int rt_crun_remove_pod_sandbox(struct runtime *rt, const char *id, struct ck_err *err);
int rt_crun_pod_sandbox_status(struct runtime *rt, const char *id, struct rt_sandbox_status *st,
                               struct ck_err *err);
int rt_crun_list_pod_sandboxes(struct runtime *rt, struct rt_sandbox_status **out, size_t *n,
                               struct ck_err *err);
/* Loads sandbox.json (NULL + CK_R_NOT_FOUND if absent). */
json_t *rt_crun_sandbox_load(struct rt_crun *c, const char *id, struct ck_err *err);

/* Container ops (crun_container.c / crun_exec.c). */
int rt_crun_create_container(struct runtime *rt, const char *sandbox_id,
                             const struct rt_container_config *cc, char id[RT_ID_MAX],
                             struct ck_err *err);
int rt_crun_start_container(struct runtime *rt, const char *id, struct ck_err *err);
int rt_crun_container_status(struct runtime *rt, const char *id, struct rt_container_status *st,
                             struct ck_err *err);
int rt_crun_list_containers(struct runtime *rt, const struct rt_container_filter *f,
                            struct rt_container_status **out, size_t *n, struct ck_err *err);
int rt_crun_exec_sync(struct runtime *rt, const char *id, const char *const *argv, int timeout_s,
                      int *exit_code, char **out, size_t *out_len, char **errout,
                      size_t *errout_len, struct ck_err *err);
int rt_crun_exec(struct runtime *rt, const char *id, const char *const *argv, bool tty,
                 bool want_stdin, struct rt_exec_session *s, struct ck_err *err);
int rt_crun_exec_wait(struct runtime *rt, struct rt_exec_session *s, int *exit_code,
                      struct ck_err *err);
int rt_crun_reopen_log(struct runtime *rt, const char *id, struct ck_err *err);
int rt_crun_stats(struct runtime *rt, const char *id, struct rt_stats *st, struct ck_err *err);
int rt_crun_update(struct runtime *rt, const char *id, const struct rt_resources *r,
                   struct ck_err *err);
int rt_crun_port_forward(struct runtime *rt, const char *sandbox_id, int port, int *fd,
                         struct ck_err *err);

#endif

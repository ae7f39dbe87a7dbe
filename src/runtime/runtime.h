/* SPDX-License-Identifier: Apache-2.0 */
/* The container runtime interface (CRI-shaped): pod sandboxes and containers behind a vtable.
 * Two backends: runtime_crun_ops (real OCI containers via the crun CLI, one small shim per
 * container that owns logs and the exit status) and runtime_hollow_ops (no processes:
 * simulated state transitions for many fake nodes in one process).
 * Every call is synchronous and fills a caller-owned struct ck_err on failure. */
#ifndef CK_RUNTIME_H
#define CK_RUNTIME_H

#include "lib/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_ID_MAX 65 /* ids are 32 lowercase hex chars (+NUL); room for 64 */

enum rt_sandbox_state { RT_SANDBOX_READY = 0, RT_SANDBOX_NOTREADY = 1 };
enum rt_container_state {
    RT_CONTAINER_CREATED = 0,
    RT_CONTAINER_RUNNING = 1,
    RT_CONTAINER_EXITED = 2,
    RT_CONTAINER_UNKNOWN = 3,
};
const char *rt_sandbox_state_str(enum rt_sandbox_state s);   /* "SANDBOX_READY", ... */
const char *rt_container_state_str(enum rt_container_state s); /* "CONTAINER_RUNNING", ... */

/* A string key/value pair (labels, annotations, env). */
struct rt_kv {
    const char *key;
    const char *value;
};

struct rt_port_mapping {
    const char *protocol; /* "tcp" (default) / "udp" / "sctp" */
    int container_port;
    int host_port; /* 0: no host port (nothing to map) */
    const char *host_ip;
};

struct rt_sandbox_config {
    const char *name;
    const char *namespace_;
    const char *uid;
    unsigned attempt;
    const char *hostname;      /* default: name */
    const char *log_directory; /* may be NULL */
    const char *const *dns_servers; /* NULL-terminated; NULL: copy the host's resolv.conf */
    const char *const *dns_searches;
    const char *const *dns_options;
    const struct rt_port_mapping *ports;
    size_t nports;
    const char *cgroup_parent; /* default "/kubepods/pod<uid>" */
    const struct rt_kv *labels;
    size_t nlabels;
    const struct rt_kv *annotations;
    size_t nannotations;
    bool host_network; /* hostNetwork pod: no netns, no CNI, host UTS namespace */
};

struct rt_mount {
    const char *host_path;
    const char *container_path;
    bool readonly;
};

struct rt_resources {
    int64_t cpu_shares;      /* 0: unset */
    int64_t cpu_quota;       /* 0: unset; microseconds per period */
    int64_t cpu_period;      /* 0: unset (100000) */
    int64_t memory_limit;    /* bytes, 0: unset */
    int64_t pids_limit;      /* 0: unset */
};

struct rt_container_config {
    const char *name;
    unsigned attempt;
    const char *image;               /* reference or id as img_resolve accepts, or "dir:/abs/rootfs" */
    const char *const *command;      /* NULL-terminated; overrides the image Entrypoint */
    const char *const *args;         /* NULL-terminated; overrides the image Cmd */
    const struct rt_kv *env;
    size_t nenv;
    const char *working_dir;
    const struct rt_mount *mounts;
    size_t nmounts;
    struct rt_resources resources;
    const char *log_path;            /* absolute; default <root>/containers/<id>/container.log */
    bool tty;                        /* the crun backend refuses it (CK_R_INVALID) */
    bool stdin_;
    bool privileged;
    int64_t run_as_user;             /* -1: image user */
    const struct rt_kv *labels;
    size_t nlabels;
    const struct rt_kv *annotations;
    size_t nannotations;
};

/* Status snapshots: plain copies, owned by the caller. Label/annotation arrays are
 * heap-allocated: release with rt_sandbox_status_release / rt_container_status_release. */
struct rt_sandbox_status {
    char id[RT_ID_MAX];
    char name[256];
    char namespace_[256];
    char uid[128];
    unsigned attempt;
    enum rt_sandbox_state state;
    char ip[64];           /* first IP from CNI, "" if none */
    char netns[256];       /* netns path, "" once torn down */
    int64_t created_ns;    /* realtime ns */
    struct rt_kv *labels;  /* owned strings */
    size_t nlabels;
    struct rt_kv *annotations;
    size_t nannotations;
};

struct rt_container_status {
    char id[RT_ID_MAX];
    char sandbox_id[RT_ID_MAX];
    char name[256];
    unsigned attempt;
    char image[512];       /* the reference asked for */
    char image_id[160];    /* resolved id ("sha256:..."), or the rootfs dir */
    enum rt_container_state state;
    int exit_code;
    char reason[32];       /* "Completed" / "Error" / "OOMKilled" once exited */
    char message[256];
    int64_t created_ns, started_ns, finished_ns; /* realtime ns, 0 = not yet */
    int pid;               /* host pid while running, else 0 */
    char log_path[512];
    struct rt_kv *labels;
    size_t nlabels;
    struct rt_kv *annotations;
    size_t nannotations;
};

struct rt_container_filter {
    const char *sandbox_id; /* NULL: any */
    int state;              /* -1: any, else enum rt_container_state */
};

struct rt_stats {
    int64_t timestamp_ns;
    uint64_t cpu_usage_ns;          /* cumulative */
    uint64_t memory_usage_bytes;
    uint64_t memory_working_set_bytes; /* usage - inactive_file */
    uint64_t memory_limit_bytes;    /* 0: unlimited */
    uint64_t pids;
};

/* A running streaming exec: the caller reads/writes the fds and calls exec_wait. */
struct rt_exec_session {
    int pid;        /* the crun exec process (or -1 for hollow) */
    int stdin_fd;   /* -1 when not requested; with tty: the pty master (stdin=stdout) */
    int stdout_fd;
    int stderr_fd;  /* -1 with tty */
    bool tty;
    void *priv;     /* backend state (attach: the relay), NULL for exec */
};

struct runtime;

struct runtime_ops {
    const char *name; /* "crun" / "hollow" */
    int version;

    /* sandboxes */
    int (*run_pod_sandbox)(struct runtime *rt, const struct rt_sandbox_config *c,
                           char id[RT_ID_MAX], struct ck_err *err);
    int (*stop_pod_sandbox)(struct runtime *rt, const char *id, struct ck_err *err);
    int (*remove_pod_sandbox)(struct runtime *rt, const char *id, struct ck_err *err);
    int (*pod_sandbox_status)(struct runtime *rt, const char *id, struct rt_sandbox_status *st,
                              struct ck_err *err);
    /* *out is a malloc'd array of *n statuses; free with rt_sandbox_list_free. */
    int (*list_pod_sandboxes)(struct runtime *rt, struct rt_sandbox_status **out, size_t *n,
                              struct ck_err *err);

    /* containers */
    int (*create_container)(struct runtime *rt, const char *sandbox_id,
                            const struct rt_container_config *c, char id[RT_ID_MAX],
                            struct ck_err *err);
    int (*start_container)(struct runtime *rt, const char *id, struct ck_err *err);
    /* SIGTERM, then SIGKILL after timeout_s (0: KILL at once). Idempotent on exited ones. */
    int (*stop_container)(struct runtime *rt, const char *id, int timeout_s, struct ck_err *err);
    int (*remove_container)(struct runtime *rt, const char *id, struct ck_err *err);
    int (*container_status)(struct runtime *rt, const char *id, struct rt_container_status *st,
                            struct ck_err *err);
    int (*list_containers)(struct runtime *rt, const struct rt_container_filter *f,
                           struct rt_container_status **out, size_t *n, struct ck_err *err);
    /* Runs argv (NULL-terminated) in the container; collects stdout/stderr (each capped at
     * 16 MiB, malloc'd, NUL-terminated; caller frees). timeout_s 0 = none. Returns 0 with
     * *exit_code set, or <0 (CK_R_TIMEOUT when the timeout expired: the process is killed). */
    int (*exec_sync)(struct runtime *rt, const char *id, const char *const *argv, int timeout_s,
                     int *exit_code, char **out, size_t *out_len, char **errout,
                     size_t *errout_len, struct ck_err *err);
    /* Starts argv in the container and hands the caller its fds (see rt_exec_session). */
    int (*exec)(struct runtime *rt, const char *id, const char *const *argv, bool tty,
                bool want_stdin, struct rt_exec_session *s, struct ck_err *err);
    /* Attaches to the running container's main process (kubectl attach): its stdout and
     * stderr from now on arrive on the session's fds, and with want_stdin (and a container
     * created with stdin_) bytes written to stdin_fd reach its stdin. pid is -1; the fds reach
     * EOF when the container exits. End it with exec_wait (exit code 0). */
    int (*attach)(struct runtime *rt, const char *id, bool want_stdin, struct rt_exec_session *s,
                  struct ck_err *err);
    /* Waits for a streaming exec to end; closes its fds; returns 0 with *exit_code. */
    int (*exec_wait)(struct runtime *rt, struct rt_exec_session *s, int *exit_code,
                     struct ck_err *err);
    /* Makes the container's log writer reopen its log file (after the kubelet rotated it). */
    int (*reopen_container_log)(struct runtime *rt, const char *id, struct ck_err *err);
    int (*container_stats)(struct runtime *rt, const char *id, struct rt_stats *st,
                           struct ck_err *err);
    int (*update_container_resources)(struct runtime *rt, const char *id,
                                      const struct rt_resources *r, struct ck_err *err);

    void (*close)(struct runtime *rt);

    /* Connects to 127.0.0.1:port inside the sandbox's network namespace (kubectl
     * port-forward); *fd is a connected TCP socket owned by the caller. */
    int (*port_forward)(struct runtime *rt, const char *sandbox_id, int port, int *fd,
                        struct ck_err *err);
};

/* Base of every backend handle: backends embed it first. */
struct runtime {
    const struct runtime_ops *ops;
};

/* ---- crun backend ----------------------------------------------------------------- */
struct rt_crun_opts {
    const char *root;       /* state root; default /var/lib/ckube/runtime */
    const char *crun_path;  /* default "crun" from PATH */
    const char *cni_conflist; /* path of a .conflist; NULL: the generated default bridge */
    const char *cni_plugin_dir; /* default /usr/lib/cni */
    const char *netns_dir;  /* default /run/netns */
    const char *image_root; /* image store root (img_store_open); NULL: <root>/../images */
};
extern const struct runtime_ops runtime_crun_ops;
/* Opens (creating dirs as needed) the crun backend. Returns NULL with err filled. Calls on
 * different sandboxes/containers may run concurrently from several threads; calls on the
 * same object must be serialised by the caller (as the kubelet's per-pod workers do). */
struct runtime *rt_crun_open(const struct rt_crun_opts *o, struct ck_err *err);

/* ---- hollow backend --------------------------------------------------------------- */
/* Container behaviour in the hollow runtime is read from its command+args:
 *   "exit N"       -> exits with code N right after start
 *   "sleep S"      -> runs S seconds (fractional ok) then exits 0
 *   "oom"          -> exits 137 with reason OOMKilled after start
 *   anything else  -> runs until stopped.
 * Containers with a stop signal exit 137 (timeout 0) or 143. */
struct rt_hollow_opts {
    int64_t start_delay_ms;     /* CREATED->RUNNING appears this long after start (0) */
    int64_t stop_delay_ms;      /* time from stop to EXITED (0) */
    int64_t (*clock_ns)(void *arg); /* realtime ns; NULL: the real clock. For tests. */
    void *clock_arg;
    const char *pod_cidr;       /* IP range for sandboxes, default "10.244.0.0/16" */
};
extern const struct runtime_ops runtime_hollow_ops;
struct runtime *rt_hollow_open(const struct rt_hollow_opts *o, struct ck_err *err);

/* ---- helpers ---------------------------------------------------------------------- */
void rt_sandbox_status_release(struct rt_sandbox_status *st);
void rt_container_status_release(struct rt_container_status *st);
void rt_sandbox_list_free(struct rt_sandbox_status *v, size_t n);
void rt_container_list_free(struct rt_container_status *v, size_t n);
/* Closes the handle (NULL ok). */
void rt_close(struct runtime *rt);
/* Fills id with 32 random lowercase hex chars. */
void rt_new_id(char id[RT_ID_MAX]);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* The node image store: pulls images over the Docker Registry HTTP API v2 (or imports OCI
 * layouts), verifies every digest, keeps manifests/configs content-addressed under
 * <root>/blobs/sha256/<hex> and each layer unpacked once under <root>/layers/<diffid-hex>/
 * (overlay whiteouts already converted). Tags, digests and last use live in <root>/images.json.
 * All functions are thread-safe and multi-process safe on the same root (flock). */
#ifndef CK_IMAGE_H
#define CK_IMAGE_H

#include "lib/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "sha256:" + 64 hex + NUL. */
#define IMG_ID_MAX 72

struct img_store;

/* Opens (creating if needed) the store at root; removes staging dirs left by dead processes.
 * *out is owned by the caller: release it with img_store_close. */
int img_store_open(const char *root, struct img_store **out, struct ck_err *err);
void img_store_close(struct img_store *s);
/* The canonical (realpath'd) root; borrowed, valid until img_store_close. */
const char *img_store_root(const struct img_store *s);

struct img_pull_opts {
    bool insecure_http;        /* talk plain http:// to the registry (default https://) */
    bool insecure_skip_verify; /* https without certificate verification */
    const char *ca_file;       /* extra CA bundle for https, or NULL */
    const char *username;      /* basic credentials (also sent to the bearer token realm) */
    const char *password;
    int timeout_s;             /* per HTTP request; 0 = 300 s */
    const char *platform_os;   /* NULL = "linux" */
    const char *platform_arch; /* NULL = this machine's GOARCH ("amd64", "arm64", ...) */
    const char *cert_file;     /* TLS client certificate + key (PEM), or NULL */
    const char *key_file;
    /* Mirrors and per-host TLS/credentials (img_registries_load), or NULL. The username and
     * password above (a pod's pull secret) go to the reference's own registry only; mirrors
     * use the credentials of their configs entry. */
    const struct img_registries *registries;
};

/* The registries file (k3s's registries.yaml: `mirrors: {HOST: {endpoint: [URL...]}}`,
 * `configs: {HOST: {tls: {insecure_skip_verify, ca_file, cert_file, key_file}, auth:
 * {username, password, auth}}}`; HOST "*" matches every registry without its own entry).
 * A pull tries the mirror endpoints in order, then the registry itself. An endpoint
 * "http://..." is plain HTTP; without a scheme it is https (http for a loopback host on a
 * port other than 443). Loads path; a missing file is no configuration (*out = NULL, 0)
 * unless must_exist. CK_R_BAD_REQUEST for malformed YAML or a field of the wrong type. */
#define IMG_REGISTRIES_DEFAULT "/etc/ckube/registries.yaml"
struct img_registries;
int img_registries_load(const char *path, bool must_exist, struct img_registries **out,
                        struct ck_err *err);
int img_registries_parse(const char *text, size_t len, struct img_registries **out,
                         struct ck_err *err);
void img_registries_free(struct img_registries *rc);

/* Pulls ref ("127.0.0.1:5000/probe/busybox:1.35", "registry/name@sha256:...", docker.io short
 * names normalised: "busybox" = "docker.io/library/busybox:latest"). o may be NULL (defaults).
 * Verifies manifest, config and layer digests (and diff_ids against the uncompressed tar),
 * unpacks each layer once, then records the tag and repo digest. On success writes the image
 * id (config digest "sha256:<hex>") into id_out. On failure nothing new is left in the store.
 * Errors: CK_R_BAD_REQUEST bad reference; CK_R_NOT_FOUND image/tag/blob absent;
 * CK_R_CORRUPT digest mismatch or malformed manifest/layer; CK_R_UNAUTHORIZED/FORBIDDEN;
 * CK_R_SERVICE_UNAVAILABLE registry unreachable or 5xx; CK_R_TIMEOUT; CK_R_IO local disk. */
int img_pull(struct img_store *s, const char *ref, const struct img_pull_opts *o,
             char id_out[IMG_ID_MAX], struct ck_err *err);

/* Credentials for ref from a Docker config JSON, as in a kubernetes.io/dockerconfigjson
 * ({"auths":{KEY:{...}}}) or legacy kubernetes.io/dockercfg ({KEY:{...}}) pull secret.
 * KEY is a host ("127.0.0.1:5000", "*.example.com" matches one label), optionally with a
 * scheme and a path prefix ("https://reg.io/team"; "/v1/" and "/v2/" are ignored); docker.io
 * also matches "https://index.docker.io/v1/". The longest matching key wins. An entry holds
 * "auth" (base64 "user:pass") or "username" + "password". Returns 1 with *user and *pass set
 * (caller frees both), 0 when nothing matches, -1 (CK_R_BAD_REQUEST) for malformed JSON. */
int img_auth_lookup(const char *docker_config, size_t len, const char *ref, char **user,
                    char **pass, struct ck_err *err);

/* Imports an OCI image layout (a directory, or a tar/tar.gz of one) and tags it as ref
 * (NULL = no tag). The manifest chosen: the index entry annotated
 * org.opencontainers.image.ref.name == ref's tag, else the only entry, else linux/<arch>. */
int img_import_oci(struct img_store *s, const char *oci_layout_dir_or_archive, const char *ref,
                   char id_out[IMG_ID_MAX], struct ck_err *err);

/* One image an import recorded. */
struct img_imported {
    char id[IMG_ID_MAX];
    char *ref; /* the tag recorded ("docker.io/library/busybox:latest"); NULL: untagged */
};
/* Imports a docker-archive (what `docker save` and skopeo's docker-archive: write: a tar with
 * manifest.json, image configs and layer tars; one or several images, each with its
 * RepoTags) or an OCI image layout (as img_import_oci), a directory or a tar (gzip, zstd and
 * xz detected). For a docker-archive, ref NULL imports every image under all its RepoTags;
 * with ref only the image whose RepoTags hold ref, or, in an archive of one image, that image
 * tagged ref. Layers are verified against the configs' diff_ids. No repo digest is recorded
 * for a docker-archive (it carries no registry manifest). *out (caller-owned,
 * img_imported_free) lists each tag recorded (an untagged image once, ref NULL).
 * CK_R_BAD_REQUEST: neither format; CK_R_NOT_FOUND: ref not in the archive. */
int img_import(struct img_store *s, const char *path, const char *ref, struct img_imported **out,
               size_t *n, struct ck_err *err);
void img_imported_free(struct img_imported *v, size_t n);

/* One image as the CRI ListImages reports it. All strings are owned by the array. */
struct img_info {
    char id[IMG_ID_MAX];
    char **repo_tags; /* "127.0.0.1:5000/probe/busybox:1.35" */
    size_t ntags;
    char **repo_digests; /* "127.0.0.1:5000/probe/busybox@sha256:<manifest>" */
    size_t ndigests;
    int64_t size;      /* config + compressed layer sizes, bytes */
    int64_t last_used; /* unix seconds (pull time until img_touch) */
    int64_t created;   /* unix seconds the image entered this store */
};

/* *out is a caller-owned array of *n entries (sorted by id); free with img_info_free. */
int img_list(struct img_store *s, struct img_info **out, size_t *n, struct ck_err *err);
void img_info_free(struct img_info *v, size_t n);
/* Looks up one image (same accepted forms as img_resolve); free with img_info_free(info, 1). */
int img_inspect(struct img_store *s, const char *ref_or_id, struct img_info **info,
                struct ck_err *err);

/* Accepts a full id "sha256:<hex>", a bare hex id or unique hex prefix (>= 4 chars), a tag
 * ("busybox", "127.0.0.1:5000/a/b:1") or a repo digest ("name@sha256:..."). Writes the id.
 * CK_R_NOT_FOUND if absent, CK_R_BAD_REQUEST if unparsable. */
int img_resolve(struct img_store *s, const char *ref_or_id, char id_out[IMG_ID_MAX],
                struct ck_err *err);

/* The parts of the image config a runtime needs. Every pointer is owned by the struct:
 * release with img_config_release (which leaves it zeroed). Absent fields are NULL/0. */
struct img_config {
    char **entrypoint;
    size_t nentrypoint;
    char **cmd;
    size_t ncmd;
    char **env; /* "K=V" */
    size_t nenv;
    char *working_dir;
    char *user; /* "uid", "uid:gid", "name", ... as written in the image */
    char *stop_signal;
    char **exposed_ports; /* "80/tcp" */
    size_t nexposed_ports;
};

/* Reads image id's config and its unpacked layer dirs, LOWEST FIRST (absolute paths).
 * overlay's lowerdir lists the highest first: reverse them. cfg may be NULL.
 * *layer_dirs (may be NULL if not wanted) is a caller-owned NULL-terminated array:
 * free with img_strv_free. Does not update last use (call img_touch). */
int img_get(struct img_store *s, const char *id, struct img_config *cfg, char ***layer_dirs,
            size_t *nlayers, struct ck_err *err);
void img_config_release(struct img_config *c);
/* The overlayfs "lowerdir" option value for image id: its layer dirs HIGHEST first, joined by
 * ':' (caller frees *out). CK_R_TOO_LARGE past 3500 bytes (the mount data is one page);
 * CK_R_BAD_REQUEST if the store root holds ':' or ','; CK_R_INVALID for a 0-layer image. */
int img_lowerdir(struct img_store *s, const char *id, char **out, struct ck_err *err);
/* Frees a NULL-terminated string array returned by this module. */
void img_strv_free(char **v);

/* Kubernetes' rule: command overrides Entrypoint (and drops Cmd), args override Cmd.
 * *argv_out is a caller-owned NULL-terminated array (img_strv_free). An empty result is
 * CK_R_INVALID ("no command specified"). */
int img_merge_command(const struct img_config *c, char *const *command, size_t ncommand,
                      char *const *args, size_t nargs, char ***argv_out, size_t *argc_out,
                      struct ck_err *err);

/* By id (or unique prefix): removes the image and all its tags. By tag: removes that tag,
 * and the image once no tag is left. Unreferenced blobs and layer dirs are deleted.
 * CK_R_NOT_FOUND if absent. */
int img_remove(struct img_store *s, const char *ref_or_id, struct ck_err *err);
/* Removes every image whose last use is < older_than_unix and whose id is not in in_use_ids
 * (full ids), then deletes unreferenced blobs/layers. Returns the number removed, or <0. */
int img_gc(struct img_store *s, int64_t older_than_unix, const char *const *in_use_ids,
           size_t nin_use, struct ck_err *err);
/* Records a use now (id or ref). Returns 0, or -1 if the image is unknown. */
int img_touch(struct img_store *s, const char *id);

#endif

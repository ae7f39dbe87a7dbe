/* SPDX-License-Identifier: Apache-2.0 */
/* What only src/image/ shares (and its unit tests and fuzzers use): reference parsing,
 * digests, manifest/config parsing, the registry client, layer unpacking, the JSON index. */
#ifndef CK_IMAGE_INT_H
#define CK_IMAGE_INT_H

#include "image/image.h"
#include "lib/buf.h"

#include <jansson.h>
#include <openssl/evp.h>

/* Ceilings: no registry or layout can make us hold more than this in memory. */
#define IMG_MANIFEST_MAX (4u << 20)
#define IMG_CONFIG_MAX (8u << 20)
#define IMG_MAX_LAYERS 256

/* ---- references (ref.c) ---------------------------------------------------------------- */

/* A normalised reference: "busybox" -> {docker.io, library/busybox, latest, NULL}. */
struct img_ref {
    char *domain; /* "docker.io", "127.0.0.1:5000", "localhost" */
    char *path;   /* "library/busybox" */
    char *tag;    /* NULL when only a digest was given */
    char *digest; /* "sha256:<hex>" or NULL */
};

/* Parses and normalises s (docker's rules: the first component is a registry when it holds
 * '.' or ':' or is "localhost"; else docker.io, and a single component gets "library/").
 * "latest" is the default tag when neither tag nor digest is given. CK_R_BAD_REQUEST on bad
 * syntax (upper case repository, bad tag, bad digest, empty parts). r is zeroed on failure. */
int img_ref_parse(const char *s, struct img_ref *r, struct ck_err *err);
void img_ref_release(struct img_ref *r);
/* "domain/path" (caller frees). */
char *img_ref_name(const struct img_ref *r);
/* "domain/path:tag" if tagged else "domain/path@digest" (caller frees). */
char *img_ref_string(const struct img_ref *r);
/* Host to contact: docker.io -> registry-1.docker.io, else domain (borrowed). */
const char *img_ref_host(const struct img_ref *r);

/* ---- digests (digest.c) ---------------------------------------------------------------- */

/* "sha256:" + 64 lower-case hex. */
bool img_digest_valid(const char *d);
/* Writes "sha256:<hex>" of p[0..n) into out. */
void img_digest_of(const void *p, size_t n, char out[IMG_ID_MAX]);
/* Compares the sha256 of p[0..n) with want; CK_R_CORRUPT on mismatch. */
int img_digest_check(const void *p, size_t n, const char *want, const char *what,
                     struct ck_err *err);

/* A hashing, size-capped file writer: everything fetched goes through one. */
struct img_sink {
    int fd; /* -1: hash only */
    EVP_MD_CTX *md;
    int64_t written;
    int64_t limit; /* hard ceiling on bytes accepted */
    int failed_errno;
};
void img_sink_init(struct img_sink *k, int fd, int64_t limit);
/* Returns 0, or -1 (with k->failed_errno set: EFBIG past limit, else write's errno). */
int img_sink_write(struct img_sink *k, const void *p, size_t n);
/* Finishes the hash into out ("sha256:<hex>") and frees the context. */
void img_sink_final(struct img_sink *k, char out[IMG_ID_MAX]);
void img_sink_release(struct img_sink *k);

/* ---- manifests and configs (manifest.c) ------------------------------------------------ */

enum img_mt {
    IMG_MT_UNKNOWN = 0,
    IMG_MT_OCI_MANIFEST,
    IMG_MT_OCI_INDEX,
    IMG_MT_DOCKER_V2S2,
    IMG_MT_DOCKER_LIST,
    IMG_MT_DOCKER_V1, /* schema 1: refused */
};

/* The Accept header value listing every manifest type we handle. */
extern const char img_accept_manifests[];

enum img_mt img_media_type_kind(const char *media_type);
/* Decides the kind of a manifest body: its mediaType field, else content_type (may be NULL),
 * else its shape. CK_R_CORRUPT if not a JSON object; CK_R_UNSUPPORTED_MEDIA if unknown. */
int img_manifest_kind(const char *body, size_t len, const char *content_type, enum img_mt *kind,
                      struct ck_err *err);

struct img_desc {
    char media_type[128];
    char digest[IMG_ID_MAX];
    int64_t size;
};

/* From an index / manifest list picks the entry for os/arch (variant ignored unless arm),
 * or, when ref_name is non-NULL, the entry annotated org.opencontainers.image.ref.name ==
 * ref_name, or the only entry when the index has one entry without a platform.
 * CK_R_NOT_FOUND when nothing matches. */
int img_index_select(const char *body, size_t len, const char *os, const char *arch,
                     const char *ref_name, struct img_desc *out, struct ck_err *err);

struct img_manifest {
    struct img_desc config;
    struct img_desc *layers; /* owned */
    size_t nlayers;
};
/* Parses an image manifest (OCI or Docker v2s2): descriptors must have valid digests and
 * sizes; layer media types must be tar, tar+gzip or tar+zstd. CK_R_CORRUPT/UNSUPPORTED_MEDIA. */
int img_manifest_parse(const char *body, size_t len, struct img_manifest *m, struct ck_err *err);
void img_manifest_release(struct img_manifest *m);

/* Parses an image config into cfg (may be NULL) and its rootfs.diff_ids (caller frees with
 * img_strv_free; every id valid). CK_R_CORRUPT if malformed. */
int img_config_parse(const char *body, size_t len, struct img_config *cfg, char ***diff_ids,
                     size_t *ndiff, struct ck_err *err);

/* The Go architecture name of this build ("amd64", "arm64", ...). */
const char *img_host_arch(void);

/* ---- sources: a registry or an OCI layout (registry.c, ocilayout.c) -------------------- */

struct img_source {
    /* reference is a tag or a digest. body is capped at IMG_MANIFEST_MAX; *ctype (caller
     * frees) may be NULL when unknown. */
    int (*manifest)(void *ctx, const char *reference, struct ck_buf *body, char **ctype,
                    struct ck_err *err);
    /* Streams blob digest into k (which hashes and caps it); the caller checks the digest. */
    int (*blob)(void *ctx, const char *digest, struct img_sink *k, struct ck_err *err);
    void *ctx;
    bool synthetic; /* manifests made up locally (docker-archive): record no repo digest */
};

/* One place a pull may fetch a repository from (registries.c). */
struct img_endpoint {
    char *base;      /* "https://mirror:5000/v2": requests go to <base>/<path>/manifests/... */
    char *registry;  /* its configs key: "mirror:5000" ("docker.io" for registry-1.docker.io) */
    char *path;      /* repository path there ("library/busybox") */
    bool http;       /* plain http */
    bool is_default; /* the reference's own registry */
    bool insecure_skip_verify;
    char *ca_file, *cert_file, *key_file;
    char *username, *password;
};
/* The endpoints to try for r, in order: its mirrors (rc's entry for r's domain, else "*"),
 * invalid or duplicate endpoint URLs skipped, then the default endpoint (https://<host>/v2,
 * or the last mirror endpoint when it is that same URL). rc may be NULL. *out is
 * caller-owned (img_endpoints_free). */
int img_registries_plan(const struct img_registries *rc, const struct img_ref *r,
                        struct img_endpoint **out, size_t *n, struct ck_err *err);
void img_endpoints_free(struct img_endpoint *v, size_t n);

struct img_reg;
/* A registry client for one endpoint (its base, path, TLS and credentials; o gives the
 * timeout and may be NULL). The caller owns *out (img_reg_free). */
int img_reg_new(const struct img_endpoint *ep, const struct img_pull_opts *o, struct img_reg **out,
                struct ck_err *err);
/* HEAD of a manifest: writes its Docker-Content-Digest into digest ("" when the registry
 * sends none) and its kind (from Content-Type; IMG_MT_UNKNOWN when absent) into *kind.
 * Errors as for a GET. */
int img_reg_head(struct img_reg *g, const char *reference, char digest[IMG_ID_MAX],
                 enum img_mt *kind, struct ck_err *err);
void img_reg_free(struct img_reg *g);
void img_reg_source(struct img_reg *g, struct img_source *src);
/* True when an https request failed in the TLS handshake (the peer speaks plain http). */
bool img_reg_tls_refused(const struct img_reg *g);
/* True for localhost, 127.0.0.0/8 and [::1] (with or without a port). */
bool img_host_is_loopback(const char *host);

/* Parses a WWW-Authenticate value: scheme ("Bearer"/"Basic") and realm/service/scope (each
 * caller-owned, NULL if absent). Returns 0, or -1 when the header is malformed. */
int img_auth_parse(const char *hdr, char **scheme, char **realm, char **service, char **scope);

struct img_oci;
/* Opens an OCI layout dir (oci-layout + index.json + blobs/). *out owned by the caller. */
int img_oci_open(const char *dir, struct img_oci **out, struct ck_err *err);
void img_oci_free(struct img_oci *l);
void img_oci_source(struct img_oci *l, struct img_source *src);

/* ---- layers (unpack.c) ---------------------------------------------------------------- */

struct img_unpack_limits {
    int64_t max_bytes; /* uncompressed tar bytes */
    int64_t max_entries;
};

/* Extracts the (gzip/zstd/xz/uncompressed, auto-detected) tar read from fd into dir, which
 * must exist and be empty and must contain no symlinks on its path. Whiteouts become overlay
 * whiteouts (".wh.X" -> char device 0:0 "X"; ".wh..wh..opq" -> trusted.overlay.opaque=y on
 * the directory). Refuses absolute or ".." paths, writing through symlinks and hard links
 * that leave the layer (CK_R_CORRUPT). Writes the sha256 of the uncompressed tar (the diff
 * id) into diffid_out. lim may be NULL (no limits). On failure dir holds partial content:
 * the caller removes it. */
int img_unpack_layer(int fd, const char *dir, const struct img_unpack_limits *lim,
                     char diffid_out[IMG_ID_MAX], struct ck_err *err);

/* Extracts the archive at path (a tar, gzip/zstd/xz detected) into a fresh staging dir of s:
 * returns its path (caller frees, and img_rmtree's it), or NULL with err set. */
char *img_archive_extract(struct img_store *s, const char *path, const char *what,
                          struct ck_err *err);

/* Removes path recursively without following symlinks; 0 or -1 (errno). Absent is 0. */
int img_rmtree(const char *path);

/* ---- pipeline (pull.c) --------------------------------------------------------------- */

/* Fetches reference (tag or digest) from src, verifies and stores it; name/tag are what to
 * record ("domain/path", tag may be NULL). ref_name selects in an OCI layout index. */
int img_pull_from(struct img_store *s, const struct img_source *src, const char *name,
                  const char *reference, const char *tag, const char *ref_name, const char *os,
                  const char *arch, char id_out[IMG_ID_MAX], struct ck_err *err);

/* ---- the store internals shared by store.c and pull.c -------------------------------- */

struct img_record; /* one image in the index (store.c) */

/* What a finished pull hands to the store. */
struct img_commit {
    char id[IMG_ID_MAX];
    const char *staging; /* dir holding staged files */
    char **blobs;        /* digests of manifests + config (files staging/<hex>) */
    size_t nblobs;
    char **layers; /* diff ids, lowest first (staged as staging/L-<hex> or present) */
    size_t nlayers;
    const char *tag_ref;    /* "domain/path:tag" or NULL */
    const char *digest_ref; /* "domain/path@sha256:..." or NULL */
    int64_t size;
};
/* Under the store lock: moves staged blobs/layers into place (keeping existing ones), checks
 * every referenced one exists (CK_R_CONFLICT if a concurrent gc removed one), records the
 * image, tag and digest, saves the index. */
int img_store_commit(struct img_store *s, const struct img_commit *c, struct ck_err *err);
/* Pins: a pull records, under the store lock, the digests it counts on finding in the store
 * before it looks for them; gc never removes a pinned digest. Appends digests (blob digests or
 * diff ids, "sha256:...") to the pin file *pin (created on first use: <root>/pins/<pid>-<n>).
 * Pins of dead processes are ignored and removed by the next gc. */
int img_store_pin(struct img_store *s, char **pin, const char *const *digests, size_t n,
                  struct ck_err *err);
/* Removes the pin file (NULL is fine) and frees the path. */
void img_store_unpin(char *pin);
/* Makes a fresh staging dir under <root>/tmp (caller frees the path and img_rmtree's it). */
char *img_store_staging(struct img_store *s, struct ck_err *err);
/* Opens (creating) and flocks <root>/locks/<hex of digest>; returns the fd (close unlocks). */
int img_store_lock_digest(struct img_store *s, const char *digest, struct ck_err *err);
/* Absolute path of a stored layer / blob (caller frees). */
char *img_store_layer_path(const struct img_store *s, const char *diffid);
char *img_store_blob_path(const struct img_store *s, const char *digest);

#endif

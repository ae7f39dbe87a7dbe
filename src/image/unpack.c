/* SPDX-License-Identifier: Apache-2.0 */
/* Layer unpacking: one decompression pass feeds both the diff-id hash and the tar reader
 * (an outer libarchive "raw" reader decompresses; an inner tar reader pulls from it through a
 * callback that hashes). Entries are confined to the layer dir; whiteouts become overlay
 * whiteouts. Also img_rmtree. */
#include "image/image_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/banned.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define CHUNK (64u << 10)

struct unpack {
    struct archive *outer; /* decompressor (format raw) */
    struct archive *inner; /* tar reader fed from outer */
    struct archive *disk;  /* write_disk */
    struct img_sink hash;  /* diff id */
    const struct img_unpack_limits *lim;
    const char *dir;
    int dirfd;
    char buf[CHUNK];
    bool too_big;
    struct ck_err *err;
};

static la_ssize_t inner_read(struct archive *a, void *ud, const void **out)
{
    (void)a;
    struct unpack *u = ud;
    la_ssize_t n = archive_read_data(u->outer, u->buf, sizeof(u->buf));
    if (n < 0) {
        archive_set_error(u->inner, EIO, "%s", archive_error_string(u->outer));
        return -1;
    }
    if (n > 0 && img_sink_write(&u->hash, u->buf, (size_t)n) < 0) {
        u->too_big = true;
        archive_set_error(u->inner, EFBIG, "layer larger than the limit");
        return -1;
    }
    *out = u->buf;
    return n;
}

/* Cleans a tar path in place: strips leading "/" and "./", drops "." and empty components.
 * Returns -1 if a component is "..". The result may be "" (the layer root). */
static int clean_path(char *p)
{
    char *w = p;
    const char *r = p;
    while (*r) {
        while (*r == '/')
            r++;
        const char *e = strchr(r, '/');
        size_t n = e ? (size_t)(e - r) : strlen(r);
        if (n == 2 && r[0] == '.' && r[1] == '.')
            return -1;
        if (n > 0 && !(n == 1 && r[0] == '.')) {
            if (w != p)
                *w++ = '/';
            memmove(w, r, n);
            w += n;
        }
        r += n;
    }
    *w = 0;
    return 0;
}

/* Opens (creating with 0755) the directory rel under u->dirfd without following symlinks.
 * Returns an fd, or -1 with errno (ELOOP/ENOTDIR when a component is not a real dir). */
static int open_dir_nofollow(struct unpack *u, const char *rel)
{
    int fd = dup(u->dirfd);
    char comp[NAME_MAX + 1];
    while (fd >= 0 && *rel) {
        const char *e = strchr(rel, '/');
        size_t n = e ? (size_t)(e - rel) : strlen(rel);
        if (n == 0 || n > NAME_MAX) {
            close(fd);
            errno = EINVAL;
            return -1;
        }
        memcpy(comp, rel, n);
        comp[n] = 0;
        if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
            close(fd);
            return -1;
        }
        int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        fd = nfd;
        rel = e ? e + 1 : rel + n;
    }
    return fd;
}

/* ".wh..wh..opq" -> opaque xattr on the parent; ".wh.X" -> char device 0:0 named X. */
static int whiteout(struct unpack *u, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char parent[PATH_MAX];
    snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - path) : 0, path);
    if (strncmp(base, WH_PREFIX WH_PREFIX, 8) == 0 && strcmp(base, WH_OPAQUE) != 0)
        return 0; /* other aufs metadata (.wh..wh.plnk, ...) carries nothing for overlay */
    int pfd = open_dir_nofollow(u, parent);
    if (pfd < 0)
        return ck_err_sys(u->err, errno, "layer: whiteout %s: parent is not a directory", path);
    int rc = 0;
    if (strcmp(base, WH_OPAQUE) == 0) {
        if (fsetxattr(pfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
            rc = ck_err_sys(u->err, errno, "layer: set opaque xattr on /%s", parent);
    } else {
        const char *name = base + strlen(WH_PREFIX);
        if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            rc = ck_err_set(u->err, CK_R_CORRUPT, "layer: invalid whiteout %s", path);
        else if (unlinkat(pfd, name, 0) < 0 && errno != ENOENT && errno != EISDIR)
            rc = ck_err_sys(u->err, errno, "layer: whiteout %s", path);
        else if (mknodat(pfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
            rc = ck_err_sys(u->err, errno, "layer: whiteout device for %s", path);
    }
    close(pfd);
    return rc;
}

static int copy_data(struct unpack *u, const char *path)
{
    const void *blk;
    size_t sz;
    la_int64_t off;
    for (;;) {
        int r = archive_read_data_block(u->inner, &blk, &sz, &off);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN)
            return ck_err_set(u->err, u->too_big ? CK_R_TOO_LARGE : CK_R_CORRUPT,
                              "layer: reading %s: %s", path, archive_error_string(u->inner));
        if (archive_write_data_block(u->disk, blk, sz, off) < ARCHIVE_WARN)
            return ck_err_set(u->err, CK_R_IO, "layer: writing %s: %s", path,
                              archive_error_string(u->disk));
    }
}

/* Rewrites the entry's path (and hard link target) under u->dir and writes it to disk. */
static int extract_entry(struct unpack *u, struct archive_entry *e, const char *path)
{
    char full[PATH_MAX];
    if ((size_t)snprintf(full, sizeof(full), "%s/%s", u->dir, path) >= sizeof(full))
        return ck_err_set(u->err, CK_R_CORRUPT, "layer: path too long: %.200s", path);
    archive_entry_copy_pathname(e, full);
    const char *hl = archive_entry_hardlink(e);
    if (hl) {
        char tgt[PATH_MAX];
        snprintf(tgt, sizeof(tgt), "%s", hl);
        char lfull[PATH_MAX];
        if (clean_path(tgt) < 0 || !*tgt)
            return ck_err_set(u->err, CK_R_CORRUPT, "layer: hard link %s escapes the layer", path);
        if ((size_t)snprintf(lfull, sizeof(lfull), "%s/%s", u->dir, tgt) >= sizeof(lfull))
            return ck_err_set(u->err, CK_R_CORRUPT, "layer: link target too long");
        archive_entry_copy_hardlink(e, lfull);
    }
    int r = archive_write_header(u->disk, e);
    if (r < ARCHIVE_WARN)
        return ck_err_set(u->err, r == ARCHIVE_FATAL ? CK_R_IO : CK_R_CORRUPT,
                          "layer: refusing /%s: %s", path, archive_error_string(u->disk));
    if (archive_entry_size(e) > 0 && copy_data(u, path) < 0)
        return -1;
    if (archive_write_finish_entry(u->disk) < ARCHIVE_WARN)
        return ck_err_set(u->err, CK_R_IO, "layer: finishing /%s: %s", path,
                          archive_error_string(u->disk));
    return 0;
}

static int one_entry(struct unpack *u, struct archive_entry *e)
{
    const char *p = archive_entry_pathname(e);
    if (!p)
        return ck_err_set(u->err, CK_R_CORRUPT, "layer: entry without a path");
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s", p) >= sizeof(path))
        return ck_err_set(u->err, CK_R_CORRUPT, "layer: path too long");
    if (clean_path(path) < 0)
        return ck_err_set(u->err, CK_R_CORRUPT, "layer: path %.200s escapes the layer (\"..\")", p);
    if (!*path)
        return 0; /* the root itself */
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0)
        return whiteout(u, path);
    return extract_entry(u, e, path);
}

static int run_entries(struct unpack *u)
{
    struct archive_entry *e;
    int64_t count = 0;
    for (;;) {
        int r = archive_read_next_header(u->inner, &e);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN)
            return ck_err_set(u->err, u->too_big ? CK_R_TOO_LARGE : CK_R_CORRUPT,
                              "layer: not a valid tar stream: %s", archive_error_string(u->inner));
        if (u->lim && u->lim->max_entries > 0 && ++count > u->lim->max_entries)
            return ck_err_set(u->err, CK_R_TOO_LARGE, "layer has more than %lld entries",
                              (long long)u->lim->max_entries);
        if (one_entry(u, e) < 0)
            return -1;
    }
}

/* Hashes whatever the tar reader left unread (end-of-archive padding). */
static int drain(struct unpack *u)
{
    for (;;) {
        la_ssize_t n = archive_read_data(u->outer, u->buf, sizeof(u->buf));
        if (n == 0)
            return 0;
        if (n < 0)
            return ck_err_set(u->err, CK_R_CORRUPT, "layer: %s", archive_error_string(u->outer));
        if (img_sink_write(&u->hash, u->buf, (size_t)n) < 0)
            return ck_err_set(u->err, CK_R_TOO_LARGE, "layer larger than the limit");
    }
}

static int open_readers(struct unpack *u, int fd)
{
    struct archive_entry *e;
    u->outer = archive_read_new();
    archive_read_support_filter_all(u->outer);
    archive_read_support_format_raw(u->outer);
    if (archive_read_open_fd(u->outer, fd, CHUNK) != ARCHIVE_OK ||
        archive_read_next_header(u->outer, &e) != ARCHIVE_OK)
        return ck_err_set(u->err, CK_R_CORRUPT, "layer: cannot decompress: %s",
                          archive_error_string(u->outer) ? archive_error_string(u->outer)
                                                         : "empty blob");
    u->inner = archive_read_new();
    archive_read_support_format_tar(u->inner);
    if (archive_read_open(u->inner, u, NULL, inner_read, NULL) != ARCHIVE_OK)
        return ck_err_set(u->err, u->too_big ? CK_R_TOO_LARGE : CK_R_CORRUPT,
                          "layer: not a tar stream: %s", archive_error_string(u->inner));
    return 0;
}

int img_unpack_layer(int fd, const char *dir, const struct img_unpack_limits *lim,
                     char diffid_out[IMG_ID_MAX], struct ck_err *err)
{
    struct unpack *u = ck_calloc(1, sizeof(*u));
    u->lim = lim;
    u->dir = dir;
    u->err = err;
    img_sink_init(&u->hash, -1, lim && lim->max_bytes > 0 ? lim->max_bytes : INT64_MAX);
    u->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_XATTR |
                ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT;
    if (geteuid() == 0)
        flags |= ARCHIVE_EXTRACT_OWNER;
    u->disk = archive_write_disk_new();
    archive_write_disk_set_options(u->disk, flags);
    archive_write_disk_set_standard_lookup(u->disk);
    int rc;
    if (u->dirfd < 0)
        rc = ck_err_sys(err, errno, "layer: open %s", dir);
    else
        rc = open_readers(u, fd);
    if (rc == 0)
        rc = run_entries(u);
    if (rc == 0 && archive_write_close(u->disk) < ARCHIVE_WARN)
        rc = ck_err_set(err, CK_R_IO, "layer: %s", archive_error_string(u->disk));
    if (rc == 0)
        rc = drain(u);
    if (rc == 0)
        img_sink_final(&u->hash, diffid_out);
    img_sink_release(&u->hash);
    archive_read_free(u->inner);
    archive_read_free(u->outer);
    archive_write_free(u->disk);
    if (u->dirfd >= 0)
        close(u->dirfd);
    free(u);
    return rc;
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
    (void)st;
    (void)f;
    int r = (type == FTW_DP) ? rmdir(p) : unlink(p);
    if (r < 0 && errno != ENOENT)
        ck_warn("image: cannot remove %s: %s", p, strerror(errno));
    return 0;
}

int img_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
        return -1;
    return access(path, F_OK) == 0 ? (errno = ENOTEMPTY, -1) : 0;
}

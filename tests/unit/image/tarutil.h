/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper: builds tar layers in memory with libarchive (fixed mtimes, so the same entries
 * give the same bytes whatever the compression) and hands them over as a memfd. */
#ifndef CK_TEST_TARUTIL_H
#define CK_TEST_TARUTIL_H

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct tentry {
    const char *path;
    char type;        /* 'f' file, 'd' dir, 'l' symlink, 'h' hard link, 'c' char dev */
    const char *data; /* file content, or link target */
};

/* Returns a malloc'd tar (filter: ARCHIVE_FILTER_NONE/GZIP/ZSTD) or NULL if unsupported. */
static inline unsigned char *tar_build(const struct tentry *e, size_t n, int filter, size_t *len)
{
    size_t cap = 1 << 22;
    unsigned char *buf = malloc(cap);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    int rc = ARCHIVE_OK;
    if (filter == ARCHIVE_FILTER_GZIP)
        rc = archive_write_add_filter_gzip(a);
    else if (filter == ARCHIVE_FILTER_ZSTD)
        rc = archive_write_add_filter_zstd(a);
    if (rc != ARCHIVE_OK) {
        archive_write_free(a);
        free(buf);
        return NULL;
    }
    archive_write_set_bytes_in_last_block(a, 1);
    archive_write_open_memory(a, buf, cap, len);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *en = archive_entry_new();
        archive_entry_set_pathname(en, e[i].path);
        archive_entry_set_mtime(en, 1700000000, 0);
        archive_entry_set_uid(en, 0);
        archive_entry_set_gid(en, 0);
        size_t dl = e[i].type == 'f' && e[i].data ? strlen(e[i].data) : 0;
        switch (e[i].type) {
        case 'd':
            archive_entry_set_filetype(en, AE_IFDIR);
            archive_entry_set_perm(en, 0755);
            break;
        case 'l':
            archive_entry_set_filetype(en, AE_IFLNK);
            archive_entry_set_symlink(en, e[i].data);
            archive_entry_set_perm(en, 0777);
            break;
        case 'h':
            archive_entry_set_filetype(en, AE_IFREG);
            archive_entry_set_hardlink(en, e[i].data);
            archive_entry_set_perm(en, 0644);
            break;
        case 'c':
            archive_entry_set_filetype(en, AE_IFCHR);
            archive_entry_set_perm(en, 0600);
            break;
        default:
            archive_entry_set_filetype(en, AE_IFREG);
            archive_entry_set_perm(en, 0644);
            archive_entry_set_size(en, (la_int64_t)dl);
        }
        archive_write_header(a, en);
        if (dl)
            archive_write_data(a, e[i].data, dl);
        archive_entry_free(en);
    }
    archive_write_close(a);
    archive_write_free(a);
    return buf;
}

static inline int mem_fd(const void *p, size_t n)
{
    int fd = memfd_create("layer", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (n && write(fd, p, n) != (ssize_t)n) {
        close(fd);
        return -1;
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

#endif

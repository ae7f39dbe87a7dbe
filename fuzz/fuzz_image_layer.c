/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: a layer blob (any compression) unpacked into a fresh temp dir with limits
 * (1 MiB uncompressed, 512 entries), which is removed after each input. Escapes outside the
 * temp dir are checked: the sentinel dir next to it must stay empty. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image_int.h"

static char base[64];

static void cleanup(void)
{
    img_rmtree(base);
}

static void setup(void)
{
    snprintf(base, sizeof(base), "/tmp/ck-fuzz-layer-XXXXXX");
    if (!mkdtemp(base))
        abort();
    char real[PATH_MAX];
    if (!realpath(base, real) || strlen(real) >= sizeof(base))
        abort();
    snprintf(base, sizeof(base), "%s", real);
    atexit(cleanup);
}

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!base[0])
        setup();
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/a/b/layer", base); /* "../../x" would land in base */
    char ab[128];
    snprintf(ab, sizeof(ab), "%s/a/b", base);
    char a[128];
    snprintf(a, sizeof(a), "%s/a", base);
    mkdir(a, 0755);
    mkdir(ab, 0755);
    if (mkdir(dir, 0755) < 0)
        abort();
    int fd = memfd_create("layer", MFD_CLOEXEC);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
        abort();
    lseek(fd, 0, SEEK_SET);
    struct img_unpack_limits lim = {.max_bytes = 1 << 20, .max_entries = 512};
    char diffid[IMG_ID_MAX];
    struct ck_err err = CK_ERR_INIT;
    (void)img_unpack_layer(fd, dir, &lim, diffid, &err);
    close(fd);
    if (img_rmtree(dir) < 0)
        abort();
    /* nothing may appear beside the layer dir, nor above it */
    if (entries(ab) != 0 || entries(a) != 1 || entries(base) != 1)
        abort();
    return 0;
}

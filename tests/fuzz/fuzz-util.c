/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz-util.h"

static char root[PATH_MAX];

_Noreturn void fuzz_fail(const char *file, int line, const char *expr)
{
        fprintf(stderr, "%s:%d: invariant does not hold: %s\n", file, line, expr);
        abort();
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);

        if (!s)
                abort();
        if (size > 0)
                memcpy(s, data, size);
        s[size] = 0;
        return s;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        return remove(path) < 0 ? -1 : 0;
}

static void remove_root(void)
{
        if (root[0])
                (void) nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_root(void)
{
        const char *tmp;

        if (root[0])
                return root;

        tmp = getenv("TMPDIR");
        if (!tmp || !*tmp)
                tmp = "/tmp";
        if (snprintf(root, sizeof(root), "%s/nv-fuzz-XXXXXX", tmp) >= (int) sizeof(root) || !mkdtemp(root)) {
                perror("mkdtemp");
                abort();
        }
        atexit(remove_root);
        if (setenv("NESTVIRT_ROOT", root, 1) < 0)
                abort();
        return root;
}

void fuzz_write(const char *host_path, const void *data, size_t size)
{
        char path[PATH_MAX];
        int fd;

        if (snprintf(path, sizeof(path), "%s%s", fuzz_root(), host_path) >= (int) sizeof(path))
                abort();
        for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
                *p = 0;
                if (mkdir(path, 0755) < 0 && errno != EEXIST) {
                        perror(path);
                        abort();
                }
                *p = '/';
        }

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
                perror(path);
                abort();
        }
        for (const char *p = data; size > 0;) {
                ssize_t k = write(fd, p, size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        perror(path);
                        abort();
                }
                p += k;
                size -= (size_t) k;
        }
        if (close(fd) < 0)
                abort();
}

void fuzz_require_preload(void)
{
        static const char probe[] = "nv-fuzz-preload-probe";
        char buf[sizeof(probe)] = {};
        int fd;

        fuzz_write("/proc/cmdline", probe, sizeof(probe) - 1);
        fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                (void) !read(fd, buf, sizeof(buf) - 1);
                close(fd);
        }
        if (strcmp(buf, probe) != 0) {
                fprintf(stderr,
                        "This harness needs LD_PRELOAD=.../tests/preload/nv-preload.so (libkmod would read "
                        "the real /proc/cmdline); refusing to run.\n");
                exit(EXIT_FAILURE);
        }
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>

#include "fileio.h"
#include "host-path.h"
#include "util.h"

static int open_parent(const char *real, char **ret_base)
{
        _cleanup_free_ char *d = strdup(real), *b = strdup(real);
        int fd;

        if (!d || !b)
                return -ENOMEM;
        fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_base = strdup(basename(b));
        if (!*ret_base) {
                close(fd);
                return -ENOMEM;
        }
        return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

int nv_write_file_atomic(const char *host_path, const char *content, mode_t mode)
{
        _cleanup_free_ char *real = nv_host_path(host_path), *base = NULL, *tmp = NULL;
        _cleanup_close_ int dfd = -1, fd = -1;
        int r;

        assert(host_path);
        assert(content);

        if (!real)
                return -ENOMEM;
        dfd = open_parent(real, &base);
        if (dfd < 0)
                return dfd;
        if (asprintf(&tmp, ".#%s.%d", base, (int) getpid()) < 0)
                return -ENOMEM;

        (void) unlinkat(dfd, tmp, 0);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;

        /* The umask must not decide who can read the configuration. */
        r = fchmod(fd, mode) < 0 ? -errno : 0;
        if (r >= 0)
                r = write_all(fd, content, strlen(content));
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(dfd, tmp, dfd, base) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dfd, tmp, 0);
                return r;
        }
        if (fsync(dfd) < 0)
                return -errno;
        return 0;
}

int nv_remove_file(const char *host_path)
{
        _cleanup_free_ char *real = nv_host_path(host_path), *base = NULL;
        _cleanup_close_ int dfd = -1;

        if (!real)
                return -ENOMEM;
        dfd = open_parent(real, &base);
        if (dfd == -ENOENT)
                return 0;
        if (dfd < 0)
                return dfd;
        if (unlinkat(dfd, base, 0) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fsync(dfd) < 0)
                return -errno;
        return 1;
}

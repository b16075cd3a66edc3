/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "host-path.h"
#include "util.h"

/* Big enough for /proc/cpuinfo on large machines; anything larger is not a file we mean to read. */
#define NV_HOST_FILE_MAX (64u * 1024u * 1024u)

const char *nv_host_root(void)
{
        /* The variable is read on every call (tests point it at a new tree between cases), into a
         * buffer that is never freed, so a pointer a caller still holds stays valid. Never in a
         * privileged (AT_SECURE) process: the caller's environment must not choose the host. */
        static char root[PATH_MAX];
        const char *e = secure_getenv("NESTVIRT_ROOT");
        size_t l;

        if (isempty(e))
                return "";

        l = strlen(e);
        while (l > 0 && e[l - 1] == '/')
                l--;
        /* Too long to prefix any path: every open fails with ENAMETOOLONG, as it should. */
        if (l >= sizeof(root))
                return e;

        memcpy(root, e, l);
        root[l] = 0;
        return root;
}

char *nv_host_path(const char *host_path)
{
        const char *root = nv_host_root();
        size_t a, b;
        char *p;

        /* A relative path would silently resolve against the daemon's working directory. */
        if (host_path[0] != '/') {
                errno = EINVAL;
                return NULL;
        }

        a = strlen(root);
        b = strlen(host_path);
        p = malloc(a + b + 1);
        if (!p)
                return NULL;
        memcpy(p, root, a);
        memcpy(p + a, host_path, b + 1);
        return p;
}

int nv_host_read_file(const char *host_path, char **ret, size_t *ret_size)
{
        _cleanup_free_ char *path = NULL, *buf = NULL;
        _cleanup_close_ int fd = -1;
        size_t size = 0, allocated = 0;

        path = nv_host_path(host_path);
        if (!path)
                return -errno;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;

        /* sysfs and procfs files report st_size 0 (or a page): read until EOF instead. */
        for (;;) {
                if (allocated - size < 4096 + 1) {
                        size_t n = allocated ? allocated * 2 : 4096 + 1;
                        if (n > NV_HOST_FILE_MAX)
                                return -EFBIG;
                        char *m = realloc(buf, n);
                        if (!m)
                                return -ENOMEM;
                        buf = m;
                        allocated = n;
                }

                ssize_t k = read(fd, buf + size, allocated - size - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                size += (size_t) k;
        }

        buf[size] = 0;
        if (ret_size)
                *ret_size = size;
        *ret = TAKE_PTR(buf);
        return 0;
}

int nv_host_read_line(const char *host_path, char **ret)
{
        _cleanup_free_ char *path = NULL, *line = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t n = 0;

        path = nv_host_path(host_path);
        if (!path)
                return -errno;

        f = fopen(path, "re");
        if (!f)
                return -errno;

        if (getline(&line, &n, f) < 0) {
                if (ferror(f))
                        return errno > 0 ? -errno : -EIO;
                /* An empty file has an empty first line. */
                free(line);
                line = strdup("");
                if (!line)
                        return -ENOMEM;
        }

        *ret = strstrip_end(TAKE_PTR(line));
        return 0;
}

int nv_host_mkdir(const char *host_path, mode_t mode)
{
        _cleanup_free_ char *real = nv_host_path(host_path);

        if (!real)
                return -ENOMEM;
        /* Every prefix below the root, then the directory itself. */
        for (char *p = real + strlen(nv_host_root()) + 1;; p++) {
                char c = *p;
                if (c != '/' && c != 0)
                        continue;
                *p = 0;
                if (mkdir(real, mode) >= 0) {
                        /* The umask (0077 in the unit) must not decide who may read it. */
                        if (chmod(real, mode) < 0)
                                return -errno;
                } else if (errno == EEXIST) {
                        struct stat st;
                        if (stat(real, &st) < 0)
                                return -errno;
                        if (!S_ISDIR(st.st_mode))
                                return -ENOTDIR;
                } else
                        return -errno;
                *p = c;
                if (!c)
                        return 0;
        }
}

const char *const nv_modprobe_dirs[] = {
        "/etc/modprobe.d",
        "/run/modprobe.d",
        "/usr/local/lib/modprobe.d",
        "/usr/lib/modprobe.d",
        "/lib/modprobe.d",
        NULL,
};

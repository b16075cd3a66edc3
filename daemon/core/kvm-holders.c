/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>

#include "host-path.h"
#include "kvm-holders.h"
#include "util.h"

const char *nv_kvm_device(void)
{
        const char *e = getenv("NESTVIRT_KVM_DEVICE");
        return isempty(e) ? "/dev/kvm" : e;
}

static bool link_is_kvm(const char *target, const char *device)
{
        return streq(target, device) || startswith(target, "anon_inode:kvm-vm") ||
                startswith(target, "anon_inode:kvm-vcpu");
}

static bool pid_holds_kvm(int proc_fd, const char *pid, const char *device)
{
        _cleanup_free_ char *path = NULL;
        bool found = false;
        DIR *d;
        int fd;

        if (asprintf(&path, "%s/fd", pid) < 0)
                return false;
        fd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return false;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return false;
        }
        for (struct dirent *de; !found && (de = readdir(d));) {
                char target[PATH_MAX];
                ssize_t n;

                if (de->d_name[0] == '.')
                        continue;
                n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
                if (n <= 0)
                        continue;
                target[n] = 0;
                found = link_is_kvm(target, device);
        }
        closedir(d);
        return found;
}

static int pid_cmp(const void *a, const void *b)
{
        return atoi(*(char *const *) a) - atoi(*(char *const *) b);
}

int nv_kvm_holders(char ***ret)
{
        _cleanup_free_ char *proc = nv_host_path("/proc");
        _cleanup_strv_free_ char **l = NULL;
        const char *device = nv_kvm_device();
        DIR *d;
        int r = 0;

        if (!proc)
                return -ENOMEM;
        d = opendir(proc);
        if (!d)
                return -errno;

        for (struct dirent *de; r >= 0 && (de = readdir(d));) {
                _cleanup_free_ char *comm_path = NULL, *comm = NULL, *entry = NULL;

                if (strspn(de->d_name, "0123456789") != strlen(de->d_name))
                        continue;
                if (!pid_holds_kvm(dirfd(d), de->d_name, device))
                        continue;
                if (asprintf(&comm_path, "/proc/%s/comm", de->d_name) < 0)
                        r = -ENOMEM;
                else {
                        (void) nv_host_read_line(comm_path, &comm);
                        if (asprintf(&entry, "%s (%s)", de->d_name, comm ?: "?") < 0)
                                r = -ENOMEM;
                        else
                                r = strv_extend(&l, entry);
                }
        }
        closedir(d);
        if (r < 0)
                return r;

        if (strv_ensure(&l) < 0)
                return -ENOMEM;
        qsort(l, strv_length(l), sizeof(char *), pid_cmp);
        *ret = TAKE_PTR(l);
        return 0;
}

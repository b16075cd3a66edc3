/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nv_kvm_holders(): the processes holding the KVM device or a VM, from the fd links in /proc.
 * First on a fixture /proc (pid directories with comm and fd/ links), then on the real /proc
 * with a child process holding a temporary file that stands in for the device.
 */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fixture.h"
#include "host-path.h"
#include "kvm-holders.h"
#include "util.h"
#include "vm-discovery.h"

static NvFixture *fx;

static void teardown(void)
{
        fx = nv_fixture_free(fx);
        unsetenv("NESTVIRT_KVM_DEVICE");
}

static char *root_path(const char *host_path)
{
        char *p = nv_host_path(host_path);

        ck_assert_ptr_nonnull(p);
        return p;
}

static void make_dir(const char *host_path)
{
        _cleanup_free_ char *p = root_path(host_path);

        ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %m", p);
}

/* A process directory as the kernel shows it: comm, status (with the Uid line), cmdline, fd/. */
static void add_process(const char *pid, const char *comm)
{
        _cleanup_free_ char *dir = NULL, *fd = NULL, *path = NULL, *line = NULL;

        ck_assert_int_ge(asprintf(&dir, "/proc/%s", pid), 0);
        ck_assert_int_ge(asprintf(&fd, "/proc/%s/fd", pid), 0);
        make_dir("/proc");
        make_dir(dir);
        make_dir(fd);

        ck_assert_int_ge(asprintf(&path, "/proc/%s/comm", pid), 0);
        ck_assert_int_ge(asprintf(&line, "%s\n", comm), 0);
        ck_assert_int_eq(nv_fixture_write(fx, path, line), 0);
        free(path);
        free(line);

        ck_assert_int_ge(asprintf(&path, "/proc/%s/status", pid), 0);
        ck_assert_int_ge(asprintf(&line, "Name:\t%s\nPid:\t%s\nUid:\t0\t0\t0\t0\n", comm, pid), 0);
        ck_assert_int_eq(nv_fixture_write(fx, path, line), 0);
        free(path);

        /* No command line, like a kernel thread's: nothing to say about the VM beyond its pid. */
        ck_assert_int_ge(asprintf(&path, "/proc/%s/cmdline", pid), 0);
        ck_assert_int_eq(nv_fixture_write(fx, path, ""), 0);
}

/* /proc/PID/fd/FD, a link to target (which need not exist, as for "anon_inode:kvm-vm"). */
static void add_fd(const char *pid, int fd, const char *target)
{
        _cleanup_free_ char *host = NULL, *p = NULL;

        ck_assert_int_ge(asprintf(&host, "/proc/%s/fd/%d", pid, fd), 0);
        p = root_path(host);
        ck_assert_msg(symlink(target, p) == 0, "symlink %s: %m", p);
}

static void assert_holders(const char *const *want)
{
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;

        ck_assert_int_eq(nv_kvm_holders(&l), 0);
        ck_assert_ptr_nonnull(l);
        while (want[n])
                n++;
        for (size_t i = 0; i < n || l[i]; i++) {
                ck_assert_msg(i < n && l[i], "holder %zu: got \"%s\", expected \"%s\"", i, strempty(l[i]),
                        i < n ? want[i] : "(end)");
                ck_assert_str_eq(l[i], want[i]);
        }
        ck_assert_uint_eq(strv_length(l), n);
}

static void setup_proc(void)
{
        ck_assert_int_eq(nv_fixture_new(NULL, &fx), 0);

        add_process("100", "qemu-system-x86");
        add_fd("100", 0, "/dev/null");
        add_fd("100", 1, "pipe:[4711]");
        add_fd("100", 3, "/dev/kvm");

        add_process("20", "qemu-kvm");
        add_fd("20", 5, "anon_inode:kvm-vm");

        /* A vCPU fd alone (the VM fd closed); comm with a blank and a slash. */
        add_process("7", "CPU 0/KVM");
        add_fd("7", 4, "anon_inode:kvm-vcpu:0");

        /* Sorts after 100 by number, before it as text. */
        add_process("1000", "qemu-system-x86");
        add_fd("1000", 9, "socket:[1]");
        add_fd("1000", 12, "anon_inode:kvm-vm");

        /* The device node was removed while the fd stays open: it still pins the module. */
        add_process("61", "qemu-old");
        add_fd("61", 3, "/dev/kvm (deleted)");

        /* A jailed VMM's own node, shown by its path from our root. */
        add_process("62", "firecracker");
        add_fd("62", 3, "/srv/jailer/firecracker/1/root/dev/kvm");

        add_process("3000", "cat");
        add_fd("3000", 0, "/dev/null");
        add_fd("3000", 1, "pipe:[1234]");

        /* A dangling link and look-alikes. */
        add_process("45", "dangling");
        add_fd("45", 7, "/nonexistent/kvm");
        add_fd("45", 8, "/dev/kvm2");
        add_fd("45", 9, "anon_inode:[eventfd]");
        add_fd("45", 10, "/dev/kvmx (deleted)");

        /* No fd/ directory at all (a kernel thread). */
        make_dir("/proc/55");
        ck_assert_int_eq(nv_fixture_write(fx, "/proc/55/comm", "kthreadd\n"), 0);

        /* Not pids. */
        add_process("abc", "notapid");
        add_fd("abc", 3, "/dev/kvm");
        {
                _cleanup_free_ char *self = root_path("/proc/self");
                ck_assert_int_eq(symlink("100", self), 0);
        }
        ck_assert_int_eq(nv_fixture_write(fx, "/proc/cmdline", "quiet\n"), 0);
}

START_TEST(test_fixture_proc)
{
        static const char *const want[] = {
                "7 (CPU 0/KVM)",
                "20 (qemu-kvm)",
                "61 (qemu-old)",
                "62 (firecracker)",
                "100 (qemu-system-x86)",
                "1000 (qemu-system-x86)",
                NULL,
        };

        setup_proc();
        unsetenv("NESTVIRT_KVM_DEVICE");
        ck_assert_str_eq(nv_kvm_device(), "/dev/kvm");
        assert_holders(want);

        /* An empty variable means the default. */
        ck_assert_int_eq(setenv("NESTVIRT_KVM_DEVICE", "", 1), 0);
        ck_assert_str_eq(nv_kvm_device(), "/dev/kvm");
        assert_holders(want);
}
END_TEST

START_TEST(test_other_device)
{
        /* The named file counts as well. VM and vCPU fds count whatever the device, and so does
         * any node at a path ending in /dev/kvm (the rule for jailed VMMs): a real KVM fd is
         * never overlooked because a test named another device. */
        static const char *const want_null[] = {
                "7 (CPU 0/KVM)",
                "20 (qemu-kvm)",
                "61 (qemu-old)",
                "62 (firecracker)",
                "100 (qemu-system-x86)",
                "1000 (qemu-system-x86)",
                "3000 (cat)",
                NULL,
        };
        static const char *const want_nonexistent[] = {
                "7 (CPU 0/KVM)",
                "20 (qemu-kvm)",
                "45 (dangling)",
                "61 (qemu-old)",
                "62 (firecracker)",
                "100 (qemu-system-x86)",
                "1000 (qemu-system-x86)",
                NULL,
        };

        setup_proc();
        ck_assert_int_eq(setenv("NESTVIRT_KVM_DEVICE", "/dev/null", 1), 0);
        ck_assert_str_eq(nv_kvm_device(), "/dev/null");
        assert_holders(want_null);

        ck_assert_int_eq(setenv("NESTVIRT_KVM_DEVICE", "/nonexistent/kvm", 1), 0);
        assert_holders(want_nonexistent);
}
END_TEST

START_TEST(test_empty_and_missing)
{
        static const char *const none[] = { NULL };
        _cleanup_strv_free_ char **l = NULL;

        ck_assert_int_eq(nv_fixture_new(NULL, &fx), 0);

        /* No /proc at all: an error, not an empty list. */
        ck_assert_int_eq(nv_kvm_holders(&l), -ENOENT);

        /* Processes, none holding KVM: an empty list, not NULL. */
        add_process("1", "systemd");
        add_fd("1", 0, "/dev/null");
        assert_holders(none);
}
END_TEST

/* ---- the real /proc ---- */

static char *holder_entry(pid_t pid)
{
        _cleanup_free_ char *comm_path = NULL, *comm = NULL;
        char *entry = NULL;

        /* The comm as the kernel has it (under valgrind it is not the test's name). */
        ck_assert_int_ge(asprintf(&comm_path, "/proc/%d/comm", (int) pid), 0);
        ck_assert_int_eq(nv_host_read_line(comm_path, &comm), 0);
        ck_assert_int_ge(asprintf(&entry, "%d (%s)", (int) pid, comm), 0);
        return entry;
}

START_TEST(test_real_process)
{
        _cleanup_free_ char *device = NULL, *entry = NULL, *self = NULL;
        _cleanup_strv_free_ char **l = NULL, **after = NULL;
        const char *tmpdir = getenv("TMPDIR");
        char template[PATH_MAX], real[PATH_MAX], c;
        int ready[2], hold[2], fd, status;
        pid_t pid;

        /* The real root: /proc is this machine's. */
        unsetenv("NESTVIRT_ROOT");
        ck_assert_str_eq(nv_host_root(), "");

        snprintf(template, sizeof(template), "%s/nv-kvm-device-XXXXXX", isempty(tmpdir) ? "/tmp" : tmpdir);
        fd = mkstemp(template);
        ck_assert_int_ge(fd, 0);
        close(fd); /* this process must not hold it */
        /* The kernel shows the resolved path in the fd link. */
        ck_assert_ptr_nonnull(realpath(template, real));
        device = strdup(real);
        ck_assert_ptr_nonnull(device);

        ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(hold, O_CLOEXEC), 0);
        fflush(NULL);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int dfd;

                close(ready[0]);
                close(hold[1]);
                dfd = open(device, O_RDONLY | O_CLOEXEC);
                if (dfd < 0)
                        _exit(1);
                if (write(ready[1], "r", 1) != 1)
                        _exit(2);
                /* Holds the file until the parent closes its end. */
                while (read(hold[0], &c, 1) < 0 && errno == EINTR)
                        ;
                _exit(0);
        }
        close(ready[1]);
        close(hold[0]);
        ck_assert_int_eq(read(ready[0], &c, 1), 1);
        close(ready[0]);

        ck_assert_int_eq(setenv("NESTVIRT_KVM_DEVICE", device, 1), 0);
        ck_assert_int_eq(nv_kvm_holders(&l), 0);
        entry = holder_entry(pid);
        self = holder_entry(getpid());
        ck_assert_msg(strv_contains(l, entry), "\"%s\" not listed (%zu holders)", entry, strv_length(l));
        ck_assert_msg(!strv_contains(l, self), "this process is listed: %s", self);

        /* The file removed while the child holds it: the link now ends in " (deleted)", as
         * for a /dev/kvm node removed under a running VM, and the child still counts. */
        ck_assert_int_eq(unlink(template), 0);
        strv_free(l);
        l = NULL;
        ck_assert_int_eq(nv_kvm_holders(&l), 0);
        ck_assert_msg(strv_contains(l, entry), "\"%s\" not listed after the unlink", entry);

        close(hold[1]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

        /* Gone with the process. */
        ck_assert_int_eq(nv_kvm_holders(&after), 0);
        ck_assert(!strv_contains(after, entry));
}
END_TEST

static Suite *holders_suite(void)
{
        Suite *s = suite_create("kvm-holders");
        TCase *tc = tcase_create("holders");

        tcase_add_checked_fixture(tc, NULL, teardown);
        tcase_add_test(tc, test_fixture_proc);
        tcase_add_test(tc, test_other_device);
        tcase_add_test(tc, test_empty_and_missing);
        tcase_add_test(tc, test_real_process);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return nv_fixture_run_suite(holders_suite());
}

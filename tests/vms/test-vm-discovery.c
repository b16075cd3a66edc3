/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fixture.h"
#include "kvm-holders.h"
#include "util.h"
#include "vm-discovery.h"

#define NONE ((const char *) NULL)

typedef struct Expect {
        pid_t pid;
        uid_t uid;
        const char *comm, *name, *vm_id, *cpu;
        NvVmManager manager;
        NvVmNesting nesting;
} Expect;

/* Points NESTVIRT_ROOT at tests/fixtures/procs/NAME (read in place: the scan only reads) and
 * makes /dev/kvm the device again whatever the caller's environment says. */
static void use_procs(const char *name)
{
        _cleanup_free_ char *rel = NULL, *root = NULL;

        ck_assert_int_ge(asprintf(&rel, "procs/%s", name), 0);
        root = nv_fixture_source_path(rel);
        ck_assert_ptr_nonnull(root);
        ck_assert_int_eq(access(root, F_OK), 0);
        ck_assert_int_eq(setenv("NESTVIRT_ROOT", root, 1), 0);
        ck_assert_int_eq(unsetenv("NESTVIRT_KVM_DEVICE"), 0);
}

static void check_vm(const NvVm *vm, const Expect *e)
{
        ck_assert_msg(vm->pid == e->pid, "pid %d, expected %d", (int) vm->pid, (int) e->pid);
        ck_assert_msg(vm->uid == e->uid, "%d: uid %u, expected %u", (int) e->pid, (unsigned) vm->uid,
                (unsigned) e->uid);
        ck_assert_msg(streq_ptr(vm->comm, e->comm), "%d: comm %s, expected %s", (int) e->pid,
                vm->comm ?: "NULL", e->comm ?: "NULL");
        ck_assert_msg(streq_ptr(vm->name, e->name), "%d: name %s, expected %s", (int) e->pid,
                vm->name ?: "NULL", e->name ?: "NULL");
        ck_assert_msg(streq_ptr(vm->vm_id, e->vm_id), "%d: vm_id %s, expected %s", (int) e->pid,
                vm->vm_id ?: "NULL", e->vm_id ?: "NULL");
        ck_assert_msg(streq_ptr(vm->cpu, e->cpu), "%d: cpu %s, expected %s", (int) e->pid, vm->cpu ?: "NULL",
                e->cpu ?: "NULL");
        ck_assert_msg(vm->manager == e->manager, "%d: manager %s, expected %s", (int) e->pid,
                nv_vm_manager_to_string(vm->manager), nv_vm_manager_to_string(e->manager));
        ck_assert_msg(vm->nesting == e->nesting, "%d: nesting %s, expected %s", (int) e->pid,
                nv_vm_nesting_to_string(vm->nesting), nv_vm_nesting_to_string(e->nesting));
}

static void check_scan(const char *fixture, const Expect *expect, size_t n_expect, size_t n_uninspected)
{
        _cleanup_(nv_vm_list_done) NvVmList l = {};

        use_procs(fixture);
        ck_assert_int_eq(nv_vm_list_scan(&l), 0);
        for (size_t i = 0; i < l.n_vms; i++)
                fprintf(stderr, "%s: %d %s %s\n", fixture, (int) l.vms[i].pid, strempty(l.vms[i].comm),
                        nv_vm_manager_to_string(l.vms[i].manager));
        ck_assert_uint_eq(l.n_vms, n_expect);
        ck_assert_uint_eq(l.n_uninspected, n_uninspected);
        for (size_t i = 0; i < n_expect; i++)
                check_vm(l.vms + i, expect + i);

        nv_vm_list_done(&l);
        ck_assert_ptr_null(l.vms);
        ck_assert_uint_eq(l.n_vms, 0);
}

START_TEST(test_scan_proxmox)
{
        static const Expect expect[] = {
                { 2301, 0, "kvm", "pve-lab", "100", "host,+kvm_pv_eoi,+kvm_pv_unhalt", NV_VM_MANAGER_PROXMOX,
                        NV_VM_NESTING_EXPOSED },
                { 2417, 0, "kvm", "web01", "101", "kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep",
                        NV_VM_MANAGER_PROXMOX, NV_VM_NESTING_HIDDEN },
                { 2530, 0, "kvm", "nested-lab", "102",
                        "qemu64,+aes,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+pni,+popcnt,+sse4.1,+sse4.2,+ssse3,"
                        "+vmx",
                        NV_VM_MANAGER_PROXMOX, NV_VM_NESTING_EXPOSED },
                { 2588, 0, "kvm", "ci-runner", "103", "host,-vmx", NV_VM_MANAGER_PROXMOX,
                        NV_VM_NESTING_HIDDEN },
                /* 104.pid names pid 2650 */
                { 2644, 0, "kvm", "old-db", NONE, "host,+kvm_pv_eoi,+kvm_pv_unhalt", NV_VM_MANAGER_QEMU,
                        NV_VM_NESTING_EXPOSED },
        };
        check_scan("proxmox", expect, ELEMENTSOF(expect), 0);
}
END_TEST

START_TEST(test_scan_libvirt)
{
        static const Expect expect[] = {
                { 1020, 0, "libvirtd", NONE, NONE, NONE, NV_VM_MANAGER_OTHER, NV_VM_NESTING_UNKNOWN },
                { 3100, 64055, "qemu-system-x86", "win11", NONE,
                        "host,migratable=on,hv-time=on,hv-relaxed=on,hv-vapic=on,hv-spinlocks=0x1fff",
                        NV_VM_MANAGER_LIBVIRT, NV_VM_NESTING_EXPOSED },
                { 3202, 64055, "qemu-system-x86", "build,box", NONE,
                        "Skylake-Client-IBRS,ss=on,vmx=on,pdcm=on,hypervisor=on,tsc-adjust=on,clflushopt=on,"
                        "umip=on,md-clear=on,stibp=on,arch-capabilities=on,ssbd=on,xsaves=on,pdpe1gb=on,"
                        "ibpb=on,ibrs=on,amd-stibp=on,amd-ssbd=on,rsba=on,skip-l1dfl-vmentry=on,"
                        "pschange-mc-no=on",
                        NV_VM_MANAGER_LIBVIRT, NV_VM_NESTING_EXPOSED },
                { 3305, 64055, "qemu-system-x86", "db", NONE,
                        "EPYC-Rome,x2apic=on,tsc-deadline=on,hypervisor=on,tsc-adjust=on,stibp=on,"
                        "arch-capabilities=on,ssbd=on,xsaves=on,cmp-legacy=on,amd-ssbd=on,virt-ssbd=on,"
                        "svm=off,npt=on,nrip-save=on",
                        NV_VM_MANAGER_LIBVIRT, NV_VM_NESTING_HIDDEN },
                { 3410, 64055, "qemu-system-x86", "legacy", NONE, NONE, NV_VM_MANAGER_LIBVIRT,
                        NV_VM_NESTING_UNKNOWN },
                { 3520, 64055, "qemu-system-x86", "old-web", NONE, "Haswell-noTSX-IBRS,vmx=on",
                        NV_VM_MANAGER_QEMU, NV_VM_NESTING_EXPOSED },
                { 3600, 64055, "qemu-system-x86", NONE, NONE, NONE, NV_VM_MANAGER_QEMU,
                        NV_VM_NESTING_HIDDEN },
                { 3700, 0, "qemu-system-x86", "scratch", NONE, "host", NV_VM_MANAGER_QEMU,
                        NV_VM_NESTING_EXPOSED },
        };
        check_scan("libvirt", expect, ELEMENTSOF(expect), 0);
}
END_TEST

START_TEST(test_scan_plain)
{
        static const Expect expect[] = {
                { 5120, 1000, "qemu-system-x86", "lab", NONE, "qemu64", NV_VM_MANAGER_QEMU,
                        NV_VM_NESTING_HIDDEN },
                { 5233, 1000, "qemu-dev", "dev,box", NONE, "max", NV_VM_MANAGER_QEMU,
                        NV_VM_NESTING_EXPOSED },
                { 5301, 1000, "qemu-system-x86", NONE, NONE, NONE, NV_VM_MANAGER_QEMU,
                        NV_VM_NESTING_UNKNOWN },
                { 5410, 1000, "qemu-system-x86", NONE, NONE, NONE, NV_VM_MANAGER_QEMU,
                        NV_VM_NESTING_HIDDEN },
                { 6001, 1000, "firecracker", NONE, NONE, NONE, NV_VM_MANAGER_FIRECRACKER,
                        NV_VM_NESTING_UNKNOWN },
                { 6002, 123, "firecracker", NONE, NONE, NONE, NV_VM_MANAGER_FIRECRACKER,
                        NV_VM_NESTING_UNKNOWN },
                { 6100, 1000, "crosvm", NONE, NONE, NONE, NV_VM_MANAGER_CROSVM, NV_VM_NESTING_UNKNOWN },
                { 6200, 1000, "cloud-hyperviso", NONE, NONE, NONE, NV_VM_MANAGER_CLOUD_HYPERVISOR,
                        NV_VM_NESTING_UNKNOWN },
        };
        /* 7001's fd listing cannot be read; 7002 and 7003 are gone. */
        check_scan("plain", expect, ELEMENTSOF(expect), 1);
}
END_TEST

START_TEST(test_scan_no_proc)
{
        NvVmList l = { .n_vms = 42 };

        ck_assert_int_eq(setenv("NESTVIRT_ROOT", "/nonexistent-nestvirt-root", 1), 0);
        ck_assert_int_eq(nv_vm_list_scan(&l), -ENOENT);
        /* Untouched on failure. */
        ck_assert_uint_eq(l.n_vms, 42);
}
END_TEST

START_TEST(test_kvm_holders)
{
        _cleanup_strv_free_ char **l = NULL;
        static const char *const expect[] = {
                "1020 (libvirtd)",
                "3100 (qemu-system-x86)",
                "3202 (qemu-system-x86)",
                "3305 (qemu-system-x86)",
                "3410 (qemu-system-x86)",
                "3520 (qemu-system-x86)",
                "3600 (qemu-system-x86)",
                "3700 (qemu-system-x86)",
        };

        use_procs("libvirt");
        ck_assert_int_eq(nv_kvm_holders(&l), 0);
        ck_assert_ptr_nonnull(l);
        ck_assert_uint_eq(strv_length(l), ELEMENTSOF(expect));
        for (size_t i = 0; i < ELEMENTSOF(expect); i++)
                ck_assert_str_eq(l[i], expect[i]);
}
END_TEST

static void make_holder(NvFixture *f, pid_t pid, const char *target)
{
        _cleanup_free_ char *link = NULL;
        char path[PATH_MAX];

        snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
        ck_assert_int_eq(nv_fixture_write(f, path, "holder\n"), 0);
        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        ck_assert_int_eq(nv_fixture_write(f, path, "Name:\tholder\nUid:\t0\t0\t0\t0\n"), 0);
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
        ck_assert_int_eq(nv_fixture_write(f, path, "holder"), 0);
        snprintf(path, sizeof(path), "%s/proc/%d/fd", f->root, (int) pid);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        ck_assert_int_ge(asprintf(&link, "%s/3", path), 0);
        ck_assert_int_eq(symlink(target, link), 0);
}

/* Which fd link targets make a holder, one process per target. */
START_TEST(test_link_targets)
{
        static const struct {
                const char *device; /* NESTVIRT_KVM_DEVICE, or NULL */
                const char *target;
                bool holds;
        } cases[] = {
                { NULL, "/dev/kvm", true },
                { NULL, "/dev/kvm (deleted)", true },
                { NULL, "anon_inode:kvm-vm", true },
                { NULL, "anon_inode:kvm-vcpu:3", true },
                { NULL, "anon_inode:kvm-vcpu-stats:0", true },
                { NULL, "anon_inode:kvm-vfio", true },
                { NULL, "anon_inode:[kvm-gmem]", true },
                { NULL, "/srv/jailer/firecracker/4f1c/root/dev/kvm", true },
                { NULL, "/dev/kvmx", false },
                { NULL, "/dev/kvm0", false },
                { NULL, "/dev/kvm (deleted) ", false },
                { NULL, "/home/user/kvm", false },
                { NULL, "/home/user/dev/kvm.img", false },
                { NULL, "anon_inode:kvm", false },
                { NULL, "anon_inode:[eventfd]", false },
                { NULL, "socket:[31337]", false },
                { NULL, "/dev/null", false },
                { "/tmp/fake-kvm", "/tmp/fake-kvm", true },
                { "/tmp/fake-kvm", "/tmp/fake-kvm (deleted)", true },
                { "/tmp/fake-kvm", "/tmp/fake-kvm2", false },
                { "/tmp/fake-kvm", "/tmp/fake", false },
                /* the real device and VM fds are holders whatever the device named */
                { "/tmp/fake-kvm", "/dev/kvm", true },
                { "/tmp/fake-kvm", "anon_inode:kvm-vm", true },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(nv_vm_list_done) NvVmList l = {};
                NvFixture *f = NULL;

                ck_assert_int_eq(nv_fixture_new(NULL, &f), 0);
                make_holder(f, 100, cases[i].target);
                /* a neighbour that never holds anything */
                make_holder(f, 200, "/dev/pts/0");
                if (cases[i].device)
                        ck_assert_int_eq(setenv("NESTVIRT_KVM_DEVICE", cases[i].device, 1), 0);
                else
                        ck_assert_int_eq(unsetenv("NESTVIRT_KVM_DEVICE"), 0);

                ck_assert_int_eq(nv_vm_list_scan(&l), 0);
                ck_assert_uint_eq(l.n_uninspected, 0);
                ck_assert_msg(l.n_vms == (cases[i].holds ? 1u : 0u),
                        "'%s' (device %s): %zu holders, expected %d", cases[i].target,
                        cases[i].device ?: "default", l.n_vms, cases[i].holds);
                if (cases[i].holds) {
                        ck_assert_int_eq(l.vms[0].pid, 100);
                        ck_assert_str_eq(l.vms[0].comm, "holder");
                }
                nv_fixture_free(f);
        }
}
END_TEST

START_TEST(test_cpu_nesting)
{
        static const struct {
                const char *cpu;
                NvVmNesting nesting;
        } cases[] = {
                /* no -cpu: qemu64, svm off under KVM */
                { NULL, NV_VM_NESTING_HIDDEN },
                { "host", NV_VM_NESTING_EXPOSED },
                { "max", NV_VM_NESTING_EXPOSED },
                { "host,+kvm_pv_eoi,+kvm_pv_unhalt", NV_VM_NESTING_EXPOSED },
                { "host,migratable=on", NV_VM_NESTING_EXPOSED },
                { "host,-vmx", NV_VM_NESTING_HIDDEN },
                { "host,-svm", NV_VM_NESTING_HIDDEN },
                { "host,vmx=off", NV_VM_NESTING_HIDDEN },
                { "max,svm=off", NV_VM_NESTING_HIDDEN },
                { "host,vmx=no", NV_VM_NESTING_HIDDEN },
                { "host,vmx=false", NV_VM_NESTING_HIDDEN },
                { "host,vmx=on", NV_VM_NESTING_EXPOSED },
                /* "-flag" wins over "+flag" whatever the order */
                { "host,-vmx,+vmx", NV_VM_NESTING_HIDDEN },
                /* "+flag" wins over "flag=off" */
                { "host,vmx=off,+vmx", NV_VM_NESTING_EXPOSED },
                /* the last "flag=value" wins */
                { "host,vmx=off,vmx=on", NV_VM_NESTING_EXPOSED },
                { "host,vmx=on,vmx=off", NV_VM_NESTING_HIDDEN },
                /* an invalid value changes nothing (QEMU would not start) */
                { "host,vmx=maybe", NV_VM_NESTING_EXPOSED },
                { "qemu64", NV_VM_NESTING_HIDDEN },
                { "kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+sep,+lahf_lm", NV_VM_NESTING_HIDDEN },
                { "x86-64-v2-AES,+vmx", NV_VM_NESTING_EXPOSED },
                { "qemu64,+aes,enforce,+pni,+popcnt,+sse4.1,+sse4.2,+ssse3,+vmx", NV_VM_NESTING_EXPOSED },
                { "EPYC-v4,+svm", NV_VM_NESTING_EXPOSED },
                { "EPYC-Rome,svm=on", NV_VM_NESTING_EXPOSED },
                { "EPYC-Rome,svm=off", NV_VM_NESTING_HIDDEN },
                { "EPYC-Rome", NV_VM_NESTING_HIDDEN },
                { "Cooperlake-v2,vmx=on", NV_VM_NESTING_EXPOSED },
                { "Cooperlake-v2,vmx", NV_VM_NESTING_EXPOSED },
                { "Cooperlake-v2,svm", NV_VM_NESTING_EXPOSED },
                { "Skylake-Client,+vmx,-vmx", NV_VM_NESTING_HIDDEN },
                { "Skylake-Client,vmx=on,-vmx", NV_VM_NESTING_HIDDEN },
                { "Skylake-Client,hv-evmcs", NV_VM_NESTING_HIDDEN },
                /* names that merely contain the flags */
                { "Skylake-Client,+vmx-apicv-xapic,+vmx-posted-intr", NV_VM_NESTING_HIDDEN },
                { "host,-vmx-apicv-xapic", NV_VM_NESTING_EXPOSED },
                { "hostile", NV_VM_NESTING_HIDDEN },
                { "maximal,+kvm_pv_eoi", NV_VM_NESTING_HIDDEN },
                { "", NV_VM_NESTING_HIDDEN },
                { ",+vmx", NV_VM_NESTING_EXPOSED },
                { "host,", NV_VM_NESTING_EXPOSED },
                { "host,,-vmx", NV_VM_NESTING_HIDDEN },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                NvVmNesting n = nv_vm_cpu_nesting(cases[i].cpu);
                ck_assert_msg(n == cases[i].nesting, "'%s': %s, expected %s", cases[i].cpu ?: "NULL",
                        nv_vm_nesting_to_string(n), nv_vm_nesting_to_string(cases[i].nesting));
        }
}
END_TEST

/* An fd entry that cannot be read (EACCES on a real host, EINVAL here where it is no link) and no
 * KVM link beside it: the process may hold KVM, so it is counted, not listed. A KVM link beside
 * it settles the question. */
START_TEST(test_fd_entry_unreadable)
{
        for (int with_kvm = 0; with_kvm <= 1; with_kvm++) {
                _cleanup_(nv_vm_list_done) NvVmList l = {};
                _cleanup_free_ char *link = NULL;
                NvFixture *f = NULL;

                ck_assert_int_eq(nv_fixture_new(NULL, &f), 0);
                ck_assert_int_eq(unsetenv("NESTVIRT_KVM_DEVICE"), 0);
                make_holder(f, 100, "/dev/pts/0");
                if (with_kvm) {
                        ck_assert_int_ge(asprintf(&link, "%s/proc/100/fd/4", f->root), 0);
                        ck_assert_int_eq(symlink("anon_inode:kvm-vm", link), 0);
                }
                /* Several, made after the link: whatever order readdir returns, some come first. */
                for (int fd = 5; fd < 10; fd++) {
                        char path[64];
                        snprintf(path, sizeof(path), "/proc/100/fd/%d", fd);
                        ck_assert_int_eq(nv_fixture_write(f, path, ""), 0);
                }

                ck_assert_int_eq(nv_vm_list_scan(&l), 0);
                ck_assert_uint_eq(l.n_vms, (with_kvm ? 1 : 0));
                ck_assert_uint_eq(l.n_uninspected, (with_kvm ? 0 : 1));
                nv_fixture_free(f);
        }
}
END_TEST

/* Joins words with NULs, as in /proc/PID/cmdline, with the final NUL (nul) or without. */
static size_t make_cmdline(char *buf, size_t size, const char *const *argv, bool nul)
{
        size_t len = 0;

        for (const char *const *a = argv; *a; a++) {
                size_t l = strlen(*a) + 1;
                ck_assert_uint_le(len + l, size);
                memcpy(buf + len, *a, l);
                len += l;
        }
        return nul || len == 0 ? len : len - 1;
}

typedef struct ParseCase {
        const char *argv[16];
        const char *name, *vm_id, *cpu;
        NvVmManager manager;
        NvVmNesting nesting;
} ParseCase;

START_TEST(test_parse_cmdline)
{
        static const ParseCase cases[] = {
                { { "/usr/bin/kvm", "-id", "100", "-name", "pve-lab,debug-threads=on", "-cpu", "host" },
                        "pve-lab", "100", "host", NV_VM_MANAGER_QEMU, NV_VM_NESTING_EXPOSED },
                { { "/usr/bin/qemu-system-x86_64", "-name", "guest=win11,debug-threads=on", "-S" }, "win11",
                        NONE, NONE, NV_VM_MANAGER_QEMU, NV_VM_NESTING_HIDDEN },
                { { "qemu-system-x86_64", "-name", "lab" }, "lab", NONE, NONE, NV_VM_MANAGER_QEMU,
                        NV_VM_NESTING_HIDDEN },
                /* ",," is a comma, in the implied form and after guest= */
                { { "qemu-system-x86_64", "-name", "a,,b,debug-threads=on" }, "a,b", NONE, NONE,
                        NV_VM_MANAGER_QEMU, NV_VM_NESTING_HIDDEN },
                { { "qemu-system-x86_64", "-name", "guest=a,,b,,,,c,debug-threads=on" }, "a,b,,c", NONE,
                        NONE, NV_VM_MANAGER_QEMU, NV_VM_NESTING_HIDDEN },
                { { "qemu-system-x86_64", "-name", "x,,=y" }, "x,=y", NONE, NONE, NV_VM_MANAGER_QEMU,
                        NV_VM_NESTING_HIDDEN },
                /* guest= anywhere; later -name options merge into earlier ones */
                { { "qemu-system-x86_64", "-name", "process=q,guest=g" }, "g", NONE, NONE,
                        NV_VM_MANAGER_QEMU, NV_VM_NESTING_HIDDEN },
                { { "qemu-system-x86_64", "-name", "first", "-name", "debug-threads=on" }, "first", NONE,
                        NONE, NV_VM_MANAGER_QEMU, NV_VM_NESTING_HIDDEN },
                { { "qemu-system-x86_64", "-name", "first", "-name", "guest=second" }, "second", NONE, NONE,
                        NV_VM_MANAGER_QEMU, NV_VM_NESTING_HIDDEN },
                { { "qemu-system-x86_64", "-name", "debug-threads=on" }, NONE, NONE, NONE,
                        NV_VM_MANAGER_QEMU, NV_VM_NESTING_HIDDEN },
                { { "qemu-system-x86_64", "-name", "" }, NONE, NONE, NONE, NV_VM_MANAGER_QEMU,
                        NV_VM_NESTING_HIDDEN },
                { { "qemu-system-x86_64", "-name", "guest=,process=p" }, NONE, NONE, NONE,
                        NV_VM_MANAGER_QEMU, NV_VM_NESTING_HIDDEN },
                /* two dashes */
                { { "qemu-system-x86_64", "--name", "dev", "--cpu", "max", "--id", "7" }, "dev", "7", "max",
                        NV_VM_MANAGER_QEMU, NV_VM_NESTING_EXPOSED },
                /* three dashes is not an option; "-name=x" neither */
                { { "qemu-system-x86_64", "---name", "dev", "-name=x", "-cpu=host" }, NONE, NONE, NONE,
                        NV_VM_MANAGER_QEMU, NV_VM_NESTING_HIDDEN },
                /* the last -cpu wins */
                { { "qemu-system-x86_64", "-enable-kvm", "-cpu", "max", "-name", "lab", "-cpu", "qemu64" },
                        "lab", NONE, "qemu64", NV_VM_MANAGER_QEMU, NV_VM_NESTING_HIDDEN },
                { { "kvm", "-cpu", "kvm64", "-cpu", "host,+vmx" }, NONE, NONE, "host,+vmx",
                        NV_VM_MANAGER_QEMU, NV_VM_NESTING_EXPOSED },
                /* missing values at the end of argv */
                { { "qemu-system-x86_64", "-cpu", "host", "-name" }, NONE, NONE, "host", NV_VM_MANAGER_QEMU,
                        NV_VM_NESTING_EXPOSED },
                { { "qemu-system-x86_64", "-name", "lab", "-cpu" }, "lab", NONE, NONE, NV_VM_MANAGER_QEMU,
                        NV_VM_NESTING_HIDDEN },
                { { "kvm", "-name", "lab", "-id" }, "lab", NONE, NONE, NV_VM_MANAGER_QEMU,
                        NV_VM_NESTING_HIDDEN },
                /* a value is not an option even when it looks like one */
                { { "qemu-system-x86_64", "-name", "-cpu", "host" }, "-cpu", NONE, NONE, NV_VM_MANAGER_QEMU,
                        NV_VM_NESTING_HIDDEN },
                /* machine types 2.1 and older keep a named model's svm */
                { { "qemu-system-x86_64", "-M", "pc-1.0" }, NONE, NONE, NONE, NV_VM_MANAGER_QEMU,
                        NV_VM_NESTING_UNKNOWN },
                { { "qemu-system-x86_64", "-machine", "pc-i440fx-2.1,accel=kvm", "-cpu", "Opteron_G3" },
                        NONE, NONE, "Opteron_G3", NV_VM_MANAGER_QEMU, NV_VM_NESTING_UNKNOWN },
                { { "qemu-system-x86_64", "-machine", "type=pc-q35-2.0" }, NONE, NONE, NONE,
                        NV_VM_MANAGER_QEMU, NV_VM_NESTING_UNKNOWN },
                { { "qemu-system-x86_64", "-machine", "pc-i440fx-2.0", "-machine", "accel=kvm" }, NONE, NONE,
                        NONE, NV_VM_MANAGER_QEMU, NV_VM_NESTING_UNKNOWN },
                { { "qemu-system-x86_64", "-machine", "pc-i440fx-2.0", "-machine", "pc-q35-8.2" }, NONE,
                        NONE, NONE, NV_VM_MANAGER_QEMU, NV_VM_NESTING_HIDDEN },
                { { "qemu-system-x86_64", "-machine", "pc-i440fx-2.2" }, NONE, NONE, NONE,
                        NV_VM_MANAGER_QEMU, NV_VM_NESTING_HIDDEN },
                { { "qemu-system-x86_64", "-machine", "type=pc-i440fx-8.1+pve0" }, NONE, NONE, NONE,
                        NV_VM_MANAGER_QEMU, NV_VM_NESTING_HIDDEN },
                /* passthrough models do not depend on the machine type */
                { { "qemu-system-x86_64", "-M", "pc-1.0", "-cpu", "host" }, NONE, NONE, "host",
                        NV_VM_MANAGER_QEMU, NV_VM_NESTING_EXPOSED },
                { { "qemu-system-x86_64", "-M", "pc-1.0", "-cpu", "host,-svm" }, NONE, NONE, "host,-svm",
                        NV_VM_MANAGER_QEMU, NV_VM_NESTING_HIDDEN },
                /* manager guesses from argv[0] */
                { { "/usr/libexec/qemu-kvm", "-name", "guest=rhel" }, "rhel", NONE, NONE, NV_VM_MANAGER_QEMU,
                        NV_VM_NESTING_HIDDEN },
                { { "qemu-system-aarch64", "-cpu", "host" }, NONE, NONE, "host", NV_VM_MANAGER_QEMU,
                        NV_VM_NESTING_EXPOSED },
                { { "/usr/bin/firecracker", "--id", "vm1", "--api-sock", "/run/fc.sock" }, NONE, NONE, NONE,
                        NV_VM_MANAGER_FIRECRACKER, NV_VM_NESTING_UNKNOWN },
                { { "crosvm", "run", "vmlinux" }, NONE, NONE, NONE, NV_VM_MANAGER_CROSVM,
                        NV_VM_NESTING_UNKNOWN },
                { { "/usr/local/bin/cloud-hypervisor", "--kernel", "fw" }, NONE, NONE, NONE,
                        NV_VM_MANAGER_CLOUD_HYPERVISOR, NV_VM_NESTING_UNKNOWN },
                /* not QEMU: its -name and -cpu mean nothing to us */
                { { "/usr/bin/virsh", "-name", "x", "-cpu", "host" }, NONE, NONE, NONE, NV_VM_MANAGER_OTHER,
                        NV_VM_NESTING_UNKNOWN },
                { { "qemu-img", "info", "-cpu" }, NONE, NONE, NONE, NV_VM_MANAGER_OTHER,
                        NV_VM_NESTING_UNKNOWN },
                { { "kvmtool" }, NONE, NONE, NONE, NV_VM_MANAGER_OTHER, NV_VM_NESTING_UNKNOWN },
                { { "/opt/kvm/bin/run" }, NONE, NONE, NONE, NV_VM_MANAGER_OTHER, NV_VM_NESTING_UNKNOWN },
                { { "/usr/bin/kvm/" }, NONE, NONE, NONE, NV_VM_MANAGER_OTHER, NV_VM_NESTING_UNKNOWN },
                /* a kernel thread: empty command line */
                { {}, NONE, NONE, NONE, NV_VM_MANAGER_OTHER, NV_VM_NESTING_UNKNOWN },
                /* an empty argv[0] */
                { { "", "-cpu", "host" }, NONE, NONE, NONE, NV_VM_MANAGER_OTHER, NV_VM_NESTING_UNKNOWN },
                /* an empty argument is an argument */
                { { "kvm", "-name", "", "-cpu", "host" }, NONE, NONE, "host", NV_VM_MANAGER_QEMU,
                        NV_VM_NESTING_EXPOSED },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                for (int nul = 0; nul <= 1; nul++) {
                        const ParseCase *c = cases + i;
                        NvVm vm = { .name = strdup("stale"), .nesting = NV_VM_NESTING_EXPOSED };
                        char buf[1024];
                        size_t len = make_cmdline(buf, sizeof(buf), c->argv, nul);

                        ck_assert_int_eq(nv_vm_parse_cmdline(buf, len, &vm), 0);
                        ck_assert_msg(streq_ptr(vm.name, c->name), "case %zu/%d: name %s, expected %s", i,
                                nul, vm.name ?: "NULL", c->name ?: "NULL");
                        ck_assert_msg(streq_ptr(vm.vm_id, c->vm_id), "case %zu/%d: vm_id %s, expected %s", i,
                                nul, vm.vm_id ?: "NULL", c->vm_id ?: "NULL");
                        ck_assert_msg(streq_ptr(vm.cpu, c->cpu), "case %zu/%d: cpu %s, expected %s", i, nul,
                                vm.cpu ?: "NULL", c->cpu ?: "NULL");
                        ck_assert_msg(vm.manager == c->manager, "case %zu/%d: manager %s, expected %s", i,
                                nul, nv_vm_manager_to_string(vm.manager),
                                nv_vm_manager_to_string(c->manager));
                        ck_assert_msg(vm.nesting == c->nesting, "case %zu/%d: nesting %s, expected %s", i,
                                nul, nv_vm_nesting_to_string(vm.nesting),
                                nv_vm_nesting_to_string(c->nesting));
                        free(vm.name);
                        free(vm.vm_id);
                        free(vm.cpu);
                }
}
END_TEST

START_TEST(test_parse_cmdline_unterminated)
{
        /* A read cut short in the middle of a value: the part that is there counts. */
        static const char cmdline[] = "kvm\0-name\0pve-l";
        NvVm vm = {};

        ck_assert_int_eq(nv_vm_parse_cmdline(cmdline, sizeof(cmdline) - 1, &vm), 0);
        ck_assert_str_eq(vm.name, "pve-l");
        /* len counts, not the NULs: the same bytes cut before the value. */
        free(vm.name);
        vm = (NvVm){};
        ck_assert_int_eq(nv_vm_parse_cmdline(cmdline, 10, &vm), 0);
        ck_assert_ptr_null(vm.name);
        ck_assert_int_eq(vm.manager, NV_VM_MANAGER_QEMU);
}
END_TEST

START_TEST(test_to_string)
{
        ck_assert_str_eq(nv_vm_manager_to_string(NV_VM_MANAGER_OTHER), "other");
        ck_assert_str_eq(nv_vm_manager_to_string(NV_VM_MANAGER_QEMU), "qemu");
        ck_assert_str_eq(nv_vm_manager_to_string(NV_VM_MANAGER_PROXMOX), "proxmox");
        ck_assert_str_eq(nv_vm_manager_to_string(NV_VM_MANAGER_LIBVIRT), "libvirt");
        ck_assert_str_eq(nv_vm_manager_to_string(NV_VM_MANAGER_FIRECRACKER), "firecracker");
        ck_assert_str_eq(nv_vm_manager_to_string(NV_VM_MANAGER_CROSVM), "crosvm");
        ck_assert_str_eq(nv_vm_manager_to_string(NV_VM_MANAGER_CLOUD_HYPERVISOR), "cloud-hypervisor");
        ck_assert_str_eq(nv_vm_manager_to_string((NvVmManager) 99), "other");
        ck_assert_str_eq(nv_vm_nesting_to_string(NV_VM_NESTING_EXPOSED), "exposed");
        ck_assert_str_eq(nv_vm_nesting_to_string(NV_VM_NESTING_HIDDEN), "hidden");
        ck_assert_str_eq(nv_vm_nesting_to_string(NV_VM_NESTING_UNKNOWN), "unknown");
        ck_assert_str_eq(nv_vm_nesting_to_string((NvVmNesting) 99), "unknown");
}
END_TEST

/* A real child that holds a file standing for /dev/kvm: the scan over the real /proc finds it
 * with the name the child gave itself. */
START_TEST(test_scan_real_process)
{
        _cleanup_(nv_vm_list_done) NvVmList l = {};
        const char *tmp = getenv("TMPDIR");
        char device[PATH_MAX], resolved[PATH_MAX], c;
        int fd, ready[2], status;
        const NvVm *found = NULL;
        pid_t child;

        snprintf(device, sizeof(device), "%s/nv-fake-kvm-XXXXXX", isempty(tmp) ? "/tmp" : tmp);
        fd = mkstemp(device);
        ck_assert_int_ge(fd, 0);
        close(fd);
        /* The fd link shows the resolved path. */
        ck_assert_ptr_nonnull(realpath(device, resolved));
        ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);

        child = fork();
        ck_assert_int_ge(child, 0);
        if (child == 0) {
                int kvm = open(resolved, O_RDWR | O_CLOEXEC);
                (void) prctl(PR_SET_NAME, "nv-fake-vm");
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (kvm < 0 || write(ready[1], "x", 1) != 1)
                        _exit(1);
                for (;;)
                        pause();
        }
        close(ready[1]);
        ck_assert_int_eq(read(ready[0], &c, 1), 1);
        close(ready[0]);

        ck_assert_int_eq(unsetenv("NESTVIRT_ROOT"), 0);
        ck_assert_int_eq(setenv("NESTVIRT_KVM_DEVICE", resolved, 1), 0);
        ck_assert_int_eq(nv_vm_list_scan(&l), 0);

        for (size_t i = 0; i < l.n_vms; i++) {
                if (i > 0)
                        ck_assert_int_lt(l.vms[i - 1].pid, l.vms[i].pid);
                if (l.vms[i].pid == child)
                        found = l.vms + i;
                /* Not us: we closed the file before forking. */
                ck_assert_int_ne(l.vms[i].pid, getpid());
        }

        kill(child, SIGKILL);
        ck_assert_int_eq(waitpid(child, &status, 0), child);
        unlink(resolved);

        ck_assert_msg(found, "child %d not found among %zu holders", (int) child, l.n_vms);
        ck_assert_str_eq(found->comm, "nv-fake-vm");
        ck_assert_uint_eq(found->uid, getuid());
        /* argv[0] is this test program. */
        ck_assert_int_eq(found->manager, NV_VM_MANAGER_OTHER);
        ck_assert_int_eq(found->nesting, NV_VM_NESTING_UNKNOWN);
        ck_assert_ptr_null(found->name);
        ck_assert_ptr_null(found->vm_id);
        ck_assert_ptr_null(found->cpu);
}
END_TEST

/* Processes of other users cannot be inspected (EACCES on /proc/PID/fd): they are counted, not
 * guessed. As root, a child drops to nobody and looks at this (root) test process. */
START_TEST(test_scan_uninspected_real)
{
        int status;
        pid_t child;

        ck_assert_int_eq(unsetenv("NESTVIRT_ROOT"), 0);
        ck_assert_int_eq(unsetenv("NESTVIRT_KVM_DEVICE"), 0);

        if (geteuid() != 0) {
                NvVmList l = {};
                char path[64];

                /* PID 1 belongs to another user here, or this check cannot be made. */
                snprintf(path, sizeof(path), "/proc/1/fd");
                ck_assert_msg(access(path, R_OK) < 0, "PID 1's fds are readable: run this test as root");
                ck_assert_int_eq(nv_vm_list_scan(&l), 0);
                ck_assert_uint_ge(l.n_uninspected, 1);
                nv_vm_list_done(&l);
                return;
        }

        child = fork();
        ck_assert_int_ge(child, 0);
        if (child == 0) {
                NvVmList l = {};
                char path[64];
                int r;

                if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
                        setresuid(65534, 65534, 65534) < 0)
                        _exit(10);
                /* The parent's fds are closed to nobody... */
                snprintf(path, sizeof(path), "/proc/%d/fd", (int) getppid());
                if (access(path, R_OK) == 0)
                        _exit(11);
                r = nv_vm_list_scan(&l);
                if (r < 0)
                        _exit(12);
                /* ...so the scan counts it (and all other root processes) as uninspected. */
                _exit(l.n_uninspected >= 1 ? 0 : 13);
        }
        ck_assert_int_eq(waitpid(child, &status, 0), child);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static Suite *vm_discovery_suite(void)
{
        Suite *s = suite_create("vm-discovery");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_scan_proxmox);
        tcase_add_test(tc, test_scan_libvirt);
        tcase_add_test(tc, test_scan_plain);
        tcase_add_test(tc, test_scan_no_proc);
        tcase_add_test(tc, test_kvm_holders);
        tcase_add_test(tc, test_link_targets);
        tcase_add_test(tc, test_fd_entry_unreadable);
        tcase_add_test(tc, test_cpu_nesting);
        tcase_add_test(tc, test_parse_cmdline);
        tcase_add_test(tc, test_parse_cmdline_unterminated);
        tcase_add_test(tc, test_to_string);
        tcase_add_test(tc, test_scan_real_process);
        tcase_add_test(tc, test_scan_uninspected_real);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return nv_fixture_run_suite(vm_discovery_suite());
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Check()'s findings (nv_findings_check) on fixture hosts: for every finding a host that raises it
 * and hosts that must not. VM lists are built by hand; their discovery has its own tests. Runs with
 * the test preload library (LD_PRELOAD), which shows libkmod the fixture's /sys/module and
 * /proc/cmdline.
 */
#include <check.h>

#include "dropin.h"
#include "findings.h"
#include "fixture.h"
#include "host.h"
#include "util.h"

/* Every id, in the order the checks run. */
static const char *const known_ids[] = {
        "unknown-vendor",
        "guest-without-extensions",
        "no-hardware-support",
        "nested-guest",
        "modules-disabled",
        "module-unavailable",
        "module-not-loaded",
        "module-builtin",
        "builtin-ignores-files",
        "invalid-option",
        "conflicting-settings",
        "overridden-by-cmdline",
        "live-differs-from-next-load",
        "ignored-file",
        "initramfs-includes-kvm",
        "slow-nested",
        "vms-cannot-start",
        "vms-require-nesting",
        "nested-disabled-vms-want-it",
        "vms-expose-nesting",
};

#define VM(p, n, id, mgr, nest)                                                                     \
        {                                                                                           \
                .pid = (p), .uid = 0, .comm = (char *) "qemu-system-x86", .name = (char *) (n),     \
                .vm_id = (char *) (id), .cpu = (char *) "host", .manager = (mgr), .nesting = (nest) \
        }

/* Two VMs expose nesting, one hides it, one cannot be told. */
static NvVm mixed_vms[] = {
        VM(4242, "web1", "101", NV_VM_MANAGER_PROXMOX, NV_VM_NESTING_EXPOSED),
        VM(4343, NULL, NULL, NV_VM_MANAGER_QEMU, NV_VM_NESTING_EXPOSED),
        VM(4444, "quiet", NULL, NV_VM_MANAGER_LIBVIRT, NV_VM_NESTING_HIDDEN),
        VM(4545, "fc1", NULL, NV_VM_MANAGER_FIRECRACKER, NV_VM_NESTING_UNKNOWN),
};
static NvVmList mixed = { mixed_vms, ELEMENTSOF(mixed_vms), 0 };

static NvVm hidden_vms[] = {
        VM(4444, "quiet", NULL, NV_VM_MANAGER_LIBVIRT, NV_VM_NESTING_HIDDEN),
        VM(4545, "fc1", NULL, NV_VM_MANAGER_FIRECRACKER, NV_VM_NESTING_UNKNOWN),
};
static NvVmList hidden = { hidden_vms, ELEMENTSOF(hidden_vms), 0 };

static NvVm one_vm[] = {
        VM(5000, "builder", NULL, NV_VM_MANAGER_LIBVIRT, NV_VM_NESTING_EXPOSED),
};
static NvVmList one = { one_vm, ELEMENTSOF(one_vm), 0 };

static NvVmList none = { NULL, 0, 0 };

/* The ids found, for failure messages. */
static const char *ids_of(const NvFindings *f)
{
        static char buf[1024];
        size_t l = 0;

        buf[0] = 0;
        for (size_t i = 0; i < f->n && l < sizeof(buf); i++)
                l += (size_t) snprintf(buf + l, sizeof(buf) - l, "%s%s", i ? " " : "", f->items[i].id);
        return f->n ? buf : "(none)";
}

/* Snapshots the current fixture root and checks it. */
static void check_root(const NvVmList *vms, NvFindings *ret)
{
        NvHost *h = NULL;

        ck_assert_int_eq(nv_host_load(&h), 0);
        ck_assert_int_eq(nv_findings_check(h, vms, ret), 0);
        nv_host_free(h);
}

static void check_host(const char *host, const NvVmList *vms, NvFindings *ret)
{
        NvFixture *f = NULL;

        ck_assert_int_eq(nv_fixture_new(host, &f), 0);
        check_root(vms, ret);
        nv_fixture_free(f);
}

static const NvFinding *find(const NvFindings *f, const char *id)
{
        for (size_t i = 0; i < f->n; i++)
                if (streq(f->items[i].id, id))
                        return &f->items[i];
        return NULL;
}

/* The finding id, present once, at level. */
static const NvFinding *expect(const NvFindings *f, const char *id, NvLevel level)
{
        const NvFinding *x = NULL;
        size_t n = 0;

        for (size_t i = 0; i < f->n; i++)
                if (streq(f->items[i].id, id)) {
                        x = &f->items[i];
                        n++;
                }
        ck_assert_msg(n == 1, "finding %s appears %zu times; findings: %s", id, n, ids_of(f));
        ck_assert_msg(x->level == level, "finding %s is %s, expected %s", id, nv_level_to_string(x->level),
                nv_level_to_string(level));
        return x;
}

static void expect_absent(const NvFindings *f, const char *id)
{
        ck_assert_msg(
                !find(f, id), "unexpected finding %s (%s)", id, find(f, id) ? find(f, id)->summary : "");
}

/* Exactly these ids in this order (NULL-terminated). */
static void expect_ids(const NvFindings *f, const char *const *ids)
{
        size_t n = 0;

        while (ids[n])
                n++;
        ck_assert_msg(f->n == n, "%zu findings (%s), expected %zu", f->n, ids_of(f), n);
        for (size_t i = 0; i < n; i++)
                ck_assert_msg(streq(f->items[i].id, ids[i]), "finding %zu is %s, expected %s (%s)", i,
                        f->items[i].id, ids[i], ids_of(f));
}
#define EXPECT_IDS(f, ...) expect_ids((f), (const char *const[]){ __VA_ARGS__, NULL })

#define HAS(s, needle)   ck_assert_msg(strstr((s), (needle)), "\"%s\" lacks \"%s\"", (s), (needle))
#define LACKS(s, needle) ck_assert_msg(!strstr((s), (needle)), "\"%s\" contains \"%s\"", (s), (needle))

static size_t count(const char *s, const char *needle)
{
        size_t n = 0;

        for (const char *p = s; (p = strstr(p, needle)); p++)
                n++;
        return n;
}

START_TEST(test_level_to_string)
{
        ck_assert_str_eq(nv_level_to_string(NV_LEVEL_INFO), "info");
        ck_assert_str_eq(nv_level_to_string(NV_LEVEL_WARNING), "warning");
        ck_assert_str_eq(nv_level_to_string(NV_LEVEL_ERROR), "error");
}
END_TEST

/* Nothing to say about healthy hosts, with or without VMs that leave nesting alone. */
START_TEST(test_healthy)
{
        static const char *const healthy[] = { "intel-host", "amd-host" };
        const NvVmList *lists[] = { NULL, &none, &hidden };

        for (size_t i = 0; i < ELEMENTSOF(healthy); i++)
                for (size_t j = 0; j < ELEMENTSOF(lists); j++) {
                        NvFindings f = {};
                        check_host(healthy[i], lists[j], &f);
                        ck_assert_msg(f.n == 0, "%s: %s", healthy[i], ids_of(&f));
                        nv_findings_done(&f);
                }
}
END_TEST

START_TEST(test_no_hardware_support)
{
        NvFixture *fx = NULL;
        NvFindings f = {};
        const NvFinding *x;

        /* Linux 6.1 on Intel without vmx: the firmware may have disabled VT-x. */
        ck_assert_int_eq(nv_fixture_new("check-intel-no-vmx", &fx), 0);
        check_root(NULL, &f);
        EXPECT_IDS(&f, "no-hardware-support");
        x = expect(&f, "no-hardware-support", NV_LEVEL_ERROR);
        HAS(x->summary, "GenuineIntel");
        HAS(x->summary, "vmx");
        HAS(x->summary, "/proc/cpuinfo");
        HAS(x->hint, "Linux 5.6");
        HAS(x->hint, "firmware");
        HAS(x->hint, "VT-x");
        nv_findings_done(&f);

        /* Before 5.6 the kernel did not hide vmx: no such claim. */
        ck_assert_int_eq(nv_fixture_write(fx, "/proc/sys/kernel/osrelease", "5.4.0-100-generic\n"), 0);
        check_root(NULL, &f);
        x = expect(&f, "no-hardware-support", NV_LEVEL_ERROR);
        LACKS(x->hint, "Since Linux 5.6");
        LACKS(x->hint, "in the firmware setup");
        HAS(x->hint, "the CPU lacks VT-x");
        nv_findings_done(&f);
        nv_fixture_free(fx);

        /* AMD without svm. */
        ck_assert_int_eq(nv_fixture_new("amd-host", &fx), 0);
        ck_assert_int_eq(
                nv_fixture_write(fx, "/proc/cpuinfo",
                        "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu vme de pse tsc lm\n"),
                0);
        check_root(NULL, &f);
        x = expect(&f, "no-hardware-support", NV_LEVEL_ERROR);
        HAS(x->summary, "AuthenticAMD");
        HAS(x->summary, "svm");
        HAS(x->hint, "SVM");
        expect_absent(&f, "guest-without-extensions");
        nv_findings_done(&f);
        nv_fixture_free(fx);

        check_host("intel-host", NULL, &f);
        expect_absent(&f, "no-hardware-support");
        nv_findings_done(&f);

        /* A guest gets its own finding. */
        check_host("guest-without-vmx", NULL, &f);
        expect_absent(&f, "no-hardware-support");
        nv_findings_done(&f);
}
END_TEST

START_TEST(test_guest_without_extensions)
{
        NvFindings f = {};
        const NvFinding *x;

        check_host("guest-without-vmx", NULL, &f);
        /* Without vmx kvm_intel cannot load: "not loaded" would add nothing. */
        EXPECT_IDS(&f, "guest-without-extensions");
        x = expect(&f, "guest-without-extensions", NV_LEVEL_ERROR);
        HAS(x->summary, "a VM on kvm whose hypervisor does not expose vmx to it");
        /* VMs still run here, without KVM: both managers' settings are named. */
        HAS(x->summary, "run only without KVM");
        HAS(x->summary, "qm set VMID --kvm 0");
        HAS(x->summary, "domain type `qemu`");
        LACKS(x->summary, "cannot run VMs of its own");
        HAS(x->hint, "hypervisor (L0) must expose vmx");
        HAS(x->hint, "qm set VMID --cpu host");
        HAS(x->hint, "+nested-virt");
        HAS(x->hint, "<cpu mode='host-passthrough'/>");
        HAS(x->hint, "power-cycle this VM");
        HAS(x->hint, "reboot inside the guest is not enough");
        nv_findings_done(&f);

        check_host("guest-with-vmx", NULL, &f);
        expect_absent(&f, "guest-without-extensions");
        nv_findings_done(&f);

        check_host("check-intel-no-vmx", NULL, &f);
        expect_absent(&f, "guest-without-extensions");
        nv_findings_done(&f);
}
END_TEST

/* guest-with-vmx as an AMD guest: the same tree with an AMD CPU and kvm_amd loaded instead. */
static NvFixture *amd_guest_new(void)
{
        NvFixture *fx = NULL;

        ck_assert_int_eq(nv_fixture_new("amd-host", &fx), 0);
        ck_assert_int_eq(nv_fixture_write(fx, "/proc/cpuinfo",
                                 "processor\t: 0\nvendor_id\t: AuthenticAMD\n"
                                 "flags\t\t: fpu vme de pse tsc lm svm npt hypervisor\n"),
                0);
        ck_assert_int_eq(nv_fixture_write(fx, "/sys/class/dmi/id/sys_vendor", "QEMU\n"), 0);
        return fx;
}

START_TEST(test_nested_guest)
{
        NvFixture *fx = NULL;
        NvFindings f = {};
        const NvFinding *x;

        /* The one thing to say about a healthy guest: nesting works, one level down. */
        check_host("guest-with-vmx", NULL, &f);
        EXPECT_IDS(&f, "nested-guest");
        x = expect(&f, "nested-guest", NV_LEVEL_INFO);
        HAS(x->summary, "a VM (L1) on qemu and sees vmx, so nesting works here");
        HAS(x->summary, "VMs of its own (L2)");
        HAS(x->summary, "10-30 % per level");
        HAS(x->hint, "kvm_intel's nested setting here");
        HAS(x->hint, "(L3)");
        LACKS(x->hint, "On AMD");
        nv_findings_done(&f);

        /* AMD: a warning, as this VM must not be saved while its VMs run. */
        fx = amd_guest_new();
        check_root(NULL, &f);
        EXPECT_IDS(&f, "nested-guest");
        x = expect(&f, "nested-guest", NV_LEVEL_WARNING);
        HAS(x->summary, "a VM (L1) on qemu and sees svm");
        HAS(x->hint, "must not live-migrate, save or snapshot this VM while its own VMs (L2) run");
        nv_findings_done(&f);

        /* A hypervisor that does not name itself. */
        ck_assert_int_eq(nv_fixture_remove(fx, "/sys/class/dmi/id/sys_vendor"), 0);
        check_root(NULL, &f);
        x = expect(&f, "nested-guest", NV_LEVEL_WARNING);
        HAS(x->summary, "on an unknown hypervisor and sees svm");
        nv_findings_done(&f);

        nv_fixture_free(fx);

        /* A module that is not loaded works as long as it can load. */
        ck_assert_int_eq(nv_fixture_new("intel-not-loaded", &fx), 0);
        ck_assert_int_eq(nv_fixture_write(fx, "/proc/cpuinfo",
                                 "processor\t: 0\nvendor_id\t: GenuineIntel\n"
                                 "flags\t\t: fpu vme de pse tsc lm vmx ept hypervisor\n"),
                0);
        check_root(NULL, &f);
        expect(&f, "nested-guest", NV_LEVEL_INFO);
        nv_findings_done(&f);
        ck_assert_int_eq(nv_fixture_write(fx, "/proc/sys/kernel/modules_disabled", "1\n"), 0);
        check_root(NULL, &f);
        expect_absent(&f, "nested-guest");
        nv_findings_done(&f);
        nv_fixture_free(fx);

        check_host("guest-without-vmx", NULL, &f);
        expect_absent(&f, "nested-guest");
        nv_findings_done(&f);

        check_host("amd-host", NULL, &f);
        expect_absent(&f, "nested-guest");
        nv_findings_done(&f);
}
END_TEST

#define PVE_CONF(name, ...) "name: " name "\nmemory: 2048\nostype: l26\n" __VA_ARGS__

/* Writes /etc/pve/qemu-server/VMID.conf, which makes the root a Proxmox VE node. */
static void write_pve_conf(NvFixture *fx, const char *vmid, const char *text)
{
        _cleanup_free_ char *path = NULL;

        ck_assert_int_ne(asprintf(&path, "/etc/pve/qemu-server/%s.conf", vmid), -1);
        ck_assert_int_eq(nv_fixture_write(fx, path, text), 0);
}

/* The StartBlocked sentence of the inventory entry label ("" for none) is want, or contains it
 * when whole is false. */
static void check_start_blocked(const char *label, const char *want, bool whole)
{
        NvHost *h = NULL;
        const NvVmEntry *e;
        const char *s;

        ck_assert_int_eq(nv_host_load(&h), 0);
        e = nv_inventory_find(&h->inventory, label);
        ck_assert_msg(e, "no entry %s", label);
        s = strempty(e->start_blocked);
        if (whole)
                ck_assert_str_eq(s, want);
        else
                HAS(s, want);
        nv_host_free(h);
}
#define START_BLOCKED(label, want)  check_start_blocked((label), (want), true)
#define START_BLOCKED_HAS(label, s) check_start_blocked((label), (s), false)

START_TEST(test_vms_cannot_start)
{
        NvFixture *fx = NULL;
        NvFindings f = {};
        const NvFinding *x;

        /* A guest without vmx, a Proxmox VE node with KVM's default (kvm: 1) and one kvm: 0. */
        ck_assert_int_eq(nv_fixture_new("guest-without-vmx", &fx), 0);
        write_pve_conf(fx, "100", PVE_CONF("web", "cpu: x86-64-v2-AES\n"));
        write_pve_conf(fx, "101", PVE_CONF("emulated", "kvm: 0\n"));
        write_pve_conf(fx, "102", PVE_CONF("arm", "arch: aarch64\n"));
        check_root(NULL, &f);
        EXPECT_IDS(&f, "guest-without-extensions", "vms-cannot-start");
        x = expect(&f, "vms-cannot-start", NV_LEVEL_ERROR);
        HAS(x->summary,
                "A VM is configured to use KVM, which needs vmx, so it will not start on this "
                "machine: web (proxmox 100).");
        LACKS(x->summary, "emulated");
        LACKS(x->summary, "arm");
        HAS(x->hint, "Run it without KVM (Proxmox VE: `qm set VMID --kvm 0`)");
        HAS(x->hint, "expose vmx to this VM and power-cycle it");
        LACKS(x->hint, "libvirt");
        nv_findings_done(&f);

        START_BLOCKED("proxmox_100",
                "This machine is a VM whose hypervisor does not expose vmx: a VM that uses KVM "
                "cannot start here. Run it without KVM (qm set 100 --kvm 0), or have the "
                "hypervisor's administrator expose vmx to this machine and power-cycle it.");
        START_BLOCKED("proxmox_101", "");
        START_BLOCKED("proxmox_102", "");

        /* Ten are named, the rest counted. */
        for (unsigned i = 0; i < 12; i++) {
                char vmid[8];

                snprintf(vmid, sizeof(vmid), "%u", 200 + i);
                write_pve_conf(fx, vmid, PVE_CONF("many"));
        }
        check_root(NULL, &f);
        x = expect(&f, "vms-cannot-start", NV_LEVEL_ERROR);
        HAS(x->summary, "VMs are configured to use KVM, which needs vmx, so they will not start");
        HAS(x->summary, "web (proxmox 100), many (proxmox 200)");
        LACKS(x->summary, "proxmox 209");
        HAS(x->summary, "and 3 more.");
        HAS(x->hint, "Run them without KVM");
        nv_findings_done(&f);
        nv_fixture_free(fx);

        /* With vmx they start. */
        ck_assert_int_eq(nv_fixture_new("guest-with-vmx", &fx), 0);
        write_pve_conf(fx, "100", PVE_CONF("web", "cpu: x86-64-v2-AES\n"));
        check_root(NULL, &f);
        EXPECT_IDS(&f, "nested-guest");
        nv_findings_done(&f);
        START_BLOCKED("proxmox_100", "");
        nv_fixture_free(fx);

        /* Not a VM: the firmware is the other way out. */
        ck_assert_int_eq(nv_fixture_new("check-intel-no-vmx", &fx), 0);
        write_pve_conf(fx, "100", PVE_CONF("web"));
        check_root(NULL, &f);
        EXPECT_IDS(&f, "no-hardware-support", "vms-cannot-start");
        x = expect(&f, "vms-cannot-start", NV_LEVEL_ERROR);
        HAS(x->hint, "firmware setup");
        LACKS(x->hint, "power-cycle");
        nv_findings_done(&f);
        START_BLOCKED_HAS("proxmox_100", "This machine's CPU does not show vmx");
        START_BLOCKED_HAS("proxmox_100", "qm set 100 --kvm 0");
        nv_fixture_free(fx);
}
END_TEST

/* Host nesting off blocks the VMs that require it: StartBlocked says so too. */
START_TEST(test_start_blocked_nesting_off)
{
        NvFixture *fx = NULL;

        ck_assert_int_eq(nv_fixture_new("amd-host", &fx), 0);
        write_pve_conf(fx, "102", PVE_CONF("ci", "cpu: EPYC,flags=+nested-virt\n"));
        write_pve_conf(fx, "103", PVE_CONF("plain", "cpu: EPYC\n"));
        START_BLOCKED("proxmox_102", "");

        ck_assert_int_eq(nv_fixture_write(fx, "/sys/module/kvm_amd/parameters/nested", "0\n"), 0);
        START_BLOCKED("proxmox_102",
                "Host nesting is off and this VM requires svm: it cannot start until nesting "
                "is on (nestvirtctl enable) or svm is hidden from it (nestvirtctl vm hide "
                "proxmox:102).");
        START_BLOCKED("proxmox_103", "");
        nv_fixture_free(fx);
}
END_TEST

START_TEST(test_unknown_vendor)
{
        NvFixture *fx = NULL;
        NvFindings f = {};
        const NvFinding *x;

        check_host("empty", NULL, &f);
        EXPECT_IDS(&f, "unknown-vendor");
        x = expect(&f, "unknown-vendor", NV_LEVEL_ERROR);
        HAS(x->summary, "/proc/cpuinfo names no CPU vendor");
        nv_findings_done(&f);

        ck_assert_int_eq(nv_fixture_new("intel-host", &fx), 0);
        ck_assert_int_eq(nv_fixture_write(fx, "/proc/cpuinfo",
                                 "processor\t: 0\nvendor_id\t: CyrixInstead\nflags\t\t: fpu vme\n"),
                0);
        check_root(NULL, &f);
        x = expect(&f, "unknown-vendor", NV_LEVEL_ERROR);
        HAS(x->summary, "\"CyrixInstead\"");
        expect_absent(&f, "no-hardware-support");
        nv_findings_done(&f);
        nv_fixture_free(fx);

        check_host("intel-host", NULL, &f);
        expect_absent(&f, "unknown-vendor");
        nv_findings_done(&f);
}
END_TEST

START_TEST(test_module_not_loaded)
{
        NvFindings f = {};
        const NvFinding *x;

        check_host("intel-not-loaded", NULL, &f);
        EXPECT_IDS(&f, "module-not-loaded");
        x = expect(&f, "module-not-loaded", NV_LEVEL_INFO);
        HAS(x->summary, "kvm_intel is not loaded");
        HAS(x->summary, "nested will be enabled (from /etc/modprobe.d/qemu-system-x86.conf)");
        HAS(x->hint, "modprobe kvm_intel");
        nv_findings_done(&f);

        check_host("intel-host", NULL, &f);
        expect_absent(&f, "module-not-loaded");
        nv_findings_done(&f);

        /* Not loaded because it cannot load. */
        check_host("check-intel-no-vmx", NULL, &f);
        expect_absent(&f, "module-not-loaded");
        nv_findings_done(&f);
}
END_TEST

START_TEST(test_module_unavailable)
{
        NvFindings f = {};
        const NvFinding *x;

        check_host("amd-unavailable", NULL, &f);
        EXPECT_IDS(&f, "module-unavailable");
        x = expect(&f, "module-unavailable", NV_LEVEL_ERROR);
        HAS(x->summary, "kvm_amd is not installed for the running kernel 6.1.0-27-amd64");
        HAS(x->summary, "/lib/modules/6.1.0-27-amd64");
        HAS(x->hint, "6.1.0-27-amd64");
        nv_findings_done(&f);

        check_host("amd-host", NULL, &f);
        expect_absent(&f, "module-unavailable");
        nv_findings_done(&f);
}
END_TEST

/* intel-builtin has /etc/modprobe.d/kvm-intel.conf with nested=0, which a built-in module never
 * reads; a loadable module's files are no such finding. */
START_TEST(test_builtin_ignores_files)
{
        NvFindings f = {};
        const NvFinding *x;

        check_host("intel-builtin", NULL, &f);
        x = expect(&f, "builtin-ignores-files", NV_LEVEL_WARNING);
        HAS(x->summary, "/etc/modprobe.d/kvm-intel.conf (nested=0) has no effect");
        HAS(x->summary, "the kernel's default decides (nested enabled)");
        HAS(x->hint, "`kvm_intel.nested=0`");
        nv_findings_done(&f);

        check_host("conflicting-files", NULL, &f);
        expect_absent(&f, "builtin-ignores-files");
        nv_findings_done(&f);

        check_host("intel-host", NULL, &f);
        expect_absent(&f, "builtin-ignores-files");
        nv_findings_done(&f);
}
END_TEST

START_TEST(test_module_builtin)
{
        NvFindings f = {};
        const NvFinding *x;

        check_host("intel-builtin", NULL, &f);
        EXPECT_IDS(&f, "module-builtin", "builtin-ignores-files");
        x = expect(&f, "module-builtin", NV_LEVEL_INFO);
        HAS(x->summary, "kvm_intel is built into the kernel");
        HAS(x->summary, "nested is enabled now");
        HAS(x->hint, "`kvm_intel.nested=1`");
        HAS(x->hint, "`kvm_intel.nested=0`");
        nv_findings_done(&f);

        check_host("intel-host", NULL, &f);
        expect_absent(&f, "module-builtin");
        nv_findings_done(&f);

        check_host("intel-not-loaded", NULL, &f);
        expect_absent(&f, "module-builtin");
        nv_findings_done(&f);
}
END_TEST

START_TEST(test_modules_disabled)
{
        NvFindings f = {};
        const NvFinding *x;

        check_host("modules-disabled", NULL, &f);
        EXPECT_IDS(&f, "modules-disabled");
        x = expect(&f, "modules-disabled", NV_LEVEL_ERROR);
        HAS(x->summary, "kernel.modules_disabled is 1");
        HAS(x->summary, "kvm_amd");
        HAS(x->hint, "reboot");
        nv_findings_done(&f);

        check_host("amd-host", NULL, &f);
        expect_absent(&f, "modules-disabled");
        nv_findings_done(&f);
}
END_TEST

START_TEST(test_live_differs)
{
        NvFixture *fx = NULL;
        NvFindings f = {};
        const NvFinding *x;

        /* Live Y, and /etc/modprobe.d/90-admin.conf says 0. */
        check_host("conflicting-files", NULL, &f);
        x = expect(&f, "live-differs-from-next-load", NV_LEVEL_WARNING);
        HAS(x->summary, "kvm_intel runs with nested enabled, but it will be disabled at the next load");
        HAS(x->summary, "/etc/modprobe.d/90-admin.conf");
        HAS(x->hint, "nestvirtctl enforce");
        HAS(x->hint, "reboot");
        nv_findings_done(&f);

        /* No reload possible: only a reboot applies it. */
        ck_assert_int_eq(nv_fixture_new("modules-disabled", &fx), 0);
        ck_assert_int_eq(nv_fixture_write(fx, "/sys/module/kvm_amd/parameters/nested", "1\n"), 0);
        check_root(NULL, &f);
        x = expect(&f, "live-differs-from-next-load", NV_LEVEL_WARNING);
        HAS(x->summary, "kvm_amd runs with nested enabled, but it will be disabled at the next load");
        LACKS(x->hint, "nestvirtctl enforce");
        HAS(x->hint, "reboot");
        nv_findings_done(&f);
        nv_fixture_free(fx);

        check_host("intel-host", NULL, &f);
        expect_absent(&f, "live-differs-from-next-load");
        nv_findings_done(&f);

        /* The next load fails: invalid-option's subject. */
        check_host("amd-nested-Y", NULL, &f);
        expect_absent(&f, "live-differs-from-next-load");
        nv_findings_done(&f);

        /* No live value. */
        check_host("intel-not-loaded", NULL, &f);
        expect_absent(&f, "live-differs-from-next-load");
        nv_findings_done(&f);
}
END_TEST

START_TEST(test_conflicting_settings)
{
        NvFindings f = {};
        const NvFinding *x;

        check_host("conflicting-files", NULL, &f);
        x = expect(&f, "conflicting-settings", NV_LEVEL_WARNING);
        HAS(x->summary, "/usr/lib/modprobe.d/50-distro.conf sets nested=1");
        HAS(x->summary, "/etc/modprobe.d/70-other.conf sets nested=y");
        HAS(x->summary, "/etc/modprobe.d/90-admin.conf sets nested=0");
        /* Shadowed by the file of the same name in /etc: never read. */
        LACKS(x->summary, "/usr/lib/modprobe.d/90-admin.conf");
        HAS(x->hint, "/etc/modprobe.d/90-admin.conf wins");
        HAS(x->hint, "nested will be disabled at the next load");
        HAS(x->hint, "never edits other files");
        HAS(x->hint, NV_DROPIN_PATH);
        nv_findings_done(&f);

        /* The command line against one file: overridden-by-cmdline says it. */
        check_host("amd-cmdline-override", NULL, &f);
        expect_absent(&f, "conflicting-settings");
        nv_findings_done(&f);

        check_host("intel-host", NULL, &f);
        expect_absent(&f, "conflicting-settings");
        nv_findings_done(&f);
}
END_TEST

START_TEST(test_overridden_by_cmdline)
{
        NvFixture *fx = NULL;
        NvFindings f = {};
        const NvFinding *x;

        check_host("amd-cmdline-override", NULL, &f);
        EXPECT_IDS(&f, "overridden-by-cmdline");
        x = expect(&f, "overridden-by-cmdline", NV_LEVEL_WARNING);
        HAS(x->summary, "The kernel command line sets kvm_amd.nested=1");
        HAS(x->summary, "overrides /etc/modprobe.d/kvm-amd.conf (nested=0)");
        HAS(x->hint, "kvm_amd.nested=");
        nv_findings_done(&f);

        /* The file agrees with the command line. */
        ck_assert_int_eq(nv_fixture_new("amd-cmdline-override", &fx), 0);
        ck_assert_int_eq(
                nv_fixture_write(fx, "/etc/modprobe.d/kvm-amd.conf", "options kvm_amd nested=1\n"), 0);
        check_root(NULL, &f);
        expect_absent(&f, "overridden-by-cmdline");
        nv_findings_done(&f);
        nv_fixture_free(fx);

        check_host("conflicting-files", NULL, &f);
        expect_absent(&f, "overridden-by-cmdline");
        nv_findings_done(&f);
}
END_TEST

START_TEST(test_invalid_option)
{
        NvFixture *fx = NULL;
        NvFindings f = {};
        const NvFinding *x;

        check_host("amd-nested-Y", NULL, &f);
        EXPECT_IDS(&f, "invalid-option");
        x = expect(&f, "invalid-option", NV_LEVEL_ERROR);
        HAS(x->summary, "/etc/modprobe.d/kvm-amd.conf sets nested=Y");
        HAS(x->summary, "integer");
        HAS(x->summary, "the next load of kvm_amd will fail");
        HAS(x->hint, "nested=1");
        HAS(x->hint, "nested=0");
        HAS(x->hint, "/etc/modprobe.d/kvm-amd.conf");
        nv_findings_done(&f);

        /* On the kernel command line. */
        ck_assert_int_eq(nv_fixture_new("amd-host", &fx), 0);
        ck_assert_int_eq(nv_fixture_write(fx, "/proc/cmdline", "root=/dev/sda1 ro kvm_amd.nested=on\n"), 0);
        check_root(NULL, &f);
        x = expect(&f, "invalid-option", NV_LEVEL_ERROR);
        HAS(x->summary, "The kernel command line sets kvm_amd.nested=on");
        HAS(x->hint, "`kvm_amd.nested=1`");
        LACKS(x->hint, "/etc/modprobe.d");
        nv_findings_done(&f);
        nv_fixture_free(fx);

        check_host("amd-host", NULL, &f);
        expect_absent(&f, "invalid-option");
        nv_findings_done(&f);

        /* "y" is fine for kvm_intel's bool. */
        check_host("conflicting-files", NULL, &f);
        expect_absent(&f, "invalid-option");
        nv_findings_done(&f);
}
END_TEST

START_TEST(test_ignored_file)
{
        NvFixture *fx = NULL;
        NvFindings f = {};
        const NvFinding *x;

        check_host("check-ignored-files", NULL, &f);
        EXPECT_IDS(&f, "ignored-file");
        x = expect(&f, "ignored-file", NV_LEVEL_WARNING);
        HAS(x->summary, "/etc/modprobe.d/.kvm-intel.conf");
        HAS(x->summary, "/etc/modprobe.d/kvm-nested");
        HAS(x->summary, "/lib/modprobe.d/kvm.conf.dpkg-old");
        HAS(x->summary, "\".conf\"");
        /* Not about kvm, or a directory. */
        LACKS(x->summary, "README");
        LACKS(x->summary, "blacklist-nouveau");
        LACKS(x->summary, "kvm.d");
        HAS(x->hint, "/etc/modprobe.d/kvm-nested to kvm-nested.conf");
        HAS(x->hint, "/etc/modprobe.d/.kvm-intel.conf to kvm-intel.conf");
        HAS(x->hint, "kvm.conf.dpkg-old.conf");
        nv_findings_done(&f);

        /* /lib is a link to /usr/lib here: one file is named once. */
        ck_assert_int_eq(nv_fixture_new("conflicting-files", &fx), 0);
        ck_assert_int_eq(
                nv_fixture_write(fx, "/usr/lib/modprobe.d/kvm-old", "options kvm_intel nested=0\n"), 0);
        check_root(NULL, &f);
        x = expect(&f, "ignored-file", NV_LEVEL_WARNING);
        HAS(x->summary, "/etc/modprobe.d/kvm.conf.bak");
        HAS(x->summary, "/etc/modprobe.d/kvm-nested");
        HAS(x->summary, "/usr/lib/modprobe.d/kvm-old");
        ck_assert_uint_eq(count(x->summary, "modprobe.d/kvm-old"), 1);
        nv_findings_done(&f);
        nv_fixture_free(fx);

        check_host("intel-host", NULL, &f);
        expect_absent(&f, "ignored-file");
        nv_findings_done(&f);

        /* Built in: no modprobe.d file applies, so renaming would not help. */
        ck_assert_int_eq(nv_fixture_new("intel-builtin", &fx), 0);
        ck_assert_int_eq(
                nv_fixture_write(fx, "/etc/modprobe.d/kvm-nested", "options kvm_intel nested=0\n"), 0);
        check_root(NULL, &f);
        expect_absent(&f, "ignored-file");
        nv_findings_done(&f);
        nv_fixture_free(fx);
}
END_TEST

/* One tool's configuration on an otherwise healthy host: the hint names its command only. */
static void initramfs_one_tool(
        const char *path, const char *content, const char *command, const char *listed)
{
        static const char *const commands[] = { "update-initramfs", "dracut", "mkinitcpio" };
        NvFixture *fx = NULL;
        NvFindings f = {};
        const NvFinding *x;

        ck_assert_int_eq(nv_fixture_new("intel-host", &fx), 0);
        ck_assert_int_eq(nv_fixture_write(fx, path, content), 0);
        check_root(NULL, &f);
        EXPECT_IDS(&f, "initramfs-includes-kvm");
        x = expect(&f, "initramfs-includes-kvm", NV_LEVEL_WARNING);
        HAS(x->summary, path);
        HAS(x->summary, listed);
        HAS(x->hint, command);
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (!strstr(command, commands[i]))
                        LACKS(x->hint, commands[i]);
        nv_findings_done(&f);
        nv_fixture_free(fx);
}

START_TEST(test_initramfs)
{
        NvFixture *fx = NULL;
        NvFindings f = {};
        const NvFinding *x;

        check_host("check-initramfs", NULL, &f);
        EXPECT_IDS(&f, "initramfs-includes-kvm");
        x = expect(&f, "initramfs-includes-kvm", NV_LEVEL_WARNING);
        HAS(x->summary, "/etc/initramfs-tools/modules lists kvm_intel");
        HAS(x->summary, "/etc/dracut.conf.d/10-kvm.conf adds kvm and kvm-intel");
        HAS(x->summary, "/etc/mkinitcpio.conf lists kvm_intel");
        HAS(x->summary, "/etc/mkinitcpio.conf.d/kvm.conf lists kvm");
        /* Only in a comment, or not KVM. */
        LACKS(x->summary, "kvm_amd");
        LACKS(x->summary, "vfio");
        LACKS(x->summary, "?");
        HAS(x->hint, "`update-initramfs -u -k all`");
        HAS(x->hint, "`dracut -f");
        HAS(x->hint, "`mkinitcpio -P`");
        nv_findings_done(&f);

        initramfs_one_tool(
                "/etc/initramfs-tools/modules", "kvm-amd\n", "update-initramfs -u -k all", "kvm-amd");
        initramfs_one_tool("/etc/dracut.conf", "add_drivers+=\"kvm_intel\"\n", "dracut -f", "kvm_intel");
        initramfs_one_tool("/etc/mkinitcpio.conf", "MODULES=(kvm-intel)\n", "mkinitcpio -P", "kvm-intel");

        /* Comments, omit_drivers, HOOKS, kvmgt and a dracut file without ".conf". */
        check_host("check-initramfs-clean", NULL, &f);
        ck_assert_msg(f.n == 0, "check-initramfs-clean: %s", ids_of(&f));
        nv_findings_done(&f);

        check_host("intel-host", NULL, &f);
        expect_absent(&f, "initramfs-includes-kvm");
        nv_findings_done(&f);

        /* A built-in module is never in the initramfs. */
        ck_assert_int_eq(nv_fixture_new("intel-builtin", &fx), 0);
        ck_assert_int_eq(nv_fixture_write(fx, "/etc/initramfs-tools/modules", "kvm_intel\n"), 0);
        check_root(NULL, &f);
        expect_absent(&f, "initramfs-includes-kvm");
        nv_findings_done(&f);
        nv_fixture_free(fx);
}
END_TEST

START_TEST(test_slow_nested)
{
        NvFixture *fx = NULL;
        NvFindings f = {};
        const NvFinding *x;

        ck_assert_int_eq(nv_fixture_new("check-intel-slow", &fx), 0);
        check_root(NULL, &f);
        EXPECT_IDS(&f, "slow-nested");
        x = expect(&f, "slow-nested", NV_LEVEL_WARNING);
        HAS(x->summary, "kvm_intel runs with ept and enable_shadow_vmcs off");
        HAS(x->summary, "/sys/module/kvm_intel/parameters");
        LACKS(x->summary, "enable_apicv");
        HAS(x->hint, "options kvm_intel ept=0");
        nv_findings_done(&f);

        ck_assert_int_eq(nv_fixture_write(fx, "/sys/module/kvm_intel/parameters/ept", "Y\n"), 0);
        check_root(NULL, &f);
        x = expect(&f, "slow-nested", NV_LEVEL_WARNING);
        LACKS(x->summary, "ept and");
        HAS(x->summary, "with enable_shadow_vmcs off");
        nv_findings_done(&f);

        ck_assert_int_eq(
                nv_fixture_write(fx, "/sys/module/kvm_intel/parameters/enable_shadow_vmcs", "1\n"), 0);
        check_root(NULL, &f);
        expect_absent(&f, "slow-nested");
        nv_findings_done(&f);
        nv_fixture_free(fx);

        ck_assert_int_eq(nv_fixture_new("check-amd-slow", &fx), 0);
        check_root(NULL, &f);
        EXPECT_IDS(&f, "slow-nested");
        x = expect(&f, "slow-nested", NV_LEVEL_WARNING);
        HAS(x->summary, "kvm_amd runs with npt off");
        HAS(x->hint, "options kvm_amd npt=0");
        nv_findings_done(&f);

        /* Nested off: no nested guests to be slow. */
        ck_assert_int_eq(nv_fixture_write(fx, "/sys/module/kvm_amd/parameters/nested", "0\n"), 0);
        check_root(NULL, &f);
        expect_absent(&f, "slow-nested");
        nv_findings_done(&f);
        nv_fixture_free(fx);

        /* In a guest the hypervisor decides. */
        ck_assert_int_eq(nv_fixture_new("guest-with-vmx", &fx), 0);
        ck_assert_int_eq(nv_fixture_write(fx, "/sys/module/kvm_intel/parameters/ept", "N\n"), 0);
        check_root(NULL, &f);
        x = expect(&f, "slow-nested", NV_LEVEL_WARNING);
        HAS(x->hint, "qm set VMID --cpu host");
        nv_findings_done(&f);
        nv_fixture_free(fx);

        /* ept=Y, the others missing. */
        check_host("intel-builtin", NULL, &f);
        expect_absent(&f, "slow-nested");
        nv_findings_done(&f);

        check_host("intel-host", NULL, &f);
        expect_absent(&f, "slow-nested");
        nv_findings_done(&f);
}
END_TEST

START_TEST(test_vms_expose_nesting)
{
        NvVm many_vms[12];
        NvVmList many = { many_vms, ELEMENTSOF(many_vms), 0 };
        NvFindings f = {};
        const NvFinding *x;

        check_host("intel-host", &mixed, &f);
        EXPECT_IDS(&f, "vms-expose-nesting");
        x = expect(&f, "vms-expose-nesting", NV_LEVEL_INFO);
        HAS(x->summary, "2 running VMs expose vmx to their guests");
        HAS(x->summary, "web1 (proxmox VM 101, pid 4242)");
        HAS(x->summary, "pid 4343 (qemu)");
        LACKS(x->summary, "quiet");
        LACKS(x->summary, "fc1");
        HAS(x->hint, "Live migration and snapshots");
        nv_findings_done(&f);

        /* AMD: a warning, and never migrate or save while an L2 runs. */
        check_host("amd-host", &mixed, &f);
        x = expect(&f, "vms-expose-nesting", NV_LEVEL_WARNING);
        HAS(x->summary, "expose svm");
        HAS(x->hint, "never live-migrate, save or snapshot");
        HAS(x->hint, "L2");
        nv_findings_done(&f);

        check_host("amd-host", &one, &f);
        x = expect(&f, "vms-expose-nesting", NV_LEVEL_WARNING);
        HAS(x->summary, "1 running VM exposes svm to its guest");
        HAS(x->summary, "builder (libvirt, pid 5000)");
        nv_findings_done(&f);

        for (size_t i = 0; i < ELEMENTSOF(many_vms); i++)
                many_vms[i] =
                        (NvVm) VM((pid_t) (6000 + i), NULL, NULL, NV_VM_MANAGER_QEMU, NV_VM_NESTING_EXPOSED);
        check_host("intel-host", &many, &f);
        x = expect(&f, "vms-expose-nesting", NV_LEVEL_INFO);
        HAS(x->summary, "12 running VMs");
        HAS(x->summary, "pid 6009 (qemu)");
        LACKS(x->summary, "pid 6010");
        HAS(x->summary, "and 2 more.");
        nv_findings_done(&f);

        check_host("intel-host", &hidden, &f);
        expect_absent(&f, "vms-expose-nesting");
        nv_findings_done(&f);

        check_host("intel-host", NULL, &f);
        expect_absent(&f, "vms-expose-nesting");
        nv_findings_done(&f);

        /* Nested is off there: nested-disabled-vms-want-it instead. */
        check_host("intel-builtin-cmdline", &mixed, &f);
        expect_absent(&f, "vms-expose-nesting");
        nv_findings_done(&f);
}
END_TEST

START_TEST(test_nested_disabled_vms)
{
        NvFixture *fx = NULL;
        NvFindings f = {};
        const NvFinding *x;

        /* Built in with kvm-intel.nested=0. */
        check_host("intel-builtin-cmdline", &mixed, &f);
        x = expect(&f, "nested-disabled-vms-want-it", NV_LEVEL_WARNING);
        HAS(x->summary, "Nested is disabled in kvm_intel");
        HAS(x->summary, "2 running VMs are configured to expose vmx");
        HAS(x->summary, "web1 (proxmox VM 101, pid 4242)");
        HAS(x->summary, "pid 4343 (qemu)");
        LACKS(x->summary, "quiet");
        HAS(x->hint, "`kvm_intel.nested=1`");
        nv_findings_done(&f);

        /* Loadable, switched off live. */
        ck_assert_int_eq(nv_fixture_new("amd-host", &fx), 0);
        ck_assert_int_eq(nv_fixture_write(fx, "/sys/module/kvm_amd/parameters/nested", "0\n"), 0);
        check_root(&one, &f);
        x = expect(&f, "nested-disabled-vms-want-it", NV_LEVEL_WARNING);
        HAS(x->summary, "1 running VM is configured to expose svm to its guest");
        HAS(x->summary, "builder (libvirt, pid 5000)");
        HAS(x->hint, "nestvirtctl enable");
        nv_findings_done(&f);
        nv_fixture_free(fx);

        /* No reload possible: the next boot. */
        check_host("modules-disabled", &one, &f);
        x = expect(&f, "nested-disabled-vms-want-it", NV_LEVEL_WARNING);
        HAS(x->hint, "nestvirtctl enable --persistent");
        HAS(x->hint, "kernel.modules_disabled=1 blocks a reload");
        LACKS(x->hint, "stop the VMs first");
        nv_findings_done(&f);

        check_host("amd-host", &mixed, &f);
        expect_absent(&f, "nested-disabled-vms-want-it");
        nv_findings_done(&f);

        check_host("intel-builtin-cmdline", NULL, &f);
        expect_absent(&f, "nested-disabled-vms-want-it");
        nv_findings_done(&f);

        check_host("intel-builtin-cmdline", &hidden, &f);
        expect_absent(&f, "nested-disabled-vms-want-it");
        nv_findings_done(&f);
}
END_TEST

/* Several findings come in the order of the checks. */
START_TEST(test_order)
{
        NvFindings f = {};

        check_host("conflicting-files", NULL, &f);
        EXPECT_IDS(&f, "conflicting-settings", "live-differs-from-next-load", "ignored-file");
        nv_findings_done(&f);

        check_host("modules-disabled", &mixed, &f);
        EXPECT_IDS(&f, "modules-disabled", "nested-disabled-vms-want-it");
        nv_findings_done(&f);
}
END_TEST

static size_t id_index(const char *id)
{
        for (size_t i = 0; i < ELEMENTSOF(known_ids); i++)
                if (streq(known_ids[i], id))
                        return i;
        return SIZE_MAX;
}

static void assert_well_formed(const char *host, const NvFindings *f)
{
        size_t last = 0;

        for (size_t i = 0; i < f->n; i++) {
                const NvFinding *x = &f->items[i];
                size_t k = id_index(x->id);

                ck_assert_msg(k != SIZE_MAX, "%s: unknown id %s", host, x->id);
                /* Strictly increasing: each id once, in the order of the checks. */
                ck_assert_msg(i == 0 || k > last, "%s: %s out of order (%s)", host, x->id, ids_of(f));
                last = k;
                ck_assert_msg(!isempty(x->summary) && x->summary[strlen(x->summary) - 1] == '.',
                        "%s: %s summary \"%s\"", host, x->id, strempty(x->summary));
                ck_assert_msg(!isempty(x->hint) && x->hint[strlen(x->hint) - 1] == '.', "%s: %s hint \"%s\"",
                        host, x->id, strempty(x->hint));
                LACKS(x->summary, "(null)");
                LACKS(x->hint, "(null)");
        }
}

/* Every fixture host, with and without VMs: known ids, in order, whole sentences. */
START_TEST(test_all_hosts)
{
        _cleanup_strv_free_ char **names = NULL;

        ck_assert_int_eq(nv_fixture_list_hosts(&names), 0);
        ck_assert_ptr_nonnull(names);
        for (size_t i = 0; names[i]; i++) {
                NvFixture *fx = NULL;
                NvFindings f = {};

                ck_assert_int_eq(nv_fixture_new(names[i], &fx), 0);
                check_root(NULL, &f);
                assert_well_formed(names[i], &f);
                nv_findings_done(&f);
                check_root(&mixed, &f);
                assert_well_formed(names[i], &f);
                nv_findings_done(&f);
                nv_fixture_free(fx);
        }
}
END_TEST

START_TEST(test_done_twice)
{
        NvFindings f = {};

        check_host("conflicting-files", NULL, &f);
        ck_assert_uint_gt(f.n, 0);
        nv_findings_done(&f);
        ck_assert_ptr_null(f.items);
        ck_assert_uint_eq(f.n, 0);
        nv_findings_done(&f);
}
END_TEST

static Suite *findings_suite(void)
{
        Suite *s = suite_create("findings");
        TCase *tc = tcase_create("check");

        tcase_add_test(tc, test_level_to_string);
        tcase_add_test(tc, test_healthy);
        tcase_add_test(tc, test_no_hardware_support);
        tcase_add_test(tc, test_guest_without_extensions);
        tcase_add_test(tc, test_nested_guest);
        tcase_add_test(tc, test_vms_cannot_start);
        tcase_add_test(tc, test_start_blocked_nesting_off);
        tcase_add_test(tc, test_unknown_vendor);
        tcase_add_test(tc, test_module_not_loaded);
        tcase_add_test(tc, test_module_unavailable);
        tcase_add_test(tc, test_module_builtin);
        tcase_add_test(tc, test_builtin_ignores_files);
        tcase_add_test(tc, test_modules_disabled);
        tcase_add_test(tc, test_live_differs);
        tcase_add_test(tc, test_conflicting_settings);
        tcase_add_test(tc, test_overridden_by_cmdline);
        tcase_add_test(tc, test_invalid_option);
        tcase_add_test(tc, test_ignored_file);
        tcase_add_test(tc, test_initramfs);
        tcase_add_test(tc, test_slow_nested);
        tcase_add_test(tc, test_vms_expose_nesting);
        tcase_add_test(tc, test_nested_disabled_vms);
        tcase_add_test(tc, test_order);
        tcase_add_test(tc, test_all_hosts);
        tcase_add_test(tc, test_done_twice);
        /* Copying a host and running depmod takes a moment under valgrind. */
        tcase_set_timeout(tc, 170);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return nv_fixture_run_suite_preloaded(findings_suite());
}

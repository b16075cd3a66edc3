/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>

#include "cpu-info.h"
#include "fixture.h"
#include "util.h"
#include "virt-detect.h"

START_TEST(test_from_dmi)
{
        static const struct {
                const char *dmi;
                const char *id;
        } cases[] = {
                { "KVM", "kvm" },
                { "OpenStack Nova", "kvm" },
                { "OpenStack Foundation", "kvm" },
                { "KubeVirt", "kvm" },
                { "QEMU", "qemu" },
                { "VMware, Inc.", "vmware" },
                { "VMware Virtual Platform", "vmware" },
                { "VMW", "vmware" },
                { "VMW71.00V.13989454.B64.1906190538", "vmware" },
                { "innotek GmbH", "oracle" },
                { "VirtualBox", "oracle" },
                { "Xen", "xen" },
                { "Bochs", "bochs" },
                { "Parallels Software International Inc.", "parallels" },
                { "Parallels International GmbH.", "parallels" },
                { "BHYVE", "bhyve" },
                { "Amazon EC2", "amazon" },
                { "Google Compute Engine", "google" },
                { "Apple Virtualization Generic Platform", "apple" },
                /* Also on physical machines: they need a second field (see below). */
                { "Microsoft Corporation", NULL },
                { "Oracle Corporation", NULL },
                { "Google", NULL },
                { "Virtual Machine", NULL },
                /* Not hypervisors, or not whole. */
                { "KVM2", NULL },
                { "kvm", NULL },
                { "qemu", NULL },
                { "Dell Inc.", NULL },
                { "Apple Inc.", NULL },
                { "LENOVO", NULL },
                { "To Be Filled By O.E.M.", NULL },
                { "SeaBIOS", NULL },
                { "", NULL },
                { NULL, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ck_assert_msg(streq_ptr(nv_virt_from_dmi(cases[i].dmi), cases[i].id),
                        "'%s': got %s, expected %s", strempty(cases[i].dmi),
                        nv_virt_from_dmi(cases[i].dmi) ?: "NULL", cases[i].id ?: "NULL");
}
END_TEST

static void check_virt(bool cpu_flag, bool guest, const char *hypervisor)
{
        NvVirt v = {};

        ck_assert_int_eq(nv_virt_detect(cpu_flag, &v), 0);
        ck_assert_msg(
                v.guest == guest, "guest %d, expected %d (%s)", v.guest, guest, v.hypervisor ?: "NULL");
        ck_assert_msg(streq_ptr(v.hypervisor, hypervisor), "hypervisor %s, expected %s",
                v.hypervisor ?: "NULL", hypervisor ?: "NULL");
        nv_virt_done(&v);
        ck_assert_ptr_null(v.hypervisor);
        ck_assert(!v.guest);
}

/* A blank root with the four DMI fields; NULL leaves a file out. */
static NvFixture *dmi_root(const char *sys_vendor, const char *product, const char *board, const char *bios)
{
        const char *values[] = { sys_vendor, product, board, bios };
        static const char *const files[] = {
                "/sys/class/dmi/id/sys_vendor",
                "/sys/class/dmi/id/product_name",
                "/sys/class/dmi/id/board_vendor",
                "/sys/class/dmi/id/bios_vendor",
        };
        NvFixture *f = NULL;

        ck_assert_int_eq(nv_fixture_new(NULL, &f), 0);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *line = NULL;
                if (!values[i])
                        continue;
                /* sysfs ends the value with a newline. */
                line = malloc(strlen(values[i]) + 2);
                ck_assert_ptr_nonnull(line);
                strcpy(line, values[i]);
                strcat(line, "\n");
                ck_assert_int_eq(nv_fixture_write(f, files[i], line), 0);
        }
        return f;
}

typedef struct DmiCase {
        const char *what;
        const char *dmi[4];
        const char *xen_type;
        bool cpu_flag;
        bool guest;
        const char *hypervisor;
} DmiCase;

START_TEST(test_dmi_trees)
{
        static const DmiCase cases[] = {
                { "Proxmox VE (QEMU default SMBIOS)",
                        { "QEMU", "Standard PC (i440FX + PIIX, 1996)", NULL, "SeaBIOS" }, NULL, true, true,
                        "qemu" },
                { "QEMU default SMBIOS, TCG (no CPU flag needed)",
                        { "QEMU", "Standard PC (Q35 + ICH9, 2009)", "QEMU",
                                "EFI Development Kit II / OVMF" },
                        NULL, false, true, "qemu" },
                { "QEMU with product KVM: the accelerator is KVM", { "QEMU", "KVM", "QEMU", "SeaBIOS" },
                        NULL, true, true, "kvm" },
                { "QEMU with a KVM BIOS vendor", { "QEMU", "Standard PC (Q35 + ICH9, 2009)", NULL, "KVM" },
                        NULL, true, true, "kvm" },
                { "RHEL qemu-kvm", { "Red Hat", "KVM", "Red Hat", "SeaBIOS" }, NULL, true, true, "kvm" },
                { "OpenStack", { "OpenStack Foundation", "OpenStack Nova", NULL, "SeaBIOS" }, NULL, true,
                        true, "kvm" },
                { "VMware",
                        { "VMware, Inc.", "VMware Virtual Platform", "Intel Corporation",
                                "Phoenix Technologies LTD" },
                        NULL, true, true, "vmware" },
                { "VirtualBox", { "innotek GmbH", "VirtualBox", "Oracle Corporation", "innotek GmbH" }, NULL,
                        true, true, "oracle" },
                { "VirtualBox with Oracle's vendor string",
                        { "Oracle Corporation", "VirtualBox", NULL, NULL }, NULL, true, true, "oracle" },
                { "Oracle's physical server",
                        { "Oracle Corporation", "ORACLE SERVER X8-2L", "Oracle Corporation",
                                "American Megatrends Inc." },
                        NULL, false, false, NULL },
                { "Hyper-V",
                        { "Microsoft Corporation", "Virtual Machine", "Microsoft Corporation",
                                "Microsoft Corporation" },
                        NULL, true, true, "microsoft" },
                { "Surface laptop",
                        { "Microsoft Corporation", "Surface Laptop 3", "Microsoft Corporation",
                                "Microsoft Corporation" },
                        NULL, false, false, NULL },
                { "Google Compute Engine", { "Google", "Google Compute Engine", "Google", "Google" }, NULL,
                        true, true, "google" },
                { "Chromebook", { "Google", "Eve", "Google", "coreboot" }, NULL, false, false, NULL },
                { "EC2 virtual instance", { "Amazon EC2", "m5.large", "Amazon EC2", "Amazon EC2" }, NULL,
                        true, true, "amazon" },
                { "EC2 bare metal: same strings, no hypervisor flag",
                        { "Amazon EC2", "c5.metal", "Amazon EC2", "Amazon EC2" }, NULL, false, false, NULL },
                { "Xen HVM", { "Xen", "HVM domU", NULL, "Xen" }, "xen", true, true, "xen" },
                { "Xen PV: no DMI at all", { NULL, NULL, NULL, NULL }, "xen", false, true, "xen" },
                { "Amazon on Xen: DMI is more specific", { "Amazon EC2", "t2.micro", NULL, "Xen" }, "xen",
                        true, true, "amazon" },
                { "empty /sys/hypervisor/type", { NULL, NULL, NULL, NULL }, "", false, false, NULL },
                { "Bochs BIOS only", { "", "", "", "Bochs" }, NULL, true, true, "bochs" },
                { "Parallels",
                        { "Parallels Software International Inc.", "Parallels Virtual Platform", NULL,
                                "Parallels Software International Inc." },
                        NULL, true, true, "parallels" },
                { "bhyve", { "FreeBSD", "BHYVE", NULL, "BHYVE" }, NULL, true, true, "bhyve" },
                { "Apple Virtualization",
                        { "Apple Inc.", "Apple Virtualization Generic Platform", "Apple Inc.",
                                "Apple Inc." },
                        NULL, true, true, "apple" },
                { "a Mac", { "Apple Inc.", "MacBookPro16,1", "Apple Inc.", "Apple Inc." }, NULL, false,
                        false, NULL },
                { "first field wins", { "Xen", "VMware Virtual Platform", NULL, NULL }, NULL, true, true,
                        "xen" },
                { "unknown hypervisor", { "Hetzner", "vServer", "KVM2", "Hetzner" }, NULL, true, true,
                        "unknown" },
                { "physical host", { "Dell Inc.", "PowerEdge R640", "Dell Inc.", "Dell Inc." }, NULL, false,
                        false, NULL },
                { "no DMI, CPU flag only", { NULL, NULL, NULL, NULL }, NULL, true, true, "unknown" },
                { "no DMI, no flag", { NULL, NULL, NULL, NULL }, NULL, false, false, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const DmiCase *c = cases + i;
                NvFixture *f = dmi_root(c->dmi[0], c->dmi[1], c->dmi[2], c->dmi[3]);
                NvVirt v = {};

                if (c->xen_type)
                        ck_assert_int_eq(nv_fixture_write(f, "/sys/hypervisor/type", c->xen_type), 0);

                ck_assert_int_eq(nv_virt_detect(c->cpu_flag, &v), 0);
                ck_assert_msg(v.guest == c->guest && streq_ptr(v.hypervisor, c->hypervisor),
                        "%s: guest=%d hypervisor=%s, expected guest=%d hypervisor=%s", c->what, v.guest,
                        v.hypervisor ?: "NULL", c->guest, c->hypervisor ?: "NULL");
                nv_virt_done(&v);
                nv_fixture_free(f);
        }
}
END_TEST

/* Role and hypervisor of the fixture hosts, with the CPU flag read from their cpuinfo. */
START_TEST(test_fixture_hosts)
{
        static const struct {
                const char *host;
                bool guest;
                const char *hypervisor;
        } cases[] = {
                { "intel-host", false, NULL },
                { "amd-host", false, NULL },
                { "intel-builtin", false, NULL },
                { "guest-with-vmx", true, "qemu" },
                { "guest-without-vmx", true, "kvm" },
                { "garbage", false, NULL }, /* "To Be Filled By O.E.M." */
                { "empty", false, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                NvFixture *f = NULL;
                NvCpuInfo cpu = {};

                ck_assert_int_eq(nv_fixture_new(cases[i].host, &f), 0);
                ck_assert_int_eq(nv_cpu_info_read(&cpu), 0);
                check_virt(cpu.hypervisor, cases[i].guest, cases[i].hypervisor);
                nv_cpu_info_done(&cpu);
                nv_fixture_free(f);
        }
}
END_TEST

START_TEST(test_unreadable_dmi)
{
        NvFixture *f = dmi_root(NULL, "KVM", NULL, NULL);

        /* A directory where a file should be: no information, no error. */
        ck_assert_int_eq(nv_fixture_write(f, "/sys/class/dmi/id/sys_vendor/x", "QEMU\n"), 0);
        check_virt(false, true, "kvm");
        nv_fixture_free(f);
}
END_TEST

START_TEST(test_done_null)
{
        nv_virt_done(NULL);
}
END_TEST

static Suite *virt_detect_suite(void)
{
        Suite *s = suite_create("virt-detect");
        TCase *tc = tcase_create("detect");

        tcase_add_test(tc, test_from_dmi);
        tcase_add_test(tc, test_dmi_trees);
        tcase_add_test(tc, test_fixture_hosts);
        tcase_add_test(tc, test_unreadable_dmi);
        tcase_add_test(tc, test_done_null);
        /* Copying hosts and running depmod takes a moment under valgrind. */
        tcase_set_timeout(tc, 120);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return nv_fixture_run_suite(virt_detect_suite());
}

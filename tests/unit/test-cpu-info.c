/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>

#include "cpu-info.h"
#include "fixture.h"
#include "host-path.h"
#include "util.h"

typedef struct Expect {
        NvVendor vendor;
        const char *vendor_id;
        bool vmx, svm, hypervisor, hardware;
} Expect;

static void assert_info(const char *what, const NvCpuInfo *info, const Expect *e)
{
        ck_assert_msg(info->vendor == e->vendor, "%s: vendor %s, expected %s", what,
                nv_vendor_to_string(info->vendor), nv_vendor_to_string(e->vendor));
        ck_assert_msg(streq_ptr(info->vendor_id, e->vendor_id), "%s: vendor_id '%s', expected '%s'", what,
                strempty(info->vendor_id), strempty(e->vendor_id));
        ck_assert_msg(info->vmx == e->vmx, "%s: vmx %d", what, info->vmx);
        ck_assert_msg(info->svm == e->svm, "%s: svm %d", what, info->svm);
        ck_assert_msg(info->hypervisor == e->hypervisor, "%s: hypervisor %d", what, info->hypervisor);
        ck_assert_msg(nv_cpu_info_hardware_support(info) == e->hardware, "%s: hardware support %d", what,
                nv_cpu_info_hardware_support(info));
}

static void check_text(const char *text, const Expect *e)
{
        NvCpuInfo info = {};

        ck_assert_int_eq(nv_cpu_info_parse(text, &info), 0);
        assert_info(text, &info, e);
        nv_cpu_info_done(&info);
        ck_assert_ptr_null(info.vendor_id);
}

/* Reads /proc/cpuinfo of a fixture host through NESTVIRT_ROOT. */
static void check_host(const char *host, const Expect *e)
{
        _cleanup_free_ char *root = NULL;
        NvCpuInfo info = {};

        root = nv_fixture_source_path("hosts");
        ck_assert_ptr_nonnull(root);
        /* Read-only use: the checked-in tree serves as the root directly. */
        {
                _cleanup_free_ char *r = malloc(strlen(root) + 1 + strlen(host) + 2);
                ck_assert_ptr_nonnull(r);
                strcpy(r, root);
                strcat(r, "/");
                strcat(r, host);
                strcat(r, "/"); /* a trailing slash must not matter */
                ck_assert_int_eq(setenv("NESTVIRT_ROOT", r, 1), 0);
        }

        ck_assert_int_eq(nv_cpu_info_read(&info), 0);
        assert_info(host, &info, e);
        nv_cpu_info_done(&info);
        unsetenv("NESTVIRT_ROOT");
}

/* The parser on a cpuinfo file from tests/fixtures/cpuinfo. */
static void check_file(const char *name, const Expect *e)
{
        _cleanup_free_ char *rel = NULL, *path = NULL, *text = NULL;
        NvFixture *f = NULL;

        rel = malloc(strlen("cpuinfo/") + strlen(name) + 1);
        ck_assert_ptr_nonnull(rel);
        strcpy(rel, "cpuinfo/");
        strcat(rel, name);
        path = nv_fixture_source_path(rel);
        ck_assert_ptr_nonnull(path);

        /* Through a fixture root, so that nv_cpu_info_read() does the reading. */
        ck_assert_int_eq(nv_fixture_new(NULL, &f), 0);
        {
                _cleanup_fclose_ FILE *in = fopen(path, "re");
                ck_assert_ptr_nonnull(in);
                text = calloc(1, 1 << 16);
                ck_assert_ptr_nonnull(text);
                size_t n = fread(text, 1, (1 << 16) - 1, in);
                ck_assert_uint_gt(n, 0);
        }
        ck_assert_int_eq(nv_fixture_write(f, "/proc/cpuinfo", text), 0);

        NvCpuInfo info = {};
        ck_assert_int_eq(nv_cpu_info_read(&info), 0);
        assert_info(name, &info, e);
        nv_cpu_info_done(&info);
        nv_fixture_free(f);
}

START_TEST(test_vendor_strings)
{
        ck_assert_str_eq(nv_vendor_to_string(NV_VENDOR_INTEL), "intel");
        ck_assert_str_eq(nv_vendor_to_string(NV_VENDOR_AMD), "amd");
        ck_assert_str_eq(nv_vendor_to_string(NV_VENDOR_UNKNOWN), "unknown");

        ck_assert_int_eq(nv_vendor_from_id("GenuineIntel"), NV_VENDOR_INTEL);
        ck_assert_int_eq(nv_vendor_from_id("CentaurHauls"), NV_VENDOR_INTEL);
        ck_assert_int_eq(nv_vendor_from_id("  Shanghai  "), NV_VENDOR_INTEL);
        ck_assert_int_eq(nv_vendor_from_id("Shanghai"), NV_VENDOR_INTEL);
        ck_assert_int_eq(nv_vendor_from_id("AuthenticAMD"), NV_VENDOR_AMD);
        ck_assert_int_eq(nv_vendor_from_id("HygonGenuine"), NV_VENDOR_AMD);
        ck_assert_int_eq(nv_vendor_from_id("GenuineIntel\n"), NV_VENDOR_INTEL);

        ck_assert_int_eq(nv_vendor_from_id(NULL), NV_VENDOR_UNKNOWN);
        ck_assert_int_eq(nv_vendor_from_id(""), NV_VENDOR_UNKNOWN);
        ck_assert_int_eq(nv_vendor_from_id("genuineintel"), NV_VENDOR_UNKNOWN);
        ck_assert_int_eq(nv_vendor_from_id("GenuineIntelX"), NV_VENDOR_UNKNOWN);
        ck_assert_int_eq(nv_vendor_from_id("Genuine"), NV_VENDOR_UNKNOWN);
        ck_assert_int_eq(nv_vendor_from_id("Shang hai"), NV_VENDOR_UNKNOWN);
        ck_assert_int_eq(nv_vendor_from_id("GenuineTMx86"), NV_VENDOR_UNKNOWN);
        ck_assert_int_eq(nv_vendor_from_id("ARM"), NV_VENDOR_UNKNOWN);
}
END_TEST

START_TEST(test_fixture_hosts)
{
        static const Expect intel = { NV_VENDOR_INTEL, "GenuineIntel", true, false, false, true };
        static const Expect amd = { NV_VENDOR_AMD, "AuthenticAMD", false, true, false, true };
        static const Expect intel_guest_vmx = { NV_VENDOR_INTEL, "GenuineIntel", true, false, true, true };
        static const Expect intel_guest_novmx = { NV_VENDOR_INTEL, "GenuineIntel", false, false, true,
                false };
        static const Expect empty = { NV_VENDOR_UNKNOWN, NULL, false, false, false, false };

        check_host("intel-host", &intel);
        check_host("intel-builtin", &intel);
        check_host("intel-builtin-cmdline", &intel);
        check_host("intel-not-loaded", &intel);
        check_host("conflicting-files", &intel);
        check_host("amd-host", &amd);
        check_host("amd-cmdline-override", &amd);
        check_host("amd-nested-Y", &amd);
        check_host("amd-unavailable", &amd);
        check_host("modules-disabled", &amd);
        check_host("guest-with-vmx", &intel_guest_vmx);
        check_host("guest-without-vmx", &intel_guest_novmx);
        /* Junk lines ("flagsx: svm", "vendor_id2: AuthenticAMD") around a real block. */
        check_host("garbage", &intel);
        check_host("empty", &empty);
}
END_TEST

START_TEST(test_other_vendors)
{
        static const Expect hygon = { NV_VENDOR_AMD, "HygonGenuine", false, true, false, true };
        /* The kernel prints Zhaoxin's id with its blanks; we keep it trimmed. */
        static const Expect zhaoxin = { NV_VENDOR_INTEL, "Shanghai", true, false, false, true };
        static const Expect centaur = { NV_VENDOR_INTEL, "CentaurHauls", true, false, false, true };

        check_file("hygon", &hygon);
        check_file("zhaoxin", &zhaoxin);
        check_file("centaur", &centaur);
}
END_TEST

START_TEST(test_inline)
{
        static const Expect none = { NV_VENDOR_UNKNOWN, NULL, false, false, false, false };

        check_text("", &none);
        check_text("\n\n\n", &none);
        check_text("garbage\nmore garbage\n", &none);
        check_text(":\n::\n: :\n", &none);

        check_text("vendor_id\t: GenuineIntel\nflags\t\t: fpu vmx hypervisor\n",
                &(Expect){ NV_VENDOR_INTEL, "GenuineIntel", true, false, true, true });
        /* No trailing newline, spaces instead of tabs. */
        check_text("vendor_id : AuthenticAMD\nflags : svm",
                &(Expect){ NV_VENDOR_AMD, "AuthenticAMD", false, true, false, true });
        check_text("vendor_id\t:   Shanghai  \nflags\t\t: vmx\n",
                &(Expect){ NV_VENDOR_INTEL, "Shanghai", true, false, false, true });
        check_text("vendor_id\t: HygonGenuine\nflags\t\t: svm\n",
                &(Expect){ NV_VENDOR_AMD, "HygonGenuine", false, true, false, true });
        check_text("vendor_id\t: CentaurHauls\nflags\t\t: vmx\n",
                &(Expect){ NV_VENDOR_INTEL, "CentaurHauls", true, false, false, true });

        /* Whole tokens only. */
        check_text("vendor_id\t: GenuineIntel\nflags\t\t: vmx_foo xvmx vmxx svm_lock hypervisor2 "
                   "nohypervisor\n",
                &(Expect){ NV_VENDOR_INTEL, "GenuineIntel", false, false, false, false });
        check_text("vendor_id\t: AuthenticAMD\nflags\t\t: fpu svm_lock nrip_save\n",
                &(Expect){ NV_VENDOR_AMD, "AuthenticAMD", false, false, false, false });
        /* The "vmx flags" line is not "flags". */
        check_text("vendor_id\t: GenuineIntel\nvmx flags\t: vmx ept vpid\nflags\t\t: fpu\n",
                &(Expect){ NV_VENDOR_INTEL, "GenuineIntel", false, false, false, false });
        /* The wrong vendor's extension gives no hardware support. */
        check_text("vendor_id\t: GenuineIntel\nflags\t\t: svm\n",
                &(Expect){ NV_VENDOR_INTEL, "GenuineIntel", false, true, false, false });
        check_text("vendor_id\t: AuthenticAMD\nflags\t\t: vmx\n",
                &(Expect){ NV_VENDOR_AMD, "AuthenticAMD", true, false, false, false });
        /* An unknown vendor with vmx is still no vendor we have a module for. */
        check_text("vendor_id\t: GenuineTMx86\nflags\t\t: vmx\n",
                &(Expect){ NV_VENDOR_UNKNOWN, "GenuineTMx86", true, false, false, false });
        /* Only the first processor block counts. */
        check_text("processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu\n\n"
                   "processor\t: 1\nvendor_id\t: AuthenticAMD\nflags\t\t: svm\n",
                &(Expect){ NV_VENDOR_INTEL, "GenuineIntel", false, false, false, false });
        /* Leading blank lines do not end the block before it starts. */
        check_text("\n\nvendor_id\t: GenuineIntel\nflags\t\t: vmx\n",
                &(Expect){ NV_VENDOR_INTEL, "GenuineIntel", true, false, false, true });
        /* An empty flags line and an empty vendor. */
        check_text("vendor_id\t:\nflags\t\t:\n",
                &(Expect){ NV_VENDOR_UNKNOWN, "", false, false, false, false });
        /* CRLF line ends (copied files). */
        check_text("vendor_id\t: GenuineIntel\r\nflags\t\t: vmx hypervisor\r\n",
                &(Expect){ NV_VENDOR_INTEL, "GenuineIntel", true, false, true, true });
}
END_TEST

START_TEST(test_errors)
{
        NvCpuInfo info = {};
        NvFixture *f = NULL;

        ck_assert_int_eq(nv_cpu_info_parse(NULL, &info), -EINVAL);
        ck_assert(!nv_cpu_info_hardware_support(NULL));
        nv_cpu_info_done(NULL);

        /* No /proc/cpuinfo at all under the root. */
        ck_assert_int_eq(nv_fixture_new(NULL, &f), 0);
        ck_assert_int_eq(nv_cpu_info_read(&info), -ENOENT);
        nv_fixture_free(f);
}
END_TEST

static Suite *cpu_info_suite(void)
{
        Suite *s = suite_create("cpu-info");
        TCase *tc = tcase_create("parse");

        tcase_add_test(tc, test_vendor_strings);
        tcase_add_test(tc, test_fixture_hosts);
        tcase_add_test(tc, test_other_vendors);
        tcase_add_test(tc, test_inline);
        tcase_add_test(tc, test_errors);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return nv_fixture_run_suite(cpu_info_suite());
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt backend against a real libvirtd (libvirtd-test.sh run): domains of type qemu (TCG;
 * there may be no /dev/kvm) with every CPU mode and vmx/svm policy, defined, read, exposed and
 * hidden through the API, and the definitions libvirt stored checked.
 */
#include <check.h>
#include <libvirt/virterror.h>
#include <sys/stat.h>

#include "libvirt-cpu.h"
#include "libvirt-test-util.h"
#include "libvirt-util.h"
#include "libvirt-vms.h"
#include "libvirt-xml.h"
#include "util.h"

static virConnectPtr connect_libvirt(void)
{
        virConnectPtr c = sym_virConnectOpen(nv_libvirt_uri());

        ck_assert_msg(c, "cannot connect to %s: %s", nv_libvirt_uri(), nv_libvirt_message());
        return c;
}

/* A domain that starts without disk or KVM: the CPU block is the test's. */
static char *domain_xml(const char *name, const char *uuid, const char *type, const char *cpu)
{
        char *s = NULL;

        ck_assert_int_ge(asprintf(&s,
                                 "<domain type='%s'>\n"
                                 "  <name>%s</name>\n"
                                 "  <uuid>%s</uuid>\n"
                                 "  <title>nestvirt test</title>\n"
                                 "  <memory unit='MiB'>64</memory>\n"
                                 "  <vcpu>1</vcpu>\n"
                                 "  <os>\n"
                                 "    <type arch='x86_64' machine='pc'>hvm</type>\n"
                                 "  </os>\n"
                                 "%s"
                                 "  <on_poweroff>destroy</on_poweroff>\n"
                                 "  <devices>\n"
                                 "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
                                 "  </devices>\n"
                                 "</domain>\n",
                                 type, name, uuid, cpu),
                0);
        return s;
}

static virDomainPtr define(
        virConnectPtr c, const char *name, const char *uuid, const char *type, const char *cpu)
{
        _cleanup_free_ char *xml = domain_xml(name, uuid, type, cpu);
        virDomainPtr d = sym_virDomainDefineXMLFlags(c, xml, VIR_DOMAIN_DEFINE_VALIDATE);

        ck_assert_msg(d, "libvirt refused %s: %s", name, nv_libvirt_message());
        return d;
}

static void undefine(virDomainPtr d)
{
        if (sym_virDomainIsActive(d) > 0)
                (void) virDomainDestroy(d);
        ck_assert_int_eq(virDomainUndefine(d), 0);
        sym_virDomainFree(d);
}

static char *stored_xml(virDomainPtr d)
{
        char *xml = sym_virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);

        ck_assert_ptr_nonnull(xml);
        return xml;
}

static char *stored_cpu(virDomainPtr d)
{
        _cleanup_(nv_libvirt_domain_done) NvLibvirtDomain p = {};
        _cleanup_free_ char *xml = stored_xml(d);
        char *text = NULL;

        ck_assert_int_eq(nv_libvirt_domain_parse(xml, strlen(xml), &p), 0);
        ck_assert_int_eq(nv_libvirt_cpu_text(&p.cpu, &text), 0);
        return text;
}

/* One exposure change through the backend; checks that nothing but <cpu> changed and that the
 * result names what libvirt stored. */
static void set_exposure(virConnectPtr c, virDomainPtr d, NvVendor vendor, bool expose, uint64_t flags,
        bool changed, const char *cpu)
{
        _cleanup_free_ char *before = stored_xml(d), *after = NULL, *rest_before = NULL, *rest_after = NULL,
                            *now = NULL;
        _cleanup_(nv_expose_result_done) NvExposeResult res = {};
        char uuid[VIR_UUID_STRING_BUFLEN];

        ck_assert_int_eq(sym_virDomainGetUUIDString(d, uuid), 0);
        ck_assert_int_eq(nv_libvirt_set_exposure(c, vendor, uuid, expose, flags, &res), 0);
        ck_assert_msg(res.status == NV_EXPOSE_DONE, "%s %s: status %d: %s", virDomainGetName(d),
                expose ? "expose" : "hide", res.status, strempty(res.message));
        ck_assert_int_eq(res.changed, changed);
        ck_assert_msg(streq_ptr(res.cpu, cpu), "%s: cpu '%s', expected '%s'", virDomainGetName(d),
                strempty(res.cpu), strempty(cpu));

        now = stored_cpu(d);
        ck_assert_str_eq(strempty(now), strempty(cpu));
        after = stored_xml(d);
        if (!changed)
                ck_assert_str_eq(before, after);
        rest_before = nv_test_without_cpu(before);
        rest_after = nv_test_without_cpu(after);
        ck_assert_str_eq(rest_before, rest_after);
}

static void check_config(virConnectPtr c, const char *uuid, NvVendor vendor, const char *cpu,
        NvVmNesting next, NvVmSource by, bool requires)
{
        _cleanup_(nv_vm_config_done) NvVmConfig cfg = {};

        ck_assert_int_eq(nv_libvirt_read_vm(c, vendor, uuid, &cfg), 0);
        ck_assert_str_eq(cfg.id, uuid);
        ck_assert_ptr_nonnull(cfg.name);
        ck_assert(cfg.x86);
        ck_assert_msg(streq_ptr(cfg.cpu, cpu), "%s: cpu '%s', expected '%s'", cfg.name, strempty(cfg.cpu),
                strempty(cpu));
        ck_assert_msg(cfg.next == next && cfg.next_by == by && cfg.requires == requires,
                "%s: %s by %s requires %d", cfg.name, nv_vm_nesting_to_string(cfg.next),
                nv_vm_source_to_string(cfg.next_by), cfg.requires);
        ck_assert(!cfg.running);
        ck_assert_int_eq(cfg.pid, 0);
        ck_assert_ptr_null(cfg.cpu_now);
        ck_assert(!cfg.pending_change);
}

static void check_next(virConnectPtr c, const char *uuid, NvVendor vendor, NvVmNesting next)
{
        _cleanup_(nv_vm_config_done) NvVmConfig cfg = {};

        ck_assert_int_eq(nv_libvirt_read_vm(c, vendor, uuid, &cfg), 0);
        ck_assert_msg(cfg.next == next, "%s: %s", cfg.name, nv_vm_nesting_to_string(cfg.next));
}

typedef struct Case {
        const char *name;
        const char *type;
        const char *cpu_xml;
        NvVendor vendor;
        const char *cpu; /* as stored */
        NvVmNesting next;
        NvVmSource by;
        bool requires;
        const char *toggled; /* after the opposite change */
        const char *back; /* after changing it back */
} Case;

#define FEATURE(p, n) "    <feature policy='" p "' name='" n "'/>\n"
#define E             NV_VM_NESTING_EXPOSED
#define H             NV_VM_NESTING_HIDDEN
#define S(x)          NV_VM_SOURCE_##x

static const Case cases[] = {
        { "nv-custom", "kvm", "  <cpu mode='custom' match='exact'>\n    <model>qemu64</model>\n  </cpu>\n",
                NV_VENDOR_INTEL, "custom:qemu64", H, S(NONE), false, "custom:qemu64,vmx=require",
                "custom:qemu64" },
        { "nv-passthrough", "qemu", "  <cpu mode='host-passthrough'/>\n", NV_VENDOR_AMD, "host-passthrough",
                E, S(HOST_MODEL), false, "host-passthrough,svm=disable", "host-passthrough" },
        { "nv-host-model", "qemu", "  <cpu mode='host-model'/>\n", NV_VENDOR_INTEL, "host-model", E,
                S(HOST_MODEL), false, "host-model,vmx=disable", "host-model" },
        { "nv-maximum", "qemu", "  <cpu mode='maximum'/>\n", NV_VENDOR_AMD, "maximum", E, S(HOST_MODEL),
                false, "maximum,svm=disable", "maximum" },
        /* libvirt stores its default model for a domain without <cpu>. */
        { "nv-no-cpu", "qemu", "", NV_VENDOR_AMD, "custom:qemu64", H, S(NONE), false,
                "custom:qemu64,svm=require", "custom:qemu64" },
        { "nv-require", "kvm",
                "  <cpu mode='custom'>\n    <model>Haswell</model>\n" FEATURE("require", "vmx") "  </cpu>\n",
                NV_VENDOR_INTEL, "custom:Haswell,vmx=require", E, S(FLAG), true, "custom:Haswell",
                "custom:Haswell,vmx=require" },
        { "nv-require-tcg", "qemu",
                "  <cpu mode='custom'>\n    <model>Haswell</model>\n" FEATURE("require", "vmx") "  </cpu>\n",
                NV_VENDOR_INTEL, "custom:Haswell,vmx=require", E, S(FLAG), false, "custom:Haswell",
                "custom:Haswell,vmx=require" },
        { "nv-force", "kvm",
                "  <cpu mode='custom'>\n    <model>EPYC</model>\n" FEATURE("force", "svm") "  </cpu>\n",
                NV_VENDOR_AMD, "custom:EPYC,svm=force", E, S(FLAG), false, "custom:EPYC",
                "custom:EPYC,svm=require" },
        { "nv-optional", "kvm",
                "  <cpu mode='custom'>\n    <model>EPYC</model>\n" FEATURE("optional", "svm") "  </cpu>\n",
                NV_VENDOR_AMD, "custom:EPYC,svm=optional", E, S(FLAG), false, "custom:EPYC",
                "custom:EPYC,svm=require" },
        { "nv-disable", "kvm", "  <cpu mode='host-passthrough'>\n" FEATURE("disable", "vmx") "  </cpu>\n",
                NV_VENDOR_INTEL, "host-passthrough,vmx=disable", H, S(FLAG), false, "host-passthrough",
                "host-passthrough,vmx=disable" },
        { "nv-forbid", "kvm", "  <cpu mode='host-model'>\n" FEATURE("forbid", "svm") "  </cpu>\n",
                NV_VENDOR_AMD, "host-model,svm=forbid", H, S(FLAG), false, "host-model",
                "host-model,svm=disable" },
        /* Duplicate-prone: both features present, the other vendor's must stay as it is. */
        { "nv-both", "kvm",
                "  <cpu mode='custom'>\n    <model>qemu64</model>\n" FEATURE("disable", "vmx")
                        FEATURE("require", "svm") "  </cpu>\n",
                NV_VENDOR_INTEL, "custom:qemu64,vmx=disable,svm=require", H, S(FLAG), false,
                "custom:qemu64,vmx=require,svm=require", "custom:qemu64,svm=require" },
        /* An svm feature does nothing on an Intel host. */
        { "nv-svm-on-intel", "kvm",
                "  <cpu mode='custom'>\n    <model>qemu64</model>\n" FEATURE("require", "svm") "  </cpu>\n",
                NV_VENDOR_INTEL, "custom:qemu64,svm=require", H, S(NONE), false,
                "custom:qemu64,vmx=require,svm=require", "custom:qemu64,svm=require" },
};

static const char *uuid_of(size_t i)
{
        static char buf[VIR_UUID_STRING_BUFLEN];

        snprintf(buf, sizeof(buf), "5e0c7a1d-0000-4000-8000-%012zx", i + 1);
        return buf;
}

START_TEST(test_modes_and_policies)
{
        const Case *k = &cases[_i];
        _cleanup_(sym_virConnectClosep) virConnectPtr c = connect_libvirt();
        _cleanup_free_ char *uuid = strdup(uuid_of(_i));
        virDomainPtr d = define(c, k->name, uuid, k->type, k->cpu_xml);
        bool exposed = k->next == NV_VM_NESTING_EXPOSED;

        check_config(c, uuid, k->vendor, k->cpu, k->next, k->by, k->requires);

        /* The state it is in already: nothing to do, nothing defined. */
        set_exposure(c, d, k->vendor, exposed, 0, false, k->cpu);
        /* The opposite, then back: the original semantics again. */
        set_exposure(c, d, k->vendor, !exposed, 0, true, k->toggled);
        check_next(c, uuid, k->vendor, exposed ? NV_VM_NESTING_HIDDEN : NV_VM_NESTING_EXPOSED);
        set_exposure(c, d, k->vendor, exposed, 0, true, k->back);
        check_next(c, uuid, k->vendor, k->next);
        undefine(d);
}
END_TEST

START_TEST(test_host_passthrough_flag)
{
        _cleanup_(sym_virConnectClosep) virConnectPtr c = connect_libvirt();
        virDomainPtr d = define(c, "nv-to-passthrough", "5e0c7a1d-0000-4000-8000-0000000000a1", "kvm",
                "  <cpu mode='custom' match='exact'>\n    <model>Haswell</model>\n"
                "    <topology sockets='1' dies='1' cores='1' threads='1'/>\n" FEATURE(
                        "disable", "vmx") "  </cpu>\n");
        _cleanup_free_ char *xml = NULL;

        set_exposure(c, d, NV_VENDOR_INTEL, true, NV_EXPOSE_HOST_MODEL, true, "host-passthrough");
        /* The topology stays. */
        xml = stored_xml(d);
        ck_assert_ptr_nonnull(strstr(xml, "<topology sockets='1' dies='1' cores='1' threads='1'/>"));
        set_exposure(c, d, NV_VENDOR_INTEL, true, NV_EXPOSE_HOST_MODEL, false, "host-passthrough");
        undefine(d);
}
END_TEST

START_TEST(test_no_such_vm)
{
        _cleanup_(sym_virConnectClosep) virConnectPtr c = connect_libvirt();
        _cleanup_(nv_expose_result_done) NvExposeResult res = {}, res2 = {};
        NvVmConfig cfg = {};

        ck_assert_int_eq(
                nv_libvirt_read_vm(c, NV_VENDOR_INTEL, "00000000-1111-4222-8333-444444444444", &cfg),
                -ENOENT);
        ck_assert_int_eq(nv_libvirt_read_vm(c, NV_VENDOR_INTEL, "not-a-uuid", &cfg), -ENOENT);
        ck_assert_int_eq(nv_libvirt_set_exposure(
                                 c, NV_VENDOR_INTEL, "00000000-1111-4222-8333-444444444444", true, 0, &res),
                0);
        ck_assert_int_eq(res.status, NV_EXPOSE_NO_SUCH_VM);
        ck_assert_ptr_nonnull(res.message);
        ck_assert_int_eq(nv_libvirt_set_exposure(c, NV_VENDOR_AMD, "not-a-uuid", false, 0, &res2), 0);
        ck_assert_int_eq(res2.status, NV_EXPOSE_NO_SUCH_VM);
}
END_TEST

START_TEST(test_not_x86_and_unknown_vendor)
{
        _cleanup_(sym_virConnectClosep) virConnectPtr c = connect_libvirt();
        _cleanup_(nv_expose_result_done) NvExposeResult res = {};
        const char *uuid = "5e0c7a1d-0000-4000-8000-0000000000b1";
        virDomainPtr d = define(c, "nv-vendor", uuid, "qemu", "");

        ck_assert_int_eq(nv_libvirt_set_exposure(c, NV_VENDOR_UNKNOWN, uuid, true, 0, &res), 0);
        ck_assert_int_eq(res.status, NV_EXPOSE_NOT_SUPPORTED);
        ck_assert_ptr_nonnull(res.message);
        undefine(d);
}
END_TEST

START_TEST(test_list)
{
        _cleanup_(sym_virConnectClosep) virConnectPtr c = connect_libvirt();
        virDomainPtr a = define(c, "nv-list-b", "5e0c7a1d-0000-4000-8000-0000000000c1", "qemu", ""),
                     b = define(c, "nv-list-a", "5e0c7a1d-0000-4000-8000-0000000000c2", "qemu", "");
        NvVmConfig *vms = NULL;
        size_t n = 0;

        ck_assert_int_eq(nv_libvirt_read_vms(c, NV_VENDOR_INTEL, &vms, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(vms[0].name, "nv-list-a");
        ck_assert_str_eq(vms[1].name, "nv-list-b");
        for (size_t i = 0; i < n; i++)
                nv_vm_config_done(&vms[i]);
        free(vms);
        undefine(a);
        undefine(b);
}
END_TEST

/* A started TCG domain: running, its pid from libvirt's pid file, the live CPU, and a change
 * defined while it runs. */
START_TEST(test_running)
{
        _cleanup_(sym_virConnectClosep) virConnectPtr c = connect_libvirt();
        const char *uuid = "5e0c7a1d-0000-4000-8000-0000000000d1";
        virDomainPtr d = define(c, "nv-running", uuid, "qemu", "  <cpu mode='host-model'/>\n");
        _cleanup_(nv_vm_config_done) NvVmConfig cfg = {}, cfg2 = {};
        _cleanup_free_ char *proc = NULL;
        struct stat st;

        ck_assert_msg(virDomainCreate(d) == 0, "cannot start a TCG domain: %s", nv_libvirt_message());

        ck_assert_int_eq(nv_libvirt_read_vm(c, NV_VENDOR_AMD, uuid, &cfg), 0);
        ck_assert(cfg.running);
        ck_assert_int_gt(cfg.pid, 0);
        ck_assert_int_ge(asprintf(&proc, "/proc/%d", (int) cfg.pid), 0);
        ck_assert_int_eq(stat(proc, &st), 0);
        ck_assert_str_eq(cfg.cpu, "host-model");
        /* libvirt runs a host-model CPU as the custom model it expanded to. */
        ck_assert_ptr_nonnull(cfg.cpu_now);
        ck_assert_ptr_nonnull(startswith(cfg.cpu_now, "custom:"));
        ck_assert(!cfg.pending_change);

        set_exposure(c, d, NV_VENDOR_AMD, false, 0, true, "host-model,svm=disable");
        ck_assert_int_eq(nv_libvirt_read_vm(c, NV_VENDOR_AMD, uuid, &cfg2), 0);
        ck_assert(cfg2.running);
        ck_assert(cfg2.pending_change);
        ck_assert_int_eq(cfg2.next, NV_VM_NESTING_HIDDEN);
        undefine(d);
}
END_TEST

START_TEST(test_host_model_offers)
{
        _cleanup_(sym_virConnectClosep) virConnectPtr c = connect_libvirt();
        int r;

        /* The answer depends on the machine; it must be an answer or "cannot tell". */
        r = nv_libvirt_host_model_offers(c, NV_VENDOR_AMD);
        ck_assert_msg(r == 0 || r == 1 || r == -ENODATA, "AMD: %d", r);
        r = nv_libvirt_host_model_offers(c, NV_VENDOR_INTEL);
        ck_assert_msg(r == 0 || r == 1 || r == -ENODATA, "Intel: %d", r);
        ck_assert_int_eq(nv_libvirt_host_model_offers(c, NV_VENDOR_UNKNOWN), -EOPNOTSUPP);
}
END_TEST

static void silence(void *userdata, virErrorPtr e)
{
}

int main(void)
{
        Suite *s = suite_create("libvirt-vms");
        TCase *tc = tcase_create("libvirtd");
        SRunner *sr;
        int failed;

        if (!getenv("NESTVIRT_LIBVIRT_URI")) {
                fprintf(stderr, "Run through libvirtd-test.sh run.\n");
                return 77;
        }
        /* The core calls libvirt through the pointers that this fills (linked here too, the
         * library is the same). */
        if (dlopen_libvirt() < 0) {
                fprintf(stderr, "Cannot load libvirt: %s\n", dlopen_error());
                return EXIT_FAILURE;
        }
        sym_virSetErrorFunc(NULL, silence);

        tcase_set_timeout(tc, 120);
        tcase_add_loop_test(tc, test_modes_and_policies, 0, ELEMENTSOF(cases));
        tcase_add_test(tc, test_host_passthrough_flag);
        tcase_add_test(tc, test_no_such_vm);
        tcase_add_test(tc, test_not_x86_and_unknown_vendor);
        tcase_add_test(tc, test_list);
        tcase_add_test(tc, test_running);
        tcase_add_test(tc, test_host_model_offers);
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

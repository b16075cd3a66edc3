/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The domain XML reader and editor on the fixtures in tests/libvirt/xml. */
#include <check.h>

#include "libvirt-caps.h"
#include "libvirt-cpu.h"
#include "libvirt-edit.h"
#include "libvirt-test-util.h"
#include "libvirt-xml.h"
#include "util.h"

#define P(x) NV_LIBVIRT_POLICY_##x
#define M(x) NV_LIBVIRT_CPU_##x

static char *read_fixture(const char *name, size_t *ret_size)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char *text = NULL;
        size_t size = 0;

        ck_assert_int_ge(asprintf(&path, "%s/tests/libvirt/xml/%s.xml", NV_SOURCE_ROOT, name), 0);
        f = fopen(path, "re");
        ck_assert_msg(f, "cannot open %s", path);
        ck_assert_int_ge(getdelim(&text, &size, 0, f), 0);
        *ret_size = strlen(text);
        return text;
}

typedef struct Parsed {
        const char *name;
        NvLibvirtCpuMode mode;
        const char *model;
        NvLibvirtPolicy vmx, svm;
        const char *text;
        NvVmNesting intel, amd;
        NvVmSource intel_by, amd_by;
        bool intel_requires, amd_requires;
} Parsed;

#define E    NV_VM_NESTING_EXPOSED
#define H    NV_VM_NESTING_HIDDEN
#define U    NV_VM_NESTING_UNKNOWN
#define S(x) NV_VM_SOURCE_##x

static const Parsed parsed[] = {
        { "no-cpu", M(NONE), NULL, P(ABSENT), P(ABSENT), NULL, H, H, S(NONE), S(NONE) },
        { "passthrough", M(HOST_PASSTHROUGH), NULL, P(ABSENT), P(ABSENT), "host-passthrough", E, E,
                S(HOST_MODEL), S(HOST_MODEL) },
        { "passthrough-vmx-disable", M(HOST_PASSTHROUGH), NULL, P(DISABLE), P(ABSENT),
                "host-passthrough,vmx=disable", H, E, S(FLAG), S(HOST_MODEL) },
        { "maximum-svm-forbid", M(MAXIMUM), NULL, P(ABSENT), P(FORBID), "maximum,svm=forbid", E, H,
                S(HOST_MODEL), S(FLAG) },
        { "host-model", M(HOST_MODEL), NULL, P(ABSENT), P(ABSENT), "host-model", E, E, S(HOST_MODEL),
                S(HOST_MODEL) },
        { "host-model-svm-disable", M(HOST_MODEL), NULL, P(ABSENT), P(DISABLE), "host-model,svm=disable", E,
                H, S(HOST_MODEL), S(FLAG) },
        { "custom", M(CUSTOM), "Skylake-Server", P(ABSENT), P(ABSENT), "custom:Skylake-Server", H, H,
                S(NONE), S(NONE) },
        { "custom-vmx-require", M(CUSTOM), "Skylake-Server", P(REQUIRE), P(ABSENT),
                "custom:Skylake-Server,vmx=require", E, H, S(FLAG), S(NONE), true, false },
        { "custom-vmx-force-svm-optional", M(CUSTOM), "EPYC", P(FORCE), P(OPTIONAL),
                "custom:EPYC,vmx=force,svm=optional", E, E, S(FLAG), S(FLAG) },
        { "custom-no-policy", M(CUSTOM), "qemu64", P(ABSENT), P(REQUIRE), "custom:qemu64,svm=require", H, E,
                S(NONE), S(FLAG), false, true },
        { "custom-topology-only", M(CUSTOM), NULL, P(ABSENT), P(ABSENT), "custom", H, H, S(NONE), S(NONE) },
        { "duplicate-vmx", M(CUSTOM), "Haswell", P(REQUIRE), P(ABSENT), "custom:Haswell,vmx=require", E, H,
                S(FLAG), S(NONE), true, false },
        { "aarch64", M(HOST_PASSTHROUGH), NULL, P(ABSENT), P(ABSENT), "host-passthrough", U, U, S(NOT_X86),
                S(NOT_X86) },
        /* TCG: the flag exposes it, but the start does not need the host's nesting. */
        { "tcg-vmx-require", M(CUSTOM), "qemu64", P(REQUIRE), P(ABSENT), "custom:qemu64,vmx=require", E, H,
                S(FLAG), S(NONE) },
        { "i686-no-cpu", M(NONE), NULL, P(ABSENT), P(ABSENT), NULL, H, H, S(NONE), S(NONE) },
        { "unknown-mode", M(UNKNOWN), NULL, P(ABSENT), P(ABSENT), "unknown", U, U, S(NONE), S(NONE) },
};

START_TEST(test_parse)
{
        const Parsed *p = &parsed[_i];
        _cleanup_(nv_libvirt_domain_done) NvLibvirtDomain d = {};
        _cleanup_free_ char *xml = NULL, *text = NULL;
        NvLibvirtNesting n;
        size_t size;
        bool x86;

        xml = read_fixture(p->name, &size);
        ck_assert_int_eq(nv_libvirt_domain_parse(xml, size, &d), 0);
        ck_assert_str_eq(d.name, p->name);
        ck_assert_str_eq(d.uuid, "8f2a1c3e-5b7d-4e9f-a1b2-c3d4e5f60718");
        ck_assert_ptr_nonnull(d.type);
        ck_assert_ptr_nonnull(d.arch);
        ck_assert_msg(d.cpu.mode == p->mode, "%s: mode %d", p->name, d.cpu.mode);
        ck_assert_msg(streq_ptr(d.cpu.model, p->model), "%s: model %s", p->name, strempty(d.cpu.model));
        ck_assert_msg(d.cpu.vmx == p->vmx, "%s: vmx %d", p->name, d.cpu.vmx);
        ck_assert_msg(d.cpu.svm == p->svm, "%s: svm %d", p->name, d.cpu.svm);
        ck_assert_int_eq(d.cpu.vmx_twice, streq(p->name, "duplicate-vmx"));

        ck_assert_int_eq(nv_libvirt_cpu_text(&d.cpu, &text), 0);
        ck_assert_msg(streq_ptr(text, p->text), "%s: text '%s'", p->name, strempty(text));

        x86 = nv_libvirt_arch_is_x86(d.arch);
        n = nv_libvirt_cpu_nesting(&d.cpu, x86, streq(d.type, "kvm"), NV_VENDOR_INTEL);
        ck_assert_msg(n.next == p->intel && n.by == p->intel_by && n.requires == p->intel_requires,
                "%s on Intel: %s by %s requires %d", p->name, nv_vm_nesting_to_string(n.next),
                nv_vm_source_to_string(n.by), n.requires);
        n = nv_libvirt_cpu_nesting(&d.cpu, x86, streq(d.type, "kvm"), NV_VENDOR_AMD);
        ck_assert_msg(n.next == p->amd && n.by == p->amd_by && n.requires == p->amd_requires,
                "%s on AMD: %s by %s requires %d", p->name, nv_vm_nesting_to_string(n.next),
                nv_vm_source_to_string(n.by), n.requires);

        /* Without a vendor nothing is known, whatever the CPU. */
        n = nv_libvirt_cpu_nesting(&d.cpu, x86, true, NV_VENDOR_UNKNOWN);
        ck_assert_int_eq(n.next, NV_VM_NESTING_UNKNOWN);
        ck_assert(!n.requires);
}
END_TEST

START_TEST(test_parse_bad)
{
        static const char *const bad[] = {
                "",
                "<domain",
                "<vm type='kvm'/>",
                "<!DOCTYPE domain [<!ENTITY a 'aaaa'>]><domain><name>&a;</name></domain>",
                "<x:domain xmlns:x='urn:x'/>",
        };
        NvLibvirtDomain d = {};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_int_eq(nv_libvirt_domain_parse(bad[i], strlen(bad[i]), &d), -EBADMSG);

        /* The smallest domain: everything unset. */
        ck_assert_int_eq(nv_libvirt_domain_parse("<domain/>", 9, &d), 0);
        ck_assert_ptr_null(d.name);
        ck_assert_ptr_null(d.arch);
        ck_assert_int_eq(d.cpu.mode, NV_LIBVIRT_CPU_NONE);
        nv_libvirt_domain_done(&d);
}
END_TEST

typedef struct Edit {
        const char *name;
        NvVendor vendor;
        bool expose, host_model;
        int result; /* 1 changed, 0 nothing to do, < 0 an error */
        const char *text; /* the <cpu> text afterwards */
} Edit;

static const Edit edits[] = {
        { "no-cpu", NV_VENDOR_INTEL, true, false, 1, "custom:qemu64,vmx=require" },
        { "no-cpu", NV_VENDOR_AMD, false, false, 0, NULL },
        { "no-cpu", NV_VENDOR_AMD, true, true, 1, "host-passthrough" },
        { "i686-no-cpu", NV_VENDOR_AMD, true, false, 1, "custom:qemu32,svm=require" },
        { "passthrough", NV_VENDOR_INTEL, true, false, 0, "host-passthrough" },
        { "passthrough", NV_VENDOR_INTEL, true, true, 0, "host-passthrough" },
        { "passthrough", NV_VENDOR_INTEL, false, false, 1, "host-passthrough,vmx=disable" },
        { "passthrough-vmx-disable", NV_VENDOR_INTEL, true, false, 1, "host-passthrough" },
        { "passthrough-vmx-disable", NV_VENDOR_INTEL, false, false, 0, "host-passthrough,vmx=disable" },
        { "passthrough-vmx-disable", NV_VENDOR_AMD, false, false, 1,
                "host-passthrough,vmx=disable,svm=disable" },
        { "maximum-svm-forbid", NV_VENDOR_AMD, true, false, 1, "maximum" },
        { "maximum-svm-forbid", NV_VENDOR_AMD, true, true, 1, "host-passthrough" },
        { "maximum-svm-forbid", NV_VENDOR_INTEL, false, false, 1, "maximum,vmx=disable,svm=forbid" },
        { "host-model", NV_VENDOR_AMD, true, false, 0, "host-model" },
        { "host-model", NV_VENDOR_AMD, false, false, 1, "host-model,svm=disable" },
        { "host-model-svm-disable", NV_VENDOR_AMD, true, false, 1, "host-model" },
        { "custom", NV_VENDOR_INTEL, true, false, 1, "custom:Skylake-Server,vmx=require" },
        { "custom", NV_VENDOR_INTEL, false, false, 0, "custom:Skylake-Server" },
        { "custom", NV_VENDOR_INTEL, true, true, 1, "host-passthrough" },
        { "custom-vmx-require", NV_VENDOR_INTEL, true, false, 0, "custom:Skylake-Server,vmx=require" },
        { "custom-vmx-require", NV_VENDOR_INTEL, false, false, 1, "custom:Skylake-Server" },
        /* An svm feature on an Intel host is left alone. */
        { "custom-vmx-force-svm-optional", NV_VENDOR_INTEL, false, false, 1, "custom:EPYC,svm=optional" },
        { "custom-vmx-force-svm-optional", NV_VENDOR_AMD, false, false, 1, "custom:EPYC,vmx=force" },
        { "custom-no-policy", NV_VENDOR_AMD, true, false, 0, "custom:qemu64,svm=require" },
        { "custom-topology-only", NV_VENDOR_INTEL, true, false, 1, "custom:qemu64,vmx=require" },
        /* Both vmx features go; one is written. */
        { "duplicate-vmx", NV_VENDOR_INTEL, true, false, 1, "custom:Haswell,vmx=require" },
        { "duplicate-vmx", NV_VENDOR_INTEL, false, false, 1, "custom:Haswell" },
        { "tcg-vmx-require", NV_VENDOR_INTEL, false, false, 1, "custom:qemu64" },
        { "aarch64", NV_VENDOR_INTEL, true, false, -EOPNOTSUPP, NULL },
        { "custom", NV_VENDOR_UNKNOWN, true, false, -EOPNOTSUPP, NULL },
        { "unknown-mode", NV_VENDOR_AMD, false, false, -EOPNOTSUPP, NULL },
};

START_TEST(test_edit)
{
        const Edit *e = &edits[_i];
        _cleanup_(nv_libvirt_domain_done) NvLibvirtDomain before = {}, after = {};
        _cleanup_free_ char *xml = NULL, *out = NULL, *again = NULL, *text = NULL, *rest_before = NULL,
                            *rest_after = NULL;
        NvLibvirtNesting n;
        size_t size;
        int r;

        xml = read_fixture(e->name, &size);
        r = nv_libvirt_edit_exposure(xml, size, e->vendor, e->expose, e->host_model, &out);
        ck_assert_msg(r == e->result, "%s: %d, expected %d", e->name, r, e->result);
        if (r <= 0) {
                ck_assert_ptr_null(out);
                if (r == 0) {
                        ck_assert_int_eq(nv_libvirt_domain_parse(xml, size, &before), 0);
                        ck_assert_int_eq(nv_libvirt_cpu_text(&before.cpu, &text), 0);
                        ck_assert_msg(streq_ptr(text, e->text), "%s: '%s'", e->name, strempty(text));
                }
                return;
        }

        ck_assert_int_eq(nv_libvirt_domain_parse(xml, size, &before), 0);
        ck_assert_int_eq(nv_libvirt_domain_parse(out, strlen(out), &after), 0);
        ck_assert_int_eq(nv_libvirt_cpu_text(&after.cpu, &text), 0);
        ck_assert_msg(streq_ptr(text, e->text), "%s: '%s', expected '%s'\n%s", e->name, strempty(text),
                e->text, out);

        /* What the edit asked for, and only that. */
        n = nv_libvirt_cpu_nesting(&after.cpu, true, true, e->vendor);
        ck_assert_int_eq(n.next, e->expose ? NV_VM_NESTING_EXPOSED : NV_VM_NESTING_HIDDEN);
        ck_assert(!after.cpu.vmx_twice && !after.cpu.svm_twice);
        if (e->vendor == NV_VENDOR_INTEL)
                ck_assert_int_eq(after.cpu.svm, before.cpu.svm);
        else
                ck_assert_int_eq(after.cpu.vmx, before.cpu.vmx);
        rest_before = nv_test_without_cpu(xml);
        rest_after = nv_test_without_cpu(out);
        ck_assert_msg(streq(rest_before, rest_after), "%s: outside <cpu>:\n%s\n---\n%s", e->name,
                rest_before, rest_after);
        /* Lines stay lines: the new elements are indented like their neighbours. */
        ck_assert_ptr_null(strstr(out, "><feature"));
        ck_assert_ptr_null(strstr(out, "\n\n"));

        /* Once is enough. */
        ck_assert_int_eq(
                nv_libvirt_edit_exposure(out, strlen(out), e->vendor, e->expose, e->host_model, &again), 0);
        ck_assert_ptr_null(again);
}
END_TEST

START_TEST(test_edit_layout)
{
        static const char xml[] = "<domain type='kvm'>\n"
                                  "  <os>\n"
                                  "    <type arch='x86_64'>hvm</type>\n"
                                  "  </os>\n"
                                  "  <cpu mode='host-passthrough'/>\n"
                                  "</domain>";
        static const char hidden[] = "<domain type=\"kvm\">\n"
                                     "  <os>\n"
                                     "    <type arch=\"x86_64\">hvm</type>\n"
                                     "  </os>\n"
                                     "  <cpu mode=\"host-passthrough\">\n"
                                     "    <feature policy=\"disable\" name=\"vmx\"/>\n"
                                     "  </cpu>\n"
                                     "</domain>\n";
        _cleanup_free_ char *out = NULL, *back = NULL;

        ck_assert_int_eq(nv_libvirt_edit_exposure(xml, strlen(xml), NV_VENDOR_INTEL, false, false, &out), 1);
        ck_assert_str_eq(out, hidden);
        ck_assert_int_eq(nv_libvirt_edit_exposure(out, strlen(out), NV_VENDOR_INTEL, true, false, &back), 1);
        ck_assert_str_eq(back,
                "<domain type=\"kvm\">\n"
                "  <os>\n"
                "    <type arch=\"x86_64\">hvm</type>\n"
                "  </os>\n"
                "  <cpu mode=\"host-passthrough\">\n"
                "  </cpu>\n"
                "</domain>\n");
}
END_TEST

START_TEST(test_cpu_differs)
{
        NvLibvirtCpu host_model = { .mode = M(HOST_MODEL) },
                     host_model_off = { .mode = M(HOST_MODEL), .svm = P(DISABLE) },
                     expanded = { .mode = M(CUSTOM), .model = (char *) "EPYC", .svm = P(REQUIRE) },
                     expanded_off = { .mode = M(CUSTOM), .model = (char *) "EPYC", .svm = P(DISABLE) },
                     none = { .mode = M(NONE) }, qemu64 = { .mode = M(CUSTOM), .model = (char *) "qemu64" },
                     qemu64_vmx = { .mode = M(CUSTOM), .model = (char *) "qemu64", .vmx = P(REQUIRE) },
                     passthrough = { .mode = M(HOST_PASSTHROUGH) };

        ck_assert(!nv_libvirt_cpu_differs(&host_model, &expanded));
        ck_assert(!nv_libvirt_cpu_differs(&host_model, &expanded_off));
        ck_assert(nv_libvirt_cpu_differs(&host_model_off, &expanded));
        ck_assert(!nv_libvirt_cpu_differs(&host_model_off, &expanded_off));
        ck_assert(!nv_libvirt_cpu_differs(&none, &qemu64));
        ck_assert(!nv_libvirt_cpu_differs(&qemu64, &qemu64));
        ck_assert(nv_libvirt_cpu_differs(&qemu64_vmx, &qemu64));
        ck_assert(nv_libvirt_cpu_differs(&passthrough, &qemu64));
        ck_assert(!nv_libvirt_cpu_differs(&passthrough, &passthrough));
}
END_TEST

START_TEST(test_caps)
{
        static const char caps[] = "<domainCapabilities><cpu>"
                                   "<mode name='host-passthrough' supported='yes'/>"
                                   "<mode name='host-model' supported='yes'>"
                                   "<model fallback='forbid'>EPYC-Rome</model><vendor>AMD</vendor>"
                                   "<feature policy='require' name='x2apic'/>"
                                   "<feature policy='disable' name='svm'/>"
                                   "<feature policy='require' name='vmx'/>"
                                   "</mode></cpu></domainCapabilities>";
        static const char unsupported[] = "<domainCapabilities><cpu>"
                                          "<mode name='host-model' supported='no'/>"
                                          "</cpu></domainCapabilities>";
        _cleanup_free_ char *cpu = NULL;

        ck_assert_int_eq(nv_libvirt_caps_host_model(caps, strlen(caps), "svm", &cpu), 0);
        ck_assert_int_eq(nv_libvirt_caps_host_model(caps, strlen(caps), "vmx", &cpu), 1);
        ck_assert_ptr_null(cpu);
        ck_assert_int_eq(nv_libvirt_caps_host_model(unsupported, strlen(unsupported), "vmx", &cpu), 0);
        ck_assert_int_eq(nv_libvirt_caps_host_model("<cpu/>", 6, "vmx", &cpu), -EBADMSG);

        /* Not listed: the model has to be expanded, from a <cpu> of its own. */
        ck_assert_int_eq(nv_libvirt_caps_host_model(caps, strlen(caps), "pdpe1gb", &cpu), -ENODATA);
        ck_assert_ptr_nonnull(cpu);
        ck_assert_ptr_nonnull(strstr(cpu, "<cpu mode=\"custom\" match=\"exact\">"));
        ck_assert_ptr_nonnull(strstr(cpu, "EPYC-Rome"));
        ck_assert_int_eq(nv_libvirt_cpu_xml_lists(cpu, strlen(cpu), "x2apic"), 1);
        ck_assert_int_eq(nv_libvirt_cpu_xml_lists(cpu, strlen(cpu), "svm"), 0);
        ck_assert_int_eq(nv_libvirt_cpu_xml_lists(cpu, strlen(cpu), "pdpe1gb"), 0);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("libvirt-xml");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_parse, 0, ELEMENTSOF(parsed));
        tcase_add_test(tc, test_parse_bad);
        tcase_add_loop_test(tc, test_edit, 0, ELEMENTSOF(edits));
        tcase_add_test(tc, test_edit_layout);
        tcase_add_test(tc, test_cpu_differs);
        tcase_add_test(tc, test_caps);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "libvirt-cpu.h"

const char *nv_libvirt_vendor_feature(NvVendor vendor)
{
        switch (vendor) {
        case NV_VENDOR_INTEL:
                return "vmx";
        case NV_VENDOR_AMD:
                return "svm";
        default:
                return NULL;
        }
}

NvLibvirtPolicy nv_libvirt_cpu_policy(const NvLibvirtCpu *cpu, NvVendor vendor)
{
        assert(cpu);

        switch (vendor) {
        case NV_VENDOR_INTEL:
                return cpu->vmx;
        case NV_VENDOR_AMD:
                return cpu->svm;
        default:
                return NV_LIBVIRT_POLICY_ABSENT;
        }
}

bool nv_libvirt_arch_is_x86(const char *arch)
{
        return streq_ptr(arch, "x86_64") || streq_ptr(arch, "i686");
}

static bool mode_copies_host(NvLibvirtCpuMode mode)
{
        return mode == NV_LIBVIRT_CPU_HOST_PASSTHROUGH || mode == NV_LIBVIRT_CPU_MAXIMUM ||
                mode == NV_LIBVIRT_CPU_HOST_MODEL;
}

NvLibvirtNesting nv_libvirt_cpu_nesting(const NvLibvirtCpu *cpu, bool x86, bool kvm, NvVendor vendor)
{
        NvLibvirtNesting n = { .next = NV_VM_NESTING_HIDDEN, .by = NV_VM_SOURCE_NONE };
        NvLibvirtPolicy p;

        assert(cpu);

        if (!x86)
                return (NvLibvirtNesting){ .next = NV_VM_NESTING_UNKNOWN, .by = NV_VM_SOURCE_NOT_X86 };

        if (vendor == NV_VENDOR_UNKNOWN) {
                /* Which of the two features matters depends on the host's CPU. */
                bool flag = cpu->vmx != NV_LIBVIRT_POLICY_ABSENT || cpu->svm != NV_LIBVIRT_POLICY_ABSENT;
                n.next = NV_VM_NESTING_UNKNOWN;
                n.by = flag                           ? NV_VM_SOURCE_FLAG
                        : mode_copies_host(cpu->mode) ? NV_VM_SOURCE_HOST_MODEL
                                                      : NV_VM_SOURCE_NONE;
                return n;
        }

        p = nv_libvirt_cpu_policy(cpu, vendor);
        switch (p) {
        case NV_LIBVIRT_POLICY_ABSENT:
                if (cpu->mode == NV_LIBVIRT_CPU_UNKNOWN)
                        n.next = NV_VM_NESTING_UNKNOWN;
                else if (mode_copies_host(cpu->mode)) {
                        n.next = NV_VM_NESTING_EXPOSED;
                        n.by = NV_VM_SOURCE_HOST_MODEL;
                }
                return n;
        case NV_LIBVIRT_POLICY_REQUIRE:
                n.next = NV_VM_NESTING_EXPOSED;
                n.requires = kvm;
                break;
        case NV_LIBVIRT_POLICY_FORCE:
        case NV_LIBVIRT_POLICY_OPTIONAL:
                n.next = NV_VM_NESTING_EXPOSED;
                break;
        case NV_LIBVIRT_POLICY_DISABLE:
        case NV_LIBVIRT_POLICY_FORBID:
                n.next = NV_VM_NESTING_HIDDEN;
                break;
        case NV_LIBVIRT_POLICY_UNKNOWN:
                n.next = NV_VM_NESTING_UNKNOWN;
                break;
        }
        n.by = NV_VM_SOURCE_FLAG;
        return n;
}

static int append(char **s, const char *a, const char *b)
{
        char *t = NULL;

        if (asprintf(&t, "%s%s%s", strempty(*s), a, strempty(b)) < 0)
                return -ENOMEM;
        free(*s);
        *s = t;
        return 0;
}

static int append_policy(char **s, const char *name, NvLibvirtPolicy p)
{
        char buf[32];

        if (p == NV_LIBVIRT_POLICY_ABSENT)
                return 0;
        snprintf(buf, sizeof(buf), ",%s=", name);
        return append(s, buf, nv_libvirt_policy_to_string(p) ?: "unknown");
}

int nv_libvirt_cpu_text(const NvLibvirtCpu *cpu, char **ret)
{
        _cleanup_free_ char *s = NULL;
        int r;

        assert(cpu);
        assert(ret);

        *ret = NULL;
        if (cpu->mode == NV_LIBVIRT_CPU_NONE)
                return 0;

        r = append(&s, nv_libvirt_cpu_mode_to_string(cpu->mode) ?: "unknown", NULL);
        if (r < 0)
                return r;
        if (cpu->model) {
                r = append(&s, ":", cpu->model);
                if (r < 0)
                        return r;
        }
        r = append_policy(&s, "vmx", cpu->vmx);
        if (r < 0)
                return r;
        r = append_policy(&s, "svm", cpu->svm);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

bool nv_libvirt_cpu_differs(const NvLibvirtCpu *inactive, const NvLibvirtCpu *live)
{
        assert(inactive);
        assert(live);

        if (inactive->mode == NV_LIBVIRT_CPU_HOST_MODEL && live->mode == NV_LIBVIRT_CPU_CUSTOM) {
                /* The live features of an expanded host-model CPU include whatever the host
                 * offered: only the policies the definition asks for can be compared. */
                if (inactive->vmx != NV_LIBVIRT_POLICY_ABSENT && inactive->vmx != live->vmx)
                        return true;
                if (inactive->svm != NV_LIBVIRT_POLICY_ABSENT && inactive->svm != live->svm)
                        return true;
                return false;
        }

        /* No <cpu> gets libvirt's default custom model when the domain is defined or started. */
        if ((inactive->mode == NV_LIBVIRT_CPU_NONE ? NV_LIBVIRT_CPU_CUSTOM : inactive->mode) !=
                (live->mode == NV_LIBVIRT_CPU_NONE ? NV_LIBVIRT_CPU_CUSTOM : live->mode))
                return true;
        if (inactive->mode != NV_LIBVIRT_CPU_NONE && !streq_ptr(inactive->model, live->model))
                return true;
        return inactive->vmx != live->vmx || inactive->svm != live->svm;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A libvirt domain XML: what libvirt returns is trusted, but a definition may come from anyone who
 * can define domains. Byte 0 chooses the edit (bit 0: expose, bit 1: via host-passthrough, bit 2:
 * AMD instead of Intel); the rest is the document. The edit must do what it was asked, only once,
 * and keep the other vendor's feature.
 */
#include "fuzz-util.h"
#include "libvirt-cpu.h"
#include "libvirt-edit.h"
#include "libvirt-xml.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(nv_libvirt_domain_done) NvLibvirtDomain before = {}, after = {};
        _cleanup_free_ char *text = NULL, *out = NULL, *again = NULL;
        bool expose, host_model;
        NvVendor vendor;
        NvLibvirtNesting n;
        int r, p;

        if (size < 1 || size > FUZZ_MAX_INPUT)
                return 0;
        expose = data[0] & 1;
        host_model = data[0] & 2;
        vendor = data[0] & 4 ? NV_VENDOR_AMD : NV_VENDOR_INTEL;
        data++;
        size--;

        p = nv_libvirt_domain_parse((const char *) data, size, &before);
        fuzz_assert(p == 0 || p == -EBADMSG || p == -ENOMEM);
        if (p == 0) {
                r = nv_libvirt_cpu_text(&before.cpu, &text);
                fuzz_assert(r == 0 || r == -ENOMEM);
                fuzz_assert(!text == (before.cpu.mode == NV_LIBVIRT_CPU_NONE) || r < 0);
                n = nv_libvirt_cpu_nesting(&before.cpu, nv_libvirt_arch_is_x86(before.arch), true, vendor);
                fuzz_assert(n.next <= NV_VM_NESTING_EXPOSED);
                fuzz_assert(!n.requires || n.next == NV_VM_NESTING_EXPOSED);
        }

        r = nv_libvirt_edit_exposure((const char *) data, size, vendor, expose, host_model, &out);
        fuzz_assert(r == 0 || r == 1 || r == -EBADMSG || r == -EOPNOTSUPP || r == -ENOMEM);
        fuzz_assert((r == 1) == !!out);
        /* The editor reads what the parser reads. */
        if (p == -EBADMSG)
                fuzz_assert(r == -EBADMSG);
        if (r != 1)
                return 0;

        r = nv_libvirt_domain_parse(out, strlen(out), &after);
        if (r == -ENOMEM)
                return 0;
        fuzz_assert(r == 0);
        fuzz_assert(streq_ptr(before.name, after.name));
        fuzz_assert(streq_ptr(before.uuid, after.uuid));
        fuzz_assert(streq_ptr(before.type, after.type));
        fuzz_assert(streq_ptr(before.arch, after.arch));
        n = nv_libvirt_cpu_nesting(&after.cpu, true, true, vendor);
        fuzz_assert(n.next == (expose ? NV_VM_NESTING_EXPOSED : NV_VM_NESTING_HIDDEN));
        if (expose && host_model)
                fuzz_assert(after.cpu.mode == NV_LIBVIRT_CPU_HOST_PASSTHROUGH);
        if (vendor == NV_VENDOR_INTEL)
                fuzz_assert(after.cpu.svm == before.cpu.svm && !after.cpu.vmx_twice);
        else
                fuzz_assert(after.cpu.vmx == before.cpu.vmx && !after.cpu.svm_twice);

        r = nv_libvirt_edit_exposure(out, strlen(out), vendor, expose, host_model, &again);
        fuzz_assert(r == 0 || r == -ENOMEM);
        return 0;
}

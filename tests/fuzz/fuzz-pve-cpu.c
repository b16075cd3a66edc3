/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cpu property of a Proxmox VE VM config ("host,flags=+nested-virt;+aes,hidden=1"): the
 * property string parser, the edits nv_pve_set_exposure() makes (nested-virt on, off, removed;
 * the CPU type replaced) with a round trip through the formatter, and the nesting evaluation on
 * the same bytes as cpu and as args.
 */
#include "fuzz-util.h"
#include "pve/pve-cpu.h"
#include "pve/pve-nesting.h"
#include "util.h"

/* Parses what the formatter printed: it must parse again, to the same flags and CPU type. */
static void round_trip(const NvPveCpu *c)
{
        _cleanup_free_ char *s = NULL;
        NvPveCpu again = {};
        int r;

        r = nv_pve_cpu_format(c, &s);
        fuzz_assert(r == 0 || r == -ENOMEM);
        if (r < 0)
                return;
        r = nv_pve_cpu_parse(s, &again);
        fuzz_assert(r == 0 || r == -ENOMEM);
        if (r == 0) {
                fuzz_assert(streq_ptr(again.cputype, c->cputype));
                fuzz_assert(strv_equal(again.flags, c->flags));
        }
        nv_pve_cpu_done(&again);
}

static void edit(const char *text, char op, const char *type)
{
        NvPveCpu c = {};
        int r;

        if (nv_pve_cpu_parse(text, &c) < 0)
                return;
        r = nv_pve_cpu_set_flag(&c, "nested-virt", op);
        if (r == 0 && type)
                r = nv_pve_cpu_set_type(&c, type);
        fuzz_assert(r == 0 || r == -ENOMEM);
        if (r == 0) {
                fuzz_assert(nv_pve_flags_op(c.flags, "nested-virt") == op);
                round_trip(&c);
        }
        nv_pve_cpu_done(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = NULL;
        NvPveCpu c = {};
        NvPveModels models = {};
        NvPveNesting n;
        int r;

        if (size > FUZZ_MAX_INPUT)
                return 0;
        text = fuzz_strndup(data, size);

        r = nv_pve_cpu_parse(text, &c);
        fuzz_assert(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r == 0) {
                for (size_t i = 0; c.flags && c.flags[i]; i++)
                        fuzz_assert((c.flags[i][0] == '+' || c.flags[i][0] == '-') && c.flags[i][1]);
                round_trip(&c);
        }
        nv_pve_cpu_done(&c);

        edit(text, '+', NULL);
        edit(text, '-', NULL);
        edit(text, 0, "host");

        for (int vendor = NV_VENDOR_UNKNOWN; vendor <= NV_VENDOR_AMD; vendor++) {
                NvPveHost h = { .vendor = (NvVendor) vendor,
                        .nested_virt = vendor != NV_VENDOR_AMD,
                        .models = &models };
                NvPveGuest as_cpu = { .cpu = text, .kvm = vendor != NV_VENDOR_UNKNOWN, .x86 = true };
                NvPveGuest as_args = { .cpu = "host", .args = text, .kvm = true, .x86 = true };

                r = nv_pve_nesting_eval(&as_cpu, &h, &n);
                fuzz_assert(r == 0 || r == -ENOMEM);
                if (r == 0) {
                        fuzz_assert(n.next <= NV_VM_NESTING_EXPOSED);
                        fuzz_assert(!n.requires || (n.next == NV_VM_NESTING_EXPOSED && as_cpu.kvm));
                        fuzz_assert(n.by != NV_VM_SOURCE_RAW_ARGS && n.by != NV_VM_SOURCE_NOT_X86);
                }
                r = nv_pve_nesting_eval(&as_args, &h, &n);
                fuzz_assert(r == 0 || r == -ENOMEM);
                if (r == 0)
                        fuzz_assert(!n.requires || n.next == NV_VM_NESTING_EXPOSED);
        }
        return 0;
}

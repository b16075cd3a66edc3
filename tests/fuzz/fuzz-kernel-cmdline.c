/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel command line (/proc/cmdline): "kvm_intel.nested=", "kvm-amd.nested=" and anything
 * else a boot loader entry holds. The input is the file; libkmod splits it (through the preload
 * library's redirection into the root) and nv_nested_config_read() decides what the next load
 * uses, with no modprobe.d files present.
 */
#include "fuzz-nested-config.h"
#include "fuzz-util.h"
#include "nested-config.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        /* libkmod reports every line it ignores; the fuzzer makes many. */
        setenv("KMOD_LOG", "0", 1);
        fuzz_require_preload();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const modules[] = { "kvm_intel", "kvm_amd" };

        /* libkmod reads at most a page or so of it, as the kernel keeps it short. */
        if (size > 4096)
                return 0;
        fuzz_write("/proc/cmdline", data, size);

        for (size_t i = 0; i < ELEMENTSOF(modules); i++)
                for (int builtin = 0; builtin <= 1; builtin++) {
                        NvNestedConfig c;
                        int r;

                        r = nv_nested_config_read(modules[i], builtin, NV_NESTED_ENABLED, &c);
                        fuzz_assert(r == 0 || r == -ENOMEM);
                        if (r < 0)
                                continue;
                        fuzz_check_config(&c, builtin);
                        /* Only the command line was there. */
                        fuzz_assert(c.n_ignored == 0);
                        for (size_t k = 0; k < c.n_settings; k++)
                                fuzz_assert(streq(c.settings[k].source, NV_SOURCE_KERNEL_CMDLINE));
                        nv_nested_config_done(&c);
                }
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A modprobe.d file: the input is /etc/modprobe.d/50-fuzz.conf beside a fixed file and a fixed
 * kernel command line, parsed by libkmod and weighed by nv_nested_config_read(). A built-in
 * module ignores the files: its ignored settings must be the loadable module's settings.
 */
#include "fuzz-nested-config.h"
#include "fuzz-util.h"
#include "nested-config.h"
#include "util.h"

#define FILE_PATH "/etc/modprobe.d/50-fuzz.conf"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        /* libkmod reports every line it ignores; the fuzzer makes many. */
        setenv("KMOD_LOG", "0", 1);
        static const char cmdline[] = "BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=/dev/sda1 ro quiet\n";
        static const char other[] = "# installed by the distribution\noptions kvm ignore_msrs=1\n";

        fuzz_require_preload();
        fuzz_write("/proc/cmdline", cmdline, sizeof(cmdline) - 1);
        fuzz_write("/usr/lib/modprobe.d/10-kvm.conf", other, sizeof(other) - 1);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const modules[] = { "kvm_intel", "kvm_amd" };

        if (size > FUZZ_MAX_INPUT)
                return 0;
        fuzz_write(FILE_PATH, data, size);

        for (size_t i = 0; i < ELEMENTSOF(modules); i++) {
                NvNestedConfig loadable, builtin;
                int r, k;

                r = nv_nested_config_read(modules[i], false, NV_NESTED_DISABLED, &loadable);
                fuzz_assert(r == 0 || r == -ENOMEM);
                if (r < 0)
                        continue;
                k = nv_nested_config_read(modules[i], true, NV_NESTED_DISABLED, &builtin);
                fuzz_assert(k == 0 || k == -ENOMEM);
                if (k == 0) {
                        fuzz_check_config(&loadable, false);
                        fuzz_check_config(&builtin, true);
                        fuzz_assert(loadable.n_ignored == 0);
                        fuzz_assert(builtin.n_settings == 0);
                        fuzz_assert(builtin.next_load == NV_NESTED_DISABLED);
                        fuzz_assert(builtin.n_ignored == loadable.n_settings);
                        for (size_t j = 0; j < loadable.n_settings; j++) {
                                fuzz_assert(streq(loadable.settings[j].source, FILE_PATH));
                                fuzz_assert(streq_ptr(loadable.settings[j].value, builtin.ignored[j].value));
                                fuzz_assert(loadable.settings[j].effect == builtin.ignored[j].effect);
                        }
                        nv_nested_config_done(&builtin);
                }
                nv_nested_config_done(&loadable);
        }
        return 0;
}

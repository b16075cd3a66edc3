/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The initramfs configuration Check() reads: /etc/initramfs-tools/modules, dracut.conf(.d) and
 * mkinitcpio.conf(.d). The first byte picks the format, the rest is the file.
 */
#include "findings-checks.h"
#include "fuzz-util.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const names[] = { "kvm", "kvm_intel", "kvm-intel", "kvm_amd", "kvm-amd" };
        _cleanup_strv_free_ char **found = NULL;
        _cleanup_free_ char *text = NULL;
        InitramfsTool tool;
        int r;

        if (size < 1 || size > FUZZ_MAX_INPUT)
                return 0;
        tool = (InitramfsTool) (data[0] % _TOOL_MAX);
        text = fuzz_strndup(data + 1, size - 1);

        r = initramfs_kvm_modules(text, tool, &found);
        fuzz_assert(r == 0 || r == -ENOMEM);
        for (size_t i = 0; found && found[i]; i++) {
                bool known = false;

                for (size_t j = 0; j < ELEMENTSOF(names); j++)
                        known = known || streq(found[i], names[j]);
                fuzz_assert(known);
                fuzz_assert(strstr(text, found[i]));
                for (size_t j = 0; j < i; j++)
                        fuzz_assert(!streq(found[i], found[j]));
        }
        return 0;
}

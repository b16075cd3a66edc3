/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reload intent record (/run/nestvirt/reload-intent) that an interrupted reload leaves and the
 * next daemon start acts on. Only root writes it, but whatever is there is read at start-up,
 * before anything else: a damaged record must be refused, never misread.
 */
#include "fuzz-util.h"
#include "module-reload.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        static const char *const modules[] = { "kvm_intel", "kvm_amd" };
        static const NvNested values[] = { NV_NESTED_ENABLED, NV_NESTED_DISABLED, NV_NESTED_UNKNOWN };

        /* What module-reload.c writes reads back as written. */
        for (size_t i = 0; i < ELEMENTSOF(modules); i++)
                for (size_t j = 0; j < ELEMENTSOF(values); j++) {
                        _cleanup_free_ char *text = NULL, *module = NULL;
                        NvNested v;

                        fuzz_assert(asprintf(&text, "module=%s\nprevious=%s\nrequested=enabled\n",
                                            modules[i], nv_nested_to_string(values[j])) >= 0);
                        fuzz_assert(nv_reload_intent_parse(text, &module, &v) == 0);
                        fuzz_assert(streq(module, modules[i]));
                        fuzz_assert(v == values[j]);
                }
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = NULL, *module = NULL;
        NvNested v = NV_NESTED_INVALID;
        int r;

        if (size > FUZZ_MAX_INPUT)
                return 0;
        text = fuzz_strndup(data, size);

        r = nv_reload_intent_parse(text, &module, &v);
        fuzz_assert(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r < 0) {
                fuzz_assert(!module);
                return 0;
        }
        fuzz_assert(streq(module, "kvm_intel") || streq(module, "kvm_amd"));
        fuzz_assert(v == NV_NESTED_ENABLED || v == NV_NESTED_DISABLED || v == NV_NESTED_UNKNOWN);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-nested-config.h"
#include "fuzz-util.h"
#include "util.h"

void fuzz_check_config(const NvNestedConfig *c, bool builtin)
{
        bool invalid = false;

        fuzz_assert(c->source);
        fuzz_assert(c->next_load != NV_NESTED_UNKNOWN || streq(c->source, NV_SOURCE_KERNEL_DEFAULT));
        if (c->n_settings == 0) {
                fuzz_assert(streq(c->source, NV_SOURCE_KERNEL_DEFAULT));
                fuzz_assert(!c->conflict);
                fuzz_assert(strv_length(c->overridden) == 0);
        }
        for (size_t i = 0; i < c->n_settings; i++) {
                const NvNestedSetting *s = c->settings + i;

                fuzz_assert(s->source);
                fuzz_assert(s->effect == NV_NESTED_ENABLED || s->effect == NV_NESTED_DISABLED ||
                        s->effect == NV_NESTED_INVALID);
                /* The first invalid value decides: the load fails there. */
                if (s->effect == NV_NESTED_INVALID && !invalid) {
                        invalid = true;
                        fuzz_assert(c->next_load == NV_NESTED_INVALID);
                        fuzz_assert(streq(c->source, s->source));
                }
        }
        if (c->n_settings > 0 && !invalid) {
                fuzz_assert(c->next_load == c->settings[c->n_settings - 1].effect);
                fuzz_assert(streq(c->source, c->settings[c->n_settings - 1].source));
        }
        for (size_t i = 0; c->overridden && c->overridden[i]; i++)
                fuzz_assert(!streq(c->overridden[i], c->source));
        if (builtin)
                for (size_t i = 0; i < c->n_settings; i++)
                        fuzz_assert(streq(c->settings[i].source, NV_SOURCE_KERNEL_CMDLINE));
}

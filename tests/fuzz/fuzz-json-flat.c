/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What "pvesh get /nodes/NODE/qemu/VMID/config --output-format json" prints: one flat JSON
 * object whose strings (the description, for one) any VM.Config user writes. nv_json_flat_parse()
 * must take valid input of that shape and nothing else, never read past the end (the input has
 * no NUL of its own), and give unique keys.
 */
#include <stdlib.h>

#include "fuzz-util.h"
#include "pve/json-flat.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        NvJsonFlat j = {};
        int r;

        if (size > FUZZ_MAX_INPUT)
                return 0;

        r = nv_json_flat_parse((const char *) data, size, &j);
        fuzz_assert(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r == 0) {
                /* An object starts with '{' after blanks and ends with '}' before blanks. */
                size_t a = 0, b = size;
                while (a < size && strchr(" \t\r\n", data[a]) && data[a])
                        a++;
                while (b > a && strchr(" \t\r\n", data[b - 1]) && data[b - 1])
                        b--;
                fuzz_assert(b - a >= 2 && data[a] == '{' && data[b - 1] == '}');
                for (size_t i = 0; i < j.n_members; i++) {
                        fuzz_assert(nv_json_flat_has(&j, j.members[i].key));
                        fuzz_assert(nv_json_flat_get(&j, j.members[i].key) == j.members[i].value);
                        for (size_t k = 0; k < i; k++)
                                fuzz_assert(!streq(j.members[i].key, j.members[k].key));
                }
        }
        nv_json_flat_done(&j);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Values of "nested": as sysfs shows them (nv_nested_parse_live) and as given at load time
 * (nv_nested_parse_option: the kernel's kstrtobool() and kstrtoint() rules), and the kernel
 * release string that decides kvm_intel's default. The int rules are held to strtol().
 */
#include <ctype.h>
#include <limits.h>

#include "fuzz-util.h"
#include "host.h"
#include "nested-value.h"
#include "util.h"

/* kstrtoint(s, 0) by way of strtol(): the same prefixes and signs, one optional trailing newline,
 * nothing else left over, in range. Returns -1 for what strtol() treats differently (leading
 * whitespace, which it skips and the kernel refuses). */
static int reference_int(const char *s, bool *ret_nonzero)
{
        long v;
        char *e;

        if (isspace((unsigned char) s[0]))
                return -1;
        errno = 0;
        v = strtol(s, &e, 0);
        if (e == s)
                return 0;
        if (*e == '\n')
                e++;
        if (*e || errno == ERANGE || v < INT_MIN || v > INT_MAX)
                return 0;
        *ret_nonzero = v != 0;
        return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = NULL;
        NvNested live, b, i, d;
        bool nonzero = false;
        int ref;

        if (size > FUZZ_MAX_INPUT)
                return 0;
        text = fuzz_strndup(data, size);

        live = nv_nested_parse_live(text);
        fuzz_assert(live == NV_NESTED_UNKNOWN || live == NV_NESTED_ENABLED || live == NV_NESTED_DISABLED);
        if (live != NV_NESTED_UNKNOWN)
                fuzz_assert(strlen(text) <= 2);

        b = nv_nested_parse_option(NV_PARAM_BOOL, text);
        fuzz_assert(b == NV_NESTED_ENABLED || b == NV_NESTED_DISABLED || b == NV_NESTED_INVALID);
        /* sysfs shows what a load accepts. */
        if (live != NV_NESTED_UNKNOWN)
                fuzz_assert(b == live);

        i = nv_nested_parse_option(NV_PARAM_INT, text);
        fuzz_assert(i == NV_NESTED_ENABLED || i == NV_NESTED_DISABLED || i == NV_NESTED_INVALID);
        ref = reference_int(text, &nonzero);
        if (ref == 0)
                fuzz_assert(i == NV_NESTED_INVALID);
        else if (ref > 0)
                fuzz_assert(i == (nonzero ? NV_NESTED_ENABLED : NV_NESTED_DISABLED));

        d = nv_host_kernel_default("kvm_intel", text);
        fuzz_assert(d == NV_NESTED_UNKNOWN || d == NV_NESTED_ENABLED || d == NV_NESTED_DISABLED);
        fuzz_assert(nv_host_kernel_default("kvm_amd", text) == NV_NESTED_ENABLED);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <limits.h>
#include <stdint.h>

#include "nested-value.h"
#include "util.h"

static const char *const nv_nested_table[] = {
        [NV_NESTED_UNKNOWN] = "unknown",
        [NV_NESTED_DISABLED] = "disabled",
        [NV_NESTED_ENABLED] = "enabled",
        [NV_NESTED_INVALID] = "invalid",
};

NV_DEFINE_STRING_TABLE_FALLBACK(nv_nested, NvNested, NV_NESTED_UNKNOWN)

NvNested nv_nested_parse_live(const char *s)
{
        if (!s)
                return NV_NESTED_UNKNOWN;

        /* sysfs prints one character and a newline: Y/N for kvm_intel's bool, 1/0 for kvm_amd's
         * int. Anything longer is not a value we know how to read. */
        if (s[0] == 0 || !(s[1] == 0 || (s[1] == '\n' && s[2] == 0)))
                return NV_NESTED_UNKNOWN;

        switch (s[0]) {
        case 'Y':
        case 'y':
        case '1':
                return NV_NESTED_ENABLED;
        case 'N':
        case 'n':
        case '0':
                return NV_NESTED_DISABLED;
        default:
                return NV_NESTED_UNKNOWN;
        }
}

/* The kernel's kstrtobool(): only the first character counts (the second for "on"/"off"), so
 * "yes" and "1000" are true. 't'/'f' were added in 2022 and are accepted by 6.1. */
static NvNested parse_bool(const char *s)
{
        switch (s[0]) {
        case 'y':
        case 'Y':
        case 't':
        case 'T':
        case '1':
                return NV_NESTED_ENABLED;
        case 'n':
        case 'N':
        case 'f':
        case 'F':
        case '0':
                return NV_NESTED_DISABLED;
        case 'o':
        case 'O':
                switch (s[1]) {
                case 'n':
                case 'N':
                        return NV_NESTED_ENABLED;
                case 'f':
                case 'F':
                        return NV_NESTED_DISABLED;
                default:
                        return NV_NESTED_INVALID;
                }
        default:
                return NV_NESTED_INVALID;
        }
}

static int digit_value(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        c = (char) tolower((unsigned char) c);
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return 16;
}

/* The kernel's kstrtoint(s, 0): one optional sign, then "0x" hex (only when a hex digit follows),
 * a leading 0 for octal, else decimal; at least one digit; then at most one newline. No
 * whitespace anywhere else. Returns false when the kernel would return -EINVAL or -ERANGE. */
static bool parse_int(const char *s, int *ret)
{
        bool negative = false;
        unsigned base = 10;
        uint64_t v = 0;
        size_t digits = 0;

        if (s[0] == '-') {
                negative = true;
                s++;
        } else if (s[0] == '+')
                s++;

        if (s[0] == '0') {
                if (tolower((unsigned char) s[1]) == 'x' && isxdigit((unsigned char) s[2])) {
                        base = 16;
                        s += 2;
                } else
                        base = 8;
        }

        for (; *s; s++) {
                int d = digit_value(*s);
                if (d >= (int) base)
                        break;
                /* Anything beyond INT_MAX + 1 is out of range either way; stop before wrapping. */
                v = v * base + (unsigned) d;
                if (v > (uint64_t) INT_MAX + 1)
                        return false;
                digits++;
        }

        if (digits == 0)
                return false;
        if (*s == '\n')
                s++;
        if (*s)
                return false;

        if (negative) {
                *ret = v == (uint64_t) INT_MAX + 1 ? INT_MIN : -(int) v;
                return true;
        }
        if (v > INT_MAX)
                return false;
        *ret = (int) v;
        return true;
}

NvNested nv_nested_parse_option(NvParamType type, const char *value)
{
        int i;

        switch (type) {
        case NV_PARAM_BOOL:
                /* param_set_bool() treats a bare parameter as "1". */
                if (!value)
                        return NV_NESTED_ENABLED;
                return parse_bool(value);

        case NV_PARAM_INT:
                /* param_set_int() has no bare form: the kernel rejects "nested" without a value. */
                if (!value)
                        return NV_NESTED_INVALID;
                if (!parse_int(value, &i))
                        return NV_NESTED_INVALID;
                return i != 0 ? NV_NESTED_ENABLED : NV_NESTED_DISABLED;

        default:
                return NV_NESTED_UNKNOWN;
        }
}

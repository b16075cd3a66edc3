/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Module option strings as libkmod hands them over, from modprobe.d "options" lines and from the
 * kernel command line ("a=1 nested=\"0\" b"). nv_options_find_nested() and
 * nv_options_strip_nested() are held to a model of how the kernel itself splits a module's
 * arguments (parse_args() and next_arg() in kernel/params.c), and the reload's promise is
 * checked: the stripped options followed by " nested=N" make the kernel see exactly nested=N.
 */
#include "fuzz-util.h"
#include "module-options.h"
#include "util.h"

/* The kernel's isspace(): its ctype table also counts 0xA0 (Latin-1 no-break space). */
static bool kernel_isspace(char c)
{
        return c == ' ' || (c >= '\t' && c <= '\r') || (unsigned char) c == 0xa0;
}

static char *kernel_skip_spaces(char *s)
{
        while (kernel_isspace(*s))
                s++;
        return s;
}

/* The kernel's next_arg(), in place. */
static char *kernel_next_arg(char *args, char **param, char **val)
{
        size_t i, equals = 0;
        bool in_quote = false, quoted = false;

        if (*args == '"') {
                args++;
                in_quote = quoted = true;
        }
        for (i = 0; args[i]; i++) {
                if (kernel_isspace(args[i]) && !in_quote)
                        break;
                if (equals == 0 && args[i] == '=')
                        equals = i;
                if (args[i] == '"')
                        in_quote = !in_quote;
        }

        *param = args;
        if (!equals)
                *val = NULL;
        else {
                args[equals] = 0;
                *val = args + equals + 1;
                if (**val == '"') {
                        (*val)++;
                        if (args[i - 1] == '"')
                                args[i - 1] = 0;
                }
        }
        if (quoted && i > 0 && args[i - 1] == '"')
                args[i - 1] = 0;

        if (args[i]) {
                args[i] = 0;
                return kernel_skip_spaces(args + i + 1);
        }
        return kernel_skip_spaces(args + i);
}

static bool kernel_parameq(const char *a, const char *b)
{
        for (; *a || *b; a++, b++)
                if ((*a == '-' ? '_' : *a) != (*b == '-' ? '_' : *b))
                        return false;
        return true;
}

/* What the kernel's parse_args() sets "nested" to: 1 and the last value (NULL when bare), or 0. */
static int kernel_find_nested(const char *options, char **ret_value)
{
        _cleanup_free_ char *copy = strdup(options);
        char *args, *param, *val, *found = NULL;
        bool have = false;

        fuzz_assert(copy);
        args = kernel_skip_spaces(copy);
        while (*args) {
                args = kernel_next_arg(args, &param, &val);
                /* "--" ends the module's arguments. */
                if (!val && streq(param, "--"))
                        break;
                if (kernel_parameq(param, "nested")) {
                        have = true;
                        found = val;
                }
        }
        if (!have)
                return 0;
        *ret_value = found ? strdup(found) : NULL;
        fuzz_assert(!found || *ret_value);
        return 1;
}

static void check_same(const char *options)
{
        _cleanup_free_ char *ours = NULL, *kernel = NULL;
        int a, b;

        a = nv_options_find_nested(options, &ours);
        b = kernel_find_nested(options, &kernel);
        fuzz_assert(a >= 0);
        fuzz_assert(a == b);
        if (a > 0)
                fuzz_assert(streq_ptr(ours, kernel));
}

static void check_no_nested(const char *options)
{
        _cleanup_free_ char *v = NULL, *k = NULL;

        fuzz_assert(nv_options_find_nested(options, &v) == 0);
        fuzz_assert(kernel_find_nested(options, &k) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *options = NULL, *stripped = NULL, *again = NULL, *with = NULL, *value = NULL;
        int r;

        if (size > FUZZ_MAX_INPUT)
                return 0;
        options = fuzz_strndup(data, size);

        check_same(options);

        r = nv_options_strip_nested(options, &stripped);
        fuzz_assert(r == 0);
        fuzz_assert(strlen(stripped) <= strlen(options) + 1);
        check_no_nested(stripped);

        /* Stripping is idempotent. */
        fuzz_assert(nv_options_strip_nested(stripped, &again) == 0);
        fuzz_assert(streq(stripped, again));

        /* The reload loads the module with these options and an explicit value after them. */
        fuzz_assert(asprintf(&with, "%s%snested=0", stripped, isempty(stripped) ? "" : " ") >= 0);
        check_same(with);
        fuzz_assert(kernel_find_nested(with, &value) == 1);
        fuzz_assert(streq_ptr(value, "0"));
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "findings-text.h"
#include "util.h"

char *text_new(const char *fmt, ...)
{
        va_list ap;
        char *s;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&s, fmt, ap);
        va_end(ap);
        return k < 0 ? NULL : s;
}

int text_append(char **s, const char *fmt, ...)
{
        _cleanup_free_ char *add = NULL;
        size_t a, b;
        va_list ap;
        char *m;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&add, fmt, ap);
        va_end(ap);
        if (k < 0) {
                add = NULL;
                return -ENOMEM;
        }

        a = *s ? strlen(*s) : 0;
        b = (size_t) k;
        m = realloc(*s, a + b + 1);
        if (!m)
                return -ENOMEM;
        memcpy(m + a, add, b + 1);
        *s = m;
        return 0;
}

int push(NvFindings *f, const char *id, NvLevel level, char **summary, char **hint)
{
        NvFinding *m;

        if (!*summary || !*hint)
                return -ENOMEM;

        m = realloc(f->items, sizeof(NvFinding) * (f->n + 1));
        if (!m)
                return -ENOMEM;
        f->items = m;
        m[f->n++] = (NvFinding){
                .id = id,
                .level = level,
                .summary = TAKE_PTR(*summary),
                .hint = TAKE_PTR(*hint),
        };
        return 0;
}

static const char *const nv_vendor_flag_table[] = {
        [NV_VENDOR_UNKNOWN] = "vmx/svm",
        [NV_VENDOR_INTEL] = "vmx",
        [NV_VENDOR_AMD] = "svm",
};

NV_DEFINE_STRING_TABLE_FALLBACK(nv_vendor_flag, NvVendor, NV_VENDOR_UNKNOWN)

const char *list_sep(size_t i, size_t n)
{
        return i == 0 ? "" : i + 1 == n ? " and " : ", ";
}

int text_append_list(char **s, char *const *l)
{
        size_t n = strv_length(l);

        for (size_t i = 0; i < n; i++)
                if (text_append(s, "%s%s", list_sep(i, n), l[i]) < 0)
                        return -ENOMEM;
        return 0;
}

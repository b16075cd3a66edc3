/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "module-options.h"
#include "util.h"

typedef struct Param {
        const char *start, *end; /* the whole token */
        const char *name, *name_end;
        const char *value, *value_end; /* NULL without "=" */
} Param;

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n';
}

/* Reads the next parameter at *p; false at the end. */
static bool next_param(const char **p, Param *ret)
{
        const char *s = *p, *eq = NULL;
        bool quoted = false;

        while (is_space(*s))
                s++;
        if (!*s)
                return false;

        ret->start = s;
        for (; *s; s++) {
                if (*s == '"')
                        quoted = !quoted;
                else if (!quoted && is_space(*s))
                        break;
                else if (*s == '=' && !eq)
                        eq = s;
        }
        ret->end = s;
        *p = s;

        ret->name = ret->start + (*ret->start == '"');
        ret->name_end = eq ?: s;
        ret->value = ret->value_end = NULL;
        if (eq) {
                /* Like the kernel: quotes around the value, or around the whole token. */
                ret->value = eq + 1;
                ret->value_end = s;
                if (*ret->value == '"')
                        ret->value++;
                if (ret->value_end > ret->value && ret->value_end[-1] == '"' &&
                        (eq[1] == '"' || *ret->start == '"'))
                        ret->value_end--;
        }
        return true;
}

static bool param_is_nested(const Param *p)
{
        static const char want[] = "nested";
        size_t len = (size_t) (p->name_end - p->name);

        if (len != sizeof(want) - 1)
                return false;
        for (size_t i = 0; i < len; i++)
                if ((p->name[i] == '-' ? '_' : p->name[i]) != want[i])
                        return false;
        return true;
}

int nv_options_find_nested(const char *options, char **ret_value)
{
        const char *p = options;
        const char *v = NULL, *v_end = NULL;
        bool have = false;
        Param par;

        while (next_param(&p, &par))
                if (param_is_nested(&par)) {
                        have = true;
                        v = par.value;
                        v_end = par.value_end;
                }

        if (!have)
                return 0;
        if (!v) {
                *ret_value = NULL;
                return 1;
        }
        *ret_value = strndup(v, (size_t) (v_end - v));
        return *ret_value ? 1 : -ENOMEM;
}

int nv_options_strip_nested(const char *options, char **ret)
{
        const char *p = options;
        char *out, *o;
        Param par;

        out = o = malloc(strlen(options) + 1);
        if (!out)
                return -ENOMEM;

        while (next_param(&p, &par)) {
                if (param_is_nested(&par))
                        continue;
                if (o != out)
                        *o++ = ' ';
                memcpy(o, par.start, (size_t) (par.end - par.start));
                o += par.end - par.start;
        }
        *o = 0;
        *ret = out;
        return 0;
}

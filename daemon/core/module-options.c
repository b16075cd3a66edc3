/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "module-options.h"
#include "util.h"

typedef struct Param {
        const char *start, *end; /* the whole token */
        const char *name, *name_end;
        const char *value, *value_end; /* NULL without "=" */
} Param;

/* The kernel's isspace(): its ctype table counts \v, \f, \r and 0xA0 (Latin-1's no-break space)
 * too, so "nested=1\r" from a file with CRLF line ends is "nested=1" to the kernel. */
static bool is_space(char c)
{
        return c == ' ' || (c >= '\t' && c <= '\r') || (unsigned char) c == 0xa0;
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
        /* A quoted token without a value: "\"nested\"" is the bare "nested" to the kernel. */
        if (!eq && *ret->start == '"' && ret->name_end > ret->name && ret->name_end[-1] == '"')
                ret->name_end--;
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

/* A bare "--" ends the arguments: the kernel's parse_args() does not look at what follows. */
static bool param_is_end(const Param *p)
{
        return !p->value && p->name_end - p->name == 2 && strncmp(p->name, "--", 2) == 0;
}

/* A token with an odd number of quotes runs to the end of the string. */
static bool param_quote_open(const Param *p)
{
        bool open = false;

        for (const char *c = p->start; c < p->end; c++)
                if (*c == '"')
                        open = !open;
        return open;
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

bool nv_options_end_arguments(const char *options)
{
        const char *p = options;
        Param par;

        assert(options);

        while (next_param(&p, &par)) {
                if (param_is_end(&par))
                        return true;
                if (param_quote_open(&par))
                        return true;
        }
        return false;
}

int nv_options_find_nested(const char *options, char **ret_value)
{
        const char *p = options;
        const char *v = NULL, *v_end = NULL;
        bool have = false;
        Param par;

        assert(options);
        assert(ret_value);

        while (next_param(&p, &par) && !param_is_end(&par))
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

        assert(options);
        assert(ret);

        /* One more byte for a closing quote. */
        out = o = malloc(strlen(options) + 2);
        if (!out)
                return -ENOMEM;

        /* The result is followed by an explicit "nested=N" when the module is loaded, so what it
         * holds must not swallow that: "--" and what follows it (which the kernel ignores) are
         * dropped, and a quote left open by the last token is closed. */
        while (next_param(&p, &par) && !param_is_end(&par)) {
                if (param_is_nested(&par))
                        continue;
                if (o != out)
                        *o++ = ' ';
                memcpy(o, par.start, (size_t) (par.end - par.start));
                o += par.end - par.start;
                if (param_quote_open(&par))
                        *o++ = '"';
        }
        *o = 0;
        *ret = out;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "pve-cpu.h"
#include "util.h"

void nv_pve_cpu_done(NvPveCpu *c)
{
        if (!c)
                return;
        strv_free(c->parts);
        free(c->cputype);
        strv_free(c->flags);
        *c = (NvPveCpu){};
}

/* The name of a part's key: "flags" for "flags=...", "cputype" for a bare value (the default key)
 * and for "cputype=...". Sets *ret_value to the part's value. */
static size_t part_name(const char *part, const char **ret_name, const char **ret_value)
{
        const char *eq = strchr(part, '=');

        if (!eq) {
                *ret_name = "cputype";
                *ret_value = part;
                return 7;
        }
        *ret_name = part;
        *ret_value = eq + 1;
        return (size_t) (eq - part);
}

static bool part_is(const char *part, const char *key)
{
        const char *name, *value;
        size_t n = part_name(part, &name, &value);

        return n == strlen(key) && strncmp(name, key, n) == 0;
}

/* qemu-server's flag pattern: [+-][a-zA-Z0-9._-]+ */
static bool flag_valid(const char *f)
{
        if (f[0] != '+' && f[0] != '-')
                return false;
        if (!f[1])
                return false;
        for (const char *p = f + 1; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                            *p == '-' || *p == '_' || *p == '.'))
                        return false;
        return true;
}

static int split_flags(const char *list, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;

        for (const char *p = list;;) {
                size_t n = strcspn(p, ";");
                _cleanup_free_ char *f = strndup(p, n);

                if (!f)
                        return -ENOMEM;
                if (!flag_valid(f))
                        return -EBADMSG;
                if (strv_extend(&l, f) < 0)
                        return -ENOMEM;
                if (!p[n])
                        break;
                p += n + 1;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static bool part_blank(const char *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r' && p[i] != '\f' &&
                        p[i] != '\v')
                        return false;
        return true;
}

static int add_part(NvPveCpu *c, const char *part)
{
        const char *name, *value;
        size_t n = part_name(part, &name, &value);
        int r;

        /* "key=" and "=value" are refused: qemu-server needs both sides. */
        if (n == 0 || !*value)
                return -EBADMSG;
        for (size_t i = 0; c->parts && c->parts[i]; i++) {
                _cleanup_free_ char *key = strndup(name, n);
                if (!key)
                        return -ENOMEM;
                if (part_is(c->parts[i], key))
                        return -EBADMSG;
        }

        if (part_is(part, "cputype")) {
                c->cputype = strdup(value);
                if (!c->cputype)
                        return -ENOMEM;
        } else if (part_is(part, "flags")) {
                r = split_flags(value, &c->flags);
                if (r < 0)
                        return r;
        }
        return strv_extend(&c->parts, part);
}

int nv_pve_cpu_parse(const char *s, NvPveCpu *ret)
{
        _cleanup_(nv_pve_cpu_done) NvPveCpu c = {};
        int r;

        assert(ret);

        for (const char *p = s; p;) {
                size_t n = strcspn(p, ",");
                _cleanup_free_ char *part = NULL;

                if (!part_blank(p, n)) {
                        part = strndup(p, n);
                        if (!part)
                                return -ENOMEM;
                        r = add_part(&c, part);
                        if (r < 0)
                                return r;
                }
                p = p[n] ? p + n + 1 : NULL;
        }

        *ret = c;
        c = (NvPveCpu){};
        return 0;
}

const char *nv_pve_cpu_get(const NvPveCpu *c, const char *key)
{
        for (size_t i = 0; c->parts && c->parts[i]; i++)
                if (part_is(c->parts[i], key)) {
                        const char *name, *value;
                        (void) part_name(c->parts[i], &name, &value);
                        return value;
                }
        return NULL;
}

char nv_pve_flags_op(char *const *flags, const char *name)
{
        char op = 0;

        for (size_t i = 0; flags && flags[i]; i++)
                if (streq(flags[i] + 1, name))
                        op = flags[i][0];
        return op;
}

char nv_pve_flag_list_op(const char *list, const char *name)
{
        size_t l = strlen(name);
        char op = 0;

        for (const char *p = list; p;) {
                size_t n = strcspn(p, ";");
                if (n == l + 1 && (p[0] == '+' || p[0] == '-') && strncmp(p + 1, name, l) == 0)
                        op = p[0];
                p = p[n] ? p + n + 1 : NULL;
        }
        return op;
}

int nv_pve_cpu_set_flag(NvPveCpu *c, const char *name, char op)
{
        size_t j = 0;

        assert(op == 0 || op == '+' || op == '-');

        for (size_t i = 0; c->flags && c->flags[i]; i++) {
                if (streq(c->flags[i] + 1, name))
                        free(c->flags[i]);
                else
                        c->flags[j++] = c->flags[i];
        }
        if (c->flags)
                c->flags[j] = NULL;
        if (op == 0)
                return 0;

        _cleanup_free_ char *f = NULL;
        if (asprintf(&f, "%c%s", op, name) < 0)
                return -ENOMEM;
        return strv_extend(&c->flags, f);
}

int nv_pve_cpu_set_type(NvPveCpu *c, const char *cputype)
{
        char *t = strdup(cputype);

        if (!t)
                return -ENOMEM;
        free(c->cputype);
        c->cputype = t;
        return 0;
}

/* Appends s (of length n) to the growing string, with a ',' before all but the first part. */
static int append(char **buf, size_t *len, const char *s, size_t n)
{
        char *m = realloc(*buf, *len + 1 + n + 1);

        if (!m)
                return -ENOMEM;
        if (*len > 0)
                m[(*len)++] = ',';
        memcpy(m + *len, s, n);
        *len += n;
        m[*len] = 0;
        *buf = m;
        return 0;
}

static int flags_join(char *const *flags, char **ret)
{
        _cleanup_free_ char *s = NULL;
        size_t len = 0;

        for (size_t i = 0; flags && flags[i]; i++) {
                char *m = realloc(s, len + 1 + strlen(flags[i]) + 1);
                if (!m)
                        return -ENOMEM;
                s = m;
                if (len > 0)
                        s[len++] = ';';
                strcpy(s + len, flags[i]);
                len += strlen(flags[i]);
        }
        *ret = TAKE_PTR(s);
        return 0;
}

/* The part for key with its current value; NULL in *ret when the part goes away. */
static int edited_part(const NvPveCpu *c, const char *part, char **ret)
{
        if (part_is(part, "cputype")) {
                if (strchr(part, '='))
                        return asprintf(ret, "cputype=%s", c->cputype) < 0 ? -ENOMEM : 0;
                *ret = strdup(c->cputype);
                return *ret ? 0 : -ENOMEM;
        }
        if (part_is(part, "flags")) {
                _cleanup_free_ char *l = NULL;
                int r = flags_join(c->flags, &l);
                if (r < 0)
                        return r;
                if (!l) {
                        *ret = NULL;
                        return 0;
                }
                return asprintf(ret, "flags=%s", l) < 0 ? -ENOMEM : 0;
        }
        *ret = strdup(part);
        return *ret ? 0 : -ENOMEM;
}

int nv_pve_cpu_format(const NvPveCpu *c, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        bool had_type = false, had_flags = false;
        size_t len = 0;
        int r;

        /* A CPU type set by an edit where none was written goes first, as PVE writes it. */
        for (size_t i = 0; c->parts && c->parts[i]; i++)
                had_type = had_type || part_is(c->parts[i], "cputype");
        if (!had_type && c->cputype) {
                r = append(&buf, &len, c->cputype, strlen(c->cputype));
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; c->parts && c->parts[i]; i++) {
                _cleanup_free_ char *p = NULL;

                had_flags = had_flags || part_is(c->parts[i], "flags");
                r = edited_part(c, c->parts[i], &p);
                if (r < 0)
                        return r;
                if (p) {
                        r = append(&buf, &len, p, strlen(p));
                        if (r < 0)
                                return r;
                }
        }

        if (!had_flags && c->flags && c->flags[0]) {
                _cleanup_free_ char *l = NULL, *p = NULL;
                r = flags_join(c->flags, &l);
                if (r < 0)
                        return r;
                if (asprintf(&p, "flags=%s", l) < 0)
                        return -ENOMEM;
                r = append(&buf, &len, p, strlen(p));
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(buf);
        return 0;
}

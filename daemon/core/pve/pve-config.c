/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>

#include "pve-config.h"
#include "util.h"

typedef enum Section {
        SECTION_MAIN,
        SECTION_PENDING,
        SECTION_OTHER, /* a snapshot, [special:...] or an unknown section: not the current config */
} Section;

static const NvPveProp *props_find(const NvPveProp *props, size_t n, const char *key)
{
        for (size_t i = 0; i < n; i++)
                if (streq(props[i].key, key))
                        return props + i;
        return NULL;
}

static void props_free(NvPveProp *props, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(props[i].key);
                free(props[i].value);
        }
        free(props);
}

/* Sets key (a later line replaces an earlier one, as in qemu-server's hash). */
static int props_set(
        NvPveProp **props, size_t *n, const char *key, size_t key_len, const char *value, size_t value_len)
{
        _cleanup_free_ char *k = strndup(key, key_len), *v = strndup(value, value_len);
        NvPveProp *m;

        if (!k || !v)
                return -ENOMEM;
        for (size_t i = 0; i < *n; i++)
                if (streq((*props)[i].key, k)) {
                        free((*props)[i].value);
                        (*props)[i].value = TAKE_PTR(v);
                        return 0;
                }
        m = realloc(*props, (*n + 1) * sizeof(*m));
        if (!m)
                return -ENOMEM;
        *props = m;
        m[(*n)++] = (NvPveProp){ .key = TAKE_PTR(k), .value = TAKE_PTR(v) };
        return 0;
}

void nv_pve_conf_done(NvPveConf *c)
{
        if (!c)
                return;
        props_free(c->main, c->n_main);
        props_free(c->pending, c->n_pending);
        strv_free(c->pending_delete);
        *c = (NvPveConf){};
}

static bool blank(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!isspace((unsigned char) s[i]))
                        return false;
        return true;
}

/* Trims whitespace on both ends of [*s, *s + *n). */
static void trim(const char **s, size_t *n)
{
        while (*n > 0 && isspace((unsigned char) **s)) {
                (*s)++;
                (*n)--;
        }
        while (*n > 0 && isspace((unsigned char) (*s)[*n - 1]))
                (*n)--;
}

/* A section header "[NAME]" with optional trailing blanks: returns its section, or -1 if the line
 * is none. */
static int section_header(const char *line, size_t n)
{
        const char *close;

        if (n == 0 || line[0] != '[')
                return -1;
        close = memchr(line, ']', n);
        if (!close || !blank(close + 1, n - (size_t) (close + 1 - line)))
                return -1;
        /* qemu-server matches [PENDING] case-insensitively. */
        if (close - line == 8 && strncasecmp(line + 1, "PENDING", 7) == 0)
                return SECTION_PENDING;
        return SECTION_OTHER;
}

/* The key of "key: value" as qemu-server's pattern has it: [a-z][a-z_-]* then digits. Returns its
 * length, 0 when the line has no such key and colon. */
static size_t key_length(const char *line, size_t n)
{
        size_t i = 0;

        if (n == 0 || line[0] < 'a' || line[0] > 'z')
                return 0;
        while (i < n && ((line[i] >= 'a' && line[i] <= 'z') || line[i] == '_' || line[i] == '-'))
                i++;
        while (i < n && line[i] >= '0' && line[i] <= '9')
                i++;
        return i < n && line[i] == ':' ? i : 0;
}

/* "delete: a,b;c d": separators , ; and blanks, "!" marks a forced delete. */
static int parse_delete(const char *v, size_t n, char ***l)
{
        for (size_t i = 0; i < n;) {
                size_t start, len;

                while (i < n && (v[i] == ',' || v[i] == ';' || isspace((unsigned char) v[i])))
                        i++;
                start = i;
                while (i < n && v[i] != ',' && v[i] != ';' && !isspace((unsigned char) v[i]))
                        i++;
                len = i - start;
                if (len > 0 && v[start] == '!') {
                        start++;
                        len--;
                }
                if (len == 0)
                        continue;

                _cleanup_free_ char *k = strndup(v + start, len);
                if (!k)
                        return -ENOMEM;
                if (!strv_contains(*l, k) && strv_extend(l, k) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int parse_line(NvPveConf *c, Section section, const char *line, size_t n)
{
        const char *value;
        size_t klen, vlen;

        /* The description, one "#" line each. */
        if (line[0] == '#')
                return 0;
        klen = key_length(line, n);
        if (klen == 0)
                return 0; /* qemu-server warns and goes on */
        value = line + klen + 1;
        vlen = n - klen - 1;
        trim(&value, &vlen);
        if (vlen == 0)
                return 0;

        if (klen == 6 && strncmp(line, "delete", 6) == 0)
                /* Only [PENDING] may delete. */
                return section == SECTION_PENDING ? parse_delete(value, vlen, &c->pending_delete) : 0;
        if (section == SECTION_PENDING)
                return props_set(&c->pending, &c->n_pending, line, klen, value, vlen);
        return props_set(&c->main, &c->n_main, line, klen, value, vlen);
}

int nv_pve_conf_parse(const char *text, size_t len, NvPveConf *ret)
{
        _cleanup_(nv_pve_conf_done) NvPveConf c = {};
        Section section = SECTION_MAIN;
        int r;

        assert(text || len == 0);
        assert(ret);

        if (memchr(text, 0, len))
                return -EBADMSG;

        for (const char *p = text, *end = text + len; p < end;) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t n = (size_t) ((nl ?: end) - p);
                const char *line = p;
                int s;

                p = nl ? nl + 1 : end;
                if (blank(line, n))
                        continue;

                s = section_header(line, n);
                if (s >= 0) {
                        /* A second [PENDING] starts over, as qemu-server's does. */
                        if (s == SECTION_PENDING) {
                                props_free(c.pending, c.n_pending);
                                c.pending = NULL;
                                c.n_pending = 0;
                                c.pending_delete = strv_free(c.pending_delete);
                        }
                        section = (Section) s;
                        continue;
                }
                if (section == SECTION_OTHER)
                        continue;

                r = parse_line(&c, section, line, n);
                if (r < 0)
                        return r;
        }

        *ret = c;
        c = (NvPveConf){};
        return 0;
}

const char *nv_pve_conf_get(const NvPveConf *c, const char *key)
{
        const NvPveProp *p = props_find(c->main, c->n_main, key);
        return p ? p->value : NULL;
}

const char *nv_pve_conf_get_next(const NvPveConf *c, const char *key)
{
        const NvPveProp *p;

        if (strv_contains(c->pending_delete, key))
                return NULL;
        p = props_find(c->pending, c->n_pending, key);
        return p ? p->value : nv_pve_conf_get(c, key);
}

bool nv_pve_conf_pending_changes(const NvPveConf *c, const char *key)
{
        return !streq_ptr(nv_pve_conf_get(c, key), nv_pve_conf_get_next(c, key));
}

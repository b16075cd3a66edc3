/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdint.h>

#include "json-flat.h"
#include "util.h"

/* Deep enough for anything a config carries; bounds the recursion of the skipping code. */
#define JSON_MAX_DEPTH 32

typedef struct Reader {
        const char *p, *end;
} Reader;

static void skip_ws(Reader *r)
{
        while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
                r->p++;
}

static bool take(Reader *r, char c)
{
        skip_ws(r);
        if (r->p >= r->end || *r->p != c)
                return false;
        r->p++;
        return true;
}

static int hex4(Reader *r, uint32_t *ret)
{
        uint32_t v = 0;

        if (r->end - r->p < 4)
                return -EBADMSG;
        for (int i = 0; i < 4; i++) {
                char c = *r->p++;
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (uint32_t) (c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (uint32_t) (c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (uint32_t) (c - 'A' + 10);
                else
                        return -EBADMSG;
        }
        *ret = v;
        return 0;
}

/* The code point of a \u escape (r->p after "\u"), joining a surrogate pair. */
static int unicode_escape(Reader *r, uint32_t *ret)
{
        uint32_t hi, lo;
        int k;

        k = hex4(r, &hi);
        if (k < 0)
                return k;
        if (hi >= 0xDC00 && hi <= 0xDFFF)
                return -EBADMSG;
        if (hi < 0xD800 || hi > 0xDBFF) {
                *ret = hi;
                return 0;
        }
        if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
                return -EBADMSG;
        r->p += 2;
        k = hex4(r, &lo);
        if (k < 0)
                return k;
        if (lo < 0xDC00 || lo > 0xDFFF)
                return -EBADMSG;
        *ret = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
        return 0;
}

static char *utf8_put(char *o, uint32_t c)
{
        if (c < 0x80)
                *o++ = (char) c;
        else if (c < 0x800) {
                *o++ = (char) (0xC0 | (c >> 6));
                *o++ = (char) (0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
                *o++ = (char) (0xE0 | (c >> 12));
                *o++ = (char) (0x80 | ((c >> 6) & 0x3F));
                *o++ = (char) (0x80 | (c & 0x3F));
        } else {
                *o++ = (char) (0xF0 | (c >> 18));
                *o++ = (char) (0x80 | ((c >> 12) & 0x3F));
                *o++ = (char) (0x80 | ((c >> 6) & 0x3F));
                *o++ = (char) (0x80 | (c & 0x3F));
        }
        return o;
}

static char escape_char(char c)
{
        switch (c) {
        case '"':
        case '\\':
        case '/':
                return c;
        case 'b':
                return '\b';
        case 'f':
                return '\f';
        case 'n':
                return '\n';
        case 'r':
                return '\r';
        case 't':
                return '\t';
        default:
                return 0;
        }
}

/* A string at r->p (its opening quote); ret may be NULL to skip it. */
static int read_string(Reader *r, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        const char *start;
        char *o = NULL;

        if (!take(r, '"'))
                return -EBADMSG;
        start = r->p;
        if (ret) {
                /* Decoding never grows: "\uXXXX" (6 bytes) gives at most 3, a pair (12) 4. */
                buf = malloc((size_t) (r->end - start) + 1);
                if (!buf)
                        return -ENOMEM;
                o = buf;
        }

        while (r->p < r->end) {
                unsigned char c = (unsigned char) *r->p++;

                if (c == '"') {
                        if (ret) {
                                *o = 0;
                                *ret = TAKE_PTR(buf);
                        }
                        return 0;
                }
                if (c < 0x20)
                        return -EBADMSG;
                if (c != '\\') {
                        if (o)
                                *o++ = (char) c;
                        continue;
                }
                if (r->p >= r->end)
                        return -EBADMSG;
                c = (unsigned char) *r->p++;
                if (c == 'u') {
                        uint32_t cp;
                        int k = unicode_escape(r, &cp);
                        if (k < 0)
                                return k;
                        /* Our strings are C strings. */
                        if (cp == 0)
                                return -EBADMSG;
                        if (o)
                                o = utf8_put(o, cp);
                        continue;
                }
                char e = escape_char((char) c);
                if (!e)
                        return -EBADMSG;
                if (o)
                        *o++ = e;
        }
        return -EBADMSG;
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* A number as JSON spells it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int read_number(Reader *r, char **ret)
{
        const char *s = r->p, *p = r->p;

        if (p < r->end && *p == '-')
                p++;
        if (p >= r->end || !is_digit(*p))
                return -EBADMSG;
        if (*p == '0')
                p++;
        else
                while (p < r->end && is_digit(*p))
                        p++;
        if (p < r->end && *p == '.') {
                p++;
                if (p >= r->end || !is_digit(*p))
                        return -EBADMSG;
                while (p < r->end && is_digit(*p))
                        p++;
        }
        if (p < r->end && (*p == 'e' || *p == 'E')) {
                p++;
                if (p < r->end && (*p == '+' || *p == '-'))
                        p++;
                if (p >= r->end || !is_digit(*p))
                        return -EBADMSG;
                while (p < r->end && is_digit(*p))
                        p++;
        }
        r->p = p;
        if (!ret)
                return 0;
        *ret = strndup(s, (size_t) (p - s));
        return *ret ? 0 : -ENOMEM;
}

static bool take_word(Reader *r, const char *word)
{
        size_t n = strlen(word);

        if ((size_t) (r->end - r->p) < n || memcmp(r->p, word, n) != 0)
                return false;
        r->p += n;
        return true;
}

static int read_value(Reader *r, char **ret, unsigned depth);

/* An object or array at r->p, skipped. */
static int skip_container(Reader *r, unsigned depth)
{
        char close = *r->p == '{' ? '}' : ']';
        bool object = close == '}';
        int k;

        if (depth >= JSON_MAX_DEPTH)
                return -EBADMSG;
        r->p++;
        if (take(r, close))
                return 0;
        for (;;) {
                if (object) {
                        skip_ws(r);
                        k = read_string(r, NULL);
                        if (k < 0)
                                return k;
                        if (!take(r, ':'))
                                return -EBADMSG;
                }
                k = read_value(r, NULL, depth + 1);
                if (k < 0)
                        return k;
                if (take(r, close))
                        return 0;
                if (!take(r, ','))
                        return -EBADMSG;
        }
}

/* Any value; *ret (when ret is given) gets the text of scalars and NULL for the rest. */
static int read_value(Reader *r, char **ret, unsigned depth)
{
        if (ret)
                *ret = NULL;
        skip_ws(r);
        if (r->p >= r->end)
                return -EBADMSG;
        switch (*r->p) {
        case '"':
                return read_string(r, ret);
        case '{':
        case '[':
                return skip_container(r, depth);
        case 't':
        case 'f': {
                const char *w = *r->p == 't' ? "true" : "false";
                if (!take_word(r, w))
                        return -EBADMSG;
                if (!ret)
                        return 0;
                *ret = strdup(w);
                return *ret ? 0 : -ENOMEM;
        }
        case 'n':
                return take_word(r, "null") ? 0 : -EBADMSG;
        default:
                return read_number(r, ret);
        }
}

void nv_json_flat_done(NvJsonFlat *j)
{
        if (!j)
                return;
        for (size_t i = 0; i < j->n_members; i++) {
                free(j->members[i].key);
                free(j->members[i].value);
        }
        free(j->members);
        *j = (NvJsonFlat){};
}

static const NvJsonMember *find(const NvJsonFlat *j, const char *key)
{
        for (size_t i = 0; i < j->n_members; i++)
                if (streq(j->members[i].key, key))
                        return j->members + i;
        return NULL;
}

static int add_member(NvJsonFlat *j, char *key, char *value)
{
        NvJsonMember *m;

        if (find(j, key))
                return -EBADMSG;
        m = realloc(j->members, (j->n_members + 1) * sizeof(*m));
        if (!m)
                return -ENOMEM;
        j->members = m;
        m[j->n_members++] = (NvJsonMember){ .key = key, .value = value };
        return 0;
}

int nv_json_flat_parse(const char *text, size_t len, NvJsonFlat *ret)
{
        _cleanup_(nv_json_flat_done) NvJsonFlat j = {};
        Reader r = { .p = text, .end = text + len };
        int k;

        assert(text || len == 0);
        assert(ret);

        if (!take(&r, '{'))
                return -EBADMSG;
        if (!take(&r, '}'))
                for (;;) {
                        _cleanup_free_ char *key = NULL, *value = NULL;

                        skip_ws(&r);
                        k = read_string(&r, &key);
                        if (k < 0)
                                return k;
                        if (!take(&r, ':'))
                                return -EBADMSG;
                        k = read_value(&r, &value, 1);
                        if (k < 0)
                                return k;
                        k = add_member(&j, key, value);
                        if (k < 0)
                                return k;
                        key = value = NULL;
                        if (take(&r, '}'))
                                break;
                        if (!take(&r, ','))
                                return -EBADMSG;
                }
        skip_ws(&r);
        if (r.p != r.end)
                return -EBADMSG;

        *ret = j;
        j = (NvJsonFlat){};
        return 0;
}

const char *nv_json_flat_get(const NvJsonFlat *j, const char *key)
{
        const NvJsonMember *m = find(j, key);
        return m ? m->value : NULL;
}

bool nv_json_flat_has(const NvJsonFlat *j, const char *key)
{
        return find(j, key) != NULL;
}

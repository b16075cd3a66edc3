/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>

#include "host-path.h"
#include "pve-models.h"
#include "pve-vms.h"
#include "util.h"

static const NvPveModel *model_find(const NvPveModels *m, const char *name)
{
        for (size_t i = 0; m && i < m->n_models; i++)
                if (streq(m->models[i].name, name))
                        return m->models + i;
        return NULL;
}

static void model_done(NvPveModel *m)
{
        free(m->name);
        free(m->flags);
        free(m->reported_model);
        *m = (NvPveModel){};
}

void nv_pve_models_done(NvPveModels *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < m->n_models; i++)
                model_done(m->models + i);
        free(m->models);
        *m = (NvPveModels){};
}

const NvPveModel *nv_pve_models_find(const NvPveModels *m, const char *cputype)
{
        /* Exactly one prefix comes off: section "custom-x" is cputype "custom-custom-x". */
        const char *n = startswith(cputype, "custom-");

        return n ? model_find(m, n) : NULL;
}

/* Splits a line into its first two blank-separated words; the second is the rest, trimmed. */
static void split_words(char *line, char **ret_first, char **ret_rest)
{
        char *p = line + strspn(line, " \t");
        char *e = p + strcspn(p, " \t");

        *ret_first = p;
        if (*e) {
                *e++ = 0;
                e += strspn(e, " \t");
        }
        *ret_rest = *e ? strstrip_end(e) : NULL;
}

static bool line_blank(const char *s)
{
        for (; *s; s++)
                if (!isspace((unsigned char) *s))
                        return false;
        return true;
}

/* "cpu-model: NAME" (the section config's "TYPE: ID" with no blanks inside either). */
static bool parse_header(char *line, char **ret_type, char **ret_id)
{
        char *colon = strchr(line, ':'), *blank = strpbrk(line, " \t"), *id;

        if (!colon || colon == line || (blank && blank < colon))
                return false;
        *colon = 0;
        id = colon + 1 + strspn(colon + 1, " \t");
        strstrip_end(id);
        if (!*id || strpbrk(id, " \t"))
                return false;
        *ret_type = line;
        *ret_id = id;
        return true;
}

static int set_once(char **slot, const char *value)
{
        /* A repeated property is an error the section config skips: the first one stays. */
        if (*slot || !value)
                return 0;
        *slot = strdup(value);
        return *slot ? 0 : -ENOMEM;
}

static int add_model(NvPveModels *m, NvPveModel *model)
{
        NvPveModel *a;

        /* A second section of the same name is skipped. */
        if (model_find(m, model->name)) {
                model_done(model);
                return 0;
        }
        a = realloc(m->models, (m->n_models + 1) * sizeof(*a));
        if (!a)
                return -ENOMEM;
        m->models = a;
        m->models[m->n_models++] = *model;
        *model = (NvPveModel){};
        return 0;
}

int nv_pve_models_parse(const char *text, size_t len, NvPveModels *ret)
{
        _cleanup_(nv_pve_models_done) NvPveModels m = {};
        _cleanup_free_ char *buf = NULL;
        NvPveModel cur = {};
        bool in_section = false, skipping = false;
        int r = 0;

        assert(text || len == 0);
        assert(ret);

        buf = strndup(text ?: "", len);
        if (!buf)
                return -ENOMEM;

        for (char *line = buf, *next; line && r >= 0; line = next) {
                char *type, *id, *key, *value;

                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                if (line[strspn(line, " \t")] == '#')
                        continue;

                if (line_blank(line)) {
                        /* A blank line ends a section. */
                        if (in_section && !skipping)
                                r = add_model(&m, &cur);
                        in_section = skipping = false;
                        continue;
                }

                if (!in_section) {
                        if (!parse_header(line, &type, &id))
                                continue;
                        in_section = true;
                        skipping = !streq(type, "cpu-model");
                        if (!skipping) {
                                cur.name = strdup(id);
                                if (!cur.name)
                                        r = -ENOMEM;
                        }
                        continue;
                }
                if (skipping || (line[0] != ' ' && line[0] != '\t'))
                        continue;

                split_words(line, &key, &value);
                if (streq(key, "flags"))
                        r = set_once(&cur.flags, value);
                else if (streq(key, "reported-model"))
                        r = set_once(&cur.reported_model, value);
        }
        if (r >= 0 && in_section && !skipping)
                r = add_model(&m, &cur);
        model_done(&cur);
        if (r < 0)
                return r;

        *ret = m;
        m = (NvPveModels){};
        return 0;
}

int nv_pve_models_read(NvPveModels *ret)
{
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        r = nv_host_read_file(NV_PVE_CPU_MODELS_FILE, &text, &size);
        if (r == -ENOENT) {
                *ret = (NvPveModels){};
                return 0;
        }
        if (r < 0)
                return r;
        return nv_pve_models_parse(text, size, ret);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "host-path.h"
#include "kvm-module.h"
#include "module-options.h"
#include "nested-config.h"

/*
 * libkmod parses modprobe.d and the kernel command line, but it does not say which file an option
 * came from. So every file is parsed by libkmod on its own, in the order libkmod itself reads
 * them, and the kernel command line by a context without files.
 */

typedef struct ConfFile {
        char *name;
        char *path;
} ConfFile;

static int conf_file_cmp(const void *a, const void *b)
{
        return strcmp(((const ConfFile *) a)->name, ((const ConfFile *) b)->name);
}

/* libkmod reads only "*.conf", skips dotfiles and refuses directories. */
static bool conf_name_wanted(const char *name)
{
        size_t l = strlen(name);
        return name[0] != '.' && l > 5 && streq(name + l - 5, ".conf");
}

static int list_dir(const char *dir, ConfFile **files, size_t *n)
{
        _cleanup_free_ char *real = nv_host_path(dir);
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (!real)
                return -ENOMEM;
        d = opendir(real);
        if (!d)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;

        while ((de = readdir(d))) {
                struct stat st;
                bool seen = false;

                if (!conf_name_wanted(de->d_name))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || S_ISDIR(st.st_mode))
                        continue;
                /* A name in an earlier directory shadows the same name in a later one. */
                for (size_t i = 0; i < *n && !seen; i++)
                        seen = streq((*files)[i].name, de->d_name);
                if (seen)
                        continue;

                ConfFile *m = realloc(*files, sizeof(ConfFile) * (*n + 1));
                if (!m) {
                        r = -ENOMEM;
                        break;
                }
                *files = m;
                m[*n].name = strdup(de->d_name);
                if (!m[*n].name || asprintf(&m[*n].path, "%s/%s", dir, de->d_name) < 0) {
                        free(m[*n].name);
                        r = -ENOMEM;
                        break;
                }
                (*n)++;
        }
        closedir(d);
        return r;
}

int nv_modprobe_files(char ***ret)
{
        ConfFile *files = NULL;
        size_t n = 0;
        char **l = NULL;
        int r = 0;

        for (size_t i = 0; nv_modprobe_dirs[i] && r >= 0; i++)
                r = list_dir(nv_modprobe_dirs[i], &files, &n);
        if (r >= 0 && n > 0)
                qsort(files, n, sizeof(ConfFile), conf_file_cmp);

        for (size_t i = 0; i < n; i++) {
                if (r >= 0)
                        r = strv_extend(&l, files[i].path);
                free(files[i].name);
                free(files[i].path);
        }
        free(files);

        if (r < 0) {
                strv_free(l);
                return r;
        }
        if (strv_ensure(&l) < 0)
                return -ENOMEM;
        *ret = l;
        return 0;
}

/* Collects the options entries libkmod has for module, in its order. */
static int module_options(const char *const *config_paths, const char *module, char ***ret)
{
        _cleanup_(sym_kmod_unrefp) struct kmod_ctx *ctx = NULL;
        _cleanup_strv_free_ char **l = NULL;
        struct kmod_config_iter *it;
        int r;

        r = dlopen_libkmod();
        if (r < 0)
                return r;

        /* The modules directory is never read here: only configuration is parsed. */
        ctx = sym_kmod_new("/dev/null", config_paths);
        if (!ctx)
                return -ENOMEM;

        it = sym_kmod_config_get_options(ctx);
        if (!it)
                return -ENOMEM;
        while (sym_kmod_config_iter_next(it))
                if (streq(sym_kmod_config_iter_get_key(it), module)) {
                        r = strv_extend(&l, strempty(sym_kmod_config_iter_get_value(it)));
                        if (r < 0)
                                break;
                }
        sym_kmod_config_iter_free_iter(it);
        if (r < 0)
                return r;

        if (strv_ensure(&l) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

static int add_setting(NvNestedConfig *c, const char *source, const char *value, NvParamType type)
{
        NvNestedSetting *m = realloc(c->settings, sizeof(NvNestedSetting) * (c->n_settings + 1));
        if (!m)
                return -ENOMEM;
        c->settings = m;

        NvNestedSetting *s = &m[c->n_settings];
        *s = (NvNestedSetting){
                .source = strdup(source),
                .value = value ? strdup(value) : NULL,
                .effect = nv_nested_parse_option(type, value),
        };
        if (!s->source || (value && !s->value)) {
                free(s->source);
                free(s->value);
                return -ENOMEM;
        }
        c->n_settings++;
        return 0;
}

/* Adds the nested settings found in options entries [0, n). Sets *ended once an entry ends the
 * kernel's arguments ("--", an open quote): libkmod joins all entries, files first and the kernel
 * command line last, so the entries after it never reach the kernel and are not settings. */
static int add_settings(
        NvNestedConfig *c, const char *source, char **entries, size_t n, NvParamType type, bool *ended)
{
        for (size_t i = 0; i < n && !*ended; i++) {
                _cleanup_free_ char *v = NULL;
                int r = nv_options_find_nested(entries[i], &v);
                if (r < 0)
                        return r;
                *ended = nv_options_end_arguments(entries[i]);
                if (r == 0)
                        continue;
                r = add_setting(c, source, v, type);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int decide(NvNestedConfig *c, NvNested kernel_default)
{
        const NvNestedSetting *decider = NULL;

        for (size_t i = 0; i < c->n_settings; i++) {
                /* The kernel stops at the first value it rejects, and the load fails. */
                if (c->settings[i].effect == NV_NESTED_INVALID) {
                        decider = &c->settings[i];
                        break;
                }
                decider = &c->settings[i];
        }

        for (size_t i = 1; i < c->n_settings; i++)
                if (c->settings[i].effect != c->settings[0].effect)
                        c->conflict = true;

        if (!decider) {
                c->next_load = kernel_default;
                c->source = strdup(NV_SOURCE_KERNEL_DEFAULT);
                return c->source ? 0 : -ENOMEM;
        }

        c->next_load = decider->effect;
        c->source = strdup(decider->source);
        if (!c->source)
                return -ENOMEM;

        if (decider->effect == NV_NESTED_INVALID)
                return 0;
        for (const NvNestedSetting *s = c->settings; s < decider; s++)
                if (s->effect != decider->effect && !streq(s->source, decider->source) &&
                        !strv_contains(c->overridden, s->source))
                        if (strv_extend(&c->overridden, s->source) < 0)
                                return -ENOMEM;
        return 0;
}

int nv_nested_config_read(const char *module, bool builtin, NvNested kernel_default, NvNestedConfig *ret)
{
        _cleanup_strv_free_ char **cmdline = NULL, **files = NULL;
        NvParamType type = nv_module_param_type(module);
        NvNestedConfig c = {}, ignored = {};
        bool ended = false, ignored_ended = false;
        size_t n_cmdline;
        int r;

        /* A context without files sees only the kernel command line. */
        r = module_options((const char *const[]){ NULL }, module, &cmdline);
        if (r < 0)
                return r;
        n_cmdline = strv_length(cmdline);

        r = nv_modprobe_files(&files);
        if (r < 0)
                return r;

        for (size_t i = 0; files && files[i]; i++) {
                _cleanup_strv_free_ char **entries = NULL;
                _cleanup_free_ char *real = nv_host_path(files[i]);
                size_t n;

                if (!real) {
                        r = -ENOMEM;
                        goto fail;
                }
                r = module_options((const char *const[]){ real, NULL }, module, &entries);
                if (r < 0)
                        goto fail;

                /* Every context appends the command line's entries last; they are not the file's. */
                n = strv_length(entries);
                n = n >= n_cmdline ? n - n_cmdline : 0;
                /* modprobe.d does not apply to a module that is part of the kernel image: its
                 * settings are kept apart, to tell the administrator they have no effect. */
                r = add_settings(builtin ? &ignored : &c, files[i], entries, n, type,
                        builtin ? &ignored_ended : &ended);
                if (r < 0)
                        goto fail;
        }

        r = add_settings(&c, NV_SOURCE_KERNEL_CMDLINE, cmdline, n_cmdline, type, &ended);
        if (r < 0)
                goto fail;

        r = decide(&c, kernel_default);
        if (r < 0)
                goto fail;

        c.ignored = TAKE_PTR(ignored.settings);
        c.n_ignored = ignored.n_settings;
        *ret = c;
        return 0;

fail:
        nv_nested_config_done(&ignored);
        nv_nested_config_done(&c);
        return r;
}

/* l may be NULL whatever n says: an allocation that failed. */
static void settings_free(NvNestedSetting *l, size_t n)
{
        for (size_t i = 0; l && i < n; i++) {
                free(l[i].source);
                free(l[i].value);
        }
        free(l);
}

void nv_nested_config_done(NvNestedConfig *c)
{
        assert(c);
        settings_free(c->settings, c->n_settings);
        settings_free(c->ignored, c->n_ignored);
        free(c->source);
        strv_free(c->overridden);
        *c = (NvNestedConfig){};
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <sys/stat.h>

#include "findings-checks.h"
#include "findings-text.h"
#include "host-path.h"
#include "util.h"

/* libkmod reads only "*.conf" and skips dotfiles. */
static bool modprobe_name_read(const char *name)
{
        size_t l = strlen(name);
        return name[0] != '.' && l > 5 && streq(name + l - 5, ".conf");
}

static bool mentions_kvm(const char *buf, size_t size)
{
        /* Case-insensitive and past NUL bytes: the file may be anything. */
        for (size_t i = 0; i + 3 <= size; i++)
                if ((buf[i] | 0x20) == 'k' && (buf[i + 1] | 0x20) == 'v' && (buf[i + 2] | 0x20) == 'm')
                        return true;
        return false;
}

static int cmp_strp(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The names in a host directory, sorted (readdir order is not stable); an empty list when the
 * directory does not exist. */
static int list_names(const char *dir, char ***ret)
{
        _cleanup_free_ char *real = nv_host_path(dir);
        _cleanup_strv_free_ char **l = NULL;
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (!real)
                return -ENOMEM;
        d = opendir(real);
        if (d) {
                while ((de = readdir(d)))
                        if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                                r = strv_extend(&l, de->d_name);
                                if (r < 0)
                                        break;
                        }
                closedir(d);
        }
        if (r < 0)
                return r;
        if (l)
                qsort(l, strv_length(l), sizeof(char *), cmp_strp);
        if (strv_ensure(&l) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

typedef struct FileId {
        dev_t dev;
        ino_t ino;
} FileId;

int check_ignored_files(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        _cleanup_strv_free_ char **ignored = NULL, **renames = NULL;
        _cleanup_free_ FileId *seen = NULL;
        size_t n_seen = 0, n;
        int r;

        /* A built-in module reads no modprobe.d file at all, renamed or not. */
        if (h->module_state == NV_MODULE_BUILTIN)
                return 0;

        for (size_t i = 0; nv_modprobe_dirs[i]; i++) {
                _cleanup_strv_free_ char **names = NULL;

                r = list_names(nv_modprobe_dirs[i], &names);
                if (r < 0)
                        return r;

                for (size_t j = 0; names[j]; j++) {
                        _cleanup_free_ char *path = NULL, *real = NULL, *content = NULL, *rename = NULL;
                        const char *base = names[j];
                        struct stat st;
                        size_t size;
                        bool dup = false;

                        if (modprobe_name_read(base))
                                continue;
                        path = text_new("%s/%s", nv_modprobe_dirs[i], base);
                        real = path ? nv_host_path(path) : NULL;
                        if (!real)
                                return -ENOMEM;
                        if (stat(real, &st) < 0 || !S_ISREG(st.st_mode))
                                continue;
                        /* /lib is often a link to /usr/lib: one file, two names. */
                        for (size_t k = 0; k < n_seen && !dup; k++)
                                dup = seen[k].dev == st.st_dev && seen[k].ino == st.st_ino;
                        if (dup)
                                continue;
                        FileId *m = realloc(seen, sizeof(FileId) * (n_seen + 1));
                        if (!m)
                                return -ENOMEM;
                        seen = m;
                        seen[n_seen++] = (FileId){ st.st_dev, st.st_ino };

                        r = nv_host_read_file(path, &content, &size);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0 || !mentions_kvm(content, size))
                                continue;

                        while (*base == '.')
                                base++;
                        n = strlen(base);
                        rename = n > 5 && streq(base + n - 5, ".conf") ? text_new("%s", base)
                                                                       : text_new("%s.conf", base);
                        if (!rename || strv_extend(&ignored, path) < 0 || strv_extend(&renames, rename) < 0)
                                return -ENOMEM;
                }
        }

        n = strv_length(ignored);
        if (n == 0)
                return 0;

        r = text_append(&summary, "kmod ignores ");
        if (r >= 0)
                r = text_append_list(&summary, ignored);
        if (r >= 0)
                r = text_append(&summary,
                        ", which %s KVM: only files whose names end in \".conf\" (and do "
                        "not start with a dot) are read.",
                        n == 1 ? "mentions" : "mention");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = text_append(&hint, "%s%s to %s",
                        i == 0 ? "If the settings are meant to apply, rename " : list_sep(i, n), ignored[i],
                        renames[i]);
        if (r >= 0)
                r = text_append(&hint, "; otherwise delete %s.", n == 1 ? "it" : "them");
        if (r < 0)
                return r;
        return push(f, "ignored-file", NV_LEVEL_WARNING, &summary, &hint);
}

/* The names initramfs tools know the KVM modules by. */
static bool is_kvm_module(const char *w, size_t l)
{
        static const char *const names[] = { "kvm", "kvm_intel", "kvm-intel", "kvm_amd", "kvm-amd" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strlen(names[i]) == l && strncmp(names[i], w, l) == 0)
                        return true;
        return false;
}

/* Adds the word [w, w+l) to found when it names a KVM module; quotes around it and mkinitcpio's
 * "optional" mark ("kvm_intel?") do not count. */
static int add_if_kvm(const char *w, size_t l, char ***found)
{
        _cleanup_free_ char *word = NULL;

        while (l > 0 && (*w == '"' || *w == '\''))
                w++, l--;
        while (l > 0 && (w[l - 1] == '"' || w[l - 1] == '\'' || w[l - 1] == '?'))
                l--;
        if (!is_kvm_module(w, l))
                return 0;
        word = strndup(w, l);
        if (!word)
                return -ENOMEM;
        if (strv_contains(*found, word))
                return 0;
        return strv_extend(found, word);
}

static const char *next_line(const char *p)
{
        p += strcspn(p, "\n");
        return *p ? p + 1 : p;
}

/* /etc/initramfs-tools/modules: one module a line, maybe with options; "#" starts a comment. */
static int parse_module_list(const char *text, char ***found)
{
        for (const char *p = text; *p; p = next_line(p)) {
                int r;

                p += strspn(p, " \t");
                if (*p == '#')
                        continue;
                r = add_if_kvm(p, strcspn(p, " \t\r\n"), found);
                if (r < 0)
                        return r;
        }
        return 0;
}

/*
 * dracut and mkinitcpio configuration is shell: finds "KEY=" and "KEY+=" at the start of a line for
 * the given keys and looks at the words of the value, a quoted string, a parenthesised array
 * (either may span lines) or a bare word.
 */
static int parse_shell_assignments(const char *text, const char *const *keys, char ***found)
{
        const char *p = text;

        while (*p) {
                const char *v, *end;
                size_t l;
                bool wanted = false;

                p += strspn(p, " \t");
                l = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
                for (size_t i = 0; keys[i] && !wanted && l > 0; i++)
                        wanted = strlen(keys[i]) == l && strncmp(keys[i], p, l) == 0;
                v = p + l;
                if (*v == '+')
                        v++;
                if (!wanted || *v != '=') {
                        p = next_line(p);
                        continue;
                }
                v++;

                if (*v == '(' || *v == '"' || *v == '\'') {
                        const char *close = strchr(v + 1, *v == '(' ? ')' : *v);
                        end = close ?: v + strlen(v);
                        v++;
                } else
                        end = v + strcspn(v, " \t\r\n;#");

                for (const char *w = v; w < end;) {
                        int r;

                        w += strspn(w, " \t\r\n");
                        if (w >= end)
                                break;
                        if (*w == '#') {
                                /* A comment line inside an array. */
                                w = next_line(w);
                                continue;
                        }
                        l = strcspn(w, " \t\r\n");
                        if (w + l > end)
                                l = (size_t) (end - w);
                        r = add_if_kvm(w, l, found);
                        if (r < 0)
                                return r;
                        w += l;
                }

                p = *end ? next_line(end) : end;
        }
        return 0;
}

static const char *const tool_rebuild[_TOOL_MAX] = {
        [TOOL_INITRAMFS_TOOLS] = "update-initramfs -u -k all",
        [TOOL_DRACUT] = "dracut -f --regenerate-all",
        [TOOL_MKINITCPIO] = "mkinitcpio -P",
};

int initramfs_kvm_modules(const char *text, InitramfsTool tool, char ***found)
{
        static const char *const dracut_keys[] = { "add_drivers", "force_drivers", "drivers", NULL };
        static const char *const mkinitcpio_keys[] = { "MODULES", NULL };

        if (tool == TOOL_INITRAMFS_TOOLS)
                return parse_module_list(text, found);
        return parse_shell_assignments(text, tool == TOOL_DRACUT ? dracut_keys : mkinitcpio_keys, found);
}

/* Adds "PATH lists kvm_intel" to parts when the file names KVM modules; 1 then, else 0. */
static int initramfs_file(const char *path, InitramfsTool tool, char ***parts)
{
        _cleanup_free_ char *content = NULL, *part = NULL;
        _cleanup_strv_free_ char **found = NULL;
        int r;

        r = nv_host_read_file(path, &content, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;

        r = initramfs_kvm_modules(content, tool, &found);
        if (r < 0)
                return r;
        if (!found)
                return 0;

        r = text_append(&part, "%s %s ", path, tool == TOOL_DRACUT ? "adds" : "lists");
        if (r >= 0)
                r = text_append_list(&part, found);
        if (r >= 0)
                r = strv_extend(parts, part);
        return r < 0 ? r : 1;
}

/* The main file, then the "*.conf" files in dir by name. */
static int initramfs_config(const char *main_file, const char *dir, InitramfsTool tool, char ***parts)
{
        _cleanup_strv_free_ char **names = NULL;
        bool any;
        int r;

        r = initramfs_file(main_file, tool, parts);
        if (r < 0)
                return r;
        any = r > 0;

        r = list_names(dir, &names);
        if (r < 0)
                return r;
        for (size_t i = 0; names[i]; i++) {
                _cleanup_free_ char *path = NULL;
                size_t l = strlen(names[i]);

                if (names[i][0] == '.' || l <= 5 || !streq(names[i] + l - 5, ".conf"))
                        continue;
                path = text_new("%s/%s", dir, names[i]);
                if (!path)
                        return -ENOMEM;
                r = initramfs_file(path, tool, parts);
                if (r < 0)
                        return r;
                any = any || r > 0;
        }
        return any;
}

int check_initramfs(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        _cleanup_strv_free_ char **parts = NULL;
        bool used[_TOOL_MAX] = {};
        size_t k = 0;
        int r;

        /* A built-in module is in the kernel image, not in the initramfs. */
        if (!h->module || h->module_state == NV_MODULE_BUILTIN)
                return 0;

        r = initramfs_file("/etc/initramfs-tools/modules", TOOL_INITRAMFS_TOOLS, &parts);
        if (r < 0)
                return r;
        used[TOOL_INITRAMFS_TOOLS] = r > 0;
        r = initramfs_config("/etc/dracut.conf", "/etc/dracut.conf.d", TOOL_DRACUT, &parts);
        if (r < 0)
                return r;
        used[TOOL_DRACUT] = r > 0;
        r = initramfs_config("/etc/mkinitcpio.conf", "/etc/mkinitcpio.conf.d", TOOL_MKINITCPIO, &parts);
        if (r < 0)
                return r;
        used[TOOL_MKINITCPIO] = r > 0;

        if (!parts)
                return 0;

        r = text_append(
                &summary, "The initramfs loads KVM modules before the root file system is mounted: ");
        if (r >= 0)
                r = text_append_list(&summary, parts);
        if (r >= 0)
                r = text_append(&summary, ".");

        if (r >= 0)
                r = text_append(&hint,
                        "These modules then take their options from the copy of modprobe.d "
                        "inside the initramfs: after changing nested in /etc/modprobe.d, "
                        "rebuild it (");
        for (size_t i = 0; r >= 0 && i < _TOOL_MAX; i++)
                if (used[i])
                        r = text_append(&hint, "%s`%s`", k++ == 0 ? "" : "; ", tool_rebuild[i]);
        if (r >= 0)
                r = text_append(&hint, "), or drop them from the list if they need not load that early.");
        if (r < 0)
                return r;
        return push(f, "initramfs-includes-kvm", NV_LEVEL_WARNING, &summary, &hint);
}

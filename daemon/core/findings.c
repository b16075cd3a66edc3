/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "dropin.h"
#include "findings.h"
#include "host-path.h"
#include "util.h"

/*
 * Each check looks at one thing and adds at most one finding; the checks run in a fixed order, so
 * the list is stable for a given host. Every id appears at most once: where several files or VMs
 * are involved, one finding names them all.
 */

#define NV_VMS_NAMED_MAX 10

const char *nv_level_to_string(NvLevel l)
{
        switch (l) {
        case NV_LEVEL_ERROR:
                return "error";
        case NV_LEVEL_WARNING:
                return "warning";
        case NV_LEVEL_INFO:
        default:
                return "info";
        }
}

/* asprintf() that returns NULL on failure (asprintf leaves its pointer undefined then). */
static __attribute__((format(printf, 1, 2))) char *text_new(const char *fmt, ...)
{
        va_list ap;
        char *s;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&s, fmt, ap);
        va_end(ap);
        return k < 0 ? NULL : s;
}

/* Appends to *s (which may be NULL). */
static __attribute__((format(printf, 2, 3))) int text_append(char **s, const char *fmt, ...)
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

/* Moves summary and hint (NULL: an allocation failed) into a new finding; on failure the caller
 * still owns them. */
static int push(NvFindings *f, const char *id, NvLevel level, char **summary, char **hint)
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

/* 1 when release is want_major.want_minor or later, 0 when earlier, -1 when unknown. */
static int release_at_least(const char *release, unsigned want_major, unsigned want_minor)
{
        unsigned major, minor;

        if (!release || sscanf(release, "%u.%u", &major, &minor) != 2)
                return -1;
        return major > want_major || (major == want_major && minor >= want_minor);
}

static const char *vendor_flag(NvVendor v)
{
        switch (v) {
        case NV_VENDOR_INTEL:
                return "vmx";
        case NV_VENDOR_AMD:
                return "svm";
        case NV_VENDOR_UNKNOWN:
        default:
                return "vmx/svm";
        }
}

/* "the kernel command line", "the kernel's default" or the file. */
static const char *source_name(const char *source)
{
        if (streq_ptr(source, NV_SOURCE_KERNEL_CMDLINE))
                return "the kernel command line";
        if (streq_ptr(source, NV_SOURCE_KERNEL_DEFAULT))
                return "the kernel's default";
        return strempty(source);
}

/* "FILE sets nested=V" or "the kernel command line sets MODULE.nested=V"; a bare parameter has
 * no "=V". */
static int append_setting(char **s, const char *module, const NvNestedSetting *st)
{
        bool cmdline = streq(st->source, NV_SOURCE_KERNEL_CMDLINE);

        return text_append(s, "%s sets %s%snested%s%s", source_name(st->source), cmdline ? module : "",
                cmdline ? "." : "", st->value ? "=" : "", strempty(st->value));
}

/* The last setting from source: the one that counts for it. */
static const NvNestedSetting *last_setting_from(const NvNestedConfig *c, const char *source)
{
        for (size_t i = c->n_settings; i > 0; i--)
                if (streq(c->settings[i - 1].source, source))
                        return &c->settings[i - 1];
        return NULL;
}

static int check_hardware(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        const char *flag = vendor_flag(h->cpu.vendor);

        if (!h->module) {
                if (h->cpu.vendor_id)
                        summary =
                                text_new("The CPU vendor \"%s\" has no KVM module that nestvirt knows "
                                         "(kvm_intel or kvm_amd), so nesting cannot be checked or changed.",
                                        h->cpu.vendor_id);
                else
                        summary = text_new("/proc/cpuinfo names no CPU vendor, so nestvirt cannot tell "
                                           "whether kvm_intel or kvm_amd applies.");
                hint = text_new("nestvirt manages nesting on x86 CPUs from Intel, AMD, Hygon, Zhaoxin and "
                                "VIA/Centaur; on other CPUs use the hypervisor's own documentation.");
                return push(f, "unknown-vendor", NV_LEVEL_ERROR, &summary, &hint);
        }

        if (nv_cpu_info_hardware_support(&h->cpu))
                return 0;

        if (h->virt.guest) {
                summary = text_new("This machine is a VM (hypervisor: %s) and the hypervisor does not "
                                   "expose %s to this VM, so it cannot run VMs of its own.",
                        isempty(h->virt.hypervisor) ? "unknown" : h->virt.hypervisor, flag);
                hint = text_new("The administrator of the host that runs this VM must set its CPU type "
                                "to host (Proxmox VE: `qm set VMID --cpu host`; libvirt: "
                                "`<cpu mode='host-passthrough'/>`), enable nested there, and then "
                                "power-cycle the VM (stop and start it): a reboot inside the guest is "
                                "not enough.");
                return push(f, "guest-without-extensions", NV_LEVEL_ERROR, &summary, &hint);
        }

        summary = text_new("The CPU (%s) does not report %s in /proc/cpuinfo, so KVM cannot use "
                           "hardware virtualization on this host.",
                strempty(h->cpu.vendor_id), flag);
        if (h->cpu.vendor == NV_VENDOR_AMD)
                /* The kernel keeps svm when the firmware disables it (kvm_amd then fails to load). */
                hint = text_new("The CPU lacks AMD-V (SVM), or this is a VM whose hypervisor hides both "
                                "svm and itself: if the CPU has AMD-V, enable SVM in the firmware setup "
                                "and power the machine off and on.");
        else if (release_at_least(h->kernel_release, 5, 6) > 0)
                hint = text_new("Since Linux 5.6 the kernel hides vmx when the firmware has disabled "
                                "VT-x (its log then says \"VMX (outside TXT) disabled by BIOS\"): enable "
                                "Intel Virtualization Technology (VT-x) in the firmware setup and power "
                                "the machine off and on. If the CPU has no VT-x, KVM cannot run here.");
        else if (release_at_least(h->kernel_release, 5, 6) == 0)
                /* Older kernels show vmx even when the firmware disabled VT-x. */
                hint = text_new("Before Linux 5.6 the kernel shows vmx even when the firmware disabled "
                                "VT-x, so the CPU lacks VT-x, or this is a VM whose hypervisor hides vmx "
                                "and does not identify itself: KVM cannot run here.");
        else
                hint = text_new("The CPU lacks VT-x, or the firmware disabled it: if the CPU has VT-x, "
                                "enable Intel Virtualization Technology in the firmware setup and power "
                                "the machine off and on.");
        return push(f, "no-hardware-support", NV_LEVEL_ERROR, &summary, &hint);
}

static int check_modules_disabled(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;

        if (!h->modules_disabled)
                return 0;

        summary = text_new("kernel.modules_disabled is 1: no module can be loaded or unloaded until "
                           "the next boot, so %s cannot be reloaded to change nested.",
                h->module ?: "the KVM module");
        if (h->module_state == NV_MODULE_BUILTIN)
                hint = text_new("%s is built in anyway: only the kernel command line and a reboot change "
                                "nested.",
                        h->module);
        else
                hint = text_new(
                        "Changes to nested take effect only after a reboot (`nestvirtctl enable "
                        "--persistent` or `disable --persistent`, then reboot); to change it live, find "
                        "what sets kernel.modules_disabled=1 at boot (sysctl.d, a hardening service) "
                        "and let it run after KVM is set up.");
        return push(f, "modules-disabled", NV_LEVEL_ERROR, &summary, &hint);
}

static int check_module_state(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        const char *release = h->kernel_release ?: "(unknown)";
        const char *m = h->module;

        if (!m)
                return 0;

        switch (h->module_state) {
        case NV_MODULE_UNAVAILABLE:
                summary = text_new("%s is not installed for the running kernel %s: nothing under "
                                   "/lib/modules/%s provides it.",
                        m, release, release);
                hint = text_new("Install the modules package of kernel %s (KVM ships with the kernel), "
                                "or reboot into an installed kernel: this usually follows an upgrade "
                                "that removed the running kernel's modules.",
                        release);
                return push(f, "module-unavailable", NV_LEVEL_ERROR, &summary, &hint);

        case NV_MODULE_NOT_LOADED:
                /* Without vmx/svm it cannot load; no-hardware-support already says why. */
                if (!nv_cpu_info_hardware_support(&h->cpu))
                        return 0;
                if (h->config.next_load == NV_NESTED_ENABLED || h->config.next_load == NV_NESTED_DISABLED)
                        summary = text_new("%s is not loaded, so there is no live nested value; when it "
                                           "loads, nested will be %s (from %s).",
                                m, nv_nested_to_string(h->config.next_load), source_name(h->config.source));
                else
                        summary = text_new("%s is not loaded, so there is no live nested value.", m);
                hint = text_new("Load it with `modprobe %s` (starting a VM loads it too).", m);
                return push(f, "module-not-loaded", NV_LEVEL_INFO, &summary, &hint);

        case NV_MODULE_BUILTIN:
                summary = text_new("%s is built into the kernel (%s): it cannot be reloaded and "
                                   "modprobe.d files do not apply to it; nested is %s now.",
                        m, release, nv_nested_to_string(h->nested));
                hint = text_new("Set nested on the kernel command line and reboot: add `%s.nested=1` to "
                                "enable it or `%s.nested=0` to disable it (GRUB: GRUB_CMDLINE_LINUX in "
                                "/etc/default/grub, then update-grub; systemd-boot on Proxmox VE: "
                                "/etc/kernel/cmdline, then proxmox-boot-tool refresh).",
                        m, m);
                return push(f, "module-builtin", NV_LEVEL_INFO, &summary, &hint);

        case NV_MODULE_LOADED:
        default:
                return 0;
        }
}

/* ", " or " and " before item i of n (nothing before the first). */
static const char *list_sep(size_t i, size_t n)
{
        return i == 0 ? "" : i + 1 == n ? " and " : ", ";
}

/* Joins l in prose ("a", "a and b", "a, b and c"). */
static int text_append_list(char **s, char *const *l)
{
        size_t n = strv_length(l);

        for (size_t i = 0; i < n; i++)
                if (text_append(s, "%s%s", list_sep(i, n), l[i]) < 0)
                        return -ENOMEM;
        return 0;
}

static int check_invalid_option(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        _cleanup_strv_free_ char **files = NULL;
        const NvNestedConfig *c = &h->config;
        size_t n_invalid = 0, k = 0;
        bool cmdline = false;
        const char *m = h->module;
        int r = 0;

        if (!m)
                return 0;

        for (size_t i = 0; i < c->n_settings; i++) {
                const NvNestedSetting *s = &c->settings[i];

                if (s->effect != NV_NESTED_INVALID)
                        continue;
                n_invalid++;
                if (streq(s->source, NV_SOURCE_KERNEL_CMDLINE))
                        cmdline = true;
                else if (!strv_contains(files, s->source) && strv_extend(&files, s->source) < 0)
                        return -ENOMEM;
        }
        if (n_invalid == 0)
                return 0;

        for (size_t i = 0; r >= 0 && i < c->n_settings; i++) {
                if (c->settings[i].effect != NV_NESTED_INVALID)
                        continue;
                r = text_append(&summary, "%s", list_sep(k++, n_invalid));
                if (r >= 0)
                        r = append_setting(&summary, m, &c->settings[i]);
        }
        if (r >= 0)
                r = text_append(&summary, ", a value %s rejects (its nested parameter is %s): ", m,
                        nv_module_param_type(m) == NV_PARAM_INT ? "an integer" : "a boolean");
        if (r >= 0)
                r = h->module_state == NV_MODULE_BUILTIN
                        ? text_append(&summary, "the kernel refuses it at boot and keeps the default.")
                        : text_append(&summary, "the next load of %s will fail.", m);
        if (r < 0)
                return r;
        /* "the kernel command line ..." starts a sentence. */
        if (summary[0] == 't')
                summary[0] = 'T';

        if (files) {
                r = text_append(&hint, "Write nested=1 (on) or nested=0 (off) in ");
                if (r >= 0)
                        r = text_append_list(&hint, files);
                if (r >= 0)
                        r = text_append(&hint, " instead: both KVM modules accept these.");
        }
        if (r >= 0 && cmdline)
                r = text_append(&hint,
                        "%sUse `%s.nested=1` or `%s.nested=0` on the kernel command line instead (in the "
                        "boot loader configuration) and reboot.",
                        hint ? " " : "", m, m);
        if (r < 0)
                return r;
        return push(f, "invalid-option", NV_LEVEL_ERROR, &summary, &hint);
}

/* Appends "A sets nested=1, B sets nested=0 and the kernel command line sets M.nested=1". */
static int append_settings(char **s, const char *module, const NvNestedConfig *c)
{
        for (size_t i = 0; i < c->n_settings; i++) {
                if (text_append(s, "%s", list_sep(i, c->n_settings)) < 0)
                        return -ENOMEM;
                if (append_setting(s, module, &c->settings[i]) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* Disagreement among the modprobe.d files; a command line that overrides them all is
 * overridden-by-cmdline's subject. */
static int check_conflicting_settings(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        const NvNestedConfig *c = &h->config;
        const NvNestedSetting *first = NULL;
        bool disagree = false;
        int r;

        if (!h->module || !c->conflict)
                return 0;

        for (size_t i = 0; i < c->n_settings && !disagree; i++) {
                if (streq(c->settings[i].source, NV_SOURCE_KERNEL_CMDLINE))
                        continue;
                if (!first)
                        first = &c->settings[i];
                else if (c->settings[i].effect != first->effect)
                        disagree = true;
        }
        if (!disagree)
                return 0;

        r = text_append(&summary, "The settings of nested for %s disagree: ", h->module);
        if (r >= 0)
                r = append_settings(&summary, h->module, c);
        if (r >= 0)
                r = text_append(&summary, ".");
        if (r < 0)
                return r;

        if (c->next_load == NV_NESTED_INVALID)
                hint = text_new("The value %s rejects in %s makes the next load fail (see invalid-option); "
                                "nestvirt never edits other files (it writes only %s): remove the "
                                "settings you do not want.",
                        h->module, source_name(c->source), NV_DROPIN_PATH);
        else
                hint = text_new(
                        "%s wins, so nested will be %s at the next load: files count in the order of "
                        "their names, the kernel keeps the last value, and the kernel command "
                        "line comes after every file. nestvirt never edits other files (it "
                        "writes only %s): remove the settings you do not want.",
                        source_name(c->source), nv_nested_to_string(c->next_load), NV_DROPIN_PATH);
        if (hint && hint[0] == 't')
                hint[0] = 'T';
        return push(f, "conflicting-settings", NV_LEVEL_WARNING, &summary, &hint);
}

static int check_overridden_by_cmdline(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        const NvNestedConfig *c = &h->config;
        const NvNestedSetting *decider;
        size_t n;
        int r;

        if (!h->module || !streq_ptr(c->source, NV_SOURCE_KERNEL_CMDLINE) ||
                c->next_load == NV_NESTED_INVALID)
                return 0;
        n = strv_length(c->overridden);
        decider = last_setting_from(c, NV_SOURCE_KERNEL_CMDLINE);
        if (n == 0 || !decider)
                return 0;

        r = text_append(&summary, "The kernel command line sets %s.nested%s%s, which overrides ", h->module,
                decider->value ? "=" : "", strempty(decider->value));
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const NvNestedSetting *s = last_setting_from(c, c->overridden[i]);
                r = text_append(&summary, "%s%s (nested%s%s)", list_sep(i, n), c->overridden[i],
                        s && s->value ? "=" : "", s ? strempty(s->value) : "");
        }
        if (r >= 0)
                r = text_append(&summary, ".");
        if (r < 0)
                return r;

        hint = text_new("The kernel command line always wins over modprobe.d. To let the files decide, "
                        "remove %s.nested= from the kernel command line (in the boot loader "
                        "configuration) and reboot; otherwise remove the setting from the files so "
                        "that they do not mislead.",
                h->module);
        return push(f, "overridden-by-cmdline", NV_LEVEL_WARNING, &summary, &hint);
}

static bool nested_known(NvNested v)
{
        return v == NV_NESTED_ENABLED || v == NV_NESTED_DISABLED;
}

static int check_live_differs(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;

        if (!h->module || !nested_known(h->nested) || !nested_known(h->config.next_load) ||
                h->nested == h->config.next_load)
                return 0;

        summary = text_new("%s runs with nested %s, but it will be %s at the next load (set by %s).",
                h->module, nv_nested_to_string(h->nested), nv_nested_to_string(h->config.next_load),
                source_name(h->config.source));
        if (h->module_state == NV_MODULE_BUILTIN || h->modules_disabled)
                hint = text_new(
                        "%s cannot be reloaded now: reboot to apply the configured value.", h->module);
        else
                hint = text_new("Run `nestvirtctl enforce` to reload %s with the configured value (only "
                                "while no VM runs), or reboot.",
                        h->module);
        return push(f, "live-differs-from-next-load", NV_LEVEL_WARNING, &summary, &hint);
}

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

static int check_ignored_files(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
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

typedef enum InitramfsTool {
        TOOL_INITRAMFS_TOOLS,
        TOOL_DRACUT,
        TOOL_MKINITCPIO,
        _TOOL_MAX,
} InitramfsTool;

static const char *const tool_rebuild[_TOOL_MAX] = {
        [TOOL_INITRAMFS_TOOLS] = "update-initramfs -u -k all",
        [TOOL_DRACUT] = "dracut -f --regenerate-all",
        [TOOL_MKINITCPIO] = "mkinitcpio -P",
};

/* Adds "PATH lists kvm_intel" to parts when the file names KVM modules; 1 then, else 0. */
static int initramfs_file(const char *path, InitramfsTool tool, char ***parts)
{
        static const char *const dracut_keys[] = { "add_drivers", "force_drivers", "drivers", NULL };
        static const char *const mkinitcpio_keys[] = { "MODULES", NULL };
        _cleanup_free_ char *content = NULL, *part = NULL;
        _cleanup_strv_free_ char **found = NULL;
        int r;

        r = nv_host_read_file(path, &content, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;

        if (tool == TOOL_INITRAMFS_TOOLS)
                r = parse_module_list(content, &found);
        else
                r = parse_shell_assignments(
                        content, tool == TOOL_DRACUT ? dracut_keys : mkinitcpio_keys, &found);
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

static int check_initramfs(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
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

static int check_slow_nested(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
{
        static const char *const intel_params[] = { "ept", "enable_shadow_vmcs", "enable_apicv", NULL };
        static const char *const amd_params[] = { "npt", NULL };
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        _cleanup_strv_free_ char **off = NULL;
        const char *const *params;
        int r;

        /* Without nesting there are no nested guests to be slow. */
        if (!h->module || h->nested == NV_NESTED_DISABLED)
                return 0;
        params = streq(h->module, "kvm_amd") ? amd_params : intel_params;

        for (size_t i = 0; params[i]; i++) {
                _cleanup_free_ char *path = NULL, *v = NULL;

                path = text_new("/sys/module/%s/parameters/%s", h->module, params[i]);
                if (!path)
                        return -ENOMEM;
                r = nv_host_read_line(path, &v);
                if (r == -ENOMEM)
                        return r;
                /* A missing parameter (older kernel, module not loaded) says nothing. */
                if (r < 0 || nv_nested_parse_live(v) != NV_NESTED_DISABLED)
                        continue;
                if (strv_extend(&off, params[i]) < 0)
                        return -ENOMEM;
        }
        if (!off)
                return 0;

        r = text_append(&summary, "%s runs with ", h->module);
        if (r >= 0)
                r = text_append_list(&summary, off);
        if (r >= 0)
                r = text_append(&summary,
                        " off (/sys/module/%s/parameters), which makes nested guests slow.", h->module);
        if (r < 0)
                return r;

        if (h->virt.guest)
                hint = text_new("In a VM these follow what the hypervisor exposes: its administrator should "
                                "give this VM CPU type host (Proxmox VE: `qm set VMID --cpu host`; libvirt: "
                                "`<cpu mode='host-passthrough'/>`) and power-cycle it.");
        else
                hint = text_new(
                        "Unless that is on purpose, remove what turns them off (`options %s %s=0` in "
                        "modprobe.d, or `%s.%s=0` on the kernel command line) and reload %s or "
                        "reboot. If the CPU lacks the feature (see the flags in /proc/cpuinfo), "
                        "only other hardware helps.",
                        h->module, off[0], h->module, off[0], h->module);
        return push(f, "slow-nested", NV_LEVEL_WARNING, &summary, &hint);
}

static size_t count_exposed(const NvVmList *vms)
{
        size_t n = 0;

        for (size_t i = 0; vms && i < vms->n_vms; i++)
                n += vms->vms[i].nesting == NV_VM_NESTING_EXPOSED;
        return n;
}

/* "web1 (proxmox VM 101, pid 4242), pid 4343 (qemu) and 3 more". */
static int append_exposed_vms(char **s, const NvVmList *vms, size_t n_exposed)
{
        size_t shown = n_exposed > NV_VMS_NAMED_MAX ? NV_VMS_NAMED_MAX : n_exposed, k = 0;
        /* With a tail ("and 3 more") every name is followed by a comma. */
        size_t n_items = shown < n_exposed ? shown + 1 : shown;

        for (size_t i = 0; i < vms->n_vms && k < shown; i++) {
                const NvVm *vm = &vms->vms[i];
                int r;

                if (vm->nesting != NV_VM_NESTING_EXPOSED)
                        continue;
                r = text_append(s, "%s", list_sep(k++, n_items));
                if (r >= 0 && vm->name)
                        r = text_append(s, "%s (%s", vm->name, nv_vm_manager_to_string(vm->manager));
                else if (r >= 0)
                        r = text_append(
                                s, "pid %d (%s", (int) vm->pid, nv_vm_manager_to_string(vm->manager));
                if (r >= 0 && vm->vm_id)
                        r = text_append(s, " VM %s", vm->vm_id);
                if (r >= 0 && vm->name)
                        r = text_append(s, ", pid %d", (int) vm->pid);
                if (r >= 0)
                        r = text_append(s, ")");
                if (r < 0)
                        return r;
        }
        if (shown < n_exposed)
                return text_append(s, " and %zu more", n_exposed - shown);
        return 0;
}

static int check_nested_disabled_vms(const NvHost *h, const NvVmList *vms, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        size_t n = count_exposed(vms);
        int r;

        if (!h->module || h->nested != NV_NESTED_DISABLED || n == 0)
                return 0;

        r = text_append(&summary,
                "Nested is disabled in %s, but %zu running VM%s configured to expose %s to %s "
                "guest%s, which will not see it: ",
                h->module, n, n == 1 ? " is" : "s are", vendor_flag(h->cpu.vendor), n == 1 ? "its" : "their",
                n == 1 ? "" : "s");
        if (r >= 0)
                r = append_exposed_vms(&summary, vms, n);
        if (r >= 0)
                r = text_append(&summary, ".");
        if (r < 0)
                return r;

        if (h->module_state == NV_MODULE_BUILTIN)
                hint = text_new(
                        "If they should run VMs of their own, add `%s.nested=1` to the kernel command "
                        "line and reboot; otherwise remove %s from their CPU configuration.",
                        h->module, vendor_flag(h->cpu.vendor));
        else if (h->modules_disabled)
                hint = text_new("If they should run VMs of their own, enable nested for the next boot "
                                "(`nestvirtctl enable --persistent`) and reboot: kernel.modules_disabled=1 "
                                "blocks a reload; otherwise remove %s from their CPU configuration.",
                        vendor_flag(h->cpu.vendor));
        else
                hint = text_new(
                        "If they should run VMs of their own, enable nested (`nestvirtctl enable`; the "
                        "module reloads only while no VM runs, so stop the VMs first or use "
                        "`nestvirtctl enable --persistent` and reboot) and start them again; "
                        "otherwise remove %s from their CPU configuration.",
                        vendor_flag(h->cpu.vendor));
        return push(f, "nested-disabled-vms-want-it", NV_LEVEL_WARNING, &summary, &hint);
}

static int check_vms_expose_nesting(const NvHost *h, const NvVmList *vms, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        size_t n = count_exposed(vms);
        bool amd = h->cpu.vendor == NV_VENDOR_AMD;
        int r;

        /* With nested off they do not get it: nested-disabled-vms-want-it says so. */
        if (n == 0 || h->nested == NV_NESTED_DISABLED)
                return 0;

        r = text_append(&summary, "%zu running VM%s %s %s to %s guest%s and can run VMs of %s own: ", n,
                n == 1 ? "" : "s", n == 1 ? "exposes" : "expose", vendor_flag(h->cpu.vendor),
                n == 1 ? "its" : "their", n == 1 ? "" : "s", n == 1 ? "its" : "their");
        if (r >= 0)
                r = append_exposed_vms(&summary, vms, n);
        if (r >= 0)
                r = text_append(&summary, ".");
        if (r < 0)
                return r;

        if (amd)
                hint = text_new(
                        "On AMD never live-migrate, save or snapshot one of these VMs while it runs a "
                        "guest of its own (L2): its nested state cannot be saved reliably and the VM "
                        "may crash; shut its guests down first. Live migration and snapshots of VMs "
                        "that run VMs are fragile in any case.");
        else
                hint = text_new(
                        "Live migration and snapshots of VMs that run their own VMs are fragile: they "
                        "need Linux 5.3 and QEMU 4.2 or newer and the same nested CPU features on "
                        "both hosts; prefer to do them while the VM runs no guests of its own.");
        return push(f, "vms-expose-nesting", amd ? NV_LEVEL_WARNING : NV_LEVEL_INFO, &summary, &hint);
}

void nv_findings_done(NvFindings *f)
{
        if (!f)
                return;
        for (size_t i = 0; i < f->n; i++) {
                free(f->items[i].summary);
                free(f->items[i].hint);
        }
        free(f->items);
        *f = (NvFindings){};
}

/* The order of the list: what blocks KVM, then the module, its configuration, the files around
 * it, and last the VMs. */
static int (*const checks[])(const NvHost *h, const NvVmList *vms, NvFindings *f) = {
        check_hardware,
        check_modules_disabled,
        check_module_state,
        check_invalid_option,
        check_conflicting_settings,
        check_overridden_by_cmdline,
        check_live_differs,
        check_ignored_files,
        check_initramfs,
        check_slow_nested,
        check_nested_disabled_vms,
        check_vms_expose_nesting,
};

int nv_findings_check(const NvHost *h, const NvVmList *vms, NvFindings *ret)
{
        NvFindings f = {};
        int r = 0;

        if (!h || !ret)
                return -EINVAL;

        for (size_t i = 0; i < ELEMENTSOF(checks) && r >= 0; i++)
                r = checks[i](h, vms, &f);
        if (r < 0) {
                nv_findings_done(&f);
                return r;
        }

        *ret = f;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <stdarg.h>
#include <sys/stat.h>

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

/* Adds a finding; takes summary and hint (NULL means allocation failed) in every case. */
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

static bool release_at_least(const char *release, unsigned want_major, unsigned want_minor)
{
        unsigned major, minor;

        if (!release || sscanf(release, "%u.%u", &major, &minor) != 2)
                return false;
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

/* vm-discovery.c has the same table; the checks only read its structs and link without it. */
static const char *manager_name(NvVmManager m)
{
        switch (m) {
        case NV_VM_MANAGER_QEMU:
                return "qemu";
        case NV_VM_MANAGER_PROXMOX:
                return "proxmox";
        case NV_VM_MANAGER_LIBVIRT:
                return "libvirt";
        case NV_VM_MANAGER_FIRECRACKER:
                return "firecracker";
        case NV_VM_MANAGER_CROSVM:
                return "crosvm";
        case NV_VM_MANAGER_CLOUD_HYPERVISOR:
                return "cloud-hypervisor";
        case NV_VM_MANAGER_OTHER:
        default:
                return "other";
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

static int check_hardware(const NvHost *h, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        const char *flag = vendor_flag(h->cpu.vendor);

        if (!h->module) {
                if (h->cpu.vendor_id)
                        summary = text_new("The CPU vendor \"%s\" has no KVM module that nestvirt knows "
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
        else if (release_at_least(h->kernel_release, 5, 6))
                hint = text_new("Since Linux 5.6 the kernel hides vmx when the firmware has disabled "
                                "VT-x (its log then says \"VMX (outside TXT) disabled by BIOS\"): enable "
                                "Intel Virtualization Technology (VT-x) in the firmware setup and power "
                                "the machine off and on. If the CPU has no VT-x, KVM cannot run here.");
        else
                hint = text_new("The CPU lacks VT-x, or this is a VM whose hypervisor hides vmx: if the "
                                "CPU has VT-x, enable Intel Virtualization Technology in the firmware "
                                "setup and power the machine off and on.");
        return push(f, "no-hardware-support", NV_LEVEL_ERROR, &summary, &hint);
}

static int check_modules_disabled(const NvHost *h, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;

        if (!h->modules_disabled)
                return 0;

        summary = text_new("kernel.modules_disabled is 1: no module can be loaded or unloaded until "
                           "the next boot, so %s cannot be reloaded to change nested.",
                h->module ?: "the KVM module");
        hint = text_new("Changes to nested take effect only after a reboot (`nestvirtctl enable "
                        "--persistent` or `disable --persistent`, then reboot); to change it live, find "
                        "what sets kernel.modules_disabled=1 at boot (sysctl.d, a hardening service) "
                        "and let it run after KVM is set up.");
        return push(f, "modules-disabled", NV_LEVEL_ERROR, &summary, &hint);
}

static int check_module_state(const NvHost *h, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        const char *release = h->kernel_release ?: "the running kernel";
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

static int check_invalid_option(const NvHost *h, NvFindings *f)
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
                r = text_append(&summary, ", a value %s rejects (its nested parameter is %s): %s", m,
                        nv_module_param_type(m) == NV_PARAM_INT ? "an integer" : "a boolean",
                        h->module_state == NV_MODULE_BUILTIN ?
                                "the kernel refuses it at boot and keeps the default." :
                                "the next load of the module will fail.");
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
static int check_conflicting_settings(const NvHost *h, NvFindings *f)
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
                hint = text_new("%s wins, so the next load uses nested %s: files count in the order of "
                                "their names, the kernel keeps the last value, and the kernel command "
                                "line comes after every file. nestvirt never edits other files (it "
                                "writes only %s): remove the settings you do not want.",
                        source_name(c->source), nv_nested_to_string(c->next_load), NV_DROPIN_PATH);
        if (hint && hint[0] == 't')
                hint[0] = 'T';
        return push(f, "conflicting-settings", NV_LEVEL_WARNING, &summary, &hint);
}

static int check_overridden_by_cmdline(const NvHost *h, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        const NvNestedConfig *c = &h->config;
        const NvNestedSetting *decider;
        size_t n;
        int r;

        if (!h->module || !streq_ptr(c->source, NV_SOURCE_KERNEL_CMDLINE) || c->next_load == NV_NESTED_INVALID)
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

static int check_live_differs(const NvHost *h, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;

        if (!h->module || !nested_known(h->nested) || !nested_known(h->config.next_load) ||
                h->nested == h->config.next_load)
                return 0;

        summary = text_new("%s runs with nested %s, but its next load will use %s (from %s).", h->module,
                nv_nested_to_string(h->nested), nv_nested_to_string(h->config.next_load),
                source_name(h->config.source));
        if (h->module_state == NV_MODULE_BUILTIN || h->modules_disabled)
                hint = text_new("%s cannot be reloaded now: reboot to apply the configured value.", h->module);
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

static int check_ignored_files(const NvHost *h, NvFindings *f)
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
                        rename = n > 5 && streq(base + n - 5, ".conf") ? text_new("%s", base) :
                                                                          text_new("%s.conf", base);
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
                r = text_append(&summary, ", which %s KVM: only files whose names end in \".conf\" (and do "
                                          "not start with a dot) are read.",
                        n == 1 ? "mentions" : "mention");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = text_append(&hint, "%s%s to %s", i == 0 ? "If their settings are meant to apply, rename " :
                                                              list_sep(i, n),
                        ignored[i], renames[i]);
        if (r >= 0)
                r = text_append(&hint, "; otherwise delete %s.", n == 1 ? "it" : "them");
        if (r < 0)
                return r;
        return push(f, "ignored-file", NV_LEVEL_WARNING, &summary, &hint);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dropin.h"
#include "findings-checks.h"
#include "findings-text.h"
#include "host-path.h"
#include "util.h"

/* 1 when release is want_major.want_minor or later, 0 when earlier, -1 when unknown. */
static int release_at_least(const char *release, unsigned want_major, unsigned want_minor)
{
        unsigned major, minor;

        if (!release || sscanf(release, "%u.%u", &major, &minor) != 2)
                return -1;
        return major > want_major || (major == want_major && minor >= want_minor);
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

/* "kvm", or "an unknown hypervisor". */
static const char *hypervisor_phrase(const NvHost *h)
{
        if (isempty(h->virt.hypervisor) || streq(h->virt.hypervisor, "unknown"))
                return "an unknown hypervisor";
        return h->virt.hypervisor;
}

int check_hardware(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        const char *flag = nv_vendor_flag_to_string(h->cpu.vendor);

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
                summary = text_new("This machine is a VM on %s whose hypervisor does not expose %s to it: "
                                   "VMs here can run only without KVM, emulated and much slower "
                                   "(Proxmox VE: `qm set VMID --kvm 0`; libvirt: domain type `qemu`).",
                        hypervisor_phrase(h), flag);
                hint = text_new("For VMs with KVM here, the administrator of the hypervisor (L0) must "
                                "expose %s to this VM: CPU type host (Proxmox VE: `qm set VMID --cpu "
                                "host`, or `+nested-virt` in its CPU flags; libvirt: `<cpu "
                                "mode='host-passthrough'/>`) with nesting on there, and then "
                                "power-cycle this VM (stop and start it): a reboot inside the guest is "
                                "not enough.",
                        flag);
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

/* Whether KVM can run here: the module is there, or can be loaded. */
static bool module_usable(const NvHost *h)
{
        switch (h->module_state) {
        case NV_MODULE_LOADED:
        case NV_MODULE_BUILTIN:
                return true;
        case NV_MODULE_NOT_LOADED:
                return !h->modules_disabled;
        default:
                return false;
        }
}

/* A VM that sees the extension: nesting works, one level down. Its own VMs pay for it, and on AMD
 * this VM must not be saved while they run. */
int check_nested_guest(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        const char *flag = nv_vendor_flag_to_string(h->cpu.vendor);
        bool amd = h->cpu.vendor == NV_VENDOR_AMD;

        if (!h->virt.guest || !h->module || !nv_cpu_info_hardware_support(&h->cpu) || !module_usable(h))
                return 0;

        summary = text_new("This machine is a VM (L1) on %s and sees %s, so nesting works here: it can "
                           "run VMs of its own (L2) with KVM, each level slower (10-30 %% per level is "
                           "common).",
                hypervisor_phrase(h), flag);
        if (amd)
                hint = text_new("On AMD the hypervisor must not live-migrate, save or snapshot this VM "
                                "while its own VMs (L2) run: their nested state is not saved reliably and "
                                "they may crash; shut them down first. %s's nested setting here decides "
                                "whether those VMs can run VMs again (L3).",
                        h->module);
        else
                hint = text_new("Live migration and snapshots of this VM while its own VMs (L2) run are "
                                "fragile: they need Linux 5.3 and QEMU 4.2 or newer on the hypervisor; "
                                "prefer to shut those VMs down first. %s's nested setting here decides "
                                "whether they can run VMs again (L3).",
                        h->module);
        return push(f, "nested-guest", amd ? NV_LEVEL_WARNING : NV_LEVEL_INFO, &summary, &hint);
}

int check_modules_disabled(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
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

int check_module_state(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
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

/* A built-in module never sees modprobe.d: settings there mislead whoever reads them. */
int check_builtin_ignores_files(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        const NvNestedConfig *c = &h->config;
        int r = 0;

        if (!h->module || h->module_state != NV_MODULE_BUILTIN || c->n_ignored == 0)
                return 0;

        for (size_t i = 0; r >= 0 && i < c->n_ignored; i++)
                r = text_append(&summary, "%s%s (nested%s%s)", list_sep(i, c->n_ignored),
                        c->ignored[i].source, c->ignored[i].value ? "=" : "", strempty(c->ignored[i].value));
        if (r >= 0)
                r = text_append(&summary,
                        " %s no effect: %s is built into the kernel, so %s decides (nested %s).",
                        c->n_ignored == 1 ? "has" : "have", h->module, source_name(c->source),
                        nv_nested_to_string(c->next_load));
        if (r < 0)
                return r;

        hint = text_new(
                "Set it on the kernel command line instead (`%s.nested=1` or `%s.nested=0`) and reboot, "
                "and remove the setting from modprobe.d so that it does not mislead.",
                h->module, h->module);
        return push(f, "builtin-ignores-files", NV_LEVEL_WARNING, &summary, &hint);
}

int check_invalid_option(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
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
int check_conflicting_settings(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
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

int check_overridden_by_cmdline(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
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

int check_live_differs(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
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

int check_slow_nested(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
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

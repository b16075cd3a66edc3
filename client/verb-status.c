/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* "nestvirtctl status": every property in one GetAll, shown as a readable block, followed by
 * the warnings and errors of Check, one line each. The JSON form is json-output.c's (GetAll
 * alone); this file is only the human one. */

#include <stdio.h>

#include "bus.h"
#include "findings-text.h"
#include "json-output.h"
#include "nested-text.h"
#include "nestvirt-client.h"
#include "pager.h"
#include "status-info.h"
#include "table.h"
#include "text.h"
#include "verbs.h"

/* Shown for a property the daemon did not send, so an older daemon still gets a full block. */
#define NA "n/a"

static gboolean is_empty(const char *s)
{
        return !s || !*s;
}

/* Only "enabled" and "disabled" are values one can compare; the others say "we don't know". */
static gboolean is_known_nested(const char *s)
{
        return g_strcmp0(s, "enabled") == 0 || g_strcmp0(s, "disabled") == 0;
}

static gboolean is_builtin(const NvStatusInfo *i)
{
        return g_strcmp0(i->module_state, "builtin") == 0;
}

static const char *cpu_flag(const char *module)
{
        if (g_strcmp0(module, "kvm_intel") == 0)
                return "vmx";
        if (g_strcmp0(module, "kvm_amd") == 0)
                return "svm";
        return NULL;
}

/* Whether the module is there or can be loaded (starting a VM loads it). */
static gboolean module_usable(const NvStatusInfo *i)
{
        if (g_strcmp0(i->module_state, "loaded") == 0 || is_builtin(i))
                return TRUE;
        return g_strcmp0(i->module_state, "not-loaded") == 0 &&
                !(i->modules_disabled.set && i->modules_disabled.value);
}

/* On a VM the question is what the hypervisor gives it, so that comes first, in one line. */
static void print_guest_line(const NvStatusInfo *i)
{
        gboolean sees = i->hardware_support.set && i->hardware_support.value;
        const char *flag = cpu_flag(i->module);
        const char *sees_word = !i->hardware_support.set ? NA : sees ? "yes" : "no";
        g_autofree char *hypervisor = NULL;

        if (g_strcmp0(i->role, "guest") != 0)
                return;
        if (is_empty(i->hypervisor) || g_str_equal(i->hypervisor, "unknown"))
                hypervisor = g_strdup("an unknown hypervisor");
        else
                hypervisor = nv_text_printable(i->hypervisor);
        printf("This is a VM on %s; it sees %s: %s; its VMs can use KVM: %s\n", hypervisor,
                flag ? flag : "vmx/svm", sees_word, sees && module_usable(i) ? "yes" : "no");
}

static void add_vendor(NvTable *t, const NvStatusInfo *i)
{
        const char *name = i->vendor;

        if (g_strcmp0(name, "intel") == 0)
                name = "Intel";
        else if (g_strcmp0(name, "amd") == 0)
                name = "AMD";

        if (is_empty(i->vendor_id))
                nv_table_add(t, "Vendor", NULL, "%s", name ? name : NA);
        else
                nv_table_add(t, "Vendor", NULL, "%s (%s)", name ? name : NA, i->vendor_id);
}

static char *module_state_text(const NvStatusInfo *i)
{
        const char *s = i->module_state;

        if (!s)
                return g_strdup(NA);
        if (g_str_equal(s, "loaded")) {
                if (!i->module_ref_count.set)
                        return g_strdup("loaded");
                return g_strdup_printf("loaded, %" G_GUINT32_FORMAT " reference%s",
                        i->module_ref_count.value, i->module_ref_count.value == 1 ? "" : "s");
        }
        if (g_str_equal(s, "builtin"))
                return g_strdup("built into the kernel");
        if (g_str_equal(s, "not-loaded"))
                return g_strdup("not loaded");
        if (g_str_equal(s, "unavailable"))
                return g_strdup("not installed for this kernel");
        return g_strdup(s);
}

static void add_module(NvTable *t, const NvStatusInfo *i)
{
        g_autofree char *state = NULL;

        if (!i->module) {
                nv_table_add(t, "Module", NULL, NA);
                return;
        }
        if (!*i->module) {
                nv_table_add(t, "Module", NULL, "none (CPU vendor not supported by KVM)");
                return;
        }

        state = module_state_text(i);
        nv_table_add(t, "Module", NULL, "%s (%s)", i->module, state);
}

static void add_hardware(NvTable *t, const NvStatusInfo *i)
{
        const char *flag = cpu_flag(i->module);

        if (!i->hardware_support.set)
                nv_table_add(t, "Hardware", NULL, NA);
        else
                nv_table_add(t, "Hardware", NULL, "%s %s", flag ? flag : "virtualization extension",
                        i->hardware_support.value ? "present" : "missing");
}

static void add_role(NvTable *t, const NvStatusInfo *i)
{
        if (g_strcmp0(i->role, "guest") == 0 && !is_empty(i->hypervisor))
                nv_table_add(t, "Role", NULL, "guest (%s)", i->hypervisor);
        else
                nv_table_add(t, "Role", NULL, "%s", i->role ? i->role : NA);
}

static void add_nested(NvTable *t, const NvStatusInfo *i)
{
        /* "unknown" alone leaves the reader guessing; the module state usually explains it. */
        if (g_strcmp0(i->nested, "unknown") == 0 && g_strcmp0(i->module_state, "not-loaded") == 0)
                nv_table_add(t, "Nested", NULL, "unknown (module not loaded)");
        else if (g_strcmp0(i->nested, "unknown") == 0 && g_strcmp0(i->module_state, "unavailable") == 0)
                nv_table_add(t, "Nested", NULL, "unknown (no module)");
        else
                nv_table_add(t, "Nested", NULL, "%s", i->nested ? i->nested : NA);
}

static void add_next_load(NvTable *t, const NvStatusInfo *i)
{
        /* For a built-in module only a reboot applies a new value, so say so in the label. */
        const char *label = is_builtin(i) ? "Next boot" : "Next load";
        const char *value = i->nested_next_load ? i->nested_next_load : NA;
        const char *color = g_strcmp0(value, "invalid") == 0 ? NV_ANSI_RED : NULL;
        const char *source = i->nested_next_load_source;

        if (is_empty(source))
                nv_table_add(t, label, color, "%s", value);
        else if (g_str_equal(source, NV_SOURCE_KERNEL_DEFAULT))
                nv_table_add(t, label, color, "%s (kernel default)", value);
        else
                nv_table_add(t, label, color, "%s (from %s)", value, nv_source_phrase(source));

        for (char **s = i->nested_overridden; s && *s; s++)
                nv_table_add(t, NULL, NULL, "overrides %s", nv_source_phrase(*s));
}

static gboolean settings_worth_showing(const NvStatusInfo *i)
{
        if (!i->nested_settings || i->nested_settings->len == 0)
                return FALSE;
        /* One agreeing setting is already told by the "from" of the Next load line. */
        if (i->nested_settings->len > 1 || (i->nested_conflict.set && i->nested_conflict.value))
                return TRUE;
        return g_strcmp0(((NvNestedSetting *) i->nested_settings->pdata[0])->effect, "invalid") == 0;
}

static void add_settings(NvTable *t, const NvStatusInfo *i)
{
        if (!settings_worth_showing(i))
                return;

        for (guint n = 0; n < i->nested_settings->len; n++) {
                const NvNestedSetting *s = i->nested_settings->pdata[n];
                gboolean cmdline = g_str_equal(s->source, NV_SOURCE_KERNEL_CMDLINE);

                nv_table_add(t, n == 0 ? "Settings" : NULL,
                        g_str_equal(s->effect, "invalid") ? NV_ANSI_RED : NULL, "nested=%s (%s) %s %s",
                        s->value, s->effect, cmdline ? "on" : "in", nv_source_phrase(s->source));
        }
}

static const NvNestedSetting *first_invalid_setting(const NvStatusInfo *i)
{
        for (guint n = 0; i->nested_settings && n < i->nested_settings->len; n++) {
                const NvNestedSetting *s = i->nested_settings->pdata[n];

                if (g_str_equal(s->effect, "invalid"))
                        return s;
        }
        return NULL;
}

static void add_invalid_warning(NvTable *t, const NvStatusInfo *i)
{
        const NvNestedSetting *bad = first_invalid_setting(i);
        const char *module = is_empty(i->module) ? "the module" : i->module;
        g_autofree char *what = NULL;

        if (bad)
                what = g_strdup_printf("%s sets nested=%s", nv_source_phrase(bad->source), bad->value);
        else
                what = g_strdup("A setting of nested is invalid");

        if (is_builtin(i))
                nv_table_add(t, "Warning", NV_ANSI_RED, "%s, which the kernel will reject at the next boot.",
                        what);
        else
                nv_table_add(t, "Warning", NV_ANSI_RED, "%s, which %s rejects: its next load will fail.",
                        what, module);
}

static void add_hardware_warning(NvTable *t, const NvStatusInfo *i)
{
        const char *flag = cpu_flag(i->module);

        if (!flag)
                nv_table_add(t, "Warning", NV_ANSI_YELLOW,
                        "KVM has no module for this CPU, so it cannot run VMs here.");
        else if (g_strcmp0(i->role, "guest") == 0)
                nv_table_add(t, "Warning", NV_ANSI_YELLOW,
                        "The hypervisor does not expose %s to this system, so VMs here can run only "
                        "without KVM.",
                        flag);
        else if (g_str_equal(flag, "vmx"))
                /* Since Linux 5.6 the kernel hides vmx when the firmware turned VT-x off. */
                nv_table_add(t, "Warning", NV_ANSI_YELLOW,
                        "The CPU does not show vmx (absent, or VT-x disabled in the firmware), "
                        "so KVM cannot run VMs here.");
        else
                nv_table_add(t, "Warning", NV_ANSI_YELLOW,
                        "The CPU does not show %s, so KVM cannot run VMs here.", flag);
}

/* The warnings this client derives from the properties alone, for a daemon without Check. */
static void add_property_warnings(NvTable *t, const NvStatusInfo *i)
{
        if (g_strcmp0(i->nested_next_load, "invalid") == 0)
                add_invalid_warning(t, i);

        if (i->modules_disabled.set && i->modules_disabled.value)
                nv_table_add(t, "Warning", NV_ANSI_YELLOW,
                        "kernel.modules_disabled is set: "
                        "no module can be loaded or unloaded until the next boot.");

        if (is_known_nested(i->nested) && is_known_nested(i->nested_next_load) &&
                !g_str_equal(i->nested, i->nested_next_load))
                nv_table_add(t, "Warning", NV_ANSI_YELLOW, "Nested is %s now but will be %s after %s.",
                        i->nested, i->nested_next_load,
                        is_builtin(i) ? "the next boot" : "the next load of the module");

        if (i->hardware_support.set && !i->hardware_support.value)
                add_hardware_warning(t, i);
}

/* One line per warning or error of Check; info findings are for "nestvirtctl check". */
static void add_findings(NvTable *t, const NvFindingList *findings)
{
        gboolean any = FALSE;

        for (guint i = 0; i < findings->items->len; i++) {
                const NvFindingEntry *f = &g_array_index(findings->items, NvFindingEntry, i);
                NvLevelStyle style = nv_level_style(f->level);

                if (style.rank < 1)
                        continue;
                nv_table_add(t, style.label, style.color, "%s", f->summary);
                any = TRUE;
        }
        if (any)
                nv_table_add(t, "Hint", NULL, "'nestvirtctl check' says what to do.");
}

static void add_vm_count(NvTable *t, const NvStatusInfo *i)
{
        if (!i->vm_count.set)
                return; /* an older daemon */
        if (i->vm_count.value == 0)
                nv_table_add(t, "VMs", NULL, "none holding KVM");
        else
                nv_table_add(t, "VMs", NULL, "%" G_GUINT32_FORMAT " holding KVM", i->vm_count.value);
}

NvExitCode nv_verb_status(NvCtl *ctl, int argc, char **argv)
{
        g_auto(NvFindingList) findings = {};
        g_autoptr(GVariant) props = NULL;
        g_autoptr(NvStatusInfo) info = NULL;
        g_autoptr(NvTable) table = NULL;
        g_autoptr(GError) error = NULL;
        gboolean checked = FALSE;

        if (ctl->json == NV_JSON_OFF) {
                /* Check first: it renews the daemon's snapshot, VMCount included, so the GetAll
                 * after it is as fresh as the findings. A daemon without Check (or one that
                 * fails it) still gets a status, with the warnings this client derives itself. */
                checked = nv_client_check(ctl, &findings, &error);
                if (!checked && nv_bus_error_is_reported(error))
                        return NV_EXIT_FAILURE;
                if (!checked)
                        g_debug("Check failed, showing the warnings of the properties: %s", error->message);
                g_clear_error(&error);
        }

        if (!nv_client_get_all(ctl, &props, &error))
                return nv_bus_report_error(error, "query nestvirtd");

        if (ctl->json != NV_JSON_OFF)
                return nv_json_print_properties(props, ctl->json);

        info = nv_status_info_new(props);
        table = nv_table_new(ctl->color);

        /* Version is left out: it describes the daemon, not the host (it is in --json). */
        add_vendor(table, info);
        add_module(table, info);
        add_hardware(table, info);
        add_role(table, info);
        add_nested(table, info);
        add_next_load(table, info);
        add_settings(table, info);
        add_vm_count(table, info);
        nv_table_add(table, "Kernel release", NULL, "%s", info->kernel_release ? info->kernel_release : NA);
        if (checked)
                add_findings(table, &findings);
        else
                add_property_warnings(table, info);

        nv_pager_open(ctl);
        print_guest_line(info);
        nv_table_print(table, stdout);
        return NV_EXIT_SUCCESS;
}

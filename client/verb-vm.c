/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* "nestvirtctl vm show|expose|hide VM": one VM object, found by what a person calls it (its name,
 * its id or MANAGER:ID), shown with every property, or changed with SetExposure. */

#include <stdio.h>

#include "nestvirt-bus.h"

#include "bus.h"
#include "json-output.h"
#include "nestvirt-client.h"
#include "pager.h"
#include "table.h"
#include "text.h"
#include "verbs.h"
#include "vm-text.h"

#define NA "n/a"

/* The managers of the VMs searched, for the message that nothing matched: "proxmox, qemu". */
static char *managers_text(const NvVmObjectList *l)
{
        g_autoptr(GPtrArray) seen = g_ptr_array_new();

        for (guint i = 0; i < l->vms->len; i++) {
                const NvVmObject *vm = l->vms->pdata[i];

                /* The list is sorted by manager, so a new one differs from the last. */
                if (vm->manager && (seen->len == 0 || !g_str_equal(seen->pdata[seen->len - 1], vm->manager)))
                        g_ptr_array_add(seen, vm->manager);
        }
        g_ptr_array_add(seen, NULL);
        return g_strjoinv(", ", (char **) seen->pdata);
}

static NvExitCode report_no_match(const NvVmObjectList *l, const char *spec)
{
        g_autofree char *what = nv_text_printable(spec);
        g_autofree char *managers = NULL;

        if (l->vms->len == 0) {
                g_printerr("No VM matches '%s': nestvirtd knows no VMs on this host.\n", what);
                return NV_EXIT_NO_SUCH_VM;
        }
        managers = managers_text(l);
        g_printerr("No VM matches '%s' as MANAGER:ID, id or name among the %u VMs nestvirtd knows "
                   "(managers: %s).\n",
                what, l->vms->len, managers);
        g_printerr("Hint: 'nestvirtctl vms' lists them.\n");
        return NV_EXIT_NO_SUCH_VM;
}

static NvExitCode report_ambiguous(const GPtrArray *found, const char *spec, const char *action)
{
        g_autofree char *what = nv_text_printable(spec);
        g_autofree char *first = NULL;

        g_printerr("'%s' matches %u VMs:\n", what, found->len);
        for (guint i = 0; i < found->len; i++) {
                g_autofree char *name = nv_vm_display_name(found->pdata[i]);

                g_printerr("  %s\n", name);
        }
        first = nv_vm_object_key(found->pdata[0]);
        g_printerr("Hint: name one as MANAGER:ID, for example 'nestvirtctl vm %s %s'.\n", action, first);
        return NV_EXIT_VM_AMBIGUOUS;
}

/* Looks the VM up among all VM objects; on failure says why and returns the exit code. */
static NvExitCode find_vm(
        NvCtl *ctl, const char *spec, const char *action, NvVmObjectList *list, const NvVmObject **ret)
{
        g_autoptr(GPtrArray) found = NULL;
        g_autoptr(GError) error = NULL;

        if (!nv_client_get_vm_objects(ctl, list, &error))
                return nv_bus_report_error(error, "list the VMs");

        found = nv_vm_object_list_match(list, spec);
        if (found->len == 0)
                return report_no_match(list, spec);
        if (found->len > 1)
                return report_ambiguous(found, spec, action);
        *ret = found->pdata[0];
        return NV_EXIT_SUCCESS;
}

static const char *next_by_phrase(const char *by)
{
        static const struct {
                const char *by;
                const char *phrase;
        } phrases[] = {
                { "host-model", "the host CPU model" },
                { "flag", "a CPU flag" },
                { "custom-model", "a custom CPU model" },
                { "raw-args", "a -cpu in the extra QEMU arguments" },
                { "none", "the CPU model, which hides it" },
                { "command-line", "the command line" },
                { "not-x86", "the guest architecture: not x86" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(phrases); i++)
                if (g_strcmp0(by, phrases[i].by) == 0)
                        return phrases[i].phrase;
        return by;
}

static void add_running(NvTable *t, const NvVmObject *vm)
{
        if (!vm->running.set)
                nv_table_add(t, "Running", NULL, NA);
        else if (vm->running.value && vm->pid.set && vm->pid.value > 0)
                nv_table_add(t, "Running", NULL, "yes (pid %" G_GUINT32_FORMAT ")", vm->pid.value);
        else
                nv_table_add(t, "Running", NULL, "%s", nv_vm_yes_no(vm->running));
}

static void add_now(NvTable *t, const NvVmObject *vm)
{
        if (vm->running.set && !vm->running.value)
                nv_table_add(t, "Exposed now", NULL, "- (not running)");
        else if (vm->cpu_now && *vm->cpu_now)
                nv_table_add(t, "Exposed now", NULL, "%s (-cpu %s)", vm->exposed_now ? vm->exposed_now : NA,
                        vm->cpu_now);
        else
                nv_table_add(t, "Exposed now", NULL, "%s", vm->exposed_now ? vm->exposed_now : NA);
}

static void add_next(NvTable *t, const NvVmObject *vm)
{
        const char *next = vm->next_start ? vm->next_start : NA;

        if (vm->next_start_by && *vm->next_start_by)
                nv_table_add(t, "Next start", NULL, "%s, by %s", next, next_by_phrase(vm->next_start_by));
        else
                nv_table_add(t, "Next start", NULL, "%s", next);

        /* A manager's empty cpu is its default model; a process without one has no setting. */
        if (vm->cpu && *vm->cpu)
                nv_table_add(t, "CPU", NULL, "%s", vm->cpu);
        else if (g_strcmp0(vm->manager, "proxmox") == 0 || g_strcmp0(vm->manager, "libvirt") == 0)
                nv_table_add(t, "CPU", NULL, "the manager's default");
}

static void add_flags(NvTable *t, const NvVmObject *vm)
{
        if (vm->uses_kvm.set && !vm->uses_kvm.value)
                nv_table_add(t, "KVM", NULL, "no: the CPU is emulated, host nesting does not matter");
        else
                nv_table_add(t, "KVM", NULL, "%s", nv_vm_yes_no(vm->uses_kvm));

        if (vm->requires.set && vm->requires.value)
                nv_table_add(t, "Requires", NV_ANSI_YELLOW,
                        "yes: the next start fails while host nesting is off");
        else
                nv_table_add(t, "Requires", NULL, "%s", nv_vm_yes_no(vm->requires));

        if (vm->pending.set && vm->pending.value)
                nv_table_add(t, "Pending", NV_ANSI_YELLOW, "yes: needs a cold restart (%s)",
                        nv_vm_restart_phrase(vm));
        else
                nv_table_add(t, "Pending", NULL, "%s", nv_vm_yes_no(vm->pending));

        nv_table_add(t, "Lock", vm->lock && *vm->lock ? NV_ANSI_YELLOW : NULL, "%s",
                vm->lock && *vm->lock ? vm->lock : "none");

        if (nv_vm_start_blocked(vm)) {
                g_autofree char *why = nv_text_printable(vm->start_blocked);

                nv_table_add(t, "Start", NV_ANSI_RED, "blocked: %s", why);
        } else
                nv_table_add(t, "Start", NULL, "%s", vm->start_blocked ? "ok" : NA);
}

static NvExitCode show(NvCtl *ctl, const NvVmObject *vm)
{
        g_autoptr(NvTable) t = NULL;

        if (ctl->json != NV_JSON_OFF)
                return nv_json_print_vm_object(vm, ctl->json);

        t = nv_table_new(ctl->color);
        nv_table_add(t, "Name", NULL, "%s", vm->name && *vm->name ? vm->name : "-");
        nv_table_add(t, "Manager", NULL, "%s", vm->manager ? vm->manager : NA);
        nv_table_add(t, "Id", NULL, "%s", vm->id ? vm->id : NA);
        nv_table_add(t, "Object", NULL, "%s", vm->path);
        add_running(t, vm);
        add_now(t, vm);
        add_next(t, vm);
        add_flags(t, vm);
        for (char **n = vm->notes; n && *n; n++)
                nv_table_add(t, n == vm->notes ? "Notes" : NULL, NULL, "%s", *n);

        nv_pager_open(ctl);
        nv_table_print(t, stdout);
        return NV_EXIT_SUCCESS;
}

static void print_exposure(NvCtl *ctl, const NvVmObject *vm, gboolean expose, const NvSetExposureReply *r)
{
        const char *want = expose ? "exposed" : "hidden";
        g_autofree char *name = nv_vm_display_name(vm);
        g_autofree char *next = nv_text_printable(r->next_start);

        if (g_str_equal(r->next_start, want))
                printf("%s: vmx/svm %s from its next start on.\n", name, want);
        else
                printf("%s: its next start has vmx/svm %s.\n", name, next);
        if (r->restart_needed)
                printf("It runs with another setting now and needs a cold restart: %s.\n",
                        nv_vm_restart_phrase(vm));
        for (const char **n = r->notes; n && *n; n++) {
                g_autofree char *note = nv_text_printable(*n);

                nv_text_print_wrapped(stdout, "Note: ", 6, 6, note, ctl->columns);
        }

        if (!g_str_equal(r->next_start, want)) {
                fflush(stdout);
                g_printerr("Warning: %s was asked, but the next start of %s has it %s; 'nestvirtctl vm show "
                           "%s' shows what decides.\n",
                        expose ? "exposing" : "hiding", name, next, name);
        }
}

static NvExitCode set_exposure(NvCtl *ctl, const NvVmObject *vm, gboolean expose)
{
        g_auto(NvSetNestedReply) host = {};
        g_auto(NvSetExposureReply) reply = {};
        g_autoptr(GError) error = NULL;
        guint64 flags = ctl->host_model ? NV_EXPOSE_HOST_MODEL : 0;
        g_autofree char *name = nv_vm_display_name(vm);
        g_autofree char *action = NULL;
        NvExitCode r;

        /* Host nesting first, as enable does it: a VM that requires the extension would not start
         * before it is on. */
        if (ctl->enable_host) {
                r = nv_set_nested_and_report(ctl, TRUE, NV_SCOPE_BOTH, 0, FALSE, &host);
                if (r != NV_EXIT_SUCCESS)
                        return r;
        }

        if (!nv_client_set_exposure(ctl, vm->path, expose, flags, &reply, &error)) {
                action = g_strdup_printf(
                        "%s vmx/svm %s %s", expose ? "expose" : "hide", expose ? "to" : "from", name);
                return nv_bus_report_vm_change_error(error, action);
        }

        if (ctl->json != NV_JSON_OFF)
                return nv_json_print_set_exposure(&reply, ctl->enable_host ? &host : NULL, ctl->json);
        print_exposure(ctl, vm, expose, &reply);
        return NV_EXIT_SUCCESS;
}

NvExitCode nv_verb_vm(NvCtl *ctl, int argc, char **argv)
{
        const char *action = argv[1], *spec = argv[2];
        g_auto(NvVmObjectList) list = {};
        const NvVmObject *vm = NULL;
        gboolean change;
        NvExitCode r;

        change = g_str_equal(action, "expose") || g_str_equal(action, "hide");
        if (!change && !g_str_equal(action, "show")) {
                g_printerr("Unknown vm command '%s': use show, expose or hide. " NV_SEE_HELP "\n", action);
                return NV_EXIT_USAGE;
        }
        if ((ctl->host_model || ctl->enable_host) && !g_str_equal(action, "expose")) {
                g_printerr("--host-model and --enable-host apply only to vm expose. " NV_SEE_HELP "\n");
                return NV_EXIT_USAGE;
        }

        r = find_vm(ctl, spec, action, &list, &vm);
        if (r != NV_EXIT_SUCCESS)
                return r;
        if (!change)
                return show(ctl, vm);
        return set_exposure(ctl, vm, g_str_equal(action, "expose"));
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* "nestvirtctl vms": the VM objects of GetManagedObjects as a table, one row per VM, running or
 * not, sorted by manager and id. ListVMs is asked too, for one thing the objects cannot tell: how
 * many processes nestvirtd could not inspect (they may be VMs it does not list). */

#include <stdio.h>

#include "bus.h"
#include "columns.h"
#include "json-output.h"
#include "nestvirt-client.h"
#include "pager.h"
#include "text.h"
#include "verbs.h"
#include "vm-text.h"

static void print_uninspected(guint32 n)
{
        if (n == 0)
                return;
        /* The scan is nestvirtd's: running nestvirtctl as root changes nothing. Under its unit
         * nestvirtd reads every process's fd links; a sandbox that denies it shows up here. */
        printf("%" G_GUINT32_FORMAT " process%s could not be inspected (nestvirtd may not read %s open "
               "files); %s may hold KVM too.\n",
                n, n == 1 ? "" : "es", n == 1 ? "its" : "their", n == 1 ? "it" : "they");
}

static gboolean any_set(const NvVmObjectList *l, gsize offset)
{
        for (guint i = 0; i < l->vms->len; i++) {
                const NvOptBool *b = (const NvOptBool *) ((const char *) l->vms->pdata[i] + offset);

                if (b->set && b->value)
                        return TRUE;
        }
        return FALSE;
}

/* The uninspected count of ListVMs, or NULL when it failed (an older or newer daemon): the list
 * of VMs does not depend on it. Called first, so that the scan it makes has refreshed the
 * objects before they are listed. */
static const guint32 *query_uninspected(NvCtl *ctl, guint32 *storage)
{
        g_auto(NvVmList) processes = {};
        g_autoptr(GError) error = NULL;

        if (!nv_client_list_vms(ctl, &processes, &error)) {
                g_debug("ListVMs failed, no count of uninspected processes: %s", error->message);
                return NULL;
        }
        *storage = processes.uninspected;
        return storage;
}

static void add_row(NvColumns *table, const NvVmObject *vm)
{
        gboolean running = vm->running.set && vm->running.value;
        g_autofree char *name = nv_text_printable(vm->name), *manager = nv_text_printable(vm->manager),
                        *id = nv_text_printable(vm->id), *now = nv_text_printable(vm->exposed_now),
                        *next = nv_vm_next_cell(vm);

        /* What the guest sees now means nothing while it does not run. */
        nv_columns_add(table,
                (const char *const[]){ name, manager, id, nv_vm_yes_no(vm->running), running ? now : NULL,
                        next, nv_vm_yes_no(vm->pending), nv_vm_yes_no(vm->requires), nv_vm_start_cell(vm) });
}

NvExitCode nv_verb_vms(NvCtl *ctl, int argc, char **argv)
{
        static const char *const headers[] = { "NAME", "MANAGER", "ID", "RUNNING", "NOW", "NEXT", "PENDING",
                "REQUIRES", "START", NULL };
        g_auto(NvVmObjectList) list = {};
        g_autoptr(NvColumns) table = NULL;
        g_autoptr(GError) error = NULL;
        guint32 storage = 0;
        const guint32 *uninspected;
        gboolean pending, requires, blocked = FALSE;

        uninspected = query_uninspected(ctl, &storage);
        if (!nv_client_get_vm_objects(ctl, &list, &error))
                return nv_bus_report_error(error, "list the VMs");

        if (ctl->json != NV_JSON_OFF)
                return nv_json_print_vm_objects(&list, uninspected, ctl->json);

        if (list.vms->len == 0) {
                printf("No VMs.\n");
                print_uninspected(uninspected ? *uninspected : 0);
                return NV_EXIT_SUCCESS;
        }

        table = nv_columns_new(headers, ctl->color);
        for (guint i = 0; i < list.vms->len; i++)
                add_row(table, list.vms->pdata[i]);

        nv_pager_open(ctl);
        nv_columns_print(table, stdout);

        /* A legend only for the columns that say yes somewhere. */
        pending = any_set(&list, G_STRUCT_OFFSET(NvVmObject, pending));
        requires = any_set(&list, G_STRUCT_OFFSET(NvVmObject, requires));
        for (guint i = 0; i < list.vms->len && !blocked; i++)
                blocked = nv_vm_start_blocked(list.vms->pdata[i]);
        if (pending || requires || blocked || (uninspected && *uninspected > 0))
                putchar('\n');
        if (pending)
                printf("PENDING: the next start differs from now; only a cold restart applies it, not a "
                       "reboot inside the guest.\n");
        if (requires)
                printf("REQUIRES: the next start fails while host nesting is off.\n");
        if (blocked)
                printf("START: blocked means the next start fails on this host; 'nestvirtctl vm show VM' "
                       "says why.\n");
        print_uninspected(uninspected ? *uninspected : 0);
        return NV_EXIT_SUCCESS;
}

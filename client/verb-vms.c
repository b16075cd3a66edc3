/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* "nestvirtctl vms": ListVMs as a table, one row per process that holds KVM. */

#include <pwd.h>
#include <stdio.h>

#include "bus.h"
#include "columns.h"
#include "json-output.h"
#include "nestvirt-client.h"
#include "pager.h"
#include "text.h"
#include "verbs.h"

/* The uid as a user name when this machine knows it. With -H the uid is the other host's, which
 * the local user database cannot name, so it stays a number. */
static char *user_text(const NvCtl *ctl, guint32 uid)
{
        struct passwd *pw = ctl->host ? NULL : getpwuid((uid_t) uid);

        if (pw && pw->pw_name)
                return nv_text_printable(pw->pw_name);
        return g_strdup_printf("%" G_GUINT32_FORMAT, uid);
}

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

NvExitCode nv_verb_vms(NvCtl *ctl, int argc, char **argv)
{
        static const char *const headers[] = { "PID", "USER", "COMMAND", "NAME", "MANAGER", "VMID",
                "NESTING", NULL };
        g_auto(NvVmList) list = {};
        g_autoptr(NvColumns) table = NULL;
        g_autoptr(GError) error = NULL;

        if (!nv_client_list_vms(ctl, &list, &error))
                return nv_bus_report_error(error, "list the VMs");

        if (ctl->json != NV_JSON_OFF)
                return nv_json_print_vms(&list, ctl->json);

        if (list.vms->len == 0) {
                printf(list.uninspected == 0 ? "No VMs hold KVM.\n"
                                             : "No VMs hold KVM among the processes inspected.\n");
                print_uninspected(list.uninspected);
                return NV_EXIT_SUCCESS;
        }

        table = nv_columns_new(headers, ctl->color);
        for (guint i = 0; i < list.vms->len; i++) {
                const NvVmEntry *vm = &g_array_index(list.vms, NvVmEntry, i);
                g_autofree char *pid_s = g_strdup_printf("%" G_GUINT32_FORMAT, vm->pid);
                g_autofree char *user_s = user_text(ctl, vm->uid);
                g_autofree char *comm_s = nv_text_printable(vm->command),
                                *name_s = nv_text_printable(vm->name),
                                *manager_s = nv_text_printable(vm->manager),
                                *vm_id_s = nv_text_printable(vm->vm_id),
                                *nesting_s = nv_text_printable(vm->nesting);

                nv_columns_add(table,
                        (const char *const[]){
                                pid_s, user_s, comm_s, name_s, manager_s, vm_id_s, nesting_s });
        }

        nv_pager_open(ctl);
        nv_columns_print(table, stdout);
        if (list.uninspected > 0) {
                putchar('\n');
                print_uninspected(list.uninspected);
        }
        return NV_EXIT_SUCCESS;
}

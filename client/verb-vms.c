/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* "nestvirtctl vms": ListVMs as a table, one row per process that holds KVM. */

#include <pwd.h>
#include <stdio.h>

#include "bus.h"
#include "columns.h"
#include "json-output.h"
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
        g_autoptr(GVariant) reply = NULL, vms = NULL;
        g_autoptr(NvColumns) table = NULL;
        const char *comm, *name, *manager, *vm_id, *nesting, *cpu;
        guint32 pid, uid, uninspected;
        GVariantIter iter;
        NvExitCode r;

        r = nv_bus_query(ctl, "ListVMs", G_VARIANT_TYPE("(a(uussssss)u)"), "list the VMs", &reply);
        if (r != NV_EXIT_SUCCESS)
                return r;

        if (ctl->json != NV_JSON_OFF)
                return nv_json_print_vms(reply, ctl->json);

        g_variant_get(reply, "(@a(uussssss)u)", &vms, &uninspected);
        if (g_variant_n_children(vms) == 0) {
                printf(uninspected == 0 ? "No VMs hold KVM.\n"
                                        : "No VMs hold KVM among the processes inspected.\n");
                print_uninspected(uninspected);
                return NV_EXIT_SUCCESS;
        }

        table = nv_columns_new(headers, ctl->color);
        g_variant_iter_init(&iter, vms);
        while (g_variant_iter_next(
                &iter, "(uu&s&s&s&s&s&s)", &pid, &uid, &comm, &name, &manager, &vm_id, &nesting, &cpu)) {
                g_autofree char *pid_s = g_strdup_printf("%" G_GUINT32_FORMAT, pid);
                g_autofree char *user_s = user_text(ctl, uid);
                g_autofree char *comm_s = nv_text_printable(comm), *name_s = nv_text_printable(name),
                                *manager_s = nv_text_printable(manager), *vm_id_s = nv_text_printable(vm_id),
                                *nesting_s = nv_text_printable(nesting);

                nv_columns_add(table,
                        (const char *const[]){
                                pid_s, user_s, comm_s, name_s, manager_s, vm_id_s, nesting_s });
        }

        nv_pager_open(ctl);
        nv_columns_print(table, stdout);
        if (uninspected > 0) {
                putchar('\n');
                print_uninspected(uninspected);
        }
        return NV_EXIT_SUCCESS;
}

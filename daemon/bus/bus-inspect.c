/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bus-inspect.h"
#include "daemon.h"
#include "findings.h"
#include "vm-discovery.h"
#if HAVE_LIBVIRT
#include "libvirt-vms.h"
#include "libvirt-watch.h"
#endif

int method_list_vms(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Daemon *d = userdata;
        NvVmList l = {};
        int r;

        /* The VM count is part of the snapshot: the scan made for this caller goes through the
         * snapshot's owner, which announces a new count before the reply. */
        r = daemon_refresh_with_vms(d, &l);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Could not look at the host: %m");
        /* An empty list would say that no VM runs. */
        if (d->host->vm_scan_error < 0)
                return sd_bus_error_set_errnof(
                        error, d->host->vm_scan_error, "Could not list the processes in /proc: %m");

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(uussssss)");
        for (size_t i = 0; r >= 0 && i < l.n_vms; i++) {
                const NvVm *vm = &l.vms[i];
                r = sd_bus_message_append(reply, "(uussssss)", (uint32_t) vm->pid, (uint32_t) vm->uid,
                        strempty(vm->comm), strempty(vm->name), nv_vm_manager_to_string(vm->manager),
                        strempty(vm->vm_id), nv_vm_nesting_to_string(vm->nesting), strempty(vm->cpu));
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "u", (uint32_t) l.n_uninspected);
        nv_vm_list_done(&l);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int method_check(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Daemon *d = userdata;
        NvFindings f = {};
        NvVmList l = {};
        int r;

        /* A fresh snapshot, and the VMs its scan found. */
        r = daemon_refresh_with_vms(d, &l);
        if (r < 0)
                return r;
        r = nv_findings_check(d->host, &l, &f);
        nv_vm_list_done(&l);
#if HAVE_LIBVIRT
        virConnectPtr conn = d->libvirt_watch ? libvirt_watch_connection(d->libvirt_watch) : NULL;
        if (r >= 0 && conn)
                r = nv_findings_add_libvirt_caps(
                        d->host, nv_libvirt_host_model_offers(conn, d->host->cpu.vendor), &f);
#endif
        if (r < 0) {
                nv_findings_done(&f);
                return r;
        }

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssss)");
        for (size_t i = 0; r >= 0 && i < f.n; i++)
                r = sd_bus_message_append(reply, "(ssss)", f.items[i].id,
                        nv_level_to_string(f.items[i].level), f.items[i].summary, f.items[i].hint);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        nv_findings_done(&f);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "vm-text.h"
#include "text.h"

const char *nv_vm_yes_no(NvOptBool b)
{
        if (!b.set)
                return "-";
        return b.value ? "yes" : "no";
}

char *nv_vm_next_cell(const NvVmObject *vm)
{
        g_autofree char *cell = NULL;

        if (!vm->next_start)
                return g_strdup("-");
        if (!vm->next_start_by || !*vm->next_start_by)
                return nv_text_printable(vm->next_start);
        cell = g_strdup_printf("%s (%s)", vm->next_start, vm->next_start_by);
        return nv_text_printable(cell);
}

gboolean nv_vm_start_blocked(const NvVmObject *vm)
{
        return vm->start_blocked && *vm->start_blocked;
}

const char *nv_vm_start_cell(const NvVmObject *vm)
{
        if (!vm->start_blocked)
                return "-";
        return nv_vm_start_blocked(vm) ? "blocked" : "ok";
}

char *nv_vm_display_name(const NvVmObject *vm)
{
        g_autofree char *key = nv_vm_object_key(vm);
        g_autofree char *text = NULL;

        if (!vm->name || !*vm->name)
                return nv_text_printable(key);
        text = g_strdup_printf("%s (%s)", vm->name, key);
        return nv_text_printable(text);
}

const char *nv_vm_restart_phrase(const NvVmObject *vm)
{
        if (g_strcmp0(vm->manager, "proxmox") == 0)
                return "a reboot inside the guest does not apply it; on Proxmox VE 'qm reboot' or a stop "
                       "and start do";
        if (g_strcmp0(vm->manager, "libvirt") == 0)
                return "a reboot inside the guest or 'virsh reboot' does not apply it; 'virsh shutdown' "
                       "and 'virsh start' do";
        return "a reboot inside the guest does not apply it; stopping the VM and starting it again does";
}

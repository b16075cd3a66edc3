/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "findings-checks.h"
#include "findings-text.h"
#include "util.h"

#define NV_VMS_NAMED_MAX 10

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

int check_nested_disabled_vms(const NvHost *h, const NvVmList *vms, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        size_t n = count_exposed(vms);
        int r;

        if (!h->module || h->nested != NV_NESTED_DISABLED || n == 0)
                return 0;

        r = text_append(&summary,
                "Nested is disabled in %s, but %zu running VM%s configured to expose %s to %s "
                "guest%s, which will not see it: ",
                h->module, n, n == 1 ? " is" : "s are", nv_vendor_flag_to_string(h->cpu.vendor),
                n == 1 ? "its" : "their", n == 1 ? "" : "s");
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
                        h->module, nv_vendor_flag_to_string(h->cpu.vendor));
        else if (h->modules_disabled)
                hint = text_new("If they should run VMs of their own, enable nested for the next boot "
                                "(`nestvirtctl enable --persistent`) and reboot: kernel.modules_disabled=1 "
                                "blocks a reload; otherwise remove %s from their CPU configuration.",
                        nv_vendor_flag_to_string(h->cpu.vendor));
        else
                hint = text_new(
                        "If they should run VMs of their own, enable nested (`nestvirtctl enable`; the "
                        "module reloads only while no VM runs, so stop the VMs first or use "
                        "`nestvirtctl enable --persistent` and reboot) and start them again; "
                        "otherwise remove %s from their CPU configuration.",
                        nv_vendor_flag_to_string(h->cpu.vendor));
        return push(f, "nested-disabled-vms-want-it", NV_LEVEL_WARNING, &summary, &hint);
}

int check_vms_expose_nesting(const NvHost *h, const NvVmList *vms, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        size_t n = count_exposed(vms);
        bool amd = h->cpu.vendor == NV_VENDOR_AMD;
        int r;

        /* With nested off they do not get it: nested-disabled-vms-want-it says so. */
        if (n == 0 || h->nested == NV_NESTED_DISABLED)
                return 0;

        r = text_append(&summary, "%zu running VM%s %s %s to %s guest%s and can run VMs of %s own: ", n,
                n == 1 ? "" : "s", n == 1 ? "exposes" : "expose", nv_vendor_flag_to_string(h->cpu.vendor),
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

/* Whether any entry blocked for reason belongs to manager. */
static bool blocked_by_manager(const NvInventory *inv, NvStartBlock reason, NvVmManager manager)
{
        for (size_t i = 0; i < inv->n_vms; i++)
                if (inv->vms[i].start_block == reason && inv->vms[i].manager == manager)
                        return true;
        return false;
}

int check_vms_cannot_start(const NvHost *h, _unused_ const NvVmList *vms, NvFindings *f)
{
        _cleanup_free_ char *list = NULL, *summary = NULL, *hint = NULL, *settings = NULL;
        const char *flag = nv_vendor_flag_to_string(h->cpu.vendor);
        bool pve = blocked_by_manager(&h->inventory, NV_START_NO_EXTENSION, NV_VM_MANAGER_PROXMOX);
        bool libvirt = blocked_by_manager(&h->inventory, NV_START_NO_EXTENSION, NV_VM_MANAGER_LIBVIRT);
        size_t n;

        list = nv_inventory_blocked_text(&h->inventory, NV_START_NO_EXTENSION, &n);
        if (n == 0)
                return 0;
        if (!list)
                return -ENOMEM;

        summary = text_new("%s configured to use KVM, which needs %s, so %s not start on this machine: %s.",
                n == 1 ? "A VM is" : "VMs are", flag, n == 1 ? "it will" : "they will", list);
        settings = text_new("%s%s%s", pve ? "Proxmox VE: `qm set VMID --kvm 0`" : "",
                pve && libvirt ? "; " : "",
                libvirt ? "libvirt: domain type `qemu` (`virsh edit NAME`)" : "");
        if (!settings)
                return -ENOMEM;
        if (h->virt.guest)
                hint = text_new("Run %s without KVM (%s), emulated and much slower, or have the "
                                "administrator of the hypervisor expose %s to this VM and power-cycle "
                                "it (see guest-without-extensions).",
                        n == 1 ? "it" : "them", settings, flag);
        else
                hint = text_new("Run %s without KVM (%s), emulated and much slower, or enable the CPU's "
                                "virtualization extension in the firmware setup (see "
                                "no-hardware-support).",
                        n == 1 ? "it" : "them", settings);
        return push(f, "vms-cannot-start", NV_LEVEL_ERROR, &summary, &hint);
}

int check_vms_require_nesting(const NvHost *h, const NvVmList *vms, NvFindings *f)
{
        _cleanup_free_ char *list = NULL, *summary = NULL, *hint = NULL;
        bool live_off = h->nested == NV_NESTED_DISABLED;
        bool next_off = h->config.next_load == NV_NESTED_DISABLED;
        const char *flag = nv_vendor_flag_to_string(h->cpu.vendor);
        size_t n;

        /* Without the extension no VM with KVM starts at all: vms-cannot-start says so. */
        if (!h->module || !nv_cpu_info_hardware_support(&h->cpu) || (!live_off && !next_off))
                return 0;
        list = nv_inventory_requiring_text(&h->inventory, &n);
        if (n == 0)
                return 0;
        if (!list)
                return -ENOMEM;

        summary = text_new("%s configured to require %s, so %s fail to start while nesting is off (%s): %s.",
                n == 1 ? "A VM is" : "VMs are", flag, n == 1 ? "it will" : "they will",
                live_off && next_off ? "now and after the next boot"
                        : live_off   ? "now"
                                     : "after the next boot",
                list);
        hint = text_new(
                "Turn nesting on (`nestvirtctl enable`), or hide %s from %s (`nestvirtctl vm hide VM`) "
                "before starting %s.",
                flag, n == 1 ? "it" : "them", n == 1 ? "it" : "them");
        return push(f, "vms-require-nesting", NV_LEVEL_ERROR, &summary, &hint);
}

int nv_findings_add_libvirt_caps(const NvHost *h, int offers, NvFindings *f)
{
        _cleanup_free_ char *summary = NULL, *hint = NULL;
        const char *flag = nv_vendor_flag_to_string(h->cpu.vendor);
        bool on;

        if (offers < 0 || h->nested == NV_NESTED_UNKNOWN)
                return 0;
        on = h->nested == NV_NESTED_ENABLED;
        if (offers == on)
                return 0;

        summary =
                text_new("libvirt's host-model CPU %s %s, but nesting is %s: libvirt's capability cache is "
                         "older than the last change.",
                        offers ? "still offers" : "does not offer", flag, on ? "on" : "off");
        hint = text_new(
                "Restart libvirtd (or virtqemud), so that VMs with CPU mode host-model get %s as the "
                "host offers it now.",
                flag);
        return push(f, "libvirt-caps-stale", NV_LEVEL_WARNING, &summary, &hint);
}

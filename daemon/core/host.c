/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host.h"
#include "host-path.h"

NvNested nv_host_kernel_default(const char *module, const char *release)
{
        unsigned major = 0, minor = 0;

        if (streq_ptr(module, "kvm_amd"))
                return NV_NESTED_ENABLED;
        if (!streq_ptr(module, "kvm_intel"))
                return NV_NESTED_UNKNOWN;

        /* kvm_intel turned nested on by default in Linux 4.20. */
        if (!release || sscanf(release, "%u.%u", &major, &minor) != 2)
                return NV_NESTED_UNKNOWN;
        return major > 4 || (major == 4 && minor >= 20) ? NV_NESTED_ENABLED : NV_NESTED_DISABLED;
}

static int load_module_facts(NvHost *h)
{
        _cleanup_(kmod_unrefp) struct kmod_ctx *ctx = NULL;
        int r;

        r = nv_kmod_new(h->kernel_release, &ctx);
        if (r < 0)
                return r;

        r = nv_module_get_state(ctx, h->module, &h->module_state, &h->refcnt);
        if (r < 0)
                return r;

        /* A built-in module has its parameters in sysfs too. */
        if (h->module_state == NV_MODULE_LOADED || h->module_state == NV_MODULE_BUILTIN)
                h->nested = nv_module_read_nested(h->module);

        return nv_nested_config_read(h->module, h->module_state == NV_MODULE_BUILTIN,
                nv_host_kernel_default(h->module, h->kernel_release), &h->config);
}

int nv_host_load(NvHost **ret)
{
        return nv_host_load_full(NULL, ret, NULL);
}

int nv_host_load_full(struct _virConnect *conn, NvHost **ret, NvVmList *ret_vms)
{
        _cleanup_(nv_host_freep) NvHost *h = NULL;
        int r;

        h = calloc(1, sizeof(NvHost));
        if (!h)
                return -ENOMEM;

        /* Each fact degrades to "unknown" on its own; only running out of memory fails. */
        r = nv_kernel_release(&h->kernel_release);
        if (r == -ENOMEM)
                return r;

        r = nv_cpu_info_read(&h->cpu);
        if (r == -ENOMEM)
                return r;

        r = nv_virt_detect(h->cpu.hypervisor, &h->virt);
        if (r == -ENOMEM)
                return r;

        h->module = nv_vendor_module_to_string(h->cpu.vendor);
        if (h->module) {
                r = load_module_facts(h);
                if (r == -ENOMEM)
                        return r;
        }

        h->modules_disabled = nv_modules_disabled();

        NvVmList vms = {};
        r = nv_vm_list_scan(&vms);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                h->vm_scan_error = r;
        else
                h->vm_count = (unsigned) vms.n_vms;

        NvInventoryHost facts = {
                .vendor = h->cpu.vendor,
                .nested = h->nested,
                .next_load = h->config.next_load,
                .hardware_support = nv_cpu_info_hardware_support(&h->cpu),
                .guest = h->virt.guest,
        };
        r = nv_inventory_build(&facts, &vms, conn, &h->inventory);
        if (r < 0) {
                nv_vm_list_done(&vms);
                return r;
        }

        if (ret_vms)
                *ret_vms = vms;
        else
                nv_vm_list_done(&vms);

        *ret = TAKE_PTR(h);
        return 0;
}

NvHost *nv_host_free(NvHost *h)
{
        if (!h)
                return NULL;
        free(h->kernel_release);
        nv_cpu_info_done(&h->cpu);
        nv_virt_done(&h->virt);
        nv_nested_config_done(&h->config);
        nv_inventory_done(&h->inventory);
        free(h);
        return NULL;
}

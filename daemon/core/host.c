/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "host-path.h"
#include "host.h"
#include "module-facts.h"

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

static void loaded_from_sysfs(NvHost *h)
{
        _cleanup_free_ char *state = NULL, *refcnt = NULL, *p = NULL, *q = NULL;
        unsigned n;

        if (asprintf(&p, "/sys/module/%s/initstate", h->module) < 0 ||
                asprintf(&q, "/sys/module/%s/refcnt", h->module) < 0)
                return;
        if (nv_host_read_line(p, &state) < 0 || !streq(state, "live"))
                return;
        h->module_state = NV_MODULE_LOADED;
        if (nv_host_read_line(q, &refcnt) >= 0 && sscanf(refcnt, "%u", &n) == 1)
                h->refcnt = n;
        h->nested = nv_module_read_nested(h->module);
}

static int load_module_facts(NvHost *h)
{
        NvModuleFacts f;
        int r;

        r = nv_module_facts_read(
                h->kernel_release, h->module, nv_host_kernel_default(h->module, h->kernel_release), &f);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                /* libkmod did not answer: a module in the kernel still says so in sysfs, and a
                 * loaded module must not read as one that is not installed. */
                loaded_from_sysfs(h);
                return r;
        }
        h->module_state = f.state;
        h->refcnt = f.refcnt;
        h->config = f.config;

        /* A built-in module has its parameters in sysfs too. */
        if (h->module_state == NV_MODULE_LOADED || h->module_state == NV_MODULE_BUILTIN)
                h->nested = nv_module_read_nested(h->module);
        return f.config_error;
}

int nv_host_load(NvHost **ret)
{
        return nv_host_load_full(NULL, ret, NULL);
}

/* Everything but the VMs: each fact degrades to "unknown" on its own; only running out of memory
 * fails. */
static int load_facts(NvHost *h)
{
        int r;

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
        return 0;
}

static NvInventoryHost inventory_host(const NvHost *h)
{
        return (NvInventoryHost){
                .vendor = h->cpu.vendor,
                .nested = h->nested,
                .next_load = h->config.next_load,
                .hardware_support = nv_cpu_info_hardware_support(&h->cpu),
                .guest = h->virt.guest,
        };
}

int nv_host_load_full(struct _virConnect *conn, NvHost **ret, NvVmList *ret_vms)
{
        _cleanup_(nv_host_freep) NvHost *h = NULL;
        int r;

        h = calloc(1, sizeof(NvHost));
        if (!h)
                return -ENOMEM;

        r = load_facts(h);
        if (r < 0)
                return r;

        NvVmList vms = {};
        r = nv_vm_list_scan(&vms);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                h->vm_scan_error = r;
        else
                h->vm_count = (unsigned) vms.n_vms;

        NvInventoryHost facts = inventory_host(h);
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

/* ---- refreshes that read only what changed ---- */

struct NvHostCache {
        bool primed; /* a snapshot was made with this cache */
        NvVmList procs;
        int procs_error;
        NvPveCache *pve_cache;
        NvPveNode pve;
        NvVmConfig *pve_vms;
        size_t n_pve_vms;
        bool libvirt;
        int libvirt_error;
        NvVmConfig *libvirt_vms;
        size_t n_libvirt_vms;
};

static void configs_free(NvVmConfig *l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                nv_vm_config_done(&l[i]);
        free(l);
}

NvHostCache *nv_host_cache_new(void)
{
        NvHostCache *c = calloc(1, sizeof(NvHostCache));

        if (!c)
                return NULL;
        c->pve_cache = nv_pve_cache_new();
        if (!c->pve_cache) {
                free(c);
                return NULL;
        }
        return c;
}

NvHostCache *nv_host_cache_free(NvHostCache *c)
{
        if (!c)
                return NULL;
        nv_vm_list_done(&c->procs);
        nv_pve_cache_free(c->pve_cache);
        nv_pve_node_done(&c->pve);
        configs_free(c->pve_vms, c->n_pve_vms);
        configs_free(c->libvirt_vms, c->n_libvirt_vms);
        free(c);
        return NULL;
}

static int dup_ptr(const char *s, char **ret)
{
        *ret = s ? strdup(s) : NULL;
        return !s || *ret ? 0 : -ENOMEM;
}

static int settings_copy(const NvNestedSetting *from, size_t n, NvNestedSetting **ret)
{
        NvNestedSetting *l;

        *ret = NULL;
        if (n == 0)
                return 0;
        l = calloc(n, sizeof(NvNestedSetting));
        if (!l)
                return -ENOMEM;
        *ret = l; /* the caller's cleanup frees what was copied so far, all n entries */
        for (size_t i = 0; i < n; i++) {
                l[i].effect = from[i].effect;
                if (dup_ptr(from[i].source, &l[i].source) < 0 || dup_ptr(from[i].value, &l[i].value) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* The host facts (everything but the VMs) of old, copied into h. */
static int facts_copy(const NvHost *old, NvHost *h)
{
        const NvNestedConfig *oc = &old->config;
        NvNestedConfig *c = &h->config;

        h->module = old->module;
        h->module_state = old->module_state;
        h->refcnt = old->refcnt;
        h->nested = old->nested;
        h->modules_disabled = old->modules_disabled;
        h->cpu = old->cpu;
        h->cpu.vendor_id = NULL;
        h->virt = old->virt;
        h->virt.hypervisor = NULL;
        c->next_load = oc->next_load;
        c->conflict = oc->conflict;
        if (dup_ptr(old->kernel_release, &h->kernel_release) < 0 ||
                dup_ptr(old->cpu.vendor_id, &h->cpu.vendor_id) < 0 ||
                dup_ptr(old->virt.hypervisor, &h->virt.hypervisor) < 0 ||
                dup_ptr(oc->source, &c->source) < 0)
                return -ENOMEM;
        /* The counts first: the array is zeroed, so a copy that stops halfway is freed whole. */
        c->n_settings = oc->n_settings;
        if (settings_copy(oc->settings, oc->n_settings, &c->settings) < 0)
                return -ENOMEM;
        c->n_ignored = oc->n_ignored;
        if (settings_copy(oc->ignored, oc->n_ignored, &c->ignored) < 0)
                return -ENOMEM;
        if (oc->overridden) {
                c->overridden = strv_copy(oc->overridden);
                if (!c->overridden)
                        return -ENOMEM;
        }
        return 0;
}

static int vm_copy(const NvVm *from, NvVm *ret)
{
        *ret = *from;
        ret->comm = ret->name = ret->vm_id = ret->cpu = NULL;
        if (dup_ptr(from->comm, &ret->comm) < 0 || dup_ptr(from->name, &ret->name) < 0 ||
                dup_ptr(from->vm_id, &ret->vm_id) < 0 || dup_ptr(from->cpu, &ret->cpu) < 0)
                return -ENOMEM;
        return 0;
}

static int vm_list_copy(const NvVmList *from, NvVmList *ret)
{
        NvVmList l = { .n_uninspected = from->n_uninspected };

        if (from->n_vms > 0) {
                l.vms = calloc(from->n_vms, sizeof(NvVm));
                if (!l.vms)
                        return -ENOMEM;
        }
        for (; l.n_vms < from->n_vms; l.n_vms++)
                if (vm_copy(&from->vms[l.n_vms], &l.vms[l.n_vms]) < 0) {
                        l.n_vms++;
                        nv_vm_list_done(&l);
                        return -ENOMEM;
                }
        *ret = l;
        return 0;
}

int nv_host_load_cached(NvHostCache *cache, const NvHost *old, unsigned parts, struct _virConnect *conn,
        NvHost **ret, NvVmList *ret_vms)
{
        _cleanup_(nv_host_freep) NvHost *h = NULL;
        int r;

        assert(cache);
        assert(ret);

        if (!old || !cache->primed)
                parts = NV_HOST_PARTS_ALL;
        if (parts & NV_HOST_PART_PROCESSES)
                parts |= NV_HOST_PART_MODULE | NV_HOST_PART_LIBVIRT;

        h = calloc(1, sizeof(NvHost));
        if (!h)
                return -ENOMEM;

        if (parts & NV_HOST_PART_MODULE) {
                r = load_facts(h);
                if (r < 0)
                        return r;
                /* What the VMs are judged by changed under the kept parts: read them all. */
                if (old && h->cpu.vendor != old->cpu.vendor)
                        parts = NV_HOST_PARTS_ALL;
        } else {
                r = facts_copy(old, h);
                if (r < 0)
                        return r;
        }

        if (parts & NV_HOST_PART_PROCESSES) {
                nv_vm_list_done(&cache->procs);
                r = nv_vm_list_scan(&cache->procs);
                if (r == -ENOMEM)
                        return r;
                cache->procs_error = r < 0 ? r : 0;
        }
        h->vm_scan_error = cache->procs_error;
        h->vm_count = cache->procs_error < 0 ? 0 : (unsigned) cache->procs.n_vms;

        if (parts & (NV_HOST_PART_PVE | NV_HOST_PART_PROCESSES)) {
                nv_pve_node_done(&cache->pve);
                configs_free(TAKE_PTR(cache->pve_vms), cache->n_pve_vms);
                cache->n_pve_vms = 0;
                r = nv_inventory_read_pve(cache->pve_cache, h->cpu.vendor,
                        parts & NV_HOST_PART_PROCESSES ? NV_PVE_READ_PIDS : 0, &cache->pve, &cache->pve_vms,
                        &cache->n_pve_vms);
                if (r < 0)
                        return r;
        }

        if (parts & NV_HOST_PART_LIBVIRT) {
                configs_free(TAKE_PTR(cache->libvirt_vms), cache->n_libvirt_vms);
                cache->n_libvirt_vms = 0;
                r = nv_inventory_read_libvirt(conn, h->cpu.vendor, &cache->libvirt, &cache->libvirt_error,
                        &cache->libvirt_vms, &cache->n_libvirt_vms);
                if (r < 0)
                        return r;
        }
        /* The connection went away since: its domains with it. */
        bool libvirt = cache->libvirt && conn;

        NvInventoryHost facts = inventory_host(h);
        NvInventoryParts p = {
                .procs = cache->procs_error < 0 ? NULL : &cache->procs,
                .pve = &cache->pve,
                .pve_vms = cache->pve_vms,
                .n_pve_vms = cache->n_pve_vms,
                .libvirt = libvirt,
                .libvirt_error = conn ? cache->libvirt_error : 0,
                .libvirt_vms = libvirt ? cache->libvirt_vms : NULL,
                .n_libvirt_vms = libvirt ? cache->n_libvirt_vms : 0,
        };
        r = nv_inventory_assemble(&facts, &p, &h->inventory);
        if (r < 0)
                return r;
        cache->primed = true;

        if (ret_vms) {
                *ret_vms = (NvVmList){};
                if (cache->procs_error >= 0) {
                        r = vm_list_copy(&cache->procs, ret_vms);
                        if (r < 0)
                                return r;
                }
        }
        *ret = TAKE_PTR(h);
        return 0;
}

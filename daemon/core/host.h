/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One snapshot of everything the daemon reports about the host. */

#include "cpu-info.h"
#include "kvm-module.h"
#include "nested-config.h"
#include "virt-detect.h"
#include "vm-discovery.h"
#include "vm-inventory.h"

typedef struct NvHost {
        char *kernel_release;
        NvCpuInfo cpu;
        NvVirt virt;
        const char *module; /* static string or NULL */
        NvModuleState module_state;
        unsigned refcnt;
        NvNested nested; /* live */
        NvNestedConfig config;
        bool modules_disabled;
        unsigned vm_count; /* processes holding the KVM device, at the time of the snapshot */
        int vm_scan_error; /* negative errno when /proc could not be scanned (vm_count is 0 then) */
        NvInventory inventory; /* every VM, running or not */
} NvHost;

/* Takes a fresh snapshot of the host (its inventory without libvirt). */
int nv_host_load(NvHost **ret);
/* The same, with libvirt's domains read through conn (may be NULL), handing over the KVM holders
 * the snapshot counted (empty when /proc could not be read) when ret_vms is not NULL, for callers
 * that need the processes too: one scan instead of two. */
int nv_host_load_full(struct _virConnect *conn, NvHost **ret, NvVmList *ret_vms);
NvHost *nv_host_free(NvHost *h);

/* The parts of a snapshot that are read on their own, named by what changes them. */
typedef enum NvHostPart {
        /* The CPU, the module, its parameters and refcount, modprobe.d, the kernel command line. */
        NV_HOST_PART_MODULE = 1u << 0,
        /* Proxmox VE's node and its VM configs and CPU models (not the pid files). */
        NV_HOST_PART_PVE = 1u << 1,
        /* The processes: /proc's KVM holders and the managers' pid files. A process that starts or
         * ends changes the module's refcount and libvirt's domains too: this implies both. */
        NV_HOST_PART_PROCESSES = 1u << 2,
        /* libvirt's domains. */
        NV_HOST_PART_LIBVIRT = 1u << 3,
        NV_HOST_PARTS_ALL = (1u << 4) - 1,
} NvHostPart;

/* What a snapshot was made of, for the next one: the parts that did not change are taken from
 * here instead of being read again, and Proxmox VE's configs are parsed only when their files
 * changed (nv_pve_cache_read_vms()). One cache per snapshot owner. */
typedef struct NvHostCache NvHostCache;
NvHostCache *nv_host_cache_new(void);
NvHostCache *nv_host_cache_free(NvHostCache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(NvHostCache *, nv_host_cache_free)

/*
 * A new snapshot where only the parts in `parts` (NvHostPart bits) are read again; the others
 * come from old and from cache, which nv_host_load_cached() made old with. Without old, or with a
 * cache that made no snapshot yet, everything is read. ret_vms as for nv_host_load_full() (the
 * KVM holders of the snapshot, scanned or not this time).
 */
int nv_host_load_cached(NvHostCache *cache, const NvHost *old, unsigned parts, struct _virConnect *conn,
        NvHost **ret, NvVmList *ret_vms);
DEFINE_TRIVIAL_CLEANUP_FUNC(NvHost *, nv_host_free)

/* The kernel's default for "nested" on this module and release: enabled for kvm_amd, and for
 * kvm_intel since Linux 4.20. */
NvNested nv_host_kernel_default(const char *module, const char *release);

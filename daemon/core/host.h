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
DEFINE_TRIVIAL_CLEANUP_FUNC(NvHost *, nv_host_free)

/* The kernel's default for "nested" on this module and release: enabled for kvm_amd, and for
 * kvm_intel since Linux 4.20. */
NvNested nv_host_kernel_default(const char *module, const char *release);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Proxmox VE's VMs on this node, read from its own files under the host root, and changed only
 * through its own API (pvesh), never by writing /etc/pve:
 *   /etc/pve/local -> nodes/NODE          the node name
 *   /etc/pve/qemu-server/VMID.conf        each VM of this node (qm.conf(5))
 *   /etc/pve/virtual-guest/cpu-models.conf  custom CPU models
 *   /var/run/qemu-server/VMID.pid         the running VMs
 *   /var/lib/dpkg/status                  qemu-server's version: flags=+nested-virt needs 9.0.27
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu-info.h"
#include "util.h"
#include "vm-config.h"

/* The directories whose changes concern the inventory, as host paths (inotify watches them). */
#define NV_PVE_CONFIG_DIR     "/etc/pve/qemu-server"
#define NV_PVE_CPU_MODELS_DIR "/etc/pve/virtual-guest"
#define NV_PVE_PID_DIR        "/var/run/qemu-server"

typedef struct NvPveNode {
        bool present; /* NV_PVE_CONFIG_DIR exists: this is a Proxmox VE node */
        char *node; /* this node's name, or NULL */
        char *qemu_server_version; /* the installed qemu-server package's version, or NULL */
        bool nested_virt; /* qemu-server knows flags=+nested-virt (9.0.27 or later) */
} NvPveNode;

/* Fills ret; a host that is no PVE node gives present = false and returns 0. */
int nv_pve_node_read(NvPveNode *ret);
void nv_pve_node_done(NvPveNode *n);

/* Every VM of the node, sorted by VMID; configs that cannot be parsed are skipped with a log
 * line. vendor decides what nested-virt resolves to. */
int nv_pve_read_vms(const NvPveNode *node, NvVendor vendor, NvVmConfig **ret, size_t *ret_n);
/*
 * The same through a cache that keeps each config parsed: a file whose (device, inode, size,
 * mtime, ctime) did not change since it was read is not read again (files changed within two
 * seconds of a read are read once more at the next call, see pve-vms.c). With NV_PVE_READ_PIDS
 * every VM's pid file and process are looked at again; without, a VM keeps the process found when
 * the cache first met its config (the caller knows that no process started or ended).
 */
typedef struct NvPveCache NvPveCache;
#define NV_PVE_READ_PIDS (1u << 0)
NvPveCache *nv_pve_cache_new(void);
NvPveCache *nv_pve_cache_free(NvPveCache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(NvPveCache *, nv_pve_cache_free)
int nv_pve_cache_read_vms(NvPveCache *c, const NvPveNode *node, NvVendor vendor, unsigned flags,
        NvVmConfig **ret, size_t *ret_n);
/* How many config files the cache has parsed since it was made (for tests). */
size_t nv_pve_cache_parsed(const NvPveCache *c);

/* One VM; -ENOENT when its config is gone. */
int nv_pve_read_vm(const NvPveNode *node, NvVendor vendor, const char *vmid, NvVmConfig *ret);

/*
 * Exposes or hides vmx/svm at the VM's next start: reads the config and its digest with
 * "pvesh get /nodes/NODE/qemu/VMID/config", changes only the nesting part of "cpu" and writes it
 * with "pvesh set ... --cpu CPU --digest DIGEST". flags: NV_EXPOSE_HOST_MODEL. The program is
 * NESTVIRT_PVESH (tests) or /usr/bin/pvesh; every run has a time bound. Returns < 0 only for
 * errors of our own (ENOMEM); what PVE says is in ret.
 */
int nv_pve_set_exposure(const NvPveNode *node, NvVendor vendor, const char *vmid, bool expose,
        uint64_t flags, NvExposeResult *ret);

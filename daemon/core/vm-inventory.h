/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Every VM of the host, running or not: the configurations of the VM managers nestvirt reads
 * (Proxmox VE, libvirt) joined with the processes that run them, plus the processes that hold
 * the KVM device without any such configuration. One entry per VM, what the bus shows as one VM
 * object.
 */

#include <stdbool.h>
#include <stddef.h>

#include "cpu-info.h"
#include "nested-value.h"
#include "pve-vms.h"
#include "vm-config.h"
#include "vm-discovery.h"

/* A libvirt connection (virConnectPtr) that the caller owns, without libvirt's header. */
struct _virConnect;

/* What on this host stops a configured VM's next start, before its manager is even asked. */
typedef enum NvStartBlock {
        NV_START_OK, /* nothing this host knows of */
        NV_START_NO_EXTENSION, /* it uses KVM, and this machine's CPU does not show vmx/svm */
        NV_START_NESTING_OFF, /* it requires vmx/svm, and host nesting is off when it starts */
} NvStartBlock;

/* The facts of the host that the inventory judges the VMs by. */
typedef struct NvInventoryHost {
        NvVendor vendor; /* which extension counts */
        NvNested nested; /* the live value */
        NvNested next_load; /* what the module's next load uses, for a module not loaded */
        bool hardware_support; /* the CPU shows the vendor's extension */
        bool guest; /* this machine is itself a VM */
} NvInventoryHost;

typedef struct NvVmEntry {
        char *label; /* the object path element: MANAGER_ID with "_" for other characters */
        NvVmManager manager;
        bool configured; /* from a manager's configuration; false: a process and nothing else */
        NvVmConfig config; /* id, name, cpu, next start, ...; for a process: filled from it */
        NvVmNesting now; /* what the running guest sees (its -cpu); UNKNOWN when not running */
        char *cpu_now; /* the running process's effective -cpu, or NULL */
        bool pending; /* running, and the next start differs from now */
        NvStartBlock start_block; /* what on this host stops the next start */
        char *start_blocked; /* one sentence why the next start fails here, or NULL */
        char **notes; /* NULL-terminated sentences, or NULL */
} NvVmEntry;

typedef struct NvInventory {
        NvVmEntry *vms; /* sorted by label */
        size_t n_vms;
        NvPveNode pve;
        bool libvirt; /* a libvirt connection was read */
        int libvirt_error; /* negative errno when the connection could not be read */
} NvInventory;

/*
 * Builds the inventory: Proxmox VE's configs when this is a node, libvirt's domains when conn is
 * not NULL, and the processes in procs (the KVM holders) that no configuration claims. host
 * decides which extension counts and goes into the notes and each entry's start_blocked.
 */
int nv_inventory_build(
        const NvInventoryHost *host, const NvVmList *procs, struct _virConnect *conn, NvInventory *ret);
void nv_inventory_done(NvInventory *inv);

/* What an inventory is made of, each part read on its own (and kept by a caller that knows which
 * parts changed since). Nothing is taken over: the inventory copies what it uses. */
typedef struct NvInventoryParts {
        const NvVmList *procs; /* the KVM holders, or NULL */
        const NvPveNode *pve; /* NULL, or present = false: no Proxmox VE node */
        const NvVmConfig *pve_vms;
        size_t n_pve_vms;
        bool libvirt; /* a libvirt connection was read */
        int libvirt_error; /* negative errno when it could not be read */
        const NvVmConfig *libvirt_vms;
        size_t n_libvirt_vms;
} NvInventoryParts;

/* Joins the parts: what nv_inventory_build() does once it has read them. */
int nv_inventory_assemble(const NvInventoryHost *host, const NvInventoryParts *parts, NvInventory *ret);
/* The Proxmox VE part: the node (present = false when this is none) and its VMs, through cache
 * when it is not NULL (flags: NV_PVE_READ_PIDS; without a cache the pids are always read). Fails
 * only with -ENOMEM; a node that cannot be read gives no VMs. */
int nv_inventory_read_pve(NvPveCache *cache, NvVendor vendor, unsigned flags, NvPveNode *ret_node,
        NvVmConfig **ret, size_t *ret_n);
/* The libvirt part: the domains of conn (may be NULL: nothing read). Fails only with -ENOMEM. */
int nv_inventory_read_libvirt(struct _virConnect *conn, NvVendor vendor, bool *ret_read, int *ret_error,
        NvVmConfig **ret, size_t *ret_n);

/* The entry with this label, or NULL. */
const NvVmEntry *nv_inventory_find(const NvInventory *inv, const char *label);

/* Whether the entry's next start fails while host nesting is off. */
bool nv_vm_entry_requires_nesting(const NvVmEntry *e);

/* "web1 (proxmox 101), db (libvirt) and 3 more": the VMs whose next start needs host nesting, for
 * messages; NULL when there are none (or on ENOMEM: check errno). */
char *nv_inventory_requiring_text(const NvInventory *inv, size_t *ret_n);
/* The same for the VMs whose next start this host blocks for reason. */
char *nv_inventory_blocked_text(const NvInventory *inv, NvStartBlock reason, size_t *ret_n);

/* A name for messages: "NAME (MANAGER ID)" or "MANAGER ID". */
char *nv_vm_entry_describe(const NvVmEntry *e);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The VM objects of org.nestvirt.NestVirt1.VM, as GetManagedObjects lists them, typed: one
 * NvVmObject per object path that has the interface. Parsing, the order of the listing and the
 * lookup of a VM by what a person types are here; the call itself is in nestvirt-client.h.
 */

#include <glib.h>

#include "prop-fields.h"

typedef struct {
        char *path;
        GVariant *props; /* the interface's a{sv} as sent, for --json */
        /* The properties, typed; a string is NULL and an NvOpt* unset when the daemon did not
         * send the property or sent it with another type than the contract's. */
        char *manager;
        char *id;
        char *name;
        NvOptBool running;
        NvOptUint32 pid;
        char *exposed_now;
        char *cpu_now;
        char *next_start;
        char *next_start_by;
        char *cpu;
        NvOptBool requires;
        NvOptBool pending;
        NvOptBool uses_kvm;
        char *lock;
        char *start_blocked;
        char **notes;
} NvVmObject;

typedef struct {
        GPtrArray *vms; /* of NvVmObject, sorted by nv_vm_object_compare() */
} NvVmObjectList;

/* reply: the (a{oa{sa{sv}}}) of GetManagedObjects. Objects without the VM interface are skipped. */
void nv_vm_object_list_init(NvVmObjectList *l, GVariant *reply);
void nv_vm_object_list_clear(NvVmObjectList *l);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(NvVmObjectList, nv_vm_object_list_clear)

/* By manager, then by id: numerically when both ids are numbers (Proxmox VE VMIDs, pids). */
int nv_vm_object_compare(const NvVmObject *a, const NvVmObject *b);

/* "MANAGER:ID", the spelling that names a VM without doubt. */
char *nv_vm_object_key(const NvVmObject *vm);

/* The VMs that spec names, borrowed from l in its order: the one whose "MANAGER:ID" it is, else
 * every VM with that id (a Proxmox VE VMID, a libvirt UUID in any case, a pid) or that name. More
 * than one means the spec is ambiguous; none, that no VM matches. */
GPtrArray *nv_vm_object_list_match(const NvVmObjectList *l, const char *spec);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The VM objects below NESTVIRT_VM_PATH_PREFIX, served from the snapshot's inventory, and the
 * ObjectManager that lists them. */

#include <systemd/sd-bus.h>

#include "vm-inventory.h"

typedef struct Daemon Daemon;

/* Exports the ObjectManager, the VM objects and their interface on d->bus. */
int bus_vm_register(Daemon *d);

/* The entry a VM object's path names in the current snapshot, or NULL. */
const NvVmEntry *bus_vm_entry(Daemon *d, const char *path);
/* NESTVIRT_VM_PATH_PREFIX "/" label. */
char *bus_vm_path(const NvVmEntry *e);

/* Announces VMs that appeared (InterfacesAdded), vanished (InterfacesRemoved) or changed
 * (PropertiesChanged) from old to new. new must already be what the objects serve. */
int bus_vm_emit_changes(sd_bus *bus, const NvInventory *old, const NvInventory *new);

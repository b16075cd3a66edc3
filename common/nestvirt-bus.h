/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The D-Bus contract of nestvirtd, as dbus/org.nestvirt.NestVirt1.xml documents it: the one place
 * the daemon and the client take these names from. Header-only and free of any D-Bus library, so
 * the client still links nothing of the daemon and the daemon's core may include it too.
 */

#include <stdint.h>

#define NESTVIRT_BUS_NAME    "org.nestvirt.NestVirt1"
#define NESTVIRT_OBJECT_PATH "/org/nestvirt/NestVirt1"
#define NESTVIRT_INTERFACE   NESTVIRT_BUS_NAME

/* The named errors of the interface. */
#define NV_ERROR_PREFIX           NESTVIRT_INTERFACE ".Error."
#define NV_ERROR_VMS_RUNNING      NV_ERROR_PREFIX "VMsRunning"
#define NV_ERROR_BUILTIN          NV_ERROR_PREFIX "Builtin"
#define NV_ERROR_MODULES_DISABLED NV_ERROR_PREFIX "ModulesDisabled"
#define NV_ERROR_NOT_SUPPORTED    NV_ERROR_PREFIX "NotSupported"
#define NV_ERROR_RELOAD_FAILED    NV_ERROR_PREFIX "ReloadFailed"
#define NV_ERROR_NOT_SUBSCRIBED   NV_ERROR_PREFIX "NotSubscribed"

/* The bits of SetNested's flags. ResetPersistent and Enforce take flags too; they must be 0. */
#define NV_SET_RUNTIME    UINT64_C(1) /* reload the module now with the new value */
#define NV_SET_PERSISTENT UINT64_C(2) /* write the drop-in for the next load */
#define NV_SET_ALL        (NV_SET_RUNTIME | NV_SET_PERSISTENT)

/* The polkit actions of polkit/org.nestvirt.NestVirt1.policy. */
#define NV_POLKIT_ACTION_SET_NESTED     NESTVIRT_INTERFACE ".set-nested"
#define NV_POLKIT_ACTION_SET_PERSISTENT NESTVIRT_INTERFACE ".set-persistent"
#define NV_POLKIT_ACTION_ENFORCE        NESTVIRT_INTERFACE ".enforce"

/* Per-VM objects: one per VM at NESTVIRT_VM_PATH_PREFIX/<encoded MANAGER_ID>, with this
 * interface, listed by org.freedesktop.DBus.ObjectManager at NESTVIRT_OBJECT_PATH. */
#define NESTVIRT_VM_INTERFACE   NESTVIRT_INTERFACE ".VM"
#define NESTVIRT_VM_PATH_PREFIX NESTVIRT_OBJECT_PATH "/vm"

#define NV_ERROR_VMS_REQUIRE_NESTING NV_ERROR_PREFIX "VMsRequireNesting"
#define NV_ERROR_LOCKED              NV_ERROR_PREFIX "Locked"
#define NV_ERROR_NO_SUCH_VM          NV_ERROR_PREFIX "NoSuchVM"
#define NV_ERROR_MANAGER_FAILED      NV_ERROR_PREFIX "ManagerFailed"

/* SetNested: turn nesting off even though configured VMs require it at their next start. */
#define NV_SET_IGNORE_REQUIRING_VMS UINT64_C(4)

/* The bits of SetExposure's flags. */
#define NV_EXPOSE_HOST_MODEL                                                \
        UINT64_C(1) /* expose through the host CPU model (PVE cputype=host, \
                       libvirt host-passthrough) instead of a flag */

#define NV_POLKIT_ACTION_SET_VM_NESTING NESTVIRT_INTERFACE ".set-vm-nesting"

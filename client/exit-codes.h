/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Exit codes of nestvirtctl. Scripts and the boot unit test them, so a value never changes its
 * meaning once released: add new codes at the end. */
typedef enum {
        NV_EXIT_SUCCESS = 0,
        NV_EXIT_FAILURE = 1, /* any failure without a more specific code */
        NV_EXIT_USAGE = 2, /* unknown verb or option, wrong number of arguments */
        NV_EXIT_NOT_AUTHORIZED = 3, /* the bus policy or polkit said no */
        NV_EXIT_VMS_RUNNING = 4, /* the change needs the module unloaded, but VMs hold it */
        NV_EXIT_NOT_SUPPORTED = 5, /* this host, or the VM's manager, cannot do what was asked */
        NV_EXIT_LOCKED = 6, /* the VM manager has locked the VM (a backup, migration, snapshot) */
        NV_EXIT_NO_SUCH_VM = 7, /* no VM matches the name or id, or the VM is gone */
        NV_EXIT_VM_AMBIGUOUS = 8, /* the name or id matches several VMs */
        NV_EXIT_MANAGER_FAILED = 9, /* the VM manager refused or failed the change */
        NV_EXIT_VMS_REQUIRE_NESTING = 10, /* turning nesting off would make VMs fail to start */
} NvExitCode;

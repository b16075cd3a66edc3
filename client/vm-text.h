/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "vm-objects.h"

/* Words about VM objects, shared by "vms" and "vm". */

/* "yes", "no", or "-" when the daemon did not say. */
const char *nv_vm_yes_no(NvOptBool b);

/* The NEXT cell: "exposed (flag)", NextStart with what decides it. */
char *nv_vm_next_cell(const NvVmObject *vm);

/* The START cell: "ok", "blocked", or "-" when the daemon did not say. */
const char *nv_vm_start_cell(const NvVmObject *vm);

/* Whether something on the host stops the VM's next start (StartBlocked is not empty). */
gboolean nv_vm_start_blocked(const NvVmObject *vm);

/* "pve-lab (proxmox:100)", or only "proxmox:100" for a VM without a name; printable. */
char *nv_vm_display_name(const NvVmObject *vm);

/* What applies a new setting to this VM, for "needs a cold restart: ...". */
const char *nv_vm_restart_phrase(const NvVmObject *vm);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What a VM manager's configuration says about nesting, in one vocabulary for every backend: the
 * Proxmox VE reader (pve/) and the libvirt reader (libvirt/) each fill an NvVmConfig; the
 * inventory (vm-inventory.h) joins it with the running process.
 */

#include <stdbool.h>

#include "nestvirt-bus.h"
#include "nestvirt-string-table.h"
#include "vm-discovery.h"

/* What makes the next start expose (or hide) vmx/svm. */
typedef enum NvVmSource {
        NV_VM_SOURCE_NONE, /* nothing exposes it: the CPU model hides vmx/svm */
        NV_VM_SOURCE_HOST_MODEL, /* PVE cputype host/max; libvirt host-passthrough, maximum, host-model */
        NV_VM_SOURCE_FLAG, /* PVE flags +nested-virt/-nested-virt; a libvirt <feature> vmx/svm */
        NV_VM_SOURCE_CUSTOM_MODEL, /* a PVE custom model (cpu-models.conf) whose flags decide */
        NV_VM_SOURCE_RAW_ARGS, /* PVE "args: ... -cpu ...": QEMU uses the last -cpu */
        NV_VM_SOURCE_COMMAND_LINE, /* a process without a manager: its command line is all there is */
        NV_VM_SOURCE_NOT_X86, /* vmx and svm concern x86 guests only */
} NvVmSource;

/* "none", "host-model", "flag", "custom-model", "raw-args", "command-line", "not-x86". */
NV_DECLARE_STRING_TABLE(nv_vm_source, NvVmSource)

typedef struct NvVmConfig {
        char *id; /* PVE: the VMID; libvirt: the domain's UUID */
        char *name; /* NULL when the config names none */
        char *cpu; /* the CPU setting the next start uses, in the manager's syntax, or NULL */
        char *cpu_now; /* the setting the running VM was started with, when it differs, or NULL */
        NvVmNesting next; /* what the guest sees after the next cold start */
        NvVmSource next_by;
        bool requires; /* the next start fails while host nesting is off */
        bool pending_change; /* the manager holds a change for the next start (PVE [PENDING],
                                libvirt inactive XML != live XML) that concerns the CPU */
        bool kvm; /* the VM uses KVM (PVE kvm: 1, libvirt type kvm); false: emulation (TCG) */
        bool x86; /* an x86 guest */
        char *lock; /* PVE "lock:" (backup, migrate, snapshot, ...), or NULL */
        pid_t pid; /* the running process according to the manager (pid file), or 0 */
        bool running; /* the manager says it runs (also when pid is unknown) */
} NvVmConfig;

void nv_vm_config_done(NvVmConfig *c);

/* A change of a VM's exposure, as a backend reports it back. */
typedef enum NvExposeStatus {
        NV_EXPOSE_DONE, /* changed, or nothing to change */
        NV_EXPOSE_LOCKED, /* the manager has locked the VM (PVE lock:) */
        NV_EXPOSE_NOT_SUPPORTED, /* this backend or version cannot express it; message says what can */
        NV_EXPOSE_NO_SUCH_VM, /* the VM is gone */
        NV_EXPOSE_MANAGER_FAILED, /* the manager refused or failed; message has its words */
} NvExposeStatus;

typedef struct NvExposeResult {
        NvExposeStatus status;
        char *message; /* for anything but DONE: a sentence for the admin */
        char *cpu; /* DONE: the CPU setting now stored for the next start */
        bool changed; /* DONE: the configuration was changed */
} NvExposeResult;

void nv_expose_result_done(NvExposeResult *r);

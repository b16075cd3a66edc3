/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The processes that hold the KVM device (an fd linking to nv_kvm_device(), or a KVM VM/vCPU
 * anon inode), found through /proc under the host root, and what their command lines say about
 * them. Runs on demand; nothing here polls.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "nestvirt-string-table.h"

typedef enum NvVmManager {
        NV_VM_MANAGER_OTHER, /* a KVM user we do not recognise */
        NV_VM_MANAGER_QEMU, /* plain QEMU */
        NV_VM_MANAGER_PROXMOX, /* "-id VMID" and /var/run/qemu-server/VMID.pid holds its pid */
        NV_VM_MANAGER_LIBVIRT, /* "-name guest=NAME" and /run/libvirt/qemu/NAME.pid holds its pid */
        NV_VM_MANAGER_FIRECRACKER,
        NV_VM_MANAGER_CROSVM,
        NV_VM_MANAGER_CLOUD_HYPERVISOR,
} NvVmManager;

typedef enum NvVmNesting {
        NV_VM_NESTING_UNKNOWN, /* not QEMU, or no way to tell */
        NV_VM_NESTING_HIDDEN, /* the guest does not see vmx/svm */
        NV_VM_NESTING_EXPOSED, /* the guest sees vmx/svm: it can run its own VMs */
} NvVmNesting;

typedef struct NvVm {
        pid_t pid;
        uid_t uid;
        char *comm; /* /proc/PID/comm */
        char *name; /* the VM's name ("-name guest=NAME,..." or "-name NAME,..."), or NULL */
        char *vm_id; /* Proxmox VE VM id, or NULL */
        char *cpu; /* the effective "-cpu" value (the last one wins, as in QEMU), or NULL */
        NvVmManager manager;
        NvVmNesting nesting;
} NvVm;

typedef struct NvVmList {
        NvVm *vms; /* sorted by pid */
        size_t n_vms;
        /* Processes whose fds could not be read (permissions, races): they may hold KVM too. */
        size_t n_uninspected;
} NvVmList;

/* "proxmox", "libvirt", "qemu", "firecracker", "crosvm", "cloud-hypervisor" or "other". */
NV_DECLARE_STRING_TABLE(nv_vm_manager, NvVmManager)
/* "exposed", "hidden" or "unknown". Both fall back to the last word for a value out of range. */
NV_DECLARE_STRING_TABLE(nv_vm_nesting, NvVmNesting)

int nv_vm_list_scan(NvVmList *ret);

/* The device path, "/dev/kvm" unless NESTVIRT_KVM_DEVICE names another (tests). */
const char *nv_kvm_device(void);
void nv_vm_list_done(NvVmList *l);

/* Fills name, vm_id, cpu, nesting and a first guess of manager from a NUL-separated command line
 * (as in /proc/PID/cmdline) of length len. Exposed for tests. */
int nv_vm_parse_cmdline(const char *cmdline, size_t len, NvVm *vm);

/* nv_vm_parse_cmdline(), then the manager decided through the pid files under the host root that
 * the command line points to (-id, -name guest=, -pidfile); vm->pid must be set. */
int nv_vm_identify(const char *cmdline, size_t len, NvVm *vm);

/* The real uid from the text of /proc/PID/status (its "Uid:" line). -EBADMSG when missing or
 * malformed. */
int nv_proc_status_uid(const char *status, uid_t *ret);

/* Decides whether a QEMU "-cpu" value exposes vmx/svm: models "host" and "max" do unless the
 * flag is removed ("-vmx", "vmx=off"), others only with "+vmx"/"+svm"/"vmx=on"/"svm=on". */
NvVmNesting nv_vm_cpu_nesting(const char *cpu);

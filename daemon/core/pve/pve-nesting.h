/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What a VM's next start gives its guest, decided the way qemu-server builds QEMU's -cpu
 * (CPUConfig.pm get_cpu_options, resolve_cpu_flags):
 *   - "args: ... -cpu X" comes after PVE's own -cpu, and QEMU takes the last one: X decides.
 *   - cputype host and max pass the host's vmx/svm through; other models have neither.
 *   - a custom model (custom-NAME) adds its own flags (+vmx, +svm, +nested-virt) and reports a
 *     model of its choice (reported-model, host included).
 *   - the VM's flags come last: +nested-virt/-nested-virt (qemu-server 9.0.27 and later) turn the
 *     vendor's flag on or off whatever the model says.
 *   - every model but host gets "enforce" under KVM: a flag asked for that KVM cannot give
 *     (vmx while kvm_intel nested=0) makes the start fail.
 */

#include <stdbool.h>

#include "cpu-info.h"
#include "pve-models.h"
#include "vm-config.h"

typedef struct NvPveGuest {
        const char *cpu; /* the cpu property for the next start, or NULL (kvm64) */
        const char *args; /* the args property, or NULL */
        bool kvm;
        bool x86;
} NvPveGuest;

typedef struct NvPveHost {
        NvVendor vendor; /* whose flag nested-virt stands for; unknown: either */
        bool nested_virt; /* qemu-server accepts the nested-virt flag */
        const NvPveModels *models;
} NvPveHost;

typedef struct NvPveNesting {
        NvVmNesting next;
        NvVmSource by;
        bool requires;
} NvPveNesting;

int nv_pve_nesting_eval(const NvPveGuest *g, const NvPveHost *h, NvPveNesting *ret);

/* The last -cpu value in args (split as a shell would), or NULL in *ret. */
int nv_pve_args_cpu(const char *args, char **ret);

/* The flags qemu-server lets a VM config set (not a custom model's, which may set any). */
bool nv_pve_vm_flag_allowed(const char *name);

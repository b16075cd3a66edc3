/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What a parsed libvirt <cpu> means for nesting: whether the next start exposes vmx/svm, what
 * makes it so, and the short text the inventory shows. Pure functions, no libvirt calls.
 */

#include <stdbool.h>

#include "cpu-info.h"
#include "libvirt-xml.h"
#include "vm-config.h"

/* "vmx" for Intel, "svm" for AMD, NULL for an unknown vendor. */
const char *nv_libvirt_vendor_feature(NvVendor vendor);

/* The policy of the vendor's feature in cpu (ABSENT for an unknown vendor). */
NvLibvirtPolicy nv_libvirt_cpu_policy(const NvLibvirtCpu *cpu, NvVendor vendor);

/* Whether libvirt's os arch names an x86 guest ("x86_64", "i686"). */
bool nv_libvirt_arch_is_x86(const char *arch);

typedef struct NvLibvirtNesting {
        NvVmNesting next;
        NvVmSource by;
        bool requires;
} NvLibvirtNesting;

/*
 * The nesting of a domain's next start from its inactive <cpu>:
 * - not x86: unknown, NOT_X86;
 * - the vendor's <feature>: require (requires=true), force and optional expose it (optional
 *   only while the host offers it, which is the case whenever host nesting is on); disable and
 *   forbid hide it (forbid also makes the start fail while the host offers it, which
 *   requires=false cannot say); an unknown policy is unknown; all of them FLAG;
 * - no feature: host-passthrough, maximum and host-model expose it (host-model copies the host
 *   CPU, which lists vmx/svm while host nesting is on), HOST_MODEL; a custom model and no <cpu>
 *   hide it, NONE (the named models of QEMU's x86 CPU map are taken not to include vmx/svm); an
 *   unknown mode is unknown, NONE;
 * - an unknown vendor: unknown, with the source the mode alone would give;
 * - requires only for KVM domains: a TCG domain does not need the host's nesting.
 */
NvLibvirtNesting nv_libvirt_cpu_nesting(const NvLibvirtCpu *cpu, bool x86, bool kvm, NvVendor vendor);

/* "host-passthrough", "custom:Skylake-Server,vmx=require", "host-model,svm=disable", "custom"
 * (custom without a model); NULL in *ret for no <cpu>. 0 or -ENOMEM. */
int nv_libvirt_cpu_text(const NvLibvirtCpu *cpu, char **ret);

/*
 * Whether a running domain's live <cpu> differs from its inactive one in what concerns nesting:
 * the mode, a custom model, and the vmx/svm policies. libvirt turns a host-model CPU into the
 * custom model it expanded to when the domain starts, so a live custom CPU matches an inactive
 * host-model one as long as the vmx/svm policies the inactive one names are in the live one.
 */
bool nv_libvirt_cpu_differs(const NvLibvirtCpu *inactive, const NvLibvirtCpu *live);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "nestvirt-string-table.h"

typedef enum NvVendor {
        NV_VENDOR_UNKNOWN,
        NV_VENDOR_INTEL,
        NV_VENDOR_AMD,
} NvVendor;

typedef struct NvCpuInfo {
        NvVendor vendor;
        char *vendor_id; /* as in /proc/cpuinfo, or NULL */
        bool vmx;
        bool svm;
        bool hypervisor; /* the CPU says it runs under a hypervisor */
} NvCpuInfo;

/* "intel", "amd" or "unknown" (also for a value out of range). */
NV_DECLARE_STRING_TABLE(nv_vendor, NvVendor)
NvVendor nv_vendor_from_id(const char *vendor_id);

/* Parses the text of /proc/cpuinfo (first processor block). Missing fields leave defaults. */
int nv_cpu_info_parse(const char *text, NvCpuInfo *ret);
/* Reads the host's /proc/cpuinfo. */
int nv_cpu_info_read(NvCpuInfo *ret);
void nv_cpu_info_done(NvCpuInfo *info);

/* True when the extension the vendor's KVM module needs is present. */
bool nv_cpu_info_hardware_support(const NvCpuInfo *info);

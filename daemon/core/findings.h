/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Check(): what an administrator should know about nesting on this host, each finding with a
 * stable id, a level, one sentence and a hint that says what to do.
 */

#include <stddef.h>

#include "host.h"
#include "nestvirt-string-table.h"
#include "vm-discovery.h"

typedef enum NvLevel {
        NV_LEVEL_INFO,
        NV_LEVEL_WARNING,
        NV_LEVEL_ERROR,
} NvLevel;

typedef struct NvFinding {
        const char *id; /* static, e.g. "no-hardware-support" */
        NvLevel level;
        char *summary;
        char *hint;
} NvFinding;

typedef struct NvFindings {
        NvFinding *items;
        size_t n;
} NvFindings;

/* "info", "warning" or "error"; "info" for a value out of range. */
NV_DECLARE_STRING_TABLE(nv_level, NvLevel)

/* Computes the findings for host h and the VMs vms (may be NULL); reads the few extra host
 * files it needs (initramfs configuration, module parameters) through the host root. */
int nv_findings_check(const NvHost *h, const NvVmList *vms, NvFindings *ret);
void nv_findings_done(NvFindings *f);
/* Adds "libvirt-caps-stale" when offers (whether libvirt's host-model CPU offers the vendor's
 * extension: 1, 0, or < 0 for unknown) disagrees with the live value. */
int nv_findings_add_libvirt_caps(const NvHost *h, int offers, NvFindings *f);

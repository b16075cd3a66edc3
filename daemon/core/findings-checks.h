/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Private to the findings: the checks nv_findings_check() runs, in its order. Each adds at most
 * one finding to f and returns 0, or a negative errno.
 */

#include "findings.h"

/* findings-module.c: the hardware, the module and its nested configuration. */
int check_hardware(const NvHost *h, const NvVmList *vms, NvFindings *f);
int check_nested_guest(const NvHost *h, const NvVmList *vms, NvFindings *f);
int check_modules_disabled(const NvHost *h, const NvVmList *vms, NvFindings *f);
int check_module_state(const NvHost *h, const NvVmList *vms, NvFindings *f);
int check_builtin_ignores_files(const NvHost *h, const NvVmList *vms, NvFindings *f);
int check_invalid_option(const NvHost *h, const NvVmList *vms, NvFindings *f);
int check_conflicting_settings(const NvHost *h, const NvVmList *vms, NvFindings *f);
int check_overridden_by_cmdline(const NvHost *h, const NvVmList *vms, NvFindings *f);
int check_live_differs(const NvHost *h, const NvVmList *vms, NvFindings *f);
int check_slow_nested(const NvHost *h, const NvVmList *vms, NvFindings *f);

/* findings-files.c: files around the module, modprobe.d names kmod skips and the initramfs. */
int check_ignored_files(const NvHost *h, const NvVmList *vms, NvFindings *f);
int check_initramfs(const NvHost *h, const NvVmList *vms, NvFindings *f);

typedef enum InitramfsTool {
        TOOL_INITRAMFS_TOOLS, /* /etc/initramfs-tools/modules: one module a line */
        TOOL_DRACUT, /* dracut.conf: add_drivers+=" ... " and friends */
        TOOL_MKINITCPIO, /* mkinitcpio.conf: MODULES=(...) */
        _TOOL_MAX,
} InitramfsTool;

/* Adds the KVM modules the text of one configuration file of tool names to found (no
 * duplicates); found stays as it was when there are none. */
int initramfs_kvm_modules(const char *text, InitramfsTool tool, char ***found);

/* findings-vms.c: the VMs: those that cannot start here, and those that expose vmx/svm. */
int check_nested_disabled_vms(const NvHost *h, const NvVmList *vms, NvFindings *f);
int check_vms_expose_nesting(const NvHost *h, const NvVmList *vms, NvFindings *f);
int check_vms_cannot_start(const NvHost *h, const NvVmList *vms, NvFindings *f);
int check_vms_require_nesting(const NvHost *h, const NvVmList *vms, NvFindings *f);

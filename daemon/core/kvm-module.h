/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The KVM vendor module as libkmod and sysfs see it. */

#include "cpu-info.h"
#include "kmod-dl.h"
#include "nested-value.h"
#include "nestvirt-string-table.h"
#include "util.h"

typedef enum NvModuleState {
        NV_MODULE_UNAVAILABLE,
        NV_MODULE_NOT_LOADED,
        NV_MODULE_LOADED,
        NV_MODULE_BUILTIN,
} NvModuleState;

/* "loaded", "builtin", "not-loaded" or "unavailable" (also for a value out of range). */
NV_DECLARE_STRING_TABLE(nv_module_state, NvModuleState)

/* The vendor's KVM module: "kvm_intel", "kvm_amd" or NULL. */
NV_DECLARE_STRING_TABLE(nv_vendor_module, NvVendor)
/* The type of the module's "nested" parameter. */
NvParamType nv_module_param_type(const char *module);

/* The running kernel's release: /proc/sys/kernel/osrelease under the host root. */
int nv_kernel_release(char **ret);

/* A libkmod context on the host's /lib/modules/RELEASE and its modprobe.d directories; loads
 * libkmod first (dlopen_libkmod()). */
int nv_kmod_new(const char *release, struct kmod_ctx **ret);

/* The module's state and reference count (0 unless loaded). */
int nv_module_get_state(
        struct kmod_ctx *ctx, const char *module, NvModuleState *ret_state, unsigned *ret_refcnt);

/* kernel.modules_disabled: no module can be loaded or unloaded until the next boot. */
bool nv_modules_disabled(void);

/* The live value of /sys/module/MODULE/parameters/nested. */
NvNested nv_module_read_nested(const char *module);

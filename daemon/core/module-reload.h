/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Changes the live value of "nested": the parameter is read-only while the module is loaded, so
 * the module is unloaded (non-blocking, never forced) and loaded again with an explicit numeric
 * value. Any failure after the unload loads the module again as it was. Before the unload an
 * intent record is written under /run, so a daemon that dies halfway can restore the module
 * on its next start.
 */

#include <stdbool.h>

#include "nested-value.h"

#define NV_RELOAD_INTENT_PATH "/run/nestvirt/reload-intent"

typedef enum NvReloadStatus {
        NV_RELOAD_DONE, /* the module runs with the requested value */
        NV_RELOAD_IN_USE, /* references held: nothing was unloaded */
        NV_RELOAD_BUILTIN, /* part of the kernel image: cannot reload */
        NV_RELOAD_MODULES_DISABLED, /* kernel.modules_disabled: cannot load or unload */
        NV_RELOAD_UNAVAILABLE, /* no module for this kernel */
        NV_RELOAD_UNLOAD_FAILED, /* unload failed otherwise: the module is untouched */
        NV_RELOAD_FAILED, /* failed after the unload; see the rollback fields */
} NvReloadStatus;

typedef struct NvReloadResult {
        NvReloadStatus status;
        int error; /* negative errno of the failed step */
        const char *failed_step; /* "unload", "load", "verify", "record" */
        bool was_loaded;
        NvNested before; /* live value before */
        NvNested after; /* live value afterwards */
        bool rolled_back; /* the module was loaded again with its old value */
        int rollback_error; /* negative errno when the rollback failed too */
} NvReloadResult;

/* Reloads module with nested set to want (NV_NESTED_ENABLED or NV_NESTED_DISABLED). A module
 * that is not loaded is loaded with that value. */
int nv_module_reload(const char *module, NvNested want, NvReloadResult *ret);

/*
 * Finishes what an interrupted reload left: when the intent record names a module that is not
 * loaded, loads it with its previous value. Returns 1 when it restored something, 0 when there
 * was nothing to do, negative errno when the restore failed (the record stays for the next try).
 */
int nv_reload_recover(char **ret_module, NvNested *ret_value);

/* Parses the text of the intent record: the module (kvm_intel or kvm_amd) and its value before
 * the reload. -EBADMSG when the record is not one this daemon wrote. */
int nv_reload_intent_parse(const char *text, char **ret_module, NvNested *ret_previous);

/* Human-readable summary of a result, for errors and logs. */
char *nv_reload_result_describe(const char *module, NvNested want, const NvReloadResult *r);

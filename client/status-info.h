/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "prop-fields.h"

/* One element of NestedSettings. */
typedef struct {
        char *source;
        char *value;
        char *effect;
} NvNestedSetting;

/* The interface's properties, typed. A string, strv or array is NULL when the daemon did not
 * send the property or sent it with another type than the contract's. */
typedef struct {
        char *version;
        char *kernel_release;
        char *vendor;
        char *vendor_id;
        char *module;
        NvOptBool hardware_support;
        char *role;
        char *hypervisor;
        char *module_state;
        NvOptUint32 module_ref_count;
        char *nested;
        char *nested_next_load;
        char *nested_next_load_source;
        GPtrArray *nested_settings; /* of NvNestedSetting */
        char **nested_overridden;
        NvOptBool nested_conflict;
        NvOptBool modules_disabled;
        NvOptUint32 vm_count;
} NvStatusInfo;

/* props is the a{sv} of GetAll; properties this client does not know are skipped. */
NvStatusInfo *nv_status_info_new(GVariant *props);
void nv_status_info_free(NvStatusInfo *info);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(NvStatusInfo, nv_status_info_free)

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The values of the "nested" parameter and how the kernel parses them. */

#include "nestvirt-string-table.h"

typedef enum NvNested {
        NV_NESTED_UNKNOWN,
        NV_NESTED_DISABLED,
        NV_NESTED_ENABLED,
        NV_NESTED_INVALID, /* a value the module rejects: the load would fail */
} NvNested;

typedef enum NvParamType {
        NV_PARAM_BOOL, /* kvm_intel: kstrtobool */
        NV_PARAM_INT, /* kvm_amd: kstrtoint, base 0 */
} NvParamType;

/* "enabled", "disabled", "invalid" or "unknown" (also for a value out of range). */
NV_DECLARE_STRING_TABLE(nv_nested, NvNested)

/* Parses the live sysfs value: Y/y/1 enabled, N/n/0 disabled (trailing newline allowed),
 * anything else (or NULL) unknown. */
NvNested nv_nested_parse_live(const char *s);

/* Parses a value given to the module at load time as the kernel would; value NULL means the bare
 * parameter without "=" (true for a bool, invalid for an int). */
NvNested nv_nested_parse_option(NvParamType type, const char *value);

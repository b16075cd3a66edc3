/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the next load of the module will use for "nested", computed from libkmod's parse of the
 * modprobe.d directories and the kernel command line, with the source that decides it.
 */

#include <stdbool.h>
#include <stddef.h>

#include "nested-value.h"
#include "nestvirt-names.h" /* NV_SOURCE_KERNEL_CMDLINE, NV_SOURCE_KERNEL_DEFAULT */

typedef struct NvNestedSetting {
        char *source; /* modprobe.d file path (host path) or NV_SOURCE_KERNEL_CMDLINE */
        char *value; /* as written; NULL for a bare "nested" */
        NvNested effect;
} NvNestedSetting;

typedef struct NvNestedConfig {
        NvNestedSetting *settings; /* in the order the kernel applies them */
        size_t n_settings;
        NvNested next_load;
        char *source; /* what decides next_load */
        char **overridden; /* sources of earlier, different settings that source overrides */
        bool conflict; /* the settings do not all agree */
        NvNestedSetting *ignored; /* settings in modprobe.d files that a built-in module ignores */
        size_t n_ignored;
} NvNestedConfig;

/*
 * Computes the configuration for module. builtin: only the kernel command line counts.
 * kernel_default is the value used when nothing sets the parameter.
 */
int nv_nested_config_read(const char *module, bool builtin, NvNested kernel_default, NvNestedConfig *ret);
void nv_nested_config_done(NvNestedConfig *c);

/* Lists the modprobe.d files libkmod reads, in its order (sorted by name; a name in an earlier
 * directory shadows the same name in a later one). Host paths. */
int nv_modprobe_files(char ***ret);

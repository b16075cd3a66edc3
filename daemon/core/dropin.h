/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one modprobe.d file nestvirt owns, NV_DROPIN_PATH (see nestvirt-names.h for its name). */

#include <stdbool.h>

#include "nested-value.h"
#include "nestvirt-names.h"

/* Writes the drop-in for both vendor modules with numeric values, which both accept. */
int nv_dropin_write(NvNested value);
/* Removes the drop-in; 1 when it existed, 0 when not. */
int nv_dropin_remove(void);

/* True when the drop-in exists and says exactly what nv_dropin_write(value) would write. */
bool nv_dropin_matches(NvNested value);

/* The drop-in's current content (NULL when absent), to restore it after a failed change. */
int nv_dropin_save(char **ret);
int nv_dropin_restore(const char *saved);

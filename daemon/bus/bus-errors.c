/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "bus-errors.h"

/* Maps our error names to errno values, so sd_bus_error_get_errno() is meaningful for them. */
const sd_bus_error_map nv_bus_errors[] = {
        SD_BUS_ERROR_MAP(NV_ERROR_PREFIX "VMsRunning", EBUSY),
        SD_BUS_ERROR_MAP(NV_ERROR_PREFIX "Builtin", EROFS),
        SD_BUS_ERROR_MAP(NV_ERROR_PREFIX "ModulesDisabled", EPERM),
        SD_BUS_ERROR_MAP(NV_ERROR_PREFIX "NotSupported", EOPNOTSUPP),
        SD_BUS_ERROR_MAP(NV_ERROR_PREFIX "ReloadFailed", EIO),
        SD_BUS_ERROR_MAP_END,
};

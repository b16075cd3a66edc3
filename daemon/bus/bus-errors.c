/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "bus-errors.h"

/* Maps our error names to errno values, so sd_bus_error_get_errno() is meaningful for them. */
const sd_bus_error_map nv_bus_errors[] = {
        SD_BUS_ERROR_MAP(NV_ERROR_VMS_RUNNING, EBUSY),
        SD_BUS_ERROR_MAP(NV_ERROR_BUILTIN, EROFS),
        SD_BUS_ERROR_MAP(NV_ERROR_MODULES_DISABLED, EPERM),
        SD_BUS_ERROR_MAP(NV_ERROR_NOT_SUPPORTED, EOPNOTSUPP),
        SD_BUS_ERROR_MAP(NV_ERROR_RELOAD_FAILED, EIO),
        SD_BUS_ERROR_MAP(NV_ERROR_NOT_SUBSCRIBED, ENOENT),
        SD_BUS_ERROR_MAP(NV_ERROR_VMS_REQUIRE_NESTING, EBUSY),
        SD_BUS_ERROR_MAP(NV_ERROR_LOCKED, ENOLCK),
        SD_BUS_ERROR_MAP(NV_ERROR_NO_SUCH_VM, ENXIO),
        SD_BUS_ERROR_MAP(NV_ERROR_MANAGER_FAILED, EIO),
        SD_BUS_ERROR_MAP_END,
};

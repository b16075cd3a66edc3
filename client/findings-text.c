/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "findings-text.h"
#include "table.h"

NvLevelStyle nv_level_style(const char *level)
{
        if (g_strcmp0(level, "error") == 0)
                return (NvLevelStyle){ "Error", NV_ANSI_RED, 2 };
        if (g_strcmp0(level, "warning") == 0)
                return (NvLevelStyle){ "Warning", NV_ANSI_YELLOW, 1 };
        if (g_strcmp0(level, "info") == 0)
                return (NvLevelStyle){ "Info", NULL, 0 };
        return (NvLevelStyle){ level, NULL, -1 };
}

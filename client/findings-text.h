/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

/* How a level of Check's findings ("info", "warning", "error") is shown: a label ("Warning")
 * and a color (NV_ANSI_* or NULL). A level this client does not know keeps its own name. */
typedef struct {
        const char *label;
        const char *color;
        int rank; /* 0 info, 1 warning, 2 error; -1 unknown */
} NvLevelStyle;

NvLevelStyle nv_level_style(const char *level);

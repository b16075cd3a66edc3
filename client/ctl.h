/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

typedef enum {
        NV_JSON_OFF,
        NV_JSON_PRETTY,
        NV_JSON_SHORT,
} NvJsonMode;

/* What the options decided, handed to every verb, so verbs need no globals. */
typedef struct {
        NvJsonMode json;
        gboolean no_pager;
        gboolean color;
        GDBusConnection *bus; /* connected on first use: --help and usage errors need no bus */
} NvCtl;

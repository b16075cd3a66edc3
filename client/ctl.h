/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "nestvirt-bus.h"

typedef enum {
        NV_JSON_OFF,
        NV_JSON_PRETTY,
        NV_JSON_SHORT,
} NvJsonMode;

/* Which part of the setting enable and disable change: the bits of SetNested's flags. */
typedef enum {
        NV_SCOPE_RUNTIME = NV_SET_RUNTIME,
        NV_SCOPE_PERSISTENT = NV_SET_PERSISTENT,
        NV_SCOPE_BOTH = NV_SET_ALL,
} NvScope;

typedef struct NvPager NvPager;

/* What the options decided, handed to every verb, so verbs need no globals. */
typedef struct {
        NvJsonMode json;
        gboolean no_pager;
        gboolean color;
        int columns; /* the terminal's width when stdout is one, else 0 (do not wrap) */
        NvScope scope; /* 0 when neither --runtime nor --persistent was given */
        gboolean ask_password; /* FALSE with --no-ask-password */
        gboolean host_model; /* --host-model: vm expose through the host CPU model */
        gboolean enable_host; /* --enable-host: vm expose turns host nesting on first */
        gboolean ignore_requiring_vms; /* --ignore-requiring-vms: disable despite VMs that need it */
        char *host; /* -H: [USER@]HOST reached over ssh; NULL for this machine */
        GDBusConnection *bus; /* connected on first use: --help and usage errors need no bus */
        GSubprocess *transport; /* with -H: the ssh process that carries the connection */
        NvPager *pager; /* running while a verb's output goes through it */
} NvCtl;

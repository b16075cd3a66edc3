/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "ctl.h"
#include "exit-codes.h"

/* Every helper here reports its own failure on stderr, as one sentence and maybe a hint, and
 * returns the exit code for it, so a verb just passes a non-zero code on. */

/* Connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS when set) on first use. */
NvExitCode nv_bus_get(NvCtl *ctl, GDBusConnection **ret_bus);

/* All properties of the interface in one GetAll round trip, as an a{sv}. */
NvExitCode nv_bus_get_all_properties(NvCtl *ctl, GVariant **ret_props);

/* Prints a failed call's error and maps it to an exit code. action completes "Failed to ...",
 * for example "query nestvirtd". */
NvExitCode nv_bus_report_error(const GError *error, const char *action);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "ctl.h"
#include "exit-codes.h"

/* The connection, and the one reporter of failed calls: each failure is said on stderr as one
 * sentence and maybe a hint, and turned into the exit code a verb passes on. The calls themselves
 * are in nestvirt-client.h. */

/* Connects on first use: to the system bus (DBUS_SYSTEM_BUS_ADDRESS when set), or with -H to the
 * system bus of that host over ssh (see remote.h). */
NvExitCode nv_bus_get(NvCtl *ctl, GDBusConnection **ret_bus);

/* The error of a call that could not even be made because the bus is unreachable: nv_bus_get()
 * has said so on stderr already, only the exit code is left to give. */
#define NV_BUS_ERROR (nv_bus_error_quark())
GQuark nv_bus_error_quark(void);

typedef enum {
        NV_BUS_ERROR_REPORTED,
} NvBusError;

gboolean nv_bus_error_is_reported(const GError *error);

/* Closes the connection, and with -H ends ssh. */
void nv_bus_disconnect(NvCtl *ctl);

/* Prints a failed call's error and maps it to an exit code. action completes "Failed to ...",
 * for example "query nestvirtd". An error already reported (NV_BUS_ERROR_REPORTED) only gives
 * its exit code. */
NvExitCode nv_bus_report_error(const GError *error, const char *action);

/* Like nv_bus_report_error(), for a call that asked for a change: adds the hints that say what to
 * do about a refusal (authorization, VMs that hold the module, a built-in module, ...). */
NvExitCode nv_bus_report_change_error(const GError *error, const char *action);

/* Like nv_bus_report_change_error(), for a change of one VM (SetExposure). */
NvExitCode nv_bus_report_vm_change_error(const GError *error, const char *action);

/* Whether a failed call's error is the D-Bus error name. */
gboolean nv_bus_error_is(const GError *error, const char *name);

/* Timeouts of calls that change something. A change may wait for polkit to ask a person for a
 * password (nestvirtd gives that 5 minutes) and then for a module reload; without a person, for
 * polkit (25 s in nestvirtd) and the reload. */
#define NV_CHANGE_TIMEOUT_INTERACTIVE_MS (6 * 60 * 1000)
#define NV_CHANGE_TIMEOUT_MS             (2 * 60 * 1000)

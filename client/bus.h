/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "ctl.h"
#include "exit-codes.h"

/* Every helper here reports its own failure on stderr, as one sentence and maybe a hint, and
 * returns the exit code for it, so a verb just passes a non-zero code on. */

/* Connects on first use: to the system bus (DBUS_SYSTEM_BUS_ADDRESS when set), or with -H to the
 * system bus of that host over ssh (see remote.h). */
NvExitCode nv_bus_get(NvCtl *ctl, GDBusConnection **ret_bus);

/* Closes the connection, and with -H ends ssh. */
void nv_bus_disconnect(NvCtl *ctl);

/* Calls a method of the interface that takes no arguments and changes nothing (ListVMs, Check).
 * Returns non-zero only when the bus is unreachable (already reported); otherwise *ret_reply is
 * the reply, or NULL with error set for the caller to report or to tolerate. */
NvExitCode nv_bus_call(NvCtl *ctl, const char *method, const GVariantType *reply_type, GVariant **ret_reply,
        GError **error);

/* nv_bus_call() that reports a failed call itself; action completes "Failed to ...". */
NvExitCode nv_bus_query(NvCtl *ctl, const char *method, const GVariantType *reply_type, const char *action,
        GVariant **ret_reply);

/* All properties of the interface in one GetAll round trip, as an a{sv}. */
NvExitCode nv_bus_get_all_properties(NvCtl *ctl, GVariant **ret_props);

/* Prints a failed call's error and maps it to an exit code. action completes "Failed to ...",
 * for example "query nestvirtd". */
NvExitCode nv_bus_report_error(const GError *error, const char *action);

/* Like nv_bus_report_error(), for a call that asked for a change: adds the hints that say what to
 * do about a refusal (authorization, VMs that hold the module, a built-in module, ...). */
NvExitCode nv_bus_report_change_error(const GError *error, const char *action);

/* Whether a failed call's error is the D-Bus error name. */
gboolean nv_bus_error_is(const GError *error, const char *name);

/* Timeouts of calls that change something. A change may wait for polkit to ask a person for a
 * password (nestvirtd gives that 5 minutes) and then for a module reload; without a person, for
 * polkit (25 s in nestvirtd) and the reload. */
#define NV_CHANGE_TIMEOUT_INTERACTIVE_MS (6 * 60 * 1000)
#define NV_CHANGE_TIMEOUT_MS             (2 * 60 * 1000)

/* Calls a method of the interface that changes something. Unless --no-ask-password was given, the
 * call allows interactive authorization and a text polkit agent runs around it when a person can
 * answer (see polkit-agent.h). Returns non-zero only when the bus is unreachable (already
 * reported); otherwise *ret_reply is the reply, or NULL with error set, for the verb to report
 * (most with nv_bus_report_change_error()). parameters may be floating. */
NvExitCode nv_bus_call_change(NvCtl *ctl, const char *method, GVariant *parameters,
        const GVariantType *reply_type, GVariant **ret_reply, GError **error);

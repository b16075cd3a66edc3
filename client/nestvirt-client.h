/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The interface's methods as typed C calls: the one place in the client that spells method names
 * and GVariant types. Each connects on first use (nv_bus_get()) and returns FALSE with error set
 * when the call fails, for the verb to report with nv_bus_report_error() or
 * nv_bus_report_change_error(). When the bus itself could not be reached the failure is already
 * reported and error is NV_BUS_ERROR_REPORTED (bus.h), which those reporters print nothing for.
 *
 * A reply keeps the D-Bus message's data and its strings point into it: they live until the
 * reply is cleared.
 */

#include <gio/gio.h>

#include "bus.h"
#include "ctl.h"
#include "status-info.h"
#include "vm-objects.h"

typedef struct {
        GVariant *reply;
        const char *nested;
        const char *next_load;
        const char *next_load_source;
} NvSetNestedReply;

typedef struct {
        GVariant *reply;
        const char *next_load;
        const char *next_load_source;
} NvResetReply;

typedef struct {
        GVariant *reply;
        const char *nested;
        gboolean changed;
} NvEnforceReply;

typedef struct {
        GVariant *reply;
        const char *next_start;
        gboolean restart_needed;
        const char **notes; /* NULL-terminated; the strings are the reply's */
} NvSetExposureReply;

/* One process that holds KVM, as ListVMs describes it. */
typedef struct {
        guint32 pid;
        guint32 uid;
        const char *command;
        const char *name;
        const char *manager;
        const char *vm_id;
        const char *nesting;
        const char *cpu;
} NvVmEntry;

typedef struct {
        GVariant *reply;
        GArray *vms; /* of NvVmEntry, in the daemon's order */
        guint32 uninspected;
} NvVmList;

/* One finding of Check. */
typedef struct {
        const char *id;
        const char *level;
        const char *summary;
        const char *hint;
} NvFindingEntry;

typedef struct {
        GVariant *reply;
        GArray *items; /* of NvFindingEntry, in the daemon's order */
} NvFindingList;

void nv_set_nested_reply_clear(NvSetNestedReply *r);
void nv_reset_reply_clear(NvResetReply *r);
void nv_enforce_reply_clear(NvEnforceReply *r);
void nv_set_exposure_reply_clear(NvSetExposureReply *r);
void nv_vm_list_clear(NvVmList *l);
void nv_finding_list_clear(NvFindingList *l);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(NvSetNestedReply, nv_set_nested_reply_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(NvResetReply, nv_reset_reply_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(NvEnforceReply, nv_enforce_reply_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(NvSetExposureReply, nv_set_exposure_reply_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(NvVmList, nv_vm_list_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(NvFindingList, nv_finding_list_clear)

/* All properties in one GetAll round trip, as the a{sv} (for --json and the monitor). */
gboolean nv_client_get_all(NvCtl *ctl, GVariant **ret_props, GError **error);

/* GetAll, typed. */
gboolean nv_client_get_status(NvCtl *ctl, NvStatusInfo **ret, GError **error);

/* The calls that change something. Unless --no-ask-password was given they allow interactive
 * authorization, and a text polkit agent runs around them when a person can answer (see
 * polkit-agent.h). flags: SetNested's NV_SET_* bits; ResetPersistent and Enforce take 0. */
gboolean nv_client_set_nested(
        NvCtl *ctl, gboolean enable, guint64 flags, NvSetNestedReply *ret, GError **error);
gboolean nv_client_reset_persistent(NvCtl *ctl, guint64 flags, NvResetReply *ret, GError **error);
gboolean nv_client_enforce(NvCtl *ctl, guint64 flags, NvEnforceReply *ret, GError **error);
/* SetExposure on the VM object at vm_path; flags: NV_EXPOSE_* bits. */
gboolean nv_client_set_exposure(NvCtl *ctl, const char *vm_path, gboolean expose, guint64 flags,
        NvSetExposureReply *ret, GError **error);

/* ListVMs: the processes that hold KVM. The VM objects supersede it; its uninspected count is
 * what they do not tell. */
gboolean nv_client_list_vms(NvCtl *ctl, NvVmList *ret, GError **error);
/* GetManagedObjects: every VM object, running or not, sorted (vm-objects.h). */
gboolean nv_client_get_vm_objects(NvCtl *ctl, NvVmObjectList *ret, GError **error);
gboolean nv_client_check(NvCtl *ctl, NvFindingList *ret, GError **error);

/* Keeps the daemon from exiting on idle while this connection lasts. */
gboolean nv_client_subscribe(NvCtl *ctl, GError **error);

/* For the monitor, on its connection: never start the daemon (that is the business of whoever
 * changes something). */
void nv_client_subscribe_async(
        GDBusConnection *bus, GCancellable *cancel, GAsyncReadyCallback callback, gpointer userdata);
gboolean nv_client_subscribe_finish(GDBusConnection *bus, GAsyncResult *res, GError **error);
void nv_client_get_all_async(
        GDBusConnection *bus, GCancellable *cancel, GAsyncReadyCallback callback, gpointer userdata);
/* The a{sv}, or NULL with error set. */
GVariant *nv_client_get_all_finish(GDBusConnection *bus, GAsyncResult *res, GError **error);

/* Called with the changed properties (an a{sv}) and the names of invalidated ones. */
typedef void (*NvPropertiesChangedFunc)(
        GVariant *changed, const char *const *invalidated, gpointer userdata);

/* Subscribes to PropertiesChanged of the interface; returns the id for
 * g_dbus_connection_signal_unsubscribe(). */
guint nv_client_watch_properties(GDBusConnection *bus, NvPropertiesChangedFunc callback, gpointer userdata);

/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The typed calls of nestvirt-client.h. Passing the reply type to GDBus lets it reject a reply
 * that does not follow the contract before anything here looks inside. */

#include "nestvirt-bus.h"

#include "bus.h"
#include "nestvirt-client.h"
#include "polkit-agent.h"

#define PROPERTIES_INTERFACE     "org.freedesktop.DBus.Properties"
#define OBJECT_MANAGER_INTERFACE "org.freedesktop.DBus.ObjectManager"

static GDBusConnection *connect_bus(NvCtl *ctl, GError **error)
{
        GDBusConnection *bus;

        if (nv_bus_get(ctl, &bus) != NV_EXIT_SUCCESS) {
                g_set_error_literal(error, NV_BUS_ERROR, NV_BUS_ERROR_REPORTED, "no bus");
                return NULL;
        }
        return bus;
}

/* A call that changes nothing: open to everyone, so it never needs a polkit agent. */
static GVariant *call_query(NvCtl *ctl, const char *interface, const char *method, GVariant *parameters,
        const char *reply_type, GError **error)
{
        g_autoptr(GVariant) params = parameters ? g_variant_ref_sink(parameters) : NULL;
        GDBusConnection *bus = connect_bus(ctl, error);

        if (!bus)
                return NULL;
        return g_dbus_connection_call_sync(bus, NESTVIRT_BUS_NAME, NESTVIRT_OBJECT_PATH, interface, method,
                params, G_VARIANT_TYPE(reply_type), G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
}

/* path and interface: the daemon's main object, or a VM's. */
static GVariant *call_change_at(NvCtl *ctl, const char *path, const char *interface, const char *method,
        GVariant *parameters, const char *reply_type, GError **error)
{
        g_autoptr(GVariant) params = g_variant_ref_sink(parameters);
        g_autoptr(NvPolkitAgent) agent = NULL;
        GDBusCallFlags flags = G_DBUS_CALL_FLAGS_NONE;
        GDBusConnection *bus = connect_bus(ctl, error);

        if (!bus)
                return NULL;

        if (ctl->ask_password) {
                flags |= G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION;
                /* Registered before the call, so polkit finds it when the daemon asks. An agent
                 * here cannot answer for another machine's polkit: with -H only an agent there
                 * (in a session of the ssh user) can. */
                if (!ctl->host)
                        agent = nv_polkit_agent_open();
        }

        return g_dbus_connection_call_sync(bus, NESTVIRT_BUS_NAME, path, interface, method, params,
                G_VARIANT_TYPE(reply_type), flags,
                ctl->ask_password ? NV_CHANGE_TIMEOUT_INTERACTIVE_MS : NV_CHANGE_TIMEOUT_MS, NULL, error);
}

static GVariant *call_change(
        NvCtl *ctl, const char *method, GVariant *parameters, const char *reply_type, GError **error)
{
        return call_change_at(
                ctl, NESTVIRT_OBJECT_PATH, NESTVIRT_INTERFACE, method, parameters, reply_type, error);
}

gboolean nv_client_get_all(NvCtl *ctl, GVariant **ret_props, GError **error)
{
        g_autoptr(GVariant) reply = call_query(ctl, PROPERTIES_INTERFACE, "GetAll",
                g_variant_new("(s)", NESTVIRT_INTERFACE), "(a{sv})", error);

        if (!reply)
                return FALSE;
        *ret_props = g_variant_get_child_value(reply, 0);
        return TRUE;
}

gboolean nv_client_get_status(NvCtl *ctl, NvStatusInfo **ret, GError **error)
{
        g_autoptr(GVariant) props = NULL;

        if (!nv_client_get_all(ctl, &props, error))
                return FALSE;
        *ret = nv_status_info_new(props);
        return TRUE;
}

gboolean nv_client_set_nested(
        NvCtl *ctl, gboolean enable, guint64 flags, NvSetNestedReply *ret, GError **error)
{
        GVariant *reply =
                call_change(ctl, "SetNested", g_variant_new("(bt)", enable, flags), "(sss)", error);

        if (!reply)
                return FALSE;
        *ret = (NvSetNestedReply){ .reply = reply };
        g_variant_get(reply, "(&s&s&s)", &ret->nested, &ret->next_load, &ret->next_load_source);
        return TRUE;
}

gboolean nv_client_reset_persistent(NvCtl *ctl, guint64 flags, NvResetReply *ret, GError **error)
{
        GVariant *reply = call_change(ctl, "ResetPersistent", g_variant_new("(t)", flags), "(ss)", error);

        if (!reply)
                return FALSE;
        *ret = (NvResetReply){ .reply = reply };
        g_variant_get(reply, "(&s&s)", &ret->next_load, &ret->next_load_source);
        return TRUE;
}

gboolean nv_client_enforce(NvCtl *ctl, guint64 flags, NvEnforceReply *ret, GError **error)
{
        GVariant *reply = call_change(ctl, "Enforce", g_variant_new("(t)", flags), "(sb)", error);

        if (!reply)
                return FALSE;
        *ret = (NvEnforceReply){ .reply = reply };
        g_variant_get(reply, "(&sb)", &ret->nested, &ret->changed);
        return TRUE;
}

gboolean nv_client_list_vms(NvCtl *ctl, NvVmList *ret, GError **error)
{
        GVariant *reply = call_query(ctl, NESTVIRT_INTERFACE, "ListVMs", NULL, "(a(uussssss)u)", error);
        g_autoptr(GVariant) vms = NULL;
        NvVmEntry e;
        GVariantIter iter;

        if (!reply)
                return FALSE;
        *ret = (NvVmList){ .reply = reply, .vms = g_array_new(FALSE, FALSE, sizeof(NvVmEntry)) };
        g_variant_get(reply, "(@a(uussssss)u)", &vms, &ret->uninspected);
        g_variant_iter_init(&iter, vms);
        while (g_variant_iter_next(&iter, "(uu&s&s&s&s&s&s)", &e.pid, &e.uid, &e.command, &e.name,
                &e.manager, &e.vm_id, &e.nesting, &e.cpu))
                g_array_append_val(ret->vms, e);
        return TRUE;
}

gboolean nv_client_check(NvCtl *ctl, NvFindingList *ret, GError **error)
{
        GVariant *reply = call_query(ctl, NESTVIRT_INTERFACE, "Check", NULL, "(a(ssss))", error);
        g_autoptr(GVariant) findings = NULL;
        NvFindingEntry f;
        GVariantIter iter;

        if (!reply)
                return FALSE;
        *ret = (NvFindingList){ .reply = reply, .items = g_array_new(FALSE, FALSE, sizeof(NvFindingEntry)) };
        findings = g_variant_get_child_value(reply, 0);
        g_variant_iter_init(&iter, findings);
        while (g_variant_iter_next(&iter, "(&s&s&s&s)", &f.id, &f.level, &f.summary, &f.hint))
                g_array_append_val(ret->items, f);
        return TRUE;
}

gboolean nv_client_get_vm_objects(NvCtl *ctl, NvVmObjectList *ret, GError **error)
{
        g_autoptr(GVariant) reply = call_query(
                ctl, OBJECT_MANAGER_INTERFACE, "GetManagedObjects", NULL, "(a{oa{sa{sv}}})", error);

        if (!reply)
                return FALSE;
        nv_vm_object_list_init(ret, reply);
        return TRUE;
}

gboolean nv_client_set_exposure(NvCtl *ctl, const char *vm_path, gboolean expose, guint64 flags,
        NvSetExposureReply *ret, GError **error)
{
        GVariant *reply = call_change_at(ctl, vm_path, NESTVIRT_VM_INTERFACE, "SetExposure",
                g_variant_new("(bt)", expose, flags), "(sbas)", error);

        if (!reply)
                return FALSE;
        *ret = (NvSetExposureReply){ .reply = reply };
        g_variant_get(reply, "(&sb^a&s)", &ret->next_start, &ret->restart_needed, &ret->notes);
        return TRUE;
}

gboolean nv_client_subscribe(NvCtl *ctl, GError **error)
{
        g_autoptr(GVariant) reply = call_query(ctl, NESTVIRT_INTERFACE, "Subscribe", NULL, "()", error);

        return reply != NULL;
}

void nv_client_subscribe_async(
        GDBusConnection *bus, GCancellable *cancel, GAsyncReadyCallback callback, gpointer userdata)
{
        g_dbus_connection_call(bus, NESTVIRT_BUS_NAME, NESTVIRT_OBJECT_PATH, NESTVIRT_INTERFACE, "Subscribe",
                NULL, G_VARIANT_TYPE_UNIT, G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, cancel, callback, userdata);
}

gboolean nv_client_subscribe_finish(GDBusConnection *bus, GAsyncResult *res, GError **error)
{
        g_autoptr(GVariant) reply = g_dbus_connection_call_finish(bus, res, error);

        return reply != NULL;
}

void nv_client_get_all_async(
        GDBusConnection *bus, GCancellable *cancel, GAsyncReadyCallback callback, gpointer userdata)
{
        g_dbus_connection_call(bus, NESTVIRT_BUS_NAME, NESTVIRT_OBJECT_PATH, PROPERTIES_INTERFACE, "GetAll",
                g_variant_new("(s)", NESTVIRT_INTERFACE), G_VARIANT_TYPE("(a{sv})"),
                G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, cancel, callback, userdata);
}

GVariant *nv_client_get_all_finish(GDBusConnection *bus, GAsyncResult *res, GError **error)
{
        g_autoptr(GVariant) reply = g_dbus_connection_call_finish(bus, res, error);

        return reply ? g_variant_get_child_value(reply, 0) : NULL;
}

typedef struct {
        NvPropertiesChangedFunc callback;
        gpointer userdata;
} PropertiesWatch;

static void on_properties_changed(GDBusConnection *bus, const char *sender, const char *path,
        const char *interface, const char *signal, GVariant *params, gpointer userdata)
{
        PropertiesWatch *w = userdata;
        g_autoptr(GVariant) changed = NULL;
        g_autofree const char **invalidated = NULL;
        const char *iface;

        /* A signal of another shape is not the contract's: ignore it rather than trust it. */
        if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(sa{sv}as)")))
                return;
        g_variant_get(params, "(&s@a{sv}^a&s)", &iface, &changed, &invalidated);
        w->callback(changed, invalidated, w->userdata);
}

guint nv_client_watch_properties(GDBusConnection *bus, NvPropertiesChangedFunc callback, gpointer userdata)
{
        PropertiesWatch *w = g_new(PropertiesWatch, 1);

        *w = (PropertiesWatch){ .callback = callback, .userdata = userdata };
        return g_dbus_connection_signal_subscribe(bus, NESTVIRT_BUS_NAME, PROPERTIES_INTERFACE,
                "PropertiesChanged", NESTVIRT_OBJECT_PATH, NESTVIRT_INTERFACE, G_DBUS_SIGNAL_FLAGS_NONE,
                on_properties_changed, w, g_free);
}

void nv_set_nested_reply_clear(NvSetNestedReply *r)
{
        g_clear_pointer(&r->reply, g_variant_unref);
        *r = (NvSetNestedReply){};
}

void nv_reset_reply_clear(NvResetReply *r)
{
        g_clear_pointer(&r->reply, g_variant_unref);
        *r = (NvResetReply){};
}

void nv_enforce_reply_clear(NvEnforceReply *r)
{
        g_clear_pointer(&r->reply, g_variant_unref);
        *r = (NvEnforceReply){};
}

void nv_set_exposure_reply_clear(NvSetExposureReply *r)
{
        g_free(r->notes);
        g_clear_pointer(&r->reply, g_variant_unref);
        *r = (NvSetExposureReply){};
}

void nv_vm_list_clear(NvVmList *l)
{
        g_clear_pointer(&l->vms, g_array_unref);
        g_clear_pointer(&l->reply, g_variant_unref);
        *l = (NvVmList){};
}

void nv_finding_list_clear(NvFindingList *l)
{
        g_clear_pointer(&l->items, g_array_unref);
        g_clear_pointer(&l->reply, g_variant_unref);
        *l = (NvFindingList){};
}

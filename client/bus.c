/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "config.h"

#include "bus.h"

typedef enum {
        ERROR_OTHER,
        ERROR_NOT_RUNNING, /* no owner, and activation does not know the name */
        ERROR_START_FAILED, /* activation knows the name but the daemon did not come up */
        ERROR_DENIED,
        ERROR_MISMATCH, /* the daemon lacks what this client expects: versions differ */
        ERROR_NO_REPLY,
        ERROR_VMS_RUNNING,
        ERROR_NOT_SUPPORTED,
} ErrorKind;

/* Matched against the D-Bus error name, so it works whether or not GDBus maps the name to a
 * GError code of its own. */
static const struct {
        const char *name;
        ErrorKind kind;
} error_kinds[] = {
        { "org.freedesktop.DBus.Error.ServiceUnknown", ERROR_NOT_RUNNING },
        { "org.freedesktop.DBus.Error.NameHasNoOwner", ERROR_NOT_RUNNING },
        { "org.freedesktop.DBus.Error.Spawn.ServiceNotFound", ERROR_NOT_RUNNING },
        { "org.freedesktop.DBus.Error.AccessDenied", ERROR_DENIED },
        { "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", ERROR_DENIED },
        { "org.freedesktop.DBus.Error.UnknownMethod", ERROR_MISMATCH },
        { "org.freedesktop.DBus.Error.UnknownObject", ERROR_MISMATCH },
        { "org.freedesktop.DBus.Error.UnknownInterface", ERROR_MISMATCH },
        { "org.freedesktop.DBus.Error.UnknownProperty", ERROR_MISMATCH },
        { "org.freedesktop.DBus.Error.NoReply", ERROR_NO_REPLY },
        { "org.freedesktop.DBus.Error.Timeout", ERROR_NO_REPLY },
        { "org.freedesktop.DBus.Error.TimedOut", ERROR_NO_REPLY },
        { NESTVIRT_INTERFACE ".Error.VMsRunning", ERROR_VMS_RUNNING },
        { NESTVIRT_INTERFACE ".Error.NotSupported", ERROR_NOT_SUPPORTED },
};

static ErrorKind classify_error(const GError *error)
{
        g_autofree char *name = NULL;

        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
                return ERROR_NO_REPLY;

        name = g_dbus_error_get_remote_error(error);
        if (!name)
                return ERROR_OTHER;

        for (size_t i = 0; i < G_N_ELEMENTS(error_kinds); i++)
                if (g_str_equal(name, error_kinds[i].name))
                        return error_kinds[i].kind;

        /* Any other Spawn.* error means the bus tried to start the daemon and failed. */
        if (g_str_has_prefix(name, "org.freedesktop.DBus.Error.Spawn."))
                return ERROR_START_FAILED;

        return ERROR_OTHER;
}

NvExitCode nv_bus_report_error(const GError *error, const char *action)
{
        g_autoptr(GError) stripped = g_error_copy(error);

        /* The remote name ("GDBus.Error:org...: ") is noise for a person; the kind carries it. */
        g_dbus_error_strip_remote_error(stripped);

        switch (classify_error(error)) {
        case ERROR_NOT_RUNNING:
                g_printerr("Failed to connect to nestvirtd: %s\n", stripped->message);
                g_printerr("Is nestvirtd installed, and is its D-Bus activation file in place?\n");
                return NV_EXIT_FAILURE;
        case ERROR_START_FAILED:
                g_printerr("Failed to start nestvirtd: %s\n", stripped->message);
                g_printerr("See 'journalctl -u nestvirtd.service' for why.\n");
                return NV_EXIT_FAILURE;
        case ERROR_DENIED:
                g_printerr("Not authorized to %s: %s\n", action, stripped->message);
                return NV_EXIT_NOT_AUTHORIZED;
        case ERROR_MISMATCH:
                g_printerr("Failed to %s: %s\n", action, stripped->message);
                g_printerr("Do nestvirtd and nestvirtctl come from the same version?\n");
                return NV_EXIT_FAILURE;
        case ERROR_NO_REPLY:
                g_printerr("Failed to %s: %s\n", action, stripped->message);
                g_printerr("nestvirtd did not answer in time; see 'journalctl -u nestvirtd.service'.\n");
                return NV_EXIT_FAILURE;
        case ERROR_VMS_RUNNING:
                g_printerr("Failed to %s: %s\n", action, stripped->message);
                return NV_EXIT_VMS_RUNNING;
        case ERROR_NOT_SUPPORTED:
                g_printerr("Failed to %s: %s\n", action, stripped->message);
                return NV_EXIT_NOT_SUPPORTED;
        case ERROR_OTHER:
                break;
        }

        g_printerr("Failed to %s: %s\n", action, stripped->message);
        return NV_EXIT_FAILURE;
}

NvExitCode nv_bus_get(NvCtl *ctl, GDBusConnection **ret_bus)
{
        g_autoptr(GError) error = NULL;

        if (!ctl->bus) {
                ctl->bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
                if (!ctl->bus) {
                        g_printerr("Failed to connect to the system bus: %s\n", error->message);
                        return NV_EXIT_FAILURE;
                }
        }

        *ret_bus = ctl->bus;
        return NV_EXIT_SUCCESS;
}

NvExitCode nv_bus_get_all_properties(NvCtl *ctl, GVariant **ret_props)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = NULL;
        GDBusConnection *bus;
        NvExitCode r;

        r = nv_bus_get(ctl, &bus);
        if (r != NV_EXIT_SUCCESS)
                return r;

        /* Passing the reply type lets GDBus reject a malformed reply before we look inside. */
        reply = g_dbus_connection_call_sync(bus, NESTVIRT_BUS_NAME, NESTVIRT_OBJECT_PATH,
                "org.freedesktop.DBus.Properties", "GetAll", g_variant_new("(s)", NESTVIRT_INTERFACE),
                G_VARIANT_TYPE("(a{sv})"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
        if (!reply)
                return nv_bus_report_error(error, "query nestvirtd");

        *ret_props = g_variant_get_child_value(reply, 0);
        return NV_EXIT_SUCCESS;
}

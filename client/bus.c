/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "config.h"

#include "bus.h"
#include "polkit-agent.h"
#include "remote.h"

typedef enum {
        ERROR_OTHER,
        ERROR_NOT_RUNNING, /* no owner, and activation does not know the name */
        ERROR_START_FAILED, /* activation knows the name but the daemon did not come up */
        ERROR_DENIED,
        ERROR_AUTH_REQUIRED, /* polkit would ask, but the call did not allow it */
        ERROR_MISMATCH, /* the daemon lacks what this client expects: versions differ */
        ERROR_INVALID_ARGS,
        ERROR_NO_REPLY,
        ERROR_VMS_RUNNING,
        ERROR_BUILTIN,
        ERROR_MODULES_DISABLED,
        ERROR_NOT_SUPPORTED,
        ERROR_RELOAD_FAILED,
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
        { "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", ERROR_AUTH_REQUIRED },
        { "org.freedesktop.DBus.Error.UnknownMethod", ERROR_MISMATCH },
        { "org.freedesktop.DBus.Error.UnknownObject", ERROR_MISMATCH },
        { "org.freedesktop.DBus.Error.UnknownInterface", ERROR_MISMATCH },
        { "org.freedesktop.DBus.Error.UnknownProperty", ERROR_MISMATCH },
        { "org.freedesktop.DBus.Error.InvalidArgs", ERROR_INVALID_ARGS },
        { "org.freedesktop.DBus.Error.NoReply", ERROR_NO_REPLY },
        { "org.freedesktop.DBus.Error.Timeout", ERROR_NO_REPLY },
        { "org.freedesktop.DBus.Error.TimedOut", ERROR_NO_REPLY },
        { NESTVIRT_INTERFACE ".Error.VMsRunning", ERROR_VMS_RUNNING },
        { NESTVIRT_INTERFACE ".Error.Builtin", ERROR_BUILTIN },
        { NESTVIRT_INTERFACE ".Error.ModulesDisabled", ERROR_MODULES_DISABLED },
        { NESTVIRT_INTERFACE ".Error.NotSupported", ERROR_NOT_SUPPORTED },
        { NESTVIRT_INTERFACE ".Error.ReloadFailed", ERROR_RELOAD_FAILED },
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

/* Prints the error of a failed call and returns its exit code. change: the call asked for a
 * change, which polkit guards; queries are open to everyone, so a denial there comes from the bus
 * policy and a polkit hint would mislead. */
static NvExitCode report_error(const GError *error, const char *action, gboolean change)
{
        g_autoptr(GError) stripped = g_error_copy(error);
        const char *msg;

        /* The remote name ("GDBus.Error:org...: ") is noise for a person; the kind carries it. */
        g_dbus_error_strip_remote_error(stripped);
        msg = stripped->message;

        switch (classify_error(error)) {
        case ERROR_NOT_RUNNING:
                g_printerr("Failed to connect to nestvirtd: %s\n", msg);
                g_printerr("Hint: nestvirtd must be installed with its D-Bus activation file "
                           "(org.nestvirt.NestVirt1.service) on the machine asked.\n");
                return NV_EXIT_FAILURE;
        case ERROR_START_FAILED:
                g_printerr("Failed to start nestvirtd: %s\n", msg);
                g_printerr("Hint: 'journalctl -u nestvirtd.service' says why.\n");
                return NV_EXIT_FAILURE;
        case ERROR_DENIED:
                g_printerr("Not authorized to %s: %s\n", action, msg);
                if (change)
                        g_printerr("Hint: run as root, or ask an administrator for a polkit rule "
                                   "for " NESTVIRT_INTERFACE ".*\n");
                else
                        g_printerr("Hint: the D-Bus policy (" NESTVIRT_BUS_NAME ".conf in "
                                   "/usr/share/dbus-1/system.d) lets everyone query nestvirtd; "
                                   "something changed it.\n");
                return NV_EXIT_NOT_AUTHORIZED;
        case ERROR_AUTH_REQUIRED:
                g_printerr("Not authorized to %s: %s\n", action, msg);
                g_printerr("Hint: run without --no-ask-password in a terminal, or as root.\n");
                return NV_EXIT_NOT_AUTHORIZED;
        case ERROR_MISMATCH:
                g_printerr("Failed to %s: %s\n", action, msg);
                g_printerr("Hint: this nestvirtctl (" PACKAGE_VERSION ") needs a nestvirtd of the same "
                           "version; 'nestvirtctl --json=short' shows the daemon's Version.\n");
                return NV_EXIT_FAILURE;
        case ERROR_INVALID_ARGS:
                /* This client only sends arguments the contract allows, so it is not a usage
                 * error of the person: the daemon understands the contract differently. */
                g_printerr("Failed to %s: %s\n", action, msg);
                g_printerr("Hint: nestvirtd refused the request; nestvirtctl " PACKAGE_VERSION
                           " needs a nestvirtd of the same version.\n");
                return NV_EXIT_FAILURE;
        case ERROR_NO_REPLY:
                g_printerr("Failed to %s: %s\n", action, msg);
                if (change)
                        g_printerr("Hint: nestvirtd did not answer in time, so the change may or may not "
                                   "have happened; 'nestvirtctl status' shows the state now.\n");
                else
                        g_printerr("Hint: nestvirtd did not answer in time; 'journalctl -u "
                                   "nestvirtd.service' may say why.\n");
                return NV_EXIT_FAILURE;
        case ERROR_VMS_RUNNING:
                /* The daemon's message names the processes that hold the module. */
                g_printerr("Failed to %s: %s\n", action, msg);
                if (change)
                        g_printerr("Hint: shut those VMs down and run this again, or change only the "
                                   "next boot with --persistent.\n");
                return NV_EXIT_VMS_RUNNING;
        case ERROR_BUILTIN:
                /* The daemon's message gives the kernel command line argument. */
                g_printerr("Failed to %s: %s\n", action, msg);
                g_printerr("Hint: add it to the kernel command line in your boot loader and reboot.\n");
                return NV_EXIT_NOT_SUPPORTED;
        case ERROR_MODULES_DISABLED:
                g_printerr("Failed to %s: %s\n", action, msg);
                g_printerr("Hint: only a reboot lifts this; --persistent still changes the setting for the "
                           "next boot.\n");
                return NV_EXIT_NOT_SUPPORTED;
        case ERROR_NOT_SUPPORTED:
                g_printerr("Failed to %s: %s\n", action, msg);
                if (change)
                        g_printerr("Hint: 'nestvirtctl check' explains what this host lacks.\n");
                return NV_EXIT_NOT_SUPPORTED;
        case ERROR_RELOAD_FAILED:
                /* The daemon's message says what failed and what the rollback restored. */
                g_printerr("Failed to %s: %s\n", action, msg);
                g_printerr(
                        "Hint: 'nestvirtctl status' shows the state now; 'journalctl -u nestvirtd.service' "
                        "has the details.\n");
                return NV_EXIT_FAILURE;
        case ERROR_OTHER:
                break;
        }

        g_printerr("Failed to %s: %s\n", action, msg);
        return NV_EXIT_FAILURE;
}

NvExitCode nv_bus_report_error(const GError *error, const char *action)
{
        return report_error(error, action, FALSE);
}

NvExitCode nv_bus_report_change_error(const GError *error, const char *action)
{
        return report_error(error, action, TRUE);
}

gboolean nv_bus_error_is(const GError *error, const char *name)
{
        g_autofree char *remote = g_dbus_error_get_remote_error(error);

        return remote && g_str_equal(remote, name);
}

NvExitCode nv_bus_get(NvCtl *ctl, GDBusConnection **ret_bus)
{
        g_autoptr(GError) error = NULL;

        if (!ctl->bus && ctl->host) {
                if (!nv_remote_connect(ctl->host, &ctl->transport, &ctl->bus, &error)) {
                        g_printerr("Failed to connect to the system bus of %s over ssh: %s\n", ctl->host,
                                error->message);
                        g_printerr("Hint: 'ssh %s' must log in without a terminal, and %s must have "
                                   "systemd-stdio-bridge (systemd 246 or later).\n",
                                ctl->host, ctl->host);
                        return NV_EXIT_FAILURE;
                }
        } else if (!ctl->bus) {
                ctl->bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
                if (!ctl->bus) {
                        g_printerr("Failed to connect to the system bus: %s\n", error->message);
                        return NV_EXIT_FAILURE;
                }
        }

        *ret_bus = ctl->bus;
        return NV_EXIT_SUCCESS;
}

void nv_bus_disconnect(NvCtl *ctl)
{
        if (ctl->transport) {
                nv_remote_disconnect(g_steal_pointer(&ctl->transport), ctl->bus);
                g_clear_object(&ctl->bus);
        } else
                g_clear_object(&ctl->bus);
}

NvExitCode nv_bus_call(
        NvCtl *ctl, const char *method, const GVariantType *reply_type, GVariant **ret_reply, GError **error)
{
        GDBusConnection *bus;
        NvExitCode r;

        r = nv_bus_get(ctl, &bus);
        if (r != NV_EXIT_SUCCESS)
                return r;

        *ret_reply = g_dbus_connection_call_sync(bus, NESTVIRT_BUS_NAME, NESTVIRT_OBJECT_PATH,
                NESTVIRT_INTERFACE, method, NULL, reply_type, G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
        return NV_EXIT_SUCCESS;
}

NvExitCode nv_bus_query(NvCtl *ctl, const char *method, const GVariantType *reply_type, const char *action,
        GVariant **ret_reply)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = NULL;
        NvExitCode r;

        r = nv_bus_call(ctl, method, reply_type, &reply, &error);
        if (r != NV_EXIT_SUCCESS)
                return r;
        if (!reply)
                return nv_bus_report_error(error, action);

        *ret_reply = g_steal_pointer(&reply);
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

NvExitCode nv_bus_call_change(NvCtl *ctl, const char *method, GVariant *parameters,
        const GVariantType *reply_type, GVariant **ret_reply, GError **error)
{
        g_autoptr(GVariant) params = g_variant_ref_sink(parameters);
        g_autoptr(NvPolkitAgent) agent = NULL;
        GDBusCallFlags flags = G_DBUS_CALL_FLAGS_NONE;
        GDBusConnection *bus;
        NvExitCode r;

        r = nv_bus_get(ctl, &bus);
        if (r != NV_EXIT_SUCCESS)
                return r;

        if (ctl->ask_password) {
                flags |= G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION;
                /* Registered before the call, so polkit finds it when the daemon asks. An agent
                 * here cannot answer for another machine's polkit: with -H only an agent there
                 * (in a session of the ssh user) can. */
                if (!ctl->host)
                        agent = nv_polkit_agent_open();
        }

        *ret_reply = g_dbus_connection_call_sync(bus, NESTVIRT_BUS_NAME, NESTVIRT_OBJECT_PATH,
                NESTVIRT_INTERFACE, method, params, reply_type, flags,
                ctl->ask_password ? NV_CHANGE_TIMEOUT_INTERACTIVE_MS : NV_CHANGE_TIMEOUT_MS, NULL, error);
        return NV_EXIT_SUCCESS;
}

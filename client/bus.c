/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "config.h"

#include "nestvirt-bus.h"

#include "bus.h"
#include "remote.h"

#define DBUS_ERROR "org.freedesktop.DBus.Error."

/* The hints shared by several errors. */
#define HINT_NOT_RUNNING                                                                                 \
        "nestvirtd must be installed with its D-Bus activation file (" NESTVIRT_BUS_NAME ".service) on " \
        "the machine asked."
#define HINT_MISMATCH                                                                                 \
        "this nestvirtctl (" PACKAGE_VERSION ") needs a nestvirtd of the same version; 'nestvirtctl " \
        "--json=short' shows the daemon's Version."
#define HINT_NO_REPLY "nestvirtd did not answer in time; 'journalctl -u nestvirtd.service' may say why."
#define HINT_NO_REPLY_CHANGE                                                                          \
        "nestvirtd did not answer in time, so the change may or may not have happened; 'nestvirtctl " \
        "status' shows the state now."

/*
 * What a failed call prints and exits with, by D-Bus error name. Matched against the name, so it
 * works whether or not GDBus maps the name to a GError code of its own; the first row that
 * matches wins, and a name no row matches is reported as "Failed to ACTION: message".
 *
 * lead: the sentence's start, completed by the action unless fixed says the whole start.
 * hint: for a query; hint_change: for a call that asked for a change (polkit guards those;
 * queries are open to everyone, so a denial there comes from the bus policy). NULL: no hint.
 * hint_vm: for a change of a VM, where it differs from hint_change; NULL: hint_change.
 */
typedef struct {
        const char *name;
        gboolean prefix; /* name is a prefix of the error names it matches */
        NvExitCode exit_code;
        const char *lead;
        const char *fixed;
        const char *hint;
        const char *hint_change;
        const char *hint_vm;
} ErrorReport;

#define FAILED         "Failed to"
#define DENIED         "Not authorized to"
#define SAME(h)        (h), (h)
#define ONLY_CHANGE(h) NULL, (h)

static const ErrorReport error_reports[] = {
        /* No owner, and activation does not know the name. */
        { DBUS_ERROR "ServiceUnknown", FALSE, NV_EXIT_FAILURE, NULL, "Failed to connect to nestvirtd",
                SAME(HINT_NOT_RUNNING) },
        { DBUS_ERROR "NameHasNoOwner", FALSE, NV_EXIT_FAILURE, NULL, "Failed to connect to nestvirtd",
                SAME(HINT_NOT_RUNNING) },
        { DBUS_ERROR "Spawn.ServiceNotFound", FALSE, NV_EXIT_FAILURE, NULL, "Failed to connect to nestvirtd",
                SAME(HINT_NOT_RUNNING) },
        /* Any other Spawn.* error: activation knows the name but the daemon did not come up. */
        { DBUS_ERROR "Spawn.", TRUE, NV_EXIT_FAILURE, NULL, "Failed to start nestvirtd",
                SAME("'journalctl -u nestvirtd.service' says why.") },
        { DBUS_ERROR "AccessDenied", FALSE, NV_EXIT_NOT_AUTHORIZED, DENIED, NULL,
                "the D-Bus policy (" NESTVIRT_BUS_NAME ".conf in /usr/share/dbus-1/system.d) lets everyone "
                "query nestvirtd; something changed it.",
                "run as root, or ask an administrator for a polkit rule for " NESTVIRT_INTERFACE ".*" },
        /* polkit would ask, but the call did not allow it. */
        { DBUS_ERROR "InteractiveAuthorizationRequired", FALSE, NV_EXIT_NOT_AUTHORIZED, DENIED, NULL,
                SAME("run without --no-ask-password in a terminal, or as root.") },
        /* The daemon lacks what this client expects: the versions differ. */
        { DBUS_ERROR "UnknownMethod", FALSE, NV_EXIT_FAILURE, FAILED, NULL, SAME(HINT_MISMATCH) },
        { DBUS_ERROR "UnknownObject", FALSE, NV_EXIT_FAILURE, FAILED, NULL, SAME(HINT_MISMATCH) },
        { DBUS_ERROR "UnknownInterface", FALSE, NV_EXIT_FAILURE, FAILED, NULL, SAME(HINT_MISMATCH) },
        { DBUS_ERROR "UnknownProperty", FALSE, NV_EXIT_FAILURE, FAILED, NULL, SAME(HINT_MISMATCH) },
        /* This client only sends arguments the contract allows, so it is not a usage error of the
         * person: the daemon understands the contract differently. */
        { DBUS_ERROR "InvalidArgs", FALSE, NV_EXIT_FAILURE, FAILED, NULL,
                SAME("nestvirtd refused the request; nestvirtctl " PACKAGE_VERSION
                     " needs a nestvirtd of the same version.") },
        { DBUS_ERROR "NoReply", FALSE, NV_EXIT_FAILURE, FAILED, NULL, HINT_NO_REPLY, HINT_NO_REPLY_CHANGE },
        { DBUS_ERROR "Timeout", FALSE, NV_EXIT_FAILURE, FAILED, NULL, HINT_NO_REPLY, HINT_NO_REPLY_CHANGE },
        { DBUS_ERROR "TimedOut", FALSE, NV_EXIT_FAILURE, FAILED, NULL, HINT_NO_REPLY, HINT_NO_REPLY_CHANGE },
        /* The daemon's message names the processes that hold the module. */
        { NV_ERROR_VMS_RUNNING, FALSE, NV_EXIT_VMS_RUNNING, FAILED, NULL,
                ONLY_CHANGE("shut those VMs down and run this again, or change only the next boot with "
                            "--persistent.") },
        /* The daemon's message gives the kernel command line argument. */
        { NV_ERROR_BUILTIN, FALSE, NV_EXIT_NOT_SUPPORTED, FAILED, NULL,
                SAME("add it to the kernel command line in your boot loader and reboot.") },
        { NV_ERROR_MODULES_DISABLED, FALSE, NV_EXIT_NOT_SUPPORTED, FAILED, NULL,
                SAME("only a reboot lifts this; --persistent still changes the setting for the next "
                     "boot.") },
        /* For a VM, the message says what its manager can express instead. */
        { NV_ERROR_NOT_SUPPORTED, FALSE, NV_EXIT_NOT_SUPPORTED, FAILED, NULL,
                ONLY_CHANGE("'nestvirtctl check' explains what this host lacks."),
                "the message says what the VM's manager can express; to expose, --host-model uses the host "
                "CPU model instead of a CPU flag." },
        /* The daemon's message names the VMs. */
        { NV_ERROR_VMS_REQUIRE_NESTING, FALSE, NV_EXIT_VMS_REQUIRE_NESTING, FAILED, NULL,
                ONLY_CHANGE("hide vmx/svm from them first ('nestvirtctl vm hide VM'), or pass "
                            "--ignore-requiring-vms to turn it off anyway: then they fail to start until "
                            "it is on again.") },
        /* The message names the lock. */
        { NV_ERROR_LOCKED, FALSE, NV_EXIT_LOCKED, FAILED, NULL,
                ONLY_CHANGE("run this again when the task that holds the lock (a backup, migration or "
                            "snapshot) has ended; 'qm unlock VMID' only when none runs.") },
        { NV_ERROR_NO_SUCH_VM, FALSE, NV_EXIT_NO_SUCH_VM, FAILED, NULL,
                SAME("the VM was removed meanwhile; 'nestvirtctl vms' lists the VMs now.") },
        /* The message has the manager's own words. */
        { NV_ERROR_MANAGER_FAILED, FALSE, NV_EXIT_MANAGER_FAILED, FAILED, NULL,
                ONLY_CHANGE("the VM manager refused the change; when someone else changed the VM's "
                            "configuration meanwhile, run this again.") },
        /* The daemon's message says what failed and what the rollback restored. */
        { NV_ERROR_RELOAD_FAILED, FALSE, NV_EXIT_FAILURE, FAILED, NULL,
                SAME("'nestvirtctl status' shows the state now; 'journalctl -u nestvirtd.service' has the "
                     "details.") },
};

static const ErrorReport error_other = { NULL, FALSE, NV_EXIT_FAILURE, FAILED, NULL, NULL, NULL, NULL };

static const ErrorReport *find_report(const GError *error)
{
        g_autofree char *name = NULL;

        /* GDBus's own timeout carries no D-Bus name; it means what the bus's does. */
        name = g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)
                ? g_strdup(DBUS_ERROR "Timeout")
                : g_dbus_error_get_remote_error(error);
        if (!name)
                return &error_other;

        for (size_t i = 0; i < G_N_ELEMENTS(error_reports); i++) {
                const ErrorReport *e = &error_reports[i];

                if (e->prefix ? g_str_has_prefix(name, e->name) : g_str_equal(name, e->name))
                        return e;
        }
        return &error_other;
}

GQuark nv_bus_error_quark(void)
{
        return g_quark_from_static_string("nv-bus-error-quark");
}

gboolean nv_bus_error_is_reported(const GError *error)
{
        return g_error_matches(error, NV_BUS_ERROR, NV_BUS_ERROR_REPORTED);
}

typedef enum {
        CALL_QUERY,
        CALL_CHANGE,
        CALL_VM_CHANGE,
} CallKind;

static const char *report_hint(const ErrorReport *e, CallKind kind)
{
        switch (kind) {
        case CALL_QUERY:
                return e->hint;
        case CALL_CHANGE:
                return e->hint_change;
        case CALL_VM_CHANGE:
                return e->hint_vm ? e->hint_vm : e->hint_change;
        }
        g_assert_not_reached();
}

/* Prints the error of a failed call and returns its exit code. */
static NvExitCode report_error(const GError *error, const char *action, CallKind kind)
{
        g_autoptr(GError) stripped = NULL;
        const ErrorReport *e;
        const char *hint;

        if (nv_bus_error_is_reported(error))
                return NV_EXIT_FAILURE;

        e = find_report(error);
        /* The remote name ("GDBus.Error:org...: ") is noise for a person; the row carries it. */
        stripped = g_error_copy(error);
        g_dbus_error_strip_remote_error(stripped);

        if (e->fixed)
                g_printerr("%s: %s\n", e->fixed, stripped->message);
        else
                g_printerr("%s %s: %s\n", e->lead, action, stripped->message);

        hint = report_hint(e, kind);
        if (hint)
                g_printerr("Hint: %s\n", hint);
        return e->exit_code;
}

NvExitCode nv_bus_report_error(const GError *error, const char *action)
{
        return report_error(error, action, CALL_QUERY);
}

NvExitCode nv_bus_report_change_error(const GError *error, const char *action)
{
        return report_error(error, action, CALL_CHANGE);
}

NvExitCode nv_bus_report_vm_change_error(const GError *error, const char *action)
{
        return report_error(error, action, CALL_VM_CHANGE);
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

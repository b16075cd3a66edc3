/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * -H: GDBus has no "unixexec:" transport (sd-bus has, and hostnamectl uses it), so the client
 * starts ssh itself and builds the connection on its pipes. The bus at the far end is whatever
 * systemd-stdio-bridge connects to by default: the system bus.
 *
 * Authentication: GDBus cannot send credentials over a pipe, so it offers ANONYMOUS, which
 * systemd-stdio-bridge accepts; the remote bus then sees the bridge's own credentials, those of
 * the ssh user, which is what polkit judges.
 */

#include <signal.h>
#include <string.h>

#include "remote.h"

#define SSH_BINARY    "ssh"
#define BRIDGE_BINARY "systemd-stdio-bridge"

gboolean nv_remote_parse_host(const char *spec, char **ret_user, char **ret_host)
{
        const char *at = strrchr(spec, '@'); /* ssh splits at the last '@' too */
        g_autofree char *user = NULL, *host = NULL;

        if (at) {
                user = g_strndup(spec, at - spec);
                host = g_strdup(at + 1);
                if (!*user)
                        return FALSE;
        } else
                host = g_strdup(spec);

        if (!*host || host[0] == '-')
                return FALSE;

        *ret_user = g_steal_pointer(&user);
        *ret_host = g_steal_pointer(&host);
        return TRUE;
}

gboolean nv_remote_connect(
        const char *spec, GSubprocess **ret_transport, GDBusConnection **ret_bus, GError **error)
{
        g_autoptr(GSubprocessLauncher) launcher = NULL;
        g_autoptr(GSubprocess) ssh = NULL;
        g_autoptr(GIOStream) stream = NULL;
        g_autoptr(GDBusConnection) bus = NULL;
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_autofree char *user = NULL, *host = NULL;

        if (!nv_remote_parse_host(spec, &user, &host)) {
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Invalid host '%s'", spec);
                return FALSE;
        }

        /* -x: no X11 forwarding, -T: no terminal (the pipe carries binary messages). "--" ends
         * ssh's options, so the host can never be read as one. */
        g_ptr_array_add(argv, (char *) SSH_BINARY);
        g_ptr_array_add(argv, (char *) "-xT");
        if (user) {
                g_ptr_array_add(argv, (char *) "-l");
                g_ptr_array_add(argv, user);
        }
        g_ptr_array_add(argv, (char *) "--");
        g_ptr_array_add(argv, host);
        g_ptr_array_add(argv, (char *) BRIDGE_BINARY);
        g_ptr_array_add(argv, NULL);

        /* stderr is shared: ssh's own errors and prompts reach the person. */
        launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
        ssh = g_subprocess_launcher_spawnv(launcher, (const char *const *) argv->pdata, error);
        if (!ssh)
                return FALSE;

        stream = g_simple_io_stream_new(g_subprocess_get_stdout_pipe(ssh), g_subprocess_get_stdin_pipe(ssh));
        bus = g_dbus_connection_new_sync(stream, NULL,
                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                        G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                NULL, NULL, error);
        if (!bus) {
                /* GDBus only saw the pipe close ("Unexpected lack of content ..."); when that was
                 * ssh giving up, its exit status says more. ssh has said why on stderr. */
                g_subprocess_send_signal(ssh, SIGTERM);
                (void) g_subprocess_wait(ssh, NULL, NULL);
                if (g_subprocess_get_if_exited(ssh) && g_subprocess_get_exit_status(ssh) != 0) {
                        g_clear_error(error);
                        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s exited with status %d",
                                SSH_BINARY, g_subprocess_get_exit_status(ssh));
                }
                return FALSE;
        }

        *ret_transport = g_steal_pointer(&ssh);
        *ret_bus = g_steal_pointer(&bus);
        return TRUE;
}

void nv_remote_disconnect(GSubprocess *transport, GDBusConnection *bus)
{
        if (bus && !g_dbus_connection_is_closed(bus))
                (void) g_dbus_connection_close_sync(bus, NULL, NULL);

        if (!transport)
                return;
        /* Every reply is in: nothing is lost when ssh goes now rather than after its peer. */
        g_subprocess_send_signal(transport, SIGTERM);
        (void) g_subprocess_wait(transport, NULL, NULL);
        g_object_unref(transport);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

/* The system bus of another machine, reached as hostnamectl -H does it: "ssh -xT [-l USER] --
 * HOST systemd-stdio-bridge" forwards D-Bus messages between its standard input and output and
 * the remote system bus, and the connection speaks the D-Bus protocol over the pipes to ssh. */

/* Splits "[USER@]HOST" into its parts (user NULL when not given). FALSE when either part is empty
 * or HOST starts with '-' (ssh would take it for an option). */
gboolean nv_remote_parse_host(const char *spec, char **ret_user, char **ret_host);

/* Starts ssh and connects over it. On failure returns FALSE with error set; ssh's own complaint
 * (unknown host, refused key) has already gone to stderr, which ssh shares with us. */
gboolean nv_remote_connect(
        const char *spec, GSubprocess **ret_transport, GDBusConnection **ret_bus, GError **error);

/* Closes the connection and ends ssh. Both may be NULL. */
void nv_remote_disconnect(GSubprocess *transport, GDBusConnection *bus);

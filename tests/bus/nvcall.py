#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Makes D-Bus calls on the system bus and reports them as JSON, keeping every D-Bus type.

The bus tests call the daemon as root from their own process (import this module) and as an
unprivileged user through setpriv (run this file), and both go through call_many() below, so
the two identities are tested with the same code.

    nvcall.py 'REQUESTS'

REQUESTS is a JSON list of calls:

    {"dest": NAME, "path": PATH, "interface": IFACE, "member": METHOD,
     "signature": "ss", "args": [...],        optional, the call's in-arguments, in the
                                              same JSON form as replies (below)
     "no_auto_start": false,                  optional, do not activate the destination
     "allow_interactive": false,              optional, set the header flag "allow interactive
                                              authorization" (polkit may then ask a person)
     "timeout_ms": 25000}                     optional

and the output is one JSON list with, for each call, either

    {"ok": true, "type": "(a{sv})", "value": [...]}
    {"ok": false, "error": "org.freedesktop.DBus.Error.AccessDenied", "message": "..."}

where "message" is the text the sender put in the error, without GDBus's "GDBus.Error:NAME: "
prefix.

In "value", containers become lists (arrays, structs) and objects (dictionaries), and every
variant becomes {"variant": TYPE, "value": ...}, so the receiver sees the exact type that was
sent (a property of type "u" and one of type "i" are not the same thing).

The bus is the system bus: DBUS_SYSTEM_BUS_ADDRESS, as for every client.
"""

import json
import os
import sys

import gi

gi.require_version('Gio', '2.0')
gi.require_version('GLib', '2.0')
from gi.repository import Gio, GLib  # noqa: E402

SYSTEM_BUS_DEFAULT = 'unix:path=/run/dbus/system_bus_socket'


def connect(address=None):
    """A new private connection to the system bus (not GLib's shared singleton)."""
    if address is None:
        address = os.environ.get('DBUS_SYSTEM_BUS_ADDRESS', SYSTEM_BUS_DEFAULT)
    flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
             Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
    return Gio.DBusConnection.new_for_address_sync(address, flags, None, None)


def to_json(v):
    """A GLib.Variant as JSON-compatible data; variants keep their type (see above)."""
    t = v.get_type_string()
    if t == 'v':
        inner = v.get_variant()
        return {'variant': inner.get_type_string(), 'value': to_json(inner)}
    if t.startswith('a{'):
        out = {}
        for i in range(v.n_children()):
            entry = v.get_child_value(i)
            key = entry.get_child_value(0).unpack()
            out[str(key)] = to_json(entry.get_child_value(1))
        return out
    if t.startswith('a') or t.startswith('('):
        return [to_json(v.get_child_value(i)) for i in range(v.n_children())]
    if t == 'm':  # maybe types do not appear on D-Bus; kept for completeness
        return None
    value = v.unpack()
    if isinstance(value, bytes):
        return list(value)
    return value


def split_types(sig):
    """The complete types of a signature: "sa{sv}(ii)" -> ["s", "a{sv}", "(ii)"]."""
    types, i = [], 0
    while i < len(sig):
        j = i
        while sig[j] == 'a':
            j += 1
        if sig[j] in '({':
            depth = 0
            while True:
                depth += {'(': 1, '{': 1, ')': -1, '}': -1}.get(sig[j], 0)
                j += 1
                if depth == 0:
                    break
        else:
            j += 1
        types.append(sig[i:j])
        i = j
    return types


def from_json(t, value):
    """The inverse of to_json(): JSON data as the value of a GLib.Variant of type t."""
    if t == 'v':
        return GLib.Variant(value['variant'], from_json(value['variant'], value['value']))
    if t.startswith('a{'):
        key_t, value_t = split_types(t[2:-1])
        return {from_json(key_t, k): from_json(value_t, v) for k, v in value.items()}
    if t.startswith('a'):
        return [from_json(t[1:], x) for x in value]
    if t.startswith('('):
        return tuple(from_json(et, x) for et, x in zip(split_types(t[1:-1]), value))
    return value


def call_args(req):
    """The arguments of GDBusConnection.call()/call_sync() for one request, up to the timeout."""
    params = None
    signature = req.get('signature', '')
    if signature:
        t = '(' + signature + ')'
        params = GLib.Variant(t, from_json(t, req.get('args', [])))
    flags = Gio.DBusCallFlags.NONE
    if req.get('no_auto_start'):
        flags |= Gio.DBusCallFlags.NO_AUTO_START
    if req.get('allow_interactive'):
        flags |= Gio.DBusCallFlags.ALLOW_INTERACTIVE_AUTHORIZATION
    return (req['dest'], req['path'], req['interface'], req['member'], params, None, flags,
            req.get('timeout_ms', 25000))


def error_json(e):
    """A GLib.Error of a call as {"ok": false, ...}."""
    name = Gio.DBusError.get_remote_error(e)
    message = e.message
    if name is None:
        # PyGObject gives the domain as its name (a str); older versions gave the quark.
        domain = e.domain if isinstance(e.domain, str) else GLib.quark_to_string(e.domain)
        name = 'local:%s:%d' % (domain, e.code)
    else:
        # strip_remote_error() would edit a copy: PyGObject hands out GErrors by value.
        prefix = 'GDBus.Error:%s: ' % name
        if message.startswith(prefix):
            message = message[len(prefix):]
    return {'ok': False, 'error': name, 'message': message}


def reply_json(reply):
    return {'ok': True, 'type': reply.get_type_string(), 'value': to_json(reply)}


def call_one(conn, req):
    try:
        reply = conn.call_sync(*call_args(req), None)
    except GLib.Error as e:
        return error_json(e)
    return reply_json(reply)


def call_many(conn, requests):
    return [call_one(conn, r) for r in requests]


def main(argv):
    if len(argv) != 2:
        print('usage: %s REQUESTS-JSON' % argv[0], file=sys.stderr)
        return 2
    requests = json.loads(argv[1])
    try:
        conn = connect()
    except GLib.Error as e:
        print('nvcall: cannot connect to the system bus: %s' % e.message, file=sys.stderr)
        return 1
    json.dump(call_many(conn, requests), sys.stdout)
    sys.stdout.write('\n')
    conn.close_sync(None)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

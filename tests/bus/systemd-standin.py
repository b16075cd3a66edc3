#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A stand-in for systemd's manager on the test bus, which has no systemd behind it (systemd does
not run as PID 1 here). It owns org.freedesktop.systemd1 and answers TryRestartUnit(ss) as the
real manager does (the object path of a job), without restarting anything, and appends each call
to LOG as one line "TryRestartUnit UNIT MODE". Any other method gets UnknownMethod, as the test
only needs to see what nestvirtd asks for.

    systemd-standin.py LOG

Runs until killed; prints "ready" on stdout once it owns the name.
"""

import sys

import gi

gi.require_version('Gio', '2.0')
from gi.repository import Gio, GLib  # noqa: E402

NAME = 'org.freedesktop.systemd1'
PATH = '/org/freedesktop/systemd1'
XML = '''<node>
  <interface name="org.freedesktop.systemd1.Manager">
    <method name="TryRestartUnit">
      <arg type="s" name="name" direction="in"/>
      <arg type="s" name="mode" direction="in"/>
      <arg type="o" name="job" direction="out"/>
    </method>
  </interface>
</node>'''


def main(log_path):
    loop = GLib.MainLoop()
    jobs = [0]

    def on_call(conn, sender, path, iface, method, params, invocation):
        unit, mode = params.unpack()
        with open(log_path, 'a') as f:
            f.write('%s %s %s\n' % (method, unit, mode))
        jobs[0] += 1
        invocation.return_value(GLib.Variant('(o)', ('%s/job/%d' % (PATH, jobs[0]),)))

    def on_bus(conn, name):
        info = Gio.DBusNodeInfo.new_for_xml(XML)
        conn.register_object(PATH, info.interfaces[0], on_call, None, None)

    def on_name(conn, name):
        print('ready', flush=True)

    def on_lost(conn, name):
        sys.stderr.write('could not own %s\n' % NAME)
        loop.quit()

    Gio.bus_own_name(Gio.BusType.SYSTEM, NAME, Gio.BusNameOwnerFlags.NONE, on_bus, on_name, on_lost)
    loop.run()
    return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))

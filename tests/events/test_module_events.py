#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Module events: a uevent for kvm, kvm_intel or kvm_amd makes nestvirtd re-read the host and
announce what changed; other modules' events do not.

The uevent travels the real path: a netlink multicast to the udev group, in the format udevd
uses, received by the daemon's libudev monitor. Only the sender is a stand-in for udevd, which
does not run here; the kernel's own group cannot be written from user space (its messages must
come from pid 0), so that group is exercised by the kernel tier (tests/vm).
"""

import os
import shutil
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'bus'))
import nvtest  # noqa: E402

from gi.repository import Gio, GLib  # noqa: E402

NETLINK_KOBJECT_UEVENT = 15
UDEV_GROUP = 2
UDEV_MONITOR_MAGIC = 0xfeedcafe


def murmur_hash2(data, seed=0):
    """MurmurHash2, 32 bit: libudev's hash of the subsystem name for its socket filter."""
    m, r = 0x5bd1e995, 24
    length = len(data)
    h = (seed ^ length) & 0xffffffff
    i = 0
    while length >= 4:
        k = struct.unpack_from('<I', data, i)[0]
        k = (k * m) & 0xffffffff
        k ^= k >> r
        k = (k * m) & 0xffffffff
        h = (h * m) & 0xffffffff
        h ^= k
        i += 4
        length -= 4
    if length == 3:
        h ^= data[i + 2] << 16
    if length >= 2:
        h ^= data[i + 1] << 8
    if length >= 1:
        h ^= data[i]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    h ^= h >> 15
    return h


def send_module_uevent(module, action, seqnum):
    props = ('ACTION=%s\0DEVPATH=/module/%s\0SUBSYSTEM=module\0SEQNUM=%d\0'
             % (action, module, seqnum)).encode()
    header_size = 40
    header = struct.pack('=8sIIIIIIII', b'libudev\0', socket.htonl(UDEV_MONITOR_MAGIC), header_size,
                         header_size, len(props), socket.htonl(murmur_hash2(b'module')), 0, 0, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_KOBJECT_UEVENT) as s:
        s.bind((0, 0))
        s.sendto(header + props, (0, UDEV_GROUP))


class Watcher:
    """Collects PropertiesChanged of the daemon's object."""

    def __init__(self, address):
        self.conn = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.changes = []
        self.conn.signal_subscribe(None, nvtest.PROPERTIES, 'PropertiesChanged', nvtest.OBJECT_PATH,
                                   None, Gio.DBusSignalFlags.NONE, self._on_signal)

    def _on_signal(self, conn, sender, path, iface, member, params):
        changed = params.unpack()[1]
        self.changes.append(changed)

    def wait(self, predicate, timeout):
        ctx = GLib.MainContext.default()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while ctx.iteration(False):
                pass
            if any(predicate(c) for c in self.changes):
                return True
            time.sleep(0.02)
        return False


def nested(h):
    return h.caller().get('Nested')[1]


class ModuleEventTest(nvtest.BusTestCase):
    FIXTURE = 'amd-host'

    def setUp(self):
        if os.geteuid() != 0:
            raise unittest.SkipTest('sending to the udev netlink group needs root')
        super().setUp()
        self.assertEqual(nested(self.h), 'enabled')
        self.watcher = Watcher(self.h.address)
        self.nested_file = os.path.join(self.h.root, 'sys/module/kvm_amd/parameters/nested')

    def test_kvm_event_announces_change(self):
        nvtest.write_file(self.nested_file, '0\n')
        send_module_uevent('kvm_amd', 'add', 4711)
        self.assertTrue(self.watcher.wait(lambda c: c.get('Nested') == 'disabled', 10),
                        'no PropertiesChanged with Nested=disabled after a kvm_amd uevent: %r'
                        % self.watcher.changes)
        self.assertEqual(nested(self.h), 'disabled')

    def test_unload_event_announces_state(self):
        shutil.rmtree(os.path.join(self.h.root, 'sys/module/kvm_amd'))
        send_module_uevent('kvm_amd', 'remove', 4712)
        self.assertTrue(self.watcher.wait(lambda c: c.get('ModuleState') == 'not-loaded', 10),
                        'no PropertiesChanged with ModuleState=not-loaded: %r' % self.watcher.changes)
        self.assertEqual(nested(self.h), 'unknown')

    def test_other_module_event_is_ignored(self):
        nvtest.write_file(self.nested_file, '0\n')
        send_module_uevent('dummy', 'add', 4713)
        self.assertFalse(self.watcher.wait(lambda c: 'Nested' in c, 1.5),
                         'an unrelated module event made the daemon re-read the host')
        # The snapshot is untouched until an event that concerns KVM arrives.
        self.assertEqual(nested(self.h), 'enabled')
        send_module_uevent('kvm', 'add', 4714)
        self.assertTrue(self.watcher.wait(lambda c: c.get('Nested') == 'disabled', 10))


if __name__ == '__main__':
    sys.exit(nvtest.main())

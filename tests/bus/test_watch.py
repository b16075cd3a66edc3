#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The bus tier, watchers and subscribers: changes made behind nestvirtd's back reach the clients
that subscribed, and Subscribe() keeps the daemon from exiting on idle.

tests/bus/meson.build registers every test_* method here as its own meson test (named after the
method, without "test_"). By hand, from a build directory:

    meson test -C BUILD --suite bus watch_etc_edit -v

What is tested:
- files in the modprobe.d directories of the fixture root (NESTVIRT_ROOT) edited in place,
  created, renamed into place, removed, and a directory that did not exist when the daemon
  started: a subscriber sees PropertiesChanged for NestedNextLoad and NestedSettings, without any
  call that would make the daemon look;
- a burst of writes is one refresh, not one per event;
- Subscribe() and Unsubscribe(): the daemon stays past its idle timeout while a subscriber is
  connected, and exits on idle once none is; Unsubscribe() without a subscription is an error;
- nestvirtctl monitor subscribes: it prints a change made after the idle timeout has passed.

Every wait is bounded and says what it waited for. Bounds are generous (loaded machines,
sanitizers); nothing asserts how fast something happened, only that it happened within a bound.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nvtest  # noqa: E402
from nvtest import BUS_NAME, INTERFACE, OBJECT_PATH, BusTestCase  # noqa: E402

NOT_SUBSCRIBED = 'org.nestvirt.NestVirt1.Error.NotSubscribed'

# How long a change behind the daemon's back may take to be announced.
SIGNAL_TIMEOUT = 15
# Loaded machines, sanitizers: what an idle exit may take beyond the idle timeout. Only a bound: an
# exit that takes longer is as correct, so it is generous (a shared CI machine once needed > 15 s).
EXIT_MARGIN = 40

ETC_CONF = 'etc/modprobe.d/kvm.conf'
OPTIONS_ON = 'options kvm_amd nested=1\n'
OPTIONS_OFF = 'options kvm_amd nested=0\n'


def need_root(why):
    if os.geteuid() != 0:
        raise unittest.SkipTest('needs root: ' + why)


class Subscriber(nvtest.SignalRecorder):
    """A SignalRecorder whose connection has called Subscribe() (which starts the daemon)."""

    def __init__(self, address):
        super().__init__(address)
        self.call('Subscribe')

    def call(self, member):
        """Calls member (no arguments) on the daemon; returns None or the D-Bus error name."""
        from gi.repository import Gio, GLib
        try:
            self.conn.call_sync(BUS_NAME, OBJECT_PATH, INTERFACE, member, None, None,
                                Gio.DBusCallFlags.NONE, 60000, None)
        except GLib.Error as e:
            return Gio.DBusError.get_remote_error(e)
        return None

    def close(self):
        """Leaves the bus (which ends the subscription); closing again does nothing."""
        if not self.conn.is_closed():
            super().close()

    def last(self, prop):
        """The value of prop the last signal announced, or None."""
        values = self.changed().get(prop)
        return values[-1] if values else None

    def wait_value(self, prop, value, what):
        self.wait(lambda r: r.last(prop) == value, SIGNAL_TIMEOUT,
                  what='PropertiesChanged with %s=%r (%s)' % (prop, value, what))

    def count(self, prop):
        return len(self.changed().get(prop, []))


def settings_sources(value):
    """The sources of a NestedSettings value (nvcall.py's JSON form of a(sss))."""
    return [entry[0] for entry in value or []]


class WatchCase(BusTestCase):
    FIXTURE = 'amd-host'

    def subscribe(self):
        sub = Subscriber(self.h.address)
        self.addCleanup(sub.close)
        return sub

    def write_host(self, rel, content):
        """Writes a fixture file in place: open, truncate, write, close (IN_CLOSE_WRITE)."""
        self.h.fixture_write(rel, content)

    def assert_snapshot(self, next_load, source):
        c = self.h.caller()
        self.assertEqual(c.get('NestedNextLoad'), ('s', next_load))
        self.assertEqual(c.get('NestedNextLoadSource'), ('s', source))


class ModprobeWatchTest(WatchCase):
    """Each kind of change to the modprobe.d directories, seen by a subscriber."""

    def test_watch_etc_edit(self):
        self.write_host(ETC_CONF, OPTIONS_ON)
        sub = self.subscribe()
        self.assert_snapshot('enabled', '/etc/modprobe.d/kvm.conf')

        # As an administrator's editor or "echo >" would: in place, from outside the daemon.
        self.write_host(ETC_CONF, OPTIONS_OFF)
        sub.wait_value('NestedNextLoad', 'disabled', 'after editing /etc/modprobe.d/kvm.conf')
        sub.wait(lambda r: 'NestedSettings' in r.changed(), SIGNAL_TIMEOUT,
                 what='PropertiesChanged with NestedSettings after editing kvm.conf')
        settings = sub.last('NestedSettings')
        self.assertIn('/etc/modprobe.d/kvm.conf', settings_sources(settings), settings)
        self.assertEqual([e[1] for e in settings if e[0] == '/etc/modprobe.d/kvm.conf'], ['0'],
                         settings)
        self.assert_snapshot('disabled', '/etc/modprobe.d/kvm.conf')

    def test_watch_run_new_file(self):
        os.makedirs(self.h.fixture_path('run/modprobe.d'))
        sub = self.subscribe()
        self.assert_snapshot('enabled', 'kernel-default')

        self.write_host('run/modprobe.d/nested.conf', OPTIONS_OFF)
        sub.wait_value('NestedNextLoad', 'disabled', 'after creating /run/modprobe.d/nested.conf')
        sub.wait_value('NestedNextLoadSource', '/run/modprobe.d/nested.conf',
                       'the new file as the source')
        sub.wait(lambda r: '/run/modprobe.d/nested.conf' in settings_sources(
            r.last('NestedSettings')), SIGNAL_TIMEOUT,
            what='NestedSettings to list /run/modprobe.d/nested.conf')

    def test_watch_rename_into_place(self):
        self.write_host(ETC_CONF, OPTIONS_ON)
        sub = self.subscribe()
        self.assert_snapshot('enabled', '/etc/modprobe.d/kvm.conf')

        # Atomic replace, as editors and package managers do: a temporary file renamed over it.
        tmp = self.h.fixture_path('etc/modprobe.d/.kvm.conf.XXXXXX')
        nvtest.write_file(tmp, OPTIONS_OFF)
        os.rename(tmp, self.h.fixture_path(ETC_CONF))
        sub.wait_value('NestedNextLoad', 'disabled', 'after renaming a file onto kvm.conf')
        self.assertIn('NestedSettings', sub.changed())
        self.assert_snapshot('disabled', '/etc/modprobe.d/kvm.conf')

        # Renamed away (dpkg's *.conf.dpkg-old): libkmod no longer reads it.
        os.rename(self.h.fixture_path(ETC_CONF), self.h.fixture_path(ETC_CONF + '.dpkg-old'))
        sub.wait_value('NestedNextLoad', 'enabled', 'after renaming kvm.conf away')
        self.assert_snapshot('enabled', 'kernel-default')

    def test_watch_remove(self):
        self.write_host(ETC_CONF, OPTIONS_OFF)
        sub = self.subscribe()
        self.assert_snapshot('disabled', '/etc/modprobe.d/kvm.conf')

        os.unlink(self.h.fixture_path(ETC_CONF))
        sub.wait_value('NestedNextLoad', 'enabled', 'after removing kvm.conf')
        sub.wait_value('NestedNextLoadSource', 'kernel-default', 'after removing kvm.conf')
        sub.wait(lambda r: r.last('NestedSettings') == [], SIGNAL_TIMEOUT,
                 what='NestedSettings to become empty after removing kvm.conf')

    def test_watch_new_directory(self):
        # Not even /usr/local exists in the fixture: the daemon waits on /usr.
        self.assertFalse(os.path.exists(self.h.fixture_path('usr/local')))
        sub = self.subscribe()
        self.assert_snapshot('enabled', 'kernel-default')

        # The directory appears with its file, as a package would unpack it.
        self.write_host('usr/local/lib/modprobe.d/kvm-local.conf', OPTIONS_OFF)
        sub.wait_value('NestedNextLoad', 'disabled',
                       'after creating /usr/local/lib/modprobe.d/kvm-local.conf')
        sub.wait_value('NestedNextLoadSource', '/usr/local/lib/modprobe.d/kvm-local.conf',
                       'the file in the new directory as the source')

        # Now the directory itself is watched: an edit there is seen too.
        self.write_host('usr/local/lib/modprobe.d/kvm-local.conf', OPTIONS_ON)
        sub.wait_value('NestedNextLoad', 'enabled', 'after editing the file in the new directory')

        # And when the whole directory goes away, and comes back, so does its setting.
        self.write_host('usr/local/lib/modprobe.d/kvm-local.conf', OPTIONS_OFF)
        sub.wait_value('NestedNextLoad', 'disabled', 'after a second edit in the new directory')
        shutil.rmtree(self.h.fixture_path('usr/local/lib/modprobe.d'))
        sub.wait_value('NestedNextLoad', 'enabled', 'after removing the new directory')
        self.write_host('usr/local/lib/modprobe.d/kvm-local.conf', OPTIONS_OFF)
        sub.wait_value('NestedNextLoad', 'disabled', 'after creating the directory again')
        self.assert_snapshot('disabled', '/usr/local/lib/modprobe.d/kvm-local.conf')

    def test_watch_burst(self):
        """50 writes are one refresh. The daemon is stopped (SIGSTOP) while they are made, so
        that all of them are waiting when it looks again, however loaded the machine: what is
        tested is that one look covers them all, not how fast the daemon is."""
        need_root('the test stops and continues the daemon')
        self.write_host(ETC_CONF, OPTIONS_ON)
        sub = self.subscribe()
        pids = self.h.running()
        self.assertEqual(len(pids), 1, pids)

        os.kill(pids[0], signal.SIGSTOP)
        try:
            for i in range(50):
                # Alternating, ending with a different value than the start: without coalescing
                # every write would be a change to announce.
                name = ETC_CONF if i % 2 else 'etc/modprobe.d/kvm-%02d.conf' % i
                self.write_host(name, OPTIONS_OFF if i % 2 else OPTIONS_ON)
        finally:
            os.kill(pids[0], signal.SIGCONT)

        sub.wait_value('NestedNextLoad', 'disabled', 'after a burst of 50 writes')
        # A call after the refresh: its reply comes after any signal the daemon sent before it.
        self.assert_snapshot('disabled', '/etc/modprobe.d/kvm.conf')
        sub.pump()
        self.assertLessEqual(sub.count('NestedNextLoad'), 2,
                             'a burst of 50 writes was announced as %s' % sub.changed())
        self.assertLessEqual(len(sub.signals), 4, 'too many signals for one burst: %s'
                             % sub.signals)


class SubscribeTest(WatchCase):
    IDLE_TIMEOUT = 2

    def wait_alive(self, pid, seconds):
        """Fails as soon as the daemon leaves the bus within seconds; returns after them."""
        c = self.h.caller()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.assertTrue(c.name_has_owner(), 'the daemon gave up its name %.1f s before the '
                            'end of the wait, with a subscriber connected'
                            % (deadline - time.monotonic()))
            self.assertIsNone(self.h.exit_status(pid), 'nestvirtd (pid %d) exited with a '
                              'subscriber connected' % pid)
            time.sleep(0.2)

    def test_subscribe_keeps_daemon(self):
        self.write_host(ETC_CONF, OPTIONS_ON)
        sub = self.subscribe()
        pids = self.h.running()
        self.assertEqual(len(pids), 1, pids)

        # Clearly longer than the idle timeout, with no call to the daemon at all.
        self.wait_alive(pids[0], 3 * self.IDLE_TIMEOUT + 2)

        # A change behind the daemon's back still reaches the subscriber.
        self.write_host(ETC_CONF, OPTIONS_OFF)
        sub.wait_value('NestedNextLoad', 'disabled', 'after the idle timeout had passed')
        self.assertEqual(self.h.instances(), pids, 'the change was seen by a new instance')

        # The subscriber leaves: the daemon exits on idle.
        sub.close()
        self.assertEqual(self.h.wait_exit(pids[0], timeout=self.IDLE_TIMEOUT + EXIT_MARGIN), 0,
                         'nestvirtd did not exit 0 on idle after its subscriber left')

    def test_unsubscribe(self):
        sub = self.subscribe()
        pids = self.h.running()
        # Twice is one subscription.
        self.assertIsNone(sub.call('Subscribe'))
        self.assertIsNone(sub.call('Unsubscribe'))
        self.assertEqual(sub.call('Unsubscribe'), NOT_SUBSCRIBED)

        # Connected but no longer subscribed: the daemon exits on idle.
        self.assertEqual(self.h.wait_exit(pids[0], timeout=self.IDLE_TIMEOUT + EXIT_MARGIN), 0,
                         'nestvirtd did not exit 0 on idle after Unsubscribe')

    def test_unsubscribe_never_subscribed(self):
        r = self.h.caller().call1(BUS_NAME, OBJECT_PATH, INTERFACE, 'Unsubscribe')
        self.assertFalse(r['ok'])
        self.assertEqual(r['error'], NOT_SUBSCRIBED, r)

    def test_subscribe_user(self):
        """Anyone may subscribe: no polkit runs on this bus, and the user is not root."""
        c = self.h.user_caller()
        self.assertEqual(c.ok(BUS_NAME, OBJECT_PATH, INTERFACE, 'Subscribe'), [])
        r = c.call([dict(dest=BUS_NAME, path=OBJECT_PATH, interface=INTERFACE, member=m,
                         signature='', args=[]) for m in ('Subscribe', 'Unsubscribe',
                                                          'Unsubscribe')])
        self.assertEqual([x['ok'] for x in r], [True, True, False], r)
        self.assertEqual(r[2]['error'], NOT_SUBSCRIBED, r)

    def test_monitor_subscribes(self):
        import test_client
        self.write_host(ETC_CONF, OPTIONS_ON)
        proc, lines = test_client.start_monitor(self)
        lines.wait_for(r'Watching nestvirtd', timeout=60)
        pids = self.h.running()
        self.assertEqual(len(pids), 1, pids)

        self.wait_alive(pids[0], 3 * self.IDLE_TIMEOUT + 2)

        self.write_host(ETC_CONF, OPTIONS_OFF)
        line = lines.wait_for(r' NestedNextLoad: ', start=1, timeout=SIGNAL_TIMEOUT)
        self.assertRegex(line, '^' + test_client.TIMESTAMP.pattern +
                         r' NestedNextLoad: enabled → disabled$')
        self.assertEqual(self.h.instances(), pids, 'the change was printed from a new instance')

        proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.fail('monitor did not end within 15 s of SIGINT')
        self.assertEqual(rc, 0, nvtest.read_file(os.path.join(self.h.tmp, 'monitor.stderr'), ''))
        self.assertEqual(self.h.wait_exit(pids[0], timeout=self.IDLE_TIMEOUT + EXIT_MARGIN), 0,
                         'nestvirtd did not exit 0 on idle after the monitor ended')


if __name__ == '__main__':
    sys.exit(nvtest.main())

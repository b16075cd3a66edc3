#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The bus tier: nestvirtd on a real dbus-daemon configured like the system bus.

tests/bus/meson.build registers every test_* method here as its own meson test (named after the
method, without "test_"); list-tests.py finds them. To run one by hand from a build directory:

    meson test -C BUILD --suite bus properties_user -v

or, with test_env's variables set, /usr/bin/python3 test_nestvirtd.py PropertiesTest.test_properties_user
"""

import difflib
import json
import os
import select
import shlex
import signal
import subprocess
import sys
import time
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nvtest  # noqa: E402
from nvtest import (BUS_NAME, DBUS_NAME, DBUS_PATH, INTERFACE, INTROSPECTABLE,  # noqa: E402
                    OBJECT_PATH, PEER, PROPERTIES, BusTestCase)

ACCESS_DENIED = 'org.freedesktop.DBus.Error.AccessDenied'

# Member names of struct properties in nestvirtctl's JSON (see client/json-output.c).
STRUCT_FIELDS = {'NestedSettings': ('source', 'value', 'effect')}


def need_root(what):
    if os.geteuid() != 0:
        raise unittest.SkipTest('needs root: %s' % what)


def fixture_value(h, rel):
    return nvtest.read_file(os.path.join(h.root, rel)).strip()


def cpuinfo_vendor_id(h):
    for line in nvtest.read_file(os.path.join(h.root, 'proc/cpuinfo')).splitlines():
        key, _, value = line.partition(':')
        if key.strip() == 'vendor_id':
            return value.strip()
    return ''


def json_of_property(name, value):
    """What nestvirtctl --json prints for a GetAll value (as nvcall.py reports it)."""
    fields = STRUCT_FIELDS.get(name)
    if fields and isinstance(value, list):
        return [dict(zip(fields, item)) if isinstance(item, list) else item for item in value]
    return value


class PropertiesTest(BusTestCase):
    """Every property of the XML, read with Get and GetAll, by root and by an unprivileged
    user, on an AMD host with kvm_amd loaded and nested=1."""
    FIXTURE = 'amd-host'

    def expected(self):
        h = self.h
        return {
            'Version': nvtest.project_version(),
            'KernelRelease': fixture_value(h, 'proc/sys/kernel/osrelease'),
            'Vendor': 'amd',
            'VendorId': cpuinfo_vendor_id(h),
            'Module': 'kvm_amd',
            'HardwareSupport': True,
            'Role': 'host',
            'Hypervisor': '',
            'ModuleState': 'loaded',
            'ModuleRefCount': int(fixture_value(h, 'sys/module/kvm_amd/refcnt')),
            'Nested': 'enabled',
            'NestedNextLoad': 'enabled',  # kvm_amd's default: nested=1
            'NestedNextLoadSource': 'kernel-default',
            'NestedSettings': [],
            'NestedOverridden': [],
            'NestedConflict': False,
            'ModulesDisabled': False,
        }

    def check_properties(self, caller):
        contract = self.contract.properties()
        expected = self.expected()
        self.assertTrue(contract, 'the XML declares no properties')
        self.assertLessEqual(set(expected), set(contract),
                             'this test expects properties the XML does not declare')
        self.assertEqual(self.contract.interface.get('name'), INTERFACE)

        got_all = caller.get_all()
        self.assertEqual(sorted(got_all), sorted(contract),
                         'GetAll returns other properties than the XML declares')

        names = sorted(contract)
        replies = caller.call([dict(dest=BUS_NAME, path=OBJECT_PATH, interface=PROPERTIES,
                                    member='Get', signature='ss', args=[INTERFACE, n])
                               for n in names])
        for name, reply in zip(names, replies):
            ctype, access = contract[name]
            with self.subTest(property=name):
                self.assertTrue(reply['ok'], 'Get(%s) failed: %s' % (name, reply))
                self.assertEqual(reply['type'], '(v)')
                got = (reply['value'][0]['variant'], reply['value'][0]['value'])
                self.assertEqual(got[0], ctype, 'Get(%s): type %s, the XML says %s'
                                 % (name, got[0], ctype))
                self.assertEqual(got_all[name], got, 'Get and GetAll disagree on %s' % name)
                if name in expected:
                    self.assertEqual(got[1], expected[name], 'wrong value of %s' % name)

        # The XML says every property is read-only: Set must be refused by the daemon (not by
        # the bus policy, which lets anyone call Properties).
        sets = caller.call([dict(dest=BUS_NAME, path=OBJECT_PATH, interface=PROPERTIES,
                                 member='Set', signature='ssv',
                                 args=[INTERFACE, n, {'variant': got_all[n][0],
                                                        'value': got_all[n][1]}])
                            for n in names if contract[n][1] == 'read'])
        for reply in sets:
            self.assertFalse(reply['ok'], 'Set of a read-only property succeeded')
            self.assertEqual(reply['error'], 'org.freedesktop.DBus.Error.PropertyReadOnly')

        unknown = caller.call1(BUS_NAME, OBJECT_PATH, PROPERTIES, 'Get', 'ss',
                               [INTERFACE, 'NoSuchProperty'])
        self.assertFalse(unknown['ok'])
        self.assertEqual(unknown['error'], 'org.freedesktop.DBus.Error.UnknownProperty')

    def test_properties_root(self):
        need_root('the caller must be root')
        self.check_properties(self.h.caller())

    def test_properties_user(self):
        self.check_properties(self.h.user_caller())


class AcceptanceTest(BusTestCase):
    """The case nestvirt exists for: a modprobe.d file turns nested off, the kernel command line
    turns it on, and the command line wins."""
    FIXTURE = 'amd-cmdline-override'

    def test_acceptance(self):
        self.assertIn('kvm_amd.nested=1', fixture_value(self.h, 'proc/cmdline'))
        self.assertIn('nested=0', fixture_value(self.h, 'etc/modprobe.d/kvm-amd.conf'))
        p = {k: v for k, (t, v) in self.h.caller().get_all().items()}
        self.assertEqual(p['Vendor'], 'amd')
        self.assertEqual(p['Module'], 'kvm_amd')
        self.assertEqual(p['NestedNextLoad'], 'enabled')
        self.assertEqual(p['NestedNextLoadSource'], 'kernel-command-line')
        self.assertEqual(p['NestedOverridden'], ['/etc/modprobe.d/kvm-amd.conf'])
        self.assertIs(p['NestedConflict'], True)
        # In the order the kernel applies them: files, then the command line.
        self.assertEqual(p['NestedSettings'], [['/etc/modprobe.d/kvm-amd.conf', '0', 'disabled'],
                                               ['kernel-command-line', '1', 'enabled']])
        # The live value is the fixture's /sys/module/kvm_amd/parameters/nested (1).
        self.assertEqual(p['Nested'], 'enabled')


class IntrospectionTest(BusTestCase):
    """The running daemon's interface is exactly the XML contract."""

    def live_xml(self):
        text = self.h.caller().introspect()
        return ET.fromstring(text)

    def test_introspection(self):
        live = nvtest.find_interface(self.live_xml(), INTERFACE)
        self.assertIsNotNone(live, 'the daemon does not export %s on %s' % (INTERFACE, OBJECT_PATH))
        want = nvtest.interface_lines(self.contract.interface)
        got = nvtest.interface_lines(live)
        if want != got:
            diff = '\n'.join(difflib.unified_diff(want, got, self.contract.path,
                                                  'Introspect() of the running nestvirtd',
                                                  lineterm=''))
            self.fail('the live interface differs from the contract:\n' + diff)

    def test_standard_interfaces(self):
        node = self.live_xml()
        members = {
            PROPERTIES: {'Get', 'GetAll', 'Set'},
            INTROSPECTABLE: {'Introspect'},
            PEER: {'Ping', 'GetMachineId'},
        }
        for name, methods in members.items():
            with self.subTest(interface=name):
                iface = nvtest.find_interface(node, name)
                self.assertIsNotNone(iface, '%s is not in the introspection' % name)
                self.assertLessEqual(methods, {m.get('name') for m in iface.findall('method')})
        if nvtest.find_interface(node, PROPERTIES).find("signal[@name='PropertiesChanged']") is None:
            self.fail('Properties has no PropertiesChanged signal')
        # Peer answers, and the object is reachable from its parent (busctl tree, d-spy).
        self.h.caller().ok(BUS_NAME, OBJECT_PATH, PEER, 'Ping')
        parent = ET.fromstring(self.h.caller().introspect('/org/nestvirt'))
        self.assertIn('NestVirt1', [n.get('name') for n in parent.findall('node')])


class PolicyTest(BusTestCase):
    """dbus/org.nestvirt.NestVirt1.conf on a bus with the system bus's default policy: only
    root owns the name; anyone may call the interface and the standard interfaces; nothing
    else reaches the daemon."""

    def test_policy_user_cannot_own(self):
        user = self.h.user_caller()
        self.assertFalse(self.h.caller().name_has_owner(), 'the name is taken before the test')
        r = user.call1(DBUS_NAME, DBUS_PATH, DBUS_NAME, 'RequestName', 'su', [BUS_NAME, 0])
        self.assertFalse(r['ok'], 'the unprivileged user could own %s' % BUS_NAME)
        self.assertEqual(r['error'], ACCESS_DENIED)
        # The daemon, once activated, is still the owner; the user cannot replace it either.
        self.h.caller().get('Version')
        r = user.call1(DBUS_NAME, DBUS_PATH, DBUS_NAME, 'RequestName', 'su', [BUS_NAME, 2 | 4])
        self.assertEqual(r.get('error'), ACCESS_DENIED)

    def test_policy_root_can_own(self):
        need_root('the policy grants ownership to root')
        root = self.h.caller()
        self.assertFalse(root.name_has_owner())
        # DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER = 1, DBUS_RELEASE_NAME_REPLY_RELEASED = 1
        self.assertEqual(root.ok(DBUS_NAME, DBUS_PATH, DBUS_NAME, 'RequestName', 'su',
                                 [BUS_NAME, 0]), [1])
        self.assertEqual(root.ok(DBUS_NAME, DBUS_PATH, DBUS_NAME, 'ReleaseName', 's',
                                 [BUS_NAME]), [1])

    def test_policy_calls(self):
        """Root and the user may call the interface, Properties, Introspectable and Peer."""
        need_root('the policy is about root and other users')
        for who, caller in (('root', self.h.caller()), ('user', self.h.user_caller())):
            replies = caller.call([
                dict(dest=BUS_NAME, path=OBJECT_PATH, interface=PROPERTIES, member='GetAll',
                     signature='s', args=[INTERFACE]),
                dict(dest=BUS_NAME, path=OBJECT_PATH, interface=INTROSPECTABLE,
                     member='Introspect'),
                dict(dest=BUS_NAME, path=OBJECT_PATH, interface=PEER, member='Ping'),
                # The interface itself is open: an unknown method gets the daemon's answer, not
                # the bus's AccessDenied.
                dict(dest=BUS_NAME, path=OBJECT_PATH, interface=INTERFACE,
                     member='NoSuchMethod'),
            ])
            for reply in replies[:3]:
                self.assertTrue(reply['ok'], '%s: %s' % (who, reply))
            self.assertFalse(replies[3]['ok'])
            self.assertEqual(replies[3]['error'], 'org.freedesktop.DBus.Error.UnknownMethod',
                             '%s: %s' % (who, replies[3]))

    def test_policy_foreign_interface(self):
        """An interface the policy does not list is refused to the user by the bus, while root's
        call reaches the daemon."""
        need_root('the policy is about root and other users')
        req = dict(dest=BUS_NAME, path=OBJECT_PATH, interface='org.nestvirt.Foreign1',
                   member='Frob')
        self.h.caller().get('Version')  # activate, so the user's call is not an activation
        r = self.h.user_caller().call([req])[0]
        self.assertFalse(r['ok'])
        self.assertEqual(r['error'], ACCESS_DENIED, r)
        r = self.h.caller().call([req])[0]
        self.assertNotEqual(r.get('error'), ACCESS_DENIED, 'root was refused: %s' % r)


class ActivationTest(BusTestCase):
    """The first call starts nestvirtd through the bus; after --idle-timeout of silence it gives
    up its name and exits 0; the next call starts it again."""
    IDLE_TIMEOUT = 2
    MARGIN = 15  # slow machines, sanitizers, valgrind

    def test_activation_idle(self):
        c = self.h.caller()
        activatable = c.ok(DBUS_NAME, DBUS_PATH, DBUS_NAME, 'ListActivatableNames')[0]
        self.assertIn(BUS_NAME, activatable)
        self.assertFalse(c.name_has_owner(), 'the name has an owner before the first call')
        self.assertEqual(self.h.instances(), [])

        self.assertEqual(c.get('Vendor'), ('s', 'amd'))
        answered = time.monotonic()
        self.assertTrue(c.name_has_owner())
        first = self.h.instances()
        self.assertEqual(len(first), 1, 'expected one activation, got %s' % first)
        self.assertEqual(c.owner_pid(), first[0], 'the name is not owned by the nestvirtd we started')

        nvtest.wait_for(lambda: not c.name_has_owner(), self.IDLE_TIMEOUT + self.MARGIN,
                        interval=0.1, what='the name to lose its owner after the idle timeout')
        idle = time.monotonic() - answered
        self.assertGreaterEqual(idle, self.IDLE_TIMEOUT - 0.5,
                                'the daemon gave up its name after %.2f s, before the idle timeout'
                                % idle)
        self.assertEqual(self.h.wait_exit(first[0]), 0, 'nestvirtd did not exit 0 when idle')

        self.assertEqual(c.get('Module'), ('s', 'kvm_amd'))
        starts = self.h.instances()
        self.assertEqual(len(starts), 2, 'the second call did not activate a new instance')
        self.assertNotEqual(starts[1], first[0])
        self.assertEqual(c.owner_pid(), starts[1])


class VmScanErrorTest(BusTestCase):
    """A /proc that cannot be scanned is not "no VMs": ListVMs names the failure, VMCount stays 0
    and Check still answers."""

    def test_vm_scan_error(self):
        c = self.h.caller()
        self.assertEqual(c.ok(BUS_NAME, OBJECT_PATH, INTERFACE, 'ListVMs'), [[], 0])
        proc = os.path.join(self.h.root, 'proc')
        subprocess.run(['rm', '-rf', proc], check=True)
        nvtest.write_file(proc, 'not a directory\n')
        r = c.call1(BUS_NAME, OBJECT_PATH, INTERFACE, 'ListVMs')
        self.assertFalse(r['ok'], 'ListVMs answered %s without a /proc to scan' % r.get('value'))
        self.assertIn('/proc', r['message'])
        self.assertEqual(c.get('VMCount'), ('u', 0))
        c.ok(BUS_NAME, OBJECT_PATH, INTERFACE, 'Check')


class LongPathTest(BusTestCase):
    """A call at an object path far longer than any of the daemon's is answered before sd-bus
    looks it up (a lookup that takes time quadratic in the path's length)."""

    def test_long_object_path(self):
        c = self.h.caller()
        path = ('/a' * 16384)[:32768]
        for iface, member, sig, args in ((INTERFACE, 'Check', '', []),
                                         (PROPERTIES, 'Get', 'ss', [INTERFACE, 'Version']),
                                         (INTROSPECTABLE, 'Introspect', '', [])):
            r = c.call1(BUS_NAME, path, iface, member, sig, args)
            self.assertFalse(r['ok'])
            self.assertEqual(r['error'], 'org.freedesktop.DBus.Error.UnknownObject')
            self.assertIn('32768 bytes', r['message'])
        self.assertEqual(c.get('Vendor'), ('s', 'amd'))


class SigtermTest(BusTestCase):
    def test_sigterm(self):
        c = self.h.caller()
        c.get('Version')
        pid = c.owner_pid()
        self.assertEqual(self.h.instances(), [pid])
        os.kill(pid, signal.SIGTERM)
        self.assertEqual(self.h.wait_exit(pid), 0, 'nestvirtd did not exit 0 on SIGTERM')
        nvtest.wait_for(lambda: not c.name_has_owner(), 5, what='the name to be released')


class ClientTest(BusTestCase):
    """nestvirtctl shows what the daemon serves; its JSON is GetAll, field for field."""
    FIXTURE = 'amd-host'

    def check_status(self, as_user):
        props = {k: v for k, (t, v) in self.h.caller().get_all().items()}
        r = self.h.run_ctl(['status'], as_user=as_user)
        self.assertEqual(r.returncode, 0, 'nestvirtctl status failed: %s' % r.stderr)
        self.assertEqual(r.stderr, '')
        fields = {}
        for line in r.stdout.splitlines():
            key, sep, value = line.partition(':')
            if sep and key.strip():
                fields[key.strip()] = value.strip()
        self.assertIn('Vendor', fields, r.stdout)
        self.assertIn(props['Vendor'], fields['Vendor'].lower(), r.stdout)
        self.assertIn(props['VendorId'], fields['Vendor'], r.stdout)
        self.assertIn('Module', fields, r.stdout)
        self.assertTrue(fields['Module'].startswith(props['Module']), r.stdout)

    def check_json(self, as_user):
        r = self.h.run_ctl(['--json=short'], as_user=as_user)
        self.assertEqual(r.returncode, 0, 'nestvirtctl --json=short failed: %s' % r.stderr)
        self.assertEqual(r.stdout.count('\n'), 1, 'short JSON is one line:\n' + r.stdout)
        got = json.loads(r.stdout)
        self.assertIsInstance(got, dict)
        bus = self.h.caller().get_all()
        self.assertEqual(sorted(got), sorted(bus), 'JSON keys are not the GetAll properties')
        for name, (t, value) in bus.items():
            with self.subTest(property=name):
                want = json_of_property(name, value)
                self.assertEqual(got[name], want)
                self.assertIs(type(got[name]), type(want), '%s: JSON type differs' % name)
        self.assertEqual(got['Vendor'], 'amd')
        self.assertEqual(got['Module'], 'kvm_amd')

    def test_client_status_root(self):
        self.check_status(as_user=False)

    def test_client_json_root(self):
        self.check_json(as_user=False)

    def test_client_status_user(self):
        self.check_status(as_user=True)

    def test_client_json_user(self):
        self.check_json(as_user=True)


class ServeTest(unittest.TestCase):
    """nvtest.py serve, the private bus that tools/try.sh uses: it prints the bus and the root,
    activates nestvirtd on the fixture host, and stops everything when its standard input closes
    or it gets SIGTERM."""

    def start_serve(self, fixture):
        import tempfile
        self.stderr = tempfile.TemporaryFile(mode='w+')
        self.addCleanup(self.stderr.close)
        self.p = subprocess.Popen(['/usr/bin/python3', os.path.join(nvtest.HERE, 'nvtest.py'),
                                   'serve', '--fixture', fixture, '--idle-timeout', '30'],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.stderr)
        self.addCleanup(self.kill_serve)
        # Unbuffered reads: select() sees only what is still in the pipe.
        text = ''
        deadline = time.monotonic() + 90
        while not text.endswith('READY=1\n'):
            left = deadline - time.monotonic()
            ready = select.select([self.p.stdout], [], [], max(left, 0))[0]
            chunk = os.read(self.p.stdout.fileno(), 4096).decode() if ready else None
            if not chunk:
                self.fail('%s waiting for READY=1 from nvtest.py serve (got %r):\n%s' % (
                    'timed out after 90 s' if chunk is None else 'end of output', text,
                    self.log()))
            text += chunk
        out = {}
        for line in text.splitlines():
            key, _, value = line.partition('=')
            out[key] = shlex.split(value)[0] if value else ''
        return out

    def log(self):
        self.stderr.seek(0)
        return self.stderr.read()

    def kill_serve(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        for f in (self.p.stdin, self.p.stdout):
            if f and not f.closed:
                f.close()

    def wait_serve(self, timeout=60):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.fail('nvtest.py serve did not exit within %d s:\n%s' % (timeout, self.log()))

    def test_serve_until_stdin_closes(self):
        need_root('the project policy lets only root own the name')
        out = self.start_serve('amd-cmdline-override')
        self.assertEqual(sorted(out), ['DBUS_SYSTEM_BUS_ADDRESS', 'NESTVIRT_ROOT',
                                       'NESTVIRT_TEST_DIR', 'READY'])
        self.assertIn('options kvm_amd nested=0\n', nvtest.read_file(
            os.path.join(out['NESTVIRT_ROOT'], 'etc/modprobe.d/kvm-amd.conf')))
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=out['DBUS_SYSTEM_BUS_ADDRESS'],
                   NO_COLOR='1', LANG='C.UTF-8')
        r = subprocess.run([nvtest.need_env('NESTVIRTCTL'), 'status'], env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr + self.log())
        self.assertRegex(r.stdout, r'Next load: enabled \(from the kernel command line\)')
        self.p.stdin.close()
        self.assertEqual(self.wait_serve(), 0, self.log())
        self.assertFalse(os.path.exists(out['NESTVIRT_TEST_DIR']), 'the directory is left')
        self.assertIn('Successfully activated service', self.log())

    def test_serve_stops_on_sigterm(self):
        need_root('the project policy lets only root own the name')
        out = self.start_serve('amd-host')
        self.p.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_serve(), 0, self.log())
        self.assertFalse(os.path.exists(out['NESTVIRT_TEST_DIR']), 'the directory is left')


if __name__ == '__main__':
    sys.exit(nvtest.main())

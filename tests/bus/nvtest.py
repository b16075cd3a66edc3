# SPDX-License-Identifier: LGPL-2.1-or-later
"""Harness of the bus tier: a private system bus with the project's policy, nestvirtd started by
bus activation on a fixture host, and callers that are root or an unprivileged user.

One Harness is one temporary directory:

    TMP/bus.conf                  the dbus-daemon configuration (a system bus, see write_config)
    TMP/system.d/                 a copy of dbus/org.nestvirt.NestVirt1.conf
    TMP/services/                 the activation file, derived from the project's template
    TMP/nestvirtd-wrapper         what the activation file runs: sets the environment, starts
                                  nestvirtd, and logs its pid and exit status to TMP/daemon.events
    TMP/root/                     the fixture host (NESTVIRT_ROOT)
    TMP/bus.log, TMP/daemon.log   the output of dbus-daemon and of every nestvirtd instance
                                  (daemon.log holds the daemon's "<5>AUDIT ..." lines: see audit())
    TMP/system_bus_socket         the bus
    TMP/polkit/                   with polkit='polkitd': the actions/ and rules.d/ folders that a
                                  private mount namespace shows the real polkitd (start_polkitd)
    TMP/polkitd.log               the output of polkitd or of python3-dbusmock's polkitd mock
    TMP/valgrind.PID.log          with valgrind=True: memcheck's report on instance PID

In the fixture root the LD_PRELOAD library (tests/preload/nv-preload.c) keeps
root/.nv-trap.log (every trapped module syscall: trap_log()) and reads root/.nv-faults
(fault injection: set_faults()).

The fixture host is built by tests/fixtures/make-host.sh (build_fixture()), the builder the C
tests and tools/try.sh use too.

The environment comes from tests/meson.build (test_env): NESTVIRT_SOURCE_ROOT,
NESTVIRT_BUILD_ROOT, NESTVIRTD, NESTVIRTCTL, NESTVIRT_PRELOAD. NESTVIRT_TEST_KEEP=1 keeps TMP.

"nvtest.py serve" runs one Harness for people and scripts (tools/try.sh): see SERVE_USAGE.

Harness(valgrind=True) runs every instance under valgrind's memcheck (VALGRIND_ARGS): an error or a
definite or indirect leak at exit makes the instance exit with VALGRIND_ERROR_STATUS, which stop()
reports like any other failed exit. Activation and SIGTERM are then given generous bounds.
"""

import fcntl
import json
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

BUS_NAME = 'org.nestvirt.NestVirt1'
OBJECT_PATH = '/org/nestvirt/NestVirt1'
INTERFACE = 'org.nestvirt.NestVirt1'
VM_INTERFACE = 'org.nestvirt.NestVirt1.VM'
VM_PATH_PREFIX = '/org/nestvirt/NestVirt1/vm/'
OBJECT_MANAGER = 'org.freedesktop.DBus.ObjectManager'
DBUS_NAME = 'org.freedesktop.DBus'
DBUS_PATH = '/org/freedesktop/DBus'
PROPERTIES = 'org.freedesktop.DBus.Properties'
INTROSPECTABLE = 'org.freedesktop.DBus.Introspectable'
PEER = 'org.freedesktop.DBus.Peer'
SYSTEMD_NAME = 'org.freedesktop.systemd1'

TEST_USER = 'nestvirt-test'
EXIT_SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_CONF = '/usr/share/dbus-1/system.conf'


class HarnessError(Exception):
    pass


def in_ci():
    return os.environ.get('CI', '').lower() in ('true', '1', 'yes')


def need_env(name):
    value = os.environ.get(name)
    if not value:
        raise unittest.SkipTest('%s is not set: run this through "meson test" (tests/meson.build '
                                'sets it in test_env)' % name)
    return value


def need_program(name):
    path = shutil.which(name, path=os.environ.get('PATH', '') + ':/usr/sbin:/sbin')
    if not path:
        raise unittest.SkipTest('%s is not installed' % name)
    return path


def source_root():
    return need_env('NESTVIRT_SOURCE_ROOT')


def source_path(*rel):
    return os.path.join(source_root(), *rel)


def project_version():
    """The version meson configured (the daemon's Version property must say the same)."""
    info = os.path.join(need_env('NESTVIRT_BUILD_ROOT'), 'meson-info', 'intro-projectinfo.json')
    with open(info) as f:
        return json.load(f)['version']


def build_has_libvirt():
    """Whether the build under test has the libvirt backend (the feature "libvirt" found)."""
    info = os.path.join(need_env('NESTVIRT_BUILD_ROOT'), 'meson-info', 'intro-dependencies.json')
    with open(info) as f:
        return any(d.get('name') == 'libvirt' for d in json.load(f))


def managed_vms(caller):
    """{path: {property: value}} of the VM objects, from GetManagedObjects."""
    objects = caller.ok(BUS_NAME, OBJECT_PATH, OBJECT_MANAGER, 'GetManagedObjects')[0]
    return {path: {k: v['value'] for k, v in ifaces[VM_INTERFACE].items()}
            for path, ifaces in objects.items() if VM_INTERFACE in ifaces}


def vm_sort_key(props):
    """The order of "nestvirtctl vms": by manager, then by id, numbers by value."""
    vm_id = props['Id']
    return (props['Manager'], (0, int(vm_id), '') if vm_id.isdigit() else (1, 0, vm_id))


def wait_for(predicate, timeout, interval=0.05, what='condition'):
    """Polls predicate until it returns a true value, which is returned; fails at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError('timed out after %.1f s waiting for %s' % (timeout, what))
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# The interface contract

class Contract:
    """dbus/org.nestvirt.NestVirt1.xml, the interface as the project promises it."""

    def __init__(self, path=None, interface=INTERFACE):
        self.path = path or source_path('dbus', interface + '.xml')
        self.root = ET.parse(self.path).getroot()
        self.interface = find_interface(self.root, interface)
        if self.interface is None:
            raise HarnessError('%s has no interface %s' % (self.path, interface))

    def properties(self):
        """{name: (type, access)} of every property of the interface."""
        return {p.get('name'): (p.get('type'), p.get('access'))
                for p in self.interface.findall('property')}


def find_interface(node, name):
    for i in node.findall('interface'):
        if i.get('name') == name:
            return i
    return None


# Annotations that are part of the API. Others (org.freedesktop.systemd1.Privileged, which
# sd-bus adds to methods not marked SD_BUS_VTABLE_UNPRIVILEGED; org.gtk.*, ...) describe an
# implementation or a code generator and are not compared.
ECS = 'org.freedesktop.DBus.Property.EmitsChangedSignal'
DEPRECATED = 'org.freedesktop.DBus.Deprecated'
NO_REPLY = 'org.freedesktop.DBus.Method.NoReply'


def annotations(elem):
    return {a.get('name'): a.get('value') for a in elem.findall('annotation')}


def bool_annotation(elem, name):
    return annotations(elem).get(name, 'false') == 'true'


def interface_lines(iface):
    """The interface as sorted, canonical lines: one per method, signal and property.

    Normalized: a method argument without direction is "in", a signal argument is always "out";
    EmitsChangedSignal is the property's own annotation, else the interface's, else "true"
    (sd-bus writes const/invalidates/false and leaves out true; the spec's default is true);
    Deprecated and NoReply are "false" unless annotated "true".
    """
    iface_ecs = annotations(iface).get(ECS, 'true')
    lines = []
    if bool_annotation(iface, DEPRECATED):
        lines.append('interface deprecated')
    for m in iface.findall('method'):
        args = ', '.join('%s %s %s' % (a.get('direction', 'in'), a.get('type'), a.get('name', ''))
                         for a in m.findall('arg'))
        extra = ''
        if bool_annotation(m, DEPRECATED):
            extra += ' deprecated'
        if bool_annotation(m, NO_REPLY):
            extra += ' no-reply'
        lines.append('method %s(%s)%s' % (m.get('name'), args, extra))
    for s in iface.findall('signal'):
        args = ', '.join('%s %s' % (a.get('type'), a.get('name', '')) for a in s.findall('arg'))
        extra = ' deprecated' if bool_annotation(s, DEPRECATED) else ''
        lines.append('signal %s(%s)%s' % (s.get('name'), args, extra))
    for p in iface.findall('property'):
        ecs = annotations(p).get(ECS, iface_ecs)
        extra = ' deprecated' if bool_annotation(p, DEPRECATED) else ''
        lines.append('property %s %s %s emits-changed=%s%s' % (
            p.get('name'), p.get('type'), p.get('access'), ecs, extra))
    return sorted(lines)


# ---------------------------------------------------------------------------------------------
# Fixture hosts

# How long tests/fixtures/make-host.sh may take (a C compiler and depmod per module tree, on a
# loaded machine).
MAKE_HOST_TIMEOUT = 120


def build_fixture(name, root):
    """Builds host NAME (tests/fixtures/hosts/NAME) at root with tests/fixtures/make-host.sh, the
    builder the C tests and tools/try.sh use too: it copies the tree and adds what git cannot
    store, as the host's FIXTURE says (the format is described in the script)."""
    script = source_path('tests', 'fixtures', 'make-host.sh')
    env = {k: v for k, v in os.environ.items() if k not in ('LD_PRELOAD', 'NESTVIRT_ROOT')}
    try:
        r = subprocess.run(['/bin/sh', script, name, root], env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=MAKE_HOST_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise HarnessError('make-host.sh %s %s did not finish within %d s'
                           % (name, root, MAKE_HOST_TIMEOUT))
    if r.returncode != 0:
        raise HarnessError('make-host.sh %s %s failed (%d):\n%s' % (name, root, r.returncode,
                                                                   r.stdout))


def mapped_libraries(pid):
    """The file names of the shared libraries mapped into process pid."""
    with open('/proc/%d/maps' % pid) as f:
        return {os.path.basename(line.split(None, 5)[5].strip()) for line in f
                if len(line.split(None, 5)) == 6 and '.so' in line}


def read_file(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        if default is None:
            raise
        return default


def write_file(path, content, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(content)
    os.chmod(path, mode)


# ---------------------------------------------------------------------------------------------
# The unprivileged user

def test_user():
    """(uid, gid) of the unprivileged test user, created when missing; needs root."""
    if os.geteuid() != 0:
        raise unittest.SkipTest('needs root: the test creates the system user %s and calls the '
                                'bus as that user through setpriv' % TEST_USER)
    need_program('setpriv')
    try:
        pw = pwd.getpwnam(TEST_USER)
    except KeyError:
        # Tests may run in parallel: one of them creates the user.
        with open(os.path.join(tempfile.gettempdir(), 'nestvirt-test-useradd.lock'), 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                pw = pwd.getpwnam(TEST_USER)
            except KeyError:
                useradd = need_program('useradd')
                r = subprocess.run([useradd, '--system', '--user-group', '--no-create-home',
                                    '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin',
                                    '--comment', 'nestvirt bus tests', TEST_USER],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                if r.returncode != 0:
                    raise HarnessError('useradd %s failed: %s' % (TEST_USER, r.stdout))
                pw = pwd.getpwnam(TEST_USER)
    if pw.pw_uid == 0:
        raise HarnessError('%s has uid 0' % TEST_USER)
    return pw.pw_uid, pw.pw_gid


# ---------------------------------------------------------------------------------------------
# Callers

class Caller:
    """Calls on the test bus as one identity. call() takes and returns nvcall.py's JSON forms."""

    def call(self, requests):
        raise NotImplementedError

    def call1(self, dest, path, interface, member, signature='', args=(), **kw):
        req = dict(dest=dest, path=path, interface=interface, member=member,
                   signature=signature, args=list(args), **kw)
        return self.call([req])[0]

    def ok(self, *a, **kw):
        """The reply's values (a list); fails on an error reply."""
        r = self.call1(*a, **kw)
        if not r['ok']:
            raise AssertionError('%s.%s failed: %s: %s' % (a[2], a[3], r['error'], r['message']))
        return r['value']

    def get(self, prop, interface=INTERFACE):
        """(type, value) of one property, by Properties.Get."""
        v = self.ok(BUS_NAME, OBJECT_PATH, PROPERTIES, 'Get', 'ss', [interface, prop])[0]
        return v['variant'], v['value']

    def get_all(self, interface=INTERFACE):
        """{name: (type, value)} by Properties.GetAll."""
        d = self.ok(BUS_NAME, OBJECT_PATH, PROPERTIES, 'GetAll', 's', [interface])[0]
        return {k: (v['variant'], v['value']) for k, v in d.items()}

    def introspect(self, path=OBJECT_PATH):
        return self.ok(BUS_NAME, path, INTROSPECTABLE, 'Introspect')[0]

    def name_has_owner(self, name=BUS_NAME):
        return self.ok(DBUS_NAME, DBUS_PATH, DBUS_NAME, 'NameHasOwner', 's', [name])[0]

    def owner_pid(self, name=BUS_NAME):
        return self.ok(DBUS_NAME, DBUS_PATH, DBUS_NAME, 'GetConnectionUnixProcessID', 's',
                       [name])[0]


class SelfCaller(Caller):
    """The test process itself (root in CI), on one private connection."""

    def __init__(self, address):
        import nvcall
        self._nvcall = nvcall
        self.conn = nvcall.connect(address)

    def call(self, requests):
        return self._nvcall.call_many(self.conn, requests)

    def close(self):
        self.conn.close_sync(None)


class UserCaller(Caller):
    """The unprivileged test user: nvcall.py in a process run through setpriv."""

    def __init__(self, harness):
        self.h = harness

    def call(self, requests):
        r = self.h.run_as_user(['/usr/bin/python3', self.h.user_nvcall, json.dumps(requests)])
        if r.returncode != 0:
            raise AssertionError('nvcall.py as %s failed (%d): %s' % (TEST_USER, r.returncode,
                                                                     r.stderr))
        return json.loads(r.stdout)


class BackgroundCall:
    """nvcall.py running in another process (Harness.spawn_as_user)."""

    def __init__(self, process):
        self.process = process

    def done(self):
        return self.process.poll() is not None

    def result(self, timeout=60):
        """The list of replies; fails when nvcall.py failed or did not finish in time."""
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise AssertionError('a background call did not finish within %.0f s' % timeout)
        if self.process.returncode != 0:
            raise AssertionError('nvcall.py failed (%d): %s' % (self.process.returncode, err))
        return json.loads(out)


class PolkitMock:
    """Steers python3-dbusmock's polkitd template through org.freedesktop.DBus.Mock."""

    def __init__(self, caller):
        self.c = caller

    def _mock(self, member, signature='', args=()):
        return self.c.ok(POLKIT_NAME, POLKIT_PATH, MOCK_INTERFACE, member, signature, args)

    def set_allowed(self, actions):
        self._mock('SetAllowed', 'as', [list(actions)])

    def simulate_hang(self, hang=True):
        self._mock('SimulateHang', 'b', [hang])

    def release_hanging_calls(self):
        self._mock('ReleaseHangingCalls')

    def checks(self):
        """Every CheckAuthorization the mock received, oldest first, as dicts: subject (kind,
        details), action, details, flags."""
        calls = self._mock('GetMethodCalls', 's', ['CheckAuthorization'])[0]
        out = []
        for _, args in calls:
            args = [a['value'] if isinstance(a, dict) and 'variant' in a else a for a in args]
            subject, action, details, flags = args[0], args[1], args[2], args[3]
            subject_details = {k: (v['value'] if isinstance(v, dict) and 'variant' in v else v)
                               for k, v in subject[1].items()}
            out.append({'subject': (subject[0], subject_details), 'action': action,
                        'details': details, 'flags': flags})
        return out


class SignalRecorder:
    """Records PropertiesChanged of the daemon's object on a connection of its own. Signals are
    queued in a private GLib main context; wait() dispatches them. A subclass may match other
    signals (MATCH: sender, interface, member, path, arg0 as for signal_subscribe) and record
    them its own way (_on_signal)."""
    MATCH = (None, PROPERTIES, 'PropertiesChanged', OBJECT_PATH, INTERFACE)

    def __init__(self, address):
        import nvcall
        from gi.repository import Gio, GLib
        self._GLib = GLib
        self._nvcall = nvcall
        self.ctx = GLib.MainContext.new()
        self.ctx.push_thread_default()
        try:
            self.conn = nvcall.connect(address)
            self.signals = []  # (sender, {property: (type, value)}, [invalidated])
            sender, interface, member, path, arg0 = self.MATCH
            self.sub = self.conn.signal_subscribe(sender, interface, member, path, arg0,
                                                  Gio.DBusSignalFlags.NONE, self._on_signal)
        finally:
            self.ctx.pop_thread_default()
        # The bus handles a connection's messages in order: once this reply is in, the AddMatch
        # that signal_subscribe() sent is in force.
        self.conn.call_sync(DBUS_NAME, DBUS_PATH, DBUS_NAME, 'GetId', None, None,
                            Gio.DBusCallFlags.NONE, 5000, None)

    def _on_signal(self, conn, sender, path, interface, member, params):
        j = self._nvcall.to_json(params)
        changed = {k: (v['variant'], v['value']) for k, v in j[1].items()}
        self.signals.append((sender, changed, j[2]))

    def pump(self):
        while self.ctx.pending():
            self.ctx.iteration(False)

    def changed(self):
        """{property: [values, in the order announced]} over all signals so far."""
        self.pump()
        out = {}
        for _, changed, _ in self.signals:
            for k, (_, v) in changed.items():
                out.setdefault(k, []).append(v)
        return out

    def wait(self, predicate, timeout=10, what='a PropertiesChanged signal'):
        """Dispatches signals until predicate(self) is true."""
        deadline = time.monotonic() + timeout
        while True:
            self.pump()
            if predicate(self):
                return
            if time.monotonic() >= deadline:
                raise AssertionError('timed out after %.1f s waiting for %s; got %s'
                                     % (timeout, what, self.signals))
            time.sleep(0.02)

    def close(self):
        self.conn.signal_unsubscribe(self.sub)
        self.conn.close_sync(None)
        self.pump()


def call_concurrently(address, requests, timeout=60):
    """Sends every request at once, each on a connection of its own (so the daemon sees as many
    clients), then waits for all replies. Returns them in nvcall.py's JSON form, in order."""
    import nvcall
    from gi.repository import GLib
    ctx = GLib.MainContext.new()
    ctx.push_thread_default()
    try:
        conns = [nvcall.connect(address) for _ in requests]
        results = [None] * len(requests)

        def finish(conn, res, i):
            try:
                results[i] = nvcall.reply_json(conn.call_finish(res))
            except GLib.Error as e:
                results[i] = nvcall.error_json(e)

        # Every connection is up (Hello answered) before the first call goes out.
        for i, (conn, req) in enumerate(zip(conns, requests)):
            conn.call(*nvcall.call_args(req), None, finish, i)
        deadline = time.monotonic() + timeout
        while any(r is None for r in results):
            if time.monotonic() >= deadline:
                raise AssertionError('%d of %d concurrent calls unanswered after %.0f s'
                                     % (sum(r is None for r in results), len(results), timeout))
            if not ctx.iteration(False):
                time.sleep(0.01)
        for conn in conns:
            conn.close_sync(None)
        return results
    finally:
        ctx.pop_thread_default()


# ---------------------------------------------------------------------------------------------
# The bus

# /usr/share/dbus-1/system.conf's <policy> elements as of dbus 1.14, used when that file is not
# installed. Normally the installed file's policies are copied, so the test bus matches the
# system bus of the machine the tests run on.
FALLBACK_POLICIES = '''
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Containers1"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus"
          send_interface="org.freedesktop.DBus.Debug.Stats"/>
    <deny send_destination="org.freedesktop.DBus"
          send_interface="org.freedesktop.systemd1.Activator"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.systemd1.Activator"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
'''

DOCTYPE = ('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
           ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n')


def system_policies():
    """The <policy> elements of the installed system bus configuration, as XML text."""
    if not os.path.exists(SYSTEM_CONF):
        return FALLBACK_POLICIES, 'built-in copy of dbus 1.14 (%s is missing)' % SYSTEM_CONF
    root = ET.parse(SYSTEM_CONF).getroot()
    policies = [ET.tostring(p, encoding='unicode') for p in root.findall('policy')]
    if not any(p.get('context') == 'default' for p in root.findall('policy')):
        raise HarnessError('%s has no <policy context="default">' % SYSTEM_CONF)
    return '\n'.join('  ' + p.strip() for p in policies), SYSTEM_CONF


def _pdeathsig():
    """In the child before exec: die with the test process, even when it is killed."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


# Harnesses not stopped yet: main() stops them when the test process is told to terminate
# (meson's timeout), so no bus, daemon or temporary directory outlives the test.
_live = set()

# The daemon's --idle-timeout unless a test needs another: longer than any test's pause between
# calls, short enough that a daemon orphaned by a killed test goes away by itself.
DEFAULT_IDLE_TIMEOUT = 60

# How long an instance may take to exit after SIGTERM; under valgrind the leak check at exit
# takes a while, more so on a loaded machine.
STOP_TIMEOUT = 15
VALGRIND_STOP_TIMEOUT = 180

# Harness(valgrind=True): memcheck with the leak kinds that count as errors. The report goes to
# TMP/valgrind.PID.log (dump_logs() prints it).
VALGRIND_ERROR_STATUS = 99
VALGRIND_ARGS = ['--quiet', '--error-exitcode=%d' % VALGRIND_ERROR_STATUS, '--leak-check=full',
                 '--show-leak-kinds=definite,indirect', '--errors-for-leak-kinds=definite,indirect',
                 '--num-callers=30']
# dbus-daemon gives an activated service this long to take its name (its default is 25 s).
VALGRIND_START_TIMEOUT_MS = 180000


POLKIT_NAME = 'org.freedesktop.PolicyKit1'
POLKIT_PATH = '/org/freedesktop/PolicyKit1/Authority'
POLKIT_INTERFACE = 'org.freedesktop.PolicyKit1.Authority'
POLKIT_BUS_CONF = '/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf'
POLKITD = '/usr/lib/polkit-1/polkitd'
POLKIT_ACTIONS_DIR = '/usr/share/polkit-1/actions'
POLKIT_RULES_DIR = '/etc/polkit-1/rules.d'
MOCK_INTERFACE = 'org.freedesktop.DBus.Mock'
DROPIN = 'etc/modprobe.d/zz-nestvirt.conf'  # below the fixture root
RELOAD_INTENT = 'run/nestvirt/reload-intent'


class Harness:
    """fixture: the host in tests/fixtures/hosts, built with build_fixture(); None reads the real
    host (no NESTVIRT_ROOT, no preload library: only for nvtest.py serve --host).

    polkit: None (nothing owns org.freedesktop.PolicyKit1: every check fails, so only root
    and no-op requests succeed), 'polkitd' (the bus lets the real polkitd own the name: call
    start_polkitd()) or 'mock' (python3-dbusmock's polkitd template: start_polkit_mock())."""

    def __init__(self, fixture='amd-host', idle_timeout=DEFAULT_IDLE_TIMEOUT, extra_files=None,
                 polkit=None, valgrind=False, daemon_env=None):
        self.fixture = fixture
        # Set for every instance: where it finds the VM managers' stand-ins or private sockets.
        self.daemon_env = dict(daemon_env or {})
        self.valgrind = need_program('valgrind') if valgrind else None
        self.stop_timeout = VALGRIND_STOP_TIMEOUT if valgrind else STOP_TIMEOUT
        self.idle_timeout = idle_timeout
        self.extra_files = extra_files or {}
        if polkit not in (None, 'polkitd', 'mock'):
            raise HarnessError('unknown polkit kind %r' % polkit)
        self.polkit = polkit
        self.polkit_process = None
        self.polkit_log = None
        self.expected_status = {}  # pid -> exit status a test caused on purpose (a crash)
        self.nestvirtd = need_env('NESTVIRTD')
        self.nestvirtctl = need_env('NESTVIRTCTL')
        self.preload = need_env('NESTVIRT_PRELOAD')
        self.dbus_daemon = need_program('dbus-daemon')
        for p in (self.nestvirtd, self.preload):
            if not os.path.exists(p):
                raise HarnessError('%s does not exist: build first' % p)
        import importlib.util
        if importlib.util.find_spec('gi') is None:
            raise unittest.SkipTest('python3-gi is not installed (needed by nvcall.py); run with '
                                    '/usr/bin/python3 (%s is running)' % sys.executable)
        self.tmp = None
        self.bus = None
        self.address = None
        self._self_caller = None
        self._user_caller = None
        self._ctl_for_user = None
        self.stopped = {}  # pid -> exit status of instances stop() ended
        self._extra_processes = []  # stand-ins started for a test, killed by stop()

    # -- setup ----------------------------------------------------------------------------------

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix='nestvirt-bus-')
        _live.add(self)
        # The unprivileged user reaches the socket, nvcall.py and maybe nestvirtctl in here.
        os.chmod(self.tmp, 0o755)
        if self.fixture is None:
            # The real host (nvtest.py serve --host): no root, no preload library.
            if self.extra_files:
                raise HarnessError('extra_files need a fixture host')
            self.root = None
        else:
            self.root = os.path.join(self.tmp, 'root')
            build_fixture(self.fixture, self.root)
        for rel, content in self.extra_files.items():
            write_file(os.path.join(self.root, rel.lstrip('/')), content)
        self.socket = os.path.join(self.tmp, 'system_bus_socket')
        self.events = os.path.join(self.tmp, 'daemon.events')
        self.daemon_log = os.path.join(self.tmp, 'daemon.log')
        self.bus_log = os.path.join(self.tmp, 'bus.log')
        self.user_nvcall = os.path.join(self.tmp, 'nvcall.py')
        shutil.copy(os.path.join(HERE, 'nvcall.py'), self.user_nvcall)
        os.chmod(self.user_nvcall, 0o644)
        self.write_config()
        self.write_activation()
        self.start_bus()

    def write_config(self):
        """A system bus like the real one, minus what needs a system: no <user> (the bus runs as
        the test's user), no <fork>/<pidfile>/<syslog>, and no <servicehelper>, so activated
        services are spawned directly by dbus-daemon, as the bus's user. No
        <standard_system_servicedirs/> and no host system.d: only the project's files count."""
        os.makedirs(os.path.join(self.tmp, 'system.d'))
        os.makedirs(os.path.join(self.tmp, 'services'))
        shutil.copy(source_path('dbus', 'org.nestvirt.NestVirt1.conf'),
                    os.path.join(self.tmp, 'system.d', 'org.nestvirt.NestVirt1.conf'))
        policies, origin = system_policies()
        if os.geteuid() != 0:
            self._write_standin_policy()
        if self.polkit is not None:
            self._write_polkit_policy()
        self._write_systemd_standin_policy()
        config = (DOCTYPE + '<busconfig>\n'
                  '  <type>system</type>\n'
                  '  <listen>unix:path=%s</listen>\n'
                  '  <auth>EXTERNAL</auth>\n'
                  '  <servicedir>%s</servicedir>\n'
                  '  <!-- the policies of %s -->\n%s\n'
                  '  <includedir>%s</includedir>\n'
                  '%s'
                  '</busconfig>\n') % (self.socket, os.path.join(self.tmp, 'services'), origin,
                                       policies, os.path.join(self.tmp, 'system.d'),
                                       '  <limit name="service_start_timeout">%d</limit>\n'
                                       % VALGRIND_START_TIMEOUT_MS if self.valgrind else '')
        write_file(os.path.join(self.tmp, 'bus.conf'), config)

    def _write_standin_policy(self):
        """Not root: the daemon, activated as the bus's user, could not own its name. Grant that
        user exactly what the project's policy grants root. The tests that depend on root's own
        rights, or need a second identity, skip in this case (and fail in CI)."""
        user = pwd.getpwuid(os.geteuid()).pw_name
        conf = ET.parse(source_path('dbus', 'org.nestvirt.NestVirt1.conf')).getroot()
        rules = []
        for p in conf.findall('policy'):
            if p.get('user') == 'root':
                p.set('user', user)
                rules.append(ET.tostring(p, encoding='unicode'))
        write_file(os.path.join(self.tmp, 'system.d', 'zz-test-standin-for-root.conf'),
                   DOCTYPE + '<!-- test only: %s stands in for root -->\n<busconfig>\n%s\n'
                   '</busconfig>\n' % (user, '\n'.join(rules)))

    def _write_polkit_policy(self):
        """polkit's own bus policy, as the system bus has it: only the user polkitd may own
        org.freedesktop.PolicyKit1 (polkitd started as root switches to that user), everyone may
        call it. The mock runs as the test's user, which a test-only file lets own the name."""
        if not os.path.exists(POLKIT_BUS_CONF):
            raise unittest.SkipTest('%s is missing (package polkitd)' % POLKIT_BUS_CONF)
        shutil.copy(POLKIT_BUS_CONF, os.path.join(self.tmp, 'system.d',
                                                  os.path.basename(POLKIT_BUS_CONF)))
        if self.polkit == 'mock':
            user = pwd.getpwuid(os.geteuid()).pw_name
            write_file(os.path.join(self.tmp, 'system.d', 'zz-test-polkit-mock.conf'),
                       DOCTYPE + '<!-- test only: the polkitd mock runs as %s -->\n<busconfig>\n'
                       '  <policy user="%s">\n    <allow own="%s"/>\n  </policy>\n</busconfig>\n'
                       % (user, user, POLKIT_NAME))

    def _write_systemd_standin_policy(self):
        """No systemd behind this bus: the test's user may own its name for systemd-standin.py
        (start_systemd_standin), and everyone may call it, as the real policy allows."""
        user = pwd.getpwuid(os.geteuid()).pw_name
        write_file(os.path.join(self.tmp, 'system.d', 'zz-test-systemd-standin.conf'),
                   DOCTYPE + '<!-- test only: a stand-in for systemd\'s manager -->\n<busconfig>\n'
                   '  <policy user="%s">\n    <allow own="%s"/>\n  </policy>\n'
                   '  <policy context="default">\n    <allow send_destination="%s"/>\n'
                   '  </policy>\n</busconfig>\n' % (user, SYSTEMD_NAME, SYSTEMD_NAME))

    def start_systemd_standin(self, timeout=20):
        """Starts tests/bus/systemd-standin.py on this bus; returns the path of its call log
        (one line per call: "TryRestartUnit UNIT MODE")."""
        log = os.path.join(self.tmp, 'systemd-standin.calls')
        write_file(log, '')
        err = open(os.path.join(self.tmp, 'systemd-standin.log'), 'a')
        p = subprocess.Popen(['/usr/bin/python3', os.path.join(HERE, 'systemd-standin.py'), log],
                             env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                             text=True, preexec_fn=_pdeathsig)
        err.close()
        self._extra_processes.append(p)
        wait_for(lambda: self.caller().name_has_owner(SYSTEMD_NAME), timeout,
                 what='systemd-standin.py to own %s' % SYSTEMD_NAME)
        return log

    def write_activation(self):
        """The activation file: the project's template with Exec= pointing at the wrapper.

        SystemdService= is left out: there is no systemd here. (dbus-daemon 1.14 uses it only when
        started with --systemd-activation, then asking systemd to start the unit instead of
        spawning Exec=; this bus is not, and ignores the line, but the file should not pretend.)
        User= is kept but means nothing without a <servicehelper>: the bus spawns Exec= as its
        own user, with its own environment."""
        template = source_path('dbus', 'org.nestvirt.NestVirt1.service.in')
        keys = {}
        for line in read_file(template).splitlines():
            line = line.strip()
            if '=' in line and not line.startswith(('#', '[')):
                k, v = line.split('=', 1)
                keys[k.strip()] = v.strip()
        if keys.get('Name') != BUS_NAME:
            raise HarnessError('%s: Name=%r, expected %s' % (template, keys.get('Name'), BUS_NAME))
        wrapper = os.path.join(self.tmp, 'nestvirtd-wrapper')
        q = shlex.quote
        asan = ':'.join(x for x in (os.environ.get('ASAN_OPTIONS'), 'verify_asan_link_order=0') if x)
        sanitizer_env = ''.join('export %s=%s\n' % (k, q(os.environ[k]))
                                for k in ('UBSAN_OPTIONS', 'LSAN_OPTIONS', 'MSAN_OPTIONS')
                                if k in os.environ)
        if self.root is not None:
            host_env = 'export NESTVIRT_ROOT=%s\nexport LD_PRELOAD=%s\n' % (q(self.root),
                                                                           q(self.preload))
        else:
            host_env = ('# The real host: no NESTVIRT_ROOT, no preload library.\n'
                        'unset NESTVIRT_ROOT LD_PRELOAD\n')
        host_env += ''.join('export %s=%s\n' % (k, q(v)) for k, v in sorted(self.daemon_env.items()))
        daemon_argv = q(self.nestvirtd)
        if self.valgrind:
            # valgrind keeps the pid (it execs its tool in place), so the logged pid stays the
            # daemon's. No debuginfod: nothing here may reach the network.
            sanitizer_env += 'unset DEBUGINFOD_URLS\n'
            daemon_argv = ' '.join([q(self.valgrind)] + [q(a) for a in VALGRIND_ARGS] +
                                   [q('--log-file=' + os.path.join(self.tmp, 'valgrind.%p.log')),
                                    daemon_argv])
        write_file(wrapper,
                   '#!/bin/sh\n'
                   '# SPDX-License-Identifier: LGPL-2.1-or-later\n'
                   '# Spawned by dbus-daemon for activation. Without a <servicehelper> the bus\n'
                   '# passes on its own environment (plus DBUS_STARTER_*); set what matters anyway.\n'
                   '%s'
                   'export ASAN_OPTIONS=%s\n'
                   '%s'
                   'export DBUS_SYSTEM_BUS_ADDRESS=%s\n'
                   'exec >>%s 2>&1\n'
                   '# The child logs its pid before it becomes nestvirtd (same pid, exec), so the\n'
                   '# start is on record before the daemon can answer.\n'
                   '/bin/sh -c \'echo "start $$" >>"$1"; shift; exec "$@"\' sh %s %s --idle-timeout=%d &\n'
                   'pid=$!\n'
                   'wait "$pid"\n'
                   'status=$?\n'
                   'echo "exit $pid $status" >>%s\n'
                   'exit "$status"\n' % (
                       host_env, q(asan), sanitizer_env,
                       q('unix:path=' + self.socket), q(self.daemon_log), q(self.events),
                       daemon_argv, self.idle_timeout, q(self.events)),
                   mode=0o755)
        service = '[D-BUS Service]\n'
        for k, v in keys.items():
            if k == 'Exec':
                v = '/bin/sh ' + wrapper  # works on a noexec /tmp too
            elif k == 'SystemdService':
                service += '# SystemdService=%s left out: no systemd behind this bus\n' % v
                continue
            service += '%s=%s\n' % (k, v)
        write_file(os.path.join(self.tmp, 'services', BUS_NAME + '.service'), service)

    def start_bus(self):
        log = open(self.bus_log, 'w')
        self.bus = subprocess.Popen(
            [self.dbus_daemon, '--config-file=' + os.path.join(self.tmp, 'bus.conf'), '--nofork',
             '--print-address=1'],
            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True,
            preexec_fn=_pdeathsig)
        log.close()
        import select
        ready, _, _ = select.select([self.bus.stdout], [], [], 20)
        line = self.bus.stdout.readline().strip() if ready else ''
        if not line:
            self.bus.kill()
            self.bus.wait()
            raise HarnessError('dbus-daemon did not start:\n' + read_file(self.bus_log, ''))
        self.address = line
        os.environ['DBUS_SYSTEM_BUS_ADDRESS'] = self.address
        os.environ.pop('DBUS_SESSION_BUS_ADDRESS', None)

    # -- the daemon's instances ----------------------------------------------------------------

    def _events(self):
        starts, exits = [], {}
        for line in read_file(self.events, '').splitlines():
            w = line.split()
            if len(w) == 2 and w[0] == 'start':
                starts.append(int(w[1]))
            elif len(w) == 3 and w[0] == 'exit':
                exits[int(w[1])] = int(w[2])
        return starts, exits

    def instances(self):
        """The pids of every nestvirtd the bus has activated so far, oldest first."""
        return self._events()[0]

    def exit_status(self, pid):
        """The exit status of instance pid, or None while it runs."""
        return self._events()[1].get(pid)

    def wait_exit(self, pid, timeout=10):
        wait_for(lambda: self.exit_status(pid) is not None, timeout,
                 what='nestvirtd (pid %d) to exit' % pid)
        return self.exit_status(pid)

    def running(self):
        starts, exits = self._events()
        return [p for p in starts if p not in exits]

    # -- callers and commands ------------------------------------------------------------------

    def caller(self):
        """Calls as the test process's own identity (root in CI)."""
        if self._self_caller is None:
            self._self_caller = SelfCaller(self.address)
        return self._self_caller

    def user_caller(self):
        """Calls as the unprivileged test user; skips when that cannot be done."""
        test_user()
        if self._user_caller is None:
            self._user_caller = UserCaller(self)
        return self._user_caller

    def user_env(self):
        env = {
            'PATH': '/usr/local/bin:/usr/bin:/bin',
            'DBUS_SYSTEM_BUS_ADDRESS': self.address,
            'LANG': 'C.UTF-8',
            'HOME': '/nonexistent',
            'NO_COLOR': '1',
        }
        for k in ('ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS', 'MSAN_OPTIONS'):
            if k in os.environ:
                env[k] = os.environ[k]
        return env

    def run_as_user(self, argv, timeout=60):
        uid, gid = test_user()
        return subprocess.run(
            ['setpriv', '--reuid=%d' % uid, '--regid=%d' % gid, '--clear-groups',
             '--no-new-privs', '--'] + argv,
            env=self.user_env(), cwd=self.tmp, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, timeout=timeout)

    def ctl_for_user(self):
        """nestvirtctl where the test user can run it: the build tree's when reachable, else a
        copy (a build tree below a 0700 home directory is not)."""
        if self._ctl_for_user is None:
            r = self.run_as_user(['/bin/sh', '-c', 'test -x "$1"', 'sh', self.nestvirtctl])
            if r.returncode == 0:
                self._ctl_for_user = self.nestvirtctl
            else:
                self._ctl_for_user = os.path.join(self.tmp, 'nestvirtctl')
                shutil.copy(self.nestvirtctl, self._ctl_for_user)
                os.chmod(self._ctl_for_user, 0o755)
        return self._ctl_for_user

    def run_ctl(self, args, as_user=False, timeout=60):
        if as_user:
            return self.run_as_user([self.ctl_for_user()] + args, timeout=timeout)
        env = dict(os.environ, NO_COLOR='1', LANG='C.UTF-8')
        return subprocess.run([self.nestvirtctl] + args, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout)

    # -- the fixture host and what the preload library records ---------------------------------

    def fixture_path(self, rel):
        return os.path.join(self.root, rel.lstrip('/'))

    def fixture_read(self, rel, default=None):
        """The file's content; default when it does not exist (None: raise)."""
        return read_file(self.fixture_path(rel), default)

    def fixture_write(self, rel, content, mode=0o644):
        write_file(self.fixture_path(rel), content, mode)

    def module_nested(self, module='kvm_amd'):
        """The module's live "nested" as sysfs shows it ("1", "N", ...), None when not loaded."""
        v = self.fixture_read('sys/module/%s/parameters/nested' % module, '')
        return v.strip() or None

    def set_refcnt(self, n, module='kvm_amd'):
        self.fixture_write('sys/module/%s/refcnt' % module, '%d\n' % n)

    def dropin(self):
        """The content of the daemon's drop-in (bytes), None when absent."""
        try:
            with open(self.fixture_path(DROPIN), 'rb') as f:
                return f.read()
        except FileNotFoundError:
            return None

    def trap_log(self):
        """The module syscalls nv-preload trapped so far, one string a call ("unload kvm_amd ->
        0", "load kvm_amd nested=0 -> 0")."""
        return [l for l in self.fixture_read('.nv-trap.log', '').splitlines() if l.strip()]

    def trapped(self, op, module='kvm_amd'):
        """The trapped calls of one kind ("load" or "unload") on module."""
        return [l for l in self.trap_log() if l.split()[:2] == [op, module]]

    def set_faults(self, text):
        """Writes root/.nv-faults: the preload library's fault rules (see nv-preload.c)."""
        self.fixture_write('.nv-faults', text)

    def add_kvm_holder(self, pid, comm, uid=0, cmdline=('qemu-system-x86_64', '-enable-kvm')):
        """A process in the fixture's /proc that holds /dev/kvm open: fd/0 links to the device,
        with comm, status and cmdline as the kernel shows them (the daemon's scan reads all three;
        a process without them counts as gone)."""
        base = 'proc/%d' % pid
        os.makedirs(self.fixture_path(base + '/fd'), exist_ok=True)
        os.symlink('/dev/kvm', self.fixture_path(base + '/fd/0'))
        self.fixture_write(base + '/comm', comm + '\n')
        self.fixture_write(base + '/status', 'Name:\t%s\nState:\tS (sleeping)\nPid:\t%d\n'
                           'Uid:\t%d\t%d\t%d\t%d\n' % (comm, pid, uid, uid, uid, uid))
        self.fixture_write(base + '/cmdline', '\0'.join(cmdline) + '\0')

    # -- the daemon's audit records ------------------------------------------------------------

    def audit(self):
        """The AUDIT lines every instance wrote to stderr so far, as dicts with request, uid, pid,
        old, new and outcome (uid and pid as int)."""
        import re
        pattern = re.compile(r'^(?:<\d>)?AUDIT request=(?P<request>.*?) uid=(?P<uid>-?\d+) '
                             r'pid=(?P<pid>-?\d+) old=(?P<old>.*?) new=(?P<new>.*?) '
                             r'outcome=(?P<outcome>.*)$')
        records = []
        for line in read_file(self.daemon_log, '').splitlines():
            if 'AUDIT' not in line:
                continue
            m = pattern.match(line)
            if not m:
                raise AssertionError('malformed AUDIT line: %r' % line)
            rec = m.groupdict()
            rec['uid'] = int(rec['uid'])
            rec['pid'] = int(rec['pid'])
            records.append(rec)
        return records

    # -- polkit --------------------------------------------------------------------------------

    def start_polkitd(self, rules=None, timeout=20):
        """Starts the real polkitd on this bus, as root (it switches to the user polkitd), in a
        private mount namespace where POLKIT_ACTIONS_DIR holds only the project's .policy and
        POLKIT_RULES_DIR holds rules (a dict file name -> JavaScript). Returns when polkitd owns
        its name. Needs root (mount) and Harness(polkit='polkitd')."""
        if self.polkit != 'polkitd':
            raise HarnessError("start_polkitd() needs Harness(polkit='polkitd')")
        if os.geteuid() != 0:
            raise unittest.SkipTest('needs root: polkitd runs in a mount namespace with the '
                                    "project's policy bind-mounted over %s" % POLKIT_ACTIONS_DIR)
        if not os.access(POLKITD, os.X_OK):
            raise unittest.SkipTest('%s is not installed (package polkitd)' % POLKITD)
        unshare = need_program('unshare')
        for d in (POLKIT_ACTIONS_DIR, POLKIT_RULES_DIR):
            if not os.path.isdir(d):
                raise unittest.SkipTest('%s does not exist: nothing to mount over' % d)
        top = os.path.join(self.tmp, 'polkit')
        actions = os.path.join(top, 'actions')
        rules_dir = os.path.join(top, 'rules.d')
        os.makedirs(actions, exist_ok=True)
        os.makedirs(rules_dir, exist_ok=True)
        policy = source_path('polkit', 'org.nestvirt.NestVirt1.policy')
        shutil.copy(policy, os.path.join(actions, os.path.basename(policy)))
        for name, text in (rules or {}).items():
            write_file(os.path.join(rules_dir, name), text)
        for d in (top, actions, rules_dir):
            os.chmod(d, 0o755)  # polkitd reads them as the user polkitd
        self.polkit_log = os.path.join(self.tmp, 'polkitd.log')
        script = ('set -e\n'
                  'mount --bind "$1" "$3"\n'
                  'mount --bind "$2" "$4"\n'
                  'exec "$5"\n')
        log = open(self.polkit_log, 'a')
        # unshare execs (no --fork): the pid is polkitd's.
        self.polkit_process = subprocess.Popen(
            [unshare, '--mount', '--propagation', 'private', '/bin/sh', '-c', script, 'sh',
             actions, rules_dir, POLKIT_ACTIONS_DIR, POLKIT_RULES_DIR, POLKITD],
            env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address),
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=_pdeathsig)
        log.close()
        self._wait_polkit(timeout)

    def start_polkit_mock(self, timeout=20):
        """Starts python3-dbusmock's polkitd template on this bus (Harness(polkit='mock')) and
        returns a PolkitMock to steer it. By default it denies everything."""
        if self.polkit != 'mock':
            raise HarnessError("start_polkit_mock() needs Harness(polkit='mock')")
        r = subprocess.run(['/usr/bin/python3', '-c', 'import dbusmock'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            raise unittest.SkipTest('python3-dbusmock is not installed for /usr/bin/python3')
        self.polkit_log = os.path.join(self.tmp, 'polkitd.log')
        log = open(self.polkit_log, 'a')
        self.polkit_process = subprocess.Popen(
            ['/usr/bin/python3', '-m', 'dbusmock', '--system', '--template', 'polkitd'],
            env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address),
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=_pdeathsig)
        log.close()
        self._wait_polkit(timeout)
        return PolkitMock(self.caller())

    def _wait_polkit(self, timeout):
        def up():
            if self.polkit_process.poll() is not None:
                raise HarnessError('polkit exited with status %d before it took its name:\n%s'
                                   % (self.polkit_process.returncode,
                                      read_file(self.polkit_log, '')))
            return self.caller().name_has_owner(POLKIT_NAME)
        wait_for(up, timeout, what='%s to own %s' % (self.polkit, POLKIT_NAME))

    def stop_polkit(self):
        """Kills polkit (SIGKILL: a crash, not a goodbye) and waits until the bus has seen it go.
        Safe to call when it is not running."""
        p, self.polkit_process = self.polkit_process, None
        if p is None:
            return
        if p.poll() is None:
            p.kill()
        p.wait()
        if self.bus is not None and self._self_caller is not None:
            wait_for(lambda: not self.caller().name_has_owner(POLKIT_NAME), 10,
                     what='%s to lose its owner' % POLKIT_NAME)

    # -- calls in the background ---------------------------------------------------------------

    def spawn_as_user(self, requests):
        """Starts nvcall.py as the test user with requests and returns at once: the returned
        BackgroundCall's result() waits for the replies."""
        uid, gid = test_user()
        p = subprocess.Popen(
            ['setpriv', '--reuid=%d' % uid, '--regid=%d' % gid, '--clear-groups', '--no-new-privs',
             '--', '/usr/bin/python3', self.user_nvcall, json.dumps(requests)],
            env=self.user_env(), cwd=self.tmp, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, preexec_fn=_pdeathsig)
        return BackgroundCall(p)

    # -- teardown ------------------------------------------------------------------------------

    def stop(self):
        """Ends every instance with SIGTERM, then the bus. Returns the problems found: an
        instance that did not exit on SIGTERM or exited with a status other than 0."""
        problems = []
        if self._self_caller is not None:
            try:
                self._self_caller.close()
            except Exception:
                pass
            self._self_caller = None
        if self.tmp is None:
            return problems
        for pid in self.running():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.stopped[pid] = self.wait_exit(pid, timeout=self.stop_timeout)
            except AssertionError:
                problems.append('nestvirtd (pid %d) did not exit within %d s of SIGTERM'
                                % (pid, self.stop_timeout))
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for pid, status in sorted(self._events()[1].items()):
            if status != self.expected_status.get(pid, 0):
                problems.append('nestvirtd (pid %d) exited with status %d%s' % (
                    pid, status, ' (valgrind found errors: see valgrind.%d.log below)' % pid
                    if self.valgrind and status == VALGRIND_ERROR_STATUS else ''))
        self.stop_polkit()
        for p in self._extra_processes:
            p.kill()
            p.wait()
            if p.stdout:
                p.stdout.close()
        self._extra_processes = []
        if self.bus is not None:
            self.bus.terminate()
            try:
                self.bus.wait(10)
            except subprocess.TimeoutExpired:
                self.bus.kill()
                self.bus.wait()
            self.bus.stdout.close()
            self.bus = None
        try:
            self.dump_logs()
        finally:
            if os.environ.get('NESTVIRT_TEST_KEEP') == '1':
                print('kept %s' % self.tmp)
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
            _live.discard(self)
        return problems

    def valgrind_logs(self):
        """The paths of the valgrind reports written so far (Harness(valgrind=True))."""
        import glob
        return sorted(glob.glob(os.path.join(self.tmp, 'valgrind.*.log'))) if self.tmp else []

    def dump_logs(self):
        for name, path in (('dbus-daemon', self.bus_log), ('nestvirtd', self.daemon_log),
                           ('activations', self.events), ('polkit', self.polkit_log),
                           ('trapped module calls', self.root and
                            os.path.join(self.root, '.nv-trap.log'))) + \
                tuple(('valgrind', p) for p in self.valgrind_logs()):
            if path is None:
                continue
            text = read_file(path, '').rstrip()
            if text:
                print('----- %s -----\n%s' % (name, text))


# ---------------------------------------------------------------------------------------------
# Test cases and the runner

class BusTestCase(unittest.TestCase):
    """Each test gets its own bus, fixture and daemon: tests share nothing and may run in
    parallel."""
    FIXTURE = 'amd-host'
    IDLE_TIMEOUT = DEFAULT_IDLE_TIMEOUT
    EXTRA_FILES = None
    POLKIT = None  # see Harness
    VALGRIND = False  # run nestvirtd under valgrind (see Harness)

    def daemon_env(self):
        """The daemon's extra environment (Harness daemon_env); called before the bus starts."""
        return None

    def setUp(self):
        self.h = Harness(self.FIXTURE, self.IDLE_TIMEOUT, self.EXTRA_FILES, self.POLKIT,
                         self.VALGRIND, self.daemon_env())
        self.addCleanup(self._stop)
        self.h.start()
        self.contract = Contract()

    def assertReply(self, reply, value=None):
        """reply (one of Caller.call()'s) succeeded, with value if given; returns its value."""
        self.assertTrue(reply['ok'], 'the call failed: %s' % reply)
        if value is not None:
            self.assertEqual(reply['value'], value)
        return reply['value']

    def assertError(self, reply, name, *fragments):
        """reply failed with error name and a message that contains every fragment."""
        self.assertFalse(reply['ok'], 'the call succeeded, expected %s: %s' % (name, reply))
        self.assertEqual(reply['error'], name, reply)
        for f in fragments:
            self.assertIn(f, reply['message'])
        return reply['message']

    def _stop(self):
        problems = self.h.stop()
        if problems:
            raise AssertionError('; '.join(problems))


def main(module_name='__main__'):
    """Runs the named tests (CLASS.METHOD; all without arguments). Exit status as meson reads
    it: 0 passed, 1 failed, 77 skipped. With CI=true a skip is a failure: CI runs as root with
    every dependency installed, so a skip there means a test silently did not run."""
    import importlib
    module = importlib.import_module(module_name)
    loader = unittest.defaultTestLoader
    names = sys.argv[1:]
    suite = loader.loadTestsFromNames(names, module) if names else loader.loadTestsFromModule(module)

    def terminate(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, terminate)
    try:
        result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    finally:
        for h in list(_live):
            h.stop()
    sys.stdout.flush()
    if result.errors or result.failures or result.unexpectedSuccesses:
        return 1
    if result.skipped and len(result.skipped) == result.testsRun:
        reasons = '; '.join('%s: %s' % (t.id(), why) for t, why in result.skipped)
        if in_ci():
            print('FAIL: skipped in CI (CI=%s), where skips are failures: %s'
                  % (os.environ.get('CI'), reasons))
            return 1
        print('SKIP: %s' % reasons)
        return EXIT_SKIP
    return 0


# ---------------------------------------------------------------------------------------------
# nvtest.py serve: the private bus for people and scripts (tools/try.sh)

SERVE_USAGE = """\
usage: nvtest.py serve [--fixture NAME | --host] [--build-dir DIR] [--idle-timeout S]

Starts the harness's private system bus (the project's policy and activation file; nestvirtd is
bus-activated from the build) on fixture host NAME (default amd-host), or with --host on the real
host (no NESTVIRT_ROOT, no preload library). When the bus is up, prints shell assignments, one a
line and each value quoted for sh:

    DBUS_SYSTEM_BUS_ADDRESS=...   the bus
    NESTVIRT_ROOT=...             the fixture root (not printed with --host)
    NESTVIRT_TEST_DIR=...         the harness's temporary directory (logs, configuration)
    READY=1                       the last line: everything above is valid

and then stays until its standard input reaches end of file or it gets SIGTERM, SIGINT or
SIGHUP. Then it stops every nestvirtd instance and the bus, prints the logs on stderr, removes
the directory (NESTVIRT_TEST_KEEP=1 keeps it) and exits with 0, or 1 when an instance did not
exit cleanly. DIR (default $NESTVIRT_BUILD_ROOT, else build/ in the source tree) is a meson build
directory of this tree."""


def serve_env(build_dir):
    """The environment meson's test_env gives the tests, derived from a build directory."""
    src = os.path.dirname(os.path.dirname(HERE))
    build = os.path.abspath(build_dir or os.environ.get('NESTVIRT_BUILD_ROOT') or
                            os.path.join(src, 'build'))
    os.environ.setdefault('NESTVIRT_SOURCE_ROOT', src)
    values = {
        'NESTVIRT_BUILD_ROOT': build,
        'NESTVIRTD': os.path.join(build, 'daemon', 'nestvirtd'),
        'NESTVIRTCTL': os.path.join(build, 'client', 'nestvirtctl'),
        'NESTVIRT_PRELOAD': os.path.join(build, 'tests', 'preload', 'libnv-preload.so'),
    }
    for k, v in values.items():
        if build_dir or not os.environ.get(k):
            os.environ[k] = v


def serve(argv):
    """nvtest.py serve (SERVE_USAGE). Returns the exit status."""
    import argparse
    import contextlib
    import select

    parser = argparse.ArgumentParser(prog='nvtest.py serve', usage=SERVE_USAGE.split('\n')[0][7:],
                                     description=SERVE_USAGE.split('\n', 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group()
    where.add_argument('--fixture', default='amd-host', metavar='NAME')
    where.add_argument('--host', action='store_true')
    parser.add_argument('--build-dir', metavar='DIR')
    parser.add_argument('--idle-timeout', type=int, default=DEFAULT_IDLE_TIMEOUT, metavar='S')
    args = parser.parse_args(argv)
    serve_env(args.build_dir)

    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    try:
        h = Harness(None if args.host else args.fixture, args.idle_timeout)
    except (HarnessError, unittest.SkipTest) as e:
        print('nvtest.py serve: %s' % e, file=sys.stderr)
        return 1
    problems = []
    try:
        try:
            h.start()
        except (HarnessError, unittest.SkipTest) as e:
            print('nvtest.py serve: %s' % e, file=sys.stderr)
            return 1
        q = shlex.quote
        lines = ['DBUS_SYSTEM_BUS_ADDRESS=' + q(h.address)]
        if h.root is not None:
            lines.append('NESTVIRT_ROOT=' + q(h.root))
        lines += ['NESTVIRT_TEST_DIR=' + q(h.tmp), 'READY=1']
        sys.stdout.write(''.join(l + '\n' for l in lines))
        sys.stdout.flush()
        while not stopping:
            if h.bus.poll() is not None:
                problems.append('dbus-daemon exited with status %d' % h.bus.returncode)
                break
            try:
                ready, _, _ = select.select([sys.stdin] if sys.stdin else [], [], [], 1)
            except InterruptedError:
                continue
            if sys.stdin is None or (ready and not os.read(sys.stdin.fileno(), 4096)):
                break
    finally:
        # stdout is for the assignments only.
        with contextlib.redirect_stdout(sys.stderr):
            problems += h.stop()
    for p in problems:
        print('nvtest.py serve: %s' % p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    if sys.argv[1:2] != ['serve']:
        print(SERVE_USAGE, file=sys.stderr)
        sys.exit(2)
    sys.exit(serve(sys.argv[2:]))

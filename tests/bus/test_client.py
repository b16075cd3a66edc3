#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""nestvirtctl on the bus tier: every verb against nestvirtd on fixture hosts.

Each test_* method is one meson test (see meson.build); names start with "cli_" so they stay
apart from those of the other scripts. What is tested:

- the human output of status, vms and check against golden files in golden/ (volatile parts,
  only the monitor's timestamps, are normalized first). After a deliberate change of the output,
  or of the daemon's wording, rewrite them with
      NESTVIRT_UPDATE_GOLDEN=1 meson test -C BUILD --suite bus cli_golden
  and review the diff;
- --json of status, vms and check, parsed back and compared field by field with GetAll, ListVMs
  and Check as nvcall.py reports them;
- the exit code of each refusal (client/exit-codes.h) and of usage errors;
- monitor, while another client changes something and while the daemon restarts;
- -H through a stand-in for ssh that runs the real systemd-stdio-bridge on the test bus;
- --help against the verb table, --version, the pager, the bash completion, the man page;
- a run under valgrind.
"""

import glob
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nvtest  # noqa: E402
from nvtest import BUS_NAME, INTERFACE, OBJECT_PATH, BusTestCase, managed_vms, vm_sort_key  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN_DIR = os.path.join(HERE, 'golden')

# client/exit-codes.h
EXIT_SUCCESS = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NOT_AUTHORIZED = 3
EXIT_VMS_RUNNING = 4
EXIT_NOT_SUPPORTED = 5
EXIT_LOCKED = 6
EXIT_NO_SUCH_VM = 7
EXIT_VM_AMBIGUOUS = 8
EXIT_MANAGER_FAILED = 9
EXIT_VMS_REQUIRE_NESTING = 10
EXIT_CODES = [EXIT_SUCCESS, EXIT_FAILURE, EXIT_USAGE, EXIT_NOT_AUTHORIZED, EXIT_VMS_RUNNING,
              EXIT_NOT_SUPPORTED, EXIT_LOCKED, EXIT_NO_SUCH_VM, EXIT_VM_AMBIGUOUS,
              EXIT_MANAGER_FAILED, EXIT_VMS_REQUIRE_NESTING]

# Member names of the structs in nestvirtctl's JSON (client/json-output.c).
STRUCT_FIELDS = {'NestedSettings': ('source', 'value', 'effect')}
# The columns of "nestvirtctl vms".
VMS_HEADER = ['NAME', 'MANAGER', 'ID', 'RUNNING', 'NOW', 'NEXT', 'PENDING', 'REQUIRES',
              'START']
FINDING_FIELDS = ('id', 'level', 'summary', 'hint')

TIMESTAMP = re.compile(r'\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\b')
ANSI = re.compile(r'\x1b\[[0-9;]*m')

HOLDER_PID = 4242
HOLDER_COMM = 'qemu-system-x86'


def need_root(what):
    if os.geteuid() != 0:
        raise unittest.SkipTest('needs root: %s' % what)


def normalize(text):
    return TIMESTAMP.sub('YYYY-MM-DD hh:mm:ss', text)


def ctl_env(**extra):
    env = dict(os.environ, NO_COLOR='1', LANG='C.UTF-8')
    env.pop('SYSTEMD_PAGER', None)
    env.pop('PAGER', None)
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def add_procs(h, tree):
    """Puts the processes of tests/fixtures/procs/TREE (their /proc/PID directories and the VM
    managers' pid files) into the fixture host. Before the first call, so the daemon's first
    snapshot counts them."""
    src = nvtest.source_path('tests', 'fixtures', 'procs', tree)
    for name in os.listdir(os.path.join(src, 'proc')):
        if name.isdigit():
            shutil.copytree(os.path.join(src, 'proc', name), os.path.join(h.root, 'proc', name),
                            symlinks=True)
    for top in ('var', 'run'):
        if os.path.isdir(os.path.join(src, top)):
            shutil.copytree(os.path.join(src, top), os.path.join(h.root, top), symlinks=True,
                            dirs_exist_ok=True)


def add_holder(h, pid=HOLDER_PID, comm=HOLDER_COMM, uid=0):
    """One process with /dev/kvm open in the fixture's /proc."""
    base = os.path.join(h.root, 'proc', str(pid))
    os.makedirs(os.path.join(base, 'fd'))
    os.symlink('/dev/kvm', os.path.join(base, 'fd', '3'))
    nvtest.write_file(os.path.join(base, 'comm'), comm + '\n')
    nvtest.write_file(os.path.join(base, 'status'), 'Name:\t%s\nPid:\t%d\nUid:\t%d\t%d\t%d\t%d\n'
                      % (comm, pid, uid, uid, uid, uid))
    nvtest.write_file(os.path.join(base, 'cmdline'), 'qemu-system-x86_64\0-enable-kvm\0')


def json_of_property(name, value):
    fields = STRUCT_FIELDS.get(name)
    if fields and isinstance(value, list):
        return [dict(zip(fields, item)) for item in value]
    return value


def verbs_of_table():
    """The verb names in client/verbs.c's table, in its order."""
    text = nvtest.read_file(nvtest.source_path('client', 'verbs.c'))
    table = re.search(r'static const NvVerb verbs\[\] = \{(.*?)\n\};', text, re.S)
    if not table:
        raise AssertionError('client/verbs.c: no verb table found')
    return re.findall(r'^\s*\{\s*"([a-z-]+)",', table.group(1), re.M)


def long_options_of_table():
    text = nvtest.read_file(nvtest.source_path('client', 'nestvirtctl.c'))
    table = re.search(r'static const struct option options\[\] = \{(.*?)\n\};', text, re.S)
    return re.findall(r'\{\s*"([a-z-]+)",', table.group(1))


def help_sections(text):
    """{section title: [lines]} of --help's output."""
    sections, current = {}, None
    for line in text.splitlines():
        if line and not line.startswith(' '):
            # A title ("Verbs:") opens a section; any other unindented text closes it.
            current = sections.setdefault(line[:-1], []) if line.endswith(':') else None
        elif current is not None and line.strip():
            current.append(line)
    return sections


class Lines:
    """The standard output of a running process, read line by line with deadlines."""

    def __init__(self, proc):
        self.proc = proc
        self.fd = proc.stdout.fileno()
        self.buf = b''
        self.lines = []
        self.eof = False

    def _read(self, timeout):
        if self.eof:
            time.sleep(min(timeout, 0.1))
            return
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return
        data = os.read(self.fd, 65536)
        if not data:
            self.eof = True
            return
        self.buf += data
        *complete, self.buf = self.buf.split(b'\n')
        self.lines += [line.decode() for line in complete]

    def wait_for(self, pattern, timeout=20, start=0):
        """The first line from index start on that matches pattern; fails at the deadline."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines[start:]:
                if rx.search(line):
                    return line
            left = deadline - time.monotonic()
            if left <= 0 or (self.eof and self.proc.poll() is not None):
                raise AssertionError('no line matching %r within %.0f s; got:\n%s'
                                     % (pattern, timeout, '\n'.join(self.lines)))
            self._read(min(left, 0.2))

    def drain(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._read(deadline - time.monotonic())
        return self.lines


def run_in_pty(argv, env, timeout=30):
    """Runs argv with a pseudo-terminal as its stdin, stdout and stderr: (exit code, output)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    out = b''
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                raise AssertionError('%s did not end within %d s:\n%s' % (argv, timeout, out))
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: every process on the terminal is gone
                break
            if not data:
                break
            out += data
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode().replace('\r\n', '\n')


def start_monitor(case, *args, argv_prefix=(), env=None):
    """nestvirtctl monitor in the background for a BusTestCase, stopped at its cleanup; returns
    (process, Lines)."""
    stderr = open(os.path.join(case.h.tmp, 'monitor.stderr'), 'w')
    proc = subprocess.Popen(list(argv_prefix) + [case.h.nestvirtctl, 'monitor'] + list(args),
                            env=env or ctl_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=stderr)
    stderr.close()

    def stop():
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    case.addCleanup(stop)
    return proc, Lines(proc)


class ClientCase(BusTestCase):
    """A bus test with helpers for nestvirtctl. PROCS names a tree of tests/fixtures/procs whose
    processes join the fixture host."""
    PROCS = None

    def setUp(self):
        super().setUp()
        if self.PROCS:
            add_procs(self.h, self.PROCS)

    def ctl(self, *args, as_user=False, ok=True):
        r = self.h.run_ctl(list(args), as_user=as_user)
        if ok:
            self.assertEqual(r.returncode, 0, 'nestvirtctl %s failed (%d):\n%s'
                             % (' '.join(args), r.returncode, r.stderr))
            self.assertEqual(r.stderr, '', 'nestvirtctl %s wrote to stderr' % ' '.join(args))
        return r

    def assertGolden(self, name, text):
        path = os.path.join(GOLDEN_DIR, name + '.txt')
        text = normalize(text)
        if os.environ.get('NESTVIRT_UPDATE_GOLDEN') == '1':
            os.makedirs(GOLDEN_DIR, exist_ok=True)
            with open(path, 'w') as f:
                f.write(text)
            return
        if not os.path.exists(path):
            self.fail('%s is missing; NESTVIRT_UPDATE_GOLDEN=1 writes it. The output:\n%s'
                      % (path, text))
        want = nvtest.read_file(path)
        if want != text:
            import difflib
            diff = ''.join(difflib.unified_diff(want.splitlines(True), text.splitlines(True),
                                                path, 'nestvirtctl'))
            self.fail('output differs from %s:\n%s' % (path, diff))

    def check_golden(self, tag, verbs=('status', 'check', 'vms')):
        for verb in verbs:
            with self.subTest(verb=verb):
                self.assertGolden('%s-%s' % (verb, tag), self.ctl(verb).stdout)

    def start_monitor(self, *args, argv_prefix=(), env=None):
        return start_monitor(self, *args, argv_prefix=argv_prefix, env=env)

    def monitor_stderr(self):
        return nvtest.read_file(os.path.join(self.h.tmp, 'monitor.stderr'), '')

    def fake_ssh(self, script, **env):
        """The environment for running nestvirtctl with script as "ssh" first in PATH."""
        bindir = os.path.join(self.h.tmp, 'fake-ssh-bin')
        os.makedirs(bindir, exist_ok=True)
        nvtest.write_file(os.path.join(bindir, 'ssh'), script, mode=0o755)
        # DBUS_SYSTEM_BUS_ADDRESS points nowhere: only the way through ssh reaches the bus.
        return ctl_env(PATH=bindir + ':' + os.environ.get('PATH', '/usr/bin:/bin'),
                       DBUS_SYSTEM_BUS_ADDRESS='unix:path=/nonexistent/nestvirt-test-bus', **env)

    def remote_env(self, **env):
        """fake_ssh() with the stand-in that bridges to the test bus; it logs to self.ssh_log."""
        import shlex
        bridge = nvtest.need_program('systemd-stdio-bridge')
        self.ssh_log = os.path.join(self.h.tmp, 'ssh.log')
        return self.fake_ssh(FAKE_SSH % {'log': shlex.quote(self.ssh_log),
                                         'bridge': shlex.quote(bridge),
                                         'address': shlex.quote(self.h.address)}, **env)

    def interrupt(self, proc):
        proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.fail('monitor did not end within 15 s of SIGINT')
        self.assertEqual(rc, 0, 'monitor exited %d on SIGINT: %s' % (rc, self.monitor_stderr()))


# ---------------------------------------------------------------------------------------------
# Human output against golden files

class GoldenAmdHostTest(ClientCase):
    FIXTURE = 'amd-host'

    def test_cli_golden_amd_host(self):
        self.check_golden('amd-host')


class GoldenCmdlineOverrideTest(ClientCase):
    FIXTURE = 'amd-cmdline-override'

    def test_cli_golden_amd_cmdline_override(self):
        self.check_golden('amd-cmdline-override', ('status', 'check'))


class GoldenIntelBuiltinTest(ClientCase):
    FIXTURE = 'intel-builtin'

    def test_cli_golden_intel_builtin(self):
        self.check_golden('intel-builtin', ('status', 'check'))


class GoldenGuestWithoutVmxTest(ClientCase):
    FIXTURE = 'guest-without-vmx'

    def test_cli_golden_guest_without_vmx(self):
        self.check_golden('guest-without-vmx', ('status', 'check'))


class GoldenModulesDisabledTest(ClientCase):
    FIXTURE = 'modules-disabled'

    def test_cli_golden_modules_disabled(self):
        self.check_golden('modules-disabled', ('status', 'check'))


class GoldenProxmoxTest(ClientCase):
    """A Proxmox VE host with five VMs (tests/fixtures/procs/README.md), all of them root's."""
    FIXTURE = 'amd-host'
    PROCS = 'proxmox'

    def test_cli_golden_proxmox(self):
        self.check_golden('proxmox')


# ---------------------------------------------------------------------------------------------
# The human table of vms, row by row, where golden files cannot hold the user names (they come
# from this machine's user database)

class VmsPlainTest(ClientCase):
    FIXTURE = 'amd-host'
    PROCS = 'plain'

    def test_cli_vms_table(self):
        vms = sorted(managed_vms(self.h.caller()).values(), key=vm_sort_key)
        uninspected = self.h.caller().ok(BUS_NAME, OBJECT_PATH, INTERFACE, 'ListVMs')[1]
        self.assertEqual(uninspected, 1, 'the plain tree has one process that cannot be read')
        self.assertTrue(vms, 'the plain tree has VMs')
        out = self.ctl('vms').stdout.splitlines()
        header = out[0].split()
        self.assertEqual(header, VMS_HEADER)
        # Columns start where the header's titles start.
        starts = [out[0].index(t) for t in header]
        rows = []
        for line in out[1:1 + len(vms)]:
            cells = [line[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
            rows.append(cells)
        self.assertEqual(len(rows), len(vms))
        yes_no = lambda b: 'yes' if b else 'no'  # noqa: E731
        for cells, vm in zip(rows, vms):
            with self.subTest(id=vm['Id']):
                now = vm['ExposedNow'] if vm['Running'] else '-'
                self.assertEqual(cells, [vm['Name'] or '-', vm['Manager'], vm['Id'],
                                         yes_no(vm['Running']), now,
                                         '%s (%s)' % (vm['NextStart'], vm['NextStartBy']),
                                         yes_no(vm['Pending']), yes_no(vm['Requires']),
                                         'blocked' if vm['StartBlocked'] else 'ok'])
        self.assertEqual(out[len(vms) + 1], '', 'a blank line before the note')
        self.assertRegex(out[len(vms) + 2],
                         r'^1 process could not be inspected .*may hold KVM too\.$')
        self.assertEqual(len(out), len(vms) + 3)


# ---------------------------------------------------------------------------------------------
# --json against the bus, field by field

class JsonTest(ClientCase):
    FIXTURE = 'amd-cmdline-override'
    PROCS = 'proxmox'

    def check_status_json(self, as_user):
        got = json.loads(self.ctl('--json=short', 'status', as_user=as_user).stdout)
        bus = self.h.caller().get_all()
        self.assertEqual(list(got), list(bus), 'not the GetAll properties in their order')
        for name, (_, value) in bus.items():
            with self.subTest(property=name):
                want = json_of_property(name, value)
                self.assertEqual(got[name], want)
                self.assertIs(type(got[name]), type(want))
        self.assertEqual(got['VMCount'], 5)

    def check_vms_json(self, as_user):
        r = self.ctl('vms', '--json=short', as_user=as_user)
        self.assertEqual(r.stdout.count('\n'), 1, 'short JSON is one line')
        got = json.loads(r.stdout)
        vms = managed_vms(self.h.caller())
        uninspected = self.h.caller().ok(BUS_NAME, OBJECT_PATH, INTERFACE, 'ListVMs')[1]
        self.assertEqual(sorted(got), ['uninspected', 'vms'])
        self.assertEqual(got['uninspected'], uninspected)
        self.assertEqual(len(got['vms']), len(vms))
        self.assertEqual(len(vms), 5)
        # In the table's order, each with its path and every property as the bus sends it.
        self.assertEqual([o['ObjectPath'] for o in got['vms']],
                         sorted(vms, key=lambda p: vm_sort_key(vms[p])))
        for obj in got['vms']:
            path = obj.pop('ObjectPath')
            with self.subTest(path=path):
                self.assertEqual(obj, vms[path])

    def check_check_json(self, as_user):
        got = json.loads(self.ctl('check', '--json=pretty', as_user=as_user).stdout)
        findings = self.h.caller().ok(BUS_NAME, OBJECT_PATH, INTERFACE, 'Check')[0]
        self.assertIsInstance(got, list)
        self.assertEqual(len(got), len(findings))
        self.assertTrue(findings, 'this host should have findings')
        for obj, finding in zip(got, findings):
            with self.subTest(id=finding[0]):
                self.assertEqual(list(obj), list(FINDING_FIELDS))
                self.assertEqual([obj[f] for f in FINDING_FIELDS], finding)
        ids = [f['id'] for f in got]
        self.assertIn('overridden-by-cmdline', ids)
        self.assertIn('vms-expose-nesting', ids)

    def test_cli_json_root(self):
        for check in (self.check_status_json, self.check_vms_json, self.check_check_json):
            with self.subTest(check=check.__name__):
                check(as_user=False)

    def test_cli_json_user(self):
        for check in (self.check_status_json, self.check_vms_json, self.check_check_json):
            with self.subTest(check=check.__name__):
                check(as_user=True)


class JsonPlainTest(ClientCase):
    FIXTURE = 'amd-host'
    PROCS = 'plain'

    def test_cli_json_vms_uninspected(self):
        got = json.loads(self.ctl('vms', '--json').stdout)
        uninspected = self.h.caller().ok(BUS_NAME, OBJECT_PATH, INTERFACE, 'ListVMs')[1]
        self.assertEqual(got['uninspected'], uninspected)
        self.assertEqual(got['uninspected'], 1)
        vms = managed_vms(self.h.caller())
        self.assertEqual({o.pop('ObjectPath'): o for o in got['vms']}, vms)
        # Strings the bus sends empty stay empty strings, never null.
        self.assertIn('', [o['Name'] for o in got['vms']])


# ---------------------------------------------------------------------------------------------
# Exit codes

class ExitVmsRunningTest(ClientCase):
    FIXTURE = 'amd-host'

    def test_cli_exit_vms_running(self):
        need_root('only root changes anything without polkit')
        # One reference: the preload library's delete_module() then fails with EAGAIN, as the
        # kernel's does for a module in use.
        nvtest.write_file(os.path.join(self.h.root, 'sys/module/kvm_amd/refcnt'), '1\n')
        add_holder(self.h)
        r = self.ctl('--no-ask-password', 'disable', '--runtime', ok=False)
        self.assertEqual(r.returncode, EXIT_VMS_RUNNING, r)
        self.assertEqual(r.stdout, '')
        self.assertIn('Failed to disable nested virtualization: kvm_amd is in use', r.stderr)
        self.assertIn('%d (%s)' % (HOLDER_PID, HOLDER_COMM), r.stderr)
        self.assertIn('Hint: shut those VMs down', r.stderr)
        self.assertEqual(self.h.caller().get('Nested'), ('s', 'enabled'))


class ExitBuiltinTest(ClientCase):
    FIXTURE = 'intel-builtin'

    def test_cli_exit_builtin(self):
        need_root('only root changes anything without polkit')
        r = self.ctl('--no-ask-password', 'disable', '--runtime', ok=False)
        self.assertEqual(r.returncode, EXIT_NOT_SUPPORTED, r)
        self.assertIn('built into the kernel', r.stderr)
        self.assertIn('kvm_intel.nested=0', r.stderr)
        self.assertIn('Hint: add it to the kernel command line', r.stderr)


class ExitNotSupportedTest(ClientCase):
    FIXTURE = 'guest-without-vmx'

    def test_cli_exit_not_supported(self):
        need_root('only root changes anything without polkit')
        r = self.ctl('--no-ask-password', 'enable', '--runtime', ok=False)
        self.assertEqual(r.returncode, EXIT_NOT_SUPPORTED, r)
        self.assertIn('Failed to enable nested virtualization: This CPU does not offer vmx',
                      r.stderr)
        self.assertIn("Hint: 'nestvirtctl check'", r.stderr)


class ExitModulesDisabledTest(ClientCase):
    FIXTURE = 'modules-disabled'

    def test_cli_exit_modules_disabled(self):
        need_root('only root changes anything without polkit')
        self.assertEqual(self.h.caller().get('Nested'), ('s', 'disabled'))
        r = self.ctl('--no-ask-password', 'enable', '--runtime', ok=False)
        self.assertEqual(r.returncode, EXIT_NOT_SUPPORTED, r)
        self.assertIn('kernel.modules_disabled', r.stderr)
        self.assertIn('Hint: only a reboot lifts this', r.stderr)


class ExitNotAuthorizedTest(ClientCase):
    FIXTURE = 'amd-host'

    def test_cli_exit_not_authorized(self):
        # No polkitd on this bus: the daemon can authorize nobody but root.
        r = self.ctl('--no-ask-password', 'disable', as_user=True, ok=False)
        self.assertEqual(r.returncode, EXIT_NOT_AUTHORIZED, r)
        self.assertEqual(r.stdout, '')
        self.assertIn('Not authorized to disable nested virtualization', r.stderr)
        self.assertIn('Hint:', r.stderr)
        # Nothing changed, and queries are still everyone's.
        self.assertEqual(self.h.caller().get('Nested'), ('s', 'enabled'))
        self.ctl('check', as_user=True)


class UsageTest(unittest.TestCase):
    """Usage errors exit 2 before any bus is touched."""

    def test_cli_exit_usage(self):
        ctl = nvtest.need_env('NESTVIRTCTL')
        # A bus that does not exist: a usage error must not get as far as connecting.
        env = ctl_env(DBUS_SYSTEM_BUS_ADDRESS='unix:path=/nonexistent/nestvirt-test-bus')
        cases = [
            (['bogus'], "Unknown verb 'bogus'"),
            (['--bogus'], "Unknown option '--bogus'"),
            (['-x'], "Unknown option '-x'"),
            (['vms', 'extra'], "Too many arguments for verb 'vms'"),
            (['check', 'extra'], "Too many arguments for verb 'check'"),
            (['monitor', 'extra'], "Too many arguments for verb 'monitor'"),
            (['--json=yaml'], "Unknown JSON mode 'yaml'"),
            (['--runtime', 'vms'], '--runtime and --persistent apply only to enable and disable'),
            (['--persistent', 'monitor'], '--runtime and --persistent apply only'),
            (['-H'], "Option '-H' needs an argument"),
            (['--host=-oProxyCommand=sh'], "Invalid host '-oProxyCommand=sh'"),
            (['-H', 'root@'], "Invalid host 'root@'"),
            (['--no-pager=yes'], "Option '--no-pager' takes no argument"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                r = subprocess.run([ctl] + args, env=env, stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, EXIT_USAGE, r)
                self.assertEqual(r.stdout, '')
                self.assertIn(message, r.stderr)
                self.assertEqual(r.stderr.count('\n'), 1, 'one line: %r' % r.stderr)


# ---------------------------------------------------------------------------------------------
# monitor

class MonitorTest(ClientCase):
    FIXTURE = 'amd-host'

    def test_cli_monitor(self):
        need_root('the change is made as root')
        proc, lines = self.start_monitor()
        first = lines.wait_for(r'Watching nestvirtd')
        self.assertRegex(first, '^' + TIMESTAMP.pattern + r' Watching nestvirtd for changes '
                         r'\(Nested: enabled, NestedNextLoad: enabled, VMCount: 0\)\.$')
        self.ctl('--no-ask-password', 'disable', '--runtime')
        line = lines.wait_for(r'Nested: ', start=1)
        self.assertRegex(line, '^' + TIMESTAMP.pattern + r' Nested: enabled → disabled$')
        # Each change once.
        rest = lines.drain(0.5)[1:]
        self.assertEqual([l for l in rest if ' Nested: ' in l], [line], rest)
        self.interrupt(proc)
        self.assertEqual(self.monitor_stderr(), '')

    def test_cli_monitor_json(self):
        need_root('the change is made as root')
        proc, lines = self.start_monitor('--json=pretty')
        state = json.loads(lines.wait_for(r'"type":"state"'))
        self.assertEqual(sorted(state), ['properties', 'time', 'type'])
        self.assertRegex(state['time'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$')
        bus = self.h.caller().get_all()
        self.assertEqual(state['properties'],
                         {k: json_of_property(k, v) for k, (_, v) in bus.items()})
        self.ctl('--no-ask-password', 'disable', '--runtime')
        change = json.loads(lines.wait_for(r'"property":"Nested"', start=1))
        self.assertEqual({k: v for k, v in change.items() if k != 'time'},
                         {'type': 'change', 'property': 'Nested', 'old': 'enabled',
                          'new': 'disabled'})
        self.interrupt(proc)
        for line in lines.lines:
            json.loads(line)  # every line is one object, whatever --json asked for


class MonitorRestartTest(ClientCase):
    """The daemon can go away under the monitor (the monitor's subscription keeps it from exiting
    on idle, but not from being stopped); a change made while it is gone is reported when it is
    back, and the restart alone prints nothing."""
    FIXTURE = 'amd-host'
    IDLE_TIMEOUT = 2

    def test_cli_monitor_restart(self):
        proc, lines = self.start_monitor()
        lines.wait_for(r'Watching nestvirtd')
        first = self.h.instances()
        self.assertEqual(len(first), 1)
        os.kill(first[0], signal.SIGTERM)
        self.assertEqual(self.h.wait_exit(first[0], timeout=15), 0)
        self.assertEqual(proc.poll(), None, 'monitor ended with the daemon')

        # Behind the daemon's back, as "modprobe -r kvm_amd; modprobe kvm_amd nested=0" would.
        nvtest.write_file(os.path.join(self.h.root, 'sys/module/kvm_amd/parameters/nested'), '0\n')
        self.assertEqual(lines.drain(0.5)[1:], [], 'printed something while the daemon was gone')

        # Anyone's call starts the next instance; the monitor then reports the difference.
        self.assertEqual(self.h.caller().get('Nested'), ('s', 'disabled'))
        self.assertEqual(len(self.h.instances()), 2)
        line = lines.wait_for(r'Nested: ', start=1)
        self.assertRegex(line, '^' + TIMESTAMP.pattern + r' Nested: enabled → disabled$')
        self.assertEqual(lines.drain(0.5)[1:], [line])
        self.interrupt(proc)

    def test_cli_monitor_sigterm(self):
        proc, lines = self.start_monitor('--json')
        lines.wait_for(r'"type":"state"')
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=15), 0)


# ---------------------------------------------------------------------------------------------
# -H over a stand-in for ssh

FAKE_SSH = r'''#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Stands in for ssh: records its arguments, drops ssh's options and the host, and runs the
# remote command here, on the test bus (systemd-stdio-bridge ignores DBUS_SYSTEM_BUS_ADDRESS:
# --bus-path is its only way to another bus).
printf '%%s\n' "$*" >>%(log)s
while [ $# -gt 0 ]; do
    case $1 in
        --) shift; break ;;
        -[BbcDEeFIiJLlmOopQRSWw]) shift 2 ;;
        -*) shift ;;
        *) break ;;
    esac
done
shift
if [ "$1" != systemd-stdio-bridge ]; then
    echo "fake ssh: unexpected remote command: $*" >&2
    exit 255
fi
shift
exec %(bridge)s --bus-path=%(address)s "$@"
'''

FAILING_SSH = '''#!/bin/sh
echo "ssh: Could not resolve hostname nowhere: Name or service not known" >&2
exit 255
'''


class RemoteTest(ClientCase):
    FIXTURE = 'amd-host'
    PROCS = 'proxmox'

    def run_remote(self, env, *args):
        return subprocess.run([self.h.nestvirtctl] + list(args), env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)

    def test_cli_remote(self):
        need_root('the remote side changes something, as root')
        env = self.remote_env()

        r = self.run_remote(env, '-H', 'root@pve1', '--json=short')
        self.assertEqual(r.returncode, 0, r.stderr)
        got = json.loads(r.stdout)
        self.assertEqual(got, {k: json_of_property(k, v)
                               for k, (_, v) in self.h.caller().get_all().items()})

        # The VMs are the other host's.
        r = self.run_remote(env, '--host=pve1', 'vms')
        self.assertEqual(r.returncode, 0, r.stderr)
        ids = sorted((vm['Manager'], vm['Id']) for vm in managed_vms(self.h.caller()).values())
        self.assertEqual(len(ids), 5)
        self.assertEqual(sorted(tuple(line.split()[1:3]) for line in r.stdout.splitlines()[1:]),
                         ids)

        # A change, and a monitor, over the bridge.
        proc, lines = self.start_monitor('-H', 'root@pve1', env=env)
        lines.wait_for(r'Watching nestvirtd')
        r = self.run_remote(env, '-H', 'root@pve1', '--no-ask-password', 'disable', '--runtime')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('disabled now', r.stdout)
        lines.wait_for(r' Nested: enabled → disabled$', start=1)
        self.interrupt(proc)
        self.assertEqual(self.h.caller().get('Nested'), ('s', 'disabled'))

        calls = nvtest.read_file(self.ssh_log).splitlines()
        self.assertEqual(calls[0], '-xT -l root -- pve1 systemd-stdio-bridge')
        self.assertEqual(calls[1], '-xT -- pve1 systemd-stdio-bridge')
        self.assertEqual(len(calls), 4)

    def test_cli_remote_ssh_fails(self):
        env = self.fake_ssh(FAILING_SSH)
        r = self.run_remote(env, '-H', 'nowhere', 'status')
        self.assertEqual(r.returncode, EXIT_FAILURE)
        self.assertEqual(r.stdout, '')
        self.assertIn('ssh: Could not resolve hostname nowhere', r.stderr)
        self.assertIn('Failed to connect to the system bus of nowhere over ssh: ssh exited with '
                      'status 255', r.stderr)
        self.assertIn('Hint:', r.stderr)
        self.assertEqual(self.h.instances(), [], 'the local daemon was started')


# ---------------------------------------------------------------------------------------------
# --help, --version, the completion and the man page: no bus

class DocumentationTest(unittest.TestCase):

    def run_ctl(self, *args):
        ctl = nvtest.need_env('NESTVIRTCTL')
        r = subprocess.run([ctl] + list(args), env=ctl_env(), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, '')
        return r.stdout

    def test_cli_help(self):
        verbs = verbs_of_table()
        self.assertIn('monitor', verbs)
        sections = help_sections(self.run_ctl('--help'))
        self.assertEqual([l.split()[0] for l in sections['Verbs']], verbs)
        options = ' '.join(sections['Options'])
        for name in long_options_of_table():
            with self.subTest(option=name):
                self.assertIn('--' + name, options)
        self.assertIn('-H --host=[USER@]HOST', options)
        codes = [int(l.split()[0]) for l in sections['Exit status']]
        self.assertEqual(codes, EXIT_CODES)
        self.assertEqual(self.run_ctl('-h'), self.run_ctl('--help'))

    def test_cli_version(self):
        self.assertEqual(self.run_ctl('--version'), 'nestvirtctl %s\n' % nvtest.project_version())
        self.assertEqual(self.run_ctl('--json=help'), 'pretty\nshort\n')

    def complete(self, *words):
        """What the bash completion offers for the command line words (the last is the word
        being completed), with bash's default COMP_WORDBREAKS."""
        bash = nvtest.need_program('bash')
        script = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); '
                  '_nestvirtctl; printf "%s\\n" "${COMPREPLY[@]}"')
        r = subprocess.run([bash, '--norc', '-c', script, 'bash',
                            nvtest.source_path('completion', 'nestvirtctl'), 'nestvirtctl']
                           + list(words), capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [w for w in r.stdout.splitlines() if w]

    def test_cli_completion(self):
        verbs = verbs_of_table()
        self.assertEqual(self.complete(''), verbs)
        self.assertEqual(self.complete('mon'), ['monitor'])
        options = self.complete('--')
        for name in long_options_of_table():
            with self.subTest(option=name):
                self.assertTrue(any(o.lstrip('-').rstrip('=') == name for o in options), options)
        self.assertEqual(self.complete('--json', '=', ''), ['pretty', 'short'])
        self.assertEqual(self.complete('--json', '=', 'sh'), ['short'])
        self.assertNotIn('--runtime', self.complete('vms', '--'))
        self.assertIn('--runtime', self.complete('enable', '--'))
        self.assertEqual(self.complete('vms', ''), [], 'a verb was given already')
        self.assertEqual(self.complete('-H', 'somehost', ''), verbs)

    def test_cli_man_page(self):
        """docs/nestvirtctl.1 names every verb, option, exit status and finding id."""
        page = nvtest.source_path('docs', 'nestvirtctl.1')
        env = dict(os.environ, MANWIDTH='200', LC_ALL='C.UTF-8')
        r = subprocess.run([nvtest.need_program('man'), '--warnings', '-l', page], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.stderr, '')
        text = r.stdout
        sections = {}
        current = None
        for line in text.splitlines():
            if re.match(r'^[A-Z][A-Z ]+$', line):
                current = sections.setdefault(line, [])
            elif current is not None:
                current.append(line)
        for name in ('NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'OPTIONS', 'EXIT STATUS',
                     'JSON OUTPUT', 'FINDINGS', 'EXAMPLES', 'ENVIRONMENT', 'SEE ALSO'):
            self.assertIn(name, sections)
        terms = lambda s: [l.strip().split()[0] for l in sections[s]  # noqa: E731
                           if re.match(r'^ {7}\S', l)]
        self.assertEqual(terms('COMMANDS')[1:], verbs_of_table())  # after "Without a command"
        options = '\n'.join(sections['OPTIONS'])
        for name in long_options_of_table():
            with self.subTest(option=name):
                self.assertIn('--' + name, options)
        self.assertEqual([t for t in terms('EXIT STATUS')], [str(c) for c in EXIT_CODES])
        # The ids in the order of Check: the checks[] table in findings.c, each check's ids in its
        # body in findings-*.c.
        core = nvtest.source_path('daemon', 'core')
        table = re.search(r'checks\[\]\).*?\{(.*?)\};',
                          nvtest.read_file(os.path.join(core, 'findings.c')), re.S).group(1)
        sources = ''.join(nvtest.read_file(p)
                          for p in sorted(glob.glob(os.path.join(core, 'findings-*.c'))))
        ids = []
        for name in re.findall(r'\w+', table):
            body = re.search(r'^int ' + name + r'\(.*?^\}', sources, re.M | re.S).group(0)
            ids += re.findall(r'push\(\s*f, "([a-z-]+)"', body)
        # Added after the table, by the bus layer, where libvirt is reachable.
        ids += re.findall(r'push\(\s*f, "([a-z-]+)"', re.search(
            r'^int nv_findings_add_libvirt_caps\(.*?^\}', sources, re.M | re.S).group(0))
        self.assertGreater(len(ids), 10)
        documented = [m.group(1) for m in (re.match(r'^ {7}([a-z-]+) \((error|warning|info)', l)
                                           for l in sections['FINDINGS']) if m]
        self.assertEqual(documented, ids, 'FINDINGS must list the ids in the order of Check')
        for verb in ('status', 'vms', 'check', 'monitor'):
            self.assertIn(verb, '\n'.join(sections['JSON OUTPUT']))


# ---------------------------------------------------------------------------------------------
# The terminal: pager, colors, wrapping

class TerminalTest(ClientCase):
    FIXTURE = 'amd-host'
    PROCS = 'proxmox'

    def tty_env(self, **extra):
        env = ctl_env(TERM='xterm', NO_COLOR=None, COLUMNS='72',
                      SYSTEMD_PAGER="sed 's/^/PAGED| /'")
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def run_tty(self, *args, **env):
        rc, out = run_in_pty([self.h.nestvirtctl] + list(args), self.tty_env(**env))
        self.assertEqual(rc, 0, out)
        return out

    def test_cli_terminal(self):
        for verb in ('status', 'vms', 'check'):
            with self.subTest(verb=verb, pager=True):
                out = self.run_tty(verb)
                self.assertTrue(out.strip())
                for line in out.splitlines():
                    self.assertTrue(line.startswith('PAGED| '), 'not through the pager: %r' % line)
            with self.subTest(verb=verb, pager=False):
                out = self.run_tty('--no-pager', verb)
                self.assertNotIn('PAGED|', out)
            with self.subTest(verb=verb, json=True):
                out = self.run_tty(verb, '--json')
                self.assertNotIn('PAGED|', out)
                json.loads(out)
            with self.subTest(verb=verb, pager='cat'):
                self.assertNotIn('PAGED|', self.run_tty(verb, SYSTEMD_PAGER='cat'))

        # $SYSTEMD_PAGER wins over $PAGER.
        out = self.run_tty('vms', PAGER="sed 's/^/OTHER| /'")
        self.assertNotIn('OTHER|', out)
        out = self.run_tty('vms', SYSTEMD_PAGER=None, PAGER="sed 's/^/OTHER| /'")
        self.assertTrue(out.startswith('OTHER| '), out)

        # Colors on a terminal, none with NO_COLOR; the check text wrapped to $COLUMNS.
        out = self.run_tty('--no-pager', 'check')
        self.assertIn('\x1b[0;1;33mWARNING\x1b[0m vms-expose-nesting: ', out)
        widths = [len(ANSI.sub('', line)) for line in out.splitlines()]
        self.assertLessEqual(max(widths), 72, out)
        self.assertGreater(len(widths), 4, 'not wrapped')
        out = self.run_tty('--no-pager', 'check', NO_COLOR='1')
        self.assertNotIn('\x1b[', out)


# ---------------------------------------------------------------------------------------------
# Memory

class ValgrindTest(ClientCase):
    FIXTURE = 'amd-host'
    PROCS = 'proxmox'

    def test_cli_valgrind(self):
        valgrind = nvtest.need_program('valgrind')
        argv = [valgrind, '--quiet', '--leak-check=full', '--show-leak-kinds=definite,indirect',
                '--errors-for-leak-kinds=definite,indirect', '--error-exitcode=99']
        env = ctl_env(G_SLICE='always-malloc', G_DEBUG='gc-friendly')
        for args in (['status'], ['vms'], ['check'], ['--json=short'], ['vms', '--json'],
                     ['check', '--json'], ['no-such-verb']):
            with self.subTest(args=args):
                r = subprocess.run(argv + [self.h.nestvirtctl] + args, env=env,
                                   stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                   timeout=120)
                self.assertNotEqual(r.returncode, 99, r.stderr)
                self.assertIn(r.returncode, (0, EXIT_USAGE), r.stderr)
        proc, lines = self.start_monitor('--json', argv_prefix=argv, env=env)
        lines.wait_for(r'"type":"state"', timeout=60)
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=60)
        self.assertEqual(rc, 0, self.monitor_stderr())

        # -H: the ssh process and the connection on its pipes.
        r = subprocess.run(argv + [self.h.nestvirtctl, '-H', 'root@pve1', 'check'],
                           env=self.remote_env(G_SLICE='always-malloc', G_DEBUG='gc-friendly'),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)

        # A terminal, colors and the pager.
        tty_env = dict(env, TERM='xterm', SYSTEMD_PAGER="sed 's/^/PAGED| /'")
        rc, out = run_in_pty(argv + [self.h.nestvirtctl, 'vms'], tty_env, timeout=120)
        self.assertEqual(rc, 0, out)
        # (valgrind's own notes share the terminal)
        self.assertIn('PAGED| NAME ', out)


if __name__ == '__main__':
    sys.exit(nvtest.main())

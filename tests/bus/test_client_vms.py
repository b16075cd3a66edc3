#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""nestvirtctl's VM verbs on the bus tier: vms, vm show, vm expose and vm hide, and disable's
refusal for VMs that require nesting, against nestvirtd on a Proxmox VE fixture host.

Each test_* method is one meson test (see meson.build); names start with "cli_vm" so they stay
apart from those of the other scripts. What is tested:

- the human output of vms and vm show against golden files in golden/ (rewrite them with
      NESTVIRT_UPDATE_GOLDEN=1 meson test -C BUILD --suite bus cli_vm_golden
  and review the diff);
- --json of vms and vm show, parsed back and compared with GetManagedObjects and ListVMs;
- the order of the listing (manager, then id, numbers by value);
- how a VM is named: name, id, MANAGER:ID, and the refusals for ambiguous and unknown names;
- the exit code and message of each refusal: Locked, NotSupported, NoSuchVM and ManagerFailed
  (through a stand-in for pvesh), AccessDenied, VMsRequireNesting, and the usage errors of the
  new options;
- vm expose --enable-host on a VM that is exposed already (SetNested, then a SetExposure that
  changes nothing).

The Proxmox VE host is amd-host with the processes of tests/fixtures/procs/proxmox and the VM
configurations below (PVE_CONFS) in its /etc/pve/qemu-server.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nvtest  # noqa: E402
from nvtest import BUS_NAME, INTERFACE, OBJECT_PATH, managed_vms  # noqa: E402
from nvtest import vm_sort_key as sort_key  # noqa: E402
from test_client import (EXIT_LOCKED, EXIT_MANAGER_FAILED, EXIT_NO_SUCH_VM,  # noqa: E402
                         EXIT_NOT_AUTHORIZED, EXIT_NOT_SUPPORTED, EXIT_USAGE,
                         EXIT_VM_AMBIGUOUS, EXIT_VMS_REQUIRE_NESTING, ClientCase, ctl_env,
                         need_root)

PVE_NODE = 'pve1'
QEMU_SERVER_VERSION = '9.0.30'


def pve_conf(name, *lines):
    return '\n'.join(['boot: order=scsi0', 'cores: 2', 'memory: 2048', 'name: %s' % name,
                      'ostype: l26', 'scsi0: local-lvm:vm-disk-0,size=32G'] + list(lines)) + '\n'


# VMs 100 to 104 are the running processes of procs/proxmox (104's pid file names a process that
# is gone, so its process is listed as plain QEMU). 999 and 1000 test the numeric order; 999 shares
# its name with 101, and 2644 is a name and the pid of the QEMU process.
PVE_CONFS = {
    '100': pve_conf('pve-lab', 'cpu: host'),
    '101': pve_conf('web01'),
    '102': pve_conf('nested-lab', 'cpu: x86-64-v2-AES,flags=+nested-virt'),
    '103': pve_conf('ci-runner', 'cpu: host', 'args: -cpu host,-vmx'),
    '104': pve_conf('old-db', 'cpu: host'),
    '999': pve_conf('web01', 'cpu: x86-64-v2-AES'),
    '110': pve_conf('backup-me', 'cpu: x86-64-v2-AES', 'lock: backup'),
    '1000': pve_conf('2644', 'cpu: host'),
}

DPKG_STATUS = '''Package: qemu-server
Status: install ok installed
Architecture: amd64
Version: %s

''' % QEMU_SERVER_VERSION

# What pvesh says when asked for a VM whose configuration is gone, and a refusal of its own.
PVESH_GONE = '''#!/bin/sh
echo "Configuration file 'nodes/%s/qemu-server/101.conf' does not exist" >&2
exit 2
''' % PVE_NODE
PVESH_FAILS = '''#!/bin/sh
echo "got timeout while waiting for the cluster file system" >&2
exit 255
'''


def add_pve(h):
    """Makes the fixture host a Proxmox VE node with PVE_CONFS; before the first call."""
    for vmid, text in PVE_CONFS.items():
        h.fixture_write('/etc/pve/qemu-server/%s.conf' % vmid, text)
    os.makedirs(h.fixture_path('/etc/pve/nodes/%s' % PVE_NODE), exist_ok=True)
    os.symlink('nodes/%s' % PVE_NODE, h.fixture_path('/etc/pve/local'))
    h.fixture_write('/var/lib/dpkg/status', DPKG_STATUS)


class VmCase(ClientCase):
    FIXTURE = 'amd-host'
    PROCS = 'proxmox'
    PVESH = None  # a script that stands in for pvesh

    def daemon_env(self):
        if not self.PVESH:
            return None
        bindir = tempfile.mkdtemp(prefix='nestvirt-pvesh-')
        os.chmod(bindir, 0o755)
        self.addCleanup(shutil.rmtree, bindir, True)
        pvesh = os.path.join(bindir, 'pvesh')
        nvtest.write_file(pvesh, self.PVESH, mode=0o755)
        return {'NESTVIRT_PVESH': pvesh}

    def setUp(self):
        super().setUp()
        add_pve(self.h)

    def fail_ctl(self, *args, code, as_user=False):
        r = self.ctl(*args, as_user=as_user, ok=False)
        self.assertEqual(r.returncode, code, 'nestvirtctl %s: %r' % (' '.join(args), r))
        self.assertEqual(r.stdout, '')
        return r.stderr


# ---------------------------------------------------------------------------------------------
# The listing

class VmListTest(VmCase):

    def test_cli_vm_golden_proxmox(self):
        self.assertGolden('vm-list-proxmox', self.ctl('vms').stdout)
        for name in ('pve-lab', 'nested-lab', 'ci-runner', 'backup-me', 'qemu:2644'):
            with self.subTest(vm=name):
                self.assertGolden('vm-show-%s' % name.replace(':', '-'),
                                  self.ctl('vm', 'show', name).stdout)

    def test_cli_vm_list_table(self):
        vms = managed_vms(self.h.caller())
        self.assertEqual(len(vms), len(PVE_CONFS) + 1, 'the configs and the QEMU process')
        out = self.ctl('vms').stdout.splitlines()
        header = out[0].split()
        self.assertEqual(header, ['NAME', 'MANAGER', 'ID', 'RUNNING', 'NOW', 'NEXT', 'PENDING',
                                  'REQUIRES', 'START'])
        starts = [out[0].index(t) for t in header]
        rows = [[line[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
                for line in out[1:1 + len(vms)]]
        want = sorted(vms.values(), key=sort_key)
        self.assertEqual([(r[1], r[2]) for r in rows], [(p['Manager'], p['Id']) for p in want])
        self.assertEqual([r[2] for r in rows if r[1] == 'proxmox'],
                         ['100', '101', '102', '103', '104', '110', '999', '1000'])
        yes_no = {True: 'yes', False: 'no'}
        for cells, p in zip(rows, want):
            with self.subTest(vm=p['Id']):
                next_cell = '%s (%s)' % (p['NextStart'], p['NextStartBy'])
                self.assertEqual(cells, [p['Name'] or '-', p['Manager'], p['Id'],
                                         yes_no[p['Running']],
                                         p['ExposedNow'] if p['Running'] else '-', next_cell,
                                         yes_no[p['Pending']], yes_no[p['Requires']],
                                         'blocked' if p['StartBlocked'] else 'ok'])
        # The legend follows for the columns that say yes somewhere.
        footer = out[1 + len(vms):]
        self.assertEqual(footer[0], '')
        if any(p['Requires'] for p in want):
            self.assertIn('REQUIRES: the next start fails while host nesting is off.', footer)

    def test_cli_vm_list_json(self):
        for as_user in (False, True):
            with self.subTest(as_user=as_user):
                r = self.ctl('vms', '--json=short', as_user=as_user)
                self.assertEqual(r.stdout.count('\n'), 1, 'short JSON is one line')
                got = json.loads(r.stdout)
                self.assertEqual(sorted(got), ['uninspected', 'vms'])
                caller = self.h.caller()
                _, uninspected = caller.ok(BUS_NAME, OBJECT_PATH, INTERFACE, 'ListVMs')
                self.assertEqual(got['uninspected'], uninspected)
                vms = managed_vms(caller)
                want = sorted(vms.items(), key=lambda item: sort_key(item[1]))
                self.assertEqual([o['ObjectPath'] for o in got['vms']], [p for p, _ in want])
                for obj, (path, props) in zip(got['vms'], want):
                    with self.subTest(path=path):
                        self.assertEqual(list(obj), ['ObjectPath'] + list(props))
                        self.assertEqual({k: v for k, v in obj.items() if k != 'ObjectPath'},
                                         props)
                        self.assertIs(type(obj['Running']), bool)
                        self.assertIs(type(obj['Pid']), int)
                        self.assertIsInstance(obj['Notes'], list)

    def test_cli_vm_show_json(self):
        vms = managed_vms(self.h.caller())
        for path, props in vms.items():
            spec = '%s:%s' % (props['Manager'], props['Id'])
            with self.subTest(vm=spec):
                got = json.loads(self.ctl('vm', 'show', spec, '--json=pretty').stdout)
                self.assertEqual(got, dict(ObjectPath=path, **props))


# ---------------------------------------------------------------------------------------------
# Naming a VM

class VmNameTest(VmCase):

    def shown(self, spec):
        got = json.loads(self.ctl('vm', 'show', spec, '--json').stdout)
        return '%s:%s' % (got['Manager'], got['Id'])

    def test_cli_vm_names(self):
        self.assertEqual(self.shown('pve-lab'), 'proxmox:100')
        self.assertEqual(self.shown('102'), 'proxmox:102')
        self.assertEqual(self.shown('proxmox:999'), 'proxmox:999')
        self.assertEqual(self.shown('proxmox:1000'), 'proxmox:1000')
        self.assertEqual(self.shown('qemu:2644'), 'qemu:2644')
        # The text names the VM as the JSON does.
        out = self.ctl('vm', 'show', 'ci-runner').stdout
        self.assertRegex(out, r'(?m)^ +Name: ci-runner$')
        self.assertRegex(out, r'(?m)^ +Id: 103$')

    def test_cli_vm_name_ambiguous(self):
        err = self.fail_ctl('vm', 'show', 'web01', code=EXIT_VM_AMBIGUOUS)
        self.assertEqual(err.splitlines(), [
            "'web01' matches 2 VMs:",
            '  web01 (proxmox:101)',
            '  web01 (proxmox:999)',
            "Hint: name one as MANAGER:ID, for example 'nestvirtctl vm show proxmox:101'.",
        ])
        # The process of VM 104 runs under another pid than its pid file names, so it is a QEMU
        # process of the same name.
        err = self.fail_ctl('vm', 'show', 'old-db', code=EXIT_VM_AMBIGUOUS)
        self.assertIn('  old-db (proxmox:104)\n  old-db (qemu:2644)\n', err)
        # An id of one VM that is another's name.
        err = self.fail_ctl('--no-ask-password', 'vm', 'expose', '2644', code=EXIT_VM_AMBIGUOUS)
        self.assertIn('  2644 (proxmox:1000)', err)
        self.assertIn('  old-db (qemu:2644)', err)
        self.assertIn("'nestvirtctl vm expose proxmox:1000'", err)

    def test_cli_vm_name_unknown(self):
        n = len(PVE_CONFS) + 1
        for spec in ('no-such-vm', 'proxmox:4242', 'libvirt:100', '4242'):
            with self.subTest(spec=spec):
                err = self.fail_ctl('vm', 'show', spec, code=EXIT_NO_SUCH_VM)
                self.assertEqual(err.splitlines(), [
                    "No VM matches '%s' as MANAGER:ID, id or name among the %d VMs nestvirtd "
                    "knows (managers: proxmox, qemu)." % (spec, n),
                    "Hint: 'nestvirtctl vms' lists them.",
                ])
        # Control characters in the argument are not echoed raw.
        err = self.fail_ctl('vm', 'show', 'x\x1b[31my', code=EXIT_NO_SUCH_VM)
        self.assertIn("'x\\x1b[31my'", err)


class VmNoVmsTest(ClientCase):
    """A host without VMs: an empty listing, and nothing to name."""
    FIXTURE = 'amd-host'

    def test_cli_vm_none(self):
        self.assertEqual(self.ctl('vms').stdout, 'No VMs.\n')
        self.assertEqual(json.loads(self.ctl('vms', '--json').stdout),
                         {'vms': [], 'uninspected': 0})
        r = self.ctl('vm', 'show', 'pve-lab', ok=False)
        self.assertEqual(r.returncode, EXIT_NO_SUCH_VM)
        self.assertEqual(r.stderr,
                         "No VM matches 'pve-lab': nestvirtd knows no VMs on this host.\n")


# ---------------------------------------------------------------------------------------------
# Refusals and their exit codes

class VmRefusalTest(VmCase):

    def test_cli_vm_locked(self):
        err = self.fail_ctl('--no-ask-password', 'vm', 'expose', 'backup-me', code=EXIT_LOCKED)
        self.assertIn('Failed to expose vmx/svm to backup-me (proxmox:110): ', err)
        self.assertIn('backup', err)
        self.assertIn('Hint: run this again when the task that holds the lock', err)

    def test_cli_vm_not_supported(self):
        # It runs with -cpu host, so hiding is a change.
        err = self.fail_ctl('--no-ask-password', 'vm', 'hide', 'qemu:2644',
                            code=EXIT_NOT_SUPPORTED)
        self.assertIn('Failed to hide vmx/svm from old-db (qemu:2644): ', err)
        self.assertIn('-cpu', err, 'the message says what to put on the command line')
        self.assertIn("Hint: the message says what the VM's manager can express", err)
        self.assertNotIn('nestvirtctl check', err, 'the hint of the host, not of a VM')

    def test_cli_vm_not_authorized(self):
        # No polkitd on this bus: nobody but root is authorized. 101 is hidden now, so exposing
        # it is a change.
        err = self.fail_ctl('--no-ask-password', 'vm', 'expose', 'proxmox:101',
                            code=EXIT_NOT_AUTHORIZED, as_user=True)
        self.assertIn('Not authorized to expose vmx/svm to web01 (proxmox:101): ', err)
        self.assertIn('Hint:', err)
        # A request that changes nothing needs no authorization.
        r = self.ctl('vm', 'hide', 'proxmox:101', as_user=True)
        self.assertEqual(r.stdout, 'web01 (proxmox:101): vmx/svm hidden from its next start on.\n')
        self.assertEqual(json.loads(self.ctl('vm', 'hide', '101', '--json', as_user=True).stdout),
                         {'NextStart': 'hidden', 'RestartNeeded': False,
                          'Notes': managed_vms(self.h.caller())[
                              nvtest.VM_PATH_PREFIX + 'proxmox_101']['Notes']})

    def test_cli_vm_usage(self):
        # Usage errors come before any bus is touched.
        env = ctl_env(DBUS_SYSTEM_BUS_ADDRESS='unix:path=/nonexistent/nestvirt-test-bus')
        cases = [
            (['vm'], "Too few arguments for verb 'vm'"),
            (['vm', 'show'], "Too few arguments for verb 'vm'"),
            (['vm', 'show', 'a', 'b'], "Too many arguments for verb 'vm'"),
            (['vm', 'start', '100'], "Unknown vm command 'start'"),
            (['vm', 'hide', '100', '--host-model'], '--host-model and --enable-host apply only'),
            (['vm', 'show', '100', '--enable-host'], '--host-model and --enable-host apply only'),
            (['--host-model', 'vms'], '--host-model and --enable-host apply only to vm expose'),
            (['enable', '--ignore-requiring-vms'], '--ignore-requiring-vms applies only to'),
            (['vms', '--ignore-requiring-vms'], '--ignore-requiring-vms applies only to disable'),
            (['--host-model=yes', 'vm', 'expose', '1'], "Option '--host-model' takes no argument"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                r = subprocess.run([self.h.nestvirtctl] + args, env=env, stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, EXIT_USAGE, r)
                self.assertEqual(r.stdout, '')
                self.assertIn(message, r.stderr)
                self.assertEqual(r.stderr.count('\n'), 1, 'one line: %r' % r.stderr)


class PveshRefusalCase(VmCase):
    """Exposing VM 101 as root gets as far as pvesh (the stand-in PVESH), which refuses."""

    def expose_refused(self, code, *phrases):
        need_root('only root is authorized without polkit')
        err = self.fail_ctl('--no-ask-password', 'vm', 'expose', 'proxmox:101', code=code)
        self.assertIn('Failed to expose vmx/svm to web01 (proxmox:101): ', err)
        for phrase in phrases:
            self.assertIn(phrase, err)


class VmGoneTest(PveshRefusalCase):
    """pvesh says the configuration does not exist: the VM was removed meanwhile."""
    PVESH = PVESH_GONE

    def test_cli_vm_no_such_vm(self):
        self.expose_refused(EXIT_NO_SUCH_VM, "Hint: the VM was removed meanwhile; 'nestvirtctl "
                            "vms' lists the VMs now.")


class VmManagerFailsTest(PveshRefusalCase):
    PVESH = PVESH_FAILS

    def test_cli_vm_manager_failed(self):
        self.expose_refused(EXIT_MANAGER_FAILED,
                            'got timeout while waiting for the cluster file system',
                            'Hint: the VM manager refused the change')
        self.assertEqual(managed_vms(self.h.caller())[nvtest.VM_PATH_PREFIX + 'proxmox_101']
                         ['NextStart'], 'hidden')


class VmRequireNestingTest(VmCase):
    """VM 102 requires nesting (+nested-virt, which Proxmox VE enforces)."""

    def test_cli_vm_disable_refused(self):
        need_root('only root changes anything without polkit')
        self.assertTrue(managed_vms(self.h.caller())[nvtest.VM_PATH_PREFIX + 'proxmox_102']
                        ['Requires'])
        dropin_before = self.h.dropin()
        err = self.fail_ctl('--no-ask-password', 'disable', '--persistent',
                            code=EXIT_VMS_REQUIRE_NESTING)
        lines = err.splitlines()
        self.assertTrue(lines[0].startswith('Failed to disable nested virtualization: '), err)
        self.assertIn('102', lines[0], 'the message names the VM')
        self.assertTrue(lines[1].startswith("Hint: hide vmx/svm from them first ('nestvirtctl vm "
                                            "hide VM'), or pass --ignore-requiring-vms"), err)
        self.assertEqual(lines[2:], ['  nestvirtctl vm hide proxmox:102    # nested-lab'])
        self.assertEqual(self.h.dropin(), dropin_before, 'nothing was written')

        r = self.ctl('--no-ask-password', 'disable', '--persistent', '--ignore-requiring-vms',
                     '--json=short', ok=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)['NestedNextLoad'], 'disabled')


class VmEnableHostTest(VmCase):
    """--enable-host on a VM that is exposed already: SetNested runs as enable runs it, then
    SetExposure changes nothing."""

    def test_cli_vm_expose_enable_host(self):
        need_root('only root changes anything without polkit')
        r = self.ctl('--no-ask-password', 'vm', 'expose', 'pve-lab', '--enable-host')
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], 'Nested virtualization is enabled now (it already was) and '
                                   'after the next boot.')
        self.assertEqual(lines[1], 'pve-lab (proxmox:100): vmx/svm exposed from its next start on.')
        self.assertIn(b'nested=1', self.h.dropin())

        got = json.loads(self.ctl('--no-ask-password', 'vm', 'expose', '100', '--enable-host',
                                  '--json').stdout)
        self.assertEqual(got['NextStart'], 'exposed')
        self.assertEqual(got['Nested'], 'enabled')
        self.assertEqual(got['NestedNextLoad'], 'enabled')
        self.assertEqual(sorted(got), ['Nested', 'NestedNextLoad', 'NestedNextLoadSource',
                                       'NextStart', 'Notes', 'RestartNeeded'])


if __name__ == '__main__':
    sys.exit(nvtest.main())

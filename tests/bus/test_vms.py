#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The bus tier, per-VM nesting: the VM objects below /org/nestvirt/NestVirt1/vm, the
ObjectManager, SetExposure, and what host changes make of configured VMs.

Proxmox VE cannot be installed here: its VM configs are files in the fixture root, written in
qm.conf(5)'s format, and pvesh is tests/pve/pvesh-standin.py, a stand-in that checks its
arguments against PVE's documented API and edits those files as PVE would (see its header). It
logs every call, so the tests see exactly what nestvirtd asked PVE to do. systemd does not run
as PID 1 here either: tests/bus/systemd-standin.py owns its name on the test bus and records the
restart of pvestatd that nestvirtd asks for.

Each test_* method is one meson test (see meson.build), named after the method without "test_".
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nvtest  # noqa: E402
from nvtest import (BUS_NAME, INTERFACE, OBJECT_MANAGER, OBJECT_PATH, PROPERTIES,  # noqa: E402
                    VM_INTERFACE, VM_PATH_PREFIX, BusTestCase, managed_vms)

ERROR = 'org.nestvirt.NestVirt1.Error.'
ACCESS_DENIED = 'org.freedesktop.DBus.Error.AccessDenied'
AUTH_REQUIRED = 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired'
INVALID_ARGS = 'org.freedesktop.DBus.Error.InvalidArgs'
RUNTIME, PERSISTENT, IGNORE_REQUIRING_VMS = 1, 2, 4
HOST_MODEL = 1

PVE_NODE = 'pve1'
PVESH_STANDIN = nvtest.source_path('tests', 'pve', 'pvesh-standin.py') if \
    os.environ.get('NESTVIRT_SOURCE_ROOT') else None


def pve_conf(name, *lines):
    return '\n'.join(['boot: order=scsi0', 'cores: 2', 'memory: 2048', 'name: %s' % name,
                      'ostype: l26', 'scsi0: local-lvm:vm-100-disk-0,size=32G'] + list(lines)) + '\n'


# The fixture is an AMD host with nesting on: svm is the extension.
PVE_CONFS = {
    '100': pve_conf('web', 'cpu: x86-64-v2-AES'),
    '101': pve_conf('builder', 'cpu: host'),
    '102': pve_conf('ci', 'cpu: EPYC,flags=+nested-virt;+aes'),
    '103': pve_conf('archive', 'cpu: EPYC,hidden=1', 'lock: backup'),
}

DPKG_STATUS = '''Package: qemu-server
Status: install ok installed
Architecture: amd64
Version: %s

'''


def path_of(manager, vm_id):
    return VM_PATH_PREFIX + '%s_%s' % (manager, vm_id)


class VmSignals(nvtest.SignalRecorder):
    """Every signal the daemon sends about its VM objects: InterfacesAdded and InterfacesRemoved
    on the ObjectManager, PropertiesChanged of VM objects, as (member, path, detail)."""

    MATCH = (BUS_NAME, None, None, None, None)  # every signal of the daemon

    def _on_signal(self, conn, sender, path, interface, member, params):
        j = self._nvcall.to_json(params)
        if interface == OBJECT_MANAGER and member == 'InterfacesAdded':
            self.signals.append(('added', j[0], sorted(j[1])))
        elif interface == OBJECT_MANAGER and member == 'InterfacesRemoved':
            self.signals.append(('removed', j[0], j[1]))
        elif interface == PROPERTIES and j[0] == VM_INTERFACE:
            self.signals.append(('changed', path, {k: v['value'] for k, v in j[1].items()}))

    def seen(self, kind, path):
        self.pump()
        return [d for k, p, d in self.signals if k == kind and p == path]


class VmCase(BusTestCase):
    """An AMD host (nesting on) that is a Proxmox VE node with PVE_CONFS, pvesh the stand-in."""
    FIXTURE = 'amd-host'
    QEMU_SERVER = '9.0.30'
    CONFS = PVE_CONFS

    def daemon_env(self):
        if not PVESH_STANDIN:
            raise unittest.SkipTest('NESTVIRT_SOURCE_ROOT is not set: run through meson test')
        work = tempfile.mkdtemp(prefix='nestvirt-vms-')
        self.addCleanup(shutil.rmtree, work, True)
        self.pvesh_log = os.path.join(work, 'pvesh.log')
        nvtest.write_file(self.pvesh_log, '')
        return {'NESTVIRT_PVESH': PVESH_STANDIN, 'NESTVIRT_PVESH_LOG': self.pvesh_log,
                # No libvirt behind this bus: the daemon waits for one that never comes.
                'NESTVIRT_LIBVIRT_URI': 'qemu:///system?socket=/nonexistent/libvirt-sock'}

    def setUp(self):
        super().setUp()
        h = self.h
        for vmid, text in self.CONFS.items():
            h.fixture_write('etc/pve/qemu-server/%s.conf' % vmid, text)
        os.makedirs(h.fixture_path('etc/pve/nodes/%s' % PVE_NODE), exist_ok=True)
        os.symlink('nodes/%s' % PVE_NODE, h.fixture_path('etc/pve/local'))
        os.makedirs(h.fixture_path('var/run/qemu-server'), exist_ok=True)
        h.fixture_write('var/lib/dpkg/status', DPKG_STATUS % self.QEMU_SERVER)

    def pvesh_calls(self):
        return [l.split('\t') for l in nvtest.read_file(self.pvesh_log, '').splitlines()]

    def vms(self):
        return managed_vms(self.h.caller())

    def vm(self, vmid, manager='proxmox'):
        return self.vms()[path_of(manager, vmid)]

    def conf(self, vmid):
        return self.h.fixture_read('etc/pve/qemu-server/%s.conf' % vmid)

    def call_vm(self, caller, vmid, member, signature='', args=(), manager='proxmox', **kw):
        return caller.call([dict(dest=BUS_NAME, path=path_of(manager, vmid), interface=VM_INTERFACE,
                                 member=member, signature=signature, args=list(args), **kw)])[0]

    def expose(self, caller, vmid, expose=True, flags=0, **kw):
        return self.call_vm(caller, vmid, 'SetExposure', 'bt', [expose, flags], **kw)

    def set_nested(self, caller, enabled, flags):
        return caller.call([dict(dest=BUS_NAME, path=OBJECT_PATH, interface=INTERFACE,
                                 member='SetNested', signature='bt', args=[enabled, flags])])[0]

    def run_vm(self, vmid, pid, cpu):
        """VM vmid runs as pid: a KVM holder with PVE's command line and its pid file."""
        self.h.set_refcnt(1)
        self.h.add_kvm_holder(pid, 'kvm', cmdline=('/usr/bin/kvm', '-id', vmid, '-name',
                                                   'guest,debug-threads=on', '-cpu', cpu))
        self.h.fixture_write('var/run/qemu-server/%s.pid' % vmid, '%d\n' % pid)


# ---------------------------------------------------------------------------------------------
# The objects

class ObjectsTest(VmCase):

    def test_vm_objects_pve(self):
        self.run_vm('101', 4242, 'host,+kvm_pv_eoi')
        vms = self.vms()
        self.assertEqual(sorted(vms), [path_of('proxmox', v) for v in ('100', '101', '102', '103')])
        web, builder, ci, archive = (vms[path_of('proxmox', v)] for v in ('100', '101', '102', '103'))
        self.assertEqual((web['Name'], web['Manager'], web['Id']), ('web', 'proxmox', '100'))
        self.assertEqual((web['NextStart'], web['NextStartBy'], web['Requires']),
                         ('hidden', 'none', False))
        self.assertEqual((web['Running'], web['Pid'], web['ExposedNow']), (False, 0, 'unknown'))
        self.assertEqual(web['Cpu'], 'x86-64-v2-AES')
        # A running VM: what its process shows, and that nothing waits for a cold restart.
        self.assertEqual((builder['Running'], builder['Pid'], builder['ExposedNow'],
                          builder['CpuNow']), (True, 4242, 'exposed', 'host,+kvm_pv_eoi'))
        self.assertEqual((builder['NextStart'], builder['NextStartBy'], builder['Requires'],
                          builder['Pending']), ('exposed', 'host-model', False, False))
        self.assertTrue(any('identical' in n or 'same CPU' in n for n in builder['Notes']),
                        builder['Notes'])
        self.assertTrue(any('AMD' in n for n in builder['Notes']), builder['Notes'])
        # +nested-virt on a named model: PVE adds enforce, so the VM needs host nesting to start.
        self.assertEqual((ci['NextStart'], ci['NextStartBy'], ci['Requires'], ci['UsesKVM']),
                         ('exposed', 'flag', True, True))
        self.assertEqual(archive['Lock'], 'backup')
        self.assertTrue(any('backup' in n for n in archive['Notes']), archive['Notes'])
        # The KVM holder is the running VM 101, not an object of its own.
        self.assertNotIn(path_of('qemu', '4242'), vms)

    def test_libvirt_not_loaded(self):
        """Without a libvirt socket nestvirtd never loads libvirt, nor libxml2 through it: it
        lists the VMs of the other managers with neither mapped."""
        self.assertEqual(len(self.vms()), 4)
        libs = nvtest.mapped_libraries(self.h.caller().owner_pid())
        self.assertIn('libc.so.6', libs)  # the maps were read
        self.assertEqual([l for l in libs if l.startswith(('libvirt.so', 'libxml2.so'))], [],
                         sorted(libs))

    def test_vm_introspection(self):
        path = path_of('proxmox', '100')
        import xml.etree.ElementTree as ET
        node = ET.fromstring(self.h.caller().introspect(path))
        live = nvtest.find_interface(node, VM_INTERFACE)
        self.assertIsNotNone(live, 'no %s at %s' % (VM_INTERFACE, path))
        contract = nvtest.Contract(interface=VM_INTERFACE)
        self.assertEqual(nvtest.interface_lines(live), nvtest.interface_lines(contract.interface))
        # The parent lists the VMs (busctl tree); the manager object lists its interface.
        parent = ET.fromstring(self.h.caller().introspect(VM_PATH_PREFIX.rstrip('/')))
        self.assertIn('proxmox_100', [n.get('name') for n in parent.findall('node')])
        root = ET.fromstring(self.h.caller().introspect(OBJECT_PATH))
        self.assertIsNotNone(nvtest.find_interface(root, OBJECT_MANAGER))
        # A path that is no VM is no object.
        r = self.h.caller().call([dict(dest=BUS_NAME, path=path_of('proxmox', '999'),
                                       interface=PROPERTIES, member='GetAll', signature='s',
                                       args=[VM_INTERFACE])])[0]
        self.assertFalse(r['ok'])
        self.assertIn(r['error'], ('org.freedesktop.DBus.Error.UnknownObject',
                                   'org.freedesktop.DBus.Error.UnknownInterface'))

    def test_vm_process_without_manager(self):
        self.h.set_refcnt(1)
        self.h.add_kvm_holder(5150, 'qemu-system-x86', cmdline=(
            'qemu-system-x86_64', '-enable-kvm', '-name', 'scratch', '-cpu', 'EPYC,+svm'))
        vm = self.vm('5150', manager='qemu')
        self.assertEqual((vm['Name'], vm['Running'], vm['Pid'], vm['ExposedNow'], vm['NextStart'],
                          vm['NextStartBy'], vm['Cpu']),
                         ('scratch', True, 5150, 'exposed', 'exposed', 'command-line', ''))
        r = self.expose(self.h.caller(), '5150', False, manager='qemu')
        self.assertError(r, ERROR + 'NotSupported', '-cpu')
        self.assertEqual(self.pvesh_calls(), [])


# ---------------------------------------------------------------------------------------------
# SetExposure on Proxmox VE, through the stand-in pvesh

class PveExposeTest(VmCase):

    def test_expose_hide_pve(self):
        need_root('root is authorized without polkit')
        c = self.h.caller()
        before = self.conf('100')
        sig = VmSignals(self.h.address)
        self.addCleanup(sig.close)
        value = self.assertReply(self.expose(c, '100', True))
        self.assertEqual(value[:2], ['exposed', False])
        calls = self.pvesh_calls()
        self.assertEqual([c[:3] for c in calls], [['get', '/nodes/pve1/qemu/100/config', '--output-format'],
                                                  ['set', '/nodes/pve1/qemu/100/config', '--cpu']])
        self.assertEqual(calls[1][3], 'x86-64-v2-AES,flags=+nested-virt')
        self.assertEqual(calls[1][4:6][0], '--digest')
        # Only the cpu line changed (PVE writes the keys sorted).
        after = self.conf('100')
        self.assertEqual(sorted(before.replace('cpu: x86-64-v2-AES',
                                               'cpu: x86-64-v2-AES,flags=+nested-virt').splitlines()),
                         sorted(after.splitlines()))
        vm = self.vm('100')
        self.assertEqual((vm['NextStart'], vm['NextStartBy'], vm['Requires']), ('exposed', 'flag', True))
        sig.wait(lambda s: s.seen('changed', path_of('proxmox', '100')), what='PropertiesChanged of VM 100')
        self.assertEqual(sig.seen('changed', path_of('proxmox', '100'))[0]['NextStart'], 'exposed')

        value = self.assertReply(self.expose(c, '100', False))
        self.assertEqual(value[:2], ['hidden', False])
        self.assertEqual(sorted(self.conf('100').splitlines()), sorted(before.splitlines()))
        self.assertEqual(len(self.pvesh_calls()), 4)

        # A request that changes nothing runs no pvesh at all.
        self.assertReply(self.expose(c, '100', False))
        self.assertReply(self.expose(c, '101', True))
        self.assertEqual(len(self.pvesh_calls()), 4)
        audit = [a['request'] for a in self.h.audit()]
        self.assertEqual(audit, ['SetExposure(proxmox_100, expose)', 'SetExposure(proxmox_100, hide)'])

    def test_expose_running_pve(self):
        need_root('root is authorized without polkit')
        self.run_vm('100', 4343, 'x86-64-v2-AES,enforce')
        value = self.assertReply(self.expose(self.h.caller(), '100', True))
        self.assertEqual(value[0], 'exposed')
        self.assertIs(value[1], True, 'a running VM needs a cold restart')
        self.assertTrue(any('cold restart' in n for n in value[2]), value[2])
        # PVE keeps a change of cpu for the next start while the VM runs.
        self.assertIn('[PENDING]', self.conf('100'))
        vm = self.vm('100')
        self.assertEqual((vm['ExposedNow'], vm['NextStart'], vm['Pending']), ('hidden', 'exposed', True))

    def test_expose_locked_pve(self):
        need_root('root is authorized without polkit')
        before = self.conf('103')
        self.assertError(self.expose(self.h.caller(), '103', True), ERROR + 'Locked', 'backup')
        self.assertEqual(self.pvesh_calls(), [])
        self.assertEqual(self.conf('103'), before)

    def test_expose_vanished_pve(self):
        """The config disappears after the daemon listed the VM: the call is refused, whether
        the removal was seen before the call arrived (no such object any more) or only by the
        refresh the call makes (NoSuchVM), and PVE is not asked to change anything."""
        need_root('root is authorized without polkit')
        self.assertIn(path_of('proxmox', '100'), self.vms())
        os.remove(self.h.fixture_path('etc/pve/qemu-server/100.conf'))
        r = self.expose(self.h.caller(), '100', True)
        self.assertFalse(r['ok'], r)
        self.assertIn(r['error'], (ERROR + 'NoSuchVM', 'org.freedesktop.DBus.Error.UnknownObject'))
        self.assertNotIn('set', [c[0] for c in self.pvesh_calls()])
        self.assertNotIn(path_of('proxmox', '100'), self.vms())

    def test_invalid_flags_pve(self):
        c = self.h.caller()
        for flags in (2, 1 << 63):
            with self.subTest(flags=flags):
                self.assertError(self.expose(c, '100', True, flags), INVALID_ARGS, '0x')
        self.assertEqual(self.pvesh_calls(), [])


class PveOldQemuServerTest(VmCase):
    QEMU_SERVER = '8.4.1'

    def test_expose_old_qemu_server(self):
        need_root('root is authorized without polkit')
        c = self.h.caller()
        before = self.conf('100')
        msg = self.assertError(self.expose(c, '100', True), ERROR + 'NotSupported', 'host')
        self.assertIn('9.0.27', msg)
        self.assertEqual(self.conf('100'), before)
        # Asked for explicitly, the CPU type becomes host; its other options stay.
        value = self.assertReply(self.expose(c, '100', True, HOST_MODEL))
        self.assertEqual(value[0], 'exposed')
        self.assertIn('cpu: host\n', self.conf('100'))
        vm = self.vm('100')
        self.assertEqual((vm['NextStartBy'], vm['Requires']), ('host-model', False))


# ---------------------------------------------------------------------------------------------
# Host changes and configured VMs

class RequiringVmsTest(VmCase):

    def test_disable_refused_requiring(self):
        need_root('root is authorized without polkit')
        c = self.h.caller()
        msg = self.assertError(self.set_nested(c, False, RUNTIME | PERSISTENT),
                               ERROR + 'VMsRequireNesting', 'ci (proxmox 102)')
        self.assertNotIn('web', msg)
        self.assertEqual(self.h.trap_log(), [], 'the module was touched')
        self.assertIsNone(self.h.dropin())
        # Check says which VMs would not start once nesting is off; with nesting on, nothing.
        ids = [f[0] for f in c.ok(BUS_NAME, OBJECT_PATH, INTERFACE, 'Check')[0]]
        self.assertNotIn('vms-require-nesting', ids)

        log = self.h.start_systemd_standin()
        self.assertReply(self.set_nested(c, False, RUNTIME | IGNORE_REQUIRING_VMS))
        self.assertEqual(self.h.trap_log(), ['unload kvm_amd -> 0', 'load kvm_amd nested=0 -> 0'])
        findings = {f[0]: f for f in c.ok(BUS_NAME, OBJECT_PATH, INTERFACE, 'Check')[0]}
        self.assertIn('vms-require-nesting', findings)
        self.assertIn('ci (proxmox 102)', findings['vms-require-nesting'][2])
        self.assertEqual(findings['vms-require-nesting'][1], 'error')
        # pvestatd reads the CPU flags once: after a live change it must read them again.
        nvtest.wait_for(lambda: nvtest.read_file(log), 30, what='a call to systemd-standin.py')
        self.assertEqual(nvtest.read_file(log), 'TryRestartUnit pvestatd.service replace\n')
        # The VM's note says that it does not start now.
        notes = self.vm('102')['Notes']
        self.assertTrue(any('does not start' in n for n in notes), notes)

    def test_hide_then_disable(self):
        need_root('root is authorized without polkit')
        c = self.h.caller()
        self.assertReply(self.expose(c, '102', False))
        self.assertIn('cpu: EPYC,flags=+aes\n', self.conf('102'))
        self.assertFalse(self.vm('102')['Requires'])
        self.assertReply(self.set_nested(c, False, PERSISTENT))


# ---------------------------------------------------------------------------------------------
# Following changes made by others, without polling

class WatchVmsTest(VmCase):

    def test_watch_pve_configs(self):
        c = self.h.caller()
        c.ok(BUS_NAME, OBJECT_PATH, INTERFACE, 'Subscribe')
        sig = VmSignals(self.h.address)
        self.addCleanup(sig.close)
        p = path_of('proxmox', '104')

        self.h.fixture_write('etc/pve/qemu-server/104.conf', pve_conf('new', 'cpu: kvm64'))
        sig.wait(lambda s: s.seen('added', p), what='InterfacesAdded of VM 104')
        self.assertEqual(sig.seen('added', p)[0], [VM_INTERFACE])
        self.assertEqual(self.vm('104')['NextStart'], 'hidden')

        self.h.fixture_write('etc/pve/qemu-server/104.conf', pve_conf('new', 'cpu: host'))
        sig.wait(lambda s: any(d.get('NextStart') == 'exposed' for d in s.seen('changed', p)),
                 what='PropertiesChanged NextStart=exposed of VM 104')

        os.remove(self.h.fixture_path('etc/pve/qemu-server/104.conf'))
        sig.wait(lambda s: s.seen('removed', p), what='InterfacesRemoved of VM 104')
        self.assertNotIn(p, self.vms())

    def test_watch_vm_process(self):
        """A VM that starts shows up through its pid file; one that stops, through its
        process's pidfd (a real process stands in for QEMU)."""
        c = self.h.caller()
        c.ok(BUS_NAME, OBJECT_PATH, INTERFACE, 'Subscribe')
        sig = VmSignals(self.h.address)
        self.addCleanup(sig.close)
        proc = subprocess.Popen(['sleep', '3600'])
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        p = path_of('proxmox', '100')
        self.run_vm('100', proc.pid, 'x86-64-v2-AES,enforce')
        sig.wait(lambda s: any(d.get('Running') is True for d in s.seen('changed', p)),
                 what='PropertiesChanged Running=true of VM 100')
        self.assertEqual(self.vm('100')['Pid'], proc.pid)

        # The process ends: the fixture forgets it first, then the real one exits.
        shutil.rmtree(self.h.fixture_path('proc/%d' % proc.pid))
        self.h.fixture_write('var/run/qemu-server/100.pid', '%d\n' % proc.pid)
        sig.signals.clear()
        proc.send_signal(signal.SIGKILL)
        sig.wait(lambda s: any(d.get('Running') is False for d in s.seen('changed', p)),
                 what='PropertiesChanged Running=false of VM 100 after its process ended')


# ---------------------------------------------------------------------------------------------
# libvirt: a real libvirtd (tests/libvirt/libvirtd-test.sh: root, a private mount namespace and
# socket), domains of type qemu where no /dev/kvm exists, and one of type kvm that requires svm

LIBVIRTD_TEST = nvtest.source_path('tests', 'libvirt', 'libvirtd-test.sh') if \
    os.environ.get('NESTVIRT_SOURCE_ROOT') else None


def domain_xml(name, kind='qemu', cpu="<cpu mode='custom' match='exact'><model fallback='allow'>"
               "qemu64</model></cpu>"):
    return ("<domain type='%s'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
            "<os><type arch='x86_64' machine='pc'>hvm</type></os>%s<devices>"
            "<emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>" % (kind, name, cpu))


DOMAINS = {
    'lv-plain': domain_xml('lv-plain'),
    'lv-passthrough': domain_xml('lv-passthrough', cpu="<cpu mode='host-passthrough'/>"),
    'lv-require': domain_xml('lv-require', 'kvm', "<cpu mode='custom' match='exact'><model "
                             "fallback='allow'>EPYC</model><feature policy='require' name='svm'/>"
                             "</cpu>"),
}


class LibvirtVmsTest(BusTestCase):
    FIXTURE = 'amd-host'

    def daemon_env(self):
        need_root('libvirtd runs as root in a mount namespace of its own')
        if not nvtest.build_has_libvirt():
            raise unittest.SkipTest('built with -Dlibvirt=disabled')
        if not LIBVIRTD_TEST or not shutil.which('virsh') or not os.access('/usr/sbin/libvirtd',
                                                                           os.X_OK):
            raise unittest.SkipTest('needs libvirtd and virsh (libvirt-daemon, libvirt-clients)')
        self.lv_dir = tempfile.mkdtemp(prefix='nestvirt-libvirtd-')
        self.addCleanup(shutil.rmtree, self.lv_dir, True)
        self.uri = 'qemu:///system?socket=%s/sock/libvirt-sock' % self.lv_dir
        return {'NESTVIRT_LIBVIRT_URI': self.uri}

    def setUp(self):
        super().setUp()
        r = subprocess.run(['sh', LIBVIRTD_TEST, 'start', self.lv_dir], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=120)
        self.addCleanup(subprocess.run, ['sh', LIBVIRTD_TEST, 'stop', self.lv_dir],
                        stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, 'libvirtd did not start: %s' % r.stderr)
        self.uuids = {name: self.define(xml) for name, xml in DOMAINS.items()}

    def virsh(self, *args):
        r = subprocess.run(['virsh', '-q', '-c', self.uri] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, 'virsh %s: %s' % (' '.join(args), r.stderr))
        return r.stdout

    def define(self, xml):
        path = os.path.join(self.lv_dir, 'domain.xml')
        nvtest.write_file(path, xml)
        self.virsh('define', path)
        name = xml.split('<name>')[1].split('</name>')[0]
        return self.virsh('domuuid', name).strip()

    def stored_xml(self, name):
        return self.virsh('dumpxml', '--inactive', '--security-info', name)

    def path(self, name):
        return path_of('libvirt', self.uuids[name].replace('-', '_'))

    def test_libvirt_objects(self):
        vms = managed_vms(self.h.caller())
        want = {self.path(n): n for n in DOMAINS}
        self.assertEqual({p: vms[p]['Name'] for p in want if p in vms}, want)
        plain, passthrough, require = (vms[self.path(n)] for n in
                                       ('lv-plain', 'lv-passthrough', 'lv-require'))
        self.assertEqual((plain['Manager'], plain['Id'], plain['Running'], plain['UsesKVM']),
                         ('libvirt', self.uuids['lv-plain'], False, False))
        self.assertEqual((plain['NextStart'], plain['NextStartBy'], plain['Requires']),
                         ('hidden', 'none', False))
        self.assertEqual((passthrough['NextStart'], passthrough['NextStartBy']),
                         ('exposed', 'host-model'))
        self.assertEqual((require['NextStart'], require['NextStartBy'], require['Requires'],
                          require['UsesKVM']), ('exposed', 'flag', True, True))
        # A kvm domain that requires svm blocks turning nesting off, and is named.
        r = self.h.caller().call([dict(dest=BUS_NAME, path=OBJECT_PATH, interface=INTERFACE,
                                       member='SetNested', signature='bt', args=[False, RUNTIME])])[0]
        self.assertError(r, ERROR + 'VMsRequireNesting', 'lv-require (libvirt %s)' % self.uuids['lv-require'])
        self.assertEqual(self.h.trap_log(), [])

    def test_libvirt_loaded(self):
        """With libvirt's socket there, nestvirtd has loaded libvirt and lists its domains."""
        vms = managed_vms(self.h.caller())
        self.assertIn(self.path('lv-plain'), vms)
        libs = nvtest.mapped_libraries(self.h.caller().owner_pid())
        self.assertTrue(any(l.startswith('libvirt.so') for l in libs), sorted(libs))

    def test_libvirt_expose_hide_cli(self):
        """nestvirtctl vm expose NAME changes the persistent XML as expected and nothing else;
        hide gives the original back."""
        before = self.stored_xml('lv-plain')
        self.assertNotIn("name='svm'", before)
        r = self.h.run_ctl(['vm', 'expose', 'lv-plain'])
        self.assertEqual(r.returncode, 0, r.stderr)
        after = self.stored_xml('lv-plain')
        feature = "<feature policy='require' name='svm'/>"
        self.assertEqual(after.count(feature), 1, after)
        self.assertEqual([l for l in after.splitlines() if feature not in l], before.splitlines())
        vm = managed_vms(self.h.caller())[self.path('lv-plain')]
        self.assertEqual((vm['NextStart'], vm['NextStartBy'], vm['Pending']), ('exposed', 'flag', False))
        # The other domains are untouched.
        self.assertNotIn('svm', self.stored_xml('lv-passthrough'))

        r = self.h.run_ctl(['vm', 'hide', 'lv-plain'])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.stored_xml('lv-plain'), before)

        # Hiding on host-passthrough disables the feature, as the mode alone would expose it.
        self.assertReply(self.h.caller().call([dict(
            dest=BUS_NAME, path=self.path('lv-passthrough'), interface=VM_INTERFACE,
            member='SetExposure', signature='bt', args=[False, 0])])[0])
        self.assertIn("<feature policy='disable' name='svm'/>", self.stored_xml('lv-passthrough'))

    def test_libvirt_events(self):
        c = self.h.caller()
        c.ok(BUS_NAME, OBJECT_PATH, INTERFACE, 'Subscribe')
        sig = VmSignals(self.h.address)
        self.addCleanup(sig.close)
        uuid = self.define(domain_xml('lv-new'))
        p = path_of('libvirt', uuid.replace('-', '_'))
        sig.wait(lambda s: s.seen('added', p), what='InterfacesAdded of the domain defined by virsh')
        self.virsh('undefine', 'lv-new')
        sig.wait(lambda s: s.seen('removed', p), what='InterfacesRemoved of the domain undefined by virsh')
        self.assertNotIn(p, managed_vms(c))


# ---------------------------------------------------------------------------------------------
# Authorization by the real polkitd

class PolkitVmsTest(VmCase):
    POLKIT = 'polkitd'

    def test_expose_unauthorized(self):
        self.h.start_polkitd()
        user = self.h.user_caller()
        before = self.conf('100')
        r = self.expose(user, '100', True)
        self.assertFalse(r['ok'], r)
        self.assertIn(r['error'], (ACCESS_DENIED, AUTH_REQUIRED))
        self.assertEqual(self.pvesh_calls(), [])
        self.assertEqual(self.conf('100'), before)
        # Reading needs no authorization.
        self.assertEqual(managed_vms(user)[path_of('proxmox', '100')]['NextStart'], 'hidden')

    def test_expose_authorized_by_rule(self):
        self.h.start_polkitd(rules={'50-test.rules': RULE_ALLOW_VM_NESTING})
        r = self.expose(self.h.user_caller(), '100', True)
        self.assertTrue(r['ok'], r)
        self.assertIn('flags=+nested-virt', self.conf('100'))


RULE_ALLOW_VM_NESTING = '''\
// SPDX-License-Identifier: LGPL-2.1-or-later
polkit.addRule(function(action, subject) {
    if (action.id == "org.nestvirt.NestVirt1.set-vm-nesting" && subject.user == "%s" &&
        action.lookup("manager") == "proxmox" && action.lookup("id") == "100" &&
        action.lookup("expose") == "true")
        return polkit.Result.YES;
});
''' % nvtest.TEST_USER


def need_root(what):
    if os.geteuid() != 0:
        raise unittest.SkipTest('needs root: %s' % what)


if __name__ == '__main__':
    sys.exit(nvtest.main())

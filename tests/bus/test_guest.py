#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The bus tier on a machine that is itself a VM (L1): what its hypervisor (L0) gives it, and
which of its own VMs can start.

The hosts are guest-without-vmx (an OpenStack guest whose hypervisor hides vmx, so kvm_intel
cannot load), guest-with-vmx (a QEMU guest that sees vmx, kvm_intel loaded) and an AMD guest
made from amd-host (a CPU with svm and the hypervisor flag, QEMU's DMI vendor). Each is a
Proxmox VE node with two VMs written in qm.conf(5)'s format: one with KVM as PVE's default
(no "kvm:" line, that is kvm: 1) and one with "kvm: 0".

What is tested: the VM objects' StartBlocked and UsesKVM, the findings guest-without-extensions,
vms-cannot-start and nested-guest through nestvirtctl check, the first line of nestvirtctl
status, the START column of nestvirtctl vms and the Start line of vm show. The status and check
of the guest with vmx are golden files (golden/status-guest-with-vmx.txt and
golden/check-guest-with-vmx.txt; NESTVIRT_UPDATE_GOLDEN=1 rewrites them).

Each test_* method is one meson test (see meson.build), named after the method without "test_".
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nvtest  # noqa: E402
from nvtest import VM_PATH_PREFIX, managed_vms  # noqa: E402
from test_client import ClientCase  # noqa: E402

PVE_NODE = 'pve1'
DPKG_STATUS = 'Package: qemu-server\nStatus: install ok installed\nArchitecture: amd64\n' \
    'Version: 9.0.30\n\n'


def pve_conf(name, *lines):
    return '\n'.join(['boot: order=scsi0', 'cores: 2', 'memory: 2048', 'name: %s' % name,
                      'ostype: l26', 'scsi0: local-lvm:vm-disk-0,size=32G'] + list(lines)) + '\n'


# 100 uses KVM (PVE's default, kvm: 1); 101 emulates its CPU (kvm: 0).
PVE_CONFS = {
    '100': pve_conf('web', 'cpu: x86-64-v2-AES'),
    '101': pve_conf('tcg-box', 'cpu: x86-64-v2-AES', 'kvm: 0'),
}

AMD_GUEST_CPUINFO = '''processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC-Milan Processor
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx \
fxsr sse sse2 syscall nx lm rep_good nopl cpuid pni ssse3 cx16 sse4_1 sse4_2 x2apic hypervisor \
lahf_lm svm npt nrip_save

'''


def path_of(vmid):
    return VM_PATH_PREFIX + 'proxmox_%s' % vmid


class GuestCase(ClientCase):
    """A guest that is a Proxmox VE node with PVE_CONFS."""

    def daemon_env(self):
        # No libvirt behind this bus: the daemon would wait for one that never comes.
        return {'NESTVIRT_LIBVIRT_URI': 'qemu:///system?socket=/nonexistent/libvirt-sock'}

    def setUp(self):
        super().setUp()
        h = self.h
        for vmid, text in PVE_CONFS.items():
            h.fixture_write('etc/pve/qemu-server/%s.conf' % vmid, text)
        os.makedirs(h.fixture_path('etc/pve/nodes/%s' % PVE_NODE), exist_ok=True)
        os.symlink('nodes/%s' % PVE_NODE, h.fixture_path('etc/pve/local'))
        os.makedirs(h.fixture_path('var/run/qemu-server'), exist_ok=True)
        h.fixture_write('var/lib/dpkg/status', DPKG_STATUS)

    def vm(self, vmid):
        return managed_vms(self.h.caller())[path_of(vmid)]

    def findings(self):
        return {f['id']: f for f in json.loads(self.ctl('--json=short', 'check').stdout)}

    def first_status_line(self):
        return self.ctl('status').stdout.splitlines()[0]


class GuestWithoutExtensionsTest(GuestCase):
    FIXTURE = 'guest-without-vmx'

    def test_guest_without_ext_start_blocked(self):
        web, emulated = self.vm('100'), self.vm('101')
        self.assertTrue(web['UsesKVM'])
        self.assertEqual(web['StartBlocked'],
                         'This machine is a VM whose hypervisor does not expose vmx: a VM that '
                         'uses KVM cannot start here. Run it without KVM (qm set 100 --kvm 0), or '
                         "have the hypervisor's administrator expose vmx to this machine and "
                         'power-cycle it.')
        self.assertFalse(emulated['UsesKVM'])
        self.assertEqual(emulated['StartBlocked'], '')

    def test_guest_without_ext_check(self):
        text = self.ctl('check').stdout
        self.assertIn('ERROR guest-without-extensions: This machine is a VM on kvm whose '
                      'hypervisor does not expose vmx to it: VMs here can run only without KVM',
                      text)
        self.assertIn('(Proxmox VE: `qm set VMID --kvm 0`; libvirt: domain type `qemu`)', text)
        self.assertNotIn('cannot run VMs of its own', text)
        self.assertIn('ERROR vms-cannot-start: A VM is configured to use KVM, which needs vmx, '
                      'so it will not start on this machine: web (proxmox 100).', text)
        self.assertNotIn('tcg-box', text)
        found = self.findings()
        self.assertEqual(list(found), ['guest-without-extensions', 'vms-cannot-start'])
        self.assertIn('Proxmox VE: `qm set VMID --kvm 0`', found['vms-cannot-start']['hint'])
        self.assertIn('power-cycle', found['guest-without-extensions']['hint'])
        self.assertIn('+nested-virt', found['guest-without-extensions']['hint'])

    def test_guest_without_ext_status(self):
        self.assertEqual(self.first_status_line(),
                         'This is a VM on kvm; it sees vmx: no; its VMs can use KVM: no')

    def test_guest_without_ext_vms(self):
        out = self.ctl('vms').stdout.splitlines()
        self.assertEqual(out[0].split()[-1], 'START')
        rows = {line.split()[2]: line.split() for line in out[1:3]}
        self.assertEqual(rows['100'][-1], 'blocked')
        self.assertEqual(rows['101'][-1], 'ok')
        self.assertIn("START: blocked means the next start fails on this host; 'nestvirtctl vm "
                      "show VM' says why.", out)
        show = self.ctl('vm', 'show', '100').stdout
        self.assertIn('Start: blocked: This machine is a VM whose hypervisor does not expose vmx',
                      show)
        self.assertIn('Start: ok', self.ctl('vm', 'show', '101').stdout)


class GuestWithVmxTest(GuestCase):
    FIXTURE = 'guest-with-vmx'

    def test_guest_with_vmx_start_ok(self):
        for vmid in PVE_CONFS:
            with self.subTest(vmid=vmid):
                self.assertEqual(self.vm(vmid)['StartBlocked'], '')

    def test_guest_with_vmx_check(self):
        found = self.findings()
        self.assertEqual(list(found), ['nested-guest'])
        f = found['nested-guest']
        self.assertEqual(f['level'], 'info')
        self.assertIn('This machine is a VM (L1) on qemu and sees vmx, so nesting works here',
                      f['summary'])
        self.assertIn('(L2)', f['summary'])
        self.assertNotIn('On AMD', f['hint'])

    def test_guest_with_vmx_golden(self):
        self.first_status_line()  # the daemon's first snapshot has the VMs
        self.check_golden('guest-with-vmx', ('status', 'check'))
        self.assertEqual(self.first_status_line(),
                         'This is a VM on qemu; it sees vmx: yes; its VMs can use KVM: yes')


class GuestWithSvmTest(GuestCase):
    FIXTURE = 'amd-host'

    def setUp(self):
        super().setUp()
        self.h.fixture_write('proc/cpuinfo', AMD_GUEST_CPUINFO)
        self.h.fixture_write('sys/class/dmi/id/sys_vendor', 'QEMU\n')

    def test_guest_with_svm_status_and_check(self):
        out = self.ctl('status').stdout
        lines = out.splitlines()
        self.assertEqual(lines[0], 'This is a VM on qemu; it sees svm: yes; its VMs can use KVM: yes')
        # A warning on AMD, so status shows it too.
        self.assertRegex(out, r'(?m)^ +Warning: This machine is a VM \(L1\) on qemu and sees svm, '
                              r'so nesting works here')
        found = self.findings()
        self.assertEqual(list(found), ['nested-guest'])
        self.assertEqual(found['nested-guest']['level'], 'warning')
        self.assertIn('must not live-migrate, save or snapshot this VM while its own VMs (L2) run',
                      found['nested-guest']['hint'])
        for vmid in PVE_CONFS:
            with self.subTest(vmid=vmid):
                self.assertEqual(self.vm(vmid)['StartBlocked'], '')

    def test_guest_with_svm_nesting_off(self):
        """Host nesting off on the guest: a VM that requires svm is blocked, and says why."""
        self.h.fixture_write('etc/pve/qemu-server/102.conf',
                             pve_conf('ci', 'cpu: EPYC,flags=+nested-virt'))
        self.h.fixture_write('sys/module/kvm_amd/parameters/nested', '0\n')
        ci = self.vm('102')
        self.assertTrue(ci['Requires'])
        self.assertEqual(ci['StartBlocked'],
                         'Host nesting is off and this VM requires svm: it cannot start until '
                         'nesting is on (nestvirtctl enable) or svm is hidden from it (nestvirtctl '
                         'vm hide proxmox:102).')
        self.assertEqual(self.vm('100')['StartBlocked'], '')
        self.assertIn('vms-require-nesting', self.findings())


if __name__ == '__main__':
    sys.exit(nvtest.main())

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The nestvirt page (cockpit/) with VMs: refusals shown in place (VMsRunning, Builtin,
VMsRequireNesting) and the per-VM switch, on Proxmox VE configs in the fixture root (pvesh is the
bus tier's stand-in) and on a real libvirtd (tests/libvirt/libvirtd-test.sh). The page is built
from cockpit/ by the test itself into its temporary directory and opened as the administrator.

Each test_* method is one meson test (see meson.build), named after the method without "test_".
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cockpit_harness  # noqa: E402
from cockpit_harness import CockpitTestCase  # noqa: E402
import nvtest  # noqa: E402
import test_page  # noqa: E402

busvms = cockpit_harness.bus_test_module('test_vms')

# A change runs the daemon's refresh and, for libvirt, a round trip to libvirtd: on a loaded
# machine that takes longer than the driver's default bound.
CHANGE_MS = 30000
SVM_REQUIRED = "<feature policy='require' name='svm'/>"
# Where no libvirtd answers, so that the host's own libvirt (if any) is never asked.
NO_LIBVIRT = 'qemu:///system?socket=/nonexistent/libvirt-sock'


def kvm_holder():
    """A real process to stand in for a VM in the fixture's /proc (the daemon watches its pidfd)."""
    return subprocess.Popen(['sleep', '3600'], stdin=subprocess.DEVNULL)


class PageCase(CockpitTestCase):
    """The page, built into a temporary directory, opened as the administrator."""

    def setUp(self):
        super().setUp()
        self.dist = tempfile.mkdtemp(prefix='nestvirt-page-')
        self.addCleanup(shutil.rmtree, self.dist, True)
        test_page.build_page(self.dist)

    def daemon_env(self):
        env = dict(super().daemon_env() or {})
        env.setdefault('NESTVIRT_LIBVIRT_URI', NO_LIBVIRT)
        return env

    def open(self):
        b = self.open_page(self.start_cockpit(self.dist))
        b.wait('body[data-ready]')
        return b

    def start_holder(self):
        proc = kvm_holder()
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        return proc

    def switch_is(self, b, switch_id, on, timeout=CHANGE_MS):
        # A selector, not a function: Cockpit's CSP forbids the eval that polling one needs.
        b.wait('#%s%s:not(:disabled)' % (switch_id, ':checked' if on else ':not(:checked)'),
               state='attached', timeout=timeout)

    def vm_switch(self, b, name):
        """The id of the switch in the row of the VM called name, once the row is there."""
        return b.attribute('tr[data-name="%s"] input[role=switch]' % name, 'id', timeout=CHANGE_MS)


class VmHoldsKvmTest(PageCase):
    FIXTURE = 'amd-host'

    def test_page_vm_blocks_reload(self):
        """A VM holding /dev/kvm makes "now" fail: the refusal in place names the VM with its pid,
        the module is not reloaded and the switch stays on."""
        proc = self.start_holder()
        self.h.set_refcnt(1)
        self.h.add_kvm_holder(proc.pid, 'qemu-system-x86', cmdline=(
            'qemu-system-x86_64', '-enable-kvm', '-name', 'scratch'))
        b = self.open()
        self.switch_is(b, 'nv-now', True)
        b.wait_text('tr[data-name="scratch"] td[data-col=running]', 'yes', exact=True,
                    timeout=CHANGE_MS)

        b.click('label[for=nv-now]')
        blockers = '#nv-now-error[data-error=VMsRunning] [data-blockers]'
        b.wait_text(blockers, 'scratch', timeout=CHANGE_MS)
        self.assertEqual(b.count(blockers + ' li'), 1)
        self.assertEqual(b.text(blockers + ' li').strip(), 'scratch (qemu, pid %d)' % proc.pid)
        self.switch_is(b, 'nv-now', True)
        self.screenshot('vm-blocks-reload', full_page=True)
        self.assertEqual(self.h.trap_log(), [], 'the module was reloaded')
        self.assertEqual(self.h.module_nested(), '1')
        self.assertEqual(self.h.caller().get('Nested')[1], 'enabled')
        self.assertNoBrowserErrors()


class BuiltinPageTest(PageCase):
    FIXTURE = 'intel-builtin'

    def test_page_builtin_shows_cmdline(self):
        """KVM built into the kernel: both switches say so beside them, and switching either shows
        the kernel command line to add, in place, without touching modules or modprobe.d."""
        b = self.open()
        self.assertEqual(self.h.caller().get('ModuleState')[1], 'builtin')
        self.assertEqual(self.h.caller().get('Nested')[1], 'enabled')
        self.switch_is(b, 'nv-now', True)
        self.assertEqual(b.text('#nv-now-reason'), 'built in: only the kernel command line changes it')

        b.click('label[for=nv-now]')
        cmdline = b.wait('#nv-now-error[data-error=Builtin] [data-cmdline]', timeout=CHANGE_MS)
        self.assertEqual(cmdline, 'kvm_intel.nested=0')
        self.assertIn('built into the kernel', b.text('#nv-now-error'))
        self.switch_is(b, 'nv-now', True)

        # After reboot too: modprobe.d does not apply to a built-in module, so no drop-in is
        # written; the kernel command line is shown instead.
        self.assertEqual(b.text('#nv-boot-reason'), 'built in: only the kernel command line changes it')
        b.click('label[for=nv-boot]')
        cmdline = b.wait('#nv-boot-error[data-error=Builtin] [data-cmdline]', timeout=CHANGE_MS)
        self.assertEqual(cmdline, 'kvm_intel.nested=0')
        self.switch_is(b, 'nv-boot', True)
        self.screenshot('builtin-cmdline', full_page=True)
        self.assertEqual(self.h.trap_log(), [])
        self.assertIsNone(self.h.dropin())
        # Only the live change was asked of nestvirtd (and refused).
        self.assertEqual([a['request'] for a in self.h.audit()], ['SetNested(disabled, runtime)'])
        self.assertNoBrowserErrors()


class PveVmsPageTest(PageCase, busvms.VmCase):
    """An AMD host (nesting on) that is a Proxmox VE node with the bus tier's VM configs: VM 102
    "ci" requires svm (cpu: EPYC,flags=+nested-virt)."""

    def test_page_requiring_vms_refuse_off(self):
        """Turning nesting off, after reboot or now, is refused while a VM requires it: the
        refusal lists that VM and no other, and nothing changes."""
        b = self.open()
        b.wait_text('tr[data-name="ci"] td[data-col=requires]', 'yes', exact=True, timeout=CHANGE_MS)
        self.assertEqual(b.text('tr[data-name="web"] td[data-col=requires]'), 'no')
        for switch_id in ('nv-boot', 'nv-now'):
            with self.subTest(switch=switch_id):
                self.switch_is(b, switch_id, True)
                b.click('label[for=%s]' % switch_id)
                blockers = '#%s-error[data-error=VMsRequireNesting] [data-blockers]' % switch_id
                b.wait_text(blockers, 'ci (proxmox 102)', timeout=CHANGE_MS)
                self.assertEqual(b.count(blockers + ' li'), 1)
                self.switch_is(b, switch_id, True)
        self.screenshot('requiring-vms', full_page=True)
        self.assertEqual(self.h.trap_log(), [])
        self.assertIsNone(self.h.dropin())
        self.assertEqual(self.pvesh_calls(), [])
        self.assertNoBrowserErrors()

    def test_page_expose_running_vm_needs_cold_restart(self):
        """Exposing svm to a running VM changes its config for the next start: the row shows
        "exposed" with the cold-restart badge while the guest still runs without it."""
        proc = self.start_holder()
        self.run_vm('100', proc.pid, 'x86-64-v2-AES,enforce')
        b = self.open()
        row = 'tr[data-name="web"]'
        b.wait_text(row + ' td[data-col=running]', 'yes', exact=True, timeout=CHANGE_MS)
        self.assertEqual(b.count(row + ' [data-badge=pending]'), 0)
        switch_id = self.vm_switch(b, 'web')
        self.switch_is(b, switch_id, False)

        b.click('label[for="%s"]' % switch_id)
        self.switch_is(b, switch_id, True)
        b.wait_text(row + ' [data-badge=pending]', 'needs a cold restart', timeout=CHANGE_MS)
        self.assertEqual(b.text(row + ' td[data-col=now]'), 'hidden')
        self.assertIn('next cold start', b.wait('#nv-vm-note', timeout=CHANGE_MS))
        self.screenshot('expose-running-vm', full_page=True)
        self.assertIn('[PENDING]', self.conf('100'))
        self.assertIn('flags=+nested-virt', self.conf('100'))
        vm = self.vm('100')
        self.assertEqual((vm['ExposedNow'], vm['NextStart'], vm['Pending']), ('hidden', 'exposed', True))
        self.assertNoBrowserErrors()


class LibvirtPageTest(PageCase):
    """A real libvirtd with two domains that do not run: lv-plain (qemu64, hides svm) and
    lv-passthrough (host-passthrough)."""
    FIXTURE = 'amd-host'
    DOMAINS = ('lv-plain', 'lv-passthrough')

    # The bus tier's helpers for virsh (they use self.uri and self.lv_dir).
    virsh = busvms.LibvirtVmsTest.virsh
    define = busvms.LibvirtVmsTest.define
    stored_xml = busvms.LibvirtVmsTest.stored_xml

    def daemon_env(self):
        if not nvtest.build_has_libvirt():
            cockpit_harness.missing('nestvirtd is built without libvirt (-Dlibvirt=disabled)')
        cockpit_harness.need_executable('/usr/sbin/libvirtd', 'libvirt-daemon')
        cockpit_harness.need_executable('/usr/bin/virsh', 'libvirt-clients')
        # The bus tier's: a directory for libvirtd (self.lv_dir) and its private socket (self.uri).
        return busvms.LibvirtVmsTest.daemon_env(self)

    def setUp(self):
        super().setUp()
        r = subprocess.run(['sh', busvms.LIBVIRTD_TEST, 'start', self.lv_dir],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        self.addCleanup(subprocess.run, ['sh', busvms.LIBVIRTD_TEST, 'stop', self.lv_dir],
                        stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, 'libvirtd did not start: %s' % r.stderr)
        for name in self.DOMAINS:
            self.define(busvms.DOMAINS[name])

    def test_page_expose_libvirt_vm(self):
        """The row's switch adds svm (policy require) to the stored XML and nothing else, the row
        shows "exposed" for the next start with no cold restart pending (the domain does not
        run); switching it back gives the original XML back."""
        before = self.stored_xml('lv-plain')
        self.assertNotIn("name='svm'", before)
        b = self.open()
        row = 'tr[data-name="lv-plain"]'
        b.wait_text(row + ' td[data-col=next]', 'hidden', exact=True, timeout=CHANGE_MS)
        switch_id = self.vm_switch(b, 'lv-plain')
        self.switch_is(b, switch_id, False)

        b.click('label[for="%s"]' % switch_id)
        self.switch_is(b, switch_id, True)
        b.wait_text(row + ' td[data-col=next]', 'exposed', exact=True, timeout=CHANGE_MS)
        self.assertEqual(b.text(row + ' td[data-col=running]'), 'no')
        self.assertEqual(b.count(row + ' [data-badge=pending]'), 0)
        self.assertEqual(b.count('.nv-row-error'), 0)
        self.screenshot('expose-libvirt-vm', full_page=True)
        after = self.stored_xml('lv-plain')
        self.assertEqual(after.count(SVM_REQUIRED), 1, after)
        self.assertEqual([l for l in after.splitlines() if SVM_REQUIRED not in l], before.splitlines())
        self.assertNotIn('svm', self.stored_xml('lv-passthrough'))

        b.click('label[for="%s"]' % switch_id)
        self.switch_is(b, switch_id, False)
        b.wait_text(row + ' td[data-col=next]', 'hidden', exact=True, timeout=CHANGE_MS)
        self.assertEqual(self.stored_xml('lv-plain'), before)
        self.assertEqual(self.h.trap_log(), [])
        self.assertNoBrowserErrors()


if __name__ == '__main__':
    sys.exit(nvtest.main())

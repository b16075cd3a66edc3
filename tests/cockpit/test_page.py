#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The nestvirt page (cockpit/) in the real cockpit-ws and bridge and Chromium, on the bus tier's
private bus with nestvirtd on the fixture host amd-host (the preload library traps module
reloads). The page is built from cockpit/ by the test itself (node build.mjs) into its
temporary directory.

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
from nvtest import BUS_NAME, OBJECT_PATH, INTERFACE  # noqa: E402

RUNTIME = 1
PAGE_BUILD_TIMEOUT = 120


def build_page(outdir):
    source = nvtest.source_path('cockpit')
    if not os.path.isdir(os.path.join(source, 'node_modules', 'esbuild')):
        cockpit_harness.missing('cockpit/node_modules (run "npm ci" in cockpit/, as tools/test.sh does)')
    r = subprocess.run([cockpit_harness.NODE, os.path.join(source, 'build.mjs'), '--outdir', outdir,
                        '--nestvirtd', os.environ['NESTVIRTD']], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=PAGE_BUILD_TIMEOUT)
    if r.returncode != 0:
        raise AssertionError('building the page failed:\n%s%s' % (r.stdout, r.stderr))
    return outdir


class PageTest(CockpitTestCase):
    FIXTURE = 'amd-host'

    def setUp(self):
        super().setUp()
        self.dist = tempfile.mkdtemp(prefix='nestvirt-page-')
        self.addCleanup(shutil.rmtree, self.dist, True)
        build_page(self.dist)

    def open(self, as_user=False):
        ws = self.start_cockpit(self.dist, as_user=as_user)
        b = self.open_page(ws)
        b.wait('body[data-ready]')
        return b

    def nested_switch_is(self, b, on):
        # A selector, not a function: Cockpit's CSP forbids the eval that polling one needs.
        b.wait('#nv-now%s:not(:disabled)' % (':checked' if on else ':not(:checked)'), state='attached')

    def test_page_shows_host_state(self):
        """No console error; the host card shows what the daemon reports; light and dark."""
        b = self.open()
        c = self.h.caller()
        self.assertEqual(c.get('Nested')[1], 'enabled')
        self.nested_switch_is(b, True)
        card = b.text('#nv-host')
        self.assertIn(c.get('Module')[1], card)
        self.assertIn('svm present', card)
        self.assertIn('Host: bare metal', card)
        b.wait('#nv-findings .nv-none, #nv-findings li')
        self.screenshot('page-light', full_page=True)
        b.color_scheme('dark')
        b.wait('html.pf-v6-theme-dark', state='attached')
        self.screenshot('page-dark', full_page=True)
        b.viewport(375, 800)
        self.screenshot('page-phone-width', full_page=True)
        self.assertNoBrowserErrors()

    def test_page_switch_now_and_external_change(self):
        """Switching "now" off reloads the module (trapped) and the page follows the signal; a
        change made by someone else shows up without reloading the page."""
        b = self.open()
        self.nested_switch_is(b, True)
        b.click('label[for=nv-now]')
        self.nested_switch_is(b, False)
        self.assertEqual(self.h.trap_log(), ['unload kvm_amd -> 0', 'load kvm_amd nested=0 -> 0'])
        self.assertEqual(self.h.caller().get('Nested')[1], 'disabled')
        # Someone else turns it on again, over the bus.
        self.h.caller().ok(BUS_NAME, OBJECT_PATH, INTERFACE, 'SetNested', 'bt', [True, RUNTIME])
        self.nested_switch_is(b, True)
        self.assertNoBrowserErrors()

    def test_page_limited_access(self):
        """Without administrative access everything reads, nothing can be changed."""
        b = self.open(as_user=True)
        b.wait('#nv-limited')
        self.assertTrue(b.disabled('#nv-now'))
        self.assertTrue(b.disabled('#nv-boot'))
        self.assertEqual(b.text('#nv-now-reason'), 'needs administrative access')
        self.assertIn('kvm_amd', b.text('#nv-host'))
        self.screenshot('page-limited')
        self.assertNoBrowserErrors()
        self.assertEqual(self.h.trap_log(), [])


if __name__ == '__main__':
    sys.exit(nvtest.main())

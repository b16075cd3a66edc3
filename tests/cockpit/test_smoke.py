#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The cockpit tier's own check: a tiny page, written by the test into its temporary directory,
served by the real cockpit-ws and bridge on the harness's bus and loaded in Chromium, as root
and as the unprivileged test user. It reads Vendor and Nested of the Manager through
cockpit.dbus (superuser "try") and shows the bridge's superuser state; the test compares them
with what the daemon answers on the bus. A second page breaks the rules on purpose (an inline
script under Cockpit's CSP, an uncaught exception, a missing file) to show that the driver
reports each kind of problem.

Each test_* method is one meson test (see meson.build), named after the method without "test_".
"""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cockpit_harness  # noqa: E402
from cockpit_harness import CockpitTestCase, DriverError  # noqa: E402
import nvtest  # noqa: E402

MANIFEST = '''{
  "version": 0,
  "tools": {
    "index": {
      "label": "NestVirt smoke"
    }
  }
}
'''

# No inline script: Cockpit's CSP (default-src 'self') forbids it.
INDEX_HTML = '''<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>nestvirt smoke</title>
  <link rel="stylesheet" href="smoke.css">
  <script src="../base1/cockpit.js"></script>
</head>
<body>
  <h1>nestvirt smoke page</h1>
  <dl>
    <dt>Vendor</dt><dd id="vendor">…</dd>
    <dt>Nested</dt><dd id="nested">…</dd>
    <dt>Superuser (cockpit.Superuser.Current)</dt><dd id="superuser">…</dd>
    <dt>Administrative access (cockpit.permission)</dt><dd id="admin">…</dd>
    <dt>Problem</dt><dd id="problem">none</dd>
  </dl>
  <script src="smoke.js"></script>
</body>
</html>
'''

SMOKE_CSS = '''body { font-family: sans-serif; margin: 2em; }
dt { font-weight: bold; }
dd { margin: 0 0 1em 1em; }
@media (prefers-color-scheme: dark) {
  body { background: #151515; color: #e0e0e0; }
}
'''

SMOKE_JS = '''"use strict";
function show(id, value) {
    document.getElementById(id).textContent = value;
}

const client = cockpit.dbus("org.nestvirt.NestVirt1", { bus: "system", superuser: "try" });
client.addEventListener("close", (event, options) => show("problem", "closed: " + options.problem));
const manager = client.proxy("org.nestvirt.NestVirt1", "/org/nestvirt/NestVirt1");
manager.wait()
    .then(() => {
        if (!manager.valid) {
            show("problem", "the Manager proxy is not valid");
            return;
        }
        show("vendor", manager.Vendor);
        show("nested", manager.Nested);
    })
    .catch(ex => show("problem", String(ex)));

// base1/cockpit.js of cockpit 287 has no cockpit.superuser: the bridge's own D-Bus object is
// what pkg/lib/superuser.js reads.
const superuser = cockpit.dbus(null, { bus: "internal" }).proxy("cockpit.Superuser", "/superuser");
function showSuperuser() {
    if (superuser.valid && superuser.Current !== undefined)
        show("superuser", superuser.Current);
}
superuser.addEventListener("changed", showSuperuser);
superuser.wait().then(showSuperuser);

const permission = cockpit.permission({ admin: true });
function showPermission() {
    if (permission.allowed !== null)
        show("admin", String(permission.allowed));
}
permission.addEventListener("changed", showPermission);
showPermission();
'''

# Three problems the driver must report: a CSP violation, an uncaught exception, a 404.
BAD_HTML = '''<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>nestvirt bad page</title>
  <script src="../base1/cockpit.js"></script>
</head>
<body>
  <p id="state">loaded</p>
  <script>document.getElementById("state").textContent = "inline script ran";</script>
  <script src="bad.js"></script>
  <script src="missing.js"></script>
</body>
</html>
'''

BAD_JS = 'window.setTimeout(() => { throw new Error("smoke: thrown on purpose"); }, 0);\n'


def write_page(directory):
    """The smoke package (a Cockpit package directory, as a built dist would be)."""
    for name, text in (('manifest.json', MANIFEST), ('index.html', INDEX_HTML),
                       ('smoke.css', SMOKE_CSS), ('smoke.js', SMOKE_JS), ('bad.html', BAD_HTML),
                       ('bad.js', BAD_JS)):
        nvtest.write_file(os.path.join(directory, name), text)
    return directory


def png_size(path):
    with open(path, 'rb') as f:
        head = f.read(24)
    if head[:8] != b'\x89PNG\r\n\x1a\n':
        raise AssertionError('%s is not a PNG' % path)
    return struct.unpack('>II', head[16:24])


def process_uid(pid):
    for line in nvtest.read_file('/proc/%d/status' % pid).splitlines():
        if line.startswith('Uid:'):
            return int(line.split()[1])
    raise AssertionError('no Uid in /proc/%d/status' % pid)


class SmokeTest(CockpitTestCase):
    FIXTURE = 'amd-host'

    def setUp(self):
        super().setUp()
        self.dist = write_page(os.path.join(self.h.tmp, 'smoke-dist'))

    def load(self, as_user):
        ws = self.start_cockpit(self.dist, as_user=as_user)
        bridges = ws.bridge_pids()
        self.assertEqual(len(bridges), 1, 'cockpit-ws should run one bridge: %s' % bridges)
        uid = nvtest.test_user()[0] if as_user else 0
        self.assertEqual(process_uid(bridges[0]), uid)
        b = self.open_page(ws)
        _, vendor = self.h.caller().get('Vendor')
        _, nested = self.h.caller().get('Nested')
        b.wait_text('#vendor', vendor, exact=True)
        b.wait_text('#nested', nested, exact=True)
        self.assertEqual(b.text('#problem'), 'none')
        return ws, b

    def test_cockpit_smoke_root(self):
        ws, b = self.load(as_user=False)
        # The bridge runs as root: superuser "try" is root itself.
        b.wait_text('#superuser', 'root', exact=True)
        b.wait_text('#admin', 'true', exact=True)
        self.assertEqual(b.evaluate('window.matchMedia("(prefers-color-scheme: dark)").matches'),
                         False)
        self.assertEqual(png_size(self.screenshot('root-light')), (1280, 800))
        b.color_scheme('dark')
        b.viewport(800, 600)
        self.assertEqual(b.evaluate('window.matchMedia("(prefers-color-scheme: dark)").matches'),
                         True)
        self.assertEqual(b.evaluate('getComputedStyle(document.body).backgroundColor'),
                         'rgb(21, 21, 21)')
        self.assertEqual(png_size(self.screenshot('root-dark')), (800, 600))
        self.assertNoBrowserErrors()

    def test_cockpit_smoke_user(self):
        ws, b = self.load(as_user=True)
        # No sudo, no pkexec, no_new_privs: the test user's bridge has no superuser.
        b.wait_text('#superuser', 'none', exact=True)
        b.wait_text('#admin', 'false', exact=True)
        self.assertEqual(png_size(self.screenshot('user')), (1280, 800))
        self.assertNoBrowserErrors()

    def test_cockpit_driver_reports_problems(self):
        ws = self.start_cockpit(self.dist)
        b = self.open_page(ws, 'bad.html')
        b.wait_function('() => document.readyState === "complete"')
        # Polling works under Cockpit's CSP (no eval in the page): this one is not true at once.
        start = b.evaluate('Date.now()')
        self.assertTrue(b.wait_function('t => Date.now() - t > 300', arg=start))
        with self.assertRaises(DriverError) as cm:
            b.wait_function('() => document.title === "never"', timeout=500)
        self.assertIn('to be true; it was false', str(cm.exception))
        # The inline script did not run.
        self.assertEqual(b.text('#state'), 'loaded')
        # bad.js throws from a timeout, and the browser reports it on its own time.
        errors = nvtest.wait_for(lambda: (lambda e: e if e['pageerrors'] and e['http'] else None)(
            b.errors()), 10, what='the uncaught exception and the 404 to be reported')
        problems = cockpit_harness.format_errors(errors)
        self.assertTrue(any('Content Security Policy' in e['text'] for e in errors['console']),
                        problems)
        self.assertIn('smoke: thrown on purpose', [e['message'] for e in errors['pageerrors']],
                      problems)
        self.assertEqual([(e['status'], os.path.basename(e['url'])) for e in errors['http']],
                         [(404, 'missing.js')], problems)
        with self.assertRaises(AssertionError):
            self.assertNoBrowserErrors()
        # errors() cleared them.
        self.assertNoBrowserErrors()
        # A wait that times out says what it waited for and what it saw.
        with self.assertRaises(DriverError) as cm:
            b.wait_text('#state', 'never', timeout=500)
        self.assertIn('"#state"', str(cm.exception))
        self.assertIn('"never"', str(cm.exception))
        self.assertIn('"loaded"', str(cm.exception))
        with self.assertRaises(DriverError) as cm:
            b.wait('#absent', timeout=500)
        self.assertIn('"#absent" to be visible', str(cm.exception))
        # The driver still answers after errors.
        self.assertEqual(b.evaluate('1 + 1'), 2)

    def test_cockpit_session_is_single_use(self):
        """cockpit-ws --local-session of 287 serves one bridge for its whole life: about 15 s
        after the last page closed the bridge exits, ws stays, and every page is the login
        page. restart() gives a fresh one."""
        ws = self.start_cockpit(self.dist)
        b = self.open_page(ws)
        b.wait_text('#superuser', 'root', exact=True)
        b.reset()  # closes the page and its WebSocket
        start = time.monotonic()
        nvtest.wait_for(lambda: not ws.bridge_pids(), 60, interval=0.2,
                        what='the bridge to exit after the last page closed')
        print('the bridge exited %.1f s after the page closed' % (time.monotonic() - start))
        self.assertIsNone(ws.process.poll(), 'cockpit-ws should stay')
        self.assertEqual(ws.http_get('/cockpit/@localhost/manifests.json')[0], 401)
        with self.assertRaises(cockpit_harness.CockpitError) as cm:
            self.open_page(ws)
        self.assertIn('login page', str(cm.exception))
        # Leave the login page: its 401, and fonts it loads late from the ws about to go.
        b.reset()
        ws.restart()
        b = self.open_page(ws)
        _, vendor = self.h.caller().get('Vendor')
        b.wait_text('#vendor', vendor, exact=True)
        self.assertNoBrowserErrors()


if __name__ == '__main__':
    sys.exit(nvtest.main())

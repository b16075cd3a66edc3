# SPDX-License-Identifier: LGPL-2.1-or-later
"""Harness of the cockpit tier: the page in the real Cockpit (Debian 12's cockpit-ws and
cockpit-bridge, 287) and a real browser (Debian's Chromium, driven by driver.mjs), on the bus
tier's private system bus (tests/bus/nvtest.py).

CockpitWs runs /usr/lib/cockpit/cockpit-ws --no-tls --local-session=cockpit-bridge on 127.0.0.1
and a free port, without systemd and without a login: ws spawns one bridge at start and serves
it to every request. The bridge runs as root (the administrator) or, through setpriv, as the
unprivileged test user (limited access: no sudo, no pkexec, no_new_privs, so the superuser is
"none"). It talks to the harness's bus (DBUS_SYSTEM_BUS_ADDRESS) and finds the page under test as
the package "nestvirt" in its XDG_DATA_HOME: a copy of the dist directory given by the test.

In the Harness's temporary directory TMP, each CockpitWs NAME keeps:

    TMP/cockpit-NAME/data/cockpit/nestvirt/   the copy of the page (XDG_DATA_HOME/cockpit/...)
    TMP/cockpit-NAME/run/, config/, cache/   XDG_RUNTIME_DIR, XDG_CONFIG_HOME, XDG_CACHE_HOME,
                                             owned by the identity the bridge runs as
    TMP/cockpit-NAME/cockpit-ws.log          the output of cockpit-ws and its bridge

Driver is the client of driver.mjs (one browser; one JSON command a line, one answer a line);
its output is TMP/driver.log. The artifacts a test wants to keep (screenshots, the browser's
console, the ws and driver logs) go to artifacts_dir(): $NESTVIRT_COCKPIT_ARTIFACTS/TEST when
set, else BUILD/meson-logs/cockpit/TEST; TMP itself goes away with the Harness unless
NESTVIRT_TEST_KEEP=1.

Pitfalls of cockpit 287 that the harness deals with:
- the local session is single-use: once no page has been connected for a while (about 15 s)
  the bridge exits and ws then answers every page with the login page, status 200. Keep one
  page open, or restart() the CockpitWs; CockpitPage.open() fails clearly on the login page.
- there is no cockpit.superuser in base1/cockpit.js: the superuser state is the bridge's
  internal D-Bus object cockpit.Superuser at /superuser (property Current: "root" as root,
  "none" for the test user), and cockpit.permission({admin: true}).allowed.
- the pages are served with "Content-Security-Policy: default-src 'self' ...": no inline
  <script>, no inline style attributes, unless the manifest's content-security-policy adds them.
- packages from XDG_DATA_HOME have no checksum, so ws serves them with "Cache-Control: no-cache,
  no-store" under /cockpit/@localhost/...; nothing is cached between loads.
- there is no shell (cockpit-system is not needed): the page is loaded on its own at
  /cockpit/@localhost/nestvirt/index.html, where cockpit.js opens its own WebSocket.
"""

import http.client
import json
import os
import pwd
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'bus'))

import nvtest  # noqa: E402

COCKPIT_WS = '/usr/lib/cockpit/cockpit-ws'
COCKPIT_BRIDGE = '/usr/bin/cockpit-bridge'
CHROMIUM = '/usr/bin/chromium'
NODE = '/usr/bin/node'
DRIVER = os.path.join(HERE, 'driver.mjs')
PACKAGE = 'nestvirt'
HOST = '127.0.0.1'
NO_SESSION_BUS = 'unix:path=/nonexistent/nestvirt-no-session-bus'

# How long cockpit-ws may take to serve the package's manifest (it spawns the bridge first), and
# the browser to start (Chromium's first start on a cold, loaded machine).
WS_START_TIMEOUT = 30
DRIVER_START_TIMEOUT = 90
# Added to a command's own timeout when waiting for driver.mjs's answer: the driver bounds every
# command itself, so this only catches a driver that hangs or died.
DRIVER_MARGIN = 15
DEFAULT_TIMEOUT_MS = 10000


class CockpitError(AssertionError):
    """Something in the cockpit tier failed: ws, the bridge, the browser or a page."""


class DriverError(CockpitError):
    """driver.mjs answered a command with an error (a timeout names what it waited for)."""


def missing(what):
    """Something the tier needs is not installed: a skip, except in CI, where a skip is a
    failure (nvtest.main says so too), so fail at once and say what to install."""
    if nvtest.in_ci():
        raise nvtest.HarnessError('%s (CI=%s: a missing dependency is a failure)'
                                  % (what, os.environ.get('CI')))
    raise unittest.SkipTest(what)


def need_executable(path, package):
    if not os.access(path, os.X_OK):
        missing('%s is not installed (Debian package %s; tools/install-deps.sh installs it)'
                % (path, package))
    return path


def node_modules():
    """The node_modules directory that holds playwright-core, as pinned by package-lock.json:
    $NESTVIRT_NODE_MODULES when set, else tests/cockpit/node_modules (npm ci there)."""
    where = os.environ.get('NESTVIRT_NODE_MODULES') or os.path.join(HERE, 'node_modules')
    with open(os.path.join(HERE, 'package-lock.json')) as f:
        wanted = json.load(f)['packages']['node_modules/playwright-core']['version']
    try:
        with open(os.path.join(where, 'playwright-core', 'package.json')) as f:
            have = json.load(f)['version']
    except FileNotFoundError:
        missing('playwright-core is not installed in %s: run "npm ci" in %s '
                '(tools/install-deps.sh does)' % (where, HERE))
    if have != wanted:
        missing('%s has playwright-core %s, package-lock.json pins %s: run "npm ci" in %s'
                % (where, have, wanted, HERE))
    return where


def bus_test_module(name):
    """The bus tier's test script tests/bus/NAME.py as a module, for its fixtures and helpers.
    Imported by path, as bus_NAME: this tier has scripts of the same names."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'bus_' + name, os.path.join(os.path.dirname(HERE), 'bus', name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def artifacts_dir(test_id):
    """Where a test keeps what outlives it (screenshots, logs): emptied at the test's start."""
    base = os.environ.get('NESTVIRT_COCKPIT_ARTIFACTS')
    if not base:
        base = os.path.join(nvtest.need_env('NESTVIRT_BUILD_ROOT'), 'meson-logs', 'cockpit')
    path = os.path.join(base, test_id)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def free_port():
    """A TCP port free on HOST right now (ws binds it a moment later; start() retries when
    another process took it in between)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _children(pid):
    """The pids of the live (not zombie) processes whose parent is pid, from /proc."""
    out = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        fields = stat[stat.rfind(')') + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid and fields[0] != 'Z':
            out.append(int(entry))
    return out


# ---------------------------------------------------------------------------------------------
# cockpit-ws with a local session

class CockpitWs:
    """cockpit-ws --local-session on a private port, serving dist (a built page: index.html,
    manifest.json, ...) as the package PACKAGE; the bridge runs as root, or as the test user
    with as_user=True. start() returns once ws serves the package's manifest."""

    def __init__(self, harness, dist, as_user=False, name=None, package=PACKAGE):
        self.h = harness
        self.dist = dist
        self.as_user = as_user
        self.name = name or ('user' if as_user else 'root')
        self.package = package
        self.process = None
        self.port = None
        self.ws = need_executable(COCKPIT_WS, 'cockpit-ws')
        self.bridge = need_executable(COCKPIT_BRIDGE, 'cockpit-bridge')
        if not os.path.isfile(os.path.join(dist, 'manifest.json')):
            raise nvtest.HarnessError('%s has no manifest.json: not a Cockpit package' % dist)
        if os.geteuid() != 0:
            raise unittest.SkipTest('needs root: cockpit-ws runs as root and, through setpriv, '
                                    'as the test user %s' % nvtest.TEST_USER)
        self.dir = os.path.join(self.h.tmp, 'cockpit-' + self.name)
        self.log_path = os.path.join(self.dir, 'cockpit-ws.log')

    # -- setup ----------------------------------------------------------------------------------

    def _prepare(self):
        """The package copy and the XDG directories, owned by the bridge's identity."""
        if self.as_user:
            uid, gid = nvtest.test_user()
        else:
            uid, gid = 0, 0
        self.uid, self.gid = uid, gid
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        data = os.path.join(self.dir, 'data')
        target = os.path.join(data, 'cockpit', self.package)
        shutil.rmtree(target, ignore_errors=True)
        # A copy, not a symlink: the test user must read it wherever the build is, and a
        # rebuild during the test does not change what this instance serves.
        shutil.copytree(self.dist, target, symlinks=False)
        for root, dirs, files in os.walk(data):
            os.chmod(root, 0o755)
            for f in files:
                os.chmod(os.path.join(root, f), 0o644)
        self.xdg = {'XDG_DATA_HOME': data}
        for key, sub in (('XDG_RUNTIME_DIR', 'run'), ('XDG_CONFIG_HOME', 'config'),
                         ('XDG_CACHE_HOME', 'cache')):
            path = os.path.join(self.dir, sub)
            os.makedirs(path, exist_ok=True)
            os.chown(path, uid, gid)
            os.chmod(path, 0o700)
            self.xdg[key] = path

    def _env(self):
        env = {
            'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
            'LANG': 'C.UTF-8',
            'HOME': '/nonexistent' if self.as_user else pwd.getpwuid(0).pw_dir,
            'USER': nvtest.TEST_USER if self.as_user else 'root',
            'DBUS_SYSTEM_BUS_ADDRESS': self.h.address,
            # No session bus: without an address GLib autolaunches one (dbus-launch), which
            # would outlive the test.
            'DBUS_SESSION_BUS_ADDRESS': NO_SESSION_BUS,
            # base1, static: the installed packages; the page comes from XDG_DATA_HOME.
            'XDG_DATA_DIRS': '/usr/local/share:/usr/share',
        }
        env.update(self.xdg)
        return env

    def start(self, timeout=WS_START_TIMEOUT):
        self._prepare()
        last = None
        for _ in range(3):
            self.port = free_port()
            try:
                self._start_once(timeout)
                return self
            except CockpitError as e:
                last = e
                if 'Address already in use' not in self.log():
                    raise
                self.stop()
        raise last

    def _start_once(self, timeout):
        argv = [self.ws, '--no-tls', '--address', HOST, '--port', str(self.port),
                '--local-session=' + self.bridge]
        if self.as_user:
            argv = ['setpriv', '--reuid=%d' % self.uid, '--regid=%d' % self.gid, '--clear-groups',
                    '--no-new-privs', '--pdeathsig=TERM', '--'] + argv
        log = open(self.log_path, 'a')
        log.write('----- %s (port %d)\n' % (' '.join(argv), self.port))
        log.flush()
        # A session of its own: stop() ends ws and its bridge as one process group.
        self.process = subprocess.Popen(argv, env=self._env(), cwd=self.dir,
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                        start_new_session=True, preexec_fn=nvtest._pdeathsig)
        log.close()
        self._wait_manifest(timeout)

    def _wait_manifest(self, timeout):
        """Until ws serves /cockpit/@localhost/manifests.json with the package in it: ws listens,
        the bridge is up and found the package."""
        what = ('cockpit-ws on port %d to serve manifests.json with the package "%s"'
                % (self.port, self.package))
        deadline = time.monotonic() + timeout
        last = 'no answer yet'
        while True:
            if self.process.poll() is not None:
                raise CockpitError('cockpit-ws exited with status %d while waiting for %s:\n%s'
                                   % (self.process.returncode, what, self.log()))
            try:
                status, body = self.http_get('/cockpit/@localhost/manifests.json')
                if status == 200:
                    manifests = json.loads(body)
                    if self.package in manifests:
                        return manifests
                    last = 'the bridge lists only %s' % sorted(manifests)
                else:
                    last = 'HTTP status %d' % status
            except (OSError, http.client.HTTPException, ValueError) as e:
                last = str(e)
            if time.monotonic() >= deadline:
                raise CockpitError('timed out after %d s waiting for %s (last: %s):\n%s'
                                   % (timeout, what, last, self.log()))
            time.sleep(0.1)

    # -- use ------------------------------------------------------------------------------------

    def url(self, path='index.html'):
        """The address of a file of the package, loaded on its own (no shell around it)."""
        return 'http://%s:%d/cockpit/@localhost/%s/%s' % (HOST, self.port, self.package,
                                                          path.lstrip('/'))

    def http_get(self, path, timeout=5):
        """(status, body) of a GET without cookies, as a first visit."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request('GET', path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode('utf-8', 'replace')
        finally:
            conn.close()

    def bridge_pids(self):
        """The bridge processes ws runs (none once the local session ended)."""
        if self.process is None or self.process.poll() is not None:
            return []
        return _children(self.process.pid)

    def log(self):
        return nvtest.read_file(self.log_path, '')

    def restart(self, timeout=WS_START_TIMEOUT):
        """A fresh ws and bridge on a new port (the local session is single-use)."""
        self.stop()
        return self.start(timeout)

    # -- teardown -------------------------------------------------------------------------------

    def stop(self, timeout=10):
        """Ends ws and its bridge (SIGTERM to the process group, SIGKILL after timeout)."""
        p, self.process = self.process, None
        if p is None:
            return
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        # The bridge (same group) may outlive ws by a moment.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


# ---------------------------------------------------------------------------------------------
# The browser

class Driver:
    """driver.mjs in a node process: one headless Chromium, one page. command() sends one JSON
    command and returns its answer's value, or raises DriverError with the driver's message."""

    def __init__(self, log_path):
        self.node = need_executable(NODE, 'nodejs')
        self.chromium = need_executable(CHROMIUM, 'chromium')
        self.modules = node_modules()
        self.log_path = log_path
        self.process = None
        self.version = None
        self._buf = b''
        self._next_id = 0

    def start(self, timeout=DRIVER_START_TIMEOUT):
        env = {k: v for k, v in os.environ.items()
               if k not in ('LD_PRELOAD', 'NESTVIRT_ROOT', 'DBUS_SESSION_BUS_ADDRESS')}
        env.update(CHROMIUM=self.chromium, NESTVIRT_NODE_MODULES=self.modules, LANG='C.UTF-8',
                   # As for ws: no autolaunched session bus.
                   DBUS_SESSION_BUS_ADDRESS=NO_SESSION_BUS)
        log = open(self.log_path, 'a')
        self.process = subprocess.Popen([self.node, DRIVER], env=env, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=log,
                                        start_new_session=True, preexec_fn=nvtest._pdeathsig)
        log.close()
        ready = self._read(timeout, 'driver.mjs to start Chromium')
        if not ready.get('ok'):
            raise CockpitError('driver.mjs could not start: %s\n%s'
                               % (ready.get('error'), nvtest.read_file(self.log_path, '')))
        self.version = ready['value']['version']
        return self

    def _read(self, timeout, what):
        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()
        while b'\n' not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CockpitError('timed out after %.0f s waiting for %s' % (timeout, what))
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                self.process.wait(5)
                raise CockpitError('driver.mjs exited (status %s) while waiting for %s:\n%s'
                                   % (self.process.returncode, what,
                                      nvtest.read_file(self.log_path, '')))
            self._buf += chunk
        line, self._buf = self._buf.split(b'\n', 1)
        try:
            return json.loads(line)
        except ValueError:
            raise CockpitError('driver.mjs answered with something not JSON: %r' % line)

    def command(self, cmd, **args):
        """Sends {"cmd": cmd, **args}; returns the answer's value. args['timeout'] is in ms."""
        if self.process is None:
            raise CockpitError('the driver is not running')
        self._next_id += 1
        req = dict(args, cmd=cmd, id=self._next_id)
        try:
            self.process.stdin.write((json.dumps(req) + '\n').encode())
            self.process.stdin.flush()
        except BrokenPipeError:
            raise CockpitError('driver.mjs is gone (status %s):\n%s'
                               % (self.process.poll(), nvtest.read_file(self.log_path, '')))
        bound = args.get('timeout', DEFAULT_TIMEOUT_MS) / 1000 + DRIVER_MARGIN
        answer = self._read(bound, 'the answer to %s' % json.dumps(req))
        if answer.get('id') != self._next_id:
            raise CockpitError('driver.mjs answered %r to command %d' % (answer, self._next_id))
        if not answer.get('ok'):
            raise DriverError('%s: %s' % (cmd, answer.get('error')))
        return answer.get('value')

    # -- the commands (see driver.mjs) ----------------------------------------------------------

    def goto(self, url, timeout=30000):
        return self.command('goto', url=url, timeout=timeout)

    def wait(self, selector, timeout=DEFAULT_TIMEOUT_MS, state='visible'):
        return self.command('wait', selector=selector, state=state, timeout=timeout)

    def wait_text(self, selector, text, exact=False, timeout=DEFAULT_TIMEOUT_MS):
        return self.command('wait', selector=selector, text=text, exact=exact, timeout=timeout)

    def wait_function(self, expression, arg=None, timeout=DEFAULT_TIMEOUT_MS):
        return self.command('wait_function', expression=expression, arg=arg, timeout=timeout)

    def click(self, selector, timeout=DEFAULT_TIMEOUT_MS):
        return self.command('click', selector=selector, timeout=timeout)

    def press(self, key, selector=None, timeout=DEFAULT_TIMEOUT_MS):
        return self.command('press', key=key, selector=selector, timeout=timeout)

    def fill(self, selector, value, timeout=DEFAULT_TIMEOUT_MS):
        return self.command('fill', selector=selector, value=value, timeout=timeout)

    def text(self, selector, timeout=DEFAULT_TIMEOUT_MS):
        return self.command('text', selector=selector, timeout=timeout)

    def attribute(self, selector, name, timeout=DEFAULT_TIMEOUT_MS):
        return self.command('attribute', selector=selector, name=name, timeout=timeout)

    def checked(self, selector, timeout=DEFAULT_TIMEOUT_MS):
        return self.command('checked', selector=selector, timeout=timeout)

    def disabled(self, selector, timeout=DEFAULT_TIMEOUT_MS):
        return self.command('disabled', selector=selector, timeout=timeout)

    def count(self, selector):
        return self.command('count', selector=selector)

    def evaluate(self, expression, arg=None, timeout=DEFAULT_TIMEOUT_MS):
        return self.command('evaluate', expression=expression, arg=arg, timeout=timeout)

    def color_scheme(self, scheme):
        return self.command('color_scheme', scheme=scheme)

    def viewport(self, width, height):
        return self.command('viewport', width=width, height=height)

    def screenshot(self, path, full_page=False, selector=None, timeout=DEFAULT_TIMEOUT_MS):
        return self.command('screenshot', path=path, fullPage=full_page, selector=selector,
                            timeout=timeout)

    def errors(self, clear=False):
        """{console, pageerrors, requestfailed, http} since the page opened or the last clear."""
        return self.command('errors', clear=clear)

    def console(self, clear=False):
        return self.command('console', clear=clear)

    def reset(self):
        return self.command('reset')

    def stop(self, timeout=15):
        p, self.process = self.process, None
        if p is None:
            return
        if p.poll() is None:
            try:
                p.stdin.write(b'{"cmd": "quit"}\n')
                p.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        # Chromium's helpers are in the driver's process group.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        p.wait()
        for f in (p.stdin, p.stdout):
            try:
                f.close()
            except (BrokenPipeError, OSError):
                pass


def format_errors(errors):
    """The driver's errors() as lines, one a problem."""
    lines = []
    for e in errors.get('console', []):
        lines.append('console.error: %s (%s)' % (e['text'], e.get('location') or '?'))
    for e in errors.get('pageerrors', []):
        lines.append('uncaught: %s' % (e.get('stack') or e['message']))
    for e in errors.get('requestfailed', []):
        lines.append('request failed: %s %s: %s' % (e['method'], e['url'], e['error']))
    for e in errors.get('http', []):
        lines.append('HTTP %d: %s' % (e['status'], e['url']))
    return lines


# ---------------------------------------------------------------------------------------------
# Test cases

class CockpitTestCase(nvtest.BusTestCase):
    """A bus-tier test (own bus, fixture and daemon) with cockpit-ws instances and one browser.
    Everything started here is stopped before the Harness (cleanups run last in, first out), and
    the logs and the browser's console are copied to self.artifacts."""

    def setUp(self):
        super().setUp()
        self.artifacts = artifacts_dir(self.id().split('.', 1)[-1])
        self._driver = None

    def start_cockpit(self, dist, as_user=False, name=None):
        ws = CockpitWs(self.h, dist, as_user=as_user, name=name)
        self.addCleanup(self._stop_ws, ws)
        return ws.start()

    def _stop_ws(self, ws):
        ws.stop()
        text = ws.log()
        nvtest.write_file(os.path.join(self.artifacts, 'cockpit-ws-%s.log' % ws.name), text)
        if text.strip():
            print('----- cockpit-ws (%s) -----\n%s' % (ws.name, text.rstrip()))

    def browser(self):
        """The test's browser, started on first use."""
        if self._driver is None:
            driver = Driver(os.path.join(self.h.tmp, 'driver.log'))
            self.addCleanup(self._stop_driver, driver)
            driver.start()
            self._driver = driver
        return self._driver

    def _stop_driver(self, driver):
        try:
            if driver.process is not None and driver.process.poll() is None:
                nvtest.write_file(os.path.join(self.artifacts, 'console.json'),
                                  json.dumps(driver.console(), indent=1) + '\n')
        except CockpitError as e:
            print('could not save the console: %s' % e)
        driver.stop()
        text = nvtest.read_file(driver.log_path, '')
        nvtest.write_file(os.path.join(self.artifacts, 'driver.log'), text)
        if text.strip():
            print('----- driver.mjs -----\n%s' % text.rstrip())

    def open_page(self, ws, path='index.html', timeout=30000):
        """Loads a page of ws's package; fails when ws answers with its login page (the local
        session ended: see the module's docstring) or an HTTP error."""
        b = self.browser()
        status = b.goto(ws.url(path), timeout=timeout)
        if status != 200:
            raise CockpitError('%s answered HTTP %s' % (ws.url(path), status))
        if b.count('#login') and b.count('#login-button'):
            raise CockpitError('%s showed the login page: the local session of cockpit-ws (%s) '
                               'has ended (bridges: %s); restart() it\n%s'
                               % (ws.url(path), ws.name, ws.bridge_pids() or 'none', ws.log()))
        return b

    def screenshot(self, name, **kw):
        """A PNG of the page in self.artifacts; returns its path."""
        path = os.path.join(self.artifacts, name if name.endswith('.png') else name + '.png')
        self.browser().screenshot(path, **kw)
        return path

    def assertNoBrowserErrors(self, allow=(), clear=True):
        """No console error, uncaught exception, failed request or HTTP error since the page
        opened (or the last check). allow: substrings of problems to ignore."""
        problems = [p for p in format_errors(self.browser().errors(clear=clear))
                    if not any(a in p for a in allow)]
        if problems:
            self.fail('the browser reported %d problem(s):\n  %s'
                      % (len(problems), '\n  '.join(problems)))

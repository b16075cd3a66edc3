#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks of the systemd unit as it will be installed.

    test-units.py verify     UNIT DAEMON UNITDIR
    test-units.py security   UNIT DAEMON UNITDIR
    test-units.py activation UNIT DBUS-SERVICE DBUS-POLICY

UNIT is the unit as meson configured it (systemd/meson.build's nestvirtd_unit), DAEMON the
built nestvirtd, UNITDIR the directory meson installs the unit to (systemunitdir).

verify and security build a temporary root that looks like this machine after `meson install`:
the host's own unit directories (so dbus.socket, sysinit.target and the rest that a Type=dbus
service pulls in exist, as they do on a real system), the unit in UNITDIR and a copy of the
daemon at the path of ExecStart=. systemd-analyze then runs with --root on that tree, finds the
unit by name through its normal search path, and checks the command inside the root.
(systemd 252's `verify --root=` does this: without the host's units it reports "Unit
dbus.socket not found", without the binary "Command ... is not executable".)

Exit status: 0 passed, 1 failed, 77 skipped (a failure when CI=true).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

EXIT_SKIP = 77
HOST_UNIT_DIRS = ('/usr/lib/systemd/system', '/lib/systemd/system')
MAX_EXPOSURE = 2.0


class Skip(Exception):
    pass


class Fail(Exception):
    pass


def systemd_analyze():
    path = shutil.which('systemd-analyze')
    if not path:
        raise Skip('systemd-analyze is not installed (package systemd)')
    return path


def parse_unit(path):
    """{section: [(key, value), ...]} of a unit file: comments, blank lines and line
    continuations handled as systemd does."""
    sections, section, pending = {}, None, ''
    for raw in open(path, encoding='utf-8').read().splitlines():
        line = raw.strip()
        if not pending and (not line or line[0] in '#;'):
            continue
        if line.endswith('\\'):
            pending += line[:-1] + ' '
            continue
        line, pending = pending + line, ''
        if line.startswith('[') and line.endswith(']'):
            section = line[1:-1]
            sections.setdefault(section, [])
            continue
        if '=' not in line or section is None:
            raise Fail('%s: cannot parse line %r' % (path, raw))
        key, value = line.split('=', 1)
        sections[section].append((key.strip(), value.strip()))
    return sections


def exec_path(unit):
    """The program of the unit's ExecStart=, without systemd's prefixes (-@:+!)."""
    starts = [v for k, v in parse_unit(unit).get('Service', []) if k == 'ExecStart' and v]
    if len(starts) != 1:
        raise Fail('%s: expected one ExecStart=, found %d' % (unit, len(starts)))
    program = starts[0].split()[0].lstrip('-@:+!')
    if not program.startswith('/'):
        raise Fail('%s: ExecStart= is not an absolute path: %s' % (unit, program))
    return program


def make_root(unit, daemon, unitdir):
    root = tempfile.mkdtemp(prefix='nestvirt-units-')
    # Merged /usr: keep the host's /lib -> usr/lib (and friends) so paths resolve the same.
    for top in ('bin', 'sbin', 'lib', 'lib64'):
        host = '/' + top
        if os.path.islink(host) and not os.path.isabs(os.readlink(host)):
            os.makedirs(os.path.join(root, os.readlink(host)), exist_ok=True)
            os.symlink(os.readlink(host), os.path.join(root, top))
    seen = set()
    for d in HOST_UNIT_DIRS:
        if not os.path.isdir(d) or os.path.realpath(d) in seen:
            continue
        seen.add(os.path.realpath(d))
        shutil.copytree(d, root + d, symlinks=True, dirs_exist_ok=True)
    if not seen:
        raise Skip('this machine has no systemd unit directory (%s)' % ', '.join(HOST_UNIT_DIRS))
    os.makedirs(root + unitdir, exist_ok=True)
    installed = os.path.join(root + unitdir, os.path.basename(unit))
    shutil.copyfile(unit, installed)
    os.chmod(installed, 0o644)
    program = root + exec_path(unit)
    os.makedirs(os.path.dirname(program), exist_ok=True)
    shutil.copyfile(daemon, program)
    os.chmod(program, 0o755)
    return root


def run(argv):
    print('$ ' + ' '.join(argv))
    env = dict(os.environ, SYSTEMD_COLORS='0', SYSTEMD_PAGER='cat')
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       stdin=subprocess.DEVNULL, env=env)
    print(r.stdout, end='')
    return r


def verify_lines(root, unit_name):
    r = run([systemd_analyze(), 'verify', '--man=no', '--root=' + root, unit_name])
    return r.returncode, [l for l in r.stdout.splitlines() if l.strip()]


def cmd_verify(unit, daemon, unitdir):
    root = make_root(unit, daemon, unitdir)
    try:
        # A control first: a unit with a bad key and a missing program must be reported, or a
        # clean result below would prove nothing.
        canary = os.path.join(root + unitdir, 'nestvirt-test-canary.service')
        with open(canary, 'w') as f:
            f.write('[Service]\nType=oneshot\nExecStart=/nonexistent/nestvirt-canary\n'
                    'NoSuchSetting=yes\n')
        status, lines = verify_lines(root, 'nestvirt-test-canary.service')
        text = '\n'.join(lines)
        if 'NoSuchSetting' not in text or '/nonexistent/nestvirt-canary' not in text:
            raise Fail('systemd-analyze verify did not report the canary unit\'s errors; '
                       'it cannot be trusted here')
        os.unlink(canary)

        # systemd-analyze verify prints nothing for a clean unit; every line is a warning or an
        # error (and warnings such as "Unknown key" leave the exit status at 0).
        name = os.path.basename(unit)
        status, lines = verify_lines(root, name)
        if status != 0 or lines:
            raise Fail('systemd-analyze verify %s: exit status %d, %d line(s) of warnings or '
                       'errors (above)' % (name, status, len(lines)))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print('%s verifies cleanly as installed in %s' % (os.path.basename(unit), unitdir))


# Settings that would blind the daemon. It names the processes holding /dev/kvm, which belong to
# other users (libvirt-qemu, ...): any ProtectProc= but "default" hides them. It reads /proc/cpuinfo, /proc/cmdline and
# /proc/sys: ProcSubset=pid hides them. It reads /lib/modules through libkmod:
# ProtectKernelModules= hides it (and denies module loading).
def blinding_settings(unit):
    found = []
    for key, value in parse_unit(unit).get('Service', []):
        if key == 'ProtectProc' and value not in ('', 'default'):
            found.append('ProtectProc=%s hides other users\' processes' % value)
        if key == 'ProcSubset' and value == 'pid':
            found.append('ProcSubset=pid hides /proc/cpuinfo, /proc/cmdline, /proc/sys')
        if key == 'ProtectKernelModules':
            found.append('ProtectKernelModules=%s hides /lib/modules' % value)
    return found


def cmd_security(unit, daemon, unitdir):
    name = os.path.basename(unit)
    found = blinding_settings(unit)
    root = make_root(unit, daemon, unitdir)
    try:
        r = run([systemd_analyze(), 'security', '--offline=yes', '--root=' + root, '--no-pager',
                 name])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    m = re.search(r'Overall exposure level for %s: (\d+\.\d+)' % re.escape(name), r.stdout)
    if not m:
        raise Fail('no "Overall exposure level for %s" in the output of systemd-analyze '
                   'security (exit status %d)' % (name, r.returncode))
    exposure = float(m.group(1))

    # systemd's own reading of the unit must agree: a check mark means the protection is on
    # ("+" instead of "✓" when the locale is not UTF-8).
    for setting in ('ProtectProc=', 'ProtectKernelModules=', 'ProcSubset='):
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[1] == setting and parts[0] in ('✓', '+'):
                found.append('systemd-analyze security: %s' % line.strip())

    problems = list(found)
    if exposure > MAX_EXPOSURE:
        problems.append('exposure %.1f is above %.1f' % (exposure, MAX_EXPOSURE))
    if problems:
        raise Fail('%s: %s' % (name, '; '.join(problems)))
    print('%s: exposure %.1f <= %.1f; /proc and /lib/modules stay visible'
          % (name, exposure, MAX_EXPOSURE))


def dbus_service_keys(path):
    keys = {}
    for line in open(path, encoding='utf-8').read().splitlines():
        line = line.strip()
        if line and line[0] not in '#[' and '=' in line:
            k, v = line.split('=', 1)
            keys[k.strip()] = v.strip()
    return keys


def cmd_activation(unit, dbus_service, dbus_policy):
    """The unit, the D-Bus activation file and the bus policy describe the same service: the
    bus asks systemd for this unit, the unit waits for this name, both start the same program
    as the user the policy lets own the name."""
    import xml.etree.ElementTree as ET
    service = dict(parse_unit(unit).get('Service', []))
    keys = dbus_service_keys(dbus_service)
    problems = []

    def same(what, a, b):
        if a != b:
            problems.append('%s: %r != %r' % (what, a, b))

    same('unit Type= / dbus', service.get('Type'), 'dbus')
    same('activation file Name= / unit BusName=', keys.get('Name'), service.get('BusName'))
    # The bus asks systemd for the unit by its name or by one of its [Install] Alias= names.
    aliases = [v for k, v in parse_unit(unit).get('Install', []) if k == 'Alias']
    names = [os.path.basename(unit)] + ' '.join(aliases).split()
    if keys.get('SystemdService') not in names:
        problems.append('activation file SystemdService=%r is neither the unit nor an alias of '
                        'it: %s' % (keys.get('SystemdService'), ', '.join(names)))
    same('activation file Exec= / unit ExecStart=', keys.get('Exec'), service.get('ExecStart'))
    unit_user = service.get('User', 'root')
    same('activation file User= / unit User=', keys.get('User', 'root'), unit_user)
    owners = [p.get('user') for p in ET.parse(dbus_policy).getroot().findall('policy')
              for a in p.findall('allow') if a.get('own') == keys.get('Name')]
    if unit_user not in owners:
        problems.append('%s lets %s own %s, but the unit runs as %s'
                        % (os.path.basename(dbus_policy), owners or 'nobody', keys.get('Name'),
                           unit_user))
    if problems:
        raise Fail('; '.join(problems))
    print('%s, %s and %s agree' % (os.path.basename(unit), os.path.basename(dbus_service),
                                   os.path.basename(dbus_policy)))


COMMANDS = {'verify': cmd_verify, 'security': cmd_security, 'activation': cmd_activation}


def main(argv):
    if len(argv) != 5 or argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        COMMANDS[argv[1]](*argv[2:])
    except Skip as e:
        if os.environ.get('CI', '').lower() in ('true', '1', 'yes'):
            print('FAIL: skipped in CI, where skips are failures: %s' % e)
            return 1
        print('SKIP: %s' % e)
        return EXIT_SKIP
    except Fail as e:
        print('FAIL: %s' % e)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The bus tier, bad input: wrong signatures, strings of a megabyte, every unknown flag bit, a
caller that disconnects while polkit decides, and 100 clients sending 100 calls each at once.
The daemon answers every call or names the error, never crashes, and changes nothing on a
refusal; the *_valgrind cases run the same daemon under valgrind's memcheck (no errors, no
definite or indirect leaks at exit).

tests/bus/meson.build registers every test_* method here as its own meson test (named after the
method, without "test_"). By hand, from a build directory:

    meson test -C BUILD --suite bus bad_signatures -v

"Changes nothing" means: no module syscall reached the preload library (root/.nv-trap.log stays
empty), every file of the fixture host is byte for byte what it was before the first call (with
the same mode), no AUDIT record of a change, and the instance that answered the first call
answers the last one.

The fixture host is amd-host (kvm_amd loaded with nested=1, refcnt 0) plus an administrator's
/etc/modprobe.d/zz-nestvirt.conf saying nested=0. On it every one of SetNested(false, runtime),
ResetPersistent and Enforce is a real change, and root is authorized without polkit: a refusal
that let such a request through would show as a reload or a changed file.

One limit is libsystemd's, not the daemon's: sd-bus drops a message whose object path is longer
than 64 KiB (BUS_PATH_SIZE_MAX) as invalid before any handler sees it, although dbus-daemon
delivers it. Such a call gets no reply at all; megabyte_strings checks that the caller runs into
its own timeout and that the daemon serves the next call as before.
"""

import json
import os
import re
import signal
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nvtest  # noqa: E402
from nvtest import (BUS_NAME, INTERFACE, INTROSPECTABLE, OBJECT_PATH, PEER,  # noqa: E402
                    PROPERTIES, BusTestCase)

ERR = 'org.freedesktop.DBus.Error.'
INVALID_ARGS = ERR + 'InvalidArgs'
ACCESS_DENIED = ERR + 'AccessDenied'
UNKNOWN_METHOD = ERR + 'UnknownMethod'
UNKNOWN_OBJECT = ERR + 'UnknownObject'
UNKNOWN_INTERFACE = ERR + 'UnknownInterface'
UNKNOWN_PROPERTY = ERR + 'UnknownProperty'
READ_ONLY = ERR + 'PropertyReadOnly'
LOCAL_TIMEOUT = 'local:g-io-error-quark:24'  # G_IO_ERROR_TIMED_OUT: the caller's own timeout

RUNTIME, PERSISTENT = 1, 2
# The flag bits dbus/org.nestvirt.NestVirt1.xml defines, per method with a "flags" argument. A
# method the XML gives flags must be listed here (flags_contract() checks it).
IGNORE_REQUIRING_VMS = 4
DEFINED_FLAGS = {'SetNested': RUNTIME | PERSISTENT | IGNORE_REQUIRING_VMS, 'ResetPersistent': 0,
                 'Enforce': 0}

ADMIN_DROPIN = 'options kvm_amd nested=0\n'
MB = 1 << 20
# sd-bus's limit on object paths (BUS_PATH_SIZE_MAX in libsystemd's bus-internal.h).
SD_BUS_PATH_MAX = 64 * 1024

# Bounds. Every wait names what it waited for; none of them is an assertion about speed.
CALL_TIMEOUT_MS = 120000  # one call; generous: machines are loaded, valgrind is slow
DROPPED_CALL_TIMEOUT_MS = 5000  # a call that sd-bus drops: how long the caller waits for nothing
FLOOD_TIMEOUT = 300  # all replies of a flood
POLKIT_WAIT = 60  # checks reaching the polkit mock, callers leaving the bus
IDLE_TIMEOUT = 5  # DisconnectTest: short, so an exit on idle proves nothing is pending
IDLE_EXIT_WAIT = 120  # a daemon with nothing pending exiting on idle


def request(member, signature='', args=(), interface=INTERFACE, path=OBJECT_PATH, **kw):
    kw.setdefault('timeout_ms', CALL_TIMEOUT_MS)
    return dict(dest=BUS_NAME, path=path, interface=interface, member=member,
                signature=signature, args=list(args), **kw)


# A value of each type the bad signatures below use, in nvcall.py's JSON form.
SAMPLE = {'b': True, 's': 'x', 't': 1, 'u': 1, 'x': -1, 'd': 1.5, 'y': 7, 'o': '/x', 'as': ['x'],
          'v': {'variant': 's', 'value': 'x'}, 'a{sv}': {'x': {'variant': 'u', 'value': 1}}}
WRONG_TYPE = {'b': ['s', 'u', 'y'], 't': ['u', 'x', 'd', 's', 'b'], 's': ['o', 'u', 'as']}


def sample(t):
    if t in SAMPLE:
        return SAMPLE[t]
    if t.startswith('('):
        import nvcall
        return [sample(x) for x in nvcall.split_types(t[1:-1])]
    raise KeyError('no sample value of type %s' % t)


def bad_signatures(types):
    """Signatures that differ from the complete types given: nothing, one argument missing, one
    too many, each argument of a wrong type, the order swapped, wrapped in a struct or a
    variant."""
    sig = ''.join(types)
    out = []
    if types:
        out.append([])
        out.append(types[:-1])
        out.append(types[1:])
        out.append(['(%s)' % sig])
        out.append(['v'])
        if len(types) > 1 and types[::-1] != types:
            out.append(types[::-1])
        for i, t in enumerate(types):
            for w in WRONG_TYPE.get(t, ['s']):
                out.append(types[:i] + [w] + types[i + 1:])
    for extra in ('s', 't', 'as', 'a{sv}'):
        out.append(types + [extra])
    out.append(['s'] * 3)
    seen, unique = set(), []
    for s in out:
        if ''.join(s) != sig and ''.join(s) not in seen:
            seen.add(''.join(s))
            unique.append(s)
    return unique


def signed_request(member, types, **kw):
    if types == ['v']:
        return request(member, 'v', [{'variant': 's', 'value': 'x'}], **kw)
    return request(member, ''.join(types), [sample(t) for t in types], **kw)


def snapshot(root):
    """Every file, directory and symlink below root as {relative path: (kind, mode, content)},
    without the preload library's own files (checked on their own: trap_log())."""
    out = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(top, name)
            rel = os.path.relpath(path, root)
            if rel in ('.nv-trap.log', '.nv-faults'):
                continue
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ('link', 0, os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ('dir', stat.S_IMODE(st.st_mode), None)
            else:
                with open(path, 'rb') as f:
                    out[rel] = ('file', stat.S_IMODE(st.st_mode), f.read())
    return out


def short(reply):
    """A reply for a failure message: no megabyte strings."""
    text = json.dumps(reply)
    return text if len(text) < 400 else text[:400] + '... (%d characters)' % len(text)


class BadInputCase(BusTestCase):
    """The checks every bad-input test shares."""
    EXTRA_FILES = {nvtest.DROPIN: ADMIN_DROPIN}

    def setUp(self):
        super().setUp()
        self.before = snapshot(self.h.root)
        # Activation as its own step, with a bound that allows for valgrind.
        self.assertTrue(self.h.caller().call1(
            BUS_NAME, OBJECT_PATH, PROPERTIES, 'Get', 'ss', [INTERFACE, 'Version'],
            timeout_ms=CALL_TIMEOUT_MS)['ok'], 'the daemon did not start')
        self.pid = self.h.caller().owner_pid()

    def assertNamedError(self, reply, names, what):
        """reply is an error whose name is one of names."""
        if isinstance(names, str):
            names = (names,)
        self.assertIsNotNone(reply, '%s: no reply' % what)
        self.assertFalse(reply['ok'], '%s succeeded, expected %s: %s'
                         % (what, ' or '.join(names), short(reply)))
        self.assertIn(reply['error'], names, '%s: %s' % (what, short(reply)))

    def assertServing(self, caller=None):
        """The instance that answered the first call still answers, with the state it had."""
        caller = caller or self.h.caller()
        got = caller.call1(BUS_NAME, OBJECT_PATH, PROPERTIES, 'GetAll', 's', [INTERFACE],
                           timeout_ms=CALL_TIMEOUT_MS)
        self.assertTrue(got['ok'], 'GetAll after the bad input failed: %s' % short(got))
        props = got['value'][0]
        self.assertEqual(props['Nested']['value'], 'enabled')
        self.assertEqual(props['NestedNextLoad']['value'], 'disabled')
        self.assertEqual(self.h.caller().owner_pid(), self.pid,
                         'another instance answers: the first one is gone')
        self.assertEqual(self.h.running(), [self.pid])

    def assertUnchanged(self, audited=0):
        self.assertEqual(self.h.trap_log(), [], 'module syscalls were made')
        after = snapshot(self.h.root)
        changed = sorted(k for k in set(self.before) | set(after)
                         if self.before.get(k) != after.get(k))
        self.assertEqual(changed, [], 'the fixture host changed')
        records = self.h.audit()
        self.assertEqual(len(records), audited, 'AUDIT records: %s' % records)
        for rec in records:
            self.assertNotEqual(rec['outcome'], 'done', 'a change was done: %s' % rec)

    def stop_daemon(self):
        """SIGTERM to every instance, then each must exit with 0 within the harness's bound (under
        valgrind: no error and no definite or indirect leak)."""
        for pid in self.h.running():
            os.kill(pid, signal.SIGTERM)
            status = self.h.wait_exit(pid, timeout=self.h.stop_timeout)
            self.assertEqual(status, 0, 'nestvirtd (pid %d) exited with status %d%s' % (
                pid, status, ''.join('\n' + nvtest.read_file(p, '')
                                     for p in self.h.valgrind_logs())))

    # -- the cases -----------------------------------------------------------------------------

    def own_method_cases(self):
        """(what, request, expected error names) for every method of the XML with every bad
        signature: sd-bus checks the signature against the vtable before the handler runs."""
        cases = []
        for m in self.contract.interface.findall('method'):
            name = m.get('name')
            types = [a.get('type') for a in m.findall('arg') if a.get('direction', 'in') == 'in']
            for bad in bad_signatures(types):
                cases.append(('%s(%s) (expects %s)' % (name, ''.join(bad), ''.join(types)),
                              signed_request(name, bad), (INVALID_ARGS,),
                              re.escape("expecting '%s'" % ''.join(types))))
        cases.append(('an unknown method', request('NoSuchMethod', 'bt', [False, RUNTIME]),
                      (UNKNOWN_METHOD,), None))
        return cases

    def standard_cases(self):
        """The standard interfaces sd-bus implements on the object. Missing and wrong-typed
        arguments are refused; sd-bus 252 ignores arguments after the ones it reads, so those
        may also get the normal answer (None in the names: a reply is fine)."""
        ver = [INTERFACE, 'Version']
        cases = [
            ('Get()', request('Get', interface=PROPERTIES), (INVALID_ARGS,)),
            ('Get(s)', request('Get', 's', [INTERFACE], interface=PROPERTIES), (INVALID_ARGS,)),
            ('Get(uu)', request('Get', 'uu', [1, 2], interface=PROPERTIES), (INVALID_ARGS,)),
            ('Get(su)', request('Get', 'su', [INTERFACE, 1], interface=PROPERTIES),
             (INVALID_ARGS,)),
            ('Get(v)', request('Get', 'v', [SAMPLE['v']], interface=PROPERTIES), (INVALID_ARGS,)),
            ('Get(sss)', request('Get', 'sss', ver + ['x'], interface=PROPERTIES),
             (INVALID_ARGS, None)),
            ('GetAll()', request('GetAll', interface=PROPERTIES), (INVALID_ARGS,)),
            ('GetAll(u)', request('GetAll', 'u', [1], interface=PROPERTIES), (INVALID_ARGS,)),
            ('GetAll(as)', request('GetAll', 'as', [[INTERFACE]], interface=PROPERTIES),
             (INVALID_ARGS,)),
            ('GetAll(ss)', request('GetAll', 'ss', [INTERFACE, 'x'], interface=PROPERTIES),
             (INVALID_ARGS, None)),
            ('Set()', request('Set', interface=PROPERTIES), (INVALID_ARGS,)),
            ('Set(ss)', request('Set', 'ss', ver, interface=PROPERTIES),
             (INVALID_ARGS, READ_ONLY)),
            ('Set(ssu)', request('Set', 'ssu', ver + [1], interface=PROPERTIES),
             (INVALID_ARGS, READ_ONLY)),
            ('Set(ssv) of another type', request('Set', 'ssv', ver + [{'variant': 'u', 'value': 1}],
                                                 interface=PROPERTIES),
             (INVALID_ARGS, READ_ONLY)),
            ('Set(uuv)', request('Set', 'uuv', [1, 2, SAMPLE['v']], interface=PROPERTIES),
             (INVALID_ARGS,)),
            ('Set of Nested', request('Set', 'ssv', [INTERFACE, 'Nested',
                                                     {'variant': 's', 'value': 'disabled'}],
                                      interface=PROPERTIES), (READ_ONLY,)),
            ('Introspect(s)', request('Introspect', 's', ['x'], interface=INTROSPECTABLE),
             (INVALID_ARGS,)),
            ('Ping(s)', request('Ping', 's', ['x'], interface=PEER), (INVALID_ARGS, None)),
            ('GetMachineId(t)', request('GetMachineId', 't', [1], interface=PEER),
             (INVALID_ARGS, None)),
        ]
        return [(what, req, names, None) for what, req, names in cases]

    def check_cases(self, cases, replies):
        self.assertEqual(len(replies), len(cases))
        for (what, req, names, fragment), reply in zip(cases, replies):
            with self.subTest(call=what):
                self.assertIsNotNone(reply, '%s: no reply' % what)
                if reply['ok'] and None in names:
                    continue
                self.assertNamedError(reply, [n for n in names if n], what)
                if fragment:
                    self.assertRegex(reply['message'], fragment, '%s: the message does not '
                                     'say what was wrong' % what)

    def run_signatures(self, caller):
        cases = self.own_method_cases() + self.standard_cases()
        self.check_cases(cases, caller.call([req for _, req, _, _ in cases]))
        self.assertServing()
        self.assertUnchanged()

    def huge_cases(self, path_max=SD_BUS_PATH_MAX):
        """Megabyte strings wherever a string goes, and the longest names the protocol allows
        (bus and member names: 255 bytes; the bus refuses longer ones, so they never reach the
        daemon)."""
        big, big2 = 'x' * MB, 'n' * MB
        long_path = ('/a' * path_max)[:path_max]
        cases = [
            ('Get(MB interface)', request('Get', 'ss', [big, 'Version'], interface=PROPERTIES),
             (UNKNOWN_INTERFACE, UNKNOWN_PROPERTY)),
            ('Get(MB property)', request('Get', 'ss', [INTERFACE, big], interface=PROPERTIES),
             (UNKNOWN_PROPERTY,)),
            ('Get(MB, MB)', request('Get', 'ss', [big, big2], interface=PROPERTIES),
             (UNKNOWN_INTERFACE, UNKNOWN_PROPERTY)),
            ('GetAll(MB)', request('GetAll', 's', [big], interface=PROPERTIES),
             (UNKNOWN_INTERFACE,)),
            ('Set(MB property)', request('Set', 'ssv', [INTERFACE, big,
                                                        {'variant': 's', 'value': big2}],
                                         interface=PROPERTIES),
             (UNKNOWN_PROPERTY,)),
            ('Set(MB interface)', request('Set', 'ssv', [big, 'Nested',
                                                         {'variant': 's', 'value': 'disabled'}],
                                          interface=PROPERTIES),
             (UNKNOWN_INTERFACE, UNKNOWN_PROPERTY)),
            ('Set(Version, MB value)', request('Set', 'ssv', [INTERFACE, 'Version',
                                                              {'variant': 's', 'value': big}],
                                               interface=PROPERTIES), (READ_ONLY,)),
            ('Set(Nested, MB value)', request('Set', 'ssv', [INTERFACE, 'Nested',
                                                             {'variant': 's', 'value': big}],
                                              interface=PROPERTIES), (READ_ONLY,)),
            ('Introspect(MB)', request('Introspect', 's', [big], interface=INTROSPECTABLE),
             (INVALID_ARGS,)),
            ('an unknown method with a MB string', request('NoSuchMethod', 's', [big]),
             (UNKNOWN_METHOD,)),
            ('a 255-byte member name', request('M' * 255, 's', [big]), (UNKNOWN_METHOD,)),
            ('a 255-byte interface name', request('Check', interface='a.' + 'b' * 253),
             (UNKNOWN_METHOD, UNKNOWN_INTERFACE)),
            ('a %d-byte object path' % path_max, request('Check', path=long_path),
             (UNKNOWN_OBJECT, UNKNOWN_METHOD)),
            ('Introspect of a %d-byte object path' % path_max,
             request('Introspect', path=long_path, interface=INTROSPECTABLE),
             (UNKNOWN_OBJECT, UNKNOWN_METHOD)),
            ('Get of a %d-byte object path' % path_max,
             request('Get', 'ss', [INTERFACE, 'Version'], path=long_path, interface=PROPERTIES),
             (UNKNOWN_OBJECT, UNKNOWN_METHOD, UNKNOWN_INTERFACE)),
            ('a path of one MB-long element', request('Check', path='/' + 'p' * MB,
                                                      timeout_ms=DROPPED_CALL_TIMEOUT_MS),
             (UNKNOWN_OBJECT, LOCAL_TIMEOUT)),
            ('a 1 MB object path', request('Check', path=('/a' * MB)[:MB],
                                           timeout_ms=DROPPED_CALL_TIMEOUT_MS),
             (UNKNOWN_OBJECT, LOCAL_TIMEOUT)),
        ]
        for name in ('SetNested', 'ResetPersistent', 'Enforce', 'ListVMs', 'Check'):
            cases.append(('%s(MB string)' % name, request(name, 's', [big]), (INVALID_ARGS,)))
        cases += [
            ('SetNested(b, t, MB string)', request('SetNested', 'bts', [False, RUNTIME, big]),
             (INVALID_ARGS,)),
            ('SetNested(b, t, array of a MB of strings)',
             request('SetNested', 'btas', [False, RUNTIME, ['s' * 1024] * 1024]), (INVALID_ARGS,)),
            ('SetNested(64 KiB byte array, t)',
             request('SetNested', 'ayt', [[1] * (64 * 1024), RUNTIME]), (INVALID_ARGS,)),
            ('Enforce(a{sv} with MB keys)',
             request('Enforce', 'a{sv}', [{big: {'variant': 's', 'value': big2}}]),
             (INVALID_ARGS,)),
        ]
        return [(what, req, names, None) for what, req, names in cases]

    def run_huge(self, path_max=SD_BUS_PATH_MAX):
        c = self.h.caller()
        cases = self.huge_cases(path_max)
        # One call at a time: a megabyte error message each.
        replies = [c.call([req])[0] for _, req, _, _ in cases]
        self.check_cases(cases, replies)
        self.assertServing()
        self.assertUnchanged()

    def flag_cases(self):
        """Every bit 0..63 that the XML does not define, alone and with every combination of the
        defined ones, for each method taking flags; and all unknown bits at once."""
        cases = []
        for member, defined in sorted(self.flags_contract().items()):
            combos = sorted({x & defined for x in range(defined + 1)})
            unknown = [1 << b for b in range(64) if not (1 << b) & defined]
            for bit in unknown:
                for known in combos:
                    cases.append((member, bit | known, bit))
            all_unknown = ((1 << 64) - 1) & ~defined
            cases.append((member, all_unknown | defined, all_unknown))
        out = []
        for member, flags, bad in cases:
            args = [False, flags] if member == 'SetNested' else [flags]
            sig = 'bt' if member == 'SetNested' else 't'
            out.append(('%s(flags=0x%x)' % (member, flags), request(member, sig, args),
                        (INVALID_ARGS,), r'\b0x%x\b' % bad))
        return out

    def flags_contract(self):
        """DEFINED_FLAGS, after checking that it names exactly the XML's methods with flags."""
        with_flags = sorted(m.get('name') for m in self.contract.interface.findall('method')
                            if any(a.get('name') == 'flags' and a.get('type') == 't'
                                   and a.get('direction', 'in') == 'in'
                                   for a in m.findall('arg')))
        self.assertEqual(with_flags, sorted(DEFINED_FLAGS),
                         'DEFINED_FLAGS does not match the methods of the XML that take flags')
        return DEFINED_FLAGS

    def run_flags(self, caller):
        cases = self.flag_cases()
        self.check_cases(cases, caller.call([req for _, req, _, _ in cases]))
        self.assertServing()
        self.assertUnchanged()

    # -- floods --------------------------------------------------------------------------------

    def root_client(self, i, n_calls):
        kinds = [
            (request('GetAll', 's', [INTERFACE], interface=PROPERTIES, timeout_ms=FLOOD_MS), 'ok'),
            (request('Check', timeout_ms=FLOOD_MS), 'ok'),
            (request('ListVMs', timeout_ms=FLOOD_MS), 'ok'),
            (None, INVALID_ARGS),  # SetNested with an unknown bit
            (request('Enforce', 't', [RUNTIME], timeout_ms=FLOOD_MS), INVALID_ARGS),
        ]
        out = []
        for j in range(n_calls):
            req, want = kinds[(i + j) % len(kinds)]
            if req is None:
                req = request('SetNested', 'bt', [False, RUNTIME | 1 << (2 + (i + j) % 62)],
                              timeout_ms=FLOOD_MS)
            out.append((req, want))
        return out

    def user_client(self, i, n_calls):
        kinds = [
            (request('GetAll', 's', [INTERFACE], interface=PROPERTIES, timeout_ms=FLOOD_MS), 'ok'),
            (request('Check', timeout_ms=FLOOD_MS), 'ok'),
            (request('ListVMs', timeout_ms=FLOOD_MS), 'ok'),
            # A real change: nothing owns org.freedesktop.PolicyKit1 here, so it is refused.
            (request('SetNested', 'bt', [False, RUNTIME], timeout_ms=FLOOD_MS), ACCESS_DENIED),
            (request('ResetPersistent', 't', [0], timeout_ms=FLOOD_MS), ACCESS_DENIED),
            (request('SetNested', 'bt', [False, 1 << 40], timeout_ms=FLOOD_MS), INVALID_ARGS),
        ]
        return [kinds[(i + j) % len(kinds)] for j in range(n_calls)]

    def run_flood(self, n_clients, n_calls, n_user_clients):
        """n_clients connections (n_user_clients of them the test user's, in one process of its
        own, the rest root's, in this process) each send n_calls calls at once."""
        import nvflood
        root = [self.root_client(i, n_calls) for i in range(n_clients - n_user_clients)]
        user = [self.user_client(i, n_calls) for i in range(n_user_clients)]
        user_proc = None
        if user:
            uid, gid = nvtest.test_user()
            script = os.path.join(self.h.tmp, 'nvflood.py')
            import shutil
            shutil.copy(os.path.join(nvtest.HERE, 'nvflood.py'), script)
            os.chmod(script, 0o644)
            calls = os.path.join(self.h.tmp, 'flood-user.json')
            nvtest.write_file(calls, json.dumps([[req for req, _ in c] for c in user]))
            with open(calls) as stdin:
                user_proc = subprocess.Popen(
                    ['setpriv', '--reuid=%d' % uid, '--regid=%d' % gid, '--clear-groups',
                     '--no-new-privs', '--', '/usr/bin/python3', script, str(FLOOD_TIMEOUT)],
                    env=self.h.user_env(), cwd=self.h.tmp, stdin=stdin,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                    preexec_fn=nvtest._pdeathsig)
        root_replies = nvflood.flood(self.h.address, [[req for req, _ in c] for c in root],
                                     FLOOD_TIMEOUT)
        user_replies = []
        if user_proc:
            try:
                out, err = user_proc.communicate(timeout=FLOOD_TIMEOUT + 60)
            except subprocess.TimeoutExpired:
                user_proc.kill()
                user_proc.communicate()
                raise AssertionError('the test user\'s %d flooding clients did not finish within '
                                     '%d s' % (len(user), FLOOD_TIMEOUT + 60))
            self.assertEqual(user_proc.returncode, 0, 'nvflood.py as the test user: %s' % err)
            user_replies = json.loads(out)['replies']

        problems, unanswered, total = [], 0, 0
        for who, clients, replies in (('root', root, root_replies), ('user', user, user_replies)):
            for i, (client, got) in enumerate(zip(clients, replies)):
                for j, ((req, want), reply) in enumerate(zip(client, got)):
                    total += 1
                    if reply is None:
                        unanswered += 1
                        if unanswered <= 5:
                            problems.append('%s client %d call %d (%s) unanswered'
                                            % (who, i, j, req['member']))
                    elif (want == 'ok') != reply['ok'] or (want != 'ok' and reply['error'] != want):
                        problems.append('%s client %d call %d (%s): expected %s, got %s'
                                        % (who, i, j, req['member'], want, short(reply)))
        self.assertEqual(total, n_clients * n_calls)
        self.assertEqual(problems, [], '%d of %d calls unanswered after %d s, %d wrong; first '
                         'problems: %s' % (unanswered, total, FLOOD_TIMEOUT,
                                           len(problems) - min(unanswered, 5), problems[:20]))
        self.assertServing()
        # Each refused real change of the user is an attempt, and audited as one.
        refused = sum(1 for c in user for _, want in c if want == ACCESS_DENIED)
        self.assertUnchanged(audited=refused)


FLOOD_MS = (FLOOD_TIMEOUT + 30) * 1000


# ---------------------------------------------------------------------------------------------
# 1. Wrong signatures, megabyte strings, unknown flag bits

class BadInputTest(BadInputCase):
    def setUp(self):
        if os.geteuid() != 0:
            raise unittest.SkipTest('needs root: root is authorized without polkit, so a refusal '
                                    'that let a request through would change the host')
        super().setUp()

    def test_bad_signatures(self):
        self.run_signatures(self.h.caller())

    def test_bad_signatures_user(self):
        self.run_signatures(self.h.user_caller())

    def test_megabyte_strings(self):
        self.run_huge()

    def test_unknown_flags(self):
        self.run_flags(self.h.caller())

    def test_unknown_flags_user(self):
        """Flags are checked before authorization: InvalidArgs, not AccessDenied."""
        self.run_flags(self.h.user_caller())


# ---------------------------------------------------------------------------------------------
# 2. 100 clients sending 100 calls each at once

class FloodTest(BadInputCase):
    def setUp(self):
        if os.geteuid() != 0:
            raise unittest.SkipTest('needs root: the unprivileged clients run as %s'
                                    % nvtest.TEST_USER)
        super().setUp()

    def test_flood_100x100(self):
        """GetAll, Check, ListVMs and refused changes (unknown flags as root; no polkit for the
        user), 10000 calls in flight at once: every one is answered as it would be alone."""
        self.run_flood(n_clients=100, n_calls=100, n_user_clients=10)


# ---------------------------------------------------------------------------------------------
# 3. A caller that disconnects while polkit decides

class DisconnectCase(BadInputCase):
    """python3-dbusmock's polkitd template holds every CheckAuthorization until released, then
    answers "not authorized" (it allows nothing here)."""
    POLKIT = 'mock'

    def setUp(self):
        if os.geteuid() != 0:
            raise unittest.SkipTest('needs root: the callers run as %s' % nvtest.TEST_USER)
        self.mock = None
        super().setUp()
        self.mock = self.h.start_polkit_mock()
        self.mock.simulate_hang(True)

    def changes(self):
        """The three changes, each a real one on this host, as the user asks them."""
        return [request('SetNested', 'bt', [False, RUNTIME]),
                request('ResetPersistent', 't', [0]),
                request('Enforce', 't', [0])]

    def park_and_disconnect(self):
        """Three users' changes wait in polkit; then their callers are killed and have left the
        bus. Returns the daemon instance that holds the checks."""
        n0 = len(self.mock.checks())
        calls = [self.h.spawn_as_user([req]) for req in self.changes()]
        nvtest.wait_for(lambda: len(self.mock.checks()) >= n0 + len(calls), POLKIT_WAIT,
                        what='%d CheckAuthorization calls to reach the polkit mock' % len(calls))
        names = [c['subject'][1]['name'] for c in self.mock.checks()[n0:]]
        self.assertEqual(self.h.trap_log(), [])
        for call in calls:
            self.assertFalse(call.done(), 'a change was answered while polkit hangs')
            call.process.kill()
            call.process.wait()
        c = self.h.caller()
        nvtest.wait_for(lambda: not any(c.name_has_owner(n) for n in names), POLKIT_WAIT,
                        what='the killed callers %s to leave the bus' % ', '.join(names))
        # With checks pending the instance holding them cannot have exited on idle.
        return c.owner_pid()

    def assertIdleExit(self, pid):
        """Nothing is pending any more: the instance exits on idle, cleanly."""
        self.assertEqual(self.h.wait_exit(pid, timeout=IDLE_TIMEOUT + IDLE_EXIT_WAIT), 0)

    def assertRefusalsAudited(self, n):
        records = self.h.audit()
        uid = nvtest.test_user()[0]
        self.assertEqual(len(records), n, records)
        for rec in records:
            self.assertEqual(rec['uid'], uid)
            self.assertNotEqual(rec['outcome'], 'done')

    def serve_next(self):
        """The next callers are served: reads by root and the user; and a user's change, which
        the mock (no longer hanging) refuses at once."""
        self.mock.simulate_hang(False)
        for caller in (self.h.caller(), self.h.user_caller()):
            got = caller.get_all()
            self.assertEqual(got['Nested'], ('s', 'enabled'))
        reply = self.h.user_caller().call([request('SetNested', 'bt', [False, RUNTIME])])[0]
        self.assertNamedError(reply, ACCESS_DENIED, 'the next caller\'s SetNested')

    def sigterm_while_pending(self):
        """SIGTERM while the checks of gone callers and of one still connected are pending: the
        connected caller gets a named refusal, not the bus's NoReply; every pending call is
        audited as refused; the daemon exits with 0, having freed the checks (LeakSanitizer in a
        sanitizer build, valgrind in ValgrindDisconnectTest)."""
        before, n0 = len(self.h.audit()), len(self.mock.checks())
        self.park_and_disconnect()
        waiting = self.h.spawn_as_user([request('SetNested', 'bt', [False, RUNTIME])])
        nvtest.wait_for(lambda: len(self.mock.checks()) >= n0 + 4, POLKIT_WAIT,
                        what='the connected caller\'s CheckAuthorization to reach the polkit mock')
        self.stop_daemon()
        reply = waiting.result(timeout=POLKIT_WAIT)[0]
        self.assertNamedError(reply, ACCESS_DENIED, 'a change pending at SIGTERM')
        self.assertIn('exiting', reply['message'])
        self.assertRefusalsAudited(before + 4)
        self.assertUnchanged(audited=before + 4)


class DisconnectTest(DisconnectCase):
    IDLE_TIMEOUT = IDLE_TIMEOUT

    def test_disconnect_while_polkit_decides(self):
        daemon = self.park_and_disconnect()
        self.mock.release_hanging_calls()
        # The answers go to callers that are gone; the refusals are still recorded.
        nvtest.wait_for(lambda: len(self.h.audit()) >= 3, POLKIT_WAIT,
                        what='the AUDIT records of the 3 refused changes')
        self.assertRefusalsAudited(3)
        self.serve_next()
        self.assertUnchanged(audited=4)
        for pid in self.h.running():
            self.assertIdleExit(pid)
        self.assertIn(daemon, self.h.instances())
        self.assertEqual(self.h.exit_status(daemon), 0)

    def test_disconnect_then_polkit_dies(self):
        """The callers leave, then polkit is killed before it answers: the daemon gets errors
        for its checks and drops the calls."""
        daemon = self.park_and_disconnect()
        self.h.stop_polkit()
        nvtest.wait_for(lambda: len(self.h.audit()) >= 3, POLKIT_WAIT,
                        what='the AUDIT records of the 3 changes refused for want of polkit')
        self.assertRefusalsAudited(3)
        for caller in (self.h.caller(), self.h.user_caller()):
            self.assertEqual(caller.get_all()['Nested'], ('s', 'enabled'))
        self.assertUnchanged(audited=3)
        for pid in self.h.running():
            self.assertIdleExit(pid)
        self.assertEqual(self.h.exit_status(daemon), 0)

    def test_sigterm_while_polkit_decides(self):
        self.sigterm_while_pending()


# ---------------------------------------------------------------------------------------------
# 4. The same under valgrind

class ValgrindTest(BadInputCase):
    """nestvirtd under memcheck; stop_daemon() at the end of each case checks its exit status,
    which is valgrind's error status on any error or definite or indirect leak."""
    VALGRIND = True

    def setUp(self):
        if os.geteuid() != 0:
            raise unittest.SkipTest('needs root: root is authorized without polkit')
        super().setUp()

    def test_bad_signatures_valgrind(self):
        self.run_signatures(self.h.caller())
        self.run_signatures(self.h.user_caller())
        self.stop_daemon()

    def test_megabyte_strings_valgrind(self):
        # The daemon's filter answers long paths before sd-bus's lookup (quadratic in the path's
        # length); a shorter path takes the same code path and keeps the run under valgrind
        # short should the filter ever be lost.
        self.run_huge(path_max=SD_BUS_PATH_MAX // 4)
        self.stop_daemon()

    def test_unknown_flags_valgrind(self):
        self.run_flags(self.h.caller())
        self.stop_daemon()

    def test_flood_valgrind(self):
        self.run_flood(n_clients=12, n_calls=10, n_user_clients=2)
        self.stop_daemon()


class ValgrindDisconnectTest(DisconnectCase):
    VALGRIND = True

    def test_disconnect_valgrind(self):
        """Callers disconnect while polkit decides, polkit refuses; then SIGTERM while other
        calls' checks are pending (DisconnectTest's sigterm case)."""
        self.park_and_disconnect()
        self.mock.release_hanging_calls()
        nvtest.wait_for(lambda: len(self.h.audit()) >= 3, POLKIT_WAIT,
                        what='the AUDIT records of the 3 refused changes')
        self.assertRefusalsAudited(3)
        self.mock.simulate_hang(True)
        self.sigterm_while_pending()


if __name__ == '__main__':
    sys.exit(nvtest.main())

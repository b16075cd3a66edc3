#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The bus tier, changes: SetNested, ResetPersistent and Enforce on a real dbus-daemon, with the
module syscalls trapped by tests/preload/nv-preload.c, and authorization by the real polkitd or
by python3-dbusmock's polkitd mock.

tests/bus/meson.build registers every test_* method here as its own meson test (named after the
method, without "test_"), like those of test_nestvirtd.py. By hand, from a build directory:

    meson test -C BUILD --suite bus set_runtime_root -v

What each test relies on:
- root is authorized without polkit; the unprivileged user nestvirt-test needs polkit, or a
  request that changes nothing;
- the fixture host (amd-host unless FIXTURE says otherwise) has kvm_amd loaded with nested=1,
  refcnt 0, and no /etc/modprobe.d/zz-nestvirt.conf;
- nv-preload logs every trapped module syscall to root/.nv-trap.log ("unload kvm_amd -> 0",
  "load kvm_amd nested=0 -> 0") and reads fault rules from root/.nv-faults.
"""

import os
import signal
import stat
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nvtest  # noqa: E402
from nvtest import BUS_NAME, INTERFACE, OBJECT_PATH, PROPERTIES, BusTestCase  # noqa: E402

ERROR = 'org.nestvirt.NestVirt1.Error.'
ACCESS_DENIED = 'org.freedesktop.DBus.Error.AccessDenied'
AUTH_REQUIRED = 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired'
INVALID_ARGS = 'org.freedesktop.DBus.Error.InvalidArgs'
NO_REPLY = 'org.freedesktop.DBus.Error.NoReply'

RUNTIME, PERSISTENT = 1, 2
DROPIN_HOST_PATH = '/etc/modprobe.d/zz-nestvirt.conf'
ACTION_SET_NESTED = 'org.nestvirt.NestVirt1.set-nested'
ACTION_SET_PERSISTENT = 'org.nestvirt.NestVirt1.set-persistent'
ACTION_ENFORCE = 'org.nestvirt.NestVirt1.enforce'

# nestvirtctl's exit codes (client/exit-codes.h).
EXIT_NOT_AUTHORIZED = 3

# A process of the fixture host that holds /dev/kvm.
HOLDER_PID = 4242
HOLDER_COMM = 'qemu-system-x86'

# What an administrator might have put into the drop-in by hand: the daemon must put back
# exactly this after a failed change.
HAND_EDITED_DROPIN = (b'# edited by hand, kept byte for byte\n'
                      b'options kvm_amd nested=1   \n'
                      b'options kvm_intel nested=1\n')

RULE_ALLOW_TEST_USER = '''\
// SPDX-License-Identifier: LGPL-2.1-or-later
polkit.addRule(function(action, subject) {
    if (action.id.indexOf("org.nestvirt.NestVirt1.") == 0 && subject.user == "%s")
        return polkit.Result.YES;
});
''' % nvtest.TEST_USER

# Logs what polkit was asked (the daemon's details), then decides on "persistent" alone.
RULE_PERSISTENT_ONLY = '''\
// SPDX-License-Identifier: LGPL-2.1-or-later
polkit.addRule(function(action, subject) {
    if (action.id.indexOf("org.nestvirt.NestVirt1.") != 0)
        return polkit.Result.NOT_HANDLED;
    polkit.log("NVTEST action=" + action.id + " user=" + subject.user +
               " enabled=" + action.lookup("enabled") + " runtime=" + action.lookup("runtime") +
               " persistent=" + action.lookup("persistent") + " module=" + action.lookup("module"));
    if (action.lookup("persistent") == "true")
        return polkit.Result.YES;
    return polkit.Result.NO;
});
'''


def need_root(what):
    if os.geteuid() != 0:
        raise unittest.SkipTest('needs root: %s' % what)


def dropin_text(value):
    """The exact content the daemon writes for nested on (1) or off (0)."""
    return ('# Written by nestvirtd. Change it with "nestvirtctl enable|disable|reset";\n'
            '# edits here are replaced on the next change.\n'
            'options kvm_intel nested=%d\n'
            'options kvm_amd nested=%d\n' % (value, value)).encode()


def option_lines(content):
    return [l for l in content.decode().splitlines() if l.strip() and not l.startswith('#')]


class ChangeTestCase(BusTestCase):
    """Calls and assertions the change tests share."""

    def request(self, member, signature='', args=(), **kw):
        return dict(dest=BUS_NAME, path=OBJECT_PATH, interface=INTERFACE, member=member,
                    signature=signature, args=list(args), **kw)

    def call(self, caller, member, signature='', args=(), **kw):
        return caller.call([self.request(member, signature, args, **kw)])[0]

    def set_nested(self, caller, enabled, flags, **kw):
        return self.call(caller, 'SetNested', 'bt', [enabled, flags], **kw)

    def reset(self, caller, flags=0, **kw):
        return self.call(caller, 'ResetPersistent', 't', [flags], **kw)

    def enforce(self, caller, flags=0, **kw):
        return self.call(caller, 'Enforce', 't', [flags], **kw)

    def prop(self, name):
        return self.h.caller().get(name)[1]

    def assertUntouched(self, nested='1', dropin=None):
        """No module syscall was made, the module runs with nested, the drop-in is dropin."""
        self.assertEqual(self.h.trap_log(), [], 'module syscalls were made')
        self.assertEqual(self.h.module_nested(), nested)
        self.assertEqual(self.h.dropin(), dropin)

    def assertOneReload(self, digit):
        self.assertEqual(self.h.trap_log(), ['unload kvm_amd -> 0',
                                             'load kvm_amd nested=%d -> 0' % digit])

    def add_vm(self):
        self.h.set_refcnt(1)
        self.h.add_kvm_holder(HOLDER_PID, HOLDER_COMM)

    def write_dropin(self, content):
        self.h.fixture_write(nvtest.DROPIN, content.decode())


# ---------------------------------------------------------------------------------------------
# 1. The methods as root, argument checks, no-op requests

class RootChangesTest(ChangeTestCase):
    """Root is authorized without polkit (nothing owns org.freedesktop.PolicyKit1 on this bus)."""

    def setUp(self):
        need_root('root is authorized without polkit')
        super().setUp()

    def test_set_runtime_root(self):
        c = self.h.caller()
        self.assertEqual(self.h.module_nested(), '1')
        self.assertReply(self.set_nested(c, False, RUNTIME),
                         ['disabled', 'enabled', 'kernel-default'])
        self.assertOneReload(0)
        self.assertEqual(self.h.module_nested(), '0')
        self.assertEqual(self.prop('Nested'), 'disabled')
        self.assertEqual(self.prop('ModuleState'), 'loaded')
        self.assertIsNone(self.h.dropin(), 'a runtime change wrote the drop-in')

        self.assertReply(self.set_nested(c, True, RUNTIME),
                         ['enabled', 'enabled', 'kernel-default'])
        self.assertEqual(self.h.trap_log()[2:], ['unload kvm_amd -> 0',
                                                 'load kvm_amd nested=1 -> 0'])
        self.assertEqual(self.h.module_nested(), '1')
        self.assertEqual(self.prop('Nested'), 'enabled')
        self.assertFalse(os.path.exists(self.h.fixture_path(nvtest.RELOAD_INTENT)),
                         'the reload record outlived a successful reload')

    def test_kmod_loaded_to_change(self):
        """nestvirtd reads the module's state and configuration through libkmod in a child
        process: an idle daemon maps neither libkmod nor the libcrypto it links. A change maps it."""
        self.assertEqual(self.prop('ModuleState'), 'loaded')  # activates nestvirtd
        self.assertEqual(self.prop('NestedNextLoadSource'), 'kernel-default')
        pid = self.h.caller().owner_pid()
        libs = nvtest.mapped_libraries(pid)
        self.assertIn('libc.so.6', libs)  # the maps were read
        self.assertEqual([l for l in libs if l.startswith(('libkmod.so', 'libcrypto.so'))], [],
                         sorted(libs))

        self.set_nested(self.h.caller(), False, RUNTIME)
        self.assertOneReload(0)
        self.assertEqual(self.h.caller().owner_pid(), pid)
        self.assertTrue(any(l.startswith('libkmod.so') for l in nvtest.mapped_libraries(pid)))

    def test_set_persistent_root(self):
        c = self.h.caller()
        for enabled, digit in ((False, 0), (True, 1)):
            with self.subTest(enabled=enabled):
                want = 'enabled' if enabled else 'disabled'
                self.assertReply(self.set_nested(c, enabled, PERSISTENT),
                                 ['enabled', want, DROPIN_HOST_PATH])
                content = self.h.dropin()
                self.assertIsNotNone(content, 'no drop-in after a persistent change')
                self.assertEqual(option_lines(content), ['options kvm_intel nested=%d' % digit,
                                                         'options kvm_amd nested=%d' % digit])
                self.assertEqual(content, dropin_text(digit))
                st = os.stat(self.h.fixture_path(nvtest.DROPIN))
                self.assertEqual(stat.S_IMODE(st.st_mode), 0o644)
                self.assertTrue(stat.S_ISREG(st.st_mode))
                self.assertEqual(self.prop('NestedNextLoad'), want)
                self.assertEqual(self.prop('NestedNextLoadSource'), DROPIN_HOST_PATH)
        self.assertUntouched(nested='1', dropin=dropin_text(1))
        # Only the drop-in: no temporary files left beside it.
        self.assertEqual(os.listdir(self.h.fixture_path('etc/modprobe.d')), ['zz-nestvirt.conf'])

        self.assertReply(self.reset(c), ['enabled', 'kernel-default'])
        self.assertIsNone(self.h.dropin(), 'ResetPersistent left the drop-in')
        self.assertEqual(self.prop('NestedNextLoadSource'), 'kernel-default')
        # Without the file it succeeds at once.
        self.assertReply(self.reset(c), ['enabled', 'kernel-default'])
        self.assertEqual(self.h.trap_log(), [])

    def test_set_both_root(self):
        c = self.h.caller()
        self.assertReply(self.set_nested(c, False, RUNTIME | PERSISTENT),
                         ['disabled', 'disabled', DROPIN_HOST_PATH])
        self.assertOneReload(0)
        self.assertEqual(self.h.dropin(), dropin_text(0))

    def test_enforce_root(self):
        c = self.h.caller()
        # Nothing to enforce yet: the kernel default (on) is what runs.
        self.assertReply(self.enforce(c), ['enabled', False])
        self.assertReply(self.set_nested(c, False, PERSISTENT))
        self.assertEqual(self.h.trap_log(), [])
        self.assertReply(self.enforce(c), ['disabled', True])
        self.assertOneReload(0)
        self.assertEqual(self.h.module_nested(), '0')
        self.assertReply(self.enforce(c), ['disabled', False])
        self.assertEqual(len(self.h.trap_log()), 2, 'a second Enforce reloaded again')

    def test_invalid_args_root(self):
        c = self.h.caller()
        # 4 (ignore-requiring-vms) is defined but changes nothing on its own.
        for enabled, flags in ((True, 0), (False, 0), (True, 4), (False, 4), (True, 8), (False, 9),
                               (False, 1 << 63)):
            with self.subTest(enabled=enabled, flags=flags):
                self.assertError(self.set_nested(c, enabled, flags), INVALID_ARGS)
        for member in ('ResetPersistent', 'Enforce'):
            for flags in (1, 2):
                with self.subTest(member=member, flags=flags):
                    self.assertError(self.call(c, member, 't', [flags]), INVALID_ARGS)
        self.assertUntouched()
        self.assertEqual(self.h.audit(), [], 'a refused argument was audited as a change')

    def test_invalid_args_user(self):
        """Arguments are checked before authorization: the user gets InvalidArgs, not
        AccessDenied, although nobody could authorize the user here."""
        u = self.h.user_caller()
        self.assertError(self.set_nested(u, False, 0), INVALID_ARGS)
        self.assertError(self.set_nested(u, False, 4), INVALID_ARGS)
        self.assertError(self.reset(u, 1), INVALID_ARGS)
        self.assertError(self.enforce(u, 1), INVALID_ARGS)
        self.assertUntouched()


class NoopTest(ChangeTestCase):
    """A request that changes nothing succeeds at once: no module syscall and no polkit. Nothing
    owns org.freedesktop.PolicyKit1 on this bus, so a polkit check would mean AccessDenied."""

    def test_noop_user_without_polkit(self):
        u = self.h.user_caller()
        # Live is already on.
        self.assertReply(self.set_nested(u, True, RUNTIME), ['enabled', 'enabled', 'kernel-default'])
        # No drop-in: nothing to remove.
        self.assertReply(self.reset(u), ['enabled', 'kernel-default'])
        # Live agrees with the next load.
        self.assertReply(self.enforce(u), ['enabled', False])
        self.assertUntouched()
        self.assertEqual(self.h.audit(), [])
        # The contrast: a real change needs polkit, which is missing, so it is refused.
        self.assertError(self.set_nested(u, False, RUNTIME), ACCESS_DENIED)
        self.assertUntouched()

    def test_noop_persistent_user_without_polkit(self):
        need_root('root writes the drop-in the user then asks for again')
        root, u = self.h.caller(), self.h.user_caller()
        self.assertReply(self.set_nested(root, False, PERSISTENT))
        before = self.h.dropin()
        self.assertEqual(before, dropin_text(0))
        # The drop-in says exactly this already.
        self.assertReply(self.set_nested(u, False, PERSISTENT),
                         ['enabled', 'disabled', DROPIN_HOST_PATH])
        # Runtime part a no-op too (live on), persistent part already there.
        self.assertReply(self.set_nested(u, True, RUNTIME), ['enabled', 'disabled', DROPIN_HOST_PATH])
        self.assertEqual(self.h.dropin(), before)
        self.assertEqual(self.h.trap_log(), [])
        # A drop-in that differs is a change: refused without polkit.
        self.assertError(self.set_nested(u, True, PERSISTENT), ACCESS_DENIED)
        self.assertError(self.reset(u), ACCESS_DENIED)
        self.assertEqual(self.h.dropin(), before)


# ---------------------------------------------------------------------------------------------
# 2. PropertiesChanged

class SignalsTest(ChangeTestCase):
    def setUp(self):
        need_root('root changes the host without polkit')
        super().setUp()
        self.rec = nvtest.SignalRecorder(self.h.address)
        self.addCleanup(self.rec.close)

    def test_signals_runtime(self):
        self.assertReply(self.set_nested(self.h.caller(), False, RUNTIME))
        self.rec.wait(lambda r: 'disabled' in r.changed().get('Nested', []),
                      what='PropertiesChanged with Nested "disabled"')
        changed = self.rec.changed()
        self.assertEqual(changed['Nested'], ['disabled'], 'Nested was announced as %s'
                         % changed['Nested'])
        self.assertNotIn('NestedNextLoad', changed, 'a runtime change announced NestedNextLoad')
        owner = self.h.caller().ok(nvtest.DBUS_NAME, nvtest.DBUS_PATH, nvtest.DBUS_NAME,
                                   'GetNameOwner', 's', [BUS_NAME])[0]
        for sender, props, invalidated in self.rec.signals:
            self.assertEqual(sender, owner, 'PropertiesChanged from another connection')
            self.assertEqual(invalidated, [])
            if 'Nested' in props:
                self.assertEqual(props['Nested'][0], 's')

        self.assertReply(self.set_nested(self.h.caller(), True, RUNTIME))
        self.rec.wait(lambda r: r.changed().get('Nested', [])[-1:] == ['enabled'],
                      what='PropertiesChanged with Nested "enabled"')

    def test_signals_persistent(self):
        c = self.h.caller()
        self.assertReply(self.set_nested(c, False, PERSISTENT))
        self.rec.wait(lambda r: 'NestedNextLoad' in r.changed()
                      and 'NestedNextLoadSource' in r.changed(),
                      what='PropertiesChanged with NestedNextLoad and NestedNextLoadSource')
        changed = self.rec.changed()
        self.assertEqual(changed['NestedNextLoad'], ['disabled'])
        self.assertEqual(changed['NestedNextLoadSource'], [DROPIN_HOST_PATH])
        self.assertNotIn('Nested', changed, 'a persistent change announced Nested')

        self.assertReply(self.reset(c))
        self.rec.wait(lambda r: r.changed()['NestedNextLoadSource'][-1:] == ['kernel-default'],
                      what='PropertiesChanged after ResetPersistent')
        self.assertEqual(self.rec.changed()['NestedNextLoad'], ['disabled', 'enabled'])


# ---------------------------------------------------------------------------------------------
# 3. Refusals and failures

class VMsRunningTest(ChangeTestCase):
    def setUp(self):
        need_root('root is authorized without polkit')
        super().setUp()
        self.add_vm()

    def test_vms_running(self):
        c = self.h.caller()
        msg = self.assertError(self.set_nested(c, False, RUNTIME), ERROR + 'VMsRunning')
        self.assertIn('%d (%s)' % (HOLDER_PID, HOLDER_COMM), msg)
        self.assertUntouched(nested='1', dropin=None)
        # Persistent too: the drop-in, written first, is gone again.
        self.assertError(self.set_nested(c, False, RUNTIME | PERSISTENT), ERROR + 'VMsRunning',
                         '%d (%s)' % (HOLDER_PID, HOLDER_COMM))
        self.assertUntouched(nested='1', dropin=None)
        self.assertEqual(os.listdir(self.h.fixture_path('etc/modprobe.d')), [])

    def test_vms_running_dropin_kept(self):
        self.write_dropin(HAND_EDITED_DROPIN)
        self.assertError(self.set_nested(self.h.caller(), False, RUNTIME | PERSISTENT),
                         ERROR + 'VMsRunning', '%d (%s)' % (HOLDER_PID, HOLDER_COMM))
        self.assertUntouched(nested='1', dropin=HAND_EDITED_DROPIN)
        self.assertEqual(self.prop('ModuleRefCount'), 1)

    def test_vms_running_persistent_only(self):
        """A persistent change does not touch the module, so VMs do not stop it."""
        self.assertReply(self.set_nested(self.h.caller(), False, PERSISTENT),
                         ['enabled', 'disabled', DROPIN_HOST_PATH])
        self.assertUntouched(nested='1', dropin=dropin_text(0))


class BuiltinTest(ChangeTestCase):
    FIXTURE = 'intel-builtin'

    def test_builtin(self):
        need_root('root is authorized without polkit')
        c = self.h.caller()
        self.assertEqual(self.prop('ModuleState'), 'builtin')
        live = self.prop('Nested')
        self.assertIn(live, ('enabled', 'disabled'))
        other = live != 'enabled'  # the request that would change something
        # A drop-in would not change the built-in module either: nothing is written.
        for flags in (RUNTIME, RUNTIME | PERSISTENT, PERSISTENT):
            with self.subTest(flags=flags):
                self.assertError(self.set_nested(c, other, flags), ERROR + 'Builtin',
                                 'kvm_intel.nested=%d' % (1 if other else 0))
        self.assertEqual(self.h.trap_log(), [])
        self.assertIsNone(self.h.dropin())


class ModulesDisabledTest(ChangeTestCase):
    FIXTURE = 'modules-disabled'

    def test_modules_disabled(self):
        need_root('root is authorized without polkit')
        c = self.h.caller()
        self.assertIs(self.prop('ModulesDisabled'), True)
        live = self.prop('Nested')
        other = live != 'enabled'
        before = self.h.dropin()
        for flags in (RUNTIME, RUNTIME | PERSISTENT):
            with self.subTest(flags=flags):
                self.assertError(self.set_nested(c, other, flags), ERROR + 'ModulesDisabled')
        self.assertEqual(self.h.trap_log(), [])
        self.assertEqual(self.h.dropin(), before)


class NotSupportedTest(ChangeTestCase):
    FIXTURE = 'guest-without-vmx'

    def test_not_supported(self):
        need_root('root is authorized without polkit')
        c = self.h.caller()
        self.assertIs(self.prop('HardwareSupport'), False)
        for enabled in (True, False):
            with self.subTest(enabled=enabled):
                self.assertError(self.set_nested(c, enabled, RUNTIME), ERROR + 'NotSupported')
        self.assertEqual(self.h.trap_log(), [])
        self.assertIsNone(self.h.dropin())


class ReloadFailureTest(ChangeTestCase):
    def setUp(self):
        need_root('root is authorized without polkit')
        super().setUp()

    def check_rollback(self, dropin_before):
        self.h.set_faults('load kvm_amd EIO 1\n')
        msg = self.assertError(self.set_nested(self.h.caller(), False, RUNTIME | PERSISTENT),
                               ERROR + 'ReloadFailed')
        self.assertIn('rolled back', msg)
        self.assertEqual(self.h.trap_log(), ['unload kvm_amd -> 0',
                                             'load kvm_amd nested=0 -> EIO',
                                             'load kvm_amd nested=1 -> 0'])
        self.assertEqual(self.h.module_nested(), '1', 'the module is not back with nested=1')
        self.assertEqual(self.h.dropin(), dropin_before, 'the drop-in was not put back')
        self.assertEqual(self.prop('Nested'), 'enabled')
        self.assertFalse(os.path.exists(self.h.fixture_path(nvtest.RELOAD_INTENT)),
                         'the reload record outlived a successful rollback')
        # The fault was used up: the same request works now.
        self.assertReply(self.set_nested(self.h.caller(), False, RUNTIME | PERSISTENT),
                         ['disabled', 'disabled', DROPIN_HOST_PATH])

    def test_reload_failed_no_dropin(self):
        self.check_rollback(None)

    def test_reload_failed_dropin_restored(self):
        self.write_dropin(HAND_EDITED_DROPIN)
        self.check_rollback(HAND_EDITED_DROPIN)
        st = os.stat(self.h.fixture_path(nvtest.DROPIN))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o644)

    def test_crash_recovery(self):
        """The daemon dies between unload and load; the next call activates a new instance,
        which loads the module again with its old value before it answers."""
        c = self.h.caller()
        self.assertEqual(self.prop('Nested'), 'enabled')
        first = self.h.instances()[0]
        self.h.set_faults('crash-after unload kvm_amd 1\n')
        self.h.expected_status[first] = 99  # nv-preload's _exit(99)
        self.assertError(self.set_nested(c, False, RUNTIME), NO_REPLY)
        self.assertEqual(self.h.wait_exit(first), 99)
        # What the crash left: no module, and the record of the interrupted reload.
        self.assertEqual(self.h.trap_log(), ['unload kvm_amd -> 0'])
        self.assertIsNone(self.h.module_nested())
        intent = self.h.fixture_read(nvtest.RELOAD_INTENT)
        self.assertIn('module=kvm_amd', intent.splitlines())
        self.assertIn('previous=enabled', intent.splitlines())

        # The next call (a property read) activates a new instance; it answers from a snapshot
        # taken after the restore, so "enabled" also proves the order.
        self.assertEqual(self.prop('Nested'), 'enabled')
        instances = self.h.instances()
        self.assertEqual(len(instances), 2, instances)
        self.assertEqual(self.h.trap_log(), ['unload kvm_amd -> 0', 'load kvm_amd nested=1 -> 0'])
        self.assertEqual(self.h.module_nested(), '1')
        self.assertFalse(os.path.exists(self.h.fixture_path(nvtest.RELOAD_INTENT)),
                         'the reload record outlived the recovery')
        self.assertEqual(self.prop('ModuleState'), 'loaded')

    def test_crash_after_load(self):
        """The daemon dies after the load: the change took effect, and the next instance finds
        the module loaded and only drops the record (no reload)."""
        c = self.h.caller()
        c.get('Version')
        first = self.h.instances()[0]
        self.h.set_faults('crash-after load kvm_amd 1\n')
        self.h.expected_status[first] = 99
        self.assertError(self.set_nested(c, False, RUNTIME), NO_REPLY)
        self.assertEqual(self.h.wait_exit(first), 99)
        self.assertTrue(os.path.exists(self.h.fixture_path(nvtest.RELOAD_INTENT)))
        self.assertEqual(self.prop('Nested'), 'disabled')
        self.assertOneReload(0)
        self.assertFalse(os.path.exists(self.h.fixture_path(nvtest.RELOAD_INTENT)),
                         'the reload record outlived the recovery')

    def test_rollback_failed(self):
        """Load and rollback both fail: the error says so, the record stays, and the next
        instance loads the module again with its old value."""
        c = self.h.caller()
        c.get('Version')
        first = self.h.instances()[0]
        self.h.set_faults('load kvm_amd EIO 2\n')
        self.assertError(self.set_nested(c, False, RUNTIME | PERSISTENT), ERROR + 'ReloadFailed',
                         'rollback failed', 'NOT loaded')
        self.assertEqual(self.h.trap_log(), ['unload kvm_amd -> 0',
                                             'load kvm_amd nested=0 -> EIO',
                                             'load kvm_amd nested=1 -> EIO'])
        self.assertIsNone(self.h.module_nested())
        self.assertIsNone(self.h.dropin(), 'the drop-in of the failed call stayed')
        self.assertIn('previous=enabled',
                      self.h.fixture_read(nvtest.RELOAD_INTENT).splitlines())
        self.assertEqual(self.prop('ModuleState'), 'not-loaded')
        os.kill(first, signal.SIGTERM)
        self.assertEqual(self.h.wait_exit(first), 0)
        self.assertEqual(self.prop('Nested'), 'enabled')
        self.assertEqual(self.h.trap_log()[3:], ['load kvm_amd nested=1 -> 0'])
        self.assertFalse(os.path.exists(self.h.fixture_path(nvtest.RELOAD_INTENT)))

    def test_reload_failed_verify(self):
        """The load succeeds with the wrong value: the daemon notices, unloads it again and
        restores the old value."""
        self.h.set_faults('load-wrong kvm_amd - 1\n')
        self.assertError(self.set_nested(self.h.caller(), False, RUNTIME), ERROR + 'ReloadFailed',
                         'verify', 'rolled back')
        self.assertEqual(self.h.trap_log(), ['unload kvm_amd -> 0',
                                             'load kvm_amd nested=0 -> 0',
                                             'unload kvm_amd -> 0',
                                             'load kvm_amd nested=1 -> 0'])
        self.assertEqual(self.h.module_nested(), '1')

    def test_unload_failed(self):
        self.write_dropin(HAND_EDITED_DROPIN)
        self.h.set_faults('unload kvm_amd EIO 1\n')
        self.assertError(self.set_nested(self.h.caller(), False, RUNTIME | PERSISTENT),
                         ERROR + 'ReloadFailed', 'not touched')
        self.assertEqual(self.h.trap_log(), ['unload kvm_amd -> EIO'])
        self.assertEqual(self.h.module_nested(), '1')
        self.assertEqual(self.h.dropin(), HAND_EDITED_DROPIN)
        self.assertFalse(os.path.exists(self.h.fixture_path(nvtest.RELOAD_INTENT)))

    def test_unload_raced_by_vm(self):
        """refcnt was 0 when checked, but a VM took the module before the unload (EAGAIN):
        that is VMsRunning, and nothing changes."""
        self.h.set_faults('unload kvm_amd EAGAIN 1\n')
        self.assertError(self.set_nested(self.h.caller(), False, RUNTIME | PERSISTENT),
                         ERROR + 'VMsRunning')
        self.assertEqual(self.h.trap_log(), ['unload kvm_amd -> EAGAIN'])
        self.assertEqual(self.h.module_nested(), '1')
        self.assertIsNone(self.h.dropin())


class DropinSymlinkTest(ChangeTestCase):
    def test_dropin_symlink(self):
        """A symlink in place of the drop-in is replaced, never written through."""
        need_root('root is authorized without polkit')
        victim = os.path.join(self.h.tmp, 'victim')
        nvtest.write_file(victim, 'not a modprobe.d file\n')
        os.makedirs(self.h.fixture_path('etc/modprobe.d'))
        os.symlink(victim, self.h.fixture_path(nvtest.DROPIN))
        self.assertReply(self.set_nested(self.h.caller(), False, PERSISTENT))
        self.assertEqual(nvtest.read_file(victim), 'not a modprobe.d file\n')
        st = os.lstat(self.h.fixture_path(nvtest.DROPIN))
        self.assertTrue(stat.S_ISREG(st.st_mode), 'the drop-in is not a regular file')
        self.assertEqual(self.h.dropin(), dropin_text(0))


# ---------------------------------------------------------------------------------------------
# 4. The real polkitd

class PolkitTest(ChangeTestCase):
    """polkitd on the test bus, in a private mount namespace that shows it the project's
    .policy and the test's rules. Without a logind session polkit uses allow_any
    (auth_admin_keep): a challenge."""
    POLKIT = 'polkitd'

    def test_polkit_root(self):
        # Even a rule that refuses everything does not stop root, which is never asked.
        self.h.start_polkitd({'10-deny-all.rules':
                              'polkit.addRule(function(action, subject) {\n'
                              '    if (action.id.indexOf("org.nestvirt.NestVirt1.") == 0)\n'
                              '        return polkit.Result.NO;\n});\n'})
        c = self.h.caller()
        self.assertReply(self.set_nested(c, False, RUNTIME | PERSISTENT))
        self.assertOneReload(0)
        self.assertReply(self.reset(c))
        self.assertIsNone(self.h.dropin())

    def test_polkit_user_denied(self):
        need_root('root writes a drop-in for the user to try to remove')
        self.h.start_polkitd()
        root, u = self.h.caller(), self.h.user_caller()
        self.assertReply(self.set_nested(root, True, PERSISTENT))
        dropin = self.h.dropin()
        # Not allowed to interact: polkit wants a challenge, so the daemon says
        # InteractiveAuthorizationRequired (this also proves polkitd knows the actions: an
        # unknown action is an error, which the daemon turns into AccessDenied).
        for name, req in (('runtime', self.request('SetNested', 'bt', [False, RUNTIME])),
                          ('persistent', self.request('SetNested', 'bt', [False, PERSISTENT])),
                          ('both', self.request('SetNested', 'bt', [False, 3])),
                          ('reset', self.request('ResetPersistent', 't', [0]))):
            with self.subTest(request=name, interactive=False):
                self.assertError(u.call([req])[0], AUTH_REQUIRED)
            # Allowed to interact, but no agent is registered for the caller: polkit says no.
            with self.subTest(request=name, interactive=True):
                self.assertError(u.call([dict(req, allow_interactive=True)])[0], ACCESS_DENIED)
        self.assertUntouched(nested='1', dropin=dropin)

        # Enforce has work to do once the drop-in disagrees with the live value.
        self.assertReply(self.set_nested(root, False, PERSISTENT))
        self.assertError(self.enforce(u), AUTH_REQUIRED)
        self.assertError(self.enforce(u, allow_interactive=True), ACCESS_DENIED)
        self.assertEqual(self.h.module_nested(), '1')
        self.assertEqual(self.h.trap_log(), [])

    def test_polkit_ctl_user_denied(self):
        self.h.start_polkitd()
        r = self.h.run_ctl(['--no-ask-password', 'disable'], as_user=True)
        self.assertEqual(r.returncode, EXIT_NOT_AUTHORIZED, r)
        self.assertIn('Not authorized to disable nested virtualization', r.stderr)
        self.assertIn('--no-ask-password', r.stderr, 'no hint at what to do')
        self.assertEqual(r.stdout, '')
        # Without --no-ask-password and without a terminal nobody can answer: still refused.
        r = self.h.run_ctl(['disable'], as_user=True)
        self.assertEqual(r.returncode, EXIT_NOT_AUTHORIZED, r)
        self.assertIn('Not authorized', r.stderr)
        self.assertUntouched()

    def test_polkit_rule_allows_user(self):
        self.h.start_polkitd({'50-nestvirt-test.rules': RULE_ALLOW_TEST_USER})
        u = self.h.user_caller()
        self.assertReply(self.set_nested(u, False, RUNTIME), ['disabled', 'enabled', 'kernel-default'])
        self.assertOneReload(0)
        self.assertReply(self.set_nested(u, False, PERSISTENT),
                         ['disabled', 'disabled', DROPIN_HOST_PATH])
        self.assertEqual(self.h.dropin(), dropin_text(0))
        self.assertReply(self.set_nested(u, True, PERSISTENT))
        self.assertReply(self.enforce(u), ['enabled', True])
        self.assertEqual(self.h.module_nested(), '1')
        self.assertReply(self.reset(u), ['enabled', 'kernel-default'])
        self.assertIsNone(self.h.dropin())
        uid = nvtest.test_user()[0]
        self.assertEqual([(a['request'], a['uid'], a['outcome']) for a in self.h.audit()],
                         [('SetNested(disabled, runtime)', uid, 'done'),
                          ('SetNested(disabled, persistent)', uid, 'done'),
                          ('SetNested(enabled, persistent)', uid, 'done'),
                          ('Enforce', uid, 'done'),
                          ('ResetPersistent', uid, 'done')])
        # And through the client, which allows no interaction here.
        r = self.h.run_ctl(['--no-ask-password', 'disable', '--runtime'], as_user=True)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(self.h.module_nested(), '0')

    def test_polkit_rule_details(self):
        self.h.start_polkitd({'50-nestvirt-details.rules': RULE_PERSISTENT_ONLY})
        u = self.h.user_caller()
        self.assertReply(self.set_nested(u, False, PERSISTENT),
                         ['enabled', 'disabled', DROPIN_HOST_PATH])
        self.assertEqual(self.h.dropin(), dropin_text(0))
        # The rule says NO (not "ask"): AccessDenied even without interaction allowed.
        self.assertError(self.set_nested(u, False, RUNTIME), ACCESS_DENIED)
        self.assertEqual(self.h.module_nested(), '1')
        self.assertEqual(self.h.trap_log(), [])
        # Both: the runtime action, whose details say persistent=true as well.
        self.assertReply(self.set_nested(u, False, RUNTIME | PERSISTENT))
        self.assertOneReload(0)

        log = [l.split(' ', 1)[1] for l in nvtest.read_file(self.h.polkit_log).splitlines()
               if l.startswith('NVTEST ')]
        user = nvtest.TEST_USER
        self.assertEqual(log, [
            'action=%s user=%s enabled=false runtime=false persistent=true module=kvm_amd'
            % (ACTION_SET_PERSISTENT, user),
            'action=%s user=%s enabled=false runtime=true persistent=false module=kvm_amd'
            % (ACTION_SET_NESTED, user),
            'action=%s user=%s enabled=false runtime=true persistent=true module=kvm_amd'
            % (ACTION_SET_NESTED, user),
        ])

    def test_polkit_stopped(self):
        self.h.start_polkitd({'50-nestvirt-test.rules': RULE_ALLOW_TEST_USER})
        u = self.h.user_caller()
        # The rule works while polkitd runs...
        self.assertReply(self.set_nested(u, False, PERSISTENT))
        dropin = self.h.dropin()
        self.h.stop_polkit()
        # ...and without polkitd nothing is allowed.
        for interactive in (False, True):
            with self.subTest(interactive=interactive):
                self.assertError(self.set_nested(u, False, RUNTIME, allow_interactive=interactive),
                                 ACCESS_DENIED)
                self.assertError(self.reset(u, allow_interactive=interactive), ACCESS_DENIED)
        self.assertUntouched(nested='1', dropin=dropin)
        r = self.h.run_ctl(['--no-ask-password', 'disable'], as_user=True)
        self.assertEqual(r.returncode, EXIT_NOT_AUTHORIZED, r)
        self.assertIn('Not authorized', r.stderr)
        self.assertUntouched(nested='1', dropin=dropin)


# ---------------------------------------------------------------------------------------------
# 5. A polkit that hangs, and what the daemon asks polkit (python3-dbusmock)

class PolkitMockTest(ChangeTestCase):
    POLKIT = 'mock'
    IDLE_TIMEOUT = 2
    PROMPT = 2.0  # seconds within which a read must be answered while a check hangs

    def setUp(self):
        super().setUp()
        self.mock = self.h.start_polkit_mock()

    def wait_checks(self, n, timeout=15):
        nvtest.wait_for(lambda: len(self.mock.checks()) >= n, timeout,
                        what='%d CheckAuthorization calls to reach polkit' % n)

    def timed(self, fn):
        t = time.monotonic()
        value = fn()
        return value, time.monotonic() - t

    def test_mock_root_not_asked(self):
        need_root('the caller must be root')
        self.assertReply(self.set_nested(self.h.caller(), False, RUNTIME | PERSISTENT))
        self.assertReply(self.enforce(self.h.caller()))
        self.assertReply(self.reset(self.h.caller()))
        self.assertEqual(self.mock.checks(), [], 'the daemon asked polkit about root')

    def test_mock_subject_and_details(self):
        u = self.h.user_caller()
        self.mock.set_allowed([ACTION_SET_NESTED])
        self.assertReply(self.set_nested(u, False, RUNTIME | PERSISTENT))
        # A persistent-only request needs its own action, which the mock does not allow.
        self.assertError(self.set_nested(u, True, PERSISTENT, allow_interactive=True),
                         ACCESS_DENIED)
        # No-ops do not reach polkit.
        self.assertReply(self.set_nested(u, False, RUNTIME | PERSISTENT))
        checks = self.mock.checks()
        self.assertEqual(len(checks), 2, checks)
        for check in checks:
            kind, details = check['subject']
            self.assertEqual(kind, 'system-bus-name')
            self.assertEqual(sorted(details), ['name'])
            self.assertTrue(details['name'].startswith(':'), details)
        self.assertEqual(checks[0]['action'], ACTION_SET_NESTED)
        self.assertEqual(checks[0]['details'], {'enabled': 'false', 'runtime': 'true',
                                                'persistent': 'true', 'module': 'kvm_amd'})
        self.assertEqual(checks[0]['flags'], 0)
        self.assertEqual(checks[1]['action'], ACTION_SET_PERSISTENT)
        self.assertEqual(checks[1]['details'], {'enabled': 'true', 'runtime': 'false',
                                                'persistent': 'true', 'module': 'kvm_amd'})
        self.assertEqual(checks[1]['flags'], 1, 'AllowUserInteraction was not passed on')
        self.assertOneReload(0)
        self.assertEqual(self.h.dropin(), dropin_text(0))

    def test_mock_hang(self):
        """While a user's check hangs in polkit: reads are answered at once, a second change
        is queued too, the daemon does not exit on idle; released, both complete with one
        reload between them."""
        # The mock decides when it is asked and answers when released: allow first.
        self.mock.set_allowed([ACTION_SET_NESTED])
        self.mock.simulate_hang(True)
        c = self.h.caller()
        c.get('Version')  # activate
        daemon = self.h.instances()[0]
        first = self.h.spawn_as_user([self.request('SetNested', 'bt', [False, RUNTIME],
                                                   timeout_ms=120000)])
        self.wait_checks(1)
        self.assertFalse(first.done(), 'the call was answered while polkit hangs')

        props, took = self.timed(lambda: c.get_all())
        self.assertLess(took, self.PROMPT, 'GetAll took %.2f s while a check hangs' % took)
        self.assertEqual(props['Nested'], ('s', 'enabled'))
        replies, took = self.timed(lambda: self.h.user_caller().call(
            [dict(dest=BUS_NAME, path=OBJECT_PATH, interface=PROPERTIES, member='GetAll',
                  signature='s', args=[INTERFACE])]))
        self.assertTrue(replies[0]['ok'], replies)
        # The user's reader is a new process: allow for its start-up.
        self.assertLess(took, self.PROMPT + 3, 'the user\'s GetAll took %.2f s' % took)

        second = self.h.spawn_as_user([self.request('SetNested', 'bt', [False, RUNTIME],
                                                    timeout_ms=120000)])
        self.wait_checks(2)
        self.assertFalse(second.done())

        # Silence for longer than the idle timeout: the daemon must stay for its callers.
        time.sleep(self.IDLE_TIMEOUT + 2)
        self.assertEqual(self.h.running(), [daemon], 'nestvirtd exited with checks pending')
        self.assertEqual(c.owner_pid(), daemon)
        self.assertFalse(first.done() or second.done())
        self.assertEqual(self.h.trap_log(), [], 'a change happened before polkit answered')

        self.mock.release_hanging_calls()
        for call in (first, second):
            self.assertReply(call.result()[0], ['disabled', 'enabled', 'kernel-default'])
        self.assertOneReload(0)
        self.assertEqual(self.h.instances(), [daemon])
        # Nothing pending any more: now it exits when idle.
        self.assertEqual(self.h.wait_exit(daemon, timeout=self.IDLE_TIMEOUT + 15), 0)

    def test_mock_hang_then_polkit_dies(self):
        self.mock.set_allowed([ACTION_SET_NESTED])
        self.mock.simulate_hang(True)
        call = self.h.spawn_as_user([self.request('SetNested', 'bt', [False, RUNTIME],
                                                  timeout_ms=60000)])
        self.wait_checks(1)
        self.h.stop_polkit()
        reply, took = self.timed(lambda: call.result(timeout=30)[0])
        self.assertError(reply, ACCESS_DENIED)
        self.assertUntouched()

    def test_mock_polkit_timeout(self):
        """polkit takes the call and never answers: after the daemon's own timeout (25 s) the
        caller is refused, never allowed."""
        self.mock.set_allowed([ACTION_SET_NESTED])
        self.mock.simulate_hang(True)
        start = time.monotonic()
        call = self.h.spawn_as_user([self.request('SetNested', 'bt', [False, RUNTIME],
                                                  timeout_ms=80000)])
        self.wait_checks(1)
        reply = call.result(timeout=70)[0]
        took = time.monotonic() - start
        self.assertError(reply, ACCESS_DENIED)
        self.assertGreater(took, 20, 'refused after %.1f s: before polkit could answer' % took)
        # Answering now changes nothing: the call is over.
        self.mock.release_hanging_calls()
        self.h.caller().get('Version')
        self.assertUntouched()

    def test_mock_concurrent_users(self):
        """Five users' changes wait in polkit at once, then are all allowed: each succeeds and
        the module is reloaded once (the others find the work done)."""
        self.mock.set_allowed([ACTION_SET_NESTED])
        self.mock.simulate_hang(True)
        calls = [self.h.spawn_as_user([self.request('SetNested', 'bt', [False, RUNTIME],
                                                    timeout_ms=120000)])
                 for _ in range(5)]
        self.wait_checks(5, timeout=30)
        self.mock.release_hanging_calls()
        for call in calls:
            self.assertReply(call.result()[0], ['disabled', 'enabled', 'kernel-default'])
        self.assertOneReload(0)


# ---------------------------------------------------------------------------------------------
# 6. Concurrency

class ConcurrencyTest(ChangeTestCase):
    def test_concurrent_root(self):
        need_root('root is authorized without polkit')
        self.h.caller().get('Version')  # activate first: the calls should race each other
        replies = nvtest.call_concurrently(
            self.h.address, [self.request('SetNested', 'bt', [False, RUNTIME])] * 10)
        for r in replies:
            self.assertReply(r, ['disabled', 'enabled', 'kernel-default'])
        self.assertOneReload(0)
        self.assertEqual(len(self.h.audit()), 1, 'more than one change was audited')


# ---------------------------------------------------------------------------------------------
# 7. nestvirtctl enforce as the boot unit runs it

class CtlEnforceTest(ChangeTestCase):
    def setUp(self):
        need_root('nestvirt-enforce.service runs nestvirtctl as root')
        super().setUp()

    def test_ctl_enforce_vms_running(self):
        self.assertReply(self.set_nested(self.h.caller(), False, PERSISTENT))
        self.add_vm()
        r = self.h.run_ctl(['enforce'])
        self.assertEqual(r.returncode, 0, r)
        self.assertIn('not enforcing while VMs run', r.stderr)
        self.assertIn('%d (%s)' % (HOLDER_PID, HOLDER_COMM), r.stderr)
        self.assertUntouched(nested='1', dropin=dropin_text(0))
        audit = self.h.audit()[-1]
        self.assertEqual(audit['request'], 'Enforce')
        self.assertIn('in use', audit['outcome'])

    def test_ctl_enforce(self):
        self.assertReply(self.set_nested(self.h.caller(), False, PERSISTENT))
        r = self.h.run_ctl(['enforce'])
        self.assertEqual(r.returncode, 0, r)
        self.assertIn('Reloaded kvm_amd with nested disabled', r.stdout)
        self.assertOneReload(0)
        r = self.h.run_ctl(['enforce'])
        self.assertEqual(r.returncode, 0, r)
        self.assertIn('already matches', r.stdout)
        self.assertEqual(len(self.h.trap_log()), 2)


# ---------------------------------------------------------------------------------------------
# 8. Audit records on the daemon's stderr

class AuditTest(ChangeTestCase):
    def test_audit_root(self):
        need_root('root is authorized without polkit')
        c = self.h.caller()
        pid = os.getpid()  # the root caller is this process
        self.assertReply(self.set_nested(c, False, RUNTIME))
        self.assertReply(self.set_nested(c, False, RUNTIME))  # no-op: not a change
        self.assertReply(self.set_nested(c, True, PERSISTENT))
        self.assertReply(self.enforce(c))
        self.assertReply(self.reset(c))
        self.add_vm()
        self.assertError(self.set_nested(c, False, RUNTIME), ERROR + 'VMsRunning')
        got = self.h.audit()
        self.assertEqual([(a['request'], a['uid'], a['pid'], a['old'], a['new']) for a in got], [
            ('SetNested(disabled, runtime)', 0, pid, 'live=enabled next=enabled',
             'live=disabled next=enabled'),
            ('SetNested(enabled, persistent)', 0, pid, 'live=disabled next=enabled',
             'live=disabled next=enabled'),
            ('Enforce', 0, pid, 'disabled', 'enabled'),
            ('ResetPersistent', 0, pid, 'drop-in', 'none'),
            ('SetNested(disabled, runtime)', 0, pid, 'live=enabled next=enabled',
             'live=enabled next=enabled'),
        ])
        self.assertEqual([a['outcome'] for a in got[:4]], ['done'] * 4)
        self.assertIn('in use', got[4]['outcome'])


class AuditDeniedTest(ChangeTestCase):
    """An attempt that polkit refuses. The call is made in setUp, where a failure is an error,
    so that the expected failure below can only come from the missing record."""

    def setUp(self):
        super().setUp()
        self.uid = nvtest.test_user()[0]
        self.assertError(self.set_nested(self.h.user_caller(), False, RUNTIME), ACCESS_DENIED)

    def test_audit_denied(self):
        """Every change attempt is logged, a refusal by polkit (or polkit missing) too."""
        got = self.h.audit()
        self.assertEqual(len(got), 1, 'no AUDIT record of the refused attempt: %s' % got)
        self.assertEqual(got[0]['uid'], self.uid)
        self.assertNotEqual(got[0]['outcome'], 'done')


class AuditCallerGoneTest(ChangeTestCase):
    """The caller disconnects while polkit decides; polkit then allows. setUp runs the case
    (failures there are errors): the daemon survives and does the change (polkit allowed it;
    as in systemd's services, a change is not cancelled when its caller goes away)."""
    POLKIT = 'mock'

    def setUp(self):
        super().setUp()
        self.uid = nvtest.test_user()[0]
        mock = self.h.start_polkit_mock()
        mock.set_allowed([ACTION_SET_NESTED])
        mock.simulate_hang(True)
        call = self.h.spawn_as_user([self.request('SetNested', 'bt', [False, RUNTIME],
                                                  timeout_ms=60000)])
        nvtest.wait_for(lambda: len(mock.checks()) >= 1, 15, what='the check to reach polkit')
        call.process.kill()
        call.process.wait()
        mock.release_hanging_calls()
        nvtest.wait_for(lambda: self.h.audit(), 10, what='the AUDIT record of the change')
        self.assertEqual(self.prop('Nested'), 'disabled')
        self.assertOneReload(0)

    def test_audit_caller_gone(self):
        """The caller's identity is taken when the call arrives: the record names it even when
        the caller is gone by the time polkit answers."""
        got = self.h.audit()
        self.assertEqual(len(got), 1, got)
        self.assertEqual((got[0]['uid'], got[0]['outcome']), (self.uid, 'done'))
        self.assertGreater(got[0]['pid'], 0)


class AuditRefusedTest(ChangeTestCase):
    """A change refused before polkit is asked (ModulesDisabled, as root)."""
    FIXTURE = 'modules-disabled'

    def setUp(self):
        need_root('root is authorized without polkit')
        super().setUp()
        other = self.prop('Nested') != 'enabled'
        self.assertError(self.set_nested(self.h.caller(), other, RUNTIME),
                         ERROR + 'ModulesDisabled')

    def test_audit_refused_before_polkit(self):
        """Refusals that need no authorization (Builtin, ModulesDisabled, NotSupported) are
        recorded too."""
        got = self.h.audit()
        self.assertEqual(len(got), 1, 'no AUDIT record of the refused attempt: %s' % got)
        self.assertEqual(got[0]['uid'], 0)
        self.assertIn('modules_disabled', got[0]['outcome'])


if __name__ == '__main__':
    sys.exit(nvtest.main())

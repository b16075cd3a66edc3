#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# /init of the fast tier's initramfs (busybox). Runs on Debian's real kernel under QEMU TCG:
# a private system bus, the real nestvirtd and nestvirtctl, the real kvm_amd. The kernel command
# line chooses the run:
#   nestvirt.mode=amd     -cpu max: kvm_amd loads; status, reloads, the VM guard, module events
#   nestvirt.mode=intel   -cpu max,vendor=GenuineIntel: no VMX under TCG: "no hardware support"
#   nestvirt.mode=hang    the diagnostics' own test: a step that never returns, then a guest
#                         that waits forever (see hang.sh)
#   nestvirt.break_guard=1  the daemon runs with LD_PRELOAD=libnv-break-guard.so (self-test)
#   nestvirt.mode=OTHER   /usr/lib/nestvirt-test/mode-OTHER.sh, when the initramfs carries one
#                         (bench/run-toggle.sh), sourced here with these helpers

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LANG=C HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/dbus /dev/pts

. /usr/lib/nestvirt-test/lib.sh

# Whatever happens, the machine powers off (the host waits for QEMU to exit).
finish() {
        sed 's/^/nestvirtd: /' /tmp/nestvirtd.log 2>/dev/null | nv_console
        [ "$NV_FAILED" -gt 0 ] && dmesg | tail -n 60 | sed 's/^/dmesg: /' | nv_console
        nv_done
        sync
        poweroff -f
}
trap finish EXIT

# A guest whose script wedges still ends with its results. Each step has a bound of its own
# (nv_run), so this only fires when the kernel itself no longer gets anywhere; then the host's
# bound and its hang report (QEMU's monitor) take over.
budget=$(nv_cmdline nestvirt.budget)
(
        sleep "${budget:-240}"
        nv_fail watchdog "the guest did not finish within ${budget:-240} s"
        finish
) &

# The kernel's boot messages are on the console already; from here on only what matters (a
# warning or worse) interrupts the script's own lines there.
echo 5 >/proc/sys/kernel/printk

compromised=""
mode=$(nv_cmdline nestvirt.mode)
break_guard=$(nv_cmdline nestvirt.break_guard)
nv_note "fast tier, mode=${mode:-?}, kernel $(uname -r), $(grep -m1 '^model name' /proc/cpuinfo)"

# The private system bus at the standard address, so nothing needs DBUS_SYSTEM_BUS_ADDRESS.
start_bus() {
        dbus-daemon --config-file=/etc/nestvirt-test/bus.conf --nofork --nopidfile \
                >/tmp/dbus.log 2>&1 &
        nv_wait_for 20 test -S /run/dbus/system_bus_socket
}

modprobe_step() {
        nv_run 60 "modprobe $*" /sbin/modprobe "$@"
}

start_daemon() {
        if [ "$break_guard" = 1 ]; then
                nv_note "self-test: nestvirtd runs with LD_PRELOAD=libnv-break-guard.so"
                LD_PRELOAD=/usr/lib/nestvirt-test/libnv-break-guard.so \
                        /usr/libexec/nestvirtd --idle-timeout=0 >>/tmp/nestvirtd.log 2>&1 &
        else
                /usr/libexec/nestvirtd --idle-timeout=0 >>/tmp/nestvirtd.log 2>&1 &
        fi
        nv_wait_for 30 nv-bus get Version >/dev/null
}

# The bus, then the daemon: PASS bus-starts and daemon-starts, or FAIL the first that did not
# start and return non-zero.
start_bus_and_daemon() {
        start_bus || { nv_fail bus-starts "dbus-daemon: $(cat /tmp/dbus.log)"; return 1; }
        nv_pass bus-starts
        start_daemon || { nv_fail daemon-starts "nestvirtd did not appear on the bus"; return 1; }
        nv_pass daemon-starts
}

# kvm_amd (boot-kvm-amd-loads), then the bus and the daemon; non-zero when any of them failed.
start_amd() {
        if modprobe_step kvm_amd >/tmp/modprobe.log 2>&1 && nv_is_loaded kvm_amd && [ -c /dev/kvm ]; then
                nv_pass boot-kvm-amd-loads
        else
                nv_fail boot-kvm-amd-loads "modprobe kvm_amd: $(cat /tmp/modprobe.log)"
                return 1
        fi
        start_bus_and_daemon
}

# nestvirtctl's change verbs (enable/disable) when this build has them, else the same call made
# with nv-bus; either way the outcome is checked in sysfs, not in the client's words.
have_ctl_verbs() {
        nestvirtctl --help 2>&1 | grep -q '^ *disable'
}

# set_runtime on|off: asks for a runtime change; prints what the client said.
set_runtime() {
        if have_ctl_verbs; then
                [ "$1" = on ] && verb=enable || verb=disable
                nv_run 90 "nestvirtctl $verb --runtime" nestvirtctl "$verb" --runtime
        else
                [ "$1" = on ] && v=1 || v=0
                nv_run 90 "nv-bus call SetNested $v 1" nv-bus call SetNested "$v" 1 >/tmp/set.out
                grep -q '^OK' /tmp/set.out
        fi
}

# check_first_line NAME END: the first line of /tmp/status.txt (nestvirtctl status) is the
# guest's line, "This is a VM on HYPERVISOR; it sees " and then END.
check_first_line() {
        first=$(head -n 1 /tmp/status.txt)
        # shellcheck disable=SC2016 # the inner shell expands its own arguments
        nv_check "$1" "the first line of status is: $first" \
                sh -c 'printf "%s\n" "$1" | grep -qE -- "$2"' - "$first" "^This is a VM on [^;]+; it sees $2\$"
}

# nestvirtctl check into /tmp/check.txt, and on the console.
run_check() {
        nv_run 60 "nestvirtctl check" nestvirtctl check >/tmp/check.txt 2>&1
        sed 's/^/check: /' /tmp/check.txt | nv_console
}

status_json() {
        nv_run 60 "nestvirtctl --json=short status" nestvirtctl --json=short status >/tmp/status.json 2>/tmp/status.err
}

# ---------------------------------------------------------------------------------------------
run_amd() {
        nv_check boot-svm-flag "no svm in /proc/cpuinfo under -cpu max" grep -qw svm /proc/cpuinfo
        start_amd || return

        # --- status: the real host model ---
        live=$(nv_sysfs_nested kvm_amd)
        case $live in
        1 | Y | y) live_word=enabled ;;
        0 | N | n) live_word=disabled ;;
        *) live_word="?$live" ;;
        esac
        nv_run 60 "nestvirtctl status" nestvirtctl status >/tmp/status.txt 2>&1
        sed 's/^/status: /' /tmp/status.txt | nv_console
        if status_json; then
                j=/tmp/status.json
                nv_check status-vendor-amd "Vendor=$(nv_json_field $j Vendor) VendorId=$(nv_json_field $j VendorId)" \
                        [ "$(nv_json_field $j Vendor)" = amd ]
                nv_check status-module-kvm-amd-loaded \
                        "Module=$(nv_json_field $j Module) ModuleState=$(nv_json_field $j ModuleState)" \
                        [ "$(nv_json_field $j Module)/$(nv_json_field $j ModuleState)" = kvm_amd/loaded ]
                nv_check status-nested-is-live-value "Nested=$(nv_json_field $j Nested), sysfs says $live" \
                        [ "$(nv_json_field $j Nested)" = "$live_word" ]
                nv_check status-role-guest "Role=$(nv_json_field $j Role) Hypervisor=$(nv_json_field $j Hypervisor)" \
                        [ "$(nv_json_field $j Role)" = guest ]
                nv_check status-hardware-support "HardwareSupport=$(nv_json_field $j HardwareSupport)" \
                        [ "$(nv_json_field $j HardwareSupport)" = true ]
        else
                nv_fail status-vendor-amd "nestvirtctl --json failed: $(cat /tmp/status.err)"
        fi
        nv_check status-text-says-amd "the human status does not name AMD and kvm_amd" \
                sh -c 'grep -q "AMD" /tmp/status.txt && grep -q "kvm_amd" /tmp/status.txt'
        # On a VM the first line says what its hypervisor gives it; -cpu max exposes svm.
        check_first_line status-first-line-guest-svm 'svm: yes; its VMs can use KVM: yes'
        run_check
        nv_check check-nesting-works-at-l1 "check does not say that nesting works here at L1" \
                sh -c 'grep -q "^WARNING nested-guest: This machine is a VM (L1) on .* and sees svm, so nesting works here" /tmp/check.txt &&
                        grep -q "Warning: This machine is a VM (L1)" /tmp/status.txt'

        if have_ctl_verbs; then
                nv_pass ctl-has-enable-disable
        else
                nv_fail ctl-has-enable-disable "nestvirtctl has no enable/disable verbs yet; the reload checks used nv-bus"
        fi

        # --- runtime disable / enable really reload kvm_amd ---
        # Start from nested on, so that "disable" is a change.
        [ "$(nv_sysfs_nested kvm_amd)" = 1 ] || { modprobe_step -r kvm_amd && modprobe_step kvm_amd nested=1; }
        if set_runtime off >/tmp/ctl.out 2>&1 && nv_is_loaded kvm_amd && [ "$(nv_sysfs_nested kvm_amd)" = 0 ]; then
                nv_pass runtime-disable-reloads
        else
                nv_fail runtime-disable-reloads "sysfs nested=$(nv_sysfs_nested kvm_amd): $(cat /tmp/ctl.out)"
        fi
        nv_check runtime-disable-property "Nested property is $(nv-bus get Nested), want disabled" \
                [ "$(nv-bus get Nested)" = disabled ]
        if set_runtime on >/tmp/ctl.out 2>&1 && nv_is_loaded kvm_amd && [ "$(nv_sysfs_nested kvm_amd)" = 1 ]; then
                nv_pass runtime-enable-reloads
        else
                nv_fail runtime-enable-reloads "sysfs nested=$(nv_sysfs_nested kvm_amd): $(cat /tmp/ctl.out)"
        fi
        nv_check runtime-enable-property "Nested property is $(nv-bus get Nested), want enabled" \
                [ "$(nv-bus get Nested)" = enabled ]
        nv_check runtime-kvm-stays-usable "/dev/kvm or kvm.ko gone after the reloads" \
                sh -c '[ -c /dev/kvm ] && [ -d /sys/module/kvm ]'

        # --- a running VM pins the module: both directions are refused ---
        guard_check on disable 0
        if [ -n "$compromised" ]; then
                # kvm_amd went away under a live VM: the kernel's module state is no longer
                # trustworthy (killing the holder underflows the refcount, the next unload hits a
                # kernel BUG). Report the rest as not run and stop cleanly instead of hanging.
                for c in guard-enable-refused-vmsrunning guard-enable-module-untouched \
                        external-reload-signal.needs-module-event-feature; do
                        nv_fail "$c" "not run: $compromised"
                done
                return
        fi
        # Free the module, turn nested off, then hold it again: now "enable" must be refused.
        if set_runtime off >/tmp/ctl.out 2>&1 && [ "$(nv_sysfs_nested kvm_amd)" = 0 ]; then
                guard_check off enable 1
        else
                nv_fail guard-enable-refused-vmsrunning "could not prepare nested=0: $(cat /tmp/ctl.out)"
                nv_fail guard-enable-module-untouched "not run"
        fi

        # --- an external reload reaches a subscriber as PropertiesChanged ---
        # Depends on the daemon's udev module monitor (module-watch.c).
        name=external-reload-signal.needs-module-event-feature
        [ "$(nv_sysfs_nested kvm_amd)" = 1 ] || set_runtime on >/dev/null 2>&1
        rm -f /tmp/watch.ready
        nv-bus watch Nested disabled 30 /tmp/watch.ready >/tmp/watch.out 2>&1 &
        watch_pid=$!
        if nv_wait_for 10 test -e /tmp/watch.ready; then
                modprobe_step -r kvm_amd && modprobe_step kvm_amd nested=0
                if wait "$watch_pid"; then
                        nv_pass "$name"
                else
                        nv_fail "$name" "no PropertiesChanged Nested=disabled within 30 s: $(tr '\n' ' ' </tmp/watch.out)"
                fi
        else
                kill "$watch_pid" 2>/dev/null
                nv_fail "$name" "the subscriber did not start: $(cat /tmp/watch.out)"
        fi
        sed 's/^/watch: /' /tmp/watch.out | nv_console
}

# guard_check STATE(on|off) VERB WANT: a VM holds /dev/kvm while nested is STATE; VERB (which
# would set nested to WANT) must be refused with VMsRunning naming kvm-hold, and kvm_amd must stay
# loaded with its value and its references unchanged.
guard_check() {
        verb=$2
        before=$(nv_sysfs_nested kvm_amd)
        rm -f /tmp/hold.ready
        kvm-hold /tmp/hold.ready >/tmp/hold.out 2>&1 &
        hold_pid=$!
        if ! nv_wait_for 30 test -s /tmp/hold.ready; then
                nv_fail "guard-$verb-refused-vmsrunning" "kvm-hold did not start: $(cat /tmp/hold.out)"
                nv_fail "guard-$verb-module-untouched" "not run"
                kill "$hold_pid" 2>/dev/null
                return
        fi
        refs=$(nv_refcnt kvm_amd)
        nv_note "kvm-hold (pid $hold_pid) holds a VM and a vCPU; kvm_amd refcnt=$refs nested=$before"

        # Through nestvirtctl (or nv-bus when the verb is missing): must fail.
        ctl_ok=no
        if have_ctl_verbs; then
                # nestvirtctl's exit code 4: "VMs hold the module".
                nv_run 90 "nestvirtctl $verb --runtime (VM held)" nestvirtctl "$verb" --runtime >/tmp/ctl.out 2>&1
                ctl_rc=$?
                [ $ctl_rc = 4 ] && ctl_ok=refused
                echo "(exit $ctl_rc)" >>/tmp/ctl.out
        else
                ctl_ok=refused
        fi
        # The exact answer on the bus.
        [ "$verb" = enable ] && v=1 || v=0
        nv_run 90 "nv-bus call SetNested $v 1 (VM held)" nv-bus call SetNested "$v" 1 >/tmp/call.out 2>&1
        answer=$(cat /tmp/call.out)
        nv_note "$verb while held: nestvirtctl: $(tr '\n' ' ' </tmp/ctl.out 2>/dev/null); bus: $answer"
        case $answer in
        "ERROR org.nestvirt.NestVirt1.Error.VMsRunning:"*kvm-hold*)
                if [ "$ctl_ok" = refused ]; then
                        nv_pass "guard-$verb-refused-vmsrunning"
                else
                        nv_fail "guard-$verb-refused-vmsrunning" "nestvirtctl $verb did not exit with 4 (VMs running): $(tr '\n' ' ' </tmp/ctl.out)"
                fi
                ;;
        *) nv_fail "guard-$verb-refused-vmsrunning" "want VMsRunning naming kvm-hold, got: $answer" ;;
        esac
        after=$(nv_sysfs_nested kvm_amd)
        if nv_is_loaded kvm_amd && [ "$after" = "$before" ] && [ "$(nv_refcnt kvm_amd)" = "$refs" ] &&
                kill -0 "$hold_pid" 2>/dev/null; then
                nv_pass "guard-$verb-module-untouched"
        else
                nv_fail "guard-$verb-module-untouched" \
                        "kvm_amd loaded=$(nv_is_loaded kvm_amd && echo yes || echo no) nested $before -> $after, refcnt $refs -> $(nv_refcnt kvm_amd)"
                compromised="kvm_amd changed under the running VM of kvm-hold (pid $hold_pid)"
                # The holder stays: its exit would put references of a module that is gone.
                return
        fi
        # The VM ends with its process: exit closes its fds, which destroys the VM and drops
        # the module references before the process becomes a zombie.
        kill "$hold_pid" 2>/dev/null
        nv_wait_for 30 nv_exited "$hold_pid" || nv_note "kvm-hold (pid $hold_pid) still alive 30 s after SIGTERM"
        wait "$hold_pid" 2>/dev/null
        nv_wait_for 30 test "$(nv_refcnt kvm_amd)" = 0 || nv_note "kvm_amd refcnt still $(nv_refcnt kvm_amd)"
}

# ---------------------------------------------------------------------------------------------
run_intel() {
        nv_check boot-no-vmx-flag "vmx in /proc/cpuinfo under TCG" sh -c '! grep -qw vmx /proc/cpuinfo'
        nv_check boot-kvm-intel-refuses "kvm_intel loaded without VMX" \
                sh -c '! timeout 60 /sbin/modprobe kvm_intel 2>/dev/null && [ ! -d /sys/module/kvm_intel ]'

        start_bus_and_daemon || return

        nv_run 60 "nestvirtctl status" nestvirtctl status >/tmp/status.txt 2>&1
        sed 's/^/status: /' /tmp/status.txt | nv_console
        if status_json; then
                j=/tmp/status.json
                nv_check intel-status-vendor "Vendor=$(nv_json_field $j Vendor) Module=$(nv_json_field $j Module)" \
                        [ "$(nv_json_field $j Vendor)/$(nv_json_field $j Module)" = intel/kvm_intel ]
                nv_check intel-no-hardware-support "HardwareSupport=$(nv_json_field $j HardwareSupport)" \
                        [ "$(nv_json_field $j HardwareSupport)" = false ]
        else
                nv_fail intel-status-vendor "nestvirtctl --json failed: $(cat /tmp/status.err)"
        fi
        nv_check intel-status-text-says-missing "the human status does not say vmx is missing" \
                grep -qiE "vmx.*(missing|absent|not )" /tmp/status.txt
        check_first_line intel-status-first-line-guest 'vmx: no; its VMs can use KVM: no'
        run_check
        nv_check intel-check-only-without-kvm "check does not say that VMs run only without KVM, with the setting" \
                sh -c 'grep -q "^ERROR guest-without-extensions: .*VMs here can run only without KVM" /tmp/check.txt &&
                        grep -qF "qm set VMID --kvm 0" /tmp/check.txt'
        for v in 1 0; do
                nv_run 60 "nv-bus call SetNested $v 1" nv-bus call SetNested "$v" 1 >/tmp/call.out 2>&1
                case $(cat /tmp/call.out) in
                "ERROR org.nestvirt.NestVirt1.Error.NotSupported:"*) nv_pass "intel-set-runtime-$v-not-supported" ;;
                *) nv_fail "intel-set-runtime-$v-not-supported" "want NotSupported, got: $(cat /tmp/call.out)" ;;
                esac
                nv_note "SetNested($v, runtime): $(cat /tmp/call.out)"
        done
        nv_check intel-module-still-absent "kvm_intel appeared" [ ! -d /sys/module/kvm_intel ]
}

# ---------------------------------------------------------------------------------------------
run_hang() {
        nv_run 5 "a step that never returns" sleep 100000
        rc=$?
        [ $rc = 124 ]
        nv_result hang-step-bounded "nv_run returned $rc, want 124" $?
        nv_note "the guest now waits forever on purpose"
        while :; do
                sleep 1000
        done
}

case $mode in
amd) run_amd ;;
intel) run_intel ;;
hang) run_hang ;;
*)
        if [ -f "/usr/lib/nestvirt-test/mode-$mode.sh" ]; then
                # shellcheck disable=SC1090 # added by the initramfs' builder (bench/toggle-guest.sh)
                . "/usr/lib/nestvirt-test/mode-$mode.sh"
        else
                nv_fail boot-mode "unknown nestvirt.mode=$mode"
        fi
        ;;
esac
exit 0

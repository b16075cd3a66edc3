# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=dash disable=SC2034,SC2154
# The fast tier, sourced by run.sh: a busybox initramfs with the project's binaries on Debian's
# kernel. Needs lib.sh and the binary variables of run.sh.

# The checks each run must PASS (the guest prints them; see guest/fast-init.sh).
NV_FAST_AMD_CHECKS="boot-svm-flag boot-kvm-amd-loads bus-starts daemon-starts
        status-vendor-amd status-module-kvm-amd-loaded status-nested-is-live-value
        status-role-guest status-hardware-support status-text-says-amd
        status-first-line-guest-svm check-nesting-works-at-l1 ctl-has-enable-disable
        runtime-disable-reloads runtime-disable-property runtime-enable-reloads
        runtime-enable-property runtime-kvm-stays-usable
        guard-disable-refused-vmsrunning guard-disable-module-untouched
        guard-enable-refused-vmsrunning guard-enable-module-untouched
        external-reload-signal.needs-module-event-feature"
NV_FAST_INTEL_CHECKS="boot-no-vmx-flag boot-kvm-intel-refuses bus-starts daemon-starts
        intel-status-vendor intel-no-hardware-support intel-status-text-says-missing
        intel-status-first-line-guest intel-check-only-without-kvm
        intel-set-runtime-1-not-supported intel-set-runtime-0-not-supported
        intel-module-still-absent"
# What the self-test's broken daemon must fail.
NV_GUARD_CHECKS="guard-disable-refused-vmsrunning guard-disable-module-untouched
        guard-enable-refused-vmsrunning guard-enable-module-untouched"

# What must still work in the self-test, so that its failure is the guard's.
NV_SELFTEST_BASELINE="boot-kvm-amd-loads bus-starts daemon-starts status-vendor-amd
        runtime-disable-reloads runtime-enable-reloads"

# Builds the initramfs into $work/fast-initrd.gz. nv_fast_initramfs [HOOK]: HOOK ROOT, when
# given, adds to the tree before it is packed (bench/run-toggle.sh adds a mode of its own).
# shellcheck disable=SC2120 # the tiers here pass no hook
nv_fast_initramfs() {
        r=$work/fast-root
        rm -rf "$r"
        nv_skeleton "$r"

        # busybox for the shell and the tools; kmod's own modprobe (it reads .ko.xz too).
        nv_install_file "$r" /bin/busybox /usr/bin/busybox
        nv_install_with_libs "$r" "$(command -v kmod)" /usr/bin/kmod
        for t in modprobe rmmod insmod lsmod modinfo depmod; do
                ln -s ../bin/kmod "$r/usr/sbin/$t"
        done
        for applet in $(/bin/busybox --list-full); do
                # bin/ and sbin/ link into usr/ here, so every applet lands in usr/.
                case $applet in
                bin/* | sbin/*) applet=usr/$applet ;;
                esac
                [ -e "$r/$applet" ] || [ -L "$r/$applet" ] || ln -s /usr/bin/busybox "$r/$applet"
        done

        cp -a "$NV_KMODS/lib/modules" "$r/usr/lib/"
        mkdir -p "$r/etc/modprobe.d" "$r/usr/lib/modprobe.d"

        nv_install_with_libs "$r" "$(command -v dbus-daemon)" /usr/bin/dbus-daemon
        nv_install_with_libs "$r" "$NESTVIRTD" /usr/libexec/nestvirtd
        nv_install_with_libs "$r" "$NESTVIRTCTL" /usr/bin/nestvirtctl
        nv_install_with_libs "$r" "$NESTVIRT_NV_BUS" /usr/bin/nv-bus
        nv_install_with_libs "$r" "$NESTVIRT_KVM_HOLD" /usr/bin/kvm-hold
        nv_install_with_libs "$r" "$NESTVIRT_BREAK_GUARD" /usr/lib/nestvirt-test/libnv-break-guard.so

        nv_install_file "$r" "$src/dbus/org.nestvirt.NestVirt1.conf" \
                /usr/share/dbus-1/system.d/org.nestvirt.NestVirt1.conf
        nv_install_file "$r" "$here/guest/bus.conf" /etc/nestvirt-test/bus.conf
        nv_install_file "$r" "$here/guest/lib.sh" /usr/lib/nestvirt-test/lib.sh
        nv_install_file "$r" "$here/guest/fast-init.sh" /init
        chmod 0755 "$r/init"

        echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
        echo 'root:x:0:' >"$r/etc/group"
        printf 'passwd: files\ngroup: files\n' >"$r/etc/nsswitch.conf"
        od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$r/etc/machine-id"
        echo >>"$r/etc/machine-id"
        [ -z "${1:-}" ] || "$1" "$r"

        (cd "$r" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$work/fast-initrd.gz" ||
                nv_die "cannot pack the initramfs"
}

# nv_fast_boot NAME CPU MODE EXTRA_APPEND: boots once; the log is $work/NAME.log. A boot whose
# guest never reached its first step (its script's first line is missing from the results port)
# proves nothing about nestvirt: it is booted once more, and the test output says so.
nv_fast_boot() {
        local name="$1" cpu="$2" mode="$3" extra="$4" t0 rc try
        for try in 1 2; do
                t0=$(nv_now)
                rc=0
                nv_qemu "$work/$name.log" "${NESTVIRT_VM_TIMEOUT:-300}" "$cpu" "$NV_KERNEL" \
                        "$work/fast-initrd.gz" "nestvirt.mode=$mode $extra" || rc=$?
                nv_log "$name: QEMU exited with $rc after $(($(nv_now) - t0)) s"
                [ $rc = 124 ] && nv_log "$name: QEMU timed out"
                nv_reached_first_step "$work/$name.log" && return 0
                [ $try = 2 ] && break
                nv_keep_log "$work/$name.log" "$name-never-started"
                echo "RETRY $name: the guest never reached its first step (QEMU status $rc); booting it once more"
        done
        return 0
}

nv_fast_prepare() {
        local t0
        t0=$(nv_now)
        nv_fetch_kernel
        nv_fast_initramfs
        nv_log "fast tier: kernel $NV_KREL, initramfs $(du -h "$work/fast-initrd.gz" | cut -f1) ready in $(($(nv_now) - t0)) s"
}

nv_fast_tier() {
        local t0 status=0
        t0=$(nv_now)
        nv_fast_prepare

        nv_fast_boot fast-amd max amd ""
        echo "fast tier, AMD (-cpu max):"
        # shellcheck disable=SC2086
        if ! nv_assert "$work/fast-amd.log" $NV_FAST_AMD_CHECKS; then
                nv_keep_log "$work/fast-amd.log" fast-amd
                status=1
        fi

        nv_fast_boot fast-intel max,vendor=GenuineIntel intel ""
        echo "fast tier, Intel vendor without VMX (-cpu max,vendor=GenuineIntel):"
        # shellcheck disable=SC2086
        if ! nv_assert "$work/fast-intel.log" $NV_FAST_INTEL_CHECKS; then
                nv_keep_log "$work/fast-intel.log" fast-intel
                status=1
        fi

        nv_log "fast tier: $([ $status = 0 ] && echo PASSED || echo FAILED) in $(($(nv_now) - t0)) s"
        return $status
}

# The fast tier's AMD run with the broken daemon. Exits 1 (the tier caught it) only when the
# guest finished and exactly the guard checks failed; anything else means the self-test proved
# nothing and exits 0, which the meson test (should_fail) reports as a failure.
nv_selftest() {
        nv_fast_prepare
        nv_fast_boot selftest max amd "nestvirt.break_guard=1"
        echo "self-test: fast tier with a daemon that ignores the running-VM guard:"
        # shellcheck disable=SC2086
        nv_assert "$work/selftest.log" $NV_FAST_AMD_CHECKS && {
                nv_keep_log "$work/selftest.log" selftest
                echo "SELF-TEST FAILED: the tier passed a daemon that ignores the running-VM guard"
                return 0
        }
        res=$work/selftest.log.results
        if ! grep -qx DONE "$res"; then
                nv_keep_log "$work/selftest.log" selftest
                echo "SELF-TEST INCONCLUSIVE: the guest did not finish"
                return 0
        fi
        caught=0
        for c in $NV_GUARD_CHECKS; do
                grep -q "^FAIL $c: " "$res" && caught=$((caught + 1))
        done
        if [ $caught = 0 ]; then
                nv_keep_log "$work/selftest.log" selftest
                echo "SELF-TEST INCONCLUSIVE: no guard check failed"
                return 0
        fi
        # The failure must come from the guard, not from a guest that could not do anything.
        for c in $NV_SELFTEST_BASELINE; do
                if ! grep -qx "PASS $c" "$res"; then
                        nv_keep_log "$work/selftest.log" selftest
                        echo "SELF-TEST INCONCLUSIVE: $c did not pass, so the failure proves nothing"
                        return 0
                fi
        done
        echo "self-test: the tier caught the broken daemon ($caught guard checks failed, as they must)"
        touch "$work/selftest-caught"
        return 1
}

# The diagnostics' own test: a guest whose step never returns must name that step, and a guest
# that no longer finishes must get a hang report through QEMU's monitor that names where each
# vCPU is and ends with the guest kernel's NMI panic. The host treats the guest as hung as soon
# as it says it now waits forever, so nothing here depends on how fast the guest boots.
nv_hang_selftest() {
        local log="$work/hang.log" status=0 what
        nv_fast_prepare
        NV_HANG_WHEN="NESTVIRT-NOTE: the guest now waits forever on purpose" \
                nv_qemu "$log" "${NESTVIRT_VM_TIMEOUT:-300}" max "$NV_KERNEL" "$work/fast-initrd.gz" \
                "nestvirt.mode=hang" || true
        echo "hang diagnostics:"
        nv_assert_quiet() {
                tr -d '\r' <"$1" | grep -qF -- "$2"
        }
        for what in \
                "out:NESTVIRT-TEST: PASS hang-step-bounded" \
                "out:step 'a step that never returns' did not finish within 5 s" \
                "console:--- kernel stack of the stuck step 'a step that never returns'" \
                "console:hang-report: vCPU 0: RIP=" \
                "console:sysrq: Show Blocked State" \
                "console:sysrq: Show backtrace of all active CPUs" \
                "console:Kernel panic - not syncing: NMI" \
                "console:QEMU exited after the hang report's NMI"; do
                case $what in
                out:*) f=$log.out ;;
                *) f=$log ;;
                esac
                if nv_assert_quiet "$f" "${what#*:}"; then
                        echo "  PASS ${what#*:}"
                else
                        echo "  MISSING ${what#*:}"
                        status=1
                fi
        done
        [ $status = 0 ] || nv_keep_log "$log" hang
        return $status
}

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The full tier's checks inside the Debian guest (run by nestvirt-test.service once the boot is
# done). nestvirt is installed from its Debian package; nothing here starts nestvirtd by hand.
# The kernel command line's nestvirt.stage=1|2|3 chooses the boot (see tests/vm/full.sh); the
# last one ends with the package's upgrade, removal and purge.

export PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C
NV_OUT=/dev/ttyS1 NV_CONSOLE=/dev/ttyS0
. /usr/lib/nestvirt-test/lib.sh

T=/usr/lib/nestvirt-test
AUDIT_ID=7b1e0f3c5a6d4e8f9a2b3c4d5e6f7081
DROPIN=/etc/modprobe.d/zz-nestvirt.conf
NVUSER=nvuser
RULE=/etc/polkit-1/rules.d/50-nestvirt-test.rules
# The same tree as the installed package, built as a higher version (full.sh); not installed.
UPGRADE_DIR=/var/lib/nestvirt-test
tmp=$(mktemp -d)

diagnostics() {
        {
                echo "--- failed units ---"
                systemctl --failed --no-legend --no-pager 2>&1
                echo "--- journal of nestvirtd, nestvirt-enforce and the test units (this boot) ---"
                journalctl -b --no-pager -o short-monotonic -u nestvirtd.service -u nestvirt-enforce.service \
                        -u nestvirt-test-precondition.service -u polkit.service 2>&1 | tail -n 80
                echo "--- kernel messages ---"
                dmesg 2>&1 | tail -n 40
        } | nv_console
}

finish() {
        [ "$NV_FAILED" -gt 0 ] && diagnostics
        nv_done
        systemctl poweroff --no-block
        exit 0
}

# A guest that wedges still ends, with a FAIL the host sees. Each step has a bound of its own
# (nv_run), so this fires only when the system no longer gets anywhere.
(
        sleep 600
        nv_fail watchdog "the guest did not finish within 600 s"
        nv_done
        systemctl poweroff -ff
) &

unit() {
        systemctl show -P "$2" "$1" 2>/dev/null
}

unit_done_ok() {
        [ "$(unit "$1" Result)" = success ] && [ "$(unit "$1" ActiveState)" = active ] &&
                [ "$(unit "$1" ExecMainStatus)" = 0 ] && [ -n "$(unit "$1" ExecMainStartTimestamp)" ]
}

unit_state() {
        echo "ActiveState=$(unit "$1" ActiveState) Result=$(unit "$1" Result) ExecMainStatus=$(unit "$1" ExecMainStatus) started=$(unit "$1" ExecMainStartTimestamp)"
}

daemon_inactive() {
        [ "$(unit nestvirtd.service ActiveState)" = inactive ]
}

audit_records() {
        journalctl -b --no-pager -o cat MESSAGE_ID=$AUDIT_ID "$@" 2>/dev/null
}

as_user() {
        runuser -u "$NVUSER" -- "$@"
}

nested() {
        nv_sysfs_nested kvm_amd
}

score() {
        sed -n 's/.*Overall exposure level for nestvirtd.service: \([0-9.]*\).*/\1/p'
}

# apt as an administrator runs it, on local .deb files: the image has no package lists and no
# network, and needs neither, since every dependency is installed (apt fails on any that is not).
pkg_apt() {
        DEBIAN_FRONTEND=noninteractive apt-get -y --no-install-recommends "$@"
}

pkg_status() {
        dpkg-query -W -f '${Status} ${Version}' nestvirt 2>/dev/null
}

# What tells one instance of kvm_amd from the next: a reload gives its sysfs folder a new inode
# and a new reference count; its value and its state are compared too.
module_state() {
        echo "loaded=$(nv_is_loaded kvm_amd && echo yes || echo no) nested=$(nested) refcnt=$(nv_refcnt kvm_amd)" \
                "initstate=$(cat /sys/module/kvm_amd/initstate 2>/dev/null) inode=$(stat -c %i /sys/module/kvm_amd 2>/dev/null)"
}

# The run of nestvirt-enforce.service at boot; a start by a maintainer script would change both.
enforce_run() {
        echo "invocation=$(unit nestvirt-enforce.service InvocationID) started=$(unit nestvirt-enforce.service ExecMainStartTimestampMonotonic)"
}

# nestvirtctl monitor in the background, subscribed (the daemon stays up while it runs, and a
# restarted daemon is subscribed to again); sets mon to its pid.
start_monitor() {
        nestvirtctl monitor >"$1" 2>&1 &
        mon=$!
        nv_wait_for 60 grep -q "Watching nestvirtd for changes" "$1"
}

stop_monitor() {
        kill "$mon" 2>/dev/null
        nv_wait_for 30 nv_exited "$mon" && wait "$mon" 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
stage1() {
        # --- boot: udev loaded the module, the boot unit ran (nothing to change on a first boot) ---
        if nv_is_loaded kvm_amd; then
                nv_pass boot-kvm-amd-autoloaded
        else
                nv_fail boot-kvm-amd-autoloaded "kvm_amd is not loaded after boot (udev did not load it)"
                /sbin/modprobe kvm_amd
        fi
        nv_check boot-enforce-unit-succeeded "nestvirt-enforce.service: $(unit_state nestvirt-enforce.service)" \
                unit_done_ok nestvirt-enforce.service
        package_enabled_units

        # --- activation: the boot unit activated nestvirtd; it exits when idle (30 s) ---
        nv_wait_for 90 daemon_inactive
        nv_result daemon-idle-after-boot "nestvirtd.service still $(unit nestvirtd.service ActiveState) 90 s after boot" $?
        before=$(unit nestvirtd.service InvocationID)
        activated=no
        if nv_run 60 "nestvirtctl status" nestvirtctl status >"$tmp/status" 2>&1 && grep -q kvm_amd "$tmp/status" &&
                [ "$(unit nestvirtd.service ActiveState)" = active ]; then
                activated=yes
                nv_pass activation-by-status
        else
                nv_fail activation-by-status "nestvirtctl status: $(tr '\n' ' ' <"$tmp/status"); nestvirtd.service $(unit nestvirtd.service ActiveState)"
        fi
        sed 's/^/status: /' "$tmp/status" | nv_console
        # ExecMainPID outlives the process: the daemon may already have exited when idle.
        pid=$(unit nestvirtd.service ExecMainPID)
        ppid=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null)
        after=$(unit nestvirtd.service InvocationID)
        [ "$pid" != 0 ] && { [ -z "$ppid" ] || [ "$ppid" = 1 ]; } && [ -n "$after" ] && [ "$after" != "$before" ]
        nv_result activation-by-systemd "ExecMainPID=$pid PPid=${ppid:-exited} invocation $before -> $after" $?
        t0=$(date +%s)
        if [ $activated = no ]; then
                nv_fail idle-exit "not run: nestvirtd was not activated"
        elif nv_wait_for 90 daemon_inactive && [ "$(unit nestvirtd.service Result)" = success ]; then
                nv_pass idle-exit
                nv_note "nestvirtd exited $(($(date +%s) - t0)) s after the last call"
        else
                nv_fail idle-exit "nestvirtd.service: $(unit_state nestvirtd.service)"
        fi

        # --- polkit: an unprivileged user is refused, then allowed by a rule ---
        [ "$(nested)" = 1 ] || nv_note "nested is $(nested) before the polkit checks, expected 1"
        nv_run 60 "nestvirtctl disable --runtime as $NVUSER" as_user nestvirtctl --no-ask-password disable --runtime >"$tmp/user" 2>&1
        rc=$?
        nv_run 60 "nv-bus call SetNested 0 1 as $NVUSER" as_user "$T/nv-bus" call SetNested 0 1 >"$tmp/user-bus" 2>&1
        nv_note "unprivileged, no rule: nestvirtctl exit $rc: $(tr '\n' ' ' <"$tmp/user"); bus: $(cat "$tmp/user-bus")"
        case $(cat "$tmp/user-bus") in
        "ERROR org.freedesktop.DBus.Error.AccessDenied:"* | "ERROR org.freedesktop.DBus.Error.InteractiveAuthorizationRequired:"*)
                bus_refused=yes ;;
        *) bus_refused=no ;;
        esac
        # nestvirtctl's exit code 3: "the bus policy or polkit said no".
        [ $rc = 3 ] && [ $bus_refused = yes ] && [ "$(nested)" = 1 ]
        nv_result polkit-unprivileged-refused \
                "nestvirtctl exit $rc, bus answer '$(cat "$tmp/user-bus")', nested now $(nested)" $?

        mkdir -p "$(dirname "$RULE")"
        cat >"$RULE" <<EOF
// nestvirt QEMU test: $NVUSER may change nested virtualization now.
polkit.addRule(function(action, subject) {
        if (action.id == "org.nestvirt.NestVirt1.set-nested" && subject.user == "$NVUSER")
                return polkit.Result.YES;
});
EOF
        # polkitd rereads its rules when the folder changes; give it a moment.
        allowed=no
        for i in 1 2 3 4 5 6 7 8 9 10; do
                if nv_run 60 "nestvirtctl disable --runtime as $NVUSER with a rule" \
                        as_user nestvirtctl --no-ask-password disable --runtime >"$tmp/user" 2>&1; then
                        allowed=yes
                        break
                fi
                sleep 1
        done
        [ $allowed = yes ] && [ "$(nested)" = 0 ]
        nv_result polkit-rule-allows-unprivileged "with the rule: $(tr '\n' ' ' <"$tmp/user"), nested now $(nested)" $?
        rm -f "$RULE"
        nv_run 90 "nestvirtctl enable --runtime" nestvirtctl enable --runtime >"$tmp/ctl" 2>&1 ||
                nv_note "restoring nested=1 failed: $(cat "$tmp/ctl")"

        sandbox_sees_vms
        monitor_sees_external_reload
        libvirt_kvm_domain
        pve_through_systemd_run

        # --- disable: now and for the next boot ---
        if nv_run 90 "nestvirtctl disable" nestvirtctl disable >"$tmp/ctl" 2>&1 && [ "$(nested)" = 0 ] &&
                grep -q '^options kvm_amd nested=0' "$DROPIN" 2>/dev/null; then
                nv_pass disable-runtime-and-persistent
        else
                nv_fail disable-runtime-and-persistent "$(tr '\n' ' ' <"$tmp/ctl") nested=$(nested) drop-in: $(tr '\n' ' ' <"$DROPIN" 2>&1)"
        fi
        sed 's/^/drop-in: /' "$DROPIN" 2>&1 | nv_console

        # --- the journal holds the audit records, with their fields ---
        audit_records >"$tmp/audit"
        sed 's/^/audit: /' "$tmp/audit" | nv_console
        by_user=$(audit_records NESTVIRT_CALLER_UID=1000 NESTVIRT_OUTCOME=done | wc -l)
        by_root=$(audit_records NESTVIRT_CALLER_UID=0 NESTVIRT_OUTCOME=done \
                "NESTVIRT_REQUEST=SetNested(disabled, runtime+persistent)" | wc -l)
        [ "$by_user" -ge 1 ] && [ "$by_root" -ge 1 ]
        nv_result journal-audit-records "records: $(wc -l <"$tmp/audit") in all, $by_user done by uid 1000, $by_root persistent disable by root" $?

        # --- systemd-analyze security: the running manager agrees with the offline analysis ---
        # The unit's own sandbox, not the test's drop-in (which only shortens the idle timeout).
        online=$(systemd-analyze security --no-pager nestvirtd.service 2>&1 | score)
        offline=$(systemd-analyze security --no-pager --offline=yes /usr/lib/systemd/system/nestvirtd.service 2>&1 | score)
        host=$(cat "$T/host-offline-score" 2>/dev/null)
        nv_note "exposure of nestvirtd.service: online $online, offline in the guest $offline, offline on the host $host"
        [ -n "$online" ] && [ "$online" = "$offline" ]
        nv_result security-online-matches-offline "online $online, offline $offline" $?
        [ -n "$online" ] && [ "$online" = "$host" ]
        nv_result security-guest-matches-host "online in the guest $online, offline on the host $host" $?
}

# The package's postinst (apt-get install in full.sh, nothing else) enabled nestvirt-enforce.service
# and nestvirtd.service, whose only [Install] key is the alias bus activation asks systemd for.
package_enabled_units() {
        local status enforce daemon alias link
        status=$(pkg_status)
        enforce=$(systemctl is-enabled nestvirt-enforce.service 2>&1)
        daemon=$(systemctl is-enabled nestvirtd.service 2>&1)
        alias=$(unit dbus-org.nestvirt.NestVirt1.service Id)
        link=$(readlink /etc/systemd/system/dbus-org.nestvirt.NestVirt1.service)
        nv_note "package: $status; nestvirt-enforce.service $enforce, nestvirtd.service $daemon, dbus-org.nestvirt.NestVirt1.service is $alias ($link)"
        case $status in "install ok installed "*) ;; *) false ;; esac &&
                [ "$enforce" = enabled ] && [ "$daemon" = enabled ] && [ "$alias" = nestvirtd.service ] &&
                [ "${link##*/}" = nestvirtd.service ]
        nv_result package-enabled-units \
                "package '$status', nestvirt-enforce.service $enforce, nestvirtd.service $daemon, alias resolves to '$alias' ($link)" $?
}

# The unit as installed (PrivateDevices=yes: /dev/kvm is not in the daemon's /dev) must still
# see the VMs of other users: a VM held by $NVUSER (as libvirt runs its VMs as libvirt-qemu) is
# named by `nestvirtctl vms` and ListVMs, and blocks `nestvirtctl disable`, which leaves kvm_amd,
# its value and its references, and the drop-in as they were.
sandbox_sees_vms() {
        local runner hold_pid refs before dropin_before rc
        # A folder the VM's user may write its ready file to.
        chmod 0711 "$tmp"
        mkdir -p "$tmp/hold"
        chown "$NVUSER" "$tmp/hold"
        runuser -u "$NVUSER" -g kvm -- "$T/kvm-hold" "$tmp/hold/ready" >"$tmp/hold.out" 2>&1 &
        runner=$!
        if ! nv_wait_for 30 test -s "$tmp/hold/ready"; then
                for c in sandbox-vms-names-vm sandbox-listvms-reports-vm sandbox-disable-refused \
                        sandbox-disable-module-untouched; do
                        nv_fail "$c" "kvm-hold did not start as $NVUSER: $(tr '\n' ' ' <"$tmp/hold.out")"
                done
                return
        fi
        hold_pid=$(cat "$tmp/hold/ready")
        refs=$(nv_refcnt kvm_amd)
        before=$(nested)
        dropin_before=$(cksum "$DROPIN" 2>&1)
        nv_note "kvm-hold (pid $hold_pid, user $NVUSER) holds a VM; kvm_amd refcnt=$refs nested=$before"

        nv_run 60 "nestvirtctl vms" nestvirtctl vms >"$tmp/vms" 2>&1
        sed 's/^/vms: /' "$tmp/vms" | nv_console
        # A KVM user without a manager: its pid is its id.
        grep -Eq "^-? *other +$hold_pid +yes" "$tmp/vms"
        nv_result sandbox-vms-names-vm "nestvirtctl vms does not list pid $hold_pid as a running VM of manager other: $(tr '\n' ' ' <"$tmp/vms")" $?

        nv_run 60 "busctl call ListVMs" busctl --json=short call org.nestvirt.NestVirt1 /org/nestvirt/NestVirt1 \
                org.nestvirt.NestVirt1 ListVMs >"$tmp/listvms" 2>&1
        nv_note "ListVMs: $(cat "$tmp/listvms")"
        grep -Eq "\[$hold_pid,1000,\"kvm-hold\"" "$tmp/listvms" && grep -q '\],0\]' "$tmp/listvms"
        nv_result sandbox-listvms-reports-vm "ListVMs lacks (pid $hold_pid, uid 1000, kvm-hold) or counts uninspected processes: $(cat "$tmp/listvms")" $?

        nv_run 90 "nestvirtctl disable (VM held)" nestvirtctl disable >"$tmp/ctl" 2>&1
        rc=$?
        nv_note "disable while held: exit $rc: $(tr '\n' ' ' <"$tmp/ctl")"
        # nestvirtctl's exit code 4: "VMs hold the module".
        [ $rc = 4 ] && grep -q kvm-hold "$tmp/ctl" && grep -q "$hold_pid" "$tmp/ctl"
        nv_result sandbox-disable-refused "nestvirtctl disable: exit $rc, want 4 naming kvm-hold ($hold_pid): $(tr '\n' ' ' <"$tmp/ctl")" $?
        nv_is_loaded kvm_amd && [ "$(nested)" = "$before" ] && [ "$(nv_refcnt kvm_amd)" = "$refs" ] &&
                [ "$(cksum "$DROPIN" 2>&1)" = "$dropin_before" ] && kill -0 "$hold_pid" 2>/dev/null
        nv_result sandbox-disable-module-untouched \
                "nested $before -> $(nested), refcnt $refs -> $(nv_refcnt kvm_amd), drop-in '$dropin_before' -> '$(cksum "$DROPIN" 2>&1)'" $?

        kill "$hold_pid" 2>/dev/null
        nv_wait_for 30 nv_exited "$hold_pid" || nv_note "kvm-hold (pid $hold_pid) still alive 30 s after SIGTERM"
        nv_wait_for 30 nv_exited "$runner" && wait "$runner" 2>/dev/null
        nv_wait_for 30 test "$(nv_refcnt kvm_amd)" = 0 || nv_note "kvm_amd refcnt still $(nv_refcnt kvm_amd)"
}

# A libvirt VM of type kvm, through the installed unit's sandbox and libvirt's own socket:
# libvirtd starts after nestvirtd (which waits for the socket), `nestvirtctl vm expose` changes
# the stored XML by one feature, the started VM runs with svm, a disable is refused because the
# VM requires nesting, and `vm hide` gives the original XML back.
LV_XML="<domain type='kvm'><name>nv-l2</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<cpu mode='custom' match='exact'><model fallback='allow'>qemu64</model></cpu>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>"

libvirt_kvm_domain() {
        local rc end
        nestvirtctl status >/dev/null 2>&1 # nestvirtd runs and waits for libvirt
        nv_run 60 "libvirtd --daemon" libvirtd --daemon >"$tmp/libvirtd.out" 2>&1
        if ! nv_wait_for 60 virsh -q -c qemu:///system version; then
                for c in libvirt-kvm-expose libvirt-kvm-running-exposed libvirt-kvm-disable-refused \
                        libvirt-kvm-hide-restores; do
                        nv_fail "$c" "libvirtd did not answer within 60 s: $(tr '\n' ' ' <"$tmp/libvirtd.out")"
                done
                return
        fi
        echo "$LV_XML" >"$tmp/nv-l2.xml"
        # The QEMU driver answers only once it has probed QEMU, which takes a while under
        # emulation: a define before then fails, and is tried again.
        end=$(($(date +%s) + 120))
        until nv_run 60 "virsh define" virsh -q define "$tmp/nv-l2.xml" >"$tmp/lv-define" 2>&1; do
                if [ "$(date +%s)" -ge "$end" ]; then
                        nv_note "virsh define failed for 120 s: $(tr '\n' ' ' <"$tmp/lv-define")"
                        break
                fi
                sleep 2
        done
        virsh -q dumpxml --inactive nv-l2 >"$tmp/lv-before" 2>&1

        # nestvirtd learns of the domain from libvirt's event, within the bound.
        nv_wait_for 30 sh -c 'nestvirtctl vm show nv-l2 >/dev/null 2>&1'
        nv_run 90 "nestvirtctl vm expose nv-l2" nestvirtctl vm expose nv-l2 >"$tmp/lv-expose" 2>&1
        rc=$?
        virsh -q dumpxml --inactive nv-l2 >"$tmp/lv-after" 2>&1
        [ $rc = 0 ] && [ "$(grep -c "<feature policy='require' name='svm'/>" "$tmp/lv-after")" = 1 ] &&
                [ "$(grep -v "<feature policy='require' name='svm'/>" "$tmp/lv-after")" = "$(cat "$tmp/lv-before")" ]
        nv_result libvirt-kvm-expose "vm expose: exit $rc: $(tr '\n' ' ' <"$tmp/lv-expose"); XML diff: $(diff "$tmp/lv-before" "$tmp/lv-after" | tr '\n' ' ')" $?

        nv_run 120 "virsh start nv-l2" virsh -q start nv-l2 >"$tmp/lv-start" 2>&1
        nv_wait_for 30 sh -c 'nestvirtctl --json=short vm show nv-l2 | grep -q "\"Running\":true"'
        nestvirtctl --json=short vm show nv-l2 >"$tmp/lv-show" 2>&1
        nv_note "running nv-l2: $(cat "$tmp/lv-show")"
        grep -q '"Running":true' "$tmp/lv-show" && grep -q '"ExposedNow":"exposed"' "$tmp/lv-show" &&
                grep -q '"UsesKVM":true' "$tmp/lv-show"
        nv_result libvirt-kvm-running-exposed "start: $(tr '\n' ' ' <"$tmp/lv-start"); vm show: $(cat "$tmp/lv-show")" $?

        nv_run 90 "nestvirtctl disable (nv-l2 requires svm)" nestvirtctl disable >"$tmp/lv-disable" 2>&1
        rc=$?
        # nestvirtctl's exit code 10: VMs require nesting.
        [ $rc = 10 ] && grep -q nv-l2 "$tmp/lv-disable" && [ "$(nested)" = 1 ]
        nv_result libvirt-kvm-disable-refused "disable: exit $rc, want 10 naming nv-l2: $(tr '\n' ' ' <"$tmp/lv-disable"), nested=$(nested)" $?

        nv_run 60 "virsh destroy nv-l2" virsh -q destroy nv-l2 >/dev/null 2>&1
        nv_run 90 "nestvirtctl vm hide nv-l2" nestvirtctl vm hide nv-l2 >"$tmp/lv-hide" 2>&1
        rc=$?
        virsh -q dumpxml --inactive nv-l2 >"$tmp/lv-hidden" 2>&1
        [ $rc = 0 ] && cmp -s "$tmp/lv-before" "$tmp/lv-hidden"
        nv_result libvirt-kvm-hide-restores "vm hide: exit $rc: $(tr '\n' ' ' <"$tmp/lv-hide"); XML diff: $(diff "$tmp/lv-before" "$tmp/lv-hidden" | tr '\n' ' ')" $?

        nv_run 60 "virsh undefine nv-l2" virsh -q undefine nv-l2 >/dev/null 2>&1
        kill "$(cat /run/libvirtd.pid 2>/dev/null)" 2>/dev/null
}

# Proxmox VE's VM 200 (a config the image holds) exposed through pvesh: nestvirtd runs it with
# systemd-run, outside its own sandbox (which keeps /etc/pve read-only); the stand-in logs the
# call and rewrites the cpu line. Hidden again afterwards.
pve_through_systemd_run() {
        local rc
        nv_run 90 "nestvirtctl vm expose pve-l2" nestvirtctl vm expose pve-l2 >"$tmp/pve-expose" 2>&1
        rc=$?
        nv_note "pvesh calls: $(tr '\n' ';' </run/nestvirt-test/pvesh.log 2>&1)"
        [ $rc = 0 ] && grep -qx 'cpu: x86-64-v2-AES,flags=+nested-virt' /etc/pve/qemu-server/200.conf &&
                grep -q '^set /nodes/nestvirt-test/qemu/200/config --cpu x86-64-v2-AES,flags=+nested-virt --digest ' \
                        /run/nestvirt-test/pvesh.log &&
                journalctl -b --no-pager -o cat 2>/dev/null | grep -q 'pvesh for nestvirtd'
        nv_result pve-expose-through-systemd-run "vm expose: exit $rc: $(tr '\n' ' ' <"$tmp/pve-expose"); config: $(tr '\n' ' ' </etc/pve/qemu-server/200.conf)" $?
        nv_run 90 "nestvirtctl vm hide pve-l2" nestvirtctl vm hide pve-l2 >/dev/null 2>&1 ||
                nv_note "could not hide pve-l2 again"
}

# `nestvirtctl monitor` subscribes, so the daemon outlives its idle timeout (5 s here) while it
# runs, and a reload made behind the daemon's back (modprobe by hand) reaches the monitor.
monitor_sees_external_reload() {
        local mon inv
        nestvirtctl monitor >"$tmp/monitor" 2>&1 &
        mon=$!
        if ! nv_wait_for 60 grep -q "Watching nestvirtd for changes" "$tmp/monitor"; then
                nv_fail monitor-outlives-idle-timeout "nestvirtctl monitor did not start: $(tr '\n' ' ' <"$tmp/monitor")"
                nv_fail monitor-sees-external-reload "not run"
                kill "$mon" 2>/dev/null
                return
        fi
        inv=$(unit nestvirtd.service InvocationID)
        # Four idle timeouts with nothing but the subscriber: the premise of the check, not a
        # synchronization.
        sleep 20
        [ "$(unit nestvirtd.service ActiveState)" = active ] && [ "$(unit nestvirtd.service InvocationID)" = "$inv" ]
        nv_result monitor-outlives-idle-timeout \
                "nestvirtd.service $(unit nestvirtd.service ActiveState), invocation $inv -> $(unit nestvirtd.service InvocationID) after 20 s with a subscriber" $?

        nv_run 60 "modprobe -r kvm_amd" modprobe -r kvm_amd &&
                nv_run 60 "modprobe kvm_amd nested=0" modprobe kvm_amd nested=0
        # The unload and the load are two events: enabled -> unknown (no module), then -> disabled.
        nv_wait_for 30 grep -Eq "Nested: (enabled|unknown) .* disabled" "$tmp/monitor"
        nv_result monitor-sees-external-reload "the monitor did not print Nested: ... -> disabled within 30 s: $(tr '\n' ' ' <"$tmp/monitor")" $?
        sed 's/^/monitor: /' "$tmp/monitor" | nv_console
        kill "$mon" 2>/dev/null
        nv_wait_for 30 nv_exited "$mon" && wait "$mon" 2>/dev/null
        # Back to nested on, so that the disable that follows is a change.
        nv_run 60 "modprobe -r kvm_amd" modprobe -r kvm_amd &&
                nv_run 60 "modprobe kvm_amd nested=1" modprobe kvm_amd nested=1 ||
                nv_note "could not load kvm_amd with nested=1 again"
}

# ---------------------------------------------------------------------------------------------
stage2() {
        if nv_is_loaded kvm_amd && [ "$(nested)" = 0 ]; then
                nv_pass reboot-module-comes-up-off
        else
                nv_fail reboot-module-comes-up-off "kvm_amd loaded: $(nv_is_loaded kvm_amd && echo yes || echo no), nested=$(nested)"
        fi
        nv_check reboot-enforce-unit-succeeded "nestvirt-enforce.service: $(unit_state nestvirt-enforce.service)" \
                unit_done_ok nestvirt-enforce.service
        next=$("$T/nv-bus" get NestedNextLoad 2>&1)
        source=$("$T/nv-bus" get NestedNextLoadSource 2>&1)
        [ "$next" = disabled ] && [ "$source" = "$DROPIN" ]
        nv_result reboot-next-load-from-dropin "NestedNextLoad=$next NestedNextLoadSource=$source" $?
        nv_note "reloads by the daemon this boot: $(audit_records NESTVIRT_REQUEST=Enforce | wc -l)"
}

# ---------------------------------------------------------------------------------------------
stage3() {
        pre=$(cat /run/nestvirt-test-precondition 2>/dev/null)
        pre_end=$(unit nestvirt-test-precondition.service ExecMainExitTimestampMonotonic)
        enf_start=$(unit nestvirt-enforce.service ExecMainStartTimestampMonotonic)
        [ "$pre" = 1 ] && [ -n "$pre_end" ] && [ -n "$enf_start" ] && [ "$pre_end" -le "$enf_start" ]
        nv_result enforce-precondition-loaded-nested-on \
                "precondition unit: $(unit_state nestvirt-test-precondition.service), nested=$pre, ended at $pre_end, enforce started at $enf_start" $?
        nv_check enforce-unit-succeeded "nestvirt-enforce.service: $(unit_state nestvirt-enforce.service)" \
                unit_done_ok nestvirt-enforce.service
        nv_check enforce-turned-nested-off "nested=$(nested), loaded: $(nv_is_loaded kvm_amd && echo yes || echo no)" \
                sh -c '[ -d /sys/module/kvm_amd ] && [ "$(cat /sys/module/kvm_amd/parameters/nested)" = 0 ]'
        audit_records NESTVIRT_REQUEST=Enforce >"$tmp/audit"
        sed 's/^/audit: /' "$tmp/audit" | nv_console
        nv_check enforce-audit-record "Enforce records this boot: $(tr '\n' ' ' <"$tmp/audit")" \
                [ "$(audit_records NESTVIRT_REQUEST=Enforce NESTVIRT_OUTCOME=done NESTVIRT_OLD=enabled NESTVIRT_NEW=disabled | wc -l)" -ge 1 ]

        # --- the package's life on a host whose KVM module is in use: upgrade, remove, purge ---
        package_upgrade
        package_remove
        package_purge
}

# An upgrade while nestvirtd runs restarts it (try-restart) and touches nothing else: kvm_amd
# stays the same instance with the same value, nestvirtd records no change, the boot unit does
# not run again, the drop-in stays byte for byte. Then a reinstall of the same package while
# nestvirtd does not run: the maintainer scripts take the upgrade path again (prerm upgrade,
# postinst configure with the installed version, hence try-restart), and nestvirtd stays inactive.
# A reinstall rather than a downgrade to the first package: it leaves the upgraded version in
# place for the removal that follows, and a downgrade runs the same scripts.
package_upgrade() {
        local deb want rc bad="" inv mod enf audits new pid exe start
        for deb in "$UPGRADE_DIR"/nestvirt_*.deb; do break; done
        want=$(dpkg-deb -f "$deb" Version 2>/dev/null)
        if [ -z "$want" ] || [ ! -f "$DROPIN" ]; then
                nv_fail package-upgrade-no-reload "not run: upgrade package '$deb' (version '$want'), drop-in: $(ls -l "$DROPIN" 2>&1)"
                return
        fi
        cp "$DROPIN" "$tmp/dropin-before"
        nv_note "upgrade from $(pkg_status) to $want ($deb); kvm_amd $(module_state); drop-in $(cksum <"$DROPIN")"

        nv_run 60 "nestvirtctl status" nestvirtctl status >/dev/null 2>&1
        start_monitor "$tmp/pkg-monitor" || bad="$bad; nestvirtctl monitor did not start: $(tr '\n' ' ' <"$tmp/pkg-monitor")"
        inv=$(unit nestvirtd.service InvocationID)
        [ "$(unit nestvirtd.service ActiveState)" = active ] ||
                bad="$bad; nestvirtd.service $(unit nestvirtd.service ActiveState) before the upgrade, not running"
        mod=$(module_state)
        enf=$(enforce_run)
        audits=$(audit_records | wc -l)

        nv_run 300 "apt-get install $deb" pkg_apt install "$deb" >"$tmp/apt-upgrade" 2>&1
        rc=$?
        sed 's/^/apt upgrade: /' "$tmp/apt-upgrade" | nv_console
        new=$(unit nestvirtd.service InvocationID)
        pid=$(unit nestvirtd.service MainPID)
        exe=$(readlink "/proc/$pid/exe" 2>&1)
        nv_note "after the upgrade: $(pkg_status); nestvirtd.service $(unit nestvirtd.service ActiveState), invocation $inv -> $new, pid $pid runs $exe"
        [ $rc = 0 ] || bad="$bad; apt-get install exit $rc: $(tail -n 5 "$tmp/apt-upgrade" | tr '\n' ' ')"
        [ "$(pkg_status)" = "install ok installed $want" ] || bad="$bad; package after the upgrade: $(pkg_status)"
        [ -n "$new" ] && [ "$new" != "$inv" ] || bad="$bad; nestvirtd.service was not restarted (invocation $inv -> $new)"
        # The restarted daemon runs the new binary, not the replaced one ("(deleted)").
        [ "$pid" = 0 ] || [ "$exe" = /usr/libexec/nestvirtd ] || bad="$bad; nestvirtd (pid $pid) runs $exe"
        package_untouched "the upgrade"
        stop_monitor
        sed 's/^/monitor: /' "$tmp/pkg-monitor" | nv_console

        nv_wait_for 60 daemon_inactive || bad="$bad; nestvirtd.service still $(unit nestvirtd.service ActiveState) 60 s after its subscriber left"
        inv=$(unit nestvirtd.service InvocationID)
        start=$(unit nestvirtd.service ExecMainStartTimestampMonotonic)
        nv_run 300 "apt-get install --reinstall $deb" pkg_apt install --reinstall "$deb" >"$tmp/apt-reinstall" 2>&1
        rc=$?
        sed 's/^/apt reinstall: /' "$tmp/apt-reinstall" | nv_console
        [ $rc = 0 ] && grep -q '1 reinstalled' "$tmp/apt-reinstall" ||
                bad="$bad; apt-get install --reinstall exit $rc: $(tail -n 5 "$tmp/apt-reinstall" | tr '\n' ' ')"
        daemon_inactive && [ "$(unit nestvirtd.service InvocationID)" = "$inv" ] &&
                [ "$(unit nestvirtd.service ExecMainStartTimestampMonotonic)" = "$start" ] ||
                bad="$bad; the reinstall started nestvirtd: $(unit_state nestvirtd.service), invocation $inv -> $(unit nestvirtd.service InvocationID)"
        package_untouched "the reinstall"
        [ -z "$bad" ]
        nv_result package-upgrade-no-reload "${bad#; }" $?
}

# package_untouched WHAT: appends to $bad what WHAT changed of kvm_amd ($mod), the boot unit's
# run ($enf), the audit records ($audits) and the drop-in ($tmp/dropin-before).
package_untouched() {
        [ "$(module_state)" = "$mod" ] || bad="$bad; $1 changed kvm_amd: $mod -> $(module_state)"
        [ "$(enforce_run)" = "$enf" ] || bad="$bad; $1 ran nestvirt-enforce.service: $enf -> $(enforce_run)"
        [ "$(audit_records | wc -l)" = "$audits" ] ||
                bad="$bad; audit records after $1: $(audit_records | tail -n +$((audits + 1)) | tr '\n' ' ')"
        cmp -s "$tmp/dropin-before" "$DROPIN" || bad="$bad; $1 changed the drop-in: $(tr '\n' ' ' <"$DROPIN" 2>&1)"
}

# A remove while nestvirtd runs (a subscriber keeps it up) stops it and removes the programs; the
# drop-in, the admin's setting, stays for the next load of the module, which is not touched.
package_remove() {
        local rc bad="" mod enf audits pid
        [ -f "$tmp/dropin-before" ] || cp "$DROPIN" "$tmp/dropin-before" 2>/dev/null
        nv_run 60 "nestvirtctl status" nestvirtctl status >/dev/null 2>&1
        start_monitor "$tmp/rm-monitor" || bad="$bad; nestvirtctl monitor did not start: $(tr '\n' ' ' <"$tmp/rm-monitor")"
        # The unit is gone after the remove (systemd then knows nothing of its last run): the
        # daemon's process itself must have ended.
        pid=$(unit nestvirtd.service MainPID)
        [ -n "$pid" ] && [ "$pid" != 0 ] || bad="$bad; nestvirtd.service not running before the remove: $(unit_state nestvirtd.service)"
        mod=$(module_state)
        enf=$(enforce_run)
        audits=$(audit_records | wc -l)
        nv_run 300 "apt-get remove nestvirt" pkg_apt remove nestvirt >"$tmp/apt-remove" 2>&1
        rc=$?
        sed 's/^/apt remove: /' "$tmp/apt-remove" | nv_console
        nv_note "after the remove: $(pkg_status); nestvirtd (pid $pid before) $(nv_exited "${pid:-0}" && echo ended || echo "still runs"); drop-in $(cksum <"$DROPIN" 2>&1)"
        [ $rc = 0 ] || bad="$bad; apt-get remove exit $rc: $(tail -n 5 "$tmp/apt-remove" | tr '\n' ' ')"
        case $(pkg_status) in "deinstall ok config-files "*) ;; *) bad="$bad; package after the remove: $(pkg_status)" ;; esac
        [ ! -e /usr/libexec/nestvirtd ] && [ ! -e /usr/bin/nestvirtctl ] ||
                bad="$bad; still there: $(ls /usr/libexec/nestvirtd /usr/bin/nestvirtctl 2>/dev/null | tr '\n' ' ')"
        daemon_inactive && nv_exited "${pid:-0}" ||
                bad="$bad; nestvirtd (pid $pid) still runs after the remove: nestvirtd.service $(unit nestvirtd.service ActiveState)"
        [ -f "$DROPIN" ] || bad="$bad; the remove deleted $DROPIN"
        package_untouched "the remove"
        stop_monitor
        [ -z "$bad" ]
        nv_result package-remove-keeps-dropin "${bad#; }" $?
}

# The purge removes the drop-in, which is byte for byte what nestvirtd wrote in boot 1, says so,
# removes the units' links, and leaves the live value alone.
package_purge() {
        local rc bad="" mod links
        mod=$(module_state)
        nv_run 300 "apt-get purge nestvirt" pkg_apt purge nestvirt >"$tmp/apt-purge" 2>&1
        rc=$?
        sed 's/^/apt purge: /' "$tmp/apt-purge" | nv_console
        links=$(find /etc/systemd/system -name nestvirt-enforce.service -o -name dbus-org.nestvirt.NestVirt1.service 2>&1)
        [ $rc = 0 ] || bad="$bad; apt-get purge exit $rc: $(tail -n 5 "$tmp/apt-purge" | tr '\n' ' ')"
        [ -z "$(pkg_status | grep -v not-installed)" ] || bad="$bad; package after the purge: $(pkg_status)"
        [ ! -e "$DROPIN" ] || bad="$bad; $DROPIN is still there: $(tr '\n' ' ' <"$DROPIN")"
        grep -qF "nestvirt: removed $DROPIN (it set KVM nested virtualization off); the live value is unchanged" \
                "$tmp/apt-purge" || bad="$bad; no message about the removed drop-in"
        [ -z "$links" ] || bad="$bad; links left: $(echo "$links" | tr '\n' ' ')"
        [ "$(module_state)" = "$mod" ] || bad="$bad; the purge changed kvm_amd: $mod -> $(module_state)"
        [ -z "$bad" ]
        nv_result package-purge "${bad#; }" $?
}

stage=$(nv_cmdline nestvirt.stage)
nv_note "full tier, boot $stage, kernel $(uname -r), $(systemctl --version | head -n 1)"
# Coldplug module loading may still be under way when multi-user.target is reached.
nv_run 90 "udevadm settle" udevadm settle --timeout=60
case $stage in
1) stage1 ;;
2) stage2 ;;
3) stage3 ;;
*) nv_fail boot-stage "unknown nestvirt.stage=$stage" ;;
esac
finish

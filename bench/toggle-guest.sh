# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=dash disable=SC2154
#
# Row 7 inside the guest: sourced by the fast tier's /init (tests/vm/guest/fast-init.sh) as
# /usr/lib/nestvirt-test/mode-toggle.sh, with its helpers (start_amd, nv_run, ...).
# kvm_amd under -cpu max; several rounds, the order of the four ways rotating per round, each
# way turning nested off and on again:
#   nestvirtd    SetNested(VALUE, runtime) from a connected sd-bus client (nv-bench-bus toggle)
#   nestvirtctl  `nestvirtctl disable|enable --runtime`, a fresh process as an administrator runs it
#   modprobe     `modprobe -r kvm_amd && modprobe kvm_amd nested=VALUE`, which also unloads and
#                loads again what kvm_amd depends on and nothing else uses (kvm.ko, ...)
#   rmmod        `rmmod kvm_amd && modprobe kvm_amd nested=VALUE`: the module work nestvirtd does
#                (kvm_amd only, kvm.ko stays), from a shell
# and after each round a SetNested(1, runtime) that changes nothing ("noop": what a call costs
# besides the module work). Each line on the results port:
#   NESTVIRT-BENCH: round=R how=HOW value=V reply_ms=.. sysfs_ms=..
# Round 0 is the warm-up (the module files in the page cache, the daemon's first change).

toggle_bench() {
        local rounds r how v out ways first deps left m
        rounds=$(nv_cmdline nestvirt.rounds)
        rounds=${rounds:-5}
        export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket
        start_amd || return
        # What `modprobe -r` takes with it, seen once (its dry run cannot tell: kvm.ko is in use
        # until kvm_amd is gone). Then every way starts from nested on and ends there.
        deps=$(/sbin/modprobe --show-depends kvm_amd | sed -n 's|^insmod .*/\([^/]*\)\.ko.*|\1|p' |
                tr - _ | grep -vx kvm_amd)
        modprobe_step -r kvm_amd
        left=""
        for m in $deps; do
                nv_is_loaded "$m" && left="$left $m"
        done
        # shellcheck disable=SC2086,SC2116 # the names on one line
        nv_note "toggle: kvm_amd depends on: $(echo $deps); still loaded after modprobe -r kvm_amd:${left:- none}"
        if ! modprobe_step kvm_amd nested=1 || ! toggle_settle 1; then
                nv_fail toggle-rounds "kvm_amd did not come back with nested=1 after modprobe -r"
                return
        fi
        nv_note "toggle: kvm_amd nested=$(nv_sysfs_nested kvm_amd), $rounds rounds after a warm-up"

        ways="nestvirtd modprobe nestvirtctl rmmod"
        for r in $(seq 0 "$rounds"); do
                for how in $ways; do
                        for v in 0 1; do
                                out=$(toggle_once "$how" "$v" 2>/tmp/toggle.err) || {
                                        nv_fail toggle-rounds "round $r, $how, nested=$v: $(tr '\n' ' ' </tmp/toggle.err)"
                                        return
                                }
                                nv_say "NESTVIRT-BENCH: round=$r how=$how value=$v $out"
                                toggle_settle "$v" || {
                                        nv_fail toggle-rounds "round $r, $how, nested=$v: nestvirtd's Nested property is '$(nv-bus get Nested)' 30 s after the change"
                                        return
                                }
                        done
                done
                # What a call costs the daemon besides the module work: nested is on already.
                out=$(toggle_once noop 1 2>/tmp/toggle.err) || {
                        nv_fail toggle-rounds "round $r, SetNested(1, runtime) with nested on: $(tr '\n' ' ' </tmp/toggle.err)"
                        return
                }
                nv_say "NESTVIRT-BENCH: round=$r how=noop value=1 $out"
                # The next round starts with the next way.
                first=${ways%% *}
                ways="${ways#* } $first"
        done
        nv_pass toggle-rounds
}

# toggle_once HOW VALUE: one timed change, bounded twice (the tool's 90 s, nv_run's 120 s). The
# tools by path: busybox's shell would run its own modprobe applet for the bare name.
toggle_once() {
        local verb
        case $1 in
        nestvirtd | noop)
                nv_run 120 "SetNested($2, runtime)" nv-bench-bus toggle kvm_amd "$2" 90
                ;;
        nestvirtctl)
                [ "$2" = 1 ] && verb=enable || verb=disable
                nv_run 120 "nestvirtctl $verb --runtime" \
                        nv-bench-bus toggle-cmd kvm_amd "$2" 90 "nestvirtctl $verb --runtime"
                ;;
        modprobe)
                nv_run 120 "modprobe -r kvm_amd && modprobe kvm_amd nested=$2" \
                        nv-bench-bus toggle-cmd kvm_amd "$2" 90 "/sbin/modprobe -r kvm_amd" "/sbin/modprobe kvm_amd nested=$2"
                ;;
        rmmod)
                nv_run 120 "rmmod kvm_amd && modprobe kvm_amd nested=$2" \
                        nv-bench-bus toggle-cmd kvm_amd "$2" 90 "/sbin/rmmod kvm_amd" "/sbin/modprobe kvm_amd nested=$2"
                ;;
        esac
}

# toggle_settle VALUE: waits (30 s at most) until nestvirtd has seen the change, whoever made it,
# and a moment more for its refresh to end, so that no way pays for the previous one's aftermath.
toggle_settle() {
        local want=disabled
        [ "$1" = 1 ] && want=enabled
        nv_wait_for 30 toggle_daemon_says "$want" || return 1
        sleep 0.5
}

toggle_daemon_says() {
        [ "$(nv-bus get Nested)" = "$1" ]
}

toggle_bench

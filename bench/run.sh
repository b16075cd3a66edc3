#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# nestvirtd beside its peers, on one private bus, as one table (docs/PERFORMANCE.md).
#
#   meson setup build && meson compile -C build
#   sudo bench/run.sh build
#
# Knobs (environment): BENCH_ROUNDS (5) rounds per row, nestvirtd and the peer interleaved, the
# one that goes first alternating; BENCH_CALLS (10000) timed GetAll calls per round;
# BENCH_MEM_CALLS (100000) calls between the two memory readings; BENCH_IDLE_SECONDS (60) the
# idle window; BENCH_IDLE_ROUNDS (BENCH_ROUNDS) idle windows; BENCH_COUNTS ("1000 5000 10000")
# and RUNS (5) for VM discovery (bench/run-vm-discovery.sh); BENCH_SKIP_DISCOVERY=1 leaves it out;
# BENCH_INV_COUNTS ("100 1000") and BENCH_INV_ROUNDS (BENCH_ROUNDS) for the inventory at scale
# (bench/run-inventory.sh, its own bus); BENCH_SKIP_INVENTORY=1 leaves it out;
# BENCH_TOGGLE_ROUNDS (BENCH_ROUNDS) for the live toggle in the kernel tier (bench/run-toggle.sh,
# a QEMU guest); BENCH_SKIP_TOGGLE=1 leaves it out.
#   quick: BENCH_ROUNDS=2 BENCH_CALLS=2000 BENCH_MEM_CALLS=20000 BENCH_IDLE_SECONDS=5 \
#          BENCH_COUNTS=1000 RUNS=3 BENCH_INV_ROUNDS=3 BENCH_TOGGLE_ROUNDS=1 bench/run.sh build
#
# The bus is tests/bus/nvtest.py serve: a private dbus-daemon with the project's policy, nestvirtd
# bus-activated from BUILD on the fixture host amd-host (NESTVIRT_ROOT plus the preload library
# that redirects libkmod, as in the bus tests). The peer is systemd-hostnamed, given the same kind
# of activation file on that bus: Exec= runs a wrapper shaped like the harness's (a /bin/sh that
# logs the pid and execs the daemon in a background child), with DBUS_SYSTEM_BUS_ADDRESS pointing
# at the private bus. Nothing here touches the real system bus or a real service; every process
# started here is ended by pid on exit.
#
# Rows: GetAll latency (p50, p99 of BENCH_CALLS calls from one sd-bus client; one more pass under
# strace counts the files each daemon opens while serving them); VmRSS and PSS
# (/proc/PID/smaps_rollup) right after activation and after BENCH_MEM_CALLS more calls; cold start
# (SIGTERM the running instance, wait until its name is gone, then time one GetAll that activates
# it, until the reply); wake-ups while idle (the third field of /proc/PID/task/*/schedstat, the
# number of times each thread was scheduled in, summed, read from outside at both ends of the
# window), without and with a subscriber; VM discovery against fuser and lsof; the inventory at
# scale; the live toggle, SetNested and nestvirtctl against modprobe -r && modprobe in one guest.
#
# systemd-hostnamed exits after 30 s without calls (DEFAULT_EXIT_USEC, not configurable), so its
# idle window is at most 25 s; nestvirtd's idle timeout is set above the window. hostnamed has no
# Subscribe(): its "subscriber" is a client with a PropertiesChanged match, which is all a
# hostnamed frontend can do.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_args "$@"
rounds=${BENCH_ROUNDS:-5}
calls=${BENCH_CALLS:-10000}
mem_calls=${BENCH_MEM_CALLS:-100000}
idle_s=${BENCH_IDLE_SECONDS:-60}
idle_rounds=${BENCH_IDLE_ROUNDS:-$rounds}
counts=${BENCH_COUNTS:-1000 5000 10000}
hostnamed=${HOSTNAMED:-/lib/systemd/systemd-hostnamed}
hostnamed_idle_cap=25

NV=org.nestvirt.NestVirt1
NV_PATH=/org/nestvirt/NestVirt1
HN=org.freedesktop.hostname1
HN_PATH=/org/freedesktop/hostname1

[ "$(id -u)" = 0 ] || { echo "$0: run as root (the project's bus policy lets only root own $NV)" >&2; exit 2; }
for tool in strace "$hostnamed" /usr/bin/python3; do
        command -v "$tool" >/dev/null || { echo "$0: $tool is missing (tools/install-deps.sh)" >&2; exit 2; }
done

say() { echo "bench: $*" >&2; }

ninja -C "$build" daemon/nestvirtd bench/nv-bench-bus bench/nv-bench-vm-discovery \
        tests/preload/libnv-preload.so >/dev/null
client="$build/bench/nv-bench-bus"

work=$(mktemp -d "${TMPDIR:-/tmp}/nv-bench-run.XXXXXX")
serve_pid=
helper_pids=()
daemon_pids=()
cleanup() {
        set +e
        for p in "${helper_pids[@]}"; do kill "$p" 2>/dev/null; done
        for p in "${daemon_pids[@]}"; do kill "$p" 2>/dev/null; done
        serve_stop
        rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# -- the private bus ----------------------------------------------------------------------------

serve_start $((idle_s + 60))
tmp=$NESTVIRT_TEST_DIR

# hostnamed on the same bus: its own bus policy, and an activation file like nestvirtd's.
cp /usr/share/dbus-1/system.d/$HN.conf "$tmp/system.d/"
cat >"$tmp/hostnamed-wrapper" <<EOF
#!/bin/sh
# Spawned by dbus-daemon to activate $HN on the benchmark's private bus.
export DBUS_SYSTEM_BUS_ADDRESS='$DBUS_SYSTEM_BUS_ADDRESS'
exec >>'$tmp/hostnamed.log' 2>&1
/bin/sh -c 'echo "start \$\$" >>"\$1"; shift; exec "\$@"' sh '$tmp/hostnamed.events' '$hostnamed' &
wait \$!
EOF
printf '[D-BUS Service]\nName=%s\nExec=/bin/sh %s\nUser=root\n' $HN "$tmp/hostnamed-wrapper" \
        >"$tmp/services/$HN.service"
busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus ReloadConfig >/dev/null
for ((t = 0; t < 100; t++)); do
        busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" --activatable list 2>/dev/null | grep -q "^$HN " && break
        sleep 0.1
done
busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" --activatable list | grep -q "^$HN " ||
        { say "the bus did not pick up $HN's activation file within 10 s"; exit 1; }

# -- helpers ------------------------------------------------------------------------------------

name_of() { [ "$1" = nv ] && echo $NV || echo $HN; }
path_of() { [ "$1" = nv ] && echo $NV_PATH || echo $HN_PATH; }
getall() { # getall nv|hn N
        "$client" getall "$(name_of "$1")" "$(path_of "$1")" "$(name_of "$1")" "$2"
}
kb() { # kb PID FILE FIELD
        awk -v f="$3:" '$1 == f { print $2; exit }' "/proc/$1/$2"
}
wakeups() { # wakeups PID: times its threads were scheduled in so far
        cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ n += $3 } END { print n + 0 }'
}
order() { # order ROUND: which daemon goes first
        if (($1 % 2)); then echo "hn nv"; else echo "nv hn"; fi
}

# Stops the running instance of $1 (nv or hn); the next call activates a fresh one.
stop_daemon() { stop_name "$(name_of "$1")"; }

declare -A P50 P99 COLD RSS0 PSS0 RSS1 PSS1 IDLE IDLE_SUB
for d in nv hn; do
        P50[$d]="" P99[$d]="" COLD[$d]="" RSS0[$d]="" PSS0[$d]="" RSS1[$d]="" PSS1[$d]=""
        IDLE[$d]="" IDLE_SUB[$d]=""
done
declare -A PID

# -- rounds: cold start, memory after start, GetAll, memory after BENCH_MEM_CALLS ---------------

for ((r = 1; r <= rounds; r++)); do
        say "round $r/$rounds"
        for d in $(order "$r"); do
                stop_daemon "$d"
                line=$("$client" coldstart "$(name_of "$d")" "$(path_of "$d")" "$(name_of "$d")")
                COLD[$d]+=" $(field ms "$line")"
                PID[$d]=$(field pid "$line")
                daemon_pids+=("${PID[$d]}")
        done
        sleep 1 # both settle after their start
        for d in nv hn; do
                RSS0[$d]+=" $(kb "${PID[$d]}" status VmRSS)"
                PSS0[$d]+=" $(kb "${PID[$d]}" smaps_rollup Pss)"
        done
        for d in $(order "$r"); do
                line=$(getall "$d" "$calls")
                P50[$d]+=" $(field p50_us "$line")"
                P99[$d]+=" $(field p99_us "$line")"
        done
        for d in $(order "$r"); do
                rest=$((mem_calls - calls - 100))
                ((rest > 0)) && getall "$d" "$rest" >/dev/null
        done
        sleep 1
        for d in nv hn; do
                RSS1[$d]+=" $(kb "${PID[$d]}" status VmRSS)"
                PSS1[$d]+=" $(kb "${PID[$d]}" smaps_rollup Pss)"
                [ "$("$client" pid "$(name_of "$d")")" = "${PID[$d]}" ] ||
                        { say "$(name_of "$d") was restarted during round $r"; exit 1; }
        done
done

# -- files opened while serving GetAll (strace, once, not timed) --------------------------------

declare -A OPENS
for d in nv hn; do
        getall "$d" 1 >/dev/null # running
        pid=$("$client" pid "$(name_of "$d")")
        strace -f -qq -e trace=openat,open -o "$work/strace.$d" -p "$pid" 2>"$work/strace.$d.err" &
        spid=$!
        helper_pids+=("$spid")
        # strace is attached once the tracee's TracerPid names it.
        for ((t = 0; t < 100; t++)); do
                [ "$(awk '$1 == "TracerPid:" { print $2 }' /proc/"$pid"/status)" = "$spid" ] && break
                sleep 0.1
        done
        [ "$(awk '$1 == "TracerPid:" { print $2 }' /proc/"$pid"/status)" = "$spid" ] ||
                { say "strace did not attach to $(name_of "$d") (pid $pid) within 10 s"; cat "$work/strace.$d.err" >&2; exit 1; }
        getall "$d" "$calls" >/dev/null
        kill -INT "$spid"
        for ((t = 0; t < 100; t++)); do
                kill -0 "$spid" 2>/dev/null || break
                sleep 0.1
        done
        kill -0 "$spid" 2>/dev/null && { say "strace (pid $spid) did not stop within 10 s"; exit 1; }
        wait "$spid" || true
        OPENS[$d]=$(grep -cE '\bopen(at)?\(' "$work/strace.$d" || true)
        if [ "${OPENS[$d]}" != 0 ]; then
                say "$(name_of "$d") opened ${OPENS[$d]} files while serving $calls GetAll calls, most often:"
                grep -oE '\bopen(at)?\([^,]*, "[^"]*"' "$work/strace.$d" | sed 's/.*"\(.*\)"/\1/' |
                        sort | uniq -c | sort -rn | head -8 >&2
        fi
done

# -- idle wake-ups, without and with a subscriber ------------------------------------------------

hn_window=$((idle_s < hostnamed_idle_cap ? idle_s : hostnamed_idle_cap))
# idle_window KEY: one window for both daemons at once (hostnamed's ends earlier, see above).
idle_window() {
        local key=$1 d hn0 nv0 hn1 nv1
        for d in nv hn; do
                getall "$d" 1 >/dev/null # both running, both idle timers just restarted
                PID[$d]=$("$client" pid "$(name_of "$d")")
        done
        if [ "$key" = sub ]; then
                for d in nv hn; do
                        mkfifo "$work/sub.$d.in"
                        method=
                        [ "$d" = nv ] && method=$NV.Subscribe
                        "$client" subscribe "$(name_of "$d")" $method <"$work/sub.$d.in" >"$work/sub.$d.out" &
                        helper_pids+=($!)
                        exec {fd}>"$work/sub.$d.in"
                        eval "sub_fd_$d=$fd"
                        for ((t = 0; t < 100; t++)); do
                                grep -q SUBSCRIBED "$work/sub.$d.out" && break
                                sleep 0.1
                        done
                        grep -q SUBSCRIBED "$work/sub.$d.out" ||
                                { say "the subscriber of $(name_of "$d") did not subscribe within 10 s"; exit 1; }
                done
        fi
        # What the calls caused is over once neither daemon ran for a second (sd_bus_track's
        # AddMatch for a subscriber is answered after the reply; on a loaded machine, later).
        for ((t = 0; t < 10; t++)); do
                nv0=$(wakeups "${PID[nv]}") hn0=$(wakeups "${PID[hn]}")
                sleep 1
                [ "$nv0" = "$(wakeups "${PID[nv]}")" ] && [ "$hn0" = "$(wakeups "${PID[hn]}")" ] && break
        done
        nv0=$(wakeups "${PID[nv]}")
        hn0=$(wakeups "${PID[hn]}")
        sleep "$hn_window"
        hn1=$(wakeups "${PID[hn]}")
        kill -0 "${PID[hn]}" 2>/dev/null || hn1=exited
        sleep $((idle_s - hn_window))
        nv1=$(wakeups "${PID[nv]}")
        kill -0 "${PID[nv]}" 2>/dev/null || nv1=exited
        [ "$nv1" = exited ] && { say "nestvirtd exited during the idle window"; exit 1; }
        [ "$hn1" = exited ] && { say "hostnamed exited during its idle window"; exit 1; }
        if [ "$key" = sub ]; then
                IDLE_SUB[nv]+=" $((nv1 - nv0))"
                IDLE_SUB[hn]+=" $((hn1 - hn0))"
                for d in nv hn; do
                        eval "fd=\$sub_fd_$d"
                        exec {fd}>&-
                        rm -f "$work/sub.$d.in" "$work/sub.$d.out"
                done
        else
                IDLE[nv]+=" $((nv1 - nv0))"
                IDLE[hn]+=" $((hn1 - hn0))"
        fi
}
for ((r = 1; r <= idle_rounds; r++)); do
        say "idle round $r/$idle_rounds (2 x ${idle_s} s)"
        idle_window none
        idle_window sub
done

# -- VM discovery -----------------------------------------------------------------------------

disc=""
if [ "${BENCH_SKIP_DISCOVERY:-0}" != 1 ]; then
        say "VM discovery over $counts processes"
        disc=$(BENCH_COUNTS="$counts" "$src/bench/run-vm-discovery.sh" "$build")
        echo "$disc" >&2
fi

# -- the inventory at scale (its own buses, after this one's rows) -------------------------------

inv=""
if [ "${BENCH_SKIP_INVENTORY:-0}" != 1 ]; then
        say "inventory at scale over ${BENCH_INV_COUNTS:-100 1000} VMs"
        inv=$(BENCH_INV_ROUNDS="${BENCH_INV_ROUNDS:-$rounds}" "$src/bench/run-inventory.sh" "$build" |
                grep '^inventory ')
        echo "$inv" >&2
fi

# -- the live toggle in the kernel tier (a QEMU guest, after the rest) ---------------------------

toggle="" toggle_why=""
if [ "${BENCH_SKIP_TOGGLE:-0}" != 1 ]; then
        say "live toggle in the kernel tier (${BENCH_TOGGLE_ROUNDS:-$rounds} rounds)"
        if toggle=$(BENCH_TOGGLE_ROUNDS="${BENCH_TOGGLE_ROUNDS:-$rounds}" "$src/bench/run-toggle.sh" "$build" \
                2>"$work/toggle.err"); then
                cat "$work/toggle.err" >&2
                toggle=$(grep '^toggle ' <<<"$toggle")
                echo "$toggle" >&2
        else
                # The kernel tier could not run here: the row says why instead of disappearing.
                cat "$work/toggle.err" >&2
                toggle=""
                toggle_why=$(grep -v '^ *$' "$work/toggle.err" | tail -1 || true)
                toggle_why=${toggle_why:-bench/run-toggle.sh failed without a message}
        fi
fi

# -- the table --------------------------------------------------------------------------------

row() { # row NAME NESTVIRTD PEER [RATIO]
        printf '| %-46s | %12s | %12s | %8s |\n' "$1" "$2" "$3" "${4:-$(ratio "$2" "$3")}"
}
m() { median ${1}; }
growth() { # growth "A..." "B...": medians of B - A, per round
        local -a a b
        read -ra a <<<"$1"
        read -ra b <<<"$2"
        local out=()
        for i in "${!a[@]}"; do out+=($((b[i] - a[i]))); done
        median "${out[@]}"
}

echo
echo "nestvirtd vs systemd-hostnamed on one private bus; medians of $rounds rounds"
echo "($(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
printf '| %-46s | %12s | %12s | %8s |\n' row nestvirtd hostnamed ratio
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..48})" "$(printf -- '-%.0s' {1..14})" \
        "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..10})"
row "1. GetAll p50, us ($calls calls)" "$(m "${P50[nv]}")" "$(m "${P50[hn]}")"
row "1. GetAll p99, us" "$(m "${P99[nv]}")" "$(m "${P99[hn]}")"
row "1. files opened during $calls GetAll (strace)" "${OPENS[nv]}" "${OPENS[hn]}" "-"
row "2. VmRSS after start, kB" "$(m "${RSS0[nv]}")" "$(m "${RSS0[hn]}")"
row "2. PSS after start, kB" "$(m "${PSS0[nv]}")" "$(m "${PSS0[hn]}")"
row "2. VmRSS after $mem_calls calls, kB" "$(m "${RSS1[nv]}")" "$(m "${RSS1[hn]}")"
row "2. PSS after $mem_calls calls, kB" "$(m "${PSS1[nv]}")" "$(m "${PSS1[hn]}")"
row "2. VmRSS growth, kB" "$(growth "${RSS0[nv]}" "${RSS1[nv]}")" "$(growth "${RSS0[hn]}" "${RSS1[hn]}")" "-"
row "2. PSS growth, kB" "$(growth "${PSS0[nv]}" "${PSS1[nv]}")" "$(growth "${PSS0[hn]}" "${PSS1[hn]}")" "-"
row "3. cold start to first reply, ms" "$(m "${COLD[nv]}")" "$(m "${COLD[hn]}")"
row "4. wake-ups idle (nv ${idle_s} s, hn ${hn_window} s)" "$(m "${IDLE[nv]}")" "$(m "${IDLE[hn]}")" "-"
row "4. wake-ups idle, subscribed" "$(m "${IDLE_SUB[nv]}")" "$(m "${IDLE_SUB[hn]}")" "-"
if [ -n "$disc" ]; then
        # run-vm-discovery.sh: "PROCS scan, exec MEDIAN ..." and "PROCS fuser MEDIAN ...".
        while read -r n; do
                s=$(awk -v n="$n" '$1 == n && $2 == "scan," && $3 == "exec" { print $4 }' <<<"$disc")
                f=$(awk -v n="$n" '$1 == n && $2 == "fuser" { print $3 }' <<<"$disc")
                l=$(awk -v n="$n" '$1 == n && $2 == "lsof" { print $4 }' <<<"$disc")
                row "5. VM discovery, $n procs, ms (vs fuser)" "$s" "$f"
                row "5. VM discovery, $n procs, ms (vs lsof -t)" "$s" "$l"
        done < <(awk '$2 == "fuser" { print $1 }' <<<"$disc")
fi
if [ -n "$inv" ]; then
        # run-inventory.sh: "inventory N=.. cold_ms=.. listvms_ms=.. gmo_p50_ms=.. ... edit_ms=..";
        # the peer column is the smallest count, the ratio the growth factor.
        first=$(head -1 <<<"$inv")
        while read -r l; do
                [ "$l" = "$first" ] && continue
                a=$(field N "$first")
                b=$(field N "$l")
                row "6. ListVMs (full refresh), ms, $b vs $a VMs" "$(field listvms_ms "$l")" "$(field listvms_ms "$first")"
                row "6. GetManagedObjects p50, ms, $b vs $a" "$(field gmo_p50_ms "$l")" "$(field gmo_p50_ms "$first")"
                row "6. GetManagedObjects p99, ms, $b vs $a" "$(field gmo_p99_ms "$l")" "$(field gmo_p99_ms "$first")"
                row "6. one config edit to signal, ms, $b vs $a" "$(field edit_ms "$l")" "$(field edit_ms "$first")"
        done <<<"$inv"
fi
if [ -n "$toggle" ]; then
        # run-toggle.sh: "toggle how=nestvirtd|nestvirtctl|modprobe|rmmod n=.. reply_ms=.. sysfs_ms=..".
        t() { field "$2" "$(grep " how=$1 " <<<"$toggle")"; }
        row "7. toggle, SetNested reply, ms (vs modprobe)" "$(t nestvirtd reply_ms)" "$(t modprobe reply_ms)"
        row "7. toggle, to sysfs value, ms (vs modprobe)" "$(t nestvirtd sysfs_ms)" "$(t modprobe sysfs_ms)"
        row "7. toggle, to sysfs value, ms (vs rmmod)" "$(t nestvirtd sysfs_ms)" "$(t rmmod sysfs_ms)"
        row "7. toggle, nestvirtctl, ms (vs modprobe)" "$(t nestvirtctl sysfs_ms)" "$(t modprobe sysfs_ms)"
elif [ "${BENCH_SKIP_TOGGLE:-0}" != 1 ]; then
        row "7. live toggle (kernel tier): not measured" - - -
fi
echo
[ -z "$toggle_why" ] || echo "Row 7 not measured: $toggle_why"
echo "Per round: GetAll p50 nv [${P50[nv]# }] hn [${P50[hn]# }]; cold ms nv [${COLD[nv]# }] hn [${COLD[hn]# }]"

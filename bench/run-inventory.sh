#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The VM inventory at scale: N Proxmox VE VM configs, all of them running, on one private bus.
#
#   meson setup build && meson compile -C build
#   sudo bench/run-inventory.sh build     # BENCH_INV_COUNTS="100 1000" BENCH_INV_ROUNDS=7
#
# Knobs (environment): BENCH_INV_COUNTS ("100 1000") the numbers of VMs; BENCH_INV_ROUNDS (7)
# rounds per count; BENCH_INV_CALLS (50) timed GetManagedObjects calls per round, and 5 timed
# ListVMs calls per round; BENCH_INV_TIMEOUT (10) seconds to wait for any one signal.
#
# For each N: tests/bus/nvtest.py serve on the fixture host amd-host (nestvirtd bus-activated from
# BUILD), made a Proxmox VE node (etc/pve/local, qemu-server 9.0.30 in the dpkg status) with
# VMIDs 100 ... 99+N whose configs cycle through seven cpu: lines. Every VM runs: a real process
# (sleep) per VM, its pid in var/run/qemu-server/VMID.pid, and in the fixture's /proc (the daemon
# reads /proc under NESTVIRT_ROOT, as in the bus tests) a KVM holder for that pid with comm "kvm",
# fd/0 linked to /dev/kvm and a command line "/usr/bin/kvm -id VMID -name vmVMID,... -cpu ...".
# The pids are real, so the daemon's pidfds on them work. Then, per round:
#   cold start: SIGTERM nestvirtd, wait until its name is gone, time one GetAll that activates
#     it, until the reply (the first snapshot, read from scratch);
#   ListVMs: a call that refreshes everything before it replies (median of 5 calls);
#   GetManagedObjects: p50 and p99 of BENCH_INV_CALLS calls (the reply must list N objects);
#   modprobe.d edit: a drop-in that sorts last toggles "options kvm_amd nested=0|1", written to a
#     temporary name and renamed into place, until PropertiesChanged on /org/nestvirt/NestVirt1
#     reaches a client with a match for it;
#   one config edit: one VM's VMID.conf with its cpu: line changed, written and renamed into
#     place the same way, until PropertiesChanged on that VM's object reaches the client.
# Medians over the rounds, then one table with the growth factor from the first count to the
# last. Every wait has a bound; every process started here is ended by pid on exit.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_args "$@"
counts=${BENCH_INV_COUNTS:-100 1000}
rounds=${BENCH_INV_ROUNDS:-7}
calls=${BENCH_INV_CALLS:-50}
timeout=${BENCH_INV_TIMEOUT:-10}

NV=org.nestvirt.NestVirt1
NV_PATH=/org/nestvirt/NestVirt1

[ "$(id -u)" = 0 ] || { echo "$0: run as root (the project's bus policy lets only root own $NV)" >&2; exit 2; }
command -v /usr/bin/python3 >/dev/null || { echo "$0: /usr/bin/python3 is missing" >&2; exit 2; }

say() { echo "bench: $*" >&2; }

ninja -C "$build" daemon/nestvirtd bench/nv-bench-bus tests/preload/libnv-preload.so >/dev/null
client="$build/bench/nv-bench-bus"

work=$(mktemp -d "${TMPDIR:-/tmp}/nv-bench-inv.XXXXXX")
serve_pid=
vm_pids=()
stop_vms() {
        if [ ${#vm_pids[@]} -gt 0 ]; then
                kill "${vm_pids[@]}" 2>/dev/null || true
                wait "${vm_pids[@]}" 2>/dev/null || true
        fi
        vm_pids=()
}
cleanup() {
        set +e
        stop_vms
        serve_stop
        rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }

# The configs cycle through these (qm.conf(5) cpu: values; some expose svm, some do not).
cpus=("host" "kvm64" "x86-64-v2-AES" "EPYC,flags=+nested-virt;+aes" "EPYC,hidden=1" "max"
        "qemu64,flags=+aes")
# What the running process shows for each (qemu-server's -cpu for that setting, roughly).
qemu_cpus=("host,+kvm_pv_eoi,+kvm_pv_unhalt" "kvm64,+lahf_lm,+sep" "x86-64-v2-AES,enforce"
        "EPYC,+svm,+aes" "EPYC,hv_vendor_id=proxmox" "max,+kvm_pv_eoi" "qemu64,+aes")

pve_conf() { # pve_conf VMID CPU
        printf 'boot: order=scsi0\ncores: 2\nmemory: 2048\nname: vm%s\nostype: l26\n' "$1"
        printf 'scsi0: local-lvm:vm-%s-disk-0,size=32G\ncpu: %s\n' "$1" "$2"
}

stop_daemon() { stop_name $NV; }

# run_count N: one bus, N running VMs, the rounds; prints one "inventory N=..." line.
run_count() {
        local n=$1 root vmid i pid cold=() lv=() p50=() p99=() mod=() edit=() line objs
        serve_start 3600
        root=$NESTVIRT_ROOT

        # The Proxmox VE node and its N VMs, all running, before the daemon first starts.
        mkdir -p "$root/etc/pve/qemu-server" "$root/etc/pve/nodes/bench" "$root/var/run/qemu-server" \
                "$root/var/lib/dpkg" "$root/etc/modprobe.d"
        ln -sfn nodes/bench "$root/etc/pve/local"
        printf 'Package: qemu-server\nStatus: install ok installed\nArchitecture: amd64\nVersion: 9.0.30\n\n' \
                >"$root/var/lib/dpkg/status"
        rm -f "$root/etc/modprobe.d/zz-nv-bench.conf"
        printf '1\n' >"$root/sys/module/kvm_amd/refcnt" 2>/dev/null || true
        for ((i = 0; i < n; i++)); do
                vmid=$((100 + i))
                pve_conf $vmid "${cpus[i % ${#cpus[@]}]}" >"$root/etc/pve/qemu-server/$vmid.conf"
                # Not holding serve's stdin (fd 9) open: its end of file stops the bus.
                sleep 86400 </dev/null >/dev/null 2>&1 9>&- &
                pid=$!
                vm_pids+=("$pid")
                mkdir -p "$root/proc/$pid/fd"
                ln -s /dev/kvm "$root/proc/$pid/fd/0"
                printf 'kvm\n' >"$root/proc/$pid/comm"
                printf 'Name:\tkvm\nState:\tS (sleeping)\nPid:\t%d\nUid:\t0\t0\t0\t0\n' $pid >"$root/proc/$pid/status"
                printf '/usr/bin/kvm\0-id\0%s\0-name\0vm%s,debug-threads=on\0-cpu\0%s\0' $vmid $vmid \
                        "${qemu_cpus[i % ${#qemu_cpus[@]}]}" >"$root/proc/$pid/cmdline"
                printf '%d\n' $pid >"$root/var/run/qemu-server/$vmid.pid"
        done
        # Files older than the PVE reader's two-second window for racy timestamps.
        find "$root/etc/pve/qemu-server" -name '*.conf' -exec touch -d '-1 minute' {} +

        for ((r = 1; r <= rounds; r++)); do
                say "N=$n round $r/$rounds"
                stop_daemon
                line=$("$client" coldstart $NV $NV_PATH $NV)
                cold+=("$(field ms "$line")")
                sleep 0.5 # what the start caused is over

                line=$("$client" managed $NV $NV_PATH "$calls")
                objs=$(field objects "$line")
                # The VM objects and the host's own object.
                ((objs >= n)) || { say "GetManagedObjects listed $objs objects, not $n VMs"; exit 1; }
                p50+=("$(ms "$(field p50_us "$line")")")
                p99+=("$(ms "$(field p99_us "$line")")")

                line=$("$client" call $NV $NV_PATH $NV ListVMs 5)
                lv+=("$(ms "$(field p50_us "$line")")")

                printf 'options kvm_amd nested=%d\n' $((r % 2 ? 0 : 1)) >"$work/modprobe.conf"
                line=$("$client" edit $NV $NV_PATH "$work/modprobe.conf" \
                        "$root/etc/modprobe.d/zz-nv-bench.conf" "$timeout") ||
                        { say "no PropertiesChanged for the modprobe.d edit within $timeout s"; exit 1; }
                mod+=("$(field ms "$line")")
                sleep 0.2

                # A VM of the middle; its cpu: alternates between two values that differ in meaning.
                vmid=$((100 + (n / 2 + r * 7) % n))
                pve_conf $vmid "$([ $((r % 2)) = 1 ] && echo kvm64,flags=+nested-virt || echo qemu64)" \
                        >"$work/vm.conf"
                line=$("$client" edit $NV "$NV_PATH/vm/proxmox_$vmid" "$work/vm.conf" \
                        "$root/etc/pve/qemu-server/$vmid.conf" "$timeout") ||
                        { say "no PropertiesChanged for $vmid.conf within $timeout s"; exit 1; }
                edit+=("$(field ms "$line")")
                sleep 0.2
        done
        stop_daemon
        stop_vms
        serve_stop
        echo "inventory N=$n cold_ms=$(median "${cold[@]}") listvms_ms=$(median "${lv[@]}")" \
                "gmo_p50_ms=$(median "${p50[@]}") gmo_p99_ms=$(median "${p99[@]}")" \
                "modprobe_ms=$(median "${mod[@]}") edit_ms=$(median "${edit[@]}")" \
                "edit_all_ms=$(IFS=,; echo "${edit[*]}")"
}

lines=()
for n in $counts; do
        lines+=("$(run_count "$n")")
        echo "${lines[-1]}" >&2
done

# -- the table --------------------------------------------------------------------------------

first=${lines[0]}
last=${lines[-1]}
printf '%s\n' "${lines[@]}"
echo
echo "nestvirtd inventory at scale; medians of $rounds rounds"
echo "($(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r))"
echo
header="| row |"
sep="|---|"
for l in "${lines[@]}"; do
        header+=" N=$(field N "$l") |"
        sep+="---|"
done
echo "$header growth $(field N "$first")→$(field N "$last") |"
echo "$sep---|"
row() { # row NAME KEY
        local out="| $1 |"
        for l in "${lines[@]}"; do out+=" $(field "$2" "$l") |"; done
        out+=" $(awk -v a="$(field "$2" "$first")" -v b="$(field "$2" "$last")" \
                'BEGIN { if (a + 0 == 0) print "-"; else printf "%.1f", b / a }') |"
        echo "$out"
}
row "cold start to first reply, ms" cold_ms
row "ListVMs (full refresh + reply), ms" listvms_ms
row "GetManagedObjects p50, ms" gmo_p50_ms
row "GetManagedObjects p99, ms" gmo_p99_ms
row "modprobe.d edit → PropertiesChanged, ms" modprobe_ms
row "one VM config edit → PropertiesChanged, ms" edit_ms

#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# VM discovery beside fuser and lsof on the same /proc.
#
#   meson setup /tmp/build && ninja -C /tmp/build
#   bench/run-vm-discovery.sh /tmp/build            # BENCH_COUNTS="1000 5000" RUNS=7 HOLDERS=5
#
# For each count N it starts N real sleeping processes; HOLDERS of them keep a temporary file
# open that stands for /dev/kvm (NESTVIRT_KVM_DEVICE). Then, on that /proc, it times RUNS runs
# each (after one warm-up run) of
#   - nv_vm_list_scan() inside one process ("scan, in-process"),
#   - the same scan as a fresh process per run, the way fuser and lsof run ("scan, exec"),
#   - fuser FILE (psmisc), lsof -t FILE,
# checks that the three find the same holders, and prints medians, the ratios of the fresh-process
# scan to fuser and to lsof, and each one's peak RSS. Every process it starts is killed on exit.
#
# Not the same work: fuser stat()s every fd and also looks at cwd, root, exe and mmaps; lsof
# reads far more about every process. The scan reads fd links only, and comm, status and
# cmdline of the holders. Needs psmisc and lsof (apt-get install psmisc lsof), run as root to
# see every process (otherwise all three see less, alike).
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_args "$@"
counts=${BENCH_COUNTS:-1000 5000}
runs=${RUNS:-5}
holders=${HOLDERS:-5}

for tool in fuser lsof; do
        command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install psmisc lsof)" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/nv-bench.XXXXXX")
pids=()
cleanup() {
        # Only the processes started here, by pid.
        if [ ${#pids[@]} -gt 0 ]; then
                kill "${pids[@]}" 2>/dev/null || true
                wait "${pids[@]}" 2>/dev/null || true
        fi
        pids=()
        rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The bench binary: a meson target of every build (bench/meson.build).
bench="$build/bench/nv-bench-vm-discovery"
ninja -C "$build" bench/nv-bench-vm-discovery >/dev/null

device="$work/fake-kvm"
: >"$device"
export NESTVIRT_KVM_DEVICE="$device"
unset NESTVIRT_ROOT

printf '%-7s %-22s %12s %12s %12s %10s\n' procs tool median_ms min_ms max_ms rss_kb
for n in $counts; do
        step=$((n / holders))
        for ((i = 0; i < n; i++)); do
                if ((i % step == 0 && i / step < holders)); then
                        sleep 86400 3<"$device" </dev/null >/dev/null 2>&1 &
                else
                        sleep 86400 </dev/null >/dev/null 2>&1 &
                fi
                pids+=($!)
        done
        # Every child has exec'd sleep once the last one has.
        for ((t = 0; t < 100; t++)); do
                [ "$(cat /proc/${pids[-1]}/comm 2>/dev/null)" = sleep ] && break
                sleep 0.1
        done
        all=(/proc/[0-9]*)
        total=${#all[@]}

        # The same holders for all three.
        ours=$("$bench" list | sort -n | tr '\n' ' ')
        theirs=$(fuser "$device" 2>/dev/null | tr -s ' ' '\n' | sed '/^$/d' | sort -n | tr '\n' ' ' || true)
        lsofs=$(lsof -t "$device" 2>/dev/null | sort -n | tr '\n' ' ' || true)
        if [ "$ours" != "$theirs" ] || [ "$ours" != "$lsofs" ]; then
                echo "holders differ: scan [$ours] fuser [$theirs] lsof [$lsofs]" >&2
                exit 1
        fi

        in_proc=$("$bench" scan "$runs")
        scan=$("$bench" exec "$runs" "$bench" list)
        fuser_line=$("$bench" exec "$runs" fuser "$device")
        lsof_line=$("$bench" exec "$runs" lsof -t "$device")

        for pair in "scan, in-process|$in_proc" "scan, exec|$scan" "fuser|$fuser_line" "lsof -t|$lsof_line"; do
                l=${pair#*|}
                printf '%-7s %-22s %12s %12s %12s %10s\n' "$total" "${pair%%|*}" "$(field median_ms "$l")" \
                        "$(field min_ms "$l")" "$(field max_ms "$l")" "$(field max_rss_kb "$l")"
        done
        awk -v s="$(field median_ms "$scan")" -v f="$(field median_ms "$fuser_line")" \
                -v l="$(field median_ms "$lsof_line")" -v n="$total" -v h="$(wc -w <<<"$ours")" \
                -v u="$(field uninspected "$in_proc")" \
                'BEGIN { printf "%-7s holders %d, uninspected %d; scan/fuser %.3f, scan/lsof %.3f\n", n, h, u, s / f, s / l }'

        kill "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
        pids=()
done

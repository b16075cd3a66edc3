#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Row 7, the live toggle in the kernel tier: nestvirtd's runtime change against a raw
# `modprobe -r kvm_amd && modprobe kvm_amd nested=N` in the same guest (docs/PERFORMANCE.md).
#
#   meson setup build && meson compile -C build
#   sudo bench/run-toggle.sh build       # BENCH_TOGGLE_ROUNDS=5
#
# One boot of the fast tier's guest (tests/vm: Debian's kernel and its kvm_amd from the tier's
# cache, NESTVIRT_CACHE_DIR, default /var/cache/nestvirt-test, fetched on first use; QEMU TCG with
# -cpu max, one vCPU; a private bus and the real nestvirtd on busybox), with a mode of its own
# (bench/toggle-guest.sh). In each round, the order rotating, four ways turn nested off and on
# again: SetNested(VALUE, runtime) from a connected client, `nestvirtctl disable|enable --runtime`,
# the two modprobe calls (the peer; `modprobe -r` also unloads kvm.ko), and `rmmod kvm_amd` before
# the modprobe (kvm.ko stays, as with nestvirtd); each is timed from the call to its reply (the
# last exit) and to the moment /sys/module/kvm_amd/parameters/nested reads the new value
# (nv-bench-bus toggle, toggle-cmd). After each change the guest waits until nestvirtd's Nested
# property says so. Prints "toggle how=HOW n=.. reply_ms=.. sysfs_ms=.." (medians over rounds and
# both directions; the warm-up round left out), a table with the ratios, and the time of a
# SetNested that changes nothing (how=noop, once per round). Every wait is bounded:
# each change 90 s (the tool) and 120 s (the guest's nv_run), nestvirtd's view of it 30 s, the
# guest's script nestvirt.budget, the boot NESTVIRT_VM_TIMEOUT (both from the rounds).
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_args "$@"
rounds=${BENCH_TOGGLE_ROUNDS:-5}
[ "$(id -u)" = 0 ] || { echo "$0: run as root (the kernel tier's cache and image need it)" >&2; exit 2; }

# ninja reports errors on stdout: shown only when the build fails, and said last.
if ! out=$(ninja -C "$build" daemon/nestvirtd client/nestvirtctl bench/nv-bench-bus tests/vm/kvm-hold \
        tests/vm/nv-bus tests/vm/libnv-break-guard.so 2>&1); then
        echo "$out" | tail -20 >&2
        echo "$0: not measured: building the guest's binaries in $build failed" >&2
        exit 1
fi

# The kernel tier's own setup (POSIX sh, sourced): its paths and binaries, preflight, the cache,
# the initramfs, the boot. Its code is written for sh without -e, -u and pipefail.
export NESTVIRT_SOURCE_ROOT=$src NESTVIRT_BUILD_ROOT=$build
here=$src/tests/vm
set +eu +o pipefail
# shellcheck source=tests/vm/setup.sh
. "$here/setup.sh"
preflight
nv_fetch_kernel >&2
set -euo pipefail

# The initramfs of the fast tier, plus the timing client and this mode.
toggle_extra() {
        nv_install_with_libs "$1" "$build/bench/nv-bench-bus" /usr/bin/nv-bench-bus
        nv_install_file "$1" "$src/bench/toggle-guest.sh" /usr/lib/nestvirt-test/mode-toggle.sh
}
set +eu +o pipefail
nv_fast_initramfs toggle_extra
budget=$((180 + (rounds + 1) * 120))
NESTVIRT_VM_TIMEOUT=$((budget + 180)) nv_fast_boot toggle max toggle \
        "nestvirt.rounds=$rounds nestvirt.budget=$budget" >&2
set -euo pipefail
log=$work/toggle.log

echo "kernel tier, toggle (-cpu max, kvm_amd, $rounds rounds):" >&2
if ! nv_assert "$log" boot-kvm-amd-loads bus-starts daemon-starts toggle-rounds >&2; then
        nv_keep_log "$log" toggle
        why=$(sed -n 's/^FAIL \([^:]*\): //p' "$log.results" | head -1)
        echo "$0: not measured: ${why:-the guest did not finish (console log above)}" >&2
        exit 1
fi

# -- medians, the warm-up round left out ------------------------------------------------------

tr -d '\r' <"$log.out" | sed -n 's/^NESTVIRT-NOTE: toggle: //p' >&2
results=$(tr -d '\r' <"$log.out" | sed -n 's/^NESTVIRT-BENCH: //p' | grep -v '^round=0 ')
ways="nestvirtd nestvirtctl modprobe rmmod"
declare -A REPLY SYSFS N
for how in $ways noop; do
        lines=$(grep " how=$how " <<<"$results")
        N[$how]=$(wc -l <<<"$lines")
        # shellcheck disable=SC2046 # one number per line
        REPLY[$how]=$(median $(while read -r l; do field reply_ms "$l"; done <<<"$lines"))
        # shellcheck disable=SC2046
        SYSFS[$how]=$(median $(while read -r l; do field sysfs_ms "$l"; done <<<"$lines"))
        all=$(while read -r l; do field sysfs_ms "$l"; done <<<"$lines" | paste -sd,)
        echo "toggle how=$how n=${N[$how]} reply_ms=${REPLY[$how]} sysfs_ms=${SYSFS[$how]} each_sysfs_ms=$all"
done

echo
echo "kvm_amd nested off and on in one TCG guest (kernel $NV_KREL); medians of ${N[modprobe]} changes each"
echo
echo "| way | to reply, ms | to sysfs, ms | / modprobe | / rmmod |"
echo "|---|---|---|---|---|"
for how in $ways; do
        echo "| $how | ${REPLY[$how]} | ${SYSFS[$how]} | $(ratio "${SYSFS[$how]}" "${SYSFS[modprobe]}") |" \
                "$(ratio "${SYSFS[$how]}" "${SYSFS[rmmod]}") |"
done
echo
echo "SetNested(1, runtime) with nested on already (no module work): ${REPLY[noop]} ms to the reply"

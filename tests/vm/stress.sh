#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Boots each mode of the fast tier N times and counts the boots that pass every check:
#
#   tests/vm/stress.sh [--load K] N
#
# --load K runs K busy loops beside the boots (a loaded, noisy machine). The last line is
# "P passed, F failed". Console logs of failed boots are kept under $NESTVIRT_CACHE_DIR/logs.
# Same environment as run.sh (NESTVIRT_BUILD_ROOT, NESTVIRT_VM_CPUS, ...). Run as root.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/setup.sh"

load=0
if [ "${1:-}" = --load ]; then
        load=${2:?--load needs a number}
        shift 2
fi
n=${1:?usage: $0 [--load K] N}

loops=""
stop_load() {
        for p in $loops; do
                kill "$p" 2>/dev/null || true
        done
        cleanup
}
trap stop_load EXIT

preflight
nv_fast_prepare
i=0
while [ "$i" -lt "$load" ]; do
        sh -c 'while :; do :; done' &
        loops="$loops $!"
        i=$((i + 1))
done
[ "$load" = 0 ] || nv_log "stress: $load busy loops beside the boots"

passed=0 failed=0
i=1
while [ "$i" -le "$n" ]; do
        for mode in amd intel; do
                if [ $mode = amd ]; then
                        nv_fast_boot "stress-amd" max amd ""
                        checks=$NV_FAST_AMD_CHECKS
                else
                        nv_fast_boot "stress-intel" max,vendor=GenuineIntel intel ""
                        checks=$NV_FAST_INTEL_CHECKS
                fi
                # shellcheck disable=SC2086
                if nv_assert "$work/stress-$mode.log" $checks >"$work/assert.out"; then
                        passed=$((passed + 1))
                        echo "stress: boot $i, $mode: passed"
                else
                        failed=$((failed + 1))
                        echo "stress: boot $i, $mode: FAILED"
                        grep -v '^  PASS' "$work/assert.out" || true
                        nv_keep_log "$work/stress-$mode.log" "stress-$mode"
                fi
        done
        i=$((i + 1))
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

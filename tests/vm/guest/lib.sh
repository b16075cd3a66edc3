# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest-side helpers of the QEMU test tier (busybox sh or dash). Results go to the second serial
# port, which only they use, as machine-readable lines that the host asserts on:
#   NESTVIRT-TEST: PASS <name>
#   NESTVIRT-TEST: FAIL <name>: <why>
#   NESTVIRT-TEST: DONE
# and, for a reader of the console log, to the console too (NV_CONSOLE), where kernel messages
# may land in the middle of them.

NV_OUT=${NV_OUT:-/dev/ttyS1}
NV_CONSOLE=${NV_CONSOLE:-/dev/console}
NV_FAILED=0

nv_say() {
        echo "$*" >"$NV_OUT"
        echo "$*" >"$NV_CONSOLE"
}

# Diagnostics for a reader of the console log only.
nv_console() {
        cat >"$NV_CONSOLE"
}

nv_pass() {
        nv_say "NESTVIRT-TEST: PASS $1"
}

nv_fail() {
        name=$1
        shift
        NV_FAILED=$((NV_FAILED + 1))
        nv_say "NESTVIRT-TEST: FAIL $name: $*"
}

nv_done() {
        nv_say "NESTVIRT-TEST: DONE"
}

nv_note() {
        nv_say "NESTVIRT-NOTE: $*"
}

# nv_check NAME WHY COMMAND...: PASS when the command succeeds, else FAIL with WHY.
nv_check() {
        name=$1 why=$2
        shift 2
        if "$@"; then
                nv_pass "$name"
        else
                nv_fail "$name" "$why"
        fi
}

# Value of KEY=VALUE on the kernel command line.
nv_cmdline() {
        for arg in $(cat /proc/cmdline); do
                case $arg in
                "$1="*) echo "${arg#*=}" ;;
                esac
        done
}

# nv_run SECONDS STEP COMMAND...: runs one step of a test with a bound of its own, so that a step
# that never returns names itself instead of the whole boot waiting out its bound. Returns the
# command's status, or 124 when it did not finish in time; then the kernel stack of the stuck
# process and the kernel's list of blocked tasks go to the console. The command's output goes
# where the caller redirected the function's.
nv_run() {
        local secs="$1" step="$2" pid n
        shift 2
        "$@" &
        pid=$!
        n=$((secs * 5))
        while [ "$n" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do
                sleep 0.2
                n=$((n - 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
                nv_note "step '$step' did not finish within $secs s (pid $pid, $(cat /proc/$pid/wchan 2>/dev/null))"
                {
                        echo "--- kernel stack of the stuck step '$step' (pid $pid) ---"
                        cat "/proc/$pid/stack" 2>&1
                        for t in /proc/[0-9]*; do
                                [ "$(cat "$t/stat" 2>/dev/null | cut -d' ' -f3)" = D ] || continue
                                echo "--- blocked task ${t#/proc/}: $(tr '\0' ' ' <"$t/cmdline") ---"
                                cat "$t/stack" 2>&1
                        done
                } | nv_console
                echo w >/proc/sysrq-trigger 2>/dev/null
                kill -KILL "$pid" 2>/dev/null
                return 124
        fi
        wait "$pid"
}

# nv_wait_for SECONDS COMMAND...: polls every 0.2 s until the command succeeds.
nv_wait_for() {
        n=$(($1 * 5))
        shift
        while [ "$n" -gt 0 ]; do
                "$@" 2>/dev/null && return 0
                sleep 0.2
                n=$((n - 1))
        done
        return 1
}

# Whether process PID has ended (a zombie, or reaped).
nv_exited() {
        [ ! -e "/proc/$1" ] || [ "$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)" = Z ]
}

nv_sysfs_nested() {
        cat "/sys/module/$1/parameters/nested" 2>/dev/null
}

nv_refcnt() {
        cat "/sys/module/$1/refcnt" 2>/dev/null
}

nv_is_loaded() {
        [ -d "/sys/module/$1" ]
}

# Property NAME from `nestvirtctl --json`, read with sed (no JSON tool in the guest): strings
# and booleans/numbers of the top-level object.
nv_json_field() {
        tr -d ' \n' <"$1" | sed -n "s/.*\"$2\":\(\"[^\"]*\"\|[a-z0-9]*\).*/\1/p" | tr -d '"'
}

# nv_result NAME WHY STATUS: PASS when STATUS (of the check just made) is 0, else FAIL with WHY.
#   [ "$a" = x ] && [ "$b" = y ]; nv_result name "a=$a b=$b" $?
nv_result() {
        if [ "$3" = 0 ]; then
                nv_pass "$1"
        else
                nv_fail "$1" "$2"
        fi
}

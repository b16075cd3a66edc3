# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest-side helpers of the QEMU test tier (busybox sh or dash). Results go to the serial
# console as machine-readable lines that the host asserts on:
#   NESTVIRT-TEST: PASS <name>
#   NESTVIRT-TEST: FAIL <name>: <why>
#   NESTVIRT-TEST: DONE

NV_OUT=${NV_OUT:-/dev/console}
NV_FAILED=0

nv_say() {
        echo "$*" >"$NV_OUT"
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

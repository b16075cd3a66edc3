# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared by the bench scripts (bash): `. "$(dirname "$0")/lib.sh"; bench_args "$@"` checks that the
# first argument is a configured meson build directory and sets build (its absolute path) and src
# (the source tree's); it exits with status 2 and a usage line otherwise. Then the private bus
# (serve_start, serve_stop) and the arithmetic of the tables (field, ratio, median).

bench_args() {
        build=${1:-}
        if [ -z "$build" ] || [ ! -f "$build/build.ninja" ]; then
                echo "usage: $0 MESON_BUILD_DIR" >&2
                exit 2
        fi
        build=$(realpath "$build")
        src=$(realpath "$(dirname "$0")/..")
}

# serve_start IDLE_S: tests/bus/nvtest.py serve on the fixture host amd-host, its stdin held open on
# fd 9, in $work (which the caller made); waits (60 s at most) for READY=1 and exports its bus.
# Sets serve_pid and NESTVIRT_ROOT, NESTVIRT_TEST_DIR and the rest of what serve prints.
serve_start() {
        local t
        mkfifo "$work/serve.in"
        /usr/bin/python3 "$src/tests/bus/nvtest.py" serve --fixture amd-host --build-dir "$build" \
                --idle-timeout "$1" <"$work/serve.in" >"$work/serve.out" 2>"$work/serve.log" &
        serve_pid=$!
        exec 9>"$work/serve.in"
        for ((t = 0; t < 600; t++)); do
                grep -q '^READY=1$' "$work/serve.out" 2>/dev/null && break
                kill -0 "$serve_pid" 2>/dev/null || break
                sleep 0.1
        done
        if ! grep -q '^READY=1$' "$work/serve.out"; then
                echo "nvtest.py serve did not print READY=1 within 60 s:" >&2
                cat "$work/serve.log" >&2
                exit 1
        fi
        # shellcheck disable=SC1091
        . "$work/serve.out"
        export DBUS_SYSTEM_BUS_ADDRESS
        unset DBUS_SESSION_BUS_ADDRESS
}

# serve_stop: end of file on serve's stdin stops nestvirtd and the bus; killed after 60 s.
serve_stop() {
        local t
        [ -n "${serve_pid:-}" ] || return 0
        exec 9>&-
        for ((t = 0; t < 600; t++)); do
                kill -0 "$serve_pid" 2>/dev/null || break
                sleep 0.1
        done
        if kill -0 "$serve_pid" 2>/dev/null; then
                echo "nvtest.py serve did not stop within 60 s; killing it" >&2
                tail -5 "$work/serve.log" >&2
                kill "$serve_pid" 2>/dev/null || true
        fi
        wait "$serve_pid" 2>/dev/null || true
        serve_pid=
        rm -f "$work/serve.in" "$work/serve.out"
}

# field NAME LINE: the value of NAME=VALUE in LINE.
field() {
        sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"
}
# ratio A B: A / B with two decimals, or "-" when B is 0 or not a number.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
# median NUMBER...: the median, or "-" for none.
median() {
        printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
                if (NR == 0) { print "-"; exit }
                print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# stop_name NAME: SIGTERM to the owner of bus name NAME (through $client, nv-bench-bus), then waits
# until the name is gone and the process has exited (15 s each at most), so that the next call
# activates a fresh instance. Nothing to do when NAME has no owner.
stop_name() {
        local name=$1 pid t
        pid=$("$client" pid "$name" 2>/dev/null) || return 0
        kill "$pid"
        "$client" wait-owner "$name" no 15 ||
                { echo "bench: $name (pid $pid) kept its name 15 s after SIGTERM" >&2; exit 1; }
        for ((t = 0; t < 150; t++)); do
                kill -0 "$pid" 2>/dev/null || return 0
                sleep 0.1
        done
        echo "bench: $name (pid $pid) did not exit within 15 s of SIGTERM" >&2
        exit 1
}

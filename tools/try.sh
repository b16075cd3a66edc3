#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Installs the dependencies, builds nestvirt, starts a private D-Bus system bus with the project's
# policy, and shows `nestvirtctl status` from a bus-activated nestvirtd. Run as root.
#
# When this machine has no KVM vendor module, nestvirtd reads a simulated AMD host instead; the
# output says so. Nothing on the real host is changed either way: the bus is private and the
# daemon is only asked to read.
set -eu
cd "$(dirname "$0")/.."
src=$(pwd)

tools/install-deps.sh
[ -d build ] || meson setup build
meson compile -C build

# How long the private bus may take to come up (a fixture host is built first: a C compiler and
# depmod) and to go away again.
serve_timeout=120
stop_timeout=30

tmp=$(mktemp -d /tmp/nestvirt-try.XXXXXX)
serve_pid=""
cleanup() {
        status=$?
        # Closing its standard input stops the bus and every nestvirtd on it.
        exec 3>&-
        if [ -n "$serve_pid" ]; then
                i=0
                while kill -0 "$serve_pid" 2>/dev/null && [ $i -lt $((stop_timeout * 5)) ]; do
                        sleep 0.2
                        i=$((i + 1))
                done
                if kill -0 "$serve_pid" 2>/dev/null; then
                        echo "try.sh: the private bus (tests/bus/nvtest.py serve) did not stop" \
                                "within $stop_timeout s; killing it" >&2
                        kill "$serve_pid" 2>/dev/null
                fi
        fi
        rm -rf "$tmp"
        exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The vendor module of this CPU, if it is loaded, built in or installed for the running kernel.
case $(grep -m1 '^vendor_id' /proc/cpuinfo 2>/dev/null | sed 's/.*: *//') in
AuthenticAMD | HygonGenuine) module=kvm_amd ;;
*) module=kvm_intel ;;
esac
if [ -d "/sys/module/$module" ] || modinfo "$module" >/dev/null 2>&1; then
        echo "Reading this host ($module)."
        where=--host
else
        fixture=amd-cmdline-override
        echo "This host has no $module module: showing a SIMULATED AMD host"
        echo "(tests/fixtures/hosts/$fixture: kvm_amd loaded, a modprobe.d file and the kernel"
        echo "command line disagree about nested)."
        where=--fixture=$fixture
fi

# The bus tier's private system bus (the project's policy and activation file, the fixture host
# built by tests/fixtures/make-host.sh); it runs until its standard input, fd 3 here, is closed.
mkfifo "$tmp/serve.in"
/usr/bin/python3 tests/bus/nvtest.py serve "$where" --build-dir="$src/build" --idle-timeout=10 \
        <"$tmp/serve.in" >"$tmp/serve.out" 2>"$tmp/serve.log" &
serve_pid=$!
exec 3>"$tmp/serve.in"

i=0
until grep -qx 'READY=1' "$tmp/serve.out"; do
        if ! kill -0 "$serve_pid" 2>/dev/null || [ $i -ge $((serve_timeout * 5)) ]; then
                cat "$tmp/serve.log" >&2
                if kill -0 "$serve_pid" 2>/dev/null; then
                        echo "try.sh: timed out after $serve_timeout s waiting for the private bus" \
                                "(tests/bus/nvtest.py serve)" >&2
                else
                        echo "try.sh: the private bus (tests/bus/nvtest.py serve) did not start" >&2
                fi
                exit 1
        fi
        sleep 0.2
        i=$((i + 1))
done
# DBUS_SYSTEM_BUS_ADDRESS=..., NESTVIRT_ROOT=... (with a fixture), NESTVIRT_TEST_DIR=...
# shellcheck disable=SC1091
. "$tmp/serve.out"

export DBUS_SYSTEM_BUS_ADDRESS
echo
build/client/nestvirtctl status

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the dependencies, builds nestvirt and runs the whole test suite four ways:
#   0. the Cockpit page's lint and unit tests (cockpit/, npm ci from its lockfile);
#   1. everything, including the QEMU kernel tier and the page in cockpit-ws and Chromium
#      (build-test/);
#   2. everything but the QEMU tier, the Debian package build and the tests that use valgrind
#      again, built with AddressSanitizer and UBSan (build-asan/);
#   3. the C test programs under valgrind (build-test/, --setup=valgrind);
#   4. the libFuzzer harnesses of every parser, each for a bounded time, with ASan and UBSan
#      (build-fuzz/, tools/fuzz.sh).
# Run as root: the bus tests create an unprivileged user and start a real dbus-daemon, polkitd
# and nestvirtd. Arguments are passed to the first meson test run (for example --suite bus).
set -eu
cd "$(dirname "$0")/.."

tools/install-deps.sh

# The Cockpit page first: its npm dependencies as the lockfile pins them, lint, unit tests; suite
# cockpit builds it from there.
(cd cockpit && npm ci --no-audit --no-fund && npm run --silent lint && npm test)

build=${NESTVIRT_BUILD_DIR:-build-test}
[ -d "$build" ] || meson setup "$build"
meson compile -C "$build"
meson test -C "$build" --print-errorlogs "$@"
[ $# -eq 0 ] || exit 0

asan=${NESTVIRT_ASAN_BUILD_DIR:-build-asan}
[ -d "$asan" ] || CC=clang meson setup "$asan" -Db_sanitize=address,undefined -Db_lundef=false
meson compile -C "$asan"
ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        meson test -C "$asan" --print-errorlogs --no-suite vm --no-suite valgrind --no-suite deb

meson test -C "$build" --print-errorlogs --setup=valgrind \
        --suite preload --suite unit --suite reload --suite findings --suite vms --suite pve --suite libvirt-xml

tools/fuzz.sh

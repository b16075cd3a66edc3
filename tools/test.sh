#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the dependencies, builds nestvirt and runs the whole test suite. Run as root: the bus
# tests create an unprivileged user and start a real dbus-daemon.
set -eu
cd "$(dirname "$0")/.."

tools/install-deps.sh
build=${NESTVIRT_BUILD_DIR:-build-test}
[ -d "$build" ] || meson setup "$build"
meson compile -C "$build"
meson test -C "$build" --print-errorlogs "$@"

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what building and testing nestvirt needs on Debian 12. Run as root.
set -eu

packages="
        meson ninja-build pkg-config gcc clang libclang-rt-14-dev libvirt-dev libxml2-dev
        libsystemd-dev libkmod-dev libudev-dev libglib2.0-dev libjson-glib-dev check
        dbus-daemon dbus-bin polkitd python3 python3-dbus python3-gi python3-dbusmock
        systemd kmod passwd util-linux libxml2-utils valgrind man-db groff-base
        libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
        qemu-system-x86 busybox-static cpio debootstrap e2fsprogs psmisc lsof strace
        debhelper dpkg-dev fakeroot build-essential lintian
"

# cockpit: the cockpit tier (tests/cockpit) runs the page in Debian's cockpit-ws and
# cockpit-bridge (287; their postinst needs no systemd as PID 1) and Debian's Chromium, driven by
# playwright-core under Node.js (18 or later), with fonts for the screenshots. Node.js and npm
# come from Debian unless a node is installed already (a newer one from elsewhere ships its npm).
packages="$packages
        cockpit-ws cockpit-bridge chromium fonts-liberation2 fonts-dejavu-core
"
command -v node >/dev/null 2>&1 || packages="$packages nodejs"
command -v npm >/dev/null 2>&1 || packages="$packages npm"

missing=""
for p in $packages; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
                missing="$missing $p"
done

if [ -n "$missing" ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        # shellcheck disable=SC2086
        apt-get install -y -q --no-install-recommends $missing
fi

# cockpit: playwright-core as tests/cockpit/package-lock.json pins it, into
# tests/cockpit/node_modules (the tests only check it is there: they run offline and in
# parallel). No browser download: the tier uses /usr/bin/chromium.
cockpit_tests="$(cd "$(dirname "$0")/../tests/cockpit" && pwd)"
lock_version() {
        sed -n '/"node_modules\/playwright-core"/,/}/s/.*"version": "\(.*\)".*/\1/p' "$1" | head -n 1
}
installed="$cockpit_tests/node_modules/playwright-core/package.json"
if [ ! -f "$installed" ] ||
        [ "$(sed -n 's/^  "version": "\(.*\)".*/\1/p' "$installed")" != \
          "$(lock_version "$cockpit_tests/package-lock.json")" ]; then
        (cd "$cockpit_tests" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

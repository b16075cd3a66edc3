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

missing=""
for p in $packages; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
                missing="$missing $p"
done
# The Cockpit page is built and linted with Node.js and npm; a machine that has them from
# elsewhere (NodeSource) keeps them, as Debian's npm would conflict with that nodejs.
command -v node >/dev/null && command -v npm >/dev/null || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing

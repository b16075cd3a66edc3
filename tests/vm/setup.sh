# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=dash disable=SC2034
# What run.sh and stress.sh share: the paths, the binaries, the preflight check and the work
# directory. Sourced with $here set to tests/vm.

src=${NESTVIRT_SOURCE_ROOT:-$(cd "$here/../.." && pwd)}
build=${NESTVIRT_BUILD_ROOT:-$src/build}

. "$here/lib.sh"
. "$here/fast.sh"
. "$here/full.sh"

NESTVIRTD=${NESTVIRTD:-$build/daemon/nestvirtd}
NESTVIRTCTL=${NESTVIRTCTL:-$build/client/nestvirtctl}
NESTVIRT_KVM_HOLD=${NESTVIRT_KVM_HOLD:-$build/tests/vm/kvm-hold}
NESTVIRT_NV_BUS=${NESTVIRT_NV_BUS:-$build/tests/vm/nv-bus}
NESTVIRT_BREAK_GUARD=${NESTVIRT_BREAK_GUARD:-$build/tests/vm/libnv-break-guard.so}

preflight() {
        [ "$(id -u)" = 0 ] || nv_die "run as root (debootstrap, mkfs and the image need it)"
        missing=""
        for tool in qemu-system-x86_64 cpio gzip depmod modprobe dpkg-deb apt-get ldd flock timeout; do
                command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
        done
        [ -x /bin/busybox ] && file_is_static /bin/busybox || missing="$missing busybox-static"
        [ -z "$missing" ] || nv_die "missing:$missing (tools/install-deps.sh installs them)"
        for f in "$NESTVIRTD" "$NESTVIRTCTL" "$NESTVIRT_KVM_HOLD" "$NESTVIRT_NV_BUS" "$NESTVIRT_BREAK_GUARD"; do
                [ -f "$f" ] || nv_die "$f not built (meson compile -C $build)"
        done
}

file_is_static() {
        ! ldd "$1" >/dev/null 2>&1
}

work=$(mktemp -d /tmp/nestvirt-vm.XXXXXX)
cleanup() {
        if [ "${NESTVIRT_VM_KEEP:-0}" = 1 ]; then
                nv_log "work directory kept: $work"
        else
                rm -rf "$work"
        fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM


#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The QEMU test tier: Debian's real kernel (and, in the full tier, a real systemd) under
# software emulation, with the real nestvirtd inside. Run as root.
#
#   tests/vm/run.sh [all|fast|full|selftest|hang]    (default: all = fast, then full)
#
#   fast      busybox initramfs: private bus, nestvirtd, nestvirtctl; kvm_amd reloads, a real VM
#             (kvm-hold) pins the module, module events; then -cpu max,vendor=GenuineIntel for
#             the "no hardware support" answers
#   full      a cached Debian image (systemd, dbus, polkitd, udev, kmod) with nestvirt installed
#             by its Debian package (apt): bus activation, idle exit, persistence across a
#             reboot, enforcement at boot, journal audit records, polkit, systemd-analyze, libvirt
#             and Proxmox VE VMs, the package's upgrade, remove and purge
#   hang      the hang diagnostics: a guest step that never returns is named, and a guest that
#             never finishes gets a hang report from QEMU's monitor (hang-report.py)
#   selftest  the fast tier's AMD run with a daemon that ignores the running-VM guard
#             (LD_PRELOAD=libnv-break-guard.so); exits non-zero when the tier caught it
#
# Environment:
#   NESTVIRT_CACHE_DIR   the one cache directory (default /var/cache/nestvirt-test)
#   NESTVIRT_BUILD_ROOT  a configured and built meson tree (default: ./build of the source)
#   NESTVIRTD, NESTVIRTCTL, NESTVIRT_KVM_HOLD, NESTVIRT_NV_BUS, NESTVIRT_BREAK_GUARD
#                        the binaries (meson sets them; otherwise found in the build tree)
#   NESTVIRT_VM_KERNEL_PKG  a kernel package instead of linux-image-amd64's dependency
#                        (PACKAGE=VERSION pins a version; a cached copy serves it offline)
#   NESTVIRT_VM_CPUS     vCPUs of each guest (default 1; see README.md on why)
#   NESTVIRT_VM_TIMEOUT  the bound of each boot in seconds, before the hang report
#   NESTVIRT_VM_KEEP=1   keep the work directory
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/setup.sh"

what=${1:-all}
case $what in
fast)
        preflight
        nv_fast_tier
        ;;
full)
        preflight
        nv_full_tier
        ;;
hang)
        preflight
        nv_hang_selftest
        ;;
selftest)
        # Non-zero only when the tier caught the broken daemon; any other way out (no root, no
        # QEMU, a guest that did not boot) proves nothing and exits 0, so that the meson test,
        # which expects a failure, reports it.
        (preflight && nv_selftest) || true
        [ -f "$work/selftest-caught" ] && exit 1
        exit 0
        ;;
all)
        preflight
        status=0
        nv_fast_tier || status=1
        if [ $status = 0 ]; then
                nv_full_tier || status=1
        else
                nv_log "the full tier runs only after the fast tier passes"
        fi
        exit $status
        ;;
*) nv_die "usage: $0 [all|fast|full|selftest|hang]" ;;
esac
